//! A control room on one PostgreSQL database (`CITYTWIN_PG_URL`, started by `.ci/run`;
//! its absence fails under `CI`): the headless ingest writes the default scene's simulated
//! feeds into it, and two seats reading it at the same instant, at the same time, see the
//! same indicator values, as does a read-only seat logged in as a role that may only read.

use std::time::{Duration, Instant};

use citytwin::twin::feeds::ingest::{DEFAULT_SPOOL_BYTES, IngestConfig, start_ingest};
use citytwin::twin::feeds::pg::PgHistory;
use citytwin::twin::feeds::reader::{HistoryReader, Lane, ReadAnswer, ReadRequest};
use citytwin::twin::feeds::spec::PostgresHistorySpec;
use citytwin::twin::fixtures;
use citytwin::twin::indicators::report::report_for_scene_from_history;

use crate::common::{pg_url, tmp};

/// Longest the ingest may take to store its first observations.
const WAIT: Duration = Duration::from_secs(60);

/// Equal JSON, numbers equal to 1e-9 relative (a mean summed in another order may differ
/// in its last bits).
fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// A login role of the test's own with only `USAGE` on a schema and `SELECT` on its
/// tables, its sessions read-only by default; made through the test role (CREATEROLE,
/// granted by `scripts/pg-test-db.sh`) and dropped after.
struct SelectOnlyRole {
    admin: postgres::Client,
    name: String,
    schema: String,
    /// The database's URL with the role's user and password.
    url: String,
}

impl SelectOnlyRole {
    /// `None` (a skip) when the test role may not make roles; a panic then under CI.
    fn new(url: &str, schema: &str) -> Option<SelectOnlyRole> {
        let mut admin = postgres::Client::connect(url, postgres::NoTls).unwrap();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let name = format!("ct_seat_{}_{nanos}", std::process::id());
        let password = format!("seat{nanos}");
        if let Err(e) = admin.batch_execute(&format!("CREATE ROLE {name} LOGIN PASSWORD '{password}'")) {
            let why =
                format!("the test role cannot make roles ({e}): scripts/pg-test-db.sh grants CREATEROLE");
            assert!(std::env::var_os("CI").is_none(), "{why}");
            eprintln!("{why}: skipping the read-only seat");
            return None;
        }
        let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
        let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
        let mut role = SelectOnlyRole {
            admin,
            url: format!("{scheme}://{name}:{password}@{host}"),
            name,
            schema: schema.to_string(),
        };
        let (n, s) = (role.name.clone(), role.schema.clone());
        role.admin
            .batch_execute(&format!(
                "GRANT USAGE ON SCHEMA \"{s}\" TO {n};
                 GRANT SELECT ON ALL TABLES IN SCHEMA \"{s}\" TO {n};
                 ALTER ROLE {n} SET default_transaction_read_only = on"
            ))
            .unwrap();
        Some(role)
    }
}

impl Drop for SelectOnlyRole {
    fn drop(&mut self) {
        let (n, s) = (&self.name, &self.schema);
        let _ = self.admin.batch_execute(&format!(
            "REVOKE ALL ON ALL TABLES IN SCHEMA \"{s}\" FROM {n}; REVOKE ALL ON SCHEMA \"{s}\" FROM {n}"
        ));
        let _ = self.admin.batch_execute(&format!("DROP ROLE IF EXISTS {n}"));
    }
}

#[test]
fn two_seats_on_one_database_see_the_same_indicators() {
    let Some(url) = pg_url() else {
        return;
    };
    let dir = tmp("control-room");
    let scene = fixtures::scene_with_history_in(&dir).unwrap();
    let schema = format!("cr_{}", std::process::id());
    let text = std::fs::read_to_string(&scene).unwrap();
    let sqlite = format!(
        "history: Some((path: \"{}\", retention_days: 3.0))",
        fixtures::HISTORY_FILE
    );
    assert!(text.contains(&sqlite), "the default scene's history line changed");
    let text = text.replace(
        &sqlite,
        &format!("history: Some(postgres((url: \"{url}\", schema: \"{schema}\", retention_days: 3.0)))"),
    );
    std::fs::write(&scene, text).unwrap();
    let loaded = citytwin::twin::load::load_scene(&scene).unwrap();
    let history = loaded.scene.history.clone().expect("a history");

    // The ingest service writes the simulator's observations.
    let config = IngestConfig {
        state_dir: dir.join("state"),
        spool_bytes: DEFAULT_SPOOL_BYTES,
        status_every: None,
        health: None,
    };
    let ingest = start_ingest(&loaded.scene.feeds, &history, &loaded.city, &loaded.path, &config).unwrap();
    let start = Instant::now();
    while ingest.counters.stored.load(std::sync::atomic::Ordering::Relaxed) < 500 {
        assert!(start.elapsed() < WAIT, "{}", ingest.counters.line());
        std::thread::sleep(Duration::from_millis(100));
    }
    ingest.stop();

    // The newest instant stored, asked through a reader thread as the app asks.
    let reader = {
        let (h, p) = (history.clone(), loaded.path.clone());
        HistoryReader::spawn(move || citytwin::twin::feeds::runtime::open_history(&h, &p)).unwrap()
    };
    reader.ask(Lane::Other, ReadRequest::Extent);
    let reply = reader.wait(Lane::Other, WAIT).expect("the reader answers");
    let Ok(ReadAnswer::Extent(n, Some((_, newest)))) = reply.answer else {
        panic!("{:?}", reply.answer)
    };
    assert!(n >= 500, "{n} stored");

    // Two seats, each its own connection, at once.
    let seats: Vec<_> = (0..2)
        .map(|_| {
            let scene = scene.clone();
            std::thread::spawn(move || report_for_scene_from_history(&scene, Some(newest)).unwrap())
        })
        .collect();
    let reports: Vec<_> = seats.into_iter().map(|s| s.join().unwrap()).collect();
    let (a, b) = (&reports[0], &reports[1]);
    assert!(
        a.feed_observations.is_some_and(|n| n > 0),
        "{:?}",
        a.feed_observations
    );
    // The values a seat shows: the index, the dimension scores, every indicator's value and
    // status city-wide and per zone (alerts are numbered by each seat's own alert log).
    let values = |r: &citytwin::twin::indicators::report::Report| {
        let v = serde_json::to_value(r).unwrap();
        ["index", "dimensions", "indicators", "zones", "feed_observations"]
            .map(|k| (k, v[k].clone()))
            .to_vec()
    };
    let (va, vb) = (values(a), values(b));
    let differ: Vec<&str> = va
        .iter()
        .zip(&vb)
        .filter(|(x, y)| !same(&x.1, &y.1))
        .map(|(x, _)| x.0)
        .collect();
    assert!(differ.is_empty(), "the seats differ in {differ:?}");
    // A third, read-only seat (`writer: false`) logged in as a role that may only read
    // the schema sees the same values (and, its sessions being read-only, wrote nothing).
    if let Some(role) = SelectOnlyRole::new(&url, &schema) {
        let ro_scene = dir.join("read-only-seat.ron");
        let text = std::fs::read_to_string(&scene).unwrap();
        let writer_line = format!("postgres((url: \"{url}\", schema: \"{schema}\"");
        assert!(text.contains(&writer_line));
        let text = text.replace(
            &writer_line,
            &format!(
                "postgres((url: \"{}\", schema: \"{schema}\", writer: false",
                role.url
            ),
        );
        std::fs::write(&ro_scene, text).unwrap();
        let c = report_for_scene_from_history(&ro_scene, Some(newest)).unwrap();
        let vc = values(&c);
        let differ: Vec<&str> = va
            .iter()
            .zip(&vc)
            .filter(|(x, y)| !same(&x.1, &y.1))
            .map(|(x, _)| x.0)
            .collect();
        assert!(differ.is_empty(), "the read-only seat differs in {differ:?}");
    }
    let fed = a
        .indicators
        .iter()
        .filter(|r| r.value.is_some() && r.id.starts_with("mob.") && r.id.contains("speed"))
        .count();
    println!(
        "two seats: {} observations in the last day, {fed} speed indicators with a value, index {:?}",
        a.feed_observations.unwrap_or(0),
        a.index
    );
    drop(reader);
    let _ = PgHistory::open(&PostgresHistorySpec {
        url,
        password_env: None,
        schema,
        retention_days: 3.0,
        partition_days: 1.0,
        writer: true,
    })
    .map(PgHistory::drop_schema);
    let _ = std::fs::remove_dir_all(&dir);
}
