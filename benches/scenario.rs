//! Scenario benchmark: milliseconds to apply one edit of each kind and recompute every
//! indicator of the scenario (per zone and city-wide), and to undo it, on the default city
//! and on a 100,000-building synthetic city; and where the baseline's time goes (context
//! build, compute, evaluate). Prints figures; asserts nothing about time.
//!
//! `cargo bench --bench scenario` — env: `CITYTWIN_BENCH_SCENARIO_BUILDINGS` (size of the
//! synthetic city, default 100,000), `CITYTWIN_BENCH_DIR` (where it is cached).
//! Targets from the issue: ≤ 50 ms for the default city, ≤ 500 ms for 100,000 buildings.

mod common;

use std::time::Instant;

use geo::Centroid;

use citytwin::twin::city::{BuildingId, CityModel, RoadId, ZoneId};
use citytwin::twin::feeds::Timestamp;
use citytwin::twin::indicators::{FeedInputs, IndicatorConfig, IndicatorContext, evaluate};
use citytwin::twin::scenario::{CostTable, Edit, EditStack, ScenarioEdit, SolarTarget, TransitMode};
use common::{RUNS, median, mid, ms};

/// Side of a synthetic park and of drawn edits, metres.
const SIDE_M: f64 = 40.0;
/// Evaluation time.
const AT: Timestamp = Timestamp(1_768_478_400_000);

fn square(x: f64, y: f64) -> Vec<(f64, f64)> {
    vec![(x, y), (x + SIDE_M, y), (x + SIDE_M, y + SIDE_M), (x, y + SIDE_M)]
}

/// One edit of each kind, on features near the middle of the city.
fn edits(city: &CityModel, ctx: &IndicatorContext) -> Vec<(&'static str, Edit)> {
    let nb = city.buildings.len();
    let b = BuildingId((nb / 2) as u32);
    let some: Vec<BuildingId> = (0..10).map(|i| BuildingId((nb / 3 + i * 7) as u32)).collect();
    let r = city.roads.len() / 2;
    let [x, y] = mid(city, r);
    let zone = city.buildings[b.0 as usize]
        .footprint
        .centroid()
        .and_then(|c| ctx.zone_at([c.x(), c.y()]))
        .unwrap_or(0);
    let line: Vec<(f64, f64)> = (0..6)
        .map(|k| {
            let [x, y] = mid(city, (r + k * 13) % city.roads.len());
            (x, y)
        })
        .collect();
    vec![
        (
            "add building",
            Edit::AddBuilding {
                footprint: square(x + 8.0, y + 8.0),
                height_m: 24.0,
                usage: "apartments".into(),
                name: None,
            },
        ),
        (
            "set height (10 buildings)",
            Edit::SetHeight {
                buildings: some.clone(),
                height_m: 30.0,
            },
        ),
        (
            "set use (10 buildings)",
            Edit::SetUse {
                buildings: some.clone(),
                usage: "office".into(),
            },
        ),
        ("demolish (1 building)", Edit::Demolish { buildings: vec![b] }),
        (
            "zone +2 storeys",
            Edit::ZoneStoreys {
                zone: ZoneId(zone),
                storeys: 2,
                usage: None,
            },
        ),
        (
            "zone use change",
            Edit::ZoneUse {
                zone: ZoneId(zone),
                from: "residential".into(),
                to: "apartments".into(),
            },
        ),
        (
            "add park",
            Edit::AddPark {
                polygon: square(x - 60.0, y - 60.0),
                name: None,
            },
        ),
        (
            "lots to green (10)",
            Edit::LotsToGreen {
                buildings: some.clone(),
            },
        ),
        (
            "transit stop",
            Edit::TransitStop {
                at: (x + 4.0, y + 4.0),
                mode: TransitMode::Tram,
                name: None,
            },
        ),
        (
            "transit line (6 stops)",
            Edit::TransitLine {
                stops: line,
                mode: TransitMode::Bus,
                name: None,
            },
        ),
        (
            "close road to cars",
            Edit::CloseToCars {
                roads: vec![RoadId(r as u32)],
            },
        ),
        (
            "bike lane",
            Edit::BikeLane {
                roads: vec![RoadId(r as u32 + 1)],
            },
        ),
        (
            "speed limit",
            Edit::SpeedLimit {
                roads: vec![RoadId(r as u32)],
                kmh: 30.0,
            },
        ),
        (
            "rooftop solar (zone)",
            Edit::RooftopSolar {
                target: SolarTarget::Zone(ZoneId(zone)),
                share: 0.5,
            },
        ),
    ]
}

fn bench(label: &str, city: CityModel, config: &IndicatorConfig) {
    let feeds = FeedInputs::none(AT);
    let t = Instant::now();
    let ctx = IndicatorContext::new(&city, config);
    let build_ms = ms(t);
    println!(
        "== {label}: {} buildings, {} roads ({} walk nodes), {} POIs, {} zones",
        city.buildings.len(),
        city.roads.len(),
        ctx.network.node_count(),
        city.pois.len(),
        city.zones.len()
    );
    println!("  baseline context build (network, facts, distances) {build_ms:>9.1} ms");
    let (mut compute, mut eval) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let t = Instant::now();
        let c = ctx.compute(&city, &feeds);
        compute.push(ms(t));
        let t = Instant::now();
        let _ = evaluate::evaluate(&ctx.catalogue, &c, ctx.stale_after_ms());
        eval.push(ms(t));
    }
    println!(
        "  compute (sums + values per zone)                    {:>9.1} ms",
        median(compute)
    );
    println!(
        "  evaluate (statuses, scores)                         {:>9.1} ms",
        median(eval)
    );
    let t = Instant::now();
    let mut stack = EditStack::new(&city, &ctx, CostTable::default());
    println!(
        "  edit stack (copy of city and context)               {:>9.1} ms",
        ms(t)
    );
    println!(
        "  {:<28} {:>10} {:>12} {:>10} {:>10}",
        "edit", "apply ms", "indicators", "total ms", "undo ms"
    );
    let mut worst: f64 = 0.0;
    for (name, edit) in edits(&city, &ctx) {
        let (mut apply, mut ind, mut total, mut undo) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let t = Instant::now();
            if let Err(e) = stack.push(ScenarioEdit::new(edit.clone())) {
                println!("  {name}: refused: {e}");
                break;
            }
            let a = ms(t);
            let t2 = Instant::now();
            let _ = stack.indicators(&feeds);
            let i = ms(t2);
            apply.push(a);
            ind.push(i);
            total.push(a + i);
            let t = Instant::now();
            stack.undo();
            undo.push(ms(t));
        }
        if total.is_empty() {
            continue;
        }
        let tot = median(total);
        worst = worst.max(tot);
        println!(
            "  {name:<28} {:>10.1} {:>12.1} {:>10.1} {:>10.1}",
            median(apply),
            median(ind),
            tot,
            median(undo)
        );
    }
    println!("  slowest edit + recompute (median)                   {worst:>9.1} ms");
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    common::on_both_cities("CITYTWIN_BENCH_SCENARIO_BUILDINGS", bench);
}
