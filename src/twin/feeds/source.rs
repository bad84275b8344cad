//! The `FeedSource` trait every live source implements, the bounded channel that carries
//! their messages to the app (overflow counted per source, the producer never blocks), the
//! stop flag, and the thread handle that starts and stops a source.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::twin::feeds::health::ErrorKind;
use crate::twin::feeds::observation::{Observation, SourceId, Timestamp};

/// Default capacity of the feed channel, in messages (a message may be a batch).
pub const DEFAULT_FEED_CAPACITY: usize = 65_536;
/// How long a stop-aware sleep naps between looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(20);
/// Longest bad sample kept in an error event, in characters.
pub const MAX_SAMPLE_CHARS: usize = 300;

/// What happened to a source, besides observations.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedEvent {
    /// The source is connected (or, for local sources, running).
    Connected,
    /// The connection was lost or refused; the source retries after `retry_in`.
    Reconnecting {
        /// Why it was lost.
        reason: String,
        /// Wait before the next try.
        retry_in: Duration,
    },
    /// A message the source could not turn into observations.
    Error {
        /// Kind of fault.
        kind: ErrorKind,
        /// What was wrong.
        message: String,
        /// The offending input, cut to [`MAX_SAMPLE_CHARS`].
        sample: String,
    },
    /// The source ended (stop requested, or a finite replay ran out).
    Stopped,
    /// The source's own clock now reads this time: a simulator's simulated time, a
    /// replay's position in its recording. Observations of a source that reports a clock
    /// are validated against it rather than against the wall clock (an accelerated
    /// simulator runs ahead of the wall clock, a replay of last year behind it). Real
    /// sources (MQTT) never send it and are checked against the wall clock.
    Clock(Timestamp),
}

/// A promise to acknowledge a message to its sender (an MQTT PUBACK) once what it carried
/// is durable; the receiver calls [`Ack::send`] after that, never before.
#[derive(Clone)]
pub struct Ack(Arc<dyn Fn() + Send + Sync>);

impl Ack {
    /// An acknowledgement that runs `f` when sent.
    pub fn new(f: impl Fn() + Send + Sync + 'static) -> Ack {
        Ack(Arc::new(f))
    }

    /// Acknowledges the message.
    pub fn send(&self) {
        (self.0)();
    }
}

impl std::fmt::Debug for Ack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ack")
    }
}

impl PartialEq for Ack {
    fn eq(&self, other: &Ack) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// One message on the feed channel.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedMessage {
    /// Observations whose sender waits for an acknowledgement once they are durable (a
    /// headless ingest's MQTT messages); a drain that accepts them keeps the [`Ack`] for its
    /// caller ([`crate::twin::feeds::live::LiveState::take_acks`]).
    Acked {
        /// The observations (possibly none: a message that held only bad input).
        batch: Vec<Observation>,
        /// Sent once they are durable.
        ack: Ack,
    },
    /// A single observation.
    Observation(Observation),
    /// Several observations sent at once (cheaper per observation).
    Batch(Vec<Observation>),
    /// A health event of a source.
    Event {
        /// The source it concerns.
        source: SourceId,
        /// Wall-clock time of the event.
        at: Timestamp,
        /// What happened.
        event: FeedEvent,
    },
}

/// Per-source counters of messages the channel could not take.
type DropTable = Arc<Mutex<BTreeMap<SourceId, Arc<AtomicU64>>>>;

/// The receiving end of the feed channel, with the drop counters of every sender made for it.
#[derive(Debug, Clone)]
pub struct FeedReceiver {
    rx: Receiver<FeedMessage>,
    drops: DropTable,
}

impl FeedReceiver {
    /// The crossbeam receiver.
    pub fn receiver(&self) -> &Receiver<FeedMessage> {
        &self.rx
    }

    /// Observations (and events) each source could not send because the channel was full.
    pub fn dropped(&self) -> BTreeMap<SourceId, u64> {
        let table = self.drops.lock().unwrap_or_else(|p| p.into_inner());
        table
            .iter()
            .map(|(k, v)| (k.clone(), v.load(Ordering::Relaxed)))
            .collect()
    }
}

/// Makes [`FeedSender`]s for one feed channel.
#[derive(Debug, Clone)]
pub struct FeedChannel {
    tx: Sender<FeedMessage>,
    drops: DropTable,
}

/// A bounded feed channel of `capacity` messages: the sender factory and the receiver.
pub fn feed_channel(capacity: usize) -> (FeedChannel, FeedReceiver) {
    let (tx, rx) = crossbeam_channel::bounded(capacity.max(1));
    let drops: DropTable = Arc::default();
    (
        FeedChannel {
            tx,
            drops: drops.clone(),
        },
        FeedReceiver { rx, drops },
    )
}

impl FeedChannel {
    /// A sender for one source; its overflow is counted under the source's name.
    pub fn sender(&self, source: &SourceId) -> FeedSender {
        let mut table = self.drops.lock().unwrap_or_else(|p| p.into_inner());
        let dropped = table.entry(source.clone()).or_default().clone();
        FeedSender {
            tx: self.tx.clone(),
            source: source.clone(),
            dropped,
        }
    }
}

/// A source's end of the feed channel: never blocks; what does not fit is counted.
#[derive(Debug, Clone)]
pub struct FeedSender {
    tx: Sender<FeedMessage>,
    source: SourceId,
    dropped: Arc<AtomicU64>,
}

impl FeedSender {
    /// The source this sender speaks for.
    pub fn source(&self) -> &SourceId {
        &self.source
    }

    /// Observations and events lost so far because the channel was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Sends one observation; false (and counted) when the channel is full.
    pub fn observation(&self, o: Observation) -> bool {
        self.try_send(FeedMessage::Observation(o), 1)
    }

    /// Sends a batch; false (and every observation in it counted) when the channel is full.
    pub fn batch(&self, batch: Vec<Observation>) -> bool {
        if batch.is_empty() {
            return true;
        }
        let n = batch.len() as u64;
        self.try_send(FeedMessage::Batch(batch), n)
    }

    /// Sends observations that wait for an acknowledgement; on a full channel the message
    /// comes back (nothing is counted as lost: the sender keeps it and tries again).
    pub fn acked(&self, batch: Vec<Observation>, ack: Ack) -> Result<(), (Vec<Observation>, Ack)> {
        match self.tx.try_send(FeedMessage::Acked { batch, ack }) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(FeedMessage::Acked { batch, ack }))
            | Err(TrySendError::Disconnected(FeedMessage::Acked { batch, ack })) => Err((batch, ack)),
            Err(_) => Ok(()),
        }
    }

    /// Sends a health event; false (and counted) when the channel is full.
    pub fn event(&self, event: FeedEvent) -> bool {
        let msg = FeedMessage::Event {
            source: self.source.clone(),
            at: Timestamp::now(),
            event,
        };
        self.try_send(msg, 1)
    }

    /// Sends an error event with the offending input, cut to [`MAX_SAMPLE_CHARS`].
    pub fn error(&self, kind: ErrorKind, message: impl Into<String>, sample: &str) -> bool {
        self.event(FeedEvent::Error {
            kind,
            message: message.into(),
            sample: cut_sample(sample),
        })
    }

    fn try_send(&self, msg: FeedMessage, weight: u64) -> bool {
        match self.tx.try_send(msg) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(weight, Ordering::Relaxed);
                false
            }
        }
    }
}

/// Cuts an input sample to [`MAX_SAMPLE_CHARS`] characters.
pub fn cut_sample(s: &str) -> String {
    match s.char_indices().nth(MAX_SAMPLE_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// A shared flag that asks a source thread to end.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// A flag not yet set.
    pub fn new() -> StopFlag {
        StopFlag::default()
    }

    /// Asks the source to stop.
    pub fn stop(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether a stop was asked.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Sleeps `d` unless a stop is asked first; true when the whole sleep ran.
    pub fn sleep(&self, d: Duration) -> bool {
        let end = Instant::now() + d;
        loop {
            if self.is_set() {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            std::thread::sleep((end - now).min(STOP_POLL));
        }
    }
}

/// A live source: runs on its own thread until stopped, sending through a [`FeedSender`].
pub trait FeedSource: Send + 'static {
    /// The source's name.
    fn id(&self) -> SourceId;
    /// Runs until `stop` is set (or the source has nothing more to send); sends
    /// [`FeedEvent::Connected`] when it starts delivering and [`FeedEvent::Stopped`] at the end.
    fn run(self: Box<Self>, tx: FeedSender, stop: StopFlag);
}

/// A running source thread.
#[derive(Debug)]
pub struct SourceHandle {
    id: SourceId,
    stop: StopFlag,
    thread: Option<JoinHandle<()>>,
}

/// Starts a source on its own thread, sending through a sender of `channel`.
pub fn spawn(source: Box<dyn FeedSource>, channel: &FeedChannel) -> std::io::Result<SourceHandle> {
    let id = source.id();
    let tx = channel.sender(&id);
    let stop = StopFlag::new();
    let thread_stop = stop.clone();
    let thread = std::thread::Builder::new()
        .name(format!("feed-{id}"))
        .spawn(move || source.run(tx, thread_stop))?;
    Ok(SourceHandle {
        id,
        stop,
        thread: Some(thread),
    })
}

impl SourceHandle {
    /// The source's name.
    pub fn id(&self) -> &SourceId {
        &self.id
    }

    /// Asks the source to stop (returns at once).
    pub fn stop(&self) {
        self.stop.stop();
    }

    /// Whether the thread has ended.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Stops the source and waits for its thread; false when the thread panicked.
    pub fn join(mut self) -> bool {
        self.stop();
        self.thread.take().is_none_or(|t| t.join().is_ok())
    }
}

impl Drop for SourceHandle {
    fn drop(&mut self) {
        self.stop.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::feeds::observation::{Metric, Subject};

    fn obs(source: &SourceId, v: f64) -> Observation {
        Observation::new(source, Subject::City, Metric::Noise, v, Timestamp(0))
    }

    #[test]
    fn overflow_is_counted_per_source_and_never_blocks() {
        let (ch, rx) = feed_channel(3);
        let a = ch.sender(&SourceId("a".into()));
        let b = ch.sender(&SourceId("b".into()));
        assert!(a.observation(obs(a.source(), 1.0)));
        assert!(a.batch(vec![obs(a.source(), 2.0), obs(a.source(), 3.0)]));
        assert!(b.observation(obs(b.source(), 4.0)));
        // Full now: these return at once and are counted.
        assert!(!a.batch(vec![obs(a.source(), 5.0); 4]));
        assert!(!b.observation(obs(b.source(), 6.0)));
        assert!(!b.event(FeedEvent::Connected));
        let d = rx.dropped();
        assert_eq!(d[&SourceId("a".into())], 4);
        assert_eq!(d[&SourceId("b".into())], 2);
        assert_eq!(rx.receiver().len(), 3);
    }

    #[test]
    fn samples_are_cut() {
        let long = "é".repeat(MAX_SAMPLE_CHARS + 10);
        let cut = cut_sample(&long);
        assert_eq!(cut.chars().count(), MAX_SAMPLE_CHARS + 1);
        assert_eq!(cut_sample("short"), "short");
    }

    struct Counter;
    impl FeedSource for Counter {
        fn id(&self) -> SourceId {
            SourceId("counter".into())
        }
        fn run(self: Box<Self>, tx: FeedSender, stop: StopFlag) {
            tx.event(FeedEvent::Connected);
            let mut i = 0.0;
            while stop.sleep(Duration::from_millis(1)) {
                tx.observation(obs(tx.source(), i));
                i += 1.0;
            }
            tx.event(FeedEvent::Stopped);
        }
    }

    #[test]
    fn spawned_source_stops_on_request() {
        let (ch, rx) = feed_channel(10_000);
        let h = spawn(Box::new(Counter), &ch).unwrap();
        std::thread::sleep(Duration::from_millis(30));
        assert!(h.join());
        let msgs: Vec<FeedMessage> = rx.receiver().try_iter().collect();
        assert!(matches!(
            msgs.first(),
            Some(FeedMessage::Event {
                event: FeedEvent::Connected,
                ..
            })
        ));
        assert!(matches!(
            msgs.last(),
            Some(FeedMessage::Event {
                event: FeedEvent::Stopped,
                ..
            })
        ));
        assert!(msgs.len() > 3, "{}", msgs.len());
    }
}
