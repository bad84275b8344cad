//! The wall's memory soak: samples of resident memory and of the app's sizes (entities,
//! observations kept, alerts) against simulated time, the least-squares slope of each, and
//! a verdict on whether memory stays flat once warmed up.

use serde::Serialize;

/// One sample of a soak run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct SoakSample {
    /// Simulated hours since the start.
    pub sim_h: f64,
    /// Real seconds since the start.
    pub real_s: f64,
    /// Resident memory, bytes.
    pub rss_bytes: u64,
    /// Entities in the world.
    pub entities: usize,
    /// Observations kept in memory for the indicators.
    pub recent_observations: usize,
    /// Alerts in the indicators' alert log (open and closed).
    pub alerts_logged: usize,
    /// Alerts open.
    pub alerts_open: usize,
    /// Observations accepted since the start.
    pub accepted: u64,
}

/// The figures of a soak run.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct SoakReport {
    /// Every sample, in order.
    pub samples: Vec<SoakSample>,
    /// Peak resident memory of the process, bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Slope of resident memory after the warm-up, bytes per simulated hour.
    pub rss_slope_bytes_per_h: Option<f64>,
    /// Slope of the entity count after the warm-up, per simulated hour.
    pub entity_slope_per_h: Option<f64>,
    /// Slope of the alert log's length after the warm-up, per simulated hour.
    pub alert_log_slope_per_h: Option<f64>,
    /// Simulated hours treated as warm-up (excluded from the slopes).
    pub warmup_h: f64,
    /// Slope of resident memory over the second half of the run, bytes per simulated hour:
    /// caches that fill up (the recent-observation window, SQLite's page cache) have
    /// reached their caps by then, so this is what a run of days would show.
    #[serde(default)]
    pub rss_slope_last_half_bytes_per_h: Option<f64>,
}

/// The least-squares slope of `y` over `x`; `None` with fewer than two distinct `x`.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let pts: Vec<&(f64, f64)> = points
        .iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let n = pts.len() as f64;
    if pts.len() < 2 {
        return None;
    }
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

impl SoakReport {
    /// The report of a series of samples, slopes taken over the samples after `warmup_h`.
    pub fn new(samples: Vec<SoakSample>, peak_rss_bytes: Option<u64>, warmup_h: f64) -> SoakReport {
        let after: Vec<&SoakSample> = samples.iter().filter(|s| s.sim_h >= warmup_h).collect();
        let series = |f: &dyn Fn(&SoakSample) -> f64| -> Option<f64> {
            slope(&after.iter().map(|s| (s.sim_h, f(s))).collect::<Vec<_>>())
        };
        let half = samples.last().map_or(0.0, |s| s.sim_h / 2.0);
        let last_half: Vec<(f64, f64)> = samples
            .iter()
            .filter(|s| s.sim_h >= half)
            .map(|s| (s.sim_h, s.rss_bytes as f64))
            .collect();
        SoakReport {
            rss_slope_last_half_bytes_per_h: slope(&last_half),
            rss_slope_bytes_per_h: series(&|s| s.rss_bytes as f64),
            entity_slope_per_h: series(&|s| s.entities as f64),
            alert_log_slope_per_h: series(&|s| s.alerts_logged as f64),
            peak_rss_bytes,
            warmup_h,
            samples,
        }
    }

    /// Growth of resident memory from the first sample after the warm-up to the largest
    /// later one, bytes (0 when it only shrank).
    pub fn rss_growth_after_warmup(&self) -> u64 {
        let mut after = self.samples.iter().filter(|s| s.sim_h >= self.warmup_h);
        let Some(first) = after.next() else { return 0 };
        after
            .map(|s| s.rss_bytes)
            .max()
            .unwrap_or(first.rss_bytes)
            .saturating_sub(first.rss_bytes)
    }

    /// The figures as text: one line a sample, then the slopes.
    pub fn text(&self) -> String {
        const MIB: f64 = 1024.0 * 1024.0;
        let mut out =
            String::from("sim h   real s   RSS MiB  entities  recent obs  accepted  alerts open/logged\n");
        for s in &self.samples {
            out.push_str(&format!(
                "{:5.2} {:8.1} {:9.1} {:9} {:11} {:9} {:>8}/{}\n",
                s.sim_h,
                s.real_s,
                s.rss_bytes as f64 / MIB,
                s.entities,
                s.recent_observations,
                s.accepted,
                s.alerts_open,
                s.alerts_logged
            ));
        }
        let f = |v: Option<f64>, unit: &str| v.map_or("n/a".to_string(), |v| format!("{v:.2} {unit}"));
        out.push_str(&format!(
            "peak RSS {}; after {:.1} h warm-up: RSS slope {}, growth {:.1} MiB, entities {}, alert log {}\n",
            self.peak_rss_bytes
                .map_or("n/a".to_string(), |b| format!("{:.1} MiB", b as f64 / MIB)),
            self.warmup_h,
            f(self.rss_slope_bytes_per_h.map(|b| b / MIB), "MiB/h"),
            self.rss_growth_after_warmup() as f64 / MIB,
            f(self.entity_slope_per_h, "/h"),
            f(self.alert_log_slope_per_h, "/h"),
        ));
        out.push_str(&format!(
            "second half of the run: RSS slope {}\n",
            f(self.rss_slope_last_half_bytes_per_h.map(|b| b / MIB), "MiB/h")
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(sim_h: f64, rss_mib: f64, entities: usize) -> SoakSample {
        SoakSample {
            sim_h,
            real_s: sim_h * 36.0,
            rss_bytes: (rss_mib * 1024.0 * 1024.0) as u64,
            entities,
            recent_observations: 10,
            alerts_logged: 2,
            alerts_open: 1,
            accepted: 100,
        }
    }

    #[test]
    fn slopes_of_lines_and_degenerate_series() {
        let line: Vec<(f64, f64)> = (0..10)
            .map(|i| (f64::from(i), 3.0 * f64::from(i) + 1.0))
            .collect();
        assert!((slope(&line).unwrap() - 3.0).abs() < 1e-12);
        assert_eq!(slope(&[(1.0, 2.0)]), None);
        assert_eq!(slope(&[(1.0, 2.0), (1.0, 5.0)]), None);
        assert_eq!(slope(&[(0.0, 1.0), (f64::NAN, 2.0), (2.0, 1.0)]), Some(0.0));
    }

    #[test]
    fn report_excludes_the_warmup_and_measures_growth() {
        // Memory climbs during the first hour, then grows 1 MiB an hour.
        let mut samples = vec![sample(0.0, 50.0, 10), sample(0.5, 120.0, 500)];
        samples.extend((1..=5).map(|h| sample(f64::from(h), 200.0 + f64::from(h), 500)));
        let r = SoakReport::new(samples, Some(300 << 20), 1.0);
        let mib_h = r.rss_slope_bytes_per_h.unwrap() / (1024.0 * 1024.0);
        assert!((mib_h - 1.0).abs() < 1e-3, "{mib_h}");
        assert_eq!(r.entity_slope_per_h, Some(0.0));
        assert_eq!(r.rss_growth_after_warmup(), 4 << 20);
        let text = r.text();
        assert!(
            text.contains("RSS slope 1.00 MiB/h") && text.contains("peak RSS 300.0 MiB"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1 + 7 + 2);
    }

    #[test]
    fn the_second_half_shows_memory_that_stopped_growing() {
        // Caches fill for 12 hours (10 MiB/h), then memory stays put.
        let samples: Vec<SoakSample> = (0..=24)
            .map(|h| sample(f64::from(h), 100.0 + 10.0 * f64::from(h.min(12)), 81))
            .collect();
        let r = SoakReport::new(samples, None, 1.0);
        let after_warmup = r.rss_slope_bytes_per_h.unwrap() / (1024.0 * 1024.0);
        let last_half = r.rss_slope_last_half_bytes_per_h.unwrap() / (1024.0 * 1024.0);
        assert!(after_warmup > 3.0, "{after_warmup}");
        assert!(last_half.abs() < 1e-9, "{last_half}");
        assert!(
            r.text().contains("second half of the run: RSS slope 0.00 MiB/h"),
            "{}",
            r.text()
        );
    }
}
