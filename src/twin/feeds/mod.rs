//! Live feeds: the observation model, sources on their own threads (simulator, replay,
//! MQTT), the bounded channels that carry observations to the app, validation, feed health,
//! the live picture, the history (a SQLite file or a shared PostgreSQL database, behind
//! [`history::History`]) and the time slider.
//!
//! The app side: [`runtime::start_feeds`] from the scene's specs, then each frame
//! [`live::LiveState::drain_with`] on the [`source::FeedReceiver`] within
//! [`live::DEFAULT_DRAIN_BUDGET`]; the health panel reads [`live::LiveState::health`]; the
//! time slider (`crate::twin::timeline::TwinClock`), when not live, shows
//! [`live::Picture::from_stored`] of [`history::History::latest_at`] on a reader opened
//! with [`runtime::open_history`]; charts read [`history::History::series`].

pub mod bench;
pub mod fasthash;
pub mod health;
pub mod history;
pub mod history_bench;
#[cfg(test)]
mod history_suite;
pub mod ingest;
pub mod key;
pub mod live;
pub mod mapping;
pub mod mqtt;
pub mod observation;
pub mod pg;
pub mod provenance;
pub mod reader;
pub mod replay;
#[cfg(test)]
mod robustness;
pub mod runtime;
pub mod simulator;
pub mod source;
pub mod spec;
pub mod spool;
pub mod store;
pub mod timefmt;
pub mod validate;

pub use observation::{Metric, Observation, Quality, SourceId, Subject, Timestamp};
