//! GeoPackage writer: layers as vector tables of one `.gpkg` file (GeoPackage 1.3), each
//! with typed columns, its CRS in `gpkg_spatial_ref_sys`, its extent in `gpkg_contents`
//! and an R-tree spatial index (with the standard triggers that keep it up to date when
//! another program edits the table).

use std::collections::BTreeMap;
use std::path::Path;

use geo::BoundingRect;
use geo_types::{Geometry, MultiLineString, MultiPoint, MultiPolygon};
use rusqlite::{Connection, params};

use super::blob;
use super::quote;
use super::read::RTREE_EXTENSION;
use crate::twin::crs::Crs;
use crate::twin::error::GisError;
use crate::twin::gis::layer::{AttrValue, Layer, SkipReport};

/// `PRAGMA application_id` of a GeoPackage ("GPKG").
const APPLICATION_ID: i32 = 0x4750_4B47;
/// `PRAGMA user_version` of GeoPackage 1.3.0.
const USER_VERSION: i32 = 10300;
/// Primary key column of every table written.
const FID: &str = "fid";
/// Geometry column of every table written.
const GEOM: &str = "geom";
/// First SRS id given to a CRS that has no EPSG code.
const CUSTOM_SRS_ID: i64 = 100_000;
/// Where the R-tree extension is defined.
const RTREE_DEFINITION: &str = "http://www.geopackage.org/spec120/#extension_rtree";
/// Largest integer an f64 holds exactly: numbers within it that are whole are INTEGER.
const MAX_EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// The tables every GeoPackage has, and the three SRS rows it must list.
const CORE_DDL: &str = "
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
  scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
INSERT INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system');
";

/// The type of a column written: the narrowest that holds every value of the attribute.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ColumnType {
    Integer,
    Real,
    Text,
    Date,
    Boolean,
}

impl ColumnType {
    fn sql(self) -> &'static str {
        match self {
            ColumnType::Integer => "INTEGER",
            ColumnType::Real => "REAL",
            ColumnType::Text => "TEXT",
            ColumnType::Date => "DATE",
            ColumnType::Boolean => "BOOLEAN",
        }
    }

    fn of(v: &AttrValue) -> ColumnType {
        match v {
            AttrValue::Number(n) if n.fract() == 0.0 && n.abs() <= MAX_EXACT_INT => ColumnType::Integer,
            AttrValue::Number(_) => ColumnType::Real,
            AttrValue::Text(_) => ColumnType::Text,
            AttrValue::Date(_) => ColumnType::Date,
            AttrValue::Bool(_) => ColumnType::Boolean,
        }
    }

    /// The type that holds values of both.
    fn join(self, other: ColumnType) -> ColumnType {
        use ColumnType::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Integer, Real) | (Real, Integer) => Real,
            _ => Text,
        }
    }
}

/// The family of a geometry, for the table's declared geometry type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Family {
    Point,
    Line,
    Polygon,
    Other,
}

fn family(g: &Geometry<f64>) -> (Family, bool) {
    match g {
        Geometry::Point(_) => (Family::Point, false),
        Geometry::MultiPoint(_) => (Family::Point, true),
        Geometry::Line(_) | Geometry::LineString(_) => (Family::Line, false),
        Geometry::MultiLineString(_) => (Family::Line, true),
        Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => (Family::Polygon, false),
        Geometry::MultiPolygon(_) => (Family::Polygon, true),
        Geometry::GeometryCollection(_) => (Family::Other, true),
    }
}

/// The declared geometry type of a layer, and whether single geometries are written as
/// multi ones (when the layer mixes both of one family).
fn declared_type(layer: &Layer) -> (&'static str, bool) {
    let mut families = std::collections::BTreeSet::new();
    let (mut single, mut multi) = (false, false);
    for f in &layer.features {
        let (fam, m) = family(&f.geometry);
        families.insert(fam);
        single |= !m;
        multi |= m;
    }
    let promote = single && multi;
    let name = match (families.len(), families.first()) {
        (1, Some(Family::Point)) if multi => "MULTIPOINT",
        (1, Some(Family::Point)) => "POINT",
        (1, Some(Family::Line)) if multi => "MULTILINESTRING",
        (1, Some(Family::Line)) => "LINESTRING",
        (1, Some(Family::Polygon)) if multi => "MULTIPOLYGON",
        (1, Some(Family::Polygon)) => "POLYGON",
        (1, Some(Family::Other)) => "GEOMETRYCOLLECTION",
        _ => "GEOMETRY",
    };
    (name, promote && families.len() == 1)
}

/// The geometry as written: `Line`, `Rect` and `Triangle` as their WKB types, and a single
/// geometry as a multi one when `promote`.
fn as_written(g: &Geometry<f64>, promote: bool) -> Geometry<f64> {
    let g = match g {
        Geometry::Line(l) => Geometry::LineString(geo_types::LineString(vec![l.start, l.end])),
        Geometry::Rect(r) => Geometry::Polygon(r.to_polygon()),
        Geometry::Triangle(t) => Geometry::Polygon(t.to_polygon()),
        other => other.clone(),
    };
    if !promote {
        return g;
    }
    match g {
        Geometry::Point(p) => Geometry::MultiPoint(MultiPoint(vec![p])),
        Geometry::LineString(l) => Geometry::MultiLineString(MultiLineString(vec![l])),
        Geometry::Polygon(p) => Geometry::MultiPolygon(MultiPolygon(vec![p])),
        other => other,
    }
}

/// A name not yet in `taken` (compared without case, as SQLite does): `name`, else
/// `name_1`, `name_2`, ...
fn unique(name: &str, taken: &mut Vec<String>) -> String {
    let base = if name.trim().is_empty() { "field" } else { name };
    let mut candidate = base.to_string();
    let mut n = 1;
    while taken.iter().any(|t| t.eq_ignore_ascii_case(&candidate)) {
        candidate = format!("{base}_{n}");
        n += 1;
    }
    taken.push(candidate.clone());
    candidate
}

/// The SRS id of a CRS in the file, adding its `gpkg_spatial_ref_sys` row when new.
fn srs_id_for(conn: &Connection, crs: &Crs, next_custom: &mut i64) -> Result<i64, String> {
    let wkt = proj::Proj::new(&crs.definition())
        .map_err(|e| format!("PROJ cannot read the CRS {}: {e}", crs.label()))?
        .as_wkt(Some(proj::wkt::WktVersion::Wkt1_Gdal), None)
        .map_err(|e| format!("PROJ cannot write the CRS {} as WKT: {e}", crs.label()))?;
    let (id, org) = match crs {
        Crs::Epsg(n) => (i64::from(*n), "EPSG"),
        Crs::Wkt(_) => {
            let existing: Option<i64> = conn
                .query_row(
                    "SELECT srs_id FROM gpkg_spatial_ref_sys WHERE definition = ?1",
                    [&wkt],
                    |r| r.get(0),
                )
                .ok();
            if let Some(id) = existing {
                return Ok(id);
            }
            *next_custom += 1;
            (*next_custom - 1, "NONE")
        }
    };
    conn.execute(
        "INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?1, ?2, ?3, ?2, ?4, NULL)",
        params![crs.label(), id, org, wkt],
    )
    .map_err(|e| e.to_string())?;
    Ok(id)
}

/// The R-tree index of a table and the triggers that keep it in step (GeoPackage 1.2.1
/// §F.3); filled from the envelopes written.
fn rtree_ddl(table: &str) -> String {
    let rt = format!("rtree_{table}_{GEOM}");
    let (t, r, c, i) = (quote(table), quote(&rt), quote(GEOM), quote(FID));
    let vals = format!("NEW.{i}, ST_MinX(NEW.{c}), ST_MaxX(NEW.{c}), ST_MinY(NEW.{c}), ST_MaxY(NEW.{c})");
    let trig = |suffix: &str| quote(&format!("{rt}_{suffix}"));
    format!(
        "CREATE TRIGGER {ins} AFTER INSERT ON {t} WHEN (new.{c} NOT NULL AND NOT ST_IsEmpty(NEW.{c})) \
         BEGIN INSERT OR REPLACE INTO {r} VALUES ({vals}); END;\n\
         CREATE TRIGGER {u1} AFTER UPDATE OF {c} ON {t} WHEN OLD.{i} = NEW.{i} AND (NEW.{c} NOTNULL AND NOT ST_IsEmpty(NEW.{c})) \
         BEGIN INSERT OR REPLACE INTO {r} VALUES ({vals}); END;\n\
         CREATE TRIGGER {u2} AFTER UPDATE OF {c} ON {t} WHEN OLD.{i} = NEW.{i} AND (NEW.{c} ISNULL OR ST_IsEmpty(NEW.{c})) \
         BEGIN DELETE FROM {r} WHERE id = OLD.{i}; END;\n\
         CREATE TRIGGER {u3} AFTER UPDATE ON {t} WHEN OLD.{i} != NEW.{i} AND (NEW.{c} NOTNULL AND NOT ST_IsEmpty(NEW.{c})) \
         BEGIN DELETE FROM {r} WHERE id = OLD.{i}; INSERT OR REPLACE INTO {r} VALUES ({vals}); END;\n\
         CREATE TRIGGER {u4} AFTER UPDATE ON {t} WHEN OLD.{i} != NEW.{i} AND (NEW.{c} ISNULL OR ST_IsEmpty(NEW.{c})) \
         BEGIN DELETE FROM {r} WHERE id IN (OLD.{i}, NEW.{i}); END;\n\
         CREATE TRIGGER {del} AFTER DELETE ON {t} WHEN old.{c} NOT NULL \
         BEGIN DELETE FROM {r} WHERE id = OLD.{i}; END;",
        ins = trig("insert"),
        u1 = trig("update1"),
        u2 = trig("update2"),
        u3 = trig("update3"),
        u4 = trig("update4"),
        del = trig("delete"),
    )
}

/// Writes one layer as a table; returns what was skipped.
fn write_table(
    conn: &Connection,
    layer: &Layer,
    table: &str,
    next_custom: &mut i64,
) -> Result<SkipReport, String> {
    let mut report = SkipReport::default();
    let srs_id = srs_id_for(conn, &layer.crs, next_custom)?;
    // Columns: every attribute key, typed by all its values.
    let mut types: BTreeMap<&str, ColumnType> = BTreeMap::new();
    let mut keys: Vec<&str> = Vec::new();
    for f in &layer.features {
        for (k, v) in &f.attributes {
            let t = ColumnType::of(v);
            match types.get_mut(k.as_str()) {
                Some(old) => *old = old.join(t),
                None => {
                    types.insert(k, t);
                    keys.push(k);
                }
            }
        }
    }
    let mut taken = vec![FID.to_string(), GEOM.to_string()];
    let names: Vec<String> = keys.iter().map(|k| unique(k, &mut taken)).collect();
    let (geometry_type, promote) = declared_type(layer);
    let mut ddl = format!(
        "CREATE TABLE {} ({} INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, {} {geometry_type}",
        quote(table),
        quote(FID),
        quote(GEOM)
    );
    for (k, n) in keys.iter().zip(&names) {
        ddl.push_str(&format!(", {} {}", quote(n), types[k].sql()));
    }
    ddl.push(')');
    conn.execute_batch(&ddl).map_err(|e| e.to_string())?;

    let placeholders: Vec<String> = (1..=names.len() + 2).map(|i| format!("?{i}")).collect();
    let insert = format!(
        "INSERT INTO {} ({}, {}{}) VALUES ({})",
        quote(table),
        quote(FID),
        quote(GEOM),
        names
            .iter()
            .map(|n| format!(", {}", quote(n)))
            .collect::<String>(),
        placeholders.join(", ")
    );
    let mut stmt = conn.prepare(&insert).map_err(|e| e.to_string())?;
    let mut envelopes: Vec<(i64, [f64; 4])> = Vec::with_capacity(layer.features.len());
    let mut extent: Option<[f64; 4]> = None;
    for (i, f) in layer.features.iter().enumerate() {
        let g = as_written(&f.geometry, promote);
        let Some(r) = g.bounding_rect() else {
            report.skip("empty geometry");
            continue;
        };
        let env = [r.min().x, r.min().y, r.max().x, r.max().y];
        if !env.iter().all(|v| v.is_finite()) {
            report.skip("geometry with NaN or infinite coordinates");
            continue;
        }
        let blob = blob::encode(&g, srs_id as i32, env).map_err(|e| format!("feature {i}: {e}"))?;
        let fid = i as i64 + 1;
        let mut values: Vec<rusqlite::types::Value> = vec![fid.into(), blob.into()];
        for k in &keys {
            use rusqlite::types::Value;
            values.push(match (f.attributes.get(*k), types[k]) {
                (None, _) => Value::Null,
                (Some(AttrValue::Number(n)), ColumnType::Integer) => Value::Integer(*n as i64),
                (Some(AttrValue::Number(n)), ColumnType::Real) => Value::Real(*n),
                (Some(AttrValue::Bool(b)), ColumnType::Boolean) => Value::Integer(i64::from(*b)),
                (Some(v), _) => Value::Text(v.as_text()),
            });
        }
        stmt.execute(rusqlite::params_from_iter(values))
            .map_err(|e| format!("feature {i}: {e}"))?;
        envelopes.push((fid, env));
        extent = Some(match extent {
            None => env,
            Some(a) => [
                a[0].min(env[0]),
                a[1].min(env[1]),
                a[2].max(env[2]),
                a[3].max(env[3]),
            ],
        });
    }
    drop(stmt);
    let e = extent.map(|e| e.map(Some)).unwrap_or([None; 4]);
    conn.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, min_x, min_y, max_x, max_y, srs_id) \
         VALUES (?1, 'features', ?1, ?2, ?3, ?4, ?5, ?6)",
        params![table, e[0], e[1], e[2], e[3], srs_id],
    )
    .map_err(|e| e.to_string())?;
    conn.execute(
        "INSERT INTO gpkg_geometry_columns VALUES (?1, ?2, ?3, ?4, 0, 0)",
        params![table, GEOM, geometry_type, srs_id],
    )
    .map_err(|e| e.to_string())?;
    // The spatial index, filled from the envelopes, then its triggers.
    let rt = format!("rtree_{table}_{GEOM}");
    conn.execute_batch(&format!(
        "CREATE VIRTUAL TABLE {} USING rtree(id, minx, maxx, miny, maxy)",
        quote(&rt)
    ))
    .map_err(|e| e.to_string())?;
    let mut ins = conn
        .prepare(&format!("INSERT INTO {} VALUES (?1, ?2, ?3, ?4, ?5)", quote(&rt)))
        .map_err(|e| e.to_string())?;
    for (fid, b) in &envelopes {
        ins.execute(params![fid, b[0], b[2], b[1], b[3]])
            .map_err(|e| e.to_string())?;
    }
    drop(ins);
    conn.execute(
        "INSERT INTO gpkg_extensions VALUES (?1, ?2, ?3, ?4, 'write-only')",
        params![table, GEOM, RTREE_EXTENSION, RTREE_DEFINITION],
    )
    .map_err(|e| e.to_string())?;
    conn.execute_batch(&rtree_ddl(table)).map_err(|e| e.to_string())?;
    Ok(report)
}

/// Writes layers as the tables of one GeoPackage (replacing the file), each table named
/// after its layer (made unique). Returns what was skipped, per layer in order: features
/// without a geometry to write.
pub fn write_gpkg(layers: &[&Layer], path: &Path) -> Result<Vec<SkipReport>, GisError> {
    let werr = |layer: &str, message: String| GisError::Write {
        path: path.to_path_buf(),
        layer: layer.to_string(),
        message,
    };
    if path.exists() {
        std::fs::remove_file(path).map_err(|e| GisError::io(path, e))?;
    }
    let mut conn = Connection::open(path).map_err(|e| werr("(file)", e.to_string()))?;
    conn.execute_batch(&format!(
        "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {USER_VERSION};"
    ))
    .map_err(|e| werr("(file)", e.to_string()))?;
    let tx = conn.transaction().map_err(|e| werr("(file)", e.to_string()))?;
    tx.execute_batch(CORE_DDL)
        .map_err(|e| werr("(file)", e.to_string()))?;
    srs_id_for(&tx, &crate::twin::crs::WGS84, &mut 0).map_err(|e| werr("(file)", e))?;
    let mut taken = Vec::new();
    let mut next_custom = CUSTOM_SRS_ID;
    let mut reports = Vec::with_capacity(layers.len());
    for layer in layers {
        let table = unique(&layer.name, &mut taken);
        reports.push(write_table(&tx, layer, &table, &mut next_custom).map_err(|m| werr(&layer.name, m))?);
    }
    tx.commit().map_err(|e| werr("(file)", e.to_string()))?;
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{Point, polygon};

    #[test]
    fn names_are_unique_without_case() {
        let mut taken = vec![FID.to_string(), GEOM.to_string()];
        let n: Vec<String> = ["FID", "name", "Name", "", "name_1"]
            .iter()
            .map(|k| unique(k, &mut taken))
            .collect();
        assert_eq!(n, ["FID_1", "name", "Name_1", "field", "name_1_1"]);
    }

    #[test]
    fn column_types_hold_every_value() {
        let t = |v: &[AttrValue]| v.iter().map(ColumnType::of).reduce(ColumnType::join).unwrap();
        assert_eq!(
            t(&[AttrValue::Number(3.0), AttrValue::Number(4.0)]),
            ColumnType::Integer
        );
        assert_eq!(
            t(&[AttrValue::Number(3.0), AttrValue::Number(4.5)]),
            ColumnType::Real
        );
        assert_eq!(
            t(&[AttrValue::Number(3.0), AttrValue::Text("x".into())]),
            ColumnType::Text
        );
        assert_eq!(
            t(&[AttrValue::Bool(true), AttrValue::Bool(false)]),
            ColumnType::Boolean
        );
        assert_eq!(
            t(&[AttrValue::Date("2020-01-01".into()), AttrValue::Bool(false)]),
            ColumnType::Text
        );
    }

    #[test]
    fn a_layer_mixing_single_and_multi_geometries_is_written_as_multi() {
        let f = |g: Geometry<f64>| crate::twin::gis::layer::Feature {
            source_id: 0,
            geometry: g,
            attributes: Default::default(),
        };
        let poly = polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 0.)];
        let mut l = Layer {
            name: "x".into(),
            format: crate::twin::gis::layer::LayerFormat::Generated,
            kind: crate::twin::gis::layer::LayerKind::Buildings,
            crs: Crs::Epsg(3067),
            features: vec![
                f(Geometry::Polygon(poly.clone())),
                f(Geometry::MultiPolygon(MultiPolygon(vec![poly.clone()]))),
            ],
            skipped: SkipReport::default(),
            catalogue: Default::default(),
        };
        assert_eq!(declared_type(&l), ("MULTIPOLYGON", true));
        assert!(matches!(
            as_written(&l.features[0].geometry, true),
            Geometry::MultiPolygon(_)
        ));
        l.features.truncate(1);
        assert_eq!(declared_type(&l), ("POLYGON", false));
        l.features.push(f(Geometry::Point(Point::new(0.0, 0.0))));
        assert_eq!(declared_type(&l).0, "GEOMETRY");
    }
}
