//! GeoPackage on real data, written by another program than ours: GDAL's `ogr2ogr` turns
//! the shared shapefiles into GeoPackages in the test, and what citytwin reads from them
//! (counts, CRS, extents, heights, a spatial window) is checked against GDAL's own reading
//! of the same file (`ogrinfo`) in the same run; and `import --format gpkg` writes a file
//! that GDAL reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use citytwin::twin::crs::Crs;
use citytwin::twin::gis::gpkg::{self, ReadOptions};
use citytwin::twin::gis::layer::{Layer, LayerKind};
use citytwin::twin::heights::{HeightSource, MAX_PLAUSIBLE_HEIGHT_M};
use citytwin::twin::load;

use crate::common::{data, tmp};

/// Runs a GDAL tool; `None` (the test returns) when GDAL is not installed, except under
/// CI, where scripts/setup-debian.sh installs it and its absence fails the test.
fn gdal(tool: &str, args: &[&str]) -> Option<String> {
    let out = match Command::new(tool).args(args).output() {
        Ok(o) => o,
        Err(e) => {
            if std::env::var_os("CI").is_some() {
                panic!("{tool} not found under CI ({e}): scripts/setup-debian.sh installs gdal-bin");
            }
            eprintln!("{tool} not found ({e}); skipping");
            return None;
        }
    };
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A GeoPackage written by `ogr2ogr` from shapefiles, one table per `(shapefile, table)`.
fn ogr2ogr_gpkg(dir: &Path, name: &str, layers: &[(&Path, &str)]) -> Option<PathBuf> {
    let out = dir.join(name);
    for (i, (shp, table)) in layers.iter().enumerate() {
        let mut args = vec!["-f", "GPKG"];
        if i > 0 {
            args.push("-update");
        }
        args.extend([out.to_str()?, shp.to_str()?, "-nln", table]);
        gdal("ogr2ogr", &args)?;
    }
    Some(out)
}

/// What `ogrinfo -so` says of a table: feature count, extent, EPSG code.
struct GdalSummary {
    count: usize,
    extent: [f64; 4],
    epsg: Option<u32>,
}

fn ogrinfo_summary(file: &Path, table: &str, spat: Option<[f64; 4]>) -> Option<GdalSummary> {
    let spat: Vec<String> = spat
        .map(|b| b.iter().map(|v| format!("{v}")).collect())
        .unwrap_or_default();
    let mut args = vec!["-so"];
    if !spat.is_empty() {
        args.push("-spat");
        args.extend(spat.iter().map(String::as_str));
    }
    args.extend([file.to_str()?, table]);
    let text = gdal("ogrinfo", &args)?;
    let count = text
        .lines()
        .find_map(|l| l.strip_prefix("Feature Count: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("ogrinfo prints a feature count");
    // Extent: (x0, y0) - (x1, y1)
    let nums: Vec<f64> = text
        .lines()
        .find_map(|l| l.strip_prefix("Extent: "))
        .expect("ogrinfo prints an extent")
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e'))
        .filter_map(|s| s.parse().ok())
        .collect();
    assert_eq!(nums.len(), 4, "{text}");
    // The CRS's own ID is the last EPSG ID of the WKT.
    let epsg = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("ID[\"EPSG\","))
        .next_back()
        .and_then(|s| s.trim_end_matches(']').parse().ok());
    Some(GdalSummary {
        count,
        extent: [nums[0], nums[1], nums[2], nums[3]],
        epsg,
    })
}

/// GDAL's value of one text field for every feature: fid → value (`(null)` left out).
fn ogrinfo_field(file: &Path, table: &str, field: &str) -> Option<BTreeMap<i64, String>> {
    let text = gdal("ogrinfo", &["-q", "-geom=NO", file.to_str()?, table])?;
    let mut out = BTreeMap::new();
    let mut fid = None;
    let prefix = format!("  {field} (");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(&format!("OGRFeature({table}):")) {
            fid = rest.trim().parse().ok();
        } else if let (Some(rest), Some(f)) = (line.strip_prefix(&prefix), fid)
            && let Some((_, v)) = rest.split_once(") = ")
            && v != "(null)"
        {
            out.insert(f, v.to_string());
        }
    }
    Some(out)
}

fn read(file: &Path, table: &str, kind: LayerKind) -> Layer {
    gpkg::read_gpkg(
        file,
        kind,
        &ReadOptions {
            table: Some(table),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn assert_extent_within(ours: [f64; 4], gdal: [f64; 4], exact: bool, what: &str) {
    // ogrinfo prints six decimals.
    let tol = 1e-5;
    for i in 0..4 {
        let inside = if i < 2 {
            ours[i] >= gdal[i] - tol
        } else {
            ours[i] <= gdal[i] + tol
        };
        assert!(inside, "{what}: ours {ours:?}, GDAL {gdal:?}");
        if exact {
            assert!(
                (ours[i] - gdal[i]).abs() <= tol,
                "{what}: ours {ours:?}, GDAL {gdal:?}"
            );
        }
    }
}

#[test]
fn monaco_geopackage_from_ogr2ogr_reads_as_gdal_reads_it() {
    let Some(dir) = data("shp/monaco-2016") else {
        return;
    };
    let out = tmp("gpkg-monaco");
    let tables = [
        ("buildings", LayerKind::Buildings),
        ("roads", LayerKind::Roads),
        ("pois", LayerKind::Pois),
        ("districts", LayerKind::Zones),
    ];
    let shps: Vec<PathBuf> = tables.iter().map(|(t, _)| dir.join(format!("{t}.shp"))).collect();
    let pairs: Vec<(&Path, &str)> = shps
        .iter()
        .map(PathBuf::as_path)
        .zip(tables.iter().map(|t| t.0))
        .collect();
    let Some(file) = ogr2ogr_gpkg(&out, "monaco.gpkg", &pairs) else {
        return;
    };
    assert_eq!(
        gpkg::feature_tables(&file).unwrap(),
        ["buildings", "districts", "pois", "roads"]
    );
    for (table, kind) in tables {
        let Some(g) = ogrinfo_summary(&file, table, None) else {
            return;
        };
        let l = read(&file, table, kind);
        assert_eq!(
            l.crs,
            Crs::Epsg(g.epsg.expect("GDAL names an EPSG code")),
            "{table}"
        );
        assert_eq!(l.crs, Crs::Epsg(2154), "{table}: Lambert-93");
        assert_eq!(
            l.features.len() + l.skipped.total(),
            g.count,
            "{table}: {:?}",
            l.skipped
        );
        assert!(l.skipped.total() <= 10, "{table}: {:?}", l.skipped);
        let exact = l.skipped.total() == 0;
        assert_extent_within(l.bbox().expect("features"), g.extent, exact, table);
    }
    // The same city as the shapefiles give it, through a scene naming the tables.
    let scene_text = format!(
        "(name: \"m\", layers: [\n{}])",
        tables
            .iter()
            .map(|(t, k)| format!(
                "  (name: \"{t}\", path: \"monaco.gpkg\", table: Some(\"{t}\"), kind: {}),\n",
                k.name()
            ))
            .collect::<String>()
    );
    std::fs::write(out.join("m.ron"), scene_text).unwrap();
    let from_gpkg = load::load_scene(&out.join("m.ron")).expect("loads");
    assert!(from_gpkg.report.layers.iter().all(|l| l.error.is_none()));
    let shp_scene = load::scene_for_file(&dir.join("buildings.shp"), None);
    let (from_shp, _) = load::load_layers(&shp_scene, &dir).expect("loads");
    assert_eq!(from_gpkg.city.crs, from_shp.crs);
    assert_eq!(from_gpkg.city.buildings.len(), from_shp.buildings.len());
    assert!(!from_gpkg.city.roads.is_empty());
    let a: f64 = from_gpkg.city.buildings.iter().map(|b| b.height_m).sum();
    let b: f64 = from_shp.buildings.iter().map(|b| b.height_m).sum();
    assert!((a - b).abs() < 1e-6 * b, "heights {a} vs {b}");
}

#[test]
fn nyc_heights_from_a_geopackage_are_gdals_values() {
    let Some(shp) = data("shp/nyc-west-village/buildings.shp") else {
        return;
    };
    let out = tmp("gpkg-nyc");
    let Some(file) = ogr2ogr_gpkg(&out, "nyc.gpkg", &[(&shp, "buildings")]) else {
        return;
    };
    let Some(g) = ogrinfo_summary(&file, "buildings", None) else {
        return;
    };
    let Some(gdal_heights) = ogrinfo_field(&file, "buildings", "height") else {
        return;
    };
    assert_eq!(g.epsg, Some(2263));
    let scene = load::scene_for_file(&file, None);
    assert_eq!(scene.layers.len(), 1);
    assert_eq!(scene.layers[0].table.as_deref(), Some("buildings"));
    let (city, report) = load::load_layers(&scene, &out).expect("loads");
    let r = &report.layers[0];
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.source_crs.as_deref(), Some("EPSG:2263"));
    assert_eq!(city.buildings.len() + r.skipped.total(), g.count);
    // Every height GDAL reads as a plausible number of metres is the building's height.
    let mut checked = 0;
    for b in &city.buildings {
        let Some(h) = gdal_heights
            .get(&b.source_id)
            .and_then(|v| v.trim().parse::<f64>().ok())
        else {
            continue;
        };
        if !(h > 0.0 && h <= MAX_PLAUSIBLE_HEIGHT_M) {
            continue;
        }
        assert_eq!(b.height_source, HeightSource::Measured, "fid {}", b.source_id);
        assert!(
            (b.height_m - h).abs() < 1e-9,
            "fid {}: ours {}, GDAL {h}",
            b.source_id,
            b.height_m
        );
        checked += 1;
    }
    assert!(checked >= 1500, "{checked} heights compared");
}

#[test]
fn a_scene_extent_reads_through_the_rtree_what_gdal_finds_in_the_window() {
    let Some(shp) = data("shp/monaco-2016/buildings.shp") else {
        return;
    };
    let out = tmp("gpkg-extent");
    let Some(file) = ogr2ogr_gpkg(&out, "monaco.gpkg", &[(&shp, "buildings")]) else {
        return;
    };
    // Monaco-Ville, the Rock.
    let extent = [7.415, 43.727, 7.425, 43.734];
    let windowed = gpkg::read_gpkg(
        &file,
        LayerKind::Buildings,
        &ReadOptions {
            extent_wgs84: Some(extent),
            ..Default::default()
        },
    )
    .unwrap();
    let mut all = read(&file, "buildings", LayerKind::Buildings);
    let left_out = citytwin::twin::gis::extent::retain_within(&mut all, extent).unwrap();
    assert!(left_out > 20_000, "{left_out}");
    let ids = |l: &Layer| l.features.iter().map(|f| f.source_id).collect::<Vec<_>>();
    assert_eq!(
        ids(&windowed),
        ids(&all),
        "the R-tree finds what a full read keeps"
    );
    // GDAL's spatial filter on the same window (in the layer's CRS) keeps features whose
    // geometry meets it; ours keeps those whose bounding box does: a few more at most.
    let window = citytwin::twin::gis::extent::in_crs(extent, &Crs::Epsg(2154)).unwrap();
    let Some(g) = ogrinfo_summary(&file, "buildings", Some(window)) else {
        return;
    };
    let n = windowed.features.len();
    assert!(n >= 100, "{n}");
    assert!(
        g.count <= n && n <= g.count + g.count / 50,
        "ours {n}, GDAL {}",
        g.count
    );
}

#[test]
fn import_as_geopackage_writes_one_file_gdal_reads() {
    let Some(pbf) = data("osm/nyc-west-village.osm.pbf") else {
        return;
    };
    let dir = tmp("gpkg-import");
    let out = Command::new(env!("CARGO_BIN_EXE_citytwin"))
        .args(["import", pbf.to_str().unwrap(), "--out", dir.to_str().unwrap()])
        .args(["--crs", "EPSG:2263", "--format", "gpkg"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let file = dir.join("nyc-west-village.gpkg");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files.len(), 2, "one GeoPackage and the scene: {files:?}");
    let tables = gpkg::feature_tables(&file).unwrap();
    assert!(
        tables.iter().any(|t| t == "buildings") && tables.iter().any(|t| t == "pois"),
        "{tables:?}"
    );
    for table in &tables {
        let Some(g) = ogrinfo_summary(&file, table, None) else {
            return;
        };
        let l = read(&file, table, LayerKind::Other);
        assert_eq!(g.epsg, Some(2263), "{table}");
        assert_eq!(g.count, l.features.len(), "{table}");
        assert!(g.count > 0, "{table}");
        assert_extent_within(l.bbox().unwrap(), g.extent, true, table);
    }
    // GDAL sees the attributes typed and the spatial index in place.
    let Some(info) = gdal("ogrinfo", &["-so", file.to_str().unwrap(), "buildings"]) else {
        return;
    };
    assert!(
        info.contains("osm_id: Integer64") || info.contains("osm_id: Integer"),
        "{info}"
    );
    let Some(sql) = gdal(
        "ogrinfo",
        &[
            file.to_str().unwrap(),
            "-sql",
            "SELECT HasSpatialIndex('buildings', 'geom')",
        ],
    ) else {
        return;
    };
    assert!(sql.contains("(Integer) = 1"), "{sql}");
    // The scene written beside it loads the city back.
    let loaded = load::load_scene(&dir.join("scene.ron")).expect("loads");
    assert!(loaded.report.layers.iter().all(|l| l.error.is_none()));
    let measured = loaded
        .city
        .buildings
        .iter()
        .filter(|b| b.height_source == HeightSource::Measured)
        .count();
    assert!(measured >= 1500, "{measured}");
}
