//! Live feeds: the observation model, sources on their own threads, the bounded channels
//! that carry observations to the app, feed health, and the on-disk history.

pub mod observation;

pub use observation::{Metric, Observation, Quality, SourceId, Subject, Timestamp};
