//! ESRI Shapefile reader and writer: .shp/.shx/.dbf/.prj/.cpg, all shape types (Z/M
//! dropped to 2D), rings sorted into polygons with holes, typed DBF attributes.

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use geo_types::{Coord, Geometry, LineString, MultiLineString, MultiPoint, Point};
use shapefile::dbase::{self, FieldValue};
use shapefile::record::traits::HasXY;
use shapefile::{PolygonRing, Shape};

use crate::twin::crs::Crs;
use crate::twin::error::GisError;
use crate::twin::gis::dbf;
use crate::twin::gis::layer::{
    AttrValue, Attributes, CatalogueEntry, Feature, Layer, LayerFormat, LayerKind, SkipReport,
};
use crate::twin::gis::rings::{self, RingRole};

const FORMAT: &str = "shapefile";
/// Longest DBF field name.
const DBF_NAME_LEN: usize = 10;
/// Longest DBF character field, bytes.
const DBF_TEXT_MAX: usize = 254;

/// One DBF row, values in field order (faster than a map per record).
struct Row(Vec<FieldValue>);

impl dbase::ReadableRecord for Row {
    fn read_using<S, M>(it: &mut dbase::FieldIterator<S, M>) -> Result<Self, dbase::FieldError>
    where
        S: Read + Seek,
        M: Read + Seek,
    {
        let mut v = Vec::new();
        for r in it {
            v.push(r?.value);
        }
        Ok(Row(v))
    }
}

fn sidecar(path: &Path, ext: &str) -> Option<PathBuf> {
    // Accept both lower and upper case extensions.
    [ext.to_string(), ext.to_ascii_uppercase()]
        .iter()
        .map(|e| path.with_extension(e))
        .find(|p| p.exists())
}

/// A .dbf that cannot be read as a whole (its header, its file).
fn dbf_malformed(dbf_path: &Path, message: String) -> GisError {
    GisError::Malformed {
        path: dbf_path.to_path_buf(),
        format: "dbf",
        feature: None,
        message,
    }
}

/// The attribute rows of a shapefile's .dbf: decoded in parallel by [`dbf::read_rows`], or
/// record by record by `dbase` for field types that decoder leaves to it (memo, date-time).
fn read_dbf(shp: &Path, dbf_path: &Path) -> Result<dbf::Rows, GisError> {
    let malformed = |message: String| dbf_malformed(dbf_path, message);
    if let Some(rows) = dbf::read_rows(dbf_path, encoding_for(shp)).map_err(malformed)? {
        return Ok(rows);
    }
    read_dbf_records(shp, dbf_path)
}

/// The attribute rows of a .dbf read record by record by `dbase` (which passes over
/// records marked deleted).
fn read_dbf_records(shp: &Path, dbf_path: &Path) -> Result<dbf::Rows, GisError> {
    let malformed = |message: String| dbf_malformed(dbf_path, message);
    let encoding = encoding_for(shp);
    let source = std::io::BufReader::with_capacity(
        1 << 20,
        std::fs::File::open(dbf_path).map_err(|e| GisError::io(dbf_path, e))?,
    );
    let mut reader = match encoding {
        Some(enc) => dbase::ReaderBuilder::new().with_encoding(enc).build(source),
        None => dbase::Reader::new(source),
    }
    .map_err(|e| malformed(e.to_string()))?;
    let names: Vec<String> = reader.fields().iter().map(|f| f.name().to_string()).collect();
    let mut rows = Vec::new();
    let mut error = None;
    for item in reader.iter_records_as::<Row>() {
        match item {
            Ok(row) => rows.push(Some(
                names
                    .iter()
                    .zip(row.0)
                    .filter_map(|(n, v)| convert_value(v).map(|a| (n.clone(), a)))
                    .collect(),
            )),
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    Ok(dbf::Rows { names, rows, error })
}

/// Reads the CRS of a shapefile from its .prj, unless `override_crs` is given.
pub fn read_prj(path: &Path, override_crs: Option<&Crs>) -> Result<Crs, GisError> {
    if let Some(c) = override_crs {
        return Ok(c.clone());
    }
    let prj = sidecar(path, "prj").ok_or_else(|| GisError::Crs {
        path: path.to_path_buf(),
        message: "no .prj file and no CRS given in the scene (crs: Some(\"EPSG:n\"))".into(),
    })?;
    let wkt = std::fs::read_to_string(&prj).map_err(|e| GisError::io(&prj, e))?;
    let wkt = wkt.trim().trim_start_matches('\u{feff}').to_string();
    if wkt.is_empty() {
        return Err(GisError::Crs {
            path: prj,
            message: "empty .prj file".into(),
        });
    }
    Ok(Crs::Wkt(wkt))
}

fn encoding_for(path: &Path) -> Option<dbase::encoding::DynEncoding> {
    let cpg = sidecar(path, "cpg")?;
    let label = std::fs::read_to_string(cpg).ok()?;
    let name = label.trim().trim_start_matches('\u{feff}');
    dbase::encoding::DynEncoding::from_name(name)
        .or_else(|| dbase::encoding::DynEncoding::from_name(&format!("windows-{name}")))
}

fn convert_value(v: FieldValue) -> Option<AttrValue> {
    match v {
        FieldValue::Character(Some(s)) | FieldValue::Memo(s) => {
            let t = s.trim();
            (!t.is_empty()).then(|| AttrValue::Text(t.to_string()))
        }
        FieldValue::Numeric(Some(n)) | FieldValue::Double(n) | FieldValue::Currency(n) => {
            n.is_finite().then_some(AttrValue::Number(n))
        }
        FieldValue::Float(Some(n)) => n.is_finite().then_some(AttrValue::Number(n as f64)),
        FieldValue::Integer(i) => Some(AttrValue::Number(i as f64)),
        FieldValue::Logical(Some(b)) => Some(AttrValue::Bool(b)),
        FieldValue::Date(Some(d)) => Some(AttrValue::Date(format!(
            "{:04}-{:02}-{:02}",
            d.year(),
            d.month(),
            d.day()
        ))),
        FieldValue::DateTime(dt) => {
            let d = dt.date();
            Some(AttrValue::Date(format!(
                "{:04}-{:02}-{:02}",
                d.year(),
                d.month(),
                d.day()
            )))
        }
        _ => None,
    }
}

fn to_coords<P: HasXY>(pts: &[P]) -> Vec<Coord<f64>> {
    pts.iter().map(|p| Coord { x: p.x(), y: p.y() }).collect()
}

fn polygon_from_rings<P: HasXY>(
    rings_in: &[PolygonRing<P>],
    report: &mut SkipReport,
) -> Result<Geometry<f64>, String> {
    let mut rings = Vec::with_capacity(rings_in.len());
    let mut bad = None;
    for r in rings_in {
        let (pts, role) = match r {
            PolygonRing::Outer(p) => (p, RingRole::Outer),
            PolygonRing::Inner(p) => (p, RingRole::Inner),
        };
        match rings::clean_ring(&to_coords(pts), report) {
            Ok(ring) => rings.push((ring, role)),
            Err(e) => bad = Some(e),
        }
    }
    if rings.is_empty() {
        return Err(bad.unwrap_or("polygon without rings").to_string());
    }
    // Only counter-clockwise ("hole") rings left: the file has the orientation wrong, or the
    // outer ring was unusable. Let containment decide which rings are outer.
    if !rings.iter().any(|(_, r)| *r == RingRole::Outer) {
        if bad.is_some() {
            return Err(bad.unwrap_or_default().to_string());
        }
        report.repair("polygon with only counter-clockwise rings re-oriented");
        rings.iter_mut().for_each(|(_, r)| *r = RingRole::Unknown);
    }
    if let Some(e) = bad {
        report.repair(format!("{e} dropped"));
    }
    let mp = rings::assemble(rings, report).ok_or("polygon without rings")?;
    Ok(if mp.0.len() == 1 {
        Geometry::Polygon(mp.0.into_iter().next().expect("one polygon"))
    } else {
        Geometry::MultiPolygon(mp)
    })
}

fn line_from_parts<P: HasXY>(parts: &[Vec<P>]) -> Result<Geometry<f64>, String> {
    let mut lines = Vec::new();
    for p in parts {
        let c = to_coords(p);
        if c.iter().any(|c| !(c.x.is_finite() && c.y.is_finite())) {
            return Err("line with NaN or infinite coordinates".into());
        }
        if c.len() >= 2 {
            lines.push(LineString::from(c));
        }
    }
    match lines.len() {
        0 => Err("line with fewer than 2 points".into()),
        1 => Ok(Geometry::LineString(lines.pop().expect("one line"))),
        _ => Ok(Geometry::MultiLineString(MultiLineString(lines))),
    }
}

fn point(x: f64, y: f64) -> Result<Geometry<f64>, String> {
    if x.is_finite() && y.is_finite() {
        Ok(Geometry::Point(Point::new(x, y)))
    } else {
        Err("point with NaN or infinite coordinates".into())
    }
}

fn multipoint<P: HasXY>(pts: &[P]) -> Result<Geometry<f64>, String> {
    let c = to_coords(pts);
    if c.is_empty() || c.iter().any(|c| !(c.x.is_finite() && c.y.is_finite())) {
        return Err("multipoint empty or with NaN coordinates".into());
    }
    Ok(Geometry::MultiPoint(MultiPoint(
        c.into_iter().map(Point::from).collect(),
    )))
}

fn convert_shape(shape: Shape, report: &mut SkipReport) -> Result<Geometry<f64>, String> {
    match shape {
        Shape::NullShape => Err("null geometry".into()),
        Shape::Point(p) => point(p.x, p.y),
        Shape::PointM(p) => point(p.x, p.y),
        Shape::PointZ(p) => point(p.x, p.y),
        Shape::Multipoint(m) => multipoint(m.points()),
        Shape::MultipointM(m) => multipoint(m.points()),
        Shape::MultipointZ(m) => multipoint(m.points()),
        Shape::Polyline(l) => line_from_parts(l.parts()),
        Shape::PolylineM(l) => line_from_parts(l.parts()),
        Shape::PolylineZ(l) => line_from_parts(l.parts()),
        Shape::Polygon(p) => polygon_from_rings(p.rings(), report),
        Shape::PolygonM(p) => polygon_from_rings(p.rings(), report),
        Shape::PolygonZ(p) => polygon_from_rings(p.rings(), report),
        Shape::Multipatch(_) => Err("multipatch geometry not supported".into()),
    }
}

/// Bytes of a .shp file header.
const SHP_HEADER_LEN: usize = 100;
/// Offset of the bounding box (`x_min, y_min, x_max, y_max`, little-endian f64) in the header.
const SHP_HEADER_BBOX_AT: usize = 36;

/// The bounding box `[min_x, min_y, max_x, max_y]` a .shp file's header declares, read
/// without reading the shapes (e.g. to set up a CRS transformation while the file is read).
pub fn header_bbox(path: &Path) -> Result<[f64; 4], GisError> {
    let mut header = [0u8; SHP_HEADER_LEN];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .map_err(|e| GisError::io(path, e))?;
    let mut b = [0.0; 4];
    for (i, v) in b.iter_mut().enumerate() {
        let at = SHP_HEADER_BBOX_AT + 8 * i;
        *v = f64::from_le_bytes(header[at..at + 8].try_into().expect("8 bytes"));
    }
    if b.iter().all(|v| v.is_finite()) && b[0] <= b[2] && b[1] <= b[3] {
        Ok(b)
    } else {
        Err(GisError::Malformed {
            path: path.to_path_buf(),
            format: FORMAT,
            feature: None,
            message: format!("header bounding box {b:?} is not a box"),
        })
    }
}

/// Reads a shapefile into a layer in its own CRS (from the .prj, or `override_crs`).
/// Missing .shx/.dbf, an unreadable .prj or a corrupt header are errors; bad features are
/// skipped and counted; a truncated file keeps what was read and counts the rest.
pub fn read_shapefile(path: &Path, kind: LayerKind, override_crs: Option<&Crs>) -> Result<Layer, GisError> {
    let malformed = |feature: Option<usize>, message: String| GisError::Malformed {
        path: path.to_path_buf(),
        format: FORMAT,
        feature,
        message,
    };
    if !path.exists() {
        return Err(GisError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "file not found"),
        ));
    }
    for ext in ["shx", "dbf"] {
        if sidecar(path, ext).is_none() {
            return Err(GisError::MissingSidecar {
                path: path.to_path_buf(),
                missing: format!(".{ext}"),
            });
        }
    }
    let crs = read_prj(path, override_crs)?;
    let shx = sidecar(path, "shx").expect("checked above");
    let dbf = sidecar(path, "dbf").expect("checked above");

    let shp_file = std::fs::File::open(path).map_err(|e| GisError::io(path, e))?;
    let shx_file = std::fs::File::open(&shx).map_err(|e| GisError::io(&shx, e))?;
    let shape_reader = shapefile::ShapeReader::with_shx(
        std::io::BufReader::with_capacity(1 << 20, shp_file),
        std::io::BufReader::new(shx_file),
    )
    .map_err(|e| malformed(None, e.to_string()))?;
    let expected = shape_reader.shape_count().unwrap_or(0);
    let mut shape_reader = shape_reader;
    // Geometry (.shp) and attributes (.dbf) are independent streams: the shapes are read on
    // another thread while this one decodes the records (on all cores).
    type Shapes = (Vec<Result<Geometry<f64>, String>>, SkipReport, Option<String>);
    let (shapes, rows) = std::thread::scope(|s| {
        let shapes = s.spawn(move || -> Shapes {
            let mut report = SkipReport::default();
            let mut out = Vec::with_capacity(expected);
            for item in shape_reader.iter_shapes_as::<Shape>() {
                match item {
                    Ok(shape) => out.push(convert_shape(shape, &mut report)),
                    Err(e) => return (out, report, Some(e.to_string())),
                }
            }
            (out, report, None)
        });
        let rows = read_dbf(path, &dbf);
        (shapes.join(), rows)
    });
    let dbf::Rows {
        rows,
        error: row_error,
        ..
    } = rows?;
    let (geoms, mut skipped, shp_error) =
        shapes.map_err(|_| malformed(None, "reader thread failed".into()))?;
    if let Some(e) = &shp_error {
        if geoms.is_empty() {
            return Err(malformed(Some(0), e.clone()));
        }
        for _ in geoms.len()..expected.max(geoms.len() + 1) {
            skipped.skip("unreadable record (truncated or corrupt file)");
        }
    } else if geoms.len() < expected {
        for _ in geoms.len()..expected {
            skipped.skip("record listed in .shx but missing from .shp");
        }
    }
    if let Some(e) = &row_error
        && rows.is_empty()
        && !geoms.is_empty()
    {
        return Err(GisError::Malformed {
            path: dbf,
            format: "dbf",
            feature: Some(0),
            message: e.clone(),
        });
    }
    let mut features = Vec::with_capacity(geoms.len());
    let mut rows = rows.into_iter();
    for (i, g) in geoms.into_iter().enumerate() {
        let attributes = match rows.next() {
            Some(Some(a)) => a,
            Some(None) => {
                skipped.skip("record marked deleted in the .dbf");
                continue;
            }
            None => {
                skipped.repair("record without attributes (short or corrupt .dbf)");
                Attributes::new()
            }
        };
        match g {
            Ok(geometry) => features.push(Feature {
                source_id: i as i64,
                geometry,
                attributes,
            }),
            Err(reason) => skipped.skip(reason),
        }
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    Ok(Layer {
        name: stem,
        format: LayerFormat::Shapefile,
        kind,
        crs,
        features,
        skipped,
        catalogue: CatalogueEntry::for_file(path),
    })
}

/// The ESRI WKT of a CRS, for a .prj file.
pub fn esri_wkt(crs: &Crs) -> Result<String, String> {
    match crs {
        Crs::Wkt(w) => Ok(w.clone()),
        Crs::Epsg(_) => {
            let p = proj::Proj::new(&crs.definition()).map_err(|e| e.to_string())?;
            p.as_wkt(Some(proj::wkt::WktVersion::Wkt1_Esri), None)
                .map_err(|e| e.to_string())
        }
    }
}

/// DBF field names for attribute keys: at most 10 characters, `:` → `_`, unique.
fn dbf_names(keys: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in keys {
        let base: String = k
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(DBF_NAME_LEN)
            .collect();
        let mut name = base.clone();
        let mut n = 1;
        while out.contains(&name) {
            let suffix = n.to_string();
            name = format!(
                "{}{}",
                &base[..base.len().min(DBF_NAME_LEN - suffix.len())],
                suffix
            );
            n += 1;
        }
        out.push(name);
    }
    out
}

enum ShapeKind {
    Polygon,
    Line,
    Point,
}

/// Writes a layer as a shapefile (.shp/.shx/.dbf/.prj/.cpg, UTF-8). The shape type is
/// taken from the first feature; features of another dimension are skipped and counted.
/// Attribute names are shortened to DBF's 10 characters; numeric columns stay numeric.
pub fn write_shapefile(layer: &Layer, path: &Path) -> Result<SkipReport, GisError> {
    let werr = |message: String| GisError::Write {
        path: path.to_path_buf(),
        layer: layer.name.clone(),
        message,
    };
    let mut report = SkipReport::default();
    let kind = match layer.features.first().map(|f| &f.geometry) {
        Some(
            Geometry::Polygon(_) | Geometry::MultiPolygon(_) | Geometry::Rect(_) | Geometry::Triangle(_),
        ) => ShapeKind::Polygon,
        Some(Geometry::LineString(_) | Geometry::MultiLineString(_) | Geometry::Line(_)) => ShapeKind::Line,
        _ => ShapeKind::Point,
    };
    // Columns: every key, numeric when every value is a number.
    let mut keys: Vec<String> = Vec::new();
    let mut numeric: std::collections::BTreeMap<&str, bool> = Default::default();
    let mut width: std::collections::BTreeMap<&str, usize> = Default::default();
    for f in &layer.features {
        for (k, v) in &f.attributes {
            if !numeric.contains_key(k.as_str()) {
                keys.push(k.clone());
                numeric.insert(k, true);
            }
            if !matches!(v, AttrValue::Number(_)) {
                numeric.insert(k, false);
            }
            let w = width.entry(k).or_insert(1);
            *w = (*w).max(v.as_text().len()).min(DBF_TEXT_MAX);
        }
    }
    let names = dbf_names(&keys);
    let mut builder = dbase::TableWriterBuilder::with_encoding(dbase::Unicode);
    for (k, n) in keys.iter().zip(&names) {
        let fname = dbase::FieldName::try_from(n.as_str()).map_err(|e| werr(format!("field {n}: {e}")))?;
        builder = if numeric[k.as_str()] {
            builder.add_numeric_field(fname, 20, 6)
        } else {
            builder.add_character_field(fname, width[k.as_str()] as u8)
        };
    }
    let mut writer = shapefile::Writer::from_path(path, builder).map_err(|e| werr(e.to_string()))?;
    for f in &layer.features {
        let mut rec = dbase::Record::default();
        for (k, n) in keys.iter().zip(&names) {
            let v = f.attributes.get(k);
            let fv = if numeric[k.as_str()] {
                FieldValue::Numeric(v.and_then(AttrValue::as_number))
            } else {
                FieldValue::Character(v.map(|v| truncate_utf8(&v.as_text(), DBF_TEXT_MAX)))
            };
            rec.insert(n.clone(), fv);
        }
        let res = match (&kind, &f.geometry) {
            (ShapeKind::Polygon, g) => match polygon_shape(g) {
                Some(s) => writer.write_shape_and_record(&s, &rec),
                None => {
                    report.skip("geometry not a polygon in a polygon layer");
                    continue;
                }
            },
            (ShapeKind::Line, g) => match line_shape(g) {
                Some(s) => writer.write_shape_and_record(&s, &rec),
                None => {
                    report.skip("geometry not a line in a line layer");
                    continue;
                }
            },
            (ShapeKind::Point, Geometry::Point(p)) => {
                writer.write_shape_and_record(&shapefile::Point::new(p.x(), p.y()), &rec)
            }
            _ => {
                report.skip("geometry not a point in a point layer");
                continue;
            }
        };
        res.map_err(|e| werr(e.to_string()))?;
    }
    drop(writer);
    let wkt = esri_wkt(&layer.crs).map_err(werr)?;
    std::fs::write(path.with_extension("prj"), wkt)
        .map_err(|e| GisError::io(path.with_extension("prj"), e))?;
    std::fs::write(path.with_extension("cpg"), "UTF-8")
        .map_err(|e| GisError::io(path.with_extension("cpg"), e))?;
    Ok(report)
}

fn truncate_utf8(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

fn sh_points(ls: &LineString<f64>) -> Vec<shapefile::Point> {
    ls.0.iter().map(|c| shapefile::Point::new(c.x, c.y)).collect()
}

fn polygon_shape(g: &Geometry<f64>) -> Option<shapefile::Polygon> {
    let polys: Vec<geo_types::Polygon<f64>> = match g {
        Geometry::Polygon(p) => vec![p.clone()],
        Geometry::MultiPolygon(mp) => mp.0.clone(),
        Geometry::Rect(r) => vec![r.to_polygon()],
        Geometry::Triangle(t) => vec![t.to_polygon()],
        _ => return None,
    };
    let mut rings = Vec::new();
    for p in &polys {
        rings.push(PolygonRing::Outer(sh_points(p.exterior())));
        for i in p.interiors() {
            rings.push(PolygonRing::Inner(sh_points(i)));
        }
    }
    (!rings.is_empty()).then(|| shapefile::Polygon::with_rings(rings))
}

fn line_shape(g: &Geometry<f64>) -> Option<shapefile::Polyline> {
    let parts: Vec<Vec<shapefile::Point>> = match g {
        Geometry::LineString(l) => vec![sh_points(l)],
        Geometry::MultiLineString(m) => m.0.iter().map(sh_points).collect(),
        Geometry::Line(l) => vec![vec![
            shapefile::Point::new(l.start.x, l.start.y),
            shapefile::Point::new(l.end.x, l.end.y),
        ]],
        _ => return None,
    };
    Some(shapefile::Polyline::with_parts(parts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Area;

    fn square_layer(dir: &Path) -> PathBuf {
        let mut attrs = Attributes::new();
        attrs.insert("height".into(), AttrValue::Text("12 m".into()));
        attrs.insert("building:levels".into(), AttrValue::Number(4.0));
        attrs.insert("name".into(), AttrValue::Text("Kärnan".into()));
        let poly = geo_types::Polygon::new(
            LineString::from(vec![(0., 0.), (10., 0.), (10., 10.), (0., 10.), (0., 0.)]),
            vec![LineString::from(vec![
                (2., 2.),
                (4., 2.),
                (4., 4.),
                (2., 4.),
                (2., 2.),
            ])],
        );
        let layer = Layer {
            name: "b".into(),
            format: LayerFormat::Generated,
            kind: LayerKind::Buildings,
            crs: Crs::Epsg(3067),
            features: vec![Feature {
                source_id: 0,
                geometry: Geometry::Polygon(poly),
                attributes: attrs,
            }],
            skipped: SkipReport::default(),
            catalogue: CatalogueEntry::default(),
        };
        let p = dir.join("b.shp");
        write_shapefile(&layer, &p).unwrap();
        p
    }

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("citytwin-shp-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn header_bbox_is_the_layers_extent() {
        let dir = std::env::temp_dir().join(format!("citytwin-hdrbbox-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let layer = Layer {
            name: "p".into(),
            format: LayerFormat::Generated,
            kind: LayerKind::Pois,
            crs: Crs::Epsg(3067),
            features: [(385_000.0, 6_672_000.0), (386_500.5, 6_671_000.25)]
                .iter()
                .enumerate()
                .map(|(i, &(x, y))| Feature {
                    source_id: i as i64,
                    geometry: Geometry::Point(Point::new(x, y)),
                    attributes: Attributes::new(),
                })
                .collect(),
            skipped: SkipReport::default(),
            catalogue: Default::default(),
        };
        let p = dir.join("h.shp");
        write_shapefile(&layer, &p).unwrap();
        assert_eq!(
            header_bbox(&p).unwrap(),
            [385_000.0, 6_671_000.25, 386_500.5, 6_672_000.0]
        );
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..50]).unwrap();
        assert!(matches!(header_bbox(&p), Err(GisError::Io { .. })));
        assert!(header_bbox(&dir.join("missing.shp")).is_err());
    }

    #[test]
    fn parallel_dbf_decoding_matches_dbase_on_real_files() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/helsinki");
        let mut files = vec![repo.join("buildings.shp"), repo.join("roads.shp")];
        if let Some(d) = crate::twin::testdata::data_dir() {
            for rel in [
                "shp/monaco-2016/buildings.shp",
                "shp/monaco-2016/roads.shp",
                "shp/monaco-2016/pois.shp",
                "shp/monaco-2016/districts.shp",
                "shp/nyc-west-village/buildings.shp",
                "shp/nyc-west-village/roads.shp",
                "shp/nyc-west-village/pois.shp",
            ] {
                files.push(d.join(rel));
            }
        }
        for shp in files.iter().filter(|p| p.exists()) {
            let dbf_path = sidecar(shp, "dbf").unwrap();
            let fast = dbf::read_rows(&dbf_path, encoding_for(shp))
                .unwrap()
                .expect("handled");
            let slow = read_dbf_records(shp, &dbf_path).unwrap();
            assert!(fast.error.is_none() && slow.error.is_none(), "{}", shp.display());
            assert_eq!(fast.names, slow.names);
            assert!(!fast.rows.is_empty());
            let fast: Vec<Attributes> = fast.rows.into_iter().map(|r| r.expect("none deleted")).collect();
            let slow: Vec<Attributes> = slow.rows.into_iter().map(|r| r.unwrap()).collect();
            assert_eq!(fast, slow, "{}", shp.display());
        }
    }

    #[test]
    fn a_record_deleted_in_the_dbf_is_skipped_and_counted_without_shifting_the_rest() {
        let d = tmpdir("deleted");
        let features = (0..3)
            .map(|i| {
                let x = i as f64 * 20.0;
                let mut attrs = Attributes::new();
                attrs.insert("name".into(), AttrValue::Text(format!("b{i}")));
                Feature {
                    source_id: i,
                    geometry: Geometry::Polygon(geo_types::Polygon::new(
                        LineString::from(vec![(x, 0.), (x + 10., 0.), (x + 10., 10.), (x, 0.)]),
                        vec![],
                    )),
                    attributes: attrs,
                }
            })
            .collect();
        let layer = Layer {
            name: "d".into(),
            format: LayerFormat::Generated,
            kind: LayerKind::Buildings,
            crs: Crs::Epsg(3067),
            features,
            skipped: SkipReport::default(),
            catalogue: CatalogueEntry::default(),
        };
        let p = d.join("d.shp");
        write_shapefile(&layer, &p).unwrap();
        let dbf_path = p.with_extension("dbf");
        let mut bytes = std::fs::read(&dbf_path).unwrap();
        let start = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        let size = u16::from_le_bytes([bytes[10], bytes[11]]) as usize;
        bytes[start + size] = b'*';
        std::fs::write(&dbf_path, &bytes).unwrap();
        let read = read_shapefile(&p, LayerKind::Buildings, None).unwrap();
        let names: Vec<String> = read.features.iter().filter_map(|f| f.text("name")).collect();
        assert_eq!(names, ["b0", "b2"]);
        assert_eq!(read.features[1].source_id, 2);
        assert_eq!(read.skipped.total(), 1, "{:?}", read.skipped);
    }

    #[test]
    fn round_trip_keeps_holes_types_and_utf8() {
        let d = tmpdir("rt");
        let p = square_layer(&d);
        let l = read_shapefile(&p, LayerKind::Buildings, None).unwrap();
        assert_eq!(l.features.len(), 1);
        let f = &l.features[0];
        let Geometry::Polygon(poly) = &f.geometry else {
            panic!("{:?}", f.geometry)
        };
        assert_eq!(poly.interiors().len(), 1);
        assert!((poly.unsigned_area() - 96.0).abs() < 1e-9);
        assert_eq!(f.attributes["height"], AttrValue::Text("12 m".into()));
        assert_eq!(f.attributes["building_l"], AttrValue::Number(4.0));
        assert_eq!(f.attributes["name"], AttrValue::Text("Kärnan".into()));
        assert!(l.crs.label().contains("TM35FIN"), "{}", l.crs.label());
    }

    #[test]
    fn missing_sidecars_are_errors() {
        let d = tmpdir("sidecar");
        let p = square_layer(&d);
        std::fs::remove_file(p.with_extension("dbf")).unwrap();
        let e = read_shapefile(&p, LayerKind::Buildings, None).unwrap_err();
        assert!(matches!(e, GisError::MissingSidecar { .. }), "{e}");
        assert!(e.to_string().contains(".dbf"));
        let p = square_layer(&d);
        std::fs::remove_file(p.with_extension("prj")).unwrap();
        let e = read_shapefile(&p, LayerKind::Buildings, None).unwrap_err();
        assert!(matches!(e, GisError::Crs { .. }), "{e}");
        assert!(read_shapefile(&p, LayerKind::Buildings, Some(&Crs::Epsg(3067))).is_ok());
    }

    #[test]
    fn truncated_shp_is_an_error_not_a_panic() {
        let d = tmpdir("trunc");
        let p = square_layer(&d);
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 30]).unwrap();
        match read_shapefile(&p, LayerKind::Buildings, None) {
            Err(e) => assert!(e.to_string().contains("b.shp"), "{e}"),
            Ok(l) => assert!(l.skipped.total() >= 1),
        }
        std::fs::write(&p, &bytes[..50]).unwrap();
        assert!(read_shapefile(&p, LayerKind::Buildings, None).is_err());
    }

    #[test]
    fn dbf_names_are_short_and_unique() {
        let n = dbf_names(&["building:levels".into(), "building:levels_x".into(), "a".into()]);
        assert_eq!(n, vec!["building_l", "building_1", "a"]);
    }
}
