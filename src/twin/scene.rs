//! Scene files (`scenes/*.ron`): the scene's name, CRS, origin, layers with their kind,
//! height options, style and catalogue metadata, analysis zones, and camera bookmarks.
//! Unknown fields and bad values are errors that name the file, line and column.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::twin::crs::Crs;
use crate::twin::gis::layer::{LayerKind, LayerMeta};
use crate::twin::heights::HeightOptions;

/// The default scene, relative to the project root.
pub const DEFAULT_SCENE: &str = "scenes/default.ron";
/// The second shipped scene (central Helsinki), relative to the project root: tests about
/// its places, bookmarks and sample scenario use it.
pub const HELSINKI_SCENE: &str = "scenes/helsinki.ron";

/// A scene as written in a RON file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scene {
    /// Scene name.
    pub name: String,
    /// Scene CRS, e.g. "EPSG:3067"; the UTM zone of the data's centre when omitted.
    #[serde(default)]
    pub crs: Option<String>,
    /// Scene origin `(x, y)` in the scene CRS; the centre of the data when omitted.
    #[serde(default)]
    pub origin: Option<(f64, f64)>,
    /// Layers in drawing order.
    pub layers: Vec<LayerSpec>,
    /// How analysis zones are made when no zones layer provides them.
    #[serde(default)]
    pub zones: ZoneGrid,
    /// Camera bookmarks.
    #[serde(default)]
    pub bookmarks: Vec<Bookmark>,
    /// Indicator settings: population assumption, target overrides, extra indicators.
    #[serde(default)]
    pub indicators: crate::twin::indicators::IndicatorConfig,
    /// Live feeds.
    #[serde(default)]
    pub feeds: Vec<crate::twin::feeds::spec::FeedSpec>,
    /// Where the feeds' history is kept, and for how long.
    #[serde(default)]
    pub history: Option<crate::twin::feeds::spec::HistorySpec>,
    /// Unit costs of scenario edits (defaults in code; any field may be overridden).
    #[serde(default)]
    pub costs: crate::twin::scenario::CostTable,
    /// Roles, the default role and k of k-anonymity ([`crate::twin::access`]); a default
    /// set (public ⊂ staff ⊂ planner / mayor, k = 5) when omitted.
    #[serde(default)]
    pub roles: crate::twin::access::AccessSpec,
    /// The control-room wall: panel layout and camera tour (`citytwin --wall`); the
    /// standard wall when omitted.
    #[serde(default)]
    pub wall: Option<crate::twin::wall::WallSpec>,
    /// How the 3D city is lit: `lighting: (shadows: true)` turns sun shadows on at start
    /// (off when omitted; the app toggles them with a key).
    #[serde(default)]
    pub lighting: Lighting,
    /// Largest difference from PROJ's exact result allowed when projecting large layers, in
    /// metres: `projection_tolerance_m: Some(0.0)` projects every point by PROJ; omitted,
    /// [`crate::twin::projgrid::DEFAULT_TOLERANCE`] (a millimetre) lets large layers be
    /// interpolated on a grid of PROJ results checked against PROJ.
    #[serde(default)]
    pub projection_tolerance_m: Option<f64>,
    /// Only the features whose bounding box meets this WGS84 box are read, `(min_lon,
    /// min_lat, max_lon, max_lat)`: `extent: Some((7.40, 43.72, 7.44, 43.75))`. GeoPackage
    /// tables with a spatial index read only those features from the file; the whole
    /// city when omitted.
    #[serde(default)]
    pub extent: Option<(f64, f64, f64, f64)>,
    /// The language the scene is shown in, `lang: Some("zh-CN")`; the user's setting or
    /// `--lang` when omitted (and `--lang` wins over it).
    #[serde(default)]
    pub lang: Option<crate::twin::i18n::Lang>,
}

/// How the 3D city is lit. The sun and the ambient light are fixed (see
/// `shaders/sun.wgsl`); only the sun's shadows are optional, since they cost a shadow
/// pass over every building each frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Lighting {
    /// Whether buildings cast sun shadows onto the ground and each other at start.
    pub shadows: bool,
}

/// One layer of a scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    /// Layer name (unique in the scene).
    pub name: String,
    /// Path of the data file, relative to the scene file; or a PostGIS table,
    /// `"postgis://user@host:port/dbname?table=schema.table"` (no password: it is taken
    /// from `PGPASSWORD` or `~/.pgpass`).
    pub path: PathBuf,
    /// What the layer holds.
    pub kind: LayerKind,
    /// Source CRS override ("EPSG:n"); otherwise from the .prj, or EPSG:4326 for
    /// GeoJSON and OSM.
    #[serde(default)]
    pub crs: Option<String>,
    /// The table to read from a GeoPackage (`table: Some("buildings")`) or a PostGIS
    /// database (`Some("schema.table")`, when the URL has no `?table=`); may be left out
    /// when there is only one.
    #[serde(default)]
    pub table: Option<String>,
    /// Height options (building layers).
    #[serde(default)]
    pub heights: HeightOptions,
    /// Level of detail read from a CityJSON layer, e.g. `lod: Some("2.2")`; the highest
    /// each building has when omitted.
    #[serde(default)]
    pub lod: Option<String>,
    /// Attribute holding a feature's display name.
    #[serde(default = "default_name_field")]
    pub name_field: String,
    /// Attribute holding a feature's class (road class, POI kind, land use).
    #[serde(default)]
    pub class_field: Option<String>,
    /// Drawing style.
    #[serde(default)]
    pub style: Style,
    /// Catalogue metadata.
    #[serde(default)]
    pub meta: LayerMeta,
    /// Whether the layer is shown at start.
    #[serde(default = "default_true")]
    pub visible: bool,
    /// Only the features whose attribute `key` has one of `values` are kept, e.g. the
    /// quarters of an OSM file's administrative boundaries: `filter: Some((key:
    /// "admin_level", values: ["10"]))`; every feature when omitted.
    #[serde(default)]
    pub filter: Option<AttrFilter>,
}

/// Keeps the features of a layer whose attribute `key` has one of `values`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttrFilter {
    /// Attribute name.
    pub key: String,
    /// Values kept (compared as text, trimmed).
    pub values: Vec<String>,
}

impl AttrFilter {
    /// Whether a feature with these attributes is kept.
    pub fn keeps(&self, attributes: &crate::twin::gis::layer::Attributes) -> bool {
        attributes
            .get(self.key.as_str())
            .map(|v| v.as_text())
            .is_some_and(|v| self.values.iter().any(|w| w.trim() == v.trim()))
    }
}

fn default_name_field() -> String {
    "name".to_string()
}

fn default_true() -> bool {
    true
}

/// How a layer is drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Style {
    /// Fill / line colour as sRGB `[r, g, b]`, 0–255.
    pub colour: [u8; 3],
    /// Opacity 0–1.
    pub opacity: f32,
    /// Line width in metres (roads: overrides the width by class).
    pub line_width_m: Option<f32>,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            colour: [200, 200, 200],
            opacity: 1.0,
            line_width_m: None,
        }
    }
}

/// Shape of generated grid zones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GridShape {
    /// Hexagons (flat-topped).
    Hex,
    /// Squares.
    Square,
}

/// The generated zone grid used when no zones layer exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZoneGrid {
    /// Cell shape.
    pub shape: GridShape,
    /// Cell size in metres (hexagon: distance between opposite edges; square: side).
    pub size_m: f64,
}

impl Default for ZoneGrid {
    fn default() -> Self {
        ZoneGrid {
            shape: GridShape::Hex,
            size_m: 500.0,
        }
    }
}

/// A camera bookmark: what to look at, from how far and which direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bookmark {
    /// Bookmark name.
    pub name: String,
    /// Point looked at, in WGS84 `(lon, lat)`.
    pub target_lonlat: (f64, f64),
    /// Distance from the target, metres.
    pub distance_m: f64,
    /// Angle above the horizon, degrees (90 = straight down).
    #[serde(default = "default_pitch")]
    pub pitch_deg: f64,
    /// Compass heading the camera looks toward, degrees (0 = north).
    #[serde(default)]
    pub heading_deg: f64,
}

fn default_pitch() -> f64 {
    45.0
}

/// Errors reading a scene file.
#[derive(Debug, Error)]
pub enum SceneError {
    /// The file could not be read.
    #[error("{path}: cannot read scene file: {source}")]
    Io {
        /// The scene file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The RON did not parse or did not match the schema.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The scene file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Nothing in the scene could be loaded.
    #[error("{path}: {message}")]
    Load {
        /// The scene file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A value is out of range or inconsistent.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The scene file.
        path: PathBuf,
        /// 1-based line of the offending item (1 when it cannot be located).
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

impl Scene {
    /// The projection tolerance in metres (see [`Scene::projection_tolerance_m`]).
    pub fn projection_tolerance(&self) -> f64 {
        self.projection_tolerance_m
            .filter(|t| t.is_finite() && *t >= 0.0)
            .unwrap_or(crate::twin::projgrid::DEFAULT_TOLERANCE)
    }

    /// Reads and validates a scene file.
    pub fn load(path: &Path) -> Result<Scene, SceneError> {
        let text = std::fs::read_to_string(path).map_err(|source| SceneError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Scene::parse(&text, path)
    }

    /// Parses and validates scene text; `path` is used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Scene, SceneError> {
        let scene: Scene = ron::from_str(text).map_err(|e| SceneError::Parse {
            path: path.to_path_buf(),
            line: e.span.start.line,
            column: e.span.start.col,
            message: e.code.to_string(),
        })?;
        scene.validate().map_err(|(message, needle)| {
            let (line, column) = locate(text, &needle);
            SceneError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        })?;
        Ok(scene)
    }

    /// Checks values the schema cannot: names unique, positive sizes, valid CRS names.
    /// An error is the message and a piece of text to locate it by in the file.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let bad = |message: String, needle: &str| Err((message, needle.to_string()));
        let mut names = std::collections::BTreeSet::new();
        for l in &self.layers {
            if !names.insert(&l.name) {
                return bad(
                    format!("layer name '{}' is used twice", l.name),
                    &format!("\"{}\"", l.name),
                );
            }
            let h = &l.heights;
            if !(h.storey_m > 0.0 && h.storey_m < 20.0) {
                return bad(
                    format!(
                        "layer '{}': storey_m must be in (0, 20), is {}",
                        l.name, h.storey_m
                    ),
                    &format!("\"{}\"", l.name),
                );
            }
            if !(h.roof_m >= 0.0 && h.default_m > 0.0) {
                return bad(
                    format!("layer '{}': roof_m must be ≥ 0 and default_m > 0", l.name),
                    &format!("\"{}\"", l.name),
                );
            }
            if let Some(lod) = &l.lod
                && !lod.trim().parse::<f64>().is_ok_and(|v| (0.0..=4.0).contains(&v))
            {
                return bad(
                    format!(
                        "layer '{}': lod must be a level of detail like \"2.2\", is '{lod}'",
                        l.name
                    ),
                    &format!("\"{}\"", l.name),
                );
            }
            if !(0.0..=1.0).contains(&l.style.opacity) {
                return bad(
                    format!("layer '{}': opacity must be in [0, 1]", l.name),
                    &format!("\"{}\"", l.name),
                );
            }
            if let Some(f) = &l.filter
                && (f.key.trim().is_empty() || f.values.is_empty())
            {
                return bad(
                    format!("layer '{}': a filter needs a key and at least one value", l.name),
                    &format!("\"{}\"", l.name),
                );
            }
            if crate::twin::gis::postgis::is_postgis(&l.path)
                && let Err(m) = postgis_source(l)
            {
                return bad(format!("layer '{}': {m}", l.name), &format!("\"{}\"", l.name));
            }
            if let Some(c) = &l.crs
                && !matches!(Crs::parse(c), Crs::Epsg(_))
            {
                return bad(
                    format!("layer '{}': crs must be written EPSG:n, is '{c}'", l.name),
                    &format!("\"{}\"", l.name),
                );
            }
        }
        if let Some(c) = &self.crs
            && !matches!(Crs::parse(c), Crs::Epsg(_))
        {
            return bad(format!("scene crs must be written EPSG:n, is '{c}'"), "crs");
        }
        if let Some((x0, y0, x1, y1)) = self.extent
            && !((-180.0..=180.0).contains(&x0)
                && (-180.0..=180.0).contains(&x1)
                && (-90.0..=90.0).contains(&y0)
                && (-90.0..=90.0).contains(&y1)
                && x0 < x1
                && y0 < y1)
        {
            return bad(
                "extent must be (min_lon, min_lat, max_lon, max_lat) in degrees, min < max".into(),
                "extent",
            );
        }
        if !(self.zones.size_m > 0.0 && self.zones.size_m.is_finite()) {
            return bad(
                format!("zones.size_m must be positive, is {}", self.zones.size_m),
                "size_m",
            );
        }
        if let Err(m) = self.indicators.validate() {
            return bad(m, "indicators");
        }
        if let Err(m) = self.costs.validate() {
            return bad(m, "costs");
        }
        for b in &self.bookmarks {
            let (lon, lat) = b.target_lonlat;
            if !((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)) {
                return bad(
                    format!("bookmark '{}': target_lonlat out of range", b.name),
                    &format!("\"{}\"", b.name),
                );
            }
            if b.distance_m.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
                return bad(
                    format!("bookmark '{}': distance_m must be positive", b.name),
                    &format!("\"{}\"", b.name),
                );
            }
        }
        self.roles.validate()?;
        if let Some(w) = &self.wall
            && let Err(e) = w.validate(&self.bookmarks, &self.indicators)
        {
            return bad(e.to_string(), "wall");
        }
        crate::twin::feeds::spec::validate_feeds(&self.feeds, self.history.as_ref())
    }

    /// The scene extent as `[min_lon, min_lat, max_lon, max_lat]`, when it sets one.
    pub fn extent_wgs84(&self) -> Option<[f64; 4]> {
        self.extent.map(|(a, b, c, d)| [a, b, c, d])
    }

    /// The scene CRS when the scene names one.
    pub fn scene_crs(&self) -> Option<Crs> {
        self.crs.as_deref().map(Crs::parse)
    }
}

/// Checks a PostGIS layer's URL (no password in it) and that it and `table` do not name
/// two different tables.
fn postgis_source(l: &LayerSpec) -> Result<(), String> {
    use crate::twin::gis::postgis::{PgSource, TableName};
    let src = PgSource::parse(&l.path.to_string_lossy())?;
    if let Some(t) = &l.table {
        let t = TableName::parse(t)?;
        if let Some(u) = &src.table
            && *u != t
        {
            return Err(format!("table: Some(\"{t}\") but the URL names table '{u}'"));
        }
    }
    Ok(())
}

/// The 1-based line and column of the last occurrence of `needle` in `text` (the last,
/// since a repeated name is wrong where it is repeated); (1, 1) when absent.
fn locate(text: &str, needle: &str) -> (usize, usize) {
    match text.rfind(needle) {
        Some(i) => {
            let before = &text[..i];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (line, column)
        }
        None => (1, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"(
        name: "t",
        crs: Some("EPSG:3067"),
        layers: [
            (name: "b", path: "b.shp", kind: buildings, heights: (unit: foot)),
            (name: "r", path: "r.geojson", kind: roads, meta: (owner: "Streets", classification: internal)),
        ],
        bookmarks: [(name: "centre", target_lonlat: (24.94, 60.17), distance_m: 800.0)],
    )"#;

    #[test]
    fn parses_a_scene() {
        let s = Scene::parse(OK, Path::new("t.ron")).unwrap();
        assert_eq!(s.layers.len(), 2);
        assert_eq!(s.layers[0].heights.unit, crate::twin::heights::LengthUnit::Foot);
        assert_eq!(s.layers[1].meta.owner, "Streets");
        assert_eq!(s.scene_crs(), Some(Crs::Epsg(3067)));
        assert_eq!(s.bookmarks[0].pitch_deg, 45.0);
    }

    #[test]
    fn unknown_field_names_line_and_column() {
        let text = "(\n  name: \"t\",\n  layers: [],\n  colour: 3,\n)";
        match Scene::parse(text, Path::new("x.ron")) {
            Err(SceneError::Parse {
                line,
                column,
                message,
                ..
            }) => {
                assert_eq!(line, 4, "{message}");
                assert!(column >= 3);
                assert!(message.contains("colour"), "{message}");
            }
            other => panic!("expected a parse error, got {other:?}"),
        }
        let e = Scene::parse(text, Path::new("x.ron")).unwrap_err().to_string();
        assert!(e.starts_with("x.ron:4:"), "{e}");
    }

    #[test]
    fn lighting_is_optional_and_strict() {
        let s = Scene::parse(OK, Path::new("t.ron")).unwrap();
        assert_eq!(s.lighting, Lighting { shadows: false });
        let on = OK.replace("bookmarks:", "lighting: (shadows: true),\n        bookmarks:");
        let s = Scene::parse(&on, Path::new("t.ron")).unwrap();
        assert!(s.lighting.shadows);
        let empty = OK.replace("bookmarks:", "lighting: (),\n        bookmarks:");
        assert!(!Scene::parse(&empty, Path::new("t.ron")).unwrap().lighting.shadows);
        let unknown = OK.replace(
            "bookmarks:",
            "lighting: (shadows: true, fog: true),\n        bookmarks:",
        );
        match Scene::parse(&unknown, Path::new("t.ron")) {
            Err(SceneError::Parse { line, message, .. }) => {
                assert_eq!(line, 8, "{message}");
                assert!(message.contains("fog"), "{message}");
            }
            other => panic!("expected a parse error, got {other:?}"),
        }
        let not_bool = OK.replace("bookmarks:", "lighting: (shadows: 1),\n        bookmarks:");
        assert!(matches!(
            Scene::parse(&not_bool, Path::new("t.ron")),
            Err(SceneError::Parse { .. })
        ));
    }

    #[test]
    fn bad_values_are_errors() {
        let dup = OK.replace("name: \"r\"", "name: \"b\"");
        match Scene::parse(&dup, Path::new("x")) {
            Err(SceneError::Invalid { line, .. }) => assert_eq!(line, 6, "the repeated name's line"),
            other => panic!("{other:?}"),
        }
        let bad_kind = OK.replace("kind: roads", "kind: rivers");
        assert!(matches!(
            Scene::parse(&bad_kind, Path::new("x")),
            Err(SceneError::Parse { .. })
        ));
        let bad_crs = OK.replace("EPSG:3067", "UTM");
        assert!(matches!(
            Scene::parse(&bad_crs, Path::new("x")),
            Err(SceneError::Invalid { .. })
        ));
    }

    #[test]
    fn a_layer_filter_is_read_and_checked() {
        use crate::twin::gis::layer::{AttrValue, Attributes};
        let t = OK.replace(
            "kind: roads,",
            "kind: roads, filter: Some((key: \"admin_level\", values: [\"8\", \"10\"])),",
        );
        let s = Scene::parse(&t, Path::new("t.ron")).unwrap();
        let f = s.layers[1].filter.as_ref().expect("filter");
        let with = |v: AttrValue| -> Attributes { [("admin_level".to_string(), v)].into_iter().collect() };
        assert!(f.keeps(&with(AttrValue::Text("10".into()))));
        assert!(f.keeps(&with(AttrValue::Number(8.0))));
        assert!(!f.keeps(&with(AttrValue::Text("6".into()))));
        assert!(!f.keeps(&Attributes::new()));
        assert_eq!(s.layers[0].filter, None);
        let empty = t.replace("[\"8\", \"10\"]", "[]");
        match Scene::parse(&empty, Path::new("x")) {
            Err(SceneError::Invalid { message, line, .. }) => {
                assert!(message.contains("filter"), "{message}");
                assert_eq!(line, 6);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_postgis_layer_is_checked_and_never_holds_a_password() {
        let t = OK.replace(
            "(name: \"b\", path: \"b.shp\"",
            "(name: \"b\", path: \"postgis://gis@db.example:5432/city?table=planning.buildings\"",
        );
        let s = Scene::parse(&t, Path::new("t.ron")).unwrap();
        assert!(crate::twin::gis::postgis::is_postgis(&s.layers[0].path));
        let with_table = OK.replace(
            "(name: \"b\", path: \"b.shp\"",
            "(name: \"b\", path: \"postgis://gis@db.example/city\", table: Some(\"planning.buildings\")",
        );
        assert!(Scene::parse(&with_table, Path::new("t.ron")).is_ok());
        let password = t.replace("gis@", "gis:hunter2@");
        match Scene::parse(&password, Path::new("t.ron")) {
            Err(SceneError::Invalid { line, message, .. }) => {
                assert_eq!(line, 5, "{message}");
                assert!(
                    message.contains("no password") && message.contains("PGPASSWORD"),
                    "{message}"
                );
                assert!(!message.contains("hunter2"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let two_tables = t.replace(
            "kind: buildings",
            "table: Some(\"public.other\"), kind: buildings",
        );
        match Scene::parse(&two_tables, Path::new("t.ron")) {
            Err(SceneError::Invalid { message, .. }) => {
                assert!(message.contains("planning.buildings"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_geopackage_table_and_an_extent_are_read_and_checked() {
        let t = OK.replace(
            "(name: \"b\", path: \"b.shp\"",
            "(name: \"b\", path: \"city.gpkg\", table: Some(\"buildings\")",
        );
        let t = t.replace(
            "bookmarks:",
            "extent: Some((7.40, 43.72, 7.44, 43.75)),\n        bookmarks:",
        );
        let s = Scene::parse(&t, Path::new("t.ron")).unwrap();
        assert_eq!(s.layers[0].table.as_deref(), Some("buildings"));
        assert_eq!(s.layers[1].table, None);
        assert_eq!(s.extent_wgs84(), Some([7.40, 43.72, 7.44, 43.75]));
        let upside_down = t.replace("(7.40, 43.72, 7.44, 43.75)", "(7.44, 43.72, 7.40, 43.75)");
        match Scene::parse(&upside_down, Path::new("x")) {
            Err(SceneError::Invalid { message, .. }) => assert!(message.contains("extent"), "{message}"),
            other => panic!("{other:?}"),
        }
    }
}
