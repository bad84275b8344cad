//! Live feeds in the app: starts the scene's sources when the city is ready, drains their
//! channel every frame within a time budget, keeps the last day of observations for the
//! indicators, follows the feeds' clock on the time slider, and paints roads by speed
//! relative to free flow through the roads' colour buffer (live, or from the history at the
//! instant the slider shows, [`PastPicture`]). It also keeps the book of service requests
//! (the map's request points, [`crate::app::overlays`]). The feed health panel is
//! [`crate::app::ui::feed_health`].
//!
//! The frame never waits on the history: it is opened and queried on the thread of a
//! [`HistoryReader`]; a system asks and, on a later frame, takes the answer (an answer for
//! an instant the slider has left is dropped).

use std::collections::VecDeque;
use std::time::Instant;

use bevy::prelude::*;

use crate::app::dashboard::IndicatorFeedInputs;
use crate::app::ground_view::{RoadColours, initial_road_colours};
use crate::app::loading::LoadedCity;
use crate::app::ui::timeline::TwinTime;
use crate::app::{AppState, AppSystems};
use crate::twin::feeds::key::SubjectKey;
use crate::twin::feeds::live::{DEFAULT_DRAIN_BUDGET, DrainReport, Picture};
use crate::twin::feeds::provenance::SourceKindMap;
use crate::twin::feeds::reader::{HistoryReader, Lane, ReadAnswer, ReadRequest};
use crate::twin::feeds::runtime::{RunningFeeds, open_history, sensor_positions, start_feeds};
use crate::twin::feeds::{Metric, Observation, SourceId, Timestamp};
use crate::twin::indicators::feeds::free_flow_kmh;
use crate::twin::indicators::{FeedInputs, FeedWindow};
use crate::twin::overlay::RequestBook;

/// Observations kept in memory for the indicators (one day of data time, at most this many).
const RECENT_MAX: usize = 200_000;
/// Real seconds between refreshes of the indicators' feed inputs.
const INPUTS_EVERY_S: f64 = 5.0;
/// Speed relative to free flow at or below which a road is drawn fully congested.
const JAM_RATIO: f64 = 0.3;
/// Speed relative to free flow at or above which a road is drawn free-flowing.
const FREE_RATIO: f64 = 0.85;
/// A past instant is repainted from the history when the slider moved this far.
pub const REPAINT_STEP_MS: i64 = 30 * Timestamp::SECOND_MS;
/// The picture at a past instant holds values no older than this before it.
const PAST_MAX_AGE_MS: i64 = Timestamp::HOUR_MS;
/// Service requests are read back from the history this far before now at start, and
/// forgotten this long after they closed.
pub const REQUESTS_KEPT_MS: i64 = 3 * Timestamp::DAY_MS;
/// Frames between prunings of the request book.
const PRUNE_REQUESTS_EVERY: u32 = 600;

/// The scene's running feeds (absent when the scene has none).
#[derive(Resource)]
pub struct LiveFeeds {
    /// Sources, channel, live picture, health and history writer.
    pub running: RunningFeeds,
    /// A reader on the history (SQLite file or PostgreSQL) on its own thread, for the
    /// time slider, the indicators of a past instant and the charts; `None` without history.
    pub history: Option<HistoryReader>,
    /// Where sensors stand (scene CRS), by sensor id.
    pub sensors: std::collections::HashMap<String, [f64; 2]>,
    /// The last day of accepted observations, oldest first.
    pub recent: VecDeque<Observation>,
    /// What the last drain did.
    pub last_drain: DrainReport,
    /// The newest observation time seen.
    pub newest: Option<Timestamp>,
    /// Every service request seen (from the history at start, then live).
    pub requests: RequestBook,
    /// Each feed's kind (live, replay, simulated), by feed name.
    pub kinds: SourceKindMap,
}

/// The picture of the twin at the past instant the slider shows, read from the history when
/// the slider moves; `None` while live (the live picture is in [`LiveFeeds`]).
#[derive(Resource, Debug, Default)]
pub struct PastPicture {
    /// The instant read and its picture.
    pub shown: Option<(Timestamp, Picture)>,
}

impl PastPicture {
    /// The picture to draw: the live one when the clock is live, else the past one.
    pub fn pick<'a>(&'a self, feeds: &'a LiveFeeds, live: bool) -> Option<&'a Picture> {
        if live {
            Some(&feeds.running.live.picture)
        } else {
            self.shown.as_ref().map(|(_, p)| p)
        }
    }
}

/// Starts, drains and paints the live feeds.
pub struct FeedsPlugin;

impl Plugin for FeedsPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<PastPicture>()
            .add_systems(OnEnter(AppState::Ready), start)
            .add_systems(
                Update,
                (drain, read_back_requests, refresh_inputs, refresh_past)
                    .chain()
                    .in_set(AppSystems::Ingest)
                    .run_if(resource_exists::<LiveFeeds>),
            )
            .add_systems(
                Update,
                paint_roads
                    .in_set(AppSystems::Visuals)
                    .run_if(resource_exists::<LiveFeeds>.and_then(resource_exists::<RoadColours>)),
            );
    }
}

/// Starts the scene's feeds, if it has any.
fn start(mut commands: Commands, loaded: Option<Res<LoadedCity>>) {
    let Some(loaded) = loaded else { return };
    let scene = &loaded.0.scene;
    if scene.feeds.is_empty() {
        return;
    }
    let city = &loaded.0.city;
    let running = start_feeds(&scene.feeds, scene.history.as_ref(), city, &loaded.0.path);
    if let Some(e) = &running.history_error {
        warn!("feeds run without history: {e}");
    }
    let history = scene.history.as_ref().and_then(|h| {
        let (spec, path) = (h.clone(), loaded.0.path.clone());
        HistoryReader::spawn(move || open_history(&spec, &path))
            .inspect_err(|e| warn!("history reader thread: {e}"))
            .ok()
    });
    let sensors = sensor_positions(&scene.feeds, city);
    info!("feeds: {} sources started", running.handles.len());
    // The service requests of the last days come back from the history when it answers.
    if let Some(h) = &history {
        let now = Timestamp::now();
        h.ask(
            Lane::Requests,
            ReadRequest::Metrics {
                metrics: vec![Metric::ServiceRequestOpened, Metric::ServiceRequestClosed],
                from: now.plus_ms(-REQUESTS_KEPT_MS),
                to: now,
            },
        );
    }
    let requests = RequestBook::default();
    commands.insert_resource(LiveFeeds {
        running,
        history,
        sensors,
        recent: VecDeque::new(),
        last_drain: DrainReport::default(),
        newest: None,
        requests,
        kinds: SourceKindMap::from_specs(&scene.feeds),
    });
}

/// Applies the service requests read back from the history, when they come (live ones
/// already in the book are applied again after them, so the newest state wins).
fn read_back_requests(mut feeds: ResMut<LiveFeeds>, loaded: Res<LoadedCity>) {
    let Some(reply) = feeds.history.as_ref().and_then(|h| h.take(Lane::Requests)) else {
        return;
    };
    match reply.answer {
        Ok(ReadAnswer::Observations(rows)) => {
            let feeds = &mut *feeds;
            let mut book = RequestBook::default();
            rows.iter()
                .filter(|o| is_scene_feed(&loaded.0.scene, &o.source))
                .for_each(|o| {
                    book.apply(o);
                });
            for o in &feeds.recent {
                book.apply(o);
            }
            info!(
                "feeds: {} service requests read back from the history",
                book.len()
            );
            feeds.requests = book;
        }
        Ok(_) => {}
        Err(e) => warn!("history: service requests not read back: {e}"),
    }
}

/// Drains the channel within the frame budget, keeps the recent window and moves "now"
/// with the feeds' clock.
fn drain(mut feeds: ResMut<LiveFeeds>, mut twin: ResMut<TwinTime>, mut frames: Local<u32>) {
    let feeds = &mut *feeds;
    let wall = Timestamp::now();
    let mut accepted = Vec::new();
    let report =
        feeds
            .running
            .live
            .drain_with(&feeds.running.receiver, DEFAULT_DRAIN_BUDGET, wall, |_, o| {
                accepted.push(o.clone())
            });
    for o in accepted {
        feeds.newest = Some(feeds.newest.map_or(o.time, |n| n.max(o.time)));
        feeds.requests.apply(&o);
        feeds.recent.push_back(o);
    }
    let newest = feeds.newest.unwrap_or(wall);
    *frames = frames.wrapping_add(1);
    if frames.is_multiple_of(PRUNE_REQUESTS_EVERY) {
        feeds
            .requests
            .prune_closed_before(newest.plus_ms(-REQUESTS_KEPT_MS));
    }
    while feeds.recent.len() > RECENT_MAX
        || feeds
            .recent
            .front()
            .is_some_and(|o| o.time.0 < newest.0 - Timestamp::DAY_MS)
    {
        feeds.recent.pop_front();
    }
    feeds.last_drain = report;
    // An accelerated simulator runs ahead of the wall clock: "now" is the newer of the two.
    twin.now_from_feeds = true;
    twin.now = wall.max(newest);
}

/// Hands the indicators the last day of observations up to the instant shown: from memory
/// when live, from the history for a past instant (asked on the reader's thread; handed over
/// on the frame the answer comes).
fn refresh_inputs(
    feeds: Res<LiveFeeds>,
    loaded: Res<LoadedCity>,
    twin: Res<TwinTime>,
    mut inputs: ResMut<IndicatorFeedInputs>,
    mut last: Local<Option<(Instant, Timestamp, bool)>>,
) {
    let at = twin.shown();
    let reader = feeds.history.as_ref();
    // An answer for the instant asked last (the reader drops older ones).
    if let Some(reply) = reader.and_then(|h| h.take(Lane::Inputs)) {
        let ReadRequest::Range { to, .. } = reply.request else {
            return;
        };
        let mut observations = match reply.answer {
            Ok(ReadAnswer::Observations(o)) => o,
            Ok(_) => Vec::new(),
            Err(e) => {
                warn!("history: {e}");
                Vec::new()
            }
        };
        if !twin.clock.is_live() {
            observations.retain(|o| is_scene_feed(&loaded.0.scene, &o.source));
            inputs.0 = Some(FeedInputs {
                window: FeedWindow::new(to, observations),
                sensors: feeds.sensors.clone(),
                kinds: feeds.kinds.clone(),
            });
        }
        return;
    }
    // Due after the refresh interval, when the slider moved, or when the first
    // observations arrive after an empty refresh.
    let due = last.is_none_or(|(t, shown, had_data)| {
        t.elapsed().as_secs_f64() >= INPUTS_EVERY_S
            || (shown.0 - at.0).abs() >= REPAINT_STEP_MS
            || (!had_data && !feeds.recent.is_empty())
    });
    if !due {
        return;
    }
    let mut observations: Vec<Observation> = if twin.clock.is_live() {
        feeds.recent.iter().cloned().collect()
    } else if let Some(h) = reader {
        h.ask(
            Lane::Inputs,
            ReadRequest::Range {
                from: at.plus_ms(-Timestamp::DAY_MS),
                to: at,
            },
        );
        *last = Some((Instant::now(), at, true));
        return;
    } else {
        feeds.recent.iter().filter(|o| o.time <= at).cloned().collect()
    };
    // The history may hold feeds this role was not given (written by another role's run).
    observations.retain(|o| is_scene_feed(&loaded.0.scene, &o.source));
    *last = Some((Instant::now(), at, !observations.is_empty()));
    inputs.0 = Some(FeedInputs {
        window: FeedWindow::new(at, observations),
        sensors: feeds.sensors.clone(),
        kinds: feeds.kinds.clone(),
    });
}

/// Whether observations of `source` belong to a feed of the (role-filtered) scene.
fn is_scene_feed(scene: &crate::twin::scene::Scene, source: &SourceId) -> bool {
    scene.feeds.iter().any(|f| f.name == source.0)
}

/// Asks the history for the picture at the instant shown when the slider moved far enough,
/// and shows it when the answer comes (forgets it when live). The frame never waits: until
/// the answer comes, the previous picture stays.
fn refresh_past(
    feeds: Res<LiveFeeds>,
    loaded: Res<LoadedCity>,
    twin: Res<TwinTime>,
    mut past: ResMut<PastPicture>,
    mut asked: Local<Option<Timestamp>>,
) {
    if twin.clock.is_live() {
        if past.shown.is_some() {
            past.shown = None;
        }
        *asked = None;
        return;
    }
    let at = twin.shown();
    if let Some(h) = &feeds.history {
        if let Some(reply) = h.take(Lane::Picture) {
            let ReadRequest::LatestAt { t, .. } = reply.request else {
                return;
            };
            let rows = reply.answer.unwrap_or_else(|e| {
                warn!("history: {e}");
                ReadAnswer::Latest(Vec::new())
            });
            let ReadAnswer::Latest(rows) = rows else { return };
            // Only the scene's own feeds: the history may hold feeds a role may not see.
            past.shown = Some((
                t,
                Picture::from_stored(
                    rows.into_iter()
                        .filter(|r| is_scene_feed(&loaded.0.scene, &r.observation.source))
                        .collect(),
                ),
            ));
        }
        let near = |t: Option<Timestamp>| t.is_some_and(|t| (t.0 - at.0).abs() < REPAINT_STEP_MS);
        if !near(*asked) && !near(past.shown.as_ref().map(|(t, _)| *t)) {
            h.ask(
                Lane::Picture,
                ReadRequest::LatestAt {
                    t: at,
                    max_age_ms: Some(PAST_MAX_AGE_MS),
                },
            );
            *asked = Some(at);
        }
        return;
    }
    if past
        .shown
        .as_ref()
        .is_some_and(|(t, _)| (t.0 - at.0).abs() < REPAINT_STEP_MS)
    {
        return;
    }
    // No history: the recent window, up to the instant.
    let mut p = Picture::default();
    for o in feeds
        .recent
        .iter()
        .filter(|o| o.time <= at && o.time.0 >= at.0 - PAST_MAX_AGE_MS)
    {
        p.apply(SubjectKey::of(o), o);
    }
    past.shown = Some((at, p));
}

/// The colour of a road by its speed as a share of free flow: red (jammed) to green.
pub fn speed_colour(ratio: f64) -> Color {
    let t = ((ratio - JAM_RATIO) / (FREE_RATIO - JAM_RATIO)).clamp(0.0, 1.0) as f32;
    let [r, g, b] = crate::app::dashboard::choropleth_rgb(f64::from(t));
    Color::srgb_u8(r, g, b)
}

/// Paints roads with a speed by their speed relative to free flow; the others keep their
/// layer colour. Live: from the live picture after each drain; in the past: from the history
/// at the instant shown.
fn paint_roads(
    feeds: Res<LiveFeeds>,
    twin: Res<TwinTime>,
    past: Res<PastPicture>,
    loaded: Res<LoadedCity>,
    mut colours: ResMut<RoadColours>,
    mut painted: Local<Option<(bool, Timestamp)>>,
) {
    let live = twin.clock.is_live();
    let at = twin.shown();
    if live {
        if feeds.last_drain.accepted == 0 && painted.is_some_and(|(l, _)| l) {
            return;
        }
    } else if !past.is_changed() && painted.is_some_and(|(l, _)| !l) {
        // Already painted from this past picture.
        return;
    }
    let Some(picture) = past.pick(&feeds, live) else {
        return;
    };
    *painted = Some((live, at));
    let city = &loaded.0.city;
    let mut next = initial_road_colours(city, &loaded.0.scene);
    for (key, latest) in picture.of_metric(Metric::TrafficSpeed) {
        let SubjectKey::Road(id) = key else { continue };
        let Some(road) = city.roads.get(id.0 as usize) else {
            continue;
        };
        let l = speed_colour(latest.value / free_flow_kmh(road)).to_linear();
        next[id.0 as usize] = [l.red, l.green, l.blue, 1.0];
    }
    if next != colours.colours {
        colours.colours = next;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use bevy::state::app::StatesPlugin;

    use super::*;
    use crate::app::ground_view::FeatureColours;
    use crate::twin::feeds::spec::FeedSpec;

    /// Longest the headless test waits for the simulator's first observations.
    const WAIT: Duration = Duration::from_secs(10);

    #[test]
    fn simulator_feeds_reach_the_roads_colours_and_the_indicators() {
        let mut loaded = crate::app::outline::tests::tiny_loaded_scene();
        let spec: FeedSpec =
            ron::from_str(r#"(name: "sim", kind: simulator((seed: 1, speed: 1.0, step_s: 60.0)))"#)
                .expect("feed spec parses");
        loaded.scene.feeds = vec![spec];
        let initial = initial_road_colours(&loaded.city, &loaded.scene);
        let roads = loaded.city.roads.len();
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, StatesPlugin))
            .init_state::<AppState>()
            .init_resource::<TwinTime>()
            .init_resource::<IndicatorFeedInputs>()
            .insert_resource(RoadColours(FeatureColours {
                colours: initial.clone(),
                buffer: Handle::default(),
            }))
            .add_plugins(FeedsPlugin)
            .insert_resource(LoadedCity(Arc::new(loaded)));
        app.world_mut()
            .resource_mut::<NextState<AppState>>()
            .set(AppState::Ready);
        let start = Instant::now();
        loop {
            app.update();
            let feeds = app.world().resource::<LiveFeeds>();
            let speeds = feeds.running.live.picture.of_metric(Metric::TrafficSpeed).count();
            if speeds > 0 && !feeds.recent.is_empty() || start.elapsed() > WAIT {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        app.update();
        let feeds = app.world().resource::<LiveFeeds>();
        assert!(!feeds.recent.is_empty(), "no observation accepted in {WAIT:?}");
        let colours = &app.world().resource::<RoadColours>().colours;
        assert_eq!(colours.len(), roads);
        assert_ne!(colours, &initial, "a road with a speed is painted by it");
        let inputs = app.world().resource::<IndicatorFeedInputs>();
        let window = &inputs.0.as_ref().expect("indicators fed").window;
        assert!(!window.observations.is_empty());
        assert!(app.world().resource::<TwinTime>().now_from_feeds);
    }

    #[test]
    fn speed_colours_run_from_red_to_green() {
        let jam = speed_colour(0.1).to_srgba();
        let free = speed_colour(1.0).to_srgba();
        assert!(jam.red > jam.green, "{jam:?}");
        assert!(free.green > free.red, "{free:?}");
        assert_eq!(speed_colour(0.0), speed_colour(JAM_RATIO));
    }
}
