//! What the indicator and scenario benchmarks share: medians and timing, the default city
//! and a cached synthetic city with destinations added along its roads.

use std::path::{Path, PathBuf};
use std::time::Instant;

use geo_types::{MultiPolygon, Point, polygon};

use citytwin::twin::city::{CityModel, LandArea, LayerId, Poi};
use citytwin::twin::gis::layer::LayerKind;
use citytwin::twin::indicators::IndicatorConfig;
use citytwin::twin::load;
use citytwin::twin::scene::DEFAULT_SCENE;

/// Runs per measurement; the median is printed.
pub const RUNS: usize = 7;
/// Default size of the synthetic city.
pub const SYNTH_BUILDINGS: usize = 100_000;
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
pub const PARK_M: f64 = 40.0;

/// The median of some figures.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Milliseconds since `t`.
pub fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1_000.0
}

/// The middle of road `r` (between its ends).
pub fn mid(city: &CityModel, r: usize) -> [f64; 2] {
    let l = &city.roads[r].line.0;
    let (a, b) = (l[0], l[l.len() - 1]);
    [(a.x + b.x) / 2.0, (a.y + b.y) / 2.0]
}

/// Adds stops, schools, clinics, groceries and parks along the roads of a city without POIs.
pub fn add_destinations(city: &mut CityModel) {
    let layer = LayerId(city.layers.len() as u16);
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

/// Runs `bench` on the default city, then on a synthetic city (size from the environment
/// variable `size_env`, default [`SYNTH_BUILDINGS`]; cached in `CITYTWIN_BENCH_DIR` or the
/// temporary folder) with destinations added.
pub fn on_both_cities(size_env: &str, mut bench: impl FnMut(&str, CityModel, &IndicatorConfig)) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let loaded = load::load_scene(&root.join(DEFAULT_SCENE)).expect("default scene loads");
    bench(
        "default city (Monaco and neighbours)",
        loaded.city,
        &loaded.scene.indicators,
    );
    let n: usize = std::env::var(size_env)
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
