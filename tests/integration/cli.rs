//! The `citytwin` command's headless tools: inspect (text and JSON), import, synth, and
//! its exit codes for bad input and bad usage.

use std::process::{Command, Output};

use serde_json::Value;

use crate::common::{data, tmp};

fn citytwin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_citytwin"))
        .args(args)
        .output()
        .expect("runs citytwin")
}

fn json_of(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn inspect_json_on_state_plane_feet() {
    let Some(p) = data("shp/nyc-west-village/buildings.shp") else {
        return;
    };
    let out = citytwin(&["inspect", p.to_str().unwrap(), "--json", "--timings"]);
    let v = json_of(&out);
    let l = &v["layers"][0];
    assert_eq!(l["name"], "buildings.shp");
    assert_eq!(l["format"], "shapefile");
    assert!(l["crs"].as_str().unwrap().contains("New_York"), "{}", l["crs"]);
    assert_eq!(l["features"], 1520);
    assert_eq!(l["geometry"]["Polygon"], 1520);
    let b: Vec<f64> = l["bbox_wgs84"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!(
        b[0] > -74.02 && b[2] < -73.98 && b[1] > 40.72 && b[3] < 40.76,
        "{b:?}"
    );
    assert_eq!(l["height_source"]["measured"], 1509);
    let h = &l["height_m"];
    assert!(h["min"].as_f64().unwrap() <= h["median"].as_f64().unwrap());
    assert!(h["median"].as_f64().unwrap() <= h["max"].as_f64().unwrap());
    assert!(l["timings"]["read_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn inspect_text_on_a_pbf_lists_its_layers() {
    let Some(p) = data("osm/nyc-west-village.osm.pbf") else {
        return;
    };
    let out = citytwin(&["inspect", p.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("nyc-west-village.osm.pbf/buildings"), "{text}");
    assert!(text.contains("nyc-west-village.osm.pbf/roads"), "{text}");
    assert!(text.contains("height m:"), "{text}");
    assert!(text.contains("EPSG:32618"), "{text}");
}

#[test]
fn bad_input_exits_1_naming_the_file_and_usage_exits_2() {
    let out = citytwin(&["inspect", "/nonexistent/city.shp"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/city.shp"));
    let out = citytwin(&["inspect"]);
    assert_eq!(out.status.code(), Some(2));
    let out = citytwin(&["synth", "--buildings", "many", "--out", "x"]);
    assert_eq!(out.status.code(), Some(2));
    let dir = tmp("badscene");
    let scene = dir.join("bad.ron");
    std::fs::write(&scene, "(\n  name: \"x\",\n  layers: [],\n  wobble: 1,\n)").unwrap();
    let out = citytwin(&["inspect", scene.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.ron:4:"), "{err}");
    // A file that is not a shapefile at all.
    let junk = dir.join("junk.shp");
    std::fs::write(&junk, b"this is not a shapefile").unwrap();
    std::fs::write(dir.join("junk.shx"), b"nor is this").unwrap();
    std::fs::write(dir.join("junk.dbf"), b"nor this").unwrap();
    let out = citytwin(&["inspect", junk.to_str().unwrap(), "--crs", "EPSG:3067"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("junk"));
}

#[test]
fn synth_then_inspect() {
    let dir = tmp("synth");
    let out = citytwin(&[
        "synth",
        "--buildings",
        "3000",
        "--out",
        dir.to_str().unwrap(),
        "--seed",
        "3",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&citytwin(&[
        "inspect",
        dir.join("synth.ron").to_str().unwrap(),
        "--json",
    ]));
    let layers = v["layers"].as_array().unwrap();
    let b = layers.iter().find(|l| l["name"] == "buildings").unwrap();
    assert_eq!(b["features"], 3000);
    assert!(b["crs"].as_str().unwrap().contains("TM35FIN"), "{}", b["crs"]);
    let src = &b["height_source"];
    let total: u64 = ["measured", "levels", "estimated"]
        .iter()
        .map(|k| src[k].as_u64().unwrap())
        .sum();
    assert_eq!(total, 3000);
    let z = layers.iter().find(|l| l["name"] == "districts").unwrap();
    assert!(z["features"].as_u64().unwrap() >= 1);
}

#[test]
fn import_writes_shapefiles_and_geojson_that_read_back() {
    let Some(p) = data("osm/nyc-west-village.osm.pbf") else {
        return;
    };
    let dir = tmp("import");
    let out = citytwin(&[
        "import",
        p.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
        "--crs",
        "EPSG:2263",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.join("buildings.shp").exists() && dir.join("buildings.prj").exists());
    assert!(dir.join("pois.geojson").exists());
    let v = json_of(&citytwin(&[
        "inspect",
        dir.join("scene.ron").to_str().unwrap(),
        "--json",
    ]));
    let layers = v["layers"].as_array().unwrap();
    let b = layers.iter().find(|l| l["name"] == "buildings").unwrap();
    let n = b["features"].as_u64().unwrap();
    // 1,520 building ways plus building parts and multipolygon relations.
    assert!((1520..=1600).contains(&n), "{n}");
    let measured = b["height_source"]["measured"].as_u64().unwrap();
    assert!(measured >= 1500, "{measured}");
    let pois = layers.iter().find(|l| l["name"] == "pois").unwrap();
    assert_eq!(pois["format"], "geojson");
    assert_eq!(pois["crs"], "EPSG:2263");
    assert!(pois["features"].as_u64().unwrap() > 100);
}

#[test]
fn indicators_json_of_the_default_scene() {
    let scene = crate::common::root().join("scenes/default.ron");
    let out = citytwin(&[
        "indicators",
        scene.to_str().unwrap(),
        "--at",
        "2026-01-15T12:00:00Z",
        "--json",
    ]);
    let v = json_of(&out);
    assert_eq!(v["at"], 1_768_478_400_000i64);
    let index = v["index"].as_f64().expect("an index");
    assert!((0.0..=100.0).contains(&index), "{index}");
    for d in [
        "economy",
        "governance",
        "environment",
        "people",
        "mobility",
        "living",
    ] {
        assert!(v["dimensions"].get(d).is_some(), "dimension {d}");
    }
    let inds = v["indicators"].as_array().unwrap();
    assert!(inds.len() >= 24);
    for i in inds {
        for k in [
            "id",
            "name",
            "dimension",
            "unit",
            "value",
            "target",
            "status",
            "iso",
        ] {
            assert!(i.get(k).is_some(), "{k} missing in {i}");
        }
        assert_eq!(i["value"].is_null(), i["status"] == "no_data", "{i}");
    }
    let transit = inds
        .iter()
        .find(|i| i["id"] == "mob.transit_access_400m")
        .unwrap();
    assert!(transit["value"].as_f64().unwrap() > 0.0);
    let zones = v["zones"].as_array().unwrap();
    assert!(!zones.is_empty());
    assert_eq!(zones[0]["indicators"].as_array().unwrap().len(), inds.len());
    assert!(v["alerts"].is_array());

    let text = citytwin(&["indicators", scene.to_str().unwrap(), "--at", "0"]);
    assert!(text.status.success(), "{}", String::from_utf8_lossy(&text.stderr));
    assert!(String::from_utf8_lossy(&text.stdout).contains("live.fifteen_minute_city"));
    let bad = citytwin(&["indicators", scene.to_str().unwrap(), "--at", "yesterday"]);
    assert_eq!(bad.status.code(), Some(2), "a bad time is a usage error");
    let missing = citytwin(&["indicators", "no/such/scene.ron"]);
    assert_eq!(missing.status.code(), Some(1));
}

/// `indicators --lang zh-CN`: the text report in Chinese (words, dimensions, statuses,
/// indicator names), the JSON the same in every language (ids and numbers).
#[test]
fn indicators_text_follows_the_language_and_json_does_not() {
    let scene = crate::common::root().join("scenes/default.ron");
    let scene = scene.to_str().unwrap();
    let at = "2026-01-15T12:00:00Z";
    let zh = citytwin(&["indicators", scene, "--at", at, "--lang", "zh-CN"]);
    assert!(zh.status.success(), "{}", String::from_utf8_lossy(&zh.stderr));
    let text = String::from_utf8_lossy(&zh.stdout);
    for word in [
        "智慧城市指数",
        "环境",
        "出行",
        "全市",
        "步行400米内可达公共交通的居民",
        "2026年1月15日 12:00",
    ] {
        assert!(text.contains(word), "no '{word}' in {text}");
    }
    assert!(!text.contains("smart-city index"), "{text}");
    let en = citytwin(&["indicators", scene, "--at", at, "--lang", "en"]);
    assert!(String::from_utf8_lossy(&en.stdout).contains("smart-city index"));
    let json = |lang: &str| {
        json_of(&citytwin(&[
            "indicators",
            scene,
            "--at",
            at,
            "--json",
            "--lang",
            lang,
        ]))
    };
    let (a, b) = (json("zh-CN"), json("en"));
    assert_eq!(a["indicators"], b["indicators"], "JSON is language-neutral");
    assert_eq!(a["index"], b["index"]);
    let bad = citytwin(&["indicators", scene, "--lang", "tlh"]);
    assert_eq!(bad.status.code(), Some(2), "an unknown language is a usage error");
}

#[test]
fn indicators_json_says_which_values_are_simulated_and_where_they_apply() {
    use citytwin::twin::feeds::Timestamp;
    use citytwin::twin::fixtures;
    let dir = tmp("indicators-kinds");
    let scene = fixtures::scene_with_history_in(&dir).unwrap();
    let at = Timestamp(1_768_478_400_000); // 2026-01-15T12:00Z
    fixtures::write_history(
        &dir,
        &[
            fixtures::pm25("aq-1", 9.0, at.plus_ms(-2 * Timestamp::HOUR_MS)),
            fixtures::pm25("aq-2", 21.0, at.plus_ms(-Timestamp::HOUR_MS)),
        ],
    )
    .unwrap();
    let out = citytwin(&[
        "indicators",
        scene.to_str().unwrap(),
        "--at",
        &at.0.to_string(),
        "--json",
    ]);
    let v = json_of(&out);
    let inds = v["indicators"].as_array().unwrap();
    let kinds = |i: &Value| -> Vec<String> {
        i["source_kinds"]
            .as_array()
            .unwrap_or_else(|| panic!("no source_kinds in {i}"))
            .iter()
            .map(|k| k.as_str().unwrap().to_string())
            .collect()
    };
    let pm = inds.iter().find(|i| i["id"] == "env.pm25_daily_mean").unwrap();
    assert_eq!(pm["value"].as_f64(), Some(15.0), "the mean of 9 and 21");
    assert_eq!(kinds(pm), ["simulated"], "{pm}");
    for i in inds {
        assert!(i["base"].is_string() && i["applies"].is_string(), "{i}");
        if i["id"].as_str().unwrap().starts_with("live.") {
            assert!(kinds(i).is_empty(), "a map indicator has no feed: {i}");
        }
    }
    // Zones: a value is null exactly where there is no data or the zone lacks the base;
    // not applicable is common at the edges, and no alert names such a zone.
    let zones = v["zones"].as_array().unwrap();
    let mut not_applicable = 0;
    for z in zones {
        for x in z["indicators"].as_array().unwrap() {
            let status = x["status"].as_str().unwrap();
            assert_eq!(
                x["value"].is_null(),
                status == "no_data" || status == "not_applicable",
                "{x}"
            );
            not_applicable += usize::from(status == "not_applicable");
        }
    }
    assert!(not_applicable > 0);
    for a in v["alerts"].as_array().unwrap() {
        let Some(zone) = a["zone"].as_str() else { continue };
        let z = zones.iter().find(|z| z["zone"] == zone).unwrap();
        let x = z["indicators"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == a["indicator"])
            .unwrap();
        assert_ne!(
            x["status"], "not_applicable",
            "alert {a} on a zone without the base"
        );
    }
    // The text report marks the simulated value.
    let text = citytwin(&["indicators", scene.to_str().unwrap(), "--at", &at.0.to_string()]);
    let text = String::from_utf8_lossy(&text.stdout);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("env.pm25_daily_mean"))
        .unwrap();
    assert!(line.contains("[SIMULATED]"), "{line}");
    let _ = std::fs::remove_dir_all(&dir);
}
