//! Reading benchmark: features/s for read, project and heights on the 23,334-building Monaco
//! shapefile, the same buildings as a GeoPackage written by GDAL's `ogr2ogr`, and a
//! 1,000,000-building synthetic city, next to GDAL (pyogrio) reading the same files in the
//! same run. Prints figures; asserts nothing about time.
//!
//! `cargo bench --bench read` — env: `CITYTWIN_DATA` (shared data), `CITYTWIN_BENCH_BUILDINGS`
//! (size of the synthetic city, default 1,000,000), `CITYTWIN_BENCH_DIR` (where it is cached),
//! `CITYTWIN_BENCH_RUNS` (runs on the Monaco file, default 5; more for profiling).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use citytwin::twin::load::{self, LoadReport};
use citytwin::twin::scene::Scene;

/// Runs per measurement; the median is printed, and the first run (which pays for setting
/// up each PROJ transformation; later loads in the process reuse it) beside it.
const RUNS: usize = 5;

/// GDAL's read of a file through pyogrio (vectorised, no per-feature Python), in seconds.
const PYOGRIO: &str = r#"
import sys, time
import pyogrio.raw
best = []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter()
    meta, fids, geom, fields = pyogrio.raw.read(sys.argv[1])[:4]
    best.append(time.perf_counter() - t)
best.sort()
print(best[len(best)//2], len(geom))
"#;

fn gdal_read_s(path: &Path, runs: usize) -> Option<(f64, usize)> {
    let out = Command::new("python3")
        .args(["-c", PYOGRIO, path.to_str()?, &runs.to_string()])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "pyogrio unavailable: {}",
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
        );
        return None;
    }
    let s = String::from_utf8_lossy(&out.stdout);
    let mut it = s.split_whitespace();
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

struct Figures {
    features: usize,
    /// read+project+heights of the first run (PROJ set-up for the CRS pair not yet done).
    first_s: f64,
    read_s: f64,
    project_s: f64,
    heights_s: f64,
    total_s: f64,
    /// How the building layer was projected.
    projection: String,
}

fn measure(scene: &Scene, base: &Path, runs: usize) -> Figures {
    let mut reads = Vec::new();
    let mut projs = Vec::new();
    let mut hts = Vec::new();
    let mut totals = Vec::new();
    let mut features = 0;
    let mut first_s = None;
    let mut projection = String::new();
    for _ in 0..runs {
        let t = Instant::now();
        let (city, report): (_, LoadReport) = load::load_layers(scene, base).expect("loads");
        totals.push(t.elapsed().as_secs_f64());
        let b = report
            .layers
            .iter()
            .find(|l| l.kind == citytwin::twin::gis::layer::LayerKind::Buildings)
            .expect("a building layer");
        assert!(b.error.is_none(), "{:?}", b.error);
        first_s.get_or_insert(b.read_s + b.project_s + b.heights_s);
        reads.push(b.read_s);
        projs.push(b.project_s);
        hts.push(b.heights_s);
        features = city.buildings.len();
        projection = b.projection.to_string();
    }
    Figures {
        features,
        first_s: first_s.unwrap_or(f64::NAN),
        read_s: median(reads),
        project_s: median(projs),
        heights_s: median(hts),
        total_s: median(totals),
        projection,
    }
}

fn report(label: &str, f: &Figures, gdal: Option<(f64, usize)>) {
    let rate = |s: f64| f.features as f64 / s.max(1e-9);
    let ours = f.read_s + f.project_s + f.heights_s;
    println!("== {label}: {} buildings", f.features);
    println!(
        "  read     {:>8.3} s  {:>12.0} features/s",
        f.read_s,
        rate(f.read_s)
    );
    println!(
        "  project  {:>8.3} s  {:>12.0} features/s",
        f.project_s,
        rate(f.project_s)
    );
    println!("  projected by {}", f.projection);
    println!(
        "  heights  {:>8.3} s  {:>12.0} features/s",
        f.heights_s,
        rate(f.heights_s)
    );
    println!(
        "  read+project+heights {:.3} s ({:.0} features/s); whole load {:.3} s",
        ours,
        rate(ours),
        f.total_s
    );
    println!(
        "  first run in this process (PROJ set-up for the CRS pair included): {:.3} s",
        f.first_s
    );
    match gdal {
        Some((s, n)) => println!(
            "  GDAL/pyogrio read alone {:.3} s ({:.0} features/s, {n} features): ours is {:.2}× {}",
            s,
            n as f64 / s,
            if ours < s { s / ours } else { ours / s },
            if ours < s { "faster" } else { "slower" }
        ),
        None => println!("  GDAL reference not available (pip install pyogrio)"),
    }
}

/// The Monaco buildings as a GeoPackage made by `ogr2ogr` (another writer than ours), read
/// by citytwin and by GDAL (pyogrio).
fn monaco_geopackage(shp: &Path, runs: usize) {
    let dir = std::env::temp_dir().join(format!("citytwin-bench-gpkg-{}", std::process::id()));
    let gpkg = dir.join("buildings.gpkg");
    let made = std::fs::create_dir_all(&dir).is_ok()
        && Command::new("ogr2ogr")
            .args(["-f", "GPKG", "-overwrite"])
            .arg(&gpkg)
            .arg(shp)
            .args(["-nln", "buildings"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !made {
        println!("== Monaco GeoPackage: ogr2ogr unavailable (apt-get install gdal-bin)");
        return;
    }
    let scene = load::scene_for_file(&gpkg, None);
    let f = measure(&scene, &dir, runs);
    report(
        "Monaco GeoPackage (written by ogr2ogr), Lambert-93 → UTM 32N",
        &f,
        gdal_read_s(&gpkg, RUNS),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn data_dir() -> Option<PathBuf> {
    std::env::var_os("CITYTWIN_DATA")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data")))
        .filter(|d| d.exists())
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    if let Some(d) = data_dir() {
        let shp = d.join("shp/monaco-2016/buildings.shp");
        let scene = load::scene_for_file(&shp, None);
        let runs = std::env::var("CITYTWIN_BENCH_RUNS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(RUNS);
        let f = measure(&scene, shp.parent().unwrap(), runs);
        report(
            "Monaco shapefile, Lambert-93 → UTM 32N",
            &f,
            gdal_read_s(&shp, RUNS),
        );
        // The same with every point by PROJ (no grid), for what the grid buys.
        let mut exact = scene.clone();
        exact.projection_tolerance_m = Some(0.0);
        let e = measure(&exact, shp.parent().unwrap(), runs);
        println!(
            "  every point by PROJ instead (projection_tolerance_m: Some(0.0)): project {:.3} s, \
             read+project+heights {:.3} s",
            e.project_s,
            e.read_s + e.project_s + e.heights_s
        );
        monaco_geopackage(&shp, runs);
    } else {
        println!("shared data not found: set CITYTWIN_DATA");
    }

    let n: usize = std::env::var("CITYTWIN_BENCH_BUILDINGS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::var_os("CITYTWIN_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("citytwin-synth-{n}")));
    if !dir.join("synth.ron").exists() {
        let t = Instant::now();
        citytwin::twin::synth::write_synth(&dir, n, 1).expect("synth");
        println!(
            "(wrote synthetic city of {n} buildings in {:.1} s)",
            t.elapsed().as_secs_f64()
        );
    }
    let mut scene = Scene::load(&dir.join("synth.ron")).expect("synth scene");
    scene.layers.retain(|l| l.name == "buildings");
    let runs = if n >= 500_000 { 3 } else { RUNS };
    let gdal = gdal_read_s(&dir.join("buildings.shp"), runs);
    let same = measure(&scene, &dir, runs);
    report("synthetic city, EPSG:3067 (no reprojection)", &same, gdal);
    scene.crs = Some("EPSG:32635".into());
    let utm = measure(&scene, &dir, runs);
    report("synthetic city, EPSG:3067 → UTM 35N", &utm, gdal);
}
