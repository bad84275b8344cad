//! The walk network: road centre lines as an undirected petgraph graph whose nodes are
//! line vertices, with ends closer than a tolerance joined into one node; nearest-node
//! lookup through an rstar index; multi-source Dijkstra with a cut-off.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use petgraph::graph::{NodeIndex, UnGraph};
use petgraph::visit::EdgeRef;
use rstar::RTree;
use rstar::primitives::GeomWithData;

use crate::twin::city::Road;

/// Road classes nobody walks on.
pub const NOT_WALKABLE: &[&str] = &[
    "motorway",
    "motorway_link",
    "trunk",
    "trunk_link",
    "construction",
    "proposed",
    "raceway",
    "bus_guideway",
    "elevator",
];

/// Distance of a node that was not reached.
pub const UNREACHED: f32 = f32::INFINITY;

type NodePoint = GeomWithData<[f64; 2], u32>;

/// The walk network.
#[derive(Debug, Clone)]
pub struct WalkNetwork {
    /// Graph: node weight = position, edge weight = length in metres.
    pub graph: UnGraph<[f64; 2], f64>,
    index: RTree<NodePoint>,
    /// Roads used (walkable, with at least two vertices).
    pub roads_used: usize,
    /// Vertices merged into an existing node by the snap tolerance.
    pub merged_vertices: usize,
}

struct Snapper {
    tol: f64,
    cells: HashMap<(i64, i64), Vec<u32>>,
}

impl Snapper {
    fn cell(&self, p: [f64; 2]) -> (i64, i64) {
        ((p[0] / self.tol).floor() as i64, (p[1] / self.tol).floor() as i64)
    }

    /// The node within the tolerance of `p`, if any.
    fn find(&self, p: [f64; 2], nodes: &UnGraph<[f64; 2], f64>) -> Option<u32> {
        let (cx, cy) = self.cell(p);
        let mut best: Option<(f64, u32)> = None;
        for dx in -1..=1 {
            for dy in -1..=1 {
                for &n in self.cells.get(&(cx + dx, cy + dy)).into_iter().flatten() {
                    let q = nodes[NodeIndex::new(n as usize)];
                    let d = ((q[0] - p[0]).powi(2) + (q[1] - p[1]).powi(2)).sqrt();
                    if d <= self.tol && best.is_none_or(|(bd, _)| d < bd) {
                        best = Some((d, n));
                    }
                }
            }
        }
        best.map(|(_, n)| n)
    }
}

impl WalkNetwork {
    /// Builds the network from the walkable roads; vertices within `snap_m` of an
    /// existing node join it.
    pub fn build(roads: &[Road], snap_m: f64) -> WalkNetwork {
        let mut graph: UnGraph<[f64; 2], f64> = UnGraph::default();
        let mut snap = Snapper {
            tol: snap_m.max(1e-6),
            cells: HashMap::new(),
        };
        let mut roads_used = 0;
        let mut merged = 0;
        for r in roads {
            if NOT_WALKABLE.contains(&r.class.as_str()) || r.line.0.len() < 2 {
                continue;
            }
            roads_used += 1;
            let mut prev: Option<u32> = None;
            for c in &r.line.0 {
                let p = [c.x, c.y];
                if !(p[0].is_finite() && p[1].is_finite()) {
                    continue;
                }
                let n = match snap.find(p, &graph) {
                    Some(n) => {
                        merged += 1;
                        n
                    }
                    None => {
                        let n = graph.add_node(p).index() as u32;
                        let cell = snap.cell(p);
                        snap.cells.entry(cell).or_default().push(n);
                        n
                    }
                };
                if let Some(a) = prev
                    && a != n
                {
                    let (pa, pb) = (graph[NodeIndex::new(a as usize)], p);
                    let len = ((pa[0] - pb[0]).powi(2) + (pa[1] - pb[1]).powi(2)).sqrt();
                    graph.add_edge(NodeIndex::new(a as usize), NodeIndex::new(n as usize), len);
                }
                prev = Some(n);
            }
        }
        let index = RTree::bulk_load(
            graph
                .node_indices()
                .map(|i| GeomWithData::new(graph[i], i.index() as u32))
                .collect(),
        );
        WalkNetwork {
            graph,
            index,
            roads_used,
            merged_vertices: merged,
        }
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    /// The nearest node to a point and the straight-line distance to it.
    pub fn nearest(&self, p: [f64; 2]) -> Option<(u32, f64)> {
        self.index.nearest_neighbor(&p).map(|n| {
            let q = n.geom();
            (n.data, ((q[0] - p[0]).powi(2) + (q[1] - p[1]).powi(2)).sqrt())
        })
    }

    /// Nodes where three or more distinct neighbours meet, with their positions.
    pub fn intersections(&self) -> impl Iterator<Item = [f64; 2]> + '_ {
        self.graph.node_indices().filter_map(|i| {
            let mut nb: Vec<NodeIndex> = self.graph.neighbors(i).collect();
            nb.sort();
            nb.dedup();
            (nb.len() >= 3).then_some(self.graph[i])
        })
    }

    /// Shortest network distance from the nearest of several sources to every node,
    /// each source `(node, initial distance)`; nodes beyond `cutoff_m` stay [`UNREACHED`].
    pub fn distances_from(&self, sources: &[(u32, f64)], cutoff_m: f64) -> Vec<f32> {
        let mut dist = vec![f64::INFINITY; self.graph.node_count()];
        let mut heap = BinaryHeap::new();
        for &(n, d0) in sources {
            let n = n as usize;
            if n < dist.len() && d0 <= cutoff_m && d0 < dist[n] {
                dist[n] = d0;
                heap.push(State { d: d0, n: n as u32 });
            }
        }
        while let Some(State { d, n }) = heap.pop() {
            if d > dist[n as usize] {
                continue;
            }
            for e in self.graph.edges(NodeIndex::new(n as usize)) {
                let m = if e.source().index() == n as usize {
                    e.target().index()
                } else {
                    e.source().index()
                };
                let nd = d + *e.weight();
                if nd <= cutoff_m && nd < dist[m] {
                    dist[m] = nd;
                    heap.push(State { d: nd, n: m as u32 });
                }
            }
        }
        dist.into_iter()
            .map(|d| if d.is_finite() { d as f32 } else { UNREACHED })
            .collect()
    }
}

#[derive(Clone, Copy, PartialEq)]
struct State {
    d: f64,
    n: u32,
}

impl Eq for State {}

impl Ord for State {
    fn cmp(&self, o: &Self) -> Ordering {
        o.d.total_cmp(&self.d).then(self.n.cmp(&o.n))
    }
}

impl PartialOrd for State {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::twin::city::LayerId;
    use geo_types::LineString;

    pub(crate) fn road(points: &[(f64, f64)], class: &str) -> Road {
        Road {
            layer: LayerId(0),
            source_id: 0,
            line: LineString::from(points.to_vec()),
            class: class.into(),
            lanes: None,
            maxspeed_kmh: None,
            oneway: false,
            name: None,
        }
    }

    #[test]
    fn ends_within_tolerance_join_and_dijkstra_cuts_off() {
        // An L: (0,0)-(100,0) and (100.4,0)-(100,300) share a corner within 1 m.
        let roads = vec![
            road(&[(0.0, 0.0), (100.0, 0.0)], "residential"),
            road(&[(100.4, 0.0), (100.0, 300.0)], "footway"),
            road(&[(0.0, 0.0), (0.0, -50.0)], "motorway"),
        ];
        let net = WalkNetwork::build(&roads, 1.0);
        assert_eq!(net.node_count(), 3, "corner joined, motorway left out");
        assert_eq!(net.merged_vertices, 1);
        let (start, d) = net.nearest([-3.0, 4.0]).unwrap();
        assert!((d - 5.0).abs() < 1e-9);
        let dist = net.distances_from(&[(start, d)], 1_000.0);
        let (end, _) = net.nearest([100.0, 300.0]).unwrap();
        assert!((dist[end as usize] as f64 - (5.0 + 100.0 + 300.0)).abs() < 0.01);
        let cut = net.distances_from(&[(start, d)], 200.0);
        assert_eq!(cut[end as usize], UNREACHED);
        // Without snapping the two roads are apart.
        let apart = WalkNetwork::build(&roads[..2], 0.1);
        assert_eq!(apart.node_count(), 4);
        let dist = apart.distances_from(&[(start, 0.0)], 1_000.0);
        assert_eq!(dist[apart.nearest([100.0, 300.0]).unwrap().0 as usize], UNREACHED);
    }

    #[test]
    fn intersections_need_three_neighbours() {
        let roads = vec![
            road(&[(0.0, 0.0), (10.0, 0.0), (20.0, 0.0)], "residential"),
            road(&[(10.0, 0.0), (10.0, 10.0)], "residential"),
        ];
        let net = WalkNetwork::build(&roads, 0.5);
        let x: Vec<[f64; 2]> = net.intersections().collect();
        assert_eq!(x, vec![[10.0, 0.0]]);
    }
}
