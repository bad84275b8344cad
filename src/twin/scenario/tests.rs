//! Scenario tests on a hand-computed fixture (one street, ten homes, one stop, one zone)
//! and on the default scene (the shipped sample scenario and its golden report).

use std::path::{Path, PathBuf};

use geo_types::{MultiPolygon, Point, polygon};

use super::*;
use crate::twin::city::{BuildingId, CityModel, Poi, RoadId, Zone, ZoneId};
use crate::twin::crs::{Crs, SceneOrigin};
use crate::twin::feeds::Timestamp;
use crate::twin::indicators::network::tests::road;
use crate::twin::indicators::population::tests::building;
use crate::twin::indicators::tests::json_diff;
use crate::twin::indicators::{Computed, Evaluation, FeedInputs, IndicatorConfig, IndicatorContext};
use crate::twin::scenario::report::report_for_files;

/// Env switch that rewrites the golden file instead of comparing with it.
const UPDATE_GOLDEN: &str = "CITYTWIN_UPDATE_GOLDEN";
/// The golden report of the Helsinki sample scenario on the Helsinki scene.
const GOLDEN: &str = "tests/golden/scenario-default.json";
/// The sample scenario shipped for the Helsinki scene.
const SAMPLE: &str = "scenes/scenarios/kluuvi-green-and-transit.ron";
/// Evaluation time of the golden report (2026-01-15T12:00:00Z).
const GOLDEN_AT: i64 = 1_768_478_400_000;

/// A street along y = 0 from x = 0 to 2,000 (a vertex every 100 m); ten 10 × 10 m, 6 m
/// apartment blocks (2 storeys, 200 m², 5 residents) with centroids at (0..900, 20); one
/// stop at (100, 5); one zone x −50..2,050, y −100..200.
fn fixture() -> CityModel {
    let mut c = CityModel::empty("fixture", Crs::Epsg(3067), SceneOrigin::default());
    let street: Vec<(f64, f64)> = (0..=20).map(|i| (i as f64 * 100.0, 0.0)).collect();
    c.roads.push(road(&street, "residential"));
    c.roads.push(road(&[(1000.0, 0.0), (1000.0, 150.0)], "motorway"));
    for i in 0..10 {
        let x = i as f64 * 100.0;
        c.buildings
            .push(building(x - 5.0, 15.0, 10.0, 10.0, 6.0, "apartments"));
    }
    c.pois.push(Poi {
        layer: crate::twin::city::LayerId(0),
        source_id: 0,
        point: Point::new(100.0, 5.0),
        category: "public_transport".into(),
        kind: "platform".into(),
        name: None,
    });
    c.zones.push(Zone {
        name: "Z".into(),
        area: MultiPolygon(vec![
            polygon![(x: -50.0, y: -100.0), (x: 2050.0, y: -100.0), (x: 2050.0, y: 200.0), (x: -50.0, y: 200.0)],
        ]),
        generated: false,
    });
    c
}

fn setup() -> (CityModel, IndicatorContext) {
    let city = fixture();
    let ctx = IndicatorContext::new(&city, &IndicatorConfig::without_zone_minimums());
    (city, ctx)
}

fn at() -> FeedInputs {
    FeedInputs::none(Timestamp(0))
}

fn value(ctx: &IndicatorContext, e: &Evaluation, id: &str) -> f64 {
    let k = ctx.catalogue.indicators.iter().position(|d| d.id == id).unwrap();
    e.city[k].value.unwrap()
}

fn base_eval(city: &CityModel, ctx: &IndicatorContext) -> (Computed, Evaluation) {
    EditStack::new(city, ctx, CostTable::default()).indicators(&at())
}

#[test]
fn a_stop_next_to_homes_raises_transit_coverage_by_the_hand_computed_amount() {
    let (city, ctx) = setup();
    let (_, before) = base_eval(&city, &ctx);
    // Home at x: 20 m to the street, |x − 100| along it, 5 m to the stop: within 400 m
    // for x = 0..400, 5 of 10 homes.
    assert!((value(&ctx, &before, "mob.transit_access_400m") - 50.0).abs() < 1e-9);
    let mut s = EditStack::new(&city, &ctx, CostTable::default());
    s.push(ScenarioEdit::new(Edit::TransitStop {
        at: (900.0, 5.0),
        mode: TransitMode::Bus,
        name: None,
    }))
    .unwrap();
    // The new stop at 900 reaches |x − 900| ≤ 375: homes 600..900, four more: 90 %.
    let (c, after) = s.indicators(&at());
    assert!((value(&ctx, &after, "mob.transit_access_400m") - 90.0).abs() < 1e-9);
    assert_eq!(s.applied()[0].quantities.stops, [1, 0, 0]);
    assert_eq!(s.applied()[0].cost.capital_eur, cost::STOP_EUR[0]);
    // Cost-benefit: 20 more residents reach transit.
    let g = benefit::gains(
        s.ctx(),
        (&base_eval(&city, &ctx).0, &before),
        (&c, &after),
        &s.applied()[0].quantities,
        s.costs(),
        s.applied()[0].cost.present_value_eur,
    );
    let t = g.iter().find(|g| g.id == "mob.transit_access_400m").unwrap();
    assert!((t.amount - 20.0).abs() < 1e-9);
    assert!((t.eur_per_unit.unwrap() - s.applied()[0].cost.present_value_eur / 20.0).abs() < 1e-6);
    // The incremental distances equal a fresh build's.
    let fresh = IndicatorContext::new(s.city(), &IndicatorConfig::without_zone_minimums());
    assert_eq!(fresh.compute(s.city(), &at()).city, c.city);
}

#[test]
fn demolishing_a_building_lowers_floor_area_by_its_own() {
    let (city, ctx) = setup();
    let (b0, _) = base_eval(&city, &ctx);
    let own = ctx.buildings[3].floor_m2;
    assert!((own - 200.0).abs() < 1e-9);
    let mut s = EditStack::new(&city, &ctx, CostTable::default());
    let a = s
        .push(ScenarioEdit::new(Edit::Demolish {
            buildings: vec![BuildingId(3)],
        }))
        .unwrap();
    assert!((a.quantities.demolished_floor_m2 - own).abs() < 1e-9);
    assert!((a.cost.capital_eur - own * cost::DEMOLITION_EUR_PER_M2).abs() < 1e-9);
    let (c, _) = s.indicators(&at());
    assert!((b0.city_sums.floor_m2 - c.city_sums.floor_m2 - own).abs() < 1e-9);
    assert!((b0.city_sums.residents - c.city_sums.residents - 5.0).abs() < 1e-9);
    assert!(s.city().buildings[3].footprint.0.is_empty());
    assert_eq!(
        city.buildings[3].footprint.0.len(),
        1,
        "the baseline is not modified"
    );
}

#[test]
fn a_park_raises_green_area_per_resident_by_its_area_over_the_population() {
    let (city, ctx) = setup();
    let (_, before) = base_eval(&city, &ctx);
    assert_eq!(value(&ctx, &before, "env.green_ha_per_100k"), 0.0);
    let mut s = EditStack::new(&city, &ctx, CostTable::default());
    // 1 ha for 50 residents: 1 / 50 × 100,000 = 2,000 ha per 100k.
    s.push(ScenarioEdit::new(Edit::AddPark {
        polygon: vec![(880.0, 30.0), (980.0, 30.0), (980.0, 130.0), (880.0, 130.0)],
        name: Some("Pocket park".into()),
    }))
    .unwrap();
    let (c, after) = s.indicators(&at());
    assert!((value(&ctx, &after, "env.green_ha_per_100k") - 2000.0).abs() < 1e-6);
    assert!((c.city_sums.green_m2 - 10_000.0).abs() < 1e-9);
    assert!((s.applied()[0].quantities.park_m2 - 10_000.0).abs() < 1e-9);
    // The park is also a destination: its corner (880, 30) is 36 m from the node at 900,
    // so homes at x reach it in 20 + (900 − x) + 36 ≤ 300 m: x = 700, 800, 900, 30 %.
    assert_eq!(value(&ctx, &before, "live.park_access_300m"), 0.0);
    assert!((value(&ctx, &after, "live.park_access_300m") - 30.0).abs() < 1e-9);
    let fresh = IndicatorContext::new(s.city(), &IndicatorConfig::without_zone_minimums());
    assert_eq!(fresh.compute(s.city(), &at()).city, c.city);
}

fn many_edits() -> Vec<ScenarioEdit> {
    vec![
        ScenarioEdit::new(Edit::AddBuilding {
            footprint: vec![(1395.0, 15.0), (1405.0, 15.0), (1405.0, 25.0), (1395.0, 25.0)],
            height_m: 15.0,
            usage: "school".into(),
            name: None,
        }),
        ScenarioEdit::new(Edit::SetHeight {
            buildings: vec![BuildingId(0), BuildingId(1)],
            height_m: 30.0,
        }),
        ScenarioEdit::new(Edit::SetUse {
            buildings: vec![BuildingId(2)],
            usage: "office".into(),
        }),
        ScenarioEdit::new(Edit::Demolish {
            buildings: vec![BuildingId(4)],
        }),
        ScenarioEdit::new(Edit::ZoneStoreys {
            zone: ZoneId(0),
            storeys: 2,
            usage: Some("apartments".into()),
        }),
        ScenarioEdit::new(Edit::ZoneUse {
            zone: ZoneId(0),
            from: "apartments".into(),
            to: "residential".into(),
        }),
        ScenarioEdit::new(Edit::AddPark {
            polygon: vec![(500.0, 40.0), (600.0, 40.0), (600.0, 90.0), (500.0, 90.0)],
            name: None,
        }),
        ScenarioEdit::new(Edit::LotsToGreen {
            buildings: vec![BuildingId(5)],
        }),
        ScenarioEdit::new(Edit::TransitStop {
            at: (700.0, 5.0),
            mode: TransitMode::Tram,
            name: None,
        }),
        ScenarioEdit::new(Edit::TransitLine {
            stops: vec![(100.0, 5.0), (1000.0, 5.0), (1800.0, 5.0)],
            mode: TransitMode::Bus,
            name: Some("Line 1".into()),
        }),
        ScenarioEdit::new(Edit::CloseToCars {
            roads: vec![RoadId(1)],
        }),
        ScenarioEdit::new(Edit::BikeLane {
            roads: vec![RoadId(0)],
        }),
        ScenarioEdit::new(Edit::SpeedLimit {
            roads: vec![RoadId(0)],
            kmh: 30.0,
        }),
        ScenarioEdit::new(Edit::RooftopSolar {
            target: SolarTarget::Zone(ZoneId(0)),
            share: 0.5,
        }),
    ]
}

#[test]
fn every_edit_applies_and_undo_restores_the_baseline_exactly() {
    let (city, ctx) = setup();
    let base = base_eval(&city, &ctx);
    let mut s = EditStack::new(&city, &ctx, CostTable::default());
    for e in many_edits() {
        let kind = e.edit.kind();
        s.push(e).unwrap_or_else(|err| panic!("{kind}: {err}"));
    }
    let (c, e) = s.indicators(&at());
    assert_ne!(c.city, base.0.city);
    // Incremental updates agree with a context built from scratch on the scenario city.
    let fresh = IndicatorContext::new(s.city(), &IndicatorConfig::without_zone_minimums());
    let f = fresh.compute(s.city(), &at());
    for (a, b) in f.city.iter().zip(&c.city) {
        match (a.value, b.value) {
            (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{x} vs {y}"),
            (x, y) => assert_eq!(x, y),
        }
    }
    // One stop of the line is the existing one at x = 100: two new bus stops, one tram.
    let q = s.total_quantities();
    assert_eq!(q.stops, [2, 1, 0]);
    assert!((q.line_km[0] - 1.7).abs() < 1e-9);
    assert!((q.bike_lane_km - 2.0).abs() < 1e-9);
    assert!((q.car_free_km - 0.15).abs() < 1e-9);
    assert!(q.solar_kwp > 0.0);
    assert_eq!(s.city().roads[0].maxspeed_kmh, Some(30.0));
    assert!(s.touched().buildings.contains(&BuildingId(10)));
    // Undo one by one back to the baseline: the same values, indicator for indicator.
    let mut middle = None;
    while s.can_undo() {
        s.undo();
        if s.applied().len() == 7 {
            middle = Some(s.indicators(&at()).1);
        }
    }
    let (c0, e0) = s.indicators(&at());
    assert_eq!(c0.city, base.0.city);
    assert_eq!(c0.zones, base.0.zones);
    assert_eq!(c0.city_sums, base.0.city_sums);
    assert_eq!(e0, base.1);
    assert_eq!(s.city().buildings.len(), city.buildings.len());
    assert_eq!(s.city().roads.len(), city.roads.len());
    assert_eq!(s.city().pois.len(), city.pois.len());
    // Redo everything: the same scenario again.
    for _ in 0..7 {
        s.redo().unwrap().unwrap();
    }
    assert_eq!(Some(s.indicators(&at()).1), middle);
    while s.redo().is_some() {}
    assert_eq!(s.indicators(&at()).1, e);
    assert!(!s.can_redo());
}

#[test]
fn a_saved_and_reloaded_scenario_gives_the_same_numbers() {
    let (city, ctx) = setup();
    let mut s = EditStack::new(&city, &ctx, CostTable::default());
    for e in many_edits() {
        s.push(e).unwrap();
    }
    let dir = std::env::temp_dir().join(format!("citytwin-scen-save-{}", std::process::id()));
    let path = dir.join("s.ron");
    s.to_scenario("all edits", "tests", "2026-11-28", "fixture.ron")
        .save(&path)
        .unwrap();
    let loaded = Scenario::load(&path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(loaded.edits, s.edits());
    let run = run_scenario(&city, &ctx, &CostTable::default(), &loaded, &at());
    assert!(run.skipped.is_empty());
    let (c, e) = s.indicators(&at());
    assert_eq!(run.last().0.city, c.city);
    assert_eq!(run.last().1, &e);
    assert_eq!(run.stack.total_cost(), s.total_cost());
}

#[test]
fn edits_on_missing_features_are_reported_and_skipped() {
    let (city, ctx) = setup();
    let mut sc = Scenario::new("bad ids", "fixture.ron");
    sc.edits = vec![
        ScenarioEdit::new(Edit::TransitStop {
            at: (900.0, 5.0),
            mode: TransitMode::Bus,
            name: None,
        }),
        ScenarioEdit::new(Edit::Demolish {
            buildings: vec![BuildingId(2), BuildingId(999)],
        }),
        ScenarioEdit::new(Edit::BikeLane {
            roads: vec![RoadId(77)],
        }),
        ScenarioEdit::new(Edit::ZoneStoreys {
            zone: ZoneId(9),
            storeys: 1,
            usage: None,
        }),
        ScenarioEdit::new(Edit::SetHeight {
            buildings: vec![BuildingId(1)],
            height_m: 9.0,
        }),
    ];
    let run = run_scenario(&city, &ctx, &CostTable::default(), &sc, &at());
    let skipped: Vec<(usize, &str)> = run.skipped.iter().map(|k| (k.index, k.kind.as_str())).collect();
    assert_eq!(
        skipped,
        vec![(1, "demolish"), (2, "bike_lane"), (3, "zone_storeys")]
    );
    assert_eq!(run.skipped[0].error, EditError::MissingBuilding(999));
    assert_eq!(run.skipped[1].error, EditError::MissingRoad(77));
    assert_eq!(run.skipped[2].error, EditError::MissingZone(9));
    assert!(run.skipped[0].reason.contains("999"));
    assert_eq!(run.steps.iter().map(|s| s.edit).collect::<Vec<_>>(), vec![0, 4]);
    // The refused demolition left building 2 standing.
    assert!(!run.stack.city().buildings[2].footprint.0.is_empty());
    assert_eq!(run.stack.city().buildings[1].height_m, 9.0);
    let cb = cost_benefit(&run);
    assert_eq!(
        cb.edits.iter().map(|b| b.edit).collect::<Vec<_>>(),
        vec![Some(0), Some(4)]
    );
}

#[test]
fn a_self_intersecting_footprint_is_refused_with_a_message() {
    let (city, ctx) = setup();
    let mut s = EditStack::new(&city, &ctx, CostTable::default());
    let bow_tie = vec![(0.0, 50.0), (20.0, 70.0), (20.0, 50.0), (0.0, 70.0)];
    let err = s
        .push(ScenarioEdit::new(Edit::AddBuilding {
            footprint: bow_tie.clone(),
            height_m: 10.0,
            usage: "house".into(),
            name: None,
        }))
        .unwrap_err();
    assert!(
        matches!(
            err,
            EditError::BadPolygon {
                what: crate::twin::scenario::apply::DrawnShape::Footprint,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("self-intersection"), "{err}");
    assert_eq!(s.city().buildings.len(), city.buildings.len());
    assert!(!s.can_undo());
    let err = s
        .push(ScenarioEdit::new(Edit::AddPark {
            polygon: bow_tie,
            name: None,
        }))
        .unwrap_err();
    assert!(err.to_string().contains("park"), "{err}");
    let err = s
        .push(ScenarioEdit::new(Edit::AddPark {
            polygon: vec![(0.0, 0.0), (1.0, 1.0)],
            name: None,
        }))
        .unwrap_err();
    assert!(err.to_string().contains("at least 3"), "{err}");
    // A proper square, given closed, is accepted.
    s.push(ScenarioEdit::new(Edit::AddBuilding {
        footprint: vec![(0.0, 50.0), (20.0, 50.0), (20.0, 70.0), (0.0, 70.0), (0.0, 50.0)],
        height_m: 10.0,
        usage: "house".into(),
        name: None,
    }))
    .unwrap();
    assert_eq!(s.city().buildings.len(), city.buildings.len() + 1);
}

#[test]
fn the_cost_benefit_table_ranks_edits_by_cost_per_gain() {
    let (city, ctx) = setup();
    let mut sc = Scenario::new("two stops", "fixture.ron");
    sc.edits = vec![
        // A tram stop at 700 adds homes 500..900 (five); a bus stop at 900 then adds none.
        ScenarioEdit::new(Edit::TransitStop {
            at: (700.0, 5.0),
            mode: TransitMode::Tram,
            name: None,
        }),
        ScenarioEdit {
            edit: Edit::TransitStop {
                at: (1100.0, 5.0),
                mode: TransitMode::Bus,
                name: None,
            },
            cost: CostOverride {
                capital_eur: Some(1_000.0),
                operating_eur_per_year: Some(0.0),
            },
            note: "no homes near".into(),
        },
    ];
    let run = run_scenario(&city, &ctx, &CostTable::default(), &sc, &at());
    let cb = cost_benefit(&run);
    assert_eq!(cb.edits.len(), 2);
    let t0 = cb.edits[0]
        .gains
        .iter()
        .find(|g| g.id == "mob.transit_access_400m")
        .unwrap();
    assert!((t0.amount - 25.0).abs() < 1e-9);
    assert!(
        cb.edits[1]
            .gains
            .iter()
            .all(|g| g.id != "mob.transit_access_400m")
    );
    assert_eq!(cb.edits[1].cost.capital_eur, 1_000.0);
    assert!(cb.edits[1].cost.overridden);
    assert_eq!(cb.edits[1].note, "no homes near");
    let total_pv = cb.edits[0].cost.present_value_eur + cb.edits[1].cost.present_value_eur;
    assert!((cb.total.cost.present_value_eur - total_pv).abs() < 1e-6);
    let r = cb
        .rankings
        .iter()
        .find(|r| r.gain == "mob.transit_access_400m")
        .unwrap();
    assert_eq!(r.entries.len(), 1);
    assert_eq!(r.entries[0].item, 0);
    let tt = cb
        .total
        .gains
        .iter()
        .find(|g| g.id == "mob.transit_access_400m")
        .unwrap();
    assert!((tt.eur_per_unit.unwrap() - total_pv / 25.0).abs() < 1e-6);
    // Status change in the comparison: 50 % (alarm) → 100 % (on target).
    let (_, last) = run.last();
    let cmp = compare(&ctx.catalogue, &ctx.zone_names, &run.baseline.1, last);
    let row = cmp.indicator("mob.transit_access_400m").unwrap();
    assert_eq!(row.status_change.as_deref(), Some("alarm → on_target"));
    assert_eq!(row.better, Some(true));
    assert!((row.delta_pct_of_target.unwrap() - 50.0 / 90.0 * 100.0).abs() < 1e-9);
    assert_eq!(cmp.changed_zones_only().zones.len(), 1);
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

#[test]
fn the_sample_scenario_matches_the_golden_report() {
    let scene = root().join(crate::twin::scene::HELSINKI_SCENE);
    let set = report_for_files(&scene, &[root().join(SAMPLE)], Timestamp(GOLDEN_AT)).unwrap();
    let r = &set.scenarios[0];
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    assert!(r.scenario.applied >= 6);
    let kinds: std::collections::BTreeSet<&str> =
        r.cost_benefit.edits.iter().map(|b| b.kind.as_str()).collect();
    assert!(kinds.len() >= 6, "{kinds:?}");
    let transit = r.comparison.indicator("mob.transit_access_400m").unwrap();
    assert!(transit.delta.unwrap() > 0.0, "{transit:?}");
    let got = serde_json::to_value(r).unwrap();
    let path = root().join(GOLDEN);
    if std::env::var_os(UPDATE_GOLDEN).is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
        return;
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (set {UPDATE_GOLDEN}=1 to write it)", path.display()));
    let want: serde_json::Value = serde_json::from_str(&text).unwrap();
    if let Some(d) = json_diff(&got, &want, "") {
        panic!("the report differs from {GOLDEN} at {d} (set {UPDATE_GOLDEN}=1 to accept)");
    }
}

#[test]
fn a_scenario_for_another_scene_is_refused() {
    let dir = std::env::temp_dir().join(format!("citytwin-scen-other-{}", std::process::id()));
    let path = dir.join("x.ron");
    Scenario::new("x", "elsewhere.ron").save(&path).unwrap();
    let scene = root().join(crate::twin::scene::DEFAULT_SCENE);
    let e = report_for_files(&scene, std::slice::from_ref(&path), Timestamp(0))
        .unwrap_err()
        .to_string();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(e.contains("x.ron") && e.contains("elsewhere.ron"), "{e}");
}
