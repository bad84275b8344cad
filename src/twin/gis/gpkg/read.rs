//! GeoPackage reader: one vector table (`gpkg_contents.data_type = 'features'`) of a
//! `.gpkg` file into a layer — geometry blobs decoded on all cores, the CRS from
//! `gpkg_spatial_ref_sys` (EPSG code or WKT, checked by PROJ), typed attributes, and only
//! the features within an extent when one is given (through the table's R-tree index
//! where it has one).

use std::collections::BTreeMap;
use std::path::Path;

use geo::BoundingRect;
use rayon::prelude::*;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::blob;
use super::{FORMAT, Z_MAX_FIELD, Z_MIN_FIELD, quote};
use crate::twin::crs::Crs;
use crate::twin::error::GisError;
use crate::twin::gis::extent::{self, meets};
use crate::twin::gis::geojson::clean_geometry;
use crate::twin::gis::layer::{
    AttrValue, Attributes, CatalogueEntry, Feature, Layer, LayerFormat, LayerKind, SkipReport,
};

/// The tables every GeoPackage has.
const REQUIRED_TABLES: [&str; 3] = ["gpkg_contents", "gpkg_geometry_columns", "gpkg_spatial_ref_sys"];
/// `gpkg_extensions.extension_name` of the R-tree spatial index.
pub(super) const RTREE_EXTENSION: &str = "gpkg_rtree_index";

/// What to read from a GeoPackage.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions<'a> {
    /// The feature table; `None` when the file has exactly one.
    pub table: Option<&'a str>,
    /// A CRS that replaces the one the file declares.
    pub crs: Option<&'a Crs>,
    /// Only features whose bounding box meets this WGS84 box `[min_lon, min_lat, max_lon,
    /// max_lat]` are read.
    pub extent_wgs84: Option<[f64; 4]>,
}

/// How an attribute column's declared type is read.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ColumnKind {
    Number,
    Text,
    Date,
    Bool,
    /// Blobs have no attribute value; the column is passed over.
    Blob,
    /// A type GeoPackage does not name: read by the value's own storage class.
    Other,
}

impl ColumnKind {
    fn of(declared: &str) -> ColumnKind {
        let t = declared.trim().to_ascii_uppercase();
        match t.split('(').next().unwrap_or_default() {
            "INTEGER" | "INT" | "MEDIUMINT" | "SMALLINT" | "TINYINT" | "FLOAT" | "DOUBLE" | "REAL" => {
                ColumnKind::Number
            }
            "TEXT" | "DATETIME" => ColumnKind::Text,
            "DATE" => ColumnKind::Date,
            "BOOLEAN" => ColumnKind::Bool,
            "BLOB" => ColumnKind::Blob,
            _ => ColumnKind::Other,
        }
    }
}

/// One attribute column: name and how it is read.
struct Column {
    name: String,
    kind: ColumnKind,
}

/// The geometry column of a table: name, SRS id.
struct GeometryColumn {
    name: String,
    srs_id: i64,
}

/// A row as read from SQLite, before its blob is decoded.
struct RawRow {
    fid: i64,
    blob: Option<Vec<u8>>,
    attributes: Attributes,
}

/// A row's geometry decoded and cleaned (or why it was skipped), its Z range, and what
/// cleaning repaired.
type DecodedRow = (
    Result<geo_types::Geometry<f64>, String>,
    Option<(f64, f64)>,
    SkipReport,
);

/// Errors of one file (and table), named in every message.
struct Ctx<'a> {
    path: &'a Path,
    table: Option<&'a str>,
}

impl Ctx<'_> {
    fn malformed(&self, feature: Option<i64>, message: impl std::fmt::Display) -> GisError {
        GisError::Malformed {
            path: self.path.to_path_buf(),
            format: FORMAT,
            feature: feature.and_then(|f| usize::try_from(f).ok()),
            message: match self.table {
                Some(t) => format!("table '{t}': {message}"),
                None => message.to_string(),
            },
        }
    }

    fn crs(&self, message: impl std::fmt::Display) -> GisError {
        GisError::Crs {
            path: self.path.to_path_buf(),
            message: match self.table {
                Some(t) => format!("table '{t}': {message}"),
                None => message.to_string(),
            },
        }
    }

    /// An SQLite error: "not a database" is said as "not a GeoPackage".
    fn sql(&self, e: rusqlite::Error) -> GisError {
        if let rusqlite::Error::SqliteFailure(f, _) = &e
            && f.code == rusqlite::ErrorCode::NotADatabase
        {
            return self.malformed(None, "not a GeoPackage (not an SQLite database)");
        }
        self.malformed(None, e)
    }
}

/// Opens a GeoPackage read-only and checks it is one (its three required tables).
fn open(path: &Path) -> Result<Connection, GisError> {
    let ctx = Ctx { path, table: None };
    if !path.is_file() {
        return Err(GisError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "file not found"),
        ));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| ctx.sql(e))?;
    let mut present = 0;
    for t in REQUIRED_TABLES {
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?1",
                [t],
                |r| r.get(0),
            )
            .map_err(|e| ctx.sql(e))?;
        present += usize::from(n > 0);
    }
    if present < REQUIRED_TABLES.len() {
        return Err(ctx.malformed(
            None,
            format!("not a GeoPackage (it lacks {})", REQUIRED_TABLES.join(", ")),
        ));
    }
    Ok(conn)
}

fn tables_of(conn: &Connection, ctx: &Ctx) -> Result<Vec<String>, GisError> {
    let mut stmt = conn
        .prepare("SELECT table_name FROM gpkg_contents WHERE data_type = 'features' ORDER BY table_name")
        .map_err(|e| ctx.sql(e))?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(|e| ctx.sql(e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ctx.sql(e))?;
    Ok(names)
}

/// The vector tables of a GeoPackage (`gpkg_contents` rows with `data_type = 'features'`),
/// sorted by name.
pub fn feature_tables(path: &Path) -> Result<Vec<String>, GisError> {
    let conn = open(path)?;
    tables_of(&conn, &Ctx { path, table: None })
}

/// The table to read: the one asked for (it must be a feature table), else the only one.
fn choose_table(conn: &Connection, path: &Path, asked: Option<&str>) -> Result<String, GisError> {
    let ctx = Ctx { path, table: asked };
    let tables = tables_of(conn, &ctx)?;
    let list = || {
        if tables.is_empty() {
            "none".to_string()
        } else {
            tables.join(", ")
        }
    };
    match asked {
        Some(t) if tables.iter().any(|x| x == t) => Ok(t.to_string()),
        Some(t) => {
            let data_type: Option<String> = conn
                .query_row(
                    "SELECT data_type FROM gpkg_contents WHERE table_name = ?1",
                    [t],
                    |r| r.get(0),
                )
                .ok();
            Err(ctx.malformed(
                None,
                match data_type {
                    Some(d) => format!("has no geometry (data_type '{d}'); feature tables: {}", list()),
                    None => format!("no such table; feature tables: {}", list()),
                },
            ))
        }
        None => match tables.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(ctx.malformed(None, "no feature table (gpkg_contents has no 'features' row)")),
            _ => Err(ctx.malformed(
                None,
                format!(
                    "{} feature tables ({}): choose one with table: Some(\"name\") in the scene",
                    tables.len(),
                    list()
                ),
            )),
        },
    }
}

fn geometry_column(conn: &Connection, ctx: &Ctx, table: &str) -> Result<GeometryColumn, GisError> {
    conn.query_row(
        "SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?1",
        [table],
        |r| {
            Ok(GeometryColumn {
                name: r.get(0)?,
                srs_id: r.get(1)?,
            })
        },
    )
    .map_err(|e| match e {
        rusqlite::Error::QueryReturnedNoRows => {
            ctx.malformed(None, "has no geometry column (no gpkg_geometry_columns row)")
        }
        e => ctx.sql(e),
    })
}

/// The CRS of an SRS id: its EPSG code when the organisation is EPSG, else its WKT; an
/// id without a row, an undefined SRS, or one PROJ cannot read is an error.
fn crs_of(conn: &Connection, ctx: &Ctx, srs_id: i64) -> Result<Crs, GisError> {
    let (org, code, definition): (String, i64, String) = conn
        .query_row(
            "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?1",
            [srs_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => ctx.crs(format!(
                "unknown SRS id {srs_id} (not in gpkg_spatial_ref_sys); give the CRS in the scene (crs: Some(\"EPSG:n\"))"
            )),
            e => ctx.sql(e),
        })?;
    let def = definition.trim();
    let crs = if org.eq_ignore_ascii_case("EPSG") && code > 0 {
        Crs::Epsg(code as u32)
    } else if !def.is_empty() && !def.eq_ignore_ascii_case("undefined") {
        Crs::Wkt(def.to_string())
    } else {
        return Err(ctx.crs(format!(
            "SRS id {srs_id} is undefined; give the CRS in the scene (crs: Some(\"EPSG:n\"))"
        )));
    };
    proj::Proj::new(&crs.definition()).map_err(|e| {
        ctx.crs(format!(
            "SRS id {srs_id} ({}): PROJ cannot read it: {e}",
            crs.label()
        ))
    })?;
    Ok(crs)
}

/// The attribute columns of a table (all but the primary key and the geometry) and the
/// name of its integer primary key (`rowid` when it has none).
fn columns(conn: &Connection, ctx: &Ctx, table: &str, geom: &str) -> Result<(String, Vec<Column>), GisError> {
    let mut stmt = conn
        .prepare(&format!("PRAGMA table_info({})", quote(table)))
        .map_err(|e| ctx.sql(e))?;
    let info: Vec<(String, String, i64)> = stmt
        .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(5)?)))
        .map_err(|e| ctx.sql(e))?
        .collect::<Result<_, _>>()
        .map_err(|e| ctx.sql(e))?;
    if info.is_empty() {
        return Err(ctx.malformed(None, "listed in gpkg_contents but missing from the file"));
    }
    if !info.iter().any(|(n, _, _)| n.eq_ignore_ascii_case(geom)) {
        return Err(ctx.malformed(None, format!("has no column '{geom}' for its geometry")));
    }
    let pks: Vec<&(String, String, i64)> = info.iter().filter(|(_, _, pk)| *pk > 0).collect();
    let fid = match pks.as_slice() {
        [(name, ty, _)] if ty.eq_ignore_ascii_case("INTEGER") => name.clone(),
        _ => "rowid".to_string(),
    };
    let cols = info
        .iter()
        .filter(|(n, _, _)| *n != fid && !n.eq_ignore_ascii_case(geom))
        .map(|(n, t, _)| Column {
            name: n.clone(),
            kind: ColumnKind::of(t),
        })
        .collect();
    Ok((fid, cols))
}

/// Whether the table's geometry column has an R-tree index (registered and present).
fn rtree_of(conn: &Connection, table: &str, geom: &str) -> Option<String> {
    let name = format!("rtree_{table}_{geom}");
    let registered: i64 = conn
        .query_row(
            "SELECT count(*) FROM gpkg_extensions WHERE lower(table_name) = lower(?1) \
             AND lower(column_name) = lower(?2) AND extension_name = ?3",
            [table, geom, RTREE_EXTENSION],
            |r| r.get(0),
        )
        .ok()?;
    let present: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = ?1",
            [&name],
            |r| r.get(0),
        )
        .ok()?;
    (registered > 0 && present > 0).then_some(name)
}

/// An attribute value of a column, or `None` (null, empty text, a blob).
fn value(v: ValueRef, kind: ColumnKind) -> Option<AttrValue> {
    match v {
        ValueRef::Null | ValueRef::Blob(_) => None,
        ValueRef::Integer(i) if kind == ColumnKind::Bool => Some(AttrValue::Bool(i != 0)),
        ValueRef::Integer(i) => Some(AttrValue::Number(i as f64)),
        ValueRef::Real(f) => f.is_finite().then_some(AttrValue::Number(f)),
        ValueRef::Text(t) => {
            let s = String::from_utf8_lossy(t);
            let s = s.trim();
            if s.is_empty() || kind == ColumnKind::Blob {
                return None;
            }
            Some(match kind {
                ColumnKind::Date => AttrValue::Date(s.to_string()),
                ColumnKind::Number => match s.parse::<f64>() {
                    Ok(n) if n.is_finite() => AttrValue::Number(n),
                    _ => AttrValue::Text(s.to_string()),
                },
                _ => AttrValue::Text(s.to_string()),
            })
        }
    }
}

/// Reads one feature table of a GeoPackage into a layer in its own CRS (or `opts.crs`).
/// Not a GeoPackage, no or an ambiguous table, a table without geometry and an unknown
/// SRS are errors naming the file and table; a feature whose blob is empty, corrupt or of
/// a type not read is skipped and counted under a reason that names the first such feature.
pub fn read_gpkg(path: &Path, kind: LayerKind, opts: &ReadOptions) -> Result<Layer, GisError> {
    let conn = open(path)?;
    let table = choose_table(&conn, path, opts.table)?;
    let ctx = Ctx {
        path,
        table: Some(&table),
    };
    let geom = geometry_column(&conn, &ctx, &table)?;
    let crs = match opts.crs {
        Some(c) => c.clone(),
        None => crs_of(&conn, &ctx, geom.srs_id)?,
    };
    let (fid, cols) = columns(&conn, &ctx, &table, &geom.name)?;
    // The extent in the layer's CRS.
    let window = match opts.extent_wgs84 {
        None => None,
        Some(e) => Some(extent::in_crs(e, &crs).map_err(|err| ctx.crs(format!("the scene extent: {err}")))?),
    };
    let select: Vec<String> = [quote(&fid), quote(&geom.name)]
        .into_iter()
        .chain(cols.iter().map(|c| quote(&c.name)))
        .collect();
    let mut sql = format!("SELECT {} FROM {}", select.join(", "), quote(&table));
    let rtree = window.and_then(|_| rtree_of(&conn, &table, &geom.name));
    if let Some(rt) = &rtree {
        sql.push_str(&format!(
            " WHERE {} IN (SELECT id FROM {} WHERE maxx >= ?1 AND minx <= ?3 AND maxy >= ?2 AND miny <= ?4)",
            quote(&fid),
            quote(rt)
        ));
    }
    let mut stmt = conn.prepare(&sql).map_err(|e| ctx.sql(e))?;
    let mut rows = match (&rtree, window) {
        (Some(_), Some(w)) => stmt.query(w),
        _ => stmt.query([]),
    }
    .map_err(|e| ctx.sql(e))?;
    let mut raw = Vec::new();
    loop {
        let row = match rows.next() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                let after = raw.last().map(|r: &RawRow| r.fid);
                return Err(ctx.malformed(
                    after,
                    format!(
                        "unreadable row{}: {e}",
                        after.map(|f| format!(" after fid {f}")).unwrap_or_default()
                    ),
                ));
            }
        };
        let fid = row.get_ref(0).ok().and_then(|v| v.as_i64().ok()).unwrap_or(-1);
        // A geometry that is not a blob decodes as a corrupt one.
        let blob = match row.get_ref(1) {
            Ok(ValueRef::Blob(b)) => Some(b.to_vec()),
            Ok(ValueRef::Null) => None,
            _ => Some(Vec::new()),
        };
        let attributes = cols
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let v = row.get_ref(i + 2).ok()?;
                value(v, c.kind).map(|a| (c.name.clone(), a))
            })
            .collect();
        raw.push(RawRow {
            fid,
            blob,
            attributes,
        });
    }
    drop(rows);
    drop(stmt);

    // Decode and clean the geometries on all cores, in order.
    let decoded: Vec<DecodedRow> = raw
        .par_iter()
        .map(|r| {
            let mut report = SkipReport::default();
            let Some(b) = &r.blob else {
                return (Err("feature without geometry".to_string()), None, report);
            };
            match blob::decode(b) {
                Err(e) => (Err(e.reason()), None, report),
                Ok(d) => {
                    let g = clean_geometry(d.geometry, &mut report);
                    (g, d.z_range, report)
                }
            }
        })
        .collect();
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
        if let Some(w) = window
            && rtree.is_none()
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
    for (reason, (n, first)) in skips {
        *skipped
            .reasons
            .entry(format!("{reason} (table '{table}', first at fid {first})"))
            .or_default() += n;
    }
    Ok(Layer {
        name: table,
        format: LayerFormat::GeoPackage,
        kind,
        crs,
        features,
        skipped,
        catalogue: CatalogueEntry::for_file(path),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::crs::WGS84;
    use crate::twin::gis::gpkg::write_gpkg;
    use geo_types::{Geometry, Point, polygon};

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("citytwin-gpkg-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d.join(name)
    }

    fn square(x: f64, y: f64) -> Geometry<f64> {
        Geometry::Polygon(
            polygon![(x: x, y: y), (x: x + 10., y: y), (x: x + 10., y: y + 10.), (x: x, y: y + 10.), (x: x, y: y)],
        )
    }

    fn layer(name: &str, crs: Crs, features: Vec<(Geometry<f64>, Attributes)>) -> Layer {
        Layer {
            name: name.into(),
            format: LayerFormat::Generated,
            kind: LayerKind::Other,
            crs,
            features: features
                .into_iter()
                .enumerate()
                .map(|(i, (geometry, attributes))| Feature {
                    source_id: i as i64,
                    geometry,
                    attributes,
                })
                .collect(),
            skipped: SkipReport::default(),
            catalogue: CatalogueEntry::default(),
        }
    }

    fn attrs(pairs: &[(&str, AttrValue)]) -> Attributes {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    /// A file with a 3-building table (EPSG:3067) and a 2-point table (EPSG:4326).
    fn two_tables(name: &str) -> std::path::PathBuf {
        let b = layer(
            "buildings",
            Crs::Epsg(3067),
            (0..3)
                .map(|i| {
                    let a = attrs(&[
                        ("name", AttrValue::Text(format!("b{i}"))),
                        ("height", AttrValue::Number(10.5 + i as f64)),
                        ("levels", AttrValue::Number(3.0)),
                        ("built", AttrValue::Date("1931-05-01".into())),
                        ("listed", AttrValue::Bool(i == 1)),
                    ]);
                    (square(385_000.0 + 20.0 * i as f64, 6_672_000.0), a)
                })
                .collect(),
        );
        let p = layer(
            "pois",
            WGS84,
            vec![
                (
                    Geometry::Point(Point::new(24.94, 60.17)),
                    attrs(&[("amenity", AttrValue::Text("cafe".into()))]),
                ),
                (Geometry::Point(Point::new(25.50, 60.50)), Attributes::new()),
            ],
        );
        let path = tmp(name);
        write_gpkg(&[&b, &p], &path).unwrap();
        path
    }

    fn opts(table: &str) -> ReadOptions<'_> {
        ReadOptions {
            table: Some(table),
            ..Default::default()
        }
    }

    /// A connection for editing a file written by `write_gpkg`: without its R-tree
    /// triggers, which call the `ST_*` functions GDAL and other GeoPackage programs provide.
    fn edit(path: &Path) -> Connection {
        let conn = Connection::open(path).unwrap();
        let triggers: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for t in triggers {
            conn.execute_batch(&format!("DROP TRIGGER {}", quote(&t)))
                .unwrap();
        }
        conn
    }

    fn exec(path: &Path, sql: &str) {
        edit(path).execute_batch(sql).unwrap();
    }

    #[test]
    fn tables_are_listed_chosen_and_read_with_typed_attributes() {
        let path = two_tables("two.gpkg");
        assert_eq!(feature_tables(&path).unwrap(), ["buildings", "pois"]);
        let e = read_gpkg(&path, LayerKind::Buildings, &ReadOptions::default()).unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("two.gpkg") && m.contains("buildings, pois") && m.contains("table:"),
            "{m}"
        );
        let l = read_gpkg(&path, LayerKind::Buildings, &opts("buildings")).unwrap();
        assert_eq!(
            (l.name.as_str(), l.format, l.crs.clone()),
            ("buildings", LayerFormat::GeoPackage, Crs::Epsg(3067))
        );
        assert_eq!(l.features.len(), 3);
        assert_eq!(l.skipped.total(), 0);
        let f = &l.features[1];
        assert_eq!(f.geometry, square(385_020.0, 6_672_000.0));
        assert_eq!(f.attributes["name"], AttrValue::Text("b1".into()));
        assert_eq!(f.attributes["height"], AttrValue::Number(11.5));
        assert_eq!(f.attributes["levels"], AttrValue::Number(3.0));
        assert_eq!(f.attributes["built"], AttrValue::Date("1931-05-01".into()));
        assert_eq!(f.attributes["listed"], AttrValue::Bool(true));
        let p = read_gpkg(&path, LayerKind::Pois, &opts("pois")).unwrap();
        assert_eq!(p.crs, WGS84);
        assert_eq!(p.features.len(), 2);
        assert!(p.features[1].attributes.is_empty());
    }

    #[test]
    fn the_only_table_is_read_without_naming_it() {
        let l = layer(
            "roads",
            WGS84,
            vec![(Geometry::Point(Point::new(1.0, 2.0)), Attributes::new())],
        );
        let path = tmp("one.gpkg");
        write_gpkg(&[&l], &path).unwrap();
        let r = read_gpkg(&path, LayerKind::Roads, &ReadOptions::default()).unwrap();
        assert_eq!((r.name.as_str(), r.features.len()), ("roads", 1));
    }

    #[test]
    fn bad_blobs_are_skipped_counted_and_named_and_the_rest_kept() {
        let path = two_tables("corrupt.gpkg");
        // Feature 2: garbage; feature 3: the empty flag set; one more without a geometry.
        let conn = edit(&path);
        let mut empty: Vec<u8> = conn
            .query_row("SELECT geom FROM buildings WHERE fid = 3", [], |r| r.get(0))
            .unwrap();
        empty[3] |= 0b0001_0000;
        conn.execute("UPDATE buildings SET geom = ?1 WHERE fid = 3", [&empty])
            .unwrap();
        drop(conn);
        exec(
            &path,
            "UPDATE buildings SET geom = x'4750000102030405' WHERE fid = 2;
             INSERT INTO buildings (fid, geom, name) VALUES (4, NULL, 'no geometry');",
        );
        let l = read_gpkg(&path, LayerKind::Buildings, &opts("buildings")).unwrap();
        assert_eq!(l.features.len(), 1);
        assert_eq!(l.features[0].source_id, 1);
        assert_eq!(l.skipped.total(), 3, "{:?}", l.skipped);
        let reasons: Vec<&String> = l.skipped.reasons.keys().collect();
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with("corrupt geometry blob")
                    && r.contains("table 'buildings', first at fid 2")),
            "{reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with("empty geometry") && r.contains("fid 3")),
            "{reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with("feature without geometry") && r.contains("fid 4")),
            "{reasons:?}"
        );
    }

    #[test]
    fn what_is_not_a_geopackage_is_an_error_naming_the_file() {
        let text = tmp("text.gpkg");
        std::fs::write(
            &text,
            "this is not SQLite, let alone a GeoPackage, but it is long enough to look like a header",
        )
        .unwrap();
        let m = read_gpkg(&text, LayerKind::Other, &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(m.contains("text.gpkg") && m.contains("not a GeoPackage"), "{m}");
        let plain = tmp("plain.gpkg");
        let _ = std::fs::remove_file(&plain);
        exec(&plain, "CREATE TABLE t (a INTEGER);");
        let m = read_gpkg(&plain, LayerKind::Other, &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(m.contains("plain.gpkg") && m.contains("not a GeoPackage"), "{m}");
        let e = read_gpkg(&tmp("missing.gpkg"), LayerKind::Other, &ReadOptions::default()).unwrap_err();
        assert!(matches!(e, GisError::Io { .. }), "{e}");
    }

    #[test]
    fn a_table_without_geometry_or_not_there_is_an_error_naming_it() {
        let path = two_tables("attrs.gpkg");
        exec(
            &path,
            "CREATE TABLE owners (id INTEGER PRIMARY KEY, name TEXT);
             INSERT INTO gpkg_contents (table_name, data_type, identifier) VALUES ('owners', 'attributes', 'owners');",
        );
        let m = read_gpkg(&path, LayerKind::Other, &opts("owners"))
            .unwrap_err()
            .to_string();
        assert!(
            m.contains("attrs.gpkg") && m.contains("'owners'") && m.contains("no geometry"),
            "{m}"
        );
        let m = read_gpkg(&path, LayerKind::Other, &opts("nope"))
            .unwrap_err()
            .to_string();
        assert!(
            m.contains("'nope'") && m.contains("no such table") && m.contains("buildings, pois"),
            "{m}"
        );
        // Listed as features but without a geometry column row.
        exec(
            &path,
            "DELETE FROM gpkg_geometry_columns WHERE table_name = 'pois';",
        );
        let m = read_gpkg(&path, LayerKind::Other, &opts("pois"))
            .unwrap_err()
            .to_string();
        assert!(m.contains("'pois'") && m.contains("no geometry column"), "{m}");
    }

    #[test]
    fn an_unknown_or_undefined_srs_is_an_error_unless_the_scene_gives_one() {
        let path = two_tables("srs.gpkg");
        exec(
            &path,
            "UPDATE gpkg_geometry_columns SET srs_id = 999 WHERE table_name = 'buildings';",
        );
        let e = read_gpkg(&path, LayerKind::Buildings, &opts("buildings")).unwrap_err();
        assert!(matches!(e, GisError::Crs { .. }), "{e}");
        let m = e.to_string();
        assert!(
            m.contains("srs.gpkg") && m.contains("'buildings'") && m.contains("999"),
            "{m}"
        );
        let given = Crs::Epsg(3067);
        let o = ReadOptions {
            table: Some("buildings"),
            crs: Some(&given),
            ..Default::default()
        };
        assert_eq!(read_gpkg(&path, LayerKind::Buildings, &o).unwrap().crs, given);
        exec(
            &path,
            "UPDATE gpkg_geometry_columns SET srs_id = -1 WHERE table_name = 'buildings';",
        );
        let m = read_gpkg(&path, LayerKind::Buildings, &opts("buildings"))
            .unwrap_err()
            .to_string();
        assert!(m.contains("undefined"), "{m}");
        // A WKT SRS that is not an EPSG one is taken as WKT; one PROJ cannot read is an error.
        exec(
            &path,
            "INSERT INTO gpkg_spatial_ref_sys VALUES ('mine', 7, 'NONE', 7, 'PROJCS[\"nonsense\"', NULL);
             UPDATE gpkg_geometry_columns SET srs_id = 7 WHERE table_name = 'buildings';",
        );
        let m = read_gpkg(&path, LayerKind::Buildings, &opts("buildings"))
            .unwrap_err()
            .to_string();
        assert!(m.contains("PROJ cannot read"), "{m}");
    }

    #[test]
    fn an_extent_reads_the_same_features_with_or_without_the_rtree() {
        let pts: Vec<(Geometry<f64>, Attributes)> = (0..20)
            .map(|i| {
                (
                    Geometry::Point(Point::new(i as f64, 0.5 * i as f64)),
                    Attributes::new(),
                )
            })
            .collect();
        let path = tmp("extent.gpkg");
        write_gpkg(&[&layer("p", WGS84, pts)], &path).unwrap();
        let o = ReadOptions {
            extent_wgs84: Some([4.5, 0.0, 9.5, 10.0]),
            ..Default::default()
        };
        let conn = Connection::open(&path).unwrap();
        assert_eq!(rtree_of(&conn, "p", "geom").as_deref(), Some("rtree_p_geom"));
        let ids = |l: Layer| l.features.iter().map(|f| f.source_id).collect::<Vec<_>>();
        let with = ids(read_gpkg(&path, LayerKind::Pois, &o).unwrap());
        assert_eq!(with, [6, 7, 8, 9, 10]);
        exec(&path, "DELETE FROM gpkg_extensions;");
        assert!(rtree_of(&conn, "p", "geom").is_none());
        assert_eq!(ids(read_gpkg(&path, LayerKind::Pois, &o).unwrap()), with);
        assert_eq!(
            read_gpkg(&path, LayerKind::Pois, &ReadOptions::default())
                .unwrap()
                .features
                .len(),
            20
        );
    }

    #[test]
    fn z_is_dropped_from_the_geometry_and_kept_as_its_range() {
        let path = two_tables("z.gpkg");
        // A LINESTRING Z (0 0 5, 10 0 12.5) with an XY envelope, srs 4326.
        let mut blob = b"GP\0\x03".to_vec();
        blob.extend_from_slice(&4326i32.to_le_bytes());
        for v in [0.0f64, 10.0, 0.0, 0.0] {
            blob.extend_from_slice(&v.to_le_bytes());
        }
        blob.push(1);
        blob.extend_from_slice(&1002u32.to_le_bytes());
        blob.extend_from_slice(&2u32.to_le_bytes());
        for v in [0.0f64, 0.0, 5.0, 10.0, 0.0, 12.5] {
            blob.extend_from_slice(&v.to_le_bytes());
        }
        let conn = edit(&path);
        conn.execute("UPDATE pois SET geom = ?1 WHERE fid = 2", [&blob])
            .unwrap();
        drop(conn);
        let l = read_gpkg(&path, LayerKind::Other, &opts("pois")).unwrap();
        let f = &l.features[1];
        assert_eq!(
            f.geometry,
            Geometry::LineString(vec![(0.0, 0.0), (10.0, 0.0)].into())
        );
        assert_eq!(f.attributes[Z_MIN_FIELD], AttrValue::Number(5.0));
        assert_eq!(f.attributes[Z_MAX_FIELD], AttrValue::Number(12.5));
        assert!(!l.features[0].attributes.contains_key(Z_MAX_FIELD));
    }
}
