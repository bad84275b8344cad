//! PDF pages through krilla: a [`Page`] is a list of drawing operations (text in the
//! shipped CJK font, filled rectangles, lines, RGB images; origin bottom left, points)
//! that the layout builds and the tests read back; [`write_pdf`] turns pages into a PDF
//! with the font embedded as a subset (text shaped, selectable and searchable in English
//! and Chinese) and the document information in UTF-16 where it needs it. [`text_width`]
//! and [`wrap`] measure with the font's own advances; Chinese text wraps between any two
//! characters, other scripts at spaces.

use std::sync::{Arc, OnceLock};

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::{BitsPerComponent, CustomImage, Image, ImageColorspace};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::TextDirection;
use thiserror::Error;

use crate::twin::i18n::Lang;

/// A4 landscape width, points.
pub const A4_LANDSCAPE_W: f64 = 842.0;
/// A4 landscape height, points.
pub const A4_LANDSCAPE_H: f64 = 595.0;
/// The font of every page: Noto Sans CJK SC cut to Latin and GB2312
/// (`scripts/subset-cjk-font.sh`, SIL OFL 1.1, `assets/fonts/OFL.txt`).
pub const FONT_OTF: &[u8] = include_bytes!("../../../assets/fonts/NotoSansSC-Subset.otf");
/// The producer written in the document information.
const PRODUCER: &str = "citytwin";
/// Width of the outline drawn around bold text (the font has one weight), ems.
const BOLD_STROKE_EM: f64 = 0.035;
/// Advance of a character the font lacks, ems.
const MISSING_ADVANCE_EM: f64 = 0.5;

/// Errors building a PDF.
#[derive(Debug, Error, PartialEq)]
pub enum PdfError {
    /// An image's pixel buffer does not match its size.
    #[error("page {page}: image of {width}x{height} needs {expected} bytes of RGB, has {actual}")]
    ImageSize {
        /// 1-based page.
        page: usize,
        /// Width, pixels.
        width: u32,
        /// Height, pixels.
        height: u32,
        /// Bytes expected.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// The shipped font could not be read.
    #[error("the font {0} cannot be read")]
    Font(&'static str),
    /// A page or image size PDF cannot hold (zero, negative or not finite).
    #[error("page {page}: size {width}x{height} points is not a valid size")]
    Size {
        /// 1-based page.
        page: usize,
        /// Width, points.
        width: f64,
        /// Height, points.
        height: f64,
    },
    /// krilla refused the document.
    #[error("writing the PDF: {0}")]
    Write(String),
}

/// The weight text is set in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    /// Regular.
    Regular,
    /// Bold (the regular face filled and outlined).
    Bold,
}

/// An RGB image, 8 bits per channel, rows top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct RgbImage {
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// `width × height × 3` bytes.
    pub rgb: Vec<u8>,
}

/// One drawing operation of a page (points, origin bottom left).
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// One line of text with its baseline starting at `(x, y)`.
    Text {
        /// Left, points.
        x: f64,
        /// Baseline, points.
        y: f64,
        /// Weight.
        font: Font,
        /// Size, points.
        size: f64,
        /// sRGB colour.
        colour: [u8; 3],
        /// The text.
        text: String,
    },
    /// A filled rectangle with its lower left corner at `(x, y)`.
    Rect {
        /// Left, points.
        x: f64,
        /// Bottom, points.
        y: f64,
        /// Width, points.
        w: f64,
        /// Height, points.
        h: f64,
        /// sRGB colour.
        colour: [u8; 3],
    },
    /// A stroked line.
    Line {
        /// Start, points.
        from: (f64, f64),
        /// End, points.
        to: (f64, f64),
        /// Width, points.
        width: f64,
        /// sRGB colour.
        colour: [u8; 3],
    },
    /// Image `index` of the page drawn into the box at `(x, y)` (lower left), `w × h`.
    Image {
        /// Index into the page's images.
        index: usize,
        /// Left, points.
        x: f64,
        /// Bottom, points.
        y: f64,
        /// Width, points.
        w: f64,
        /// Height, points.
        h: f64,
    },
}

/// One page being drawn: its operations and images.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Width, points.
    pub width: f64,
    /// Height, points.
    pub height: f64,
    /// The operations, in drawing order.
    pub ops: Vec<Op>,
    /// The images the operations draw.
    pub images: Vec<RgbImage>,
    /// Characters the font has no glyph for (drawn as its empty glyph, never dropped).
    pub unencodable: usize,
}

impl Page {
    /// An empty page of `width × height` points.
    pub fn new(width: f64, height: f64) -> Page {
        Page {
            width,
            height,
            ops: Vec::new(),
            images: Vec::new(),
            unencodable: 0,
        }
    }

    /// Writes `text` on one line with its baseline starting at `(x, y)`.
    pub fn text(&mut self, x: f64, y: f64, font: Font, size: f64, colour: [u8; 3], text: &str) {
        self.unencodable += missing_glyphs(text);
        self.ops.push(Op::Text {
            x,
            y,
            font,
            size,
            colour,
            text: text.to_string(),
        });
    }

    /// Fills a rectangle with its lower left corner at `(x, y)`.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, colour: [u8; 3]) {
        self.ops.push(Op::Rect { x, y, w, h, colour });
    }

    /// Strokes a line.
    pub fn line(&mut self, from: (f64, f64), to: (f64, f64), width: f64, colour: [u8; 3]) {
        self.ops.push(Op::Line {
            from,
            to,
            width,
            colour,
        });
    }

    /// Draws an image into the box with lower left corner `(x, y)` and size `w × h`.
    pub fn image(&mut self, image: RgbImage, x: f64, y: f64, w: f64, h: f64) {
        self.ops.push(Op::Image {
            index: self.images.len(),
            x,
            y,
            w,
            h,
        });
        self.images.push(image);
    }

    /// The lines of text on the page, in drawing order.
    pub fn lines(&self) -> Vec<&str> {
        self.ops
            .iter()
            .filter_map(|op| match op {
                Op::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// All the page's text, a line each.
    pub fn text_content(&self) -> String {
        self.lines().join("\n")
    }
}

/// Document information.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocInfo {
    /// Title.
    pub title: String,
    /// Author.
    pub author: String,
    /// Subject.
    pub subject: String,
    /// The language of the text.
    pub lang: Lang,
}

/// The shipped font as read for measuring.
fn face() -> Option<&'static ttf_parser::Face<'static>> {
    static FACE: OnceLock<Option<ttf_parser::Face<'static>>> = OnceLock::new();
    FACE.get_or_init(|| ttf_parser::Face::parse(FONT_OTF, 0).ok())
        .as_ref()
}

/// Characters of `text` the font has no glyph for (controls and spaces aside).
pub fn missing_glyphs(text: &str) -> usize {
    let Some(f) = face() else {
        return text.chars().count();
    };
    text.chars()
        .filter(|c| !c.is_control() && f.glyph_index(*c).is_none())
        .count()
}

/// Width of `text` set at `size` points, points (bold is as wide as regular).
pub fn text_width(text: &str, _font: Font, size: f64) -> f64 {
    let Some(f) = face() else {
        return text.chars().count() as f64 * MISSING_ADVANCE_EM * size;
    };
    let upem = f64::from(f.units_per_em());
    let units: f64 = text
        .chars()
        .map(|c| {
            f.glyph_index(c)
                .and_then(|g| f.glyph_hor_advance(g))
                .map_or(MISSING_ADVANCE_EM * upem, f64::from)
        })
        .sum();
    units * size / upem
}

/// Whether a line may break before or after `c` without a space (Chinese, Japanese and
/// Korean characters and their punctuation).
fn breaks_anywhere(c: char) -> bool {
    matches!(u32::from(c),
        0x2E80..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFFEF)
}

/// A paragraph cut into pieces that a line may end after: (text, whether a space precedes it).
fn pieces(paragraph: &str) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    let mut word = String::new();
    let mut space = false;
    let mut word_space = false;
    for c in paragraph.chars() {
        if c.is_whitespace() {
            if !word.is_empty() {
                out.push((std::mem::take(&mut word), word_space));
            }
            space = true;
            continue;
        }
        if breaks_anywhere(c) {
            if !word.is_empty() {
                out.push((std::mem::take(&mut word), word_space));
                space = false;
            }
            out.push((c.to_string(), space && !out.is_empty()));
            space = false;
            continue;
        }
        if word.is_empty() {
            word_space = space && !out.is_empty();
            space = false;
        }
        word.push(c);
    }
    if !word.is_empty() {
        out.push((word, word_space));
    }
    out
}

/// Breaks `text` into lines no wider than `max_width` points: at spaces and between
/// Chinese characters, and inside a word only when the word alone is too wide. Newlines in
/// the text start new lines (an empty line is kept as a paragraph break).
pub fn wrap(text: &str, font: Font, size: f64, max_width: f64) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for (word, space) in pieces(paragraph) {
            let candidate = if line.is_empty() {
                word.clone()
            } else if space {
                format!("{line} {word}")
            } else {
                format!("{line}{word}")
            };
            if text_width(&candidate, font, size) <= max_width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // The word alone: split it where it overflows.
            let mut piece = String::new();
            for c in word.chars() {
                piece.push(c);
                if text_width(&piece, font, size) > max_width && piece.chars().count() > 1 {
                    piece.pop();
                    lines.push(std::mem::take(&mut piece));
                    piece.push(c);
                }
            }
            line = piece;
        }
        lines.push(line);
    }
    lines
}

/// An image's pixels for krilla: RGB, 8 bits, no alpha.
#[derive(Debug, Clone, Hash)]
struct Pixels {
    rgb: Arc<Vec<u8>>,
    size: (u32, u32),
}

impl CustomImage for Pixels {
    fn color_channel(&self) -> &[u8] {
        &self.rgb
    }

    fn alpha_channel(&self) -> Option<&[u8]> {
        None
    }

    fn bits_per_component(&self) -> BitsPerComponent {
        BitsPerComponent::Eight
    }

    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn icc_profile(&self) -> Option<&[u8]> {
        None
    }

    fn color_space(&self) -> ImageColorspace {
        ImageColorspace::Rgb
    }
}

fn colour(c: [u8; 3]) -> krilla::paint::Paint {
    rgb::Color::new(c[0], c[1], c[2]).into()
}

fn fill(c: [u8; 3]) -> Fill {
    Fill {
        paint: colour(c),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

/// Writes the document: one PDF page per [`Page`], the font embedded once as a subset of
/// the glyphs used, the images as Flate-compressed RGB, and the document information.
pub fn write_pdf(info: &DocInfo, pages: &[Page]) -> Result<Vec<u8>, PdfError> {
    let font = krilla::text::Font::new(FONT_OTF.to_vec().into(), 0)
        .ok_or(PdfError::Font("NotoSansSC-Subset.otf"))?;
    let mut doc = Document::new();
    let mut meta = Metadata::new()
        .title(info.title.clone())
        .description(info.subject.clone())
        .producer(PRODUCER.to_string())
        .creator(PRODUCER.to_string())
        .language(info.lang.code().to_string());
    if !info.author.is_empty() {
        meta = meta.authors(vec![info.author.clone()]);
    }
    doc.set_metadata(meta);
    for (i, p) in pages.iter().enumerate() {
        let size_error = || PdfError::Size {
            page: i + 1,
            width: p.width,
            height: p.height,
        };
        let size = Size::from_wh(p.width as f32, p.height as f32).ok_or_else(size_error)?;
        let mut images = Vec::with_capacity(p.images.len());
        for im in &p.images {
            let expected = im.width as usize * im.height as usize * 3;
            if im.rgb.len() != expected || im.width == 0 || im.height == 0 {
                return Err(PdfError::ImageSize {
                    page: i + 1,
                    width: im.width,
                    height: im.height,
                    expected,
                    actual: im.rgb.len(),
                });
            }
            let pixels = Pixels {
                rgb: Arc::new(im.rgb.clone()),
                size: (im.width, im.height),
            };
            images.push(Image::from_custom(pixels, true).map_err(PdfError::Write)?);
        }
        let mut page = doc.start_page_with(PageSettings::new(size));
        let mut s = page.surface();
        // PDF space here is top down: y from the top.
        let top = |y: f64| (p.height - y) as f32;
        for op in &p.ops {
            match op {
                Op::Text {
                    x,
                    y,
                    font: weight,
                    size,
                    colour: c,
                    text,
                } => {
                    s.set_fill(Some(fill(*c)));
                    s.set_stroke((*weight == Font::Bold).then(|| Stroke {
                        paint: colour(*c),
                        width: (size * BOLD_STROKE_EM) as f32,
                        ..Stroke::default()
                    }));
                    s.draw_text(
                        Point::from_xy(*x as f32, top(*y)),
                        font.clone(),
                        *size as f32,
                        text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Op::Rect {
                    x,
                    y,
                    w,
                    h,
                    colour: c,
                } => {
                    let Some(rect) = Rect::from_xywh(*x as f32, top(y + h), *w as f32, *h as f32) else {
                        continue;
                    };
                    let mut pb = PathBuilder::new();
                    pb.push_rect(rect);
                    if let Some(path) = pb.finish() {
                        s.set_fill(Some(fill(*c)));
                        s.set_stroke(None);
                        s.draw_path(&path);
                    }
                }
                Op::Line {
                    from,
                    to,
                    width,
                    colour: c,
                } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(from.0 as f32, top(from.1));
                    pb.line_to(to.0 as f32, top(to.1));
                    if let Some(path) = pb.finish() {
                        s.set_fill(None);
                        s.set_stroke(Some(Stroke {
                            paint: colour(*c),
                            width: *width as f32,
                            ..Stroke::default()
                        }));
                        s.draw_path(&path);
                    }
                }
                Op::Image { index, x, y, w, h } => {
                    let (Some(image), Some(size)) = (images.get(*index), Size::from_wh(*w as f32, *h as f32))
                    else {
                        continue;
                    };
                    s.push_transform(&Transform::from_translate(*x as f32, top(y + h)));
                    s.draw_image(image.clone(), size);
                    s.pop();
                }
            }
        }
        s.finish();
        page.finish();
    }
    doc.finish().map_err(|e| PdfError::Write(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> RgbImage {
        let mut rgb = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                rgb.extend_from_slice(&[(x * 255 / w) as u8, (y * 255 / h) as u8, 128]);
            }
        }
        RgbImage {
            width: w,
            height: h,
            rgb,
        }
    }

    #[test]
    fn widths_come_from_the_font() {
        let w = text_width("Indicators", Font::Regular, 10.0);
        assert!(w > 30.0 && w < 60.0, "{w}");
        // Hanzi are one em wide.
        let zh = text_width("指标", Font::Regular, 10.0);
        assert!((zh - 20.0).abs() < 0.5, "{zh}");
        assert!(text_width("mmm", Font::Regular, 10.0) > text_width("iii", Font::Regular, 10.0));
        assert_eq!(missing_glyphs("Air 空气 ©µ³—"), 0);
        assert_eq!(
            missing_glyphs("\u{10FFFD}"),
            1,
            "a private-use character has no glyph"
        );
    }

    #[test]
    fn wrapping_breaks_at_spaces_and_between_hanzi() {
        let lines = wrap("one two three four five six", Font::Regular, 10.0, 60.0);
        assert!(lines.len() > 1, "{lines:?}");
        assert_eq!(lines.join(" "), "one two three four five six");
        for l in &lines {
            assert!(text_width(l, Font::Regular, 10.0) <= 60.0, "{l}");
        }
        let zh = "步行四百米内可达公共交通的居民比例";
        let lines = wrap(zh, Font::Regular, 10.0, 55.0);
        assert!(lines.len() >= 3, "{lines:?}");
        assert_eq!(lines.concat(), zh, "no space is added between hanzi");
        // Mixed text keeps its spaces.
        let mixed = wrap("PM2.5 24小时平均浓度 12.0 µg/m³", Font::Regular, 10.0, 500.0);
        assert_eq!(mixed, ["PM2.5 24小时平均浓度 12.0 µg/m³"]);
        assert_eq!(wrap("a\n\nb", Font::Regular, 10.0, 100.0), ["a", "", "b"]);
    }

    #[test]
    fn written_pdf_has_its_pages_images_font_and_info() {
        let mut one = Page::new(A4_LANDSCAPE_W, A4_LANDSCAPE_H);
        one.text(36.0, 500.0, Font::Bold, 20.0, [0, 0, 0], "空气质量 Air");
        one.rect(36.0, 100.0, 8.0, 8.0, [215, 60, 50]);
        one.line((36.0, 50.0), (800.0, 50.0), 0.5, [200, 200, 200]);
        one.image(gradient(32, 18), 36.0, 200.0, 320.0, 180.0);
        let mut two = Page::new(A4_LANDSCAPE_W, A4_LANDSCAPE_H);
        two.text(36.0, 500.0, Font::Regular, 10.0, [0, 0, 0], "Page two");
        let info = DocInfo {
            title: "简报 — Briefing".into(),
            author: "Office".into(),
            subject: "Helsinki — data time".into(),
            lang: Lang::ZhCn,
        };
        let pdf = write_pdf(&info, &[one, two]).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.trim_end().ends_with("%%EOF"));
        let pages = text
            .replace("/Type /Page", "/Type/Page")
            .match_indices("/Type/Page")
            .filter(|(at, _)| !text.replace("/Type /Page", "/Type/Page")[at + 10..].starts_with('s'))
            .count();
        assert_eq!(pages, 2, "two page objects");
        assert!(
            text.contains("/FontFile3") || text.contains("/FontFile2"),
            "the font is embedded"
        );
        assert!(text.contains("/ToUnicode"), "text maps back to Unicode");
        assert!(text.contains("/Image"), "an image XObject");
        // A subset: far smaller than the 3.5 MB font.
        assert!(pdf.len() < FONT_OTF.len() / 10, "{} bytes", pdf.len());
        // The title in UTF-16BE with a byte-order mark, as raw bytes or in hex.
        let units: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("简报".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        let hex: String = units.iter().map(|b| format!("{b:02X}")).collect();
        assert!(
            pdf.windows(units.len()).any(|w| w == units.as_slice()) || text.to_uppercase().contains(&hex),
            "UTF-16 title"
        );
    }

    #[test]
    fn bad_images_are_errors() {
        let mut page = Page::new(100.0, 100.0);
        page.image(
            RgbImage {
                width: 4,
                height: 4,
                rgb: vec![0; 10],
            },
            0.0,
            0.0,
            10.0,
            10.0,
        );
        let e = write_pdf(&DocInfo::default(), &[page]).unwrap_err();
        assert_eq!(
            e,
            PdfError::ImageSize {
                page: 1,
                width: 4,
                height: 4,
                expected: 48,
                actual: 10
            }
        );
    }
}
