//! Figures of a history engine (SQLite or PostgreSQL) behind [`History`]: ingest rate in
//! committed batches, and the time slider's query (the picture of the last hour at an
//! instant) while scrubbing across the whole history, with the other queries beside.
//! Used by `benches/history.rs`; asserts nothing about time.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::twin::city::RoadId;
use crate::twin::feeds::bench::{INGEST_ROWS_PER_COMMIT, ROADS, obs};
use crate::twin::feeds::history::History;
use crate::twin::feeds::key::SubjectKey;
use crate::twin::feeds::observation::{Metric, Observation, SourceId, Timestamp};
use crate::twin::feeds::reader::{HistoryReader, Lane, ReadAnswer, ReadRequest};

/// Instants the slider visits, evenly over the history.
pub const SCRUB_STEPS: usize = 40;

/// What one engine did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryFigures {
    /// The engine and where it lives.
    pub engine: String,
    /// Observations written.
    pub observations: usize,
    /// Observations per second through [`History::append`], committed, in batches of
    /// [`INGEST_ROWS_PER_COMMIT`].
    pub ingest_obs_per_s: f64,
    /// Median of the time slider's query ([`History::latest_at`], last hour) over
    /// [`SCRUB_STEPS`] instants, ms.
    pub slider_median_ms: f64,
    /// The slowest of them, ms.
    pub slider_max_ms: f64,
    /// [`History::latest_at`] of every series at the newest time without age limit, ms.
    pub latest_at_all_ms: f64,
    /// [`History::value_at`] of one road, ms.
    pub value_at_ms: f64,
    /// [`History::series`] of one road over the whole history, ms.
    pub series_ms: f64,
    /// [`History::range`] of 10 s across every series, ms.
    pub range_10s_ms: f64,
    /// [`History::prune_before`] of the oldest tenth, ms.
    pub prune_tenth_ms: f64,
}

fn time_ms<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let t = Instant::now();
    let v = f();
    (t.elapsed().as_secs_f64() * 1_000.0, v)
}

/// Writes `n` generated road speeds (10,000 roads, 1 ms apart) into an empty history and
/// times the queries on it.
pub fn measure_history(engine: &str, h: &mut dyn History, n: usize) -> Result<HistoryFigures, String> {
    let source = SourceId("bench".into());
    let e = |e: crate::twin::feeds::store::StoreError| e.to_string();
    let mut writing = 0.0;
    let mut i = 0;
    while i < n {
        let end = (i + INGEST_ROWS_PER_COMMIT).min(n);
        let batch: Vec<Observation> = (i..end).map(|k| obs(&source, k)).collect();
        let (ms, r) = time_ms(|| h.append(&batch));
        r.map_err(e)?;
        writing += ms;
        i = end;
    }
    if h.count().map_err(e)? != n as u64 {
        return Err(format!("{engine}: count is not {n}"));
    }
    let (t0, t1) = h.time_range().map_err(e)?.ok_or("empty history")?;
    let mut slider = Vec::with_capacity(SCRUB_STEPS);
    for k in 1..=SCRUB_STEPS {
        let at = t0.plus_ms((t1.0 - t0.0) / SCRUB_STEPS as i64 * k as i64);
        let (ms, p) = time_ms(|| h.latest_at(at, Some(Timestamp::HOUR_MS)));
        if p.map_err(e)?.is_empty() {
            return Err(format!("{engine}: empty picture at {at:?}"));
        }
        slider.push(ms);
    }
    slider.sort_by(f64::total_cmp);
    let (latest_at_all_ms, all) = time_ms(|| h.latest_at(t1, None));
    if all.map_err(e)?.len() != n.min(ROADS as usize) {
        return Err(format!("{engine}: latest_at misses series"));
    }
    let road = SubjectKey::Road(RoadId(7));
    let (value_at_ms, v) = time_ms(|| h.value_at(&road, Metric::TrafficSpeed, t1));
    v.map_err(e)?.ok_or("value_at found nothing")?;
    let (series_ms, s) = time_ms(|| h.series(&road, Metric::TrafficSpeed, t0, t1));
    if s.map_err(e)?.len() != n.div_ceil(ROADS as usize) {
        return Err(format!("{engine}: the series misses values"));
    }
    let mid = Timestamp(t0.0 + (t1.0 - t0.0) / 2);
    let (range_10s_ms, r) = time_ms(|| h.range(mid, mid.plus_ms(10 * Timestamp::SECOND_MS)));
    r.map_err(e)?;
    let cut = t0.plus_ms((t1.0 - t0.0) / 10);
    let (prune_tenth_ms, p) = time_ms(|| h.prune_before(cut));
    p.map_err(e)?;
    Ok(HistoryFigures {
        engine: engine.to_string(),
        observations: n,
        ingest_obs_per_s: n as f64 / (writing / 1_000.0),
        slider_median_ms: slider[slider.len() / 2],
        slider_max_ms: slider[slider.len() - 1],
        latest_at_all_ms,
        value_at_ms,
        series_ms,
        range_10s_ms,
        prune_tenth_ms,
    })
}

/// A frame's length while scrubbing (60 frames a second).
pub const FRAME: Duration = Duration::from_micros(16_667);

/// What the main thread's side of the time slider cost while scrubbing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScrubFigures {
    /// Frames run.
    pub frames: usize,
    /// The main thread's work per frame (ask the reader, take an answer, build the
    /// picture from it), median, ms.
    pub frame_median_ms: f64,
    /// The slowest frame's work, ms.
    pub frame_max_ms: f64,
    /// Pictures shown (answers taken).
    pub answers: usize,
    /// Median time from a question to its answer on the reader's thread, ms.
    pub answer_median_ms: f64,
    /// Questions superseded or answers dropped because the slider had moved on.
    pub dropped: u64,
}

/// Scrubs the slider across `[t0, t1]` over `frames` frames of [`FRAME`], asking the
/// reader for the picture of the last hour at each frame's instant, as the app does;
/// times the main thread's side of each frame (it never waits on the database).
pub fn scrub_frames(reader: &HistoryReader, t0: Timestamp, t1: Timestamp, frames: usize) -> ScrubFigures {
    let frames = frames.max(1);
    let mut work = Vec::with_capacity(frames);
    let mut took = Vec::new();
    let mut answers = 0;
    for k in 0..frames {
        let start = Instant::now();
        let at = t0.plus_ms((t1.0 - t0.0) / frames as i64 * k as i64);
        if let Some(reply) = reader.take(Lane::Picture) {
            if let Ok(ReadAnswer::Latest(rows)) = reply.answer {
                let picture = crate::twin::feeds::live::Picture::from_stored(rows);
                std::hint::black_box(&picture);
            }
            took.push(reply.took.as_secs_f64() * 1_000.0);
            answers += 1;
        }
        if !reader.pending(Lane::Picture) {
            reader.ask(
                Lane::Picture,
                ReadRequest::LatestAt {
                    t: at,
                    max_age_ms: Some(Timestamp::HOUR_MS),
                },
            );
        }
        let spent = start.elapsed();
        work.push(spent.as_secs_f64() * 1_000.0);
        std::thread::sleep(FRAME.saturating_sub(spent));
    }
    work.sort_by(f64::total_cmp);
    took.sort_by(f64::total_cmp);
    let stats = reader.stats();
    ScrubFigures {
        frames,
        frame_median_ms: work[work.len() / 2],
        frame_max_ms: work[work.len() - 1],
        answers,
        answer_median_ms: took.get(took.len() / 2).copied().unwrap_or(f64::NAN),
        dropped: stats.stale.load(std::sync::atomic::Ordering::Relaxed)
            + stats.superseded.load(std::sync::atomic::Ordering::Relaxed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::feeds::store::Store;

    #[test]
    fn a_small_run_reports_every_figure() {
        let mut s = Store::in_memory().unwrap();
        let f = measure_history("sqlite", &mut s, 30_000).unwrap();
        assert_eq!(f.observations, 30_000);
        assert!(
            f.ingest_obs_per_s > 0.0 && f.slider_median_ms <= f.slider_max_ms,
            "{f:?}"
        );
        // Pruned a tenth of the time span, a tenth of the observations.
        assert!(
            (2_900..=3_100).contains(&(30_000 - s.count().unwrap())),
            "{}",
            s.count().unwrap()
        );
    }
}
