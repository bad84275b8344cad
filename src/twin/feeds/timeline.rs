//! The time slider's state, pure: live (follow now), paused at an instant, or playing the
//! history forward at a speed from an instant; the instant the twin shows at a wall time.

use crate::twin::feeds::observation::Timestamp;

/// Smallest and largest history playback speed.
pub const PLAY_SPEED_RANGE: (f64, f64) = (0.1, 10_000.0);

/// What the twin shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeMode {
    /// The live picture, following now.
    Live,
    /// A fixed past instant.
    Paused {
        /// The instant shown.
        at: Timestamp,
    },
    /// History played forward.
    Playing {
        /// The instant shown at `wall_start`.
        from: Timestamp,
        /// Wall-clock time playing started.
        wall_start: Timestamp,
        /// History seconds per wall second.
        speed: f64,
    },
}

/// The time slider.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeline {
    /// Current mode.
    pub mode: TimeMode,
    /// Speed used by the next [`Timeline::play`].
    pub speed: f64,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            mode: TimeMode::Live,
            speed: 1.0,
        }
    }
}

impl Timeline {
    /// The instant shown at wall time `now` (never later than `now`).
    pub fn view_time(&self, now: Timestamp) -> Timestamp {
        match self.mode {
            TimeMode::Live => now,
            TimeMode::Paused { at } => at.min(now),
            TimeMode::Playing {
                from,
                wall_start,
                speed,
            } => from
                .plus_ms(((now.0 - wall_start.0) as f64 * speed) as i64)
                .min(now),
        }
    }

    /// True when following now.
    pub fn is_live(&self) -> bool {
        self.mode == TimeMode::Live
    }

    /// Jumps to an instant, paused (the slider was dragged).
    pub fn seek(&mut self, at: Timestamp, now: Timestamp) {
        self.mode = TimeMode::Paused { at: at.min(now) };
    }

    /// Back to live.
    pub fn go_live(&mut self) {
        self.mode = TimeMode::Live;
    }

    /// Pauses at the instant shown now.
    pub fn pause(&mut self, now: Timestamp) {
        self.mode = TimeMode::Paused {
            at: self.view_time(now),
        };
    }

    /// Plays forward from the instant shown now at [`Timeline::speed`].
    pub fn play(&mut self, now: Timestamp) {
        self.mode = TimeMode::Playing {
            from: self.view_time(now),
            wall_start: now,
            speed: self.speed,
        };
    }

    /// Sets the speed (clamped to [`PLAY_SPEED_RANGE`]); a playing slider continues from
    /// where it is at the new speed.
    pub fn set_speed(&mut self, speed: f64, now: Timestamp) {
        let (lo, hi) = PLAY_SPEED_RANGE;
        self.speed = if speed.is_finite() {
            speed.clamp(lo, hi)
        } else {
            1.0
        };
        if matches!(self.mode, TimeMode::Playing { .. }) {
            self.play(now);
        }
    }

    /// Call each frame: playing that has caught up with now becomes live.
    pub fn tick(&mut self, now: Timestamp) {
        if let TimeMode::Playing { .. } = self.mode
            && self.view_time(now) >= now
        {
            self.mode = TimeMode::Live;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_play_pause_and_back_to_live() {
        let mut t = Timeline::default();
        let now = Timestamp(1_000_000);
        assert_eq!(t.view_time(now), now);
        t.seek(Timestamp(400_000), now);
        assert_eq!(t.view_time(Timestamp(2_000_000)), Timestamp(400_000));
        t.set_speed(60.0, now);
        t.play(now);
        assert_eq!(t.view_time(Timestamp(1_001_000)), Timestamp(460_000));
        t.pause(Timestamp(1_002_000));
        assert_eq!(t.view_time(Timestamp(9_000_000)), Timestamp(520_000));
        t.play(Timestamp(1_002_000));
        t.tick(Timestamp(1_003_000));
        assert!(!t.is_live());
        // 60× catches up with now after about 8 s more.
        t.tick(Timestamp(1_012_000));
        assert!(t.is_live());
        t.seek(Timestamp(5_000_000), now);
        assert_eq!(t.view_time(now), now, "never shows the future");
        t.go_live();
        assert!(t.is_live());
        t.set_speed(f64::NAN, now);
        assert_eq!(t.speed, 1.0);
    }
}
