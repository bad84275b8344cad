//! `citytwin inspect`: a per-layer summary of a scene or data file — format, CRS, counts by
//! geometry type, bounding boxes, building heights and their sources, skips, timings.

use serde::Serialize;
use serde_json::{Value, json};

use crate::twin::city::{CityModel, LayerId};
use crate::twin::heights::HeightSource;
use crate::twin::load::{LayerReport, LoadReport};

/// Height statistics of a building layer, metres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HeightStats {
    /// Lowest.
    pub min: f64,
    /// Median.
    pub median: f64,
    /// Highest.
    pub max: f64,
}

/// The height statistics and source counts `(measured, levels, estimated)` of a layer's buildings.
pub fn height_stats(city: &CityModel, layer: LayerId) -> Option<(HeightStats, [usize; 3])> {
    let mut hs: Vec<f64> = Vec::new();
    let mut src = [0usize; 3];
    for b in city.buildings.iter().filter(|b| b.layer == layer) {
        hs.push(b.height_m);
        src[match b.height_source {
            HeightSource::Measured => 0,
            HeightSource::Levels => 1,
            HeightSource::Estimated => 2,
        }] += 1;
    }
    if hs.is_empty() {
        return None;
    }
    hs.sort_by(f64::total_cmp);
    let n = hs.len();
    let median = if n % 2 == 1 {
        hs[n / 2]
    } else {
        (hs[n / 2 - 1] + hs[n / 2]) / 2.0
    };
    Some((
        HeightStats {
            min: hs[0],
            median,
            max: hs[n - 1],
        },
        src,
    ))
}

/// Whether a layer report is worth listing (an OSM kind with nothing in it is not).
pub fn is_listed(r: &LayerReport) -> bool {
    r.features > 0 || r.skipped.total() > 0 || r.error.is_some()
}

/// One layer as the JSON object `inspect --json` prints.
pub fn layer_json(city: &CityModel, report: &LoadReport, index: usize, timings: bool) -> Value {
    let r = &report.layers[index];
    let mut v = json!({
        "name": r.name,
        "kind": r.kind.name(),
        "format": r.format.name(),
        "crs": r.source_crs,
        "scene_crs": report.scene_crs.label(),
        "features": r.features,
        "geometry": r.geometry_counts,
        "bbox_scene": r.bbox_scene,
        "bbox_wgs84": r.bbox_wgs84,
        "skipped": r.skipped.reasons,
        "repaired": r.skipped.repaired,
        "error": r.error,
    });
    if let Some((h, src)) = height_stats(city, LayerId(index as u16)) {
        v["height_m"] = json!({"min": h.min, "median": h.median, "max": h.max});
        v["height_source"] = json!({"measured": src[0], "levels": src[1], "estimated": src[2]});
    }
    let lods = crate::twin::solid::layer_lods(city, LayerId(index as u16));
    if !lods.is_empty() {
        v["surfaces_3d"] = json!(lods);
    }
    if timings {
        v["timings"] = json!({"read_s": r.read_s, "project_s": r.project_s, "heights_s": r.heights_s});
        v["projection"] = serde_json::to_value(r.projection).unwrap_or(Value::Null);
    }
    v
}

/// One layer as human-readable lines.
pub fn layer_text(city: &CityModel, report: &LoadReport, index: usize, timings: bool) -> String {
    use std::fmt::Write;
    let r = &report.layers[index];
    let mut s = String::new();
    let _ = writeln!(s, "layer {} ({}, {})", r.name, r.kind.name(), r.format.name());
    if let Some(e) = &r.error {
        let _ = writeln!(s, "  ERROR: {e}");
        return s;
    }
    let _ = writeln!(
        s,
        "  crs: {} → scene {}",
        r.source_crs.as_deref().unwrap_or("?"),
        report.scene_crs.label()
    );
    let geoms: Vec<String> = r
        .geometry_counts
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(s, "  features: {} ({})", r.features, geoms.join(", "));
    if let Some(b) = r.bbox_scene {
        let _ = writeln!(s, "  bbox scene: {:.1} {:.1} {:.1} {:.1}", b[0], b[1], b[2], b[3]);
    }
    if let Some(b) = r.bbox_wgs84 {
        let _ = writeln!(s, "  bbox wgs84: {:.6} {:.6} {:.6} {:.6}", b[0], b[1], b[2], b[3]);
    }
    if let Some((h, src)) = height_stats(city, LayerId(index as u16)) {
        let _ = writeln!(
            s,
            "  height m: min {:.1} median {:.1} max {:.1}; measured {}, levels {}, estimated {}",
            h.min, h.median, h.max, src[0], src[1], src[2]
        );
    }
    let lods = crate::twin::solid::layer_lods(city, LayerId(index as u16));
    if !lods.is_empty() {
        let per: Vec<String> = lods.iter().map(|(l, n)| format!("LoD{l} {n}")).collect();
        let n: usize = lods.values().sum();
        let _ = writeln!(s, "  3D surfaces: {n} buildings ({})", per.join(", "));
    }
    for (reason, n) in &r.skipped.reasons {
        let _ = writeln!(s, "  skipped {n}: {reason}");
    }
    for (reason, n) in &r.skipped.repaired {
        let _ = writeln!(s, "  repaired {n}: {reason}");
    }
    if timings {
        let _ = writeln!(
            s,
            "  timings: read {:.3} s, project {:.3} s, heights {:.3} s",
            r.read_s, r.project_s, r.heights_s
        );
        let _ = writeln!(s, "  projected by {}", r.projection);
    }
    s
}
