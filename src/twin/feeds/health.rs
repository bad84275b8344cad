//! Feed health per source: connected / reconnecting / stale / stopped, last message age,
//! messages per second over a sliding window, errors by kind, dropped messages and the last
//! bad sample. Pure: every update and question takes the time explicitly.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::twin::feeds::observation::{SourceId, Timestamp};
use crate::twin::feeds::source::{FeedEvent, cut_sample};

/// Width of the messages-per-second window, ms.
pub const RATE_WINDOW_MS: i64 = 10_000;
/// Longest error message kept for the panel, characters (a message can quote its input).
pub const MAX_MESSAGE_CHARS: usize = 1_000;
/// Stale timeout when the scene gives none, seconds.
pub const DEFAULT_STALE_AFTER_S: f64 = 60.0;

/// Kinds of bad input and faults, counted per source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Not parseable (bad JSON, bad CSV line).
    Malformed,
    /// A field has the wrong type (text where a number belongs).
    WrongType,
    /// A required field is missing.
    MissingField,
    /// No mapping matches the message (topic, Datastream).
    Unmapped,
    /// A metric id citytwin does not know.
    UnknownMetric,
    /// A road, building or zone id outside the city model.
    UnknownId,
    /// A time too far in the future.
    FutureTime,
    /// A time older than the retention.
    PastTime,
    /// NaN or infinite value or coordinate.
    NotFinite,
    /// A value outside the metric's plausible range.
    OutOfRange,
    /// A text field (sensor id, unit, detail) longer than the feeds accept.
    TooLarge,
    /// A connection or I/O fault of the source.
    Connection,
}

impl ErrorKind {
    /// Short name for panels and logs.
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed",
            ErrorKind::WrongType => "wrong type",
            ErrorKind::MissingField => "missing field",
            ErrorKind::Unmapped => "unmapped",
            ErrorKind::UnknownMetric => "unknown metric",
            ErrorKind::UnknownId => "unknown id",
            ErrorKind::FutureTime => "time in the future",
            ErrorKind::PastTime => "time too old",
            ErrorKind::NotFinite => "not finite",
            ErrorKind::OutOfRange => "out of range",
            ErrorKind::TooLarge => "too large",
            ErrorKind::Connection => "connection",
        }
    }
}

/// A message cut to [`MAX_MESSAGE_CHARS`].
fn cut_message(m: &str) -> String {
    match m.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((i, _)) => format!("{}…", &m[..i]),
        None => m.to_string(),
    }
}

/// Link state of a source as the health panel shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Started, nothing heard yet.
    Starting,
    /// Delivering.
    Connected,
    /// Lost its connection and retrying.
    Reconnecting,
    /// Connected but silent for longer than the stale timeout.
    Stale,
    /// Ended.
    Stopped,
}

/// The last bad input of a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BadSample {
    /// When it arrived (wall clock).
    pub at: Timestamp,
    /// Kind of fault.
    pub kind: ErrorKind,
    /// What was wrong.
    pub message: String,
    /// The input itself (cut).
    pub sample: String,
}

/// Health of one source.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedHealth {
    /// The source.
    pub source: SourceId,
    /// Link state from the source's own events (see [`FeedHealth::state`] for staleness).
    pub link: LinkState,
    /// Silence after which the source counts as stale, ms.
    pub stale_after_ms: i64,
    /// When the source started or last (re)connected.
    pub since: Option<Timestamp>,
    /// When the last observation arrived (wall clock).
    pub last_message: Option<Timestamp>,
    /// Observations received.
    pub received: u64,
    /// Observations accepted into the state.
    pub accepted: u64,
    /// Rejections and source faults by kind.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Observations or events lost because a channel was full.
    pub dropped: u64,
    /// Times the source lost its connection.
    pub reconnects: u64,
    /// Times the source went stale (counted when noticed by [`FeedHealth::tick`]).
    pub stale_episodes: u64,
    /// The last bad input.
    pub last_bad: Option<BadSample>,
    /// The last reconnect reason.
    pub last_reconnect_reason: Option<String>,
    /// Observations per second slot, for the rate (slot start ms, count).
    window: VecDeque<(i64, u64)>,
    stale_seen: bool,
}

impl FeedHealth {
    /// Health of a new source with a stale timeout in seconds.
    pub fn new(source: SourceId, stale_after_s: f64) -> FeedHealth {
        FeedHealth {
            source,
            link: LinkState::Starting,
            stale_after_ms: (stale_after_s.max(0.001) * 1_000.0) as i64,
            since: None,
            last_message: None,
            received: 0,
            accepted: 0,
            errors: BTreeMap::new(),
            dropped: 0,
            reconnects: 0,
            stale_episodes: 0,
            last_bad: None,
            last_reconnect_reason: None,
            window: VecDeque::new(),
            stale_seen: false,
        }
    }

    /// Applies a source event received at `now`.
    pub fn on_event(&mut self, event: &FeedEvent, now: Timestamp) {
        match event {
            FeedEvent::Connected => {
                self.link = LinkState::Connected;
                self.since = Some(now);
            }
            FeedEvent::Reconnecting { reason, .. } => {
                if self.link != LinkState::Reconnecting {
                    self.reconnects += 1;
                }
                self.link = LinkState::Reconnecting;
                self.last_reconnect_reason = Some(reason.clone());
            }
            FeedEvent::Error {
                kind,
                message,
                sample,
            } => self.on_bad(*kind, message, sample, now),
            FeedEvent::Stopped => self.link = LinkState::Stopped,
            // The live state keeps source clocks; a clock says nothing of the link.
            FeedEvent::Clock(_) => {}
        }
    }

    /// Counts `n` observations received at `now`, of which `accepted` were accepted.
    pub fn on_observations(&mut self, n: u64, accepted: u64, now: Timestamp) {
        if n == 0 {
            return;
        }
        self.received += n;
        self.accepted += accepted;
        self.last_message = Some(now);
        self.stale_seen = false;
        if self.link == LinkState::Starting {
            self.link = LinkState::Connected;
            self.since = Some(now);
        }
        let slot = now.0.saturating_sub(now.0.rem_euclid(1_000));
        match self.window.back_mut() {
            Some((s, c)) if *s == slot => *c += n,
            _ => self.window.push_back((slot, n)),
        }
        self.trim(now);
    }

    /// Counts one bad input (a rejected observation or a source fault).
    pub fn on_bad(&mut self, kind: ErrorKind, message: &str, sample: &str, now: Timestamp) {
        *self.errors.entry(kind).or_default() += 1;
        self.last_bad = Some(BadSample {
            at: now,
            kind,
            message: cut_message(message),
            sample: cut_sample(sample),
        });
    }

    /// Sets the dropped count (the channel keeps the running total).
    pub fn set_dropped(&mut self, dropped: u64) {
        self.dropped = dropped;
    }

    /// Notices a change to stale; call once a frame (or after each drain).
    pub fn tick(&mut self, now: Timestamp) {
        let stale = self.is_stale(now);
        if stale && !self.stale_seen {
            self.stale_episodes += 1;
        }
        self.stale_seen = stale;
        self.trim(now);
    }

    /// True when nothing arrived for longer than the stale timeout while the source runs.
    pub fn is_stale(&self, now: Timestamp) -> bool {
        if self.link == LinkState::Stopped {
            return false;
        }
        let reference = match (self.last_message, self.since) {
            (Some(m), Some(s)) => m.max(s),
            (Some(m), None) => m,
            (None, Some(s)) => s,
            (None, None) => return false,
        };
        now.ms_since(reference) > self.stale_after_ms
    }

    /// The state to show: the link state, with Connected turned Stale after the timeout.
    pub fn state(&self, now: Timestamp) -> LinkState {
        match self.link {
            LinkState::Connected | LinkState::Starting if self.is_stale(now) => LinkState::Stale,
            l => l,
        }
    }

    /// Age of the last observation, ms.
    pub fn message_age_ms(&self, now: Timestamp) -> Option<i64> {
        self.last_message.map(|t| now.ms_since(t).max(0))
    }

    /// Observations per second over the last [`RATE_WINDOW_MS`].
    pub fn msgs_per_s(&self, now: Timestamp) -> f64 {
        let from = now.0.saturating_sub(RATE_WINDOW_MS);
        let n: u64 = self
            .window
            .iter()
            .filter(|(s, _)| *s > from && *s <= now.0)
            .map(|(_, c)| c)
            .sum();
        n as f64 * 1_000.0 / RATE_WINDOW_MS as f64
    }

    /// All errors counted.
    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }

    fn trim(&mut self, now: Timestamp) {
        while self
            .window
            .front()
            .is_some_and(|(s, _)| *s <= now.0.saturating_sub(RATE_WINDOW_MS))
        {
            self.window.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn h() -> FeedHealth {
        FeedHealth::new(SourceId("s".into()), 5.0)
    }

    #[test]
    fn stale_after_timeout_and_back() {
        let mut h = h();
        assert_eq!(h.state(Timestamp(0)), LinkState::Starting);
        h.on_event(&FeedEvent::Connected, Timestamp(1_000));
        h.on_observations(3, 3, Timestamp(2_000));
        assert_eq!(h.state(Timestamp(6_000)), LinkState::Connected);
        assert_eq!(h.state(Timestamp(7_001)), LinkState::Stale);
        h.tick(Timestamp(7_001));
        h.tick(Timestamp(8_000));
        assert_eq!(h.stale_episodes, 1);
        h.on_observations(1, 1, Timestamp(9_000));
        assert_eq!(h.state(Timestamp(9_500)), LinkState::Connected);
        assert_eq!(h.message_age_ms(Timestamp(9_500)), Some(500));
    }

    #[test]
    fn reconnecting_counts_once_per_outage() {
        let mut h = h();
        h.on_event(&FeedEvent::Connected, Timestamp(0));
        let r = FeedEvent::Reconnecting {
            reason: "refused".into(),
            retry_in: Duration::from_secs(1),
        };
        h.on_event(&r, Timestamp(10));
        h.on_event(&r, Timestamp(20));
        assert_eq!(h.reconnects, 1);
        assert_eq!(h.state(Timestamp(30)), LinkState::Reconnecting);
        assert!(h.is_stale(Timestamp(6_000)));
        h.on_event(&FeedEvent::Connected, Timestamp(7_000));
        assert_eq!(h.state(Timestamp(7_001)), LinkState::Connected);
    }

    #[test]
    fn rate_is_over_the_window() {
        let mut h = h();
        for i in 0..20 {
            h.on_observations(10, 10, Timestamp(i * 1_000));
        }
        // Slots 10..=19 s are inside the 10 s window ending at 19.5 s.
        assert_eq!(h.msgs_per_s(Timestamp(19_500)), 10.0);
        assert_eq!(h.msgs_per_s(Timestamp(100_000)), 0.0);
    }

    #[test]
    fn errors_counted_by_kind_with_last_sample() {
        let mut h = h();
        h.on_bad(ErrorKind::Malformed, "bad json", "{oops", Timestamp(1));
        h.on_event(
            &FeedEvent::Error {
                kind: ErrorKind::NotFinite,
                message: "NaN".into(),
                sample: "{\"v\":NaN}".into(),
            },
            Timestamp(2),
        );
        h.on_bad(ErrorKind::Malformed, "bad json", "}", Timestamp(3));
        assert_eq!(h.errors[&ErrorKind::Malformed], 2);
        assert_eq!(h.error_total(), 3);
        assert_eq!(h.last_bad.as_ref().unwrap().sample, "}");
    }
}
