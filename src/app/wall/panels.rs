//! The wall's egui panels, drawn into the rectangles of the layout at the wall's UI scale:
//! clock, dimension cards, an indicator table, alerts, feed health, the alert ticker along
//! the bottom and a stale banner across the top while a feed is quiet. Read-only: nothing
//! here takes clicks, and there is no window chrome.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::{EguiContexts, egui};

use crate::app::dashboard::{Dashboard, IndicatorEngine, TREND_DEADBAND};
use crate::app::feeds::LiveFeeds;
use crate::app::i18n::lang_of;
use crate::app::loading::LoadedCity;
use crate::app::ui::dashboard::{status_colour, table_row};
use crate::app::ui::feed_health::{NOT_LIVE_FILL, age_text, feed_kind_badge, link_colour, link_label};
use crate::app::ui::layout::{PartKind, UiLayout};
use crate::app::ui::timeline::TwinTime;
use crate::app::wall::{WallDrawn, WallMode, WallScreen, WallTicker, WallTour};
use crate::twin::feeds::Timestamp;
use crate::twin::feeds::health::LinkState;
use crate::twin::feeds::provenance::SourceKinds;
use crate::twin::i18n::{self, tr, tr_args};
use crate::twin::indicators::alerts::alert_scope;
use crate::twin::indicators::{AlertKind, Dimension, higher_is_better};
use crate::twin::timeline::format_utc;
use crate::twin::wall::clock::{local_date_time_in, offset_label};
use crate::twin::wall::legibility::{
    BANNER_PT, BODY_PT, CLOCK_PT, HEADING_PT, SCORE_PT, SMALL_PT, TICKER_TEXT_PT, min_fit,
};
use crate::twin::wall::{IndicatorTable, PanelKind, PxRect};

/// Inner padding of a panel, points.
const PAD_PT: f32 = 10.0;
/// Panel background: dark, mostly opaque, so text stays legible over the city.
const PANEL_FILL: egui::Color32 = egui::Color32::from_rgba_premultiplied(14, 18, 26, 235);
/// Panel border.
const PANEL_STROKE: egui::Color32 = egui::Color32::from_rgb(60, 70, 90);
/// Ticker background when no alert is new.
const TICKER_CALM: egui::Color32 = egui::Color32::from_rgba_premultiplied(14, 18, 26, 235);
/// Ticker background with a new decision window.
const TICKER_ALERT: egui::Color32 = egui::Color32::from_rgb(150, 30, 25);
/// Banner background.
const BANNER_FILL: egui::Color32 = egui::Color32::from_rgb(150, 20, 20);
/// Text colour.
const TEXT: egui::Color32 = egui::Color32::from_rgb(230, 232, 238);
/// Secondary text colour.
const WEAK: egui::Color32 = egui::Color32::from_rgb(160, 166, 180);

/// Everything the panels read.
#[derive(SystemParam)]
pub(crate) struct WallView<'w> {
    screen: Res<'w, WallScreen>,
    mode: Res<'w, WallMode>,
    twin: Res<'w, TwinTime>,
    time: Res<'w, Time>,
    tour: Option<Res<'w, WallTour>>,
    ticker: Res<'w, WallTicker>,
    dash: Option<Res<'w, Dashboard>>,
    engine: Option<Res<'w, IndicatorEngine>>,
    feeds: Option<Res<'w, LiveFeeds>>,
    loaded: Option<Res<'w, LoadedCity>>,
}

/// Draws the whole wall for this frame and records what was drawn.
pub(crate) fn draw_wall(
    mut contexts: EguiContexts,
    view: WallView,
    mut drawn: ResMut<WallDrawn>,
    mut styled: Local<bool>,
    mut fits: Local<PanelFits>,
    mut ui_layout: ResMut<UiLayout>,
) {
    let Ok(ctx) = contexts.ctx_mut() else { return };
    let Some(layout) = view.screen.layout.as_ref() else {
        return;
    };
    if !*styled {
        wall_style(ctx);
        *styled = true;
    }
    if (ctx.pixels_per_point() - layout.scale).abs() > f32::EPSILON {
        ctx.set_pixels_per_point(layout.scale);
    }
    let ppp = ctx.pixels_per_point();
    if fits.size != layout.size || fits.fit.len() != layout.panels.len() {
        *fits = PanelFits {
            size: layout.size,
            fit: vec![1.0; layout.panels.len()],
        };
    }
    let floor = min_fit(layout.size.1, layout.scale);
    let mut record = Vec::with_capacity(layout.panels.len() + 2);
    for (i, p) in layout.panels.iter().enumerate() {
        let rect = to_egui(p.rect, ppp);
        let id = egui::Id::new(("wall_panel", i));
        let fit = fits.fit[i];
        let used = show_panel(ctx, id, rect, fit, |ui| match &p.kind {
            PanelKind::Clock => clock(ui, &view),
            PanelKind::Dimensions => dimensions(ui, &view),
            PanelKind::Indicators(table) => indicators(ui, &view, table),
            PanelKind::Alerts => alerts(ui, &view),
            PanelKind::FeedHealth => feed_health(ui, &view),
        });
        fits.fit[i] = shrunk_fit(fit, used, panel_inner(rect), floor);
        record.push((p.kind.name(), p.rect));
        ui_layout.record(p.kind.name(), PartKind::WallPanel, rect);
    }
    let ticker_rect = to_egui(layout.ticker, ppp);
    ticker(ctx, ticker_rect, &view);
    record.push(("ticker", layout.ticker));
    ui_layout.record("ticker", PartKind::WallPanel, ticker_rect);
    let gap = centre_gap(layout, ppp, ctx.content_rect());
    let px = |r: egui::Rect| PxRect {
        x: r.min.x * ppp,
        y: r.min.y * ppp,
        w: r.width() * ppp,
        h: r.height() * ppp,
    };
    let stale = stale_banner(ctx, &view, gap);
    if let Some(r) = stale {
        record.push(("stale banner", px(r)));
        ui_layout.record("stale banner", PartKind::Overlay, r);
    }
    if let Some(r) = simulated_banner(ctx, &view, gap, stale.map_or(0.0, |r| r.max.y)) {
        record.push(("simulated banner", px(r)));
        ui_layout.record("simulated banner", PartKind::Overlay, r);
    }
    if drawn.0 != record {
        drawn.0 = record;
    }
}

/// Dark visuals and text sizes for reading from a distance (the UI scale enlarges them).
fn wall_style(ctx: &egui::Context) {
    ctx.set_visuals(egui::Visuals::dark());
    ctx.all_styles_mut(|style| {
        use egui::{FontFamily, FontId, TextStyle};
        let sizes = [
            (TextStyle::Body, BODY_PT, FontFamily::Proportional),
            (TextStyle::Heading, HEADING_PT, FontFamily::Proportional),
            (TextStyle::Small, SMALL_PT, FontFamily::Proportional),
            (TextStyle::Monospace, BODY_PT, FontFamily::Monospace),
            (TextStyle::Button, BODY_PT, FontFamily::Proportional),
        ];
        for (s, size, family) in sizes {
            style.text_styles.insert(s, FontId::new(size, family));
        }
        style.visuals.override_text_color = Some(TEXT);
        style.interaction.selectable_labels = false;
    });
}

/// A layout rectangle (physical pixels) in egui points.
fn to_egui(r: PxRect, ppp: f32) -> egui::Rect {
    let r = r.scaled_down(ppp.max(f32::EPSILON));
    egui::Rect::from_min_size(egui::pos2(r.x, r.y), egui::vec2(r.w, r.h))
}

/// How much each panel's text is shrunk to fit (1: the sizes of
/// [`crate::twin::wall::legibility`]), for the output size they were found at.
#[derive(Debug, Default)]
pub(crate) struct PanelFits {
    size: (u32, u32),
    fit: Vec<f32>,
}

/// Each step a panel's text shrinks by a little more than its overflow, so it fits in a
/// frame or two (spacing does not shrink with the text).
const FIT_STEP_MARGIN: f32 = 0.97;

/// The next fit of a panel whose content needed `used` inside `inner`: smaller when it did
/// not fit (never below `floor`, see [`min_fit`]), else the same. Width scales with the text
/// size, but wrapped text's height with about its square (smaller text also wraps into
/// fewer lines), so an overflow in height shrinks by the square root of its ratio: the fit
/// comes down to the largest that fits over a few frames instead of overshooting.
fn shrunk_fit(fit: f32, used: egui::Vec2, inner: egui::Rect, floor: f32) -> f32 {
    let over_w = used.x > inner.width() + 0.5;
    let over_h = used.y > inner.height() + 0.5;
    if !over_w && !over_h {
        return fit;
    }
    let across = (inner.width() / used.x.max(1.0)).min(1.0);
    let down = (inner.height() / used.y.max(1.0)).min(1.0).sqrt();
    (fit * across.min(down) * FIT_STEP_MARGIN).max(floor)
}

/// The part of a panel its content goes in.
fn panel_inner(rect: egui::Rect) -> egui::Rect {
    rect.shrink(PAD_PT)
}

/// A text size of the legibility table scaled by the panel's fit (read back from its body
/// text size).
fn sized(ui: &egui::Ui, pt: f32) -> f32 {
    let body = ui
        .style()
        .text_styles
        .get(&egui::TextStyle::Body)
        .map_or(BODY_PT, |f| f.size);
    pt * body / BODY_PT
}

/// The free middle of the wall between the panel columns, points (where banners go).
fn centre_gap(layout: &crate::twin::wall::WallLayout, ppp: f32, screen: egui::Rect) -> egui::Rect {
    let mid = screen.center().x;
    let mut left = screen.min.x;
    let mut right = screen.max.x;
    for p in &layout.panels {
        let r = to_egui(p.rect, ppp);
        if r.center().x < mid {
            left = left.max(r.max.x);
        } else {
            right = right.min(r.min.x);
        }
    }
    if right - left < screen.width() * 0.2 {
        return screen;
    }
    egui::Rect::from_min_max(egui::pos2(left, screen.min.y), egui::pos2(right, screen.max.y))
}

/// A panel: background, border, and its contents clipped to the rectangle, every text
/// size times `fit`; returns the size the contents took.
fn show_panel(
    ctx: &egui::Context,
    id: egui::Id,
    rect: egui::Rect,
    fit: f32,
    add: impl FnOnce(&mut egui::Ui),
) -> egui::Vec2 {
    let mut ui = egui::Ui::new(
        ctx.clone(),
        id,
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::new(egui::Order::Middle, id))
            .max_rect(rect),
    );
    ui.set_clip_rect(rect);
    ui.painter().rect_filled(rect, 6.0, PANEL_FILL);
    ui.painter().rect_stroke(
        rect,
        6.0,
        egui::Stroke::new(1.5, PANEL_STROKE),
        egui::StrokeKind::Inside,
    );
    let inner = panel_inner(rect);
    ui.scope_builder(egui::UiBuilder::new().max_rect(inner), |ui| {
        ui.set_clip_rect(inner);
        for font in ui.style_mut().text_styles.values_mut() {
            font.size *= fit;
        }
        add(ui);
        ui.min_rect().size()
    })
    .inner
}

fn clock(ui: &mut egui::Ui, v: &WallView) {
    let lang = lang_of(ui.ctx());
    let offset = v.screen.spec.utc_offset_h;
    let (date, time) = local_date_time_in(lang, Timestamp::now(), offset);
    // Proportional figures: the font's digits are of one width anyway.
    ui.label(egui::RichText::new(time).size(sized(ui, CLOCK_PT)).strong());
    ui.label(format!("{date} · {}", offset_label(offset)));
    ui.add_space(6.0);
    let shown = v.twin.shown();
    let badge = if v.twin.clock.is_live() {
        egui::RichText::new(tr(lang, "timeline-live")).color(egui::Color32::from_rgb(70, 200, 100))
    } else {
        egui::RichText::new(tr(lang, "timeline-past")).color(egui::Color32::from_rgb(90, 150, 230))
    };
    // Wraps on a narrow wall (1280×720) rather than running past the panel.
    ui.horizontal_wrapped(|ui| {
        ui.label(badge.strong());
        ui.label(tr_args(
            lang,
            "wall-data-time",
            &[("time", format_utc(shown).into())],
        ));
    });
    if let Some(tour) = &v.tour {
        ui.label(egui::RichText::new(tour.0.status_in(lang, v.time.elapsed_secs_f64())).color(WEAK));
    }
    ui.label(
        egui::RichText::new(tr_args(lang, "wall-role", &[("role", (&v.mode.role).into())]))
            .color(WEAK)
            .small(),
    );
}

fn trend_arrow(change: Option<f64>) -> &'static str {
    match change {
        Some(c) if c > TREND_DEADBAND => "▲",
        Some(c) if c < -TREND_DEADBAND => "▼",
        Some(_) => "▶",
        None => "·",
    }
}

fn fmt_score(v: Option<f64>) -> String {
    v.map_or("–".to_string(), |v| format!("{v:.0}"))
}

fn fmt_value(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

fn dimensions(ui: &mut egui::Ui, v: &WallView) {
    let lang = lang_of(ui.ctx());
    let (Some(dash), Some(engine)) = (&v.dash, &v.engine) else {
        ui.heading(tr(lang, "app-title"));
        ui.label(tr(lang, "app-computing"));
        return;
    };
    let Some(eval) = &dash.eval else {
        ui.heading(tr(lang, "app-title"));
        ui.label(tr(lang, "app-computing"));
        return;
    };
    ui.horizontal(|ui| {
        ui.heading(tr(lang, "app-title"));
        ui.label(
            egui::RichText::new(fmt_score(eval.index))
                .size(sized(ui, SCORE_PT))
                .strong(),
        );
        ui.label(trend_arrow(dash.trend(None)));
    });
    let catalogue = &engine.0.ctx.catalogue;
    // Two columns of cards of one width; a card whose name and score do not fit widens
    // past it, and the panel's text then shrinks until it fits.
    let column = ((ui.available_width() - CARD_GAP_PT) / 2.0).max(1.0);
    let all = Dimension::ALL;
    for row in 0..all.len().div_ceil(2) {
        if row > 0 {
            ui.add_space(CARD_GAP_PT);
        }
        ui.horizontal_top(|ui| {
            ui.spacing_mut().item_spacing.x = CARD_GAP_PT;
            for (d, &dim) in all.iter().enumerate().skip(row * 2).take(2) {
                let worst = eval.worst_of_dimension(catalogue, dim);
                dimension_card(
                    ui,
                    column,
                    status_colour(worst),
                    [
                        egui::RichText::new(i18n::dimension_name(lang, dim)).strong(),
                        egui::RichText::new(fmt_score(eval.dimensions[d]))
                            .size(sized(ui, SCORE_PT))
                            .strong(),
                        egui::RichText::new(trend_arrow(dash.trend(Some(d)))),
                    ],
                );
            }
        });
    }
}

/// Gap between the dimension cards, points.
const CARD_GAP_PT: f32 = 8.0;

/// One dimension's card, `width` points wide, framed in its worst status's colour: its
/// name above its score and trend (side by side the three need half as wide again, and a
/// quarter-screen column of cards would shrink them well below reading size).
fn dimension_card(
    ui: &mut egui::Ui,
    width: f32,
    colour: egui::Color32,
    [name, score, arrow]: [egui::RichText; 3],
) {
    let frame = egui::Frame::group(ui.style()).stroke(egui::Stroke::new(2.5, colour));
    let inner = (width - frame.total_margin().sum().x).max(1.0);
    ui.allocate_ui_with_layout(
        egui::vec2(width, 0.0),
        egui::Layout::top_down(egui::Align::Min),
        |ui| {
            frame.show(ui, |ui| {
                ui.set_min_width(inner);
                ui.spacing_mut().item_spacing.y = 0.0;
                // One line each: a name or score wider than the card widens it, and the
                // panel's text shrinks until it fits.
                ui.add(egui::Label::new(name).extend());
                ui.horizontal(|ui| {
                    ui.add(egui::Label::new(score).extend());
                    ui.add(egui::Label::new(arrow).extend());
                });
            });
        },
    );
}

fn indicators(ui: &mut egui::Ui, v: &WallView, table: &IndicatorTable) {
    let lang = lang_of(ui.ctx());
    ui.heading(table.title_in(lang));
    let (Some(dash), Some(engine)) = (&v.dash, &v.engine) else {
        ui.label(tr(lang, "app-computing"));
        return;
    };
    let Some(eval) = &dash.eval else {
        ui.label(tr(lang, "app-computing"));
        return;
    };
    let catalogue = &engine.0.ctx.catalogue;
    let rows: Vec<TableRow> = table
        .select(catalogue)
        .into_iter()
        .filter_map(|k| {
            let (def, e) = (catalogue.indicators.get(k)?, eval.city.get(k)?);
            let name = egui::RichText::new(i18n::indicator_name(lang, &def.id, &def.name));
            Some(TableRow {
                name: if dash.choropleth == Some(k) {
                    name.strong().underline()
                } else {
                    name
                },
                value: e.value.map_or("–".to_string(), |x| {
                    format!("{} {}", fmt_value(x), i18n::unit(lang, &def.unit))
                }),
                simulated: e.sources.is_not_live(),
                status: egui::RichText::new(i18n::status_name(lang, e.status))
                    .color(status_colour(e.status))
                    .strong(),
            })
        })
        .collect();
    let sim = egui::RichText::new(tr(lang, "wall-sim-mark"))
        .small()
        .strong()
        .color(egui::Color32::BLACK);
    let shares = table_shares(ui, &rows, &sim);
    for row in &rows {
        ui.separator();
        table_row(ui, &shares, |i, ui| match i {
            0 => {
                ui.add(egui::Label::new(row.name.clone()).wrap());
            }
            1 => {
                ui.horizontal_wrapped(|ui| {
                    ui.add(egui::Label::new(row.value.as_str()).wrap());
                    // The banner above spells it out; the table keeps a short mark.
                    if row.simulated {
                        sim_badge(ui, sim.clone());
                    }
                });
            }
            _ => {
                ui.add(egui::Label::new(row.status.clone()).wrap());
            }
        });
    }
}

/// One line of a wall indicator table.
struct TableRow {
    /// The indicator's name.
    name: egui::RichText,
    /// Its value and unit.
    value: String,
    /// True when the value is simulated or replayed.
    simulated: bool,
    /// Its status, in its colour.
    status: egui::RichText,
}

/// The short "simulated" mark after a value: black on the not-live fill, never split
/// across lines.
fn sim_badge(ui: &mut egui::Ui, text: egui::RichText) {
    egui::Frame::new()
        .fill(NOT_LIVE_FILL)
        .inner_margin(egui::Margin::symmetric(4, 0))
        .corner_radius(3.0)
        .show(ui, |ui| {
            ui.label(text);
        });
}

/// Width of `text` on one line in `ui`'s body font (or the text's own size), points.
fn text_width(ui: &egui::Ui, text: egui::RichText) -> f32 {
    egui::WidgetText::from(text)
        .into_galley(
            ui,
            Some(egui::TextWrapMode::Extend),
            f32::INFINITY,
            egui::TextStyle::Body,
        )
        .size()
        .x
}

/// Width of the widest piece of `text` a line may not break inside (a word, or one CJK
/// character) in the body font, points (strong and underlined text is as wide).
fn widest_word(ui: &egui::Ui, text: &str) -> f32 {
    i18n::wrap::unbreakable_runs(text)
        .into_iter()
        .map(|w| text_width(ui, egui::RichText::new(w)))
        .fold(0.0, f32::max)
}

/// Shares of the panel's width for the indicator table's columns (name, value, status):
/// the status column as wide as its longest status (or its widest word when that would
/// take more than [`STATUS_MAX_SHARE`]), the value column [`VALUE_SHARE`] of the rest or
/// its widest word, the name the remainder. When a word does not fit its column even so,
/// the table asks for the width it needs, and the panel's text shrinks until it fits:
/// no word is ever broken in two.
fn table_shares(ui: &mut egui::Ui, rows: &[TableRow], sim: &egui::RichText) -> [f32; 3] {
    let gap = ui.spacing().item_spacing.x;
    let total = (ui.available_width() - 2.0 * gap).max(1.0);
    let widest = |f: &dyn Fn(&TableRow) -> f32| rows.iter().map(f).fold(0.0, f32::max);
    let status_line = widest(&|r| text_width(ui, r.status.clone()));
    let status_word = widest(&|r| widest_word(ui, r.status.text()));
    let value_word = widest(&|r| {
        let badge = if r.simulated {
            text_width(ui, sim.clone()) + 8.0
        } else {
            0.0
        };
        widest_word(ui, &r.value).max(badge)
    });
    let name_word = widest(&|r| widest_word(ui, r.name.text()));
    let status = status_line.min(total * STATUS_MAX_SHARE).max(status_word);
    let value = ((total - status) * VALUE_SHARE).max(value_word);
    let name = total - status - value;
    if name < name_word {
        // Reserve the width the words need: the panel measures it and shrinks its text.
        ui.allocate_exact_size(
            egui::vec2(total + 2.0 * gap + name_word - name, 0.0),
            egui::Sense::hover(),
        );
    }
    let name = name.max(1.0);
    [name / total, value / total, status / total]
}

/// Most of the indicator table's width its status column takes before its statuses wrap
/// between words.
const STATUS_MAX_SHARE: f32 = 0.3;
/// Share of the width left after the status column that the value column takes.
const VALUE_SHARE: f32 = 0.42;

fn alerts(ui: &mut egui::Ui, v: &WallView) {
    let lang = lang_of(ui.ctx());
    ui.heading(tr(lang, "app-alerts"));
    let Some(engine) = &v.engine else {
        ui.label(tr(lang, "app-computing"));
        return;
    };
    // Zone alerts of one indicator are one line (how many zones, the worst ones).
    let mut active = engine.0.alerts.digest(higher_is_better(&engine.0.ctx.catalogue));
    if active.is_empty() {
        ui.label(egui::RichText::new(tr(lang, "dash-alerts-none")).color(WEAK));
        return;
    }
    active.sort_by_key(|a| {
        (
            a.kind != AlertKind::DecisionWindow,
            std::cmp::Reverse(a.level.severity()),
            a.zone.is_some(),
            std::cmp::Reverse(a.raised),
        )
    });
    let open: usize = active.iter().map(|a| a.members.len()).sum();
    ui.label(
        egui::RichText::new(tr_args(
            lang,
            "wall-alerts-open",
            &[("open", open.into()), ("lines", active.len().into())],
        ))
        .color(WEAK),
    );
    // As many lines as the panel holds (each may wrap to two); the rest are counted.
    let line = ui.text_style_height(&egui::TextStyle::Body) + ui.spacing().item_spacing.y;
    let total = active.len();
    for (shown, a) in active.into_iter().enumerate() {
        if ui.available_height() < 3.0 * line && total - shown > 1 {
            ui.label(
                egui::RichText::new(tr_args(
                    lang,
                    "wall-more-lines",
                    &[("count", (total - shown).into())],
                ))
                .color(WEAK),
            );
            break;
        }
        let kind = match a.kind {
            AlertKind::DecisionWindow => tr_args(
                lang,
                "wall-act-by",
                &[("by", a.by.map_or("?".to_string(), format_utc).into())],
            ),
            AlertKind::Threshold => tr(lang, "wall-threshold"),
        };
        let catalogue = &engine.0.ctx.catalogue;
        let name = catalogue.get(&a.indicator).map_or(a.indicator.clone(), |d| {
            i18n::indicator_name(lang, &d.id, &d.name)
        });
        ui.label(
            egui::RichText::new(format!("● {name} · {} · {kind}", alert_scope(lang, &a)))
                .color(status_colour(a.level)),
        );
    }
}

fn feed_health(ui: &mut egui::Ui, v: &WallView) {
    let lang = lang_of(ui.ctx());
    ui.heading(tr(lang, "wall-live-feeds"));
    let Some(feeds) = &v.feeds else {
        ui.label(egui::RichText::new(tr(lang, "ov-no-feeds")).color(WEAK));
        return;
    };
    let now = Timestamp::now();
    for h in feeds.running.live.health.values() {
        let state = h.state(now);
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new("●").color(link_colour(state)));
            ui.label(egui::RichText::new(h.source.to_string()).strong());
            ui.label(egui::RichText::new(link_label(lang, state)).color(link_colour(state)));
            feed_kind_badge(ui, feeds.kinds.kind(&h.source), sized(ui, SMALL_PT));
        });
        let age = h
            .message_age_ms(now)
            .map_or("–".to_string(), |a| age_text(lang, a));
        ui.label(
            egui::RichText::new(tr_args(
                lang,
                "wall-feed-row",
                &[
                    ("age", age.into()),
                    ("rate", format!("{:.0}", h.msgs_per_s(now)).into()),
                ],
            ))
            .color(WEAK)
            .small(),
        );
    }
}

/// The strip along the bottom: new decision windows, else the calm line (tour, sources).
fn ticker(ctx: &egui::Context, rect: egui::Rect, v: &WallView) {
    let lang = lang_of(ctx);
    let names = v.engine.as_ref().map(|e| &e.0.ctx.catalogue);
    let items: Vec<String> = v
        .ticker
        .0
        .shown()
        .map(|i| {
            let a = &i.alert;
            let name = names
                .and_then(|c| c.get(&a.indicator))
                .map_or(a.indicator.clone(), |d| {
                    i18n::indicator_name(lang, &d.id, &d.name)
                });
            tr_args(
                lang,
                "wall-ticker-item",
                &[
                    ("name", name.into()),
                    (
                        "zone",
                        a.zone
                            .clone()
                            .unwrap_or_else(|| tr(lang, "cli-report-alert-city-wide"))
                            .into(),
                    ),
                    ("by", a.by.map_or("?".to_string(), format_utc).into()),
                ],
            )
        })
        .collect();
    let id = egui::Id::new("wall_ticker");
    let mut ui = egui::Ui::new(
        ctx.clone(),
        id,
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::new(egui::Order::Foreground, id))
            .max_rect(rect),
    );
    ui.set_clip_rect(rect);
    let fill = if items.is_empty() {
        TICKER_CALM
    } else {
        TICKER_ALERT
    };
    ui.painter().rect_filled(rect, 6.0, fill);
    let inner = rect.shrink2(egui::vec2(PAD_PT, 2.0));
    ui.scope_builder(
        egui::UiBuilder::new()
            .max_rect(inner)
            .layout(egui::Layout::left_to_right(egui::Align::Center)),
        |ui| {
            // The attribution keeps its place at the right; the alerts take the rest of
            // the one line, cut short with "…" when there are more than it holds (a
            // ticker's line cannot wrap).
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.label(egui::RichText::new(attribution(v)).size(SMALL_PT).color(WEAK));
                ui.add_space(PAD_PT);
                ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                    let text = if items.is_empty() {
                        egui::RichText::new(tr(lang, "wall-ticker-calm"))
                            .size(TICKER_TEXT_PT)
                            .color(WEAK)
                    } else {
                        egui::RichText::new(items.join("   ·   "))
                            .size(TICKER_TEXT_PT)
                            .strong()
                            .color(egui::Color32::WHITE)
                    };
                    ui.add(egui::Label::new(text).truncate());
                });
            });
        },
    );
}

/// The scene's layer attributions, each once ("© OpenStreetMap contributors").
fn attribution(v: &WallView) -> String {
    let Some(loaded) = &v.loaded else {
        return String::new();
    };
    let mut seen: Vec<&str> = Vec::new();
    for l in &loaded.0.scene.layers {
        let a = l.meta.attribution.trim();
        if !a.is_empty() && !seen.contains(&a) {
            seen.push(a);
        }
    }
    seen.join(" · ")
}

/// The kinds of feed behind the values the wall shows (every city-wide indicator: the
/// cards, tables and alerts are made of them).
fn shown_kinds(v: &WallView) -> SourceKinds {
    v.dash
        .as_ref()
        .and_then(|d| d.eval.as_ref())
        .map_or(SourceKinds::NONE, |e| {
            e.city
                .iter()
                .fold(SourceKinds::NONE, |acc, x| acc.union(x.sources))
        })
}

/// The banner across the top, under the stale banner (whose bottom is `below`, points),
/// while any value shown is simulated or replayed; its rectangle in points when shown.
fn simulated_banner(ctx: &egui::Context, v: &WallView, gap: egui::Rect, below: f32) -> Option<egui::Rect> {
    let kinds = shown_kinds(v);
    let lang = lang_of(ctx);
    let badge = i18n::badge_words(lang, &kinds.badge()?);
    let what = if kinds.is_simulated() {
        tr(lang, "wall-banner-simulated")
    } else {
        tr(lang, "wall-banner-replay")
    };
    let r = banner_area("wall_simulated_banner", gap, below)
        .show(ctx, |ui| {
            ui.set_max_width(gap.width() - 2.0 * BANNER_INSET);
            egui::Frame::new()
                .fill(NOT_LIVE_FILL)
                .inner_margin(egui::Margin::symmetric(14, 6))
                .corner_radius(6.0)
                .show(ui, |ui| {
                    ui.label(
                        egui::RichText::new(tr_args(
                            lang,
                            "wall-banner",
                            &[
                                ("badge", badge.as_str().into()),
                                ("what", what.as_str().into()),
                                ("mark", tr(lang, "wall-sim-mark").into()),
                            ],
                        ))
                        .size(BODY_PT)
                        .color(egui::Color32::BLACK)
                        .strong(),
                    );
                });
        })
        .response
        .rect;
    Some(r)
}

/// Gap between a banner and the panels beside it (and the top of the screen), points.
const BANNER_INSET: f32 = 8.0;

/// A banner's area: centred at the top of the free middle `gap`, `below` points down.
fn banner_area(id: &'static str, gap: egui::Rect, below: f32) -> egui::Area {
    egui::Area::new(egui::Id::new(id))
        .pivot(egui::Align2::CENTER_TOP)
        .fixed_pos(egui::pos2(gap.center().x, gap.min.y + below + BANNER_INSET))
        .constrain_to(gap.shrink2(egui::vec2(BANNER_INSET, 0.0)))
        .order(egui::Order::Foreground)
        .interactable(false)
}

/// The banner across the top while a feed is stale, reconnecting or stopped; its
/// rectangle in points when shown.
fn stale_banner(ctx: &egui::Context, v: &WallView, gap: egui::Rect) -> Option<egui::Rect> {
    let feeds = v.feeds.as_ref()?;
    let lang = lang_of(ctx);
    let now = Timestamp::now();
    let troubled: Vec<String> = feeds
        .running
        .live
        .health
        .values()
        .filter_map(|h| {
            let state = h.state(now);
            matches!(
                state,
                LinkState::Stale | LinkState::Stopped | LinkState::Reconnecting
            )
            .then(|| {
                let age = h.message_age_ms(now).map_or(tr(lang, "feed-never-heard"), |a| {
                    tr_args(lang, "feed-last-message", &[("age", age_text(lang, a).into())])
                });
                let line = format!("{} {} — {age}", h.source, link_label(lang, state));
                tr_args(lang, "feed-banner", &[("line", line.into())])
            })
        })
        .collect();
    if troubled.is_empty() {
        return None;
    }
    let r = banner_area("wall_stale_banner", gap, 0.0)
        .show(ctx, |ui| {
            ui.set_max_width(gap.width() - 2.0 * BANNER_INSET);
            egui::Frame::new()
                .fill(BANNER_FILL)
                .inner_margin(12.0)
                .corner_radius(6.0)
                .show(ui, |ui| {
                    for line in &troubled {
                        ui.label(
                            egui::RichText::new(line)
                                .size(BANNER_PT)
                                .color(egui::Color32::WHITE)
                                .strong(),
                        );
                    }
                });
        })
        .response
        .rect;
    Some(r)
}
