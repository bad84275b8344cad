//! Status of an indicator value against its target and thresholds: on target, warning,
//! alarm, no data (no value), stale (a feed indicator whose newest input is too old), or
//! not applicable (a zone without the indicator's base: no residents for a per-resident
//! figure, no sensor for a feed mean; see [`crate::twin::indicators::catalogue::Base`]).

use serde::{Deserialize, Serialize};

use crate::twin::feeds::Timestamp;
use crate::twin::feeds::provenance::SourceKinds;
use crate::twin::indicators::catalogue::IndicatorDef;

/// The status of one indicator in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Within the warning threshold.
    OnTarget,
    /// At or beyond the warning threshold.
    Warning,
    /// At or beyond the alarm threshold.
    Alarm,
    /// No value.
    NoData,
    /// The newest input is older than the staleness limit.
    Stale,
    /// The zone lacks the indicator's base (residents, floor area, roads, POIs, a
    /// sensor): the figure means nothing there. Never scored, coloured or alerted on.
    NotApplicable,
}

impl Status {
    /// Label as in JSON ("on_target", ...).
    pub fn id(self) -> &'static str {
        match self {
            Status::OnTarget => "on_target",
            Status::Warning => "warning",
            Status::Alarm => "alarm",
            Status::NoData => "no_data",
            Status::Stale => "stale",
            Status::NotApplicable => "not_applicable",
        }
    }

    /// Warning or alarm.
    pub fn is_breach(self) -> bool {
        matches!(self, Status::Warning | Status::Alarm)
    }

    /// How bad, from not applicable (0) and on target (1) through no data and stale to
    /// alarm (5): for "the worst of" a set of statuses.
    pub fn severity(self) -> u8 {
        match self {
            Status::NotApplicable => 0,
            Status::OnTarget => 1,
            Status::NoData => 2,
            Status::Stale => 3,
            Status::Warning => 4,
            Status::Alarm => 5,
        }
    }

    /// Whether the status is a score (on target, warning or alarm): what maps colour and
    /// ranks take in.
    pub fn is_scored(self) -> bool {
        matches!(self, Status::OnTarget | Status::Warning | Status::Alarm)
    }
}

impl Evaluation {
    /// The worst city-wide status among a dimension's indicators (no data when none has
    /// a status).
    pub fn worst_of_dimension(
        &self,
        catalogue: &crate::twin::indicators::catalogue::Catalogue,
        dimension: crate::twin::indicators::catalogue::Dimension,
    ) -> Status {
        catalogue
            .indicators
            .iter()
            .zip(&self.city)
            .filter(|(def, _)| def.dimension == dimension)
            .map(|(_, e)| e.status)
            .max_by_key(|s| s.severity())
            .unwrap_or(Status::NoData)
    }
}

/// Whether `v` is at or beyond threshold `t` in the bad direction of `def`.
pub fn beyond(def: &IndicatorDef, v: f64, t: f64) -> bool {
    if def.higher_is_better { v <= t } else { v >= t }
}

/// The threshold status of a value, ignoring staleness.
pub fn threshold_status(def: &IndicatorDef, v: f64) -> Status {
    if beyond(def, v, def.alarm) {
        Status::Alarm
    } else if beyond(def, v, def.warning) {
        Status::Warning
    } else {
        Status::OnTarget
    }
}

/// Status of a value whose newest input is `newest` (feed indicators), evaluated at `at`
/// with inputs older than `stale_after_ms` counting as stale.
pub fn status(
    def: &IndicatorDef,
    value: Option<f64>,
    newest: Option<Timestamp>,
    at: Timestamp,
    stale_after_ms: i64,
) -> Status {
    let Some(v) = value.filter(|v| v.is_finite()) else {
        return Status::NoData;
    };
    if def.compute.is_feed() && newest.is_some_and(|t| at.0.saturating_sub(t.0) > stale_after_ms) {
        return Status::Stale;
    }
    threshold_status(def, v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::indicators::catalogue::Catalogue;
    use crate::twin::indicators::config::IndicatorConfig;

    #[test]
    fn the_worst_of_a_dimension_is_its_most_severe_status() {
        use crate::twin::indicators::catalogue::Dimension;
        let c = Catalogue::default_catalogue(&IndicatorConfig::default());
        let plain = Evaluated {
            value: Some(1.0),
            status: Status::OnTarget,
            newest: None,
            sources: SourceKinds::NONE,
        };
        let mut e = Evaluation {
            at: Timestamp(0),
            city: vec![plain; c.indicators.len()],
            zones: Vec::new(),
            dimensions: [None; 6],
            index: None,
            zone_scores: Vec::new(),
        };
        let env: Vec<usize> = (0..c.indicators.len())
            .filter(|&i| c.indicators[i].dimension == Dimension::Environment)
            .collect();
        assert!(env.len() >= 2);
        assert_eq!(e.worst_of_dimension(&c, Dimension::Environment), Status::OnTarget);
        e.city[env[0]].status = Status::Stale;
        e.city[env[1]].status = Status::Warning;
        assert_eq!(e.worst_of_dimension(&c, Dimension::Environment), Status::Warning);
        // Other dimensions are not touched by the environment's statuses.
        assert_eq!(e.worst_of_dimension(&c, Dimension::Economy), Status::OnTarget);
        let none = Evaluation {
            city: Vec::new(),
            ..e
        };
        assert_eq!(none.worst_of_dimension(&c, Dimension::Economy), Status::NoData);
    }

    #[test]
    fn statuses_in_both_directions() {
        let c = Catalogue::default_catalogue(&IndicatorConfig::default());
        let pm = c.get("env.pm25_daily_mean").unwrap(); // lower is better: 15 / 25 / 50
        let at = Timestamp(1_000_000);
        let fresh = Some(Timestamp(999_000));
        assert_eq!(status(pm, Some(10.0), fresh, at, 60_000), Status::OnTarget);
        assert_eq!(status(pm, Some(25.0), fresh, at, 60_000), Status::Warning);
        assert_eq!(status(pm, Some(60.0), fresh, at, 60_000), Status::Alarm);
        assert_eq!(status(pm, None, fresh, at, 60_000), Status::NoData);
        assert_eq!(
            status(pm, Some(10.0), Some(Timestamp(0)), at, 60_000),
            Status::Stale
        );
        let tr = c.get("mob.transit_access_400m").unwrap(); // higher is better: 90 / 75 / 50
        assert_eq!(status(tr, Some(95.0), None, at, 1), Status::OnTarget);
        assert_eq!(status(tr, Some(70.0), None, at, 1), Status::Warning);
        assert_eq!(status(tr, Some(50.0), None, at, 1), Status::Alarm);
    }
}

/// One indicator evaluated in one place.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluated {
    /// Value (`None`: no data).
    pub value: Option<f64>,
    /// Status.
    pub status: Status,
    /// Newest input observation (feed indicators).
    pub newest: Option<Timestamp>,
    /// The kinds of feed behind the value (empty for values from the city model alone).
    pub sources: SourceKinds,
}

/// Every indicator evaluated city-wide and per zone, with the composite scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Evaluation time.
    pub at: Timestamp,
    /// City-wide, by catalogue index.
    pub city: Vec<Evaluated>,
    /// Per zone (by zone id), by catalogue index.
    pub zones: Vec<Vec<Evaluated>>,
    /// City-wide dimension scores in [`crate::twin::indicators::catalogue::Dimension::ALL`] order.
    pub dimensions: [Option<f64>; 6],
    /// City-wide smart-city index, 0–100.
    pub index: Option<f64>,
    /// Per zone (by zone id): dimension scores and index, by the same method.
    pub zone_scores: Vec<([Option<f64>; 6], Option<f64>)>,
}

/// Evaluates computed values against the catalogue.
pub fn evaluate(
    catalogue: &crate::twin::indicators::catalogue::Catalogue,
    computed: &crate::twin::indicators::context::Computed,
    stale_after_ms: i64,
) -> Evaluation {
    let at = computed.at;
    let eval = |vals: &[crate::twin::indicators::context::Value]| -> Vec<Evaluated> {
        catalogue
            .indicators
            .iter()
            .zip(vals)
            .map(|(d, v)| {
                if !v.applicable {
                    return Evaluated {
                        value: None,
                        status: Status::NotApplicable,
                        newest: None,
                        sources: SourceKinds::NONE,
                    };
                }
                Evaluated {
                    value: v.value.filter(|x| x.is_finite()),
                    status: status(d, v.value, v.newest, at, stale_after_ms),
                    newest: v.newest,
                    sources: v.sources,
                }
            })
            .collect()
    };
    let city = eval(&computed.city);
    let zones: Vec<Vec<Evaluated>> = computed.zones.iter().map(|z| eval(z)).collect();
    let score = |vals: &[Evaluated]| {
        crate::twin::indicators::composite::scores(
            catalogue
                .indicators
                .iter()
                .zip(vals)
                .map(|(d, e)| (d, e.value, e.status)),
        )
    };
    let (dimensions, index) = score(&city);
    let zone_scores = zones.iter().map(|z| score(z)).collect();
    Evaluation {
        at,
        city,
        zones,
        dimensions,
        index,
        zone_scores,
    }
}
