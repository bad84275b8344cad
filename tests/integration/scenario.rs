//! The headless scenario commands: `citytwin scenario apply` (JSON and text) on the sample
//! scenario of the default scene, `scenario compare`, and bad input.

use std::process::{Command, Output};

use serde_json::Value;

use crate::common::{root, tmp};

/// The sample scenario shipped for the default scene.
const SAMPLE: &str = "scenes/scenarios/kluuvi-green-and-transit.ron";

fn citytwin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_citytwin"))
        .args(args)
        .output()
        .expect("runs citytwin")
}

#[test]
fn scenario_apply_json_text_compare_and_bad_input() {
    let scene = root().join(citytwin::twin::scene::HELSINKI_SCENE);
    let sample = root().join(SAMPLE);
    let (scene_s, sample_s) = (scene.to_str().unwrap(), sample.to_str().unwrap());
    let out = citytwin(&[
        "scenario",
        "apply",
        scene_s,
        sample_s,
        "--at",
        "2026-01-15T12:00:00Z",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["at"], 1_768_478_400_000i64);
    assert_eq!(v["skipped"].as_array().unwrap().len(), 0);
    let inds = v["comparison"]["indicators"].as_array().unwrap();
    assert!(inds.len() >= 24);
    for i in inds {
        for k in [
            "id",
            "baseline",
            "scenario",
            "delta",
            "delta_pct_of_target",
            "baseline_status",
            "scenario_status",
        ] {
            assert!(i.get(k).is_some(), "{k} missing in {i}");
        }
    }
    let edits = v["cost_benefit"]["edits"].as_array().unwrap();
    assert!(edits.len() >= 6);
    assert!(
        v["cost_benefit"]["total"]["cost"]["capital_eur"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(!v["cost_benefit"]["rankings"].as_array().unwrap().is_empty());
    // The same figures as the golden report of the core.
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/golden/scenario-default.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(v["comparison"]["index"], golden["comparison"]["index"]);
    assert_eq!(
        v["cost_benefit"]["total"]["cost"],
        golden["cost_benefit"]["total"]["cost"]
    );

    let text = citytwin(&["scenario", "apply", scene_s, sample_s, "--at", "0"]);
    assert!(text.status.success(), "{}", String::from_utf8_lossy(&text.stderr));
    let t = String::from_utf8_lossy(&text.stdout);
    assert!(
        t.contains("mob.transit_access_400m") && t.contains("cost-benefit"),
        "{t}"
    );

    // A second scenario (the sample's first edit only) to compare with.
    let dir = tmp("scenario");
    let mut s = citytwin::twin::scenario::Scenario::load(&sample).unwrap();
    s.name = "first edit only".into();
    s.edits.truncate(1);
    let other = dir.join("first.ron");
    s.save(&other).unwrap();
    let out = citytwin(&[
        "scenario",
        "compare",
        scene_s,
        sample_s,
        other.to_str().unwrap(),
        "--at",
        "0",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summaries"].as_array().unwrap().len(), 2);
    assert_eq!(v["summaries"][1]["name"], "first edit only");
    assert!(!v["rankings"].as_array().unwrap().is_empty());

    // Bad input: a missing scenario file names it and exits 1.
    let out = citytwin(&["scenario", "apply", scene_s, "no/such/scenario.ron"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/scenario.ron"));
    let out = citytwin(&["scenario", "compare", scene_s, sample_s]);
    assert_eq!(out.status.code(), Some(2), "compare needs two scenarios");
}
