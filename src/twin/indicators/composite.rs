//! Composite scores. Method: each indicator with a value is normalised to 0–100 by linear
//! interpolation between its alarm threshold (0) and its target (100), clamped, in its own
//! direction (higher- or lower-is-better). A dimension's score is the unweighted mean of
//! its normalised indicators that have a fresh value (stale and no-data ones are left
//! out); the smart-city index is the unweighted mean of the dimension scores that exist.
//! A dimension with no indicator value has no score (null).

use crate::twin::indicators::catalogue::{Dimension, IndicatorDef};
use crate::twin::indicators::evaluate::{Evaluation, Status};

/// Best normalised score.
pub const SCORE_MAX: f64 = 100.0;

/// The 0–100 score of a value.
pub fn normalise(def: &IndicatorDef, v: f64) -> f64 {
    let span = def.target - def.alarm;
    if span == 0.0 {
        return if (def.higher_is_better && v >= def.target) || (!def.higher_is_better && v <= def.target) {
            SCORE_MAX
        } else {
            0.0
        };
    }
    ((v - def.alarm) / span * SCORE_MAX).clamp(0.0, SCORE_MAX)
}

/// The 0–1 score of a value, as zones are coloured by it (0 alarm, 1 target): the
/// normalised score over [`SCORE_MAX`].
pub fn unit_score(def: &IndicatorDef, v: f64) -> f64 {
    normalise(def, v) / SCORE_MAX
}

/// The 0–1 score ([`unit_score`]) of every zone's value of indicator `k` (catalogue index,
/// `def` its definition) in an evaluation, in zone order; `None` where a zone has no value.
/// The one rule the dashboard's choropleth and briefing slides colour zones by.
pub fn zone_unit_scores(def: &IndicatorDef, k: usize, eval: &Evaluation) -> Vec<Option<f64>> {
    eval.zones
        .iter()
        .map(|z| z.get(k).and_then(|e| e.value).map(|v| unit_score(def, v)))
        .collect()
}

/// Per-dimension scores (in [`Dimension::ALL`] order) and the overall index, from
/// `(definition, value, status)` of every indicator in one place.
pub fn scores<'a>(
    items: impl Iterator<Item = (&'a IndicatorDef, Option<f64>, Status)>,
) -> ([Option<f64>; 6], Option<f64>) {
    let mut acc = [(0.0, 0usize); 6];
    for (def, v, st) in items {
        let (Some(v), false) = (v, matches!(st, Status::NoData | Status::Stale)) else {
            continue;
        };
        let i = Dimension::ALL
            .iter()
            .position(|d| *d == def.dimension)
            .unwrap_or(0);
        acc[i].0 += normalise(def, v);
        acc[i].1 += 1;
    }
    let dims = acc.map(|(s, n)| (n > 0).then(|| s / n as f64));
    let present: Vec<f64> = dims.iter().flatten().copied().collect();
    let index = (!present.is_empty()).then(|| present.iter().sum::<f64>() / present.len() as f64);
    (dims, index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::indicators::catalogue::Catalogue;
    use crate::twin::indicators::config::IndicatorConfig;

    #[test]
    fn normalised_between_alarm_and_target() {
        let c = Catalogue::default_catalogue(&IndicatorConfig::default());
        let pm = c.get("env.pm25_daily_mean").unwrap(); // target 15, alarm 50
        assert_eq!(normalise(pm, 15.0), 100.0);
        assert_eq!(normalise(pm, 5.0), 100.0);
        assert_eq!(normalise(pm, 50.0), 0.0);
        assert!((normalise(pm, 32.5) - 50.0).abs() < 1e-9);
        let tr = c.get("mob.transit_access_400m").unwrap(); // target 90, alarm 50
        assert!((normalise(tr, 70.0) - 50.0).abs() < 1e-9);
        let items = vec![
            (pm, Some(32.5), Status::Warning),
            (tr, Some(90.0), Status::OnTarget),
            (tr, None, Status::NoData),
        ];
        let (dims, index) = scores(items.into_iter());
        assert_eq!(dims[2], Some(50.0));
        assert_eq!(dims[4], Some(100.0));
        assert_eq!(dims[0], None);
        assert_eq!(index, Some(75.0));
    }

    #[test]
    fn zone_scores_are_the_normalised_zone_values() {
        use crate::twin::indicators::evaluate::Evaluated;
        let c = Catalogue::default_catalogue(&IndicatorConfig::default());
        let k = c
            .indicators
            .iter()
            .position(|d| d.id == "env.pm25_daily_mean")
            .unwrap();
        let none = Evaluated {
            value: None,
            status: Status::NoData,
            newest: None,
            sources: crate::twin::feeds::provenance::SourceKinds::NONE,
        };
        let zone = |v: Option<f64>| {
            let mut z = vec![none; c.indicators.len()];
            z[k].value = v;
            z
        };
        let eval = Evaluation {
            at: crate::twin::feeds::Timestamp(0),
            city: vec![none; c.indicators.len()],
            zones: vec![zone(Some(32.5)), zone(None), zone(Some(80.0)), Vec::new()],
            dimensions: [None; 6],
            index: None,
            zone_scores: Vec::new(),
        };
        let s = zone_unit_scores(&c.indicators[k], k, &eval);
        assert_eq!(s.len(), 4);
        assert!((s[0].unwrap() - 0.5).abs() < 1e-12, "{s:?}");
        assert_eq!(s[1], None);
        assert_eq!(s[2], Some(0.0), "beyond the alarm threshold clamps to 0");
        assert_eq!(s[3], None, "a zone without the indicator has no score");
    }
}
