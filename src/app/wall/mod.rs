//! Wall mode (`citytwin --wall [SCENE] [--monitor N]`): the control-room video wall. The
//! city fills the screen; panels laid out by the scene's wall settings
//! ([`crate::twin::wall`]) sit over it at a UI scale readable from across the room; an
//! automatic tour flies between bookmarks (through [`crate::app::views`]) and colours the
//! zones by a stop's indicator (through [`crate::app::dashboard`]); new decision-window
//! alerts run on a ticker; a banner says when feeds go quiet. No editing chrome.
//!
//! [`WallPlugin`] replaces the desk panels ([`crate::app::ui::UiPlugin`]) when a
//! [`WallMode`] resource is present as [`crate::app::AppPlugin`] is built. Nothing here may
//! stop the wall: errors of the tour are counted, shown and retried, never panics.
//! [`render`] draws the wall offscreen; [`soak`] runs its non-render half for a simulated
//! day and measures memory.

pub mod panels;
pub mod render;
pub mod soak;

use std::path::PathBuf;

use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll};
use bevy::prelude::*;
use bevy_egui::EguiPrimaryContextPass;

use crate::app::camera::CameraRig;
use crate::app::dashboard::{Dashboard, IndicatorEngine};
use crate::app::loading::LoadedCity;
use crate::app::screen::{ScreenPlugin, WindowSizing};
use crate::app::ui::UiCovered;
use crate::app::ui::timeline::{TwinTime, advance_time};
use crate::app::views::{SceneViews, ViewCommand};
use crate::app::{AppPlugin, AppState, AppSystems, CLEAR_COLOUR};
use crate::twin::indicators::higher_is_better;
use crate::twin::wall::ticker::AlertTicker;
use crate::twin::wall::tour::TourError;
use crate::twin::wall::{PxRect, Tour, WallLayout, WallSpec};

/// The role a wall runs as unless told otherwise: a wall may stand in a public space.
///
/// Hook for the access rules: the wall records its role here and shows it; hiding layers
/// and feeds above the role is the access layer's work (`--role`), not done here yet.
pub const DEFAULT_WALL_ROLE: &str = "public";
/// Mouse movement below this many logical pixels in a frame is not a touch (vibration,
/// a sensor's jitter).
const MOTION_DEADZONE_PX: f32 = 2.0;

/// Insert before [`AppPlugin`] is added to run the app as a wall.
#[derive(Resource, Debug, Clone)]
pub struct WallMode {
    /// The role the wall runs as (see [`DEFAULT_WALL_ROLE`]).
    pub role: String,
}

impl Default for WallMode {
    fn default() -> Self {
        WallMode {
            role: DEFAULT_WALL_ROLE.to_string(),
        }
    }
}

/// The wall's settings and its layout for the current output size.
#[derive(Resource, Debug, Clone, Default)]
pub struct WallScreen {
    /// The scene's wall settings (the standard wall when it has none).
    pub spec: WallSpec,
    /// The layout for the camera's output; `None` until the output size is known.
    pub layout: Option<WallLayout>,
}

/// The automatic tour.
#[derive(Resource, Debug, Clone)]
pub struct WallTour(pub Tour);

/// The alert ticker.
#[derive(Resource, Debug, Clone, Default)]
pub struct WallTicker(pub AlertTicker);

/// What the panels drew in their last pass: name and rectangle in physical pixels (read by
/// tests and the offscreen render).
#[derive(Resource, Debug, Clone, Default)]
pub struct WallDrawn(pub Vec<(&'static str, PxRect)>);

/// The wall: layout, tour, ticker and panels.
pub struct WallPlugin;

impl Plugin for WallPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<WallMode>()
            .init_resource::<TwinTime>()
            .init_resource::<UiCovered>()
            .init_resource::<WallScreen>()
            .init_resource::<WallTicker>()
            .init_resource::<WallDrawn>()
            .add_systems(Update, advance_time.in_set(AppSystems::Ingest))
            .add_systems(OnEnter(AppState::Ready), setup_wall)
            .add_systems(
                Update,
                (touch_pauses_tour, drive_tour)
                    .chain()
                    .in_set(AppSystems::Model)
                    .run_if(resource_exists::<WallTour>),
            )
            .add_systems(Update, (lay_out, tick_alerts).in_set(AppSystems::Ui))
            .add_systems(
                EguiPrimaryContextPass,
                panels::draw_wall
                    .in_set(AppSystems::UiWindows)
                    .run_if(in_state(AppState::Ready)),
            );
    }
}

/// Reads the scene's wall settings and plans the tour over its bookmarks.
fn setup_wall(mut commands: Commands, loaded: Res<LoadedCity>, mut screen: ResMut<WallScreen>) {
    let scene = &loaded.0.scene;
    screen.spec = scene.wall.clone().unwrap_or_default();
    screen.layout = None;
    let stops = screen.spec.tour.plan(&scene.bookmarks);
    info!(
        "wall: {} panels on a {} × {} grid, tour of {} stops",
        screen.spec.panels.len(),
        screen.spec.columns,
        screen.spec.rows,
        stops.len()
    );
    commands.insert_resource(WallTour(Tour::new(&screen.spec.tour, stops)));
}

/// Lays the wall out again whenever the camera's output size changes.
fn lay_out(mut screen: ResMut<WallScreen>, cameras: Query<&Camera, With<CameraRig>>) {
    let Some(size) = cameras.iter().find_map(Camera::physical_viewport_size) else {
        return;
    };
    let size = (size.x, size.y);
    if size.0 == 0 || size.1 == 0 || screen.layout.as_ref().is_some_and(|l| l.size == size) {
        return;
    }
    let layout = WallLayout::new(&screen.spec, size);
    let outside = layout.outside_frame();
    if !outside.is_empty() {
        warn!(
            "wall: panels {outside:?} do not fit a {}×{} output",
            size.0, size.1
        );
    }
    info!(
        "wall: laid out for {}×{} at UI scale {:.2}",
        size.0, size.1, layout.scale
    );
    screen.layout = Some(layout);
}

/// Pauses the tour when someone moves the mouse, clicks, scrolls or presses a key.
fn touch_pauses_tour(
    time: Res<Time>,
    keys: Res<ButtonInput<KeyCode>>,
    buttons: Res<ButtonInput<MouseButton>>,
    motion: Res<AccumulatedMouseMotion>,
    scroll: Res<AccumulatedMouseScroll>,
    mut tour: ResMut<WallTour>,
) {
    let touched = keys.get_just_pressed().next().is_some()
        || buttons.get_just_pressed().next().is_some()
        || motion.delta.length() > MOTION_DEADZONE_PX
        || scroll.delta != Vec2::ZERO;
    if touched {
        tour.0.user_input(time.elapsed_secs_f64());
    }
}

/// Advances the tour; at a new stop, flies there and colours the zones by its indicator.
/// A stop whose view cannot be placed is reported to the tour, which skips it.
fn drive_tour(
    time: Res<Time>,
    mut tour: ResMut<WallTour>,
    views: Res<SceneViews>,
    engine: Option<Res<IndicatorEngine>>,
    dash: Option<ResMut<Dashboard>>,
    cameras: Query<(), With<CameraRig>>,
    mut flights: MessageWriter<ViewCommand>,
) {
    let now = time.elapsed_secs_f64();
    let Some(i) = tour.0.update(now) else { return };
    let Some(stop) = tour.0.stops().get(i).cloned() else {
        return tour.0.fail(now, TourError::MissingStop(i));
    };
    if cameras.is_empty() {
        return tour.0.fail(now, TourError::NoCamera);
    }
    match views.bookmarks.get(stop.bookmark) {
        Some((_, Ok(_))) => {
            flights.write(ViewCommand::Bookmark(stop.bookmark));
        }
        Some((_, Err(e))) => {
            return tour.0.fail(
                now,
                TourError::Unplaceable {
                    name: stop.name.clone(),
                    detail: e.clone(),
                },
            );
        }
        None => {
            return tour.0.fail(now, TourError::NotPlaced(stop.name.clone()));
        }
    }
    let Some(mut dash) = dash else { return };
    let choropleth = match (&stop.choropleth, &engine) {
        (None, _) => None,
        (Some(id), Some(engine)) => {
            let k = engine.0.ctx.catalogue.indicators.iter().position(|d| &d.id == id);
            if k.is_none() {
                tour.0.report(TourError::UnknownIndicator {
                    stop: stop.name.clone(),
                    id: id.clone(),
                });
            }
            k
        }
        (Some(_), None) => None,
    };
    if dash.choropleth != choropleth {
        dash.choropleth = choropleth;
    }
}

/// Puts new decision-window alerts on the ticker.
fn tick_alerts(time: Res<Time>, engine: Option<Res<IndicatorEngine>>, mut ticker: ResMut<WallTicker>) {
    let Some(engine) = engine else { return };
    // One ticker item per digest line: zone windows of one indicator do not flood it.
    let lines = engine.0.alerts.digest(higher_is_better(&engine.0.ctx.catalogue));
    let added = ticker
        .0
        .observe(time.elapsed_secs_f64(), lines.iter().map(|l| &l.alert));
    if added > 0 {
        info!("wall: {added} new decision-window alerts on the ticker");
    }
}

/// Runs citytwin as a wall: borderless fullscreen on monitor `monitor` (the primary one
/// when `None`; sized from the monitor's mode, window manager or not), or in a window of
/// `size` (`--window WxH`), on a scene file, as `role` ([`DEFAULT_WALL_ROLE`] when `None`),
/// until the window is closed.
pub fn run_wall(
    scene_path: PathBuf,
    monitor: Option<usize>,
    role: Option<String>,
    size: Option<(u32, u32)>,
) -> anyhow::Result<()> {
    // A wall is in a shared room: it runs as `public` unless told otherwise, and the
    // loader withholds whatever the role may not see.
    let mode = WallMode {
        role: role.unwrap_or_else(|| DEFAULT_WALL_ROLE.to_string()),
    };
    let [r, g, b] = CLEAR_COLOUR;
    let sizing = match size {
        Some((w, h)) => WindowSizing::Fixed(w, h),
        None => WindowSizing::Fill(monitor),
    };
    let window = sizing.window(crate::app::window_title(&scene_path));
    let exit = App::new()
        .insert_resource(ClearColor(Color::srgb(r, g, b)))
        .add_plugins(DefaultPlugins.set(WindowPlugin {
            primary_window: Some(window),
            ..default()
        }))
        .add_plugins(ScreenPlugin(sizing))
        .add_plugins(crate::app::egui_setup::CityEguiPlugin)
        .insert_resource(crate::app::access::RequestedRole(Some(mode.role.clone())))
        .insert_resource(mode)
        .add_plugins(AppPlugin {
            scene_path,
            live_feeds: true,
        })
        .run();
    match exit {
        AppExit::Success => Ok(()),
        AppExit::Error(code) => anyhow::bail!("citytwin wall exited with error code {code}"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use bevy::input::mouse::MouseMotion;
    use bevy::time::TimeUpdateStrategy;

    use super::*;
    use crate::app::camera::{CameraPlugin, Flying};
    use crate::app::views::ViewsPlugin;
    use crate::twin::crs::{Transformer, WGS84};
    use crate::twin::scene::Bookmark;
    use crate::twin::wall::TourPhase;
    use crate::twin::wall::tour::{TourSpec, TourStop};

    /// Simulated time per frame (at most the virtual clock's largest step, 250 ms).
    const FRAME: Duration = Duration::from_millis(250);

    /// A headless wall over the tiny city with two bookmarks, one of them unplaceable.
    fn wall_app() -> App {
        let mut loaded = crate::app::outline::tests::tiny_loaded_scene();
        let to_wgs84 = Transformer::new(&loaded.city.crs, &WGS84).unwrap();
        let (ox, oy) = (loaded.city.origin.x, loaded.city.origin.y);
        let good = Bookmark {
            name: "good".into(),
            target_lonlat: to_wgs84.point(ox + 200.0, oy + 100.0).unwrap(),
            distance_m: 300.0,
            pitch_deg: 50.0,
            heading_deg: 90.0,
        };
        let bad = Bookmark {
            name: "bad".into(),
            ..good.clone()
        };
        loaded.scene.bookmarks = vec![good, bad];
        let spec = WallSpec {
            tour: TourSpec {
                stops: vec![
                    TourStop {
                        bookmark: "good".into(),
                        dwell_s: Some(5.0),
                        choropleth: None,
                    },
                    TourStop {
                        bookmark: "bad".into(),
                        dwell_s: Some(5.0),
                        choropleth: None,
                    },
                ],
                resume_after_s: 20.0,
                retry_after_s: 3.0,
                ..TourSpec::default()
            },
            ..WallSpec::default()
        };
        loaded.scene.wall = Some(spec);
        let mut app = crate::app::headless_app();
        app.insert_resource(TimeUpdateStrategy::ManualDuration(FRAME));
        AppSystems::configure(&mut app)
            .add_plugins((CameraPlugin, ViewsPlugin, WallPlugin))
            .insert_resource(LoadedCity(Arc::new(loaded)));
        app.world_mut()
            .resource_mut::<NextState<AppState>>()
            .set(AppState::Ready);
        app
    }

    fn phase(app: &App) -> TourPhase {
        app.world().resource::<WallTour>().0.phase()
    }

    #[test]
    fn the_tour_flies_skips_a_broken_stop_pauses_on_touch_and_resumes() {
        let mut app = wall_app();
        app.update();
        // The second bookmark cannot be placed (as when its point cannot be projected).
        app.world_mut().resource_mut::<SceneViews>().bookmarks[1].1 =
            Err("bookmark 'bad': cannot project".to_string());
        app.update();
        assert!(
            matches!(phase(&app), TourPhase::Flying { stop: 0, .. }),
            "{:?}",
            phase(&app)
        );
        let world = app.world_mut();
        let flying = world.query_filtered::<(), With<Flying>>().iter(world).count();
        assert_eq!(flying, 1, "the camera flies to the first stop");
        // Flight (1.5 s) + dwell (5 s), then the broken stop fails and the tour recovers.
        for _ in 0..32 {
            app.update();
        }
        let tour = &app.world().resource::<WallTour>().0;
        assert!(tour.errors >= 1, "the broken stop is counted: {tour:?}");
        assert!(
            tour.last_error
                .as_ref()
                .is_some_and(|e| e.to_string().contains("bad")),
            "{tour:?}"
        );
        // It comes back to the good stop after the retry wait: never stuck.
        let mut back = false;
        for _ in 0..40 {
            app.update();
            back |= matches!(phase(&app), TourPhase::Dwelling { stop: 0, .. });
        }
        assert!(back, "recovered to the good stop: {:?}", phase(&app));

        // Moving the mouse pauses it; after the idle timeout (20 s) it resumes.
        app.world_mut().write_message(MouseMotion {
            delta: Vec2::new(40.0, 0.0),
        });
        app.update();
        assert!(
            matches!(phase(&app), TourPhase::Paused { .. }),
            "{:?}",
            phase(&app)
        );
        for _ in 0..60 {
            app.update();
        }
        assert!(
            matches!(phase(&app), TourPhase::Paused { .. }),
            "{:?}",
            phase(&app)
        );
        for _ in 0..24 {
            app.update();
        }
        assert!(
            !matches!(phase(&app), TourPhase::Paused { .. }),
            "resumed after the idle timeout: {:?}",
            phase(&app)
        );
    }
}
