//! The scene's live-feed settings (RON, unknown fields refused): each feed's name, kind
//! (simulator, replay or MQTT), stale timeout and classification, and the history: a SQLite
//! file or a PostgreSQL database, and its retention.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::twin::feeds::health::DEFAULT_STALE_AFTER_S;
use crate::twin::feeds::mapping::{PayloadSpec, RecordMapping};
use crate::twin::gis::layer::Classification;

/// Smallest and largest replay speed factor.
pub const REPLAY_SPEED_RANGE: (f64, f64) = (1.0, 1_000.0);
/// Default MQTT port.
pub const MQTT_PORT: u16 = 1883;

fn default_stale() -> f64 {
    DEFAULT_STALE_AFTER_S
}

fn default_one() -> f64 {
    1.0
}

fn default_step() -> f64 {
    60.0
}

fn default_max_roads() -> usize {
    500
}

fn default_sensors() -> usize {
    8
}

fn default_vehicles() -> usize {
    12
}

fn default_port() -> u16 {
    MQTT_PORT
}

fn default_keep_alive() -> u64 {
    5
}

fn default_retention() -> f64 {
    30.0
}

/// One live feed of a scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSpec {
    /// Feed name (unique in the scene; the observations' source).
    pub name: String,
    /// What kind of source.
    pub kind: FeedKind,
    /// Silence after which the feed shows as stale, seconds.
    #[serde(default = "default_stale")]
    pub stale_after_s: f64,
    /// Classification of the feed's data.
    #[serde(default)]
    pub classification: Option<Classification>,
}

/// The kinds of source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedKind {
    /// The built-in city simulator.
    Simulator(SimulatorSpec),
    /// Replay of a recorded file.
    Replay(ReplaySpec),
    /// An MQTT subscription.
    Mqtt(MqttSpec),
}

/// Settings of the simulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorSpec {
    /// Seed: the same seed and start give the same observations.
    pub seed: u64,
    /// Simulated seconds per real second.
    #[serde(default = "default_one")]
    pub speed: f64,
    /// Simulated seconds between ticks.
    #[serde(default = "default_step")]
    pub step_s: f64,
    /// Most road segments simulated (the main roads first): bounds the history's growth.
    #[serde(default = "default_max_roads")]
    pub max_roads: usize,
    /// Number of air-quality / noise sensors.
    #[serde(default = "default_sensors")]
    pub sensors: usize,
    /// Number of transit vehicles.
    #[serde(default = "default_vehicles")]
    pub vehicles: usize,
    /// Local time offset from UTC, hours (shapes the daily curves).
    #[serde(default)]
    pub utc_offset_h: f64,
    /// Start of simulated time, RFC 3339; the wall-clock time at start when omitted.
    #[serde(default)]
    pub start: Option<String>,
    /// Only the roads whose middle lies in one of the districts (zones) of these names are
    /// simulated, and so carry the sensors and transit vehicles: the city itself in a scene
    /// that shows its surroundings too. Every road when empty (the default).
    #[serde(default)]
    pub districts: Vec<String>,
}

/// File format of a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayFormat {
    /// One JSON object a line.
    Jsonl,
    /// Comma-separated values with a header line.
    Csv,
}

/// Settings of a replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaySpec {
    /// The file, relative to the scene file.
    pub path: PathBuf,
    /// Its format.
    pub format: ReplayFormat,
    /// Speed factor, 1–1000.
    #[serde(default = "default_one")]
    pub speed: f64,
    /// Start again at the end.
    #[serde(default)]
    pub looping: bool,
    /// Mapping of each record; JSONL lines are read as citytwin observations when omitted.
    /// CSV rows are JSON objects of their columns (numbers where they parse).
    #[serde(default)]
    pub mapping: Option<RecordMapping>,
    /// Shift recorded times so the first record is dated at the start of the replay.
    #[serde(default)]
    pub retime: bool,
}

/// Settings of an MQTT subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttSpec {
    /// Broker host.
    pub host: String,
    /// Broker port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Topic filters to subscribe to (`{name}` levels subscribe as `+`).
    pub topics: Vec<String>,
    /// Environment variable holding the user name (credentials never live in scenes).
    #[serde(default)]
    pub username_env: Option<String>,
    /// Environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Connect with TLS.
    #[serde(default)]
    pub tls: bool,
    /// PEM file of CA certificates for TLS, relative to the scene; the system's when omitted.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Client id; `citytwin-<feed>-<pid>` when omitted.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Keep-alive, seconds.
    #[serde(default = "default_keep_alive")]
    pub keep_alive_s: u64,
    /// How payloads are read.
    pub payload: PayloadSpec,
}

/// A history in a SQLite file (the default: one seat, no server).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqliteHistorySpec {
    /// SQLite file, relative to the scene file.
    pub path: PathBuf,
    /// Days of history kept.
    #[serde(default = "default_retention")]
    pub retention_days: f64,
}

impl SqliteHistorySpec {
    /// The store file for a scene file at `scene_path`.
    pub fn resolve(&self, scene_path: &Path) -> PathBuf {
        let base = scene_path.parent().unwrap_or(Path::new("."));
        base.join(&self.path)
    }
}

fn default_pg_schema() -> String {
    "citytwin".to_string()
}

fn default_partition_days() -> f64 {
    1.0
}

/// A history in a PostgreSQL database shared by every seat of a control room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresHistorySpec {
    /// Connection URL (`postgres://user@host:5432/db`); keep passwords out of it and name
    /// the variable holding one in `password_env`.
    pub url: String,
    /// Environment variable holding the password, if any.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Schema the history's tables live in (made when missing).
    #[serde(default = "default_pg_schema")]
    pub schema: String,
    /// Days of history kept (older partitions are dropped).
    #[serde(default = "default_retention")]
    pub retention_days: f64,
    /// Days of observation time per partition of the chunk table.
    #[serde(default = "default_partition_days")]
    pub partition_days: f64,
    /// Whether this seat writes what its feeds receive into the history (`true`, the
    /// default) or only reads it (`false`: a read-only seat of a control room, where one
    /// seat or a headless ingest writes; it still shows the live values its own feeds
    /// receive, makes no table and needs only `SELECT` rights).
    #[serde(default = "default_writer")]
    pub writer: bool,
}

fn default_writer() -> bool {
    true
}

/// The history engine named by a tag: `sqlite((path: ...))` or `postgres((url: ...))`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryEngine {
    /// A SQLite file.
    Sqlite(SqliteHistorySpec),
    /// A PostgreSQL database.
    Postgres(PostgresHistorySpec),
}

/// Where the history goes and how long it is kept: `(path: "h.sqlite", retention_days: 3.0)`
/// as scenes have always written it, or a tagged engine, `sqlite((...))` or
/// `postgres((url: "postgres://...", retention_days: 3.0))`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum HistorySpec {
    /// A SQLite file, written without a tag.
    File(SqliteHistorySpec),
    /// A tagged engine.
    Engine(HistoryEngine),
}

/// The forms a history may take, as read before [`HistorySpec`]'s message is added.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawHistory {
    File(SqliteHistorySpec),
    Engine(HistoryEngine),
}

impl<'de> Deserialize<'de> for HistorySpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match RawHistory::deserialize(d) {
            Ok(RawHistory::File(f)) => Ok(HistorySpec::File(f)),
            Ok(RawHistory::Engine(e)) => Ok(HistorySpec::Engine(e)),
            Err(e) => Err(serde::de::Error::custom(format!(
                "history: {e}: write (path: \"h.sqlite\", retention_days: 30.0), \
                 sqlite((path: ...)) or postgres((url: \"postgres://user@host/db\", \
                 password_env: Some(\"VAR\"), schema: \"citytwin\", retention_days: 30.0, \
                 partition_days: 1.0))"
            ))),
        }
    }
}

impl HistorySpec {
    /// A SQLite history in `path` (relative to the scene file).
    pub fn sqlite(path: impl Into<PathBuf>, retention_days: f64) -> HistorySpec {
        HistorySpec::File(SqliteHistorySpec {
            path: path.into(),
            retention_days,
        })
    }

    /// Days of history kept.
    pub fn retention_days(&self) -> f64 {
        match self {
            HistorySpec::File(f) | HistorySpec::Engine(HistoryEngine::Sqlite(f)) => f.retention_days,
            HistorySpec::Engine(HistoryEngine::Postgres(p)) => p.retention_days,
        }
    }

    /// Whether a seat with this history writes to it (a SQLite file is always its seat's
    /// own; a PostgreSQL history unless its spec says `writer: false`).
    pub fn writes(&self) -> bool {
        match self {
            HistorySpec::File(_) | HistorySpec::Engine(HistoryEngine::Sqlite(_)) => true,
            HistorySpec::Engine(HistoryEngine::Postgres(p)) => p.writer,
        }
    }

    /// The SQLite file for a scene file at `scene_path`; `None` for a database server.
    pub fn sqlite_file(&self, scene_path: &Path) -> Option<PathBuf> {
        match self {
            HistorySpec::File(f) | HistorySpec::Engine(HistoryEngine::Sqlite(f)) => {
                Some(f.resolve(scene_path))
            }
            HistorySpec::Engine(HistoryEngine::Postgres(_)) => None,
        }
    }
}

/// Checks the feed settings the schema cannot: unique names, positive timeouts, speeds in
/// range. An error is the message and a piece of text to locate it by.
pub fn validate_feeds(feeds: &[FeedSpec], history: Option<&HistorySpec>) -> Result<(), (String, String)> {
    let mut names = std::collections::BTreeSet::new();
    for f in feeds {
        let at = format!("\"{}\"", f.name);
        let bad = |m: String| Err((format!("feed '{}': {m}", f.name), at.clone()));
        if f.name.trim().is_empty() {
            return Err(("a feed has an empty name".into(), "name".into()));
        }
        if !names.insert(&f.name) {
            return bad("name is used twice".into());
        }
        if !(f.stale_after_s > 0.0 && f.stale_after_s.is_finite()) {
            return bad(format!("stale_after_s must be positive, is {}", f.stale_after_s));
        }
        match &f.kind {
            FeedKind::Simulator(s) => {
                if !(s.speed > 0.0 && s.speed.is_finite() && s.step_s > 0.0 && s.step_s.is_finite()) {
                    return bad("simulator speed and step_s must be positive".into());
                }
                if let Some(t) = &s.start
                    && crate::twin::feeds::timefmt::parse_rfc3339(t).is_none()
                {
                    return bad(format!("start '{t}' is not an RFC 3339 time"));
                }
                if s.districts.iter().any(|d| d.trim().is_empty()) {
                    return bad("simulator districts must be zone names, not empty".into());
                }
            }
            FeedKind::Replay(r) => {
                let (lo, hi) = REPLAY_SPEED_RANGE;
                if !(lo..=hi).contains(&r.speed) {
                    return bad(format!("replay speed must be in [{lo}, {hi}], is {}", r.speed));
                }
            }
            FeedKind::Mqtt(m) => {
                if m.host.trim().is_empty() || m.topics.is_empty() {
                    return bad("mqtt needs a host and at least one topic".into());
                }
            }
        }
    }
    if let Some(h) = history
        && !(h.retention_days() > 0.0 && h.retention_days().is_finite())
    {
        return Err((
            format!(
                "history retention_days must be positive, is {}",
                h.retention_days()
            ),
            "retention_days".into(),
        ));
    }
    if let Some(HistorySpec::Engine(HistoryEngine::Postgres(p))) = history {
        if !(p.partition_days > 0.0 && p.partition_days.is_finite()) {
            return Err((
                format!("history partition_days must be positive, is {}", p.partition_days),
                "partition_days".into(),
            ));
        }
        if p.schema.is_empty() || !p.schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err((
                format!("history schema '{}' must be letters, digits and _", p.schema),
                "schema".into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEEDS: &str = r#"[
        (name: "sim", kind: simulator((seed: 7, speed: 60.0)), stale_after_s: 30.0),
        (name: "old", kind: replay((path: "rec.jsonl", format: jsonl, speed: 10.0, looping: true))),
        (name: "air", kind: mqtt((host: "127.0.0.1", topics: ["city/air/{sensor}"],
            username_env: Some("CITY_MQTT_USER"), tls: false,
            payload: json([(topic: Some("city/air/{sensor}"), metric: "pm25", id: Some("{sensor}"), value: "$.pm25")]))),
            classification: Some(internal)),
        (name: "sta", kind: mqtt((host: "h", topics: ["v1.1/Datastreams(1)/Observations"],
            payload: sensorthings([(datastream: "1", metric: "no2", id: "kallio")])))),
    ]"#;

    #[test]
    fn parses_every_kind() {
        let feeds: Vec<FeedSpec> = ron::from_str(FEEDS).unwrap();
        assert_eq!(feeds.len(), 4);
        match &feeds[0].kind {
            FeedKind::Simulator(s) => assert_eq!((s.seed, s.speed, s.step_s), (7, 60.0, 60.0)),
            other => panic!("{other:?}"),
        }
        match &feeds[2].kind {
            FeedKind::Mqtt(m) => {
                assert_eq!(m.port, MQTT_PORT);
                assert!(matches!(&m.payload, PayloadSpec::Json(v) if v[0].value == "$.pm25"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(feeds[1].stale_after_s, DEFAULT_STALE_AFTER_S);
        assert!(validate_feeds(&feeds, None).is_ok());
    }

    #[test]
    fn refuses_unknown_fields_and_bad_values() {
        let typo = FEEDS.replace("stale_after_s: 30.0", "stale_after: 30.0");
        assert!(ron::from_str::<Vec<FeedSpec>>(&typo).is_err());
        let password = FEEDS.replace("username_env", "password");
        assert!(ron::from_str::<Vec<FeedSpec>>(&password).is_err());
        let fast: Vec<FeedSpec> = ron::from_str(&FEEDS.replace("speed: 10.0", "speed: 5000.0")).unwrap();
        assert!(
            validate_feeds(&fast, None)
                .unwrap_err()
                .0
                .contains("replay speed")
        );
        let dup: Vec<FeedSpec> = ron::from_str(&FEEDS.replace("\"old\"", "\"sim\"")).unwrap();
        assert!(validate_feeds(&dup, None).is_err());
        let h = HistorySpec::sqlite("h.sqlite", 0.0);
        assert!(validate_feeds(&[], Some(&h)).is_err());
    }

    #[test]
    fn history_is_sqlite_untagged_or_a_tagged_engine() {
        #[derive(Deserialize)]
        struct S {
            history: Option<HistorySpec>,
        }
        let read = |t: &str| ron::from_str::<S>(t).map(|s| s.history);
        let plain = read(r#"(history: Some((path: "a.sqlite", retention_days: 3.0)))"#).unwrap();
        assert_eq!(plain, Some(HistorySpec::sqlite("a.sqlite", 3.0)));
        let tagged = read(r#"(history: Some(sqlite((path: "a.sqlite", retention_days: 3.0))))"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            tagged.sqlite_file(Path::new("s/x.ron")),
            Some(PathBuf::from("s/a.sqlite"))
        );
        let pg =
            read(r#"(history: Some(postgres((url: "postgres://u@127.0.0.1/db", retention_days: 7.0))))"#)
                .unwrap()
                .unwrap();
        let HistorySpec::Engine(HistoryEngine::Postgres(p)) = &pg else {
            panic!("{pg:?}");
        };
        assert_eq!((p.schema.as_str(), p.partition_days), ("citytwin", 1.0));
        assert_eq!(pg.retention_days(), 7.0);
        assert_eq!(pg.sqlite_file(Path::new("x.ron")), None);
        assert!(validate_feeds(&[], Some(&pg)).is_ok());
        let e = read(r#"(history: Some(postgres((uri: "postgres://x"))))"#).unwrap_err();
        assert!(e.to_string().contains("postgres((url:"), "{e}");
        let mut bad = p.clone();
        bad.schema = "x; DROP TABLE y".into();
        let bad = HistorySpec::Engine(HistoryEngine::Postgres(bad));
        assert!(validate_feeds(&[], Some(&bad)).unwrap_err().0.contains("schema"));
    }
}

#[cfg(test)]
mod default_scene_tests {
    use super::*;

    #[test]
    fn default_scene_runs_the_simulator_with_history() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(crate::twin::scene::DEFAULT_SCENE);
        let scene = crate::twin::scene::Scene::load(&path).unwrap();
        assert!(matches!(scene.feeds[0].kind, FeedKind::Simulator(_)));
        let h = scene.history.unwrap();
        let file = h.sqlite_file(&path).unwrap();
        assert!(file.ends_with(".cache/history/default.sqlite"));
    }

    #[test]
    fn the_default_simulators_sensors_and_roads_lie_in_monaco() {
        use crate::twin::crs::{Transformer, WGS84};
        use crate::twin::feeds::simulator::Simulator;
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(crate::twin::scene::DEFAULT_SCENE);
        let loaded = crate::twin::load::load_scene(&path).unwrap();
        let FeedKind::Simulator(spec) = &loaded.scene.feeds[0].kind else {
            panic!("the default feed is the simulator");
        };
        assert_eq!(
            spec.districts.len(),
            9,
            "the simulator keeps to Monaco's quarters"
        );
        let sim = Simulator::new(
            &loaded.city,
            spec,
            crate::twin::feeds::observation::SourceId("sim".into()),
        );
        let to_wgs84 = Transformer::new(&loaded.city.crs, &WGS84).unwrap();
        let sensors: Vec<(String, (f64, f64))> = sim
            .sensors()
            .map(|(id, p)| (id.to_string(), to_wgs84.point(p.x(), p.y()).unwrap()))
            .collect();
        eprintln!("sensors: {sensors:?}, sizes {:?}", sim.sizes());
        assert_eq!(sensors.len(), spec.sensors.min(8));
        // Monaco lies within 7.40–7.45 E, 43.72–43.76 N, and each sensor is in one of its
        // quarters (the scene's first nine districts), not in France.
        use geo::Contains;
        let quarters = &loaded.city.zones[..9];
        assert!(quarters.iter().all(|z| spec.districts.contains(&z.name)));
        for ((id, (lon, lat)), (_, p)) in sensors.iter().zip(sim.sensors()) {
            assert!(
                (7.40..7.45).contains(lon) && (43.72..43.76).contains(lat),
                "{id} at {lon}, {lat}"
            );
            assert!(
                quarters.iter().any(|z| z.area.contains(&p)),
                "{id} lies in no quarter of Monaco"
            );
        }
        // Without the districts the simulator reaches into France.
        let everywhere = SimulatorSpec {
            districts: Vec::new(),
            ..spec.clone()
        };
        let all = Simulator::new(
            &loaded.city,
            &everywhere,
            crate::twin::feeds::observation::SourceId("sim".into()),
        );
        let outside = all
            .sensors()
            .filter(|(_, p)| !quarters.iter().any(|z| z.area.contains(p)))
            .count();
        eprintln!("without the districts, {outside} sensors lie outside Monaco");
        assert!(outside > 0);
    }
}
