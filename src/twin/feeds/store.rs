//! The on-disk history of observations: SQLite in WAL mode through rusqlite. Batched
//! appends in one transaction (an observation counts as stored once its transaction has
//! committed), retention pruning, and the queries of the time slider and charts: the latest
//! value of every (subject, metric) at or before a time, one subject's series in a range.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use thiserror::Error;

use crate::twin::feeds::key::SubjectKey;
use crate::twin::feeds::observation::{Metric, Observation, Quality, SourceId, Subject, Timestamp};

/// Schema version written to `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 1;
/// Milliseconds SQLite waits for a lock held by another connection.
const BUSY_TIMEOUT_MS: u64 = 5_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS observations (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    subject TEXT NOT NULL,
    x REAL,
    y REAL,
    metric TEXT NOT NULL,
    value REAL NOT NULL,
    unit TEXT NOT NULL,
    time INTEGER NOT NULL,
    quality TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS observations_subject_metric_time ON observations (subject, metric, time);
CREATE INDEX IF NOT EXISTS observations_time ON observations (time);
CREATE TABLE IF NOT EXISTS series_keys (
    subject TEXT NOT NULL,
    metric TEXT NOT NULL,
    PRIMARY KEY (subject, metric)
) WITHOUT ROWID;
";

/// Errors of the history store, naming the file.
#[derive(Debug, Error)]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("history store {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The folder for the database could not be made.
    #[error("history store {path}: cannot create its folder: {source}")]
    Io {
        /// The database file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file was written by a newer citytwin.
    #[error("history store {path}: schema version {found} is newer than {SCHEMA_VERSION}")]
    Version {
        /// The database file.
        path: PathBuf,
        /// The version found.
        found: i64,
    },
}

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// WAL with `synchronous=NORMAL`: a committed batch survives a crash of the program
    /// (not necessarily a power cut). The default.
    #[default]
    Normal,
    /// WAL with `synchronous=FULL`: a committed batch survives a power cut too.
    Full,
}

/// An observation as read back from the store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredObservation {
    /// The subject's key.
    pub key: SubjectKey,
    /// The observation (a point subject's position is restored from `x`, `y`).
    pub observation: Observation,
}

/// The history store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// `metric<TAB>subject` of the pairs already in `series_keys`.
    known: HashSet<String>,
}

fn subject_xy(s: &Subject) -> (Option<f64>, Option<f64>) {
    match s {
        Subject::Point { x, y } => (Some(*x), Some(*y)),
        _ => (None, None),
    }
}

fn quality_id(q: Option<Quality>) -> Option<&'static str> {
    q.map(|q| match q {
        Quality::Good => "good",
        Quality::Raw => "raw",
        Quality::Suspect => "suspect",
        Quality::Estimated => "estimated",
    })
}

fn quality_from(s: Option<String>) -> Option<Quality> {
    match s.as_deref()? {
        "good" => Some(Quality::Good),
        "raw" => Some(Quality::Raw),
        "suspect" => Some(Quality::Suspect),
        "estimated" => Some(Quality::Estimated),
        _ => None,
    }
}

fn subject_from(key: &SubjectKey, x: Option<f64>, y: Option<f64>) -> Subject {
    match key {
        SubjectKey::Sensor(s) => Subject::Sensor(s.clone()),
        SubjectKey::Road(r) => Subject::Road(*r),
        SubjectKey::Building(b) => Subject::Building(*b),
        SubjectKey::Zone(z) => Subject::Zone(*z),
        SubjectKey::City => Subject::City,
        SubjectKey::Point(px, py) => Subject::Point {
            x: x.unwrap_or(*px as f64 / 100.0),
            y: y.unwrap_or(*py as f64 / 100.0),
        },
        SubjectKey::Item(_) => Subject::Point {
            x: x.unwrap_or(f64::NAN),
            y: y.unwrap_or(f64::NAN),
        },
    }
}

const COLUMNS: &str = "source, subject, x, y, metric, value, unit, time, quality, detail";
/// [`COLUMNS`] of the table aliased `o`.
const O_COLUMNS: &str =
    "o.source, o.subject, o.x, o.y, o.metric, o.value, o.unit, o.time, o.quality, o.detail";

/// Reads a row of [`COLUMNS`]; rows with an unknown subject or metric are skipped (`None`).
fn row_to(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<StoredObservation>> {
    let subject: String = row.get(1)?;
    let metric: String = row.get(4)?;
    let (Some(key), Some(metric)) = (SubjectKey::parse(&subject), Metric::from_id(&metric)) else {
        return Ok(None);
    };
    let observation = Observation {
        source: SourceId(row.get(0)?),
        subject: subject_from(&key, row.get(2)?, row.get(3)?),
        metric,
        value: row.get(5)?,
        unit: row.get(6)?,
        time: Timestamp(row.get(7)?),
        quality: quality_from(row.get(8)?),
        detail: row.get(9)?,
    };
    Ok(Some(StoredObservation { key, observation }))
}

impl Store {
    /// Opens (or creates) a store file, creating its folder, in WAL mode.
    pub fn open(path: &Path, durability: Durability) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
        Store::init(conn, path.to_path_buf(), durability)
    }

    /// A store in memory (tests, benchmarks without disk).
    pub fn in_memory() -> Result<Store, StoreError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Sqlite {
            path: path.clone(),
            source,
        })?;
        Store::init(conn, path, Durability::Normal)
    }

    fn init(conn: Connection, path: PathBuf, durability: Durability) -> Result<Store, StoreError> {
        let sql = |e| StoreError::Sqlite {
            path: path.clone(),
            source: e,
        };
        conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))
            .map_err(sql)?;
        let _mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(sql)?;
        let sync = match durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        conn.execute_batch(&format!("PRAGMA synchronous={sync};"))
            .map_err(sql)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Version { path, found: version });
        }
        conn.execute_batch(SCHEMA).map_err(sql)?;
        conn.execute_batch(&format!("PRAGMA user_version={SCHEMA_VERSION};"))
            .map_err(sql)?;
        let mut known = HashSet::new();
        {
            let mut st = conn
                .prepare("SELECT subject, metric FROM series_keys")
                .map_err(sql)?;
            let rows = st
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(sql)?;
            for r in rows {
                let (subject, metric) = r.map_err(sql)?;
                known.insert(format!("{metric}\t{subject}"));
            }
        }
        Ok(Store { conn, path, known })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends observations in one transaction; when this returns `Ok` they are stored.
    pub fn append(&mut self, batch: &[Observation]) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        let mut new_keys: Vec<(String, Metric)> = Vec::new();
        let mut fresh: HashSet<String> = HashSet::new();
        {
            let mut st = tx
                .prepare_cached(&format!(
                    "INSERT INTO observations ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                ))
                .map_err(sql)?;
            let mut key = String::new();
            let mut known_key = String::new();
            for o in batch {
                use std::fmt::Write;
                key.clear();
                let _ = write!(key, "{}", SubjectKey::of(o));
                known_key.clear();
                let _ = write!(known_key, "{}\t{key}", o.metric.id());
                let (x, y) = subject_xy(&o.subject);
                st.execute(params![
                    o.source.0,
                    key,
                    x,
                    y,
                    o.metric.id(),
                    o.value,
                    o.unit,
                    o.time.0,
                    quality_id(o.quality),
                    o.detail
                ])
                .map_err(sql)?;
                if !self.known.contains(known_key.as_str()) && fresh.insert(known_key.clone()) {
                    new_keys.push((key.clone(), o.metric));
                }
            }
            let mut st = tx
                .prepare_cached("INSERT OR IGNORE INTO series_keys (subject, metric) VALUES (?1, ?2)")
                .map_err(sql)?;
            for (k, m) in &new_keys {
                st.execute(params![k, m.id()]).map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)?;
        self.known.extend(fresh);
        Ok(batch.len())
    }

    /// Deletes observations older than `before`; returns how many.
    pub fn prune_before(&mut self, before: Timestamp) -> Result<usize, StoreError> {
        self.conn
            .execute("DELETE FROM observations WHERE time < ?1", params![before.0])
            .map_err(|e| self.err(e))
    }

    /// Number of observations stored.
    pub fn count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM observations", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// Earliest and latest observation time, `None` when empty.
    pub fn time_range(&self) -> Result<Option<(Timestamp, Timestamp)>, StoreError> {
        self.conn
            .query_row("SELECT MIN(time), MAX(time) FROM observations", [], |r| {
                Ok(match (r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?) {
                    (Some(a), Some(b)) => Some((Timestamp(a), Timestamp(b))),
                    _ => None,
                })
            })
            .map_err(|e| self.err(e))
    }

    /// The latest observation of every (subject, metric) at or before `t` (the time slider's
    /// picture of the twin at `t`), optionally no older than `t - max_age_ms`.
    pub fn latest_at(
        &self,
        t: Timestamp,
        max_age_ms: Option<i64>,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        let from = max_age_ms.map_or(i64::MIN, |a| t.0.saturating_sub(a));
        // One index look-up per known (subject, metric).
        let sql = format!(
            "SELECT {O_COLUMNS} FROM series_keys k JOIN observations o ON o.id =
                (SELECT id FROM observations i WHERE i.subject = k.subject AND i.metric = k.metric
                 AND i.time <= ?1 ORDER BY i.time DESC, i.id DESC LIMIT 1)
             WHERE o.time >= ?2"
        );
        let mut st = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![t.0, from], row_to)
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for r in rows {
            if let Some(o) = r.map_err(|e| self.err(e))? {
                out.push(o);
            }
        }
        Ok(out)
    }

    /// The latest value of one subject and metric at or before `t`.
    pub fn value_at(
        &self,
        key: &SubjectKey,
        metric: Metric,
        t: Timestamp,
    ) -> Result<Option<Observation>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM observations WHERE subject = ?1 AND metric = ?2 AND time <= ?3
             ORDER BY time DESC, id DESC LIMIT 1"
        );
        let row = self
            .conn
            .query_row(&sql, params![key.to_string(), metric.id(), t.0], row_to)
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(row.flatten().map(|s| s.observation))
    }

    /// One subject's values of a metric with `from <= time <= to`, in time order (charts).
    pub fn series(
        &self,
        key: &SubjectKey,
        metric: Metric,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, f64)>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT time, value FROM observations WHERE subject = ?1 AND metric = ?2
                 AND time >= ?3 AND time <= ?4 ORDER BY time, id",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![key.to_string(), metric.id(), from.0, to.0], |r| {
                Ok((Timestamp(r.get(0)?), r.get(1)?))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Every observation of one metric with `from <= time <= to`, in time order (e.g. the
    /// service requests behind the map): one index range per subject of that metric.
    pub fn metric_range(
        &self,
        metric: Metric,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Observation>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM observations WHERE metric = ?1 AND time >= ?2 AND time <= ?3
             AND subject IN (SELECT subject FROM series_keys WHERE metric = ?1) ORDER BY time, id"
        );
        let mut st = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![metric.id(), from.0, to.0], row_to)
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for r in rows {
            if let Some(o) = r.map_err(|e| self.err(e))? {
                out.push(o.observation);
            }
        }
        Ok(out)
    }

    /// Every observation with `from <= time <= to`, in time order (exports, replays).
    pub fn range(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Observation>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM observations WHERE time >= ?1 AND time <= ?2 ORDER BY time, id");
        let mut st = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![from.0, to.0], row_to)
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for r in rows {
            if let Some(o) = r.map_err(|e| self.err(e))? {
                out.push(o.observation);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::city::{RoadId, ZoneId};

    fn o(subject: Subject, metric: Metric, v: f64, t: i64) -> Observation {
        Observation::new(&SourceId("sim".into()), subject, metric, v, Timestamp(t))
    }

    fn temp_db(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("citytwin-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("history.sqlite")
    }

    #[test]
    fn reopen_keeps_every_observation() {
        let path = temp_db("reopen");
        let mut batch = Vec::new();
        for i in 0..500 {
            let mut x = o(
                Subject::Road(RoadId(i % 7)),
                Metric::TrafficSpeed,
                i as f64 / 10.0,
                i as i64 * 1_000,
            );
            x.quality = Some(Quality::Estimated);
            x.detail = format!("n={i}");
            batch.push(x);
        }
        batch.push(o(
            Subject::Point { x: 1.5, y: -2.25 },
            Metric::TransitDelay,
            12.0,
            7,
        ));
        {
            let mut s = Store::open(&path, Durability::Normal).unwrap();
            s.append(&batch[..300]).unwrap();
            s.append(&batch[300..]).unwrap();
            // Dropped without a clean close, as a crash after the commits would.
            std::mem::forget(s);
        }
        let s = Store::open(&path, Durability::Full).unwrap();
        assert_eq!(s.count().unwrap(), 501);
        let mut back = s.range(Timestamp(i64::MIN), Timestamp(i64::MAX)).unwrap();
        back.sort_by(|a, b| (a.time, &a.detail).cmp(&(b.time, &b.detail)));
        let mut want = batch.clone();
        want.sort_by(|a, b| (a.time, &a.detail).cmp(&(b.time, &b.detail)));
        assert_eq!(back, want);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn latest_at_t_gives_the_values_of_t() {
        let mut s = Store::in_memory().unwrap();
        let mut batch = Vec::new();
        for t in 0..10 {
            for r in 0..3 {
                batch.push(o(
                    Subject::Road(RoadId(r)),
                    Metric::TrafficSpeed,
                    (t * 10 + r) as f64,
                    t as i64 * 60_000,
                ));
            }
            batch.push(o(
                Subject::Zone(ZoneId(0)),
                Metric::Sentiment,
                t as f64 / 10.0,
                t as i64 * 60_000 + 30_000,
            ));
        }
        s.append(&batch).unwrap();
        let at = s.latest_at(Timestamp(4 * 60_000 + 10), None).unwrap();
        assert_eq!(at.len(), 4);
        for x in &at {
            match x.key {
                SubjectKey::Road(r) => assert_eq!(x.observation.value, (40 + r.0) as f64),
                SubjectKey::Zone(_) => assert_eq!(x.observation.value, 0.3),
                _ => panic!("{x:?}"),
            }
        }
        assert!(s.latest_at(Timestamp(-1), None).unwrap().is_empty());
        // Only values younger than 20 s before t: the roads at 240 s, not the zone at 210 s.
        assert_eq!(
            s.latest_at(Timestamp(4 * 60_000 + 10), Some(20_000))
                .unwrap()
                .len(),
            3
        );
        let v = s
            .value_at(
                &SubjectKey::Road(RoadId(2)),
                Metric::TrafficSpeed,
                Timestamp(59_999),
            )
            .unwrap();
        assert_eq!(v.unwrap().value, 2.0);
        let series = s
            .series(
                &SubjectKey::Road(RoadId(1)),
                Metric::TrafficSpeed,
                Timestamp(60_000),
                Timestamp(180_000),
            )
            .unwrap();
        assert_eq!(
            series,
            vec![
                (Timestamp(60_000), 11.0),
                (Timestamp(120_000), 21.0),
                (Timestamp(180_000), 31.0)
            ]
        );
        assert_eq!(s.time_range().unwrap(), Some((Timestamp(0), Timestamp(570_000))));
        // One metric over a time range, every subject.
        let speeds = s
            .metric_range(Metric::TrafficSpeed, Timestamp(60_000), Timestamp(120_000))
            .unwrap();
        assert_eq!(speeds.len(), 6);
        assert!(speeds.iter().all(|o| o.metric == Metric::TrafficSpeed));
        assert!(speeds.windows(2).all(|w| w[0].time <= w[1].time));
        let moods = s
            .metric_range(Metric::Sentiment, Timestamp(0), Timestamp(1_000_000))
            .unwrap();
        assert_eq!(moods.len(), 10);
        assert!(
            s.metric_range(Metric::Pm25, Timestamp(0), Timestamp(1_000_000))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn pruning_removes_only_old_rows() {
        let mut s = Store::in_memory().unwrap();
        let batch: Vec<_> = (0..100)
            .map(|t| o(Subject::City, Metric::Noise, 50.0, t))
            .collect();
        s.append(&batch).unwrap();
        assert_eq!(s.prune_before(Timestamp(40)).unwrap(), 40);
        assert_eq!(s.count().unwrap(), 60);
    }
}
