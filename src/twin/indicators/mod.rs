//! Six-dimension city indicators (economy, governance, environment, people, mobility,
//! living): a catalogue with targets and thresholds, computed from the city model (walk
//! network, population estimate, land use) and the live feeds, per zone and city-wide;
//! statuses, composite scores, forecast-based decision-window alerts, and the report.
//!
//! For the app: build an [`Indicators`] once per loaded city, call
//! [`Indicators::recompute`] whenever the feed window or the city changes (after
//! [`IndicatorContext::update_building`] / [`IndicatorContext::refresh_pois`] /
//! [`IndicatorContext::refresh_roads`] for edits), and read the returned [`Evaluation`],
//! new alerts, and [`Indicators::alerts`] for the log.

pub mod alerts;
pub mod catalogue;
pub mod composite;
pub mod config;
pub mod context;
pub mod evaluate;
pub mod feeds;
pub mod forecast;
pub mod network;
pub mod population;
pub mod report;

#[cfg(test)]
pub(crate) mod tests;

pub use alerts::{Alert, AlertGroup, AlertKind, AlertLog, Histories, Scope, digest, higher_is_better};
pub use catalogue::{Catalogue, Dimension, IndicatorDef};
pub use config::IndicatorConfig;
pub use context::{Computed, FeedInputs, IndicatorContext, Sums};
pub use evaluate::{Evaluated, Evaluation, Status};
pub use feeds::FeedWindow;
pub use report::{Report, build_report, report_for_scene, report_for_scene_from_history};

use crate::twin::city::CityModel;
use crate::twin::feeds::{Metric, Timestamp};

/// Milliseconds in a minute.
const MINUTE_MS: f64 = 60_000.0;

impl IndicatorContext {
    /// Staleness limit of feed indicators, ms.
    pub fn stale_after_ms(&self) -> i64 {
        (self.config.stale_after_min * MINUTE_MS) as i64
    }

    /// Horizon of decision-window alerts, ms.
    pub fn horizon_ms(&self) -> i64 {
        (self.config.forecast_horizon_h * Timestamp::HOUR_MS as f64) as i64
    }
}

/// The indicator engine of one city: the precomputed context and the alert log.
#[derive(Debug, Clone)]
pub struct Indicators {
    /// Precomputed state (catalogue, network, per-building facts).
    pub ctx: IndicatorContext,
    /// Alerts, open and past.
    pub alerts: AlertLog,
}

impl Indicators {
    /// Builds the engine for a city with the scene's settings.
    pub fn new(city: &CityModel, config: &IndicatorConfig) -> Indicators {
        let ctx = IndicatorContext::new(city, config);
        let alerts = AlertLog::new(ctx.horizon_ms());
        Indicators { ctx, alerts }
    }

    /// Recomputes and evaluates every indicator and updates the alert log; returns the
    /// computed values, their evaluation and the alerts this raised.
    pub fn recompute(
        &mut self,
        city: &CityModel,
        feeds: &FeedInputs,
        histories: &Histories,
    ) -> (Computed, Evaluation, Vec<Alert>) {
        let computed = self.ctx.compute(city, feeds);
        let eval = evaluate::evaluate(&self.ctx.catalogue, &computed, self.ctx.stale_after_ms());
        let raised = self
            .alerts
            .update(&self.ctx.catalogue, &eval, &self.ctx.zone_names, histories);
        (computed, eval, raised)
    }
}

/// Hourly history series of the feed-mean indicators (city-wide), built from a feed
/// window: the mean of each hour's observations. For forecasts until the history store
/// provides longer series.
pub fn hourly_histories(ctx: &IndicatorContext, feeds: &FeedInputs) -> Histories {
    let mut out = Histories::new();
    for def in &ctx.catalogue.indicators {
        let catalogue::Compute::FeedMean { metric, scale } = def.compute else {
            continue;
        };
        let series = hourly_means(&feeds.window, metric, scale);
        if !series.is_empty() {
            out.insert((def.id.clone(), None), series);
        }
    }
    out
}

fn hourly_means(w: &FeedWindow, metric: Metric, scale: f64) -> Vec<(Timestamp, f64)> {
    let mut buckets: std::collections::BTreeMap<i64, (f64, usize)> = Default::default();
    for o in w
        .observations
        .iter()
        .filter(|o| o.metric == metric && o.value.is_finite())
    {
        let e = buckets
            .entry(o.time.0.div_euclid(Timestamp::HOUR_MS))
            .or_default();
        e.0 += o.value;
        e.1 += 1;
    }
    buckets
        .into_iter()
        .map(|(h, (s, n))| (Timestamp((h + 1) * Timestamp::HOUR_MS), s / n as f64 * scale))
        .collect()
}
