//! Ground meshing: roads as flat ribbons (width by class, lanes or the scene's line width,
//! round joins and caps), and water, green, land-use and zone polygons as flat fills
//! (earcut with holes), each kind at its own small height above the ground. Every vertex
//! carries its feature's index (into `CityModel::roads`, `zones` or `areas`), so a shader
//! can colour or hide each feature from a storage buffer without rebuilding a mesh.
//! Pure data: no Bevy type here.
//!
//! Render frame as in [`crate::twin::extrude`]: `x` = east, `y` = up, `z` = −north, metres
//! from the scene origin. Every triangle faces up (counter-clockwise seen from above).

use std::collections::BTreeMap;
use std::f64::consts::PI;

use geo::BoundingRect;
use geo_types::{Coord, LineString, MultiPolygon};
use thiserror::Error;

use crate::twin::city::CityModel;
use crate::twin::crs::SceneOrigin;
use crate::twin::extrude::{ExtrudeError, triangulate_flat};
use crate::twin::gis::layer::{LayerKind, SkipReport};

/// Width of one traffic lane, metres (used when a road's `lanes` is known).
pub const LANE_WIDTH_M: f64 = 3.25;
/// Width of motorways, metres.
pub const MOTORWAY_WIDTH_M: f64 = 14.0;
/// Width of trunk roads, metres.
pub const TRUNK_WIDTH_M: f64 = 12.0;
/// Width of primary roads, metres.
pub const PRIMARY_WIDTH_M: f64 = 10.0;
/// Width of secondary roads, metres.
pub const SECONDARY_WIDTH_M: f64 = 8.5;
/// Width of tertiary roads, metres.
pub const TERTIARY_WIDTH_M: f64 = 7.0;
/// Width of slip roads (`*_link`), metres.
pub const LINK_WIDTH_M: f64 = 5.5;
/// Width of residential and unclassified streets, metres.
pub const RESIDENTIAL_WIDTH_M: f64 = 6.0;
/// Width of living streets and pedestrian streets, metres.
pub const LIVING_STREET_WIDTH_M: f64 = 5.0;
/// Width of service roads, metres.
pub const SERVICE_WIDTH_M: f64 = 4.0;
/// Width of tracks, metres.
pub const TRACK_WIDTH_M: f64 = 3.0;
/// Width of cycleways, metres.
pub const CYCLEWAY_WIDTH_M: f64 = 2.5;
/// Width of footways, paths, steps and bridleways, metres.
pub const PATH_WIDTH_M: f64 = 2.0;
/// Width of any other road class, metres.
pub const DEFAULT_ROAD_WIDTH_M: f64 = 5.0;
/// Narrowest drawn road, metres (a tiny scene override or one lane is widened to this).
pub const MIN_ROAD_WIDTH_M: f64 = 0.5;

/// Height of land-use fills (kind `other`) above the ground, metres.
pub const LANDUSE_LIFT_M: f32 = 0.03;
/// Height of green fills above the ground, metres.
pub const GREEN_LIFT_M: f32 = 0.06;
/// Height of water fills above the ground, metres.
pub const WATER_LIFT_M: f32 = 0.09;
/// Height of zone fills above the ground, metres (over land areas, under roads).
pub const ZONE_LIFT_M: f32 = 0.12;
/// Height of the lowest road class above the ground, metres.
pub const ROAD_LIFT_M: f32 = 0.15;
/// Extra height per road rank (major roads lie over minor ones where they cross), metres.
pub const ROAD_RANK_STEP_M: f32 = 0.01;

/// Largest angle one triangle of a round join or cap spans, radians.
pub const ARC_STEP_RAD: f64 = PI / 6.0;
/// Joins turning less than this (radians) get no fill: the quads already meet.
pub const MIN_JOIN_RAD: f64 = 1e-3;
/// Consecutive centre-line points closer than this (metres) are merged.
pub const MIN_SEGMENT_M: f64 = 0.01;

/// Plain mesh buffers of one ground tile of one layer: flat triangles facing up.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundMesh {
    /// Tile coordinates: `floor(east / tile_m)`, `floor(north / tile_m)` of the feature's
    /// bounding-box centre, relative to the scene origin.
    pub tile: (i32, i32),
    /// Vertex positions, render frame.
    pub positions: Vec<[f32; 3]>,
    /// Per vertex: the index of its feature.
    pub feature_index: Vec<u32>,
    /// Triangle list into `positions`.
    pub indices: Vec<u32>,
    /// Minimum corner of the positions' bounding box (`+∞` while empty).
    pub bbox_min: [f32; 3],
    /// Maximum corner of the positions' bounding box (`−∞` while empty).
    pub bbox_max: [f32; 3],
}

impl GroundMesh {
    /// An empty mesh for a tile.
    pub fn new(tile: (i32, i32)) -> GroundMesh {
        GroundMesh {
            tile,
            positions: Vec::new(),
            feature_index: Vec::new(),
            indices: Vec::new(),
            bbox_min: [f32::INFINITY; 3],
            bbox_max: [f32::NEG_INFINITY; 3],
        }
    }

    /// Number of vertices.
    pub fn vertex_count(&self) -> usize {
        self.positions.len()
    }

    /// Number of triangles.
    pub fn triangle_count(&self) -> usize {
        self.indices.len() / 3
    }

    /// True when the mesh has no triangle.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Appends a vertex at east/north `p` and height `y`; returns its index.
    fn push(&mut self, p: [f64; 2], y: f32, feature: u32) -> u32 {
        let v = [p[0] as f32, y, -p[1] as f32];
        for (k, c) in v.into_iter().enumerate() {
            self.bbox_min[k] = self.bbox_min[k].min(c);
            self.bbox_max[k] = self.bbox_max[k].max(c);
        }
        self.positions.push(v);
        self.feature_index.push(feature);
        (self.positions.len() - 1) as u32
    }

    /// Appends a triangle of vertex indices, turned to face up.
    fn triangle(&mut self, a: u32, b: u32, c: u32) {
        let p = |i: u32| {
            let v = self.positions[i as usize];
            [v[0] as f64, -v[2] as f64]
        };
        let (pa, pb, pc) = (p(a), p(b), p(c));
        let ccw = (pb[0] - pa[0]) * (pc[1] - pa[1]) - (pb[1] - pa[1]) * (pc[0] - pa[0]);
        if ccw >= 0.0 {
            self.indices.extend([a, b, c]);
        } else {
            self.indices.extend([a, c, b]);
        }
    }
}

/// One layer's ground mesh in one tile. `layer` is the index in `CityModel::layers`
/// (`layers.len()` for the generated zone grid).
#[derive(Debug, Clone, PartialEq)]
pub struct GroundTile {
    /// The layer drawn.
    pub layer: usize,
    /// The triangles.
    pub mesh: GroundMesh,
}

/// What a meshing run did: features meshed, skipped by reason, mesh totals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroundReport {
    /// Features meshed.
    pub features: usize,
    /// Features skipped, by reason.
    pub skipped: SkipReport,
    /// Tiles with at least one triangle.
    pub tiles: usize,
    /// Triangles in all tiles.
    pub triangles: usize,
    /// Vertices in all tiles.
    pub vertices: usize,
}

/// Full width of a road, metres: the scene's `line_width_m` override when given, else
/// `lanes × LANE_WIDTH_M` when lanes are known, else the width of its class; never
/// below [`MIN_ROAD_WIDTH_M`].
pub fn road_width_m(class: &str, lanes: Option<u32>, override_m: Option<f64>) -> f64 {
    let w = match (override_m.filter(|w| w.is_finite()), lanes.filter(|&n| n > 0)) {
        (Some(w), _) => w,
        (None, Some(n)) => n as f64 * LANE_WIDTH_M,
        (None, None) => class_width_m(class),
    };
    w.max(MIN_ROAD_WIDTH_M)
}

/// Width of an OSM `highway=*` class, metres.
pub fn class_width_m(class: &str) -> f64 {
    match class.trim() {
        "motorway" => MOTORWAY_WIDTH_M,
        "trunk" => TRUNK_WIDTH_M,
        "primary" => PRIMARY_WIDTH_M,
        "secondary" => SECONDARY_WIDTH_M,
        "tertiary" => TERTIARY_WIDTH_M,
        c if c.ends_with("_link") => LINK_WIDTH_M,
        "residential" | "unclassified" | "road" => RESIDENTIAL_WIDTH_M,
        "living_street" | "pedestrian" => LIVING_STREET_WIDTH_M,
        "service" => SERVICE_WIDTH_M,
        "track" => TRACK_WIDTH_M,
        "cycleway" => CYCLEWAY_WIDTH_M,
        "footway" | "path" | "steps" | "bridleway" | "corridor" => PATH_WIDTH_M,
        _ => DEFAULT_ROAD_WIDTH_M,
    }
}

/// Drawing rank of a road class: higher ranks lie on top where roads cross (0 = paths).
pub fn road_rank(class: &str) -> u8 {
    match class.trim().trim_end_matches("_link") {
        "motorway" => 6,
        "trunk" => 5,
        "primary" => 4,
        "secondary" => 3,
        "tertiary" => 2,
        "footway" | "path" | "steps" | "bridleway" | "cycleway" | "corridor" | "track" => 0,
        _ => 1,
    }
}

/// Height of a road of a class above the ground, metres.
pub fn road_lift_m(class: &str) -> f32 {
    ROAD_LIFT_M + road_rank(class) as f32 * ROAD_RANK_STEP_M
}

/// Height of a land area's fill above the ground, metres.
pub fn area_lift_m(kind: LayerKind) -> f32 {
    match kind {
        LayerKind::Water => WATER_LIFT_M,
        LayerKind::Green => GREEN_LIFT_M,
        _ => LANDUSE_LIFT_M,
    }
}

/// Number of arc steps for a sweep of `angle` radians.
fn arc_steps(angle: f64) -> usize {
    ((angle.abs() / ARC_STEP_RAD).ceil() as usize).max(1)
}

/// A fan around `centre` of radius `r` from angle `from` sweeping `sweep` radians.
fn fan(out: &mut GroundMesh, centre: [f64; 2], r: f64, from: f64, sweep: f64, y: f32, feature: u32) {
    let steps = arc_steps(sweep);
    let c = out.push(centre, y, feature);
    let mut prev = None;
    for k in 0..=steps {
        let a = from + sweep * k as f64 / steps as f64;
        let v = out.push([centre[0] + r * a.cos(), centre[1] + r * a.sin()], y, feature);
        if let Some(p) = prev {
            out.triangle(c, p, v);
        }
        prev = Some(v);
    }
}

/// Vertices a round cap adds (a centre and the half circle's arc points).
pub fn cap_vertices() -> usize {
    arc_steps(PI) + 2
}

/// Why a centre line was not meshed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RibbonError {
    /// Fewer than two distinct points.
    #[error("road with fewer than two distinct points")]
    TooShort,
    /// A coordinate is NaN or infinite.
    #[error("road with a non-finite coordinate")]
    NonFinite,
    /// The width is not positive and finite.
    #[error("road with a width that is not positive")]
    BadWidth,
}

/// How much of a road's shape a ribbon draws.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RoadDetail {
    /// One quad per segment, a round fill on the outer side of every turn and a round cap
    /// at both ends, so that roads split at junctions meet without a notch.
    #[default]
    Near,
    /// For a far camera, where a road is a few pixels wide: one quad per segment, the first
    /// and last stretched by half the width (square caps, which still close junctions);
    /// no turn fills. A one-segment road is 2 triangles instead of 14.
    Far,
}

/// Appends a flat ribbon of `width_m` along `line` at height `y`: one quad per segment,
/// and at [`RoadDetail::Near`] a round fill on the outer side of every turn and a round
/// cap at both ends (so that roads split at junctions still meet), at
/// [`RoadDetail::Far`] square ends. Every vertex carries `feature`; `out` is unchanged on
/// error.
pub fn push_ribbon(
    out: &mut GroundMesh,
    line: &LineString<f64>,
    width_m: f64,
    y: f32,
    feature: u32,
    origin: &SceneOrigin,
    detail: RoadDetail,
) -> Result<(), RibbonError> {
    if !(width_m.is_finite() && width_m > 0.0) {
        return Err(RibbonError::BadWidth);
    }
    let mut pts: Vec<[f64; 2]> = Vec::with_capacity(line.0.len());
    for c in &line.0 {
        if !(c.x.is_finite() && c.y.is_finite()) {
            return Err(RibbonError::NonFinite);
        }
        let p = [c.x - origin.x, c.y - origin.y];
        if pts
            .last()
            .is_none_or(|q: &[f64; 2]| (p[0] - q[0]).hypot(p[1] - q[1]) >= MIN_SEGMENT_M)
        {
            pts.push(p);
        }
    }
    if pts.len() < 2 {
        return Err(RibbonError::TooShort);
    }
    let h = width_m / 2.0;
    let angle = |a: [f64; 2], b: [f64; 2]| (b[1] - a[1]).atan2(b[0] - a[0]);
    let segments = pts.len() - 1;
    for (k, w) in pts.windows(2).enumerate() {
        let (mut a, mut b) = (w[0], w[1]);
        let t = angle(a, b);
        if detail == RoadDetail::Far {
            // Square caps: the ends stretched by half the width along the road.
            let (dx, dy) = (t.cos() * h, t.sin() * h);
            if k == 0 {
                a = [a[0] - dx, a[1] - dy];
            }
            if k + 1 == segments {
                b = [b[0] + dx, b[1] + dy];
            }
        }
        // Left normal of the segment.
        let n = [-t.sin() * h, t.cos() * h];
        let v0 = out.push([a[0] + n[0], a[1] + n[1]], y, feature);
        let v1 = out.push([a[0] - n[0], a[1] - n[1]], y, feature);
        let v2 = out.push([b[0] - n[0], b[1] - n[1]], y, feature);
        let v3 = out.push([b[0] + n[0], b[1] + n[1]], y, feature);
        out.triangle(v0, v1, v2);
        out.triangle(v0, v2, v3);
    }
    if detail == RoadDetail::Far {
        return Ok(());
    }
    for w in pts.windows(3) {
        let (t0, t1) = (angle(w[0], w[1]), angle(w[1], w[2]));
        // Signed turn in (−π, π]: positive turns left, so the outer side is the right.
        let mut turn = t1 - t0;
        while turn > PI {
            turn -= 2.0 * PI;
        }
        while turn <= -PI {
            turn += 2.0 * PI;
        }
        if turn.abs() < MIN_JOIN_RAD {
            continue;
        }
        let from = if turn > 0.0 { t0 - PI / 2.0 } else { t0 + PI / 2.0 };
        fan(out, w[1], h, from, turn, y, feature);
    }
    let n = pts.len();
    let start = angle(pts[0], pts[1]);
    fan(out, pts[0], h, start + PI / 2.0, PI, y, feature);
    let end = angle(pts[n - 2], pts[n - 1]);
    fan(out, pts[n - 1], h, end - PI / 2.0, PI, y, feature);
    Ok(())
}

/// Appends the fill of a multipolygon (with holes) at height `y`; every vertex carries
/// `feature`. `Ok(false)` when nothing had area; `out` is unchanged on error.
pub fn push_polygon_fill(
    out: &mut GroundMesh,
    area: &MultiPolygon<f64>,
    y: f32,
    feature: u32,
    origin: &SceneOrigin,
) -> Result<bool, ExtrudeError> {
    let mut parts = Vec::with_capacity(area.0.len());
    for poly in area {
        if let Some(part) = triangulate_flat(poly, origin)? {
            parts.push(part);
        }
    }
    for (pts, tris) in &parts {
        let base = out.positions.len() as u32;
        for p in pts {
            out.push([p[0] as f64, p[1] as f64], y, feature);
        }
        for t in tris {
            // `triangulate_flat` already turns each triangle to face up.
            out.indices.extend(t.iter().map(|&i| base + i as u32));
        }
    }
    Ok(!parts.is_empty())
}

/// The tile of a bounding-box centre, as in `extrude`.
fn tile_of(rect: Option<geo::Rect<f64>>, origin: &SceneOrigin, tile_m: f64) -> (i32, i32) {
    let Some(r) = rect else { return (0, 0) };
    let c: Coord<f64> = r.center();
    if !(c.x.is_finite() && c.y.is_finite() && tile_m.is_finite() && tile_m > 0.0) {
        return (0, 0);
    }
    (
        ((c.x - origin.x) / tile_m).floor() as i32,
        ((c.y - origin.y) / tile_m).floor() as i32,
    )
}

/// Collects meshes by (layer, tile) into a sorted list and fills in the report's totals.
fn finish(groups: BTreeMap<(usize, (i32, i32)), GroundMesh>, report: &mut GroundReport) -> Vec<GroundTile> {
    let mut out = Vec::with_capacity(groups.len());
    for ((layer, _), mesh) in groups {
        if mesh.is_empty() {
            continue;
        }
        report.tiles += 1;
        report.triangles += mesh.triangle_count();
        report.vertices += mesh.vertex_count();
        out.push(GroundTile { layer, mesh });
    }
    out
}

/// Every road as a ribbon at the given level of detail, grouped by layer and tile (the
/// same tiles, features and skips at either level). `width_override_m(layer)` gives a
/// layer's width override (the scene's `style.line_width_m`). Feature index = index in
/// `city.roads`. Bad roads are counted in the report, never panicking.
pub fn road_meshes(
    city: &CityModel,
    tile_m: f64,
    width_override_m: impl Fn(usize) -> Option<f64>,
    detail: RoadDetail,
) -> (Vec<GroundTile>, GroundReport) {
    let mut report = GroundReport::default();
    let mut groups: BTreeMap<(usize, (i32, i32)), GroundMesh> = BTreeMap::new();
    for (i, r) in city.roads.iter().enumerate() {
        let layer = r.layer.0 as usize;
        let tile = tile_of(r.line.bounding_rect(), &city.origin, tile_m);
        let width = road_width_m(&r.class, r.lanes, width_override_m(layer));
        let mesh = groups
            .entry((layer, tile))
            .or_insert_with(|| GroundMesh::new(tile));
        let y = road_lift_m(&r.class);
        match push_ribbon(mesh, &r.line, width, y, i as u32, &city.origin, detail) {
            Ok(()) => report.features += 1,
            Err(e) => report.skipped.skip(e.to_string()),
        }
    }
    let tiles = finish(groups, &mut report);
    (tiles, report)
}

/// Fills of polygons, each at a height, by (layer, tile); feature index = position in
/// the input. Shared by areas and zones.
fn fill_meshes<'a>(
    items: impl Iterator<Item = (usize, &'a MultiPolygon<f64>, f32)>,
    origin: &SceneOrigin,
    tile_m: f64,
    what: &str,
) -> (Vec<GroundTile>, GroundReport) {
    let mut report = GroundReport::default();
    let mut groups: BTreeMap<(usize, (i32, i32)), GroundMesh> = BTreeMap::new();
    for (i, (layer, area, y)) in items.enumerate() {
        let tile = tile_of(area.bounding_rect(), origin, tile_m);
        let mesh = groups
            .entry((layer, tile))
            .or_insert_with(|| GroundMesh::new(tile));
        match push_polygon_fill(mesh, area, y, i as u32, origin) {
            Ok(true) => report.features += 1,
            Ok(false) => report.skipped.skip(format!("{what} without area")),
            Err(e) => report.skipped.skip(format!("{what}: {e}")),
        }
    }
    let tiles = finish(groups, &mut report);
    (tiles, report)
}

/// Every water, green and land-use area as a fill at its kind's height, by layer and
/// tile; feature index = index in `city.areas`.
pub fn area_meshes(city: &CityModel, tile_m: f64) -> (Vec<GroundTile>, GroundReport) {
    let items = city
        .areas
        .iter()
        .map(|a| (a.layer.0 as usize, &a.area, area_lift_m(a.kind)));
    fill_meshes(items, &city.origin, tile_m, "area")
}

/// The layer zones are drawn as: the first zones layer, else `layers.len()` (the
/// generated grid's pseudo-layer).
pub fn zone_layer(city: &CityModel) -> usize {
    city.layers
        .iter()
        .position(|l| l.kind == LayerKind::Zones)
        .unwrap_or(city.layers.len())
}

/// Every zone as a fill at [`ZONE_LIFT_M`], by tile, in the layer of [`zone_layer`];
/// feature index = index in `city.zones`.
pub fn zone_meshes(city: &CityModel, tile_m: f64) -> (Vec<GroundTile>, GroundReport) {
    let layer = zone_layer(city);
    let items = city.zones.iter().map(|z| (layer, &z.area, ZONE_LIFT_M));
    fill_meshes(items, &city.origin, tile_m, "zone")
}

#[cfg(test)]
mod tests {
    use super::*;

    use geo::Area;
    use geo_types::{Polygon, polygon};

    use crate::twin::city::{LandArea, LayerId, Road, Zone};
    use crate::twin::crs::Crs;

    /// Area of the up-facing triangles of a mesh, m²; panics on a triangle facing down.
    fn up_area(m: &GroundMesh) -> f64 {
        m.indices
            .chunks_exact(3)
            .map(|t| {
                let p = |i: u32| {
                    let v = m.positions[i as usize];
                    [v[0] as f64, -v[2] as f64]
                };
                let (a, b, c) = (p(t[0]), p(t[1]), p(t[2]));
                let ccw2 = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
                assert!(ccw2 >= 0.0, "triangle {t:?} faces down");
                ccw2 / 2.0
            })
            .sum()
    }

    fn road(line: Vec<(f64, f64)>, class: &str, lanes: Option<u32>) -> Road {
        Road {
            layer: LayerId(0),
            source_id: 1,
            line: LineString::from(line),
            class: class.to_string(),
            lanes,
            maxspeed_kmh: None,
            oneway: false,
            name: None,
        }
    }

    #[test]
    fn width_by_class_lanes_and_override() {
        assert_eq!(road_width_m("motorway", None, None), MOTORWAY_WIDTH_M);
        assert_eq!(road_width_m("primary_link", None, None), LINK_WIDTH_M);
        assert_eq!(road_width_m("footway", None, None), PATH_WIDTH_M);
        assert_eq!(road_width_m("no such class", None, None), DEFAULT_ROAD_WIDTH_M);
        assert!(road_width_m("primary", None, None) > road_width_m("residential", None, None));
        assert!(road_width_m("residential", None, None) > road_width_m("path", None, None));
        assert_eq!(road_width_m("footway", Some(4), None), 4.0 * LANE_WIDTH_M);
        assert_eq!(road_width_m("footway", Some(0), None), PATH_WIDTH_M);
        assert_eq!(road_width_m("motorway", Some(4), Some(3.0)), 3.0);
        assert_eq!(road_width_m("motorway", None, Some(0.0)), MIN_ROAD_WIDTH_M);
        assert_eq!(road_width_m("motorway", None, Some(f64::NAN)), MOTORWAY_WIDTH_M);
        assert!(road_lift_m("primary") > road_lift_m("residential"));
        assert!(road_lift_m("residential") > road_lift_m("footway"));
        assert!(road_lift_m("footway") > ZONE_LIFT_M);
    }

    #[test]
    fn straight_ribbon_is_a_quad_with_two_caps() {
        let mut m = GroundMesh::new((0, 0));
        let line = LineString::from(vec![(0.0, 0.0), (100.0, 0.0)]);
        push_ribbon(
            &mut m,
            &line,
            8.0,
            0.5,
            42,
            &SceneOrigin::default(),
            RoadDetail::Near,
        )
        .unwrap();
        let cap_tris = arc_steps(PI);
        assert_eq!(m.vertex_count(), 4 + 2 * cap_vertices());
        assert_eq!(m.triangle_count(), 2 + 2 * cap_tris);
        assert!(m.feature_index.iter().all(|&f| f == 42));
        assert!(m.positions.iter().all(|p| p[1] == 0.5));
        // Width 8: from −4 to +4 north (z = +4 … −4), caps reach 4 m beyond the ends.
        assert_eq!(m.bbox_min, [-4.0, 0.5, -4.0]);
        assert_eq!(m.bbox_max, [104.0, 0.5, 4.0]);
        // Quad area plus two half discs (the arcs' polygons are slightly smaller).
        let exact = 100.0 * 8.0 + PI * 16.0;
        let a = up_area(&m);
        assert!(a < exact && a > exact * 0.98, "{a} vs {exact}");
    }

    #[test]
    fn turning_ribbon_fills_the_outer_side_of_each_turn() {
        let origin = SceneOrigin { x: 1000.0, y: 2000.0 };
        let line = LineString::from(vec![(1000.0, 2000.0), (1050.0, 2000.0), (1050.0, 2050.0)]);
        let mut m = GroundMesh::new((0, 0));
        push_ribbon(&mut m, &line, 6.0, 0.0, 0, &origin, RoadDetail::Near).unwrap();
        let join_tris = arc_steps(PI / 2.0);
        assert_eq!(m.vertex_count(), 2 * 4 + (join_tris + 2) + 2 * cap_vertices());
        assert_eq!(m.triangle_count(), 2 * 2 + join_tris + 2 * arc_steps(PI));
        // A left turn: the join fills the outer (south-east) corner up to 3 m away.
        let corner = m
            .positions
            .iter()
            .filter(|p| p[0] > 50.0 && -p[2] < 0.0)
            .map(|p| ((p[0] - 50.0).powi(2) + p[2].powi(2)).sqrt())
            .fold(0.0f32, f32::max);
        assert!((corner - 3.0).abs() < 1e-4, "{corner}");
        // Every vertex lies within half the width of the centre line, and some exactly there.
        let seg_dist = |p: [f64; 2], a: [f64; 2], b: [f64; 2]| {
            let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
            let t = (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
            (p[0] - a[0] - t * dx).hypot(p[1] - a[1] - t * dy)
        };
        let mut at_edge = 0;
        for p in &m.positions {
            let q = [p[0] as f64, -p[2] as f64];
            let d = seg_dist(q, [0.0, 0.0], [50.0, 0.0]).min(seg_dist(q, [50.0, 0.0], [50.0, 50.0]));
            assert!(d <= 3.0 + 1e-4, "{p:?} is {d} m from the line");
            at_edge += usize::from(d > 3.0 - 1e-4);
        }
        assert!(at_edge >= 8, "{at_edge}");
        up_area(&m);
    }

    #[test]
    fn far_ribbons_are_one_quad_per_segment_with_square_caps() {
        let origin = SceneOrigin { x: 1000.0, y: 2000.0 };
        let line = LineString::from(vec![(1000.0, 2000.0), (1050.0, 2000.0), (1050.0, 2050.0)]);
        let mut far = GroundMesh::new((0, 0));
        push_ribbon(&mut far, &line, 6.0, 0.0, 3, &origin, RoadDetail::Far).unwrap();
        assert_eq!(far.triangle_count(), 2 * 2);
        assert_eq!(far.vertex_count(), 2 * 4);
        assert!(far.feature_index.iter().all(|&f| f == 3));
        // The ends reach half the width beyond the line, as the near level's round caps do.
        let mut near = GroundMesh::new((0, 0));
        push_ribbon(&mut near, &line, 6.0, 0.0, 3, &origin, RoadDetail::Near).unwrap();
        let close = |a: [f32; 3], b: [f32; 3]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4);
        assert!(
            close(far.bbox_min, near.bbox_min),
            "{:?} {:?}",
            far.bbox_min,
            near.bbox_min
        );
        assert!(
            close(far.bbox_max, near.bbox_max),
            "{:?} {:?}",
            far.bbox_max,
            near.bbox_max
        );
        assert!(close(far.bbox_min, [-3.0, 0.0, -53.0]), "{:?}", far.bbox_min);
        // Area: two 6 m wide strips of 53 m, overlapping in a 3×3 m square at the turn;
        // close to the near level's (which rounds its caps and fills the turn).
        let a = up_area(&far);
        assert!((a - (2.0 * 53.0 * 6.0)).abs() < 1e-3, "{a}");
        let n = up_area(&near);
        assert!((a - n).abs() < 0.05 * n, "far {a} m², near {n} m²");
    }

    #[test]
    fn far_roads_keep_the_tiles_features_and_skips_of_the_near_level() {
        let c = city();
        let widths = |l: usize| (l == 1).then_some(1.0);
        let (near, nr) = road_meshes(&c, 250.0, widths, RoadDetail::Near);
        let (far, fr) = road_meshes(&c, 250.0, widths, RoadDetail::Far);
        assert_eq!(
            (nr.features, nr.skipped.total()),
            (fr.features, fr.skipped.total())
        );
        let keys = |t: &[GroundTile]| t.iter().map(|t| (t.layer, t.mesh.tile)).collect::<Vec<_>>();
        assert_eq!(keys(&near), keys(&far));
        assert!(
            fr.triangles * 3 < nr.triangles,
            "far {} near {}",
            fr.triangles,
            nr.triangles
        );
        for (n, f) in near.iter().zip(&far) {
            assert_eq!(n.mesh.bbox_min[1], f.mesh.bbox_min[1]);
            let mut fi = f.mesh.feature_index.clone();
            let mut ni = n.mesh.feature_index.clone();
            fi.dedup();
            ni.dedup();
            assert_eq!(fi, ni);
        }
    }

    #[test]
    fn bad_lines_are_errors_and_leave_the_mesh_alone() {
        let mut m = GroundMesh::new((0, 0));
        let o = SceneOrigin::default();
        let one = LineString::from(vec![(0.0, 0.0), (0.0, 0.001)]);
        assert_eq!(
            push_ribbon(&mut m, &one, 5.0, 0.0, 0, &o, RoadDetail::Near),
            Err(RibbonError::TooShort)
        );
        let nan = LineString::from(vec![(0.0, 0.0), (f64::NAN, 1.0)]);
        assert_eq!(
            push_ribbon(&mut m, &nan, 5.0, 0.0, 0, &o, RoadDetail::Near),
            Err(RibbonError::NonFinite)
        );
        let ok = LineString::from(vec![(0.0, 0.0), (10.0, 0.0)]);
        assert_eq!(
            push_ribbon(&mut m, &ok, 0.0, 0.0, 0, &o, RoadDetail::Near),
            Err(RibbonError::BadWidth)
        );
        assert!(m.positions.is_empty() && m.indices.is_empty());
    }

    #[test]
    fn polygon_fill_covers_the_polygon_minus_its_hole() {
        let poly = Polygon::new(
            LineString::from(vec![
                (0.0, 0.0),
                (40.0, 0.0),
                (40.0, 30.0),
                (0.0, 30.0),
                (0.0, 0.0),
            ]),
            vec![LineString::from(vec![
                (10.0, 10.0),
                (10.0, 20.0),
                (20.0, 20.0),
                (20.0, 10.0),
                (10.0, 10.0),
            ])],
        );
        let l = polygon![(x: 100.0, y: 0.0), (x: 130.0, y: 0.0), (x: 130.0, y: 10.0), (x: 110.0, y: 10.0),
            (x: 110.0, y: 40.0), (x: 100.0, y: 40.0)];
        let mp = MultiPolygon(vec![poly, l]);
        let mut m = GroundMesh::new((0, 0));
        assert!(push_polygon_fill(&mut m, &mp, 0.25, 9, &SceneOrigin::default()).unwrap());
        let area = up_area(&m);
        assert!(
            (area - mp.unsigned_area()).abs() < 1e-6,
            "{area} vs {}",
            mp.unsigned_area()
        );
        assert_eq!(mp.unsigned_area(), 1200.0 - 100.0 + 300.0 + 300.0);
        assert_eq!(m.vertex_count(), 4 + 4 + 6);
        assert!(m.feature_index.iter().all(|&f| f == 9));
        assert!(m.positions.iter().all(|p| p[1] == 0.25));
        // A degenerate polygon adds nothing.
        let flat = MultiPolygon(vec![
            polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 2.0, y: 0.0)],
        ]);
        let mut e = GroundMesh::new((0, 0));
        assert!(!push_polygon_fill(&mut e, &flat, 0.0, 0, &SceneOrigin::default()).unwrap());
        assert!(e.is_empty());
    }

    fn city() -> CityModel {
        let mut c = CityModel::empty("t", Crs::Epsg(3067), SceneOrigin { x: 0.0, y: 0.0 });
        c.roads = vec![
            road(vec![(0.0, 0.0), (100.0, 0.0)], "primary", None),
            road(
                vec![(300.0, 0.0), (300.0, 100.0), (400.0, 100.0)],
                "footway",
                None,
            ),
            road(vec![(5.0, 5.0)], "service", None),
        ];
        c.roads[1].layer = LayerId(1);
        let sq = |x: f64, s: f64| {
            MultiPolygon(vec![
                polygon![(x: x, y: 0.0), (x: x + s, y: 0.0), (x: x + s, y: s), (x: x, y: s)],
            ])
        };
        c.areas = vec![
            LandArea {
                layer: LayerId(2),
                kind: LayerKind::Water,
                class: "water".into(),
                area: sq(0.0, 10.0),
            },
            LandArea {
                layer: LayerId(3),
                kind: LayerKind::Green,
                class: "park".into(),
                area: sq(20.0, 10.0),
            },
        ];
        c.zones = vec![
            Zone {
                name: "a".into(),
                area: sq(0.0, 300.0),
                generated: true,
            },
            Zone {
                name: "b".into(),
                area: sq(300.0, 300.0),
                generated: true,
            },
        ];
        c
    }

    #[test]
    fn roads_by_layer_and_tile_with_their_index() {
        let c = city();
        let (tiles, report) = road_meshes(&c, 250.0, |l| (l == 1).then_some(1.0), RoadDetail::Near);
        assert_eq!(report.features, 2);
        assert_eq!(report.skipped.total(), 1);
        assert_eq!(tiles.len(), 2);
        assert_eq!((tiles[0].layer, tiles[0].mesh.tile), (0, (0, 0)));
        assert_eq!((tiles[1].layer, tiles[1].mesh.tile), (1, (1, 0)));
        assert!(tiles[0].mesh.feature_index.iter().all(|&f| f == 0));
        assert!(tiles[1].mesh.feature_index.iter().all(|&f| f == 1));
        // The primary is 10 m wide; the overridden footway 1 m.
        assert_eq!(
            tiles[0].mesh.bbox_max[2] - tiles[0].mesh.bbox_min[2],
            PRIMARY_WIDTH_M as f32
        );
        assert_eq!(tiles[0].mesh.bbox_min[1], road_lift_m("primary"));
        let m = &tiles[1].mesh;
        assert!((m.bbox_max[0] - m.bbox_min[0] - 101.0).abs() < 1e-4, "{m:?}");
        assert_eq!(
            report.triangles,
            tiles.iter().map(|t| t.mesh.triangle_count()).sum::<usize>()
        );
    }

    #[test]
    fn areas_and_zones_fill_at_their_heights() {
        let c = city();
        let (tiles, report) = area_meshes(&c, 250.0);
        assert_eq!(report.features, 2);
        assert_eq!(tiles.len(), 2);
        assert_eq!(tiles[0].layer, 2);
        assert!(tiles[0].mesh.positions.iter().all(|p| p[1] == WATER_LIFT_M));
        assert!(tiles[1].mesh.positions.iter().all(|p| p[1] == GREEN_LIFT_M));
        assert!(tiles[1].mesh.feature_index.iter().all(|&f| f == 1));
        assert!((up_area(&tiles[0].mesh) - 100.0).abs() < 1e-9);

        let (tiles, report) = zone_meshes(&c, 250.0);
        assert_eq!(report.features, 2);
        assert_eq!(zone_layer(&c), 0, "no layers: the generated grid's slot");
        let total: f64 = tiles.iter().map(|t| up_area(&t.mesh)).sum();
        assert!((total - 2.0 * 90_000.0).abs() < 1e-6, "{total}");
        for t in &tiles {
            assert!(t.mesh.positions.iter().all(|p| p[1] == ZONE_LIFT_M));
        }
        let zone_b: Vec<u32> = tiles
            .iter()
            .flat_map(|t| t.mesh.feature_index.iter().copied())
            .filter(|&f| f == 1)
            .collect();
        assert_eq!(zone_b.len(), 4);
    }
}
