//! The GIS core on the shared real data: Lambert-93 (metres) and New York State Plane (US
//! feet) shapefiles and OSM PBF extracts, checked against GDAL's counts and known places.

use citytwin::twin::city::CityModel;
use citytwin::twin::crs::{Crs, Transformer, WGS84};
use citytwin::twin::gis::layer::{AttrValue, LayerKind};
use citytwin::twin::heights::HeightSource;
use citytwin::twin::load::{self, LoadReport};
use geo::Centroid;

use crate::common::{data, haversine_m};

fn load_file(path: &std::path::Path) -> (CityModel, LoadReport) {
    let scene = load::scene_for_file(path, None);
    load::load_layers(&scene, path.parent().unwrap()).expect("loads")
}

fn to_wgs84(city: &CityModel, c: geo::Point<f64>) -> (f64, f64) {
    Transformer::new(&city.crs, &WGS84)
        .unwrap()
        .point(c.x(), c.y())
        .unwrap()
}

#[test]
fn monaco_lambert93_buildings() {
    let Some(p) = data("shp/monaco-2016/buildings.shp") else {
        return;
    };
    let (city, report) = load_file(&p);
    let r = &report.layers[0];
    assert!(r.error.is_none(), "{:?}", r.error);
    assert!(
        r.source_crs.as_deref().unwrap().contains("Lambert"),
        "{:?}",
        r.source_crs
    );
    assert_eq!(city.crs, Crs::Epsg(32632), "UTM 32N is Monaco's zone");
    // GDAL reads 23,334 features; every one is either kept or counted as skipped.
    assert_eq!(
        city.buildings.len() + r.skipped.total(),
        23_334,
        "{:?}",
        r.skipped
    );
    assert!(r.skipped.total() <= 10, "{:?}", r.skipped);
    // GDAL: 43 polygons with holes and one multipolygon.
    let with_holes = city
        .buildings
        .iter()
        .filter(|b| b.footprint.0.iter().any(|p| !p.interiors().is_empty()))
        .count();
    assert_eq!(with_holes, 43);
    assert_eq!(r.geometry_counts.get("MultiPolygon"), Some(&1));
    // The Casino de Monte-Carlo is at 43.7394 N, 7.4281 E.
    let casino = city
        .buildings
        .iter()
        .find(|b| b.name.as_deref() == Some("Casino de Monte Carlo"))
        .expect("casino");
    let at = to_wgs84(&city, casino.footprint.centroid().unwrap());
    assert!(haversine_m(at, (7.4281, 43.7394)) < 100.0, "{at:?}");
    // Whole extract: Monaco and its neighbours.
    let b = r.bbox_wgs84.unwrap();
    assert!(b[0] > 7.2 && b[2] < 7.6 && b[1] > 43.6 && b[3] < 43.85, "{b:?}");
    let (m, l, e) = city.height_source_counts();
    assert_eq!(m + l + e, city.buildings.len());
}

#[test]
fn new_york_feet_are_converted_by_proj() {
    let Some(p) = data("shp/nyc-west-village/buildings.shp") else {
        return;
    };
    let (city, report) = load_file(&p);
    let r = &report.layers[0];
    assert_eq!(city.buildings.len(), 1520);
    assert_eq!(city.crs, Crs::Epsg(32618));
    // Two far-apart buildings: their distance in the scene (UTM metres) must equal the
    // distance in the source (US survey feet × 0.3048006) and on the ellipsoid, up to the
    // projections' scale factors (< 0.1 %). Feet taken as metres would be 3.28× off.
    let raw = citytwin::twin::gis::shapefile::read_shapefile(&p, LayerKind::Buildings, None).unwrap();
    let (i, j) = (0, raw.features.len() - 1);
    let c = |g: &geo::Geometry<f64>| g.centroid().unwrap();
    let (a, b) = (c(&raw.features[i].geometry), c(&raw.features[j].geometry));
    let feet = ((a.x() - b.x()).powi(2) + (a.y() - b.y()).powi(2)).sqrt();
    let (sa, sb) = (
        city.buildings[i].footprint.centroid().unwrap(),
        city.buildings[j].footprint.centroid().unwrap(),
    );
    let metres = ((sa.x() - sb.x()).powi(2) + (sa.y() - sb.y()).powi(2)).sqrt();
    assert!(metres > 100.0, "{metres}");
    let ratio = metres / (feet * 1200.0 / 3937.0);
    assert!(
        (ratio - 1.0).abs() < 1e-3,
        "scene {metres} m vs source {feet} ft: {ratio}"
    );
    let ground = haversine_m(to_wgs84(&city, sa), to_wgs84(&city, sb));
    // Haversine is on a sphere: up to ~0.3 % from the ellipsoid at this latitude.
    assert!((metres / ground - 1.0).abs() < 3e-3, "{metres} vs {ground}");
    let _ = r.bbox_scene.unwrap();
    let b = r.bbox_wgs84.unwrap();
    assert!(
        b[0] > -74.02 && b[2] < -73.98 && b[1] > 40.72 && b[3] < 40.76,
        "{b:?}"
    );
    // 1,509 buildings carry the `height` text in metres.
    let (measured, _, _) = city.height_source_counts();
    assert_eq!(measured, 1509);
    for b in city
        .buildings
        .iter()
        .filter(|b| b.height_source == HeightSource::Measured)
    {
        let AttrValue::Text(t) = &b.attributes["height"] else {
            panic!("text heights")
        };
        assert_eq!(b.height_m, t.parse::<f64>().unwrap());
    }
    // GDAL reads the same field as 2.7 m to 69.4 m.
    let measured_heights = || {
        city.buildings
            .iter()
            .filter(|b| b.height_source == HeightSource::Measured)
            .map(|b| b.height_m)
    };
    assert_eq!(measured_heights().fold(f64::MAX, f64::min), 2.7);
    assert_eq!(measured_heights().fold(0.0, f64::max), 69.4);
}

#[test]
fn stonewall_inn_is_where_it_is() {
    let Some(p) = data("shp/nyc-west-village/pois.shp") else {
        return;
    };
    let (city, _) = load_file(&p);
    let inn = city
        .pois
        .iter()
        .find(|p| p.name.as_deref() == Some("Stonewall Inn"))
        .expect("Stonewall Inn");
    assert_eq!((inn.category.as_str(), inn.kind.as_str()), ("amenity", "bar"));
    let at = to_wgs84(&city, inn.point);
    assert!(haversine_m(at, (-74.00214, 40.73381)) < 30.0, "{at:?}");
}

#[test]
fn monaco_districts_become_zones() {
    let Some(p) = data("shp/monaco-2016/districts.shp") else {
        return;
    };
    let (city, report) = load_file(&p);
    assert_eq!(report.layers[0].kind, LayerKind::Zones);
    assert_eq!(city.zones.len(), 16);
    assert!(city.zones.iter().all(|z| !z.generated));
    assert!(
        city.zones.iter().any(|z| z.name.contains("Monte")),
        "named districts"
    );
}

#[test]
fn osm_relations_assemble_monaco_quarters() {
    let Some(p) = data("osm/monaco-2016.osm.pbf") else {
        return;
    };
    let layers = citytwin::twin::gis::osm::read_osm(&p).unwrap();
    let zones = layers.iter().find(|l| l.kind == LayerKind::Zones).expect("zones");
    let quarters: Vec<_> = zones
        .features
        .iter()
        .filter(|f| f.text("admin_level").as_deref() == Some("10"))
        .collect();
    assert_eq!(quarters.len(), 9, "Monaco's nine quarters");
    for q in quarters {
        let c = q.geometry.centroid().unwrap();
        assert!(
            (7.40..7.45).contains(&c.x()) && (43.72..43.76).contains(&c.y()),
            "{c:?}"
        );
    }
    let buildings = layers.iter().find(|l| l.kind == LayerKind::Buildings).unwrap();
    assert!(buildings.features.len() >= 23_000, "{}", buildings.features.len());
}

#[test]
fn a_scene_loads_both_crss_into_one_frame() {
    let Some(d) = crate::common::data_dir() else {
        return;
    };
    let dir = crate::common::tmp("two-crs");
    let text = format!(
        r#"(name: "two", crs: Some("EPSG:2154"), layers: [
            (name: "monaco", path: "{}", kind: buildings),
            (name: "broken", path: "{}", kind: buildings),
        ])"#,
        d.join("shp/monaco-2016/buildings.shp").display(),
        dir.join("missing.shp").display()
    );
    std::fs::write(dir.join("s.ron"), text).unwrap();
    let l = load::load_scene(&dir.join("s.ron")).unwrap();
    assert_eq!(l.city.crs, Crs::Epsg(2154));
    assert!(l.report.layers[1].error.as_ref().unwrap().contains("missing.shp"));
    // Same CRS as the file: the identity transform keeps coordinates exactly.
    let b = l.report.layers[0].bbox_scene.unwrap();
    // GDAL's extent (1,050,085.388, 6,300,367.310) – (1,061,470.651, 6,307,046.465) includes
    // the 8 degenerate features citytwin skips, so compare within a metre.
    let gdal = [1_050_085.388, 6_300_367.310, 1_061_470.651, 6_307_046.465];
    for (ours, theirs) in b.iter().zip(gdal) {
        assert!((ours - theirs).abs() < 1.0, "{b:?}");
    }
}
