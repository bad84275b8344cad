//! Checks of incoming observations before they reach the state and the store: finite
//! values and coordinates, the metric's plausible range, times within
//! [`Timestamp::LIMIT_MS`] of the epoch, not far in the future nor older than the
//! retention, text fields of bounded size, and road / building / zone ids that exist in
//! the city model. Every time difference saturates: no input can overflow a check.

use crate::twin::city::CityModel;
use crate::twin::feeds::health::ErrorKind;
use crate::twin::feeds::observation::{Observation, Subject, Timestamp};

/// How far in the future an observation's time may lie, ms (clock skew allowance).
pub const DEFAULT_MAX_FUTURE_MS: i64 = 5 * 60 * 1_000;
/// Longest sensor id, unit or detail text accepted, bytes.
pub const MAX_TEXT_BYTES: usize = 4_096;

/// Why an observation was rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// Kind of fault (counted per source).
    pub kind: ErrorKind,
    /// What was wrong, for the health panel.
    pub message: String,
}

/// The checks, with the city model's sizes and the time limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Validator {
    /// Number of roads in the model (ids below are valid).
    pub roads: u32,
    /// Number of buildings.
    pub buildings: u32,
    /// Number of zones.
    pub zones: u32,
    /// Largest allowed lead of an observation's time over now, ms.
    pub max_future_ms: i64,
    /// Largest allowed age, ms (the retention); `None` accepts any age.
    pub max_age_ms: Option<i64>,
}

impl Validator {
    /// Checks against a city model's sizes with the default future limit and no age limit.
    pub fn for_city(city: &CityModel) -> Validator {
        Validator {
            roads: city.roads.len() as u32,
            buildings: city.buildings.len() as u32,
            zones: city.zones.len() as u32,
            max_future_ms: DEFAULT_MAX_FUTURE_MS,
            max_age_ms: None,
        }
    }

    /// Accepts any id (for tests and benchmarks without a city).
    pub fn permissive() -> Validator {
        Validator {
            roads: u32::MAX,
            buildings: u32::MAX,
            zones: u32::MAX,
            max_future_ms: i64::MAX / 4,
            max_age_ms: None,
        }
    }

    /// Sets the age limit from a retention in days.
    pub fn with_retention_days(mut self, days: f64) -> Validator {
        // `as` saturates; NaN or a negative retention keeps nothing.
        self.max_age_ms = Some(((days * Timestamp::DAY_MS as f64) as i64).max(0));
        self
    }

    /// Checks one observation against the wall-clock time `now`.
    pub fn check(&self, o: &Observation, now: Timestamp) -> Result<(), Rejection> {
        let bad = |kind, message: String| Err(Rejection { kind, message });
        if !o.value.is_finite() {
            return bad(ErrorKind::NotFinite, format!("{} value is {}", o.metric, o.value));
        }
        let (lo, hi) = o.metric.plausible_range();
        if o.value < lo || o.value > hi {
            return bad(
                ErrorKind::OutOfRange,
                format!("{} value {} outside [{lo}, {hi}]", o.metric, o.value),
            );
        }
        match &o.subject {
            Subject::Road(r) if r.0 >= self.roads => {
                return bad(
                    ErrorKind::UnknownId,
                    format!("road {} not in the model ({} roads)", r.0, self.roads),
                );
            }
            Subject::Building(b) if b.0 >= self.buildings => {
                return bad(
                    ErrorKind::UnknownId,
                    format!("building {} not in the model ({} buildings)", b.0, self.buildings),
                );
            }
            Subject::Zone(z) if z.0 >= self.zones => {
                return bad(
                    ErrorKind::UnknownId,
                    format!("zone {} not in the model ({} zones)", z.0, self.zones),
                );
            }
            Subject::Point { x, y } if !(x.is_finite() && y.is_finite()) => {
                return bad(ErrorKind::NotFinite, format!("point ({x}, {y}) is not finite"));
            }
            Subject::Sensor(s) if s.is_empty() => {
                return bad(ErrorKind::UnknownId, "empty sensor id".to_string());
            }
            _ => {}
        }
        let too_long = [
            ("unit", o.unit.len()),
            ("detail", o.detail.len()),
            ("source", o.source.0.len()),
            (
                "sensor id",
                match &o.subject {
                    Subject::Sensor(s) => s.len(),
                    _ => 0,
                },
            ),
        ]
        .into_iter()
        .find(|(_, n)| *n > MAX_TEXT_BYTES);
        if let Some((what, n)) = too_long {
            return bad(
                ErrorKind::TooLarge,
                format!("{what} is {n} bytes, more than {MAX_TEXT_BYTES}"),
            );
        }
        if !o.time.is_plausible() {
            let kind = if o.time.0 > 0 {
                ErrorKind::FutureTime
            } else {
                ErrorKind::PastTime
            };
            return bad(
                kind,
                format!(
                    "time {} ms is more than {} ms from the epoch",
                    o.time.0,
                    Timestamp::LIMIT_MS
                ),
            );
        }
        let ahead = o.time.ms_since(now);
        if ahead > self.max_future_ms {
            return bad(ErrorKind::FutureTime, format!("time {ahead} ms ahead of now"));
        }
        if let Some(age) = self.max_age_ms
            && now.ms_since(o.time) > age
        {
            return bad(
                ErrorKind::PastTime,
                format!(
                    "time {} days old, beyond the retention",
                    now.ms_since(o.time) / Timestamp::DAY_MS
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::city::{RoadId, ZoneId};
    use crate::twin::feeds::observation::{Metric, SourceId};

    fn v() -> Validator {
        Validator {
            roads: 10,
            buildings: 5,
            zones: 2,
            max_future_ms: 60_000,
            max_age_ms: Some(Timestamp::DAY_MS),
        }
    }

    fn o(subject: Subject, metric: Metric, value: f64, t: i64) -> Observation {
        Observation::new(&SourceId("s".into()), subject, metric, value, Timestamp(t))
    }

    #[test]
    fn rejects_each_kind_of_bad_input() {
        let now = Timestamp(10 * Timestamp::DAY_MS);
        let t = now.0;
        let v = v();
        let kind = |o: Observation| v.check(&o, now).err().map(|r| r.kind);
        assert_eq!(
            kind(o(Subject::Road(RoadId(9)), Metric::TrafficSpeed, 40.0, t)),
            None
        );
        assert_eq!(
            kind(o(Subject::Road(RoadId(10)), Metric::TrafficSpeed, 40.0, t)),
            Some(ErrorKind::UnknownId)
        );
        assert_eq!(
            kind(o(Subject::Zone(ZoneId(2)), Metric::Sentiment, 0.0, t)),
            Some(ErrorKind::UnknownId)
        );
        assert_eq!(
            kind(o(Subject::City, Metric::Noise, f64::NAN, t)),
            Some(ErrorKind::NotFinite)
        );
        assert_eq!(
            kind(o(Subject::City, Metric::Sentiment, 1.5, t)),
            Some(ErrorKind::OutOfRange)
        );
        assert_eq!(
            kind(o(Subject::City, Metric::Noise, 50.0, t + 61_000)),
            Some(ErrorKind::FutureTime)
        );
        assert_eq!(
            kind(o(Subject::City, Metric::Noise, 50.0, t - 2 * Timestamp::DAY_MS)),
            Some(ErrorKind::PastTime)
        );
        assert_eq!(
            kind(o(
                Subject::Point {
                    x: f64::INFINITY,
                    y: 0.0
                },
                Metric::TransitDelay,
                1.0,
                t
            )),
            Some(ErrorKind::NotFinite)
        );
    }
}
