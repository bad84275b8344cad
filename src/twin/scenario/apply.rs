//! Applying edits: the [`EditStack`] holds a copy of the baseline city and its indicator
//! context and applies edits to them one at a time, updating only what each edit touches
//! (the indicator context incrementally), with undo records that restore the city and the
//! context exactly, and redo. An edit that names a building, road or zone that does not
//! exist, or draws a polygon that is not simple, is refused as a whole and changes nothing.

use geo::algorithm::validation::InvalidPolygon;
use geo::{Area, Validation};
use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon};
use serde::Serialize;
use thiserror::Error;

use crate::twin::city::{
    Building, BuildingId, CityModel, LandArea, LayerId, Poi, PoiId, Road, RoadId, ZoneId,
};
use crate::twin::feeds::Timestamp;
use crate::twin::gis::layer::LayerKind;
use crate::twin::heights::HeightSource;
use crate::twin::i18n::{Arg, Lang, tr, tr_args};
use crate::twin::indicators::catalogue::dest;
use crate::twin::indicators::network::NOT_WALKABLE;
use crate::twin::indicators::population::building_facts;
use crate::twin::indicators::{Computed, Evaluation, FeedInputs, IndicatorContext, evaluate};
use crate::twin::scenario::cost::{CostTable, EditCost, Quantities};
use crate::twin::scenario::model::{Edit, Scenario, ScenarioEdit, SolarTarget, TransitMode, edit_kind_name};

/// A line stop reuses an existing public-transport stop this close, metres.
pub const LINE_STOP_MERGE_M: f64 = 25.0;
/// Road class of a street closed to cars.
pub const CAR_FREE_CLASS: &str = "pedestrian";
/// Road class of an added bike lane.
pub const BIKE_LANE_CLASS: &str = "cycleway";
/// Land-area class of new parks and greened lots.
pub const PARK_CLASS: &str = "park";
/// Source id of features an edit creates.
pub const SCENARIO_SOURCE_ID: i64 = -1;
/// Highest building a drawn edit may set, metres.
pub const MAX_HEIGHT_M: f64 = 1_000.0;
/// Metres in a kilometre.
const M_PER_KM: f64 = 1_000.0;

/// Why an edit was refused. The `Display` text is English (logs, `--json`); what people
/// read goes through [`EditError::describe`].
#[derive(Debug, Clone, PartialEq, Error)]
pub enum EditError {
    /// A building id past the end of the city's buildings.
    #[error("building {0} does not exist")]
    MissingBuilding(u32),
    /// A road id past the end of the city's roads.
    #[error("road {0} does not exist")]
    MissingRoad(u32),
    /// A zone id past the end of the city's zones.
    #[error("zone {0} does not exist")]
    MissingZone(u32),
    /// A drawn footprint or park that is not a simple polygon.
    #[error("the drawn {what} is refused: {problem}")]
    BadPolygon {
        /// What was drawn.
        what: DrawnShape,
        /// Why it is refused.
        problem: PolygonProblem,
    },
    /// An edit of buildings with none selected.
    #[error("no buildings selected")]
    NoBuildings,
    /// An edit of roads with none selected.
    #[error("no roads selected")]
    NoRoads,
    /// A zone with no building (of the use asked for) to edit.
    #[error("zone {zone} has no {}buildings", usage.as_ref().map(|u| format!("{u} ")).unwrap_or_default())]
    EmptyZone {
        /// The zone.
        zone: u32,
        /// The use asked for, if any.
        usage: Option<String>,
    },
    /// A change of zero storeys.
    #[error("zero storeys changes nothing")]
    ZeroStoreys,
    /// A line of fewer than two stops.
    #[error("a line needs at least two stops")]
    LineTooShort,
    /// A bike lane along a road that is a cycleway already.
    #[error("road {0} is already a cycleway")]
    AlreadyCycleway(u32),
    /// A speed limit that is not positive.
    #[error("speed limit must be positive, is {0}")]
    BadSpeed(f64),
    /// A solar share outside (0, 1].
    #[error("solar share must be in (0, 1], is {0}")]
    BadShare(f64),
    /// A height outside (0, [`MAX_HEIGHT_M`]].
    #[error("height must be in (0, {MAX_HEIGHT_M}] m, is {0}")]
    BadHeight(f64),
    /// A building use left empty.
    #[error("a building use is needed")]
    NoUse,
    /// A point with a coordinate that is not finite.
    #[error("point ({0}, {1}) is not finite")]
    NotFinite(f64, f64),
}

/// What a drawn polygon was to become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrawnShape {
    /// A building footprint.
    Footprint,
    /// A park.
    Park,
}

impl std::fmt::Display for DrawnShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DrawnShape::Footprint => "footprint",
            DrawnShape::Park => "park",
        })
    }
}

/// Why a drawn polygon is not simple.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PolygonProblem {
    /// Fewer than three distinct points.
    #[error("{0} distinct points, at least 3 are needed")]
    TooFewPoints(usize),
    /// The ring crosses itself (the geometry library's words).
    #[error("{0}")]
    SelfIntersection(String),
    /// Not simple in another way (the geometry library's words).
    #[error("{0}")]
    NotSimple(String),
    /// No area.
    #[error("it has no area")]
    NoArea,
}

impl EditError {
    /// The refusal in `lang`, for people (the panel's status line, human CLI output).
    pub fn describe(&self, lang: Lang) -> String {
        let id = |n: u32| Arg::Str(n.to_string());
        let num = |v: f64| Arg::Str(v.to_string());
        match self {
            EditError::MissingBuilding(b) => tr_args(lang, "edit-err-missing-building", &[("id", id(*b))]),
            EditError::MissingRoad(r) => tr_args(lang, "edit-err-missing-road", &[("id", id(*r))]),
            EditError::MissingZone(z) => tr_args(lang, "edit-err-missing-zone", &[("id", id(*z))]),
            EditError::BadPolygon { what, problem } => {
                let problem = match problem {
                    PolygonProblem::TooFewPoints(n) => {
                        tr_args(lang, "edit-err-too-few-points", &[("count", (*n).into())])
                    }
                    PolygonProblem::SelfIntersection(_) => tr(lang, "edit-err-self-intersection"),
                    PolygonProblem::NotSimple(detail) => {
                        tr_args(lang, "edit-err-not-simple", &[("detail", detail.into())])
                    }
                    PolygonProblem::NoArea => tr(lang, "edit-err-no-area"),
                };
                match what {
                    DrawnShape::Footprint => {
                        tr_args(lang, "edit-err-footprint-refused", &[("problem", problem.into())])
                    }
                    DrawnShape::Park => {
                        tr_args(lang, "edit-err-park-refused", &[("problem", problem.into())])
                    }
                }
            }
            EditError::NoBuildings => tr(lang, "edit-err-no-buildings"),
            EditError::NoRoads => tr(lang, "edit-err-no-roads"),
            EditError::EmptyZone { zone, usage: None } => {
                tr_args(lang, "edit-err-empty-zone", &[("zone", id(*zone))])
            }
            EditError::EmptyZone { zone, usage: Some(u) } => tr_args(
                lang,
                "edit-err-empty-zone-use",
                &[("zone", id(*zone)), ("use", u.into())],
            ),
            EditError::ZeroStoreys => tr(lang, "edit-err-zero-storeys"),
            EditError::LineTooShort => tr(lang, "edit-err-line-too-short"),
            EditError::AlreadyCycleway(r) => tr_args(lang, "edit-err-already-cycleway", &[("id", id(*r))]),
            EditError::BadSpeed(v) => tr_args(lang, "edit-err-bad-speed", &[("value", num(*v))]),
            EditError::BadShare(v) => tr_args(lang, "edit-err-bad-share", &[("value", num(*v))]),
            EditError::BadHeight(v) => tr_args(
                lang,
                "edit-err-bad-height",
                &[("max", num(MAX_HEIGHT_M)), ("value", num(*v))],
            ),
            EditError::NoUse => tr(lang, "edit-err-no-use"),
            EditError::NotFinite(..) => tr(lang, "edit-err-not-finite"),
        }
    }
}

/// An edit of a scenario that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedEdit {
    /// Index in the scenario's edit list.
    pub index: usize,
    /// Edit kind.
    pub kind: String,
    /// Why it was skipped.
    pub reason: String,
    /// The error.
    #[serde(skip)]
    pub error: EditError,
}

impl SkippedEdit {
    /// "#3 demolish: building 999 does not exist" in `lang`.
    pub fn describe(&self, lang: Lang) -> String {
        tr_args(
            lang,
            "edit-skipped",
            &[
                ("index", (self.index + 1).to_string().into()),
                ("kind", edit_kind_name(lang, &self.kind).into()),
                ("reason", self.error.describe(lang).into()),
            ],
        )
    }
}

/// Features an edit created or changed, for marking them in the city.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Touched {
    /// Buildings changed, added or demolished.
    pub buildings: Vec<BuildingId>,
    /// Roads changed or added.
    pub roads: Vec<RoadId>,
    /// POIs added (stops).
    pub pois: Vec<PoiId>,
    /// Land areas added (indices into `CityModel::areas`).
    pub areas: Vec<usize>,
}

impl Touched {
    fn extend(&mut self, o: &Touched) {
        self.buildings.extend(&o.buildings);
        self.roads.extend(&o.roads);
        self.pois.extend(&o.pois);
        self.areas.extend(&o.areas);
    }
}

/// How to put the city back as it was before an edit.
#[derive(Debug, Clone)]
enum Undo {
    Building(u32, Box<Building>),
    BuildingPushed,
    AreaPushed,
    PoiPushed,
    Road(u32, Box<Road>),
    RoadPushed,
}

/// An edit as applied: what it built and cost, and what it touched.
#[derive(Debug, Clone)]
pub struct AppliedEdit {
    /// The edit.
    pub edit: ScenarioEdit,
    /// What it builds, removes or changes.
    pub quantities: Quantities,
    /// Its cost (table or override).
    pub cost: EditCost,
    /// Features it created or changed.
    pub touched: Touched,
    undo: Vec<Undo>,
    rebuilt_network: bool,
}

/// The scenario being edited: a copy of the baseline city and indicator context with the
/// edits applied, undo and redo.
#[derive(Debug, Clone)]
pub struct EditStack {
    city: CityModel,
    ctx: IndicatorContext,
    costs: CostTable,
    applied: Vec<AppliedEdit>,
    redo: Vec<ScenarioEdit>,
}

impl EditStack {
    /// A stack on a copy of the baseline (the baseline itself is never modified).
    pub fn new(baseline: &CityModel, baseline_ctx: &IndicatorContext, costs: CostTable) -> EditStack {
        EditStack {
            city: baseline.clone(),
            ctx: baseline_ctx.clone(),
            costs,
            applied: Vec::new(),
            redo: Vec::new(),
        }
    }

    /// The scenario city.
    pub fn city(&self) -> &CityModel {
        &self.city
    }

    /// The scenario's indicator context.
    pub fn ctx(&self) -> &IndicatorContext {
        &self.ctx
    }

    /// The cost table in use.
    pub fn costs(&self) -> &CostTable {
        &self.costs
    }

    /// The applied edits, in order.
    pub fn applied(&self) -> &[AppliedEdit] {
        &self.applied
    }

    /// The edits as a scenario list.
    pub fn edits(&self) -> Vec<ScenarioEdit> {
        self.applied.iter().map(|a| a.edit.clone()).collect()
    }

    /// Whether there is an edit to undo.
    pub fn can_undo(&self) -> bool {
        !self.applied.is_empty()
    }

    /// Whether there is an undone edit to redo.
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// Everything the applied edits created or changed.
    pub fn touched(&self) -> Touched {
        let mut t = Touched::default();
        for a in &self.applied {
            t.extend(&a.touched);
        }
        t
    }

    /// The total cost of the applied edits.
    pub fn total_cost(&self) -> EditCost {
        let mut c = EditCost::default();
        self.applied.iter().for_each(|a| c.add(&a.cost));
        c
    }

    /// The total quantities of the applied edits.
    pub fn total_quantities(&self) -> Quantities {
        let mut q = Quantities::default();
        self.applied.iter().for_each(|a| q.add(&a.quantities));
        q
    }

    /// The scenario's indicators, computed and evaluated at the feeds' time (no alert log:
    /// a scenario is not the live city).
    pub fn indicators(&self, feeds: &FeedInputs) -> (Computed, Evaluation) {
        let c = self.ctx.compute(&self.city, feeds);
        let e = evaluate::evaluate(&self.ctx.catalogue, &c, self.ctx.stale_after_ms());
        (c, e)
    }

    /// The scenario's indicators at `at` without feeds.
    pub fn indicators_at(&self, at: Timestamp) -> (Computed, Evaluation) {
        self.indicators(&FeedInputs::none(at))
    }

    /// Applies an edit; a refused edit changes nothing. Clears the redo list.
    pub fn push(&mut self, edit: ScenarioEdit) -> Result<&AppliedEdit, EditError> {
        let a = self.apply(edit)?;
        self.redo.clear();
        self.applied.push(a);
        Ok(self.applied.last().expect("just pushed"))
    }

    /// Undoes the last edit, restoring the city and the indicator context exactly as they
    /// were before it; returns the edit.
    pub fn undo(&mut self) -> Option<ScenarioEdit> {
        let a = self.applied.pop()?;
        self.revert(&a);
        self.redo.push(a.edit.clone());
        Some(a.edit)
    }

    /// Re-applies the last undone edit.
    pub fn redo(&mut self) -> Option<Result<&AppliedEdit, EditError>> {
        let e = self.redo.pop()?;
        Some(match self.apply(e.clone()) {
            Ok(a) => {
                self.applied.push(a);
                Ok(self.applied.last().expect("just pushed"))
            }
            Err(err) => {
                self.redo.push(e);
                Err(err)
            }
        })
    }

    /// Undoes every edit (back to the baseline) and forgets the redo list.
    pub fn clear(&mut self) {
        while self.undo().is_some() {}
        self.redo.clear();
    }

    /// Applies a scenario's edits in order on top of what is applied; edits that are
    /// refused are skipped and returned with their index.
    pub fn apply_scenario(&mut self, s: &Scenario) -> Vec<SkippedEdit> {
        let mut skipped = Vec::new();
        for (index, e) in s.edits.iter().enumerate() {
            if let Err(error) = self.push(e.clone()) {
                skipped.push(SkippedEdit {
                    index,
                    kind: e.edit.kind().to_string(),
                    reason: error.to_string(),
                    error,
                });
            }
        }
        skipped
    }

    /// The applied edits as a scenario.
    pub fn to_scenario(&self, name: &str, author: &str, date: &str, scene: &str) -> Scenario {
        Scenario {
            name: name.to_string(),
            author: author.to_string(),
            date: date.to_string(),
            scene: scene.to_string(),
            description: String::new(),
            edits: self.edits(),
        }
    }

    fn first_layer(&self, kind: LayerKind) -> LayerId {
        LayerId(self.city.layers.iter().position(|l| l.kind == kind).unwrap_or(0) as u16)
    }

    fn check_buildings(&self, ids: &[BuildingId]) -> Result<(), EditError> {
        if ids.is_empty() {
            return Err(EditError::NoBuildings);
        }
        match ids.iter().find(|b| b.0 as usize >= self.city.buildings.len()) {
            Some(b) => Err(EditError::MissingBuilding(b.0)),
            None => Ok(()),
        }
    }

    fn check_roads(&self, ids: &[RoadId]) -> Result<(), EditError> {
        if ids.is_empty() {
            return Err(EditError::NoRoads);
        }
        match ids.iter().find(|r| r.0 as usize >= self.city.roads.len()) {
            Some(r) => Err(EditError::MissingRoad(r.0)),
            None => Ok(()),
        }
    }

    fn check_zone(&self, z: ZoneId) -> Result<(), EditError> {
        if (z.0 as usize) < self.city.zones.len() {
            Ok(())
        } else {
            Err(EditError::MissingZone(z.0))
        }
    }

    /// Buildings of a zone (by footprint centroid), of one use if given, not demolished;
    /// none is an error.
    fn zone_buildings(&self, z: ZoneId, usage: Option<&str>) -> Result<Vec<BuildingId>, EditError> {
        let v: Vec<BuildingId> = self
            .ctx
            .buildings
            .iter()
            .zip(&self.city.buildings)
            .enumerate()
            .filter(|(_, (f, b))| {
                f.zone == Some(z.0) && !b.footprint.0.is_empty() && usage.is_none_or(|u| b.usage == u)
            })
            .map(|(i, _)| BuildingId(i as u32))
            .collect();
        if v.is_empty() {
            return Err(EditError::EmptyZone {
                zone: z.0,
                usage: usage.map(str::to_string),
            });
        }
        Ok(v)
    }

    fn floor_m2(&self, b: &Building) -> f64 {
        building_facts(b, &self.ctx.config).floor_m2
    }

    /// Replaces building `id`, recording the old one and the floor-area change.
    fn set_building(&mut self, id: BuildingId, new: Building, undo: &mut Vec<Undo>, q: &mut Quantities) {
        let i = id.0 as usize;
        let before = self.floor_m2(&self.city.buildings[i]);
        let after = self.floor_m2(&new);
        if after > before {
            q.new_floor_m2 += after - before;
        } else {
            q.demolished_floor_m2 += before - after;
        }
        let old = std::mem::replace(&mut self.city.buildings[i], new);
        undo.push(Undo::Building(id.0, Box::new(old)));
    }

    fn demolished(b: &Building) -> Building {
        Building {
            footprint: MultiPolygon(Vec::new()),
            height_m: 0.0,
            min_height_m: 0.0,
            ..b.clone()
        }
    }

    fn stop_within(&self, p: (f64, f64), m: f64) -> bool {
        let sels = &self.ctx.catalogue.dests[dest::TRANSIT].pois;
        self.city.pois.iter().any(|poi| {
            let (dx, dy) = (poi.point.x() - p.0, poi.point.y() - p.1);
            (dx * dx + dy * dy).sqrt() <= m && sels.iter().any(|s| s.matches(poi))
        })
    }

    fn push_stop(&mut self, at: (f64, f64), mode: TransitMode, name: Option<String>, t: &mut Touched) {
        let (category, kind) = mode.poi_tag();
        t.pois.push(PoiId(self.city.pois.len() as u32));
        self.city.pois.push(Poi {
            layer: self.first_layer(LayerKind::Pois),
            source_id: SCENARIO_SOURCE_ID,
            point: Point::new(at.0, at.1),
            category: category.into(),
            kind: kind.into(),
            name,
        });
    }

    fn push_park(&mut self, area: MultiPolygon<f64>, t: &mut Touched) {
        t.areas.push(self.city.areas.len());
        self.city.areas.push(LandArea {
            layer: self.first_layer(LayerKind::Green),
            kind: LayerKind::Green,
            class: PARK_CLASS.into(),
            area,
        });
    }

    /// Applies one edit to the city and the context, or refuses it unchanged.
    fn apply(&mut self, e: ScenarioEdit) -> Result<AppliedEdit, EditError> {
        let mut undo = Vec::new();
        let mut q = Quantities::default();
        let mut t = Touched::default();
        let mut rebuilt_network = false;
        let n_buildings = self.city.buildings.len();
        let (n_pois, n_areas) = (self.city.pois.len(), self.city.areas.len());
        let mut changed_buildings: Vec<BuildingId> = Vec::new();
        let mut roads_changed = false;
        match &e.edit {
            Edit::AddBuilding {
                footprint,
                height_m,
                usage,
                name,
            } => {
                let poly = simple_polygon(footprint, DrawnShape::Footprint)?;
                check_height(*height_m)?;
                check_use(usage)?;
                let b = Building {
                    layer: self.first_layer(LayerKind::Buildings),
                    source_id: SCENARIO_SOURCE_ID,
                    footprint: MultiPolygon(vec![poly]),
                    height_m: *height_m,
                    min_height_m: 0.0,
                    height_source: HeightSource::Measured,
                    name: name.clone(),
                    usage: usage.clone(),
                    attributes: Default::default(),
                };
                q.new_floor_m2 += self.floor_m2(&b);
                let id = BuildingId(n_buildings as u32);
                self.city.buildings.push(b);
                undo.push(Undo::BuildingPushed);
                changed_buildings.push(id);
            }
            Edit::SetHeight { buildings, height_m } => {
                self.check_buildings(buildings)?;
                check_height(*height_m)?;
                for id in buildings {
                    let old = &self.city.buildings[id.0 as usize];
                    let new = Building {
                        height_m: *height_m,
                        min_height_m: if old.min_height_m < *height_m {
                            old.min_height_m
                        } else {
                            0.0
                        },
                        ..old.clone()
                    };
                    self.set_building(*id, new, &mut undo, &mut q);
                    changed_buildings.push(*id);
                }
            }
            Edit::SetUse { buildings, usage } => {
                self.check_buildings(buildings)?;
                check_use(usage)?;
                for id in buildings {
                    let old = &self.city.buildings[id.0 as usize];
                    q.converted_floor_m2 += self.floor_m2(old);
                    let new = Building {
                        usage: usage.clone(),
                        ..old.clone()
                    };
                    let old = std::mem::replace(&mut self.city.buildings[id.0 as usize], new);
                    undo.push(Undo::Building(id.0, Box::new(old)));
                    changed_buildings.push(*id);
                }
            }
            Edit::Demolish { buildings } => {
                self.check_buildings(buildings)?;
                for id in buildings {
                    let new = Self::demolished(&self.city.buildings[id.0 as usize]);
                    self.set_building(*id, new, &mut undo, &mut q);
                    changed_buildings.push(*id);
                }
            }
            Edit::ZoneStoreys { zone, storeys, usage } => {
                self.check_zone(*zone)?;
                if *storeys == 0 {
                    return Err(EditError::ZeroStoreys);
                }
                let storey_m = self.ctx.config.storey_m;
                for id in self.zone_buildings(*zone, usage.as_deref())? {
                    let old = &self.city.buildings[id.0 as usize];
                    let lowest = old.min_height_m + storey_m;
                    let h = (old.height_m + *storeys as f64 * storey_m).max(lowest);
                    let new = Building {
                        height_m: h,
                        ..old.clone()
                    };
                    self.set_building(id, new, &mut undo, &mut q);
                    changed_buildings.push(id);
                }
            }
            Edit::ZoneUse { zone, from, to } => {
                self.check_zone(*zone)?;
                check_use(to)?;
                for id in self.zone_buildings(*zone, Some(from))? {
                    let old = &self.city.buildings[id.0 as usize];
                    q.converted_floor_m2 += self.floor_m2(old);
                    let new = Building {
                        usage: to.clone(),
                        ..old.clone()
                    };
                    let old = std::mem::replace(&mut self.city.buildings[id.0 as usize], new);
                    undo.push(Undo::Building(id.0, Box::new(old)));
                    changed_buildings.push(id);
                }
            }
            Edit::AddPark { polygon, .. } => {
                let poly = simple_polygon(polygon, DrawnShape::Park)?;
                q.park_m2 += poly.unsigned_area();
                self.push_park(MultiPolygon(vec![poly]), &mut t);
                undo.push(Undo::AreaPushed);
            }
            Edit::LotsToGreen { buildings } => {
                self.check_buildings(buildings)?;
                for id in buildings {
                    let old = &self.city.buildings[id.0 as usize];
                    let lot = old.footprint.clone();
                    let new = Self::demolished(old);
                    self.set_building(*id, new, &mut undo, &mut q);
                    changed_buildings.push(*id);
                    if !lot.0.is_empty() {
                        q.park_m2 += lot.unsigned_area();
                        self.push_park(lot, &mut t);
                        undo.push(Undo::AreaPushed);
                    }
                }
            }
            Edit::TransitStop { at, mode, name } => {
                check_point(*at)?;
                q.stops[mode.index()] += 1;
                self.push_stop(*at, *mode, name.clone(), &mut t);
                undo.push(Undo::PoiPushed);
            }
            Edit::TransitLine { stops, mode, name } => {
                if stops.len() < 2 {
                    return Err(EditError::LineTooShort);
                }
                stops.iter().try_for_each(|p| check_point(*p))?;
                let route: f64 = stops
                    .windows(2)
                    .map(|w| ((w[1].0 - w[0].0).powi(2) + (w[1].1 - w[0].1).powi(2)).sqrt())
                    .sum();
                q.line_km[mode.index()] += route / M_PER_KM;
                for (k, p) in stops.iter().enumerate() {
                    if !self.stop_within(*p, LINE_STOP_MERGE_M) {
                        q.stops[mode.index()] += 1;
                        let stop_name = name.as_ref().map(|n| format!("{n} stop {}", k + 1));
                        self.push_stop(*p, *mode, stop_name, &mut t);
                        undo.push(Undo::PoiPushed);
                    }
                }
            }
            Edit::CloseToCars { roads } => {
                self.check_roads(roads)?;
                for id in roads {
                    let old = &self.city.roads[id.0 as usize];
                    rebuilt_network |= NOT_WALKABLE.contains(&old.class.as_str());
                    q.car_free_km += road_km(old);
                    let new = Road {
                        class: CAR_FREE_CLASS.into(),
                        maxspeed_kmh: None,
                        ..old.clone()
                    };
                    let old = std::mem::replace(&mut self.city.roads[id.0 as usize], new);
                    undo.push(Undo::Road(id.0, Box::new(old)));
                    t.roads.push(*id);
                }
                roads_changed = true;
            }
            Edit::BikeLane { roads } => {
                self.check_roads(roads)?;
                if let Some(r) = roads
                    .iter()
                    .find(|r| self.city.roads[r.0 as usize].class == BIKE_LANE_CLASS)
                {
                    return Err(EditError::AlreadyCycleway(r.0));
                }
                for id in roads {
                    let old = &self.city.roads[id.0 as usize];
                    rebuilt_network |= NOT_WALKABLE.contains(&old.class.as_str());
                    q.bike_lane_km += road_km(old);
                    let lane = Road {
                        class: BIKE_LANE_CLASS.into(),
                        lanes: Some(1),
                        maxspeed_kmh: None,
                        oneway: false,
                        name: Some(match &old.name {
                            Some(n) => format!("bike lane, {n}"),
                            None => "bike lane".into(),
                        }),
                        ..old.clone()
                    };
                    t.roads.push(RoadId(self.city.roads.len() as u32));
                    t.roads.push(*id);
                    self.city.roads.push(lane);
                    undo.push(Undo::RoadPushed);
                }
                roads_changed = true;
            }
            Edit::SpeedLimit { roads, kmh } => {
                self.check_roads(roads)?;
                if !(kmh.is_finite() && *kmh > 0.0) {
                    return Err(EditError::BadSpeed(*kmh));
                }
                for id in roads {
                    let old = &self.city.roads[id.0 as usize];
                    q.speed_limit_km += road_km(old);
                    let new = Road {
                        maxspeed_kmh: Some(*kmh),
                        ..old.clone()
                    };
                    let old = std::mem::replace(&mut self.city.roads[id.0 as usize], new);
                    undo.push(Undo::Road(id.0, Box::new(old)));
                    t.roads.push(*id);
                }
                roads_changed = true;
            }
            Edit::RooftopSolar { target, share } => {
                if !(*share > 0.0 && *share <= 1.0) {
                    return Err(EditError::BadShare(*share));
                }
                let ids = match target {
                    SolarTarget::Buildings(ids) => {
                        self.check_buildings(ids)?;
                        ids.clone()
                    }
                    SolarTarget::Zone(z) => {
                        self.check_zone(*z)?;
                        self.zone_buildings(*z, None)?
                    }
                };
                let roof: f64 = ids
                    .iter()
                    .filter_map(|id| self.ctx.buildings.get(id.0 as usize))
                    .map(|f| f.roof_solar_m2)
                    .sum();
                q.solar_kwp += roof * share * self.costs.solar_kwp_per_m2;
                t.buildings.extend(&ids);
            }
        }
        // The indicator context follows what changed.
        if !changed_buildings.is_empty() {
            self.ctx.update_buildings(&self.city, &changed_buildings);
            t.buildings.extend(&changed_buildings);
        }
        if self.city.pois.len() > n_pois {
            self.ctx.add_pois(&self.city, n_pois);
        }
        if self.city.areas.len() > n_areas {
            self.ctx.add_areas(&self.city, n_areas);
        }
        if rebuilt_network {
            self.ctx.refresh_roads(&self.city);
        } else if roads_changed {
            self.ctx.refresh_road_attributes(&self.city);
        }
        t.buildings.sort();
        t.buildings.dedup();
        let cost = self.costs.edit_cost(&q, &e.cost);
        Ok(AppliedEdit {
            edit: e,
            quantities: q,
            cost,
            touched: t,
            undo,
            rebuilt_network,
        })
    }

    /// Puts the city back and recomputes what the edit touched from scratch, so that the
    /// context is exactly what it was.
    fn revert(&mut self, a: &AppliedEdit) {
        let mut buildings: Vec<BuildingId> = Vec::new();
        let (mut popped_buildings, mut areas, mut pois, mut roads) = (false, false, false, false);
        let mut poi_sets: Vec<usize> = Vec::new();
        for u in a.undo.iter().rev() {
            match u {
                Undo::Building(i, b) => {
                    self.city.buildings[*i as usize] = (**b).clone();
                    buildings.push(BuildingId(*i));
                }
                Undo::BuildingPushed => {
                    self.city.buildings.pop();
                    popped_buildings = true;
                }
                Undo::AreaPushed => {
                    self.city.areas.pop();
                    areas = true;
                }
                Undo::PoiPushed => {
                    pois = true;
                    if let Some(p) = self.city.pois.pop() {
                        let dests = &self.ctx.catalogue.dests;
                        poi_sets.extend(
                            (0..dests.len()).filter(|d| dests[*d].pois.iter().any(|s| s.matches(&p))),
                        );
                    }
                }
                Undo::Road(i, r) => {
                    self.city.roads[*i as usize] = (**r).clone();
                    roads = true;
                }
                Undo::RoadPushed => {
                    self.city.roads.pop();
                    roads = true;
                }
            }
        }
        if popped_buildings {
            self.ctx.truncate_buildings(&self.city);
        }
        buildings.retain(|b| (b.0 as usize) < self.city.buildings.len());
        if !buildings.is_empty() {
            self.ctx.update_buildings(&self.city, &buildings);
        }
        if a.rebuilt_network {
            self.ctx.refresh_roads(&self.city);
            return;
        }
        if roads {
            self.ctx.refresh_road_attributes(&self.city);
        }
        if areas {
            self.ctx.refresh_areas(&self.city);
        }
        if pois {
            poi_sets.sort();
            poi_sets.dedup();
            self.ctx.refresh_dests(&self.city, &poi_sets);
        }
    }
}

fn road_km(r: &Road) -> f64 {
    r.line
        .0
        .windows(2)
        .map(|w| ((w[1].x - w[0].x).powi(2) + (w[1].y - w[0].y).powi(2)).sqrt())
        .sum::<f64>()
        / M_PER_KM
}

fn check_height(h: f64) -> Result<(), EditError> {
    if h.is_finite() && h > 0.0 && h <= MAX_HEIGHT_M {
        Ok(())
    } else {
        Err(EditError::BadHeight(h))
    }
}

fn check_use(u: &str) -> Result<(), EditError> {
    if u.trim().is_empty() {
        Err(EditError::NoUse)
    } else {
        Ok(())
    }
}

fn check_point(p: (f64, f64)) -> Result<(), EditError> {
    if p.0.is_finite() && p.1.is_finite() {
        Ok(())
    } else {
        Err(EditError::NotFinite(p.0, p.1))
    }
}

/// A drawn ring as a simple polygon (closed if open), or why it is refused: fewer than
/// three distinct points, a non-finite coordinate, a self-intersection, no area.
pub fn simple_polygon(ring: &[(f64, f64)], what: DrawnShape) -> Result<Polygon<f64>, EditError> {
    let bad = |problem: PolygonProblem| EditError::BadPolygon { what, problem };
    let mut pts: Vec<Coord<f64>> = ring.iter().map(|&(x, y)| Coord { x, y }).collect();
    pts.dedup();
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    if pts.len() < 3 {
        return Err(bad(PolygonProblem::TooFewPoints(pts.len())));
    }
    let poly = Polygon::new(LineString(pts), Vec::new());
    if let Err(e) = poly.check_validation() {
        return Err(bad(match e {
            InvalidPolygon::SelfIntersection(_) => PolygonProblem::SelfIntersection(e.to_string()),
            _ => PolygonProblem::NotSimple(e.to_string()),
        }));
    }
    if poly.unsigned_area() <= 0.0 {
        return Err(bad(PolygonProblem::NoArea));
    }
    Ok(poly)
}
