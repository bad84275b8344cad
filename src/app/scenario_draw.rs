//! The scenario's map tools: drawing a building footprint or a park on the ground (click
//! the vertices, close the ring by clicking the first one again or pressing Enter;
//! Backspace takes the last vertex back, Escape drops the tool), placing a transit stop,
//! drawing a transit line through stops (Enter finishes it), and picking roads (Shift+click
//! for more). A vertex whose edge would cross an earlier edge is refused with a
//! message, so a drawn ring is never self-intersecting. What a tool finishes goes out as a
//! [`ToolOutput`] message for the scenario to turn into an edit. While a tool is active,
//! clicks no longer select buildings ([`PickingPaused`]).

use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::input::EguiWantsInput;
use geo::{Distance, Euclidean, Intersects};
use geo_types::{Coord, Line, Point};
use thiserror::Error;

use crate::app::camera::CameraRig;
use crate::app::i18n::CurrentLang;
use crate::app::loading::LoadedCity;
use crate::app::picking::PickingPaused;
use crate::app::ui::UiCovered;
use crate::app::{AppState, AppSystems};
use crate::twin::city::{CityModel, RoadId};
use crate::twin::crs::SceneOrigin;
use crate::twin::i18n::{Lang, tr, tr_args};
use crate::twin::picking::{from_render_point, to_render_point};

/// Farthest the pointer may move between press and release for a click, logical pixels.
const CLICK_SLOP_PX: f32 = 4.0;
/// A click this close to the first vertex (logical pixels) closes the ring.
const CLOSE_RING_PX: f32 = 12.0;
/// Vertices closer than this to the previous one are ignored as double clicks, metres.
const MIN_VERTEX_GAP_M: f64 = 0.5;
/// A road click must land this close to a road's centre line, metres.
pub const ROAD_PICK_M: f64 = 20.0;
/// Height above the ground the drawing preview is drawn at, metres.
const PREVIEW_LIFT_M: f32 = 0.6;
/// Radius of the vertex markers of the preview, metres.
const VERTEX_MARKER_M: f32 = 1.5;
/// Colour of the drawing preview.
const PREVIEW_COLOUR: Color = Color::srgb(0.2, 0.85, 1.0);
/// Colour of a preview edge that would cross an earlier one.
const REFUSED_COLOUR: Color = Color::srgb(1.0, 0.25, 0.2);
/// Colour of the picked road.
const ROAD_COLOUR: Color = Color::srgb(1.0, 0.78, 0.12);
/// Height above the ground the picked road is drawn at, metres.
const ROAD_LIFT_M: f32 = 1.0;

/// The map tool in use.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ActiveTool {
    /// No tool: clicks select buildings.
    #[default]
    Select,
    /// Drawing a new building's footprint.
    Footprint,
    /// Drawing a park.
    Park,
    /// Placing a transit stop.
    Stop,
    /// Drawing a transit line through stops.
    Line,
    /// Picking a road.
    Road,
}

impl ActiveTool {
    /// True for the tools that draw a ring.
    pub fn draws_ring(self) -> bool {
        matches!(self, ActiveTool::Footprint | ActiveTool::Park)
    }

    /// True for the tools that click a series of points (rings and lines).
    pub fn draws_points(self) -> bool {
        self.draws_ring() || self == ActiveTool::Line
    }

    /// What the tool asks of the user, for the status line, in `lang`.
    pub fn hint(self, lang: Lang) -> String {
        match self {
            ActiveTool::Select => tr(lang, "tool-hint-select"),
            ActiveTool::Footprint | ActiveTool::Park => tr(lang, "tool-hint-ring"),
            ActiveTool::Stop => tr(lang, "tool-hint-stop"),
            ActiveTool::Line => tr(lang, "tool-hint-line"),
            ActiveTool::Road => tr(lang, "tool-hint-road"),
        }
    }
}

/// What a finished tool produces (scene CRS coordinates).
#[derive(Message, Debug, Clone, PartialEq)]
pub enum ToolOutput {
    /// A closed, simple ring from [`ActiveTool::Footprint`] or [`ActiveTool::Park`]
    /// (first vertex not repeated at the end).
    Ring {
        /// The tool that drew it.
        tool: ActiveTool,
        /// The vertices, in drawing order.
        ring: Vec<[f64; 2]>,
    },
    /// A point placed with [`ActiveTool::Stop`].
    Point([f64; 2]),
    /// The stops of a line drawn with [`ActiveTool::Line`], in order.
    Line(Vec<[f64; 2]>),
    /// A road picked with [`ActiveTool::Road`] (also in [`PickedRoads`]).
    Road(RoadId),
}

/// The roads picked with the road tool (a click replaces them, Shift+click adds or
/// removes one).
#[derive(Resource, Debug, Clone, Default, PartialEq, Eq)]
pub struct PickedRoads(pub Vec<RoadId>);

impl PickedRoads {
    /// Picks a road: alone, or (`add`) toggled in the list.
    pub fn pick(&mut self, road: RoadId, add: bool) {
        if !add {
            self.0 = vec![road];
        } else if let Some(i) = self.0.iter().position(|r| *r == road) {
            self.0.remove(i);
        } else {
            self.0.push(road);
        }
    }
}

/// Why a vertex or a ring was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DrawRefusal {
    /// The new edge would cross an earlier edge of the ring.
    #[error("refused: the edge to corner {vertex} would cross edge {edge} (a ring may not cross itself)")]
    Crossing {
        /// The corner being added (1-based), or the first corner when closing.
        vertex: usize,
        /// The earlier edge it crosses (1-based: edge k runs from corner k to k+1).
        edge: usize,
    },
    /// Too few corners to close.
    #[error("refused: a ring needs at least 3 corners, it has {0}")]
    TooFewCorners(usize),
    /// Too few stops for a line.
    #[error("refused: a line needs at least 2 stops, it has {0}")]
    TooFewStops(usize),
    /// A coordinate was not finite.
    #[error("refused: the point is not on the ground")]
    NotFinite,
}

impl DrawRefusal {
    /// The refusal in `lang`, for the screen.
    pub fn describe(&self, lang: Lang) -> String {
        match self {
            DrawRefusal::Crossing { vertex, edge } => tr_args(
                lang,
                "draw-crossing",
                &[
                    ("vertex", vertex.to_string().into()),
                    ("edge", edge.to_string().into()),
                ],
            ),
            DrawRefusal::TooFewCorners(n) => tr_args(lang, "draw-too-few-corners", &[("count", (*n).into())]),
            DrawRefusal::TooFewStops(n) => tr_args(lang, "draw-too-few-stops", &[("count", (*n).into())]),
            DrawRefusal::NotFinite => tr(lang, "draw-not-on-ground"),
        }
    }
}

/// The ring being drawn, the ground point under the cursor, and the last message.
#[derive(Resource, Debug, Clone, Default, PartialEq)]
pub struct Drawing {
    /// Corners so far, scene CRS.
    pub vertices: Vec<[f64; 2]>,
    /// The ground point under the cursor, scene CRS.
    pub cursor: Option<[f64; 2]>,
    /// The last refusal or notice, shown on screen until the next action.
    pub message: Option<String>,
}

/// A segment between two corners.
fn line(a: [f64; 2], b: [f64; 2]) -> Line<f64> {
    Line::new(Coord { x: a[0], y: a[1] }, Coord { x: b[0], y: b[1] })
}

impl Drawing {
    /// The first earlier edge (0-based) that a new edge from the last corner to `p` would
    /// cross, leaving out the edge it shares a corner with; `skip_first` also leaves out
    /// edge 0 (when closing, the closing edge shares the first corner with it).
    fn crossing(&self, p: [f64; 2], skip_first: bool) -> Option<usize> {
        let n = self.vertices.len();
        if n < 3 {
            return None;
        }
        let new = line(self.vertices[n - 1], p);
        // Edges 0..n-2 exist; edge n-2 ends at the last corner and is adjacent.
        (usize::from(skip_first)..n - 2)
            .find(|&e| new.intersects(&line(self.vertices[e], self.vertices[e + 1])))
    }

    /// Adds a corner, unless its edge would cross an earlier one. A corner on top of the
    /// last one is ignored (`Ok(false)`).
    pub fn add_vertex(&mut self, p: [f64; 2]) -> Result<bool, DrawRefusal> {
        if !(p[0].is_finite() && p[1].is_finite()) {
            return Err(DrawRefusal::NotFinite);
        }
        if let Some(last) = self.vertices.last()
            && (last[0] - p[0]).hypot(last[1] - p[1]) < MIN_VERTEX_GAP_M
        {
            return Ok(false);
        }
        if let Some(edge) = self.crossing(p, false) {
            return Err(DrawRefusal::Crossing {
                vertex: self.vertices.len() + 1,
                edge: edge + 1,
            });
        }
        self.vertices.push(p);
        Ok(true)
    }

    /// True when an edge from the last corner to `p` would cross an earlier edge.
    pub fn would_cross(&self, p: [f64; 2]) -> bool {
        self.crossing(p, false).is_some()
    }

    /// Closes the ring: its corners, and an empty drawing; refused (the drawing kept) when
    /// there are too few corners or the closing edge would cross another.
    pub fn close(&mut self) -> Result<Vec<[f64; 2]>, DrawRefusal> {
        let n = self.vertices.len();
        if n < 3 {
            return Err(DrawRefusal::TooFewCorners(n));
        }
        if let Some(edge) = self.crossing(self.vertices[0], true) {
            return Err(DrawRefusal::Crossing {
                vertex: 1,
                edge: edge + 1,
            });
        }
        self.message = None;
        Ok(std::mem::take(&mut self.vertices))
    }

    /// Adds a stop of a line (lines may cross themselves). A stop on top of the last one is
    /// ignored (`Ok(false)`).
    pub fn add_stop(&mut self, p: [f64; 2]) -> Result<bool, DrawRefusal> {
        if !(p[0].is_finite() && p[1].is_finite()) {
            return Err(DrawRefusal::NotFinite);
        }
        if let Some(last) = self.vertices.last()
            && (last[0] - p[0]).hypot(last[1] - p[1]) < MIN_VERTEX_GAP_M
        {
            return Ok(false);
        }
        self.vertices.push(p);
        Ok(true)
    }

    /// Finishes a line: its stops, and an empty drawing; refused (kept) with fewer than 2.
    pub fn finish_line(&mut self) -> Result<Vec<[f64; 2]>, DrawRefusal> {
        let n = self.vertices.len();
        if n < 2 {
            return Err(DrawRefusal::TooFewStops(n));
        }
        self.message = None;
        Ok(std::mem::take(&mut self.vertices))
    }

    /// Forgets the ring being drawn.
    pub fn clear(&mut self) {
        self.vertices.clear();
    }
}

/// The nearest road to a scene point within `max_m` metres.
pub fn nearest_road(city: &CityModel, p: [f64; 2], max_m: f64) -> Option<RoadId> {
    let point = Point::new(p[0], p[1]);
    city.roads
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.line.0.is_empty())
        .map(|(i, r)| (i, Euclidean.distance(&point, &r.line)))
        .filter(|(_, d)| d.is_finite() && *d <= max_m)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| RoadId(i as u32))
}

/// A scene point on the ground (height `lift`) in the render frame.
pub fn render_ground_point(origin: &SceneOrigin, p: [f64; 2], lift: f32) -> Vec3 {
    let r = to_render_point(origin, [p[0], p[1], f64::from(lift)]);
    Vec3::new(r[0] as f32, r[1] as f32, r[2] as f32)
}

/// Where a render-frame ray meets the ground (y = 0), in the scene CRS.
pub fn ground_hit(origin: &SceneOrigin, ray: Ray3d) -> Option<[f64; 2]> {
    let d = ray.intersect_plane(Vec3::ZERO, InfinitePlane3d::new(Vec3::Y))?;
    let p = ray.get_point(d).as_dvec3().to_array();
    let s = from_render_point(origin, p);
    Some([s[0], s[1]])
}

/// The map tools: input, and (with gizmos) the preview.
pub struct ScenarioDrawPlugin;

impl Plugin for ScenarioDrawPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<ActiveTool>()
            .init_resource::<Drawing>()
            .init_resource::<PickedRoads>()
            .init_resource::<PickingPaused>()
            .add_message::<ToolOutput>()
            .add_systems(
                Update,
                (
                    pause_picking,
                    tool_keys,
                    tool_mouse.run_if(resource_exists::<LoadedCity>),
                )
                    .chain()
                    .in_set(AppSystems::Ingest)
                    .run_if(in_state(AppState::Ready)),
            );
        if app.is_plugin_added::<bevy::gizmos::GizmoPlugin>() {
            app.add_systems(
                Update,
                draw_preview
                    .in_set(AppSystems::Visuals)
                    .run_if(resource_exists::<LoadedCity>),
            );
        }
    }
}

/// Keeps building picking off while a tool uses the clicks.
fn pause_picking(tool: Res<ActiveTool>, mut paused: ResMut<PickingPaused>) {
    let want = *tool != ActiveTool::Select;
    if paused.0 != want {
        paused.0 = want;
    }
}

/// Closes a ring or finishes a line (or reports why not), sending it on.
pub fn finish_ring(tool: ActiveTool, drawing: &mut Drawing, out: &mut MessageWriter<ToolOutput>, lang: Lang) {
    let done = if tool == ActiveTool::Line {
        drawing.finish_line().map(ToolOutput::Line)
    } else {
        drawing.close().map(|ring| ToolOutput::Ring { tool, ring })
    };
    match done {
        Ok(o) => {
            out.write(o);
        }
        Err(e) => drawing.message = Some(e.describe(lang)),
    }
}

/// Enter closes the ring, Backspace takes the last corner back, Escape drops the tool.
fn tool_keys(
    keys: Option<Res<ButtonInput<KeyCode>>>,
    egui: Option<Res<EguiWantsInput>>,
    mut tool: ResMut<ActiveTool>,
    mut drawing: ResMut<Drawing>,
    mut out: MessageWriter<ToolOutput>,
    lang: Option<Res<CurrentLang>>,
) {
    let lang = lang.map_or(Lang::En, |l| l.0);
    let Some(keys) = keys else { return };
    if egui.is_some_and(|e| e.wants_any_keyboard_input()) || *tool == ActiveTool::Select {
        return;
    }
    if keys.just_pressed(KeyCode::Escape) {
        drawing.clear();
        drawing.message = None;
        *tool = ActiveTool::Select;
        return;
    }
    if !tool.draws_points() {
        return;
    }
    if keys.just_pressed(KeyCode::Enter) || keys.just_pressed(KeyCode::NumpadEnter) {
        finish_ring(*tool, &mut drawing, &mut out, lang);
    } else if keys.just_pressed(KeyCode::Backspace) {
        drawing.vertices.pop();
        drawing.message = None;
    }
}

/// Where the primary button went down over the 3D view, until it moves too far or is released.
#[derive(Debug, Default)]
struct PressState {
    at: Option<Vec2>,
}

/// Tracks the ground point under the cursor and acts on clicks with the active tool.
#[allow(clippy::too_many_arguments)]
fn tool_mouse(
    loaded: Res<LoadedCity>,
    window: Query<&Window, With<PrimaryWindow>>,
    cameras: Query<(&Camera, &GlobalTransform), With<CameraRig>>,
    buttons: Option<Res<ButtonInput<MouseButton>>>,
    egui: Option<Res<EguiWantsInput>>,
    covered: Option<Res<UiCovered>>,
    tool: Res<ActiveTool>,
    mut press: Local<PressState>,
    mut drawing: ResMut<Drawing>,
    keys: Option<Res<ButtonInput<KeyCode>>>,
    mut picked: ResMut<PickedRoads>,
    mut out: MessageWriter<ToolOutput>,
    lang: Option<Res<CurrentLang>>,
) {
    if *tool == ActiveTool::Select {
        return;
    }
    let lang = lang.map_or(Lang::En, |l| l.0);
    let origin = &loaded.0.city.origin;
    let cursor = window.single().ok().and_then(Window::cursor_position);
    let on_ui = egui.as_ref().is_some_and(|e| e.wants_any_pointer_input())
        || matches!((cursor, &covered), (Some(p), Some(c)) if c.contains(p));
    let camera = cameras.iter().next();
    let ground = match (cursor, camera, on_ui) {
        (Some(pos), Some((camera, transform)), false) => camera
            .viewport_to_world(transform, pos)
            .ok()
            .and_then(|ray| ground_hit(origin, ray)),
        _ => None,
    };
    drawing.set_if_neq(Drawing {
        cursor: ground,
        ..drawing.clone()
    });

    let Some(buttons) = buttons else { return };
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
    if press.at.take().is_none() || on_ui {
        return;
    }
    let Some(p) = ground else {
        drawing.message = Some(tr(lang, "draw-click-off-ground"));
        return;
    };
    match *tool {
        ActiveTool::Select => {}
        ActiveTool::Footprint | ActiveTool::Park => {
            // A click by the first corner closes the ring.
            let near_first = drawing.vertices.len() >= 3
                && matches!((camera, cursor), (Some((camera, transform)), Some(c))
                    if camera
                        .world_to_viewport(transform, render_ground_point(origin, drawing.vertices[0], 0.0))
                        .is_ok_and(|s| s.distance(c) <= CLOSE_RING_PX));
            if near_first {
                finish_ring(*tool, &mut drawing, &mut out, lang);
            } else {
                match drawing.add_vertex(p) {
                    Ok(_) => drawing.message = None,
                    Err(e) => drawing.message = Some(e.describe(lang)),
                }
            }
        }
        ActiveTool::Stop => {
            out.write(ToolOutput::Point(p));
        }
        ActiveTool::Line => match drawing.add_stop(p) {
            Ok(_) => drawing.message = None,
            Err(e) => drawing.message = Some(e.describe(lang)),
        },
        ActiveTool::Road => match nearest_road(&loaded.0.city, p, ROAD_PICK_M) {
            Some(road) => {
                let add = keys.is_some_and(|k| k.any_pressed([KeyCode::ShiftLeft, KeyCode::ShiftRight]));
                picked.pick(road, add);
                drawing.message = None;
                out.write(ToolOutput::Road(road));
            }
            None => {
                drawing.message = Some(tr_args(
                    lang,
                    "draw-no-road",
                    &[("metres", format!("{ROAD_PICK_M:.0}").into())],
                ));
            }
        },
    }
}

/// Draws the ring being drawn (with a rubber band to the cursor, red where it would cross)
/// and the picked roads.
fn draw_preview(
    loaded: Res<LoadedCity>,
    tool: Res<ActiveTool>,
    drawing: Res<Drawing>,
    picked: Res<PickedRoads>,
    mut gizmos: Gizmos,
) {
    let city = &loaded.0.city;
    let origin = &city.origin;
    for road in picked.0.iter().filter_map(|r| city.roads.get(r.0 as usize)) {
        gizmos.linestrip(
            road.line
                .0
                .iter()
                .map(|c| render_ground_point(origin, [c.x, c.y], ROAD_LIFT_M)),
            ROAD_COLOUR,
        );
    }
    if !tool.draws_points() {
        if let (ActiveTool::Stop, Some(c)) = (*tool, drawing.cursor) {
            let at = render_ground_point(origin, c, PREVIEW_LIFT_M);
            gizmos.circle(
                Isometry3d::new(at, Quat::from_rotation_x(std::f32::consts::FRAC_PI_2)),
                VERTEX_MARKER_M * 2.0,
                PREVIEW_COLOUR,
            );
        }
        return;
    }
    let pts: Vec<Vec3> = drawing
        .vertices
        .iter()
        .map(|p| render_ground_point(origin, *p, PREVIEW_LIFT_M))
        .collect();
    gizmos.linestrip(pts.iter().copied(), PREVIEW_COLOUR);
    for p in &pts {
        gizmos.sphere(Isometry3d::from_translation(*p), VERTEX_MARKER_M, PREVIEW_COLOUR);
    }
    if let (Some(last), Some(c)) = (pts.last(), drawing.cursor) {
        let colour = if tool.draws_ring() && drawing.would_cross(c) {
            REFUSED_COLOUR
        } else {
            PREVIEW_COLOUR
        };
        gizmos.line(*last, render_ground_point(origin, c, PREVIEW_LIFT_M), colour);
        if let Some(first) = pts.first()
            && pts.len() >= 2
            && tool.draws_ring()
        {
            gizmos.line(
                render_ground_point(origin, c, PREVIEW_LIFT_M),
                *first,
                colour.with_alpha(0.4),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_square_closes_and_a_bow_tie_is_refused() {
        let mut d = Drawing::default();
        for p in [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]] {
            assert_eq!(d.add_vertex(p), Ok(true));
        }
        // A double click on the last corner adds nothing.
        assert_eq!(d.add_vertex([0.1, 10.0]), Ok(false));
        let ring = d.close().expect("a square closes");
        assert_eq!(ring.len(), 4);
        assert!(d.vertices.is_empty());

        // 0,0 → 10,0 → 0,10 → 10,10: the fourth edge crosses edge 1? No: the last edge
        // (0,10)→(10,10) is fine, but closing (10,10)→(0,0) crosses edge 2 (10,0)→(0,10).
        let mut d = Drawing::default();
        for p in [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]] {
            assert_eq!(d.add_vertex(p), Ok(true));
        }
        let refused = d.close().expect_err("a bow tie is refused");
        assert_eq!(refused, DrawRefusal::Crossing { vertex: 1, edge: 2 });
        assert!(refused.to_string().contains("cross"));
        let zh = refused.describe(Lang::ZhCn);
        assert!(zh.contains("拒绝") && !zh.contains("refused"), "{zh}");
        assert_eq!(d.vertices.len(), 4, "the drawing is kept to be fixed");
    }

    #[test]
    fn a_corner_whose_edge_crosses_is_refused() {
        let mut d = Drawing::default();
        for p in [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]] {
            d.add_vertex(p).expect("corner");
        }
        // From (10,10) to (5,-5) crosses edge 1 (0,0)→(10,0).
        assert!(d.would_cross([5.0, -5.0]));
        assert_eq!(
            d.add_vertex([5.0, -5.0]),
            Err(DrawRefusal::Crossing { vertex: 4, edge: 1 })
        );
        assert_eq!(d.vertices.len(), 3);
        assert_eq!(d.add_vertex([f64::NAN, 0.0]), Err(DrawRefusal::NotFinite));
        let mut two = Drawing::default();
        two.add_vertex([0.0, 0.0]).expect("corner");
        two.add_vertex([5.0, 0.0]).expect("corner");
        assert_eq!(two.close(), Err(DrawRefusal::TooFewCorners(2)));
    }

    #[test]
    fn lines_need_two_stops_and_roads_are_picked_alone_or_added() {
        let mut d = Drawing::default();
        d.add_stop([0.0, 0.0]).expect("stop");
        assert_eq!(d.finish_line(), Err(DrawRefusal::TooFewStops(1)));
        // A line may cross itself.
        for p in [[10.0, 0.0], [0.0, 10.0], [10.0, 10.0], [5.0, -5.0]] {
            assert_eq!(d.add_stop(p), Ok(true));
        }
        assert_eq!(d.finish_line().expect("line").len(), 5);
        assert!(d.vertices.is_empty());

        let mut r = PickedRoads::default();
        r.pick(RoadId(1), false);
        r.pick(RoadId(2), true);
        assert_eq!(r.0, vec![RoadId(1), RoadId(2)]);
        r.pick(RoadId(1), true);
        assert_eq!(r.0, vec![RoadId(2)]);
        r.pick(RoadId(5), false);
        assert_eq!(r.0, vec![RoadId(5)]);
    }

    #[test]
    fn ground_hits_and_road_picks_use_scene_coordinates() {
        let loaded = crate::app::outline::tests::tiny_loaded_scene();
        let city = &loaded.city;
        let origin = &city.origin;
        // Straight down from 100 m above a scene point lands on it.
        let target = [origin.x + 12.0, origin.y - 7.0];
        let above = render_ground_point(origin, target, 100.0);
        let ray = Ray3d::new(above, Dir3::NEG_Y);
        let hit = ground_hit(origin, ray).expect("hits the ground");
        assert!(
            (hit[0] - target[0]).abs() < 1e-3 && (hit[1] - target[1]).abs() < 1e-3,
            "{hit:?}"
        );
        // Looking up never meets the ground.
        assert_eq!(ground_hit(origin, Ray3d::new(above, Dir3::Y)), None);

        let road = city.roads.first().expect("the tiny scene has a road");
        let c = road.line.0[0];
        assert_eq!(nearest_road(city, [c.x + 3.0, c.y], ROAD_PICK_M), Some(RoadId(0)));
        assert_eq!(nearest_road(city, [c.x + 1e4, c.y + 1e4], ROAD_PICK_M), None);
    }
}
