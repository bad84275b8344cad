//! The headless ingest service (`citytwin ingest SCENE`): runs a scene's feeds (MQTT,
//! replays, simulators) into the scene's history without a window, survives broker loss
//! and database restarts, and loses no acknowledged observation.
//!
//! Path of an observation: source thread → feed channel → validation ([`LiveState`]) →
//! the on-disk [`Spool`] (synced) → acknowledged (an MQTT QoS 1 message's PUBACK goes out
//! only now, see [`crate::twin::feeds::mqtt`]) → the database thread appends the spool's
//! records to the history and moves the spool's cursor after each commit. While the
//! database is down the spool grows (up to its limit) and the database thread reconnects
//! with backoff; when the spool is full the ingest stops draining, so nothing more is
//! acknowledged (MQTT redelivers later; a simulator's or replay's surplus is counted as
//! dropped by the channel), and each such stall is counted.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::twin::city::CityModel;
use crate::twin::feeds::history::History;
use crate::twin::feeds::live::LiveState;
use crate::twin::feeds::mqtt::MqttSource;
use crate::twin::feeds::observation::{Observation, SourceId, Timestamp};
use crate::twin::feeds::runtime::{make_source, open_history};
use crate::twin::feeds::source::{DEFAULT_FEED_CAPACITY, FeedSource, StopFlag, feed_channel, spawn};
use crate::twin::feeds::spec::{FeedKind, FeedSpec, HistorySpec};
use crate::twin::feeds::spool::{Spool, SpoolError};
use crate::twin::feeds::store::StoreError;
use crate::twin::feeds::validate::Validator;

/// Default spool limit, bytes.
pub const DEFAULT_SPOOL_BYTES: u64 = 512 << 20;
/// Most observations the database thread writes in one transaction.
const DB_ROWS_PER_COMMIT: usize = 100_000;
/// How long one drain of the feed channel may take.
const DRAIN_BUDGET: Duration = Duration::from_millis(50);
/// Nap of the ingest loop when there was nothing to do.
const IDLE: Duration = Duration::from_millis(5);
/// First and longest wait before the database thread reconnects.
const DB_BACKOFF: (Duration, Duration) = (Duration::from_millis(200), Duration::from_secs(5));

/// Settings of an ingest run.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Folder of the spool.
    pub state_dir: PathBuf,
    /// Spool limit, bytes.
    pub spool_bytes: u64,
    /// Between status lines on stdout (`None`: none).
    pub status_every: Option<Duration>,
    /// Loopback address of the health endpoint (`GET /health`), if any.
    pub health: Option<SocketAddr>,
}

/// Counters of an ingest run (shared with the health endpoint and the status line).
#[derive(Debug, Default)]
pub struct IngestCounters {
    /// Observations accepted by validation.
    pub accepted: AtomicU64,
    /// Observations rejected by validation.
    pub rejected: AtomicU64,
    /// Observations made durable in the spool (acknowledged).
    pub spooled: AtomicU64,
    /// Messages acknowledged to their sender.
    pub acked: AtomicU64,
    /// Observations committed to the history.
    pub stored: AtomicU64,
    /// Times the spool was full and the ingest stopped taking input.
    pub backpressure: AtomicU64,
    /// Bytes waiting in the spool.
    pub spool_backlog: AtomicU64,
    /// Failed database writes or connects.
    pub db_errors: AtomicU64,
    /// Whether the database is connected.
    pub db_up: AtomicBool,
    /// The last database error.
    pub last_error: Mutex<Option<String>>,
}

impl IngestCounters {
    /// The counters as one JSON object.
    pub fn json(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let last = self.last_error.lock().map(|e| e.clone()).unwrap_or_default();
        serde_json::json!({
            "accepted": g(&self.accepted),
            "rejected": g(&self.rejected),
            "spooled": g(&self.spooled),
            "acked": g(&self.acked),
            "stored": g(&self.stored),
            "backpressure": g(&self.backpressure),
            "spool_backlog_bytes": g(&self.spool_backlog),
            "db_errors": g(&self.db_errors),
            "db_up": self.db_up.load(Ordering::Relaxed),
            "last_error": last,
        })
        .to_string()
    }

    /// One status line.
    pub fn line(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "ingest: accepted {} rejected {} spooled {} stored {} spool backlog {} B, db {}, db errors {}, backpressure {}",
            g(&self.accepted),
            g(&self.rejected),
            g(&self.spooled),
            g(&self.stored),
            g(&self.spool_backlog),
            if self.db_up.load(Ordering::Relaxed) {
                "up"
            } else {
                "down"
            },
            g(&self.db_errors),
            g(&self.backpressure),
        )
    }
}

/// Why the ingest could not start.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The scene names no history.
    #[error("the scene has no history to ingest into")]
    NoHistory,
    /// The scene's history is a read-only seat's (`writer: false`).
    #[error("the scene's history says writer: false (a read-only seat's): the ingest writes")]
    ReadOnlyHistory,
    /// The spool could not be opened.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// A thread or socket could not be made.
    #[error("ingest: {0}")]
    Io(String),
}

/// A running ingest.
#[derive(Debug)]
pub struct Ingest {
    /// Its counters.
    pub counters: Arc<IngestCounters>,
    stop: StopFlag,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// The health endpoint's address, when one listens.
    pub health_addr: Option<SocketAddr>,
}

impl Ingest {
    /// Asks every thread to stop and waits for them (what is spooled stays for next time).
    pub fn stop(mut self) {
        self.stop.stop();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Builds a feed's source for the ingest: MQTT in durable mode.
fn ingest_source(spec: &FeedSpec, city: &CityModel, scene_dir: &Path) -> Result<Box<dyn FeedSource>, String> {
    match &spec.kind {
        FeedKind::Mqtt(m) => Ok(Box::new(
            MqttSource::new(m.clone(), scene_dir, SourceId(spec.name.clone())).durable(),
        )),
        _ => make_source(spec, city, scene_dir),
    }
}

/// Starts an ingest of `feeds` into `history` (the scene at `scene_path`), with an opener
/// of the history for the database thread.
pub fn start_ingest(
    feeds: &[FeedSpec],
    history: &HistorySpec,
    city: &CityModel,
    scene_path: &Path,
    config: &IngestConfig,
) -> Result<Ingest, IngestError> {
    if !history.writes() {
        return Err(IngestError::ReadOnlyHistory);
    }
    let (spec, path) = (history.clone(), scene_path.to_path_buf());
    start_ingest_with(
        feeds,
        city,
        scene_path,
        config,
        history.retention_days(),
        move || open_history(&spec, &path),
    )
}

/// [`start_ingest`] with any opener of the history.
pub fn start_ingest_with<F>(
    feeds: &[FeedSpec],
    city: &CityModel,
    scene_path: &Path,
    config: &IngestConfig,
    retention_days: f64,
    open: F,
) -> Result<Ingest, IngestError>
where
    F: FnMut() -> Result<Box<dyn History>, StoreError> + Send + 'static,
{
    let spool = Arc::new(Mutex::new(Spool::open(&config.state_dir, config.spool_bytes)?));
    let counters = Arc::new(IngestCounters::default());
    let stop = StopFlag::new();
    let io = |e: std::io::Error| IngestError::Io(e.to_string());
    let mut threads = Vec::new();
    // The database thread.
    {
        let (spool, counters, stop) = (spool.clone(), counters.clone(), stop.clone());
        threads.push(
            std::thread::Builder::new()
                .name("ingest-db".into())
                .spawn(move || db_loop(open, &spool, &counters, &stop))
                .map_err(io)?,
        );
    }
    // The health endpoint.
    let mut health_addr = None;
    if let Some(addr) = config.health {
        let listener = TcpListener::bind(addr).map_err(io)?;
        listener.set_nonblocking(true).map_err(io)?;
        health_addr = listener.local_addr().ok();
        let (counters, stop) = (counters.clone(), stop.clone());
        threads.push(
            std::thread::Builder::new()
                .name("ingest-health".into())
                .spawn(move || health_loop(&listener, &counters, &stop))
                .map_err(io)?,
        );
    }
    // The sources and the ingest loop.
    let scene_dir = scene_path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let (channel, receiver) = feed_channel(DEFAULT_FEED_CAPACITY);
    let validator = Validator::for_city(city).with_retention_days(retention_days);
    let mut live = LiveState::new(validator, None);
    let mut handles = Vec::new();
    for f in feeds {
        live.register(&SourceId(f.name.clone()), f.stale_after_s);
        match ingest_source(f, city, &scene_dir).and_then(|s| spawn(s, &channel).map_err(|e| e.to_string())) {
            Ok(h) => handles.push(h),
            Err(e) => eprintln!("ingest: feed {} not started: {e}", f.name),
        }
    }
    {
        let (counters, stop) = (counters.clone(), stop.clone());
        let status_every = config.status_every;
        threads.push(
            std::thread::Builder::new()
                .name("ingest".into())
                .spawn(move || {
                    let mut held: Option<(Vec<Observation>, Vec<crate::twin::feeds::source::Ack>)> = None;
                    let mut stalled = false;
                    let mut last_status = Instant::now();
                    while !stop.is_set() {
                        if held.is_none() {
                            let mut accepted = Vec::new();
                            let report =
                                live.drain_with(&receiver, DRAIN_BUDGET, Timestamp::now(), |_, o| {
                                    accepted.push(o.clone())
                                });
                            counters
                                .accepted
                                .fetch_add(report.accepted as u64, Ordering::Relaxed);
                            counters
                                .rejected
                                .fetch_add(report.rejected as u64, Ordering::Relaxed);
                            let acks = live.take_acks();
                            if !accepted.is_empty() || !acks.is_empty() {
                                held = Some((accepted, acks));
                            }
                        }
                        let mut idle = true;
                        if let Some((batch, acks)) = held.take() {
                            let result = if batch.is_empty() {
                                Ok(())
                            } else {
                                spool.lock().unwrap_or_else(|p| p.into_inner()).append(&batch)
                            };
                            match result {
                                Ok(()) => {
                                    counters.spooled.fetch_add(batch.len() as u64, Ordering::Relaxed);
                                    // Durable: now, and only now, acknowledged.
                                    for a in &acks {
                                        a.send();
                                    }
                                    counters.acked.fetch_add(acks.len() as u64, Ordering::Relaxed);
                                    stalled = false;
                                    idle = false;
                                }
                                Err(SpoolError::Full { .. }) => {
                                    if !stalled {
                                        counters.backpressure.fetch_add(1, Ordering::Relaxed);
                                        stalled = true;
                                    }
                                    held = Some((batch, acks));
                                }
                                Err(e) => {
                                    eprintln!("ingest: {e}");
                                    held = Some((batch, acks));
                                }
                            }
                        }
                        if status_every.is_some_and(|d| last_status.elapsed() >= d) {
                            println!("{}", counters.line());
                            let _ = std::io::stdout().flush();
                            last_status = Instant::now();
                        }
                        if idle {
                            std::thread::sleep(IDLE);
                        }
                    }
                    drop(handles);
                })
                .map_err(io)?,
        );
    }
    Ok(Ingest {
        counters,
        stop,
        threads,
        health_addr,
    })
}

/// The database thread: opens the history (again, with backoff, after it broke) and writes
/// the spool's records to it, moving the cursor after each commit.
fn db_loop<F>(mut open: F, spool: &Mutex<Spool>, counters: &IngestCounters, stop: &StopFlag)
where
    F: FnMut() -> Result<Box<dyn History>, StoreError>,
{
    let mut history: Option<Box<dyn History>> = None;
    let mut wait = DB_BACKOFF.0;
    let fail = |e: String, wait: &mut Duration| {
        counters.db_errors.fetch_add(1, Ordering::Relaxed);
        counters.db_up.store(false, Ordering::Relaxed);
        *counters.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
        let w = *wait;
        *wait = (*wait * 2).min(DB_BACKOFF.1);
        w
    };
    // Finish what is spooled before stopping.
    loop {
        if history.is_none() {
            match open() {
                Ok(h) => {
                    history = Some(h);
                    counters.db_up.store(true, Ordering::Relaxed);
                    wait = DB_BACKOFF.0;
                }
                Err(e) => {
                    let w = fail(e.to_string(), &mut wait);
                    if stop.is_set() || !stop.sleep(w) {
                        return;
                    }
                    continue;
                }
            }
        }
        let pending = {
            let mut s = spool.lock().unwrap_or_else(|p| p.into_inner());
            counters.spool_backlog.store(s.backlog_bytes(), Ordering::Relaxed);
            s.read_pending(DB_ROWS_PER_COMMIT)
        };
        let pending = match pending {
            Ok(p) => p,
            Err(e) => {
                let w = fail(e.to_string(), &mut wait);
                if !stop.sleep(w) {
                    return;
                }
                continue;
            }
        };
        let Some(&(end, _)) = pending.last() else {
            if stop.is_set() {
                return;
            }
            std::thread::sleep(IDLE * 4);
            continue;
        };
        let batches: Vec<Vec<Observation>> = pending.into_iter().map(|(_, b)| b).collect();
        let Some(h) = history.as_mut() else { continue };
        match h.append_batches(&batches) {
            Ok(n) => {
                counters.stored.fetch_add(n as u64, Ordering::Relaxed);
                let mut s = spool.lock().unwrap_or_else(|p| p.into_inner());
                if let Err(e) = s.commit(end) {
                    eprintln!("ingest: {e}");
                }
                counters.spool_backlog.store(s.backlog_bytes(), Ordering::Relaxed);
                wait = DB_BACKOFF.0;
            }
            Err(e) => {
                // Whatever failed (a connection that closed, or one left in a bad
                // state), the next try starts from a fresh connection.
                let w = fail(e.to_string(), &mut wait);
                history = None;
                if stop.is_set() || !stop.sleep(w) {
                    return;
                }
            }
        }
    }
}

/// Answers `GET /health` with the counters as JSON (anything else: 404), on loopback.
fn health_loop(listener: &TcpListener, counters: &IngestCounters, stop: &StopFlag) {
    while !stop.is_set() {
        match listener.accept() {
            Ok((mut stream, _)) => {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut first = String::new();
                let _ = BufReader::new(&stream).read_line(&mut first);
                let (status, body) = if first.starts_with("GET /health ") {
                    ("200 OK", counters.json())
                } else {
                    ("404 Not Found", "{\"error\":\"not found\"}".to_string())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::feeds::pg::PgHistory;
    use crate::twin::feeds::simulator::tests::{small_city, spec};
    use crate::twin::feeds::spec::PostgresHistorySpec;
    use std::process::Command;

    /// Debian's PostgreSQL 15 programs.
    const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
    /// Longest a step of the test waits.
    const WAIT: Duration = Duration::from_secs(60);

    /// A PostgreSQL cluster of the test's own, in a temporary folder on a free port, that it
    /// may kill at will (as the `postgres` user when the test runs as root: initdb refuses
    /// root).
    struct Cluster {
        dir: PathBuf,
        port: u16,
    }

    fn as_pg(args: &[&str]) -> Command {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let mut c = if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]);
            c
        } else {
            Command::new(args[0])
        };
        if root {
            c.arg(args[0]);
        }
        c.args(&args[1..]);
        // The postgres user may not read the working directory.
        c.current_dir(std::env::temp_dir());
        c
    }

    impl Cluster {
        /// A new cluster, or `None` without PostgreSQL's programs (a failure under CI).
        fn start() -> Option<Cluster> {
            let initdb = format!("{PG_BIN}/initdb");
            if !Path::new(&initdb).exists() {
                assert!(std::env::var_os("CI").is_none(), "{initdb} missing under CI");
                eprintln!("{initdb} missing: skipping");
                return None;
            }
            let port = crate::twin::feeds::mqtt::testing::free_port();
            let dir = std::env::temp_dir().join(format!("citytwin-pgcluster-{}-{port}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let _ = Command::new("chown")
                .args(["postgres:postgres", dir.to_str().unwrap()])
                .status();
            let data = dir.join("data");
            let ok = as_pg(&[
                &initdb,
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "citytwin",
            ])
            .output()
            .unwrap();
            assert!(
                ok.status.success(),
                "initdb: {}",
                String::from_utf8_lossy(&ok.stderr)
            );
            let c = Cluster { dir, port };
            c.up();
            Some(c)
        }

        fn data(&self) -> String {
            self.dir.join("data").to_string_lossy().into_owned()
        }

        fn up(&self) {
            let opts = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1",
                self.port,
                self.dir.display()
            );
            let out = as_pg(&[
                &format!("{PG_BIN}/pg_ctl"),
                "-D",
                &self.data(),
                "-o",
                &opts,
                "-l",
                &self.dir.join("log").to_string_lossy(),
                "-w",
                "start",
            ])
            .output()
            .unwrap();
            assert!(
                out.status.success(),
                "pg_ctl start: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }

        /// Kills the server as a crash would (no shutdown checkpoint).
        fn kill(&self) {
            let out = as_pg(&[
                &format!("{PG_BIN}/pg_ctl"),
                "-D",
                &self.data(),
                "-m",
                "immediate",
                "stop",
            ])
            .output()
            .unwrap();
            assert!(
                out.status.success(),
                "pg_ctl stop: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }

        fn spec(&self) -> PostgresHistorySpec {
            PostgresHistorySpec {
                url: format!("postgres://citytwin@127.0.0.1:{}/postgres", self.port),
                password_env: None,
                schema: "ingest".into(),
                retention_days: 3650.0,
                partition_days: 1.0,
                writer: true,
            }
        }
    }

    impl Drop for Cluster {
        fn drop(&mut self) {
            let _ = as_pg(&[
                &format!("{PG_BIN}/pg_ctl"),
                "-D",
                &self.data(),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
        let end = Instant::now() + WAIT;
        while !f() {
            assert!(Instant::now() < end, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    #[test]
    fn a_database_killed_during_ingest_loses_no_acknowledged_observation() {
        let Some(cluster) = Cluster::start() else { return };
        let state = cluster.dir.join("state");
        let feeds = vec![FeedSpec {
            name: "sim".into(),
            kind: FeedKind::Simulator(crate::twin::feeds::spec::SimulatorSpec {
                speed: 600.0,
                ..spec(7)
            }),
            stale_after_s: 60.0,
            classification: None,
        }];
        let config = IngestConfig {
            state_dir: state.clone(),
            spool_bytes: DEFAULT_SPOOL_BYTES,
            status_every: None,
            health: Some("127.0.0.1:0".parse().unwrap()),
        };
        let pg = cluster.spec();
        let open = {
            let pg = pg.clone();
            move || PgHistory::open(&pg).map(|h| Box::new(h) as Box<dyn History>)
        };
        let scene = cluster.dir.join("scene.ron");
        let ingest = start_ingest_with(&feeds, &small_city(), &scene, &config, 3650.0, open).unwrap();
        let c = ingest.counters.clone();
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        wait_until("the first commits", || g(&c.stored) > 0);
        cluster.kill();
        // The database is down: observations are acknowledged into the spool only.
        let stored_at_kill = g(&c.stored);
        wait_until("a write to fail", || g(&c.db_errors) > 0);
        let spooled_while_down = g(&c.spooled);
        wait_until("more spooled while down", || g(&c.spooled) > spooled_while_down);
        assert!(g(&c.spool_backlog) > 0 || g(&c.stored) == stored_at_kill);
        // The health endpoint says the database is down.
        let addr = ingest.health_addr.expect("health endpoint");
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut body = String::new();
        std::io::Read::read_to_string(&mut s, &mut body).unwrap();
        assert!(
            body.starts_with("HTTP/1.1 200") && body.contains("\"db_up\":false"),
            "{body}"
        );
        cluster.up();
        // Stop taking input, then let the database thread write out the spool.
        wait_until("the database back", || c.db_up.load(Ordering::Relaxed));
        let spooled = {
            // Stop the sources and the ingest loop, keep the database thread until empty.
            ingest.stop.stop();
            let mut threads = ingest.threads;
            // The ingest loop and health thread end at once; the database thread ends
            // once the spool is written out.
            for t in threads.drain(..) {
                let _ = t.join();
            }
            g(&c.spooled)
        };
        let mut spool = Spool::open(&state, DEFAULT_SPOOL_BYTES).unwrap();
        let rest: usize = spool
            .read_pending(usize::MAX)
            .unwrap()
            .iter()
            .map(|(_, b)| b.len())
            .sum();
        let history = PgHistory::open(&pg).unwrap();
        let in_db = history.count().unwrap();
        // At least once: every acknowledged observation is in the database or still in
        // the spool; a batch committed just before the kill may be written twice.
        assert!(
            in_db + rest as u64 >= spooled,
            "{in_db} in the database + {rest} spooled < {spooled} acknowledged"
        );
        assert!(in_db >= stored_at_kill);
        assert!(g(&c.stored) > stored_at_kill, "writes resumed after the restart");
    }
}
