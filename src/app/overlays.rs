//! The live map overlays, all following the time slider and all coloured through per-feature
//! colour buffers (no mesh is ever rebuilt): sensors as markers coloured by the chosen metric
//! ([`SensorColours`]), zones by electricity load ([`ZoneLoads`], into the zones' buffer),
//! service requests as points, open or recently closed ([`RequestColours`]) for a role cleared
//! for personal data, and for every other role only as k-anonymous hex cells coloured by
//! count, cells under k suppressed ([`RequestCells`], [`RequestCellColours`]), and the map
//! feature the user clicked ([`SelectedFeature`]: a sensor or a road, whose recent values
//! [`FeatureChart`] holds, or a zone, whose indicator values [`ZoneValues`] holds). The panels
//! that show them are [`crate::app::ui::overlays`]; the maths is [`crate::twin::overlay`].

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use bevy::mesh::MeshTag;
use bevy::prelude::*;
use bevy::render::storage::ShaderBuffer;
use bevy::window::PrimaryWindow;
use bevy_egui::input::EguiWantsInput;

use crate::app::access::SceneAccess;
use crate::app::camera::CameraRig;
use crate::app::dashboard::{Dashboard, IndicatorEngine, paint_choropleth};
use crate::app::feeds::{LiveFeeds, PastPicture, REPAINT_STEP_MS};
use crate::app::ground_view::{
    FeatureColours, FeatureMaterial, FeatureSet, GroundTileEntity, MarkerMaterial, ZoneColours, ground_mesh,
    initial_zone_colours, upload,
};
use crate::app::loading::LoadedCity;
use crate::app::outline::LayerEntity;
use crate::app::picking::HoveredBuilding;
use crate::app::ui::UiCovered;
use crate::app::ui::timeline::TwinTime;
use crate::app::{AppState, AppSystems};
use crate::twin::access::{CellMap, aggregate_hex, count_ramp};
use crate::twin::city::{CityModel, RoadId, ZoneId};
use crate::twin::feeds::key::SubjectKey;
use crate::twin::feeds::live::Picture;
use crate::twin::feeds::reader::{Lane, ReadAnswer, ReadRequest};
use crate::twin::feeds::{Metric, Timestamp};
use crate::twin::ground::{GroundMesh, push_polygon_fill};
use crate::twin::overlay::{
    LOAD_COLOURS, Ramp, RequestState, SENSOR_METRICS, ZoneValue, load_per_ha, nearest_point, nearest_road,
    ray_ground, series, zone_areas_m2, zone_at, zone_values,
};
use crate::twin::picking::{from_render_dir, from_render_point};

/// Radius of a sensor marker, metres.
pub const SENSOR_RADIUS_M: f32 = 5.0;
/// Height of a sensor marker, metres (it stands above the street).
pub const SENSOR_HEIGHT_M: f32 = 30.0;
/// Radius of a service request point, metres.
pub const REQUEST_RADIUS_M: f32 = 3.0;
/// Height of a service request point, metres.
pub const REQUEST_HEIGHT_M: f32 = 3.0;
/// Sides of the marker cylinders.
const MARKER_RESOLUTION: u32 = 10;
/// Most service request points drawn at once (the colour buffer's fixed size); beyond it
/// they are counted in [`RequestPoints::not_drawn`].
pub const MAX_REQUEST_POINTS: usize = 8_192;
/// Closed requests stay on the map this long after closing.
pub const CLOSED_SHOWN_MS: i64 = Timestamp::DAY_MS;
/// Colour of an open request (sRGB).
pub const REQUEST_OPEN_COLOUR: [u8; 3] = [255, 120, 30];
/// Colour of a recently closed request (sRGB).
pub const REQUEST_CLOSED_COLOUR: [u8; 3] = [90, 170, 240];
/// Opacity of the cells service requests are aggregated to for roles without clearance.
pub const REQUEST_CELL_ALPHA: f32 = 0.6;
/// Height of the request cells above the ground, metres: over the zone fills, under the
/// roads.
pub const REQUEST_CELL_LIFT_M: f32 = 0.135;
/// Margin of the request cells around the city's bounding box, in cells: requests just
/// outside the mapped data still fall in a drawn cell.
const REQUEST_CELL_MARGIN_CELLS: f64 = 1.0;
/// Colour of a sensor without a value at the instant shown (sRGB).
pub const NO_VALUE_COLOUR: [u8; 3] = [140, 140, 140];
/// Opacity of zones coloured by load.
pub const LOAD_ALPHA: f32 = 0.6;
/// Opacity of zones without a load while the load is shown.
const LOAD_NO_DATA_ALPHA: f32 = 0.12;
/// Real seconds between recomputations of the load ramp's breaks (they rest on a day of data).
const LOAD_RAMP_EVERY_S: f64 = 60.0;
/// How far before the instant shown a chart reaches.
pub const CHART_SPAN_MS: i64 = 6 * Timestamp::HOUR_MS;
/// Real seconds between refreshes of a live chart.
const CHART_EVERY_S: f64 = 2.0;
/// How near the pointer a sensor or road must be to be picked, logical pixels.
pub const PICK_RADIUS_PX: f32 = 8.0;
/// Farthest the pointer may move between press and release for a click, logical pixels.
const CLICK_SLOP_PX: f32 = 4.0;

/// What the zones are coloured by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ZonesBy {
    /// The indicator chosen in the dashboard's table (plain zones until one is chosen).
    #[default]
    Indicator,
    /// Electricity load per hectare.
    Load,
    /// Nothing: the zones' own colour.
    None,
}

/// What the overlays show (chosen in the overlays panel).
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct OverlaySettings {
    /// Sensors drawn.
    pub show_sensors: bool,
    /// The metric sensors are coloured by (one of [`SENSOR_METRICS`]).
    pub sensor_metric: Metric,
    /// What the zones are coloured by.
    pub zones_by: ZonesBy,
    /// Service requests drawn.
    pub show_requests: bool,
}

impl Default for OverlaySettings {
    fn default() -> Self {
        OverlaySettings {
            show_sensors: true,
            sensor_metric: Metric::Pm25,
            zones_by: ZonesBy::Indicator,
            show_requests: true,
        }
    }
}

impl OverlaySettings {
    /// Colours the zones by `by`; anything but an indicator lets go of the dashboard's
    /// choropleth choice.
    pub fn set_zones_by(&mut self, by: ZonesBy, dash: &mut Dashboard) {
        self.zones_by = by;
        if by != ZonesBy::Indicator && dash.choropleth.is_some() {
            dash.choropleth = None;
        }
    }
}

/// The sensors on the map: ids and positions (scene CRS) by marker index (= [`MeshTag`] and
/// index into [`SensorColours`]), and their values at the instant shown.
#[derive(Resource, Debug, Clone, Default)]
pub struct SensorMarkers {
    /// Sensor ids, sorted.
    pub ids: Vec<String>,
    /// Positions, scene CRS.
    pub positions: Vec<[f64; 2]>,
    /// The value of the chosen metric at the instant shown, and when it was observed.
    pub values: Vec<Option<(f64, Timestamp)>>,
    /// Sensors heard from that have no known position (not drawn), by id.
    pub unplaced: BTreeSet<String>,
}

/// Colours of the sensor markers, indexed like [`SensorMarkers`].
#[derive(Resource, Debug, Clone, Deref, DerefMut)]
pub struct SensorColours(pub FeatureColours);

/// Marks a sensor marker; its index is also its [`MeshTag`].
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct SensorMarker(pub u32);

/// The service request points: which request each slot (= [`MeshTag`] and index into
/// [`RequestColours`]) shows.
#[derive(Resource, Debug, Default)]
pub struct RequestPoints {
    /// Slot of each request drawn, by request id.
    pub slots: HashMap<u64, u32>,
    /// Slots free for reuse.
    pub(crate) free: Vec<u32>,
    /// The entity of each slot spawned so far.
    pub(crate) entities: Vec<Entity>,
    /// Requests open at the instant shown.
    pub open: usize,
    /// Requests closed within [`CLOSED_SHOWN_MS`] before the instant shown.
    pub closed: usize,
    /// Requests to show that did not fit in [`MAX_REQUEST_POINTS`].
    pub not_drawn: usize,
}

/// Colours of the request points by slot ([`MAX_REQUEST_POINTS`] of them; alpha 0 = unused).
#[derive(Resource, Debug, Clone, Deref, DerefMut)]
pub struct RequestColours(pub FeatureColours);

/// Marks a request point; its slot is also its [`MeshTag`].
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestPoint(pub u32);

/// Service requests as a role without clearance for personal data sees them: counts per hex
/// cell of the scene's grid (`roles.cell_m`), cells with fewer than k requests suppressed
/// (not drawn, not counted on screen). Present instead of [`RequestPoints`] for such roles.
#[derive(Resource, Debug, Clone)]
pub struct RequestCells {
    /// The cells drawn (the city's bounding box and a margin), by feature index.
    pub map: CellMap,
    /// k: the fewest requests a drawn cell holds.
    pub k: usize,
    /// Colours by count.
    pub ramp: Ramp,
    /// Requests per map cell at the instant shown; 0 for empty and suppressed cells.
    pub counts: Vec<usize>,
    /// Cells drawn (at least k requests).
    pub shown_cells: usize,
    /// Requests in the cells drawn.
    pub shown_records: usize,
    /// Cells suppressed (fewer than k requests).
    pub suppressed_cells: usize,
    /// Cells of at least k requests beyond the drawn cells.
    pub off_map_cells: usize,
}

/// Colours of the request cells, indexed like [`RequestCells::map`] (alpha 0 = not drawn).
#[derive(Resource, Debug, Clone, Deref, DerefMut)]
pub struct RequestCellColours(pub FeatureColours);

/// Marks the entity drawing the request cells.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestCellsTile;

/// Whether the role the app runs as may see service requests one by one. Without a
/// [`SceneAccess`] (the role not resolved) the answer is no: the least privilege.
pub fn requests_individually(access: Option<&SceneAccess>) -> bool {
    access.is_some_and(|a| !a.role.needs_aggregation())
}

/// Electricity load per zone at the instant shown, and the ramp the zones are coloured by.
#[derive(Resource, Debug, Clone, Default)]
pub struct ZoneLoads {
    /// Zone areas, m², by zone index.
    pub areas_m2: Vec<f64>,
    /// Latest load, kW, by zone index.
    pub kw: Vec<Option<f64>>,
    /// Load per hectare, kW/ha, by zone index.
    pub per_ha: Vec<Option<f64>>,
    /// Breaks and colours (quantiles of the last day's loads per hectare).
    pub ramp: Option<Ramp>,
}

/// A feature of the map the user clicked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapFeature {
    /// A sensor, by id.
    Sensor(String),
    /// A road.
    Road(RoadId),
    /// A zone.
    Zone(ZoneId),
}

impl MapFeature {
    /// The key its observations carry.
    pub fn key(&self) -> SubjectKey {
        match self {
            MapFeature::Sensor(s) => SubjectKey::Sensor(s.clone()),
            MapFeature::Road(r) => SubjectKey::Road(*r),
            MapFeature::Zone(z) => SubjectKey::Zone(*z),
        }
    }

    /// The metrics its chart shows.
    pub fn metrics(&self) -> &'static [Metric] {
        match self {
            MapFeature::Sensor(_) => &SENSOR_METRICS,
            MapFeature::Road(_) => &[Metric::TrafficSpeed, Metric::TrafficFlow],
            MapFeature::Zone(_) => &[Metric::ElectricityLoad, Metric::Sentiment],
        }
    }
}

/// The map feature last clicked (sensor, road or zone), if any.
#[derive(Resource, Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectedFeature(pub Option<MapFeature>);

/// The recent values of the selected feature, per metric, up to the instant shown.
#[derive(Resource, Debug, Clone, Default)]
pub struct FeatureChart {
    /// The feature charted.
    pub feature: Option<MapFeature>,
    /// The instant the series end at.
    pub at: Option<Timestamp>,
    /// One series per metric of the feature, in time order.
    pub lines: Vec<(Metric, Vec<(Timestamp, f64)>)>,
    /// The kinds of feed that reported on the feature in the recent window.
    pub sources: crate::twin::feeds::provenance::SourceKinds,
}

/// Every indicator's value in the selected zone.
#[derive(Resource, Debug, Clone, Default)]
pub struct ZoneValues(pub Option<(ZoneId, Vec<ZoneValue>)>);

/// Draws and recolours the overlays, picks map features and fills their chart and values.
pub struct OverlaysPlugin;

impl Plugin for OverlaysPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<OverlaySettings>()
            .init_resource::<SelectedFeature>()
            .init_resource::<FeatureChart>()
            .init_resource::<ZoneValues>()
            .init_resource::<ZoneLoads>()
            .add_systems(OnEnter(AppState::Ready), zone_areas)
            .add_systems(
                Update,
                (
                    follow_dashboard_choice,
                    zone_loads.run_if(resource_exists::<LiveFeeds>),
                )
                    .chain()
                    .in_set(AppSystems::Model)
                    .run_if(in_state(AppState::Ready)),
            )
            .add_systems(
                Update,
                (
                    (spawn_markers, paint_sensors, paint_requests, paint_request_cells)
                        .chain()
                        .run_if(resource_exists::<LiveFeeds>),
                    paint_zone_loads
                        .after(paint_choropleth)
                        .run_if(resource_exists::<ZoneColours>),
                    upload::<SensorColours>.run_if(resource_exists_and_changed::<SensorColours>),
                    upload::<RequestColours>.run_if(resource_exists_and_changed::<RequestColours>),
                    upload::<RequestCellColours>.run_if(resource_exists_and_changed::<RequestCellColours>),
                )
                    .in_set(AppSystems::Visuals)
                    .run_if(in_state(AppState::Ready)),
            )
            .add_systems(
                Update,
                (
                    pick_feature.run_if(resource_exists::<LoadedCity>),
                    refresh_chart,
                    take_chart_answer,
                    refresh_zone_values.run_if(resource_exists::<IndicatorEngine>),
                )
                    .chain()
                    .in_set(AppSystems::Ui)
                    .run_if(in_state(AppState::Ready)),
            );
    }
}

/// Linear RGBA of an sRGB colour with an alpha.
fn linear(c: [u8; 3], alpha: f32) -> [f32; 4] {
    let l = Color::srgb_u8(c[0], c[1], c[2]).to_linear();
    [l.red, l.green, l.blue, alpha]
}

/// Measures the zones once the city is ready.
fn zone_areas(loaded: Option<Res<LoadedCity>>, mut loads: ResMut<ZoneLoads>) {
    let Some(loaded) = loaded else { return };
    let city = &loaded.0.city;
    *loads = ZoneLoads {
        areas_m2: zone_areas_m2(city),
        kw: vec![None; city.zones.len()],
        per_ha: vec![None; city.zones.len()],
        ramp: None,
    };
}

/// Choosing an indicator in the dashboard's table colours the zones by it again.
fn follow_dashboard_choice(dash: Res<Dashboard>, mut settings: ResMut<OverlaySettings>) {
    if dash.is_changed() && dash.choropleth.is_some() && settings.zones_by != ZonesBy::Indicator {
        settings.zones_by = ZonesBy::Indicator;
    }
}

/// The latest load per zone at the instant shown, and (every [`LOAD_RAMP_EVERY_S`]) the
/// ramp from the last day's loads per hectare.
fn zone_loads(
    feeds: Res<LiveFeeds>,
    past: Res<PastPicture>,
    twin: Res<TwinTime>,
    mut loads: ResMut<ZoneLoads>,
    mut ramp_at: Local<Option<Instant>>,
) {
    let live = twin.clock.is_live();
    if !(feeds.last_drain.accepted > 0 || past.is_changed() || ramp_at.is_none()) {
        return;
    }
    let Some(picture) = past.pick(&feeds, live) else {
        return;
    };
    let n = loads.areas_m2.len();
    let mut kw = vec![None; n];
    for (key, latest) in picture.of_metric(Metric::ElectricityLoad) {
        if let SubjectKey::Zone(z) = key
            && let Some(slot) = kw.get_mut(z.0 as usize)
        {
            *slot = Some(latest.value);
        }
    }
    let per_ha: Vec<Option<f64>> = kw
        .iter()
        .zip(&loads.areas_m2)
        .map(|(k, a)| k.and_then(|k| load_per_ha(k, *a)))
        .collect();
    // Until there is a ramp, try again with every new data.
    if loads.ramp.is_none() || ramp_at.is_none_or(|t| t.elapsed().as_secs_f64() >= LOAD_RAMP_EVERY_S) {
        let day: Vec<f64> = feeds
            .recent
            .iter()
            .filter(|o| o.metric == Metric::ElectricityLoad)
            .filter_map(|o| match o.subject {
                crate::twin::feeds::Subject::Zone(z) => {
                    load_per_ha(o.value, *loads.areas_m2.get(z.0 as usize)?)
                }
                _ => None,
            })
            .chain(per_ha.iter().flatten().copied())
            .collect();
        let ramp = Ramp::from_quantiles(&day, "kW/ha", &LOAD_COLOURS);
        *ramp_at = Some(Instant::now());
        if ramp != loads.ramp {
            loads.ramp = ramp;
        }
    }
    if kw != loads.kw || per_ha != loads.per_ha {
        loads.kw = kw;
        loads.per_ha = per_ha;
    }
}

/// The zone colours for loads per hectare under a ramp.
pub fn load_colours(per_ha: &[Option<f64>], ramp: Option<&Ramp>) -> Vec<[f32; 4]> {
    per_ha
        .iter()
        .map(|v| match (v, ramp) {
            (Some(v), Some(r)) => linear(r.colour(*v), LOAD_ALPHA),
            _ => linear(NO_VALUE_COLOUR, LOAD_NO_DATA_ALPHA),
        })
        .collect()
}

/// Writes the load into the zones' colour buffer while the zones are coloured by load (and
/// shows the zones); restores the zones' own colours when leaving load for nothing.
fn paint_zone_loads(
    settings: Res<OverlaySettings>,
    loads: Res<ZoneLoads>,
    dash: Res<Dashboard>,
    loaded: Res<LoadedCity>,
    mut colours: ResMut<ZoneColours>,
    mut layers: Query<(&LayerEntity, &mut Visibility)>,
    mut was: Local<ZonesBy>,
) {
    let city = &loaded.0.city;
    let by = settings.zones_by;
    if by == ZonesBy::Load {
        let next = load_colours(&loads.per_ha, loads.ramp.as_ref());
        if next.len() == colours.colours.len() && next != colours.colours {
            colours.colours = next;
        }
        if *was != ZonesBy::Load {
            let zone_layer = crate::twin::ground::zone_layer(city);
            for (layer, mut v) in &mut layers {
                if layer.index == zone_layer {
                    *v = Visibility::Visible;
                }
            }
        }
    } else if *was == ZonesBy::Load && dash.choropleth.is_none() {
        colours.colours = initial_zone_colours(city, &loaded.0.scene);
    }
    *was = by;
}

/// Spawns the sensor markers (once the feeds run), and for the service requests either the
/// points' colour buffer (a role cleared for personal data) or the hex cells (any other).
#[allow(clippy::too_many_arguments)]
fn spawn_markers(
    mut commands: Commands,
    feeds: Res<LiveFeeds>,
    loaded: Res<LoadedCity>,
    access: Option<Res<SceneAccess>>,
    sensors: Option<Res<SensorMarkers>>,
    settings: Res<OverlaySettings>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<MarkerMaterial>>,
    mut fills: ResMut<Assets<FeatureMaterial>>,
    mut buffers: ResMut<Assets<ShaderBuffer>>,
) {
    if sensors.is_some() {
        return;
    }
    let city = &loaded.0.city;
    let mut placed: Vec<(&String, &[f64; 2])> = feeds.sensors.iter().collect();
    placed.sort_by(|a, b| a.0.cmp(b.0));
    let colours = vec![linear(NO_VALUE_COLOUR, 1.0); placed.len()];
    let buffer = buffers.add(ShaderBuffer::from(if colours.is_empty() {
        vec![[0.0f32; 4]]
    } else {
        colours.clone()
    }));
    let mesh = meshes.add(
        Cylinder::new(SENSOR_RADIUS_M, SENSOR_HEIGHT_M)
            .mesh()
            .resolution(MARKER_RESOLUTION),
    );
    let material = materials.add(MarkerMaterial {
        colours: buffer.clone(),
    });
    for (i, (id, p)) in placed.iter().enumerate() {
        let [east, north] = city.origin.local(geo_types::Coord { x: p[0], y: p[1] });
        commands.spawn((
            Name::new(format!("sensor {id}")),
            SensorMarker(i as u32),
            MeshTag(i as u32),
            Mesh3d(mesh.clone()),
            MeshMaterial3d(material.clone()),
            Transform::from_xyz(east, SENSOR_HEIGHT_M / 2.0, -north),
            if settings.show_sensors {
                Visibility::Visible
            } else {
                Visibility::Hidden
            },
            DespawnOnExit(AppState::Ready),
        ));
    }
    commands.insert_resource(SensorMarkers {
        ids: placed.iter().map(|(id, _)| (*id).clone()).collect(),
        positions: placed.iter().map(|(_, p)| **p).collect(),
        values: vec![None; placed.len()],
        unplaced: BTreeSet::new(),
    });
    commands.insert_resource(SensorColours(FeatureColours { colours, buffer }));
    info!("3D sensors: {} markers", placed.len());
    if requests_individually(access.as_deref()) {
        let requests = vec![[0.0f32; 4]; MAX_REQUEST_POINTS];
        commands.insert_resource(RequestColours(FeatureColours {
            buffer: buffers.add(ShaderBuffer::from(requests.clone())),
            colours: requests,
        }));
        commands.insert_resource(RequestPoints::default());
        return;
    }
    let spec = &loaded.0.scene.roles;
    let k = access.as_ref().map_or(spec.k_anonymity, |a| a.role.k_anonymity);
    let grid = spec.grid();
    let map = match city.bbox() {
        Some(b) => CellMap::covering(grid, b, grid.size_m * REQUEST_CELL_MARGIN_CELLS),
        None => CellMap::covering(grid, [f64::NAN; 4], 0.0),
    };
    let (mesh, failed) = request_cells_mesh(&map, city);
    if failed > 0 {
        warn!("3D request cells: {failed} cells could not be meshed");
    }
    let colours = vec![[0.0f32; 4]; map.len()];
    let buffer = buffers.add(ShaderBuffer::from(if colours.is_empty() {
        vec![[0.0f32; 4]]
    } else {
        colours.clone()
    }));
    if !mesh.is_empty() {
        let aabb = bevy::camera::primitives::Aabb::from_min_max(
            Vec3::from(mesh.bbox_min),
            Vec3::from(mesh.bbox_max),
        );
        commands.spawn((
            Name::new("service request cells"),
            RequestCellsTile,
            Mesh3d(meshes.add(ground_mesh(mesh))),
            MeshMaterial3d(fills.add(FeatureMaterial {
                colours: buffer.clone(),
                alpha: AlphaMode::Blend,
            })),
            Transform::IDENTITY,
            aabb,
            Visibility::Visible,
            DespawnOnExit(AppState::Ready),
        ));
    }
    info!(
        "3D service requests as hex cells of {} m, k = {k}: {} cells",
        grid.size_m,
        map.len()
    );
    commands.insert_resource(RequestCellColours(FeatureColours { colours, buffer }));
    commands.insert_resource(RequestCells {
        counts: vec![0; map.len()],
        map,
        k,
        ramp: count_ramp(k),
        shown_cells: 0,
        shown_records: 0,
        suppressed_cells: 0,
        off_map_cells: 0,
    });
}

/// One ground mesh of every cell of the map (feature index = cell index) at
/// [`REQUEST_CELL_LIFT_M`], and the number of cells that could not be meshed.
pub fn request_cells_mesh(map: &CellMap, city: &CityModel) -> (GroundMesh, usize) {
    let mut mesh = GroundMesh::new((0, 0));
    let mut failed = 0;
    for (i, (q, r)) in map.cells.iter().enumerate() {
        let ring: Vec<(f64, f64)> = map.grid.ring(*q, *r).into_iter().map(|[x, y]| (x, y)).collect();
        let hexagon = geo_types::MultiPolygon(vec![geo_types::Polygon::new(ring.into(), vec![])]);
        match push_polygon_fill(&mut mesh, &hexagon, REQUEST_CELL_LIFT_M, i as u32, &city.origin) {
            Ok(true) => {}
            Ok(false) | Err(_) => failed += 1,
        }
    }
    (mesh, failed)
}

/// Whether an overlay following the time slider is due a repaint: the instant shown moved
/// by [`REPAINT_STEP_MS`] (or between live and past), or `fresh` (new data, new settings).
/// Records the instant painted when it is.
fn repaint_due(painted: &mut Option<(Timestamp, bool)>, twin: &TwinTime, fresh: bool) -> bool {
    let at = twin.shown();
    let live = twin.clock.is_live();
    let moved = painted.is_none_or(|(t, l)| l != live || (!live && (t.0 - at.0).abs() >= REPAINT_STEP_MS));
    if !(moved || fresh) {
        return false;
    }
    *painted = Some((at, live));
    true
}

/// Aggregates the requests shown at the instant (open, or closed within
/// [`CLOSED_SHOWN_MS`]) to the role's hex cells and colours the cells of at least k by
/// count; every other cell stays undrawn. Runs only for roles without clearance (where
/// [`RequestCells`] exists).
fn paint_request_cells(
    feeds: Res<LiveFeeds>,
    twin: Res<TwinTime>,
    settings: Res<OverlaySettings>,
    cells: Option<ResMut<RequestCells>>,
    colours: Option<ResMut<RequestCellColours>>,
    mut painted: Local<Option<(Timestamp, bool)>>,
) {
    let (Some(mut cells), Some(mut colours)) = (cells, colours) else {
        return;
    };
    let fresh = feeds.last_drain.accepted > 0 || settings.is_changed() || cells.is_added();
    if !repaint_due(&mut painted, &twin, fresh) {
        return;
    }
    let at = twin.shown();
    let points: Vec<[f64; 2]> = if settings.show_requests {
        feeds
            .requests
            .shown_at(at, CLOSED_SHOWN_MS)
            .map(|(r, _)| r.at)
            .collect()
    } else {
        Vec::new()
    };
    let agg = aggregate_hex(points, &cells.map.grid, cells.k);
    let (counts, off_map) = cells.map.counts(&agg);
    let next: Vec<[f32; 4]> = counts
        .iter()
        .map(|&n| {
            if n >= cells.k && n > 0 {
                linear(cells.ramp.colour(n as f64), REQUEST_CELL_ALPHA)
            } else {
                [0.0; 4]
            }
        })
        .collect();
    if next != colours.colours {
        colours.colours = next;
    }
    let shown_cells = counts.iter().filter(|&&n| n > 0).count();
    let shown_records = counts.iter().sum::<usize>();
    if counts != cells.counts
        || shown_cells != cells.shown_cells
        || shown_records != cells.shown_records
        || agg.suppressed_cells != cells.suppressed_cells
        || off_map != cells.off_map_cells
    {
        cells.counts = counts;
        cells.shown_cells = shown_cells;
        cells.shown_records = shown_records;
        cells.suppressed_cells = agg.suppressed_cells;
        cells.off_map_cells = off_map;
    }
}

/// Colours the sensor markers by the chosen metric at the instant shown, and shows or hides
/// them with the settings.
fn paint_sensors(
    feeds: Res<LiveFeeds>,
    past: Res<PastPicture>,
    twin: Res<TwinTime>,
    settings: Res<OverlaySettings>,
    markers: Option<ResMut<SensorMarkers>>,
    colours: Option<ResMut<SensorColours>>,
    mut entities: Query<&mut Visibility, With<SensorMarker>>,
) {
    let (Some(mut markers), Some(mut colours)) = (markers, colours) else {
        return;
    };
    if settings.is_changed() {
        let v = if settings.show_sensors {
            Visibility::Visible
        } else {
            Visibility::Hidden
        };
        for mut e in &mut entities {
            e.set_if_neq(v);
        }
    }
    let due =
        feeds.last_drain.accepted > 0 || past.is_changed() || settings.is_changed() || markers.is_added();
    if !due {
        return;
    }
    let Some(picture) = past.pick(&feeds, twin.clock.is_live()) else {
        return;
    };
    let (values, unplaced) = sensor_values(picture, &markers.ids, settings.sensor_metric);
    let ramp = Ramp::for_metric(settings.sensor_metric);
    let next: Vec<[f32; 4]> = values
        .iter()
        .map(|v| match (v, &ramp) {
            (Some((v, _)), Some(r)) => linear(r.colour(*v), 1.0),
            _ => linear(NO_VALUE_COLOUR, 1.0),
        })
        .collect();
    if next != colours.colours {
        colours.colours = next;
    }
    if values != markers.values {
        markers.values = values;
    }
    if unplaced != markers.unplaced {
        markers.unplaced = unplaced;
    }
}

/// Each placed sensor's value of a metric in a picture (by `ids`), and the ids of sensors
/// with a value of any sensor metric but no position.
pub fn sensor_values(
    picture: &Picture,
    ids: &[String],
    metric: Metric,
) -> (Vec<Option<(f64, Timestamp)>>, BTreeSet<String>) {
    let values = ids
        .iter()
        .map(|id| {
            picture
                .get(&SubjectKey::Sensor(id.clone()), metric)
                .map(|l| (l.value, l.time))
        })
        .collect();
    let mut unplaced = BTreeSet::new();
    for m in SENSOR_METRICS {
        for (key, _) in picture.of_metric(m) {
            if let SubjectKey::Sensor(s) = key
                && ids.binary_search(s).is_err()
            {
                unplaced.insert(s.clone());
            }
        }
    }
    (values, unplaced)
}

/// Draws the requests open at the instant shown (and those closed within a day before it):
/// a slot each in the request colour buffer, open and closed in their colours.
#[allow(clippy::too_many_arguments)]
fn paint_requests(
    mut commands: Commands,
    feeds: Res<LiveFeeds>,
    twin: Res<TwinTime>,
    settings: Res<OverlaySettings>,
    loaded: Res<LoadedCity>,
    points: Option<ResMut<RequestPoints>>,
    colours: Option<ResMut<RequestColours>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<MarkerMaterial>>,
    mut transforms: Query<&mut Transform, With<RequestPoint>>,
    mut look: Local<Option<(Handle<Mesh>, Handle<MarkerMaterial>)>>,
    mut painted: Local<Option<(Timestamp, bool)>>,
) {
    let (Some(mut points), Some(mut colours)) = (points, colours) else {
        return;
    };
    if !repaint_due(
        &mut painted,
        &twin,
        feeds.last_drain.accepted > 0 || settings.is_changed(),
    ) {
        return;
    }
    let at = twin.shown();
    let city = &loaded.0.city;
    let shown: Vec<_> = if settings.show_requests {
        feeds.requests.shown_at(at, CLOSED_SHOWN_MS).collect()
    } else {
        Vec::new()
    };
    let wanted: std::collections::HashSet<u64> = shown.iter().map(|(r, _)| r.id).collect();
    // Free the slots of requests no longer shown.
    let gone: Vec<u64> = points
        .slots
        .keys()
        .filter(|id| !wanted.contains(id))
        .copied()
        .collect();
    let mut next = colours.colours.clone();
    for id in gone {
        if let Some(slot) = points.slots.remove(&id) {
            next[slot as usize] = [0.0; 4];
            points.free.push(slot);
        }
    }
    let (mut open, mut closed, mut not_drawn) = (0, 0, 0);
    for (r, state) in &shown {
        let slot = match points.slots.get(&r.id) {
            Some(s) => *s,
            None => {
                let slot = match points.free.pop() {
                    Some(s) => s,
                    None if points.entities.len() < MAX_REQUEST_POINTS => {
                        let (mesh, material) = look
                            .get_or_insert_with(|| {
                                (
                                    meshes.add(
                                        Cylinder::new(REQUEST_RADIUS_M, REQUEST_HEIGHT_M)
                                            .mesh()
                                            .resolution(MARKER_RESOLUTION),
                                    ),
                                    materials.add(MarkerMaterial {
                                        colours: colours.buffer.clone(),
                                    }),
                                )
                            })
                            .clone();
                        let slot = points.entities.len() as u32;
                        let e = commands
                            .spawn((
                                Name::new(format!("service request point {slot}")),
                                RequestPoint(slot),
                                MeshTag(slot),
                                Mesh3d(mesh),
                                MeshMaterial3d(material),
                                Transform::default(),
                                Visibility::Visible,
                                DespawnOnExit(AppState::Ready),
                            ))
                            .id();
                        points.entities.push(e);
                        slot
                    }
                    None => {
                        not_drawn += 1;
                        continue;
                    }
                };
                points.slots.insert(r.id, slot);
                let [east, north] = city.origin.local(geo_types::Coord {
                    x: r.at[0],
                    y: r.at[1],
                });
                let place = Transform::from_xyz(east, REQUEST_HEIGHT_M / 2.0, -north);
                let e = points.entities[slot as usize];
                match transforms.get_mut(e) {
                    Ok(mut t) => *t = place,
                    // Spawned this frame: the command above has not run yet.
                    Err(_) => {
                        commands.entity(e).insert(place);
                    }
                }
                slot
            }
        };
        let c = match state {
            RequestState::Closed => {
                closed += 1;
                REQUEST_CLOSED_COLOUR
            }
            _ => {
                open += 1;
                REQUEST_OPEN_COLOUR
            }
        };
        next[slot as usize] = linear(c, 1.0);
    }
    if next != colours.colours {
        colours.colours = next;
    }
    points.open = open;
    points.closed = closed;
    points.not_drawn = not_drawn;
}

/// Where the primary button went down over the 3D view.
#[derive(Debug, Default)]
struct Press {
    at: Option<Vec2>,
}

/// What a click at a window position hits: a sensor marker (within [`PICK_RADIUS_PX`] on
/// screen), else (when no building is under the pointer) a shown road within that many
/// pixels on the ground, else the zone under the pointer when zones are shown.
#[allow(clippy::too_many_arguments)]
fn feature_at(
    city: &CityModel,
    camera: &Camera,
    transform: &GlobalTransform,
    pos: Vec2,
    sensors: Option<&SensorMarkers>,
    building_hit: bool,
    road_shown: impl Fn(RoadId) -> bool,
    zones_shown: bool,
) -> Option<MapFeature> {
    if let Some(s) = sensors {
        let screen: Vec<[f64; 2]> = s
            .positions
            .iter()
            .map(|p| {
                let [east, north] = city.origin.local(geo_types::Coord { x: p[0], y: p[1] });
                let top = Vec3::new(east, SENSOR_HEIGHT_M, -north);
                camera
                    .world_to_viewport(transform, top)
                    .map_or([f64::NAN; 2], |v| [f64::from(v.x), f64::from(v.y)])
            })
            .collect();
        let p = [f64::from(pos.x), f64::from(pos.y)];
        if let Some((i, _)) = nearest_point(screen, p, f64::from(PICK_RADIUS_PX)) {
            return Some(MapFeature::Sensor(s.ids[i].clone()));
        }
    }
    if building_hit {
        return None;
    }
    let ground = |pos: Vec2| {
        let ray = camera.viewport_to_world(transform, pos).ok()?;
        ray_ground(
            from_render_point(&city.origin, ray.origin.as_dvec3().to_array()),
            from_render_dir(ray.direction.as_dvec3().to_array()),
        )
    };
    let g = ground(pos)?;
    let tolerance = ground(pos + Vec2::new(PICK_RADIUS_PX, 0.0))
        .map_or(f64::from(PICK_RADIUS_PX), |h| (h[0] - g[0]).hypot(h[1] - g[1]));
    if let Some((road, _)) = nearest_road(city, g, tolerance, road_shown) {
        return Some(MapFeature::Road(road));
    }
    if zones_shown {
        return zone_at(city, g).map(MapFeature::Zone);
    }
    None
}

/// On a click over the 3D view, selects the sensor, road or zone under the pointer (or
/// nothing); Escape clears the selection.
#[allow(clippy::too_many_arguments)]
fn pick_feature(
    loaded: Res<LoadedCity>,
    window: Query<&Window, With<PrimaryWindow>>,
    cameras: Query<(&Camera, &GlobalTransform), With<CameraRig>>,
    buttons: Option<Res<ButtonInput<MouseButton>>>,
    keys: Option<Res<ButtonInput<KeyCode>>>,
    egui: Option<Res<EguiWantsInput>>,
    covered: Option<Res<UiCovered>>,
    hovered: Option<Res<HoveredBuilding>>,
    sensors: Option<Res<SensorMarkers>>,
    settings: Res<OverlaySettings>,
    tiles: Query<(&GroundTileEntity, &LayerEntity, &Visibility)>,
    mut press: Local<Press>,
    mut selected: ResMut<SelectedFeature>,
) {
    let keyboard_on_ui = egui.as_ref().is_some_and(|e| e.wants_any_keyboard_input());
    if keys.is_some_and(|k| k.just_pressed(KeyCode::Escape)) && !keyboard_on_ui {
        selected.set_if_neq(SelectedFeature(None));
    }
    let Some(buttons) = buttons else { return };
    let cursor = window.single().ok().and_then(Window::cursor_position);
    let on_ui = egui.as_ref().is_some_and(|e| e.wants_any_pointer_input())
        || matches!((cursor, &covered), (Some(p), Some(c)) if c.contains(p));
    if buttons.just_pressed(MouseButton::Left) {
        press.at = if on_ui { None } else { cursor };
    }
    if let (Some(start), Some(now)) = (press.at, cursor)
        && start.distance(now) > CLICK_SLOP_PX
    {
        press.at = None;
    }
    if !buttons.just_released(MouseButton::Left) {
        if !buttons.pressed(MouseButton::Left) {
            press.at = None;
        }
        return;
    }
    let (Some(_), Some(pos), false) = (press.at.take(), cursor, on_ui) else {
        return;
    };
    let city = &loaded.0.city;
    let mut roads_shown = vec![false; city.layers.len() + 1];
    let mut zones_shown = false;
    for (tile, layer, vis) in &tiles {
        if *vis == Visibility::Hidden {
            continue;
        }
        match tile.set {
            FeatureSet::Roads => {
                if let Some(s) = roads_shown.get_mut(layer.index) {
                    *s = true;
                }
            }
            FeatureSet::Zones => zones_shown = true,
            FeatureSet::Areas => {}
        }
    }
    let road_shown = |r: RoadId| {
        city.roads
            .get(r.0 as usize)
            .is_some_and(|road| roads_shown.get(road.layer.0 as usize).copied().unwrap_or(false))
    };
    let building_hit = hovered.is_some_and(|h| h.0.is_some());
    let sensors = sensors.as_deref().filter(|_| settings.show_sensors);
    let hit = cameras.iter().find_map(|(camera, transform)| {
        feature_at(
            city,
            camera,
            transform,
            pos,
            sensors,
            building_hit,
            road_shown,
            zones_shown,
        )
    });
    selected.set_if_neq(SelectedFeature(hit));
}

/// Fills [`FeatureChart`] with the selected sensor's, road's or zone's recent values up to
/// the instant shown: from memory when live, from the history in the past.
fn refresh_chart(
    selected: Res<SelectedFeature>,
    twin: Res<TwinTime>,
    feeds: Option<Res<LiveFeeds>>,
    mut chart: ResMut<FeatureChart>,
    mut last: Local<Option<Instant>>,
) {
    let Some(feature) = selected.0.clone() else {
        if chart.feature.is_some() {
            *chart = FeatureChart::default();
        }
        return;
    };
    let at = twin.shown();
    let live = twin.clock.is_live();
    let due = chart.feature.as_ref() != Some(&feature)
        || chart.at.is_none_or(|t| {
            if live {
                last.is_none_or(|l| l.elapsed().as_secs_f64() >= CHART_EVERY_S)
            } else {
                (t.0 - at.0).abs() >= REPAINT_STEP_MS
            }
        });
    if !due {
        return;
    }
    *last = Some(Instant::now());
    let key = feature.key();
    let from = at.plus_ms(-CHART_SPAN_MS);
    let reader = feeds.as_ref().and_then(|f| f.history.as_ref());
    let lines = match (&feeds, reader) {
        // In the past: asked of the history's thread; the chart fills when it answers.
        (Some(_), Some(h)) if !live => {
            h.ask(
                Lane::Chart,
                ReadRequest::Series {
                    key,
                    metrics: feature.metrics().to_vec(),
                    from,
                    to: at,
                },
            );
            chart.feature = Some(feature);
            chart.at = Some(at);
            return;
        }
        _ => feature
            .metrics()
            .iter()
            .map(|&m| {
                let points = feeds
                    .as_ref()
                    .map_or_else(Vec::new, |f| series(&f.recent, &key, m, from, at));
                (m, points)
            })
            .collect(),
    };
    let sources = chart_sources(feeds.as_deref(), &key);
    *chart = FeatureChart {
        feature: Some(feature),
        at: Some(at),
        lines,
        sources,
    };
}

/// The kinds of feed that reported on a subject in the recent window.
fn chart_sources(feeds: Option<&LiveFeeds>, key: &SubjectKey) -> crate::twin::feeds::provenance::SourceKinds {
    feeds.map_or(Default::default(), |f| {
        f.kinds.kinds_of(
            f.recent
                .iter()
                .filter(|o| crate::twin::overlay::is_subject(o, key)),
        )
    })
}

/// Fills the chart with the history's answer when it comes (for the feature and instant
/// asked last; an answer for an earlier one is dropped by the reader).
fn take_chart_answer(feeds: Option<Res<LiveFeeds>>, mut chart: ResMut<FeatureChart>) {
    let Some(f) = feeds.as_deref() else { return };
    let Some(reply) = f.history.as_ref().and_then(|h| h.take(Lane::Chart)) else {
        return;
    };
    let ReadRequest::Series { key, to, .. } = &reply.request else {
        return;
    };
    if chart.feature.as_ref().map(MapFeature::key).as_ref() != Some(key) || chart.at != Some(*to) {
        return;
    }
    match reply.answer {
        Ok(ReadAnswer::Series(lines)) => {
            chart.lines = lines;
            chart.sources = chart_sources(Some(f), key);
        }
        Ok(_) => {}
        Err(e) => warn!("history: chart not read: {e}"),
    }
}

/// Fills [`ZoneValues`] for the selected zone from the latest evaluation.
fn refresh_zone_values(
    selected: Res<SelectedFeature>,
    dash: Res<Dashboard>,
    engine: Res<IndicatorEngine>,
    mut values: ResMut<ZoneValues>,
) {
    let zone = match &selected.0 {
        Some(MapFeature::Zone(z)) => *z,
        _ => {
            if values.0.is_some() {
                values.0 = None;
            }
            return;
        }
    };
    let current = values.0.as_ref().map(|(z, _)| *z);
    if current == Some(zone) && !dash.is_changed() && !selected.is_changed() {
        return;
    }
    values.0 = dash
        .eval
        .as_ref()
        .and_then(|eval| zone_values(&engine.0.ctx.catalogue, eval, zone))
        .map(|rows| (zone, rows));
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use bevy::state::app::StatesPlugin;

    use super::*;
    use crate::app::dashboard::{DashboardPlugin, IndicatorFeedInputs};
    use crate::app::feeds::FeedsPlugin;
    use crate::app::ground_view::GroundViewPlugin;
    use crate::twin::feeds::live::LiveState;
    use crate::twin::feeds::runtime::RunningFeeds;
    use crate::twin::feeds::source::{FeedSender, feed_channel};
    use crate::twin::feeds::validate::Validator;
    use crate::twin::feeds::{Observation, SourceId, Subject};

    /// Longest a test waits for a frame to show what was sent.
    const WAIT: Duration = Duration::from_secs(10);

    /// Two sensors of the test feed, near the tiny city's corner (scene CRS offsets).
    const SENSORS: [(&str, [f64; 2]); 2] = [("aq-a", [5.0, 5.0]), ("aq-b", [-40.0, 0.0])];

    /// [`live_app_as`] a role cleared for personal data.
    fn live_app() -> (App, FeedSender) {
        live_app_as("staff")
    }

    /// The tiny city with a hand-driven feed channel (as a source would send on), the
    /// ground, the feeds, the dashboard and the overlays, running as `role` of the default
    /// roles, run until the sensor markers exist.
    fn live_app_as(role: &str) -> (App, FeedSender) {
        let loaded = crate::app::outline::tests::tiny_loaded_scene();
        let city = &loaded.city;
        let (channel, receiver) = feed_channel(1_024);
        let source = SourceId("test".into());
        let mut live = LiveState::new(Validator::for_city(city), None);
        live.register(&source, 60.0);
        let o = city.origin;
        let feeds = LiveFeeds {
            running: RunningFeeds {
                receiver,
                handles: Vec::new(),
                live,
                history_error: None,
            },
            history: None,
            sensors: SENSORS
                .iter()
                .map(|(id, p)| (id.to_string(), [o.x + p[0], o.y + p[1]]))
                .collect(),
            recent: Default::default(),
            last_drain: Default::default(),
            newest: None,
            requests: Default::default(),
            kinds: Default::default(),
        };
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, AssetPlugin::default(), StatesPlugin))
            .init_asset::<Mesh>()
            .init_asset::<StandardMaterial>()
            .init_state::<AppState>()
            .init_resource::<TwinTime>()
            .init_resource::<IndicatorFeedInputs>()
            .add_plugins((GroundViewPlugin, FeedsPlugin, DashboardPlugin, OverlaysPlugin))
            .insert_resource(SceneAccess {
                role: loaded.scene.roles.role(Some(role)).expect("a default role"),
                withheld: Default::default(),
                catalogue: Vec::new(),
                attributions: Vec::new(),
            })
            .insert_resource(LoadedCity(Arc::new(loaded)));
        app.world_mut()
            .resource_mut::<NextState<AppState>>()
            .set(AppState::Ready);
        app.update();
        app.insert_resource(feeds);
        let start = Instant::now();
        while !app.world().contains_resource::<SensorMarkers>() && start.elapsed() < WAIT {
            app.update();
        }
        assert!(
            app.world().contains_resource::<SensorMarkers>(),
            "no sensor markers"
        );
        (app, channel.sender(&source))
    }

    /// Sends observations through the feed channel and runs a frame.
    fn send(app: &mut App, tx: &FeedSender, batch: Vec<Observation>) {
        assert!(tx.batch(batch));
        app.update();
    }

    /// Runs frames until `done` or the timeout.
    fn until(app: &mut App, done: impl Fn(&World) -> bool) -> bool {
        let start = Instant::now();
        loop {
            app.update();
            if done(app.world()) {
                return true;
            }
            if start.elapsed() > WAIT {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn obs(subject: Subject, metric: Metric, value: f64, time: Timestamp) -> Observation {
        Observation::new(&SourceId("sim".into()), subject, metric, value, time)
    }

    #[test]
    fn a_sensor_observation_recolours_its_marker() {
        let (mut app, tx) = live_app();
        let markers = app.world().resource::<SensorMarkers>().clone();
        assert_eq!(markers.ids, vec!["aq-a".to_string(), "aq-b".to_string()]);
        let world = app.world_mut();
        let tags: Vec<u32> = world
            .query_filtered::<&MeshTag, With<SensorMarker>>()
            .iter(world)
            .map(|t| t.0)
            .collect();
        assert_eq!(tags.len(), markers.ids.len());
        let id = markers.ids[0].clone();
        let ramp = Ramp::for_metric(Metric::Pm25).unwrap();
        let no_value = linear(NO_VALUE_COLOUR, 1.0);
        assert_eq!(app.world().resource::<SensorColours>().colours, vec![no_value; 2]);
        let t = Timestamp::now();
        send(
            &mut app,
            &tx,
            vec![obs(Subject::Sensor(id.clone()), Metric::Pm25, 90.0, t)],
        );
        let want = linear(ramp.colour(90.0), 1.0);
        assert!(
            until(&mut app, |w| w.resource::<SensorColours>().colours[0] == want),
            "marker colour {:?}, want {want:?}",
            app.world().resource::<SensorColours>().colours[0]
        );
        assert_eq!(app.world().resource::<SensorMarkers>().values[0], Some((90.0, t)));
        assert_eq!(app.world().resource::<SensorColours>().colours[1], no_value);
        // A sensor without a position is counted, not drawn.
        send(
            &mut app,
            &tx,
            vec![obs(Subject::Sensor("nowhere".into()), Metric::No2, 9.0, t)],
        );
        assert!(until(&mut app, |w| w
            .resource::<SensorMarkers>()
            .unplaced
            .contains("nowhere")));
        // Another metric chosen: the marker follows it.
        send(
            &mut app,
            &tx,
            vec![obs(Subject::Sensor(id.clone()), Metric::Noise, 40.0, t)],
        );
        app.world_mut().resource_mut::<OverlaySettings>().sensor_metric = Metric::Noise;
        let quiet = linear(Ramp::for_metric(Metric::Noise).unwrap().colour(40.0), 1.0);
        assert!(until(&mut app, |w| w.resource::<SensorColours>().colours[0] == quiet));
        // A click on the sensor charts its recent values.
        app.world_mut().resource_mut::<SelectedFeature>().0 = Some(MapFeature::Sensor(id));
        app.update();
        let chart = app.world().resource::<FeatureChart>();
        let line = |m: Metric| chart.lines.iter().find(|(x, _)| *x == m).map(|(_, l)| l.clone());
        assert_eq!(line(Metric::Pm25), Some(vec![(t, 90.0)]));
        assert_eq!(line(Metric::Noise), Some(vec![(t, 40.0)]));
        assert_eq!(line(Metric::No2), Some(vec![]));
    }

    #[test]
    fn a_closed_request_changes_its_point_colour() {
        let (mut app, tx) = live_app();
        let origin = app.world().resource::<LoadedCity>().0.city.origin;
        let at = Subject::Point {
            x: origin.x + 10.0,
            y: origin.y + 20.0,
        };
        let t = Timestamp::now();
        let mut opened = obs(at.clone(), Metric::ServiceRequestOpened, 1.0, t);
        opened.detail = "request=900001;category=waste".into();
        send(&mut app, &tx, vec![opened]);
        let open = linear(REQUEST_OPEN_COLOUR, 1.0);
        let slot_of = |w: &World| w.resource::<RequestPoints>().slots.get(&900_001).copied();
        assert!(until(&mut app, |w| slot_of(w)
            .is_some_and(
                |s| w.resource::<RequestColours>().colours[s as usize] == open
            )));
        let slot = slot_of(app.world()).unwrap();
        let mut closed = obs(at, Metric::ServiceRequestClosed, 0.0, t);
        closed.detail = "request=900001;category=waste".into();
        send(&mut app, &tx, vec![closed]);
        let done = linear(REQUEST_CLOSED_COLOUR, 1.0);
        assert!(until(&mut app, |w| w.resource::<RequestColours>().colours
            [slot as usize]
            == done));
        // The point stands where the request is.
        let world = app.world_mut();
        let place = world
            .query::<(&RequestPoint, &Transform)>()
            .iter(world)
            .find(|(p, _)| p.0 == slot)
            .map(|(_, t)| t.translation)
            .expect("the slot's point exists");
        assert_eq!((place.x, place.z), (10.0, -20.0));
        let points = app.world().resource::<RequestPoints>();
        assert_eq!((points.open, points.closed), (0, 1));
        // Hidden requests free their slots.
        app.world_mut().resource_mut::<OverlaySettings>().show_requests = false;
        assert!(until(&mut app, |w| w.resource::<RequestColours>().colours
            [slot as usize][3]
            == 0.0));
    }

    /// Service requests opened around two cell centres: `n` around each `(centre, n)`,
    /// every one with an address in its detail; ids from `first_id`.
    fn requests_around(cells: &[([f64; 2], usize)], first_id: u64, t: Timestamp) -> Vec<Observation> {
        let mut out = Vec::new();
        let mut id = first_id;
        for (c, n) in cells {
            for j in 0..*n {
                let at = Subject::Point {
                    x: c[0] + 4.0 * j as f64,
                    y: c[1] - 3.0 * j as f64,
                };
                let mut o = obs(at, Metric::ServiceRequestOpened, 1.0, t);
                o.detail = format!("request={id};category=noise;address=Testikatu {id}");
                out.push(o);
                id += 1;
            }
        }
        out
    }

    #[test]
    fn public_sees_requests_only_as_cells_of_at_least_k() {
        let (mut app, tx) = live_app_as("public");
        let loaded = app.world().resource::<LoadedCity>().0.clone();
        let grid = loaded.scene.roles.grid();
        let k = loaded.scene.roles.k_anonymity;
        assert_eq!(k, crate::twin::access::DEFAULT_K_ANONYMITY);
        let (q, r) = grid.cell_of(loaded.city.origin.x, loaded.city.origin.y);
        let (few, many) = (grid.centre(q, r), grid.centre(q + 1, r));
        let t = Timestamp::now();
        send(&mut app, &tx, requests_around(&[(few, 3), (many, 7)], 1, t));
        assert!(
            until(&mut app, |w| w.resource::<RequestCells>().suppressed_cells == 1),
            "the cells were not counted"
        );
        let cells = app.world().resource::<RequestCells>().clone();
        let at = |qr: (i64, i64)| cells.map.index_of(qr).expect("the cell is on the map");
        assert_eq!(cells.counts[at((q + 1, r))], 7);
        assert_eq!(cells.counts[at((q, r))], 0, "a cell under k counted");
        assert_eq!((cells.shown_cells, cells.shown_records), (1, 7));
        // Only the cell of 7 is drawn, in its count's colour.
        let colours = app.world().resource::<RequestCellColours>().colours.clone();
        assert_eq!(colours.len(), cells.map.len());
        let drawn: Vec<usize> = (0..colours.len()).filter(|&i| colours[i][3] > 0.0).collect();
        assert_eq!(drawn, vec![at((q + 1, r))]);
        assert_eq!(
            colours[at((q + 1, r))],
            linear(cells.ramp.colour(7.0), REQUEST_CELL_ALPHA)
        );
        // No request is drawn as a point: no point, no point colour buffer.
        let world = app.world_mut();
        assert_eq!(world.query::<&RequestPoint>().iter(world).count(), 0);
        assert!(!world.contains_resource::<RequestColours>());
        assert!(!world.contains_resource::<RequestPoints>());
        // One mesh draws every cell, each vertex carrying its cell's index.
        let mesh = world
            .query_filtered::<&Mesh3d, With<RequestCellsTile>>()
            .single(world)
            .expect("one request cells entity")
            .0
            .clone();
        let mesh = world.resource::<Assets<Mesh>>().get(&mesh).expect("mesh added");
        let Some(bevy::mesh::VertexAttributeValues::Uint32(ix)) =
            mesh.attribute(crate::app::ground_view::ATTRIBUTE_FEATURE_INDEX)
        else {
            panic!("no feature index attribute");
        };
        let mut seen: Vec<u32> = ix.clone();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen, (0..cells.map.len() as u32).collect::<Vec<_>>());
        // Two more requests bring the small cell to k: it shows.
        send(&mut app, &tx, requests_around(&[(few, 2)], 100, t));
        assert!(until(&mut app, |w| w.resource::<RequestCells>().shown_cells == 2));
        let cells = app.world().resource::<RequestCells>();
        assert_eq!(cells.counts[at((q, r))], k);
        assert_eq!((cells.suppressed_cells, cells.shown_records), (0, 12));
        // Requests hidden: no cell drawn.
        app.world_mut().resource_mut::<OverlaySettings>().show_requests = false;
        assert!(until(&mut app, |w| w
            .resource::<RequestCellColours>()
            .colours
            .iter()
            .all(|c| c[3] == 0.0)));
    }

    #[test]
    fn a_role_cleared_for_personal_data_sees_each_request() {
        let (mut app, tx) = live_app_as("staff");
        let loaded = app.world().resource::<LoadedCity>().0.clone();
        let grid = loaded.scene.roles.grid();
        let (q, r) = grid.cell_of(loaded.city.origin.x, loaded.city.origin.y);
        let t = Timestamp::now();
        let batch = requests_around(&[(grid.centre(q, r), 3), (grid.centre(q + 1, r), 7)], 1, t);
        send(&mut app, &tx, batch);
        assert!(until(&mut app, |w| w.resource::<RequestPoints>().slots.len() == 10));
        let open = linear(REQUEST_OPEN_COLOUR, 1.0);
        let points = app.world().resource::<RequestPoints>();
        let colours = &app.world().resource::<RequestColours>().colours;
        assert!(points.slots.values().all(|&s| colours[s as usize] == open));
        assert_eq!(points.open, 10);
        let world = app.world_mut();
        assert!(!world.contains_resource::<RequestCells>());
        assert_eq!(world.query::<&RequestCellsTile>().iter(world).count(), 0);
        // Without a resolved role, requests are aggregated (least privilege).
        assert!(!requests_individually(None));
        assert!(requests_individually(world.get_resource::<SceneAccess>()));
    }

    #[test]
    fn request_cells_lie_between_zones_and_roads() {
        let lowest_road = crate::twin::ground::road_lift_m("footway");
        assert!(lowest_road > REQUEST_CELL_LIFT_M && REQUEST_CELL_LIFT_M > crate::twin::ground::ZONE_LIFT_M);
    }

    #[test]
    fn zone_load_and_zone_click_fill_their_resources() {
        let (mut app, tx) = live_app();
        let zones = app.world().resource::<LoadedCity>().0.city.zones.len();
        assert!(zones > 0);
        let t = Timestamp::now();
        send(
            &mut app,
            &tx,
            vec![obs(
                Subject::Zone(ZoneId(0)),
                Metric::ElectricityLoad,
                123_456.0,
                t,
            )],
        );
        {
            let world = app.world_mut();
            let (mut settings, mut dash) = (
                world.remove_resource::<OverlaySettings>().unwrap(),
                world.remove_resource::<Dashboard>().unwrap(),
            );
            settings.set_zones_by(ZonesBy::Load, &mut dash);
            world.insert_resource(settings);
            world.insert_resource(dash);
        }
        assert!(until(&mut app, |w| w.resource::<ZoneLoads>().kw[0] == Some(123_456.0)));
        app.update();
        let loads = app.world().resource::<ZoneLoads>().clone();
        let want = load_colours(&loads.per_ha, loads.ramp.as_ref());
        assert_eq!(app.world().resource::<ZoneColours>().colours, want);
        assert!((want[0][3] - LOAD_ALPHA).abs() < 1e-6);

        // A zone clicked: its indicator values, and its load chart.
        app.world_mut().resource_mut::<SelectedFeature>().0 = Some(MapFeature::Zone(ZoneId(0)));
        assert!(until(&mut app, |w| w.resource::<ZoneValues>().0.is_some()));
        let (zone, rows) = app.world().resource::<ZoneValues>().0.clone().unwrap();
        assert_eq!(zone, ZoneId(0));
        let n = app
            .world()
            .resource::<IndicatorEngine>()
            .0
            .ctx
            .catalogue
            .indicators
            .len();
        assert_eq!(rows.len(), n);
        let chart = app.world().resource::<FeatureChart>();
        assert_eq!(chart.feature, Some(MapFeature::Zone(ZoneId(0))));
        let load = &chart
            .lines
            .iter()
            .find(|(m, _)| *m == Metric::ElectricityLoad)
            .unwrap()
            .1;
        assert!(load.contains(&(t, 123_456.0)), "{load:?}");
        // Back to nothing: the zones' own colours.
        app.world_mut().resource_mut::<OverlaySettings>().zones_by = ZonesBy::None;
        app.update();
        let loaded = app.world().resource::<LoadedCity>().0.clone();
        assert_eq!(
            app.world().resource::<ZoneColours>().colours,
            initial_zone_colours(&loaded.city, &loaded.scene)
        );
        app.world_mut().resource_mut::<SelectedFeature>().0 = None;
        app.update();
        assert!(app.world().resource::<ZoneValues>().0.is_none());
    }

    #[test]
    fn sensor_values_find_placed_and_unplaced_sensors() {
        let mut p = Picture::default();
        let o = obs(Subject::Sensor("b".into()), Metric::Pm25, 5.0, Timestamp(7));
        p.apply(SubjectKey::of(&o), &o);
        let o2 = obs(Subject::Sensor("z".into()), Metric::Noise, 50.0, Timestamp(8));
        p.apply(SubjectKey::of(&o2), &o2);
        let ids = vec!["a".to_string(), "b".to_string()];
        let (values, unplaced) = sensor_values(&p, &ids, Metric::Pm25);
        assert_eq!(values, vec![None, Some((5.0, Timestamp(7)))]);
        assert_eq!(unplaced.into_iter().collect::<Vec<_>>(), vec!["z".to_string()]);
    }
}
