//! Building extrusion: footprints (scene CRS, f64) become closed, flat-shaded triangle meshes
//! in render coordinates, grouped into spatial tiles. Pure data: no Bevy type here.
//!
//! Render frame (Bevy's, Y up, right-handed): `x` = east offset from the scene origin,
//! `y` = up in metres, `z` = −(north offset). The scene origin is subtracted in f64 before
//! anything becomes f32. Every triangle is wound counter-clockwise seen from outside the
//! solid, so that its geometric normal agrees with its vertex normals (front faces outward).

use std::collections::BTreeMap;

use geo::BoundingRect;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use rayon::prelude::*;
use thiserror::Error;

use crate::twin::city::{BuildingId, CityModel};
use crate::twin::crs::SceneOrigin;
use crate::twin::progress::{Progress, Stage};

/// Consecutive ring points closer than this (metres) are merged: the edge between them
/// counts as zero-length and gets no wall.
pub const MIN_EDGE_M: f64 = 0.002;

/// Largest accepted relative difference between a polygon's triangulated roof area and
/// its ring area; a larger one means the triangulation failed (e.g. a self-intersecting ring).
pub const MAX_ROOF_AREA_ERROR: f64 = 1e-3;
/// Side of the spatial tiles buildings are grouped into, metres (the app draws one mesh
/// per tile, buildings layer and level of detail). Bigger tiles mean fewer entities for
/// the renderer to walk every frame (measured on the GPU machine, 1M buildings: 250 m
/// tiles cost 10 ms of CPU per frame, 500 m tiles 7.9 ms), smaller ones finer frustum
/// culling and level-of-detail switching.
pub const TILE_M: f64 = 1000.0;
/// Floors at or below this height (metres) are at ground level: the ground plane covers
/// them and the camera never looks at them from below, so the drawn mesh leaves them out
/// ([`TileMesh::without_ground_floors`]).
pub const GROUND_FLOOR_MAX_M: f32 = 0.01;

/// Plain mesh buffers of one spatial tile of buildings, ready to upload.
///
/// Vertices are not shared between faces of different orientation (flat shading): roof,
/// floor and every wall quad have their own vertices. `indices` is a triangle list.
#[derive(Debug, Clone, PartialEq)]
pub struct TileMesh {
    /// Tile coordinates: `floor(east / tile_m)`, `floor(north / tile_m)` relative to the
    /// scene origin.
    pub tile: (i32, i32),
    /// Vertex positions, render frame (x east, y up, z −north), metres from the origin.
    pub positions: Vec<[f32; 3]>,
    /// Unit vertex normals, render frame.
    pub normals: Vec<[f32; 3]>,
    /// Per vertex: the index of its building (in [`CityModel::buildings`] for
    /// [`extrude_city`]).
    pub building_index: Vec<u32>,
    /// Triangle list into `positions`, three indices per triangle.
    pub indices: Vec<u32>,
    /// Minimum corner of the positions' bounding box (`+∞` while empty).
    pub bbox_min: [f32; 3],
    /// Maximum corner of the positions' bounding box (`−∞` while empty).
    pub bbox_max: [f32; 3],
}

impl TileMesh {
    /// An empty mesh for a tile.
    pub fn new(tile: (i32, i32)) -> TileMesh {
        TileMesh {
            tile,
            positions: Vec::new(),
            normals: Vec::new(),
            building_index: Vec::new(),
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

    /// Appends one vertex and grows the bounding box; returns its index.
    pub(crate) fn push_vertex(&mut self, p: [f32; 3], n: [f32; 3], building: u32) -> u32 {
        let i = self.positions.len() as u32;
        for (k, v) in p.into_iter().enumerate() {
            self.bbox_min[k] = self.bbox_min[k].min(v);
            self.bbox_max[k] = self.bbox_max[k].max(v);
        }
        self.positions.push(p);
        self.normals.push(n);
        self.building_index.push(building);
        i
    }
}

/// The two levels of detail of a tile: `near` has every roof and wall (ground-level
/// floors left out), `far` one quad per roof ([`TileMesh::roof_quads`]). The app draws
/// both with one box (the union of theirs), so that they switch at exactly the same
/// camera distance.
#[derive(Debug, Clone, PartialEq)]
pub struct TileLods {
    /// Full detail, for a close camera.
    pub near: TileMesh,
    /// Roof quads only, for a far camera: a building a few pixels wide shows its roof.
    pub far: TileMesh,
}

impl TileLods {
    /// Both levels of a tile extruded by [`extrude_city`].
    pub fn of(tile: TileMesh) -> TileLods {
        let far = tile.roof_quads();
        TileLods {
            near: tile.without_ground_floors(),
            far,
        }
    }
}

/// [`TileLods::of`] for every tile, in parallel, in order.
pub fn tile_lods(tiles: Vec<TileMesh>) -> Vec<TileLods> {
    tiles.into_par_iter().map(TileLods::of).collect()
}

impl TileMesh {
    /// A mesh of the triangles for which `keep(normal, position)` of their first vertex
    /// holds (all three vertices of a flat-shaded triangle share the normal), with the
    /// vertices they use, renumbered in order, and its bounding box.
    pub fn keep_triangles(&self, keep: impl Fn([f32; 3], [f32; 3]) -> bool) -> TileMesh {
        let mut out = TileMesh::new(self.tile);
        let mut remap = vec![u32::MAX; self.positions.len()];
        for tri in self.indices.chunks_exact(3) {
            let first = tri[0] as usize;
            if !keep(self.normals[first], self.positions[first]) {
                continue;
            }
            for &v in tri {
                let v = v as usize;
                if remap[v] == u32::MAX {
                    remap[v] = out.push_vertex(self.positions[v], self.normals[v], self.building_index[v]);
                }
                out.indices.push(remap[v]);
            }
        }
        out.positions.shrink_to_fit();
        out.normals.shrink_to_fit();
        out.building_index.shrink_to_fit();
        out.indices.shrink_to_fit();
        out
    }

    /// The mesh without floors at ground level (facing down, at or below
    /// [`GROUND_FLOOR_MAX_M`]); floors of raised parts (`min_height`) stay.
    pub fn without_ground_floors(self) -> TileMesh {
        let ground_floor = |n: [f32; 3], p: [f32; 3]| n == FLOOR_NORMAL && p[1] <= GROUND_FLOOR_MAX_M;
        let any = self.indices.chunks_exact(3).any(|t| {
            let v = t[0] as usize;
            ground_floor(self.normals[v], self.positions[v])
        });
        if any {
            self.keep_triangles(|n, p| !ground_floor(n, p))
        } else {
            self
        }
    }

    /// The roofs alone: faces pointing straight up (extruded roofs) or upwards by at least
    /// [`ROOF_MIN_UP`] (sloped roofs of buildings drawn from their own surfaces).
    pub fn roofs(&self) -> TileMesh {
        self.keep_triangles(|n, _| n == ROOF_NORMAL || n[1] >= ROOF_MIN_UP)
    }

    /// The far level of detail: every roof as one quad, two triangles, whatever its shape
    /// (a real footprint's roof has as many triangles as corners, less two, and more with
    /// courtyards). The quad is the roof's smallest enclosing rotated rectangle, shrunk
    /// about the roof's centroid to the roof's area, so that from afar a district keeps
    /// its built-up share, each building where it stands, in its own colour (the quad's
    /// vertices keep the building index). A roof is one connected set of roof triangles:
    /// the parts of a multipolygon building each get their own quad. Roofs of two
    /// triangles or fewer are kept as they are, as is any roof whose rectangle cannot be
    /// found (degenerate).
    pub fn roof_quads(&self) -> TileMesh {
        let roofs = self.roofs();
        let mut out = TileMesh::new(self.tile);
        for roof in roof_components(&roofs) {
            if roof.len() > 2
                && let Some(quad) = roof_quad(&roofs, &roof)
            {
                let b = roofs.building_index[roofs.indices[roof[0] * 3] as usize];
                let v = quad.map(|p| out.push_vertex(p, ROOF_NORMAL, b));
                out.indices.extend([v[0], v[1], v[2], v[0], v[2], v[3]]);
                continue;
            }
            let mut remap: BTreeMap<u32, u32> = BTreeMap::new();
            for &t in &roof {
                for &i in &roofs.indices[t * 3..t * 3 + 3] {
                    let v = *remap.entry(i).or_insert_with(|| {
                        let k = i as usize;
                        out.push_vertex(roofs.positions[k], roofs.normals[k], roofs.building_index[k])
                    });
                    out.indices.push(v);
                }
            }
        }
        out
    }
}

/// The triangles of `roofs` grouped into connected sets (sharing vertices), each set's
/// triangle numbers in order, sets in the order of their first triangle.
fn roof_components(roofs: &TileMesh) -> Vec<Vec<usize>> {
    // Union-find over vertices.
    let mut parent: Vec<u32> = (0..roofs.positions.len() as u32).collect();
    fn root(parent: &mut [u32], mut v: u32) -> u32 {
        while parent[v as usize] != v {
            let up = parent[parent[v as usize] as usize];
            parent[v as usize] = up;
            v = up;
        }
        v
    }
    for t in roofs.indices.chunks_exact(3) {
        let a = root(&mut parent, t[0]);
        for &o in &t[1..] {
            let b = root(&mut parent, o);
            if a != b {
                parent[b as usize] = a;
            }
        }
    }
    let mut sets: Vec<Vec<usize>> = Vec::new();
    let mut set_of_root: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    for (k, t) in roofs.indices.chunks_exact(3).enumerate() {
        let r = root(&mut parent, t[0]);
        let n = sets.len();
        let s = *set_of_root.entry(r).or_insert(n);
        if s == n {
            sets.push(Vec::new());
        }
        sets[s].push(k);
    }
    sets
}

/// The four corners (counter-clockwise seen from above, at the roof's height) of the quad
/// standing for the roof made of triangles `tris` of `roofs`; `None` when the roof has no
/// area or no enclosing rectangle.
fn roof_quad(roofs: &TileMesh, tris: &[usize]) -> Option<[[f32; 3]; 4]> {
    use geo::{MinimumRotatedRect, MultiPoint, Point};
    // Plan coordinates (x, z) in f64; area and centroid from the triangles.
    let mut area = 0.0;
    let (mut cx, mut cz) = (0.0, 0.0);
    let mut y = f32::NEG_INFINITY;
    let mut points = Vec::with_capacity(tris.len() + 2);
    for &t in tris {
        let [a, b, c] = [0, 1, 2].map(|k| roofs.positions[roofs.indices[t * 3 + k] as usize]);
        let (ax, az) = (a[0] as f64, a[2] as f64);
        let (bx, bz) = (b[0] as f64, b[2] as f64);
        let (qx, qz) = (c[0] as f64, c[2] as f64);
        let w = ((bx - ax) * (qz - az) - (bz - az) * (qx - ax)).abs() / 2.0;
        area += w;
        cx += w * (ax + bx + qx) / 3.0;
        cz += w * (az + bz + qz) / 3.0;
        for p in [a, b, c] {
            y = y.max(p[1]);
            points.push(Point::new(p[0] as f64, p[2] as f64));
        }
    }
    if !(area > 0.0 && area.is_finite() && y.is_finite()) {
        return None;
    }
    let (cx, cz) = (cx / area, cz / area);
    let rect = MultiPoint(points).minimum_rotated_rect()?;
    let c: Vec<(f64, f64)> = rect.exterior().0.iter().take(4).map(|p| (p.x, p.y)).collect();
    if c.len() < 4 {
        return None;
    }
    // Axes and half sides of the rectangle.
    let (ux, uz) = (c[1].0 - c[0].0, c[1].1 - c[0].1);
    let (vx, vz) = (c[3].0 - c[0].0, c[3].1 - c[0].1);
    let (lu, lv) = (ux.hypot(uz), vx.hypot(vz));
    let rect_area = lu * lv;
    if !(rect_area > 0.0 && rect_area.is_finite()) {
        return None;
    }
    let s = (area / rect_area).sqrt().min(1.0);
    let (mx, mz) = ((c[0].0 + c[2].0) / 2.0, (c[0].1 + c[2].1) / 2.0);
    let (ux, uz, vx, vz) = (ux / lu, uz / lu, vx / lv, vz / lv);
    // The centroid in the rectangle's frame, kept where the shrunk quad stays inside.
    let (du, dv) = ((cx - mx) * ux + (cz - mz) * uz, (cx - mx) * vx + (cz - mz) * vz);
    let (hu, hv) = (lu / 2.0 * s, lv / 2.0 * s);
    let du = du.clamp(-(lu / 2.0 - hu), lu / 2.0 - hu);
    let dv = dv.clamp(-(lv / 2.0 - hv), lv / 2.0 - hv);
    let (ox, oz) = (mx + du * ux + dv * vx, mz + du * uz + dv * vz);
    let mut quad = [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)].map(|(a, b)| {
        [
            (ox + a * hu * ux + b * hv * vx) as f32,
            y,
            (oz + a * hu * uz + b * hv * vz) as f32,
        ]
    });
    // Face up: the y component of the first two edges' cross product, z1·x2 − x1·z2,
    // must be positive.
    let e1 = (quad[1][0] - quad[0][0], quad[1][2] - quad[0][2]);
    let e2 = (quad[2][0] - quad[0][0], quad[2][2] - quad[0][2]);
    if e1.1 * e2.0 - e1.0 * e2.1 < 0.0 {
        quad.swap(1, 3);
    }
    Some(quad)
}

/// Smallest up component of a unit normal for a face to count as roof in the far level
/// of detail (about 72° of slope at most): sloped roofs count, walls (0) never do.
pub const ROOF_MIN_UP: f32 = 0.3;

/// Normal of roofs (render frame, y up).
const ROOF_NORMAL: [f32; 3] = [0.0, 1.0, 0.0];
/// Normal of floors.
const FLOOR_NORMAL: [f32; 3] = [0.0, -1.0, 0.0];

/// Why a building was not extruded.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ExtrudeError {
    /// The footprint is empty or every ring is degenerate (collinear or too small).
    #[error("footprint has no area")]
    NoArea,
    /// A footprint coordinate is NaN or infinite (or too far from the origin for f32).
    #[error("footprint has a non-finite coordinate")]
    NonFinite,
    /// The top is not above the bottom (or either is not finite).
    #[error("height {height_m} m is not above min height {min_height_m} m")]
    BadHeight {
        /// Bottom, metres.
        min_height_m: f64,
        /// Top, metres.
        height_m: f64,
    },
    /// Earcut failed, or its triangles do not cover the polygon (self-intersecting ring).
    #[error("roof triangulation failed: {0}")]
    Triangulation(String),
}

/// What [`extrude_city`] did: buildings extruded and skipped by reason, and mesh totals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtrudeReport {
    /// Buildings extruded (or drawn from their own surfaces).
    pub buildings: usize,
    /// Of those, buildings drawn from their own 3D surfaces ([`crate::twin::solid`]).
    pub from_surfaces: usize,
    /// Skipped: footprint without area.
    pub skipped_no_area: usize,
    /// Skipped: non-finite coordinate.
    pub skipped_non_finite: usize,
    /// Skipped: height not above min height.
    pub skipped_bad_height: usize,
    /// Skipped: triangulation failed.
    pub skipped_triangulation: usize,
    /// The skipped buildings, in index order.
    pub skipped_ids: Vec<BuildingId>,
    /// Tiles with at least one building.
    pub tiles: usize,
    /// Triangles in all tiles.
    pub triangles: usize,
    /// Vertices in all tiles.
    pub vertices: usize,
}

impl ExtrudeReport {
    /// Buildings skipped, all reasons together.
    pub fn skipped(&self) -> usize {
        self.skipped_no_area + self.skipped_non_finite + self.skipped_bad_height + self.skipped_triangulation
    }

    /// Counts one skipped building.
    pub fn record(&mut self, id: BuildingId, error: &ExtrudeError) {
        match error {
            ExtrudeError::NoArea => self.skipped_no_area += 1,
            ExtrudeError::NonFinite => self.skipped_non_finite += 1,
            ExtrudeError::BadHeight { .. } => self.skipped_bad_height += 1,
            ExtrudeError::Triangulation(_) => self.skipped_triangulation += 1,
        }
        self.skipped_ids.push(id);
    }

    /// Adds another report's counts to this one.
    fn merge(&mut self, other: ExtrudeReport) {
        self.buildings += other.buildings;
        self.from_surfaces += other.from_surfaces;
        self.skipped_no_area += other.skipped_no_area;
        self.skipped_non_finite += other.skipped_non_finite;
        self.skipped_bad_height += other.skipped_bad_height;
        self.skipped_triangulation += other.skipped_triangulation;
        self.skipped_ids.extend(other.skipped_ids);
        self.tiles += other.tiles;
        self.triangles += other.triangles;
        self.vertices += other.vertices;
    }
}

/// One ring point: `p` in render coordinates (east, north) as [`SceneOrigin::local`] gives
/// them (origin subtracted in f64, then f32), and `t` the same f32 values as f64, translated
/// so that the polygon's minimum is exactly 0: the coordinates handed to earcut.
///
/// Triangulating the f32 values themselves (exactly, in f64) means earcut's orientation
/// decisions are those of the rendered geometry: no sliver turns over in f32.
#[derive(Debug, Clone, Copy)]
struct RingPt {
    t: [f64; 2],
    p: [f32; 2],
}

/// A cleaned polygon: exterior counter-clockwise, holes clockwise (east/north plane), no
/// closing vertex, no zero-length edge, no exactly collinear vertex.
struct CleanPolygon {
    rings: Vec<Vec<RingPt>>,
}

/// Twice the signed area of the triangle `p q r`, counter-clockwise positive, written as
/// earcut writes it (negated) so that exact zeros agree bit for bit.
fn earcut_area(p: [f64; 2], q: [f64; 2], r: [f64; 2]) -> f64 {
    (q[1] - p[1]) * (r[0] - q[0]) - (q[0] - p[0]) * (r[1] - q[1])
}

/// Twice the signed area of the triangle `p q r` of f32 points, counter-clockwise positive.
/// Differences of f32 values and their products are exact in f64, so the sign is exact.
fn orient_f32(p: [f32; 2], q: [f32; 2], r: [f32; 2]) -> f64 {
    let d = |a: f32, b: f32| a as f64 - b as f64;
    d(q[0], p[0]) * d(r[1], p[1]) - d(q[1], p[1]) * d(r[0], p[0])
}

/// Twice the signed area of a ring (shoelace), counter-clockwise positive.
fn ring_area2(ring: &[RingPt]) -> f64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let a = ring[i].t;
            let b = ring[(i + 1) % n].t;
            a[0] * b[1] - b[0] * a[1]
        })
        .sum()
}

fn near(a: &RingPt, b: &RingPt) -> bool {
    let (dx, dy) = (a.t[0] - b.t[0], a.t[1] - b.t[1]);
    dx * dx + dy * dy < MIN_EDGE_M * MIN_EDGE_M
}

/// Drops a closing vertex, points within [`MIN_EDGE_M`] of their predecessor and exactly
/// collinear points (spikes included), until none is left; empty when under 3 points remain.
fn clean_ring(mut v: Vec<RingPt>) -> Vec<RingPt> {
    loop {
        let before = v.len();
        let mut out: Vec<RingPt> = Vec::with_capacity(v.len());
        for p in v {
            if out.last().is_none_or(|q| !near(q, &p)) {
                out.push(p);
            }
        }
        while out.len() >= 2 && near(&out[out.len() - 1], &out[0]) {
            out.pop();
        }
        let mut i = 0;
        while out.len() >= 3 && i < out.len() {
            let n = out.len();
            let (a, b, c) = (out[(i + n - 1) % n].t, out[i].t, out[(i + 1) % n].t);
            if earcut_area(a, b, c) == 0.0 {
                out.remove(i);
                i = i.saturating_sub(1);
            } else {
                i += 1;
            }
        }
        if out.len() < 3 {
            return Vec::new();
        }
        if out.len() == before {
            return out;
        }
        v = out;
    }
}

/// Cleans and orients one polygon's rings; `None` when the polygon has no area (degenerate
/// exterior, or holes covering it).
///
/// The coordinates handed to earcut are translated so that their minimum is exactly
/// (0, 0): earcut then translates by zero (it does for 40 points and more), and its own
/// exact collinearity tests see the same numbers as ours, so it removes no vertex that the
/// walls keep (which would leave a crack).
fn clean_polygon(poly: &Polygon<f64>, origin: &SceneOrigin) -> Option<CleanPolygon> {
    let ring_pts = |ls: &LineString<f64>| -> Vec<RingPt> {
        ls.0.iter()
            .map(|&c: &Coord<f64>| RingPt {
                t: origin.local(c).map(f64::from),
                p: origin.local(c),
            })
            .collect()
    };
    let mut rings: Vec<Vec<RingPt>> = std::iter::once(poly.exterior())
        .chain(poly.interiors())
        .map(ring_pts)
        .collect();
    for _ in 0..8 {
        rings = rings
            .into_iter()
            .enumerate()
            .filter_map(|(k, r)| {
                let r = clean_ring(r);
                (k == 0 || !r.is_empty()).then_some(r)
            })
            .collect();
        if rings[0].is_empty() {
            return None;
        }
        let mut min = [f64::INFINITY; 2];
        for p in rings.iter().flatten() {
            min = [min[0].min(p.t[0]), min[1].min(p.t[1])];
        }
        if min == [0.0, 0.0] {
            break;
        }
        for p in rings.iter_mut().flatten() {
            p.t = [p.t[0] - min[0], p.t[1] - min[1]];
        }
    }
    for (k, r) in rings.iter_mut().enumerate() {
        let a = ring_area2(r);
        if (k == 0 && a < 0.0) || (k > 0 && a > 0.0) {
            r.reverse();
        }
    }
    // Holes with no area of their own add nothing.
    let mut k = 1;
    while k < rings.len() {
        if ring_area2(&rings[k]) == 0.0 {
            rings.remove(k);
        } else {
            k += 1;
        }
    }
    let outer = ring_area2(&rings[0]);
    let holes: f64 = rings[1..].iter().map(|r| ring_area2(r).abs()).sum();
    if outer <= 0.0 || outer - holes <= 0.0 {
        return None;
    }
    Some(CleanPolygon { rings })
}

/// Triangulates a cleaned polygon: indices into its rings' concatenated points, each
/// triangle counter-clockwise in the east/north plane of the f32 render positions.
fn triangulate(poly: &CleanPolygon) -> Result<Vec<[usize; 3]>, ExtrudeError> {
    let pts: Vec<[f64; 2]> = poly.rings.iter().flatten().map(|p| p.t).collect();
    let render: Vec<[f32; 2]> = poly.rings.iter().flatten().map(|p| p.p).collect();
    let flat: Vec<f64> = pts.iter().flatten().copied().collect();
    let mut holes = Vec::with_capacity(poly.rings.len().saturating_sub(1));
    let mut start = 0;
    for r in &poly.rings[..poly.rings.len() - 1] {
        start += r.len();
        holes.push(start);
    }
    let idx = earcutr::earcut(&flat, &holes, 2).map_err(|e| ExtrudeError::Triangulation(e.to_string()))?;
    if idx.len() % 3 != 0 || idx.iter().any(|&i| i >= pts.len()) {
        return Err(ExtrudeError::Triangulation(
            "earcut returned invalid indices".into(),
        ));
    }
    let mut tris = Vec::with_capacity(idx.len() / 3);
    let mut area2 = 0.0;
    for t in idx.chunks_exact(3) {
        let (a, b, c) = (t[0], t[1], t[2]);
        // Counter-clockwise (east/north) is front face up: z = −north flips the handedness
        // of the horizontal plane back, so (b−a)×(c−a) then points to +Y. Orient by the f32
        // render positions (exactly): they agree with earcut's coordinates unless the
        // translation rounded, and decide what the GPU will cull.
        let ccw2 = -earcut_area(pts[a], pts[b], pts[c]);
        area2 += ccw2.abs();
        let render2 = orient_f32(render[a], render[b], render[c]);
        let ccw = if render2 != 0.0 {
            render2 > 0.0
        } else {
            ccw2 >= 0.0
        };
        tris.push(if ccw { [a, b, c] } else { [a, c, b] });
    }
    // Exterior minus holes (positive: checked by `clean_polygon`).
    let expected2: f64 =
        ring_area2(&poly.rings[0]) - poly.rings[1..].iter().map(|r| ring_area2(r).abs()).sum::<f64>();
    if ((area2 - expected2) / expected2).abs() > MAX_ROOF_AREA_ERROR {
        return Err(ExtrudeError::Triangulation(format!(
            "triangles cover {:.3} m² of {:.3} m²",
            area2 / 2.0,
            expected2 / 2.0
        )));
    }
    Ok(tris)
}

/// A flat triangulation: ring points (east, north) and triangles of indices into them.
pub type FlatTriangles = (Vec<[f32; 2]>, Vec<[usize; 3]>);

/// Triangulates one polygon flat, for ground fills: the cleaned ring points (east, north,
/// render f32, origin subtracted) and triangles into them, each counter-clockwise seen from
/// above (front face up). `Ok(None)` when the polygon has no area; non-finite coordinates
/// and failed triangulations are errors, as for roofs.
pub fn triangulate_flat(
    poly: &Polygon<f64>,
    origin: &SceneOrigin,
) -> Result<Option<FlatTriangles>, ExtrudeError> {
    let finite =
        |c: &Coord<f64>| c.x.is_finite() && c.y.is_finite() && origin.local(*c).iter().all(|v| v.is_finite());
    let rings = std::iter::once(poly.exterior()).chain(poly.interiors());
    if !rings.flat_map(|r| r.0.iter()).all(finite) {
        return Err(ExtrudeError::NonFinite);
    }
    let Some(clean) = clean_polygon(poly, origin) else {
        return Ok(None);
    };
    let tris = triangulate(&clean)?;
    let pts = clean.rings.iter().flatten().map(|p| p.p).collect();
    Ok(Some((pts, tris)))
}

/// Extrusion of one building into a [`TileMesh`]-like buffer (appends); returns what was
/// skipped, if anything.
///
/// Every polygon of `footprint` becomes a closed solid: a roof at `height_m` (earcut of
/// the exterior with its holes, normal +Y), a floor at `min_height_m` (normal −Y) and one
/// quad per ring edge for the walls (own vertices, horizontal normal pointing out of the
/// solid: into the courtyard for a hole). Polygons whose exterior is degenerate are left
/// out; when nothing is left the building is an error and `out` is unchanged, as it is on
/// any error. Every vertex carries `index`.
pub fn extrude_building(
    out: &mut TileMesh,
    index: u32,
    footprint: &MultiPolygon<f64>,
    min_height_m: f64,
    height_m: f64,
    origin: &SceneOrigin,
) -> Result<(), ExtrudeError> {
    if !(min_height_m.is_finite() && height_m.is_finite() && height_m > min_height_m) {
        return Err(ExtrudeError::BadHeight {
            min_height_m,
            height_m,
        });
    }
    let finite =
        |c: &Coord<f64>| c.x.is_finite() && c.y.is_finite() && origin.local(*c).iter().all(|v| v.is_finite());
    for poly in footprint {
        let rings = std::iter::once(poly.exterior()).chain(poly.interiors());
        if !rings.flat_map(|r| r.0.iter()).all(finite) {
            return Err(ExtrudeError::NonFinite);
        }
    }
    let mut parts = Vec::with_capacity(footprint.0.len());
    for poly in footprint {
        if let Some(clean) = clean_polygon(poly, origin) {
            let tris = triangulate(&clean)?;
            parts.push((clean, tris));
        }
    }
    if parts.is_empty() {
        return Err(ExtrudeError::NoArea);
    }

    let (top, bottom) = (height_m as f32, min_height_m as f32);
    for (clean, tris) in &parts {
        let pts: Vec<[f32; 2]> = clean.rings.iter().flatten().map(|p| p.p).collect();
        // Roof, front face up.
        let base = out.positions.len() as u32;
        for p in &pts {
            out.push_vertex([p[0], top, -p[1]], ROOF_NORMAL, index);
        }
        for t in tris {
            out.indices.extend(t.iter().map(|&i| base + i as u32));
        }
        // Floor, front face down.
        let base = out.positions.len() as u32;
        for p in &pts {
            out.push_vertex([p[0], bottom, -p[1]], FLOOR_NORMAL, index);
        }
        for t in tris {
            out.indices
                .extend([t[0], t[2], t[1]].iter().map(|&i| base + i as u32));
        }
        // Walls: the solid is on the left of every (oriented) ring edge.
        for ring in &clean.rings {
            let n = ring.len();
            for i in 0..n {
                let (a, b) = (ring[i], ring[(i + 1) % n]);
                let (de, dn) = (b.t[0] - a.t[0], b.t[1] - a.t[1]);
                let len = (de * de + dn * dn).sqrt();
                if len == 0.0 || a.p == b.p {
                    continue;
                }
                // Right of travel in east/north is (dn, −de); in the render frame (x, y, z)
                // = (east, up, −north) that is (dn, 0, de).
                let normal = [(dn / len) as f32, 0.0, (de / len) as f32];
                let v0 = out.push_vertex([a.p[0], bottom, -a.p[1]], normal, index);
                let v1 = out.push_vertex([b.p[0], bottom, -b.p[1]], normal, index);
                let v2 = out.push_vertex([b.p[0], top, -b.p[1]], normal, index);
                let v3 = out.push_vertex([a.p[0], top, -a.p[1]], normal, index);
                out.indices.extend([v0, v1, v2, v0, v2, v3]);
            }
        }
    }
    Ok(())
}

/// The tile of a building: by the centre of its footprint's bounding box.
fn tile_of(
    footprint: &MultiPolygon<f64>,
    origin: &SceneOrigin,
    tile_m: f64,
) -> Result<(i32, i32), ExtrudeError> {
    let Some(r) = footprint.bounding_rect() else {
        return Err(ExtrudeError::NoArea);
    };
    let c = r.center();
    if !(c.x.is_finite() && c.y.is_finite()) {
        return Err(ExtrudeError::NonFinite);
    }
    if !(tile_m.is_finite() && tile_m > 0.0) {
        return Ok((0, 0));
    }
    // `as` saturates: absurdly far buildings land in the edge tiles.
    Ok((
        ((c.x - origin.x) / tile_m).floor() as i32,
        ((c.y - origin.y) / tile_m).floor() as i32,
    ))
}

/// All buildings into tiles of `tile_m` metres (by the centre of each footprint's bounding
/// box, relative to the scene origin), in parallel with rayon; buildings that fail are
/// counted, never panicking. A non-positive or non-finite `tile_m` puts everything in
/// tile (0, 0). Tiles come sorted by tile coordinates; tiles without a building are left
/// out. `building_index` holds indices into `city.buildings`.
pub fn extrude_city(city: &CityModel, tile_m: f64) -> (Vec<TileMesh>, ExtrudeReport) {
    extrude_city_with(city, tile_m, &Progress::default())
}

/// [`extrude_city`], counting tiles meshed in `progress` (stage [`Stage::Meshing`]).
pub fn extrude_city_with(
    city: &CityModel,
    tile_m: f64,
    progress: &Progress,
) -> (Vec<TileMesh>, ExtrudeReport) {
    let mut report = ExtrudeReport::default();
    let mut groups: BTreeMap<(i32, i32), Vec<usize>> = BTreeMap::new();
    for (i, b) in city.buildings.iter().enumerate() {
        match tile_of(&b.footprint, &city.origin, tile_m) {
            Ok(t) => groups.entry(t).or_default().push(i),
            Err(e) => report.record(BuildingId(i as u32), &e),
        }
    }
    let groups: Vec<((i32, i32), Vec<usize>)> = groups.into_iter().collect();
    progress.begin(Stage::Meshing, groups.len() as u64);
    let done: Vec<(TileMesh, ExtrudeReport)> = groups
        .into_par_iter()
        .map(|(tile, members)| {
            let mut mesh = TileMesh::new(tile);
            let mut rep = ExtrudeReport::default();
            for i in members {
                let b = &city.buildings[i];
                // A building with its own surfaces is drawn from them while it has the
                // height they were read with; extruded when that fails.
                if let Some(solid) = city.solids.get(&BuildingId(i as u32))
                    && solid.fits(b)
                    && crate::twin::solid::mesh_solid(&mut mesh, i as u32, solid, &city.origin).is_ok()
                {
                    rep.buildings += 1;
                    rep.from_surfaces += 1;
                    continue;
                }
                match extrude_building(
                    &mut mesh,
                    i as u32,
                    &b.footprint,
                    b.min_height_m,
                    b.height_m,
                    &city.origin,
                ) {
                    Ok(()) => rep.buildings += 1,
                    Err(e) => rep.record(BuildingId(i as u32), &e),
                }
            }
            // The buffers live until upload (and in the app beyond): no spare capacity.
            mesh.positions.shrink_to_fit();
            mesh.normals.shrink_to_fit();
            mesh.building_index.shrink_to_fit();
            mesh.indices.shrink_to_fit();
            progress.advance(1);
            (mesh, rep)
        })
        .collect();
    let mut tiles = Vec::with_capacity(done.len());
    for (mesh, rep) in done {
        report.merge(rep);
        if !mesh.is_empty() {
            report.tiles += 1;
            report.triangles += mesh.triangle_count();
            report.vertices += mesh.vertex_count();
            tiles.push(mesh);
        }
    }
    report.skipped_ids.sort_unstable();
    (tiles, report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::Path;

    use geo::Area;
    use geo_types::{Geometry, polygon};

    use crate::twin::city::{Building, LayerId};
    use crate::twin::crs::Crs;
    use crate::twin::gis::layer::LayerKind;
    use crate::twin::heights::HeightSource;

    fn sub(a: [f32; 3], b: [f32; 3]) -> [f64; 3] {
        [
            a[0] as f64 - b[0] as f64,
            a[1] as f64 - b[1] as f64,
            a[2] as f64 - b[2] as f64,
        ]
    }

    fn cross(u: [f64; 3], v: [f64; 3]) -> [f64; 3] {
        [
            u[1] * v[2] - u[2] * v[1],
            u[2] * v[0] - u[0] * v[2],
            u[0] * v[1] - u[1] * v[0],
        ]
    }

    fn dot(u: [f64; 3], v: [f32; 3]) -> f64 {
        u[0] * v[0] as f64 + u[1] * v[1] as f64 + u[2] * v[2] as f64
    }

    fn norm(u: [f64; 3]) -> f64 {
        (u[0] * u[0] + u[1] * u[1] + u[2] * u[2]).sqrt()
    }

    /// Geometric normal (not normalised, length = twice the area) of triangle `t`.
    fn tri_cross(m: &TileMesh, t: &[u32]) -> [f64; 3] {
        let [a, b, c] = [0, 1, 2].map(|k| m.positions[t[k] as usize]);
        cross(sub(b, a), sub(c, a))
    }

    fn extrude(mp: &MultiPolygon<f64>, min: f64, h: f64) -> TileMesh {
        let mut m = TileMesh::new((0, 0));
        extrude_building(&mut m, 7, mp, min, h, &SceneOrigin::default()).expect("extrudes");
        m
    }

    /// Area of the triangles facing up whose vertices all lie at height `y`.
    fn roof_area(m: &TileMesh, y: f32) -> f64 {
        m.indices
            .chunks_exact(3)
            .filter(|t| t.iter().all(|&i| m.positions[i as usize][1] == y))
            .map(|t| tri_cross(m, t))
            .filter(|c| c[1] > 0.0)
            .map(|c| norm(c) / 2.0)
            .sum()
    }

    /// Vertex ids after welding positions rounded to millimetres.
    fn weld(m: &TileMesh) -> Vec<usize> {
        let mut ids: HashMap<[i64; 3], usize> = HashMap::new();
        m.positions
            .iter()
            .map(|p| {
                let key = p.map(|v| (v as f64 * 1000.0).round() as i64);
                let n = ids.len();
                *ids.entry(key).or_insert(n)
            })
            .collect()
    }

    /// A triangle's welded vertex ids; fails if it collapsed.
    fn welded_triangle(welded: &[usize], t: &[u32], what: &str) -> [usize; 3] {
        let w = [0, 1, 2].map(|k| welded[t[k] as usize]);
        assert!(
            w[0] != w[1] && w[1] != w[2] && w[0] != w[2],
            "{what}: collapsed triangle {t:?}"
        );
        w
    }

    /// Welds vertices by position rounded to millimetres; every undirected edge must be
    /// shared by exactly two triangles, and no triangle may collapse.
    fn assert_watertight(m: &TileMesh, what: &str) {
        let welded = weld(m);
        let mut edges: HashMap<(usize, usize), usize> = HashMap::new();
        for t in m.indices.chunks_exact(3) {
            let w = welded_triangle(&welded, t, what);
            for k in 0..3 {
                let (a, b) = (w[k], w[(k + 1) % 3]);
                *edges.entry((a.min(b), a.max(b))).or_default() += 1;
            }
        }
        let bad: Vec<_> = edges.iter().filter(|(_, n)| **n != 2).collect();
        assert!(
            bad.is_empty(),
            "{what}: {} of {} edges not shared by exactly two triangles, e.g. {:?}",
            bad.len(),
            edges.len(),
            &bad[..bad.len().min(5)]
        );
    }

    /// Welds vertices by position rounded to millimetres; every directed edge must be used
    /// as often as its reverse (a closed, consistently oriented surface, also when parts of
    /// one footprint touch along an edge), and no triangle may collapse.
    fn assert_closed_oriented(m: &TileMesh, what: &str) {
        let welded = weld(m);
        let mut balance: HashMap<(usize, usize), i64> = HashMap::new();
        for t in m.indices.chunks_exact(3) {
            let w = welded_triangle(&welded, t, what);
            for k in 0..3 {
                let (a, b) = (w[k], w[(k + 1) % 3]);
                *balance.entry((a.min(b), a.max(b))).or_default() += if a < b { 1 } else { -1 };
            }
        }
        let open = balance.values().filter(|v| **v != 0).count();
        assert_eq!(open, 0, "{what}: {open} edges not matched by a reverse edge");
    }

    /// Every triangle's geometric normal agrees with its vertices' normals.
    fn assert_front_faces_out(m: &TileMesh) {
        for t in m.indices.chunks_exact(3) {
            let c = tri_cross(m, t);
            for &i in t {
                let n = m.normals[i as usize];
                assert!(dot(c, n) > 0.0, "triangle {t:?} normal {c:?} against {n:?}");
            }
        }
    }

    fn square(x0: f64, y0: f64, s: f64) -> LineString<f64> {
        LineString::from(vec![
            (x0, y0),
            (x0 + s, y0),
            (x0 + s, y0 + s),
            (x0, y0 + s),
            (x0, y0),
        ])
    }

    fn courtyard() -> MultiPolygon<f64> {
        // Exterior clockwise and hole counter-clockwise on purpose: orientation is ours to fix.
        let mut outer = square(0.0, 0.0, 20.0);
        outer.0.reverse();
        MultiPolygon(vec![Polygon::new(outer, vec![square(6.0, 5.0, 8.0)])])
    }

    fn l_shape() -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: 0.0, y: 0.0), (x: 30.0, y: 0.0), (x: 30.0, y: 10.0),
            (x: 10.0, y: 10.0), (x: 10.0, y: 25.0), (x: 0.0, y: 25.0),
        ]])
    }

    #[test]
    fn unit_square_counts_areas_and_normals() {
        let mp = MultiPolygon(vec![Polygon::new(square(0.0, 0.0, 10.0), vec![])]);
        let m = extrude(&mp, 0.0, 5.0);
        assert_eq!(m.triangle_count(), 2 + 2 + 8);
        assert_eq!(m.vertex_count(), 4 + 4 + 16);
        assert!(m.building_index.iter().all(|&b| b == 7));
        assert_eq!(m.normals.len(), m.positions.len());
        assert!((roof_area(&m, 5.0) - 100.0).abs() < 1e-9);
        assert_eq!(m.bbox_min, [0.0, 0.0, -10.0]);
        assert_eq!(m.bbox_max, [10.0, 5.0, 0.0]);
        // East/north (5, 5) is (5, −5) in x/z.
        let centroid = [5.0f64, -5.0];
        let mut walls = 0;
        for (p, n) in m.positions.iter().zip(&m.normals) {
            if n[1] == 0.0 {
                walls += 1;
                let away = [p[0] as f64 - centroid[0], p[2] as f64 - centroid[1]];
                assert!(away[0] * n[0] as f64 + away[1] * n[2] as f64 > 0.0, "{p:?} {n:?}");
                assert!((n[0].hypot(n[2]) - 1.0).abs() < 1e-6);
            } else {
                assert!(n[1] == 1.0 && p[1] == 5.0 || n[1] == -1.0 && p[1] == 0.0);
            }
        }
        assert_eq!(walls, 16);
        assert_front_faces_out(&m);
        assert_watertight(&m, "square");
        assert_closed_oriented(&m, "square");
    }

    #[test]
    fn levels_of_detail_drop_ground_floors_near_and_walls_far() {
        let mp = l_shape();
        let m = extrude(&mp, 0.0, 12.0);
        let roof = roof_area(&m, 12.0);
        let lods = TileLods::of(m.clone());
        // Near: roof and walls, no floor; the same roof and every wall triangle.
        assert_eq!(lods.near.triangle_count(), m.triangle_count() - 4);
        assert_eq!(lods.near.vertex_count(), m.vertex_count() - 6);
        assert!(lods.near.normals.iter().all(|n| n[1] >= 0.0));
        assert!((roof_area(&lods.near, 12.0) - roof).abs() < 1e-9);
        assert_eq!((lods.near.bbox_min, lods.near.bbox_max), (m.bbox_min, m.bbox_max));
        // Far: the roof as one quad, four vertices, two triangles, the same area.
        assert_eq!(lods.far.triangle_count(), 2);
        assert_eq!(lods.far.vertex_count(), 4);
        assert!(lods.far.normals.iter().all(|n| *n == ROOF_NORMAL));
        assert!((roof_area(&lods.far, 12.0) - roof).abs() < 1e-3 * roof, "{roof}");
        assert_eq!(lods.far.bbox_min[1], 12.0);
        assert!(
            lods.far
                .indices
                .iter()
                .all(|&i| (i as usize) < lods.far.vertex_count())
        );
        assert!(lods.far.building_index.iter().all(|&b| b == 7));
    }

    /// Centroid (x, z) of the up-facing triangles of `m`, weighted by area.
    fn roof_centroid(m: &TileMesh) -> (f64, f64) {
        let (mut a, mut x, mut z) = (0.0, 0.0, 0.0);
        for t in m.indices.chunks_exact(3) {
            let c = tri_cross(m, t);
            if c[1] <= 0.0 {
                continue;
            }
            let w = norm(c) / 2.0;
            let p = [0, 1, 2].map(|k| m.positions[t[k] as usize]);
            a += w;
            x += w * p.iter().map(|q| q[0] as f64).sum::<f64>() / 3.0;
            z += w * p.iter().map(|q| q[2] as f64).sum::<f64>() / 3.0;
        }
        (x / a, z / a)
    }

    #[test]
    fn far_roofs_are_quads_of_the_same_area_over_the_building() {
        let rotated_l = {
            let (s, c) = 0.5f64.sin_cos();
            let turn = |p: &Coord<f64>| Coord {
                x: 300.0 + p.x * c - p.y * s,
                y: 40.0 + p.x * s + p.y * c,
            };
            let l = l_shape();
            let ring: Vec<Coord<f64>> = l.0[0].exterior().0.iter().map(turn).collect();
            MultiPolygon(vec![Polygon::new(LineString(ring), vec![])])
        };
        for (what, mp) in [
            ("L", l_shape()),
            ("courtyard", courtyard()),
            ("rotated L", rotated_l),
        ] {
            let m = extrude(&mp, 0.0, 9.0);
            let roofs = m.roofs();
            assert!(roofs.triangle_count() > 2, "{what}");
            let far = m.roof_quads();
            assert_eq!(far.triangle_count(), 2, "{what}");
            assert_eq!(far.vertex_count(), 4, "{what}");
            assert!(far.positions.iter().all(|p| p[1] == 9.0), "{what}");
            assert!(far.building_index.iter().all(|&b| b == 7), "{what}");
            let (want, got) = (roof_area(&roofs, 9.0), roof_area(&far, 9.0));
            assert!((want - got).abs() < 1e-3 * want, "{what}: area {got} for {want}");
            for t in far.indices.chunks_exact(3) {
                assert!(tri_cross(&far, t)[1] > 0.0, "{what}: a far triangle faces down");
            }
            // The quad sits over the building: its centre within a few metres of the roof's
            // centroid, inside the roof's bounding box.
            let (cx, cz) = roof_centroid(&roofs);
            let (qx, qz) = roof_centroid(&far);
            assert!(
                (cx - qx).hypot(cz - qz) < 3.0,
                "{what}: ({qx}, {qz}) for ({cx}, {cz})"
            );
            assert!(
                qx > roofs.bbox_min[0] as f64 && qx < roofs.bbox_max[0] as f64,
                "{what}"
            );
        }
        // A plain rectangle is its own quad: the very same corners.
        let m = extrude(
            &MultiPolygon(vec![Polygon::new(square(10.0, 20.0, 10.0), vec![])]),
            0.0,
            5.0,
        );
        let (roofs, far) = (m.roofs(), m.roof_quads());
        assert_eq!(roofs, far);
    }

    #[test]
    fn each_part_of_a_building_gets_its_own_far_quad() {
        let mut l = l_shape();
        let moved: Vec<Coord<f64>> = l.0[0]
            .exterior()
            .0
            .iter()
            .map(|p| Coord {
                x: p.x + 100.0,
                y: p.y,
            })
            .collect();
        l.0.push(Polygon::new(LineString(moved), vec![]));
        let m = extrude(&l, 0.0, 6.0);
        let far = m.roof_quads();
        assert_eq!(far.triangle_count(), 4);
        let want = roof_area(&m, 6.0);
        assert!((roof_area(&far, 6.0) - want).abs() < 1e-3 * want);
        // No quad bridges the 100 m between the parts: every far triangle is small.
        for t in far.indices.chunks_exact(3) {
            assert!(norm(tri_cross(&far, t)) / 2.0 < want / 2.0);
        }
    }

    #[test]
    fn raised_floors_stay_near() {
        // A part on stilts (min height 3 m) shows its floor from below.
        let m = extrude(&l_shape(), 3.0, 12.0);
        let near = m.clone().without_ground_floors();
        assert_eq!(near, m);
        assert_watertight(&near, "raised L");
    }

    #[test]
    fn roof_faces_up_whatever_the_input_orientation() {
        let mut ring = square(100.0, 200.0, 10.0);
        ring.0.reverse();
        let m = extrude(&MultiPolygon(vec![Polygon::new(ring, vec![])]), 2.0, 8.0);
        assert_front_faces_out(&m);
        // A roof triangle's cross product points up.
        let roof = m
            .indices
            .chunks_exact(3)
            .find(|t| m.normals[t[0] as usize] == [0.0, 1.0, 0.0])
            .unwrap();
        assert!(tri_cross(&m, roof)[1] > 0.0);
    }

    #[test]
    fn l_shape_is_closed_and_roofed() {
        let mp = l_shape();
        let m = extrude(&mp, 0.0, 12.0);
        assert_watertight(&m, "L");
        assert_closed_oriented(&m, "L");
        assert_front_faces_out(&m);
        assert!((roof_area(&m, 12.0) - mp.unsigned_area()).abs() < 1e-6);
        assert_eq!(m.triangle_count(), 4 + 4 + 12);
    }

    #[test]
    fn courtyard_is_closed_and_not_roofed() {
        let mp = courtyard();
        let m = extrude(&mp, 0.0, 9.0);
        assert_watertight(&m, "courtyard");
        assert_closed_oriented(&m, "courtyard");
        assert_front_faces_out(&m);
        assert!((roof_area(&m, 9.0) - (400.0 - 64.0)).abs() < 1e-6);
        assert!((roof_area(&m, 9.0) - mp.unsigned_area()).abs() < 1e-6);
        // Courtyard walls face into the courtyard: towards its centre (10, 9) → x/z (10, −9).
        for (p, n) in m.positions.iter().zip(&m.normals) {
            let inner = (6.0..=14.0).contains(&p[0]) && (-13.0..=-5.0).contains(&p[2]);
            if n[1] == 0.0 && inner {
                let to_centre = [10.0 - p[0] as f64, -9.0 - p[2] as f64];
                assert!(to_centre[0] * n[0] as f64 + to_centre[1] * n[2] as f64 > 0.0);
            }
        }
    }

    #[test]
    fn two_part_multipolygon_is_closed() {
        let mp = MultiPolygon(vec![
            Polygon::new(square(0.0, 0.0, 10.0), vec![]),
            l_shape().0[0].clone(),
        ]);
        // Move the L away from the square.
        let mp = MultiPolygon(vec![
            mp.0[0].clone(),
            Polygon::new(
                LineString::from(
                    mp.0[1]
                        .exterior()
                        .0
                        .iter()
                        .map(|c| (c.x + 50.0, c.y))
                        .collect::<Vec<_>>(),
                ),
                vec![],
            ),
        ]);
        let m = extrude(&mp, 3.0, 20.0);
        assert_watertight(&m, "two parts");
        assert_closed_oriented(&m, "two parts");
        assert_front_faces_out(&m);
        assert!((roof_area(&m, 20.0) - mp.unsigned_area()).abs() < 1e-6);
    }

    #[test]
    fn cleans_duplicates_collinear_points_and_open_rings() {
        // Open ring, a repeated point, a point on an edge and a sub-millimetre step.
        let ring = LineString::from(vec![
            (0.0, 0.0),
            (5.0, 0.0),
            (10.0, 0.0),
            (10.0, 0.0),
            (10.0, 10.0),
            (10.0005, 10.0),
            (0.0, 10.0),
        ]);
        let m = extrude(&MultiPolygon(vec![Polygon::new(ring, vec![])]), 0.0, 3.0);
        assert_eq!(m.triangle_count(), 12);
        assert_watertight(&m, "cleaned square");
        assert_front_faces_out(&m);
    }

    #[test]
    fn degenerate_footprints_are_errors() {
        let o = SceneOrigin::default();
        let mut m = TileMesh::new((0, 0));
        let collinear = MultiPolygon(vec![polygon![
            (x: 0.0, y: 0.0), (x: 1.0, y: 1.0), (x: 2.0, y: 2.0), (x: 3.0, y: 3.0),
        ]]);
        assert_eq!(
            extrude_building(&mut m, 0, &collinear, 0.0, 5.0, &o),
            Err(ExtrudeError::NoArea)
        );
        let nan = MultiPolygon(vec![polygon![
            (x: 0.0, y: 0.0), (x: f64::NAN, y: 1.0), (x: 2.0, y: 0.0),
        ]]);
        assert_eq!(
            extrude_building(&mut m, 0, &nan, 0.0, 5.0, &o),
            Err(ExtrudeError::NonFinite)
        );
        assert_eq!(
            extrude_building(&mut m, 0, &MultiPolygon(vec![]), 0.0, 5.0, &o),
            Err(ExtrudeError::NoArea)
        );
        let sq = MultiPolygon(vec![Polygon::new(square(0.0, 0.0, 4.0), vec![])]);
        assert!(matches!(
            extrude_building(&mut m, 0, &sq, 5.0, 5.0, &o),
            Err(ExtrudeError::BadHeight { .. })
        ));
        assert!(matches!(
            extrude_building(&mut m, 0, &sq, 0.0, f64::NAN, &o),
            Err(ExtrudeError::BadHeight { .. })
        ));
        // A symmetric bow-tie's shoelace area cancels out: no area.
        let bowtie = MultiPolygon(vec![polygon![
            (x: 0.0, y: 0.0), (x: 10.0, y: 10.0), (x: 10.0, y: 0.0), (x: 0.0, y: 10.0),
        ]]);
        assert_eq!(
            extrude_building(&mut m, 0, &bowtie, 0.0, 5.0, &o),
            Err(ExtrudeError::NoArea)
        );
        // An uneven one: earcut's triangles cannot match the ring's area.
        let bowtie = MultiPolygon(vec![polygon![
            (x: 0.0, y: 0.0), (x: 10.0, y: 10.0), (x: 10.0, y: 0.0), (x: 0.0, y: 5.0),
        ]]);
        assert!(matches!(
            extrude_building(&mut m, 0, &bowtie, 0.0, 5.0, &o),
            Err(ExtrudeError::Triangulation(_))
        ));
        assert!(m.is_empty() && m.positions.is_empty(), "errors append nothing");
        // A hole as large as the exterior leaves no area.
        let filled = MultiPolygon(vec![Polygon::new(
            square(0.0, 0.0, 4.0),
            vec![square(0.0, 0.0, 4.0)],
        )]);
        assert_eq!(
            extrude_building(&mut m, 0, &filled, 0.0, 5.0, &o),
            Err(ExtrudeError::NoArea)
        );
        // A degenerate part next to a good one is left out; the good one is extruded.
        let mixed = MultiPolygon(vec![collinear.0[0].clone(), sq.0[0].clone()]);
        assert_eq!(extrude_building(&mut m, 0, &mixed, 0.0, 5.0, &o), Ok(()));
        assert_eq!(m.triangle_count(), 12);
    }

    fn building(footprint: MultiPolygon<f64>, min: f64, h: f64) -> Building {
        Building {
            layer: LayerId(0),
            source_id: 0,
            footprint,
            height_m: h,
            min_height_m: min,
            height_source: HeightSource::Measured,
            name: None,
            usage: "yes".into(),
            attributes: Default::default(),
        }
    }

    #[test]
    fn city_counts_failures_and_tiles_by_position() {
        let origin = SceneOrigin {
            x: 500_000.0,
            y: 6_600_000.0,
        };
        let mut city = CityModel::empty("t", Crs::Epsg(32635), origin);
        let at = |x: f64, y: f64| {
            MultiPolygon(vec![Polygon::new(
                square(origin.x + x, origin.y + y, 10.0),
                vec![],
            )])
        };
        city.buildings.push(building(at(10.0, 10.0), 0.0, 10.0));
        city.buildings.push(building(at(-300.0, 20.0), 0.0, 10.0));
        city.buildings.push(building(at(20.0, 10.0), 4.0, 2.0));
        city.buildings.push(building(MultiPolygon(vec![]), 0.0, 10.0));
        city.buildings.push(building(
            MultiPolygon(vec![
                polygon![(x: f64::NAN, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0)],
            ]),
            0.0,
            10.0,
        ));
        city.buildings.push(building(at(600.0, -20.0), 0.0, 10.0));
        let (tiles, rep) = extrude_city(&city, 250.0);
        assert_eq!(rep.buildings, 3);
        assert_eq!(
            (
                rep.skipped_bad_height,
                rep.skipped_no_area,
                rep.skipped_non_finite
            ),
            (1, 1, 1)
        );
        assert_eq!(rep.skipped_ids, vec![BuildingId(2), BuildingId(3), BuildingId(4)]);
        let keys: Vec<_> = tiles.iter().map(|t| t.tile).collect();
        assert_eq!(keys, vec![(-2, 0), (0, 0), (2, -1)]);
        assert_eq!(rep.tiles, 3);
        assert_eq!(rep.triangles, 36);
        assert_eq!(rep.vertices, 72);
        assert_eq!(tiles[1].building_index, vec![0; 24]);
        // Render coordinates stay small although the scene CRS is in the millions.
        assert!(tiles[1].bbox_min[0] == 10.0 && tiles[1].bbox_max[2] == -10.0);
    }

    use crate::twin::testdata::data_dir;

    #[test]
    fn real_monaco_footprints_are_closed_with_exact_roofs() {
        let Some(dir) = data_dir() else { return };
        let path = dir.join("shp/monaco-2016/buildings.shp");
        let layer = crate::twin::gis::shapefile::read_shapefile(&path, LayerKind::Buildings, None)
            .expect("reads the Monaco buildings");
        let footprints: Vec<MultiPolygon<f64>> = layer
            .features
            .iter()
            .filter_map(|f| match &f.geometry {
                Geometry::Polygon(p) => Some(MultiPolygon(vec![p.clone()])),
                Geometry::MultiPolygon(mp) => Some(mp.clone()),
                _ => None,
            })
            .collect();
        let with_holes = |mp: &MultiPolygon<f64>| mp.0.iter().any(|p| !p.interiors().is_empty());
        let picked: Vec<&MultiPolygon<f64>> = footprints
            .iter()
            .enumerate()
            .filter(|(i, mp)| *i < 200 || with_holes(mp))
            .map(|(_, mp)| mp)
            .collect();
        let holed = picked.iter().filter(|mp| with_holes(mp)).count();
        assert!(
            holed >= 40,
            "expected the Monaco polygons with holes, got {holed}"
        );
        let (mut triangles, mut far_triangles, mut far_roof) = (0, 0, 0);
        for (k, mp) in picked.iter().enumerate() {
            let r = mp.bounding_rect().expect("bbox");
            let origin = SceneOrigin::centre_of([r.min().x, r.min().y, r.max().x, r.max().y]);
            let mut m = TileMesh::new((0, 0));
            extrude_building(&mut m, k as u32, mp, 0.0, 15.0, &origin)
                .unwrap_or_else(|e| panic!("feature {k}: {e}"));
            assert_watertight(&m, &format!("feature {k}"));
            assert_closed_oriented(&m, &format!("feature {k}"));
            assert_front_faces_out_loosely(&m);
            let (roof, foot) = (roof_area(&m, 15.0), mp.unsigned_area());
            assert!(
                ((roof - foot) / foot).abs() < 1e-3,
                "feature {k}: roof {roof} m² against footprint {foot} m²"
            );
            triangles += m.triangle_count();
            // The far level: one quad per polygon of the footprint, of the roof's area.
            let far = m.roof_quads();
            far_roof += m.roofs().triangle_count();
            far_triangles += far.triangle_count();
            assert!(far.triangle_count() <= 2 * mp.0.len(), "feature {k}");
            let quads = roof_area(&far, 15.0);
            assert!(
                ((quads - roof) / roof).abs() < 1e-3,
                "feature {k}: quads {quads} m² for {roof} m²"
            );
            for t in far.indices.chunks_exact(3) {
                assert!(
                    tri_cross(&far, t)[1] > 0.0,
                    "feature {k}: a far triangle faces down"
                );
            }
        }
        eprintln!(
            "{} Monaco footprints ({holed} with holes): {triangles} triangles; far level \
             {far_triangles} triangles instead of {far_roof}",
            picked.len()
        );
        assert!(
            far_triangles * 2 < far_roof,
            "{far_triangles} far triangles, {far_roof} roof"
        );
    }

    #[test]
    fn default_city_extrudes_into_tiles() {
        let scene = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/default.ron");
        let loaded = crate::twin::load::load_scene(&scene).expect("default scene loads");
        let city = &loaded.city;
        let started = std::time::Instant::now();
        let (tiles, rep) = extrude_city(city, 250.0);
        let extrude_s = started.elapsed().as_secs_f64();
        assert_eq!(rep.buildings + rep.skipped(), city.buildings.len());
        assert!(rep.buildings > 0);
        assert!(tiles.len() > 1, "{} tiles", tiles.len());
        assert_eq!(rep.tiles, tiles.len());
        let mut seen = vec![false; city.buildings.len()];
        for t in &tiles {
            assert_eq!(t.positions.len(), t.normals.len());
            assert_eq!(t.positions.len(), t.building_index.len());
            assert!(t.indices.iter().all(|&i| (i as usize) < t.positions.len()));
            for &b in &t.building_index {
                assert!((b as usize) < city.buildings.len());
                seen[b as usize] = true;
            }
            for p in &t.positions {
                assert!((0..3).all(|k| t.bbox_min[k] <= p[k] && p[k] <= t.bbox_max[k]));
            }
            assert_front_faces_out_loosely(t);
        }
        assert_eq!(seen.iter().filter(|s| **s).count(), rep.buildings);
        // Each building's own triangles form a closed solid with an exact roof.
        for t in &tiles {
            let mut by_building: BTreeMap<u32, TileMesh> = BTreeMap::new();
            for tri in t.indices.chunks_exact(3) {
                let b = t.building_index[tri[0] as usize];
                assert!(tri.iter().all(|&i| t.building_index[i as usize] == b));
                let m = by_building.entry(b).or_insert_with(|| TileMesh::new(t.tile));
                for &i in tri {
                    let i = i as usize;
                    let v = m.push_vertex(t.positions[i], t.normals[i], b);
                    m.indices.push(v);
                }
            }
            for (b, m) in by_building {
                let building = &city.buildings[b as usize];
                // Some OSM multipolygons have parts inside a courtyard that share the
                // courtyard's edges: their walls meet back to back, so an edge can have four
                // triangles. Every building is still closed and consistently oriented.
                assert_closed_oriented(&m, &format!("building {b}"));
                if building.footprint.0.len() == 1 {
                    assert_watertight(&m, &format!("building {b}"));
                }
                let (roof, foot) = (
                    roof_area(&m, building.height_m as f32),
                    building.footprint.unsigned_area(),
                );
                // Vertices are f32 metres from the scene origin (kilometres away): each may
                // move by a fraction of a millimetre, which on a footprint of a square metre
                // or two is more than 0.1 %; so the bound is 0.1 % or 1 mm along the outline.
                let outline: f64 = {
                    use geo::Length;
                    building
                        .footprint
                        .0
                        .iter()
                        .map(|p| geo::Euclidean.length(p.exterior()))
                        .sum()
                };
                assert!(
                    (roof - foot).abs() < (1e-3 * foot).max(1e-3 * outline),
                    "building {b}: roof {roof} m² against footprint {foot} m²"
                );
            }
        }
        eprintln!(
            "default city: {} buildings, {} extruded, {} skipped, {} tiles, {} triangles, {} vertices; \
             loaded in {:.2} s, extruded in {extrude_s:.2} s",
            city.buildings.len(),
            rep.buildings,
            rep.skipped(),
            rep.tiles,
            rep.triangles,
            rep.vertices,
            loaded.report.total_s
        );
    }

    /// Every triangle's geometric normal agrees with its vertices' normals, except for
    /// triangles flat in f32.
    fn assert_front_faces_out_loosely(m: &TileMesh) {
        for t in m.indices.chunks_exact(3) {
            let c = tri_cross(m, t);
            let len = norm(c);
            for &i in t {
                assert!(
                    dot(c, m.normals[i as usize]) > 0.0 || len == 0.0,
                    "triangle {:?} {:?} cross {c:?} normal {:?} building {}",
                    t,
                    t.iter().map(|&i| m.positions[i as usize]).collect::<Vec<_>>(),
                    m.normals[i as usize],
                    m.building_index[i as usize]
                );
            }
        }
    }
}
