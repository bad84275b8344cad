//! Starting a scene's feeds: one thread per source on one bounded channel, the history
//! store and its writer, and the live state with every source registered. A source that
//! cannot start (a missing replay file) is reported in its health, not fatal; an MQTT
//! broker that is down at start-up is retried by its thread.

use std::path::Path;

use crate::twin::city::CityModel;
use crate::twin::feeds::health::ErrorKind;
use crate::twin::feeds::history::History;
use crate::twin::feeds::live::{LiveState, StoreWriter, WriterConfig};
use crate::twin::feeds::mqtt::MqttSource;
use crate::twin::feeds::observation::{SourceId, Timestamp};
use crate::twin::feeds::replay::Replay;
use crate::twin::feeds::simulator::Simulator;
use crate::twin::feeds::source::{
    DEFAULT_FEED_CAPACITY, FeedEvent, FeedReceiver, FeedSource, SourceHandle, feed_channel, spawn,
};
use crate::twin::feeds::spec::{FeedKind, FeedSpec, HistorySpec};
use crate::twin::feeds::store::StoreError;
use crate::twin::feeds::validate::Validator;

/// A scene's running feeds.
#[derive(Debug)]
pub struct RunningFeeds {
    /// The channel every source sends on; drain it with [`RunningFeeds::live`].
    pub receiver: FeedReceiver,
    /// The source threads (stopped when dropped).
    pub handles: Vec<SourceHandle>,
    /// The live picture, health and store writer.
    pub live: LiveState,
    /// Why the history store could not be opened, if it could not (feeds run without it).
    pub history_error: Option<String>,
}

/// Builds the source of one feed spec; `scene_dir` resolves relative paths.
pub fn make_source(
    spec: &FeedSpec,
    city: &CityModel,
    scene_dir: &Path,
) -> Result<Box<dyn FeedSource>, String> {
    let id = SourceId(spec.name.clone());
    Ok(match &spec.kind {
        FeedKind::Simulator(s) => Box::new(Simulator::new(city, s, id)),
        FeedKind::Replay(r) => Box::new(Replay::open(r, scene_dir, id).map_err(|e| e.to_string())?),
        FeedKind::Mqtt(m) => Box::new(MqttSource::new(m.clone(), scene_dir, id)),
    })
}

/// Opens the history of a scene: its SQLite file (relative to the scene file) or its
/// PostgreSQL database.
pub fn open_history(history: &HistorySpec, scene_path: &Path) -> Result<Box<dyn History>, StoreError> {
    crate::twin::feeds::history::open_history(history, scene_path)
}

/// Where the scene's simulated sensors stand (scene CRS), by sensor id: a simulator's
/// sensor layout follows from its seed and the city, so a twin of it tells.
pub fn sensor_positions(feeds: &[FeedSpec], city: &CityModel) -> std::collections::HashMap<String, [f64; 2]> {
    let mut sensors = std::collections::HashMap::new();
    for f in feeds {
        if let FeedKind::Simulator(s) = &f.kind {
            let sim = Simulator::new(city, s, SourceId(f.name.clone()));
            for (id, p) in sim.sensors() {
                sensors.insert(id.to_string(), [p.x(), p.y()]);
            }
        }
    }
    sensors
}

/// Starts every feed of a scene at `scene_path` over `city`.
pub fn start_feeds(
    feeds: &[FeedSpec],
    history: Option<&HistorySpec>,
    city: &CityModel,
    scene_path: &Path,
) -> RunningFeeds {
    let scene_dir = scene_path.parent().unwrap_or(Path::new("."));
    let (channel, receiver) = feed_channel(DEFAULT_FEED_CAPACITY);
    let mut validator = Validator::for_city(city);
    let mut history_error = None;
    let mut writer = None;
    if let Some(h) = history {
        validator = validator.with_retention_days(h.retention_days());
    }
    // A read-only seat (`writer: false`) shows what its feeds receive and reads the shared
    // history, but runs no store writer.
    if let Some(h) = history.filter(|h| h.writes()) {
        let config = WriterConfig {
            retention_ms: Some((h.retention_days() * Timestamp::DAY_MS as f64) as i64),
            ..WriterConfig::default()
        };
        // Opened on the writer's thread: a database that is slow or down never holds up
        // the caller (the app's frame); its errors show in the writer's counters.
        let (spec, path) = (h.clone(), scene_path.to_path_buf());
        match StoreWriter::spawn_opening(move || open_history(&spec, &path), config) {
            Ok(w) => writer = Some(w),
            Err(e) => history_error = Some(format!("history writer thread: {e}")),
        }
    }
    let mut live = LiveState::new(validator, writer);
    let mut handles = Vec::new();
    for f in feeds {
        let id = SourceId(f.name.clone());
        live.register(&id, f.stale_after_s);
        let started = make_source(f, city, scene_dir)
            .and_then(|s| spawn(s, &channel).map_err(|e| format!("cannot start thread: {e}")));
        match started {
            Ok(h) => handles.push(h),
            Err(e) => {
                let now = Timestamp::now();
                if let Some(h) = live.health.get_mut(&id) {
                    h.on_bad(ErrorKind::Connection, &e, "", now);
                    h.on_event(&FeedEvent::Stopped, now);
                }
            }
        }
    }
    RunningFeeds {
        receiver,
        handles,
        live,
        history_error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::feeds::health::LinkState;
    use crate::twin::feeds::simulator::tests::{small_city, spec};
    use crate::twin::feeds::spec::{ReplayFormat, ReplaySpec};
    use std::time::{Duration, Instant};

    #[test]
    fn starts_a_simulator_and_reports_a_missing_replay() {
        let dir = std::env::temp_dir().join(format!("citytwin-runtime-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let scene = dir.join("scene.ron");
        let feeds = vec![
            FeedSpec {
                name: "sim".into(),
                kind: FeedKind::Simulator(spec(4)),
                stale_after_s: 60.0,
                classification: None,
            },
            FeedSpec {
                name: "rec".into(),
                kind: FeedKind::Replay(ReplaySpec {
                    path: "missing.jsonl".into(),
                    format: ReplayFormat::Jsonl,
                    speed: 1.0,
                    looping: false,
                    mapping: None,
                    retime: false,
                }),
                stale_after_s: 60.0,
                classification: None,
            },
        ];
        let history = HistorySpec::sqlite("cache/history.sqlite", 2.0);
        let city = small_city();
        let mut running = start_feeds(&feeds, Some(&history), &city, &scene);
        assert!(running.history_error.is_none(), "{:?}", running.history_error);
        assert_eq!(running.handles.len(), 1);
        let end = Instant::now() + Duration::from_secs(10);
        while running.live.picture.is_empty() && Instant::now() < end {
            running
                .live
                .drain(&running.receiver, Duration::from_millis(5), Timestamp::now());
            std::thread::sleep(Duration::from_millis(10));
        }
        let sim = &running.live.health[&SourceId("sim".into())];
        assert_eq!(sim.link, LinkState::Connected);
        assert!(sim.accepted > 0 && sim.error_total() == 0, "{sim:?}");
        let rec = &running.live.health[&SourceId("rec".into())];
        assert_eq!(rec.link, LinkState::Stopped);
        assert!(rec.last_bad.as_ref().unwrap().message.contains("missing.jsonl"));
        let accepted = sim.accepted;
        drop(running.handles);
        let w = running.live.take_writer().unwrap();
        assert!(w.wait_stored(accepted, Duration::from_secs(10)));
        drop(w);
        assert!(dir.join("cache/history.sqlite").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
