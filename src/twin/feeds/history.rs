//! The history of observations behind one trait, [`History`], so the store writer, the
//! time slider, the charts, the indicators, briefings and exports work the same on the
//! local SQLite file ([`Store`]) and on a control room's shared PostgreSQL database
//! ([`PgHistory`]); [`open_history`] opens the one a scene names.

use std::path::Path;

use crate::twin::feeds::key::SubjectKey;
use crate::twin::feeds::observation::{Metric, Observation, Timestamp};
use crate::twin::feeds::pg::PgHistory;
use crate::twin::feeds::spec::HistorySpec;
use crate::twin::feeds::store::{Durability, Store, StoreError, StoredObservation};

/// A history of observations: appended by one writer, read by every view. Every engine
/// gives the same answers to the same calls (one test-suite runs against each).
pub trait History: Send + std::fmt::Debug {
    /// Where the history lives, for messages (a file, or a database URL without its
    /// password).
    fn describe(&self) -> String;

    /// Appends several batches in one transaction; when this returns `Ok` they are stored
    /// (acknowledged). On an error nothing of them is stored.
    fn append_batches(&mut self, batches: &[Vec<Observation>]) -> Result<usize, StoreError>;

    /// Appends one batch in one transaction, as [`History::append_batches`].
    fn append(&mut self, batch: &[Observation]) -> Result<usize, StoreError> {
        self.append_batches(&[batch.to_vec()])
    }

    /// The newest observation time appended through this handle since it was opened.
    fn newest_written(&self) -> Option<Timestamp>;

    /// Whether the handle can no longer work (a database connection that closed): its owner
    /// opens the history afresh. A local file never breaks this way.
    fn is_broken(&self) -> bool {
        false
    }

    /// Deletes observations older than `before`; returns how many.
    fn prune_before(&mut self, before: Timestamp) -> Result<usize, StoreError>;

    /// Number of observations stored.
    fn count(&self) -> Result<u64, StoreError>;

    /// Earliest and latest observation time, `None` when empty.
    fn time_range(&self) -> Result<Option<(Timestamp, Timestamp)>, StoreError>;

    /// The latest observation of every (subject, metric) at or before `t` (the time
    /// slider's picture), optionally no older than `t - max_age_ms`. Of equal times the one
    /// stored last wins.
    fn latest_at(&self, t: Timestamp, max_age_ms: Option<i64>) -> Result<Vec<StoredObservation>, StoreError>;

    /// The latest value of one subject and metric at or before `t`.
    fn value_at(
        &self,
        key: &SubjectKey,
        metric: Metric,
        t: Timestamp,
    ) -> Result<Option<Observation>, StoreError>;

    /// One subject's values of a metric with `from <= time <= to`, in time order (charts).
    fn series(
        &self,
        key: &SubjectKey,
        metric: Metric,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, f64)>, StoreError>;

    /// Every observation with `from <= time <= to`, in time order (exports, replays,
    /// indicators); equal times in the order they were stored.
    fn range(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Observation>, StoreError>;

    /// Every observation of one metric with `from <= time <= to`, in time order.
    fn metric_range(
        &self,
        metric: Metric,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Observation>, StoreError> {
        let mut all = self.range(from, to)?;
        all.retain(|o| o.metric == metric);
        Ok(all)
    }
}

impl History for Store {
    fn describe(&self) -> String {
        self.path().display().to_string()
    }

    fn append_batches(&mut self, batches: &[Vec<Observation>]) -> Result<usize, StoreError> {
        Store::append_batches(self, batches)
    }

    fn append(&mut self, batch: &[Observation]) -> Result<usize, StoreError> {
        Store::append(self, batch)
    }

    fn newest_written(&self) -> Option<Timestamp> {
        Store::newest_written(self)
    }

    fn prune_before(&mut self, before: Timestamp) -> Result<usize, StoreError> {
        Store::prune_before(self, before)
    }

    fn count(&self) -> Result<u64, StoreError> {
        Store::count(self)
    }

    fn time_range(&self) -> Result<Option<(Timestamp, Timestamp)>, StoreError> {
        Store::time_range(self)
    }

    fn latest_at(&self, t: Timestamp, max_age_ms: Option<i64>) -> Result<Vec<StoredObservation>, StoreError> {
        Store::latest_at(self, t, max_age_ms)
    }

    fn value_at(
        &self,
        key: &SubjectKey,
        metric: Metric,
        t: Timestamp,
    ) -> Result<Option<Observation>, StoreError> {
        Store::value_at(self, key, metric, t)
    }

    fn series(
        &self,
        key: &SubjectKey,
        metric: Metric,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, f64)>, StoreError> {
        Store::series(self, key, metric, from, to)
    }

    fn range(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Observation>, StoreError> {
        Store::range(self, from, to)
    }

    fn metric_range(
        &self,
        metric: Metric,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Observation>, StoreError> {
        Store::metric_range(self, metric, from, to)
    }
}

/// Opens the history a scene names: its SQLite file (relative to the scene file at
/// `scene_path`, created when missing) or its PostgreSQL database (schema created when
/// missing).
pub fn open_history(spec: &HistorySpec, scene_path: &Path) -> Result<Box<dyn History>, StoreError> {
    Ok(match spec {
        HistorySpec::File(f) | HistorySpec::Engine(crate::twin::feeds::spec::HistoryEngine::Sqlite(f)) => {
            Box::new(Store::open(&f.resolve(scene_path), Durability::Normal)?)
        }
        HistorySpec::Engine(crate::twin::feeds::spec::HistoryEngine::Postgres(p)) => {
            Box::new(PgHistory::open(p)?)
        }
    })
}
