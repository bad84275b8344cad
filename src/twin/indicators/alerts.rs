//! Alerts: a threshold alert when an indicator's status worsens into warning or alarm, and
//! a decision-window alert when a Holt forecast on its history predicts a crossing within
//! the horizon — which indicator, where, by when, on what evidence. Alerts can be
//! acknowledged; every alert is kept in the history with its acknowledgement and closing.

use std::collections::HashMap;

use serde::Serialize;

use crate::twin::feeds::Timestamp;
use crate::twin::indicators::catalogue::{Catalogue, IndicatorDef};
use crate::twin::indicators::evaluate::{Evaluated, Evaluation, Status};
use crate::twin::indicators::forecast::{self, HoltParams};

/// Where an indicator is evaluated: `None` city-wide, `Some(zone id)`.
pub type Scope = Option<u32>;

/// History series per (indicator id, scope): `(time, value)` points.
pub type Histories = HashMap<(String, Scope), Vec<(Timestamp, f64)>>;

/// What raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The value crossed a threshold.
    Threshold,
    /// A forecast predicts a crossing within the horizon.
    DecisionWindow,
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Id, unique in its log.
    pub id: u64,
    /// Threshold or decision window.
    pub kind: AlertKind,
    /// Indicator id.
    pub indicator: String,
    /// Zone name; `None` city-wide.
    pub zone: Option<String>,
    /// Zone id; `None` city-wide.
    #[serde(skip)]
    pub scope: Scope,
    /// Warning or alarm (the level crossed or predicted).
    pub level: Status,
    /// The value when raised.
    pub value: f64,
    /// The threshold crossed or predicted to be crossed.
    pub threshold: f64,
    /// When it was raised.
    pub raised: Timestamp,
    /// Decision windows: when the crossing is predicted.
    pub by: Option<Timestamp>,
    /// What it rests on, in words.
    pub evidence: String,
    /// When it was acknowledged.
    pub acknowledged: Option<Timestamp>,
    /// When its condition ended.
    pub closed: Option<Timestamp>,
}

/// Closed alerts the history keeps; beyond this the oldest closed ones are dropped, so
/// that a twin left running for days keeps flat memory. Open alerts are always kept.
pub const MAX_CLOSED_ALERTS: usize = 10_000;

/// The alert log: open alerts and the history of all of them.
#[derive(Debug, Clone, Default)]
pub struct AlertLog {
    next_id: u64,
    /// Every alert raised, in order of id (open ones too, kept up to date), less the
    /// oldest closed ones beyond [`MAX_CLOSED_ALERTS`].
    history: Vec<Alert>,
    /// Ids of the open alerts by indicator (catalogue index), scope and kind: an update
    /// looks up its own instead of walking the history.
    open: HashMap<(usize, Scope, AlertKind), Vec<u64>>,
    /// Closed alerts in `history`.
    closed: usize,
    /// Closed alerts kept ([`MAX_CLOSED_ALERTS`] unless changed).
    pub max_closed: usize,
    last: HashMap<(usize, Scope), Status>,
    /// Horizon of decision windows, ms.
    pub horizon_ms: i64,
    /// Forecast parameters.
    pub holt: HoltParams,
}

fn level_rank(s: Status) -> u8 {
    match s {
        Status::Alarm => 2,
        Status::Warning => 1,
        _ => 0,
    }
}

impl AlertLog {
    /// An empty log looking `horizon_ms` ahead.
    pub fn new(horizon_ms: i64) -> AlertLog {
        AlertLog {
            horizon_ms,
            max_closed: MAX_CLOSED_ALERTS,
            ..Default::default()
        }
    }

    /// Alerts not closed.
    pub fn active(&self) -> impl Iterator<Item = &Alert> {
        self.history.iter().filter(|a| a.closed.is_none())
    }

    /// Every alert raised, oldest first.
    pub fn history(&self) -> &[Alert] {
        &self.history
    }

    /// Acknowledges an alert; false when no such alert exists or it was already acknowledged.
    pub fn acknowledge(&mut self, id: u64, at: Timestamp) -> bool {
        match self.alert_mut(id) {
            Some(a) if a.acknowledged.is_none() => {
                a.acknowledged = Some(at);
                true
            }
            _ => false,
        }
    }

    /// Updates the log with a new evaluation; returns the alerts raised by it.
    pub fn update(
        &mut self,
        catalogue: &Catalogue,
        eval: &Evaluation,
        zone_names: &[String],
        histories: &Histories,
    ) -> Vec<Alert> {
        let mut raised = Vec::new();
        let scopes = std::iter::once((None, &eval.city))
            .chain(eval.zones.iter().enumerate().map(|(z, v)| (Some(z as u32), v)));
        for (scope, vals) in scopes {
            for (k, (def, e)) in catalogue.indicators.iter().zip(vals.iter()).enumerate() {
                let zone = scope.and_then(|z| zone_names.get(z as usize).cloned());
                raised.extend(self.update_one(k, def, e, scope, zone, eval.at, histories));
            }
        }
        raised
    }

    #[allow(clippy::too_many_arguments)]
    fn update_one(
        &mut self,
        k: usize,
        def: &IndicatorDef,
        e: &Evaluated,
        scope: Scope,
        zone: Option<String>,
        at: Timestamp,
        histories: &Histories,
    ) -> Vec<Alert> {
        let mut out = Vec::new();
        if matches!(e.status, Status::NoData | Status::Stale) {
            return out;
        }
        let Some(v) = e.value else { return out };
        let prev = self.last.insert((k, scope), e.status).unwrap_or(Status::OnTarget);
        let rank = level_rank(e.status);
        // Threshold alerts close when the status improves below their level.
        if let Some(ids) = self.open.get_mut(&(k, scope, AlertKind::Threshold)) {
            let history = &mut self.history;
            let mut closed = 0;
            ids.retain(|&id| {
                let Ok(i) = history.binary_search_by_key(&id, |a| a.id) else {
                    return false;
                };
                if level_rank(history[i].level) > rank {
                    history[i].closed = Some(at);
                    closed += 1;
                    false
                } else {
                    true
                }
            });
            self.closed += closed;
            self.trim();
        }
        if rank > level_rank(prev) {
            let threshold = if e.status == Status::Alarm {
                def.alarm
            } else {
                def.warning
            };
            out.push(self.raise(
                k,
                Alert {
                    id: 0,
                    kind: AlertKind::Threshold,
                    indicator: def.id.clone(),
                    zone: zone.clone(),
                    scope,
                    level: e.status,
                    value: v,
                    threshold,
                    raised: at,
                    by: None,
                    evidence: format!(
                        "{} is {v:.3} {}, {} the {} threshold {threshold} (was {})",
                        def.name,
                        def.unit,
                        if def.higher_is_better {
                            "at or below"
                        } else {
                            "at or above"
                        },
                        e.status.id(),
                        prev.id()
                    ),
                    acknowledged: None,
                    closed: None,
                },
            ));
        }
        // Decision window: the next worse level, predicted within the horizon.
        let next = match e.status {
            Status::OnTarget => Some((Status::Warning, def.warning)),
            Status::Warning => Some((Status::Alarm, def.alarm)),
            _ => None,
        };
        let predicted = next.and_then(|(level, threshold)| {
            let series = histories.get(&(def.id.clone(), scope))?;
            let f = forecast::fit(series, self.holt)?;
            let rising = !def.higher_is_better;
            let (by, fv) = f.first_crossing(threshold, rising, at, self.horizon_ms)?;
            Some((level, threshold, by, fv, f))
        });
        let dw_key = (k, scope, AlertKind::DecisionWindow);
        let open_dw = self
            .open
            .get(&dw_key)
            .and_then(|ids| ids.first().copied())
            .and_then(|id| self.alert_mut(id).map(|a| (id, a.level)));
        match (predicted, open_dw) {
            (None, Some((id, _))) => self.close(dw_key, id, at),
            (Some((level, _, by, _, _)), Some((id, open_level))) if open_level == level => {
                if let Some(a) = self.alert_mut(id) {
                    a.by = Some(by);
                }
            }
            (Some((level, threshold, by, fv, f)), open) => {
                if let Some((id, _)) = open {
                    self.close(dw_key, id, at);
                }
                out.push(self.raise(
                    k,
                    Alert {
                        id: 0,
                        kind: AlertKind::DecisionWindow,
                        indicator: def.id.clone(),
                        zone,
                        scope,
                        level,
                        value: v,
                        threshold,
                        raised: at,
                        by: Some(by),
                        evidence: format!(
                            "Holt linear trend (α {}, β {}) on {} points, step {} min: level {:.3}, trend \
                         {:+.3} {} per step, rmse {:.3}; forecast {fv:.3} reaches the {} threshold \
                         {threshold} in {:.1} h",
                            self.holt.alpha,
                            self.holt.beta,
                            f.points,
                            f.step_ms / 60_000,
                            f.level,
                            f.trend,
                            def.unit,
                            f.rmse,
                            level.id(),
                            (by.0 - at.0) as f64 / Timestamp::HOUR_MS as f64
                        ),
                        acknowledged: None,
                        closed: None,
                    },
                ));
            }
            (None, None) => {}
        }
        out
    }

    /// The alert of this id, if the history still has it.
    fn alert_mut(&mut self, id: u64) -> Option<&mut Alert> {
        let i = self.history.binary_search_by_key(&id, |a| a.id).ok()?;
        self.history.get_mut(i)
    }

    /// Closes the open alert `id` filed under `key`.
    fn close(&mut self, key: (usize, Scope, AlertKind), id: u64, at: Timestamp) {
        if let Some(a) = self.alert_mut(id) {
            a.closed = Some(at);
            self.closed += 1;
        }
        if let Some(ids) = self.open.get_mut(&key) {
            ids.retain(|&i| i != id);
        }
        self.trim();
    }

    /// Files a new alert of indicator `k` (open) and returns it with its id.
    fn raise(&mut self, k: usize, mut a: Alert) -> Alert {
        self.next_id += 1;
        a.id = self.next_id;
        self.open.entry((k, a.scope, a.kind)).or_default().push(a.id);
        self.history.push(a.clone());
        self.trim();
        a
    }

    /// Drops the oldest closed alerts beyond `max_closed` (in batches of a tenth, so the
    /// history is not shifted at every update).
    fn trim(&mut self) {
        if self.closed <= self.max_closed + self.max_closed / 10 {
            return;
        }
        let mut excess = self.closed - self.max_closed;
        self.history.retain(|a| {
            let drop = excess > 0 && a.closed.is_some();
            excess -= usize::from(drop);
            !drop
        });
        self.closed = self.max_closed;
    }
}
