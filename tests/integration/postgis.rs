//! PostGIS layers against a real PostgreSQL + PostGIS server: `CITYTWIN_PG_URL` (a loopback
//! server `.ci/run` starts; the tests make a schema of their own in its database). GDAL's
//! `ogr2ogr` loads the shared Lambert-93 shapefile into a table; what citytwin reads back
//! through a scene with an extent smaller than the data is checked against the server's
//! own count in that extent, its CRS against `geometry_columns`, its attributes against the
//! table's values, and bad geometry rows are counted, never dropped silently. Under CI a
//! missing or unreachable server fails the tests.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::str::FromStr;

use citytwin::twin::crs::Crs;
use citytwin::twin::error::GisError;
use citytwin::twin::gis::extent::in_crs;
use citytwin::twin::gis::layer::{AttrValue, Layer, LayerFormat, LayerKind};
use citytwin::twin::gis::postgis::{self, PgSource, ReadOptions};
use geo::Area;
use postgres::{Client, NoTls};
use serde_json::Value;

use crate::common::{PG_URL_ENV, data, pg_url, tmp};

/// Monaco-Ville, the Rock: a small part of the Monaco data.
const EXTENT: [f64; 4] = [7.415, 43.727, 7.425, 43.734];
/// Lambert-93, the shapefile's CRS.
const LAMBERT_93: i32 = 2154;

/// The tests take turns: listing a database's geometry tables sees only one test's.
static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The test server: its connection settings, and the schema this test process owns.
struct Server {
    host: String,
    port: u16,
    user: String,
    password: Option<String>,
    dbname: String,
}

impl Server {
    /// From `CITYTWIN_PG_URL`; `None` (the test returns) when unset outside CI.
    fn from_env() -> Option<Server> {
        let url = pg_url()?;
        let c = postgres::Config::from_str(&url).unwrap_or_else(|e| panic!("{PG_URL_ENV}: {e}"));
        let host = match c.get_hosts().first() {
            Some(postgres::config::Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "localhost".to_string(),
        };
        let user = c.get_user().expect("the URL names a user").to_string();
        Some(Server {
            host,
            port: c.get_ports().first().copied().unwrap_or(5432),
            dbname: c.get_dbname().unwrap_or(&user).to_string(),
            password: c.get_password().map(|p| String::from_utf8_lossy(p).into_owned()),
            user,
        })
    }

    fn try_client(&self) -> Result<Client, postgres::Error> {
        let mut c = postgres::Config::new();
        c.host(&self.host)
            .port(self.port)
            .user(&self.user)
            .dbname(&self.dbname);
        if let Some(p) = &self.password {
            c.password(p);
        }
        c.connect(NoTls)
    }

    /// A connection; an unreachable server fails the test.
    fn client(&self) -> Client {
        self.try_client()
            .unwrap_or_else(|e| panic!("cannot reach the test server {}:{}: {e}", self.host, self.port))
    }

    /// A source URL for citytwin: no password in it.
    fn url(&self, table: &str) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.replace('/', "%2F")
        };
        format!(
            "postgis://{}@{host}:{}/{}?table={table}",
            self.user, self.port, self.dbname
        )
    }

    /// `PG:` connection string for GDAL (the password goes in its environment).
    fn gdal_conn(&self) -> String {
        format!(
            "PG:host={} port={} dbname={} user={}",
            self.host, self.port, self.dbname, self.user
        )
    }

    fn opts(&self) -> ReadOptions<'_> {
        ReadOptions {
            password: self.password.as_deref(),
            ..Default::default()
        }
    }
}

/// A schema of this test's own, dropped (with its tables) when the test ends.
struct Schema<'a> {
    server: &'a Server,
    name: String,
}

impl<'a> Schema<'a> {
    fn new(server: &'a Server, tag: &str) -> Schema<'a> {
        let name = format!("citytwin_{tag}_{}", std::process::id());
        let mut c = server.client();
        c.batch_execute(&format!(
            "CREATE EXTENSION IF NOT EXISTS postgis; DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name};"
        ))
        .unwrap_or_else(|e| {
            panic!("cannot prepare schema {name} (PostGIS must be installed, and enabled or enableable: {e:?})")
        });
        Schema { server, name }
    }
}

impl Drop for Schema<'_> {
    fn drop(&mut self) {
        if let Ok(mut c) = self.server.try_client() {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

/// Loads a shapefile into `table` of the schema with GDAL's `ogr2ogr` (multipolygons, a
/// GiST index). GDAL is installed by scripts/setup-debian.sh: its absence fails the test.
fn ogr2ogr(server: &Server, shp: &Path, table: &str) {
    let mut cmd = Command::new("ogr2ogr");
    cmd.args(["-f", "PostgreSQL", &server.gdal_conn()])
        .arg(shp)
        .args([
            "-nln",
            table,
            "-nlt",
            "PROMOTE_TO_MULTI",
            "-lco",
            "SPATIAL_INDEX=GIST",
        ]);
    if let Some(p) = &server.password {
        cmd.env("PGPASSWORD", p);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("ogr2ogr not found ({e}): scripts/setup-debian.sh installs gdal-bin"));
    assert!(
        out.status.success(),
        "ogr2ogr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `citytwin` with the given environment changes (`None` removes a variable).
fn citytwin(args: &[&str], env: &[(&str, Option<&str>)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_citytwin"));
    cmd.args(args);
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.output().expect("citytwin runs")
}

fn inspect_json(args: &[&str], env: &[(&str, Option<&str>)]) -> Value {
    let out = citytwin(&[&["inspect", "--json"], args].concat(), env);
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "inspect printed no JSON ({e}): {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn layer<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no layer {name} in {json}"))
}

/// The environment `citytwin` needs to log in: the password in `PGPASSWORD`, and no
/// password file that could answer instead.
fn login_env(server: &Server) -> Vec<(&'static str, Option<&str>)> {
    vec![
        ("PGPASSWORD", server.password.as_deref()),
        ("PGPASSFILE", Some("/nonexistent/citytwin-test-pgpass")),
    ]
}

#[test]
fn monaco_buildings_from_postgis_read_as_the_server_counts_them() {
    let Some(shp) = data("shp/monaco-2016/buildings.shp") else {
        return;
    };
    let Some(server) = Server::from_env() else {
        return;
    };
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let schema = Schema::new(&server, "postgis");
    let table = format!("{}.buildings", schema.name);
    ogr2ogr(&server, &shp, &table);
    let mut db = server.client();
    // Typed columns beside GDAL's text ones, and three bad rows: a polygon collapsed to
    // one point inside the extent, a row without geometry, an empty geometry.
    let window = in_crs(EXTENT, &Crs::Epsg(LAMBERT_93 as u32)).unwrap();
    let (cx, cy) = ((window[0] + window[2]) / 2.0, (window[1] + window[3]) / 2.0);
    db.batch_execute(&format!(
        "ALTER TABLE {table} ADD COLUMN area_m2 float8, ADD COLUMN levels_n int4, \
           ADD COLUMN listed bool, ADD COLUMN surveyed date, ADD COLUMN cost numeric(12, 2), \
           ADD COLUMN height_m float8;
         UPDATE {table} SET area_m2 = ST_Area(wkb_geometry), \
           levels_n = CASE WHEN levels ~ '^[0-9]+$' THEN levels::int4 END, \
           listed = ogc_fid % 3 = 0, surveyed = DATE '2016-01-01' + (ogc_fid % 365), \
           cost = round((ogc_fid * 1234.5)::numeric, 2), height_m = 5.5 + ogc_fid % 40;"
    ))
    .unwrap();
    let src = PgSource::parse(&server.url(&table)).unwrap();
    let before = postgis::read_postgis(&src, LayerKind::Buildings, &server.opts()).unwrap();
    db.batch_execute(&format!(
        "INSERT INTO {table} (osm_id, name, wkb_geometry) VALUES \
           ('bad-point', 'collapsed', ST_GeomFromText('MULTIPOLYGON((({cx} {cy}, {cx} {cy}, {cx} {cy}, {cx} {cy})))', {LAMBERT_93})), \
           ('bad-null', 'no geometry', NULL), \
           ('bad-empty', 'empty', ST_GeomFromText('MULTIPOLYGON EMPTY', {LAMBERT_93}));"
    ))
    .unwrap();
    let fid_of = |db: &mut Client, osm_id: &str| -> i64 {
        db.query_one(
            &format!("SELECT ogc_fid::int8 FROM {table} WHERE osm_id = $1"),
            &[&osm_id],
        )
        .unwrap()
        .get(0)
    };
    let bad_point = fid_of(&mut db, "bad-point");
    let bad_null = fid_of(&mut db, "bad-null");
    let bad_empty = fid_of(&mut db, "bad-empty");
    let total: i64 = db
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap()
        .get(0);
    assert_eq!(total, 23_334 + 3, "ogr2ogr loaded every shapefile feature");
    // The server's count of rows whose bounding box meets the extent (in Lambert-93, as
    // citytwin puts it there), exactly, without the index's rounded boxes.
    let [x0, y0, x1, y1] = window;
    let inside: i64 = db
        .query_one(
            &format!(
                "SELECT count(*) FROM {table} WHERE ST_XMin(wkb_geometry) <= $3 AND ST_XMax(wkb_geometry) >= $1 \
                 AND ST_YMin(wkb_geometry) <= $4 AND ST_YMax(wkb_geometry) >= $2"
            ),
            &[&x0, &y0, &x1, &y1],
        )
        .unwrap()
        .get(0);
    // PostGIS's own reprojection of the extent's corners, for comparison.
    let by_postgis: i64 = db
        .query_one(
            &format!(
                "SELECT count(*) FROM {table} WHERE wkb_geometry && \
                 ST_Transform(ST_MakeEnvelope($1, $2, $3, $4, 4326), {LAMBERT_93})"
            ),
            &[&EXTENT[0], &EXTENT[1], &EXTENT[2], &EXTENT[3]],
        )
        .unwrap()
        .get(0);
    assert!(inside >= 100 && inside < total / 10, "{inside} of {total}");
    // The server's height statistics of the buildings in the extent (the collapsed one
    // has none).
    let stats = db
        .query_one(
            &format!(
                "SELECT min(height_m), percentile_cont(0.5) WITHIN GROUP (ORDER BY height_m), max(height_m), \
                 count(height_m) FROM {table} WHERE ST_XMin(wkb_geometry) <= $3 AND ST_XMax(wkb_geometry) >= $1 \
                 AND ST_YMin(wkb_geometry) <= $4 AND ST_YMax(wkb_geometry) >= $2"
            ),
            &[&x0, &y0, &x1, &y1],
        )
        .unwrap();
    let (h_min, h_median, h_max, h_count): (f64, f64, f64, i64) =
        (stats.get(0), stats.get(1), stats.get(2), stats.get(3));
    assert_eq!(h_count, inside - 1);
    eprintln!("in the extent: {inside} (exact boxes), {by_postgis} (PostGIS's transform of the corners)");

    // 1. The reader, with the extent.
    let windowed = postgis::read_postgis(
        &src,
        LayerKind::Buildings,
        &ReadOptions {
            extent_wgs84: Some(EXTENT),
            ..server.opts()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        windowed.crs,
        Crs::Epsg(LAMBERT_93 as u32),
        "from geometry_columns"
    );
    assert_eq!(windowed.format, LayerFormat::PostGis);
    assert_eq!(windowed.name, table);
    let skipped = windowed.skipped.total();
    assert_eq!(
        windowed.features.len() + skipped,
        inside as usize,
        "{:?}",
        windowed.skipped
    );
    let collapsed =
        format!("multipolygon without a valid polygon (table '{table}', first at fid {bad_point})");
    assert_eq!(
        windowed.skipped.reasons.get(&collapsed),
        Some(&1),
        "{:?}",
        windowed.skipped
    );
    assert!(skipped <= 5, "{:?}", windowed.skipped);
    // Attribute values are the table's, typed.
    let rows = db
        .query(
            &format!(
                "SELECT ogc_fid::int8, name, height, area_m2, levels_n, listed, surveyed::text, cost::text \
                 FROM {table} WHERE ogc_fid::int8 = ANY($1::int8[])"
            ),
            &[&windowed
                .features
                .iter()
                .map(|f| f.source_id)
                .collect::<Vec<i64>>()],
        )
        .unwrap();
    assert_eq!(rows.len(), windowed.features.len());
    let by_fid: BTreeMap<i64, &postgres::Row> = rows.iter().map(|r| (r.get(0), r)).collect();
    let text = |v: Option<String>| {
        v.map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .map(AttrValue::Text)
    };
    let (mut named, mut areas_equal) = (0, 0);
    for f in &windowed.features {
        let r = by_fid[&f.source_id];
        let a = &f.attributes;
        assert_eq!(a.get("name").cloned(), text(r.get(1)), "fid {}", f.source_id);
        assert_eq!(a.get("height").cloned(), text(r.get(2)), "fid {}", f.source_id);
        let area: f64 = r.get(3);
        assert_eq!(
            a.get("area_m2"),
            Some(&AttrValue::Number(area)),
            "fid {}",
            f.source_id
        );
        let levels: Option<i32> = r.get(4);
        assert_eq!(
            a.get("levels_n").cloned(),
            levels.map(|l| AttrValue::Number(l.into())),
            "fid {}",
            f.source_id
        );
        let listed: bool = r.get(5);
        assert_eq!(a.get("listed"), Some(&AttrValue::Bool(listed)));
        let surveyed: String = r.get(6);
        assert_eq!(a.get("surveyed"), Some(&AttrValue::Date(surveyed)));
        let cost: String = r.get(7);
        assert_eq!(a.get("cost"), Some(&AttrValue::Number(cost.parse().unwrap())));
        assert!(!a.contains_key("ogc_fid") && !a.contains_key("wkb_geometry"));
        named += usize::from(a.contains_key("name"));
        // The geometry decoded from EWKB has the area PostGIS measures.
        areas_equal += usize::from((f.geometry.unsigned_area() - area).abs() <= 1e-6 * area.max(1.0));
    }
    let n = windowed.features.len();
    assert!(named >= 10, "{named} named buildings");
    assert!(
        areas_equal * 100 >= n * 99,
        "{areas_equal} of {n} areas equal PostGIS's"
    );

    // 2. The whole table: the rows without or with an empty geometry are counted too.
    let all = postgis::read_postgis(&src, LayerKind::Buildings, &server.opts()).unwrap();
    assert_eq!(all.features.len() + all.skipped.total(), total as usize);
    assert_eq!(all.features.len(), before.features.len());
    assert_eq!(
        all.skipped.total(),
        before.skipped.total() + 3,
        "{:?}",
        all.skipped
    );
    for (reason, fid) in [
        ("feature without geometry", bad_null),
        ("empty geometry", bad_empty),
    ] {
        let key = format!("{reason} (table '{table}', first at fid {fid})");
        assert_eq!(
            all.skipped.reasons.get(&key),
            Some(&1),
            "{key} in {:?}",
            all.skipped
        );
    }
    // Real buildings of the shapefile collapse too (GDAL keeps them): the collapsed row
    // adds one to their count.
    let collapsed_in = |l: &Layer| -> usize {
        let prefix = format!("multipolygon without a valid polygon (table '{table}'");
        l.skipped
            .reasons
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, n)| n)
            .sum()
    };
    assert_eq!(collapsed_in(&all), collapsed_in(&before) + 1, "{:?}", all.skipped);
    let ids = |l: &Layer| l.features.iter().map(|f| f.source_id).collect::<Vec<_>>();
    let mut kept = all.clone();
    citytwin::twin::gis::extent::retain_within(&mut kept, EXTENT).unwrap();
    assert_eq!(
        ids(&kept),
        ids(&windowed),
        "the filter keeps what a full read keeps"
    );

    // 3. Through a scene, by the command line: the PostGIS layer beside the same shapefile
    // and a layer whose table is not there; the password from PGPASSWORD only.
    let dir = tmp("postgis-scene");
    let scene = dir.join("monaco.ron");
    std::fs::write(
        &scene,
        format!(
            "(name: \"monaco\", crs: Some(\"EPSG:2154\"), extent: Some(({lon0}, {lat0}, {lon1}, {lat1})), layers: [\n\
               (name: \"pg\", path: \"{pg}\", kind: buildings),\n\
               (name: \"pg_heights\", path: \"{pg}\", kind: buildings, heights: (height_fields: [\"height_m\"])),\n\
               (name: \"missing\", path: \"{missing}\", kind: buildings),\n\
               (name: \"shp\", path: \"{shp}\", kind: buildings),\n\
             ])",
            lon0 = EXTENT[0],
            lat0 = EXTENT[1],
            lon1 = EXTENT[2],
            lat1 = EXTENT[3],
            pg = server.url(&table),
            missing = server.url(&format!("{}.nope", schema.name)),
            shp = shp.display()
        ),
    )
    .unwrap();
    let json = inspect_json(&[scene.to_str().unwrap()], &login_env(&server));
    let pg = layer(&json, "pg");
    assert_eq!(pg["format"], "postgis");
    assert_eq!(pg["crs"], "EPSG:2154");
    assert!(pg["error"].is_null(), "{pg}");
    assert_eq!(pg["features"], n, "{pg}");
    assert_eq!(pg["skipped"][&collapsed], 1, "{pg}");
    let missing = layer(&json, "missing");
    let e = missing["error"].as_str().expect("an error");
    assert!(
        e.contains(&format!("table '{}.nope'", schema.name)) && e.contains("no such table"),
        "{e}"
    );
    if let Some(pw) = &server.password {
        assert!(!e.contains(&format!(":{pw}@")), "no password in the error: {e}");
    }
    // The same buildings as the shapefile gives in the extent, with the same heights.
    let shp_layer = layer(&json, "shp");
    assert_eq!(shp_layer["features"], pg["features"], "{shp_layer}");
    assert_eq!(shp_layer["height_m"], pg["height_m"]);
    assert_eq!(shp_layer["height_source"], pg["height_source"]);
    // Heights from a typed column of the table, as the scene's height options say.
    let h = layer(&json, "pg_heights");
    assert_eq!(h["height_source"]["measured"], n, "{h}");
    assert_eq!(h["height_m"]["min"], h_min, "{h}");
    assert_eq!(h["height_m"]["median"], h_median, "{h}");
    assert_eq!(h["height_m"]["max"], h_max, "{h}");

    // 4. `inspect postgis://…` as for a file; the password from a private password file.
    let pgpass = dir.join("pgpass");
    std::fs::write(
        &pgpass,
        format!(
            "{}:{}:{}:{}:{}\n",
            server.host.replace(':', "\\:"),
            server.port,
            server.dbname,
            server.user,
            server.password.as_deref().unwrap_or_default()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let url = server.url(&table);
    let env = [("PGPASSWORD", None), ("PGPASSFILE", pgpass.to_str())];
    let json = inspect_json(&[&url], &env);
    let whole = &json["layers"][0];
    assert_eq!(whole["name"], table.as_str());
    assert_eq!(whole["format"], "postgis");
    assert_eq!(whole["features"], all.features.len(), "{whole}");
    // The database's geometry tables, one layer each, when the URL names none.
    let db_url = url.split('?').next().unwrap().to_string();
    let listed = inspect_json(&[&db_url], &env);
    let again = layer(&listed, &table);
    assert!(again["error"].is_null(), "{again}");
    assert_eq!(again["features"], all.features.len(), "{again}");
}

#[test]
fn curves_are_counted_z_is_kept_and_a_dead_server_is_an_error_naming_it() {
    let Some(server) = Server::from_env() else {
        return;
    };
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let schema = Schema::new(&server, "postgis_odd");
    let table = format!("{}.odd_things", schema.name);
    let mut db = server.client();
    db.batch_execute(&format!(
        "CREATE TABLE {table} (gid serial PRIMARY KEY, label text, geom geometry(GeometryZ, 3067));
         INSERT INTO {table} (label, geom) VALUES
           ('curve', ST_GeomFromText('CURVEPOLYGON Z (CIRCULARSTRING Z (385000 6672000 0, 385010 6672010 0, 385020 6672000 0, 385010 6671990 0, 385000 6672000 0))', 3067)),
           ('mast', ST_GeomFromText('POINT Z (385800 6672000 42.5)', 3067));
         CREATE TABLE {schema}.no_srid (id int8 PRIMARY KEY, geom geometry);
         INSERT INTO {schema}.no_srid VALUES (1, ST_GeomFromText('POINT (1 2)'));",
        schema = schema.name
    ))
    .unwrap();
    let src = PgSource::parse(&server.url(&table)).unwrap();
    let l = postgis::read_postgis(&src, LayerKind::Pois, &server.opts()).unwrap();
    assert_eq!(l.crs, Crs::Epsg(3067));
    assert_eq!(l.features.len(), 1);
    let mast = &l.features[0];
    assert_eq!(mast.source_id, 2);
    assert_eq!(mast.attributes["label"], AttrValue::Text("mast".into()));
    assert_eq!(mast.attributes["z_max"], AttrValue::Number(42.5));
    let reason = format!(
        "unsupported geometry: WKB type 10 (curves and surfaces are not read) (table '{table}', first at fid 1)"
    );
    assert_eq!(l.skipped.reasons.get(&reason), Some(&1), "{:?}", l.skipped);
    // No SRID anywhere: an error naming the table, unless the scene gives the CRS.
    let no_srid = PgSource::parse(&server.url(&format!("{}.no_srid", schema.name))).unwrap();
    let e = postgis::read_postgis(&no_srid, LayerKind::Pois, &server.opts()).unwrap_err();
    assert!(matches!(e, GisError::Crs { .. }), "{e}");
    assert!(
        e.to_string().contains("no_srid") && e.to_string().contains("no SRID"),
        "{e}"
    );
    let given = Crs::Epsg(4326);
    let with_crs = ReadOptions {
        crs: Some(&given),
        ..server.opts()
    };
    assert_eq!(
        postgis::read_postgis(&no_srid, LayerKind::Pois, &with_crs)
            .unwrap()
            .features
            .len(),
        1
    );
    // A server that is not there.
    let dead = PgSource::parse("postgis://nobody@127.0.0.1:1/none?table=public.t").unwrap();
    let e = postgis::read_postgis(&dead, LayerKind::Pois, &ReadOptions::default()).unwrap_err();
    assert!(matches!(e, GisError::Database { .. }), "{e}");
    let m = e.to_string();
    assert!(
        m.starts_with("postgis://nobody@127.0.0.1:1/none?table=public.t: cannot connect"),
        "{m}"
    );
}
