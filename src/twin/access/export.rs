//! Redaction of exports: what every exporter (indicator JSON, briefing PDF and PNG) calls
//! so that no file contains what the role may not see — no withheld layer, feed or
//! indicator value, no suppressed cell, no raw personal record or address — and the
//! attributions the licences of the layers shown require.
//!
//! Exporters build an [`ExportAccess`] once (from the [`ScopedScene`]) and pass every
//! report through [`ExportAccess::redact_report`] and every JSON value through
//! [`ExportAccess::export_json`] (redact, then check: an export that still leaks is an
//! error, never a file).

use serde::Serialize;
use serde_json::{Map, Value};
use thiserror::Error;

use crate::twin::access::filter::{ScopedScene, Withheld};
use crate::twin::access::indicators::{IndicatorAccess, IndicatorPolicy, RecordCounts};
use crate::twin::access::privacy::IDENTIFYING_KEYS;
use crate::twin::access::roles::Role;
use crate::twin::city::CityModel;
use crate::twin::indicators::catalogue::Catalogue;
use crate::twin::indicators::composite;
use crate::twin::indicators::evaluate::Status;
use crate::twin::indicators::report::Report;

/// Separator between attributions on one line.
pub const ATTRIBUTION_SEPARATOR: &str = " · ";
/// Prefix of OSM-style address keys (`addr:street`, ...).
const ADDRESS_KEY_PREFIX: &str = "addr:";
/// JSON key under which a list of raw personal records is exported.
const RECORDS_KEY: &str = "records";
/// JSON key of the access summary added to exported reports.
pub const ACCESS_KEY: &str = "access";

/// An export that would still contain what the role may not see.
#[derive(Debug, Error, PartialEq)]
pub enum ExportError {
    /// The check found a leak; the export must not be written.
    #[error("export for role '{role}' would contain what the role may not see: {}", leaks.join("; "))]
    Leak {
        /// The role.
        role: String,
        /// What leaks, by JSON path.
        leaks: Vec<String>,
    },
    /// The value could not be turned into JSON.
    #[error("cannot serialise the export: {0}")]
    Serialise(String),
}

/// The attributions the layers loaded into a city require, without repeats, in layer
/// order (e.g. "© OpenStreetMap contributors").
pub fn attributions(city: &CityModel) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in &city.layers {
        let a = l.catalogue.meta.attribution.trim();
        if !a.is_empty() && !out.iter().any(|x| x == a) {
            out.push(a.to_string());
        }
    }
    out
}

/// The attributions on one line, for the screen and the foot of exported pages.
pub fn attribution_line(attributions: &[String]) -> String {
    attributions.join(ATTRIBUTION_SEPARATOR)
}

/// What an export may contain for one role.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportAccess {
    /// The role.
    pub role: Role,
    /// Which indicators, and where.
    pub policy: IndicatorPolicy,
    /// Personal records behind the aggregated indicators.
    pub counts: RecordCounts,
    /// Zone names, by zone index (as in reports and alerts).
    pub zone_names: Vec<String>,
    /// Attributions of the layers shown.
    pub attributions: Vec<String>,
    /// What was withheld.
    pub withheld: Withheld,
}

/// Summary of the access an export was made under (added to exported JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessSummary {
    /// Role name.
    pub role: String,
    /// k of k-anonymity.
    pub k_anonymity: usize,
    /// Names of the withheld layers.
    pub withheld_layers: Vec<String>,
    /// Names of the withheld feeds.
    pub withheld_feeds: Vec<String>,
    /// Ids of the indicators not shown.
    pub withheld_indicators: Vec<String>,
    /// Attributions the data shown requires.
    pub attributions: Vec<String>,
}

impl ExportAccess {
    /// The export access of a scene loaded as a role, for the indicators of `catalogue`
    /// with `counts` personal records behind them.
    pub fn new(scoped: &ScopedScene, catalogue: &Catalogue, counts: RecordCounts) -> ExportAccess {
        ExportAccess {
            policy: IndicatorPolicy::new(catalogue, &scoped.withheld, &scoped.role),
            role: scoped.role.clone(),
            counts,
            zone_names: scoped.loaded.city.zones.iter().map(|z| z.name.clone()).collect(),
            attributions: attributions(&scoped.loaded.city),
            withheld: scoped.withheld.clone(),
        }
    }

    /// The summary written into exports.
    pub fn summary(&self) -> AccessSummary {
        AccessSummary {
            role: self.role.name.clone(),
            k_anonymity: self.role.k_anonymity,
            withheld_layers: self.withheld.layers.iter().map(|w| w.name.clone()).collect(),
            withheld_feeds: self.withheld.feeds.iter().map(|w| w.name.clone()).collect(),
            withheld_indicators: self.policy.withheld_ids().iter().map(|s| s.to_string()).collect(),
            attributions: self.attributions.clone(),
        }
    }

    /// Removes from a report every value, zone value and alert the role may not see, and
    /// recomputes the dimension scores and the index without them. Returns how many
    /// values and alerts were removed.
    pub fn redact_report(&self, catalogue: &Catalogue, report: &mut Report) -> usize {
        let index_of = |id: &str| self.policy.rules.iter().position(|r| r.id == id);
        let mut removed = 0;
        for row in &mut report.indicators {
            let ok = index_of(&row.id).is_some_and(|i| self.policy.may_show(i, None, &self.counts));
            if !ok && (row.value.is_some() || row.status != Status::NoData) {
                row.value = None;
                row.status = Status::NoData;
                removed += 1;
            }
        }
        for zone in &mut report.zones {
            let z = self.zone_names.iter().position(|n| *n == zone.zone);
            for v in &mut zone.indicators {
                let ok = match (index_of(&v.id), z) {
                    (Some(i), Some(z)) => self.policy.may_show(i, Some(z), &self.counts),
                    (Some(i), None) => self.policy.rules[i].access == IndicatorAccess::Shown,
                    _ => false,
                };
                if !ok && (v.value.is_some() || v.status != Status::NoData) {
                    v.value = None;
                    v.status = Status::NoData;
                    removed += 1;
                }
            }
        }
        let before = report.alerts.len();
        report
            .alerts
            .retain(|a| self.policy.allows_alert(a, &self.zone_names, &self.counts));
        removed += before - report.alerts.len();
        // Scores from what is left.
        let rows: Vec<_> = catalogue
            .indicators
            .iter()
            .filter_map(|d| {
                let row = report.indicators.iter().find(|r| r.id == d.id)?;
                Some((d, row.value, row.status))
            })
            .collect();
        let (dims, index) = composite::scores(rows.into_iter());
        report.index = index;
        let d = &mut report.dimensions;
        [
            d.economy,
            d.governance,
            d.environment,
            d.people,
            d.mobility,
            d.living,
        ] = dims;
        removed
    }

    /// Serialises `item`, redacts it ([`ExportAccess::redact_json`]) and checks it
    /// ([`ExportAccess::check_json`]); an export that still leaks is an error.
    pub fn export_json<T: Serialize>(&self, item: &T) -> Result<Value, ExportError> {
        let mut v = serde_json::to_value(item).map_err(|e| ExportError::Serialise(e.to_string()))?;
        self.redact_json(&mut v);
        self.check_json(&v)?;
        Ok(v)
    }

    /// Removes from any JSON what the role may not see, wherever it is: identifying keys
    /// (address, building, name, phone, `addr:*`) of personal records and detail strings
    /// naming them; raw record lists for roles without clearance; cells below k; values of
    /// withheld indicators. Returns how many things were removed.
    pub fn redact_json(&self, v: &mut Value) -> usize {
        let mut n = 0;
        self.redact_value(v, &mut n);
        n
    }

    fn redact_value(&self, v: &mut Value, n: &mut usize) {
        match v {
            Value::Object(map) => {
                if self.role.needs_aggregation() {
                    let before = map.len();
                    let personal = is_personal(map);
                    map.retain(|k, _| !(personal && is_identifying_key(k)) && k != RECORDS_KEY);
                    *n += before - map.len();
                }
                if self.is_withheld_indicator(map) {
                    map.insert("value".into(), Value::Null);
                    if map.contains_key("status") {
                        map.insert("status".into(), Value::String(Status::NoData.id().into()));
                    }
                    *n += 1;
                }
                for (_, child) in map.iter_mut() {
                    self.redact_value(child, n);
                }
            }
            Value::Array(items) => {
                let before = items.len();
                items.retain(|c| !self.is_small_cell(c));
                *n += before - items.len();
                for c in items.iter_mut() {
                    self.redact_value(c, n);
                }
            }
            Value::String(s) if self.role.needs_aggregation() && names_identity(s) => {
                *s = scrub_detail(s);
                *n += 1;
            }
            _ => {}
        }
    }

    /// An indicator value object (`id` + `value`) of an indicator the role may not see.
    fn is_withheld_indicator(&self, map: &Map<String, Value>) -> bool {
        let (Some(Value::String(id)), Some(value)) = (map.get("id"), map.get("value")) else {
            return false;
        };
        !value.is_null() && self.policy.rules.iter().any(|r| r.id == *id) && {
            self.policy.access(id) == IndicatorAccess::Withheld
        }
    }

    /// A cell object (`count` with `ring` or `centre`) with fewer than k records.
    fn is_small_cell(&self, v: &Value) -> bool {
        let Value::Object(map) = v else { return false };
        let is_cell = map.contains_key("ring") || map.contains_key("centre");
        is_cell
            && map
                .get("count")
                .and_then(Value::as_u64)
                .is_some_and(|c| (c as usize) < self.role.k_anonymity)
    }

    /// Checks a JSON export: every leak [`ExportAccess::redact_json`] would remove is an
    /// error naming where it is.
    pub fn check_json(&self, v: &Value) -> Result<(), ExportError> {
        let mut leaks = Vec::new();
        self.check_value(v, "$", &mut leaks);
        if leaks.is_empty() {
            Ok(())
        } else {
            Err(ExportError::Leak {
                role: self.role.name.clone(),
                leaks,
            })
        }
    }

    fn check_value(&self, v: &Value, path: &str, leaks: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for k in map.keys() {
                    if self.role.needs_aggregation()
                        && ((is_personal(map) && is_identifying_key(k)) || k == RECORDS_KEY)
                    {
                        leaks.push(format!("{path}.{k}: personal data"));
                    }
                }
                if self.is_withheld_indicator(map) {
                    leaks.push(format!("{path}: value of a withheld indicator"));
                }
                for (k, c) in map {
                    self.check_value(c, &format!("{path}.{k}"), leaks);
                }
            }
            Value::Array(items) => {
                for (i, c) in items.iter().enumerate() {
                    if self.is_small_cell(c) {
                        leaks.push(format!("{path}[{i}]: cell below k = {}", self.role.k_anonymity));
                    }
                    self.check_value(c, &format!("{path}[{i}]"), leaks);
                }
            }
            Value::String(s) if self.role.needs_aggregation() && names_identity(s) => {
                leaks.push(format!("{path}: identifying detail"));
            }
            _ => {}
        }
    }

    /// A redacted report as JSON with the access summary under [`ACCESS_KEY`].
    pub fn report_json(&self, catalogue: &Catalogue, mut report: Report) -> Result<Value, ExportError> {
        self.redact_report(catalogue, &mut report);
        let mut v = self.export_json(&report)?;
        if let Value::Object(map) = &mut v {
            let summary =
                serde_json::to_value(self.summary()).map_err(|e| ExportError::Serialise(e.to_string()))?;
            map.insert(ACCESS_KEY.into(), summary);
        }
        Ok(v)
    }
}

/// Loads a scene as a role (`None`: the scene's default role) and reports every indicator
/// at `at` (now when `None`) as [`crate::twin::indicators::report_for_scene_from_history`]
/// does (feeds from the scene's history, only those the role may see), redacted
/// for the role; with the [`ExportAccess`] it was redacted under (for the JSON access
/// summary and attributions).
pub fn report_for_scene_as(
    path: &std::path::Path,
    role: Option<&str>,
    at: Option<crate::twin::feeds::Timestamp>,
) -> Result<(Report, Catalogue, ExportAccess), crate::twin::access::AccessError> {
    use crate::twin::indicators::report::history_inputs;
    use crate::twin::indicators::{AlertLog, IndicatorContext, build_report};
    let scoped = crate::twin::access::load_scene_as(path, role, &Default::default())?;
    let at = at.unwrap_or_else(crate::twin::feeds::Timestamp::now);
    let loaded = &scoped.loaded;
    let (feeds, histories, read) = history_inputs(loaded, path, at)
        .map_err(|e| crate::twin::access::AccessError::History(e.to_string()))?;
    let ctx = IndicatorContext::new(&loaded.city, &loaded.scene.indicators);
    let computed = ctx.compute(&loaded.city, &feeds);
    let eval = crate::twin::indicators::evaluate::evaluate(&ctx.catalogue, &computed, ctx.stale_after_ms());
    let mut log = AlertLog::new(ctx.horizon_ms());
    let alerts = log.update(&ctx.catalogue, &eval, &ctx.zone_names, &histories);
    let mut report = build_report(&loaded.city.name, &ctx, &computed, &eval, &alerts);
    report.feed_observations = read;
    let counts = RecordCounts::from_observations(&feeds.window.observations, &loaded.city.zones);
    let access = ExportAccess::new(&scoped, &ctx.catalogue, counts);
    access.redact_report(&ctx.catalogue, &mut report);
    Ok((report, ctx.catalogue, access))
}

/// Whether a JSON object is about a person: it carries an address, a phone number or an
/// `addr:*` key. Only there are names and buildings identifying; an indicator's or a
/// layer's `name` is not.
fn is_personal(map: &serde_json::Map<String, Value>) -> bool {
    map.keys()
        .any(|k| k == "address" || k == "phone" || k.starts_with(ADDRESS_KEY_PREFIX))
}

/// Whether a JSON key names identifying data.
fn is_identifying_key(k: &str) -> bool {
    IDENTIFYING_KEYS.contains(&k) || k.starts_with(ADDRESS_KEY_PREFIX)
}

/// Whether a `key=value;...` string carries an identifying key.
fn names_identity(s: &str) -> bool {
    IDENTIFYING_KEYS
        .iter()
        .any(|k| crate::twin::access::privacy::detail_value(s, k).is_some())
}

/// A detail string without its identifying `key=value` parts.
fn scrub_detail(s: &str) -> String {
    s.split(';')
        .filter(|kv| {
            kv.split_once('=')
                .is_none_or(|(k, _)| !IDENTIFYING_KEYS.contains(&k.trim()))
        })
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::access::AccessSpec;
    use crate::twin::access::privacy::tests::fixture;
    use crate::twin::access::privacy::{DEFAULT_CELL_M, HexGrid, requests_from_observations, view_for};
    use crate::twin::indicators::IndicatorConfig;

    fn access(role: &str, withheld: Withheld) -> ExportAccess {
        let role = AccessSpec::default().role(Some(role)).unwrap();
        let catalogue = Catalogue::default_catalogue(&IndicatorConfig::default());
        ExportAccess {
            policy: IndicatorPolicy::new(&catalogue, &withheld, &role),
            role,
            counts: RecordCounts {
                zones: vec![3, 7],
                city: 10,
            },
            zone_names: vec!["A".into(), "B".into()],
            attributions: vec!["© OpenStreetMap contributors".into()],
            withheld,
        }
    }

    #[test]
    fn exported_cells_and_records_json_are_clean_for_public() {
        let grid = HexGrid {
            size_m: DEFAULT_CELL_M,
        };
        let obs = fixture(&grid);
        let records = requests_from_observations(&obs);
        let public = access("public", Withheld::default());
        // The app's view for public: only the cell of 7.
        let view = view_for(&public.role, records.clone(), &grid);
        let json = public
            .export_json(&serde_json::json!({ "service_requests": view }))
            .unwrap();
        let text = json.to_string();
        assert!(
            text.contains("\"count\":7") && !text.contains("\"count\":3"),
            "{text}"
        );
        assert!(!text.contains("Testikatu"), "{text}");
        // Raw observations and records passed to a public export by mistake: redacted.
        let raw = serde_json::json!({ "observations": obs, "records": records,
            "cells": [{"id": "0,0", "centre": [0.0, 0.0], "count": 3}, {"id": "4,0", "centre": [1.0, 0.0], "count": 7}] });
        assert!(public.check_json(&raw).is_err());
        let clean = public.export_json(&raw).unwrap();
        let text = clean.to_string();
        assert!(!text.contains("Testikatu") && !text.contains("address"), "{text}");
        assert!(
            !text.contains("\"count\":3") && text.contains("\"count\":7"),
            "{text}"
        );
        assert!(
            text.contains("request=r1-0;category=litter"),
            "non-identifying detail kept: {text}"
        );
        // Staff sees records, addresses included.
        let staff = access("staff", Withheld::default());
        let text = staff
            .export_json(&serde_json::json!({ "records": records }))
            .unwrap()
            .to_string();
        assert!(text.contains("Testikatu 2 A 6"), "{text}");
    }

    #[test]
    fn check_names_the_leak() {
        let public = access("public", Withheld::default());
        let e = public
            .check_json(&serde_json::json!({"a": [{"address": "Testikatu 1"}]}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("$.a[0].address") && e.contains("public"), "{e}");
    }

    #[test]
    fn attribution_line_joins() {
        assert_eq!(
            attribution_line(&["© OpenStreetMap contributors".into(), "© City survey".into()]),
            "© OpenStreetMap contributors · © City survey"
        );
    }
}
