//! Ring repair and polygon assembly: closes rings, drops degenerate ones, and sorts rings
//! into polygons with holes by orientation and containment (for Shapefile and OSM relations).

use geo::{Contains, Coord, LineString, MultiPolygon, Polygon};

use crate::twin::gis::layer::SkipReport;

/// What a raw ring was declared as by its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingRole {
    /// Declared outer (OSM role "outer", Shapefile clockwise ring).
    Outer,
    /// Declared inner (OSM role "inner", Shapefile counter-clockwise ring).
    Inner,
    /// Unknown: decided by containment alone.
    Unknown,
}

/// Cleans one ring: removes consecutive duplicate vertices, closes it if open (counted as
/// repaired), and rejects it (returns `None`, counted as skipped reason) when it has NaN
/// coordinates or fewer than 4 points once closed, or no area.
pub fn clean_ring(points: &[Coord<f64>], report: &mut SkipReport) -> Result<LineString<f64>, &'static str> {
    if points.iter().any(|c| !(c.x.is_finite() && c.y.is_finite())) {
        return Err("ring with NaN or infinite coordinates");
    }
    let mut out: Vec<Coord<f64>> = Vec::with_capacity(points.len() + 1);
    for &c in points {
        if out.last() != Some(&c) {
            out.push(c);
        }
    }
    if out.len() >= 2 && out.first() != out.last() {
        out.push(out[0]);
        report.repair("unclosed ring closed");
    }
    if out.len() < 4 {
        return Err("ring with fewer than 4 points");
    }
    if signed_area(&out) == 0.0 {
        return Err("ring with zero area");
    }
    Ok(LineString::from(out))
}

/// Signed area of a closed ring (shoelace; positive when counter-clockwise).
pub fn signed_area(ring: &[Coord<f64>]) -> f64 {
    if ring.len() < 3 {
        return 0.0;
    }
    let o = ring[0];
    let mut twice = 0.0;
    for w in ring.windows(2) {
        twice += (w[0].x - o.x) * (w[1].y - o.y) - (w[1].x - o.x) * (w[0].y - o.y);
    }
    twice / 2.0
}

/// Assembles cleaned rings into polygons. Outer rings are those declared outer (or, for
/// unknown roles, those not inside another ring); each inner ring becomes a hole of the
/// smallest outer ring that contains it. An inner ring inside no outer ring is kept as an
/// outer ring and counted as repaired.
pub fn assemble(
    rings: Vec<(LineString<f64>, RingRole)>,
    report: &mut SkipReport,
) -> Option<MultiPolygon<f64>> {
    if rings.is_empty() {
        return None;
    }
    if rings.len() == 1 {
        // The common case: one ring, one polygon.
        let (ring, _) = rings.into_iter().next()?;
        let mut ring = ring;
        if signed_area(&ring.0) < 0.0 {
            ring.0.reverse();
        }
        return Some(MultiPolygon(vec![Polygon::new(ring, vec![])]));
    }
    // Largest first, so that containers come before what they contain.
    let mut rings: Vec<(LineString<f64>, RingRole, f64)> = rings
        .into_iter()
        .map(|(r, role)| {
            let a = signed_area(&r.0).abs();
            (r, role, a)
        })
        .collect();
    rings.sort_by(|a, b| b.2.total_cmp(&a.2));

    let mut outers: Vec<(Polygon<f64>, f64)> = Vec::new();
    let mut holes: Vec<Vec<LineString<f64>>> = Vec::new();
    for (ring, role, area) in rings {
        let probe = Polygon::new(ring.clone(), vec![]);
        // The smallest outer (by area; outers are in decreasing area order) containing it.
        let container = outers
            .iter()
            .enumerate()
            .rev()
            .find(|(_, (o, _))| ring_inside(o, &probe))
            .map(|(i, _)| i);
        let is_hole = match role {
            RingRole::Inner => true,
            RingRole::Outer => false,
            RingRole::Unknown => container.is_some_and(|i| {
                // inside a hole of that outer → an island, i.e. a new outer
                !holes[i]
                    .iter()
                    .any(|h| ring_inside(&Polygon::new(h.clone(), vec![]), &probe))
            }),
        };
        match (is_hole, container) {
            (true, Some(i)) => holes[i].push(ring),
            (true, None) => {
                report.repair("inner ring outside every outer ring kept as outer");
                outers.push((probe, area));
                holes.push(Vec::new());
            }
            (false, _) => {
                outers.push((probe, area));
                holes.push(Vec::new());
            }
        }
    }
    let polys = outers
        .into_iter()
        .zip(holes)
        .map(|((p, _), h)| {
            let (ext, _) = p.into_inner();
            let mut poly = Polygon::new(ext, h);
            use geo::orient::{Direction, Orient};
            poly = poly.orient(Direction::Default);
            poly
        })
        .collect();
    Some(MultiPolygon(polys))
}

/// Whether `inner` lies inside `outer`, judged by a vertex of `inner` (rings of valid
/// polygons do not cross, so one vertex decides; a shared vertex falls back to the centroid).
fn ring_inside(outer: &Polygon<f64>, inner: &Polygon<f64>) -> bool {
    use geo::{Centroid, Intersects};
    let first = inner.exterior().0[0];
    if outer.contains(&first) {
        return true;
    }
    if outer.exterior().intersects(&first)
        && let Some(c) = inner.centroid()
    {
        return outer.contains(&c);
    }
    false
}

/// A run of coordinates: an open way, or a ring once closed.
pub type Segment = Vec<Coord<f64>>;

/// Joins open way segments (OSM multipolygon members) end to end into closed rings.
/// Segments that cannot be closed are returned in the second vector.
pub fn join_segments(mut segments: Vec<Segment>) -> (Vec<Segment>, Vec<Segment>) {
    let mut closed = Vec::new();
    let mut open = Vec::new();
    segments.retain(|s| !s.is_empty());
    while let Some(mut current) = segments.pop() {
        loop {
            if current.len() >= 2 && current.first() == current.last() {
                closed.push(current);
                break;
            }
            let end = *current.last().expect("non-empty");
            let pos = segments
                .iter()
                .position(|s| s.first() == Some(&end) || s.last() == Some(&end));
            match pos {
                Some(p) => {
                    let mut next = segments.swap_remove(p);
                    if next.first() != Some(&end) {
                        next.reverse();
                    }
                    current.extend(next.into_iter().skip(1));
                }
                None => {
                    open.push(current);
                    break;
                }
            }
        }
    }
    (closed, open)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sq(x0: f64, y0: f64, s: f64) -> Vec<Coord<f64>> {
        vec![
            Coord { x: x0, y: y0 },
            Coord { x: x0 + s, y: y0 },
            Coord { x: x0 + s, y: y0 + s },
            Coord { x: x0, y: y0 + s },
            Coord { x: x0, y: y0 },
        ]
    }

    #[test]
    fn closes_open_rings_and_counts() {
        let mut r = SkipReport::default();
        let mut pts = sq(0., 0., 1.);
        pts.pop();
        let ring = clean_ring(&pts, &mut r).unwrap();
        assert!(ring.is_closed());
        assert_eq!(r.repaired["unclosed ring closed"], 1);
    }

    #[test]
    fn rejects_degenerate_rings() {
        let mut r = SkipReport::default();
        let two = vec![Coord { x: 0., y: 0. }, Coord { x: 1., y: 1. }];
        assert!(clean_ring(&two, &mut r).is_err());
        let mut nan = sq(0., 0., 1.);
        nan[1].x = f64::NAN;
        assert!(clean_ring(&nan, &mut r).is_err());
        let dup = vec![Coord { x: 0., y: 0. }; 5];
        assert!(clean_ring(&dup, &mut r).is_err());
    }

    #[test]
    fn holes_go_to_the_smallest_container() {
        let mut r = SkipReport::default();
        let rings = vec![
            (LineString::from(sq(2., 2., 1.)), RingRole::Unknown), // hole of the big one
            (LineString::from(sq(0., 0., 10.)), RingRole::Unknown),
            (LineString::from(sq(20., 20., 5.)), RingRole::Unknown), // separate outer
            (LineString::from(sq(21., 21., 1.)), RingRole::Inner),   // hole of the second
        ];
        let mp = assemble(rings, &mut r).unwrap();
        assert_eq!(mp.0.len(), 2);
        assert_eq!(mp.0[0].interiors().len(), 1);
        assert_eq!(mp.0[1].interiors().len(), 1);
        use geo::Area;
        assert!((mp.unsigned_area() - (100. - 1. + 25. - 1.)).abs() < 1e-9);
    }

    #[test]
    fn island_in_a_hole_is_an_outer() {
        let mut r = SkipReport::default();
        let rings = vec![
            (LineString::from(sq(0., 0., 10.)), RingRole::Unknown),
            (LineString::from(sq(2., 2., 6.)), RingRole::Unknown),
            (LineString::from(sq(4., 4., 1.)), RingRole::Unknown),
        ];
        let mp = assemble(rings, &mut r).unwrap();
        assert_eq!(mp.0.len(), 2);
        use geo::Area;
        assert!((mp.unsigned_area() - (100. - 36. + 1.)).abs() < 1e-9);
    }

    #[test]
    fn joins_way_segments_into_rings() {
        let a = vec![Coord { x: 0., y: 0. }, Coord { x: 1., y: 0. }];
        let b = vec![Coord { x: 1., y: 1. }, Coord { x: 1., y: 0. }]; // reversed
        let c = vec![
            Coord { x: 1., y: 1. },
            Coord { x: 0., y: 1. },
            Coord { x: 0., y: 0. },
        ];
        let d = vec![Coord { x: 5., y: 5. }, Coord { x: 6., y: 6. }];
        let (closed, open) = join_segments(vec![a, b, c, d]);
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].len(), 5);
        assert_eq!(open.len(), 1);
    }
}
