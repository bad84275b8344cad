//! A small PDF 1.4 writer (no PDF crate): pages with text in the standard Helvetica and
//! Helvetica-Bold fonts (WinAnsiEncoding, strings escaped), filled rectangles and lines,
//! and RGB 8-bit images compressed with Flate; objects, an xref table with exact byte
//! offsets and the trailer. Also [`inspect`], a structural reader of what it writes (and of
//! simple PDFs like it), used by the tests to check offsets, pages and images.

use std::fmt::Write as _;
use std::io::Write as _;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use thiserror::Error;

/// A4 landscape width, points.
pub const A4_LANDSCAPE_W: f64 = 842.0;
/// A4 landscape height, points.
pub const A4_LANDSCAPE_H: f64 = 595.0;
/// The character written for one WinAnsiEncoding cannot hold.
const REPLACEMENT: u8 = b'?';
/// Width of a character without a metric, thousandths of the font size.
const DEFAULT_WIDTH: u16 = 556;
/// The producer written in the document information.
const PRODUCER: &str = "citytwin";

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
    /// Compressing a stream failed.
    #[error("compressing an image: {0}")]
    Compress(String),
}

/// One of the two standard fonts used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    /// Helvetica.
    Regular,
    /// Helvetica-Bold.
    Bold,
}

impl Font {
    /// The resource name in page content.
    fn resource(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
        }
    }
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

/// One page being drawn: content operators (origin bottom left, points) and its images.
#[derive(Debug, Clone)]
pub struct Page {
    /// Width, points.
    pub width: f64,
    /// Height, points.
    pub height: f64,
    content: String,
    images: Vec<RgbImage>,
    /// Characters WinAnsiEncoding could not hold, written as `?`.
    pub unencodable: usize,
}

/// Formats a coordinate or size compactly (2 decimals, no trailing zeros).
fn num(v: f64) -> String {
    let v = if v.is_finite() { v } else { 0.0 };
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_string() }
}

/// An sRGB colour as PDF operands 0–1.
fn rgb_ops(c: [u8; 3]) -> String {
    let f = |v: u8| num(f64::from(v) / 255.0);
    format!("{} {} {}", f(c[0]), f(c[1]), f(c[2]))
}

impl Page {
    /// An empty page of `width × height` points.
    pub fn new(width: f64, height: f64) -> Page {
        Page {
            width,
            height,
            content: String::new(),
            images: Vec::new(),
            unencodable: 0,
        }
    }

    /// Writes `text` on one line with its baseline starting at `(x, y)`.
    pub fn text(&mut self, x: f64, y: f64, font: Font, size: f64, colour: [u8; 3], text: &str) {
        let (bytes, bad) = encode_win_ansi(text);
        self.unencodable += bad;
        let _ = writeln!(
            self.content,
            "BT /{} {} Tf {} rg {} {} Td ({}) Tj ET",
            font.resource(),
            num(size),
            rgb_ops(colour),
            num(x),
            num(y),
            escape(&bytes)
        );
    }

    /// Fills a rectangle with its lower left corner at `(x, y)`.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, colour: [u8; 3]) {
        let _ = writeln!(
            self.content,
            "{} rg {} {} {} {} re f",
            rgb_ops(colour),
            num(x),
            num(y),
            num(w),
            num(h)
        );
    }

    /// Strokes a line.
    pub fn line(&mut self, from: (f64, f64), to: (f64, f64), width: f64, colour: [u8; 3]) {
        let _ = writeln!(
            self.content,
            "{} RG {} w {} {} m {} {} l S",
            rgb_ops(colour),
            num(width),
            num(from.0),
            num(from.1),
            num(to.0),
            num(to.1)
        );
    }

    /// Draws an image into the box with lower left corner `(x, y)` and size `w × h`.
    pub fn image(&mut self, image: RgbImage, x: f64, y: f64, w: f64, h: f64) {
        let name = format!("Im{}", self.images.len());
        self.images.push(image);
        let _ = writeln!(
            self.content,
            "q {} 0 0 {} {} {} cm /{name} Do Q",
            num(w),
            num(h),
            num(x),
            num(y)
        );
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
}

/// Escapes bytes for a PDF literal string: `\`, `(` and `)` backslashed, bytes outside
/// printable ASCII written as octal.
pub fn escape(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' | b'(' | b')' => {
                s.push('\\');
                s.push(b as char);
            }
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\{b:03o}");
            }
        }
    }
    s
}

/// The WinAnsiEncoding byte of a character in 0x80–0x9F (the rest of 0xA0–0xFF is Latin-1).
fn win_ansi_special(c: char) -> Option<u8> {
    Some(match c {
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8a,
        '‹' => 0x8b,
        'Œ' => 0x8c,
        'Ž' => 0x8e,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9a,
        '›' => 0x9b,
        'œ' => 0x9c,
        'ž' => 0x9e,
        'Ÿ' => 0x9f,
        _ => return None,
    })
}

/// Common characters outside WinAnsiEncoding written as ASCII.
fn transliterate(c: char) -> Option<&'static str> {
    Some(match c {
        '≥' => ">=",
        '≤' => "<=",
        '→' => "->",
        '←' => "<-",
        '≈' => "~",
        '−' => "-",
        '\u{2009}' | '\u{202f}' => " ",
        _ => return None,
    })
}

/// Encodes text in WinAnsiEncoding; returns the bytes and how many characters could not
/// be encoded (written as `?`). Control characters (tabs, newlines) become spaces.
pub fn encode_win_ansi(text: &str) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(text.len());
    let mut bad = 0;
    for c in text.chars() {
        let u = c as u32;
        if c.is_control() {
            out.push(b' ');
        } else if (0x20..0x7f).contains(&u) || (0xa0..=0xff).contains(&u) {
            out.push(u as u8);
        } else if let Some(b) = win_ansi_special(c) {
            out.push(b);
        } else if let Some(s) = transliterate(c) {
            out.extend_from_slice(s.as_bytes());
        } else {
            out.push(REPLACEMENT);
            bad += 1;
        }
    }
    (out, bad)
}

/// Helvetica widths of ASCII 0x20–0x7E, thousandths of the font size (Adobe AFM).
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // ' '–'/'
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // '0'–'?'
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // '@'–'O'
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // 'P'–'_'
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // '`'–'o'
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // 'p'–'~'
];

/// Helvetica-Bold widths of ASCII 0x20–0x7E (Adobe AFM).
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, // ' '–'/'
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, // '0'–'?'
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, // '@'–'O'
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, // 'P'–'_'
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, // '`'–'o'
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, // 'p'–'~'
];

/// Width of one encoded byte, thousandths of the font size.
fn byte_width(b: u8, font: Font) -> u16 {
    let table = match font {
        Font::Regular => &HELVETICA,
        Font::Bold => &HELVETICA_BOLD,
    };
    match b {
        0x20..=0x7e => table[usize::from(b - 0x20)],
        0x97 => 1000,                            // em dash
        0xa9 | 0xae => 737,                      // © ®
        0x91 | 0x92 | 0x95 | 0xb7 | 0xa0 => 278, // quotes, bullet, middle dot, nbsp
        0xb0 => 400,                             // degree
        _ => DEFAULT_WIDTH,
    }
}

/// Width of `text` set in `font` at `size` points, points.
pub fn text_width(text: &str, font: Font, size: f64) -> f64 {
    let (bytes, _) = encode_win_ansi(text);
    let units: u32 = bytes.iter().map(|&b| u32::from(byte_width(b, font))).sum();
    f64::from(units) * size / 1000.0
}

/// Breaks `text` into lines no wider than `max_width` points: at spaces, and inside a
/// word only when the word alone is too wide. Newlines in the text start new lines
/// (an empty line is kept as a paragraph break).
pub fn wrap(text: &str, font: Font, size: f64, max_width: f64) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
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

/// Compresses bytes with zlib (the `/FlateDecode` filter).
fn deflate(data: &[u8]) -> Result<Vec<u8>, PdfError> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).map_err(|e| PdfError::Compress(e.to_string()))?;
    e.finish().map_err(|e| PdfError::Compress(e.to_string()))
}

/// A PDF being written: the bytes so far and each object's offset.
struct Writer {
    out: Vec<u8>,
    offsets: Vec<usize>,
}

impl Writer {
    /// Starts object `id` (ids are given in order from 1).
    fn begin(&mut self, id: usize) {
        debug_assert_eq!(id, self.offsets.len() + 1, "objects written in order");
        self.offsets.push(self.out.len());
        self.out.extend_from_slice(format!("{id} 0 obj\n").as_bytes());
    }

    /// Writes a whole dictionary object.
    fn dict(&mut self, id: usize, body: &str) {
        self.begin(id);
        self.out.extend_from_slice(body.as_bytes());
        self.out.extend_from_slice(b"\nendobj\n");
    }

    /// Writes a stream object: `dict` holds the entries other than /Length.
    fn stream(&mut self, id: usize, dict: &str, data: &[u8]) {
        self.begin(id);
        self.out
            .extend_from_slice(format!("<< {dict} /Length {} >>\nstream\n", data.len()).as_bytes());
        self.out.extend_from_slice(data);
        self.out.extend_from_slice(b"\nendstream\nendobj\n");
    }
}

/// The PDF literal string of document information text.
/// A text string of the information dictionary. Such strings are PDFDocEncoding or
/// UTF-16BE with a byte-order mark, never WinAnsi (a WinAnsi "—" reads as "Š" there):
/// plain ASCII is written as a literal, anything else as UTF-16BE in hex.
fn info_string(s: &str) -> String {
    if s.chars().all(|c| (' '..='~').contains(&c)) {
        return format!("({})", escape(s.as_bytes()));
    }
    let mut out = String::from("<FEFF");
    for unit in s.encode_utf16() {
        let _ = write!(out, "{unit:04X}");
    }
    out.push('>');
    out
}

/// Writes the document: catalogue, page tree, the two fonts, the information dictionary,
/// then per page its page object, content stream and image XObjects; the xref table and
/// trailer last.
pub fn write_pdf(info: &DocInfo, pages: &[Page]) -> Result<Vec<u8>, PdfError> {
    const CATALOG: usize = 1;
    const PAGES: usize = 2;
    const FONT_REGULAR: usize = 3;
    const FONT_BOLD: usize = 4;
    const INFO: usize = 5;
    const FIRST_PAGE: usize = 6;

    // Object ids of each page: page, contents, images.
    let mut next = FIRST_PAGE;
    let mut ids = Vec::with_capacity(pages.len());
    for page in pages {
        let page_id = next;
        let images: Vec<usize> = (0..page.images.len()).map(|i| next + 2 + i).collect();
        ids.push((page_id, page_id + 1, images));
        next += 2 + page.images.len();
    }

    let mut w = Writer {
        out: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec(),
        offsets: Vec::new(),
    };
    w.dict(CATALOG, &format!("<< /Type /Catalog /Pages {PAGES} 0 R >>"));
    let kids: Vec<String> = ids.iter().map(|(p, _, _)| format!("{p} 0 R")).collect();
    w.dict(
        PAGES,
        &format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        ),
    );
    for (id, name) in [(FONT_REGULAR, "Helvetica"), (FONT_BOLD, "Helvetica-Bold")] {
        w.dict(
            id,
            &format!("<< /Type /Font /Subtype /Type1 /BaseFont /{name} /Encoding /WinAnsiEncoding >>"),
        );
    }
    w.dict(
        INFO,
        &format!(
            "<< /Title {} /Author {} /Subject {} /Producer {} >>",
            info_string(&info.title),
            info_string(&info.author),
            info_string(&info.subject),
            info_string(PRODUCER)
        ),
    );
    for (n, (page, (page_id, contents_id, image_ids))) in pages.iter().zip(&ids).enumerate() {
        let xobjects: Vec<String> = image_ids
            .iter()
            .enumerate()
            .map(|(i, id)| format!("/Im{i} {id} 0 R"))
            .collect();
        w.dict(
            *page_id,
            &format!(
                "<< /Type /Page /Parent {PAGES} 0 R /MediaBox [0 0 {} {}] /Resources << /Font << /F1 \
                 {FONT_REGULAR} 0 R /F2 {FONT_BOLD} 0 R >> /XObject << {} >> /ProcSet [/PDF /Text \
                 /ImageC] >> /Contents {contents_id} 0 R >>",
                num(page.width),
                num(page.height),
                xobjects.join(" ")
            ),
        );
        w.stream(*contents_id, "", page.content.as_bytes());
        for (image, id) in page.images.iter().zip(image_ids) {
            let expected = image.width as usize * image.height as usize * 3;
            if image.rgb.len() != expected || expected == 0 {
                return Err(PdfError::ImageSize {
                    page: n + 1,
                    width: image.width,
                    height: image.height,
                    expected,
                    actual: image.rgb.len(),
                });
            }
            let data = deflate(&image.rgb)?;
            w.stream(
                *id,
                &format!(
                    "/Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace /DeviceRGB \
                     /BitsPerComponent 8 /Filter /FlateDecode",
                    image.width, image.height
                ),
                &data,
            );
        }
    }
    let xref = w.out.len();
    let size = w.offsets.len() + 1;
    let mut table = format!("xref\n0 {size}\n0000000000 65535 f \n");
    for offset in &w.offsets {
        let _ = writeln!(table, "{offset:010} 00000 n ");
    }
    let _ = write!(
        table,
        "trailer\n<< /Size {size} /Root {CATALOG} 0 R /Info {INFO} 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    );
    w.out.extend_from_slice(table.as_bytes());
    Ok(w.out)
}

/// What [`inspect`] found in a PDF.
#[derive(Debug, Clone, PartialEq)]
pub struct PdfSummary {
    /// Objects in the xref table (in use).
    pub objects: usize,
    /// The page tree's `/Count`.
    pub count: usize,
    /// The pages, in order.
    pub pages: Vec<PageSummary>,
}

/// One page of an inspected PDF.
#[derive(Debug, Clone, PartialEq)]
pub struct PageSummary {
    /// The page's content stream, decoded as Latin-1.
    pub content: String,
    /// The images it draws.
    pub images: Vec<ImageSummary>,
}

/// One image of an inspected PDF, decompressed.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSummary {
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// Distinct colours among the pixels (counted up to 4,096).
    pub distinct_colours: usize,
}

/// Cap on the distinct colours counted per image.
const DISTINCT_CAP: usize = 4096;

/// Reads a PDF's structure: the xref table (every offset must point at `n 0 obj`), the
/// trailer's root, the page tree, each page's content stream and image XObjects (whose
/// Flate data must inflate to width × height × 3 bytes). Errors say what is wrong.
pub fn inspect(pdf: &[u8]) -> Result<PdfSummary, String> {
    if !pdf.starts_with(b"%PDF-1.") {
        return Err("no %PDF-1.x header".into());
    }
    let tail = &pdf[pdf.len().saturating_sub(64)..];
    let tail = String::from_utf8_lossy(tail);
    let start = tail.rfind("startxref").ok_or("no startxref")?;
    let xref_at: usize = tail[start + "startxref".len()..]
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or("startxref has no offset")?;
    if !tail.trim_end().ends_with("%%EOF") {
        return Err("no %%EOF at the end".into());
    }
    let xref = pdf.get(xref_at..).ok_or("startxref beyond the file")?;
    if !xref.starts_with(b"xref\n") {
        return Err(format!("startxref {xref_at} does not point at 'xref'"));
    }
    let text = String::from_utf8_lossy(xref);
    let mut lines = text.lines().skip(1);
    let header = lines.next().ok_or("empty xref")?;
    let (first, n) = header.split_once(' ').ok_or("bad xref subsection header")?;
    let (first, n): (usize, usize) = (
        first.parse().map_err(|_| "bad xref start")?,
        n.parse().map_err(|_| "bad xref count")?,
    );
    let mut offsets = vec![None; first + n];
    for (i, slot) in offsets.iter_mut().enumerate().skip(first) {
        let entry = lines.next().ok_or("xref table cut short")?;
        let parts: Vec<&str> = entry.split_whitespace().collect();
        if parts.len() != 3 {
            return Err(format!("bad xref entry {i}: '{entry}'"));
        }
        if parts[2] == "n" {
            let offset: usize = parts[0]
                .parse()
                .map_err(|_| format!("bad offset of object {i}"))?;
            let expect = format!("{i} 0 obj");
            if !pdf
                .get(offset..)
                .is_some_and(|s| s.starts_with(expect.as_bytes()))
            {
                return Err(format!(
                    "xref offset {offset} of object {i} does not point at '{expect}'"
                ));
            }
            *slot = Some(offset);
        }
    }
    let trailer_text = &text[text.find("trailer").ok_or("no trailer")?..];
    let root = ref_after(trailer_text, "/Root").ok_or("trailer has no /Root")?;
    let object = |id: usize| -> Result<(String, Option<Vec<u8>>), String> {
        let offset = offsets
            .get(id)
            .copied()
            .flatten()
            .ok_or_else(|| format!("object {id} is not in the xref table"))?;
        read_object(pdf, offset).map_err(|e| format!("object {id}: {e}"))
    };
    let (catalog, _) = object(root)?;
    let pages_id = ref_after(&catalog, "/Pages").ok_or("catalogue has no /Pages")?;
    let (pages_dict, _) = object(pages_id)?;
    let count = int_after(&pages_dict, "/Count").ok_or("page tree has no /Count")?;
    let kids_at = pages_dict.find("/Kids").ok_or("page tree has no /Kids")?;
    let kids_text = &pages_dict[kids_at..];
    let kids_text =
        &kids_text[kids_text.find('[').ok_or("bad /Kids")? + 1..kids_text.find(']').ok_or("bad /Kids")?];
    let kids = refs(kids_text);
    let mut pages = Vec::new();
    for kid in kids {
        let (page, _) = object(kid)?;
        if !page.contains("/Type /Page") {
            return Err(format!("object {kid} in /Kids is not a page"));
        }
        let contents_id =
            ref_after(&page, "/Contents").ok_or_else(|| format!("page {kid} has no /Contents"))?;
        let (_, content) = object(contents_id)?;
        let content = content.ok_or_else(|| format!("page {kid}: contents are not a stream"))?;
        let content: String = content.iter().map(|&b| b as char).collect();
        let mut images = Vec::new();
        if let Some(at) = page.find("/XObject") {
            let rest = &page[at..];
            let end = rest.find(">>").ok_or("unterminated /XObject")?;
            for id in refs(&rest[..end]) {
                let (dict, data) = object(id)?;
                if !dict.contains("/Subtype /Image") {
                    continue;
                }
                let width = int_after(&dict, "/Width").ok_or("image without /Width")? as u32;
                let height = int_after(&dict, "/Height").ok_or("image without /Height")? as u32;
                let data = data.ok_or("image is not a stream")?;
                let pixels = if dict.contains("/FlateDecode") {
                    let mut d = flate2::read::ZlibDecoder::new(&data[..]);
                    let mut v = Vec::new();
                    std::io::Read::read_to_end(&mut d, &mut v)
                        .map_err(|e| format!("image {id}: bad Flate data: {e}"))?;
                    v
                } else {
                    data
                };
                let expected = width as usize * height as usize * 3;
                if pixels.len() != expected {
                    return Err(format!(
                        "image {id}: {} bytes for {width}x{height} RGB (expected {expected})",
                        pixels.len()
                    ));
                }
                let mut seen = std::collections::HashSet::new();
                for px in pixels.chunks_exact(3) {
                    seen.insert([px[0], px[1], px[2]]);
                    if seen.len() >= DISTINCT_CAP {
                        break;
                    }
                }
                images.push(ImageSummary {
                    width,
                    height,
                    distinct_colours: seen.len(),
                });
            }
        }
        pages.push(PageSummary { content, images });
    }
    Ok(PdfSummary {
        objects: offsets.iter().flatten().count(),
        count,
        pages,
    })
}

/// The dictionary text of the object at `offset` and its stream data (exactly `/Length`
/// bytes, which must be followed by `endstream`).
fn read_object(pdf: &[u8], offset: usize) -> Result<(String, Option<Vec<u8>>), String> {
    let rest = &pdf[offset..];
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let end = find(rest, b"endobj").ok_or("no endobj")?;
    let stream_at = find(&rest[..end], b"stream\n");
    let dict_end = stream_at.unwrap_or(end);
    let dict: String = rest[..dict_end].iter().map(|&b| b as char).collect();
    let Some(s) = stream_at else {
        return Ok((dict, None));
    };
    let length = int_after(&dict, "/Length").ok_or("stream without /Length")?;
    let start = s + "stream\n".len();
    let data = rest
        .get(start..start + length)
        .ok_or("stream runs past the file")?;
    let after = &rest[start + length..];
    if !(after.starts_with(b"\nendstream")
        || after.starts_with(b"endstream")
        || after.starts_with(b"\r\nendstream"))
    {
        return Err("/Length does not end at endstream".into());
    }
    Ok((dict, Some(data.to_vec())))
}

/// The object number of the reference `n 0 R` after `key`.
fn ref_after(text: &str, key: &str) -> Option<usize> {
    let at = text.find(key)? + key.len();
    let mut it = text[at..].split_whitespace();
    let id = it.next()?.parse().ok()?;
    (it.next()? == "0" && it.next()?.starts_with('R')).then_some(id)
}

/// The integer after `key`.
fn int_after(text: &str, key: &str) -> Option<usize> {
    let at = text.find(key)? + key.len();
    text[at..]
        .split_whitespace()
        .next()?
        .trim_end_matches(['>', ']'])
        .parse()
        .ok()
}

/// Every `n 0 R` reference in `text`, in order.
fn refs(text: &str) -> Vec<usize> {
    let words: Vec<&str> = text.split_whitespace().collect();
    words
        .windows(3)
        .filter(|w| w[1] == "0" && w[2].starts_with('R'))
        .filter_map(|w| w[0].parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> RgbImage {
        let mut rgb = Vec::new();
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
    fn info_strings_are_utf16_when_not_ascii() {
        assert_eq!(info_string("Briefing (a)"), "(Briefing \\(a\\))");
        let t = info_string("Helsinki — Töölö 中文");
        let hex = t.strip_prefix("<FEFF").and_then(|h| h.strip_suffix('>')).unwrap();
        let units: Vec<u16> = (0..hex.len() / 4)
            .map(|i| u16::from_str_radix(&hex[i * 4..i * 4 + 4], 16).unwrap())
            .collect();
        assert_eq!(String::from_utf16(&units).unwrap(), "Helsinki — Töölö 中文");
    }

    #[test]
    fn strings_are_escaped_and_encoded() {
        assert_eq!(escape(b"a(b)c\\d"), "a\\(b\\)c\\\\d");
        let (bytes, bad) = encode_win_ansi("Töölö © 2026 – €5 ≥ 3 😀\n");
        assert_eq!(bad, 1, "only the emoji is unencodable");
        assert_eq!(bytes, b"T\xf6\xf6l\xf6 \xa9 2026 \x96 \x805 >= 3 ? ".to_vec());
        assert_eq!(escape(&bytes[..3]), "T\\366\\366");
    }

    #[test]
    fn widths_and_wrapping() {
        assert!((text_width("Hello", Font::Regular, 10.0) - 22.78).abs() < 1e-9);
        assert!(text_width("Hello", Font::Bold, 10.0) > text_width("Hello", Font::Regular, 10.0));
        let text = "The tram line cuts the walk to the market by four minutes for most residents.";
        let lines = wrap(text, Font::Regular, 10.0, 120.0);
        assert!(lines.len() > 2, "{lines:?}");
        for l in &lines {
            assert!(text_width(l, Font::Regular, 10.0) <= 120.0, "{l}");
        }
        assert_eq!(lines.join(" "), text, "no word lost");
        let long = wrap("Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Font::Regular, 10.0, 50.0);
        assert!(long.len() > 1 && long.concat() == "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert_eq!(wrap("one\n\ntwo", Font::Regular, 10.0, 500.0), ["one", "", "two"]);
    }

    #[test]
    fn written_pdf_has_exact_offsets_pages_and_images() {
        let mut pages = Vec::new();
        for i in 0..3u32 {
            let mut p = Page::new(A4_LANDSCAPE_W, A4_LANDSCAPE_H);
            p.image(gradient(40 + i, 20), 36.0, 200.0, 400.0, 200.0);
            p.rect(10.0, 10.0, 5.0, 5.0, [215, 60, 50]);
            p.line((0.0, 1.0), (100.0, 1.0), 0.5, [0, 0, 0]);
            p.text(
                36.0,
                560.0,
                Font::Bold,
                18.0,
                [0, 0, 0],
                &format!("Slide (#{i}) \\ Töölö"),
            );
            pages.push(p);
        }
        let info = DocInfo {
            title: "Briefing (test)".into(),
            ..DocInfo::default()
        };
        let pdf = write_pdf(&info, &pages).unwrap();
        let s = inspect(&pdf).unwrap();
        assert_eq!(s.count, 3);
        assert_eq!(s.pages.len(), 3);
        assert_eq!(s.objects, 5 + 3 * 3);
        for (i, p) in s.pages.iter().enumerate() {
            assert_eq!(p.images.len(), 1);
            assert_eq!((p.images[0].width, p.images[0].height), (40 + i as u32, 20));
            assert!(p.images[0].distinct_colours > 100);
            assert!(p.content.contains("/Im0 Do"));
            assert!(
                p.content
                    .contains(&format!("(Slide \\(#{i}\\) \\\\ T\\366\\366l\\366) Tj"))
            );
        }
        // Hand-check the xref: each entry is 20 bytes and the offsets are exact.
        let text = String::from_utf8_lossy(&pdf);
        let xref = text.find("xref\n0 15\n").unwrap();
        let entry = &text[xref + 10..xref + 30];
        assert_eq!(entry, "0000000000 65535 f \n");
    }

    #[test]
    fn the_checker_catches_broken_files() {
        let mut p = Page::new(100.0, 100.0);
        p.image(gradient(4, 4), 0.0, 0.0, 10.0, 10.0);
        let pdf = write_pdf(&DocInfo::default(), &[p]).unwrap();
        assert!(inspect(&pdf).is_ok());
        // A byte inserted before the objects shifts every offset.
        let mut shifted = pdf.clone();
        shifted.insert(20, b' ');
        let e = inspect(&shifted).unwrap_err();
        assert!(e.contains("does not point"), "{e}");
        // A page count that disagrees is visible to the caller.
        let text: Vec<u8> = String::from_utf8_lossy(&pdf)
            .replace("/Count 1", "/Count 2")
            .into_bytes();
        if text.len() == pdf.len() {
            assert_eq!(inspect(&text).map(|s| s.count), Ok(2));
        }
        assert!(inspect(b"not a pdf").is_err());
    }

    #[test]
    fn bad_images_are_errors() {
        let mut p = Page::new(100.0, 100.0);
        p.image(
            RgbImage {
                width: 4,
                height: 4,
                rgb: vec![0; 5],
            },
            0.0,
            0.0,
            1.0,
            1.0,
        );
        assert!(matches!(
            write_pdf(&DocInfo::default(), &[p]),
            Err(PdfError::ImageSize {
                page: 1,
                expected: 48,
                actual: 5,
                ..
            })
        ));
    }
}
