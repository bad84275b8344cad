//! The twin's clock: whether the whole twin shows "live" data or a past instant, and playing
//! history back at a speed. Everything time-dependent (colours, markers, indicators) asks
//! [`TwinClock::shown`] which instant to show.

use crate::twin::feeds::Timestamp;
use crate::twin::feeds::timefmt::civil_from_days;

/// Playback speeds offered by the time slider (× real time).
pub const PLAY_SPEEDS: [f64; 6] = [1.0, 10.0, 60.0, 300.0, 1_800.0, 3_600.0];

/// What the twin shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClockMode {
    /// The newest data, following "now".
    Live,
    /// A fixed past instant.
    Paused,
    /// History played forward at a speed (× real time); rejoins live when it catches up.
    Playing {
        /// Multiple of real time.
        speed: f64,
    },
}

/// The instant the twin shows and how it moves.
#[derive(Debug, Clone, PartialEq)]
pub struct TwinClock {
    mode: ClockMode,
    /// The instant shown when not live.
    at: Timestamp,
}

impl Default for TwinClock {
    fn default() -> Self {
        TwinClock {
            mode: ClockMode::Live,
            at: Timestamp(0),
        }
    }
}

impl TwinClock {
    /// The current mode.
    pub fn mode(&self) -> ClockMode {
        self.mode
    }

    /// True when following live data.
    pub fn is_live(&self) -> bool {
        self.mode == ClockMode::Live
    }

    /// The instant to show, given what "now" is (the wall clock, or a simulator's clock).
    pub fn shown(&self, now: Timestamp) -> Timestamp {
        match self.mode {
            ClockMode::Live => now,
            _ => self.at.min(now),
        }
    }

    /// Jumps to a past instant and pauses there; instants at or after `now` go live.
    pub fn scrub_to(&mut self, t: Timestamp, now: Timestamp) {
        if t >= now {
            self.go_live();
        } else {
            self.at = t;
            self.mode = ClockMode::Paused;
        }
    }

    /// Follows live data again.
    pub fn go_live(&mut self) {
        self.mode = ClockMode::Live;
    }

    /// Plays forward from the instant shown at a speed (× real time).
    pub fn play(&mut self, speed: f64, now: Timestamp) {
        if self.is_live() {
            return;
        }
        self.at = self.shown(now);
        self.mode = ClockMode::Playing {
            speed: speed.max(0.0),
        };
    }

    /// Stops at the instant shown (from live: freezes "now").
    pub fn pause(&mut self, now: Timestamp) {
        self.at = self.shown(now);
        self.mode = ClockMode::Paused;
    }

    /// Advances playback by `real_ms` of real time; catching up with `now` goes live.
    pub fn tick(&mut self, real_ms: f64, now: Timestamp) {
        if let ClockMode::Playing { speed } = self.mode {
            let step = (real_ms.max(0.0) * speed).round() as i64;
            self.at = self.at.plus_ms(step);
            if self.at >= now {
                self.go_live();
            }
        }
    }
}

/// Formats a timestamp as `YYYY-MM-DD HH:MM:SS` UTC (civil calendar, no time-zone database).
pub fn format_utc(t: Timestamp) -> String {
    let secs = t.0.div_euclid(1_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3_600,
        (rem % 3_600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_764_000_000_000);

    #[test]
    fn live_follows_now_and_scrub_pauses_in_the_past() {
        let mut c = TwinClock::default();
        assert_eq!(c.shown(NOW), NOW);
        let past = NOW.plus_ms(-Timestamp::HOUR_MS);
        c.scrub_to(past, NOW);
        assert_eq!(c.mode(), ClockMode::Paused);
        assert_eq!(c.shown(NOW.plus_ms(5_000)), past);
        c.scrub_to(NOW.plus_ms(1), NOW);
        assert!(c.is_live());
    }

    #[test]
    fn playing_advances_at_speed_and_rejoins_live() {
        let mut c = TwinClock::default();
        let start = NOW.plus_ms(-10 * Timestamp::SECOND_MS);
        c.scrub_to(start, NOW);
        c.play(2.0, NOW);
        c.tick(1_000.0, NOW);
        assert_eq!(c.shown(NOW), start.plus_ms(2_000));
        c.tick(4_000.0, NOW);
        assert_eq!(c.shown(NOW), start.plus_ms(10_000));
        assert!(c.is_live(), "caught up with now");
    }

    #[test]
    fn pause_from_live_freezes_now() {
        let mut c = TwinClock::default();
        c.pause(NOW);
        assert_eq!(c.shown(NOW.plus_ms(60_000)), NOW);
        c.play(1.0, NOW.plus_ms(60_000));
        assert_eq!(c.mode(), ClockMode::Playing { speed: 1.0 });
    }

    #[test]
    fn utc_formatting_matches_known_dates() {
        assert_eq!(format_utc(Timestamp(0)), "1970-01-01 00:00:00");
        // 2026-11-28 17:29:25 UTC.
        assert_eq!(format_utc(Timestamp(1_795_886_965_000)), "2026-11-28 17:29:25");
        // A leap day.
        assert_eq!(format_utc(Timestamp(951_782_400_000)), "2000-02-29 00:00:00");
    }
}
