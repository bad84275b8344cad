//! The wall's alert ticker: new decision-window alerts (a forecast crossing ahead, with the
//! time by which to act) appear prominently for a while, newest first. Memory stays flat over
//! days: only alerts still open are remembered as seen, and only a few are shown.

use std::collections::{BTreeSet, VecDeque};

use crate::twin::indicators::{Alert, AlertKind};

/// How long a new alert stays on the ticker, seconds.
pub const DEFAULT_HOLD_S: f64 = 300.0;
/// Alerts on the ticker at most (the oldest leave first).
pub const DEFAULT_MAX_SHOWN: usize = 6;

/// One alert on the ticker.
#[derive(Debug, Clone, PartialEq)]
pub struct TickerItem {
    /// The alert as it was when it appeared.
    pub alert: Alert,
    /// When it appeared (the caller's clock, seconds).
    pub since: f64,
}

/// The ticker state; see the module documentation.
#[derive(Debug, Clone)]
pub struct AlertTicker {
    /// How long an alert stays, seconds.
    pub hold_s: f64,
    /// Most alerts shown at once.
    pub max_shown: usize,
    seen: BTreeSet<u64>,
    shown: VecDeque<TickerItem>,
}

impl Default for AlertTicker {
    fn default() -> Self {
        AlertTicker {
            hold_s: DEFAULT_HOLD_S,
            max_shown: DEFAULT_MAX_SHOWN,
            seen: BTreeSet::new(),
            shown: VecDeque::new(),
        }
    }
}

impl AlertTicker {
    /// Takes in the open alerts at `now` (seconds): decision windows not seen before go on
    /// the ticker; alerts past their hold, closed or beyond the limit leave it. Returns how
    /// many appeared.
    pub fn observe<'a>(&mut self, now: f64, open: impl IntoIterator<Item = &'a Alert>) -> usize {
        let mut open_ids = BTreeSet::new();
        let mut added = 0;
        for a in open {
            open_ids.insert(a.id);
            if a.kind != AlertKind::DecisionWindow || a.closed.is_some() || self.seen.contains(&a.id) {
                continue;
            }
            self.seen.insert(a.id);
            self.shown.push_front(TickerItem {
                alert: a.clone(),
                since: now,
            });
            added += 1;
        }
        // Forget closed alerts (an id is never reused, so nothing reappears).
        self.seen.retain(|id| open_ids.contains(id));
        let hold = self.hold_s;
        self.shown
            .retain(|i| open_ids.contains(&i.alert.id) && now - i.since < hold && now >= i.since);
        self.shown.truncate(self.max_shown);
        added
    }

    /// The alerts on the ticker, newest first.
    pub fn shown(&self) -> impl Iterator<Item = &TickerItem> {
        self.shown.iter()
    }

    /// Number of open alert ids remembered (bounded by the open alerts).
    pub fn remembered(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::feeds::Timestamp;
    use crate::twin::indicators::Status;

    fn alert(id: u64, kind: AlertKind) -> Alert {
        Alert {
            id,
            kind,
            indicator: "env.no2_daily_mean".into(),
            zone: Some("Z3".into()),
            scope: Some(3),
            level: Status::Alarm,
            value: 38.0,
            threshold: 40.0,
            raised: Timestamp(0),
            by: Some(Timestamp(3_600_000)),
            evidence: "Holt forecast".into(),
            acknowledged: None,
            closed: None,
        }
    }

    #[test]
    fn new_decision_windows_appear_once_and_leave_after_the_hold() {
        let mut t = AlertTicker {
            hold_s: 60.0,
            ..AlertTicker::default()
        };
        let a = alert(1, AlertKind::DecisionWindow);
        let th = alert(2, AlertKind::Threshold);
        assert_eq!(t.observe(0.0, [&a, &th]), 1, "thresholds are not ticked");
        assert_eq!(t.observe(10.0, [&a, &th]), 0, "seen already");
        assert_eq!(t.shown().map(|i| i.alert.id).collect::<Vec<_>>(), [1]);
        let b = alert(3, AlertKind::DecisionWindow);
        assert_eq!(t.observe(30.0, [&a, &b]), 1);
        assert_eq!(
            t.shown().map(|i| i.alert.id).collect::<Vec<_>>(),
            [3, 1],
            "newest first"
        );
        t.observe(65.0, [&a, &b]);
        assert_eq!(
            t.shown().map(|i| i.alert.id).collect::<Vec<_>>(),
            [3],
            "1 held 60 s"
        );
        // Closing removes it and forgets it.
        t.observe(70.0, [&a]);
        assert_eq!(t.shown().count(), 0);
        assert_eq!(t.remembered(), 1);
    }

    #[test]
    fn memory_stays_bounded_over_many_alerts() {
        let mut t = AlertTicker::default();
        for k in 0..10_000u64 {
            // Three alerts open at a time, a new one every step.
            let open: Vec<Alert> = (k..k + 3)
                .map(|id| alert(id, AlertKind::DecisionWindow))
                .collect();
            t.observe(k as f64, &open);
            assert!(t.remembered() <= 3);
            assert!(t.shown().count() <= DEFAULT_MAX_SHOWN);
        }
        assert_eq!(
            t.shown().next().map(|i| i.alert.id),
            Some(10_001),
            "the newest opened"
        );
    }
}
