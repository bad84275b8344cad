//! The city's outline: per layer one line-list mesh (building footprints at ground and roof
//! height with their vertical edges, road centre lines, zone and land-area boundaries, POI
//! crosses) in the layer's colour, plus a dark ground plane under the city. What the 3D
//! views draw solid is switched off in [`OutlineSettings`]: in the app only zone borders
//! remain.
//!
//! Scene coordinates stay f64 until [`SceneOrigin::local`] turns them into small f32
//! offsets; Bevy's frame is Y-up with x = east and z = −north.

use bevy::asset::RenderAssetUsages;
use bevy::mesh::PrimitiveTopology;
use bevy::prelude::*;
use geo_types::{Coord, LineString, MultiPolygon};

use crate::app::AppState;
use crate::app::loading::LoadedCity;
use crate::twin::city::{Building, CityModel};
use crate::twin::crs::SceneOrigin;
use crate::twin::gis::layer::LayerKind;
use crate::twin::scene::{LayerSpec, Scene, Style};

/// Height of land-area outlines above the ground, metres.
const AREA_LIFT_M: f32 = 0.2;
/// Height of zone boundaries above the ground, metres.
const ZONE_LIFT_M: f32 = 0.4;
/// Height of road centre lines above the ground, metres.
const ROAD_LIFT_M: f32 = 0.6;
/// Height of building ground outlines above the building's base, metres.
const BUILDING_BASE_LIFT_M: f32 = 0.8;
/// Height of POI crosses above the ground, metres.
const POI_LIFT_M: f32 = 1.0;
/// Half the arm length of a POI cross, metres.
const POI_CROSS_HALF_M: f32 = 4.0;
/// The ground plane extends this factor beyond the city's bbox.
const GROUND_MARGIN: f32 = 1.5;
/// Smallest ground plane side, metres (for a city of one point).
const GROUND_MIN_SIDE_M: f32 = 100.0;
/// Height of the ground plane, metres (just below the lines).
const GROUND_Y_M: f32 = -0.05;
/// Ground plane colour (sRGB).
const GROUND_COLOUR: [u8; 3] = [34, 37, 42];
/// Name of the pseudo-layer holding generated zones when no zones layer exists.
pub const GENERATED_ZONES_NAME: &str = "zone grid (generated)";
/// Colour of generated zones and of zone layers without a scene style.
pub(crate) const ZONES_DEFAULT_COLOUR: [u8; 3] = [230, 196, 90];

/// Builds the outline meshes when the scene is ready.
pub struct OutlinePlugin;

impl Plugin for OutlinePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<OutlineSettings>()
            .add_systems(OnEnter(AppState::Ready), spawn_outlines);
    }
}

/// The entity drawing one layer's outline; `index` is the layer's index in
/// `CityModel::layers` (`layers.len()` for the generated zone grid).
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LayerEntity {
    /// Index of the layer in `CityModel::layers`.
    pub index: usize,
}

/// Marks the ground plane.
#[derive(Component, Debug, Clone, Copy)]
pub struct GroundPlane;

/// How outlines are drawn.
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct OutlineSettings {
    /// Draw building outlines at roof height too, with their vertical edges.
    pub building_roofs: bool,
    /// Outline buildings at all (off when the 3D view draws them).
    pub buildings: bool,
    /// Road centre lines (off when the ground view draws ribbons).
    pub roads: bool,
    /// Land-area boundaries (off when the ground view fills them).
    pub areas: bool,
    /// POI crosses (off when the ground view draws markers).
    pub pois: bool,
}

impl Default for OutlineSettings {
    fn default() -> Self {
        OutlineSettings {
            building_roofs: true,
            buildings: true,
            roads: true,
            areas: true,
            pois: true,
        }
    }
}

/// One layer's outline, ready to become a line-list mesh.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerOutline {
    /// Index in `CityModel::layers` (`layers.len()` for the generated zone grid).
    pub index: usize,
    /// Layer name.
    pub name: String,
    /// Line colour, sRGB.
    pub colour: [u8; 3],
    /// Opacity 0–1.
    pub opacity: f32,
    /// Shown at start.
    pub visible: bool,
    /// Line-list vertex positions (two per segment), Bevy frame.
    pub positions: Vec<[f32; 3]>,
}

/// A scene-CRS coordinate in Bevy's frame at height `y`.
fn world(origin: &SceneOrigin, c: Coord<f64>, y: f32) -> [f32; 3] {
    let [east, north] = origin.local(c);
    [east, y, -north]
}

fn finite(c: Coord<f64>) -> bool {
    c.x.is_finite() && c.y.is_finite()
}

/// Appends a line string's segments at height `y`, skipping empty and non-finite ones.
fn push_line(out: &mut Vec<[f32; 3]>, origin: &SceneOrigin, line: &LineString<f64>, y: f32) {
    for seg in line.lines() {
        if seg.start != seg.end && finite(seg.start) && finite(seg.end) {
            out.push(world(origin, seg.start, y));
            out.push(world(origin, seg.end, y));
        }
    }
}

/// Appends every ring (exteriors and holes) of a multipolygon at height `y`.
fn push_rings(out: &mut Vec<[f32; 3]>, origin: &SceneOrigin, area: &MultiPolygon<f64>, y: f32) {
    for poly in area {
        push_line(out, origin, poly.exterior(), y);
        for hole in poly.interiors() {
            push_line(out, origin, hole, y);
        }
    }
}

/// The distinct vertices of a ring (without the closing repeat).
fn ring_vertices(ring: &LineString<f64>) -> &[Coord<f64>] {
    let n = ring.0.len();
    if n > 1 && ring.is_closed() {
        &ring.0[..n - 1]
    } else {
        &ring.0
    }
}

/// Appends a building's footprint at its base, and with `roofs` at its top with the
/// vertical edges between.
fn push_building(out: &mut Vec<[f32; 3]>, origin: &SceneOrigin, b: &Building, roofs: bool) {
    let bottom = if b.min_height_m.is_finite() {
        b.min_height_m.max(0.0) as f32
    } else {
        0.0
    };
    let base = bottom + BUILDING_BASE_LIFT_M;
    let top = b.height_m as f32;
    let walls = roofs && top.is_finite() && top > base;
    for poly in &b.footprint {
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            push_line(out, origin, ring, base);
            if walls {
                push_line(out, origin, ring, top);
                for &c in ring_vertices(ring).iter().filter(|c| finite(**c)) {
                    out.push(world(origin, c, base));
                    out.push(world(origin, c, top));
                }
            }
        }
    }
}

/// Appends a small cross at a point.
fn push_cross(out: &mut Vec<[f32; 3]>, origin: &SceneOrigin, c: Coord<f64>) {
    if !finite(c) {
        return;
    }
    let [x, y, z] = world(origin, c, POI_LIFT_M);
    out.extend([
        [x - POI_CROSS_HALF_M, y, z],
        [x + POI_CROSS_HALF_M, y, z],
        [x, y, z - POI_CROSS_HALF_M],
        [x, y, z + POI_CROSS_HALF_M],
    ]);
}

/// Default line colour of a layer kind without a scene style.
pub(crate) fn kind_colour(kind: LayerKind) -> [u8; 3] {
    match kind {
        LayerKind::Buildings => [220, 220, 225],
        LayerKind::Roads => [250, 170, 60],
        LayerKind::Zones => ZONES_DEFAULT_COLOUR,
        LayerKind::Pois => [240, 90, 140],
        LayerKind::Water => [80, 150, 235],
        LayerKind::Green => [100, 190, 100],
        LayerKind::Other => [160, 160, 160],
    }
}

/// The outlines of every layer that has something to draw, in layer order; the generated
/// zone grid (zones with no zones layer to belong to) comes last, hidden at start.
///
/// Style and start visibility come from the scene's layer of the same name; a layer the
/// scene does not list gets its kind's colour and is shown, unless it holds zones.
pub fn layer_outlines(city: &CityModel, scene: &Scene, settings: &OutlineSettings) -> Vec<LayerOutline> {
    let n = city.layers.len();
    let mut groups: Vec<Vec<[f32; 3]>> = vec![Vec::new(); n + 1];
    let origin = &city.origin;
    let slot = |layer: u16| (layer as usize).min(n);
    for b in city.buildings.iter().filter(|_| settings.buildings) {
        push_building(&mut groups[slot(b.layer.0)], origin, b, settings.building_roofs);
    }
    for r in city.roads.iter().filter(|_| settings.roads) {
        push_line(&mut groups[slot(r.layer.0)], origin, &r.line, ROAD_LIFT_M);
    }
    for a in city.areas.iter().filter(|_| settings.areas) {
        push_rings(&mut groups[slot(a.layer.0)], origin, &a.area, AREA_LIFT_M);
    }
    for p in city.pois.iter().filter(|_| settings.pois) {
        push_cross(&mut groups[slot(p.layer.0)], origin, p.point.0);
    }
    let zone_slot = city
        .layers
        .iter()
        .position(|l| l.kind == LayerKind::Zones)
        .unwrap_or(n);
    for z in &city.zones {
        push_rings(&mut groups[zone_slot], origin, &z.area, ZONE_LIFT_M);
    }

    groups
        .into_iter()
        .enumerate()
        .filter(|(_, positions)| !positions.is_empty())
        .map(|(index, positions)| {
            let (name, kind) = match city.layers.get(index) {
                Some(info) => (info.name.clone(), info.kind),
                None => (GENERATED_ZONES_NAME.to_string(), LayerKind::Zones),
            };
            let spec: Option<&LayerSpec> = scene.layers.iter().find(|s| s.name == name);
            let (colour, opacity, visible) = match spec {
                Some(s) => (s.style.colour, s.style.opacity, s.visible),
                None => (
                    kind_colour(kind),
                    Style::default().opacity,
                    kind != LayerKind::Zones,
                ),
            };
            LayerOutline {
                index,
                name,
                colour,
                opacity,
                visible,
                positions,
            }
        })
        .collect()
}

/// A line-list mesh from positions (two per segment).
pub fn line_mesh(positions: Vec<[f32; 3]>) -> Mesh {
    Mesh::new(PrimitiveTopology::LineList, RenderAssetUsages::RENDER_WORLD)
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
}

/// An unlit material of an sRGB colour and opacity.
fn unlit(colour: [u8; 3], opacity: f32) -> StandardMaterial {
    let [r, g, b] = colour;
    let opacity = opacity.clamp(0.0, 1.0);
    StandardMaterial {
        base_color: Color::srgb_u8(r, g, b).with_alpha(opacity),
        unlit: true,
        alpha_mode: if opacity < 1.0 {
            AlphaMode::Blend
        } else {
            AlphaMode::Opaque
        },
        ..default()
    }
}

/// Spawns one outline entity per layer with something to draw, and the ground plane.
fn spawn_outlines(
    mut commands: Commands,
    loaded: Res<LoadedCity>,
    settings: Res<OutlineSettings>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    let city = &loaded.0.city;
    let outlines = layer_outlines(city, &loaded.0.scene, &settings);
    let segments: usize = outlines.iter().map(|o| o.positions.len() / 2).sum();
    info!("outline: {} layers, {segments} line segments", outlines.len());
    for o in outlines {
        commands.spawn((
            Name::new(format!("layer {}", o.name)),
            LayerEntity { index: o.index },
            Mesh3d(meshes.add(line_mesh(o.positions))),
            MeshMaterial3d(materials.add(unlit(o.colour, o.opacity))),
            Transform::IDENTITY,
            if o.visible {
                Visibility::Visible
            } else {
                Visibility::Hidden
            },
            DespawnOnExit(AppState::Ready),
        ));
    }

    if let Some(b) = city.bbox() {
        let lo = city.origin.local(Coord { x: b[0], y: b[1] });
        let hi = city.origin.local(Coord { x: b[2], y: b[3] });
        let centre = Vec3::new((lo[0] + hi[0]) / 2.0, GROUND_Y_M, -(lo[1] + hi[1]) / 2.0);
        let size = Vec2::new(hi[0] - lo[0], hi[1] - lo[1]) * GROUND_MARGIN;
        let size = size.max(Vec2::splat(GROUND_MIN_SIDE_M));
        commands.spawn((
            Name::new("ground"),
            GroundPlane,
            Mesh3d(meshes.add(Plane3d::default().mesh().size(size.x, size.y))),
            MeshMaterial3d(materials.add(unlit(GROUND_COLOUR, 1.0))),
            Transform::from_translation(centre),
            DespawnOnExit(AppState::Ready),
        ));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;

    use geo_types::{LineString, Point, Polygon};

    use super::*;
    use crate::twin::city::{Building, LayerId, LayerInfo, Poi, Road, Zone};
    use crate::twin::crs::Crs;
    use crate::twin::gis::layer::{CatalogueEntry, LayerFormat, SkipReport};
    use crate::twin::heights::HeightSource;

    /// Origin of the test city (a Helsinki-like EPSG:3067 position).
    const OX: f64 = 385_000.0;
    const OY: f64 = 6_672_000.0;

    fn info(name: &str, kind: LayerKind) -> LayerInfo {
        LayerInfo {
            name: name.to_string(),
            kind,
            format: LayerFormat::Generated,
            source_crs: None,
            feature_count: 1,
            skipped: SkipReport::default(),
            catalogue: CatalogueEntry::default(),
            error: None,
        }
    }

    /// A scene with a red building layer, a hidden road layer and a POI layer.
    pub(crate) fn tiny_scene() -> Scene {
        let text = r#"(
            name: "tiny",
            layers: [
                (name: "b", path: "b.geojson", kind: buildings, style: (colour: (255, 0, 0))),
                (name: "r", path: "r.geojson", kind: roads, visible: false),
                (name: "p", path: "p.geojson", kind: pois),
            ],
        )"#;
        Scene::parse(text, Path::new("tiny.ron")).expect("tiny scene parses")
    }

    /// One 10 m square building 12 m high, one 3-point road, one POI, one zone.
    /// The tiny city as a loaded scene, as the loader would hand it to the app.
    pub(crate) fn tiny_loaded_scene() -> crate::twin::load::LoadedScene {
        let city = tiny_city();
        crate::twin::load::LoadedScene {
            scene: tiny_scene(),
            path: std::path::PathBuf::from("tiny.ron"),
            report: crate::twin::load::LoadReport {
                layers: Vec::new(),
                scene_crs: city.crs.clone(),
                total_s: 0.0,
                zones_dropped: 0,
            },
            city,
        }
    }

    pub(crate) fn tiny_city() -> CityModel {
        let mut city = CityModel::empty("tiny", Crs::Epsg(3067), SceneOrigin { x: OX, y: OY });
        city.layers = vec![
            info("b", LayerKind::Buildings),
            info("r", LayerKind::Roads),
            info("p", LayerKind::Pois),
        ];
        let square = Polygon::new(
            LineString::from(vec![
                (OX, OY),
                (OX + 10.0, OY),
                (OX + 10.0, OY + 10.0),
                (OX, OY + 10.0),
                (OX, OY),
            ]),
            vec![],
        );
        city.buildings.push(Building {
            layer: LayerId(0),
            source_id: 1,
            footprint: MultiPolygon(vec![square.clone()]),
            height_m: 12.0,
            min_height_m: 0.0,
            height_source: HeightSource::Measured,
            name: None,
            usage: "residential".to_string(),
            attributes: Default::default(),
        });
        city.roads.push(Road {
            layer: LayerId(1),
            source_id: 2,
            line: LineString::from(vec![(OX - 50.0, OY), (OX, OY), (OX + 50.0, OY + 5.0)]),
            class: "residential".to_string(),
            lanes: None,
            maxspeed_kmh: None,
            oneway: false,
            name: None,
        });
        city.pois.push(Poi {
            layer: LayerId(2),
            source_id: 3,
            point: Point::new(OX + 5.0, OY + 5.0),
            category: "amenity".to_string(),
            kind: "school".to_string(),
            name: None,
        });
        city.zones.push(Zone {
            name: "z".to_string(),
            area: MultiPolygon(vec![square]),
            generated: true,
        });
        city
    }

    /// Vertices of the square building with roofs: 4 edges at base, 4 at roof, 4 walls.
    pub(crate) const BUILDING_VERTICES: usize = 2 * (4 + 4 + 4);
    /// Vertices of the 3-point road: 2 segments.
    pub(crate) const ROAD_VERTICES: usize = 2 * 2;
    /// Vertices of a POI cross: 2 segments.
    pub(crate) const POI_VERTICES: usize = 2 * 2;
    /// Vertices of the square zone: 4 edges.
    pub(crate) const ZONE_VERTICES: usize = 2 * 4;

    #[test]
    fn outlines_per_layer_with_styles() {
        let out = layer_outlines(&tiny_city(), &tiny_scene(), &OutlineSettings::default());
        let summary: Vec<_> = out
            .iter()
            .map(|o| (o.index, o.name.as_str(), o.positions.len(), o.visible))
            .collect();
        assert_eq!(
            summary,
            vec![
                (0, "b", BUILDING_VERTICES, true),
                (1, "r", ROAD_VERTICES, false),
                (2, "p", POI_VERTICES, true),
                (3, GENERATED_ZONES_NAME, ZONE_VERTICES, false),
            ]
        );
        assert_eq!(out[0].colour, [255, 0, 0]);
        assert_eq!(out[3].colour, ZONES_DEFAULT_COLOUR);
    }

    #[test]
    fn positions_are_local_y_up_and_north_is_minus_z() {
        let out = layer_outlines(&tiny_city(), &tiny_scene(), &OutlineSettings::default());
        let b = &out[0].positions;
        // First base edge: (0,0) → (10,0) east, at the base lift.
        assert_eq!(b[0], [0.0, BUILDING_BASE_LIFT_M, 0.0]);
        assert_eq!(b[1], [10.0, BUILDING_BASE_LIFT_M, 0.0]);
        // Every vertex is within the 10 m square, north mapped to −z, up to the roof.
        for p in b {
            assert!(
                (0.0..=10.0).contains(&p[0]) && (-10.0..=0.0).contains(&p[2]),
                "{p:?}"
            );
            assert!(p[1] == BUILDING_BASE_LIFT_M || p[1] == 12.0, "{p:?}");
        }
    }

    #[test]
    fn roofs_can_be_left_out() {
        let flat = OutlineSettings {
            building_roofs: false,
            ..OutlineSettings::default()
        };
        let out = layer_outlines(&tiny_city(), &tiny_scene(), &flat);
        assert_eq!(out[0].positions.len(), 2 * 4);
    }
}
