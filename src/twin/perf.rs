//! Small measuring helpers for the benchmarks: summary statistics of frame times and the
//! process's peak resident memory.

use serde::Serialize;

/// Minimum, median and 90th percentile of a series (e.g. frame times in ms).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// Smallest value.
    pub min: f64,
    /// Median (the lower middle value of an even count).
    pub median: f64,
    /// 90th percentile, nearest rank.
    pub p90: f64,
}

/// The [`Summary`] of the finite values of `values`; `None` when there are none.
pub fn summarize(values: &[f64]) -> Option<Summary> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    // Nearest rank: the smallest value with at least 90 % of the values at or below it.
    let p90_rank = (0.9 * n as f64).ceil() as usize;
    Some(Summary {
        min: v[0],
        median: v[(n - 1) / 2],
        p90: v[p90_rank.clamp(1, n) - 1],
    })
}

/// Status field of the peak resident set size in `/proc/self/status`.
const PEAK_RSS_FIELD: &str = "VmHWM:";

/// Peak resident memory of this process in bytes (Linux `VmHWM`); `None` elsewhere.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_kib_field(&status, PEAK_RSS_FIELD).map(|kib| kib * 1024)
}

/// Current resident memory of this process in bytes (Linux `VmRSS`); `None` elsewhere.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_kib_field(&status, "VmRSS:").map(|kib| kib * 1024)
}

/// The value of a `Field:   123 kB` line of a `/proc` status text, in KiB.
fn parse_kib_field(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    let mut parts = line[field.len()..].split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") | None => Some(value),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        let s = summarize(&[5.0, 1.0, 3.0, 2.0, 4.0]).unwrap();
        assert_eq!((s.min, s.median, s.p90), (1.0, 3.0, 5.0));
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        let s = summarize(&ten).unwrap();
        assert_eq!((s.min, s.median, s.p90), (1.0, 5.0, 9.0));
        let s = summarize(&[7.0, f64::NAN]).unwrap();
        assert_eq!((s.min, s.median, s.p90), (7.0, 7.0, 7.0));
        assert_eq!(summarize(&[]), None);
        assert_eq!(summarize(&[f64::INFINITY]), None);
    }

    #[test]
    fn proc_status_fields() {
        let text = "Name:\tx\nVmPeak:\t  2000 kB\nVmHWM:\t  1234 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(parse_kib_field(text, "VmHWM:"), Some(1234));
        assert_eq!(parse_kib_field(text, "VmSwap:"), None);
        assert_eq!(parse_kib_field("VmHWM: 12 MB", "VmHWM:"), None);
        if cfg!(target_os = "linux") {
            let peak = peak_rss_bytes().expect("Linux has VmHWM");
            assert!(peak >= rss_bytes().unwrap() && peak > 1024 * 1024, "{peak}");
        }
    }
}
