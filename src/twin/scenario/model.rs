//! The scenario model: a named, dated, ordered list of what-if edits (buildings, zoning,
//! green, transit, streets, energy), each with an optional cost override and a note, and
//! its RON file in `scenes/scenarios/`. Coordinates are in the scene CRS (metres).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::twin::city::{BuildingId, RoadId, ZoneId};
use crate::twin::i18n::{Lang, tr, tr_args};

/// Folder of scenario files, relative to the folder of the scene they were made for.
pub const SCENARIOS_DIR: &str = "scenarios";
/// Extension of scenario files.
pub const SCENARIO_EXT: &str = "ron";

/// A planner scenario: an ordered list of edits applied to the baseline city of a scene.
/// The baseline is never modified; applying a scenario works on a copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Scenario name.
    pub name: String,
    /// Who made it.
    #[serde(default)]
    pub author: String,
    /// When it was made, `YYYY-MM-DD`.
    #[serde(default)]
    pub date: String,
    /// File name of the scene it was made for, e.g. "default.ron".
    pub scene: String,
    /// What the scenario is about.
    #[serde(default)]
    pub description: String,
    /// The edits, applied in order.
    pub edits: Vec<ScenarioEdit>,
}

/// One edit of a scenario, with its cost override and note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioEdit {
    /// What changes.
    pub edit: Edit,
    /// Costs that replace the ones computed from the cost table.
    #[serde(default, skip_serializing_if = "CostOverride::is_empty")]
    pub cost: CostOverride,
    /// A note (why, source of the idea, ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl ScenarioEdit {
    /// An edit with table costs and no note.
    pub fn new(edit: Edit) -> ScenarioEdit {
        ScenarioEdit {
            edit,
            cost: CostOverride::default(),
            note: String::new(),
        }
    }
}

/// Costs given by the planner for one edit (absent: computed from the cost table).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CostOverride {
    /// Capital cost, €.
    pub capital_eur: Option<f64>,
    /// Yearly operating cost, € per year.
    pub operating_eur_per_year: Option<f64>,
}

impl CostOverride {
    /// Whether nothing is overridden.
    pub fn is_empty(&self) -> bool {
        self.capital_eur.is_none() && self.operating_eur_per_year.is_none()
    }
}

/// Public-transport modes of a stop or line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransitMode {
    /// Bus.
    Bus,
    /// Tram.
    Tram,
    /// Metro.
    Metro,
}

impl TransitMode {
    /// All modes.
    pub const ALL: [TransitMode; 3] = [TransitMode::Bus, TransitMode::Tram, TransitMode::Metro];

    /// Lower-case id.
    pub fn id(self) -> &'static str {
        match self {
            TransitMode::Bus => "bus",
            TransitMode::Tram => "tram",
            TransitMode::Metro => "metro",
        }
    }

    /// The mode's name in `lang` ("tram", "有轨电车").
    pub fn name_in(self, lang: Lang) -> String {
        match self {
            TransitMode::Bus => tr(lang, "mode-bus"),
            TransitMode::Tram => tr(lang, "mode-tram"),
            TransitMode::Metro => tr(lang, "mode-metro"),
        }
    }

    /// The POI `(category, kind)` a new stop of this mode gets (OSM tagging: a bus stop is
    /// `highway=bus_stop`, a tram stop `railway=tram_stop`, a metro station
    /// `railway=station`); all count as public-transport stops for the indicators.
    pub fn poi_tag(self) -> (&'static str, &'static str) {
        match self {
            TransitMode::Bus => ("highway", "bus_stop"),
            TransitMode::Tram => ("railway", "tram_stop"),
            TransitMode::Metro => ("railway", "station"),
        }
    }

    /// Index into per-mode arrays (`[bus, tram, metro]`).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// What a rooftop solar programme covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SolarTarget {
    /// These buildings.
    Buildings(Vec<BuildingId>),
    /// Every building of a zone.
    Zone(ZoneId),
}

/// One what-if edit. Footprints and polygons are rings of `(x, y)` in the scene CRS
/// (closing the ring is optional); ids are those of the scene's baseline city.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Edit {
    /// A new building on a drawn footprint.
    AddBuilding {
        /// Footprint ring, scene CRS.
        footprint: Vec<(f64, f64)>,
        /// Height above ground, metres.
        height_m: f64,
        /// Use, e.g. "apartments", "office", "school".
        usage: String,
        /// Name, if any.
        #[serde(default)]
        name: Option<String>,
    },
    /// New height of buildings.
    SetHeight {
        /// The buildings.
        buildings: Vec<BuildingId>,
        /// Height above ground, metres.
        height_m: f64,
    },
    /// New use of buildings.
    SetUse {
        /// The buildings.
        buildings: Vec<BuildingId>,
        /// Use, e.g. "apartments".
        usage: String,
    },
    /// Buildings demolished (their lots left empty).
    Demolish {
        /// The buildings.
        buildings: Vec<BuildingId>,
    },
    /// Every building of a zone (of one use, if given) raised or lowered by storeys
    /// (never below one storey).
    ZoneStoreys {
        /// The zone.
        zone: ZoneId,
        /// Storeys added (negative: removed).
        storeys: i32,
        /// Only buildings of this use.
        #[serde(default)]
        usage: Option<String>,
    },
    /// Every building of a zone of one use changes to another use.
    ZoneUse {
        /// The zone.
        zone: ZoneId,
        /// Current use.
        from: String,
        /// New use.
        to: String,
    },
    /// A new park on a drawn polygon.
    AddPark {
        /// Polygon ring, scene CRS.
        polygon: Vec<(f64, f64)>,
        /// Name, if any.
        #[serde(default)]
        name: Option<String>,
    },
    /// Buildings demolished and their lots (footprints) turned into green space.
    LotsToGreen {
        /// The buildings.
        buildings: Vec<BuildingId>,
    },
    /// A new public-transport stop.
    TransitStop {
        /// Location, scene CRS.
        at: (f64, f64),
        /// Mode.
        mode: TransitMode,
        /// Name, if any.
        #[serde(default)]
        name: Option<String>,
    },
    /// A new line through stops, in order; a stop is added at every point that has no
    /// public-transport stop within [`crate::twin::scenario::apply::LINE_STOP_MERGE_M`].
    TransitLine {
        /// Stops, scene CRS, in order.
        stops: Vec<(f64, f64)>,
        /// Mode.
        mode: TransitMode,
        /// Line name, if any.
        #[serde(default)]
        name: Option<String>,
    },
    /// Road segments closed to cars (become pedestrian streets).
    CloseToCars {
        /// The roads.
        roads: Vec<RoadId>,
    },
    /// A bike lane along road segments.
    BikeLane {
        /// The roads.
        roads: Vec<RoadId>,
    },
    /// New speed limit on road segments.
    SpeedLimit {
        /// The roads.
        roads: Vec<RoadId>,
        /// Speed limit, km/h.
        kmh: f64,
    },
    /// Solar panels on a share of the usable roof area of buildings.
    RooftopSolar {
        /// Which buildings.
        target: SolarTarget,
        /// Share of the usable roof area covered, 0–1.
        share: f64,
    },
}

impl Edit {
    /// Short kind id, as in files ("add_building", ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Edit::AddBuilding { .. } => "add_building",
            Edit::SetHeight { .. } => "set_height",
            Edit::SetUse { .. } => "set_use",
            Edit::Demolish { .. } => "demolish",
            Edit::ZoneStoreys { .. } => "zone_storeys",
            Edit::ZoneUse { .. } => "zone_use",
            Edit::AddPark { .. } => "add_park",
            Edit::LotsToGreen { .. } => "lots_to_green",
            Edit::TransitStop { .. } => "transit_stop",
            Edit::TransitLine { .. } => "transit_line",
            Edit::CloseToCars { .. } => "close_to_cars",
            Edit::BikeLane { .. } => "bike_lane",
            Edit::SpeedLimit { .. } => "speed_limit",
            Edit::RooftopSolar { .. } => "rooftop_solar",
        }
    }

    /// A one-line description for tables and the edit list.
    pub fn summary(&self) -> String {
        let n = |v: &[BuildingId]| format!("{} building{}", v.len(), if v.len() == 1 { "" } else { "s" });
        let r = |v: &[RoadId]| format!("{} road segment{}", v.len(), if v.len() == 1 { "" } else { "s" });
        match self {
            Edit::AddBuilding { height_m, usage, .. } => format!("new {usage} building, {height_m} m"),
            Edit::SetHeight { buildings, height_m } => format!("{} to {height_m} m", n(buildings)),
            Edit::SetUse { buildings, usage } => format!("{} to {usage}", n(buildings)),
            Edit::Demolish { buildings } => format!("demolish {}", n(buildings)),
            Edit::ZoneStoreys { zone, storeys, usage } => format!(
                "zone {}: {storeys:+} storeys{}",
                zone.0,
                usage.as_ref().map(|u| format!(" ({u})")).unwrap_or_default()
            ),
            Edit::ZoneUse { zone, from, to } => format!("zone {}: {from} to {to}", zone.0),
            Edit::AddPark { name, .. } => format!(
                "new park{}",
                name.as_ref().map(|s| format!(" {s}")).unwrap_or_default()
            ),
            Edit::LotsToGreen { buildings } => format!("{} to green space", n(buildings)),
            Edit::TransitStop { mode, .. } => format!("new {} stop", mode.id()),
            Edit::TransitLine { stops, mode, .. } => format!("new {} line, {} stops", mode.id(), stops.len()),
            Edit::CloseToCars { roads } => format!("{} closed to cars", r(roads)),
            Edit::BikeLane { roads } => format!("bike lane on {}", r(roads)),
            Edit::SpeedLimit { roads, kmh } => format!("{} to {kmh} km/h", r(roads)),
            Edit::RooftopSolar { target, share } => match target {
                SolarTarget::Buildings(b) => format!("solar on {:.0} % of roofs of {}", share * 100.0, n(b)),
                SolarTarget::Zone(z) => format!("solar on {:.0} % of roofs in zone {}", share * 100.0, z.0),
            },
        }
    }
}

impl Edit {
    /// The one-line description in `lang`, for people (the edit list, the status line, the
    /// cost table); [`Edit::summary`] stays the English one of files and JSON.
    pub fn describe(&self, lang: Lang) -> String {
        let buildings = |v: &[BuildingId]| tr_args(lang, "edit-n-buildings", &[("count", v.len().into())]);
        let roads = |v: &[RoadId]| tr_args(lang, "edit-n-roads", &[("count", v.len().into())]);
        let num = |v: f64| v.to_string();
        match self {
            Edit::AddBuilding { height_m, usage, .. } => tr_args(
                lang,
                "edit-add-building",
                &[("use", usage.into()), ("height", num(*height_m).into())],
            ),
            Edit::SetHeight {
                buildings: b,
                height_m,
            } => tr_args(
                lang,
                "edit-set-height",
                &[
                    ("buildings", buildings(b).into()),
                    ("height", num(*height_m).into()),
                ],
            ),
            Edit::SetUse { buildings: b, usage } => tr_args(
                lang,
                "edit-set-use",
                &[("buildings", buildings(b).into()), ("use", usage.into())],
            ),
            Edit::Demolish { buildings: b } => {
                tr_args(lang, "edit-demolish", &[("buildings", buildings(b).into())])
            }
            Edit::ZoneStoreys { zone, storeys, usage } => {
                let args = [
                    ("zone", zone.0.to_string().into()),
                    ("storeys", format!("{storeys:+}").into()),
                    ("count", (storeys.unsigned_abs() as usize).into()),
                    ("use", usage.clone().unwrap_or_default().into()),
                ];
                if usage.is_some() {
                    tr_args(lang, "edit-zone-storeys-use", &args)
                } else {
                    tr_args(lang, "edit-zone-storeys", &args)
                }
            }
            Edit::ZoneUse { zone, from, to } => tr_args(
                lang,
                "edit-zone-use",
                &[
                    ("zone", zone.0.to_string().into()),
                    ("from", from.into()),
                    ("to", to.into()),
                ],
            ),
            Edit::AddPark { name: None, .. } => tr(lang, "edit-add-park"),
            Edit::AddPark { name: Some(n), .. } => {
                tr_args(lang, "edit-add-park-named", &[("name", n.into())])
            }
            Edit::LotsToGreen { buildings: b } => {
                tr_args(lang, "edit-lots-to-green", &[("buildings", buildings(b).into())])
            }
            Edit::TransitStop { mode, .. } => {
                tr_args(lang, "edit-transit-stop", &[("mode", mode.name_in(lang).into())])
            }
            Edit::TransitLine { stops, mode, .. } => tr_args(
                lang,
                "edit-transit-line",
                &[("mode", mode.name_in(lang).into()), ("count", stops.len().into())],
            ),
            Edit::CloseToCars { roads: r } => {
                tr_args(lang, "edit-close-to-cars", &[("roads", roads(r).into())])
            }
            Edit::BikeLane { roads: r } => tr_args(lang, "edit-bike-lane", &[("roads", roads(r).into())]),
            Edit::SpeedLimit { roads: r, kmh } => tr_args(
                lang,
                "edit-speed-limit",
                &[("roads", roads(r).into()), ("kmh", num(*kmh).into())],
            ),
            Edit::RooftopSolar { target, share } => {
                let percent = format!("{:.0}", share * 100.0);
                match target {
                    SolarTarget::Buildings(b) => tr_args(
                        lang,
                        "edit-solar-buildings",
                        &[("percent", percent.into()), ("buildings", buildings(b).into())],
                    ),
                    SolarTarget::Zone(z) => tr_args(
                        lang,
                        "edit-solar-zone",
                        &[("percent", percent.into()), ("zone", z.0.to_string().into())],
                    ),
                }
            }
        }
    }
}

/// An edit kind (an id of [`Edit::kind`]) in `lang`; an unknown id is kept.
pub fn edit_kind_name(lang: Lang, kind: &str) -> String {
    match kind {
        "add_building" => tr(lang, "edit-kind-add-building"),
        "set_height" => tr(lang, "edit-kind-set-height"),
        "set_use" => tr(lang, "edit-kind-set-use"),
        "demolish" => tr(lang, "edit-kind-demolish"),
        "zone_storeys" => tr(lang, "edit-kind-zone-storeys"),
        "zone_use" => tr(lang, "edit-kind-zone-use"),
        "add_park" => tr(lang, "edit-kind-add-park"),
        "lots_to_green" => tr(lang, "edit-kind-lots-to-green"),
        "transit_stop" => tr(lang, "edit-kind-transit-stop"),
        "transit_line" => tr(lang, "edit-kind-transit-line"),
        "close_to_cars" => tr(lang, "edit-kind-close-to-cars"),
        "bike_lane" => tr(lang, "edit-kind-bike-lane"),
        "speed_limit" => tr(lang, "edit-kind-speed-limit"),
        "rooftop_solar" => tr(lang, "edit-kind-rooftop-solar"),
        other => other.to_string(),
    }
}

/// Errors reading or writing a scenario file; each names the file.
#[derive(Debug, Error)]
pub enum ScenarioError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The scenario file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The RON did not parse or did not match the schema.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The scenario file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The scenario could not be written as RON.
    #[error("{path}: cannot write the scenario: {message}")]
    Serialize {
        /// The scenario file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The scenario was made for another scene.
    #[error("{path}: the scenario was made for scene '{made_for}', not '{scene}'")]
    WrongScene {
        /// The scenario file.
        path: PathBuf,
        /// The scene file name the scenario names.
        made_for: String,
        /// The scene file name it was applied to.
        scene: String,
    },
}

impl Scenario {
    /// An empty scenario for a scene file name.
    pub fn new(name: &str, scene: &str) -> Scenario {
        Scenario {
            name: name.to_string(),
            author: String::new(),
            date: String::new(),
            scene: scene.to_string(),
            description: String::new(),
            edits: Vec::new(),
        }
    }

    /// Parses scenario RON; `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
        ron::from_str(text).map_err(|e| ScenarioError::Parse {
            path: path.to_path_buf(),
            line: e.span.start.line,
            column: e.span.start.col,
            message: e.code.to_string(),
        })
    }

    /// Reads a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Scenario::parse(&text, path)
    }

    /// The scenario as pretty RON.
    pub fn to_ron(&self, path: &Path) -> Result<String, ScenarioError> {
        let cfg = ron::ser::PrettyConfig::new()
            .depth_limit(4)
            .struct_names(false)
            .separate_tuple_members(false);
        ron::ser::to_string_pretty(self, cfg).map_err(|e| ScenarioError::Serialize {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Writes the scenario file (creating its folder).
    pub fn save(&self, path: &Path) -> Result<(), ScenarioError> {
        let text = self.to_ron(path)? + "\n";
        let io = |source| ScenarioError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::write(path, text).map_err(io)
    }

    /// Checks that the scenario was made for the scene file `scene_path` (by file name);
    /// `path` is the scenario file, for the error.
    pub fn check_scene(&self, scene_path: &Path, path: &Path) -> Result<(), ScenarioError> {
        let scene = scene_path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if self.scene.is_empty() || self.scene == scene {
            Ok(())
        } else {
            Err(ScenarioError::WrongScene {
                path: path.to_path_buf(),
                made_for: self.scene.clone(),
                scene,
            })
        }
    }
}

/// The scenario folder of a scene file: `scenarios/` next to it.
pub fn scenarios_dir(scene_path: &Path) -> PathBuf {
    scene_path.parent().unwrap_or(Path::new(".")).join(SCENARIOS_DIR)
}

/// The scenario files (`*.ron`) in the scenario folder of a scene, sorted by name;
/// empty when the folder does not exist.
pub fn list_scenarios(scene_path: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(scenarios_dir(scene_path)) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == SCENARIO_EXT))
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Scenario {
        let mut s = Scenario::new("Denser harbour", "default.ron");
        s.author = "Planning".into();
        s.date = "2026-11-28".into();
        s.edits.push(ScenarioEdit {
            edit: Edit::AddBuilding {
                footprint: vec![(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)],
                height_m: 12.0,
                usage: "apartments".into(),
                name: None,
            },
            cost: CostOverride {
                capital_eur: Some(1.0e6),
                operating_eur_per_year: None,
            },
            note: "infill".into(),
        });
        s.edits.push(ScenarioEdit::new(Edit::RooftopSolar {
            target: SolarTarget::Zone(ZoneId(3)),
            share: 0.5,
        }));
        s.edits.push(ScenarioEdit::new(Edit::TransitStop {
            at: (5.0, 5.0),
            mode: TransitMode::Tram,
            name: Some("Harbour".into()),
        }));
        s
    }

    #[test]
    fn ron_round_trip() {
        let s = sample();
        let p = Path::new("x.ron");
        let text = s.to_ron(p).unwrap();
        assert_eq!(Scenario::parse(&text, p).unwrap(), s);
        let dir = std::env::temp_dir().join(format!("citytwin-scen-{}", std::process::id()));
        let path = dir.join(SCENARIOS_DIR).join("s.ron");
        s.save(&path).unwrap();
        assert_eq!(Scenario::load(&path).unwrap(), s);
        assert_eq!(list_scenarios(&dir.join("scene.ron")), vec![path]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn errors_name_the_file() {
        let e = Scenario::parse(
            "(name: \"x\", scene: \"a.ron\", edits: [wobble()])",
            Path::new("w.ron"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("w.ron:1:"), "{e}");
        let e = Scenario::load(Path::new("no/such.ron")).unwrap_err().to_string();
        assert!(e.contains("no/such.ron"), "{e}");
        let s = sample();
        assert!(
            s.check_scene(Path::new("scenes/default.ron"), Path::new("s.ron"))
                .is_ok()
        );
        let e = s
            .check_scene(Path::new("scenes/other.ron"), Path::new("s.ron"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("s.ron") && e.contains("other.ron"), "{e}");
    }
}
