//! Buildings drawn from their own 3D surfaces (CityJSON LoD1 solids, LoD2 roofs, walls and
//! ground) instead of an extruded footprint: the surfaces, their projection together with
//! their layer, and their meshing into the same tile buffers, with the same per-building
//! index, as extrusion. Pure data: no Bevy type here.
//!
//! A building keeps its footprint and height in the city model (indicators, picking and
//! scenario edits use them); its surfaces sit beside it in [`CityModel::solids`]. Extrusion
//! uses the surfaces while the building still has the height they were read with: a
//! scenario that changes the height (or demolishes it) draws the footprint extruded again.

use std::collections::HashMap;
use std::sync::Arc;

use geo_types::Coord;

use crate::twin::city::{Building, BuildingId, CityModel, LayerId};
use crate::twin::crs::{SceneOrigin, Transformer};
use crate::twin::extrude::{ExtrudeError, MAX_ROOF_AREA_ERROR, TileMesh};
use crate::twin::heights::HeightSource;

/// Faces whose unit normal is within this of straight up or down get exactly vertical
/// normals, as extruded roofs and floors have: ground floors are then left out of the near
/// level of detail like extruded ones, and flat roofs shade alike.
pub const FLAT_NORMAL_SNAP: f64 = 1e-4;

/// Twice the area (m²) below which a surface counts as degenerate and is left out.
const MIN_SURFACE_AREA2_M2: f64 = 1e-6;

/// What a surface of a building is (CityJSON semantic surface types; `Other` for surfaces
/// without semantics or of another type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SurfaceKind {
    /// `RoofSurface`.
    Roof,
    /// `WallSurface`.
    Wall,
    /// `GroundSurface`.
    Ground,
    /// Anything else (`OuterCeilingSurface`, `ClosureSurface`, no semantics, ...).
    Other,
}

impl SurfaceKind {
    /// The kind of a CityJSON semantic surface type name.
    pub fn from_cityjson(name: &str) -> SurfaceKind {
        match name {
            "RoofSurface" => SurfaceKind::Roof,
            "WallSurface" => SurfaceKind::Wall,
            "GroundSurface" => SurfaceKind::Ground,
            _ => SurfaceKind::Other,
        }
    }
}

/// One planar surface: an exterior ring and its holes, without closing vertex. `x`, `y` in
/// the layer's CRS (the scene CRS once loaded), `z` metres above the building's ground.
#[derive(Debug, Clone, PartialEq)]
pub struct Surface {
    /// What the surface is.
    pub kind: SurfaceKind,
    /// Exterior ring first, then holes; points `[x, y, z]`.
    pub rings: Vec<Vec<[f64; 3]>>,
}

/// The surfaces of one building (or building part) at the level of detail chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildingSolid {
    /// The surfaces.
    pub surfaces: Vec<Surface>,
    /// The highest roof point above the ground, metres: the building's height.
    pub height_m: f64,
    /// Elevation of the ground (the lowest ground surface point) in the source's vertical
    /// reference, metres: subtracted from every `z`.
    pub ground_z: f64,
    /// The level of detail the surfaces are, e.g. "2.2".
    pub lod: String,
}

impl BuildingSolid {
    /// Number of surfaces of a kind.
    pub fn count(&self, kind: SurfaceKind) -> usize {
        self.surfaces.iter().filter(|s| s.kind == kind).count()
    }

    /// Whether extrusion should draw these surfaces for `b`: the building still has the
    /// height the surfaces were read with, stands on the ground and has a footprint.
    pub fn fits(&self, b: &Building) -> bool {
        b.height_m == self.height_m && b.min_height_m == 0.0 && !b.footprint.0.is_empty()
    }
}

/// The surfaces of one layer's buildings, by the feature's source id.
pub type LayerSolids = HashMap<i64, BuildingSolid>;

/// Projects the `x`, `y` of every surface point with `tr`, exactly, in one batch. Solids
/// with a point PROJ cannot transform are removed; returns how many were.
pub fn project_solids(solids: &mut LayerSolids, tr: &Transformer) -> usize {
    if tr.is_identity() || solids.is_empty() {
        return 0;
    }
    let mut keys: Vec<i64> = solids.keys().copied().collect();
    keys.sort_unstable();
    let mut coords: Vec<Coord<f64>> = Vec::new();
    for k in &keys {
        for s in &solids[k].surfaces {
            coords.extend(s.rings.iter().flatten().map(|p| Coord { x: p[0], y: p[1] }));
        }
    }
    tr.batch(&mut coords);
    let mut next = coords.into_iter();
    let mut bad = Vec::new();
    for k in keys {
        let Some(solid) = solids.get_mut(&k) else { continue };
        let mut ok = true;
        for p in solid
            .surfaces
            .iter_mut()
            .flat_map(|s| s.rings.iter_mut().flatten())
        {
            let c = next.next().unwrap_or(Coord {
                x: f64::NAN,
                y: f64::NAN,
            });
            ok &= c.x.is_finite() && c.y.is_finite();
            p[0] = c.x;
            p[1] = c.y;
        }
        if !ok {
            bad.push(k);
        }
    }
    for k in &bad {
        solids.remove(k);
    }
    bad.len()
}

/// Gives the buildings of `layer` in `city` their surfaces (matched by source id): each
/// such building takes its height from them (the highest roof point above its ground),
/// stands on the ground and counts as measured.
pub fn attach(city: &mut CityModel, layer: LayerId, mut solids: LayerSolids) {
    for (i, b) in city.buildings.iter_mut().enumerate() {
        if b.layer != layer {
            continue;
        }
        if let Some(s) = solids.remove(&b.source_id) {
            b.height_m = s.height_m;
            b.min_height_m = 0.0;
            b.height_source = HeightSource::Measured;
            city.solids.insert(BuildingId(i as u32), Arc::new(s));
        }
    }
}

/// Buildings of `layer` that have their own surfaces, by level of detail.
pub fn layer_lods(city: &CityModel, layer: LayerId) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for (id, s) in &city.solids {
        if city.building(*id).is_some_and(|b| b.layer == layer) {
            *out.entry(s.lod.clone()).or_default() += 1;
        }
    }
    out
}

/// Buildings of `city` that will be drawn from their own surfaces.
pub fn drawn_from_surfaces(city: &CityModel) -> usize {
    city.solids
        .iter()
        .filter(|(id, s)| city.building(**id).is_some_and(|b| s.fits(b)))
        .count()
}

/// Newell's normal of a ring (not normalised; its length is twice the ring's area).
fn newell(ring: &[[f64; 3]]) -> [f64; 3] {
    let mut n = [0.0; 3];
    for (i, a) in ring.iter().enumerate() {
        let b = ring[(i + 1) % ring.len()];
        n[0] += (a[1] - b[1]) * (a[2] + b[2]);
        n[1] += (a[2] - b[2]) * (a[0] + b[0]);
        n[2] += (a[0] - b[0]) * (a[1] + b[1]);
    }
    n
}

fn length(v: [f64; 3]) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

fn cross(u: [f64; 3], v: [f64; 3]) -> [f64; 3] {
    [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ]
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// A ring without consecutive duplicates (nor a closing point equal to the first).
fn dedup_ring(ring: &[[f64; 3]]) -> Vec<[f64; 3]> {
    let mut out: Vec<[f64; 3]> = Vec::with_capacity(ring.len());
    for p in ring {
        if out.last() != Some(p) {
            out.push(*p);
        }
    }
    while out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    out
}

/// Triangles of one planar surface in local coordinates (east, north, up; origin
/// subtracted), each wound counter-clockwise seen from the side `normal` points to; the
/// points they index are the rings' points in order.
fn triangulate_surface(rings: &[Vec<[f64; 3]>], normal: [f64; 3]) -> Result<Vec<[usize; 3]>, ExtrudeError> {
    // Drop the axis the normal is most along: the others make a plane in which the
    // surface has area.
    let k = (0..3)
        .max_by(|&a, &b| normal[a].abs().total_cmp(&normal[b].abs()))
        .unwrap_or(2);
    let (u, v) = match k {
        0 => (1, 2),
        1 => (2, 0),
        _ => (0, 1),
    };
    let pts: Vec<[f64; 3]> = rings.iter().flatten().copied().collect();
    let flat: Vec<f64> = pts.iter().flat_map(|p| [p[u], p[v]]).collect();
    let mut holes = Vec::with_capacity(rings.len().saturating_sub(1));
    let mut start = 0;
    for r in &rings[..rings.len() - 1] {
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
        let n = cross(sub(pts[b], pts[a]), sub(pts[c], pts[a]));
        let along = n[0] * normal[0] + n[1] * normal[1] + n[2] * normal[2];
        area2 += along.abs();
        tris.push(if along >= 0.0 { [a, b, c] } else { [a, c, b] });
    }
    // The triangles must cover the surface (exterior minus holes), as extruded roofs must.
    let unit = length(normal);
    let expected2 = unit - rings[1..].iter().map(|r| length(newell(r))).sum::<f64>();
    let area2 = area2 / unit;
    if !expected2.is_finite()
        || expected2 <= 0.0
        || ((area2 - expected2) / expected2).abs() > MAX_ROOF_AREA_ERROR
    {
        return Err(ExtrudeError::Triangulation(format!(
            "triangles cover {:.3} m² of {:.3} m²",
            area2 / 2.0,
            expected2 / 2.0
        )));
    }
    Ok(tris)
}

/// What [`mesh_solid`] made of a building's surfaces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SolidMeshed {
    /// Surfaces drawn.
    pub surfaces: usize,
    /// Surfaces left out: degenerate (no area) or not triangulable.
    pub skipped: usize,
}

/// Appends one building's surfaces to `out` (render frame, as [`crate::twin::extrude`]):
/// each surface triangulated in its own plane, flat-shaded with its own vertices and its
/// normal (Newell's, from the exterior ring, which CityJSON orients outwards), every vertex
/// carrying `index`. Degenerate surfaces are left out and counted; when nothing is left the
/// building is an error and `out` is unchanged, as it is on any error.
pub fn mesh_solid(
    out: &mut TileMesh,
    index: u32,
    solid: &BuildingSolid,
    origin: &SceneOrigin,
) -> Result<SolidMeshed, ExtrudeError> {
    let finite = |p: &[f64; 3]| {
        p.iter().all(|v| v.is_finite())
            && origin
                .local(Coord { x: p[0], y: p[1] })
                .iter()
                .all(|v| v.is_finite())
    };
    if !solid
        .surfaces
        .iter()
        .flat_map(|s| s.rings.iter().flatten())
        .all(finite)
    {
        return Err(ExtrudeError::NonFinite);
    }
    let mut done = SolidMeshed::default();
    let mut parts = Vec::with_capacity(solid.surfaces.len());
    for s in &solid.surfaces {
        // Rings without repeated points; holes of fewer than three points dropped.
        let kept: Vec<Vec<[f64; 3]>> = s
            .rings
            .iter()
            .map(|r| dedup_ring(r))
            .enumerate()
            .filter(|(i, r)| *i == 0 || r.len() >= 3)
            .map(|(_, r)| r)
            .collect();
        if kept.first().is_none_or(|r| r.len() < 3) {
            done.skipped += 1;
            continue;
        }
        // Local f64 coordinates (origin subtracted): the planar maths stays exact enough.
        let local: Vec<Vec<[f64; 3]>> = kept
            .iter()
            .map(|r| {
                r.iter()
                    .map(|p| [p[0] - origin.x, p[1] - origin.y, p[2]])
                    .collect()
            })
            .collect();
        let normal = newell(&local[0]);
        if length(normal) < MIN_SURFACE_AREA2_M2 {
            done.skipped += 1;
            continue;
        }
        match triangulate_surface(&local, normal) {
            Ok(tris) => parts.push((kept, normal, tris)),
            Err(_) => done.skipped += 1,
        }
    }
    if parts.is_empty() {
        return Err(ExtrudeError::NoArea);
    }
    for (kept, normal, tris) in &parts {
        let l = length(*normal);
        let (e, n, up) = (normal[0] / l, normal[1] / l, normal[2] / l);
        // Render frame: x east, y up, z −north.
        let render_normal = if up.abs() >= 1.0 - FLAT_NORMAL_SNAP {
            [0.0, up.signum() as f32, 0.0]
        } else {
            [e as f32, up as f32, -n as f32]
        };
        let base = out.positions.len() as u32;
        for p in kept.iter().flatten() {
            let l = origin.local(Coord { x: p[0], y: p[1] });
            out.push_vertex([l[0], p[2] as f32, -l[1]], render_normal, index);
        }
        for t in tris {
            out.indices.extend(t.iter().map(|&i| base + i as u32));
        }
        done.surfaces += 1;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::BoundingRect;

    /// A unit-sided house: 10 × 6 m ground at z 0, walls to 4 m, a gable roof to 7 m along
    /// x, every ring counter-clockwise seen from outside.
    pub(crate) fn gable_house(x0: f64, y0: f64) -> BuildingSolid {
        let p = |x: f64, y: f64, z: f64| [x0 + x, y0 + y, z];
        let (a, b, c, d) = (p(0., 0., 0.), p(10., 0., 0.), p(10., 6., 0.), p(0., 6., 0.));
        let (a4, b4, c4, d4) = (p(0., 0., 4.), p(10., 0., 4.), p(10., 6., 4.), p(0., 6., 4.));
        let (r0, r1) = (p(0., 3., 7.), p(10., 3., 7.));
        let s = |kind, ring: Vec<[f64; 3]>| Surface {
            kind,
            rings: vec![ring],
        };
        BuildingSolid {
            surfaces: vec![
                s(SurfaceKind::Ground, vec![a, d, c, b]),
                s(SurfaceKind::Wall, vec![a, b, b4, a4]),
                s(SurfaceKind::Wall, vec![b, c, c4, r1, b4]),
                s(SurfaceKind::Wall, vec![c, d, d4, c4]),
                s(SurfaceKind::Wall, vec![d, a, a4, r0, d4]),
                s(SurfaceKind::Roof, vec![a4, b4, r1, r0]),
                s(SurfaceKind::Roof, vec![c4, d4, r0, r1]),
            ],
            height_m: 7.0,
            ground_z: 0.0,
            lod: "2".into(),
        }
    }

    fn tri_normal(m: &TileMesh, t: &[u32]) -> [f64; 3] {
        let p = |k: usize| m.positions[t[k] as usize].map(f64::from);
        cross(sub(p(1), p(0)), sub(p(2), p(0)))
    }

    #[test]
    fn a_gable_house_is_closed_outward_and_its_roofs_slope() {
        let house = gable_house(100.0, 200.0);
        let origin = SceneOrigin { x: 100.0, y: 200.0 };
        let mut m = TileMesh::new((0, 0));
        let done = mesh_solid(&mut m, 3, &house, &origin).unwrap();
        assert_eq!(
            done,
            SolidMeshed {
                surfaces: 7,
                skipped: 0
            }
        );
        assert!(m.building_index.iter().all(|&b| b == 3));
        // Every triangle faces away from the house's centre (5, 3.3, −3): outward.
        let centre = [5.0, 3.3, -3.0];
        for t in m.indices.chunks_exact(3) {
            let n = tri_normal(&m, t);
            let p = m.positions[t[0] as usize].map(f64::from);
            let out = sub(p, centre);
            assert!(
                n[0] * out[0] + n[1] * out[1] + n[2] * out[2] > 0.0,
                "{t:?} faces in"
            );
            // The vertex normal agrees with the geometric one.
            let vn = m.normals[t[0] as usize].map(f64::from);
            assert!(n[0] * vn[0] + n[1] * vn[1] + n[2] * vn[2] > 0.0);
        }
        // Two roof planes, sloped both ways (rise 3 over 3 m: 45°), and one floor.
        let sloped: Vec<[f32; 3]> = m
            .normals
            .iter()
            .copied()
            .filter(|n| n[1] > 0.5 && n[1] < 0.9)
            .collect();
        assert_eq!(sloped.len(), 8);
        assert!(sloped.iter().any(|n| n[2] > 0.5) && sloped.iter().any(|n| n[2] < -0.5));
        assert!((sloped[0][1] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-5);
        assert_eq!(m.normals.iter().filter(|n| **n == [0.0, -1.0, 0.0]).count(), 4);
        // The ridge is at 7 m, the floor at 0.
        assert_eq!(m.bbox_max[1], 7.0);
        assert_eq!(m.bbox_min[1], 0.0);
        // Area of everything: ground 60, walls 2·40 + 2·(24 + 9), roofs 2·10·√18.
        let area: f64 = m
            .indices
            .chunks_exact(3)
            .map(|t| length(tri_normal(&m, t)) / 2.0)
            .sum();
        let expected = 60.0 + 80.0 + 66.0 + 20.0 * 18f64.sqrt();
        assert!((area - expected).abs() < 1e-3, "{area} vs {expected}");
    }

    #[test]
    fn the_near_level_drops_the_ground_and_the_far_level_keeps_sloped_roofs() {
        let house = gable_house(0.0, 0.0);
        let mut m = TileMesh::new((0, 0));
        mesh_solid(&mut m, 0, &house, &SceneOrigin::default()).unwrap();
        let near = m.clone().without_ground_floors();
        assert_eq!(near.triangle_count(), m.triangle_count() - 2);
        // Each roof plane is two triangles: the far level keeps them as they are, sloped.
        let far = m.roof_quads();
        assert_eq!(far.triangle_count(), 4, "sloped roofs have a far level");
        assert_eq!(far.bbox_max[1], 7.0);
        assert_eq!(far.bbox_min[1], 4.0);
    }

    #[test]
    fn degenerate_surfaces_are_counted_and_a_building_of_nothing_is_an_error() {
        let mut house = gable_house(0.0, 0.0);
        house.surfaces.push(Surface {
            kind: SurfaceKind::Wall,
            rings: vec![vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [2.0, 0.0, 0.0]]],
        });
        house.surfaces.push(Surface {
            kind: SurfaceKind::Other,
            rings: vec![vec![[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]],
        });
        let mut m = TileMesh::new((0, 0));
        let done = mesh_solid(&mut m, 0, &house, &SceneOrigin::default()).unwrap();
        assert_eq!(
            done,
            SolidMeshed {
                surfaces: 7,
                skipped: 2
            }
        );
        let nothing = BuildingSolid {
            surfaces: house.surfaces[7..].to_vec(),
            ..house.clone()
        };
        let mut m = TileMesh::new((0, 0));
        assert_eq!(
            mesh_solid(&mut m, 0, &nothing, &SceneOrigin::default()),
            Err(ExtrudeError::NoArea)
        );
        assert!(m.is_empty());
        let mut bad = house;
        bad.surfaces[0].rings[0][0][0] = f64::NAN;
        assert_eq!(
            mesh_solid(&mut m, 0, &bad, &SceneOrigin::default()),
            Err(ExtrudeError::NonFinite)
        );
    }

    #[test]
    fn a_surface_with_a_hole_covers_its_area() {
        // A flat roof 10 × 10 with a 2 × 2 hole, at 5 m.
        let ext = vec![
            [0.0, 0.0, 5.0],
            [10.0, 0.0, 5.0],
            [10.0, 10.0, 5.0],
            [0.0, 10.0, 5.0],
        ];
        let hole = vec![[4.0, 4.0, 5.0], [4.0, 6.0, 5.0], [6.0, 6.0, 5.0], [6.0, 4.0, 5.0]];
        let solid = BuildingSolid {
            surfaces: vec![Surface {
                kind: SurfaceKind::Roof,
                rings: vec![ext, hole],
            }],
            height_m: 5.0,
            ground_z: 0.0,
            lod: "2".into(),
        };
        let mut m = TileMesh::new((0, 0));
        mesh_solid(&mut m, 0, &solid, &SceneOrigin::default()).unwrap();
        let area: f64 = m
            .indices
            .chunks_exact(3)
            .map(|t| length(tri_normal(&m, t)) / 2.0)
            .sum();
        assert!((area - 96.0).abs() < 1e-6, "{area}");
        assert!(
            m.normals.iter().all(|n| *n == [0.0, 1.0, 0.0]),
            "flat roof snapped up"
        );
    }

    /// The real CityJSON files kept with the tests.
    fn cityjson_data(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/cityjson")
            .join(name)
    }

    /// Loads a scene of one CityJSON buildings layer (extra layer options in `opts`).
    fn load_one(name: &str, opts: &str) -> crate::twin::load::LoadedScene {
        let dir = std::env::temp_dir().join(format!("citytwin-solid-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = format!(
            "(name: \"t\", layers: [(name: \"b\", path: {:?}, kind: buildings{opts})])",
            cityjson_data(name)
        );
        std::fs::write(dir.join("t.ron"), text).unwrap();
        crate::twin::load::load_scene(&dir.join("t.ron")).unwrap()
    }

    #[test]
    fn real_3d_bag_buildings_load_with_their_surfaces_and_draw_sloped_roofs() {
        use crate::twin::crs::Crs;
        use crate::twin::extrude::{ROOF_MIN_UP, extrude_city};
        let loaded = load_one("3dbag_b2.city.json", "");
        let (city, report) = (&loaded.city, &loaded.report);
        assert_eq!(report.layers[0].error, None);
        assert_eq!(report.layers[0].source_crs.as_deref(), Some("EPSG:7415"));
        assert_eq!(city.crs, Crs::Epsg(32631), "UTM zone of Delft");
        assert_eq!(city.buildings.len(), 2);
        assert_eq!(city.solids.len(), 2);
        for (i, b) in city.buildings.iter().enumerate() {
            let s = &city.solids[&BuildingId(i as u32)];
            assert_eq!(b.height_m, s.height_m);
            assert_eq!(b.height_source, HeightSource::Measured);
            assert!(s.fits(b));
            // The 3D BAG's own measures (NAP metres, from the AHN point cloud): the model's
            // ground is the ground level, its ridge between the roof points' 70th
            // percentile and their maximum (the fitted planes leave chimneys out).
            let num = |k: &str| b.attributes[k].as_number().unwrap();
            assert!(
                (s.ground_z - num("b3_h_maaiveld")).abs() < 0.05,
                "ground {}",
                s.ground_z
            );
            let top = s.ground_z + s.height_m;
            assert!(
                (num("b3_h_dak_70p")..=num("b3_h_dak_max")).contains(&top),
                "ridge {top}"
            );
            // Surfaces projected with the footprint: they lie over it.
            let fp = b.footprint.bounding_rect().unwrap();
            for p in s.surfaces.iter().flat_map(|s| s.rings.iter().flatten()) {
                assert!(p[0] >= fp.min().x - 0.01 && p[0] <= fp.max().x + 0.01, "{p:?}");
                assert!(p[1] >= fp.min().y - 0.01 && p[1] <= fp.max().y + 0.01, "{p:?}");
            }
        }
        assert_eq!(drawn_from_surfaces(city), 2);
        // Picking (by footprint and height) finds each of them from straight above.
        let index = crate::twin::picking::BuildingIndex::new(city);
        for (i, b) in city.buildings.iter().enumerate() {
            use geo::InteriorPoint;
            let p = b.footprint.interior_point().unwrap();
            let hit = index.pick(city, [p.x(), p.y(), 500.0], [0.0, 0.0, -1.0]);
            assert_eq!(hit.map(|h| h.0), Some(BuildingId(i as u32)));
        }
        assert_eq!(layer_lods(city, LayerId(0)).get("2.2"), Some(&2));
        let text = crate::twin::inspect::layer_text(city, report, 0, false);
        assert!(text.contains("3D surfaces: 2 buildings (LoD2.2 2)"), "{text}");
        let (tiles, rep) = extrude_city(city, crate::twin::extrude::TILE_M);
        assert_eq!((rep.buildings, rep.from_surfaces, rep.skipped()), (2, 2, 0));
        let sloped = tiles
            .iter()
            .flat_map(|t| t.normals.iter())
            .filter(|n| n[1] >= ROOF_MIN_UP && n[1] < 0.99)
            .count();
        assert!(sloped > 0, "sloped roof faces");
        let far: usize = tiles.iter().map(|t| t.roof_quads().triangle_count()).sum();
        assert!(far > 0);
        // A scenario height edit draws that building extruded again.
        let mut edited = city.clone();
        edited.buildings[0].height_m += 3.0;
        let (_, rep) = extrude_city(&edited, crate::twin::extrude::TILE_M);
        assert_eq!((rep.buildings, rep.from_surfaces), (2, 1));

        // The CityJSONSeq copy gives the same buildings.
        let seq = load_one("3dbag_b2.city.jsonl", "");
        assert_eq!(seq.city.buildings.len(), 2);
        let key = |c: &CityModel| {
            let mut v: Vec<(String, i64, i64)> = c
                .buildings
                .iter()
                .map(|b| {
                    (
                        b.attributes["cityjson_id"].as_text(),
                        (b.height_m * 1000.0).round() as i64,
                        (b.footprint_area_m2() * 100.0).round() as i64,
                    )
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(key(&seq.city), key(city));
    }

    #[test]
    fn a_real_lod1_and_lod2_building_reads_at_either_level_with_the_scene_crs() {
        let lod2 = load_one("1b_w_texture.city.json", ", crs: Some(\"EPSG:3879\")");
        let lod1 = load_one(
            "1b_w_texture.city.json",
            ", crs: Some(\"EPSG:3879\"), lod: Some(\"1\")",
        );
        for (l, lod) in [(&lod2, "2"), (&lod1, "1")] {
            assert_eq!(l.report.layers[0].error, None);
            assert_eq!(
                l.city.crs,
                crate::twin::crs::Crs::Epsg(32635),
                "UTM zone of Helsinki"
            );
            let b = &l.city.buildings[0];
            let s = &l.city.solids[&BuildingId(0)];
            assert_eq!(s.lod, lod);
            assert_eq!(b.height_source, HeightSource::Measured);
        }
        // LoD1 is a block as high as the file's measuredHeight (HighestRoof − GroundLevel);
        // LoD2's roof is one sloped plane rising to 9.390 m over the ground at 4.863 m.
        let measured = lod1.city.buildings[0].attributes["measuredHeight"]
            .as_number()
            .unwrap();
        assert!((lod1.city.buildings[0].height_m - measured).abs() < 0.01);
        assert!((lod2.city.buildings[0].height_m - (9.390 - 4.863)).abs() < 1e-6);
        let s2 = &lod2.city.solids[&BuildingId(0)];
        assert_eq!(
            (s2.count(SurfaceKind::Roof), s2.count(SurfaceKind::Ground)),
            (1, 1)
        );
        assert_eq!(lod1.city.solids[&BuildingId(0)].count(SurfaceKind::Other), 9);
        // Without the crs the file cannot be placed: the layer fails, naming the file.
        let dir = std::env::temp_dir().join(format!("citytwin-solid-nocrs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = format!(
            "(name: \"t\", crs: Some(\"EPSG:32635\"), layers: [(name: \"b\", path: {:?}, kind: buildings)])",
            cityjson_data("1b_w_texture.city.json")
        );
        std::fs::write(dir.join("t.ron"), text).unwrap();
        let loaded = crate::twin::load::load_scene(&dir.join("t.ron")).unwrap();
        let e = loaded.report.layers[0].error.as_ref().expect("no CRS");
        assert!(
            e.contains("1b_w_texture.city.json") && e.contains("referenceSystem"),
            "{e}"
        );
    }
}
