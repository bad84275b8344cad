//! Typed errors of the GIS readers and writers; each names the file and, where it applies,
//! the layer and the feature.

use std::path::PathBuf;

use thiserror::Error;

/// An error reading or writing a GIS file. A whole-file error; single bad features are
/// skipped and counted in the layer's [`SkipReport`](crate::twin::gis::layer::SkipReport).
#[derive(Debug, Error)]
pub enum GisError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A sidecar file that the format needs is missing (.shx, .dbf).
    #[error("{path}: missing sidecar file {missing}")]
    MissingSidecar {
        /// The main file.
        path: PathBuf,
        /// The missing file's extension, e.g. ".dbf".
        missing: String,
    },
    /// The file's content is malformed.
    #[error("{path}: malformed {format} data{}: {message}", feature.map(|f| format!(" at feature {f}")).unwrap_or_default())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Format name.
        format: &'static str,
        /// Index of the feature where it went wrong, if known.
        feature: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// The CRS of the file is unknown or unusable.
    #[error("{path}: {message}")]
    Crs {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The file's format is not one citytwin reads.
    #[error(
        "{path}: unknown data format (expected .shp, .geojson, .json, .gpkg, .city.json, .jsonl, .osm.pbf or a postgis:// source)"
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// A database could not be reached, refused the login, or failed a query; or a table
    /// asked for is not there.
    #[error("{url}: {message}")]
    Database {
        /// The source, as a URL without password.
        url: String,
        /// What went wrong (naming the table where it applies).
        message: String,
    },
    /// Writing failed.
    #[error("{path}: cannot write {layer}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The layer being written.
        layer: String,
        /// What went wrong.
        message: String,
    },
}

impl GisError {
    /// An I/O error on a path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> GisError {
        GisError::Io {
            path: path.into(),
            source,
        }
    }
}
