//! Loading a scene: read every layer (in parallel), pick the scene CRS, transform each
//! layer with one PROJ object, resolve heights and build the [`CityModel`]. One bad layer
//! is reported and does not stop the others.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use geo::{BoundingRect, Centroid};
use geo_types::{Geometry, LineString, MultiPolygon};
use rayon::prelude::*;

use crate::twin::city::{Building, CityModel, LandArea, LayerId, LayerInfo, Poi, Road, Zone};
use crate::twin::crs::{Crs, Projection, SceneOrigin, Transformer, WGS84};
use crate::twin::error::GisError;
use crate::twin::gis::layer::{
    Feature, Layer, LayerFormat, LayerKind, POI_KEYS, SkipReport, TRANSIT_STOP_TAGS,
};
use crate::twin::gis::{self, zones};
use crate::twin::heights;
use crate::twin::progress::{Progress, Stage};
use crate::twin::scene::{LayerSpec, Scene, SceneError, ZoneGrid};
use crate::twin::solid::{self, LayerSolids};

/// Tag keys that give a land area its class.
const AREA_CLASS_KEYS: &[&str] = &["leisure", "natural", "landuse", "water", "waterway", "fclass"];

/// An OSM file read once for all the layers that use it: its layers (or why it failed)
/// and the seconds it took.
type OsmRead = (Arc<Result<Vec<Layer>, String>>, f64);

/// What happened to one layer while loading.
#[derive(Debug, Clone)]
pub struct LayerReport {
    /// Layer name.
    pub name: String,
    /// What it holds.
    pub kind: LayerKind,
    /// Format.
    pub format: LayerFormat,
    /// Source CRS label.
    pub source_crs: Option<String>,
    /// Features kept, by geometry type.
    pub geometry_counts: std::collections::BTreeMap<&'static str, usize>,
    /// Features kept in the city model.
    pub features: usize,
    /// Skipped and repaired.
    pub skipped: SkipReport,
    /// Bounding box in the scene CRS.
    pub bbox_scene: Option<[f64; 4]>,
    /// Bounding box in WGS84 `[min_lon, min_lat, max_lon, max_lat]`.
    pub bbox_wgs84: Option<[f64; 4]>,
    /// Seconds reading the file.
    pub read_s: f64,
    /// Seconds transforming to the scene CRS.
    pub project_s: f64,
    /// How the layer was projected (point by point, or interpolated within what error).
    pub projection: Projection,
    /// Seconds resolving heights / building the model.
    pub heights_s: f64,
    /// Why the layer failed, if it did.
    pub error: Option<String>,
}

/// What happened while loading a scene.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Per layer, in scene order.
    pub layers: Vec<LayerReport>,
    /// The scene CRS chosen.
    pub scene_crs: Crs,
    /// Total seconds.
    pub total_s: f64,
    /// Cells of the generated zone grid dropped for holding no building, road or POI.
    pub zones_dropped: usize,
}

/// A loaded scene: its definition, the city model and the load report.
#[derive(Debug, Clone)]
pub struct LoadedScene {
    /// The scene file's content.
    pub scene: Scene,
    /// Where the scene file is.
    pub path: PathBuf,
    /// The city.
    pub city: CityModel,
    /// The load report.
    pub report: LoadReport,
}

/// Loads a scene file and everything it names.
pub fn load_scene(path: &Path) -> Result<LoadedScene, SceneError> {
    load_scene_with(path, &Progress::default())
}

/// [`load_scene`], reporting its stages and counts to `progress`.
pub fn load_scene_with(path: &Path, progress: &Progress) -> Result<LoadedScene, SceneError> {
    let scene = Scene::load(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let (city, report) = load_layers_with(&scene, base, progress).map_err(|message| SceneError::Load {
        path: path.to_path_buf(),
        message,
    })?;
    Ok(LoadedScene {
        scene,
        path: path.to_path_buf(),
        city,
        report,
    })
}

/// A scene made for a bare data file (for `inspect`): one layer, or one per OSM kind (or
/// per GeoPackage table, or per PostGIS table when the `postgis://` URL names none).
pub fn scene_for_file(path: &Path, crs: Option<&Crs>) -> Scene {
    if gis::postgis::is_postgis(path) {
        return scene_for_postgis(path, crs);
    }
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let kinds: Vec<LayerKind> = if LayerFormat::from_path(path) == Some(LayerFormat::OsmPbf) {
        vec![
            LayerKind::Buildings,
            LayerKind::Roads,
            LayerKind::Pois,
            LayerKind::Zones,
            LayerKind::Water,
            LayerKind::Green,
            LayerKind::Other,
        ]
    } else if LayerFormat::from_path(path) == Some(LayerFormat::GeoPackage) {
        return scene_for_geopackage(path, crs);
    } else if LayerFormat::from_path(path) == Some(LayerFormat::CityJson) {
        vec![LayerKind::Buildings]
    } else {
        vec![gis::guess_kind(path)]
    };
    let multi = kinds.len() > 1;
    Scene {
        name: name.clone(),
        crs: None,
        origin: None,
        layers: kinds
            .into_iter()
            .map(|kind| LayerSpec {
                name: if multi {
                    format!("{name}/{}", kind.name())
                } else {
                    name.clone()
                },
                path: PathBuf::from(path.file_name().unwrap_or_default()),
                kind,
                crs: crs.map(Crs::definition),
                table: None,
                heights: Default::default(),
                lod: None,
                name_field: "name".into(),
                class_field: None,
                style: Default::default(),
                meta: Default::default(),
                visible: true,
                filter: None,
            })
            .collect(),
        zones: ZoneGrid::default(),
        bookmarks: Vec::new(),
        indicators: Default::default(),
        feeds: Vec::new(),
        history: None,
        costs: Default::default(),
        roles: Default::default(),
        wall: None,
        lighting: Default::default(),
        projection_tolerance_m: None,
        extent: None,
        lang: None,
    }
}

/// The scene [`scene_for_file`] makes for a GeoPackage: one layer per feature table, named
/// `file.gpkg/table`, its kind guessed from the table's name. A file whose tables cannot
/// be listed gets one layer, which reports why when loaded.
fn scene_for_geopackage(path: &Path, crs: Option<&Crs>) -> Scene {
    let mut scene = scene_for_file(Path::new("geopackage"), crs);
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    scene.name = name.clone();
    let template = scene.layers.pop().expect("one layer");
    let tables = gis::gpkg::feature_tables(path).unwrap_or_default();
    let file = PathBuf::from(path.file_name().unwrap_or_default());
    scene.layers = if tables.is_empty() {
        vec![LayerSpec {
            name,
            path: file,
            kind: gis::guess_kind(path),
            ..template
        }]
    } else {
        tables
            .into_iter()
            .map(|t| LayerSpec {
                name: format!("{name}/{t}"),
                path: file.clone(),
                kind: gis::guess_kind(Path::new(&t)),
                table: Some(t),
                ..template.clone()
            })
            .collect()
    };
    scene
}

/// The scene [`scene_for_file`] makes for a PostGIS source: its table, or one layer per
/// geometry table of the database (named `schema.table`, its kind guessed from the table's
/// name) when the URL names none. A database whose tables cannot be listed gets one layer,
/// which reports why when loaded.
fn scene_for_postgis(url: &Path, crs: Option<&Crs>) -> Scene {
    let mut scene = scene_for_file(Path::new("postgis"), crs);
    let text = url.to_string_lossy().to_string();
    scene.name = gis::postgis::redact(&text);
    let template = scene.layers.pop().expect("one layer");
    let parsed = gis::postgis::PgSource::parse(&text).ok();
    let one = |name: String, path: PathBuf, table: Option<&gis::postgis::TableName>| LayerSpec {
        name,
        path,
        kind: table.map_or(LayerKind::Other, |t| gis::guess_kind(Path::new(&t.table))),
        ..template.clone()
    };
    scene.layers = match &parsed {
        Some(src) if src.table.is_some() => vec![one(
            src.table.as_ref().map(ToString::to_string).unwrap_or_default(),
            url.to_path_buf(),
            src.table.as_ref(),
        )],
        Some(src) => match gis::postgis::geometry_tables(src, None) {
            Ok(tables) if !tables.is_empty() => tables
                .iter()
                .map(|t| {
                    let path = PathBuf::from(src.with_table(t.clone()).to_string());
                    one(t.to_string(), path, Some(t))
                })
                .collect(),
            _ => vec![one(scene.name.clone(), url.to_path_buf(), None)],
        },
        None => vec![one(scene.name.clone(), url.to_path_buf(), None)],
    };
    scene
}

struct ReadResult {
    layer: Result<Layer, String>,
    /// The layer's extent in its own CRS, found once after reading.
    bbox: Option<[f64; 4]>,
    /// The layer's CRS as read, before projection.
    source_crs: Option<Crs>,
    read_s: f64,
    /// The 3D surfaces of its buildings, by source id (CityJSON layers).
    solids: Option<LayerSolids>,
}

/// Reads, projects and assembles all layers of a scene. Errors only when nothing at all
/// could be placed (no layer loaded and no scene CRS); single layer failures are reported.
pub fn load_layers(scene: &Scene, base: &Path) -> Result<(CityModel, LoadReport), String> {
    load_layers_with(scene, base, &Progress::default())
}

/// Projects and assembles layers already in memory (e.g. a synthetic city), one per
/// entry of `scene.layers` and in that order; a missing one fails that layer only.
pub fn load_layers_from(
    scene: &Scene,
    layers: Vec<Layer>,
    progress: &Progress,
) -> Result<(CityModel, LoadReport), String> {
    let t0 = Instant::now();
    let mut given = layers.into_iter();
    let reads = scene
        .layers
        .iter()
        .map(|spec| {
            let layer = given
                .next()
                .ok_or_else(|| format!("layer '{}': no data given", spec.name));
            ReadResult::new(layer, spec, 0.0)
        })
        .collect();
    assemble(scene, reads, t0, progress)
}

/// [`load_layers`], reporting its stages and counts to `progress`.
pub fn load_layers_with(
    scene: &Scene,
    base: &Path,
    progress: &Progress,
) -> Result<(CityModel, LoadReport), String> {
    let t0 = Instant::now();
    progress.begin(Stage::Reading, scene.layers.len() as u64);
    prefetch_transforms(scene, base);
    // 1. Read. OSM files are parsed once even when several layers use them.
    let mut osm_paths: Vec<PathBuf> = scene
        .layers
        .iter()
        .map(|l| base.join(&l.path))
        .filter(|p| LayerFormat::from_path(p) == Some(LayerFormat::OsmPbf))
        .collect();
    osm_paths.sort();
    osm_paths.dedup();
    let osm: HashMap<PathBuf, OsmRead> = osm_paths
        .par_iter()
        .map(|p| {
            let t = Instant::now();
            let r = gis::osm::read_osm(p).map_err(|e| e.to_string());
            (p.clone(), (Arc::new(r), t.elapsed().as_secs_f64()))
        })
        .collect();
    let reads: Vec<ReadResult> = scene
        .layers
        .par_iter()
        .map(|spec| {
            progress.set_label(&spec.name);
            let r = read_spec(spec, base, &osm, scene.extent_wgs84());
            progress.advance(1);
            r
        })
        .collect();
    assemble(scene, reads, t0, progress)
}

/// Starts setting up, on another thread, the PROJ transformations that loading will need,
/// so that their set-up (tens of milliseconds each) overlaps with reading the files. For
/// each shapefile layer, whose CRS (.prj) and extent (.shp header) are known before its
/// shapes are read: to WGS84, and to the scene CRS, named or else guessed as the UTM zone
/// of the headers' centre the way [`assemble`] chooses it. Only a head start: a guess that
/// turns out wrong costs that thread's time, never a different result.
fn prefetch_transforms(scene: &Scene, base: &Path) {
    let named = scene.scene_crs();
    let files: Vec<(PathBuf, Option<Crs>)> = scene
        .layers
        .iter()
        .map(|l| (base.join(&l.path), l.crs.as_deref().map(Crs::parse)))
        .filter(|(p, _)| LayerFormat::from_path(p) == Some(LayerFormat::Shapefile))
        .collect();
    if files.is_empty() {
        return;
    }
    std::thread::spawn(move || {
        let mut sources: Vec<(Crs, [f64; 4])> = Vec::new();
        for (path, crs) in &files {
            let (Ok(crs), Ok(b)) = (
                gis::shapefile::read_prj(path, crs.as_ref()),
                gis::shapefile::header_bbox(path),
            ) else {
                continue;
            };
            sources.push((crs, b));
        }
        let target = named.or_else(|| guess_scene_crs(&sources));
        let Some(target) = target else { return };
        // Errors are not kept: loading meets and reports them itself. The layers' own
        // transformations are needed first (projection), the one to WGS84 only after (for
        // the report's extents): the latter is prepared on a thread of its own.
        let wgs84 = {
            let target = target.clone();
            std::thread::spawn(move || {
                let _ = crate::twin::crs::prepare(&target, &WGS84);
            })
        };
        for (crs, _) in &sources {
            let _ = crate::twin::crs::prepare(crs, &target);
        }
        let _ = wgs84.join();
    });
}

/// The scene CRS [`assemble`] will choose when the scene names none (the UTM zone of the
/// data's centre), guessed from layers' CRSs and extents known before they are read.
fn guess_scene_crs(sources: &[(Crs, [f64; 4])]) -> Option<Crs> {
    let mut acc: Option<[f64; 4]> = None;
    for (crs, b) in sources {
        let Some(w) = Transformer::for_extent(crs, &WGS84, Some(*b))
            .ok()
            .and_then(|t| t.bbox(*b))
        else {
            continue;
        };
        acc = Some(match acc {
            None => w,
            Some(a) => [a[0].min(w[0]), a[1].min(w[1]), a[2].max(w[2]), a[3].max(w[3])],
        });
    }
    acc.map(|a| Crs::utm_for((a[0] + a[2]) / 2.0, (a[1] + a[3]) / 2.0))
}

/// Steps 2–5 of loading: scene CRS, projection, the model, zones and origin.
fn assemble(
    scene: &Scene,
    mut reads: Vec<ReadResult>,
    t0: Instant,
    progress: &Progress,
) -> Result<(CityModel, LoadReport), String> {
    // 2. Scene CRS: named, or the UTM zone of the data's centre.
    let scene_crs = match scene.scene_crs() {
        Some(c) => c,
        None => {
            let mut acc: Option<[f64; 4]> = None;
            for r in &reads {
                let Ok(l) = &r.layer else { continue };
                let Some(b) = r.bbox else { continue };
                let Ok(t) = Transformer::for_extent(&l.crs, &WGS84, Some(b)) else {
                    continue;
                };
                if let Some(w) = t.bbox(b) {
                    acc = Some(match acc {
                        None => w,
                        Some(a) => [a[0].min(w[0]), a[1].min(w[1]), a[2].max(w[2]), a[3].max(w[3])],
                    });
                }
            }
            let a = acc.ok_or("no layer could be read, so no scene CRS can be chosen")?;
            Crs::utm_for((a[0] + a[2]) / 2.0, (a[1] + a[3]) / 2.0)
        }
    };
    let to_wgs84 = Transformer::new(&scene_crs, &WGS84).map_err(|e| e.to_string())?;

    // 3. Project every layer (in parallel; one PROJ object per layer).
    progress.begin(Stage::Projecting, reads.len() as u64);
    let tolerance = scene.projection_tolerance();
    let project_s: Vec<(f64, Projection)> = reads
        .par_iter_mut()
        .map(|r| {
            let t = Instant::now();
            let mut how = Projection::Identity;
            if let Ok(layer) = &r.layer {
                progress.set_label(&layer.name);
            }
            if let Ok(layer) = &mut r.layer {
                match Transformer::for_extent(&layer.crs, &scene_crs, r.bbox) {
                    Ok(tr) => {
                        if let Some(solids) = &mut r.solids {
                            // Surfaces exactly, point by point: they are drawn up close.
                            for _ in 0..solid::project_solids(solids, &tr) {
                                layer
                                    .skipped
                                    .repair("3D surfaces could not be projected: drawn extruded");
                            }
                        }
                        let (h, extent) = tr.layer_within(layer, tolerance);
                        how = h;
                        if h != Projection::Identity {
                            r.bbox = extent;
                        }
                    }
                    Err(e) => r.layer = Err(format!("{}: {e}", layer.catalogue.source_path.display())),
                }
            }
            progress.advance(1);
            (t.elapsed().as_secs_f64(), how)
        })
        .collect();

    // 4. Build the model.
    progress.begin(Stage::Heights, scene.layers.len() as u64);
    let mut city = CityModel::empty(&scene.name, scene_crs.clone(), SceneOrigin::default());
    let mut reports = Vec::new();
    for (i, ((spec, r), (proj_s, projection))) in scene.layers.iter().zip(reads).zip(project_s).enumerate() {
        let t = Instant::now();
        progress.set_label(&spec.name);
        let id = LayerId(i as u16);
        let mut report = LayerReport {
            name: spec.name.clone(),
            kind: spec.kind,
            // A CityJSON `.json` is told from GeoJSON by its content, which only the
            // reader (given the full path) has seen.
            format: match &r.layer {
                Ok(l) if l.format == LayerFormat::CityJson => l.format,
                _ => LayerFormat::from_path(&spec.path).unwrap_or(LayerFormat::Generated),
            },
            source_crs: None,
            geometry_counts: Default::default(),
            features: 0,
            skipped: SkipReport::default(),
            bbox_scene: None,
            bbox_wgs84: None,
            read_s: r.read_s,
            project_s: proj_s,
            projection,
            heights_s: 0.0,
            error: None,
        };
        let mut info = LayerInfo {
            name: spec.name.clone(),
            kind: spec.kind,
            format: report.format,
            source_crs: None,
            feature_count: 0,
            skipped: SkipReport::default(),
            catalogue: Default::default(),
            error: None,
        };
        match r.layer {
            Err(e) => {
                report.error = Some(e.clone());
                info.error = Some(e);
            }
            Ok(mut layer) => {
                report.source_crs = r.source_crs.as_ref().map(Crs::label);
                info.source_crs = r.source_crs;
                report.geometry_counts = layer.geometry_counts();
                // The extent after projection, found while projecting.
                report.bbox_scene = r.bbox;
                // The WGS84 box of the data itself, not of the scene box's corners.
                report.bbox_wgs84 = report
                    .bbox_scene
                    .and_then(|b| to_wgs84.data_bbox(layer.features.iter().map(|f| &f.geometry), b));
                let zones_before = city.zones.len();
                add_layer(
                    &mut city,
                    id,
                    spec,
                    std::mem::take(&mut layer.features),
                    &mut layer.skipped,
                );
                if let Some(solids) = r.solids {
                    solid::attach(&mut city, id, solids);
                }
                // Zones carry no layer id: a zone layer keeps what it added.
                let kept = match spec.kind {
                    LayerKind::Zones => city.zones.len() - zones_before,
                    kind => count_for(&city, id, kind),
                };
                report.features = kept;
                report.skipped = layer.skipped.clone();
                info.feature_count = kept;
                info.skipped = layer.skipped;
                info.catalogue = layer.catalogue;
                info.catalogue.meta = spec.meta.clone();
            }
        }
        report.heights_s = t.elapsed().as_secs_f64();
        city.layers.push(info);
        reports.push(report);
        progress.advance(1);
    }

    // 5. Zones and origin.
    let bbox = city.bbox();
    let mut zones_dropped = 0;
    if city.zones.is_empty()
        && let Some(b) = bbox
    {
        // Cells with no building, road or POI are dropped, not scored (an empty cell has
        // no residents, floor area or streets to measure).
        let occupied = city
            .buildings
            .iter()
            .filter_map(|b| b.footprint.centroid().map(|c| [c.x(), c.y()]))
            .chain(
                city.roads
                    .iter()
                    .flat_map(|r| r.line.0.iter().map(|c| [c.x, c.y])),
            )
            .chain(city.pois.iter().map(|p| [p.point.x(), p.point.y()]));
        (city.zones, zones_dropped) = zones::keep_occupied(zones::grid(b, &scene.zones), occupied);
        city.zones = zones::clip_to(std::mem::take(&mut city.zones), b);
    }
    city.origin = match (scene.origin, bbox) {
        (Some((x, y)), _) => SceneOrigin { x, y },
        (None, Some(b)) => SceneOrigin::centre_of(b),
        (None, None) => SceneOrigin::default(),
    };
    Ok((
        city,
        LoadReport {
            layers: reports,
            scene_crs,
            total_s: t0.elapsed().as_secs_f64(),
            zones_dropped,
        },
    ))
}

fn read_spec(
    spec: &LayerSpec,
    base: &Path,
    osm: &HashMap<PathBuf, OsmRead>,
    extent: Option<[f64; 4]>,
) -> ReadResult {
    let crs = spec.crs.as_deref().map(Crs::parse);
    let t = Instant::now();
    if gis::postgis::is_postgis(&spec.path) {
        let layer = read_postgis(spec, crs.as_ref(), extent);
        return ReadResult::new(within(layer, extent), spec, t.elapsed().as_secs_f64());
    }
    let path = base.join(&spec.path);
    if LayerFormat::from_path(&path) == Some(LayerFormat::CityJson) {
        // CityJSON keeps its buildings' 3D surfaces beside the footprint layer.
        let read = gis::cityjson::read_cityjson(&path, spec.kind, crs.as_ref(), spec.lod.as_deref());
        let (layer, solids) = match read {
            Ok(c) => (Ok(c.layer), Some(c.solids)),
            Err(e) => (Err(e.to_string()), None),
        };
        let mut r = ReadResult::new(layer, spec, t.elapsed().as_secs_f64());
        r.solids = solids;
        return r;
    }
    let layer: Result<Layer, String> = if let Some((layers, secs)) = osm.get(&path) {
        let layer = match layers.as_ref() {
            Err(e) => Err(e.clone()),
            Ok(ls) => Ok(ls
                .iter()
                .find(|l| l.kind == spec.kind)
                .cloned()
                .unwrap_or_else(|| empty_like(&path, spec.kind))),
        };
        return ReadResult::new(filtered(within(layer, extent), spec), spec, *secs);
    } else if LayerFormat::from_path(&path) == Some(LayerFormat::GeoPackage) {
        let opts = gis::gpkg::ReadOptions {
            table: spec.table.as_deref(),
            crs: crs.as_ref(),
            extent_wgs84: extent,
        };
        gis::gpkg::read_gpkg(&path, spec.kind, &opts).map_err(|e| e.to_string())
    } else {
        gis::read_any(&path, spec.kind, crs.as_ref())
            .map_err(|e: GisError| e.to_string())
            .and_then(|mut v| v.pop().ok_or_else(|| format!("{}: no layer", path.display())))
    };
    ReadResult::new(
        filtered(within(layer, extent), spec),
        spec,
        t.elapsed().as_secs_f64(),
    )
}

/// The layer less the features its scene filter leaves out, when it has one.
fn filtered(layer: Result<Layer, String>, spec: &LayerSpec) -> Result<Layer, String> {
    let (mut l, f) = match (layer, &spec.filter) {
        (Ok(l), Some(f)) => (l, f),
        (layer, _) => return layer,
    };
    l.features.retain(|feature| f.keeps(&feature.attributes));
    Ok(l)
}

/// Reads a PostGIS layer: the table the URL or `spec.table` names, only the features that
/// meet the extent; the password from `PGPASSWORD` or the password file.
fn read_postgis(spec: &LayerSpec, crs: Option<&Crs>, extent: Option<[f64; 4]>) -> Result<Layer, String> {
    let url = spec.path.to_string_lossy();
    let src =
        gis::postgis::PgSource::parse(&url).map_err(|e| format!("{}: {e}", gis::postgis::redact(&url)))?;
    let opts = gis::postgis::ReadOptions {
        table: spec.table.as_deref(),
        crs,
        extent_wgs84: extent,
        password: None,
    };
    gis::postgis::read_postgis(&src, spec.kind, &opts).map_err(|e| e.to_string())
}

/// The layer less its features outside the scene extent, when the scene sets one.
fn within(layer: Result<Layer, String>, extent: Option<[f64; 4]>) -> Result<Layer, String> {
    let (mut l, e) = match (layer, extent) {
        (Ok(l), Some(e)) => (l, e),
        (layer, _) => return layer,
    };
    gis::extent::retain_within(&mut l, e)
        .map_err(|err| format!("{}: the scene extent: {err}", l.catalogue.source_path.display()))?;
    Ok(l)
}

impl ReadResult {
    fn new(layer: Result<Layer, String>, spec: &LayerSpec, read_s: f64) -> ReadResult {
        let layer = layer.map(|mut l| {
            l.name = spec.name.clone();
            l.kind = spec.kind;
            l
        });
        ReadResult {
            source_crs: layer.as_ref().ok().map(|l| l.crs.clone()),
            bbox: layer.as_ref().ok().and_then(Layer::bbox),
            layer,
            read_s,
            solids: None,
        }
    }
}

fn empty_like(path: &Path, kind: LayerKind) -> Layer {
    Layer {
        name: String::new(),
        format: LayerFormat::OsmPbf,
        kind,
        crs: WGS84,
        features: Vec::new(),
        skipped: SkipReport::default(),
        catalogue: crate::twin::gis::layer::CatalogueEntry {
            source_path: path.to_path_buf(),
            ..Default::default()
        },
    }
}

fn count_for(city: &CityModel, id: LayerId, kind: LayerKind) -> usize {
    match kind {
        LayerKind::Buildings => city.buildings.iter().filter(|b| b.layer == id).count(),
        LayerKind::Roads => city.roads.iter().filter(|r| r.layer == id).count(),
        LayerKind::Pois => city.pois.iter().filter(|p| p.layer == id).count(),
        LayerKind::Zones => city.zones.len(),
        _ => city.areas.iter().filter(|a| a.layer == id).count(),
    }
}

fn polygons(g: Geometry<f64>) -> Option<MultiPolygon<f64>> {
    match g {
        Geometry::Polygon(p) => Some(MultiPolygon(vec![p])),
        Geometry::MultiPolygon(mp) => Some(mp),
        Geometry::Rect(r) => Some(MultiPolygon(vec![r.to_polygon()])),
        Geometry::Triangle(t) => Some(MultiPolygon(vec![t.to_polygon()])),
        _ => None,
    }
}

fn lines(g: Geometry<f64>) -> Vec<LineString<f64>> {
    match g {
        Geometry::LineString(l) => vec![l],
        Geometry::MultiLineString(m) => m.0,
        Geometry::Line(l) => vec![LineString::from(vec![l.start, l.end])],
        _ => Vec::new(),
    }
}

/// Parses an OSM-style speed limit ("50", "30 mph", "50 km/h") into km/h.
pub fn parse_speed(s: &str) -> Option<f64> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mph) = match t.strip_suffix("mph") {
        Some(n) => (n.trim(), true),
        None => (t.trim_end_matches("km/h").trim_end_matches("kmh").trim(), false),
    };
    let v: f64 = num.parse().ok()?;
    (v.is_finite() && v > 0.0 && v < 300.0).then_some(if mph { v * 1.609_344 } else { v })
}

fn add_layer(
    city: &mut CityModel,
    id: LayerId,
    spec: &LayerSpec,
    features: Vec<Feature>,
    skipped: &mut SkipReport,
) {
    let name_of = |f: &Feature| f.text(&spec.name_field);
    match spec.kind {
        LayerKind::Buildings => {
            // Heights, names and uses come from each feature's own attributes: resolved on
            // all cores, kept in source order.
            let built: Vec<Result<Building, &'static str>> = features
                .into_par_iter()
                .map(|f| {
                    let name = name_of(&f);
                    let footprint = polygons(f.geometry).ok_or("not a polygon in a building layer")?;
                    let h = heights::resolve(&f.attributes, &spec.heights);
                    let usage = f
                        .attributes
                        .get(&spec.heights.type_field)
                        .map(|v| v.as_text())
                        .unwrap_or_else(|| "yes".into());
                    let mut attributes = f.attributes;
                    // Kept as long as the city: no spare capacity.
                    attributes.shrink_to_fit();
                    Ok(Building {
                        layer: id,
                        source_id: f.source_id,
                        footprint,
                        height_m: h.height_m,
                        min_height_m: h.min_height_m,
                        height_source: h.source,
                        name,
                        usage,
                        attributes,
                    })
                })
                .collect();
            city.buildings.reserve(built.len());
            for b in built {
                match b {
                    Ok(b) => city.buildings.push(b),
                    Err(reason) => skipped.skip(reason),
                }
            }
        }
        LayerKind::Roads => {
            let class_key = spec.class_field.as_deref().unwrap_or("highway");
            for f in features {
                let class = f.text(class_key).unwrap_or_else(|| "unclassified".into());
                let oneway_tag = f.text("oneway").unwrap_or_default();
                let lanes = f
                    .text("lanes")
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .map(|n| n as u32);
                let maxspeed = f.text("maxspeed").and_then(|s| parse_speed(&s));
                let name = name_of(&f);
                let ls = lines(f.geometry);
                if ls.is_empty() {
                    skipped.skip("not a line in a road layer");
                    continue;
                }
                for mut line in ls {
                    if oneway_tag == "-1" {
                        line.0.reverse();
                    }
                    city.roads.push(Road {
                        layer: id,
                        source_id: f.source_id,
                        line,
                        class: class.clone(),
                        lanes,
                        maxspeed_kmh: maxspeed,
                        oneway: matches!(oneway_tag.as_str(), "yes" | "1" | "true" | "-1"),
                        name: name.clone(),
                    });
                }
            }
        }
        LayerKind::Zones => {
            for f in features {
                let name = name_of(&f).unwrap_or_else(|| format!("zone {}", city.zones.len() + 1));
                match polygons(f.geometry) {
                    Some(area) => city.zones.push(Zone {
                        name,
                        area,
                        generated: false,
                    }),
                    None => skipped.skip("not a polygon in a zone layer"),
                }
            }
        }
        LayerKind::Pois => {
            for f in features {
                let (category, kind) = match &spec.class_field {
                    Some(k) => (k.clone(), f.text(k).unwrap_or_default()),
                    None => POI_KEYS
                        .iter()
                        .find_map(|k| f.text(k).map(|v| (k.to_string(), v)))
                        .or_else(|| {
                            TRANSIT_STOP_TAGS
                                .iter()
                                .find(|&&(k, v)| f.text(k).as_deref() == Some(v))
                                .map(|&(k, v)| (k.to_string(), v.to_string()))
                        })
                        .unwrap_or_else(|| ("other".into(), String::new())),
                };
                let point = match &f.geometry {
                    Geometry::Point(p) => Some(*p),
                    g => g.centroid(),
                };
                let Some(point) = point else {
                    skipped.skip("POI without a location");
                    continue;
                };
                city.pois.push(Poi {
                    layer: id,
                    source_id: f.source_id,
                    point,
                    category,
                    kind,
                    name: name_of(&f),
                });
            }
        }
        kind @ (LayerKind::Water | LayerKind::Green | LayerKind::Other) => {
            for f in features {
                let class = spec
                    .class_field
                    .as_deref()
                    .and_then(|k| f.text(k))
                    .or_else(|| AREA_CLASS_KEYS.iter().find_map(|k| f.text(k)))
                    .unwrap_or_else(|| kind.name().into());
                match polygons(f.geometry) {
                    Some(area) if area.bounding_rect().is_some() => city.areas.push(LandArea {
                        layer: id,
                        kind,
                        class,
                        area,
                    }),
                    _ => skipped.skip("not a polygon in an area layer"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds() {
        assert_eq!(parse_speed("50"), Some(50.0));
        assert!((parse_speed("30 mph").unwrap() - 48.28).abs() < 0.01);
        assert_eq!(parse_speed("40 km/h"), Some(40.0));
        assert_eq!(parse_speed("RO:urban"), None);
        assert_eq!(parse_speed("none"), None);
    }

    #[test]
    fn the_guess_from_shapefile_headers_is_the_scene_crs_loading_chooses() {
        let Some(dir) = crate::twin::testdata::data_dir() else {
            return;
        };
        for (rel, utm) in [
            ("shp/monaco-2016/buildings.shp", 32632),
            ("shp/nyc-west-village/buildings.shp", 32618),
        ] {
            let path = dir.join(rel);
            let crs = gis::shapefile::read_prj(&path, None).unwrap();
            let header = gis::shapefile::header_bbox(&path).unwrap();
            let guess = guess_scene_crs(&[(crs, header)]);
            let scene = scene_for_file(&path, None);
            let (city, report) = load_layers(&scene, path.parent().unwrap()).unwrap();
            assert_eq!(guess, Some(report.scene_crs.clone()), "{rel}");
            assert_eq!(city.crs, Crs::Epsg(utm), "{rel}");
        }
        assert_eq!(guess_scene_crs(&[]), None);
    }

    #[test]
    fn the_default_scene_is_monaco_with_its_sea_and_districts() {
        use geo::{Area, Contains};
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let loaded = load_scene(&root.join(crate::twin::scene::DEFAULT_SCENE)).expect("default scene");
        let city = &loaded.city;
        for l in &loaded.report.layers {
            eprintln!(
                "{}: {} features {:?} skipped {:?} repaired {:?} read {:.2}s project {:.2}s model {:.2}s {:?}",
                l.name,
                l.features,
                l.geometry_counts,
                l.skipped.reasons,
                l.skipped.repaired,
                l.read_s,
                l.project_s,
                l.heights_s,
                l.error
            );
            assert!(l.error.is_none(), "{}: {:?}", l.name, l.error);
        }
        eprintln!(
            "default city: {} buildings, {} roads, {} POIs, {} areas, {} zones; loaded in {:.2}s",
            city.buildings.len(),
            city.roads.len(),
            city.pois.len(),
            city.areas.len(),
            city.zones.len(),
            loaded.report.total_s
        );
        assert_eq!(city.crs, Crs::Epsg(32632));
        assert!(
            city.buildings.len() >= 23_000,
            "{} buildings",
            city.buildings.len()
        );
        assert!(city.roads.len() >= 2_800, "{} roads", city.roads.len());
        assert!(city.pois.len() >= 400, "{} POIs", city.pois.len());
        // Transit stops are POIs, bus stops mapped as `highway=bus_stop` alone included.
        let stops = city
            .pois
            .iter()
            .filter(|p| p.category == "public_transport" || (p.category == "highway" && p.kind == "bus_stop"))
            .count();
        assert!(stops >= 20, "{stops} transit stops");
        // Districts: Monaco's nine quarters and three whole French communes.
        let names: Vec<&str> = city.zones.iter().map(|z| z.name.as_str()).collect();
        eprintln!("districts: {names:?}");
        assert_eq!(city.zones.len(), 12, "{names:?}");
        for n in [
            "Monte-Carlo",
            "Monaco-Ville",
            "La Condamine",
            "Fontvieille",
            "Beausoleil",
            "Cap-d'Ail",
        ] {
            assert!(names.contains(&n), "{n} missing from {names:?}");
        }
        assert!(city.zones.iter().all(|z| !z.generated));
        // The sea, built from the coastline: off the coast, Port Hercule and the Fontvieille
        // harbour are water; the casino and the Rock are not.
        let to_scene = Transformer::new(&WGS84, &city.crs).unwrap();
        let at = |lon: f64, lat: f64| {
            let (x, y) = to_scene.point(lon, lat).expect("projects");
            geo_types::Point::new(x, y)
        };
        let water: Vec<&LandArea> = city.areas.iter().filter(|a| a.kind == LayerKind::Water).collect();
        let sea: Vec<&&LandArea> = water.iter().filter(|a| a.class == "sea").collect();
        let sea_km2: f64 = sea.iter().map(|a| a.area.unsigned_area()).sum::<f64>() / 1e6;
        eprintln!("sea: {} polygons, {sea_km2:.2} km²", sea.len());
        assert!(
            !sea.is_empty() && sea_km2 > 20.0 && sea_km2 < 60.0,
            "{sea_km2} km²"
        );
        let wet = |lon, lat| water.iter().any(|a| a.area.contains(&at(lon, lat)));
        assert!(wet(7.43, 43.72), "open sea");
        assert!(wet(7.4240, 43.7345), "Port Hercule");
        assert!(wet(7.4200, 43.7296), "Port de Fontvieille");
        assert!(!wet(7.4283, 43.7393), "the casino is on land");
        assert!(!wet(7.4205, 43.7312), "the Rock is on land");
        assert!(!wet(7.44, 43.76), "Beausoleil is on land");
    }

    #[test]
    fn buildings_keep_source_order_and_count_what_is_not_a_polygon() {
        use crate::twin::gis::layer::{AttrValue, Attributes};
        use geo_types::{Point, Polygon, Rect};
        let n = 2_000;
        let features: Vec<Feature> = (0..n)
            .map(|i| {
                let mut a = Attributes::new();
                a.insert("height".into(), AttrValue::Text(format!("{} m", 3 + i % 40)));
                let x = (i % 100) as f64 * 20.0;
                let y = (i / 100) as f64 * 20.0;
                let geometry = if i % 250 == 7 {
                    Geometry::Point(Point::new(x, y))
                } else {
                    Geometry::Polygon(Polygon::from(Rect::new((x, y), (x + 10.0, y + 10.0))))
                };
                Feature {
                    source_id: i as i64,
                    geometry,
                    attributes: a,
                }
            })
            .collect();
        let layer = Layer {
            name: "b".into(),
            format: LayerFormat::Generated,
            kind: LayerKind::Buildings,
            crs: Crs::Epsg(32635),
            features,
            skipped: SkipReport::default(),
            catalogue: Default::default(),
        };
        let mut scene = scene_for_file(Path::new("buildings.shp"), None);
        scene.crs = Some("EPSG:32635".into());
        let (city, report) = load_layers_from(&scene, vec![layer], &Progress::default()).unwrap();
        let points = (0..n).filter(|i| i % 250 == 7).count();
        assert_eq!(city.buildings.len(), n - points);
        assert_eq!(report.layers[0].skipped.total(), points);
        let ids: Vec<i64> = city.buildings.iter().map(|b| b.source_id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "source order kept");
        for b in &city.buildings {
            assert_eq!(b.height_m, (3 + b.source_id % 40) as f64, "{}", b.source_id);
        }
    }

    #[test]
    fn a_bad_layer_does_not_stop_the_others() {
        let dir = std::env::temp_dir().join(format!("citytwin-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("pois.geojson"),
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[24.94,60.17]},"properties":{"amenity":"school","name":"S"}}]}"#,
        )
        .unwrap();
        let text = r#"(name: "t", layers: [
            (name: "missing", path: "nope.shp", kind: buildings),
            (name: "pois", path: "pois.geojson", kind: pois),
        ])"#;
        std::fs::write(dir.join("t.ron"), text).unwrap();
        let loaded = load_scene(&dir.join("t.ron")).unwrap();
        assert!(
            loaded.report.layers[0]
                .error
                .as_ref()
                .unwrap()
                .contains("nope.shp")
        );
        assert_eq!(loaded.city.pois.len(), 1);
        assert_eq!(loaded.city.pois[0].category, "amenity");
        assert_eq!(loaded.city.crs, Crs::Epsg(32635), "UTM zone of Helsinki");
        assert!(!loaded.city.zones.is_empty(), "a grid is generated");
        assert!(loaded.city.zones.iter().all(|z| z.generated));
        let p = loaded.city.pois[0].point;
        // The origin is the data's centre (rounded to metres): the single POI sits at it.
        let l = loaded.city.origin.local(p.0);
        assert!(l[0].abs() <= 0.5 && l[1].abs() <= 0.5, "{l:?}");
    }

    #[test]
    fn geopackage_tables_load_by_name_within_the_extent_and_a_bad_file_fails_alone() {
        use crate::twin::gis::layer::{AttrValue, Attributes, CatalogueEntry};
        let dir = std::env::temp_dir().join(format!("citytwin-load-gpkg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Two buildings 0.1° apart near Helsinki, with heights, and a table of POIs.
        let building = |i: usize, lon: f64| {
            let mut a = Attributes::new();
            a.insert("height".into(), AttrValue::Number(20.0 + i as f64));
            Feature {
                source_id: i as i64,
                geometry: Geometry::Polygon(geo_types::Polygon::new(
                    vec![
                        (lon, 60.17),
                        (lon + 0.0002, 60.17),
                        (lon + 0.0002, 60.1701),
                        (lon, 60.17),
                    ]
                    .into(),
                    vec![],
                )),
                attributes: a,
            }
        };
        let layer = |name: &str, features| Layer {
            name: name.into(),
            format: LayerFormat::Generated,
            kind: LayerKind::Other,
            crs: WGS84,
            features,
            skipped: SkipReport::default(),
            catalogue: CatalogueEntry::default(),
        };
        let b = layer("buildings", vec![building(0, 24.90), building(1, 25.00)]);
        let p = layer(
            "pois",
            vec![Feature {
                source_id: 0,
                geometry: Geometry::Point(geo_types::Point::new(24.95, 60.17)),
                attributes: Attributes::new(),
            }],
        );
        gis::gpkg::write_gpkg(&[&b, &p], &dir.join("city.gpkg")).unwrap();
        std::fs::write(
            dir.join("broken.gpkg"),
            "not a database at all, not even close to one",
        )
        .unwrap();
        let text = r#"(name: "t", layers: [
            (name: "b", path: "city.gpkg", table: Some("buildings"), kind: buildings),
            (name: "bad", path: "broken.gpkg", kind: pois),
            (name: "p", path: "city.gpkg", table: Some("pois"), kind: pois),
        ])"#;
        std::fs::write(dir.join("t.ron"), text).unwrap();
        let loaded = load_scene(&dir.join("t.ron")).unwrap();
        let e = loaded.report.layers[1].error.as_ref().unwrap();
        assert!(e.contains("broken.gpkg") && e.contains("not a GeoPackage"), "{e}");
        assert_eq!(loaded.report.layers[0].format, LayerFormat::GeoPackage);
        let mut heights: Vec<f64> = loaded.city.buildings.iter().map(|b| b.height_m).collect();
        heights.sort_by(f64::total_cmp);
        assert_eq!(heights, [20.0, 21.0]);
        assert_eq!(loaded.city.pois.len(), 1);
        // An extent around the first building leaves the second and the POI out.
        let within = text.replace(
            "layers: [",
            "extent: Some((24.89, 60.16, 24.91, 60.18)), layers: [",
        );
        std::fs::write(dir.join("t.ron"), within).unwrap();
        let loaded = load_scene(&dir.join("t.ron")).unwrap();
        let heights: Vec<f64> = loaded.city.buildings.iter().map(|b| b.height_m).collect();
        assert_eq!(heights, [20.0]);
        assert!(loaded.city.pois.is_empty());
        // `inspect` on the file alone: one layer per table.
        let scene = scene_for_file(&dir.join("city.gpkg"), None);
        let names: Vec<(&str, LayerKind, Option<&str>)> = scene
            .layers
            .iter()
            .map(|l| (l.name.as_str(), l.kind, l.table.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                ("city.gpkg/buildings", LayerKind::Buildings, Some("buildings")),
                ("city.gpkg/pois", LayerKind::Pois, Some("pois"))
            ]
        );
    }

    #[test]
    fn a_prj_proj_cannot_read_fails_that_layer_only() {
        use crate::twin::gis::layer::{AttrValue, Attributes};
        let dir = std::env::temp_dir().join(format!("citytwin-badprj-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut a = Attributes::new();
        a.insert("name".into(), AttrValue::Text("x".into()));
        let layer = Layer {
            name: "p".into(),
            format: LayerFormat::Generated,
            kind: LayerKind::Pois,
            crs: Crs::Epsg(3067),
            features: vec![Feature {
                source_id: 0,
                geometry: Geometry::Point(geo_types::Point::new(385_000.0, 6_672_000.0)),
                attributes: a,
            }],
            skipped: SkipReport::default(),
            catalogue: Default::default(),
        };
        crate::twin::gis::shapefile::write_shapefile(&layer, &dir.join("good.shp")).unwrap();
        crate::twin::gis::shapefile::write_shapefile(&layer, &dir.join("bad.shp")).unwrap();
        std::fs::write(dir.join("bad.prj"), "PROJCS[\"nonsense\",GEOGCS[broken").unwrap();
        let text = r#"(name: "t", layers: [
            (name: "bad", path: "bad.shp", kind: pois),
            (name: "good", path: "good.shp", kind: pois),
        ])"#;
        std::fs::write(dir.join("t.ron"), text).unwrap();
        let loaded = load_scene(&dir.join("t.ron")).unwrap();
        let e = loaded.report.layers[0].error.as_ref().expect("bad layer fails");
        assert!(e.contains("bad.shp"), "{e}");
        assert!(loaded.report.layers[1].error.is_none());
        assert_eq!(loaded.city.pois.len(), 1);
    }
}
