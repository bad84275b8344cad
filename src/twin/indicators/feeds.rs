//! Feed inputs of the indicators: the window of observations up to a time, where each
//! observation is (zone, or city-wide only), and the feed computations: means, congestion
//! against free-flow speed, open service requests, time to close, electricity load.

use std::collections::{HashMap, HashSet};

use crate::twin::city::Road;
use crate::twin::feeds::{Metric, Observation, Subject, Timestamp};

/// Length of the feed window, ms (the last 24 h up to its time).
pub const WINDOW_MS: i64 = Timestamp::DAY_MS;

/// Free-flow speed of a road class without a speed limit, km/h.
pub fn default_free_flow_kmh(class: &str) -> f64 {
    /// Motorways.
    const MOTORWAY_KMH: f64 = 100.0;
    /// Trunk roads.
    const TRUNK_KMH: f64 = 80.0;
    /// Primary and secondary roads.
    const MAIN_KMH: f64 = 50.0;
    /// Tertiary roads.
    const TERTIARY_KMH: f64 = 40.0;
    /// Residential and unclassified streets.
    const STREET_KMH: f64 = 30.0;
    /// Service roads.
    const SERVICE_KMH: f64 = 20.0;
    /// Living streets and pedestrian ways.
    const LIVING_KMH: f64 = 10.0;
    /// Anything else.
    const OTHER_KMH: f64 = 40.0;
    match class.trim_end_matches("_link") {
        "motorway" => MOTORWAY_KMH,
        "trunk" => TRUNK_KMH,
        "primary" | "secondary" => MAIN_KMH,
        "tertiary" => TERTIARY_KMH,
        "residential" | "unclassified" => STREET_KMH,
        "service" => SERVICE_KMH,
        "living_street" | "pedestrian" => LIVING_KMH,
        _ => OTHER_KMH,
    }
}

/// Free-flow speed of a road: its speed limit, else the default of its class, km/h.
pub fn free_flow_kmh(r: &Road) -> f64 {
    r.maxspeed_kmh
        .filter(|v| *v > 0.0)
        .unwrap_or_else(|| default_free_flow_kmh(&r.class))
}

/// The observations the indicators see: those in the 24 h up to `at`.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedWindow {
    /// Evaluation time.
    pub at: Timestamp,
    /// Observations with `at − 24 h < time ≤ at`.
    pub observations: Vec<Observation>,
}

impl FeedWindow {
    /// A window with no observations.
    pub fn empty(at: Timestamp) -> FeedWindow {
        FeedWindow {
            at,
            observations: Vec::new(),
        }
    }

    /// The window at `at` from any observations (those outside it are dropped).
    pub fn new(at: Timestamp, observations: impl IntoIterator<Item = Observation>) -> FeedWindow {
        let from = at.0 - WINDOW_MS;
        FeedWindow {
            at,
            observations: observations
                .into_iter()
                .filter(|o| o.time.0 > from && o.time <= at)
                .collect(),
        }
    }
}

/// A request id from an observation's detail: its first word (separated by whitespace,
/// ',', ';' or '|'); `None` when the detail is empty.
pub fn request_id(detail: &str) -> Option<&str> {
    detail
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '|'))
        .find(|s| !s.is_empty())
}

/// A value and the time of the newest observation behind it.
pub type FeedValue = (Option<f64>, Option<Timestamp>);

fn newest<'a>(obs: impl Iterator<Item = &'a Observation>) -> Option<Timestamp> {
    obs.map(|o| o.time).max()
}

/// Mean of a metric over observations, times `scale`.
pub fn mean<'a>(obs: impl Iterator<Item = &'a Observation> + Clone, metric: Metric, scale: f64) -> FeedValue {
    let it = obs.filter(|o| o.metric == metric && o.value.is_finite());
    let (s, n) = it.clone().fold((0.0, 0usize), |(s, n), o| (s + o.value, n + 1));
    ((n > 0).then(|| s / n as f64 * scale), newest(it))
}

/// Congestion: Σ len/v ÷ Σ len/v_free − 1 (as %) over roads with speed observations; `road`
/// gives a road's length (m) and free-flow speed (km/h).
pub fn congestion<'a>(
    obs: impl Iterator<Item = &'a Observation> + Clone,
    road: impl Fn(u32) -> Option<(f64, f64)>,
) -> FeedValue {
    let it = obs.filter(|o| o.metric == Metric::TrafficSpeed && o.value.is_finite() && o.value > 0.0);
    let mut per_road: HashMap<u32, (f64, usize)> = HashMap::new();
    for o in it.clone() {
        if let Subject::Road(r) = o.subject {
            let e = per_road.entry(r.0).or_default();
            e.0 += o.value;
            e.1 += 1;
        }
    }
    let (mut t, mut t_free) = (0.0, 0.0);
    for (r, (s, n)) in per_road {
        if let Some((len, free)) = road(r) {
            t += len / (s / n as f64);
            t_free += len / free;
        }
    }
    let newest = newest(it.filter(|o| matches!(o.subject, Subject::Road(_))));
    ((t_free > 0.0).then(|| (t / t_free - 1.0) * 100.0), newest)
}

/// Requests opened and not closed in the window. Requests are paired by
/// [`request_id`]; those without an id are paired by count.
pub fn open_requests<'a>(obs: impl Iterator<Item = &'a Observation> + Clone) -> (usize, Option<Timestamp>) {
    let it = obs.filter(|o| {
        matches!(
            o.metric,
            Metric::ServiceRequestOpened | Metric::ServiceRequestClosed
        )
    });
    let mut open: HashSet<&str> = HashSet::new();
    let mut closed: HashSet<&str> = HashSet::new();
    let (mut anon_open, mut anon_closed) = (0usize, 0usize);
    for o in it.clone() {
        let opened = o.metric == Metric::ServiceRequestOpened;
        match (request_id(&o.detail), opened) {
            (Some(id), true) => {
                open.insert(id);
            }
            (Some(id), false) => {
                closed.insert(id);
            }
            (None, true) => anon_open += 1,
            (None, false) => anon_closed += 1,
        }
    }
    let named = open.difference(&closed).count();
    (named + anon_open.saturating_sub(anon_closed), newest(it))
}

/// Median hours-open of requests closed in the window.
pub fn close_median_h<'a>(obs: impl Iterator<Item = &'a Observation> + Clone) -> FeedValue {
    let it = obs.filter(|o| o.metric == Metric::ServiceRequestClosed && o.value.is_finite());
    let mut v: Vec<f64> = it.clone().map(|o| o.value).collect();
    (median(&mut v), newest(it))
}

/// The median of values (mean of the middle two for an even count).
pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Total electricity load, kW: the mean of city-wide meters when `city_meter` and there
/// are any, else the sum over metered subjects of each one's mean.
pub fn electricity_kw<'a>(obs: impl Iterator<Item = &'a Observation> + Clone, city_meter: bool) -> FeedValue {
    let it = obs.filter(|o| o.metric == Metric::ElectricityLoad && o.value.is_finite());
    if city_meter {
        let c = mean(
            it.clone().filter(|o| o.subject == Subject::City),
            Metric::ElectricityLoad,
            1.0,
        );
        if c.0.is_some() {
            return c;
        }
    }
    let mut per: HashMap<String, (f64, usize)> = HashMap::new();
    for o in it.clone().filter(|o| o.subject != Subject::City) {
        let e = per.entry(format!("{:?}", o.subject)).or_default();
        e.0 += o.value;
        e.1 += 1;
    }
    let total = per.values().map(|(s, n)| s / *n as f64).sum::<f64>();
    ((!per.is_empty()).then_some(total), newest(it))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::city::RoadId;
    use crate::twin::feeds::SourceId;

    fn obs(subject: Subject, metric: Metric, value: f64, t: i64) -> Observation {
        Observation::new(&SourceId("t".into()), subject, metric, value, Timestamp(t))
    }

    #[test]
    fn window_keeps_the_last_day() {
        let at = Timestamp(10 * WINDOW_MS);
        let w = FeedWindow::new(
            at,
            [
                obs(Subject::City, Metric::Pm25, 1.0, at.0 - WINDOW_MS),
                obs(Subject::City, Metric::Pm25, 2.0, at.0 - WINDOW_MS + 1),
                obs(Subject::City, Metric::Pm25, 3.0, at.0),
                obs(Subject::City, Metric::Pm25, 4.0, at.0 + 1),
            ],
        );
        let v: Vec<f64> = w.observations.iter().map(|o| o.value).collect();
        assert_eq!(v, vec![2.0, 3.0]);
        assert_eq!(
            mean(w.observations.iter(), Metric::Pm25, 1.0),
            (Some(2.5), Some(at))
        );
        assert_eq!(mean(w.observations.iter(), Metric::Pm10, 1.0), (None, None));
    }

    #[test]
    fn congestion_against_free_flow() {
        // Road 0: 1,000 m at free 50, observed 25 → twice the time. Road 1: 1,000 m at 50, observed 50.
        let o = [
            obs(Subject::Road(RoadId(0)), Metric::TrafficSpeed, 20.0, 1),
            obs(Subject::Road(RoadId(0)), Metric::TrafficSpeed, 30.0, 2),
            obs(Subject::Road(RoadId(1)), Metric::TrafficSpeed, 50.0, 3),
        ];
        let (v, t) = congestion(o.iter(), |_| Some((1000.0, 50.0)));
        // (1000/25 + 1000/50) / (1000/50 + 1000/50) − 1 = 60/40 − 1 = 50 %.
        assert!((v.unwrap() - 50.0).abs() < 1e-9);
        assert_eq!(t, Some(Timestamp(3)));
    }

    #[test]
    fn requests_pair_by_id_and_median() {
        let mut a = obs(Subject::City, Metric::ServiceRequestOpened, 3.0, 1);
        a.detail = "r1 pothole".into();
        let mut b = obs(Subject::City, Metric::ServiceRequestOpened, 3.0, 2);
        b.detail = "r2 pothole".into();
        let mut c = obs(Subject::City, Metric::ServiceRequestClosed, 10.0, 3);
        c.detail = "r1".into();
        let d = obs(Subject::City, Metric::ServiceRequestClosed, 30.0, 4);
        let all = [a, b, c, d];
        assert_eq!(open_requests(all.iter()).0, 1);
        assert_eq!(close_median_h(all.iter()).0, Some(20.0));
        assert_eq!(request_id("  x;y"), Some("x"));
        assert_eq!(request_id(""), None);
    }

    #[test]
    fn free_flow_from_limit_or_class() {
        let mut r = crate::twin::indicators::network::tests::road(&[(0.0, 0.0), (1.0, 0.0)], "primary_link");
        assert_eq!(free_flow_kmh(&r), 50.0);
        r.maxspeed_kmh = Some(30.0);
        assert_eq!(free_flow_kmh(&r), 30.0);
    }

    #[test]
    fn electricity_city_meter_or_sum() {
        let o = [
            obs(
                Subject::Zone(crate::twin::city::ZoneId(0)),
                Metric::ElectricityLoad,
                100.0,
                1,
            ),
            obs(
                Subject::Zone(crate::twin::city::ZoneId(0)),
                Metric::ElectricityLoad,
                200.0,
                2,
            ),
            obs(
                Subject::Zone(crate::twin::city::ZoneId(1)),
                Metric::ElectricityLoad,
                50.0,
                2,
            ),
            obs(Subject::City, Metric::ElectricityLoad, 1000.0, 3),
        ];
        assert_eq!(electricity_kw(o.iter(), true).0, Some(1000.0));
        assert_eq!(electricity_kw(o.iter(), false).0, Some(200.0));
    }
}
