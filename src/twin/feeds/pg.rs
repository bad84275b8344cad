//! The history in PostgreSQL, shared by every seat of a control room: one seat (or a
//! headless ingest) writes, every seat reads the same observations.
//!
//! Layout (in the scene's schema, `citytwin` by default): `series` (subject, metric, the
//! widest chunk span) and `names` (sources and non-canonical units) as in the SQLite file,
//! and `chunks`, declaratively partitioned by range of `t_min` (one partition per
//! `partition_days`, made when first needed), each row the observations of one (series,
//! source) of one committed batch within one hour, packed as the SQLite store packs them
//! (time deltas, values, flags; see [`crate::twin::feeds::store`]), with the chunk's last
//! record packed alone beside it (`last`: what a time-slider query at or after the chunk's
//! end picks from it, sent instead of the whole chunk; NULL in rows written before it was
//! added, which send their data). A BRIN index on
//! (`t_min`, `t_max`) serves wide time windows over old partitions (summarised by
//! autovacuum), a b-tree on `t_min` the newest rows BRIN has not summarised yet (the time
//! slider's window; a chunk row stands for many observations, so it stays small), and one
//! on (`series`, `t_min`) the per-series look-ups. Beside them, time-major, `slices`: each
//! commit's records again, one row per [`SLICE_MS`] slice of time holding every series'
//! records of that slice (series, source and chunk ids as arrays, the records packed as in
//! a chunk), partitioned alike, so that the time slider's picture of every series with a
//! record in the last few slices is a few rows rather than one per series (a design with
//! per-series chunks has that floor). Batches go in by binary `COPY`, in one transaction
//! each; retention drops whole partitions, trims the chunks across the limit and deletes
//! the slices before it. Plain PostgreSQL 15: no extension.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use postgres::{Client, GenericClient, NoTls};

use crate::twin::feeds::fasthash::FastMap;
use crate::twin::feeds::history::History;
use crate::twin::feeds::key::SubjectKey;
use crate::twin::feeds::observation::{Metric, Observation, SourceId, Subject, Timestamp};
use crate::twin::feeds::spec::PostgresHistorySpec;
use crate::twin::feeds::store::{
    CHUNK_BUCKET_MS, ChunkBuf, Record, Records, StoreError, StoredObservation, series_key, subject_from,
};

/// Settings of every session: the time slider's queries are short index scans, for which
/// compiling the plan (JIT, which the planner picks on the chunk table's row estimates)
/// and starting parallel workers cost more than they save.
pub const SESSION_SETTINGS: &str = "SET jit = off; SET max_parallel_workers_per_gather = 0";
/// The server's defaults of [`SESSION_SETTINGS`] (the benchmark times the queries with
/// both).
pub const SERVER_DEFAULTS: &str = "RESET jit; RESET max_parallel_workers_per_gather";

/// Layout version kept in the `meta` table.
const PG_SCHEMA_VERSION: i64 = 1;

/// The tables, `{s}` standing for the schema.
const PG_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS {s}.meta (key text PRIMARY KEY, value bigint NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.names (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS {s}.series (
    id bigserial PRIMARY KEY,
    subject text NOT NULL,
    metric text NOT NULL,
    max_span bigint NOT NULL DEFAULT 0,
    UNIQUE (subject, metric)
);
CREATE TABLE IF NOT EXISTS {s}.chunks (
    id bigserial NOT NULL,
    series bigint NOT NULL,
    source bigint NOT NULL,
    t_min bigint NOT NULL,
    t_max bigint NOT NULL,
    n integer NOT NULL,
    data bytea NOT NULL,
    last bytea
) PARTITION BY RANGE (t_min);
ALTER TABLE {s}.chunks ADD COLUMN IF NOT EXISTS last bytea;
CREATE INDEX IF NOT EXISTS chunks_time_brin ON {s}.chunks USING brin (t_min, t_max)
    WITH (autosummarize = on);
CREATE INDEX IF NOT EXISTS chunks_time ON {s}.chunks (t_min);
CREATE INDEX IF NOT EXISTS chunks_series_time ON {s}.chunks (series, t_min);
CREATE TABLE IF NOT EXISTS {s}.slices (
    slot bigint NOT NULL,
    n integer NOT NULL,
    ids bytea NOT NULL,
    data bytea NOT NULL
) PARTITION BY RANGE (slot);
ALTER TABLE {s}.slices ALTER COLUMN ids SET STORAGE EXTERNAL, ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE INDEX IF NOT EXISTS slices_slot ON {s}.slices (slot);
";

/// Width of a time slice ([`SliderQuery::Slices`]), ms; divides every partition's width
/// (whole hours).
pub const SLICE_MS: i64 = 10_000;
/// Slices before the instant's own that the time slider reads.
const SLICES_BACK: i64 = 2;

/// Summarises the new pages of every BRIN index of the schema's chunk partitions.
const SUMMARIZE_BRIN: &str = "
SELECT brin_summarize_new_values(ix.indexrelid::regclass)
FROM pg_inherits inh
JOIN pg_class p ON p.oid = inh.inhparent
JOIN pg_namespace n ON n.oid = p.relnamespace
JOIN pg_index ix ON ix.indrelid = inh.inhrelid
JOIN pg_class ic ON ic.oid = ix.indexrelid
JOIN pg_am am ON am.oid = ic.relam
WHERE p.relname = 'chunks' AND n.nspname = $1 AND am.amname = 'brin'";

/// Which query the time slider's picture reads its window with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliderQuery {
    /// Every chunk of the window is decoded (the first version).
    Window,
    /// Only the chunks of the window that can hold a series' answer are decoded: every
    /// chunk of a series starting at or before `t` holds a record no earlier than its
    /// `t_min` (and one at its `t_max` when it ends at or before `t`), so the series'
    /// latest record is no earlier than the greatest of these bounds, and a chunk ending
    /// before it is skipped. (Filtering in SQL instead costs a sort of the window, data
    /// and all, which spills to disk: slower than sending it.)
    Candidates,
    /// As [`SliderQuery::Candidates`], and a chunk ending at or before `t` sends its last
    /// record alone (`last`) instead of all its records: only the chunks across `t` send
    /// their data.
    LastRecords,
    /// Time-major: the records of the last few time slices before `t` ([`SLICE_MS`]
    /// wide, [`SLICES_BACK`] before `t`'s own), each slice of a commit one row holding
    /// every series' records of that slice, give the picture of every series with a
    /// record there in a few rows; the other series are read as by
    /// [`SliderQuery::LastRecords`]. The default where the schema has slices.
    Slices,
}

/// What the reader knows of the `series` and `names` tables.
#[derive(Debug, Default)]
struct ReadCache {
    /// Key of every series id (`None`: a pair this version does not know).
    series: HashMap<i64, Option<(SubjectKey, Metric)>>,
    /// Largest series id when last loaded.
    max_series: i64,
    /// Every name by id.
    names: HashMap<i64, String>,
}

/// A history in a PostgreSQL schema.
pub struct PgHistory {
    client: Mutex<Client>,
    /// The database (URL without password) and schema, for messages.
    target: String,
    /// Quoted schema name.
    schema: String,
    /// Width of a partition, ms.
    partition_ms: i64,
    /// Writer side: series ids and their widest chunk span.
    series: FastMap<(SubjectKey, Metric), (i64, i64)>,
    /// Writer side: name ids.
    names: FastMap<String, i64>,
    /// Partitions known to exist, by index (`t_min.div_euclid(partition_ms)`).
    partitions: HashSet<i64>,
    /// Slice partitions known to exist, by the same index.
    slice_parts: HashSet<i64>,
    /// Whether the schema has the `slices` table (one an older writer made has not: a
    /// read-only seat then reads by [`SliderQuery::LastRecords`]).
    has_slices: bool,
    /// Newest observation time appended through this handle (`i64::MIN`: none).
    newest: i64,
    /// A read-only seat's handle (`writer: false`): it makes no table and refuses to
    /// append or prune.
    read_only: bool,
    read: Mutex<ReadCache>,
}

impl std::fmt::Debug for PgHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgHistory")
            .field("target", &self.target)
            .field("partition_ms", &self.partition_ms)
            .finish_non_exhaustive()
    }
}

/// A connection URL with any password taken out.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth_end, _) = rest
        .char_indices()
        .find(|(_, c)| *c == '/' || *c == '?')
        .unwrap_or((rest.len(), '/'));
    match rest[..auth_end].rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            format!("{scheme}://{user}@{host}{}", &rest[auth_end..])
        }
        None => url.to_string(),
    }
}

/// The name of partition `k` (no sign in names: `p12`, `m3` for −3).
fn partition_name(k: i64) -> String {
    format!("chunks_{}{}", if k < 0 { "m" } else { "p" }, k.unsigned_abs())
}

/// Appends `v` as a LEB128 varint.
fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// `v - prev`, zigzag-coded.
fn zigzag_delta(v: i64, prev: i64) -> u64 {
    let d = v.wrapping_sub(prev);
    ((d << 1) ^ (d >> 63)) as u64
}

/// The (series, source, chunk) ids of a slice's records, in their order.
type SliceIds = Vec<(i64, i64, i64)>;

/// A slice being packed: its slot, records, and each record's series, source and chunk
/// (index in the commit's chunks).
type SliceBuf = (i64, ChunkBuf, Vec<i64>, Vec<i64>, Vec<usize>);

/// The (series, source, chunk) ids of a slice's records: three varints each, the chunk's
/// as a zigzag delta to the record before; `None` when truncated.
fn slice_ids(mut b: &[u8]) -> Option<SliceIds> {
    let varint = |b: &mut &[u8]| -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&x, rest) = b.split_first()?;
            *b = rest;
            v |= u64::from(x & 0x7f) << shift;
            if x < 0x80 {
                return Some(v);
            }
        }
        None
    };
    let mut out = Vec::with_capacity(b.len() / 4);
    let mut chunk = 0i64;
    while !b.is_empty() {
        let series = varint(&mut b)? as i64;
        let source = varint(&mut b)? as i64;
        let z = varint(&mut b)?;
        chunk = chunk.wrapping_add(((z >> 1) as i64) ^ -((z & 1) as i64));
        out.push((series, source, chunk));
    }
    Some(out)
}

/// The name of slice partition `k`.
fn slice_partition_name(k: i64) -> String {
    partition_name(k).replacen("chunks_", "slices_", 1)
}

/// The partition index of a partition name.
fn partition_index(name: &str) -> Option<i64> {
    let rest = name.strip_prefix("chunks_")?;
    let (sign, digits) = (rest.get(..1)?, rest.get(1..)?);
    let v: i64 = digits.parse().ok()?;
    match sign {
        "p" => Some(v),
        "m" => Some(-v),
        _ => None,
    }
}

impl PgHistory {
    /// Connects and makes the schema and tables when missing (under an advisory lock, so
    /// seats starting together do not race).
    pub fn open(spec: &PostgresHistorySpec) -> Result<PgHistory, StoreError> {
        let target = format!("{} (schema {})", redact_url(&spec.url), spec.schema);
        let fail = |message: String| StoreError::Postgres {
            target: target.clone(),
            message,
        };
        if spec.schema.is_empty() || !spec.schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(fail(format!(
                "schema '{}' must be letters, digits and _",
                spec.schema
            )));
        }
        let mut config: postgres::Config = spec
            .url
            .parse()
            .map_err(|e: postgres::Error| fail(format!("bad URL: {e}")))?;
        if let Some(var) = &spec.password_env {
            let pw =
                std::env::var(var).map_err(|_| fail(format!("environment variable {var} is not set")))?;
            config.password(pw);
        }
        let mut client = config.connect(NoTls).map_err(|e| fail(pg_message(&e)))?;
        client
            .batch_execute(SESSION_SETTINGS)
            .map_err(|e| fail(pg_message(&e)))?;
        let schema = format!("\"{}\"", spec.schema);
        // Whole hours, so that a chunk (within one hour bucket) never crosses a partition.
        let hours = (spec.partition_days * 24.0).round().max(1.0);
        let wanted_ms = (hours as i64).saturating_mul(CHUNK_BUCKET_MS);
        let meta: HashMap<String, i64> = if !spec.writer {
            // A reader makes nothing: the writer's layout must be there.
            let rows = client
                .query(&format!("SELECT key, value FROM {schema}.meta"), &[])
                .map_err(|e| fail(format!("read-only seat: no history to read: {}", pg_message(&e))))?;
            rows.iter().map(|r| (r.get(0), r.get(1))).collect()
        } else {
            let mut tx = client.transaction().map_err(|e| fail(pg_message(&e)))?;
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1))",
                &[&format!("citytwin:{}", spec.schema)],
            )
            .map_err(|e| fail(pg_message(&e)))?;
            tx.batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {schema};{}",
                PG_SCHEMA.replace("{s}", &schema)
            ))
            .map_err(|e| fail(pg_message(&e)))?;
            tx.execute(
                &format!(
                    "INSERT INTO {schema}.meta (key, value) VALUES ('schema_version', $1), ('partition_ms', $2)
                     ON CONFLICT (key) DO NOTHING"
                ),
                &[&PG_SCHEMA_VERSION, &wanted_ms],
            )
            .map_err(|e| fail(pg_message(&e)))?;
            let meta: HashMap<String, i64> = tx
                .query(&format!("SELECT key, value FROM {schema}.meta"), &[])
                .map_err(|e| fail(pg_message(&e)))?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            tx.commit().map_err(|e| fail(pg_message(&e)))?;
            meta
        };
        let version = meta.get("schema_version").copied().unwrap_or(0);
        if version > PG_SCHEMA_VERSION {
            return Err(fail(format!(
                "schema version {version} is newer than {PG_SCHEMA_VERSION}"
            )));
        }
        // The layout already there wins over the scene's setting.
        let partition_ms = meta
            .get("partition_ms")
            .copied()
            .filter(|p| *p > 0)
            .unwrap_or(wanted_ms);
        let has_slices: bool = client
            .query_one(
                "SELECT to_regclass($1) IS NOT NULL",
                &[&format!("{schema}.slices")],
            )
            .map_err(|e| fail(pg_message(&e)))?
            .get(0);
        let mut h = PgHistory {
            has_slices,
            slice_parts: HashSet::new(),
            client: Mutex::new(client),
            target,
            schema,
            partition_ms,
            series: FastMap::default(),
            names: FastMap::default(),
            partitions: HashSet::new(),
            newest: i64::MIN,
            read_only: !spec.writer,
            read: Mutex::new(ReadCache::default()),
        };
        h.load_writer_cache()?;
        Ok(h)
    }

    fn err(&self, e: &postgres::Error) -> StoreError {
        StoreError::Postgres {
            target: self.target.clone(),
            message: pg_message(e),
        }
    }

    /// The error of a write asked of a read-only seat's handle.
    fn refused(&self, what: &str) -> StoreError {
        StoreError::Postgres {
            target: self.target.clone(),
            message: format!("read-only seat (writer: false): cannot {what}"),
        }
    }

    fn corrupt(&self, what: String) -> StoreError {
        StoreError::Corrupt {
            path: self.target.clone().into(),
            what,
        }
    }

    fn client(&self) -> std::sync::MutexGuard<'_, Client> {
        self.client.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The time slider's picture ([`History::latest_at`]) by either query (the benchmark
    /// times both).
    pub fn latest_at_with(
        &self,
        query: SliderQuery,
        t: Timestamp,
        max_age_ms: Option<i64>,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        if query == SliderQuery::Slices && self.has_slices {
            return self.latest_at_slices(t, max_age_ms);
        }
        let s = &self.schema;
        let from = max_age_ms.map_or(i64::MIN, |a| t.0.saturating_sub(a));
        let mut c = self.client();
        let widest = self.refresh_read(&mut *c, false)?;
        // 1. Chunks starting in [t - 3·widest, t]: every series with a chunk starting in
        //    [t - 2·widest, t] finds its answer among them (its last chunk at or before t
        //    starts there, and no chunk starting more than a span before that one can hold
        //    a later record).
        let near_lo =
            t.0.saturating_sub(widest.saturating_mul(3))
                .max(from.saturating_sub(widest));
        let covered_from = t.0.saturating_sub(widest.saturating_mul(2));
        // With last records, the first scan reads [t - 2·widest, t] only: a series with a
        // chunk starting in [t - widest, t] finds its answer there; one whose latest chunk
        // starts in [t - 2·widest, t - widest) has the chunks of [t - 3·widest, t - 2·widest)
        // read for it alone (a scan skipped when there is none); the others are read as
        // before, below. (Last records only: the other two stay as measured before.)
        let a_lo = match query {
            SliderQuery::LastRecords | SliderQuery::Slices => covered_from.max(near_lo),
            SliderQuery::Window | SliderQuery::Candidates => near_lo,
        };
        // What a chunk sends: its last record alone when it ends at or before t (`$2`).
        let payload = match query {
            SliderQuery::LastRecords | SliderQuery::Slices => {
                "CASE WHEN t_max <= $2 AND last IS NOT NULL THEN last ELSE data END"
            }
            SliderQuery::Window | SliderQuery::Candidates => "data",
        };
        let near = c
            .query(
                &format!(
                    "SELECT series, id, source, {payload}, t_min, t_max FROM {s}.chunks
                     WHERE t_min >= $1 AND t_min <= $2 AND t_max >= $3"
                ),
                &[&a_lo, &t.0, &from],
            )
            .map_err(|e| self.err(&e))?;
        let bounds = |r: &postgres::Row| (r.get::<_, i64>(0), r.get::<_, i64>(4), r.get::<_, i64>(5));
        let covered: HashSet<i64> = near
            .iter()
            .map(bounds)
            .filter(|&(_, t_min, _)| t_min >= covered_from)
            .map(|(series, _, _)| series)
            .collect();
        let mut near = near;
        if a_lo > near_lo {
            let one_span = t.0.saturating_sub(widest);
            let recent: HashSet<i64> = near
                .iter()
                .map(bounds)
                .filter(|&(_, t_min, _)| t_min >= one_span)
                .map(|(series, _, _)| series)
                .collect();
            let mut behind: Vec<i64> = covered.difference(&recent).copied().collect();
            behind.sort_unstable();
            if !behind.is_empty() {
                let more = c
                    .query(
                        &format!(
                            "SELECT series, id, source, {payload}, t_min, t_max FROM {s}.chunks
                             WHERE t_min >= $1 AND t_min < $4 AND t_max >= $3 AND series = ANY($5)
                               AND t_min <= $2"
                        ),
                        &[&near_lo, &t.0, &from, &a_lo, &behind],
                    )
                    .map_err(|e| self.err(&e))?;
                near.extend(more);
            }
        }
        let near: Vec<postgres::Row> = match query {
            SliderQuery::Window => near,
            SliderQuery::Candidates | SliderQuery::LastRecords | SliderQuery::Slices => {
                let mut lb: FastMap<i64, i64> = FastMap::default();
                for (series, t_min, t_max) in near.iter().map(bounds) {
                    let b = if t_max <= t.0 { t_max } else { t_min };
                    let e = lb.entry(series).or_insert(b);
                    *e = (*e).max(b);
                }
                near.into_iter()
                    .filter(|r| {
                        let (series, _, t_max) = bounds(r);
                        lb.get(&series).is_none_or(|b| t_max >= *b)
                    })
                    .collect()
            }
        };
        let mut rows = chunk_rows(near);
        // 2. The other series, one index look-up each.
        let others: Vec<i64> = {
            let cache = self.read.lock().unwrap_or_else(|p| p.into_inner());
            cache
                .series
                .keys()
                .copied()
                .filter(|id| !covered.contains(id))
                .collect()
        };
        let lo = from.saturating_sub(widest);
        if !others.is_empty() && max_age_ms.is_some() {
            // With an age limit, the rest of the window in one scan (the window bounds it).
            let payload = payload.replace("$2", "$5");
            let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = vec![&others, &lo, &a_lo, &from];
            if payload.contains("$5") {
                params.push(&t.0);
            }
            let q = c
                .query(
                    &format!(
                        "SELECT series, id, source, {payload} FROM {s}.chunks
                         WHERE t_min >= $2 AND t_min < $3 AND t_max >= $4 AND series = ANY($1)"
                    ),
                    &params,
                )
                .map_err(|e| self.err(&e))?;
            rows.extend(chunk_rows(q));
        } else if !others.is_empty() {
            let q = c
                .query(
                    &format!(
                        "SELECT c.series, c.id, c.source, {}
                         FROM unnest($1::int8[]) AS u(sid)
                         JOIN {s}.series ss ON ss.id = u.sid
                         CROSS JOIN LATERAL (SELECT max(i.t_min) AS last FROM {s}.chunks i
                                             WHERE i.series = u.sid AND i.t_min <= $2 AND i.t_min >= $3) m
                         JOIN {s}.chunks c ON c.series = u.sid AND c.t_min >= m.last - ss.max_span
                              AND c.t_min <= $2 AND c.t_max >= $4 AND c.t_min >= $3",
                        payload
                            .replace("t_max", "c.t_max")
                            .replace("last", "c.last")
                            .replace("data", "c.data")
                    ),
                    &[&others, &t.0, &lo, &from],
                )
                .map_err(|e| self.err(&e))?;
            rows.extend(chunk_rows(q));
        }
        self.know_ids(&mut c, rows.iter().map(|r| (r.0, r.2)))?;
        drop(c);
        let cache = self.read.lock().unwrap_or_else(|p| p.into_inner());
        // Per series, the latest record at or before t; equal times: the later chunk.
        let mut best: Best<'_> = FastMap::default();
        self.pick_latest(&rows, t.0, &mut best)?;
        self.picture(&cache, &best, from)
    }

    /// [`SliderQuery::Slices`]: the records of the slices from [`SLICES_BACK`] slices
    /// before `t`'s own up to `t` give the picture of every series with a record there
    /// (all of a series' records in that time are in those slices, and any record before
    /// it is older); the other series, by the chunks, as the last-records query reads the
    /// series its window misses. Equal times: the later chunk, then the later record.
    fn latest_at_slices(
        &self,
        t: Timestamp,
        max_age_ms: Option<i64>,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        let s = &self.schema;
        let from = max_age_ms.map_or(i64::MIN, |a| t.0.saturating_sub(a));
        let mut c = self.client();
        let widest = self.refresh_read(&mut *c, false)?;
        let slot = t.0.div_euclid(SLICE_MS).saturating_mul(SLICE_MS);
        let window_lo = slot.saturating_sub(SLICE_MS.saturating_mul(SLICES_BACK));
        let rows = c
            .query(
                &format!("SELECT ids, data FROM {s}.slices WHERE slot >= $1 AND slot <= $2"),
                &[&window_lo, &slot],
            )
            .map_err(|e| self.err(&e))?;
        if rows.is_empty() {
            // No slices there (a time written before slices were kept, or a gap): the
            // chunks' own query, rather than every series by the fallback below.
            drop(c);
            return self.latest_at_with(SliderQuery::LastRecords, t, max_age_ms);
        }
        let mut slices: Vec<(SliceIds, Vec<u8>)> = Vec::with_capacity(rows.len());
        for r in &rows {
            let ids: &[u8] = r.get(0);
            let ids =
                slice_ids(ids).ok_or_else(|| self.corrupt(format!("a slice at {slot} has truncated ids")))?;
            slices.push((ids, r.get(1)));
        }
        drop(rows);
        // Per series, the latest record at or before t; equal times: the later chunk, and
        // in one chunk (one slice row) the later record.
        let mut best: Best<'_> = FastMap::default();
        for (ids, data) in &slices {
            let mut k = 0usize;
            for r in Records::new(data) {
                let rec =
                    r.ok_or_else(|| self.corrupt(format!("a slice at {slot} has a truncated record")))?;
                let Some(&(sid, source, chunk)) = ids.get(k) else {
                    return Err(self.corrupt(format!("a slice at {slot} has more records than ids")));
                };
                k += 1;
                if rec.time > t.0 || rec.time < window_lo {
                    continue;
                }
                if best.get(&sid).is_none_or(|(b, _, _)| (rec.time, chunk) >= *b) {
                    best.insert(sid, ((rec.time, chunk), source, rec));
                }
            }
            if k != ids.len() {
                return Err(self.corrupt(format!("a slice at {slot} has fewer records than ids")));
            }
        }
        // The other series, by their chunks.
        let others: Vec<i64> = {
            let cache = self.read.lock().unwrap_or_else(|p| p.into_inner());
            cache
                .series
                .keys()
                .copied()
                .filter(|id| !best.contains_key(id))
                .collect()
        };
        let payload = "CASE WHEN c.t_max <= $2 AND c.last IS NOT NULL THEN c.last ELSE c.data END";
        let lo = from.saturating_sub(widest);
        let rows = if others.is_empty() {
            Vec::new()
        } else if max_age_ms.is_some() {
            chunk_rows(
                c.query(
                    &format!(
                        "SELECT c.series, c.id, c.source, {payload} FROM {s}.chunks c
                         WHERE c.t_min >= $3 AND c.t_min <= $2 AND c.t_max >= $4 AND c.series = ANY($1)"
                    ),
                    &[&others, &t.0, &lo, &from],
                )
                .map_err(|e| self.err(&e))?,
            )
        } else {
            chunk_rows(
                c.query(
                    &format!(
                        "SELECT c.series, c.id, c.source, {payload}
                         FROM unnest($1::int8[]) AS u(sid)
                         JOIN {s}.series ss ON ss.id = u.sid
                         CROSS JOIN LATERAL (SELECT max(i.t_min) AS last FROM {s}.chunks i
                                             WHERE i.series = u.sid AND i.t_min <= $2 AND i.t_min >= $3) m
                         JOIN {s}.chunks c ON c.series = u.sid AND c.t_min >= m.last - ss.max_span
                              AND c.t_min <= $2 AND c.t_max >= $4 AND c.t_min >= $3"
                    ),
                    &[&others, &t.0, &lo, &from],
                )
                .map_err(|e| self.err(&e))?,
            )
        };
        self.know_ids(
            &mut c,
            rows.iter().map(|r| (r.0, r.2)).chain(
                slices
                    .iter()
                    .flat_map(|(ids, _)| ids.iter().map(|&(series, source, _)| (series, source))),
            ),
        )?;
        drop(c);
        self.pick_latest(&rows, t.0, &mut best)?;
        let cache = self.read.lock().unwrap_or_else(|p| p.into_inner());
        self.picture(&cache, &best, from)
    }

    /// Per series, the latest record at or before `t` in the chunks of `rows` into `best`,
    /// unless `best` has a later one (equal times: the later chunk).
    fn pick_latest<'d>(&self, rows: &'d [ChunkRow], t: i64, best: &mut Best<'d>) -> Result<(), StoreError> {
        for (series, chunk, source, data) in rows {
            let mut pick: Option<Record<'d>> = None;
            self.each(*chunk, data, |rec| {
                if rec.time <= t && pick.is_none_or(|p| rec.time >= p.time) {
                    pick = Some(rec);
                }
            })?;
            if let Some(rec) = pick
                && best.get(series).is_none_or(|(b, _, _)| (rec.time, *chunk) > *b)
            {
                best.insert(*series, ((rec.time, *chunk), *source, rec));
            }
        }
        Ok(())
    }

    /// The picture the slider shows: the records of `best` at or after `from`, in series
    /// id order, as observations (series the cache does not know are left out).
    fn picture(
        &self,
        cache: &ReadCache,
        best: &Best<'_>,
        from: i64,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        let mut out = Vec::with_capacity(best.len());
        let mut ids: Vec<&i64> = best.keys().collect();
        ids.sort_unstable();
        for sid in ids {
            let (_, source, rec) = &best[sid];
            if rec.time < from {
                continue;
            }
            let Some(Some((key, metric))) = cache.series.get(sid) else {
                continue;
            };
            out.push(StoredObservation {
                key: key.clone(),
                observation: self.observation(cache, key, *metric, *source, rec)?,
            });
        }
        Ok(out)
    }

    /// Runs statements on the session (the benchmark switches [`SESSION_SETTINGS`]).
    pub fn session(&self, sql: &str) -> Result<(), StoreError> {
        self.client().batch_execute(sql).map_err(|e| self.err(&e))
    }

    /// Drops every table of the schema (tests, benchmarks).
    pub fn drop_schema(self) -> Result<(), StoreError> {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
        self.client().batch_execute(&sql).map_err(|e| self.err(&e))
    }

    fn load_writer_cache(&mut self) -> Result<(), StoreError> {
        let s = &self.schema;
        let (series, names, parts) = {
            let mut c = self.client();
            let series = c.query(
                &format!("SELECT id, subject, metric, max_span FROM {s}.series"),
                &[],
            );
            let names = c.query(&format!("SELECT id, name FROM {s}.names"), &[]);
            let parts = c.query(
                "SELECT c.relname::text FROM pg_inherits i
                 JOIN pg_class c ON c.oid = i.inhrelid
                 JOIN pg_class p ON p.oid = i.inhparent
                 JOIN pg_namespace n ON n.oid = p.relnamespace
                 WHERE p.relname IN ('chunks', 'slices') AND n.nspname = $1",
                &[&s.trim_matches('"')],
            );
            (series, names, parts)
        };
        let (series, names, parts) = (
            series.map_err(|e| self.err(&e))?,
            names.map_err(|e| self.err(&e))?,
            parts.map_err(|e| self.err(&e))?,
        );
        self.series.clear();
        for r in series {
            let (subject, metric): (String, String) = (r.get(1), r.get(2));
            if let Some(k) = series_key(&subject, &metric) {
                self.series.insert(k, (r.get(0), r.get(3)));
            }
        }
        self.names = names.iter().map(|r| (r.get(1), r.get(0))).collect();
        let names: Vec<String> = parts.iter().map(|r| r.get(0)).collect();
        self.slice_parts = names
            .iter()
            .filter(|n| n.starts_with("slices_"))
            .filter_map(|n| partition_index(&n.replacen("slices_", "chunks_", 1)))
            .collect();
        self.partitions = names
            .iter()
            .filter(|n| n.starts_with("chunks_"))
            .filter_map(|n| partition_index(n))
            .collect();
        Ok(())
    }

    /// The partition bounds of index `k` as SQL (MINVALUE / MAXVALUE at the i64 ends).
    fn bounds(&self, k: i64) -> (String, String) {
        let lo = k
            .checked_mul(self.partition_ms)
            .map_or("MINVALUE".into(), |v| v.to_string());
        let hi = k
            .checked_add(1)
            .and_then(|k1| k1.checked_mul(self.partition_ms))
            .map_or("MAXVALUE".into(), |v| v.to_string());
        (lo, hi)
    }

    /// Writes the batches in one transaction; the inner error is a fault of this code
    /// (the transaction is rolled back), the outer one the database's.
    fn write(&mut self, batches: &[Vec<Observation>]) -> Result<Result<usize, String>, postgres::Error> {
        let s = self.schema.clone();
        // New names and series first, in bulk.
        let mut new_names: Vec<String> = Vec::new();
        let mut new_series: Vec<(SubjectKey, Metric)> = Vec::new();
        {
            let mut seen_names: HashSet<&str> = HashSet::new();
            let mut seen_series: HashSet<(SubjectKey, Metric)> = HashSet::new();
            for o in batches.iter().flatten() {
                if !self.names.contains_key(&o.source.0) && seen_names.insert(&o.source.0) {
                    new_names.push(o.source.0.clone());
                }
                if o.unit != o.metric.unit()
                    && !self.names.contains_key(&o.unit)
                    && seen_names.insert(&o.unit)
                {
                    new_names.push(o.unit.clone());
                }
                let k = (SubjectKey::of(o), o.metric);
                if !self.series.contains_key(&k) && seen_series.insert(k.clone()) {
                    new_series.push(k);
                }
            }
        }
        // Partitions the observations need, each made in a short transaction of its own
        // (an empty partition is harmless; readers wait on it for no longer than that).
        let mut new_parts: Vec<i64> = batches
            .iter()
            .flatten()
            .map(|o| o.time.0.div_euclid(self.partition_ms))
            .filter(|k| !self.partitions.contains(k))
            .collect();
        new_parts.sort_unstable();
        new_parts.dedup();
        let mut client = self.client.lock().unwrap_or_else(|p| p.into_inner());
        for &k in &new_parts {
            let (lo, hi) = self.bounds(k);
            client.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {s}.{} PARTITION OF {s}.chunks FOR VALUES FROM ({lo}) TO ({hi})",
                partition_name(k)
            ))?;
        }
        let mut new_slice_parts: Vec<i64> = batches
            .iter()
            .flatten()
            .map(|o| o.time.0.div_euclid(self.partition_ms))
            .filter(|k| !self.slice_parts.contains(k))
            .collect();
        new_slice_parts.sort_unstable();
        new_slice_parts.dedup();
        for &k in &new_slice_parts {
            let (lo, hi) = self.bounds(k);
            client.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {s}.{} PARTITION OF {s}.slices FOR VALUES FROM ({lo}) TO ({hi})",
                slice_partition_name(k)
            ))?;
        }
        let mut tx = client.transaction()?;
        let mut names_added: Vec<(String, i64)> = Vec::new();
        if !new_names.is_empty() {
            tx.execute(
                &format!("INSERT INTO {s}.names (name) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING"),
                &[&new_names],
            )?;
            for r in tx.query(
                &format!("SELECT name, id FROM {s}.names WHERE name = ANY($1)"),
                &[&new_names],
            )? {
                names_added.push((r.get(0), r.get(1)));
            }
        }
        let mut series_added: Vec<((SubjectKey, Metric), (i64, i64))> = Vec::new();
        if !new_series.is_empty() {
            let subjects: Vec<String> = new_series.iter().map(|(k, _)| k.to_string()).collect();
            let metrics: Vec<&str> = new_series.iter().map(|(_, m)| m.id()).collect();
            tx.execute(
                &format!(
                    "INSERT INTO {s}.series (subject, metric) SELECT * FROM unnest($1::text[], $2::text[])
                     ON CONFLICT DO NOTHING"
                ),
                &[&subjects, &metrics],
            )?;
            let rows = tx.query(
                &format!(
                    "SELECT s.subject, s.metric, s.id, s.max_span FROM {s}.series s
                     JOIN unnest($1::text[], $2::text[]) AS u(subject, metric)
                       ON s.subject = u.subject AND s.metric = u.metric"
                ),
                &[&subjects, &metrics],
            )?;
            for r in rows {
                let (subject, metric): (String, String) = (r.get(0), r.get(1));
                if let Some(k) = series_key(&subject, &metric) {
                    series_added.push((k, (r.get(2), r.get(3))));
                }
            }
        }
        let name_id = |n: &str| {
            self.names
                .get(n)
                .copied()
                .or_else(|| names_added.iter().find(|(x, _)| x == n).map(|(_, id)| *id))
        };
        let added: FastMap<&(SubjectKey, Metric), (i64, i64)> =
            series_added.iter().map(|(k, v)| (k, *v)).collect();
        // Pack: one chunk per (series, source, hour bucket).
        let mut chunks: Vec<ChunkBuf> = Vec::new();
        let mut chunk_of: FastMap<(i64, i64, i64), usize> = FastMap::default();
        // And the same records by time slice: (slot, records, series, source, chunk index).
        let mut slices: Vec<SliceBuf> = Vec::new();
        let mut slice_of: FastMap<i64, usize> = FastMap::default();
        let mut n = 0usize;
        for o in batches.iter().flatten() {
            let k = (SubjectKey::of(o), o.metric);
            // Every id was made above; a missing one fails the batch rather than losing
            // the observation.
            let (Some((sid, _)), Some(source)) = (
                self.series.get(&k).or_else(|| added.get(&k)).copied(),
                name_id(&o.source.0),
            ) else {
                return Ok(Err(format!("no id for {} {} of {}", k.0, k.1, o.source)));
            };
            let unit = if o.unit == o.metric.unit() {
                None
            } else {
                match name_id(&o.unit) {
                    Some(u) => Some(u),
                    None => return Ok(Err(format!("no id for unit {}", o.unit))),
                }
            };
            let bucket = o.time.0.div_euclid(CHUNK_BUCKET_MS);
            let i = *chunk_of.entry((sid, source, bucket)).or_insert_with(|| {
                chunks.push(ChunkBuf::new(sid, source));
                chunks.len() - 1
            });
            let xy = match o.subject {
                Subject::Point { x, y } => Some((x, y)),
                _ => None,
            };
            chunks[i].push(o.time.0, o.value, o.quality, xy, unit, &o.detail);
            let slot = o.time.0.div_euclid(SLICE_MS).saturating_mul(SLICE_MS);
            let j = *slice_of.entry(slot).or_insert_with(|| {
                slices.push((slot, ChunkBuf::new(0, 0), Vec::new(), Vec::new(), Vec::new()));
                slices.len() - 1
            });
            let sl = &mut slices[j];
            sl.1.push(o.time.0, o.value, o.quality, xy, unit, &o.detail);
            sl.2.push(sid);
            sl.3.push(source);
            sl.4.push(i);
            n += 1;
        }
        // Chunk ids made here (in the chunks' order, as the column's default would), so
        // that the slices name their chunks.
        let count = i64::try_from(chunks.len()).unwrap_or(i64::MAX);
        let ids: Vec<i64> = tx
            .query(
                "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2::int8) g
                 ORDER BY g",
                &[&format!("{s}.chunks"), &count],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if ids.len() != chunks.len() {
            return Ok(Err(format!(
                "{} chunk ids for {} chunks",
                ids.len(),
                chunks.len()
            )));
        }
        let sink = tx.copy_in(&format!(
            "COPY {s}.chunks (id, series, source, t_min, t_max, n, data, last) FROM STDIN (FORMAT binary)"
        ))?;
        let mut w = BinaryCopyInWriter::new(
            sink,
            &[
                Type::INT8,
                Type::INT8,
                Type::INT8,
                Type::INT8,
                Type::INT8,
                Type::INT4,
                Type::BYTEA,
                Type::BYTEA,
            ],
        );
        for (c, id) in chunks.iter().zip(&ids) {
            let count = i32::try_from(c.n).unwrap_or(i32::MAX);
            let last = c.last_record();
            w.write(&[
                id, &c.series, &c.source, &c.t_min, &c.t_max, &count, &c.data, &last,
            ])?;
        }
        w.finish()?;
        let sink = tx.copy_in(&format!(
            "COPY {s}.slices (slot, n, ids, data) FROM STDIN (FORMAT binary)"
        ))?;
        let mut w = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::INT4, Type::BYTEA, Type::BYTEA]);
        for (slot, buf, series, sources, members) in &slices {
            let count = i32::try_from(buf.n).unwrap_or(i32::MAX);
            let mut packed = Vec::with_capacity(series.len() * 6);
            let mut prev = 0i64;
            for ((sid, source), &i) in series.iter().zip(sources).zip(members) {
                put_uvarint(&mut packed, *sid as u64);
                put_uvarint(&mut packed, *source as u64);
                put_uvarint(&mut packed, zigzag_delta(ids[i], prev));
                prev = ids[i];
            }
            w.write(&[slot, &count, &packed, &buf.data])?;
        }
        w.finish()?;
        // Widest spans, for the look-back of the time-slider queries.
        let mut widened: FastMap<i64, i64> = FastMap::default();
        for c in &chunks {
            let span = c.t_max.saturating_sub(c.t_min);
            let e = widened.entry(c.series).or_insert(0);
            *e = (*e).max(span);
        }
        let spans_known: FastMap<i64, i64> = self
            .series
            .values()
            .chain(added.values())
            .map(|&(id, span)| (id, span))
            .collect();
        let (ids, spans): (Vec<i64>, Vec<i64>) = widened
            .into_iter()
            .filter(|(id, span)| spans_known.get(id).is_none_or(|k| span > k))
            .unzip();
        if !ids.is_empty() {
            tx.execute(
                &format!(
                    "UPDATE {s}.series SET max_span = greatest(max_span, v.span)
                     FROM unnest($1::int8[], $2::int8[]) AS v(id, span) WHERE series.id = v.id"
                ),
                &[&ids, &spans],
            )?;
        }
        tx.commit()?;
        // BRIN leaves new pages unsummarised (and so unprunable) until autovacuum comes by:
        // summarise them now, a cost of the new pages only. Speed alone depends on it, so a
        // failure leaves the committed batch as it is.
        let _ = client.query(SUMMARIZE_BRIN, &[&self.schema.trim_matches('"')]);
        drop(client);
        // Committed: the caches may learn what the transaction made.
        self.names.extend(names_added);
        for (k, v) in series_added {
            self.series.insert(k, v);
        }
        let span_of: FastMap<i64, i64> = ids.into_iter().zip(spans).collect();
        for (_, (id, span)) in self.series.iter_mut() {
            if let Some(s) = span_of.get(id) {
                *span = (*span).max(*s);
            }
        }
        self.partitions.extend(new_parts);
        self.slice_parts.extend(new_slice_parts);
        if let Some(t) = chunks.iter().map(|c| c.t_max).max() {
            self.newest = self.newest.max(t);
        }
        Ok(Ok(n))
    }

    /// Brings the reader's view of `series` and `names` up to date when the database has
    /// series it does not know, or when `force`; returns the widest chunk span.
    fn refresh_read(&self, c: &mut impl GenericClient, force: bool) -> Result<i64, StoreError> {
        let s = &self.schema;
        let row = c
            .query_one(
                &format!("SELECT coalesce(max(id), 0), coalesce(max(max_span), 0) FROM {s}.series"),
                &[],
            )
            .map_err(|e| self.err(&e))?;
        let (max_id, widest): (i64, i64) = (row.get(0), row.get(1));
        let mut cache = self.read.lock().unwrap_or_else(|p| p.into_inner());
        if force || max_id != cache.max_series {
            let rows = c
                .query(&format!("SELECT id, subject, metric FROM {s}.series"), &[])
                .map_err(|e| self.err(&e))?;
            cache.series = rows
                .iter()
                .map(|r| {
                    let (subject, metric): (String, String) = (r.get(1), r.get(2));
                    (r.get(0), series_key(&subject, &metric))
                })
                .collect();
            cache.max_series = max_id;
        }
        if force || cache.names.is_empty() {
            let rows = c
                .query(&format!("SELECT id, name FROM {s}.names"), &[])
                .map_err(|e| self.err(&e))?;
            cache.names = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        }
        Ok(widest)
    }

    /// An observation of a record, with its series' key and its source's name.
    fn observation(
        &self,
        cache: &ReadCache,
        key: &SubjectKey,
        metric: Metric,
        source: i64,
        r: &Record<'_>,
    ) -> Result<Observation, StoreError> {
        let name = |id: i64| {
            cache
                .names
                .get(&id)
                .cloned()
                .ok_or_else(|| self.corrupt(format!("unknown name id {id}")))
        };
        Ok(Observation {
            source: SourceId(name(source)?),
            subject: subject_from(key, r.xy),
            metric,
            value: r.value,
            unit: match r.unit {
                Some(u) => name(u)?,
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

    /// Makes sure the reader knows every name and series id the rows mention.
    fn know_ids(&self, c: &mut Client, ids: impl Iterator<Item = (i64, i64)>) -> Result<(), StoreError> {
        let missing = {
            let cache = self.read.lock().unwrap_or_else(|p| p.into_inner());
            let mut ids = ids;
            ids.any(|(series, source)| {
                !cache.series.contains_key(&series) || !cache.names.contains_key(&source)
            })
        };
        if missing {
            self.refresh_read(c, true)?;
        }
        Ok(())
    }
}

/// A client error as text, with the server's message when it sent one.
fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => {
            let detail = d.detail().map_or(String::new(), |x| format!(" ({x})"));
            format!("{}: {}{detail}", d.severity(), d.message())
        }
        None => e.to_string(),
    }
}

/// One chunk row as read: series, chunk id, source, data.
type ChunkRow = (i64, i64, i64, Vec<u8>);

/// Per series id: the (time, chunk) of its latest record so far, its source and the record.
type Best<'d> = FastMap<i64, ((i64, i64), i64, Record<'d>)>;

fn chunk_rows(rows: Vec<postgres::Row>) -> Vec<ChunkRow> {
    rows.iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

impl History for PgHistory {
    fn describe(&self) -> String {
        self.target.clone()
    }

    fn append_batches(&mut self, batches: &[Vec<Observation>]) -> Result<usize, StoreError> {
        if batches.iter().all(Vec::is_empty) {
            return Ok(0);
        }
        if self.read_only {
            return Err(self.refused("append"));
        }
        let err = match self.write(batches) {
            Ok(Ok(n)) => return Ok(n),
            Ok(Err(what)) => self.corrupt(what),
            Err(e) => self.err(&e),
        };
        // Rolled back: forget what the failed transaction may have made.
        self.load_writer_cache()?;
        Err(err)
    }

    fn append(&mut self, batch: &[Observation]) -> Result<usize, StoreError> {
        self.append_batches(&[batch.to_vec()])
    }

    fn is_broken(&self) -> bool {
        self.client().is_closed()
    }

    fn newest_written(&self) -> Option<Timestamp> {
        (self.newest != i64::MIN).then_some(Timestamp(self.newest))
    }

    fn prune_before(&mut self, before: Timestamp) -> Result<usize, StoreError> {
        if self.read_only {
            return Err(self.refused("prune"));
        }
        let s = self.schema.clone();
        let old_parts: Vec<i64> = self
            .partitions
            .iter()
            .copied()
            .filter(|&k| {
                k.checked_add(1)
                    .and_then(|k1| k1.checked_mul(self.partition_ms))
                    .is_some_and(|hi| hi <= before.0)
            })
            .collect();
        let has_slices = self.has_slices;
        let mut client = self.client.lock().unwrap_or_else(|p| p.into_inner());
        let run = |client: &mut Client| -> Result<usize, postgres::Error> {
            let mut tx = client.transaction()?;
            let mut removed = 0i64;
            for &k in &old_parts {
                let name = partition_name(k);
                removed += tx
                    .query_one(&format!("SELECT coalesce(sum(n), 0)::int8 FROM {s}.{name}"), &[])?
                    .get::<_, i64>(0);
                tx.batch_execute(&format!("DROP TABLE {s}.{name}"))?;
                if has_slices {
                    let slices = slice_partition_name(k);
                    tx.batch_execute(&format!("DROP TABLE IF EXISTS {s}.{slices}"))?;
                }
            }
            if has_slices {
                // Every slice starting before the limit, the one across it too: a series
                // whose records there are all the slices had of it near an instant is read
                // from its chunks instead (exact either way).
                tx.execute(&format!("DELETE FROM {s}.slices WHERE slot < $1"), &[&before.0])?;
            }
            removed += tx
                .query_one(
                    &format!(
                        "WITH d AS (DELETE FROM {s}.chunks WHERE t_min < $1 AND t_max < $1 RETURNING n)
                         SELECT coalesce(sum(n), 0)::int8 FROM d"
                    ),
                    &[&before.0],
                )?
                .get::<_, i64>(0);
            // Chunks across the limit keep their newer records only.
            let straddling = tx.query(
                &format!("SELECT id, data FROM {s}.chunks WHERE t_min < $1 AND t_max >= $1"),
                &[&before.0],
            )?;
            for r in straddling {
                let (id, data): (i64, Vec<u8>) = (r.get(0), r.get(1));
                let mut kept = ChunkBuf::new(0, 0);
                for rec in Records::new(&data).flatten() {
                    if rec.time >= before.0 {
                        kept.push(rec.time, rec.value, rec.quality, rec.xy, rec.unit, rec.detail);
                    } else {
                        removed += 1;
                    }
                }
                let count = i32::try_from(kept.n).unwrap_or(i32::MAX);
                tx.execute(
                    &format!("UPDATE {s}.chunks SET t_min = $2, t_max = $3, n = $4, data = $5 WHERE id = $1"),
                    &[&id, &kept.t_min, &kept.t_max, &count, &kept.data],
                )?;
            }
            tx.commit()?;
            Ok(usize::try_from(removed).unwrap_or(0))
        };
        let result = run(&mut client);
        drop(client);
        match result {
            Ok(n) => {
                for k in old_parts {
                    self.partitions.remove(&k);
                    self.slice_parts.remove(&k);
                }
                Ok(n)
            }
            Err(e) => Err(self.err(&e)),
        }
    }

    fn count(&self) -> Result<u64, StoreError> {
        let s = &self.schema;
        let n: i64 = self
            .client()
            .query_one(&format!("SELECT coalesce(sum(n), 0)::int8 FROM {s}.chunks"), &[])
            .map_err(|e| self.err(&e))?
            .get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn time_range(&self) -> Result<Option<(Timestamp, Timestamp)>, StoreError> {
        let s = &self.schema;
        let r = self
            .client()
            .query_one(&format!("SELECT min(t_min), max(t_max) FROM {s}.chunks"), &[])
            .map_err(|e| self.err(&e))?;
        Ok(match (r.get::<_, Option<i64>>(0), r.get::<_, Option<i64>>(1)) {
            (Some(a), Some(b)) => Some((Timestamp(a), Timestamp(b))),
            _ => None,
        })
    }

    fn latest_at(&self, t: Timestamp, max_age_ms: Option<i64>) -> Result<Vec<StoredObservation>, StoreError> {
        self.latest_at_with(SliderQuery::Slices, t, max_age_ms)
    }

    fn value_at(
        &self,
        key: &SubjectKey,
        metric: Metric,
        t: Timestamp,
    ) -> Result<Option<Observation>, StoreError> {
        let s = &self.schema;
        let mut c = self.client();
        let rows = c
            .query(
                &format!(
                    "SELECT c.series, c.id, c.source, c.data
                     FROM {s}.series ss
                     CROSS JOIN LATERAL (SELECT max(i.t_min) AS last FROM {s}.chunks i
                                         WHERE i.series = ss.id AND i.t_min <= $3) m
                     JOIN {s}.chunks c ON c.series = ss.id AND c.t_min >= m.last - ss.max_span AND c.t_min <= $3
                     WHERE ss.subject = $1 AND ss.metric = $2
                     ORDER BY c.id"
                ),
                &[&key.to_string(), &metric.id(), &t.0],
            )
            .map_err(|e| self.err(&e))?;
        let rows = chunk_rows(rows);
        self.refresh_read(&mut *c, false)?;
        self.know_ids(&mut c, rows.iter().map(|r| (r.0, r.2)))?;
        drop(c);
        let cache = self.read.lock().unwrap_or_else(|p| p.into_inner());
        let mut best: Option<(i64, Record<'_>)> = None;
        for (_, chunk, source, data) in &rows {
            let mut pick: Option<Record<'_>> = None;
            self.each(*chunk, data, |rec| {
                if rec.time <= t.0 && pick.is_none_or(|p| rec.time >= p.time) {
                    pick = Some(rec);
                }
            })?;
            if let Some(rec) = pick
                && best.as_ref().is_none_or(|(_, b)| rec.time >= b.time)
            {
                best = Some((*source, rec));
            }
        }
        best.map(|(source, rec)| self.observation(&cache, key, metric, source, &rec))
            .transpose()
    }

    fn series(
        &self,
        key: &SubjectKey,
        metric: Metric,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, f64)>, StoreError> {
        let s = &self.schema;
        let mut c = self.client();
        let Some(row) = c
            .query_opt(
                &format!("SELECT id, max_span FROM {s}.series WHERE subject = $1 AND metric = $2"),
                &[&key.to_string(), &metric.id()],
            )
            .map_err(|e| self.err(&e))?
        else {
            return Ok(Vec::new());
        };
        let (sid, span): (i64, i64) = (row.get(0), row.get(1));
        let rows = c
            .query(
                &format!(
                    "SELECT id, data FROM {s}.chunks
                     WHERE series = $1 AND t_min <= $3 AND t_min >= $2 AND t_max >= $4 ORDER BY id"
                ),
                &[&sid, &from.0.saturating_sub(span), &to.0, &from.0],
            )
            .map_err(|e| self.err(&e))?;
        drop(c);
        let mut out = Vec::new();
        for r in rows {
            let (chunk, data): (i64, Vec<u8>) = (r.get(0), r.get(1));
            self.each(chunk, &data, |rec| {
                if rec.time >= from.0 && rec.time <= to.0 {
                    out.push((Timestamp(rec.time), rec.value));
                }
            })?;
        }
        // Stable: equal times stay in the order they were stored.
        out.sort_by_key(|(t, _)| *t);
        Ok(out)
    }

    fn range(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Observation>, StoreError> {
        let s = &self.schema;
        let mut c = self.client();
        let widest = self.refresh_read(&mut *c, false)?;
        let rows = chunk_rows(
            c.query(
                &format!(
                    "SELECT series, id, source, data FROM {s}.chunks
                     WHERE t_min <= $2 AND t_min >= $3 AND t_max >= $1 ORDER BY id"
                ),
                &[&from.0, &to.0, &from.0.saturating_sub(widest)],
            )
            .map_err(|e| self.err(&e))?,
        );
        self.know_ids(&mut c, rows.iter().map(|r| (r.0, r.2)))?;
        drop(c);
        let cache = self.read.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for (series, chunk, source, data) in &rows {
            let Some(Some((key, metric))) = cache.series.get(series) else {
                continue;
            };
            let mut failed = None;
            self.each(*chunk, data, |rec| {
                if rec.time >= from.0 && rec.time <= to.0 && failed.is_none() {
                    match self.observation(&cache, key, *metric, *source, &rec) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_taken_out_of_urls() {
        assert_eq!(
            redact_url("postgres://ops:s3cret@db.local:5432/city?sslmode=disable"),
            "postgres://ops@db.local:5432/city?sslmode=disable"
        );
        assert_eq!(redact_url("postgres://ops@db/city"), "postgres://ops@db/city");
        assert_eq!(redact_url("host=db user=ops"), "host=db user=ops");
    }

    #[test]
    fn slice_ids_round_trip_and_truncation_is_caught() {
        let ids = [(1i64, 2i64, 10i64), (300, 2, 9), (7, 70_000, 1 << 40), (7, 1, 3)];
        let mut b = Vec::new();
        let mut prev = 0;
        for (series, source, chunk) in ids {
            put_uvarint(&mut b, series as u64);
            put_uvarint(&mut b, source as u64);
            put_uvarint(&mut b, zigzag_delta(chunk, prev));
            prev = chunk;
        }
        assert_eq!(slice_ids(&b).unwrap(), ids.to_vec());
        assert_eq!(slice_ids(&b[..b.len() - 1]), None);
        assert_eq!(slice_ids(&[]), Some(Vec::new()));
    }

    #[test]
    fn partition_names_round_trip_with_their_sign() {
        for k in [0, 1, 20_000, -1, -20_000, i64::MIN + 1, i64::MAX] {
            assert_eq!(partition_index(&partition_name(k)), Some(k), "{k}");
        }
        assert_eq!(partition_index("chunks_x1"), None);
    }
}
