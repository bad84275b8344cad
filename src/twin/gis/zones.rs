//! Analysis zones when no district layer exists: a regular hex or square grid over the
//! city, so that per-zone indicators always have zones; cells with nothing of the city in
//! them (no building, road or POI: water, open land, the corners of the box) are dropped
//! rather than scored.

use geo_types::{Coord, LineString, MultiPolygon, Polygon};

use crate::twin::city::Zone;
use crate::twin::scene::{GridShape, ZoneGrid};

/// Most cells a generated grid may have; a larger grid is coarsened to fit.
pub const MAX_GRID_CELLS: usize = 250_000;

/// Cells of a grid covering `bbox` `[min_x, min_y, max_x, max_y]` (scene CRS, metres).
/// Hexagons are flat-topped with `size_m` between opposite edges; squares have side `size_m`.
pub fn grid(bbox: [f64; 4], spec: &ZoneGrid) -> Vec<Zone> {
    let (w, h) = ((bbox[2] - bbox[0]).max(1.0), (bbox[3] - bbox[1]).max(1.0));
    let mut size = spec.size_m;
    // Coarsen until the grid fits (keeps a typo such as size_m: 1.0 from exhausting memory).
    while (w / size + 2.0) * (h / size + 2.0) > MAX_GRID_CELLS as f64 {
        size *= 2.0;
    }
    match spec.shape {
        GridShape::Square => square_grid(bbox, size),
        GridShape::Hex => hex_grid(bbox, size),
    }
}

/// The cells of a generated grid that hold something of the city: a building's
/// footprint centroid, a road vertex or a POI among `points` (scene CRS). Returns the kept
/// cells, in their order, and how many were dropped. Cell names keep their grid position
/// ("H3-7"), so a kept cell is named as before.
pub fn keep_occupied(zones: Vec<Zone>, points: impl IntoIterator<Item = [f64; 2]>) -> (Vec<Zone>, usize) {
    let index =
        crate::twin::indicators::context::ZoneIndex::new(zones.iter().map(|z| z.area.clone()).collect());
    let mut used = vec![false; zones.len()];
    for p in points {
        if let Some(z) = index.locate(p) {
            used[z as usize] = true;
        }
    }
    let before = zones.len();
    let kept: Vec<Zone> = zones
        .into_iter()
        .zip(used)
        .filter_map(|(z, u)| u.then_some(z))
        .collect();
    let dropped = before - kept.len();
    (kept, dropped)
}

/// Cuts generated cells to `bbox` (the extent of the data): a cell at the edge of the
/// data measures densities over the part of it where the data are, not over the whole
/// hexagon reaching past them. Cells keep their names; a cell wholly outside is dropped.
/// A box without area (data on one point or line) leaves the cells whole.
pub fn clip_to(zones: Vec<Zone>, bbox: [f64; 4]) -> Vec<Zone> {
    use geo::BooleanOps;
    // Data on a line or a point have no area to cut to: the cells stay whole.
    if !(bbox[2] > bbox[0] && bbox[3] > bbox[1]) {
        return zones;
    }
    let rect: Polygon<f64> = geo_types::Rect::new(
        Coord {
            x: bbox[0],
            y: bbox[1],
        },
        Coord {
            x: bbox[2],
            y: bbox[3],
        },
    )
    .to_polygon();
    zones
        .into_iter()
        .filter_map(|mut z| {
            let cut = z.area.intersection(&MultiPolygon(vec![rect.clone()]));
            if cut.0.is_empty() {
                return None;
            }
            z.area = cut;
            Some(z)
        })
        .collect()
}

fn zone(name: String, ring: Vec<Coord<f64>>) -> Zone {
    Zone {
        name,
        area: MultiPolygon(vec![Polygon::new(LineString::from(ring), vec![])]),
        generated: true,
    }
}

fn square_grid(b: [f64; 4], s: f64) -> Vec<Zone> {
    let cols = ((b[2] - b[0]) / s).ceil().max(1.0) as usize;
    let rows = ((b[3] - b[1]) / s).ceil().max(1.0) as usize;
    let mut out = Vec::with_capacity(cols * rows);
    for r in 0..rows {
        for c in 0..cols {
            let (x, y) = (b[0] + c as f64 * s, b[1] + r as f64 * s);
            let ring = vec![
                Coord { x, y },
                Coord { x: x + s, y },
                Coord { x: x + s, y: y + s },
                Coord { x, y: y + s },
                Coord { x, y },
            ];
            out.push(zone(format!("S{c}-{r}"), ring));
        }
    }
    out
}

fn hex_grid(b: [f64; 4], flat: f64) -> Vec<Zone> {
    // Flat-topped hexagon: circumradius R, width 2R, height √3·R = `flat`.
    let r = flat / 3f64.sqrt();
    let dx = 1.5 * r;
    let cols = ((b[2] - b[0]) / dx).ceil() as usize + 1;
    let rows = ((b[3] - b[1]) / flat).ceil() as usize + 1;
    let mut out = Vec::with_capacity(cols * rows);
    for c in 0..cols {
        for row in 0..rows {
            let cx = b[0] + c as f64 * dx;
            let cy = b[1] + row as f64 * flat + if c % 2 == 1 { flat / 2.0 } else { 0.0 };
            let mut ring: Vec<Coord<f64>> = (0..6)
                .map(|k| {
                    let a = std::f64::consts::PI / 3.0 * k as f64;
                    Coord {
                        x: cx + r * a.cos(),
                        y: cy + r * a.sin(),
                    }
                })
                .collect();
            ring.push(ring[0]);
            // Keep only cells that touch the box.
            if cx + r < b[0] || cx - r > b[2] || cy + flat / 2.0 < b[1] || cy - flat / 2.0 > b[3] {
                continue;
            }
            out.push(zone(format!("H{c}-{row}"), ring));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, Contains};

    #[test]
    fn cells_are_cut_to_the_data() {
        let spec = ZoneGrid {
            shape: GridShape::Hex,
            size_m: 100.0,
        };
        let b = [0.0, 0.0, 250.0, 180.0];
        let cells = grid(b, &spec);
        let whole: f64 = cells.iter().map(|z| z.area.unsigned_area()).sum();
        let cut = clip_to(cells, b);
        let area: f64 = cut.iter().map(|z| z.area.unsigned_area()).sum();
        assert!(
            whole > area * 1.2,
            "the hexagons reach past the box: {whole} vs {area}"
        );
        assert!(
            (area - 250.0 * 180.0).abs() < 1e-3,
            "the cut cells tile the box: {area}"
        );
        for z in &cut {
            let r = geo::BoundingRect::bounding_rect(&z.area).unwrap();
            assert!(r.min().x >= -1e-3 && r.max().x <= 250.0 + 1e-3 && r.max().y <= 180.0 + 1e-3);
        }
    }

    #[test]
    fn empty_cells_are_dropped_and_occupied_ones_keep_their_names() {
        let spec = ZoneGrid {
            shape: GridShape::Square,
            size_m: 100.0,
        };
        let all = grid([0.0, 0.0, 300.0, 300.0], &spec);
        assert_eq!(all.len(), 9);
        // Something in the lower-left cell and in the centre one; the rest is empty.
        let (kept, dropped) = keep_occupied(
            all,
            [[50.0, 50.0], [150.0, 150.0], [160.0, 140.0], [f64::NAN, 0.0]],
        );
        assert_eq!(dropped, 7);
        let names: Vec<&str> = kept.iter().map(|z| z.name.as_str()).collect();
        assert_eq!(names, ["S0-0", "S1-1"]);
        // Nothing at all: every cell goes.
        let (none, dropped) = keep_occupied(grid([0.0, 0.0, 300.0, 300.0], &spec), []);
        assert!(none.is_empty());
        assert_eq!(dropped, 9);
    }

    #[test]
    fn squares_tile_the_box() {
        let z = grid(
            [0., 0., 1000., 500.],
            &ZoneGrid {
                shape: GridShape::Square,
                size_m: 250.0,
            },
        );
        assert_eq!(z.len(), 8);
        let total: f64 = z.iter().map(|z| z.area.unsigned_area()).sum();
        assert!((total - 500_000.0).abs() < 1e-6);
    }

    #[test]
    fn hexes_cover_every_point_once() {
        let b = [0., 0., 2000., 1500.];
        let z = grid(
            b,
            &ZoneGrid {
                shape: GridShape::Hex,
                size_m: 300.0,
            },
        );
        let cell_area = 3f64.sqrt() / 2.0 * 300.0f64.powi(2);
        assert!((z[0].area.unsigned_area() - cell_area).abs() < 1e-6);
        for i in 0..20 {
            for j in 0..15 {
                let p = geo_types::Point::new(i as f64 * 100.0 + 7.0, j as f64 * 100.0 + 3.0);
                let n = z.iter().filter(|z| z.area.contains(&p)).count();
                assert_eq!(n, 1, "point {p:?} in {n} cells");
            }
        }
    }

    #[test]
    fn tiny_cells_are_coarsened() {
        let z = grid(
            [0., 0., 100_000., 100_000.],
            &ZoneGrid {
                shape: GridShape::Square,
                size_m: 1.0,
            },
        );
        assert!(z.len() <= MAX_GRID_CELLS);
    }
}
