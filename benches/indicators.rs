//! Indicator benchmark: milliseconds to recompute every indicator (per zone and city-wide)
//! after a change, on the default city and on a 100,000-building synthetic city, with a
//! synthetic feed window. Prints figures; asserts nothing about time.
//!
//! `cargo bench --bench indicators` — env: `CITYTWIN_BENCH_INDICATOR_BUILDINGS` (size of
//! the synthetic city, default 100,000), `CITYTWIN_BENCH_DIR` (where it is cached).
//! Targets from the issue: ≤ 50 ms for the default city, ≤ 500 ms for 100,000 buildings.

mod common;

use std::collections::HashMap;
use std::time::Instant;

use citytwin::twin::city::{BuildingId, CityModel, Poi, RoadId};
use citytwin::twin::feeds::{Metric, Observation, SourceId, Subject, Timestamp};
use citytwin::twin::indicators::{FeedInputs, FeedWindow, Histories, Indicators};
use common::{RUNS, median, ms};

/// Observations in the synthetic feed window.
const FEED_OBSERVATIONS: usize = 20_000;

/// A day of observations up to `at`: PM2.5 from sensors spread over the city, traffic
/// speeds on roads, electricity per building, transit delays at points.
fn feeds(city: &CityModel, at: Timestamp) -> FeedInputs {
    let src = SourceId("bench".into());
    let bbox = city.bbox().unwrap_or([0.0, 0.0, 1.0, 1.0]);
    let mut sensors = HashMap::new();
    for i in 0..50 {
        let f = i as f64 / 50.0;
        sensors.insert(
            format!("s{i}"),
            [
                bbox[0] + f * (bbox[2] - bbox[0]),
                bbox[1] + (1.0 - f) * (bbox[3] - bbox[1]),
            ],
        );
    }
    let obs = (0..FEED_OBSERVATIONS).map(|i| {
        let t = Timestamp(at.0 - (i as i64 * 4_000) % Timestamp::DAY_MS);
        let v = (i % 97) as f64;
        match i % 4 {
            0 => Observation::new(
                &src,
                Subject::Sensor(format!("s{}", i % 50)),
                Metric::Pm25,
                v / 5.0,
                t,
            ),
            1 => Observation::new(
                &src,
                Subject::Road(RoadId((i % city.roads.len().max(1)) as u32)),
                Metric::TrafficSpeed,
                10.0 + v / 3.0,
                t,
            ),
            2 => Observation::new(
                &src,
                Subject::Building(BuildingId((i % city.buildings.len().max(1)) as u32)),
                Metric::ElectricityLoad,
                v,
                t,
            ),
            _ => Observation::new(
                &src,
                Subject::Point {
                    x: bbox[0] + (i % 1000) as f64 / 1000.0 * (bbox[2] - bbox[0]),
                    y: bbox[1] + (i % 997) as f64 / 997.0 * (bbox[3] - bbox[1]),
                },
                Metric::TransitDelay,
                v,
                t,
            ),
        }
    });
    FeedInputs {
        window: FeedWindow::new(at, obs),
        sensors,
        kinds: Default::default(),
    }
}

fn bench(label: &str, mut city: CityModel, config: &citytwin::twin::indicators::IndicatorConfig) {
    let at = Timestamp(1_768_478_400_000);
    let t = Instant::now();
    let mut ind = Indicators::new(&city, config);
    let build_ms = ms(t);
    let feeds = feeds(&city, at);
    let none = Histories::new();
    let n_ind = ind.ctx.catalogue.indicators.len();
    println!(
        "== {label}: {} buildings, {} roads ({} walk nodes), {} POIs, {} zones, {} indicators",
        city.buildings.len(),
        city.roads.len(),
        ind.ctx.network.node_count(),
        city.pois.len(),
        city.zones.len(),
        n_ind
    );
    println!("  context build (network, facts, distances)   {build_ms:>9.1} ms");
    let mut plain = Vec::new();
    let mut with_feeds = Vec::new();
    let mut building = Vec::new();
    let mut pois = Vec::new();
    for run in 0..RUNS {
        let t = Instant::now();
        ind.recompute(&city, &FeedInputs::none(at), &none);
        plain.push(ms(t));
        let t = Instant::now();
        ind.recompute(&city, &feeds, &none);
        with_feeds.push(ms(t));
        // A building edit: taller, then recompute.
        let id = run * 7 % city.buildings.len().max(1);
        let t = Instant::now();
        if let Some(b) = city.buildings.get_mut(id) {
            b.height_m += 3.0;
            ind.ctx.update_building(&city, BuildingId(id as u32));
        }
        ind.recompute(&city, &feeds, &none);
        building.push(ms(t));
        // A POI edit: a new grocery, then recompute (re-runs the walk distances).
        let t = Instant::now();
        if let Some(p) = city.pois.first().cloned() {
            city.pois.push(Poi {
                kind: "supermarket".into(),
                category: "shop".into(),
                ..p
            });
        }
        ind.ctx.refresh_pois(&city);
        ind.recompute(&city, &feeds, &none);
        pois.push(ms(t));
    }
    println!(
        "  recompute, no feeds                          {:>9.1} ms",
        median(plain)
    );
    println!(
        "  recompute, {FEED_OBSERVATIONS} observations               {:>9.1} ms",
        median(with_feeds)
    );
    println!(
        "  building edit + recompute                    {:>9.1} ms",
        median(building)
    );
    println!(
        "  POI edit + distances + recompute             {:>9.1} ms",
        median(pois)
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    common::on_both_cities("CITYTWIN_BENCH_INDICATOR_BUILDINGS", bench);
}
