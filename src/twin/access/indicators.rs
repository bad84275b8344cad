//! Indicators under a role: which inputs each indicator reads, and from that whether a
//! role is shown it, shown it only as k-anonymous aggregates, or not shown it at all.
//!
//! The rule, per input:
//! - **A layer the role may not see** (any classification above it): withheld layers are
//!   never loaded, so an indicator that reads a layer of that kind would be computed from
//!   part of the data and look complete. It is **not shown** (no value, status no data,
//!   no alert, left out of the dimension scores and the index). Layer kinds read:
//!   buildings (population estimate and floor areas: every per-resident, density and
//!   floor indicator), roads (walk network, cycleways, intersections, congestion), POIs
//!   (access, diversity, POIs per resident), land areas (green per resident; access
//!   destinations may be areas of any kind).
//! - **A feed the role may not see**: it is never started. An indicator of a metric the
//!   feed may deliver (a simulator: every metric; a replay with a mapping: its metric;
//!   otherwise every metric) is **not shown**, for the same reason.
//! - **Data about individuals** (service requests: open requests per 10,000, median time
//!   to close): for a role without `individual_data` the value is an aggregate and is
//!   **shown only where it rests on at least k records** — per zone, a zone with fewer
//!   than k requests in the window gets no value; city-wide, the same with the city's
//!   total. Roles with clearance see every value.
//! - Everything else is shown.

use serde::Serialize;

use crate::twin::access::filter::Withheld;
use crate::twin::access::privacy::zone_counts;
use crate::twin::access::roles::Role;
use crate::twin::city::Zone;
use crate::twin::feeds::spec::{FeedKind, FeedSpec};
use crate::twin::feeds::{Metric, Observation, Subject};
use crate::twin::gis::layer::LayerKind;
use crate::twin::indicators::alerts::Alert;
use crate::twin::indicators::catalogue::{Catalogue, Compute};
use crate::twin::indicators::composite;
use crate::twin::indicators::evaluate::{Evaluated, Evaluation, Status};

/// Layer kinds an area-based destination may come from.
const AREA_KINDS: [LayerKind; 3] = [LayerKind::Green, LayerKind::Water, LayerKind::Other];

/// The layer kinds an indicator's computation reads.
pub fn layer_inputs(c: &Compute) -> Vec<LayerKind> {
    use LayerKind::*;
    let mut v = match c {
        Compute::Access { .. } | Compute::AllWithin { .. } => {
            let mut v = vec![Buildings, Roads, Pois];
            v.extend(AREA_KINDS);
            v
        }
        Compute::PopulationDensity
        | Compute::FloorAreaRatio
        | Compute::SolarRoofPerResident
        | Compute::CommercialFloorShare
        | Compute::NonResidentialFloorPerResident => vec![Buildings],
        Compute::GreenHaPer100k => vec![Green, Buildings],
        Compute::PoiDiversity => vec![Pois],
        Compute::PoisPer { .. } => vec![Pois, Buildings],
        Compute::CyclewayKmPer100k => vec![Roads, Buildings],
        Compute::IntersectionDensity | Compute::Congestion => vec![Roads],
        Compute::FeedMean { .. } | Compute::CloseMedianH | Compute::FeedCoverage => vec![],
        Compute::OpenRequestsPer10k | Compute::ElectricityPerResident => vec![Buildings],
    };
    v.dedup();
    v
}

/// The feed metrics an indicator's computation reads.
pub fn metric_inputs(c: &Compute) -> Vec<Metric> {
    match c {
        Compute::FeedMean { metric, .. } => vec![*metric],
        Compute::Congestion => vec![Metric::TrafficSpeed],
        Compute::OpenRequestsPer10k => vec![Metric::ServiceRequestOpened, Metric::ServiceRequestClosed],
        Compute::CloseMedianH => vec![Metric::ServiceRequestClosed],
        Compute::ElectricityPerResident => vec![Metric::ElectricityLoad],
        Compute::FeedCoverage => Metric::ALL.to_vec(),
        _ => vec![],
    }
}

/// Whether an indicator rests on records about individuals.
pub fn is_individual(c: &Compute) -> bool {
    matches!(c, Compute::OpenRequestsPer10k | Compute::CloseMedianH)
}

/// Whether a metric is about individuals (its observations are personal records).
pub fn is_individual_metric(m: Metric) -> bool {
    matches!(m, Metric::ServiceRequestOpened | Metric::ServiceRequestClosed)
}

/// The metrics a feed may deliver, as far as its spec tells.
pub fn feed_metrics(spec: &FeedSpec) -> Vec<Metric> {
    match &spec.kind {
        FeedKind::Replay(r) => match r.mapping.as_ref().and_then(|m| Metric::from_id(&m.metric)) {
            Some(m) => vec![m],
            None => Metric::ALL.to_vec(),
        },
        FeedKind::Simulator(_) | FeedKind::Mqtt(_) => Metric::ALL.to_vec(),
    }
}

/// How a role is shown one indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorAccess {
    /// Every value.
    Shown,
    /// Only values resting on at least k records.
    Aggregated,
    /// No value at all.
    Withheld,
}

/// One indicator's access and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorRule {
    /// Indicator id.
    pub id: String,
    /// How it is shown.
    pub access: IndicatorAccess,
    /// Why, in words (empty when shown).
    pub reason: String,
}

/// The access of every indicator of a catalogue for one role, in catalogue order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorPolicy {
    /// Per indicator, in catalogue order.
    pub rules: Vec<IndicatorRule>,
    /// k of k-anonymity.
    pub k: usize,
}

/// Personal records in the feed window behind the individual-data indicators: per zone
/// (by zone index) and city-wide.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordCounts {
    /// Per zone.
    pub zones: Vec<usize>,
    /// City-wide (including records in no zone).
    pub city: usize,
}

impl RecordCounts {
    /// Counts the distinct service requests (opened or closed, by request id when given)
    /// located in each zone among `obs`.
    pub fn from_observations<'a>(obs: impl IntoIterator<Item = &'a Observation>, zones: &[Zone]) -> Self {
        let mut seen = std::collections::HashSet::new();
        let mut points = Vec::new();
        for o in obs {
            if !is_individual_metric(o.metric) {
                continue;
            }
            if let Subject::Point { x, y } = o.subject {
                let id = crate::twin::access::privacy::detail_value(&o.detail, "request");
                if id.is_some_and(|id| !seen.insert(id.to_string())) {
                    continue;
                }
                points.push([x, y]);
            }
        }
        let (zones, _outside) = zone_counts(points.iter().copied(), zones);
        RecordCounts {
            zones,
            city: points.len(),
        }
    }
}

impl IndicatorPolicy {
    /// The policy of `catalogue` for `role`, given what was withheld from it.
    pub fn new(catalogue: &Catalogue, withheld: &Withheld, role: &Role) -> Self {
        let withheld_metrics: Vec<Metric> = withheld.feeds.iter().flat_map(|f| f.metrics.clone()).collect();
        let rules = catalogue
            .indicators
            .iter()
            .map(|def| {
                let layers: Vec<&str> = layer_inputs(&def.compute)
                    .into_iter()
                    .filter(|k| withheld.has_layer_kind(*k))
                    .map(LayerKind::name)
                    .collect();
                let metrics: Vec<&str> = metric_inputs(&def.compute)
                    .into_iter()
                    .filter(|m| withheld_metrics.contains(m))
                    .map(Metric::id)
                    .collect();
                let (access, reason) = if !layers.is_empty() {
                    (
                        IndicatorAccess::Withheld,
                        format!("reads withheld {} data", layers.join(", ")),
                    )
                } else if !metrics.is_empty() && !matches!(def.compute, Compute::FeedCoverage) {
                    (
                        IndicatorAccess::Withheld,
                        format!("reads a withheld feed ({})", metrics.join(", ")),
                    )
                } else if is_individual(&def.compute) && role.needs_aggregation() {
                    (
                        IndicatorAccess::Aggregated,
                        format!(
                            "about individuals: shown where at least {} records",
                            role.k_anonymity
                        ),
                    )
                } else {
                    (IndicatorAccess::Shown, String::new())
                };
                IndicatorRule {
                    id: def.id.clone(),
                    access,
                    reason,
                }
            })
            .collect();
        IndicatorPolicy {
            rules,
            k: role.k_anonymity,
        }
    }

    /// The access of the indicator with id `id` (withheld when unknown).
    pub fn access(&self, id: &str) -> IndicatorAccess {
        self.rules
            .iter()
            .find(|r| r.id == id)
            .map_or(IndicatorAccess::Withheld, |r| r.access)
    }

    /// Ids of the indicators not shown at all.
    pub fn withheld_ids(&self) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|r| r.access == IndicatorAccess::Withheld)
            .map(|r| r.id.as_str())
            .collect()
    }

    /// Whether the value of indicator `index` (catalogue order) in zone `zone` (`None`:
    /// city-wide) may be shown, given the records behind it.
    pub fn may_show(&self, index: usize, zone: Option<usize>, counts: &RecordCounts) -> bool {
        match self.rules.get(index).map(|r| r.access) {
            Some(IndicatorAccess::Shown) => true,
            Some(IndicatorAccess::Aggregated) => {
                let n = match zone {
                    Some(z) => counts.zones.get(z).copied().unwrap_or(0),
                    None => counts.city,
                };
                n >= self.k
            }
            _ => false,
        }
    }

    /// Removes from an evaluation every value the role may not see (value none, status no
    /// data) and recomputes the dimension scores and index without them. Returns how many
    /// values were removed.
    pub fn redact_evaluation(
        &self,
        catalogue: &Catalogue,
        eval: &mut Evaluation,
        counts: &RecordCounts,
    ) -> usize {
        let hidden = Evaluated {
            value: None,
            status: Status::NoData,
            newest: None,
            sources: crate::twin::feeds::provenance::SourceKinds::NONE,
        };
        let mut removed = 0;
        for (i, e) in eval.city.iter_mut().enumerate() {
            if !self.may_show(i, None, counts) && *e != hidden {
                *e = hidden;
                removed += 1;
            }
        }
        for (z, vals) in eval.zones.iter_mut().enumerate() {
            for (i, e) in vals.iter_mut().enumerate() {
                if !self.may_show(i, Some(z), counts) && *e != hidden {
                    *e = hidden;
                    removed += 1;
                }
            }
        }
        let score = |vals: &[Evaluated]| {
            composite::scores(
                catalogue
                    .indicators
                    .iter()
                    .zip(vals)
                    .map(|(d, e)| (d, e.value, e.status)),
            )
        };
        (eval.dimensions, eval.index) = score(&eval.city);
        eval.zone_scores = eval.zones.iter().map(|z| score(z)).collect();
        removed
    }

    /// Whether an alert may be shown: its indicator's value where it was raised may be.
    pub fn allows_alert(&self, alert: &Alert, zone_names: &[String], counts: &RecordCounts) -> bool {
        let Some(index) = self.rules.iter().position(|r| r.id == alert.indicator) else {
            return false;
        };
        let zone = match &alert.zone {
            None => None,
            Some(name) => match zone_names.iter().position(|n| n == name) {
                Some(z) => Some(z),
                None => return false,
            },
        };
        self.may_show(index, zone, counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::access::AccessSpec;
    use crate::twin::access::filter::filter_scene;
    use crate::twin::indicators::IndicatorConfig;
    use crate::twin::scene::Scene;

    fn catalogue() -> Catalogue {
        Catalogue::default_catalogue(&IndicatorConfig::default())
    }

    fn scene(green_class: &str, feed_class: &str) -> Scene {
        Scene::parse(
            &format!(
                r#"(name: "t", layers: [
                (name: "b", path: "b.shp", kind: buildings),
                (name: "g", path: "g.geojson", kind: green, meta: (classification: {green_class})),
            ], feeds: [(name: "sim", kind: simulator((seed: 1)), classification: Some({feed_class}))])"#
            ),
            std::path::Path::new("t.ron"),
        )
        .unwrap()
    }

    fn policy(s: &Scene, role: &str) -> IndicatorPolicy {
        let role = AccessSpec::default().role(Some(role)).unwrap();
        let (_, w) = filter_scene(s, &role);
        IndicatorPolicy::new(&catalogue(), &w, &role)
    }

    #[test]
    fn withheld_green_layer_withholds_green_indicators_only() {
        let s = scene("restricted", "public");
        let p = policy(&s, "public");
        let c = catalogue();
        for (def, rule) in c.indicators.iter().zip(&p.rules) {
            let reads_green = layer_inputs(&def.compute).contains(&LayerKind::Green);
            assert_eq!(
                rule.access == IndicatorAccess::Withheld,
                reads_green,
                "{}",
                def.id
            );
        }
        assert!(
            p.withheld_ids().iter().any(|id| id.contains("green")),
            "{:?}",
            p.withheld_ids()
        );
        // Service requests are aggregated for public, shown to staff.
        let open = c
            .indicators
            .iter()
            .find(|d| d.compute == Compute::OpenRequestsPer10k)
            .unwrap();
        assert_eq!(p.access(&open.id), IndicatorAccess::Aggregated);
        let staff = policy(&scene("internal", "public"), "staff");
        assert!(staff.withheld_ids().is_empty());
        assert_eq!(staff.access(&open.id), IndicatorAccess::Shown);
    }

    #[test]
    fn withheld_feed_withholds_feed_indicators() {
        let p = policy(&scene("public", "internal"), "public");
        let c = catalogue();
        for (def, rule) in c.indicators.iter().zip(&p.rules) {
            let feed = !metric_inputs(&def.compute).is_empty() && def.compute != Compute::FeedCoverage;
            assert_eq!(rule.access == IndicatorAccess::Withheld, feed, "{}", def.id);
        }
    }

    #[test]
    fn aggregated_values_need_k_records() {
        let p = policy(&scene("public", "public"), "public");
        let i = p
            .rules
            .iter()
            .position(|r| r.access == IndicatorAccess::Aggregated)
            .unwrap();
        let counts = RecordCounts {
            zones: vec![3, 7],
            city: 10,
        };
        assert!(!p.may_show(i, Some(0), &counts));
        assert!(p.may_show(i, Some(1), &counts));
        assert!(p.may_show(i, None, &counts));
        assert!(!p.may_show(i, Some(5), &counts), "an unknown zone has no records");
        let shown = p
            .rules
            .iter()
            .position(|r| r.access == IndicatorAccess::Shown)
            .unwrap();
        assert!(p.may_show(shown, Some(0), &counts));
    }
}
