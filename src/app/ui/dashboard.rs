//! The indicators panel: the smart-city index, six dimension cards (score, trend arrow,
//! sparkline, status colour), a radar chart of the six, the indicator table of the chosen
//! dimension (value, target, status, trend, ISO reference; a click colours the zones by
//! it) and the alerts with their decision windows, which can be acknowledged.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use crate::app::AppState;
use crate::app::AppSystems;
use crate::app::dashboard::{Dashboard, IndicatorEngine, TREND_DEADBAND};
use crate::app::i18n::{lang_of, language_menu};
use crate::app::ui::feed_health::source_badge;
use crate::app::ui::layout::{Dock, Prefs, UiLayout};
use crate::app::ui::timeline::TwinTime;
use crate::app::ui::{UiCovered, root_ui};
use crate::twin::feeds::provenance::SourceKinds;
use crate::twin::i18n::{self, tr, tr_args};
use crate::twin::indicators::alerts::{alert_scope, alert_text};
use crate::twin::indicators::{AlertKind, Dimension, Status, higher_is_better};

/// egui id of the panel, and its key in [`UiCovered`].
const PANEL_ID: &str = "dashboard_panel";
/// Starting width of the panel, logical pixels.
const PANEL_WIDTH: f32 = 400.0;
/// The panel's name in the layout (and in the remembered layout).
const PANEL_NAME: &str = "dashboard";
/// Default width as a share of the screen's width (at most [`PANEL_WIDTH`]).
const PANEL_SHARE: f32 = 0.28;
/// Narrowest the panel gets, points: the indicator table's columns still fit.
const PANEL_MIN_WIDTH: f32 = 300.0;
/// Widest the user may drag it, as a share of the screen's width.
const PANEL_MAX_SHARE: f32 = 0.45;
/// Size of a sparkline, logical pixels.
const SPARK_SIZE: egui::Vec2 = egui::vec2(90.0, 22.0);
/// Open alerts listed at most (the most urgent first).
const ALERTS_SHOWN: usize = 12;
/// Radius of the radar chart, logical pixels.
const RADAR_RADIUS: f32 = 70.0;
/// Text size of a dimension card's score, points.
const SCORE_SIZE: f32 = 18.0;

/// The indicators panel.
pub struct DashboardPanelPlugin;

impl Plugin for DashboardPanelPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<SelectedDimension>().add_systems(
            EguiPrimaryContextPass,
            dashboard_panel
                .in_set(AppSystems::UiDockSides)
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
#[allow(clippy::too_many_arguments)]
fn dashboard_panel(
    mut contexts: EguiContexts,
    mut engine: ResMut<IndicatorEngine>,
    mut dash: ResMut<Dashboard>,
    time: Res<TwinTime>,
    mut selected: ResMut<SelectedDimension>,
    mut covered: ResMut<UiCovered>,
    mut layout: ResMut<UiLayout>,
    prefs: Option<Res<Prefs>>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let rect = draw_dashboard(
        ctx,
        &mut engine,
        &mut dash,
        &time,
        &mut selected,
        Some((&mut layout, prefs.as_deref())),
    );
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
    dock: Option<(&mut UiLayout, Option<&Prefs>)>,
) -> egui::Rect {
    let (mut root, width, max) = match &dock {
        Some((layout, prefs)) => {
            let width = layout.side_width(PANEL_SHARE, PANEL_MIN_WIDTH, PANEL_WIDTH);
            let width = prefs.map_or(width, |p| p.prefs.width(PANEL_NAME, width));
            let max = (layout.screen.width() * PANEL_MAX_SHARE).max(PANEL_MIN_WIDTH);
            (layout.dock_ui(ctx, "dashboard_root"), width, max)
        }
        None => (root_ui(ctx, "dashboard_root"), PANEL_WIDTH, f32::INFINITY),
    };
    let rect = egui::Panel::right(PANEL_ID)
        .default_size(width)
        .size_range(PANEL_MIN_WIDTH..=max)
        .resizable(true)
        .show(&mut root, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                panel_body(ui, engine, dash, time, selected);
            });
        })
        .response
        .rect;
    if let Some((layout, _)) = dock {
        layout.docked(PANEL_NAME, Dock::Right, rect);
    }
    rect
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
    let at = i18n::format_date_time(lang, eval.at);
    let ms = i18n::format_number(lang, dash.recompute_ms, 1);
    ui.weak(if time.clock.is_live() {
        tr_args(lang, "dash-recomputed", &[("at", at.into()), ("ms", ms.into())])
    } else {
        tr_args(
            lang,
            "dash-recomputed-past",
            &[("at", at.into()), ("ms", ms.into())],
        )
    });
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
    // Two columns of cards, each half the panel's width whatever that is.
    ui.columns(2, |cols| {
        for (d, dim) in Dimension::ALL.into_iter().enumerate() {
            let ui = &mut cols[d % 2];
            let worst = eval.worst_of_dimension(catalogue, dim);
            let series: Vec<f64> = dash.history.iter().filter_map(|s| s.dimensions[d]).collect();
            let card = egui::Frame::group(ui.style())
                .stroke(egui::Stroke::new(2.0, status_colour(worst)))
                .show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    ui.horizontal_wrapped(|ui| {
                        ui.strong(i18n::dimension_name(lang, dim));
                        let score = eval.dimensions[d].map_or("–".to_string(), |v| format!("{v:.0}"));
                        ui.label(egui::RichText::new(score).size(SCORE_SIZE).strong());
                        ui.label(trend_arrow(dash.trend(Some(d))));
                    });
                    sparkline(ui, &series, status_colour(worst));
                });
            if card.response.interact(egui::Sense::click()).clicked() {
                selected.0 = d;
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
    // Columns of fixed shares of the panel's width: the name and the value wrap inside
    // theirs (at spaces), nothing runs past the panel's edge. The ISO reference is in the
    // name's tooltip.
    table_row(ui, &TABLE_SHARES, |i, ui| {
        ui.strong(match i {
            0 => tr(lang, "dash-col-indicator"),
            1 => tr(lang, "dash-col-value"),
            2 => tr(lang, "dash-col-target"),
            _ => tr(lang, "dash-col-status"),
        });
    });
    for (k, (def, e)) in catalogue.indicators.iter().zip(&eval.city).enumerate() {
        if def.dimension != dim {
            continue;
        }
        ui.separator();
        let chosen = dash.choropleth == Some(k);
        let value = e.value.map_or("–".to_string(), |v| {
            format!("{} {}", fmt_value(v), i18n::unit(lang, &def.unit))
        });
        let value = if def.is_estimate() {
            format!("{value} {}", tr(lang, "cli-report-estimate"))
        } else {
            value
        };
        table_row(ui, &TABLE_SHARES, |i, ui| match i {
            0 => {
                let text = egui::RichText::new(i18n::indicator_name(lang, &def.id, &def.name));
                let text = if chosen { text.strong().underline() } else { text };
                let name = ui
                    .add(egui::Label::new(text).wrap().sense(egui::Sense::click()))
                    .on_hover_text(format!(
                        "{}\n{}\n{}",
                        def.method,
                        def.iso.clone().unwrap_or_else(|| tr(lang, "dash-no-iso")),
                        tr(lang, "dash-click-colour")
                    ));
                if name.clicked() {
                    dash.choropleth = if chosen { None } else { Some(k) };
                }
            }
            1 => {
                ui.add(egui::Label::new(value.as_str()).wrap());
                source_badge(ui, e.sources, 10.0);
            }
            2 => {
                ui.add(egui::Label::new(fmt_value(def.target)).wrap());
            }
            _ => {
                ui.add(
                    egui::Label::new(
                        egui::RichText::new(i18n::status_name(lang, e.status))
                            .small()
                            .color(status_colour(e.status)),
                    )
                    .wrap(),
                );
            }
        });
    }
    if let Some(k) = dash.choropleth
        && let Some(def) = catalogue.indicators.get(k)
    {
        ui.horizontal_wrapped(|ui| {
            ui.label(tr_args(
                lang,
                "app-zones-coloured-by",
                &[("indicator", i18n::indicator_name(lang, &def.id, &def.name).into())],
            ));
            legend(ui, lang);
        });
        ui.small(tr_args(
            lang,
            "dash-grey-note",
            &[("rule", def.compute.base().rule(&engine.0.ctx.config).into())],
        ));
    }
    ui.separator();

    // Alerts.
    ui.heading(tr(lang, "app-alerts"));
    // Zone alerts of one indicator are one line (how many zones, the worst ones).
    let mut active = engine.0.alerts.digest(higher_is_better(&engine.0.ctx.catalogue));
    if active.is_empty() {
        ui.weak(tr(lang, "dash-alerts-none"));
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
                    AlertKind::Threshold => tr(lang, "dash-alert-threshold"),
                    AlertKind::DecisionWindow => tr_args(
                        lang,
                        "dash-alert-decision",
                        &[(
                            "by",
                            a.by.map_or("?".to_string(), |t| i18n::format_date_time(lang, t))
                                .into(),
                        )],
                    ),
                };
                ui.colored_label(status_colour(a.level), egui::RichText::new(kind).strong());
                ui.label(alert_scope(lang, &a));
                ui.small(alert_text(lang, &a, catalogue))
                    .on_hover_text(&a.evidence);
                match a.acknowledged {
                    Some(t) => {
                        ui.weak(tr_args(
                            lang,
                            "dash-acknowledged",
                            &[("at", i18n::format_date_time(lang, t).into())],
                        ));
                    }
                    None => {
                        if ui.button(tr(lang, "dash-acknowledge")).clicked() {
                            engine.0.alerts.acknowledge_group(&a, time.now);
                        }
                    }
                }
            });
    }
    if hidden > 0 {
        ui.weak(tr_args(lang, "dash-alerts-more", &[("count", hidden.into())]));
    }
}

/// Shares of the panel's width of the indicator table's columns: name, value, target, status.
const TABLE_SHARES: [f32; 4] = [0.38, 0.27, 0.13, 0.22];

/// One row of a table of columns taking `shares` of the width: `cell(i, ui)` fills column
/// `i` in a top-down `Ui` of that column's width, where text wraps.
pub(crate) fn table_row(ui: &mut egui::Ui, shares: &[f32], mut cell: impl FnMut(usize, &mut egui::Ui)) {
    let gap = ui.spacing().item_spacing.x;
    let total = ui.available_width() - gap * (shares.len().saturating_sub(1)) as f32;
    ui.horizontal_top(|ui| {
        for (i, share) in shares.iter().enumerate() {
            let w = (total * share).max(1.0);
            ui.allocate_ui_with_layout(
                egui::vec2(w, 0.0),
                egui::Layout::top_down(egui::Align::Min),
                |ui| {
                    ui.set_width(w);
                    cell(i, ui);
                },
            );
        }
    });
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
fn legend(ui: &mut egui::Ui, lang: i18n::Lang) {
    let (alarm, target) = (tr(lang, "dash-legend-alarm"), tr(lang, "dash-legend-target"));
    for (label, t) in [(alarm.as_str(), 0.0), ("", 0.5), (target.as_str(), 1.0)] {
        let [r, g, b] = crate::app::dashboard::choropleth_rgb(t);
        ui.colored_label(egui::Color32::from_rgb(r, g, b), "■");
        if !label.is_empty() {
            ui.small(label);
        }
    }
}
