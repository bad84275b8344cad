//! Planner scenarios: what-if edits (buildings, zoning, green, transit, streets, energy)
//! applied to a copy of the baseline city, with their costs from the scene's cost table,
//! the scenario's indicators recomputed incrementally, baseline-vs-scenario comparison,
//! per-edit and whole-scenario cost-benefit, and the headless report.
//!
//! For the app: make an [`EditStack`] from the baseline city and its indicator context,
//! [`EditStack::push`] edits (a refused edit returns an [`EditError`] and changes nothing),
//! [`EditStack::undo`] / [`EditStack::redo`], read [`EditStack::city`] to draw the
//! scenario and [`EditStack::touched`] to mark edited features, and
//! [`EditStack::indicators`] for the scenario's indicators; [`compare::compare`] sets them
//! against the baseline.

pub mod cost;
pub mod model;

pub use cost::{CostTable, EditCost, Quantities};
pub use model::{CostOverride, Edit, Scenario, ScenarioEdit, ScenarioError, SolarTarget, TransitMode};
