//! The live picture of the twin: the latest value of every (subject, metric), fed by
//! draining the feed channel within a time budget each frame (validating, updating feed
//! health), and the store writer thread that appends accepted observations to the history
//! so the frame never waits on disk. What any channel cannot take is counted.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, Sender, TrySendError};

use crate::twin::feeds::fasthash::FastMap;
use crate::twin::feeds::health::{DEFAULT_STALE_AFTER_S, FeedHealth};
use crate::twin::feeds::history::History;
use crate::twin::feeds::key::SubjectKey;
use crate::twin::feeds::observation::{Metric, Observation, Quality, SourceId, Subject, Timestamp};
use crate::twin::feeds::source::{Ack, FeedEvent, FeedMessage, FeedReceiver};
use crate::twin::feeds::store::{StoreError, StoredObservation};
use crate::twin::feeds::validate::{MAX_TEXT_BYTES, Validator};

/// The per-frame drain budget the app should use.
pub const DEFAULT_DRAIN_BUDGET: Duration = Duration::from_millis(2);
/// Observations drained between looks at the clock.
const CLOCK_EVERY: usize = 64;
/// Capacity of the writer's channel, in batches.
pub const DEFAULT_WRITER_CAPACITY: usize = 1_024;
/// Most rows the writer puts in one transaction.
pub const DEFAULT_ROWS_PER_COMMIT: usize = 50_000;
/// How often the writer prunes by retention.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// How long the writer waits for work before checking its pruning clock.
const WRITER_IDLE: Duration = Duration::from_millis(250);
/// First wait before the writer tries again to open a history that would not open.
const REOPEN_INITIAL: Duration = Duration::from_millis(500);
/// Longest wait between the writer's tries to open the history.
const REOPEN_MAX: Duration = Duration::from_secs(10);

/// The latest value of one (subject, metric).
#[derive(Debug, Clone, PartialEq)]
pub struct Latest {
    /// The subject (a point subject's current position).
    pub subject: Subject,
    /// The value, in the metric's unit.
    pub value: f64,
    /// When it was observed.
    pub time: Timestamp,
    /// Quality flag.
    pub quality: Option<Quality>,
    /// The observation's detail.
    pub detail: String,
}

impl Latest {
    fn of(o: &Observation) -> Latest {
        Latest {
            subject: o.subject.clone(),
            value: o.value,
            time: o.time,
            quality: o.quality,
            detail: o.detail.clone(),
        }
    }
}

/// A picture of the twin: the latest value per (subject, metric), live or at a past time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Picture {
    values: FastMap<(SubjectKey, Metric), Latest>,
}

impl Picture {
    /// The picture at a past time, from [`History::latest_at`].
    pub fn from_stored(rows: Vec<StoredObservation>) -> Picture {
        let mut p = Picture::default();
        for r in rows {
            p.apply(r.key, &r.observation);
        }
        p
    }

    /// Sets a value unless a newer one is already there; true when it changed the picture.
    pub fn apply(&mut self, key: SubjectKey, o: &Observation) -> bool {
        match self.values.entry((key, o.metric)) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                if e.get().time > o.time {
                    return false;
                }
                *e.get_mut() = Latest::of(o);
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(Latest::of(o));
            }
        }
        true
    }

    /// The latest value of one subject and metric.
    pub fn get(&self, key: &SubjectKey, metric: Metric) -> Option<&Latest> {
        self.values.get(&(key.clone(), metric))
    }

    /// Every value of one metric.
    pub fn of_metric(&self, metric: Metric) -> impl Iterator<Item = (&SubjectKey, &Latest)> {
        self.values
            .iter()
            .filter(move |((_, m), _)| *m == metric)
            .map(|((k, _), v)| (k, v))
    }

    /// Every value.
    pub fn iter(&self) -> impl Iterator<Item = (&(SubjectKey, Metric), &Latest)> {
        self.values.iter()
    }

    /// Number of (subject, metric) values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when nothing is known.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Counters of the store writer thread.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Observations committed (acknowledged as stored).
    pub stored: AtomicU64,
    /// Observations not handed over because the writer's channel was full.
    pub dropped: AtomicU64,
    /// Observations whose transaction failed.
    pub failed: AtomicU64,
    /// Observations pruned by retention.
    pub pruned: AtomicU64,
    /// The last write error.
    pub last_error: Mutex<Option<String>>,
}

/// Settings of the store writer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriterConfig {
    /// Channel capacity, in batches.
    pub capacity: usize,
    /// Most rows per transaction.
    pub rows_per_commit: usize,
    /// Retention: rows older than this many ms before now are pruned; `None` keeps all.
    pub retention_ms: Option<i64>,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            capacity: DEFAULT_WRITER_CAPACITY,
            rows_per_commit: DEFAULT_ROWS_PER_COMMIT,
            retention_ms: None,
        }
    }
}

/// The thread that appends observations to the [`History`] (a SQLite file or a database).
#[derive(Debug)]
pub struct StoreWriter {
    tx: Option<Sender<Vec<Vec<Observation>>>>,
    stats: Arc<WriterStats>,
    thread: Option<JoinHandle<Option<Box<dyn History>>>>,
}

impl StoreWriter {
    /// Starts the writer thread, which owns the history until [`StoreWriter::close`].
    pub fn spawn(store: impl History + 'static, config: WriterConfig) -> std::io::Result<StoreWriter> {
        StoreWriter::spawn_boxed(Box::new(store), config)
    }

    /// [`StoreWriter::spawn`] for a history already boxed (as [`crate::twin::feeds::runtime::open_history`]
    /// gives it).
    pub fn spawn_boxed(store: Box<dyn History>, config: WriterConfig) -> std::io::Result<StoreWriter> {
        let mut store = Some(store);
        StoreWriter::spawn_opening(
            move || {
                store.take().ok_or_else(|| StoreError::Postgres {
                    target: "history".into(),
                    message: "the history handed to the writer broke and cannot be opened again".into(),
                })
            },
            config,
        )
    }

    /// Starts the writer thread, which opens the history itself with `open` (so that no
    /// caller waits on a database): again with backoff after it fails to open or its
    /// connection breaks. Batches that come while it is not open are counted as failed.
    pub fn spawn_opening<F>(mut open: F, config: WriterConfig) -> std::io::Result<StoreWriter>
    where
        F: FnMut() -> Result<Box<dyn History>, StoreError> + Send + 'static,
    {
        // Batches travel as the sources made them: no observation is copied on the way.
        let (tx, rx) = crossbeam_channel::bounded::<Vec<Vec<Observation>>>(config.capacity.max(1));
        let stats = Arc::new(WriterStats::default());
        let st = stats.clone();
        let thread = std::thread::Builder::new()
            .name("feed-store-writer".into())
            .spawn(move || {
                let mut store: Option<Box<dyn History>> = None;
                let mut next_open = Instant::now();
                let mut open_wait = REOPEN_INITIAL;
                let mut last_prune: Option<Instant> = None;
                let mut batches: Vec<Vec<Observation>> = Vec::new();
                let mut rows = 0usize;
                let prune = |store: &mut Box<dyn History>| {
                    if let Some(keep) = config.retention_ms {
                        // The twin's clock: the wall clock, or the newest observation stored
                        // when an accelerated simulator has run ahead of it.
                        let now = store
                            .newest_written()
                            .map_or(Timestamp::now(), |t| t.max(Timestamp::now()));
                        let before = Timestamp(now.0.saturating_sub(keep));
                        match store.prune_before(before) {
                            Ok(n) => {
                                st.pruned.fetch_add(n as u64, Ordering::Relaxed);
                            }
                            Err(e) => {
                                *st.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string())
                            }
                        }
                    }
                };
                loop {
                    if store.is_none() && Instant::now() >= next_open {
                        match open() {
                            Ok(s) => {
                                store = Some(s);
                                open_wait = REOPEN_INITIAL;
                            }
                            Err(e) => {
                                *st.last_error.lock().unwrap_or_else(|p| p.into_inner()) =
                                    Some(e.to_string());
                                next_open = Instant::now() + open_wait;
                                open_wait = (open_wait * 2).min(REOPEN_MAX);
                            }
                        }
                    }
                    if let Some(s) = store.as_mut()
                        && last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY)
                    {
                        prune(s);
                        last_prune = Some(Instant::now());
                    }
                    let take = |b: Vec<Vec<Observation>>, batches: &mut Vec<_>, rows: &mut usize| {
                        *rows += b.iter().map(Vec::len).sum::<usize>();
                        batches.extend(b);
                    };
                    match rx.recv_timeout(WRITER_IDLE) {
                        Ok(b) => take(b, &mut batches, &mut rows),
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                    // The batched write mode: one transaction for whatever has queued up,
                    // up to `rows_per_commit` rows.
                    while rows < config.rows_per_commit {
                        match rx.try_recv() {
                            Ok(b) => take(b, &mut batches, &mut rows),
                            Err(_) => break,
                        }
                    }
                    let result = match store.as_mut() {
                        Some(s) => s.append_batches(&batches).map_err(|e| e.to_string()),
                        None => Err("history not open".to_string()),
                    };
                    match result {
                        Ok(n) => {
                            st.stored.fetch_add(n as u64, Ordering::Release);
                        }
                        Err(e) => {
                            st.failed.fetch_add(rows as u64, Ordering::Relaxed);
                            *st.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                        }
                    }
                    if store.as_ref().is_some_and(|s| s.is_broken()) {
                        store = None;
                    }
                    batches.clear();
                    rows = 0;
                }
                store
            })?;
        Ok(StoreWriter {
            tx: Some(tx),
            stats,
            thread: Some(thread),
        })
    }

    /// Hands a batch to the writer without waiting; false (and counted) when it is full.
    pub fn submit(&self, batch: Vec<Observation>) -> bool {
        self.submit_many(vec![batch])
    }

    /// Hands several batches to the writer as one message without waiting; false (and
    /// every observation counted) when its channel is full.
    pub fn submit_many(&self, mut batches: Vec<Vec<Observation>>) -> bool {
        batches.retain(|b| !b.is_empty());
        if batches.is_empty() {
            return true;
        }
        let n = batches.iter().map(Vec::len).sum::<usize>() as u64;
        let Some(tx) = &self.tx else {
            self.stats.dropped.fetch_add(n, Ordering::Relaxed);
            return false;
        };
        match tx.try_send(batches) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.stats.dropped.fetch_add(n, Ordering::Relaxed);
                false
            }
        }
    }

    /// The writer's counters.
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Observations committed so far.
    pub fn stored(&self) -> u64 {
        self.stats.stored.load(Ordering::Acquire)
    }

    /// Waits until at least `n` observations are committed; false on timeout.
    pub fn wait_stored(&self, n: u64, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while self.stored() < n {
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    /// Writes what is queued, stops the thread and gives the history back.
    pub fn close(mut self) -> Option<Box<dyn History>> {
        self.tx = None;
        self.thread.take().and_then(|t| t.join().ok()).flatten()
    }
}

impl Drop for StoreWriter {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What one drain did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DrainReport {
    /// Channel messages taken.
    pub messages: usize,
    /// Observations in them.
    pub observations: usize,
    /// Observations accepted into the picture.
    pub accepted: usize,
    /// Observations rejected by validation.
    pub rejected: usize,
    /// Health events.
    pub events: usize,
    /// Time spent.
    pub elapsed: Duration,
    /// True when the budget ran out before the channel was empty.
    pub budget_hit: bool,
    /// Messages left in the channel.
    pub backlog: usize,
}

/// Observations of one source in a row, counted into its health together.
#[derive(Debug)]
struct Run {
    source: Option<SourceId>,
    /// The time the run's observations are validated against (see [`LiveState::now_of`]).
    now: Timestamp,
    received: u64,
    accepted: u64,
}

/// The live state: the current picture, per-source health, the validator and the writer.
#[derive(Debug)]
pub struct LiveState {
    /// The latest values.
    pub picture: Picture,
    /// Health per source.
    pub health: BTreeMap<SourceId, FeedHealth>,
    /// The checks applied to incoming observations.
    pub validator: Validator,
    writer: Option<StoreWriter>,
    /// Accepted batches waiting for the end of the drain to go to the writer.
    pending: Vec<Vec<Observation>>,
    /// Accepted single observations, likewise.
    pending_single: Vec<Observation>,
    /// The last clock each source reported ([`FeedEvent::Clock`]).
    clocks: BTreeMap<SourceId, Timestamp>,
    /// Acknowledgements of drained messages, for the caller to send once durable.
    acks: Vec<Ack>,
}

impl LiveState {
    /// A live state with a validator and, optionally, a store writer.
    pub fn new(validator: Validator, writer: Option<StoreWriter>) -> LiveState {
        LiveState {
            picture: Picture::default(),
            health: BTreeMap::new(),
            validator,
            writer,
            pending: Vec::new(),
            pending_single: Vec::new(),
            clocks: BTreeMap::new(),
            acks: Vec::new(),
        }
    }

    /// The acknowledgements of the messages drained so far (send them once what the drain
    /// accepted of them is durable).
    pub fn take_acks(&mut self) -> Vec<Ack> {
        std::mem::take(&mut self.acks)
    }

    /// The clock a source last reported (simulated or replayed time), if it reports one.
    pub fn source_clock(&self, source: &SourceId) -> Option<Timestamp> {
        self.clocks.get(source).copied()
    }

    /// The "now" a source's observations are validated against: its own clock when it
    /// reports one (simulators, replays), else the wall clock `wall` (real sources).
    pub fn now_of(&self, source: &SourceId, wall: Timestamp) -> Timestamp {
        self.source_clock(source).unwrap_or(wall)
    }

    /// Registers a source with its stale timeout (unregistered sources get the default).
    pub fn register(&mut self, source: &SourceId, stale_after_s: f64) {
        self.health
            .insert(source.clone(), FeedHealth::new(source.clone(), stale_after_s));
    }

    /// The store writer, if any.
    pub fn writer(&self) -> Option<&StoreWriter> {
        self.writer.as_ref()
    }

    /// Takes the writer out (to close it and get the store back).
    pub fn take_writer(&mut self) -> Option<StoreWriter> {
        self.writer.take()
    }

    /// Drains the channel for at most `budget`; `now` is the wall-clock time (observations
    /// of a source with its own clock are validated against that clock, see
    /// [`LiveState::now_of`]).
    pub fn drain(&mut self, rx: &FeedReceiver, budget: Duration, now: Timestamp) -> DrainReport {
        self.drain_with(rx, budget, now, |_, _| {})
    }

    /// Like [`LiveState::drain`], calling `on_accept` for every observation accepted (to
    /// update colours, charts, indicators).
    pub fn drain_with(
        &mut self,
        rx: &FeedReceiver,
        budget: Duration,
        now: Timestamp,
        mut on_accept: impl FnMut(&SubjectKey, &Observation),
    ) -> DrainReport {
        let start = Instant::now();
        let mut report = DrainReport::default();
        let mut run = Run {
            source: None,
            now,
            received: 0,
            accepted: 0,
        };
        let mut since_clock = 0usize;
        loop {
            if since_clock >= CLOCK_EVERY {
                since_clock = 0;
                if start.elapsed() >= budget {
                    report.budget_hit = !rx.receiver().is_empty();
                    break;
                }
            }
            let Ok(msg) = rx.receiver().try_recv() else {
                break;
            };
            report.messages += 1;
            // An acknowledged batch is drained as a batch; its caller acknowledges it
            // once what was accepted of it is durable.
            let msg = match msg {
                FeedMessage::Acked { batch, ack } => {
                    self.acks.push(ack);
                    FeedMessage::Batch(batch)
                }
                m => m,
            };
            match msg {
                // Made a batch above.
                FeedMessage::Acked { .. } => {}
                FeedMessage::Observation(o) => {
                    since_clock += 1;
                    if self.ingest(&o, now, &mut report, &mut on_accept, &mut run) && self.writer.is_some() {
                        self.pending_single.push(o);
                    }
                }
                FeedMessage::Batch(mut b) => {
                    since_clock += b.len();
                    // Rejections are rare: the batch goes to the writer as it came, less
                    // any rejected observation.
                    let mut rejected: Vec<usize> = Vec::new();
                    for (i, o) in b.iter().enumerate() {
                        if !self.ingest(o, now, &mut report, &mut on_accept, &mut run) {
                            rejected.push(i);
                        }
                    }
                    if self.writer.is_some() {
                        // Keep arrival order: single observations before this batch first.
                        if !self.pending_single.is_empty() {
                            let single = std::mem::take(&mut self.pending_single);
                            self.pending.push(single);
                        }
                        if !rejected.is_empty() {
                            let mut i = 0;
                            let mut next = rejected.iter().peekable();
                            b.retain(|_| {
                                let keep = next.next_if_eq(&&i).is_none();
                                i += 1;
                                keep
                            });
                        }
                        self.pending.push(b);
                    }
                }
                FeedMessage::Event { source, at, event } => {
                    self.flush_run(&mut run, now);
                    report.events += 1;
                    if let FeedEvent::Clock(t) = event {
                        self.clocks.insert(source, t);
                    } else {
                        self.health_of(&source).on_event(&event, at);
                    }
                }
            }
        }
        self.flush_run(&mut run, now);
        if !self.pending_single.is_empty() {
            let single = std::mem::take(&mut self.pending_single);
            self.pending.push(single);
        }
        if let Some(w) = &self.writer
            && !self.pending.is_empty()
        {
            w.submit_many(std::mem::take(&mut self.pending));
        }
        for (source, dropped) in rx.dropped() {
            self.health_of(&source).set_dropped(dropped);
        }
        for h in self.health.values_mut() {
            h.tick(now);
        }
        report.backlog = rx.receiver().len();
        report.elapsed = start.elapsed();
        report
    }

    /// Validates one observation and applies it to the picture; true when accepted.
    fn ingest(
        &mut self,
        o: &Observation,
        now: Timestamp,
        report: &mut DrainReport,
        on_accept: &mut impl FnMut(&SubjectKey, &Observation),
        run: &mut Run,
    ) -> bool {
        if run.source.as_ref() != Some(&o.source) {
            self.flush_run(run, now);
            run.now = self.now_of(&o.source, now);
            run.source = Some(o.source.clone());
        }
        run.received += 1;
        report.observations += 1;
        match self.validator.check(o, run.now) {
            Ok(()) => {
                let key = SubjectKey::of(o);
                on_accept(&key, o);
                self.picture.apply(key, o);
                run.accepted += 1;
                report.accepted += 1;
                true
            }
            Err(r) => {
                report.rejected += 1;
                let sample = sample_of(o);
                self.health_of(&o.source).on_bad(r.kind, &r.message, &sample, now);
                false
            }
        }
    }

    fn flush_run(&mut self, run: &mut Run, now: Timestamp) {
        if let Some(s) = run.source.take() {
            let (n, a) = (run.received, run.accepted);
            self.health_of(&s).on_observations(n, a, now);
        }
        run.received = 0;
        run.accepted = 0;
    }

    fn health_of(&mut self, source: &SourceId) -> &mut FeedHealth {
        self.health
            .entry(source.clone())
            .or_insert_with(|| FeedHealth::new(source.clone(), DEFAULT_STALE_AFTER_S))
    }
}

/// A rejected observation as JSON for the health panel, its text fields cut first so a
/// huge detail or id costs no more than a small one.
fn sample_of(o: &Observation) -> String {
    let long = |t: &str| t.len() > MAX_TEXT_BYTES;
    let oversized = long(&o.detail)
        || long(&o.unit)
        || long(&o.source.0)
        || matches!(&o.subject, Subject::Sensor(s) if long(s));
    if !oversized {
        return serde_json::to_string(o).unwrap_or_default();
    }
    let cut = |t: &str| crate::twin::feeds::source::cut_sample(t);
    let small = Observation {
        source: SourceId(cut(&o.source.0)),
        subject: match &o.subject {
            Subject::Sensor(s) => Subject::Sensor(cut(s)),
            other => other.clone(),
        },
        metric: o.metric,
        value: o.value,
        unit: cut(&o.unit),
        time: o.time,
        quality: o.quality,
        detail: cut(&o.detail),
    };
    serde_json::to_string(&small).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::city::RoadId;
    use crate::twin::feeds::health::ErrorKind;
    use crate::twin::feeds::source::feed_channel;
    use crate::twin::feeds::store::Store;

    fn o(source: &SourceId, road: u32, v: f64, t: i64) -> Observation {
        Observation::new(
            source,
            Subject::Road(RoadId(road)),
            Metric::TrafficSpeed,
            v,
            Timestamp(t),
        )
    }

    fn validator() -> Validator {
        Validator {
            roads: 100,
            ..Validator::permissive()
        }
    }

    #[test]
    fn drain_validates_counts_per_source_and_stores() {
        let (ch, rx) = feed_channel(1_000);
        let (a, b) = (SourceId("a".into()), SourceId("b".into()));
        let (ta, tb) = (ch.sender(&a), ch.sender(&b));
        ta.event(FeedEvent::Connected);
        ta.batch((0..50).map(|i| o(&a, i, 30.0, 1_000 + i as i64)).collect());
        tb.observation(o(&b, 500, 30.0, 1_000));
        tb.observation(o(&b, 1, f64::NAN, 1_000));
        tb.error(ErrorKind::Malformed, "not JSON", "{oops");
        let writer = StoreWriter::spawn(Store::in_memory().unwrap(), WriterConfig::default()).unwrap();
        let mut live = LiveState::new(validator(), Some(writer));
        let r = live.drain(&rx, Duration::from_secs(1), Timestamp(2_000));
        assert_eq!((r.observations, r.accepted, r.rejected, r.events), (52, 50, 2, 2));
        assert_eq!(live.picture.len(), 50);
        let hb = &live.health[&b];
        assert_eq!(hb.errors[&ErrorKind::UnknownId], 1);
        assert_eq!(hb.errors[&ErrorKind::NotFinite], 1);
        assert_eq!(hb.errors[&ErrorKind::Malformed], 1);
        assert_eq!(hb.last_bad.as_ref().unwrap().sample, "{oops");
        assert_eq!(live.health[&a].accepted, 50);
        let w = live.take_writer().unwrap();
        assert!(w.wait_stored(50, Duration::from_secs(5)));
        let store = w.close().unwrap();
        assert_eq!(store.count().unwrap(), 50);
    }

    #[test]
    fn older_values_do_not_replace_newer_ones() {
        let (ch, rx) = feed_channel(10);
        let s = SourceId("s".into());
        let t = ch.sender(&s);
        t.observation(o(&s, 1, 50.0, 2_000));
        t.observation(o(&s, 1, 20.0, 1_000));
        let mut live = LiveState::new(validator(), None);
        live.drain(&rx, Duration::from_secs(1), Timestamp(3_000));
        let v = live
            .picture
            .get(&SubjectKey::Road(RoadId(1)), Metric::TrafficSpeed)
            .unwrap();
        assert_eq!(v.value, 50.0);
    }

    #[test]
    fn drain_stops_at_the_budget_and_overflow_is_reported() {
        let (ch, rx) = feed_channel(100_000);
        let s = SourceId("s".into());
        let t = ch.sender(&s);
        for i in 0..100_000 {
            if !t.observation(o(&s, 1, (i % 100) as f64, i)) {
                break;
            }
        }
        assert!(!t.observation(o(&s, 1, 1.0, 1)));
        let mut live = LiveState::new(validator(), None);
        let r = live.drain(&rx, Duration::ZERO, Timestamp(200_000));
        assert!(r.budget_hit);
        assert!(r.observations <= CLOCK_EVERY, "{}", r.observations);
        assert_eq!(r.backlog, 100_000 - r.observations);
        assert_eq!(live.health[&s].dropped, 1);
    }

    #[test]
    fn writer_overflow_is_counted() {
        let config = WriterConfig {
            capacity: 1,
            ..WriterConfig::default()
        };
        let w = StoreWriter::spawn(Store::in_memory().unwrap(), config).unwrap();
        let s = SourceId("s".into());
        let mut refused = 0;
        for _ in 0..200 {
            if !w.submit((0..100).map(|i| o(&s, 1, 1.0, i)).collect()) {
                refused += 100;
            }
        }
        let stats = w.stats();
        assert_eq!(stats.dropped.load(Ordering::Relaxed), refused);
        let stored_then = w.stored();
        let store = w.close().unwrap();
        assert!(refused > 0, "a one-batch channel must refuse some of 200 batches");
        assert_eq!(store.count().unwrap() + refused, 20_000, "stored {stored_then}");
    }

    #[test]
    fn sources_with_their_own_clock_are_checked_against_it() {
        use crate::twin::feeds::health::ErrorKind;
        use crate::twin::feeds::source::FeedEvent;
        let wall = Timestamp(1_700_000_000_000);
        let v = Validator {
            max_age_ms: Some(Timestamp::DAY_MS),
            max_future_ms: crate::twin::feeds::validate::DEFAULT_MAX_FUTURE_MS,
            ..validator()
        };
        let (ch, rx) = feed_channel(100);
        let (sim, old, mqtt) = (
            SourceId("sim".into()),
            SourceId("old".into()),
            SourceId("mqtt".into()),
        );
        // A ×100 simulator ten hours ahead of the wall clock, a replay of last year and a
        // real source: the same far-ahead time is fine from the simulator only.
        let ahead = wall.plus_ms(10 * Timestamp::HOUR_MS);
        let last_year = wall.plus_ms(-365 * Timestamp::DAY_MS);
        let (ts, to, tm) = (ch.sender(&sim), ch.sender(&old), ch.sender(&mqtt));
        ts.event(FeedEvent::Clock(ahead));
        ts.batch(vec![
            o(&sim, 1, 30.0, ahead.0),
            o(&sim, 2, 30.0, ahead.0 - 60_000),
        ]);
        to.event(FeedEvent::Clock(last_year));
        to.observation(o(&old, 3, 30.0, last_year.0));
        tm.observation(o(&mqtt, 4, 30.0, ahead.0));
        tm.observation(o(&mqtt, 5, 30.0, last_year.0));
        tm.observation(o(&mqtt, 6, 30.0, wall.0));
        // Still checked against its own clock: two days before it is beyond the retention.
        to.observation(o(&old, 7, 30.0, last_year.0 - 2 * Timestamp::DAY_MS));
        let mut live = LiveState::new(v, None);
        let r = live.drain(&rx, Duration::from_secs(1), wall);
        assert_eq!((r.accepted, r.rejected), (4, 3), "{r:?}");
        assert_eq!(live.source_clock(&sim), Some(ahead));
        assert_eq!(live.now_of(&mqtt, wall), wall);
        assert_eq!(live.health[&sim].error_total(), 0);
        assert_eq!(live.health[&mqtt].errors[&ErrorKind::FutureTime], 1);
        assert_eq!(live.health[&mqtt].errors[&ErrorKind::PastTime], 1);
        assert_eq!(live.health[&old].errors[&ErrorKind::PastTime], 1);
        // A clock is no health event: the link state did not change.
        assert_eq!(live.health[&sim].link, live.health[&mqtt].link);
    }

    #[test]
    fn a_batch_with_rejections_reaches_the_store_without_them() {
        let (ch, rx) = feed_channel(10);
        let s = SourceId("s".into());
        let t = ch.sender(&s);
        let mut b: Vec<_> = (0..10).map(|i| o(&s, i, 30.0, 1_000 + i as i64)).collect();
        b[0].value = f64::NAN;
        b[4].subject = Subject::Road(RoadId(1_000));
        b[9].value = -1.0;
        t.batch(b);
        t.observation(o(&s, 50, 20.0, 1_500));
        let writer = StoreWriter::spawn(Store::in_memory().unwrap(), WriterConfig::default()).unwrap();
        let mut live = LiveState::new(validator(), Some(writer));
        let r = live.drain(&rx, Duration::from_secs(1), Timestamp(2_000));
        assert_eq!((r.accepted, r.rejected), (8, 3));
        let w = live.take_writer().unwrap();
        assert!(w.wait_stored(8, Duration::from_secs(5)));
        let store = w.close().unwrap();
        let mut roads: Vec<u32> = store
            .range(Timestamp(0), Timestamp(3_000))
            .unwrap()
            .iter()
            .map(|o| match o.subject {
                Subject::Road(r) => r.0,
                _ => u32::MAX,
            })
            .collect();
        roads.sort();
        assert_eq!(roads, vec![1, 2, 3, 5, 6, 7, 8, 50]);
    }
}
