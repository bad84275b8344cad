//! Planner scenarios in the app (window only): the scenario session over the core's
//! [`EditStack`] (edits pushed, undone, redone, stepped through; files loaded and saved),
//! the scenario's indicators recomputed after each edit and compared with the baseline,
//! the cost-benefit table, and what the city view draws ([`ScenarioMarks`]). The map tools
//! live in [`crate::app::scenario_draw`], the drawing in [`crate::app::scenario_view`], the
//! panel in [`crate::app::ui::scenario`]; the logic is the core's ([`crate::twin::scenario`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use bevy::prelude::*;
use bevy_egui::input::EguiWantsInput;
use crossbeam_channel::{Receiver, TryRecvError};
use geo::Contains;
use geo_types::Point;

use crate::app::dashboard::IndicatorEngine;
use crate::app::i18n::CurrentLang;
use crate::app::loading::LoadedCity;
use crate::app::scenario_draw::{ActiveTool, ScenarioDrawPlugin, ToolOutput};
use crate::app::scenario_view::{BuildingMark, RoadMark, ScenarioMarks, ScenarioViewPlugin, StopMark};
use crate::app::ui::scenario::ScenarioPanelPlugin;
use crate::app::{AppState, AppSystems};
use crate::twin::city::{BuildingId, CityModel, RoadId, ZoneId};
use crate::twin::feeds::Timestamp;
use crate::twin::i18n::{Lang, tr, tr_args};
use crate::twin::indicators::{Evaluation, FeedInputs, IndicatorContext};
use crate::twin::load::LoadedScene;
use crate::twin::scenario::benefit::{Benefit, Gain, gain_name, gain_unit, rank};
use crate::twin::scenario::report::{ScenarioSummary, report};
use crate::twin::scenario::{
    Comparison, CostBenefit, CostOverride, Edit, EditStack, Ranking, Scenario, ScenarioEdit, SkippedEdit,
    SolarTarget, TransitMode, compare, cost_benefit, run_scenario,
};

/// Height a new or re-heighted building gets by default, metres.
const DEFAULT_HEIGHT_M: f64 = 21.0;
/// Use a new building gets by default.
const DEFAULT_USAGE: &str = "apartments";
/// Share of usable roof area a solar programme covers by default.
const DEFAULT_SOLAR_SHARE: f64 = 0.5;
/// Speed limit offered by default, km/h.
const DEFAULT_SPEED_KMH: f64 = 30.0;

/// Everything of planner scenarios: tools, view, session and panel.
pub struct ScenarioPlugin;

impl Plugin for ScenarioPlugin {
    fn build(&self, app: &mut App) {
        app.add_plugins((ScenarioDrawPlugin, ScenarioViewPlugin, ScenarioModelPlugin));
        if app.is_plugin_added::<bevy_egui::EguiPlugin>() {
            app.add_plugins(ScenarioPanelPlugin);
        }
    }
}

/// The scenario session without UI or rendering (for headless tests): commands, tool
/// output, undo / redo keys, indicators and marks.
pub struct ScenarioModelPlugin;

impl Plugin for ScenarioModelPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<EditSettings>()
            .init_resource::<CompareScope>()
            .init_resource::<ScenarioMarks>()
            .add_message::<ScenarioCommand>()
            .add_message::<ToolOutput>()
            .add_systems(
                Update,
                start_session
                    .in_set(AppSystems::Model)
                    .run_if(in_state(AppState::Ready).and_then(not(resource_exists::<ScenarioSession>))),
            )
            .add_systems(
                Update,
                (undo_keys, tool_edits, run_commands)
                    .chain()
                    .after(start_session)
                    .in_set(AppSystems::Model)
                    .run_if(resource_exists::<ScenarioSession>),
            )
            .add_systems(
                Update,
                (recompute, update_marks)
                    .chain()
                    .in_set(AppSystems::Indicators)
                    .run_if(resource_exists::<ScenarioSession>),
            );
    }
}

/// What the panel (or a test) asks of the session.
#[derive(Message, Debug, Clone, PartialEq)]
pub enum ScenarioCommand {
    /// Apply a new edit (dropping any undone ones).
    Push(ScenarioEdit),
    /// Undo the last applied edit.
    Undo,
    /// Redo the next undone edit.
    Redo,
    /// Undo or redo until this many edits are applied.
    StepTo(usize),
    /// Start an empty scenario.
    New,
    /// Load a scenario file.
    Load(PathBuf),
    /// Save the scenario to a file.
    Save(PathBuf),
    /// Set an edit's cost override.
    SetCost {
        /// The edit's index.
        index: usize,
        /// The override.
        cost: CostOverride,
    },
    /// Set an edit's note.
    SetNote {
        /// The edit's index.
        index: usize,
        /// The note.
        note: String,
    },
    /// Set the scenario's name, author, date and description.
    SetMeta(ScenarioMeta),
    /// Compare the current scenario with saved scenario files (on a worker thread).
    CompareScenarios(Vec<PathBuf>),
}

/// A scenario's name, author, date and description.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScenarioMeta {
    /// Name.
    pub name: String,
    /// Author.
    pub author: String,
    /// Date, `YYYY-MM-DD`.
    pub date: String,
    /// What it is about.
    pub description: String,
}

/// A message for the panel's status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The text.
    pub text: String,
    /// Whether it reports a failure.
    pub error: bool,
}

/// The parameters the edit tools use.
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct EditSettings {
    /// Height for "set height", metres.
    pub height_m: f64,
    /// Use for "set use".
    pub usage: String,
    /// Height of a drawn building, metres.
    pub new_height_m: f64,
    /// Use of a drawn building.
    pub new_usage: String,
    /// Share of usable roof area for solar, 0–1.
    pub solar_share: f64,
    /// The zone the zone tools work on.
    pub zone: Option<ZoneId>,
    /// Storeys added (negative: removed) by the zone tool.
    pub storeys: i32,
    /// Only buildings of this use (empty: all) for the storeys tool.
    pub zone_usage: String,
    /// Use changed from, by the zone tool.
    pub zone_from: String,
    /// Use changed to, by the zone tool.
    pub zone_to: String,
    /// Mode of placed stops.
    pub stop_mode: TransitMode,
    /// Speed limit for the road tool, km/h.
    pub speed_kmh: f64,
}

impl Default for EditSettings {
    fn default() -> Self {
        EditSettings {
            height_m: DEFAULT_HEIGHT_M,
            usage: DEFAULT_USAGE.to_string(),
            new_height_m: DEFAULT_HEIGHT_M,
            new_usage: DEFAULT_USAGE.to_string(),
            solar_share: DEFAULT_SOLAR_SHARE,
            zone: None,
            storeys: 1,
            zone_usage: String::new(),
            zone_from: "office".to_string(),
            zone_to: DEFAULT_USAGE.to_string(),
            stop_mode: TransitMode::Tram,
            speed_kmh: DEFAULT_SPEED_KMH,
        }
    }
}

/// The comparison's scope: city-wide, or one zone.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompareScope {
    /// The zone, or `None` for the whole city.
    pub zone: Option<ZoneId>,
}

/// What to do with the selected buildings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildingAction {
    /// Set their height.
    SetHeight,
    /// Set their use.
    SetUse,
    /// Demolish them.
    Demolish,
    /// Demolish them and green their lots.
    LotsToGreen,
    /// Rooftop solar.
    Solar,
}

/// What to do with the zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneAction {
    /// Storeys up or down.
    Storeys,
    /// Change a use.
    Use,
    /// Solar programme.
    Solar,
}

/// What to do with a road.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoadAction {
    /// Close to cars.
    Close,
    /// Add a bike lane.
    BikeLane,
    /// Change the speed limit.
    Speed,
}

/// The edit an action makes of the selected buildings (`None` when nothing is selected).
pub fn edit_for_selection(
    action: BuildingAction,
    selection: &[BuildingId],
    s: &EditSettings,
) -> Option<ScenarioEdit> {
    if selection.is_empty() {
        return None;
    }
    let buildings = selection.to_vec();
    let edit = match action {
        BuildingAction::SetHeight => Edit::SetHeight {
            buildings,
            height_m: s.height_m,
        },
        BuildingAction::SetUse => Edit::SetUse {
            buildings,
            usage: s.usage.trim().to_string(),
        },
        BuildingAction::Demolish => Edit::Demolish { buildings },
        BuildingAction::LotsToGreen => Edit::LotsToGreen { buildings },
        BuildingAction::Solar => Edit::RooftopSolar {
            target: SolarTarget::Buildings(buildings),
            share: s.solar_share,
        },
    };
    Some(ScenarioEdit::new(edit))
}

/// Why a zone action makes no edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneToolProblem {
    /// No zone is chosen.
    NoZone,
    /// A change of zero storeys.
    ZeroStoreys,
    /// A use change without two different uses.
    SameUses,
}

impl ZoneToolProblem {
    /// The problem in `lang`, for the screen.
    pub fn describe(self, lang: Lang) -> String {
        match self {
            ZoneToolProblem::NoZone => tr(lang, "zone-tool-no-zone"),
            ZoneToolProblem::ZeroStoreys => tr(lang, "zone-tool-zero-storeys"),
            ZoneToolProblem::SameUses => tr(lang, "zone-tool-same-uses"),
        }
    }
}

/// The edit a zone action makes, or why none: no zone chosen, no change, a use missing.
pub fn edit_for_zone(action: ZoneAction, s: &EditSettings) -> Result<ScenarioEdit, ZoneToolProblem> {
    let zone = s.zone.ok_or(ZoneToolProblem::NoZone)?;
    let edit = match action {
        ZoneAction::Storeys => {
            if s.storeys == 0 {
                return Err(ZoneToolProblem::ZeroStoreys);
            }
            let usage = s.zone_usage.trim();
            Edit::ZoneStoreys {
                zone,
                storeys: s.storeys,
                usage: (!usage.is_empty()).then(|| usage.to_string()),
            }
        }
        ZoneAction::Use => {
            let (from, to) = (s.zone_from.trim(), s.zone_to.trim());
            if from.is_empty() || to.is_empty() || from == to {
                return Err(ZoneToolProblem::SameUses);
            }
            Edit::ZoneUse {
                zone,
                from: from.to_string(),
                to: to.to_string(),
            }
        }
        ZoneAction::Solar => Edit::RooftopSolar {
            target: SolarTarget::Zone(zone),
            share: s.solar_share,
        },
    };
    Ok(ScenarioEdit::new(edit))
}

/// The edit a road action makes.
pub fn edit_for_roads(action: RoadAction, roads: &[RoadId], s: &EditSettings) -> ScenarioEdit {
    let roads = roads.to_vec();
    ScenarioEdit::new(match action {
        RoadAction::Close => Edit::CloseToCars { roads },
        RoadAction::BikeLane => Edit::BikeLane { roads },
        RoadAction::Speed => Edit::SpeedLimit {
            roads,
            kmh: s.speed_kmh,
        },
    })
}

/// The edit a finished map tool makes (`None` for a picked road: the panel acts on it).
pub fn edit_for_tool(output: &ToolOutput, s: &EditSettings) -> Option<ScenarioEdit> {
    let edit = match output {
        ToolOutput::Ring {
            tool: ActiveTool::Footprint,
            ring,
        } => Edit::AddBuilding {
            footprint: ring.iter().map(|p| (p[0], p[1])).collect(),
            height_m: s.new_height_m,
            usage: s.new_usage.trim().to_string(),
            name: None,
        },
        ToolOutput::Ring { ring, .. } => Edit::AddPark {
            polygon: ring.iter().map(|p| (p[0], p[1])).collect(),
            name: None,
        },
        ToolOutput::Point(p) => Edit::TransitStop {
            at: (p[0], p[1]),
            mode: s.stop_mode,
            name: None,
        },
        ToolOutput::Line(stops) => Edit::TransitLine {
            stops: stops.iter().map(|p| (p[0], p[1])).collect(),
            mode: s.stop_mode,
            name: None,
        },
        ToolOutput::Road(_) => return None,
    };
    Some(ScenarioEdit::new(edit))
}

/// The zone holding a building's footprint centre (first zone that contains it).
pub fn zone_of_building(city: &CityModel, id: BuildingId) -> Option<ZoneId> {
    use geo::Centroid;
    let c: Point<f64> = city.building(id)?.footprint.centroid()?;
    city.zones
        .iter()
        .position(|z| z.area.contains(&c))
        .map(|i| ZoneId(i as u32))
}

/// Ctrl+Z undoes, Ctrl+Y (or Ctrl+Shift+Z) redoes, unless egui has the keyboard.
fn undo_keys(
    keys: Option<Res<ButtonInput<KeyCode>>>,
    egui: Option<Res<EguiWantsInput>>,
    mut out: MessageWriter<ScenarioCommand>,
) {
    let Some(keys) = keys else { return };
    if egui.is_some_and(|e| e.wants_any_keyboard_input()) {
        return;
    }
    let ctrl = keys.any_pressed([KeyCode::ControlLeft, KeyCode::ControlRight]);
    let shift = keys.any_pressed([KeyCode::ShiftLeft, KeyCode::ShiftRight]);
    if !ctrl {
        return;
    }
    if keys.just_pressed(KeyCode::KeyY) || (shift && keys.just_pressed(KeyCode::KeyZ)) {
        out.write(ScenarioCommand::Redo);
    } else if keys.just_pressed(KeyCode::KeyZ) {
        out.write(ScenarioCommand::Undo);
    }
}

/// Turns finished map tools into edits.
fn tool_edits(
    mut tools: MessageReader<ToolOutput>,
    settings: Res<EditSettings>,
    mut out: MessageWriter<ScenarioCommand>,
) {
    for t in tools.read() {
        if let Some(edit) = edit_for_tool(t, &settings) {
            out.write(ScenarioCommand::Push(edit));
        }
    }
}

/// One line of the cost-benefit table.
#[derive(Debug, Clone, PartialEq)]
pub struct CostRow {
    /// Edit index, `None` for the whole scenario.
    pub edit: Option<usize>,
    /// The edit (or the whole scenario), in words.
    pub label: String,
    /// Capital cost, €.
    pub capital_eur: f64,
    /// Operating cost, € a year.
    pub operating_eur_per_year: f64,
    /// Present value of capital and operating over the appraisal period, €.
    pub present_value_eur: f64,
    /// Change of the smart-city index, points.
    pub index_delta: Option<f64>,
    /// The main gain, in words ("+312 residents: transit stop within 400 m").
    pub gain: String,
    /// Present-value cost per unit of the main gain, in words.
    pub cost_per_unit: String,
    /// Rank of the edit among the edits with the same main gain, cheapest per unit first,
    /// and how many are ranked.
    pub rank: Option<(usize, usize)>,
    /// Every gain and loss, one per line.
    pub all_gains: Vec<String>,
}

/// Gains that say less than the others about what an edit buys: shown as the main gain only
/// when nothing else changed.
const GENERIC_GAINS: [&str; 1] = ["index"];

/// A number with a sign and no more decimals than it needs.
fn signed(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:+.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:+.1}")
    } else {
        format!("{v:+.3}")
    }
}

/// The cost-benefit table as rows in `lang`: each applied edit (described from `edits`, the
/// scenario's list), then the whole scenario (`name`).
pub fn cost_rows(cb: &CostBenefit, lang: Lang, edits: &[ScenarioEdit], name: &str) -> Vec<CostRow> {
    let gain_text = |g: &Gain| (gain_name(lang, &g.id, &g.name), gain_unit(lang, &g.unit));
    let row = |b: &Benefit| {
        let main = b
            .gains
            .iter()
            .filter(|g| g.eur_per_unit.is_some())
            .find(|g| !GENERIC_GAINS.contains(&g.id.as_str()))
            .or_else(|| b.gains.iter().find(|g| g.eur_per_unit.is_some()));
        let rank = main.zip(b.edit).and_then(|(g, e)| {
            let r = cb.rankings.iter().find(|r| r.gain == g.id)?;
            let k = r.entries.iter().position(|x| x.item == e)?;
            Some((k + 1, r.entries.len()))
        });
        CostRow {
            edit: b.edit,
            label: match b.edit {
                Some(e) => format!(
                    "{}. {}",
                    e + 1,
                    edits
                        .get(e)
                        .map_or_else(|| b.summary.clone(), |se| se.edit.describe(lang))
                ),
                None => tr_args(
                    lang,
                    "cost-whole-scenario",
                    &[("name", name.into()), ("count", cb.edits.len().into())],
                ),
            },
            capital_eur: b.cost.capital_eur,
            operating_eur_per_year: b.cost.operating_eur_per_year,
            present_value_eur: b.cost.present_value_eur,
            index_delta: b.index.delta,
            gain: main.map_or_else(
                || tr(lang, "cost-no-gain"),
                |g| {
                    let (name, unit) = gain_text(g);
                    format!("{} {unit}: {name}", signed(g.amount))
                },
            ),
            cost_per_unit: main.and_then(|g| g.eur_per_unit.map(|e| (e, g))).map_or(
                "–".to_string(),
                |(e, g)| {
                    tr_args(
                        lang,
                        "cost-per-unit",
                        &[("eur", format_eur(e).into()), ("unit", gain_text(g).1.into())],
                    )
                },
            ),
            rank,
            all_gains: b
                .gains
                .iter()
                .map(|g| {
                    let (name, unit) = gain_text(g);
                    format!("{name} {} {unit}", signed(g.amount))
                })
                .collect(),
        }
    };
    cb.edits
        .iter()
        .map(row)
        .chain(std::iter::once(row(&cb.total)))
        .collect()
}

/// Euros in a short form: 1234 €, 12.3 k€, 4.56 M€.
pub fn format_eur(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.2} M€", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1} k€", v / 1e3)
    } else {
        format!("{v:.0} €")
    }
}

/// The scenario being edited: the core's [`EditStack`] on a copy of the baseline, the full
/// edit list (undone edits stay listed until a new edit replaces them), the metadata, the
/// file, and the latest comparison and cost-benefit table.
#[derive(Resource)]
pub struct ScenarioSession {
    stack: EditStack,
    edits: Vec<ScenarioEdit>,
    meta: ScenarioMeta,
    baseline: Arc<LoadedScene>,
    baseline_ctx: Arc<IndicatorContext>,
    baseline_eval: Evaluation,
    feeds: FeedInputs,
    comparison: Option<Comparison>,
    cost_benefit: Option<CostBenefit>,
    /// Bumped whenever the applied edits change.
    generation: u64,
    /// The generation the comparison and marks were made for.
    shown: Option<u64>,
    /// The generation and cost overrides the cost-benefit table was made for.
    costed: Option<CostKey>,
    pending: Option<Receiver<CostBenefit>>,
    scenario_set: Option<ScenarioSet>,
    pending_set: Option<Receiver<Result<ScenarioSet, String>>>,
    /// The scenario file, once loaded or saved.
    pub path: Option<PathBuf>,
    /// Changed since loaded or saved.
    pub dirty: bool,
    /// The last message for the status line.
    pub notice: Option<Notice>,
    /// Edits of the last loaded file that could not be applied.
    pub skipped: Vec<SkippedEdit>,
    /// Milliseconds the last recompute of the scenario's indicators took.
    pub recompute_ms: f64,
    /// The language of the notices (the app's, kept up to date by the command system).
    pub lang: Lang,
}

impl ScenarioSession {
    /// A session with no edits on a loaded scene and its baseline indicator context, at a
    /// fixed instant without feeds (so that baseline and scenario compare like for like).
    pub fn new(baseline: Arc<LoadedScene>, ctx: IndicatorContext, at: Timestamp) -> ScenarioSession {
        let costs = baseline.scene.costs.clone();
        let stack = EditStack::new(&baseline.city, &ctx, costs);
        let feeds = FeedInputs::none(at);
        let (_, baseline_eval) = stack.indicators(&feeds);
        ScenarioSession {
            stack,
            edits: Vec::new(),
            meta: new_meta(Lang::En),
            baseline,
            baseline_ctx: Arc::new(ctx),
            baseline_eval,
            feeds,
            comparison: None,
            cost_benefit: None,
            generation: 0,
            shown: None,
            costed: None,
            pending: None,
            scenario_set: None,
            pending_set: None,
            path: None,
            dirty: false,
            notice: None,
            skipped: Vec::new(),
            recompute_ms: 0.0,
            lang: Lang::En,
        }
    }

    /// Sets the language of the notices; a scenario still under its untitled name gets the
    /// untitled name of `lang`.
    pub fn set_lang(&mut self, lang: Lang) {
        if self.meta.name == new_meta(self.lang).name {
            self.meta.name = new_meta(lang).name;
        }
        self.lang = lang;
    }

    /// Name, author, date and description.
    pub fn meta(&self) -> &ScenarioMeta {
        &self.meta
    }

    /// Every edit of the list, applied or undone.
    pub fn edits(&self) -> &[ScenarioEdit] {
        &self.edits
    }

    /// How many edits (from the start of the list) are applied.
    pub fn applied(&self) -> usize {
        self.stack.applied().len()
    }

    /// The core's edit stack (the scenario city and its indicator context).
    pub fn stack(&self) -> &EditStack {
        &self.stack
    }

    /// The baseline's evaluation the scenario is compared with.
    pub fn baseline_eval(&self) -> &Evaluation {
        &self.baseline_eval
    }

    /// The cost table's capital and yearly cost of an applied edit (before any override).
    pub fn table_cost(&self, index: usize) -> Option<(f64, f64)> {
        let a = self.stack.applied().get(index)?;
        Some(self.stack.costs().cost_of(&a.quantities))
    }

    /// Baseline against scenario, once computed.
    pub fn comparison(&self) -> Option<&Comparison> {
        self.comparison.as_ref()
    }

    /// The cost-benefit table of the applied edits, once computed (it may lag an edit
    /// behind while the new one is worked out).
    pub fn cost_benefit(&self) -> Option<&CostBenefit> {
        self.cost_benefit.as_ref()
    }

    /// What the cost-benefit table depends on: the applied edits (by generation) and their
    /// cost overrides (notes do not matter).
    fn cost_key(&self) -> CostKey {
        (
            self.generation,
            self.edits[..self.applied()].iter().map(|e| e.cost).collect(),
        )
    }

    /// Whether the cost-benefit table is for the edits applied now.
    pub fn cost_benefit_current(&self) -> bool {
        self.pending.is_none() && self.costed.as_ref() == Some(&self.cost_key())
    }

    /// The applied edits as a scenario file.
    pub fn to_scenario(&self) -> Scenario {
        Scenario {
            name: self.meta.name.clone(),
            author: self.meta.author.clone(),
            date: self.meta.date.clone(),
            scene: scene_file_name(&self.baseline.path),
            description: self.meta.description.clone(),
            edits: self.edits[..self.applied()].to_vec(),
        }
    }

    fn say(&mut self, text: impl Into<String>, error: bool) {
        self.notice = Some(Notice {
            text: text.into(),
            error,
        });
    }

    fn changed(&mut self) {
        self.generation += 1;
        self.dirty = true;
    }

    /// Applies the next listed (undone) edit; false when there is none or it failed.
    fn redo_one(&mut self) -> bool {
        let k = self.applied();
        let Some(e) = self.edits.get(k).cloned() else {
            return false;
        };
        match self.stack.push(e) {
            Ok(_) => {
                self.changed();
                true
            }
            Err(err) => {
                let text = tr_args(
                    self.lang,
                    "sn-cannot-redo",
                    &[
                        ("edit", (k + 1).into()),
                        ("error", err.describe(self.lang).into()),
                    ],
                );
                self.say(text, true);
                false
            }
        }
    }

    fn undo_one(&mut self) -> bool {
        let done = self.stack.undo().is_some();
        if done {
            self.changed();
        }
        done
    }

    /// Carries out one command.
    pub fn run(&mut self, command: ScenarioCommand) {
        match command {
            ScenarioCommand::Push(e) => {
                let summary = e.edit.describe(self.lang);
                match self.stack.push(e.clone()) {
                    Ok(_) => {
                        let k = self.applied() - 1;
                        self.edits.truncate(k);
                        self.edits.push(e);
                        self.changed();
                        let text = tr_args(self.lang, "sn-applied", &[("edit", summary.into())]);
                        self.say(text, false);
                    }
                    Err(err) => {
                        let text = tr_args(
                            self.lang,
                            "sn-refused",
                            &[
                                ("edit", summary.into()),
                                ("error", err.describe(self.lang).into()),
                            ],
                        );
                        self.say(text, true);
                    }
                }
            }
            ScenarioCommand::Undo => {
                if self.undo_one() {
                    let text = tr_args(self.lang, "sn-undone", &[("edit", (self.applied() + 1).into())]);
                    self.say(text, false);
                }
            }
            ScenarioCommand::Redo => {
                if self.redo_one() {
                    let text = tr_args(self.lang, "sn-redone", &[("edit", self.applied().into())]);
                    self.say(text, false);
                }
            }
            ScenarioCommand::StepTo(n) => {
                let n = n.min(self.edits.len());
                while self.applied() > n && self.undo_one() {}
                while self.applied() < n && self.redo_one() {}
            }
            ScenarioCommand::New => {
                self.stack.clear();
                self.edits.clear();
                self.meta = new_meta(self.lang);
                self.path = None;
                self.skipped.clear();
                self.changed();
                self.dirty = false;
                self.say(tr(self.lang, "sn-new"), false);
            }
            ScenarioCommand::Load(path) => self.load(&path),
            ScenarioCommand::Save(path) => self.save(path),
            ScenarioCommand::SetCost { index, cost } => {
                if let Some(e) = self.edits.get_mut(index) {
                    e.cost = cost;
                    self.dirty = true;
                }
            }
            ScenarioCommand::SetNote { index, note } => {
                if let Some(e) = self.edits.get_mut(index) {
                    e.note = note;
                    self.dirty = true;
                }
            }
            ScenarioCommand::SetMeta(m) => {
                self.meta = m;
                self.dirty = true;
            }
            ScenarioCommand::CompareScenarios(paths) => self.compare_scenarios(paths),
        }
    }

    /// Starts comparing the current scenario with saved ones on a worker thread; the
    /// result lands in [`ScenarioSession::scenario_set`].
    fn compare_scenarios(&mut self, paths: Vec<PathBuf>) {
        let n = paths.len();
        let current = self.to_scenario();
        let scene_path = self.baseline.path.clone();
        let (baseline, ctx, at) = (
            self.baseline.clone(),
            self.baseline_ctx.clone(),
            self.feeds.window.at,
        );
        let current_name = tr_args(self.lang, "sc-current", &[("name", (&current.name).into())]);
        let (tx, rx) = crossbeam_channel::bounded(1);
        let spawned = std::thread::Builder::new()
            .name(SCENARIO_SET_THREAD.to_string())
            .spawn(move || {
                let mut scenarios = vec![Scenario {
                    name: current_name,
                    ..current
                }];
                let result = paths
                    .iter()
                    .map(|p| Scenario::load(p).and_then(|s| s.check_scene(&scene_path, p).map(|_| s)))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| e.to_string())
                    .map(|files| {
                        scenarios.extend(files);
                        scenario_set(&baseline, &ctx, &scenarios, at)
                    });
                // The receiver may be gone (the session was replaced): nothing to do.
                let _ = tx.send(result);
            });
        match spawned {
            Ok(_) => {
                self.pending_set = Some(rx);
                let text = tr_args(self.lang, "sn-comparing", &[("count", n.into())]);
                self.say(text, false);
            }
            Err(e) => {
                let text = tr_args(self.lang, "sn-worker-failed", &[("error", e.to_string().into())]);
                self.say(text, true);
            }
        }
    }

    /// Takes in a finished comparison of scenarios.
    fn poll_scenario_set(&mut self) -> bool {
        let Some(rx) = &self.pending_set else { return false };
        match rx.try_recv() {
            Ok(Ok(set)) => {
                self.scenario_set = Some(set);
                self.pending_set = None;
                self.say(tr(self.lang, "sn-compared"), false);
            }
            Ok(Err(e)) => {
                self.pending_set = None;
                self.say(e, true);
            }
            Err(TryRecvError::Empty) => return false,
            Err(TryRecvError::Disconnected) => {
                self.pending_set = None;
                self.say(tr(self.lang, "sn-comparison-stopped"), true);
            }
        }
        true
    }

    /// The last comparison of scenarios: each one's summary and the rankings.
    pub fn scenario_set(&self) -> Option<&ScenarioSet> {
        self.scenario_set.as_ref()
    }

    /// Whether scenarios are being compared.
    pub fn comparing_scenarios(&self) -> bool {
        self.pending_set.is_some()
    }

    /// Replaces the scenario with a file's; edits that no longer apply are skipped and
    /// reported.
    fn load(&mut self, path: &Path) {
        let s = match Scenario::load(path).and_then(|s| s.check_scene(&self.baseline.path, path).map(|_| s)) {
            Ok(s) => s,
            Err(e) => return self.say(e.to_string(), true),
        };
        self.stack.clear();
        self.skipped = self.stack.apply_scenario(&s);
        self.edits = self.stack.edits();
        self.meta = ScenarioMeta {
            name: s.name,
            author: s.author,
            date: s.date,
            description: s.description,
        };
        self.path = Some(path.to_path_buf());
        self.changed();
        self.dirty = false;
        let mut text = tr_args(
            self.lang,
            "sn-loaded",
            &[
                ("file", path.display().to_string().into()),
                ("count", self.edits.len().into()),
            ],
        );
        if !self.skipped.is_empty() {
            let reasons: Vec<String> = self.skipped.iter().map(|k| k.describe(self.lang)).collect();
            text += &tr_args(
                self.lang,
                "sn-loaded-skipped",
                &[
                    ("count", self.skipped.len().into()),
                    ("reasons", reasons.join("; ").into()),
                ],
            );
        }
        let error = !self.skipped.is_empty();
        self.say(text, error);
    }

    fn save(&mut self, path: PathBuf) {
        let s = self.to_scenario();
        let undone = self.edits.len() - s.edits.len();
        match s.save(&path) {
            Ok(()) => {
                let mut text = tr_args(
                    self.lang,
                    "sn-saved",
                    &[
                        ("file", path.display().to_string().into()),
                        ("count", s.edits.len().into()),
                    ],
                );
                if undone > 0 {
                    text += &tr_args(self.lang, "sn-saved-undone", &[("count", undone.into())]);
                }
                self.say(text, false);
                self.path = Some(path);
                self.dirty = false;
            }
            Err(e) => self.say(e.to_string(), true),
        }
    }

    /// Recomputes the scenario's indicators and the comparison when the applied edits
    /// changed; true when it did.
    pub fn refresh_comparison(&mut self) -> bool {
        if self.shown == Some(self.generation) {
            return false;
        }
        let t = Instant::now();
        let (_, eval) = self.stack.indicators(&self.feeds);
        let ctx = self.stack.ctx();
        self.comparison = Some(compare(
            &ctx.catalogue,
            &ctx.zone_names,
            &self.baseline_eval,
            &eval,
        ));
        self.recompute_ms = t.elapsed().as_secs_f64() * 1_000.0;
        self.shown = Some(self.generation);
        true
    }

    /// Starts working out the cost-benefit table on a thread when the applied edits or their
    /// costs changed, and takes in a finished one.
    pub fn refresh_cost_benefit(&mut self) {
        if let Some(rx) = &self.pending {
            match rx.try_recv() {
                Ok(cb) => {
                    self.cost_benefit = Some(cb);
                    self.pending = None;
                }
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    self.pending = None;
                    self.say(tr(self.lang, "sn-costs-stopped"), true);
                }
            }
        }
        let wanted = self.cost_key();
        if self.costed.as_ref() == Some(&wanted) {
            return;
        }
        let scenario = self.to_scenario();
        let (tx, rx) = crossbeam_channel::bounded(1);
        let (baseline, ctx, feeds) = (
            self.baseline.clone(),
            self.baseline_ctx.clone(),
            self.feeds.clone(),
        );
        let costs = self.stack.costs().clone();
        let spawned = std::thread::Builder::new()
            .name(COST_BENEFIT_THREAD.to_string())
            .spawn(move || {
                let run = run_scenario(&baseline.city, &ctx, &costs, &scenario, &feeds);
                // The receiver may be gone (a newer table was asked for): nothing to do.
                let _ = tx.send(cost_benefit(&run));
            });
        match spawned {
            Ok(_) => self.pending = Some(rx),
            Err(e) => {
                let text = tr_args(self.lang, "sn-worker-failed", &[("error", e.to_string().into())]);
                self.say(text, true);
            }
        }
        self.costed = Some(wanted);
    }

    /// What the city view draws for the applied edits.
    pub fn marks(&self) -> ScenarioMarks {
        marks_of(&self.baseline.city, &self.stack)
    }
}

/// The generation of the applied edits and their cost overrides.
type CostKey = (u64, Vec<CostOverride>);

/// Name of the thread that compares scenarios.
const SCENARIO_SET_THREAD: &str = "citytwin-scenario-set";

/// Several scenarios, each against the baseline: their summaries (in the order given) and
/// the rankings by cost per unit of each gain.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioSet {
    /// Each scenario's summary.
    pub summaries: Vec<ScenarioSummary>,
    /// Scenarios ranked by cost per unit of each gain (items index `summaries`).
    pub rankings: Vec<Ranking>,
}

/// Reports each scenario against the baseline and ranks them (the core's report, shared by
/// `citytwin scenario apply`).
pub fn scenario_set(
    loaded: &LoadedScene,
    ctx: &IndicatorContext,
    scenarios: &[Scenario],
    at: Timestamp,
) -> ScenarioSet {
    let summaries: Vec<ScenarioSummary> = scenarios
        .iter()
        .map(|s| report(loaded, ctx, s, at).summary())
        .collect();
    let rankings = rank(
        summaries
            .iter()
            .enumerate()
            .map(|(i, s)| (i, s.name.clone(), s.gains.as_slice())),
    );
    ScenarioSet { summaries, rankings }
}

/// Name of the thread that works out cost-benefit tables.
const COST_BENEFIT_THREAD: &str = "citytwin-cost-benefit";

/// The metadata of a new scenario, named in `lang`.
fn new_meta(lang: Lang) -> ScenarioMeta {
    ScenarioMeta {
        name: tr(lang, "sc-untitled"),
        ..Default::default()
    }
}

/// The file name of a scene path, as scenario files name their scene.
fn scene_file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Colour of a stop marker by mode.
fn stop_colour(kind: &str) -> Color {
    match kind {
        "bus_stop" => Color::srgb(0.2, 0.45, 0.95),
        "tram_stop" => Color::srgb(0.1, 0.7, 0.35),
        _ => Color::srgb(0.9, 0.4, 0.1),
    }
}

/// The marks of a stack's applied edits on the baseline city: demolished and greened
/// buildings removed, re-heighted ones rebuilt, changed uses and solar tinted; new and
/// rebuilt buildings, parks, stops, lines and marked roads as geometry.
pub fn marks_of(baseline: &CityModel, stack: &EditStack) -> ScenarioMarks {
    let city = stack.city();
    let n_base = baseline.buildings.len();
    let mut m = ScenarioMarks::default();
    let mut rebuilt: BTreeSet<BuildingId> = BTreeSet::new();
    let road_line = |id: RoadId| -> Vec<[f64; 2]> {
        city.roads
            .get(id.0 as usize)
            .map(|r| r.line.0.iter().map(|c| [c.x, c.y]).collect())
            .unwrap_or_default()
    };
    for a in stack.applied() {
        let t = &a.touched;
        let base_ids = t.buildings.iter().filter(|b| (b.0 as usize) < n_base);
        match &a.edit.edit {
            Edit::SetHeight { .. } | Edit::ZoneStoreys { .. } => {
                for id in base_ids {
                    m.mark(*id, BuildingMark::Rebuilt);
                    rebuilt.insert(*id);
                }
            }
            Edit::SetUse { .. } | Edit::ZoneUse { .. } => {
                base_ids.for_each(|id| m.mark(*id, BuildingMark::Changed))
            }
            Edit::Demolish { .. } | Edit::LotsToGreen { .. } => {
                base_ids.for_each(|id| m.mark(*id, BuildingMark::Removed))
            }
            Edit::RooftopSolar { .. } => base_ids.for_each(|id| m.mark(*id, BuildingMark::Solar)),
            Edit::TransitLine { stops, .. } => m.lines.push(stops.iter().map(|p| [p.0, p.1]).collect()),
            Edit::CloseToCars { .. } => {
                m.roads
                    .extend(t.roads.iter().map(|r| (road_line(*r), RoadMark::Closed)));
            }
            Edit::BikeLane { .. } => {
                m.roads
                    .extend(t.roads.iter().map(|r| (road_line(*r), RoadMark::BikeLane)));
            }
            Edit::SpeedLimit { .. } => {
                m.roads
                    .extend(t.roads.iter().map(|r| (road_line(*r), RoadMark::Speed)));
            }
            Edit::AddBuilding { .. } | Edit::AddPark { .. } | Edit::TransitStop { .. } => {}
        }
        for i in &t.areas {
            if let Some(area) = city.areas.get(*i) {
                m.parks.push(area.area.clone());
            }
        }
        for p in &t.pois {
            if let Some(poi) = city.pois.get(p.0 as usize) {
                m.stops.push(StopMark {
                    at: [poi.point.x(), poi.point.y()],
                    colour: stop_colour(&poi.kind),
                });
            }
        }
    }
    // A rebuilt building that was later demolished is not drawn anew.
    let removed: Vec<BuildingId> = m
        .buildings
        .iter()
        .filter(|(_, k)| **k == BuildingMark::Removed)
        .map(|(id, _)| *id)
        .collect();
    removed.iter().for_each(|id| {
        rebuilt.remove(id);
    });
    m.new_buildings = rebuilt
        .iter()
        .map(|id| id.0 as usize)
        .chain(n_base..city.buildings.len())
        .filter_map(|i| city.buildings.get(i))
        .filter(|b| !b.footprint.0.is_empty())
        .cloned()
        .collect();
    m
}

/// Starts the session when the scene is ready, on the dashboard's indicator context when
/// there is one (else a new one).
fn start_session(
    mut commands: Commands,
    loaded: Option<Res<LoadedCity>>,
    engine: Option<Res<IndicatorEngine>>,
) {
    let Some(loaded) = loaded else { return };
    let ctx = match engine {
        Some(e) => e.0.ctx.clone(),
        None => IndicatorContext::new(&loaded.0.city, &loaded.0.scene.indicators),
    };
    commands.insert_resource(ScenarioSession::new(loaded.0.clone(), ctx, Timestamp::now()));
}

/// Carries out the panel's (and the keys' and tools') commands.
fn run_commands(
    mut commands: MessageReader<ScenarioCommand>,
    mut session: ResMut<ScenarioSession>,
    lang: Option<Res<CurrentLang>>,
) {
    let lang = lang.map_or(Lang::En, |l| l.0);
    if session.lang != lang {
        session.set_lang(lang);
    }
    for c in commands.read() {
        session.run(c.clone());
    }
}

/// Recomputes the comparison after edits and keeps the cost-benefit table coming.
fn recompute(mut session: ResMut<ScenarioSession>) {
    let s = session.bypass_change_detection();
    let compared = s.refresh_comparison();
    let had = s.cost_benefit.is_some();
    let was_pending = s.pending.is_some();
    s.refresh_cost_benefit();
    let set = s.poll_scenario_set();
    if compared || set || had != s.cost_benefit.is_some() || was_pending != s.pending.is_some() {
        session.set_changed();
    }
}

/// Follows the applied edits into the view's marks.
fn update_marks(
    session: Res<ScenarioSession>,
    mut marks: ResMut<ScenarioMarks>,
    mut shown: Local<Option<u64>>,
) {
    if *shown == Some(session.generation) {
        return;
    }
    *marks = session.marks();
    *shown = Some(session.generation);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bevy::state::app::StatesPlugin;

    use super::*;
    use crate::app::city_view::{BuildingColours, CityViewPlugin};
    use crate::app::picking::PickingPlugin;
    use crate::app::scenario_view::{CompareView, ScenarioOverlay};
    use crate::twin::progress::Progress;

    /// Buildings of the synthetic test city.
    const SYNTH_BUILDINGS: usize = 300;
    /// Seed of the synthetic test city.
    const SYNTH_SEED: u64 = 7;
    /// Longest a test waits for the cost-benefit worker.
    const WORKER_TIMEOUT: Duration = Duration::from_secs(60);

    /// A headless app with the city view, picking and the scenario (no render, no UI) on
    /// a synthetic city, run until the session has compared the baseline with itself.
    fn scenario_app() -> App {
        let loaded = crate::twin::synth::load_synth(SYNTH_BUILDINGS, SYNTH_SEED, &Progress::default())
            .expect("synthetic city");
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, AssetPlugin::default(), StatesPlugin))
            .init_asset::<Mesh>()
            .init_asset::<StandardMaterial>();
        AppSystems::configure(&mut app)
            .add_plugins((CityViewPlugin, PickingPlugin, ScenarioPlugin))
            .insert_resource(LoadedCity(Arc::new(loaded)));
        app.world_mut()
            .resource_mut::<NextState<AppState>>()
            .set(AppState::Ready);
        app.update();
        app.update();
        assert!(app.world().resource::<ScenarioSession>().comparison().is_some());
        app
    }

    fn send(app: &mut App, c: ScenarioCommand) {
        app.world_mut().write_message(c);
        app.update();
    }

    fn session(app: &App) -> &ScenarioSession {
        app.world().resource::<ScenarioSession>()
    }

    fn colours(app: &App) -> Vec<[f32; 4]> {
        app.world().resource::<BuildingColours>().colours.clone()
    }

    fn overlay_count(app: &mut App) -> usize {
        let world = app.world_mut();
        world
            .query_filtered::<(), With<ScenarioOverlay>>()
            .iter(world)
            .count()
    }

    /// The first building of a use with a footprint.
    fn building_of_use(app: &App, usage: &str) -> BuildingId {
        let city = &app.world().resource::<LoadedCity>().0.city;
        let i = city
            .buildings
            .iter()
            .position(|b| b.usage == usage && b.footprint_area_m2() > 0.0)
            .unwrap_or_else(|| panic!("no {usage} building in the synthetic city"));
        BuildingId(i as u32)
    }

    /// Values of every indicator city-wide and per zone, baseline and scenario.
    fn values(app: &App) -> Vec<(Option<f64>, Option<f64>)> {
        let cmp = session(app).comparison().expect("compared");
        cmp.indicators
            .iter()
            .chain(cmp.zones.iter().flat_map(|z| z.indicators.iter()))
            .map(|i| (i.baseline, i.scenario))
            .collect()
    }

    #[test]
    fn demolishing_hides_the_building_changes_the_indicators_and_undo_restores_both() {
        let mut app = scenario_app();
        let before = colours(&app);
        let unchanged = values(&app);
        assert!(
            unchanged.iter().all(|(b, s)| b == s),
            "no edit yet: scenario = baseline"
        );
        let home = building_of_use(&app, "residential");
        let id = home.0 as usize;

        send(
            &mut app,
            ScenarioCommand::Push(ScenarioEdit::new(Edit::Demolish {
                buildings: vec![home],
            })),
        );
        assert_eq!(session(&app).applied(), 1);
        let after = colours(&app);
        assert_eq!(after[id][3], 0.0, "the demolished building is hidden");
        let others_same = after
            .iter()
            .zip(&before)
            .enumerate()
            .all(|(i, (a, b))| i == id || a == b);
        assert!(others_same, "only the demolished building changes colour");
        let cmp = session(&app).comparison().expect("compared");
        let floor = cmp
            .indicators
            .iter()
            .filter(|i| i.changed())
            .map(|i| i.id.clone())
            .collect::<Vec<_>>();
        assert!(!floor.is_empty(), "demolishing a home changes some indicator");
        assert!(values(&app) != unchanged);

        // B shows the baseline: the building is back while the edit stays applied.
        app.world_mut().resource_mut::<CompareView>().show_baseline = true;
        app.update();
        assert_eq!(colours(&app), before);
        app.world_mut().resource_mut::<CompareView>().show_baseline = false;
        app.update();
        assert_eq!(colours(&app)[id][3], 0.0);

        send(&mut app, ScenarioCommand::Undo);
        assert_eq!(session(&app).applied(), 0);
        assert_eq!(
            session(&app).edits().len(),
            1,
            "an undone edit stays listed for redo"
        );
        assert_eq!(colours(&app), before, "undo restores every colour");
        assert_eq!(values(&app), unchanged, "undo restores every indicator exactly");

        send(&mut app, ScenarioCommand::Redo);
        assert_eq!(colours(&app)[id][3], 0.0);
        send(&mut app, ScenarioCommand::StepTo(0));
        assert_eq!(colours(&app), before);
    }

    #[test]
    fn drawn_buildings_parks_and_stops_are_drawn_and_a_crossing_ring_is_refused() {
        let mut app = scenario_app();
        assert_eq!(overlay_count(&mut app), 0);
        let city = app.world().resource::<LoadedCity>().0.city.clone();
        let home = building_of_use(&app, "residential");
        let c = geo::Centroid::centroid(&city.buildings[home.0 as usize].footprint).expect("centroid");
        let (x, y) = (c.x() + 200.0, c.y() + 200.0);
        let square = vec![[x, y], [x + 20.0, y], [x + 20.0, y + 20.0], [x, y + 20.0]];

        // A footprint from the drawing tool becomes a new building, drawn in the overlay.
        app.world_mut().write_message(ToolOutput::Ring {
            tool: ActiveTool::Footprint,
            ring: square.clone(),
        });
        app.update();
        assert_eq!(session(&app).applied(), 1);
        let n = session(&app).stack().city().buildings.len();
        assert_eq!(n, city.buildings.len() + 1);
        assert_eq!(app.world().resource::<ScenarioMarks>().new_buildings.len(), 1);
        assert!(overlay_count(&mut app) >= 1, "the new building is drawn");

        // A park and a stop.
        app.world_mut().write_message(ToolOutput::Ring {
            tool: ActiveTool::Park,
            ring: square.iter().map(|p| [p[0] + 50.0, p[1]]).collect(),
        });
        app.world_mut().write_message(ToolOutput::Point([x - 30.0, y]));
        app.update();
        assert_eq!(session(&app).applied(), 3);
        let marks = app.world().resource::<ScenarioMarks>().clone();
        assert_eq!(marks.parks.len(), 1);
        assert_eq!(marks.stops.len(), 1);
        assert_eq!(overlay_count(&mut app), 3, "building tile, parks, stop");

        // A line through two new stops, and a road closed to cars, are marked.
        app.world_mut().write_message(ToolOutput::Line(vec![
            [x - 300.0, y - 300.0],
            [x - 300.0, y + 300.0],
        ]));
        app.update();
        send(
            &mut app,
            ScenarioCommand::Push(edit_for_roads(
                RoadAction::Close,
                &[RoadId(0)],
                &EditSettings::default(),
            )),
        );
        assert_eq!(session(&app).applied(), 5, "{:?}", session(&app).notice);
        let marks = app.world().resource::<ScenarioMarks>().clone();
        assert_eq!(marks.lines.len(), 1);
        let new_pois = session(&app).stack().city().pois.len() - city.pois.len();
        assert!(new_pois >= 2, "the placed stop and at least one of the line's");
        assert_eq!(marks.stops.len(), new_pois, "every new stop is drawn");
        assert_eq!(marks.roads.len(), 1);
        assert_eq!(marks.roads[0].1, RoadMark::Closed);
        send(&mut app, ScenarioCommand::StepTo(3));

        // A re-heighted building is hidden in the city and drawn anew.
        let colours_before = colours(&app);
        send(
            &mut app,
            ScenarioCommand::Push(ScenarioEdit::new(Edit::SetHeight {
                buildings: vec![home],
                height_m: 60.0,
            })),
        );
        assert_eq!(colours(&app)[home.0 as usize][3], 0.0);
        assert_ne!(colours_before[home.0 as usize][3], 0.0);
        assert_eq!(app.world().resource::<ScenarioMarks>().new_buildings.len(), 2);

        // A bow tie that slipped past the tool is refused by the core, with a message.
        app.world_mut().write_message(ToolOutput::Ring {
            tool: ActiveTool::Footprint,
            ring: vec![[x, y], [x + 10.0, y], [x, y + 10.0], [x + 10.0, y + 10.0]],
        });
        app.update();
        assert_eq!(session(&app).applied(), 4, "the refused edit is not applied");
        let notice = session(&app).notice.clone().expect("a message");
        assert!(notice.error && notice.text.contains("refused"), "{notice:?}");

        // The baseline view hides the whole overlay.
        app.world_mut().resource_mut::<CompareView>().show_baseline = true;
        app.update();
        assert_eq!(overlay_count(&mut app), 0);
    }

    #[test]
    fn saved_scenarios_reload_to_the_same_numbers_and_costs_come_from_the_worker() {
        let mut app = scenario_app();
        let home = building_of_use(&app, "residential");
        let zone = zone_of_building(&app.world().resource::<LoadedCity>().0.city, home).expect("zone");
        for edit in [
            Edit::RooftopSolar {
                target: SolarTarget::Zone(zone),
                share: 0.5,
            },
            Edit::SetUse {
                buildings: vec![home],
                usage: "office".to_string(),
            },
        ] {
            send(&mut app, ScenarioCommand::Push(ScenarioEdit::new(edit)));
        }
        send(
            &mut app,
            ScenarioCommand::SetCost {
                index: 1,
                cost: CostOverride {
                    capital_eur: Some(123_456.0),
                    operating_eur_per_year: None,
                },
            },
        );
        send(
            &mut app,
            ScenarioCommand::SetNote {
                index: 0,
                note: "every roof".to_string(),
            },
        );
        let numbers = values(&app);
        let solar_marked = app
            .world()
            .resource::<ScenarioMarks>()
            .buildings
            .values()
            .filter(|m| **m == BuildingMark::Solar)
            .count();
        assert!(solar_marked > 0, "the zone's buildings are marked for solar");

        // The cost-benefit table comes from the worker thread, with the override.
        let start = Instant::now();
        while !session(&app).cost_benefit_current() && start.elapsed() < WORKER_TIMEOUT {
            app.update();
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(session(&app).cost_benefit_current(), "cost-benefit in time");
        let cb = session(&app).cost_benefit().expect("table");
        assert_eq!(cb.edits.len(), 2);
        assert_eq!(cb.edits[1].cost.capital_eur, 123_456.0);
        let edits = session(&app).edits().to_vec();
        let rows = cost_rows(cb, Lang::En, &edits, "s");
        assert_eq!(rows.len(), 3, "two edits and the whole scenario");
        assert!(rows[0].gain.contains("Solar"), "{:?}", rows[0]);
        assert!(rows[2].label.starts_with("whole scenario"));
        // In Chinese: the edits, the gains, their units and the whole scenario.
        let zh = cost_rows(cb, Lang::ZhCn, &edits, "s");
        assert!(zh[0].gain.contains("太阳能发电"), "{:?}", zh[0]);
        assert!(zh[0].label.contains("屋顶安装太阳能板"), "{:?}", zh[0]);
        assert!(zh[2].label.starts_with("整个情景"), "{:?}", zh[2]);
        for r in &zh {
            assert!(!r.label.contains("solar") && !r.gain.contains("Solar"), "{r:?}");
        }

        let dir = std::env::temp_dir().join(format!("citytwin-scen-ui-{}", std::process::id()));
        let path = dir.join("roofs.ron");
        send(&mut app, ScenarioCommand::Save(path.clone()));
        assert!(!session(&app).dirty, "{:?}", session(&app).notice);
        send(&mut app, ScenarioCommand::New);
        assert_eq!(session(&app).applied(), 0);
        assert!(values(&app).iter().all(|(b, s)| b == s));
        send(&mut app, ScenarioCommand::Load(path.clone()));
        // The reloaded scenario against its own file: both summaries agree.
        send(&mut app, ScenarioCommand::CompareScenarios(vec![path.clone()]));
        let start = Instant::now();
        while session(&app).comparing_scenarios() && start.elapsed() < WORKER_TIMEOUT {
            app.update();
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = std::fs::remove_dir_all(&dir);
        let set = session(&app).scenario_set().expect("scenarios compared").clone();
        assert_eq!(set.summaries.len(), 2);
        assert!(set.summaries[0].name.ends_with("(current)"));
        assert_eq!(set.summaries[0].cost, set.summaries[1].cost);
        assert_eq!(set.summaries[0].index, set.summaries[1].index);
        assert!(!set.rankings.is_empty(), "solar yield at least is ranked");
        assert_eq!(session(&app).applied(), 2, "{:?}", session(&app).notice);
        assert_eq!(session(&app).edits()[0].note, "every roof");
        assert_eq!(session(&app).edits()[1].cost.capital_eur, Some(123_456.0));
        assert_eq!(
            values(&app),
            numbers,
            "a reloaded scenario gives the same numbers"
        );
    }

    #[test]
    fn tool_settings_make_the_edits() {
        let s = EditSettings {
            zone: Some(ZoneId(2)),
            ..Default::default()
        };
        let ring = vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]];
        let e = edit_for_tool(
            &ToolOutput::Ring {
                tool: ActiveTool::Footprint,
                ring: ring.clone(),
            },
            &s,
        )
        .expect("edit");
        assert_eq!(
            e.edit,
            Edit::AddBuilding {
                footprint: vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)],
                height_m: DEFAULT_HEIGHT_M,
                usage: DEFAULT_USAGE.to_string(),
                name: None
            }
        );
        assert!(matches!(
            edit_for_tool(
                &ToolOutput::Ring {
                    tool: ActiveTool::Park,
                    ring
                },
                &s
            )
            .map(|e| e.edit),
            Some(Edit::AddPark { .. })
        ));
        assert_eq!(edit_for_tool(&ToolOutput::Road(RoadId(1)), &s), None);
        assert_eq!(edit_for_selection(BuildingAction::Demolish, &[], &s), None);
        assert!(matches!(
            edit_for_zone(ZoneAction::Solar, &s).map(|e| e.edit),
            Ok(Edit::RooftopSolar {
                target: SolarTarget::Zone(ZoneId(2)),
                ..
            })
        ));
        let no_zone = EditSettings::default();
        assert!(edit_for_zone(ZoneAction::Storeys, &no_zone).is_err());
        let same = EditSettings {
            zone_from: "office".into(),
            zone_to: "office".into(),
            ..s.clone()
        };
        assert!(edit_for_zone(ZoneAction::Use, &same).is_err());
        assert_eq!(
            edit_for_roads(RoadAction::Speed, &[RoadId(4)], &s).edit,
            Edit::SpeedLimit {
                roads: vec![RoadId(4)],
                kmh: DEFAULT_SPEED_KMH
            }
        );
    }
}
