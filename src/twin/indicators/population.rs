//! Per-building facts the indicators add up: floor area by use, the residents estimate and
//! the roof area usable for solar. Where no census layer exists, residents are estimated
//! from residential floor area: floor area = footprint × storeys (storeys = height ÷
//! storey height, at least one), residents = residential floor area ÷ m² per resident
//! (scene setting). Buildings of unknown use ("yes") count with a configurable share.

use geo::Centroid;

use crate::twin::city::Building;
use crate::twin::indicators::config::IndicatorConfig;

/// Building uses counted as residential.
pub const RESIDENTIAL_USES: &[&str] = &[
    "residential",
    "apartments",
    "house",
    "detached",
    "semidetached_house",
    "terrace",
    "terraced",
    "dormitory",
    "bungalow",
    "farm",
    "houseboat",
    "static_caravan",
    "cabin",
    "hut",
];
/// Building uses meaning "a building, use unknown".
pub const UNKNOWN_USES: &[&str] = &["yes", "", "building"];
/// Building uses counted as commercial floor area.
pub const COMMERCIAL_USES: &[&str] = &[
    "commercial",
    "office",
    "retail",
    "industrial",
    "warehouse",
    "hotel",
    "kiosk",
    "supermarket",
    "manufacture",
];
/// Structures without floor area (canopies, roofs on posts).
pub const NO_FLOOR_USES: &[&str] = &["roof", "carport", "canopy"];
/// Share of a roof usable for solar panels (shading, equipment, setbacks).
pub const ROOF_USABLE_SHARE: f64 = 0.6;

/// What one building contributes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BuildingFacts {
    /// Footprint centroid, scene CRS.
    pub centroid: [f64; 2],
    /// Zone holding the centroid.
    pub zone: Option<u32>,
    /// Nearest walk-network node and the straight-line distance to it, metres.
    pub node: Option<(u32, f64)>,
    /// Footprint area, m².
    pub footprint_m2: f64,
    /// Gross floor area, m².
    pub floor_m2: f64,
    /// Floor area counted residential, m².
    pub residential_m2: f64,
    /// Floor area in commercial use, m².
    pub commercial_m2: f64,
    /// Floor area of a known use (not "yes" or empty), m².
    pub known_use_m2: f64,
    /// Estimated residents.
    pub residents: f64,
    /// Roof area usable for solar, m².
    pub roof_solar_m2: f64,
}

/// Storeys of a building: its height above its base ÷ storey height, rounded, at least one.
pub fn storeys(b: &Building, storey_m: f64) -> f64 {
    let h = (b.height_m - b.min_height_m).max(0.0);
    (h / storey_m).round().max(1.0)
}

/// Share of a building's floor area taken as residential.
pub fn residential_share(usage: &str, cfg: &IndicatorConfig) -> f64 {
    let u = usage.trim().to_ascii_lowercase();
    if RESIDENTIAL_USES.contains(&u.as_str()) {
        1.0
    } else if UNKNOWN_USES.contains(&u.as_str()) {
        cfg.unknown_residential_share
    } else {
        0.0
    }
}

/// The facts of one building (zone and node are filled in by the caller).
pub fn building_facts(b: &Building, cfg: &IndicatorConfig) -> BuildingFacts {
    let footprint = b.footprint_area_m2();
    let centroid = b
        .footprint
        .centroid()
        .map(|c| [c.x(), c.y()])
        .unwrap_or([f64::NAN; 2]);
    let usage = b.usage.trim().to_ascii_lowercase();
    let floor = if NO_FLOOR_USES.contains(&usage.as_str()) {
        0.0
    } else {
        footprint * storeys(b, cfg.storey_m)
    };
    let residential = floor * residential_share(&usage, cfg);
    BuildingFacts {
        centroid,
        zone: None,
        node: None,
        footprint_m2: footprint,
        floor_m2: floor,
        residential_m2: residential,
        commercial_m2: if COMMERCIAL_USES.contains(&usage.as_str()) {
            floor
        } else {
            0.0
        },
        known_use_m2: if UNKNOWN_USES.contains(&usage.as_str()) {
            0.0
        } else {
            floor
        },
        residents: residential / cfg.m2_per_resident,
        roof_solar_m2: footprint * ROOF_USABLE_SHARE,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::twin::city::LayerId;
    use crate::twin::heights::HeightSource;
    use geo_types::{MultiPolygon, Polygon, polygon};

    /// A `w`×`h` m rectangular building at `(x, y)`.
    pub(crate) fn building(x: f64, y: f64, w: f64, h: f64, height: f64, usage: &str) -> Building {
        let p: Polygon<f64> =
            polygon![(x: x, y: y), (x: x + w, y: y), (x: x + w, y: y + h), (x: x, y: y + h)];
        Building {
            layer: LayerId(0),
            source_id: 0,
            footprint: MultiPolygon(vec![p]),
            height_m: height,
            min_height_m: 0.0,
            height_source: HeightSource::Measured,
            name: None,
            usage: usage.into(),
            attributes: Default::default(),
        }
    }

    #[test]
    fn residents_from_floor_area() {
        let cfg = IndicatorConfig::default();
        // 10 × 20 m, 12 m high at 3 m a storey: 4 storeys, 800 m², 20 residents at 40 m².
        let f = building_facts(&building(0.0, 0.0, 10.0, 20.0, 12.0, "apartments"), &cfg);
        assert!((f.floor_m2 - 800.0).abs() < 1e-9);
        assert!((f.residents - 20.0).abs() < 1e-9);
        assert_eq!(f.commercial_m2, 0.0);
        assert!((f.roof_solar_m2 - 120.0).abs() < 1e-9);
        assert_eq!(f.centroid, [5.0, 10.0]);
        // Unknown use at the default half share.
        let u = building_facts(&building(0.0, 0.0, 10.0, 20.0, 12.0, "yes"), &cfg);
        assert!((u.residents - 10.0).abs() < 1e-9);
        let o = building_facts(&building(0.0, 0.0, 10.0, 20.0, 12.0, "office"), &cfg);
        assert_eq!(o.residents, 0.0);
        assert!((o.commercial_m2 - 800.0).abs() < 1e-9);
        // A one-metre shed still has one storey; a roof has no floor.
        let s = building_facts(&building(0.0, 0.0, 2.0, 2.0, 1.0, "shed"), &cfg);
        assert!((s.floor_m2 - 4.0).abs() < 1e-9);
        let r = building_facts(&building(0.0, 0.0, 2.0, 2.0, 4.0, "roof"), &cfg);
        assert_eq!(r.floor_m2, 0.0);
        // A scene that says 20 m² per resident doubles the estimate.
        let dense = IndicatorConfig {
            m2_per_resident: 20.0,
            ..IndicatorConfig::default()
        };
        let f = building_facts(&building(0.0, 0.0, 10.0, 20.0, 12.0, "apartments"), &dense);
        assert!((f.residents - 40.0).abs() < 1e-9);
    }
}
