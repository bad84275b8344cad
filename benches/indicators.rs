//! Indicator benchmark: milliseconds to recompute every indicator (per zone and city-wide)
//! after a change, on the default city and on a 100,000-building synthetic city, with a
//! synthetic feed window. Prints figures; asserts nothing about time.
//!
//! `cargo bench --bench indicators` — env: `CITYTWIN_BENCH_INDICATOR_BUILDINGS` (size of
//! the synthetic city, default 100,000), `CITYTWIN_BENCH_DIR` (where it is cached).
//! Targets from the issue: ≤ 50 ms for the default city, ≤ 500 ms for 100,000 buildings.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use geo_types::{MultiPolygon, Point, polygon};

use citytwin::twin::city::{BuildingId, CityModel, LandArea, Poi, RoadId};
use citytwin::twin::feeds::{Metric, Observation, SourceId, Subject, Timestamp};
use citytwin::twin::gis::layer::LayerKind;
use citytwin::twin::indicators::{FeedInputs, FeedWindow, Histories, Indicators};
use citytwin::twin::load;
use citytwin::twin::scene::DEFAULT_SCENE;

/// Runs per measurement; the median is printed.
const RUNS: usize = 7;
/// Default size of the synthetic city.
const SYNTH_BUILDINGS: usize = 100_000;
/// Roads between synthetic POIs of each kind (the synthetic city has none of its own).
const POI_EVERY: [(usize, &str, &str); 4] = [
    (6, "public_transport", "platform"),
    (40, "amenity", "school"),
    (50, "amenity", "clinic"),
    (15, "shop", "supermarket"),
];
/// Roads between synthetic parks.
const PARK_EVERY: usize = 60;
/// Side of a synthetic park, metres.
const PARK_M: f64 = 40.0;
/// Observations in the synthetic feed window.
const FEED_OBSERVATIONS: usize = 20_000;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1_000.0
}

fn mid(city: &CityModel, r: usize) -> [f64; 2] {
    let l = &city.roads[r].line.0;
    let (a, b) = (l[0], l[l.len() - 1]);
    [(a.x + b.x) / 2.0, (a.y + b.y) / 2.0]
}

/// Adds stops, schools, clinics, groceries and parks along the roads of a city without POIs.
fn add_destinations(city: &mut CityModel) {
    let layer = citytwin::twin::city::LayerId(city.layers.len() as u16);
    for (every, category, kind) in POI_EVERY {
        for r in (0..city.roads.len()).step_by(every) {
            let [x, y] = mid(city, r);
            city.pois.push(Poi {
                layer,
                source_id: r as i64,
                point: Point::new(x + 3.0, y + 3.0),
                category: category.into(),
                kind: kind.into(),
                name: None,
            });
        }
    }
    for r in (0..city.roads.len()).step_by(PARK_EVERY) {
        let [x, y] = mid(city, r);
        let (x, y) = (x + 5.0, y + 5.0);
        city.areas.push(LandArea {
            layer,
            kind: LayerKind::Green,
            class: "park".into(),
            area: MultiPolygon(vec![
                polygon![(x: x, y: y), (x: x + PARK_M, y: y), (x: x + PARK_M, y: y + PARK_M), (x: x, y: y + PARK_M)],
            ]),
        });
    }
}

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
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let loaded = load::load_scene(&root.join(DEFAULT_SCENE)).expect("default scene loads");
    bench(
        "default city (Helsinki centre)",
        loaded.city,
        &loaded.scene.indicators,
    );

    let n: usize = std::env::var("CITYTWIN_BENCH_INDICATOR_BUILDINGS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SYNTH_BUILDINGS);
    let dir = std::env::var_os("CITYTWIN_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("citytwin-synth-{n}")));
    if !dir.join("synth.ron").exists() {
        citytwin::twin::synth::write_synth(&dir, n, 1).expect("synth");
    }
    let loaded = load::load_scene(Path::new(&dir.join("synth.ron"))).expect("synth scene loads");
    let mut city = loaded.city;
    add_destinations(&mut city);
    bench(
        "synthetic city (with added stops, schools, clinics, groceries, parks)",
        city,
        &loaded.scene.indicators,
    );
}
