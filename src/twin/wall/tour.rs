//! The wall's automatic camera tour: stops are scene bookmarks with dwell times and an
//! optional choropleth indicator. [`Tour`] is a state machine on a caller's clock (seconds,
//! any origin): it flies to a stop, dwells, moves on; pauses when someone touches the mouse
//! or keyboard and resumes after an idle timeout; skips a stop that fails and retries after
//! a back-off, so one bad bookmark never stops the wall. Time running backwards or NaN is
//! ignored rather than trusted.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::twin::flight::FLIGHT_S;
use crate::twin::i18n::{Arg, Lang, tr, tr_args};
use crate::twin::indicators::Catalogue;
use crate::twin::scene::Bookmark;

/// Default dwell at a stop, seconds.
pub const DEFAULT_DWELL_S: f64 = 30.0;
/// Default idle time after user input before the tour resumes, seconds.
pub const DEFAULT_RESUME_AFTER_S: f64 = 120.0;
/// Default wait before the tour retries after a failed stop, seconds.
pub const DEFAULT_RETRY_AFTER_S: f64 = 10.0;
/// Doublings of the retry wait while stops keep failing (10 s → 160 s at most).
const MAX_BACKOFF_DOUBLINGS: u32 = 4;
/// Shortest dwell or timeout accepted, seconds.
const MIN_TIME_S: f64 = 1.0;
/// Longest dwell or timeout accepted, seconds (a day).
const MAX_TIME_S: f64 = 86_400.0;

/// The tour settings of a wall.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TourSpec {
    /// Whether the tour runs.
    pub enabled: bool,
    /// The stops in order; every scene bookmark with the default dwell when empty.
    pub stops: Vec<TourStop>,
    /// Dwell of stops that set none, seconds.
    pub dwell_s: f64,
    /// Idle time after user input before the tour resumes, seconds.
    pub resume_after_s: f64,
    /// Wait before retrying after a failed stop, seconds (doubles while stops keep failing).
    pub retry_after_s: f64,
}

impl Default for TourSpec {
    fn default() -> Self {
        TourSpec {
            enabled: true,
            stops: Vec::new(),
            dwell_s: DEFAULT_DWELL_S,
            resume_after_s: DEFAULT_RESUME_AFTER_S,
            retry_after_s: DEFAULT_RETRY_AFTER_S,
        }
    }
}

/// One stop of the tour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TourStop {
    /// Name of a scene bookmark.
    pub bookmark: String,
    /// Dwell here, seconds (after the flight); the tour's `dwell_s` when omitted.
    #[serde(default)]
    pub dwell_s: Option<f64>,
    /// Indicator id to colour the zones by while here; plain zones when omitted.
    #[serde(default)]
    pub choropleth: Option<String>,
}

/// A stop resolved against the scene.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedStop {
    /// Index of the bookmark in the scene's list.
    pub bookmark: usize,
    /// Bookmark name.
    pub name: String,
    /// Dwell, seconds.
    pub dwell_s: f64,
    /// Indicator id of the choropleth.
    pub choropleth: Option<String>,
}

fn time_ok(s: f64) -> bool {
    (MIN_TIME_S..=MAX_TIME_S).contains(&s)
}

impl TourSpec {
    /// Checks times, bookmark names and (with a catalogue) choropleth indicator ids.
    pub fn validate(&self, bookmarks: &[Bookmark], catalogue: Option<&Catalogue>) -> Result<(), String> {
        for (name, v) in [
            ("dwell_s", self.dwell_s),
            ("resume_after_s", self.resume_after_s),
            ("retry_after_s", self.retry_after_s),
        ] {
            if !time_ok(v) {
                return Err(format!("{name} must be {MIN_TIME_S} to {MAX_TIME_S} s, is {v}"));
            }
        }
        for s in &self.stops {
            if !bookmarks.iter().any(|b| b.name == s.bookmark) {
                let known: Vec<&str> = bookmarks.iter().map(|b| b.name.as_str()).collect();
                return Err(format!(
                    "stop '{}' is not a bookmark of the scene (it has: {})",
                    s.bookmark,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ));
            }
            if let Some(d) = s.dwell_s
                && !time_ok(d)
            {
                return Err(format!(
                    "stop '{}': dwell_s must be {MIN_TIME_S} to {MAX_TIME_S} s, is {d}",
                    s.bookmark
                ));
            }
            if let (Some(id), Some(c)) = (&s.choropleth, catalogue)
                && c.get(id).is_none()
            {
                return Err(format!(
                    "stop '{}': unknown choropleth indicator '{id}'",
                    s.bookmark
                ));
            }
        }
        Ok(())
    }

    /// The stops resolved against the scene's bookmarks: the listed ones (unknown names
    /// skipped), or every bookmark when none is listed.
    pub fn plan(&self, bookmarks: &[Bookmark]) -> Vec<PlannedStop> {
        if self.stops.is_empty() {
            return bookmarks
                .iter()
                .enumerate()
                .map(|(i, b)| PlannedStop {
                    bookmark: i,
                    name: b.name.clone(),
                    dwell_s: self.dwell_s,
                    choropleth: None,
                })
                .collect();
        }
        self.stops
            .iter()
            .filter_map(|s| {
                let i = bookmarks.iter().position(|b| b.name == s.bookmark)?;
                Some(PlannedStop {
                    bookmark: i,
                    name: s.bookmark.clone(),
                    dwell_s: s.dwell_s.unwrap_or(self.dwell_s),
                    choropleth: s.choropleth.clone(),
                })
            })
            .collect()
    }
}

/// Where the tour is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TourPhase {
    /// No tour: disabled, or no stops.
    Off,
    /// About to start at the first stop.
    Starting,
    /// Flying to a stop until a time.
    Flying {
        /// Stop index.
        stop: usize,
        /// When the flight lands.
        until: f64,
    },
    /// Showing a stop until a time.
    Dwelling {
        /// Stop index.
        stop: usize,
        /// When the tour moves on.
        until: f64,
    },
    /// Someone is using the wall; the tour waits until they leave it alone.
    Paused {
        /// When the tour resumes, unless more input comes.
        resume_at: f64,
    },
    /// A stop failed; the tour tries the next one at a time.
    Recovering {
        /// When to try again.
        retry_at: f64,
    },
}

/// Why a stop of the tour could not be shown. The `Display` text is English (logs); the
/// wall shows [`TourError::describe`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TourError {
    /// The tour asked for a stop it does not have.
    #[error("stop {0} does not exist")]
    MissingStop(usize),
    /// There is no camera to fly.
    #[error("no camera to fly")]
    NoCamera,
    /// The stop's bookmark has not been placed in the city yet.
    #[error("bookmark '{0}' is not placed yet")]
    NotPlaced(String),
    /// The stop's bookmark cannot be placed in the city.
    #[error("{detail}")]
    Unplaceable {
        /// The bookmark.
        name: String,
        /// Why, as the placing said it.
        detail: String,
    },
    /// The stop colours the zones by an indicator the catalogue does not have.
    #[error("stop '{stop}': no indicator '{id}'")]
    UnknownIndicator {
        /// The stop's bookmark.
        stop: String,
        /// The indicator id.
        id: String,
    },
}

impl TourError {
    /// The problem in `lang`, for the wall.
    pub fn describe(&self, lang: Lang) -> String {
        match self {
            TourError::MissingStop(i) => {
                tr_args(lang, "tour-err-missing-stop", &[("stop", i.to_string().into())])
            }
            TourError::NoCamera => tr(lang, "tour-err-no-camera"),
            TourError::NotPlaced(name) => tr_args(lang, "tour-err-not-placed", &[("name", name.into())]),
            TourError::Unplaceable { name, detail } => tr_args(
                lang,
                "tour-err-unplaceable",
                &[("name", name.into()), ("detail", detail.into())],
            ),
            TourError::UnknownIndicator { stop, id } => tr_args(
                lang,
                "tour-err-unknown-indicator",
                &[("stop", stop.into()), ("id", id.into())],
            ),
        }
    }
}

/// The tour state machine; see the module documentation.
#[derive(Debug, Clone)]
pub struct Tour {
    stops: Vec<PlannedStop>,
    resume_after_s: f64,
    retry_after_s: f64,
    flight_s: f64,
    phase: TourPhase,
    /// The stop flown to when the tour next moves.
    next: usize,
    /// Latest time seen (time never runs backwards here).
    last_now: f64,
    consecutive_failures: u32,
    /// Failed stops since the start.
    pub errors: u64,
    /// The latest failure.
    pub last_error: Option<TourError>,
}

impl Tour {
    /// A tour over resolved stops with a spec's timing, flights of [`FLIGHT_S`].
    pub fn new(spec: &TourSpec, stops: Vec<PlannedStop>) -> Tour {
        let phase = if spec.enabled && !stops.is_empty() {
            TourPhase::Starting
        } else {
            TourPhase::Off
        };
        Tour {
            stops,
            resume_after_s: spec.resume_after_s,
            retry_after_s: spec.retry_after_s,
            flight_s: f64::from(FLIGHT_S),
            phase,
            next: 0,
            last_now: f64::NEG_INFINITY,
            consecutive_failures: 0,
            errors: 0,
            last_error: None,
        }
    }

    /// The current phase.
    pub fn phase(&self) -> TourPhase {
        self.phase
    }

    /// The stops.
    pub fn stops(&self) -> &[PlannedStop] {
        &self.stops
    }

    /// The stop being flown to or shown.
    pub fn current(&self) -> Option<&PlannedStop> {
        match self.phase {
            TourPhase::Flying { stop, .. } | TourPhase::Dwelling { stop, .. } => self.stops.get(stop),
            _ => None,
        }
    }

    /// A monotonic, finite version of the caller's clock.
    fn clock(&mut self, now: f64) -> f64 {
        if now.is_finite() && now > self.last_now {
            self.last_now = now;
        }
        if self.last_now.is_finite() {
            self.last_now
        } else {
            0.0
        }
    }

    /// Starts the flight to stop `next`; returns it for the caller to fly to.
    fn go(&mut self, now: f64) -> Option<usize> {
        let stop = self.next % self.stops.len();
        self.phase = TourPhase::Flying {
            stop,
            until: now + self.flight_s,
        };
        self.next = (stop + 1) % self.stops.len();
        Some(stop)
    }

    /// Advances the tour to `now`; returns the index of a stop to fly to (and colour the
    /// zones for) when one starts.
    pub fn update(&mut self, now: f64) -> Option<usize> {
        let now = self.clock(now);
        match self.phase {
            TourPhase::Off => None,
            TourPhase::Starting => self.go(now),
            TourPhase::Flying { stop, until } if now >= until => {
                self.consecutive_failures = 0;
                let dwell = self.stops.get(stop).map_or(DEFAULT_DWELL_S, |s| s.dwell_s);
                self.phase = TourPhase::Dwelling {
                    stop,
                    until: until + dwell,
                };
                // A long gap (the app stalled) may already have used the dwell up.
                self.update(now)
            }
            TourPhase::Dwelling { until, .. } if now >= until => self.go(now),
            TourPhase::Paused { resume_at } if now >= resume_at => self.go(now),
            TourPhase::Recovering { retry_at } if now >= retry_at => self.go(now),
            _ => None,
        }
    }

    /// Someone touched the mouse or keyboard: the tour pauses until nobody has for the
    /// idle timeout. The stop after the one shown comes next.
    pub fn user_input(&mut self, now: f64) {
        let now = self.clock(now);
        if self.phase == TourPhase::Off {
            return;
        }
        self.phase = TourPhase::Paused {
            resume_at: now + self.resume_after_s,
        };
    }

    /// The stop just started could not be shown (its view cannot be placed, say): it is
    /// skipped and the tour tries the next stop after a wait that doubles while stops keep
    /// failing.
    pub fn fail(&mut self, now: f64, error: TourError) {
        let now = self.clock(now);
        self.errors += 1;
        self.last_error = Some(error);
        if self.phase == TourPhase::Off {
            return;
        }
        let doublings = self.consecutive_failures.min(MAX_BACKOFF_DOUBLINGS);
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        self.phase = TourPhase::Recovering {
            retry_at: now + self.retry_after_s * f64::from(1u32 << doublings),
        };
    }

    /// Counts a problem that does not stop the stop (its choropleth cannot be shown, say).
    pub fn report(&mut self, error: TourError) {
        self.errors += 1;
        self.last_error = Some(error);
    }

    /// The latest failure in `lang` ("error" when none was recorded).
    fn error_in(&self, lang: Lang) -> String {
        self.last_error
            .as_ref()
            .map_or_else(|| tr(lang, "tour-err-unknown"), |e| e.describe(lang))
    }

    /// One line for the wall: where the tour is and what comes next.
    pub fn status(&self, now: f64) -> String {
        self.status_in(Lang::En, now)
    }

    /// [`Tour::status`] in `lang`.
    pub fn status_in(&self, lang: Lang, now: f64) -> String {
        let left = |t: f64| (t - now).max(0.0).ceil();
        let n = self.stops.len();
        if lang != Lang::En {
            let num = |x: f64| Arg::Num(x);
            return match self.phase {
                TourPhase::Off => tr(lang, "tour-off"),
                TourPhase::Starting => tr(lang, "tour-starting"),
                TourPhase::Flying { stop, .. } => tr_args(
                    lang,
                    "tour-flying",
                    &[
                        ("stop", (stop + 1).into()),
                        ("stops", n.into()),
                        ("name", (&self.stops[stop].name).into()),
                    ],
                ),
                TourPhase::Dwelling { stop, until } => tr_args(
                    lang,
                    "tour-dwelling",
                    &[
                        ("stop", (stop + 1).into()),
                        ("stops", n.into()),
                        ("name", (&self.stops[stop].name).into()),
                        ("left", num(left(until))),
                    ],
                ),
                TourPhase::Paused { resume_at } => {
                    tr_args(lang, "tour-paused", &[("left", num(left(resume_at)))])
                }
                TourPhase::Recovering { retry_at } => tr_args(
                    lang,
                    "tour-recovering",
                    &[
                        ("left", num(left(retry_at))),
                        ("error", self.error_in(lang).into()),
                    ],
                ),
            };
        }
        match self.phase {
            TourPhase::Off => "tour off".to_string(),
            TourPhase::Starting => "tour starting".to_string(),
            TourPhase::Flying { stop, .. } => {
                format!("tour {}/{n} · flying to {}", stop + 1, self.stops[stop].name)
            }
            TourPhase::Dwelling { stop, until } => format!(
                "tour {}/{n} · {} · next in {} s",
                stop + 1,
                self.stops[stop].name,
                left(until)
            ),
            TourPhase::Paused { resume_at } => {
                format!("tour paused · resumes {} s after the last touch", left(resume_at))
            }
            TourPhase::Recovering { retry_at } => format!(
                "tour recovering · retry in {} s · {}",
                left(retry_at),
                self.error_in(lang)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bookmarks(names: &[&str]) -> Vec<Bookmark> {
        names
            .iter()
            .map(|n| Bookmark {
                name: n.to_string(),
                target_lonlat: (24.9, 60.1),
                distance_m: 500.0,
                pitch_deg: 45.0,
                heading_deg: 0.0,
            })
            .collect()
    }

    fn spec(stops: &[(&str, Option<f64>)]) -> TourSpec {
        TourSpec {
            stops: stops
                .iter()
                .map(|(b, d)| TourStop {
                    bookmark: b.to_string(),
                    dwell_s: *d,
                    choropleth: None,
                })
                .collect(),
            dwell_s: 20.0,
            resume_after_s: 60.0,
            retry_after_s: 10.0,
            ..TourSpec::default()
        }
    }

    /// Runs the tour on a fake clock from `from` to `to` in steps of `dt`, collecting
    /// `(time, stop)` of every flight started.
    fn run(tour: &mut Tour, from: f64, to: f64, dt: f64) -> Vec<(f64, usize)> {
        let mut out = Vec::new();
        let mut t = from;
        while t <= to + 1e-9 {
            if let Some(s) = tour.update(t) {
                out.push((t, s));
            }
            t += dt;
        }
        out
    }

    #[test]
    fn plans_listed_stops_or_every_bookmark() {
        let b = bookmarks(&["A", "B", "C"]);
        let s = spec(&[("C", Some(5.0)), ("A", None)]);
        let plan = s.plan(&b);
        assert_eq!(
            plan.iter().map(|p| (p.bookmark, p.dwell_s)).collect::<Vec<_>>(),
            [(2, 5.0), (0, 20.0)]
        );
        let all = spec(&[]).plan(&b);
        assert_eq!(all.len(), 3);
        assert!(all.iter().all(|p| p.dwell_s == 20.0 && p.choropleth.is_none()));
        assert!(s.validate(&b, None).is_ok());
        let e = spec(&[("Q", None)]).validate(&b, None).unwrap_err();
        assert!(e.contains("'Q'") && e.contains("A, B, C"), "{e}");
        let e = spec(&[("A", Some(0.0))]).validate(&b, None).unwrap_err();
        assert!(e.contains("dwell_s"), "{e}");
        let e = TourSpec {
            resume_after_s: f64::NAN,
            ..spec(&[])
        }
        .validate(&b, None)
        .unwrap_err();
        assert!(e.contains("resume_after_s"), "{e}");
    }

    #[test]
    fn flies_dwells_and_cycles() {
        let b = bookmarks(&["A", "B"]);
        let s = spec(&[("A", Some(10.0)), ("B", None)]);
        let mut tour = Tour::new(&s, s.plan(&b));
        assert_eq!(tour.phase(), TourPhase::Starting);
        let flight = f64::from(FLIGHT_S);
        // Steps of 0.5 s land exactly on every deadline (1.5 s flights, 10 and 20 s dwells).
        let started = run(&mut tour, 0.0, 2.0 * (flight * 2.0 + 30.0) + 0.25, 0.5);
        let times: Vec<usize> = started.iter().map(|(_, s)| *s).collect();
        assert_eq!(times, [0, 1, 0, 1, 0]);
        // A: flight + 10 s; B: flight + 20 s.
        let expect = [0.0, flight + 10.0, 2.0 * flight + 30.0, 3.0 * flight + 40.0];
        for ((t, _), e) in started.iter().zip(expect) {
            assert_eq!(*t, e, "started at {t}, expected {e}");
        }
        assert!(tour.status(0.0).contains("flying to A"), "{}", tour.status(0.0));
        let zh = tour.status_in(Lang::ZhCn, 0.0);
        assert!(zh.contains("飞往 A"), "{zh}");
        tour.update(2.0 * (flight * 2.0 + 30.0) + flight + 1.0);
        assert_eq!(tour.current().map(|s| s.name.as_str()), Some("A"));
        assert!(matches!(tour.phase(), TourPhase::Dwelling { stop: 0, .. }));
    }

    #[test]
    fn user_input_pauses_and_idle_resumes_at_the_next_stop() {
        let b = bookmarks(&["A", "B", "C"]);
        let s = spec(&[]);
        let mut tour = Tour::new(&s, s.plan(&b));
        assert_eq!(tour.update(0.0), Some(0));
        tour.update(5.0);
        tour.user_input(5.0);
        assert_eq!(tour.phase(), TourPhase::Paused { resume_at: 65.0 });
        assert!(tour.current().is_none());
        // More input keeps it paused.
        assert_eq!(tour.update(50.0), None);
        tour.user_input(50.0);
        assert_eq!(run(&mut tour, 50.0, 109.9, 0.5), []);
        assert!(tour.status(100.0).contains("paused"), "{}", tour.status(100.0));
        assert_eq!(tour.update(110.0), Some(1), "resumes with the stop after A");
    }

    #[test]
    fn a_failing_stop_is_skipped_with_backoff_and_the_tour_recovers() {
        let b = bookmarks(&["A", "B"]);
        let s = spec(&[]);
        let mut tour = Tour::new(&s, s.plan(&b));
        assert_eq!(tour.update(0.0), Some(0));
        tour.fail(
            0.0,
            TourError::Unplaceable {
                name: "A".into(),
                detail: "bookmark 'A': cannot project".into(),
            },
        );
        assert_eq!(tour.phase(), TourPhase::Recovering { retry_at: 10.0 });
        assert!(tour.status(3.0).contains("cannot project"));
        assert_eq!(tour.update(9.9), None);
        assert_eq!(tour.update(10.0), Some(1));
        tour.fail(10.0, TourError::NoCamera);
        assert_eq!(tour.phase(), TourPhase::Recovering { retry_at: 30.0 }, "doubled");
        assert_eq!(tour.update(30.0), Some(0));
        for k in 0..10 {
            tour.fail(100.0 * f64::from(k), TourError::NoCamera);
        }
        match tour.phase() {
            TourPhase::Recovering { retry_at } => assert_eq!(retry_at, 900.0 + 160.0, "capped"),
            p => panic!("{p:?}"),
        }
        assert_eq!(tour.errors, 12);
        // A stop that lands resets the back-off.
        let s0 = tour.update(1_060.0).expect("retries");
        tour.update(1_060.0 + f64::from(FLIGHT_S));
        assert!(matches!(tour.phase(), TourPhase::Dwelling { stop, .. } if stop == s0));
        tour.fail(1_070.0, TourError::NoCamera);
        assert_eq!(tour.phase(), TourPhase::Recovering { retry_at: 1_080.0 });
    }

    #[test]
    fn time_going_backwards_or_nan_is_ignored() {
        let b = bookmarks(&["A", "B"]);
        let s = spec(&[]);
        let mut tour = Tour::new(&s, s.plan(&b));
        tour.update(100.0);
        assert_eq!(tour.update(f64::NAN), None);
        assert_eq!(tour.update(-1e9), None);
        assert!(matches!(tour.phase(), TourPhase::Flying { stop: 0, .. }));
        // A stall longer than a whole dwell lands and moves on at once.
        assert_eq!(tour.update(1_000.0), Some(1));
    }

    #[test]
    fn no_stops_or_disabled_means_off() {
        let s = spec(&[]);
        let mut tour = Tour::new(&s, Vec::new());
        assert_eq!(tour.update(1.0), None);
        tour.user_input(2.0);
        tour.fail(3.0, TourError::NoCamera);
        assert_eq!(tour.phase(), TourPhase::Off);
        assert_eq!(tour.status(4.0), "tour off");
        let off = TourSpec {
            enabled: false,
            ..spec(&[])
        };
        let b = bookmarks(&["A"]);
        assert_eq!(Tour::new(&off, off.plan(&b)).phase(), TourPhase::Off);
    }
}
