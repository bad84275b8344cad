//! How the city shows a scenario: the baseline buildings' colours composed from their
//! start colours, the scenario's marks (demolished = hidden, changed = tinted, rebuilt =
//! hidden here and drawn new) and the selection, written into [`BuildingColours`] (no mesh
//! is rebuilt); and an overlay of what the scenario adds or reshapes (new and rebuilt
//! buildings extruded with their own colour buffer, parks, transit stops, marked roads).
//! With [`CompareView::show_baseline`] the city shows the baseline instead.

use std::collections::{BTreeMap, BTreeSet};

use bevy::asset::RenderAssetUsages;
use bevy::camera::primitives::Aabb;
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::prelude::*;
use bevy::render::storage::ShaderBuffer;
use geo_types::MultiPolygon;

use crate::app::city_view::{BuildingColours, BuildingMaterial, TILE_M, initial_colours, tile_mesh};
use crate::app::loading::LoadedCity;
use crate::app::picking::{HIGHLIGHT_COLOUR, Highlight, SelectedBuilding};
use crate::app::scenario_draw::render_ground_point;
use crate::app::{AppState, AppSystems};
use crate::twin::city::{Building, BuildingId, CityModel};
use crate::twin::extrude::extrude_city;
use crate::twin::ground::{GroundMesh, push_polygon_fill};

/// Share of the mark colour blended into a changed building's colour.
const TINT_SHARE: f32 = 0.6;
/// Colour of buildings whose height, storeys or use changed (sRGB).
pub const CHANGED_TINT: [f32; 3] = [0.62, 0.36, 0.95];
/// Colour of buildings with rooftop solar (sRGB).
pub const SOLAR_TINT: [f32; 3] = [1.0, 0.62, 0.1];
/// Colour of buildings the scenario adds or rebuilds (sRGB).
pub const ADDED_COLOUR: [f32; 3] = [0.25, 0.78, 0.95];
/// Colour of new parks and green lots (sRGB).
const PARK_COLOUR: Color = Color::srgba(0.3, 0.72, 0.32, 0.85);
/// Height of park fills above the ground, metres (over zones and areas, under roads).
const PARK_LIFT_M: f32 = 0.14;
/// Radius and height of a transit stop marker, metres.
const STOP_RADIUS_M: f32 = 3.0;
/// Height of a transit stop marker, metres.
const STOP_HEIGHT_M: f32 = 14.0;
/// Height above the ground marked roads are drawn at, metres.
const ROAD_MARK_LIFT_M: f32 = 0.8;

/// What a scenario does to one baseline building.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BuildingMark {
    /// Its use or other attributes changed: tinted.
    Changed,
    /// It gets rooftop solar: tinted.
    Solar,
    /// Its shape changed (height, storeys): hidden here, drawn anew in the overlay.
    Rebuilt,
    /// Demolished, or its lot turned green: hidden.
    Removed,
}

impl BuildingMark {
    /// True when the baseline building is not drawn.
    pub fn hides(self) -> bool {
        matches!(self, BuildingMark::Rebuilt | BuildingMark::Removed)
    }
}

/// What a scenario does to a road.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RoadMark {
    /// Closed to cars.
    Closed,
    /// A bike lane added.
    BikeLane,
    /// Speed limit changed.
    Speed,
}

impl RoadMark {
    /// The colour a marked road is drawn in.
    pub fn colour(self) -> Color {
        match self {
            RoadMark::Closed => Color::srgb(0.95, 0.25, 0.25),
            RoadMark::BikeLane => Color::srgb(0.2, 0.9, 0.45),
            RoadMark::Speed => Color::srgb(0.35, 0.6, 1.0),
        }
    }
}

/// A transit stop the scenario adds.
#[derive(Debug, Clone, PartialEq)]
pub struct StopMark {
    /// Where, scene CRS.
    pub at: [f64; 2],
    /// Its colour (by mode).
    pub colour: Color,
}

/// What the scenario changes, in the terms the view draws (filled by the scenario plugin
/// from the core's applied scenario).
#[derive(Resource, Debug, Clone, Default)]
pub struct ScenarioMarks {
    /// Marks on baseline buildings; the strongest mark wins.
    pub buildings: BTreeMap<BuildingId, BuildingMark>,
    /// Buildings to draw anew: added ones and the rebuilt shapes of baseline ones.
    pub new_buildings: Vec<Building>,
    /// New parks and green lots.
    pub parks: Vec<MultiPolygon<f64>>,
    /// New transit stops.
    pub stops: Vec<StopMark>,
    /// Marked roads: centre line (scene CRS) and mark.
    pub roads: Vec<(Vec<[f64; 2]>, RoadMark)>,
    /// Transit lines through stops, as polylines (scene CRS).
    pub lines: Vec<Vec<[f64; 2]>>,
}

impl ScenarioMarks {
    /// Marks a building, keeping the strongest mark.
    pub fn mark(&mut self, id: BuildingId, mark: BuildingMark) {
        let m = self.buildings.entry(id).or_insert(mark);
        *m = (*m).max(mark);
    }
}

/// Baseline or scenario on screen (key B, or the panel's button).
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompareView {
    /// True: the city shows the baseline, the scenario is hidden.
    pub show_baseline: bool,
}

/// The buildings selected for edits (Shift+click adds or removes; a plain click replaces).
#[derive(Resource, Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildingSelection(pub BTreeSet<BuildingId>);

/// Each baseline building's start colour (from the scene's layer styles).
#[derive(Resource, Debug, Clone, Default)]
pub struct BaseColours(pub Vec<[f32; 4]>);

/// Marks an entity of the scenario overlay.
#[derive(Component, Debug, Clone, Copy)]
pub struct ScenarioOverlay;

/// The overlay buildings' colour buffer and material (one colour per overlay building).
#[derive(Resource, Debug, Clone)]
pub struct OverlayMaterial {
    /// The material the overlay tiles share.
    pub material: Handle<BuildingMaterial>,
    /// Its colour buffer.
    pub buffer: Handle<ShaderBuffer>,
}

/// Blends an sRGB tint into a linear colour.
fn tint(c: [f32; 4], t: [f32; 3]) -> [f32; 4] {
    let l = Color::srgb(t[0], t[1], t[2]).to_linear();
    let mix = |a: f32, b: f32| a * (1.0 - TINT_SHARE) + b * TINT_SHARE;
    [mix(c[0], l.red), mix(c[1], l.green), mix(c[2], l.blue), c[3]]
}

/// The colours to draw: the base colours with the scenario's marks (unless the baseline is
/// shown) and the selection (in the highlight colour; the picked building is left to the
/// picking highlight).
pub fn compose_colours(
    base: &[[f32; 4]],
    marks: &ScenarioMarks,
    show_baseline: bool,
    selection: &BTreeSet<BuildingId>,
) -> Vec<[f32; 4]> {
    let mut out = base.to_vec();
    if !show_baseline {
        for (id, mark) in &marks.buildings {
            let Some(c) = out.get_mut(id.0 as usize) else {
                continue;
            };
            *c = match mark {
                BuildingMark::Changed => tint(*c, CHANGED_TINT),
                BuildingMark::Solar => tint(*c, SOLAR_TINT),
                BuildingMark::Rebuilt | BuildingMark::Removed => [c[0], c[1], c[2], 0.0],
            };
        }
    }
    let lit = HIGHLIGHT_COLOUR.to_linear();
    for id in selection {
        if let Some(c) = out.get_mut(id.0 as usize)
            && c[3] > 0.0
        {
            *c = [lit.red, lit.green, lit.blue, 1.0];
        }
    }
    out
}

/// Draws the scenario on the city (window and headless alike; the overlay needs the
/// building material's assets, which the city view sets up).
pub struct ScenarioViewPlugin;

impl Plugin for ScenarioViewPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<ScenarioMarks>()
            .init_resource::<CompareView>()
            .init_resource::<BuildingSelection>()
            .init_resource::<BaseColours>()
            .add_systems(
                Update,
                (follow_selection, compare_key)
                    .in_set(AppSystems::Ingest)
                    .run_if(in_state(AppState::Ready)),
            )
            .add_systems(
                Update,
                (
                    compose_building_colours.run_if(resource_exists::<BuildingColours>),
                    rebuild_overlay.run_if(resource_exists::<LoadedCity>),
                )
                    .in_set(AppSystems::Visuals)
                    .run_if(in_state(AppState::Ready)),
            );
        if app.is_plugin_added::<bevy::gizmos::GizmoPlugin>() {
            app.add_systems(
                Update,
                draw_marked_roads
                    .in_set(AppSystems::Visuals)
                    .run_if(resource_exists::<LoadedCity>),
            );
        }
    }
}

/// True while either Shift key is held.
fn shift_held(keys: Option<&ButtonInput<KeyCode>>) -> bool {
    keys.is_some_and(|k| k.any_pressed([KeyCode::ShiftLeft, KeyCode::ShiftRight]))
}

/// Follows clicks into the selection: a click replaces it, a Shift+click adds the
/// building (or removes it when already selected); a plain click on nothing clears it.
fn follow_selection(
    selected: Res<SelectedBuilding>,
    keys: Option<Res<ButtonInput<KeyCode>>>,
    mut selection: ResMut<BuildingSelection>,
) {
    if !selected.is_changed() {
        return;
    }
    let shift = shift_held(keys.as_deref());
    match (selected.0, shift) {
        (Some(id), true) => {
            if !selection.0.remove(&id) {
                selection.0.insert(id);
            }
        }
        (Some(id), false) => {
            if selection.0.len() != 1 || !selection.0.contains(&id) {
                selection.0 = BTreeSet::from([id]);
            }
        }
        (None, false) => {
            if !selection.0.is_empty() {
                selection.0.clear();
            }
        }
        (None, true) => {}
    }
}

/// Key B switches between baseline and scenario.
fn compare_key(
    keys: Option<Res<ButtonInput<KeyCode>>>,
    egui: Option<Res<bevy_egui::input::EguiWantsInput>>,
    mut view: ResMut<CompareView>,
) {
    if egui.is_some_and(|e| e.wants_any_keyboard_input()) {
        return;
    }
    if keys.is_some_and(|k| k.just_pressed(KeyCode::KeyB)) {
        view.show_baseline = !view.show_baseline;
    }
}

/// Rewrites the building colours when the marks, the view or the selection change, then
/// lets the picking highlight apply again on top.
#[allow(clippy::too_many_arguments)]
fn compose_building_colours(
    loaded: Res<LoadedCity>,
    marks: Res<ScenarioMarks>,
    view: Res<CompareView>,
    selection: Res<BuildingSelection>,
    selected: Res<SelectedBuilding>,
    mut base: ResMut<BaseColours>,
    mut colours: ResMut<BuildingColours>,
    mut highlight: ResMut<Highlight>,
) {
    let city = &loaded.0.city;
    if base.0.len() != city.buildings.len() {
        base.0 = initial_colours(city, &loaded.0.scene);
    } else if !(marks.is_changed() || view.is_changed() || selection.is_changed() || colours.is_added()) {
        return;
    }
    let mut others = selection.0.clone();
    if let Some(id) = selected.0 {
        others.remove(&id);
    }
    colours.colours = compose_colours(&base.0, &marks, view.show_baseline, &others);
    highlight.saved = None;
    highlight.apply(&mut colours, selected.0);
}

/// A flat, upward-facing mesh of a ground mesh.
fn flat_mesh(g: GroundMesh) -> Mesh {
    let n = g.positions.len();
    Mesh::new(PrimitiveTopology::TriangleList, RenderAssetUsages::default())
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, g.positions)
        .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, vec![[0.0f32, 1.0, 0.0]; n])
        .with_inserted_indices(Indices::U32(g.indices))
}

/// The city holding only the overlay buildings (same CRS and origin), for extrusion.
fn overlay_city(city: &CityModel, buildings: &[Building]) -> CityModel {
    let mut c = CityModel::empty(&city.name, city.crs.clone(), city.origin);
    c.buildings = buildings.to_vec();
    c
}

/// Rebuilds the overlay when the marks or the view change: new and rebuilt buildings,
/// parks and stops (all hidden while the baseline is shown).
#[allow(clippy::too_many_arguments)]
fn rebuild_overlay(
    mut commands: Commands,
    loaded: Res<LoadedCity>,
    marks: Res<ScenarioMarks>,
    view: Res<CompareView>,
    old: Query<Entity, With<ScenarioOverlay>>,
    overlay: Option<Res<OverlayMaterial>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut building_materials: ResMut<Assets<BuildingMaterial>>,
    mut buffers: ResMut<Assets<ShaderBuffer>>,
    std_materials: Option<ResMut<Assets<StandardMaterial>>>,
) {
    if !(marks.is_changed() || view.is_changed()) {
        return;
    }
    for e in &old {
        commands.entity(e).despawn();
    }
    if view.show_baseline {
        return;
    }
    let city = &loaded.0.city;
    let origin = &city.origin;

    // New and rebuilt buildings, in their own colour buffer.
    let [r, g, b] = ADDED_COLOUR;
    let l = Color::srgb(r, g, b).to_linear();
    let colours: Vec<[f32; 4]> = vec![[l.red, l.green, l.blue, 1.0]; marks.new_buildings.len().max(1)];
    let overlay = match overlay {
        Some(o) => {
            if let Some(mut buf) = buffers.get_mut(&o.buffer) {
                buf.set_data(colours);
            }
            o.clone()
        }
        None => {
            let buffer = buffers.add(ShaderBuffer::from(colours));
            let material = building_materials.add(BuildingMaterial {
                colours: buffer.clone(),
            });
            let o = OverlayMaterial { material, buffer };
            commands.insert_resource(o.clone());
            o
        }
    };
    if !marks.new_buildings.is_empty() {
        let (tiles, report) = extrude_city(&overlay_city(city, &marks.new_buildings), TILE_M);
        if report.skipped() > 0 {
            warn!(
                "scenario overlay: {} buildings could not be extruded",
                report.skipped()
            );
        }
        for tile in tiles {
            let aabb = Aabb::from_min_max(Vec3::from(tile.bbox_min), Vec3::from(tile.bbox_max));
            commands.spawn((
                Name::new(format!("scenario buildings tile {:?}", tile.tile)),
                ScenarioOverlay,
                Mesh3d(meshes.add(tile_mesh(tile))),
                MeshMaterial3d(overlay.material.clone()),
                Transform::IDENTITY,
                aabb,
                DespawnOnExit(AppState::Ready),
            ));
        }
    }

    let Some(mut std_materials) = std_materials else {
        return;
    };
    if !marks.parks.is_empty() {
        let mut ground = GroundMesh::new((0, 0));
        for (i, park) in marks.parks.iter().enumerate() {
            if let Err(e) = push_polygon_fill(&mut ground, park, PARK_LIFT_M, i as u32, origin) {
                warn!("scenario park {i} cannot be drawn: {e}");
            }
        }
        if !ground.is_empty() {
            let material = std_materials.add(StandardMaterial {
                base_color: PARK_COLOUR,
                unlit: true,
                alpha_mode: AlphaMode::Blend,
                ..default()
            });
            commands.spawn((
                Name::new("scenario parks"),
                ScenarioOverlay,
                Mesh3d(meshes.add(flat_mesh(ground))),
                MeshMaterial3d(material),
                Transform::IDENTITY,
                DespawnOnExit(AppState::Ready),
            ));
        }
    }
    if !marks.stops.is_empty() {
        let marker = meshes.add(Cylinder::new(STOP_RADIUS_M, STOP_HEIGHT_M));
        for stop in &marks.stops {
            let at = render_ground_point(origin, stop.at, STOP_HEIGHT_M / 2.0);
            commands.spawn((
                Name::new("scenario stop"),
                ScenarioOverlay,
                Mesh3d(marker.clone()),
                MeshMaterial3d(std_materials.add(StandardMaterial {
                    base_color: stop.colour,
                    unlit: true,
                    ..default()
                })),
                Transform::from_translation(at),
                DespawnOnExit(AppState::Ready),
            ));
        }
    }
}

/// Draws marked roads and transit lines over the streets.
fn draw_marked_roads(
    loaded: Res<LoadedCity>,
    marks: Res<ScenarioMarks>,
    view: Res<CompareView>,
    mut gizmos: Gizmos,
) {
    if view.show_baseline {
        return;
    }
    let origin = &loaded.0.city.origin;
    for (line, mark) in &marks.roads {
        gizmos.linestrip(
            line.iter()
                .map(|p| render_ground_point(origin, *p, ROAD_MARK_LIFT_M)),
            mark.colour(),
        );
    }
    for line in &marks.lines {
        gizmos.linestrip(
            line.iter()
                .map(|p| render_ground_point(origin, *p, STOP_HEIGHT_M)),
            Color::srgb(0.95, 0.3, 0.75),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_hide_and_tint_and_the_baseline_view_ignores_them() {
        let base = vec![[0.5, 0.5, 0.5, 1.0]; 4];
        let mut marks = ScenarioMarks::default();
        marks.mark(BuildingId(0), BuildingMark::Removed);
        marks.mark(BuildingId(1), BuildingMark::Changed);
        marks.mark(BuildingId(2), BuildingMark::Solar);
        // A stronger mark wins over a weaker one, in either order.
        marks.mark(BuildingId(2), BuildingMark::Changed);
        marks.mark(BuildingId(9), BuildingMark::Removed);
        let none = BTreeSet::new();
        let c = compose_colours(&base, &marks, false, &none);
        assert_eq!(c[0][3], 0.0);
        assert_ne!(c[1], base[1]);
        assert_ne!(c[2], base[2]);
        assert_ne!(c[1], c[2], "changed and solar differ");
        assert_eq!(c[3], base[3]);
        assert_eq!(compose_colours(&base, &marks, true, &none), base);
        // A selected building is lit, unless hidden.
        let sel = BTreeSet::from([BuildingId(0), BuildingId(3)]);
        let c = compose_colours(&base, &marks, false, &sel);
        assert_eq!(c[0][3], 0.0);
        let lit = HIGHLIGHT_COLOUR.to_linear();
        assert_eq!(c[3], [lit.red, lit.green, lit.blue, 1.0]);
    }
}
