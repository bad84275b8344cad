//! The indicator report: every indicator city-wide and per zone with its status, the
//! dimension scores, the index and the alerts, as one serde object (`citytwin indicators
//! --json`) or as text; and the headless entry point that loads a scene and reports.

use std::path::Path;

use serde::Serialize;
use thiserror::Error;

use crate::twin::feeds::Timestamp;
use crate::twin::feeds::provenance::SourceKinds;
use crate::twin::i18n::{self, Lang, tr, tr_args};
use crate::twin::indicators::alerts::{Alert, AlertLog, Histories};
use crate::twin::indicators::catalogue::{Base, Dimension};
use crate::twin::indicators::context::{Computed, FeedInputs, IndicatorContext};
use crate::twin::indicators::evaluate::{Evaluation, Status, evaluate};
use crate::twin::load;
use crate::twin::scene::SceneError;

/// How the population is obtained, as written in reports.
pub const POPULATION_METHOD: &str = "estimate: residential floor area (footprint × storeys, storeys = \
     height ÷ storey height) ÷ m² per resident; buildings of unknown use count with the \
     unknown_residential_share";

/// Errors of the headless report.
#[derive(Debug, Error)]
pub enum IndicatorError {
    /// The scene could not be loaded.
    #[error(transparent)]
    Scene(#[from] SceneError),
    /// A time argument did not parse.
    #[error("bad time '{0}': give milliseconds since 1970 or YYYY-MM-DDTHH:MM[:SS]Z")]
    Time(String),
    /// The scene's observation history could not be read.
    #[error("history {path}: {message}")]
    History {
        /// The history file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// Dimension scores, 0–100 (null: no indicator of the dimension has a value).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DimensionScores {
    /// Economy.
    pub economy: Option<f64>,
    /// Governance.
    pub governance: Option<f64>,
    /// Environment.
    pub environment: Option<f64>,
    /// People.
    pub people: Option<f64>,
    /// Mobility.
    pub mobility: Option<f64>,
    /// Living.
    pub living: Option<f64>,
}

/// One indicator city-wide.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Dimension.
    pub dimension: Dimension,
    /// Unit.
    pub unit: String,
    /// Value (null only with status no_data).
    pub value: Option<f64>,
    /// Target.
    pub target: f64,
    /// Warning threshold.
    pub warning: f64,
    /// Alarm threshold.
    pub alarm: f64,
    /// Whether higher is better.
    pub higher_is_better: bool,
    /// Status.
    pub status: Status,
    /// ISO 37120 / 37122 / 37123 counterpart.
    pub iso: Option<String>,
    /// Whether the value rests on the population estimate.
    pub estimate: bool,
    /// The kinds of feed behind the value ("live", "replay", "simulated", "unknown"):
    /// empty for a value from the city model alone.
    pub source_kinds: SourceKinds,
    /// What a zone must hold for the indicator to apply there ([`Base`]).
    pub base: Base,
    /// The applicability rule in words.
    pub applies: String,
}

/// One indicator in one zone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneValue {
    /// Indicator id.
    pub id: String,
    /// Value (null with status no_data or not_applicable).
    pub value: Option<f64>,
    /// Status.
    pub status: Status,
    /// The kinds of feed behind the value.
    #[serde(skip_serializing_if = "no_feed")]
    pub source_kinds: SourceKinds,
}

fn no_feed(k: &SourceKinds) -> bool {
    k.is_empty()
}

/// One zone's indicators.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneRow {
    /// Zone name.
    pub zone: String,
    /// Indicators in catalogue order.
    pub indicators: Vec<ZoneValue>,
}

/// The population behind the per-resident indicators.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PopulationInfo {
    /// Residents city-wide.
    pub residents: f64,
    /// Always true until a census layer exists.
    pub estimate: bool,
    /// The assumption used.
    pub m2_per_resident: f64,
    /// Share of unknown-use floor area counted residential.
    pub unknown_residential_share: f64,
    /// The method in words.
    pub method: String,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Scene name.
    pub scene: String,
    /// Evaluation time, ms since 1970.
    pub at: i64,
    /// Smart-city index, 0–100.
    pub index: Option<f64>,
    /// Dimension scores.
    pub dimensions: DimensionScores,
    /// City-wide indicators.
    pub indicators: Vec<IndicatorRow>,
    /// Per zone.
    pub zones: Vec<ZoneRow>,
    /// Alerts raised by this evaluation.
    pub alerts: Vec<Alert>,
    /// Population used.
    pub population: PopulationInfo,
    /// Problems with the indicator settings.
    pub problems: Vec<String>,
    /// Observations of the 24 hours before `at` read from the scene's history store, when
    /// the report was made from it (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feed_observations: Option<usize>,
}

/// Builds the report from an evaluation.
pub fn build_report(
    scene: &str,
    ctx: &IndicatorContext,
    computed: &Computed,
    eval: &Evaluation,
    alerts: &[Alert],
) -> Report {
    let d = eval.dimensions;
    let indicators = ctx
        .catalogue
        .indicators
        .iter()
        .zip(&eval.city)
        .map(|(def, e)| IndicatorRow {
            id: def.id.clone(),
            name: def.name.clone(),
            dimension: def.dimension,
            unit: def.unit.clone(),
            value: e.value,
            target: def.target,
            warning: def.warning,
            alarm: def.alarm,
            higher_is_better: def.higher_is_better,
            status: e.status,
            iso: def.iso.clone(),
            estimate: def.is_estimate(),
            source_kinds: e.sources,
            base: def.compute.base(),
            applies: def.compute.base().rule(&ctx.config),
        })
        .collect();
    let zones = eval
        .zones
        .iter()
        .enumerate()
        .map(|(z, vals)| ZoneRow {
            zone: ctx.zone_names.get(z).cloned().unwrap_or_default(),
            indicators: ctx
                .catalogue
                .indicators
                .iter()
                .zip(vals)
                .map(|(def, e)| ZoneValue {
                    id: def.id.clone(),
                    value: e.value,
                    status: e.status,
                    source_kinds: e.sources,
                })
                .collect(),
        })
        .collect();
    Report {
        scene: scene.to_string(),
        at: eval.at.0,
        index: eval.index,
        dimensions: DimensionScores {
            economy: d[0],
            governance: d[1],
            environment: d[2],
            people: d[3],
            mobility: d[4],
            living: d[5],
        },
        indicators,
        zones,
        alerts: alerts.to_vec(),
        population: PopulationInfo {
            residents: computed.city_sums.residents,
            estimate: true,
            m2_per_resident: ctx.config.m2_per_resident,
            unknown_residential_share: ctx.config.unknown_residential_share,
            method: POPULATION_METHOD.into(),
        },
        problems: ctx.problems.clone(),
        feed_observations: None,
    }
}

/// Loads a scene and reports every indicator at `at` (now when `None`). Feeds are not
/// wired here yet, so feed indicators report no data.
pub fn report_for_scene(path: &Path, at: Option<Timestamp>) -> Result<Report, IndicatorError> {
    let loaded = load::load_scene(path)?;
    let at = at.unwrap_or_else(Timestamp::now);
    report_for_loaded(&loaded, &FeedInputs::none(at), &Histories::new(), None)
}

/// [`report_for_scene`] with the feeds as they were at `at` (default now): the last 24
/// hours of observations before `at` from the scene's history store, when the scene names
/// one and its file exists (otherwise no feed data, as [`report_for_scene`]). Forecast
/// alerts use the hourly series of that window.
pub fn report_for_scene_from_history(path: &Path, at: Option<Timestamp>) -> Result<Report, IndicatorError> {
    let loaded = load::load_scene(path)?;
    let at = at.unwrap_or_else(Timestamp::now);
    let (feeds, histories, n) = history_inputs(&loaded, path, at)?;
    report_for_loaded(&loaded, &feeds, &histories, n)
}

/// The feed inputs of a loaded scene (from `path`) at `at`: the 24 hours before `at` from
/// its history store, only observations of the scene's own feeds (a role's scene lacks the
/// feeds it may not see, and so their history); the hourly series for forecasts; and how
/// many observations were read (`None`: the scene has no history file, no feed data).
pub fn history_inputs(
    loaded: &load::LoadedScene,
    path: &Path,
    at: Timestamp,
) -> Result<(FeedInputs, Histories, Option<usize>), IndicatorError> {
    use crate::twin::feeds::runtime::{open_history, sensor_positions};
    use crate::twin::indicators::{FeedWindow, hourly_histories};

    let Some(spec) = loaded.scene.history.as_ref() else {
        return Ok((FeedInputs::none(at), Histories::new(), None));
    };
    // A SQLite file that is not there yet is no history (rather than an empty one made);
    // a database server is always asked.
    let file = spec.sqlite_file(path);
    if file.as_ref().is_some_and(|f| !f.exists()) {
        return Ok((FeedInputs::none(at), Histories::new(), None));
    }
    let where_ = file.map_or_else(|| "history database".to_string(), |f| f.display().to_string());
    let history_error = |e: &dyn std::fmt::Display| IndicatorError::History {
        path: where_.clone(),
        message: e.to_string(),
    };
    let store = open_history(spec, path).map_err(|e| history_error(&e))?;
    let feeds_shown: std::collections::HashSet<&str> =
        loaded.scene.feeds.iter().map(|f| f.name.as_str()).collect();
    let observations: Vec<_> = store
        .range(at.plus_ms(-Timestamp::DAY_MS), at)
        .map_err(|e| history_error(&e))?
        .into_iter()
        .filter(|o| feeds_shown.contains(o.source.0.as_str()))
        .collect();
    let n = observations.len();
    let feeds = FeedInputs {
        window: FeedWindow::new(at, observations),
        sensors: sensor_positions(&loaded.scene.feeds, &loaded.city),
        kinds: crate::twin::feeds::provenance::SourceKindMap::from_specs(&loaded.scene.feeds),
    };
    let ctx = IndicatorContext::new(&loaded.city, &loaded.scene.indicators);
    let histories = hourly_histories(&ctx, &feeds);
    Ok((feeds, histories, Some(n)))
}

/// The report of a loaded scene with these feed inputs and histories.
fn report_for_loaded(
    loaded: &load::LoadedScene,
    feeds: &FeedInputs,
    histories: &Histories,
    feed_observations: Option<usize>,
) -> Result<Report, IndicatorError> {
    let ctx = IndicatorContext::new(&loaded.city, &loaded.scene.indicators);
    let computed = ctx.compute(&loaded.city, feeds);
    let eval = evaluate(&ctx.catalogue, &computed, ctx.stale_after_ms());
    let mut log = AlertLog::new(ctx.horizon_ms());
    let alerts = log.update(&ctx.catalogue, &eval, &ctx.zone_names, histories);
    let mut report = build_report(&loaded.city.name, &ctx, &computed, &eval, &alerts);
    report.feed_observations = feed_observations;
    Ok(report)
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses a time: milliseconds since 1970, or UTC `YYYY-MM-DDTHH:MM[:SS]Z` (also
/// `YYYY-MM-DD`).
pub fn parse_time(s: &str) -> Result<Timestamp, IndicatorError> {
    let bad = || IndicatorError::Time(s.to_string());
    let t = s.trim();
    if let Ok(ms) = t.parse::<i64>() {
        return Ok(Timestamp(ms));
    }
    let t = t.trim_end_matches('Z');
    let (date, time) = t.split_once('T').unwrap_or((t, "00:00"));
    let dp: Vec<i64> = date
        .split('-')
        .map(|x| x.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let tp: Vec<i64> = time
        .split(':')
        .map(|x| x.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let ok = dp.len() == 3
        && (1..=12).contains(&dp[1])
        && (1..=31).contains(&dp[2])
        && (2..=3).contains(&tp.len())
        && (0..24).contains(&tp[0])
        && (0..60).contains(&tp[1])
        && tp.get(2).is_none_or(|s| (0..=60).contains(s));
    if !ok {
        return Err(bad());
    }
    let days = days_from_civil(dp[0], dp[1], dp[2]);
    let secs = days * 86_400 + tp[0] * 3_600 + tp[1] * 60 + tp.get(2).copied().unwrap_or(0);
    Ok(Timestamp(secs * 1_000))
}

fn fmt_value(v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(v) if v.abs() >= 1000.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.2}"),
    }
}

impl Report {
    /// The report as text: index, dimensions, city-wide indicators, zones, alerts.
    pub fn to_text(&self) -> String {
        self.to_text_in(Lang::En)
    }

    /// [`Report::to_text`] in `lang`: the words, dimension names, units and statuses
    /// translated, each indicator's name after its id (English keeps the ids alone).
    pub fn to_text_in(&self, lang: Lang) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let en = lang == Lang::En;
        let _ = writeln!(
            s,
            "{}",
            tr_args(
                lang,
                "cli-report-header",
                &[
                    ("scene", (&self.scene).into()),
                    ("ms", self.at.to_string().into()),
                    ("date", i18n::format_date_time(lang, Timestamp(self.at)).into()),
                ],
            )
        );
        let _ = writeln!(
            s,
            "{}",
            tr_args(
                lang,
                "cli-report-index",
                &[
                    ("index", fmt_value(self.index).into()),
                    ("population", format!("{:.0}", self.population.residents).into()),
                ],
            )
        );
        let d = &self.dimensions;
        let scores = [
            d.economy,
            d.governance,
            d.environment,
            d.people,
            d.mobility,
            d.living,
        ];
        let dims: Vec<String> = Dimension::ALL
            .into_iter()
            .zip(scores)
            .map(|(dim, v)| {
                let name = i18n::dimension_name(lang, dim);
                let name = if en { name.to_lowercase() } else { name };
                format!("{name} {}", fmt_value(v))
            })
            .collect();
        let _ = writeln!(s, "{}", dims.join("  "));
        for p in &self.problems {
            let _ = writeln!(
                s,
                "{}",
                tr_args(lang, "cli-report-problem", &[("problem", p.into())])
            );
        }
        let status = |st: Status| {
            if en {
                st.id().to_string()
            } else {
                i18n::status_name(lang, st)
            }
        };
        let _ = writeln!(s, "\n{}", tr(lang, "cli-report-city-wide"));
        let target = tr(lang, "cli-report-target");
        let estimate = tr(lang, "cli-report-estimate");
        for r in &self.indicators {
            let name = if en {
                String::new()
            } else {
                format!("  {}", i18n::indicator_name(lang, &r.id, &r.name))
            };
            let _ = writeln!(
                s,
                "  {:<34} {:>10} {:<14} {target} {:>8} {:<9}{}{}{name}",
                r.id,
                fmt_value(r.value),
                i18n::unit(lang, &r.unit),
                r.target,
                status(r.status),
                if r.estimate {
                    format!(" {estimate}")
                } else {
                    String::new()
                },
                r.source_kinds
                    .badge()
                    .map_or(String::new(), |b| format!(" [{}]", i18n::badge_words(lang, &b)))
            );
        }
        for z in &self.zones {
            let _ = writeln!(
                s,
                "\n{}",
                tr_args(lang, "cli-report-zone", &[("zone", (&z.zone).into())])
            );
            for v in z
                .indicators
                .iter()
                .filter(|v| !matches!(v.status, Status::NoData | Status::NotApplicable))
            {
                let _ = writeln!(
                    s,
                    "  {:<34} {:>10} {}",
                    v.id,
                    fmt_value(v.value),
                    status(v.status)
                );
            }
        }
        let _ = writeln!(
            s,
            "\n{}",
            tr_args(lang, "cli-report-alerts", &[("count", self.alerts.len().into())])
        );
        let city_wide = tr(lang, "cli-report-alert-city-wide");
        for a in &self.alerts {
            let _ = writeln!(
                s,
                "  #{} {:?} {} {} {}: {}",
                a.id,
                a.kind,
                status(a.level),
                a.indicator,
                a.zone.as_deref().unwrap_or(&city_wide),
                a.evidence
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse() {
        assert_eq!(parse_time("0").unwrap(), Timestamp(0));
        assert_eq!(parse_time("1970-01-02").unwrap(), Timestamp(86_400_000));
        assert_eq!(
            parse_time("2024-03-01T12:30:15Z").unwrap(),
            Timestamp(1_709_296_215_000)
        );
        assert!(parse_time("2024-13-01").is_err());
        assert!(parse_time("yesterday").is_err());
    }
}
