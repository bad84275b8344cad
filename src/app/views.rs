//! Camera views to fly to: the scene's bookmarks (keys 1–9 or the "Views" window), the
//! whole city ("frame all", `Home`) and north up (`N`). Each starts a [`Flying`] camera that
//! eases there over [`crate::twin::flight::FLIGHT_S`] seconds.

use bevy::prelude::*;
use bevy_egui::input::EguiWantsInput;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use crate::app::camera::{CameraRig, CityBounds, Flying, apply_rig, camera_input, fov_aspect};
use crate::app::i18n::lang_of;
use crate::app::loading::LoadedCity;
use crate::app::offscreen::bookmark_rig;
use crate::app::ui::layout::{PartKind, Prefs, UiLayout, placed};
use crate::app::wall::WallMode;
use crate::app::{AppState, AppSystems};
use crate::twin::flight::Flight;
use crate::twin::i18n::tr;

/// Bookmark keys: the first nine bookmarks, in scene order.
const BOOKMARK_KEYS: [(KeyCode, KeyCode); 9] = [
    (KeyCode::Digit1, KeyCode::Numpad1),
    (KeyCode::Digit2, KeyCode::Numpad2),
    (KeyCode::Digit3, KeyCode::Numpad3),
    (KeyCode::Digit4, KeyCode::Numpad4),
    (KeyCode::Digit5, KeyCode::Numpad5),
    (KeyCode::Digit6, KeyCode::Numpad6),
    (KeyCode::Digit7, KeyCode::Numpad7),
    (KeyCode::Digit8, KeyCode::Numpad8),
    (KeyCode::Digit9, KeyCode::Numpad9),
];
/// The "Views" window's name in the layout's window stack.
const WINDOW_NAME: &str = "views";

/// Flies the camera to bookmarks, the whole city or north up, from keys and the UI.
pub struct ViewsPlugin;

impl Plugin for ViewsPlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<ViewCommand>()
            .init_resource::<SceneViews>()
            .add_systems(OnEnter(AppState::Ready), collect_bookmarks)
            .add_systems(
                Update,
                (view_keys, start_flights)
                    .chain()
                    .run_if(in_state(AppState::Ready))
                    .in_set(AppSystems::Visuals)
                    .before(camera_input)
                    .before(apply_rig),
            )
            .add_systems(
                EguiPrimaryContextPass,
                views_ui
                    .in_set(AppSystems::UiWindows)
                    .run_if(in_state(AppState::Ready).and_then(not(resource_exists::<WallMode>)))
                    .run_if(crate::app::ui::chrome_shown),
            );
    }
}

/// A view to fly to.
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewCommand {
    /// The whole city, framed.
    FrameAll,
    /// The same view turned to face north.
    NorthUp,
    /// A scene bookmark, by index in the scene's list.
    Bookmark(usize),
}

/// The scene's bookmarks as camera rigs (`None` for one that cannot be placed, with why).
#[derive(Resource, Debug, Clone, Default)]
pub struct SceneViews {
    /// Name and rig (or the error placing it), in scene order.
    pub bookmarks: Vec<(String, Result<CameraRig, String>)>,
}

/// The command a key gives, if any.
pub fn key_command(key: KeyCode) -> Option<ViewCommand> {
    match key {
        KeyCode::Home => Some(ViewCommand::FrameAll),
        KeyCode::KeyN => Some(ViewCommand::NorthUp),
        k => BOOKMARK_KEYS
            .iter()
            .position(|(a, b)| *a == k || *b == k)
            .map(ViewCommand::Bookmark),
    }
}

/// Places the scene's bookmarks in the city's frame.
fn collect_bookmarks(mut views: ResMut<SceneViews>, loaded: Res<LoadedCity>) {
    let city = &loaded.0.city;
    views.bookmarks = loaded
        .0
        .scene
        .bookmarks
        .iter()
        .map(|b| {
            let rig = bookmark_rig(city, b);
            if let Err(e) = &rig {
                warn!("{e}");
            }
            (b.name.clone(), rig)
        })
        .collect();
}

/// Turns pressed keys into view commands, unless egui has the keyboard.
fn view_keys(
    keys: Res<ButtonInput<KeyCode>>,
    egui: Option<Res<EguiWantsInput>>,
    mut commands: MessageWriter<ViewCommand>,
) {
    if egui.is_some_and(|e| e.wants_any_keyboard_input()) {
        return;
    }
    for key in keys.get_just_pressed() {
        if let Some(c) = key_command(*key) {
            commands.write(c);
        }
    }
}

/// Starts a flight for each view command (the last one wins).
fn start_flights(
    mut commands: Commands,
    mut messages: MessageReader<ViewCommand>,
    views: Res<SceneViews>,
    bounds: Option<Res<CityBounds>>,
    cameras: Query<(Entity, &CameraRig, &Projection)>,
) {
    for command in messages.read() {
        for (entity, rig, projection) in &cameras {
            let (fov, aspect) = fov_aspect(projection);
            let to = match command {
                ViewCommand::FrameAll => bounds.as_ref().map(|b| CameraRig::framing(b, fov, aspect)),
                ViewCommand::NorthUp => Some(CameraRig { yaw: 0.0, ..*rig }),
                ViewCommand::Bookmark(i) => views
                    .bookmarks
                    .get(*i)
                    .and_then(|(_, r)| r.as_ref().ok().copied()),
            };
            if let Some(to) = to {
                commands
                    .entity(entity)
                    .insert(Flying(Flight::new(rig.view(), to.view())));
            }
        }
    }
}

/// The "Views" window: one button per bookmark, frame all, north up.
fn views_ui(
    mut contexts: EguiContexts,
    views: Res<SceneViews>,
    mut commands: MessageWriter<ViewCommand>,
    mut layout: ResMut<UiLayout>,
    prefs: Option<Res<Prefs>>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let open = prefs.is_some_and(|p| p.prefs.is_open(WINDOW_NAME, false));
    let place = layout.window_place(WINDOW_NAME, open);
    let lang = lang_of(ctx);
    let shown = placed(egui::Window::new(tr(lang, "window-views")), Some(place))
        .resizable(false)
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                if ui
                    .button(tr(lang, "views-frame-all"))
                    .on_hover_text("Home")
                    .clicked()
                {
                    commands.write(ViewCommand::FrameAll);
                }
                if ui.button(tr(lang, "views-north-up")).on_hover_text("N").clicked() {
                    commands.write(ViewCommand::NorthUp);
                }
            });
            if views.bookmarks.is_empty() {
                ui.weak(tr(lang, "views-no-bookmarks"));
            }
            for (i, (name, rig)) in views.bookmarks.iter().enumerate() {
                let label = if i < BOOKMARK_KEYS.len() {
                    format!("{}  {name}", i + 1)
                } else {
                    name.clone()
                };
                let button = ui.add_enabled(rig.is_ok(), egui::Button::new(label));
                let button = match rig {
                    Err(e) => button.on_disabled_hover_text(e.as_str()),
                    Ok(_) => button,
                };
                if button.clicked() {
                    commands.write(ViewCommand::Bookmark(i));
                }
            }
        });
    if let Some(r) = shown {
        layout.record(WINDOW_NAME, PartKind::Window, r.response.rect);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use bevy::time::TimeUpdateStrategy;

    use super::*;
    use crate::app::camera::CameraPlugin;
    use crate::twin::crs::{Transformer, WGS84};
    use crate::twin::flight::FLIGHT_S;
    use crate::twin::scene::Bookmark;

    /// Simulated time per frame.
    const FRAME: Duration = Duration::from_millis(100);

    #[test]
    fn keys_map_to_views() {
        assert_eq!(key_command(KeyCode::Home), Some(ViewCommand::FrameAll));
        assert_eq!(key_command(KeyCode::KeyN), Some(ViewCommand::NorthUp));
        assert_eq!(key_command(KeyCode::Digit1), Some(ViewCommand::Bookmark(0)));
        assert_eq!(key_command(KeyCode::Numpad9), Some(ViewCommand::Bookmark(8)));
        assert_eq!(key_command(KeyCode::Digit0), None);
        assert_eq!(key_command(KeyCode::KeyW), None);
    }

    fn rig_of(app: &mut App) -> (CameraRig, bool) {
        let world = app.world_mut();
        let mut q = world.query::<(&CameraRig, Has<Flying>)>();
        let (rig, flying) = q.single(world).expect("one camera");
        (*rig, flying)
    }

    #[test]
    fn a_fly_to_reaches_the_bookmark() {
        let mut loaded = crate::app::outline::tests::tiny_loaded_scene();
        let (ox, oy) = (loaded.city.origin.x, loaded.city.origin.y);
        let to_wgs84 = Transformer::new(&loaded.city.crs, &WGS84).unwrap();
        let target_lonlat = to_wgs84.point(ox + 400.0, oy - 300.0).unwrap();
        let bookmark = Bookmark {
            name: "south-east".into(),
            target_lonlat,
            distance_m: 250.0,
            pitch_deg: 70.0,
            heading_deg: 200.0,
        };
        loaded.scene.bookmarks.push(bookmark.clone());
        let expected = bookmark_rig(&loaded.city, &bookmark).unwrap();

        let mut app = crate::app::headless_app();
        app.insert_resource(TimeUpdateStrategy::ManualDuration(FRAME))
            .init_state::<AppState>()
            .add_plugins((CameraPlugin, ViewsPlugin))
            .insert_resource(LoadedCity(Arc::new(loaded)));
        app.world_mut()
            .resource_mut::<NextState<AppState>>()
            .set(AppState::Ready);
        app.update();
        app.update();
        let (start, flying) = rig_of(&mut app);
        assert!(!flying);
        assert!((start.target - expected.target).length() > 100.0, "{start:?}");

        app.world_mut().write_message(ViewCommand::Bookmark(0));
        app.update();
        app.update();
        let (early, flying) = rig_of(&mut app);
        assert!(flying, "the camera flies");
        let gone = (early.target - start.target).length();
        let whole = (expected.target - start.target).length();
        assert!(gone > 0.0 && gone < whole / 2.0, "eased start: {gone} of {whole}");

        let frames = (FLIGHT_S / FRAME.as_secs_f32()).ceil() as usize + 2;
        for _ in 0..frames {
            app.update();
        }
        let (end, flying) = rig_of(&mut app);
        assert!(!flying, "the flight has landed");
        assert!(
            (end.target - expected.target).length() < 1e-3,
            "{end:?} vs {expected:?}"
        );
        assert!((end.distance - expected.distance).abs() < 1e-3);
        assert!((end.pitch - expected.pitch).abs() < 1e-5);
        assert!((end.yaw - expected.yaw).abs() < 1e-5);

        // North up keeps the rest of the view and lands facing north.
        app.world_mut().write_message(ViewCommand::NorthUp);
        for _ in 0..frames {
            app.update();
        }
        let (north, _) = rig_of(&mut app);
        assert!(north.yaw.abs() < 1e-5, "{north:?}");
        assert!((north.target - expected.target).length() < 1e-3);
    }
}
