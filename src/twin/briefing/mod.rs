//! Briefings (`scenes/briefings/*.ron`): a story told with the twin, as a list of slides,
//! each a camera view, the layers shown, highlighted indicators or a choropleth, an optional
//! scenario and speaker notes. Loading and saving with errors that name the file, the
//! editing operations of the app (insert, delete, move), and the export to PDF
//! ([`pdf`], [`page`]) and JSON ([`export`]).

pub mod export;
pub mod page;
pub mod pdf;
pub mod translation;
pub mod values;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::twin::scene::{Bookmark, Scene};

/// Folder of the shipped briefings, relative to the project root.
pub const BRIEFINGS_DIR: &str = "scenes/briefings";
/// The sample briefing of the default scene, relative to the project root.
pub const SAMPLE_BRIEFING: &str = "scenes/briefings/default.ron";

/// A briefing as written in a RON file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Briefing {
    /// Title, e.g. "State of the city centre".
    pub title: String,
    /// Who prepared it.
    #[serde(default)]
    pub author: String,
    /// The date it is for, as written (e.g. "2026-06-01").
    #[serde(default)]
    pub date: String,
    /// The scene file, relative to the briefing file.
    pub scene: PathBuf,
    /// Data time the indicators are evaluated at: milliseconds since 1970 or
    /// `YYYY-MM-DDTHH:MM[:SS]Z`; the time of the export when absent.
    #[serde(default)]
    pub data_time: Option<String>,
    /// The slides, in presenting order.
    #[serde(default)]
    pub slides: Vec<Slide>,
}

/// One slide: what the audience sees and what the presenter says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slide {
    /// Slide title.
    pub title: String,
    /// Where the camera looks from.
    pub view: SlideView,
    /// Names of the scene layers shown; every layer the scene shows at start when absent.
    #[serde(default)]
    pub layers: Option<Vec<String>>,
    /// Ids of the indicators highlighted (city-wide value, target and status).
    #[serde(default)]
    pub indicators: Vec<String>,
    /// Id of the indicator the zones are coloured by.
    #[serde(default)]
    pub choropleth: Option<String>,
    /// A scenario file applied for this slide, relative to the briefing file: the view
    /// shows the scenario's city and the indicators are the scenario's, with the change
    /// against the baseline.
    #[serde(default)]
    pub scenario: Option<PathBuf>,
    /// Data time of this slide (as the briefing's `data_time`); the briefing's when absent.
    #[serde(default)]
    pub data_time: Option<String>,
    /// Speaker notes.
    #[serde(default)]
    pub notes: String,
}

/// The camera view of a slide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlideView {
    /// A bookmark of the scene, by name.
    Bookmark(String),
    /// A view of its own (as captured in the app); its `name` is informative.
    Camera(Bookmark),
}

impl Slide {
    /// A slide looking from `view`, showing the scene's start layers, nothing highlighted.
    pub fn new(title: impl Into<String>, view: SlideView) -> Slide {
        Slide {
            title: title.into(),
            view,
            layers: None,
            indicators: Vec::new(),
            choropleth: None,
            scenario: None,
            data_time: None,
            notes: String::new(),
        }
    }
}

/// Errors reading, writing, checking or editing a briefing.
#[derive(Debug, Error)]
pub enum BriefingError {
    /// The file could not be read.
    #[error("{path}: cannot read briefing: {source}")]
    Io {
        /// The briefing file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The RON did not parse or did not match the schema.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The briefing file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The briefing does not fit its scene (unknown bookmark, layer or indicator).
    #[error("{path}: slide {slide} '{title}': {message}")]
    Invalid {
        /// The briefing file.
        path: PathBuf,
        /// 1-based slide number.
        slide: usize,
        /// The slide's title.
        title: String,
        /// What is wrong.
        message: String,
    },
    /// The file could not be written.
    #[error("{path}: cannot write: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// An editing operation named a slide that does not exist.
    #[error("no slide {index} (the briefing has {len})")]
    NoSlide {
        /// 0-based index asked for.
        index: usize,
        /// Number of slides.
        len: usize,
    },
}

impl Briefing {
    /// An empty briefing of a scene.
    pub fn new(title: impl Into<String>, scene: impl Into<PathBuf>) -> Briefing {
        Briefing {
            title: title.into(),
            author: String::new(),
            date: String::new(),
            scene: scene.into(),
            data_time: None,
            slides: Vec::new(),
        }
    }

    /// Reads a briefing file.
    pub fn load(path: &Path) -> Result<Briefing, BriefingError> {
        let text = std::fs::read_to_string(path).map_err(|source| BriefingError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Briefing::parse(&text, path)
    }

    /// Parses briefing text; `path` is used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Briefing, BriefingError> {
        ron::from_str(text).map_err(|e| BriefingError::Parse {
            path: path.to_path_buf(),
            line: e.span.start.line,
            column: e.span.start.col,
            message: e.code.to_string(),
        })
    }

    /// The briefing as pretty RON text.
    pub fn to_ron(&self) -> Result<String, BriefingError> {
        let config = ron::ser::PrettyConfig::new().depth_limit(4).struct_names(false);
        ron::ser::to_string_pretty(self, config).map_err(|e| BriefingError::Write {
            path: PathBuf::new(),
            message: e.to_string(),
        })
    }

    /// Writes the briefing to `path` (through a temporary file, so that a failed write
    /// leaves the old file whole).
    pub fn save(&self, path: &Path) -> Result<(), BriefingError> {
        let write_err = |message: String| BriefingError::Write {
            path: path.to_path_buf(),
            message,
        };
        let text = self.to_ron().map_err(|e| write_err(e.to_string()))?;
        let tmp = path.with_extension("ron.tmp");
        std::fs::write(&tmp, text).map_err(|e| write_err(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| write_err(e.to_string()))
    }

    /// The scene file, resolved against the briefing file's folder.
    pub fn scene_path(&self, briefing_path: &Path) -> PathBuf {
        relative_to(briefing_path, &self.scene)
    }

    /// Inserts a slide before `index` (`index == len` appends).
    pub fn insert(&mut self, index: usize, slide: Slide) -> Result<(), BriefingError> {
        if index > self.slides.len() {
            return Err(self.no_slide(index));
        }
        self.slides.insert(index, slide);
        Ok(())
    }

    /// Removes and returns slide `index`.
    pub fn delete(&mut self, index: usize) -> Result<Slide, BriefingError> {
        if index >= self.slides.len() {
            return Err(self.no_slide(index));
        }
        Ok(self.slides.remove(index))
    }

    /// Moves slide `from` so that it ends up at position `to`, the others keeping their
    /// order.
    pub fn move_slide(&mut self, from: usize, to: usize) -> Result<(), BriefingError> {
        let len = self.slides.len();
        if from >= len {
            return Err(self.no_slide(from));
        }
        if to >= len {
            return Err(self.no_slide(to));
        }
        let slide = self.slides.remove(from);
        self.slides.insert(to, slide);
        Ok(())
    }

    fn no_slide(&self, index: usize) -> BriefingError {
        BriefingError::NoSlide {
            index,
            len: self.slides.len(),
        }
    }

    /// Checks the briefing against its scene: every bookmark and layer named exists, and
    /// every indicator id is in `indicator_ids`. `path` is used in error messages.
    pub fn check(&self, path: &Path, scene: &Scene, indicator_ids: &[&str]) -> Result<(), BriefingError> {
        for (i, slide) in self.slides.iter().enumerate() {
            let bad = |message: String| BriefingError::Invalid {
                path: path.to_path_buf(),
                slide: i + 1,
                title: slide.title.clone(),
                message,
            };
            resolve_view(scene, &slide.view).map_err(bad)?;
            for layer in slide.layers.iter().flatten() {
                if !scene.layers.iter().any(|l| &l.name == layer) {
                    let known: Vec<&str> = scene.layers.iter().map(|l| l.name.as_str()).collect();
                    return Err(bad(format!(
                        "unknown layer '{layer}' (the scene has: {})",
                        known.join(", ")
                    )));
                }
            }
            for id in slide.indicators.iter().chain(slide.choropleth.iter()) {
                if !indicator_ids.contains(&id.as_str()) {
                    return Err(bad(format!("unknown indicator '{id}'")));
                }
            }
        }
        Ok(())
    }
}

/// `path` resolved against the folder of `file` (unchanged when absolute).
pub fn relative_to(file: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        file.parent().unwrap_or(Path::new(".")).join(path)
    }
}

/// The path of `target` as written in `file` (relative to `file`'s folder), e.g. the scene
/// `scenes/default.ron` seen from `scenes/briefings/b.ron` is `../default.ron`. Falls back
/// to the absolute path when the two share no root.
pub fn path_from(file: &Path, target: &Path) -> PathBuf {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let base = abs(file.parent().unwrap_or(Path::new(".")));
    let target = abs(target);
    let b: Vec<_> = base.components().collect();
    let t: Vec<_> = target.components().collect();
    let common = b.iter().zip(&t).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return target;
    }
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c);
    }
    out
}

/// The camera bookmark a slide looks from: the scene's bookmark of that name, or the
/// slide's own view.
pub fn resolve_view(scene: &Scene, view: &SlideView) -> Result<Bookmark, String> {
    match view {
        SlideView::Camera(b) => {
            let (lon, lat) = b.target_lonlat;
            if !((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)) {
                return Err(format!("view target ({lon}, {lat}) is out of range"));
            }
            if b.distance_m.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
                return Err(format!("view distance {} m must be positive", b.distance_m));
            }
            Ok(b.clone())
        }
        SlideView::Bookmark(name) => scene
            .bookmarks
            .iter()
            .find(|b| &b.name == name)
            .cloned()
            .ok_or_else(|| {
                let known: Vec<&str> = scene.bookmarks.iter().map(|b| b.name.as_str()).collect();
                format!("unknown bookmark '{name}' (the scene has: {})", known.join(", "))
            }),
    }
}

/// Names of the scene layers a slide shows: its list, or the layers visible at start.
pub fn shown_layers<'a>(scene: &'a Scene, slide: &'a Slide) -> Vec<&'a str> {
    match &slide.layers {
        Some(names) => scene
            .layers
            .iter()
            .filter(|l| names.contains(&l.name))
            .map(|l| l.name.as_str())
            .collect(),
        None => scene
            .layers
            .iter()
            .filter(|l| l.visible)
            .map(|l| l.name.as_str())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENE: &str = r#"(
        name: "t",
        layers: [
            (name: "b", path: "b.shp", kind: buildings),
            (name: "r", path: "r.geojson", kind: roads, visible: false),
        ],
        bookmarks: [(name: "centre", target_lonlat: (24.94, 60.17), distance_m: 800.0)],
    )"#;

    const BRIEFING: &str = r#"(
        title: "State of the centre",
        author: "Mayor's office",
        date: "2026-06-01",
        scene: "../default.ron",
        slides: [
            (title: "Overview", view: bookmark("centre"), indicators: ["a.one"], notes: "Say hello."),
            (title: "Roads", view: camera((name: "mine", target_lonlat: (24.9, 60.1), distance_m: 300.0)),
             layers: Some(["r"]), choropleth: Some("a.two"), scenario: Some("../scenarios/tram.ron")),
        ],
    )"#;

    fn scene() -> Scene {
        Scene::parse(SCENE, Path::new("s.ron")).unwrap()
    }

    fn briefing() -> Briefing {
        Briefing::parse(BRIEFING, Path::new("b.ron")).unwrap()
    }

    fn titles(b: &Briefing) -> Vec<&str> {
        b.slides.iter().map(|s| s.title.as_str()).collect()
    }

    #[test]
    fn parses_and_round_trips() {
        let b = briefing();
        assert_eq!(b.slides.len(), 2);
        assert_eq!(b.slides[0].view, SlideView::Bookmark("centre".into()));
        assert_eq!(
            b.slides[1].scenario.as_deref(),
            Some(Path::new("../scenarios/tram.ron"))
        );
        assert_eq!(
            b.scene_path(Path::new("x/briefings/b.ron")),
            Path::new("x/briefings/../default.ron")
        );
        let text = b.to_ron().unwrap();
        assert_eq!(Briefing::parse(&text, Path::new("again.ron")).unwrap(), b);

        let dir = std::env::temp_dir().join(format!("citytwin-briefing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("b.ron");
        b.save(&file).unwrap();
        assert_eq!(Briefing::load(&file).unwrap(), b);
        assert!(!file.with_extension("ron.tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_name_the_file() {
        let e = Briefing::load(Path::new("/nonexistent/brief.ron")).unwrap_err();
        assert!(e.to_string().starts_with("/nonexistent/brief.ron"), "{e}");
        let bad = BRIEFING.replace("notes:", "speech:");
        match Briefing::parse(&bad, Path::new("b.ron")) {
            Err(BriefingError::Parse { line, message, .. }) => {
                assert_eq!(line, 7);
                assert!(message.contains("speech"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let e = briefing()
            .save(Path::new("/nonexistent/dir/b.ron"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/nonexistent/dir/b.ron"), "{e}");
    }

    #[test]
    fn checks_against_the_scene() {
        let s = scene();
        let b = briefing();
        b.check(Path::new("b.ron"), &s, &["a.one", "a.two"]).unwrap();
        let e = b
            .check(Path::new("b.ron"), &s, &["a.one"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("b.ron") && e.contains("slide 2 'Roads'") && e.contains("a.two"),
            "{e}"
        );

        let mut b2 = b.clone();
        b2.slides[0].view = SlideView::Bookmark("harbour".into());
        let e = b2
            .check(Path::new("b.ron"), &s, &["a.one", "a.two"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("slide 1") && e.contains("'harbour'") && e.contains("centre"),
            "{e}"
        );

        let mut b3 = b.clone();
        b3.slides[1].layers = Some(vec!["r".into(), "trams".into()]);
        let e = b3
            .check(Path::new("b.ron"), &s, &["a.one", "a.two"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("'trams'"), "{e}");

        let mut b4 = b;
        if let SlideView::Camera(v) = &mut b4.slides[1].view {
            v.distance_m = 0.0;
        }
        assert!(b4.check(Path::new("b.ron"), &s, &["a.one", "a.two"]).is_err());
    }

    #[test]
    fn the_sample_briefing_fits_the_default_scene() {
        let path = Path::new(SAMPLE_BRIEFING);
        let b = Briefing::load(path).unwrap();
        assert!((3..=6).contains(&b.slides.len()));
        let scene = Scene::load(&b.scene_path(path)).unwrap();
        let (cat, _) = crate::twin::indicators::Catalogue::from_config(&scene.indicators);
        let ids: Vec<&str> = cat.indicators.iter().map(|d| d.id.as_str()).collect();
        b.check(path, &scene, &ids).unwrap();
        assert!(b.slides.iter().all(|s| matches!(s.view, SlideView::Bookmark(_))));
        assert!(b.slides.iter().any(|s| s.choropleth.is_some()));
        // A slide shows the sample scenario, which was made for this scene.
        assert!(b.slides.iter().any(|s| s.scenario.is_some()));
        let scenarios = values::load_slide_scenarios(&b, path, &b.scene_path(path)).unwrap();
        assert!(scenarios.iter().flatten().all(|s| s.scenario.edits.len() > 1));
        let at = b
            .data_time
            .as_deref()
            .map(crate::twin::indicators::report::parse_time);
        assert!(matches!(at, Some(Ok(_))));
    }

    #[test]
    fn paths_relative_to_the_briefing() {
        assert_eq!(
            path_from(
                Path::new("scenes/briefings/b.ron"),
                Path::new("scenes/default.ron")
            ),
            Path::new("../default.ron")
        );
        assert_eq!(
            path_from(Path::new("/a/b/c.ron"), Path::new("/a/b/d/e.ron")),
            Path::new("d/e.ron")
        );
        let rel = path_from(Path::new("x/b.ron"), Path::new("y/s.ron"));
        assert_eq!(relative_to(Path::new("x/b.ron"), &rel), Path::new("x/../y/s.ron"));
    }

    #[test]
    fn layers_shown_default_to_the_scene_start() {
        let s = scene();
        let b = briefing();
        assert_eq!(shown_layers(&s, &b.slides[0]), vec!["b"]);
        assert_eq!(shown_layers(&s, &b.slides[1]), vec!["r"]);
        assert_eq!(resolve_view(&s, &b.slides[0].view).unwrap().distance_m, 800.0);
    }

    #[test]
    fn slides_insert_delete_and_move() {
        let mut b = briefing();
        let view = SlideView::Bookmark("centre".into());
        b.insert(1, Slide::new("Middle", view.clone())).unwrap();
        b.insert(3, Slide::new("End", view.clone())).unwrap();
        assert_eq!(titles(&b), ["Overview", "Middle", "Roads", "End"]);
        assert!(matches!(
            b.insert(9, Slide::new("x", view)),
            Err(BriefingError::NoSlide { index: 9, len: 4 })
        ));
        b.move_slide(0, 3).unwrap();
        assert_eq!(titles(&b), ["Middle", "Roads", "End", "Overview"]);
        b.move_slide(2, 0).unwrap();
        assert_eq!(titles(&b), ["End", "Middle", "Roads", "Overview"]);
        assert!(b.move_slide(4, 0).is_err() && b.move_slide(0, 4).is_err());
        assert_eq!(b.delete(1).unwrap().title, "Middle");
        assert_eq!(titles(&b), ["End", "Roads", "Overview"]);
        assert!(matches!(
            b.delete(3),
            Err(BriefingError::NoSlide { index: 3, len: 3 })
        ));
    }
}
