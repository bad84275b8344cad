//! The feed health panel: per source its link state (connected / reconnecting / stale /
//! stopped), last message age, messages per second, accepted, errors by kind, dropped and
//! the last bad sample; and a banner across the top of the screen while any feed is stale
//! or down, large enough to read on a wall display from across the room.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use crate::app::feeds::LiveFeeds;
use crate::app::i18n::lang_of;
use crate::app::ui::UiCovered;
use crate::app::ui::layout::{PartKind, Prefs, UiLayout, placed};
use crate::app::{AppState, AppSystems};
use crate::twin::feeds::Timestamp;
use crate::twin::feeds::health::{FeedHealth, LinkState};
use crate::twin::feeds::provenance::{SourceKind, SourceKinds};
use crate::twin::i18n::{self, Arg, Lang, badge_words, tr, tr_args};

/// The panel's key in [`UiCovered`].
const PANEL_ID: &str = "feed_health_panel";
/// The panel's name in the layout's window stack.
const PANEL_NAME: &str = "feeds";
/// egui id of the banner, and its key in [`UiCovered`].
const BANNER_ID: &str = "feed_health_banner";
/// Text size of the stale banner, points.
const BANNER_TEXT: f32 = 26.0;
/// Width of the panel, logical pixels.
const PANEL_WIDTH: f32 = 320.0;

/// The feed health panel and banner.
pub struct FeedHealthPlugin;

impl Plugin for FeedHealthPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(
            EguiPrimaryContextPass,
            health_panel
                .in_set(AppSystems::UiWindows)
                .run_if(super::chrome_shown)
                .run_if(in_state(AppState::Ready).and_then(resource_exists::<LiveFeeds>)),
        );
    }
}

/// The colour of a link state.
pub fn link_colour(s: LinkState) -> egui::Color32 {
    match s {
        LinkState::Connected => egui::Color32::from_rgb(70, 180, 90),
        LinkState::Starting => egui::Color32::from_rgb(120, 160, 220),
        LinkState::Reconnecting => egui::Color32::from_rgb(235, 170, 40),
        LinkState::Stale | LinkState::Stopped => egui::Color32::from_rgb(230, 65, 55),
    }
}

/// The label of a link state in `lang`.
pub fn link_label(lang: Lang, s: LinkState) -> String {
    match s {
        LinkState::Connected => tr(lang, "feed-connected"),
        LinkState::Starting => tr(lang, "feed-starting"),
        LinkState::Reconnecting => tr(lang, "feed-reconnecting"),
        LinkState::Stale => tr(lang, "feed-stale"),
        LinkState::Stopped => tr(lang, "feed-stopped"),
    }
}

/// Background of the mark on values not measured live (simulated, replayed).
pub const NOT_LIVE_FILL: egui::Color32 = egui::Color32::from_rgb(245, 190, 60);

/// The mark beside a value made from simulated or replayed observations ("SIMULATED",
/// "REPLAY", ...) at text size `size`; nothing for live or feed-less values.
pub fn source_badge(ui: &mut egui::Ui, kinds: SourceKinds, size: f32) {
    if let Some(b) = kinds.badge() {
        let lang = lang_of(ui.ctx());
        ui.label(
            egui::RichText::new(format!(" {} ", badge_words(lang, &b)))
                .size(size)
                .strong()
                .color(egui::Color32::BLACK)
                .background_color(NOT_LIVE_FILL),
        )
        .on_hover_text(tr(lang, "feed-not-live-hover"));
    }
}

/// A feed's kind as its panel row shows it: "LIVE", "REPLAY", "SIMULATED".
pub fn feed_kind_badge(ui: &mut egui::Ui, kind: SourceKind, size: f32) {
    if kind == SourceKind::Live {
        ui.label(
            egui::RichText::new(tr(lang_of(ui.ctx()), "badge-live"))
                .size(size)
                .strong()
                .color(egui::Color32::from_rgb(70, 180, 90)),
        );
    } else {
        source_badge(ui, SourceKinds::only(kind), size);
    }
}

/// "12 s", "5 min", "3 h" ("12 秒", "5 分钟", "3 小时").
pub fn age_text(lang: Lang, ms: i64) -> String {
    let s = ms / 1_000;
    let n = |v: i64| [("n", Arg::Num(v as f64))];
    if s < 120 {
        tr_args(lang, "age-seconds", &n(s))
    } else if s < 7_200 {
        tr_args(lang, "age-minutes", &n(s / 60))
    } else {
        tr_args(lang, "age-hours", &n(s / 3_600))
    }
}

/// Draws the banner (when a feed is in trouble) and the panel.
fn health_panel(
    mut contexts: EguiContexts,
    feeds: Res<LiveFeeds>,
    mut covered: ResMut<UiCovered>,
    mut layout: ResMut<UiLayout>,
    prefs: Option<Res<Prefs>>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let lang = lang_of(ctx);
    let now = Timestamp::now();
    let health: Vec<&FeedHealth> = feeds.running.live.health.values().collect();
    let troubled: Vec<String> = health
        .iter()
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
                format!("{} {} — {age}", h.source, link_label(lang, state))
            })
        })
        .collect();
    let banner = (!troubled.is_empty()).then(|| {
        // Centred at the top of the 3D view, between the docked panels.
        let free = layout.free;
        egui::Area::new(egui::Id::new(BANNER_ID))
            .pivot(egui::Align2::CENTER_TOP)
            .fixed_pos(egui::pos2(free.center().x, free.min.y + 8.0))
            .constrain_to(free)
            .order(egui::Order::Foreground)
            .show(ctx, |ui| {
                egui::Frame::new()
                    .fill(egui::Color32::from_rgb(150, 20, 20))
                    .inner_margin(12.0)
                    .corner_radius(6.0)
                    .show(ui, |ui| {
                        for line in &troubled {
                            ui.label(
                                egui::RichText::new(tr_args(lang, "feed-banner", &[("line", line.into())]))
                                    .size(BANNER_TEXT)
                                    .color(egui::Color32::WHITE)
                                    .strong(),
                            );
                        }
                    });
            })
            .response
            .rect
    });
    covered.set(BANNER_ID, banner);
    if let Some(r) = banner {
        layout.record("feed banner", PartKind::Overlay, r);
    }

    let open = prefs.is_some_and(|p| p.prefs.is_open(PANEL_NAME, false));
    let place = layout.window_place(PANEL_NAME, open);
    let response = placed(egui::Window::new(tr(lang, "window-feeds")), Some(place))
        .default_width(PANEL_WIDTH)
        .show(ctx, |ui| {
            for h in &health {
                source_row(ui, h, feeds.kinds.kind(&h.source), now);
                ui.separator();
            }
            let d = &feeds.running.live;
            let args: [(&str, Arg); 3] = [
                ("obs", feeds.last_drain.observations.into()),
                (
                    "ms",
                    i18n::format_number(lang, feeds.last_drain.elapsed.as_secs_f64() * 1_000.0, 2).into(),
                ),
                ("backlog", feeds.last_drain.backlog.into()),
            ];
            ui.small(if feeds.last_drain.budget_hit {
                tr_args(lang, "feed-last-frame-budget", &args)
            } else {
                tr_args(lang, "feed-last-frame", &args)
            });
            match d.writer() {
                Some(w) => ui.small(tr_args(
                    lang,
                    "feed-history",
                    &[("count", (w.stored() as f64).into())],
                )),
                None => ui.small(tr(lang, "feed-history-off")),
            };
        });
    let rect = response.map(|r| r.response.rect);
    if let Some(r) = rect {
        layout.record(PANEL_NAME, PartKind::Window, r);
    }
    covered.set(PANEL_ID, rect);
    Ok(())
}

/// One source: state, age, rate, counts, last bad sample.
fn source_row(ui: &mut egui::Ui, h: &FeedHealth, kind: SourceKind, now: Timestamp) {
    let state = h.state(now);
    let lang = lang_of(ui.ctx());
    ui.horizontal_wrapped(|ui| {
        ui.colored_label(link_colour(state), egui::RichText::new("●").size(18.0));
        ui.strong(h.source.to_string());
        ui.colored_label(link_colour(state), link_label(lang, state));
        feed_kind_badge(ui, kind, 12.0);
    });
    let age = h
        .message_age_ms(now)
        .map_or("–".to_string(), |a| age_text(lang, a));
    ui.small(tr_args(
        lang,
        "feed-row",
        &[
            ("age", age.into()),
            ("rate", i18n::format_number(lang, h.msgs_per_s(now), 0).into()),
            ("accepted", (h.accepted as f64).into()),
            ("dropped", (h.dropped as f64).into()),
        ],
    ));
    if h.error_total() > 0 {
        let kinds: Vec<String> = h
            .errors
            .iter()
            .map(|(k, n)| format!("{} {n}", k.label()))
            .collect();
        ui.colored_label(
            egui::Color32::from_rgb(235, 170, 40),
            tr_args(lang, "feed-errors", &[("errors", kinds.join(", ").into())]),
        );
    }
    if let Some(bad) = &h.last_bad {
        ui.small(tr_args(
            lang,
            "feed-last-bad",
            &[
                ("kind", bad.kind.label().into()),
                ("message", (&bad.message).into()),
            ],
        ))
        .on_hover_text(&bad.sample);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_in_sensible_units() {
        assert_eq!(age_text(Lang::En, 5_000), "5 s");
        assert_eq!(age_text(Lang::En, 300_000), "5 min");
        assert_eq!(age_text(Lang::En, 3 * 3_600_000), "3 h");
        assert_eq!(age_text(Lang::ZhCn, 300_000), "5 分钟");
    }
}
