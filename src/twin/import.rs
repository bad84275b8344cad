//! `citytwin import`: an OSM PBF extract reprojected and written as the layers a scene
//! uses — buildings, roads and zones as Shapefiles, POIs and land areas as GeoJSON, or all
//! of them as the tables of one GeoPackage — with a scene file beside them.

use std::path::{Path, PathBuf};

use crate::twin::crs::{Crs, Transformer, WGS84};
use crate::twin::error::GisError;
use crate::twin::gis::geojson::write_geojson;
use crate::twin::gis::gpkg::write_gpkg;
use crate::twin::gis::layer::{Attributes, Layer, LayerKind};
use crate::twin::gis::osm::read_osm;
use crate::twin::gis::shapefile::write_shapefile;

/// OSM tags kept per layer kind, with the attribute name written (≤ 10 characters for DBF).
fn kept_tags(kind: LayerKind) -> &'static [(&'static str, &'static str)] {
    match kind {
        LayerKind::Buildings => &[
            ("osm_id", "osm_id"),
            ("name", "name"),
            ("building", "building"),
            ("building:part", "part"),
            ("height", "height"),
            ("building:height", "height"),
            ("est_height", "est_height"),
            ("building:levels", "levels"),
            ("min_height", "min_height"),
            ("building:min_level", "min_level"),
            ("roof:shape", "roof_shape"),
            ("amenity", "amenity"),
            ("start_date", "start_date"),
        ],
        LayerKind::Roads => &[
            ("osm_id", "osm_id"),
            ("name", "name"),
            ("highway", "highway"),
            ("lanes", "lanes"),
            ("maxspeed", "maxspeed"),
            ("oneway", "oneway"),
            ("surface", "surface"),
            ("bridge", "bridge"),
        ],
        LayerKind::Zones => &[
            ("osm_id", "osm_id"),
            ("name", "name"),
            ("admin_level", "admin_lvl"),
            ("boundary", "boundary"),
        ],
        _ => &[],
    }
}

/// Keeps the tags a layer needs (all tags for GeoJSON layers) and renames them for DBF.
fn select_tags(attrs: &Attributes, kind: LayerKind, source_id: i64) -> Attributes {
    let table = kept_tags(kind);
    let mut out = Attributes::new();
    if table.is_empty() {
        let mut keep = attrs.clone();
        keep.insert(
            "osm_id".into(),
            crate::twin::gis::layer::AttrValue::Number(source_id as f64),
        );
        return keep;
    }
    for (tag, field) in table {
        if *tag == "osm_id" {
            out.insert(
                (*field).into(),
                crate::twin::gis::layer::AttrValue::Number(source_id as f64),
            );
        } else if let Some(v) = attrs.get(*tag)
            && !out.contains_key(*field)
        {
            out.insert((*field).into(), v.clone());
        }
    }
    out
}

/// What [`import_osm`] wrote.
#[derive(Debug, Clone)]
pub struct ImportSummary {
    /// The CRS written.
    pub crs: Crs,
    /// (file, layer kind, features) per file written.
    pub files: Vec<(PathBuf, LayerKind, usize)>,
}

/// What `import` writes the layers as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportFormat {
    /// Buildings, roads and zones as Shapefiles, the other layers as GeoJSON.
    #[default]
    Files,
    /// One GeoPackage holding every layer as a table.
    GeoPackage,
}

impl std::str::FromStr for ImportFormat {
    type Err = String;

    /// `files` (or `shp`) and `gpkg` (or `geopackage`).
    fn from_str(s: &str) -> Result<ImportFormat, String> {
        match s.to_ascii_lowercase().as_str() {
            "files" | "shp" => Ok(ImportFormat::Files),
            "gpkg" | "geopackage" => Ok(ImportFormat::GeoPackage),
            _ => Err(format!("unknown output format '{s}' (expected files or gpkg)")),
        }
    }
}

/// Reads `pbf`, reprojects every layer to `crs` (default: the UTM zone of the data's
/// centre) and writes them into `out` as Shapefiles and GeoJSON, with `scene.ron` listing
/// them.
pub fn import_osm(pbf: &Path, out: &Path, crs: Option<Crs>) -> Result<ImportSummary, GisError> {
    import_osm_as(pbf, out, crs, ImportFormat::Files)
}

/// [`import_osm`], writing the layers as `format`: with [`ImportFormat::GeoPackage`], one
/// file named after the extract (`monaco.osm.pbf` → `monaco.gpkg`) with a table per layer.
pub fn import_osm_as(
    pbf: &Path,
    out: &Path,
    crs: Option<Crs>,
    format: ImportFormat,
) -> Result<ImportSummary, GisError> {
    let mut layers = read_osm(pbf)?;
    let crs = match crs {
        Some(c) => c,
        None => {
            let b = layers
                .iter()
                .filter_map(Layer::bbox)
                .reduce(|a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])])
                .ok_or_else(|| GisError::Malformed {
                    path: pbf.to_path_buf(),
                    format: "osm.pbf",
                    feature: None,
                    message: "no features to import".into(),
                })?;
            Crs::utm_for((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0)
        }
    };
    let t = Transformer::new(&WGS84, &crs).map_err(|e| GisError::Crs {
        path: pbf.to_path_buf(),
        message: e.to_string(),
    })?;
    std::fs::create_dir_all(out).map_err(|e| GisError::io(out, e))?;
    let mut summary = ImportSummary {
        crs: crs.clone(),
        files: Vec::new(),
    };
    let mut scene_layers = String::new();
    for layer in &mut layers {
        t.layer(layer);
        for f in &mut layer.features {
            f.attributes = select_tags(&f.attributes, layer.kind, f.source_id);
        }
    }
    layers.retain(|l| !l.features.is_empty());
    let gpkg_file = format!(
        "{}.gpkg",
        pbf.file_name()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default()
            .split('.')
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or("city")
    );
    if format == ImportFormat::GeoPackage {
        let all: Vec<&Layer> = layers.iter().collect();
        write_gpkg(&all, &out.join(&gpkg_file))?;
    }
    for layer in &layers {
        let (file, table) = match (format, layer.kind) {
            (ImportFormat::GeoPackage, _) => {
                (gpkg_file.clone(), format!("table: Some(\"{}\"), ", layer.name))
            }
            (_, LayerKind::Buildings | LayerKind::Roads | LayerKind::Zones) => {
                let file = format!("{}.shp", layer.name);
                write_shapefile(layer, &out.join(&file))?;
                (file, String::new())
            }
            _ => {
                let file = format!("{}.geojson", layer.name);
                write_geojson(layer, &out.join(&file))?;
                (file, String::new())
            }
        };
        summary
            .files
            .push((out.join(&file), layer.kind, layer.features.len()));
        let class = if layer.kind == LayerKind::Roads {
            "class_field: Some(\"highway\"), "
        } else {
            ""
        };
        scene_layers.push_str(&format!(
            "        (name: \"{}\", path: \"{file}\", {table}kind: {}, {class}meta: (title: \"{}\", owner: \"OpenStreetMap\", licence: \"ODbL-1.0\", attribution: \"© OpenStreetMap contributors\")),\n",
            layer.name,
            layer.kind.name(),
            layer.name,
        ));
    }
    let scene = format!(
        "// Imported from {} by `citytwin import`. © OpenStreetMap contributors, ODbL-1.0.\n(\n    name: \"{}\",\n    crs: Some(\"{}\"),\n    layers: [\n{scene_layers}    ],\n)\n",
        pbf.file_name()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default(),
        pbf.file_name()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default(),
        crs.definition(),
    );
    std::fs::write(out.join("scene.ron"), scene).map_err(|e| GisError::io(out.join("scene.ron"), e))?;
    Ok(summary)
}
