//! Cost-benefit: a scenario run edit by edit (each edit's marginal effect, in list order,
//! against the city before it), the gains in absolute units (residents reaching a
//! destination, floor area, green area, cycleways, solar yield, index points), cost per
//! unit of gain (present value of capital and operating), rankings by cost-effectiveness,
//! and scenarios ranked against each other.

use serde::Serialize;

use crate::twin::city::CityModel;
use crate::twin::i18n::{self, Lang, tr};
use crate::twin::indicators::catalogue::Compute;
use crate::twin::indicators::{Computed, Evaluation, FeedInputs, IndicatorContext};
use crate::twin::scenario::apply::{EditStack, SkippedEdit};
use crate::twin::scenario::compare::{DimensionDelta, ScoreDelta};
use crate::twin::scenario::cost::{CostTable, EditCost, Quantities};
use crate::twin::scenario::model::Scenario;

/// Metres in a kilometre.
const M_PER_KM: f64 = 1_000.0;
/// Changes smaller than this are no change (float noise of sums).
const GAIN_EPS: f64 = 1e-9;

/// One gain (or loss, when negative) in absolute units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gain {
    /// Id: an indicator id for residents reaching a destination, else "index",
    /// "residents", "floor_m2", "green_m2", "cycleway_km", "solar_mwh_per_year".
    pub id: String,
    /// What is gained.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// Amount (negative: a loss).
    pub amount: f64,
    /// Present-value cost per unit gained, € (null for losses or no gain).
    pub eur_per_unit: Option<f64>,
}

/// A gain's name in `lang` (its id: "index", "residents", ..., or an indicator id);
/// `fallback` (the English name) for an id no message file knows.
pub fn gain_name(lang: Lang, id: &str, fallback: &str) -> String {
    match id {
        "index" => tr(lang, "gain-index"),
        "residents" => tr(lang, "gain-residents"),
        "floor_m2" => tr(lang, "gain-floor"),
        "green_m2" => tr(lang, "gain-green"),
        "cycleway_km" => tr(lang, "gain-cycleways"),
        "solar_mwh_per_year" => tr(lang, "gain-solar"),
        other => i18n::indicator_name(lang, other, fallback),
    }
}

/// A gain's unit in `lang`; a unit no message file knows is kept.
pub fn gain_unit(lang: Lang, unit: &str) -> String {
    match unit {
        "points" => tr(lang, "gain-unit-points"),
        "residents" => tr(lang, "gain-unit-residents"),
        "m²" => tr(lang, "gain-unit-m2"),
        "km" => tr(lang, "gain-unit-km"),
        "MWh/year" => tr(lang, "gain-unit-mwh-per-year"),
        other => other.to_string(),
    }
}

/// One indicator's city-wide change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorChange {
    /// Indicator id.
    pub id: String,
    /// Change of the value.
    pub delta: Option<f64>,
    /// "warning → on_target" when the status changed.
    pub status_change: Option<String>,
}

/// The marginal effect of one edit, or of a whole scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Benefit {
    /// Index of the edit in the scenario (null for a whole scenario).
    pub edit: Option<usize>,
    /// Edit kind, or "scenario".
    pub kind: String,
    /// One-line description.
    pub summary: String,
    /// The edit's note.
    pub note: String,
    /// Costs.
    pub cost: EditCost,
    /// What it builds.
    pub quantities: Quantities,
    /// Smart-city index before and after.
    pub index: ScoreDelta,
    /// Dimension scores before and after.
    pub dimensions: Vec<DimensionDelta>,
    /// City-wide indicators that changed.
    pub indicators: Vec<IndicatorChange>,
    /// Gains and losses with their cost per unit.
    pub gains: Vec<Gain>,
}

/// Items (edits or scenarios) ranked by cost per unit of one gain, cheapest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranking {
    /// Gain id.
    pub gain: String,
    /// What is gained.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// Ranked items.
    pub entries: Vec<RankEntry>,
}

/// One ranked item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankEntry {
    /// Edit index (edit rankings) or scenario index (scenario rankings).
    pub item: usize,
    /// Its description or name.
    pub label: String,
    /// Units gained.
    pub amount: f64,
    /// € per unit.
    pub eur_per_unit: f64,
}

/// The cost-benefit table of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostBenefit {
    /// Per edit, in list order (skipped edits left out).
    pub edits: Vec<Benefit>,
    /// The whole scenario against the baseline.
    pub total: Benefit,
    /// Edits ranked by cost per unit of each gain.
    pub rankings: Vec<Ranking>,
}

/// Indicators after one applied edit.
#[derive(Debug, Clone)]
pub struct Step {
    /// Index of the edit in the scenario.
    pub edit: usize,
    /// Computed values after it.
    pub computed: Computed,
    /// Their evaluation.
    pub eval: Evaluation,
}

/// A scenario applied to a baseline, with the indicators before, after each edit and at
/// the end.
#[derive(Debug, Clone)]
pub struct ScenarioRun {
    /// The scenario.
    pub scenario: Scenario,
    /// The edit stack holding the scenario city.
    pub stack: EditStack,
    /// Edits that were skipped.
    pub skipped: Vec<SkippedEdit>,
    /// Baseline indicators.
    pub baseline: (Computed, Evaluation),
    /// After each applied edit.
    pub steps: Vec<Step>,
}

impl ScenarioRun {
    /// The scenario's final indicators (the baseline's when no edit applied).
    pub fn last(&self) -> (&Computed, &Evaluation) {
        match self.steps.last() {
            Some(s) => (&s.computed, &s.eval),
            None => (&self.baseline.0, &self.baseline.1),
        }
    }
}

/// Applies a scenario edit by edit to a copy of the baseline, recomputing the indicators
/// after each edit (with `feeds`).
pub fn run_scenario(
    city: &CityModel,
    ctx: &IndicatorContext,
    costs: &CostTable,
    scenario: &Scenario,
    feeds: &FeedInputs,
) -> ScenarioRun {
    let mut stack = EditStack::new(city, ctx, costs.clone());
    let baseline = stack.indicators(feeds);
    let mut steps = Vec::new();
    let mut skipped = Vec::new();
    for (i, e) in scenario.edits.iter().enumerate() {
        match stack.push(e.clone()) {
            Ok(_) => {
                let (computed, eval) = stack.indicators(feeds);
                steps.push(Step {
                    edit: i,
                    computed,
                    eval,
                });
            }
            Err(error) => skipped.push(SkippedEdit {
                index: i,
                kind: e.edit.kind().to_string(),
                reason: error.to_string(),
                error,
            }),
        }
    }
    ScenarioRun {
        scenario: scenario.clone(),
        stack,
        skipped,
        baseline,
        steps,
    }
}

/// Gains between two states of the city: index points, residents reaching each access
/// indicator's destinations, residents, floor and green area, cycleways, and the solar
/// yield of `q`. Only non-zero ones; cost per unit from the present value `pv`.
pub fn gains(
    ctx: &IndicatorContext,
    before: (&Computed, &Evaluation),
    after: (&Computed, &Evaluation),
    q: &Quantities,
    costs: &CostTable,
    pv: f64,
) -> Vec<Gain> {
    let (a, b) = (&before.0.city_sums, &after.0.city_sums);
    let mut v: Vec<(String, String, String, f64)> = Vec::new();
    if let (Some(x), Some(y)) = (before.1.index, after.1.index) {
        v.push(("index".into(), "Smart-city index".into(), "points".into(), y - x));
    }
    for (k, d) in ctx.catalogue.indicators.iter().enumerate() {
        if matches!(d.compute, Compute::Access { .. } | Compute::AllWithin { .. }) {
            let r = |s: &crate::twin::indicators::Sums| s.reached.get(&k).copied().unwrap_or(0.0);
            v.push((d.id.clone(), d.name.clone(), "residents".into(), r(b) - r(a)));
        }
    }
    v.push((
        "residents".into(),
        "Residents (estimate)".into(),
        "residents".into(),
        b.residents - a.residents,
    ));
    v.push((
        "floor_m2".into(),
        "Floor area".into(),
        "m²".into(),
        b.floor_m2 - a.floor_m2,
    ));
    v.push((
        "green_m2".into(),
        "Green area".into(),
        "m²".into(),
        b.green_m2 - a.green_m2,
    ));
    v.push((
        "cycleway_km".into(),
        "Cycleways".into(),
        "km".into(),
        (b.cycleway_m - a.cycleway_m) / M_PER_KM,
    ));
    v.push((
        "solar_mwh_per_year".into(),
        "Solar electricity".into(),
        "MWh/year".into(),
        costs.solar_mwh_per_year(q.solar_kwp),
    ));
    v.into_iter()
        .filter(|g| g.3.abs() > GAIN_EPS)
        .map(|(id, name, unit, amount)| Gain {
            id,
            name,
            unit,
            amount,
            eur_per_unit: (amount > 0.0).then(|| pv / amount),
        })
        .collect()
}

fn benefit(
    ctx: &IndicatorContext,
    before: (&Computed, &Evaluation),
    after: (&Computed, &Evaluation),
    q: &Quantities,
    cost: &EditCost,
    costs: &CostTable,
) -> Benefit {
    let cmp = crate::twin::scenario::compare::compare(&ctx.catalogue, &[], before.1, after.1);
    Benefit {
        edit: None,
        kind: "scenario".into(),
        summary: String::new(),
        note: String::new(),
        cost: *cost,
        quantities: q.clone(),
        index: cmp.index,
        dimensions: cmp.dimensions,
        indicators: cmp
            .indicators
            .iter()
            .filter(|i| i.changed())
            .map(|i| IndicatorChange {
                id: i.id.clone(),
                delta: i.delta,
                status_change: i.status_change.clone(),
            })
            .collect(),
        gains: gains(ctx, before, after, q, costs, cost.present_value_eur),
    }
}

/// Ranks items by cost per unit of each gain (items with a positive amount only).
pub fn rank<'a>(items: impl Iterator<Item = (usize, String, &'a [Gain])> + Clone) -> Vec<Ranking> {
    let mut out: Vec<Ranking> = Vec::new();
    for (item, label, gains) in items {
        for g in gains {
            let Some(eur) = g.eur_per_unit else {
                continue;
            };
            let entry = RankEntry {
                item,
                label: label.clone(),
                amount: g.amount,
                eur_per_unit: eur,
            };
            match out.iter_mut().find(|r| r.gain == g.id) {
                Some(r) => r.entries.push(entry),
                None => out.push(Ranking {
                    gain: g.id.clone(),
                    name: g.name.clone(),
                    unit: g.unit.clone(),
                    entries: vec![entry],
                }),
            }
        }
    }
    for r in &mut out {
        r.entries.sort_by(|a, b| {
            a.eur_per_unit
                .total_cmp(&b.eur_per_unit)
                .then(a.item.cmp(&b.item))
        });
    }
    out
}

/// The cost-benefit table of a run: each applied edit against the state before it, the
/// whole scenario against the baseline, and the edits ranked.
pub fn cost_benefit(run: &ScenarioRun) -> CostBenefit {
    let ctx = run.stack.ctx();
    let costs = run.stack.costs();
    let mut prev = (&run.baseline.0, &run.baseline.1);
    let mut edits = Vec::new();
    for (step, applied) in run.steps.iter().zip(run.stack.applied()) {
        let now = (&step.computed, &step.eval);
        let mut b = benefit(ctx, prev, now, &applied.quantities, &applied.cost, costs);
        b.edit = Some(step.edit);
        b.kind = applied.edit.edit.kind().into();
        b.summary = applied.edit.edit.summary();
        b.note = applied.edit.note.clone();
        edits.push(b);
        prev = now;
    }
    let mut total = benefit(
        ctx,
        (&run.baseline.0, &run.baseline.1),
        run.last(),
        &run.stack.total_quantities(),
        &run.stack.total_cost(),
        costs,
    );
    total.summary = format!("{}: {} edits", run.scenario.name, run.steps.len());
    let rankings = rank(
        edits
            .iter()
            .map(|b| (b.edit.unwrap_or(0), b.summary.clone(), b.gains.as_slice())),
    );
    CostBenefit {
        edits,
        total,
        rankings,
    }
}
