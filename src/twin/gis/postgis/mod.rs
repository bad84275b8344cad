//! PostGIS: layers read from a table of a PostgreSQL database with the PostGIS extension,
//! named in a scene by a URL `postgis://user@host:port/dbname?table=schema.table`.
//! [`source`] parses the URL and finds the password (`PGPASSWORD`, `~/.pgpass`: never the
//! scene file); [`read`] reads the table with a bounding-box filter on the scene extent.

pub mod read;
pub mod source;

pub use read::{ReadOptions, connect, geometry_tables, read_postgis};
pub use source::{PgSource, TableName, is_postgis, redact};
