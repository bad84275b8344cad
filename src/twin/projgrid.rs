//! Interpolated projection of large batches: PROJ converts the nodes of a regular grid over
//! the batch's extent, every point is interpolated bilinearly between its cell's four nodes,
//! and the grid is accepted only when PROJ's exact result at check points inside every cell
//! (its centre and the midpoints of its edges) differs from the interpolation by no more
//! than a tolerance in target units (by default a millimetre). The same idea as GDAL's
//! approximate transformer: a projection is smooth at the scale of a city, so a few
//! thousand PROJ calls stand in for millions within a verified error.

use geo_types::Coord;

/// Default largest difference from PROJ's exact result, in target units (metres in a
/// projected scene CRS): a millimetre, far below the accuracy of any city data source.
pub const DEFAULT_TOLERANCE: f64 = 0.001;

/// Cells per side of the first grid tried; each refinement halves the cell size.
const FIRST_CELLS_PER_SIDE: usize = 8;

/// A grid is only worth it while its PROJ calls (nodes and checks) stay under this share of
/// the points it replaces; beyond, the batch is converted point by point.
const MAX_PROJ_CALLS_SHARE: f64 = 0.25;

/// Batches smaller than this are converted point by point (the grid would not pay).
pub const MIN_POINTS: usize = 4_096;

/// A grid of exact PROJ results over a source-CRS rectangle.
#[derive(Debug, Clone)]
pub struct ProjGrid {
    x0: f64,
    y0: f64,
    dx: f64,
    dy: f64,
    nx: usize,
    ny: usize,
    /// `(nx + 1) × (ny + 1)` converted nodes, row by row from `(x0, y0)`.
    nodes: Vec<Coord<f64>>,
    /// The largest difference from PROJ found at the check points.
    max_error: f64,
}

/// Why a batch was not interpolated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoGrid {
    /// Too few points, or no finite point.
    TooSmall,
    /// PROJ failed at a node or a check point (the extent leaves the CRS's domain).
    OutsideDomain,
    /// The tolerance needs more PROJ calls than converting the points would.
    ToleranceTooTight,
}

impl ProjGrid {
    /// Builds a grid over the finite points of `points` that meets `tolerance`, converting
    /// nodes and check points with `convert` (in place; non-finite where PROJ fails), or
    /// says why none is worth it.
    pub fn fit(
        points: &[Coord<f64>],
        tolerance: f64,
        convert: &mut dyn FnMut(&mut [Coord<f64>]),
    ) -> Result<ProjGrid, NoGrid> {
        if points.len() < MIN_POINTS || tolerance.is_nan() || tolerance <= 0.0 {
            return Err(NoGrid::TooSmall);
        }
        let mut b = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
        for c in points.iter().filter(|c| c.x.is_finite() && c.y.is_finite()) {
            b = [b[0].min(c.x), b[1].min(c.y), b[2].max(c.x), b[3].max(c.y)];
        }
        if b[0] > b[2] || b[0].is_nan() {
            return Err(NoGrid::TooSmall);
        }
        let budget = (points.len() as f64 * MAX_PROJ_CALLS_SHARE) as usize;
        let mut cells = FIRST_CELLS_PER_SIDE;
        loop {
            let (nx, ny) = cells_for(b, cells);
            // Nodes, plus three check points per cell.
            if (nx + 1) * (ny + 1) + 3 * nx * ny > budget {
                return Err(NoGrid::ToleranceTooTight);
            }
            let grid = ProjGrid::build(b, nx, ny, convert)?;
            let max_error = grid.check(convert)?;
            if max_error <= tolerance {
                return Ok(ProjGrid { max_error, ..grid });
            }
            cells *= 2;
        }
    }

    fn build(
        b: [f64; 4],
        nx: usize,
        ny: usize,
        convert: &mut dyn FnMut(&mut [Coord<f64>]),
    ) -> Result<ProjGrid, NoGrid> {
        // A rectangle of no width or height still gets cells of a positive size.
        let side =
            |lo: f64, hi: f64, n: usize| ((hi - lo) / n as f64).max(f64::MIN_POSITIVE.max(lo.abs() * 1e-12));
        let (dx, dy) = (side(b[0], b[2], nx), side(b[1], b[3], ny));
        let mut nodes = Vec::with_capacity((nx + 1) * (ny + 1));
        for j in 0..=ny {
            for i in 0..=nx {
                nodes.push(Coord {
                    x: b[0] + i as f64 * dx,
                    y: b[1] + j as f64 * dy,
                });
            }
        }
        convert(&mut nodes);
        if !nodes.iter().all(|c| c.x.is_finite() && c.y.is_finite()) {
            return Err(NoGrid::OutsideDomain);
        }
        Ok(ProjGrid {
            x0: b[0],
            y0: b[1],
            dx,
            dy,
            nx,
            ny,
            nodes,
            max_error: 0.0,
        })
    }

    /// The largest difference between PROJ and the interpolation at each cell's centre and
    /// the midpoints of its lower and left edges.
    fn check(&self, convert: &mut dyn FnMut(&mut [Coord<f64>])) -> Result<f64, NoGrid> {
        let mut probes = Vec::with_capacity(3 * self.nx * self.ny);
        for j in 0..self.ny {
            for i in 0..self.nx {
                let (x, y) = (self.x0 + i as f64 * self.dx, self.y0 + j as f64 * self.dy);
                for (fx, fy) in [(0.5, 0.5), (0.5, 0.0), (0.0, 0.5)] {
                    probes.push(Coord {
                        x: x + fx * self.dx,
                        y: y + fy * self.dy,
                    });
                }
            }
        }
        let mut exact = probes.clone();
        convert(&mut exact);
        let mut max: f64 = 0.0;
        for (p, e) in probes.iter().zip(&exact) {
            if !(e.x.is_finite() && e.y.is_finite()) {
                return Err(NoGrid::OutsideDomain);
            }
            let a = self.interpolate(*p);
            max = max.max((a.x - e.x).hypot(a.y - e.y));
        }
        Ok(max)
    }

    /// The largest difference from PROJ found at the check points, in target units.
    pub fn max_error(&self) -> f64 {
        self.max_error
    }

    /// Cells of the grid (columns × rows).
    pub fn cells(&self) -> (usize, usize) {
        (self.nx, self.ny)
    }

    /// The interpolated conversion of one point (non-finite stays non-finite).
    pub fn interpolate(&self, c: Coord<f64>) -> Coord<f64> {
        if !(c.x.is_finite() && c.y.is_finite()) {
            return Coord {
                x: f64::NAN,
                y: f64::NAN,
            };
        }
        let fx = (c.x - self.x0) / self.dx;
        let fy = (c.y - self.y0) / self.dy;
        let i = (fx.floor().max(0.0) as usize).min(self.nx - 1);
        let j = (fy.floor().max(0.0) as usize).min(self.ny - 1);
        let (tx, ty) = (fx - i as f64, fy - j as f64);
        let row = self.nx + 1;
        let n00 = self.nodes[j * row + i];
        let n10 = self.nodes[j * row + i + 1];
        let n01 = self.nodes[(j + 1) * row + i];
        let n11 = self.nodes[(j + 1) * row + i + 1];
        let lerp = |a: f64, b: f64, c: f64, d: f64| {
            let lo = a + (b - a) * tx;
            let hi = c + (d - c) * tx;
            lo + (hi - lo) * ty
        };
        Coord {
            x: lerp(n00.x, n10.x, n01.x, n11.x),
            y: lerp(n00.y, n10.y, n01.y, n11.y),
        }
    }

    /// Converts a batch in place by interpolation.
    pub fn apply(&self, coords: &mut [Coord<f64>]) {
        for c in coords {
            *c = self.interpolate(*c);
        }
    }
}

/// Columns and rows for about `cells` cells along the longer side, square-ish cells.
fn cells_for(b: [f64; 4], cells: usize) -> (usize, usize) {
    let (w, h) = (b[2] - b[0], b[3] - b[1]);
    if w <= 0.0 && h <= 0.0 {
        return (1, 1);
    }
    let side = w.max(h) / cells as f64;
    let n = |len: f64| ((len / side).ceil() as usize).max(1);
    (n(w), n(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square_points(n: usize, size: f64) -> Vec<Coord<f64>> {
        let side = (n as f64).sqrt().ceil() as usize;
        (0..n)
            .map(|k| Coord {
                x: 1_000.0 + (k % side) as f64 / side as f64 * size,
                y: 2_000.0 + (k / side) as f64 / side as f64 * size,
            })
            .collect()
    }

    /// A smooth, curved map (like a projection, but known exactly).
    fn curved(cs: &mut [Coord<f64>]) {
        for c in cs {
            let (x, y) = (c.x, c.y);
            *c = Coord {
                x: x + 5e-8 * y * y + 3.0,
                y: y - 2e-7 * x * y - 4e-8 * x * x,
            };
        }
    }

    #[test]
    fn interpolation_meets_the_tolerance_at_every_point() {
        let pts = square_points(40_000, 3_000.0);
        let mut calls = 0;
        let grid = ProjGrid::fit(&pts, 0.001, &mut |cs| {
            calls += cs.len();
            curved(cs)
        })
        .expect("a grid");
        assert!(grid.max_error() <= 0.001);
        assert!(calls < pts.len() / 4, "{calls} PROJ calls");
        let mut exact = pts.clone();
        curved(&mut exact);
        let mut approx = pts.clone();
        grid.apply(&mut approx);
        let worst = exact
            .iter()
            .zip(&approx)
            .map(|(e, a)| (e.x - a.x).hypot(e.y - a.y))
            .fold(0.0, f64::max);
        assert!(worst <= 0.001, "worst {worst}");
        // The first grid (8 cells a side) is too coarse for this curvature: it was refined.
        assert!(grid.cells().0 > FIRST_CELLS_PER_SIDE);
    }

    #[test]
    fn a_tolerance_beyond_reach_falls_back_and_small_batches_are_exact() {
        let pts = square_points(10_000, 3_000.0);
        let r = ProjGrid::fit(&pts, 1e-12, &mut curved);
        assert_eq!(r.err(), Some(NoGrid::ToleranceTooTight));
        let few = square_points(100, 3_000.0);
        assert_eq!(
            ProjGrid::fit(&few, 0.001, &mut curved).err(),
            Some(NoGrid::TooSmall)
        );
        assert_eq!(
            ProjGrid::fit(&pts, 0.0, &mut curved).err(),
            Some(NoGrid::TooSmall)
        );
    }

    #[test]
    fn failures_at_nodes_mean_no_grid_and_non_finite_points_stay_non_finite() {
        let mut pts = square_points(10_000, 3_000.0);
        let r = ProjGrid::fit(&pts, 0.001, &mut |cs| {
            for c in cs.iter_mut().filter(|c| c.x > 3_500.0) {
                c.x = f64::NAN;
            }
        });
        assert_eq!(r.err(), Some(NoGrid::OutsideDomain));
        pts[5].x = f64::NAN;
        let grid = ProjGrid::fit(&pts, 0.001, &mut curved).expect("a grid over the finite points");
        let mut out = pts.clone();
        grid.apply(&mut out);
        assert!(out[5].x.is_nan() && out[5].y.is_nan());
        assert!(out[6].x.is_finite());
    }

    #[test]
    fn a_line_of_points_gets_a_grid_too() {
        let pts: Vec<Coord<f64>> = (0..5_000)
            .map(|i| Coord {
                x: 500.0,
                y: i as f64,
            })
            .collect();
        let grid = ProjGrid::fit(&pts, 0.001, &mut curved).expect("a grid");
        let mut exact = pts.clone();
        curved(&mut exact);
        let mut approx = pts.clone();
        grid.apply(&mut approx);
        for (e, a) in exact.iter().zip(&approx) {
            assert!((e.x - a.x).hypot(e.y - a.y) <= 0.001);
        }
    }
}
