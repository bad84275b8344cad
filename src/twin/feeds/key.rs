//! `SubjectKey`: the hashable, storable key of what an observation is about, used by the
//! live state's latest-value map and the history store's `subject` column.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::twin::city::{BuildingId, RoadId, ZoneId};
use crate::twin::feeds::observation::{Observation, Subject};

/// Key of a subject: sensors, roads, buildings and zones by id; points by the item named
/// first in the observation's detail (`vehicle=tram-3`, `request=12`), else by position.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SubjectKey {
    /// A sensor id.
    Sensor(String),
    /// A road.
    Road(RoadId),
    /// A building.
    Building(BuildingId),
    /// A zone.
    Zone(ZoneId),
    /// A moving or point item named in the detail (`vehicle=tram-3`).
    Item(String),
    /// A bare point, position in centimetres.
    Point(i64, i64),
    /// The whole city.
    City,
}

impl SubjectKey {
    /// The key of an observation's subject.
    pub fn of(o: &Observation) -> SubjectKey {
        match &o.subject {
            Subject::Sensor(s) => SubjectKey::Sensor(s.clone()),
            Subject::Road(r) => SubjectKey::Road(*r),
            Subject::Building(b) => SubjectKey::Building(*b),
            Subject::Zone(z) => SubjectKey::Zone(*z),
            Subject::City => SubjectKey::City,
            Subject::Point { x, y } => {
                let first = o.detail.split(';').next().unwrap_or("").trim();
                if first.is_empty() {
                    SubjectKey::Point((x * 100.0).round() as i64, (y * 100.0).round() as i64)
                } else {
                    SubjectKey::Item(first.to_string())
                }
            }
        }
    }

    /// Parses [`SubjectKey`]'s display form (as stored).
    pub fn parse(s: &str) -> Option<SubjectKey> {
        let (kind, rest) = s.split_once(':').unwrap_or((s, ""));
        Some(match kind {
            "sensor" => SubjectKey::Sensor(rest.to_string()),
            "road" => SubjectKey::Road(RoadId(rest.parse().ok()?)),
            "building" => SubjectKey::Building(BuildingId(rest.parse().ok()?)),
            "zone" => SubjectKey::Zone(ZoneId(rest.parse().ok()?)),
            "item" => SubjectKey::Item(rest.to_string()),
            "point" => {
                let (x, y) = rest.split_once(',')?;
                SubjectKey::Point(x.parse().ok()?, y.parse().ok()?)
            }
            "city" => SubjectKey::City,
            _ => return None,
        })
    }
}

impl fmt::Display for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectKey::Sensor(s) => write!(f, "sensor:{s}"),
            SubjectKey::Road(r) => write!(f, "road:{}", r.0),
            SubjectKey::Building(b) => write!(f, "building:{}", b.0),
            SubjectKey::Zone(z) => write!(f, "zone:{}", z.0),
            SubjectKey::Item(s) => write!(f, "item:{s}"),
            SubjectKey::Point(x, y) => write!(f, "point:{x},{y}"),
            SubjectKey::City => f.write_str("city"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::feeds::observation::{Metric, SourceId, Timestamp};

    #[test]
    fn keys_round_trip_through_text() {
        for k in [
            SubjectKey::Sensor("aq:1".into()),
            SubjectKey::Road(RoadId(3)),
            SubjectKey::Building(BuildingId(4)),
            SubjectKey::Zone(ZoneId(5)),
            SubjectKey::Item("vehicle=tram-3".into()),
            SubjectKey::Point(-12, 40),
            SubjectKey::City,
        ] {
            assert_eq!(SubjectKey::parse(&k.to_string()), Some(k));
        }
        assert_eq!(SubjectKey::parse("road:x"), None);
        assert_eq!(SubjectKey::parse("planet:1"), None);
    }

    #[test]
    fn points_key_by_detail_item() {
        let s = SourceId("s".into());
        let mut o = Observation::new(
            &s,
            Subject::Point { x: 1.0, y: 2.0 },
            Metric::TransitDelay,
            30.0,
            Timestamp(0),
        );
        assert_eq!(SubjectKey::of(&o), SubjectKey::Point(100, 200));
        o.detail = "vehicle=tram-3;line=3".into();
        assert_eq!(SubjectKey::of(&o), SubjectKey::Item("vehicle=tram-3".into()));
    }
}
