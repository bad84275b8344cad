//! Exporting a briefing headless (`citytwin briefing export`): every slide rendered by ONE
//! offscreen app (the camera jumps from slide to slide, each slide's layers, choropleth and
//! scenario applied, a few frames settle, the frame is read back through
//! [`crate::app::capture`]), written as PNG files and/or one PDF with a page per slide
//! ([`crate::twin::briefing::page::briefing_pdf`]). A slide that names a scenario shows the
//! scenario's city (through the scenario view, as in the app) and the scenario's indicators
//! with their change against the baseline; feed indicators are computed from the scene's
//! history store at each slide's data time ([`crate::twin::briefing::values`]). A slide's
//! zones are coloured by its own values (the scenario's city, the history's feeds), the
//! same numbers its page and the JSON give.
//!
//! `--json FILE` writes the briefing as one JSON document
//! ([`crate::twin::briefing::export`]); asked for alone, nothing is rendered.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bevy::prelude::*;

use crate::app::AppState;
use crate::app::AppSystems;
use crate::app::access::RequestedRole;
use crate::app::briefing::{LayerFilter, apply_slide_layers, role_allows, slide_rig};
use crate::app::camera::{CameraRig, Flying};
use crate::app::capture::{CaptureStep, FrameCapture, load_failure, pump};
use crate::app::dashboard::{Dashboard, IndicatorEngine};
use crate::app::ground_view::ZoneColours;
use crate::app::loading::{LoadError, LoadedCity};
use crate::app::offscreen::{MAX_SIZE, offscreen_app_with};
use crate::app::outline::LayerEntity;
use crate::app::scenario::marks_of;
use crate::app::scenario_view::{ScenarioMarks, ScenarioViewPlugin};
use crate::twin::access::{IndicatorPolicy, Role, Withheld, filter_scene};
use crate::twin::briefing::export::{
    DocInput, RoleSlides, briefing_json, briefing_json_for, export_access, prepare_for_role, write_json,
};
use crate::twin::briefing::page::{ExportSummary, briefing_pdf};
use crate::twin::briefing::pdf::RgbImage;
use crate::twin::briefing::translation::localised;
use crate::twin::briefing::values::{SlideScenario, SlideValues, load_slide_scenarios, slide_times};
use crate::twin::briefing::{Briefing, resolve_view};
use crate::twin::feeds::Timestamp;
use crate::twin::i18n::Lang;
use crate::twin::indicators::catalogue::Catalogue;
use crate::twin::scene::Scene;

/// Frames rendered after a slide is applied before its capture (the choropleth needs the
/// dashboard to recompute and repaint the zone colours).
const SETTLE_FRAMES: u32 = 6;
/// Longest a whole export may take, load included.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(900);
/// Default image size of the rendered views.
pub const DEFAULT_EXPORT_SIZE: (u32, u32) = (1600, 900);

/// What to export.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportJob {
    /// The briefing file.
    pub briefing: PathBuf,
    /// The PDF to write.
    pub pdf: Option<PathBuf>,
    /// A folder for one PNG per slide (`slide-01.png`, ...).
    pub png_dir: Option<PathBuf>,
    /// A JSON file of the briefing's values ([`crate::twin::briefing::export`]).
    pub json: Option<PathBuf>,
    /// Image size of the views, pixels.
    pub size: (u32, u32),
    /// The role exported for (`None`: the scene's default role); layers above it are
    /// neither drawn nor credited, indicators it may not see have no value.
    pub role: Option<String>,
    /// The language of the PDF's words; the briefing's own text in it comes from its
    /// translation file ([`crate::twin::briefing::translation`]) when there is one.
    pub lang: Lang,
}

/// What an export did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportOutcome {
    /// Slides rendered.
    pub slides: usize,
    /// PNG files written.
    pub pngs: Vec<PathBuf>,
    /// The PDF's summary, when one was written.
    pub pdf: Option<ExportSummary>,
    /// Seconds from start until the scene was ready in the offscreen app.
    pub load_s: f64,
    /// Seconds rendering the slides (after the load).
    pub render_s: f64,
    /// Slides whose choropleth could not be applied, with why.
    pub problems: Vec<String>,
    /// Indicators whose values the role may not see (shown without a value).
    pub withheld_indicators: Vec<String>,
    /// The role exported for.
    pub role: String,
    /// Each slide's indicator values as they went on its page (after the role's
    /// withholding).
    pub values: Vec<SlideValues>,
    /// The zones' colour buffer (linear RGBA per zone) as each slide was captured; empty
    /// when nothing was rendered.
    pub zone_colours: Vec<Vec<[f32; 4]>>,
    /// The JSON file written, if one was asked for.
    pub json: Option<PathBuf>,
}

/// Where the export driver is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the scene and the indicator engine.
    Loading,
    /// The current slide is to be applied.
    Applying,
    /// The current slide applied and being captured.
    Capturing,
    /// Finished.
    Done,
}

/// Shared between the driver system and [`export_briefing`].
#[derive(Default)]
struct Shared {
    images: Vec<RgbImage>,
    pngs: Vec<PathBuf>,
    problems: Vec<String>,
    error: Option<String>,
    ready_at: Option<Instant>,
    /// The slides' values, requests and withheld indicators (their scenario stacks taken
    /// out for the view's marks).
    slides: Option<RoleSlides>,
    zone_colours: Vec<Vec<[f32; 4]>>,
}

/// The offscreen run through the slides.
#[derive(Resource)]
struct ExportDriver {
    briefing: Briefing,
    allow: LayerFilter,
    capture: FrameCapture,
    png_dir: Option<PathBuf>,
    slide: usize,
    phase: Phase,
    /// Each slide's data time.
    times: Vec<Timestamp>,
    /// Each slide's scenario, read before the app started.
    scenarios: Vec<Option<SlideScenario>>,
    /// Each slide's scenario marks for the view (empty marks: the baseline), made when
    /// the scene is ready.
    marks: Vec<ScenarioMarks>,
    /// Each slide's zone scores from its own values (`None`: no choropleth).
    zone_scores: Vec<Option<Vec<Option<f64>>>>,
    /// The role exported for, and what it is not given.
    role: Role,
    withheld: Withheld,
    shared: Arc<Mutex<Shared>>,
}

impl ExportDriver {
    fn fail(&mut self, message: String, exit: &mut MessageWriter<AppExit>) {
        error!("{message}");
        if let Ok(mut s) = self.shared.lock() {
            s.error = Some(message);
        }
        self.phase = Phase::Done;
        exit.write(AppExit::error());
    }
}

/// The PNG file of slide `i` (0-based) in `dir`.
pub fn png_path(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("slide-{:02}.png", i + 1))
}

/// Renders every slide of a briefing with one offscreen app and writes the PNGs and / or
/// the PDF, and / or the JSON. Bad input (briefing, scene, bookmarks, layers, indicators,
/// role) fails before Bevy starts, naming the file; a JSON alone renders nothing.
pub fn export_briefing(job: &ExportJob) -> anyhow::Result<ExportOutcome> {
    let started = Instant::now();
    let (w, h) = job.size;
    if w == 0 || h == 0 || w > MAX_SIZE || h > MAX_SIZE {
        bail!("image size {w}x{h}: sides must be 1 to {MAX_SIZE} pixels");
    }
    if job.pdf.is_none() && job.png_dir.is_none() && job.json.is_none() {
        bail!("nothing to write: give --pdf FILE, --png-dir DIR and/or --json FILE");
    }
    if job.pdf.is_none()
        && job.png_dir.is_none()
        && let Some(json) = &job.json
    {
        return export_json_only(job, json, started);
    }
    let briefing = Briefing::load(&job.briefing)?;
    if briefing.slides.is_empty() {
        bail!("{}: the briefing has no slides", job.briefing.display());
    }
    let scene_path = briefing.scene_path(&job.briefing);
    let scene = Scene::load(&scene_path)?;
    let (catalogue, _) = Catalogue::from_config(&scene.indicators);
    let ids: Vec<&str> = catalogue.indicators.iter().map(|d| d.id.as_str()).collect();
    briefing.check(&job.briefing, &scene, &ids)?;
    // The role exported for: the scene's default role unless one is named.
    let role = scene
        .roles
        .role(job.role.as_deref())
        .map_err(|e| anyhow!("{}: {e}", scene_path.display()))?;
    let (_, withheld) = filter_scene(&scene, &role);
    let role_name = role.name.clone();
    let allow = role_allows(Some(role.clone()));
    let times = slide_times(&briefing, &job.briefing, Timestamp::now())?;
    let scenarios = load_slide_scenarios(&briefing, &job.briefing, &scene_path)?;
    if let Some(dir) = &job.png_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    }
    for slide in &briefing.slides {
        resolve_view(&scene, &slide.view).map_err(|e| anyhow!("{}: {e}", job.briefing.display()))?;
    }

    let shared = Arc::new(Mutex::new(Shared::default()));
    let role_asked = job.role.clone();
    let (mut app, target) = offscreen_app_with(&scene_path, job.size, None, |app| {
        // The scene is loaded as the role (layers and feeds above it never read), and
        // scenarios are drawn as the app's scenario view draws them.
        app.insert_resource(RequestedRole(role_asked))
            .add_plugins(ScenarioViewPlugin);
    });
    app.insert_resource(ExportDriver {
        briefing: briefing.clone(),
        allow,
        capture: FrameCapture::new(target, SETTLE_FRAMES),
        png_dir: job.png_dir.clone(),
        slide: 0,
        phase: Phase::Loading,
        times,
        scenarios,
        marks: Vec::new(),
        zone_scores: Vec::new(),
        role,
        withheld,
        shared: shared.clone(),
    })
    .add_systems(Update, drive_export.in_set(AppSystems::Model));
    pump(
        &mut app,
        EXPORT_TIMEOUT,
        &format!("{}: export", job.briefing.display()),
    )?;
    let finished = Instant::now();
    let mut shared = std::mem::take(&mut *shared.lock().map_err(|_| anyhow!("export state poisoned"))?);
    if let Some(e) = shared.error {
        bail!(e);
    }
    let ready_at = shared.ready_at.unwrap_or(started);
    let slides = shared
        .slides
        .take()
        .ok_or_else(|| anyhow!("the slides were never prepared"))?;
    let mut outcome = ExportOutcome {
        slides: shared.images.len(),
        pngs: std::mem::take(&mut shared.pngs),
        pdf: None,
        load_s: (ready_at - started).as_secs_f64(),
        render_s: (finished - ready_at).as_secs_f64(),
        problems: std::mem::take(&mut shared.problems),
        withheld_indicators: slides.withheld_indicators.clone(),
        role: role_name,
        values: Vec::new(),
        zone_colours: std::mem::take(&mut shared.zone_colours),
        json: None,
    };
    let world = app.world();
    let loaded = world
        .get_resource::<LoadedCity>()
        .ok_or_else(|| anyhow!("the scene was not loaded"))?;
    let driver = world.resource::<ExportDriver>();
    if let Some(pdf_path) = &job.pdf {
        let (local, problems) = localised(&briefing, &job.briefing, job.lang)?;
        outcome.problems.extend(problems);
        let (bytes, summary) = briefing_pdf(
            &local,
            &loaded.0.scene,
            &slides.values,
            shared.images,
            &*driver.allow,
            job.lang,
        )?;
        std::fs::write(pdf_path, &bytes).with_context(|| format!("{}: cannot write", pdf_path.display()))?;
        outcome.pdf = Some(summary);
    }
    if let Some(json_path) = &job.json {
        let engine = world
            .get_resource::<IndicatorEngine>()
            .ok_or_else(|| anyhow!("the indicators were not ready"))?;
        let access = export_access(&loaded.0, &driver.role, &driver.withheld, &engine.0.ctx.catalogue);
        let json = briefing_json(&DocInput {
            briefing: &briefing,
            scene: &loaded.0.scene,
            slides: &slides,
            allow_layer: &*driver.allow,
            access: &access,
        })?;
        write_json(json_path, &json)?;
        outcome.json = Some(json_path.clone());
    }
    outcome.values = slides.values;
    Ok(outcome)
}

/// The JSON alone: nothing rendered, the values worked out as the rendered export does.
fn export_json_only(job: &ExportJob, json_path: &Path, started: Instant) -> anyhow::Result<ExportOutcome> {
    let e = briefing_json_for(&job.briefing, job.role.as_deref(), Timestamp::now())?;
    let ready = Instant::now();
    write_json(json_path, &e.json)?;
    Ok(ExportOutcome {
        slides: e.slides.values.len(),
        load_s: (ready - started).as_secs_f64(),
        withheld_indicators: e.slides.withheld_indicators,
        role: e.role,
        values: e.slides.values,
        json: Some(json_path.to_path_buf()),
        ..ExportOutcome::default()
    })
}

/// Points the camera at the current slide and applies its layers, choropleth and scenario
/// (a choropleth that cannot be applied is recorded as a problem, not fatal).
#[allow(clippy::too_many_arguments)]
fn apply_current(
    driver: &mut ExportDriver,
    loaded: &LoadedCity,
    marks: &mut ScenarioMarks,
    dash: &mut Dashboard,
    layers: &mut Query<(&LayerEntity, &mut Visibility)>,
    rigs: &mut Query<(Entity, &mut CameraRig)>,
    commands: &mut Commands,
    engine: Option<&IndicatorEngine>,
) -> Result<(), String> {
    let i = driver.slide;
    let slide = driver.briefing.slides[i].clone();
    let rig = slide_rig(&loaded.0.city, &loaded.0.scene, &slide)
        .map_err(|e| format!("slide {} '{}': {e}", i + 1, slide.title))?;
    for (entity, mut r) in rigs.iter_mut() {
        *r = rig;
        commands.entity(entity).remove::<Flying>();
    }
    *marks = driver.marks.get(i).cloned().unwrap_or_default();
    if let Err(e) = apply_slide_layers(loaded, &slide, &*driver.allow, engine, dash, layers) {
        let message = format!("slide {} '{}': {e}", i + 1, slide.title);
        warn!("{message}");
        if let Ok(mut s) = driver.shared.lock() {
            s.problems.push(message);
        }
    }
    // The zones show the slide's own values, not the dashboard's.
    let own = driver.zone_scores.get(i).cloned().flatten();
    if dash.slide_zone_scores != own {
        dash.slide_zone_scores = own;
    }
    driver.capture.start();
    Ok(())
}

/// Works out every slide's values (the scene's history at its data time, its scenario
/// applied, what the role may not see withheld), its zone scores and the marks of its
/// scenario, once the scene and the indicators are ready.
fn prepare(driver: &mut ExportDriver, loaded: &LoadedCity, engine: &IndicatorEngine) -> Result<(), String> {
    let scene = &loaded.0;
    let ctx = &engine.0.ctx;
    let policy = IndicatorPolicy::new(&ctx.catalogue, &driver.withheld, &driver.role);
    let mut prepared = prepare_for_role(
        scene,
        ctx,
        &driver.briefing.slides,
        &driver.times,
        &driver.scenarios,
        &driver.role,
        &policy,
    )
    .map_err(|e| e.to_string())?;
    driver.marks = std::mem::take(&mut prepared.stacks)
        .iter()
        .map(|stack| {
            stack
                .as_ref()
                .map(|stack| marks_of(&scene.city, stack))
                .unwrap_or_default()
        })
        .collect();
    driver.zone_scores = prepared
        .values
        .iter()
        .map(|v| v.choropleth.as_ref().map(|c| c.scores()))
        .collect();
    for (i, v) in prepared.values.iter().enumerate() {
        if !v.skipped.is_empty() {
            let message = format!(
                "slide {} '{}': {} edit(s) of the scenario could not be applied: {}",
                i + 1,
                driver.briefing.slides[i].title,
                v.skipped.len(),
                v.skipped_text().join("; ")
            );
            warn!("{message}");
            if let Ok(mut s) = driver.shared.lock() {
                s.problems.push(message);
            }
        }
    }
    if let Ok(mut s) = driver.shared.lock() {
        s.slides = Some(prepared);
    }
    Ok(())
}

/// Steps the export: wait for the scene, prepare the slides, apply each slide, capture it,
/// store it.
#[allow(clippy::too_many_arguments)]
fn drive_export(
    mut commands: Commands,
    mut driver: ResMut<ExportDriver>,
    state: Res<State<AppState>>,
    loaded: Option<Res<LoadedCity>>,
    load_error: Option<Res<LoadError>>,
    engine: Option<Res<IndicatorEngine>>,
    mut marks: ResMut<ScenarioMarks>,
    mut dash: ResMut<Dashboard>,
    zones: Option<Res<ZoneColours>>,
    mut layers: Query<(&LayerEntity, &mut Visibility)>,
    mut rigs: Query<(Entity, &mut CameraRig)>,
    mut exit: MessageWriter<AppExit>,
) {
    let driver = &mut *driver;
    match driver.phase {
        Phase::Done | Phase::Applying => {}
        Phase::Loading => {
            if let Some(e) = load_failure(&state, load_error.as_deref()) {
                return driver.fail(e, &mut exit);
            }
            let (AppState::Ready, Some(loaded), Some(engine)) =
                (state.get(), loaded.as_deref(), engine.as_deref())
            else {
                return;
            };
            if let Ok(mut s) = driver.shared.lock() {
                s.ready_at = Some(Instant::now());
            }
            if let Err(e) = prepare(driver, loaded, engine) {
                return driver.fail(e, &mut exit);
            }
            driver.phase = Phase::Applying;
        }
        Phase::Capturing => {
            let image = match driver.capture.step(&mut commands) {
                CaptureStep::Idle | CaptureStep::Pending => return,
                CaptureStep::Failed(e) => return driver.fail(e, &mut exit),
                CaptureStep::Captured(image) => image,
            };
            let i = driver.slide;
            let rgb = match image.try_into_dynamic() {
                Ok(d) => d.to_rgb8(),
                Err(e) => {
                    return driver.fail(
                        format!("slide {}: cannot convert the frame: {e}", i + 1),
                        &mut exit,
                    );
                }
            };
            if let Some(dir) = driver.png_dir.clone() {
                let out = png_path(&dir, i);
                if let Err(e) = rgb.save(&out) {
                    return driver.fail(
                        format!("{}: cannot write the image: {e}", out.display()),
                        &mut exit,
                    );
                }
                if let Ok(mut s) = driver.shared.lock() {
                    s.pngs.push(out);
                }
            }
            let (width, height) = rgb.dimensions();
            if let Ok(mut s) = driver.shared.lock() {
                s.images.push(RgbImage {
                    width,
                    height,
                    rgb: rgb.into_raw(),
                });
                s.zone_colours
                    .push(zones.as_ref().map(|z| z.colours.clone()).unwrap_or_default());
            }
            driver.slide += 1;
            if driver.slide >= driver.briefing.slides.len() {
                driver.phase = Phase::Done;
                exit.write(AppExit::Success);
                return;
            }
            driver.phase = Phase::Applying;
        }
    }
    if driver.phase == Phase::Applying {
        let Some(loaded) = loaded.as_deref() else {
            return driver.fail("the scene is gone".into(), &mut exit);
        };
        let applied = apply_current(
            driver,
            loaded,
            &mut marks,
            &mut dash,
            &mut layers,
            &mut rigs,
            &mut commands,
            engine.as_deref(),
        );
        match applied {
            Ok(()) => driver.phase = Phase::Capturing,
            Err(e) => driver.fail(e, &mut exit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_requests_fail_before_starting_bevy() {
        let job = ExportJob {
            briefing: PathBuf::from("/nonexistent/b.ron"),
            pdf: Some(std::env::temp_dir().join("citytwin-never.pdf")),
            png_dir: None,
            json: None,
            size: (64, 64),
            role: None,
            lang: Lang::En,
        };
        let e = export_briefing(&job).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/b.ron"), "{e}");
        let e = export_briefing(&ExportJob {
            pdf: None,
            ..job.clone()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("--pdf") && e.contains("--json"), "{e}");
        // A JSON alone fails the same way, before anything is loaded.
        let e = export_briefing(&ExportJob {
            pdf: None,
            json: Some(std::env::temp_dir().join("citytwin-never.json")),
            ..job.clone()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("/nonexistent/b.ron"), "{e}");
        let e = export_briefing(&ExportJob { size: (0, 9), ..job })
            .unwrap_err()
            .to_string();
        assert!(e.contains("0x9"), "{e}");
        assert_eq!(png_path(Path::new("d"), 0), Path::new("d/slide-01.png"));
    }
}
