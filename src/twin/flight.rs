//! Camera flights between two views (a bookmark, "frame all", "north up"): ease-in-out
//! timing and the interpolation of target, distance, pitch and heading, the heading along
//! the shorter way round. Pure maths on plain arrays: the app copies to and from its rig.

use std::f32::consts::{PI, TAU};

/// How long a flight takes, seconds.
pub const FLIGHT_S: f32 = 1.5;

/// A camera view: the point looked at, distance, heading and pitch (see the app's
/// `CameraRig`, whose fields these mirror).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    /// The point looked at, render frame (x east, y up, z −north), metres.
    pub target: [f32; 3],
    /// Distance from the target, metres (positive).
    pub distance: f32,
    /// Compass heading looked toward, radians (0 = north).
    pub yaw: f32,
    /// Angle above the horizon, radians.
    pub pitch: f32,
}

/// Cubic ease-in-out of `t` in 0–1 (clamped): slow start, fast middle, slow end,
/// symmetric (`ease_in_out(1 − t) = 1 − ease_in_out(t)`).
pub fn ease_in_out(t: f32) -> f32 {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    if t < 0.5 {
        4.0 * t * t * t
    } else {
        let u = -2.0 * t + 2.0;
        1.0 - u * u * u / 2.0
    }
}

/// The signed turn from heading `from` to heading `to` the shorter way round, in
/// (−π, π] radians.
pub fn shortest_turn(from: f32, to: f32) -> f32 {
    let d = (to - from).rem_euclid(TAU);
    if d > PI { d - TAU } else { d }
}

/// The view a share `s` (0–1, already eased) of the way from `from` to `to`: target and
/// pitch linearly, distance geometrically (a zoom feels even at every scale), heading the
/// shorter way round. `s = 0` gives `from`, `s = 1` gives `to` exactly.
pub fn interpolate(from: &View, to: &View, s: f32) -> View {
    if s <= 0.0 {
        return *from;
    }
    if s >= 1.0 {
        return *to;
    }
    let lerp = |a: f32, b: f32| a + (b - a) * s;
    let distance = if from.distance > 0.0 && to.distance > 0.0 {
        from.distance * (to.distance / from.distance).powf(s)
    } else {
        lerp(from.distance, to.distance)
    };
    View {
        target: [
            lerp(from.target[0], to.target[0]),
            lerp(from.target[1], to.target[1]),
            lerp(from.target[2], to.target[2]),
        ],
        distance,
        yaw: (from.yaw + shortest_turn(from.yaw, to.yaw) * s).rem_euclid(TAU),
        pitch: lerp(from.pitch, to.pitch),
    }
}

/// A flight in progress: from, to, how long, and the time flown so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flight {
    /// Where it started.
    pub from: View,
    /// Where it ends.
    pub to: View,
    /// Seconds it takes (non-positive: it arrives on the first step).
    pub duration_s: f32,
    /// Seconds flown so far.
    pub elapsed_s: f32,
}

impl Flight {
    /// A flight of [`FLIGHT_S`] seconds.
    pub fn new(from: View, to: View) -> Flight {
        Flight {
            from,
            to,
            duration_s: FLIGHT_S,
            elapsed_s: 0.0,
        }
    }

    /// Advances by `dt` seconds; returns the view now and whether the flight has arrived
    /// (then the view is exactly `to`).
    pub fn step(&mut self, dt: f32) -> (View, bool) {
        if dt.is_finite() && dt > 0.0 {
            self.elapsed_s += dt;
        }
        if self.duration_s.is_nan() || self.duration_s <= 0.0 || self.elapsed_s >= self.duration_s {
            return (self.to, true);
        }
        let s = ease_in_out(self.elapsed_s / self.duration_s);
        (interpolate(&self.from, &self.to, s), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(x: f32, distance: f32, yaw_deg: f32, pitch_deg: f32) -> View {
        View {
            target: [x, 0.0, -x],
            distance,
            yaw: yaw_deg.to_radians(),
            pitch: pitch_deg.to_radians(),
        }
    }

    #[test]
    fn easing_is_monotonic_symmetric_and_pinned() {
        assert_eq!(ease_in_out(0.0), 0.0);
        assert_eq!(ease_in_out(1.0), 1.0);
        assert_eq!(ease_in_out(0.5), 0.5);
        assert_eq!(ease_in_out(-3.0), 0.0);
        assert_eq!(ease_in_out(7.0), 1.0);
        assert_eq!(ease_in_out(f32::NAN), 0.0);
        let mut last = 0.0;
        for i in 1..=100 {
            let t = i as f32 / 100.0;
            let e = ease_in_out(t);
            assert!(e >= last, "not monotonic at {t}");
            assert!(
                (e + ease_in_out(1.0 - t) - 1.0).abs() < 1e-5,
                "not symmetric at {t}"
            );
            last = e;
        }
        // Slow start and end: well below linear at 10 %, well above at 90 %.
        assert!(ease_in_out(0.1) < 0.01 && ease_in_out(0.9) > 0.99);
    }

    #[test]
    fn headings_turn_the_short_way() {
        let d = |a: f32, b: f32| shortest_turn(a.to_radians(), b.to_radians()).to_degrees();
        assert!((d(350.0, 10.0) - 20.0).abs() < 1e-3);
        assert!((d(10.0, 350.0) + 20.0).abs() < 1e-3);
        assert!((d(0.0, 180.0) - 180.0).abs() < 1e-3);
        assert!((d(90.0, 90.0)).abs() < 1e-4);
        assert!((d(-720.0, 45.0) - 45.0).abs() < 1e-3);
    }

    #[test]
    fn interpolation_runs_from_one_view_to_the_other() {
        let a = view(0.0, 100.0, 350.0, 30.0);
        let b = view(1000.0, 10_000.0, 10.0, 80.0);
        assert_eq!(interpolate(&a, &b, 0.0), a);
        assert_eq!(interpolate(&a, &b, 1.0), b);
        let m = interpolate(&a, &b, 0.5);
        assert!((m.target[0] - 500.0).abs() < 1e-3 && (m.target[2] + 500.0).abs() < 1e-3);
        // Geometric mean of the distances, not the arithmetic one.
        assert!((m.distance - 1000.0).abs() < 0.5, "{}", m.distance);
        assert!((m.pitch.to_degrees() - 55.0).abs() < 1e-3);
        // Through north (0°), not through south (180°).
        let yaw = m.yaw.to_degrees();
        assert!(!(1e-2..=359.99).contains(&yaw), "{yaw}");
    }

    #[test]
    fn a_flight_eases_and_arrives_exactly() {
        let a = view(0.0, 100.0, 0.0, 45.0);
        let b = view(900.0, 400.0, 90.0, 60.0);
        let mut f = Flight::new(a, b);
        let (early, done) = f.step(FLIGHT_S * 0.1);
        assert!(!done);
        // Eased: after 10 % of the time, well under 10 % of the way.
        assert!(early.target[0] > 0.0 && early.target[0] < 90.0 * 0.5, "{early:?}");
        let (mid, done) = f.step(FLIGHT_S * 0.4);
        assert!(!done);
        assert!((mid.target[0] - 450.0).abs() < 1e-2, "{mid:?}");
        // Negative or NaN steps do not move it.
        assert_eq!(f.step(-1.0).0, mid);
        assert_eq!(f.step(f32::NAN).0, mid);
        let (end, done) = f.step(FLIGHT_S);
        assert!(done);
        assert_eq!(end, b);
        let mut instant = Flight {
            duration_s: 0.0,
            ..Flight::new(a, b)
        };
        assert_eq!(instant.step(0.0), (b, true));
    }
}
