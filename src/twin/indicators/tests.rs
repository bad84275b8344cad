//! Indicator tests on a hand-computed fixture (one street, three stops, ten homes, two
//! zones), on feeds and forecasts, and on the default scene (sums, golden JSON).

use std::path::{Path, PathBuf};

use geo_types::{MultiPolygon, Point, polygon};

use super::*;
use crate::twin::city::{BuildingId, LandArea, LayerId, Poi, Zone};
use crate::twin::crs::{Crs, SceneOrigin};
use crate::twin::feeds::{Observation, SourceId, Subject};
use crate::twin::gis::layer::LayerKind;
use crate::twin::indicators::network::tests::road;
use crate::twin::indicators::population::tests::building;

/// Env switch that rewrites the golden file instead of comparing with it.
const UPDATE_GOLDEN: &str = "CITYTWIN_UPDATE_GOLDEN";
/// The golden report of the default scene.
const GOLDEN: &str = "tests/golden/indicators-default.json";
/// Evaluation time of the golden report (2026-01-15T12:00:00Z).
const GOLDEN_AT: i64 = 1_768_478_400_000;
/// Relative tolerance on golden floats.
const GOLDEN_REL_TOL: f64 = 1e-6;

fn poi(x: f64, y: f64, category: &str, kind: &str) -> Poi {
    Poi {
        layer: LayerId(1),
        source_id: 0,
        point: Point::new(x, y),
        category: category.into(),
        kind: kind.into(),
        name: None,
    }
}

fn square_zone(name: &str, x0: f64, x1: f64) -> Zone {
    Zone {
        name: name.into(),
        area: MultiPolygon(vec![
            polygon![(x: x0, y: -100.0), (x: x1, y: -100.0), (x: x1, y: 100.0), (x: x0, y: 100.0)],
        ]),
        generated: false,
    }
}

/// A street along y = 0 from x = 0 to 2,000 (a vertex every 100 m) and a cross street at
/// x = 400; ten 10 × 10 m, 6 m apartment blocks (2 storeys, 200 m², 5 residents) with
/// centroids at (0..900, 20); stops at x = 100, 200, 300 (y = 5); a school at x = 0, a
/// supermarket at 500, a clinic at 1,900; a 1 ha park at x 200–300, y 30–130; zone A
/// x −50..450, zone B 450..1,050.
fn fixture() -> CityModel {
    let mut c = CityModel::empty("fixture", Crs::Epsg(3067), SceneOrigin::default());
    let street: Vec<(f64, f64)> = (0..=20).map(|i| (i as f64 * 100.0, 0.0)).collect();
    c.roads.push(road(&street, "residential"));
    c.roads
        .push(road(&[(400.0, -100.0), (400.0, 0.0), (400.0, 100.0)], "cycleway"));
    for i in 0..10 {
        let x = i as f64 * 100.0;
        c.buildings
            .push(building(x - 5.0, 15.0, 10.0, 10.0, 6.0, "apartments"));
    }
    for x in [100.0, 200.0, 300.0] {
        c.pois.push(poi(x, 5.0, "public_transport", "platform"));
    }
    c.pois.push(poi(0.0, 5.0, "amenity", "school"));
    c.pois.push(poi(500.0, 5.0, "shop", "supermarket"));
    c.pois.push(poi(1900.0, 5.0, "amenity", "clinic"));
    c.areas.push(LandArea {
        layer: LayerId(2),
        kind: LayerKind::Green,
        class: "park".into(),
        area: MultiPolygon(vec![
            polygon![(x: 200.0, y: 30.0), (x: 300.0, y: 30.0), (x: 300.0, y: 130.0), (x: 200.0, y: 130.0)],
        ]),
    });
    c.zones.push(square_zone("A", -50.0, 450.0));
    c.zones.push(square_zone("B", 450.0, 1050.0));
    c
}

fn idx(ctx: &IndicatorContext, id: &str) -> usize {
    ctx.catalogue.indicators.iter().position(|d| d.id == id).unwrap()
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-6)
}

#[test]
fn gis_indicators_match_hand_computed_values() {
    let city = fixture();
    let ctx = IndicatorContext::new(&city, &IndicatorConfig::without_zone_minimums());
    assert!(ctx.problems.is_empty(), "{:?}", ctx.problems);
    let c = ctx.compute(&city, &FeedInputs::none(Timestamp(0)));
    let city_v = |id: &str| c.city[idx(&ctx, id)].value;
    let zone_v = |z: usize, id: &str| c.zones[z][idx(&ctx, id)].value;
    // Home at x = 600: 20 m to the street, 300 m along it, 5 m to the stop at 300.
    assert!((ctx.home_distance(6, catalogue::dest::TRANSIT).unwrap() - 325.0).abs() < 1e-6);
    // Stops within 400 m: homes at 0..600 (25 + 300 ≤ 400), not 700 (425): 7 of 10.
    assert!(
        close(city_v("mob.transit_access_400m"), 70.0),
        "{:?}",
        city_v("mob.transit_access_400m")
    );
    assert!(close(zone_v(0, "mob.transit_access_400m"), 100.0));
    assert!(close(zone_v(1, "mob.transit_access_400m"), 40.0));
    // Park within 300 m: 20 + gap + 30 ≤ 300 → homes at 0..500: 6 of 10.
    assert!(close(city_v("live.park_access_300m"), 60.0));
    // Grocery at 500 within 500 m: 25 + |x − 500| ≤ 500 → homes 100..900: 9 of 10.
    assert!(close(city_v("live.grocery_access_500m"), 90.0));
    // 15 minutes = 1,200 m; the clinic at 1,900 needs 25 + 1,900 − x ≤ 1,200 → x ≥ 725:
    // homes at 800 and 900 (and they reach the rest): 20 %.
    assert!(close(city_v("live.fifteen_minute_city"), 20.0));
    // 50 residents; 1 ha of green → 1 / 50 × 100,000 = 2,000 ha per 100k.
    assert!((c.city_sums.residents - 50.0).abs() < 1e-9);
    assert!(close(city_v("env.green_ha_per_100k"), 2000.0));
    assert!(close(zone_v(1, "env.green_ha_per_100k"), 0.0));
    // Zone A: 25 residents on 500 × 200 m = 0.1 km² → 250 / km²; FAR 1,000 m² / 100,000 m².
    assert!(close(zone_v(0, "people.population_density"), 250.0));
    assert!(close(zone_v(0, "live.floor_area_ratio"), 0.01));
    // One intersection (x = 400) in zone A: 10 per km². 200 m of cycleway per 25 residents.
    assert!(close(zone_v(0, "mob.intersection_density"), 10.0));
    assert!(close(zone_v(1, "mob.intersection_density"), 0.0));
    assert!(close(
        zone_v(0, "mob.cycleway_km_per_100k"),
        0.2 / 25.0 * 100_000.0
    ));
    // Roofs: 10 × 100 m² × 0.6 / 50 residents.
    assert!(close(city_v("env.solar_roof_per_resident"), 12.0));
    // POI kinds: 3 platforms, 1 school, 1 supermarket, 1 clinic → H = −(½ ln ½ + 3 · ⅙ ln ⅙).
    let h = -(0.5 * 0.5f64.ln() + 3.0 * (1.0 / 6.0) * (1.0f64 / 6.0).ln());
    assert!(close(city_v("econ.poi_diversity"), h));
    // Zone B has no school within 800 m for homes beyond x = 775: 800, 900 → 3 of 5 reach.
    assert!(close(zone_v(1, "people.school_access"), 60.0));
    // Feed indicators have no data without feeds.
    assert_eq!(city_v("env.pm25_daily_mean"), None);
}

#[test]
fn zones_without_an_indicators_base_are_not_applicable() {
    // The fixture's zones hold 25 residents each, below the default 100 a rate per
    // resident needs; each holds 1,000 m² of floor area, just the default minimum.
    let city = fixture();
    let cfg = IndicatorConfig::default();
    let ctx = IndicatorContext::new(&city, &cfg);
    let c = ctx.compute(&city, &FeedInputs::none(Timestamp(0)));
    let e = evaluate::evaluate(&ctx.catalogue, &c, ctx.stale_after_ms());
    let st = |z: usize, id: &str| e.zones[z][idx(&ctx, id)].status;
    for z in 0..2 {
        assert!((c.zone_sums[z].residents - 25.0).abs() < 1e-9);
        for id in [
            "mob.transit_access_400m",
            "people.population_density",
            "mob.cycleway_km_per_100k",
        ] {
            assert_eq!(st(z, id), Status::NotApplicable, "zone {z} {id}");
        }
        assert!(
            st(z, "live.floor_area_ratio").is_scored(),
            "zone {z}: 1,000 m² of floor area"
        );
        assert_eq!(
            st(z, "gov.feed_coverage"),
            Status::NotApplicable,
            "city-wide only"
        );
        assert_eq!(st(z, "env.pm25_daily_mean"), Status::NotApplicable, "no sensor");
    }
    // POI diversity needs 5 POIs: zone A holds 4 (3 stops, the school), B one (the
    // supermarket); with a minimum of 4, A's applies.
    assert_eq!(st(0, "econ.poi_diversity"), Status::NotApplicable);
    assert_eq!(st(1, "econ.poi_diversity"), Status::NotApplicable);
    let four = IndicatorConfig {
        min_zone_pois: 4,
        ..IndicatorConfig::default()
    };
    let ctx4 = IndicatorContext::new(&city, &four);
    let c4 = ctx4.compute(&city, &FeedInputs::none(Timestamp(0)));
    let k = idx(&ctx4, "econ.poi_diversity");
    assert!(c4.zones[0][k].applicable && !c4.zones[1][k].applicable);
    // City-wide every indicator applies, with the same values as without minimums.
    let open = IndicatorContext::new(&city, &IndicatorConfig::without_zone_minimums());
    let c0 = open.compute(&city, &FeedInputs::none(Timestamp(0)));
    for (a, b) in c.city.iter().zip(&c0.city) {
        assert!(a.applicable);
        assert_eq!(a.value, b.value);
    }
    // Not applicable takes no part in the composite: zone B's index comes from what applies.
    let scored = e.zones[1].iter().filter(|x| x.status.is_scored()).count();
    assert!(scored > 0);
    assert_eq!(e.zone_scores[1].1.is_some(), scored > 0);
    // A zone that loses its base closes its alerts.
    let mut log = AlertLog::new(ctx.horizon_ms());
    let e0 = evaluate::evaluate(&open.catalogue, &c0, open.stale_after_ms());
    let raised = log.update(&open.catalogue, &e0, &open.zone_names, &Histories::new());
    let zone_alerts: Vec<&Alert> = raised.iter().filter(|a| a.zone.is_some()).collect();
    assert!(!zone_alerts.is_empty(), "the tiny zones breach some targets");
    log.update(&ctx.catalogue, &e, &ctx.zone_names, &Histories::new());
    let still: Vec<&Alert> = log
        .active()
        .filter(|a| a.zone.is_some())
        .filter(|a| {
            let k = idx(&ctx, &a.indicator);
            e.zones[a.scope.unwrap() as usize][k].status == Status::NotApplicable
        })
        .collect();
    assert!(
        still.is_empty(),
        "open alerts on zones where they do not apply: {still:?}"
    );
}

#[test]
fn zone_sums_add_up_to_city_totals() {
    let city = fixture();
    let ctx = IndicatorContext::new(&city, &IndicatorConfig::default());
    let c = ctx.compute(&city, &FeedInputs::none(Timestamp(0)));
    assert_sums_add_up(&c);
    // The clinic lies in no zone: counted city-wide only.
    assert_eq!(c.unzoned.pois, 1);
    assert_eq!(c.city_sums.pois, 6);
}

fn assert_sums_add_up(c: &Computed) {
    let total = |f: &dyn Fn(&Sums) -> f64| c.zone_sums.iter().map(f).sum::<f64>() + f(&c.unzoned);
    let s = &c.city_sums;
    let eq = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(1.0);
    assert!(eq(total(&|z| z.residents), s.residents));
    assert!(eq(total(&|z| z.floor_m2), s.floor_m2));
    assert!(eq(total(&|z| z.green_m2), s.green_m2));
    assert!(eq(total(&|z| z.cycleway_m), s.cycleway_m));
    assert!(eq(total(&|z| z.buildings as f64), s.buildings as f64));
    assert!(eq(total(&|z| z.pois as f64), s.pois as f64));
    for (k, v) in &s.reached {
        assert!(eq(total(&|z| z.reached.get(k).copied().unwrap_or(0.0)), *v));
    }
}

#[test]
fn an_edited_building_updates_like_a_rebuild() {
    let mut city = fixture();
    let mut ctx = IndicatorContext::new(&city, &IndicatorConfig::default());
    // Home 9 becomes a 4-storey block and a school.
    city.buildings[9] = building(895.0, 15.0, 10.0, 10.0, 12.0, "school");
    ctx.update_building(&city, BuildingId(9));
    let fresh = IndicatorContext::new(&city, &IndicatorConfig::default());
    let at = FeedInputs::none(Timestamp(0));
    let (a, b) = (ctx.compute(&city, &at), fresh.compute(&city, &at));
    assert_eq!(a.city, b.city);
    assert_eq!(a.zones, b.zones);
    assert!(
        (a.city_sums.residents - 45.0).abs() < 1e-9,
        "a school has no residents"
    );
}

fn pm(sensor: &str, v: f64, t: i64) -> Observation {
    Observation::new(
        &SourceId("test".into()),
        Subject::Sensor(sensor.into()),
        Metric::Pm25,
        v,
        Timestamp(t),
    )
}

fn sensors() -> std::collections::HashMap<String, [f64; 2]> {
    [("s1".to_string(), [100.0, 50.0])].into_iter().collect()
}

#[test]
fn a_feed_value_changes_the_indicator_and_its_status() {
    let city = fixture();
    let mut ind = Indicators::new(&city, &IndicatorConfig::default());
    let at = 100 * Timestamp::HOUR_MS;
    let k = idx(&ind.ctx, "env.pm25_daily_mean");
    let mut feeds = FeedInputs {
        window: FeedWindow::new(Timestamp(at), [pm("s1", 10.0, at - 1000)]),
        sensors: sensors(),
        kinds: Default::default(),
    };
    let (_, e, raised) = ind.recompute(&city, &feeds, &Histories::new());
    assert_eq!(e.city[k].value, Some(10.0));
    assert_eq!(e.city[k].status, Status::OnTarget);
    assert_eq!(e.zones[0][k].status, Status::OnTarget, "the sensor is in zone A");
    // Zone B has no sensor and no observation of PM2.5: the mean does not apply there.
    assert_eq!(e.zones[1][k].status, Status::NotApplicable);
    assert_eq!(e.zones[1][k].value, None);
    assert_eq!(e.zone_scores.len(), 2);
    assert!(e.zone_scores[0].1.is_some(), "zone A has an index");
    assert!(raised.iter().all(|a| a.indicator != "env.pm25_daily_mean"));
    feeds.window = FeedWindow::new(Timestamp(at), [pm("s1", 30.0, at - 1000)]);
    let (_, e, raised) = ind.recompute(&city, &feeds, &Histories::new());
    assert_eq!(e.city[k].value, Some(30.0));
    assert_eq!(e.city[k].status, Status::Warning);
    let a = raised
        .iter()
        .find(|a| a.indicator == "env.pm25_daily_mean" && a.zone.is_none())
        .expect("a threshold alert");
    assert_eq!(a.kind, AlertKind::Threshold);
    assert_eq!(a.level, Status::Warning);
    assert!(ind.alerts.acknowledge(a.id, Timestamp(at)));
    assert!(!ind.alerts.acknowledge(a.id, Timestamp(at)));
    // The same status again raises nothing new; back on target closes it, kept in history.
    let (_, _, again) = ind.recompute(&city, &feeds, &Histories::new());
    assert!(again.iter().all(|x| x.indicator != "env.pm25_daily_mean"));
    feeds.window = FeedWindow::new(Timestamp(at), [pm("s1", 5.0, at - 1000)]);
    ind.recompute(&city, &feeds, &Histories::new());
    let h = ind.alerts.history().iter().find(|x| x.id == a.id).unwrap();
    assert!(h.closed.is_some() && h.acknowledged.is_some());
    // Old data is stale, but keeps its value.
    feeds.window = FeedWindow::new(Timestamp(at), [pm("s1", 5.0, at - 5 * Timestamp::HOUR_MS)]);
    let (_, e, _) = ind.recompute(&city, &feeds, &Histories::new());
    assert_eq!(e.city[k].status, Status::Stale);
    assert_eq!(e.city[k].value, Some(5.0));
}

#[test]
fn forecast_alert_on_a_rising_series_not_on_a_flat_one() {
    let city = fixture();
    let at = 200 * Timestamp::HOUR_MS;
    let run = |values: &dyn Fn(i64) -> f64| {
        let obs: Vec<Observation> = (0..12)
            .map(|i| pm("s1", values(i), at - (11 - i) * Timestamp::HOUR_MS - 60_000))
            .collect();
        let feeds = FeedInputs {
            window: FeedWindow::new(Timestamp(at), obs),
            sensors: sensors(),
            kinds: Default::default(),
        };
        let mut ind = Indicators::new(&city, &IndicatorConfig::default());
        let hist = hourly_histories(&ind.ctx, &feeds);
        let (_, e, raised) = ind.recompute(&city, &feeds, &hist);
        let k = idx(&ind.ctx, "env.pm25_daily_mean");
        (e.city[k], raised)
    };
    // 8 → 16.8 µg/m³ rising 0.8 an hour: mean 12.4 is on target, the warning (25) is ~10 h away.
    let (e, raised) = run(&|i| 8.0 + 0.8 * i as f64);
    assert_eq!(e.status, Status::OnTarget);
    let a = raised
        .iter()
        .find(|a| a.kind == AlertKind::DecisionWindow && a.indicator == "env.pm25_daily_mean")
        .expect("a decision-window alert");
    assert_eq!(a.level, Status::Warning);
    assert_eq!(a.zone, None);
    let by = a.by.unwrap();
    assert!(by.0 > at && by.0 <= at + 24 * Timestamp::HOUR_MS, "{a:?}");
    assert!(a.evidence.contains("Holt"), "{}", a.evidence);
    let (e, raised) = run(&|_| 12.0);
    assert_eq!(e.status, Status::OnTarget);
    assert!(
        raised.iter().all(|a| a.kind != AlertKind::DecisionWindow),
        "{raised:?}"
    );
}

#[test]
fn a_flapping_indicator_keeps_the_alert_history_bounded() {
    let city = fixture();
    let mut ind = Indicators::new(&city, &IndicatorConfig::default());
    ind.alerts.max_closed = 20;
    let k = idx(&ind.ctx, "env.pm25_daily_mean");
    let mut raised_total = 0;
    let mut last_raised = None;
    let mut first_raised = None;
    for step in 0..200i64 {
        let at = (100 + step) * Timestamp::HOUR_MS;
        // Alarm on even steps, on target on odd ones.
        let v = if step % 2 == 0 { 80.0 } else { 5.0 };
        let feeds = FeedInputs {
            window: FeedWindow::new(Timestamp(at), [pm("s1", v, at - 60_000)]),
            sensors: sensors(),
            kinds: Default::default(),
        };
        let (_, e, raised) = ind.recompute(&city, &feeds, &Histories::new());
        let threshold: Vec<&Alert> = raised
            .iter()
            .filter(|a| {
                a.kind == AlertKind::Threshold && a.indicator == "env.pm25_daily_mean" && a.zone.is_none()
            })
            .collect();
        if step % 2 == 0 {
            assert_eq!(e.city[k].status, Status::Alarm);
            assert_eq!(threshold.len(), 1, "step {step}");
            last_raised = Some(threshold[0].id);
            first_raised = first_raised.or(last_raised);
            raised_total += 1;
        } else {
            assert!(threshold.is_empty());
            // The alarm closed when the value came back.
            let id = last_raised.unwrap();
            assert!(ind.alerts.active().all(|a| a.id != id), "step {step}");
        }
    }
    assert_eq!(raised_total, 100);
    let kept = ind.alerts.history().len();
    let open = ind.alerts.active().count();
    assert!(kept <= 22 + open, "{kept} alerts kept, {open} open");
    assert!(kept >= 20, "{kept}");
    // Ids stay in order, the newest are the ones kept, and they can still be acknowledged.
    assert!(ind.alerts.history().windows(2).all(|w| w[0].id < w[1].id));
    let newest = ind.alerts.history().last().unwrap().id;
    assert!(ind.alerts.acknowledge(newest, Timestamp(1)));
    let first = first_raised.unwrap();
    assert!(
        !ind.alerts.acknowledge(first, Timestamp(1)),
        "the oldest closed alert was dropped"
    );
}

fn default_scene() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(crate::twin::scene::DEFAULT_SCENE)
}

#[test]
fn default_scene_sums_add_up_and_gis_indicators_have_values() {
    let loaded = crate::twin::load::load_scene(&default_scene()).unwrap();
    let ctx = IndicatorContext::new(&loaded.city, &loaded.scene.indicators);
    let c = ctx.compute(&loaded.city, &FeedInputs::none(Timestamp(GOLDEN_AT)));
    assert_sums_add_up(&c);
    assert!(c.city_sums.residents > 100.0, "{}", c.city_sums.residents);
    assert!(ctx.network.node_count() > 1000);
    assert!(ctx.dest_counts[catalogue::dest::TRANSIT] > 10);
    for (d, v) in ctx.catalogue.indicators.iter().zip(&c.city) {
        if !d.compute.is_feed() {
            assert!(v.value.is_some(), "{} has no value on the default city", d.id);
        }
    }
}

/// Compares JSON values, floats within a relative tolerance; returns the first difference.
pub(crate) fn json_diff(a: &serde_json::Value, b: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value as V;
    match (a, b) {
        (V::Number(x), V::Number(y)) => {
            let (x, y) = (x.as_f64()?, y.as_f64()?);
            ((x - y).abs() > GOLDEN_REL_TOL * x.abs().max(y.abs()).max(1.0))
                .then(|| format!("{path}: {x} vs {y}"))
        }
        (V::Array(x), V::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path}: length {} vs {}", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (p, q))| json_diff(p, q, &format!("{path}[{i}]")))
        }
        (V::Object(x), V::Object(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path}: keys {:?} vs {:?}", x.keys(), y.keys()));
            }
            x.iter().find_map(|(k, p)| match y.get(k) {
                Some(q) => json_diff(p, q, &format!("{path}.{k}")),
                None => Some(format!("{path}.{k}: missing")),
            })
        }
        _ => (a != b).then(|| format!("{path}: {a} vs {b}")),
    }
}

#[test]
fn default_scene_matches_the_golden_report() {
    let report = report_for_scene(&default_scene(), Some(Timestamp(GOLDEN_AT))).unwrap();
    // The JSON contract: value is null only with status no data, or (in zones) not
    // applicable; city-wide, every indicator applies.
    for r in &report.indicators {
        assert_eq!(r.value.is_none(), r.status == Status::NoData, "{}", r.id);
    }
    for z in &report.zones {
        for v in &z.indicators {
            assert_eq!(
                v.value.is_none(),
                matches!(v.status, Status::NoData | Status::NotApplicable),
                "{} {}",
                z.zone,
                v.id
            );
        }
    }
    let got = serde_json::to_value(&report).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    if std::env::var_os(UPDATE_GOLDEN).is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
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
fn scenes_carry_indicator_settings() {
    use crate::twin::scene::{Scene, SceneError};
    let text = r#"(name: "s", layers: [], indicators: (m2_per_resident: 30.0,
        overrides: [(id: "env.pm25_daily_mean", target: Some(10.0))]))"#;
    let s = Scene::parse(text, Path::new("s.ron")).unwrap();
    assert_eq!(s.indicators.m2_per_resident, 30.0);
    assert_eq!(s.indicators.overrides[0].target, Some(10.0));
    let none = Scene::parse(r#"(name: "s", layers: [])"#, Path::new("s.ron")).unwrap();
    assert_eq!(none.indicators, IndicatorConfig::default());
    let bad = text.replace("30.0", "-1.0");
    match Scene::parse(&bad, Path::new("s.ron")) {
        Err(SceneError::Invalid { message, .. }) => assert!(message.contains("m2_per_resident"), "{message}"),
        other => panic!("{other:?}"),
    }
    // Fewer square metres per resident: more residents in the fixture.
    let city = fixture();
    let ctx = IndicatorContext::new(&city, &s.indicators);
    let c = ctx.compute(&city, &FeedInputs::none(Timestamp(0)));
    assert!((c.city_sums.residents - 2000.0 / 30.0).abs() < 1e-9);
}

/// The default scene rewritten into `dir` with its data paths absolute and its history
/// in `dir/history.sqlite`.
fn default_scene_with_history_in(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(default_scene()).unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let text = text
        .replace("\"../data/", &format!("\"{}/", data.display()))
        .replace("../.cache/history/default.sqlite", "history.sqlite");
    std::fs::create_dir_all(dir).unwrap();
    let scene = dir.join("scene.ron");
    std::fs::write(&scene, text).unwrap();
    scene
}

#[test]
fn the_headless_report_at_a_past_instant_reads_the_history() {
    use crate::twin::feeds::Metric;
    use crate::twin::feeds::store::{Durability, Store};

    let dir = std::env::temp_dir().join(format!("citytwin-report-history-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let scene = default_scene_with_history_in(&dir);
    let at = Timestamp(GOLDEN_AT);
    let pm = "env.pm25_daily_mean";
    let value_of = |r: &Report| r.indicators.iter().find(|i| i.id == pm).and_then(|i| i.value);

    // No history file yet: no feed data, and the file is not created by reading.
    let r = report_for_scene_from_history(&scene, Some(at)).unwrap();
    assert_eq!(value_of(&r), None);
    assert_eq!(r.feed_observations, None);
    assert!(!dir.join("history.sqlite").exists());

    // Two sensors' readings an hour before `at`, one after it and one from a feed the
    // scene does not have: neither of the last two counts.
    let src = SourceId("simulator".into());
    let obs = |sensor: &str, v: f64, t: Timestamp| {
        Observation::new(&src, Subject::Sensor(sensor.into()), Metric::Pm25, v, t)
    };
    let mut foreign = obs("aq-1", 900.0, at.plus_ms(-Timestamp::HOUR_MS));
    foreign.source = SourceId("not-in-this-scene".into());
    {
        let mut store = Store::open(&dir.join("history.sqlite"), Durability::Full).unwrap();
        store
            .append(&[
                obs("aq-1", 10.0, at.plus_ms(-Timestamp::HOUR_MS)),
                obs("aq-2", 20.0, at.plus_ms(-Timestamp::HOUR_MS)),
                obs("aq-1", 500.0, at.plus_ms(Timestamp::HOUR_MS)),
                foreign,
            ])
            .unwrap();
    }
    let r = report_for_scene_from_history(&scene, Some(at)).unwrap();
    assert_eq!(r.feed_observations, Some(2));
    let v = value_of(&r).expect("PM2.5 from the history");
    assert!((v - 15.0).abs() < 1e-9, "{v}");
    // Two days later the readings are out of the 24-hour window.
    let later = at.plus_ms(2 * Timestamp::DAY_MS);
    let r = report_for_scene_from_history(&scene, Some(later)).unwrap();
    assert_eq!(r.feed_observations, Some(0));
    assert_eq!(value_of(&r), None);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The default city a day into its simulated feeds, as the app sees it right after start:
/// the engine, the evaluation and the alerts it raised.
fn default_city_after_a_simulated_day() -> (
    crate::twin::load::LoadedScene,
    Indicators,
    Computed,
    Evaluation,
    Vec<Alert>,
) {
    use crate::twin::feeds::provenance::SourceKindMap;
    use crate::twin::feeds::simulator::Simulator;
    use crate::twin::feeds::spec::FeedKind;
    let loaded = crate::twin::load::load_scene(&default_scene()).unwrap();
    let feed = &loaded.scene.feeds[0];
    let FeedKind::Simulator(spec) = &feed.kind else {
        panic!("the default scene's first feed is its simulator");
    };
    let at = Timestamp(GOLDEN_AT);
    let mut sim = Simulator::new(&loaded.city, spec, SourceId(feed.name.clone()));
    let sensors = sim
        .sensors()
        .map(|(id, p)| (id.to_string(), [p.x(), p.y()]))
        .collect();
    let observations = sim.generate(at.plus_ms(-Timestamp::DAY_MS), at, 300.0);
    assert!(observations.len() > 1_000, "{} observations", observations.len());
    let feeds = FeedInputs {
        window: FeedWindow::new(at, observations),
        sensors,
        kinds: SourceKindMap::from_specs(&loaded.scene.feeds),
    };
    let mut ind = Indicators::new(&loaded.city, &loaded.scene.indicators);
    let histories = hourly_histories(&ind.ctx, &feeds);
    let (computed, eval, raised) = ind.recompute(&loaded.city, &feeds, &histories);
    (loaded, ind, computed, eval, raised)
}

#[test]
fn default_city_alerts_name_only_zones_with_the_indicators_base() {
    let (loaded, ind, computed, eval, raised) = default_city_after_a_simulated_day();
    let cfg = &loaded.scene.indicators;
    let catalogue = &ind.ctx.catalogue;
    // The generated grid keeps only cells with something of the city in them.
    for (z, s) in computed.zone_sums.iter().enumerate() {
        assert!(
            s.buildings + s.pois + s.roads > 0,
            "zone {} holds no building, road or POI",
            ind.ctx.zone_names[z]
        );
    }
    let zone_of = |name: &str| ind.ctx.zone_names.iter().position(|n| n == name).unwrap();
    let mut zone_alerts = 0;
    for a in ind.alerts.active() {
        let Some(zone) = &a.zone else { continue };
        zone_alerts += 1;
        let z = zone_of(zone);
        let s = &computed.zone_sums[z];
        let def = catalogue.get(&a.indicator).unwrap();
        let has_base = match def.compute.base() {
            catalogue::Base::Residents => s.residents >= cfg.min_zone_residents && s.residents > 0.0,
            catalogue::Base::DistrictResidents => {
                s.residents >= cfg.min_zone_residents && !loaded.city.zones[z].generated
            }
            catalogue::Base::FloorArea => s.floor_m2 >= cfg.min_zone_floor_m2 && s.floor_m2 > 0.0,
            catalogue::Base::KnownUseFloorArea => {
                s.floor_m2 >= cfg.min_zone_floor_m2 && s.known_use_m2 >= cfg.min_known_use_share * s.floor_m2
            }
            catalogue::Base::Pois => s.pois >= cfg.min_zone_pois,
            catalogue::Base::Roads => s.roads > 0,
            catalogue::Base::Sensor => eval.zones[z]
                .iter()
                .zip(&catalogue.indicators)
                .any(|(e, d)| d.id == def.id && !e.sources.is_empty()),
            catalogue::Base::CityWide => false,
        };
        assert!(
            has_base,
            "alert on {} in {zone}: {} residents, {} m² floor, {} POIs, {} roads",
            a.indicator, s.residents, s.floor_m2, s.pois, s.roads
        );
        assert!(
            def.compute.base() != catalogue::Base::Residents || s.residents > 0.0,
            "a per-resident alert in a zone without residents"
        );
    }
    assert!(!raised.is_empty(), "the simulated day raises alerts");
    // Every zone value that does not apply is grey: no value, no score, no sources.
    let mut not_applicable = 0;
    for zone in &eval.zones {
        for e in zone {
            if e.status == Status::NotApplicable {
                not_applicable += 1;
                assert_eq!(
                    (e.value, e.sources),
                    (None, crate::twin::feeds::provenance::SourceKinds::NONE)
                );
            }
        }
    }
    assert!(not_applicable > 0);
    // Feed indicators say they are simulated; map indicators have no feed behind them.
    for (def, e) in catalogue.indicators.iter().zip(&eval.city) {
        if def.compute.is_feed() && e.value.is_some() {
            assert!(e.sources.is_simulated(), "{} is not marked simulated", def.id);
        }
        if !def.compute.is_feed() {
            assert!(e.sources.is_empty(), "{} has feed sources", def.id);
        }
    }
    let groups = ind.alerts.digest(higher_is_better(catalogue));
    let mut sizes: Vec<(usize, String)> = groups
        .iter()
        .map(|g| (g.members.len(), g.indicator.clone()))
        .collect();
    sizes.sort_by(|a, b| b.cmp(a));
    println!(
        "default city, simulated day: {} zones, {} open alerts ({zone_alerts} in zones) in {} lines; largest: {:?}",
        ind.ctx.zone_names.len(),
        ind.alerts.active().count(),
        groups.len(),
        &sizes[..sizes.len().min(3)]
    );
}
