//! `citytwin synth`: a deterministic synthetic city for scale work — irregular building
//! footprints (rectangles, L-shapes, courtyards with holes) with heights, a street grid and
//! districts, written as Shapefiles in a projected CRS with a scene file beside them.

use std::path::{Path, PathBuf};

use geo_types::{Coord, Geometry, LineString, Polygon};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::twin::crs::Crs;
use crate::twin::error::GisError;
use crate::twin::gis::layer::{AttrValue, Attributes, Feature, Layer, LayerFormat, LayerKind, SkipReport};
use crate::twin::gis::shapefile::write_shapefile;
use crate::twin::load::{LoadedScene, load_layers_from};
use crate::twin::progress::{Progress, Stage};
use crate::twin::scene::{Scene, SceneError};

/// CRS of synthetic cities (ETRS-TM35FIN, metres).
pub const SYNTH_CRS: Crs = Crs::Epsg(3067);
/// South-west corner of a synthetic city in [`SYNTH_CRS`].
const SYNTH_ORIGIN: (f64, f64) = (380_000.0, 6_670_000.0);
/// Side of a building lot, metres.
const LOT_M: f64 = 25.0;
/// Lots along each side of a block.
const LOTS_PER_SIDE: usize = 4;
/// Street width between blocks, metres.
const STREET_M: f64 = 20.0;
/// Blocks along each side of a district.
const BLOCKS_PER_DISTRICT: usize = 10;
/// Storey height used for synthetic heights, metres.
const STOREY_M: f64 = 3.0;

/// Sizes of what [`write_synth`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthSummary {
    /// Buildings written.
    pub buildings: usize,
    /// Of which with a courtyard hole.
    pub courtyards: usize,
    /// Street segments written.
    pub roads: usize,
    /// Districts written.
    pub districts: usize,
}

fn layer(name: &str, kind: LayerKind, features: Vec<Feature>) -> Layer {
    Layer {
        name: name.into(),
        format: LayerFormat::Generated,
        kind,
        crs: SYNTH_CRS,
        features,
        skipped: SkipReport::default(),
        catalogue: Default::default(),
    }
}

fn ring(points: &[(f64, f64)], x0: f64, y0: f64, rng: &mut ChaCha8Rng) -> LineString<f64> {
    // Up to ±0.4 m of jitter keeps footprints irregular but simple (sides are ≥ 4 m).
    let mut v: Vec<Coord<f64>> = points
        .iter()
        .map(|&(x, y)| Coord {
            x: x0 + x + rng.random_range(-0.4..0.4),
            y: y0 + y + rng.random_range(-0.4..0.4),
        })
        .collect();
    v.push(v[0]);
    LineString::from(v)
}

/// One building footprint in the lot whose south-west corner is `(x0, y0)`.
fn footprint(x0: f64, y0: f64, rng: &mut ChaCha8Rng) -> (Polygon<f64>, bool) {
    let m = 2.0;
    let roll: f64 = rng.random();
    if roll < 0.6 {
        let w = rng.random_range(8.0..LOT_M - 2.0 * m);
        let h = rng.random_range(8.0..LOT_M - 2.0 * m);
        let p = [(m, m), (m + w, m), (m + w, m + h), (m, m + h)];
        (Polygon::new(ring(&p, x0, y0, rng), vec![]), false)
    } else if roll < 0.85 {
        let w = rng.random_range(14.0..LOT_M - 2.0 * m);
        let h = rng.random_range(14.0..LOT_M - 2.0 * m);
        let a = rng.random_range(5.0..w - 5.0);
        let b = rng.random_range(5.0..h - 5.0);
        let p = [
            (m, m),
            (m + w, m),
            (m + w, m + b),
            (m + a, m + b),
            (m + a, m + h),
            (m, m + h),
        ];
        (Polygon::new(ring(&p, x0, y0, rng), vec![]), false)
    } else {
        let s = rng.random_range(17.0..LOT_M - 2.0 * m);
        let i = 5.0;
        let outer = [(m, m), (m + s, m), (m + s, m + s), (m, m + s)];
        let inner = [
            (m + i, m + i),
            (m + i, m + s - i),
            (m + s - i, m + s - i),
            (m + s - i, m + i),
        ];
        let o = ring(&outer, x0, y0, rng);
        let h = ring(&inner, x0, y0, rng);
        (Polygon::new(o, vec![h]), true)
    }
}

fn building_attrs(rng: &mut ChaCha8Rng) -> Attributes {
    let mut a = Attributes::new();
    let usage = match rng.random_range(0..20) {
        0..=11 => "residential",
        12..=14 => "commercial",
        15..=16 => "office",
        17..=18 => "industrial",
        _ => "school",
    };
    // Mostly low-rise, a few towers.
    let levels = if rng.random_bool(0.03) {
        rng.random_range(10..40)
    } else {
        rng.random_range(1..8)
    };
    a.insert("building".into(), AttrValue::Text(usage.into()));
    match rng.random_range(0..10) {
        0..=5 => {
            let h = levels as f64 * STOREY_M + rng.random_range(0.5..2.0);
            a.insert("height".into(), AttrValue::Number((h * 10.0).round() / 10.0));
        }
        6..=8 => {
            a.insert("levels".into(), AttrValue::Number(levels as f64));
        }
        _ => {}
    }
    a
}

fn line(a: (f64, f64), b: (f64, f64)) -> Geometry<f64> {
    Geometry::LineString(LineString::from(vec![a, b]))
}

/// A synthetic city in memory: its layers in scene order (districts, roads, buildings),
/// the scene text naming them, and its sizes.
#[derive(Debug, Clone)]
pub struct SynthCity {
    /// Districts, roads and buildings, in the order of the scene's layers.
    pub layers: Vec<Layer>,
    /// The scene file (RON) for the layers written as Shapefiles beside it.
    pub scene_text: String,
    /// Sizes.
    pub summary: SynthSummary,
}

/// Name of the scene file [`write_synth`] writes.
pub const SYNTH_SCENE_FILE: &str = "synth.ron";
/// File names of the layers, in the order of [`SynthCity::layers`].
const SYNTH_LAYER_FILES: [&str; 3] = ["districts.shp", "roads.shp", "buildings.shp"];

/// Generates a synthetic city of `buildings` buildings in memory (deterministic for a
/// seed).
pub fn synth_city(buildings: usize, seed: u64) -> SynthCity {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let per_block = LOTS_PER_SIDE * LOTS_PER_SIDE;
    let blocks = buildings.div_ceil(per_block).max(1);
    let side = (blocks as f64).sqrt().ceil() as usize;
    let block_m = LOT_M * LOTS_PER_SIDE as f64;
    let pitch = block_m + STREET_M;
    let (ox, oy) = SYNTH_ORIGIN;

    let mut features = Vec::with_capacity(buildings);
    let mut courtyards = 0;
    'outer: for by in 0..side {
        for bx in 0..side {
            for lot in 0..per_block {
                if features.len() == buildings {
                    break 'outer;
                }
                let x0 = ox + STREET_M + bx as f64 * pitch + (lot % LOTS_PER_SIDE) as f64 * LOT_M;
                let y0 = oy + STREET_M + by as f64 * pitch + (lot / LOTS_PER_SIDE) as f64 * LOT_M;
                let (poly, court) = footprint(x0, y0, &mut rng);
                courtyards += court as usize;
                features.push(Feature {
                    source_id: features.len() as i64,
                    geometry: Geometry::Polygon(poly),
                    attributes: building_attrs(&mut rng),
                });
            }
        }
    }
    let n_buildings = features.len();
    let buildings_layer = layer("buildings", LayerKind::Buildings, features);

    // Streets: one segment per block edge, centred in the street.
    let mut roads = Vec::new();
    let at = |i: usize| i as f64 * pitch + STREET_M / 2.0;
    for i in 0..=side {
        for j in 0..side {
            let class = if i % BLOCKS_PER_DISTRICT == 0 {
                "primary"
            } else {
                "residential"
            };
            for (k, g) in [
                line((ox + at(j), oy + at(i)), (ox + at(j + 1), oy + at(i))),
                line((ox + at(i), oy + at(j)), (ox + at(i), oy + at(j + 1))),
            ]
            .into_iter()
            .enumerate()
            {
                let mut a = Attributes::new();
                a.insert("highway".into(), AttrValue::Text(class.into()));
                let axis = if k == 0 { "East" } else { "North" };
                a.insert("name".into(), AttrValue::Text(format!("{axis} Street {i}")));
                a.insert(
                    "maxspeed".into(),
                    AttrValue::Number(if class == "primary" { 50.0 } else { 30.0 }),
                );
                roads.push(Feature {
                    source_id: roads.len() as i64,
                    geometry: g,
                    attributes: a,
                });
            }
        }
    }
    let n_roads = roads.len();

    let dside = side.div_ceil(BLOCKS_PER_DISTRICT);
    let dm = pitch * BLOCKS_PER_DISTRICT as f64;
    let mut districts = Vec::new();
    for r in 0..dside {
        for c in 0..dside {
            let (x, y) = (ox + c as f64 * dm, oy + r as f64 * dm);
            let p = Polygon::new(
                LineString::from(vec![(x, y), (x + dm, y), (x + dm, y + dm), (x, y + dm), (x, y)]),
                vec![],
            );
            let mut a = Attributes::new();
            a.insert("name".into(), AttrValue::Text(format!("District {c}-{r}")));
            districts.push(Feature {
                source_id: districts.len() as i64,
                geometry: Geometry::Polygon(p),
                attributes: a,
            });
        }
    }
    let n_districts = districts.len();

    let scene_text = format!(
        r#"// Synthetic city: {n_buildings} buildings, seed {seed}. Made by `citytwin synth`.
(
    name: "Synthetic city ({n_buildings} buildings)",
    crs: Some("{crs}"),
    layers: [
        (name: "districts", path: "{d}", kind: zones, style: (colour: (90, 110, 140))),
        (name: "roads", path: "{r}", kind: roads, class_field: Some("highway"), style: (colour: (120, 120, 120))),
        (name: "buildings", path: "{b}", kind: buildings, style: (colour: (215, 205, 190))),
    ],
)
"#,
        crs = SYNTH_CRS.definition(),
        d = SYNTH_LAYER_FILES[0],
        r = SYNTH_LAYER_FILES[1],
        b = SYNTH_LAYER_FILES[2],
    );
    SynthCity {
        layers: vec![
            layer("districts", LayerKind::Zones, districts),
            layer("roads", LayerKind::Roads, roads),
            buildings_layer,
        ],
        scene_text,
        summary: SynthSummary {
            buildings: n_buildings,
            courtyards,
            roads: n_roads,
            districts: n_districts,
        },
    }
}

/// Generates a synthetic city and loads it straight into a [`LoadedScene`], without files
/// (its `path` is a made-up `synth.ron` in the current folder), reporting to `progress`.
pub fn load_synth(buildings: usize, seed: u64, progress: &Progress) -> Result<LoadedScene, SceneError> {
    let path = PathBuf::from(SYNTH_SCENE_FILE);
    progress.begin(Stage::Reading, 1);
    progress.set_label("synthetic city");
    let synth = synth_city(buildings, seed);
    progress.advance(1);
    let scene = Scene::parse(&synth.scene_text, &path)?;
    let (city, report) =
        load_layers_from(&scene, synth.layers, progress).map_err(|message| SceneError::Load {
            path: path.clone(),
            message,
        })?;
    Ok(LoadedScene {
        scene,
        path,
        city,
        report,
    })
}

/// Generates a synthetic city of `buildings` buildings and writes `buildings.shp`,
/// `roads.shp`, `districts.shp` and `synth.ron` into `out`.
pub fn write_synth(out: &Path, buildings: usize, seed: u64) -> Result<SynthSummary, GisError> {
    std::fs::create_dir_all(out).map_err(|e| GisError::io(out, e))?;
    let synth = synth_city(buildings, seed);
    for (layer, file) in synth.layers.iter().zip(SYNTH_LAYER_FILES) {
        write_shapefile(layer, &out.join(file))?;
    }
    let scene = out.join(SYNTH_SCENE_FILE);
    std::fs::write(&scene, &synth.scene_text).map_err(|e| GisError::io(&scene, e))?;
    Ok(synth.summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::gis::shapefile::read_shapefile;

    #[test]
    fn synth_city_is_deterministic_valid_and_loads() {
        let a = std::env::temp_dir().join(format!("citytwin-synth-a-{}", std::process::id()));
        let b = std::env::temp_dir().join(format!("citytwin-synth-b-{}", std::process::id()));
        let sa = write_synth(&a, 500, 7).unwrap();
        let sb = write_synth(&b, 500, 7).unwrap();
        assert_eq!(sa, sb);
        assert_eq!(sa.buildings, 500);
        assert!(sa.courtyards > 30, "about 15% courtyards: {}", sa.courtyards);
        let ba = std::fs::read(a.join("buildings.shp")).unwrap();
        assert_eq!(ba, std::fs::read(b.join("buildings.shp")).unwrap());
        let l = read_shapefile(&a.join("buildings.shp"), LayerKind::Buildings, None).unwrap();
        assert_eq!(l.features.len(), 500);
        assert_eq!(l.skipped.total(), 0);
        let holes = l
            .features
            .iter()
            .filter(|f| matches!(&f.geometry, Geometry::Polygon(p) if p.interiors().len() == 1))
            .count();
        assert_eq!(holes, sa.courtyards);
        let loaded = crate::twin::load::load_scene(&a.join("synth.ron")).unwrap();
        assert_eq!(loaded.city.buildings.len(), 500);
        assert_eq!(loaded.city.zones.len(), sa.districts);
        let (m, l, e) = loaded.city.height_source_counts();
        assert!(m > 0 && l > 0 && e > 0, "{m} {l} {e}");

        // The same city straight from memory: same buildings, same heights, same origin.
        let progress = Progress::default();
        let direct = load_synth(500, 7, &progress).unwrap();
        assert_eq!(direct.city.buildings.len(), 500);
        assert_eq!(direct.city.origin, loaded.city.origin);
        assert_eq!(direct.city.zones.len(), sa.districts);
        assert_eq!(direct.city.roads.len(), loaded.city.roads.len());
        for (a, b) in direct.city.buildings.iter().zip(&loaded.city.buildings) {
            assert_eq!(a.height_m, b.height_m);
            // The Shapefile may store rings turned round: compare what they enclose.
            assert!((a.footprint_area_m2() - b.footprint_area_m2()).abs() < 1e-6);
        }
        let p = progress.snapshot();
        assert_eq!((p.stage, p.done, p.total), (Stage::Heights, 3, 3));
    }
}
