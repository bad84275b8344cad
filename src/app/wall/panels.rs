//! The wall's egui panels, drawn into the rectangles of the layout at the wall's UI scale:
//! clock, dimension cards, an indicator table, alerts, feed health, the alert ticker along
//! the bottom and a stale banner across the top while a feed is quiet. Read-only: nothing
//! here takes clicks, and there is no window chrome.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::{EguiContexts, egui};

use crate::app::dashboard::{Dashboard, IndicatorEngine, TREND_DEADBAND};
use crate::app::feeds::LiveFeeds;
use crate::app::loading::LoadedCity;
use crate::app::ui::dashboard::status_colour;
use crate::app::ui::feed_health::{NOT_LIVE_FILL, age_text, feed_kind_badge, link_colour, link_label};
use crate::app::ui::timeline::TwinTime;
use crate::app::wall::{WallDrawn, WallMode, WallScreen, WallTicker, WallTour};
use crate::twin::feeds::Timestamp;
use crate::twin::feeds::health::LinkState;
use crate::twin::feeds::provenance::SourceKinds;
use crate::twin::feeds::timefmt::civil_from_days;
use crate::twin::indicators::{AlertKind, Dimension, higher_is_better};
use crate::twin::timeline::format_utc;
use crate::twin::wall::{IndicatorTable, PanelKind, PxRect};

/// Body text size at UI scale 1, points (the scale multiplies every size).
const BODY_PT: f32 = 18.0;
/// Heading text size, points.
const HEADING_PT: f32 = 24.0;
/// Small text size, points.
const SMALL_PT: f32 = 14.0;
/// The clock's digits, points.
const CLOCK_PT: f32 = 56.0;
/// A dimension card's score, points.
const SCORE_PT: f32 = 30.0;
/// The ticker's text, points.
const TICKER_TEXT_PT: f32 = 24.0;
/// The stale banner's text, points.
const BANNER_PT: f32 = 30.0;
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
/// Weekday names from Monday.
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
/// Month names.
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

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
    let mut record = Vec::with_capacity(layout.panels.len() + 2);
    for (i, p) in layout.panels.iter().enumerate() {
        let rect = to_egui(p.rect, ppp);
        let id = egui::Id::new(("wall_panel", i));
        show_panel(ctx, id, rect, |ui| match &p.kind {
            PanelKind::Clock => clock(ui, &view),
            PanelKind::Dimensions => dimensions(ui, &view),
            PanelKind::Indicators(table) => indicators(ui, &view, table),
            PanelKind::Alerts => alerts(ui, &view),
            PanelKind::FeedHealth => feed_health(ui, &view),
        });
        record.push((p.kind.name(), p.rect));
    }
    ticker(ctx, to_egui(layout.ticker, ppp), &view);
    record.push(("ticker", layout.ticker));
    let px = |r: egui::Rect| PxRect {
        x: r.min.x * ppp,
        y: r.min.y * ppp,
        w: r.width() * ppp,
        h: r.height() * ppp,
    };
    let stale = stale_banner(ctx, &view);
    if let Some(r) = stale {
        record.push(("stale banner", px(r)));
    }
    if let Some(r) = simulated_banner(ctx, &view, stale.map_or(0.0, |r| r.max.y)) {
        record.push(("simulated banner", px(r)));
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

/// A panel: background, border, and its contents clipped to the rectangle.
fn show_panel(ctx: &egui::Context, id: egui::Id, rect: egui::Rect, add: impl FnOnce(&mut egui::Ui)) {
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
    let inner = rect.shrink(PAD_PT);
    ui.scope_builder(egui::UiBuilder::new().max_rect(inner), |ui| {
        ui.set_clip_rect(inner);
        add(ui);
    });
}

/// `Saturday 28 November 2026` and `21:04:05` of a timestamp shifted by `offset_h`.
pub fn local_date_time(t: Timestamp, offset_h: f64) -> (String, String) {
    let secs = (t.0 + (offset_h * 3_600_000.0) as i64).div_euclid(1_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = WEEKDAYS[(days + 3).rem_euclid(7) as usize];
    let month = MONTHS[(m as usize).clamp(1, 12) - 1];
    (
        format!("{weekday} {d} {month} {y}"),
        format!("{:02}:{:02}:{:02}", rem / 3_600, (rem % 3_600) / 60, rem % 60),
    )
}

/// "UTC", "UTC+2", "UTC−3:30".
fn offset_label(h: f64) -> String {
    if h == 0.0 {
        return "UTC".to_string();
    }
    let sign = if h > 0.0 { '+' } else { '−' };
    let minutes = (h.abs() * 60.0).round() as i64;
    if minutes % 60 == 0 {
        format!("UTC{sign}{}", minutes / 60)
    } else {
        format!("UTC{sign}{}:{:02}", minutes / 60, minutes % 60)
    }
}

fn clock(ui: &mut egui::Ui, v: &WallView) {
    let offset = v.screen.spec.utc_offset_h;
    let (date, time) = local_date_time(Timestamp::now(), offset);
    ui.label(egui::RichText::new(time).size(CLOCK_PT).monospace().strong());
    ui.label(egui::RichText::new(format!("{date} · {}", offset_label(offset))).size(BODY_PT));
    ui.add_space(6.0);
    let shown = v.twin.shown();
    let badge = if v.twin.clock.is_live() {
        egui::RichText::new("● LIVE").color(egui::Color32::from_rgb(70, 200, 100))
    } else {
        egui::RichText::new("◀ PAST").color(egui::Color32::from_rgb(90, 150, 230))
    };
    ui.horizontal(|ui| {
        ui.label(badge.strong());
        ui.label(format!("data time {} UTC", format_utc(shown)));
    });
    if let Some(tour) = &v.tour {
        ui.label(egui::RichText::new(tour.0.status(v.time.elapsed_secs_f64())).color(WEAK));
    }
    ui.label(
        egui::RichText::new(format!("role: {}", v.mode.role))
            .color(WEAK)
            .size(SMALL_PT),
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
    let (Some(dash), Some(engine)) = (&v.dash, &v.engine) else {
        ui.heading("Smart-city index");
        ui.label("computing indicators…");
        return;
    };
    let Some(eval) = &dash.eval else {
        ui.heading("Smart-city index");
        ui.label("computing indicators…");
        return;
    };
    ui.horizontal(|ui| {
        ui.heading("Smart-city index");
        ui.label(egui::RichText::new(fmt_score(eval.index)).size(SCORE_PT).strong());
        ui.label(trend_arrow(dash.trend(None)));
    });
    let catalogue = &engine.0.ctx.catalogue;
    egui::Grid::new("wall_dimension_cards")
        .num_columns(2)
        .spacing(egui::vec2(8.0, 6.0))
        .show(ui, |ui| {
            for (d, dim) in Dimension::ALL.into_iter().enumerate() {
                let worst = eval.worst_of_dimension(catalogue, dim);
                egui::Frame::group(ui.style())
                    .stroke(egui::Stroke::new(2.5, status_colour(worst)))
                    .show(ui, |ui| {
                        ui.horizontal(|ui| {
                            ui.label(egui::RichText::new(dim.id()).strong());
                            ui.label(
                                egui::RichText::new(fmt_score(eval.dimensions[d]))
                                    .size(SCORE_PT)
                                    .strong(),
                            );
                            ui.label(trend_arrow(dash.trend(Some(d))));
                        });
                    });
                if d % 2 == 1 {
                    ui.end_row();
                }
            }
        });
}

fn indicators(ui: &mut egui::Ui, v: &WallView, table: &IndicatorTable) {
    ui.heading(table.title());
    let (Some(dash), Some(engine)) = (&v.dash, &v.engine) else {
        ui.label("computing indicators…");
        return;
    };
    let Some(eval) = &dash.eval else {
        ui.label("computing indicators…");
        return;
    };
    let catalogue = &engine.0.ctx.catalogue;
    egui::Grid::new("wall_indicator_table")
        .striped(true)
        .num_columns(3)
        .spacing(egui::vec2(12.0, 6.0))
        .show(ui, |ui| {
            for k in table.select(catalogue) {
                let (Some(def), Some(e)) = (catalogue.indicators.get(k), eval.city.get(k)) else {
                    continue;
                };
                let chosen = dash.choropleth == Some(k);
                let name = egui::RichText::new(&def.name);
                ui.label(if chosen { name.strong().underline() } else { name });
                let value = e
                    .value
                    .map_or("–".to_string(), |x| format!("{} {}", fmt_value(x), def.unit));
                ui.horizontal(|ui| {
                    ui.label(value);
                    // The banner above spells it out; the table keeps a short mark.
                    if e.sources.is_not_live() {
                        ui.label(
                            egui::RichText::new(" SIM ")
                                .size(SMALL_PT)
                                .strong()
                                .color(egui::Color32::BLACK)
                                .background_color(NOT_LIVE_FILL),
                        );
                    }
                });
                ui.label(
                    egui::RichText::new(e.status.id())
                        .color(status_colour(e.status))
                        .strong(),
                );
                ui.end_row();
            }
        });
}

fn alerts(ui: &mut egui::Ui, v: &WallView) {
    ui.heading("Alerts");
    let Some(engine) = &v.engine else {
        ui.label("computing indicators…");
        return;
    };
    // Zone alerts of one indicator are one line (how many zones, the worst ones).
    let mut active = engine.0.alerts.digest(higher_is_better(&engine.0.ctx.catalogue));
    if active.is_empty() {
        ui.label(egui::RichText::new("none open").color(WEAK));
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
    ui.label(egui::RichText::new(format!("{open} open in {} lines", active.len())).color(WEAK));
    for a in active {
        let kind = match a.kind {
            AlertKind::DecisionWindow => {
                format!("act by {} UTC", a.by.map_or("?".to_string(), format_utc))
            }
            AlertKind::Threshold => "threshold".to_string(),
        };
        ui.label(
            egui::RichText::new(format!(
                "● {} · {} · {kind}",
                a.indicator,
                a.zone.as_deref().unwrap_or("city-wide")
            ))
            .color(status_colour(a.level)),
        );
    }
}

fn feed_health(ui: &mut egui::Ui, v: &WallView) {
    ui.heading("Live feeds");
    let Some(feeds) = &v.feeds else {
        ui.label(egui::RichText::new("no live feeds").color(WEAK));
        return;
    };
    let now = Timestamp::now();
    for h in feeds.running.live.health.values() {
        let state = h.state(now);
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new("●").color(link_colour(state)));
            ui.label(egui::RichText::new(h.source.to_string()).strong());
            ui.label(egui::RichText::new(link_label(state)).color(link_colour(state)));
            feed_kind_badge(ui, feeds.kinds.kind(&h.source), SMALL_PT);
        });
        let age = h.message_age_ms(now).map_or("–".to_string(), age_text);
        ui.label(
            egui::RichText::new(format!("last {age} ago · {:.0} msg/s", h.msgs_per_s(now)))
                .color(WEAK)
                .size(SMALL_PT),
        );
    }
}

/// The strip along the bottom: new decision windows, else the calm line (tour, sources).
fn ticker(ctx: &egui::Context, rect: egui::Rect, v: &WallView) {
    let names = v.engine.as_ref().map(|e| &e.0.ctx.catalogue);
    let items: Vec<String> = v
        .ticker
        .0
        .shown()
        .map(|i| {
            let a = &i.alert;
            let name = names
                .and_then(|c| c.get(&a.indicator))
                .map_or(a.indicator.as_str(), |d| d.name.as_str());
            format!(
                "⚠ DECISION WINDOW · {name} · {} · act by {} UTC",
                a.zone.as_deref().unwrap_or("city-wide"),
                a.by.map_or("?".to_string(), format_utc)
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
            if items.is_empty() {
                ui.label(
                    egui::RichText::new("No new decision windows")
                        .size(TICKER_TEXT_PT)
                        .color(WEAK),
                );
            } else {
                ui.label(
                    egui::RichText::new(items.join("   ·   "))
                        .size(TICKER_TEXT_PT)
                        .strong()
                        .color(egui::Color32::WHITE),
                );
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.label(egui::RichText::new(attribution(v)).size(SMALL_PT).color(WEAK));
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
fn simulated_banner(ctx: &egui::Context, v: &WallView, below: f32) -> Option<egui::Rect> {
    let kinds = shown_kinds(v);
    let badge = kinds.badge()?;
    let what = if kinds.is_simulated() {
        "values from the built-in simulator, not measurements"
    } else {
        "values played back from a recording, not live measurements"
    };
    let r = egui::Area::new(egui::Id::new("wall_simulated_banner"))
        .anchor(egui::Align2::CENTER_TOP, egui::vec2(0.0, below + 8.0))
        .order(egui::Order::Foreground)
        .interactable(false)
        .show(ctx, |ui| {
            egui::Frame::new()
                .fill(NOT_LIVE_FILL)
                .inner_margin(egui::Margin::symmetric(14, 6))
                .corner_radius(6.0)
                .show(ui, |ui| {
                    ui.label(
                        egui::RichText::new(format!("{badge} DATA — {what} (marked SIM)"))
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

/// The banner across the top while a feed is stale, reconnecting or stopped; its
/// rectangle in points when shown.
fn stale_banner(ctx: &egui::Context, v: &WallView) -> Option<egui::Rect> {
    let feeds = v.feeds.as_ref()?;
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
                let age = h.message_age_ms(now).map_or("never heard".to_string(), |a| {
                    format!("last message {} ago", age_text(a))
                });
                format!("⚠ FEED {} {} — {age}", h.source, link_label(state))
            })
        })
        .collect();
    if troubled.is_empty() {
        return None;
    }
    let r = egui::Area::new(egui::Id::new("wall_stale_banner"))
        .anchor(egui::Align2::CENTER_TOP, egui::vec2(0.0, 8.0))
        .order(egui::Order::Foreground)
        .interactable(false)
        .show(ctx, |ui| {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_text_of_known_instants() {
        // 2026-11-28 17:29:25 UTC was a Saturday.
        let t = Timestamp(1_795_886_965_000);
        assert_eq!(
            local_date_time(t, 0.0),
            ("Saturday 28 November 2026".to_string(), "17:29:25".to_string())
        );
        // Two hours east it is 19:29; seven hours east it is past midnight on Sunday.
        assert_eq!(local_date_time(t, 2.0).1, "19:29:25");
        assert_eq!(local_date_time(t, 7.0).0, "Sunday 29 November 2026");
        assert_eq!(local_date_time(Timestamp(0), 0.0).0, "Thursday 1 January 1970");
        assert_eq!(offset_label(0.0), "UTC");
        assert_eq!(offset_label(2.0), "UTC+2");
        assert_eq!(offset_label(-3.5), "UTC−3:30");
    }
}
