//! CityJSON LoD2 buildings drawn offscreen beside a shapefile layer: real 3D BAG buildings
//! (`tests/data/cityjson/`) show sloped roofs, several shades of one colour seen from
//! above, where the shapefile's extruded flat roof beside them is one shade; recolouring
//! reaches both through the per-building buffer.

use std::path::{Path, PathBuf};

use bevy::prelude::Color;
use citytwin::app::offscreen::{RenderJob, Shot, read_png_rgba, render};
use citytwin::twin::crs::{Crs, Transformer, WGS84};
use citytwin::twin::gis::layer::{
    AttrValue, Attributes, CatalogueEntry, Feature, Layer, LayerFormat, LayerKind, SkipReport,
};
use citytwin::twin::gis::shapefile::write_shapefile;
use citytwin::twin::load::load_scene;
use geo::BoundingRect;
use geo_types::{Geometry, Polygon, Rect};

use crate::common::{root, tmp};

/// Image size: about 0.26 m a pixel from the bookmark's distance.
const SIZE: (u32, u32) = (1280, 960);
/// Camera distance, metres: far enough that walls beside the view's centre show little.
const DISTANCE_M: f64 = 300.0;
/// The CityJSON file: two 3D BAG buildings with LoD2.2 sloped roofs (Delft, EPSG:7415).
const CITYJSON: &str = "tests/data/cityjson/3dbag_b2.city.json";
/// A flat-roofed box beside them in the shapefile layer, RD New metres: `[x0, y0, x1, y1]`.
const BOX_RD: [f64; 4] = [85040.0, 446542.0, 85052.0, 446554.0];
/// Its height, metres.
const BOX_HEIGHT_M: f64 = 8.0;
/// Colours the two layers' buildings are given: mid-bright, so no lit face saturates.
const PURPLE: (f32, f32, f32) = (0.55, 0.0, 0.55);
const TEAL: (f32, f32, f32) = (0.0, 0.55, 0.55);

/// Writes the box layer (one box, EPSG:28992) into `dir` as a GeoPackage: our shapefile,
/// turned into a GeoPackage by GDAL's `ogr2ogr` (a writer other than ours).
fn write_box_layer(dir: &Path) -> PathBuf {
    let mut attributes = Attributes::new();
    attributes.insert("height".into(), AttrValue::Number(BOX_HEIGHT_M));
    let [x0, y0, x1, y1] = BOX_RD;
    let layer = Layer {
        name: "box".into(),
        format: LayerFormat::Shapefile,
        kind: LayerKind::Buildings,
        crs: Crs::Epsg(28992),
        features: vec![Feature {
            source_id: 0,
            geometry: Geometry::Polygon(Polygon::from(Rect::new((x0, y0), (x1, y1)))),
            attributes,
        }],
        skipped: SkipReport::default(),
        catalogue: CatalogueEntry::default(),
    };
    let path = dir.join("box_buildings.shp");
    write_shapefile(&layer, &path).expect("shapefile written");
    let gpkg = dir.join("box.gpkg");
    let _ = std::fs::remove_file(&gpkg);
    let out = std::process::Command::new("ogr2ogr")
        .args(["-f", "GPKG", "-nln", "box"])
        .arg(&gpkg)
        .arg(&path)
        .output()
        .expect("ogr2ogr (Debian's gdal-bin, installed by scripts/setup-debian.sh)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    gpkg
}

/// The scene: the CityJSON layer at LoD2.2 and the GeoPackage layer, with `bookmark`.
fn scene_text(cityjson: &Path, shp: &Path, bookmark: &str) -> String {
    format!(
        "(name: \"delft\", layers: [\n\
         (name: \"3D BAG\", path: {cityjson:?}, kind: buildings, lod: Some(\"2.2\")),\n\
         (name: \"box\", path: {shp:?}, table: Some(\"box\"), kind: buildings, crs: Some(\"EPSG:28992\")),\n\
         ], bookmarks: [{bookmark}])"
    )
}

/// A lit pixel of a colour `(r, g, b)` with two equal channels and one dark, e.g. purple
/// (red = blue, no green): its brightness (the equal channels' mean), or `None`.
fn brightness(p: [u8; 3], dark: usize) -> Option<u8> {
    let lit: Vec<i32> = (0..3).filter(|&k| k != dark).map(|k| i32::from(p[k])).collect();
    let ok = i32::from(p[dark]) < 25 && lit.iter().all(|&v| v > 40) && (lit[0] - lit[1]).abs() <= 6;
    ok.then(|| ((lit[0] + lit[1]) / 2) as u8)
}

/// The `q`-quantile of sorted values.
fn quantile(sorted: &[u8], q: f64) -> u8 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Shades of a flat-shaded picture: the brightness values (sorted input) that each hold
/// at least 5 % of the pixels, with their shares, largest first. A lit plane is one value;
/// the edges' blends spread thinly over the values between.
fn shades(sorted: &[u8]) -> Vec<(u8, f64)> {
    let mut counts = [0usize; 256];
    sorted.iter().for_each(|&b| counts[usize::from(b)] += 1);
    let mut out: Vec<(u8, f64)> = (0..=255u8)
        .map(|b| (b, counts[usize::from(b)] as f64 / sorted.len() as f64))
        .filter(|(_, share)| *share >= 0.05)
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

#[test]
fn cityjson_lod2_roofs_render_sloped_beside_a_geopackage_layer() {
    let dir = tmp("cityjson-render");
    let cityjson = root().join(CITYJSON);
    let shp = write_box_layer(&dir);
    // Load once to find where the box is, then look straight down at it: its walls stay
    // out of sight, the 3D BAG buildings are some 30–50 m beside it.
    let first = dir.join("find.ron");
    std::fs::write(&first, scene_text(&cityjson, &shp, "")).expect("scene written");
    let loaded = load_scene(&first).expect("scene loads");
    let city = &loaded.city;
    assert!(
        loaded.report.layers.iter().all(|l| l.error.is_none()),
        "{:?}",
        loaded.report.layers
    );
    assert_eq!(city.buildings.len(), 3, "two 3D BAG parts and the box");
    assert_eq!(city.solids.len(), 2, "the 3D BAG parts have their surfaces");
    let b = city.buildings[2]
        .footprint
        .bounding_rect()
        .expect("the box has an extent");
    let to_wgs84 = Transformer::new(&city.crs, &WGS84).expect("PROJ");
    let (lon, lat) = to_wgs84
        .point(b.center().x, b.center().y)
        .expect("centre in WGS84");
    let bookmark = format!(
        "(name: \"top\", target_lonlat: ({lon}, {lat}), distance_m: {DISTANCE_M}, pitch_deg: 89.0, heading_deg: 0.0)"
    );
    let scene = dir.join("delft.ron");
    std::fs::write(&scene, scene_text(&cityjson, &shp, &bookmark)).expect("scene written");

    let (plain, coloured) = (dir.join("plain.png"), dir.join("coloured.png"));
    let c = |(r, g, b): (f32, f32, f32)| Color::srgb(r, g, b);
    let outcome = render(&RenderJob {
        scene,
        size: SIZE,
        bookmark: Some("top".into()),
        shots: vec![
            Shot {
                out: plain.clone(),
                ..Shot::default()
            },
            Shot {
                out: coloured.clone(),
                recolour: vec![(0, c(PURPLE)), (1, c(PURPLE)), (2, c(TEAL))],
                ..Shot::default()
            },
        ],
    })
    .expect("offscreen render");
    assert_eq!(outcome.buildings, 3);
    assert!(
        outcome.first_shot_levels.buildings_near > 0,
        "{:?}",
        outcome.first_shot_levels
    );
    assert_eq!(
        outcome.mesh_changes_after_first_shot, 0,
        "recolouring makes no mesh"
    );

    let (w, h, a) = read_png_rgba(&plain).expect("a readable PNG");
    assert_eq!((w, h), SIZE);
    let (_, _, px) = read_png_rgba(&coloured).expect("a readable PNG");
    let rgb = |p: &[u8]| -> Vec<[u8; 3]> { p.chunks_exact(4).map(|q| [q[0], q[1], q[2]]).collect() };
    let (a, px) = (rgb(&a), rgb(&px));
    assert!(
        a.iter().all(|p| brightness(*p, 1).is_none()),
        "no purple before recolouring"
    );
    let mut purple: Vec<u8> = px.iter().filter_map(|p| brightness(*p, 1)).collect();
    let mut teal: Vec<u8> = px.iter().filter_map(|p| brightness(*p, 0)).collect();
    purple.sort_unstable();
    teal.sort_unstable();
    assert!(
        purple.len() >= 1500,
        "only {} purple (3D BAG) pixels",
        purple.len()
    );
    assert!(teal.len() >= 800, "only {} teal (box) pixels", teal.len());
    let (purple_shades, teal_shades) = (shades(&purple), shades(&teal));
    eprintln!(
        "purple: {} px, brightness 10–90 % {}–{}, shades {:?}; teal: {} px, {}–{}, shades {:?}",
        purple.len(),
        quantile(&purple, 0.1),
        quantile(&purple, 0.9),
        &purple_shades[..purple_shades.len().min(6)],
        teal.len(),
        quantile(&teal, 0.1),
        quantile(&teal, 0.9),
        &teal_shades[..teal_shades.len().min(6)],
    );
    // Seen from above, the box shows its one flat roof: one shade (edges aside).
    assert_eq!(
        teal_shades.len(),
        1,
        "the flat roof is not one shade: {teal_shades:?}"
    );
    assert!(
        teal_shades[0].1 >= 0.85,
        "the flat roof is not one shade: {teal_shades:?}"
    );
    // The 3D BAG buildings show at least two large shades, each more than their walls
    // could make from here, and far apart: roof planes that face different ways.
    let big: Vec<u8> = purple_shades
        .iter()
        .filter(|s| s.1 >= 0.12)
        .map(|s| s.0)
        .collect();
    assert!(big.len() >= 2, "roofs look flat: shades {purple_shades:?}");
    let apart = big.iter().max().unwrap() - big.iter().min().unwrap();
    assert!(
        apart >= 10,
        "roof shades only {apart} levels apart: {purple_shades:?}"
    );
    let spread = quantile(&purple, 0.9) - quantile(&purple, 0.1);
    assert!(spread >= 10, "sloped roofs spread over only {spread} levels");
}

#[test]
fn inspect_reports_a_cityjson_file_with_its_crs_heights_and_surfaces() {
    // A plain `.json` name: told from GeoJSON by its content.
    let dir = tmp("cityjson-inspect");
    let file = dir.join("delft.json");
    std::fs::copy(root().join(CITYJSON), &file).expect("copied");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_citytwin"))
        .arg("inspect")
        .arg(&file)
        .arg("--json")
        .output()
        .expect("runs citytwin");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let l = &v["layers"][0];
    assert_eq!(l["format"], "cityjson");
    assert_eq!(l["kind"], "buildings");
    assert_eq!(l["crs"], "EPSG:7415");
    assert_eq!(l["features"], 2);
    assert_eq!(l["surfaces_3d"]["2.2"], 2);
    assert_eq!(l["height_source"]["measured"], 2);
    // Heights from the highest roof point over the ground surface (an independent reading
    // in `src/twin/gis/cityjson.rs` checks them to the micrometre): 9.41 and 13.18 m.
    let (lo, hi) = (
        l["height_m"]["min"].as_f64().unwrap(),
        l["height_m"]["max"].as_f64().unwrap(),
    );
    assert!(
        (lo - 9.411).abs() < 0.01 && (hi - 13.184).abs() < 0.01,
        "{lo} {hi}"
    );
    // Delft, in WGS84.
    let b: Vec<f64> = l["bbox_wgs84"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!(
        (4.35..4.37).contains(&b[0]) && (52.0..52.02).contains(&b[1]),
        "{b:?}"
    );
}
