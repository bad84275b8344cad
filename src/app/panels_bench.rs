//! `citytwin bench panels`: what the egui panels cost per frame. Loads a scene, feeds its
//! indicators a simulated day, and times frames of the dashboard, the map overlays panel and
//! a zone's window (every indicator plus two charts) drawn into a headless egui context:
//! layout and tessellation on the CPU, which is the panels' share of a frame (the GPU draws
//! the resulting triangles with the rest of the frame).

use std::path::Path;
use std::time::Instant;

use bevy_egui::egui;
use serde::Serialize;

use crate::app::dashboard::{Dashboard, IndicatorEngine, ScoreSnapshot};
use crate::app::overlays::{
    CHART_SPAN_MS, CLOSED_SHOWN_MS, FeatureChart, MapFeature, OverlaySettings, RequestPoints, SensorMarkers,
    ZoneLoads, ZonesBy, sensor_values,
};
use crate::app::ui::dashboard::{SelectedDimension, draw_dashboard};
use crate::app::ui::overlays::{OverlayFacts, feature_window, overlays_window};
use crate::app::ui::timeline::TwinTime;
use crate::twin::city::ZoneId;
use crate::twin::feeds::key::SubjectKey;
use crate::twin::feeds::live::Picture;
use crate::twin::feeds::simulator::Simulator;
use crate::twin::feeds::spec::{FeedKind, SimulatorSpec};
use crate::twin::feeds::{Metric, SourceId, Timestamp};
use crate::twin::indicators::{FeedInputs, FeedWindow, Indicators, hourly_histories};
use crate::twin::overlay::{
    LOAD_COLOURS, Ramp, RequestBook, load_per_ha, series, zone_areas_m2, zone_values,
};

/// Simulated seconds between the simulated day's observations.
const SIM_STEP_S: f64 = 900.0;
/// Score snapshots given to the dashboard (its full sparkline length).
const SNAPSHOTS: usize = 120;
/// The window size the panels are laid out in, logical pixels.
const SCREEN: egui::Vec2 = egui::vec2(1920.0, 1080.0);
/// The simulator used when the scene has none.
const DEFAULT_SIMULATOR: &str = "(seed: 1)";

/// What `bench panels` measured.
#[derive(Debug, Clone, Serialize)]
pub struct PanelsReport {
    /// Frames timed (after one warm-up frame).
    pub frames: u32,
    /// Median time of a frame's panels, ms.
    pub median_ms: f64,
    /// 90th percentile, ms.
    pub p90_ms: f64,
    /// Slowest frame, ms.
    pub max_ms: f64,
    /// The panels drawn each frame.
    pub panels: Vec<String>,
    /// Indicators in the dashboard; zones in the city.
    pub indicators: usize,
    /// Zones of the city.
    pub zones: usize,
}

impl PanelsReport {
    /// The report as lines of text.
    pub fn text(&self) -> String {
        format!(
            "panels ({}), {} indicators, {} zones, {} frames:\n  per frame: median {:.3} ms, p90 {:.3} ms, max {:.3} ms (goal ≤ 2 ms)\n",
            self.panels.join(", "),
            self.indicators,
            self.zones,
            self.frames,
            self.median_ms,
            self.p90_ms,
            self.max_ms
        )
    }
}

/// Loads a scene, simulates a day of its feeds and times `frames` frames of the panels.
pub fn bench_panels(scene_path: &Path, frames: u32) -> anyhow::Result<PanelsReport> {
    if frames == 0 {
        anyhow::bail!("give at least one frame");
    }
    let loaded = crate::twin::load::load_scene(scene_path)?;
    let city = &loaded.city;
    let spec: SimulatorSpec = loaded
        .scene
        .feeds
        .iter()
        .find_map(|f| match &f.kind {
            FeedKind::Simulator(s) => Some(s.clone()),
            _ => None,
        })
        .map_or_else(|| ron::from_str(DEFAULT_SIMULATOR), Ok)?;
    let at = Timestamp::now();
    let mut sim = Simulator::new(city, &spec, SourceId("simulator".into()));
    let sensors: std::collections::HashMap<String, [f64; 2]> = sim
        .sensors()
        .map(|(id, p)| (id.to_string(), [p.x(), p.y()]))
        .collect();
    let observations = sim.generate(at.plus_ms(-Timestamp::DAY_MS), at, SIM_STEP_S);

    // The indicators and the dashboard at `at`.
    let mut engine = IndicatorEngine(Indicators::new(city, &loaded.scene.indicators));
    let feeds = FeedInputs {
        window: FeedWindow::new(at, observations.clone()),
        sensors: sensors.clone(),
        kinds: {
            let mut k = crate::twin::feeds::provenance::SourceKindMap::default();
            k.insert(
                SourceId("simulator".into()),
                crate::twin::feeds::provenance::SourceKind::Simulated,
            );
            k
        },
    };
    let histories = hourly_histories(&engine.0.ctx, &feeds);
    let (_, eval, _) = engine.0.recompute(city, &feeds, &histories);
    let mut dash = Dashboard::default();
    for i in 0..SNAPSHOTS {
        dash.history.push_back(ScoreSnapshot {
            at: at.plus_ms(i as i64 - SNAPSHOTS as i64),
            dimensions: eval.dimensions,
            index: eval.index,
        });
    }
    dash.choropleth = (0..eval.city.len()).find(|&k| eval.zones.iter().any(|z| z[k].value.is_some()));
    let zone_rows = zone_values(&engine.0.ctx.catalogue, &eval, ZoneId(0));
    dash.eval = Some(eval);

    // The overlays' state at `at`.
    let mut picture = Picture::default();
    let mut book = RequestBook::default();
    for o in &observations {
        picture.apply(SubjectKey::of(o), o);
        book.apply(o);
    }
    let mut ids: Vec<String> = sensors.keys().cloned().collect();
    ids.sort();
    let (values, unplaced) = sensor_values(&picture, &ids, Metric::Pm25);
    let markers = SensorMarkers {
        positions: ids.iter().map(|id| sensors[id]).collect(),
        ids,
        values,
        unplaced,
    };
    let shown: Vec<_> = book.shown_at(at, CLOSED_SHOWN_MS).collect();
    let open = shown
        .iter()
        .filter(|(_, s)| *s == crate::twin::overlay::RequestState::Open)
        .count();
    let requests = RequestPoints {
        open,
        closed: shown.len() - open,
        ..Default::default()
    };
    let areas = zone_areas_m2(city);
    let per_ha: Vec<Option<f64>> = (0..city.zones.len())
        .map(|z| {
            let kw = picture.get(&SubjectKey::Zone(ZoneId(z as u32)), Metric::ElectricityLoad)?;
            load_per_ha(kw.value, areas[z])
        })
        .collect();
    let ramp = Ramp::from_quantiles(
        &per_ha.iter().flatten().copied().collect::<Vec<_>>(),
        "kW/ha",
        &LOAD_COLOURS,
    );
    let loads = ZoneLoads {
        kw: vec![None; areas.len()],
        areas_m2: areas,
        per_ha,
        ramp,
    };
    let zone = MapFeature::Zone(ZoneId(0));
    let key = zone.key();
    let chart = FeatureChart {
        feature: Some(zone.clone()),
        at: Some(at),
        lines: zone
            .metrics()
            .iter()
            .map(|&m| (m, series(&observations, &key, m, at.plus_ms(-CHART_SPAN_MS), at)))
            .collect(),
        sources: crate::twin::feeds::provenance::SourceKinds::only(
            crate::twin::feeds::provenance::SourceKind::Simulated,
        ),
    };
    let mut settings = OverlaySettings {
        zones_by: ZonesBy::Load,
        ..Default::default()
    };
    let time = TwinTime::default();
    let mut selected = SelectedDimension::default();
    let facts = OverlayFacts {
        sensors: Some(&markers),
        requests: Some(&requests),
        request_cells: None,
        loads: &loads,
        indicator: None,
    };

    let ctx = egui::Context::default();
    let input = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, SCREEN)),
        ..Default::default()
    };
    let mut times = Vec::with_capacity(frames as usize);
    for frame in 0..=frames {
        let t = Instant::now();
        let mut open = true;
        let mut out = ctx.run_ui(input.clone(), |ui| {
            let c = ui.ctx().clone();
            draw_dashboard(&c, &mut engine, &mut dash, &time, &mut selected, None);
            overlays_window(&c, &mut settings, &facts, None);
            feature_window(&c, city, &zone, &chart, zone_rows.as_deref(), &mut open, None);
        });
        let primitives = ctx.tessellate(std::mem::take(&mut out.shapes), out.pixels_per_point);
        std::hint::black_box(primitives);
        // No renderer takes the font texture: let it go.
        out.textures_delta.clear();
        if frame > 0 {
            times.push(t.elapsed().as_secs_f64() * 1_000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    Ok(PanelsReport {
        frames,
        median_ms: pick(0.5),
        p90_ms: pick(0.9),
        max_ms: *times.last().unwrap_or(&0.0),
        panels: ["dashboard", "map overlays", "zone window"]
            .into_iter()
            .map(String::from)
            .collect(),
        indicators: engine.0.ctx.catalogue.indicators.len(),
        zones: city.zones.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_frames_is_refused_before_loading() {
        let e = bench_panels(Path::new("/nonexistent/citytwin/none.ron"), 0).unwrap_err();
        assert!(e.to_string().contains("frame"), "{e}");
        let e = bench_panels(Path::new("/nonexistent/citytwin/none.ron"), 3).unwrap_err();
        assert!(e.to_string().contains("none.ron"), "{e}");
    }
}
