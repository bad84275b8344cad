//! Exporting the sample briefing headless: the PDF has one page per slide, each page one
//! image of the rendered view (not blank, and different from slide to slide), the
//! indicators, notes and the sources' attribution; the PNGs are written too; a briefing
//! that names an unknown bookmark fails before rendering, naming the file and the slide.

use std::process::{Command, Output};

use citytwin::app::offscreen::read_png_rgba;
use citytwin::twin::briefing::pdf::inspect;
use citytwin::twin::briefing::{Briefing, SAMPLE_BRIEFING};

use crate::common::{root, tmp};

/// Size of the rendered views.
const SIZE: (u32, u32) = (480, 270);
/// Fewest distinct colours a rendered city view has (a blank or flat frame has a handful).
const MIN_COLOURS: usize = 200;

fn citytwin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_citytwin"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("runs citytwin")
}

#[test]
fn sample_briefing_exports_one_page_with_an_image_per_slide() {
    let briefing = Briefing::load(&root().join(SAMPLE_BRIEFING)).expect("the sample briefing loads");
    let dir = tmp("briefing");
    let pdf = dir.join("briefing.pdf");
    let pngs = dir.join("png");
    let size = format!("{}x{}", SIZE.0, SIZE.1);
    let out = citytwin(&[
        "briefing",
        "export",
        SAMPLE_BRIEFING,
        "--pdf",
        pdf.to_str().unwrap(),
        "--png-dir",
        pngs.to_str().unwrap(),
        "--size",
        &size,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "export failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{stdout}");

    let bytes = std::fs::read(&pdf).expect("the PDF is written");
    let summary = inspect(&bytes).expect("the PDF is structurally sound");
    let n = briefing.slides.len();
    assert_eq!(summary.count, n, "page count");
    assert_eq!(summary.pages.len(), n);
    for (i, (page, slide)) in summary.pages.iter().zip(&briefing.slides).enumerate() {
        assert_eq!(page.images.len(), 1, "page {} has one image", i + 1);
        let image = &page.images[0];
        assert_eq!((image.width, image.height), SIZE);
        assert!(
            image.distinct_colours >= MIN_COLOURS,
            "page {}: the view looks blank ({} colours)",
            i + 1,
            image.distinct_colours
        );
        assert!(page.content.contains("/Im0 Do"));
        assert!(
            page.content.contains("\\251 OpenStreetMap contributors"),
            "page {}",
            i + 1
        );
        assert!(page.content.contains("Data time: 2026-06-01 08:00:00 UTC"));
        let first_word = slide.title.split_whitespace().next().unwrap();
        assert!(
            page.content.contains(first_word),
            "page {} shows its title",
            i + 1
        );
        assert!(
            !page.content.contains("(None highlighted"),
            "page {} lists its indicators",
            i + 1
        );
    }

    // The PNGs: one per slide, the same views, each different from the one before.
    let mut previous: Option<Vec<u8>> = None;
    for i in 0..n {
        let path = pngs.join(format!("slide-{:02}.png", i + 1));
        let (w, h, pixels) = read_png_rgba(&path).expect("a PNG per slide");
        assert_eq!((w, h), SIZE);
        if let Some(p) = &previous {
            let differing = p
                .chunks_exact(4)
                .zip(pixels.chunks_exact(4))
                .filter(|(a, b)| a != b)
                .count();
            assert!(
                differing * 10 > (w * h) as usize,
                "slide {} looks like slide {}",
                i + 1,
                i
            );
        }
        previous = Some(pixels);
    }
}

#[test]
fn unknown_bookmark_fails_before_rendering() {
    let dir = tmp("briefing-bad");
    let file = dir.join("bad.ron");
    let scene = root().join("scenes/default.ron");
    std::fs::write(
        &file,
        format!(
            r#"(title: "t", scene: "{}", slides: [(title: "Harbour", view: bookmark("No such place"))])"#,
            scene.display()
        ),
    )
    .unwrap();
    let out = citytwin(&["briefing", "export", file.to_str().unwrap(), "--pdf", "x.pdf"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.ron")
            && stderr.contains("slide 1 'Harbour'")
            && stderr.contains("No such place"),
        "{stderr}"
    );
    assert!(!root().join("x.pdf").exists());
}
