//! GeoPackage (`.gpkg`): one SQLite file with any number of vector tables. [`read`] reads
//! one table into a layer, [`write`] writes layers as tables of one file, [`blob`] decodes
//! and encodes the geometry blobs. SQLite is the one `rusqlite` already links.

pub mod blob;
pub mod read;
pub mod write;

pub use read::{ReadOptions, feature_tables, read_gpkg};
pub use write::write_gpkg;

/// Format name in errors.
const FORMAT: &str = "geopackage";
/// Attribute given to features whose geometry has Z: the lowest Z value.
pub const Z_MIN_FIELD: &str = "z_min";
/// Attribute given to features whose geometry has Z: the highest Z value (a building's
/// height when the file's Z is height above ground: `heights: (height_fields: ["z_max"])`).
pub const Z_MAX_FIELD: &str = "z_max";

/// An SQL identifier in double quotes (inner quotes doubled).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
