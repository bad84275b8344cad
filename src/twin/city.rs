//! The city model: buildings, roads, zones, POIs and land areas in one metric scene CRS,
//! with newtype ids, built from loaded layers. Pure data: no Bevy type here.

use std::collections::HashMap;
use std::sync::Arc;

use geo::{Area, BoundingRect};
use geo_types::{LineString, MultiPolygon, Point};
use serde::{Deserialize, Serialize};

use crate::twin::crs::{Crs, SceneOrigin};
use crate::twin::gis::layer::{Attributes, CatalogueEntry, LayerFormat, LayerKind, SkipReport};
use crate::twin::heights::HeightSource;
use crate::twin::solid::BuildingSolid;

/// Index of a building in [`CityModel::buildings`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BuildingId(pub u32);
/// Index of a road in [`CityModel::roads`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoadId(pub u32);
/// Index of a zone in [`CityModel::zones`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ZoneId(pub u32);
/// Index of a POI in [`CityModel::pois`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PoiId(pub u32);
/// Index of a layer in [`CityModel::layers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LayerId(pub u16);

/// A building (or building part): footprint in the scene CRS and its vertical extent.
#[derive(Debug, Clone)]
pub struct Building {
    /// The layer it came from.
    pub layer: LayerId,
    /// Id in the source (record number or OSM id).
    pub source_id: i64,
    /// Footprint, scene CRS, with holes.
    pub footprint: MultiPolygon<f64>,
    /// Top above ground, metres.
    pub height_m: f64,
    /// Bottom above ground, metres.
    pub min_height_m: f64,
    /// Where the height came from.
    pub height_source: HeightSource,
    /// Name, if any.
    pub name: Option<String>,
    /// Use / type (`building=*` or the scene's type field), e.g. "residential".
    pub usage: String,
    /// All source attributes.
    pub attributes: Attributes,
}

impl Building {
    /// Footprint area, m².
    pub fn footprint_area_m2(&self) -> f64 {
        self.footprint.unsigned_area()
    }
}

/// A street centre line.
#[derive(Debug, Clone)]
pub struct Road {
    /// The layer it came from.
    pub layer: LayerId,
    /// Id in the source.
    pub source_id: i64,
    /// Centre line, scene CRS.
    pub line: LineString<f64>,
    /// Highway class, e.g. "primary", "residential", "footway".
    pub class: String,
    /// Number of lanes, when known.
    pub lanes: Option<u32>,
    /// Speed limit in km/h, when known.
    pub maxspeed_kmh: Option<f64>,
    /// One-way street.
    pub oneway: bool,
    /// Street name.
    pub name: Option<String>,
}

/// An analysis zone (district, or a cell of a generated grid).
#[derive(Debug, Clone)]
pub struct Zone {
    /// Zone name.
    pub name: String,
    /// Area, scene CRS.
    pub area: MultiPolygon<f64>,
    /// True when the zone is a generated grid cell rather than a district from data.
    pub generated: bool,
}

/// A point of interest.
#[derive(Debug, Clone)]
pub struct Poi {
    /// The layer it came from.
    pub layer: LayerId,
    /// Id in the source.
    pub source_id: i64,
    /// Location, scene CRS.
    pub point: Point<f64>,
    /// Category key, e.g. "amenity", "shop", "public_transport".
    pub category: String,
    /// Category value, e.g. "school", "bakery", "platform".
    pub kind: String,
    /// Name.
    pub name: Option<String>,
}

/// A land area: water, green space or other land use.
#[derive(Debug, Clone)]
pub struct LandArea {
    /// The layer it came from.
    pub layer: LayerId,
    /// Water, Green or Other.
    pub kind: LayerKind,
    /// Class, e.g. "park", "water", "residential".
    pub class: String,
    /// Area, scene CRS.
    pub area: MultiPolygon<f64>,
}

/// Summary of one loaded (or failed) layer, for the layer panel and the catalogue.
#[derive(Debug, Clone)]
pub struct LayerInfo {
    /// Layer name.
    pub name: String,
    /// What it holds.
    pub kind: LayerKind,
    /// Source format.
    pub format: LayerFormat,
    /// The CRS it was read in.
    pub source_crs: Option<Crs>,
    /// Features kept.
    pub feature_count: usize,
    /// Skipped and repaired features.
    pub skipped: SkipReport,
    /// Catalogue entry (owner, licence, classification, source file and time).
    pub catalogue: CatalogueEntry,
    /// Why the whole layer failed to load, if it did.
    pub error: Option<String>,
}

/// The whole city in one metric scene CRS.
#[derive(Debug, Clone)]
pub struct CityModel {
    /// Scene name.
    pub name: String,
    /// The scene CRS (projected, metres).
    pub crs: Crs,
    /// Origin subtracted before render coordinates become f32.
    pub origin: SceneOrigin,
    /// Layers, in scene order.
    pub layers: Vec<LayerInfo>,
    /// Buildings; `BuildingId(i)` is index `i`.
    pub buildings: Vec<Building>,
    /// Roads; `RoadId(i)` is index `i`.
    pub roads: Vec<Road>,
    /// Analysis zones; `ZoneId(i)` is index `i`.
    pub zones: Vec<Zone>,
    /// POIs; `PoiId(i)` is index `i`.
    pub pois: Vec<Poi>,
    /// Water, green and other land areas.
    pub areas: Vec<LandArea>,
    /// Buildings that have their own 3D surfaces (CityJSON), drawn from them instead of
    /// extruded ([`crate::twin::solid`]).
    pub solids: HashMap<BuildingId, Arc<BuildingSolid>>,
}

impl CityModel {
    /// An empty model in a CRS.
    pub fn empty(name: &str, crs: Crs, origin: SceneOrigin) -> CityModel {
        CityModel {
            name: name.to_string(),
            crs,
            origin,
            layers: Vec::new(),
            buildings: Vec::new(),
            roads: Vec::new(),
            zones: Vec::new(),
            pois: Vec::new(),
            areas: Vec::new(),
            solids: HashMap::new(),
        }
    }

    /// A building by id.
    pub fn building(&self, id: BuildingId) -> Option<&Building> {
        self.buildings.get(id.0 as usize)
    }

    /// Bounding box of buildings, roads, POIs and areas `[min_x, min_y, max_x, max_y]`.
    pub fn bbox(&self) -> Option<[f64; 4]> {
        let mut acc: Option<[f64; 4]> = None;
        let mut add = |r: Option<geo::Rect<f64>>| {
            if let Some(r) = r {
                let b = [r.min().x, r.min().y, r.max().x, r.max().y];
                acc = Some(match acc {
                    None => b,
                    Some(a) => [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])],
                });
            }
        };
        self.buildings
            .iter()
            .for_each(|b| add(b.footprint.bounding_rect()));
        self.roads.iter().for_each(|r| add(r.line.bounding_rect()));
        self.pois.iter().for_each(|p| add(Some(p.point.bounding_rect())));
        self.areas.iter().for_each(|a| add(a.area.bounding_rect()));
        acc
    }

    /// Buildings by height source: (measured, levels, estimated).
    pub fn height_source_counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for b in &self.buildings {
            match b.height_source {
                HeightSource::Measured => c.0 += 1,
                HeightSource::Levels => c.1 += 1,
                HeightSource::Estimated => c.2 += 1,
            }
        }
        c
    }
}
