//! MQTT source (rumqttc, on its own thread): subscribes to the scene's topics, decodes
//! payloads through the feed's mapping (plain JSON or OGC SensorThings), reads credentials
//! from environment variables named in the scene, connects with TLS (rustls with the ring
//! provider) when asked, and reconnects with exponential backoff after the broker goes away.
//!
//! In *durable* mode ([`MqttSource::durable`], the headless ingest) the session is
//! persistent (clean session off, a stable client id) and acknowledgements are manual: the
//! PUBACK of a QoS 1 message goes out only when the receiver calls its [`Ack`], after the
//! observations it carried are durable. A message the receiver cannot take yet is held (not
//! acknowledged), so the broker stops sending once its in-flight window is full
//! (backpressure) and redelivers what was never acknowledged after a reconnect.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{Client, Event, MqttOptions, Packet, QoS, RecvTimeoutError, Transport};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::twin::feeds::health::ErrorKind;
use crate::twin::feeds::mapping::{PayloadDecoder, subscription_filter};
use crate::twin::feeds::observation::{SourceId, Timestamp};
use crate::twin::feeds::source::{Ack, FeedEvent, FeedSender, FeedSource, StopFlag};
use crate::twin::feeds::spec::MqttSpec;

/// First wait before reconnecting.
pub const BACKOFF_INITIAL: Duration = Duration::from_millis(250);
/// Longest wait before reconnecting.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How long one poll of the connection waits before looking at the stop flag.
const POLL: Duration = Duration::from_millis(100);
/// Capacity of rumqttc's request queue.
const REQUEST_CAP: usize = 1_024;
/// Largest MQTT packet accepted, bytes.
const MAX_PACKET: usize = 1 << 20;
/// CA bundle used for TLS when the scene names none (Debian's path).
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Exponential backoff with a cap.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Backoff from `initial`, doubling up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max,
            next: initial,
        }
    }

    /// The wait to use now; the next one doubles.
    pub fn next_wait(&mut self) -> Duration {
        let w = self.next;
        self.next = (self.next * 2).min(self.max);
        w
    }

    /// Back to the first wait (after a successful connection).
    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

/// Credentials from the environment variables the spec names: `Ok(None)` without a user
/// variable, an error naming a variable that is not set.
pub fn credentials(spec: &MqttSpec) -> Result<Option<(String, String)>, String> {
    let Some(user_var) = &spec.username_env else {
        return Ok(None);
    };
    let user = std::env::var(user_var).map_err(|_| format!("environment variable {user_var} is not set"))?;
    let password = match &spec.password_env {
        Some(v) => std::env::var(v).map_err(|_| format!("environment variable {v} is not set"))?,
        None => String::new(),
    };
    Ok(Some((user, password)))
}

/// A rustls client configuration with the ring provider and the CA certificates of
/// `ca_file` (or [`SYSTEM_CA_BUNDLE`]).
pub fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    let path = ca_file.map_or_else(|| PathBuf::from(SYSTEM_CA_BUNDLE), Path::to_path_buf);
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    for c in certs {
        let c = c.map_err(|e| format!("{}: {e}", path.display()))?;
        roots
            .add(c)
            .map_err(|e| format!("{}: bad certificate: {e}", path.display()))?;
    }
    if roots.is_empty() {
        return Err(format!("{}: no CA certificate", path.display()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// An MQTT subscription as a feed source.
#[derive(Debug)]
pub struct MqttSource {
    source: SourceId,
    spec: MqttSpec,
    base: PathBuf,
    decoder: PayloadDecoder,
    backoff: Backoff,
    /// Manual acknowledgements on a persistent session.
    durable: bool,
}

impl MqttSource {
    /// A source for a spec; `base` is the scene's folder (for `ca_file`).
    pub fn new(spec: MqttSpec, base: &Path, source: SourceId) -> MqttSource {
        MqttSource {
            decoder: PayloadDecoder::new(spec.payload.clone(), source.clone()),
            source,
            spec,
            base: base.to_path_buf(),
            backoff: Backoff::new(BACKOFF_INITIAL, BACKOFF_MAX),
            durable: false,
        }
    }

    /// Durable mode: a persistent session and manual acknowledgements (see the module
    /// documentation). The scene's `client_id` should be set, so that a restarted ingest
    /// resumes the same session; without it the id is made from the source name only.
    pub fn durable(mut self) -> MqttSource {
        self.durable = true;
        self
    }

    /// Sets the backoff (tests use short waits).
    pub fn with_backoff(mut self, backoff: Backoff) -> MqttSource {
        self.backoff = backoff;
        self
    }

    fn options(&self, tx: &FeedSender) -> Option<MqttOptions> {
        let id = self.spec.client_id.clone().unwrap_or_else(|| {
            if self.durable {
                format!("citytwin-ingest-{}", self.source)
            } else {
                format!("citytwin-{}-{}", self.source, std::process::id())
            }
        });
        let mut o = MqttOptions::new(id, self.spec.host.clone(), self.spec.port);
        o.set_keep_alive(Duration::from_secs(self.spec.keep_alive_s.max(1)));
        o.set_clean_session(!self.durable);
        o.set_manual_acks(self.durable);
        o.set_max_packet_size(MAX_PACKET, MAX_PACKET);
        match credentials(&self.spec) {
            Ok(Some((u, p))) => {
                o.set_credentials(u, p);
            }
            Ok(None) => {}
            Err(e) => {
                tx.error(
                    ErrorKind::Connection,
                    format!("credentials: {e}; connecting without"),
                    "",
                );
            }
        }
        if self.spec.tls {
            let ca = self.spec.ca_file.as_ref().map(|p| self.base.join(p));
            match tls_config(ca.as_deref()) {
                Ok(c) => {
                    o.set_transport(Transport::tls_with_config(c.into()));
                }
                Err(e) => {
                    // Never fall back to plain text when TLS was asked for.
                    tx.error(ErrorKind::Connection, format!("TLS set-up failed: {e}"), "");
                    return None;
                }
            }
        }
        Some(o)
    }
}

impl FeedSource for MqttSource {
    fn id(&self) -> SourceId {
        self.source.clone()
    }

    fn run(mut self: Box<Self>, tx: FeedSender, stop: StopFlag) {
        let Some(options) = self.options(&tx) else {
            tx.event(FeedEvent::Stopped);
            return;
        };
        let filters: Vec<String> = self.spec.topics.iter().map(|t| subscription_filter(t)).collect();
        let (client, mut conn) = Client::new(options, REQUEST_CAP);
        // Durable mode: messages the receiver could not take yet, oldest first.
        let mut held: VecDeque<(Vec<crate::twin::feeds::Observation>, Ack)> = VecDeque::new();
        while !stop.is_set() {
            while let Some((batch, ack)) = held.pop_front() {
                if let Err(back) = tx.acked(batch, ack) {
                    held.push_front(back);
                    break;
                }
            }
            match conn.recv_timeout(POLL) {
                Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
                    for f in &filters {
                        if let Err(e) = client.try_subscribe(f.clone(), QoS::AtLeastOnce) {
                            tx.error(ErrorKind::Connection, format!("subscribe {f}: {e}"), f);
                        }
                    }
                }
                Ok(Ok(Event::Incoming(Packet::SubAck(_)))) => {
                    self.backoff.reset();
                    tx.event(FeedEvent::Connected);
                }
                Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                    let decoded = self.decoder.decode(&p.topic, &p.payload, Timestamp::now());
                    if !decoded.errors.is_empty() {
                        let sample = String::from_utf8_lossy(&p.payload);
                        for e in decoded.errors {
                            tx.error(e.kind, format!("{}: {}", p.topic, e.message), &sample);
                        }
                    }
                    if self.durable {
                        let (c, publish) = (client.clone(), p.clone());
                        let ack = Ack::new(move || {
                            let _ = c.ack(&publish);
                        });
                        if held.is_empty() {
                            if let Err(back) = tx.acked(decoded.observations, ack) {
                                held.push_back(back);
                            }
                        } else {
                            held.push_back((decoded.observations, ack));
                        }
                    } else {
                        tx.batch(decoded.observations);
                    }
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    let wait = self.backoff.next_wait();
                    tx.event(FeedEvent::Reconnecting {
                        reason: e.to_string(),
                        retry_in: wait,
                    });
                    if !stop.sleep(wait) {
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        let _ = client.try_disconnect();
        tx.event(FeedEvent::Stopped);
    }
}

/// Test helpers for MQTT: a broker check that fails under CI, a private broker process.
#[cfg(test)]
pub(crate) mod testing {
    use std::net::{TcpListener, TcpStream};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    /// Port of the shared test broker.
    pub const TEST_BROKER: (&str, u16) = ("127.0.0.1", 1883);

    /// Whether something listens on a port of 127.0.0.1.
    pub fn listening(port: u16) -> bool {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
    }

    /// True when the shared broker is up; panics under CI when it is not.
    pub fn shared_broker() -> bool {
        if listening(TEST_BROKER.1) {
            return true;
        }
        if std::env::var_os("CI").is_some() {
            panic!("no MQTT broker on 127.0.0.1:1883 (.ci/run starts mosquitto)");
        }
        eprintln!("no MQTT broker on 127.0.0.1:1883: skipping (start mosquitto to run this test)");
        false
    }

    /// A free TCP port on 127.0.0.1.
    pub fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port")
    }

    /// A mosquitto process of the test's own on a port.
    pub struct Broker {
        child: Child,
    }

    impl Broker {
        /// Starts mosquitto on `port`; `None` (or a panic under CI) without the binary.
        pub fn start(port: u16) -> Option<Broker> {
            let child = Command::new("mosquitto")
                .args(["-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let child = match child {
                Ok(c) => c,
                Err(e) => {
                    if std::env::var_os("CI").is_some() {
                        panic!("cannot run mosquitto: {e}");
                    }
                    eprintln!("cannot run mosquitto ({e}): skipping");
                    return None;
                }
            };
            let end = Instant::now() + Duration::from_secs(5);
            while !listening(port) {
                assert!(Instant::now() < end, "mosquitto did not listen on {port}");
                std::thread::sleep(Duration::from_millis(20));
            }
            Some(Broker { child })
        }
    }

    impl Drop for Broker {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// A publisher with its connection driven on a thread.
    pub struct Publisher {
        /// The client.
        pub client: rumqttc::Client,
        _thread: std::thread::JoinHandle<()>,
    }

    impl Publisher {
        /// Connects to 127.0.0.1:`port`.
        pub fn connect(port: u16, id: &str) -> Publisher {
            let mut o = rumqttc::MqttOptions::new(id, "127.0.0.1", port);
            o.set_keep_alive(Duration::from_secs(5));
            o.set_max_packet_size(1 << 20, 1 << 20);
            let (client, mut conn) = rumqttc::Client::new(o, 100_000);
            let thread = std::thread::spawn(move || {
                for e in conn.iter() {
                    if e.is_err() {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            });
            Publisher {
                client,
                _thread: thread,
            }
        }

        /// Publishes a payload with QoS 1.
        pub fn publish(&self, topic: &str, payload: impl Into<Vec<u8>>) {
            self.client
                .publish(topic, rumqttc::QoS::AtLeastOnce, false, payload.into())
                .expect("publish queued");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::twin::feeds::health::LinkState;
    use crate::twin::feeds::key::SubjectKey;
    use crate::twin::feeds::live::{LiveState, StoreWriter, WriterConfig};
    use crate::twin::feeds::mapping::{PayloadSpec, RecordMapping};
    use crate::twin::feeds::observation::Metric;
    use crate::twin::feeds::source::{feed_channel, spawn};
    use crate::twin::feeds::store::Store;
    use crate::twin::feeds::validate::Validator;
    use std::time::Instant;

    #[test]
    fn backoff_doubles_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        let waits: Vec<u128> = (0..4).map(|_| b.next_wait().as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 350, 350]);
        b.reset();
        assert_eq!(b.next_wait(), Duration::from_millis(100));
    }

    fn spec(port: u16, prefix: &str) -> MqttSpec {
        let mut m = RecordMapping::sensor(Metric::Pm25, "{sensor}", "$.pm25");
        m.topic = Some(format!("{prefix}/{{sensor}}"));
        m.time = Some("$.t".into());
        MqttSpec {
            host: "127.0.0.1".into(),
            port,
            topics: vec![format!("{prefix}/{{sensor}}")],
            username_env: None,
            password_env: None,
            tls: false,
            ca_file: None,
            client_id: None,
            keep_alive_s: 5,
            payload: PayloadSpec::Json(vec![m]),
        }
    }

    #[test]
    fn credentials_come_from_the_environment_only() {
        let mut s = spec(1, "x");
        assert_eq!(credentials(&s), Ok(None));
        s.username_env = Some("CITYTWIN_TEST_SURELY_UNSET_VAR".into());
        assert!(
            credentials(&s)
                .unwrap_err()
                .contains("CITYTWIN_TEST_SURELY_UNSET_VAR")
        );
        s.username_env = Some("PATH".into());
        assert_eq!(credentials(&s).unwrap().map(|c| c.1), Some(String::new()));
    }

    #[test]
    fn tls_config_uses_ring_and_the_ca_file() {
        let missing = tls_config(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(missing.contains("/nonexistent/ca.pem"), "{missing}");
        if Path::new(SYSTEM_CA_BUNDLE).exists() {
            let c = tls_config(None).unwrap();
            assert!(!c.crypto_provider().cipher_suites.is_empty());
        }
    }

    /// Drains until `done` holds or the timeout passes; true when it held.
    fn drain_until(
        live: &mut LiveState,
        rx: &crate::twin::feeds::source::FeedReceiver,
        timeout: Duration,
        mut done: impl FnMut(&LiveState) -> bool,
    ) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            live.drain(rx, Duration::from_millis(50), Timestamp::now());
            if done(live) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    fn unique(tag: &str) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        format!("citytwin-test/{tag}/{}-{nanos}", std::process::id())
    }

    #[test]
    fn n_published_n_in_state_and_store_bad_ones_counted() {
        if !shared_broker() {
            return;
        }
        let prefix = unique("n");
        let name = SourceId("air".into());
        let (ch, rx) = feed_channel(100_000);
        let writer = StoreWriter::spawn(Store::in_memory().unwrap(), WriterConfig::default()).unwrap();
        let mut live = LiveState::new(Validator::permissive(), Some(writer));
        live.register(&name, 30.0);
        let h = spawn(
            Box::new(MqttSource::new(
                spec(TEST_BROKER.1, &prefix),
                Path::new("."),
                name.clone(),
            )),
            &ch,
        )
        .unwrap();
        assert!(drain_until(&mut live, &rx, Duration::from_secs(10), |l| l.health
            [&name]
            .link
            == LinkState::Connected));
        let publisher = Publisher::connect(TEST_BROKER.1, &format!("pub-{}", std::process::id()));
        const N: usize = 2_000;
        let t0 = Timestamp::now().0;
        for i in 0..N {
            publisher.publish(
                &format!("{prefix}/s{}", i % 10),
                format!("{{\"pm25\": {}, \"t\": {}}}", i % 100, t0 + i as i64),
            );
        }
        publisher.publish(&format!("{prefix}/s1"), "{not json");
        publisher.publish(&format!("{prefix}/s1"), "{\"pm25\": \"high\", \"t\": 1}");
        publisher.publish(&format!("{prefix}/s1"), "{\"pm25\": 5}");
        let ok = drain_until(&mut live, &rx, Duration::from_secs(20), |l| {
            let hh = &l.health[&name];
            hh.accepted >= N as u64 && hh.error_total() >= 3
        });
        let hh = live.health[&name].clone();
        assert!(ok, "accepted {} errors {:?}", hh.accepted, hh.errors);
        assert_eq!(hh.accepted, N as u64);
        assert_eq!(hh.errors[&ErrorKind::Malformed], 1);
        assert_eq!(hh.errors[&ErrorKind::WrongType], 1);
        assert_eq!(hh.errors[&ErrorKind::MissingField], 1);
        assert_eq!(live.picture.len(), 10);
        let last = live
            .picture
            .get(&SubjectKey::Sensor("s9".into()), Metric::Pm25)
            .unwrap();
        assert_eq!(last.value, ((N - 1) % 100) as f64);
        h.join();
        let w = live.take_writer().unwrap();
        assert!(w.wait_stored(N as u64, Duration::from_secs(10)));
        assert_eq!(w.close().unwrap().count().unwrap(), N as u64);
    }

    #[test]
    fn reconnects_after_broker_restart_and_goes_stale_between() {
        let port = free_port();
        let Some(broker) = Broker::start(port) else {
            return;
        };
        let prefix = unique("restart");
        let name = SourceId("air".into());
        let (ch, rx) = feed_channel(10_000);
        let mut live = LiveState::new(Validator::permissive(), None);
        live.register(&name, 0.5);
        let src = MqttSource::new(spec(port, &prefix), Path::new("."), name.clone()).with_backoff(
            Backoff::new(Duration::from_millis(100), Duration::from_millis(400)),
        );
        let h = spawn(Box::new(src), &ch).unwrap();
        assert!(drain_until(&mut live, &rx, Duration::from_secs(10), |l| l.health
            [&name]
            .link
            == LinkState::Connected));
        let p = Publisher::connect(port, "pub-restart-1");
        for i in 0..5 {
            p.publish(
                &format!("{prefix}/a"),
                format!("{{\"pm25\": {i}, \"t\": {}}}", Timestamp::now().0),
            );
        }
        assert!(drain_until(&mut live, &rx, Duration::from_secs(10), |l| l.health
            [&name]
            .accepted
            == 5));
        drop(p);
        drop(broker);
        let mut saw_stale = false;
        let went_down = drain_until(&mut live, &rx, Duration::from_secs(10), |l| {
            saw_stale |= l.health[&name].state(Timestamp::now()) == LinkState::Stale
                || l.health[&name].is_stale(Timestamp::now());
            l.health[&name].link == LinkState::Reconnecting && saw_stale
        });
        assert!(went_down, "{:?}", live.health[&name]);
        let _broker = Broker::start(port).expect("mosquitto restarts");
        assert!(drain_until(&mut live, &rx, Duration::from_secs(15), |l| l.health
            [&name]
            .link
            == LinkState::Connected));
        let p = Publisher::connect(port, "pub-restart-2");
        for i in 0..5 {
            p.publish(
                &format!("{prefix}/b"),
                format!("{{\"pm25\": {i}, \"t\": {}}}", Timestamp::now().0),
            );
        }
        assert!(drain_until(&mut live, &rx, Duration::from_secs(10), |l| l.health
            [&name]
            .accepted
            == 10));
        let hh = &live.health[&name];
        assert!(hh.reconnects >= 1 && hh.stale_episodes >= 1, "{hh:?}");
        assert!(
            live.picture
                .get(&SubjectKey::Sensor("b".into()), Metric::Pm25)
                .is_some()
        );
        h.join();
    }
}
