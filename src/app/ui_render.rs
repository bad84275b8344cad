//! The desktop app's first screen rendered offscreen, egui and all (`citytwin render --ui`):
//! the whole app with its panels drawn by egui from a camera of its own, the 3D view in the
//! free centre; once the scene is loaded, the indicators computed and the layout has
//! settled, the frame is captured and written, and where egui put every panel and window and
//! which texts did not fit come back ([`UiShot`]) for the screenshot tests.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail};
use bevy::prelude::*;
use bevy_egui::egui;

use crate::app::capture::{CaptureStep, FrameCapture, load_failure, pump};
use crate::app::dashboard::Dashboard;
use crate::app::i18n::CurrentLang;
use crate::app::loading::LoadError;
use crate::app::offscreen::{MAX_SIZE, offscreen_app_with, save_png};
use crate::app::ui::layout::{AuditText, CutText, Part, PartKind, Prefs, UiLayout};
use crate::app::{AppState, AppSystems};
use crate::twin::i18n::Lang;
use crate::twin::scene::Scene;

/// Frames drawn after the screen is complete before the capture: windows stack by the
/// sizes of the frame before, so a few frames let them settle.
const SETTLE_FRAMES: u32 = 6;
/// Longest a render may take.
const RENDER_TIMEOUT: Duration = Duration::from_secs(900);

/// Where egui put everything in the captured frame, in points.
#[derive(Debug, Clone, PartialEq)]
pub struct UiShot {
    /// The whole screen.
    pub screen: egui::Rect,
    /// What the docked panels left: the 3D view.
    pub free: egui::Rect,
    /// Points to pixels.
    pub pixels_per_point: f32,
    /// Every docked panel, window, wall panel and overlay drawn.
    pub parts: Vec<Part>,
    /// Texts that did not fit where they were drawn.
    pub cut: Vec<CutText>,
    /// Texts painted.
    pub texts_seen: usize,
}

impl UiShot {
    /// The shot of a finished frame's layout.
    pub fn of(layout: &UiLayout) -> UiShot {
        UiShot {
            screen: layout.screen,
            free: layout.free,
            pixels_per_point: layout.pixels_per_point,
            parts: layout.last_parts().to_vec(),
            cut: layout.cut.clone(),
            texts_seen: layout.texts_seen,
        }
    }

    /// Pairs of parts (docked panels, windows, wall panels, overlays) that overlap.
    pub fn overlaps(&self) -> Vec<(String, String)> {
        let mut l = UiLayout::default();
        l.parts = self.parts.clone();
        l.overlaps()
    }

    /// The parts of a kind.
    pub fn of_kind(&self, want: impl Fn(PartKind) -> bool) -> Vec<&Part> {
        self.parts.iter().filter(|p| want(p.kind)).collect()
    }

    /// The part named `name`, if drawn.
    pub fn part(&self, name: &str) -> Option<&Part> {
        self.parts.iter().find(|p| p.name == name)
    }
}

#[derive(Debug, Default)]
struct Outcome {
    error: Option<String>,
    result: Option<UiShot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    Capturing,
    Done,
}

#[derive(Resource)]
struct Driver {
    capture: FrameCapture,
    out: std::path::PathBuf,
    phase: Phase,
    outcome: Arc<Mutex<Outcome>>,
}

impl Driver {
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

/// Renders the desktop app's first screen of `scene` at `size` to the PNG `out`: the
/// default layout (nothing remembered is read or written), in English.
pub fn render_desktop(scene: &Path, out: &Path, size: (u32, u32)) -> anyhow::Result<UiShot> {
    render_desktop_in(scene, out, size, Lang::En)
}

/// [`render_desktop`] with the panels in `lang`.
pub fn render_desktop_in(scene: &Path, out: &Path, size: (u32, u32), lang: Lang) -> anyhow::Result<UiShot> {
    render_desktop_with(scene, out, size, lang, |_| {})
}

/// [`render_desktop_in`] with `setup` run on the app before it starts (to open a window by
/// its resource, say).
pub fn render_desktop_with(
    scene: &Path,
    out: &Path,
    size: (u32, u32),
    lang: Lang,
    setup: impl FnOnce(&mut App),
) -> anyhow::Result<UiShot> {
    let (w, h) = size;
    if w == 0 || h == 0 || w > MAX_SIZE || h > MAX_SIZE {
        bail!("image size {w}x{h}: sides must be 1 to {MAX_SIZE} pixels");
    }
    Scene::load(scene)?;
    let outcome = Arc::new(Mutex::new(Outcome::default()));
    let (mut app, target) = offscreen_app_with(scene, size, None, |app| {
        app.add_plugins(crate::app::egui_setup::CityEguiPlugin)
            .insert_resource(Prefs::from_dir(None))
            .insert_resource(CurrentLang(lang))
            .insert_resource(AuditText { vertical: false });
        setup(app);
    });
    app.insert_resource(Driver {
        capture: FrameCapture::new(target, SETTLE_FRAMES),
        out: out.to_path_buf(),
        phase: Phase::Waiting,
        outcome: outcome.clone(),
    })
    .add_systems(Update, drive.in_set(AppSystems::Ui));
    pump(
        &mut app,
        RENDER_TIMEOUT,
        &format!("{}: the desktop render", scene.display()),
    )?;
    let mut o = outcome
        .lock()
        .map_err(|_| anyhow!("desktop render state poisoned"))?;
    match (o.error.take(), o.result.take()) {
        (Some(e), _) => Err(anyhow!(e)),
        (None, Some(r)) => Ok(r),
        (None, None) => Err(anyhow!(
            "{}: the desktop render ended without a frame",
            scene.display()
        )),
    }
}

fn drive(
    mut commands: Commands,
    mut driver: ResMut<Driver>,
    state: Res<State<AppState>>,
    load_error: Option<Res<LoadError>>,
    dash: Option<Res<Dashboard>>,
    layout: Res<UiLayout>,
    mut exit: MessageWriter<AppExit>,
) {
    match driver.phase {
        Phase::Done => {}
        Phase::Waiting => {
            if let Some(e) = load_failure(&state, load_error.as_deref()) {
                return driver.finish(Some(e), &mut exit);
            }
            let evaluated = dash.as_ref().is_some_and(|d| d.eval.is_some());
            let drawn = layout
                .last_parts()
                .iter()
                .any(|p| matches!(p.kind, PartKind::Dock(_)));
            if *state.get() == AppState::Ready && evaluated && drawn {
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
            if let Ok(mut o) = driver.outcome.lock() {
                o.result = Some(UiShot::of(&layout));
            }
            driver.finish(None, &mut exit);
        }
    }
}
