//! Fixture files for tests (unit and integration) and examples: the Helsinki scene copied
//! into a folder of its own with its history store beside it, and sensor readings written
//! into that store.

use std::path::{Path, PathBuf};

use crate::twin::feeds::store::{Durability, Store, StoreError};
use crate::twin::feeds::{Metric, Observation, SourceId, Subject, Timestamp};
use crate::twin::scene::HELSINKI_SCENE;

/// The history store's file name in a fixture folder.
pub const HISTORY_FILE: &str = "history.sqlite";
/// The feed the default scene's simulator delivers as.
pub const SIMULATOR_FEED: &str = "simulator";

/// The Helsinki scene (its bookmarks and sample scenario are what the briefing tests show)
/// written into `dir` (created) as `helsinki.ron`, with absolute data paths and its history
/// in `dir/`[`HISTORY_FILE`]; returns the scene file.
pub fn scene_with_history_in(dir: &Path) -> std::io::Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join(HELSINKI_SCENE))?;
    let text = text
        .replace("\"../data/", &format!("\"{}/", root.join("data").display()))
        .replace("../.cache/history/helsinki.sqlite", HISTORY_FILE);
    std::fs::create_dir_all(dir)?;
    let scene = dir.join("helsinki.ron");
    std::fs::write(&scene, text)?;
    Ok(scene)
}

/// A PM2.5 reading (µg/m³) of `sensor` at `t`, from the scene's simulator feed.
pub fn pm25(sensor: &str, value: f64, t: Timestamp) -> Observation {
    Observation::new(
        &SourceId(SIMULATOR_FEED.into()),
        Subject::Sensor(sensor.into()),
        Metric::Pm25,
        value,
        t,
    )
}

/// Appends observations to the history store of a fixture folder; returns how many.
pub fn write_history(dir: &Path, observations: &[Observation]) -> Result<usize, StoreError> {
    Store::open(&dir.join(HISTORY_FILE), Durability::Full)?.append(observations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scene_finds_its_data_and_its_history() {
        let dir = std::env::temp_dir().join(format!("citytwin-fixture-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let scene = scene_with_history_in(&dir).unwrap();
        let at = Timestamp(1_780_300_800_000);
        assert_eq!(write_history(&dir, &[pm25("aq-1", 7.0, at)]).unwrap(), 1);
        let loaded = crate::twin::load::load_scene(&scene).unwrap();
        assert!(!loaded.city.buildings.is_empty());
        let history = loaded.scene.history.as_ref().expect("a history");
        assert_eq!(history.sqlite_file(&scene), Some(dir.join(HISTORY_FILE)));
        assert_eq!(loaded.scene.feeds[0].name, SIMULATOR_FEED);
        let store = Store::open(&dir.join(HISTORY_FILE), Durability::Full).unwrap();
        assert_eq!(store.count().unwrap(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
