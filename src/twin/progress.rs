//! Progress of long work (loading a scene, meshing its buildings) reported from the pure
//! core: the worker updates a shared [`Progress`] (atomics and one small label), the UI
//! reads a [`ProgressSnapshot`] whenever it draws. No Bevy type here.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use crate::twin::i18n::{Lang, tr};

/// The stages of loading a scene, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Nothing started yet.
    Starting,
    /// Reading layer files (count: layers read).
    Reading,
    /// Transforming layers into the scene CRS (count: layers projected).
    Projecting,
    /// Resolving heights and building the city model (count: layers assembled).
    Heights,
    /// Extruding buildings into tile meshes (count: tiles meshed).
    Meshing,
    /// Everything is done.
    Done,
}

/// All stages, in order; a stage's index here is its stored code.
const STAGES: [Stage; 6] = [
    Stage::Starting,
    Stage::Reading,
    Stage::Projecting,
    Stage::Heights,
    Stage::Meshing,
    Stage::Done,
];

impl Stage {
    /// What the stage is doing, in a few words.
    pub fn describe(self) -> &'static str {
        match self {
            Stage::Starting => "starting",
            Stage::Reading => "reading layer",
            Stage::Projecting => "projecting",
            Stage::Heights => "heights",
            Stage::Meshing => "building meshes tile",
            Stage::Done => "done",
        }
    }

    fn code(self) -> u8 {
        STAGES.iter().position(|s| *s == self).unwrap_or(0) as u8
    }

    fn from_code(code: u8) -> Stage {
        STAGES.get(code as usize).copied().unwrap_or(Stage::Starting)
    }
}

/// Shared progress of one piece of work: the stage, a count done out of a total, and a
/// label (e.g. the layer being read). Cheap to update from many threads.
#[derive(Debug, Default)]
pub struct Progress {
    stage: AtomicU8,
    done: AtomicU64,
    total: AtomicU64,
    label: Mutex<String>,
}

/// What a [`Progress`] said at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressSnapshot {
    /// The stage.
    pub stage: Stage,
    /// Items done in this stage.
    pub done: u64,
    /// Items in this stage (0 when unknown).
    pub total: u64,
    /// What is being worked on (may be empty).
    pub label: String,
}

impl Progress {
    /// Enters a stage of `total` items, none done yet.
    pub fn begin(&self, stage: Stage, total: u64) {
        // Order: counts first, then the stage, so a reader never sees the new stage with
        // the old stage's counts for long.
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        self.stage.store(stage.code(), Ordering::Release);
        self.set_label("");
    }

    /// Counts `n` more items done (never beyond the total when one is known).
    pub fn advance(&self, n: u64) {
        let total = self.total.load(Ordering::Relaxed);
        let _ = self.done.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| {
            let next = d.saturating_add(n);
            Some(if total > 0 { next.min(total) } else { next })
        });
    }

    /// Names what is being worked on.
    pub fn set_label(&self, label: &str) {
        if let Ok(mut l) = self.label.lock() {
            l.clear();
            l.push_str(label);
        }
    }

    /// The current stage, count and label.
    pub fn snapshot(&self) -> ProgressSnapshot {
        let stage = Stage::from_code(self.stage.load(Ordering::Acquire));
        let total = self.total.load(Ordering::Relaxed);
        let done = self.done.load(Ordering::Relaxed);
        let label = self.label.lock().map(|l| l.clone()).unwrap_or_default();
        ProgressSnapshot {
            stage,
            done: if total > 0 { done.min(total) } else { done },
            total,
            label,
        }
    }
}

impl ProgressSnapshot {
    /// Share of the stage done, 0–1 (0 when the total is unknown).
    pub fn fraction(&self) -> f32 {
        if self.total == 0 {
            0.0
        } else {
            (self.done as f64 / self.total as f64).clamp(0.0, 1.0) as f32
        }
    }

    /// One line for a status bar, e.g. `reading layer buildings 1/3` or
    /// `building meshes tile 120/400`.
    pub fn text(&self) -> String {
        self.text_in(Lang::En)
    }

    /// [`ProgressSnapshot::text`] in `lang` ("读取图层 buildings 1/3").
    pub fn text_in(&self, lang: Lang) -> String {
        let mut s = match self.stage {
            Stage::Starting => tr(lang, "stage-starting"),
            Stage::Reading => tr(lang, "stage-reading"),
            Stage::Projecting => tr(lang, "stage-projecting"),
            Stage::Heights => tr(lang, "stage-heights"),
            Stage::Meshing => tr(lang, "stage-meshing"),
            Stage::Done => tr(lang, "stage-done"),
        };
        if !self.label.is_empty() {
            s.push(' ');
            s.push_str(&self.label);
        }
        if self.total > 0 {
            s.push_str(&format!(" {}/{}", self.done, self.total));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn stages_count_and_describe() {
        let p = Progress::default();
        assert_eq!(p.snapshot().stage, Stage::Starting);
        p.begin(Stage::Reading, 3);
        p.set_label("buildings");
        p.advance(1);
        let s = p.snapshot();
        assert_eq!(s.text(), "reading layer buildings 1/3");
        assert!((s.fraction() - 1.0 / 3.0).abs() < 1e-6);
        p.advance(10);
        assert_eq!(p.snapshot().done, 3, "never beyond the total");
        p.begin(Stage::Meshing, 400);
        let s = p.snapshot();
        assert_eq!((s.stage, s.done, s.label.as_str()), (Stage::Meshing, 0, ""));
        assert_eq!(s.text(), "building meshes tile 0/400");
        p.begin(Stage::Done, 0);
        assert_eq!(p.snapshot().fraction(), 0.0);
        assert_eq!(p.snapshot().text(), "done");
    }

    #[test]
    fn many_threads_count_every_item() {
        let p = Arc::new(Progress::default());
        p.begin(Stage::Meshing, 0);
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let p = p.clone();
                std::thread::spawn(move || (0..1000).for_each(|_| p.advance(1)))
            })
            .collect();
        handles.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(p.snapshot().done, 4000);
    }

    #[test]
    fn stage_codes_round_trip() {
        for s in STAGES {
            assert_eq!(Stage::from_code(s.code()), s);
        }
        assert_eq!(Stage::from_code(200), Stage::Starting);
    }
}
