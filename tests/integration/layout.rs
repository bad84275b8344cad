//! Screenshot tests that look at the screen as a user would: the desktop app and the wall
//! rendered offscreen at 1280×720 and 1920×1080, checked from egui's own layout (where
//! every docked panel, window and wall panel went, and which texts did not fit where egui
//! drew them) and from the pixels (the frame is not blank, the city shows in the middle).

use bevy_egui::egui;
use citytwin::app::offscreen::read_png_rgba;
use citytwin::app::ui::layout::{Dock, PartKind};
use citytwin::app::ui_render::{UiShot, render_desktop, render_desktop_in};
use citytwin::app::wall::render::render_wall;
use citytwin::twin::i18n::Lang;
use citytwin::twin::scene::DEFAULT_SCENE;

use crate::common::{root, tmp};

/// The sizes a first screen must work at: a small laptop and a full-HD screen.
const SIZES: [(u32, u32); 2] = [(1280, 720), (1920, 1080)];
/// The app's clear colour in sRGB bytes.
const CLEAR: [u8; 3] = [20, 23, 28];
/// Least share of the screen the desktop's 3D view keeps.
const VIEW_SHARE: f32 = 0.5;

/// Share of the pixels inside `r` (points, at `ppp` pixels a point) that `counts` (given a
/// pixel's RGB bytes).
fn pixel_share(
    pixels: &[u8],
    width: u32,
    height: u32,
    r: egui::Rect,
    ppp: f32,
    counts: impl Fn(&[u8]) -> bool,
) -> f64 {
    let x0 = (r.min.x * ppp).max(0.0) as u32;
    let y0 = (r.min.y * ppp).max(0.0) as u32;
    let x1 = ((r.max.x * ppp) as u32).min(width);
    let y1 = ((r.max.y * ppp) as u32).min(height);
    let (mut hits, mut all) = (0usize, 0usize);
    for y in y0..y1 {
        for x in x0..x1 {
            let i = ((y * width + x) * 4) as usize;
            all += 1;
            if counts(&pixels[i..i + 3]) {
                hits += 1;
            }
        }
    }
    hits as f64 / all.max(1) as f64
}

/// Share of the pixels inside `r` that differ from the clear colour.
fn drawn_share(pixels: &[u8], width: u32, height: u32, r: egui::Rect, ppp: f32) -> f64 {
    pixel_share(pixels, width, height, r, ppp, |px| {
        px.iter().zip(CLEAR).any(|(a, b)| a.abs_diff(b) > 6)
    })
}

/// What every first screen must show: nothing overlapping, no text cut.
fn assert_tidy(shot: &UiShot, what: &str) {
    assert!(
        shot.overlaps().is_empty(),
        "{what}: panels overlap: {:?}\n{:#?}",
        shot.overlaps(),
        shot.parts
    );
    let cut: Vec<_> = shot.cut.iter().filter(|c| !c.elided).collect();
    assert!(cut.is_empty(), "{what}: texts cut: {cut:#?}");
    // Text cut short with "…" only in the wall's ticker, whose one line cannot wrap.
    let ticker = shot.part("ticker").map(|p| p.rect);
    let elided: Vec<_> = shot
        .cut
        .iter()
        .filter(|c| c.elided && !ticker.is_some_and(|t| t.contains_rect(c.clip)))
        .collect();
    assert!(elided.is_empty(), "{what}: texts truncated: {elided:#?}");
    assert!(
        shot.texts_seen > 20,
        "{what}: only {} texts painted",
        shot.texts_seen
    );
    for p in &shot.parts {
        assert!(
            shot.screen.expand(0.5).contains_rect(p.rect),
            "{what}: {} at {:?} leaves the screen {:?}",
            p.name,
            p.rect,
            shot.screen
        );
    }
}

/// Height of the dashboard's title row, points, for the ink check.
const TITLE_BAND_PT: f32 = 40.0;
/// Least share of the title row's pixels that text lights up (a heading and its figure).
const TITLE_INK_SHARE: f64 = 0.01;

/// Share of the pixels inside `r` (points, at `ppp`) bright enough to be text on egui's
/// dark panels (the panel fill and the clear colour are far darker).
fn text_ink_share(pixels: &[u8], width: u32, height: u32, r: egui::Rect, ppp: f32) -> f64 {
    pixel_share(pixels, width, height, r, ppp, |px| {
        px.iter().map(|&c| c as u32).sum::<u32>() / 3 > 100
    })
}

#[test]
fn desktop_in_chinese_is_tidy_and_its_title_has_ink() {
    let scene = root().join(DEFAULT_SCENE);
    let dir = tmp("layout-desktop-zh");
    let size = (1280, 720);
    let what = "desktop zh-CN 1280×720";
    let out = dir.join("desktop-zh-CN-1280x720.png");
    let shot = render_desktop_in(&scene, &out, size, Lang::ZhCn).expect("the desktop renders");
    assert_tidy(&shot, what);
    let dash = shot.part("dashboard").expect("a dashboard").rect;
    let band = egui::Rect::from_min_size(dash.min, egui::vec2(dash.width(), TITLE_BAND_PT));
    let (w, h, pixels) = read_png_rgba(&out).expect("a readable PNG");
    let ink = text_ink_share(&pixels, w, h, band, shot.pixels_per_point);
    assert!(
        ink > TITLE_INK_SHARE,
        "{what}: the dashboard's title row has {:.2} % text ink",
        ink * 100.0
    );
}

#[test]
fn desktop_first_screen_is_tidy_at_720p_and_1080p() {
    let scene = root().join(DEFAULT_SCENE);
    let dir = tmp("layout-desktop");
    for size in SIZES {
        let what = format!("desktop {}×{}", size.0, size.1);
        let out = dir.join(format!("desktop-{}x{}.png", size.0, size.1));
        let shot = render_desktop(&scene, &out, size).expect("the desktop renders");
        eprintln!("{what}: {} parts, free {:?}", shot.parts.len(), shot.free);
        assert_tidy(&shot, &what);
        // Panels dock to the edges they belong to.
        for (name, dock) in [
            ("layers", Dock::Left),
            ("dashboard", Dock::Right),
            ("timeline", Dock::Bottom),
        ] {
            let p = shot
                .part(name)
                .unwrap_or_else(|| panic!("{what}: no {name}: {:?}", shot.parts));
            assert_eq!(p.kind, PartKind::Dock(dock), "{what}: {name}");
        }
        // Windows stay inside the free centre; the 3D view keeps at least half the screen.
        let windows = shot.of_kind(|k| k == PartKind::Window);
        for name in ["overlays", "views"] {
            assert!(shot.part(name).is_some(), "{what}: no {name} window: {windows:?}");
        }
        for w in &windows {
            assert!(
                shot.free.expand(0.5).contains_rect(w.rect),
                "{what}: window {} at {:?} outside the free centre {:?}",
                w.name,
                w.rect,
                shot.free
            );
        }
        let share = shot.free.area() / shot.screen.area();
        assert!(
            share >= VIEW_SHARE,
            "{what}: the 3D view has {:.0} % of the screen",
            share * 100.0
        );
        // The city's centre is not hidden on first start: the windows cover little of the
        // middle third of the 3D view.
        let middle = egui::Rect::from_center_size(shot.free.center(), shot.free.size() / 3.0);
        let hidden: f32 = windows
            .iter()
            .map(|w| w.rect.intersect(middle).area().max(0.0))
            .sum();
        assert!(
            hidden < middle.area() * 0.1,
            "{what}: windows hide {:.0} % of the view's centre",
            hidden / middle.area() * 100.0
        );

        // The pixels: the city in the middle of the 3D view, the panels drawn.
        let (w, h, pixels) = read_png_rgba(&out).expect("a readable PNG");
        assert_eq!((w, h), size);
        let ppp = shot.pixels_per_point;
        let city = drawn_share(&pixels, w, h, middle, ppp);
        assert!(
            city > 0.2,
            "{what}: only {:.0} % of the view's centre shows the city",
            city * 100.0
        );
        for name in ["layers", "dashboard"] {
            let r = shot.part(name).expect("drawn").rect;
            let share = drawn_share(&pixels, w, h, r, ppp);
            assert!(
                share > 0.5,
                "{what}: the {name} panel looks blank ({:.0} %)",
                share * 100.0
            );
        }
    }
}

#[test]
fn wall_is_tidy_at_1080p() {
    wall_is_tidy_at(&[(1920, 1080)]);
}

#[test]
fn wall_is_tidy_at_720p() {
    wall_is_tidy_at(&[(1280, 720)]);
}

/// Renders the wall at each of `sizes` and checks it is tidy (see [`assert_tidy`]).
fn wall_is_tidy_at(sizes: &[(u32, u32)]) {
    let scene = root().join(DEFAULT_SCENE);
    let dir = tmp("layout-wall");
    for &size in sizes {
        let what = format!("wall {}×{}", size.0, size.1);
        let out = dir.join(format!("wall-{}x{}.png", size.0, size.1));
        let r = render_wall(&scene, &out, size).expect("the wall renders");
        let shot = &r.ui;
        eprintln!("{what}: {} parts", shot.parts.len());
        assert_tidy(shot, &what);
        let panels = shot.of_kind(|k| k == PartKind::WallPanel);
        assert_eq!(panels.len(), r.layout.panels.len() + 1, "{what}: {panels:?}");
        let (w, h, pixels) = read_png_rgba(&out).expect("a readable PNG");
        assert_eq!((w, h), size);
        let middle = egui::Rect::from_center_size(shot.screen.center(), shot.screen.size() / 4.0);
        let city = drawn_share(&pixels, w, h, middle, shot.pixels_per_point);
        assert!(
            city > 0.2,
            "{what}: only {:.0} % of the middle shows the city",
            city * 100.0
        );
    }
}
