//! `citytwin bench render` on a small synthetic city (on Mesa lavapipe where there is no
//! GPU): one JSON object with the sizes, adapter, load-to-first-frame time and frame times.

use std::process::Command;

use serde_json::Value;

/// Buildings of the synthetic city: small, lavapipe is slow.
const BUILDINGS: u64 = 200;
/// Frames timed.
const FRAMES: u64 = 3;

/// Runs `citytwin bench render --json` on the small synthetic city at 64×48 with `extra`
/// flags; its one JSON object.
fn bench_json(extra: &[&str]) -> Value {
    let (buildings, frames) = (BUILDINGS.to_string(), FRAMES.to_string());
    let mut args = vec![
        "bench",
        "render",
        "--buildings",
        &buildings,
        "--size",
        "64x48",
        "--frames",
        &frames,
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = Command::new(env!("CARGO_BIN_EXE_citytwin"))
        .args(&args)
        .output()
        .expect("runs citytwin");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

#[test]
fn bench_render_prints_one_json_object() {
    let v = bench_json(&[]);
    assert_eq!(v["buildings"], BUILDINGS);
    assert_eq!(v["size"], serde_json::json!([64, 48]));
    assert_eq!(v["frames"], FRAMES);
    assert!(!v["adapter"].as_str().expect("adapter name").is_empty());
    let first = v["load_to_first_frame_s"]
        .as_f64()
        .expect("load_to_first_frame_s");
    let f = &v["frame_ms"];
    let (min, median, p90) = (
        f["min"].as_f64().expect("min"),
        f["median"].as_f64().expect("median"),
        f["p90"].as_f64().expect("p90"),
    );
    assert!(0.0 < min && min <= median && median <= p90, "{f}");
    let cpu = v["cpu"]["total_s"].as_f64().expect("cpu.total_s");
    assert!(
        cpu > 0.0 && cpu < first,
        "the CPU part is within the load: {cpu} vs {first}"
    );
    assert!(v["building_tiles"].as_u64().expect("building_tiles") > 0);
}

#[test]
fn bench_render_needs_a_city_and_sane_numbers() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_citytwin"))
            .args(args)
            .output()
            .expect("runs citytwin")
    };
    assert_eq!(run(&["bench", "render"]).status.code(), Some(2));
    let out = run(&["bench", "render", "--buildings", "10", "--frames", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("frames"));
    let out = run(&["bench", "render", "/nonexistent/bench.ron"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/bench.ron"));
}

#[test]
fn bench_render_breaks_a_frame_into_passes_and_schedules() {
    let v = bench_json(&["--msaa", "1", "--aa", "fxaa", "--passes", "--executor", "single"]);
    assert_eq!(v["executor"], "single");
    assert_eq!(v["post_aa"], "fxaa");
    let passes = v["passes"].as_array().expect("passes");
    let pass = |name: &str| {
        passes
            .iter()
            .find(|p| p["pass"] == name)
            .unwrap_or_else(|| panic!("no pass {name} in {passes:?}"))
    };
    // The opaque pass draws the city's triangles; FXAA runs its full-screen pass.
    let main = pass("main_opaque_pass_3d");
    assert!(
        main["primitives"].as_f64().expect("triangles counted") > 1000.0,
        "{main}"
    );
    assert!(
        main["gpu_ms"].as_f64().expect("GPU time measured") > 0.0,
        "{main}"
    );
    assert!(pass("fxaa")["gpu_ms"].as_f64().is_some());
    // The frame's CPU time splits into the main world, the render world's preparation and
    // its rendering, each part of the update.
    let median = |k: &str| v[k]["median"].as_f64().unwrap_or_else(|| panic!("{k} in {v}"));
    let parts = median("main_ms") + median("prepare_ms") + median("render_ms");
    assert!(parts > 0.0 && median("main_ms") > 0.0, "{v}");
    assert!(median("prepare_ms") <= median("update_ms"), "{v}");
    assert!(v["entities"].as_u64().expect("entities") > v["building_tiles"].as_u64().expect("tiles"));
}
