//! Picking buildings with the mouse: the ray under the cursor (from the camera) is turned
//! into the scene frame and cast into a [`BuildingIndex`]; the building under the cursor is
//! [`HoveredBuilding`], a left click (press and release without a drag) makes it the
//! [`SelectedBuilding`], highlighted through [`BuildingColours`]. Escape, or a click on
//! nothing, clears the selection. The mouse is left alone while it is over egui.

use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::input::EguiWantsInput;

use crate::app::camera::CameraRig;
use crate::app::city_view::{BuildingColours, BuildingTile};
use crate::app::loading::LoadedCity;
use crate::app::outline::LayerEntity;
use crate::app::ui::UiCovered;
use crate::app::{AppState, AppSystems};
use crate::twin::city::{BuildingId, CityModel};
use crate::twin::picking::{BuildingIndex, from_render_dir, from_render_point};

/// Farthest the pointer may move between press and release for a click, logical pixels.
const CLICK_SLOP_PX: f32 = 4.0;
/// Colour of the selected building (sRGB).
pub const HIGHLIGHT_COLOUR: Color = Color::srgb(1.0, 0.78, 0.12);

/// Builds the [`PickIndex`] when the scene is ready, and keeps [`HoveredBuilding`] and
/// [`SelectedBuilding`] up to date from the mouse.
pub struct PickingPlugin;

impl Plugin for PickingPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<HoveredBuilding>()
            .init_resource::<SelectedBuilding>()
            .init_resource::<PickingPaused>()
            .init_resource::<Highlight>()
            .add_systems(OnEnter(AppState::Ready), build_index)
            .add_systems(
                Update,
                (
                    pick_under_cursor.run_if(resource_exists::<PickIndex>),
                    highlight_selection,
                )
                    .chain()
                    .in_set(AppSystems::Ui),
            );
    }
}

/// The spatial index of the loaded city's buildings.
#[derive(Resource, Debug, Clone)]
pub struct PickIndex(pub BuildingIndex);

/// The building under the mouse pointer, if any.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HoveredBuilding(pub Option<BuildingId>);

/// The building last clicked, if any.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SelectedBuilding(pub Option<BuildingId>);

/// While true, clicks do not select buildings (a map tool uses them); hovering goes on.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PickingPaused(pub bool);

/// Indexes the loaded city's buildings.
fn build_index(mut commands: Commands, loaded: Res<LoadedCity>) {
    let index = BuildingIndex::new(&loaded.0.city);
    debug!("picking index: {} buildings", index.len());
    commands.insert_resource(PickIndex(index));
}

/// The nearest shown building on a ray of the render frame (Bevy world coordinates).
pub fn pick_render_ray(
    index: &BuildingIndex,
    city: &CityModel,
    ray: Ray3d,
    shown: impl Fn(BuildingId) -> bool,
) -> Option<(BuildingId, f64)> {
    let o = ray.origin.as_dvec3().to_array();
    let d = ray.direction.as_dvec3().to_array();
    index.pick_where(
        city,
        from_render_point(&city.origin, o),
        from_render_dir(d),
        shown,
    )
}

/// Where the primary button went down over the 3D view, until it moves too far or is released.
#[derive(Debug, Default)]
struct PressState {
    at: Option<Vec2>,
}

/// Casts the ray under the cursor; sets the hovered building, and the selected one on a click.
#[allow(clippy::too_many_arguments)]
fn pick_under_cursor(
    index: Res<PickIndex>,
    loaded: Res<LoadedCity>,
    window: Query<&Window, With<PrimaryWindow>>,
    cameras: Query<(&Camera, &GlobalTransform), With<CameraRig>>,
    buttons: Option<Res<ButtonInput<MouseButton>>>,
    keys: Option<Res<ButtonInput<KeyCode>>>,
    egui: Option<Res<EguiWantsInput>>,
    covered: Option<Res<UiCovered>>,
    colours: Option<Res<BuildingColours>>,
    tiles: Query<(&LayerEntity, &Visibility), With<BuildingTile>>,
    paused: Option<Res<PickingPaused>>,
    mut press: Local<PressState>,
    mut hovered: ResMut<HoveredBuilding>,
    mut selected: ResMut<SelectedBuilding>,
) {
    let city = &loaded.0.city;
    let cursor = window.single().ok().and_then(Window::cursor_position);
    let on_ui = egui.as_ref().is_some_and(|e| e.wants_any_pointer_input())
        || matches!((cursor, &covered), (Some(p), Some(c)) if c.contains(p));

    // Layers with at least one shown tile; buildings with a visible colour.
    let mut layer_shown = vec![false; city.layers.len()];
    for (layer, vis) in &tiles {
        if *vis != Visibility::Hidden
            && let Some(s) = layer_shown.get_mut(layer.index)
        {
            *s = true;
        }
    }
    let shown = |id: BuildingId| {
        let Some(b) = city.building(id) else { return false };
        let layer_ok = layer_shown.get(b.layer.0 as usize).copied().unwrap_or(false);
        let colour_ok = colours
            .as_ref()
            .and_then(|c| c.colours.get(id.0 as usize))
            .is_none_or(|c| c[3] > 0.0);
        layer_ok && colour_ok
    };

    let hit = match (cursor, on_ui) {
        (Some(pos), false) => cameras.iter().find_map(|(camera, transform)| {
            let ray = camera.viewport_to_world(transform, pos).ok()?;
            Some(pick_render_ray(&index.0, city, ray, shown).map(|(id, _)| id))
        }),
        _ => None,
    }
    .flatten();
    hovered.set_if_neq(HoveredBuilding(hit));

    // A click is a press and release over the 3D view without moving more than the slop.
    if let Some(buttons) = buttons {
        if buttons.just_pressed(MouseButton::Left) {
            press.at = if on_ui { None } else { cursor };
        }
        if let (Some(start), Some(now)) = (press.at, cursor)
            && start.distance(now) > CLICK_SLOP_PX
        {
            press.at = None;
        }
        if buttons.just_released(MouseButton::Left) {
            if press.at.take().is_some() && !on_ui && !paused.is_some_and(|p| p.0) {
                selected.set_if_neq(SelectedBuilding(hit));
            }
        } else if !buttons.pressed(MouseButton::Left) {
            press.at = None;
        }
    }
    let keyboard_on_ui = egui.as_ref().is_some_and(|e| e.wants_any_keyboard_input());
    if keys.is_some_and(|k| k.just_pressed(KeyCode::Escape)) && !keyboard_on_ui {
        selected.set_if_neq(SelectedBuilding(None));
    }
}

/// The building now drawn highlighted, and the colour it had before. Whoever rewrites
/// [`BuildingColours`] wholesale resets `saved` and applies the highlight again.
#[derive(Resource, Debug, Default, Clone, Copy, PartialEq)]
pub struct Highlight {
    /// `(building index, its previous linear RGBA)`.
    pub saved: Option<(usize, [f32; 4])>,
}

impl Highlight {
    /// Restores the previously highlighted building's colour, then highlights `selected`
    /// (remembering its colour). Hidden buildings (alpha 0) stay hidden.
    pub fn apply(&mut self, colours: &mut BuildingColours, selected: Option<BuildingId>) {
        if let Some((index, previous)) = self.saved.take()
            && let Some(c) = colours.colours.get_mut(index)
        {
            *c = previous;
        }
        let Some(id) = selected else { return };
        let index = id.0 as usize;
        let Some(&previous) = colours.colours.get(index) else {
            return;
        };
        if previous[3] > 0.0 && colours.set(index, HIGHLIGHT_COLOUR) {
            self.saved = Some((index, previous));
        }
    }
}

/// Follows [`SelectedBuilding`] with the highlight colour.
fn highlight_selection(
    selected: Res<SelectedBuilding>,
    colours: Option<ResMut<BuildingColours>>,
    mut highlight: ResMut<Highlight>,
) {
    let Some(mut colours) = colours else { return };
    if !selected.is_changed() && !colours.is_added() {
        return;
    }
    let wanted = selected.0.map(|id| id.0 as usize);
    if highlight.saved.map(|(i, _)| i) == wanted && !colours.is_added() {
        return;
    }
    highlight.apply(&mut colours, selected.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn colours(n: usize) -> BuildingColours {
        BuildingColours {
            colours: (0..n).map(|i| [i as f32 / 10.0, 0.5, 0.5, 1.0]).collect(),
            buffer: Handle::default(),
        }
    }

    #[test]
    fn ready_builds_the_index_and_selection_highlights() {
        use bevy::state::app::StatesPlugin;

        let loaded = crate::app::outline::tests::tiny_loaded_scene();
        let n = loaded.city.buildings.len();
        assert!(n > 0);
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, StatesPlugin))
            .init_state::<AppState>()
            .add_plugins(PickingPlugin)
            .insert_resource(LoadedCity(std::sync::Arc::new(loaded)))
            .insert_resource(colours(n));
        app.world_mut()
            .resource_mut::<NextState<AppState>>()
            .set(AppState::Ready);
        app.update();
        assert_eq!(app.world().resource::<PickIndex>().0.len(), n);
        // No window: nothing is hovered.
        assert_eq!(*app.world().resource::<HoveredBuilding>(), HoveredBuilding(None));
        let before = app.world().resource::<BuildingColours>().colours.clone();
        app.world_mut().resource_mut::<SelectedBuilding>().0 = Some(BuildingId(0));
        app.update();
        let lit = app.world().resource::<BuildingColours>().colours.clone();
        assert_ne!(lit[0], before[0]);
        assert_eq!(lit[1..], before[1..]);
        app.world_mut().resource_mut::<SelectedBuilding>().0 = None;
        app.update();
        assert_eq!(app.world().resource::<BuildingColours>().colours, before);
    }

    #[test]
    fn highlight_restores_the_previous_colour() {
        let mut c = colours(3);
        let before = c.colours.clone();
        let mut h = Highlight::default();
        h.apply(&mut c, Some(BuildingId(1)));
        assert_ne!(c.colours[1], before[1]);
        assert_eq!(h.saved, Some((1, before[1])));
        h.apply(&mut c, Some(BuildingId(2)));
        assert_eq!(c.colours[1], before[1]);
        assert_ne!(c.colours[2], before[2]);
        h.apply(&mut c, None);
        assert_eq!(c.colours, before);
        // Out of range and hidden buildings are left alone.
        h.apply(&mut c, Some(BuildingId(9)));
        c.colours[0][3] = 0.0;
        let hidden = c.colours.clone();
        h.apply(&mut c, Some(BuildingId(0)));
        assert_eq!(c.colours, hidden);
        assert_eq!(h.saved, None);
    }
}
