//! The map overlays panel and the clicked feature's window. The panel chooses what sensors
//! are coloured by (with the legend of its bands), what zones are coloured by (the
//! dashboard's indicator, electricity load with its legend, or nothing) and whether service
//! requests show (open and recently closed counts; for a role without clearance for personal
//! data, the k-anonymous cells' legend and counts instead). Clicking a sensor or a road opens a
//! window with its recent values as small charts (egui_plot); clicking a zone opens one with
//! every indicator's value in that zone, status coloured, and its load and sentiment.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use egui_plot::{Line, Plot};

use crate::app::dashboard::{Dashboard, IndicatorEngine};
use crate::app::i18n::lang_of;
use crate::app::loading::LoadedCity;
use crate::app::overlays::{
    CHART_SPAN_MS, CLOSED_SHOWN_MS, FeatureChart, MapFeature, OverlaySettings, REQUEST_CLOSED_COLOUR,
    REQUEST_OPEN_COLOUR, RequestCells, RequestPoints, SelectedFeature, SensorMarkers, ZoneLoads, ZoneValues,
    ZonesBy,
};
use crate::app::ui::UiCovered;
use crate::app::ui::dashboard::status_colour;
use crate::app::ui::layout::{PartKind, Prefs, UiLayout, WindowPlace, placed};
use crate::app::{AppState, AppSystems};
use crate::twin::city::CityModel;
use crate::twin::feeds::{Metric, Timestamp};
use crate::twin::i18n::{self, Lang, tr, tr_args};
use crate::twin::indicators::Dimension;
use crate::twin::overlay::{Ramp, SENSOR_METRICS, ZoneValue};

/// egui id of the overlays panel, and its key in [`UiCovered`].
const PANEL_ID: &str = "overlays_panel";
/// egui id of the feature window, and its key in [`UiCovered`].
const FEATURE_ID: &str = "feature_window";
/// The overlays window's name in the layout's window stack.
const PANEL_NAME: &str = "overlays";
/// The feature window's name in the layout's window stack.
const FEATURE_NAME: &str = "feature";
/// Where the overlays panel starts (right of the layers panel), logical pixels.
const PANEL_POS: egui::Pos2 = egui::pos2(300.0, 8.0);
/// Width of the overlays panel, logical pixels.
const PANEL_WIDTH: f32 = 250.0;
/// Width of the feature window, logical pixels.
const FEATURE_WIDTH: f32 = 360.0;
/// Height of one chart, logical pixels.
const CHART_HEIGHT: f32 = 90.0;
/// Size of a legend swatch, logical pixels.
const SWATCH: egui::Vec2 = egui::vec2(18.0, 12.0);

/// The overlays panel and the feature window.
pub struct OverlaysPanelPlugin;

impl Plugin for OverlaysPanelPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(
            EguiPrimaryContextPass,
            (overlays_panel, feature_panel)
                .in_set(AppSystems::UiWindows)
                .run_if(in_state(AppState::Ready)),
        );
    }
}

/// A short label of a metric, in `lang`.
pub fn metric_label(lang: Lang, m: Metric) -> String {
    match m {
        Metric::TrafficSpeed => tr(lang, "metric-speed"),
        Metric::TrafficFlow => tr(lang, "metric-flow"),
        Metric::Pm25 => "PM2.5".to_string(),
        Metric::Pm10 => "PM10".to_string(),
        Metric::No2 => "NO₂".to_string(),
        Metric::Noise => tr(lang, "metric-noise"),
        Metric::ElectricityLoad => tr(lang, "metric-electricity-load"),
        Metric::RenewableShare => tr(lang, "metric-renewable-share"),
        Metric::TransitDelay => tr(lang, "metric-transit-delay"),
        Metric::ServiceRequestOpened => tr(lang, "metric-requests-opened"),
        Metric::ServiceRequestClosed => tr(lang, "metric-requests-closed"),
        Metric::Sentiment => tr(lang, "metric-sentiment"),
    }
}

/// An egui colour of an sRGB triple.
fn rgb(c: [u8; 3]) -> egui::Color32 {
    egui::Color32::from_rgb(c[0], c[1], c[2])
}

/// One swatch and its label.
fn swatch(ui: &mut egui::Ui, colour: [u8; 3], label: &str) {
    ui.horizontal(|ui| {
        let (rect, _) = ui.allocate_exact_size(SWATCH, egui::Sense::hover());
        ui.painter().rect_filled(rect, 2.0, rgb(colour));
        ui.small(label);
    });
}

/// A ramp's legend: a swatch and a value range per class.
pub fn legend(ui: &mut egui::Ui, ramp: &Ramp) {
    for e in ramp.legend() {
        swatch(ui, e.colour, &e.label);
    }
}

/// What the overlays panel shows besides the settings.
pub struct OverlayFacts<'a> {
    /// The sensor markers, once the feeds run.
    pub sensors: Option<&'a SensorMarkers>,
    /// The request points, once the feeds run (roles cleared for personal data).
    pub requests: Option<&'a RequestPoints>,
    /// The k-anonymous request cells, once the feeds run (every other role).
    pub request_cells: Option<&'a RequestCells>,
    /// Loads per zone.
    pub loads: &'a ZoneLoads,
    /// The name of the indicator the dashboard colours the zones by.
    pub indicator: Option<&'a str>,
}

/// The overlays panel's content; returns the zones choice when the user changed it.
pub fn overlays_body(
    ui: &mut egui::Ui,
    settings: &mut OverlaySettings,
    facts: &OverlayFacts,
) -> Option<ZonesBy> {
    let lang = lang_of(ui.ctx());
    ui.strong(tr(lang, "ov-sensors"));
    ui.checkbox(&mut settings.show_sensors, tr(lang, "ov-show-sensors"));
    ui.horizontal(|ui| {
        for m in SENSOR_METRICS {
            ui.selectable_value(&mut settings.sensor_metric, m, metric_label(lang, m));
        }
    });
    match facts.sensors {
        Some(s) => {
            let with_value = s.values.iter().flatten().count();
            ui.small(tr_args(
                lang,
                "ov-sensors-on-map",
                &[("count", s.ids.len().into()), ("with", with_value.into())],
            ));
            if !s.unplaced.is_empty() {
                ui.small(tr_args(
                    lang,
                    "ov-sensors-unplaced",
                    &[("count", s.unplaced.len().into())],
                ))
                .on_hover_text(s.unplaced.iter().cloned().collect::<Vec<_>>().join(", "));
            }
        }
        None => {
            ui.small(tr(lang, "ov-no-feeds"));
        }
    }
    if let Some(r) = Ramp::for_metric(settings.sensor_metric) {
        legend(ui, &r);
    }
    swatch(
        ui,
        crate::app::overlays::NO_VALUE_COLOUR,
        &tr(lang, "ov-no-value"),
    );
    ui.separator();

    ui.strong(tr(lang, "ov-zones-by"));
    let mut by = settings.zones_by;
    ui.horizontal(|ui| {
        ui.radio_value(&mut by, ZonesBy::Indicator, tr(lang, "ov-by-indicator"));
        ui.radio_value(&mut by, ZonesBy::Load, tr(lang, "ov-by-load"));
        ui.radio_value(&mut by, ZonesBy::None, tr(lang, "ov-by-none"));
    });
    match by {
        ZonesBy::Indicator => match facts.indicator {
            Some(name) => {
                ui.small(tr_args(lang, "ov-indicator-legend", &[("name", name.into())]));
            }
            None => {
                ui.small(tr(lang, "ov-indicator-click"));
            }
        },
        ZonesBy::Load => match &facts.loads.ramp {
            Some(r) => {
                ui.small(tr(lang, "ov-load-per-ha"));
                legend(ui, r);
            }
            None => {
                ui.small(tr(lang, "ov-no-load"));
            }
        },
        ZonesBy::None => {}
    }
    ui.separator();

    ui.strong(tr(lang, "ov-requests"));
    ui.checkbox(&mut settings.show_requests, tr(lang, "ov-show-requests"));
    if let Some(cells) = facts.request_cells {
        request_cells_legend(ui, cells);
        return (by != settings.zones_by).then_some(by);
    }
    let (open, closed, not_drawn) = facts
        .requests
        .map_or((0, 0, 0), |r| (r.open, r.closed, r.not_drawn));
    swatch(
        ui,
        REQUEST_OPEN_COLOUR,
        &tr_args(lang, "ov-requests-open", &[("count", open.into())]),
    );
    swatch(
        ui,
        REQUEST_CLOSED_COLOUR,
        &tr_args(
            lang,
            "ov-requests-closed",
            &[
                ("hours", ((CLOSED_SHOWN_MS / Timestamp::HOUR_MS) as f64).into()),
                ("count", closed.into()),
            ],
        ),
    );
    if not_drawn > 0 {
        ui.small(tr_args(
            lang,
            "ov-requests-not-drawn",
            &[("count", not_drawn.into())],
        ));
    }
    (by != settings.zones_by).then_some(by)
}

/// The legend of the k-anonymous request cells: what they count, the count classes, and how
/// much is drawn. Never a total over all requests: with one suppressed cell, the total less
/// the cells drawn would give that cell's count.
fn request_cells_legend(ui: &mut egui::Ui, cells: &RequestCells) {
    let lang = lang_of(ui.ctx());
    ui.small(tr_args(
        lang,
        "ov-cells-what",
        &[
            ("hours", ((CLOSED_SHOWN_MS / Timestamp::HOUR_MS) as f64).into()),
            ("size", format!("{:.0}", cells.map.grid.size_m).into()),
            ("k", (cells.k as f64).into()),
        ],
    ));
    // The ramp's first class (below k) is never drawn.
    for e in cells.ramp.legend().into_iter().skip(1) {
        swatch(ui, e.colour, &e.label);
    }
    ui.small(tr_args(
        lang,
        "ov-cells-shown",
        &[
            ("records", (cells.shown_records as f64).into()),
            ("cells", (cells.shown_cells as f64).into()),
            ("suppressed", (cells.suppressed_cells as f64).into()),
        ],
    ));
    if cells.off_map_cells > 0 {
        ui.small(tr_args(
            lang,
            "ov-cells-off-map",
            &[("count", (cells.off_map_cells as f64).into())],
        ));
    }
}

/// Draws the overlays panel.
#[allow(clippy::too_many_arguments)]
fn overlays_panel(
    mut contexts: EguiContexts,
    mut settings: ResMut<OverlaySettings>,
    mut dash: ResMut<Dashboard>,
    engine: Option<Res<IndicatorEngine>>,
    sensors: Option<Res<SensorMarkers>>,
    requests: Option<Res<RequestPoints>>,
    request_cells: Option<Res<RequestCells>>,
    loads: Res<ZoneLoads>,
    mut covered: ResMut<UiCovered>,
    mut layout: ResMut<UiLayout>,
    prefs: Option<Res<Prefs>>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let indicator = dash
        .choropleth
        .and_then(|k| engine.as_ref()?.0.ctx.catalogue.indicators.get(k))
        .map(|d| i18n::indicator_name(lang_of(ctx), &d.id, &d.name));
    let facts = OverlayFacts {
        sensors: sensors.as_deref(),
        requests: requests.as_deref(),
        request_cells: request_cells.as_deref(),
        loads: &loads,
        indicator: indicator.as_deref(),
    };
    let mut next = settings.clone();
    let open = prefs.is_some_and(|p| p.prefs.is_open(PANEL_NAME, false));
    let place = layout.window_place(PANEL_NAME, open);
    let (rect, by) = overlays_window(ctx, &mut next, &facts, Some(place));
    if let Some(r) = rect {
        layout.record(PANEL_NAME, PartKind::Window, r);
    }
    if let Some(by) = by {
        next.set_zones_by(by, &mut dash);
    }
    if next != *settings {
        *settings = next;
    }
    covered.set(PANEL_ID, rect);
    Ok(())
}

/// The overlays panel as a window; returns its rectangle and a changed zones choice.
pub fn overlays_window(
    ctx: &egui::Context,
    settings: &mut OverlaySettings,
    facts: &OverlayFacts,
    place: Option<WindowPlace>,
) -> (Option<egui::Rect>, Option<ZonesBy>) {
    let mut by = None;
    let window = egui::Window::new(tr(lang_of(ctx), "window-overlays"))
        .id(egui::Id::new(PANEL_ID))
        .default_pos(PANEL_POS);
    let response = placed(window, place)
        .default_width(PANEL_WIDTH)
        .collapsible(true)
        .resizable(false)
        .show(ctx, |ui| by = overlays_body(ui, settings, facts));
    (response.map(|r| r.response.rect), by)
}

/// The title of a feature's window, in `lang`.
pub fn feature_title(lang: Lang, city: &CityModel, f: &MapFeature) -> String {
    match f {
        MapFeature::Sensor(id) => tr_args(lang, "feature-sensor", &[("id", id.to_string().into())]),
        MapFeature::Road(r) => match city.roads.get(r.0 as usize) {
            Some(road) => tr_args(
                lang,
                "feature-road",
                &[
                    (
                        "name",
                        road.name
                            .clone()
                            .unwrap_or_else(|| tr(lang, "feature-unnamed"))
                            .into(),
                    ),
                    ("class", road.class.to_string().into()),
                    ("id", r.0.to_string().into()),
                ],
            ),
            None => tr_args(lang, "feature-road-id", &[("id", r.0.to_string().into())]),
        },
        MapFeature::Zone(z) => match city.zones.get(z.0 as usize) {
            Some(zone) => tr_args(lang, "feature-zone", &[("name", (&zone.name).into())]),
            None => tr_args(lang, "feature-zone-id", &[("id", z.0.to_string().into())]),
        },
    }
}

/// Small charts of a feature's recent values: one per metric, hours before the instant
/// shown along x.
pub fn chart_body(ui: &mut egui::Ui, chart: &FeatureChart) {
    let lang = lang_of(ui.ctx());
    let Some(at) = chart.at else {
        ui.weak(tr(lang, "chart-no-values"));
        return;
    };
    if chart.sources.is_not_live() {
        ui.horizontal_wrapped(|ui| {
            crate::app::ui::feed_health::source_badge(ui, chart.sources, 11.0);
            ui.small(tr(lang, "chart-not-live"));
        });
    }
    for (metric, points) in &chart.lines {
        let latest = points
            .last()
            .map_or("–".to_string(), |(_, v)| format!("{v:.1} {}", metric.unit()));
        ui.horizontal(|ui| {
            ui.strong(metric_label(lang, *metric));
            ui.label(latest);
        });
        if points.is_empty() {
            ui.weak(tr_args(
                lang,
                "chart-no-observation",
                &[("hours", ((CHART_SPAN_MS / Timestamp::HOUR_MS) as f64).into())],
            ));
            continue;
        }
        let hours: Vec<[f64; 2]> = points
            .iter()
            .map(|(t, v)| [(t.0 - at.0) as f64 / Timestamp::HOUR_MS as f64, *v])
            .collect();
        let colour = match Ramp::for_metric(*metric) {
            Some(r) => rgb(r.colour(points.last().map_or(0.0, |p| p.1))),
            None => egui::Color32::LIGHT_BLUE,
        };
        Plot::new(("feature_chart", metric.id()))
            .height(CHART_HEIGHT)
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .allow_boxed_zoom(false)
            .x_axis_label(tr(lang, "chart-x-axis"))
            .show(ui, |plot| {
                plot.line(Line::new(metric_label(lang, *metric), hours).color(colour))
            });
    }
}

/// Every indicator of a zone by dimension: value, target, status in its colour.
pub fn zone_body(ui: &mut egui::Ui, rows: &[ZoneValue]) {
    let lang = lang_of(ui.ctx());
    for dim in Dimension::ALL {
        let of_dim: Vec<&ZoneValue> = rows.iter().filter(|r| r.dimension == dim).collect();
        if of_dim.is_empty() {
            continue;
        }
        egui::CollapsingHeader::new(i18n::dimension_name(lang, dim))
            .id_salt(("zone_dim", dim.id()))
            .default_open(true)
            .show(ui, |ui| {
                egui::Grid::new(("zone_values", dim.id()))
                    .striped(true)
                    .num_columns(4)
                    .show(ui, |ui| {
                        for r in of_dim {
                            ui.label(i18n::indicator_name(lang, &r.id, &r.name));
                            let value = r.value.map_or("–".to_string(), |v| {
                                let unit = i18n::unit(lang, &r.unit);
                                if r.estimate {
                                    format!("{v:.3} {unit} {}", tr(lang, "cli-report-estimate"))
                                } else {
                                    format!("{v:.3} {unit}")
                                }
                            });
                            ui.horizontal_wrapped(|ui| {
                                ui.label(value);
                                crate::app::ui::feed_health::source_badge(ui, r.sources, 10.0);
                            });
                            ui.weak(tr_args(
                                lang,
                                "zone-target",
                                &[("target", r.target.to_string().into())],
                            ));
                            ui.colored_label(status_colour(r.status), i18n::status_name(lang, r.status));
                            ui.end_row();
                        }
                    });
            });
    }
}

/// The feature window as a window; `open` turns false when the user closes it.
pub fn feature_window(
    ctx: &egui::Context,
    city: &CityModel,
    feature: &MapFeature,
    chart: &FeatureChart,
    zone: Option<&[ZoneValue]>,
    open: &mut bool,
    place: Option<WindowPlace>,
) -> Option<egui::Rect> {
    let right = ctx.viewport_rect().right();
    let window = egui::Window::new(feature_title(lang_of(ctx), city, feature))
        .id(egui::Id::new(FEATURE_ID))
        .default_pos(egui::pos2(right - 2.0 * FEATURE_WIDTH, 60.0));
    placed(window, place)
        .open(open)
        .default_width(FEATURE_WIDTH)
        .resizable(true)
        .show(ctx, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                if let MapFeature::Zone(_) = feature {
                    match zone {
                        Some(rows) => zone_body(ui, rows),
                        None => {
                            ui.weak(tr(lang_of(ui.ctx()), "app-computing"));
                        }
                    }
                    ui.separator();
                }
                chart_body(ui, chart);
            });
        })
        .map(|r| r.response.rect)
}

/// Draws the clicked feature's window; closing it clears the selection.
fn feature_panel(
    mut contexts: EguiContexts,
    loaded: Res<LoadedCity>,
    mut selected: ResMut<SelectedFeature>,
    chart: Res<FeatureChart>,
    values: Res<ZoneValues>,
    mut covered: ResMut<UiCovered>,
    mut layout: ResMut<UiLayout>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let Some(feature) = selected.0.clone() else {
        covered.set(FEATURE_ID, None);
        return Ok(());
    };
    let mut open = true;
    let zone = values.0.as_ref().map(|(_, rows)| rows.as_slice());
    // What the user just clicked opens expanded.
    let place = layout.window_place(FEATURE_NAME, true);
    let rect = feature_window(
        ctx,
        &loaded.0.city,
        &feature,
        &chart,
        zone,
        &mut open,
        Some(place),
    );
    if let Some(r) = rect {
        layout.record(FEATURE_NAME, PartKind::Window, r);
    }
    covered.set(FEATURE_ID, rect);
    if !open {
        selected.0 = None;
        covered.set(FEATURE_ID, None);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_has_a_label() {
        for lang in Lang::ALL {
            let mut labels: Vec<String> = Metric::ALL.iter().map(|m| metric_label(lang, *m)).collect();
            labels.sort();
            labels.dedup();
            assert_eq!(labels.len(), Metric::ALL.len(), "{lang}");
        }
    }

    #[test]
    fn the_panel_reports_a_changed_zones_choice() {
        let ctx = egui::Context::default();
        let loads = ZoneLoads::default();
        let facts = OverlayFacts {
            sensors: None,
            requests: None,
            request_cells: None,
            loads: &loads,
            indicator: None,
        };
        let mut settings = OverlaySettings::default();
        let mut changed = Some(ZonesBy::Load);
        let out = ctx.run_ui(egui::RawInput::default(), |ui| {
            changed = overlays_body(ui, &mut settings, &facts);
        });
        out.drop_without_applying_deltas();
        assert_eq!(changed, None, "nothing clicked, nothing changed");
    }
}
