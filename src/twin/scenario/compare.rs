//! Baseline against scenario: every indicator city-wide and per zone with the baseline
//! and scenario values, the delta, the delta as a share of the target, the status change
//! and whether it is better; dimension scores and the index likewise.

use serde::Serialize;

use crate::twin::indicators::catalogue::{Catalogue, Dimension, IndicatorDef};
use crate::twin::indicators::{Evaluated, Evaluation, Status};

/// A score (index or dimension) before and after.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScoreDelta {
    /// Baseline.
    pub baseline: Option<f64>,
    /// Scenario.
    pub scenario: Option<f64>,
    /// Scenario − baseline (null when either is missing).
    pub delta: Option<f64>,
}

impl ScoreDelta {
    /// From two optional values.
    pub fn new(baseline: Option<f64>, scenario: Option<f64>) -> ScoreDelta {
        ScoreDelta {
            baseline,
            scenario,
            delta: baseline.zip(scenario).map(|(a, b)| b - a),
        }
    }

    /// Whether the two differ.
    pub fn changed(&self) -> bool {
        self.baseline != self.scenario
    }
}

/// A dimension score before and after.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DimensionDelta {
    /// Dimension.
    pub dimension: Dimension,
    /// Scores.
    #[serde(flatten)]
    pub score: ScoreDelta,
}

/// One indicator before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorDelta {
    /// Indicator id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Dimension.
    pub dimension: Dimension,
    /// Unit.
    pub unit: String,
    /// Target.
    pub target: f64,
    /// Whether higher is better.
    pub higher_is_better: bool,
    /// Baseline value.
    pub baseline: Option<f64>,
    /// Scenario value.
    pub scenario: Option<f64>,
    /// Scenario − baseline.
    pub delta: Option<f64>,
    /// Delta as a percentage of the target (null when the target is 0).
    pub delta_pct_of_target: Option<f64>,
    /// Baseline status.
    pub baseline_status: Status,
    /// Scenario status.
    pub scenario_status: Status,
    /// "warning → on_target" when the status changed.
    pub status_change: Option<String>,
    /// Whether the change goes the good way (null: no change or no value).
    pub better: Option<bool>,
}

impl IndicatorDelta {
    /// Compares one indicator's evaluations.
    pub fn new(def: &IndicatorDef, a: &Evaluated, b: &Evaluated) -> IndicatorDelta {
        let delta = a.value.zip(b.value).map(|(x, y)| y - x);
        IndicatorDelta {
            id: def.id.clone(),
            name: def.name.clone(),
            dimension: def.dimension,
            unit: def.unit.clone(),
            target: def.target,
            higher_is_better: def.higher_is_better,
            baseline: a.value,
            scenario: b.value,
            delta,
            delta_pct_of_target: delta
                .filter(|_| def.target != 0.0)
                .map(|d| d / def.target.abs() * 100.0),
            baseline_status: a.status,
            scenario_status: b.status,
            status_change: (a.status != b.status).then(|| format!("{} → {}", a.status.id(), b.status.id())),
            better: delta
                .filter(|d| *d != 0.0)
                .map(|d| (d > 0.0) == def.higher_is_better),
        }
    }

    /// Whether the value or the status changed.
    pub fn changed(&self) -> bool {
        self.baseline != self.scenario || self.baseline_status != self.scenario_status
    }
}

/// One zone before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneComparison {
    /// Zone id.
    pub zone_id: u32,
    /// Zone name.
    pub zone: String,
    /// Zone index.
    pub index: ScoreDelta,
    /// Zone dimension scores.
    pub dimensions: Vec<DimensionDelta>,
    /// Every indicator of the zone.
    pub indicators: Vec<IndicatorDelta>,
}

impl ZoneComparison {
    /// Whether anything in the zone changed.
    pub fn changed(&self) -> bool {
        self.index.changed() || self.indicators.iter().any(|i| i.changed())
    }
}

/// Baseline against scenario, city-wide and per zone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Smart-city index.
    pub index: ScoreDelta,
    /// Dimension scores.
    pub dimensions: Vec<DimensionDelta>,
    /// Every indicator city-wide.
    pub indicators: Vec<IndicatorDelta>,
    /// Every zone.
    pub zones: Vec<ZoneComparison>,
}

fn dims(a: &[Option<f64>; 6], b: &[Option<f64>; 6]) -> Vec<DimensionDelta> {
    Dimension::ALL
        .iter()
        .enumerate()
        .map(|(i, d)| DimensionDelta {
            dimension: *d,
            score: ScoreDelta::new(a[i], b[i]),
        })
        .collect()
}

fn rows(c: &Catalogue, a: &[Evaluated], b: &[Evaluated]) -> Vec<IndicatorDelta> {
    c.indicators
        .iter()
        .zip(a.iter().zip(b))
        .map(|(d, (x, y))| IndicatorDelta::new(d, x, y))
        .collect()
}

/// Compares two evaluations of the same catalogue and zones.
pub fn compare(
    catalogue: &Catalogue,
    zone_names: &[String],
    base: &Evaluation,
    scen: &Evaluation,
) -> Comparison {
    let zones = base
        .zones
        .iter()
        .zip(&scen.zones)
        .enumerate()
        .map(|(z, (a, b))| {
            let (sa, sb) = (&base.zone_scores[z], &scen.zone_scores[z]);
            ZoneComparison {
                zone_id: z as u32,
                zone: zone_names.get(z).cloned().unwrap_or_default(),
                index: ScoreDelta::new(sa.1, sb.1),
                dimensions: dims(&sa.0, &sb.0),
                indicators: rows(catalogue, a, b),
            }
        })
        .collect();
    Comparison {
        index: ScoreDelta::new(base.index, scen.index),
        dimensions: dims(&base.dimensions, &scen.dimensions),
        indicators: rows(catalogue, &base.city, &scen.city),
        zones,
    }
}

impl Comparison {
    /// The comparison with only the zones, and in them only the indicators, that changed.
    pub fn changed_zones_only(&self) -> Comparison {
        Comparison {
            zones: self
                .zones
                .iter()
                .filter(|z| z.changed())
                .map(|z| ZoneComparison {
                    indicators: z.indicators.iter().filter(|i| i.changed()).cloned().collect(),
                    ..z.clone()
                })
                .collect(),
            ..self.clone()
        }
    }

    /// A city-wide indicator row by id.
    pub fn indicator(&self, id: &str) -> Option<&IndicatorDelta> {
        self.indicators.iter().find(|i| i.id == id)
    }
}
