//! Scene-level indicator settings (`indicators: (...)` in a scene file): the population
//! assumption, walking and staleness parameters, target overrides and extra indicators.

use serde::{Deserialize, Serialize};

use crate::twin::feeds::Metric;
use crate::twin::indicators::catalogue::Dimension;

/// Default floor area per resident, m² (Helsinki averages ≈ 35–40 m² per person).
pub const DEFAULT_M2_PER_RESIDENT: f64 = 40.0;
/// Default share of the floor area of buildings of unknown use ("yes") taken as residential.
pub const DEFAULT_UNKNOWN_RESIDENTIAL_SHARE: f64 = 0.5;
/// Default storey height used to turn building height into storeys, metres.
pub const DEFAULT_STOREY_M: f64 = 3.0;
/// Default walking speed, km/h (15 minutes at 4.8 km/h = 1,200 m).
pub const DEFAULT_WALK_KMH: f64 = 4.8;
/// Default age after which a feed indicator's newest input makes it stale, minutes.
pub const DEFAULT_STALE_AFTER_MIN: f64 = 120.0;
/// Default forecast horizon of decision-window alerts, hours.
pub const DEFAULT_FORECAST_HORIZON_H: f64 = 24.0;
/// Default tolerance for joining road ends into one network node, metres.
pub const DEFAULT_SNAP_M: f64 = 1.0;
/// Default fewest estimated residents for a per-resident indicator to apply in a zone.
pub const DEFAULT_MIN_ZONE_RESIDENTS: f64 = 100.0;
/// Default least floor area for a floor-area indicator to apply in a zone, m².
pub const DEFAULT_MIN_ZONE_FLOOR_M2: f64 = 1_000.0;
/// Default fewest POIs for the POI diversity to apply in a zone.
pub const DEFAULT_MIN_ZONE_POIS: usize = 5;
/// Default least share of a zone's floor area of a known use for a share by use to apply.
pub const DEFAULT_MIN_KNOWN_USE_SHARE: f64 = 0.5;

/// The `indicators` field of a scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IndicatorConfig {
    /// Residential floor area per resident, m² (population estimate).
    pub m2_per_resident: f64,
    /// Share of buildings of unknown use ("yes" or empty) counted as residential, 0–1.
    pub unknown_residential_share: f64,
    /// Storey height, metres (floor area from building height).
    pub storey_m: f64,
    /// Walking speed, km/h.
    pub walk_kmh: f64,
    /// Road ends closer than this are one network node, metres.
    pub snap_m: f64,
    /// Feed indicators whose newest input is older than this are stale, minutes.
    pub stale_after_min: f64,
    /// How far ahead decision-window alerts look, hours.
    pub forecast_horizon_h: f64,
    /// Fewest estimated residents for a per-resident indicator to apply in a zone.
    pub min_zone_residents: f64,
    /// Least floor area for a floor-area indicator to apply in a zone, m².
    pub min_zone_floor_m2: f64,
    /// Fewest POIs for the POI diversity to apply in a zone.
    pub min_zone_pois: usize,
    /// Least share (0–1) of a zone's floor area of a known use for a share by use to apply.
    pub min_known_use_share: f64,
    /// Target and threshold overrides of catalogue indicators.
    pub overrides: Vec<Override>,
    /// Indicators added by the scene.
    pub extra: Vec<CustomIndicator>,
}

impl Default for IndicatorConfig {
    fn default() -> Self {
        IndicatorConfig {
            m2_per_resident: DEFAULT_M2_PER_RESIDENT,
            unknown_residential_share: DEFAULT_UNKNOWN_RESIDENTIAL_SHARE,
            storey_m: DEFAULT_STOREY_M,
            walk_kmh: DEFAULT_WALK_KMH,
            snap_m: DEFAULT_SNAP_M,
            stale_after_min: DEFAULT_STALE_AFTER_MIN,
            forecast_horizon_h: DEFAULT_FORECAST_HORIZON_H,
            min_zone_residents: DEFAULT_MIN_ZONE_RESIDENTS,
            min_zone_floor_m2: DEFAULT_MIN_ZONE_FLOOR_M2,
            min_zone_pois: DEFAULT_MIN_ZONE_POIS,
            min_known_use_share: DEFAULT_MIN_KNOWN_USE_SHARE,
            overrides: Vec::new(),
            extra: Vec::new(),
        }
    }
}

impl IndicatorConfig {
    /// Checks ranges; the error says which field is wrong.
    pub fn validate(&self) -> Result<(), String> {
        let pos = |v: f64, name: &str| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(format!("indicators.{name} must be positive, is {v}"))
            }
        };
        pos(self.m2_per_resident, "m2_per_resident")?;
        pos(self.storey_m, "storey_m")?;
        pos(self.walk_kmh, "walk_kmh")?;
        pos(self.snap_m, "snap_m")?;
        pos(self.stale_after_min, "stale_after_min")?;
        pos(self.forecast_horizon_h, "forecast_horizon_h")?;
        for (v, name) in [
            (self.min_zone_residents, "min_zone_residents"),
            (self.min_zone_floor_m2, "min_zone_floor_m2"),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(format!("indicators.{name} must be zero or more, is {v}"));
            }
        }
        if !(0.0..=1.0).contains(&self.min_known_use_share) {
            return Err(format!(
                "indicators.min_known_use_share must be in [0, 1], is {}",
                self.min_known_use_share
            ));
        }
        if !(0.0..=1.0).contains(&self.unknown_residential_share) {
            return Err(format!(
                "indicators.unknown_residential_share must be in [0, 1], is {}",
                self.unknown_residential_share
            ));
        }
        for x in &self.extra {
            if x.id.trim().is_empty() {
                return Err("indicators.extra: an indicator without an id".into());
            }
        }
        Ok(())
    }

    /// The defaults without zone minimums: for hand-computed fixtures of a few homes,
    /// whose zones hold fewer residents than a real zone needs for its rates to apply.
    #[cfg(test)]
    pub(crate) fn without_zone_minimums() -> IndicatorConfig {
        IndicatorConfig {
            min_zone_residents: 0.0,
            min_zone_floor_m2: 0.0,
            min_zone_pois: 0,
            min_known_use_share: 0.0,
            ..IndicatorConfig::default()
        }
    }

    /// Metres walked in `minutes` at the configured speed.
    pub fn walk_m(&self, minutes: f64) -> f64 {
        self.walk_kmh * 1000.0 / 60.0 * minutes
    }
}

/// New target and thresholds for one catalogue indicator (absent values are kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// Indicator id, e.g. "env.pm25_daily_mean".
    pub id: String,
    /// New target.
    #[serde(default)]
    pub target: Option<f64>,
    /// New warning threshold.
    #[serde(default)]
    pub warning: Option<f64>,
    /// New alarm threshold.
    #[serde(default)]
    pub alarm: Option<f64>,
}

/// An indicator defined in a scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomIndicator {
    /// Unique id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Dimension it counts toward.
    pub dimension: Dimension,
    /// Whether higher values are better.
    pub higher_is_better: bool,
    /// Target.
    pub target: f64,
    /// Warning threshold.
    pub warning: f64,
    /// Alarm threshold.
    pub alarm: f64,
    /// ISO 37120 / 37122 / 37123 reference, if any.
    #[serde(default)]
    pub iso: Option<String>,
    /// How it is computed.
    pub compute: CustomCompute,
}

/// Computations a scene can ask for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomCompute {
    /// Mean of a feed metric over the window (unit: the metric's).
    FeedMean(Metric),
    /// Share of residents (%) within `within_m` walking of a POI of one of `pois`
    /// ("key=value", or "key=*" for any value of the key).
    Access {
        /// POI selectors.
        pois: Vec<String>,
        /// Walking distance, metres.
        within_m: f64,
    },
    /// POIs of one of `pois` per 100,000 residents.
    PoisPer100k(Vec<String>),
}
