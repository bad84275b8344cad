//! Sea polygons from OpenStreetMap coastline ways (`natural=coastline`), clipped to a box.
//!
//! OSM draws the coastline as directed ways with the land on the left and the water on the
//! right; extracts carry the ways but no sea polygon. [`sea_polygons`] joins the ways end to
//! start into chains, extends chain ends that stop just short of the box (an extract cut at
//! its bounding box) onto the box's edge, clips every chain to the box, and closes each
//! piece along the box's edge on the water side (walking the edge clockwise, so the water
//! stays on the right). Closed chains inside the box are islands (counter-clockwise, land
//! inside) or enclosed water (clockwise); islands become holes in the sea around them. A
//! box with islands but no chain crossing it is all sea around them.
//!
//! Bad input is counted in the returned [`SkipReport`], never dropped silently: chains whose
//! ends lie inside the box too far from its edge cannot be closed, ways with fewer than two
//! points or non-finite coordinates are unusable, and islands that lie in no sea are left
//! out.

use std::collections::HashMap;

use geo::orient::{Direction, Orient};
use geo::{Area, Contains};
use geo_types::{Coord, LineString, Polygon, Rect};

use crate::twin::gis::layer::SkipReport;
use crate::twin::gis::rings::signed_area;

/// Fraction of the box's shorter side within which an open chain's end that lies inside the
/// box is extended straight onto the nearest edge (an extract cut at its bounding box keeps
/// the last node inside it, a few metres from the edge).
pub const SNAP_FRACTION: f64 = 0.01;

/// Skip reason: a chain whose end lies inside the box, too far from its edge to be closed.
pub const SKIP_UNCLOSABLE: &str = "coastline chain that cannot be closed";
/// Skip reason: a coastline way with fewer than two distinct points.
pub const SKIP_SHORT: &str = "coastline way with fewer than 2 points";
/// Skip reason: a coastline way with a NaN or infinite coordinate.
pub const SKIP_NOT_FINITE: &str = "coastline way with NaN or infinite coordinates";
/// Skip reason: an island (closed counter-clockwise chain) that lies in no sea polygon.
pub const SKIP_ISLAND_ON_LAND: &str = "coastline island outside the sea";
/// Repair: a chain end extended onto the box's edge.
pub const REPAIR_EXTENDED: &str = "coastline end extended to the extent's edge";

/// One coastline way: its id and its points, in the way's direction.
#[derive(Debug, Clone, PartialEq)]
pub struct CoastWay {
    /// OSM way id.
    pub id: i64,
    /// Points, land on the left.
    pub points: Vec<Coord<f64>>,
}

/// One sea polygon and the first coastline way on its shore (none for a box that is all
/// sea around its islands).
#[derive(Debug, Clone, PartialEq)]
pub struct SeaPolygon {
    /// The OSM id of the first coastline way of its boundary.
    pub first_way: Option<i64>,
    /// The water, exterior counter-clockwise, islands as holes.
    pub polygon: Polygon<f64>,
}

/// What [`sea_polygons`] built, and what it skipped or repaired.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sea {
    /// The sea within the box.
    pub polygons: Vec<SeaPolygon>,
    /// Skipped chains and islands, extended ends.
    pub report: SkipReport,
}

/// A chain of joined ways.
#[derive(Debug, Clone)]
struct Chain {
    /// Ids of its ways, in order.
    ids: Vec<i64>,
    /// Its points.
    points: Vec<Coord<f64>>,
}

impl Chain {
    fn is_closed(&self) -> bool {
        self.points.len() >= 4 && self.points.first() == self.points.last()
    }
}

/// A piece of a chain inside the box, from one point of the box's edge to another.
#[derive(Debug, Clone)]
struct Piece {
    /// The first way of its chain.
    first_way: i64,
    /// Its points, the first and last on the edge.
    points: Vec<Coord<f64>>,
    /// Position of its first point along the edge (clockwise from the top-left corner).
    enter: f64,
    /// Position of its last point along the edge.
    exit: f64,
}

/// A hashable key for a coordinate (exact: joined ways share their end node).
fn key(c: Coord<f64>) -> (u64, u64) {
    (c.x.to_bits(), c.y.to_bits())
}

/// Builds the sea inside `clip` from coastline ways (see the module documentation).
pub fn sea_polygons(ways: Vec<CoastWay>, clip: Rect<f64>) -> Sea {
    let mut report = SkipReport::default();
    let chains = join(clean(ways, &mut report));
    let frame = Frame::new(clip);

    let mut pieces = Vec::new();
    let mut islands: Vec<LineString<f64>> = Vec::new();
    let mut outers: Vec<SeaPolygon> = Vec::new();
    for mut chain in chains {
        let first_way = chain.ids[0];
        if chain.is_closed() {
            if chain.points.iter().all(|&c| frame.holds(c)) {
                let ring = LineString::from(chain.points);
                let area = signed_area(&ring.0);
                if area > 0.0 {
                    islands.push(ring);
                } else if area < 0.0 {
                    outers.push(SeaPolygon {
                        first_way: Some(first_way),
                        polygon: Polygon::new(ring, vec![]),
                    });
                }
                continue;
            }
            // A ring crossing the edge: start it outside the box and clip it as a chain.
            if let Some(k) = chain.points.iter().position(|&c| !frame.holds(c)) {
                let n = chain.points.len();
                let mut rotated = chain.points[k..n].to_vec();
                rotated.extend_from_slice(&chain.points[1..=k]);
                chain.points = rotated;
            }
        } else if !frame.extend_ends(&mut chain.points, &mut report) {
            report.skip(SKIP_UNCLOSABLE);
            continue;
        }
        for points in frame.clip(&chain.points) {
            pieces.push(Piece {
                first_way,
                enter: frame.position(points[0]),
                exit: frame.position(points[points.len() - 1]),
                points,
            });
        }
    }

    outers.extend(close_pieces(&pieces, &frame));
    if outers.is_empty() && !islands.is_empty() {
        outers.push(SeaPolygon {
            first_way: None,
            polygon: clip.to_polygon(),
        });
    }

    // Islands become holes of the smallest sea polygon holding them.
    let areas: Vec<f64> = outers.iter().map(|o| o.polygon.unsigned_area()).collect();
    let mut holes: Vec<Vec<LineString<f64>>> = vec![Vec::new(); outers.len()];
    for island in islands {
        let probe = island.0[0];
        let home = (0..outers.len())
            .filter(|&i| outers[i].polygon.contains(&probe) || outers[i].polygon.exterior().contains(&probe))
            .min_by(|&a, &b| areas[a].total_cmp(&areas[b]));
        match home {
            Some(i) => holes[i].push(island),
            None => report.skip(SKIP_ISLAND_ON_LAND),
        }
    }
    let polygons = outers
        .into_iter()
        .zip(holes)
        .map(|(o, h)| SeaPolygon {
            first_way: o.first_way,
            polygon: Polygon::new(o.polygon.into_inner().0, h).orient(Direction::Default),
        })
        .collect();
    Sea { polygons, report }
}

/// Drops repeated points, and ways that are unusable (counted).
fn clean(ways: Vec<CoastWay>, report: &mut SkipReport) -> Vec<Chain> {
    let mut out = Vec::with_capacity(ways.len());
    for mut way in ways {
        if way.points.iter().any(|c| !(c.x.is_finite() && c.y.is_finite())) {
            report.skip(SKIP_NOT_FINITE);
            continue;
        }
        way.points.dedup();
        if way.points.len() < 2 {
            report.skip(SKIP_SHORT);
            continue;
        }
        out.push(Chain {
            ids: vec![way.id],
            points: way.points,
        });
    }
    out
}

/// Joins chains end to start (keeping their direction) until none can be extended.
fn join(chains: Vec<Chain>) -> Vec<Chain> {
    let mut slots: Vec<Option<Chain>> = chains.into_iter().map(Some).collect();
    let mut by_start: HashMap<(u64, u64), Vec<usize>> = HashMap::new();
    for (i, c) in slots.iter().enumerate() {
        if let Some(c) = c {
            by_start.entry(key(c.points[0])).or_default().push(i);
        }
    }
    for i in 0..slots.len() {
        let Some(mut chain) = slots[i].take() else {
            continue;
        };
        while !chain.is_closed() {
            let end = key(chain.points[chain.points.len() - 1]);
            let next = by_start
                .get(&end)
                .and_then(|list| list.iter().copied().find(|&j| j != i && slots[j].is_some()));
            let Some(j) = next else { break };
            let other = slots[j].take().expect("checked above");
            chain.ids.extend(other.ids);
            chain.points.extend(other.points.into_iter().skip(1));
        }
        slots[i] = Some(chain);
    }
    slots.into_iter().flatten().collect()
}

/// Walks from each piece's exit clockwise along the edge to the next entry, piece after
/// piece, until back at the first: each loop is one sea polygon (clockwise).
fn close_pieces(pieces: &[Piece], frame: &Frame) -> Vec<SeaPolygon> {
    let mut used = vec![false; pieces.len()];
    let mut out = Vec::new();
    for start in 0..pieces.len() {
        if used[start] {
            continue;
        }
        used[start] = true;
        let mut ring: Vec<Coord<f64>> = pieces[start].points.clone();
        let mut current = start;
        // Each step uses a piece, so a loop ends within `pieces.len()` steps.
        for _ in 0..=pieces.len() {
            let exit = pieces[current].exit;
            let ahead = |t: f64| (t - exit).rem_euclid(frame.perimeter);
            let next = (0..pieces.len())
                .filter(|&j| !used[j] || j == start)
                .min_by(|&a, &b| ahead(pieces[a].enter).total_cmp(&ahead(pieces[b].enter)))
                .unwrap_or(start);
            let gap = ahead(pieces[next].enter);
            let mut corners: Vec<(f64, Coord<f64>)> = frame
                .corners()
                .into_iter()
                .map(|(t, c)| (ahead(t), c))
                .filter(|&(d, _)| d > 0.0 && d < gap)
                .collect();
            corners.sort_by(|a, b| a.0.total_cmp(&b.0));
            ring.extend(corners.into_iter().map(|(_, c)| c));
            if next == start {
                break;
            }
            used[next] = true;
            ring.extend(pieces[next].points.iter().copied());
            current = next;
        }
        ring.dedup();
        ring.push(ring[0]);
        if ring.len() >= 4 && signed_area(&ring) != 0.0 {
            out.push(SeaPolygon {
                first_way: Some(pieces[start].first_way),
                polygon: Polygon::new(LineString::from(ring), vec![]),
            });
        }
    }
    out
}

/// The clip box and positions along its edge.
#[derive(Debug, Clone, Copy)]
struct Frame {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
    /// Length of the edge all around.
    perimeter: f64,
}

impl Frame {
    fn new(r: Rect<f64>) -> Frame {
        let (min, max) = (r.min(), r.max());
        Frame {
            x0: min.x,
            y0: min.y,
            x1: max.x,
            y1: max.y,
            perimeter: 2.0 * (r.width() + r.height()),
        }
    }

    /// Whether a point is in the box or on its edge.
    fn holds(&self, c: Coord<f64>) -> bool {
        c.x >= self.x0 && c.x <= self.x1 && c.y >= self.y0 && c.y <= self.y1
    }

    /// The corners, clockwise from the top-left, with their positions along the edge.
    fn corners(&self) -> [(f64, Coord<f64>); 4] {
        let (w, h) = (self.x1 - self.x0, self.y1 - self.y0);
        [
            (
                0.0,
                Coord {
                    x: self.x0,
                    y: self.y1,
                },
            ),
            (
                w,
                Coord {
                    x: self.x1,
                    y: self.y1,
                },
            ),
            (
                w + h,
                Coord {
                    x: self.x1,
                    y: self.y0,
                },
            ),
            (
                2.0 * w + h,
                Coord {
                    x: self.x0,
                    y: self.y0,
                },
            ),
        ]
    }

    /// Distances of a point to the top, right, bottom and left edges.
    fn edge_distances(&self, c: Coord<f64>) -> [f64; 4] {
        [
            (self.y1 - c.y).abs(),
            (self.x1 - c.x).abs(),
            (c.y - self.y0).abs(),
            (c.x - self.x0).abs(),
        ]
    }

    /// The nearest edge (0 top, 1 right, 2 bottom, 3 left) and the distance to it.
    fn nearest_edge(&self, c: Coord<f64>) -> (usize, f64) {
        self.edge_distances(c)
            .into_iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("four edges")
    }

    /// Position along the edge, clockwise from the top-left corner, of a point on (or
    /// nearest to) the edge.
    fn position(&self, c: Coord<f64>) -> f64 {
        let (w, h) = (self.x1 - self.x0, self.y1 - self.y0);
        match self.nearest_edge(c).0 {
            0 => (c.x - self.x0).clamp(0.0, w),
            1 => w + (self.y1 - c.y).clamp(0.0, h),
            2 => w + h + (self.x1 - c.x).clamp(0.0, w),
            _ => 2.0 * w + h + (c.y - self.y0).clamp(0.0, h),
        }
    }

    /// Extends each end of an open chain that lies inside the box onto the nearest edge,
    /// when it is within [`SNAP_FRACTION`] of the box's shorter side of it (counted as
    /// repaired). `false` when an end is farther: the chain cannot be closed.
    fn extend_ends(&self, points: &mut Vec<Coord<f64>>, report: &mut SkipReport) -> bool {
        let tolerance = SNAP_FRACTION * (self.x1 - self.x0).min(self.y1 - self.y0);
        let mut snapped = [None, None];
        for (slot, c) in snapped.iter_mut().zip([points[0], points[points.len() - 1]]) {
            let inside = c.x > self.x0 && c.x < self.x1 && c.y > self.y0 && c.y < self.y1;
            if !inside {
                continue;
            }
            let (edge, d) = self.nearest_edge(c);
            if d > tolerance {
                return false;
            }
            *slot = Some(match edge {
                0 => Coord { x: c.x, y: self.y1 },
                1 => Coord { x: self.x1, y: c.y },
                2 => Coord { x: c.x, y: self.y0 },
                _ => Coord { x: self.x0, y: c.y },
            });
        }
        if let Some(c) = snapped[0] {
            points.insert(0, c);
            report.repair(REPAIR_EXTENDED);
        }
        if let Some(c) = snapped[1] {
            points.push(c);
            report.repair(REPAIR_EXTENDED);
        }
        true
    }

    /// The parts of a polyline inside the box, each with at least two points.
    fn clip(&self, points: &[Coord<f64>]) -> Vec<Vec<Coord<f64>>> {
        let mut out = Vec::new();
        let mut run: Vec<Coord<f64>> = Vec::new();
        for w in points.windows(2) {
            match self.clip_segment(w[0], w[1]) {
                None => finish(&mut run, &mut out),
                Some((p, q, leaves)) => {
                    if run.last() != Some(&p) {
                        finish(&mut run, &mut out);
                        run.push(p);
                    }
                    if run.last() != Some(&q) {
                        run.push(q);
                    }
                    if leaves {
                        finish(&mut run, &mut out);
                    }
                }
            }
        }
        finish(&mut run, &mut out);
        out
    }

    /// Liang–Barsky: the part of segment `a`–`b` in the box, and whether the segment
    /// leaves the box before `b`.
    fn clip_segment(&self, a: Coord<f64>, b: Coord<f64>) -> Option<(Coord<f64>, Coord<f64>, bool)> {
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let mut t0: f64 = 0.0;
        let mut t1: f64 = 1.0;
        for (p, q) in [
            (-dx, a.x - self.x0),
            (dx, self.x1 - a.x),
            (-dy, a.y - self.y0),
            (dy, self.y1 - a.y),
        ] {
            if p == 0.0 {
                if q < 0.0 {
                    return None;
                }
            } else {
                let r = q / p;
                if p < 0.0 {
                    t0 = t0.max(r);
                } else {
                    t1 = t1.min(r);
                }
            }
        }
        if t0 > t1 {
            return None;
        }
        let at = |t: f64| Coord {
            x: a.x + t * dx,
            y: a.y + t * dy,
        };
        let p = if t0 == 0.0 { a } else { at(t0) };
        let q = if t1 == 1.0 { b } else { at(t1) };
        Some((p, q, t1 < 1.0))
    }
}

/// Ends a run of clipped points: kept when it has two points or more.
fn finish(run: &mut Vec<Coord<f64>>, out: &mut Vec<Vec<Coord<f64>>>) {
    if run.len() >= 2 {
        out.push(std::mem::take(run));
    } else {
        run.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(x: f64, y: f64) -> Coord<f64> {
        Coord { x, y }
    }

    fn way(id: i64, pts: &[(f64, f64)]) -> CoastWay {
        CoastWay {
            id,
            points: pts.iter().map(|&(x, y)| c(x, y)).collect(),
        }
    }

    fn ten() -> Rect<f64> {
        Rect::new(c(0.0, 0.0), c(10.0, 10.0))
    }

    fn total_area(sea: &Sea) -> f64 {
        sea.polygons.iter().map(|p| p.polygon.unsigned_area()).sum()
    }

    #[test]
    fn an_open_chain_across_the_box_puts_the_sea_on_its_right() {
        // West to east: the water is south.
        let sea = sea_polygons(vec![way(1, &[(-1.0, 5.0), (5.0, 6.0), (11.0, 5.0)])], ten());
        assert_eq!(sea.polygons.len(), 1);
        let p = &sea.polygons[0].polygon;
        // Under y = 5 + (x + 1)/6 up to x = 5, then down again: two trapezoids.
        let expected = 5.0 * (11.0 + 1.0 / 6.0);
        assert!(
            (p.unsigned_area() - expected).abs() < 1e-9,
            "{}",
            p.unsigned_area()
        );
        assert!(p.contains(&c(5.0, 1.0)) && !p.contains(&c(5.0, 9.0)));
        assert_eq!(sea.polygons[0].first_way, Some(1));
        assert_eq!(sea.report, SkipReport::default());
        // East to west: the water is north.
        let sea = sea_polygons(vec![way(2, &[(11.0, 5.0), (-1.0, 5.0)])], ten());
        let p = &sea.polygons[0].polygon;
        assert!((p.unsigned_area() - 50.0).abs() < 1e-9);
        assert!(p.contains(&c(5.0, 9.0)) && !p.contains(&c(5.0, 1.0)));
    }

    #[test]
    fn ways_are_joined_in_their_direction_whatever_their_order() {
        let ways = vec![
            way(3, &[(6.0, 5.0), (11.0, 5.0)]),
            way(1, &[(-1.0, 5.0), (2.0, 5.0)]),
            way(2, &[(2.0, 5.0), (6.0, 5.0)]),
        ];
        let sea = sea_polygons(ways, ten());
        assert_eq!(sea.polygons.len(), 1);
        assert!((total_area(&sea) - 50.0).abs() < 1e-9);
        assert!(sea.polygons[0].polygon.contains(&c(5.0, 1.0)));
    }

    #[test]
    fn an_open_chain_ending_near_the_edge_is_extended_onto_it() {
        // An extract cut at the box keeps the last nodes inside it, 0.05 from the edge.
        let sea = sea_polygons(vec![way(1, &[(0.05, 5.0), (9.95, 5.0)])], ten());
        assert_eq!(sea.report.repaired.get(REPAIR_EXTENDED), Some(&2));
        assert_eq!(sea.report.total(), 0);
        assert!((total_area(&sea) - 50.0).abs() < 1e-9, "{}", total_area(&sea));
    }

    #[test]
    fn a_bay_entering_and_leaving_by_one_edge() {
        // Up the west shore, along the head, down the east shore: water inside the U.
        let sea = sea_polygons(
            vec![way(1, &[(3.0, -1.0), (3.0, 6.0), (7.0, 6.0), (7.0, -1.0)])],
            ten(),
        );
        assert_eq!(sea.polygons.len(), 1);
        assert!((total_area(&sea) - 24.0).abs() < 1e-9);
        assert!(sea.polygons[0].polygon.contains(&c(5.0, 3.0)));
        // Two such bays: two polygons.
        let sea = sea_polygons(
            vec![
                way(1, &[(1.0, -1.0), (1.0, 2.0), (2.0, 2.0), (2.0, -1.0)]),
                way(2, &[(6.0, -1.0), (6.0, 3.0), (8.0, 3.0), (8.0, -1.0)]),
            ],
            ten(),
        );
        assert_eq!(sea.polygons.len(), 2);
        assert!((total_area(&sea) - (2.0 + 6.0)).abs() < 1e-9);
    }

    #[test]
    fn a_closed_island_is_a_hole_in_the_sea() {
        let island = way(9, &[(2.0, 1.0), (3.0, 1.0), (3.0, 2.0), (2.0, 2.0), (2.0, 1.0)]);
        // With the mainland shore: a hole in the sea south of it.
        let sea = sea_polygons(vec![way(1, &[(-1.0, 5.0), (11.0, 5.0)]), island.clone()], ten());
        assert_eq!(sea.polygons.len(), 1);
        assert_eq!(sea.polygons[0].polygon.interiors().len(), 1);
        assert!((total_area(&sea) - 49.0).abs() < 1e-9);
        assert!(!sea.polygons[0].polygon.contains(&c(2.5, 1.5)));
        // Alone: the whole box is sea around it.
        let sea = sea_polygons(vec![island.clone()], ten());
        assert_eq!(sea.polygons.len(), 1);
        assert_eq!(sea.polygons[0].first_way, None);
        assert!((total_area(&sea) - 99.0).abs() < 1e-9);
        // North of the shore it lies on land: counted, not silently kept or dropped.
        let north = way(8, &[(2.0, 7.0), (3.0, 7.0), (3.0, 8.0), (2.0, 8.0), (2.0, 7.0)]);
        let sea = sea_polygons(vec![way(1, &[(-1.0, 5.0), (11.0, 5.0)]), north], ten());
        assert_eq!(sea.report.reasons.get(SKIP_ISLAND_ON_LAND), Some(&1));
        assert!((total_area(&sea) - 50.0).abs() < 1e-9);
    }

    #[test]
    fn an_island_cut_by_the_edge_and_a_closed_lagoon() {
        // Counter-clockwise square half outside the west edge: the sea is the rest.
        let island = way(
            5,
            &[(-2.0, 4.0), (2.0, 4.0), (2.0, 6.0), (-2.0, 6.0), (-2.0, 4.0)],
        );
        let sea = sea_polygons(vec![island], ten());
        assert_eq!(sea.polygons.len(), 1);
        assert!((total_area(&sea) - 96.0).abs() < 1e-9, "{}", total_area(&sea));
        // Clockwise closed ring: water inside it.
        let lagoon = way(6, &[(4.0, 4.0), (4.0, 5.0), (5.0, 5.0), (5.0, 4.0), (4.0, 4.0)]);
        let sea = sea_polygons(vec![lagoon], ten());
        assert_eq!(sea.polygons.len(), 1);
        assert!((total_area(&sea) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn bad_chains_are_counted() {
        let ways = vec![
            // Ends in the middle of the box: cannot be closed.
            way(1, &[(-1.0, 5.0), (5.0, 5.0)]),
            way(2, &[(3.0, 3.0), (3.0, 3.0)]),
            way(3, &[(f64::NAN, 1.0), (2.0, 2.0)]),
        ];
        let sea = sea_polygons(ways, ten());
        assert!(sea.polygons.is_empty());
        assert_eq!(sea.report.reasons.get(SKIP_UNCLOSABLE), Some(&1));
        assert_eq!(sea.report.reasons.get(SKIP_SHORT), Some(&1));
        assert_eq!(sea.report.reasons.get(SKIP_NOT_FINITE), Some(&1));
        assert_eq!(sea.report.total(), 3);
        // Chains outside the box are not the box's business.
        let sea = sea_polygons(vec![way(4, &[(20.0, 5.0), (30.0, 5.0)])], ten());
        assert!(sea.polygons.is_empty() && sea.report.total() == 0);
        // No coastline: no sea.
        assert_eq!(sea_polygons(Vec::new(), ten()), Sea::default());
    }
}
