//! The PDF page of a slide: the rendered view, the slide's indicators with value, target
//! and status (coloured), the speaker notes, the data time, and the sources, licences and
//! attributions of the layers shown; and the whole briefing as one PDF ([`briefing_pdf`]).
//! A slide that shows a scenario has the scenario's values with their change against the
//! baseline ("81.6 % (+9.59 vs today)").

use crate::twin::briefing::pdf::{self, A4_LANDSCAPE_H, A4_LANDSCAPE_W, DocInfo, Font, Page, RgbImage};
use crate::twin::briefing::values::{SlideChoropleth, SlideValues, ZoneChoroplethValue};
use crate::twin::briefing::{Briefing, shown_layers};
use crate::twin::feeds::Timestamp;
use crate::twin::feeds::provenance::{SourceKind, SourceKinds};
use crate::twin::i18n::{self, Arg, Lang, tr, tr_args};
use crate::twin::indicators::Status;
use crate::twin::indicators::report::IndicatorRow;
use crate::twin::scene::{LayerSpec, Scene};

/// Page margin, points.
const MARGIN: f64 = 36.0;
/// Width of the rendered view on the page, points.
const IMAGE_W: f64 = 500.0;
/// Gap between the view and the indicator column, points.
const GUTTER: f64 = 16.0;
/// Title size, points.
const TITLE_SIZE: f64 = 20.0;
/// Heading size (indicators, notes), points.
const HEADING_SIZE: f64 = 11.0;
/// Body text size, points.
const BODY_SIZE: f64 = 10.0;
/// Indicator text size, points.
const INDICATOR_SIZE: f64 = 9.0;
/// Footer text size, points.
const FOOTER_SIZE: f64 = 7.0;
/// Line height as a multiple of the text size.
const LEADING: f64 = 1.3;
/// Height reserved at the bottom for the footer, points.
const FOOTER_H: f64 = 52.0;
/// Text colour.
const INK: [u8; 3] = [30, 32, 36];
/// Secondary text colour.
const GREY: [u8; 3] = [110, 114, 120];
/// Rule colour.
const RULE: [u8; 3] = [200, 203, 208];
/// Side of a status swatch, points.
const SWATCH: f64 = 8.0;

/// The colour a status is shown in (the dashboard's red, amber, green; grey without data).
pub fn status_rgb(status: Status) -> [u8; 3] {
    match status {
        Status::OnTarget => [60, 170, 90],
        Status::Warning => [240, 190, 60],
        Status::Alarm => [215, 60, 50],
        Status::NoData => [160, 160, 160],
        Status::Stale => [120, 140, 170],
        Status::NotApplicable => [215, 215, 215],
    }
}

/// A status in words (English).
pub fn status_label(status: Status) -> String {
    i18n::status_name(Lang::En, status)
}

/// A value with a sensible number of decimals, grouped by thousands ("12,346", "81.6").
pub fn format_value(v: f64) -> String {
    i18n::format_value(Lang::En, v)
}

/// A change with its sign, e.g. "+9.59", "-0.63".
pub fn format_change(d: f64) -> String {
    format_change_in(Lang::En, d)
}

/// A change with its sign as `lang` writes it.
pub fn format_change_in(lang: Lang, d: f64) -> String {
    if d > 0.0 {
        format!("+{}", i18n::format_value(lang, d))
    } else {
        i18n::format_value(lang, d)
    }
}

/// The value of an indicator row as a page writes it (English, as the JSON export has
/// it), with the change against the baseline's row when there is one: "81.6 % (+9.59 vs
/// today)".
pub fn value_text(row: &IndicatorRow, baseline: Option<&IndicatorRow>) -> String {
    value_text_in(Lang::En, row, baseline)
}

/// [`value_text`] in `lang` (the row's unit as the row has it).
pub fn value_text_in(lang: Lang, row: &IndicatorRow, baseline: Option<&IndicatorRow>) -> String {
    let with_unit = |v: f64| {
        format!("{} {}", i18n::format_value(lang, v), row.unit)
            .trim_end()
            .to_string()
    };
    let value = row.value.map_or_else(|| tr(lang, "briefing-no-value"), with_unit);
    let Some(base) = baseline else {
        return value;
    };
    let value = Arg::Str(value);
    match (row.value, base.value) {
        (Some(v), Some(b)) if v == b => tr_args(lang, "briefing-no-change", &[("value", value)]),
        (Some(v), Some(b)) => tr_args(
            lang,
            "briefing-change",
            &[("value", value), ("change", format_change_in(lang, v - b).into())],
        ),
        (Some(_), None) => tr_args(lang, "briefing-today-no-value", &[("value", value)]),
        (None, Some(b)) => tr_args(
            lang,
            "briefing-today-value",
            &[("value", value), ("today", with_unit(b).into())],
        ),
        (None, None) => match value {
            Arg::Str(s) => s,
            Arg::Num(n) => n.to_string(),
        },
    }
}

/// A slide's zones in one line, for its page: how many have a value, and the zones of the
/// lowest and the highest score, e.g. "12 of 33 zones with a value; lowest score H3-2:
/// 41.0 %, highest H1-1: 98.2 %".
pub fn zone_summary(c: &SlideChoropleth) -> String {
    zone_summary_in(Lang::En, c)
}

/// [`zone_summary`] in `lang`.
pub fn zone_summary_in(lang: Lang, c: &SlideChoropleth) -> String {
    let n = c.zones.len();
    let with: Vec<&ZoneChoroplethValue> = c
        .zones
        .iter()
        .filter(|z| z.value.is_some() && z.score.is_some())
        .collect();
    let text = |z: &ZoneChoroplethValue| {
        let v = z.value.map_or(String::new(), |v| i18n::format_value(lang, v));
        format!("{}: {}", z.zone, format!("{v} {}", c.unit).trim_end())
    };
    // Only zones with a score are compared.
    let score = |z: &ZoneChoroplethValue| z.score.unwrap_or(f64::NAN);
    let by_score = |a: &&&ZoneChoroplethValue, b: &&&ZoneChoroplethValue| score(a).total_cmp(&score(b));
    let na = c
        .zones
        .iter()
        .filter(|z| z.status == Status::NotApplicable)
        .count();
    let na = if na > 0 {
        let words = tr_args(lang, "briefing-zones-not-applicable", &[("count", na.into())]);
        match lang {
            Lang::En => format!(" ({words})"),
            Lang::ZhCn => format!("（{words}）"),
        }
    } else {
        String::new()
    };
    let of = Arg::Num(n as f64);
    match (with.iter().min_by(by_score), with.iter().max_by(by_score)) {
        (Some(lo), Some(hi)) if with.len() > 1 => tr_args(
            lang,
            "briefing-zones-some",
            &[
                ("with", with.len().into()),
                ("of", of),
                ("na", na.into()),
                ("lowest", text(lo).into()),
                ("highest", text(hi).into()),
            ],
        ),
        (Some(only), _) => tr_args(
            lang,
            "briefing-zones-one",
            &[("of", of), ("na", na.into()), ("only", text(only).into())],
        ),
        _ => tr_args(lang, "briefing-zones-none", &[("of", of), ("na", na.into())]),
    }
}

/// An indicator on a page: its row, and the baseline's when the slide shows a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct PageIndicator {
    /// The row of the city the slide shows.
    pub row: IndicatorRow,
    /// The baseline's row, when the slide shows a scenario.
    pub baseline: Option<IndicatorRow>,
}

/// The sources of the layers shown: one line per licence and attribution, naming the
/// layers (with their owners) under it, e.g. "© OpenStreetMap contributors (ODbL-1.0):
/// Buildings (OpenStreetMap contributors), Street network (OpenStreetMap contributors)".
pub fn source_lines(layers: &[&LayerSpec]) -> Vec<String> {
    source_lines_in(Lang::En, layers)
}

/// [`source_lines`] in `lang` (the layers' own titles, owners and attributions as the
/// scene writes them).
pub fn source_lines_in(lang: Lang, layers: &[&LayerSpec]) -> Vec<String> {
    let mut groups: Vec<((String, String), Vec<String>)> = Vec::new();
    for l in layers {
        let m = &l.meta;
        let title = if m.title.is_empty() { &l.name } else { &m.title };
        // An owner the attribution already names ("OpenStreetMap contributors" under
        // "© OpenStreetMap contributors") is not repeated after every layer.
        let credited = m.attribution.trim().trim_start_matches('©').trim();
        let named = if m.owner.is_empty() || credited == m.owner.trim() {
            title.clone()
        } else {
            format!("{title} ({})", m.owner)
        };
        let key = (m.licence.clone(), m.attribution.clone());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, names)) => names.push(named),
            None => groups.push((key, vec![named])),
        }
    }
    groups
        .into_iter()
        .map(|((licence, attribution), names)| {
            let licence = if licence.is_empty() {
                tr(lang, "briefing-licence-not-stated")
            } else {
                licence
            };
            // The attribution leads its line, so that wrapping never splits it.
            if attribution.is_empty() {
                format!("{licence}: {}", names.join(", "))
            } else {
                format!("{attribution} ({licence}): {}", names.join(", "))
            }
        })
        .collect()
}

/// The feeds behind a page's figures (of the kinds `kinds`), each with its kind, e.g.
/// "simulator (SIMULATED: the built-in simulator, not measurements)"; feeds of other
/// kinds are left out. Empty when no figure on the page rests on a feed.
pub fn feed_lines(scene: &Scene, kinds: SourceKinds, lang: Lang) -> Vec<String> {
    let mut out: Vec<String> = scene
        .feeds
        .iter()
        .filter_map(|f| {
            let k = SourceKind::of(&f.kind);
            kinds
                .contains(k)
                .then(|| format!("{} ({})", f.name, kind_words(lang, k)))
        })
        .collect();
    if kinds.contains(SourceKind::Unknown) {
        out.push(tr_args(
            lang,
            "briefing-feeds-gone",
            &[("kind", kind_words(lang, SourceKind::Unknown).into())],
        ));
    }
    out
}

/// A feed kind as a page says it.
fn kind_words(lang: Lang, k: SourceKind) -> String {
    match k {
        SourceKind::Live => tr(lang, "briefing-feed-live"),
        SourceKind::Replay => tr(lang, "briefing-feed-replay"),
        SourceKind::Simulated => tr(lang, "briefing-feed-simulated"),
        SourceKind::Unknown => tr(lang, "briefing-feed-unknown"),
    }
}

/// Everything on one slide's page.
#[derive(Debug, Clone, PartialEq)]
pub struct SlidePage {
    /// Slide title.
    pub title: String,
    /// The rendered view.
    pub image: RgbImage,
    /// The slide's indicators, city-wide.
    pub indicators: Vec<PageIndicator>,
    /// The indicator the zones are coloured by, if any.
    pub choropleth: Option<String>,
    /// The zones' values of it in a line ([`zone_summary`]), when the slide has them.
    pub zones: Option<String>,
    /// The scenario applied, as the page names it.
    pub scenario: Option<String>,
    /// Edits of the scenario that could not be applied.
    pub skipped: Vec<String>,
    /// Speaker notes.
    pub notes: String,
    /// Data time, as text.
    pub data_time: String,
    /// Sources, licences and attributions of the layers shown.
    pub sources: Vec<String>,
    /// The feeds behind the page's figures, each with its kind ([`feed_lines`]).
    pub feeds: Vec<String>,
    /// The footer's left part: briefing title, author, date.
    pub footer: String,
    /// 1-based page number and page count.
    pub number: (usize, usize),
    /// The language of the page's own words.
    pub lang: Lang,
}

/// What laying out a page had to leave out or replace (never silently).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayoutReport {
    /// Lines of notes, indicators or sources that did not fit and were cut (the page says so).
    pub lines_cut: usize,
    /// Characters the font has no glyph for.
    pub unencodable: usize,
}

/// A column of wrapped text being written top down, stopping above `bottom`.
struct Column<'a> {
    page: &'a mut Page,
    x: f64,
    y: f64,
    width: f64,
    bottom: f64,
    cut: usize,
}

impl Column<'_> {
    /// Writes wrapped text; lines below the bottom are counted as cut.
    fn write(&mut self, text: &str, font: Font, size: f64, colour: [u8; 3]) {
        for line in pdf::wrap(text, font, size, self.width) {
            if !self.room(size) {
                self.cut += 1;
                continue;
            }
            self.y -= size * LEADING;
            self.page.text(self.x, self.y, font, size, colour, &line);
        }
    }

    /// Whether a line of `size` still fits.
    fn room(&self, size: f64) -> bool {
        self.y - size * LEADING >= self.bottom
    }

    /// Leaves a gap.
    fn gap(&mut self, points: f64) {
        self.y -= points;
    }
}

/// Lays out one slide's page (A4 landscape).
pub fn layout(slide: &SlidePage) -> (Page, LayoutReport) {
    let (w, h) = (A4_LANDSCAPE_W, A4_LANDSCAPE_H);
    let mut page = Page::new(w, h);
    let mut cut = 0;
    let lang = slide.lang;

    // Title.
    let title_y = h - MARGIN - TITLE_SIZE;
    let title = pdf::wrap(&slide.title, Font::Bold, TITLE_SIZE, w - 2.0 * MARGIN);
    page.text(MARGIN, title_y, Font::Bold, TITLE_SIZE, INK, &title[0]);
    cut += title.len() - 1;
    let top = title_y - 12.0;

    // The view, keeping its aspect, at most down to the notes' minimum space.
    let footer_top = MARGIN + FOOTER_H;
    let (iw, ih) = (f64::from(slide.image.width), f64::from(slide.image.height));
    let max_h = (top - footer_top - 80.0).max(50.0);
    let (img_w, img_h) = if IMAGE_W * ih / iw <= max_h {
        (IMAGE_W, IMAGE_W * ih / iw)
    } else {
        (max_h * iw / ih, max_h)
    };
    page.image(slide.image.clone(), MARGIN, top - img_h, img_w, img_h);

    // Notes under the view.
    let mut notes = Column {
        page: &mut page,
        x: MARGIN,
        y: top - img_h - 8.0,
        width: IMAGE_W,
        bottom: footer_top + 4.0,
        cut: 0,
    };
    if !slide.notes.trim().is_empty() {
        notes.write(&tr(lang, "briefing-notes"), Font::Bold, HEADING_SIZE, INK);
        notes.write(slide.notes.trim(), Font::Regular, BODY_SIZE, INK);
    }
    if notes.cut > 0 {
        // Make room to say so.
        notes.bottom -= 0.0;
    }
    cut += notes.cut;
    let notes_cut = notes.cut;

    // Indicators in the right-hand column.
    let col_x = MARGIN + IMAGE_W + GUTTER;
    let mut col = Column {
        page: &mut page,
        x: col_x,
        y: top,
        width: w - MARGIN - col_x,
        bottom: footer_top + 4.0,
        cut: 0,
    };
    col.y += HEADING_SIZE * LEADING - HEADING_SIZE;
    let heading = if slide.scenario.is_some() {
        tr(lang, "briefing-indicators-scenario")
    } else {
        tr(lang, "briefing-indicators")
    };
    col.write(&heading, Font::Bold, HEADING_SIZE, INK);
    if slide.indicators.is_empty() {
        col.write(
            &tr(lang, "briefing-none-highlighted"),
            Font::Regular,
            INDICATOR_SIZE,
            GREY,
        );
    }
    for PageIndicator { row, baseline } in &slide.indicators {
        col.gap(4.0);
        col.write(&row.name, Font::Bold, INDICATOR_SIZE, INK);
        let mut value = value_text_in(lang, row, baseline.as_ref());
        if let Some(b) = row.source_kinds.badge() {
            value.push_str(&format!(" [{}]", i18n::badge_words(lang, &b)));
        }
        let target_value = format!("{} {}", i18n::format_value(lang, row.target), row.unit);
        let target_value = Arg::Str(target_value.trim_end().to_string());
        let target = if row.higher_is_better {
            tr_args(lang, "briefing-target-at-least", &[("value", target_value)])
        } else {
            tr_args(lang, "briefing-target-at-most", &[("value", target_value)])
        };
        if baseline.is_some() {
            // The change makes the line long: value and target on lines of their own.
            col.write(&value, Font::Regular, INDICATOR_SIZE, INK);
            col.write(target.trim_end(), Font::Regular, INDICATOR_SIZE, GREY);
        } else {
            let line = format!("{value}  ·  {target}");
            col.write(line.trim_end(), Font::Regular, INDICATOR_SIZE, INK);
        }
        if col.room(INDICATOR_SIZE) {
            let y = col.y - INDICATOR_SIZE * LEADING;
            col.page
                .rect(col.x, y - 1.0, SWATCH, SWATCH, status_rgb(row.status));
            col.page.text(
                col.x + SWATCH + 4.0,
                y,
                Font::Bold,
                INDICATOR_SIZE,
                status_rgb(row.status),
                &match baseline.as_ref().filter(|b| b.status != row.status) {
                    Some(b) => tr_args(
                        lang,
                        "briefing-status-today",
                        &[
                            ("status", i18n::status_name(lang, row.status).into()),
                            ("today", i18n::status_name(lang, b.status).into()),
                        ],
                    ),
                    None => i18n::status_name(lang, row.status),
                },
            );
            col.y = y;
        } else {
            col.cut += 1;
        }
    }
    if let Some(c) = &slide.choropleth {
        col.gap(6.0);
        col.write(
            &tr_args(lang, "briefing-zones-legend", &[("indicator", c.into())]),
            Font::Regular,
            INDICATOR_SIZE,
            GREY,
        );
        if let Some(z) = &slide.zones {
            col.write(z, Font::Regular, INDICATOR_SIZE, GREY);
        }
    }
    if let Some(s) = &slide.scenario {
        col.gap(6.0);
        col.write(
            &tr_args(lang, "briefing-scenario", &[("scenario", s.into())]),
            Font::Regular,
            INDICATOR_SIZE,
            GREY,
        );
        if !slide.skipped.is_empty() {
            col.write(
                &tr_args(
                    lang,
                    "briefing-skipped",
                    &[
                        ("count", slide.skipped.len().into()),
                        ("edits", slide.skipped.join("; ").into()),
                    ],
                ),
                Font::Regular,
                INDICATOR_SIZE,
                GREY,
            );
        }
    }
    cut += col.cut;
    let col_cut = col.cut;

    // Footer: rule, data time, sources, page number.
    let rule_y = MARGIN + FOOTER_H - 4.0;
    page.line((MARGIN, rule_y), (w - MARGIN, rule_y), 0.5, RULE);
    let mut foot = Column {
        page: &mut page,
        x: MARGIN,
        y: rule_y - 2.0,
        width: w - 2.0 * MARGIN,
        bottom: MARGIN + FOOTER_SIZE * LEADING,
        cut: 0,
    };
    let mut first = tr_args(lang, "briefing-data-time", &[("time", (&slide.data_time).into())]);
    if notes_cut + col_cut > 0 {
        first.push_str("  ·  ");
        first.push_str(&tr_args(
            lang,
            "briefing-lines-cut",
            &[("count", (notes_cut + col_cut).into())],
        ));
    }
    foot.write(&first, Font::Bold, FOOTER_SIZE, GREY);
    if slide.feeds.is_empty() {
        foot.write(&tr(lang, "briefing-feeds-none"), Font::Regular, FOOTER_SIZE, GREY);
    } else {
        foot.write(
            &tr_args(
                lang,
                "briefing-feeds",
                &[("feeds", slide.feeds.join(", ").into())],
            ),
            Font::Bold,
            FOOTER_SIZE,
            GREY,
        );
    }
    if slide.sources.is_empty() {
        foot.write(
            &tr(lang, "briefing-sources-none"),
            Font::Regular,
            FOOTER_SIZE,
            GREY,
        );
    }
    for (i, source) in slide.sources.iter().enumerate() {
        let line = if i == 0 {
            tr_args(lang, "briefing-sources", &[("sources", source.into())])
        } else {
            source.clone()
        };
        foot.write(&line, Font::Regular, FOOTER_SIZE, GREY);
    }
    cut += foot.cut;
    let (n, of) = slide.number;
    let number = format!("{n} / {of}");
    let nw = pdf::text_width(&number, Font::Regular, FOOTER_SIZE);
    page.text(MARGIN, MARGIN, Font::Regular, FOOTER_SIZE, GREY, &slide.footer);
    page.text(w - MARGIN - nw, MARGIN, Font::Regular, FOOTER_SIZE, GREY, &number);

    let report = LayoutReport {
        lines_cut: cut,
        unencodable: page.unencodable,
    };
    (page, report)
}

/// What went into an exported PDF.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Pages written (one per slide).
    pub pages: usize,
    /// Bytes of the PDF.
    pub bytes: usize,
    /// Lines cut for want of room, all pages.
    pub lines_cut: usize,
    /// Characters the font has no glyph for, all pages.
    pub unencodable: usize,
    /// Indicator ids of slides that the report did not have (left out of their page).
    pub missing_indicators: Vec<String>,
}

/// The briefing as a PDF: one page per slide with its rendered view (`images[i]` for
/// slide `i`), the rows of `values[i]` it names (with the change against the baseline when
/// it shows a scenario), the notes, its data time and the sources of the layers shown that
/// `allow_layer` lets through (the role's filter: a layer it refuses is neither drawn in
/// the views nor credited here). The page's own words, the indicators' names, units and
/// statuses are in `lang`; the briefing's titles and notes as written.
pub fn briefing_pdf(
    briefing: &Briefing,
    scene: &Scene,
    values: &[SlideValues],
    images: Vec<RgbImage>,
    allow_layer: &dyn Fn(&LayerSpec) -> bool,
    lang: Lang,
) -> Result<(Vec<u8>, ExportSummary), pdf::PdfError> {
    let (pages, info, mut summary) = briefing_pages(briefing, scene, values, images, allow_layer, lang);
    let bytes = pdf::write_pdf(&info, &pages)?;
    summary.bytes = bytes.len();
    Ok((bytes, summary))
}

/// The pages of [`briefing_pdf`], laid out, with the document information (the PDF not
/// yet written).
pub fn briefing_pages(
    briefing: &Briefing,
    scene: &Scene,
    values: &[SlideValues],
    images: Vec<RgbImage>,
    allow_layer: &dyn Fn(&LayerSpec) -> bool,
    lang: Lang,
) -> (Vec<Page>, DocInfo, ExportSummary) {
    let mut summary = ExportSummary::default();
    let n = briefing.slides.len();
    let footer = [briefing.title.as_str(), &briefing.author, &briefing.date]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("  ·  ");
    let mut pages = Vec::with_capacity(n);
    let no_values = SlideValues::new(Vec::new(), tr(lang, "briefing-not-evaluated"), Timestamp(0));
    // A row as the page names it: the indicator's name and unit in `lang`.
    let local = |r: &IndicatorRow| IndicatorRow {
        name: i18n::indicator_name(lang, &r.id, &r.name),
        unit: i18n::unit(lang, &r.unit),
        ..r.clone()
    };
    for (i, (slide, image)) in briefing.slides.iter().zip(images).enumerate() {
        let v = values.get(i).unwrap_or(&no_values);
        let indicators = &v.rows;
        let shown: Vec<&LayerSpec> = shown_layers(scene, slide)
            .into_iter()
            .filter_map(|name| scene.layers.iter().find(|l| l.name == name))
            .filter(|l| allow_layer(l))
            .collect();
        let mut rows = Vec::new();
        for id in &slide.indicators {
            match indicators.iter().find(|r| &r.id == id) {
                Some(r) => rows.push(PageIndicator {
                    row: local(r),
                    baseline: v.baseline_of(id).map(local),
                }),
                None => summary.missing_indicators.push(id.clone()),
            }
        }
        // The kinds of feed behind the figures the page shows: its indicators and the
        // indicator its zones are coloured by.
        let kinds = rows
            .iter()
            .map(|r| r.row.source_kinds)
            .chain(
                slide
                    .choropleth
                    .iter()
                    .filter_map(|id| indicators.iter().find(|r| &r.id == id))
                    .map(|r| r.source_kinds),
            )
            .fold(SourceKinds::NONE, SourceKinds::union);
        let choropleth = slide.choropleth.as_ref().map(|id| {
            indicators
                .iter()
                .find(|r| &r.id == id)
                .map_or(id.clone(), |r| i18n::indicator_name(lang, &r.id, &r.name))
        });
        let page = SlidePage {
            title: slide.title.clone(),
            image,
            indicators: rows,
            choropleth,
            zones: v.choropleth.as_ref().map(|c| {
                let c = SlideChoropleth {
                    unit: i18n::unit(lang, &c.unit),
                    ..c.clone()
                };
                zone_summary_in(lang, &c)
            }),
            scenario: v
                .scenario
                .clone()
                .or_else(|| slide.scenario.as_ref().map(|p| p.display().to_string())),
            skipped: v.skipped.iter().map(|k| k.describe(lang)).collect(),
            notes: slide.notes.clone(),
            data_time: v.data_time_in(lang),
            sources: source_lines_in(lang, &shown),
            feeds: feed_lines(scene, kinds, lang),
            footer: footer.clone(),
            number: (i + 1, n),
            lang,
        };
        let (page, report) = layout(&page);
        summary.lines_cut += report.lines_cut;
        summary.unencodable += report.unencodable;
        pages.push(page);
    }
    let info = DocInfo {
        title: briefing.title.clone(),
        author: briefing.author.clone(),
        subject: tr_args(
            lang,
            "briefing-subject",
            &[
                ("scene", (&scene.name).into()),
                (
                    "time",
                    values
                        .first()
                        .map_or_else(|| tr(lang, "briefing-not-evaluated"), |v| v.data_time_in(lang))
                        .into(),
                ),
            ],
        ),
        lang,
    };
    summary.pages = pages.len();
    (pages, info, summary)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::twin::indicators::Dimension;

    const SCENE: &str = r#"(
        name: "t",
        layers: [
            (name: "b", path: "b.shp", kind: buildings,
             meta: (title: "Buildings", owner: "OpenStreetMap contributors", licence: "ODbL-1.0",
                    attribution: "© OpenStreetMap contributors")),
            (name: "r", path: "r.geojson", kind: roads,
             meta: (title: "Street network", owner: "Streets", licence: "ODbL-1.0",
                    attribution: "© OpenStreetMap contributors")),
            (name: "s", path: "s.geojson", kind: pois,
             meta: (title: "Sensors", owner: "Environment", licence: "CC-BY-4.0",
                    attribution: "Helsinki Region Environmental Services", classification: restricted)),
        ],
        bookmarks: [(name: "centre", target_lonlat: (24.94, 60.17), distance_m: 800.0)],
    )"#;

    fn row(id: &str, value: Option<f64>, status: Status) -> IndicatorRow {
        IndicatorRow {
            id: id.into(),
            name: format!("Indicator {id}"),
            dimension: Dimension::Environment,
            unit: "µg/m³".into(),
            value,
            target: 10.0,
            warning: 25.0,
            alarm: 35.0,
            higher_is_better: false,
            status,
            iso: None,
            estimate: false,
            source_kinds: SourceKinds::NONE,
            base: crate::twin::indicators::catalogue::Base::Sensor,
            applies: String::new(),
        }
    }

    fn image(seed: u8) -> RgbImage {
        let (w, h) = (64, 36);
        let rgb = (0..w * h * 3).map(|i| (i as u8).wrapping_mul(seed)).collect();
        RgbImage {
            width: w,
            height: h,
            rgb,
        }
    }

    fn briefing() -> Briefing {
        Briefing::parse(
            r#"(title: "Air (and) streets", author: "Office", date: "2026-06-01", scene: "s.ron", slides: [
                (title: "One", view: bookmark("centre"), indicators: ["env.a", "env.b"], notes: "First point."),
                (title: "Two", view: bookmark("centre"), layers: Some(["r", "s"]), indicators: ["env.zz"],
                 choropleth: Some("env.a")),
            ])"#,
            Path::new("b.ron"),
        )
        .unwrap()
    }

    fn values(rows: &[IndicatorRow], data_time: &str) -> SlideValues {
        SlideValues::new(rows.to_vec(), data_time, Timestamp(0))
    }

    #[test]
    fn values_show_their_change_against_today() {
        let today = row("env.a", Some(12.0), Status::Warning);
        let after = row("env.a", Some(9.5), Status::OnTarget);
        assert_eq!(value_text(&after, None), "9.50 µg/m³");
        assert_eq!(value_text(&after, Some(&today)), "9.50 µg/m³ (-2.50 vs today)");
        assert_eq!(value_text(&today, Some(&after)), "12.0 µg/m³ (+2.50 vs today)");
        assert_eq!(
            value_text(&today, Some(&today)),
            "12.0 µg/m³ (no change vs today)"
        );
        let none = row("env.a", None, Status::NoData);
        assert_eq!(value_text(&after, Some(&none)), "9.50 µg/m³ (today: no value)");
        assert_eq!(value_text(&none, Some(&today)), "no value (today: 12.0 µg/m³)");
    }

    #[test]
    fn a_scenario_slide_shows_its_values_against_today() {
        let scene = Scene::parse(SCENE, Path::new("s.ron")).unwrap();
        let today = [
            row("env.a", Some(12.0), Status::Warning),
            row("env.b", Some(41.0), Status::Alarm),
        ];
        let after = [
            row("env.a", Some(9.5), Status::OnTarget),
            row("env.b", Some(41.0), Status::Alarm),
        ];
        let mut b = briefing();
        b.slides.truncate(1);
        b.slides.push(b.slides[0].clone());
        use crate::twin::scenario::{EditError, SkippedEdit};
        let what_if = SlideValues {
            baseline: Some(today.to_vec()),
            scenario: Some("Greener (g.ron)".into()),
            skipped: vec![SkippedEdit {
                index: 1,
                kind: "demolish".into(),
                reason: EditError::MissingBuilding(9).to_string(),
                error: EditError::MissingBuilding(9),
            }],
            ..values(&after, "2026-06-08 08:00:00 UTC")
        };
        let (pages, _, _) = briefing_pages(
            &b,
            &scene,
            &[values(&today, "2026-06-01 08:00:00 UTC"), what_if.clone()],
            vec![image(3), image(4)],
            &|_| true,
            Lang::En,
        );
        let (one, two) = (pages[0].text_content(), pages[1].text_content());
        assert!(one.contains("12.0 µg/m³") && !one.contains("vs today"), "{one}");
        assert!(one.contains("Data time: 2026-06-01 08:00:00 UTC"));
        assert!(two.contains("9.50 µg/m³ (-2.50 vs today)"), "{two}");
        assert!(two.contains("no change vs today"), "{two}");
        assert!(pages[1].lines().contains(&"on target (today: warning)"), "{two}");
        assert!(pages[1].lines().contains(&"alarm"), "{two}");
        assert!(two.contains("Scenario: Greener (g.ron)"), "{two}");
        assert!(
            two.replace('\n', " ")
                .contains("1 edit could not be applied: #2 demolish: building 9 does not exist"),
            "{two}"
        );
        assert!(two.contains("the scenario against today"), "{two}");
        assert!(two.contains("Data time: 2026-06-08 08:00:00 UTC"), "{two}");

        // The same pages in Chinese: the page's words, the statuses and the units.
        let (zh, info, _) = briefing_pages(
            &b,
            &scene,
            &[values(&today, "t1"), values(&after, "t2")],
            vec![image(3), image(4)],
            &|_| true,
            Lang::ZhCn,
        );
        let one = zh[0].text_content();
        assert!(one.contains("指标") && one.contains("备注"), "{one}");
        assert!(
            zh[0].lines().contains(&"预警") && zh[0].lines().contains(&"警报"),
            "{one}"
        );
        assert!(one.contains("目标：不高于 10.0 µg/m³"), "{one}");
        assert!(one.contains("数据时间：t1"), "{one}");
        assert!(info.subject.contains("数据时间"), "{info:?}");
        assert_eq!(info.lang, Lang::ZhCn);
        assert_eq!(zh[0].unencodable, 0, "the font has every character");

        // A Chinese scenario page words the skipped edit and the data time in Chinese.
        let timed = SlideValues {
            feeds_time: true,
            at: Timestamp(1_780_300_800_000),
            observations: Some(2),
            ..what_if.clone()
        };
        let (zh, _, _) = briefing_pages(
            &b,
            &scene,
            &[timed.clone(), timed],
            vec![image(3), image(4)],
            &|_| true,
            Lang::ZhCn,
        );
        // Lines may wrap anywhere in Chinese.
        let squeezed = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        let two = squeezed(&zh[1].text_content());
        assert!(two.contains(&squeezed("第 2 项（拆除）：建筑 9 不存在")), "{two}");
        assert!(
            two.contains(&squeezed(
                "数据时间：2026年6月1日 08:00 UTC（历史数据：此前 24 小时的 2 条观测）"
            )),
            "{two}"
        );
        assert!(
            !two.contains("demolish") && !two.contains("observations"),
            "{two}"
        );
    }

    #[test]
    fn sources_group_by_licence() {
        let scene = Scene::parse(SCENE, Path::new("s.ron")).unwrap();
        let all: Vec<&LayerSpec> = scene.layers.iter().collect();
        let lines = source_lines(&all);
        assert_eq!(
            lines,
            [
                "© OpenStreetMap contributors (ODbL-1.0): Buildings, Street network (Streets)",
                "Helsinki Region Environmental Services (CC-BY-4.0): Sensors (Environment)",
            ]
        );
        assert!(source_lines(&[]).is_empty());
    }

    #[test]
    fn a_briefing_becomes_one_page_per_slide() {
        let scene = Scene::parse(SCENE, Path::new("s.ron")).unwrap();
        let rows = [
            row("env.a", Some(8.25), Status::OnTarget),
            row("env.b", Some(41.0), Status::Alarm),
        ];
        let public = |l: &LayerSpec| l.meta.classification == crate::twin::gis::layer::Classification::Public;
        let v = values(&rows, "2026-06-01T08:00:00Z");
        let (pages, info, summary) = briefing_pages(
            &briefing(),
            &scene,
            &[v.clone(), v.clone()],
            vec![image(3), image(7)],
            &public,
            Lang::En,
        );
        assert_eq!(summary.pages, 2);
        assert_eq!(summary.missing_indicators, ["env.zz"]);
        assert_eq!(summary.lines_cut, 0);
        assert_eq!(pages.len(), 2);
        assert_eq!(info.title, "Air (and) streets");
        let one = pages[0].text_content();
        assert_eq!(pages[0].images.len(), 1);
        assert!(
            pages[0].lines().contains(&"Indicator env.a") && one.contains("8.25 µg/m³"),
            "{one}"
        );
        assert!(pages[0].lines().contains(&"on target") && pages[0].lines().contains(&"alarm"));
        // The alarm swatch in the dashboard's red.
        assert!(
            pages[0]
                .ops
                .iter()
                .any(|op| matches!(op, pdf::Op::Rect { colour, .. } if *colour == status_rgb(Status::Alarm))),
            "{:?}",
            pages[0].ops
        );
        assert!(pages[0].lines().contains(&"First point."));
        assert!(one.contains("Data time: 2026-06-01T08:00:00Z"));
        assert!(one.contains("© OpenStreetMap contributors"), "{one}");
        assert!(one.contains("Air (and) streets"));
        assert!(pages[0].lines().contains(&"1 / 2"));
        let two = pages[1].text_content();
        // The restricted layer is shown on slide 2 but refused by the filter: not credited.
        assert!(
            !two.contains("Sensors") && two.contains("Street network"),
            "{two}"
        );
        assert!(
            !two.contains("Buildings (OpenStreetMap"),
            "slide 2 does not show buildings"
        );
        assert!(two.contains("Zones coloured by Indicator env.a"));

        // Written: a PDF of two pages.
        let (bytes, s) = briefing_pdf(
            &briefing(),
            &scene,
            &[v.clone(), v],
            vec![image(3), image(7)],
            &public,
            Lang::En,
        )
        .unwrap();
        assert!(bytes.starts_with(b"%PDF-") && s.bytes == bytes.len() && s.pages == 2);
    }

    #[test]
    fn zones_in_a_line() {
        let zone = |name: &str, v: Option<f64>| ZoneChoroplethValue {
            id: "env.a".into(),
            zone: name.into(),
            value: v,
            score: v.map(|v| 1.0 - v / 50.0),
            status: Status::NoData,
        };
        let mut c = SlideChoropleth {
            id: "env.a".into(),
            index: 0,
            name: "A".into(),
            unit: "µg/m³".into(),
            zones: vec![
                zone("H0-0", Some(12.0)),
                zone("H0-1", None),
                zone("H0-2", Some(31.5)),
            ],
        };
        assert_eq!(
            zone_summary(&c),
            "2 of 3 zones with a value; lowest score H0-2: 31.5 µg/m³, highest H0-0: 12.0 µg/m³."
        );
        c.zones.truncate(2);
        assert_eq!(zone_summary(&c), "1 of 2 zones with a value: H0-0: 12.0 µg/m³.");
        c.zones.remove(0);
        assert_eq!(zone_summary(&c), "None of the 1 zones has a value.");
    }

    #[test]
    fn long_notes_are_cut_and_said_so() {
        let mut b = briefing();
        b.slides.truncate(1);
        b.slides[0].notes = "A sentence about the centre of the city. ".repeat(200);
        let scene = Scene::parse(SCENE, Path::new("s.ron")).unwrap();
        let (pages, _, summary) = briefing_pages(
            &b,
            &scene,
            &[values(&[], "now")],
            vec![image(5)],
            &|_| true,
            Lang::En,
        );
        assert!(summary.lines_cut > 10, "{summary:?}");
        let text = pages[0].text_content();
        assert!(text.contains("did not fit this page"), "{text}");
        assert!(pages[0].lines().contains(&"None highlighted on this slide."));
        // Chinese notes wrap between characters and are cut the same way.
        b.slides[0].notes = "城市中心的一句话。".repeat(400);
        let (pages, _, summary) = briefing_pages(
            &b,
            &scene,
            &[values(&[], "now")],
            vec![image(5)],
            &|_| true,
            Lang::ZhCn,
        );
        assert!(summary.lines_cut > 10, "{summary:?}");
        assert!(pages[0].text_content().contains("未能排入本页"));
    }
}
