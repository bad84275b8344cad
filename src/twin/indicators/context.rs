//! The indicator context: what does not change between recomputes (zone index, walk
//! network, per-building facts, network distances to each destination set), and the
//! recompute itself: per-zone sums, then every indicator per zone and city-wide.
//! Edits (a building, the POIs, the roads) update only what they touch.

use std::collections::{BTreeMap, HashMap};

use geo::{Area, BoundingRect, Centroid, Intersects};
use geo_types::{MultiPolygon, Point};
use rayon::prelude::*;
use rstar::RTree;
use rstar::primitives::{GeomWithData, Rectangle};

use crate::twin::city::{BuildingId, CityModel, Road};
use crate::twin::feeds::provenance::{SourceKindMap, SourceKinds};
use crate::twin::feeds::{Metric, Observation, Subject, Timestamp};
use crate::twin::indicators::catalogue::{Base, Catalogue, Compute, DestSet};
use crate::twin::indicators::config::IndicatorConfig;
use crate::twin::indicators::feeds::{self, FeedWindow, free_flow_kmh};
use crate::twin::indicators::network::{UNREACHED, WalkNetwork};
use crate::twin::indicators::population::{BuildingFacts, building_facts};

/// Square metres in a km².
const M2_PER_KM2: f64 = 1.0e6;
/// Square metres in a hectare.
const M2_PER_HA: f64 = 1.0e4;
/// Road class counted as cycleway.
const CYCLEWAY_CLASS: &str = "cycleway";

/// Finds the zone holding a point.
#[derive(Debug, Clone)]
pub struct ZoneIndex {
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, u32>>,
    areas: Vec<MultiPolygon<f64>>,
}

impl ZoneIndex {
    /// Indexes zone polygons (index = zone id).
    pub fn new(areas: Vec<MultiPolygon<f64>>) -> ZoneIndex {
        let tree = RTree::bulk_load(
            areas
                .iter()
                .enumerate()
                .filter_map(|(i, a)| {
                    let r = a.bounding_rect()?;
                    Some(GeomWithData::new(
                        Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                        i as u32,
                    ))
                })
                .collect(),
        );
        ZoneIndex { tree, areas }
    }

    /// The zone holding `p` (the lowest id when on a shared edge).
    pub fn locate(&self, p: [f64; 2]) -> Option<u32> {
        if !(p[0].is_finite() && p[1].is_finite()) {
            return None;
        }
        let pt = Point::new(p[0], p[1]);
        self.tree
            .locate_all_at_point(&p)
            .filter(|z| self.areas[z.data as usize].intersects(&pt))
            .map(|z| z.data)
            .min()
    }
}

/// External inputs of a recompute beyond the city model.
#[derive(Debug, Clone)]
pub struct FeedInputs {
    /// The observations of the last 24 h.
    pub window: FeedWindow,
    /// Where sensors are, scene CRS, by sensor id.
    pub sensors: HashMap<String, [f64; 2]>,
    /// The kind of each feed (live, replay, simulated), by feed name.
    pub kinds: SourceKindMap,
}

impl FeedInputs {
    /// No feeds at `at`.
    pub fn none(at: Timestamp) -> FeedInputs {
        FeedInputs {
            window: FeedWindow::empty(at),
            sensors: HashMap::new(),
            kinds: SourceKindMap::default(),
        }
    }
}

/// Additive quantities of one zone (or of what lies in no zone); city-wide totals are
/// their sums.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sums {
    /// Buildings.
    pub buildings: usize,
    /// Estimated residents.
    pub residents: f64,
    /// Gross floor area, m².
    pub floor_m2: f64,
    /// Residential floor area, m².
    pub residential_m2: f64,
    /// Commercial floor area, m².
    pub commercial_m2: f64,
    /// Floor area of a known use, m².
    pub known_use_m2: f64,
    /// Roof area usable for solar, m².
    pub roof_solar_m2: f64,
    /// Green land area, m².
    pub green_m2: f64,
    /// Zone area, m².
    pub area_m2: f64,
    /// Cycleway length, m.
    pub cycleway_m: f64,
    /// Walk-network intersections.
    pub intersections: f64,
    /// Roads (by their midpoint).
    pub roads: usize,
    /// POIs.
    pub pois: usize,
    /// Residents reaching the destinations of each access indicator (by catalogue index).
    pub reached: HashMap<usize, f64>,
    /// POIs matching each POI-count indicator (by catalogue index).
    pub poi_matches: HashMap<usize, f64>,
    /// POIs by kind ("category=kind").
    pub poi_kinds: BTreeMap<String, f64>,
}

impl Sums {
    fn add(&mut self, o: &Sums) {
        self.buildings += o.buildings;
        self.residents += o.residents;
        self.floor_m2 += o.floor_m2;
        self.residential_m2 += o.residential_m2;
        self.commercial_m2 += o.commercial_m2;
        self.known_use_m2 += o.known_use_m2;
        self.roof_solar_m2 += o.roof_solar_m2;
        self.green_m2 += o.green_m2;
        self.area_m2 += o.area_m2;
        self.cycleway_m += o.cycleway_m;
        self.intersections += o.intersections;
        self.roads += o.roads;
        self.pois += o.pois;
        for (k, v) in &o.reached {
            *self.reached.entry(*k).or_default() += v;
        }
        for (k, v) in &o.poi_matches {
            *self.poi_matches.entry(*k).or_default() += v;
        }
        for (k, v) in &o.poi_kinds {
            *self.poi_kinds.entry(k.clone()).or_default() += v;
        }
    }
}

/// One computed value and the newest observation behind it (feed indicators).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Value {
    /// The value; `None` when there is no data.
    pub value: Option<f64>,
    /// Newest observation used (feed indicators only).
    pub newest: Option<Timestamp>,
    /// Whether the place holds the indicator's base ([`Base`]); a value that does not
    /// apply is `None` and evaluates as not applicable.
    pub applicable: bool,
    /// The kinds of feed behind the value (empty for values from the city model alone).
    pub sources: SourceKinds,
}

/// Every indicator computed per zone and city-wide, aligned with the catalogue.
#[derive(Debug, Clone)]
pub struct Computed {
    /// Evaluation time.
    pub at: Timestamp,
    /// City-wide values, by catalogue index.
    pub city: Vec<Value>,
    /// Per zone (by zone id), values by catalogue index.
    pub zones: Vec<Vec<Value>>,
    /// City-wide sums (= Σ zones + unzoned).
    pub city_sums: Sums,
    /// Per-zone sums.
    pub zone_sums: Vec<Sums>,
    /// What lies in no zone.
    pub unzoned: Sums,
    /// Observations whose location is unknown (e.g. a sensor missing from the map):
    /// they count city-wide only.
    pub unlocated_observations: usize,
}

/// The precomputed state of the indicators for one city.
#[derive(Debug, Clone)]
pub struct IndicatorContext {
    /// The catalogue (defaults with the scene's overrides).
    pub catalogue: Catalogue,
    /// Scene settings.
    pub config: IndicatorConfig,
    /// Problems with the configuration (unknown override ids, ...).
    pub problems: Vec<String>,
    /// Zone names, by zone id.
    pub zone_names: Vec<String>,
    /// Whether each zone is a cell of a generated grid (not a district from data).
    pub zone_generated: Vec<bool>,
    zones: ZoneIndex,
    zone_area_m2: Vec<f64>,
    /// The walk network.
    pub network: WalkNetwork,
    /// Per-building facts, by building id.
    pub buildings: Vec<BuildingFacts>,
    /// Per destination set: network distance from every node to the nearest destination.
    dest_dist: Vec<Vec<f32>>,
    /// Destinations found per set.
    pub dest_counts: Vec<usize>,
    cutoff_m: f64,
    dest_building: Vec<bool>,
    poi_zone: Vec<Option<u32>>,
    road_zone: Vec<Option<u32>>,
    road_len_free: Vec<(f64, f64)>,
    green_by_zone: Vec<f64>,
    green_unzoned: f64,
    cycle_by_zone: Vec<f64>,
    cycle_unzoned: f64,
    inter_by_zone: Vec<f64>,
    inter_unzoned: f64,
}

/// Whether both coordinates are finite (a demolished building's centroid is not).
fn finite(p: [f64; 2]) -> bool {
    p[0].is_finite() && p[1].is_finite()
}

fn line_len(r: &Road) -> f64 {
    r.line
        .0
        .windows(2)
        .map(|w| ((w[1].x - w[0].x).powi(2) + (w[1].y - w[0].y).powi(2)).sqrt())
        .sum()
}

fn road_mid(r: &Road) -> [f64; 2] {
    let total = line_len(r);
    let mut acc = 0.0;
    for w in r.line.0.windows(2) {
        let l = ((w[1].x - w[0].x).powi(2) + (w[1].y - w[0].y).powi(2)).sqrt();
        if acc + l >= total / 2.0 && l > 0.0 {
            let t = (total / 2.0 - acc) / l;
            return [w[0].x + t * (w[1].x - w[0].x), w[0].y + t * (w[1].y - w[0].y)];
        }
        acc += l;
    }
    r.line.0.first().map_or([f64::NAN; 2], |c| [c.x, c.y])
}

impl IndicatorContext {
    /// Precomputes everything static for a city.
    pub fn new(city: &CityModel, config: &IndicatorConfig) -> IndicatorContext {
        let (catalogue, mut problems) = Catalogue::from_config(config);
        if let Err(e) = config.validate() {
            problems.push(e);
        }
        let zones = ZoneIndex::new(city.zones.iter().map(|z| z.area.clone()).collect());
        let cutoff_m = catalogue
            .indicators
            .iter()
            .filter_map(|d| match &d.compute {
                Compute::Access { within_m, .. } | Compute::AllWithin { within_m, .. } => Some(*within_m),
                _ => None,
            })
            .fold(0.0, f64::max);
        let mut ctx = IndicatorContext {
            catalogue,
            config: config.clone(),
            problems,
            zone_names: city.zones.iter().map(|z| z.name.clone()).collect(),
            zone_generated: city.zones.iter().map(|z| z.generated).collect(),
            zone_area_m2: city.zones.iter().map(|z| z.area.unsigned_area()).collect(),
            zones,
            network: WalkNetwork::build(&[], config.snap_m),
            buildings: Vec::new(),
            dest_dist: Vec::new(),
            dest_counts: Vec::new(),
            cutoff_m,
            dest_building: Vec::new(),
            poi_zone: Vec::new(),
            road_zone: Vec::new(),
            road_len_free: Vec::new(),
            green_by_zone: vec![0.0; city.zones.len()],
            green_unzoned: 0.0,
            cycle_by_zone: Vec::new(),
            cycle_unzoned: 0.0,
            inter_by_zone: Vec::new(),
            inter_unzoned: 0.0,
        };
        let cfg = &ctx.config;
        let zi = &ctx.zones;
        ctx.buildings = city
            .buildings
            .par_iter()
            .map(|b| {
                let mut f = building_facts(b, cfg);
                f.zone = zi.locate(f.centroid);
                f
            })
            .collect();
        ctx.dest_building = city.buildings.iter().map(|b| ctx.is_dest_use(&b.usage)).collect();
        ctx.add_green(city);
        ctx.refresh_roads(city);
        ctx
    }

    /// Rebuilds the walk network and everything on it after roads changed.
    pub fn refresh_roads(&mut self, city: &CityModel) {
        self.network = WalkNetwork::build(&city.roads, self.config.snap_m);
        let nz = self.zone_names.len();
        self.refresh_road_attributes(city);
        self.inter_by_zone = vec![0.0; nz];
        self.inter_unzoned = 0.0;
        let inter: Vec<[f64; 2]> = self.network.intersections().collect();
        for p in inter {
            match self.zones.locate(p) {
                Some(z) => self.inter_by_zone[z as usize] += 1.0,
                None => self.inter_unzoned += 1.0,
            }
        }
        let net = &self.network;
        self.buildings
            .par_iter_mut()
            .for_each(|f| f.node = finite(f.centroid).then(|| net.nearest(f.centroid)).flatten());
        self.refresh_pois(city);
    }

    /// Recomputes POI zones and the distances to every destination set after POIs (or
    /// destination buildings, or parks) changed.
    pub fn refresh_pois(&mut self, city: &CityModel) {
        self.poi_zone = city
            .pois
            .iter()
            .map(|p| self.zones.locate([p.point.x(), p.point.y()]))
            .collect();
        let results: Vec<(Vec<f32>, usize)> = self
            .catalogue
            .dests
            .par_iter()
            .map(|d| {
                let sources = self.sources(city, d);
                (
                    self.network.distances_from(&sources, self.cutoff_m),
                    sources.len(),
                )
            })
            .collect();
        (self.dest_dist, self.dest_counts) = results.into_iter().unzip();
    }

    fn sources(&self, city: &CityModel, d: &DestSet) -> Vec<(u32, f64)> {
        let mut s = Vec::new();
        for p in &city.pois {
            if d.pois.iter().any(|sel| sel.matches(p))
                && let Some(n) = self.network.nearest([p.point.x(), p.point.y()])
            {
                s.push(n);
            }
        }
        if !d.building_uses.is_empty() {
            for (b, f) in city.buildings.iter().zip(&self.buildings) {
                if d.building_uses.contains(&b.usage)
                    && let Some(n) = f.node
                {
                    s.push(n);
                }
            }
        }
        if !d.area_classes.is_empty() {
            for a in &city.areas {
                if !d.area_classes.contains(&a.class) {
                    continue;
                }
                for poly in &a.area.0 {
                    for c in &poly.exterior().0 {
                        if let Some(n) = self.network.nearest([c.x, c.y]) {
                            s.push(n);
                        }
                    }
                }
            }
        }
        s
    }

    /// Updates one building after it changed (or was appended to the model).
    pub fn update_building(&mut self, city: &CityModel, id: BuildingId) {
        let i = id.0 as usize;
        let Some(b) = city.buildings.get(i) else {
            return;
        };
        let was_dest = self.dest_building.get(i).copied().unwrap_or(false);
        let mut f = building_facts(b, &self.config);
        f.zone = self.zones.locate(f.centroid);
        f.node = self.network.nearest(f.centroid);
        if i < self.buildings.len() {
            self.buildings[i] = f;
        } else {
            self.buildings.resize(i, BuildingFacts::default());
            self.buildings.push(f);
        }
        let is_dest = self.is_dest_use(&b.usage);
        self.dest_building.resize(self.buildings.len(), false);
        self.dest_building[i] = is_dest;
        if is_dest || was_dest {
            self.refresh_pois(city);
        }
    }

    /// Updates several buildings after they changed or were appended (ids past the end of
    /// the facts are appended); the destination sets with building uses are recomputed
    /// once, and only when one of the buildings is or was a destination.
    pub fn update_buildings(&mut self, city: &CityModel, ids: &[BuildingId]) {
        let mut dest_changed = false;
        for id in ids {
            let i = id.0 as usize;
            let Some(b) = city.buildings.get(i) else {
                continue;
            };
            let was_dest = self.dest_building.get(i).copied().unwrap_or(false);
            let mut f = building_facts(b, &self.config);
            f.zone = self.zones.locate(f.centroid);
            f.node = finite(f.centroid)
                .then(|| self.network.nearest(f.centroid))
                .flatten();
            if i >= self.buildings.len() {
                self.buildings.resize(i + 1, BuildingFacts::default());
            }
            self.buildings[i] = f;
            let is_dest = self.is_dest_use(&b.usage);
            self.dest_building.resize(self.buildings.len(), false);
            self.dest_building[i] = is_dest;
            dest_changed |= is_dest || was_dest;
        }
        if dest_changed {
            let sets: Vec<usize> = (0..self.catalogue.dests.len())
                .filter(|d| !self.catalogue.dests[*d].building_uses.is_empty())
                .collect();
            self.refresh_dests(city, &sets);
        }
    }

    /// Drops the facts of buildings past the end of the model (after its building list was
    /// truncated), recomputing the destination sets with building uses if one was a
    /// destination.
    pub fn truncate_buildings(&mut self, city: &CityModel) {
        let n = city.buildings.len();
        let was_dest = self.dest_building.iter().skip(n).any(|d| *d);
        self.buildings.truncate(n);
        self.dest_building.truncate(n);
        if was_dest {
            let sets: Vec<usize> = (0..self.catalogue.dests.len())
                .filter(|d| !self.catalogue.dests[*d].building_uses.is_empty())
                .collect();
            self.refresh_dests(city, &sets);
        }
    }

    /// Recomputes POI zones and the distances of some destination sets from scratch.
    pub fn refresh_dests(&mut self, city: &CityModel, sets: &[usize]) {
        self.poi_zone = city
            .pois
            .iter()
            .map(|p| self.zones.locate([p.point.x(), p.point.y()]))
            .collect();
        let results: Vec<(usize, Vec<f32>, usize)> = sets
            .par_iter()
            .filter(|d| **d < self.catalogue.dests.len())
            .map(|d| {
                let sources = self.sources(city, &self.catalogue.dests[*d]);
                (
                    *d,
                    self.network.distances_from(&sources, self.cutoff_m),
                    sources.len(),
                )
            })
            .collect();
        for (d, dist, n) in results {
            self.dest_dist[d] = dist;
            self.dest_counts[d] = n;
        }
    }

    /// Lowers the distances of destination set `d` with new destinations at `points`: a
    /// Dijkstra from the new points only, bounded by the cut-off, merged by minimum (adding
    /// destinations can only bring them closer).
    fn add_dest_points(&mut self, d: usize, points: &[[f64; 2]]) {
        let sources: Vec<(u32, f64)> = points.iter().filter_map(|p| self.network.nearest(*p)).collect();
        if sources.is_empty() || d >= self.dest_dist.len() {
            return;
        }
        let fresh = self.network.distances_from(&sources, self.cutoff_m);
        for (old, new) in self.dest_dist[d].iter_mut().zip(fresh) {
            if new < *old {
                *old = new;
            }
        }
        self.dest_counts[d] += sources.len();
    }

    /// Takes in POIs appended to the model from index `from` on: their zones, and the
    /// distances of the destination sets they belong to, lowered incrementally.
    pub fn add_pois(&mut self, city: &CityModel, from: usize) {
        self.poi_zone.truncate(from);
        for p in city.pois.iter().skip(from) {
            let z = self.zones.locate([p.point.x(), p.point.y()]);
            self.poi_zone.push(z);
        }
        for d in 0..self.catalogue.dests.len() {
            let pts: Vec<[f64; 2]> = city
                .pois
                .iter()
                .skip(from)
                .filter(|p| self.catalogue.dests[d].pois.iter().any(|s| s.matches(p)))
                .map(|p| [p.point.x(), p.point.y()])
                .collect();
            self.add_dest_points(d, &pts);
        }
    }

    /// Takes in land areas appended to the model from index `from` on: green sums, and the
    /// distances of the destination sets of their classes, lowered incrementally.
    pub fn add_areas(&mut self, city: &CityModel, from: usize) {
        for a in city.areas.iter().skip(from) {
            if a.kind == crate::twin::gis::layer::LayerKind::Green {
                let m2 = a.area.unsigned_area();
                match a.area.centroid().and_then(|c| self.zones.locate([c.x(), c.y()])) {
                    Some(z) => self.green_by_zone[z as usize] += m2,
                    None => self.green_unzoned += m2,
                }
            }
        }
        for d in 0..self.catalogue.dests.len() {
            let pts: Vec<[f64; 2]> = city
                .areas
                .iter()
                .skip(from)
                .filter(|a| self.catalogue.dests[d].area_classes.contains(&a.class))
                .flat_map(|a| {
                    a.area
                        .0
                        .iter()
                        .flat_map(|p| p.exterior().0.iter().map(|c| [c.x, c.y]))
                })
                .collect();
            self.add_dest_points(d, &pts);
        }
    }

    /// Recomputes the green sums and the destination sets with area classes from scratch
    /// (after land areas were removed or changed).
    pub fn refresh_areas(&mut self, city: &CityModel) {
        self.green_by_zone = vec![0.0; self.zone_names.len()];
        self.green_unzoned = 0.0;
        self.add_green(city);
        let sets: Vec<usize> = (0..self.catalogue.dests.len())
            .filter(|d| !self.catalogue.dests[*d].area_classes.is_empty())
            .collect();
        self.refresh_dests(city, &sets);
    }

    fn add_green(&mut self, city: &CityModel) {
        for a in &city.areas {
            if a.kind != crate::twin::gis::layer::LayerKind::Green {
                continue;
            }
            let m2 = a.area.unsigned_area();
            match a.area.centroid().and_then(|c| self.zones.locate([c.x(), c.y()])) {
                Some(z) => self.green_by_zone[z as usize] += m2,
                None => self.green_unzoned += m2,
            }
        }
    }

    /// Recomputes what hangs on road attributes (zones, lengths, free-flow speeds, cycleway
    /// sums) after roads changed class or speed or were appended, keeping the walk network
    /// (use [`IndicatorContext::refresh_roads`] when walkable geometry changed).
    pub fn refresh_road_attributes(&mut self, city: &CityModel) {
        let nz = self.zone_names.len();
        self.road_zone = city
            .roads
            .iter()
            .map(|r| self.zones.locate(road_mid(r)))
            .collect();
        self.road_len_free = city
            .roads
            .iter()
            .map(|r| (line_len(r), free_flow_kmh(r)))
            .collect();
        self.cycle_by_zone = vec![0.0; nz];
        self.cycle_unzoned = 0.0;
        for (i, r) in city.roads.iter().enumerate() {
            if r.class == CYCLEWAY_CLASS {
                match self.road_zone[i] {
                    Some(z) => self.cycle_by_zone[z as usize] += self.road_len_free[i].0,
                    None => self.cycle_unzoned += self.road_len_free[i].0,
                }
            }
        }
    }

    /// The zone holding a point (scene CRS).
    pub fn zone_at(&self, p: [f64; 2]) -> Option<u32> {
        self.zones.locate(p)
    }

    fn is_dest_use(&self, usage: &str) -> bool {
        self.catalogue
            .dests
            .iter()
            .any(|d| d.building_uses.iter().any(|x| x == usage))
    }

    /// Network distance from a building's home to the nearest destination of a set.
    pub fn home_distance(&self, building: usize, dest: usize) -> Option<f64> {
        let (n, attach) = self.buildings.get(building)?.node?;
        let d = *self.dest_dist.get(dest)?.get(n as usize)?;
        (d != UNREACHED).then_some(attach + d as f64)
    }

    /// The sums of every zone and of what lies in no zone.
    pub fn sums(&self, city: &CityModel) -> (Vec<Sums>, Sums) {
        let nz = self.zone_names.len();
        let mut zones: Vec<Sums> = (0..nz)
            .map(|z| Sums {
                area_m2: self.zone_area_m2[z],
                green_m2: self.green_by_zone[z],
                cycleway_m: self.cycle_by_zone[z],
                intersections: self.inter_by_zone[z],
                ..Default::default()
            })
            .collect();
        let mut out = Sums {
            green_m2: self.green_unzoned,
            cycleway_m: self.cycle_unzoned,
            intersections: self.inter_unzoned,
            ..Default::default()
        };
        let access: Vec<(usize, Vec<usize>, f64)> = self
            .catalogue
            .indicators
            .iter()
            .enumerate()
            .filter_map(|(k, d)| match &d.compute {
                Compute::Access { dest, within_m } => Some((k, vec![*dest], *within_m)),
                Compute::AllWithin { dests, within_m } => Some((k, dests.clone(), *within_m)),
                _ => None,
            })
            .collect();
        for (i, f) in self.buildings.iter().enumerate() {
            let s = match f.zone {
                Some(z) => &mut zones[z as usize],
                None => &mut out,
            };
            s.buildings += 1;
            s.residents += f.residents;
            s.floor_m2 += f.floor_m2;
            s.residential_m2 += f.residential_m2;
            s.commercial_m2 += f.commercial_m2;
            s.known_use_m2 += f.known_use_m2;
            s.roof_solar_m2 += f.roof_solar_m2;
            if f.residents > 0.0 {
                for (k, dests, within) in &access {
                    let ok = dests
                        .iter()
                        .all(|d| self.home_distance(i, *d).is_some_and(|x| x <= *within));
                    if ok {
                        *s.reached.entry(*k).or_default() += f.residents;
                    }
                }
            }
        }
        for z in &self.road_zone {
            match z {
                Some(z) => zones[*z as usize].roads += 1,
                None => out.roads += 1,
            }
        }
        let counts: Vec<(usize, &Vec<_>)> = self
            .catalogue
            .indicators
            .iter()
            .enumerate()
            .filter_map(|(k, d)| match &d.compute {
                Compute::PoisPer { pois, .. } => Some((k, pois)),
                _ => None,
            })
            .collect();
        for (p, z) in city.pois.iter().zip(&self.poi_zone) {
            let s = match z {
                Some(z) => &mut zones[*z as usize],
                None => &mut out,
            };
            s.pois += 1;
            *s.poi_kinds
                .entry(format!("{}={}", p.category, p.kind))
                .or_default() += 1.0;
            for (k, sels) in &counts {
                if sels.iter().any(|sel| sel.matches(p)) {
                    *s.poi_matches.entry(*k).or_default() += 1.0;
                }
            }
        }
        (zones, out)
    }

    /// Where an observation is: `Some(zone)`, `None` city-wide only; `Err` when its
    /// location is unknown.
    fn locate_obs(&self, o: &Observation, sensors: &HashMap<String, [f64; 2]>) -> Result<Option<u32>, ()> {
        match &o.subject {
            Subject::City => Ok(None),
            Subject::Zone(z) => ((z.0 as usize) < self.zone_names.len())
                .then_some(Some(z.0))
                .ok_or(()),
            Subject::Road(r) => self.road_zone.get(r.0 as usize).copied().ok_or(()),
            Subject::Building(b) => self.buildings.get(b.0 as usize).map(|f| f.zone).ok_or(()),
            Subject::Point { x, y } => Ok(self.zones.locate([*x, *y])),
            Subject::Sensor(s) => sensors.get(s).map(|p| self.zones.locate(*p)).ok_or(()),
        }
    }

    /// Recomputes every indicator per zone and city-wide.
    pub fn compute(&self, city: &CityModel, feeds: &FeedInputs) -> Computed {
        let (zone_sums, unzoned) = self.sums(city);
        let mut city_sums = unzoned.clone();
        for z in &zone_sums {
            city_sums.add(z);
        }
        let nz = zone_sums.len();
        let mut by_zone: Vec<Vec<&Observation>> = vec![Vec::new(); nz];
        let mut unlocated = 0;
        for o in &feeds.window.observations {
            match self.locate_obs(o, &feeds.sensors) {
                Ok(Some(z)) => by_zone[z as usize].push(o),
                Ok(None) => {}
                Err(()) => unlocated += 1,
            }
        }
        let all: Vec<&Observation> = feeds.window.observations.iter().collect();
        let covered = by_zone.iter().filter(|v| !v.is_empty()).count();
        let newest = all.iter().map(|o| o.time).max();
        let city_kinds = MetricKinds::of(&all, &feeds.kinds);
        let city = (0..self.catalogue.indicators.len())
            .map(|k| self.value(k, &city_sums, &all, None, &city_kinds, (covered, nz, newest)))
            .collect();
        let zones = zone_sums
            .iter()
            .zip(&by_zone)
            .enumerate()
            .map(|(z, (s, obs))| {
                let cov = (usize::from(!obs.is_empty()), 1, newest);
                let kinds = MetricKinds::of(obs, &feeds.kinds);
                (0..self.catalogue.indicators.len())
                    .map(|k| self.value(k, s, obs, Some((z, &kinds)), &kinds, cov))
                    .collect()
            })
            .collect();
        Computed {
            at: feeds.window.at,
            city,
            zones,
            city_sums,
            zone_sums,
            unzoned,
            unlocated_observations: unlocated,
        }
    }

    /// Whether a zone with these sums and observation kinds holds a base ([`Base`]).
    fn applies(&self, base: Base, z: usize, s: &Sums, kinds: &MetricKinds, metrics: &[Metric]) -> bool {
        let cfg = &self.config;
        let residents = s.residents >= cfg.min_zone_residents && s.residents > 0.0;
        match base {
            Base::Residents => residents,
            Base::DistrictResidents => residents && !self.zone_generated.get(z).copied().unwrap_or(true),
            Base::FloorArea => s.floor_m2 >= cfg.min_zone_floor_m2 && s.floor_m2 > 0.0,
            Base::KnownUseFloorArea => {
                s.floor_m2 >= cfg.min_zone_floor_m2
                    && s.floor_m2 > 0.0
                    && s.known_use_m2 >= cfg.min_known_use_share * s.floor_m2
            }
            Base::Pois => s.pois >= cfg.min_zone_pois.max(1),
            Base::Roads => s.roads > 0,
            Base::Sensor => !kinds.of_metrics(metrics).is_empty(),
            Base::CityWide => false,
        }
    }

    /// One indicator from a scope's sums and observations. `zone` is the zone's
    /// observation kinds by metric (`None` city-wide, where every indicator applies);
    /// `kinds` those of the scope; `cov` is (zones covered, zones, newest observation of
    /// the whole window) for the coverage indicator.
    fn value(
        &self,
        k: usize,
        s: &Sums,
        obs: &[&Observation],
        zone: Option<(usize, &MetricKinds)>,
        kinds: &MetricKinds,
        cov: (usize, usize, Option<Timestamp>),
    ) -> Value {
        let city_wide = zone.is_none();
        let compute = &self.catalogue.indicators[k].compute;
        if let Some((z, zk)) = zone
            && !self.applies(compute.base(), z, s, zk, compute.metrics())
        {
            return Value {
                value: None,
                newest: None,
                applicable: false,
                sources: SourceKinds::NONE,
            };
        }
        let sources = kinds.of_metrics(compute.metrics());
        let per = |x: f64, n: f64| (s.residents > 0.0).then(|| x / s.residents * n);
        let area = |x: f64| (s.area_m2 > 0.0).then(|| x / s.area_m2);
        let it = obs.iter().copied();
        let gis = |v: Option<f64>| Value {
            value: v,
            newest: None,
            applicable: true,
            sources,
        };
        let feed = |(v, t): feeds::FeedValue| Value {
            value: v,
            newest: t,
            applicable: true,
            sources,
        };
        match compute {
            Compute::Access { .. } | Compute::AllWithin { .. } => {
                gis(per(s.reached.get(&k).copied().unwrap_or(0.0), 100.0))
            }
            Compute::PopulationDensity => gis(area(s.residents * M2_PER_KM2)),
            Compute::FloorAreaRatio => gis(area(s.floor_m2)),
            Compute::GreenHaPer100k => gis(per(s.green_m2 / M2_PER_HA, 100_000.0)),
            Compute::SolarRoofPerResident => gis(per(s.roof_solar_m2, 1.0)),
            Compute::CommercialFloorShare => {
                gis((s.floor_m2 > 0.0).then(|| s.commercial_m2 / s.floor_m2 * 100.0))
            }
            Compute::NonResidentialFloorPerResident => gis(per(s.floor_m2 - s.residential_m2, 1.0)),
            Compute::PoiDiversity => {
                let n: f64 = s.poi_kinds.values().sum();
                let h: f64 = s
                    .poi_kinds
                    .values()
                    .map(|c| {
                        let p = c / n;
                        -p * p.ln()
                    })
                    .sum();
                gis((n > 0.0).then_some(h.max(0.0)))
            }
            Compute::PoisPer { per: n, .. } => gis(per(s.poi_matches.get(&k).copied().unwrap_or(0.0), *n)),
            Compute::CyclewayKmPer100k => gis(per(s.cycleway_m / 1000.0, 100_000.0)),
            Compute::IntersectionDensity => gis(area(s.intersections * M2_PER_KM2)),
            Compute::FeedMean { metric, scale } => feed(feeds::mean(it, *metric, *scale)),
            Compute::Congestion => feed(feeds::congestion(it, |r| {
                self.road_len_free.get(r as usize).copied()
            })),
            Compute::OpenRequestsPer10k => {
                let (n, t) = feeds::open_requests(it);
                feed((t.and_then(|_| per(n as f64, 10_000.0)), t))
            }
            Compute::CloseMedianH => feed(feeds::close_median_h(it)),
            Compute::ElectricityPerResident => {
                let (kw, t) = feeds::electricity_kw(it, city_wide);
                feed((kw.and_then(|kw| per(kw, 1.0)), t))
            }
            Compute::FeedCoverage => feed((
                (cov.1 > 0 && cov.2.is_some()).then(|| cov.0 as f64 / cov.1 as f64 * 100.0),
                cov.2,
            )),
        }
    }
}

/// The feed kinds of a scope's observations, by metric (in [`Metric::ALL`] order): one
/// pass over the observations serves every indicator of the scope.
#[derive(Debug, Clone, Default)]
struct MetricKinds([SourceKinds; Metric::ALL.len()]);

impl MetricKinds {
    fn of(obs: &[&Observation], map: &SourceKindMap) -> MetricKinds {
        let mut out = MetricKinds::default();
        for o in obs {
            if let Some(i) = Metric::ALL.iter().position(|m| *m == o.metric) {
                out.0[i].insert(map.kind(&o.source));
            }
        }
        out
    }

    /// The kinds behind observations of any of `metrics`.
    fn of_metrics(&self, metrics: &[Metric]) -> SourceKinds {
        metrics
            .iter()
            .filter_map(|m| Metric::ALL.iter().position(|x| x == m))
            .fold(SourceKinds::NONE, |acc, i| acc.union(self.0[i]))
    }
}
