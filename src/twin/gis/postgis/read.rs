//! PostGIS reader: one geometry table (or view) of a PostgreSQL database into a layer —
//! the geometry column and SRID from `geometry_columns`, the CRS from `spatial_ref_sys`
//! (EPSG code or WKT, checked by PROJ), typed attributes from the other columns, only the
//! features whose bounding box meets the scene extent (a `&&` filter the table's spatial
//! index answers), geometry as EWKB decoded by `geozero` on all cores.

use std::collections::BTreeMap;
use std::time::Duration;

use geo::BoundingRect;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row};
use rayon::prelude::*;

use super::source::{self, PasswordFrom, PgSource, TableName, quote};
use crate::twin::crs::Crs;
use crate::twin::error::GisError;
use crate::twin::gis::extent::{self, meets};
use crate::twin::gis::geojson::clean_geometry;
use crate::twin::gis::gpkg::blob::{self, BlobError};
use crate::twin::gis::gpkg::{Z_MAX_FIELD, Z_MIN_FIELD};
use crate::twin::gis::layer::{
    AttrValue, Attributes, CatalogueEntry, Feature, Layer, LayerFormat, LayerKind, SkipReport,
};

/// How long a connection may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The name the server sees this program by (`pg_stat_activity.application_name`).
const APPLICATION_NAME: &str = "citytwin";
/// SQLSTATE codes of a refused login (wrong password; no `pg_hba.conf` entry or other).
const AUTH_FAILED: [&str; 2] = ["28P01", "28000"];
/// What the client says when the server asks for a password and none was given.
const PASSWORD_MISSING: &str = "password missing";
/// PostgreSQL types whose values are numbers (read as `float8`).
const NUMBER_TYPES: [&str; 6] = ["int2", "int4", "int8", "float4", "float8", "numeric"];
/// PostgreSQL types of integer primary keys (the features' ids).
const INTEGER_TYPES: [&str; 3] = ["int2", "int4", "int8"];
/// Types of columns that are not attributes (binary, other geometries).
const SKIPPED_TYPES: [&str; 6] = ["bytea", "geometry", "geography", "raster", "box2d", "box3d"];

/// What to read from a PostGIS database.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions<'a> {
    /// The table (`schema.table` or `table`), when the source URL does not name it; the
    /// only geometry table of the database when neither does.
    pub table: Option<&'a str>,
    /// A CRS that replaces the one the database declares.
    pub crs: Option<&'a Crs>,
    /// Only features whose bounding box meets this WGS84 box `[min_lon, min_lat, max_lon,
    /// max_lat]` are read.
    pub extent_wgs84: Option<[f64; 4]>,
    /// The password; `None`: `PGPASSWORD`, else the password file (see
    /// [`source::find_password`]). Never taken from a scene file.
    pub password: Option<&'a str>,
}

/// How an attribute column is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Numbers (integers, floats, numeric), read as `float8`.
    Number,
    /// Booleans.
    Bool,
    /// Dates, read as ISO text.
    Date,
    /// Anything else, read as its text form.
    Text,
}

impl ColumnKind {
    /// How a column of PostgreSQL type `typname` is read; `None`: it is not an attribute.
    pub fn of(typname: &str) -> Option<ColumnKind> {
        Some(match typname {
            t if NUMBER_TYPES.contains(&t) => ColumnKind::Number,
            "bool" => ColumnKind::Bool,
            "date" => ColumnKind::Date,
            t if SKIPPED_TYPES.contains(&t) => return None,
            _ => ColumnKind::Text,
        })
    }
}

/// One attribute column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// How it is read.
    pub kind: ColumnKind,
}

/// Which features of a table are read, and how: the SQL that [`read_postgis`] runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The table.
    pub table: TableName,
    /// Its geometry column.
    pub geometry: String,
    /// Its integer primary key (the features' ids); `None`: features are numbered from 1
    /// in the order read.
    pub key: Option<String>,
    /// The attribute columns.
    pub columns: Vec<Column>,
    /// The bounding-box filter `[min_x, min_y, max_x, max_y]` in the table's coordinates,
    /// and the SRID the box is given in (the column's).
    pub window: Option<([f64; 4], i32)>,
}

impl Query {
    /// The `SELECT`: id, EWKB, emptiness, then one value per attribute column; with a
    /// window, `geometry && ST_MakeEnvelope($1, $2, $3, $4, $5)` (answered by a GiST index
    /// on the column where there is one); ordered by the key.
    pub fn sql(&self) -> String {
        let g = quote(&self.geometry);
        let id = match &self.key {
            Some(k) => format!("{}::int8", quote(k)),
            None => "(row_number() OVER ())::int8".to_string(),
        };
        let mut select = vec![id, format!("ST_AsEWKB({g})"), format!("ST_IsEmpty({g})")];
        select.extend(self.columns.iter().map(|c| {
            let q = quote(&c.name);
            match c.kind {
                ColumnKind::Number => format!("{q}::float8"),
                ColumnKind::Bool => q,
                ColumnKind::Date | ColumnKind::Text => format!("{q}::text"),
            }
        }));
        let mut sql = format!("SELECT {} FROM {}", select.join(", "), self.table.quoted());
        if self.window.is_some() {
            sql.push_str(&format!(
                " WHERE {g} && ST_MakeEnvelope($1::float8, $2::float8, $3::float8, $4::float8, $5::int4)"
            ));
        }
        if let Some(k) = &self.key {
            sql.push_str(&format!(" ORDER BY {}", quote(k)));
        }
        sql
    }
}

/// Errors of one source (and table), named in every message.
struct Ctx<'a> {
    url: String,
    table: Option<&'a TableName>,
}

impl Ctx<'_> {
    fn prefix(&self, message: impl std::fmt::Display) -> String {
        match self.table {
            Some(t) => format!("table '{t}': {message}"),
            None => message.to_string(),
        }
    }

    fn db(&self, message: impl std::fmt::Display) -> GisError {
        GisError::Database {
            url: self.url.clone(),
            message: self.prefix(message),
        }
    }

    fn sql(&self, e: &postgres::Error) -> GisError {
        self.db(pg_message(e))
    }

    fn crs(&self, message: impl std::fmt::Display) -> GisError {
        GisError::Crs {
            path: self.url.clone().into(),
            message: self.prefix(message),
        }
    }
}

/// A PostgreSQL error as one line: the server's message (with its detail and hint), or
/// the client's error and its causes.
fn pg_message(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut m = db.message().to_string();
        if let Some(d) = db.detail() {
            m.push_str(&format!(" ({d})"));
        }
        if let Some(h) = db.hint() {
            m.push_str(&format!("; hint: {h}"));
        }
        return m;
    }
    let mut m = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let s = c.to_string();
        if !m.contains(&s) {
            m.push_str(&format!(": {s}"));
        }
        cause = c.source();
    }
    m
}

fn env_var(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

/// Opens a connection to the source's database. The password is `password`, else
/// `PGPASSWORD`, else the password file's; a refused login says where one was looked for.
pub fn connect(src: &PgSource, password: Option<&str>) -> Result<Client, GisError> {
    let ctx = Ctx {
        url: src.to_string(),
        table: None,
    };
    let user = src
        .user_or(&env_var)
        .ok_or_else(|| ctx.db("no user: name one in the URL (postgis://user@host/db) or PGUSER"))?;
    let dbname = src.dbname_or(Some(&user)).unwrap_or_default();
    let (password, from) = match password {
        Some(p) => (Some(p.to_string()), PasswordFrom::Caller),
        None => source::find_password(
            &src.host,
            src.port,
            &dbname,
            &user,
            &env_var,
            &source::read_passfile,
        ),
    };
    let mut config = postgres::Config::new();
    config
        .host(&src.host)
        .port(src.port)
        .user(&user)
        .dbname(&dbname)
        .connect_timeout(CONNECT_TIMEOUT)
        .application_name(APPLICATION_NAME);
    if let Some(p) = &password {
        config.password(p);
    }
    config.connect(NoTls).map_err(|e| {
        let message = pg_message(&e);
        let refused = e
            .as_db_error()
            .is_some_and(|d| AUTH_FAILED.contains(&d.code().code()))
            || message.contains(PASSWORD_MISSING);
        let hint = match (refused, from) {
            (false, _) => String::new(),
            (true, PasswordFrom::None) => format!(
                "; no password was given: set {} or add a line to {} (libpq ignores, as citytwin \
                 does, a password file others may read)",
                source::PASSWORD_ENV,
                source::PASSFILE_NAME
            ),
            (true, PasswordFrom::PassFile) => {
                format!(
                    "; the password came from the password file ({})",
                    source::PASSFILE_NAME
                )
            }
            (true, PasswordFrom::Env) => format!("; the password came from {}", source::PASSWORD_ENV),
            (true, PasswordFrom::Caller) => String::new(),
        };
        ctx.db(format!(
            "cannot connect to database '{dbname}' as '{user}': {message}{hint}"
        ))
    })
}

/// A row of `geometry_columns`: table, geometry column, SRID.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GeometryColumn {
    table: TableName,
    column: String,
    srid: i32,
}

/// The rows of `geometry_columns`, sorted; "PostGIS is not enabled" when the view is missing.
fn geometry_columns(client: &mut Client, ctx: &Ctx) -> Result<Vec<GeometryColumn>, GisError> {
    let rows = client
        .query(
            "SELECT f_table_schema::text, f_table_name::text, f_geometry_column::text, srid \
             FROM geometry_columns ORDER BY 1, 2, 3",
            &[],
        )
        .map_err(|e| {
            if e.as_db_error().is_some_and(|d| d.code().code() == "42P01") {
                ctx.db(
                    "PostGIS is not enabled in this database (no geometry_columns): CREATE EXTENSION postgis",
                )
            } else {
                ctx.sql(&e)
            }
        })?;
    Ok(rows
        .iter()
        .map(|r| GeometryColumn {
            table: TableName {
                schema: r.get(0),
                table: r.get(1),
            },
            column: r.get(2),
            srid: r.get(3),
        })
        .collect())
}

/// The geometry tables of a source's database (`geometry_columns`), sorted, each once.
pub fn geometry_tables(src: &PgSource, password: Option<&str>) -> Result<Vec<TableName>, GisError> {
    let mut client = connect(src, password)?;
    let ctx = Ctx {
        url: src.to_string(),
        table: None,
    };
    let mut tables: Vec<TableName> = geometry_columns(&mut client, &ctx)?
        .into_iter()
        .map(|g| g.table)
        .collect();
    tables.dedup();
    Ok(tables)
}

/// The table to read (asked for, else the only one) and its geometry column (asked for,
/// else the only one).
fn choose(
    client: &mut Client,
    ctx: &Ctx,
    asked: Option<&TableName>,
    column: Option<&str>,
) -> Result<GeometryColumn, GisError> {
    let all = geometry_columns(client, ctx)?;
    let mut tables: Vec<&TableName> = all.iter().map(|g| &g.table).collect();
    tables.dedup();
    let list = || {
        if tables.is_empty() {
            "none".to_string()
        } else {
            tables
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let table = match asked {
        Some(t) => t.clone(),
        None => match tables.as_slice() {
            [one] => (*one).clone(),
            [] => return Err(ctx.db("no geometry table (geometry_columns is empty)")),
            _ => {
                return Err(ctx.db(format!(
                    "{} geometry tables ({}): choose one with ?table=schema.table in the URL",
                    tables.len(),
                    list()
                )));
            }
        },
    };
    let ctx = Ctx {
        url: ctx.url.clone(),
        table: Some(&table),
    };
    let columns: Vec<&GeometryColumn> = all.iter().filter(|g| g.table == table).collect();
    if columns.is_empty() {
        let exists: Option<String> = client
            .query_one("SELECT to_regclass($1)::text", &[&table.quoted()])
            .map_err(|e| ctx.sql(&e))?
            .get(0);
        return Err(ctx.db(match exists {
            Some(_) => format!("has no geometry column; geometry tables: {}", list()),
            None => format!("no such table; geometry tables: {}", list()),
        }));
    }
    let names = || {
        columns
            .iter()
            .map(|g| g.column.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (column, columns.as_slice()) {
        (Some(c), _) => columns
            .iter()
            .find(|g| g.column == c)
            .map(|g| (*g).clone())
            .ok_or_else(|| ctx.db(format!("no geometry column '{c}'; it has {}", names()))),
        (None, [one]) => Ok((*one).clone()),
        (None, _) => Err(ctx.db(format!(
            "{} geometry columns ({}): choose one with &geometry=column in the URL",
            columns.len(),
            names()
        ))),
    }
}

/// The SRID of a column that `geometry_columns` gives as 0 (an unconstrained `geometry`):
/// that of its first geometry, or 0.
fn srid_of_rows(client: &mut Client, ctx: &Ctx, g: &GeometryColumn) -> Result<i32, GisError> {
    let sql = format!(
        "SELECT ST_SRID({c}) FROM {t} WHERE {c} IS NOT NULL LIMIT 1",
        c = quote(&g.column),
        t = g.table.quoted()
    );
    let row = client.query_opt(&sql, &[]).map_err(|e| ctx.sql(&e))?;
    Ok(row.map_or(0, |r| r.get(0)))
}

/// The CRS of an SRID: its EPSG code when `spatial_ref_sys` says the authority is EPSG,
/// else its WKT; 0, an SRID without a row and one PROJ cannot read are errors.
fn crs_of(client: &mut Client, ctx: &Ctx, srid: i32) -> Result<Crs, GisError> {
    let give = "give the CRS in the scene (crs: Some(\"EPSG:n\"))";
    if srid == 0 {
        return Err(ctx.crs(format!("the geometry has no SRID (0); {give}")));
    }
    let row = client
        .query_opt(
            "SELECT auth_name::text, auth_srid, srtext::text FROM spatial_ref_sys WHERE srid = $1",
            &[&srid],
        )
        .map_err(|e| ctx.sql(&e))?
        .ok_or_else(|| ctx.crs(format!("unknown SRID {srid} (not in spatial_ref_sys); {give}")))?;
    let (auth, code, wkt): (Option<String>, Option<i32>, Option<String>) =
        (row.get(0), row.get(1), row.get(2));
    let crs = match (auth, code, wkt) {
        (Some(a), Some(c), _) if a.eq_ignore_ascii_case("EPSG") && c > 0 => Crs::Epsg(c as u32),
        (_, _, Some(w)) if !w.trim().is_empty() => Crs::Wkt(w.trim().to_string()),
        _ => return Err(ctx.crs(format!("SRID {srid} has neither an EPSG code nor a WKT; {give}"))),
    };
    proj::Proj::new(&crs.definition())
        .map_err(|e| ctx.crs(format!("SRID {srid} ({}): PROJ cannot read it: {e}", crs.label())))?;
    Ok(crs)
}

/// The attribute columns of a table (all but the key and geometries) and its integer
/// primary key, when it has one of a single column.
fn columns(
    client: &mut Client,
    ctx: &Ctx,
    g: &GeometryColumn,
) -> Result<(Option<String>, Vec<Column>), GisError> {
    let name = g.table.quoted();
    let key: Vec<(String, String)> = client
        .query(
            "SELECT a.attname::text, t.typname::text FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
             JOIN pg_type t ON t.oid = a.atttypid \
             WHERE i.indrelid = to_regclass($1) AND i.indisprimary",
            &[&name],
        )
        .map_err(|e| ctx.sql(&e))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let key = match key.as_slice() {
        [(k, t)] if INTEGER_TYPES.contains(&t.as_str()) => Some(k.clone()),
        _ => None,
    };
    let rows = client
        .query(
            "SELECT a.attname::text, t.typname::text FROM pg_attribute a \
             JOIN pg_type t ON t.oid = a.atttypid \
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
            &[&name],
        )
        .map_err(|e| ctx.sql(&e))?;
    let cols = rows
        .iter()
        .filter_map(|r| {
            let (n, t): (String, String) = (r.get(0), r.get(1));
            if Some(&n) == key.as_ref() || n == g.column {
                return None;
            }
            ColumnKind::of(&t).map(|kind| Column { name: n, kind })
        })
        .collect();
    Ok((key, cols))
}

/// A row as read, before its EWKB is decoded.
struct RawRow {
    fid: i64,
    ewkb: Option<Vec<u8>>,
    empty: bool,
    attributes: Attributes,
}

fn raw_row(row: &Row, n: i64, keyed: bool, cols: &[Column]) -> RawRow {
    let fid = if keyed {
        row.try_get::<_, Option<i64>>(0).ok().flatten().unwrap_or(n)
    } else {
        n
    };
    let attributes = cols
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let at = i + 3;
            let v = match c.kind {
                ColumnKind::Number => row
                    .try_get::<_, Option<f64>>(at)
                    .ok()
                    .flatten()
                    .filter(|v| v.is_finite())
                    .map(AttrValue::Number),
                ColumnKind::Bool => row
                    .try_get::<_, Option<bool>>(at)
                    .ok()
                    .flatten()
                    .map(AttrValue::Bool),
                ColumnKind::Date | ColumnKind::Text => row
                    .try_get::<_, Option<String>>(at)
                    .ok()
                    .flatten()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        if c.kind == ColumnKind::Date {
                            AttrValue::Date(s)
                        } else {
                            AttrValue::Text(s)
                        }
                    }),
            };
            v.map(|v| (c.name.clone(), v))
        })
        .collect();
    RawRow {
        fid,
        ewkb: row.try_get::<_, Option<Vec<u8>>>(1).ok().flatten(),
        empty: row.try_get::<_, Option<bool>>(2).ok().flatten().unwrap_or(false),
        attributes,
    }
}

/// A row's geometry decoded and cleaned (or why it was skipped), its Z range, and what
/// cleaning repaired.
type DecodedRow = (
    Result<geo_types::Geometry<f64>, String>,
    Option<(f64, f64)>,
    SkipReport,
);

fn decode(r: &RawRow) -> DecodedRow {
    let mut report = SkipReport::default();
    let Some(b) = &r.ewkb else {
        return (Err("feature without geometry".to_string()), None, report);
    };
    if r.empty {
        return (Err(BlobError::Empty.reason()), None, report);
    }
    match blob::decode_ewkb(b) {
        Err(BlobError::Corrupt(m)) => (Err(format!("corrupt EWKB geometry: {m}")), None, report),
        Err(e) => (Err(e.reason()), None, report),
        Ok(d) => {
            let g = clean_geometry(d.geometry, &mut report);
            (g, d.z_range, report)
        }
    }
}

/// Reads one geometry table of a PostGIS database into a layer in its own CRS (or
/// `opts.crs`). An unreachable server, a refused login, no PostGIS, no or an ambiguous
/// table and an unknown SRID are errors naming the source and table; a feature without
/// geometry, or whose geometry is empty, corrupt, of a type not read (curves) or cannot be
/// repaired, is skipped and counted under a reason that names the table and the first
/// such feature's id.
pub fn read_postgis(src: &PgSource, kind: LayerKind, opts: &ReadOptions) -> Result<Layer, GisError> {
    let url = src.to_string();
    let asked = match (opts.table.map(TableName::parse).transpose(), &src.table) {
        (Err(m), _) => return Err(GisError::Database { url, message: m }),
        (Ok(Some(a)), Some(b)) if a != *b => {
            return Err(GisError::Database {
                url,
                message: format!("the scene names table '{a}' and the URL table '{b}'"),
            });
        }
        (Ok(a), b) => a.or_else(|| b.clone()),
    };
    let mut client = connect(src, opts.password)?;
    let g = choose(
        &mut client,
        &Ctx {
            url: url.clone(),
            table: asked.as_ref(),
        },
        asked.as_ref(),
        src.geometry.as_deref(),
    )?;
    let table = g.table.clone();
    let ctx = Ctx {
        url: url.clone(),
        table: Some(&table),
    };
    let srid = match g.srid {
        0 => srid_of_rows(&mut client, &ctx, &g)?,
        s => s,
    };
    let crs = match opts.crs {
        Some(c) => c.clone(),
        None => crs_of(&mut client, &ctx, srid)?,
    };
    let (key, cols) = columns(&mut client, &ctx, &g)?;
    // The extent in the layer's CRS.
    let window = match opts.extent_wgs84 {
        None => None,
        Some(e) => Some(extent::in_crs(e, &crs).map_err(|err| ctx.crs(format!("the scene extent: {err}")))?),
    };
    let query = Query {
        table: table.clone(),
        geometry: g.column.clone(),
        key,
        columns: cols,
        window: window.map(|w| (w, srid)),
    };
    let sql = query.sql();
    let params: Vec<Box<dyn ToSql + Sync>> = match query.window {
        Some(([x0, y0, x1, y1], s)) => vec![
            Box::new(x0),
            Box::new(y0),
            Box::new(x1),
            Box::new(y1),
            Box::new(s),
        ],
        None => Vec::new(),
    };
    let mut raw: Vec<RawRow> = Vec::new();
    {
        let mut rows = client
            .query_raw(&sql, params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)))
            .map_err(|e| ctx.sql(&e))?;
        loop {
            match rows.next() {
                Ok(Some(row)) => {
                    let n = raw.len() as i64 + 1;
                    raw.push(raw_row(&row, n, query.key.is_some(), &query.columns));
                }
                Ok(None) => break,
                Err(e) => {
                    let after = raw
                        .last()
                        .map(|r| format!(" after fid {}", r.fid))
                        .unwrap_or_default();
                    return Err(ctx.db(format!("unreadable row{after}: {}", pg_message(&e))));
                }
            }
        }
    }
    drop(client);

    // Decode and clean the geometries on all cores, in order.
    let decoded: Vec<DecodedRow> = raw.par_iter().map(decode).collect();
    let mut skipped = SkipReport::default();
    // Skip reason → (count, first fid).
    let mut skips: BTreeMap<String, (usize, i64)> = BTreeMap::new();
    let mut features = Vec::with_capacity(raw.len());
    for (r, (g, z, report)) in raw.into_iter().zip(decoded) {
        skipped.merge(&report);
        let geometry = match g {
            Ok(g) => g,
            Err(reason) => {
                skips.entry(reason).or_insert((0, r.fid)).0 += 1;
                continue;
            }
        };
        // `&&` compares boxes rounded outwards to single precision: the exact test here.
        if let Some(w) = window
            && !geometry
                .bounding_rect()
                .is_some_and(|b| meets(w, [b.min().x, b.min().y, b.max().x, b.max().y]))
        {
            continue;
        }
        let mut attributes = r.attributes;
        if let Some((lo, hi)) = z {
            for (k, v) in [(Z_MIN_FIELD, lo), (Z_MAX_FIELD, hi)] {
                if !attributes.contains_key(k) {
                    attributes.insert(k.to_string(), AttrValue::Number(v));
                }
            }
        }
        features.push(Feature {
            source_id: r.fid,
            geometry,
            attributes,
        });
    }
    let id = if query.key.is_some() { "fid" } else { "row" };
    for (reason, (n, first)) in skips {
        *skipped
            .reasons
            .entry(format!("{reason} (table '{table}', first at {id} {first})"))
            .or_default() += n;
    }
    Ok(Layer {
        name: table.to_string(),
        format: LayerFormat::PostGis,
        kind,
        crs,
        features,
        skipped,
        catalogue: CatalogueEntry {
            source_path: url.into(),
            ..CatalogueEntry::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(window: bool, key: bool) -> Query {
        Query {
            table: TableName::parse("city.Build\"ings").unwrap(),
            geometry: "geom".into(),
            key: key.then(|| "gid".to_string()),
            columns: vec![
                Column {
                    name: "height".into(),
                    kind: ColumnKind::Number,
                },
                Column {
                    name: "listed".into(),
                    kind: ColumnKind::Bool,
                },
                Column {
                    name: "built".into(),
                    kind: ColumnKind::Date,
                },
                Column {
                    name: "name".into(),
                    kind: ColumnKind::Text,
                },
            ],
            window: window.then_some(([1.0, 2.0, 3.0, 4.0], 2154)),
        }
    }

    #[test]
    fn the_select_reads_typed_columns_within_a_bounding_box() {
        assert_eq!(
            query(true, true).sql(),
            "SELECT \"gid\"::int8, ST_AsEWKB(\"geom\"), ST_IsEmpty(\"geom\"), \"height\"::float8, \
             \"listed\", \"built\"::text, \"name\"::text FROM \"city\".\"Build\"\"ings\" \
             WHERE \"geom\" && ST_MakeEnvelope($1::float8, $2::float8, $3::float8, $4::float8, $5::int4) \
             ORDER BY \"gid\""
        );
        let plain = query(false, false).sql();
        assert!(
            plain.starts_with("SELECT (row_number() OVER ())::int8, "),
            "{plain}"
        );
        assert!(!plain.contains("WHERE") && !plain.contains("ORDER BY"), "{plain}");
    }

    #[test]
    fn column_types_map_to_attribute_kinds() {
        for t in ["int2", "int4", "int8", "float4", "float8", "numeric"] {
            assert_eq!(ColumnKind::of(t), Some(ColumnKind::Number), "{t}");
        }
        assert_eq!(ColumnKind::of("bool"), Some(ColumnKind::Bool));
        assert_eq!(ColumnKind::of("date"), Some(ColumnKind::Date));
        for t in ["varchar", "text", "timestamptz", "uuid", "jsonb", "_int4"] {
            assert_eq!(ColumnKind::of(t), Some(ColumnKind::Text), "{t}");
        }
        for t in ["bytea", "geometry", "geography"] {
            assert_eq!(ColumnKind::of(t), None, "{t}");
        }
    }

    #[test]
    fn bad_rows_give_reasons() {
        let row = |ewkb: Option<Vec<u8>>, empty: bool| RawRow {
            fid: 1,
            ewkb,
            empty,
            attributes: Attributes::new(),
        };
        assert_eq!(
            decode(&row(None, false)).0.unwrap_err(),
            "feature without geometry"
        );
        assert_eq!(decode(&row(Some(vec![1]), true)).0.unwrap_err(), "empty geometry");
        let e = decode(&row(Some(vec![1, 3, 0, 0, 0]), false)).0.unwrap_err();
        assert!(e.starts_with("corrupt EWKB geometry"), "{e}");
        // A CURVEPOLYGON (EWKB type 10).
        let e = decode(&row(Some(vec![1, 10, 0, 0, 0, 0, 0, 0, 0]), false))
            .0
            .unwrap_err();
        assert!(e.starts_with("unsupported geometry"), "{e}");
    }
}
