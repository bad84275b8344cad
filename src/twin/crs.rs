//! Coordinate reference systems: naming a CRS, batched PROJ transforms of whole layers,
//! the default UTM scene CRS, and the scene origin that keeps render coordinates small.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use geo_types::Coord;
use proj::Proj;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::twin::projgrid::ProjGrid;

use crate::twin::gis::layer::{Layer, for_each_coord, for_each_coord_mut};

/// WGS84 geographic coordinates (lon, lat order after PROJ's normalisation).
pub const WGS84: Crs = Crs::Epsg(4326);

/// Layers with more coordinates than this are transformed on several threads, one PROJ
/// object per thread, rebuilt from the operation's PROJ string (≈ 0.5 ms, about as much as
/// converting 1,000 points; a PROJ search for the pair would cost ≈ 40 ms).
const PARALLEL_TRANSFORM_MIN_COORDS: usize = 20_000;

/// A coordinate reference system: an EPSG code or a WKT text (e.g. from a .prj file).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Crs {
    /// `EPSG:n`.
    Epsg(u32),
    /// A WKT definition (OGC or ESRI flavour).
    Wkt(String),
}

impl Crs {
    /// Parses `EPSG:2154` (any case) or a bare number; anything else is taken as WKT/PROJ text.
    pub fn parse(s: &str) -> Crs {
        let t = s.trim();
        let code = t
            .strip_prefix("EPSG:")
            .or_else(|| t.strip_prefix("epsg:"))
            .unwrap_or(t);
        match code.parse::<u32>() {
            Ok(n) => Crs::Epsg(n),
            Err(_) => Crs::Wkt(t.to_string()),
        }
    }

    /// The definition string handed to PROJ.
    pub fn definition(&self) -> String {
        match self {
            Crs::Epsg(n) => format!("EPSG:{n}"),
            Crs::Wkt(w) => w.clone(),
        }
    }

    /// A short label for reports: `EPSG:n`, or the name in a WKT's first quotes.
    pub fn label(&self) -> String {
        match self {
            Crs::Epsg(n) => format!("EPSG:{n}"),
            Crs::Wkt(w) => w
                .split('"')
                .nth(1)
                .map(str::to_string)
                .unwrap_or_else(|| w.chars().take(40).collect()),
        }
    }

    /// The EPSG code of the UTM zone (WGS84) that contains a lon/lat point.
    pub fn utm_for(lon: f64, lat: f64) -> Crs {
        let zone = (((lon + 180.0) / 6.0).floor() as i64).clamp(0, 59) as u32 + 1;
        Crs::Epsg(if lat >= 0.0 { 32600 + zone } else { 32700 + zone })
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// Errors of CRS handling.
#[derive(Debug, Error)]
pub enum CrsError {
    /// PROJ could not build a transformation between the two CRSs.
    #[error("PROJ cannot transform from {from} to {to}: {cause}")]
    Create {
        /// Source CRS label.
        from: String,
        /// Target CRS label.
        to: String,
        /// PROJ's message.
        cause: String,
    },
}

/// Layers with fewer coordinates than this are not searched for repeated coordinates: the
/// hash table would cost more than the PROJ calls it saves.
const DEDUP_MIN_COORDS: usize = 64;

/// Repeated coordinates are looked for within windows of this many: a ring's closing point
/// and walls shared by neighbouring buildings lie close together in a file, and a window's
/// hash table (512 KiB) stays in cache where one for millions of points would not.
const DEDUP_WINDOW: usize = 1 << 16;

/// Marker PROJ puts in a definition when the operation is chosen point by point.
const PROJ_DEF_UNKNOWN: [&str; 2] = ["unavailable until proj_trans is called", "unknown"];

/// A single-operation transformation must reproduce the candidates' own result at the
/// sample point to this tolerance (in target units) before it replaces them.
const SINGLE_OP_TOLERANCE: f64 = 1e-6;

/// How PROJ transforms between one pair of CRSs, found once per process.
enum PairOps {
    /// One operation wherever the data lies: its PROJ string (`None`: nothing to do).
    Single(Option<String>),
    /// Several candidate operations, chosen by location; kept to resolve a layer's
    /// location to one of them.
    ByLocation(Mutex<SendProj>),
}

/// A PROJ object that moves between threads. PROJ objects and their context may be used
/// from any thread as long as only one thread uses them at a time; the mutex around it in
/// [`PairOps::ByLocation`] guarantees that.
struct SendProj(Proj);

// SAFETY: see `SendProj`: every use is behind a `Mutex` (or the object sits unused in
// [`POOL`] until one thread takes it out), so one thread at a time.
unsafe impl Send for SendProj {}

/// Most PROJ objects kept for reuse per operation (about one per thread that converts).
const POOL_PER_OPERATION: usize = 8;

/// PROJ objects already built from an operation's PROJ string, by that string. Building one
/// opens and checks PROJ's database (several milliseconds) even for a plain pipeline, so a
/// later load of the same pair, or another thread's share of a batch, reuses one instead.
static POOL: LazyLock<Mutex<HashMap<String, Vec<SendProj>>>> = LazyLock::new(Default::default);

/// A PROJ object for one operation, taken from [`POOL`] (or built) and given back to it
/// when dropped; or PROJ's own object choosing among candidates, never pooled.
struct PooledProj {
    proj: Option<Proj>,
    /// The operation's PROJ string (the pool key); `None` for candidates.
    def: Option<String>,
}

impl PooledProj {
    /// One operation's PROJ object, reused from the pool when one is free.
    fn single(def: &str) -> Result<PooledProj, proj::ProjCreateError> {
        let kept = POOL
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(def)
            .and_then(Vec::pop);
        let proj = match kept {
            Some(SendProj(p)) => p,
            None => Proj::new(def)?,
        };
        Ok(PooledProj {
            proj: Some(proj),
            def: Some(def.to_string()),
        })
    }

    /// An object that is not pooled (PROJ's candidates for a pair).
    fn own(proj: Proj) -> PooledProj {
        PooledProj {
            proj: Some(proj),
            def: None,
        }
    }
}

impl std::ops::Deref for PooledProj {
    type Target = Proj;
    fn deref(&self) -> &Proj {
        self.proj.as_ref().expect("present until dropped")
    }
}

impl Drop for PooledProj {
    fn drop(&mut self) {
        let (Some(def), Some(proj)) = (self.def.take(), self.proj.take()) else {
            return;
        };
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        let kept = pool.entry(def).or_default();
        if kept.len() < POOL_PER_OPERATION {
            kept.push(SendProj(proj));
        }
    }
}

/// A pair's operations, or PROJ's message when it cannot build them.
type PairSlot = Arc<OnceLock<Result<Arc<PairOps>, String>>>;

/// Every CRS pair resolved so far in this process. Setting up a transformation costs tens of
/// milliseconds (opening proj.db, parsing WKT, searching operations), converting a point
/// about a microsecond: a pair is searched once, then rebuilt from its PROJ string (< 1 ms).
static PAIRS: LazyLock<Mutex<HashMap<(Crs, Crs), PairSlot>>> = LazyLock::new(Default::default);

/// The operations between two CRSs, searched once per process; concurrent callers for the
/// same pair wait for the first one's search instead of repeating it.
fn pair_ops(from: &Crs, to: &Crs) -> Result<Arc<PairOps>, CrsError> {
    let key = (from.clone(), to.clone());
    let slot = PAIRS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key.clone())
        .or_default()
        .clone();
    let r = slot.get_or_init(|| search_pair(from, to)).clone();
    if r.is_err() {
        // Failures are not kept: the next caller gets PROJ's own answer again.
        PAIRS.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
    }
    r.map_err(|cause| CrsError::Create {
        from: from.label(),
        to: to.label(),
        cause,
    })
}

fn search_pair(from: &Crs, to: &Crs) -> Result<Arc<PairOps>, String> {
    let p = Proj::new_known_crs(&from.definition(), &to.definition(), None).map_err(|e| e.to_string())?;
    Ok(Arc::new(match single_definition(&p) {
        Some(def) if is_noop(&def) => PairOps::Single(None),
        Some(def) => PairOps::Single(Some(def)),
        None => PairOps::ByLocation(Mutex::new(SendProj(p))),
    }))
}

/// The PROJ string of an object that is one operation (or whose operation for the last
/// point converted is known); `None` while PROJ still chooses per point.
fn single_definition(p: &Proj) -> Option<String> {
    p.def()
        .ok()
        .filter(|d| !d.is_empty() && !PROJ_DEF_UNKNOWN.contains(&d.trim()))
}

fn is_noop(def: &str) -> bool {
    def.split_whitespace().any(|w| w == "proj=noop")
}

/// Sets up the transformation between two CRSs ahead of need (e.g. on another thread while
/// a file is read), so that [`Transformer::new`] for the pair later costs under a millisecond.
/// Errors are returned, not kept: the later call reports them again.
pub fn prepare(from: &Crs, to: &Crs) -> Result<(), CrsError> {
    if from != to {
        pair_ops(from, to)?;
    }
    Ok(())
}

/// A PROJ transformation from one CRS to another, built once and applied to whole batches.
/// It is one PROJ operation for the whole layer (the one PROJ itself picks for the layer's
/// centre), so no point pays for choosing among candidates and neighbouring points never
/// take different datum shifts.
pub struct Transformer {
    from: Crs,
    to: Crs,
    proj: Option<PooledProj>,
    /// The single operation's PROJ string, for the extra threads of a large batch; `None`
    /// when PROJ chooses among candidates point by point.
    pipeline: Option<String>,
}

impl Transformer {
    /// Builds the transformation (identity when both CRSs are the same). Where PROJ has
    /// several candidate operations for the pair, they are kept and chosen point by point;
    /// [`Transformer::for_extent`] settles on one for a layer.
    pub fn new(from: &Crs, to: &Crs) -> Result<Transformer, CrsError> {
        Transformer::for_extent(from, to, None)
    }

    /// Builds the transformation for data within `bbox` (`[min_x, min_y, max_x, max_y]` in
    /// the source CRS): where PROJ has several candidate operations, the one it picks for
    /// the bbox's centre is used for every point.
    pub fn for_extent(from: &Crs, to: &Crs, bbox: Option<[f64; 4]>) -> Result<Transformer, CrsError> {
        let mut t = Transformer {
            from: from.clone(),
            to: to.clone(),
            proj: None,
            pipeline: None,
        };
        if from == to {
            return Ok(t);
        }
        let create = |e: proj::ProjCreateError| CrsError::Create {
            from: from.label(),
            to: to.label(),
            cause: e.to_string(),
        };
        match pair_ops(from, to)?.as_ref() {
            // The same CRS written two ways (a .prj WKT and its EPSG code): PROJ builds a
            // no-op pipeline, which is skipped rather than run point by point.
            PairOps::Single(None) => {}
            PairOps::Single(Some(def)) => {
                t.proj = Some(PooledProj::single(def).map_err(create)?);
                t.pipeline = Some(def.clone());
            }
            PairOps::ByLocation(candidates) => {
                let chosen = bbox.and_then(|b| {
                    let centre = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
                    let guard = candidates.lock().unwrap_or_else(|e| e.into_inner());
                    let expected = guard.0.convert(centre).ok()?;
                    let def = single_definition(&guard.0)?;
                    drop(guard);
                    let single = PooledProj::single(&def).ok()?;
                    let got = single.convert(centre).ok()?;
                    let same = (got.0 - expected.0).abs() <= SINGLE_OP_TOLERANCE
                        && (got.1 - expected.1).abs() <= SINGLE_OP_TOLERANCE;
                    same.then_some((single, def))
                });
                match chosen {
                    Some((_, def)) if is_noop(&def) => {}
                    Some((single, def)) => {
                        t.proj = Some(single);
                        t.pipeline = Some(def);
                    }
                    None => t.proj = Some(PooledProj::own(make_candidates(from, to)?)),
                }
            }
        }
        Ok(t)
    }

    /// True when nothing needs to be done.
    pub fn is_identity(&self) -> bool {
        self.proj.is_none()
    }

    /// The PROJ string of the one operation used for every point, if it is one.
    pub fn definition(&self) -> Option<&str> {
        self.pipeline.as_deref()
    }

    /// Transforms one point; `None` when PROJ fails or returns a non-finite value.
    pub fn point(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        match &self.proj {
            None => Some((x, y)),
            Some(p) => p
                .convert((x, y))
                .ok()
                .filter(|(a, b)| a.is_finite() && b.is_finite()),
        }
    }

    /// Transforms a batch of coordinates in place. Points PROJ cannot transform become NaN.
    /// A coordinate that occurs several times (a ring's closing point, a wall two buildings
    /// share) is converted once.
    pub fn batch(&self, coords: &mut [Coord<f64>]) {
        let Some(proj) = &self.proj else { return };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        if coords.len() < PARALLEL_TRANSFORM_MIN_COORDS || threads < 2 {
            convert_unique(proj, coords);
            return;
        }
        // Proj is neither Send nor Sync: this thread converts the first chunk with the
        // transformer's own PROJ object; each other thread builds one for its chunk from the
        // operation's PROJ string (well under a millisecond; never per point).
        let chunk = coords.len().div_ceil(threads);
        let (first, rest) = coords.split_at_mut(chunk);
        let (from, to, pipeline) = (&self.from, &self.to, self.pipeline.as_deref());
        std::thread::scope(|s| {
            for part in rest.chunks_mut(chunk) {
                s.spawn(move || match thread_proj(from, to, pipeline) {
                    Ok(p) => convert_unique(&p, part),
                    Err(_) => part.iter_mut().for_each(|c| *c = nan_coord()),
                });
            }
            convert_unique(proj, first);
        });
    }

    /// Transforms every feature of a layer into the target CRS, in one batch, each point
    /// by PROJ. Features with a coordinate PROJ cannot transform are skipped and counted.
    pub fn layer(&self, layer: &mut Layer) {
        self.layer_within(layer, 0.0);
    }

    /// Transforms a batch within `tolerance` (target units) of PROJ's exact result:
    /// interpolated on a [`ProjGrid`] verified against PROJ when the batch is large enough
    /// for that to pay, else each point by PROJ (always so with a tolerance of 0).
    pub fn batch_within(&self, coords: &mut [Coord<f64>], tolerance: f64) -> Projection {
        let Some(proj) = &self.proj else {
            return Projection::Identity;
        };
        if tolerance > 0.0 {
            let fitted = ProjGrid::fit(coords, tolerance, &mut |cs| convert_or_nan(proj, cs));
            if let Ok(grid) = fitted {
                grid.apply(coords);
                let (nx, ny) = grid.cells();
                return Projection::Interpolated {
                    cells: nx * ny,
                    max_error: grid.max_error(),
                };
            }
        }
        self.batch(coords);
        Projection::Exact
    }

    /// [`Transformer::layer`] within `tolerance` of PROJ's exact result (see
    /// [`Transformer::batch_within`]); says how the layer was projected, and the layer's
    /// extent `[min_x, min_y, max_x, max_y]` in the target CRS found on the way (`None`
    /// when nothing was done: the extent is what it was).
    pub fn layer_within(&self, layer: &mut Layer, tolerance: f64) -> (Projection, Option<[f64; 4]>) {
        let mut how = Projection::Identity;
        let mut extent = None;
        if !self.is_identity() {
            let mut coords = Vec::new();
            for f in &layer.features {
                for_each_coord(&f.geometry, &mut |c| coords.push(c));
            }
            how = self.batch_within(&mut coords, tolerance);
            let mut i = 0;
            let mut bad = vec![false; layer.features.len()];
            let mut acc = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
            for (fi, f) in layer.features.iter_mut().enumerate() {
                let mut b = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
                for_each_coord_mut(&mut f.geometry, &mut |c| {
                    *c = coords[i];
                    if c.x.is_finite() && c.y.is_finite() {
                        b = [b[0].min(c.x), b[1].min(c.y), b[2].max(c.x), b[3].max(c.y)];
                    } else {
                        bad[fi] = true;
                    }
                    i += 1;
                });
                if !bad[fi] {
                    acc = [
                        acc[0].min(b[0]),
                        acc[1].min(b[1]),
                        acc[2].max(b[2]),
                        acc[3].max(b[3]),
                    ];
                }
            }
            extent = Some(acc).filter(|a| a[0] <= a[2] && a[1] <= a[3]);
            let mut idx = 0;
            let skipped = &mut layer.skipped;
            layer.features.retain(|_| {
                let keep = !bad[idx];
                if !keep {
                    skipped.skip("coordinates outside the CRS transformation's domain");
                }
                idx += 1;
                keep
            });
        }
        layer.crs = self.to.clone();
        (how, extent)
    }

    /// The target-CRS box of the data itself (not of its box's corners): the box of a
    /// layer drawn in a projected CRS, taken to WGS84, is tilted against the meridians, so
    /// its corners reach beyond the data by hundreds of metres on a borough-sized layer.
    /// One pass over the coordinates keeps the points extreme along the target's own axes
    /// (from the transformation's local derivatives at the centre of `extent`) and along
    /// [`DATA_BBOX_DIRECTIONS`] more directions; only those are transformed.
    pub fn data_bbox<'a>(
        &self,
        geometries: impl IntoIterator<Item = &'a geo_types::Geometry<f64>>,
        extent: [f64; 4],
    ) -> Option<[f64; 4]> {
        let (cx, cy) = ((extent[0] + extent[2]) / 2.0, (extent[1] + extent[3]) / 2.0);
        let h = ((extent[2] - extent[0]).max(extent[3] - extent[1]) * 1e-3).max(1e-6);
        let p0 = self.point(cx, cy)?;
        let px = self.point(cx + h, cy)?;
        let py = self.point(cx, cy + h)?;
        let mut dirs: Vec<[f64; 2]> = vec![[px.0 - p0.0, py.0 - p0.0], [px.1 - p0.1, py.1 - p0.1]];
        dirs.extend((0..DATA_BBOX_DIRECTIONS).map(|i| {
            let a = std::f64::consts::PI * i as f64 / DATA_BBOX_DIRECTIONS as f64;
            [a.cos(), a.sin()]
        }));
        // Per direction: (lowest, point), (highest, point).
        let mut ext: Vec<[(f64, Coord<f64>); 2]> =
            vec![[(f64::INFINITY, nan_coord()), (f64::NEG_INFINITY, nan_coord())]; dirs.len()];
        let mut any = false;
        for g in geometries {
            for_each_coord(g, &mut |c| {
                if !(c.x.is_finite() && c.y.is_finite()) {
                    return;
                }
                any = true;
                for (d, e) in dirs.iter().zip(ext.iter_mut()) {
                    let v = d[0] * c.x + d[1] * c.y;
                    if v < e[0].0 {
                        e[0] = (v, c);
                    }
                    if v > e[1].0 {
                        e[1] = (v, c);
                    }
                }
            });
        }
        if !any {
            return None;
        }
        let mut out: Option<[f64; 4]> = None;
        for c in ext.iter().flat_map(|e| [e[0].1, e[1].1]) {
            if let Some((x, y)) = self.point(c.x, c.y) {
                out = Some(match out {
                    None => [x, y, x, y],
                    Some(o) => [o[0].min(x), o[1].min(y), o[2].max(x), o[3].max(y)],
                });
            }
        }
        out
    }

    /// Transforms a bounding box `[min_x, min_y, max_x, max_y]` by sampling its edges.
    pub fn bbox(&self, b: [f64; 4]) -> Option<[f64; 4]> {
        const STEPS: usize = 8;
        let mut out: Option<[f64; 4]> = None;
        for i in 0..=STEPS {
            let t = i as f64 / STEPS as f64;
            let xs = b[0] + (b[2] - b[0]) * t;
            let ys = b[1] + (b[3] - b[1]) * t;
            for (x, y) in [(xs, b[1]), (xs, b[3]), (b[0], ys), (b[2], ys)] {
                if let Some((px, py)) = self.point(x, y) {
                    out = Some(match out {
                        None => [px, py, px, py],
                        Some(o) => [o[0].min(px), o[1].min(py), o[2].max(px), o[3].max(py)],
                    });
                }
            }
        }
        out
    }
}

/// Directions, besides the target's own axes, along which [`Transformer::data_bbox`]
/// keeps extreme points (evenly spread over half a turn).
pub const DATA_BBOX_DIRECTIONS: usize = 16;

fn nan_coord() -> Coord<f64> {
    Coord {
        x: f64::NAN,
        y: f64::NAN,
    }
}

/// How a layer or batch was projected.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Projection {
    /// Already in the target CRS: nothing done.
    #[default]
    Identity,
    /// Each point by PROJ.
    Exact,
    /// Interpolated on a grid of PROJ results.
    Interpolated {
        /// Cells of the grid.
        cells: usize,
        /// The largest difference from PROJ found at the grid's check points, in target
        /// units.
        max_error: f64,
    },
}

impl fmt::Display for Projection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Projection::Identity => write!(f, "none needed"),
            Projection::Exact => write!(f, "PROJ, point by point"),
            Projection::Interpolated { cells, max_error } => write!(
                f,
                "PROJ on a grid of {cells} cells, interpolated (largest difference checked {:.2} mm)",
                max_error * 1_000.0
            ),
        }
    }
}

/// A PROJ object for another thread: the single operation rebuilt from its PROJ string, or
/// PROJ's candidates for the pair.
fn thread_proj(from: &Crs, to: &Crs, pipeline: Option<&str>) -> Result<PooledProj, CrsError> {
    match pipeline {
        Some(def) => PooledProj::single(def).map_err(|e| CrsError::Create {
            from: from.label(),
            to: to.label(),
            cause: e.to_string(),
        }),
        None => make_candidates(from, to).map(PooledProj::own),
    }
}

/// PROJ's own object for the pair, choosing among candidate operations point by point.
fn make_candidates(from: &Crs, to: &Crs) -> Result<Proj, CrsError> {
    Proj::new_known_crs(&from.definition(), &to.definition(), None).map_err(|e| CrsError::Create {
        from: from.label(),
        to: to.label(),
        cause: e.to_string(),
    })
}

/// Converts a batch, each distinct coordinate once (compared bit for bit, so the result is
/// exactly what converting every point would give), window by window.
fn convert_unique(proj: &Proj, coords: &mut [Coord<f64>]) {
    for window in coords.chunks_mut(DEDUP_WINDOW) {
        convert_unique_window(proj, window);
    }
}

fn convert_unique_window(proj: &Proj, coords: &mut [Coord<f64>]) {
    if coords.len() < DEDUP_MIN_COORDS {
        convert_or_nan(proj, coords);
        return;
    }
    let (mut unique, index) = distinct(coords);
    if unique.len() == coords.len() {
        convert_or_nan(proj, coords);
        return;
    }
    convert_or_nan(proj, &mut unique);
    for (c, &i) in coords.iter_mut().zip(&index) {
        *c = unique[i as usize];
    }
}

/// The distinct coordinates of a slice (bit for bit), and for each input its position among
/// them. An open-addressing table: far cheaper than a PROJ call per repeated point.
fn distinct(coords: &[Coord<f64>]) -> (Vec<Coord<f64>>, Vec<u32>) {
    const EMPTY: u32 = u32::MAX;
    let bits = (coords.len() * 2).next_power_of_two().trailing_zeros().max(4);
    let mask = (1usize << bits) - 1;
    let mut slots = vec![EMPTY; mask + 1];
    let mut unique: Vec<Coord<f64>> = Vec::with_capacity(coords.len());
    let mut index = Vec::with_capacity(coords.len());
    for c in coords {
        let (kx, ky) = (c.x.to_bits(), c.y.to_bits());
        let h =
            (kx.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ky.rotate_left(31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let mut slot = (h >> (64 - bits)) as usize;
        loop {
            let s = slots[slot];
            if s == EMPTY {
                slots[slot] = unique.len() as u32;
                index.push(unique.len() as u32);
                unique.push(*c);
                break;
            }
            let u = unique[s as usize];
            if u.x.to_bits() == kx && u.y.to_bits() == ky {
                index.push(s);
                break;
            }
            slot = (slot + 1) & mask;
        }
    }
    (unique, index)
}

/// Converts a batch; when PROJ rejects the batch, falls back to point by point so that
/// only the failing points become NaN.
fn convert_or_nan(proj: &Proj, coords: &mut [Coord<f64>]) {
    // On failure `convert_array` leaves the slice as it was.
    if proj.convert_array(coords).is_err() {
        for c in coords.iter_mut() {
            *c = match proj.convert((c.x, c.y)) {
                Ok((x, y)) if x.is_finite() && y.is_finite() => Coord { x, y },
                _ => nan_coord(),
            };
        }
    }
}

/// The scene origin in the scene CRS: subtracted from f64 coordinates before they become
/// f32 render coordinates, so that those stay small and free of jitter.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct SceneOrigin {
    /// Easting of the origin.
    pub x: f64,
    /// Northing of the origin.
    pub y: f64,
}

impl SceneOrigin {
    /// The origin at the centre of a bbox, rounded to whole metres.
    pub fn centre_of(b: [f64; 4]) -> SceneOrigin {
        SceneOrigin {
            x: ((b[0] + b[2]) / 2.0).round(),
            y: ((b[1] + b[3]) / 2.0).round(),
        }
    }

    /// A scene-CRS coordinate as a small f32 offset from the origin.
    pub fn local(&self, c: Coord<f64>) -> [f32; 2] {
        [(c.x - self.x) as f32, (c.y - self.y) as f32]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_bbox_is_the_box_of_the_data_not_of_its_box_corners() {
        // A strip of points running diagonally across Monaco in Lambert-93: its scene box
        // is mostly empty, and the box's corners reach far beyond the data in WGS84.
        let tr = Transformer::new(&Crs::Epsg(2154), &WGS84).unwrap();
        let (x0, y0) = (1_046_000.0, 6_306_000.0);
        let pts: Vec<geo_types::Geometry<f64>> = (0..=400)
            .map(|i| {
                let t = i as f64 * 10.0;
                let wobble = (i as f64 * 0.7).sin() * 30.0;
                geo_types::Geometry::Point(geo_types::Point::new(x0 + t + wobble, y0 + t - wobble))
            })
            .collect();
        let mut extent = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
        let mut exact = extent;
        for g in &pts {
            for_each_coord(g, &mut |c| {
                extent = [
                    extent[0].min(c.x),
                    extent[1].min(c.y),
                    extent[2].max(c.x),
                    extent[3].max(c.y),
                ];
                let (lon, lat) = tr.point(c.x, c.y).unwrap();
                exact = [
                    exact[0].min(lon),
                    exact[1].min(lat),
                    exact[2].max(lon),
                    exact[3].max(lat),
                ];
            });
        }
        let got = tr.data_bbox(&pts, extent).unwrap();
        for i in 0..4 {
            assert!((got[i] - exact[i]).abs() < 1e-9, "side {i}: {got:?} vs {exact:?}");
        }
        // The box of the box's corners overshoots: Lambert-93 is turned against the
        // meridians at Monaco.
        let corners = tr.bbox(extent).unwrap();
        let overshoot_m = (exact[1] - corners[1]).max(corners[3] - exact[3]) * 111_000.0
            + (exact[0] - corners[0]).max(corners[2] - exact[2]) * 80_000.0;
        assert!(overshoot_m > 20.0, "the corner box is {overshoot_m} m off");
        // NaN coordinates are passed over; no coordinates give no box.
        let nan = [geo_types::Geometry::Point(geo_types::Point::new(f64::NAN, 0.0))];
        assert_eq!(tr.data_bbox(&nan, extent), None);
    }

    #[test]
    fn parses_crs_names() {
        assert_eq!(Crs::parse("EPSG:3067"), Crs::Epsg(3067));
        assert_eq!(Crs::parse("epsg:2154"), Crs::Epsg(2154));
        assert_eq!(Crs::parse("4326"), Crs::Epsg(4326));
        assert!(matches!(Crs::parse("PROJCS[\"x\"]"), Crs::Wkt(_)));
        assert_eq!(Crs::parse("PROJCS[\"RGF93\",...]").label(), "RGF93");
    }

    #[test]
    fn utm_zones() {
        assert_eq!(Crs::utm_for(24.94, 60.17), Crs::Epsg(32635)); // Helsinki
        assert_eq!(Crs::utm_for(7.42, 43.73), Crs::Epsg(32632)); // Monaco
        assert_eq!(Crs::utm_for(-74.0, 40.7), Crs::Epsg(32618)); // New York
        assert_eq!(Crs::utm_for(151.2, -33.9), Crs::Epsg(32756)); // Sydney
    }

    #[test]
    fn transforms_lambert93_to_wgs84() {
        // Monaco's Prince's Palace, known WGS84 ≈ (7.4200, 43.7314).
        let t = Transformer::new(&Crs::Epsg(4326), &Crs::Epsg(2154)).unwrap();
        let (x, y) = t.point(7.42, 43.7314).unwrap();
        let back = Transformer::new(&Crs::Epsg(2154), &WGS84).unwrap();
        let (lon, lat) = back.point(x, y).unwrap();
        assert!((lon - 7.42).abs() < 1e-7 && (lat - 43.7314).abs() < 1e-7);
        assert!(x > 1_000_000.0 && y > 6_000_000.0, "Lambert-93 metres: {x} {y}");
    }

    #[test]
    fn us_feet_are_handled_by_proj() {
        // 1 km east in UTM 18N is 3280.83 US survey feet in NY Long Island state plane.
        let t = Transformer::new(&Crs::Epsg(32618), &Crs::Epsg(2263)).unwrap();
        let (x0, y0) = t.point(584_000.0, 4_510_000.0).unwrap();
        let (x1, y1) = t.point(585_000.0, 4_510_000.0).unwrap();
        let d = ((x1 - x0).powi(2) + (y1 - y0).powi(2)).sqrt();
        // Scale factors of the two projections differ slightly; feet dominate.
        assert!((d - 3280.83).abs() < 3.0, "distance in feet {d}");
    }

    #[test]
    fn the_same_crs_written_as_wkt_is_the_identity() {
        let wkt = crate::twin::gis::shapefile::esri_wkt(&Crs::Epsg(3067)).unwrap();
        assert!(
            Transformer::new(&Crs::Wkt(wkt), &Crs::Epsg(3067))
                .unwrap()
                .is_identity()
        );
        assert!(
            !Transformer::new(&Crs::Epsg(3067), &Crs::Epsg(32635))
                .unwrap()
                .is_identity()
        );
    }

    #[test]
    fn parallel_batches_match_point_by_point() {
        let t = Transformer::new(&Crs::Epsg(2154), &Crs::Epsg(32632)).unwrap();
        let n = PARALLEL_TRANSFORM_MIN_COORDS + 1001;
        let mut coords: Vec<Coord<f64>> = (0..n)
            .map(|i| Coord {
                x: 1_050_000.0 + (i % 1000) as f64,
                y: 6_300_000.0 + (i / 1000) as f64 * 0.01,
            })
            .collect();
        let input = coords.clone();
        t.batch(&mut coords);
        for i in [0, 1, n / 2 - 1, n / 2, n / 2 + 1, n - 1] {
            let (x, y) = t.point(input[i].x, input[i].y).unwrap();
            assert!(
                (coords[i].x - x).abs() < 1e-6 && (coords[i].y - y).abs() < 1e-6,
                "point {i}"
            );
        }
    }

    /// Every coordinate of a real shapefile layer.
    fn layer_coords(rel: &str) -> Option<(Crs, [f64; 4], Vec<Coord<f64>>)> {
        let dir = crate::twin::testdata::data_dir()?;
        let layer = crate::twin::gis::shapefile::read_shapefile(
            &dir.join(rel),
            crate::twin::gis::layer::LayerKind::Buildings,
            None,
        )
        .unwrap();
        let mut coords = Vec::new();
        for f in &layer.features {
            for_each_coord(&f.geometry, &mut |c| coords.push(c));
        }
        Some((layer.crs.clone(), layer.bbox().unwrap(), coords))
    }

    /// Largest coordinate difference between a transformer's batch and PROJ's own object
    /// for the pair (choosing among candidates point by point, as before this transformer
    /// settled on one operation), over every coordinate given.
    fn max_difference(from: &Crs, to: &Crs, bbox: [f64; 4], coords: &[Coord<f64>]) -> f64 {
        let t = Transformer::for_extent(from, to, Some(bbox)).unwrap();
        let reference = make_candidates(from, to).unwrap();
        let mut got = coords.to_vec();
        t.batch(&mut got);
        let mut worst: f64 = 0.0;
        for (c, g) in coords.iter().zip(&got) {
            let (x, y) = reference.convert((c.x, c.y)).unwrap();
            worst = worst.max((g.x - x).abs()).max((g.y - y).abs());
        }
        worst
    }

    #[test]
    fn one_operation_per_layer_matches_proj_on_real_data() {
        // Monaco (Lambert-93, metres) and New York (State Plane, US survey feet): the single
        // operation, rebuilt from its PROJ string, on several threads, each distinct point
        // once, gives PROJ's own coordinates within 1 mm (1e-8 degree ≈ 1 mm for WGS84).
        for (rel, utm) in [
            ("shp/monaco-2016/buildings.shp", 32632),
            ("shp/nyc-west-village/buildings.shp", 32618),
        ] {
            let Some((crs, bbox, coords)) = layer_coords(rel) else {
                return;
            };
            assert!(coords.len() > 10_000, "{rel}: {}", coords.len());
            let d = max_difference(&crs, &Crs::Epsg(utm), bbox, &coords);
            assert!(d < 1e-3, "{rel} → UTM: {d} m");
            let d = max_difference(&crs, &WGS84, bbox, &coords);
            assert!(d < 1e-8, "{rel} → WGS84: {d}°");
            let t = Transformer::for_extent(&crs, &Crs::Epsg(utm), Some(bbox)).unwrap();
            assert!(t.definition().is_some_and(|d| d.contains("proj=utm")));
        }
    }

    #[test]
    fn interpolated_layers_stay_within_the_tolerance_of_proj_on_real_data() {
        use crate::twin::projgrid::DEFAULT_TOLERANCE;
        for (rel, utm) in [
            ("shp/monaco-2016/buildings.shp", 32632),
            ("shp/nyc-west-village/buildings.shp", 32618),
        ] {
            let Some((crs, bbox, coords)) = layer_coords(rel) else {
                return;
            };
            let t = Transformer::for_extent(&crs, &Crs::Epsg(utm), Some(bbox)).unwrap();
            let mut exact = coords.clone();
            t.batch(&mut exact);
            let mut approx = coords.clone();
            let how = t.batch_within(&mut approx, DEFAULT_TOLERANCE);
            let Projection::Interpolated { max_error, .. } = how else {
                panic!("{rel}: {how:?}");
            };
            assert!(max_error <= DEFAULT_TOLERANCE, "{rel}: {max_error}");
            // Every point, not only the grid's check points, is within the tolerance.
            let worst = exact
                .iter()
                .zip(&approx)
                .map(|(e, a)| (e.x - a.x).hypot(e.y - a.y))
                .fold(0.0, f64::max);
            assert!(worst <= DEFAULT_TOLERANCE, "{rel}: {worst} m");
            // A tolerance of 0 is PROJ point by point, bit for bit.
            let mut again = coords.clone();
            assert_eq!(t.batch_within(&mut again, 0.0), Projection::Exact);
            assert!(
                again
                    .iter()
                    .zip(&exact)
                    .all(|(a, e)| a.x.to_bits() == e.x.to_bits())
            );
        }
    }

    #[test]
    fn several_candidate_operations_settle_on_one_for_the_layer() {
        // NAD27 → WGS84 and OSGB36 → UTM 30N: PROJ offers several operations, chosen per
        // point. For a city's extent one is chosen once, and gives the same coordinates.
        for (from, to, bbox) in [
            (4267, 4326, [-74.05, 40.68, -73.90, 40.80]),
            (27700, 32630, [525_000.0, 175_000.0, 535_000.0, 185_000.0]),
        ] {
            let (from, to) = (Crs::Epsg(from), Crs::Epsg(to));
            assert!(
                Transformer::new(&from, &to).unwrap().definition().is_none(),
                "{from} → {to}: PROJ chooses per point without an extent"
            );
            let t = Transformer::for_extent(&from, &to, Some(bbox)).unwrap();
            assert!(t.definition().is_some(), "{from} → {to}");
            let coords: Vec<Coord<f64>> = (0..=20)
                .flat_map(|i| (0..=20).map(move |j| (i, j)))
                .map(|(i, j)| Coord {
                    x: bbox[0] + (bbox[2] - bbox[0]) * i as f64 / 20.0,
                    y: bbox[1] + (bbox[3] - bbox[1]) * j as f64 / 20.0,
                })
                .collect();
            let tolerance = if to == WGS84 { 1e-8 } else { 1e-3 };
            let d = max_difference(&from, &to, bbox, &coords);
            assert!(d < tolerance, "{from} → {to}: {d}");
        }
    }

    #[test]
    fn repeated_coordinates_are_found_bit_for_bit() {
        let c = |x: f64, y: f64| Coord { x, y };
        let input = [
            c(1.0, 2.0),
            c(3.0, 4.0),
            c(1.0, 2.0),
            c(0.0, 0.0),
            c(-0.0, 0.0),
            c(f64::NAN, 1.0),
            c(f64::NAN, 1.0),
            c(3.0, 4.0),
        ];
        let (unique, index) = distinct(&input);
        assert_eq!(unique.len(), 5, "{unique:?}");
        assert_eq!(index, vec![0, 1, 0, 2, 3, 4, 4, 1]);
        for (i, c) in input.iter().enumerate() {
            let u = unique[index[i] as usize];
            assert_eq!((u.x.to_bits(), u.y.to_bits()), (c.x.to_bits(), c.y.to_bits()));
        }
    }

    #[test]
    fn batches_with_repeated_points_match_point_by_point() {
        let t = Transformer::new(&Crs::Epsg(2154), &Crs::Epsg(32632)).unwrap();
        // Closed rings sharing edges, as in a cadastre: most points occur two or three times.
        let mut coords = Vec::new();
        for i in 0..500 {
            let x = 1_050_000.0 + i as f64 * 7.5;
            for (dx, dy) in [(0.0, 0.0), (7.5, 0.0), (7.5, 9.0), (0.0, 9.0), (0.0, 0.0)] {
                coords.push(Coord {
                    x: x + dx,
                    y: 6_300_000.0 + dy,
                });
            }
        }
        coords.push(nan_coord());
        let input = coords.clone();
        t.batch(&mut coords);
        for (c, i) in coords.iter().zip(&input) {
            match t.point(i.x, i.y) {
                Some((x, y)) => assert!((c.x - x).abs() < 1e-9 && (c.y - y).abs() < 1e-9),
                None => assert!(!c.x.is_finite() || !c.y.is_finite()),
            }
        }
    }

    #[test]
    fn a_pair_is_searched_once_for_all_threads() {
        let (from, to) = (Crs::Epsg(2154), Crs::Epsg(32631));
        let defs: Vec<Option<String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        Transformer::new(&from, &to)
                            .unwrap()
                            .definition()
                            .map(str::to_string)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(defs[0].is_some());
        assert!(defs.iter().all(|d| *d == defs[0]), "{defs:?}");
        let pairs = PAIRS.lock().unwrap();
        let slot = pairs.get(&(from.clone(), to.clone())).expect("kept");
        assert!(matches!(slot.get(), Some(Ok(_))));
    }

    #[test]
    fn failed_pairs_are_reported_each_time_and_not_kept() {
        let bad = Crs::Wkt("PROJCS[\"nonsense\",GEOGCS[broken".into());
        for _ in 0..2 {
            let e = prepare(&bad, &WGS84).unwrap_err();
            assert!(e.to_string().contains("nonsense"), "{e}");
        }
        assert!(!PAIRS.lock().unwrap().contains_key(&(bad, WGS84)));
        assert!(prepare(&WGS84, &WGS84).is_ok(), "nothing to prepare");
    }

    #[test]
    fn bad_crs_is_an_error() {
        assert!(Transformer::new(&Crs::Wkt("not a crs".into()), &WGS84).is_err());
    }

    #[test]
    fn origin_keeps_offsets_small() {
        let o = SceneOrigin::centre_of([385_000.0, 6_672_000.0, 387_000.0, 6_674_000.0]);
        let l = o.local(Coord {
            x: 386_000.25,
            y: 6_673_000.5,
        });
        assert_eq!(l, [0.25, 0.5]);
    }
}
