//! Exporting the sample briefing headless: the PDF has one page per slide, each page one
//! image of the rendered view (not blank, and different from slide to slide), the
//! indicators, notes and the sources' attribution; the PNGs are written too; a briefing
//! that names an unknown bookmark fails before rendering, naming the file and the slide.
//! A slide with a scenario shows the scenario's city and values (against today), and feed
//! indicators come from the scene's history store at the data time. A slide's zones are
//! coloured by its own values (a feed indicator from the history, a scenario's city), and
//! the JSON export has the values of the pages; exported as `public` it holds the cell of
//! seven requests of the k-anonymity fixture and not the cell of three, nor any address,
//! while `staff` gets the records.

use std::process::{Command, Output};

use std::path::{Path, PathBuf};

use citytwin::app::briefing_export::{ExportJob, export_briefing};
use citytwin::app::dashboard::choropleth_colour;
use citytwin::app::offscreen::read_png_rgba;
use citytwin::twin::access::HexGrid;
use citytwin::twin::access::privacy::DEFAULT_CELL_M;
use citytwin::twin::briefing::page::value_text;
use citytwin::twin::briefing::values::{
    PreparedSlide, feeds_at_times, load_slide_scenarios, prepare_slides, slide_times,
};
use citytwin::twin::briefing::{Briefing, SAMPLE_BRIEFING};
use citytwin::twin::feeds::{Metric, Observation, SourceId, Subject, Timestamp};
use citytwin::twin::fixtures::{self, pm25};
use citytwin::twin::indicators::context::IndicatorContext;
use citytwin::twin::indicators::report::IndicatorRow;
use citytwin::twin::load::LoadedScene;

use crate::common::{root, tmp};

/// Size of the rendered views.
const SIZE: (u32, u32) = (480, 270);
/// Fewest distinct colours a rendered city view has (a blank or flat frame has a handful).
const MIN_COLOURS: usize = 200;
/// Fewest pixels the sample scenario changes in the whole-centre view (it rebuilds a zone
/// and adds buildings, a park and a stop).
const MIN_SCENARIO_PIXELS: usize = 300;

fn citytwin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_citytwin"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("runs citytwin")
}

/// Exports a briefing at [`SIZE`] to a PDF and a PNG folder, failing the test with the
/// command's output when it fails.
fn export(briefing: &str, pdf: &Path, pngs: &Path) {
    let size = format!("{}x{}", SIZE.0, SIZE.1);
    let out = citytwin(&[
        "briefing",
        "export",
        briefing,
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
}

#[test]
fn sample_briefing_exports_one_page_with_an_image_per_slide() {
    let briefing = Briefing::load(&root().join(SAMPLE_BRIEFING)).expect("the sample briefing loads");
    let dir = tmp("briefing");
    let pdf = dir.join("briefing.pdf");
    let pngs = dir.join("png");
    export(SAMPLE_BRIEFING, &pdf, &pngs);

    let n = briefing.slides.len();
    assert_eq!(pdf_page_count(&pdf), n, "page count");
    let images = pdf_images(&pdf, &dir.join("extracted"));
    let text = pdftotext_pages(&pdf);
    assert_eq!(text.len(), n);
    for (i, (page, slide)) in text.iter().zip(&briefing.slides).enumerate() {
        let on_page: Vec<&PdfImage> = images.iter().filter(|im| im.page == i + 1).collect();
        assert_eq!(on_page.len(), 1, "page {} has one image", i + 1);
        let image = on_page[0];
        assert_eq!((image.width, image.height), SIZE);
        assert!(
            image.distinct_colours >= MIN_COLOURS,
            "page {}: the view looks blank ({} colours)",
            i + 1,
            image.distinct_colours
        );
        let page = flat(page);
        assert!(
            page.contains("© OpenStreetMap contributors"),
            "page {}: {page}",
            i + 1
        );
        assert!(page.contains("Data time: 2026-06-01 08:00:00 UTC"), "{page}");
        assert!(
            page.contains("Feeds: "),
            "page {} names the feeds behind it",
            i + 1
        );
        assert!(
            page.contains(&flat(&slide.title)),
            "page {} shows its title: {page}",
            i + 1
        );
        assert!(
            !page.contains("None highlighted"),
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

/// The default scene written into `dir` with absolute data paths and its history in
/// `dir/history.sqlite` ([`fixtures::scene_with_history_in`]), and the sample scenario in
/// `dir/scenarios/`.
fn scene_with_history_in(dir: &Path) -> PathBuf {
    let scene = fixtures::scene_with_history_in(dir).unwrap();
    std::fs::create_dir_all(dir.join("scenarios")).unwrap();
    std::fs::copy(
        root().join("scenes/scenarios/kluuvi-green-and-transit.ron"),
        dir.join("scenarios/kluuvi.ron"),
    )
    .unwrap();
    scene
}

/// Text with every run of white space as one space (as it is compared with a page's).
fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The number of pages `pdfinfo` (poppler) reads in a PDF.
fn pdf_page_count(pdf: &Path) -> usize {
    let out = Command::new("pdfinfo")
        .arg(pdf)
        .output()
        .expect("pdfinfo (poppler-utils)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a page count")
}

/// An image of a PDF as `pdfimages` (poppler) extracts it.
#[derive(Debug)]
struct PdfImage {
    /// 1-based page.
    page: usize,
    width: u32,
    height: u32,
    distinct_colours: usize,
}

/// The images of a PDF, extracted into `dir` as PNG files.
fn pdf_images(pdf: &Path, dir: &Path) -> Vec<PdfImage> {
    std::fs::create_dir_all(dir).unwrap();
    let prefix = dir.join("im");
    let out = Command::new("pdfimages")
        .args(["-png", "-p"])
        .arg(pdf)
        .arg(&prefix)
        .output()
        .expect("pdfimages (poppler-utils)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            // im-PPP-NNN.png
            let name = f.file_stem().unwrap().to_str().unwrap();
            let page = name
                .split('-')
                .nth(1)
                .and_then(|p| p.parse().ok())
                .expect("page in name");
            let (width, height, pixels) = read_png_rgba(f).unwrap();
            let colours: std::collections::HashSet<&[u8]> = pixels.chunks_exact(4).collect();
            PdfImage {
                page,
                width,
                height,
                distinct_colours: colours.len(),
            }
        })
        .collect()
}

fn row<'a>(rows: &'a [IndicatorRow], id: &str) -> &'a IndicatorRow {
    rows.iter().find(|r| r.id == id).expect("indicator row")
}

/// Two slides of the same view, the second with the sample scenario, at a data time with
/// PM2.5 readings in a temporary history: the first page shows the PM2.5 mean of those
/// readings and today's transit access, the second the scenario's transit access with its
/// change, and the second image differs where the scenario rebuilds buildings.
#[test]
fn scenario_slides_and_history_feeds_reach_the_pages() {
    const PM25: &str = "env.pm25_daily_mean";
    const TRANSIT: &str = "mob.transit_access_400m";
    let dir = tmp("briefing-scenario");
    let scene = scene_with_history_in(&dir);
    let at = Timestamp(1_780_300_800_000); // 2026-06-01T08:00Z
    fixtures::write_history(
        &dir,
        &[
            pm25("aq-1", 7.0, at.plus_ms(-3 * Timestamp::HOUR_MS)),
            pm25("aq-2", 16.0, at.plus_ms(-Timestamp::HOUR_MS)),
            // After the data time: not part of the page.
            pm25("aq-1", 300.0, at.plus_ms(Timestamp::HOUR_MS)),
        ],
    )
    .unwrap();
    let file = dir.join("b.ron");
    std::fs::write(
        &file,
        format!(
            r#"(title: "What if", scene: "helsinki.ron", data_time: Some("{}"), slides: [
                (title: "Today", view: bookmark("Whole centre"), indicators: ["{PM25}", "{TRANSIT}"]),
                (title: "Kluuvi", view: bookmark("Whole centre"), indicators: ["{PM25}", "{TRANSIT}"],
                 scenario: Some("scenarios/kluuvi.ron")),
            ])"#,
            at.0
        ),
    )
    .unwrap();

    // What the pages should say, from the core.
    let (_, _, expected) = expected_slides(&file, &scene);
    let pm = row(&expected[0].values.rows, PM25);
    assert_eq!(pm.value, Some(11.5), "the mean of 7 and 16");
    let today = row(&expected[0].values.rows, TRANSIT);
    let what_if = row(&expected[1].values.rows, TRANSIT);
    assert_ne!(today.value, what_if.value, "the scenario changes transit access");

    let pdf = dir.join("b.pdf");
    let pngs = dir.join("png");
    export(file.to_str().unwrap(), &pdf, &pngs);
    let pages: Vec<String> = pdftotext_pages(&pdf).iter().map(|p| flat(p)).collect();
    let (one, two) = (&pages[0], &pages[1]);
    let pm_text = value_text(pm, None);
    assert!(pm_text.starts_with("11.5 "), "{pm_text}");
    assert!(one.contains(&pm_text) && two.contains(&pm_text), "{one}");
    assert!(one.contains("2 observations"), "{one}");
    assert!(one.contains(&value_text(today, None)), "{one}");
    let changed = value_text(what_if, Some(today));
    assert!(changed.contains("vs today"), "{changed}");
    assert!(two.contains(&changed), "{changed} not on page 2: {two}");
    assert!(!one.contains("vs today"), "page 1 shows no scenario");
    assert!(two.contains("Scenario: Kluuvi"), "{two}");
    // The information dictionary reads back as written ("—" is not "Š").
    let info = std::process::Command::new("pdfinfo")
        .arg(&pdf)
        .output()
        .expect("pdfinfo (poppler-utils)");
    let info = String::from_utf8(info.stdout).expect("UTF-8");
    let subject = info
        .lines()
        .find(|l| l.starts_with("Subject:"))
        .unwrap_or_default();
    assert!(subject.contains("Helsinki — city centre — data time"), "{info}");
    // The history's PM2.5 is the simulator's: both pages say so, as a reader sees them.
    let text = pdftotext_pages(&pdf);
    assert_eq!(text.len(), 2, "{text:?}");
    for (i, page) in text.iter().enumerate() {
        let flat = page.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains("[SIMULATED]"),
            "page {} marks no simulated value: {flat}",
            i + 1
        );
        assert!(
            flat.contains("Feeds: simulator (SIMULATED: the built-in simulator, not measurements)"),
            "page {} does not name its feed: {flat}",
            i + 1
        );
    }

    // The scenario's buildings are drawn: the two views differ.
    let (w, h, a) = read_png_rgba(&pngs.join("slide-01.png")).unwrap();
    let (_, _, b) = read_png_rgba(&pngs.join("slide-02.png")).unwrap();
    let differing = a
        .chunks_exact(4)
        .zip(b.chunks_exact(4))
        .filter(|(p, q)| p != q)
        .count();
    println!("pixels changed by the scenario: {differing} of {}", w * h);
    assert!(differing >= MIN_SCENARIO_PIXELS, "{differing} pixels differ");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The PM2.5 24-hour mean: a feed indicator.
const PM25: &str = "env.pm25_daily_mean";
/// Transit access: changed by the sample scenario's new stop.
const TRANSIT: &str = "mob.transit_access_400m";

/// Equal values through JSON text (its parser may differ in the last bit).
/// The text of each page of a PDF as `pdftotext` (poppler) reads it: what a reader can
/// select and search.
fn pdftotext_pages(pdf: &Path) -> Vec<String> {
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", pdf.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (Debian's poppler-utils, installed by scripts/setup-debian.sh)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("UTF-8 text");
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_string).collect();
    if pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    pages
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-12 * a.abs().max(1.0),
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// A linear RGBA colour as the zones' buffer holds it.
fn linear(score: &Option<f64>) -> [f32; 4] {
    let l = choropleth_colour(*score).to_linear();
    [l.red, l.green, l.blue, l.alpha]
}

/// Three slides at one data time with two PM2.5 readings of the simulator's first two
/// sensors in the history: the zones by PM2.5, by transit access on the sample scenario's
/// city, and by transit access today. The export's zone colours are each slide's own
/// values (feeds from the history, not "no data"; the scenario's city, not today's), and
/// its JSON has one entry per slide with the values of the PDF pages.
#[test]
fn exported_zones_show_the_slides_values_and_the_json_the_pages() {
    let dir = tmp("briefing-zones");
    let scene = scene_with_history_in(&dir);
    let at = Timestamp(1_780_300_800_000); // 2026-06-01T08:00Z
    let hour_before = at.plus_ms(-Timestamp::HOUR_MS);
    fixtures::write_history(
        &dir,
        &[pm25("aq-01", 9.0, hour_before), pm25("aq-02", 40.0, hour_before)],
    )
    .unwrap();
    let file = dir.join("zones.ron");
    std::fs::write(
        &file,
        format!(
            r#"(title: "Zones", scene: "helsinki.ron", data_time: Some("{}"), slides: [
                (title: "Air", view: bookmark("Whole centre"), indicators: ["{PM25}"], choropleth: Some("{PM25}")),
                (title: "Kluuvi", view: bookmark("Whole centre"), indicators: ["{TRANSIT}"],
                 choropleth: Some("{TRANSIT}"), scenario: Some("scenarios/kluuvi.ron")),
                (title: "Today", view: bookmark("Whole centre"), indicators: ["{TRANSIT}"], choropleth: Some("{TRANSIT}")),
            ])"#,
            at.0
        ),
    )
    .unwrap();
    let (pdf, json) = (dir.join("zones.pdf"), dir.join("zones.json"));
    let job = ExportJob {
        briefing: file.clone(),
        pdf: Some(pdf.clone()),
        png_dir: None,
        json: Some(json.clone()),
        size: (160, 90),
        role: None,
        lang: Default::default(),
    };
    let outcome = export_briefing(&job).expect("the export runs");
    assert_eq!(outcome.slides, 3);
    assert_eq!(outcome.zone_colours.len(), 3);
    assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);

    // What each slide's zones should show, from the core.
    let (briefing, loaded, expected) = expected_slides(&file, &scene);
    let scores: Vec<Vec<Option<f64>>> = expected
        .iter()
        .map(|p| p.values.choropleth.as_ref().expect("a choropleth").scores())
        .collect();
    for (i, (painted, s)) in outcome.zone_colours.iter().zip(&scores).enumerate() {
        assert_eq!(painted.len(), loaded.city.zones.len(), "slide {}", i + 1);
        let want: Vec<[f32; 4]> = s.iter().map(linear).collect();
        assert_eq!(
            painted,
            &want,
            "slide {}: the zones show the slide's values",
            i + 1
        );
    }
    // PM2.5 from the history colours the sensors' zones instead of "no data".
    let coloured = scores[0].iter().flatten().count();
    println!("zones coloured by PM2.5 from the history: {coloured}");
    assert!(coloured >= 1, "no zone coloured by PM2.5");
    // The scenario's zones are not today's.
    let changed: Vec<usize> = (0..scores[1].len())
        .filter(|&z| scores[1][z] != scores[2][z])
        .collect();
    println!("zones the scenario recolours: {changed:?}");
    assert!(
        !changed.is_empty(),
        "the scenario changes no zone's transit access"
    );
    for &z in &changed {
        assert_ne!(outcome.zone_colours[1][z], outcome.zone_colours[2][z], "zone {z}");
    }

    // The JSON: a slide each, with the values of the PDF page.
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let slides = doc["slides"].as_array().expect("slides");
    assert_eq!(slides.len(), 3);
    let pages: Vec<String> = pdftotext_pages(&pdf).iter().map(|p| flat(p)).collect();
    for (i, (slide, v)) in slides.iter().zip(&outcome.values).enumerate() {
        assert_eq!(slide["title"], briefing.slides[i].title);
        assert_eq!(slide["data_time_text"], v.data_time.as_str());
        let page = &pages[i];
        for ind in slide["indicators"].as_array().unwrap() {
            let row = row(&v.rows, ind["id"].as_str().unwrap());
            assert!(close(ind["value"].as_f64(), row.value), "slide {}: {ind}", i + 1);
            let text = ind["text"].as_str().unwrap();
            assert!(page.contains(text), "page {} lacks {text}: {page}", i + 1);
        }
        let zones = slide["choropleth"]["zones"].as_array().unwrap();
        let mine = v.choropleth.as_ref().unwrap();
        let with_value = mine.zones.iter().filter(|z| z.value.is_some()).count();
        let line = format!("{with_value} of {} zones with a value", mine.zones.len());
        assert!(page.contains(&line), "page {} lacks '{line}'", i + 1);
        for (z, m) in zones.iter().zip(&mine.zones) {
            assert_eq!(z["zone"], m.zone.as_str());
            assert!(close(z["score"].as_f64(), m.score), "{z} vs {m:?}");
            assert!(close(z["value"].as_f64(), m.value), "{z} vs {m:?}");
        }
    }
    assert_eq!(
        slides[0]["indicators"][0]["value"].as_f64(),
        Some(24.5),
        "mean of 9 and 40"
    );
    assert!(
        slides[1]["indicators"][0]["delta"].as_f64().is_some(),
        "{}",
        slides[1]
    );
    assert_eq!(slides[1]["scenario"]["file"], "scenarios/kluuvi.ron");
    // The JSON alone (nothing rendered) is the same document.
    let alone = dir.join("alone.json");
    let o = export_briefing(&ExportJob {
        pdf: None,
        json: Some(alone.clone()),
        ..job
    })
    .expect("the JSON alone");
    assert!(o.zone_colours.is_empty() && o.pdf.is_none(), "nothing rendered");
    let again: serde_json::Value = serde_json::from_slice(&std::fs::read(&alone).unwrap()).unwrap();
    assert_eq!(again, doc);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The k-anonymity fixture of issue 7 in a scene's history: 3 requests around one hex
/// cell's centre and 7 around another's, 1 km apart, each with an address.
fn k_anonymity_fixture(at: Timestamp) -> Vec<Observation> {
    let grid = HexGrid {
        size_m: DEFAULT_CELL_M,
    };
    let src = SourceId(fixtures::SIMULATOR_FEED.into());
    let mut out = Vec::new();
    for (i, ((q, r), n)) in [((0, 0), 3), ((4, 0), 7)].into_iter().enumerate() {
        let [x, y] = grid.centre(q, r);
        for j in 0..n {
            let mut o = Observation::new(
                &src,
                Subject::Point {
                    x: x + j as f64 * 5.0,
                    y: y - j as f64 * 3.0,
                },
                Metric::ServiceRequestOpened,
                1.0,
                at.plus_ms(-Timestamp::HOUR_MS + j as i64),
            );
            o.detail = format!(
                "request={}{j};category=litter;address=Testikatu {} A {j}",
                i + 1,
                i + 1
            );
            out.push(o);
        }
    }
    out
}

/// `citytwin briefing export --json` alone, as `public` and as `staff`: nothing rendered;
/// public gets the cell of 7 (not the cell of 3) and no address, staff the ten records.
#[test]
fn json_export_shows_requests_as_the_role_may_see_them() {
    let dir = tmp("briefing-json-k");
    let _scene = scene_with_history_in(&dir);
    let at = Timestamp(1_780_300_800_000);
    fixtures::write_history(&dir, &k_anonymity_fixture(at)).unwrap();
    let file = dir.join("k.ron");
    std::fs::write(
        &file,
        format!(
            r#"(title: "Requests", scene: "helsinki.ron", data_time: Some("{}"), slides: [
                (title: "Where people asked", view: bookmark("Whole centre"), indicators: ["{PM25}"]),
            ])"#,
            at.0
        ),
    )
    .unwrap();
    let export = |role: &str| {
        let out = dir.join(format!("{role}.json"));
        let o = citytwin(&[
            "briefing",
            "export",
            file.to_str().unwrap(),
            "--json",
            out.to_str().unwrap(),
            "--role",
            role,
        ]);
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(stdout.contains("nothing rendered"), "{stdout}");
        std::fs::read_to_string(&out).expect("the JSON is written")
    };
    let public = export("public");
    let doc: serde_json::Value = serde_json::from_str(&public).unwrap();
    assert_eq!(doc["role"], "public");
    let cells = doc["slides"][0]["service_requests"]["cells"]["cells"]
        .as_array()
        .expect("cells for public");
    let counts: Vec<u64> = cells.iter().map(|c| c["count"].as_u64().unwrap()).collect();
    assert_eq!(counts, [7]);
    assert_eq!(
        doc["slides"][0]["service_requests"]["cells"]["suppressed_cells"],
        1
    );
    assert!(!public.contains("\"count\": 3"), "{public}");
    assert!(
        !public.contains("Testikatu") && !public.contains("address"),
        "{public}"
    );

    let staff = export("staff");
    let doc: serde_json::Value = serde_json::from_str(&staff).unwrap();
    let records = doc["slides"][0]["service_requests"]["records"]
        .as_array()
        .expect("records for staff");
    assert_eq!(records.len(), 10);
    for (i, j) in [(1, 0), (1, 2), (2, 0), (2, 6)] {
        let address = format!("Testikatu {i} A {j}");
        assert!(staff.contains(&address), "staff lacks {address}");
    }
    assert!(doc["slides"][0]["service_requests"]["cells"].is_null());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The briefing at `file` on `scene`, loaded, and its slides as the core prepares them (what
/// the exported pages and zones should show).
fn expected_slides(file: &Path, scene: &Path) -> (Briefing, LoadedScene, Vec<PreparedSlide>) {
    let briefing = Briefing::load(file).unwrap();
    let loaded = citytwin::twin::load::load_scene(scene).unwrap();
    let ctx = IndicatorContext::new(&loaded.city, &loaded.scene.indicators);
    let times = slide_times(&briefing, file, Timestamp(0)).unwrap();
    let scenarios = load_slide_scenarios(&briefing, file, scene).unwrap();
    let feeds = feeds_at_times(&loaded, scene, &times).unwrap();
    let expected = prepare_slides(&loaded, &ctx, &briefing.slides, &times, &scenarios, &feeds);
    (briefing, loaded, expected)
}

/// Text without any white space (`pdftotext` may space Chinese characters apart).
fn squeezed(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The sample briefing exported in Chinese: every page carries its slide's Chinese title
/// from `default.zh-CN.ron`, the page's own words and the indicators' names in Chinese,
/// as a reader selects and searches them (`pdftotext`), and the title in the document
/// information reads back in Chinese.
#[test]
fn sample_briefing_exports_in_chinese() {
    use citytwin::twin::briefing::translation::{BriefingText, text_path};
    use citytwin::twin::i18n::{Lang, indicator_name};
    let path = root().join(SAMPLE_BRIEFING);
    let briefing = Briefing::load(&path).unwrap();
    let zh = BriefingText::load(&text_path(&path, Lang::ZhCn)).expect("the Chinese text of the sample");
    let dir = tmp("briefing-zh");
    let pdf = dir.join("zh.pdf");
    let out = citytwin(&[
        "briefing",
        "export",
        SAMPLE_BRIEFING,
        "--lang",
        "zh-CN",
        "--pdf",
        pdf.to_str().unwrap(),
        "--size",
        "160x90",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The human output follows --lang: no glyph is missing and no problem is reported,
    // in Chinese, and no line is left in English.
    assert!(!stdout.contains("没有字形"), "{stdout}");
    assert!(!stdout.contains("问题："), "{stdout}");
    assert!(stdout.contains("张幻灯片") && stdout.contains("页，"), "{stdout}");
    for english in [
        "slide",
        "pages",
        "problem",
        "data time",
        "glyph",
        "observations",
        "history",
    ] {
        assert!(!stdout.contains(english), "'{english}' in: {stdout}");
    }
    let pages = pdftotext_pages(&pdf);
    assert_eq!(pages.len(), briefing.slides.len());
    for (i, (page, slide)) in pages.iter().zip(&briefing.slides).enumerate() {
        let page = squeezed(page);
        let title = &zh.slides[&slide.title].title;
        assert!(
            page.contains(&squeezed(title)),
            "page {} lacks '{title}': {page}",
            i + 1
        );
        assert!(
            !page.contains(&squeezed(&slide.title)),
            "page {} has the English title",
            i + 1
        );
        for word in ["指标", "备注", "数据时间", "来源"] {
            assert!(page.contains(word), "page {} lacks '{word}': {page}", i + 1);
        }
        // The data time line is Chinese: a Chinese date and where the feed values come from.
        let at = page.find("数据时间：").expect("the data time line") + "数据时间：".len();
        let line: String = page[at..].chars().take(40).collect();
        assert!(
            line.contains('年') && line.contains('月') && line.contains("UTC（"),
            "page {}: {line}",
            i + 1
        );
        for english in [
            "Data time",
            "observation",
            "history",
            "could not be applied",
            "Feeds:",
            "Sources:",
        ] {
            assert!(
                !page.contains(&squeezed(english)),
                "page {} has '{english}': {page}",
                i + 1
            );
        }
        let first = indicator_name(Lang::ZhCn, &slide.indicators[0], "");
        assert!(
            page.contains(&squeezed(&first)),
            "page {} lacks '{first}': {page}",
            i + 1
        );
    }
    let info = Command::new("pdfinfo").arg(&pdf).output().expect("pdfinfo");
    let info = String::from_utf8_lossy(&info.stdout);
    let title = info.lines().find(|l| l.starts_with("Title:")).unwrap_or_default();
    assert!(title.contains("摩纳哥"), "{info}");
    let _ = std::fs::remove_dir_all(&dir);
}
