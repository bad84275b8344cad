//! What the live map overlays show, without Bevy: colour ramps with value breaks for sensor
//! metrics and zone load (legends), the book of citizen service requests (open or closed at
//! any instant), recent series of one subject for charts, picking on the ground plane
//! (nearest sensor, road, the zone under a point) and one zone's indicator values.

use std::collections::BTreeMap;

use geo::{Area, Contains, Distance, Euclidean};
use geo_types::Point;

use crate::twin::city::{CityModel, RoadId, ZoneId};
use crate::twin::feeds::key::SubjectKey;
use crate::twin::feeds::{Metric, Observation, Subject, Timestamp};
use crate::twin::indicators::catalogue::{Catalogue, Dimension};
use crate::twin::indicators::evaluate::{Evaluation, Status};

/// The sensor metrics the map can colour sensors by.
pub const SENSOR_METRICS: [Metric; 4] = [Metric::Pm25, Metric::Pm10, Metric::No2, Metric::Noise];

/// Colours of the six European Air Quality Index bands, good to extremely poor (sRGB, as the
/// European Environment Agency draws them).
pub const EAQI_COLOURS: [[u8; 3]; 6] = [
    [80, 240, 230],
    [80, 204, 170],
    [240, 230, 65],
    [255, 80, 80],
    [150, 0, 50],
    [125, 33, 129],
];
/// Upper band limits of PM2.5 in the European Air Quality Index, µg/m³.
pub const PM25_BREAKS: [f64; 5] = [10.0, 20.0, 25.0, 50.0, 75.0];
/// Upper band limits of PM10 in the European Air Quality Index, µg/m³.
pub const PM10_BREAKS: [f64; 5] = [20.0, 40.0, 50.0, 100.0, 150.0];
/// Upper band limits of NO2 in the European Air Quality Index, µg/m³.
pub const NO2_BREAKS: [f64; 5] = [40.0, 90.0, 120.0, 230.0, 340.0];
/// Noise bands, dB(A): quiet, the WHO road-traffic guideline (53 dB Lden) and above.
pub const NOISE_BREAKS: [f64; 5] = [45.0, 53.0, 60.0, 65.0, 70.0];
/// A sequential yellow-to-red ramp (ColorBrewer YlOrRd, five classes) for loads.
pub const LOAD_COLOURS: [[u8; 3]; 5] = [
    [255, 255, 178],
    [254, 204, 92],
    [253, 141, 60],
    [240, 59, 32],
    [189, 0, 38],
];
/// Square metres in a hectare.
const M2_PER_HA: f64 = 10_000.0;

/// A colour ramp of value classes: `colours[i]` for values below `breaks[i]` (and at or
/// above the previous break); the last colour for values at or above the last break.
#[derive(Debug, Clone, PartialEq)]
pub struct Ramp {
    /// Unit of the values.
    pub unit: String,
    /// Ascending class limits.
    pub breaks: Vec<f64>,
    /// sRGB colour per class; one more than `breaks`.
    pub colours: Vec<[u8; 3]>,
}

/// One row of a legend: a colour and the value range it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendEntry {
    /// sRGB colour.
    pub colour: [u8; 3],
    /// The range, e.g. "10–20 µg/m³", "< 10 µg/m³", "≥ 75 µg/m³".
    pub label: String,
}

impl Ramp {
    /// The fixed ramp of a sensor metric (air-quality index bands, noise bands); `None` for
    /// metrics that are not measured at sensors.
    pub fn for_metric(metric: Metric) -> Option<Ramp> {
        let breaks: &[f64] = match metric {
            Metric::Pm25 => &PM25_BREAKS,
            Metric::Pm10 => &PM10_BREAKS,
            Metric::No2 => &NO2_BREAKS,
            Metric::Noise => &NOISE_BREAKS,
            _ => return None,
        };
        Some(Ramp {
            unit: metric.unit().to_string(),
            breaks: breaks.to_vec(),
            colours: EAQI_COLOURS.to_vec(),
        })
    }

    /// A ramp with breaks at the quantiles of the values (rounded to two significant digits,
    /// duplicates merged), coloured from `colours` (at most `colours.len()` classes). `None`
    /// without a finite value.
    pub fn from_quantiles(values: &[f64], unit: &str, colours: &[[u8; 3]]) -> Option<Ramp> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() || colours.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let classes = colours.len();
        let mut breaks: Vec<f64> = (1..classes)
            .map(|k| round_sig(v[(k * v.len() / classes).min(v.len() - 1)], 2))
            .collect();
        breaks.dedup();
        // A break at or below the smallest value would leave its class empty.
        breaks.retain(|b| *b > v[0]);
        let n = breaks.len() + 1;
        // Spread the colours over the classes left, keeping both ends of the ramp.
        let colours = (0..n)
            .map(|i| {
                let j = if n == 1 { 0 } else { i * (classes - 1) / (n - 1) };
                colours[j]
            })
            .collect();
        Some(Ramp {
            unit: unit.to_string(),
            breaks,
            colours,
        })
    }

    /// The class of a value (0 = below the first break).
    pub fn class_of(&self, value: f64) -> usize {
        self.breaks.partition_point(|b| *b <= value)
    }

    /// The colour of a value.
    pub fn colour(&self, value: f64) -> [u8; 3] {
        let i = self.class_of(value).min(self.colours.len().saturating_sub(1));
        self.colours.get(i).copied().unwrap_or([128, 128, 128])
    }

    /// One legend row per class, lowest first.
    pub fn legend(&self) -> Vec<LegendEntry> {
        let u = &self.unit;
        (0..self.colours.len())
            .map(|i| {
                let label = match (i.checked_sub(1).map(|j| self.breaks[j]), self.breaks.get(i)) {
                    (None, Some(hi)) => format!("< {} {u}", fmt_break(*hi)),
                    (Some(lo), Some(hi)) => format!("{}–{} {u}", fmt_break(lo), fmt_break(*hi)),
                    (Some(lo), None) => format!("≥ {} {u}", fmt_break(lo)),
                    (None, None) => format!("all {u}"),
                };
                LegendEntry {
                    colour: self.colours[i],
                    label,
                }
            })
            .collect()
    }
}

/// A value rounded to a number of significant digits.
pub fn round_sig(v: f64, digits: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(digits - 1 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

/// A break for a legend: without decimals when whole.
fn fmt_break(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// Electricity load per hectare of a zone, kW/ha; `None` for a zone without area.
pub fn load_per_ha(load_kw: f64, area_m2: f64) -> Option<f64> {
    (area_m2 > 0.0 && load_kw.is_finite()).then(|| load_kw / (area_m2 / M2_PER_HA))
}

/// The area of every zone, m², by zone index.
pub fn zone_areas_m2(city: &CityModel) -> Vec<f64> {
    city.zones.iter().map(|z| z.area.unsigned_area()).collect()
}

/// One citizen service request as the feeds told it.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The request's id (`request=N` in the detail).
    pub id: u64,
    /// Where, scene CRS.
    pub at: [f64; 2],
    /// Category (`category=…` in the detail), empty when not given.
    pub category: String,
    /// When it was opened.
    pub opened: Timestamp,
    /// When it was closed, if it was.
    pub closed: Option<Timestamp>,
}

/// A request's state at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestState {
    /// Not opened yet.
    NotYet,
    /// Open.
    Open,
    /// Closed.
    Closed,
}

impl Request {
    /// The request's state at `t`.
    pub fn state_at(&self, t: Timestamp) -> RequestState {
        if t < self.opened {
            RequestState::NotYet
        } else if self.closed.is_some_and(|c| c <= t) {
            RequestState::Closed
        } else {
            RequestState::Open
        }
    }
}

/// A field of an observation's detail (`key=value;key=value`).
pub fn detail_field<'a>(detail: &'a str, key: &str) -> Option<&'a str> {
    detail
        .split(';')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim())
}

/// Every service request seen, by id, so that the map can show the requests open (and
/// recently closed) at any instant. A closing seen without its opening still places the
/// request: the closing's value is the hours it was open.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestBook {
    requests: BTreeMap<u64, Request>,
    /// Request observations that could not be read (no `request=N` in the detail, no
    /// position, bad hours), counted rather than dropped silently.
    pub unreadable: u64,
}

impl RequestBook {
    /// Takes in one observation; true when it opened, placed or closed a request. Other
    /// metrics are ignored (false); unreadable request observations are counted.
    pub fn apply(&mut self, o: &Observation) -> bool {
        let opening = match o.metric {
            Metric::ServiceRequestOpened => true,
            Metric::ServiceRequestClosed => false,
            _ => return false,
        };
        let id = detail_field(&o.detail, "request").and_then(|v| v.parse::<u64>().ok());
        let (Some(id), Subject::Point { x, y }) = (id, &o.subject) else {
            self.unreadable += 1;
            return false;
        };
        let hours_ok = opening || (o.value.is_finite() && o.value >= 0.0);
        if !(x.is_finite() && y.is_finite() && hours_ok) {
            self.unreadable += 1;
            return false;
        }
        let category = detail_field(&o.detail, "category").unwrap_or("").to_string();
        let opened_by_close = o
            .time
            .plus_ms(-(o.value * Timestamp::HOUR_MS as f64).round() as i64);
        let r = self.requests.entry(id).or_insert_with(|| Request {
            id,
            at: [*x, *y],
            category,
            opened: if opening { o.time } else { opened_by_close },
            closed: None,
        });
        if opening {
            let changed = r.opened != o.time;
            r.opened = o.time;
            changed || r.closed.is_none()
        } else {
            let changed = r.closed != Some(o.time);
            r.closed = Some(o.time);
            changed
        }
    }

    /// The requests open at `t`, and those closed within `closed_within_ms` before it, with
    /// their state, by id.
    pub fn shown_at(
        &self,
        t: Timestamp,
        closed_within_ms: i64,
    ) -> impl Iterator<Item = (&Request, RequestState)> {
        self.requests.values().filter_map(move |r| match r.state_at(t) {
            RequestState::Open => Some((r, RequestState::Open)),
            RequestState::Closed if r.closed.is_some_and(|c| t.0 - c.0 <= closed_within_ms) => {
                Some((r, RequestState::Closed))
            }
            _ => None,
        })
    }

    /// Forgets requests closed before `before`; returns how many.
    pub fn prune_closed_before(&mut self, before: Timestamp) -> usize {
        let n = self.requests.len();
        self.requests.retain(|_, r| r.closed.is_none_or(|c| c >= before));
        n - self.requests.len()
    }

    /// One request.
    pub fn get(&self, id: u64) -> Option<&Request> {
        self.requests.get(&id)
    }

    /// Every request, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Request> {
        self.requests.values()
    }

    /// Number of requests known.
    pub fn len(&self) -> usize {
        self.requests.len()
    }

    /// True when no request is known.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }
}

/// The values of one subject and metric with `from <= time <= to`, in time order.
pub fn series<'a>(
    observations: impl IntoIterator<Item = &'a Observation>,
    key: &SubjectKey,
    metric: Metric,
    from: Timestamp,
    to: Timestamp,
) -> Vec<(Timestamp, f64)> {
    let mut out: Vec<(Timestamp, f64)> = observations
        .into_iter()
        .filter(|o| o.metric == metric && o.time >= from && o.time <= to && is_subject(o, key))
        .map(|o| (o.time, o.value))
        .collect();
    out.sort_by_key(|(t, _)| *t);
    out
}

/// Whether an observation is about the subject of a key (without building the key, except
/// for points).
pub fn is_subject(o: &Observation, key: &SubjectKey) -> bool {
    match (key, &o.subject) {
        (SubjectKey::Sensor(a), Subject::Sensor(b)) => a == b,
        (SubjectKey::Road(a), Subject::Road(b)) => a == b,
        (SubjectKey::Building(a), Subject::Building(b)) => a == b,
        (SubjectKey::Zone(a), Subject::Zone(b)) => a == b,
        (SubjectKey::City, Subject::City) => true,
        (SubjectKey::Item(_) | SubjectKey::Point(..), Subject::Point { .. }) => &SubjectKey::of(o) == key,
        _ => false,
    }
}

/// Where a ray meets the ground plane (height 0), scene frame (`z` up); `None` when it runs
/// parallel to the ground or away from it.
pub fn ray_ground(origin: [f64; 3], dir: [f64; 3]) -> Option<[f64; 2]> {
    if dir[2].abs() < 1e-12 {
        return None;
    }
    let t = -origin[2] / dir[2];
    (t >= 0.0 && t.is_finite()).then(|| [origin[0] + t * dir[0], origin[1] + t * dir[1]])
}

/// The nearest of some points to `p` within `max` (any unit), with its index and distance.
pub fn nearest_point(
    points: impl IntoIterator<Item = [f64; 2]>,
    p: [f64; 2],
    max: f64,
) -> Option<(usize, f64)> {
    points
        .into_iter()
        .enumerate()
        .map(|(i, q)| (i, (q[0] - p[0]).hypot(q[1] - p[1])))
        .filter(|(_, d)| d.is_finite() && *d <= max)
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

/// The road whose centre line passes nearest `p` (scene CRS) within `max_m` metres, among
/// the roads `shown` accepts.
pub fn nearest_road(
    city: &CityModel,
    p: [f64; 2],
    max_m: f64,
    shown: impl Fn(RoadId) -> bool,
) -> Option<(RoadId, f64)> {
    let point = Point::new(p[0], p[1]);
    city.roads
        .iter()
        .enumerate()
        .filter(|(i, _)| shown(RoadId(*i as u32)))
        .filter(|(_, r)| {
            // Box test first: most roads are far away.
            geo::BoundingRect::bounding_rect(&r.line).is_some_and(|b| {
                p[0] >= b.min().x - max_m
                    && p[0] <= b.max().x + max_m
                    && p[1] >= b.min().y - max_m
                    && p[1] <= b.max().y + max_m
            })
        })
        .map(|(i, r)| (RoadId(i as u32), Euclidean.distance(&point, &r.line)))
        .filter(|(_, d)| *d <= max_m)
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

/// The zone a point (scene CRS) lies in.
pub fn zone_at(city: &CityModel, p: [f64; 2]) -> Option<ZoneId> {
    let point = Point::new(p[0], p[1]);
    city.zones
        .iter()
        .position(|z| z.area.contains(&point))
        .map(|i| ZoneId(i as u32))
}

/// One indicator's value in one zone.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneValue {
    /// Catalogue index.
    pub index: usize,
    /// Indicator id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Dimension.
    pub dimension: Dimension,
    /// Unit.
    pub unit: String,
    /// Value (`None`: no data).
    pub value: Option<f64>,
    /// Target.
    pub target: f64,
    /// Status.
    pub status: Status,
    /// Whether the value rests on an estimate.
    pub estimate: bool,
    /// The kinds of feed behind the value.
    pub sources: crate::twin::feeds::provenance::SourceKinds,
}

/// Every indicator's value in one zone, in catalogue order; `None` for an unknown zone.
pub fn zone_values(catalogue: &Catalogue, eval: &Evaluation, zone: ZoneId) -> Option<Vec<ZoneValue>> {
    let values = eval.zones.get(zone.0 as usize)?;
    Some(
        catalogue
            .indicators
            .iter()
            .zip(values)
            .enumerate()
            .map(|(index, (def, e))| ZoneValue {
                index,
                id: def.id.clone(),
                name: def.name.clone(),
                dimension: def.dimension,
                unit: def.unit.clone(),
                value: e.value,
                target: def.target,
                status: e.status,
                estimate: def.is_estimate(),
                sources: e.sources,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use geo_types::{LineString, MultiPolygon, polygon};

    use super::*;
    use crate::twin::city::{LayerId, Road, Zone};
    use crate::twin::crs::{Crs, SceneOrigin};
    use crate::twin::feeds::SourceId;
    use crate::twin::indicators::{FeedInputs, IndicatorConfig, Indicators};

    fn request(metric: Metric, id: u64, time: i64, value: f64) -> Observation {
        let mut o = Observation::new(
            &SourceId("sim".into()),
            Subject::Point { x: 10.0, y: 20.0 },
            metric,
            value,
            Timestamp(time),
        );
        o.detail = format!("request={id};category=waste;zone=0;building=3");
        o
    }

    #[test]
    fn sensor_ramps_follow_the_air_quality_bands() {
        let r = Ramp::for_metric(Metric::Pm25).expect("pm25 has a ramp");
        assert_eq!(r.colour(4.0), EAQI_COLOURS[0]);
        assert_eq!(
            r.colour(10.0),
            EAQI_COLOURS[1],
            "a break belongs to the class above"
        );
        assert_eq!(r.colour(30.0), EAQI_COLOURS[3]);
        assert_eq!(r.colour(500.0), EAQI_COLOURS[5]);
        let legend = r.legend();
        assert_eq!(legend.len(), 6);
        assert_eq!(legend[0].label, "< 10 µg/m³");
        assert_eq!(legend[1].label, "10–20 µg/m³");
        assert_eq!(legend[5].label, "≥ 75 µg/m³");
        assert_eq!(Ramp::for_metric(Metric::Noise).unwrap().unit, "dB(A)");
        assert!(Ramp::for_metric(Metric::TrafficSpeed).is_none());
    }

    #[test]
    fn quantile_ramps_split_the_values() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        let r = Ramp::from_quantiles(&values, "kW/ha", &LOAD_COLOURS).unwrap();
        assert_eq!(r.breaks, vec![21.0, 41.0, 61.0, 81.0]);
        assert_eq!(r.colours, LOAD_COLOURS.to_vec());
        assert_eq!(r.colour(1.0), LOAD_COLOURS[0]);
        assert_eq!(r.colour(100.0), LOAD_COLOURS[4]);
        // All equal: one class, the first colour.
        let flat = Ramp::from_quantiles(&[5.0; 10], "kW", &LOAD_COLOURS).unwrap();
        assert!(flat.breaks.is_empty());
        assert_eq!(flat.legend().len(), 1);
        assert!(Ramp::from_quantiles(&[f64::NAN], "kW", &LOAD_COLOURS).is_none());
        assert_eq!(round_sig(1234.5, 2), 1200.0);
        assert_eq!(round_sig(0.01234, 2), 0.012);
        assert_eq!(load_per_ha(50.0, 20_000.0), Some(25.0));
        assert_eq!(load_per_ha(50.0, 0.0), None);
    }

    #[test]
    fn request_book_tells_open_and_closed_at_any_instant() {
        let mut book = RequestBook::default();
        assert!(book.apply(&request(Metric::ServiceRequestOpened, 7, 1_000, 2.0)));
        assert!(!book.apply(&request(Metric::Pm25, 7, 1_000, 2.0)));
        let r = book.get(7).unwrap();
        assert_eq!((r.at, r.category.as_str()), ([10.0, 20.0], "waste"));
        assert_eq!(r.state_at(Timestamp(999)), RequestState::NotYet);
        assert_eq!(r.state_at(Timestamp(5_000)), RequestState::Open);
        let close_at = 1_000 + 2 * Timestamp::HOUR_MS;
        assert!(book.apply(&request(Metric::ServiceRequestClosed, 7, close_at, 2.0)));
        let r = book.get(7).unwrap();
        assert_eq!(r.state_at(Timestamp(close_at - 1)), RequestState::Open);
        assert_eq!(r.state_at(Timestamp(close_at)), RequestState::Closed);
        // Shown: open at the instant, or closed within the window before it.
        let shown = |t: i64, w: i64| {
            book.shown_at(Timestamp(t), w)
                .map(|(r, s)| (r.id, s))
                .collect::<Vec<_>>()
        };
        assert_eq!(shown(5_000, 0), vec![(7, RequestState::Open)]);
        assert_eq!(shown(close_at + 10, 100), vec![(7, RequestState::Closed)]);
        assert_eq!(shown(close_at + 1_000, 100), vec![]);
        assert_eq!(shown(0, 100), vec![]);

        // A closing without its opening places the request by its hours open.
        assert!(book.apply(&request(
            Metric::ServiceRequestClosed,
            8,
            10 * Timestamp::HOUR_MS,
            4.0
        )));
        assert_eq!(book.get(8).unwrap().opened, Timestamp(6 * Timestamp::HOUR_MS));
        assert_eq!(book.prune_closed_before(Timestamp(close_at + 1)), 1);
        assert_eq!(book.len(), 1);

        let mut bad = request(Metric::ServiceRequestOpened, 9, 0, 1.0);
        bad.detail = "category=waste".into();
        assert!(!book.apply(&bad));
        assert_eq!(book.unreadable, 1);
    }

    #[test]
    fn series_picks_one_subject_in_time_order() {
        let s = SourceId("s".into());
        let obs = |sensor: &str, metric, v, t| {
            Observation::new(&s, Subject::Sensor(sensor.into()), metric, v, Timestamp(t))
        };
        let all = [
            obs("a", Metric::Pm25, 3.0, 30),
            obs("a", Metric::Pm25, 1.0, 10),
            obs("b", Metric::Pm25, 9.0, 20),
            obs("a", Metric::No2, 9.0, 20),
            obs("a", Metric::Pm25, 7.0, 99),
        ];
        let got = series(
            &all,
            &SubjectKey::Sensor("a".into()),
            Metric::Pm25,
            Timestamp(0),
            Timestamp(50),
        );
        assert_eq!(got, vec![(Timestamp(10), 1.0), (Timestamp(30), 3.0)]);
    }

    fn two_road_city() -> CityModel {
        let mut city = CityModel::empty("two roads", Crs::Epsg(3067), SceneOrigin { x: 0.0, y: 0.0 });
        let road = |line: Vec<(f64, f64)>| Road {
            layer: LayerId(0),
            source_id: 0,
            line: LineString::from(line),
            class: "primary".into(),
            lanes: None,
            maxspeed_kmh: None,
            oneway: false,
            name: None,
        };
        city.roads = vec![
            road(vec![(0.0, 0.0), (100.0, 0.0)]),
            road(vec![(0.0, 50.0), (100.0, 50.0)]),
        ];
        city.zones = vec![
            Zone {
                name: "west".into(),
                area: MultiPolygon(vec![
                    polygon![(x: 0.0, y: 0.0), (x: 50.0, y: 0.0), (x: 50.0, y: 60.0), (x: 0.0, y: 60.0)],
                ]),
                generated: false,
            },
            Zone {
                name: "east".into(),
                area: MultiPolygon(vec![
                    polygon![(x: 50.0, y: 0.0), (x: 100.0, y: 0.0), (x: 100.0, y: 60.0), (x: 50.0, y: 60.0)],
                ]),
                generated: false,
            },
        ];
        city
    }

    #[test]
    fn ground_picking_finds_roads_zones_and_points() {
        assert_eq!(
            ray_ground([0.0, 0.0, 100.0], [1.0, 0.0, -1.0]),
            Some([100.0, 0.0])
        );
        assert_eq!(ray_ground([0.0, 0.0, 100.0], [1.0, 0.0, 1.0]), None);
        assert_eq!(ray_ground([0.0, 0.0, 100.0], [1.0, 0.0, 0.0]), None);

        let city = two_road_city();
        assert_eq!(
            nearest_road(&city, [30.0, 4.0], 5.0, |_| true),
            Some((RoadId(0), 4.0))
        );
        assert_eq!(
            nearest_road(&city, [30.0, 47.0], 5.0, |_| true),
            Some((RoadId(1), 3.0))
        );
        assert_eq!(nearest_road(&city, [30.0, 25.0], 5.0, |_| true), None);
        assert_eq!(nearest_road(&city, [30.0, 4.0], 5.0, |r| r.0 == 1), None);
        assert_eq!(zone_at(&city, [20.0, 30.0]), Some(ZoneId(0)));
        assert_eq!(zone_at(&city, [70.0, 30.0]), Some(ZoneId(1)));
        assert_eq!(zone_at(&city, [70.0, 90.0]), None);
        assert_eq!(zone_areas_m2(&city), vec![3_000.0, 3_000.0]);

        let pts = [[0.0, 0.0], [10.0, 0.0], [3.0, 4.0]];
        assert_eq!(nearest_point(pts, [2.0, 3.0], 5.0).map(|p| p.0), Some(2));
        assert_eq!(nearest_point(pts, [50.0, 50.0], 5.0), None);
    }

    #[test]
    fn zone_values_list_every_indicator_of_the_zone() {
        let city = two_road_city();
        let mut engine = Indicators::new(&city, &IndicatorConfig::default());
        let feeds = FeedInputs::none(Timestamp(0));
        let histories = crate::twin::indicators::hourly_histories(&engine.ctx, &feeds);
        let (_, eval, _) = engine.recompute(&city, &feeds, &histories);
        let rows = zone_values(&engine.ctx.catalogue, &eval, ZoneId(1)).expect("zone 1 exists");
        assert_eq!(rows.len(), engine.ctx.catalogue.indicators.len());
        for (k, row) in rows.iter().enumerate() {
            assert_eq!(row.index, k);
            assert_eq!(row.id, engine.ctx.catalogue.indicators[k].id);
            assert_eq!(row.value, eval.zones[1][k].value);
            assert_eq!(row.status, eval.zones[1][k].status);
        }
        assert!(zone_values(&engine.ctx.catalogue, &eval, ZoneId(2)).is_none());
    }

    #[test]
    fn detail_fields_are_read_by_key() {
        assert_eq!(
            detail_field("request=12;category=roads", "category"),
            Some("roads")
        );
        assert_eq!(detail_field("request=12; zone = 3", "zone"), Some("3"));
        assert_eq!(detail_field("request", "request"), None);
    }
}
