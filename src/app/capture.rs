//! The one frame-capture state machine of the offscreen renders (`citytwin render`, the
//! briefing export, the wall render): pumping the app frame by frame until it exits or runs
//! out of time ([`pump`]), noticing a failed load ([`load_failure`]), and per capture
//! settling a few frames, asking Bevy for a [`Screenshot`] of the target image and waiting
//! for it to come back ([`FrameCapture`]).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};

use crate::app::AppState;
use crate::app::loading::LoadError;
use crate::app::offscreen::frame;

/// Frames waited for a capture to come back from the GPU before giving up.
pub const CAPTURE_TIMEOUT_FRAMES: u32 = 600;

/// Where a capture is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No capture asked for.
    Idle,
    /// Frames rendered since the capture was asked for.
    Settling(u32),
    /// The screenshot is on its way; frames waited.
    Capturing(u32),
}

/// What a step of a capture came to.
#[derive(Debug)]
pub enum CaptureStep {
    /// No capture asked for.
    Idle,
    /// Still settling or waiting for the frame.
    Pending,
    /// The frame, read back.
    Captured(Image),
    /// No frame came back in time.
    Failed(String),
}

/// One capture at a time of an offscreen target: [`FrameCapture::start`] asks for one,
/// [`FrameCapture::step`] (once a frame, from a system) settles, requests the screenshot
/// and hands back the image.
pub struct FrameCapture {
    target: Handle<Image>,
    settle_frames: u32,
    phase: Phase,
    slot: Arc<Mutex<Option<Image>>>,
}

impl FrameCapture {
    /// Captures of `target`, each after `settle_frames` frames.
    pub fn new(target: Handle<Image>, settle_frames: u32) -> FrameCapture {
        FrameCapture {
            target,
            settle_frames,
            phase: Phase::Idle,
            slot: Arc::new(Mutex::new(None)),
        }
    }

    /// Asks for a capture after the settle frames (restarting any under way).
    pub fn start(&mut self) {
        if let Ok(mut s) = self.slot.lock() {
            *s = None;
        }
        self.phase = Phase::Settling(0);
    }

    /// True when no capture is under way.
    pub fn is_idle(&self) -> bool {
        self.phase == Phase::Idle
    }

    /// True in the frame [`FrameCapture::start`] was called in (before its first step):
    /// the moment to change what the next capture shows.
    pub fn just_started(&self) -> bool {
        self.phase == Phase::Settling(0)
    }

    /// Moves the capture on by one frame.
    pub fn step(&mut self, commands: &mut Commands) -> CaptureStep {
        match self.phase {
            Phase::Idle => CaptureStep::Idle,
            Phase::Settling(n) if n < self.settle_frames => {
                self.phase = Phase::Settling(n + 1);
                CaptureStep::Pending
            }
            Phase::Settling(_) => {
                let slot = self.slot.clone();
                commands.spawn(Screenshot::image(self.target.clone())).observe(
                    move |captured: On<ScreenshotCaptured>| {
                        if let Ok(mut s) = slot.lock() {
                            *s = Some(captured.image.clone());
                        }
                    },
                );
                self.phase = Phase::Capturing(0);
                CaptureStep::Pending
            }
            Phase::Capturing(n) => match self.slot.lock().ok().and_then(|mut s| s.take()) {
                Some(image) => {
                    self.phase = Phase::Idle;
                    CaptureStep::Captured(image)
                }
                None if n >= CAPTURE_TIMEOUT_FRAMES => {
                    self.phase = Phase::Idle;
                    CaptureStep::Failed(format!("no frame came back from the GPU after {n} frames"))
                }
                None => {
                    self.phase = Phase::Capturing(n + 1);
                    CaptureStep::Pending
                }
            },
        }
    }
}

/// Why the scene failed to load, once the app says it did.
pub fn load_failure(state: &State<AppState>, error: Option<&LoadError>) -> Option<String> {
    (*state.get() == AppState::Failed)
        .then(|| error.map_or_else(|| "the scene failed to load".to_string(), |e| e.0.clone()))
}

/// Runs an offscreen app frame by frame until it asks to exit; fails after `timeout`,
/// saying `what` did not finish.
pub fn pump(app: &mut App, timeout: Duration, what: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        frame(app);
        if app.should_exit().is_some() {
            return Ok(());
        }
        if started.elapsed() > timeout {
            bail!("{what} did not finish within {} s", timeout.as_secs());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settles the frames asked for, requests one screenshot, hands back the image that
    /// comes, and gives up on one that never does.
    #[test]
    fn a_capture_settles_requests_and_waits() {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins);
        let mut capture = FrameCapture::new(Handle::default(), 2);
        let step = |capture: &mut FrameCapture, app: &mut App| {
            let world = app.world_mut();
            let mut queue = bevy::ecs::world::CommandQueue::default();
            let out = capture.step(&mut Commands::new(&mut queue, world));
            queue.apply(world);
            out
        };
        let screenshots = |app: &mut App| {
            let world = app.world_mut();
            world.query::<&Screenshot>().iter(world).count()
        };
        assert!(matches!(step(&mut capture, &mut app), CaptureStep::Idle));
        capture.start();
        assert!(capture.just_started() && !capture.is_idle());
        for _ in 0..2 {
            assert!(matches!(step(&mut capture, &mut app), CaptureStep::Pending));
        }
        assert_eq!(screenshots(&mut app), 0, "no screenshot while settling");
        assert!(matches!(step(&mut capture, &mut app), CaptureStep::Pending));
        assert_eq!(screenshots(&mut app), 1);
        // The frame comes back (as the observer would store it).
        *capture.slot.lock().unwrap() = Some(Image::default());
        assert!(matches!(step(&mut capture, &mut app), CaptureStep::Captured(_)));
        assert!(capture.is_idle());

        // One that never comes.
        capture.start();
        for _ in 0..3 {
            step(&mut capture, &mut app);
        }
        let mut last = CaptureStep::Pending;
        for _ in 0..=CAPTURE_TIMEOUT_FRAMES {
            last = step(&mut capture, &mut app);
        }
        match last {
            CaptureStep::Failed(e) => assert!(e.contains("no frame came back"), "{e}"),
            other => panic!("{other:?}"),
        }
        assert!(capture.is_idle());
    }
}
