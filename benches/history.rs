//! History benchmark: ingest (observations per second, committed in batches) and the time
//! slider's query while scrubbing over a history of 10,000,000 observations, on SQLite and,
//! when `CITYTWIN_PG_URL` names a server, on PostgreSQL, side by side. Prints figures;
//! asserts nothing about time. Needs no Bevy:
//!
//! `CITYTWIN_PG_URL=postgres://... cargo bench --no-default-features --bench history` —
//! env `CITYTWIN_BENCH_HISTORY_OBS` (default 10,000,000). Goals from the issue: ingest into
//! PostgreSQL ≥ 200,000 obs/s, a time-slider query over 10 M observations ≤ 50 ms.

use citytwin::twin::feeds::history_bench::{HistoryFigures, SCRUB_STEPS, measure_history};
use citytwin::twin::feeds::pg::PgHistory;
use citytwin::twin::feeds::spec::PostgresHistorySpec;
use citytwin::twin::feeds::store::{Durability, Store};

/// Observations written when the environment names no other count.
const DEFAULT_OBS: usize = 10_000_000;
/// The test database's URL.
const PG_URL_ENV: &str = "CITYTWIN_PG_URL";

fn print(f: &HistoryFigures) {
    println!(
        "{}: ingest {:.0} obs/s ({} observations, committed); time slider (last hour) median {:.1} ms, max {:.1} ms over {SCRUB_STEPS} instants; latest_at (all, no age limit) {:.1} ms, value_at {:.2} ms, series of one road {:.1} ms, range of 10 s {:.1} ms, prune of the oldest tenth {:.0} ms",
        f.engine,
        f.ingest_obs_per_s,
        f.observations,
        f.slider_median_ms,
        f.slider_max_ms,
        f.latest_at_all_ms,
        f.value_at_ms,
        f.series_ms,
        f.range_10s_ms,
        f.prune_tenth_ms
    );
}

fn main() -> Result<(), String> {
    let n = std::env::var("CITYTWIN_BENCH_HISTORY_OBS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(DEFAULT_OBS);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "machine: {cores} cores, load average {}",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    let mut all = Vec::new();
    let dir = std::env::temp_dir().join(format!("citytwin-bench-history-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let mut s =
            Store::open(&dir.join("history.sqlite"), Durability::Normal).map_err(|e| e.to_string())?;
        let f = measure_history("sqlite", &mut s, n)?;
        print(&f);
        all.push(f);
    }
    let _ = std::fs::remove_dir_all(&dir);
    match std::env::var(PG_URL_ENV) {
        Ok(url) => {
            let spec = PostgresHistorySpec {
                url,
                password_env: None,
                schema: format!("bench_{}", std::process::id()),
                retention_days: 30.0,
                partition_days: 1.0,
            };
            let mut h = PgHistory::open(&spec).map_err(|e| e.to_string())?;
            let f = measure_history("postgres", &mut h, n);
            h.drop_schema().map_err(|e| e.to_string())?;
            let f = f?;
            print(&f);
            all.push(f);
        }
        Err(_) => println!("postgres: {PG_URL_ENV} is not set, not measured"),
    }
    println!("{}", serde_json::to_string(&all).map_err(|e| e.to_string())?);
    Ok(())
}
