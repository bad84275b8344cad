//! The indicator engine inside the app: builds [`Indicators`] for the loaded city, recomputes
//! them when the instant shown or the feed inputs change, keeps a short history of the scores
//! for trends and sparklines, and turns a chosen indicator into per-zone choropleth colours.

use std::collections::VecDeque;
use std::time::Instant;

use bevy::prelude::*;

use crate::app::ground_view::{ZoneColours, initial_zone_colours};
use crate::app::loading::LoadedCity;
use crate::app::outline::LayerEntity;
use crate::app::ui::timeline::TwinTime;
use crate::app::{AppState, AppSystems};
use crate::twin::access::{IndicatorPolicy, RecordCounts};
use crate::twin::feeds::Timestamp;
use crate::twin::indicators::composite::zone_unit_scores;
use crate::twin::indicators::evaluate::evaluate;
use crate::twin::indicators::{Evaluation, FeedInputs, Indicators, hourly_histories};

/// Recompute when the instant shown has moved this far (data time) since the last one.
const RECOMPUTE_EVERY_MS: i64 = 60 * Timestamp::SECOND_MS;
/// Score snapshots kept for trends and sparklines.
const HISTORY_LEN: usize = 120;
/// A score change smaller than this (points of 100) shows as a flat trend.
pub const TREND_DEADBAND: f64 = 0.5;

/// Feed inputs for the indicators, written by the live-feeds side; `None` until feeds run.
#[derive(Resource, Debug, Default)]
pub struct IndicatorFeedInputs(pub Option<FeedInputs>);

/// The indicator engine of the loaded city.
#[derive(Resource)]
pub struct IndicatorEngine(pub Indicators);

/// One snapshot of the composite scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreSnapshot {
    /// The instant evaluated.
    pub at: Timestamp,
    /// Dimension scores in `Dimension::ALL` order.
    pub dimensions: [Option<f64>; 6],
    /// The smart-city index.
    pub index: Option<f64>,
}

/// What the dashboard shows: the latest evaluation, score history, the chosen choropleth.
#[derive(Resource, Debug, Default)]
pub struct Dashboard {
    /// The latest evaluation.
    pub eval: Option<Evaluation>,
    /// Recent score snapshots, oldest first.
    pub history: VecDeque<ScoreSnapshot>,
    /// Milliseconds the last recompute took.
    pub recompute_ms: f64,
    /// Catalogue index of the indicator the zones are coloured by.
    pub choropleth: Option<usize>,
    /// Per-zone 0–1 scores of the choropleth indicator (`None`: no data in that zone).
    pub zone_scores: Vec<Option<f64>>,
    /// Per-zone 0–1 scores the zones show instead of [`Dashboard::zone_scores`] while a
    /// briefing slide with values of its own is shown (its scenario's evaluation, or an
    /// export's values from the history at the slide's data time); `None`: the dashboard's.
    pub slide_zone_scores: Option<Vec<Option<f64>>>,
}

impl Dashboard {
    /// The change of a dimension's score (or, with `None`, of the index) over the history
    /// kept: positive = improving.
    pub fn trend(&self, dimension: Option<usize>) -> Option<f64> {
        let pick = |s: &ScoreSnapshot| match dimension {
            Some(d) => s.dimensions[d],
            None => s.index,
        };
        let last = self.history.back().and_then(pick)?;
        let first = self.history.iter().find_map(pick)?;
        Some(last - first)
    }

    /// Adds a snapshot, dropping the oldest beyond the history length. A snapshot at an
    /// earlier instant than the last (the time slider moved back) starts a new history.
    fn push(&mut self, s: ScoreSnapshot) {
        if self.history.back().is_some_and(|l| l.at > s.at) {
            self.history.clear();
        }
        self.history.push_back(s);
        while self.history.len() > HISTORY_LEN {
            self.history.pop_front();
        }
    }
}

/// The choropleth colour of a 0–1 score: red (alarm) through amber to green (target), sRGB.
pub fn choropleth_rgb(score: f64) -> [u8; 3] {
    const STOPS: [[f64; 3]; 3] = [[215.0, 60.0, 50.0], [240.0, 190.0, 60.0], [60.0, 170.0, 90.0]];
    let t = score.clamp(0.0, 1.0) * 2.0;
    let (a, b, f) = if t < 1.0 {
        (STOPS[0], STOPS[1], t)
    } else {
        (STOPS[1], STOPS[2], t - 1.0)
    };
    [0, 1, 2].map(|i| (a[i] + (b[i] - a[i]) * f).round() as u8)
}

/// The colour a zone is painted in for a choropleth score ([`choropleth_rgb`] at the
/// choropleth's opacity; a faint grey without data).
pub fn choropleth_colour(score: Option<f64>) -> Color {
    match score {
        Some(v) => {
            let [r, g, b] = choropleth_rgb(v);
            Color::srgba_u8(r, g, b, (CHOROPLETH_ALPHA * 255.0) as u8)
        }
        None => Color::srgba(0.5, 0.5, 0.5, NO_DATA_ALPHA),
    }
}

/// Builds the engine when the city is ready and keeps the dashboard current.
pub struct DashboardPlugin;

impl Plugin for DashboardPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<IndicatorFeedInputs>()
            .init_resource::<Dashboard>()
            .add_systems(OnEnter(AppState::Ready), build_engine)
            .add_systems(
                Update,
                (recompute, zone_scores)
                    .chain()
                    .in_set(AppSystems::Indicators)
                    .run_if(resource_exists::<IndicatorEngine>),
            )
            .add_systems(
                Update,
                paint_choropleth
                    .in_set(AppSystems::Visuals)
                    .run_if(resource_exists::<ZoneColours>.and_then(resource_changed::<Dashboard>)),
            );
    }
}

/// Builds the indicator engine for the loaded city.
fn build_engine(mut commands: Commands, loaded: Option<Res<LoadedCity>>) {
    let Some(loaded) = loaded else { return };
    let t = Instant::now();
    let engine = Indicators::new(&loaded.0.city, &loaded.0.scene.indicators);
    info!(
        "indicators: {} defined, context built in {:.0} ms",
        engine.ctx.catalogue.indicators.len(),
        t.elapsed().as_secs_f64() * 1_000.0
    );
    commands.insert_resource(IndicatorEngine(engine));
}

/// Opacity of zones coloured by an indicator.
const CHOROPLETH_ALPHA: f32 = 0.6;
/// Opacity of zones without data while a choropleth is shown.
const NO_DATA_ALPHA: f32 = 0.12;

/// Writes the choropleth into the zones' colour buffer (and shows the zones), or restores
/// the plain zone colours when none is chosen. A slide's own scores
/// ([`Dashboard::slide_zone_scores`]) win over the dashboard's. Only the buffer changes,
/// never a mesh; this is the one writer of choropleth colours.
pub(crate) fn paint_choropleth(
    dash: Res<Dashboard>,
    loaded: Res<LoadedCity>,
    mut colours: ResMut<ZoneColours>,
    mut layers: Query<(&LayerEntity, &mut Visibility)>,
    mut shown: Local<Option<Vec<Option<f64>>>>,
) {
    let current = dash
        .slide_zone_scores
        .clone()
        .or_else(|| dash.choropleth.map(|_| dash.zone_scores.clone()));
    if *shown == current {
        return;
    }
    let city = &loaded.0.city;
    match &current {
        Some(scores) => {
            for (i, s) in scores.iter().enumerate() {
                colours.set(i, choropleth_colour(*s));
            }
            let zone_layer = crate::twin::ground::zone_layer(city);
            for (layer, mut v) in &mut layers {
                if layer.index == zone_layer {
                    *v = Visibility::Visible;
                }
            }
        }
        None => colours.colours = initial_zone_colours(city, &loaded.0.scene),
    }
    *shown = current;
}

/// Recomputes when there is no evaluation yet, the feed inputs changed, or the instant
/// shown moved by [`RECOMPUTE_EVERY_MS`].
fn recompute(
    loaded: Res<LoadedCity>,
    access: Option<Res<crate::app::access::SceneAccess>>,
    time: Res<TwinTime>,
    inputs: Res<IndicatorFeedInputs>,
    mut engine: ResMut<IndicatorEngine>,
    mut dash: ResMut<Dashboard>,
) {
    let at = time.shown();
    let moved = dash
        .eval
        .as_ref()
        .is_none_or(|e| (e.at.0 - at.0).abs() >= RECOMPUTE_EVERY_MS);
    if !(moved || inputs.is_changed()) {
        return;
    }
    let t = Instant::now();
    let mut feeds = inputs.0.clone().unwrap_or_else(|| FeedInputs::none(at));
    feeds.window.at = at;
    let histories = hourly_histories(&engine.0.ctx, &feeds);
    let (eval, raised) = match access {
        // Under a role: values the role may not see are removed before the alert log and
        // the dashboard see them (see `twin::access::indicators`).
        Some(access) => {
            let engine = &mut engine.0;
            let catalogue = &engine.ctx.catalogue;
            let policy = IndicatorPolicy::new(catalogue, &access.withheld, &access.role);
            let counts = RecordCounts::from_observations(&feeds.window.observations, &loaded.0.city.zones);
            let computed = engine.ctx.compute(&loaded.0.city, &feeds);
            let mut eval = evaluate(catalogue, &computed, engine.ctx.stale_after_ms());
            policy.redact_evaluation(catalogue, &mut eval, &counts);
            let raised = engine
                .alerts
                .update(catalogue, &eval, &engine.ctx.zone_names, &histories);
            (eval, raised)
        }
        None => {
            let (_, eval, raised) = engine.0.recompute(&loaded.0.city, &feeds, &histories);
            (eval, raised)
        }
    };
    for a in &raised {
        info!("alert {:?} {} {:?}: {}", a.kind, a.indicator, a.zone, a.evidence);
    }
    dash.recompute_ms = t.elapsed().as_secs_f64() * 1_000.0;
    dash.push(ScoreSnapshot {
        at,
        dimensions: eval.dimensions,
        index: eval.index,
    });
    dash.eval = Some(eval);
}

/// Per-zone 0–1 scores of the chosen choropleth indicator.
fn zone_scores(engine: Res<IndicatorEngine>, mut dash: ResMut<Dashboard>) {
    if !dash.is_changed() {
        return;
    }
    let scores: Vec<Option<f64>> = match (dash.choropleth, &dash.eval) {
        (Some(k), Some(eval)) => {
            let Some(def) = engine.0.ctx.catalogue.indicators.get(k) else {
                return;
            };
            zone_unit_scores(def, k, eval)
        }
        _ => Vec::new(),
    };
    if scores != dash.zone_scores {
        dash.zone_scores = scores;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use bevy::state::app::StatesPlugin;

    use super::*;
    use crate::app::ground_view::FeatureColours;
    use crate::twin::load::LoadedScene;

    /// Gives `app` the loaded city, blank zone colours for its zones (the dashboard paints
    /// them), and asks for the ready state.
    pub(crate) fn make_ready(app: &mut App, loaded: LoadedScene) {
        let zones = loaded.city.zones.len();
        app.insert_resource(ZoneColours(FeatureColours {
            colours: vec![[0.0; 4]; zones],
            buffer: Handle::default(),
        }))
        .insert_resource(LoadedCity(Arc::new(loaded)));
        app.world_mut()
            .resource_mut::<NextState<AppState>>()
            .set(AppState::Ready);
    }

    #[test]
    fn trend_compares_first_and_last_snapshot() {
        let mut d = Dashboard::default();
        for (i, v) in [50.0, 55.0, 61.0].into_iter().enumerate() {
            d.push(ScoreSnapshot {
                at: Timestamp(i as i64),
                dimensions: [Some(v), None, None, None, None, None],
                index: Some(v),
            });
        }
        assert_eq!(d.trend(Some(0)), Some(11.0));
        assert_eq!(d.trend(Some(1)), None);
        d.push(ScoreSnapshot {
            at: Timestamp(0),
            dimensions: [Some(40.0); 6],
            index: None,
        });
        assert_eq!(d.history.len(), 1, "moving back in time restarts the history");
    }

    #[test]
    fn engine_evaluates_the_loaded_city_and_colours_zones_by_an_indicator() {
        let loaded = crate::app::outline::tests::tiny_loaded_scene();
        let zones = loaded.city.zones.len();
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, StatesPlugin))
            .init_state::<AppState>()
            .init_resource::<TwinTime>()
            .add_plugins(DashboardPlugin);
        make_ready(&mut app, loaded);
        app.update();
        app.update();
        let dash = app.world().resource::<Dashboard>();
        let eval = dash.eval.as_ref().expect("evaluated");
        assert_eq!(eval.zones.len(), zones);
        assert!(dash.zone_scores.is_empty());
        let n = app
            .world()
            .resource::<IndicatorEngine>()
            .0
            .ctx
            .catalogue
            .indicators
            .len();
        assert!(n >= 24, "catalogue has {n}");
        // Colour the zones by the first indicator that has a value in some zone.
        let k = (0..n)
            .find(|&k| eval.zones.iter().any(|z| z[k].value.is_some()))
            .expect("some indicator has zone values");
        app.world_mut().resource_mut::<Dashboard>().choropleth = Some(k);
        app.update();
        let dash = app.world().resource::<Dashboard>();
        assert_eq!(dash.zone_scores.len(), zones);
        assert!(dash.zone_scores.iter().flatten().all(|s| (0.0..=1.0).contains(s)));
        assert!(dash.zone_scores.iter().any(Option::is_some));
        // The zones' colour buffer carries the choropleth.
        let scores = dash.zone_scores.clone();
        app.update();
        let colours = &app.world().resource::<ZoneColours>().colours;
        for (c, s) in colours.iter().zip(&scores) {
            let alpha = if s.is_some() {
                CHOROPLETH_ALPHA
            } else {
                NO_DATA_ALPHA
            };
            assert!((c[3] - alpha).abs() < 0.01, "{c:?} for {s:?}");
        }
        // A slide's own scores win while shown, and let go when cleared.
        let linear = |s: Option<f64>| {
            let l = choropleth_colour(s).to_linear();
            [l.red, l.green, l.blue, l.alpha]
        };
        let own: Vec<Option<f64>> = (0..zones).map(|z| (z % 2 == 0).then_some(1.0)).collect();
        app.world_mut().resource_mut::<Dashboard>().slide_zone_scores = Some(own.clone());
        app.update();
        let colours = app.world().resource::<ZoneColours>().colours.clone();
        assert_eq!(colours, own.iter().map(|s| linear(*s)).collect::<Vec<_>>());
        app.world_mut().resource_mut::<Dashboard>().slide_zone_scores = None;
        app.update();
        let colours = app.world().resource::<ZoneColours>().colours.clone();
        assert_eq!(colours, scores.iter().map(|s| linear(*s)).collect::<Vec<_>>());
    }
}
