//! Sun shadows through the offscreen path (Mesa lavapipe where there is no GPU): with
//! shadows on (from the scene's `lighting`), pixels in the buildings' shadows are clearly
//! darker than with shadows off and the sunlit rest is unchanged; buildings hidden
//! through the colour buffer, or a hidden buildings layer, cast no shadow.

use std::path::{Path, PathBuf};

use bevy::prelude::Color;
use citytwin::app::offscreen::{RenderJob, Shot, read_png_rgba, render_lit};
use citytwin::twin::load::load_scene;
use citytwin::twin::scene::HELSINKI_SCENE;

use crate::common::{root, tmp};

/// Size of the test images.
const SIZE: (u32, u32) = (640, 360);
/// A bookmark looking south-west, toward the sun: the buildings' shadows fall toward the
/// camera, in plain view.
const SUNWARD_BOOKMARK: &str = "Central railway station";
/// Channel difference (0–255) under which two pixels count as equal.
const SAME: i32 = 6;

/// The Helsinki scene written to `dir` with absolute data paths, sun shadows on and the
/// buildings layer shown or hidden.
fn lit_default_scene(dir: &Path, buildings_visible: bool) -> PathBuf {
    let text = std::fs::read_to_string(root().join(HELSINKI_SCENE)).expect("Helsinki scene");
    let data = root().join("data");
    let mut text = text.replace("\"../data/", &format!("\"{}/", data.display()));
    let zones = "\n    zones: (";
    assert!(text.contains(zones), "the Helsinki scene has zones");
    text = text.replacen(zones, &format!("\n    lighting: (shadows: true),{zones}"), 1);
    if !buildings_visible {
        let needle = "name: \"buildings\",";
        assert!(text.contains(needle), "no buildings layer in the Helsinki scene");
        text = text.replace(needle, &format!("{needle} visible: false,"));
    }
    let path = dir.join(if buildings_visible {
        "lit.ron"
    } else {
        "lit-no-buildings.ron"
    });
    std::fs::write(&path, text).expect("scene written");
    path
}

/// Pixels of an RGBA8 buffer as RGB triples.
fn rgb(pixels: &[u8]) -> Vec<[i32; 3]> {
    pixels
        .chunks_exact(4)
        .map(|p| [p[0], p[1], p[2]].map(i32::from))
        .collect()
}

fn read(path: &Path) -> Vec<[i32; 3]> {
    let (w, h, pixels) = read_png_rgba(path).expect("a readable PNG");
    assert_eq!((w, h), SIZE, "{}", path.display());
    rgb(&pixels)
}

/// How `b` (shadows on) differs from `a` (shadows off), pixel by pixel.
#[derive(Debug)]
struct Diff {
    /// Pixels clearly darker in `b`: every channel lower, the sum by more than 3 × SAME.
    darker: usize,
    /// Pixels brighter in `b` by more than SAME in some channel.
    brighter: usize,
    /// Pixels equal within SAME in every channel.
    same: usize,
    /// Median over the darker pixels of (sum in `b`) / (sum in `a`).
    darker_ratio: f64,
    /// All pixels.
    n: usize,
}

fn diff(a: &[[i32; 3]], b: &[[i32; 3]]) -> Diff {
    assert_eq!(a.len(), b.len());
    let (mut darker, mut brighter, mut same) = (0, 0, 0);
    let mut ratios = Vec::new();
    for (p, q) in a.iter().zip(b) {
        let (sp, sq): (i32, i32) = (p.iter().sum(), q.iter().sum());
        if p.iter().zip(q).all(|(x, y)| (x - y).abs() <= SAME) {
            same += 1;
        } else if p.iter().zip(q).all(|(x, y)| y <= x) && sp - sq > 3 * SAME {
            darker += 1;
            ratios.push(f64::from(sq) / f64::from(sp.max(1)));
        } else if p.iter().zip(q).any(|(x, y)| y - x > SAME) {
            brighter += 1;
        }
    }
    ratios.sort_by(f64::total_cmp);
    Diff {
        darker,
        brighter,
        same,
        darker_ratio: ratios.get(ratios.len() / 2).copied().unwrap_or(1.0),
        n: a.len(),
    }
}

fn job(scene: PathBuf, shots: Vec<Shot>) -> RenderJob {
    RenderJob {
        scene,
        size: SIZE,
        bookmark: Some(SUNWARD_BOOKMARK.to_string()),
        shots,
    }
}

#[test]
fn shadows_darken_the_shadow_side_only_and_hidden_buildings_cast_none() {
    let city = load_scene(&root().join(HELSINKI_SCENE))
        .expect("Helsinki scene loads")
        .city;
    let dir = tmp("shadows");
    let hide_all: Vec<(usize, Color)> = (0..city.buildings.len()).map(|i| (i, Color::NONE)).collect();
    let shots = |tag: &str| {
        vec![
            Shot {
                out: dir.join(format!("{tag}.png")),
                ..Shot::default()
            },
            Shot {
                out: dir.join(format!("{tag}-hidden.png")),
                recolour: hide_all.clone(),
                ..Shot::default()
            },
        ]
    };
    // Off: the Helsinki scene says nothing about lighting, and it is forced off anyway.
    render_lit(&job(root().join(HELSINKI_SCENE), shots("off")), None, Some(false))
        .expect("render, shadows off");
    // On: as the scene's `lighting: (shadows: true)` says.
    let lit = lit_default_scene(&dir, true);
    render_lit(&job(lit, shots("on")), None, None).expect("render, shadows on");
    // On (forced, as `render --shadows`), with the buildings layer hidden.
    let no_buildings = lit_default_scene(&dir, false);
    render_lit(
        &job(
            no_buildings,
            vec![Shot {
                out: dir.join("on-layer-hidden.png"),
                ..Shot::default()
            }],
        ),
        None,
        Some(true),
    )
    .expect("render, shadows on, buildings layer hidden");

    let off = read(&dir.join("off.png"));
    let on = read(&dir.join("on.png"));
    let d = diff(&off, &on);
    eprintln!("shadows on vs off: {d:?}");
    // A good share of the view (5.5 % on lavapipe) lies in the buildings' shadows, clearly darker:
    // in shadow a surface keeps its ambient light alone (sRGB ratio about 0.69 on lavapipe).
    assert!(
        d.darker * 33 >= d.n,
        "only {} of {} pixels darker: {d:?}",
        d.darker,
        d.n
    );
    assert!(d.darker_ratio < 0.8, "shadowed pixels not clearly darker: {d:?}");
    // Shadows never brighten anything, and the sunlit rest is unchanged.
    assert!(d.brighter * 200 < d.n, "{} pixels brighter: {d:?}", d.brighter);
    assert!(
        d.same + d.darker + d.brighter >= d.n * 98 / 100,
        "pixels neither equal nor darker: {d:?}"
    );
    assert!(d.same * 2 >= d.n, "less than half the view unchanged: {d:?}");

    // Buildings hidden through the colour buffer are hidden from the sun too.
    let hidden_off = read(&dir.join("off-hidden.png"));
    let hidden_on = read(&dir.join("on-hidden.png"));
    let h = diff(&hidden_off, &hidden_on);
    eprintln!("buildings hidden by colour, on vs off: {h:?}");
    assert!(h.same * 1000 >= h.n * 995, "hidden buildings cast shadows: {h:?}");
    // So is a hidden layer.
    let layer_hidden = read(&dir.join("on-layer-hidden.png"));
    let l = diff(&hidden_off, &layer_hidden);
    eprintln!("buildings layer hidden, on vs buildings hidden, off: {l:?}");
    assert!(l.same * 1000 >= l.n * 995, "a hidden layer casts shadows: {l:?}");
}
