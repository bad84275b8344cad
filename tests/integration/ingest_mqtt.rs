//! The headless ingest's MQTT redelivery: QoS 1 messages that the ingest received but had
//! not acknowledged when it went away (its spool full while the database was down) are
//! redelivered by the broker to the restarted ingest (persistent session: clean session
//! off, the same client id), and every published observation ends up in PostgreSQL at
//! least once: the acknowledged ones from the spool, the others from the broker.
//! Needs the shared broker on 127.0.0.1:1883 and `CITYTWIN_PG_URL` (both started by
//! `.ci/run`; their absence fails under `CI`).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use citytwin::twin::feeds::history::History;
use citytwin::twin::feeds::ingest::{IngestConfig, IngestCounters, start_ingest_with};
use citytwin::twin::feeds::mapping::{PayloadSpec, RecordMapping};
use citytwin::twin::feeds::pg::PgHistory;
use citytwin::twin::feeds::spec::{FeedKind, FeedSpec, MqttSpec, PostgresHistorySpec};
use citytwin::twin::feeds::store::StoreError;
use citytwin::twin::feeds::{Metric, Subject, Timestamp};
use citytwin::twin::fixtures;

use crate::common::{pg_url, tmp};

/// The shared test broker.
const BROKER: (&str, u16) = ("127.0.0.1", 1883);
/// Messages published, one observation each (under mosquitto's default queue of 1,000
/// messages for an offline session).
const MESSAGES: usize = 300;
/// Sensors the messages spread over.
const SENSORS: usize = 5;
/// Longest a step of the test waits.
const WAIT: Duration = Duration::from_secs(60);
/// Spool limit of the first run: only its first batch fits (the first batch is always
/// taken), so the rest is held unacknowledged.
const TINY_SPOOL: u64 = 1;
/// Spool limit of the restarted run.
const SPOOL: u64 = 64 << 20;

fn wait_until(what: &str, counters: &IngestCounters, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + WAIT;
    while !f() {
        assert!(
            Instant::now() < end,
            "timed out waiting for {what}: {}",
            counters.line()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A client, the thread driving its connection, and the packets it receives.
type Connected = (
    rumqttc::Client,
    std::thread::JoinHandle<()>,
    crossbeam_channel::Receiver<rumqttc::Packet>,
);

/// An MQTT client on the shared broker with its connection driven on a thread; returns
/// once the broker acknowledged the connection.
fn client(id: &str, clean_session: bool) -> Connected {
    let mut o = rumqttc::MqttOptions::new(id, BROKER.0, BROKER.1);
    o.set_keep_alive(Duration::from_secs(5));
    o.set_clean_session(clean_session);
    let (client, mut conn) = rumqttc::Client::new(o, 10_000);
    let (tx, rx) = crossbeam_channel::unbounded();
    let thread = std::thread::spawn(move || {
        for e in conn.iter() {
            match e {
                Ok(rumqttc::Event::Incoming(p)) => {
                    let _ = tx.send(p);
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    let connected = rx.recv_timeout(WAIT);
    assert!(
        matches!(connected, Ok(rumqttc::Packet::ConnAck(_))),
        "{connected:?}"
    );
    (client, thread, rx)
}

/// Waits for a packet `want` accepts.
fn expect(
    rx: &crossbeam_channel::Receiver<rumqttc::Packet>,
    what: &str,
    mut want: impl FnMut(&rumqttc::Packet) -> bool,
) {
    let end = Instant::now() + WAIT;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(p) if want(&p) => return,
            Ok(_) => {}
            Err(e) => panic!("no {what} from the broker: {e}"),
        }
    }
}

#[test]
fn unacknowledged_mqtt_messages_are_redelivered_to_a_restarted_ingest() {
    let Some(url) = pg_url() else {
        return;
    };
    let broker_up = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], BROKER.1)),
        Duration::from_millis(500),
    )
    .is_ok();
    if !broker_up {
        assert!(
            std::env::var_os("CI").is_none(),
            "no MQTT broker on 127.0.0.1:1883 (.ci/run starts mosquitto)"
        );
        eprintln!("no MQTT broker on 127.0.0.1:1883: skipping");
        return;
    }
    let dir = tmp("ingest-mqtt");
    let scene = fixtures::scene_with_history_in(&dir).unwrap();
    let city = citytwin::twin::load::load_scene(&scene).unwrap().city;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let tag = format!("{}_{nanos}", std::process::id());
    let prefix = format!("citytwin-test/redelivery/{tag}");
    let client_id = format!("citytwin-ingest-redelivery-{tag}");
    let mut mapping = RecordMapping::sensor(Metric::Pm25, "{sensor}", "$.pm25");
    mapping.topic = Some(format!("{prefix}/{{sensor}}"));
    mapping.time = Some("$.t".into());
    let feeds = vec![FeedSpec {
        name: "air".into(),
        kind: FeedKind::Mqtt(MqttSpec {
            host: BROKER.0.into(),
            port: BROKER.1,
            topics: vec![format!("{prefix}/{{sensor}}")],
            username_env: None,
            password_env: None,
            tls: false,
            ca_file: None,
            client_id: Some(client_id.clone()),
            keep_alive_s: 5,
            payload: PayloadSpec::Json(vec![mapping]),
        }),
        stale_after_s: 60.0,
        classification: None,
    }];

    // The ingest's persistent session exists (with its subscription) before anything is
    // published, as it would after the ingest's first run: the broker queues for it.
    {
        let (c, thread, rx) = client(&client_id, false);
        c.subscribe(format!("{prefix}/+"), rumqttc::QoS::AtLeastOnce)
            .unwrap();
        expect(&rx, "SUBACK", |p| matches!(p, rumqttc::Packet::SubAck(_)));
        c.disconnect().unwrap();
        let _ = thread.join();
    }
    // Every message is published (QoS 1, acknowledged by the broker) while no ingest runs.
    let t0 = Timestamp::now().0 - 600_000;
    let published: Vec<(String, i64, f64)> = (0..MESSAGES)
        .map(|i| (format!("s{}", i % SENSORS), t0 + i as i64 * 1_000, i as f64))
        .collect();
    {
        let (c, thread, rx) = client(&format!("citytwin-pub-{tag}"), true);
        for (sensor, t, v) in &published {
            c.publish(
                format!("{prefix}/{sensor}"),
                rumqttc::QoS::AtLeastOnce,
                false,
                format!("{{\"pm25\": {v}, \"t\": {t}}}"),
            )
            .unwrap();
        }
        let mut pubacks = 0;
        expect(&rx, "every PUBACK", |p| {
            pubacks += usize::from(matches!(p, rumqttc::Packet::PubAck(_)));
            pubacks == MESSAGES
        });
        c.disconnect().unwrap();
        let _ = thread.join();
    }

    // 1. The database is down (nothing listens where the history points) and the spool
    //    takes one batch: the ingest acknowledges that batch only, the rest it receives is
    //    held unacknowledged. Then it goes away.
    let state = dir.join("state");
    let schema = format!("redeliver_{tag}");
    let pg = PostgresHistorySpec {
        url: url.clone(),
        password_env: None,
        schema: schema.clone(),
        retention_days: 30.0,
        partition_days: 1.0,
        writer: true,
    };
    let down = PostgresHistorySpec {
        url: "postgres://citytwin@127.0.0.1:1/none".into(),
        ..pg.clone()
    };
    let first = start_ingest_with(
        &feeds,
        &city,
        &scene,
        &IngestConfig {
            state_dir: state.clone(),
            spool_bytes: TINY_SPOOL,
            status_every: None,
            health: None,
        },
        30.0,
        move || PgHistory::open(&down).map(|h| Box::new(h) as Box<dyn History>),
    )
    .unwrap();
    let c1 = first.counters.clone();
    let g = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    wait_until("the spool to fill", &c1, || {
        g(&c1.backpressure) > 0 && g(&c1.db_errors) > 0
    });
    // Nothing more is acknowledged while the spool is full.
    let acked = g(&c1.acked);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(g(&c1.acked), acked, "acknowledged past a full spool");
    assert_eq!(g(&c1.stored), 0, "the database was down");
    let spooled = g(&c1.spooled) as usize;
    // Received and validated, never acknowledged: what the broker must send again.
    let held = g(&c1.accepted) as usize - spooled;
    first.stop();
    assert!(
        acked >= 1 && spooled >= 1 && (acked as usize) < MESSAGES,
        "{acked} messages acknowledged, {spooled} observations spooled of {MESSAGES}"
    );
    assert!(held >= 1, "the first run held no message unacknowledged");

    // 2. Restarted with the database up: the spool's acknowledged observations are written,
    //    and the broker redelivers every message never acknowledged.
    let second = {
        let pg = pg.clone();
        start_ingest_with(
            &feeds,
            &city,
            &scene,
            &IngestConfig {
                state_dir: state.clone(),
                spool_bytes: SPOOL,
                status_every: None,
                health: None,
            },
            30.0,
            move || PgHistory::open(&pg).map(|h| Box::new(h) as Box<dyn History>),
        )
        .unwrap()
    };
    let c2 = second.counters.clone();
    let reader = PgHistory::open(&pg).unwrap();
    let (from, to) = (Timestamp(t0 - 1), Timestamp(t0 + MESSAGES as i64 * 1_000));
    wait_until("every message in the database", &c2, || {
        reader.count().is_ok_and(|n| n >= MESSAGES as u64)
    });
    // Every message the second run received is acknowledged and the spool is written out.
    wait_until("the spool written out", &c2, || {
        g(&c2.spool_backlog) == 0 && g(&c2.stored) == g(&c2.spooled) + spooled as u64
    });
    second.stop();
    let redelivered = g(&c2.acked);
    let rows = reader.range(from, to).unwrap();
    let mut seen: HashMap<(String, i64), (f64, usize)> = HashMap::new();
    for o in &rows {
        let Subject::Sensor(s) = &o.subject else {
            panic!("{o:?}")
        };
        let e = seen.entry((s.clone(), o.time.0)).or_insert((o.value, 0));
        assert_eq!(e.0, o.value, "two values for {s} at {:?}", o.time);
        e.1 += 1;
    }
    let missing: Vec<&(String, i64, f64)> = published
        .iter()
        .filter(|(s, t, v)| seen.get(&(s.clone(), *t)).is_none_or(|(w, _)| w != v))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {MESSAGES} published observations are not in the database, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    assert_eq!(seen.len(), MESSAGES, "observations nobody published");
    let duplicates = rows.len() - MESSAGES;
    // The broker redelivered what the first run left unacknowledged: at least the rest.
    assert!(
        redelivered as usize + acked as usize >= MESSAGES,
        "{acked} acknowledged by the first run, {redelivered} by the second, of {MESSAGES}"
    );
    println!(
        "redelivery: {MESSAGES} published; first run acknowledged {acked} ({spooled} observations spooled) with the database down and held {held} received unacknowledged; the restarted run received {redelivered} (redelivered and queued); {} rows in PostgreSQL, {duplicates} duplicates (delivery is at least once)",
        rows.len()
    );
    // Tidy: the session (clean session ends it) and the schema.
    {
        let (c, thread, _rx) = client(&client_id, true);
        c.disconnect().unwrap();
        let _ = thread.join();
    }
    drop(reader);
    let _ = PgHistory::open(&pg).map(PgHistory::drop_schema);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The error of a database that is down names it (the first run above relies on the
/// opener failing rather than hanging).
#[test]
fn a_history_nobody_serves_fails_to_open_at_once() {
    let start = Instant::now();
    let e = PgHistory::open(&PostgresHistorySpec {
        url: "postgres://citytwin@127.0.0.1:1/none".into(),
        password_env: None,
        schema: "x".into(),
        retention_days: 1.0,
        partition_days: 1.0,
        writer: true,
    })
    .unwrap_err();
    assert!(matches!(e, StoreError::Postgres { .. }), "{e}");
    assert!(start.elapsed() < Duration::from_secs(10));
}
