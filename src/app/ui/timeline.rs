//! The time slider along the bottom of the window: the instant the whole twin shows, a
//! "LIVE" button that jumps back to now, play / pause and playback speed. The clock itself
//! is the pure [`TwinClock`]; this plugin keeps [`TwinTime`] and draws the bar.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use crate::app::AppSystems;
use crate::app::i18n::lang_of;
use crate::app::ui::UiCovered;
use crate::app::ui::layout::{Dock, UiLayout};
use crate::twin::feeds::Timestamp;
use crate::twin::i18n::tr;
use crate::twin::timeline::{ClockMode, PLAY_SPEEDS, TwinClock, format_utc};

/// egui id of the bar, and its key in [`UiCovered`].
const PANEL_ID: &str = "timeline_panel";
/// How far back the slider reaches when no history tells (one day).
const DEFAULT_SPAN_MS: i64 = Timestamp::DAY_MS;
/// Colour of the "LIVE" badge.
const LIVE_COLOUR: egui::Color32 = egui::Color32::from_rgb(220, 60, 50);
/// Colour of the badge when showing the past.
const PAST_COLOUR: egui::Color32 = egui::Color32::from_rgb(90, 150, 230);

/// What instant the twin shows, what "now" is and how far back history reaches.
#[derive(Resource, Debug, Clone)]
pub struct TwinTime {
    /// Live / paused / playing, and the instant shown when not live.
    pub clock: TwinClock,
    /// "Now" of the data: the wall clock unless a feed (e.g. an accelerated simulator)
    /// sets it.
    pub now: Timestamp,
    /// Oldest instant the history holds (the slider's left end).
    pub earliest: Timestamp,
    /// When set, `now` is driven by a data source and not by the wall clock.
    pub now_from_feeds: bool,
}

impl Default for TwinTime {
    fn default() -> Self {
        let now = Timestamp::now();
        TwinTime {
            clock: TwinClock::default(),
            now,
            earliest: now.plus_ms(-DEFAULT_SPAN_MS),
            now_from_feeds: false,
        }
    }
}

impl TwinTime {
    /// The instant everything time-dependent should show.
    pub fn shown(&self) -> Timestamp {
        self.clock.shown(self.now)
    }
}

/// Keeps [`TwinTime`] running and draws the time slider.
pub struct TimelinePlugin;

impl Plugin for TimelinePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<TwinTime>()
            .add_systems(Update, advance_time.in_set(AppSystems::Ingest))
            .add_systems(
                EguiPrimaryContextPass,
                timeline_bar
                    .in_set(AppSystems::UiDockBottom)
                    .run_if(super::chrome_shown),
            );
    }
}

/// Moves "now" with the wall clock (unless feeds drive it) and advances playback.
pub(crate) fn advance_time(time: Res<Time<Real>>, mut twin: ResMut<TwinTime>) {
    if !twin.now_from_feeds {
        twin.now = Timestamp::now();
    }
    let now = twin.now;
    twin.clock.tick(time.delta_secs_f64() * 1_000.0, now);
}

/// Draws the bar: badge, data time, slider, play / pause, speed.
fn timeline_bar(
    mut contexts: EguiContexts,
    mut twin: ResMut<TwinTime>,
    mut covered: ResMut<UiCovered>,
    mut layout: ResMut<UiLayout>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let mut root = layout.dock_ui(ctx, "timeline_root");
    let response = egui::Panel::bottom(PANEL_ID)
        .show(&mut root, |ui| {
            ui.horizontal(|ui| timeline_row(ui, &mut twin));
        })
        .response;
    covered.set(PANEL_ID, Some(response.rect));
    layout.docked("timeline", Dock::Bottom, response.rect);
    Ok(())
}

/// One row of controls.
fn timeline_row(ui: &mut egui::Ui, twin: &mut TwinTime) {
    let now = twin.now;
    let shown = twin.shown();
    let live = twin.clock.is_live();
    let lang = lang_of(ui.ctx());
    let badge = if live {
        egui::RichText::new(tr(lang, "timeline-live"))
            .color(LIVE_COLOUR)
            .strong()
    } else {
        egui::RichText::new(tr(lang, "timeline-past"))
            .color(PAST_COLOUR)
            .strong()
    };
    if ui
        .add(egui::Button::new(badge).selected(live))
        .on_hover_text(tr(lang, "timeline-go-live"))
        .clicked()
    {
        twin.clock.go_live();
    }
    ui.monospace(format!("{} UTC", format_utc(shown)));

    let playing = matches!(twin.clock.mode(), ClockMode::Playing { .. });
    let label = if playing || live { "⏸" } else { "▶" };
    if ui
        .button(label)
        .on_hover_text(tr(lang, "timeline-play-pause"))
        .clicked()
    {
        if playing || live {
            twin.clock.pause(now);
        } else {
            let speed = current_speed(&twin.clock);
            twin.clock.play(speed, now);
        }
    }
    let mut speed = current_speed(&twin.clock);
    egui::ComboBox::from_id_salt("timeline_speed")
        .selected_text(format!("×{speed}"))
        .show_ui(ui, |ui| {
            for s in PLAY_SPEEDS {
                ui.selectable_value(&mut speed, s, format!("×{s}"));
            }
        });
    if playing && speed != current_speed(&twin.clock) {
        twin.clock.play(speed, now);
    }

    let earliest = twin.earliest.min(now);
    let mut at_s = shown.as_secs_f64();
    let slider = egui::Slider::new(&mut at_s, earliest.as_secs_f64()..=now.as_secs_f64())
        .show_value(false)
        .trailing_fill(true);
    let width = ui.available_width().max(100.0);
    ui.spacing_mut().slider_width = width;
    if ui.add(slider).changed() {
        twin.clock
            .scrub_to(Timestamp((at_s * 1_000.0).round() as i64), now);
    }
}

/// The playback speed of the clock, or the slowest when not playing.
fn current_speed(clock: &TwinClock) -> f64 {
    match clock.mode() {
        ClockMode::Playing { speed } => speed,
        _ => PLAY_SPEEDS[0],
    }
}

#[cfg(test)]
mod tests {
    use bevy::time::TimePlugin;

    use super::*;

    #[test]
    fn wall_clock_drives_now_until_feeds_do() {
        let mut app = App::new();
        app.add_plugins(TimePlugin)
            .init_resource::<TwinTime>()
            .add_systems(Update, advance_time);
        app.update();
        let t = app.world().resource::<TwinTime>().now;
        assert!(
            (t.0 - Timestamp::now().0).abs() < 5_000,
            "now follows the wall clock"
        );
        {
            let mut twin = app.world_mut().resource_mut::<TwinTime>();
            twin.now_from_feeds = true;
            twin.now = Timestamp(1_000);
            twin.clock.scrub_to(Timestamp(500), Timestamp(1_000));
        }
        app.update();
        let twin = app.world().resource::<TwinTime>();
        assert_eq!(twin.now, Timestamp(1_000));
        assert_eq!(twin.shown(), Timestamp(500));
    }
}
