//! The one test-suite of [`History`], run against every engine: SQLite files, and the
//! PostgreSQL server named by `CITYTWIN_PG_URL` (each test in a schema of its own, dropped
//! after). Without that variable the PostgreSQL half is skipped, except under CI (env `CI`
//! set), where it fails: `.ci/run` starts a server and sets the variable.

use std::path::PathBuf;

use crate::twin::city::{BuildingId, RoadId, ZoneId};
use crate::twin::feeds::history::History;
use crate::twin::feeds::key::SubjectKey;
use crate::twin::feeds::observation::{Metric, Observation, Quality, SourceId, Subject, Timestamp};
use crate::twin::feeds::pg::PgHistory;
use crate::twin::feeds::spec::PostgresHistorySpec;
use crate::twin::feeds::store::{Durability, Store};

/// Environment variable with the URL of the test database.
pub const PG_URL_ENV: &str = "CITYTWIN_PG_URL";

/// Opens histories of one engine for a test.
pub trait Fresh {
    /// Opens the history called `name` (the same name reopens the same history, as a
    /// second seat would).
    fn open(&mut self, name: &str) -> Box<dyn History>;
}

/// SQLite files in a temporary folder, removed after.
pub struct SqliteFresh {
    dir: PathBuf,
}

impl SqliteFresh {
    /// A folder of its own for test `test`.
    pub fn new(test: &str) -> SqliteFresh {
        let dir = std::env::temp_dir().join(format!("citytwin-history-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        SqliteFresh { dir }
    }
}

impl Fresh for SqliteFresh {
    fn open(&mut self, name: &str) -> Box<dyn History> {
        Box::new(
            Store::open(&self.dir.join(format!("{name}.sqlite")), Durability::Normal).expect("a SQLite file"),
        )
    }
}

impl Drop for SqliteFresh {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Schemas of the test database, dropped after.
pub struct PgFresh {
    url: String,
    prefix: String,
    schemas: Vec<String>,
    /// Days per partition of the histories opened.
    pub partition_days: f64,
}

impl PgFresh {
    /// The test database for test `test`; `None` (a skip) without [`PG_URL_ENV`], a panic
    /// when that is missing under CI.
    pub fn new(test: &str) -> Option<PgFresh> {
        let Ok(url) = std::env::var(PG_URL_ENV) else {
            if std::env::var_os("CI").is_some() {
                panic!("{PG_URL_ENV} is not set (.ci/run starts PostgreSQL and sets it)");
            }
            eprintln!("{PG_URL_ENV} is not set: skipping the PostgreSQL half of {test}");
            return None;
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        Some(PgFresh {
            url,
            // PostgreSQL cuts names at 63 bytes: keep them short.
            prefix: format!("t_{}_{}_{nanos}", &test[..test.len().min(16)], std::process::id()),
            schemas: Vec::new(),
            partition_days: 1.0,
        })
    }

    /// The spec of history `name`.
    pub fn spec(&self, name: &str) -> PostgresHistorySpec {
        PostgresHistorySpec {
            url: self.url.clone(),
            password_env: None,
            schema: format!("{}_{name}", self.prefix),
            retention_days: 30.0,
            partition_days: self.partition_days,
            writer: true,
        }
    }

    /// Opens history `name` as its concrete type.
    pub fn open_pg(&mut self, name: &str) -> PgHistory {
        let spec = self.spec(name);
        if !self.schemas.contains(&spec.schema) {
            self.schemas.push(spec.schema.clone());
        }
        PgHistory::open(&spec).expect("the test database")
    }
}

impl Fresh for PgFresh {
    fn open(&mut self, name: &str) -> Box<dyn History> {
        Box::new(self.open_pg(name))
    }
}

impl Drop for PgFresh {
    fn drop(&mut self) {
        let names: Vec<String> = self.schemas.drain(..).collect();
        for name in names {
            if let Ok(h) = PgHistory::open(&PostgresHistorySpec {
                schema: name,
                ..self.spec("x")
            }) {
                let _ = h.drop_schema();
            }
        }
    }
}

fn o(subject: Subject, metric: Metric, v: f64, t: i64) -> Observation {
    Observation::new(&SourceId("sim".into()), subject, metric, v, Timestamp(t))
}

fn road(i: u32, v: f64, t: i64) -> Observation {
    o(Subject::Road(RoadId(i)), Metric::TrafficSpeed, v, t)
}

/// Sorted by time, stably (the order `range` gives).
fn by_time(mut v: Vec<Observation>) -> Vec<Observation> {
    v.sort_by_key(|o| o.time);
    v
}

/// Every kind of subject, units, qualities, details and sources round-trip.
pub fn everything_round_trips(fresh: &mut dyn Fresh) {
    let mut h = fresh.open("all");
    assert_eq!(h.count().unwrap(), 0);
    assert_eq!(h.time_range().unwrap(), None);
    let mut batch = vec![
        o(Subject::Sensor("aq-1".into()), Metric::Pm25, 4.5, 1_000),
        road(7, 31.5, 2_000),
        o(
            Subject::Building(BuildingId(3)),
            Metric::ElectricityLoad,
            120.0,
            3_000,
        ),
        o(Subject::Zone(ZoneId(2)), Metric::Sentiment, -0.25, 4_000),
        o(Subject::City, Metric::RenewableShare, 0.4, 5_000),
        o(
            Subject::Point { x: 1.5, y: -2.25 },
            Metric::TransitDelay,
            12.0,
            6_000,
        ),
    ];
    let mut tram = o(
        Subject::Point { x: 10.0, y: 20.0 },
        Metric::TransitDelay,
        30.0,
        7_000,
    );
    tram.detail = "vehicle=tram-3; line 7".into();
    tram.quality = Some(Quality::Estimated);
    batch.push(tram);
    let mut odd_unit = o(Subject::Sensor("aq-2".into()), Metric::No2, 0.02, 8_000);
    odd_unit.unit = "mg/m³".into();
    odd_unit.source = SourceId("air".into());
    batch.push(odd_unit);
    assert_eq!(h.append(&batch).unwrap(), batch.len());
    assert_eq!(h.count().unwrap(), batch.len() as u64);
    assert_eq!(
        h.time_range().unwrap(),
        Some((Timestamp(1_000), Timestamp(8_000)))
    );
    assert_eq!(h.newest_written(), Some(Timestamp(8_000)));
    assert_eq!(
        h.range(Timestamp(0), Timestamp(10_000)).unwrap(),
        by_time(batch.clone())
    );
    assert_eq!(
        h.range(Timestamp(2_000), Timestamp(3_000)).unwrap(),
        batch[1..3].to_vec()
    );
    assert_eq!(
        h.metric_range(Metric::TransitDelay, Timestamp(0), Timestamp(10_000))
            .unwrap(),
        batch[5..7].to_vec()
    );
    // A second handle (another seat) reads the same.
    let other = fresh.open("all");
    assert_eq!(
        other.range(Timestamp(0), Timestamp(10_000)).unwrap(),
        by_time(batch)
    );
    assert_eq!(other.newest_written(), None, "nothing written through it");
}

/// The time slider's picture: the latest value per series at t, within the age limit;
/// of equal times the one stored last.
pub fn latest_at_gives_the_picture_at_t(fresh: &mut dyn Fresh) {
    let mut h = fresh.open("latest");
    let mut batch = Vec::new();
    for i in 0..60 {
        batch.push(road(i % 3, f64::from(i), i64::from(i) * 1_000));
    }
    batch.push(o(Subject::Sensor("s".into()), Metric::Noise, 40.0, 5_000));
    h.append(&batch).unwrap();
    // Same time again, later batch: it wins.
    h.append(&[road(0, 99.0, 57_000)]).unwrap();
    let at = |t: i64, age: Option<i64>| {
        let mut v: Vec<(SubjectKey, f64, i64)> = h
            .latest_at(Timestamp(t), age)
            .unwrap()
            .into_iter()
            .map(|r| (r.key, r.observation.value, r.observation.time.0))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    assert_eq!(
        at(30_500, None),
        vec![
            (SubjectKey::Sensor("s".into()), 40.0, 5_000),
            (SubjectKey::Road(RoadId(0)), 30.0, 30_000),
            (SubjectKey::Road(RoadId(1)), 28.0, 28_000),
            (SubjectKey::Road(RoadId(2)), 29.0, 29_000),
        ]
    );
    // The sensor is older than 10 s at 30.5 s.
    assert_eq!(at(30_500, Some(10_000)).len(), 3);
    assert_eq!(at(100_000, None)[1], (SubjectKey::Road(RoadId(0)), 99.0, 57_000));
    assert!(at(-1, None).is_empty());
    let v = h.value_at(
        &SubjectKey::Road(RoadId(1)),
        Metric::TrafficSpeed,
        Timestamp(30_500),
    );
    assert_eq!(v.unwrap().map(|o| o.value), Some(28.0));
    let none = h.value_at(&SubjectKey::Road(RoadId(1)), Metric::Noise, Timestamp(30_500));
    assert_eq!(none.unwrap(), None);
    let s = h
        .series(
            &SubjectKey::Road(RoadId(2)),
            Metric::TrafficSpeed,
            Timestamp(10_000),
            Timestamp(20_000),
        )
        .unwrap();
    assert_eq!(
        s,
        vec![
            (Timestamp(11_000), 11.0),
            (Timestamp(14_000), 14.0),
            (Timestamp(17_000), 17.0),
            (Timestamp(20_000), 20.0)
        ]
    );
}

/// Values arriving late or out of order, hours apart, are found by every query.
pub fn late_values_are_found(fresh: &mut dyn Fresh) {
    let mut h = fresh.open("late");
    let hour = Timestamp::HOUR_MS;
    h.append(&[road(1, 10.0, 10 * hour), road(1, 11.0, 10 * hour + 5)])
        .unwrap();
    // A backfill of hours before, and one value between.
    h.append(&[
        road(1, 5.0, 5 * hour),
        road(1, 6.0, 6 * hour),
        road(1, 9.5, 10 * hour + 2),
    ])
    .unwrap();
    let key = SubjectKey::Road(RoadId(1));
    let at = |t: i64| {
        h.value_at(&key, Metric::TrafficSpeed, Timestamp(t))
            .unwrap()
            .map(|o| o.value)
    };
    assert_eq!(at(6 * hour + 1), Some(6.0));
    assert_eq!(at(10 * hour + 3), Some(9.5));
    assert_eq!(at(11 * hour), Some(11.0));
    let picture = h.latest_at(Timestamp(10 * hour + 3), Some(hour)).unwrap();
    assert_eq!(picture.len(), 1);
    assert_eq!(picture[0].observation.value, 9.5);
    let all = h
        .series(&key, Metric::TrafficSpeed, Timestamp(0), Timestamp(20 * hour))
        .unwrap();
    let times: Vec<i64> = all.iter().map(|(t, _)| t.0).collect();
    assert_eq!(
        times,
        vec![5 * hour, 6 * hour, 10 * hour, 10 * hour + 2, 10 * hour + 5]
    );
    assert_eq!(
        h.range(Timestamp(6 * hour), Timestamp(10 * hour + 2))
            .unwrap()
            .len(),
        3
    );
}

/// Retention removes exactly what is older than the limit, over days of data.
pub fn pruning_removes_only_old_values(fresh: &mut dyn Fresh) {
    let mut h = fresh.open("prune");
    let day = Timestamp::DAY_MS;
    let mut batch = Vec::new();
    // Four days, a value every 20 minutes on each of 5 roads.
    for i in 0..(4 * 72) {
        for r in 0..5 {
            batch.push(road(r, f64::from(r), i64::from(i) * 20 * 60_000));
        }
    }
    let n = batch.len();
    h.append(&batch).unwrap();
    let cut = 2 * day + 30 * 60_000;
    let older = batch.iter().filter(|o| o.time.0 < cut).count();
    assert_eq!(h.prune_before(Timestamp(cut)).unwrap(), older);
    assert_eq!(h.count().unwrap(), (n - older) as u64);
    let left = h.range(Timestamp(0), Timestamp(5 * day)).unwrap();
    assert!(left.iter().all(|o| o.time.0 >= cut));
    assert_eq!(left.len(), n - older);
    assert_eq!(h.prune_before(Timestamp(cut)).unwrap(), 0);
    // Still writable after pruning, into the same days.
    h.append(&[road(0, 1.0, 3 * day)]).unwrap();
    assert_eq!(h.count().unwrap(), (n - older + 1) as u64);
}

/// Many series in one batch and many batches: the counts and pictures stay right.
pub fn many_series_and_batches(fresh: &mut dyn Fresh) {
    let mut h = fresh.open("many");
    let mut total = 0;
    for b in 0..10 {
        let batch: Vec<Observation> = (0..2_000)
            .map(|i| road(i, f64::from(b), i64::from(b) * 1_000 + i64::from(i % 7)))
            .collect();
        total += h
            .append_batches(&[batch[..1_000].to_vec(), batch[1_000..].to_vec()])
            .unwrap();
    }
    assert_eq!(total, 20_000);
    assert_eq!(h.count().unwrap(), 20_000);
    let p = h.latest_at(Timestamp(5_500), None).unwrap();
    assert_eq!(p.len(), 2_000);
    assert!(p.iter().all(|r| r.observation.value == 5.0));
    let other = fresh.open("many");
    assert_eq!(
        other.latest_at(Timestamp(9_999), Some(2_000)).unwrap().len(),
        2_000
    );
}

/// A series that went silent days ago is still in the picture without an age limit, and
/// out of it with one; one that keeps reporting is always there.
pub fn silent_series_keep_their_last_value(fresh: &mut dyn Fresh) {
    let mut h = fresh.open("silent");
    let minute = 60_000;
    h.append(&[road(1, 7.0, 1_000), road(1, 8.0, 2_000)]).unwrap();
    // Road 2 reports every 10 minutes for three days, a batch an hour.
    for hour in 0..72 {
        let batch: Vec<Observation> = (0..6)
            .map(|k| {
                road(
                    2,
                    f64::from(hour),
                    i64::from(hour) * Timestamp::HOUR_MS + k * 10 * minute,
                )
            })
            .collect();
        h.append(&batch).unwrap();
    }
    let end = 72 * Timestamp::HOUR_MS;
    let keys = |age: Option<i64>| {
        let mut v: Vec<(SubjectKey, f64)> = h
            .latest_at(Timestamp(end), age)
            .unwrap()
            .into_iter()
            .map(|r| (r.key, r.observation.value))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    assert_eq!(
        keys(None),
        vec![
            (SubjectKey::Road(RoadId(1)), 8.0),
            (SubjectKey::Road(RoadId(2)), 71.0)
        ]
    );
    assert_eq!(
        keys(Some(Timestamp::HOUR_MS)),
        vec![(SubjectKey::Road(RoadId(2)), 71.0)]
    );
    let v = h.value_at(&SubjectKey::Road(RoadId(1)), Metric::TrafficSpeed, Timestamp(end));
    assert_eq!(v.unwrap().map(|o| o.time), Some(Timestamp(2_000)));
    // Between two of road 2's values, in the middle of the second day.
    let mid = h.latest_at(
        Timestamp(36 * Timestamp::HOUR_MS + 15 * minute),
        Some(Timestamp::HOUR_MS),
    );
    let mid = mid.unwrap();
    assert_eq!(mid.len(), 1);
    assert_eq!(
        mid[0].observation.time,
        Timestamp(36 * Timestamp::HOUR_MS + 10 * minute)
    );
}

macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $case() {
                    super::$case(&mut super::SqliteFresh::new(stringify!($case)));
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $case() {
                    if let Some(mut f) = super::PgFresh::new(stringify!($case)) {
                        super::$case(&mut f);
                    }
                }
            )*
        }
    };
}

suite!(
    everything_round_trips,
    latest_at_gives_the_picture_at_t,
    late_values_are_found,
    pruning_removes_only_old_values,
    many_series_and_batches,
    silent_series_keep_their_last_value,
);

/// PostgreSQL only: partitions are made by day and dropped by retention.
#[test]
fn postgres_partitions_by_time_and_drops_them_for_retention() {
    let Some(mut f) = PgFresh::new("partitions") else {
        return;
    };
    let mut h = f.open_pg("p");
    let day = Timestamp::DAY_MS;
    let batch: Vec<Observation> = (0..5).map(|d| road(1, 1.0, d * day + 1_000)).collect();
    h.append(&batch).unwrap();
    let parts = |f: &mut PgFresh| {
        let spec = f.spec("p");
        let mut c = ::postgres::Client::connect(&spec.url, ::postgres::NoTls).unwrap();
        c.query_one(
            "SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
             JOIN pg_namespace n ON n.oid = p.relnamespace WHERE p.relname = 'chunks' AND n.nspname = $1",
            &[&spec.schema],
        )
        .unwrap()
        .get::<_, i64>(0)
    };
    assert_eq!(parts(&mut f), 5);
    assert_eq!(h.prune_before(Timestamp(2 * day + 5_000)).unwrap(), 3);
    assert_eq!(parts(&mut f), 3, "two whole days dropped, the third trimmed");
    assert_eq!(h.count().unwrap(), 2);
    // A bad URL is an error naming the database, without its password.
    let mut spec = f.spec("q");
    spec.url = "postgres://u:secret@127.0.0.1:1/none".into();
    let e = PgHistory::open(&spec).unwrap_err().to_string();
    assert!(
        e.contains("postgres://u@127.0.0.1:1/none") && !e.contains("secret"),
        "{e}"
    );
}

/// PostgreSQL only: the slider's candidate query, the one reading the last records of the
/// chunks before the instant, and the one reading time slices give the same pictures as
/// reading the whole window (the slices' also after retention cut a slice), with
/// overlapping chunks, late and out-of-order values, equal times from two sources and
/// silent series, at instants between records and exactly on them.
#[test]
fn postgres_slider_queries_agree() {
    use crate::twin::feeds::pg::SliderQuery;
    let Some(mut f) = PgFresh::new("slider") else {
        return;
    };
    let mut h = f.open_pg("s");
    let other = SourceId("other".into());
    // 40 batches of 30 s each over 20 roads; every fifth batch also brings late values
    // (a minute old) and values of a second source; road 19 falls silent halfway.
    for b in 0..40i64 {
        let mut batch = Vec::new();
        for r in 0..20u32 {
            if r == 19 && b > 20 {
                continue;
            }
            for k in 0..3i64 {
                let t = b * 30_000 + k * 10_000 + i64::from(r);
                batch.push(road(r, (b * 100 + k) as f64 + f64::from(r) / 100.0, t));
            }
            if b % 5 == 0 && b > 0 {
                batch.push(road(r, -1.0, b * 30_000 - 60_000 + 5));
                let mut o = road(r, -2.0, b * 30_000 + 7);
                o.source = other.clone();
                batch.push(o);
            }
            if b % 7 == 3 {
                // Out of order within the chunk (an earlier time pushed last), and the
                // other source at exactly the time of this batch's last value (a tie: the
                // later chunk's value is the picture's).
                batch.push(road(r, -3.0, b * 30_000 + 5_000 + i64::from(r)));
                let mut o = road(r, -4.0, b * 30_000 + 20_000 + i64::from(r));
                o.source = other.clone();
                batch.push(o);
            }
        }
        h.append(&batch).unwrap();
    }
    let mut instants: Vec<i64> = (0..60i64).map(|step| step * 20_011).collect();
    // Exactly on a batch's last value of road 3 and on the first of the next batch.
    instants.extend((0..40i64).flat_map(|b| [b * 30_000 + 20_003, b * 30_000 + 3]));
    let mut ties = 0;
    for t in instants.iter().copied().map(Timestamp) {
        for age in [None, Some(45_000), Some(Timestamp::HOUR_MS)] {
            let a = h.latest_at_with(SliderQuery::Window, t, age).unwrap();
            let b = h.latest_at_with(SliderQuery::Candidates, t, age).unwrap();
            let c = h.latest_at_with(SliderQuery::LastRecords, t, age).unwrap();
            let d = h.latest_at_with(SliderQuery::Slices, t, age).unwrap();
            assert_eq!(a, b, "at {t:?}, age {age:?}");
            assert_eq!(a, c, "last records, at {t:?}, age {age:?}");
            assert_eq!(a, d, "slices, at {t:?}, age {age:?}");
            ties += a.iter().filter(|s| s.observation.value == -4.0).count();
        }
    }
    // The ties were asked about (and answered alike by every query).
    assert!(ties > 0, "no instant fell on a tie");
    // Retention within a slice (the slices before and across the limit go, the chunks
    // across it are trimmed): the slices' pictures still agree.
    let cut = 15 * 30_000 + 4_321;
    assert!(h.prune_before(Timestamp(cut)).unwrap() > 0);
    for t in instants.into_iter().filter(|&t| t >= cut - 30_000).map(Timestamp) {
        for age in [None, Some(45_000)] {
            let a = h.latest_at_with(SliderQuery::Window, t, age).unwrap();
            let d = h.latest_at_with(SliderQuery::Slices, t, age).unwrap();
            assert_eq!(a, d, "slices after pruning, at {t:?}, age {age:?}");
        }
    }
}

/// PostgreSQL only: a history written before slices were kept (its `slices` table
/// dropped here) reads alike: a read-only seat without the table, and the writer, which
/// makes it again empty, by the chunks; then new commits fill the slices.
#[test]
fn postgres_history_without_slices_reads_alike() {
    use crate::twin::feeds::pg::SliderQuery;
    let Some(mut f) = PgFresh::new("noslices") else {
        return;
    };
    let mut h = f.open_pg("n");
    for b in 0..5i64 {
        let batch: Vec<Observation> = (0..10u32)
            .map(|r| {
                road(
                    r,
                    (b * 10) as f64 + f64::from(r),
                    b * 30_000 + i64::from(r) * 1_000,
                )
            })
            .collect();
        h.append(&batch).unwrap();
    }
    let spec = f.spec("n");
    let mut c = ::postgres::Client::connect(&spec.url, ::postgres::NoTls).unwrap();
    c.batch_execute(&format!("DROP TABLE \"{}\".slices CASCADE", spec.schema))
        .unwrap();
    drop(h);
    let check = |h: &PgHistory| {
        for t in (0..16).map(|k| Timestamp(k * 10_007)) {
            for age in [None, Some(20_000)] {
                let whole = h.latest_at_with(SliderQuery::Window, t, age).unwrap();
                assert_eq!(h.latest_at(t, age).unwrap(), whole, "at {t:?}, age {age:?}");
            }
        }
    };
    let reader = PgHistory::open(&PostgresHistorySpec {
        writer: false,
        ..spec.clone()
    })
    .unwrap();
    check(&reader);
    let mut h = f.open_pg("n");
    check(&h);
    h.append(&[road(3, 99.0, 160_000)]).unwrap();
    check(&h);
    assert_eq!(
        h.latest_at(Timestamp(161_000), Some(5_000)).unwrap()[0]
            .observation
            .value,
        99.0
    );
}

/// PostgreSQL only: a read-only seat (`writer: false`) reads what the writer wrote, makes
/// no table, refuses to append or prune, and runs no store writer for its feeds (which
/// still bring it live values): nothing it receives reaches the history.
#[test]
fn postgres_reader_seat_never_writes() {
    use crate::twin::feeds::runtime::start_feeds;
    use crate::twin::feeds::simulator::tests::{small_city, spec};
    use crate::twin::feeds::spec::{FeedKind, FeedSpec, HistoryEngine, HistorySpec};
    let Some(mut f) = PgFresh::new("reader") else {
        return;
    };
    // No history yet: a reader makes none.
    let missing = PostgresHistorySpec {
        writer: false,
        ..f.spec("none")
    };
    assert!(PgHistory::open(&missing).is_err());
    let mut w = f.open_pg("r");
    w.append(&[road(1, 10.0, 1_000), road(2, 20.0, 2_000)]).unwrap();
    let reader_spec = PostgresHistorySpec {
        writer: false,
        ..f.spec("r")
    };
    let mut r = PgHistory::open(&reader_spec).unwrap();
    assert_eq!(
        r.latest_at(Timestamp(5_000), None).unwrap(),
        w.latest_at(Timestamp(5_000), None).unwrap()
    );
    assert!(r.append(&[road(3, 30.0, 3_000)]).is_err());
    assert!(r.prune_before(Timestamp(1_500)).is_err());
    assert_eq!(w.count().unwrap(), 2);
    // A seat whose scene has a feed and a read-only history.
    let history = HistorySpec::Engine(HistoryEngine::Postgres(reader_spec));
    assert!(!history.writes());
    let feeds = vec![FeedSpec {
        name: "sim".into(),
        kind: FeedKind::Simulator(spec(4)),
        stale_after_s: 60.0,
        classification: None,
    }];
    let dir = std::env::temp_dir().join(format!("citytwin-reader-seat-{}", std::process::id()));
    let mut running = start_feeds(&feeds, Some(&history), &small_city(), &dir.join("scene.ron"));
    assert!(
        running.live.writer().is_none(),
        "a read-only seat runs no store writer"
    );
    assert!(running.history_error.is_none());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while running.live.picture.is_empty() && std::time::Instant::now() < deadline {
        running.live.drain(
            &running.receiver,
            std::time::Duration::from_millis(50),
            Timestamp::now(),
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!running.live.picture.is_empty(), "the seat shows live values");
    assert_eq!(w.count().unwrap(), 2, "nothing the reader received was written");
}

/// A login role of a test's own, made and dropped through the test role (which has
/// CREATEROLE: `scripts/pg-test-db.sh` grants it), with only `USAGE` on a schema and
/// `SELECT` on its tables, its sessions read-only by default
/// (`default_transaction_read_only`), so that any write it tried, a migration included,
/// would fail.
pub struct SelectOnlyRole {
    admin: ::postgres::Client,
    /// The role's name.
    pub name: String,
    schema: String,
    /// The database's URL with the role's user and password.
    pub url: String,
}

impl SelectOnlyRole {
    /// Makes the role for `schema` of the database at `url` (the test role's); `None` (a
    /// skip) when the test role may not make roles, a panic then under CI.
    pub fn new(url: &str, schema: &str) -> Option<SelectOnlyRole> {
        let mut admin = ::postgres::Client::connect(url, ::postgres::NoTls).expect("the test database");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let name = format!("ct_ro_{}_{nanos}", std::process::id());
        let password = format!("ro{nanos}");
        if let Err(e) = admin.batch_execute(&format!("CREATE ROLE {name} LOGIN PASSWORD '{password}'")) {
            let why =
                format!("the test role cannot make roles ({e}): scripts/pg-test-db.sh grants CREATEROLE");
            assert!(std::env::var_os("CI").is_none(), "{why}");
            eprintln!("{why}: skipping");
            return None;
        }
        let sql = format!(
            "GRANT USAGE ON SCHEMA \"{schema}\" TO {name};
             GRANT SELECT ON ALL TABLES IN SCHEMA \"{schema}\" TO {name};
             ALTER ROLE {name} SET default_transaction_read_only = on"
        );
        let mut role = SelectOnlyRole {
            admin,
            url: with_user(url, &name, &password),
            name,
            schema: schema.to_string(),
        };
        // Made before the grants, so that a failing grant still drops the role.
        role.admin
            .batch_execute(&sql)
            .expect("grants to the read-only role");
        Some(role)
    }
}

impl Drop for SelectOnlyRole {
    fn drop(&mut self) {
        let (n, s) = (&self.name, &self.schema);
        // The schema may be gone already (dropped with its grants).
        let _ = self.admin.batch_execute(&format!(
            "REVOKE ALL ON ALL TABLES IN SCHEMA \"{s}\" FROM {n}; REVOKE ALL ON SCHEMA \"{s}\" FROM {n}"
        ));
        let _ = self.admin.batch_execute(&format!("DROP ROLE IF EXISTS {n}"));
    }
}

/// `url` (`postgres://user[:password]@host...`) with another user and password.
pub fn with_user(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    format!("{scheme}://{user}:{password}@{host}")
}

/// PostgreSQL only: a read-only seat logged in as a role that may only read (`USAGE` on
/// the schema, `SELECT` on its tables, read-only transactions) opens the writer's
/// history, gives every answer the writer's handle gives (the time slider by all three
/// queries, values, series, ranges, counts), also after the writer added series and
/// partitions, and never tries to write: it opens without making or migrating anything,
/// and its append and prune are refused by the handle, not by the server's permissions.
#[test]
fn postgres_select_only_role_reads_what_the_writer_reads() {
    use crate::twin::feeds::pg::SliderQuery;
    use crate::twin::feeds::runtime::start_feeds;
    use crate::twin::feeds::spec::{HistoryEngine, HistorySpec};
    let Some(mut f) = PgFresh::new("selectonly") else {
        return;
    };
    let mut w = f.open_pg("w");
    let day = Timestamp::DAY_MS;
    let other = SourceId("other".into());
    let batch = |k: i64| -> Vec<Observation> {
        let mut b: Vec<Observation> = (0..30u32)
            .map(|r| road(r, (k * 100) as f64 + f64::from(r), k * 60_000 + i64::from(r) * 7))
            .collect();
        let mut z = o(
            Subject::Zone(ZoneId(2)),
            Metric::Pm25,
            k as f64 / 3.0,
            k * 60_000 + 11,
        );
        z.source = other.clone();
        b.push(z);
        b
    };
    for k in 0..20 {
        w.append(&batch(k)).unwrap();
    }
    let Some(role) = SelectOnlyRole::new(&f.spec("w").url, &f.spec("w").schema) else {
        return;
    };
    let reader_spec = PostgresHistorySpec {
        url: role.url.clone(),
        writer: false,
        ..f.spec("w")
    };
    let r = PgHistory::open(&reader_spec).expect("a SELECT-only role opens a read-only seat");
    // The role can indeed write nothing: the server refuses it.
    let mut direct = ::postgres::Client::connect(&role.url, ::postgres::NoTls).unwrap();
    let denied = direct
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS \"{}\".meta (key text)",
            f.spec("w").schema
        ))
        .unwrap_err();
    assert!(denied.as_db_error().is_some(), "{denied}");
    let same_answers = |w: &PgHistory, r: &PgHistory| {
        let (t0, t1) = w.time_range().unwrap().unwrap();
        assert_eq!(r.time_range().unwrap(), Some((t0, t1)));
        assert_eq!(r.count().unwrap(), w.count().unwrap());
        for step in 0..=12 {
            let t = Timestamp(t0.0 + (t1.0 - t0.0) / 12 * step + 3);
            for age in [None, Some(90_000), Some(Timestamp::HOUR_MS)] {
                for q in [
                    SliderQuery::Window,
                    SliderQuery::Candidates,
                    SliderQuery::LastRecords,
                ] {
                    let a = w.latest_at_with(q, t, age).unwrap();
                    assert!(!a.is_empty() || age.is_some(), "{q:?} at {t:?}");
                    assert_eq!(
                        r.latest_at_with(q, t, age).unwrap(),
                        a,
                        "{q:?} at {t:?}, age {age:?}"
                    );
                }
            }
            let road7 = SubjectKey::Road(RoadId(7));
            assert_eq!(
                r.value_at(&road7, Metric::TrafficSpeed, t).unwrap(),
                w.value_at(&road7, Metric::TrafficSpeed, t).unwrap()
            );
        }
        let zone = SubjectKey::Zone(ZoneId(2));
        let s = w.series(&zone, Metric::Pm25, t0, t1).unwrap();
        assert!(!s.is_empty());
        assert_eq!(r.series(&zone, Metric::Pm25, t0, t1).unwrap(), s);
        assert_eq!(r.range(t0, t1).unwrap(), w.range(t0, t1).unwrap());
    };
    same_answers(&w, &r);
    // The writer goes on: new series, a new day's partition (no grant needed: the server
    // checks a partitioned table's privileges on the parent alone); the reader follows.
    let mut late = batch(30);
    late.push(road(99, 5.0, 2 * day + 1));
    w.append(&late).unwrap();
    same_answers(&w, &r);
    let mut r = r;
    let refused = r.append(&[road(1, 1.0, 1)]).unwrap_err().to_string();
    assert!(refused.contains("read-only seat"), "{refused}");
    let refused = r.prune_before(Timestamp(60_000)).unwrap_err().to_string();
    assert!(refused.contains("read-only seat"), "{refused}");
    // A seat's feeds runtime with that history opens nothing to write.
    let history = HistorySpec::Engine(HistoryEngine::Postgres(reader_spec));
    let dir = std::env::temp_dir().join(format!("citytwin-select-only-{}", std::process::id()));
    let running = start_feeds(
        &[],
        Some(&history),
        &crate::twin::feeds::simulator::tests::small_city(),
        &dir.join("scene.ron"),
    );
    assert!(running.live.writer().is_none() && running.history_error.is_none());
    let opened = crate::twin::feeds::runtime::open_history(&history, &dir.join("scene.ron")).unwrap();
    assert_eq!(opened.count().unwrap(), w.count().unwrap());
    drop((opened, r, direct));
    drop(role);
}
