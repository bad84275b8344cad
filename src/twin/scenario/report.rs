//! The headless scenario report (`citytwin scenario apply|compare`): a scene loaded once,
//! each scenario applied to a copy of its baseline, baseline and scenario indicators with
//! their deltas, the cost-benefit table, skipped edits; several scenarios ranked against
//! each other. One serde object, or text.

use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use crate::twin::feeds::Timestamp;
use crate::twin::i18n::{self, Lang, tr, tr_args};
use crate::twin::indicators::{FeedInputs, IndicatorContext};
use crate::twin::load::{self, LoadedScene};
use crate::twin::scenario::apply::SkippedEdit;
use crate::twin::scenario::benefit::{CostBenefit, Gain, Ranking, cost_benefit, rank, run_scenario};
use crate::twin::scenario::compare::{Comparison, DimensionDelta, ScoreDelta, compare};
use crate::twin::scenario::cost::{CostTable, EditCost};
use crate::twin::scenario::model::{Scenario, ScenarioError, edit_kind_name};
use crate::twin::scene::SceneError;

/// Errors of the headless scenario report.
#[derive(Debug, Error)]
pub enum ScenarioReportError {
    /// The scene could not be loaded.
    #[error(transparent)]
    Scene(#[from] SceneError),
    /// A scenario file could not be read.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
}

/// Who made the scenario, and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioInfo {
    /// Name.
    pub name: String,
    /// Author.
    pub author: String,
    /// Date.
    pub date: String,
    /// Description.
    pub description: String,
    /// Scene file name it was made for.
    pub scene: String,
    /// Edits in the file.
    pub edits: usize,
    /// Edits applied.
    pub applied: usize,
}

/// Residents before and after.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PopulationDelta {
    /// Baseline residents (estimate).
    pub baseline: f64,
    /// Scenario residents (estimate).
    pub scenario: f64,
}

/// One scenario against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioReport {
    /// Scene name.
    pub scene: String,
    /// Evaluation time, ms since 1970.
    pub at: i64,
    /// The scenario.
    pub scenario: ScenarioInfo,
    /// Edits that were skipped, with the reason.
    pub skipped: Vec<SkippedEdit>,
    /// Residents.
    pub population: PopulationDelta,
    /// Every indicator city-wide; zones where something changed, with the indicators
    /// that changed.
    pub comparison: Comparison,
    /// Per edit and in total.
    pub cost_benefit: CostBenefit,
    /// The unit costs used.
    pub costs: CostTable,
}

/// One scenario in a comparison of scenarios.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioSummary {
    /// Scenario name.
    pub name: String,
    /// Costs.
    pub cost: EditCost,
    /// Smart-city index before and after.
    pub index: ScoreDelta,
    /// Dimension scores before and after.
    pub dimensions: Vec<DimensionDelta>,
    /// Gains with cost per unit.
    pub gains: Vec<Gain>,
    /// Edits skipped.
    pub skipped: usize,
}

/// Several scenarios of one scene, each against the baseline, and ranked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioSetReport {
    /// Scene name.
    pub scene: String,
    /// Evaluation time, ms since 1970.
    pub at: i64,
    /// Each scenario's summary, in the order given.
    pub summaries: Vec<ScenarioSummary>,
    /// Scenarios ranked by cost per unit of each gain.
    pub rankings: Vec<Ranking>,
    /// Each scenario's full report.
    pub scenarios: Vec<ScenarioReport>,
}

/// Applies a scenario to a loaded scene's baseline (with a prepared context) and reports.
pub fn report(
    loaded: &LoadedScene,
    ctx: &IndicatorContext,
    scenario: &Scenario,
    at: Timestamp,
) -> ScenarioReport {
    let feeds = FeedInputs::none(at);
    let run = run_scenario(&loaded.city, ctx, &loaded.scene.costs, scenario, &feeds);
    let cb = cost_benefit(&run);
    let (last_c, last_e) = run.last();
    let cmp = compare(&ctx.catalogue, &ctx.zone_names, &run.baseline.1, last_e);
    ScenarioReport {
        scene: loaded.city.name.clone(),
        at: at.0,
        scenario: ScenarioInfo {
            name: scenario.name.clone(),
            author: scenario.author.clone(),
            date: scenario.date.clone(),
            description: scenario.description.clone(),
            scene: scenario.scene.clone(),
            edits: scenario.edits.len(),
            applied: run.steps.len(),
        },
        skipped: run.skipped.clone(),
        population: PopulationDelta {
            baseline: run.baseline.0.city_sums.residents,
            scenario: last_c.city_sums.residents,
        },
        comparison: cmp.changed_zones_only(),
        cost_benefit: cb,
        costs: loaded.scene.costs.clone(),
    }
}

impl ScenarioReport {
    /// The summary of this report for a comparison of scenarios.
    pub fn summary(&self) -> ScenarioSummary {
        let t = &self.cost_benefit.total;
        ScenarioSummary {
            name: self.scenario.name.clone(),
            cost: t.cost,
            index: t.index,
            dimensions: t.dimensions.clone(),
            gains: t.gains.clone(),
            skipped: self.skipped.len(),
        }
    }
}

/// Loads a scene and its scenario files and reports each against the baseline; with more
/// than one, ranks them. A scenario made for another scene file is an error.
pub fn report_for_files(
    scene_path: &Path,
    scenario_paths: &[PathBuf],
    at: Timestamp,
) -> Result<ScenarioSetReport, ScenarioReportError> {
    let scenarios: Vec<Scenario> = scenario_paths
        .iter()
        .map(|p| {
            let s = Scenario::load(p)?;
            s.check_scene(scene_path, p)?;
            Ok(s)
        })
        .collect::<Result<_, ScenarioError>>()?;
    let loaded = load::load_scene(scene_path)?;
    let ctx = IndicatorContext::new(&loaded.city, &loaded.scene.indicators);
    let reports: Vec<ScenarioReport> = scenarios.iter().map(|s| report(&loaded, &ctx, s, at)).collect();
    let summaries: Vec<ScenarioSummary> = reports.iter().map(|r| r.summary()).collect();
    let rankings = rank(
        summaries
            .iter()
            .enumerate()
            .map(|(i, s)| (i, s.name.clone(), s.gains.as_slice())),
    );
    Ok(ScenarioSetReport {
        scene: loaded.city.name.clone(),
        at: at.0,
        summaries,
        rankings,
        scenarios: reports,
    })
}

fn num(v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(v) if v.abs() >= 1000.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.2}"),
    }
}

fn eur(v: f64) -> String {
    if v.abs() >= 1.0e6 {
        format!("{:.2} M€", v / 1.0e6)
    } else if v.abs() >= 1.0e3 {
        format!("{:.1} k€", v / 1.0e3)
    } else {
        format!("{v:.0} €")
    }
}

impl ScenarioReport {
    /// The report as text: indicators with deltas, skipped edits, the cost-benefit table.
    pub fn to_text(&self) -> String {
        self.to_text_in(Lang::En)
    }

    /// [`ScenarioReport::to_text`] in `lang`: the words, dimension names and statuses
    /// translated, each indicator's name after its id (English keeps the ids alone).
    pub fn to_text_in(&self, lang: Lang) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let en = lang == Lang::En;
        let sc = &self.scenario;
        let _ = writeln!(
            s,
            "{}",
            tr_args(
                lang,
                "scenario-header",
                &[
                    ("scene", (&self.scene).into()),
                    ("name", (&sc.name).into()),
                    ("author", (&sc.author).into()),
                    ("date", (&sc.date).into()),
                ],
            )
        );
        let _ = writeln!(
            s,
            "{}",
            tr_args(
                lang,
                "scenario-applied",
                &[("applied", sc.applied.into()), ("edits", sc.edits.into())],
            )
        );
        for k in &self.skipped {
            let _ = writeln!(
                s,
                "  {}",
                tr_args(
                    lang,
                    "scenario-skipped",
                    &[
                        ("index", k.index.to_string().into()),
                        ("kind", edit_kind_name(lang, &k.kind).into()),
                        ("reason", k.error.describe(lang).into()),
                    ],
                )
            );
        }
        let c = &self.comparison;
        let _ = writeln!(
            s,
            "\n{}",
            tr_args(
                lang,
                "scenario-index",
                &[
                    ("baseline", num(c.index.baseline).into()),
                    ("scenario", num(c.index.scenario).into()),
                    ("delta", num(c.index.delta).into()),
                    (
                        "residents_before",
                        format!("{:.0}", self.population.baseline).into()
                    ),
                    (
                        "residents_after",
                        format!("{:.0}", self.population.scenario).into()
                    ),
                ],
            )
        );
        for d in &c.dimensions {
            let name = i18n::dimension_name(lang, d.dimension);
            let _ = writeln!(
                s,
                "  {:<12} {:>8} → {:>8} ({})",
                if en { name.to_lowercase() } else { name },
                num(d.score.baseline),
                num(d.score.scenario),
                num(d.score.delta)
            );
        }
        let _ = writeln!(
            s,
            "\n  {:<34} {:>10} {:>10} {:>10} {:>8}  {}",
            tr(lang, "scenario-col-indicator"),
            tr(lang, "scenario-col-baseline"),
            tr(lang, "scenario-col-scenario"),
            tr(lang, "scenario-col-delta"),
            tr(lang, "scenario-col-target-share"),
            tr(lang, "scenario-col-status"),
        );
        for r in &c.indicators {
            let status = match (&r.status_change, en) {
                (Some(change), _) => change.clone(),
                (None, true) => r.scenario_status.id().into(),
                (None, false) => i18n::status_name(lang, r.scenario_status),
            };
            let name = if en {
                String::new()
            } else {
                format!("  {}", i18n::indicator_name(lang, &r.id, &r.id))
            };
            let _ = writeln!(
                s,
                "  {:<34} {:>10} {:>10} {:>10} {:>8}  {status}{name}",
                r.id,
                num(r.baseline),
                num(r.scenario),
                num(r.delta),
                num(r.delta_pct_of_target),
            );
        }
        let _ = writeln!(
            s,
            "\n{}",
            tr_args(lang, "scenario-zones-changed", &[("count", c.zones.len().into())])
        );
        for z in &c.zones {
            let _ = writeln!(
                s,
                "  {}",
                tr_args(
                    lang,
                    "scenario-zone",
                    &[
                        ("zone", (&z.zone).into()),
                        ("baseline", num(z.index.baseline).into()),
                        ("scenario", num(z.index.scenario).into()),
                    ],
                )
            );
            for r in &z.indicators {
                let _ = writeln!(
                    s,
                    "    {:<34} {:>10} → {:>10}{}",
                    r.id,
                    num(r.baseline),
                    num(r.scenario),
                    r.status_change
                        .as_ref()
                        .map(|x| format!("  {x}"))
                        .unwrap_or_default()
                );
            }
        }
        let _ = writeln!(
            s,
            "\n{}",
            tr_args(
                lang,
                "scenario-cost-benefit",
                &[("years", self.costs.appraisal_years.to_string().into())],
            )
        );
        let cb = &self.cost_benefit;
        for b in cb.edits.iter().chain([&cb.total]) {
            let label = match b.edit {
                Some(i) => format!("#{i} {}", b.summary),
                None => tr_args(lang, "scenario-total", &[("summary", (&b.summary).into())]),
            };
            let _ = writeln!(
                s,
                "  {label}\n    {}",
                tr_args(
                    lang,
                    "scenario-costs",
                    &[
                        ("capital", eur(b.cost.capital_eur).into()),
                        ("operating", eur(b.cost.operating_eur_per_year).into()),
                        ("present", eur(b.cost.present_value_eur).into()),
                        ("index", num(b.index.delta).into()),
                    ],
                )
            );
            for g in &b.gains {
                let _ = writeln!(
                    s,
                    "      {:<52} {:>12} {:<10} {}",
                    g.name,
                    num(Some(g.amount)),
                    g.unit,
                    g.eur_per_unit
                        .map(|e| tr_args(lang, "scenario-per-unit", &[("eur", eur(e).into())]))
                        .unwrap_or_default()
                );
            }
        }
        for r in &cb.rankings {
            let _ = writeln!(
                s,
                "\n  {}",
                tr_args(
                    lang,
                    "scenario-ranked",
                    &[("unit", (&r.unit).into()), ("name", (&r.name).into())],
                )
            );
            for (k, e) in r.entries.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "    {}. #{} {} — {}",
                    k + 1,
                    e.item,
                    e.label,
                    tr_args(lang, "scenario-per-unit", &[("eur", eur(e.eur_per_unit).into())])
                );
            }
        }
        s
    }
}

impl ScenarioSetReport {
    /// Summaries and rankings as text, then each scenario's report.
    pub fn to_text(&self) -> String {
        self.to_text_in(Lang::En)
    }

    /// [`ScenarioSetReport::to_text`] in `lang`.
    pub fn to_text_in(&self, lang: Lang) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        if self.summaries.len() > 1 {
            let _ = writeln!(
                s,
                "{}",
                tr_args(
                    lang,
                    "scenario-set-header",
                    &[
                        ("scene", (&self.scene).into()),
                        ("count", self.summaries.len().into())
                    ],
                )
            );
            for (i, m) in self.summaries.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "  {i}. {:<30} capital {:>10}  operating {:>10}/year  index {}",
                    m.name,
                    eur(m.cost.capital_eur),
                    eur(m.cost.operating_eur_per_year),
                    num(m.index.delta)
                );
            }
            for r in &self.rankings {
                let _ = writeln!(
                    s,
                    "  {}",
                    tr_args(
                        lang,
                        "scenario-ranked",
                        &[("unit", (&r.unit).into()), ("name", (&r.name).into())],
                    )
                );
                for (k, e) in r.entries.iter().enumerate() {
                    let _ = writeln!(
                        s,
                        "    {}. {} — {}",
                        k + 1,
                        e.label,
                        tr_args(lang, "scenario-per-unit", &[("eur", eur(e.eur_per_unit).into())])
                    );
                }
            }
            s.push('\n');
        }
        for r in &self.scenarios {
            s.push_str(&r.to_text_in(lang));
            s.push('\n');
        }
        s
    }
}
