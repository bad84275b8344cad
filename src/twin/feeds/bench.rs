//! `citytwin bench feeds`: ingest rate through channel → live state → store (batched
//! commits), end-to-end MQTT latency at 10,000 msg/s through a local broker, and the time a
//! frame spends draining at 100,000 observations/s.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::twin::city::RoadId;
use crate::twin::feeds::live::{DEFAULT_DRAIN_BUDGET, LiveState, StoreWriter, WriterConfig};
use crate::twin::feeds::mapping::{PayloadSpec, RecordMapping};
use crate::twin::feeds::mqtt::MqttSource;
use crate::twin::feeds::observation::{Metric, Observation, SourceId, Subject, Timestamp};
use crate::twin::feeds::source::{feed_channel, spawn};
use crate::twin::feeds::spec::MqttSpec;
use crate::twin::feeds::store::{Durability, Store};
use crate::twin::feeds::validate::Validator;

/// Frame period of the frame-time measurement (60 fps).
const FRAME: Duration = Duration::from_micros(16_667);
/// Observations per batch in the ingest run.
const INGEST_BATCH: usize = 1_000;
/// Rows per commit in the ingest run (the batched write mode).
pub(crate) const INGEST_ROWS_PER_COMMIT: usize = 200_000;
/// Distinct roads the generated observations spread over.
pub(crate) const ROADS: u32 = 10_000;
/// The broker the MQTT measurement uses.
pub const BENCH_BROKER: (&str, u16) = ("127.0.0.1", 1883);

/// What to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchConfig {
    /// Observations pushed through the ingest path.
    pub ingest_observations: usize,
    /// MQTT messages per second.
    pub mqtt_rate: u32,
    /// Seconds of MQTT publishing.
    pub mqtt_seconds: f64,
    /// Observations per second during the frame measurement.
    pub drain_rate: u32,
    /// Seconds of the frame measurement.
    pub drain_seconds: f64,
    /// Folder for the temporary store files.
    pub dir: PathBuf,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            ingest_observations: 2_000_000,
            mqtt_rate: 10_000,
            mqtt_seconds: 3.0,
            drain_rate: 100_000,
            drain_seconds: 3.0,
            dir: std::env::temp_dir().join(format!("citytwin-bench-feeds-{}", std::process::id())),
        }
    }
}

/// The figures, as `citytwin bench feeds --json` prints them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedBench {
    /// Observations per second through channel → live state → store (committed).
    pub ingest_obs_per_s: f64,
    /// Median MQTT publish → applied-state latency, ms; `None` without a broker.
    pub mqtt_p50_ms: Option<f64>,
    /// 99th percentile of the same, ms.
    pub mqtt_p99_ms: Option<f64>,
    /// Mean time a 60 fps frame spends draining at the drain rate, ms.
    pub frame_ms_added: f64,
}

/// The `i`-th generated observation: a road speed on one of [`ROADS`] roads, 1 ms after the
/// one before.
pub(crate) fn obs(source: &SourceId, i: usize) -> Observation {
    Observation::new(
        source,
        Subject::Road(RoadId(i as u32 % ROADS)),
        Metric::TrafficSpeed,
        (i % 120) as f64,
        Timestamp(1_700_000_000_000 + i as i64),
    )
}

fn temp_store(dir: &std::path::Path, name: &str) -> Result<Store, String> {
    let path = dir.join(name);
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
    Store::open(&path, Durability::Normal).map_err(|e| e.to_string())
}

/// Observations per second through the whole ingest path, until committed.
pub fn measure_ingest(cfg: &BenchConfig) -> Result<f64, String> {
    run_ingest(cfg, ingest_batches(cfg))
}

/// The observations of an ingest run, in the batches a source sends: road speeds spread
/// over [`ROADS`] roads, one millisecond apart.
pub fn ingest_batches(cfg: &BenchConfig) -> Vec<Vec<Observation>> {
    let source = SourceId("bench".into());
    (0..cfg.ingest_observations)
        .collect::<Vec<_>>()
        .chunks(INGEST_BATCH)
        .map(|c| c.iter().map(|&i| obs(&source, i)).collect())
        .collect()
}

/// Observations per second pushing `batches` through channel → live state → store, until
/// every one is committed (acknowledged).
pub fn run_ingest(cfg: &BenchConfig, batches: Vec<Vec<Observation>>) -> Result<f64, String> {
    let source = SourceId("bench".into());
    let n: usize = batches.iter().map(Vec::len).sum();
    let config = WriterConfig {
        capacity: n / INGEST_BATCH + 16,
        rows_per_commit: INGEST_ROWS_PER_COMMIT,
        retention_ms: None,
    };
    let writer =
        StoreWriter::spawn(temp_store(&cfg.dir, "ingest.sqlite")?, config).map_err(|e| e.to_string())?;
    let mut live = LiveState::new(Validator::permissive(), Some(writer));
    let (ch, rx) = feed_channel(n / INGEST_BATCH + 16);
    let tx = ch.sender(&source);
    let start = Instant::now();
    let producer = std::thread::spawn(move || {
        for b in batches {
            tx.batch(b);
        }
    });
    let mut drained = 0;
    while drained < n {
        let r = live.drain(&rx, Duration::from_millis(20), Timestamp::now());
        drained += r.observations;
        if r.messages == 0 {
            if producer.is_finished() && rx.receiver().is_empty() {
                break;
            }
            std::thread::yield_now();
        }
    }
    let _ = producer.join();
    let writer = live.take_writer().ok_or("no writer")?;
    if !writer.wait_stored(n as u64, Duration::from_secs(600)) {
        return Err(format!("only {} of {n} observations stored", writer.stored()));
    }
    let secs = start.elapsed().as_secs_f64();
    drop(writer);
    Ok(n as f64 / secs)
}

/// Mean ms a 60 fps frame spends draining while observations arrive at the drain rate.
pub fn measure_frame(cfg: &BenchConfig) -> Result<f64, String> {
    let source = SourceId("bench".into());
    let writer = StoreWriter::spawn(temp_store(&cfg.dir, "frame.sqlite")?, WriterConfig::default())
        .map_err(|e| e.to_string())?;
    let mut live = LiveState::new(Validator::permissive(), Some(writer));
    let (ch, rx) = feed_channel(1 << 16);
    let tx = ch.sender(&source);
    let per_ms = (cfg.drain_rate / 1_000).max(1) as usize;
    let total_ms = (cfg.drain_seconds * 1_000.0) as usize;
    let producer = std::thread::spawn(move || {
        let t0 = Instant::now();
        let mut i = 0;
        for ms in 0..total_ms {
            tx.batch((0..per_ms).map(|k| obs(tx.source(), i + k)).collect());
            i += per_ms;
            let due = Duration::from_millis(ms as u64 + 1);
            if let Some(w) = due.checked_sub(t0.elapsed()) {
                std::thread::sleep(w);
            }
        }
    });
    let mut frames = Vec::new();
    let t0 = Instant::now();
    let mut next = t0 + FRAME;
    while !producer.is_finished() {
        let r = live.drain(&rx, DEFAULT_DRAIN_BUDGET, Timestamp::now());
        frames.push(r.elapsed.as_secs_f64() * 1_000.0);
        if let Some(w) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(w);
        }
        next += FRAME;
    }
    let _ = producer.join();
    if frames.is_empty() {
        return Err("no frame measured".into());
    }
    Ok(frames.iter().sum::<f64>() / frames.len() as f64)
}

/// MQTT publish → applied latency (p50, p99) in ms, `Ok(None)` when no broker answers.
pub fn measure_mqtt(cfg: &BenchConfig) -> Result<Option<(f64, f64)>, String> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], BENCH_BROKER.1));
    if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_err() {
        return Ok(None);
    }
    let topic = format!("citytwin-bench/{}/lat", std::process::id());
    let mut m = RecordMapping::sensor(Metric::Noise, "$.s", "$.v");
    m.detail = Some("$.sent_us".into());
    let spec = MqttSpec {
        host: BENCH_BROKER.0.into(),
        port: BENCH_BROKER.1,
        topics: vec![topic.clone()],
        username_env: None,
        password_env: None,
        tls: false,
        ca_file: None,
        client_id: Some(format!("citytwin-bench-sub-{}", std::process::id())),
        keep_alive_s: 5,
        payload: PayloadSpec::Json(vec![m]),
    };
    let name = SourceId("bench-mqtt".into());
    let (ch, rx) = feed_channel(1 << 16);
    let handle = spawn(
        Box::new(MqttSource::new(spec, std::path::Path::new("."), name.clone())),
        &ch,
    )
    .map_err(|e| e.to_string())?;
    let mut live = LiveState::new(Validator::permissive(), None);
    let wait_until = Instant::now() + Duration::from_secs(10);
    while live
        .health
        .get(&name)
        .is_none_or(|h| h.link != crate::twin::feeds::health::LinkState::Connected)
    {
        if Instant::now() > wait_until {
            return Err("MQTT source did not subscribe within 10 s".into());
        }
        live.drain(&rx, DEFAULT_DRAIN_BUDGET, Timestamp::now());
        std::thread::sleep(Duration::from_millis(10));
    }
    let epoch = Instant::now();
    let mut opts = rumqttc::MqttOptions::new(
        format!("citytwin-bench-pub-{}", std::process::id()),
        BENCH_BROKER.0,
        BENCH_BROKER.1,
    );
    opts.set_keep_alive(Duration::from_secs(5));
    let (client, mut conn) = rumqttc::Client::new(opts, 100_000);
    // Ends at the first error (the disconnect at the end); not joined, as rumqttc may keep
    // its request queue open.
    std::thread::spawn(move || {
        for e in conn.iter() {
            if e.is_err() {
                break;
            }
        }
    });
    let total = (cfg.mqtt_rate as f64 * cfg.mqtt_seconds) as usize;
    let per_ms = (cfg.mqtt_rate / 1_000).max(1) as usize;
    let publisher = std::thread::spawn(move || {
        let t0 = Instant::now();
        let mut sent = 0;
        let mut ms = 0u64;
        while sent < total {
            for _ in 0..per_ms.min(total - sent) {
                let us = epoch.elapsed().as_micros();
                let payload = format!("{{\"s\":\"s{}\",\"v\":50,\"sent_us\":{us}}}", sent % 100);
                let _ = client.publish(
                    topic.as_str(),
                    rumqttc::QoS::AtMostOnce,
                    false,
                    payload.into_bytes(),
                );
                sent += 1;
            }
            ms += 1;
            if let Some(w) = Duration::from_millis(ms).checked_sub(t0.elapsed()) {
                std::thread::sleep(w);
            }
        }
        std::thread::sleep(Duration::from_millis(500));
        let _ = client.disconnect();
    });
    let mut lat = Vec::with_capacity(total);
    let end = Instant::now() + Duration::from_secs_f64(cfg.mqtt_seconds + 10.0);
    while lat.len() < total && Instant::now() < end {
        let frame_start = Instant::now();
        live.drain_with(&rx, DEFAULT_DRAIN_BUDGET, Timestamp::now(), |_, o| {
            if let Ok(us) = o.detail.parse::<u128>() {
                let now = epoch.elapsed().as_micros();
                lat.push(now.saturating_sub(us) as f64 / 1_000.0);
            }
        });
        if let Some(w) = FRAME.checked_sub(frame_start.elapsed()) {
            std::thread::sleep(w);
        }
    }
    let _ = publisher.join();
    drop(handle);
    if lat.is_empty() {
        return Err("no MQTT message arrived".into());
    }
    lat.sort_by(f64::total_cmp);
    let q = |p: f64| lat[((lat.len() - 1) as f64 * p).round() as usize];
    Ok(Some((q(0.5), q(0.99))))
}

/// The ingest path taken apart, and the history queries on the store it wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoreFigures {
    /// Observations in the measured store.
    pub observations: usize,
    /// Observations per second through channel → live state alone (no store).
    pub live_obs_per_s: f64,
    /// Observations per second through [`Store::append`] alone, committed, in batches of
    /// the ingest run's commit size.
    pub append_obs_per_s: f64,
    /// Size of the database file (with its WAL) per observation, bytes.
    pub bytes_per_obs: f64,
    /// [`Store::latest_at`] of every series at the newest time, ms.
    pub latest_at_ms: f64,
    /// The same limited to the last hour (what the time slider asks), ms.
    pub latest_at_hour_ms: f64,
    /// [`Store::value_at`] of one series, ms.
    pub value_at_ms: f64,
    /// [`Store::series`] of one road over the whole history, ms.
    pub series_ms: f64,
    /// [`Store::range`] of a 10 s window across every series, ms.
    pub range_10s_ms: f64,
    /// [`Store::prune_before`] of the oldest tenth, ms.
    pub prune_tenth_ms: f64,
}

/// Observations per second through channel → live state without a store.
pub fn measure_live(cfg: &BenchConfig) -> f64 {
    let source = SourceId("bench".into());
    let n = cfg.ingest_observations;
    let batches: Vec<Vec<Observation>> = (0..n)
        .collect::<Vec<_>>()
        .chunks(INGEST_BATCH)
        .map(|c| c.iter().map(|&i| obs(&source, i)).collect())
        .collect();
    let mut live = LiveState::new(Validator::permissive(), None);
    let (ch, rx) = feed_channel(n / INGEST_BATCH + 16);
    let tx = ch.sender(&source);
    for b in batches {
        tx.batch(b);
    }
    let start = Instant::now();
    let mut drained = 0;
    while drained < n {
        let r = live.drain(&rx, Duration::from_millis(20), Timestamp::now());
        drained += r.observations;
        if r.messages == 0 {
            break;
        }
    }
    drained as f64 / start.elapsed().as_secs_f64()
}

/// Milliseconds of one call.
fn time_ms<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let t = Instant::now();
    let v = f();
    (t.elapsed().as_secs_f64() * 1_000.0, v)
}

/// Appends [`BenchConfig::ingest_observations`] straight into a store, then times the
/// history queries on it.
pub fn measure_store(cfg: &BenchConfig) -> Result<StoreFigures, String> {
    let source = SourceId("bench".into());
    let n = cfg.ingest_observations;
    let all: Vec<Observation> = (0..n).map(|i| obs(&source, i)).collect();
    let mut store = temp_store(&cfg.dir, "store.sqlite")?;
    let e = |e: crate::twin::feeds::store::StoreError| e.to_string();
    let start = Instant::now();
    for b in all.chunks(INGEST_ROWS_PER_COMMIT) {
        store.append(b).map_err(e)?;
    }
    let append = n as f64 / start.elapsed().as_secs_f64();
    let bytes: u64 = ["", "-wal"]
        .iter()
        .filter_map(|x| std::fs::metadata(format!("{}{x}", store.path().display())).ok())
        .map(|m| m.len())
        .sum();
    let (t0, t1) = store.time_range().map_err(e)?.ok_or("empty store")?;
    let (latest_at_ms, at) = time_ms(|| store.latest_at(t1, None));
    let at = at.map_err(e)?;
    if at.len() != (n.min(ROADS as usize)) {
        return Err(format!("latest_at gave {} series", at.len()));
    }
    let (latest_at_hour_ms, _) = time_ms(|| store.latest_at(t1, Some(Timestamp::HOUR_MS)));
    let road = crate::twin::feeds::key::SubjectKey::Road(RoadId(7));
    let (value_at_ms, v) = time_ms(|| store.value_at(&road, Metric::TrafficSpeed, t1));
    v.map_err(e)?.ok_or("value_at found nothing")?;
    let (series_ms, s) = time_ms(|| store.series(&road, Metric::TrafficSpeed, t0, t1));
    if s.map_err(e)?.len() != n.div_ceil(ROADS as usize) {
        return Err("series misses values".into());
    }
    let mid = Timestamp((t0.0 + t1.0) / 2);
    let (range_10s_ms, r) = time_ms(|| store.range(mid, mid.plus_ms(10 * Timestamp::SECOND_MS)));
    r.map_err(e)?;
    let cut = t0.plus_ms((t1.0 - t0.0) / 10);
    let (prune_tenth_ms, p) = time_ms(|| store.prune_before(cut));
    p.map_err(e)?;
    Ok(StoreFigures {
        observations: n,
        live_obs_per_s: measure_live(cfg),
        append_obs_per_s: append,
        bytes_per_obs: bytes as f64 / n as f64,
        latest_at_ms,
        latest_at_hour_ms,
        value_at_ms,
        series_ms,
        range_10s_ms,
        prune_tenth_ms,
    })
}

/// Runs every measurement.
pub fn run(cfg: &BenchConfig) -> Result<FeedBench, String> {
    std::fs::create_dir_all(&cfg.dir).map_err(|e| format!("{}: {e}", cfg.dir.display()))?;
    let ingest = measure_ingest(cfg)?;
    let frame = measure_frame(cfg)?;
    let mqtt = measure_mqtt(cfg)?;
    let _ = std::fs::remove_dir_all(&cfg.dir);
    Ok(FeedBench {
        ingest_obs_per_s: ingest,
        mqtt_p50_ms: mqtt.map(|m| m.0),
        mqtt_p99_ms: mqtt.map(|m| m.1),
        frame_ms_added: frame,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_bench_runs_and_reports_sane_figures() {
        let cfg = BenchConfig {
            ingest_observations: 50_000,
            mqtt_rate: 2_000,
            mqtt_seconds: 0.5,
            drain_rate: 20_000,
            drain_seconds: 0.3,
            ..BenchConfig::default()
        };
        let b = run(&cfg).unwrap();
        eprintln!(
            "feeds bench (debug, small): {}",
            serde_json::to_string(&b).unwrap()
        );
        assert!(b.ingest_obs_per_s > 1_000.0, "{b:?}");
        assert!(b.frame_ms_added > 0.0 && b.frame_ms_added < 100.0, "{b:?}");
        if let (Some(p50), Some(p99)) = (b.mqtt_p50_ms, b.mqtt_p99_ms) {
            assert!(p50 <= p99 && p99 < 10_000.0, "{b:?}");
        }
        let json = serde_json::to_value(&b).unwrap();
        for k in ["ingest_obs_per_s", "mqtt_p50_ms", "mqtt_p99_ms", "frame_ms_added"] {
            assert!(json.get(k).is_some(), "{k}");
        }
    }
}
