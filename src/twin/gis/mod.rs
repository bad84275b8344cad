//! GIS readers and writers, one per format, and the shared layer model, ring assembly and
//! zone grids.

pub mod cityjson;
pub mod coastline;
pub mod dbf;
pub mod extent;
pub mod geojson;
pub mod gpkg;
pub mod layer;
pub mod osm;
pub mod postgis;
pub mod rings;
pub mod shapefile;
pub mod zones;

use std::path::Path;

use crate::twin::crs::Crs;
use crate::twin::error::GisError;
use layer::{Layer, LayerFormat, LayerKind};

/// Reads a data file of any supported format. Shapefile, GeoJSON, GeoPackage (its only
/// feature table) and CityJSON give one layer of `kind` (CityJSON: footprints only, at
/// the highest level of detail; loading a scene keeps the 3D surfaces too) and a PostGIS
/// source (`postgis://…`, its only geometry table or the one its URL names) give one layer
/// of `kind`; an OSM PBF gives one layer per kind it contains.
pub fn read_any(path: &Path, kind: LayerKind, crs: Option<&Crs>) -> Result<Vec<Layer>, GisError> {
    match LayerFormat::from_path(path) {
        Some(LayerFormat::Shapefile) => Ok(vec![shapefile::read_shapefile(path, kind, crs)?]),
        Some(LayerFormat::GeoJson) => Ok(vec![geojson::read_geojson(path, kind, crs)?]),
        Some(LayerFormat::OsmPbf) => osm::read_osm(path),
        Some(LayerFormat::GeoPackage) => Ok(vec![gpkg::read_gpkg(
            path,
            kind,
            &gpkg::ReadOptions {
                crs,
                ..Default::default()
            },
        )?]),
        Some(LayerFormat::CityJson) => Ok(vec![cityjson::read_cityjson(path, kind, crs, None)?.layer]),
        Some(LayerFormat::PostGis) => {
            let url = path.to_string_lossy();
            let src = postgis::PgSource::parse(&url).map_err(|message| GisError::Database {
                url: postgis::redact(&url),
                message,
            })?;
            let opts = postgis::ReadOptions {
                crs,
                ..Default::default()
            };
            Ok(vec![postgis::read_postgis(&src, kind, &opts)?])
        }
        _ => Err(GisError::UnknownFormat {
            path: path.to_path_buf(),
        }),
    }
}

/// Guesses what a bare data file holds from its name ("buildings.shp" → buildings).
pub fn guess_kind(path: &Path) -> LayerKind {
    let n = path
        .file_name()
        .map(|s| s.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let has = |w: &[&str]| w.iter().any(|x| n.contains(x));
    if has(&["build", "bati", "footprint"]) {
        LayerKind::Buildings
    } else if has(&["road", "street", "highway"]) {
        LayerKind::Roads
    } else if has(&["district", "zone", "admin", "quarter", "neighbo"]) {
        LayerKind::Zones
    } else if has(&["poi", "amenit"]) {
        LayerKind::Pois
    } else if has(&["water", "river", "lake"]) {
        LayerKind::Water
    } else if has(&["park", "green"]) {
        LayerKind::Green
    } else {
        LayerKind::Other
    }
}
