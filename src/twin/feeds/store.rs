//! The on-disk history of observations: SQLite in WAL mode through rusqlite, written in a
//! batched, columnar-chunk layout fast enough for a million observations a second.
//!
//! Layout (schema version 2): every (subject, metric) pair is a row of `series`, every
//! source name and non-canonical unit a row of `names`; each committed batch becomes, per
//! (series, source), one row of `chunks` holding its observations packed in a small binary
//! record (time delta, value, flags, optional position / unit / detail) with the chunk's
//! first and last time beside it. Two compact indexes on `chunks` ((series, t_min) and
//! (t_min, t_max)) serve the time slider, the charts, range exports and retention; as a
//! chunk covers many observations they cost a fraction of a per-row index.
//!
//! Durability: [`Store::append`] writes a batch in one transaction; an observation is
//! *acknowledged* (counted as stored) once that transaction has committed, and from then on
//! it survives a crash of the program (WAL, `synchronous=NORMAL`) or also a power cut
//! ([`Durability::Full`]). Files of schema version 1 (one row per observation) are migrated
//! in place, in one transaction, when opened.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};
use thiserror::Error;

use crate::twin::feeds::fasthash::FastMap;
use crate::twin::feeds::key::SubjectKey;
use crate::twin::feeds::observation::{Metric, Observation, Quality, SourceId, Subject, Timestamp};

/// Schema version written to `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 2;
/// The row-per-observation layout of the first release, migrated on open.
const SCHEMA_V1: i64 = 1;
/// Milliseconds SQLite waits for a lock held by another connection.
const BUSY_TIMEOUT_MS: u64 = 5_000;
/// Page cache of a connection, KiB (`PRAGMA cache_size` takes it negated).
const CACHE_KIB: i64 = 65_536;
/// WAL pages after which a commit checkpoints into the database file.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 4_096;
/// Size the WAL file is truncated to after a checkpoint, bytes.
const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;
/// Time buckets of chunks, ms: a chunk never spans two, so a series' widest chunk span
/// (`series.max_span`, which bounds how far back the time-slider queries look) stays under
/// an hour whatever arrives late.
pub(crate) const CHUNK_BUCKET_MS: i64 = 3_600_000;
/// Bytes first reserved for a chunk being packed (a few records).
const CHUNK_START_BYTES: usize = 64;
/// Rows read per step when migrating a version-1 file.
const MIGRATE_BATCH: i64 = 50_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS names (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    metric TEXT NOT NULL,
    max_span INTEGER NOT NULL DEFAULT 0,
    UNIQUE (subject, metric)
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    series INTEGER NOT NULL,
    source INTEGER NOT NULL,
    t_min INTEGER NOT NULL,
    t_max INTEGER NOT NULL,
    n INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_series_time ON chunks (series, t_min);
CREATE INDEX IF NOT EXISTS chunks_time ON chunks (t_min, t_max);
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
    /// PostgreSQL refused an operation or could not be reached
    /// ([`crate::twin::feeds::pg::PgHistory`]).
    #[error("history database {target}: {message}")]
    Postgres {
        /// The database (its URL without the password) and schema.
        target: String,
        /// What the server or the client said.
        message: String,
    },
    /// A stored chunk or name could not be decoded.
    #[error("history store {path}: corrupt data: {what}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What was wrong.
        what: String,
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
    /// The observation (a point subject's position is restored from its record).
    pub observation: Observation,
}

// ---------------------------------------------------------------------------------------
// Chunk records

/// Flag bits of a packed observation; the low three bits hold the quality code.
const QUALITY_MASK: u8 = 0b0000_0111;
/// The record carries a position (x, y as f64).
const HAS_XY: u8 = 0b0000_1000;
/// The record carries a detail string.
const HAS_DETAIL: u8 = 0b0001_0000;
/// The record carries a unit other than the metric's canonical one (a `names` id).
const HAS_UNIT: u8 = 0b0010_0000;

fn quality_code(q: Option<Quality>) -> u8 {
    match q {
        None => 0,
        Some(Quality::Good) => 1,
        Some(Quality::Raw) => 2,
        Some(Quality::Suspect) => 3,
        Some(Quality::Estimated) => 4,
    }
}

fn quality_of(code: u8) -> Option<Quality> {
    match code {
        1 => Some(Quality::Good),
        2 => Some(Quality::Raw),
        3 => Some(Quality::Suspect),
        4 => Some(Quality::Estimated),
        _ => None,
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// The observations of one (series, source) in one batch, packed.
#[derive(Debug)]
pub(crate) struct ChunkBuf {
    pub(crate) series: i64,
    pub(crate) source: i64,
    pub(crate) t_min: i64,
    pub(crate) t_max: i64,
    pub(crate) n: i64,
    prev: i64,
    pub(crate) data: Vec<u8>,
    /// Where the bytes after the time of the chunk's last record (greatest time; of equal
    /// times the one pushed last) start and end in `data`.
    last_at: (usize, usize),
}

impl ChunkBuf {
    pub(crate) fn new(series: i64, source: i64) -> ChunkBuf {
        ChunkBuf {
            series,
            source,
            t_min: i64::MAX,
            t_max: i64::MIN,
            n: 0,
            prev: 0,
            data: Vec::with_capacity(CHUNK_START_BYTES),
            last_at: (0, 0),
        }
    }

    /// The chunk's last record (the one a query at or after `t_max` picks from it) packed
    /// alone, as a chunk of one record; empty for an empty chunk.
    pub(crate) fn last_record(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.n > 0
            && let Some(rest) = self.data.get(self.last_at.0..self.last_at.1)
        {
            put_varint(&mut out, zigzag(self.t_max));
            out.extend_from_slice(rest);
        }
        out
    }

    /// Appends one record: zigzag varint of the time's delta to the previous record, the
    /// value (f64 LE), the flags, then the optional position, unit id and detail.
    pub(crate) fn push(
        &mut self,
        time: i64,
        value: f64,
        quality: Option<Quality>,
        xy: Option<(f64, f64)>,
        unit: Option<i64>,
        detail: &str,
    ) {
        put_varint(&mut self.data, zigzag(time.wrapping_sub(self.prev)));
        self.prev = time;
        let after_time = self.data.len();
        self.data.extend_from_slice(&value.to_le_bytes());
        let mut flags = quality_code(quality);
        if xy.is_some() {
            flags |= HAS_XY;
        }
        if !detail.is_empty() {
            flags |= HAS_DETAIL;
        }
        if unit.is_some() {
            flags |= HAS_UNIT;
        }
        self.data.push(flags);
        if let Some((x, y)) = xy {
            self.data.extend_from_slice(&x.to_le_bytes());
            self.data.extend_from_slice(&y.to_le_bytes());
        }
        if let Some(u) = unit {
            put_varint(&mut self.data, u as u64);
        }
        if !detail.is_empty() {
            put_varint(&mut self.data, detail.len() as u64);
            self.data.extend_from_slice(detail.as_bytes());
        }
        if self.n == 0 || time >= self.t_max {
            self.last_at = (after_time, self.data.len());
        }
        self.t_min = self.t_min.min(time);
        self.t_max = self.t_max.max(time);
        self.n += 1;
    }
}

/// One packed observation, borrowed from its chunk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Record<'a> {
    pub(crate) time: i64,
    pub(crate) value: f64,
    pub(crate) quality: Option<Quality>,
    pub(crate) xy: Option<(f64, f64)>,
    pub(crate) unit: Option<i64>,
    pub(crate) detail: &'a str,
}

/// Reads the records of a chunk in order; `None` items mark a truncated or bad record.
pub(crate) struct Records<'a> {
    data: &'a [u8],
    at: usize,
    prev: i64,
}

impl<'a> Records<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Records<'a> {
        Records { data, at: 0, prev: 0 }
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.data.get(self.at)?;
            self.at += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }

    fn f64(&mut self) -> Option<f64> {
        let b = self.data.get(self.at..self.at + 8)?;
        self.at += 8;
        Some(f64::from_le_bytes(b.try_into().ok()?))
    }

    fn record(&mut self) -> Option<Record<'a>> {
        let time = self.prev.wrapping_add(unzigzag(self.varint()?));
        self.prev = time;
        let value = self.f64()?;
        let flags = *self.data.get(self.at)?;
        self.at += 1;
        let xy = if flags & HAS_XY != 0 {
            Some((self.f64()?, self.f64()?))
        } else {
            None
        };
        let unit = if flags & HAS_UNIT != 0 {
            Some(self.varint()? as i64)
        } else {
            None
        };
        let detail = if flags & HAS_DETAIL != 0 {
            let len = self.varint()? as usize;
            let bytes = self.data.get(self.at..self.at.checked_add(len)?)?;
            self.at += len;
            std::str::from_utf8(bytes).ok()?
        } else {
            ""
        };
        Some(Record {
            time,
            value,
            quality: quality_of(flags & QUALITY_MASK),
            xy,
            unit,
            detail,
        })
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Option<Record<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.data.len() {
            return None;
        }
        let r = self.record();
        if r.is_none() {
            // Stop after a bad record: what follows cannot be framed.
            self.at = self.data.len();
        }
        Some(r)
    }
}

// ---------------------------------------------------------------------------------------
// Writer-side dictionaries

/// A series as the writer knows it, with the chunk it last wrote to.
#[derive(Debug, Clone, Copy)]
struct SeriesSlot {
    /// Row id in `series`.
    id: i64,
    /// Batch number of `chunk`.
    batch: u64,
    /// Source (names id) of `chunk`.
    source: i64,
    /// Time bucket ([`CHUNK_BUCKET_MS`]) of `chunk`.
    bucket: i64,
    /// Index of the chunk of the current batch this series last went into.
    chunk: usize,
}

/// The writer's caches of the `series` and `names` tables.
#[derive(Debug, Default)]
struct Dict {
    /// Series of roads, buildings, zones and the city with ids below [`DENSE_IDS`]: a
    /// table by id per [`dense_table`] (no hashing on the hot path).
    dense: Vec<Vec<Option<SeriesSlot>>>,
    /// Every other known series of a road, building, zone or the city, by [`compact_key`].
    compact: FastMap<u64, SeriesSlot>,
    /// Every other known (subject, metric).
    series: FastMap<(SubjectKey, Metric), SeriesSlot>,
    /// Widest chunk span (ms) of every series id.
    spans: FastMap<i64, i64>,
    /// Id of every name.
    names: FastMap<String, i64>,
    /// Number of the batch being written (starts at 1, so 0 in a slot means "none").
    batch: u64,
    /// Newest observation time written through this connection (`i64::MIN`: none).
    newest: i64,
}

impl SeriesSlot {
    fn new(id: i64) -> SeriesSlot {
        SeriesSlot {
            id,
            batch: 0,
            source: 0,
            bucket: 0,
            chunk: 0,
        }
    }
}

impl Dict {
    fn load(conn: &Connection) -> rusqlite::Result<Dict> {
        let mut d = Dict {
            newest: i64::MIN,
            ..Dict::default()
        };
        let mut st = conn.prepare("SELECT id, subject, metric, max_span FROM series")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let subject: String = r.get(1)?;
            let metric: String = r.get(2)?;
            let id: i64 = r.get(0)?;
            d.spans.insert(id, r.get(3)?);
            let Some((key, metric)) = series_key(&subject, &metric) else {
                continue;
            };
            let subject = key_subject(&key);
            if let Some(cell) = subject.as_ref().and_then(|s| d.dense_cell(s, metric)) {
                *cell = Some(SeriesSlot::new(id));
            } else if let Some(k) = subject.and_then(|s| compact_key(&s, metric)) {
                d.compact.insert(k, SeriesSlot::new(id));
            } else {
                d.series.insert((key, metric), SeriesSlot::new(id));
            }
        }
        let mut st = conn.prepare("SELECT id, name FROM names")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            d.names.insert(r.get(1)?, r.get(0)?);
        }
        Ok(d)
    }

    fn name_id(&mut self, conn: &Connection, name: &str) -> rusqlite::Result<i64> {
        if let Some(&id) = self.names.get(name) {
            return Ok(id);
        }
        conn.prepare_cached("INSERT INTO names (name) VALUES (?1) ON CONFLICT DO NOTHING")?
            .execute([name])?;
        let id: i64 = conn
            .prepare_cached("SELECT id FROM names WHERE name = ?1")?
            .query_row([name], |r| r.get(0))?;
        self.names.insert(name.to_string(), id);
        Ok(id)
    }

    /// The slot of a series, adding the series to the table when new.
    /// The cell of a series in the dense tables, grown to hold it; `None` for subjects
    /// that are not there.
    fn dense_cell(&mut self, subject: &Subject, metric: Metric) -> Option<&mut Option<SeriesSlot>> {
        let (table, id) = dense_table(subject, metric)?;
        if self.dense.len() <= table {
            self.dense.resize_with(table + 1, Vec::new);
        }
        let t = &mut self.dense[table];
        if t.len() <= id {
            t.resize(id + 1, None);
        }
        Some(&mut t[id])
    }

    fn series_slot(&mut self, conn: &Connection, o: &Observation) -> rusqlite::Result<&mut SeriesSlot> {
        use std::collections::hash_map::Entry;
        if let Some((table, id)) = dense_table(&o.subject, o.metric) {
            let known = matches!(self.dense.get(table).and_then(|t| t.get(id)), Some(Some(_)));
            if !known {
                let slot = add_series(conn, &mut self.spans, &SubjectKey::of(o), o.metric)?;
                *self.dense_cell(&o.subject, o.metric).expect("a dense subject") = Some(slot);
            }
            return Ok(self.dense[table][id].as_mut().expect("known or just added"));
        }
        // Roads, buildings, zones and the city: an integer key, no allocation.
        if let Some(k) = compact_key(&o.subject, o.metric) {
            return Ok(match self.compact.entry(k) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => {
                    e.insert(add_series(conn, &mut self.spans, &SubjectKey::of(o), o.metric)?)
                }
            });
        }
        Ok(match self.series.entry((SubjectKey::of(o), o.metric)) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let slot = add_series(conn, &mut self.spans, &e.key().0, o.metric)?;
                e.insert(slot)
            }
        })
    }
}

/// Subject ids below this have their series in [`Dict::dense`] tables.
const DENSE_IDS: u32 = 1 << 22;

/// The kind (1 road, 2 building, 3 zone, 4 city) and id of a subject that needs no text.
fn kind_and_id(subject: &Subject) -> Option<(u64, u32)> {
    Some(match subject {
        Subject::Road(r) => (1, r.0),
        Subject::Building(b) => (2, b.0),
        Subject::Zone(z) => (3, z.0),
        Subject::City => (4, 0),
        Subject::Sensor(_) | Subject::Point { .. } => return None,
    })
}

/// The dense table (by kind and metric) and row (the id) of a subject's series.
fn dense_table(subject: &Subject, metric: Metric) -> Option<(usize, usize)> {
    let (kind, id) = kind_and_id(subject)?;
    (id < DENSE_IDS).then_some((kind as usize * Metric::ALL.len() + metric as usize, id as usize))
}

/// The integer key of a subject that needs no text: kind, metric and id in one word.
fn compact_key(subject: &Subject, metric: Metric) -> Option<u64> {
    let (kind, id) = kind_and_id(subject)?;
    Some(kind << 40 | (metric as u64) << 32 | u64::from(id))
}

/// The subject of a [`SubjectKey`] as far as [`compact_key`] needs it.
fn key_subject(key: &SubjectKey) -> Option<Subject> {
    Some(match key {
        SubjectKey::Road(r) => Subject::Road(*r),
        SubjectKey::Building(b) => Subject::Building(*b),
        SubjectKey::Zone(z) => Subject::Zone(*z),
        SubjectKey::City => Subject::City,
        _ => return None,
    })
}

/// Adds a series to the table (or finds it, when another connection added it).
fn add_series(
    conn: &Connection,
    spans: &mut FastMap<i64, i64>,
    key: &SubjectKey,
    metric: Metric,
) -> rusqlite::Result<SeriesSlot> {
    let subject = key.to_string();
    conn.prepare_cached("INSERT INTO series (subject, metric) VALUES (?1, ?2) ON CONFLICT DO NOTHING")?
        .execute(params![subject, metric.id()])?;
    let (id, span) = conn
        .prepare_cached("SELECT id, max_span FROM series WHERE subject = ?1 AND metric = ?2")?
        .query_row(params![subject, metric.id()], |r| Ok((r.get(0)?, r.get(1)?)))?;
    spans.insert(id, span);
    Ok(SeriesSlot::new(id))
}

/// Packs observations into chunks and inserts them (inside the caller's transaction).
fn write_batch<'a>(
    conn: &Connection,
    dict: &mut Dict,
    batch: impl IntoIterator<Item = &'a Observation>,
) -> rusqlite::Result<()> {
    dict.batch += 1;
    let batch_no = dict.batch;
    let mut chunks: Vec<ChunkBuf> = Vec::new();
    // Chunks by (series, source, time bucket), for series fed by several sources in one
    // batch or by observations far apart in time (a backfill, a late message).
    let mut chunk_of: FastMap<(i64, i64, i64), usize> = FastMap::default();
    let mut last_source: Option<(&str, i64)> = None;
    for o in batch {
        let source = match last_source {
            Some((name, id)) if name == o.source.0 => id,
            _ => {
                let id = dict.name_id(conn, &o.source.0)?;
                last_source = Some((&o.source.0, id));
                id
            }
        };
        let unit = if o.unit == o.metric.unit() {
            None
        } else {
            Some(dict.name_id(conn, &o.unit)?)
        };
        let bucket = o.time.0.div_euclid(CHUNK_BUCKET_MS);
        let slot = dict.series_slot(conn, o)?;
        let i = if slot.batch == batch_no && slot.source == source && slot.bucket == bucket {
            slot.chunk
        } else {
            let i = *chunk_of.entry((slot.id, source, bucket)).or_insert_with(|| {
                chunks.push(ChunkBuf::new(slot.id, source));
                chunks.len() - 1
            });
            *slot = SeriesSlot {
                id: slot.id,
                batch: batch_no,
                source,
                bucket,
                chunk: i,
            };
            i
        };
        let xy = match o.subject {
            Subject::Point { x, y } => Some((x, y)),
            _ => None,
        };
        chunks[i].push(o.time.0, o.value, o.quality, xy, unit, &o.detail);
    }
    let mut insert = conn.prepare_cached(
        "INSERT INTO chunks (series, source, t_min, t_max, n, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut widen = conn.prepare_cached("UPDATE series SET max_span = max(max_span, ?2) WHERE id = ?1")?;
    for c in &chunks {
        insert.execute(params![c.series, c.source, c.t_min, c.t_max, c.n, c.data])?;
        dict.newest = dict.newest.max(c.t_max);
        let span = c.t_max.saturating_sub(c.t_min);
        let widest = dict.spans.entry(c.series).or_default();
        if span > *widest {
            widen.execute(params![c.series, span])?;
            *widest = span;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Reading

pub(crate) fn subject_from(key: &SubjectKey, xy: Option<(f64, f64)>) -> Subject {
    match key {
        SubjectKey::Sensor(s) => Subject::Sensor(s.clone()),
        SubjectKey::Road(r) => Subject::Road(*r),
        SubjectKey::Building(b) => Subject::Building(*b),
        SubjectKey::Zone(z) => Subject::Zone(*z),
        SubjectKey::City => Subject::City,
        SubjectKey::Point(px, py) => {
            let (x, y) = xy.unwrap_or((*px as f64 / 100.0, *py as f64 / 100.0));
            Subject::Point { x, y }
        }
        SubjectKey::Item(_) => {
            let (x, y) = xy.unwrap_or((f64::NAN, f64::NAN));
            Subject::Point { x, y }
        }
    }
}

/// Decodes chunks into observations.
struct Reader<'a> {
    path: &'a Path,
    names: HashMap<i64, String>,
}

impl Reader<'_> {
    fn corrupt(&self, what: String) -> StoreError {
        StoreError::Corrupt {
            path: self.path.to_path_buf(),
            what,
        }
    }

    fn name(&self, id: i64) -> Result<&str, StoreError> {
        self.names
            .get(&id)
            .map(String::as_str)
            .ok_or_else(|| self.corrupt(format!("unknown name id {id}")))
    }

    fn observation(
        &self,
        key: &SubjectKey,
        metric: Metric,
        source: i64,
        r: &Record<'_>,
    ) -> Result<Observation, StoreError> {
        Ok(Observation {
            source: SourceId(self.name(source)?.to_string()),
            subject: subject_from(key, r.xy),
            metric,
            value: r.value,
            unit: match r.unit {
                Some(u) => self.name(u)?.to_string(),
                None => metric.unit().to_string(),
            },
            time: Timestamp(r.time),
            quality: r.quality,
            detail: r.detail.to_string(),
        })
    }

    /// Calls `f` with every record of a chunk; a bad record is an error naming the chunk.
    fn each<'d>(&self, chunk: i64, data: &'d [u8], mut f: impl FnMut(Record<'d>)) -> Result<(), StoreError> {
        for r in Records::new(data) {
            f(r.ok_or_else(|| self.corrupt(format!("chunk {chunk} has a truncated record")))?);
        }
        Ok(())
    }

    /// The chunk's latest record at or before `t` (the later one of equal times).
    fn latest<'d>(&self, chunk: i64, data: &'d [u8], t: Timestamp) -> Result<Option<Record<'d>>, StoreError> {
        let mut pick: Option<Record<'d>> = None;
        self.each(chunk, data, |rec| {
            if rec.time <= t.0 && pick.is_none_or(|p| rec.time >= p.time) {
                pick = Some(rec);
            }
        })?;
        Ok(pick)
    }
}

/// The subject and metric of a `series` row; `None` for pairs this version does not know.
pub(crate) fn series_key(subject: &str, metric: &str) -> Option<(SubjectKey, Metric)> {
    Some((SubjectKey::parse(subject)?, Metric::from_id(metric)?))
}

/// The history store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    dict: Dict,
}

impl Store {
    /// Opens (or creates) a store file, creating its folder, in WAL mode; a version-1 file
    /// is migrated to the current layout.
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
        conn.execute_batch(&format!(
            "PRAGMA synchronous={sync}; PRAGMA cache_size=-{CACHE_KIB};
             PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES};
             PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT};"
        ))
        .map_err(sql)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Version { path, found: version });
        }
        if version < SCHEMA_VERSION {
            conn.execute_batch(SCHEMA).map_err(sql)?;
        }
        let dict = Dict::load(&conn).map_err(sql)?;
        let mut store = Store { conn, path, dict };
        if version == SCHEMA_V1 {
            store.migrate_v1()?;
        } else if version < SCHEMA_VERSION {
            store
                .conn
                .execute_batch(&format!("PRAGMA user_version={SCHEMA_VERSION};"))
                .map_err(|e| store.err(e))?;
        }
        Ok(store)
    }

    /// Moves the rows of a version-1 file (one row per observation, text keys) into chunks,
    /// in one transaction: on failure the file stays as it was.
    fn migrate_v1(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        let has_old: bool = tx
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'observations'",
                [],
                |r| r.get(0),
            )
            .map_err(sql)?;
        if has_old {
            let mut after = i64::MIN;
            loop {
                let mut rows: Vec<Observation> = Vec::new();
                let mut last = None;
                {
                    let mut st = tx
                        .prepare(
                            "SELECT id, source, subject, x, y, metric, value, unit, time, quality, detail
                             FROM observations WHERE id > ?1 ORDER BY id LIMIT ?2",
                        )
                        .map_err(sql)?;
                    let mut q = st.query(params![after, MIGRATE_BATCH]).map_err(sql)?;
                    while let Some(r) = q.next().map_err(sql)? {
                        last = Some(r.get::<_, i64>(0).map_err(sql)?);
                        if let Some(o) = v1_row(r).map_err(sql)? {
                            rows.push(o);
                        }
                    }
                }
                let Some(last) = last else { break };
                after = last;
                write_batch(&tx, &mut self.dict, &rows).map_err(sql)?;
            }
            tx.execute_batch("DROP TABLE observations; DROP TABLE IF EXISTS series_keys;")
                .map_err(sql)?;
        }
        tx.execute_batch(&format!("PRAGMA user_version={SCHEMA_VERSION};"))
            .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(())
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

    /// Column `i` of a row as a blob (a chunk's packed records).
    fn blob<'r>(&self, r: &'r rusqlite::Row<'_>, i: usize) -> Result<&'r [u8], StoreError> {
        r.get_ref(i)
            .map_err(|e| self.err(e))?
            .as_blob()
            .map_err(|e| self.err(e.into()))
    }

    fn reader(&self) -> Result<Reader<'_>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, name FROM names")
            .map_err(|e| self.err(e))?;
        let names = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?
            .collect::<Result<HashMap<i64, String>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(Reader {
            path: &self.path,
            names,
        })
    }

    /// Appends observations in one transaction; when this returns `Ok` they are stored
    /// (acknowledged). On an error nothing of the batch is stored.
    pub fn append(&mut self, batch: &[Observation]) -> Result<usize, StoreError> {
        self.append_batches(std::slice::from_ref(&batch))
    }

    /// Appends several batches in one transaction, as [`Store::append`] does one.
    pub fn append_batches<B: AsRef<[Observation]>>(&mut self, batches: &[B]) -> Result<usize, StoreError> {
        let n: usize = batches.iter().map(|b| b.as_ref().len()).sum();
        if n == 0 {
            return Ok(0);
        }
        let path = self.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        let newest = self.dict.newest;
        let rows = batches.iter().flat_map(|b| b.as_ref());
        let written = write_batch(&tx, &mut self.dict, rows).and_then(|()| tx.commit());
        if let Err(e) = written {
            // The transaction rolled back: ids cached during it may not exist.
            self.dict = Dict::load(&self.conn).unwrap_or_default();
            self.dict.newest = newest;
            return Err(sql(e));
        }
        Ok(n)
    }

    /// The newest observation time appended through this store since it was opened.
    pub fn newest_written(&self) -> Option<Timestamp> {
        (self.dict.newest != i64::MIN).then_some(Timestamp(self.dict.newest))
    }

    /// Deletes observations older than `before`; returns how many.
    pub fn prune_before(&mut self, before: Timestamp) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        let whole: i64 = tx
            .query_row(
                "SELECT coalesce(sum(n), 0) FROM chunks WHERE t_min < ?1 AND t_max < ?1",
                [before.0],
                |r| r.get(0),
            )
            .map_err(sql)?;
        tx.execute("DELETE FROM chunks WHERE t_min < ?1 AND t_max < ?1", [before.0])
            .map_err(sql)?;
        // Chunks across the limit are rewritten with their newer records only.
        let straddling: Vec<(i64, Vec<u8>)> = {
            let mut st = tx
                .prepare("SELECT id, data FROM chunks WHERE t_min < ?1 AND t_max >= ?1")
                .map_err(sql)?;
            st.query_map([before.0], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(sql)?
                .collect::<Result<_, _>>()
                .map_err(sql)?
        };
        let mut partial = 0usize;
        for (id, data) in straddling {
            let mut kept = ChunkBuf::new(0, 0);
            for r in Records::new(&data) {
                let r = r.ok_or_else(|| StoreError::Corrupt {
                    path: path.clone(),
                    what: format!("chunk {id} has a truncated record"),
                })?;
                if r.time >= before.0 {
                    kept.push(r.time, r.value, r.quality, r.xy, r.unit, r.detail);
                } else {
                    partial += 1;
                }
            }
            tx.execute(
                "UPDATE chunks SET t_min = ?2, t_max = ?3, n = ?4, data = ?5 WHERE id = ?1",
                params![id, kept.t_min, kept.t_max, kept.n, kept.data],
            )
            .map_err(sql)?;
        }
        tx.commit().map_err(sql)?;
        Ok(whole as usize + partial)
    }

    /// Number of observations stored.
    pub fn count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT coalesce(sum(n), 0) FROM chunks", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// Earliest and latest observation time, `None` when empty.
    pub fn time_range(&self) -> Result<Option<(Timestamp, Timestamp)>, StoreError> {
        self.conn
            .query_row("SELECT min(t_min), max(t_max) FROM chunks", [], |r| {
                Ok(match (r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?) {
                    (Some(a), Some(b)) => Some((Timestamp(a), Timestamp(b))),
                    _ => None,
                })
            })
            .map_err(|e| self.err(e))
    }

    /// The latest observation of every (subject, metric) at or before `t` (the time slider's
    /// picture of the twin at `t`), optionally no older than `t - max_age_ms`. Of equal times
    /// the one stored last wins.
    pub fn latest_at(
        &self,
        t: Timestamp,
        max_age_ms: Option<i64>,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        let from = max_age_ms.map_or(i64::MIN, |a| t.0.saturating_sub(a));
        // Per series: the last chunk starting at or before t bounds the answer from below
        // (it holds a record at its t_min); no chunk starting more than the series' widest
        // span before that bound can hold a later record.
        let mut st = self
            .conn
            .prepare_cached(
                // CROSS JOIN and INDEXED BY fix the plan: series outside, one index range
                // of chunks per series inside (without statistics SQLite would scan the
                // time index over the whole history).
                "WITH b AS (
                     SELECT s.id AS sid, s.subject AS subject, s.metric AS metric,
                            (SELECT max(i.t_min) FROM chunks i
                             WHERE i.series = s.id AND i.t_min <= ?1) - s.max_span AS lo
                     FROM series s)
                 SELECT b.sid, b.subject, b.metric, c.id, c.source, c.data
                 FROM b CROSS JOIN chunks c INDEXED BY chunks_series_time
                 WHERE c.series = b.sid AND c.t_min >= b.lo AND c.t_min <= ?1 AND c.t_max >= ?2
                 ORDER BY b.sid",
            )
            .map_err(|e| self.err(e))?;
        let reader = self.reader()?;
        let mut rows = st.query(params![t.0, from]).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        // The series being scanned and its best observation so far, by (time, chunk id).
        let mut current: Option<(i64, Option<(SubjectKey, Metric)>)> = None;
        let mut best: Option<((i64, i64), Observation)> = None;
        let mut flush = |key: &Option<(SubjectKey, Metric)>, best: &mut Option<((i64, i64), Observation)>| {
            if let (Some((k, _)), Some((_, o))) = (key, best.take())
                && o.time.0 >= from
            {
                out.push(StoredObservation {
                    key: k.clone(),
                    observation: o,
                });
            }
        };
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let sid: i64 = r.get(0).map_err(|e| self.err(e))?;
            if current.as_ref().is_none_or(|(id, _)| *id != sid) {
                if let Some((_, key)) = &current {
                    flush(key, &mut best);
                }
                let subject: String = r.get(1).map_err(|e| self.err(e))?;
                let metric: String = r.get(2).map_err(|e| self.err(e))?;
                current = Some((sid, series_key(&subject, &metric)));
            }
            let Some((_, Some((key, metric)))) = &current else {
                continue;
            };
            let chunk: i64 = r.get(3).map_err(|e| self.err(e))?;
            let source: i64 = r.get(4).map_err(|e| self.err(e))?;
            let data = self.blob(r, 5)?;
            if let Some(rec) = reader.latest(chunk, data, t)?
                && best.as_ref().is_none_or(|(b, _)| (rec.time, chunk) > *b)
            {
                best = Some(((rec.time, chunk), reader.observation(key, *metric, source, &rec)?));
            }
        }
        if let Some((_, key)) = &current {
            flush(key, &mut best);
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
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT c.id, c.source, c.data
                 FROM series s CROSS JOIN chunks c INDEXED BY chunks_series_time
                 WHERE c.series = s.id AND s.subject = ?1 AND s.metric = ?2 AND c.t_min <= ?3
                   AND c.t_min >= (SELECT max(i.t_min) FROM chunks i
                                   WHERE i.series = s.id AND i.t_min <= ?3) - s.max_span
                 ORDER BY c.id",
            )
            .map_err(|e| self.err(e))?;
        let reader = self.reader()?;
        let mut rows = st
            .query(params![key.to_string(), metric.id(), t.0])
            .map_err(|e| self.err(e))?;
        let mut best: Option<Observation> = None;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let chunk: i64 = r.get(0).map_err(|e| self.err(e))?;
            let source: i64 = r.get(1).map_err(|e| self.err(e))?;
            let data = self.blob(r, 2)?;
            if let Some(rec) = reader.latest(chunk, data, t)?
                && best.as_ref().is_none_or(|b| rec.time >= b.time.0)
            {
                best = Some(reader.observation(key, metric, source, &rec)?);
            }
        }
        Ok(best)
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
                "SELECT c.id, c.data
                 FROM series s CROSS JOIN chunks c INDEXED BY chunks_series_time
                 WHERE c.series = s.id AND s.subject = ?1 AND s.metric = ?2 AND c.t_min <= ?4
                   AND c.t_min >= ?3 - s.max_span AND c.t_max >= ?3
                 ORDER BY c.id",
            )
            .map_err(|e| self.err(e))?;
        let reader = Reader {
            path: &self.path,
            names: HashMap::new(),
        };
        let mut rows = st
            .query(params![key.to_string(), metric.id(), from.0, to.0])
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let chunk: i64 = r.get(0).map_err(|e| self.err(e))?;
            let data = self.blob(r, 1)?;
            reader.each(chunk, data, |rec| {
                if rec.time >= from.0 && rec.time <= to.0 {
                    out.push((Timestamp(rec.time), rec.value));
                }
            })?;
        }
        // Stable: equal times stay in the order they were stored.
        out.sort_by_key(|(t, _)| *t);
        Ok(out)
    }

    /// Every observation of one metric with `from <= time <= to`, in time order (e.g. the
    /// service requests behind the map).
    pub fn metric_range(
        &self,
        metric: Metric,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Observation>, StoreError> {
        let mut all = self.range(from, to)?;
        all.retain(|o| o.metric == metric);
        Ok(all)
    }

    /// Every observation with `from <= time <= to`, in time order (exports, replays); equal
    /// times in the order they were stored.
    pub fn range(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Observation>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT s.subject, s.metric, c.id, c.source, c.data
                 FROM chunks c JOIN series s ON s.id = c.series
                 WHERE c.t_min <= ?2 AND c.t_max >= ?1
                   AND c.t_min >= ?1 - (SELECT coalesce(max(max_span), 0) FROM series)
                 ORDER BY c.id",
            )
            .map_err(|e| self.err(e))?;
        let reader = self.reader()?;
        let mut rows = st.query(params![from.0, to.0]).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let subject: String = r.get(0).map_err(|e| self.err(e))?;
            let metric: String = r.get(1).map_err(|e| self.err(e))?;
            let Some((key, metric)) = series_key(&subject, &metric) else {
                continue;
            };
            let chunk: i64 = r.get(2).map_err(|e| self.err(e))?;
            let source: i64 = r.get(3).map_err(|e| self.err(e))?;
            let data = self.blob(r, 4)?;
            let mut failed = None;
            reader.each(chunk, data, |rec| {
                if rec.time >= from.0 && rec.time <= to.0 && failed.is_none() {
                    match reader.observation(&key, metric, source, &rec) {
                        Ok(o) => out.push(o),
                        Err(e) => failed = Some(e),
                    }
                }
            })?;
            if let Some(e) = failed {
                return Err(e);
            }
        }
        out.sort_by_key(|o| o.time);
        Ok(out)
    }
}

/// Reads a row of the version-1 `observations` table (`id` first); rows with an unknown
/// subject or metric are skipped (`None`), as version 1 skipped them when reading.
fn v1_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Observation>> {
    let subject: String = row.get(2)?;
    let metric: String = row.get(5)?;
    let (Some(key), Some(metric)) = (SubjectKey::parse(&subject), Metric::from_id(&metric)) else {
        return Ok(None);
    };
    let x: Option<f64> = row.get(3)?;
    let y: Option<f64> = row.get(4)?;
    let quality: Option<String> = row.get(9)?;
    Ok(Some(Observation {
        source: SourceId(row.get(1)?),
        subject: subject_from(&key, x.zip(y)),
        metric,
        value: row.get(6)?,
        unit: row.get(7)?,
        time: Timestamp(row.get(8)?),
        quality: match quality.as_deref() {
            Some("good") => Some(Quality::Good),
            Some("raw") => Some(Quality::Raw),
            Some("suspect") => Some(Quality::Suspect),
            Some("estimated") => Some(Quality::Estimated),
            _ => None,
        },
        detail: row.get(10)?,
    }))
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
    fn a_chunks_last_record_is_the_one_a_later_query_picks() {
        // Out of order, with a tie at the greatest time: the later pushed of the tie wins,
        // as the slider's pick over the whole chunk does.
        let mut c = ChunkBuf::new(1, 1);
        assert!(c.last_record().is_empty());
        c.push(50, 1.0, None, None, None, "");
        c.push(90, 2.0, Some(Quality::Raw), Some((1.5, 2.5)), Some(7), "first");
        c.push(10, 3.0, None, None, None, "");
        c.push(90, 4.0, Some(Quality::Suspect), None, None, "tie, later");
        c.push(60, 5.0, None, None, None, "");
        let mut pick: Option<Record<'_>> = None;
        for r in Records::new(&c.data) {
            let r = r.expect("record");
            if pick.is_none_or(|p| r.time >= p.time) {
                pick = Some(r);
            }
        }
        let last = c.last_record();
        let alone: Vec<Record<'_>> = Records::new(&last).map(|r| r.expect("record")).collect();
        assert_eq!(alone, vec![pick.expect("a pick")]);
        assert_eq!(alone[0].value, 4.0);
        assert_eq!(alone[0].detail, "tie, later");
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

    /// The layout of schema version 1, as the first release wrote it.
    const SCHEMA_V1_SQL: &str = "
        CREATE TABLE observations (
            id INTEGER PRIMARY KEY, source TEXT NOT NULL, subject TEXT NOT NULL, x REAL, y REAL,
            metric TEXT NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL, time INTEGER NOT NULL,
            quality TEXT, detail TEXT NOT NULL);
        CREATE INDEX observations_subject_metric_time ON observations (subject, metric, time);
        CREATE INDEX observations_time ON observations (time);
        CREATE TABLE series_keys (subject TEXT NOT NULL, metric TEXT NOT NULL,
            PRIMARY KEY (subject, metric)) WITHOUT ROWID;
        PRAGMA user_version = 1;";

    #[test]
    fn version_1_files_are_migrated_and_newer_ones_refused_by_name() {
        let path = temp_db("migrate");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(SCHEMA_V1_SQL).unwrap();
            let mut st = c
                .prepare(
                    "INSERT INTO observations (source, subject, x, y, metric, value, unit, time, quality, detail)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .unwrap();
            for i in 0..30i64 {
                st.execute(params![
                    "sim",
                    format!("road:{}", i % 3),
                    None::<f64>,
                    None::<f64>,
                    "traffic_speed",
                    i as f64,
                    "km/h",
                    i * 1_000,
                    "raw",
                    ""
                ])
                .unwrap();
            }
            st.execute(params![
                "mqtt",
                "item:vehicle=tram-3",
                10.5,
                -4.25,
                "transit_delay",
                30.0,
                "min",
                5_500,
                None::<String>,
                "vehicle=tram-3;line=3"
            ])
            .unwrap();
            // A row this version cannot read stays skipped, as version 1 skipped it.
            st.execute(params![
                "sim",
                "planet:1",
                None::<f64>,
                None::<f64>,
                "noise",
                1.0,
                "dB(A)",
                0,
                None::<String>,
                ""
            ])
            .unwrap();
        }
        let s = Store::open(&path, Durability::Normal).unwrap();
        assert_eq!(s.count().unwrap(), 31);
        let version: i64 = s.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let road1 = s
            .series(
                &SubjectKey::Road(RoadId(1)),
                Metric::TrafficSpeed,
                Timestamp(0),
                Timestamp(i64::MAX),
            )
            .unwrap();
        assert_eq!(road1.len(), 10);
        assert_eq!(road1[0], (Timestamp(1_000), 1.0));
        let tram = s
            .value_at(
                &SubjectKey::Item("vehicle=tram-3".into()),
                Metric::TransitDelay,
                Timestamp(9_000),
            )
            .unwrap()
            .unwrap();
        assert_eq!(tram.subject, Subject::Point { x: 10.5, y: -4.25 });
        assert_eq!(
            (tram.unit.as_str(), tram.value, tram.source.0.as_str()),
            ("min", 30.0, "mqtt")
        );
        let r = s
            .value_at(
                &SubjectKey::Road(RoadId(2)),
                Metric::TrafficSpeed,
                Timestamp(29_000),
            )
            .unwrap()
            .unwrap();
        assert_eq!((r.value, r.quality), (29.0, Some(Quality::Raw)));
        drop(s);
        // Opening again finds version 2 and migrates nothing twice.
        assert_eq!(
            Store::open(&path, Durability::Normal).unwrap().count().unwrap(),
            31
        );
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch("PRAGMA user_version = 9;").unwrap();
        }
        let e = Store::open(&path, Durability::Normal).unwrap_err();
        assert!(matches!(e, StoreError::Version { found: 9, .. }), "{e}");
        assert!(e.to_string().contains("history.sqlite"), "{e}");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn late_and_out_of_order_values_are_found_by_every_query() {
        let mut s = Store::in_memory().unwrap();
        let road = |r| Subject::Road(RoadId(r));
        // Commit 1: a long chunk (0 s .. 100 s) for road 0; commit 2: road 0 at 50 s..60 s;
        // commit 3: a late value at 55.5 s, stored last.
        s.append(&[
            o(road(0), Metric::TrafficSpeed, 1.0, 0),
            o(road(0), Metric::TrafficSpeed, 9.0, 100_000),
        ])
        .unwrap();
        s.append(&[
            o(road(0), Metric::TrafficSpeed, 5.0, 50_000),
            o(road(0), Metric::TrafficSpeed, 6.0, 60_000),
        ])
        .unwrap();
        s.append(&[o(road(0), Metric::TrafficSpeed, 5.5, 55_500)])
            .unwrap();
        let key = SubjectKey::Road(RoadId(0));
        let at = |s: &Store, t| {
            s.value_at(&key, Metric::TrafficSpeed, Timestamp(t))
                .unwrap()
                .map(|o| o.value)
        };
        assert_eq!(at(&s, -1), None);
        assert_eq!(at(&s, 49_999), Some(1.0));
        assert_eq!(at(&s, 55_000), Some(5.0));
        assert_eq!(at(&s, 57_000), Some(5.5));
        assert_eq!(at(&s, 99_999), Some(6.0));
        assert_eq!(at(&s, 100_000), Some(9.0));
        let latest = s.latest_at(Timestamp(58_000), None).unwrap();
        assert_eq!(latest.len(), 1);
        assert_eq!(latest[0].observation.value, 5.5);
        assert!(s.latest_at(Timestamp(58_000), Some(1_000)).unwrap().is_empty());
        let series = s
            .series(&key, Metric::TrafficSpeed, Timestamp(10_000), Timestamp(99_000))
            .unwrap();
        assert_eq!(
            series,
            vec![
                (Timestamp(50_000), 5.0),
                (Timestamp(55_500), 5.5),
                (Timestamp(60_000), 6.0)
            ]
        );
        let range: Vec<f64> = s
            .range(Timestamp(55_000), Timestamp(100_000))
            .unwrap()
            .iter()
            .map(|o| o.value)
            .collect();
        assert_eq!(range, vec![5.5, 6.0, 9.0]);
        // Equal times: the value stored last wins.
        s.append(&[o(road(0), Metric::TrafficSpeed, 7.0, 60_000)])
            .unwrap();
        assert_eq!(at(&s, 60_000), Some(7.0));
        // Pruning cuts through the long first chunk.
        assert_eq!(s.prune_before(Timestamp(55_000)).unwrap(), 2);
        assert_eq!(s.count().unwrap(), 4);
        assert_eq!(at(&s, 54_000), None);
        assert_eq!(at(&s, 100_000), Some(9.0));
    }

    #[test]
    fn chunks_never_span_two_time_buckets() {
        let mut s = Store::in_memory().unwrap();
        let day: Vec<_> = (0..48)
            .map(|h| {
                o(
                    Subject::Zone(ZoneId(1)),
                    Metric::ElectricityLoad,
                    h as f64,
                    h * 1_800_000,
                )
            })
            .collect();
        s.append(&day).unwrap();
        let span: i64 = s
            .conn
            .query_row("SELECT max_span FROM series", [], |r| r.get(0))
            .unwrap();
        assert!(span < CHUNK_BUCKET_MS, "{span}");
        let chunks: i64 = s
            .conn
            .query_row("SELECT count(*) FROM chunks", [], |r| r.get(0))
            .unwrap();
        assert_eq!(chunks, 24);
        let key = SubjectKey::Zone(ZoneId(1));
        let v = s
            .value_at(&key, Metric::ElectricityLoad, Timestamp(10 * 3_600_000 + 1))
            .unwrap();
        assert_eq!(v.unwrap().value, 20.0);
        assert_eq!(
            s.latest_at(Timestamp(i64::MAX), None).unwrap()[0]
                .observation
                .value,
            47.0
        );
    }

    #[test]
    fn sources_units_points_and_details_round_trip_in_one_batch() {
        let mut s = Store::in_memory().unwrap();
        let (a, b) = (SourceId("a".into()), SourceId("b".into()));
        let mut batch = Vec::new();
        for i in 0..20 {
            let src = if i % 2 == 0 { &a } else { &b };
            let mut x = Observation::new(
                src,
                Subject::Sensor("aq:1".into()),
                Metric::Pm25,
                i as f64,
                Timestamp(i),
            );
            if i % 5 == 0 {
                x.unit = "mg/m³".into();
            }
            batch.push(x);
            let mut p = Observation::new(
                src,
                Subject::Point {
                    x: i as f64 * 0.5,
                    y: -1.0,
                },
                Metric::ServiceRequestOpened,
                3.0,
                Timestamp(i),
            );
            p.detail = format!("request={i};category=litter");
            p.quality = Some(Quality::Suspect);
            batch.push(p);
        }
        s.append(&batch).unwrap();
        let back = s.range(Timestamp(0), Timestamp(100)).unwrap();
        assert_eq!(back.len(), batch.len());
        let mut want = batch.clone();
        let sort = |v: &mut Vec<Observation>| v.sort_by(|x, y| (x.time, &x.detail).cmp(&(y.time, &y.detail)));
        sort(&mut want);
        let mut got = back;
        sort(&mut got);
        assert_eq!(got, want);
        let latest = s.latest_at(Timestamp(100), None).unwrap();
        // One sensor series and 20 request items.
        assert_eq!(latest.len(), 21);
        let aq = latest
            .iter()
            .find(|x| x.key == SubjectKey::Sensor("aq:1".into()))
            .unwrap();
        assert_eq!(
            (aq.observation.value, aq.observation.source.0.as_str()),
            (19.0, "b")
        );
    }

    #[test]
    fn a_corrupt_chunk_is_an_error_naming_the_file() {
        let mut s = Store::in_memory().unwrap();
        s.append(&[o(Subject::City, Metric::Noise, 50.0, 1_000)]).unwrap();
        s.conn.execute("UPDATE chunks SET data = x'ff'", []).unwrap();
        let e = s.range(Timestamp(0), Timestamp(2_000)).unwrap_err();
        assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
        assert!(e.to_string().contains(":memory:"), "{e}");
        assert!(s.latest_at(Timestamp(2_000), None).is_err());
    }

    #[test]
    fn records_round_trip_through_their_packing() {
        let mut c = ChunkBuf::new(1, 1);
        c.push(-5, 1.5, None, None, None, "");
        c.push(
            i64::MAX,
            f64::MIN_POSITIVE,
            Some(Quality::Good),
            Some((1.0, 2.0)),
            Some(300),
            "ü=1",
        );
        c.push(i64::MIN, -0.0, Some(Quality::Estimated), None, None, "");
        let back: Vec<_> = Records::new(&c.data).map(Option::unwrap).collect();
        assert_eq!(back.len(), 3);
        assert_eq!((back[0].time, back[0].value), (-5, 1.5));
        assert_eq!(back[1].time, i64::MAX);
        assert_eq!(
            (back[1].xy, back[1].unit, back[1].detail),
            (Some((1.0, 2.0)), Some(300), "ü=1")
        );
        assert_eq!(
            (back[2].time, back[2].quality),
            (i64::MIN, Some(Quality::Estimated))
        );
        assert_eq!((c.t_min, c.t_max, c.n), (i64::MIN, i64::MAX, 3));
        // Cut anywhere, a chunk yields a bad record rather than a panic.
        for cut in 0..c.data.len() {
            let items: Vec<_> = Records::new(&c.data[..cut]).collect();
            assert!(items.iter().flatten().count() < 3, "{cut}");
            assert!(items.iter().rev().skip(1).all(Option::is_some), "{cut}");
        }
    }
}
