//! A briefing made ready for export as one role, and its JSON document (`citytwin briefing
//! export BRIEFING.ron --json out.json`): the title, scene, role and attributions, and per
//! slide the title, notes, data time (with the observations read), scenario, layers shown
//! with their sources and licences, the indicator values the page shows (with the
//! baseline and the change on scenario slides), the choropleth's value in every zone, and
//! the service requests as the role may see them (k-anonymous cells, or records for a
//! role cleared for individual data). Every value the role may not see is blanked before
//! the document is made, and the document goes through [`ExportAccess::export_json`]
//! (redact, then check: a leak is an error, never a file).
//!
//! [`prepare_for_role`] is shared with the rendered export (`crate::app::briefing_export`),
//! so that the zone colours, the PDF pages and the JSON of one export come from the same
//! numbers.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

use crate::twin::access::filter::Withheld;
use crate::twin::access::privacy::{RecordView, requests_from_observations, view_for};
use crate::twin::access::{
    AccessError, ExportAccess, ExportError, IndicatorPolicy, RecordCounts, Role, attribution_line,
    attributions, load_filtered,
};
use crate::twin::briefing::page::{source_lines, value_text};
use crate::twin::briefing::values::{
    FeedsAt, SlideScenario, SlideValues, ZoneChoroplethValue, feeds_at_times, load_slide_scenarios,
    prepare_slides, slide_times, withhold_for_role,
};
use crate::twin::briefing::{Briefing, BriefingError, Slide, shown_layers};
use crate::twin::feeds::Timestamp;
use crate::twin::feeds::timefmt::format_rfc3339;
use crate::twin::gis::layer::Classification;
use crate::twin::indicators::catalogue::Catalogue;
use crate::twin::indicators::context::IndicatorContext;
use crate::twin::indicators::evaluate::Status;
use crate::twin::indicators::report::IndicatorError;
use crate::twin::load::LoadedScene;
use crate::twin::progress::Progress;
use crate::twin::scenario::EditStack;
use crate::twin::scene::{LayerSpec, Scene};

/// The `format` field of the JSON document, bumped when its shape changes.
pub const BRIEFING_JSON_FORMAT: &str = "citytwin-briefing-1";

/// Errors of exporting a briefing's values (JSON).
#[derive(Debug, Error)]
pub enum BriefingExportError {
    /// The briefing could not be read or does not fit its scene.
    #[error(transparent)]
    Briefing(#[from] BriefingError),
    /// The scene could not be loaded (the message names the file).
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The role is not defined in the scene.
    #[error("{path}: {source}")]
    Role {
        /// The scene file.
        path: PathBuf,
        /// What went wrong.
        source: AccessError,
    },
    /// The scene's history could not be read (the message names the file).
    #[error(transparent)]
    Indicators(#[from] IndicatorError),
    /// The document would contain what the role may not see.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// The briefing has no slides.
    #[error("{0}: the briefing has no slides")]
    NoSlides(PathBuf),
    /// The JSON file could not be written.
    #[error("{path}: cannot write: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// A briefing's slides made ready for export as one role.
pub struct RoleSlides {
    /// Each slide's values, with what the role may not see blanked.
    pub values: Vec<SlideValues>,
    /// Each slide's applied scenario, when it names one (for the view to draw).
    pub stacks: Vec<Option<EditStack>>,
    /// Each slide's service requests as the role may see them (`None`: the scene has no
    /// observation history).
    pub requests: Vec<Option<RecordView>>,
    /// Indicators the role may not see, each once.
    pub withheld_indicators: Vec<String>,
}

/// Prepares every slide for an export as `role`: values from the scene's history at each
/// slide's data time, scenarios applied, choropleth zones on the slide's city, what
/// `policy` refuses the role blanked (city-wide and per zone), and the service requests
/// opened in the history window before each data time as the role may see them.
pub fn prepare_for_role(
    loaded: &LoadedScene,
    ctx: &IndicatorContext,
    slides: &[Slide],
    times: &[Timestamp],
    scenarios: &[Option<SlideScenario>],
    role: &Role,
    policy: &IndicatorPolicy,
) -> Result<RoleSlides, IndicatorError> {
    let feeds = feeds_at_times(loaded, &loaded.path, times)?;
    let prepared = prepare_slides(loaded, ctx, slides, times, scenarios, &feeds);
    let (mut values, stacks): (Vec<_>, Vec<_>) = prepared.into_iter().map(|p| (p.values, p.stack)).unzip();
    let withheld_indicators =
        withhold_for_role(&mut values, times, &feeds, &loaded.city.zones, policy, &role.name);
    let grid = loaded.scene.roles.grid();
    let requests = times
        .iter()
        .map(|at| feeds.get(at).and_then(|f| slide_requests(f, role, &grid)))
        .collect();
    Ok(RoleSlides {
        values,
        stacks,
        requests,
        withheld_indicators,
    })
}

/// The service requests opened in the feed window of `feeds` as `role` may see them, on
/// `grid`; `None` when there is no history behind the window.
pub fn slide_requests(
    feeds: &FeedsAt,
    role: &Role,
    grid: &crate::twin::access::HexGrid,
) -> Option<RecordView> {
    feeds.observations?;
    let records = requests_from_observations(&feeds.feeds.window.observations);
    Some(view_for(role, records, grid))
}

/// The [`ExportAccess`] of a scene loaded as `role`, with `withheld` not given to it.
pub fn export_access(
    loaded: &LoadedScene,
    role: &Role,
    withheld: &Withheld,
    catalogue: &Catalogue,
) -> ExportAccess {
    ExportAccess {
        role: role.clone(),
        policy: IndicatorPolicy::new(catalogue, withheld, role),
        counts: RecordCounts::default(),
        zone_names: loaded.city.zones.iter().map(|z| z.name.clone()).collect(),
        attributions: attributions(&loaded.city),
        withheld: withheld.clone(),
    }
}

/// The JSON document of a briefing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BriefingDoc {
    /// [`BRIEFING_JSON_FORMAT`].
    pub format: &'static str,
    /// Briefing title.
    pub title: String,
    /// Who prepared it.
    pub author: String,
    /// The date it is for, as written.
    pub date: String,
    /// The scene's name.
    pub scene: String,
    /// The scene file, as the briefing names it.
    pub scene_file: String,
    /// The role exported for.
    pub role: String,
    /// Attributions the layers loaded for the role require.
    pub attributions: Vec<String>,
    /// The same on one line, as on screen.
    pub attribution_line: String,
    /// The access the export was made under.
    pub access: crate::twin::access::export::AccessSummary,
    /// One entry per slide, in presenting order.
    pub slides: Vec<SlideDoc>,
}

/// One slide of the JSON document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlideDoc {
    /// 1-based slide number.
    pub number: usize,
    /// Slide title.
    pub title: String,
    /// Speaker notes.
    pub notes: String,
    /// Data time, RFC 3339 UTC.
    pub data_time: String,
    /// Data time, milliseconds since 1970.
    pub data_time_ms: i64,
    /// The data time as the page writes it, saying where feed values come from.
    pub data_time_text: String,
    /// Observations read from the history (`None`: the scene has no history file).
    pub observations: Option<usize>,
    /// The scenario shown, if any.
    pub scenario: Option<ScenarioDoc>,
    /// The layers shown (those the role may see), with their sources.
    pub layers: Vec<LayerDoc>,
    /// The page's source lines: one per licence and attribution.
    pub sources: Vec<String>,
    /// The slide's highlighted indicators, as on the page.
    pub indicators: Vec<IndicatorDoc>,
    /// Indicator ids the slide names that have no value row (left off the page too).
    pub missing_indicators: Vec<String>,
    /// The indicator the zones are coloured by, with every zone's value.
    pub choropleth: Option<ChoroplethDoc>,
    /// Service requests opened in the 24 h before the data time, as the role may see
    /// them (`None`: no observation history).
    pub service_requests: Option<RecordView>,
}

/// The scenario of a slide.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioDoc {
    /// How the page names it.
    pub label: String,
    /// The file, as the briefing names it.
    pub file: String,
    /// Edits that could not be applied.
    pub skipped_edits: Vec<String>,
}

/// A layer shown on a slide.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerDoc {
    /// Layer name in the scene.
    pub name: String,
    /// Human title.
    pub title: String,
    /// Owner.
    pub owner: String,
    /// Licence.
    pub licence: String,
    /// Attribution the licence requires.
    pub attribution: String,
    /// Classification.
    pub classification: Classification,
}

/// An indicator of a slide.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorDoc {
    /// Id.
    pub id: String,
    /// Name (says so when withheld).
    pub name: String,
    /// Unit.
    pub unit: String,
    /// Value on the city the slide shows.
    pub value: Option<f64>,
    /// Status.
    pub status: Status,
    /// Target.
    pub target: f64,
    /// Whether higher is better.
    pub higher_is_better: bool,
    /// The value as the page writes it.
    pub text: String,
    /// Today's value, on a scenario slide.
    pub baseline: Option<BaselineDoc>,
    /// Scenario − today, on a scenario slide with both values.
    pub delta: Option<f64>,
}

/// Today's value of an indicator beside a scenario's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BaselineDoc {
    /// Indicator id.
    pub id: String,
    /// Value.
    pub value: Option<f64>,
    /// Status.
    pub status: Status,
}

/// A slide's choropleth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChoroplethDoc {
    /// Indicator id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Unit of the zone values.
    pub unit: String,
    /// Every zone: name, value, 0–1 colour score, status.
    pub zones: Vec<ZoneChoroplethValue>,
}

/// What a briefing document is made from.
pub struct DocInput<'a> {
    /// The briefing.
    pub briefing: &'a Briefing,
    /// The scene as loaded for the role (withheld layers absent).
    pub scene: &'a Scene,
    /// The slides' values, service requests and withheld indicators.
    pub slides: &'a RoleSlides,
    /// Whether a layer may be shown and credited to the role.
    pub allow_layer: &'a dyn Fn(&LayerSpec) -> bool,
    /// The access of the export.
    pub access: &'a ExportAccess,
}

/// The document of a briefing (not yet redacted and checked: see [`briefing_json`]).
pub fn briefing_doc(input: &DocInput) -> BriefingDoc {
    let DocInput {
        briefing,
        scene,
        slides,
        allow_layer,
        access,
    } = input;
    let docs = briefing
        .slides
        .iter()
        .enumerate()
        .map(|(i, slide)| {
            let v = slides.values.get(i);
            let shown: Vec<&LayerSpec> = shown_layers(scene, slide)
                .into_iter()
                .filter_map(|name| scene.layers.iter().find(|l| l.name == name))
                .filter(|l| allow_layer(l))
                .collect();
            let mut indicators = Vec::new();
            let mut missing = Vec::new();
            for id in &slide.indicators {
                match v.and_then(|v| v.rows.iter().find(|r| &r.id == id)) {
                    Some(row) => {
                        let base = v.and_then(|v| v.baseline_of(id));
                        indicators.push(IndicatorDoc {
                            id: row.id.clone(),
                            name: row.name.clone(),
                            unit: row.unit.clone(),
                            value: row.value,
                            status: row.status,
                            target: row.target,
                            higher_is_better: row.higher_is_better,
                            text: value_text(row, base),
                            baseline: base.map(|b| BaselineDoc {
                                id: b.id.clone(),
                                value: b.value,
                                status: b.status,
                            }),
                            delta: base.and_then(|b| Some(row.value? - b.value?)),
                        })
                    }
                    None => missing.push(id.clone()),
                }
            }
            let at = v.map_or(Timestamp(0), |v| v.at);
            SlideDoc {
                number: i + 1,
                title: slide.title.clone(),
                notes: slide.notes.clone(),
                data_time: format_rfc3339(at),
                data_time_ms: at.0,
                data_time_text: v.map_or_else(|| "not evaluated".into(), |v| v.data_time.clone()),
                observations: v.and_then(|v| v.observations),
                scenario: slide.scenario.as_ref().map(|file| ScenarioDoc {
                    label: v
                        .and_then(|v| v.scenario.clone())
                        .unwrap_or_else(|| file.display().to_string()),
                    file: file.display().to_string(),
                    skipped_edits: v.map(|v| v.skipped_text()).unwrap_or_default(),
                }),
                layers: shown
                    .iter()
                    .map(|l| LayerDoc {
                        name: l.name.clone(),
                        title: l.meta.title.clone(),
                        owner: l.meta.owner.clone(),
                        licence: l.meta.licence.clone(),
                        attribution: l.meta.attribution.clone(),
                        classification: l.meta.classification,
                    })
                    .collect(),
                sources: source_lines(&shown),
                indicators,
                missing_indicators: missing,
                choropleth: v.and_then(|v| v.choropleth.as_ref()).map(|c| ChoroplethDoc {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    unit: c.unit.clone(),
                    zones: c.zones.clone(),
                }),
                service_requests: slides.requests.get(i).cloned().flatten(),
            }
        })
        .collect();
    BriefingDoc {
        format: BRIEFING_JSON_FORMAT,
        title: briefing.title.clone(),
        author: briefing.author.clone(),
        date: briefing.date.clone(),
        scene: scene.name.clone(),
        scene_file: briefing.scene.display().to_string(),
        role: access.role.name.clone(),
        attributions: access.attributions.clone(),
        attribution_line: attribution_line(&access.attributions),
        access: access.summary(),
        slides: docs,
    }
}

/// The briefing's JSON for the export's role: the document, redacted and checked by
/// [`ExportAccess::export_json`] (an export that still leaks is an error).
pub fn briefing_json(input: &DocInput) -> Result<Value, ExportError> {
    input.access.export_json(&briefing_doc(input))
}

/// Writes a JSON value to a file, pretty-printed (through a temporary file, so that a
/// failed write leaves no half file).
pub fn write_json(path: &Path, value: &Value) -> Result<(), BriefingExportError> {
    let err = |message: String| BriefingExportError::Write {
        path: path.to_path_buf(),
        message,
    };
    let mut text = serde_json::to_string_pretty(value).map_err(|e| err(e.to_string()))?;
    text.push('\n');
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).map_err(|e| err(e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
}

/// What [`briefing_json_for`] made.
pub struct JsonExport {
    /// The JSON document.
    pub json: Value,
    /// The slides' values (as the JSON has them).
    pub slides: RoleSlides,
    /// The role exported for.
    pub role: String,
}

/// The JSON of a briefing file for a role (`None`: the scene's default role), without
/// rendering anything: the briefing is read and checked against its scene, the scene
/// loaded as the role, every slide prepared ([`prepare_for_role`]) at its data time
/// (`now` when neither the slide nor the briefing sets one).
pub fn briefing_json_for(
    briefing_path: &Path,
    role: Option<&str>,
    now: Timestamp,
) -> Result<JsonExport, BriefingExportError> {
    let briefing = Briefing::load(briefing_path)?;
    if briefing.slides.is_empty() {
        return Err(BriefingExportError::NoSlides(briefing_path.to_path_buf()));
    }
    let scene_path = briefing.scene_path(briefing_path);
    let scene = Scene::load(&scene_path).map_err(AccessError::Scene)?;
    let (catalogue, _) = Catalogue::from_config(&scene.indicators);
    let ids: Vec<&str> = catalogue.indicators.iter().map(|d| d.id.as_str()).collect();
    briefing.check(briefing_path, &scene, &ids)?;
    let role = scene
        .roles
        .role(role)
        .map_err(|source| BriefingExportError::Role {
            path: scene_path.clone(),
            source,
        })?;
    let times = slide_times(&briefing, briefing_path, now)?;
    let scenarios = load_slide_scenarios(&briefing, briefing_path, &scene_path)?;
    let scoped = load_filtered(scene, &scene_path, role, &Progress::default())?;
    let loaded = &scoped.loaded;
    let ctx = IndicatorContext::new(&loaded.city, &loaded.scene.indicators);
    let policy = IndicatorPolicy::new(&ctx.catalogue, &scoped.withheld, &scoped.role);
    let slides = prepare_for_role(
        loaded,
        &ctx,
        &briefing.slides,
        &times,
        &scenarios,
        &scoped.role,
        &policy,
    )?;
    let access = export_access(loaded, &scoped.role, &scoped.withheld, &ctx.catalogue);
    let role = scoped.role.clone();
    let json = briefing_json(&DocInput {
        briefing: &briefing,
        scene: &loaded.scene,
        slides: &slides,
        allow_layer: &|l| role.may_see(l.meta.classification),
        access: &access,
    })?;
    Ok(JsonExport {
        json,
        slides,
        role: role.name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::access::privacy::tests::fixture;
    use crate::twin::access::{DEFAULT_K_ANONYMITY, HexGrid};
    use crate::twin::briefing::values::tests::tmp;
    use crate::twin::feeds::{Observation, SourceId};
    use crate::twin::fixtures::{pm25, scene_with_history_in, write_history};

    /// The PM2.5 daily mean: a feed indicator.
    const PM25: &str = "env.pm25_daily_mean";
    /// An indicator of the city model alone.
    const DENSITY: &str = "people.population_density";
    /// The fixture's data time: an hour after its requests.
    const AT: Timestamp = Timestamp(1_700_000_000_000 + Timestamp::HOUR_MS);

    /// The default scene with a history holding the k-anonymity fixture (cells of 3 and 7
    /// requests with addresses) and two PM2.5 readings, and a two-slide briefing of it;
    /// the briefing's path.
    fn fixture_briefing(name: &str) -> PathBuf {
        let dir = tmp(name);
        let scene = scene_with_history_in(&dir).unwrap();
        let grid = HexGrid {
            size_m: crate::twin::access::privacy::DEFAULT_CELL_M,
        };
        let src = SourceId(scene_feed(&scene));
        let mut obs: Vec<Observation> = fixture(&grid)
            .into_iter()
            .map(|mut o| {
                o.source = src.clone();
                o
            })
            .collect();
        for (sensor, v) in [("aq-01", 7.0), ("aq-02", 16.0)] {
            let mut o = pm25(sensor, v, AT.plus_ms(-Timestamp::HOUR_MS));
            o.source = src.clone();
            obs.push(o);
        }
        write_history(&dir, &obs).unwrap();
        let file = dir.join("b.ron");
        std::fs::write(
            &file,
            format!(
                r#"(title: "Requests", author: "Analytics", scene: "helsinki.ron", data_time: Some("{}"),
                slides: [
                    (title: "Air", view: bookmark("Whole centre"), indicators: ["{PM25}", "{DENSITY}"],
                     choropleth: Some("{PM25}"), notes: "Two sensors."),
                    (title: "Roads", view: bookmark("Senate Square"), layers: Some(["roads"])),
                ])"#,
                AT.0
            ),
        )
        .unwrap();
        file
    }

    /// The name of the scene's (only) feed, which the history is read for.
    fn scene_feed(scene: &Path) -> String {
        Scene::load(scene).unwrap().feeds[0].name.clone()
    }

    fn export(file: &Path, role: &str) -> (JsonExport, String) {
        let e = briefing_json_for(file, Some(role), Timestamp(0)).unwrap();
        let text = e.json.to_string();
        (e, text)
    }

    #[test]
    fn public_json_has_the_cell_of_seven_and_no_address_staff_gets_the_records() {
        let file = fixture_briefing("json-k");
        let (public, text) = export(&file, "public");
        assert_eq!(public.role, "public");
        let j = &public.json;
        let requests = &j["slides"][0]["service_requests"]["cells"];
        let cells = requests["cells"].as_array().expect("cells for public");
        assert_eq!(cells.len(), 1, "{requests}");
        assert_eq!(
            (cells[0]["id"].as_str(), cells[0]["count"].as_u64()),
            (Some("4,0"), Some(7))
        );
        assert_eq!(requests["k"], DEFAULT_K_ANONYMITY);
        assert_eq!(requests["suppressed_cells"], 1);
        assert!(
            text.contains("\"count\":7") && !text.contains("\"count\":3"),
            "{text}"
        );
        assert!(!text.contains("Testikatu") && !text.contains("address"), "{text}");
        assert!(!text.contains("\"0,0\""), "the suppressed cell's id: {text}");
        assert!(!text.contains("records"), "{text}");

        // Mayor: every classification, but records only aggregated.
        let (_, mayor) = export(&file, "mayor");
        assert!(
            !mayor.contains("Testikatu") && mayor.contains("\"count\":7"),
            "{mayor}"
        );

        // Staff is cleared for individual data: the ten records, addresses included.
        let (staff, text) = export(&file, "staff");
        let records = staff.json["slides"][0]["service_requests"]["records"]
            .as_array()
            .expect("records for staff");
        assert_eq!(records.len(), 10);
        assert!(
            text.contains("Testikatu 1 A 0") && text.contains("Testikatu 2 A 6"),
            "{text}"
        );
        assert!(!text.contains("\"cells\""), "{text}");
    }

    #[test]
    fn the_json_has_a_slide_each_with_the_values_of_its_page() {
        let file = fixture_briefing("json-values");
        let (e, _) = export(&file, "public");
        let j = &e.json;
        assert_eq!(j["format"], BRIEFING_JSON_FORMAT);
        assert_eq!(j["title"], "Requests");
        assert_eq!(j["role"], "public");
        assert_eq!(j["scene"], "Helsinki — city centre");
        assert_eq!(
            j["attributions"],
            serde_json::json!(["© OpenStreetMap contributors"])
        );
        assert_eq!(j["access"]["role"], "public");
        let slides = j["slides"].as_array().unwrap();
        assert_eq!(slides.len(), 2);
        assert_eq!(e.slides.values.len(), 2);
        let (one, v) = (&slides[0], &e.slides.values[0]);
        assert_eq!(
            (one["number"].as_u64(), one["title"].as_str()),
            (Some(1), Some("Air"))
        );
        assert_eq!(one["notes"], "Two sensors.");
        assert_eq!(one["data_time_ms"], AT.0);
        assert_eq!(one["data_time"], format_rfc3339(AT));
        assert_eq!(one["data_time_text"], v.data_time.as_str());
        assert_eq!(one["observations"], 12, "ten requests and two readings");
        assert!(one["scenario"].is_null());
        assert_eq!(one["missing_indicators"], serde_json::json!([]));
        // The page's indicators, with the values of the slide's rows.
        let ids: Vec<&str> = one["indicators"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [PM25, DENSITY]);
        for i in one["indicators"].as_array().unwrap() {
            let row = v.rows.iter().find(|r| r.id == i["id"].as_str().unwrap()).unwrap();
            assert_eq!(i["value"].as_f64(), row.value);
            assert_eq!(i["text"], value_text(row, None));
            assert_eq!(i["status"], row.status.id());
        }
        assert_eq!(one["indicators"][0]["value"], 11.5, "mean of 7 and 16");
        // The choropleth from the history: the two sensors' zones have values, coloured.
        let c = &one["choropleth"];
        assert_eq!(c["id"], PM25);
        let zones = c["zones"].as_array().unwrap();
        let mine = v.choropleth.as_ref().unwrap();
        assert_eq!(zones.len(), mine.zones.len());
        let with_value: Vec<_> = zones.iter().filter(|z| !z["value"].is_null()).collect();
        assert!((1..=2).contains(&with_value.len()), "{c}");
        for (z, m) in zones.iter().zip(&mine.zones) {
            assert_eq!(
                (z["zone"].as_str(), z["score"].as_f64()),
                (Some(m.zone.as_str()), m.score)
            );
        }
        // Layers shown with their sources; the second slide shows only the roads.
        let two = &slides[1];
        assert_eq!(two["layers"].as_array().unwrap().len(), 1);
        assert_eq!(two["layers"][0]["name"], "roads");
        assert_eq!(two["layers"][0]["licence"], "ODbL-1.0");
        assert!(
            two["sources"][0]
                .as_str()
                .unwrap()
                .starts_with("© OpenStreetMap contributors")
        );
        assert!(two["choropleth"].is_null());
        assert!(one["layers"].as_array().unwrap().len() > 1);
    }

    #[test]
    fn errors_name_the_briefing_the_scene_or_the_role() {
        let fails = |file: &Path, role: Option<&str>| match briefing_json_for(file, role, Timestamp(0)) {
            Ok(_) => panic!("{} exported", file.display()),
            Err(e) => e.to_string(),
        };
        let file = fixture_briefing("json-errors");
        let e = fails(&file, Some("janitor"));
        assert!(
            e.contains("helsinki.ron") && e.contains("unknown role 'janitor'"),
            "{e}"
        );
        let e = fails(Path::new("/nonexistent/b.ron"), None);
        assert!(e.contains("/nonexistent/b.ron"), "{e}");
        let empty = file.with_file_name("empty.ron");
        std::fs::write(&empty, r#"(title: "t", scene: "helsinki.ron")"#).unwrap();
        let e = fails(&empty, None);
        assert!(e.contains("empty.ron") && e.contains("no slides"), "{e}");
    }

    /// A choropleth of an indicator the role may not see (it reads a restricted layer)
    /// leaves every zone without a value in the JSON; a role cleared for the layer gets
    /// the zones' values.
    #[test]
    fn a_withheld_choropleth_has_no_zone_values() {
        const PARKS: &str = "live.park_access_300m";
        let file = fixture_briefing("json-withheld");
        let scene = file.with_file_name("helsinki.ron");
        let mut text = std::fs::read_to_string(&scene).unwrap();
        let green = text.find("name: \"green\"").expect("the green layer");
        let public = "classification: public";
        let at = green + text[green..].find(public).expect("its classification");
        text.replace_range(at..at + public.len(), "classification: restricted");
        std::fs::write(&scene, text).unwrap();
        let parks = file.with_file_name("parks.ron");
        std::fs::write(
            &parks,
            format!(
                r#"(title: "Parks", scene: "helsinki.ron", data_time: Some("{}"), slides: [
                    (title: "Parks", view: bookmark("Senate Square"), indicators: ["{PARKS}"],
                     choropleth: Some("{PARKS}")),
                ])"#,
                AT.0
            ),
        )
        .unwrap();
        let zones = |e: &JsonExport| -> Vec<Option<f64>> {
            e.json["slides"][0]["choropleth"]["zones"]
                .as_array()
                .expect("zones")
                .iter()
                .map(|z| z["value"].as_f64())
                .collect()
        };
        let (public, _) = export(&parks, "public");
        assert!(public.slides.withheld_indicators.iter().any(|i| i == PARKS));
        assert_eq!(
            public.json["access"]["withheld_layers"],
            serde_json::json!(["green"])
        );
        let z = zones(&public);
        assert!(!z.is_empty() && z.iter().all(Option::is_none), "{z:?}");
        assert!(public.json["slides"][0]["indicators"][0]["value"].is_null());
        let (planner, _) = export(&parks, "planner");
        assert!(zones(&planner).iter().any(Option::is_some));
    }
}
