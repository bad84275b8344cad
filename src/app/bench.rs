//! `citytwin bench render`: how fast a city loads and draws, offscreen. The app is pumped
//! frame by frame as in `citytwin render` ([`offscreen_app`], [`frame`]: update, then wait
//! for the GPU), on a synthetic city generated in memory or a scene file. Measured: the
//! time from start (GPU set-up included) to the first frame showing the buildings, the CPU
//! part alone (reading or generating the city, and meshing it: the loader thread's
//! [`LoadTimings`]), the frame times of `frames` further frames, and peak memory.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use bevy::anti_alias::fxaa::Fxaa;
use bevy::anti_alias::smaa::Smaa;
use bevy::diagnostic::DiagnosticsStore;
use bevy::prelude::*;
use bevy::render::diagnostic::RenderDiagnosticsPlugin;
use bevy::render::renderer::RenderAdapterInfo;
use bevy::render::storage::ShaderBuffer;
use bevy::render::{Render, RenderApp, RenderSystems};
use serde::Serialize;

use crate::app::AppState;
use crate::app::city_view::BuildingTile;
use crate::app::ground_view::GroundTileEntity;
use crate::app::loading::{LoadError, LoadSynth, LoadTimings, LoadedCity};
use crate::app::offscreen::{Executor, MAX_SIZE, frame, offscreen_app_with, use_executor, wait_for_gpu};
use crate::twin::perf::{Summary, peak_rss_bytes, rss_bytes, summarize};
use crate::twin::synth::SYNTH_SCENE_FILE;

/// Longest the city may take to show up, GPU set-up and loading included.
const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(1800);
/// Pause between frames while the city loads: about a 60 Hz display's frame.
const LOADING_FRAME_PAUSE: Duration = Duration::from_millis(16);
/// Most frames a bench may time.
pub const MAX_FRAMES: u32 = 100_000;
/// Bytes in a MiB.
const MIB: f64 = 1024.0 * 1024.0;

/// What city to measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BenchCity {
    /// A synthetic city of so many buildings, generated in memory (no files).
    Synth {
        /// Number of buildings.
        buildings: usize,
        /// Random seed.
        seed: u64,
    },
    /// A scene file.
    Scene(PathBuf),
}

/// A render benchmark: the city, the image size and how many frames to time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchJob {
    /// The city.
    pub city: BenchCity,
    /// Image width and height, pixels.
    pub size: (u32, u32),
    /// Frames timed after the first one.
    pub frames: u32,
    /// Samples per pixel of the camera's multisample anti-aliasing: 1 (off), 2, 4 or 8.
    pub msaa: u32,
    /// Sun shadows forced on or off (`None`: as the scene says, off for a synthetic city).
    pub shadows: Option<bool>,
    /// Also measure each render pass (GPU and CPU time, primitives) with Bevy's render
    /// diagnostics: timestamp and pipeline-statistics queries, which cost a little.
    pub passes: bool,
    /// Post-process anti-aliasing on the cameras (with `msaa` 1 instead of multisampling).
    pub post_aa: PostAa,
    /// How the schedules' systems are run (offscreen apps: [`crate::app::offscreen::OFFSCREEN_EXECUTOR`]).
    pub executor: Executor,
}

/// Anti-aliasing by a post-process pass over the finished image, instead of multisampling
/// (which, on a GPU with little raster hardware, multiplies the rasteriser's work).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum PostAa {
    /// None.
    #[default]
    None,
    /// Fast approximate anti-aliasing: one full-screen pass.
    Fxaa,
    /// Subpixel morphological anti-aliasing: three full-screen passes, sharper.
    Smaa,
}

/// One render pass's cost per timed frame (medians), from Bevy's render diagnostics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassCost {
    /// The pass, as Bevy names it (nested passes joined by `/`).
    pub pass: String,
    /// GPU time between the pass's timestamps, ms (`None` without timestamp queries).
    pub gpu_ms: Option<f64>,
    /// CPU time recording the pass, ms.
    pub cpu_ms: Option<f64>,
    /// Vertex shader invocations (pipeline statistics; `None` without them).
    pub vertices: Option<f64>,
    /// Primitives out of the clipper: the triangles rasterised.
    pub primitives: Option<f64>,
    /// Fragment shader invocations.
    pub fragments: Option<f64>,
}

/// Render diagnostics root: every path Bevy's [`RenderDiagnosticsPlugin`] writes begins so.
const RENDER_DIAGNOSTICS_ROOT: &str = "render/";

/// The [`PassCost`]s of the samples of each render diagnostic (`render/<pass>/<field>`
/// path to its values), in pass order; diagnostics of other shapes are left out.
pub fn pass_costs(samples: &BTreeMap<String, Vec<f64>>) -> Vec<PassCost> {
    let mut passes: BTreeMap<&str, PassCost> = BTreeMap::new();
    for (path, values) in samples {
        let Some(rest) = path.strip_prefix(RENDER_DIAGNOSTICS_ROOT) else {
            continue;
        };
        let Some((pass, field)) = rest.rsplit_once('/') else {
            continue;
        };
        let median = summarize(values).map(|s| s.median);
        let cost = passes.entry(pass).or_insert_with(|| PassCost {
            pass: pass.to_string(),
            gpu_ms: None,
            cpu_ms: None,
            vertices: None,
            primitives: None,
            fragments: None,
        });
        match field {
            "elapsed_gpu" => cost.gpu_ms = median,
            "elapsed_cpu" => cost.cpu_ms = median,
            "vertex_shader_invocations" => cost.vertices = median,
            "clipper_primitives_out" => cost.primitives = median,
            "fragment_shader_invocations" => cost.fragments = median,
            _ => {}
        }
    }
    passes.into_values().collect()
}

/// Moves every render diagnostic's measurements so far into `samples` (emptying their
/// histories, so each measurement is taken once).
fn drain_render_diagnostics(world: &mut World, samples: &mut BTreeMap<String, Vec<f64>>) {
    let Some(mut store) = world.get_resource_mut::<DiagnosticsStore>() else {
        return;
    };
    for d in store.iter_mut() {
        let path = d.path().as_str();
        if !path.starts_with(RENDER_DIAGNOSTICS_ROOT) {
            continue;
        }
        let values: Vec<f64> = d.values().copied().collect();
        samples.entry(path.to_string()).or_default().extend(values);
        d.clear_history();
    }
}

/// The CPU part of loading, seconds (from [`LoadTimings`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CpuTimes {
    /// File or synthetic generation to city model.
    pub load_s: f64,
    /// City model to tile meshes ready for upload.
    pub mesh_s: f64,
    /// Both.
    pub total_s: f64,
}

/// What a render benchmark measured (serialised as the `--json` object).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// Buildings in the city model.
    pub buildings: usize,
    /// Image `[width, height]`.
    pub size: [u32; 2],
    /// The GPU adapter (name and backend).
    pub adapter: String,
    /// From start (GPU set-up included) to the end of the first frame with buildings.
    pub load_to_first_frame_s: f64,
    /// Frame times of the timed frames (update, render and GPU wait), milliseconds.
    pub frame_ms: Summary,
    /// The part of each frame spent in `App::update` (main and render world systems,
    /// command submission), before waiting for the GPU, milliseconds.
    pub update_ms: Summary,
    /// The part of `update_ms` spent in the main world's schedule (our systems and
    /// Bevy's), the rest being extraction to and rendering in the render world.
    pub main_ms: Summary,
    /// The part of `update_ms` spent in the render world's schedule before rendering:
    /// preparing assets, specialising pipelines, queueing, sorting and batching the
    /// visible meshes, writing buffers and bind groups (`null` without a render world).
    pub prepare_ms: Option<Summary>,
    /// The part of `update_ms` spent rendering: running the render graph, which encodes
    /// and submits the GPU's commands (a software rasteriser may draw within it).
    pub render_ms: Option<Summary>,
    /// Frames timed.
    pub frames: u32,
    /// Samples per pixel (multisample anti-aliasing; 1 = off).
    pub msaa: u32,
    /// Post-process anti-aliasing.
    pub post_aa: PostAa,
    /// Whether sun shadows were on (a shadow pass every frame).
    pub shadows: bool,
    /// The CPU part alone.
    pub cpu: CpuTimes,
    /// Entities drawing building tiles (near level of detail; as many draw the far one).
    pub building_tiles: usize,
    /// Entities drawing ground tiles (roads, areas, zones; near level).
    pub ground_tiles: usize,
    /// Entities in the main world (every one with a mesh costs the renderer time each
    /// frame, visible or not).
    pub entities: u32,
    /// Entities in the render world.
    pub render_entities: u32,
    /// Peak resident memory of the process, MiB (Linux; `null` elsewhere).
    pub peak_rss_mib: Option<f64>,
    /// Resident memory after the timed frames, MiB: what a city at rest keeps (Linux).
    pub rss_mib: Option<f64>,
    /// Assets changed per timed frame (each one is uploaded to the GPU again): a city at
    /// rest should change none.
    pub churn: AssetChurn,
    /// How the schedules ran their systems.
    pub executor: Executor,
    /// Each render pass's cost (empty unless asked for).
    pub passes: Vec<PassCost>,
}

/// Assets added or modified during the timed frames, per frame: what the main world sends
/// to the GPU again although nothing in the city changed.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct AssetChurn {
    /// Storage buffers (colour buffers) changed per frame.
    pub buffers: f64,
    /// Their bytes per frame.
    pub buffer_bytes: f64,
    /// Meshes changed per frame.
    pub meshes: f64,
    /// Images changed per frame.
    pub images: f64,
}

/// Counts changed assets (as totals; divided by the frames at the end).
fn count_churn(
    mut churn: ResMut<AssetChurn>,
    mut buffers: MessageReader<AssetEvent<ShaderBuffer>>,
    mut meshes: MessageReader<AssetEvent<Mesh>>,
    mut images: MessageReader<AssetEvent<Image>>,
    store: Res<Assets<ShaderBuffer>>,
) {
    for e in buffers.read() {
        if let AssetEvent::Added { id } | AssetEvent::Modified { id } = e {
            churn.buffers += 1.0;
            churn.buffer_bytes += store.get(*id).and_then(|b| b.data.as_ref()).map_or(0, Vec::len) as f64;
        }
    }
    churn.meshes += meshes.read().filter(|e| changed(e)).count() as f64;
    churn.images += images.read().filter(|e| changed(e)).count() as f64;
}

/// Whether an asset event says the asset is new or changed (so it goes to the GPU again).
fn changed<A: Asset>(e: &AssetEvent<A>) -> bool {
    matches!(e, AssetEvent::Added { .. } | AssetEvent::Modified { .. })
}

/// A summary as `min … median … p90 …`, or `-` when there is none.
fn summary_text(s: Option<Summary>) -> String {
    s.map_or_else(
        || "-".to_string(),
        |s| format!("min {:.2}  median {:.2}  p90 {:.2}", s.min, s.median, s.p90),
    )
}

impl BenchReport {
    /// A few lines for people.
    pub fn text(&self) -> String {
        let [w, h] = self.size;
        let mut s = format!(
            "{} buildings at {w}x{h} on {}\n\
             load to first frame  {:.2} s\n\
             CPU part             {:.2} s (load {:.2} s, meshes {:.2} s)\n\
             frame time ms        min {:.2}  median {:.2}  p90 {:.2}  ({} frames, msaa {}, post AA {:?}, shadows {}, {:?} executor)\n\
             of which update ms   min {:.2}  median {:.2}  p90 {:.2}\n\
             of which main ms     min {:.2}  median {:.2}  p90 {:.2}\n\
             of which prepare ms  {}\n\
             of which render ms   {}\n\
             building tiles       {} (ground tiles {}; entities {}, in the render world {})\n\
             changed per frame    {:.1} buffers ({:.0} bytes), {:.1} meshes, {:.1} images\n",
            self.buildings,
            self.adapter,
            self.load_to_first_frame_s,
            self.cpu.total_s,
            self.cpu.load_s,
            self.cpu.mesh_s,
            self.frame_ms.min,
            self.frame_ms.median,
            self.frame_ms.p90,
            self.frames,
            self.msaa,
            self.post_aa,
            if self.shadows { "on" } else { "off" },
            self.executor,
            self.update_ms.min,
            self.update_ms.median,
            self.update_ms.p90,
            self.main_ms.min,
            self.main_ms.median,
            self.main_ms.p90,
            summary_text(self.prepare_ms),
            summary_text(self.render_ms),
            self.building_tiles,
            self.ground_tiles,
            self.entities,
            self.render_entities,
            self.churn.buffers,
            self.churn.buffer_bytes,
            self.churn.meshes,
            self.churn.images,
        );
        if let Some(m) = self.peak_rss_mib {
            s.push_str(&format!("peak memory          {m:.0} MiB\n"));
        }
        if let Some(m) = self.rss_mib {
            s.push_str(&format!("memory at rest       {m:.0} MiB\n"));
        }
        if !self.passes.is_empty() {
            s.push_str(
                "pass (medians)                         GPU ms   CPU ms   triangles   vertices  fragments\n",
            );
        }
        let num = |v: Option<f64>, decimals: usize| {
            v.map_or_else(|| "-".to_string(), |x| format!("{x:.decimals$}"))
        };
        for p in &self.passes {
            s.push_str(&format!(
                "  {:<36} {:>6} {:>8} {:>11} {:>10} {:>10}\n",
                p.pass,
                num(p.gpu_ms, 2),
                num(p.cpu_ms, 2),
                num(p.primitives, 0),
                num(p.vertices, 0),
                num(p.fragments, 0),
            ));
        }
        s
    }
}

/// When the main schedule of the frame being timed began, and how long it took (ms).
#[derive(Resource, Debug, Default)]
struct MainScheduleTimer {
    started: Option<Instant>,
    last_ms: f64,
}

/// First system of the main schedule: notes the time.
fn main_schedule_starts(mut timer: ResMut<MainScheduleTimer>) {
    timer.started = Some(Instant::now());
}

/// Last system of the main schedule: notes how long the main world's systems took.
fn main_schedule_ends(mut timer: ResMut<MainScheduleTimer>) {
    if let Some(t) = timer.started.take() {
        timer.last_ms = t.elapsed().as_secs_f64() * 1000.0;
    }
}

/// Where the render world's schedule is in the frame being timed: when it began, when its
/// rendering began (the render graph: encoding and submitting commands), when that ended.
#[derive(Debug, Default)]
struct RenderMarks {
    started: Option<Instant>,
    rendering: Option<Instant>,
    /// Milliseconds from the schedule's start to rendering (applying the extracted
    /// commands, preparing assets, specialising, queueing, sorting, preparing buffers and
    /// bind groups: the per-entity work), and of rendering.
    last_ms: (f64, f64),
}

/// [`RenderMarks`] shared between the render world (which writes) and the bench (which
/// reads after each frame).
#[derive(Resource, Clone, Default)]
struct RenderTimer(Arc<Mutex<RenderMarks>>);

impl RenderTimer {
    fn mark(&self, f: impl FnOnce(&mut RenderMarks)) {
        if let Ok(mut m) = self.0.lock() {
            f(&mut m);
        }
    }

    /// The last frame's (preparation, rendering) milliseconds.
    fn last_ms(&self) -> (f64, f64) {
        self.0.lock().map_or((f64::NAN, f64::NAN), |m| m.last_ms)
    }
}

/// First system of the render world's schedule.
fn render_schedule_starts(timer: Res<RenderTimer>) {
    timer.mark(|m| m.started = Some(Instant::now()));
}

/// Last system before rendering.
fn rendering_starts(timer: Res<RenderTimer>) {
    timer.mark(|m| m.rendering = Some(Instant::now()));
}

/// First system after rendering.
fn rendering_ends(timer: Res<RenderTimer>) {
    timer.mark(|m| {
        let now = Instant::now();
        if let (Some(s), Some(r)) = (m.started.take(), m.rendering.take()) {
            m.last_ms = ((r - s).as_secs_f64() * 1000.0, (now - r).as_secs_f64() * 1000.0);
        }
    });
}

/// Adds the render world's timing systems (when there is a render world).
fn time_render_world(app: &mut App, timer: &RenderTimer) {
    let Some(render) = app.get_sub_app_mut(RenderApp) else {
        return;
    };
    render.insert_resource(timer.clone()).add_systems(
        Render,
        (
            render_schedule_starts.before(RenderSystems::ExtractCommands),
            rendering_starts
                .after(RenderSystems::Prepare)
                .before(RenderSystems::Render),
            rendering_ends
                .after(RenderSystems::Render)
                .before(RenderSystems::Cleanup),
        ),
    );
}

/// The multisample setting for so many samples per pixel.
fn msaa_of(samples: u32) -> anyhow::Result<Msaa> {
    Ok(match samples {
        1 => Msaa::Off,
        2 => Msaa::Sample2,
        4 => Msaa::Sample4,
        8 => Msaa::Sample8,
        n => bail!("msaa: {n} samples per pixel (1, 2, 4 or 8)"),
    })
}

/// Runs a render benchmark.
pub fn bench_render(job: &BenchJob) -> anyhow::Result<BenchReport> {
    let (w, h) = job.size;
    if w == 0 || h == 0 || w > MAX_SIZE || h > MAX_SIZE {
        bail!("image size {w}x{h}: sides must be 1 to {MAX_SIZE} pixels");
    }
    if job.frames == 0 || job.frames > MAX_FRAMES {
        bail!("frames: {} (1 to {MAX_FRAMES})", job.frames);
    }
    let msaa = msaa_of(job.msaa)?;
    if job.post_aa != PostAa::None && job.msaa != 1 {
        bail!("--aa {:?} replaces multisampling: give --msaa 1", job.post_aa);
    }
    let (scene, synth) = match &job.city {
        BenchCity::Synth { buildings, seed } => {
            if *buildings == 0 {
                bail!("a synthetic city needs at least one building");
            }
            (
                PathBuf::from(SYNTH_SCENE_FILE),
                Some(LoadSynth {
                    buildings: *buildings,
                    seed: *seed,
                }),
            )
        }
        BenchCity::Scene(path) => {
            if !path.exists() {
                bail!("{}: scene file not found", path.display());
            }
            (path.clone(), None)
        }
    };

    let started = Instant::now();
    let passes = job.passes;
    let (mut app, _target) = offscreen_app_with(&scene, job.size, synth, |app| {
        if passes {
            app.add_plugins(RenderDiagnosticsPlugin);
        }
    });
    if let Some(on) = job.shadows {
        app.insert_resource(crate::app::lighting::ShadowsOverride(on));
    }
    app.init_resource::<MainScheduleTimer>()
        .add_systems(First, main_schedule_starts)
        .add_systems(Last, main_schedule_ends);
    let render_timer = RenderTimer::default();
    time_render_world(&mut app, &render_timer);
    let load_to_first_frame_s = loop {
        frame(&mut app);
        let world = app.world_mut();
        match *world.resource::<State<AppState>>().get() {
            AppState::Failed => {
                let e = world
                    .get_resource::<LoadError>()
                    .map_or_else(|| "the scene failed to load".to_string(), |e| e.0.clone());
                bail!(e);
            }
            AppState::Ready => {
                let buildings = world
                    .get_resource::<LoadedCity>()
                    .map_or(0, |c| c.0.city.buildings.len());
                let tiles = world
                    .query_filtered::<(), With<BuildingTile>>()
                    .iter(world)
                    .count();
                if tiles > 0 || buildings == 0 {
                    break started.elapsed().as_secs_f64();
                }
            }
            // As a window's frames would be paced by the display, leave the cores to the
            // loader thread between frames (a spinning loop of software-rendered frames
            // otherwise takes them and slows the load it is waiting for).
            AppState::Loading => std::thread::sleep(LOADING_FRAME_PAUSE),
        }
        if started.elapsed() > FIRST_FRAME_TIMEOUT {
            bail!("the city did not show within {} s", FIRST_FRAME_TIMEOUT.as_secs());
        }
    };

    // The cameras exist from the first frame on: set their anti-aliasing, then draw one
    // frame untimed so that pipelines are specialised for it.
    let cameras: Vec<Entity> = app
        .world_mut()
        .query_filtered::<Entity, With<Camera3d>>()
        .iter(app.world())
        .collect();
    for c in cameras {
        let mut camera = app.world_mut().entity_mut(c);
        camera.insert(msaa);
        match job.post_aa {
            PostAa::None => {}
            PostAa::Fxaa => {
                camera.insert(Fxaa::default());
            }
            PostAa::Smaa => {
                camera.insert(Smaa::default());
            }
        }
    }
    frame(&mut app);
    app.init_resource::<AssetChurn>().add_systems(Last, count_churn);
    use_executor(&mut app, job.executor);
    frame(&mut app);
    app.insert_resource(AssetChurn::default());
    let mut samples: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    drain_render_diagnostics(app.world_mut(), &mut samples);
    samples.clear();

    let mut frame_ms = Vec::with_capacity(job.frames as usize);
    let mut update_ms = Vec::with_capacity(job.frames as usize);
    let mut main_ms = Vec::with_capacity(job.frames as usize);
    let mut prepare_ms = Vec::with_capacity(job.frames as usize);
    let mut render_ms = Vec::with_capacity(job.frames as usize);
    for _ in 0..job.frames {
        let t = Instant::now();
        app.update();
        update_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        main_ms.push(app.world().resource::<MainScheduleTimer>().last_ms);
        let (prepare, render) = render_timer.last_ms();
        prepare_ms.push(prepare);
        render_ms.push(render);
        wait_for_gpu(&app);
        frame_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        drain_render_diagnostics(app.world_mut(), &mut samples);
    }

    let render_entities = app
        .get_sub_app(RenderApp)
        .map_or(0, |r| r.world().entities().count_spawned());
    let world = app.world_mut();
    let frames = f64::from(job.frames);
    let totals = *world.resource::<AssetChurn>();
    let churn = AssetChurn {
        buffers: totals.buffers / frames,
        buffer_bytes: totals.buffer_bytes / frames,
        meshes: totals.meshes / frames,
        images: totals.images / frames,
    };
    let buildings = world
        .get_resource::<LoadedCity>()
        .map_or(0, |c| c.0.city.buildings.len());
    let building_tiles = world
        .query_filtered::<(), With<BuildingTile>>()
        .iter(world)
        .count();
    let ground_tiles = world
        .query_filtered::<(), With<GroundTileEntity>>()
        .iter(world)
        .count();
    let entities = world.entities().count_spawned();
    let adapter = world.get_resource::<RenderAdapterInfo>().map_or_else(
        || "unknown".to_string(),
        |a| format!("{} ({:?})", a.name, a.backend),
    );
    let shadows = world
        .get_resource::<crate::app::lighting::SunShadows>()
        .is_some_and(|s| s.on);
    let timings = world
        .get_resource::<LoadTimings>()
        .copied()
        .ok_or_else(|| anyhow!("the loader reported no timings"))?;
    Ok(BenchReport {
        buildings,
        size: [w, h],
        adapter,
        load_to_first_frame_s,
        frame_ms: summarize(&frame_ms).ok_or_else(|| anyhow!("no frame was timed"))?,
        update_ms: summarize(&update_ms).ok_or_else(|| anyhow!("no frame was timed"))?,
        main_ms: summarize(&main_ms).ok_or_else(|| anyhow!("no frame was timed"))?,
        prepare_ms: summarize(&prepare_ms),
        render_ms: summarize(&render_ms),
        frames: job.frames,
        msaa: job.msaa,
        post_aa: job.post_aa,
        shadows,
        cpu: CpuTimes {
            load_s: timings.load_s,
            mesh_s: timings.mesh_s,
            total_s: timings.load_s + timings.mesh_s,
        },
        building_tiles,
        ground_tiles,
        entities,
        render_entities,
        peak_rss_mib: peak_rss_bytes().map(|b| b as f64 / MIB),
        rss_mib: rss_bytes().map(|b| b as f64 / MIB),
        churn,
        executor: job.executor,
        passes: pass_costs(&samples),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_jobs_fail_before_starting_bevy() {
        let job = |city, size, frames| BenchJob {
            city,
            size,
            frames,
            msaa: 4,
            shadows: None,
            passes: false,
            post_aa: PostAa::None,
            executor: Executor::Multi,
        };
        let synth = BenchCity::Synth {
            buildings: 10,
            seed: 1,
        };
        let e = bench_render(&job(synth.clone(), (0, 10), 3)).unwrap_err();
        assert!(e.to_string().contains("0x10"), "{e}");
        let e = bench_render(&job(synth, (10, 10), 0)).unwrap_err();
        assert!(e.to_string().contains("frames"), "{e}");
        let none = BenchCity::Synth {
            buildings: 0,
            seed: 1,
        };
        assert!(bench_render(&job(none, (10, 10), 1)).is_err());
        let missing = BenchCity::Scene(PathBuf::from("/nonexistent/bench.ron"));
        let e = bench_render(&job(missing, (10, 10), 1)).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/bench.ron"), "{e}");
        let few = BenchCity::Synth {
            buildings: 10,
            seed: 1,
        };
        let fxaa_over_msaa = BenchJob {
            post_aa: PostAa::Fxaa,
            ..job(few, (10, 10), 1)
        };
        let e = bench_render(&fxaa_over_msaa).unwrap_err();
        assert!(e.to_string().contains("--msaa 1"), "{e}");
    }

    #[test]
    fn the_text_names_every_figure() {
        let r = BenchReport {
            buildings: 200,
            size: [64, 48],
            adapter: "llvmpipe (Vulkan)".into(),
            load_to_first_frame_s: 1.5,
            frame_ms: Summary {
                min: 1.0,
                median: 2.0,
                p90: 3.0,
            },
            update_ms: Summary {
                min: 0.5,
                median: 0.75,
                p90: 0.875,
            },
            main_ms: Summary {
                min: 0.25,
                median: 0.375,
                p90: 0.4375,
            },
            prepare_ms: Some(Summary {
                min: 0.5,
                median: 0.75,
                p90: 1.5,
            }),
            render_ms: None,
            frames: 3,
            msaa: 4,
            post_aa: PostAa::Fxaa,
            shadows: true,
            cpu: CpuTimes {
                load_s: 0.1,
                mesh_s: 0.2,
                total_s: 0.3,
            },
            building_tiles: 4,
            ground_tiles: 5,
            entities: 321,
            render_entities: 123,
            peak_rss_mib: Some(100.0),
            rss_mib: Some(80.0),
            churn: AssetChurn {
                buffers: 2.5,
                buffer_bytes: 4096.0,
                meshes: 0.0,
                images: 1.0,
            },
            executor: Executor::Single,
            passes: vec![PassCost {
                pass: "main_opaque_pass_3d".into(),
                gpu_ms: Some(4.25),
                cpu_ms: Some(0.5),
                vertices: Some(1000.0),
                primitives: Some(2000.0),
                fragments: None,
            }],
        };
        let t = r.text();
        for part in [
            "200 buildings",
            "64x48",
            "llvmpipe",
            "1.50 s",
            "median 2.00",
            "p90 3.00",
            "median 0.75",
            "median 0.38",
            "prepare ms  min 0.50  median 0.75",
            "render ms   -",
            "2.5 buffers (4096 bytes)",
            "msaa 4",
            "post AA Fxaa",
            "shadows on",
            "ground tiles 5",
            "entities 321",
            "render world 123",
            "100 MiB",
            "memory at rest       80 MiB",
            "Single executor",
            "main_opaque_pass_3d",
            "4.25",
            "2000",
        ] {
            assert!(t.contains(part), "{part} missing from {t}");
        }
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["size"], serde_json::json!([64, 48]));
        assert_eq!(v["frame_ms"]["p90"], 3.0);
        assert_eq!(v["shadows"], true);
        assert_eq!(v["executor"], "single");
        assert_eq!(v["passes"][0]["gpu_ms"], 4.25);
    }

    #[test]
    fn render_diagnostics_group_into_passes() {
        let mut samples: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut add = |path: &str, values: &[f64]| {
            samples.insert(path.to_string(), values.to_vec());
        };
        add("render/main_opaque_pass_3d/elapsed_gpu", &[3.0, 1.0, 2.0]);
        add("render/main_opaque_pass_3d/elapsed_cpu", &[0.5]);
        add("render/main_opaque_pass_3d/clipper_primitives_out", &[10.0, 10.0]);
        add("render/early_mesh_preprocessing/elapsed_gpu", &[0.25]);
        add("render/shadows/cascade 0/elapsed_gpu", &[1.5]);
        add("render/main_opaque_pass_3d/unknown_field", &[9.0]);
        add("render/no_field", &[1.0]);
        add("fps", &[60.0]);
        add("render/empty/elapsed_gpu", &[f64::NAN]);
        let passes = pass_costs(&samples);
        let names: Vec<&str> = passes.iter().map(|p| p.pass.as_str()).collect();
        assert_eq!(
            names,
            [
                "early_mesh_preprocessing",
                "empty",
                "main_opaque_pass_3d",
                "shadows/cascade 0"
            ]
        );
        let main = &passes[2];
        assert_eq!(main.gpu_ms, Some(2.0));
        assert_eq!(main.cpu_ms, Some(0.5));
        assert_eq!(main.primitives, Some(10.0));
        assert_eq!(main.vertices, None);
        assert_eq!(passes[1].gpu_ms, None, "no finite value, no median");
        assert_eq!(passes[3].gpu_ms, Some(1.5));
    }
}
