//! The Bevy half of citytwin: thin plugins over the pure `twin` core.
//!
//! [`AppPlugin`] gathers one plugin per concern: loading the scene on a background thread
//! ([`loading`]), drawing the city's outline ([`outline`]), its buildings in 3D
//! ([`city_view`]) and its roads, areas, zones and POIs ([`ground_view`]), the orbit camera
//! ([`camera`]) and its fly-to views ([`views`]), the indicators ([`dashboard`]) and the
//! egui panels ([`ui`]). [`run`] opens
//! the window and runs the whole program; [`offscreen`] renders a scene to PNG without one.

pub mod access;
pub mod bench;
pub mod briefing;
pub mod briefing_export;
pub mod camera;
pub mod capture;
pub mod city_view;
pub mod dashboard;
pub mod egui_setup;
pub mod feeds;
pub mod ground_view;
pub mod i18n;
pub mod lighting;
pub mod loading;
pub mod offscreen;
pub mod outline;
pub mod overlays;
pub mod panels_bench;
pub mod picking;
pub mod scenario;
pub mod scenario_draw;
pub mod scenario_view;
pub mod screen;
pub mod ui;
pub mod ui_render;
pub mod views;
pub mod wall;

use std::path::{Path, PathBuf};

use bevy::prelude::*;

use crate::app::access::{AccessPlugin, RequestedRole};
use crate::app::camera::CameraPlugin;
use crate::app::city_view::CityViewPlugin;
use crate::app::dashboard::DashboardPlugin;
use crate::app::feeds::FeedsPlugin;
use crate::app::ground_view::GroundViewPlugin;
use crate::app::lighting::LightingPlugin;
use crate::app::loading::LoadingPlugin;
use crate::app::outline::OutlinePlugin;
use crate::app::overlays::OverlaysPlugin;
use crate::app::picking::PickingPlugin;
use crate::app::scenario::ScenarioPlugin;
use crate::app::ui::UiPlugin;
use crate::app::views::ViewsPlugin;

/// Background colour of the 3D view (sRGB, 0–1).
pub(crate) const CLEAR_COLOUR: [f32; 3] = [0.08, 0.09, 0.11];

/// The whole application: every citytwin plugin, for a given scene file.
pub struct AppPlugin {
    /// The scene file (`scenes/*.ron`) to load at start.
    pub scene_path: PathBuf,
    /// Whether the scene's live feeds start. The window runs them; offscreen renders draw
    /// the city without them, so that a render is reproducible and writes no history.
    pub live_feeds: bool,
}

/// The stages of a frame in `Update`, run in this order (configured once, in [`AppPlugin`]).
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum AppSystems {
    /// Taking in data: finished loads, live feeds.
    Ingest,
    /// Updating the city model and scenarios.
    Model,
    /// Computing indicators from the model.
    Indicators,
    /// Updating what is drawn: meshes, materials, the camera.
    Visuals,
    /// UI bookkeeping that runs in `Update` (the egui panels themselves run in
    /// `EguiPrimaryContextPass`).
    Ui,
    /// `EguiPrimaryContextPass`: the frame's layout starts over the whole screen.
    UiBegin,
    /// `EguiPrimaryContextPass`: panels docked across the top.
    UiDockTop,
    /// `EguiPrimaryContextPass`: panels docked down the left and right sides.
    UiDockSides,
    /// `EguiPrimaryContextPass`: panels docked across the bottom (between the sides).
    UiDockBottom,
    /// `EguiPrimaryContextPass`: floating windows and overlays, inside what the docks left.
    UiWindows,
    /// `EguiPrimaryContextPass`: the 3D view takes what is left; the layout is remembered.
    UiEnd,
}

impl AppSystems {
    /// Sets up [`AppState`] and chains the stages in `Update`, and the UI's in
    /// `EguiPrimaryContextPass`: the one place their order is named (the app, the wall and
    /// headless tests all call it).
    pub fn configure(app: &mut App) -> &mut App {
        app.init_state::<AppState>()
            .configure_sets(
                Update,
                (
                    AppSystems::Ingest,
                    AppSystems::Model,
                    AppSystems::Indicators,
                    AppSystems::Visuals,
                    AppSystems::Ui,
                )
                    .chain(),
            )
            .configure_sets(
                bevy_egui::EguiPrimaryContextPass,
                (
                    AppSystems::UiBegin,
                    AppSystems::UiDockTop,
                    AppSystems::UiDockSides,
                    AppSystems::UiDockBottom,
                    AppSystems::UiWindows,
                    AppSystems::UiEnd,
                )
                    .chain(),
            )
    }
}

/// Where the application is: loading the scene, showing it, or showing why it failed.
#[derive(States, Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum AppState {
    /// The scene is being loaded on a background thread.
    #[default]
    Loading,
    /// The scene is loaded; [`loading::LoadedCity`] is present.
    Ready,
    /// Loading failed; [`loading::LoadError`] holds the message.
    Failed,
}

impl Plugin for AppPlugin {
    fn build(&self, app: &mut App) {
        AppSystems::configure(app)
            .add_plugins((
                LoadingPlugin {
                    scene_path: self.scene_path.clone(),
                },
                OutlinePlugin,
                CityViewPlugin,
                GroundViewPlugin,
                CameraPlugin,
                PickingPlugin,
                DashboardPlugin,
                ViewsPlugin,
                AccessPlugin,
                OverlaysPlugin,
            ))
            .add_plugins((LightingPlugin, i18n::I18nPlugin));
        // A wall shows its own panels and none of the desk's chrome.
        let desktop = !app.world().contains_resource::<wall::WallMode>();
        app.add_plugins(ui::layout::LayoutPlugin { desktop });
        if desktop {
            app.add_plugins(UiPlugin);
        } else {
            app.add_plugins(wall::WallPlugin);
        }
        if self.live_feeds {
            app.add_plugins(FeedsPlugin);
        }
    }
}

/// An app without a window or a renderer, for headless runs (the wall soak) and tests:
/// Bevy's minimal plugins, states, assets and input, and the mesh and material assets
/// our plugins create.
pub fn headless_app() -> App {
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        bevy::state::app::StatesPlugin,
        AssetPlugin::default(),
        bevy::input::InputPlugin,
    ))
    .init_asset::<Mesh>()
    .init_asset::<StandardMaterial>();
    app
}

/// The window title for a scene file: `citytwin — <file name>`.
pub fn window_title(scene_path: &Path) -> String {
    let name = scene_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| scene_path.display().to_string());
    format!("citytwin — {name}")
}

/// Opens the window (maximised) and runs citytwin on a scene file until the window is
/// closed, as the scene's default role.
pub fn run(scene_path: PathBuf) -> anyhow::Result<()> {
    run_with(scene_path, None, briefing::BriefingPlugin::default(), None)
}

/// [`run`] as a role (`--role NAME`; `None`: the scene's default role) and, with `size`
/// (`--window WxH`), in a window of that size instead of a maximised one.
pub fn run_as(scene_path: PathBuf, role: Option<String>, size: Option<(u32, u32)>) -> anyhow::Result<()> {
    run_with(scene_path, role, briefing::BriefingPlugin::default(), size)
}

/// [`run`] as a role and with a briefing: presenting one fills the screen borderless; `size`
/// (`--window WxH`) opens a window of that size instead.
pub fn run_with(
    scene_path: PathBuf,
    role: Option<String>,
    briefing: briefing::BriefingPlugin,
    size: Option<(u32, u32)>,
) -> anyhow::Result<()> {
    let [r, g, b] = CLEAR_COLOUR;
    let sizing = match size {
        Some((w, h)) => screen::WindowSizing::Fixed(w, h),
        None if briefing.presenting => screen::WindowSizing::Fill(None),
        None => screen::WindowSizing::Maximised,
    };
    let window = sizing.window(window_title(&scene_path));
    let exit = App::new()
        .insert_resource(ClearColor(Color::srgb(r, g, b)))
        .insert_resource(RequestedRole(role))
        .add_plugins(DefaultPlugins.set(WindowPlugin {
            primary_window: Some(window),
            ..default()
        }))
        .add_plugins(screen::ScreenPlugin(sizing))
        .add_plugins(crate::app::egui_setup::CityEguiPlugin)
        .add_plugins(AppPlugin {
            scene_path,
            live_feeds: true,
        })
        .add_plugins(briefing)
        .add_plugins(ScenarioPlugin)
        .run();
    match exit {
        AppExit::Success => Ok(()),
        AppExit::Error(code) => anyhow::bail!("citytwin exited with error code {code}"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use bevy::state::app::StatesPlugin;

    use super::*;
    use crate::app::loading::{LoadError, LoadedCity};
    use crate::app::outline::tests::{BUILDING_VERTICES, POI_VERTICES, ROAD_VERTICES, ZONE_VERTICES};
    use crate::app::outline::{GroundPlane, LayerEntity};

    /// Longest a headless test waits for the loader thread.
    const TEST_TIMEOUT: Duration = Duration::from_secs(10);
    /// Pause between headless frames while waiting.
    const TEST_FRAME_SLEEP: Duration = Duration::from_millis(10);

    /// Runs frames until the state is no longer `Loading`, or the timeout passes.
    fn update_until_loaded(app: &mut App) -> AppState {
        let start = Instant::now();
        loop {
            app.update();
            let state = *app.world().resource::<State<AppState>>().get();
            if state != AppState::Loading || start.elapsed() > TEST_TIMEOUT {
                return state;
            }
            std::thread::sleep(TEST_FRAME_SLEEP);
        }
    }

    #[test]
    fn window_title_names_the_scene_file() {
        assert_eq!(
            window_title(Path::new("scenes/helsinki.ron")),
            "citytwin — helsinki.ron"
        );
    }

    #[test]
    fn missing_scene_fails_with_its_path() {
        let path = PathBuf::from("/nonexistent/citytwin-test/no-such-scene.ron");
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, StatesPlugin))
            .init_state::<AppState>()
            .add_plugins(LoadingPlugin {
                scene_path: path.clone(),
            });
        assert_eq!(update_until_loaded(&mut app), AppState::Failed);
        let message = &app.world().resource::<LoadError>().0;
        assert!(
            message.contains(&path.display().to_string()),
            "error does not name the path: {message}"
        );
        assert!(!app.world().contains_resource::<LoadedCity>());
    }

    #[test]
    fn outline_spawns_one_line_mesh_per_layer() {
        let loaded = crate::app::outline::tests::tiny_loaded_scene();
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, AssetPlugin::default(), StatesPlugin))
            .init_asset::<Mesh>()
            .init_asset::<StandardMaterial>()
            .init_state::<AppState>()
            .add_plugins(OutlinePlugin)
            .insert_resource(LoadedCity(std::sync::Arc::new(loaded)));
        app.world_mut()
            .resource_mut::<NextState<AppState>>()
            .set(AppState::Ready);
        app.update();

        let world = app.world_mut();
        let mut found: Vec<(usize, usize, Visibility)> = world
            .query::<(&LayerEntity, &Mesh3d, &Visibility)>()
            .iter(world)
            .map(|(layer, mesh, vis)| {
                let mesh = world.resource::<Assets<Mesh>>().get(&mesh.0).expect("mesh added");
                assert_eq!(mesh.primitive_topology(), bevy::mesh::PrimitiveTopology::LineList);
                (layer.index, mesh.count_vertices(), *vis)
            })
            .collect();
        found.sort_by_key(|f| f.0);
        assert_eq!(
            found,
            vec![
                (0, BUILDING_VERTICES, Visibility::Visible),
                (1, ROAD_VERTICES, Visibility::Hidden),
                (2, POI_VERTICES, Visibility::Visible),
                (3, ZONE_VERTICES, Visibility::Hidden),
            ]
        );
        let grounds = world.query::<&GroundPlane>().iter(world).count();
        assert_eq!(grounds, 1);
    }

    #[test]
    fn whole_app_plugin_runs_headless() {
        let path = PathBuf::from("/nonexistent/citytwin-test/whole-app.ron");
        let mut app = crate::app::headless_app();
        app.add_plugins(AppPlugin {
            scene_path: path,
            live_feeds: true,
        });
        assert_eq!(update_until_loaded(&mut app), AppState::Failed);
        // The camera exists and keeps running without a window.
        app.update();
        let world = app.world_mut();
        assert_eq!(world.query::<&camera::CameraRig>().iter(world).count(), 1);
    }
}
