//! Briefings in the app: presenting one (`citytwin --briefing FILE`: a clean full screen,
//! the 3D view and a slim strip with the slide's title and indicators; next / previous with
//! the arrow keys, PageUp / PageDown as clickers send them, or space; a fly-to between
//! slides, each slide's layers, choropleth and scenario applied: a slide that names a
//! scenario loads it into the scenario session, so the city shows it, the strip shows
//! the scenario's values with their change against today and the zones of its choropleth
//! follow the scenario's evaluation) and the "Briefing" editing window of
//! the normal app (capture the current view as a slide, reorder, delete, title and notes,
//! save). Showing a slide is shared with the headless export ([`crate::app::briefing_export`]).

use std::path::{Path, PathBuf};

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use crate::app::access::SceneAccess;
use crate::app::camera::{CameraRig, Flying, apply_rig, camera_input};
use crate::app::dashboard::{Dashboard, IndicatorEngine, paint_choropleth};
use crate::app::i18n::lang_of;
use crate::app::loading::LoadedCity;
use crate::app::offscreen::bookmark_rig;
use crate::app::outline::{GENERATED_ZONES_NAME, LayerEntity};
use crate::app::scenario::{ScenarioCommand, ScenarioSession};
use crate::app::ui::layout::{Dock, PartKind, Prefs, UiLayout, placed};
use crate::app::ui::timeline::TwinTime;
use crate::app::ui::{CleanScreen, chrome_shown};
use crate::app::{AppState, AppSystems};
use crate::twin::access::{IndicatorPolicy, RecordCounts, Role};
use crate::twin::briefing::page::{format_change, format_value, status_rgb};
use crate::twin::briefing::values::{scenario_path, slide_data_time};
use crate::twin::briefing::{Briefing, Slide, SlideView, path_from, resolve_view, shown_layers};
use crate::twin::city::CityModel;
use crate::twin::crs::{Transformer, WGS84};
use crate::twin::flight::Flight;
use crate::twin::i18n::{self, Lang, tr, tr_args};
use crate::twin::indicators::composite::unit_score;
use crate::twin::scenario::Comparison;
use crate::twin::scene::{Bookmark, LayerSpec, Scene};

/// Where a new briefing is saved unless another path is typed.
const NEW_BRIEFING_PATH: &str = "scenes/briefings/briefing.ron";
/// The editor window's name in the layout's window stack.
const EDITOR_NAME: &str = "briefing";
/// Keys that go to the next slide.
const NEXT_KEYS: [KeyCode; 3] = [KeyCode::ArrowRight, KeyCode::PageDown, KeyCode::Space];
/// Keys that go to the previous slide.
const PREVIOUS_KEYS: [KeyCode; 2] = [KeyCode::ArrowLeft, KeyCode::PageUp];
/// Keys the camera would also use, kept from it while presenting.
const PRESENTING_KEYS: [KeyCode; 4] = [
    KeyCode::ArrowRight,
    KeyCode::ArrowLeft,
    KeyCode::ArrowUp,
    KeyCode::ArrowDown,
];
/// Height of the presenting strip's text, points.
const STRIP_TITLE_SIZE: f32 = 22.0;
/// Size of the indicator chips' text, points.
const STRIP_TEXT_SIZE: f32 = 15.0;
/// Decimals kept when a view is captured (degrees: about 10 cm).
const CAPTURE_DEGREE_DECIMALS: i32 = 6;

/// Whether a layer may be shown (and credited) to the role exported for.
pub type LayerFilter = Box<dyn Fn(&LayerSpec) -> bool + Send + Sync>;

/// The layer filter of a role ([`crate::twin::access`]): a layer whose classification the
/// role may not see is neither drawn nor credited. `None`: every layer (the desktop user,
/// whose app has loaded only what its role may see).
pub fn role_allows(role: Option<Role>) -> LayerFilter {
    match role {
        None => Box::new(|_| true),
        Some(role) => Box::new(move |l| role.may_see(l.meta.classification)),
    }
}

/// The briefing being presented or edited.
#[derive(Resource, Debug, Clone)]
pub struct ActiveBriefing {
    /// The briefing.
    pub briefing: Briefing,
    /// Its file.
    pub path: PathBuf,
    /// The slide shown (or selected in the editor).
    pub current: usize,
    /// The slide last applied to the view, layers and choropleth.
    pub applied: Option<usize>,
    /// Unsaved changes.
    pub dirty: bool,
    /// The last save or error message.
    pub message: String,
}

impl ActiveBriefing {
    /// A briefing read from `path`, at its first slide.
    pub fn new(briefing: Briefing, path: PathBuf) -> ActiveBriefing {
        ActiveBriefing {
            briefing,
            path,
            current: 0,
            applied: None,
            dirty: false,
            message: String::new(),
        }
    }
}

/// Moving through the slides.
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlideCommand {
    /// The next slide (stays on the last).
    Next,
    /// The previous slide (stays on the first).
    Previous,
    /// A slide by index.
    Go(usize),
}

/// The slide a command leads to among `len` slides.
pub fn step(current: usize, len: usize, command: SlideCommand) -> usize {
    let last = len.saturating_sub(1);
    match command {
        SlideCommand::Next => (current + 1).min(last),
        SlideCommand::Previous => current.saturating_sub(1),
        SlideCommand::Go(i) => i.min(last),
    }
}

/// Briefings: presenting (with a briefing and `presenting`) and the editing window.
#[derive(Default)]
pub struct BriefingPlugin {
    /// A briefing to open, with its file.
    pub briefing: Option<(Briefing, PathBuf)>,
    /// Present it full screen without the editing panels.
    pub presenting: bool,
}

impl Plugin for BriefingPlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<SlideCommand>().add_message::<ScenarioCommand>();
        if let Some((b, path)) = &self.briefing {
            app.insert_resource(ActiveBriefing::new(b.clone(), path.clone()));
        }
        if self.presenting {
            app.insert_resource(CleanScreen).add_systems(
                EguiPrimaryContextPass,
                presenting_strip
                    .in_set(AppSystems::UiDockTop)
                    .run_if(in_state(AppState::Ready)),
            );
        }
        app.add_systems(
            Update,
            (
                presenting_keys.run_if(resource_exists::<CleanScreen>),
                follow_commands,
                show_slide,
                scenario_zone_scores.before(paint_choropleth),
            )
                .chain()
                .run_if(in_state(AppState::Ready).and_then(resource_exists::<ActiveBriefing>))
                .in_set(AppSystems::Visuals)
                .before(camera_input)
                .before(apply_rig),
        )
        .add_systems(
            EguiPrimaryContextPass,
            editor_window
                .in_set(AppSystems::UiWindows)
                .run_if(in_state(AppState::Ready).and_then(chrome_shown)),
        );
    }
}

/// Turns the presenting keys into slide commands and keeps the arrows from the camera.
fn presenting_keys(mut keys: ResMut<ButtonInput<KeyCode>>, mut commands: MessageWriter<SlideCommand>) {
    if keys.any_just_pressed(NEXT_KEYS) {
        commands.write(SlideCommand::Next);
    } else if keys.any_just_pressed(PREVIOUS_KEYS) {
        commands.write(SlideCommand::Previous);
    }
    for k in PRESENTING_KEYS {
        keys.reset(k);
    }
}

/// Moves the current slide.
fn follow_commands(mut commands: MessageReader<SlideCommand>, mut active: ResMut<ActiveBriefing>) {
    for c in commands.read() {
        let len = active.briefing.slides.len();
        let next = step(active.current, len, *c);
        if next != active.current {
            active.current = next;
        }
    }
}

/// Which layer entities a slide shows: by index into `city.layers` (the generated zone grid
/// at `city.layers.len()`), true for shown. A layer the role may not see is never shown.
pub fn slide_layer_visibility(
    city: &CityModel,
    scene: &Scene,
    slide: &Slide,
    allow: &dyn Fn(&LayerSpec) -> bool,
) -> Vec<bool> {
    let shown = shown_layers(scene, slide);
    let mut v: Vec<bool> = city
        .layers
        .iter()
        .map(|info| {
            shown.contains(&info.name.as_str())
                && scene
                    .layers
                    .iter()
                    .find(|l| l.name == info.name)
                    .is_none_or(allow)
        })
        .collect();
    let zones = slide.choropleth.is_some()
        || slide
            .layers
            .as_ref()
            .is_some_and(|l| l.iter().any(|n| n == GENERATED_ZONES_NAME));
    v.push(zones);
    v
}

/// The rig a slide looks from, or why it has none.
pub fn slide_rig(city: &CityModel, scene: &Scene, slide: &Slide) -> Result<CameraRig, String> {
    let bookmark = resolve_view(scene, &slide.view)?;
    bookmark_rig(city, &bookmark)
}

/// Applies a slide's layers and choropleth (the camera is the caller's: a flight in the
/// window, a jump offscreen). Returns why the choropleth could not be applied, if so.
pub fn apply_slide_layers(
    loaded: &LoadedCity,
    slide: &Slide,
    allow: &dyn Fn(&LayerSpec) -> bool,
    engine: Option<&IndicatorEngine>,
    dash: &mut Dashboard,
    layers: &mut Query<(&LayerEntity, &mut Visibility)>,
) -> Result<(), String> {
    let visible = slide_layer_visibility(&loaded.0.city, &loaded.0.scene, slide, allow);
    for (layer, mut v) in layers.iter_mut() {
        let want = if visible.get(layer.index).copied().unwrap_or(false) {
            Visibility::Visible
        } else {
            Visibility::Hidden
        };
        if *v != want {
            *v = want;
        }
    }
    let choropleth = match (&slide.choropleth, engine) {
        (None, _) => None,
        (Some(id), Some(engine)) => Some(
            engine
                .0
                .ctx
                .catalogue
                .indicators
                .iter()
                .position(|d| &d.id == id)
                .ok_or_else(|| format!("unknown indicator '{id}'"))?,
        ),
        (Some(_), None) => return Err("the indicators are not ready".into()),
    };
    if dash.choropleth != choropleth {
        dash.choropleth = choropleth;
    }
    Ok(())
}

/// The scenario command that moves the session from the scenario shown (`shown`) to the
/// one a slide names (`wanted`, resolved): load it, go back to the baseline (a new, empty
/// scenario), or nothing when they are the same.
pub fn scenario_change(shown: Option<&Path>, wanted: Option<&Path>) -> Option<ScenarioCommand> {
    match (shown, wanted) {
        (a, b) if a == b => None,
        (_, Some(p)) => Some(ScenarioCommand::Load(p.to_path_buf())),
        (Some(_), None) => Some(ScenarioCommand::New),
        (None, None) => None,
    }
}

/// Flies to the current slide and applies its layers, choropleth and scenario when it
/// changed.
#[allow(clippy::too_many_arguments)]
fn show_slide(
    mut commands: Commands,
    mut active: ResMut<ActiveBriefing>,
    loaded: Res<LoadedCity>,
    engine: Option<Res<IndicatorEngine>>,
    mut dash: ResMut<Dashboard>,
    mut layers: Query<(&LayerEntity, &mut Visibility)>,
    cameras: Query<(Entity, &CameraRig)>,
    mut scenario_commands: MessageWriter<ScenarioCommand>,
    mut shown_scenario: Local<Option<PathBuf>>,
    twin: Option<ResMut<TwinTime>>,
    mut scrubbed: Local<bool>,
) {
    let current = active.current;
    if active.applied == Some(current) || engine.is_none() {
        return;
    }
    let Some(slide) = active.briefing.slides.get(current).cloned() else {
        return;
    };
    active.applied = Some(current);
    let wanted = slide.scenario.as_ref().map(|p| scenario_path(&active.path, p));
    if let Some(c) = scenario_change(shown_scenario.as_deref(), wanted.as_deref()) {
        scenario_commands.write(c);
        *shown_scenario = wanted;
    }
    // A slide with a data time (its own or the briefing's) shows the city at that instant,
    // from the history as the time slider does; after it, a slide without one goes live
    // again (a time the presenter picked by hand is left alone).
    if let Some(mut twin) = twin {
        match slide_data_time(&active.briefing, &slide) {
            Ok(Some(t)) => {
                let now = twin.now;
                twin.clock.scrub_to(t, now);
                *scrubbed = true;
            }
            Ok(None) if *scrubbed => {
                twin.clock.go_live();
                *scrubbed = false;
            }
            Ok(None) => {}
            Err(e) => warn!("slide {} '{}': {e}", current + 1, slide.title),
        }
    }
    let allow = |_: &LayerSpec| true;
    if let Err(e) = apply_slide_layers(&loaded, &slide, &allow, engine.as_deref(), &mut dash, &mut layers) {
        warn!("slide {} '{}': {e}", current + 1, slide.title);
    }
    match slide_rig(&loaded.0.city, &loaded.0.scene, &slide) {
        Ok(to) => {
            for (entity, rig) in &cameras {
                commands
                    .entity(entity)
                    .insert(Flying(Flight::new(rig.view(), to.view())));
            }
        }
        Err(e) => {
            warn!("slide {} '{}': {e}", current + 1, slide.title);
            active.message = e;
        }
    }
}

/// The 0–1 zone scores of indicator `k` (catalogue index) in a comparison's scenario, in
/// zone order; `keep(zone)` false blanks a zone (a value the role may not see).
pub fn scenario_zone_scores_of(
    comparison: &Comparison,
    def: &crate::twin::indicators::catalogue::IndicatorDef,
    k: usize,
    keep: &dyn Fn(usize) -> bool,
) -> Vec<Option<f64>> {
    comparison
        .zones
        .iter()
        .enumerate()
        .map(|(z, zone)| {
            let v = zone.indicators.get(k).and_then(|d| d.scenario)?;
            keep(z).then(|| unit_score(def, v))
        })
        .collect()
}

/// While the slide shown names a scenario and a choropleth (and the zones are coloured by
/// that indicator), the zones follow the scenario session's evaluation (from the frame the
/// session holds that slide's scenario), without what the role may not see; on any other
/// slide, the dashboard's own scores.
fn scenario_zone_scores(
    active: Res<ActiveBriefing>,
    session: Option<Res<ScenarioSession>>,
    engine: Option<Res<IndicatorEngine>>,
    access: Option<Res<SceneAccess>>,
    mut dash: ResMut<Dashboard>,
) {
    let session_changed = session.as_ref().is_some_and(|s| s.is_changed());
    if !(active.is_changed() || session_changed || dash.is_changed()) {
        return;
    }
    let slide = active.applied.and_then(|i| active.briefing.slides.get(i));
    let wanted = slide.and_then(|slide| {
        let id = slide.choropleth.as_ref()?;
        let wanted = scenario_path(&active.path, slide.scenario.as_ref()?);
        let session = session
            .as_ref()
            .filter(|s| s.path.as_deref() == Some(wanted.as_path()))?;
        let comparison = session.comparison()?;
        let catalogue = &engine.as_ref()?.0.ctx.catalogue;
        let k = catalogue.indicators.iter().position(|d| &d.id == id)?;
        // A scenario changes the city, not what the sensors read: a feed indicator's zones
        // are the dashboard's (live) ones, which the session, evaluating without feeds,
        // would leave without data.
        if catalogue.indicators[k].compute.is_feed() {
            return None;
        }
        // Only while the zones are coloured by the slide's indicator (the editor's user
        // may have picked another since).
        if dash.choropleth != Some(k) {
            return None;
        }
        let policy = access
            .as_ref()
            .map(|a| IndicatorPolicy::new(catalogue, &a.withheld, &a.role));
        // The session evaluates without feeds: no records behind any value.
        let counts = RecordCounts::default();
        let keep = |z: usize| policy.as_ref().is_none_or(|p| p.may_show(k, Some(z), &counts));
        Some(scenario_zone_scores_of(
            comparison,
            &catalogue.indicators[k],
            k,
            &keep,
        ))
    });
    if dash.slide_zone_scores != wanted {
        dash.slide_zone_scores = wanted;
    }
}

/// An egui colour of an sRGB triple.
fn colour32(c: [u8; 3]) -> egui::Color32 {
    egui::Color32::from_rgb(c[0], c[1], c[2])
}

/// The presenting strip: slide number and title, and the slide's indicators with value and
/// status colour.
fn presenting_strip(
    mut contexts: EguiContexts,
    active: Option<Res<ActiveBriefing>>,
    engine: Option<Res<IndicatorEngine>>,
    dash: Res<Dashboard>,
    session: Option<Res<ScenarioSession>>,
    mut layout: ResMut<UiLayout>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let Some(active) = active else { return Ok(()) };
    let n = active.briefing.slides.len();
    let Some(slide) = active.briefing.slides.get(active.current) else {
        return Ok(());
    };
    let frame = egui::Frame::new()
        .fill(egui::Color32::from_black_alpha(170))
        .inner_margin(egui::Margin::symmetric(18, 10));
    let lang = lang_of(ctx);
    let mut root = layout.dock_ui(ctx, "briefing_strip_root");
    let strip = egui::Panel::top("briefing_strip")
        .frame(frame)
        .show_separator_line(false)
        .show(&mut root, |ui| {
            ui.horizontal(|ui| {
                ui.label(
                    egui::RichText::new(format!("{} / {n}", active.current + 1))
                        .size(STRIP_TEXT_SIZE)
                        .color(egui::Color32::GRAY),
                );
                ui.add_space(12.0);
                ui.label(
                    egui::RichText::new(&slide.title)
                        .size(STRIP_TITLE_SIZE)
                        .strong()
                        .color(egui::Color32::WHITE),
                );
                if let Some(s) = session.as_ref().filter(|_| slide.scenario.is_some()) {
                    ui.add_space(12.0);
                    ui.label(
                        egui::RichText::new(tr_args(
                            lang,
                            "briefing-scenario",
                            &[("scenario", (&s.meta().name).into())],
                        ))
                        .size(STRIP_TEXT_SIZE)
                        .color(egui::Color32::from_rgb(160, 200, 255)),
                    );
                }
            });
            let (Some(engine), Some(eval)) = (engine.as_ref(), dash.eval.as_ref()) else {
                return;
            };
            if slide.indicators.is_empty() {
                return;
            }
            // A slide with a scenario shows the scenario's values against today.
            let comparison = session
                .as_ref()
                .filter(|_| slide.scenario.is_some())
                .and_then(|s| s.comparison());
            ui.horizontal_wrapped(|ui| {
                for id in &slide.indicators {
                    let cat = &engine.0.ctx.catalogue.indicators;
                    let Some(k) = cat.iter().position(|d| &d.id == id) else {
                        continue;
                    };
                    let def = &cat[k];
                    let e = eval.city.get(k);
                    let mut status = e.map_or(crate::twin::indicators::Status::NoData, |e| e.status);
                    let unit = i18n::unit(lang, &def.unit);
                    let mut value = e.and_then(|e| e.value).map_or(
                        i18n::status_name(lang, crate::twin::indicators::Status::NoData),
                        |v| format!("{} {unit}", format_value(v)),
                    );
                    if let Some(d) = comparison.and_then(|c| c.indicator(id)) {
                        status = d.scenario_status;
                        value = d.scenario.map_or(
                            i18n::status_name(lang, crate::twin::indicators::Status::NoData),
                            |v| format!("{} {unit}", format_value(v)),
                        );
                        if let Some(change) = d.delta {
                            value = tr_args(
                                lang,
                                "briefing-change",
                                &[("value", value.into()), ("change", format_change(change).into())],
                            );
                        }
                    }
                    ui.label(
                        egui::RichText::new("●")
                            .size(STRIP_TEXT_SIZE)
                            .color(colour32(status_rgb(status))),
                    );
                    ui.label(
                        egui::RichText::new(format!(
                            "{}  {value}",
                            i18n::indicator_name(lang, &def.id, &def.name)
                        ))
                        .size(STRIP_TEXT_SIZE)
                        .color(egui::Color32::WHITE),
                    );
                    ui.add_space(14.0);
                }
            });
        });
    layout.docked("briefing strip", Dock::Top, strip.response.rect);
    Ok(())
}

/// A bookmark of the camera's current view, rounded to sensible precision.
pub fn rig_bookmark(city: &CityModel, rig: &CameraRig, name: &str) -> Result<Bookmark, String> {
    let east = f64::from(rig.target.x) + city.origin.x;
    let north = -f64::from(rig.target.z) + city.origin.y;
    let t = Transformer::new(&city.crs, &WGS84).map_err(|e| e.to_string())?;
    let (lon, lat) = t
        .point(east, north)
        .ok_or_else(|| format!("cannot place the view ({east:.0}, {north:.0}) in WGS84"))?;
    let round = |v: f64, d: i32| (v * 10f64.powi(d)).round() / 10f64.powi(d);
    Ok(Bookmark {
        name: name.to_string(),
        target_lonlat: (
            round(lon, CAPTURE_DEGREE_DECIMALS),
            round(lat, CAPTURE_DEGREE_DECIMALS),
        ),
        distance_m: round(f64::from(rig.distance), 1),
        pitch_deg: round(f64::from(rig.pitch).to_degrees(), 1),
        heading_deg: round(f64::from(rig.yaw).to_degrees(), 1),
    })
}

/// The "Briefing" window: start or edit the briefing, capture views as slides, reorder,
/// delete, edit title, indicators and notes, save.
#[allow(clippy::too_many_arguments)]
fn editor_window(
    mut contexts: EguiContexts,
    mut commands: Commands,
    active: Option<ResMut<ActiveBriefing>>,
    loaded: Option<Res<LoadedCity>>,
    engine: Option<Res<IndicatorEngine>>,
    dash: Res<Dashboard>,
    cameras: Query<&CameraRig>,
    layers: Query<(&LayerEntity, &Visibility)>,
    mut slide_commands: MessageWriter<SlideCommand>,
    mut layout: ResMut<UiLayout>,
    prefs: Option<Res<Prefs>>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let Some(loaded) = loaded else { return Ok(()) };
    let open = prefs.is_some_and(|p| p.prefs.is_open(EDITOR_NAME, false));
    let place = layout.window_place(EDITOR_NAME, open);
    let lang = lang_of(ctx);
    let shown = placed(egui::Window::new(tr(lang, "window-briefing")), Some(place))
        .resizable(true)
        .default_width(320.0)
        .show(ctx, |ui| {
            let Some(mut active) = active else {
                ui.weak(tr(lang, "brief-none-open"));
                if ui.button(tr(lang, "brief-new")).clicked() {
                    let path = PathBuf::from(NEW_BRIEFING_PATH);
                    let scene = path_from(&path, &loaded.0.path);
                    let mut b = Briefing::new(loaded.0.scene.name.clone(), scene);
                    b.date = String::new();
                    commands.insert_resource(ActiveBriefing::new(b, path));
                }
                return;
            };
            let active = &mut *active;
            ui.horizontal(|ui| {
                ui.label(tr(lang, "brief-title"));
                if ui.text_edit_singleline(&mut active.briefing.title).changed() {
                    active.dirty = true;
                }
            });
            ui.horizontal(|ui| {
                ui.label(tr(lang, "brief-author"));
                if ui.text_edit_singleline(&mut active.briefing.author).changed() {
                    active.dirty = true;
                }
            });
            ui.horizontal(|ui| {
                ui.label(tr(lang, "brief-date"));
                if ui.text_edit_singleline(&mut active.briefing.date).changed() {
                    active.dirty = true;
                }
            });
            ui.separator();
            let n = active.briefing.slides.len();
            let mut action: Option<EditAction> = None;
            egui::ScrollArea::vertical().max_height(180.0).show(ui, |ui| {
                for i in 0..n {
                    ui.horizontal(|ui| {
                        let title = format!("{}. {}", i + 1, active.briefing.slides[i].title);
                        if ui.selectable_label(active.current == i, title).clicked() {
                            action = Some(EditAction::Show(i));
                        }
                        if ui.add_enabled(i > 0, egui::Button::new("↑")).clicked() {
                            action = Some(EditAction::Move(i, i - 1));
                        }
                        if ui.add_enabled(i + 1 < n, egui::Button::new("↓")).clicked() {
                            action = Some(EditAction::Move(i, i + 1));
                        }
                        if ui
                            .button("✕")
                            .on_hover_text(tr(lang, "brief-delete-slide"))
                            .clicked()
                        {
                            action = Some(EditAction::Delete(i));
                        }
                    });
                }
            });
            if ui
                .button(tr(lang, "brief-capture"))
                .on_hover_text(tr(lang, "brief-capture-hover"))
                .clicked()
            {
                action = Some(EditAction::Capture);
            }
            match action {
                Some(EditAction::Show(i)) => {
                    slide_commands.write(SlideCommand::Go(i));
                    active.applied = None;
                }
                Some(EditAction::Move(from, to)) if active.briefing.move_slide(from, to).is_ok() => {
                    active.current = to;
                    active.applied = Some(to);
                    active.dirty = true;
                }
                Some(EditAction::Delete(i)) if active.briefing.delete(i).is_ok() => {
                    active.current = active.current.min(active.briefing.slides.len().saturating_sub(1));
                    active.applied = Some(active.current);
                    active.dirty = true;
                }
                Some(EditAction::Capture) => {
                    let city = &loaded.0.city;
                    let name = tr_args(lang, "brief-view-name", &[("n", (n + 1).to_string().into())]);
                    match cameras.iter().next().map(|rig| rig_bookmark(city, rig, &name)) {
                        Some(Ok(view)) => {
                            let mut slide = Slide::new(name, SlideView::Camera(view));
                            let shown: Vec<String> = city
                                .layers
                                .iter()
                                .enumerate()
                                .filter(|(i, _)| {
                                    layers
                                        .iter()
                                        .any(|(l, v)| l.index == *i && *v != Visibility::Hidden)
                                })
                                .map(|(_, l)| l.name.clone())
                                .collect();
                            slide.layers = Some(shown);
                            slide.choropleth = dash.choropleth.and_then(|k| {
                                engine
                                    .as_ref()
                                    .and_then(|e| e.0.ctx.catalogue.indicators.get(k))
                                    .map(|d| d.id.clone())
                            });
                            let at = if n == 0 { 0 } else { (active.current + 1).min(n) };
                            if active.briefing.insert(at, slide).is_ok() {
                                active.current = at;
                                active.applied = Some(at);
                                active.dirty = true;
                            }
                        }
                        Some(Err(e)) => active.message = e,
                        None => active.message = tr(lang, "brief-no-camera"),
                    }
                }
                _ => {}
            }
            let current = active.current;
            if let Some(slide) = active.briefing.slides.get_mut(current) {
                ui.separator();
                let mut changed = false;
                ui.horizontal(|ui| {
                    ui.label(tr(lang, "brief-slide-title"));
                    changed |= ui.text_edit_singleline(&mut slide.title).changed();
                });
                let mut ids = slide.indicators.join(", ");
                ui.horizontal(|ui| {
                    ui.label(tr(lang, "briefing-indicators"))
                        .on_hover_text(tr(lang, "brief-indicators-hover"));
                    if ui.text_edit_singleline(&mut ids).changed() {
                        slide.indicators = ids
                            .split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect();
                        changed = true;
                    }
                });
                ui.label(tr(lang, "briefing-notes"));
                changed |= ui
                    .add(egui::TextEdit::multiline(&mut slide.notes).desired_rows(5))
                    .changed();
                active.dirty |= changed;
            }
            ui.separator();
            ui.horizontal(|ui| {
                let mut path = active.path.display().to_string();
                if ui.text_edit_singleline(&mut path).changed() {
                    active.path = PathBuf::from(path);
                }
                let label = if active.dirty {
                    format!("{}*", tr(lang, "sc-save"))
                } else {
                    tr(lang, "sc-save")
                };
                if ui.button(label).clicked() {
                    active.message = save(active, lang);
                }
            });
            if !active.message.is_empty() {
                ui.small(&active.message);
            }
        });
    if let Some(r) = shown {
        layout.record(EDITOR_NAME, PartKind::Window, r.response.rect);
    }
    Ok(())
}

/// What the editor was asked to do this frame.
enum EditAction {
    Show(usize),
    Move(usize, usize),
    Delete(usize),
    Capture,
}

/// Saves the briefing; returns the message to show.
fn save(active: &mut ActiveBriefing, lang: Lang) -> String {
    if let Some(dir) = active.path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        return format!("{}: {e}", dir.display());
    }
    match active.briefing.save(&active.path) {
        Ok(()) => {
            active.dirty = false;
            tr_args(
                lang,
                "brief-saved",
                &[("file", active.path.display().to_string().into())],
            )
        }
        Err(e) => e.to_string(),
    }
}

/// Whether a path names a briefing file (`.ron`).
pub fn is_briefing_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "ron")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::app::camera::CameraPlugin;

    #[test]
    fn slide_steps_stay_in_range() {
        assert_eq!(step(0, 3, SlideCommand::Next), 1);
        assert_eq!(step(2, 3, SlideCommand::Next), 2);
        assert_eq!(step(0, 3, SlideCommand::Previous), 0);
        assert_eq!(step(2, 3, SlideCommand::Previous), 1);
        assert_eq!(step(0, 3, SlideCommand::Go(7)), 2);
        assert_eq!(step(0, 0, SlideCommand::Next), 0);
    }

    #[test]
    fn roles_filter_layers() {
        use crate::twin::gis::layer::Classification;
        let scene = crate::app::outline::tests::tiny_loaded_scene().scene;
        let mut l = scene.layers[0].clone();
        let public = scene.roles.role(Some("public")).unwrap();
        let staff = scene.roles.role(Some("staff")).unwrap();
        assert!(role_allows(None)(&l));
        assert!(role_allows(Some(public.clone()))(&l));
        l.meta.classification = Classification::Internal;
        assert!(!role_allows(Some(public))(&l));
        assert!(role_allows(Some(staff))(&l));
    }

    /// Presenting: a key moves to the next slide, the camera flies there and the slide's
    /// layers are applied.
    #[test]
    fn keys_move_through_slides() {
        let loaded = crate::app::outline::tests::tiny_loaded_scene();
        let city = &loaded.city;
        let to_wgs84 = Transformer::new(&city.crs, &WGS84).unwrap();
        let lonlat = to_wgs84.point(city.origin.x + 200.0, city.origin.y).unwrap();
        let layer0 = city.layers[0].name.clone();
        let mut b = Briefing::new("t", "s.ron");
        let view = |d: f64| {
            SlideView::Camera(Bookmark {
                name: "v".into(),
                target_lonlat: lonlat,
                distance_m: d,
                pitch_deg: 50.0,
                heading_deg: 0.0,
            })
        };
        let mut one = Slide::new("one", view(300.0));
        one.data_time = Some("2026-01-01T08:00Z".into());
        b.slides.push(one);
        let mut two = Slide::new("two", view(900.0));
        two.layers = Some(vec![layer0]);
        two.scenario = Some(PathBuf::from("../scenarios/denser.ron"));
        b.slides.push(two);

        let mut app = crate::app::headless_app();
        app.init_state::<AppState>()
            .init_resource::<Dashboard>()
            .add_plugins((CameraPlugin, crate::app::outline::OutlinePlugin))
            .insert_resource(LoadedCity(Arc::new(loaded.clone())))
            .insert_resource(ActiveBriefing::new(b, PathBuf::from("briefings/b.ron")))
            .insert_resource(CleanScreen)
            .init_resource::<TwinTime>()
            .add_message::<SlideCommand>()
            .add_message::<ScenarioCommand>()
            .add_systems(
                Update,
                (presenting_keys, follow_commands, show_slide)
                    .chain()
                    .run_if(in_state(AppState::Ready)),
            );
        app.world_mut()
            .resource_mut::<NextState<AppState>>()
            .set(AppState::Ready);
        app.update();
        let engine = crate::twin::indicators::Indicators::new(&loaded.city, &loaded.scene.indicators);
        app.insert_resource(IndicatorEngine(engine));
        app.update();
        assert_eq!(app.world().resource::<ActiveBriefing>().applied, Some(0));
        // The first slide's data time: the clock shows that instant (from the history).
        let twin = app.world().resource::<TwinTime>();
        assert!(!twin.clock.is_live());
        let at = crate::twin::indicators::report::parse_time("2026-01-01T08:00Z").unwrap();
        assert_eq!(twin.shown(), at);
        // A clicker's "next": PageDown, through the input system like a real key.
        app.world_mut()
            .write_message(bevy::input::keyboard::KeyboardInput {
                key_code: KeyCode::PageDown,
                logical_key: bevy::input::keyboard::Key::PageDown,
                state: bevy::input::ButtonState::Pressed,
                text: None,
                repeat: false,
                window: Entity::PLACEHOLDER,
            });
        app.update();
        let world = app.world_mut();
        assert_eq!(world.resource::<ActiveBriefing>().current, 1);
        assert_eq!(world.resource::<ActiveBriefing>().applied, Some(1));
        // The second slide names no time: live again.
        assert!(world.resource::<TwinTime>().clock.is_live());
        let flying = world.query::<&Flying>().single(world).expect("the camera flies");
        assert!((flying.0.to.distance - 900.0).abs() < 1.0, "{:?}", flying.0.to);
        let mut q = world.query::<(&LayerEntity, &Visibility)>();
        for (l, v) in q.iter(world) {
            assert_eq!(*v == Visibility::Visible, l.index == 0, "layer {}", l.index);
        }
        // The second slide's scenario goes to the scenario session, resolved against the
        // briefing file.
        let sent: Vec<ScenarioCommand> = world
            .resource_mut::<Messages<ScenarioCommand>>()
            .drain()
            .collect();
        assert_eq!(
            sent,
            [ScenarioCommand::Load(PathBuf::from(
                "briefings/../scenarios/denser.ron"
            ))]
        );
        // Back to the first slide: back to the baseline.
        world.write_message(SlideCommand::Previous);
        app.update();
        let sent: Vec<ScenarioCommand> = app
            .world_mut()
            .resource_mut::<Messages<ScenarioCommand>>()
            .drain()
            .collect();
        assert_eq!(sent, [ScenarioCommand::New]);
    }

    #[test]
    fn scenario_changes_only_when_the_slide_names_another() {
        let a = Path::new("a.ron");
        let b = Path::new("b.ron");
        assert_eq!(scenario_change(None, None), None);
        assert_eq!(scenario_change(Some(a), Some(a)), None);
        assert_eq!(
            scenario_change(None, Some(a)),
            Some(ScenarioCommand::Load(a.into()))
        );
        assert_eq!(
            scenario_change(Some(a), Some(b)),
            Some(ScenarioCommand::Load(b.into()))
        );
        assert_eq!(scenario_change(Some(a), None), Some(ScenarioCommand::New));
    }

    /// Presenting a scenario slide with a choropleth: once the session holds the slide's
    /// scenario, the zone colour buffer holds the colours of the scenario's evaluation
    /// (worked out here by the core), which differ from today's in the zone the scenario
    /// changes; picking another indicator, or going back to a slide without a scenario,
    /// gives the dashboard's colours again.
    #[test]
    fn a_scenario_slide_colours_the_zones_by_the_scenario() {
        use crate::app::dashboard::{DashboardPlugin, choropleth_colour};
        use crate::app::ground_view::ZoneColours;
        use crate::app::scenario::{ScenarioModelPlugin, zone_of_building};
        use crate::app::ui::timeline::TwinTime;
        use crate::twin::city::BuildingId;
        use crate::twin::feeds::Timestamp;
        use crate::twin::indicators::composite::zone_unit_scores;
        use crate::twin::indicators::{FeedInputs, IndicatorContext};
        use crate::twin::scenario::{Edit, EditStack, Scenario, ScenarioEdit};

        let loaded = crate::twin::synth::load_synth(300, 7, &crate::twin::progress::Progress::default())
            .expect("synthetic city");
        let city = loaded.city.clone();
        let home = city
            .buildings
            .iter()
            .position(|b| b.usage == "residential" && b.footprint_area_m2() > 0.0)
            .expect("a home");
        let z = zone_of_building(&city, BuildingId(home as u32))
            .expect("its zone")
            .0 as usize;
        // The scenario turns the home into offices; the first indicator whose score in its
        // zone that changes is the slide's choropleth, and the scenario's scores of it are
        // the core's.
        let edit = Edit::SetUse {
            buildings: vec![BuildingId(home as u32)],
            usage: "office".into(),
        };
        let ctx = IndicatorContext::new(&city, &loaded.scene.indicators);
        let feeds = FeedInputs::none(Timestamp(0));
        let mut stack = EditStack::new(&city, &ctx, loaded.scene.costs.clone());
        let (_, before) = stack.indicators(&feeds);
        stack.push(ScenarioEdit::new(edit.clone())).expect("applies");
        let (_, after) = stack.indicators(&feeds);
        let cat = &ctx.catalogue.indicators;
        let (k, core) = (0..cat.len())
            .map(|k| (k, zone_unit_scores(&cat[k], k, &after)))
            .find(|(k, s)| s[z].is_some() && s[z] != zone_unit_scores(&cat[*k], *k, &before)[z])
            .expect("the new offices change some indicator's score in their zone");
        let id = cat[k].id.clone();

        let dir = std::env::temp_dir().join(format!("citytwin-briefing-zones-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut offices = Scenario::new("Offices", "");
        offices.edits.push(ScenarioEdit::new(edit));
        offices.save(&dir.join("offices.ron")).unwrap();
        let to_wgs84 = Transformer::new(&city.crs, &WGS84).unwrap();
        let view = SlideView::Camera(Bookmark {
            name: "v".into(),
            target_lonlat: to_wgs84.point(city.origin.x, city.origin.y).unwrap(),
            distance_m: 900.0,
            pitch_deg: 50.0,
            heading_deg: 0.0,
        });
        let mut b = Briefing::new("t", "synth.ron");
        let mut today = Slide::new("today", view);
        today.choropleth = Some(id.clone());
        let mut what_if = today.clone();
        what_if.scenario = Some(PathBuf::from("offices.ron"));
        let feed = cat
            .iter()
            .position(|d| d.compute.is_feed())
            .expect("a feed indicator");
        let mut sensed = what_if.clone();
        sensed.choropleth = Some(cat[feed].id.clone());
        b.slides = vec![today, what_if, sensed];

        let zones = city.zones.len();
        let mut app = crate::app::headless_app();
        AppSystems::configure(&mut app)
            .init_resource::<TwinTime>()
            .add_plugins((
                DashboardPlugin,
                ScenarioModelPlugin,
                BriefingPlugin {
                    briefing: Some((b, dir.join("b.ron"))),
                    presenting: false,
                },
            ));
        crate::app::dashboard::tests::make_ready(&mut app, loaded);
        for _ in 0..4 {
            app.update();
        }
        let linear = |s: &Option<f64>| {
            let l = choropleth_colour(*s).to_linear();
            [l.red, l.green, l.blue, l.alpha]
        };
        let colours = |app: &App| app.world().resource::<ZoneColours>().colours.clone();
        let dash = app.world().resource::<Dashboard>();
        assert_eq!(app.world().resource::<ActiveBriefing>().applied, Some(0));
        assert_eq!(dash.choropleth, Some(k));
        assert!(dash.slide_zone_scores.is_none(), "today: the dashboard's scores");
        let today = dash.zone_scores.clone();
        assert_eq!(today.len(), zones);
        assert_eq!(colours(&app), today.iter().map(linear).collect::<Vec<_>>());

        app.world_mut().write_message(SlideCommand::Go(1));
        for _ in 0..4 {
            app.update();
        }
        let session = app.world().resource::<ScenarioSession>();
        assert_eq!(session.applied(), 1, "{:?}", session.notice);
        let shown = app.world().resource::<Dashboard>().slide_zone_scores.clone();
        assert_eq!(shown.as_ref(), Some(&core), "the scenario's scores of {id}");
        let painted = colours(&app);
        assert_eq!(painted, core.iter().map(linear).collect::<Vec<_>>());
        assert_ne!(
            painted[z],
            linear(&today[z]),
            "zone {z}: the scenario's colour, not today's"
        );

        // Picking another indicator in the dashboard lets go of the slide's zones.
        app.world_mut().resource_mut::<Dashboard>().choropleth = Some((k + 1) % cat.len());
        app.update();
        assert!(app.world().resource::<Dashboard>().slide_zone_scores.is_none());

        // Back to today: the dashboard's scores and colours again.
        app.world_mut().write_message(SlideCommand::Go(0));
        for _ in 0..3 {
            app.update();
        }
        assert!(app.world().resource::<Dashboard>().slide_zone_scores.is_none());
        assert_eq!(colours(&app), today.iter().map(linear).collect::<Vec<_>>());

        // A role that was not given the buildings sees none of the scenario's zones of an
        // indicator computed from them (grey, not the scenario's colours).
        use crate::twin::access::filter::{Withheld, WithheldItem};
        use crate::twin::access::indicators::layer_inputs;
        use crate::twin::gis::layer::LayerKind;
        assert!(
            layer_inputs(&cat[k].compute).contains(&LayerKind::Buildings),
            "{id}"
        );
        let mut withheld = Withheld::default();
        withheld.layers.push(WithheldItem {
            name: "buildings".into(),
            kind: Some(LayerKind::Buildings),
            meta: Default::default(),
            metrics: Vec::new(),
        });
        let role = app
            .world()
            .resource::<LoadedCity>()
            .0
            .scene
            .roles
            .role(None)
            .expect("the default role");
        app.insert_resource(SceneAccess {
            role,
            withheld,
            catalogue: Vec::new(),
            attributions: Vec::new(),
        });
        app.world_mut().write_message(SlideCommand::Go(1));
        for _ in 0..4 {
            app.update();
        }
        let shown = app.world().resource::<Dashboard>().slide_zone_scores.clone();
        assert_eq!(shown, Some(vec![None; zones]), "nothing of {id} for this role");
        app.world_mut().remove_resource::<SceneAccess>();

        // The same scenario with a feed indicator's zones: the dashboard's live ones.
        app.world_mut().write_message(SlideCommand::Go(2));
        for _ in 0..4 {
            app.update();
        }
        let dash = app.world().resource::<Dashboard>();
        assert_eq!(dash.choropleth, Some(feed));
        assert!(
            dash.slide_zone_scores.is_none(),
            "a scenario does not change sensors"
        );
        let live = dash.zone_scores.clone();
        assert_eq!(colours(&app), live.iter().map(linear).collect::<Vec<_>>());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
