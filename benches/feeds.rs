//! Live-feed benchmark: observations per second through channel → live state → SQLite
//! history (batched commits; an observation counts once its transaction has committed),
//! the stages taken apart, the history queries of the time slider and charts on the store
//! written, the drain time per frame at 100,000 obs/s and, when a broker listens on
//! 127.0.0.1:1883, MQTT latency. Prints figures; asserts nothing about time. Needs no Bevy:
//!
//! `cargo bench --no-default-features --bench feeds` — env `CITYTWIN_BENCH_FEEDS_OBS`
//! (observations per run, default 2,000,000), `CITYTWIN_BENCH_FEEDS_RUNS` (ingest runs,
//! default 3). Goal from the issue: ≥ 1,000,000 observations/s.

use citytwin::twin::feeds::bench::{
    BenchConfig, ingest_batches, measure_frame, measure_mqtt, measure_store, run_ingest,
};

/// Default ingest runs; the median is printed with every run.
const RUNS: usize = 3;

/// Clock ticks per second of `/proc/self/stat` (Linux's USER_HZ).
const USER_HZ: f64 = 100.0;

/// CPU time this process has used so far (all threads, user + system), seconds; `None`
/// where `/proc` is missing. Unlike wall time it hardly depends on what else runs.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces): state is the first, utime
    // the 12th and stime the 13th.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / USER_HZ)
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok()?.replace('_', "").parse().ok()
}

fn main() -> Result<(), String> {
    let mut cfg = BenchConfig::default();
    if let Some(n) = env_usize("CITYTWIN_BENCH_FEEDS_OBS") {
        cfg.ingest_observations = n;
    }
    let runs = env_usize("CITYTWIN_BENCH_FEEDS_RUNS").unwrap_or(RUNS).max(1);
    // For profiling one part: `ingest` (the end-to-end runs) or `store` (stages, queries).
    let only = std::env::var("CITYTWIN_BENCH_FEEDS_ONLY").unwrap_or_default();
    std::fs::create_dir_all(&cfg.dir).map_err(|e| format!("{}: {e}", cfg.dir.display()))?;
    // Figures depend on what else runs: say how busy the machine was.
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "machine: {cores} cores, load average {}",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    let mut rates = Vec::new();
    for run in (1..=runs).filter(|_| only.is_empty() || only == "ingest") {
        let batches = ingest_batches(&cfg);
        let cpu0 = cpu_seconds();
        let r = run_ingest(&cfg, batches)?;
        let cpu = cpu_seconds().zip(cpu0).map_or(String::new(), |(b, a)| {
            format!(
                "; CPU {:.2} s, {:.2} µs per observation over all threads",
                b - a,
                (b - a) * 1e6 / cfg.ingest_observations as f64
            )
        });
        println!(
            "ingest run {run}/{runs}: {:.0} observations/s ({} observations, channel → live state → store, committed{cpu})",
            r, cfg.ingest_observations
        );
        rates.push(r);
    }
    if only == "store" {
        let s = measure_store(&cfg)?;
        println!("{}", serde_json::to_string(&s).map_err(|e| e.to_string())?);
        return Ok(());
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!("ingest median: {median:.0} observations/s (goal ≥ 1,000,000)");
    if only == "ingest" {
        return Ok(());
    }
    let s = measure_store(&cfg)?;
    println!(
        "stages: channel → live state alone {:.0} obs/s; Store::append alone {:.0} obs/s",
        s.live_obs_per_s, s.append_obs_per_s
    );
    println!("store size: {:.1} bytes per observation", s.bytes_per_obs);
    println!(
        "queries on {} observations: latest_at (all series) {:.1} ms, latest_at (last hour) {:.1} ms, value_at {:.2} ms, series of one road {:.2} ms, range of 10 s {:.1} ms, prune of the oldest tenth {:.1} ms",
        s.observations,
        s.latest_at_ms,
        s.latest_at_hour_ms,
        s.value_at_ms,
        s.series_ms,
        s.range_10s_ms,
        s.prune_tenth_ms
    );
    let frame = measure_frame(&cfg)?;
    println!(
        "drain time per frame at {} obs/s: {frame:.3} ms (goal ≤ 2 ms)",
        cfg.drain_rate
    );
    match measure_mqtt(&cfg)? {
        Some((p50, p99)) => println!(
            "MQTT publish → applied at {} msg/s: p50 {p50:.2} ms, p99 {p99:.2} ms",
            cfg.mqtt_rate
        ),
        None => println!("MQTT: no broker on 127.0.0.1:1883, not measured"),
    }
    let json = serde_json::json!({
        "ingest_obs_per_s": median,
        "ingest_runs": rates,
        "stages_and_queries": s,
        "frame_ms_added": frame,
    });
    println!("{json}");
    let _ = std::fs::remove_dir_all(&cfg.dir);
    Ok(())
}
