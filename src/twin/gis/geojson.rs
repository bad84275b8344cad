//! GeoJSON reader and writer: Feature / FeatureCollection / bare geometry, all geometry
//! types, typed properties; the legacy `crs` member (as GDAL writes it) names a non-WGS84 CRS.

use std::path::Path;

use geo_types::Geometry;
use geojson::{FeatureCollection, GeoJson, JsonObject, JsonValue};

use crate::twin::crs::{Crs, WGS84};
use crate::twin::error::GisError;
use crate::twin::gis::layer::{
    AttrValue, Attributes, CatalogueEntry, Feature, Layer, LayerFormat, LayerKind, SkipReport,
};
use crate::twin::gis::rings::{self, RingRole};

const FORMAT: &str = "geojson";

/// The CRS named by a legacy GeoJSON `crs` member, e.g. `urn:ogc:def:crs:EPSG::3067`.
fn legacy_crs(members: Option<&JsonObject>) -> Option<Crs> {
    let name = members?
        .get("crs")?
        .get("properties")?
        .get("name")?
        .as_str()?
        .to_string();
    if name.contains("CRS84") {
        return Some(WGS84);
    }
    let code = name.rsplit(':').next()?;
    code.parse::<u32>().ok().map(Crs::Epsg)
}

fn convert_props(props: Option<JsonObject>) -> Attributes {
    let mut out = Attributes::new();
    for (k, v) in props.into_iter().flatten() {
        let a = match v {
            JsonValue::Null => continue,
            JsonValue::String(s) if s.trim().is_empty() => continue,
            JsonValue::String(s) => AttrValue::Text(s),
            JsonValue::Number(n) => match n.as_f64() {
                Some(f) => AttrValue::Number(f),
                None => continue,
            },
            JsonValue::Bool(b) => AttrValue::Bool(b),
            other => AttrValue::Text(other.to_string()),
        };
        out.insert(k, a);
    }
    out
}

/// Counts polygon rings the file leaves open (the conversion to `geo` closes them).
fn count_unclosed_rings(v: &geojson::Value, report: &mut SkipReport) {
    let mut check = |rings: &Vec<Vec<Vec<f64>>>| {
        if rings.iter().any(|r| r.len() >= 2 && r.first() != r.last()) {
            report.repair("unclosed ring closed");
        }
    };
    match v {
        geojson::Value::Polygon(rings) => check(rings),
        geojson::Value::MultiPolygon(polys) => polys.iter().for_each(check),
        _ => {}
    }
}

/// Re-cleans polygon rings (closing, degenerate rings) the way the Shapefile reader does;
/// also used by the GeoPackage reader, whose WKB polygons have the same structure.
pub(crate) fn clean_geometry(g: Geometry<f64>, report: &mut SkipReport) -> Result<Geometry<f64>, String> {
    let clean_poly = |p: geo_types::Polygon<f64>,
                      report: &mut SkipReport|
     -> Result<Vec<geo_types::Polygon<f64>>, String> {
        let (ext, ints) = p.into_inner();
        let ext = rings::clean_ring(&ext.0, report).map_err(str::to_string)?;
        let mut rs = vec![(ext, RingRole::Outer)];
        for i in ints {
            match rings::clean_ring(&i.0, report) {
                Ok(r) => rs.push((r, RingRole::Inner)),
                Err(e) => report.repair(format!("{e} dropped")),
            }
        }
        Ok(rings::assemble(rs, report).map(|m| m.0).unwrap_or_default())
    };
    use geo::CoordsIter;
    if g.coords_iter().any(|c| !(c.x.is_finite() && c.y.is_finite())) {
        return Err("geometry with NaN or infinite coordinates".into());
    }
    Ok(match g {
        Geometry::Polygon(p) => {
            let mut v = clean_poly(p, report)?;
            if v.len() == 1 {
                Geometry::Polygon(v.remove(0))
            } else {
                Geometry::MultiPolygon(geo_types::MultiPolygon(v))
            }
        }
        Geometry::MultiPolygon(mp) => {
            let mut all = Vec::new();
            for p in mp.0 {
                match clean_poly(p, report) {
                    Ok(v) => all.extend(v),
                    Err(e) => report.repair(format!("{e} dropped from multipolygon")),
                }
            }
            if all.is_empty() {
                return Err("multipolygon without a valid polygon".into());
            }
            Geometry::MultiPolygon(geo_types::MultiPolygon(all))
        }
        Geometry::LineString(l) if l.0.len() < 2 => return Err("line with fewer than 2 points".into()),
        other => other,
    })
}

/// Reads a GeoJSON file into a layer. CRS: `override_crs`, else the legacy `crs` member,
/// else EPSG:4326. Features without or with invalid geometry are skipped and counted.
pub fn read_geojson(path: &Path, kind: LayerKind, override_crs: Option<&Crs>) -> Result<Layer, GisError> {
    let text = std::fs::read_to_string(path).map_err(|e| GisError::io(path, e))?;
    let gj: GeoJson = text.parse().map_err(|e: geojson::Error| GisError::Malformed {
        path: path.to_path_buf(),
        format: FORMAT,
        feature: None,
        message: e.to_string(),
    })?;
    let (features_in, members) = match gj {
        GeoJson::FeatureCollection(fc) => (fc.features, fc.foreign_members),
        GeoJson::Feature(f) => (vec![f], None),
        GeoJson::Geometry(g) => (
            vec![geojson::Feature {
                geometry: Some(g),
                ..Default::default()
            }],
            None,
        ),
    };
    let crs = override_crs
        .cloned()
        .or_else(|| legacy_crs(members.as_ref()))
        .unwrap_or(WGS84);
    let mut skipped = SkipReport::default();
    let mut features = Vec::with_capacity(features_in.len());
    for (i, f) in features_in.into_iter().enumerate() {
        let Some(g) = f.geometry else {
            skipped.skip("feature without geometry");
            continue;
        };
        count_unclosed_rings(&g.value, &mut skipped);
        let geometry = match Geometry::<f64>::try_from(g) {
            Ok(g) => g,
            Err(e) => {
                skipped.skip(format!("unconvertible geometry: {e}"));
                continue;
            }
        };
        match clean_geometry(geometry, &mut skipped) {
            Ok(geometry) => features.push(Feature {
                source_id: i as i64,
                geometry,
                attributes: convert_props(f.properties),
            }),
            Err(reason) => skipped.skip(reason),
        }
    }
    let stem = path
        .file_name()
        .map(|s| {
            s.to_string_lossy()
                .split('.')
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .unwrap_or_default();
    Ok(Layer {
        name: stem,
        format: LayerFormat::GeoJson,
        kind,
        crs,
        features,
        skipped,
        catalogue: CatalogueEntry::for_file(path),
    })
}

fn attr_json(v: &AttrValue) -> JsonValue {
    match v {
        AttrValue::Text(s) | AttrValue::Date(s) => JsonValue::String(s.clone()),
        AttrValue::Number(n) => serde_json::Number::from_f64(*n)
            .map(JsonValue::Number)
            .unwrap_or(JsonValue::Null),
        AttrValue::Bool(b) => JsonValue::Bool(*b),
    }
}

/// Writes a layer as a GeoJSON FeatureCollection. A CRS other than EPSG:4326 is recorded in
/// the legacy `crs` member (as GDAL does), so the file reads back in its CRS.
pub fn write_geojson(layer: &Layer, path: &Path) -> Result<(), GisError> {
    let features = layer
        .features
        .iter()
        .map(|f| geojson::Feature {
            geometry: Some(geojson::Geometry::new(geojson::Value::from(&f.geometry))),
            properties: Some(
                f.attributes
                    .iter()
                    .map(|(k, v)| (k.clone(), attr_json(v)))
                    .collect(),
            ),
            id: Some(geojson::feature::Id::Number(f.source_id.into())),
            ..Default::default()
        })
        .collect();
    let foreign_members = match &layer.crs {
        Crs::Epsg(4326) => None,
        Crs::Epsg(n) => {
            let mut m = JsonObject::new();
            m.insert(
                "crs".into(),
                serde_json::json!({"type": "name", "properties": {"name": format!("urn:ogc:def:crs:EPSG::{n}")}}),
            );
            Some(m)
        }
        Crs::Wkt(_) => {
            return Err(GisError::Write {
                path: path.to_path_buf(),
                layer: layer.name.clone(),
                message: "GeoJSON can only record an EPSG CRS; reproject first".into(),
            });
        }
    };
    let fc = FeatureCollection {
        bbox: None,
        features,
        foreign_members,
    };
    let text = GeoJson::FeatureCollection(fc).to_string();
    std::fs::write(path, text).map_err(|e| GisError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str, text: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("citytwin-gj-{name}-{}.geojson", std::process::id()));
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_all_types_and_properties() {
        let p = tmp(
            "all",
            r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","geometry":{"type":"Point","coordinates":[24.9,60.1]},"properties":{"name":"a","n":3,"ok":true,"empty":null}},
            {"type":"Feature","geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]},"properties":{}},
            {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[4,0],[4,4],[0,4]],[[1,1],[2,1],[2,2],[1,2],[1,1]]]},"properties":null},
            {"type":"Feature","geometry":{"type":"MultiPoint","coordinates":[[0,0],[1,1]]},"properties":{}},
            {"type":"Feature","geometry":{"type":"MultiLineString","coordinates":[[[0,0],[1,1]],[[2,2],[3,3]]]},"properties":{}},
            {"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]]]},"properties":{}},
            {"type":"Feature","geometry":{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[0,0]}]},"properties":{}},
            {"type":"Feature","geometry":null,"properties":{}},
            {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,1]]]},"properties":{}}
            ]}"#,
        );
        let l = read_geojson(&p, LayerKind::Other, None).unwrap();
        assert_eq!(l.crs, WGS84);
        assert_eq!(l.features.len(), 7);
        assert_eq!(l.skipped.total(), 2);
        assert_eq!(l.features[0].attributes["n"], AttrValue::Number(3.0));
        assert_eq!(l.features[0].attributes["ok"], AttrValue::Bool(true));
        assert!(!l.features[0].attributes.contains_key("empty"));
        let Geometry::Polygon(poly) = &l.features[2].geometry else {
            panic!()
        };
        assert_eq!(poly.interiors().len(), 1);
        assert!(l.skipped.repaired.contains_key("unclosed ring closed"));
    }

    #[test]
    fn round_trip_keeps_the_crs() {
        let p = tmp(
            "rt",
            r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[385000.5,6672000.25]},"properties":{"k":"v"}}"#,
        );
        let mut l = read_geojson(&p, LayerKind::Pois, Some(&Crs::Epsg(3067))).unwrap();
        l.name = "p".into();
        let out = p.with_extension("out.geojson");
        write_geojson(&l, &out).unwrap();
        let back = read_geojson(&out, LayerKind::Pois, None).unwrap();
        assert_eq!(back.crs, Crs::Epsg(3067));
        assert_eq!(back.features[0].geometry, l.features[0].geometry);
        assert_eq!(back.features[0].attributes["k"], AttrValue::Text("v".into()));
    }

    #[test]
    fn malformed_json_is_an_error_naming_the_file() {
        let p = tmp("bad", "{\"type\": \"FeatureCollection\", \"features\": [");
        let e = read_geojson(&p, LayerKind::Other, None).unwrap_err();
        assert!(e.to_string().contains("citytwin-gj-bad"), "{e}");
    }
}
