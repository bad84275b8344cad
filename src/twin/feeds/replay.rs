//! Replay of recorded observations from JSONL (citytwin observations, or any JSON mapped by
//! a [`RecordMapping`]) or CSV with a time column, at ×1 to ×1000 speed, once or looping.
//! The file is read and checked at start; bad lines are counted and reported as errors.
//! The order and times replayed depend on the file and settings only (deterministic).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use thiserror::Error;

use crate::twin::feeds::health::ErrorKind;
use crate::twin::feeds::mapping::{PayloadDecoder, PayloadSpec, RecordMapping, SubjectKind};
use crate::twin::feeds::observation::{Observation, SourceId, Timestamp};
use crate::twin::feeds::source::{FeedEvent, FeedSender, FeedSource, StopFlag};
use crate::twin::feeds::spec::{REPLAY_SPEED_RANGE, ReplayFormat, ReplaySpec};
use crate::twin::feeds::timefmt::TimeFormat;

/// Gap between the last record and the first of the next loop when a file has one record,
/// ms (otherwise the mean spacing of the file).
const LOOP_GAP_MS: i64 = 1_000;
/// Most observations sent in one batch.
const BATCH_MAX: usize = 4_096;
/// Longest nap between looks at the stop flag and the schedule.
const MAX_NAP: Duration = Duration::from_millis(50);
/// Largest replay file read, bytes (the whole file is held in memory).
pub const MAX_REPLAY_BYTES: u64 = 1 << 30;

/// Errors opening a replay file.
#[derive(Debug, Error)]
pub enum ReplayError {
    /// The file could not be read.
    #[error("replay {path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_REPLAY_BYTES`].
    #[error("replay {path}: {size} bytes, more than the {MAX_REPLAY_BYTES} a replay may have")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size, bytes.
        size: u64,
    },
    /// The file holds no usable record.
    #[error("replay {path}: no usable record ({bad} bad lines)")]
    Empty {
        /// The file.
        path: PathBuf,
        /// Lines that could not be read.
        bad: usize,
    },
}

/// A bad line of a replay file.
#[derive(Debug, Clone, PartialEq)]
pub struct BadLine {
    /// 1-based line number.
    pub line: usize,
    /// Kind of fault.
    pub kind: ErrorKind,
    /// What was wrong.
    pub message: String,
    /// The line (cut when sent).
    pub sample: String,
}

/// The CSV mapping used when a CSV replay gives none: columns `time`, `metric`, `id`
/// (a sensor) and `value`.
pub fn default_csv_mapping() -> RecordMapping {
    let mut m = RecordMapping::sensor(crate::twin::feeds::observation::Metric::Pm25, "$.id", "$.value");
    m.metric = "$.metric".into();
    m.subject = SubjectKind::Sensor;
    m.time = Some("$.time".into());
    m.time_format = TimeFormat::Auto;
    m
}

/// Splits one CSV line (double quotes, doubled quotes inside).
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Reads records from file text: (observations in file order, bad lines).
pub fn parse_records(
    text: &str,
    format: ReplayFormat,
    mapping: Option<&RecordMapping>,
    source: &SourceId,
) -> (Vec<Observation>, Vec<BadLine>) {
    let spec = match (format, mapping) {
        (_, Some(m)) => PayloadSpec::Json(vec![RecordMapping {
            topic: None,
            ..m.clone()
        }]),
        (ReplayFormat::Jsonl, None) => PayloadSpec::Native,
        (ReplayFormat::Csv, None) => PayloadSpec::Json(vec![default_csv_mapping()]),
    };
    let decoder = PayloadDecoder::new(spec, source.clone());
    let mut obs = Vec::new();
    let mut bad = Vec::new();
    let mut header: Option<Vec<String>> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let value = match format {
            ReplayFormat::Jsonl => match serde_json::from_str::<Value>(line) {
                Ok(v) => v,
                Err(e) => {
                    bad.push(BadLine {
                        line: n,
                        kind: ErrorKind::Malformed,
                        message: format!("line {n}: not JSON: {e}"),
                        sample: line.to_string(),
                    });
                    continue;
                }
            },
            ReplayFormat::Csv => {
                let fields = csv_fields(line);
                let Some(h) = &header else {
                    header = Some(fields.iter().map(|f| f.trim().to_string()).collect());
                    continue;
                };
                if fields.len() != h.len() {
                    bad.push(BadLine {
                        line: n,
                        kind: ErrorKind::Malformed,
                        message: format!("line {n}: {} fields, header has {}", fields.len(), h.len()),
                        sample: line.to_string(),
                    });
                    continue;
                }
                let mut obj = Map::new();
                for (k, f) in h.iter().zip(fields) {
                    let f = f.trim();
                    let v = match f.parse::<f64>() {
                        Ok(x) if x.is_finite() => {
                            serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
                        }
                        // NaN and text stay text, for the mapping to report.
                        _ => Value::String(f.to_string()),
                    };
                    obj.insert(k.clone(), v);
                }
                Value::Object(obj)
            }
        };
        let mut decoded = crate::twin::feeds::mapping::Decoded::default();
        // Records without a time field are a second apart, in file order.
        let line_time = i64::try_from(n).unwrap_or(i64::MAX).saturating_mul(1_000);
        decoder.decode_value("", &value, Timestamp(line_time), &mut decoded);
        obs.extend(decoded.observations);
        for e in decoded.errors {
            bad.push(BadLine {
                line: n,
                kind: e.kind,
                message: format!("line {n}: {}", e.message),
                sample: line.to_string(),
            });
        }
    }
    (obs, bad)
}

/// A replay: the records of a file and how to play them.
#[derive(Debug, Clone)]
pub struct Replay {
    source: SourceId,
    records: Vec<Observation>,
    bad: Vec<BadLine>,
    speed: f64,
    looping: bool,
    retime: bool,
    period_ms: i64,
}

impl Replay {
    /// Reads a replay file (`spec.path` relative to `base`).
    pub fn open(spec: &ReplaySpec, base: &Path, source: SourceId) -> Result<Replay, ReplayError> {
        let path = base.join(&spec.path);
        let io = |e| ReplayError::Io {
            path: path.clone(),
            source: e,
        };
        let size = std::fs::metadata(&path).map_err(io)?.len();
        if size > MAX_REPLAY_BYTES {
            return Err(ReplayError::TooLarge { path, size });
        }
        let text = std::fs::read_to_string(&path).map_err(io)?;
        let r = Replay::from_text(&text, spec, source);
        if r.records.is_empty() {
            return Err(ReplayError::Empty {
                path,
                bad: r.bad.len(),
            });
        }
        Ok(r)
    }

    /// A replay of file text.
    pub fn from_text(text: &str, spec: &ReplaySpec, source: SourceId) -> Replay {
        let (mut records, bad) = parse_records(text, spec.format, spec.mapping.as_ref(), &source);
        // Stable: records of the same time keep their file order.
        records.sort_by_key(|o| o.time);
        // The decoder rejects times beyond `Timestamp::LIMIT_MS`, so the span fits; it
        // saturates all the same, as does every sum of times below.
        let span = match (records.first(), records.last()) {
            (Some(a), Some(b)) => b.time.ms_since(a.time),
            _ => 0,
        };
        let gap = match i64::try_from(records.len()) {
            Ok(n) if n > 1 => (span / (n - 1)).max(1),
            _ => LOOP_GAP_MS,
        };
        let (lo, hi) = REPLAY_SPEED_RANGE;
        Replay {
            source,
            records,
            bad,
            speed: spec.speed.clamp(lo, hi),
            looping: spec.looping,
            retime: spec.retime,
            period_ms: span.saturating_add(gap),
        }
    }

    /// Records read, in replay order.
    pub fn records(&self) -> &[Observation] {
        &self.records
    }

    /// Lines that could not be read.
    pub fn bad_lines(&self) -> &[BadLine] {
        &self.bad
    }

    /// The replay's clock `elapsed` after it started at wall time `start`: the recorded
    /// time being replayed at the replay's speed (the first record's time plus `elapsed` ×
    /// speed), or with `retime` the wall clock from `start`.
    pub fn clock_at(&self, start: Timestamp, elapsed: Duration) -> Timestamp {
        let ms = elapsed.as_secs_f64() * 1_000.0;
        match self.records.first() {
            Some(first) if !self.retime => first.time.plus_ms((ms * self.speed).ceil() as i64),
            _ => start.plus_ms(ms.ceil() as i64),
        }
    }

    /// The `n`-th observation replayed (counting over loops) and when it is due after the
    /// start, at the replay's speed; `None` past the end of a non-looping replay.
    /// Recorded times are shifted by whole loop periods; with `retime` they are replaced
    /// by `start` plus the due time.
    pub fn nth(&self, n: usize, start: Timestamp) -> Option<(Duration, Observation)> {
        let len = self.records.len();
        if len == 0 || (!self.looping && n >= len) {
            return None;
        }
        let (k, i) = (n / len, n % len);
        let loops_ms = i64::try_from(k)
            .unwrap_or(i64::MAX)
            .saturating_mul(self.period_ms);
        let offset_ms = self.records[i]
            .time
            .ms_since(self.records[0].time)
            .saturating_add(loops_ms);
        let due_ms = offset_ms as f64 / self.speed;
        let mut o = self.records[i].clone();
        o.time = if self.retime {
            start.plus_ms(due_ms.round() as i64)
        } else {
            o.time.plus_ms(loops_ms)
        };
        // Records are sorted, so the offset is never negative; a due time past what a
        // Duration holds is never reached.
        let due = Duration::try_from_secs_f64(due_ms / 1_000.0).unwrap_or(Duration::MAX);
        Some((due, o))
    }
}

impl FeedSource for Replay {
    fn id(&self) -> SourceId {
        self.source.clone()
    }

    fn run(self: Box<Self>, tx: FeedSender, stop: StopFlag) {
        for b in &self.bad {
            tx.error(b.kind, b.message.clone(), &b.sample);
        }
        tx.event(FeedEvent::Connected);
        let start = Timestamp::now();
        let wall0 = Instant::now();
        let mut n = 0usize;
        let mut batch = Vec::new();
        'outer: while !stop.is_set() {
            let elapsed = wall0.elapsed();
            // Observations due by now are at or before the replay's clock.
            tx.event(FeedEvent::Clock(self.clock_at(start, elapsed)));
            let next_due = loop {
                match self.nth(n, start) {
                    None => break None,
                    Some((due, o)) if due <= elapsed => {
                        batch.push(o);
                        n += 1;
                        if batch.len() >= BATCH_MAX {
                            tx.batch(std::mem::take(&mut batch));
                        }
                    }
                    Some((due, _)) => break Some(due),
                }
            };
            tx.batch(std::mem::take(&mut batch));
            match next_due {
                None => break 'outer,
                Some(due) => {
                    if !stop.sleep(due.saturating_sub(wall0.elapsed()).min(MAX_NAP)) {
                        break;
                    }
                }
            }
        }
        tx.event(FeedEvent::Stopped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::feeds::observation::{Metric, Subject};
    use crate::twin::feeds::source::{FeedMessage, feed_channel, spawn};

    fn spec(format: ReplayFormat, speed: f64, looping: bool) -> ReplaySpec {
        ReplaySpec {
            path: "x".into(),
            format,
            speed,
            looping,
            mapping: None,
            retime: false,
        }
    }

    fn jsonl(n: usize) -> String {
        let s = SourceId("rec".into());
        let mut text = String::new();
        for i in 0..n {
            let o = Observation::new(
                &s,
                Subject::Sensor(format!("s{}", i % 3)),
                Metric::Noise,
                50.0 + i as f64,
                Timestamp(1_000_000 + i as i64 * 1_000),
            );
            text.push_str(&serde_json::to_string(&o).unwrap());
            text.push('\n');
        }
        text
    }

    #[test]
    fn reads_jsonl_and_counts_bad_lines() {
        let mut text = jsonl(5);
        text.push_str("{broken\n");
        text.push_str("{\"value\": 3}\n");
        let r = Replay::from_text(
            &text,
            &spec(ReplayFormat::Jsonl, 1.0, false),
            SourceId("r".into()),
        );
        assert_eq!(r.records().len(), 5);
        assert_eq!(r.bad_lines().len(), 2);
        assert_eq!(r.bad_lines()[0].kind, ErrorKind::Malformed);
        assert_eq!(r.bad_lines()[0].line, 6);
        assert_eq!(r.records()[0].source, SourceId("r".into()));
    }

    #[test]
    fn reads_csv_with_a_time_column() {
        let text = "time,metric,id,value\n2024-01-01T00:00:02Z,no2,\"kallio, north\",20\n2024-01-01T00:00:01Z,pm25,a,5.5\nbad,pm25,a,1\n2024-01-01T00:00:03Z,pm25,a,NaN\n2024-01-01T00:00:03Z,pm25\n";
        let r = Replay::from_text(text, &spec(ReplayFormat::Csv, 1.0, false), SourceId("r".into()));
        // The NaN row is read; the live state's validation rejects and counts it.
        assert_eq!(r.records().len(), 3);
        assert_eq!(r.records()[0].metric, Metric::Pm25, "sorted by time");
        assert_eq!(r.records()[1].subject, Subject::Sensor("kallio, north".into()));
        assert!(r.records()[2].value.is_nan());
        let kinds: Vec<ErrorKind> = r.bad_lines().iter().map(|b| b.kind).collect();
        assert_eq!(kinds, vec![ErrorKind::WrongType, ErrorKind::Malformed]);
    }

    #[test]
    fn schedule_scales_with_speed_and_loops_shift_time() {
        let r = Replay::from_text(
            &jsonl(3),
            &spec(ReplayFormat::Jsonl, 100.0, true),
            SourceId("r".into()),
        );
        let (d1, o1) = r.nth(1, Timestamp(0)).unwrap();
        assert_eq!(d1, Duration::from_millis(10));
        assert_eq!(o1.time, Timestamp(1_001_000));
        // Period = span 2 s + mean gap 1 s: the second loop's first record is 3 s later.
        let (d3, o3) = r.nth(3, Timestamp(0)).unwrap();
        assert_eq!(d3, Duration::from_millis(30));
        assert_eq!(o3.time, Timestamp(1_003_000));
        let once = Replay::from_text(
            &jsonl(3),
            &spec(ReplayFormat::Jsonl, 100.0, false),
            SourceId("r".into()),
        );
        assert!(once.nth(3, Timestamp(0)).is_none());
    }

    #[test]
    fn the_replay_clock_follows_the_recording_or_the_wall() {
        let r = Replay::from_text(
            &jsonl(3),
            &spec(ReplayFormat::Jsonl, 100.0, true),
            SourceId("r".into()),
        );
        let start = Timestamp(5_000_000);
        // 20 ms at ×100 is 2 s into the recording that starts at 1 000 000.
        assert_eq!(r.clock_at(start, Duration::from_millis(20)), Timestamp(1_002_000));
        // Every record due by then is at or before the clock.
        let e = Duration::from_millis(25);
        for n in 0..6 {
            if let Some((due, o)) = r.nth(n, start).filter(|(due, _)| *due <= e) {
                assert!(o.time <= r.clock_at(start, e), "{n} {due:?}");
            }
        }
        let mut sp = spec(ReplayFormat::Jsonl, 100.0, true);
        sp.retime = true;
        let re = Replay::from_text(&jsonl(3), &sp, SourceId("r".into()));
        assert_eq!(
            re.clock_at(start, Duration::from_millis(20)),
            Timestamp(5_000_020)
        );
        let (_, o) = re.nth(2, start).unwrap();
        assert!(o.time <= re.clock_at(start, Duration::from_millis(20)));
    }

    fn play(text: &str, sp: &ReplaySpec) -> Vec<Observation> {
        let r = Replay::from_text(text, sp, SourceId("r".into()));
        let (ch, rx) = feed_channel(10_000);
        let h = spawn(Box::new(r), &ch).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !h.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(h.join());
        rx.receiver()
            .try_iter()
            .flat_map(|m| match m {
                FeedMessage::Batch(b) | FeedMessage::Acked { batch: b, .. } => b,
                FeedMessage::Observation(o) => vec![o],
                FeedMessage::Event { .. } => vec![],
            })
            .collect()
    }

    #[test]
    fn replay_is_deterministic_and_finishes() {
        let text = jsonl(40);
        let sp = spec(ReplayFormat::Jsonl, 1_000.0, false);
        let start = Instant::now();
        let a = play(&text, &sp);
        // 39 s of records at ×1000 take about 39 ms.
        assert!(
            start.elapsed() >= Duration::from_millis(35),
            "{:?}",
            start.elapsed()
        );
        let b = play(&text, &sp);
        assert_eq!(a.len(), 40);
        assert_eq!(a, b);
        let times: Vec<i64> = a.iter().map(|o| o.time.0).collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]));
    }
}
