//! Offscreen rendering of the default scene to PNG (on Mesa lavapipe where there is no GPU):
//! the image shows buildings, recolouring one building through `BuildingColours` changes its
//! pixels and no mesh, a hidden layer's (parks') pixels disappear, recolouring roads through their
//! feature buffer changes their pixels and no mesh, and the `render` command writes a
//! bookmark's view or fails cleanly.

use std::path::Path;
use std::process::{Command, Output};

use bevy::prelude::Color;
use citytwin::app::ground_view::FeatureSet;
use citytwin::app::offscreen::{RenderJob, RenderOutcome, Shot, read_png_rgba, render};
use citytwin::twin::load::load_scene;
use citytwin::twin::scene::HELSINKI_SCENE;

use crate::common::{root, tmp};

/// Size of the test images.
const SIZE: (u32, u32) = (640, 360);
/// Size of the smaller images of the layer tests.
const SMALL: (u32, u32) = (320, 240);
/// The app's clear colour in sRGB bytes (0.08, 0.09, 0.11).
const CLEAR: [u8; 3] = [20, 23, 28];

fn citytwin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_citytwin"))
        .args(args)
        .output()
        .expect("runs citytwin")
}

/// Pixels of an RGBA8 buffer as RGB triples.
fn rgb(pixels: &[u8]) -> impl Iterator<Item = [u8; 3]> + '_ {
    pixels.chunks_exact(4).map(|p| [p[0], p[1], p[2]])
}

/// Share of pixels farther than a few levels from the clear colour.
fn share_not_clear(pixels: &[u8]) -> f64 {
    let n = pixels.len() / 4;
    let off = rgb(pixels)
        .filter(|p| p.iter().zip(CLEAR).any(|(a, b)| a.abs_diff(b) > 6))
        .count();
    off as f64 / n as f64
}

/// A lit pixel of the buildings layer's warm grey (222, 214, 198): red ≥ green ≥ blue with a
/// modest spread, unlike the bluish ground, grey roads, green parks, blue water, orange POIs
/// and the paler land-use lines.
fn is_building_grey(p: [u8; 3]) -> bool {
    let [r, g, b] = p.map(i32::from);
    let spread = r - b;
    r >= g && g >= b && (9..=60).contains(&spread) && r - g <= spread * 3 / 5 && r >= 60
}

/// A lit magenta pixel.
fn is_magenta(p: [u8; 3]) -> bool {
    let [r, g, b] = p.map(i32::from);
    g < 40 && r > 110 && b > 110 && (r - b).abs() < 25
}

fn assert_png_shows_a_city(path: &Path, size: (u32, u32)) -> Vec<u8> {
    let (w, h, pixels) = read_png_rgba(path).expect("a readable PNG");
    assert_eq!((w, h), size);
    let drawn = share_not_clear(&pixels);
    assert!(
        (0.15..=0.995).contains(&drawn),
        "{}: {:.1} % of the pixels differ from the clear colour",
        path.display(),
        drawn * 100.0
    );
    // At least 2 % of the image is lit building wall or roof.
    let grey = rgb(&pixels).filter(|p| is_building_grey(*p)).count();
    assert!(
        grey * 50 >= pixels.len() / 4,
        "{}: only {grey} building-coloured pixels",
        path.display()
    );
    pixels
}

/// The index of the building with the largest footprint of the scene's city: big enough
/// to show in the framed city.
fn biggest_building(scene: &Path) -> usize {
    let city = load_scene(scene).expect("the scene loads").city;
    city.buildings
        .iter()
        .enumerate()
        .map(|(i, b)| (i, b.footprint_area_m2()))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("the city has buildings")
        .0
}

/// Renders the scene twice in one app, from the bookmark or the whole city: as it is to
/// `plain`, then with building `big` magenta to `recoloured`.
fn render_then_magenta(
    scene: std::path::PathBuf,
    size: (u32, u32),
    bookmark: Option<&str>,
    big: usize,
    plain: &Path,
    recoloured: &Path,
) -> RenderOutcome {
    render(&RenderJob {
        scene,
        size,
        bookmark: bookmark.map(str::to_string),
        shots: vec![
            Shot {
                out: plain.to_path_buf(),
                ..Shot::default()
            },
            Shot {
                out: recoloured.to_path_buf(),
                recolour: vec![(big, Color::srgb(1.0, 0.0, 1.0))],
                ..Shot::default()
            },
        ],
    })
    .expect("offscreen render")
}

#[test]
fn default_scene_renders_and_recolours_one_building() {
    // The Helsinki scene: its whole city, framed a few kilometres away, is drawn at the near
    // level (Monaco's 11 km extract, framed whole, is drawn at the far level only).
    let scene = root().join(HELSINKI_SCENE);
    let city = load_scene(&scene).expect("Helsinki scene loads").city;
    let big = biggest_building(&scene);
    let dir = tmp("render");
    let first = dir.join("city.png");
    let second = dir.join("recoloured.png");
    let outcome = render_then_magenta(scene, SIZE, None, big, &first, &second);
    assert_eq!(outcome.buildings, city.buildings.len());
    assert!(outcome.building_tiles > 0);
    assert_eq!(outcome.mesh_changes_after_first_shot, 0);
    // The whole city, framed a few kilometres away: buildings at the near level.
    let levels = outcome.first_shot_levels;
    assert!(levels.buildings_near > 0 && levels.roads_near > 0, "{levels:?}");

    let a = assert_png_shows_a_city(&first, SIZE);
    let b = assert_png_shows_a_city(&second, SIZE);
    let magenta_before = rgb(&a).filter(|p| is_magenta(*p)).count();
    let magenta_after = rgb(&b).filter(|p| is_magenta(*p)).count();
    assert_eq!(magenta_before, 0);
    assert!(magenta_after >= 20, "only {magenta_after} magenta pixels");
    // Only that building changed: every changed pixel is few, and most of them magenta.
    let changed = rgb(&a).zip(rgb(&b)).filter(|(p, q)| p != q).count();
    assert!(
        changed >= magenta_after,
        "{changed} changed < {magenta_after} magenta"
    );
    assert!(
        changed < (SIZE.0 * SIZE.1 / 20) as usize,
        "{changed} pixels changed for one building"
    );
}

#[test]
fn render_command_writes_a_bookmark_view_and_rejects_unknown_bookmarks() {
    let scene = root().join(HELSINKI_SCENE);
    let scene = scene.to_str().unwrap();
    let dir = tmp("render-cli");
    let out = dir.join("senate.png");
    let out_s = out.to_str().unwrap();

    let bad = citytwin(&["render", scene, "--out", out_s, "--bookmark", "Nowhere"]);
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("Nowhere") && err.contains("Senate Square"), "{err}");
    assert!(!out.exists());

    let bad_size = citytwin(&["render", scene, "--out", out_s, "--size", "640"]);
    assert_eq!(bad_size.status.code(), Some(2));

    let ok = citytwin(&[
        "render",
        scene,
        "--out",
        out_s,
        "--size",
        "320x180",
        "--bookmark",
        "Senate Square",
    ]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert_png_shows_a_city(&out, (320, 180));
}

/// A lit pixel of the green layer's green (120, 170, 100): green well above red and blue.
fn is_park_green(p: [u8; 3]) -> bool {
    let [r, g, b] = p.map(i32::from);
    g > r + 25 && g > b + 35 && g > 80
}

/// The bookmark the layer tests look from: close enough that roads are several pixels wide.
const STREET_BOOKMARK: &str = "Senate Square";

/// The Helsinki scene's text with absolute data paths (to be written elsewhere).
fn default_scene_text() -> String {
    let text = std::fs::read_to_string(root().join(HELSINKI_SCENE)).expect("Helsinki scene");
    let data = root().join("data");
    text.replace("\"../data/", &format!("\"{}/", data.display()))
}

/// The default scene written to `dir` with absolute data paths and one layer hidden.
fn default_scene_with_hidden(dir: &Path, layer: &str) -> std::path::PathBuf {
    let text = default_scene_text();
    let needle = format!("name: \"{layer}\",");
    assert!(text.contains(&needle), "no layer {layer} in the default scene");
    let text = text.replace(&needle, &format!("{needle} visible: false,"));
    let path = dir.join("hidden.ron");
    std::fs::write(&path, text).expect("scene written");
    path
}

#[test]
fn hidden_green_disappears_and_roads_recolour_through_their_buffer() {
    let scene = root().join(HELSINKI_SCENE);
    let city = load_scene(&scene).expect("default scene loads").city;
    let dir = tmp("render-ground");
    let (plain, recoloured, hidden) = (
        dir.join("plain.png"),
        dir.join("roads.png"),
        dir.join("no-green.png"),
    );
    let magenta = Color::srgb(1.0, 0.0, 1.0);
    let outcome = render(&RenderJob {
        scene,
        size: SMALL,
        bookmark: Some(STREET_BOOKMARK.to_string()),
        shots: vec![
            Shot {
                out: plain.clone(),
                ..Shot::default()
            },
            Shot {
                out: recoloured.clone(),
                recolour_features: (0..city.roads.len())
                    .map(|i| (FeatureSet::Roads, i, magenta))
                    .collect(),
                ..Shot::default()
            },
        ],
    })
    .expect("offscreen render");
    assert_eq!(outcome.mesh_changes_after_first_shot, 0);
    let (_, _, a) = read_png_rgba(&plain).expect("plain PNG");
    let (_, _, b) = read_png_rgba(&recoloured).expect("recoloured PNG");
    let magenta_before = rgb(&a).filter(|p| is_magenta(*p)).count();
    let magenta_after = rgb(&b).filter(|p| is_magenta(*p)).count();
    let n = (SMALL.0 * SMALL.1) as usize;
    assert_eq!(magenta_before, 0);
    assert!(
        magenta_after * 50 >= n,
        "only {magenta_after} magenta road pixels of {n}"
    );
    // Nothing but roads changed: most changed pixels are road pixels turned magenta, the
    // rest blends of it at roads' edges.
    let changed = rgb(&a).zip(rgb(&b)).filter(|(p, q)| p != q).count();
    assert!(
        changed >= magenta_after && changed < magenta_after * 3,
        "{changed} changed, {magenta_after} magenta"
    );

    let green_shown = rgb(&a).filter(|p| is_park_green(*p)).count();
    assert!(green_shown * 50 >= n, "only {green_shown} park pixels of {n}");
    let hidden_scene = default_scene_with_hidden(&dir, "green");
    render(&RenderJob {
        scene: hidden_scene,
        size: SMALL,
        bookmark: Some(STREET_BOOKMARK.to_string()),
        shots: vec![Shot {
            out: hidden.clone(),
            ..Shot::default()
        }],
    })
    .expect("offscreen render, green hidden");
    let (_, _, c) = read_png_rgba(&hidden).expect("hidden PNG");
    let green_hidden = rgb(&c).filter(|p| is_park_green(*p)).count();
    assert!(
        green_hidden * 20 < green_shown,
        "{green_hidden} park pixels left of {green_shown}"
    );
}

/// The bookmark of the far-view test: the whole centre from 9 km, beyond the distance
/// (6 km) where tiles switch to their far level.
const FAR_BOOKMARK: &str = "Far";

#[test]
fn a_far_camera_draws_the_far_level_and_recolours_its_quads() {
    let dir = tmp("render-far");
    let text = default_scene_text();
    let needle = "    bookmarks: [\n";
    assert!(text.contains(needle), "the default scene has bookmarks");
    let far = format!(
        "{needle}        (name: \"{FAR_BOOKMARK}\", target_lonlat: (24.945, 60.168), distance_m: 9000.0, \
         pitch_deg: 60.0, heading_deg: 0.0),\n"
    );
    let scene = dir.join("far.ron");
    std::fs::write(&scene, text.replacen(needle, &far, 1)).expect("scene written");
    let big = biggest_building(&scene);
    let (plain, recoloured) = (dir.join("far.png"), dir.join("far-magenta.png"));
    let outcome = render_then_magenta(scene, (1280, 720), Some(FAR_BOOKMARK), big, &plain, &recoloured);
    let levels = outcome.first_shot_levels;
    assert!(levels.buildings_far > 0 && levels.roads_far > 0, "{levels:?}");
    assert_eq!((levels.buildings_near, levels.roads_near), (0, 0), "{levels:?}");
    assert_eq!(outcome.mesh_changes_after_first_shot, 0);

    let (_, _, a) = read_png_rgba(&plain).expect("a readable PNG");
    let (_, _, b) = read_png_rgba(&recoloured).expect("a readable PNG");
    // Roofs show as quads in the buildings' colour.
    let grey = rgb(&a).filter(|p| is_building_grey(*p)).count();
    assert!(grey >= 500, "only {grey} building-coloured pixels from afar");
    // The biggest building's quad takes its new colour through the per-building buffer.
    assert_eq!(rgb(&a).filter(|p| is_magenta(*p)).count(), 0);
    let magenta = rgb(&b).filter(|p| is_magenta(*p)).count();
    assert!(magenta >= 8, "only {magenta} magenta pixels");
    let changed = rgb(&a).zip(rgb(&b)).filter(|(p, q)| p != q).count();
    assert!(
        changed < 4 * magenta + 50,
        "{changed} pixels changed for one building"
    );
}
