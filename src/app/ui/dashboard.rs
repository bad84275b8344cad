//! The indicators panel: the smart-city index, six dimension cards (score, trend arrow,
//! sparkline, status colour), a radar chart of the six, the indicator table of the chosen
//! dimension (value, target, status, trend, ISO reference; a click colours the zones by
//! it) and the alerts with their decision windows, which can be acknowledged.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use crate::app::AppState;
use crate::app::dashboard::{Dashboard, IndicatorEngine, TREND_DEADBAND};
use crate::app::i18n::{lang_of, language_menu};
use crate::app::ui::feed_health::source_badge;
use crate::app::ui::timeline::TwinTime;
use crate::app::ui::{UiCovered, root_ui};
use crate::twin::feeds::provenance::SourceKinds;
use crate::twin::i18n::{self, tr, tr_args};
use crate::twin::indicators::{AlertKind, Dimension, Status, higher_is_better};
use crate::twin::timeline::format_utc;

/// egui id of the panel, and its key in [`UiCovered`].
const PANEL_ID: &str = "dashboard_panel";
/// Starting width of the panel, logical pixels.
const PANEL_WIDTH: f32 = 380.0;
/// Size of a sparkline, logical pixels.
const SPARK_SIZE: egui::Vec2 = egui::vec2(90.0, 22.0);
/// Open alerts listed at most (the most urgent first).
const ALERTS_SHOWN: usize = 12;
/// Radius of the radar chart, logical pixels.
const RADAR_RADIUS: f32 = 70.0;

/// The indicators panel.
pub struct DashboardPanelPlugin;

impl Plugin for DashboardPanelPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<SelectedDimension>().add_systems(
            EguiPrimaryContextPass,
            dashboard_panel
                .run_if(super::chrome_shown)
                .run_if(in_state(AppState::Ready).and_then(resource_exists::<IndicatorEngine>)),
        );
    }
}

/// The dimension whose indicator table is open.
#[derive(Resource, Debug, Default)]
pub(crate) struct SelectedDimension(pub(crate) usize);

/// The colour of a status.
pub fn status_colour(s: Status) -> egui::Color32 {
    match s {
        Status::OnTarget => egui::Color32::from_rgb(70, 180, 90),
        Status::Warning => egui::Color32::from_rgb(235, 170, 40),
        Status::Alarm => egui::Color32::from_rgb(230, 65, 55),
        Status::NoData => egui::Color32::from_rgb(130, 130, 135),
        Status::Stale => egui::Color32::from_rgb(160, 110, 200),
        Status::NotApplicable => egui::Color32::from_rgb(95, 95, 100),
    }
}

/// A trend arrow for a change in score.
fn trend_arrow(change: Option<f64>) -> &'static str {
    match change {
        Some(c) if c > TREND_DEADBAND => "▲",
        Some(c) if c < -TREND_DEADBAND => "▼",
        Some(_) => "▶",
        None => "·",
    }
}

/// Draws the panel.
fn dashboard_panel(
    mut contexts: EguiContexts,
    mut engine: ResMut<IndicatorEngine>,
    mut dash: ResMut<Dashboard>,
    time: Res<TwinTime>,
    mut selected: ResMut<SelectedDimension>,
    mut covered: ResMut<UiCovered>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let rect = draw_dashboard(ctx, &mut engine, &mut dash, &time, &mut selected);
    covered.set(PANEL_ID, Some(rect));
    Ok(())
}

/// Draws the panel into a context (the app's, or a benchmark's); returns its rectangle.
pub(crate) fn draw_dashboard(
    ctx: &egui::Context,
    engine: &mut IndicatorEngine,
    dash: &mut Dashboard,
    time: &TwinTime,
    selected: &mut SelectedDimension,
) -> egui::Rect {
    let mut root = root_ui(ctx, "dashboard_root");
    egui::Panel::right(PANEL_ID)
        .default_size(PANEL_WIDTH)
        .resizable(true)
        .show(&mut root, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                panel_body(ui, engine, dash, time, selected);
            });
        })
        .response
        .rect
}

/// Everything inside the panel.
fn panel_body(
    ui: &mut egui::Ui,
    engine: &mut IndicatorEngine,
    dash: &mut Dashboard,
    time: &TwinTime,
    selected: &mut SelectedDimension,
) {
    let lang = lang_of(ui.ctx());
    let Some(eval) = dash.eval.clone() else {
        ui.label(tr(lang, "app-computing"));
        language_menu(ui);
        return;
    };
    ui.horizontal(|ui| {
        ui.heading(tr(lang, "app-title"));
        let index = eval.index.map_or("–".to_string(), |v| format!("{v:.0}"));
        ui.heading(egui::RichText::new(index).strong());
        ui.label(trend_arrow(dash.trend(None)));
        language_menu(ui);
    });
    ui.weak(format!(
        "at {} UTC · recomputed in {:.1} ms{}",
        format_utc(eval.at),
        dash.recompute_ms,
        if time.clock.is_live() { "" } else { " · past" }
    ));
    let not_live = eval
        .city
        .iter()
        .fold(SourceKinds::NONE, |acc, e| acc.union(e.sources));
    if not_live.is_not_live() {
        ui.horizontal_wrapped(|ui| {
            source_badge(ui, not_live, 12.0);
            ui.label(tr(lang, "app-simulated-note"));
        });
    }
    ui.separator();

    // Six cards, two per row, and the radar.
    let catalogue = &engine.0.ctx.catalogue;
    egui::Grid::new("dimension_cards").num_columns(2).show(ui, |ui| {
        for (d, dim) in Dimension::ALL.into_iter().enumerate() {
            let worst = eval.worst_of_dimension(catalogue, dim);
            let series: Vec<f64> = dash.history.iter().filter_map(|s| s.dimensions[d]).collect();
            let card = egui::Frame::group(ui.style())
                .stroke(egui::Stroke::new(2.0, status_colour(worst)))
                .show(ui, |ui| {
                    ui.set_min_width(150.0);
                    ui.horizontal(|ui| {
                        ui.strong(i18n::dimension_name(lang, dim));
                        let score = eval.dimensions[d].map_or("–".to_string(), |v| format!("{v:.0}"));
                        ui.label(egui::RichText::new(score).size(18.0).strong());
                        ui.label(trend_arrow(dash.trend(Some(d))));
                    });
                    sparkline(ui, &series, status_colour(worst));
                });
            if card.response.interact(egui::Sense::click()).clicked() {
                selected.0 = d;
            }
            if d % 2 == 1 {
                ui.end_row();
            }
        }
    });
    radar(ui, &eval.dimensions);
    ui.separator();

    // The indicator table of the chosen dimension.
    ui.horizontal_wrapped(|ui| {
        for (d, dim) in Dimension::ALL.into_iter().enumerate() {
            ui.selectable_value(&mut selected.0, d, i18n::dimension_name(lang, dim));
        }
    });
    let dim = Dimension::ALL[selected.0.min(Dimension::ALL.len() - 1)];
    egui::Grid::new("indicator_table")
        .striped(true)
        .num_columns(5)
        .show(ui, |ui| {
            ui.strong("indicator");
            ui.strong("value");
            ui.strong("target");
            ui.strong("status");
            ui.strong("ISO");
            ui.end_row();
            for (k, (def, e)) in catalogue.indicators.iter().zip(&eval.city).enumerate() {
                if def.dimension != dim {
                    continue;
                }
                let chosen = dash.choropleth == Some(k);
                let name = ui
                    .selectable_label(chosen, i18n::indicator_name(lang, &def.id, &def.name))
                    .on_hover_text(format!("{}\nclick: colour the zones by it", def.method));
                if name.clicked() {
                    dash.choropleth = if chosen { None } else { Some(k) };
                }
                let value = e.value.map_or("–".to_string(), |v| {
                    format!("{} {}", fmt_value(v), i18n::unit(lang, &def.unit))
                });
                ui.horizontal_wrapped(|ui| {
                    ui.label(if def.is_estimate() {
                        format!("{value} (est.)")
                    } else {
                        value
                    });
                    source_badge(ui, e.sources, 10.0);
                });
                ui.label(fmt_value(def.target));
                ui.colored_label(status_colour(e.status), i18n::status_name(lang, e.status));
                ui.small(def.iso.as_deref().unwrap_or("–"));
                ui.end_row();
            }
        });
    if let Some(k) = dash.choropleth
        && let Some(def) = catalogue.indicators.get(k)
    {
        ui.horizontal_wrapped(|ui| {
            ui.label(tr_args(
                lang,
                "app-zones-coloured-by",
                &[("indicator", i18n::indicator_name(lang, &def.id, &def.name).into())],
            ));
            legend(ui);
        });
        ui.small(format!(
            "grey: no data, or not applicable ({})",
            def.compute.base().rule(&engine.0.ctx.config)
        ));
    }
    ui.separator();

    // Alerts.
    ui.heading(tr(lang, "app-alerts"));
    // Zone alerts of one indicator are one line (how many zones, the worst ones).
    let mut active = engine.0.alerts.digest(higher_is_better(&engine.0.ctx.catalogue));
    if active.is_empty() {
        ui.weak("none open");
    }
    // Decision windows first, then alarms before warnings, newest first; city-wide before zones.
    active.sort_by_key(|a| {
        (
            a.kind != AlertKind::DecisionWindow,
            std::cmp::Reverse(a.level.severity()),
            a.zone.is_some(),
            std::cmp::Reverse(a.raised),
        )
    });
    let hidden = active.len().saturating_sub(ALERTS_SHOWN);
    for a in active.into_iter().take(ALERTS_SHOWN) {
        egui::Frame::group(ui.style())
            .stroke(egui::Stroke::new(1.5, status_colour(a.level)))
            .show(ui, |ui| {
                let kind = match a.kind {
                    AlertKind::Threshold => "threshold crossed".to_string(),
                    AlertKind::DecisionWindow => format!(
                        "DECISION WINDOW · by {} UTC",
                        a.by.map_or("?".to_string(), format_utc)
                    ),
                };
                ui.colored_label(status_colour(a.level), egui::RichText::new(kind).strong());
                ui.label(format!(
                    "{} · {}",
                    a.indicator,
                    a.zone.as_deref().unwrap_or("city-wide")
                ));
                ui.small(&a.evidence);
                match a.acknowledged {
                    Some(t) => {
                        ui.weak(format!("acknowledged {} UTC", format_utc(t)));
                    }
                    None => {
                        if ui.button("Acknowledge").clicked() {
                            engine.0.alerts.acknowledge_group(&a, time.now);
                        }
                    }
                }
            });
    }
    if hidden > 0 {
        ui.weak(format!("… and {hidden} more open alerts"));
    }
}

/// A value with sensible precision.
fn fmt_value(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// A small line chart of a series.
fn sparkline(ui: &mut egui::Ui, series: &[f64], colour: egui::Color32) {
    let (rect, _) = ui.allocate_exact_size(SPARK_SIZE, egui::Sense::hover());
    if series.len() < 2 {
        return;
    }
    let (lo, hi) = series
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    let span = (hi - lo).max(1e-9);
    let n = series.len() - 1;
    let points: Vec<egui::Pos2> = series
        .iter()
        .enumerate()
        .map(|(i, v)| {
            egui::pos2(
                rect.left() + rect.width() * i as f32 / n as f32,
                rect.bottom() - rect.height() * ((v - lo) / span) as f32,
            )
        })
        .collect();
    ui.painter()
        .add(egui::Shape::line(points, egui::Stroke::new(1.5, colour)));
}

/// The radar chart of the six dimension scores.
fn radar(ui: &mut egui::Ui, scores: &[Option<f64>; 6]) {
    let size = egui::vec2(RADAR_RADIUS * 2.0 + 80.0, RADAR_RADIUS * 2.0 + 30.0);
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter();
    let c = rect.center();
    let dir = |i: usize| {
        let a = std::f32::consts::TAU * i as f32 / 6.0 - std::f32::consts::FRAC_PI_2;
        egui::vec2(a.cos(), a.sin())
    };
    let grid = egui::Stroke::new(0.5, egui::Color32::GRAY);
    for ring in [0.25_f32, 0.5, 0.75, 1.0] {
        let pts: Vec<egui::Pos2> = (0..6).map(|i| c + dir(i) * RADAR_RADIUS * ring).collect();
        painter.add(egui::Shape::closed_line(pts, grid));
    }
    let text = ui.visuals().text_color();
    for (i, dim) in Dimension::ALL.into_iter().enumerate() {
        painter.line_segment([c, c + dir(i) * RADAR_RADIUS], grid);
        painter.text(
            c + dir(i) * (RADAR_RADIUS + 14.0),
            egui::Align2::CENTER_CENTER,
            i18n::dimension_name(lang_of(ui.ctx()), dim),
            egui::FontId::proportional(11.0),
            text,
        );
    }
    let pts: Vec<egui::Pos2> = (0..6)
        .map(|i| c + dir(i) * RADAR_RADIUS * (scores[i].unwrap_or(0.0) / 100.0) as f32)
        .collect();
    let fill = egui::Color32::from_rgba_unmultiplied(90, 160, 230, 70);
    painter.add(egui::Shape::convex_polygon(
        pts,
        fill,
        egui::Stroke::new(1.5, egui::Color32::from_rgb(90, 160, 230)),
    ));
}

/// The choropleth legend: score 0 (alarm) to 1 (target).
fn legend(ui: &mut egui::Ui) {
    for (label, t) in [("alarm", 0.0), ("", 0.5), ("target", 1.0)] {
        let [r, g, b] = crate::app::dashboard::choropleth_rgb(t);
        ui.colored_label(egui::Color32::from_rgb(r, g, b), "■");
        if !label.is_empty() {
            ui.small(label);
        }
    }
}
