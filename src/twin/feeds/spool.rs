//! The headless ingest's on-disk spool: an append-only file of observation batches in a
//! state folder, each record synced to disk before [`Spool::append`] returns (the point at
//! which an observation counts as acknowledged), and a cursor file naming how far the
//! history has committed. Bounded: an append that would pass the limit is refused
//! ([`SpoolError::Full`]) and the caller stops acknowledging (backpressure) rather than
//! drop. A record torn by a crash (never acknowledged, since it was never synced) is cut
//! off when the spool is opened again. Delivery to the history is at least once: a crash
//! between a commit and the cursor's update writes that batch again.
//!
//! Record: `u32` payload length, `u64` FNV-1a checksum of the payload, the payload (little
//! endian): `u32` count, then per observation the source, subject, metric, value bits,
//! unit, time, quality and detail.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::twin::city::{BuildingId, RoadId, ZoneId};
use crate::twin::feeds::observation::{Metric, Observation, Quality, SourceId, Subject, Timestamp};

/// The spool's data file in the state folder.
pub const SPOOL_FILE: &str = "spool.bin";
/// The cursor file (bytes of the spool committed to the history).
pub const CURSOR_FILE: &str = "spool.cursor";
/// Bytes of a record's header.
const HEADER: u64 = 12;
/// Largest record payload read back, bytes (a longer length is a torn or corrupt tail).
const MAX_RECORD: u32 = 256 << 20;

/// Why the spool refused.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// Reading or writing the spool failed.
    #[error("spool {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The record would pass the spool's limit; nothing was written.
    #[error("spool {path} is full ({used} of {limit} bytes)")]
    Full {
        /// The file.
        path: PathBuf,
        /// Bytes in use.
        used: u64,
        /// The limit.
        limit: u64,
    },
}

/// An open spool.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    file: File,
    /// Bytes in the file (all whole records).
    len: u64,
    /// Bytes committed to the history.
    cursor: u64,
    limit: u64,
    /// Bytes of a torn tail cut off at open.
    pub torn_bytes: u64,
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Spool {
    /// Opens (or makes) the spool in `dir`, limited to `limit` bytes; a torn tail is cut.
    pub fn open(dir: &Path, limit: u64) -> Result<Spool, SpoolError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SpoolError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(SPOOL_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io(&path))?;
        let size = file.metadata().map_err(io(&path))?.len();
        let cursor_path = dir.join(CURSOR_FILE);
        let cursor = match std::fs::read_to_string(&cursor_path) {
            Ok(s) => s.trim().parse::<u64>().unwrap_or(0),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(io(&cursor_path)(e)),
        };
        // The file was emptied after a full commit and the cursor not yet reset.
        let cursor = if cursor > size { 0 } else { cursor };
        // Walk the records from the cursor: the first bad one starts a torn tail.
        let mut good = cursor;
        file.seek(SeekFrom::Start(cursor)).map_err(io(&path))?;
        let mut reader = std::io::BufReader::new(&file);
        while let Ok(Some(payload)) = read_record(&mut reader) {
            good += HEADER + payload.len() as u64;
        }
        drop(reader);
        let torn_bytes = size - good;
        if torn_bytes > 0 {
            file.set_len(good).map_err(io(&path))?;
            file.sync_all().map_err(io(&path))?;
        }
        Ok(Spool {
            dir: dir.to_path_buf(),
            file,
            len: good,
            cursor,
            limit,
            torn_bytes,
        })
    }

    fn path(&self) -> PathBuf {
        self.dir.join(SPOOL_FILE)
    }

    fn io_err(&self, source: std::io::Error) -> SpoolError {
        SpoolError::Io {
            path: self.path(),
            source,
        }
    }

    /// Bytes not yet committed to the history.
    pub fn backlog_bytes(&self) -> u64 {
        self.len - self.cursor
    }

    /// Bytes in the file.
    pub fn len_bytes(&self) -> u64 {
        self.len
    }

    /// Appends a batch and syncs it to disk; when this returns `Ok` the batch survives a
    /// crash. `Full` when it would pass the limit (nothing written).
    pub fn append(&mut self, batch: &[Observation]) -> Result<(), SpoolError> {
        let payload = encode(batch);
        let size = HEADER + payload.len() as u64;
        if self.len + size > self.limit && self.len > 0 {
            return Err(SpoolError::Full {
                path: self.path(),
                used: self.len,
                limit: self.limit,
            });
        }
        let mut rec = Vec::with_capacity(size as usize);
        rec.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        rec.extend_from_slice(&fnv(&payload).to_le_bytes());
        rec.extend_from_slice(&payload);
        self.file.write_all(&rec).map_err(|e| self.io_err(e))?;
        self.file.sync_data().map_err(|e| self.io_err(e))?;
        self.len += size;
        Ok(())
    }

    /// Batches after the cursor, up to about `max_rows` observations, each with the offset
    /// its record ends at (to pass to [`Spool::commit`]).
    pub fn read_pending(&mut self, max_rows: usize) -> Result<Vec<(u64, Vec<Observation>)>, SpoolError> {
        let mut out = Vec::new();
        if self.cursor >= self.len {
            return Ok(out);
        }
        let mut f = File::open(self.path()).map_err(|e| self.io_err(e))?;
        f.seek(SeekFrom::Start(self.cursor)).map_err(|e| self.io_err(e))?;
        let mut r = std::io::BufReader::new(f);
        let (mut at, mut rows) = (self.cursor, 0usize);
        while at < self.len && rows < max_rows {
            let Ok(Some(payload)) = read_record(&mut r) else {
                break;
            };
            at += HEADER + payload.len() as u64;
            let batch = decode(&payload).ok_or_else(|| {
                self.io_err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("record ending at byte {at} does not decode"),
                ))
            })?;
            rows += batch.len();
            out.push((at, batch));
        }
        Ok(out)
    }

    /// Records that the history committed everything up to byte `to`; when all is
    /// committed the file is emptied.
    pub fn commit(&mut self, to: u64) -> Result<(), SpoolError> {
        self.cursor = to.min(self.len);
        if self.cursor == self.len {
            // Empty the file first: a cursor past the end reads as 0 at the next open.
            self.file.set_len(0).map_err(|e| self.io_err(e))?;
            self.file.sync_all().map_err(|e| self.io_err(e))?;
            self.len = 0;
            self.cursor = 0;
        }
        let tmp = self.dir.join(format!("{CURSOR_FILE}.tmp"));
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(self.cursor.to_string().as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, self.dir.join(CURSOR_FILE))
        };
        write().map_err(|e| self.io_err(e))
    }
}

/// Reads one record's payload; `None` at a clean end, `Err` for a torn or corrupt one.
fn read_record(r: &mut impl Read) -> Result<Option<Vec<u8>>, ()> {
    let mut head = [0u8; HEADER as usize];
    let mut got = 0;
    while got < head.len() {
        match r.read(&mut head[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(()),
            Ok(n) => got += n,
            Err(_) => return Err(()),
        }
    }
    let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    if len > MAX_RECORD {
        return Err(());
    }
    let sum = u64::from_le_bytes(head[4..12].try_into().map_err(|_| ())?);
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload).map_err(|_| ())?;
    if fnv(&payload) != sum {
        return Err(());
    }
    Ok(Some(payload))
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Encodes a batch (values bit for bit).
pub fn encode(batch: &[Observation]) -> Vec<u8> {
    let mut out = Vec::with_capacity(batch.len() * 64 + 4);
    out.extend_from_slice(&(batch.len() as u32).to_le_bytes());
    for o in batch {
        put_str(&mut out, &o.source.0);
        match &o.subject {
            Subject::Sensor(s) => {
                out.push(0);
                put_str(&mut out, s);
            }
            Subject::Road(RoadId(i)) => {
                out.push(1);
                out.extend_from_slice(&i.to_le_bytes());
            }
            Subject::Building(BuildingId(i)) => {
                out.push(2);
                out.extend_from_slice(&i.to_le_bytes());
            }
            Subject::Zone(ZoneId(i)) => {
                out.push(3);
                out.extend_from_slice(&i.to_le_bytes());
            }
            Subject::Point { x, y } => {
                out.push(4);
                out.extend_from_slice(&x.to_bits().to_le_bytes());
                out.extend_from_slice(&y.to_bits().to_le_bytes());
            }
            Subject::City => out.push(5),
        }
        put_str(&mut out, o.metric.id());
        out.extend_from_slice(&o.value.to_bits().to_le_bytes());
        put_str(&mut out, &o.unit);
        out.extend_from_slice(&o.time.0.to_le_bytes());
        out.push(match o.quality {
            None => 0,
            Some(Quality::Good) => 1,
            Some(Quality::Raw) => 2,
            Some(Quality::Suspect) => 3,
            Some(Quality::Estimated) => 4,
        });
        put_str(&mut out, &o.detail);
    }
    out
}

/// A cursor over an encoded batch.
struct Cur<'a>(&'a [u8]);

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn str(&mut self) -> Option<String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

/// Decodes a batch made by [`encode`]; `None` when it is malformed.
pub fn decode(data: &[u8]) -> Option<Vec<Observation>> {
    let mut c = Cur(data);
    let n = c.u32()? as usize;
    let mut out = Vec::with_capacity(n.min(data.len() / 16));
    for _ in 0..n {
        let source = SourceId(c.str()?);
        let subject = match c.u8()? {
            0 => Subject::Sensor(c.str()?),
            1 => Subject::Road(RoadId(c.u32()?)),
            2 => Subject::Building(BuildingId(c.u32()?)),
            3 => Subject::Zone(ZoneId(c.u32()?)),
            4 => Subject::Point {
                x: f64::from_bits(c.u64()?),
                y: f64::from_bits(c.u64()?),
            },
            5 => Subject::City,
            _ => return None,
        };
        let metric = Metric::from_id(&c.str()?)?;
        let value = f64::from_bits(c.u64()?);
        let unit = c.str()?;
        let time = Timestamp(c.u64()? as i64);
        let quality = match c.u8()? {
            0 => None,
            1 => Some(Quality::Good),
            2 => Some(Quality::Raw),
            3 => Some(Quality::Suspect),
            4 => Some(Quality::Estimated),
            _ => return None,
        };
        let detail = c.str()?;
        out.push(Observation {
            source,
            subject,
            metric,
            value,
            unit,
            time,
            quality,
            detail,
        });
    }
    c.0.is_empty().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(n: usize, t0: i64) -> Vec<Observation> {
        (0..n)
            .map(|i| Observation {
                source: SourceId("mqtt".into()),
                subject: if i % 2 == 0 {
                    Subject::Sensor(format!("s{i}"))
                } else {
                    Subject::Point {
                        x: 0.1 + i as f64,
                        y: -3.3,
                    }
                },
                metric: Metric::Pm25,
                value: 0.1 * i as f64,
                unit: "µg/m³".into(),
                time: Timestamp(t0 + i as i64),
                quality: Some(Quality::Raw),
                detail: "d".into(),
            })
            .collect()
    }

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("citytwin-spool-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn batches_round_trip_bit_for_bit_and_survive_a_reopen() {
        let d = dir("round");
        let (a, b) = (batch(5, 1_000), batch(3, 9_000));
        {
            let mut s = Spool::open(&d, 1 << 20).unwrap();
            s.append(&a).unwrap();
            s.append(&b).unwrap();
        }
        let mut s = Spool::open(&d, 1 << 20).unwrap();
        let got = s.read_pending(usize::MAX).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1, a);
        assert_eq!(got[1].1, b);
        s.commit(got[0].0).unwrap();
        drop(s);
        let mut s = Spool::open(&d, 1 << 20).unwrap();
        let rest = s.read_pending(usize::MAX).unwrap();
        assert_eq!(rest.len(), 1, "the committed batch is not read again");
        assert_eq!(rest[0].1, b);
        s.commit(rest[0].0).unwrap();
        assert_eq!(s.len_bytes(), 0, "emptied once all is committed");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_torn_tail_is_cut_and_a_full_spool_refuses() {
        let d = dir("torn");
        {
            let mut s = Spool::open(&d, 1 << 20).unwrap();
            s.append(&batch(4, 0)).unwrap();
        }
        // A half-written record after the good one.
        let mut f = OpenOptions::new().append(true).open(d.join(SPOOL_FILE)).unwrap();
        f.write_all(&[200, 0, 0, 0, 1, 2, 3]).unwrap();
        drop(f);
        let mut s = Spool::open(&d, 1 << 20).unwrap();
        assert_eq!(s.torn_bytes, 7);
        assert_eq!(s.read_pending(usize::MAX).unwrap().len(), 1);
        let limit = s.len_bytes() + 10;
        drop(s);
        let mut s = Spool::open(&d, limit).unwrap();
        assert!(matches!(s.append(&batch(4, 0)), Err(SpoolError::Full { .. })));
        assert_eq!(
            s.read_pending(usize::MAX).unwrap().len(),
            1,
            "nothing written when full"
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
