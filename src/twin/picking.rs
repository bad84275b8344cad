//! Picking buildings with a ray: a [`BuildingIndex`] (an R-tree of footprint bounding boxes)
//! and the exact ray–prism test behind [`BuildingIndex::pick`]. Pure maths, no Bevy.
//!
//! Rays live in the scene's f64 frame: `x` = easting and `y` = northing in the scene CRS
//! (metres, the origin *not* subtracted), `z` = metres above the ground. A building is the
//! prism of its footprint polygons (holes included) between `min_height_m` and `height_m`.
//! [`from_render_point`] and [`from_render_dir`] convert from the render frame
//! (`x` = east − origin.x, `y` = up, `z` = −(north − origin.y)).

use geo::BoundingRect;
use geo_types::{LineString, Polygon};
use rstar::{AABB, RTree, RTreeObject, SelectionFunction};

use crate::twin::city::{Building, BuildingId, CityModel};
use crate::twin::crs::SceneOrigin;

/// Farthest a pick looks along the ray, metres.
pub const MAX_PICK_DISTANCE_M: f64 = 50_000.0;
/// Slack added around footprint boxes and the ray's height range, metres, so rounding
/// never drops a candidate that touches a box's edge.
const BOX_SLACK_M: f64 = 0.01;

/// One building's footprint bounding box in the R-tree.
#[derive(Debug, Clone)]
struct Entry {
    /// Index into `CityModel::buildings`.
    index: u32,
    /// Footprint bbox, scene CRS.
    bbox: AABB<[f64; 2]>,
}

impl RTreeObject for Entry {
    type Envelope = AABB<[f64; 2]>;

    fn envelope(&self) -> Self::Envelope {
        self.bbox
    }
}

/// An R-tree of the buildings' footprint bounding boxes (scene CRS), for picking.
///
/// It holds indices only: pass the same [`CityModel`] it was built from to [`Self::pick`].
#[derive(Debug, Clone)]
pub struct BuildingIndex {
    tree: RTree<Entry>,
    /// Lowest building bottom and highest building top, metres (the slab rays are clipped to).
    z_range: [f64; 2],
}

impl BuildingIndex {
    /// Indexes every building with a non-empty footprint and a finite height.
    pub fn new(city: &CityModel) -> BuildingIndex {
        let mut z_range = [f64::INFINITY, f64::NEG_INFINITY];
        let entries: Vec<Entry> = city
            .buildings
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                let (lo, hi) = vertical_extent(b)?;
                let r = b.footprint.bounding_rect()?;
                z_range = [z_range[0].min(lo), z_range[1].max(hi)];
                Some(Entry {
                    index: i as u32,
                    bbox: AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                })
            })
            .collect();
        BuildingIndex {
            tree: RTree::bulk_load(entries),
            z_range,
        }
    }

    /// Number of indexed buildings.
    pub fn len(&self) -> usize {
        self.tree.size()
    }

    /// True when no building is indexed.
    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// The nearest building a ray hits and the distance to the hit in metres, within
    /// [`MAX_PICK_DISTANCE_M`]. `origin` and `dir` are in the scene frame (see the module
    /// docs); `dir` need not be normalised.
    pub fn pick(&self, city: &CityModel, origin: [f64; 3], dir: [f64; 3]) -> Option<(BuildingId, f64)> {
        self.pick_where(city, origin, dir, |_| true)
    }

    /// Like [`Self::pick`], skipping buildings for which `pickable` is false (e.g. hidden ones).
    pub fn pick_where(
        &self,
        city: &CityModel,
        origin: [f64; 3],
        dir: [f64; 3],
        pickable: impl Fn(BuildingId) -> bool,
    ) -> Option<(BuildingId, f64)> {
        let ray = Ray::new(origin, dir)?;
        let (t0, t1) = ray.clip_to_heights(self.z_range)?;
        let select = SegmentSelection {
            from: [ray.o[0] + ray.d[0] * t0, ray.o[1] + ray.d[1] * t0],
            to: [ray.o[0] + ray.d[0] * t1, ray.o[1] + ray.d[1] * t1],
        };
        let mut best: Option<(BuildingId, f64)> = None;
        for entry in self.tree.locate_with_selection_function(select) {
            let id = BuildingId(entry.index);
            let Some(b) = city.building(id) else { continue };
            if !pickable(id) {
                continue;
            }
            let limit = best.map_or(t1, |(_, t)| t);
            if let Some(t) = ray_hits_building(&ray, b, limit) {
                best = Some((id, t));
            }
        }
        best
    }
}

/// A building's bottom and top, metres, when both are finite and the footprint is not empty.
fn vertical_extent(b: &Building) -> Option<(f64, f64)> {
    let (lo, hi) = (b.min_height_m, b.height_m);
    (lo.is_finite() && hi.is_finite() && !b.footprint.0.is_empty()).then(|| (lo.min(hi), lo.max(hi)))
}

/// A ray with a unit direction: points `o + t·d`, `t ≥ 0` metres.
#[derive(Debug, Clone, Copy)]
struct Ray {
    o: [f64; 3],
    d: [f64; 3],
}

impl Ray {
    /// The ray from `o` along `d`; `None` when `d` is zero or not finite.
    fn new(o: [f64; 3], d: [f64; 3]) -> Option<Ray> {
        let len = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        if !(len.is_finite() && len > 0.0) || o.iter().any(|v| !v.is_finite()) {
            return None;
        }
        Some(Ray {
            o,
            d: [d[0] / len, d[1] / len, d[2] / len],
        })
    }

    /// The stretch `[t0, t1]` of the ray (within the pick distance) where its height lies in
    /// `[lo, hi]`; `None` when it never does.
    fn clip_to_heights(&self, [lo, hi]: [f64; 2]) -> Option<(f64, f64)> {
        if lo > hi {
            return None;
        }
        let (lo, hi) = (lo - BOX_SLACK_M, hi + BOX_SLACK_M);
        let (mut t0, mut t1) = (0.0, MAX_PICK_DISTANCE_M);
        let (oz, dz) = (self.o[2], self.d[2]);
        if dz == 0.0 {
            if oz < lo || oz > hi {
                return None;
            }
        } else {
            let (a, b) = ((lo - oz) / dz, (hi - oz) / dz);
            t0 = f64::max(t0, a.min(b));
            t1 = f64::min(t1, a.max(b));
        }
        (t0 <= t1).then_some((t0, t1))
    }

    /// The point at `t`.
    fn at(&self, t: f64) -> [f64; 3] {
        [
            self.o[0] + self.d[0] * t,
            self.o[1] + self.d[1] * t,
            self.o[2] + self.d[2] * t,
        ]
    }
}

/// Selects R-tree boxes the ray's 2D segment crosses.
#[derive(Debug, Clone, Copy)]
struct SegmentSelection {
    from: [f64; 2],
    to: [f64; 2],
}

impl SegmentSelection {
    /// True when the segment meets the box (slab test, with a little slack).
    fn crosses(&self, b: &AABB<[f64; 2]>) -> bool {
        let (lo, hi) = (b.lower(), b.upper());
        let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
        for axis in 0..2 {
            let (lo, hi) = (lo[axis] - BOX_SLACK_M, hi[axis] + BOX_SLACK_M);
            let p = self.from[axis];
            let d = self.to[axis] - p;
            if d == 0.0 {
                if p < lo || p > hi {
                    return false;
                }
            } else {
                let (a, b) = ((lo - p) / d, (hi - p) / d);
                t0 = t0.max(a.min(b));
                t1 = t1.min(a.max(b));
                if t0 > t1 {
                    return false;
                }
            }
        }
        true
    }
}

impl SelectionFunction<Entry> for SegmentSelection {
    fn should_unpack_parent(&self, envelope: &AABB<[f64; 2]>) -> bool {
        self.crosses(envelope)
    }

    fn should_unpack_leaf(&self, leaf: &Entry) -> bool {
        self.crosses(&leaf.envelope())
    }
}

/// The distance to the nearest hit of a ray on a building's prism closer than `limit`.
fn ray_hits_building(ray: &Ray, b: &Building, limit: f64) -> Option<f64> {
    let (lo, hi) = vertical_extent(b)?;
    let mut best: Option<f64> = None;
    let mut consider = |t: f64| {
        if t >= 0.0 && t < best.unwrap_or(limit) {
            best = Some(t);
        }
    };
    for poly in &b.footprint.0 {
        // Roof and floor.
        if ray.d[2] != 0.0 {
            for z in [hi, lo] {
                let t = (z - ray.o[2]) / ray.d[2];
                if t >= 0.0 && t < limit {
                    let p = ray.at(t);
                    if polygon_contains(poly, p[0], p[1]) {
                        consider(t);
                    }
                }
            }
        }
        // Walls: a vertical quad on every edge of every ring.
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            for edge in ring.lines() {
                if let Some(t) = ray_hits_wall(
                    ray,
                    [edge.start.x, edge.start.y],
                    [edge.end.x, edge.end.y],
                    lo,
                    hi,
                ) {
                    consider(t);
                }
            }
        }
    }
    best
}

/// Where a ray meets the vertical quad over the edge `a`–`b` between heights `lo` and `hi`.
fn ray_hits_wall(ray: &Ray, a: [f64; 2], b: [f64; 2], lo: f64, hi: f64) -> Option<f64> {
    // Solve o + t·d = a + s·(b − a) in the plane.
    let e = [b[0] - a[0], b[1] - a[1]];
    let (dx, dy) = (ray.d[0], ray.d[1]);
    let denom = dx * e[1] - dy * e[0];
    if denom.abs() < 1e-12 {
        return None; // parallel to the wall (or a vertical ray)
    }
    let w = [a[0] - ray.o[0], a[1] - ray.o[1]];
    let t = (w[0] * e[1] - w[1] * e[0]) / denom;
    let s = (w[0] * dy - w[1] * dx) / denom;
    if t < 0.0 || !(0.0..=1.0).contains(&s) {
        return None;
    }
    let z = ray.o[2] + ray.d[2] * t;
    (lo..=hi).contains(&z).then_some(t)
}

/// Even–odd point-in-polygon over the exterior and every hole.
fn polygon_contains(poly: &Polygon<f64>, x: f64, y: f64) -> bool {
    let mut inside = ring_crossings(poly.exterior(), x, y);
    for hole in poly.interiors() {
        inside ^= ring_crossings(hole, x, y);
    }
    inside
}

/// True when a horizontal ray from `(x, y)` crosses a ring an odd number of times.
fn ring_crossings(ring: &LineString<f64>, x: f64, y: f64) -> bool {
    let mut inside = false;
    for edge in ring.lines() {
        let (p, q) = (edge.start, edge.end);
        if (p.y > y) != (q.y > y) {
            let xi = p.x + (y - p.y) / (q.y - p.y) * (q.x - p.x);
            if x < xi {
                inside = !inside;
            }
        }
    }
    inside
}

/// A point of the render frame (`x` east, `y` up, `z` south, origin subtracted) in the
/// scene frame.
pub fn from_render_point(origin: &SceneOrigin, p: [f64; 3]) -> [f64; 3] {
    [p[0] + origin.x, -p[2] + origin.y, p[1]]
}

/// A direction of the render frame in the scene frame.
pub fn from_render_dir(d: [f64; 3]) -> [f64; 3] {
    [d[0], -d[2], d[1]]
}

/// A point of the scene frame in the render frame (the inverse of [`from_render_point`]).
pub fn to_render_point(origin: &SceneOrigin, p: [f64; 3]) -> [f64; 3] {
    [p[0] - origin.x, p[2], -(p[1] - origin.y)]
}

#[cfg(test)]
mod tests {
    use geo_types::{LineString, MultiPolygon, Polygon};

    use super::*;
    use crate::twin::city::LayerId;
    use crate::twin::crs::Crs;
    use crate::twin::heights::HeightSource;

    /// A closed ring from corner points.
    fn ring(points: &[(f64, f64)]) -> LineString<f64> {
        let mut v: Vec<(f64, f64)> = points.to_vec();
        v.push(points[0]);
        LineString::from(v)
    }

    /// An axis-aligned square ring.
    fn square(x0: f64, y0: f64, side: f64) -> LineString<f64> {
        ring(&[(x0, y0), (x0 + side, y0), (x0 + side, y0 + side), (x0, y0 + side)])
    }

    fn building(poly: Polygon<f64>, min_h: f64, h: f64) -> Building {
        Building {
            layer: LayerId(0),
            source_id: 0,
            footprint: MultiPolygon(vec![poly]),
            height_m: h,
            min_height_m: min_h,
            height_source: HeightSource::Measured,
            name: None,
            usage: "yes".to_string(),
            attributes: Default::default(),
        }
    }

    /// A city of buildings, far from 0 like a real projected CRS.
    fn city(buildings: Vec<Building>) -> CityModel {
        let mut c = CityModel::empty(
            "t",
            Crs::Epsg(3067),
            SceneOrigin {
                x: 385_000.0,
                y: 6_672_000.0,
            },
        );
        c.buildings = buildings;
        c
    }

    const X0: f64 = 385_000.0;
    const Y0: f64 = 6_672_000.0;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn straight_down_hits_the_roof_at_camera_minus_building_height() {
        let c = city(vec![building(
            Polygon::new(square(X0, Y0, 20.0), vec![]),
            0.0,
            30.0,
        )]);
        let index = BuildingIndex::new(&c);
        assert_eq!(index.len(), 1);
        let (id, t) = index
            .pick(&c, [X0 + 10.0, Y0 + 10.0, 500.0], [0.0, 0.0, -1.0])
            .expect("hits the roof");
        assert_eq!(id, BuildingId(0));
        assert!(close(t, 470.0), "{t}");
        // Beside the building: nothing.
        assert!(
            index
                .pick(&c, [X0 + 30.0, Y0 + 10.0, 500.0], [0.0, 0.0, -1.0])
                .is_none()
        );
        // Looking up from under a raised building hits its floor.
        let raised = city(vec![building(
            Polygon::new(square(X0, Y0, 20.0), vec![]),
            10.0,
            30.0,
        )]);
        let index = BuildingIndex::new(&raised);
        let (_, t) = index
            .pick(&raised, [X0 + 10.0, Y0 + 10.0, 2.0], [0.0, 0.0, 5.0])
            .expect("hits the floor");
        assert!(close(t, 8.0), "{t}");
    }

    #[test]
    fn a_ray_through_a_courtyard_misses_the_building() {
        let poly = Polygon::new(square(X0, Y0, 60.0), vec![square(X0 + 20.0, Y0 + 20.0, 20.0)]);
        let c = city(vec![building(poly, 0.0, 15.0)]);
        let index = BuildingIndex::new(&c);
        assert!(
            index
                .pick(&c, [X0 + 30.0, Y0 + 30.0, 300.0], [0.0, 0.0, -1.0])
                .is_none()
        );
        // The ring around the courtyard is hit.
        let (_, t) = index
            .pick(&c, [X0 + 10.0, Y0 + 30.0, 300.0], [0.0, 0.0, -1.0])
            .expect("hits the ring");
        assert!(close(t, 285.0), "{t}");
        // A level ray from inside the courtyard meets its inner wall.
        let (_, t) = index
            .pick(&c, [X0 + 30.0, Y0 + 30.0, 10.0], [1.0, 0.0, 0.0])
            .expect("hits the courtyard wall");
        assert!(close(t, 10.0), "{t}");
    }

    #[test]
    fn of_two_buildings_in_line_the_nearer_is_returned() {
        let near = building(Polygon::new(square(X0 + 100.0, Y0, 10.0), vec![]), 0.0, 20.0);
        let far = building(Polygon::new(square(X0 + 200.0, Y0, 10.0), vec![]), 0.0, 40.0);
        let c = city(vec![far, near]);
        let index = BuildingIndex::new(&c);
        let (id, t) = index
            .pick(&c, [X0, Y0 + 5.0, 10.0], [1.0, 0.0, 0.0])
            .expect("hits");
        assert_eq!(id, BuildingId(1));
        assert!(close(t, 100.0), "{t}");
        // Above the near one's roof the far one is hit.
        let (id, t) = index
            .pick(&c, [X0, Y0 + 5.0, 30.0], [1.0, 0.0, 0.0])
            .expect("hits");
        assert_eq!(id, BuildingId(0));
        assert!(close(t, 200.0), "{t}");
        // Skipping the near one (hidden) also finds the far one.
        let (id, _) = index
            .pick_where(&c, [X0, Y0 + 5.0, 10.0], [1.0, 0.0, 0.0], |id| {
                id != BuildingId(1)
            })
            .expect("hits");
        assert_eq!(id, BuildingId(0));
    }

    #[test]
    fn a_horizontal_ray_hits_a_wall_at_the_right_distance() {
        // A rotated square (a diamond) centred at (X0, Y0) with corners 10 m out.
        let diamond = ring(&[(X0 + 10.0, Y0), (X0, Y0 + 10.0), (X0 - 10.0, Y0), (X0, Y0 - 10.0)]);
        let c = city(vec![building(Polygon::new(diamond, vec![]), 0.0, 12.0)]);
        let index = BuildingIndex::new(&c);
        // From the south-west along the diagonal: the wall is 5√2 m from the centre.
        let start = [X0 - 50.0, Y0 - 50.0, 6.0];
        let (id, t) = index.pick(&c, start, [1.0, 1.0, 0.0]).expect("hits the wall");
        assert_eq!(id, BuildingId(0));
        let expect = 50.0 * 2f64.sqrt() - 5.0 * 2f64.sqrt();
        assert!(close(t, expect), "{t} vs {expect}");
        // Facing away, or passing above, misses.
        assert!(index.pick(&c, start, [-1.0, -1.0, 0.0]).is_none());
        assert!(
            index
                .pick(&c, [X0 - 50.0, Y0 - 50.0, 13.0], [1.0, 1.0, 0.0])
                .is_none()
        );
        // Beyond the pick distance: nothing.
        let far = [X0 - 60_000.0, Y0 + 5.0, 6.0];
        assert!(index.pick(&c, far, [1.0, 0.0, 0.0]).is_none());
    }

    #[test]
    fn bad_rays_and_empty_cities_pick_nothing() {
        let empty = city(Vec::new());
        let index = BuildingIndex::new(&empty);
        assert!(index.is_empty());
        assert!(index.pick(&empty, [X0, Y0, 10.0], [0.0, 0.0, -1.0]).is_none());
        let c = city(vec![building(
            Polygon::new(square(X0, Y0, 20.0), vec![]),
            0.0,
            30.0,
        )]);
        let index = BuildingIndex::new(&c);
        assert!(
            index
                .pick(&c, [X0 + 1.0, Y0 + 1.0, 50.0], [0.0, 0.0, 0.0])
                .is_none()
        );
        assert!(index.pick(&c, [f64::NAN, Y0, 50.0], [0.0, 0.0, -1.0]).is_none());
    }

    #[test]
    fn render_frame_round_trips() {
        let o = SceneOrigin { x: X0, y: Y0 };
        let scene = [X0 + 12.0, Y0 - 7.0, 33.0];
        let render = to_render_point(&o, scene);
        assert_eq!(render, [12.0, 33.0, 7.0]);
        assert_eq!(from_render_point(&o, render), scene);
        // Render −z is north; render +y is up.
        assert_eq!(from_render_dir([0.0, 0.0, -1.0]), [0.0, 1.0, 0.0]);
        assert_eq!(from_render_dir([0.0, 1.0, 0.0]), [0.0, 0.0, 1.0]);
    }
}
