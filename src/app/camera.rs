//! The map camera: a [`CameraRig`] (target, distance, heading, pitch) turned into the
//! camera's `Transform` every time it changes. It frames the city when the scene is ready;
//! orbit with the right mouse button or Q/E, pan with the left button, WASD or the arrows,
//! zoom with the wheel or +/−, tilt with R/F. A [`Flying`] camera eases toward another view
//! (see [`crate::app::views`]: bookmarks, frame all, north up) until any input takes over.
//! The mouse is left alone while it is over egui.

use std::f32::consts::{FRAC_PI_4, TAU};

use bevy::ecs::system::SystemParam;
use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll, MouseScrollUnit};
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::input::EguiWantsInput;
use geo_types::Coord;

use crate::app::loading::LoadedCity;
use crate::app::ui::UiCovered;
use crate::app::{AppState, AppSystems};
use crate::twin::flight::{Flight, View};

/// Pitch when framing the city, radians above the horizon (50°).
const FRAME_PITCH: f32 = 50.0 * (std::f32::consts::PI / 180.0);
/// Extra room around the city when framing (1 = the bounding circle touches the edges).
const FRAME_MARGIN: f32 = 1.1;
/// Smallest radius framed, metres (a city of one point).
const MIN_FRAME_RADIUS_M: f32 = 50.0;
/// Lowest pitch, radians (5°): never quite level with the ground.
const MIN_PITCH: f32 = 5.0 * (std::f32::consts::PI / 180.0);
/// Highest pitch, radians (89°): never exactly straight down, so "up" stays defined.
const MAX_PITCH: f32 = 89.0 * (std::f32::consts::PI / 180.0);
/// Closest the camera comes to its target, metres.
const MIN_DISTANCE_M: f32 = 5.0;
/// Farthest the camera goes, in city radii.
const MAX_DISTANCE_RADII: f32 = 20.0;
/// Distance of the camera before a city is loaded, metres.
const START_DISTANCE_M: f32 = 1000.0;
/// Orbit / tilt per pixel of mouse drag, radians.
const DRAG_RAD_PER_PX: f32 = 0.005;
/// Orbit / tilt speed of the keys, radians per second.
const KEY_RAD_PER_S: f32 = 1.2;
/// Key panning speed, in camera distances per second.
const KEY_PAN_DISTANCES_PER_S: f32 = 0.8;
/// Zoom factor per wheel line.
const ZOOM_PER_LINE: f32 = 1.15;
/// Pixels of a pixel-unit wheel delta that count as one line.
const PIXELS_PER_SCROLL_LINE: f32 = 40.0;
/// Key zoom rate: the distance changes by e^rate per second.
const KEY_ZOOM_RATE: f32 = 1.5;
/// Smallest sine of the pitch used to stretch vertical drags over the ground.
const MIN_PAN_PITCH_SIN: f32 = 0.3;
/// Far plane, in (distance + city radius).
const FAR_PLANE_FACTOR: f32 = 4.0;
/// Vertical field of view, radians.
const FOV: f32 = FRAC_PI_4;
/// Near plane, metres.
const NEAR_PLANE_M: f32 = 0.5;

/// Spawns the camera, frames the city when it is ready, and drives the camera from input.
pub struct CameraPlugin;

impl Plugin for CameraPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Startup, spawn_camera)
            .add_systems(OnEnter(AppState::Ready), frame_city)
            .add_systems(
                Update,
                (camera_input, fly, apply_rig).chain().in_set(AppSystems::Visuals),
            );
    }
}

/// Where the camera looks from: the point looked at, how far away, toward which compass
/// heading and from how high above the horizon.
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct CameraRig {
    /// The point looked at, Bevy frame (x east, y up, z south).
    pub target: Vec3,
    /// Distance from the target, metres.
    pub distance: f32,
    /// Compass heading the camera looks toward, radians (0 = north, π/2 = east).
    pub yaw: f32,
    /// Angle above the horizon, radians (π/2 = straight down).
    pub pitch: f32,
}

impl Default for CameraRig {
    fn default() -> Self {
        CameraRig {
            target: Vec3::ZERO,
            distance: START_DISTANCE_M,
            yaw: 0.0,
            pitch: FRAME_PITCH,
        }
    }
}

impl CameraRig {
    /// The rig that shows the whole of `bounds` at the framing pitch, north up, for a
    /// vertical field of view and an aspect ratio (width / height).
    pub fn framing(bounds: &CityBounds, fov: f32, aspect: f32) -> CameraRig {
        let half_v = fov / 2.0;
        let half_h = (half_v.tan() * aspect.max(f32::EPSILON)).atan();
        let half = half_v.min(half_h);
        CameraRig {
            target: bounds.centre,
            distance: bounds.radius * FRAME_MARGIN / half.sin(),
            yaw: 0.0,
            pitch: FRAME_PITCH,
        }
    }

    /// The horizontal direction looked toward.
    pub fn forward_flat(&self) -> Vec3 {
        let (s, c) = self.yaw.sin_cos();
        Vec3::new(s, 0.0, -c)
    }

    /// The horizontal direction to the right of the view.
    pub fn right_flat(&self) -> Vec3 {
        let (s, c) = self.yaw.sin_cos();
        Vec3::new(c, 0.0, s)
    }

    /// The camera transform: behind and above the target, looking at it.
    pub fn transform(&self) -> Transform {
        let (sp, cp) = self.pitch.sin_cos();
        let eye = self.target - self.forward_flat() * (self.distance * cp) + Vec3::Y * (self.distance * sp);
        Transform::from_translation(eye).looking_at(self.target, Vec3::Y)
    }

    /// Keeps pitch, distance and heading in range; `max_distance` bounds zooming out.
    pub fn clamped(mut self, max_distance: f32) -> CameraRig {
        self.pitch = self.pitch.clamp(MIN_PITCH, MAX_PITCH);
        self.distance = self
            .distance
            .clamp(MIN_DISTANCE_M, max_distance.max(MIN_DISTANCE_M));
        self.yaw = self.yaw.rem_euclid(TAU);
        self
    }
}

impl CameraRig {
    /// The rig as a plain [`View`].
    pub fn view(&self) -> View {
        View {
            target: self.target.to_array(),
            distance: self.distance,
            yaw: self.yaw,
            pitch: self.pitch,
        }
    }

    /// The rig of a [`View`].
    pub fn from_view(view: &View) -> CameraRig {
        CameraRig {
            target: Vec3::from_array(view.target),
            distance: view.distance,
            yaw: view.yaw,
            pitch: view.pitch,
        }
    }
}

/// A camera flying toward another view; removed on arrival or when input moves the camera.
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct Flying(pub Flight);

/// The city's extent in the Bevy frame: centre on the ground and horizontal radius.
#[derive(Resource, Debug, Clone, Copy, PartialEq)]
pub struct CityBounds {
    /// Centre of the city's bbox, on the ground.
    pub centre: Vec3,
    /// Half the bbox diagonal, metres.
    pub radius: f32,
}

/// The inputs the camera listens to, and what tells it egui has the pointer.
#[derive(SystemParam)]
pub(crate) struct CameraInput<'w, 's> {
    keys: Res<'w, ButtonInput<KeyCode>>,
    buttons: Res<'w, ButtonInput<MouseButton>>,
    motion: Res<'w, AccumulatedMouseMotion>,
    scroll: Res<'w, AccumulatedMouseScroll>,
    time: Res<'w, Time>,
    window: Query<'w, 's, &'static Window, With<PrimaryWindow>>,
    egui: Option<Res<'w, EguiWantsInput>>,
    covered: Option<Res<'w, UiCovered>>,
}

impl CameraInput<'_, '_> {
    /// True when the mouse is egui's: over a window or panel, or dragging a widget.
    fn pointer_on_ui(&self) -> bool {
        let egui = self.egui.as_ref().is_some_and(|e| e.wants_any_pointer_input());
        let cursor = self.window.single().ok().and_then(Window::cursor_position);
        let panel = match (cursor, &self.covered) {
            (Some(p), Some(c)) => c.contains(p),
            _ => false,
        };
        egui || panel
    }

    /// True when egui has the keyboard (a text field is focused).
    fn keyboard_on_ui(&self) -> bool {
        self.egui.as_ref().is_some_and(|e| e.wants_any_keyboard_input())
    }

    /// −1, 0 or +1 from two sets of keys.
    fn axis(&self, minus: &[KeyCode], plus: &[KeyCode]) -> f32 {
        let held = |ks: &[KeyCode]| ks.iter().any(|k| self.keys.pressed(*k));
        f32::from(u8::from(held(plus))) - f32::from(u8::from(held(minus)))
    }
}

/// Which drags began over the 3D view (and so belong to the camera).
#[derive(Debug, Default)]
pub(crate) struct DragState {
    orbit: bool,
    pan: bool,
}

/// Spawns the 3D camera (egui attaches its primary context to it).
fn spawn_camera(mut commands: Commands) {
    let rig = CameraRig::default();
    commands.spawn((
        Name::new("camera"),
        Camera3d::default(),
        Projection::Perspective(PerspectiveProjection {
            fov: FOV,
            near: NEAR_PLANE_M,
            far: START_DISTANCE_M * FAR_PLANE_FACTOR,
            ..default()
        }),
        rig.transform(),
        rig,
    ));
}

/// Computes [`CityBounds`] and frames the city.
fn frame_city(
    mut commands: Commands,
    loaded: Res<LoadedCity>,
    mut rigs: Query<(&mut CameraRig, &Projection)>,
) {
    let city = &loaded.0.city;
    let Some(b) = city.bbox() else {
        warn!("the city is empty: nothing to frame");
        return;
    };
    let lo = Vec2::from(city.origin.local(Coord { x: b[0], y: b[1] }));
    let hi = Vec2::from(city.origin.local(Coord { x: b[2], y: b[3] }));
    let mid = (lo + hi) / 2.0;
    let bounds = CityBounds {
        centre: Vec3::new(mid.x, 0.0, -mid.y),
        radius: ((hi - lo).length() / 2.0).max(MIN_FRAME_RADIUS_M),
    };
    commands.insert_resource(bounds);
    for (mut rig, projection) in &mut rigs {
        let (fov, aspect) = fov_aspect(projection);
        *rig = CameraRig::framing(&bounds, fov, aspect);
    }
}

/// Vertical field of view and aspect ratio of a projection.
pub(crate) fn fov_aspect(projection: &Projection) -> (f32, f32) {
    match projection {
        Projection::Perspective(p) => (p.fov, p.aspect_ratio),
        _ => (FOV, 1.0),
    }
}

/// Turns mouse and keys into rig changes; a change cancels a flight.
pub(crate) fn camera_input(
    mut commands: Commands,
    input: CameraInput,
    mut drag: Local<DragState>,
    bounds: Option<Res<CityBounds>>,
    mut rigs: Query<(Entity, &mut CameraRig, &Projection, Has<Flying>)>,
) {
    let pointer_free = !input.pointer_on_ui();
    let buttons = &input.buttons;
    if buttons.just_pressed(MouseButton::Right) {
        drag.orbit = pointer_free;
    }
    if !buttons.pressed(MouseButton::Right) {
        drag.orbit = false;
    }
    if buttons.just_pressed(MouseButton::Left) {
        drag.pan = pointer_free;
    }
    if !buttons.pressed(MouseButton::Left) {
        drag.pan = false;
    }

    let dt = input.time.delta_secs();
    let window_height = input.window.single().map(Window::height).unwrap_or(1.0).max(1.0);
    let radius = bounds.as_ref().map_or(START_DISTANCE_M, |b| b.radius);
    let max_distance = radius * MAX_DISTANCE_RADII;

    for (entity, mut rig, projection, flying) in &mut rigs {
        let (fov, _) = fov_aspect(projection);
        let mut r = *rig;
        let mouse = input.motion.delta;

        if drag.orbit {
            r.yaw -= mouse.x * DRAG_RAD_PER_PX;
            r.pitch += mouse.y * DRAG_RAD_PER_PX;
        }
        if drag.pan {
            let metres_per_px = 2.0 * r.distance * (fov / 2.0).tan() / window_height;
            let stretch = r.pitch.sin().max(MIN_PAN_PITCH_SIN);
            r.target += (-r.right_flat() * mouse.x + r.forward_flat() * mouse.y / stretch) * metres_per_px;
        }
        if pointer_free {
            let lines = match input.scroll.unit {
                MouseScrollUnit::Line => input.scroll.delta.y,
                MouseScrollUnit::Pixel => input.scroll.delta.y / PIXELS_PER_SCROLL_LINE,
            };
            r.distance *= ZOOM_PER_LINE.powf(-lines);
        }

        if !input.keyboard_on_ui() {
            r.yaw += input.axis(&[KeyCode::KeyQ], &[KeyCode::KeyE]) * KEY_RAD_PER_S * dt;
            r.pitch += input.axis(&[KeyCode::KeyF], &[KeyCode::KeyR]) * KEY_RAD_PER_S * dt;
            let forward = input.axis(
                &[KeyCode::KeyS, KeyCode::ArrowDown],
                &[KeyCode::KeyW, KeyCode::ArrowUp],
            );
            let right = input.axis(
                &[KeyCode::KeyA, KeyCode::ArrowLeft],
                &[KeyCode::KeyD, KeyCode::ArrowRight],
            );
            let step = r.distance * KEY_PAN_DISTANCES_PER_S * dt;
            r.target += (r.forward_flat() * forward + r.right_flat() * right) * step;
            let zoom_out = input.axis(
                &[KeyCode::Equal, KeyCode::NumpadAdd],
                &[KeyCode::Minus, KeyCode::NumpadSubtract],
            );
            r.distance *= (zoom_out * KEY_ZOOM_RATE * dt).exp();
        }

        if flying && r != *rig {
            commands.entity(entity).remove::<Flying>();
        }
        let r = r.clamped(max_distance);
        if r != *rig {
            *rig = r;
        }
    }
}

/// Moves flying cameras along their flight; lands them on arrival.
fn fly(mut commands: Commands, time: Res<Time>, mut cameras: Query<(Entity, &mut CameraRig, &mut Flying)>) {
    for (entity, mut rig, mut flying) in &mut cameras {
        let (view, arrived) = flying.0.step(time.delta_secs());
        let r = CameraRig::from_view(&view);
        if r != *rig {
            *rig = r;
        }
        if arrived {
            commands.entity(entity).remove::<Flying>();
        }
    }
}

/// Puts changed rigs into the camera transform and keeps the far plane beyond the city.
pub(crate) fn apply_rig(
    bounds: Option<Res<CityBounds>>,
    mut cameras: Query<(&CameraRig, &mut Transform, &mut Projection), Changed<CameraRig>>,
) {
    let radius = bounds.as_ref().map_or(0.0, |b| b.radius);
    for (rig, mut transform, mut projection) in &mut cameras {
        *transform = rig.transform();
        if let Projection::Perspective(p) = projection.as_mut() {
            p.far = (rig.distance + radius) * FAR_PLANE_FACTOR;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Vec3, b: Vec3) -> bool {
        (a - b).length() < 1e-3
    }

    #[test]
    fn north_up_camera_stands_south_and_above() {
        let rig = CameraRig {
            target: Vec3::new(10.0, 0.0, -20.0),
            distance: 100.0,
            yaw: 0.0,
            pitch: FRAC_PI_4,
        };
        let t = rig.transform();
        let d = 100.0 * FRAC_PI_4.cos();
        assert!(
            close(t.translation, Vec3::new(10.0, d, -20.0 + d)),
            "{:?}",
            t.translation
        );
        // Looks at the target.
        let to_target = (rig.target - t.translation).normalize();
        assert!(close(*t.forward(), to_target));
    }

    #[test]
    fn heading_east_camera_stands_west() {
        let rig = CameraRig {
            yaw: std::f32::consts::FRAC_PI_2,
            ..CameraRig::default()
        };
        let t = rig.transform();
        assert!(
            t.translation.x < -1.0 && t.translation.z.abs() < 1e-3,
            "{:?}",
            t.translation
        );
        assert!(close(rig.right_flat(), Vec3::new(0.0, 0.0, 1.0)));
    }

    #[test]
    fn framing_fits_the_bounds() {
        let b = CityBounds {
            centre: Vec3::new(5.0, 0.0, 5.0),
            radius: 1000.0,
        };
        let wide = CameraRig::framing(&b, FOV, 16.0 / 9.0);
        let tall = CameraRig::framing(&b, FOV, 9.0 / 16.0);
        assert_eq!(wide.target, b.centre);
        assert!((wide.pitch - FRAME_PITCH).abs() < 1e-6);
        // The bounding circle fits the vertical field of view of a wide window...
        assert!((wide.distance * (FOV / 2.0).sin() - b.radius * FRAME_MARGIN).abs() < 1.0);
        // ...and a tall window needs to stand farther back.
        assert!(tall.distance > wide.distance);
    }

    #[test]
    fn clamping_keeps_the_rig_in_range() {
        let r = CameraRig {
            target: Vec3::ZERO,
            distance: 1.0e9,
            yaw: -0.5,
            pitch: 3.0,
        }
        .clamped(10_000.0);
        assert_eq!(r.distance, 10_000.0);
        assert_eq!(r.pitch, MAX_PITCH);
        assert!((r.yaw - (TAU - 0.5)).abs() < 1e-6);
    }
}
