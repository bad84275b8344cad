//! A history reader on its own thread, so that no frame ever waits on the database: the
//! history (SQLite file or PostgreSQL) is opened, migrated and queried there, questions go
//! in and answers come back on crossbeam channels. Questions are asked on *lanes* (the time
//! slider's picture, the indicators' inputs, a chart, the request book): a newer question
//! on a lane supersedes an older one still queued (it is never run), and an answer to a
//! question that is no longer the lane's latest (the slider moved on) is dropped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::twin::feeds::history::History;
use crate::twin::feeds::key::SubjectKey;
use crate::twin::feeds::observation::{Metric, Observation, Timestamp};
use crate::twin::feeds::store::{StoreError, StoredObservation};

/// First wait before the reader tries again to open a history that would not open.
const REOPEN_INITIAL: Duration = Duration::from_millis(500);
/// Longest wait between tries to open the history.
const REOPEN_MAX: Duration = Duration::from_secs(10);

/// What a question is for; one question per lane is worth answering at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// The picture at the instant the time slider shows.
    Picture,
    /// The indicators' window of observations before the instant shown.
    Inputs,
    /// A chart of the selected feature.
    Chart,
    /// The service requests read back at start.
    Requests,
    /// Anything else (tools, tests).
    Other,
}

/// A question to the history.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadRequest {
    /// [`History::latest_at`].
    LatestAt {
        /// The instant.
        t: Timestamp,
        /// Oldest value kept, ms before `t`.
        max_age_ms: Option<i64>,
    },
    /// [`History::range`].
    Range {
        /// From (inclusive).
        from: Timestamp,
        /// To (inclusive).
        to: Timestamp,
    },
    /// [`History::metric_range`] of several metrics, concatenated in the order given.
    Metrics {
        /// The metrics.
        metrics: Vec<Metric>,
        /// From (inclusive).
        from: Timestamp,
        /// To (inclusive).
        to: Timestamp,
    },
    /// [`History::series`] of one subject, for several metrics.
    Series {
        /// The subject.
        key: SubjectKey,
        /// The metrics.
        metrics: Vec<Metric>,
        /// From (inclusive).
        from: Timestamp,
        /// To (inclusive).
        to: Timestamp,
    },
    /// [`History::count`] and [`History::time_range`].
    Extent,
}

/// An answer of the history.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadAnswer {
    /// The latest stored observation of every series.
    Latest(Vec<StoredObservation>),
    /// Observations in time order.
    Observations(Vec<Observation>),
    /// Each metric's points, in the order asked.
    Series(Vec<(Metric, Vec<(Timestamp, f64)>)>),
    /// Observations stored and their time range.
    Extent(u64, Option<(Timestamp, Timestamp)>),
}

/// An answer with its question and how long the history took.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadReply {
    /// The question answered.
    pub request: ReadRequest,
    /// The answer, or why there is none (the message of a [`StoreError`]).
    pub answer: Result<ReadAnswer, String>,
    /// Time the history took to answer.
    pub took: Duration,
}

/// Where the reader's history stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderStatus {
    /// Not opened yet.
    Opening,
    /// Open; where it lives.
    Open(String),
    /// The last try to open it failed (the reader tries again when asked).
    Failed(String),
}

/// One question on the channel.
type Question = (Lane, u64, ReadRequest);
/// One answer on the channel.
type Answer = (Lane, u64, ReadReply);

/// Counters of a reader.
#[derive(Debug, Default)]
pub struct ReaderStats {
    /// Questions run.
    pub answered: AtomicU64,
    /// Questions superseded before they ran.
    pub superseded: AtomicU64,
    /// Answers dropped because a newer question on their lane was asked.
    pub stale: AtomicU64,
}

/// A handle on the reader thread; cheap to ask through a shared reference.
#[derive(Debug)]
pub struct HistoryReader {
    tx: Option<Sender<Question>>,
    rx: Receiver<Answer>,
    next: AtomicU64,
    /// The latest ticket asked on each lane.
    latest: Mutex<HashMap<Lane, u64>>,
    /// Answers received and not yet taken, by lane (the latest only).
    ready: Mutex<HashMap<Lane, (u64, ReadReply)>>,
    status: Arc<Mutex<ReaderStatus>>,
    stats: Arc<ReaderStats>,
    thread: Option<JoinHandle<()>>,
}

impl HistoryReader {
    /// Starts the reader thread; `open` runs on it (and again after a failure, with
    /// backoff, when a question comes).
    pub fn spawn<F>(open: F) -> std::io::Result<HistoryReader>
    where
        F: FnMut() -> Result<Box<dyn History>, StoreError> + Send + 'static,
    {
        let (tx, qrx) = crossbeam_channel::unbounded::<Question>();
        let (atx, rx) = crossbeam_channel::unbounded::<Answer>();
        let status = Arc::new(Mutex::new(ReaderStatus::Opening));
        let stats = Arc::new(ReaderStats::default());
        let (st, sts) = (status.clone(), stats.clone());
        let thread = std::thread::Builder::new()
            .name("history-reader".into())
            .spawn(move || run(open, &qrx, &atx, &st, &sts))?;
        Ok(HistoryReader {
            tx: Some(tx),
            rx,
            next: AtomicU64::new(1),
            latest: Mutex::new(HashMap::new()),
            ready: Mutex::new(HashMap::new()),
            status,
            stats,
            thread: Some(thread),
        })
    }

    /// Asks a question on a lane without waiting; it supersedes the lane's earlier one.
    pub fn ask(&self, lane: Lane, request: ReadRequest) {
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        lock(&self.latest).insert(lane, ticket);
        lock(&self.ready).remove(&lane);
        if let Some(tx) = &self.tx {
            // The thread only ends when this handle drops.
            let _ = tx.send((lane, ticket, request));
        }
    }

    /// Whether a question on the lane is still unanswered.
    pub fn pending(&self, lane: Lane) -> bool {
        self.collect();
        lock(&self.latest).contains_key(&lane) && !lock(&self.ready).contains_key(&lane)
    }

    /// Takes the answer to the lane's latest question, if it has come; never waits.
    pub fn take(&self, lane: Lane) -> Option<ReadReply> {
        self.collect();
        let (_, reply) = lock(&self.ready).remove(&lane)?;
        lock(&self.latest).remove(&lane);
        Some(reply)
    }

    /// Waits up to `timeout` for the lane's answer (tools and tests; never in a frame).
    pub fn wait(&self, lane: Lane, timeout: Duration) -> Option<ReadReply> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(r) = self.take(lane) {
                return Some(r);
            }
            let left = end.checked_duration_since(Instant::now())?;
            match self.rx.recv_timeout(left.min(Duration::from_millis(50))) {
                Ok(a) => self.keep(a),
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return self.take(lane),
            }
        }
    }

    /// Where the history stands.
    pub fn status(&self) -> ReaderStatus {
        lock(&self.status).clone()
    }

    /// The reader's counters.
    pub fn stats(&self) -> &ReaderStats {
        &self.stats
    }

    /// Moves every answer on the channel into `ready`, dropping stale ones.
    fn collect(&self) {
        while let Ok(a) = self.rx.try_recv() {
            self.keep(a);
        }
    }

    fn keep(&self, (lane, ticket, reply): Answer) {
        if lock(&self.latest).get(&lane) == Some(&ticket) {
            lock(&self.ready).insert(lane, (ticket, reply));
        } else {
            self.stats.stale.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for HistoryReader {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            // The thread ends after the question it is answering.
            let _ = t.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The reader thread: opens the history, then answers the latest question of each lane.
fn run<F>(
    mut open: F,
    questions: &Receiver<Question>,
    answers: &Sender<Answer>,
    status: &Mutex<ReaderStatus>,
    stats: &ReaderStats,
) where
    F: FnMut() -> Result<Box<dyn History>, StoreError>,
{
    let mut history: Option<Box<dyn History>> = None;
    let mut next_try = Instant::now();
    let mut wait = REOPEN_INITIAL;
    let mut try_open = |history: &mut Option<Box<dyn History>>| {
        if history.is_some() || Instant::now() < next_try {
            return;
        }
        match open() {
            Ok(h) => {
                *lock(status) = ReaderStatus::Open(h.describe());
                *history = Some(h);
                wait = REOPEN_INITIAL;
            }
            Err(e) => {
                *lock(status) = ReaderStatus::Failed(e.to_string());
                next_try = Instant::now() + wait;
                wait = (wait * 2).min(REOPEN_MAX);
            }
        }
    };
    try_open(&mut history);
    while let Ok(first) = questions.recv() {
        // Whatever else is queued: only each lane's latest question runs.
        let mut queued = vec![first];
        queued.extend(questions.try_iter());
        let mut latest: Vec<Question> = Vec::new();
        for q in queued {
            if let Some(i) = latest.iter().position(|l| l.0 == q.0) {
                stats.superseded.fetch_add(1, Ordering::Relaxed);
                latest[i] = q;
            } else {
                latest.push(q);
            }
        }
        for (lane, ticket, request) in latest {
            try_open(&mut history);
            let start = Instant::now();
            let answer = match &history {
                Some(h) => answer(h.as_ref(), &request).map_err(|e| e.to_string()),
                None => Err(match &*lock(status) {
                    ReaderStatus::Failed(e) => format!("history not open: {e}"),
                    _ => "history not open".to_string(),
                }),
            };
            // A history whose connection broke is opened afresh for the next question.
            if history.as_ref().is_some_and(|h| h.is_broken()) {
                history = None;
                *lock(status) = ReaderStatus::Opening;
            }
            stats.answered.fetch_add(1, Ordering::Relaxed);
            let reply = ReadReply {
                request,
                answer,
                took: start.elapsed(),
            };
            if answers.send((lane, ticket, reply)).is_err() {
                return;
            }
        }
    }
}

/// Runs one question against the history.
pub fn answer(h: &dyn History, request: &ReadRequest) -> Result<ReadAnswer, StoreError> {
    Ok(match request {
        ReadRequest::LatestAt { t, max_age_ms } => ReadAnswer::Latest(h.latest_at(*t, *max_age_ms)?),
        ReadRequest::Range { from, to } => ReadAnswer::Observations(h.range(*from, *to)?),
        ReadRequest::Metrics { metrics, from, to } => {
            let mut all = Vec::new();
            for m in metrics {
                all.extend(h.metric_range(*m, *from, *to)?);
            }
            ReadAnswer::Observations(all)
        }
        ReadRequest::Series {
            key,
            metrics,
            from,
            to,
        } => ReadAnswer::Series(
            metrics
                .iter()
                .map(|m| Ok((*m, h.series(key, *m, *from, *to)?)))
                .collect::<Result<_, StoreError>>()?,
        ),
        ReadRequest::Extent => ReadAnswer::Extent(h.count()?, h.time_range()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::feeds::observation::{Quality, SourceId, Subject};
    use crate::twin::feeds::store::Store;

    fn obs(t: i64, v: f64) -> Observation {
        Observation {
            source: SourceId("s".into()),
            subject: Subject::Sensor("a".into()),
            metric: Metric::Pm25,
            value: v,
            unit: Metric::Pm25.unit().into(),
            time: Timestamp(t),
            quality: Some(Quality::Good),
            detail: String::new(),
        }
    }

    fn reader_with(n: i64) -> HistoryReader {
        HistoryReader::spawn(move || {
            let mut s = Store::in_memory()?;
            let batch: Vec<Observation> = (0..n).map(|i| obs(i * 1000, i as f64)).collect();
            s.append(&batch)?;
            Ok(Box::new(s) as Box<dyn History>)
        })
        .unwrap()
    }

    #[test]
    fn answers_come_back_and_stale_ones_are_dropped() {
        let r = reader_with(100);
        for t in [10_000, 20_000, 50_000] {
            r.ask(
                Lane::Picture,
                ReadRequest::LatestAt {
                    t: Timestamp(t),
                    max_age_ms: None,
                },
            );
        }
        let reply = r.wait(Lane::Picture, Duration::from_secs(10)).expect("answered");
        // Only the latest question's answer is ever taken.
        assert_eq!(
            reply.request,
            ReadRequest::LatestAt {
                t: Timestamp(50_000),
                max_age_ms: None
            }
        );
        let Ok(ReadAnswer::Latest(rows)) = reply.answer else {
            panic!("{:?}", reply.answer)
        };
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].observation.value, 50.0);
        assert!(r.take(Lane::Picture).is_none(), "an answer is taken once");
        let dropped = r.stats().stale.load(Ordering::Relaxed) + r.stats().superseded.load(Ordering::Relaxed);
        assert_eq!(dropped, 2, "the two earlier questions were superseded or dropped");
    }

    #[test]
    fn a_history_that_will_not_open_answers_with_its_error() {
        let r = HistoryReader::spawn(|| {
            Err(StoreError::Postgres {
                target: "db".into(),
                message: "down".into(),
            })
        })
        .unwrap();
        r.ask(Lane::Other, ReadRequest::Extent);
        let reply = r.wait(Lane::Other, Duration::from_secs(10)).expect("answered");
        assert!(reply.answer.unwrap_err().contains("down"));
        assert!(matches!(r.status(), ReaderStatus::Failed(_)));
    }
}
