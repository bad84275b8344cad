//! The wall's compressed soak (`citytwin soak --wall --speed 100 --sim-hours 24`): the
//! wall's non-render plugins (loading aside: the scene is loaded up front) run headless on
//! a scene whose simulators are sped up, with the feeds' history in a temporary folder,
//! for a span of simulated time; resident memory and the app's sizes are sampled along
//! the way, and the report gives the slopes ([`crate::twin::wall::soak`]).
//!
//! The feeds' validator rejects observations stamped more than a few minutes ahead of the
//! wall clock, which an accelerated simulator soon is; the soak widens that allowance to
//! the span simulated (the live app keeps the default).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use bevy::prelude::*;

use crate::app::camera::CameraPlugin;
use crate::app::dashboard::{DashboardPlugin, IndicatorEngine};
use crate::app::feeds::{FeedsPlugin, LiveFeeds};
use crate::app::ground_view::{
    FeatureColours, RoadColours, ZoneColours, initial_road_colours, initial_zone_colours,
};
use crate::app::loading::LoadedCity;
use crate::app::views::ViewsPlugin;
use crate::app::wall::WallPlugin;
use crate::app::{AppState, AppSystems};
use crate::twin::feeds::Timestamp;
use crate::twin::feeds::spec::{FeedKind, HistorySpec};
use crate::twin::load::load_scene;
use crate::twin::perf::{peak_rss_bytes, rss_bytes};
use crate::twin::wall::soak::{SoakReport, SoakSample};

/// Real time per frame the soak aims at (a wall's display refresh is faster; the systems
/// do the same work per frame either way, only less often).
const FRAME: Duration = Duration::from_millis(33);
/// Share of the span treated as warm-up (the recent-observation window fills), at most
/// one simulated hour.
const WARMUP_SHARE: f64 = 0.25;
/// Retention of the soak's history when the scene sets none, days.
const DEFAULT_RETENTION_DAYS: f64 = 3.0;
/// Real time allowed beyond the span at the requested speed, as a factor.
const SLACK: f64 = 2.0;
/// Real time allowed on top, for loading and start-up.
const STARTUP_ALLOWANCE: Duration = Duration::from_secs(120);

/// What to soak.
#[derive(Debug, Clone, PartialEq)]
pub struct SoakJob {
    /// The scene file; it must have a simulator feed.
    pub scene: PathBuf,
    /// Simulated seconds per real second for every simulator of the scene.
    pub speed: f64,
    /// Simulated hours to run.
    pub sim_hours: f64,
    /// Samples taken over the span (one at the start besides).
    pub samples: usize,
}

/// Runs the soak, calling `on_sample` with each sample as it is taken.
pub fn soak_wall(job: &SoakJob, mut on_sample: impl FnMut(&SoakSample)) -> anyhow::Result<SoakReport> {
    if !(job.speed.is_finite() && job.speed >= 1.0) {
        bail!("speed must be at least 1, is {}", job.speed);
    }
    if !(job.sim_hours.is_finite() && job.sim_hours > 0.0) || job.samples == 0 {
        bail!("give a positive span and number of samples");
    }
    let mut loaded = load_scene(&job.scene)?;
    let mut simulators = 0;
    for f in &mut loaded.scene.feeds {
        if let FeedKind::Simulator(s) = &mut f.kind {
            s.speed = job.speed;
            s.start = None;
            simulators += 1;
        }
    }
    if simulators == 0 {
        bail!(
            "{}: the soak needs a simulator feed; the scene has none",
            job.scene.display()
        );
    }
    let dir = std::env::temp_dir().join(format!("citytwin-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| anyhow!("{}: {e}", dir.display()))?;
    let retention_days = loaded
        .scene
        .history
        .as_ref()
        .map_or(DEFAULT_RETENTION_DAYS, |h| h.retention_days());
    loaded.scene.history = Some(HistorySpec::sqlite(dir.join("history.sqlite"), retention_days));
    let result = run(job, loaded, &mut on_sample);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The headless wall: everything but loading, rendering and egui.
fn soak_app(loaded: crate::twin::load::LoadedScene) -> App {
    let roads = initial_road_colours(&loaded.city, &loaded.scene);
    let zones = initial_zone_colours(&loaded.city, &loaded.scene);
    let mut app = crate::app::headless_app();
    AppSystems::configure(&mut app)
        .insert_resource(RoadColours(FeatureColours {
            colours: roads,
            buffer: Handle::default(),
        }))
        .insert_resource(ZoneColours(FeatureColours {
            colours: zones,
            buffer: Handle::default(),
        }))
        .add_plugins((
            CameraPlugin,
            ViewsPlugin,
            DashboardPlugin,
            FeedsPlugin,
            WallPlugin,
        ))
        .insert_resource(LoadedCity(Arc::new(loaded)));
    app.world_mut()
        .resource_mut::<NextState<AppState>>()
        .set(AppState::Ready);
    app
}

/// One sample of the running app.
fn sample(app: &mut App, sim_h: f64, real_s: f64) -> SoakSample {
    let world = app.world_mut();
    let entities = world.query::<Entity>().iter(world).count();
    let (recent_observations, accepted) = world.get_resource::<LiveFeeds>().map_or((0, 0), |f| {
        let accepted = f.running.live.health.values().map(|h| h.accepted).sum();
        (f.recent.len(), accepted)
    });
    let (alerts_logged, alerts_open) = world.get_resource::<IndicatorEngine>().map_or((0, 0), |e| {
        (e.0.alerts.history().len(), e.0.alerts.active().count())
    });
    SoakSample {
        sim_h,
        real_s,
        rss_bytes: rss_bytes().unwrap_or(0),
        entities,
        recent_observations,
        alerts_logged,
        alerts_open,
        accepted,
    }
}

fn run(
    job: &SoakJob,
    loaded: crate::twin::load::LoadedScene,
    on_sample: &mut impl FnMut(&SoakSample),
) -> anyhow::Result<SoakReport> {
    let mut app = soak_app(loaded);
    let started = Instant::now();
    let deadline = Duration::from_secs_f64(job.sim_hours * 3_600.0 / job.speed * SLACK) + STARTUP_ALLOWANCE;
    let every_h = job.sim_hours / job.samples as f64;
    let allowance_ms = ((job.sim_hours + 1.0) * 1.5 * Timestamp::HOUR_MS as f64) as i64;
    let mut widened = false;
    let mut first_data: Option<Timestamp> = None;
    let mut next_h = 0.0;
    let mut samples = Vec::new();
    loop {
        let t = Instant::now();
        app.update();
        if *app.world().resource::<State<AppState>>().get() != AppState::Ready {
            // Still entering Ready on the first frame.
        } else if let Some(mut feeds) = app.world_mut().get_resource_mut::<LiveFeeds>() {
            if !widened {
                let v = &mut feeds.running.live.validator;
                v.max_future_ms = v.max_future_ms.max(allowance_ms);
                widened = true;
            }
            if first_data.is_none() {
                first_data = feeds.newest;
            }
        } else {
            bail!("the scene's feeds did not start");
        }
        let newest = app.world().get_resource::<LiveFeeds>().and_then(|f| f.newest);
        let sim_h = match (first_data, newest) {
            (Some(a), Some(b)) => (b.0 - a.0) as f64 / Timestamp::HOUR_MS as f64,
            _ => 0.0,
        };
        if first_data.is_some() && sim_h >= next_h {
            let s = sample(&mut app, sim_h, started.elapsed().as_secs_f64());
            on_sample(&s);
            samples.push(s);
            next_h += every_h;
        }
        if sim_h >= job.sim_hours {
            break;
        }
        if started.elapsed() > deadline {
            bail!(
                "the simulator reached {sim_h:.2} of {} simulated hours in {:.0} s",
                job.sim_hours,
                started.elapsed().as_secs_f64()
            );
        }
        std::thread::sleep(FRAME.saturating_sub(t.elapsed()));
    }
    let warmup_h = (job.sim_hours * WARMUP_SHARE).min(1.0);
    Ok(SoakReport::new(samples, peak_rss_bytes(), warmup_h))
}
