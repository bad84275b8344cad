//! Planner scenarios: what-if edits (buildings, zoning, green, transit, streets, energy)
//! applied to a copy of the baseline city, with their costs from the scene's cost table,
//! the scenario's indicators recomputed incrementally, baseline-vs-scenario comparison,
//! per-edit and whole-scenario cost-benefit, and the headless report.
//!
//! For the app: make an [`EditStack`] from the baseline city and its indicator context
//! (both are copied; the baseline is never modified), [`EditStack::push`] edits (a refused
//! edit returns an [`EditError`] and changes nothing), [`EditStack::undo`] /
//! [`EditStack::redo`], draw [`EditStack::city`], mark [`EditStack::touched`], read
//! [`EditStack::indicators`] and set them against the baseline's evaluation with
//! [`compare::compare`]. [`benefit::run_scenario`] + [`benefit::cost_benefit`] give the
//! per-edit cost-benefit table; [`report`] the headless report.

pub mod apply;
pub mod benefit;
pub mod compare;
pub mod cost;
pub mod model;
pub mod report;

#[cfg(test)]
mod tests;

pub use apply::{AppliedEdit, EditError, EditStack, SkippedEdit, Touched};
pub use benefit::{CostBenefit, Gain, Ranking, ScenarioRun, cost_benefit, run_scenario};
pub use compare::{Comparison, IndicatorDelta, compare};
pub use cost::{CostTable, EditCost, Quantities};
pub use model::{CostOverride, Edit, Scenario, ScenarioEdit, ScenarioError, SolarTarget, TransitMode};
pub use report::{ScenarioReport, ScenarioSetReport, report_for_files};
