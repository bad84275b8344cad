//! Rendering the wall offscreen to PNG (`citytwin render --wall SCENE --size 3840x2160
//! --out wall.png`): the whole app in wall mode with egui, its camera drawing into an
//! image; once the scene is loaded, the indicators computed, the panels drawn and the
//! tour's first flight landed, a few frames settle, the frame is captured and written. The layout and the rectangles the
//! panels drew come back for checking.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail};
use bevy::prelude::*;

use crate::app::capture::{CaptureStep, FrameCapture, load_failure, pump};
use crate::app::dashboard::Dashboard;
use crate::app::loading::LoadError;
use crate::app::offscreen::{MAX_SIZE, offscreen_app_with, save_png};
use crate::app::ui::layout::{AuditText, UiLayout};
use crate::app::ui_render::UiShot;
use crate::app::wall::{WallDrawn, WallMode, WallScreen, WallTour};
use crate::app::{AppState, AppSystems};
use crate::twin::scene::Scene;
use crate::twin::wall::{PxRect, TourPhase, WallLayout};

/// Frames drawn after the wall is complete before the capture (egui's scale and fonts
/// settle over the first frames).
const SETTLE_FRAMES: u32 = 4;
/// Longest the whole render may take, load included.
const RENDER_TIMEOUT: Duration = Duration::from_secs(900);
/// How long a ready wall waits for the first value made from its feeds before it is
/// captured anyway (a scene without feeds, or a broker that does not answer).
const FEED_WAIT: Duration = Duration::from_secs(30);

/// What a wall render laid out and drew.
#[derive(Debug, Clone, PartialEq)]
pub struct WallRender {
    /// The layout for the image size.
    pub layout: WallLayout,
    /// What the panels drew, by name, physical pixels.
    pub drawn: Vec<(String, PxRect)>,
    /// Where egui put the panels (points) and which texts did not fit.
    pub ui: UiShot,
}

/// Where the capture is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a complete wall.
    Waiting,
    /// Capturing it.
    Capturing,
    /// Finished.
    Done,
}

/// Shared between the driver system and [`render_wall`].
#[derive(Debug, Default)]
struct Outcome {
    error: Option<String>,
    result: Option<WallRender>,
}

#[derive(Resource)]
struct WallDriver {
    capture: FrameCapture,
    out: std::path::PathBuf,
    phase: Phase,
    outcome: Arc<Mutex<Outcome>>,
    /// When the wall was first ready to capture but no feed value was in yet.
    waiting_for_feeds: Option<std::time::Instant>,
}

impl WallDriver {
    fn finish(&mut self, error: Option<String>, exit: &mut MessageWriter<AppExit>) {
        if let Some(e) = &error {
            error!("{e}");
        }
        let failed = error.is_some();
        if let Ok(mut o) = self.outcome.lock() {
            o.error = error;
        }
        self.phase = Phase::Done;
        exit.write(if failed {
            AppExit::error()
        } else {
            AppExit::Success
        });
    }
}

/// Renders the wall of a scene at `size` to a PNG file, with the scene's live feeds running
/// as on the wall's screen (the capture waits up to [`FEED_WAIT`] for their first values).
pub fn render_wall(scene: &Path, out: &Path, size: (u32, u32)) -> anyhow::Result<WallRender> {
    let (w, h) = size;
    if w == 0 || h == 0 || w > MAX_SIZE || h > MAX_SIZE {
        bail!("image size {w}x{h}: sides must be 1 to {MAX_SIZE} pixels");
    }
    // Fail on a bad scene before starting the renderer.
    Scene::load(scene)?;
    let outcome = Arc::new(Mutex::new(Outcome::default()));
    let (mut app, target) = offscreen_app_with(scene, size, None, |app| {
        app.add_plugins(crate::app::egui_setup::CityEguiPlugin)
            .insert_resource(WallMode::default())
            .insert_resource(AuditText { vertical: true })
            .insert_resource(crate::app::offscreen::OffscreenLiveFeeds);
    });
    app.insert_resource(WallDriver {
        capture: FrameCapture::new(target, SETTLE_FRAMES),
        out: out.to_path_buf(),
        phase: Phase::Waiting,
        outcome: outcome.clone(),
        waiting_for_feeds: None,
    })
    .add_systems(Update, drive.in_set(AppSystems::Ui));
    pump(
        &mut app,
        RENDER_TIMEOUT,
        &format!("{}: the wall render", scene.display()),
    )?;
    let mut o = outcome
        .lock()
        .map_err(|_| anyhow!("wall render state poisoned"))?;
    match (o.error.take(), o.result.take()) {
        (Some(e), _) => Err(anyhow!(e)),
        (None, Some(r)) => Ok(r),
        (None, None) => Err(anyhow!(
            "{}: the wall render ended without a frame",
            scene.display()
        )),
    }
}

/// Waits for a complete wall, settles, captures, saves and exits.
#[allow(clippy::too_many_arguments)]
fn drive(
    mut commands: Commands,
    mut driver: ResMut<WallDriver>,
    state: Res<State<AppState>>,
    load_error: Option<Res<LoadError>>,
    dash: Option<Res<Dashboard>>,
    screen: Res<WallScreen>,
    drawn: Res<WallDrawn>,
    tour: Option<Res<WallTour>>,
    ui_layout: Res<UiLayout>,
    feeds: Option<Res<crate::app::feeds::LiveFeeds>>,
    mut exit: MessageWriter<AppExit>,
) {
    let feeds_run = feeds.is_some();
    match driver.phase {
        Phase::Done => {}
        Phase::Waiting => {
            if let Some(e) = load_failure(&state, load_error.as_deref()) {
                return driver.finish(Some(e), &mut exit);
            }
            let evaluated = dash.as_ref().is_some_and(|d| d.eval.is_some());
            let complete = screen
                .layout
                .as_ref()
                .is_some_and(|l| drawn.0.len() > l.panels.len());
            // The first stop of the tour reached (or no tour): a still view, not a flight.
            let still =
                tour.is_some_and(|t| !matches!(t.0.phase(), TourPhase::Starting | TourPhase::Flying { .. }));
            // A wall shows its feeds: wait (a while) for the first values made from them.
            let fed = dash
                .as_ref()
                .and_then(|d| d.eval.as_ref())
                .is_some_and(|e| e.city.iter().any(|x| !x.sources.is_empty()));
            let ready = *state.get() == AppState::Ready && evaluated && complete && still;
            if ready && feeds_run && !fed {
                let since = *driver
                    .waiting_for_feeds
                    .get_or_insert_with(std::time::Instant::now);
                if since.elapsed() < FEED_WAIT {
                    return;
                }
            }
            if ready {
                driver.phase = Phase::Capturing;
                driver.capture.start();
            }
        }
        Phase::Capturing => {
            let image = match driver.capture.step(&mut commands) {
                CaptureStep::Idle | CaptureStep::Pending => return,
                CaptureStep::Failed(e) => return driver.finish(Some(e), &mut exit),
                CaptureStep::Captured(image) => image,
            };
            if let Err(e) = save_png(image, &driver.out) {
                return driver.finish(Some(e), &mut exit);
            }
            info!("wrote {}", driver.out.display());
            let Some(layout) = screen.layout.clone() else {
                return driver.finish(Some("the wall has no layout".into()), &mut exit);
            };
            if let Ok(mut o) = driver.outcome.lock() {
                o.result = Some(WallRender {
                    layout,
                    drawn: drawn.0.iter().map(|(n, r)| (n.to_string(), *r)).collect(),
                    ui: UiShot::of(&ui_layout),
                });
            }
            driver.finish(None, &mut exit);
        }
    }
}
