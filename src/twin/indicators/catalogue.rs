//! The indicator catalogue: six dimensions, each indicator's id, name, unit, method,
//! direction, target and thresholds, and its ISO 37120 / 37122 / 37123 counterpart. The
//! defaults ship here; a scene overrides targets and adds indicators ([`IndicatorConfig`]).

use serde::{Deserialize, Serialize};

use crate::twin::city::Poi;
use crate::twin::feeds::Metric;
use crate::twin::indicators::config::{CustomCompute, IndicatorConfig};

/// WHO 2021 guideline for the 24-hour mean of PM2.5, µg/m³.
pub const WHO_PM25_24H: f64 = 15.0;
/// WHO 2021 guideline for the 24-hour mean of PM10, µg/m³.
pub const WHO_PM10_24H: f64 = 45.0;
/// WHO 2021 guideline for the 24-hour mean of NO₂, µg/m³.
pub const WHO_NO2_24H: f64 = 25.0;
/// WHO Europe (2018) road-traffic noise guideline, Lden dB(A).
pub const WHO_ROAD_NOISE_DB: f64 = 53.0;
/// Walking distance to a public-transport stop, metres.
pub const TRANSIT_WALK_M: f64 = 400.0;
/// Walking distance to a school or to health care, metres.
pub const SERVICE_WALK_M: f64 = 800.0;
/// Walking distance to a grocery, metres.
pub const GROCERY_WALK_M: f64 = 500.0;
/// Walking distance to a park (WHO Europe: green space within 300 m), metres.
pub const PARK_WALK_M: f64 = 300.0;
/// Minutes of the 15-minute city.
pub const FIFTEEN_MINUTES: f64 = 15.0;

/// The six dimensions of the smart-city index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    /// Economy.
    Economy,
    /// Governance.
    Governance,
    /// Environment.
    Environment,
    /// People.
    People,
    /// Mobility.
    Mobility,
    /// Living.
    Living,
}

impl Dimension {
    /// All dimensions in report order.
    pub const ALL: [Dimension; 6] = [
        Dimension::Economy,
        Dimension::Governance,
        Dimension::Environment,
        Dimension::People,
        Dimension::Mobility,
        Dimension::Living,
    ];

    /// Lower-case id as in JSON.
    pub fn id(self) -> &'static str {
        match self {
            Dimension::Economy => "economy",
            Dimension::Governance => "governance",
            Dimension::Environment => "environment",
            Dimension::People => "people",
            Dimension::Mobility => "mobility",
            Dimension::Living => "living",
        }
    }
}

/// A POI selector: `key=value`, or `key=*` for any value of the key.
#[derive(Debug, Clone, PartialEq)]
pub struct PoiSel {
    /// Category key (amenity, shop, ...).
    pub key: String,
    /// Value, or `None` for any.
    pub value: Option<String>,
}

impl PoiSel {
    /// Parses `key=value` / `key=*`; a bare word matches the value under any key.
    pub fn parse(s: &str) -> PoiSel {
        match s.split_once('=') {
            Some((k, "*")) => PoiSel {
                key: k.trim().into(),
                value: None,
            },
            Some((k, v)) => PoiSel {
                key: k.trim().into(),
                value: Some(v.trim().into()),
            },
            None => PoiSel {
                key: "*".into(),
                value: Some(s.trim().into()),
            },
        }
    }

    /// Whether a POI matches.
    pub fn matches(&self, p: &Poi) -> bool {
        (self.key == "*" || self.key == p.category) && self.value.as_ref().is_none_or(|v| *v == p.kind)
    }
}

fn sels(list: &[&str]) -> Vec<PoiSel> {
    list.iter().map(|s| PoiSel::parse(s)).collect()
}

/// Public-transport stops.
const TRANSIT_POIS: &[&str] = &[
    "public_transport=platform",
    "public_transport=stop_position",
    "public_transport=station",
    "amenity=bus_station",
    "amenity=ferry_terminal",
    "highway=bus_stop",
    "railway=tram_stop",
    "railway=station",
    "railway=halt",
];
/// Schools (POIs).
const SCHOOL_POIS: &[&str] = &[
    "amenity=school",
    "amenity=kindergarten",
    "amenity=college",
    "amenity=university",
    "education=*",
];
/// Schools (building uses).
const SCHOOL_USES: &[&str] = &["school", "kindergarten", "college", "university"];
/// Health care (POIs).
const HEALTH_POIS: &[&str] = &[
    "amenity=clinic",
    "amenity=doctors",
    "amenity=hospital",
    "amenity=pharmacy",
    "amenity=dentist",
    "healthcare=*",
];
/// Health care (building uses).
const HEALTH_USES: &[&str] = &["hospital", "clinic"];
/// Groceries.
const GROCERY_POIS: &[&str] = &[
    "shop=supermarket",
    "shop=convenience",
    "shop=greengrocer",
    "shop=grocery",
    "shop=bakery",
    "shop=butcher",
    "shop=deli",
    "shop=food",
    "amenity=marketplace",
];
/// Land-area classes that are parks.
const PARK_CLASSES: &[&str] = &[
    "park",
    "garden",
    "playground",
    "recreation_ground",
    "village_green",
    "nature_reserve",
    "dog_park",
];
/// Cultural institutions and sporting facilities.
const CULTURE_SPORT_POIS: &[&str] = &[
    "amenity=library",
    "amenity=theatre",
    "amenity=cinema",
    "amenity=arts_centre",
    "amenity=concert_hall",
    "tourism=museum",
    "tourism=gallery",
    "leisure=sports_centre",
    "leisure=fitness_centre",
    "leisure=stadium",
    "leisure=swimming_pool",
    "leisure=pitch",
];
/// Businesses: shops, offices, food and drink, lodging.
const BUSINESS_POIS: &[&str] = &[
    "shop=*",
    "office=*",
    "amenity=restaurant",
    "amenity=cafe",
    "amenity=fast_food",
    "amenity=pub",
    "amenity=bar",
    "amenity=bank",
    "amenity=pharmacy",
    "tourism=hotel",
    "tourism=hostel",
];

/// A set of destinations reached on foot: POIs, buildings of some uses, land areas of
/// some classes.
#[derive(Debug, Clone, PartialEq)]
pub struct DestSet {
    /// Name (for reports).
    pub name: String,
    /// POI selectors.
    pub pois: Vec<PoiSel>,
    /// Building uses whose footprint centroid is a destination.
    pub building_uses: Vec<String>,
    /// Land-area classes whose boundary vertices are destinations.
    pub area_classes: Vec<String>,
}

/// Index of a [`DestSet`] in [`Catalogue::dests`].
pub type DestId = usize;

/// How an indicator is computed. GIS computations use the city model and the walk
/// network; feed computations use the feed window.
#[derive(Debug, Clone, PartialEq)]
pub enum Compute {
    /// Share of residents (%) within `within_m` walking of a destination of a set.
    Access {
        /// Destination set.
        dest: DestId,
        /// Walking distance, metres.
        within_m: f64,
    },
    /// Share of residents (%) reaching every one of `dests` within `within_m`.
    AllWithin {
        /// Destination sets.
        dests: Vec<DestId>,
        /// Walking distance, metres.
        within_m: f64,
    },
    /// Estimated residents per km² of zone area.
    PopulationDensity,
    /// Gross floor area ÷ zone area.
    FloorAreaRatio,
    /// Green area (ha) per 100,000 residents.
    GreenHaPer100k,
    /// Roof area usable for solar per resident, m².
    SolarRoofPerResident,
    /// Share of floor area in commercial use, %.
    CommercialFloorShare,
    /// Non-residential floor area per resident, m².
    NonResidentialFloorPerResident,
    /// Shannon entropy of POI kinds, nats.
    PoiDiversity,
    /// POIs of a set per `per` residents.
    PoisPer {
        /// Selectors.
        pois: Vec<PoiSel>,
        /// Per how many residents.
        per: f64,
    },
    /// Cycleway length (km) per 100,000 residents.
    CyclewayKmPer100k,
    /// Walk-network intersections (degree ≥ 3) per km².
    IntersectionDensity,
    /// Mean of a feed metric over the window, times `scale`.
    FeedMean {
        /// Metric.
        metric: Metric,
        /// Factor applied to the mean (1, or 100 for ratio → %).
        scale: f64,
    },
    /// Extra travel time over free flow, %, length-weighted over observed roads.
    Congestion,
    /// Open service requests per 10,000 residents.
    OpenRequestsPer10k,
    /// Median hours to close a service request.
    CloseMedianH,
    /// Electricity load per resident, kW.
    ElectricityPerResident,
    /// Share of zones with at least one feed observation in the window, %.
    FeedCoverage,
}

impl Compute {
    /// Whether the computation reads feeds (and so can be stale).
    pub fn is_feed(&self) -> bool {
        matches!(
            self,
            Compute::FeedMean { .. }
                | Compute::Congestion
                | Compute::OpenRequestsPer10k
                | Compute::CloseMedianH
                | Compute::ElectricityPerResident
                | Compute::FeedCoverage
        )
    }

    /// The base a zone must hold for this computation to apply there ([`Base`]).
    pub fn base(&self) -> Base {
        match self {
            Compute::Access { .. }
            | Compute::AllWithin { .. }
            | Compute::PopulationDensity
            | Compute::SolarRoofPerResident
            | Compute::NonResidentialFloorPerResident
            | Compute::OpenRequestsPer10k
            | Compute::ElectricityPerResident => Base::Residents,
            Compute::GreenHaPer100k | Compute::PoisPer { .. } | Compute::CyclewayKmPer100k => {
                Base::DistrictResidents
            }
            Compute::FloorAreaRatio => Base::FloorArea,
            Compute::CommercialFloorShare => Base::KnownUseFloorArea,
            Compute::PoiDiversity => Base::Pois,
            Compute::IntersectionDensity => Base::Roads,
            Compute::FeedMean { .. } | Compute::Congestion | Compute::CloseMedianH => Base::Sensor,
            Compute::FeedCoverage => Base::CityWide,
        }
    }

    /// The metrics whose observations the value is made of (feed computations).
    pub fn metrics(&self) -> &[Metric] {
        match self {
            Compute::FeedMean { metric, .. } => std::slice::from_ref(metric),
            Compute::Congestion => &[Metric::TrafficSpeed],
            Compute::OpenRequestsPer10k => &[Metric::ServiceRequestOpened, Metric::ServiceRequestClosed],
            Compute::CloseMedianH => &[Metric::ServiceRequestClosed],
            Compute::ElectricityPerResident => &[Metric::ElectricityLoad],
            Compute::FeedCoverage => &Metric::ALL,
            _ => &[],
        }
    }

    /// Whether the value rests on the population estimate.
    pub fn uses_population(&self) -> bool {
        matches!(
            self,
            Compute::Access { .. }
                | Compute::AllWithin { .. }
                | Compute::PopulationDensity
                | Compute::GreenHaPer100k
                | Compute::SolarRoofPerResident
                | Compute::NonResidentialFloorPerResident
                | Compute::PoisPer { .. }
                | Compute::CyclewayKmPer100k
                | Compute::OpenRequestsPer10k
                | Compute::ElectricityPerResident
        )
    }
}

/// What a zone must hold for an indicator to mean anything there: its *base*. A zone
/// without its indicator's base gets the status
/// [`not_applicable`](crate::twin::indicators::Status::NotApplicable): no value, no colour,
/// no score, no alert. (A zone over water, a park or beyond the data has no residents; a
/// per-resident figure there is not applicable, not 0.) City-wide values always apply.
///
/// The rule, per base (minimums from the scene's `indicators` settings):
/// - residents: at least `min_zone_residents` estimated residents (default 100: below it
///   a rate per resident swings on a handful of homes);
/// - district residents: as residents, in a district from data, not a cell of the
///   generated grid: facilities, parks or cycleways *per resident* counted inside a 300 m
///   cell say nothing of what its residents reach next door (the access indicators
///   measure that per cell), so such supply ratios are read per district and city-wide;
/// - floor area: at least `min_zone_floor_m2` m² of floor area (default 1,000);
/// - floor area of known use: as floor area, with at least `min_known_use_share` of it
///   (default 0.5) of a known use: where most buildings are only "a building", a share
///   by use would be a guess;
/// - POIs: at least `min_zone_pois` points of interest (default 5, for a diversity);
/// - roads: at least one road of the walk network in the zone (by its midpoint);
/// - sensor: an observation of the metric located in the zone in the 24-hour window;
/// - city-wide: the indicator is defined for the whole city only (feed coverage: a zone
///   alone is covered or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Base {
    /// Estimated residents.
    Residents,
    /// Estimated residents, in a district from data (not a generated grid cell).
    DistrictResidents,
    /// Gross floor area.
    FloorArea,
    /// Gross floor area, mostly of a known use.
    KnownUseFloorArea,
    /// Points of interest.
    Pois,
    /// Roads (walk network).
    Roads,
    /// A sensor or an observation located in the zone.
    Sensor,
    /// Defined city-wide only.
    CityWide,
}

impl Base {
    /// Id as in JSON.
    pub fn id(self) -> &'static str {
        match self {
            Base::Residents => "residents",
            Base::DistrictResidents => "district_residents",
            Base::FloorArea => "floor_area",
            Base::KnownUseFloorArea => "known_use_floor_area",
            Base::Pois => "pois",
            Base::Roads => "roads",
            Base::Sensor => "sensor",
            Base::CityWide => "city_wide",
        }
    }

    /// The rule in words, with the scene's minimums.
    pub fn rule(self, cfg: &IndicatorConfig) -> String {
        match self {
            Base::Residents => format!(
                "applies in zones with at least {} estimated residents",
                cfg.min_zone_residents
            ),
            Base::DistrictResidents => format!(
                "applies in districts from data (not grid cells) with at least {} estimated residents",
                cfg.min_zone_residents
            ),
            Base::FloorArea => format!(
                "applies in zones with at least {} m² of floor area",
                cfg.min_zone_floor_m2
            ),
            Base::KnownUseFloorArea => format!(
                "applies in zones with at least {} m² of floor area, {:.0} % of it of a known use",
                cfg.min_zone_floor_m2,
                cfg.min_known_use_share * 100.0
            ),
            Base::Pois => format!(
                "applies in zones with at least {} points of interest",
                cfg.min_zone_pois
            ),
            Base::Roads => "applies in zones with a road of the walk network".into(),
            Base::Sensor => "applies in zones with a sensor or an observation of the metric".into(),
            Base::CityWide => "city-wide only: not applicable to a single zone".into(),
        }
    }
}

/// One indicator of the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorDef {
    /// Stable id, `dimension.name`, e.g. "env.pm25_daily_mean".
    pub id: String,
    /// Display name.
    pub name: String,
    /// Dimension.
    pub dimension: Dimension,
    /// Unit of the value.
    pub unit: String,
    /// How it is computed, in words.
    pub method: String,
    /// Whether higher values are better.
    pub higher_is_better: bool,
    /// Target (scores 100 in the composite).
    pub target: f64,
    /// Warning threshold (status warning at or beyond it).
    pub warning: f64,
    /// Alarm threshold (status alarm at or beyond it; scores 0).
    pub alarm: f64,
    /// The ISO 37120 / 37122 / 37123 indicator it corresponds to, where one exists.
    pub iso: Option<String>,
    /// The computation.
    pub compute: Compute,
}

impl IndicatorDef {
    /// Whether the value rests on an estimate (the population estimate).
    pub fn is_estimate(&self) -> bool {
        self.compute.uses_population()
    }
}

/// The indicators and the destination sets they walk to.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalogue {
    /// Indicators in report order.
    pub indicators: Vec<IndicatorDef>,
    /// Destination sets of the access indicators.
    pub dests: Vec<DestSet>,
}

/// Destination set ids of the default catalogue.
pub mod dest {
    use super::DestId;
    /// Public-transport stops.
    pub const TRANSIT: DestId = 0;
    /// Schools.
    pub const SCHOOL: DestId = 1;
    /// Health care.
    pub const HEALTH: DestId = 2;
    /// Groceries.
    pub const GROCERY: DestId = 3;
    /// Parks.
    pub const PARK: DestId = 4;
}

#[allow(clippy::too_many_arguments)]
fn def(
    id: &str,
    name: &str,
    dimension: Dimension,
    unit: &str,
    higher_is_better: bool,
    (target, warning, alarm): (f64, f64, f64),
    iso: Option<&str>,
    compute: Compute,
    method: &str,
) -> IndicatorDef {
    IndicatorDef {
        id: id.into(),
        name: name.into(),
        dimension,
        unit: unit.into(),
        method: method.into(),
        higher_is_better,
        target,
        warning,
        alarm,
        iso: iso.map(String::from),
        compute,
    }
}

impl Catalogue {
    /// The default catalogue (30 indicators, at least four per dimension).
    pub fn default_catalogue(cfg: &IndicatorConfig) -> Catalogue {
        use Dimension::*;
        let d = |name: &str, pois: &[&str], uses: &[&str], areas: &[&str]| DestSet {
            name: name.into(),
            pois: sels(pois),
            building_uses: uses.iter().map(|s| s.to_string()).collect(),
            area_classes: areas.iter().map(|s| s.to_string()).collect(),
        };
        let dests = vec![
            d("transit stop", TRANSIT_POIS, &[], &[]),
            d("school", SCHOOL_POIS, SCHOOL_USES, &[]),
            d("health care", HEALTH_POIS, HEALTH_USES, &[]),
            d("grocery", GROCERY_POIS, &[], &[]),
            d("park", &[], &[], PARK_CLASSES),
        ];
        let fifteen_m = cfg.walk_m(FIFTEEN_MINUTES);
        let pm = |metric| Compute::FeedMean { metric, scale: 1.0 };
        let indicators = vec![
            // Economy.
            def(
                "econ.businesses_per_100k",
                "Businesses per 100,000 residents",
                Economy,
                "per 100k",
                true,
                (5_000.0, 2_000.0, 500.0),
                Some("ISO 37120:2014 5.6 Number of businesses per 100 000 population"),
                Compute::PoisPer {
                    pois: sels(BUSINESS_POIS),
                    per: 100_000.0,
                },
                "POIs that are shops, offices, food and drink, banks or lodging, per 100,000 \
                 estimated residents.",
            ),
            def(
                "econ.commercial_floor_share",
                "Commercial floor-area share",
                Economy,
                "%",
                true,
                (30.0, 15.0, 5.0),
                None,
                Compute::CommercialFloorShare,
                "Floor area of buildings in commercial use (office, commercial, retail, hotel, \
                 industrial, ...) ÷ all floor area. Floor area = footprint × storeys, storeys = \
                 height ÷ storey height.",
            ),
            def(
                "econ.workspace_per_resident",
                "Non-residential floor area per resident",
                Economy,
                "m²/resident",
                true,
                (20.0, 10.0, 5.0),
                None,
                Compute::NonResidentialFloorPerResident,
                "Floor area not counted as residential ÷ estimated residents: a proxy for \
                 workplaces and services.",
            ),
            def(
                "econ.poi_diversity",
                "POI diversity",
                Economy,
                "nats",
                true,
                (3.0, 2.0, 1.0),
                None,
                Compute::PoiDiversity,
                "Shannon entropy H = −Σ pᵢ ln pᵢ of POI kinds (category=value).",
            ),
            // Governance.
            def(
                "gov.open_requests_per_10k",
                "Open service requests per 10,000 residents",
                Governance,
                "per 10k",
                false,
                (5.0, 10.0, 20.0),
                None,
                Compute::OpenRequestsPer10k,
                "Service requests opened in the feed window and not closed by its end (paired \
                 by the request id in the observation detail) per 10,000 estimated residents.",
            ),
            def(
                "gov.request_close_median_h",
                "Median time to close a service request",
                Governance,
                "h",
                false,
                (48.0, 96.0, 168.0),
                None,
                Compute::CloseMedianH,
                "Median of the hours-open values of requests closed in the feed window.",
            ),
            def(
                "gov.sentiment",
                "Public sentiment",
                Governance,
                "score",
                true,
                (0.2, 0.0, -0.3),
                None,
                pm(Metric::Sentiment),
                "Mean sentiment score (−1 … +1) of observations in the feed window.",
            ),
            def(
                "gov.feed_coverage",
                "Zones covered by live feeds",
                Governance,
                "%",
                true,
                (80.0, 50.0, 20.0),
                None,
                Compute::FeedCoverage,
                "Share of zones with at least one feed observation located in them in the \
                 window (a zone alone: 100 or 0).",
            ),
            // Environment.
            def(
                "env.pm25_daily_mean",
                "PM2.5, 24-hour mean",
                Environment,
                "µg/m³",
                false,
                (WHO_PM25_24H, 25.0, 50.0),
                Some(
                    "ISO 37120 Environment and climate change: fine particulate matter (PM2.5) concentration",
                ),
                pm(Metric::Pm25),
                "Mean of PM2.5 observations in the last 24 h; target the WHO 2021 24-hour \
                 guideline (15 µg/m³).",
            ),
            def(
                "env.pm10_daily_mean",
                "PM10, 24-hour mean",
                Environment,
                "µg/m³",
                false,
                (WHO_PM10_24H, 50.0, 100.0),
                Some("ISO 37120 Environment and climate change: particulate matter (PM10) concentration"),
                pm(Metric::Pm10),
                "Mean of PM10 observations in the last 24 h; target the WHO 2021 24-hour \
                 guideline (45 µg/m³).",
            ),
            def(
                "env.no2_daily_mean",
                "NO₂, 24-hour mean",
                Environment,
                "µg/m³",
                false,
                (WHO_NO2_24H, 50.0, 100.0),
                Some("ISO 37120 Environment and climate change: NO2 (nitrogen dioxide) concentration"),
                pm(Metric::No2),
                "Mean of NO₂ observations in the last 24 h; target the WHO 2021 24-hour \
                 guideline (25 µg/m³).",
            ),
            def(
                "env.noise_mean",
                "Noise level",
                Environment,
                "dB(A)",
                false,
                (WHO_ROAD_NOISE_DB, 60.0, 70.0),
                Some("ISO 37120 Environment and climate change: noise pollution"),
                pm(Metric::Noise),
                "Mean of noise observations in the last 24 h (arithmetic mean of dB values).",
            ),
            def(
                "env.green_ha_per_100k",
                "Green area per 100,000 residents",
                Environment,
                "ha per 100k",
                true,
                (500.0, 200.0, 50.0),
                Some("ISO 37120 Urban planning: green area (hectares) per 100 000 population"),
                Compute::GreenHaPer100k,
                "Area of green land-area polygons (each counted in the zone holding its \
                 centroid) in hectares per 100,000 estimated residents.",
            ),
            def(
                "env.renewable_share",
                "Renewable share of electricity",
                Environment,
                "%",
                true,
                (50.0, 30.0, 15.0),
                Some("ISO 37120 Energy: percentage of total energy derived from renewable sources"),
                Compute::FeedMean {
                    metric: Metric::RenewableShare,
                    scale: 100.0,
                },
                "Mean renewable share of the electricity load in the window, %.",
            ),
            def(
                "env.electricity_kw_per_resident",
                "Electricity load per resident",
                Environment,
                "kW/resident",
                false,
                (1.0, 1.5, 2.0),
                None,
                Compute::ElectricityPerResident,
                "Sum over metered subjects of their mean load in the window ÷ estimated \
                 residents (a city-wide meter is used city-wide instead when present).",
            ),
            def(
                "env.solar_roof_per_resident",
                "Roof area usable for solar per resident",
                Environment,
                "m²/resident",
                true,
                (10.0, 5.0, 2.0),
                None,
                Compute::SolarRoofPerResident,
                "Footprint area × usable-roof share (0.6: allowing for shading, equipment and \
                 setbacks) of buildings at least one storey high ÷ estimated residents.",
            ),
            // People.
            def(
                "people.population_density",
                "Population density (estimate)",
                People,
                "residents/km²",
                true,
                (10_000.0, 5_000.0, 2_000.0),
                None,
                Compute::PopulationDensity,
                "Estimated residents ÷ zone area. Residents = residential floor area ÷ m² per \
                 resident (scene setting, default 40 m²).",
            ),
            def(
                "people.school_access",
                "Residents within 800 m walk of a school",
                People,
                "%",
                true,
                (90.0, 75.0, 50.0),
                None,
                Compute::Access {
                    dest: dest::SCHOOL,
                    within_m: SERVICE_WALK_M,
                },
                "Share of estimated residents whose home reaches a school (POI or school \
                 building) within 800 m on the walk network.",
            ),
            def(
                "people.health_access",
                "Residents within 800 m walk of health care",
                People,
                "%",
                true,
                (90.0, 75.0, 50.0),
                None,
                Compute::Access {
                    dest: dest::HEALTH,
                    within_m: SERVICE_WALK_M,
                },
                "Share of estimated residents whose home reaches a clinic, doctor, hospital, \
                 dentist or pharmacy within 800 m on the walk network.",
            ),
            def(
                "people.culture_sport_per_100k",
                "Cultural and sporting facilities per 100,000 residents",
                People,
                "per 100k",
                true,
                (100.0, 50.0, 20.0),
                Some(
                    "ISO 37120 Sport and culture: cultural institutions and sporting facilities per 100 000 population",
                ),
                Compute::PoisPer {
                    pois: sels(CULTURE_SPORT_POIS),
                    per: 100_000.0,
                },
                "Libraries, theatres, cinemas, museums, galleries and sports facilities (POIs) \
                 per 100,000 estimated residents.",
            ),
            // Mobility.
            def(
                "mob.transit_access_400m",
                "Residents within 400 m walk of public transport",
                Mobility,
                "%",
                true,
                (90.0, 75.0, 50.0),
                None,
                Compute::Access {
                    dest: dest::TRANSIT,
                    within_m: TRANSIT_WALK_M,
                },
                "Share of estimated residents whose home reaches a public-transport stop \
                 within 400 m on the walk network (cf. UN SDG 11.2.1, which uses 500 m).",
            ),
            def(
                "mob.congestion_index",
                "Congestion index",
                Mobility,
                "%",
                false,
                (20.0, 35.0, 50.0),
                None,
                Compute::Congestion,
                "Extra travel time over free flow: Σ len/v ÷ Σ len/v_free − 1 over roads with \
                 speed observations; v_free = maxspeed, else a default per road class.",
            ),
            def(
                "mob.transit_delay_mean",
                "Mean transit delay",
                Mobility,
                "s",
                false,
                (60.0, 120.0, 300.0),
                None,
                pm(Metric::TransitDelay),
                "Mean delay of transit-vehicle observations in the window.",
            ),
            def(
                "mob.cycleway_km_per_100k",
                "Cycleways per 100,000 residents",
                Mobility,
                "km per 100k",
                true,
                (100.0, 50.0, 20.0),
                Some(
                    "ISO 37120 Transportation: kilometres of bicycle paths and lanes per 100 000 population",
                ),
                Compute::CyclewayKmPer100k,
                "Length of roads of class cycleway (each counted in the zone of its midpoint) \
                 per 100,000 estimated residents.",
            ),
            def(
                "mob.intersection_density",
                "Walk-network intersection density",
                Mobility,
                "per km²",
                true,
                (100.0, 50.0, 25.0),
                None,
                Compute::IntersectionDensity,
                "Walk-network nodes where three or more segments meet, per km² of zone area.",
            ),
            // Living.
            def(
                "live.fifteen_minute_city",
                "15-minute city score",
                Living,
                "%",
                true,
                (80.0, 60.0, 40.0),
                None,
                Compute::AllWithin {
                    dests: vec![dest::SCHOOL, dest::HEALTH, dest::GROCERY, dest::PARK],
                    within_m: fifteen_m,
                },
                "Share of estimated residents reaching a school, health care, a grocery and a \
                 park each within 15 minutes' walk (walk speed from the scene, default 4.8 km/h \
                 = 1,200 m) on the walk network.",
            ),
            def(
                "live.grocery_access_500m",
                "Residents within 500 m walk of a grocery",
                Living,
                "%",
                true,
                (90.0, 70.0, 50.0),
                None,
                Compute::Access {
                    dest: dest::GROCERY,
                    within_m: GROCERY_WALK_M,
                },
                "Share of estimated residents whose home reaches a grocery within 500 m on \
                 the walk network.",
            ),
            def(
                "live.park_access_300m",
                "Residents within 300 m walk of a park",
                Living,
                "%",
                true,
                (90.0, 70.0, 50.0),
                None,
                Compute::Access {
                    dest: dest::PARK,
                    within_m: PARK_WALK_M,
                },
                "Share of estimated residents whose home reaches a park (boundary vertex of a \
                 park, garden or playground area) within 300 m on the walk network (WHO Europe \
                 recommends green space within 300 m).",
            ),
            def(
                "live.floor_area_ratio",
                "Building density (floor-area ratio)",
                Living,
                "ratio",
                true,
                (1.0, 0.5, 0.2),
                None,
                Compute::FloorAreaRatio,
                "Gross floor area of all buildings ÷ zone area.",
            ),
        ];
        Catalogue { indicators, dests }
    }

    /// The default catalogue with a scene's overrides and extra indicators applied.
    /// Unknown override ids and duplicate extra ids are returned as problems (the rest
    /// still applies).
    pub fn from_config(cfg: &IndicatorConfig) -> (Catalogue, Vec<String>) {
        let mut c = Catalogue::default_catalogue(cfg);
        let mut problems = Vec::new();
        for x in &cfg.extra {
            if c.get(&x.id).is_some() {
                problems.push(format!("extra indicator '{}': the id is taken", x.id));
                continue;
            }
            let (compute, unit) = match &x.compute {
                CustomCompute::FeedMean(m) => (
                    Compute::FeedMean {
                        metric: *m,
                        scale: 1.0,
                    },
                    m.unit().to_string(),
                ),
                CustomCompute::Access { pois, within_m } => {
                    c.dests.push(DestSet {
                        name: x.id.clone(),
                        pois: pois.iter().map(|s| PoiSel::parse(s)).collect(),
                        building_uses: Vec::new(),
                        area_classes: Vec::new(),
                    });
                    (
                        Compute::Access {
                            dest: c.dests.len() - 1,
                            within_m: *within_m,
                        },
                        "%".to_string(),
                    )
                }
                CustomCompute::PoisPer100k(pois) => (
                    Compute::PoisPer {
                        pois: pois.iter().map(|s| PoiSel::parse(s)).collect(),
                        per: 100_000.0,
                    },
                    "per 100k".to_string(),
                ),
            };
            c.indicators.push(IndicatorDef {
                id: x.id.clone(),
                name: x.name.clone(),
                dimension: x.dimension,
                unit,
                method: format!("Defined by the scene: {:?}", x.compute),
                higher_is_better: x.higher_is_better,
                target: x.target,
                warning: x.warning,
                alarm: x.alarm,
                iso: x.iso.clone(),
                compute,
            });
        }
        for o in &cfg.overrides {
            match c.indicators.iter_mut().find(|d| d.id == o.id) {
                Some(d) => {
                    d.target = o.target.unwrap_or(d.target);
                    d.warning = o.warning.unwrap_or(d.warning);
                    d.alarm = o.alarm.unwrap_or(d.alarm);
                }
                None => problems.push(format!("override of unknown indicator '{}'", o.id)),
            }
        }
        for d in &c.indicators {
            let ordered = if d.higher_is_better {
                d.target >= d.warning && d.warning >= d.alarm
            } else {
                d.target <= d.warning && d.warning <= d.alarm
            };
            if !ordered {
                problems.push(format!(
                    "indicator '{}': target {}, warning {}, alarm {} are not in order",
                    d.id, d.target, d.warning, d.alarm
                ));
            }
        }
        (c, problems)
    }

    /// An indicator by id.
    pub fn get(&self, id: &str) -> Option<&IndicatorDef> {
        self.indicators.iter().find(|d| d.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_least_four_per_dimension_and_unique_ids() {
        let c = Catalogue::default_catalogue(&IndicatorConfig::default());
        assert!(c.indicators.len() >= 24);
        for d in Dimension::ALL {
            let n = c.indicators.iter().filter(|i| i.dimension == d).count();
            assert!(n >= 4, "{d:?} has {n}");
        }
        let mut ids: Vec<&str> = c.indicators.iter().map(|i| i.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), c.indicators.len());
        let (_, problems) = Catalogue::from_config(&IndicatorConfig::default());
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn overrides_and_extras_apply_and_bad_ones_are_reported() {
        let cfg: IndicatorConfig = ron::from_str(
            r#"(overrides: [(id: "env.pm25_daily_mean", target: Some(10.0)), (id: "nope", alarm: Some(1.0))],
                extra: [(id: "x.libraries", name: "Libraries", dimension: people, higher_is_better: true,
                         target: 10.0, warning: 5.0, alarm: 1.0,
                         compute: pois_per100k(["amenity=library"]))])"#,
        )
        .unwrap();
        let (c, problems) = Catalogue::from_config(&cfg);
        assert_eq!(c.get("env.pm25_daily_mean").unwrap().target, 10.0);
        assert_eq!(c.get("env.pm25_daily_mean").unwrap().warning, 25.0);
        assert!(c.get("x.libraries").is_some());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("nope"));
    }

    #[test]
    fn poi_selectors() {
        let p = Poi {
            layer: crate::twin::city::LayerId(0),
            source_id: 1,
            point: geo_types::Point::new(0.0, 0.0),
            category: "shop".into(),
            kind: "bakery".into(),
            name: None,
        };
        assert!(PoiSel::parse("shop=bakery").matches(&p));
        assert!(PoiSel::parse("shop=*").matches(&p));
        assert!(PoiSel::parse("bakery").matches(&p));
        assert!(!PoiSel::parse("amenity=bakery").matches(&p));
        assert!(!PoiSel::parse("shop=supermarket").matches(&p));
    }
}
