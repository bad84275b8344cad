//! Where unit tests find the shared real city data: `CITYTWIN_DATA`, else `../shared/data`
//! beside the project. Missing data fails the tests under CI and skips them elsewhere.

use std::path::{Path, PathBuf};

/// The shared data folder, or `None` (the test returns early) outside CI.
pub fn data_dir() -> Option<PathBuf> {
    let from_env = std::env::var_os("CITYTWIN_DATA").map(PathBuf::from);
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if let Some(dir) = from_env.into_iter().chain([beside]).find(|d| d.is_dir()) {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!("test data not found: set CITYTWIN_DATA to the shared data folder");
    }
    eprintln!("test data not found (set CITYTWIN_DATA): skipping");
    None
}
