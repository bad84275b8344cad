//! The in-memory form of a GIS layer: features with f64 `geo` geometry, typed
//! attributes, the layer's CRS and catalogue metadata, and the tally of what was skipped.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

use geo_types::Geometry;
use serde::{Deserialize, Serialize};

use crate::twin::crs::Crs;

/// A typed attribute value, as read from a DBF, GeoJSON property or OSM tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttrValue {
    /// Text (DBF character/memo, JSON string, every OSM tag).
    Text(String),
    /// A number (DBF numeric/float/double/integer/currency, JSON number).
    Number(f64),
    /// A calendar date as `YYYY-MM-DD` (DBF date, date-time).
    Date(String),
    /// A boolean (DBF logical, JSON bool).
    Bool(bool),
}

impl AttrValue {
    /// The value as text, whatever its type (numbers without a trailing `.0`).
    pub fn as_text(&self) -> String {
        match self {
            AttrValue::Text(s) | AttrValue::Date(s) => s.clone(),
            AttrValue::Number(n) => format_number(*n),
            AttrValue::Bool(b) => b.to_string(),
        }
    }

    /// The value as a number when it is one (or text that parses as one).
    pub fn as_number(&self) -> Option<f64> {
        match self {
            AttrValue::Number(n) => Some(*n),
            AttrValue::Text(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// Tag keys that make a feature a point of interest, in priority order: the first present
/// gives a POI its category.
pub const POI_KEYS: [&str; 8] = [
    "amenity",
    "shop",
    "healthcare",
    "education",
    "public_transport",
    "leisure",
    "tourism",
    "office",
];

/// Transit stops that are points of interest even without a [`POI_KEYS`] tag (OSM maps
/// many bus stops as `highway=bus_stop` alone); such a POI's category is the tag's key.
pub const TRANSIT_STOP_TAGS: [(&str, &str); 4] = [
    ("highway", "bus_stop"),
    ("railway", "station"),
    ("railway", "halt"),
    ("railway", "tram_stop"),
];

/// Formats a number without a trailing `.0` for integers.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Attributes of one feature, by field name, sorted by name. Empty values are absent.
///
/// A sorted vector with a map's interface (`get`, `insert`, iteration in key order):
/// features have a handful of attributes, and a `BTreeMap` node alone costs over 600 bytes
/// per feature, which a city of a million buildings feels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attributes(Vec<(String, AttrValue)>);

/// Iterator over [`Attributes`] in key order.
pub type AttrIter<'a> = std::iter::Map<
    std::slice::Iter<'a, (String, AttrValue)>,
    fn(&'a (String, AttrValue)) -> (&'a String, &'a AttrValue),
>;

impl Attributes {
    /// No attributes.
    pub fn new() -> Attributes {
        Attributes(Vec::new())
    }

    /// Where `key` is, or where it would go.
    fn position<Q>(&self, key: &Q) -> Result<usize, usize>
    where
        String: std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        use std::borrow::Borrow;
        self.0.binary_search_by(|(k, _)| Borrow::<Q>::borrow(k).cmp(key))
    }

    /// The value of `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&AttrValue>
    where
        String: std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.position(key).ok().map(|i| &self.0[i].1)
    }

    /// True when `key` has a value.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        String: std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.position(key).is_ok()
    }

    /// Sets `key`; returns the value it replaced.
    pub fn insert(&mut self, key: String, value: AttrValue) -> Option<AttrValue> {
        match self.position(key.as_str()) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Takes `key` out; returns its value.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<AttrValue>
    where
        String: std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.position(key).ok().map(|i| self.0.remove(i).1)
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Name and value of each attribute, in key order.
    pub fn iter(&self) -> AttrIter<'_> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    /// The values, in key order.
    pub fn values(&self) -> impl Iterator<Item = &AttrValue> {
        self.0.iter().map(|(_, v)| v)
    }

    /// Frees spare capacity (for data kept long, like the city model's).
    pub fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }
}

impl FromIterator<(String, AttrValue)> for Attributes {
    /// Later values of a repeated key replace earlier ones, as in a map.
    fn from_iter<I: IntoIterator<Item = (String, AttrValue)>>(iter: I) -> Attributes {
        let mut v: Vec<(String, AttrValue)> = iter.into_iter().collect();
        // Stable: equal keys keep their order, and the last of each run is kept.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(String, AttrValue)> = Vec::with_capacity(v.len());
        for (k, value) in v {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = value,
                _ => out.push((k, value)),
            }
        }
        Attributes(out)
    }
}

impl Extend<(String, AttrValue)> for Attributes {
    fn extend<I: IntoIterator<Item = (String, AttrValue)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<'a> IntoIterator for &'a Attributes {
    type Item = (&'a String, &'a AttrValue);
    type IntoIter = AttrIter<'a>;

    fn into_iter(self) -> AttrIter<'a> {
        self.iter()
    }
}

impl IntoIterator for Attributes {
    type Item = (String, AttrValue);
    type IntoIter = std::vec::IntoIter<(String, AttrValue)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl std::ops::Index<&str> for Attributes {
    type Output = AttrValue;

    /// The value of a key; panics when it is absent (as a map's index does).
    fn index(&self, key: &str) -> &AttrValue {
        self.get(key).unwrap_or_else(|| panic!("no attribute '{key}'"))
    }
}

/// One feature of a layer: a geometry in the layer's current CRS and its attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// Index of the feature in its source (record number, OSM id, GeoJSON position).
    pub source_id: i64,
    /// The geometry, f64, in the layer's current CRS.
    pub geometry: Geometry<f64>,
    /// Typed attributes.
    pub attributes: Attributes,
}

impl Feature {
    /// An attribute as text, if present and not empty.
    pub fn text(&self, key: &str) -> Option<String> {
        self.attributes
            .get(key)
            .map(AttrValue::as_text)
            .filter(|s| !s.trim().is_empty())
    }
}

/// The file format a layer was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerFormat {
    /// ESRI Shapefile (.shp/.shx/.dbf/.prj/.cpg).
    Shapefile,
    /// GeoJSON (RFC 7946).
    GeoJson,
    /// OpenStreetMap protocol buffer extract.
    OsmPbf,
    /// GeoPackage (.gpkg), one of its vector tables.
    GeoPackage,
    /// CityJSON 3D city model (.city.json, or CityJSONSeq .jsonl).
    CityJson,
    /// A table of a PostGIS database (`postgis://…`).
    PostGis,
    /// Generated in memory (grids, synthetic cities).
    Generated,
}

impl LayerFormat {
    /// Guesses the format from a file name (`.shp`, `.geojson`/`.json`, `.osm.pbf`/`.pbf`,
    /// `.gpkg`, `.city.json`/`.jsonl`, a `.json` that says it is CityJSON, and a
    /// `postgis://` source).
    pub fn from_path(path: &std::path::Path) -> Option<LayerFormat> {
        if crate::twin::gis::postgis::is_postgis(path) {
            return Some(LayerFormat::PostGis);
        }
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".shp") {
            Some(LayerFormat::Shapefile)
        } else if crate::twin::gis::cityjson::is_cityjson(path) {
            Some(LayerFormat::CityJson)
        } else if name.ends_with(".geojson") || name.ends_with(".json") {
            Some(LayerFormat::GeoJson)
        } else if name.ends_with(".pbf") {
            Some(LayerFormat::OsmPbf)
        } else if name.ends_with(".gpkg") {
            Some(LayerFormat::GeoPackage)
        } else {
            None
        }
    }

    /// Short lowercase name for reports.
    pub fn name(self) -> &'static str {
        match self {
            LayerFormat::Shapefile => "shapefile",
            LayerFormat::GeoJson => "geojson",
            LayerFormat::OsmPbf => "osm.pbf",
            LayerFormat::GeoPackage => "geopackage",
            LayerFormat::CityJson => "cityjson",
            LayerFormat::PostGis => "postgis",
            LayerFormat::Generated => "generated",
        }
    }
}

/// What a layer holds, which decides how the city model uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerKind {
    /// Building footprints with heights.
    Buildings,
    /// Street centre lines.
    Roads,
    /// Analysis zones / districts.
    Zones,
    /// Points of interest.
    Pois,
    /// Water bodies.
    Water,
    /// Parks and other green areas.
    Green,
    /// Anything else (land use, boundaries, ...).
    Other,
}

impl LayerKind {
    /// Lowercase name, as in scene files.
    pub fn name(self) -> &'static str {
        match self {
            LayerKind::Buildings => "buildings",
            LayerKind::Roads => "roads",
            LayerKind::Zones => "zones",
            LayerKind::Pois => "pois",
            LayerKind::Water => "water",
            LayerKind::Green => "green",
            LayerKind::Other => "other",
        }
    }
}

/// Who may see a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Classification {
    /// Anyone, including a wall in a public space.
    #[default]
    Public,
    /// City staff.
    Internal,
    /// Named roles only.
    Restricted,
}

/// Catalogue metadata of a layer: who owns it, under which licence, who may see it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LayerMeta {
    /// Human title.
    pub title: String,
    /// Owning department.
    pub owner: String,
    /// Licence name, e.g. "ODbL-1.0".
    pub licence: String,
    /// Attribution the licence requires, e.g. "© OpenStreetMap contributors".
    pub attribution: String,
    /// Classification.
    pub classification: Classification,
}

/// Catalogue entry of a loaded layer: its metadata plus where and when its source came from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CatalogueEntry {
    /// Metadata from the scene (or defaults).
    pub meta: LayerMeta,
    /// Source file.
    pub source_path: PathBuf,
    /// Modification time of the source file.
    pub source_modified: Option<SystemTime>,
}

impl CatalogueEntry {
    /// The entry of a file read from disk: its path and modification time, default metadata.
    pub fn for_file(path: &std::path::Path) -> CatalogueEntry {
        CatalogueEntry {
            source_path: path.to_path_buf(),
            source_modified: std::fs::metadata(path).and_then(|m| m.modified()).ok(),
            ..CatalogueEntry::default()
        }
    }
}

/// Why features were skipped, with counts: bad input is counted, never silently dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SkipReport {
    /// Reason → number of features skipped for it.
    pub reasons: BTreeMap<String, usize>,
    /// Reason → number of features repaired (kept) for it, e.g. an unclosed ring closed.
    pub repaired: BTreeMap<String, usize>,
}

impl SkipReport {
    /// Counts one skipped feature.
    pub fn skip(&mut self, reason: impl Into<String>) {
        *self.reasons.entry(reason.into()).or_default() += 1;
    }

    /// Counts one repaired (kept) feature.
    pub fn repair(&mut self, reason: impl Into<String>) {
        *self.repaired.entry(reason.into()).or_default() += 1;
    }

    /// Total skipped features.
    pub fn total(&self) -> usize {
        self.reasons.values().sum()
    }

    /// Adds another report's counts to this one.
    pub fn merge(&mut self, other: &SkipReport) {
        for (k, v) in &other.reasons {
            *self.reasons.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.repaired {
            *self.repaired.entry(k.clone()).or_default() += v;
        }
    }
}

/// A layer: features, CRS, metadata and what was skipped while reading it.
#[derive(Debug, Clone)]
pub struct Layer {
    /// Layer name (from the scene or the file stem).
    pub name: String,
    /// Source format.
    pub format: LayerFormat,
    /// What it holds.
    pub kind: LayerKind,
    /// CRS the geometries are currently in.
    pub crs: Crs,
    /// The features.
    pub features: Vec<Feature>,
    /// Skipped and repaired features.
    pub skipped: SkipReport,
    /// Catalogue entry.
    pub catalogue: CatalogueEntry,
}

impl Layer {
    /// Counts features by geometry type name ("Polygon", "LineString", ...).
    pub fn geometry_counts(&self) -> BTreeMap<&'static str, usize> {
        let mut out = BTreeMap::new();
        for f in &self.features {
            *out.entry(geometry_type_name(&f.geometry)).or_default() += 1;
        }
        out
    }

    /// Bounding box `[min_x, min_y, max_x, max_y]` of all features, in the layer's CRS.
    pub fn bbox(&self) -> Option<[f64; 4]> {
        use geo::BoundingRect;
        let mut acc: Option<[f64; 4]> = None;
        for f in &self.features {
            if let Some(r) = f.geometry.bounding_rect() {
                let b = [r.min().x, r.min().y, r.max().x, r.max().y];
                acc = Some(match acc {
                    None => b,
                    Some(a) => [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])],
                });
            }
        }
        acc
    }
}

/// The name of a geometry's type, as GeoJSON spells it.
pub fn geometry_type_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::Line(_) => "LineString",
        Geometry::LineString(_) => "LineString",
        Geometry::Polygon(_) => "Polygon",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
        Geometry::Rect(_) => "Polygon",
        Geometry::Triangle(_) => "Polygon",
    }
}

/// Calls `f` on every coordinate of a geometry, in a fixed order (used to batch CRS
/// transforms): the same order as [`for_each_coord`].
pub fn for_each_coord_mut(g: &mut Geometry<f64>, f: &mut impl FnMut(&mut geo_types::Coord<f64>)) {
    fn line(l: &mut geo_types::LineString<f64>, f: &mut impl FnMut(&mut geo_types::Coord<f64>)) {
        l.0.iter_mut().for_each(f);
    }
    fn poly(p: &mut geo_types::Polygon<f64>, f: &mut impl FnMut(&mut geo_types::Coord<f64>)) {
        p.exterior_mut(|e| line(e, f));
        p.interiors_mut(|is| is.iter_mut().for_each(|i| line(i, f)));
    }
    match g {
        Geometry::Point(p) => f(&mut p.0),
        Geometry::Line(l) => {
            f(&mut l.start);
            f(&mut l.end);
        }
        Geometry::LineString(l) => line(l, f),
        Geometry::Polygon(p) => poly(p, f),
        Geometry::MultiPoint(m) => m.0.iter_mut().for_each(|p| f(&mut p.0)),
        Geometry::MultiLineString(m) => m.0.iter_mut().for_each(|l| line(l, f)),
        Geometry::MultiPolygon(m) => m.0.iter_mut().for_each(|p| poly(p, f)),
        Geometry::GeometryCollection(c) => c.0.iter_mut().for_each(|g| for_each_coord_mut(g, f)),
        Geometry::Rect(r) => {
            let (mut a, mut b) = (r.min(), r.max());
            f(&mut a);
            f(&mut b);
            *r = geo_types::Rect::new(a, b);
        }
        Geometry::Triangle(t) => {
            let [mut a, mut b, mut c] = t.to_array();
            f(&mut a);
            f(&mut b);
            f(&mut c);
            *t = geo_types::Triangle::new(a, b, c);
        }
    }
}

/// Calls `f` on every coordinate of a geometry, in the same order as [`for_each_coord_mut`].
pub fn for_each_coord(g: &Geometry<f64>, f: &mut impl FnMut(geo_types::Coord<f64>)) {
    fn line(l: &geo_types::LineString<f64>, f: &mut impl FnMut(geo_types::Coord<f64>)) {
        l.0.iter().for_each(|c| f(*c));
    }
    fn poly(p: &geo_types::Polygon<f64>, f: &mut impl FnMut(geo_types::Coord<f64>)) {
        line(p.exterior(), f);
        p.interiors().iter().for_each(|i| line(i, f));
    }
    match g {
        Geometry::Point(p) => f(p.0),
        Geometry::Line(l) => {
            f(l.start);
            f(l.end);
        }
        Geometry::LineString(l) => line(l, f),
        Geometry::Polygon(p) => poly(p, f),
        Geometry::MultiPoint(m) => m.0.iter().for_each(|p| f(p.0)),
        Geometry::MultiLineString(m) => m.0.iter().for_each(|l| line(l, f)),
        Geometry::MultiPolygon(m) => m.0.iter().for_each(|p| poly(p, f)),
        Geometry::GeometryCollection(c) => c.0.iter().for_each(|g| for_each_coord(g, f)),
        Geometry::Rect(r) => {
            f(r.min());
            f(r.max());
        }
        Geometry::Triangle(t) => t.to_array().into_iter().for_each(f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{Coord, LineString, Polygon, polygon};

    #[test]
    fn attributes_behave_like_a_sorted_map() {
        let t = |s: &str| AttrValue::Text(s.into());
        let mut a = Attributes::new();
        assert!(a.is_empty());
        assert_eq!(a.insert("name".into(), t("x")), None);
        assert_eq!(a.insert("height".into(), AttrValue::Number(12.0)), None);
        assert_eq!(a.insert("building".into(), t("yes")), None);
        assert_eq!(a.insert("name".into(), t("y")), Some(t("x")));
        assert_eq!(a.len(), 3);
        let keys: Vec<&String> = a.keys().collect();
        assert_eq!(keys, ["building", "height", "name"]);
        assert_eq!(a.get("name"), Some(&t("y")));
        assert_eq!(a["height"], AttrValue::Number(12.0));
        assert!(a.contains_key("building") && !a.contains_key("levels"));
        assert_eq!(a.get(&"height".to_string()), Some(&AttrValue::Number(12.0)));
        assert_eq!(a.remove("building"), Some(t("yes")));
        assert_eq!(a.remove("building"), None);
        let pairs: Vec<(&String, &AttrValue)> = (&a).into_iter().collect();
        assert_eq!(pairs.len(), 2);
        // Collected: sorted, a repeated key keeps its last value.
        let b: Attributes = [("b", "1"), ("a", "2"), ("b", "3")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), t(v)))
            .collect();
        let pairs: Vec<(String, AttrValue)> = b.into_iter().collect();
        assert_eq!(pairs, vec![("a".into(), t("2")), ("b".into(), t("3"))]);
    }

    #[test]
    fn coord_visitors_agree_on_order() {
        let poly: Polygon<f64> = Polygon::new(
            LineString::from(vec![(0., 0.), (10., 0.), (10., 10.), (0., 0.)]),
            vec![LineString::from(vec![(1., 1.), (2., 1.), (2., 2.), (1., 1.)])],
        );
        let mut g = Geometry::MultiPolygon(geo_types::MultiPolygon(vec![
            poly,
            polygon![(x: 20., y: 20.), (x: 30., y: 20.), (x: 30., y: 30.)],
        ]));
        let mut seen = Vec::new();
        for_each_coord(&g, &mut |c| seen.push(c));
        let mut visited = Vec::new();
        for_each_coord_mut(&mut g, &mut |c: &mut Coord<f64>| {
            visited.push(*c);
            c.x += 1000.0;
        });
        assert_eq!(visited, seen);
        let mut again = Vec::new();
        for_each_coord(&g, &mut |c| again.push(c));
        let shifted: Vec<Coord<f64>> = seen
            .iter()
            .map(|c| Coord {
                x: c.x + 1000.0,
                y: c.y,
            })
            .collect();
        assert_eq!(again, shifted);
    }

    #[test]
    fn attr_values_convert() {
        assert_eq!(AttrValue::Number(12.0).as_text(), "12");
        assert_eq!(AttrValue::Text(" 12.5 ".into()).as_number(), Some(12.5));
        assert_eq!(AttrValue::Bool(true).as_number(), None);
    }
}
