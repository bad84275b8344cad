//! Planner scenarios in the app (window only): the map tools ([`scenario_draw`]), the
//! scenario drawn on the city ([`scenario_view`]), and the scenario session.
//!
//! [`scenario_draw`]: crate::app::scenario_draw
//! [`scenario_view`]: crate::app::scenario_view

use bevy::prelude::*;

use crate::app::scenario_draw::ScenarioDrawPlugin;
use crate::app::scenario_view::ScenarioViewPlugin;

/// Everything of planner scenarios: tools, view, session and panel.
pub struct ScenarioPlugin;

impl Plugin for ScenarioPlugin {
    fn build(&self, app: &mut App) {
        app.add_plugins((ScenarioDrawPlugin, ScenarioViewPlugin));
    }
}
