//! Privacy by aggregation: data about individuals (service requests with their locations
//! and addresses, complaints) is shown to a role without clearance only as counts per hex
//! cell or per zone, and a cell holding fewer than k records is suppressed altogether.
//! The same functions feed the app and every export, so what the screen does not show,
//! no file contains.

use std::collections::{BTreeMap, HashMap};

use geo::{BoundingRect, Contains};
use geo_types::Point;
use serde::Serialize;

use crate::twin::access::roles::Role;
use crate::twin::city::Zone;
use crate::twin::feeds::{Metric, Observation, Subject};
use crate::twin::overlay::Ramp;

/// Default hex cell size for aggregated personal data, metres between opposite edges.
pub const DEFAULT_CELL_M: f64 = 250.0;

/// Colours of aggregated personal data cells by count class (sRGB, light to dark purple):
/// the first for counts below k (never drawn), then k–2k, 2k–4k, 4k–8k, ≥ 8k.
pub const COUNT_COLOURS: [[u8; 3]; 5] = [
    [218, 218, 235],
    [188, 189, 220],
    [158, 154, 200],
    [117, 107, 177],
    [84, 39, 143],
];

/// Keys of a service request's `detail` (`key=value;...`) that identify a person or a
/// home; they never leave the record unaggregated.
pub const IDENTIFYING_KEYS: [&str; 4] = ["address", "building", "name", "phone"];

/// One record about an individual: where, what, and (only for cleared roles) who / which
/// address.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonalRecord {
    /// Easting, scene CRS metres.
    pub x: f64,
    /// Northing, scene CRS metres.
    pub y: f64,
    /// Category, e.g. "pothole" (empty when unknown).
    pub category: String,
    /// The record's id in its source, when it has one.
    pub id: Option<String>,
    /// Address or other identifying detail (`address=`, `building=` in the detail).
    pub address: Option<String>,
}

/// The service requests opened in a set of observations, as personal records (those with a
/// point location; requests about a zone or the city are already aggregates).
pub fn requests_from_observations<'a>(obs: impl IntoIterator<Item = &'a Observation>) -> Vec<PersonalRecord> {
    obs.into_iter()
        .filter(|o| o.metric == Metric::ServiceRequestOpened)
        .filter_map(|o| match o.subject {
            Subject::Point { x, y } if x.is_finite() && y.is_finite() => {
                let field = |key: &str| detail_value(&o.detail, key).map(str::to_string);
                let address = IDENTIFYING_KEYS
                    .iter()
                    .find_map(|k| detail_value(&o.detail, k).map(|v| format!("{k}={v}")));
                Some(PersonalRecord {
                    x,
                    y,
                    category: field("category").unwrap_or_default(),
                    id: field("request"),
                    address,
                })
            }
            _ => None,
        })
        .collect()
}

/// The value of `key` in a `key=value;key=value` detail string.
pub fn detail_value<'a>(detail: &'a str, key: &str) -> Option<&'a str> {
    detail
        .split([';', ',', '|'])
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// A flat-topped hexagonal grid anchored at the scene origin (0, 0): cells of `size_m`
/// between opposite edges, as the scene's generated zone grid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HexGrid {
    /// Distance between opposite edges, metres.
    pub size_m: f64,
}

impl HexGrid {
    /// Circumradius.
    fn radius(&self) -> f64 {
        self.size_m / 3f64.sqrt()
    }

    /// Axial coordinates (q, r) of the cell holding a point.
    pub fn cell_of(&self, x: f64, y: f64) -> (i64, i64) {
        let r0 = self.radius();
        let q = 2.0 / 3.0 * x / r0;
        let r = (-x / 3.0 + 3f64.sqrt() / 3.0 * y) / r0;
        // Cube rounding.
        let (cx, cz) = (q, r);
        let cy = -cx - cz;
        let (mut rx, ry, mut rz) = (cx.round(), cy.round(), cz.round());
        let (dx, dy, dz) = ((rx - cx).abs(), (ry - cy).abs(), (rz - cz).abs());
        if dx > dy && dx > dz {
            rx = -ry - rz;
        } else if dy <= dz {
            rz = -rx - ry;
        }
        (rx as i64, rz as i64)
    }

    /// Centre of a cell.
    pub fn centre(&self, q: i64, r: i64) -> [f64; 2] {
        let r0 = self.radius();
        [
            r0 * 1.5 * q as f64,
            r0 * 3f64.sqrt() * (r as f64 + q as f64 / 2.0),
        ]
    }

    /// The six corners of a cell, counter-clockwise from east.
    pub fn ring(&self, q: i64, r: i64) -> Vec<[f64; 2]> {
        let [cx, cy] = self.centre(q, r);
        let r0 = self.radius();
        (0..6)
            .map(|i| {
                let a = std::f64::consts::PI / 3.0 * i as f64;
                [cx + r0 * a.cos(), cy + r0 * a.sin()]
            })
            .collect()
    }
}

/// The colour ramp of cell counts for a given k: breaks at k, 2k, 4k and 8k (the class
/// below k is never drawn: such cells are suppressed), unit "requests".
pub fn count_ramp(k: usize) -> Ramp {
    let k = k.max(1) as f64;
    Ramp {
        unit: "requests".into(),
        breaks: vec![k, 2.0 * k, 4.0 * k, 8.0 * k],
        colours: COUNT_COLOURS.to_vec(),
    }
}

/// A fixed set of hex cells covering a map: the cells an app meshes once and recolours as
/// counts change. Index `i` of [`CellMap::cells`] is the cell's feature index.
#[derive(Debug, Clone, PartialEq)]
pub struct CellMap {
    /// The grid.
    pub grid: HexGrid,
    /// Axial coordinates of each cell, by index.
    pub cells: Vec<(i64, i64)>,
    index: HashMap<(i64, i64), usize>,
}

impl CellMap {
    /// Every cell of `grid` that overlaps `bbox` (`[min_x, min_y, max_x, max_y]`, scene
    /// CRS) grown by `margin_m` on every side. Empty for a box that is not finite.
    pub fn covering(grid: HexGrid, bbox: [f64; 4], margin_m: f64) -> CellMap {
        let margin = margin_m.max(0.0);
        let [x0, y0, x1, y1] = [
            bbox[0] - margin,
            bbox[1] - margin,
            bbox[2] + margin,
            bbox[3] + margin,
        ];
        let mut cells = Vec::new();
        if [x0, y0, x1, y1].iter().all(|v| v.is_finite()) && x0 <= x1 && y0 <= y1 {
            let r0 = grid.radius();
            let (qa, _) = grid.cell_of(x0 - r0, y0);
            let (qb, _) = grid.cell_of(x1 + r0, y0);
            for q in qa.min(qb) - 1..=qa.max(qb) + 1 {
                // The r range of column q between the box's bottom and top.
                let r_at = |y: f64| (y / (r0 * 3f64.sqrt()) - q as f64 / 2.0).floor() as i64;
                for r in r_at(y0 - r0) - 1..=r_at(y1 + r0) + 1 {
                    let [cx, cy] = grid.centre(q, r);
                    // A cell overlaps the box when its own bounding box (circumradius in x,
                    // apothem in y) does, edges included: a point on a cell's edge may be
                    // counted in that cell.
                    let apothem = grid.size_m / 2.0;
                    if cx + r0 >= x0 && cx - r0 <= x1 && cy + apothem >= y0 && cy - apothem <= y1 {
                        cells.push((q, r));
                    }
                }
            }
        }
        let index = cells.iter().enumerate().map(|(i, c)| (*c, i)).collect();
        CellMap { grid, cells, index }
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// True when the map has no cell.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// The index of a cell, when it is on the map.
    pub fn index_of(&self, cell: (i64, i64)) -> Option<usize> {
        self.index.get(&cell).copied()
    }

    /// The count of every map cell in an aggregation made on the same grid (0 for cells
    /// not shown: empty or suppressed), and how many shown cells lie off the map.
    pub fn counts(&self, agg: &Aggregation) -> (Vec<usize>, usize) {
        let mut counts = vec![0; self.cells.len()];
        let mut off_map = 0;
        for c in &agg.cells {
            match self.index_of(self.grid.cell_of(c.centre[0], c.centre[1])) {
                Some(i) => counts[i] = c.count,
                None => off_map += 1,
            }
        }
        (counts, off_map)
    }
}

/// One cell a role may see: where, and how many records (never which).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    /// Cell id: "q,r" of a hex cell, or the zone name.
    pub id: String,
    /// Centre, scene CRS.
    pub centre: [f64; 2],
    /// Outline, scene CRS.
    pub ring: Vec<[f64; 2]>,
    /// Number of records, at least k.
    pub count: usize,
}

/// A cell before suppression: id, centre, outline and record count.
type CellCount = (String, [f64; 2], Vec<[f64; 2]>, usize);

/// Records aggregated to cells with the small cells suppressed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Aggregation {
    /// k: the fewest records a shown cell holds.
    pub k: usize,
    /// The cells shown (count ≥ k), by id.
    pub cells: Vec<Cell>,
    /// How many cells were suppressed.
    pub suppressed_cells: usize,
    /// How many records lay in suppressed cells (not exported: with one suppressed cell it
    /// would give that cell's count).
    #[serde(skip)]
    pub suppressed_records: usize,
    /// Records in no zone (zone aggregation only; not shown).
    #[serde(skip)]
    pub outside: usize,
}

impl Aggregation {
    /// Records in the shown cells.
    pub fn shown_records(&self) -> usize {
        self.cells.iter().map(|c| c.count).sum()
    }

    fn from_counts(counts: Vec<CellCount>, k: usize, outside: usize) -> Self {
        let mut out = Aggregation {
            k,
            cells: Vec::new(),
            suppressed_cells: 0,
            suppressed_records: 0,
            outside,
        };
        for (id, centre, ring, count) in counts {
            if count == 0 {
                continue;
            }
            if count < k {
                out.suppressed_cells += 1;
                out.suppressed_records += count;
            } else {
                out.cells.push(Cell {
                    id,
                    centre,
                    ring,
                    count,
                });
            }
        }
        out
    }
}

/// Counts points per hex cell; cells with fewer than `k` are suppressed. Non-finite
/// points are skipped (they cannot be placed).
pub fn aggregate_hex(points: impl IntoIterator<Item = [f64; 2]>, grid: &HexGrid, k: usize) -> Aggregation {
    let mut counts: BTreeMap<(i64, i64), usize> = BTreeMap::new();
    for [x, y] in points {
        if x.is_finite() && y.is_finite() {
            *counts.entry(grid.cell_of(x, y)).or_default() += 1;
        }
    }
    let cells = counts
        .into_iter()
        .map(|((q, r), n)| (format!("{q},{r}"), grid.centre(q, r), grid.ring(q, r), n))
        .collect();
    Aggregation::from_counts(cells, k, 0)
}

/// Counts points per zone (the first zone holding a point); zones with fewer than `k` are
/// suppressed; points in no zone are counted in `outside`.
pub fn aggregate_zones(points: impl IntoIterator<Item = [f64; 2]>, zones: &[Zone], k: usize) -> Aggregation {
    let counts = zone_counts(points, zones);
    let outside = counts.1;
    let cells = zones
        .iter()
        .zip(counts.0)
        .map(|(z, n)| {
            let centre = z
                .area
                .bounding_rect()
                .map_or([0.0, 0.0], |r| [r.center().x, r.center().y]);
            let ring = z
                .area
                .0
                .first()
                .map(|p| p.exterior().0.iter().map(|c| [c.x, c.y]).collect())
                .unwrap_or_default();
            (z.name.clone(), centre, ring, n)
        })
        .collect();
    Aggregation::from_counts(cells, k, outside)
}

/// Records per zone (by zone index) and the number in no zone.
pub fn zone_counts(points: impl IntoIterator<Item = [f64; 2]>, zones: &[Zone]) -> (Vec<usize>, usize) {
    let mut counts = vec![0usize; zones.len()];
    let mut outside = 0;
    let boxes: Vec<_> = zones.iter().map(|z| z.area.bounding_rect()).collect();
    for [x, y] in points {
        let p = Point::new(x, y);
        let hit = zones.iter().zip(&boxes).position(|(z, b)| {
            b.is_some_and(|b| x >= b.min().x && x <= b.max().x && y >= b.min().y && y <= b.max().y)
                && z.area.contains(&p)
        });
        match hit {
            Some(i) => counts[i] += 1,
            None => outside += 1,
        }
    }
    (counts, outside)
}

/// What a role may see of a set of personal records.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordView {
    /// Cleared roles: the records themselves.
    Records(Vec<PersonalRecord>),
    /// Everyone else: hex cells of at least k records.
    Cells(Aggregation),
}

/// The records as `role` may see them: raw for a role with `individual_data`, otherwise
/// aggregated to `grid` with the role's k.
pub fn view_for(role: &Role, records: Vec<PersonalRecord>, grid: &HexGrid) -> RecordView {
    if role.needs_aggregation() {
        RecordView::Cells(aggregate_hex(
            records.iter().map(|r| [r.x, r.y]),
            grid,
            role.k_anonymity,
        ))
    } else {
        RecordView::Records(records)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::twin::access::AccessSpec;
    use crate::twin::feeds::{SourceId, Timestamp};

    /// A fixture: 3 requests around one cell centre and 7 around another, 1 km apart,
    /// each with an address in its detail.
    pub(crate) fn fixture(grid: &HexGrid) -> Vec<Observation> {
        let a = grid.centre(0, 0);
        let b = grid.centre(4, 0);
        let src = SourceId("requests".into());
        let mut out = Vec::new();
        for (i, (c, n)) in [(a, 3), (b, 7)].into_iter().enumerate() {
            for j in 0..n {
                let mut o = Observation::new(
                    &src,
                    Subject::Point {
                        x: c[0] + j as f64 * 5.0,
                        y: c[1] - j as f64 * 3.0,
                    },
                    Metric::ServiceRequestOpened,
                    1.0,
                    Timestamp(1_700_000_000_000 + j as i64),
                );
                o.detail = format!(
                    "request=r{i}-{j};category=litter;address=Testikatu {} A {j}",
                    i + 1
                );
                out.push(o);
            }
        }
        out
    }

    #[test]
    fn hex_cells_contain_their_points() {
        let g = HexGrid { size_m: 250.0 };
        for (q, r) in [(0, 0), (3, -2), (-5, 7)] {
            let [cx, cy] = g.centre(q, r);
            assert_eq!(g.cell_of(cx, cy), (q, r));
            // Just inside each edge midpoint (apothem 125 m).
            for i in 0..6 {
                let a = std::f64::consts::PI / 6.0 + std::f64::consts::PI / 3.0 * i as f64;
                assert_eq!(g.cell_of(cx + 120.0 * a.cos(), cy + 120.0 * a.sin()), (q, r));
                assert_ne!(g.cell_of(cx + 130.0 * a.cos(), cy + 130.0 * a.sin()), (q, r));
            }
        }
    }

    #[test]
    fn k_anonymity_public_sees_only_the_cell_of_seven() {
        let grid = HexGrid {
            size_m: DEFAULT_CELL_M,
        };
        let records = requests_from_observations(&fixture(&grid));
        assert_eq!(records.len(), 10);
        assert!(
            records[0]
                .address
                .as_deref()
                .unwrap()
                .starts_with("address=Testikatu 1")
        );
        let spec = AccessSpec::default();
        let public = spec.role(Some("public")).unwrap();
        match view_for(&public, records.clone(), &grid) {
            RecordView::Cells(a) => {
                assert_eq!(a.cells.len(), 1);
                assert_eq!(a.cells[0].count, 7);
                assert_eq!(a.cells[0].id, "4,0");
                assert_eq!((a.suppressed_cells, a.suppressed_records), (1, 3));
                let json = serde_json::to_string(&a).unwrap();
                assert!(!json.contains("Testikatu") && !json.contains("\"0,0\""), "{json}");
                assert!(!json.contains("suppressed_records"), "{json}");
            }
            other => panic!("public must see cells, got {other:?}"),
        }
        let staff = spec.role(Some("staff")).unwrap();
        match view_for(&staff, records, &grid) {
            RecordView::Records(r) => {
                assert_eq!(r.len(), 10);
                assert!(r.iter().filter(|r| r.address.is_some()).count() == 10);
            }
            other => panic!("staff sees raw points, got {other:?}"),
        }
    }

    #[test]
    fn k_is_the_threshold() {
        let g = HexGrid { size_m: 100.0 };
        let pts = vec![[0.0, 0.0]; 5];
        assert_eq!(aggregate_hex(pts.clone(), &g, 5).cells.len(), 1);
        assert_eq!(aggregate_hex(pts.clone(), &g, 6).cells.len(), 0);
        assert_eq!(aggregate_hex(vec![[f64::NAN, 0.0]], &g, 1).cells.len(), 0);
    }

    #[test]
    fn zones_aggregate_with_outside_counted() {
        let zones = crate::twin::gis::zones::grid(
            [0.0, 0.0, 200.0, 100.0],
            &crate::twin::scene::ZoneGrid {
                shape: crate::twin::scene::GridShape::Square,
                size_m: 100.0,
            },
        );
        assert_eq!(zones.len(), 2);
        let mut pts = vec![[50.0, 50.0]; 6];
        pts.extend(vec![[150.0, 50.0]; 2]);
        pts.push([900.0, 900.0]);
        let a = aggregate_zones(pts, &zones, 5);
        assert_eq!(a.cells.len(), 1);
        assert_eq!(a.cells[0].count, 6);
        assert_eq!(a.cells[0].id, zones[0].name);
        assert_eq!((a.suppressed_cells, a.outside), (1, 1));
    }

    #[test]
    fn a_cell_map_covers_its_box_and_places_shown_cells() {
        let grid = HexGrid { size_m: 100.0 };
        let bbox = [1_000.0, 2_000.0, 1_600.0, 2_300.0];
        let map = CellMap::covering(grid, bbox, 0.0);
        assert!(!map.is_empty());
        // Every point of the box (on a 10 m lattice) lies in a cell of the map.
        for i in 0..=60 {
            for j in 0..=30 {
                let (x, y) = (bbox[0] + 10.0 * i as f64, bbox[1] + 10.0 * j as f64);
                assert!(
                    map.index_of(grid.cell_of(x, y)).is_some(),
                    "({x}, {y}) off the map"
                );
            }
        }
        // No cell lies far from the box: area of the cells at most the box grown by a cell.
        let cell_area = 3f64.sqrt() / 2.0 * grid.size_m * grid.size_m;
        let grown = (600.0 + 2.0 * grid.size_m) * (300.0 + 2.0 * grid.size_m);
        assert!(map.len() as f64 * cell_area <= grown, "{} cells", map.len());
        let mut seen = map.cells.clone();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), map.len(), "a cell listed twice");
        // Shown cells placed by index; a cell beyond the map is counted, not placed.
        let inside = grid.centre(grid.cell_of(1_200.0, 2_100.0).0, grid.cell_of(1_200.0, 2_100.0).1);
        let mut pts = vec![inside; 6];
        pts.extend(vec![[9_000.0, 9_000.0]; 5]);
        pts.extend(vec![[1_500.0, 2_250.0]; 2]);
        let agg = aggregate_hex(pts, &grid, 5);
        let (counts, off_map) = map.counts(&agg);
        assert_eq!(off_map, 1);
        assert_eq!(counts.iter().sum::<usize>(), 6);
        let i = map.index_of(grid.cell_of(inside[0], inside[1])).unwrap();
        assert_eq!(counts[i], 6);
        // A grown margin adds cells; a box that is not finite has none.
        assert!(CellMap::covering(grid, bbox, 300.0).len() > map.len());
        assert!(CellMap::covering(grid, [f64::NAN, 0.0, 1.0, 1.0], 0.0).is_empty());
    }

    #[test]
    fn count_ramp_starts_at_k() {
        let ramp = count_ramp(5);
        assert_eq!(ramp.breaks, vec![5.0, 10.0, 20.0, 40.0]);
        assert_eq!(ramp.class_of(4.0), 0);
        assert_eq!(ramp.class_of(5.0), 1);
        assert_eq!(ramp.colour(45.0), COUNT_COLOURS[4]);
        assert_eq!(ramp.legend()[1].label, "5–10 requests");
    }

    #[test]
    fn detail_values() {
        let d = "request=7;category=noise;building=12";
        assert_eq!(detail_value(d, "category"), Some("noise"));
        assert_eq!(detail_value(d, "building"), Some("12"));
        assert_eq!(detail_value(d, "address"), None);
    }
}
