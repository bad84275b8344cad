//! A briefing's text in another language, kept beside it in its own file
//! (`default.ron` → `default.zh-CN.ron`): the title, author and date, and per slide —
//! keyed by the slide's title in the briefing — its title and notes. Views, layers,
//! indicators and scenarios stay in the briefing alone, so that the two files merge
//! independently. A slide the translation lacks keeps its own text and is reported.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::twin::briefing::{Briefing, BriefingError};
use crate::twin::i18n::Lang;

/// A briefing's text in one language.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BriefingText {
    /// The title; the briefing's when absent.
    #[serde(default)]
    pub title: Option<String>,
    /// The author; the briefing's when absent.
    #[serde(default)]
    pub author: Option<String>,
    /// The date as written; the briefing's when absent.
    #[serde(default)]
    pub date: Option<String>,
    /// The slides' text, keyed by each slide's title in the briefing.
    #[serde(default)]
    pub slides: BTreeMap<String, SlideText>,
}

/// A slide's text in one language.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlideText {
    /// The title.
    pub title: String,
    /// The speaker notes; the slide's when absent.
    #[serde(default)]
    pub notes: Option<String>,
}

/// The file holding `briefing`'s text in `lang`: `name.<lang>.ron` beside it.
pub fn text_path(briefing: &Path, lang: Lang) -> PathBuf {
    let stem = briefing
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("briefing");
    briefing.with_file_name(format!("{stem}.{}.ron", lang.code()))
}

impl BriefingText {
    /// Reads a translation file.
    pub fn load(path: &Path) -> Result<BriefingText, BriefingError> {
        let text = std::fs::read_to_string(path).map_err(|source| BriefingError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        ron::from_str(&text).map_err(|e| BriefingError::Parse {
            path: path.to_path_buf(),
            line: e.span.start.line,
            column: e.span.start.col,
            message: e.code.to_string(),
        })
    }

    /// `briefing` with this text put in. Returns the titles of the slides it has no text
    /// for (they keep theirs) and the keys that name no slide.
    pub fn apply(&self, briefing: &Briefing) -> (Briefing, Vec<String>, Vec<String>) {
        let mut out = briefing.clone();
        if let Some(t) = &self.title {
            out.title = t.clone();
        }
        if let Some(a) = &self.author {
            out.author = a.clone();
        }
        if let Some(d) = &self.date {
            out.date = d.clone();
        }
        let mut untranslated = Vec::new();
        for slide in &mut out.slides {
            match self.slides.get(&slide.title) {
                Some(t) => {
                    if let Some(n) = &t.notes {
                        slide.notes = n.clone();
                    }
                    slide.title = t.title.clone();
                }
                None => untranslated.push(slide.title.clone()),
            }
        }
        let unknown = self
            .slides
            .keys()
            .filter(|k| !briefing.slides.iter().any(|s| &s.title == *k))
            .cloned()
            .collect();
        (out, untranslated, unknown)
    }
}

/// The briefing at `path` in `lang`: with the text of its `lang` file when there is one
/// (English is the briefing's own). Returns the briefing and problems to report (slides
/// without text, keys naming no slide); a file that does not parse is an error.
pub fn localised(
    briefing: &Briefing,
    path: &Path,
    lang: Lang,
) -> Result<(Briefing, Vec<String>), BriefingError> {
    if lang == Lang::En {
        return Ok((briefing.clone(), Vec::new()));
    }
    let file = text_path(path, lang);
    if !file.exists() {
        return Ok((
            briefing.clone(),
            vec![format!(
                "{}: no {} text; the briefing's own is used",
                file.display(),
                lang.code()
            )],
        ));
    }
    let text = BriefingText::load(&file)?;
    let (out, untranslated, unknown) = text.apply(briefing);
    let mut problems: Vec<String> = untranslated
        .iter()
        .map(|t| format!("{}: no text for slide '{t}'", file.display()))
        .collect();
    problems.extend(
        unknown
            .iter()
            .map(|k| format!("{}: '{k}' names no slide of the briefing", file.display())),
    );
    Ok((out, problems))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::briefing::SAMPLE_BRIEFING;

    #[test]
    fn the_sample_briefing_has_chinese_text_for_every_slide() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let path = root.join(SAMPLE_BRIEFING);
        let b = Briefing::load(&path).unwrap();
        assert!(text_path(&path, Lang::ZhCn).ends_with("scenes/briefings/default.zh-CN.ron"));
        let (zh, problems) = localised(&b, &path, Lang::ZhCn).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let hanzi = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        assert!(hanzi(&zh.title), "{}", zh.title);
        for (s, orig) in zh.slides.iter().zip(&b.slides) {
            assert!(hanzi(&s.title) && hanzi(&s.notes), "{}", s.title);
            assert_eq!(s.view, orig.view, "views stay the briefing's");
            assert_eq!(s.indicators, orig.indicators);
        }
        let (en, none) = localised(&b, &path, Lang::En).unwrap();
        assert_eq!(en, b);
        assert!(none.is_empty());
    }

    #[test]
    fn missing_and_unknown_slides_are_reported() {
        let b = Briefing::parse(
            r#"(title: "T", scene: "s.ron", slides: [(title: "A", view: bookmark("x")), (title: "B", view: bookmark("x"))])"#,
            Path::new("b.ron"),
        )
        .unwrap();
        let t: BriefingText = ron::from_str(r#"(slides: {"A": (title: "甲"), "Z": (title: "?")})"#).unwrap();
        let (out, untranslated, unknown) = t.apply(&b);
        assert_eq!(out.slides[0].title, "甲");
        assert_eq!(out.slides[1].title, "B");
        assert_eq!(out.title, "T");
        assert_eq!(untranslated, ["B"]);
        assert_eq!(unknown, ["Z"]);
    }
}
