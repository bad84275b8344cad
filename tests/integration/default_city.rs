//! The shipped scenes, which never skip: the default one, Monaco and its neighbours from
//! one OSM PBF extract drawn in UTM 32N with the sea built from the coastline; and central
//! Helsinki, Shapefile and GeoJSON in EPSG:3067, loaded into UTM 35N.

use citytwin::twin::crs::Crs;
use citytwin::twin::gis::layer::{LayerFormat, LayerKind};
use citytwin::twin::load::load_scene;
use citytwin::twin::scene::{DEFAULT_SCENE, HELSINKI_SCENE};

use crate::common::root;

#[test]
fn default_scene_is_monaco_read_from_one_osm_file() {
    let loaded = load_scene(&root().join(DEFAULT_SCENE)).expect("default scene");
    let city = &loaded.city;
    assert_eq!(city.crs, Crs::Epsg(32632));
    for r in &loaded.report.layers {
        assert!(r.error.is_none(), "{}: {:?}", r.name, r.error);
        assert!(r.features > 0, "{} is empty", r.name);
        assert_eq!(r.format, LayerFormat::OsmPbf, "{}", r.name);
        assert_eq!(r.source_crs.as_deref(), Some("EPSG:4326"), "{}", r.name);
        let b = r.bbox_wgs84.unwrap();
        // The extract's box around Monaco.
        assert!(
            b[0] >= 7.348 && b[2] <= 7.492 && b[1] >= 43.709 && b[3] <= 43.771,
            "{}: {b:?}",
            r.name
        );
    }
    assert!(city.buildings.len() >= 23_000, "{}", city.buildings.len());
    assert!(city.roads.len() >= 2_800, "{}", city.roads.len());
    assert!(city.pois.len() >= 700, "{}", city.pois.len());
    // Monaco's nine quarters and three French communes as districts, not a generated grid.
    assert_eq!(city.zones.len(), 12);
    assert!(city.zones.iter().all(|z| !z.generated));
    assert!(city.zones.iter().any(|z| z.name == "Monte-Carlo"));
    // The sea is the largest water area: tens of square kilometres off the coast.
    let sea_m2: f64 = city
        .areas
        .iter()
        .filter(|a| a.kind == LayerKind::Water && a.class == "sea")
        .map(|a| geo::Area::unsigned_area(&a.area))
        .sum();
    assert!(sea_m2 > 20e6, "{sea_m2} m² of sea");
    // The scene origin keeps render coordinates small.
    let b = city.bbox().unwrap();
    let far = (b[2] - city.origin.x).abs().max((b[3] - city.origin.y).abs());
    assert!(far < 10_000.0, "{far}");
    for l in &city.layers {
        assert_eq!(l.catalogue.meta.attribution, "© OpenStreetMap contributors");
        assert!(l.catalogue.source_modified.is_some());
    }
}

#[test]
fn helsinki_scene_loads_both_formats_with_a_real_reprojection() {
    let loaded = load_scene(&root().join(HELSINKI_SCENE)).expect("Helsinki scene");
    let city = &loaded.city;
    assert_eq!(city.crs, Crs::Epsg(32635));
    for r in &loaded.report.layers {
        assert!(r.error.is_none(), "{}: {:?}", r.name, r.error);
        assert!(r.features > 0, "{} is empty", r.name);
        // Shapefiles name it in their .prj, GeoJSON by its EPSG code.
        let crs = r.source_crs.as_deref().unwrap();
        assert!(crs.contains("TM35FIN") || crs == "EPSG:3067", "{}: {crs}", r.name);
        let b = r.bbox_wgs84.unwrap();
        // Central Helsinki.
        assert!(
            b[0] > 24.85 && b[2] < 25.05 && b[1] > 60.13 && b[3] < 60.21,
            "{}: {b:?}",
            r.name
        );
    }
    let formats: Vec<LayerFormat> = loaded.report.layers.iter().map(|r| r.format).collect();
    assert!(formats.contains(&LayerFormat::Shapefile) && formats.contains(&LayerFormat::GeoJson));
    assert!(city.buildings.len() > 400, "{}", city.buildings.len());
    assert!(city.roads.len() > 2000, "{}", city.roads.len());
    assert!(city.pois.len() > 1000, "{}", city.pois.len());
    assert!(!city.zones.is_empty());
    // The scene origin keeps render coordinates small.
    let b = city.bbox().unwrap();
    let far = (b[2] - city.origin.x).abs().max((b[3] - city.origin.y).abs());
    assert!(far < 10_000.0, "{far}");
    // Every layer carries its catalogue entry.
    for l in &city.layers {
        assert_eq!(l.catalogue.meta.attribution, "© OpenStreetMap contributors");
        assert!(l.catalogue.source_modified.is_some());
    }
    assert!(city.layers.iter().any(|l| l.kind == LayerKind::Buildings));
}

#[test]
fn data_folder_stays_small() {
    fn size(p: &std::path::Path) -> u64 {
        std::fs::read_dir(p)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    size(&e.path())
                } else {
                    e.metadata().unwrap().len()
                }
            })
            .sum()
    }
    let total = size(&root().join("data"));
    assert!(total < 10 * 1024 * 1024, "data/ is {total} bytes");
}
