//! The sun over the 3D city and its optional shadows.
//!
//! Buildings, ground features and POI markers are lit by one fixed sun written once in
//! WGSL (`shaders/sun.wgsl`, imported as `citytwin::sun`) and once here
//! ([`SUN_DIRECTION`]): lambert plus a soft ambient share, which reads well on a wall
//! display without any Bevy light. Sun shadows are optional ([`SunShadows`]: the scene's
//! `lighting: (shadows: true)`, the key [`SHADOWS_KEY`], the layers panel, or
//! `citytwin render --shadows`): when on, a Bevy [`DirectionalLight`] along the sun casts
//! cascaded shadow maps sized for the city, which the three shaders sample; when off, the
//! light does not exist, so no shadow pass runs and the shaders sample nothing.

use bevy::asset::uuid_handle;
use bevy::light::{CascadeShadowConfig, CascadeShadowConfigBuilder, DirectionalLightShadowMap};
use bevy::prelude::*;
use bevy_egui::input::EguiWantsInput;

use crate::app::camera::CityBounds;
use crate::app::loading::LoadedCity;
use crate::app::{AppState, AppSystems};

/// Direction toward the sun in the Bevy frame (x east, y up, z south), not normalised:
/// from the south-west, high. Must equal `SUN_DIRECTION` in `shaders/sun.wgsl` (a test
/// checks it).
pub const SUN_DIRECTION: Vec3 = Vec3::new(-0.35, 0.85, 0.40);

/// The shared sun shader (`shaders/sun.wgsl`, import path `citytwin::sun`), inserted into
/// `Assets<Shader>` under a fixed handle by every plugin whose shaders import it.
pub const SUN_SHADER: Handle<Shader> = uuid_handle!("c1d7e3a9-5f42-4b8e-9a06-7d3e1b5c8f24");

/// The key that turns sun shadows on and off.
pub const SHADOWS_KEY: KeyCode = KeyCode::KeyL;

/// Side of each shadow cascade's depth map, texels (a power of two).
pub const SHADOW_MAP_SIZE: usize = 4096;
/// Shadow cascades: near ones sharp, far ones covering the whole city.
pub const SHADOW_CASCADES: usize = 4;
/// Shadows reach this many city radii from the camera: the whole city framed (the camera
/// stands about two and a half radii from the centre) stays inside the last cascade.
const SHADOW_RANGE_RADII: f32 = 4.0;
/// Shortest shadow range, metres (a small city still gets street-scale cascades).
const MIN_SHADOW_RANGE_M: f32 = 1_500.0;
/// Longest shadow range, metres: beyond it shadows would be blurred to nothing.
const MAX_SHADOW_RANGE_M: f32 = 40_000.0;
/// The first cascade ends at this share of the range (later ones grow geometrically).
const FIRST_CASCADE_SHARE: f32 = 1.0 / 40.0;
/// Shortest first cascade, metres.
const MIN_FIRST_CASCADE_M: f32 = 100.0;
/// Overlap of neighbouring cascades, blended so that their seams do not show.
const CASCADE_OVERLAP: f32 = 0.2;

/// Whether the sun casts shadows now. Set at load from the scene (or
/// [`ShadowsOverride`]); toggled by [`SHADOWS_KEY`] and the layers panel.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SunShadows {
    /// Shadows on.
    pub on: bool,
}

/// Forces shadows on or off whatever the scene says (`citytwin render --shadows`,
/// `bench render --shadows`); insert it before the scene is ready.
#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShadowsOverride(pub bool);

/// Marks the directional light that stands for the sun while shadows are on.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sun;

/// The sun's light and shadows; the shared sun shader.
pub struct LightingPlugin;

impl Plugin for LightingPlugin {
    fn build(&self, app: &mut App) {
        insert_sun_shader(app);
        app.insert_resource(DirectionalLightShadowMap {
            size: SHADOW_MAP_SIZE,
        })
        .add_systems(OnEnter(AppState::Ready), init_shadows)
        .add_systems(
            Update,
            (toggle_shadows_key, sync_sun)
                .chain()
                .in_set(AppSystems::Visuals)
                .run_if(in_state(AppState::Ready)),
        );
    }
}

/// Inserts the shared sun shader under [`SUN_SHADER`] (where there is a renderer), so
/// that shaders can `#import citytwin::sun`. Idempotent.
pub(crate) fn insert_sun_shader(app: &mut App) {
    if let Some(mut shaders) = app.world_mut().get_resource_mut::<Assets<Shader>>() {
        let shader = Shader::from_wgsl(include_str!("../../shaders/sun.wgsl"), "shaders/sun.wgsl");
        if let Err(e) = shaders.insert(SUN_SHADER.id(), shader) {
            error!("cannot add the sun shader: {e}");
        }
    }
}

/// Shadows as the scene says, unless overridden.
fn init_shadows(mut commands: Commands, loaded: Res<LoadedCity>, forced: Option<Res<ShadowsOverride>>) {
    let on = forced.map_or(loaded.0.scene.lighting.shadows, |f| f.0);
    commands.insert_resource(SunShadows { on });
}

/// Flips [`SunShadows`] on [`SHADOWS_KEY`], unless egui has the keyboard.
fn toggle_shadows_key(
    keys: Option<Res<ButtonInput<KeyCode>>>,
    egui: Option<Res<EguiWantsInput>>,
    shadows: Option<ResMut<SunShadows>>,
) {
    let (Some(keys), Some(mut shadows)) = (keys, shadows) else {
        return;
    };
    if keys.just_pressed(SHADOWS_KEY) && !egui.is_some_and(|e| e.wants_any_keyboard_input()) {
        shadows.on = !shadows.on;
    }
}

/// The cascades of a city of this horizontal radius (metres; not finite: the shortest).
pub fn cascades_for_city(radius_m: f32) -> CascadeShadowConfig {
    let radius = if radius_m.is_finite() { radius_m } else { 0.0 };
    let range = (radius * SHADOW_RANGE_RADII).clamp(MIN_SHADOW_RANGE_M, MAX_SHADOW_RANGE_M);
    CascadeShadowConfigBuilder {
        num_cascades: SHADOW_CASCADES,
        minimum_distance: 1.0,
        maximum_distance: range,
        first_cascade_far_bound: (range * FIRST_CASCADE_SHARE).max(MIN_FIRST_CASCADE_M),
        overlap_proportion: CASCADE_OVERLAP,
    }
    .build()
}

/// Spawns the sun's shadow-casting light when shadows turn on (or the city's bounds are
/// known or change), despawns it when they turn off.
fn sync_sun(
    mut commands: Commands,
    shadows: Option<Res<SunShadows>>,
    bounds: Option<Res<CityBounds>>,
    suns: Query<Entity, With<Sun>>,
) {
    let Some(shadows) = shadows else { return };
    let bounds_changed = bounds.as_ref().is_some_and(|b| b.is_changed());
    if !shadows.is_changed() && !bounds_changed {
        return;
    }
    for sun in &suns {
        commands.entity(sun).despawn();
    }
    if !shadows.on {
        return;
    }
    let radius = bounds.map_or(MIN_SHADOW_RANGE_M, |b| b.radius);
    commands.spawn((
        Name::new("sun"),
        Sun,
        DirectionalLight {
            shadow_maps_enabled: true,
            ..default()
        },
        Transform::IDENTITY.looking_to(-SUN_DIRECTION, Vec3::Y),
        cascades_for_city(radius),
        DespawnOnExit(AppState::Ready),
    ));
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bevy::state::app::StatesPlugin;

    use super::*;

    /// The `SUN_DIRECTION` written in `shaders/sun.wgsl`.
    fn wgsl_sun_direction() -> Vec3 {
        let text = include_str!("../../shaders/sun.wgsl");
        let line = text
            .lines()
            .find(|l| l.starts_with("const SUN_DIRECTION"))
            .expect("sun.wgsl defines SUN_DIRECTION");
        let inside = line
            .rsplit_once("vec3<f32>(")
            .and_then(|(_, rest)| rest.split_once(')'))
            .expect("a vec3<f32>(x, y, z) literal")
            .0;
        let v: Vec<f32> = inside
            .split(',')
            .map(|s| s.trim().parse().expect("a number"))
            .collect();
        assert_eq!(v.len(), 3, "{line}");
        Vec3::new(v[0], v[1], v[2])
    }

    #[test]
    fn the_sun_is_written_once_in_rust_and_once_in_wgsl_and_they_agree() {
        assert_eq!(wgsl_sun_direction(), SUN_DIRECTION);
        // The other shaders import it and write no sun of their own.
        for (name, text) in [
            ("buildings", include_str!("../../shaders/buildings.wgsl")),
            ("ground", include_str!("../../shaders/ground.wgsl")),
            ("markers", include_str!("../../shaders/markers.wgsl")),
        ] {
            assert!(text.contains("#import citytwin::sun"), "{name}");
            assert!(!text.contains("const SUN_DIRECTION"), "{name}");
            assert!(!text.contains("const AMBIENT"), "{name}");
        }
        // The sun is above the horizon, to the south-west (x west is negative, z south positive).
        const { assert!(SUN_DIRECTION.y > 0.0 && SUN_DIRECTION.x < 0.0 && SUN_DIRECTION.z > 0.0) };
    }

    #[test]
    fn cascades_cover_the_framed_city() {
        let small = cascades_for_city(50.0);
        let big = cascades_for_city(2_500.0);
        let huge = cascades_for_city(1.0e6);
        let nan = cascades_for_city(f32::NAN);
        assert_eq!(nan.bounds, small.bounds);
        for c in [&small, &big, &huge] {
            assert_eq!(c.bounds.len(), SHADOW_CASCADES);
            assert!(c.bounds.windows(2).all(|w| w[0] < w[1]), "{:?}", c.bounds);
        }
        // Bevy spaces the cascades geometrically in f32: the last bound is the range to
        // within rounding.
        let last_is = |c: &CascadeShadowConfig, range: f32| {
            let last = c.bounds.last().copied().unwrap_or(0.0);
            assert!((last - range).abs() <= range * 1e-4, "{last} vs {range}");
        };
        last_is(&small, MIN_SHADOW_RANGE_M);
        last_is(&big, 2_500.0 * SHADOW_RANGE_RADII);
        last_is(&huge, MAX_SHADOW_RANGE_M);
        assert!(big.bounds[0] >= MIN_FIRST_CASCADE_M && big.bounds[0] < 1_000.0);
    }

    fn app(scene_shadows: bool, forced: Option<bool>) -> App {
        let mut loaded = crate::app::outline::tests::tiny_loaded_scene();
        loaded.scene.lighting.shadows = scene_shadows;
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, StatesPlugin))
            .init_resource::<ButtonInput<KeyCode>>()
            .init_state::<AppState>()
            .configure_sets(Update, AppSystems::Visuals)
            .add_plugins(LightingPlugin)
            .insert_resource(LoadedCity(Arc::new(loaded)))
            .insert_resource(CityBounds {
                centre: Vec3::ZERO,
                radius: 1_000.0,
            });
        if let Some(f) = forced {
            app.insert_resource(ShadowsOverride(f));
        }
        app.world_mut()
            .resource_mut::<NextState<AppState>>()
            .set(AppState::Ready);
        app.update();
        app.update();
        app
    }

    /// The sun lights in the world: (shadow maps on, direction the light shines along).
    fn suns(app: &mut App) -> Vec<(bool, Vec3, f32)> {
        let world = app.world_mut();
        world
            .query_filtered::<(&DirectionalLight, &Transform, &CascadeShadowConfig), With<Sun>>()
            .iter(world)
            .map(|(l, t, c)| {
                (
                    l.shadow_maps_enabled,
                    *t.forward(),
                    *c.bounds.last().unwrap_or(&0.0),
                )
            })
            .collect()
    }

    #[test]
    fn shadows_follow_the_scene_the_override_and_the_key() {
        let mut off = app(false, None);
        assert_eq!(*off.world().resource::<SunShadows>(), SunShadows { on: false });
        assert!(suns(&mut off).is_empty(), "no light, no shadow pass");

        let mut on = app(true, None);
        let s = suns(&mut on);
        assert_eq!(s.len(), 1);
        assert!(s[0].0);
        assert!(s[0].1.angle_between(-SUN_DIRECTION) < 1e-4, "{:?}", s[0].1);
        assert_eq!(s[0].2, 1_000.0 * SHADOW_RANGE_RADII);

        let mut forced_off = app(true, Some(false));
        assert!(suns(&mut forced_off).is_empty());
        let mut forced_on = app(false, Some(true));
        assert_eq!(suns(&mut forced_on).len(), 1);

        // The key flips them, and the light goes with them.
        forced_on
            .world_mut()
            .resource_mut::<ButtonInput<KeyCode>>()
            .press(SHADOWS_KEY);
        forced_on.update();
        assert!(!forced_on.world().resource::<SunShadows>().on);
        assert!(suns(&mut forced_on).is_empty());
        {
            let mut keys = forced_on.world_mut().resource_mut::<ButtonInput<KeyCode>>();
            keys.release(SHADOWS_KEY);
            keys.clear();
        }
        forced_on.update();
        forced_on
            .world_mut()
            .resource_mut::<ButtonInput<KeyCode>>()
            .press(SHADOWS_KEY);
        forced_on.update();
        assert!(forced_on.world().resource::<SunShadows>().on);
        assert_eq!(
            suns(&mut forced_on).len(),
            1,
            "exactly one sun after toggling back"
        );
    }
}
