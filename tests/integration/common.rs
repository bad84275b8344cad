//! Where the shared real city data is: `CITYTWIN_DATA`, else `../shared/data`. Under CI a
//! missing data folder fails the tests instead of skipping them.

use std::path::PathBuf;

/// The shared data folder, or `None` (the test then returns early) outside CI.
pub fn data_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("CITYTWIN_DATA").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data")),
    ];
    for c in candidates.into_iter().flatten() {
        if c.join("README.md").exists() {
            return Some(c);
        }
    }
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but the shared city data is missing: set CITYTWIN_DATA");
    }
    eprintln!("shared city data not found; skipping (set CITYTWIN_DATA)");
    None
}

/// A file under the data folder.
pub fn data(rel: &str) -> Option<PathBuf> {
    data_dir().map(|d| d.join(rel))
}

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh temporary folder for one test.
pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("citytwin-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Great-circle distance in metres between two lon/lat points.
pub fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let r = 6_371_008.8;
    let (la1, la2) = (a.1.to_radians(), b.1.to_radians());
    let dla = la2 - la1;
    let dlo = (b.0 - a.0).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * r * h.sqrt().asin()
}

/// The variable naming the PostgreSQL server the tests use (`.ci/run` sets it).
pub const PG_URL_ENV: &str = "CITYTWIN_PG_URL";

/// The test PostgreSQL server's URL; `None` (the test returns) when it is not set outside
/// CI, a panic under CI.
pub fn pg_url() -> Option<String> {
    let Some(url) = std::env::var(PG_URL_ENV).ok().filter(|u| !u.is_empty()) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{PG_URL_ENV} is not set (.ci/run starts PostgreSQL and sets it)"
        );
        eprintln!("{PG_URL_ENV} is not set: skipping");
        return None;
    };
    Some(url)
}
