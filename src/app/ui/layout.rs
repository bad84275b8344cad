//! The screen layout: panels dock to the screen's edges, floating windows stack beside each
//! other inside the free centre, the 3D view is what is left, and every frame records where
//! everything went ([`UiLayout`]) and which text did not fit (for the screenshot tests).
//!
//! How a frame is laid out (the order is [`AppSystems`]' `Ui*` sets in
//! `EguiPrimaryContextPass`):
//! 1. [`begin_layout`]: the free rectangle is the whole screen.
//! 2. Docked panels (the briefing strip at the top; layers on the left, the dashboard on the
//!    right; the timeline at the bottom) are shown into a [`UiLayout::dock_ui`] spanning the
//!    free rectangle, and [`UiLayout::docked`] takes their rectangle off it. Their default
//!    widths follow the screen ([`UiLayout::side_width`]) and are remembered between runs
//!    ([`LayoutPrefs`]).
//! 3. Floating windows (scenario, overlays, briefing, views, feeds, inspector…) get a
//!    [`WindowPlace`]: a slot in a stack along the right edge of the free rectangle, in
//!    [`STACK_ORDER`], below the windows before it as they were last frame, a new column to
//!    the left when one is full. They open collapsed where they would otherwise cover the
//!    city on first start, never leave the free rectangle, and never overlap each other.
//! 4. [`finish_layout`]: the 3D camera's viewport becomes the free rectangle (desktop only:
//!    the wall's city fills the screen under its panels).
//!
//! After egui's pass, [`audit_text`] walks the painted shapes and records every text that
//! does not fit where it was drawn ([`CutText`]): egui clips a shape to its clip rectangle,
//! so a galley whose ink (`Galley::mesh_bounds`, placed at the shape's position) reaches past
//! its clip rectangle's left or right edge is cut; one with `Galley::elided` was truncated
//! with "…"; one whose lines were wrapped inside a word ("warnin" / "g") was broken. Where
//! things scroll (the desktop) a galley entirely outside its clip rectangle is scrolled
//! away, not cut, and only horizontal cuts count; on the wall, where nothing scrolls, a text
//! hidden wholly outside its clip or cut at the top or bottom counts too.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bevy::camera::visibility::RenderLayers;
use bevy::camera::{CameraOutputMode, Viewport};
use bevy::prelude::*;
use bevy::render::render_resource::BlendState;
use bevy_egui::{
    EguiContexts, EguiFullOutput, EguiGlobalSettings, EguiPostUpdateSet, PrimaryEguiContext, egui,
};
use serde::{Deserialize, Serialize};

use crate::app::AppSystems;
use crate::app::camera::CameraRig;
use crate::twin::i18n::wrap::splits_a_word;

/// Gap between stacked windows and between a window and the free rectangle's edge, points.
pub const GAP: f32 = 8.0;
/// Slack (points) before a text's ink past its clip edge counts as cut (anti-aliasing).
const CUT_SLACK: f32 = 1.0;
/// The stack of floating windows, top to bottom: what the user just picked comes first.
pub const STACK_ORDER: [&str; 9] = [
    "inspector",
    "feature",
    "scenario",
    "overlays",
    "catalogue",
    "briefing",
    "views",
    "feeds",
    "scene",
];
/// Height a window not yet drawn is assumed to take (a collapsed title bar), points.
const FRESH_WINDOW_HEIGHT: f32 = 26.0;
/// Width a window not yet drawn is assumed to take, points.
const FRESH_WINDOW_WIDTH: f32 = 260.0;
/// Environment variable naming the folder the layout is remembered in (tests point it at a
/// temporary folder; default `$XDG_CONFIG_HOME/citytwin`, else `$HOME/.config/citytwin`).
pub const CONFIG_DIR_ENV: &str = "CITYTWIN_CONFIG_DIR";
/// The file the layout is remembered in, inside the config folder.
const PREFS_FILE: &str = "layout.ron";
/// Least time between two writes of the remembered layout.
const PREFS_SAVE_EVERY: Duration = Duration::from_secs(2);

/// Which screen edge a docked panel holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dock {
    /// Across the top.
    Top,
    /// Across the bottom.
    Bottom,
    /// Down the left side.
    Left,
    /// Down the right side.
    Right,
}

/// What a recorded rectangle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    /// A panel docked to an edge.
    Dock(Dock),
    /// A floating window (in the stack).
    Window,
    /// A fixed panel of the wall.
    WallPanel,
    /// A small overlay over the 3D view (attribution line, banners, ticker).
    Overlay,
}

/// One thing on screen this frame: its name, kind and rectangle (logical points).
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// The panel's or window's name.
    pub name: String,
    /// What it is.
    pub kind: PartKind,
    /// Where it is, in points.
    pub rect: egui::Rect,
}

/// A text that did not fit where egui drew it.
#[derive(Debug, Clone, PartialEq)]
pub struct CutText {
    /// The text.
    pub text: String,
    /// Its ink, in points.
    pub ink: egui::Rect,
    /// The rectangle it was clipped to, in points.
    pub clip: egui::Rect,
    /// True when egui truncated it with "…" (rather than the clip cutting it).
    pub elided: bool,
    /// True when a line break falls inside a word (see [`broken_word`]).
    pub word_broken: bool,
}

/// Where the panels and windows went this frame, what is left for the 3D view, and which
/// texts were cut. Reset at the start of every egui pass.
#[derive(Resource, Debug, Clone)]
pub struct UiLayout {
    /// The whole screen, in points.
    pub screen: egui::Rect,
    /// What the docked panels have left (after the last dock: the 3D view), in points.
    pub free: egui::Rect,
    /// Points to physical pixels.
    pub pixels_per_point: f32,
    /// Everything drawn this frame so far.
    pub parts: Vec<Part>,
    /// What was drawn last frame (windows stack by it).
    last: Vec<Part>,
    /// Texts cut in the last finished frame (only audited while [`AuditText`] is present).
    pub cut: Vec<CutText>,
    /// Texts painted in the last audited frame.
    pub texts_seen: usize,
}

/// Insert to have [`audit_text`] check every painted text each frame (tests, renders).
#[derive(Resource, Debug, Default, Clone, Copy)]
pub struct AuditText {
    /// Count vertical cuts too (no scroll areas: the wall).
    pub vertical: bool,
}

/// Where a floating window goes: its top-right corner and the rectangle it must stay in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowPlace {
    /// The window's egui id ([`window_id`] of its stack name: its state is found by it).
    pub id: egui::Id,
    /// The window's top-right corner, points.
    pub top_right: egui::Pos2,
    /// The free rectangle (the window stays inside it).
    pub area: egui::Rect,
    /// Whether the window starts expanded (or as a title bar that a click opens).
    pub open_at_start: bool,
}

impl WindowPlace {
    /// Applies the place to a window: pinned at its slot, inside the free rectangle, at most
    /// as big as it, collapsed at first unless `open_at_start`.
    pub fn apply(self, window: egui::Window<'_>) -> egui::Window<'_> {
        let max = (self.area.size() - egui::vec2(2.0 * GAP, 2.0 * GAP)).max(egui::vec2(80.0, 40.0));
        window
            .id(self.id)
            .pivot(egui::Align2::RIGHT_TOP)
            .current_pos(self.top_right)
            .movable(false)
            .constrain_to(self.area)
            .max_size(max)
            .collapsible(true)
            .default_open(self.open_at_start)
    }
}

/// Applies `place` when there is one (windows drawn outside the app, as by the panels
/// bench, keep egui's defaults).
pub fn placed(window: egui::Window<'_>, place: Option<WindowPlace>) -> egui::Window<'_> {
    match place {
        Some(p) => p.apply(window),
        None => window,
    }
}

impl Default for UiLayout {
    fn default() -> Self {
        UiLayout {
            screen: egui::Rect::NOTHING,
            free: egui::Rect::NOTHING,
            pixels_per_point: 1.0,
            parts: Vec::new(),
            last: Vec::new(),
            cut: Vec::new(),
            texts_seen: 0,
        }
    }
}

impl UiLayout {
    /// Starts a frame over `screen` (points) at `pixels_per_point`.
    pub fn begin(&mut self, screen: egui::Rect, pixels_per_point: f32) {
        self.last = std::mem::take(&mut self.parts);
        self.screen = screen;
        self.free = screen;
        self.pixels_per_point = pixels_per_point;
    }

    /// A background `Ui` spanning the free rectangle, for a docked panel to be shown into.
    pub fn dock_ui(&self, ctx: &egui::Context, id: &'static str) -> egui::Ui {
        egui::Ui::new(
            ctx.clone(),
            egui::Id::new(id),
            egui::UiBuilder::new()
                .layer_id(egui::LayerId::background())
                .max_rect(self.free),
        )
    }

    /// Records a docked panel and takes its rectangle off the free one.
    pub fn docked(&mut self, name: &str, dock: Dock, rect: egui::Rect) {
        let f = &mut self.free;
        match dock {
            Dock::Top => f.min.y = rect.max.y.clamp(f.min.y, f.max.y),
            Dock::Bottom => f.max.y = rect.min.y.clamp(f.min.y, f.max.y),
            Dock::Left => f.min.x = rect.max.x.clamp(f.min.x, f.max.x),
            Dock::Right => f.max.x = rect.min.x.clamp(f.min.x, f.max.x),
        }
        self.record(name, PartKind::Dock(dock), rect);
    }

    /// Records anything drawn (a window, a wall panel, an overlay).
    pub fn record(&mut self, name: &str, kind: PartKind, rect: egui::Rect) {
        self.parts.push(Part {
            name: name.to_string(),
            kind,
            rect,
        });
    }

    /// A side panel's default width: `share` of the screen's width, within `[min, max]`.
    pub fn side_width(&self, share: f32, min: f32, max: f32) -> f32 {
        (self.screen.width() * share).clamp(min, max)
    }

    /// Where the window `name` (one of [`STACK_ORDER`]) goes: below the windows before it
    /// in the stack as they were last frame, in a new column to the left when the free
    /// rectangle's height is used up.
    pub fn window_place(&self, name: &str, open_at_start: bool) -> WindowPlace {
        let area = self.free;
        let last_size = |n: &str| {
            self.last
                .iter()
                .find(|p| p.name == n && p.kind == PartKind::Window)
                .map(|p| p.rect.size())
        };
        let mut right = area.max.x - GAP;
        let mut y = area.min.y + GAP;
        let mut column_width: f32 = 0.0;
        let order = STACK_ORDER
            .iter()
            .copied()
            .chain((!STACK_ORDER.contains(&name)).then_some(name));
        for n in order {
            let size = match last_size(n) {
                Some(s) => s,
                None if n == name => egui::vec2(FRESH_WINDOW_WIDTH, FRESH_WINDOW_HEIGHT),
                None => continue,
            };
            if y + size.y > area.max.y - GAP && y > area.min.y + GAP {
                right -= column_width + GAP;
                y = area.min.y + GAP;
                column_width = 0.0;
            }
            if n == name {
                break;
            }
            y += size.y + GAP;
            column_width = column_width.max(size.x);
        }
        WindowPlace {
            id: egui::Id::new(window_id(name)),
            top_right: egui::pos2(right.max(area.min.x + GAP), y),
            area,
            open_at_start,
        }
    }

    /// The docked and floating parts that overlap each other: pairs of names.
    pub fn overlaps(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, a) in self.parts.iter().enumerate() {
            for b in &self.parts[i + 1..] {
                let both = a.rect.intersect(b.rect);
                // Touching edges are not an overlap; half a point is rounding.
                if both.width() > 0.5 && both.height() > 0.5 {
                    out.push((a.name.clone(), b.name.clone()));
                }
            }
        }
        out
    }

    /// The last finished frame's parts.
    pub fn last_parts(&self) -> &[Part] {
        &self.last
    }
}

/// The remembered layout: side panel widths and which windows were expanded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LayoutPrefs {
    /// Widths of the resizable docked panels, points, by panel name.
    pub widths: BTreeMap<String, f32>,
    /// Windows expanded (true) or collapsed (false), by name.
    pub open: BTreeMap<String, bool>,
}

impl LayoutPrefs {
    /// The folder the layout is remembered in: [`CONFIG_DIR_ENV`], else
    /// `$XDG_CONFIG_HOME/citytwin`, else `$HOME/.config/citytwin`; `None` without any.
    pub fn dir() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os(CONFIG_DIR_ENV) {
            return Some(PathBuf::from(d));
        }
        if let Some(d) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(d).join("citytwin"));
        }
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config").join("citytwin"))
    }

    /// Reads the remembered layout from `dir`; a missing file is the default layout, an
    /// unreadable one too (with the reason, so that the caller can say it).
    pub fn load(dir: &std::path::Path) -> (LayoutPrefs, Option<String>) {
        let path = dir.join(PREFS_FILE);
        match std::fs::read_to_string(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (LayoutPrefs::default(), None),
            Err(e) => (LayoutPrefs::default(), Some(format!("{}: {e}", path.display()))),
            Ok(text) => match ron::from_str(&text) {
                Ok(p) => (p, None),
                Err(e) => (LayoutPrefs::default(), Some(format!("{}: {e}", path.display()))),
            },
        }
    }

    /// Writes the layout into `dir` (created when missing).
    pub fn save(&self, dir: &std::path::Path) -> Result<(), String> {
        let path = dir.join(PREFS_FILE);
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let text = ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A docked panel's remembered width, else `default`.
    pub fn width(&self, name: &str, default: f32) -> f32 {
        self.widths.get(name).copied().unwrap_or(default)
    }

    /// Whether a window starts expanded: as remembered, else `default`.
    pub fn is_open(&self, name: &str, default: bool) -> bool {
        self.open.get(name).copied().unwrap_or(default)
    }
}

/// The remembered layout as a resource, where it is kept, and when it was last written.
#[derive(Resource, Debug, Default)]
pub struct Prefs {
    /// The layout as loaded at start and updated as the user changes it.
    pub prefs: LayoutPrefs,
    /// The folder it is kept in (`None`: not kept, as in offscreen renders).
    pub dir: Option<PathBuf>,
    saved: Option<LayoutPrefs>,
    last_save: Option<Instant>,
}

impl Prefs {
    /// Loads the layout from `dir` (the default layout when `None`).
    pub fn from_dir(dir: Option<PathBuf>) -> Prefs {
        let prefs = match &dir {
            Some(d) => {
                let (p, problem) = LayoutPrefs::load(d);
                if let Some(problem) = problem {
                    warn!("layout not restored: {problem}");
                }
                p
            }
            None => LayoutPrefs::default(),
        };
        Prefs {
            saved: Some(prefs.clone()),
            prefs,
            dir,
            last_save: None,
        }
    }
}

/// Records the layout for every frame of egui, and (`desktop`) gives the 3D view the free
/// rectangle and remembers the layout between runs.
pub struct LayoutPlugin {
    /// The desktop app (docked panels, a 3D view beside them) rather than the wall.
    pub desktop: bool,
}

impl Plugin for LayoutPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<UiLayout>()
            .add_systems(
                bevy_egui::EguiPrimaryContextPass,
                begin_layout.in_set(AppSystems::UiBegin),
            )
            .add_systems(
                PostUpdate,
                audit_text
                    .after(EguiPostUpdateSet::EndPass)
                    .before(EguiPostUpdateSet::ProcessOutput)
                    .run_if(resource_exists::<AuditText>),
            );
        if self.desktop && app.is_plugin_added::<bevy_egui::EguiPlugin>() {
            if !app.world().contains_resource::<Prefs>() {
                let prefs = Prefs::from_dir(LayoutPrefs::dir());
                app.insert_resource(prefs);
            }
            // The 3D camera gets a viewport; egui draws over the whole window from a
            // camera of its own.
            if let Some(mut s) = app.world_mut().get_resource_mut::<EguiGlobalSettings>() {
                s.auto_create_primary_context = false;
            }
            app.add_systems(Startup, spawn_ui_camera).add_systems(
                bevy_egui::EguiPrimaryContextPass,
                (finish_layout, remember_layout).in_set(AppSystems::UiEnd),
            );
        }
    }
}

/// Spawns the camera egui draws with: over the whole window, after the 3D view, drawing
/// nothing else.
fn spawn_ui_camera(mut commands: Commands) {
    commands.spawn((
        Name::new("ui camera"),
        PrimaryEguiContext,
        Camera2d,
        RenderLayers::none(),
        Camera {
            order: 1,
            output_mode: CameraOutputMode::Write {
                blend_state: Some(BlendState::ALPHA_BLENDING),
                clear_color: ClearColorConfig::None,
            },
            clear_color: ClearColorConfig::Custom(Color::NONE),
            ..default()
        },
    ));
}

/// Starts the frame's layout over the whole screen.
fn begin_layout(mut contexts: EguiContexts, mut layout: ResMut<UiLayout>) {
    let Ok(ctx) = contexts.ctx_mut() else { return };
    layout.begin(ctx.content_rect(), ctx.pixels_per_point());
}

/// Gives the 3D camera the free rectangle as its viewport.
fn finish_layout(layout: Res<UiLayout>, mut cameras: Query<&mut Camera, With<CameraRig>>) {
    let ppp = layout.pixels_per_point.max(f32::EPSILON);
    for mut camera in &mut cameras {
        let Some(target) = camera.physical_target_size() else {
            continue;
        };
        let to_px = |v: f32| (v * ppp).round().max(0.0) as u32;
        let x0 = to_px(layout.free.min.x).min(target.x.saturating_sub(1));
        let y0 = to_px(layout.free.min.y).min(target.y.saturating_sub(1));
        let x1 = to_px(layout.free.max.x).clamp(x0 + 1, target.x);
        let y1 = to_px(layout.free.max.y).clamp(y0 + 1, target.y);
        let wanted = Viewport {
            physical_position: UVec2::new(x0, y0),
            physical_size: UVec2::new(x1 - x0, y1 - y0),
            ..default()
        };
        let same = camera.viewport.as_ref().is_some_and(|v| {
            v.physical_position == wanted.physical_position && v.physical_size == wanted.physical_size
        });
        if !same && x1 > x0 && y1 > y0 {
            camera.viewport = Some(wanted);
        }
    }
}

/// Remembers the docked panels' widths and the windows' open state, writing the file at
/// most every [`PREFS_SAVE_EVERY`] when it changed.
fn remember_layout(mut contexts: EguiContexts, layout: Res<UiLayout>, mut prefs: ResMut<Prefs>) {
    let Ok(ctx) = contexts.ctx_mut() else { return };
    let mut next = prefs.prefs.clone();
    for p in &layout.parts {
        match p.kind {
            PartKind::Dock(Dock::Left | Dock::Right) => {
                next.widths.insert(p.name.clone(), p.rect.width().round());
            }
            PartKind::Window => {
                let id = egui::Id::new(window_id(&p.name)).with("collapsing");
                if let Some(state) = egui::collapsing_header::CollapsingState::load(ctx, id) {
                    next.open.insert(p.name.clone(), state.is_open());
                }
            }
            _ => {}
        }
    }
    if next != prefs.prefs {
        prefs.prefs = next;
    }
    let due = prefs.last_save.is_none_or(|t| t.elapsed() >= PREFS_SAVE_EVERY);
    if due && prefs.saved.as_ref() != Some(&prefs.prefs) {
        prefs.last_save = Some(Instant::now());
        if let Some(dir) = prefs.dir.clone()
            && let Err(e) = prefs.prefs.save(&dir)
        {
            warn!("layout not remembered: {e}");
        }
        prefs.saved = Some(prefs.prefs.clone());
    }
}

/// The egui id of a stacked window: its stack name, so that its state can be found again.
pub fn window_id(name: &str) -> String {
    format!("window:{name}")
}

/// Checks every text egui painted this frame against the rectangle it was clipped to.
fn audit_text(
    outputs: Query<&EguiFullOutput, With<PrimaryEguiContext>>,
    audit: Res<AuditText>,
    mut layout: ResMut<UiLayout>,
) {
    let Some(output) = outputs.iter().find_map(|o| o.0.as_ref()) else {
        return;
    };
    let mut cut = Vec::new();
    let mut seen = 0;
    for clipped in &output.shapes {
        check_shape(
            &clipped.shape,
            clipped.clip_rect,
            audit.vertical,
            &mut cut,
            &mut seen,
        );
    }
    layout.cut = cut;
    layout.texts_seen = seen;
}

/// True when `galley` wraps a line inside a word: a row that does not end a paragraph ends
/// in a letter or digit and the next row starts with one, in a script that does not wrap
/// anywhere (egui breaks a word that is wider than its line).
pub fn broken_word(galley: &egui::Galley) -> bool {
    galley.rows.windows(2).any(|pair| {
        let (a, b) = (&pair[0], &pair[1]);
        if a.ends_with_newline {
            return false;
        }
        match (a.row.glyphs.last(), b.row.glyphs.first()) {
            (Some(last), Some(first)) => splits_a_word(last.chr, first.chr),
            _ => false,
        }
    })
}

/// [`audit_text`] for one shape (and the shapes inside it).
fn check_shape(
    shape: &egui::Shape,
    clip: egui::Rect,
    vertical: bool,
    cut: &mut Vec<CutText>,
    seen: &mut usize,
) {
    match shape {
        egui::Shape::Vec(shapes) => {
            for s in shapes {
                check_shape(s, clip, vertical, cut, seen);
            }
        }
        egui::Shape::Text(t) => {
            let ink = t.galley.mesh_bounds.translate(t.pos.to_vec2());
            if !ink.is_positive() || t.galley.text().trim().is_empty() {
                return;
            }
            *seen += 1;
            let hidden = !ink.intersects(clip);
            // Scrolled away entirely: hidden, not cut (where things scroll).
            if hidden && !vertical {
                return;
            }
            let across = ink.min.x < clip.min.x - CUT_SLACK || ink.max.x > clip.max.x + CUT_SLACK;
            let down = vertical && (ink.min.y < clip.min.y - CUT_SLACK || ink.max.y > clip.max.y + CUT_SLACK);
            let word_broken = broken_word(&t.galley);
            if hidden || across || down || t.galley.elided || word_broken {
                cut.push(CutText {
                    text: t.galley.text().to_string(),
                    ink,
                    clip,
                    elided: t.galley.elided,
                    word_broken,
                });
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(x: f32, y: f32, w: f32, h: f32) -> egui::Rect {
        egui::Rect::from_min_size(egui::pos2(x, y), egui::vec2(w, h))
    }

    #[test]
    fn docks_take_their_edges_off_the_free_rectangle() {
        let mut l = UiLayout::default();
        l.begin(rect(0.0, 0.0, 1280.0, 720.0), 1.0);
        l.docked("layers", Dock::Left, rect(0.0, 0.0, 250.0, 720.0));
        l.docked("dashboard", Dock::Right, rect(950.0, 0.0, 330.0, 720.0));
        l.docked("timeline", Dock::Bottom, rect(250.0, 680.0, 700.0, 40.0));
        assert_eq!(
            l.free,
            egui::Rect::from_min_max(egui::pos2(250.0, 0.0), egui::pos2(950.0, 680.0))
        );
        assert!(l.overlaps().is_empty());
        l.record("x", PartKind::Window, rect(900.0, 10.0, 100.0, 100.0));
        assert_eq!(l.overlaps(), vec![("dashboard".to_string(), "x".to_string())]);
    }

    #[test]
    fn windows_stack_below_each_other_and_wrap_into_columns() {
        let mut l = UiLayout::default();
        l.begin(rect(0.0, 0.0, 1000.0, 500.0), 1.0);
        l.record("scenario", PartKind::Window, rect(700.0, 8.0, 292.0, 300.0));
        l.record("overlays", PartKind::Window, rect(800.0, 316.0, 192.0, 150.0));
        l.record("views", PartKind::Window, rect(800.0, 474.0, 150.0, 30.0));
        l.begin(rect(0.0, 0.0, 1000.0, 500.0), 1.0);
        let first = l.window_place("scenario", false);
        assert_eq!(first.top_right, egui::pos2(992.0, 8.0));
        assert_eq!(
            l.window_place("overlays", false).top_right,
            egui::pos2(992.0, 316.0)
        );
        // 316 + 150 + 8 + 30 passes 500 − 8: views opens a second column left of the first.
        let views = l.window_place("views", false);
        assert_eq!(views.top_right, egui::pos2(992.0 - 292.0 - GAP, 8.0));
        // A window not drawn before goes below the last one, as a title bar.
        assert_eq!(l.window_place("feeds", false).top_right.y, 8.0 + 30.0 + GAP);
    }

    #[test]
    fn prefs_round_trip_through_the_config_folder() {
        let dir = std::env::temp_dir().join(format!("citytwin-layout-prefs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (p, problem) = LayoutPrefs::load(&dir);
        assert_eq!((p, problem), (LayoutPrefs::default(), None));
        let mut p = LayoutPrefs::default();
        p.widths.insert("layers".into(), 280.0);
        p.open.insert("scenario".into(), true);
        p.save(&dir).expect("saved");
        assert_eq!(LayoutPrefs::load(&dir).0, p);
        assert_eq!(p.width("layers", 1.0), 280.0);
        assert_eq!(p.width("dashboard", 1.0), 1.0);
        assert!(p.is_open("scenario", false) && !p.is_open("views", false));
        std::fs::write(dir.join(PREFS_FILE), "not ron (").expect("written");
        let (p, problem) = LayoutPrefs::load(&dir);
        assert_eq!(p, LayoutPrefs::default());
        assert!(problem.expect("a problem").contains("layout.ron"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn cut_and_elided_text_are_found() {
        let ctx = egui::Context::default();
        let mut cut = Vec::new();
        let mut seen = 0;
        let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
            let galley = ui.ctx().fonts_mut(|f| {
                f.layout_no_wrap(
                    "a long label".into(),
                    egui::FontId::proportional(14.0),
                    egui::Color32::WHITE,
                )
            });
            let shape = egui::Shape::galley(egui::pos2(10.0, 10.0), galley, egui::Color32::WHITE);
            // Fits.
            check_shape(&shape, rect(0.0, 0.0, 500.0, 100.0), true, &mut cut, &mut seen);
            assert!(cut.is_empty());
            // Cut at the right.
            check_shape(&shape, rect(0.0, 0.0, 40.0, 100.0), false, &mut cut, &mut seen);
            assert_eq!(cut.len(), 1);
            // Cut at the bottom: only counted when asked.
            check_shape(&shape, rect(0.0, 0.0, 500.0, 15.0), false, &mut cut, &mut seen);
            assert_eq!(cut.len(), 1);
            check_shape(&shape, rect(0.0, 0.0, 500.0, 15.0), true, &mut cut, &mut seen);
            assert_eq!(cut.len(), 2);
            // Scrolled away: not cut where things scroll, hidden (cut) on the wall.
            check_shape(&shape, rect(0.0, 200.0, 500.0, 15.0), false, &mut cut, &mut seen);
            assert_eq!(cut.len(), 2);
            check_shape(&shape, rect(0.0, 200.0, 500.0, 15.0), true, &mut cut, &mut seen);
            assert_eq!(cut.len(), 3);
            assert!(cut.iter().all(|c| !c.word_broken));
            // A word wrapped in its middle, and the same text wrapped between its words.
            let wrapped = |text: &str, width: f32| {
                let job = egui::text::LayoutJob::simple(
                    text.into(),
                    egui::FontId::proportional(14.0),
                    egui::Color32::WHITE,
                    width,
                );
                ui.ctx().fonts_mut(|f| f.layout_job(job))
            };
            let broken = wrapped("warning", 30.0);
            assert!(broken.rows.len() > 1 && broken_word(&broken));
            let shape = egui::Shape::galley(egui::pos2(10.0, 10.0), broken, egui::Color32::WHITE);
            check_shape(&shape, rect(0.0, 0.0, 500.0, 100.0), true, &mut cut, &mut seen);
            assert_eq!(cut.len(), 4);
            assert!(cut[3].word_broken);
            let between = wrapped("on target", 40.0);
            assert!(between.rows.len() > 1 && !broken_word(&between));
            let cjk = wrapped("告警告警告警告警", 30.0);
            assert!(cjk.rows.len() > 1 && !broken_word(&cjk));
        });
        // No renderer takes the font atlas here: egui asks for its deltas to be dropped on purpose.
        output.textures_delta.clear();
        assert_eq!(seen, 7);
    }
}
