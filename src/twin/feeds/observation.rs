//! The observation model shared by every live feed, the history store, the indicators and
//! the views: who sent it, what it is about, which metric, value, unit, time and quality.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::twin::city::{BuildingId, RoadId, ZoneId};

/// Milliseconds since the Unix epoch (UTC): the one time type of feeds and history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Milliseconds in one second.
    pub const SECOND_MS: i64 = 1_000;
    /// Milliseconds in one hour.
    pub const HOUR_MS: i64 = 3_600_000;
    /// Milliseconds in one day.
    pub const DAY_MS: i64 = 86_400_000;
    /// Largest distance from the epoch a feed's time may have, ms (about 31,700 years
    /// either way): anything beyond is bad input, and every difference of two times
    /// within it fits an i64 with room to spare.
    pub const LIMIT_MS: i64 = 1_000_000_000_000_000;

    /// True when the time lies within [`Timestamp::LIMIT_MS`] of the epoch.
    pub fn is_plausible(self) -> bool {
        (-Timestamp::LIMIT_MS..=Timestamp::LIMIT_MS).contains(&self.0)
    }

    /// `self - earlier` in ms, saturating at the i64 limits instead of overflowing.
    pub fn ms_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// The current wall-clock time.
    pub fn now() -> Timestamp {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(since.as_millis() as i64)
    }

    /// This time plus a number of milliseconds.
    pub fn plus_ms(self, ms: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }

    /// Seconds since the Unix epoch as f64.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1_000.0
    }
}

/// Name of a feed source as given in the scene (e.g. "simulator", "mqtt-air").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SourceId(pub String);

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an observation is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Subject {
    /// A sensor by its id in the feed (air-quality station, noise meter, counter).
    Sensor(String),
    /// A road segment of the city model.
    Road(RoadId),
    /// A building of the city model.
    Building(BuildingId),
    /// An analysis zone of the city model.
    Zone(ZoneId),
    /// A point in the scene CRS (e.g. a service request's location, a vehicle).
    Point {
        /// Easting, scene CRS metres.
        x: f64,
        /// Northing, scene CRS metres.
        y: f64,
    },
    /// The whole city.
    City,
}

/// The metrics citytwin understands out of the box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Traffic speed on a road segment, km/h.
    TrafficSpeed,
    /// Traffic flow on a road segment, vehicles per hour.
    TrafficFlow,
    /// Fine particulate matter, µg/m³.
    Pm25,
    /// Coarse particulate matter, µg/m³.
    Pm10,
    /// Nitrogen dioxide, µg/m³.
    No2,
    /// Noise level, dB(A).
    Noise,
    /// Electricity load, kW.
    ElectricityLoad,
    /// Share of the electricity load met by renewables, 0–1.
    RenewableShare,
    /// Transit vehicle delay, seconds (position in the subject).
    TransitDelay,
    /// A citizen service request was opened (value: category code, see the request's
    /// `detail`).
    ServiceRequestOpened,
    /// A citizen service request was closed (value: hours it was open).
    ServiceRequestClosed,
    /// Public sentiment score, −1 (negative) to +1 (positive).
    Sentiment,
}

impl Metric {
    /// Every metric, in a fixed order.
    pub const ALL: [Metric; 12] = [
        Metric::TrafficSpeed,
        Metric::TrafficFlow,
        Metric::Pm25,
        Metric::Pm10,
        Metric::No2,
        Metric::Noise,
        Metric::ElectricityLoad,
        Metric::RenewableShare,
        Metric::TransitDelay,
        Metric::ServiceRequestOpened,
        Metric::ServiceRequestClosed,
        Metric::Sentiment,
    ];

    /// The metric's id as written in scenes, JSON and the store (snake case).
    pub fn id(self) -> &'static str {
        match self {
            Metric::TrafficSpeed => "traffic_speed",
            Metric::TrafficFlow => "traffic_flow",
            Metric::Pm25 => "pm25",
            Metric::Pm10 => "pm10",
            Metric::No2 => "no2",
            Metric::Noise => "noise",
            Metric::ElectricityLoad => "electricity_load",
            Metric::RenewableShare => "renewable_share",
            Metric::TransitDelay => "transit_delay",
            Metric::ServiceRequestOpened => "service_request_opened",
            Metric::ServiceRequestClosed => "service_request_closed",
            Metric::Sentiment => "sentiment",
        }
    }

    /// The metric for an id ([`Metric::id`]).
    pub fn from_id(id: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.id() == id)
    }

    /// The canonical unit values of this metric are stored in.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::TrafficSpeed => "km/h",
            Metric::TrafficFlow => "veh/h",
            Metric::Pm25 | Metric::Pm10 | Metric::No2 => "µg/m³",
            Metric::Noise => "dB(A)",
            Metric::ElectricityLoad => "kW",
            Metric::RenewableShare => "ratio",
            Metric::TransitDelay => "s",
            Metric::ServiceRequestOpened => "code",
            Metric::ServiceRequestClosed => "h",
            Metric::Sentiment => "score",
        }
    }

    /// The range of plausible values; anything outside is bad input.
    pub fn plausible_range(self) -> (f64, f64) {
        match self {
            Metric::TrafficSpeed => (0.0, 250.0),
            Metric::TrafficFlow => (0.0, 20_000.0),
            Metric::Pm25 | Metric::Pm10 => (0.0, 2_000.0),
            Metric::No2 => (0.0, 5_000.0),
            Metric::Noise => (0.0, 160.0),
            Metric::ElectricityLoad => (0.0, 1.0e7),
            Metric::RenewableShare => (0.0, 1.0),
            Metric::TransitDelay => (-3_600.0, 86_400.0),
            Metric::ServiceRequestOpened => (0.0, 1.0e9),
            Metric::ServiceRequestClosed => (0.0, 1.0e6),
            Metric::Sentiment => (-1.0, 1.0),
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Quality flag a source may attach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    /// Validated by the source.
    Good,
    /// Not yet validated (typical for live values).
    Raw,
    /// Marked suspect by the source.
    Suspect,
    /// Estimated or simulated rather than measured.
    Estimated,
}

/// One observation: the unit of every live feed and of the history store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The feed it came from.
    pub source: SourceId,
    /// What it is about.
    pub subject: Subject,
    /// Which metric.
    pub metric: Metric,
    /// The value, in [`Observation::unit`].
    pub value: f64,
    /// Unit of `value` (normally [`Metric::unit`]).
    pub unit: String,
    /// When it was observed.
    pub time: Timestamp,
    /// Quality flag, when the source gives one.
    pub quality: Option<Quality>,
    /// Free detail: a service request's id and category, a sensor's topic, a sentiment
    /// topic. Empty when there is none.
    pub detail: String,
}

impl Observation {
    /// An observation in the metric's canonical unit, without quality or detail.
    pub fn new(source: &SourceId, subject: Subject, metric: Metric, value: f64, time: Timestamp) -> Self {
        Observation {
            source: source.clone(),
            subject,
            metric,
            value,
            unit: metric.unit().to_string(),
            time,
            quality: None,
            detail: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_ids_round_trip_and_are_unique() {
        let mut ids: Vec<&str> = Metric::ALL.iter().map(|m| m.id()).collect();
        for m in Metric::ALL {
            assert_eq!(Metric::from_id(m.id()), Some(m));
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), Metric::ALL.len());
        assert_eq!(Metric::from_id("no_such_metric"), None);
    }

    #[test]
    fn observation_serialises_with_snake_case_metric() {
        let o = Observation::new(
            &SourceId("sim".into()),
            Subject::Road(RoadId(7)),
            Metric::TrafficSpeed,
            31.5,
            Timestamp(1_700_000_000_000),
        );
        let json = serde_json::to_string(&o).unwrap();
        assert!(json.contains("\"traffic_speed\""), "{json}");
        let back: Observation = serde_json::from_str(&json).unwrap();
        assert_eq!(back, o);
        assert_eq!(o.unit, "km/h");
    }
}
