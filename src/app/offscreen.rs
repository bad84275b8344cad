//! Rendering a scene offscreen to PNG, without a window or a display (`citytwin render`).
//!
//! The whole app runs with winit left out and the camera drawing into an [`Image`]; the app
//! is pumped frame by frame from [`render`]: it waits for the scene to load, frames the city
//! (or a scene bookmark), lets a few frames render, reads the image back with Bevy's
//! screenshot ([`crate::app::capture`]) and writes it. Several shots of one app may recolour buildings between
//! them through [`BuildingColours`], and roads, zones and areas through their feature colour
//! buffers ([`crate::app::ground_view`]); neither touches a mesh.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail};
use bevy::app::PluginsState;
use bevy::asset::RenderAssetUsages;
use bevy::camera::RenderTarget;
use bevy::ecs::schedule::{MultiThreadedExecutor, SingleThreadedExecutor};
use bevy::render::pipelined_rendering::PipelinedRenderingPlugin;
use bevy::render::render_resource::{Extent3d, PollType, TextureDimension, TextureFormat, TextureUsages};
use bevy::render::renderer::RenderDevice;
use bevy::render::{RenderApp, RenderPlugin};
use bevy::window::ExitCondition;
use bevy::winit::WinitPlugin;
use bevy::{image::Image, prelude::*};
use geo_types::Coord;

use crate::app::camera::CameraRig;
use crate::app::capture::{CaptureStep, FrameCapture, load_failure, pump};
use crate::app::city_view::{BuildingColours, BuildingTile, BuildingTileFar};
use crate::app::ground_view::{
    AreaColours, FeatureSet, GroundTileEntity, GroundTileFar, RoadColours, ZoneColours,
};
use crate::app::loading::{LoadError, LoadSynth, LoadedCity};
use crate::app::{AppPlugin, AppState, AppSystems, CLEAR_COLOUR};
use crate::twin::city::CityModel;
use crate::twin::crs::{Transformer, WGS84};
use crate::twin::scene::{Bookmark, Scene};

/// Largest accepted image side, pixels.
pub const MAX_SIZE: u32 = 8192;
/// Frames rendered after the scene is ready (or after a recolouring) before a capture.
const SETTLE_FRAMES: u32 = 4;
/// Longest a whole render may take, load included.
const RENDER_TIMEOUT: Duration = Duration::from_secs(600);

/// One image to write, after applying its recolouring.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Shot {
    /// The PNG file to write.
    pub out: PathBuf,
    /// Buildings (index into `CityModel::buildings`) to recolour before this shot.
    pub recolour: Vec<(usize, Color)>,
    /// Roads, zones or areas (index into that set of `CityModel`) to recolour through
    /// their feature colour buffers before this shot.
    pub recolour_features: Vec<(FeatureSet, usize, Color)>,
}

/// What to render: a scene, an image size, an optional bookmark and one or more shots.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderJob {
    /// The scene file.
    pub scene: PathBuf,
    /// Image width and height, pixels.
    pub size: (u32, u32),
    /// Name of a scene bookmark to look from (default: the whole city framed).
    pub bookmark: Option<String>,
    /// The images, rendered in order by the same app.
    pub shots: Vec<Shot>,
}

/// What a finished [`render`] saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderOutcome {
    /// Buildings in the city model.
    pub buildings: usize,
    /// Entities drawing building tiles.
    pub building_tiles: usize,
    /// Modifications of building and ground meshes seen after the first shot (recolouring
    /// makes none).
    pub mesh_changes_after_first_shot: usize,
    /// Tiles drawn at each level of detail in the first shot.
    pub first_shot_levels: DrawnLevels,
}

/// Tiles in view at each level of detail (visible to the camera in a frame: inside its
/// frustum and within the level's distances).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrawnLevels {
    /// Building tiles at the near level (roofs and walls).
    pub buildings_near: usize,
    /// Building tiles at the far level (one quad per roof).
    pub buildings_far: usize,
    /// Road tiles at the near level (round caps and joins).
    pub roads_near: usize,
    /// Road tiles at the far level (plain quads).
    pub roads_far: usize,
}

/// Parses an image size written `WIDTHxHEIGHT` (e.g. `1920x1080`).
pub fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("'{s}' is not of the form WIDTHxHEIGHT"))?;
    let side = |v: &str| -> Result<u32, String> {
        let n: u32 = v
            .trim()
            .parse()
            .map_err(|_| format!("'{s}': '{v}' is not a number"))?;
        if n == 0 || n > MAX_SIZE {
            return Err(format!("'{s}': sides must be 1 to {MAX_SIZE} pixels"));
        }
        Ok(n)
    };
    Ok((side(w)?, side(h)?))
}

/// Renders one frame of a scene to a PNG file, without a window: the whole city framed,
/// or the view of a scene bookmark.
pub fn render_to_png(
    scene: &Path,
    out: &Path,
    size: (u32, u32),
    bookmark: Option<&str>,
) -> anyhow::Result<()> {
    render(&RenderJob {
        scene: scene.to_path_buf(),
        size,
        bookmark: bookmark.map(str::to_string),
        shots: vec![Shot {
            out: out.to_path_buf(),
            recolour: Vec::new(),
            recolour_features: Vec::new(),
        }],
    })
    .map(|_| ())
}

/// Renders every shot of a job with one offscreen app, writing each PNG in turn, as the
/// scene's default role.
pub fn render(job: &RenderJob) -> anyhow::Result<RenderOutcome> {
    render_as(job, None)
}

/// [`render_to_png`] as a role (`None`: the scene's default role).
pub fn render_to_png_as(
    scene: &Path,
    out: &Path,
    size: (u32, u32),
    bookmark: Option<&str>,
    role: Option<&str>,
) -> anyhow::Result<()> {
    render_to_png_lit(scene, out, size, bookmark, role, None)
}

/// [`render`] as a role (`None`: the scene's default role): layers and feeds above the
/// role are never loaded, so they are in no image.
pub fn render_as(job: &RenderJob, role: Option<&str>) -> anyhow::Result<RenderOutcome> {
    render_lit(job, role, None)
}

/// [`render_to_png_as`] with sun shadows forced on or off (`None`: as the scene says).
pub fn render_to_png_lit(
    scene: &Path,
    out: &Path,
    size: (u32, u32),
    bookmark: Option<&str>,
    role: Option<&str>,
    shadows: Option<bool>,
) -> anyhow::Result<()> {
    render_lit(
        &RenderJob {
            scene: scene.to_path_buf(),
            size,
            bookmark: bookmark.map(str::to_string),
            shots: vec![Shot {
                out: out.to_path_buf(),
                ..Shot::default()
            }],
        },
        role,
        shadows,
    )
    .map(|_| ())
}

/// [`render_as`] with sun shadows forced on or off (`None`: as the scene's
/// `lighting` says; see [`crate::app::lighting`]).
pub fn render_lit(
    job: &RenderJob,
    role: Option<&str>,
    shadows: Option<bool>,
) -> anyhow::Result<RenderOutcome> {
    let (w, h) = job.size;
    if w == 0 || h == 0 || w > MAX_SIZE || h > MAX_SIZE {
        bail!("image size {w}x{h}: sides must be 1 to {MAX_SIZE} pixels");
    }
    if job.shots.is_empty() {
        bail!("nothing to render: no output file");
    }
    let scene = Scene::load(&job.scene)?;
    let bookmark = match &job.bookmark {
        None => None,
        Some(name) => Some(find_bookmark(&scene, name).map_err(|e| anyhow!("{}: {e}", job.scene.display()))?),
    };

    let status = Arc::new(Mutex::new(Status::default()));
    let (mut app, target) = offscreen_app(&job.scene, job.size, None);
    app.insert_resource(crate::app::access::RequestedRole(role.map(str::to_string)));
    if let Some(on) = shadows {
        app.insert_resource(crate::app::lighting::ShadowsOverride(on));
    }
    app.insert_resource(Driver {
        capture: FrameCapture::new(target, SETTLE_FRAMES),
        bookmark,
        shots: job.shots.clone(),
        next_shot: 0,
        phase: Phase::Loading,
        status: status.clone(),
    })
    .add_systems(
        Update,
        (drive, recolour_features, count_mesh_changes, count_drawn_levels)
            .chain()
            .in_set(AppSystems::Model),
    );

    pump(
        &mut app,
        RENDER_TIMEOUT,
        &format!("{}: rendering", job.scene.display()),
    )?;
    let status = status
        .lock()
        .map_err(|_| anyhow!("render state poisoned"))?
        .clone();
    match status.error {
        Some(e) => Err(anyhow!(e)),
        None => {
            let l = status.outcome.first_shot_levels;
            info!(
                "tiles drawn: buildings {} near, {} far; roads {} near, {} far",
                l.buildings_near, l.buildings_far, l.roads_near, l.roads_far
            );
            Ok(status.outcome)
        }
    }
}

/// The whole citytwin app without a window, its camera drawing into an image of `size`
/// (returned), plugins finished and ready to be pumped with [`frame`]. With `synth`, a
/// synthetic city is generated in memory instead of loading `scene`.
pub(crate) fn offscreen_app(
    scene: &Path,
    size: (u32, u32),
    synth: Option<LoadSynth>,
) -> (App, Handle<Image>) {
    offscreen_app_with(scene, size, synth, |_| {})
}

/// Inserted by an offscreen app's `setup`: run the scene's live feeds, as the wall does on
/// its screen (other offscreen renders show the city without them).
#[derive(Resource, Debug, Default)]
pub(crate) struct OffscreenLiveFeeds;

/// [`offscreen_app`] with `setup` run on the app before [`AppPlugin`] is added (to add
/// egui, or insert a resource such as [`crate::app::wall::WallMode`] that changes it).
pub(crate) fn offscreen_app_with(
    scene: &Path,
    size: (u32, u32),
    synth: Option<LoadSynth>,
    setup: impl FnOnce(&mut App),
) -> (App, Handle<Image>) {
    let mut app = App::new();
    let [r, g, b] = CLEAR_COLOUR;
    if let Some(s) = synth {
        app.insert_resource(s);
    }
    app.insert_resource(ClearColor(Color::srgb(r, g, b))).add_plugins(
        DefaultPlugins
            .build()
            .disable::<WinitPlugin>()
            .disable::<PipelinedRenderingPlugin>()
            .set(WindowPlugin {
                primary_window: None,
                exit_condition: ExitCondition::DontExit,
                ..default()
            })
            .set(RenderPlugin {
                synchronous_pipeline_compilation: true,
                ..default()
            }),
    );
    setup(&mut app);
    let live_feeds = app.world().contains_resource::<OffscreenLiveFeeds>();
    app.add_plugins(AppPlugin {
        scene_path: scene.to_path_buf(),
        live_feeds,
    });
    let target = app
        .world_mut()
        .resource_mut::<Assets<Image>>()
        .add(target_image(size.0, size.1));
    app.insert_resource(OffscreenTarget(target.clone()))
        .add_systems(PostStartup, aim_cameras_at_target);

    while app.plugins_state() == PluginsState::Adding {
        bevy::tasks::tick_global_task_pools_on_main_thread();
    }
    app.finish();
    app.cleanup();
    use_executor(&mut app, OFFSCREEN_EXECUTOR);
    (app, target)
}

/// How the schedules of the main and render worlds run their systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Executor {
    /// Bevy's default: systems in parallel on the task pools.
    Multi,
    /// The main world's systems one after another on the calling thread (no hand-over
    /// between threads: for a city at rest most systems do almost nothing, so this may be
    /// faster); the render world's in parallel.
    SingleMain,
    /// Both worlds' systems one after another on the calling thread.
    Single,
}

/// How offscreen apps run their schedules. Without pipelined rendering a frame is the main
/// world's schedule, then the render world's, then the GPU's work, one after the other, so
/// every schedule's time adds to every frame; for a city at rest most systems do almost
/// nothing, and handing them between threads costs more than running them in a row
/// (`citytwin bench render --executor`, 100,000 buildings on this project's 2-core build
/// machine: main world 3.7 ms per frame in parallel, 1.0 ms in a row; render world before
/// rendering 3.3 ms in parallel, 2.1 ms in a row). Systems that split their own work
/// (parallel queries) still use every core.
pub const OFFSCREEN_EXECUTOR: Executor = Executor::Single;

/// Gives every schedule of the main and render worlds the `executor` (schedules created
/// later keep Bevy's default).
pub(crate) fn use_executor(app: &mut App, executor: Executor) {
    fn set(world: &mut World, single: bool) {
        if let Some(mut schedules) = world.get_resource_mut::<Schedules>() {
            for (_, schedule) in schedules.iter_mut() {
                if single {
                    schedule.set_executor(SingleThreadedExecutor::new());
                } else {
                    schedule.set_executor(MultiThreadedExecutor::new());
                }
            }
        }
    }
    set(app.world_mut(), executor != Executor::Multi);
    if let Some(render) = app.get_sub_app_mut(RenderApp) {
        set(render.world_mut(), executor == Executor::Single);
    }
}

/// One frame of an offscreen app: update (which renders, pipelined rendering being off),
/// then wait until the GPU has finished the frame.
pub(crate) fn frame(app: &mut App) {
    app.update();
    wait_for_gpu(app);
}

/// Waits until the GPU has finished all work submitted so far.
pub(crate) fn wait_for_gpu(app: &App) {
    if let Some(device) = app.world().get_resource::<RenderDevice>() {
        let _ = device.wgpu_device().poll(PollType::Wait {
            submission_index: None,
            timeout: None,
        });
    }
}

/// The image offscreen cameras draw into.
#[derive(Resource)]
struct OffscreenTarget(Handle<Image>);

/// A scene bookmark by name, or an error listing the scene's bookmarks.
fn find_bookmark(scene: &Scene, name: &str) -> Result<Bookmark, String> {
    scene
        .bookmarks
        .iter()
        .find(|b| b.name == name)
        .cloned()
        .ok_or_else(|| {
            let known: Vec<&str> = scene.bookmarks.iter().map(|b| b.name.as_str()).collect();
            if known.is_empty() {
                format!("unknown bookmark '{name}': the scene has none")
            } else {
                format!("unknown bookmark '{name}' (the scene has: {})", known.join(", "))
            }
        })
}

/// The camera rig of a bookmark: its WGS84 target in the city's frame.
pub fn bookmark_rig(city: &CityModel, bookmark: &Bookmark) -> Result<CameraRig, String> {
    let (lon, lat) = bookmark.target_lonlat;
    let transformer = Transformer::new(&WGS84, &city.crs).map_err(|e| e.to_string())?;
    let (x, y) = transformer
        .point(lon, lat)
        .ok_or_else(|| format!("bookmark '{}': cannot project ({lon}, {lat})", bookmark.name))?;
    let [east, north] = city.origin.local(Coord { x, y });
    Ok(CameraRig {
        target: Vec3::new(east, 0.0, -north),
        distance: bookmark.distance_m as f32,
        yaw: (bookmark.heading_deg as f32).to_radians(),
        pitch: (bookmark.pitch_deg as f32).to_radians(),
    }
    .clamped(f32::MAX))
}

/// The image the camera draws into: sRGB RGBA, readable back.
fn target_image(width: u32, height: u32) -> Image {
    let mut image = Image::new_uninit(
        Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
        TextureDimension::D2,
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::default(),
    );
    image.texture_descriptor.usage |=
        TextureUsages::RENDER_ATTACHMENT | TextureUsages::COPY_SRC | TextureUsages::TEXTURE_BINDING;
    image
}

/// Where the driver is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the scene.
    Loading,
    /// Capturing the shots.
    Shooting,
    /// Finished (the app is exiting).
    Done,
}

/// What the caller of [`render`] gets back.
#[derive(Debug, Clone, Default)]
struct Status {
    error: Option<String>,
    outcome: RenderOutcome,
}

/// The offscreen run: target, shots and progress.
#[derive(Resource)]
struct Driver {
    capture: FrameCapture,
    bookmark: Option<Bookmark>,
    shots: Vec<Shot>,
    next_shot: usize,
    phase: Phase,
    status: Arc<Mutex<Status>>,
}

impl Driver {
    /// Records an error and asks the app to exit with failure.
    fn fail(&mut self, message: String, exit: &mut MessageWriter<AppExit>) {
        error!("{message}");
        if let Ok(mut s) = self.status.lock() {
            s.error = Some(message);
        }
        self.phase = Phase::Done;
        exit.write(AppExit::error());
    }
}

/// Points every camera at the offscreen image.
fn aim_cameras_at_target(
    mut commands: Commands,
    target: Res<OffscreenTarget>,
    cameras: Query<Entity, With<Camera>>,
) {
    for camera in &cameras {
        commands
            .entity(camera)
            .insert(RenderTarget::Image(target.0.clone().into()));
    }
}

/// Writes a captured image as a PNG (RGB).
pub(crate) fn save_png(image: Image, out: &Path) -> Result<(), String> {
    let dynamic = image
        .try_into_dynamic()
        .map_err(|e| format!("{}: cannot convert the frame: {e}", out.display()))?;
    dynamic
        .to_rgb8()
        .save(out)
        .map_err(|e| format!("{}: cannot write the image: {e}", out.display()))
}

/// Steps the run: load, aim, settle, capture, save, recolour, exit.
#[allow(clippy::too_many_arguments)]
fn drive(
    mut commands: Commands,
    mut driver: ResMut<Driver>,
    state: Res<State<AppState>>,
    loaded: Option<Res<LoadedCity>>,
    load_error: Option<Res<LoadError>>,
    mut colours: Option<ResMut<BuildingColours>>,
    mut rigs: Query<&mut CameraRig>,
    tiles: Query<(), With<BuildingTile>>,
    mut exit: MessageWriter<AppExit>,
) {
    match driver.phase {
        Phase::Done => {}
        Phase::Loading => {
            if let Some(e) = load_failure(&state, load_error.as_deref()) {
                return driver.fail(e, &mut exit);
            }
            let Some(loaded) = loaded.filter(|_| *state.get() == AppState::Ready) else {
                return;
            };
            let city = &loaded.0.city;
            if let Ok(mut s) = driver.status.lock() {
                s.outcome.buildings = city.buildings.len();
                s.outcome.building_tiles = tiles.iter().count();
            }
            if let Some(bookmark) = driver.bookmark.clone() {
                match bookmark_rig(city, &bookmark) {
                    Ok(rig) => rigs.iter_mut().for_each(|mut r| *r = rig),
                    Err(e) => return driver.fail(e, &mut exit),
                }
            }
            driver.phase = Phase::Shooting;
            driver.capture.start();
        }
        Phase::Shooting => {
            let image = match driver.capture.step(&mut commands) {
                CaptureStep::Idle | CaptureStep::Pending => return,
                CaptureStep::Failed(e) => return driver.fail(e, &mut exit),
                CaptureStep::Captured(image) => image,
            };
            let out = driver.shots[driver.next_shot].out.clone();
            if let Err(e) = save_png(image, &out) {
                return driver.fail(e, &mut exit);
            }
            info!("wrote {}", out.display());
            driver.next_shot += 1;
            let Some(shot) = driver.shots.get(driver.next_shot).cloned() else {
                driver.phase = Phase::Done;
                exit.write(AppExit::Success);
                return;
            };
            if !shot.recolour.is_empty() {
                let Some(colours) = colours.as_mut() else {
                    return driver.fail("the city has no buildings to recolour".to_string(), &mut exit);
                };
                for (index, colour) in shot.recolour {
                    if !colours.set(index, colour) {
                        let n = colours.colours.len();
                        return driver.fail(format!("no building {index} (the city has {n})"), &mut exit);
                    }
                }
            }
            driver.capture.start();
        }
    }
}

/// Applies the feature recolouring of a shot once `drive` has moved on to it.
fn recolour_features(
    mut driver: ResMut<Driver>,
    mut roads: Option<ResMut<RoadColours>>,
    mut zones: Option<ResMut<ZoneColours>>,
    mut areas: Option<ResMut<AreaColours>>,
    mut exit: MessageWriter<AppExit>,
    mut applied: Local<usize>,
) {
    let next = driver.next_shot;
    if next == 0 || next <= *applied || !driver.capture.just_started() {
        return;
    }
    *applied = next;
    let Some(shot) = driver.shots.get(next).cloned() else {
        return;
    };
    for (set, index, colour) in shot.recolour_features {
        let colours = match set {
            FeatureSet::Roads => roads.as_mut().map(|c| &mut c.0),
            FeatureSet::Zones => zones.as_mut().map(|c| &mut c.0),
            FeatureSet::Areas => areas.as_mut().map(|c| &mut c.0),
        };
        let Some(colours) = colours else {
            return driver.fail(format!("no {set:?} colours to recolour"), &mut exit);
        };
        if !colours.set(index, colour) {
            let n = colours.len();
            return driver.fail(
                format!("no {set:?} feature {index} (the city has {n})"),
                &mut exit,
            );
        }
    }
}

/// Entities drawing building or ground tiles.
type DrawnTiles = Or<(
    With<BuildingTile>,
    With<BuildingTileFar>,
    With<GroundTileEntity>,
    With<GroundTileFar>,
)>;

/// Counts modifications of building and ground meshes after the first shot.
fn count_mesh_changes(
    driver: Res<Driver>,
    mut events: MessageReader<AssetEvent<Mesh>>,
    tiles: Query<&Mesh3d, DrawnTiles>,
) {
    let counting = driver.next_shot > 0;
    let changed = events
        .read()
        .filter(|e| match e {
            AssetEvent::Modified { id } => counting && tiles.iter().any(|m| m.id() == *id),
            _ => false,
        })
        .count();
    if changed > 0
        && let Ok(mut s) = driver.status.lock()
    {
        s.outcome.mesh_changes_after_first_shot += changed;
    }
}

/// Which kind of tile an entity is: a building or ground tile at its near or far level.
type TileLevel = AnyOf<(
    &'static BuildingTile,
    &'static BuildingTileFar,
    &'static GroundTileEntity,
    &'static GroundTileFar,
)>;

/// While the first shot is being taken, notes which tiles the camera saw at which level.
fn count_drawn_levels(driver: Res<Driver>, tiles: Query<(&ViewVisibility, TileLevel)>) {
    if driver.phase != Phase::Shooting || driver.next_shot != 0 {
        return;
    }
    let roads = |set: Option<FeatureSet>| usize::from(set == Some(FeatureSet::Roads));
    let mut levels = DrawnLevels::default();
    for (seen, (near, far, ground, ground_far)) in &tiles {
        if !seen.get() {
            continue;
        }
        levels.buildings_near += usize::from(near.is_some());
        levels.buildings_far += usize::from(far.is_some());
        levels.roads_near += roads(ground.map(|g| g.set));
        levels.roads_far += roads(ground_far.map(|g| g.set));
    }
    if let Ok(mut s) = driver.status.lock() {
        s.outcome.first_shot_levels = levels;
    }
}

/// Reads a PNG (or any image format Bevy decodes) into width, height and RGBA8 pixels.
pub fn read_png_rgba(path: &Path) -> anyhow::Result<(u32, u32, Vec<u8>)> {
    use bevy::image::{CompressedImageFormats, ImageSampler, ImageType};
    let bytes = std::fs::read(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let image = Image::from_buffer(
        &bytes,
        ImageType::Extension("png"),
        CompressedImageFormats::NONE,
        true,
        ImageSampler::Default,
        RenderAssetUsages::default(),
    )
    .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let rgba = image
        .try_into_dynamic()
        .map_err(|e| anyhow!("{}: {e}", path.display()))?
        .to_rgba8();
    Ok((rgba.width(), rgba.height(), rgba.into_raw()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1920x1080"), Ok((1920, 1080)));
        assert_eq!(parse_size("640X360"), Ok((640, 360)));
        assert!(parse_size("640").is_err());
        assert!(parse_size("0x10").is_err());
        assert!(parse_size("10x99999").is_err());
        assert!(parse_size("ax10").is_err());
    }

    #[test]
    fn unknown_bookmarks_list_the_known_ones() {
        let scene = Scene::parse(
            r#"(name: "s", layers: [], bookmarks: [(name: "A", target_lonlat: (24.9, 60.1), distance_m: 100.0)])"#,
            Path::new("s.ron"),
        )
        .expect("scene parses");
        assert_eq!(find_bookmark(&scene, "A").map(|b| b.name), Ok("A".to_string()));
        let e = find_bookmark(&scene, "B").unwrap_err();
        assert!(e.contains("'B'") && e.contains("A"), "{e}");
    }

    #[test]
    fn bad_requests_fail_before_starting_bevy() {
        let out = std::env::temp_dir().join("citytwin-offscreen-never.png");
        let e = render_to_png(Path::new("/nonexistent/x.ron"), &out, (64, 64), None).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/x.ron"), "{e}");
        let e = render_to_png(Path::new("/nonexistent/x.ron"), &out, (0, 64), None).unwrap_err();
        assert!(e.to_string().contains("0x64"), "{e}");
        assert!(!out.exists());
    }
}
