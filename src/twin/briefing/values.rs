//! The numbers on a briefing's pages: each slide's indicators on the city it shows (the
//! baseline, or the city of the scenario it names, with the change against the baseline),
//! evaluated at its data time with the feeds the scene's history store held then. Shared by
//! the headless export and the presenting strip; scenario files are read and checked
//! before anything is rendered, errors naming the briefing, the slide and the file.
//!
//! A slide with a choropleth also gets its per-zone values ([`SlideChoropleth`]) from the
//! same evaluation as its page figures (the scenario's city, the history's feeds), so that
//! its zone colours, page and JSON agree; [`withhold_for_role`] blanks what a role may not
//! see, city-wide and per zone, before anything is drawn or written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::twin::access::{IndicatorPolicy, RecordCounts};
use crate::twin::briefing::{Briefing, BriefingError, Slide, relative_to};
use crate::twin::city::{CityModel, Zone};
use crate::twin::feeds::Timestamp;
use crate::twin::i18n::{Lang, format_date_time, tr, tr_args};
use crate::twin::indicators::composite::unit_score;
use crate::twin::indicators::context::{FeedInputs, IndicatorContext};
use crate::twin::indicators::evaluate::{Evaluation, Status, evaluate};
use crate::twin::indicators::report::{
    IndicatorError, IndicatorRow, build_report, history_inputs, parse_time,
};
use crate::twin::load::LoadedScene;
use crate::twin::scenario::{CostTable, EditStack, Scenario, SkippedEdit};
use crate::twin::timeline::format_utc;

/// A scenario a slide names, read from its file.
#[derive(Debug, Clone, PartialEq)]
pub struct SlideScenario {
    /// The file, resolved against the briefing's folder.
    pub path: PathBuf,
    /// The scenario.
    pub scenario: Arc<Scenario>,
}

impl SlideScenario {
    /// How a page names it: the scenario's name and its file name.
    pub fn label(&self) -> String {
        let file = self
            .path
            .file_name()
            .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
        if self.scenario.name.is_empty() {
            file
        } else {
            format!("{} ({file})", self.scenario.name)
        }
    }
}

/// The scenario file a slide names, resolved against the briefing file's folder.
pub fn scenario_path(briefing_path: &Path, scenario: &Path) -> PathBuf {
    relative_to(briefing_path, scenario)
}

/// Reads the scenario of every slide that names one (each file once) and checks that it
/// was made for `scene_path`. An unreadable, malformed or foreign scenario fails, naming
/// the briefing, the slide and the scenario file.
pub fn load_slide_scenarios(
    briefing: &Briefing,
    briefing_path: &Path,
    scene_path: &Path,
) -> Result<Vec<Option<SlideScenario>>, BriefingError> {
    let mut read: BTreeMap<PathBuf, Arc<Scenario>> = BTreeMap::new();
    let mut out = Vec::with_capacity(briefing.slides.len());
    for (i, slide) in briefing.slides.iter().enumerate() {
        let Some(rel) = &slide.scenario else {
            out.push(None);
            continue;
        };
        let path = scenario_path(briefing_path, rel);
        let scenario = match read.get(&path) {
            Some(s) => s.clone(),
            None => {
                let s = Scenario::load(&path)
                    .and_then(|s| s.check_scene(scene_path, &path).map(|_| s))
                    .map_err(|e| BriefingError::Invalid {
                        path: briefing_path.to_path_buf(),
                        slide: i + 1,
                        title: slide.title.clone(),
                        message: e.to_string(),
                    })?;
                let s = Arc::new(s);
                read.insert(path.clone(), s.clone());
                s
            }
        };
        out.push(Some(SlideScenario { path, scenario }));
    }
    Ok(out)
}

/// The data time a slide is presented at: its own, else the briefing's; `None` when
/// neither names one (the slide shows live data).
pub fn slide_data_time(briefing: &Briefing, slide: &Slide) -> Result<Option<Timestamp>, String> {
    match slide.data_time.as_ref().or(briefing.data_time.as_ref()) {
        None => Ok(None),
        Some(t) => parse_time(t).map(Some).map_err(|e| format!("data time: {e}")),
    }
}

/// Each slide's data time: its own, else the briefing's, else `default` (the time of the
/// export). A time that does not parse fails, naming the briefing and the slide.
pub fn slide_times(
    briefing: &Briefing,
    briefing_path: &Path,
    default: Timestamp,
) -> Result<Vec<Timestamp>, BriefingError> {
    let bad = |slide: usize, title: &str, e: IndicatorError| BriefingError::Invalid {
        path: briefing_path.to_path_buf(),
        slide,
        title: title.to_string(),
        message: format!("data time: {e}"),
    };
    let whole = match &briefing.data_time {
        Some(t) => parse_time(t).map_err(|e| bad(0, "(the briefing)", e))?,
        None => default,
    };
    briefing
        .slides
        .iter()
        .enumerate()
        .map(|(i, s)| match &s.data_time {
            Some(t) => parse_time(t).map_err(|e| bad(i + 1, &s.title, e)),
            None => Ok(whole),
        })
        .collect()
}

/// The feeds at one data time, and how the page describes them.
#[derive(Debug, Clone)]
pub struct FeedsAt {
    /// What the indicators are computed with.
    pub feeds: FeedInputs,
    /// Observations read from the history (`None`: the scene has no history file).
    pub observations: Option<usize>,
}

impl FeedsAt {
    /// The data time as a page shows it, saying where the feed values come from (English).
    pub fn data_time_text(&self) -> String {
        data_time_text_in(Lang::En, self.feeds.window.at, self.observations)
    }
}

/// The data time `at` in `lang`, saying where the feed values come from (`observations`:
/// read from the history in the 24 h before it; `None`: the scene has no history):
/// "2026-06-01 08:00:00 UTC (feeds from the history: 2 observations of the 24 h before)",
/// "2026年6月1日 08:00 UTC（历史数据：此前 24 小时的 2 条观测）".
pub fn data_time_text_in(lang: Lang, at: Timestamp, observations: Option<usize>) -> String {
    let source = match observations {
        None => tr(lang, "briefing-source-no-history"),
        Some(0) => tr(lang, "briefing-source-none"),
        Some(n) => tr_args(lang, "briefing-source-history", &[("count", n.into())]),
    };
    let time = match lang {
        Lang::En => format_utc(at),
        _ => format_date_time(lang, at),
    };
    tr_args(
        lang,
        "briefing-data-time-at",
        &[("time", time.into()), ("source", source.into())],
    )
}

/// The feeds of `loaded` (read from `scene_path`) at every distinct time of `times`, from
/// the scene's history store (each time read once).
pub fn feeds_at_times(
    loaded: &LoadedScene,
    scene_path: &Path,
    times: &[Timestamp],
) -> Result<BTreeMap<Timestamp, FeedsAt>, IndicatorError> {
    let mut out = BTreeMap::new();
    for &at in times {
        if out.contains_key(&at) {
            continue;
        }
        let (feeds, _, observations) = history_inputs(loaded, scene_path, at)?;
        out.insert(at, FeedsAt { feeds, observations });
    }
    Ok(out)
}

/// One slide's indicator rows (every indicator of the catalogue, city-wide).
#[derive(Debug, Clone, PartialEq)]
pub struct SlideValues {
    /// The rows of the city the slide shows.
    pub rows: Vec<IndicatorRow>,
    /// The baseline's rows at the same time, when the slide shows a scenario.
    pub baseline: Option<Vec<IndicatorRow>>,
    /// The scenario shown, as the page names it.
    pub scenario: Option<String>,
    /// Edits of the scenario that could not be applied (typed: a page words them in its
    /// language, [`SlideValues::skipped_text`] in English for JSON and logs).
    pub skipped: Vec<SkippedEdit>,
    /// The data time in English, as JSON and logs give it.
    pub data_time: String,
    /// The data time itself.
    pub at: Timestamp,
    /// Whether the data time is the feeds' at [`SlideValues::at`] (then a page words it in
    /// its own language from `at` and `observations`; otherwise it shows `data_time` as is).
    pub feeds_time: bool,
    /// Observations read from the history for the feed indicators (`None`: the scene has
    /// no history file).
    pub observations: Option<usize>,
    /// The zones' values of the slide's choropleth indicator, on the city the slide shows,
    /// when it names one.
    pub choropleth: Option<SlideChoropleth>,
}

/// One zone's value of a slide's choropleth indicator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneChoroplethValue {
    /// The indicator's id (so that an export's leak check sees whose value it is).
    pub id: String,
    /// The zone's name.
    pub zone: String,
    /// The value in the zone (`None`: no data, or withheld).
    pub value: Option<f64>,
    /// Its 0–1 colour score (0 alarm, 1 target), as the dashboard's choropleth.
    pub score: Option<f64>,
    /// Its status in the zone.
    pub status: Status,
}

/// The per-zone values of the indicator a slide colours the zones by.
#[derive(Debug, Clone, PartialEq)]
pub struct SlideChoropleth {
    /// Indicator id.
    pub id: String,
    /// Its index in the catalogue.
    pub index: usize,
    /// Its name.
    pub name: String,
    /// Its unit.
    pub unit: String,
    /// One entry per zone, in the city's zone order.
    pub zones: Vec<ZoneChoroplethValue>,
}

impl SlideChoropleth {
    /// The indicator `id`'s values in every zone of an evaluation made with `ctx`
    /// (`None`: no such indicator).
    pub fn of(ctx: &IndicatorContext, eval: &Evaluation, id: &str) -> Option<SlideChoropleth> {
        let index = ctx.catalogue.indicators.iter().position(|d| d.id == id)?;
        let def = &ctx.catalogue.indicators[index];
        let zones = eval
            .zones
            .iter()
            .enumerate()
            .map(|(z, vals)| {
                let e = vals.get(index);
                let value = e.and_then(|e| e.value);
                ZoneChoroplethValue {
                    id: def.id.clone(),
                    zone: ctx
                        .zone_names
                        .get(z)
                        .cloned()
                        .unwrap_or_else(|| format!("zone {z}")),
                    value,
                    score: value.map(|v| unit_score(def, v)),
                    status: e.map_or(Status::NoData, |e| e.status),
                }
            })
            .collect();
        Some(SlideChoropleth {
            id: def.id.clone(),
            index,
            name: def.name.clone(),
            unit: def.unit.clone(),
            zones,
        })
    }

    /// The zones' 0–1 scores, in zone order (what the zone colours are made from).
    pub fn scores(&self) -> Vec<Option<f64>> {
        self.zones.iter().map(|z| z.score).collect()
    }

    /// Blanks the zones `keep` refuses (by zone index); returns how many had something.
    fn blank_zones(&mut self, keep: &dyn Fn(usize) -> bool) -> usize {
        let mut n = 0;
        for (z, v) in self.zones.iter_mut().enumerate() {
            if !keep(z) {
                n += usize::from(v.value.is_some() || v.status != Status::NoData);
                v.value = None;
                v.score = None;
                v.status = Status::NoData;
            }
        }
        n
    }
}

impl SlideValues {
    /// Values of the baseline at `at` (no scenario, no choropleth, no history read).
    pub fn new(rows: Vec<IndicatorRow>, data_time: impl Into<String>, at: Timestamp) -> SlideValues {
        SlideValues {
            rows,
            baseline: None,
            scenario: None,
            skipped: Vec::new(),
            data_time: data_time.into(),
            at,
            feeds_time: false,
            observations: None,
            choropleth: None,
        }
    }

    /// The data time as a page in `lang` shows it.
    pub fn data_time_in(&self, lang: Lang) -> String {
        if self.feeds_time {
            data_time_text_in(lang, self.at, self.observations)
        } else {
            self.data_time.clone()
        }
    }

    /// The skipped edits in English ("#3 demolish: building 9 does not exist"), for JSON
    /// and logs.
    pub fn skipped_text(&self) -> Vec<String> {
        self.skipped
            .iter()
            .map(|k| format!("#{} {}: {}", k.index + 1, k.kind, k.reason))
            .collect()
    }

    /// The baseline row of an indicator, when the slide shows a scenario.
    pub fn baseline_of(&self, id: &str) -> Option<&IndicatorRow> {
        self.baseline.as_ref()?.iter().find(|r| r.id == id)
    }

    /// Blanks the value of every indicator `keep` refuses (both the slide's and the
    /// baseline's row), names it as withheld and returns the ids blanked.
    pub fn withhold(&mut self, keep: &dyn Fn(usize, &IndicatorRow) -> bool, why: &str) -> Vec<String> {
        // The choropleth of a refused indicator loses every zone's value too.
        if let Some(c) = self.choropleth.as_mut() {
            let refused = self
                .rows
                .get(c.index)
                .is_none_or(|r| r.id != c.id || !keep(c.index, r));
            if refused {
                c.blank_zones(&|_| false);
            }
        }
        let mut ids = Vec::new();
        let blank = |rows: &mut [IndicatorRow], ids: &mut Vec<String>, record: bool| {
            for (i, row) in rows.iter_mut().enumerate() {
                if !keep(i, row) {
                    row.value = None;
                    row.status = Status::NoData;
                    row.name = format!("{} ({why})", row.name);
                    if record {
                        ids.push(row.id.clone());
                    }
                }
            }
        };
        blank(&mut self.rows, &mut ids, true);
        if let Some(b) = self.baseline.as_mut() {
            blank(b, &mut ids, false);
        }
        ids
    }

    /// Blanks the choropleth's value in every zone where `keep(indicator index, zone index)`
    /// refuses it (e.g. too few records behind it); returns how many values were blanked.
    pub fn withhold_zones(&mut self, keep: &dyn Fn(usize, usize) -> bool) -> usize {
        match self.choropleth.as_mut() {
            Some(c) => {
                let k = c.index;
                c.blank_zones(&|z| keep(k, z))
            }
            None => 0,
        }
    }
}

/// Withholds from every slide's values what `policy` refuses the role `role` (city-wide
/// rows, the baseline's beside them and the choropleth's zones), counting the personal
/// records behind each slide from the feeds at its data time (`times[i]` in `feeds`) in
/// `zones`. Returns the ids of the indicators withheld, each once.
pub fn withhold_for_role(
    values: &mut [SlideValues],
    times: &[Timestamp],
    feeds: &BTreeMap<Timestamp, FeedsAt>,
    zones: &[Zone],
    policy: &IndicatorPolicy,
    role: &str,
) -> Vec<String> {
    let why = format!("withheld for role '{role}'");
    let mut out: Vec<String> = Vec::new();
    for (v, at) in values.iter_mut().zip(times) {
        let counts = feeds.get(at).map_or_else(RecordCounts::default, |f| {
            RecordCounts::from_observations(&f.feeds.window.observations, zones)
        });
        for id in v.withhold(&|i, _| policy.may_show(i, None, &counts), &why) {
            if !out.contains(&id) {
                out.push(id);
            }
        }
        v.withhold_zones(&|i, z| policy.may_show(i, Some(z), &counts));
    }
    out
}

/// A slide made ready: its values and, when it shows a scenario, the applied edits (for
/// the view to draw).
pub struct PreparedSlide {
    /// The numbers of its page.
    pub values: SlideValues,
    /// The scenario's edits applied to the baseline, when it names one.
    pub stack: Option<EditStack>,
}

/// The city-wide rows of `city` with the indicator context `ctx` and these feeds.
pub fn rows_of(
    name: &str,
    ctx: &IndicatorContext,
    city: &CityModel,
    feeds: &FeedInputs,
) -> Vec<IndicatorRow> {
    evaluate_city(name, ctx, city, feeds).0
}

/// The city-wide rows of `city` with the indicator context `ctx` and these feeds, and the
/// evaluation they come from (per zone too).
pub fn evaluate_city(
    name: &str,
    ctx: &IndicatorContext,
    city: &CityModel,
    feeds: &FeedInputs,
) -> (Vec<IndicatorRow>, Evaluation) {
    let computed = ctx.compute(city, feeds);
    let eval = evaluate(&ctx.catalogue, &computed, ctx.stale_after_ms());
    let rows = build_report(name, ctx, &computed, &eval, &[]).indicators;
    (rows, eval)
}

/// A scenario applied to the baseline and evaluated.
pub struct ScenarioValues {
    /// The applied edits (the scenario's city and its indicator context).
    pub stack: EditStack,
    /// Edits that could not be applied.
    pub skipped: Vec<SkippedEdit>,
    /// The scenario's city-wide rows.
    pub rows: Vec<IndicatorRow>,
    /// The scenario's evaluation, city-wide and per zone.
    pub eval: Evaluation,
}

/// Applies a scenario to the baseline and evaluates it: the stack, the skipped edits, the
/// scenario's rows and its evaluation.
pub fn scenario_rows(
    city: &CityModel,
    ctx: &IndicatorContext,
    costs: CostTable,
    scenario: &Scenario,
    feeds: &FeedInputs,
) -> ScenarioValues {
    let mut stack = EditStack::new(city, ctx, costs);
    let skipped = stack.apply_scenario(scenario);
    let (computed, eval) = stack.indicators(feeds);
    let rows = build_report(&city.name, stack.ctx(), &computed, &eval, &[]).indicators;
    ScenarioValues {
        stack,
        skipped,
        rows,
        eval,
    }
}

/// Prepares every slide of a briefing: the baseline's rows at its data time, and for a
/// slide with a scenario the scenario's rows (with the baseline's beside them) and its
/// applied edits; for a slide with a choropleth, the zones' values of it on the same city
/// at the same time. `slides`, `times` and `scenarios` go slide by slide; `feeds` holds the
/// feeds of every time in `times` ([`feeds_at_times`]); a time missing there counts as no
/// feed data.
pub fn prepare_slides(
    loaded: &LoadedScene,
    ctx: &IndicatorContext,
    slides: &[Slide],
    times: &[Timestamp],
    scenarios: &[Option<SlideScenario>],
    feeds: &BTreeMap<Timestamp, FeedsAt>,
) -> Vec<PreparedSlide> {
    let city = &loaded.city;
    let mut baselines: BTreeMap<Timestamp, (Vec<IndicatorRow>, Evaluation)> = BTreeMap::new();
    slides
        .iter()
        .zip(times)
        .zip(scenarios)
        .map(|((slide, &at), scenario)| {
            let fallback;
            let f = match feeds.get(&at) {
                Some(f) => f,
                None => {
                    fallback = FeedsAt {
                        feeds: FeedInputs::none(at),
                        observations: None,
                    };
                    &fallback
                }
            };
            let (base, base_eval) = baselines
                .entry(at)
                .or_insert_with(|| evaluate_city(&city.name, ctx, city, &f.feeds));
            let choropleth_of = |ctx: &IndicatorContext, eval: &Evaluation| {
                slide
                    .choropleth
                    .as_deref()
                    .and_then(|id| SlideChoropleth::of(ctx, eval, id))
            };
            let mut values = SlideValues::new(base.clone(), f.data_time_text(), at);
            values.observations = f.observations;
            values.feeds_time = true;
            match scenario {
                None => {
                    values.choropleth = choropleth_of(ctx, base_eval);
                    PreparedSlide { values, stack: None }
                }
                Some(s) => {
                    let sv = scenario_rows(city, ctx, loaded.scene.costs.clone(), &s.scenario, &f.feeds);
                    values.choropleth = choropleth_of(sv.stack.ctx(), &sv.eval);
                    values.rows = sv.rows;
                    values.baseline = Some(base.clone());
                    values.scenario = Some(s.label());
                    values.skipped = sv.skipped.clone();
                    PreparedSlide {
                        values,
                        stack: Some(sv.stack),
                    }
                }
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::twin::briefing::{SAMPLE_BRIEFING, Slide, SlideView};
    use crate::twin::fixtures::{pm25, scene_with_history_in, write_history};
    use crate::twin::scenario::{Edit, ScenarioEdit};

    /// The Helsinki scene, whose sample scenario these tests apply.
    const HELSINKI_SCENE: &str = crate::twin::scene::HELSINKI_SCENE;
    /// The PM2.5 daily mean, computed from the feeds.
    const PM25: &str = "env.pm25_daily_mean";
    /// An indicator the city model alone gives (floor area, population).
    const DENSITY: &str = "people.population_density";

    fn value(rows: &[IndicatorRow], id: &str) -> Option<f64> {
        rows.iter().find(|r| r.id == id).and_then(|r| r.value)
    }

    pub(crate) fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("citytwin-values-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn slide_times_fall_back_to_the_briefing_and_name_bad_ones() {
        let mut b = Briefing::new("t", "s.ron");
        let view = SlideView::Bookmark("x".into());
        b.slides.push(Slide::new("one", view.clone()));
        let mut two = Slide::new("two", view);
        two.data_time = Some("2026-06-02T10:00Z".into());
        b.slides.push(two);
        let now = Timestamp(42);
        let t = slide_times(&b, Path::new("b.ron"), now).unwrap();
        assert_eq!(t[0], now);
        assert_eq!(t[1], parse_time("2026-06-02T10:00Z").unwrap());
        b.data_time = Some("2026-06-01".into());
        let t = slide_times(&b, Path::new("b.ron"), now).unwrap();
        assert_eq!(t[0], parse_time("2026-06-01T00:00Z").unwrap());
        b.slides[1].data_time = Some("yesterday".into());
        let e = slide_times(&b, Path::new("b.ron"), now).unwrap_err().to_string();
        assert!(
            e.contains("b.ron") && e.contains("slide 2 'two'") && e.contains("yesterday"),
            "{e}"
        );
    }

    #[test]
    fn scenarios_load_once_and_bad_ones_name_the_slide() {
        let dir = tmp("scenarios");
        let mut b = Briefing::new("t", "default.ron");
        let view = SlideView::Bookmark("x".into());
        b.slides.push(Slide::new("baseline", view.clone()));
        let mut s = Scenario::new("Fewer", "default.ron");
        s.edits.push(ScenarioEdit::new(Edit::Demolish {
            buildings: vec![crate::twin::city::BuildingId(0)],
        }));
        s.save(&dir.join("fewer.ron")).unwrap();
        for t in ["a", "b"] {
            let mut slide = Slide::new(t, view.clone());
            slide.scenario = Some(PathBuf::from("fewer.ron"));
            b.slides.push(slide);
        }
        let bpath = dir.join("b.ron");
        let scene = dir.join("default.ron");
        let loaded = load_slide_scenarios(&b, &bpath, &scene).unwrap();
        assert!(loaded[0].is_none());
        let (a, c) = (loaded[1].as_ref().unwrap(), loaded[2].as_ref().unwrap());
        assert!(Arc::ptr_eq(&a.scenario, &c.scenario), "read once");
        assert_eq!(a.label(), "Fewer (fewer.ron)");

        // Made for another scene.
        let e = load_slide_scenarios(&b, &bpath, &dir.join("other.ron"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("slide 2 'a'") && e.contains("fewer.ron"), "{e}");
        // Missing.
        b.slides[2].scenario = Some(PathBuf::from("missing.ron"));
        let e = load_slide_scenarios(&b, &bpath, &scene).unwrap_err().to_string();
        assert!(e.contains("slide 3 'b'") && e.contains("missing.ron"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The sample scenario on the default city: the slide's rows are the scenario's, the
    /// baseline's beside them; feed values come from the history at the data time.
    #[test]
    fn slides_show_the_scenario_city_and_the_history_feeds() {
        let dir = tmp("prepare");
        let scene_path = scene_with_history_in(&dir).unwrap();
        let loaded = crate::twin::load::load_scene(&scene_path).unwrap();
        let ctx = IndicatorContext::new(&loaded.city, &loaded.scene.indicators);
        let at = parse_time("2026-06-01T08:00Z").unwrap();
        write_history(
            &dir,
            &[
                pm25("aq-1", 8.0, at.plus_ms(-2 * Timestamp::HOUR_MS)),
                pm25("aq-2", 14.0, at.plus_ms(-Timestamp::HOUR_MS)),
                pm25("aq-1", 400.0, at.plus_ms(Timestamp::HOUR_MS)),
            ],
        )
        .unwrap();
        // The sample scenario, copied next to the rewritten scene.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let sample = root.join("scenes/scenarios/kluuvi-green-and-transit.ron");
        std::fs::create_dir_all(dir.join("scenarios")).unwrap();
        std::fs::copy(&sample, dir.join("scenarios/k.ron")).unwrap();
        let mut b = Briefing::new("t", "helsinki.ron");
        let view = SlideView::Bookmark("Whole centre".into());
        b.data_time = Some("2026-06-01T08:00Z".into());
        b.slides.push(Slide::new("today", view.clone()));
        let mut what_if = Slide::new("what if", view.clone());
        what_if.scenario = Some(PathBuf::from("scenarios/k.ron"));
        b.slides.push(what_if);
        let mut old = Slide::new("a week later", view);
        old.data_time = Some("2026-06-08T08:00Z".into());
        b.slides.push(old);
        let bpath = dir.join("b.ron");

        let times = slide_times(&b, &bpath, Timestamp(0)).unwrap();
        let scenarios = load_slide_scenarios(&b, &bpath, &scene_path).unwrap();
        let feeds = feeds_at_times(&loaded, &scene_path, &times).unwrap();
        assert_eq!(feeds.len(), 2, "two distinct times");
        let slides = prepare_slides(&loaded, &ctx, &b.slides, &times, &scenarios, &feeds);
        assert_eq!(slides.len(), 3);
        assert!(
            slides.iter().all(|s| s.values.choropleth.is_none()),
            "no slide names one"
        );

        let today = &slides[0].values;
        let pm = value(&today.rows, PM25).expect("PM2.5 from the history");
        assert!((pm - 11.0).abs() < 1e-9, "{pm}");
        assert!(
            today.data_time.starts_with("2026-06-01 08:00:00 UTC"),
            "{}",
            today.data_time
        );
        assert!(today.data_time.contains("2 observations"), "{}", today.data_time);
        assert_eq!((today.at, today.observations), (at, Some(2)));
        assert!(today.baseline.is_none() && slides[0].stack.is_none());

        let s = &slides[1];
        assert_eq!(
            s.values.scenario.as_deref(),
            Some("Kluuvi: green, transit and solar (k.ron)")
        );
        assert!(s.values.skipped.is_empty(), "{:?}", s.values.skipped);
        let stack = s.stack.as_ref().expect("the scenario applied");
        assert_eq!(stack.applied().len(), 10);
        // The baseline beside it is the first slide's; the scenario changes the city's
        // indicators but not the feed values.
        assert_eq!(s.values.baseline.as_ref(), Some(&today.rows));
        let (b, sc) = (
            value(&today.rows, DENSITY).unwrap(),
            value(&s.values.rows, DENSITY).unwrap(),
        );
        assert!((sc - b).abs() > 1.0, "density {b} → {sc}");
        let transit = "mob.transit_access_400m";
        assert!(value(&s.values.rows, transit).unwrap() > value(&today.rows, transit).unwrap() + 1.0);
        assert_eq!(value(&s.values.rows, PM25), Some(pm));
        assert_eq!(
            s.values.baseline_of(transit).and_then(|r| r.value),
            value(&today.rows, transit)
        );

        // A week later the readings are out of the 24-hour window.
        let later = &slides[2].values;
        assert_eq!(value(&later.rows, PM25), None);
        assert!(later.data_time.contains("no observations"), "{}", later.data_time);

        // Withholding blanks both rows and names them once.
        let mut v = s.values.clone();
        let ids = v.withhold(&|_, r| r.id != transit, "withheld");
        assert_eq!(ids, [transit]);
        assert_eq!(value(&v.rows, transit), None);
        assert_eq!(v.baseline_of(transit).and_then(|r| r.value), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_scene_without_history_says_so() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let b = Briefing::load(&root.join(SAMPLE_BRIEFING)).unwrap();
        let f = FeedsAt {
            feeds: FeedInputs::none(parse_time(b.data_time.as_deref().unwrap()).unwrap()),
            observations: None,
        };
        let t = f.data_time_text();
        assert!(
            t.starts_with("2026-06-01 08:00:00 UTC") && t.contains("no observation history"),
            "{t}"
        );
    }

    /// A slide's choropleth on the scenario's city: one new stop changes the transit
    /// access of the zone it stands in and of no zone beyond walking distance of it; the
    /// scores are the dashboard's rule on the slide's own evaluation.
    #[test]
    fn a_scenario_slide_colours_the_zones_it_changes() {
        use geo::{BoundingRect, Contains};
        const TRANSIT: &str = "mob.transit_access_400m";
        /// Farther than this from the stop, a zone's homes cannot gain from it.
        const UNREACHED_M: f64 = 450.0;
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let scene_path = root.join(HELSINKI_SCENE);
        let loaded = crate::twin::load::load_scene(&scene_path).unwrap();
        let ctx = IndicatorContext::new(&loaded.city, &loaded.scene.indicators);
        // The sample scenario's tram stop, alone: "homes in zone H3-2 are beyond 400 m of
        // any stop".
        let stop = (386108.6, 6672145.1);
        let mut s = Scenario::new("One stop", "helsinki.ron");
        s.edits.push(ScenarioEdit::new(Edit::TransitStop {
            at: stop,
            mode: crate::twin::scenario::TransitMode::Tram,
            name: None,
        }));
        let view = SlideView::Bookmark("Whole centre".into());
        let mut today = Slide::new("today", view.clone());
        today.choropleth = Some(TRANSIT.into());
        let mut what_if = today.clone();
        what_if.scenario = Some(PathBuf::from("one-stop.ron"));
        let slides = [today, what_if];
        let at = Timestamp(1_780_300_800_000);
        let scenarios = [
            None,
            Some(SlideScenario {
                path: PathBuf::from("one-stop.ron"),
                scenario: Arc::new(s),
            }),
        ];
        let prepared = prepare_slides(&loaded, &ctx, &slides, &[at, at], &scenarios, &BTreeMap::new());
        let base = prepared[0]
            .values
            .choropleth
            .as_ref()
            .expect("the choropleth's zones");
        let scen = prepared[1]
            .values
            .choropleth
            .as_ref()
            .expect("the scenario's zones");
        let zones = &loaded.city.zones;
        assert_eq!(base.zones.len(), zones.len());
        assert_eq!(scen.zones.len(), zones.len());
        assert_eq!((base.id.as_str(), base.unit.as_str()), (TRANSIT, "%"));
        assert_eq!(base.zones[3].zone, zones[3].name);

        // The baseline's scores are the dashboard's on the same evaluation.
        let (_, eval) = evaluate_city(&loaded.city.name, &ctx, &loaded.city, &FeedInputs::none(at));
        let def = &ctx.catalogue.indicators[base.index];
        assert_eq!(
            base.scores(),
            crate::twin::indicators::composite::zone_unit_scores(def, base.index, &eval)
        );

        let here = zones
            .iter()
            .position(|z| z.area.contains(&geo_types::Point::new(stop.0, stop.1)))
            .expect("the stop is in a zone");
        let (b, a) = (&base.zones[here], &scen.zones[here]);
        assert!(
            a.value.unwrap() > b.value.unwrap() && a.score > b.score,
            "zone {}: {b:?} -> {a:?}",
            b.zone
        );
        let mut far = 0;
        for (z, zone) in zones.iter().enumerate() {
            let Some(r) = zone.area.bounding_rect() else {
                continue;
            };
            let dx = (r.min().x - stop.0).max(stop.0 - r.max().x).max(0.0);
            let dy = (r.min().y - stop.1).max(stop.1 - r.max().y).max(0.0);
            if dx.hypot(dy) > UNREACHED_M {
                far += 1;
                assert_eq!(base.zones[z], scen.zones[z], "zone {} is out of reach", zone.name);
            }
        }
        assert!(
            far > zones.len() / 2,
            "only {far} of {} zones out of reach",
            zones.len()
        );

        // A role that may not see the indicator sees no zone value; one that may not see a
        // zone's value (too few records) loses only that zone.
        let mut v = prepared[1].values.clone();
        assert_eq!(v.withhold_zones(&|_, z| z != here), 1);
        assert!(v.choropleth.as_ref().unwrap().zones[here].score.is_none());
        assert!(
            v.choropleth
                .as_ref()
                .unwrap()
                .zones
                .iter()
                .any(|z| z.score.is_some())
        );
        v.withhold(&|_, r| r.id != TRANSIT, "withheld");
        assert!(
            v.choropleth
                .as_ref()
                .unwrap()
                .scores()
                .iter()
                .all(Option::is_none)
        );
    }
}
