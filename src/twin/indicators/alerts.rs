//! Alerts: a threshold alert when an indicator's status worsens into warning or alarm, and
//! a decision-window alert when a Holt forecast on its history predicts a crossing within
//! the horizon — which indicator, where, by when, on what evidence. Alerts can be
//! acknowledged; every alert is kept in the history with its acknowledgement and closing.

use std::collections::HashMap;

use serde::Serialize;

use crate::twin::feeds::Timestamp;
use crate::twin::i18n::{self, Arg, Lang, format_number, tr, tr_args};
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

/// Most zones an alert digest names as the worst of its group.
pub const DIGEST_WORST_ZONES: usize = 3;

/// One line of the alert digest the control room reads: a city-wide alert as it is, or the
/// open zone alerts of one indicator and kind folded into one. Derefs to the [`Alert`]
/// standing for the group: its `id` is the group's oldest alert's (stable while that one is
/// open), its `level` the worst level, its `zone` names the number of zones (and how many
/// in alarm) and the worst ones, `value` is the worst zone's, `raised` the earliest and
/// `by` the soonest of the group; `acknowledged` is set once every member is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertGroup {
    /// The alert standing for the group.
    #[serde(flatten)]
    pub alert: Alert,
    /// Ids of the alerts folded in (one for a city-wide alert).
    pub members: Vec<u64>,
    /// Zones in the group (0 for a city-wide alert).
    pub zones: usize,
    /// The worst zones, worst first: name and value (at most [`DIGEST_WORST_ZONES`]).
    pub worst: Vec<(String, f64)>,
    /// Zones of the group in alarm.
    #[serde(skip)]
    pub alarms: usize,
}

impl std::ops::Deref for AlertGroup {
    type Target = Alert;

    fn deref(&self) -> &Alert {
        &self.alert
    }
}

/// Which way is better for each indicator of a catalogue, by id (for [`digest`]); unknown
/// ids count higher as worse.
pub fn higher_is_better(catalogue: &Catalogue) -> impl Fn(&str) -> bool + '_ {
    move |id: &str| {
        catalogue
            .indicators
            .iter()
            .find(|d| d.id == id)
            .is_some_and(|d| d.higher_is_better)
    }
}

/// The zone alerts a digest line folds together: indicator id and kind.
type GroupKey = (String, AlertKind);

/// Folds open alerts into a digest: city-wide alerts one each; zone alerts of the same
/// indicator and kind into one [`AlertGroup`], its zones ranked alarm before warning, then
/// by value in the bad direction (`higher_is_better` by indicator id). Groups come in order
/// of their first member's id.
pub fn digest<'a>(
    alerts: impl IntoIterator<Item = &'a Alert>,
    higher_is_better: impl Fn(&str) -> bool,
) -> Vec<AlertGroup> {
    let mut groups: Vec<AlertGroup> = Vec::new();
    let mut members: HashMap<GroupKey, Vec<&Alert>> = HashMap::new();
    // By first id: a city-wide alert itself, or the key of a zone group.
    let mut order: Vec<(u64, Option<GroupKey>, Option<&Alert>)> = Vec::new();
    for a in alerts {
        if a.zone.is_none() {
            order.push((a.id, None, Some(a)));
            continue;
        }
        let key = (a.indicator.clone(), a.kind);
        let list = members.entry(key.clone()).or_default();
        if list.is_empty() {
            order.push((a.id, Some(key), None));
        }
        list.push(a);
    }
    order.sort_by_key(|(id, _, _)| *id);
    for (_, key, single) in order {
        if let Some(a) = single {
            groups.push(AlertGroup {
                alert: a.clone(),
                members: vec![a.id],
                zones: 0,
                worst: Vec::new(),
                alarms: 0,
            });
            continue;
        }
        let Some(mut list) = key.and_then(|k| members.remove(&k)) else {
            continue;
        };
        let better_high = higher_is_better(&list[0].indicator);
        // Worst first: alarms before warnings, then furthest in the bad direction.
        let badness = |a: &Alert| if better_high { -a.value } else { a.value };
        list.sort_by(|a, b| {
            level_rank(b.level)
                .cmp(&level_rank(a.level))
                .then(badness(b).total_cmp(&badness(a)))
                .then(a.id.cmp(&b.id))
        });
        let worst_alert = list[0];
        let first = list.iter().map(|a| a.id).min().unwrap_or(worst_alert.id);
        let worst: Vec<(String, f64)> = list
            .iter()
            .take(DIGEST_WORST_ZONES)
            .map(|a| (a.zone.clone().unwrap_or_default(), a.value))
            .collect();
        let n = list.len();
        let alarms = list.iter().filter(|a| a.level == Status::Alarm).count();
        let zone = if n == 1 {
            worst_alert.zone.clone()
        } else {
            let names: Vec<String> = worst.iter().map(|(z, v)| format!("{z} {v:.3}")).collect();
            let in_alarm = if alarms > 0 && alarms < n {
                format!(", {alarms} in alarm")
            } else {
                String::new()
            };
            Some(format!("{n} zones{in_alarm} (worst: {})", names.join(", ")))
        };
        let acknowledged = if list.iter().all(|a| a.acknowledged.is_some()) {
            list.iter().filter_map(|a| a.acknowledged).max()
        } else {
            None
        };
        let alert = Alert {
            id: first,
            zone,
            scope: if n == 1 { worst_alert.scope } else { None },
            raised: list.iter().map(|a| a.raised).min().unwrap_or(worst_alert.raised),
            by: list.iter().filter_map(|a| a.by).min(),
            acknowledged,
            evidence: if n == 1 {
                worst_alert.evidence.clone()
            } else {
                format!("{n} zones; worst {}: {}", worst[0].0, worst_alert.evidence)
            },
            ..worst_alert.clone()
        };
        let mut ids: Vec<u64> = list.iter().map(|a| a.id).collect();
        ids.sort_unstable();
        groups.push(AlertGroup {
            alert,
            members: ids,
            zones: n,
            worst,
            alarms,
        });
    }
    groups
}

/// Where an alert digest line applies, in `lang`: "city-wide", the zone, or "5 zones, 2 in
/// alarm (worst: Z1 0.412, Z7 0.398)".
pub fn alert_scope(lang: Lang, g: &AlertGroup) -> String {
    if g.zones <= 1 {
        return g
            .zone
            .clone()
            .unwrap_or_else(|| tr(lang, "cli-report-alert-city-wide"));
    }
    let worst: Vec<String> = g
        .worst
        .iter()
        .map(|(z, v)| format!("{z} {}", format_number(lang, *v, 3)))
        .collect();
    let worst = worst.join(", ");
    if g.alarms > 0 && g.alarms < g.zones {
        tr_args(
            lang,
            "alert-scope-zones-alarm",
            &[
                ("count", g.zones.into()),
                ("alarms", g.alarms.into()),
                ("worst", worst.into()),
            ],
        )
    } else {
        tr_args(
            lang,
            "alert-scope-zones",
            &[("count", g.zones.into()), ("worst", worst.into())],
        )
    }
}

/// What an alert says, in `lang`, made from its fields at display time: "PM2.5 is 41.2
/// µg/m³, past the alarm threshold 35" or "forecast: … reaches the warning threshold … by
/// …". The English `evidence` (the fit's figures) stays the record.
pub fn alert_text(lang: Lang, a: &Alert, catalogue: &Catalogue) -> String {
    let def = catalogue.indicators.iter().find(|d| d.id == a.indicator);
    let name = def.map_or(a.indicator.clone(), |d| {
        i18n::indicator_name(lang, &d.id, &d.name)
    });
    let unit = def.map_or(String::new(), |d| i18n::unit(lang, &d.unit));
    let args = |extra: Option<(&'static str, Arg)>| {
        let mut v: Vec<(&str, Arg)> = vec![
            ("indicator", name.clone().into()),
            ("value", i18n::format_value(lang, a.value).into()),
            ("unit", unit.clone().into()),
            ("level", i18n::status_name(lang, a.level).into()),
            ("threshold", i18n::format_value(lang, a.threshold).into()),
        ];
        v.extend(extra);
        v
    };
    match (a.kind, a.by) {
        (AlertKind::DecisionWindow, Some(by)) => tr_args(
            lang,
            "alert-text-forecast",
            &args(Some(("by", i18n::format_date_time(lang, by).into()))),
        ),
        _ => tr_args(lang, "alert-text-threshold", &args(None)),
    }
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

    /// The open alerts as a digest ([`digest`]): zone alerts of one indicator and kind
    /// folded into one line, so that a city of hundreds of zones raises a handful of
    /// lines, not hundreds. `higher_is_better` tells, by indicator id, which way is worse.
    pub fn digest(&self, higher_is_better: impl Fn(&str) -> bool) -> Vec<AlertGroup> {
        digest(self.active(), higher_is_better)
    }

    /// Acknowledges every alert of a digest line; the number acknowledged now.
    pub fn acknowledge_group(&mut self, group: &AlertGroup, at: Timestamp) -> usize {
        group
            .members
            .iter()
            .filter(|&&id| self.acknowledge(id, at))
            .count()
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
        if e.status == Status::NotApplicable {
            // The place lost the indicator's base (an edit removed its residents, a sensor
            // left): what was open about it no longer holds.
            for kind in [AlertKind::Threshold, AlertKind::DecisionWindow] {
                let key = (k, scope, kind);
                let ids = self.open.get(&key).cloned().unwrap_or_default();
                for id in ids {
                    self.close(key, id, at);
                }
            }
            self.last.remove(&(k, scope));
            return out;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(id: u64, indicator: &str, zone: Option<&str>, level: Status, value: f64) -> Alert {
        Alert {
            id,
            kind: AlertKind::Threshold,
            indicator: indicator.into(),
            zone: zone.map(str::to_string),
            scope: zone.map(|_| id as u32),
            level,
            value,
            threshold: 10.0,
            raised: Timestamp(1_000 + id as i64),
            by: None,
            evidence: format!("{indicator} is {value}"),
            acknowledged: None,
            closed: None,
        }
    }

    #[test]
    fn zone_alerts_of_an_indicator_fold_into_one_line_naming_the_worst() {
        use Status::*;
        let mut alerts = vec![alert(1, "green", None, Warning, 9.0)];
        // Green (higher is better): 5 zones, two in alarm; the lowest values are the worst.
        for (i, (v, level)) in [
            (8.0, Warning),
            (2.0, Alarm),
            (7.0, Warning),
            (3.0, Alarm),
            (9.5, Warning),
        ]
        .into_iter()
        .enumerate()
        {
            alerts.push(alert(
                2 + i as u64,
                "green",
                Some(format!("Z{i}").as_str()),
                level,
                v,
            ));
        }
        // Noise (higher is worse): 2 zones.
        alerts.push(alert(7, "noise", Some("Z0"), Warning, 60.0));
        alerts.push(alert(8, "noise", Some("Z4"), Warning, 66.0));
        // A decision window is a line of its own.
        let mut dw = alert(9, "noise", Some("Z9"), Warning, 50.0);
        dw.kind = AlertKind::DecisionWindow;
        dw.by = Some(Timestamp(5_000));
        alerts.push(dw);
        let lines = digest(&alerts, |id| id == "green");
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert_eq!((lines[0].id, lines[0].zones, lines[0].zone.clone()), (1, 0, None));
        let green = &lines[1];
        assert_eq!((green.id, green.zones, green.level), (2, 5, Alarm));
        assert_eq!(
            green.worst,
            vec![("Z1".into(), 2.0), ("Z3".into(), 3.0), ("Z2".into(), 7.0)]
        );
        assert_eq!(
            green.zone.as_deref(),
            Some("5 zones, 2 in alarm (worst: Z1 2.000, Z3 3.000, Z2 7.000)")
        );
        assert_eq!((green.value, green.raised), (2.0, Timestamp(1_002)));
        assert_eq!(green.members, vec![2, 3, 4, 5, 6]);
        assert_eq!(lines[2].worst[0], ("Z4".into(), 66.0));
        assert_eq!(
            lines[2].zone.as_deref(),
            Some("2 zones (worst: Z4 66.000, Z0 60.000)")
        );
        // A group of one is that alert.
        assert_eq!(lines[3].zone.as_deref(), Some("Z9"));
        assert_eq!(lines[3].by, Some(Timestamp(5_000)));
        assert_eq!(lines.iter().map(|l| l.members.len()).sum::<usize>(), alerts.len());
    }

    #[test]
    fn a_digest_line_is_acknowledged_as_a_whole() {
        let mut log = AlertLog::new(Timestamp::HOUR_MS);
        for (i, z) in ["A", "B", "C"].into_iter().enumerate() {
            let mut a = alert(0, "noise", Some(z), Status::Warning, 60.0 + i as f64);
            a.scope = Some(i as u32);
            log.raise(0, a);
        }
        let lines = log.digest(|_| false);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].acknowledged.is_none());
        assert!(log.acknowledge(lines[0].members[0], Timestamp(7)));
        assert!(
            log.digest(|_| false)[0].acknowledged.is_none(),
            "one of three acknowledged"
        );
        assert_eq!(log.acknowledge_group(&lines[0], Timestamp(9)), 2);
        assert_eq!(log.digest(|_| false)[0].acknowledged, Some(Timestamp(9)));
        let json = serde_json::to_value(&log.digest(|_| false)[0]).unwrap();
        assert_eq!(json["zones"], 3);
        assert_eq!(json["indicator"], "noise");
    }
}
