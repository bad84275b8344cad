//! The scenario panel: the scenario's file, name, author and date; the edit list with each
//! edit's costs (editable) and note, undo / redo and stepping through the edits; the edit
//! tools (selected buildings, a zone, drawing on the map, transit, roads, solar); the
//! baseline-vs-scenario comparison of every indicator; and the cost-benefit table. The
//! panel only sends [`ScenarioCommand`]s: the scenario plugin does the work.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use crate::app::i18n::lang_of;
use crate::app::loading::{LoadedCity, ScenePath};
use crate::app::scenario::{
    BuildingAction, CompareScope, EditSettings, RoadAction, ScenarioCommand, ScenarioSession, ZoneAction,
    cost_rows, edit_for_roads, edit_for_selection, edit_for_zone, format_eur, zone_of_building,
};
use crate::app::scenario_draw::{ActiveTool, Drawing, PickedRoads};
use crate::app::scenario_view::{BuildingSelection, CompareView};
use crate::app::ui::UiCovered;
use crate::app::ui::dashboard::status_colour;
use crate::app::ui::layout::{PartKind, Prefs, UiLayout, placed};
use crate::app::{AppState, AppSystems};
use crate::twin::city::{CityModel, ZoneId};
use crate::twin::i18n::{self, Lang, tr, tr_args};
use crate::twin::indicators::Dimension;
use crate::twin::scenario::benefit::{gain_name, gain_unit};
use crate::twin::scenario::compare::{DimensionDelta, IndicatorDelta, ScoreDelta};
use crate::twin::scenario::model::{list_scenarios, scenarios_dir};
use crate::twin::scenario::{Comparison, TransitMode};

/// egui id of the panel, and its key in [`UiCovered`].
const PANEL_ID: &str = "scenario_panel";
/// Starting width of the panel, logical pixels.
const PANEL_WIDTH: f32 = 460.0;
/// Where the panel first opens, logical pixels from the window's top-left corner.
/// The window's name in the layout's window stack.
const PANEL_NAME: &str = "scenario";
/// Tallest a table grows before it scrolls, logical pixels.
const TABLE_MAX_HEIGHT: f32 = 360.0;
/// Colour of error messages.
const ERROR_COLOUR: egui::Color32 = egui::Color32::from_rgb(235, 80, 70);
/// Colour of improvements in the comparison.
const BETTER_COLOUR: egui::Color32 = egui::Color32::from_rgb(90, 200, 110);
/// Colour of worsenings in the comparison.
const WORSE_COLOUR: egui::Color32 = egui::Color32::from_rgb(235, 120, 80);
/// Buildings named in the selection line at most.
const SELECTION_NAMED: usize = 4;

/// The scenario panel.
pub struct ScenarioPanelPlugin;

impl Plugin for ScenarioPanelPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<PanelState>().add_systems(
            EguiPrimaryContextPass,
            scenario_panel.in_set(AppSystems::UiWindows).run_if(
                in_state(AppState::Ready)
                    .and_then(resource_exists::<LoadedCity>)
                    .and_then(resource_exists::<ScenarioSession>),
            ),
        );
    }
}

/// The panel's tabs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Tab {
    /// File, metadata and edit list.
    #[default]
    Scenario,
    /// The edit tools.
    Edit,
    /// Baseline vs scenario.
    Compare,
    /// Cost-benefit.
    Costs,
}

/// What the panel remembers between frames.
#[derive(Resource, Debug, Default)]
struct PanelState {
    tab: Tab,
    /// File name typed for "save as" (without folder).
    save_as: String,
    /// Whether only indicators that changed are listed.
    changed_only: bool,
    /// Only indicators of this dimension are listed (`None`: all).
    dimension: Option<Dimension>,
    /// Saved scenario files ticked for comparison with the current one.
    compare_files: std::collections::BTreeSet<std::path::PathBuf>,
}

/// Everything the panel reads and writes.
#[derive(bevy::ecs::system::SystemParam)]
struct PanelParams<'w> {
    loaded: Res<'w, LoadedCity>,
    scene_path: Res<'w, ScenePath>,
    session: Res<'w, ScenarioSession>,
    settings: ResMut<'w, EditSettings>,
    tool: ResMut<'w, ActiveTool>,
    drawing: ResMut<'w, Drawing>,
    picked_roads: Res<'w, PickedRoads>,
    selection: Res<'w, BuildingSelection>,
    view: ResMut<'w, CompareView>,
    scope: ResMut<'w, CompareScope>,
    state: ResMut<'w, PanelState>,
    covered: ResMut<'w, UiCovered>,
    layout: ResMut<'w, UiLayout>,
    prefs: Option<Res<'w, Prefs>>,
}

/// Draws the panel and sends what it asks for.
fn scenario_panel(
    mut contexts: EguiContexts,
    mut p: PanelParams,
    mut commands: MessageWriter<ScenarioCommand>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let mut sent: Vec<ScenarioCommand> = Vec::new();
    let lang = lang_of(ctx);
    let title = tr_args(
        lang,
        "sc-window-title",
        &[
            ("name", (&p.session.meta().name).into()),
            ("dirty", if p.session.dirty { " *" } else { "" }.into()),
        ],
    );
    let open = p
        .prefs
        .as_ref()
        .is_some_and(|x| x.prefs.is_open(PANEL_NAME, false));
    let place = p.layout.window_place(PANEL_NAME, open);
    let response = placed(egui::Window::new(title), Some(place))
        .default_width(PANEL_WIDTH)
        .resizable(true)
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                for (tab, label) in [
                    (Tab::Scenario, tr(lang, "sc-tab-scenario")),
                    (Tab::Edit, tr(lang, "sc-tab-edit")),
                    (Tab::Compare, tr(lang, "sc-compare")),
                    (Tab::Costs, tr(lang, "sc-tab-costs")),
                ] {
                    ui.selectable_value(&mut p.state.tab, tab, label);
                }
                ui.separator();
                let label = if p.view.show_baseline {
                    tr(lang, "sc-showing-baseline")
                } else {
                    tr(lang, "sc-showing-scenario")
                };
                if ui.button(label).clicked() {
                    p.view.show_baseline = !p.view.show_baseline;
                }
            });
            ui.separator();
            status_lines(ui, &p);
            match p.state.tab {
                Tab::Scenario => scenario_tab(ui, &mut p, &mut sent),
                Tab::Edit => edit_tab(ui, &mut p, &mut sent),
                Tab::Compare => compare_tab(ui, &mut p),
                Tab::Costs => {
                    costs_tab(ui, &p);
                    ui.separator();
                    scenarios_section(ui, &mut p, &mut sent);
                }
            }
        });
    let rect = response.map(|r| r.response.rect);
    if let Some(r) = rect {
        p.layout.record(PANEL_NAME, PartKind::Window, r);
    }
    p.covered.set(PANEL_ID, rect);
    commands.write_batch(sent);
    Ok(())
}

/// The session's last message and the drawing's refusal, if any.
fn status_lines(ui: &mut egui::Ui, p: &PanelParams) {
    if let Some(n) = &p.session.notice {
        let text = egui::RichText::new(&n.text);
        ui.label(if n.error { text.color(ERROR_COLOUR) } else { text });
    }
    if let Some(m) = &p.drawing.message {
        ui.label(egui::RichText::new(m).color(ERROR_COLOUR).strong());
    }
}

/// File, metadata, undo / redo and the edit list.
fn scenario_tab(ui: &mut egui::Ui, p: &mut PanelParams, sent: &mut Vec<ScenarioCommand>) {
    let lang = lang_of(ui.ctx());
    let scene = &p.scene_path.0;
    ui.horizontal(|ui| {
        if ui.button(tr(lang, "sc-new")).clicked() {
            sent.push(ScenarioCommand::New);
        }
        egui::ComboBox::from_id_salt("scenario_files")
            .selected_text(tr(lang, "sc-load"))
            .show_ui(ui, |ui| {
                let files = list_scenarios(scene);
                if files.is_empty() {
                    ui.weak(tr_args(
                        lang,
                        "sc-no-scenarios-in",
                        &[("dir", scenarios_dir(scene).display().to_string().into())],
                    ));
                }
                for f in files {
                    let name = f
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if ui.selectable_label(false, name).clicked() {
                        sent.push(ScenarioCommand::Load(f));
                    }
                }
            });
        let can_save = p.session.path.is_some();
        if ui
            .add_enabled(can_save, egui::Button::new(tr(lang, "sc-save")))
            .on_disabled_hover_text(tr(lang, "sc-not-saved"))
            .clicked()
            && let Some(path) = &p.session.path
        {
            sent.push(ScenarioCommand::Save(path.clone()));
        }
    });
    ui.horizontal(|ui| {
        ui.label(tr(lang, "sc-save-as"));
        ui.add(
            egui::TextEdit::singleline(&mut p.state.save_as)
                .desired_width(160.0)
                .hint_text("name.ron"),
        );
        let name = p.state.save_as.trim();
        if ui
            .add_enabled(!name.is_empty(), egui::Button::new(tr(lang, "sc-save")))
            .clicked()
        {
            let file = if name.ends_with(".ron") {
                name.to_string()
            } else {
                format!("{name}.ron")
            };
            sent.push(ScenarioCommand::Save(scenarios_dir(scene).join(file)));
        }
    });
    if let Some(path) = &p.session.path {
        ui.weak(path.display().to_string());
    }
    if !p.session.skipped.is_empty() {
        ui.colored_label(
            ERROR_COLOUR,
            tr_args(
                lang,
                "sc-file-skipped",
                &[("count", p.session.skipped.len().into())],
            ),
        );
        for k in &p.session.skipped {
            ui.label(k.describe(lang));
        }
    }
    ui.separator();

    let mut meta = p.session.meta().clone();
    let before = meta.clone();
    egui::Grid::new("scenario_meta").num_columns(2).show(ui, |ui| {
        ui.label(tr(lang, "sc-meta-name"));
        ui.text_edit_singleline(&mut meta.name);
        ui.end_row();
        ui.label(tr(lang, "sc-meta-author"));
        ui.text_edit_singleline(&mut meta.author);
        ui.end_row();
        ui.label(tr(lang, "sc-meta-date"));
        ui.add(egui::TextEdit::singleline(&mut meta.date).hint_text("YYYY-MM-DD"));
        ui.end_row();
        ui.label(tr(lang, "sc-meta-about"));
        ui.text_edit_multiline(&mut meta.description);
        ui.end_row();
    });
    if meta != before {
        sent.push(ScenarioCommand::SetMeta(meta));
    }
    ui.separator();

    let applied = p.session.applied();
    let total = p.session.edits().len();
    ui.horizontal(|ui| {
        if ui
            .add_enabled(applied > 0, egui::Button::new(tr(lang, "sc-undo")))
            .on_hover_text("Ctrl+Z")
            .clicked()
        {
            sent.push(ScenarioCommand::Undo);
        }
        if ui
            .add_enabled(applied < total, egui::Button::new(tr(lang, "sc-redo")))
            .on_hover_text("Ctrl+Y")
            .clicked()
        {
            sent.push(ScenarioCommand::Redo);
        }
        ui.label(tr_args(
            lang,
            "scenario-applied",
            &[("applied", applied.into()), ("edits", total.into())],
        ));
    });
    if total > 0 {
        let mut step = applied;
        if ui
            .add(egui::Slider::new(&mut step, 0..=total).text(tr(lang, "sc-step")))
            .changed()
        {
            sent.push(ScenarioCommand::StepTo(step));
        }
    }
    egui::ScrollArea::vertical()
        .id_salt("scenario_edit_list")
        .max_height(TABLE_MAX_HEIGHT)
        .show(ui, |ui| {
            for (i, se) in p.session.edits().iter().enumerate() {
                let on = i < applied;
                ui.separator();
                ui.horizontal(|ui| {
                    let head = egui::RichText::new(format!("{}. {}", i + 1, se.edit.describe(lang)));
                    if ui
                        .selectable_label(on, if on { head.strong() } else { head.weak() })
                        .on_hover_text(tr(lang, "sc-step-here"))
                        .clicked()
                    {
                        sent.push(ScenarioCommand::StepTo(i + 1));
                    }
                });
                let table = p.session.table_cost(i);
                let mut cost = se.cost;
                ui.horizontal(|ui| {
                    cost_field(
                        ui,
                        &tr(lang, "sc-capital-eur"),
                        &mut cost.capital_eur,
                        table.map(|c| c.0),
                    );
                    cost_field(
                        ui,
                        &tr(lang, "sc-col-per-year"),
                        &mut cost.operating_eur_per_year,
                        table.map(|c| c.1),
                    );
                });
                if cost != se.cost {
                    sent.push(ScenarioCommand::SetCost { index: i, cost });
                }
                let mut note = se.note.clone();
                if ui
                    .add(
                        egui::TextEdit::singleline(&mut note)
                            .hint_text(tr(lang, "sc-note"))
                            .desired_width(f32::INFINITY),
                    )
                    .changed()
                {
                    sent.push(ScenarioCommand::SetNote { index: i, note });
                }
            }
        });
}

/// One cost: the override when set (editable, with a reset button), else the table's
/// figure with a button to override it.
fn cost_field(ui: &mut egui::Ui, label: &str, value: &mut Option<f64>, table: Option<f64>) {
    let lang = lang_of(ui.ctx());
    ui.label(label);
    match value {
        Some(v) => {
            ui.add(
                egui::DragValue::new(v)
                    .speed(1_000.0)
                    .range(0.0..=f64::MAX)
                    .max_decimals(0),
            );
            if ui
                .small_button(tr(lang, "sc-table"))
                .on_hover_text(tr(lang, "sc-table-hover"))
                .clicked()
            {
                *value = None;
            }
        }
        None => {
            let shown = table.map_or("–".to_string(), format_eur);
            if ui.button(shown).on_hover_text(tr(lang, "sc-override")).clicked() {
                *value = Some(table.unwrap_or(0.0));
            }
        }
    }
}

/// A zone's name for lists.
fn zone_label(lang: Lang, city: &CityModel, z: ZoneId) -> String {
    city.zones.get(z.0 as usize).map_or_else(
        || tr_args(lang, "feature-zone-id", &[("id", z.0.to_string().into())]),
        |zone| format!("{} ({})", zone.name, z.0),
    )
}

/// The tools: selected buildings, zone, drawing, transit, roads.
fn edit_tab(ui: &mut egui::Ui, p: &mut PanelParams, sent: &mut Vec<ScenarioCommand>) {
    let lang = lang_of(ui.ctx());
    let city = &p.loaded.0.city;
    let s = &mut *p.settings;

    ui.strong(tr(lang, "sc-map-tools"));
    ui.horizontal_wrapped(|ui| {
        for (tool, label) in [
            (ActiveTool::Select, tr(lang, "sc-tool-select")),
            (ActiveTool::Footprint, tr(lang, "sc-tool-building")),
            (ActiveTool::Park, tr(lang, "sc-tool-park")),
            (ActiveTool::Stop, tr(lang, "sc-tool-stop")),
            (ActiveTool::Line, tr(lang, "sc-tool-line")),
            (ActiveTool::Road, tr(lang, "sc-tool-road")),
        ] {
            if ui.selectable_value(&mut *p.tool, tool, label).changed() {
                p.drawing.clear();
                p.drawing.message = None;
            }
        }
    });
    ui.weak(p.tool.hint(lang));
    match *p.tool {
        ActiveTool::Footprint => {
            ui.horizontal(|ui| {
                ui.label(tr(lang, "sc-new-height"));
                ui.add(
                    egui::DragValue::new(&mut s.new_height_m)
                        .range(1.0..=500.0)
                        .suffix(" m"),
                );
                ui.label(tr(lang, "sc-use"));
                ui.add(egui::TextEdit::singleline(&mut s.new_usage).desired_width(110.0));
            });
            ui.label(tr_args(
                lang,
                "sc-corners",
                &[("count", p.drawing.vertices.len().into())],
            ));
        }
        ActiveTool::Park => {
            ui.label(tr_args(
                lang,
                "sc-corners",
                &[("count", p.drawing.vertices.len().into())],
            ));
        }
        ActiveTool::Stop | ActiveTool::Line => {
            if *p.tool == ActiveTool::Line {
                ui.label(tr_args(
                    lang,
                    "sc-stops",
                    &[("count", p.drawing.vertices.len().into())],
                ));
            }
            ui.horizontal(|ui| {
                ui.label(tr(lang, "sc-mode"));
                for m in TransitMode::ALL {
                    ui.selectable_value(&mut s.stop_mode, m, m.name_in(lang));
                }
            });
        }
        _ => {}
    }
    ui.separator();

    // Selected buildings.
    let sel: Vec<_> = p.selection.0.iter().copied().collect();
    ui.strong(tr_args(lang, "sc-selected", &[("count", sel.len().into())]));
    if sel.is_empty() {
        ui.weak(tr(lang, "sc-click-building"));
    } else {
        let named: Vec<String> = sel
            .iter()
            .take(SELECTION_NAMED)
            .filter_map(|id| {
                city.building(*id)
                    .map(|b| crate::app::ui::inspector::short_label(*id, b))
            })
            .collect();
        let more = sel.len().saturating_sub(SELECTION_NAMED);
        ui.weak(format!(
            "{}{}",
            named.join(", "),
            if more > 0 {
                format!(" {}", tr_args(lang, "sc-and-more", &[("count", more.into())]))
            } else {
                String::new()
            }
        ));
    }
    ui.add_enabled_ui(!sel.is_empty(), |ui| {
        let mut action = None;
        ui.horizontal(|ui| {
            ui.add(
                egui::DragValue::new(&mut s.height_m)
                    .range(1.0..=500.0)
                    .suffix(" m"),
            );
            if ui.button(tr(lang, "sc-set-height")).clicked() {
                action = Some(BuildingAction::SetHeight);
            }
        });
        ui.horizontal(|ui| {
            ui.add(egui::TextEdit::singleline(&mut s.usage).desired_width(110.0));
            if ui.button(tr(lang, "sc-set-use")).clicked() {
                action = Some(BuildingAction::SetUse);
            }
        });
        ui.horizontal(|ui| {
            if ui.button(tr(lang, "sc-demolish")).clicked() {
                action = Some(BuildingAction::Demolish);
            }
            if ui.button(tr(lang, "sc-lot-green")).clicked() {
                action = Some(BuildingAction::LotsToGreen);
            }
        });
        ui.horizontal(|ui| {
            ui.add(egui::Slider::new(&mut s.solar_share, 0.05..=1.0).text(tr(lang, "sc-of-roof")));
            if ui.button(tr(lang, "sc-rooftop-solar")).clicked() {
                action = Some(BuildingAction::Solar);
            }
        });
        if let Some(a) = action
            && let Some(edit) = edit_for_selection(a, &sel, s)
        {
            sent.push(ScenarioCommand::Push(edit));
        }
    });
    ui.separator();

    // A zone.
    ui.strong(tr(lang, "sc-zone"));
    ui.horizontal(|ui| {
        let shown = s
            .zone
            .map_or(tr(lang, "sc-choose"), |z| zone_label(lang, city, z));
        egui::ComboBox::from_id_salt("scenario_zone")
            .selected_text(shown)
            .width(220.0)
            .show_ui(ui, |ui| {
                for i in 0..city.zones.len() {
                    let z = ZoneId(i as u32);
                    ui.selectable_value(&mut s.zone, Some(z), zone_label(lang, city, z));
                }
            });
        if let Some(z) = sel.first().and_then(|b| zone_of_building(city, *b))
            && ui.button(tr(lang, "sc-zone-of-selection")).clicked()
        {
            s.zone = Some(z);
        }
    });
    if s.zone.is_some() {
        let mut action = None;
        ui.horizontal(|ui| {
            ui.add(
                egui::DragValue::new(&mut s.storeys)
                    .range(-20..=20)
                    .prefix(format!("{} ", tr(lang, "sc-storeys"))),
            );
            ui.label(tr(lang, "sc-of-use"));
            ui.add(
                egui::TextEdit::singleline(&mut s.zone_usage)
                    .desired_width(90.0)
                    .hint_text(tr(lang, "sc-all")),
            );
            if ui.button(tr(lang, "sc-apply")).clicked() {
                action = Some(ZoneAction::Storeys);
            }
        });
        ui.horizontal(|ui| {
            ui.label(tr(lang, "sc-use"));
            ui.add(egui::TextEdit::singleline(&mut s.zone_from).desired_width(90.0));
            ui.label("→");
            ui.add(egui::TextEdit::singleline(&mut s.zone_to).desired_width(90.0));
            if ui.button(tr(lang, "sc-change")).clicked() {
                action = Some(ZoneAction::Use);
            }
        });
        ui.horizontal(|ui| {
            ui.add(egui::Slider::new(&mut s.solar_share, 0.05..=1.0).text(tr(lang, "sc-of-roof")));
            if ui.button(tr(lang, "sc-solar-programme")).clicked() {
                action = Some(ZoneAction::Solar);
            }
        });
        if let Some(a) = action {
            match edit_for_zone(a, s) {
                Ok(edit) => sent.push(ScenarioCommand::Push(edit)),
                Err(e) => p.drawing.message = Some(e.describe(lang)),
            }
        }
    }
    ui.separator();

    // The picked roads.
    let roads = &p.picked_roads.0;
    ui.strong(tr_args(lang, "sc-roads-picked", &[("count", roads.len().into())]));
    if roads.is_empty() {
        ui.weak(tr(lang, "sc-pick-roads"));
        return;
    }
    for id in roads.iter().take(SELECTION_NAMED) {
        if let Some(road) = city.roads.get(id.0 as usize) {
            ui.weak(format!(
                "{} · {} · {}",
                road.name.clone().unwrap_or_else(|| tr_args(
                    lang,
                    "sc-road-id",
                    &[("id", id.0.to_string().into())]
                )),
                road.class,
                road.maxspeed_kmh
                    .map_or(tr(lang, "sc-no-limit"), |v| format!("{v:.0} km/h"))
            ));
        }
    }
    if roads.len() > SELECTION_NAMED {
        ui.weak(tr_args(
            lang,
            "sc-and-more",
            &[("count", (roads.len() - SELECTION_NAMED).into())],
        ));
    }
    let mut action = None;
    ui.horizontal(|ui| {
        if ui.button(tr(lang, "sc-close-cars")).clicked() {
            action = Some(RoadAction::Close);
        }
        if ui.button(tr(lang, "sc-bike-lane")).clicked() {
            action = Some(RoadAction::BikeLane);
        }
        ui.add(
            egui::DragValue::new(&mut s.speed_kmh)
                .range(5.0..=120.0)
                .suffix(" km/h"),
        );
        if ui.button(tr(lang, "sc-speed-limit")).clicked() {
            action = Some(RoadAction::Speed);
        }
    });
    if let Some(a) = action {
        sent.push(ScenarioCommand::Push(edit_for_roads(a, roads, s)));
    }
}

/// Baseline vs scenario: dimension scores and every indicator, city-wide or for a zone.
fn compare_tab(ui: &mut egui::Ui, p: &mut PanelParams) {
    let lang = lang_of(ui.ctx());
    let city = &p.loaded.0.city;
    let Some(cmp) = p.session.comparison() else {
        ui.label(tr(lang, "sc-computing"));
        return;
    };
    ui.horizontal(|ui| {
        ui.label(tr(lang, "sc-scope"));
        let shown = match p.scope.zone {
            None => tr(lang, "cli-report-alert-city-wide"),
            Some(z) => zone_label(lang, city, z),
        };
        egui::ComboBox::from_id_salt("compare_scope")
            .selected_text(shown)
            .width(220.0)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut p.scope.zone, None, tr(lang, "cli-report-alert-city-wide"));
                for i in 0..city.zones.len() {
                    let z = ZoneId(i as u32);
                    ui.selectable_value(&mut p.scope.zone, Some(z), zone_label(lang, city, z));
                }
            });
        ui.checkbox(&mut p.state.changed_only, tr(lang, "sc-changed-only"));
    });
    ui.horizontal(|ui| {
        ui.label(tr(lang, "sc-dimension"));
        ui.selectable_value(&mut p.state.dimension, None, tr(lang, "sc-all"));
        for d in Dimension::ALL {
            ui.selectable_value(&mut p.state.dimension, Some(d), i18n::dimension_name(lang, d));
        }
    });
    ui.weak(tr_args(
        lang,
        "sc-recomputed",
        &[
            ("count", p.session.applied().into()),
            ("ms", i18n::format_number(lang, p.session.recompute_ms, 1).into()),
        ],
    ));
    let Some((index, dimensions, indicators)) = scope_of(cmp, p.scope.zone) else {
        ui.label(tr(lang, "sc-no-zone"));
        return;
    };
    ui.strong(tr(lang, "sc-dimensions"));
    egui::Grid::new("compare_dimensions")
        .striped(true)
        .num_columns(4)
        .show(ui, |ui| {
            for h in [
                tr(lang, "sc-dimension"),
                tr(lang, "scenario-col-baseline"),
                tr(lang, "scenario-col-scenario"),
                "Δ".to_string(),
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for d in dimensions {
                ui.label(i18n::dimension_name(lang, d.dimension));
                score_cells(ui, &d.score);
                ui.end_row();
            }
            ui.strong(tr(lang, "sc-index"));
            score_cells(ui, index);
            ui.end_row();
        });
    ui.separator();
    ui.strong(tr(lang, "sc-indicators"));
    egui::ScrollArea::vertical()
        .id_salt("compare_indicators")
        .max_height(TABLE_MAX_HEIGHT)
        .show(ui, |ui| {
            egui::Grid::new("compare_table")
                .striped(true)
                .num_columns(6)
                .show(ui, |ui| {
                    for h in [
                        tr(lang, "scenario-col-indicator"),
                        tr(lang, "scenario-col-baseline"),
                        tr(lang, "scenario-col-scenario"),
                        "Δ".to_string(),
                        tr(lang, "sc-delta-target"),
                        tr(lang, "scenario-col-status"),
                    ] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for r in indicators {
                        if (p.state.changed_only && !r.changed())
                            || p.state.dimension.is_some_and(|d| d != r.dimension)
                        {
                            continue;
                        }
                        ui.label(i18n::indicator_name(lang, &r.id, &r.name))
                            .on_hover_text(format!(
                                "{} · {} · {} {} {}",
                                r.id,
                                i18n::dimension_name(lang, r.dimension),
                                tr(lang, "dash-col-target"),
                                r.target,
                                i18n::unit(lang, &r.unit)
                            ));
                        ui.label(fmt_opt(r.baseline, 2));
                        ui.label(fmt_opt(r.scenario, 2));
                        delta_label(ui, r.delta, r.better, 2);
                        ui.label(
                            r.delta_pct_of_target
                                .map_or("–".to_string(), |v| format!("{v:+.1} %")),
                        );
                        ui.horizontal(|ui| {
                            ui.colored_label(
                                status_colour(r.baseline_status),
                                i18n::status_name(lang, r.baseline_status),
                            );
                            if r.baseline_status != r.scenario_status {
                                ui.label("→");
                                ui.colored_label(
                                    status_colour(r.scenario_status),
                                    i18n::status_name(lang, r.scenario_status),
                                );
                            }
                        });
                        ui.end_row();
                    }
                });
        });
}

/// The index, dimension scores and indicators of a scope: the city, or one zone.
fn scope_of(
    cmp: &Comparison,
    zone: Option<ZoneId>,
) -> Option<(&ScoreDelta, &[DimensionDelta], &[IndicatorDelta])> {
    match zone {
        None => Some((&cmp.index, &cmp.dimensions, &cmp.indicators)),
        Some(z) => cmp
            .zones
            .iter()
            .find(|c| c.zone_id == z.0)
            .map(|c| (&c.index, c.dimensions.as_slice(), c.indicators.as_slice())),
    }
}

/// Baseline, scenario and change of a score.
fn score_cells(ui: &mut egui::Ui, s: &ScoreDelta) {
    ui.label(fmt_opt(s.baseline, 1));
    ui.label(fmt_opt(s.scenario, 1));
    delta_label(ui, s.delta, s.delta.filter(|d| *d != 0.0).map(|d| d > 0.0), 1);
}

/// One line of a ranking: "1. Bike lane — +0.4 km per 100k, €12,000 per km per 100k".
fn rank_line(lang: Lang, k: usize, label: &str, amount: f64, unit: &str, eur: f64) -> String {
    tr_args(
        lang,
        "sc-rank-line",
        &[
            ("k", (k + 1).into()),
            ("label", label.into()),
            ("amount", format!("{amount:+.1}").into()),
            ("unit", unit.into()),
            ("eur", format_eur(eur).into()),
        ],
    )
}

/// A value with `decimals`, or a dash.
fn fmt_opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or("–".to_string(), |v| format!("{v:.decimals$}"))
}

/// A signed change, green when it is an improvement, orange when a worsening.
fn delta_label(ui: &mut egui::Ui, d: Option<f64>, better: Option<bool>, decimals: usize) {
    match (d, better) {
        (None, _) => {
            ui.label("–");
        }
        (Some(d), None) => {
            ui.weak(format!("{d:+.decimals$}"));
        }
        (Some(d), Some(good)) => {
            ui.colored_label(
                if good { BETTER_COLOUR } else { WORSE_COLOUR },
                format!("{d:+.decimals$}"),
            );
        }
    }
}

/// Cost-benefit: per edit and for the whole scenario, and the edits ranked by cost per
/// unit of each gain.
fn costs_tab(ui: &mut egui::Ui, p: &PanelParams) {
    let lang = lang_of(ui.ctx());
    let Some(cb) = p.session.cost_benefit() else {
        ui.label(tr(lang, "sc-costs-computing"));
        return;
    };
    if !p.session.cost_benefit_current() {
        ui.weak(tr(lang, "sc-costs-updating"));
    }
    ui.weak(tr(lang, "sc-costs-note"));
    let rows = cost_rows(cb, lang, p.session.edits(), &p.session.meta().name);
    egui::ScrollArea::vertical()
        .id_salt("cost_benefit")
        .max_height(TABLE_MAX_HEIGHT)
        .show(ui, |ui| {
            egui::Grid::new("cost_table")
                .striped(true)
                .num_columns(7)
                .show(ui, |ui| {
                    for h in [
                        tr(lang, "sc-col-edit"),
                        tr(lang, "sc-col-capital"),
                        tr(lang, "sc-col-per-year"),
                        tr(lang, "sc-col-delta-index"),
                        tr(lang, "sc-col-main-gain"),
                        tr(lang, "sc-col-cost-per-unit"),
                        tr(lang, "sc-col-rank"),
                    ] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for r in &rows {
                        let label = egui::RichText::new(&r.label);
                        let label = if r.edit.is_none() { label.strong() } else { label };
                        ui.label(label).on_hover_text(if r.all_gains.is_empty() {
                            tr(lang, "sc-no-change")
                        } else {
                            r.all_gains.join("\n")
                        });
                        ui.label(format_eur(r.capital_eur));
                        ui.label(format_eur(r.operating_eur_per_year));
                        ui.label(fmt_opt(r.index_delta, 2));
                        ui.label(&r.gain);
                        ui.label(&r.cost_per_unit);
                        ui.label(r.rank.map_or("–".to_string(), |(k, n)| {
                            tr_args(lang, "sc-rank", &[("k", k.into()), ("n", n.into())])
                        }));
                        ui.end_row();
                    }
                });
        });
    ui.separator();
    ui.strong(tr(lang, "sc-ranked-heading"));
    egui::ScrollArea::vertical()
        .id_salt("cost_rankings")
        .max_height(TABLE_MAX_HEIGHT / 2.0)
        .show(ui, |ui| {
            for r in &cb.rankings {
                let unit = gain_unit(lang, &r.unit);
                egui::CollapsingHeader::new(format!("{} ({unit})", gain_name(lang, &r.gain, &r.name)))
                    .id_salt(&r.gain)
                    .show(ui, |ui| {
                        for (k, e) in r.entries.iter().enumerate() {
                            let label = p
                                .session
                                .edits()
                                .get(e.item)
                                .map_or_else(|| e.label.clone(), |se| se.edit.describe(lang));
                            ui.label(rank_line(lang, k, &label, e.amount, &unit, e.eur_per_unit));
                        }
                    });
            }
        });
}

/// The current scenario against saved ones: tick files, compare (on a worker thread), and
/// read each scenario's costs, index change and main gain, and the rankings.
fn scenarios_section(ui: &mut egui::Ui, p: &mut PanelParams, sent: &mut Vec<ScenarioCommand>) {
    let lang = lang_of(ui.ctx());
    ui.strong(tr(lang, "sc-other-scenarios"));
    let files = list_scenarios(&p.scene_path.0);
    if files.is_empty() {
        ui.weak(tr(lang, "sc-no-saved"));
        return;
    }
    ui.horizontal_wrapped(|ui| {
        for f in &files {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut on = p.state.compare_files.contains(f);
            if ui.checkbox(&mut on, name).changed() {
                if on {
                    p.state.compare_files.insert(f.clone());
                } else {
                    p.state.compare_files.remove(f);
                }
            }
        }
    });
    let busy = p.session.comparing_scenarios();
    let chosen: Vec<_> = p
        .state
        .compare_files
        .iter()
        .filter(|f| files.contains(f))
        .cloned()
        .collect();
    if ui
        .add_enabled(
            !busy && !chosen.is_empty(),
            egui::Button::new(if busy {
                tr(lang, "sc-comparing")
            } else {
                tr(lang, "sc-compare")
            }),
        )
        .clicked()
    {
        sent.push(ScenarioCommand::CompareScenarios(chosen));
    }
    let Some(set) = p.session.scenario_set() else {
        return;
    };
    egui::Grid::new("scenario_set")
        .striped(true)
        .num_columns(5)
        .show(ui, |ui| {
            for h in [
                tr(lang, "scenario-col-scenario"),
                tr(lang, "sc-col-capital"),
                tr(lang, "sc-col-per-year"),
                tr(lang, "sc-col-delta-index"),
                tr(lang, "sc-col-skipped"),
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for s in &set.summaries {
                ui.label(&s.name).on_hover_text(
                    s.gains
                        .iter()
                        .map(|g| {
                            format!(
                                "{} {:+.1} {}",
                                gain_name(lang, &g.id, &g.name),
                                g.amount,
                                gain_unit(lang, &g.unit)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
                ui.label(format_eur(s.cost.capital_eur));
                ui.label(format_eur(s.cost.operating_eur_per_year));
                ui.label(fmt_opt(s.index.delta, 2));
                ui.label(s.skipped.to_string());
                ui.end_row();
            }
        });
    for r in &set.rankings {
        let unit = gain_unit(lang, &r.unit);
        egui::CollapsingHeader::new(tr_args(
            lang,
            "sc-ranked-by",
            &[
                ("unit", (&unit).into()),
                ("name", gain_name(lang, &r.gain, &r.name).into()),
            ],
        ))
        .id_salt(("set", &r.gain))
        .show(ui, |ui| {
            for (k, e) in r.entries.iter().enumerate() {
                ui.label(rank_line(lang, k, &e.label, e.amount, &unit, e.eur_per_unit));
            }
        });
    }
}
