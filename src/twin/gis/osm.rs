//! OpenStreetMap PBF reader: turns an `.osm.pbf` extract into citytwin layers (buildings,
//! roads, POIs, administrative zones, water, green areas and other land use) in EPSG:4326.
//!
//! The file is read in three streaming passes, each decoding the blobs one by one so that a
//! broken block is counted and skipped instead of ending the read:
//! 1. relations of interest (multipolygons, administrative boundaries) and the ways they need;
//! 2. ways: tagged ways of interest plus the relations' member ways, and the nodes they need;
//! 3. nodes: coordinates of the needed nodes, and tagged POI nodes.
//!
//! Features are then built: ways become line strings or polygons, relations are joined and
//! assembled into (multi)polygons with [`join_segments`] and [`assemble`], POI nodes become
//! points. Bad elements are skipped and counted in each layer's [`SkipReport`].

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::io::BufReader;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use geo::orient::{Direction, Orient};
use geo_types::{Coord, Geometry, LineString, MultiPolygon, Point, Polygon};
use osmpbf::{BlobDecode, BlobReader, BlobType, Element, RelMemberType};

use crate::twin::crs::Crs;
use crate::twin::error::GisError;
use crate::twin::gis::coastline::{CoastWay, sea_polygons};
use crate::twin::gis::layer::{
    AttrValue, Attributes, CatalogueEntry, Feature, Layer, LayerFormat, LayerKind, LayerMeta, POI_KEYS,
    SkipReport, TRANSIT_STOP_TAGS,
};
use crate::twin::gis::rings::{RingRole, assemble, clean_ring, join_segments};

/// Format name used in errors.
const FORMAT: &str = "osm.pbf";
/// Licence of OpenStreetMap data.
const LICENCE: &str = "ODbL-1.0";
/// Attribution the ODbL requires.
const ATTRIBUTION: &str = "© OpenStreetMap contributors";

/// Skip reason: a data blob that could not be decoded (counted once per block).
const SKIP_BROKEN_BLOCK: &str = "broken PBF block";
/// Skip reason: the blob framing broke, nothing after it could be read.
const SKIP_UNREADABLE_REST: &str = "unreadable rest of PBF file";
/// Skip reason: a way references a node that is not in the extract.
const SKIP_MISSING_NODES: &str = "way with missing nodes";
/// Skip reason: a relation's member ways do not form closed rings (or are not in the extract).
const SKIP_UNCLOSED_RELATION: &str = "relation with unclosed rings";
/// Skip reason: a relation of interest has no way members with an outer/inner role.
const SKIP_NO_MEMBER_WAYS: &str = "relation without member ways";
/// Skip reason: a way tagged as an area (building, water, ...) that is not closed.
const SKIP_OPEN_AREA: &str = "area way not closed";
/// Skip reason: a road way with fewer than two distinct points.
const SKIP_SHORT_LINE: &str = "way with fewer than 2 points";

/// Tag and value of the coastline ways the sea is built from.
const COASTLINE: (&str, &str) = ("natural", "coastline");
/// Tags of the sea polygons built from the coastline (`natural=sea` gives their class).
const SEA_TAGS: [(&str, &str); 2] = [
    ("natural", "sea"),
    ("source", "built from natural=coastline ways"),
];

/// `leisure=*` values that are green areas.
const GREEN_LEISURE: [&str; 5] = ["park", "garden", "playground", "nature_reserve", "pitch"];
/// `landuse=*` values that are green areas.
const GREEN_LANDUSE: [&str; 6] = [
    "grass",
    "forest",
    "meadow",
    "recreation_ground",
    "village_green",
    "cemetery",
];
/// `natural=*` values that are green areas.
const GREEN_NATURAL: [&str; 3] = ["wood", "scrub", "grassland"];
/// `landuse=*` values that are water.
const WATER_LANDUSE: [&str; 1] = ["reservoir"];

/// The layer kinds this reader produces, in output order.
const KINDS: [LayerKind; 7] = [
    LayerKind::Buildings,
    LayerKind::Roads,
    LayerKind::Pois,
    LayerKind::Zones,
    LayerKind::Water,
    LayerKind::Green,
    LayerKind::Other,
];

/// Reads an .osm.pbf file into one Layer per LayerKind found (Buildings, Roads, Pois, Zones, Water, Green, Other), all in EPSG:4326 (x = lon, y = lat), format LayerFormat::OsmPbf.
///
/// Layers are named `buildings`, `roads`, `pois`, `zones`, `water`, `green` and `landuse`
/// (kind [`LayerKind::Other`]), in that order; only layers with features or skip counts are
/// returned. Every feature's attributes are all of its OSM tags, as [`AttrValue::Text`].
/// `source_id` is the OSM id for nodes and ways, and the negated id for relations (a
/// multipolygon building `r123` has `source_id == -123`). One OSM element may appear in
/// several layers (a building tagged `amenity=school` is a building, not a POI: POIs are
/// tagged nodes only).
///
/// File-level damage is counted in every returned layer: each undecodable data block as
/// `"broken PBF block"`, and a broken blob framing that ends the read as
/// `"unreadable rest of PBF file"` (what was read before it is kept).
///
/// # Errors
/// [`GisError::Io`] when the file cannot be opened or read; [`GisError::Malformed`] when it
/// is not PBF at all (its first blob is unreadable or not an `OSMHeader`), is empty, or has
/// no readable data at all.
pub fn read_osm(path: &Path) -> Result<Vec<Layer>, GisError> {
    let mut damage = FileDamage::default();
    let mut sink = Sink::default();

    // Pass 1: relations of interest and the member ways they need.
    let mut relations: Vec<RelationRec> = Vec::new();
    let mut member_ways: HashSet<i64> = HashSet::new();
    scan(path, &mut damage, |element| {
        if let Element::Relation(rel) = element {
            let tags: RawTags<'_> = rel.tags().collect();
            let kinds = relation_kinds(&tags);
            if kinds.is_empty() {
                return;
            }
            let members: Vec<(i64, RingRole)> = rel
                .members()
                .filter(|m| m.member_type == RelMemberType::Way)
                .filter_map(|m| ring_role(m.role().unwrap_or("")).map(|role| (m.member_id, role)))
                .collect();
            member_ways.extend(members.iter().map(|&(id, _)| id));
            relations.push(RelationRec {
                id: rel.id(),
                members,
                attributes: attributes(&tags),
                kinds,
            });
        }
    })?;

    // Pass 2: ways of interest and relation member ways, and the nodes they need.
    let mut ways: Vec<WayRec> = Vec::new();
    let mut member_refs: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut needed_nodes: HashSet<i64> = HashSet::new();
    let mut coast_refs: Vec<(i64, Vec<i64>)> = Vec::new();
    scan(path, &mut damage, |element| {
        let Element::Way(way) = element else {
            return;
        };
        let id = way.id();
        let is_member = member_ways.contains(&id);
        let tags: RawTags<'_> = way.tags().collect();
        let mut kinds = area_kinds(&tags);
        let road = is_road(&tags);
        let coast = tag(&tags, COASTLINE.0) == Some(COASTLINE.1);
        if kinds.is_empty() && !road && !is_member && !coast {
            return;
        }
        let refs: Vec<i64> = way.refs().collect();
        if coast {
            needed_nodes.extend(refs.iter().copied());
            coast_refs.push((id, refs.clone()));
        }
        let closed = refs.len() >= 2 && refs.first() == refs.last();
        if !closed && !kinds.is_empty() {
            // An open member way is a piece of its relation's ring, not an area of its own.
            if !is_member {
                sink.skip(kinds, SKIP_OPEN_AREA);
            }
            kinds = KindSet::default();
        }
        if road {
            kinds.insert(LayerKind::Roads);
        }
        if is_member {
            needed_nodes.extend(refs.iter().copied());
            member_refs.insert(id, refs.clone());
        }
        if !kinds.is_empty() {
            needed_nodes.extend(refs.iter().copied());
            ways.push(WayRec {
                id,
                refs,
                attributes: attributes(&tags),
                kinds,
            });
        }
    })?;
    drop(member_ways);

    // Pass 3: coordinates of the needed nodes, and tagged POI nodes.
    let mut nodes = NodePass {
        needed: needed_nodes,
        coords: HashMap::new(),
        pois: Vec::new(),
    };
    scan(path, &mut damage, |element| match element {
        Element::Node(n) => nodes.node(
            n.id(),
            Coord {
                x: n.lon(),
                y: n.lat(),
            },
            n.tags(),
        ),
        Element::DenseNode(n) => nodes.node(
            n.id(),
            Coord {
                x: n.lon(),
                y: n.lat(),
            },
            n.tags(),
        ),
        Element::Way(_) | Element::Relation(_) => {}
    })?;

    // Build the features.
    for way in &ways {
        build_way(way, &nodes.coords, &mut sink);
    }
    for rel in &relations {
        build_relation(rel, &member_refs, &nodes.coords, &mut sink);
    }
    build_sea(&coast_refs, &nodes, damage.bbox, &mut sink);
    for poi in nodes.pois {
        sink.push(
            LayerKind::Pois,
            Feature {
                source_id: poi.id,
                geometry: Geometry::Point(Point(poi.at)),
                attributes: poi.attributes,
            },
            None,
        );
    }

    let catalogue = CatalogueEntry {
        meta: LayerMeta {
            licence: LICENCE.to_string(),
            attribution: ATTRIBUTION.to_string(),
            ..LayerMeta::default()
        },
        ..CatalogueEntry::for_file(path)
    };
    let Sink { features, skipped } = sink;
    let mut layers = Vec::new();
    for ((kind, features), mut skipped) in KINDS.into_iter().zip(features).zip(skipped) {
        if features.is_empty() && skipped.total() == 0 {
            continue;
        }
        if !damage.broken.is_empty() {
            *skipped.reasons.entry(SKIP_BROKEN_BLOCK.to_string()).or_default() += damage.broken.len();
        }
        if damage.unreadable_rest {
            skipped.skip(SKIP_UNREADABLE_REST);
        }
        layers.push(Layer {
            name: layer_name(kind).to_string(),
            format: LayerFormat::OsmPbf,
            kind,
            crs: Crs::Epsg(4326),
            features,
            skipped,
            catalogue: catalogue.clone(),
        });
    }
    if layers.is_empty() && damage.is_damaged() {
        return Err(malformed(
            path,
            format!(
                "no readable OSM data ({} broken block(s){})",
                damage.broken.len(),
                if damage.unreadable_rest {
                    ", unreadable after a broken blob header"
                } else {
                    ""
                }
            ),
        ));
    }
    Ok(layers)
}

/// The name of the layer of a kind (`landuse` for [`LayerKind::Other`]).
fn layer_name(kind: LayerKind) -> &'static str {
    match kind {
        LayerKind::Other => "landuse",
        other => other.name(),
    }
}

/// Position of a kind in [`KINDS`] and in the per-layer arrays.
fn kind_index(kind: LayerKind) -> usize {
    match kind {
        LayerKind::Buildings => 0,
        LayerKind::Roads => 1,
        LayerKind::Pois => 2,
        LayerKind::Zones => 3,
        LayerKind::Water => 4,
        LayerKind::Green => 5,
        LayerKind::Other => 6,
    }
}

/// A small set of layer kinds: the layers one OSM element goes to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct KindSet(u8);

impl KindSet {
    /// The set holding one kind.
    fn of(kind: LayerKind) -> KindSet {
        let mut set = KindSet::default();
        set.insert(kind);
        set
    }

    fn insert(&mut self, kind: LayerKind) {
        self.0 |= 1 << kind_index(kind);
    }

    fn remove(&mut self, kind: LayerKind) {
        self.0 &= !(1 << kind_index(kind));
    }

    fn contains(self, kind: LayerKind) -> bool {
        self.0 & (1 << kind_index(kind)) != 0
    }

    fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The kinds in the set, in output order.
    fn iter(self) -> impl Iterator<Item = LayerKind> {
        KINDS.into_iter().filter(move |&k| self.contains(k))
    }
}

/// Tags of one element, borrowed from its block's string table.
type RawTags<'a> = Vec<(&'a str, &'a str)>;

/// The value of a tag, if present and not empty.
fn tag<'a>(tags: &[(&'a str, &'a str)], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|(k, v)| *k == key && !v.is_empty())
        .map(|&(_, v)| v)
}

/// All tags as text attributes (empty keys and values left out).
fn attributes(tags: &[(&str, &str)]) -> Attributes {
    tags.iter()
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .map(|&(k, v)| (k.to_string(), AttrValue::Text(v.to_string())))
        .collect()
}

/// The area layers (buildings, water, green, other land use) a closed way or multipolygon
/// with these tags belongs to.
fn area_kinds(tags: &[(&str, &str)]) -> KindSet {
    let mut kinds = KindSet::default();
    let set_not_no = |key: &str| tag(tags, key).is_some_and(|v| v != "no");
    if set_not_no("building") || set_not_no("building:part") {
        kinds.insert(LayerKind::Buildings);
    }
    let landuse = tag(tags, "landuse");
    let natural = tag(tags, "natural");
    if natural == Some("water")
        || tag(tags, "waterway") == Some("riverbank")
        || landuse.is_some_and(|v| WATER_LANDUSE.contains(&v))
        || set_not_no("water")
    {
        kinds.insert(LayerKind::Water);
    }
    if tag(tags, "leisure").is_some_and(|v| GREEN_LEISURE.contains(&v))
        || landuse.is_some_and(|v| GREEN_LANDUSE.contains(&v))
        || natural.is_some_and(|v| GREEN_NATURAL.contains(&v))
    {
        kinds.insert(LayerKind::Green);
    }
    if landuse.is_some_and(|v| !WATER_LANDUSE.contains(&v) && !GREEN_LANDUSE.contains(&v)) {
        kinds.insert(LayerKind::Other);
    }
    kinds
}

/// Whether a way with these tags is a road centre line (`highway=*`, not `area=yes`).
fn is_road(tags: &[(&str, &str)]) -> bool {
    tag(tags, "highway").is_some() && tag(tags, "area") != Some("yes")
}

/// Whether a node with these tags is a point of interest (a [`POI_KEYS`] tag, or a transit
/// stop).
fn is_poi(tags: &[(&str, &str)]) -> bool {
    POI_KEYS
        .iter()
        .any(|key| tag(tags, key).is_some_and(|v| v != "no"))
        || TRANSIT_STOP_TAGS.iter().any(|&(k, v)| tag(tags, k) == Some(v))
}

/// The layers a relation with these tags belongs to: multipolygons by their area tags, and
/// administrative boundaries (`type=boundary` or `type=multipolygon`) as zones.
fn relation_kinds(tags: &[(&str, &str)]) -> KindSet {
    let rtype = tag(tags, "type");
    let mut kinds = if rtype == Some("multipolygon") {
        area_kinds(tags)
    } else {
        KindSet::default()
    };
    if matches!(rtype, Some("multipolygon" | "boundary")) && tag(tags, "boundary") == Some("administrative") {
        kinds.insert(LayerKind::Zones);
    }
    kinds
}

/// The ring role of a relation member way; `None` for roles that are not rings.
fn ring_role(role: &str) -> Option<RingRole> {
    match role {
        "outer" | "exclave" => Some(RingRole::Outer),
        "inner" | "enclave" => Some(RingRole::Inner),
        "" => Some(RingRole::Unknown),
        _ => None,
    }
}

/// A relation kept in pass 1.
struct RelationRec {
    /// OSM relation id.
    id: i64,
    /// Member ways and their ring roles.
    members: Vec<(i64, RingRole)>,
    /// The relation's tags.
    attributes: Attributes,
    /// The layers it goes to.
    kinds: KindSet,
}

/// A way kept in pass 2 as a feature of its own.
struct WayRec {
    /// OSM way id.
    id: i64,
    /// Node ids.
    refs: Vec<i64>,
    /// The way's tags.
    attributes: Attributes,
    /// The layers it goes to (roads and, for closed ways, area layers).
    kinds: KindSet,
}

/// A POI node kept in pass 3.
struct PoiRec {
    /// OSM node id.
    id: i64,
    /// Lon/lat.
    at: Coord<f64>,
    /// The node's tags.
    attributes: Attributes,
}

/// State of pass 3.
struct NodePass {
    /// Nodes whose coordinates ways need.
    needed: HashSet<i64>,
    /// Coordinates found for the needed nodes.
    coords: HashMap<i64, Coord<f64>>,
    /// Tagged POI nodes.
    pois: Vec<PoiRec>,
}

impl NodePass {
    /// Takes one node (plain or dense).
    fn node<'a>(&mut self, id: i64, at: Coord<f64>, tags: impl Iterator<Item = (&'a str, &'a str)>) {
        if self.needed.contains(&id) {
            self.coords.insert(id, at);
        }
        let tags: RawTags<'a> = tags.collect();
        if !tags.is_empty() && is_poi(&tags) {
            self.pois.push(PoiRec {
                id,
                at,
                attributes: attributes(&tags),
            });
        }
    }
}

/// Features and skip reports being built, one slot per kind (see [`kind_index`]).
#[derive(Default)]
struct Sink {
    features: [Vec<Feature>; 7],
    skipped: [SkipReport; 7],
}

impl Sink {
    /// Adds a feature to a layer, with the repairs made to its geometry.
    fn push(&mut self, kind: LayerKind, feature: Feature, repairs: Option<&SkipReport>) {
        let i = kind_index(kind);
        self.features[i].push(feature);
        if let Some(r) = repairs {
            self.skipped[i].merge(r);
        }
    }

    /// Counts one skipped element in each of the layers it would have gone to.
    fn skip(&mut self, kinds: KindSet, reason: &str) {
        for kind in kinds.iter() {
            self.skipped[kind_index(kind)].skip(reason);
        }
    }
}

/// The coordinates of a way's nodes, or `None` if one of them is not in the extract.
fn resolve(refs: &[i64], nodes: &HashMap<i64, Coord<f64>>) -> Option<Vec<Coord<f64>>> {
    refs.iter().map(|id| nodes.get(id).copied()).collect()
}

/// Turns a way into a road line string and/or an area polygon.
fn build_way(way: &WayRec, nodes: &HashMap<i64, Coord<f64>>, sink: &mut Sink) {
    let Some(coords) = resolve(&way.refs, nodes) else {
        // A road cut by the extract's edge keeps the parts inside; an area cannot.
        let mut rest = way.kinds;
        if way.kinds.contains(LayerKind::Roads) {
            rest.remove(LayerKind::Roads);
            build_clipped_road(way, nodes, sink);
        }
        if !rest.is_empty() {
            sink.skip(rest, SKIP_MISSING_NODES);
        }
        return;
    };
    if way.kinds.contains(LayerKind::Roads) {
        let mut line = coords.clone();
        line.dedup();
        if line.len() < 2 {
            sink.skip(KindSet::of(LayerKind::Roads), SKIP_SHORT_LINE);
        } else {
            let feature = Feature {
                source_id: way.id,
                geometry: Geometry::LineString(LineString::from(line)),
                attributes: way.attributes.clone(),
            };
            sink.push(LayerKind::Roads, feature, None);
        }
    }
    let mut areas = way.kinds;
    areas.remove(LayerKind::Roads);
    if areas.is_empty() {
        return;
    }
    let mut repairs = SkipReport::default();
    match clean_ring(&coords, &mut repairs) {
        Ok(ring) => {
            let polygon = Polygon::new(ring, vec![]).orient(Direction::Default);
            for kind in areas.iter() {
                let feature = Feature {
                    source_id: way.id,
                    geometry: Geometry::Polygon(polygon.clone()),
                    attributes: way.attributes.clone(),
                };
                sink.push(kind, feature, Some(&repairs));
            }
        }
        Err(reason) => sink.skip(areas, reason),
    }
}

/// A road some of whose nodes lie outside the extract: the runs of nodes inside become its
/// geometry (counted as repaired); with no run of two nodes it is skipped.
fn build_clipped_road(way: &WayRec, nodes: &HashMap<i64, Coord<f64>>, sink: &mut Sink) {
    let mut parts: Vec<LineString<f64>> = Vec::new();
    let mut run: Vec<Coord<f64>> = Vec::new();
    for id in way.refs.iter().map(Some).chain(std::iter::once(None)) {
        match id.and_then(|id| nodes.get(id)) {
            Some(c) if run.last() != Some(c) => run.push(*c),
            Some(_) => {}
            None => {
                if run.len() >= 2 {
                    parts.push(LineString::from(std::mem::take(&mut run)));
                }
                run.clear();
            }
        }
    }
    let geometry = match parts.len() {
        0 => {
            sink.skip(KindSet::of(LayerKind::Roads), SKIP_MISSING_NODES);
            return;
        }
        1 => Geometry::LineString(parts.remove(0)),
        _ => Geometry::MultiLineString(geo_types::MultiLineString(parts)),
    };
    let mut repairs = SkipReport::default();
    repairs.repair("road clipped at the extract's edge");
    let feature = Feature {
        source_id: way.id,
        geometry,
        attributes: way.attributes.clone(),
    };
    sink.push(LayerKind::Roads, feature, Some(&repairs));
}

/// Builds the sea from the coastline ways into the water layer (see
/// [`crate::twin::gis::coastline`]), within the extract's header box or, without one, the box
/// of the nodes read. A coastline way cut by the extract keeps its runs of nodes inside.
fn build_sea(coast: &[(i64, Vec<i64>)], nodes: &NodePass, header: Option<[f64; 4]>, sink: &mut Sink) {
    if coast.is_empty() {
        return;
    }
    let clip = header.or_else(|| {
        let mut it = nodes.coords.values().chain(nodes.pois.iter().map(|p| &p.at));
        let first = *it.next()?;
        Some(it.fold([first.x, first.y, first.x, first.y], |b, c| {
            [b[0].min(c.x), b[1].min(c.y), b[2].max(c.x), b[3].max(c.y)]
        }))
    });
    let Some([x0, y0, x1, y1]) = clip.filter(|b| b[0] < b[2] && b[1] < b[3]) else {
        return;
    };
    let mut ways = Vec::with_capacity(coast.len());
    for (id, refs) in coast {
        let mut run = Vec::new();
        for c in refs
            .iter()
            .map(|r| nodes.coords.get(r))
            .chain(std::iter::once(None))
        {
            match c {
                Some(c) => run.push(*c),
                None if !run.is_empty() => ways.push(CoastWay {
                    id: *id,
                    points: std::mem::take(&mut run),
                }),
                None => {}
            }
        }
    }
    let sea = sea_polygons(ways, geo_types::Rect::new((x0, y0), (x1, y1)));
    let i = kind_index(LayerKind::Water);
    sink.skipped[i].merge(&sea.report);
    let attributes: Attributes = SEA_TAGS
        .iter()
        .map(|&(k, v)| (k.to_string(), AttrValue::Text(v.to_string())))
        .collect();
    for p in sea.polygons {
        let feature = Feature {
            source_id: p.first_way.unwrap_or(0),
            geometry: Geometry::Polygon(p.polygon),
            attributes: attributes.clone(),
        };
        sink.push(LayerKind::Water, feature, None);
    }
}

/// Turns a relation into a (multi)polygon in each of its layers, or counts it as skipped.
fn build_relation(
    rel: &RelationRec,
    ways: &HashMap<i64, Vec<i64>>,
    nodes: &HashMap<i64, Coord<f64>>,
    sink: &mut Sink,
) {
    let mut repairs = SkipReport::default();
    match relation_geometry(rel, ways, nodes, &mut repairs) {
        Ok(geometry) => {
            for kind in rel.kinds.iter() {
                let feature = Feature {
                    source_id: rel.id.saturating_neg(),
                    geometry: geometry.clone(),
                    attributes: rel.attributes.clone(),
                };
                sink.push(kind, feature, Some(&repairs));
            }
        }
        Err(reason) => sink.skip(rel.kinds, reason),
    }
}

/// Joins a relation's member ways into rings and assembles them: a `Polygon` when there is
/// one, a `MultiPolygon` when several. Errors are skip reasons.
fn relation_geometry(
    rel: &RelationRec,
    ways: &HashMap<i64, Vec<i64>>,
    nodes: &HashMap<i64, Coord<f64>>,
    repairs: &mut SkipReport,
) -> Result<Geometry<f64>, &'static str> {
    if rel.members.is_empty() {
        return Err(SKIP_NO_MEMBER_WAYS);
    }
    let mut segments = Vec::with_capacity(rel.members.len());
    for &(way_id, role) in &rel.members {
        // A member way or node outside the extract leaves its ring open.
        let refs = ways.get(&way_id).ok_or(SKIP_UNCLOSED_RELATION)?;
        let coords = resolve(refs, nodes).ok_or(SKIP_UNCLOSED_RELATION)?;
        segments.push((coords, role));
    }
    let rings = join_by_role(segments).ok_or(SKIP_UNCLOSED_RELATION)?;
    let mut cleaned = Vec::with_capacity(rings.len());
    for (ring, role) in rings {
        cleaned.push((clean_ring(&ring, repairs)?, role));
    }
    let polygons = assemble(cleaned, repairs).ok_or(SKIP_NO_MEMBER_WAYS)?.0;
    Ok(match <[Polygon<f64>; 1]>::try_from(polygons) {
        Ok([polygon]) => Geometry::Polygon(polygon),
        Err(polygons) => Geometry::MultiPolygon(MultiPolygon(polygons)),
    })
}

/// Joins member ways into closed rings, within each role first; when that leaves open
/// segments (one ring drawn with mixed roles), joins all of them together with an unknown
/// role. `None` when some segments still cannot be closed.
fn join_by_role(segments: Vec<(Vec<Coord<f64>>, RingRole)>) -> Option<Vec<(Vec<Coord<f64>>, RingRole)>> {
    let mut rings = Vec::new();
    let mut all_closed = true;
    for role in [RingRole::Outer, RingRole::Inner, RingRole::Unknown] {
        let group: Vec<Vec<Coord<f64>>> = segments
            .iter()
            .filter(|(_, r)| *r == role)
            .map(|(s, _)| s.clone())
            .collect();
        if group.is_empty() {
            continue;
        }
        let (closed, open) = join_segments(group);
        if !open.is_empty() {
            all_closed = false;
            break;
        }
        rings.extend(closed.into_iter().map(|ring| (ring, role)));
    }
    if all_closed {
        return Some(rings);
    }
    let (closed, open) = join_segments(segments.into_iter().map(|(s, _)| s).collect());
    open.is_empty()
        .then(|| closed.into_iter().map(|ring| (ring, RingRole::Unknown)).collect())
}

/// Damage to the file's structure seen while scanning it, and the header's box.
#[derive(Debug, Default)]
struct FileDamage {
    /// Indices of blobs that could not be decoded.
    broken: BTreeSet<usize>,
    /// Whether a broken blob header ended the read early.
    unreadable_rest: bool,
    /// The box the header declares `[min_lon, min_lat, max_lon, max_lat]`, if any.
    bbox: Option<[f64; 4]>,
}

impl FileDamage {
    fn is_damaged(&self) -> bool {
        !self.broken.is_empty() || self.unreadable_rest
    }
}

/// A malformed-file error.
fn malformed(path: &Path, message: impl Into<String>) -> GisError {
    GisError::Malformed {
        path: path.to_path_buf(),
        format: FORMAT,
        feature: None,
        message: message.into(),
    }
}

/// One pass over the file: decodes each data blob and calls `visit` on its elements.
/// A blob that fails to decode is recorded in `damage` and skipped (also in later passes);
/// a broken blob header stops the pass. A failing first blob means the file is not PBF.
fn scan(path: &Path, damage: &mut FileDamage, mut visit: impl FnMut(Element<'_>)) -> Result<(), GisError> {
    let file = File::open(path).map_err(|e| GisError::io(path, e))?;
    let blobs = BlobReader::new(BufReader::new(file));
    let mut seen = 0usize;
    for (index, blob) in blobs.enumerate() {
        seen += 1;
        let blob = match blob {
            Ok(blob) => blob,
            Err(e) if index == 0 => {
                return Err(malformed(path, format!("not an OSM PBF file: {e}")));
            }
            Err(e) => {
                if let osmpbf::ErrorKind::Io(io) = e.into_kind()
                    && io.kind() != std::io::ErrorKind::UnexpectedEof
                {
                    return Err(GisError::io(path, io));
                }
                // The reader cannot find the next blob after a broken header: keep what was read.
                damage.unreadable_rest = true;
                break;
            }
        };
        if index == 0 && blob.get_type() != BlobType::OsmHeader {
            return Err(malformed(
                path,
                "not an OSM PBF file: it does not start with an OSMHeader block",
            ));
        }
        if damage.broken.contains(&index) {
            continue;
        }
        // osmpbf can panic on some corrupt blocks (unknown enum values, delta overflows):
        // such a block is counted as broken like one that fails to decode.
        let outcome = catch_unwind(AssertUnwindSafe(|| match blob.decode() {
            Ok(BlobDecode::OsmData(block)) => {
                for element in block.elements() {
                    visit(element);
                }
                Ok(None)
            }
            Ok(BlobDecode::OsmHeader(header)) => {
                Ok(header.bbox().map(|b| [b.left, b.bottom, b.right, b.top]))
            }
            Ok(BlobDecode::Unknown(_)) => Ok(None),
            Err(e) => Err(e.to_string()),
        }));
        match outcome {
            Ok(Ok(bbox)) => {
                if bbox.is_some() {
                    damage.bbox = bbox;
                }
            }
            Ok(Err(message)) if index == 0 => {
                return Err(malformed(path, format!("not an OSM PBF file: {message}")));
            }
            Err(_) if index == 0 => {
                return Err(malformed(
                    path,
                    "not an OSM PBF file: its header block is corrupt",
                ));
            }
            Ok(Err(_)) | Err(_) => {
                damage.broken.insert(index);
            }
        }
    }
    if seen == 0 {
        return Err(malformed(path, "empty file"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    use geo::{Area, BoundingRect};

    use crate::twin::testdata::data_dir;

    /// Path of an OSM file in the data folder, if the data is there.
    fn osm_file(name: &str) -> Option<PathBuf> {
        let path = data_dir()?.join("osm").join(name);
        assert!(path.is_file(), "missing test file {}", path.display());
        Some(path)
    }

    fn layer(layers: &[Layer], kind: LayerKind) -> &Layer {
        layers
            .iter()
            .find(|l| l.kind == kind)
            .unwrap_or_else(|| panic!("no {kind:?} layer"))
    }

    /// A unique temporary file path for one test.
    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("citytwin-osm-{}-{name}", std::process::id()))
    }

    /// Byte offsets of every blob of a PBF file, plus the file length at the end.
    fn blob_offsets(path: &Path, len: usize) -> Vec<usize> {
        let file = File::open(path).expect("open");
        let reader = BlobReader::new_seekable(BufReader::new(file)).expect("seekable");
        let mut offsets: Vec<usize> = reader
            .map(|b| b.expect("blob").offset().expect("offset").0 as usize)
            .collect();
        offsets.push(len);
        offsets
    }

    fn tags<'a>(pairs: &[(&'a str, &'a str)]) -> RawTags<'a> {
        pairs.to_vec()
    }

    #[test]
    fn roads_cut_by_the_extract_edge_keep_their_inside_parts() {
        let c = |x: f64| Coord { x, y: 0.0 };
        let nodes: HashMap<i64, Coord<f64>> =
            [(1, c(0.0)), (2, c(1.0)), (4, c(3.0)), (5, c(4.0)), (7, c(6.0))].into();
        let way = |refs: Vec<i64>| WayRec {
            id: 9,
            refs,
            attributes: Attributes::new(),
            kinds: KindSet::of(LayerKind::Roads),
        };
        let mut sink = Sink {
            features: Default::default(),
            skipped: Default::default(),
        };
        // 1-2 inside, 3 outside, 4-5 inside, 6 outside, 7 alone: two parts.
        build_way(&way(vec![1, 2, 3, 4, 5, 6, 7]), &nodes, &mut sink);
        // Nothing of two nodes inside: skipped.
        build_way(&way(vec![3, 7, 8]), &nodes, &mut sink);
        let roads = kind_index(LayerKind::Roads);
        assert_eq!(sink.features[roads].len(), 1);
        let Geometry::MultiLineString(m) = &sink.features[roads][0].geometry else {
            panic!("{:?}", sink.features[roads][0].geometry)
        };
        assert_eq!(m.0.len(), 2);
        assert_eq!(
            sink.skipped[roads].repaired["road clipped at the extract's edge"],
            1
        );
        assert_eq!(sink.skipped[roads].reasons[SKIP_MISSING_NODES], 1);
    }

    #[test]
    fn classifies_tags() {
        let b = area_kinds(&tags(&[("building", "yes"), ("amenity", "school")]));
        assert!(b.contains(LayerKind::Buildings) && !b.contains(LayerKind::Pois));
        assert!(area_kinds(&tags(&[("building", "no")])).is_empty());
        assert!(area_kinds(&tags(&[("building:part", "yes")])).contains(LayerKind::Buildings));
        assert_eq!(
            area_kinds(&tags(&[("landuse", "reservoir")])),
            KindSet::of(LayerKind::Water)
        );
        assert_eq!(
            area_kinds(&tags(&[("water", "pond")])),
            KindSet::of(LayerKind::Water)
        );
        assert_eq!(
            area_kinds(&tags(&[("landuse", "forest")])),
            KindSet::of(LayerKind::Green)
        );
        assert_eq!(
            area_kinds(&tags(&[("leisure", "park")])),
            KindSet::of(LayerKind::Green)
        );
        assert_eq!(
            area_kinds(&tags(&[("landuse", "residential")])),
            KindSet::of(LayerKind::Other)
        );
        assert!(area_kinds(&tags(&[("highway", "primary")])).is_empty());
        assert!(is_road(&tags(&[("highway", "primary"), ("oneway", "yes")])));
        assert!(!is_road(&tags(&[("highway", "pedestrian"), ("area", "yes")])));
        assert!(is_poi(&tags(&[("shop", "bakery")])));
        assert!(!is_poi(&tags(&[("name", "x")])));
        let admin = tags(&[("type", "boundary"), ("boundary", "administrative")]);
        assert_eq!(relation_kinds(&admin), KindSet::of(LayerKind::Zones));
        let mp = tags(&[("type", "multipolygon"), ("building", "yes")]);
        assert_eq!(relation_kinds(&mp), KindSet::of(LayerKind::Buildings));
        assert!(relation_kinds(&tags(&[("type", "route"), ("building", "yes")])).is_empty());
        assert_eq!(ring_role("inner"), Some(RingRole::Inner));
        assert_eq!(ring_role(""), Some(RingRole::Unknown));
        assert_eq!(ring_role("admin_centre"), None);
        assert_eq!(layer_name(LayerKind::Other), "landuse");
    }

    #[test]
    fn mixed_roles_along_one_ring_still_close() {
        let c = |x: f64, y: f64| Coord { x, y };
        let segments = vec![
            (vec![c(0., 0.), c(1., 0.), c(1., 1.)], RingRole::Outer),
            (vec![c(1., 1.), c(0., 1.), c(0., 0.)], RingRole::Unknown),
        ];
        let rings = join_by_role(segments).expect("closes");
        assert_eq!(rings.len(), 1);
        assert_eq!(rings[0].0.len(), 5);
        let open = vec![(vec![c(0., 0.), c(1., 0.)], RingRole::Outer)];
        assert!(join_by_role(open).is_none());
    }

    #[test]
    fn bad_files_are_errors_not_panics() {
        let missing = temp_path("missing.osm.pbf");
        assert!(matches!(read_osm(&missing), Err(GisError::Io { .. })));

        let text = temp_path("text.osm.pbf");
        std::fs::write(&text, "<?xml version='1.0'?><osm></osm>").expect("write");
        let r = read_osm(&text);
        assert!(
            matches!(
                r,
                Err(GisError::Malformed {
                    format: "osm.pbf",
                    ..
                })
            ),
            "{r:?}"
        );

        std::fs::write(&text, b"").expect("write");
        assert!(matches!(read_osm(&text), Err(GisError::Malformed { .. })));

        std::fs::write(&text, [0u8; 64]).expect("write");
        assert!(matches!(read_osm(&text), Err(GisError::Malformed { .. })));
        let _ = std::fs::remove_file(&text);
    }

    #[test]
    fn monaco_buildings_roads_and_quarters() {
        let Some(path) = osm_file("monaco-2016.osm.pbf") else {
            return;
        };
        let layers = read_osm(&path).expect("read monaco");
        for l in &layers {
            eprintln!(
                "monaco {}: {} features {:?}, skipped {:?}, repaired {:?}",
                l.name,
                l.features.len(),
                l.geometry_counts(),
                l.skipped.reasons,
                l.skipped.repaired
            );
            assert_eq!(l.crs, Crs::Epsg(4326));
            assert_eq!(l.format, LayerFormat::OsmPbf);
            assert_eq!(l.catalogue.meta.licence, "ODbL-1.0");
            assert_eq!(l.catalogue.meta.attribution, "© OpenStreetMap contributors");
            assert_eq!(l.catalogue.source_path, path);
            assert!(l.catalogue.source_modified.is_some());
            assert!(!l.features.is_empty() || l.skipped.total() > 0);
        }
        let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
        assert!(
            names.starts_with(&["buildings", "roads", "pois", "zones"]),
            "{names:?}"
        );

        let buildings = layer(&layers, LayerKind::Buildings);
        let from_ways = buildings.features.iter().filter(|f| f.source_id > 0).count();
        assert!(from_ways >= 23_000, "{from_ways} building ways");
        assert!(buildings.features.len() <= 23_500);
        assert!(
            buildings
                .features
                .iter()
                .all(|f| f.text("building").is_some() || f.text("building:part").is_some())
        );
        let [x0, y0, x1, y1] = buildings.bbox().expect("bbox");
        assert!(
            x0 > 7.0 && x1 < 8.0 && y0 > 43.5 && y1 < 44.0,
            "{:?}",
            [x0, y0, x1, y1]
        );

        let roads = layer(&layers, LayerKind::Roads);
        assert!(
            (2_850..=2_927).contains(&roads.features.len()),
            "{} roads",
            roads.features.len()
        );
        assert!(
            roads
                .features
                .iter()
                .all(|f| matches!(f.geometry, Geometry::LineString(_)))
        );
        assert!(roads.features.iter().all(|f| f.text("highway").is_some()));

        let pois = layer(&layers, LayerKind::Pois);
        assert!(pois.features.len() >= 400, "{} pois", pois.features.len());
        assert!(
            pois.features
                .iter()
                .all(|f| matches!(f.geometry, Geometry::Point(_)))
        );

        // The sea, built from the coastline: one polygon south of the shore, the two ends of
        // the cut coastline extended onto the extract's box, nothing left unclosed.
        let water = layer(&layers, LayerKind::Water);
        let sea: Vec<&Feature> = water
            .features
            .iter()
            .filter(|f| f.text("natural").as_deref() == Some("sea"))
            .collect();
        assert_eq!(sea.len(), 1, "{} sea polygons", sea.len());
        let r = sea[0].geometry.bounding_rect().expect("a box");
        assert!(
            r.min().y < 43.711 && r.max().y < 43.77 && r.min().x < 7.35 && r.max().x > 7.49,
            "{r:?}"
        );
        assert_eq!(
            water
                .skipped
                .repaired
                .get(crate::twin::gis::coastline::REPAIR_EXTENDED),
            Some(&2)
        );
        assert!(
            !water
                .skipped
                .reasons
                .contains_key(crate::twin::gis::coastline::SKIP_UNCLOSABLE)
        );

        let zones = layer(&layers, LayerKind::Zones);
        let quarters: Vec<&Feature> = zones
            .features
            .iter()
            .filter(|f| f.text("admin_level").as_deref() == Some("10"))
            .filter(|f| {
                f.geometry.bounding_rect().is_some_and(|r| {
                    r.min().x >= 7.40 && r.max().x <= 7.45 && r.min().y >= 43.72 && r.max().y <= 43.76
                })
            })
            .collect();
        eprintln!(
            "monaco quarters: {:?}",
            quarters.iter().map(|f| f.text("name")).collect::<Vec<_>>()
        );
        assert!(quarters.len() >= 9, "{} quarters", quarters.len());
        assert!(
            quarters
                .iter()
                .all(|f| f.source_id < 0 && f.geometry.unsigned_area() > 0.0)
        );
        // Boundaries cut by the extract are counted, not dropped silently.
        // 26 `type=boundary` administrative relations (the 27th of the data README is a
        // `type=multilinestring` border, not an area).
        let zone_count = zones.features.len() + zones.skipped.total();
        assert_eq!(zone_count, 26, "zones read or skipped");
        assert!(zones.features.len() >= 10, "{} zones", zones.features.len());
    }

    #[test]
    fn nyc_buildings_keep_heights() {
        let Some(path) = osm_file("nyc-west-village.osm.pbf") else {
            return;
        };
        let layers = read_osm(&path).expect("read nyc");
        for l in &layers {
            eprintln!(
                "nyc {}: {} features {:?}, skipped {:?}",
                l.name,
                l.features.len(),
                l.geometry_counts(),
                l.skipped.reasons
            );
        }
        let buildings = layer(&layers, LayerKind::Buildings);
        // 1,520 `building` ways, plus `building:part` ways and multipolygon relations.
        let n = buildings.features.len();
        let building_ways = buildings
            .features
            .iter()
            .filter(|f| f.source_id > 0 && f.text("building").is_some())
            .count();
        let parts = buildings
            .features
            .iter()
            .filter(|f| f.text("building").is_none())
            .count();
        let relations = buildings.features.iter().filter(|f| f.source_id < 0).count();
        eprintln!(
            "nyc buildings: {n} = {building_ways} building ways, {parts} parts only, {relations} relations"
        );
        assert!(
            (1_515..=1_520).contains(&building_ways),
            "{building_ways} building ways"
        );
        assert!((40..=50).contains(&parts), "{parts} building:part ways");
        assert!(n <= 1_600, "{n} buildings");
        let with_height = buildings
            .features
            .iter()
            .filter(|f| f.text("height").is_some())
            .count();
        eprintln!("nyc buildings with height: {with_height}");
        assert!(with_height >= 1_500, "{with_height} with height");
        assert!(
            buildings
                .features
                .iter()
                .all(|f| matches!(f.geometry, Geometry::Polygon(_) | Geometry::MultiPolygon(_)))
        );
        let roads = layer(&layers, LayerKind::Roads);
        assert!(
            (85..=95).contains(&roads.features.len()),
            "{} roads",
            roads.features.len()
        );
    }

    #[test]
    fn multipolygon_buildings_keep_their_holes() {
        let mut found = Vec::new();
        for name in ["liechtenstein.osm.pbf", "baltimore.osm.pbf"] {
            let Some(path) = osm_file(name) else {
                return;
            };
            let layers = read_osm(&path).expect("read");
            for l in &layers {
                eprintln!(
                    "{name} {}: {} features {:?}, skipped {:?}",
                    l.name,
                    l.features.len(),
                    l.geometry_counts(),
                    l.skipped.reasons
                );
            }
            let buildings = layer(&layers, LayerKind::Buildings);
            for f in buildings.features.iter().filter(|f| f.source_id < 0) {
                let polygons: Vec<&Polygon<f64>> = match &f.geometry {
                    Geometry::Polygon(p) => vec![p],
                    Geometry::MultiPolygon(mp) => mp.0.iter().collect(),
                    other => panic!("relation building is {other:?}"),
                };
                for p in polygons.into_iter().filter(|p| !p.interiors().is_empty()) {
                    let outer = Polygon::new(p.exterior().clone(), vec![]).unsigned_area();
                    assert!(p.unsigned_area() < outer, "hole does not cut the area");
                    assert!(p.interiors().iter().all(LineString::is_closed));
                    found.push((name, -f.source_id, p.interiors().len()));
                }
            }
        }
        eprintln!(
            "relation buildings with holes: {} e.g. {:?}",
            found.len(),
            found.first()
        );
        assert!(!found.is_empty(), "no multipolygon building with a hole");
    }

    #[test]
    fn damaged_files_are_counted_not_fatal() {
        // Liechtenstein has 21 blobs (header, 18 node blocks, ways, ways + relations).
        let Some(path) = osm_file("liechtenstein.osm.pbf") else {
            return;
        };
        let bytes = std::fs::read(&path).expect("read");
        let full = read_osm(&path).expect("read liechtenstein");
        let full_buildings = layer(&full, LayerKind::Buildings).features.len();
        let offsets = blob_offsets(&path, bytes.len());
        let blobs = offsets.len() - 1;
        assert!(blobs >= 4, "{blobs} blobs");
        let count = |layers: &[Layer], reason: &str| -> usize {
            let counts: Vec<usize> = layers
                .iter()
                .map(|l| l.skipped.reasons.get(reason).copied().unwrap_or(0))
                .collect();
            // File-level damage is counted alike in every layer.
            assert!(counts.windows(2).all(|w| w[0] == w[1]) || reason == SKIP_MISSING_NODES);
            counts.into_iter().max().unwrap_or(0)
        };
        let p = temp_path("damaged.osm.pbf");

        // One node block with corrupt compressed bytes: counted, the rest is read, and the
        // ways that needed its nodes are counted too.
        let k = blobs / 2;
        let mut corrupt = bytes.clone();
        let mid = offsets[k].midpoint(offsets[k + 1]);
        for (i, b) in corrupt[mid..(mid + 64).min(offsets[k + 1])]
            .iter_mut()
            .enumerate()
        {
            *b ^= 0x5a ^ (i as u8);
        }
        std::fs::write(&p, &corrupt).expect("write");
        let layers = read_osm(&p).expect("a broken block is not fatal");
        let buildings = layer(&layers, LayerKind::Buildings);
        let missing = buildings
            .skipped
            .reasons
            .get(SKIP_MISSING_NODES)
            .copied()
            .unwrap_or(0);
        eprintln!(
            "corrupt blob {k}/{blobs}: broken {}, buildings {} of {full_buildings}, {missing} with missing nodes",
            count(&layers, SKIP_BROKEN_BLOCK),
            buildings.features.len(),
        );
        assert_eq!(count(&layers, SKIP_BROKEN_BLOCK), 1);
        assert!(buildings.features.len() > full_buildings / 2);
        assert!(buildings.features.len() < full_buildings);
        assert!(missing > 0);

        // Valid blobs followed by garbage: what was read is kept, the rest is counted.
        let mut garbage = bytes[..offsets[blobs - 1]].to_vec();
        let mut x: u32 = 12345;
        garbage.extend((0..10_000).map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as u8
        }));
        std::fs::write(&p, &garbage).expect("write");
        let layers = read_osm(&p).expect("a garbage tail is not fatal");
        let b = layer(&layers, LayerKind::Buildings).features.len();
        eprintln!(
            "garbage tail: unreadable {}, broken {}, buildings {b}",
            count(&layers, SKIP_UNREADABLE_REST),
            count(&layers, SKIP_BROKEN_BLOCK)
        );
        assert_eq!(
            count(&layers, SKIP_UNREADABLE_REST) + count(&layers, SKIP_BROKEN_BLOCK),
            1
        );
        assert!(b > 0 && b < full_buildings);

        // Truncated at half its size, in the middle of a node block: the nodes read before
        // are kept (POIs), the cut is counted.
        std::fs::write(&p, &bytes[..bytes.len() / 2]).expect("write");
        match read_osm(&p) {
            Ok(layers) => {
                eprintln!(
                    "truncated: unreadable {}, layers {:?}",
                    count(&layers, SKIP_UNREADABLE_REST),
                    layers
                        .iter()
                        .map(|l| (&l.name, l.features.len()))
                        .collect::<Vec<_>>()
                );
                assert_eq!(
                    count(&layers, SKIP_UNREADABLE_REST) + count(&layers, SKIP_BROKEN_BLOCK),
                    1
                );
            }
            Err(e) => assert!(matches!(e, GisError::Malformed { .. }), "{e}"),
        }

        // Only the header blob survives: nothing readable is an error.
        let mut header_only = bytes[..offsets[1]].to_vec();
        header_only.extend_from_slice(&[0xff; 32]);
        std::fs::write(&p, &header_only).expect("write");
        assert!(matches!(read_osm(&p), Err(GisError::Malformed { .. })));
        let _ = std::fs::remove_file(&p);
    }
}
