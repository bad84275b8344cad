//! Who may see what: roles defined in the scene, the role the app runs as, the filtering
//! of a scene before anything is read (layers and feeds above the role are never loaded),
//! indicators under a role, privacy by aggregation (k-anonymous cells of data about
//! individuals), the redaction every export goes through, and the data catalogue.
//!
//! For the app and the exporters:
//! - [`load_scene_as`] (or [`filter_scene`] + a loader) → [`ScopedScene`]: the loaded
//!   scene as the role may have it, the [`Role`] and what was [`Withheld`].
//! - [`IndicatorPolicy`]: which indicators a role sees ([`IndicatorPolicy::redact_evaluation`]
//!   for the dashboard); the rule per input is documented in [`indicators`].
//! - [`view_for`] / [`aggregate_hex`] / [`aggregate_zones`]: personal records as a role
//!   may see them.
//! - [`ExportAccess`]: `redact_report`, `export_json`, `report_json`, attributions; every
//!   exporter (JSON, PDF, PNG) goes through it.
//! - [`catalogue_rows`]: every layer and feed for the catalogue panel and exports.

pub mod catalogue;
pub mod export;
pub mod filter;
pub mod indicators;
pub mod privacy;
pub mod roles;

use thiserror::Error;

pub use catalogue::{CatalogueRow, catalogue_rows};
pub use export::{ExportAccess, ExportError, attribution_line, attributions};
pub use filter::{ScopedScene, Withheld, WithheldItem, filter_scene, load_filtered, load_scene_as};
pub use indicators::{IndicatorAccess, IndicatorPolicy, RecordCounts};
pub use privacy::{
    Aggregation, Cell, CellMap, HexGrid, PersonalRecord, RecordView, aggregate_hex, aggregate_zones,
    count_ramp, requests_from_observations, view_for,
};
pub use roles::{AccessSpec, DEFAULT_K_ANONYMITY, DEFAULT_ROLE, Role, RoleSpec};

/// Errors of loading or exporting under a role.
#[derive(Debug, Error)]
pub enum AccessError {
    /// The role is not defined in the scene.
    #[error("unknown role '{role}'; the scene defines: {known}")]
    UnknownRole {
        /// The role asked for.
        role: String,
        /// The roles the scene defines.
        known: String,
    },
    /// The scene could not be loaded.
    #[error(transparent)]
    Scene(#[from] crate::twin::scene::SceneError),
    /// The scene's observation history could not be read (the message names the file).
    #[error("{0}")]
    History(String),
}
