//! City-to-meshes benchmark (the CPU part of showing a city, no GPU): a synthetic city
//! generated in memory becomes a city model, then tile meshes ready for upload, as the app's
//! loader thread does. Prints seconds per step and memory per building, counted by a
//! global allocator: the city model retained, the mesh data, and the peak while loading.
//! Asserts nothing about time.
//!
//! `cargo bench --bench mesh` (add `--no-default-features` to skip building Bevy) — env:
//! `CITYTWIN_BENCH_BUILDINGS`, comma-separated sizes (default `100000,1000000`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use citytwin::twin::extrude::{TILE_M, TileMesh, extrude_city_with, tile_lods};
use citytwin::twin::perf::peak_rss_bytes;
use citytwin::twin::progress::Progress;
use citytwin::twin::synth::load_synth;

/// Sizes measured when none are given.
const DEFAULT_SIZES: &[usize] = &[100_000, 1_000_000];
/// Bytes in a MiB.
const MIB: f64 = 1024.0 * 1024.0;

/// Bytes allocated now.
static CURRENT: AtomicUsize = AtomicUsize::new(0);
/// Most bytes allocated at once since the last [`reset_peak`].
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting live bytes.
struct Counting;

// SAFETY: every call is passed on unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

fn grew(size: usize) {
    let now = CURRENT.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn reset_peak() {
    PEAK.store(CURRENT.load(Ordering::Relaxed), Ordering::Relaxed);
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes of mesh buffers (by capacity).
fn mesh_bytes(tiles: &[TileMesh]) -> usize {
    tiles
        .iter()
        .map(|t| {
            t.positions.capacity() * 12
                + t.normals.capacity() * 12
                + t.building_index.capacity() * 4
                + t.indices.capacity() * 4
                + std::mem::size_of::<TileMesh>()
        })
        .sum()
}

fn per_building(bytes: usize, n: usize) -> f64 {
    bytes as f64 / n.max(1) as f64
}

fn measure(n: usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    reset_peak();
    let progress = Progress::default();
    let t = Instant::now();
    let mut loaded = load_synth(n, 1, &progress).expect("synthetic city loads");
    let load_s = t.elapsed().as_secs_f64();
    let peak_load = PEAK.load(Ordering::Relaxed) - base;
    let model = CURRENT.load(Ordering::Relaxed) - base;

    reset_peak();
    let t = Instant::now();
    let (tiles, report) = extrude_city_with(&loaded.city, TILE_M, &progress);
    let extrude_s = t.elapsed().as_secs_f64();
    // The levels of detail, as the loader thread makes them: near (no ground floors) and far
    // (one quad per roof).
    let t = Instant::now();
    let lods = tile_lods(tiles);
    let lod_s = t.elapsed().as_secs_f64();
    let mesh_s = extrude_s + lod_s;
    let peak_mesh = PEAK.load(Ordering::Relaxed) - base;
    let with_meshes = CURRENT.load(Ordering::Relaxed) - base;
    let (near, far): (Vec<TileMesh>, Vec<TileMesh>) = lods.into_iter().map(|l| (l.near, l.far)).unzip();
    let mesh = mesh_bytes(&near) + mesh_bytes(&far);
    let triangles = |t: &[TileMesh]| t.iter().map(TileMesh::triangle_count).sum::<usize>();
    let b = loaded.city.buildings.len();

    // Where the model's bytes go: drop the attribute maps, then the footprints.
    let before = CURRENT.load(Ordering::Relaxed);
    for b in &mut loaded.city.buildings {
        b.attributes = Default::default();
    }
    let attributes = before - CURRENT.load(Ordering::Relaxed);
    let before = CURRENT.load(Ordering::Relaxed);
    for b in &mut loaded.city.buildings {
        b.footprint = geo_types::MultiPolygon(Vec::new());
    }
    let footprints = before - CURRENT.load(Ordering::Relaxed);

    println!(
        "== synthetic city, {b} buildings ({} tiles, {} triangles)",
        report.tiles, report.triangles
    );
    println!("  generate + model   {load_s:>7.3} s");
    println!(
        "  meshes             {mesh_s:>7.3} s (extrusion {extrude_s:.3} s, levels of detail {lod_s:.3} s)"
    );
    println!(
        "  triangles          near {} ({:.1}/building), far {} ({:.1}/building)",
        triangles(&near),
        per_building(triangles(&near), b),
        triangles(&far),
        per_building(triangles(&far), b)
    );
    println!("  city → meshes      {:>7.3} s", load_s + mesh_s);
    println!(
        "  city model kept    {:>7.0} B/building ({:.0} MiB): attributes {:.0}, footprints {:.0}, rest {:.0}",
        per_building(model, b),
        model as f64 / MIB,
        per_building(attributes, b),
        per_building(footprints, b),
        per_building(model.saturating_sub(attributes + footprints), b),
    );
    println!(
        "  mesh data          {:>7.0} B/building ({:.0} MiB, both levels)",
        per_building(mesh, b),
        mesh as f64 / MIB
    );
    println!(
        "  beyond the meshes  {:>7.0} B/building (all live bytes after meshing − mesh data)",
        per_building(with_meshes.saturating_sub(mesh), b)
    );
    println!(
        "  peak while loading {:>7.0} B/building; while meshing {:.0} B/building",
        per_building(peak_load, b),
        per_building(peak_mesh, b)
    );
    if let Some(rss) = peak_rss_bytes() {
        println!("  process peak RSS so far {:.0} MiB", rss as f64 / MIB);
    }
}

fn main() {
    let sizes: Vec<usize> = match std::env::var("CITYTWIN_BENCH_BUILDINGS") {
        Ok(s) => s
            .split(',')
            .map(|v| {
                v.trim()
                    .parse()
                    .expect("CITYTWIN_BENCH_BUILDINGS: comma-separated numbers")
            })
            .collect(),
        Err(_) => DEFAULT_SIZES.to_vec(),
    };
    for n in sizes {
        measure(n);
    }
}
