//! The built-in city simulator: deterministic from a seed and shaped by the city's real
//! layers. Rush-hour speeds and flows on the real roads by class, air quality at a few
//! sensors that follows nearby traffic and the wind, noise, electricity load per zone from
//! floor area and a daily curve, the renewable share, service requests opened at homes and
//! closed later, transit vehicles moving along main roads, and sentiment per zone that drops
//! while requests stay open. Runs on a thread at any speed, or generates a time range at once.

use std::time::{Duration, Instant};

use geo::{BoundingRect, Centroid, Contains, Distance, Euclidean, InterpolateLine, Length};
use geo_types::Point;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::twin::city::{BuildingId, CityModel, RoadId, ZoneId};
use crate::twin::feeds::observation::{Metric, Observation, Quality, SourceId, Subject, Timestamp};
use crate::twin::feeds::source::{FeedEvent, FeedSender, FeedSource, StopFlag};
use crate::twin::feeds::spec::SimulatorSpec;
use crate::twin::feeds::timefmt::parse_rfc3339;

/// Storey height used to turn building heights into floor area, metres.
const STOREY_M: f64 = 3.2;
/// Average electric load per m² of floor, kW.
const LOAD_KW_PER_M2: f64 = 0.012;
/// Residential floor area per service request per day, m².
const M2_PER_REQUEST_DAY: f64 = 20_000.0;
/// Fewest service requests per day when the city has homes.
const MIN_REQUESTS_PER_DAY: f64 = 5.0;
/// Radius within which a sensor feels a road's traffic, metres.
const SENSOR_RADIUS_M: f64 = 400.0;
/// Smallest spacing of air-quality sensors, metres.
const SENSOR_SPACING_M: f64 = 200.0;
/// A request open longer than this weighs on its zone's sentiment, hours.
const LONG_OPEN_H: f64 = 48.0;
/// Sentiment is reported every this many ms of simulated time.
const SENTIMENT_EVERY_MS: i64 = 15 * 60 * 1_000;
/// Largest batch sent over the channel.
const BATCH_MAX: usize = 4_096;
/// Transit vehicle cruising speed, km/h.
const VEHICLE_KMH: f64 = 22.0;

/// Service request categories and their median time to close, hours.
pub const REQUEST_CATEGORIES: [(&str, f64); 6] = [
    ("pothole", 72.0),
    ("streetlight", 48.0),
    ("litter", 12.0),
    ("noise", 6.0),
    ("graffiti", 96.0),
    ("snow", 24.0),
];

/// Per road class: free-flow speed (km/h) when no limit is known, capacity per lane
/// (veh/h), largest fraction of speed lost at full demand, and rank (main roads first).
fn class_params(class: &str) -> Option<(f64, f64, f64, u8)> {
    let base = class.strip_suffix("_link").unwrap_or(class);
    Some(match base {
        "motorway" => (100.0, 1_800.0, 0.55, 0),
        "trunk" => (70.0, 1_500.0, 0.55, 1),
        "primary" => (50.0, 1_000.0, 0.6, 2),
        "secondary" => (40.0, 800.0, 0.5, 3),
        "tertiary" => (40.0, 600.0, 0.4, 4),
        "unclassified" => (30.0, 300.0, 0.25, 5),
        "residential" => (30.0, 300.0, 0.2, 6),
        "living_street" => (20.0, 150.0, 0.1, 7),
        "service" => (20.0, 150.0, 0.1, 8),
        _ => return None,
    })
}

/// A Gaussian bump on the 24-hour circle.
fn bump(h: f64, mu: f64, sigma: f64) -> f64 {
    let d = (h - mu).rem_euclid(24.0);
    let d = d.min(24.0 - d);
    (-0.5 * (d / sigma).powi(2)).exp()
}

/// Traffic demand 0–1 by local hour and weekday: morning and evening peaks on weekdays.
pub fn traffic_demand(hour: f64, weekend: bool) -> f64 {
    let d = if weekend {
        0.12 + 0.55 * bump(hour, 13.5, 3.5)
    } else {
        0.1 + 0.9 * bump(hour, 8.0, 1.1) + 0.85 * bump(hour, 16.5, 1.4) + 0.4 * bump(hour, 12.5, 2.5)
    };
    d.clamp(0.0, 1.0)
}

/// Fraction of free-flow speed on a road of congestion sensitivity `sens` at `demand`.
pub fn speed_fraction(demand: f64, sens: f64) -> f64 {
    (1.0 - sens * demand * demand).clamp(0.05, 1.0)
}

/// Electric load curve 0–1 by local hour for a residential share `res` of floor area.
fn load_curve(hour: f64, res: f64, weekend: bool) -> f64 {
    let home = 0.45 + 0.25 * bump(hour, 7.5, 1.2) + 0.5 * bump(hour, 19.0, 2.0);
    let work = if weekend {
        0.35
    } else {
        0.3 + 0.7 * bump(hour, 12.5, 3.5)
    };
    res * home + (1.0 - res) * work
}

#[derive(Debug, Clone)]
struct SimRoad {
    id: RoadId,
    free_kmh: f64,
    capacity: f64,
    sens: f64,
}

#[derive(Debug, Clone)]
struct SimSensor {
    id: String,
    /// (index into roads, weight).
    roads: Vec<(usize, f64)>,
}

#[derive(Debug, Clone)]
struct SimZone {
    id: ZoneId,
    floor_m2: f64,
    residential_share: f64,
}

#[derive(Debug, Clone)]
struct Home {
    building: BuildingId,
    at: Point<f64>,
    zone: Option<usize>,
}

#[derive(Debug, Clone)]
struct Vehicle {
    name: String,
    line: geo_types::LineString<f64>,
    length_m: f64,
    road: usize,
    phase: f64,
}

#[derive(Debug, Clone)]
struct OpenRequest {
    id: u64,
    category: usize,
    opened: Timestamp,
    closes: Timestamp,
    home: usize,
}

/// The simulator: the city's shape, a clock and the open service requests.
#[derive(Debug, Clone)]
pub struct Simulator {
    source: SourceId,
    seed: u64,
    step_ms: i64,
    speed: f64,
    utc_offset_ms: i64,
    start: Option<Timestamp>,
    roads: Vec<SimRoad>,
    sensors: Vec<(SimSensor, Point<f64>)>,
    zones: Vec<SimZone>,
    homes: Vec<Home>,
    /// Cumulative residential floor area over `homes`, for weighted picks.
    home_weights: Vec<f64>,
    requests_per_day: f64,
    vehicles: Vec<Vehicle>,
    clock: Timestamp,
    open: Vec<OpenRequest>,
    next_request: u64,
}

fn floor_m2(b: &crate::twin::city::Building) -> f64 {
    b.footprint_area_m2() * (b.height_m / STOREY_M).round().max(1.0)
}

fn is_residential(usage: &str) -> bool {
    matches!(
        usage,
        "residential"
            | "apartments"
            | "house"
            | "detached"
            | "semidetached_house"
            | "terrace"
            | "dormitory"
            | "yes"
    )
}

impl Simulator {
    /// A simulator for a city under a spec, sending as `source`.
    pub fn new(city: &CityModel, spec: &SimulatorSpec, source: SourceId) -> Simulator {
        let mut ranked: Vec<(u8, usize)> = city
            .roads
            .iter()
            .enumerate()
            .filter_map(|(i, r)| class_params(&r.class).map(|p| (p.3, i)))
            .collect();
        ranked.sort();
        ranked.truncate(spec.max_roads);
        ranked.sort_by_key(|&(_, i)| i);
        let mut mids = Vec::new();
        let roads: Vec<SimRoad> = ranked
            .iter()
            .map(|&(_, i)| {
                let r = &city.roads[i];
                let (free, cap, sens, _) = class_params(&r.class).unwrap_or((30.0, 300.0, 0.2, 9));
                let lanes = r.lanes.unwrap_or(if r.oneway { 1 } else { 2 }).max(1) as f64;
                mids.push(
                    Euclidean
                        .point_at_ratio_from_start(&r.line, 0.5)
                        .unwrap_or_else(|| Point::new(0.0, 0.0)),
                );
                SimRoad {
                    id: RoadId(i as u32),
                    free_kmh: r.maxspeed_kmh.filter(|s| *s > 0.0).unwrap_or(free),
                    capacity: cap * lanes,
                    sens,
                }
            })
            .collect();

        // Sensors at the busiest roads, spread apart.
        let mut by_cap: Vec<usize> = (0..roads.len()).collect();
        by_cap.sort_by(|&a, &b| roads[b].capacity.total_cmp(&roads[a].capacity).then(a.cmp(&b)));
        let mut sensors: Vec<(SimSensor, Point<f64>)> = Vec::new();
        for i in by_cap {
            if sensors.len() >= spec.sensors {
                break;
            }
            let p = mids[i];
            if sensors
                .iter()
                .any(|(_, q)| Euclidean.distance(*q, p) < SENSOR_SPACING_M)
            {
                continue;
            }
            let near: Vec<(usize, f64)> = mids
                .iter()
                .enumerate()
                .filter_map(|(j, m)| {
                    let d = Euclidean.distance(*m, p);
                    (d < SENSOR_RADIUS_M).then(|| (j, 1.0 / (1.0 + d / 50.0)))
                })
                .collect();
            let id = format!("aq-{:02}", sensors.len() + 1);
            sensors.push((SimSensor { id, roads: near }, p));
        }

        // Floor area per zone; homes with their zone.
        let zone_boxes: Vec<_> = city.zones.iter().map(|z| z.area.bounding_rect()).collect();
        let zone_of = |p: Point<f64>| {
            (0..city.zones.len()).find(|&z| {
                zone_boxes[z].is_some_and(|b| {
                    p.x() >= b.min().x && p.x() <= b.max().x && p.y() >= b.min().y && p.y() <= b.max().y
                }) && city.zones[z].area.contains(&p)
            })
        };
        let mut floor = vec![0.0; city.zones.len()];
        let mut res_floor = vec![0.0; city.zones.len()];
        let mut homes = Vec::new();
        let mut home_weights = Vec::new();
        let mut total_res = 0.0;
        for (i, b) in city.buildings.iter().enumerate() {
            let Some(c) = b.footprint.centroid() else {
                continue;
            };
            let f = floor_m2(b);
            let z = zone_of(c);
            let res = is_residential(&b.usage);
            if let Some(z) = z {
                floor[z] += f;
                if res {
                    res_floor[z] += f;
                }
            }
            if res && f > 0.0 {
                total_res += f;
                homes.push(Home {
                    building: BuildingId(i as u32),
                    at: c,
                    zone: z,
                });
                home_weights.push(total_res);
            }
        }
        let zones = (0..city.zones.len())
            .filter(|&z| floor[z] > 0.0)
            .map(|z| SimZone {
                id: ZoneId(z as u32),
                floor_m2: floor[z],
                residential_share: res_floor[z] / floor[z],
            })
            .collect();
        let requests_per_day = if homes.is_empty() {
            0.0
        } else {
            (total_res / M2_PER_REQUEST_DAY).max(MIN_REQUESTS_PER_DAY)
        };

        // Transit vehicles on the longest main roads.
        let mut lines: Vec<(f64, usize)> = roads
            .iter()
            .enumerate()
            .filter(|(_, r)| r.capacity >= 600.0)
            .map(|(i, r)| (Euclidean.length(&city.roads[r.id.0 as usize].line), i))
            .collect();
        lines.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        let vehicles = lines
            .iter()
            .cycle()
            .take(if lines.is_empty() { 0 } else { spec.vehicles })
            .enumerate()
            .map(|(k, &(len, i))| Vehicle {
                name: format!("bus-{}", k + 1),
                line: city.roads[roads[i].id.0 as usize].line.clone(),
                length_m: len.max(1.0),
                road: i,
                phase: rng.random::<f64>(),
            })
            .collect();

        let start = spec.start.as_deref().and_then(parse_rfc3339);
        Simulator {
            source,
            seed: spec.seed,
            step_ms: (spec.step_s * 1_000.0).max(1.0) as i64,
            speed: spec.speed.max(1e-6),
            utc_offset_ms: (spec.utc_offset_h * Timestamp::HOUR_MS as f64) as i64,
            start,
            roads,
            sensors,
            zones,
            homes,
            home_weights,
            requests_per_day,
            vehicles,
            clock: start.unwrap_or(Timestamp(0)),
            open: Vec::new(),
            next_request: 1,
        }
    }

    /// The source name observations carry.
    pub fn source(&self) -> &SourceId {
        &self.source
    }

    /// Simulated time of the next tick.
    pub fn clock(&self) -> Timestamp {
        self.clock
    }

    /// Simulated ms between ticks.
    pub fn step_ms(&self) -> i64 {
        self.step_ms
    }

    /// Road segments, sensors, zones with floor area, homes and vehicles simulated.
    pub fn sizes(&self) -> (usize, usize, usize, usize, usize) {
        (
            self.roads.len(),
            self.sensors.len(),
            self.zones.len(),
            self.homes.len(),
            self.vehicles.len(),
        )
    }

    /// The sensors' ids and positions (scene CRS).
    pub fn sensors(&self) -> impl Iterator<Item = (&str, Point<f64>)> {
        self.sensors.iter().map(|(s, p)| (s.id.as_str(), *p))
    }

    /// Service requests open now.
    pub fn open_requests(&self) -> usize {
        self.open.len()
    }

    /// Starts again at `t` with no open requests.
    pub fn reset(&mut self, t: Timestamp) {
        self.clock = t;
        self.open.clear();
        self.next_request = 1;
    }

    /// Every observation from `from` to `to` (inclusive) at `step_s` simulated seconds,
    /// synchronously, starting from a fresh state at `from`.
    pub fn generate(&mut self, from: Timestamp, to: Timestamp, step_s: f64) -> Vec<Observation> {
        self.step_ms = (step_s * 1_000.0).max(1.0) as i64;
        self.reset(from);
        let mut out = Vec::new();
        while self.clock <= to {
            out.extend(self.tick());
        }
        out
    }

    fn local_hour(&self, t: Timestamp) -> (f64, bool) {
        let local = t.0.saturating_add(self.utc_offset_ms);
        let hour = local.rem_euclid(Timestamp::DAY_MS) as f64 / Timestamp::HOUR_MS as f64;
        // 1970-01-01 was a Thursday: day 0 → weekday index 3 (Monday = 0).
        let weekday = (local.div_euclid(Timestamp::DAY_MS) + 3).rem_euclid(7);
        (hour, weekday >= 5)
    }

    /// Wind speed at `t`, m/s: a slow deterministic swing plus gusts.
    fn wind(&self, t: Timestamp, rng: &mut ChaCha8Rng) -> f64 {
        let days = t.0 as f64 / Timestamp::DAY_MS as f64;
        let phase = (self.seed % 1_000) as f64 / 1_000.0 * std::f64::consts::TAU;
        (1.0 + 6.0 * (0.5 + 0.5 * (std::f64::consts::TAU * days / 2.7 + phase).sin()) + rng.random::<f64>())
            .max(0.0)
    }

    /// The observations of one tick at the clock, then advances the clock a step.
    pub fn tick(&mut self) -> Vec<Observation> {
        let t = self.clock;
        self.clock = t.plus_ms(self.step_ms);
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ (t.0 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let (hour, weekend) = self.local_hour(t);
        let demand = traffic_demand(hour, weekend);
        let src = &self.source;
        let mk = |subject: Subject, metric: Metric, value: f64| {
            let (lo, hi) = metric.plausible_range();
            let mut o = Observation::new(src, subject, metric, value.clamp(lo, hi), t);
            o.quality = Some(Quality::Estimated);
            o
        };
        let mut out =
            Vec::with_capacity(self.roads.len() * 2 + self.sensors.len() * 4 + self.zones.len() + 16);

        // Traffic.
        let mut flows = Vec::with_capacity(self.roads.len());
        for r in &self.roads {
            let u: f64 = rng.random();
            let local = (demand * (0.9 + 0.2 * u)).min(1.0);
            let speed = r.free_kmh * speed_fraction(local, r.sens);
            let flow = r.capacity * local * (0.85 + 0.3 * rng.random::<f64>());
            flows.push(flow);
            out.push(mk(
                Subject::Road(r.id),
                Metric::TrafficSpeed,
                (speed * 10.0).round() / 10.0,
            ));
            out.push(mk(Subject::Road(r.id), Metric::TrafficFlow, flow.round()));
        }

        // Air and noise: nearby traffic, dispersed by the wind.
        let wind = self.wind(t, &mut rng);
        let dispersion = 1.5 / (1.0 + wind / 3.0);
        for (s, _) in &self.sensors {
            let local: f64 = s.roads.iter().map(|&(i, w)| w * flows[i]).sum();
            let pm25 = 4.0 + 0.002 * local * dispersion + rng.random::<f64>();
            let no2 = 8.0 + 0.006 * local * dispersion + 2.0 * rng.random::<f64>();
            let noise = 35.0 + 9.0 * (1.0 + local).log10() + rng.random::<f64>();
            let sensor = || Subject::Sensor(s.id.clone());
            out.push(mk(sensor(), Metric::Pm25, (pm25 * 10.0).round() / 10.0));
            out.push(mk(
                sensor(),
                Metric::Pm10,
                ((1.5 * pm25 + 4.0) * 10.0).round() / 10.0,
            ));
            out.push(mk(sensor(), Metric::No2, (no2 * 10.0).round() / 10.0));
            out.push(mk(sensor(), Metric::Noise, (noise * 10.0).round() / 10.0));
        }

        // Electricity per zone and the city's renewable share.
        let mut total_kw = 0.0;
        for z in &self.zones {
            let kw = z.floor_m2
                * LOAD_KW_PER_M2
                * load_curve(hour, z.residential_share, weekend)
                * (0.95 + 0.1 * rng.random::<f64>());
            total_kw += kw;
            out.push(mk(Subject::Zone(z.id), Metric::ElectricityLoad, kw.round()));
        }
        if total_kw > 0.0 {
            let solar = 0.35
                * (std::f64::consts::PI * (hour - 6.0) / 12.0).sin().max(0.0)
                * (0.6 + 0.4 * rng.random::<f64>());
            let share = 0.08 + solar + 0.25 * (wind / 10.0).min(1.0);
            out.push(mk(
                Subject::City,
                Metric::RenewableShare,
                (share.clamp(0.0, 1.0) * 1_000.0).round() / 1_000.0,
            ));
        }

        // Transit vehicles: along their line and back, delayed by congestion.
        for v in &self.vehicles {
            let period_ms = v.length_m / (VEHICLE_KMH / 3.6) * 1_000.0;
            let f = (t.0 as f64 / period_ms + v.phase).rem_euclid(2.0);
            let along = if f <= 1.0 { f } else { 2.0 - f };
            if let Some(p) = Euclidean.point_at_ratio_from_start(&v.line, along) {
                let sens = self.roads[v.road].sens;
                let delay = 20.0 + 600.0 * sens * demand * demand * (0.7 + 0.6 * rng.random::<f64>())
                    - 30.0 * rng.random::<f64>();
                let mut o = mk(
                    Subject::Point { x: p.x(), y: p.y() },
                    Metric::TransitDelay,
                    delay.round(),
                );
                o.detail = format!("vehicle={};road={}", v.name, self.roads[v.road].id.0);
                out.push(o);
            }
        }

        // Service requests: closures due, then new ones at homes.
        let mut still = Vec::with_capacity(self.open.len());
        for r in std::mem::take(&mut self.open) {
            if r.closes <= t {
                let h = &self.homes[r.home];
                let mut o = mk(
                    Subject::Point {
                        x: h.at.x(),
                        y: h.at.y(),
                    },
                    Metric::ServiceRequestClosed,
                    ((r.closes.0 - r.opened.0) as f64 / Timestamp::HOUR_MS as f64 * 100.0).round() / 100.0,
                );
                o.time = r.closes;
                o.detail = self.request_detail(&r);
                out.push(o);
            } else {
                still.push(r);
            }
        }
        self.open = still;
        let rate = self.requests_per_day * self.step_ms as f64 / Timestamp::DAY_MS as f64
            * (0.4 + 1.2 * bump(hour, 13.0, 4.0));
        let mut n = rate.floor() as usize;
        if rng.random::<f64>() < rate.fract() {
            n += 1;
        }
        for _ in 0..n {
            let total = *self.home_weights.last().unwrap_or(&0.0);
            if total <= 0.0 {
                break;
            }
            let pick = rng.random::<f64>() * total;
            let home = self
                .home_weights
                .partition_point(|w| *w < pick)
                .min(self.homes.len() - 1);
            let category = rng.random_range(0..REQUEST_CATEGORIES.len());
            // Log-normal time to close around the category's median.
            let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
            let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            let hours = REQUEST_CATEGORIES[category].1 * (0.8 * normal).exp();
            // Opened some time during the step that ends now (never in the future).
            let opened = t.plus_ms(-rng.random_range(0..self.step_ms.max(1)));
            let r = OpenRequest {
                id: self.next_request,
                category,
                opened,
                closes: opened.plus_ms((hours * Timestamp::HOUR_MS as f64) as i64),
                home,
            };
            self.next_request += 1;
            let h = &self.homes[home];
            let mut o = mk(
                Subject::Point {
                    x: h.at.x(),
                    y: h.at.y(),
                },
                Metric::ServiceRequestOpened,
                category as f64,
            );
            o.time = opened;
            o.detail = self.request_detail(&r);
            out.push(o);
            self.open.push(r);
        }

        // Sentiment per zone, every quarter hour of simulated time.
        if t.0.rem_euclid(SENTIMENT_EVERY_MS) < self.step_ms {
            for z in &self.zones {
                let s = self.sentiment(z, t, demand) + 0.05 * (rng.random::<f64>() - 0.5);
                let mut o = mk(
                    Subject::Zone(z.id),
                    Metric::Sentiment,
                    (s.clamp(-1.0, 1.0) * 1_000.0).round() / 1_000.0,
                );
                o.detail = "topic=services".into();
                out.push(o);
            }
        }
        out
    }

    /// Sentiment of a zone: mildly positive, lower with open requests, much lower with
    /// requests open longer than [`LONG_OPEN_H`], a little lower in heavy traffic.
    fn sentiment(&self, z: &SimZone, t: Timestamp, demand: f64) -> f64 {
        let zi = z.id.0 as usize;
        let (mut open, mut long) = (0.0, 0.0);
        for r in &self.open {
            if self.homes[r.home].zone == Some(zi) && r.opened <= t {
                open += 1.0;
                if (t.0 - r.opened.0) as f64 > LONG_OPEN_H * Timestamp::HOUR_MS as f64 {
                    long += 1.0;
                }
            }
        }
        0.35 - 0.03 * open - 0.12 * long - 0.1 * demand
    }

    fn request_detail(&self, r: &OpenRequest) -> String {
        let h = &self.homes[r.home];
        let zone = h.zone.map_or("none".to_string(), |z| z.to_string());
        format!(
            "request={};category={};zone={zone};building={}",
            r.id, REQUEST_CATEGORIES[r.category].0, h.building.0
        )
    }
}

impl FeedSource for Simulator {
    fn id(&self) -> SourceId {
        self.source.clone()
    }

    fn run(mut self: Box<Self>, tx: FeedSender, stop: StopFlag) {
        let start = self.start.unwrap_or_else(Timestamp::now);
        self.reset(start);
        tx.event(FeedEvent::Connected);
        let wall0 = Instant::now();
        let mut ticks: u64 = 0;
        while !stop.is_set() {
            // The simulated "now" of this tick: its observations are at or before it.
            tx.event(FeedEvent::Clock(self.clock));
            let obs = self.tick();
            for chunk in obs.chunks(BATCH_MAX) {
                tx.batch(chunk.to_vec());
            }
            ticks += 1;
            let due = Duration::from_secs_f64(ticks as f64 * self.step_ms as f64 / 1_000.0 / self.speed);
            let wait = due.saturating_sub(wall0.elapsed());
            if !stop.sleep(wait) {
                break;
            }
        }
        tx.event(FeedEvent::Stopped);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::twin::city::{Building, Road, Zone};
    use crate::twin::crs::{Crs, SceneOrigin};
    use crate::twin::feeds::key::SubjectKey;
    use crate::twin::feeds::source::feed_channel;
    use crate::twin::feeds::validate::Validator;
    use crate::twin::heights::HeightSource;
    use geo_types::{LineString, MultiPolygon, polygon};

    fn square(x: f64, y: f64, s: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![
            polygon![(x: x, y: y), (x: x + s, y: y), (x: x + s, y: y + s), (x: x, y: y + s)],
        ])
    }

    /// A small city: a grid of roads of mixed classes, two zones, homes and offices.
    pub(crate) fn small_city() -> CityModel {
        let origin = SceneOrigin { x: 0.0, y: 0.0 };
        let mut c = CityModel::empty("t", Crs::Epsg(3067), origin);
        let classes = ["primary", "secondary", "residential", "footway", "tertiary"];
        for i in 0..10 {
            let y = i as f64 * 100.0;
            c.roads.push(Road {
                layer: crate::twin::city::LayerId(0),
                source_id: i,
                line: LineString::from(vec![(0.0, y), (1_000.0, y)]),
                class: classes[i as usize % classes.len()].into(),
                lanes: None,
                maxspeed_kmh: if i == 0 { Some(60.0) } else { None },
                oneway: false,
                name: None,
            });
        }
        for (i, b) in (0..40).enumerate() {
            let x = (b % 10) as f64 * 100.0 + 20.0;
            let y = (b / 10) as f64 * 200.0 + 20.0;
            c.buildings.push(Building {
                layer: crate::twin::city::LayerId(0),
                source_id: i as i64,
                footprint: square(x, y, 30.0),
                height_m: 16.0,
                min_height_m: 0.0,
                height_source: HeightSource::Estimated,
                name: None,
                usage: if i % 3 == 0 { "commercial" } else { "residential" }.into(),
                attributes: Default::default(),
            });
        }
        for (i, x) in [0.0, 500.0].into_iter().enumerate() {
            c.zones.push(Zone {
                name: format!("z{i}"),
                area: MultiPolygon(vec![polygon![(x: x, y: -10.0), (x: x + 500.0, y: -10.0), (x: x + 500.0, y: 1_010.0), (x: x, y: 1_010.0)]]),
                generated: true,
            });
        }
        c
    }

    pub(crate) fn spec(seed: u64) -> SimulatorSpec {
        SimulatorSpec {
            seed,
            speed: 1.0,
            step_s: 60.0,
            max_roads: 500,
            sensors: 3,
            vehicles: 2,
            utc_offset_h: 0.0,
            start: None,
        }
    }

    /// Monday 2024-01-15 00:00 UTC.
    const MONDAY: Timestamp = Timestamp(1_705_276_800_000);

    #[test]
    fn is_shaped_by_the_city() {
        let s = Simulator::new(&small_city(), &spec(1), SourceId("sim".into()));
        let (roads, sensors, zones, homes, vehicles) = s.sizes();
        assert_eq!(roads, 8, "footways are not simulated");
        assert_eq!(sensors, 3);
        assert_eq!(zones, 2);
        assert_eq!(homes, 26);
        assert_eq!(vehicles, 2);
    }

    #[test]
    fn same_seed_same_observations_other_seed_differs() {
        let city = small_city();
        let a = Simulator::new(&city, &spec(7), SourceId("sim".into())).generate(
            MONDAY,
            MONDAY.plus_ms(3 * Timestamp::HOUR_MS),
            60.0,
        );
        let b = Simulator::new(&city, &spec(7), SourceId("sim".into())).generate(
            MONDAY,
            MONDAY.plus_ms(3 * Timestamp::HOUR_MS),
            60.0,
        );
        let c = Simulator::new(&city, &spec(8), SourceId("sim".into())).generate(
            MONDAY,
            MONDAY.plus_ms(3 * Timestamp::HOUR_MS),
            60.0,
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.len() > 181 * 16);
    }

    #[test]
    fn every_observation_passes_validation() {
        let city = small_city();
        let obs = Simulator::new(&city, &spec(3), SourceId("sim".into())).generate(
            MONDAY,
            MONDAY.plus_ms(2 * Timestamp::DAY_MS),
            300.0,
        );
        let v = Validator::for_city(&city);
        for o in &obs {
            assert!(v.check(o, o.time).is_ok(), "{o:?}: {:?}", v.check(o, o.time));
        }
    }

    fn mean(obs: &[Observation], metric: Metric, hour: i64, only: impl Fn(&Observation) -> bool) -> f64 {
        let t = MONDAY.plus_ms(hour * Timestamp::HOUR_MS);
        let v: Vec<f64> = obs
            .iter()
            .filter(|o| o.metric == metric && o.time == t && only(o))
            .map(|o| o.value)
            .collect();
        assert!(!v.is_empty(), "{metric} at {hour} h");
        v.iter().sum::<f64>() / v.len() as f64
    }

    #[test]
    fn rush_hour_is_slower_busier_and_dirtier_than_night() {
        let city = small_city();
        let obs = Simulator::new(&city, &spec(5), SourceId("sim".into())).generate(
            MONDAY,
            MONDAY.plus_ms(Timestamp::DAY_MS),
            3_600.0,
        );
        let primary = |o: &Observation| o.subject == Subject::Road(RoadId(0));
        let (night, rush) = (
            mean(&obs, Metric::TrafficSpeed, 3, primary),
            mean(&obs, Metric::TrafficSpeed, 8, primary),
        );
        assert!(night > 55.0 && rush < 0.7 * night, "night {night}, rush {rush}");
        let any = |_: &Observation| true;
        assert!(mean(&obs, Metric::TrafficFlow, 8, any) > 3.0 * mean(&obs, Metric::TrafficFlow, 3, any));
        assert!(mean(&obs, Metric::No2, 8, any) > mean(&obs, Metric::No2, 3, any));
        assert!(mean(&obs, Metric::ElectricityLoad, 19, any) > mean(&obs, Metric::ElectricityLoad, 3, any));
    }

    #[test]
    fn requests_open_at_homes_close_later_and_sour_sentiment() {
        let city = small_city();
        let mut sim = Simulator::new(&city, &spec(11), SourceId("sim".into()));
        let obs = sim.generate(MONDAY, MONDAY.plus_ms(10 * Timestamp::DAY_MS), 600.0);
        let opened: Vec<&Observation> = obs
            .iter()
            .filter(|o| o.metric == Metric::ServiceRequestOpened)
            .collect();
        let closed: Vec<&Observation> = obs
            .iter()
            .filter(|o| o.metric == Metric::ServiceRequestClosed)
            .collect();
        assert!(opened.len() >= 25, "{}", opened.len());
        assert!(!closed.is_empty());
        for c in &closed {
            let id = SubjectKey::of(c);
            let o = opened
                .iter()
                .find(|o| SubjectKey::of(o) == id)
                .expect("closed request was opened");
            assert!(c.time > o.time && c.subject == o.subject);
            let building: u32 = o.detail.rsplit("building=").next().unwrap().parse().unwrap();
            assert!(is_residential(&city.buildings[building as usize].usage));
        }
        // Sentiment falls with long-open requests in the zone.
        let z = sim.zones[0].clone();
        let t = sim.clock();
        let calm = {
            let mut s = sim.clone();
            s.open.clear();
            s.sentiment(&z, t, 0.2)
        };
        let mut s = sim.clone();
        let home = s
            .homes
            .iter()
            .position(|h| h.zone == Some(z.id.0 as usize))
            .unwrap();
        for i in 0..5 {
            s.open.push(OpenRequest {
                id: 900 + i,
                category: 0,
                opened: t.plus_ms(-5 * Timestamp::DAY_MS),
                closes: t.plus_ms(Timestamp::DAY_MS),
                home,
            });
        }
        assert!(s.sentiment(&z, t, 0.2) < calm - 0.5);
    }

    #[test]
    fn runs_on_a_thread_faster_than_real_time() {
        let mut sp = spec(2);
        sp.speed = 600_000.0;
        sp.start = Some("2024-01-15T08:00:00Z".into());
        let sim = Simulator::new(&small_city(), &sp, SourceId("sim".into()));
        let (ch, rx) = feed_channel(100_000);
        let h = crate::twin::feeds::source::spawn(Box::new(sim), &ch).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert!(h.join());
        let n: usize = rx
            .receiver()
            .try_iter()
            .map(|m| match m {
                crate::twin::feeds::source::FeedMessage::Batch(b) => b.len(),
                _ => 0,
            })
            .sum();
        // 600 000× speed at 60 s a tick is 10 000 ticks a second: well over 50 in 100 ms.
        assert!(n > 50 * 16, "{n}");
    }

    #[test]
    fn an_accelerated_simulator_passes_validation_ahead_of_the_wall_clock() {
        use crate::twin::feeds::live::LiveState;
        let city = small_city();
        let mut sp = spec(6);
        // ×100 000 at 60 s a tick: the simulated clock is minutes ahead within milliseconds.
        sp.speed = 100_000.0;
        let sim = Simulator::new(&city, &sp, SourceId("sim".into()));
        let (ch, rx) = feed_channel(100_000);
        let mut live = LiveState::new(Validator::for_city(&city).with_retention_days(1.0), None);
        let h = crate::twin::feeds::source::spawn(Box::new(sim), &ch).unwrap();
        let end = Instant::now() + Duration::from_secs(10);
        let mut ahead = 0;
        while Instant::now() < end {
            let wall = Timestamp::now();
            live.drain(&rx, Duration::from_millis(50), wall);
            ahead = live
                .source_clock(&SourceId("sim".into()))
                .map_or(0, |c| c.0 - wall.0);
            if ahead > 10 * crate::twin::feeds::validate::DEFAULT_MAX_FUTURE_MS {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(h);
        let health = &live.health[&SourceId("sim".into())];
        assert!(
            ahead > 10 * crate::twin::feeds::validate::DEFAULT_MAX_FUTURE_MS,
            "{ahead} ms ahead"
        );
        assert!(health.accepted > 0);
        assert_eq!(health.error_total(), 0, "{health:?}");
    }
}
