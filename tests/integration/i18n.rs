//! The shipped CJK font in egui, drawn on the CPU as egui rasterises it: the dashboard's
//! Chinese title has a real glyph for every character (ink, each different, none the
//! empty box U+25A1 or egui's replacement), while egui's own fonts draw the same title as
//! identical tofu boxes; Latin text keeps egui's Latin font in front.

use bevy_egui::egui;
use citytwin::app::i18n::font_definitions;
use citytwin::twin::i18n::{Lang, tr};

/// Text size the glyphs are drawn at, points.
const SIZE: f32 = 24.0;
/// Fewest inked texels a drawn hanzi has at [`SIZE`].
const MIN_INK: usize = 40;

/// A context with `fonts`, after the passes that load them.
fn context(fonts: egui::FontDefinitions) -> egui::Context {
    let ctx = egui::Context::default();
    ctx.set_fonts(fonts);
    for _ in 0..2 {
        // No renderer takes the font atlas here: its deltas are dropped on purpose, as egui asks.
        ctx.run_ui(egui::RawInput::default(), |_| {})
            .textures_delta
            .clear();
    }
    ctx
}

/// Each character of `text` as egui draws it: the coverage of its glyph in the font atlas.
fn bitmaps(ctx: &egui::Context, text: &str) -> Vec<(char, Vec<u8>)> {
    ctx.fonts_mut(|f| {
        let galley = f.layout_no_wrap(
            text.to_string(),
            egui::FontId::proportional(SIZE),
            egui::Color32::WHITE,
        );
        let image = f.image();
        let w = image.size[0];
        galley
            .rows
            .iter()
            .flat_map(|r| r.row.glyphs.iter())
            .filter(|g| !g.chr.is_whitespace())
            .map(|g| {
                let [x0, y0] = g.uv_rect.min.map(usize::from);
                let [x1, y1] = g.uv_rect.max.map(usize::from);
                let mut px = vec![(x1 - x0) as u8, (y1 - y0) as u8];
                for y in y0..y1 {
                    for x in x0..x1 {
                        px.push(image.pixels[y * w + x].a());
                    }
                }
                (g.chr, px)
            })
            .collect()
    })
}

fn ink(px: &[u8]) -> usize {
    px[2..].iter().filter(|&&a| a > 64).count()
}

#[test]
fn chinese_title_has_real_glyphs_not_tofu() {
    let title = tr(Lang::ZhCn, "app-title");
    assert_eq!(title, "智慧城市指数");
    let ctx = context(font_definitions());
    let font = egui::FontId::proportional(SIZE);
    assert!(
        ctx.fonts_mut(|f| f.has_glyphs(&font, &title)),
        "the CJK font covers the title"
    );
    let glyphs = bitmaps(&ctx, &title);
    assert_eq!(glyphs.len(), title.chars().count());
    let boxes: Vec<Vec<u8>> = bitmaps(&ctx, "\u{25A1}\u{FFFD}")
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    for (i, (c, px)) in glyphs.iter().enumerate() {
        println!("{c}: {} inked texels", ink(px));
        assert!(ink(px) >= MIN_INK, "{c} has little ink: {}", ink(px));
        assert!(!boxes.contains(px), "{c} is drawn as a box");
        for (d, other) in &glyphs[i + 1..] {
            assert_ne!(px, other, "{c} and {d} look the same");
        }
    }
    // Latin keeps egui's own font: the same glyph as without the CJK font.
    let latin = context(egui::FontDefinitions::default());
    assert_eq!(bitmaps(&ctx, "Index"), bitmaps(&latin, "Index"));
}

#[test]
fn without_the_cjk_font_the_title_is_tofu() {
    // The check above can fail: egui's own fonts have no hanzi and draw one box for all.
    let title = tr(Lang::ZhCn, "app-title");
    let ctx = context(egui::FontDefinitions::default());
    assert!(!ctx.fonts_mut(|f| f.has_glyphs(&egui::FontId::proportional(SIZE), &title)));
    let glyphs = bitmaps(&ctx, &title);
    assert!(
        glyphs.windows(2).all(|w| w[0].1 == w[1].1),
        "all the same replacement glyph"
    );
}

/// The data catalogue window opened on the Chinese desktop at 1280×720: it is drawn on the
/// screen and none of its text is cut (the PNG is kept to look at).
#[test]
fn the_data_catalogue_opens_in_chinese_with_nothing_cut() {
    use citytwin::app::access::CatalogueOpen;
    use citytwin::app::ui_render::render_desktop_with;
    let dir = std::env::temp_dir().join(format!("citytwin-it-catalogue-zh-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("catalogue-zh-CN-1280x720.png");
    let scene = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(citytwin::twin::scene::DEFAULT_SCENE);
    let shot = render_desktop_with(&scene, &out, (1280, 720), Lang::ZhCn, |app| {
        app.insert_resource(CatalogueOpen(true));
    })
    .expect("the desktop renders");
    let window = shot
        .part("catalogue")
        .expect("the catalogue window is drawn")
        .rect;
    assert!(shot.screen.expand(0.5).contains_rect(window), "{window:?}");
    let cut: Vec<_> = shot.cut.iter().filter(|c| window.intersects(c.clip)).collect();
    assert!(cut.is_empty(), "texts cut in the catalogue: {cut:#?}");
    eprintln!("{}", out.display());
}
