//! The control-room wall: its layout rendered offscreen at 3840×2160 (every panel inside
//! the frame and drawn, the city visible between them), the command line's wall options,
//! and a compressed soak: a simulated hour of the wall's non-render half with the
//! simulator at 100×, memory bounded.

use std::process::{Command, Output};

use citytwin::app::offscreen::read_png_rgba;
use citytwin::app::wall::render::render_wall;
use citytwin::twin::scene::HELSINKI_SCENE;
use citytwin::twin::wall::PxRect;
use citytwin::twin::wall::soak::SoakReport;

use crate::common::{root, tmp};

/// The wall size the issue asks for.
const WALL: (u32, u32) = (3840, 2160);
/// The app's clear colour in sRGB bytes.
const CLEAR: [u8; 3] = [20, 23, 28];
/// Resident memory the soak may gain after its warm-up, bytes.
const SOAK_GROWTH_BOUND: u64 = 96 * 1024 * 1024;

fn citytwin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_citytwin"))
        .args(args)
        .output()
        .expect("runs citytwin")
}

/// The RGB pixels of an RGBA image inside a rectangle.
fn pixels_in(pixels: &[u8], width: u32, r: &PxRect) -> Vec<[u8; 3]> {
    let (x0, y0) = (r.x.ceil() as u32, r.y.ceil() as u32);
    let (x1, y1) = (r.right().floor() as u32, r.bottom().floor() as u32);
    let mut out = Vec::new();
    for y in y0..y1 {
        for x in x0..x1 {
            let i = ((y * width + x) * 4) as usize;
            out.push([pixels[i], pixels[i + 1], pixels[i + 2]]);
        }
    }
    out
}

/// Light pixels: text on the dark panels.
fn is_ink(p: &[u8; 3]) -> bool {
    p.iter().map(|c| u32::from(*c)).sum::<u32>() > 3 * 140
}

#[test]
fn wall_renders_at_4k_with_every_panel_inside_the_frame_and_drawn() {
    let dir = tmp("wall-render");
    let out = dir.join("wall.png");
    let r = render_wall(&root().join(HELSINKI_SCENE), &out, WALL).expect("the wall renders");
    let l = &r.layout;
    assert_eq!(l.size, WALL);
    assert_eq!(l.scale, 2.0, "2160 px tall → UI scale 2");
    assert!(l.panels.len() >= 5, "{:?}", l.panels);
    assert!(
        l.outside_frame().is_empty(),
        "panels outside: {:?}",
        l.outside_frame()
    );
    assert!(l.ticker.inside(WALL.0 as f32, WALL.1 as f32));

    // Every laid-out panel was drawn, where the layout put it.
    for p in &l.panels {
        let drawn = r
            .drawn
            .iter()
            .find(|(n, d)| n == p.kind.name() && (d.x - p.rect.x).abs() < 1.0 && (d.y - p.rect.y).abs() < 1.0)
            .unwrap_or_else(|| panic!("{} not drawn at {:?}: {:?}", p.kind.name(), p.rect, r.drawn));
        assert!(drawn.1.inside(WALL.0 as f32, WALL.1 as f32), "{drawn:?}");
        assert!((drawn.1.w - p.rect.w).abs() < 1.0 && (drawn.1.h - p.rect.h).abs() < 1.0);
    }
    assert!(r.drawn.iter().any(|(n, _)| n == "ticker"));
    // The Helsinki scene's feed is the simulator: a banner says so while its values show.
    let banner = r
        .drawn
        .iter()
        .find(|(n, _)| n == "simulated banner")
        .unwrap_or_else(|| panic!("no simulated banner: {:?}", r.drawn))
        .1;
    assert!(banner.inside(WALL.0 as f32, WALL.1 as f32), "{banner:?}");

    let (w, h, pixels) = read_png_rgba(&out).expect("a readable PNG");
    assert_eq!((w, h), WALL);
    // No panel is blank: each shows text on its dark fill.
    for p in &l.panels {
        let inside = pixels_in(&pixels, w, &p.rect);
        let ink = inside.iter().filter(|q| is_ink(q)).count();
        let share = ink as f64 / inside.len() as f64;
        assert!(
            share > 0.002,
            "{} panel looks blank: {:.3} % light pixels",
            p.kind.name(),
            share * 100.0
        );
        let dark = inside.iter().filter(|q| q.iter().all(|c| *c < 60)).count();
        assert!(
            dark * 2 > inside.len(),
            "{} panel has no dark fill",
            p.kind.name()
        );
    }
    // The banner is the amber of values not measured live, with dark text on it.
    let inside = pixels_in(&pixels, w, &banner);
    let amber = inside
        .iter()
        .filter(|q| q[0] > 200 && q[1] > 150 && q[1] < 220 && q[2] < 110)
        .count();
    assert!(
        amber * 2 > inside.len(),
        "the banner is not amber: {amber} of {}",
        inside.len()
    );
    assert!(
        inside.iter().any(|q| q.iter().all(|c| *c < 60)),
        "the banner has no text"
    );
    // The city shows in the middle, between the panels.
    let middle = PxRect {
        x: WALL.0 as f32 * 0.3,
        y: WALL.1 as f32 * 0.2,
        w: WALL.0 as f32 * 0.4,
        h: WALL.1 as f32 * 0.6,
    };
    let centre = pixels_in(&pixels, w, &middle);
    let city = centre
        .iter()
        .filter(|q| q.iter().zip(CLEAR).any(|(a, b)| a.abs_diff(b) > 6))
        .count();
    assert!(
        city * 5 > centre.len(),
        "only {city} of {} pixels between the panels show the city",
        centre.len()
    );
}

#[test]
fn wall_options_on_the_command_line() {
    let scene = root().join(HELSINKI_SCENE);
    let scene = scene.to_str().unwrap();
    let out = tmp("wall-cli").join("never.png");
    let out_s = out.to_str().unwrap();
    // A wall view is the wall's, not a bookmark's.
    let both = citytwin(&[
        "render",
        "--wall",
        scene,
        "--out",
        out_s,
        "--bookmark",
        "Senate Square",
    ]);
    assert_eq!(both.status.code(), Some(2));
    // --monitor belongs to the wall; soak needs --wall.
    assert_eq!(citytwin(&["--monitor", "1"]).status.code(), Some(2));
    assert_eq!(citytwin(&["soak", "--sim-hours", "0.1"]).status.code(), Some(2));
    let bad = citytwin(&["soak", "--wall", "/nonexistent/wall.ron"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("/nonexistent/wall.ron"));
    assert!(!out.exists());
}

#[test]
fn a_simulated_hour_at_100x_keeps_memory_bounded() {
    // In its own process: the memory of other tests running beside it in this one would
    // count too.
    let scene = root().join(HELSINKI_SCENE);
    let out = citytwin(&[
        "soak",
        "--wall",
        scene.to_str().unwrap(),
        "--speed",
        "100",
        "--sim-hours",
        "1",
        "--samples",
        "12",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: SoakReport = serde_json::from_slice(&out.stdout).expect("one JSON soak report");
    eprint!("{}", report.text());
    let s = &report.samples;
    assert!(s.len() >= 12, "{} samples", s.len());
    let last = s.last().unwrap();
    assert!(last.sim_h >= 1.0, "{last:?}");
    // The feeds really ran at speed: observations kept flowing.
    assert!(last.accepted > s[1].accepted && s[1].accepted > 0, "{s:?}");
    assert!(last.recent_observations > 0);
    // The world does not fill with entities, and memory stays within a bound.
    let after: Vec<_> = s.iter().filter(|x| x.sim_h >= report.warmup_h).collect();
    let (lo, hi) = after.iter().fold((usize::MAX, 0), |(lo, hi), x| {
        (lo.min(x.entities), hi.max(x.entities))
    });
    assert!(hi - lo <= 2, "entities from {lo} to {hi}");
    let growth = report.rss_growth_after_warmup();
    assert!(
        growth < SOAK_GROWTH_BOUND,
        "RSS grew {:.1} MiB after the warm-up",
        growth as f64 / (1024.0 * 1024.0)
    );
}
