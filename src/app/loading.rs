//! Loading the scene without freezing the window: the blocking `load_scene` and the
//! extrusion of the buildings into tile meshes both run on a background thread, which hands
//! its result back over a channel; meanwhile egui shows a progress bar with the stage and
//! count (from a shared [`Progress`]), and on failure the error in red.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use crossbeam_channel::{Receiver, TryRecvError};

use crate::app::access::{RequestedRole, SceneAccess};
use crate::app::city_view::TILE_M;
use crate::app::ground_view::{GroundMeshes, PreparedGround, ground_meshes};
use crate::app::i18n::lang_of;
use crate::app::{AppState, AppSystems};
use crate::twin::access::{ScopedScene, Withheld, attributions, catalogue_rows, load_scene_as};
use crate::twin::extrude::{ExtrudeReport, TileLods, extrude_city_with, tile_lods};
use crate::twin::i18n::{tr, tr_args};
use crate::twin::load::LoadedScene;
use crate::twin::progress::{Progress, Stage};
use crate::twin::synth::load_synth;

/// Name of the background loader thread.
const LOADER_THREAD_NAME: &str = "citytwin-scene-loader";
/// Colour of the failure message.
const ERROR_COLOUR: egui::Color32 = egui::Color32::from_rgb(235, 80, 70);
/// Widest the loading / failure box grows, in logical pixels.
const STATUS_BOX_MAX_WIDTH: f32 = 560.0;
/// Width of the loading progress bar, logical pixels.
const PROGRESS_BAR_WIDTH: f32 = 360.0;

/// Loads the scene at start on a background thread, then enters [`AppState::Ready`] with
/// [`LoadedCity`] or [`AppState::Failed`] with [`LoadError`].
pub struct LoadingPlugin {
    /// The scene file to load.
    pub scene_path: PathBuf,
}

/// The scene file being shown.
#[derive(Resource, Debug, Clone)]
pub struct ScenePath(pub PathBuf);

/// The loaded scene and city model, present from [`AppState::Ready`] on.
#[derive(Resource, Clone)]
pub struct LoadedCity(pub Arc<LoadedScene>);

/// Why loading failed (names the scene file), present in [`AppState::Failed`].
#[derive(Resource, Debug, Clone)]
pub struct LoadError(pub String);

/// Insert before the app starts to load a synthetic city generated in memory instead of
/// the scene file (for benchmarks).
#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadSynth {
    /// Number of buildings.
    pub buildings: usize,
    /// Random seed.
    pub seed: u64,
}

/// The building tile meshes the loader thread extruded, waiting to be uploaded when the
/// scene becomes ready (taken, and so emptied, by the city view).
#[derive(Resource, Debug, Default)]
pub struct PreparedBuildings(pub Option<(Vec<TileLods>, ExtrudeReport)>);

/// How long the background work took, seconds: reading to the city model, and meshing
/// the buildings (both levels of detail) and the ground into meshes ready for upload.
#[derive(Resource, Debug, Clone, Copy, PartialEq)]
pub struct LoadTimings {
    /// Scene file (or synthetic city) to city model.
    pub load_s: f64,
    /// City model to tile meshes.
    pub mesh_s: f64,
}

/// What the loader thread sends back.
struct LoaderOutput {
    loaded: LoadedScene,
    access: SceneAccess,
    buildings: (Vec<TileLods>, ExtrudeReport),
    ground: GroundMeshes,
    timings: LoadTimings,
}

/// A load in progress: the channel the loader thread answers on, its progress, and when it
/// started.
#[derive(Resource)]
pub struct PendingLoad {
    receiver: Receiver<Result<LoaderOutput, String>>,
    progress: Arc<Progress>,
    started: Instant,
}

impl PendingLoad {
    /// When the load started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The loader's progress.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }
}

impl Plugin for LoadingPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(ScenePath(self.scene_path.clone()))
            .add_systems(Startup, start_loading)
            .add_systems(
                Update,
                poll_loading
                    .run_if(in_state(AppState::Loading))
                    .in_set(AppSystems::Ingest),
            )
            .add_systems(EguiPrimaryContextPass, status_ui);
    }
}

/// A load error's message, prefixed with the scene path unless it already names it.
fn error_naming_path(path: &std::path::Path, message: &str) -> String {
    let shown = path.display().to_string();
    if message.contains(&shown) {
        message.to_string()
    } else {
        format!("{shown}: {message}")
    }
}

/// The loader thread's work: the scene as the role may see it (or a synthetic city, all
/// public), then its building and ground meshes.
fn load_and_mesh(
    scene_path: &std::path::Path,
    synth: Option<LoadSynth>,
    role: Option<&str>,
    progress: &Progress,
) -> Result<LoaderOutput, String> {
    let t = Instant::now();
    let named = |e: &dyn std::fmt::Display| error_naming_path(scene_path, &e.to_string());
    let scoped = match synth {
        Some(s) => {
            let loaded = load_synth(s.buildings, s.seed, progress).map_err(|e| named(&e))?;
            let role = loaded.scene.roles.role(role).map_err(|e| named(&e))?;
            ScopedScene {
                loaded,
                role,
                withheld: Withheld::default(),
            }
        }
        None => load_scene_as(scene_path, role, progress).map_err(|e| named(&e))?,
    };
    let access = SceneAccess {
        catalogue: catalogue_rows(&scoped),
        attributions: attributions(&scoped.loaded.city),
        role: scoped.role,
        withheld: scoped.withheld,
    };
    let loaded = scoped.loaded;
    let load_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (tiles, report) = extrude_city_with(&loaded.city, TILE_M, progress);
    let buildings = (tile_lods(tiles), report);
    let ground = ground_meshes(&loaded.city, &loaded.scene);
    let mesh_s = t.elapsed().as_secs_f64();
    progress.begin(Stage::Done, 0);
    Ok(LoaderOutput {
        loaded,
        access,
        buildings,
        ground,
        timings: LoadTimings { load_s, mesh_s },
    })
}

/// Starts the loader thread.
fn start_loading(
    mut commands: Commands,
    path: Res<ScenePath>,
    synth: Option<Res<LoadSynth>>,
    role: Option<Res<RequestedRole>>,
    mut next: ResMut<NextState<AppState>>,
) {
    let (sender, receiver) = crossbeam_channel::bounded(1);
    let scene_path = path.0.clone();
    let synth = synth.map(|s| *s);
    let role = role.and_then(|r| r.0.clone());
    match synth {
        Some(s) => info!("generating a synthetic city of {} buildings", s.buildings),
        None => info!("loading scene {}", scene_path.display()),
    }
    let progress = Arc::new(Progress::default());
    let worker_progress = progress.clone();
    let spawned = std::thread::Builder::new()
        .name(LOADER_THREAD_NAME.to_string())
        .spawn(move || {
            let result = load_and_mesh(&scene_path, synth, role.as_deref(), &worker_progress);
            // The app may have closed meanwhile; nobody is left to tell then.
            let _ = sender.send(result);
        });
    match spawned {
        Ok(_) => commands.insert_resource(PendingLoad {
            receiver,
            progress,
            started: Instant::now(),
        }),
        Err(e) => {
            let message = error_naming_path(&path.0, &format!("cannot start the loader thread: {e}"));
            error!("{message}");
            commands.insert_resource(LoadError(message));
            next.set(AppState::Failed);
        }
    }
}

/// Takes the loader's answer when it has come and moves to `Ready` or `Failed`.
fn poll_loading(
    mut commands: Commands,
    pending: Option<Res<PendingLoad>>,
    path: Res<ScenePath>,
    mut next: ResMut<NextState<AppState>>,
) {
    let Some(pending) = pending else { return };
    let outcome = match pending.receiver.try_recv() {
        Err(TryRecvError::Empty) => return,
        Ok(outcome) => outcome,
        Err(TryRecvError::Disconnected) => Err(error_naming_path(
            &path.0,
            "the loader thread stopped without an answer (it panicked)",
        )),
    };
    let seconds = pending.started.elapsed().as_secs_f32();
    commands.remove_resource::<PendingLoad>();
    match outcome {
        Ok(LoaderOutput {
            loaded,
            access,
            buildings,
            ground,
            timings,
        }) => {
            match access.withheld.summary(&access.role.name) {
                Some(w) => info!("running as role '{}': {w}", access.role.name),
                None => info!("running as role '{}': nothing withheld", access.role.name),
            }
            info!(
                "loaded scene '{}' in {seconds:.1} s ({:.2} s reading, {:.2} s meshing): {} layers, {} buildings, {} roads",
                loaded.city.name,
                timings.load_s,
                timings.mesh_s,
                loaded.city.layers.len(),
                loaded.city.buildings.len(),
                loaded.city.roads.len()
            );
            commands.insert_resource(LoadedCity(Arc::new(loaded)));
            commands.insert_resource(access);
            commands.insert_resource(PreparedBuildings(Some(buildings)));
            commands.insert_resource(PreparedGround(Some(ground)));
            commands.insert_resource(timings);
            next.set(AppState::Ready);
        }
        Err(message) => {
            error!("{message}");
            commands.insert_resource(LoadError(message));
            next.set(AppState::Failed);
        }
    }
}

/// The centred "Loading…" box with a spinner, or the failure message in red.
fn status_ui(
    mut contexts: EguiContexts,
    state: Res<State<AppState>>,
    path: Res<ScenePath>,
    pending: Option<Res<PendingLoad>>,
    failure: Option<Res<LoadError>>,
) -> Result {
    if *state.get() == AppState::Ready {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?;
    let name = path
        .0
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.0.display().to_string());
    let lang = lang_of(ctx);
    egui::Window::new(tr(lang, "window-scene"))
        .id(egui::Id::new("scene_status"))
        .title_bar(false)
        .collapsible(false)
        .resizable(false)
        .max_width(STATUS_BOX_MAX_WIDTH)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| match (state.get(), failure) {
            (AppState::Failed, Some(failure)) => {
                ui.heading(tr_args(lang, "load-failed", &[("name", (&name).into())]));
                ui.colored_label(ERROR_COLOUR, &failure.0);
            }
            _ => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(tr_args(lang, "load-loading", &[("name", (&name).into())]));
                });
                if let Some(pending) = pending {
                    let p = pending.progress.snapshot();
                    ui.add(
                        egui::ProgressBar::new(p.fraction())
                            .desired_width(PROGRESS_BAR_WIDTH)
                            .text(p.text_in(lang)),
                    );
                    ui.weak(format!("{:.0} s", pending.started.elapsed().as_secs_f32()));
                }
            }
        });
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use bevy::state::app::StatesPlugin;

    use super::*;

    /// Longest the test waits for the loader thread.
    const TEST_TIMEOUT: Duration = Duration::from_secs(60);

    #[test]
    fn a_synthetic_city_is_loaded_and_meshed_on_the_loader_thread() {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, StatesPlugin))
            .init_state::<AppState>()
            .insert_resource(LoadSynth {
                buildings: 40,
                seed: 3,
            })
            .add_plugins(LoadingPlugin {
                scene_path: PathBuf::from("never-read.ron"),
            });
        app.update();
        let started = Instant::now();
        while *app.world().resource::<State<AppState>>().get() == AppState::Loading {
            assert!(started.elapsed() < TEST_TIMEOUT, "the loader did not finish");
            std::thread::sleep(Duration::from_millis(10));
            app.update();
        }
        let world = app.world();
        assert_eq!(*world.resource::<State<AppState>>().get(), AppState::Ready);
        assert_eq!(world.resource::<LoadedCity>().0.city.buildings.len(), 40);
        let (tiles, report) = world
            .resource::<PreparedBuildings>()
            .0
            .as_ref()
            .expect("meshes made on the loader thread");
        assert_eq!(report.buildings, 40);
        assert!(!tiles.is_empty() && tiles.iter().all(|t| !t.near.is_empty()));
        // The ground too: roads at both levels, tile for tile, and the zones.
        let ground = world
            .resource::<PreparedGround>()
            .0
            .as_ref()
            .expect("ground meshed on the loader thread");
        assert!(ground.roads.1.features > 0, "{:?}", ground.roads.1);
        assert_eq!(ground.roads.0.len(), ground.far_roads.len());
        assert!(!ground.zones.0.is_empty());
        let timings = world.resource::<LoadTimings>();
        assert!(timings.load_s > 0.0 && timings.mesh_s > 0.0, "{timings:?}");
        assert!(!world.contains_resource::<PendingLoad>());
    }

    #[test]
    fn errors_name_the_path_once() {
        let p = Path::new("scenes/x.ron");
        assert_eq!(error_naming_path(p, "boom"), "scenes/x.ron: boom");
        assert_eq!(
            error_naming_path(p, "scenes/x.ron:3:4: bad"),
            "scenes/x.ron:3:4: bad"
        );
    }
}
