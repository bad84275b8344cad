//! Short-term forecasts by Holt's linear trend (double exponential smoothing) on an
//! indicator's stored history, and the first predicted threshold crossing.

use crate::twin::feeds::Timestamp;

/// Level smoothing factor.
pub const DEFAULT_ALPHA: f64 = 0.5;
/// Trend smoothing factor.
pub const DEFAULT_BETA: f64 = 0.3;
/// Fewest points a forecast is made from.
pub const MIN_POINTS: usize = 6;

/// Holt's smoothing parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoltParams {
    /// Level smoothing, 0–1.
    pub alpha: f64,
    /// Trend smoothing, 0–1.
    pub beta: f64,
}

impl Default for HoltParams {
    fn default() -> Self {
        HoltParams {
            alpha: DEFAULT_ALPHA,
            beta: DEFAULT_BETA,
        }
    }
}

/// A fitted Holt model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoltFit {
    /// Smoothed level at the last point.
    pub level: f64,
    /// Smoothed trend per step.
    pub trend: f64,
    /// Step between points, ms (median spacing).
    pub step_ms: i64,
    /// Time of the last point.
    pub last: Timestamp,
    /// Points used.
    pub points: usize,
    /// Root-mean-square one-step-ahead error.
    pub rmse: f64,
}

/// Fits Holt's linear trend to a series (sorted by time here); `None` with fewer than
/// [`MIN_POINTS`] finite points or no time spacing.
pub fn fit(series: &[(Timestamp, f64)], p: HoltParams) -> Option<HoltFit> {
    let mut s: Vec<(Timestamp, f64)> = series.iter().copied().filter(|(_, v)| v.is_finite()).collect();
    s.sort_by_key(|(t, _)| *t);
    if s.len() < MIN_POINTS {
        return None;
    }
    let mut gaps: Vec<i64> = s
        .windows(2)
        .map(|w| w[1].0.0 - w[0].0.0)
        .filter(|g| *g > 0)
        .collect();
    if gaps.is_empty() {
        return None;
    }
    gaps.sort_unstable();
    let step_ms = gaps[gaps.len() / 2];
    let mut level = s[0].1;
    let mut trend = s[1].1 - s[0].1;
    let mut sse = 0.0;
    for &(_, y) in &s[1..] {
        let pred = level + trend;
        sse += (y - pred).powi(2);
        let new_level = p.alpha * y + (1.0 - p.alpha) * (level + trend);
        trend = p.beta * (new_level - level) + (1.0 - p.beta) * trend;
        level = new_level;
    }
    Some(HoltFit {
        level,
        trend,
        step_ms,
        last: s[s.len() - 1].0,
        points: s.len(),
        rmse: (sse / (s.len() - 1) as f64).sqrt(),
    })
}

impl HoltFit {
    /// The forecast `k` steps after the last point.
    pub fn forecast(&self, k: u32) -> f64 {
        self.level + self.trend * k as f64
    }

    /// The first step within `horizon_ms` of `from` at which the forecast is at or beyond
    /// `threshold` (`rising`: at or above it; else at or below), with its time and value.
    pub fn first_crossing(
        &self,
        threshold: f64,
        rising: bool,
        from: Timestamp,
        horizon_ms: i64,
    ) -> Option<(Timestamp, f64)> {
        let end = from.0 + horizon_ms;
        let mut k = 1u32;
        loop {
            let t = self.last.0 + self.step_ms * k as i64;
            if t > end {
                return None;
            }
            let v = self.forecast(k);
            if t > from.0 && (if rising { v >= threshold } else { v <= threshold }) {
                return Some((Timestamp(t), v));
            }
            k += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hourly(values: impl Iterator<Item = f64>) -> Vec<(Timestamp, f64)> {
        values
            .enumerate()
            .map(|(i, v)| (Timestamp(i as i64 * Timestamp::HOUR_MS), v))
            .collect()
    }

    #[test]
    fn rising_series_crosses_and_flat_does_not() {
        // PM2.5 rising 0.5 µg/m³ an hour from 8: at 11.5 after 7 h; 15 reached ≈ 7 h later.
        let rising = hourly((0..8).map(|i| 8.0 + 0.5 * i as f64));
        let f = fit(&rising, HoltParams::default()).unwrap();
        assert!((f.trend - 0.5).abs() < 1e-9, "{f:?}");
        let now = rising.last().unwrap().0;
        let (t, v) = f
            .first_crossing(15.0, true, now, 24 * Timestamp::HOUR_MS)
            .unwrap();
        assert_eq!(t.0 - now.0, 7 * Timestamp::HOUR_MS);
        assert!(v >= 15.0);
        assert!(
            f.first_crossing(15.0, true, now, 3 * Timestamp::HOUR_MS)
                .is_none()
        );
        let flat = hourly((0..24).map(|i| 10.0 + if i % 2 == 0 { 0.3 } else { -0.3 }));
        let f = fit(&flat, HoltParams::default()).unwrap();
        let now = flat.last().unwrap().0;
        assert!(
            f.first_crossing(15.0, true, now, 24 * Timestamp::HOUR_MS)
                .is_none(),
            "{f:?}"
        );
        assert!(fit(&flat[..3], HoltParams::default()).is_none());
    }
}
