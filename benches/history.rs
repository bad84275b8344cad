//! History benchmark: ingest (observations per second, committed in batches) and the time
//! slider's query while scrubbing over a history of 10,000,000 observations, on SQLite and,
//! when `CITYTWIN_PG_URL` names a server, on PostgreSQL, side by side. Prints figures;
//! asserts nothing about time. Needs no Bevy:
//!
//! `CITYTWIN_PG_URL=postgres://... cargo bench --no-default-features --bench history` —
//! env `CITYTWIN_BENCH_HISTORY_OBS` (default 10,000,000), `CITYTWIN_BENCH_HISTORY_KEEP` keeps
//! the PostgreSQL schema, `CITYTWIN_BENCH_HISTORY_REUSE=SCHEMA` times only the slider
//! queries on a kept one. Goals from the issue: ingest into
//! PostgreSQL ≥ 200,000 obs/s, a time-slider query over 10 M observations ≤ 50 ms.

use citytwin::twin::feeds::history::History;
use citytwin::twin::feeds::history_bench::{
    HistoryFigures, SCRUB_STEPS, ScrubFigures, measure_history, scrub_frames,
};
use citytwin::twin::feeds::pg::{PgHistory, SliderQuery};
use citytwin::twin::feeds::reader::HistoryReader;
use citytwin::twin::feeds::spec::PostgresHistorySpec;
use citytwin::twin::feeds::store::{Durability, Store};

/// Observations written when the environment names no other count.
const DEFAULT_OBS: usize = 10_000_000;
/// The test database's URL.
const PG_URL_ENV: &str = "CITYTWIN_PG_URL";
/// Engines to measure, comma-separated (`sqlite,postgres` by default).
const ENGINES_ENV: &str = "CITYTWIN_BENCH_HISTORY_ENGINES";
/// When set, the PostgreSQL schema is kept after the run (its name is printed), for
/// `EXPLAIN (ANALYZE, BUFFERS)` of the slider's queries by hand; drop it after.
const KEEP_ENV: &str = "CITYTWIN_BENCH_HISTORY_KEEP";
/// When set to a schema a kept run left, only the slider queries are timed on it (no
/// ingest), e.g. after a change to them.
const REUSE_ENV: &str = "CITYTWIN_BENCH_HISTORY_REUSE";
/// Frames of the scrubbing run (10 s at 60 frames a second).
const SCRUB_FRAMES: usize = 600;

fn print_scrub(engine: &str, f: &ScrubFigures) {
    println!(
        "{engine}: scrubbing {} frames: main thread's work per frame median {:.3} ms, worst {:.3} ms; {} pictures shown, answer median {:.1} ms on the reader thread, {} questions or answers dropped as stale",
        f.frames, f.frame_median_ms, f.frame_max_ms, f.answers, f.answer_median_ms, f.dropped
    );
}

/// Random instants at which the slider queries are compared (seeded: the same in every run).
const SLIDER_INSTANTS: usize = 60;
/// Seed of those instants.
const SLIDER_SEED: u64 = 18;

/// Median, 95th percentile and worst of some times, ms.
fn spread(mut ms: Vec<f64>) -> (f64, f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.95), ms[ms.len() - 1])
}

/// Times PostgreSQL's slider queries at the same [`SLIDER_INSTANTS`] random instants, the
/// ways taking turns at each instant (so that the machine's load falls on all alike), and
/// checks they give the same pictures.
fn compare_slider_queries(h: &PgHistory) -> Result<(), String> {
    use citytwin::twin::feeds::pg::{SERVER_DEFAULTS, SESSION_SETTINGS};
    use rand::{Rng, SeedableRng};
    let (t0, t1) = h.time_range().map_err(|e| e.to_string())?.ok_or("empty")?;
    let ways = [
        (
            "window, server defaults (first version)",
            SliderQuery::Window,
            SERVER_DEFAULTS,
        ),
        (
            "window, jit and parallel workers off",
            SliderQuery::Window,
            SESSION_SETTINGS,
        ),
        (
            "candidates, jit and parallel workers off",
            SliderQuery::Candidates,
            SESSION_SETTINGS,
        ),
        (
            "candidates, last records of the chunks before the instant (before)",
            SliderQuery::LastRecords,
            SESSION_SETTINGS,
        ),
        (
            "time slices (after, the default)",
            SliderQuery::Slices,
            SESSION_SETTINGS,
        ),
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(SLIDER_SEED);
    let instants: Vec<citytwin::twin::feeds::Timestamp> = (0..SLIDER_INSTANTS)
        .map(|_| citytwin::twin::feeds::Timestamp(rng.random_range(t0.0..=t1.0)))
        .collect();
    let mut ms = vec![Vec::new(); ways.len()];
    let mut sizes = vec![Vec::new(); ways.len()];
    for &at in &instants {
        let mut first = None;
        for (i, (name, q, session)) in ways.iter().enumerate() {
            h.session(session).map_err(|e| e.to_string())?;
            let start = std::time::Instant::now();
            let p = h
                .latest_at_with(*q, at, Some(citytwin::twin::feeds::Timestamp::HOUR_MS))
                .map_err(|e| e.to_string())?;
            ms[i].push(start.elapsed().as_secs_f64() * 1_000.0);
            sizes[i].push(p.len());
            match &first {
                None => first = Some(p),
                Some(f) if *f != p => return Err(format!("slider query {name} differs at {at:?}")),
                Some(_) => {}
            }
        }
    }
    h.session(SESSION_SETTINGS).map_err(|e| e.to_string())?;
    for (i, (name, _, _)) in ways.iter().enumerate() {
        let (median, p95, worst) = spread(std::mem::take(&mut ms[i]));
        println!(
            "postgres slider query {name}: median {median:.1} ms, p95 {p95:.1} ms, worst {worst:.1} ms over {SLIDER_INSTANTS} random instants ({}..{} series in a picture)",
            sizes[i].iter().min().unwrap_or(&0),
            sizes[i].iter().max().unwrap_or(&0)
        );
    }
    Ok(())
}

/// Scrubs a history through a reader thread opened with `open`.
fn scrub<F>(engine: &str, open: F) -> Result<ScrubFigures, String>
where
    F: FnMut() -> Result<Box<dyn History>, citytwin::twin::feeds::store::StoreError> + Send + 'static,
{
    let reader = HistoryReader::spawn(open).map_err(|e| e.to_string())?;
    reader.ask(
        citytwin::twin::feeds::reader::Lane::Other,
        citytwin::twin::feeds::reader::ReadRequest::Extent,
    );
    let extent = reader
        .wait(
            citytwin::twin::feeds::reader::Lane::Other,
            std::time::Duration::from_secs(600),
        )
        .ok_or("no extent")?;
    let Ok(citytwin::twin::feeds::reader::ReadAnswer::Extent(_, Some((t0, t1)))) = extent.answer else {
        return Err(format!("{engine}: no extent: {:?}", extent.answer));
    };
    let f = scrub_frames(&reader, t0, t1, SCRUB_FRAMES);
    print_scrub(engine, &f);
    Ok(f)
}

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
    if let (Ok(url), Ok(schema)) = (std::env::var(PG_URL_ENV), std::env::var(REUSE_ENV)) {
        let h = PgHistory::open(&PostgresHistorySpec {
            url,
            password_env: None,
            schema,
            retention_days: 30.0,
            partition_days: 1.0,
            writer: false,
        })
        .map_err(|e| e.to_string())?;
        println!(
            "postgres: {} observations in {}",
            h.count().map_err(|e| e.to_string())?,
            h.describe()
        );
        return compare_slider_queries(&h);
    }
    let engines = std::env::var(ENGINES_ENV).unwrap_or_else(|_| "sqlite,postgres".into());
    let mut all = Vec::new();
    let mut scrubs = Vec::new();
    let dir = std::env::temp_dir().join(format!("citytwin-bench-history-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    if engines.contains("sqlite") {
        let path = dir.join("history.sqlite");
        let mut s = Store::open(&path, Durability::Normal).map_err(|e| e.to_string())?;
        let f = measure_history("sqlite", &mut s, n)?;
        print(&f);
        all.push(f);
        drop(s);
        scrubs.push(scrub("sqlite", move || {
            Ok(Box::new(Store::open(&path, Durability::Normal)?) as Box<dyn History>)
        })?);
    }
    let _ = std::fs::remove_dir_all(&dir);
    match std::env::var(PG_URL_ENV) {
        Ok(_) if !engines.contains("postgres") => {}
        Ok(url) => {
            let spec = PostgresHistorySpec {
                url,
                password_env: None,
                schema: format!("bench_{}", std::process::id()),
                retention_days: 30.0,
                partition_days: 1.0,
                writer: true,
            };
            let mut h = PgHistory::open(&spec).map_err(|e| e.to_string())?;
            let f = measure_history("postgres", &mut h, n);
            let scrubbed = match &f {
                Ok(_) => {
                    compare_slider_queries(&h)?;
                    let spec = spec.clone();
                    Some(scrub("postgres", move || {
                        Ok(Box::new(PgHistory::open(&spec)?) as Box<dyn History>)
                    }))
                }
                Err(_) => None,
            };
            if std::env::var_os(KEEP_ENV).is_some() {
                println!("postgres: schema {} kept ({KEEP_ENV})", spec.schema);
            } else {
                h.drop_schema().map_err(|e| e.to_string())?;
            }
            let f = f?;
            print(&f);
            all.push(f);
            if let Some(s) = scrubbed {
                scrubs.push(s?);
            }
        }
        Err(_) => println!("postgres: {PG_URL_ENV} is not set, not measured"),
    }
    println!("{}", serde_json::to_string(&all).map_err(|e| e.to_string())?);
    println!("{}", serde_json::to_string(&scrubs).map_err(|e| e.to_string())?);
    Ok(())
}
