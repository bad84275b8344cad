//! `citytwin bench panels` on the default scene: one JSON object with the panels' cost per
//! frame (the figure itself is read by people, not checked against the goal here).

use std::process::Command;

use serde_json::Value;

/// Frames timed: a few are enough to see the command work.
const FRAMES: u64 = 5;

#[test]
fn bench_panels_prints_one_json_object() {
    let scene = crate::common::root().join(citytwin::twin::scene::HELSINKI_SCENE);
    let out = Command::new(env!("CARGO_BIN_EXE_citytwin"))
        .args([
            "bench",
            "panels",
            scene.to_str().expect("utf-8 path"),
            "--frames",
            &FRAMES.to_string(),
            "--json",
        ])
        .output()
        .expect("runs citytwin");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    assert_eq!(v["frames"], FRAMES);
    let (median, p90, max) = (
        v["median_ms"].as_f64().expect("median_ms"),
        v["p90_ms"].as_f64().expect("p90_ms"),
        v["max_ms"].as_f64().expect("max_ms"),
    );
    assert!(0.0 < median && median <= p90 && p90 <= max, "{v}");
    assert!(v["indicators"].as_u64().expect("indicators") >= 24);
    assert!(v["zones"].as_u64().expect("zones") > 0);
    let panels: Vec<&str> = v["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(panels, ["dashboard", "map overlays", "zone window"]);
}

#[test]
fn bench_panels_names_a_missing_scene() {
    let out = Command::new(env!("CARGO_BIN_EXE_citytwin"))
        .args(["bench", "panels", "/nonexistent/citytwin/no-scene.ron"])
        .output()
        .expect("runs citytwin");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-scene.ron"));
}
