//! The control-room video wall (`citytwin --wall`): the wall settings of a scene (its
//! optional `wall` field), the layout of the panels over the 3D city in screen pixels, the
//! UI scale that keeps text readable from across the room, and — in submodules — the
//! automatic camera tour ([`tour`]), the alert ticker ([`ticker`]) and the memory soak's
//! sampling ([`soak`]). Pure: no Bevy types; the app draws what these decide.

pub mod clock;
pub mod legibility;
pub mod soak;
pub mod ticker;
pub mod tour;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::twin::i18n::{self, Lang, tr, tr_args};
use crate::twin::indicators::{Catalogue, Dimension, IndicatorConfig};
use crate::twin::scene::Bookmark;

pub use tour::{PlannedStop, Tour, TourPhase, TourSpec, TourStop};

/// Output height at which the UI scale is 1 (a 1080p wall shows the UI at its normal size).
pub const REFERENCE_HEIGHT_PX: f32 = 1080.0;
/// Smallest UI scale (small windows still get a readable wall).
pub const MIN_SCALE: f32 = 1.0;
/// Largest UI scale (8K and beyond).
pub const MAX_SCALE: f32 = 8.0;
/// Gap between the panels and the screen edge, points (multiplied by the scale).
pub const MARGIN_PT: f32 = 12.0;
/// Gap between neighbouring grid cells, points.
pub const GUTTER_PT: f32 = 10.0;
/// Height of the alert ticker strip along the bottom edge, points.
pub const TICKER_PT: f32 = 52.0;
/// Largest grid accepted, cells per side.
pub const MAX_GRID: u32 = 12;
/// Default grid: columns.
const DEFAULT_COLUMNS: u32 = 4;
/// Default grid: rows.
const DEFAULT_ROWS: u32 = 6;

/// The wall settings of a scene (`wall: Some((...))`); every field has a default, so
/// `wall: Some(())` gives the standard control-room layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WallSpec {
    /// Grid columns the panels are placed on.
    pub columns: u32,
    /// Grid rows.
    pub rows: u32,
    /// The panels; the 3D city shows wherever no panel lies.
    pub panels: Vec<PanelSpec>,
    /// UI scale; derived from the output height when omitted (2160 px → 2).
    pub scale: Option<f32>,
    /// Offset of the local time shown by the clock from UTC, hours.
    pub utc_offset_h: f64,
    /// The automatic camera tour.
    pub tour: TourSpec,
}

impl Default for WallSpec {
    fn default() -> Self {
        WallSpec {
            columns: DEFAULT_COLUMNS,
            rows: DEFAULT_ROWS,
            panels: default_panels(),
            scale: None,
            utc_offset_h: 0.0,
            tour: TourSpec::default(),
        }
    }
}

/// The standard layout on the 4 × 6 grid: the clock (two rows), the dimension cards (three:
/// six cards at reading size need them) and feed health (one) down the left; the mobility
/// indicator table and the alerts (three rows each) down the right; the city in between.
pub fn default_panels() -> Vec<PanelSpec> {
    let p = |panel, at, span| PanelSpec { panel, at, span };
    vec![
        p(PanelKind::Clock, (0, 0), (1, 2)),
        p(PanelKind::Dimensions, (0, 2), (1, 3)),
        p(PanelKind::FeedHealth, (0, 5), (1, 1)),
        p(
            PanelKind::Indicators(IndicatorTable {
                dimension: Some(Dimension::Mobility),
                indicators: Vec::new(),
            }),
            (3, 0),
            (1, 3),
        ),
        p(PanelKind::Alerts, (3, 3), (1, 3)),
    ]
}

/// One panel on the grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanelSpec {
    /// What the panel shows.
    pub panel: PanelKind,
    /// Top-left cell, `(column, row)`, 0-based.
    pub at: (u32, u32),
    /// Cells covered, `(columns, rows)`.
    #[serde(default = "one_by_one")]
    pub span: (u32, u32),
}

fn one_by_one() -> (u32, u32) {
    (1, 1)
}

/// What a panel shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PanelKind {
    /// The smart-city index and the six dimension cards.
    Dimensions,
    /// A table of indicators: value, target, status.
    Indicators(IndicatorTable),
    /// The open alerts, decision windows first.
    Alerts,
    /// Every feed's link state and last message age.
    FeedHealth,
    /// Local date and time, and the data time the twin shows.
    Clock,
}

impl PanelKind {
    /// A short name, for titles, logs and test messages.
    pub fn name(&self) -> &'static str {
        match self {
            PanelKind::Dimensions => "dimensions",
            PanelKind::Indicators(_) => "indicators",
            PanelKind::Alerts => "alerts",
            PanelKind::FeedHealth => "feed health",
            PanelKind::Clock => "clock",
        }
    }
}

/// Which indicators an indicator table lists: the named ones (catalogue ids) in that order,
/// else those of a dimension, else all.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IndicatorTable {
    /// The dimension whose indicators are listed when `indicators` is empty.
    pub dimension: Option<Dimension>,
    /// Indicator ids, e.g. "mob.congestion_index".
    pub indicators: Vec<String>,
}

impl IndicatorTable {
    /// Catalogue indices of the listed indicators, in display order; ids not in the
    /// catalogue are skipped (the scene check reports them).
    pub fn select(&self, catalogue: &Catalogue) -> Vec<usize> {
        if self.indicators.is_empty() {
            return catalogue
                .indicators
                .iter()
                .enumerate()
                .filter(|(_, d)| self.dimension.is_none_or(|dim| d.dimension == dim))
                .map(|(i, _)| i)
                .collect();
        }
        self.indicators
            .iter()
            .filter_map(|id| catalogue.indicators.iter().position(|d| &d.id == id))
            .collect()
    }

    /// The table's title: the dimension's id, or "indicators".
    pub fn title(&self) -> String {
        match (self.dimension, self.indicators.is_empty()) {
            (Some(d), true) => format!("{} indicators", d.id()),
            _ => "indicators".to_string(),
        }
    }

    /// The table's title in `lang`: "Mobility indicators", "交通指标", or "Indicators".
    pub fn title_in(&self, lang: Lang) -> String {
        match (self.dimension, self.indicators.is_empty()) {
            (Some(d), true) => tr_args(
                lang,
                "wall-dimension-indicators",
                &[("dimension", i18n::dimension_name(lang, d).into())],
            ),
            _ => tr(lang, "wall-indicators"),
        }
    }
}

/// A wall setting that cannot work.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum WallError {
    /// The grid has no cells or too many.
    #[error("wall: the grid must be 1 to {MAX_GRID} cells a side, is {columns} × {rows}")]
    Grid {
        /// Columns given.
        columns: u32,
        /// Rows given.
        rows: u32,
    },
    /// A panel lies (partly) outside the grid.
    #[error(
        "wall: panel {index} ({panel}) at {at:?} spanning {span:?} does not fit the {columns} × {rows} grid"
    )]
    OutsideGrid {
        /// Index in `panels`.
        index: usize,
        /// Panel name.
        panel: &'static str,
        /// Its top-left cell.
        at: (u32, u32),
        /// Its span.
        span: (u32, u32),
        /// Grid columns.
        columns: u32,
        /// Grid rows.
        rows: u32,
    },
    /// Two panels cover the same cell.
    #[error("wall: panels {first} ({first_panel}) and {second} ({second_panel}) both cover cell {cell:?}")]
    Overlap {
        /// The earlier panel's index.
        first: usize,
        /// Its name.
        first_panel: &'static str,
        /// The later panel's index.
        second: usize,
        /// Its name.
        second_panel: &'static str,
        /// A cell both cover.
        cell: (u32, u32),
    },
    /// The UI scale is not a sensible number.
    #[error("wall: scale must be in [{MIN_SCALE}, {MAX_SCALE}], is {0}")]
    Scale(f32),
    /// The clock's UTC offset is out of range.
    #[error("wall: utc_offset_h must be within ±14 h, is {0}")]
    UtcOffset(f64),
    /// An indicator table names an indicator the catalogue does not have.
    #[error("wall: panel {index} lists unknown indicator '{id}'")]
    UnknownIndicator {
        /// Index in `panels`.
        index: usize,
        /// The id.
        id: String,
    },
    /// A tour setting is wrong.
    #[error("wall tour: {0}")]
    Tour(String),
}

impl WallSpec {
    /// Checks the grid, the panels (inside the grid, no overlaps, known indicators), the
    /// scale and the tour against the scene's bookmarks and indicator settings.
    pub fn validate(&self, bookmarks: &[Bookmark], indicators: &IndicatorConfig) -> Result<(), WallError> {
        let (columns, rows) = (self.columns, self.rows);
        if !(1..=MAX_GRID).contains(&columns) || !(1..=MAX_GRID).contains(&rows) {
            return Err(WallError::Grid { columns, rows });
        }
        let mut owner: Vec<Option<usize>> = vec![None; (columns * rows) as usize];
        for (index, p) in self.panels.iter().enumerate() {
            let fits = p.span.0 >= 1
                && p.span.1 >= 1
                && p.at.0.checked_add(p.span.0).is_some_and(|c| c <= columns)
                && p.at.1.checked_add(p.span.1).is_some_and(|r| r <= rows);
            if !fits {
                return Err(WallError::OutsideGrid {
                    index,
                    panel: p.panel.name(),
                    at: p.at,
                    span: p.span,
                    columns,
                    rows,
                });
            }
            for c in p.at.0..p.at.0 + p.span.0 {
                for r in p.at.1..p.at.1 + p.span.1 {
                    let slot = &mut owner[(r * columns + c) as usize];
                    if let Some(first) = *slot {
                        return Err(WallError::Overlap {
                            first,
                            first_panel: self.panels[first].panel.name(),
                            second: index,
                            second_panel: p.panel.name(),
                            cell: (c, r),
                        });
                    }
                    *slot = Some(index);
                }
            }
        }
        if let Some(s) = self.scale
            && !(MIN_SCALE..=MAX_SCALE).contains(&s)
        {
            return Err(WallError::Scale(s));
        }
        if !(-14.0..=14.0).contains(&self.utc_offset_h) {
            return Err(WallError::UtcOffset(self.utc_offset_h));
        }
        let needs_catalogue = self.tour.stops.iter().any(|s| s.choropleth.is_some())
            || self
                .panels
                .iter()
                .any(|p| matches!(&p.panel, PanelKind::Indicators(t) if !t.indicators.is_empty()));
        if needs_catalogue {
            let (catalogue, _) = Catalogue::from_config(indicators);
            for (index, p) in self.panels.iter().enumerate() {
                if let PanelKind::Indicators(t) = &p.panel
                    && let Some(id) = t.indicators.iter().find(|id| catalogue.get(id).is_none())
                {
                    return Err(WallError::UnknownIndicator {
                        index,
                        id: id.clone(),
                    });
                }
            }
            self.tour.validate(bookmarks, Some(&catalogue))
        } else {
            self.tour.validate(bookmarks, None)
        }
        .map_err(WallError::Tour)
    }

    /// The UI scale for an output `height_px` tall: the scene's, or the height over
    /// [`REFERENCE_HEIGHT_PX`], clamped to [[`MIN_SCALE`], [`MAX_SCALE`]].
    pub fn scale_for(&self, height_px: u32) -> f32 {
        self.scale.unwrap_or_else(|| ui_scale(height_px))
    }
}

/// The UI scale derived from an output height: 1080 px → 1, 2160 px → 2, 4320 px → 4; never
/// below [`MIN_SCALE`] nor above [`MAX_SCALE`].
pub fn ui_scale(height_px: u32) -> f32 {
    (height_px as f32 / REFERENCE_HEIGHT_PX).clamp(MIN_SCALE, MAX_SCALE)
}

/// A screen rectangle in physical pixels, origin top-left, y down.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PxRect {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
}

impl PxRect {
    /// Right edge.
    pub fn right(&self) -> f32 {
        self.x + self.w
    }

    /// Bottom edge.
    pub fn bottom(&self) -> f32 {
        self.y + self.h
    }

    /// True when the rectangle has area and lies wholly inside a `width` × `height` frame.
    pub fn inside(&self, width: f32, height: f32) -> bool {
        self.w > 0.0
            && self.h > 0.0
            && self.x >= 0.0
            && self.y >= 0.0
            && self.right() <= width
            && self.bottom() <= height
    }

    /// True when the two rectangles share some area.
    pub fn overlaps(&self, o: &PxRect) -> bool {
        self.x < o.right() && o.x < self.right() && self.y < o.bottom() && o.y < self.bottom()
    }

    /// The rectangle divided by a factor (physical pixels → egui points).
    pub fn scaled_down(&self, by: f32) -> PxRect {
        PxRect {
            x: self.x / by,
            y: self.y / by,
            w: self.w / by,
            h: self.h / by,
        }
    }
}

/// A panel placed on the screen.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedPanel {
    /// What it shows.
    pub kind: PanelKind,
    /// Where, in physical pixels.
    pub rect: PxRect,
}

/// The wall laid out for one output size.
#[derive(Debug, Clone, PartialEq)]
pub struct WallLayout {
    /// Output size, physical pixels.
    pub size: (u32, u32),
    /// UI scale (egui points → physical pixels).
    pub scale: f32,
    /// The panels in scene order.
    pub panels: Vec<PlacedPanel>,
    /// The alert ticker strip along the bottom.
    pub ticker: PxRect,
}

impl WallLayout {
    /// Lays out `spec` for an output of `size` physical pixels. The grid fills the screen
    /// inside the margins and above the ticker strip; a panel covers its cells and the
    /// gutters between them. A grid too small to hold anything (a tiny window) still gives
    /// rectangles inside the frame, shrunk toward zero size.
    pub fn new(spec: &WallSpec, size: (u32, u32)) -> WallLayout {
        let (w, h) = (size.0 as f32, size.1 as f32);
        let scale = spec.scale_for(size.1);
        // Never let the fixed parts eat more than a share of a small output.
        let margin = (MARGIN_PT * scale).min(w / 20.0).min(h / 20.0);
        let gutter = (GUTTER_PT * scale).min(w / 40.0).min(h / 40.0);
        let ticker_h = (TICKER_PT * scale).min(h / 8.0);
        let ticker = PxRect {
            x: margin,
            y: h - margin - ticker_h,
            w: (w - 2.0 * margin).max(0.0),
            h: ticker_h,
        };
        let (cols, rows) = (spec.columns.max(1) as f32, spec.rows.max(1) as f32);
        let grid_w = (w - 2.0 * margin).max(0.0);
        let grid_h = (ticker.y - gutter - margin).max(0.0);
        let cell_w = ((grid_w - gutter * (cols - 1.0)) / cols).max(0.0);
        let cell_h = ((grid_h - gutter * (rows - 1.0)) / rows).max(0.0);
        let panels = spec
            .panels
            .iter()
            .map(|p| {
                let (c, r) = (p.at.0 as f32, p.at.1 as f32);
                let (sc, sr) = (p.span.0.max(1) as f32, p.span.1.max(1) as f32);
                PlacedPanel {
                    kind: p.panel.clone(),
                    rect: PxRect {
                        x: margin + c * (cell_w + gutter),
                        y: margin + r * (cell_h + gutter),
                        w: sc * cell_w + (sc - 1.0) * gutter,
                        h: sr * cell_h + (sr - 1.0) * gutter,
                    },
                }
            })
            .collect();
        WallLayout {
            size,
            scale,
            panels,
            ticker,
        }
    }

    /// Panels (by index) whose rectangle is empty or not wholly inside the frame.
    pub fn outside_frame(&self) -> Vec<usize> {
        let (w, h) = (self.size.0 as f32, self.size.1 as f32);
        self.panels
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.rect.inside(w, h))
            .map(|(i, _)| i)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::twin::scene::Scene;

    fn bookmarks() -> Vec<Bookmark> {
        ["A", "B"]
            .iter()
            .map(|n| Bookmark {
                name: n.to_string(),
                target_lonlat: (24.9, 60.1),
                distance_m: 500.0,
                pitch_deg: 45.0,
                heading_deg: 0.0,
            })
            .collect()
    }

    #[test]
    fn scale_follows_the_output_height() {
        assert_eq!(ui_scale(1080), 1.0);
        assert_eq!(ui_scale(2160), 2.0);
        assert_eq!(ui_scale(4320), 4.0);
        assert_eq!(ui_scale(600), MIN_SCALE);
        assert_eq!(ui_scale(100_000), MAX_SCALE);
        let spec = WallSpec {
            scale: Some(1.5),
            ..WallSpec::default()
        };
        assert_eq!(spec.scale_for(2160), 1.5);
    }

    #[test]
    fn default_layout_fits_every_common_output() {
        let spec = WallSpec::default();
        spec.validate(&bookmarks(), &IndicatorConfig::default()).unwrap();
        for size in [
            (3840, 2160),
            (1920, 1080),
            (7680, 4320),
            (1280, 720),
            (2160, 3840),
            (320, 200),
        ] {
            let l = WallLayout::new(&spec, size);
            assert_eq!(l.panels.len(), spec.panels.len());
            assert!(l.outside_frame().is_empty(), "{size:?}: {:?}", l.panels);
            assert!(l.ticker.inside(size.0 as f32, size.1 as f32), "{size:?}");
            for (i, a) in l.panels.iter().enumerate() {
                assert!(!a.rect.overlaps(&l.ticker), "{size:?}: panel {i} over the ticker");
                for b in &l.panels[i + 1..] {
                    assert!(!a.rect.overlaps(&b.rect), "{size:?}: {a:?} overlaps {b:?}");
                }
            }
        }
    }

    #[test]
    fn layout_at_4k_is_the_1080p_layout_doubled() {
        let spec = WallSpec::default();
        let big = WallLayout::new(&spec, (3840, 2160));
        let small = WallLayout::new(&spec, (1920, 1080));
        assert_eq!((big.scale, small.scale), (2.0, 1.0));
        for (b, s) in big.panels.iter().zip(&small.panels) {
            let half = b.rect.scaled_down(2.0);
            for (x, y) in [
                (half.x, s.rect.x),
                (half.y, s.rect.y),
                (half.w, s.rect.w),
                (half.h, s.rect.h),
            ] {
                assert!((x - y).abs() < 1e-3, "{half:?} vs {:?}", s.rect);
            }
        }
        // The right-hand indicator table spans two rows and the gutter between them.
        let table = &big.panels[3];
        let alerts = &big.panels[4];
        assert!(matches!(table.kind, PanelKind::Indicators(_)));
        assert!((alerts.rect.y - table.rect.bottom() - GUTTER_PT * 2.0).abs() < 1e-3);
        assert!((table.rect.right() - (3840.0 - MARGIN_PT * 2.0)).abs() < 1e-3);
    }

    #[test]
    fn bad_walls_are_errors_naming_the_panel() {
        let ok = WallSpec::default();
        let cfg = IndicatorConfig::default();
        let mut s = ok.clone();
        s.panels[0].at = (3, 2);
        s.panels[0].span = (2, 1);
        let e = s.validate(&bookmarks(), &cfg).unwrap_err();
        assert!(matches!(e, WallError::OutsideGrid { index: 0, .. }), "{e}");
        let mut s = ok.clone();
        s.panels[1].at = (3, 1);
        let e = s.validate(&bookmarks(), &cfg).unwrap_err();
        assert!(e.to_string().contains("(3, 1)"), "{e}");
        assert!(
            matches!(
                e,
                WallError::Overlap {
                    first: 1,
                    second: 3,
                    ..
                }
            ),
            "{e}"
        );
        let s = WallSpec {
            columns: 0,
            ..ok.clone()
        };
        assert!(matches!(
            s.validate(&bookmarks(), &cfg),
            Err(WallError::Grid { .. })
        ));
        let s = WallSpec {
            scale: Some(f32::NAN),
            ..ok.clone()
        };
        assert!(matches!(s.validate(&bookmarks(), &cfg), Err(WallError::Scale(_))));
        let mut s = ok.clone();
        s.panels[3].panel = PanelKind::Indicators(IndicatorTable {
            dimension: None,
            indicators: vec!["mob.congestion_index".into(), "mob.teleporters".into()],
        });
        let e = s.validate(&bookmarks(), &cfg).unwrap_err();
        assert_eq!(
            e,
            WallError::UnknownIndicator {
                index: 3,
                id: "mob.teleporters".into()
            }
        );
    }

    #[test]
    fn indicator_tables_select_by_id_or_dimension() {
        let (catalogue, _) = Catalogue::from_config(&IndicatorConfig::default());
        let by_dim = IndicatorTable {
            dimension: Some(Dimension::Mobility),
            indicators: Vec::new(),
        };
        let picked = by_dim.select(&catalogue);
        assert!(!picked.is_empty());
        assert!(
            picked
                .iter()
                .all(|&i| catalogue.indicators[i].dimension == Dimension::Mobility)
        );
        assert_eq!(by_dim.title(), "mobility indicators");
        let by_id = IndicatorTable {
            dimension: Some(Dimension::Economy),
            indicators: vec![
                "env.pm25_daily_mean".into(),
                "nope".into(),
                "mob.congestion_index".into(),
            ],
        };
        let ids: Vec<&str> = by_id
            .select(&catalogue)
            .into_iter()
            .map(|i| catalogue.indicators[i].id.as_str())
            .collect();
        assert_eq!(ids, ["env.pm25_daily_mean", "mob.congestion_index"]);
        let all = IndicatorTable::default().select(&catalogue);
        assert_eq!(all.len(), catalogue.indicators.len());
    }

    #[test]
    fn scene_wall_field_parses_and_is_checked() {
        let text = r#"(
            name: "w",
            layers: [],
            bookmarks: [(name: "A", target_lonlat: (24.9, 60.1), distance_m: 500.0)],
            wall: Some((
                columns: 3,
                rows: 2,
                panels: [
                    (panel: clock, at: (0, 0)),
                    (panel: indicators((indicators: ["mob.congestion_index"])), at: (2, 0), span: (1, 2)),
                ],
                utc_offset_h: 2.0,
                tour: (stops: [(bookmark: "A", dwell_s: Some(15.0), choropleth: Some("mob.congestion_index"))]),
            )),
        )"#;
        let scene = Scene::parse(text, Path::new("w.ron")).expect("parses");
        let wall = scene.wall.expect("wall set");
        assert_eq!((wall.columns, wall.rows, wall.panels.len()), (3, 2, 2));
        assert_eq!(wall.tour.stops[0].dwell_s, Some(15.0));
        let bad = text.replace("bookmark: \"A\"", "bookmark: \"Z\"");
        let e = Scene::parse(&bad, Path::new("w.ron")).unwrap_err().to_string();
        assert!(e.starts_with("w.ron:") && e.contains("'Z'"), "{e}");
        let none = Scene::parse(r#"(name: "n", layers: [])"#, Path::new("n.ron")).unwrap();
        assert_eq!(none.wall, None);
        let defaults =
            Scene::parse(r#"(name: "d", layers: [], wall: Some(()))"#, Path::new("d.ron")).unwrap();
        assert_eq!(defaults.wall, Some(WallSpec::default()));
    }
}
