//! CityJSON reader (versions 1.0, 1.1 and 2.0, and CityJSONSeq `.jsonl`): every building
//! and building part becomes a footprint feature (its ground surface, its height from the
//! highest roof point) and keeps its 3D surfaces (LoD1 solids, LoD2 roofs, walls and ground)
//! at the level of detail chosen, for [`crate::twin::solid`] to draw.
//!
//! Vertices are decoded with the file's `transform`; the CRS comes from
//! `metadata.referenceSystem` (or the scene's `crs` override). Anything that is not read
//! (other city object types, geometry templates, bad indices) is counted in the layer's
//! skip report, never dropped silently.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

use geo::{Area, ConvexHull};
use geo_types::{Coord, LineString, MultiPoint, MultiPolygon, Point, Polygon};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::twin::crs::Crs;
use crate::twin::error::GisError;
use crate::twin::gis::layer::{
    AttrValue, Attributes, CatalogueEntry, Feature, Layer, LayerFormat, LayerKind, SkipReport,
};
use crate::twin::solid::{BuildingSolid, LayerSolids, Surface, SurfaceKind};

const FORMAT: &str = "cityjson";

/// Bytes at the start of a `.json` file searched for `"CityJSON"` to tell it from GeoJSON.
pub const SNIFF_BYTES: usize = 4096;

/// Buildings lower than this (metres from ground to the highest roof point) have no
/// vertical extent (e.g. a LoD0 footprint): they are drawn extruded, with the height their
/// attributes give.
pub const MIN_SOLID_HEIGHT_M: f64 = 0.01;

/// Smallest downward component of a unit normal for a surface to count as a floor when a
/// geometry has no semantic ground surface (LoD1 solids often have none).
const FLOOR_MIN_DOWN: f64 = 0.9;

/// Attribute added to every feature: the city object's id.
pub const ID_ATTRIBUTE: &str = "cityjson_id";
/// Attribute added to every feature: the city object's type (`Building`, `BuildingPart`).
pub const TYPE_ATTRIBUTE: &str = "cityjson_type";
/// Attribute added to building parts: the id of the building they belong to.
pub const PARENT_ATTRIBUTE: &str = "cityjson_parent";
/// Attribute added to every feature: the level of detail read.
pub const LOD_ATTRIBUTE: &str = "lod";
/// Attribute added to every feature: its height in metres (highest roof point above the
/// ground surface, else `measuredHeight`), where the height options look first.
pub const HEIGHT_ATTRIBUTE: &str = "height";
/// CityJSON's attribute for a measured building height.
pub const MEASURED_HEIGHT: &str = "measuredHeight";

/// A CityJSON file read: the footprint layer and the surfaces of its buildings.
#[derive(Debug, Clone)]
pub struct CityJsonLayer {
    /// One feature per building or building part, footprints in the file's CRS.
    pub layer: Layer,
    /// The 3D surfaces, by feature source id (buildings with vertical extent only).
    pub solids: LayerSolids,
    /// The file's CityJSON version.
    pub version: String,
    /// Buildings read per level of detail chosen, e.g. `{"2.2": 4}`.
    pub lods: BTreeMap<String, usize>,
}

/// Whether a file is CityJSON: named `.city.json`, `.city.jsonl` or `.jsonl`, or a `.json`
/// file whose first [`SNIFF_BYTES`] say `"type": "CityJSON"`.
pub fn is_cityjson(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.ends_with(".city.json") || name.ends_with(".jsonl") {
        return true;
    }
    if !name.ends_with(".json") {
        return false;
    }
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    let read = std::fs::File::open(path).and_then(|f| f.take(SNIFF_BYTES as u64).read_to_end(&mut head));
    if read.is_err() {
        return false;
    }
    let text = String::from_utf8_lossy(&head);
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    squeezed.contains("\"type\":\"CityJSON\"")
}

/// Reads a CityJSON or CityJSONSeq file. `crs` overrides `metadata.referenceSystem`; `lod`
/// picks the level of detail (e.g. "2.2"; the nearest below, else above, where a building
/// lacks it), the highest available when `None`.
pub fn read_cityjson(
    path: &Path,
    kind: LayerKind,
    crs: Option<&Crs>,
    lod: Option<&str>,
) -> Result<CityJsonLayer, GisError> {
    let text = std::fs::read_to_string(path).map_err(|e| GisError::io(path, e))?;
    parse_cityjson(&text, path, kind, crs, lod)
}

#[derive(Debug, Clone, Copy, Deserialize)]
struct Transform {
    scale: [f64; 3],
    translate: [f64; 3],
}

#[derive(Debug, Default, Deserialize)]
struct Metadata {
    #[serde(rename = "referenceSystem")]
    reference_system: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Header {
    #[serde(rename = "type")]
    kind: String,
    version: Option<String>,
    transform: Option<Transform>,
    metadata: Option<Metadata>,
    #[serde(rename = "CityObjects", default)]
    city_objects: BTreeMap<String, Value>,
    #[serde(default)]
    vertices: Vec<[f64; 3]>,
}

#[derive(Debug, Deserialize)]
struct SeqFeature {
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "CityObjects", default)]
    city_objects: BTreeMap<String, Value>,
    #[serde(default)]
    vertices: Vec<[f64; 3]>,
}

#[derive(Debug, Deserialize)]
struct CityObject {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    attributes: Option<Map<String, Value>>,
    #[serde(default)]
    geometry: Vec<Value>,
    #[serde(default)]
    children: Vec<String>,
    #[serde(default)]
    parents: Vec<String>,
}

/// The EPSG code a `referenceSystem` names: `https://www.opengis.net/def/crs/EPSG/0/7415`
/// (1.1, 2.0) or `urn:ogc:def:crs:EPSG::7415` (1.0).
pub fn reference_system_epsg(s: &str) -> Option<u32> {
    if !s.to_ascii_uppercase().contains("EPSG") {
        return None;
    }
    s.trim().rsplit(['/', ':']).next()?.parse().ok()
}

/// A level of detail as text ("2.2"; 1.0 files write numbers).
fn lod_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => n.as_f64().map(crate::twin::gis::layer::format_number),
        _ => None,
    }
}

/// How many array levels lie above the surfaces in a geometry's boundaries; `None` for
/// types that have no surfaces.
fn surface_depth(kind: &str) -> Option<usize> {
    match kind {
        "MultiSurface" | "CompositeSurface" => Some(0),
        "Solid" => Some(1),
        "MultiSolid" | "CompositeSolid" => Some(2),
        _ => None,
    }
}

/// Where decoding runs: the vertices, their transform and the semantic surface types.
struct Decode<'a> {
    vertices: &'a [[f64; 3]],
    transform: Option<Transform>,
    kinds: Vec<SurfaceKind>,
}

impl Decode<'_> {
    fn vertex(&self, v: &Value) -> Result<[f64; 3], &'static str> {
        let i = v.as_u64().ok_or("vertex index is not a number")? as usize;
        let p = self.vertices.get(i).ok_or("vertex index out of range")?;
        Ok(match self.transform {
            Some(t) => [0, 1, 2].map(|k| p[k] * t.scale[k] + t.translate[k]),
            None => *p,
        })
    }

    /// Appends the surfaces of `b` (nested `depth` levels above them), with the semantic
    /// values `vals` mirroring its nesting.
    fn walk(
        &self,
        b: &Value,
        vals: Option<&Value>,
        depth: usize,
        out: &mut Vec<Surface>,
    ) -> Result<(), &'static str> {
        let items = b.as_array().ok_or("malformed boundaries")?;
        for (i, item) in items.iter().enumerate() {
            let val = vals.and_then(|v| v.get(i));
            if depth > 0 {
                self.walk(item, val, depth - 1, out)?;
                continue;
            }
            let kind = val
                .and_then(Value::as_u64)
                .and_then(|k| self.kinds.get(k as usize).copied())
                .unwrap_or(SurfaceKind::Other);
            let rings = item.as_array().ok_or("malformed surface")?;
            let mut decoded = Vec::with_capacity(rings.len());
            for r in rings {
                let r = r.as_array().ok_or("malformed ring")?;
                decoded.push(r.iter().map(|v| self.vertex(v)).collect::<Result<Vec<_>, _>>()?);
            }
            if !decoded.is_empty() {
                out.push(Surface { kind, rings: decoded });
            }
        }
        Ok(())
    }
}

/// The surfaces of one geometry object, absolute coordinates.
fn decode_geometry(
    g: &Value,
    vertices: &[[f64; 3]],
    transform: Option<Transform>,
) -> Result<Vec<Surface>, &'static str> {
    let kind = g.get("type").and_then(Value::as_str).unwrap_or_default();
    let depth = surface_depth(kind).ok_or("geometry has no surfaces")?;
    let sem = g.get("semantics");
    let kinds = sem
        .and_then(|s| s.get("surfaces"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|s| {
                    SurfaceKind::from_cityjson(s.get("type").and_then(Value::as_str).unwrap_or_default())
                })
                .collect()
        })
        .unwrap_or_default();
    let d = Decode {
        vertices,
        transform,
        kinds,
    };
    let mut out = Vec::new();
    d.walk(
        g.get("boundaries").ok_or("geometry without boundaries")?,
        sem.and_then(|s| s.get("values")),
        depth,
        &mut out,
    )?;
    Ok(out)
}

/// The geometry of the level of detail asked for among an object's geometries with
/// surfaces: exactly `want`, else the highest below it, else the lowest above; the highest
/// of all without `want`. Returns its index and level.
fn choose_lod(geoms: &[Value], want: Option<f64>) -> Option<(usize, String)> {
    let mut cands: Vec<(usize, f64, String)> = geoms
        .iter()
        .enumerate()
        .filter(|(_, g)| surface_depth(g.get("type").and_then(Value::as_str).unwrap_or_default()).is_some())
        .filter_map(|(i, g)| {
            let t = lod_text(g.get("lod"))?;
            Some((i, t.parse::<f64>().ok()?, t))
        })
        .collect();
    // Stable: among equal levels, the first geometry wins.
    cands.sort_by(|a, b| a.1.total_cmp(&b.1));
    let pick = match want {
        None => {
            let top = cands.last()?.1;
            cands.iter().find(|c| c.1 == top)
        }
        Some(w) => cands
            .iter()
            .find(|c| (c.1 - w).abs() < 1e-9)
            .or_else(|| cands.iter().rev().find(|c| c.1 < w))
            .or_else(|| cands.iter().find(|c| c.1 > w)),
    }?;
    Some((pick.0, pick.2.clone()))
}

/// Newell's normal of a ring, normalised; `None` when the ring has no area.
fn unit_normal(ring: &[[f64; 3]]) -> Option<[f64; 3]> {
    let mut n = [0.0; 3];
    for (i, a) in ring.iter().enumerate() {
        let b = ring[(i + 1) % ring.len()];
        n[0] += (a[1] - b[1]) * (a[2] + b[2]);
        n[1] += (a[2] - b[2]) * (a[0] + b[0]);
        n[2] += (a[0] - b[0]) * (a[1] + b[1]);
    }
    let l = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    (l > 0.0 && l.is_finite()).then(|| n.map(|v| v / l))
}

/// A surface's rings seen from above, as a polygon (closed rings).
fn plan_polygon(s: &Surface) -> Option<Polygon<f64>> {
    let ring = |r: &Vec<[f64; 3]>| {
        LineString::from(r.iter().map(|p| Coord { x: p[0], y: p[1] }).collect::<Vec<_>>())
    };
    let mut rings = s.rings.iter().map(ring);
    let p = Polygon::new(rings.next()?, rings.collect());
    (p.unsigned_area() > 0.0).then_some(p)
}

/// What one building object becomes: its feature and, with vertical extent, its solid.
struct Built {
    footprint: MultiPolygon<f64>,
    solid: Option<BuildingSolid>,
    height_m: Option<f64>,
    repaired: Vec<&'static str>,
}

/// Footprint, ground, height and relative surfaces of one building's decoded surfaces.
fn build(mut surfaces: Vec<Surface>, lod: String) -> Result<Built, &'static str> {
    let points = || surfaces.iter().flat_map(|s| s.rings.iter().flatten());
    if points().next().is_none() {
        return Err("geometry without points");
    }
    if points().any(|p| !p.iter().all(|v| v.is_finite())) {
        return Err("non-finite coordinate");
    }
    let mut repaired = Vec::new();
    // The ground: semantic ground surfaces, else faces pointing down.
    let mut ground: Vec<&Surface> = surfaces
        .iter()
        .filter(|s| s.kind == SurfaceKind::Ground)
        .collect();
    if ground.is_empty() {
        ground = surfaces
            .iter()
            .filter(|s| {
                s.rings
                    .first()
                    .and_then(|r| unit_normal(r))
                    .is_some_and(|n| n[2] <= -FLOOR_MIN_DOWN)
            })
            .collect();
    }
    let mut footprint = MultiPolygon(ground.iter().filter_map(|s| plan_polygon(s)).collect());
    if footprint.0.is_empty() {
        let hull = MultiPoint(points().map(|p| Point::new(p[0], p[1])).collect()).convex_hull();
        if hull.unsigned_area() == 0.0 {
            return Err("footprint has no area");
        }
        repaired.push("footprint from the outline of the surfaces (no ground surface)");
        footprint = MultiPolygon(vec![hull]);
    }
    let lowest = |it: &mut dyn Iterator<Item = &[f64; 3]>| it.map(|p| p[2]).fold(f64::INFINITY, f64::min);
    let ground_z = if ground.is_empty() {
        lowest(&mut points())
    } else {
        lowest(&mut ground.iter().flat_map(|s| s.rings.iter().flatten()))
    };
    let roofs = surfaces.iter().filter(|s| s.kind == SurfaceKind::Roof);
    let top_roof = roofs
        .flat_map(|s| s.rings.iter().flatten())
        .map(|p| p[2])
        .fold(f64::NEG_INFINITY, f64::max);
    let top = if top_roof.is_finite() {
        top_roof
    } else {
        points().map(|p| p[2]).fold(f64::NEG_INFINITY, f64::max)
    };
    let height = top - ground_z;
    if height.is_nan() || height < MIN_SOLID_HEIGHT_M {
        repaired.push("no vertical extent: drawn extruded with the height of its attributes");
        return Ok(Built {
            footprint,
            solid: None,
            height_m: None,
            repaired,
        });
    }
    for p in surfaces.iter_mut().flat_map(|s| s.rings.iter_mut().flatten()) {
        p[2] -= ground_z;
    }
    Ok(Built {
        footprint,
        solid: Some(BuildingSolid {
            surfaces,
            height_m: height,
            ground_z,
            lod,
        }),
        height_m: Some(height),
        repaired,
    })
}

/// CityJSON attributes as typed attributes (nested values as JSON text).
fn convert_attributes(map: &Map<String, Value>, out: &mut Attributes) {
    for (k, v) in map {
        let a = match v {
            Value::Null => continue,
            Value::String(s) if s.trim().is_empty() => continue,
            Value::String(s) => AttrValue::Text(s.clone()),
            Value::Number(n) => match n.as_f64() {
                Some(f) => AttrValue::Number(f),
                None => continue,
            },
            Value::Bool(b) => AttrValue::Bool(*b),
            other => AttrValue::Text(other.to_string()),
        };
        out.insert(k.clone(), a);
    }
}

/// Accumulates features and solids over one file (or all lines of a sequence).
struct Reader {
    want: Option<f64>,
    features: Vec<Feature>,
    solids: LayerSolids,
    skipped: SkipReport,
    lods: BTreeMap<String, usize>,
    next_id: i64,
}

impl Reader {
    /// Reads the buildings among one set of city objects sharing `vertices`.
    fn objects(
        &mut self,
        objects: &BTreeMap<String, Value>,
        vertices: &[[f64; 3]],
        transform: Option<Transform>,
    ) {
        let mut parsed: HashMap<&str, CityObject> = HashMap::with_capacity(objects.len());
        let mut order: Vec<&str> = Vec::with_capacity(objects.len());
        for (id, v) in objects {
            match CityObject::deserialize(v) {
                Ok(o) => {
                    parsed.insert(id, o);
                    order.push(id);
                }
                Err(_) => {
                    self.next_id += 1;
                    self.skipped.skip("malformed city object");
                }
            }
        }
        let is_building = |o: &CityObject| matches!(o.kind.as_str(), "Building" | "BuildingPart");
        let usable = |o: &CityObject| choose_lod(&o.geometry, None).is_some();
        for id in order {
            let source_id = self.next_id;
            self.next_id += 1;
            let o = &parsed[id];
            if !is_building(o) {
                self.skipped.skip(format!("{} is not a building", o.kind));
                continue;
            }
            let Some((gi, lod)) = choose_lod(&o.geometry, self.want) else {
                // A building drawn by its parts is not lost: its attributes go with them.
                let parts_drawn = o.children.iter().any(|c| {
                    parsed
                        .get(c.as_str())
                        .is_some_and(|p| is_building(p) && usable(p))
                });
                if !parts_drawn {
                    let templated = o
                        .geometry
                        .iter()
                        .any(|g| g.get("type").and_then(Value::as_str) == Some("GeometryInstance"));
                    self.skipped.skip(if templated {
                        "building with only a geometry template instance (not read)"
                    } else {
                        "building without surfaces"
                    });
                }
                continue;
            };
            if let Some(w) = self.want
                && lod.parse::<f64>().is_ok_and(|l| (l - w).abs() >= 1e-9)
            {
                self.skipped.repair(format!("LoD {w} missing: LoD {lod} read"));
            }
            let built =
                decode_geometry(&o.geometry[gi], vertices, transform).and_then(|s| build(s, lod.clone()));
            let built = match built {
                Ok(b) => b,
                Err(reason) => {
                    self.skipped.skip(reason);
                    continue;
                }
            };
            built.repaired.iter().for_each(|r| self.skipped.repair(*r));
            // Attributes: the parent's where the part has none of its own, then its own.
            let mut attributes = Attributes::new();
            let parent = o.parents.first();
            if let Some(p) = parent.and_then(|p| parsed.get(p.as_str()))
                && let Some(a) = &p.attributes
            {
                convert_attributes(a, &mut attributes);
            }
            if let Some(a) = &o.attributes {
                convert_attributes(a, &mut attributes);
            }
            attributes.insert(ID_ATTRIBUTE.into(), AttrValue::Text(id.to_string()));
            attributes.insert(TYPE_ATTRIBUTE.into(), AttrValue::Text(o.kind.clone()));
            if let Some(p) = parent {
                attributes.insert(PARENT_ATTRIBUTE.into(), AttrValue::Text(p.clone()));
            }
            attributes.insert(LOD_ATTRIBUTE.into(), AttrValue::Text(lod.clone()));
            let height = built
                .height_m
                .or_else(|| attributes.get(MEASURED_HEIGHT).and_then(AttrValue::as_number));
            if let Some(h) = height {
                attributes.insert(HEIGHT_ATTRIBUTE.into(), AttrValue::Number(h));
            }
            *self.lods.entry(lod).or_default() += 1;
            if let Some(s) = built.solid {
                self.solids.insert(source_id, s);
            }
            self.features.push(Feature {
                source_id,
                geometry: geo_types::Geometry::MultiPolygon(built.footprint),
                attributes,
            });
        }
    }
}

/// [`read_cityjson`] on text already read; `path` names the file in errors.
pub fn parse_cityjson(
    text: &str,
    path: &Path,
    kind: LayerKind,
    crs: Option<&Crs>,
    lod: Option<&str>,
) -> Result<CityJsonLayer, GisError> {
    let malformed = |feature: Option<usize>, message: String| GisError::Malformed {
        path: path.to_path_buf(),
        format: FORMAT,
        feature,
        message,
    };
    let want = match lod {
        None => None,
        Some(l) => Some(
            l.trim()
                .parse::<f64>()
                .map_err(|_| malformed(None, format!("lod '{l}' is not a level of detail like \"2.2\"")))?,
        ),
    };
    // A sequence: a first line that is a whole CityJSON object, then one feature a line.
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let first = lines.next().map(|(_, l)| l).unwrap_or_default();
    let seq_header = serde_json::from_str::<Header>(first)
        .ok()
        .filter(|h| h.kind == "CityJSON");
    let is_seq = seq_header.is_some() && lines.clone().next().is_some();
    let header = match seq_header.filter(|_| is_seq) {
        Some(h) => h,
        None => serde_json::from_str::<Header>(text).map_err(|e| malformed(None, e.to_string()))?,
    };
    if header.kind != "CityJSON" {
        return Err(malformed(
            None,
            format!("type is '{}', not 'CityJSON'", header.kind),
        ));
    }
    let version = header.version.clone().unwrap_or_default();
    if !(version.starts_with("1.") || version.starts_with("2.")) {
        return Err(malformed(
            None,
            format!("version '{version}' is not one citytwin reads (1.0, 1.1, 2.0)"),
        ));
    }
    let layer_crs = match crs {
        Some(c) => c.clone(),
        None => {
            let rs = header.metadata.as_ref().and_then(|m| m.reference_system.clone());
            let code = rs.as_deref().and_then(reference_system_epsg);
            match (rs, code) {
                (_, Some(n)) => Crs::Epsg(n),
                (Some(rs), None) => {
                    return Err(GisError::Crs {
                        path: path.to_path_buf(),
                        message: format!(
                            "metadata.referenceSystem '{rs}' names no EPSG code; set the layer's crs in the scene"
                        ),
                    });
                }
                (None, None) => {
                    return Err(GisError::Crs {
                        path: path.to_path_buf(),
                        message:
                            "no metadata.referenceSystem; set the layer's crs in the scene (crs: \"EPSG:n\")"
                                .into(),
                    });
                }
            }
        }
    };
    let mut reader = Reader {
        want,
        features: Vec::new(),
        solids: LayerSolids::new(),
        skipped: SkipReport::default(),
        lods: BTreeMap::new(),
        next_id: 0,
    };
    reader.objects(&header.city_objects, &header.vertices, header.transform);
    if is_seq {
        for (i, line) in lines {
            match serde_json::from_str::<SeqFeature>(line) {
                Ok(f) if f.kind == "CityJSONFeature" => {
                    reader.objects(&f.city_objects, &f.vertices, header.transform)
                }
                Ok(f) => reader
                    .skipped
                    .skip(format!("line {}: {} is not a CityJSONFeature", i + 1, f.kind)),
                Err(_) => reader.skipped.skip("malformed CityJSONFeature line"),
            }
        }
    }
    Ok(CityJsonLayer {
        layer: Layer {
            name: path
                .file_name()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default(),
            format: LayerFormat::CityJson,
            kind,
            crs: layer_crs,
            features: reader.features,
            skipped: reader.skipped,
            catalogue: CatalogueEntry::for_file(path),
        },
        solids: reader.solids,
        version,
        lods: reader.lods,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::BoundingRect;

    /// A CityJSON 1.1 file written after the specification's examples (not real data): a
    /// building with a LoD1 solid and a LoD2 solid (gable roof, semantics), a building of
    /// two parts, a terrain, a tree by template, and a building with a bad vertex index.
    /// Vertices are integers decoded with `transform`.
    const SPEC_LIKE_1_1: &str = r#"{
      "type": "CityJSON", "version": "1.1",
      "transform": {"scale": [0.01, 0.01, 0.01], "translate": [85000.0, 446000.0, -1.0]},
      "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/7415"},
      "CityObjects": {
        "house": {"type": "Building", "attributes": {"measuredHeight": 8.0, "name": "House"},
          "geometry": [
            {"type": "Solid", "lod": "1", "boundaries": [[
              [[0,3,2,1]], [[4,5,6,7]], [[0,1,5,4]], [[1,2,6,5]], [[2,3,7,6]], [[3,0,4,7]]]]},
            {"type": "Solid", "lod": "2.2", "boundaries": [[
              [[0,3,2,1]], [[0,1,5,4]], [[1,2,6,9,5]], [[2,3,7,6]], [[3,0,4,8,7]],
              [[4,5,9,8]], [[6,7,8,9]]]],
             "semantics": {"surfaces": [{"type": "GroundSurface"}, {"type": "WallSurface"},
                                        {"type": "RoofSurface"}],
                           "values": [[0, 1, 1, 1, 1, 2, 2]]}}]},
        "twin": {"type": "Building", "attributes": {"measuredHeight": 4.0, "function": "shop"},
                 "children": ["twin-a", "twin-b"]},
        "twin-a": {"type": "BuildingPart", "parents": ["twin"],
          "geometry": [{"type": "MultiSurface", "lod": "2", "boundaries": [
              [[10,13,12,11]], [[14,15,16,17]], [[10,11,15,14]], [[11,12,16,15]], [[12,13,17,16]], [[13,10,14,17]]],
            "semantics": {"surfaces": [{"type": "GroundSurface"}, {"type": "RoofSurface"}, {"type": "WallSurface"}],
                          "values": [0, 1, 2, 2, 2, 2]}}]},
        "twin-b": {"type": "BuildingPart", "parents": ["twin"], "attributes": {"function": "office"},
          "geometry": [{"type": "CompositeSolid", "lod": "1.2", "boundaries": [[[
              [[18,21,20,19]], [[22,23,24,25]], [[18,19,23,22]], [[19,20,24,23]], [[20,21,25,24]], [[21,18,22,25]]]]]}]},
        "ground": {"type": "TINRelief", "geometry": [{"type": "CompositeSurface", "lod": "1", "boundaries": [[[0,1,2]]]}]},
        "tree": {"type": "SolitaryVegetationObject", "geometry": [{"type": "GeometryInstance", "template": 0,
                  "boundaries": [0], "transformationMatrix": [1,0,0,0,0,1,0,0,0,0,1,0,0,0,0,1]}]},
        "broken": {"type": "Building", "geometry": [{"type": "Solid", "lod": "1", "boundaries": [[[[0,1,999]]]]}]}
      },
      "vertices": [
        [0,0,100], [1000,0,100], [1000,600,100], [0,600,100],
        [0,0,500], [1000,0,500], [1000,600,500], [0,600,500],
        [0,300,800], [1000,300,800],
        [2000,0,100], [2400,0,100], [2400,400,100], [2000,400,100],
        [2000,0,500], [2400,0,500], [2400,400,500], [2000,400,500],
        [2400,0,100], [2800,0,100], [2800,400,100], [2400,400,100],
        [2400,0,700], [2800,0,700], [2800,400,700], [2400,400,700]
      ]
    }"#;

    fn parse(text: &str, lod: Option<&str>) -> CityJsonLayer {
        parse_cityjson(text, Path::new("t.city.json"), LayerKind::Buildings, None, lod).unwrap()
    }

    fn by_id<'a>(c: &'a CityJsonLayer, id: &str) -> &'a Feature {
        c.layer
            .features
            .iter()
            .find(|f| f.text(ID_ATTRIBUTE).as_deref() == Some(id))
            .unwrap_or_else(|| panic!("{id} read"))
    }

    #[test]
    fn a_1_1_file_gives_buildings_parts_heights_and_surfaces() {
        let c = parse(SPEC_LIKE_1_1, None);
        assert_eq!(c.version, "1.1");
        assert_eq!(c.layer.crs, Crs::Epsg(7415));
        assert_eq!(c.layer.format, LayerFormat::CityJson);
        // The house and both parts of the twin; the twin itself is drawn by its parts.
        assert_eq!(c.layer.features.len(), 3);
        assert_eq!(c.solids.len(), 3);
        let mut lods: Vec<(&str, usize)> = c.lods.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        lods.sort();
        assert_eq!(lods, vec![("1.2", 1), ("2", 1), ("2.2", 1)]);
        // Terrain and tree are not buildings; the broken building is counted.
        let r = &c.layer.skipped.reasons;
        assert_eq!(r["TINRelief is not a building"], 1);
        assert_eq!(r["SolitaryVegetationObject is not a building"], 1);
        assert_eq!(r["vertex index out of range"], 1);
        assert_eq!(c.layer.skipped.total(), 3);

        let house = by_id(&c, "house");
        // Decoded with the transform: x 85000..85010, y 446000..446006, ground z 0 m.
        let b = house.geometry.bounding_rect().unwrap();
        assert_eq!(
            (b.min().x, b.min().y, b.max().x, b.max().y),
            (85000.0, 446000.0, 85010.0, 446006.0)
        );
        let solid = &c.solids[&house.source_id];
        assert_eq!(solid.lod, "2.2");
        // Ridge at 7 m above the ground at 0 (absolute z −1 + 1 = 0 and −1 + 8 = 7).
        assert!((solid.height_m - 7.0).abs() < 1e-9, "{}", solid.height_m);
        assert!(solid.ground_z.abs() < 1e-9);
        assert_eq!(
            house.attributes[HEIGHT_ATTRIBUTE],
            AttrValue::Number(solid.height_m)
        );
        assert_eq!(house.attributes[MEASURED_HEIGHT], AttrValue::Number(8.0));
        assert_eq!(house.text("name").as_deref(), Some("House"));
        assert_eq!(solid.count(SurfaceKind::Roof), 2);
        assert_eq!(solid.count(SurfaceKind::Wall), 4);
        assert_eq!(solid.count(SurfaceKind::Ground), 1);
        // Footprint from the ground surface: 10 × 6 m.
        let area = match &house.geometry {
            geo_types::Geometry::MultiPolygon(mp) => mp.unsigned_area(),
            g => panic!("{g:?}"),
        };
        assert!((area - 60.0).abs() < 1e-9);

        // Parts inherit the building's attributes where they have none of their own.
        let a = by_id(&c, "twin-a");
        assert_eq!(a.text(PARENT_ATTRIBUTE).as_deref(), Some("twin"));
        assert_eq!(a.text("function").as_deref(), Some("shop"));
        assert_eq!(a.text(TYPE_ATTRIBUTE).as_deref(), Some("BuildingPart"));
        let bpart = by_id(&c, "twin-b");
        assert_eq!(bpart.text("function").as_deref(), Some("office"));
        // A LoD1.2 solid without semantics: ground found facing down, height 6 m.
        let sb = &c.solids[&bpart.source_id];
        assert!((sb.height_m - 6.0).abs() < 1e-9);
        assert_eq!(sb.count(SurfaceKind::Other), 6);
        let fb = match &bpart.geometry {
            geo_types::Geometry::MultiPolygon(mp) => mp.unsigned_area(),
            g => panic!("{g:?}"),
        };
        assert!((fb - 16.0).abs() < 1e-9);
    }

    #[test]
    fn the_lod_asked_for_is_read_or_the_nearest_below() {
        let c = parse(SPEC_LIKE_1_1, Some("1"));
        let house = by_id(&c, "house");
        let s = &c.solids[&house.source_id];
        assert_eq!(s.lod, "1");
        assert!((s.height_m - 4.0).abs() < 1e-9, "flat LoD1 top at 4 m");
        assert_eq!(house.text(LOD_ATTRIBUTE).as_deref(), Some("1"));
        // Parts lack LoD1: twin-a has only LoD2 (the lowest above), twin-b LoD1.2.
        assert_eq!(c.solids[&by_id(&c, "twin-a").source_id].lod, "2");
        assert_eq!(c.layer.skipped.repaired["LoD 1 missing: LoD 2 read"], 1);
        let c = parse(SPEC_LIKE_1_1, Some("2"));
        assert_eq!(c.solids[&by_id(&c, "house").source_id].lod, "1");
        assert!(
            parse_cityjson(
                SPEC_LIKE_1_1,
                Path::new("t.json"),
                LayerKind::Buildings,
                None,
                Some("two")
            )
            .is_err()
        );
    }

    #[test]
    fn a_1_0_file_with_numeric_lods_and_plain_vertices_reads() {
        let text = r#"{"type": "CityJSON", "version": "1.0",
          "metadata": {"referenceSystem": "urn:ogc:def:crs:EPSG::28992"},
          "CityObjects": {"b": {"type": "Building", "geometry": [{"type": "MultiSurface", "lod": 2,
            "boundaries": [[[0,3,2,1]], [[4,5,6,7]], [[0,1,5,4]], [[1,2,6,5]], [[2,3,7,6]], [[3,0,4,7]]]}]}},
          "vertices": [[0.5,0.5,2.0],[4.5,0.5,2.0],[4.5,3.5,2.0],[0.5,3.5,2.0],
                       [0.5,0.5,5.5],[4.5,0.5,5.5],[4.5,3.5,5.5],[0.5,3.5,5.5]]}"#;
        let c = parse(text, None);
        assert_eq!(c.layer.crs, Crs::Epsg(28992));
        let f = &c.layer.features[0];
        let s = &c.solids[&f.source_id];
        assert_eq!(s.lod, "2");
        assert!((s.height_m - 3.5).abs() < 1e-9);
        assert!((s.ground_z - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_sequence_reads_every_feature_with_the_header_transform() {
        let header = r#"{"type":"CityJSON","version":"2.0","CityObjects":{},"vertices":[],"transform":{"scale":[0.5,0.5,0.5],"translate":[1000.0,2000.0,0.0]},"metadata":{"referenceSystem":"https://www.opengis.net/def/crs/EPSG/0/3067"}}"#;
        let feature = |id: &str, h: i64| {
            format!(
                r#"{{"type":"CityJSONFeature","id":"{id}","CityObjects":{{"{id}":{{"type":"Building","geometry":[{{"type":"Solid","lod":"1.2","boundaries":[[[[0,3,2,1]],[[4,5,6,7]],[[0,1,5,4]],[[1,2,6,5]],[[2,3,7,6]],[[3,0,4,7]]]]}}]}}}},"vertices":[[0,0,0],[8,0,0],[8,8,0],[0,8,0],[0,0,{h}],[8,0,{h}],[8,8,{h}],[0,8,{h}]]}}"#
            )
        };
        let text = format!("{header}\n{}\n{}\nnot json\n", feature("a", 10), feature("b", 20));
        let c = parse_cityjson(&text, Path::new("t.city.jsonl"), LayerKind::Buildings, None, None).unwrap();
        assert_eq!(c.layer.crs, Crs::Epsg(3067));
        assert_eq!(c.layer.features.len(), 2);
        let h: Vec<f64> = c
            .layer
            .features
            .iter()
            .map(|f| c.solids[&f.source_id].height_m)
            .collect();
        assert_eq!(h, vec![5.0, 10.0]);
        let b = c.layer.bbox().unwrap();
        assert_eq!(b, [1000.0, 2000.0, 1004.0, 2004.0]);
        assert_eq!(c.layer.skipped.reasons["malformed CityJSONFeature line"], 1);
    }

    #[test]
    fn files_without_a_crs_or_of_another_kind_are_errors_that_name_the_file() {
        let no_crs = r#"{"type":"CityJSON","version":"2.0","CityObjects":{},"vertices":[]}"#;
        let e =
            parse_cityjson(no_crs, Path::new("x.city.json"), LayerKind::Buildings, None, None).unwrap_err();
        assert!(
            e.to_string().contains("x.city.json") && e.to_string().contains("crs"),
            "{e}"
        );
        // The scene's override serves instead.
        let c = parse_cityjson(
            no_crs,
            Path::new("x.city.json"),
            LayerKind::Buildings,
            Some(&Crs::Epsg(3879)),
            None,
        )
        .unwrap();
        assert_eq!(c.layer.crs, Crs::Epsg(3879));
        let old = r#"{"type":"CityJSON","version":"0.9","CityObjects":{},"vertices":[]}"#;
        assert!(
            parse_cityjson(
                old,
                Path::new("o.json"),
                LayerKind::Buildings,
                Some(&Crs::Epsg(1)),
                None
            )
            .is_err()
        );
        let geojson = r#"{"type":"FeatureCollection","features":[]}"#;
        assert!(parse_cityjson(geojson, Path::new("g.json"), LayerKind::Buildings, None, None).is_err());
        assert!(parse_cityjson("{", Path::new("g.json"), LayerKind::Buildings, None, None).is_err());
    }

    #[test]
    fn reference_systems_and_file_names_are_recognised() {
        assert_eq!(
            reference_system_epsg("https://www.opengis.net/def/crs/EPSG/0/7415"),
            Some(7415)
        );
        assert_eq!(reference_system_epsg("urn:ogc:def:crs:EPSG::2056"), Some(2056));
        assert_eq!(reference_system_epsg("urn:ogc:def:crs:OGC::CRS84"), None);
        assert!(is_cityjson(Path::new("a.city.json")));
        assert!(is_cityjson(Path::new("tile.city.jsonl")));
        assert!(!is_cityjson(Path::new("pois.geojson")));
        let dir = std::env::temp_dir().join(format!("citytwin-cj-sniff-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("model.json"),
            "{\n  \"type\" : \"CityJSON\", \"version\": \"2.0\"}",
        )
        .unwrap();
        std::fs::write(
            dir.join("pois.json"),
            r#"{"type":"FeatureCollection","features":[]}"#,
        )
        .unwrap();
        assert!(is_cityjson(&dir.join("model.json")));
        assert!(!is_cityjson(&dir.join("pois.json")));
        assert_eq!(
            LayerFormat::from_path(&dir.join("model.json")),
            Some(LayerFormat::CityJson)
        );
        assert_eq!(
            LayerFormat::from_path(&dir.join("pois.json")),
            Some(LayerFormat::GeoJson)
        );
    }

    /// An independent reading of CityJSON files in Python (only its `json` module): per
    /// building or part with surfaces, at its highest level of detail, the height (highest
    /// roof point less lowest ground point), the ground surfaces' area (shoelace) and
    /// their extent; and each file's version and reference system.
    const PYTHON_READER: &str = r#"
import json, sys
out = []
depth = {"MultiSurface": 0, "CompositeSurface": 0, "Solid": 1, "MultiSolid": 2, "CompositeSolid": 2}
def surfaces(b, vals, d, kinds, acc):
    for i, item in enumerate(b):
        v = vals[i] if isinstance(vals, list) and i < len(vals) else None
        if d > 0:
            surfaces(item, v, d - 1, kinds, acc)
        else:
            acc.append((kinds[v] if isinstance(v, int) else None, item))
def shoelace(r):
    r = [(p[0] - r[0][0], p[1] - r[0][1]) for p in r]  # about the first point: exact enough
    return sum(r[i][0] * r[(i + 1) % len(r)][1] - r[(i + 1) % len(r)][0] * r[i][1] for i in range(len(r))) / 2
for fn in sys.argv[1:]:
    text = open(fn).read()
    lines = [l for l in text.splitlines() if l.strip()]
    if fn.endswith(".jsonl"):
        hdr = json.loads(lines[0])
        groups = [(hdr["CityObjects"], hdr["vertices"])] + [
            (f["CityObjects"], f["vertices"]) for f in map(json.loads, lines[1:])]
    else:
        hdr = json.loads(text)
        groups = [(hdr["CityObjects"], hdr["vertices"])]
    t = hdr["transform"]
    res = {"version": hdr["version"], "crs": hdr.get("metadata", {}).get("referenceSystem"), "buildings": {}}
    for objs, verts in groups:
        V = [[v[k] * t["scale"][k] + t["translate"][k] for k in range(3)] for v in verts]
        for oid, o in objs.items():
            if o["type"] not in ("Building", "BuildingPart"):
                continue
            gs = [g for g in o.get("geometry", []) if g["type"] in depth]
            if not gs:
                continue
            g = max(gs, key=lambda g: float(g["lod"]))
            kinds = [s["type"] for s in g["semantics"]["surfaces"]]
            acc = []
            surfaces(g["boundaries"], g["semantics"]["values"], depth[g["type"]], kinds, acc)
            ground = [[[V[i] for i in ring] for ring in s] for k, s in acc if k == "GroundSurface"]
            roof = [V[i] for k, s in acc if k == "RoofSurface" for ring in s for i in ring]
            gz = min(p[2] for s in ground for ring in s for p in ring)
            area = sum(abs(shoelace(s[0])) - sum(abs(shoelace(h)) for h in s[1:]) for s in ground)
            xs = [p[0] for s in ground for p in s[0]]
            ys = [p[1] for s in ground for p in s[0]]
            res["buildings"][oid] = {"height": max(p[2] for p in roof) - gz, "area": area,
                                     "bbox": [min(xs), min(ys), max(xs), max(ys)], "lod": str(g["lod"])}
    out.append(res)
print(json.dumps(out))
"#;

    #[test]
    fn real_files_agree_with_an_independent_python_reading() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cityjson");
        let files = [
            "3dbag_b2.city.json",
            "3dbag_b2.city.jsonl",
            "1b_w_texture.city.json",
        ];
        let paths: Vec<std::path::PathBuf> = files.iter().map(|f| dir.join(f)).collect();
        let out = std::process::Command::new("python3")
            .arg("-c")
            .arg(PYTHON_READER)
            .args(&paths)
            .output()
            .expect("python3 runs (scripts/setup-debian.sh installs it)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let expected: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        let mut total = 0;
        for (path, exp) in paths.iter().zip(&expected) {
            let name = path.display();
            // The Helsinki file names no CRS: the scene would give it.
            let c = read_cityjson(path, LayerKind::Buildings, None, None)
                .or_else(|_| read_cityjson(path, LayerKind::Buildings, Some(&Crs::Epsg(3879)), None))
                .unwrap();
            assert_eq!(c.version, exp["version"].as_str().unwrap(), "{name}");
            match exp["crs"].as_str() {
                Some(rs) => assert_eq!(
                    c.layer.crs,
                    Crs::Epsg(reference_system_epsg(rs).unwrap()),
                    "{name}"
                ),
                None => assert_eq!(c.layer.crs, Crs::Epsg(3879), "{name}"),
            }
            let buildings = exp["buildings"].as_object().unwrap();
            assert_eq!(c.layer.features.len(), buildings.len(), "{name}");
            assert_eq!(c.layer.skipped.total(), 0, "{name}: {:?}", c.layer.skipped);
            for f in &c.layer.features {
                let id = f.text(ID_ATTRIBUTE).unwrap();
                let e = &buildings[&id];
                let s = &c.solids[&f.source_id];
                let h = e["height"].as_f64().unwrap();
                assert!(
                    (s.height_m - h).abs() < 1e-6,
                    "{name} {id}: height {} vs {h}",
                    s.height_m
                );
                assert_eq!(s.lod, e["lod"].as_str().unwrap());
                let mp = match &f.geometry {
                    geo_types::Geometry::MultiPolygon(mp) => mp,
                    g => panic!("{g:?}"),
                };
                let a = e["area"].as_f64().unwrap();
                assert!(
                    (mp.unsigned_area() - a).abs() < 1e-6 * a.max(1.0),
                    "{name} {id}: area {} vs {a}",
                    mp.unsigned_area()
                );
                let r = mp.bounding_rect().unwrap();
                let bb: Vec<f64> = e["bbox"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect();
                let got = [r.min().x, r.min().y, r.max().x, r.max().y];
                for k in 0..4 {
                    assert!(
                        (got[k] - bb[k]).abs() < 1e-6,
                        "{name} {id}: bbox {got:?} vs {bb:?}"
                    );
                }
                total += 1;
            }
        }
        // Two 3D BAG parts twice (file and sequence) and one Helsinki building.
        assert_eq!(total, 5);
    }
}
