//! The `citytwin` command: the app (default), and the headless tools `inspect`, `import`,
//! `synth`, `render`, `bench render` and `indicators`. Exit codes: 0 ok, 1 bad input (the message names file
//! and cause), 2 usage.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use citytwin::twin::crs::Crs;
use citytwin::twin::feeds::Timestamp;
use citytwin::twin::load::{self, LoadReport};
use citytwin::twin::scene::DEFAULT_SCENE;
use citytwin::twin::{import, indicators, inspect, synth};

/// Exit code for bad input.
const EXIT_BAD_INPUT: u8 = 1;

#[derive(Parser)]
#[command(
    name = "citytwin",
    version,
    about = "A city digital twin: GIS layers, live feeds, indicators and scenarios in 3D",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Scene file to open in the app (default: scenes/default.ron).
    scene: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Summarise the layers of scene files or bare data files (.shp, .geojson, .osm.pbf).
    Inspect {
        /// Scene files (.ron) or data files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Source CRS of bare data files without one (e.g. EPSG:2154).
        #[arg(long, value_parser = parse_epsg)]
        crs: Option<Crs>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Print seconds spent reading, projecting and resolving heights.
        #[arg(long)]
        timings: bool,
    },
    /// Convert an OSM PBF extract into Shapefile/GeoJSON layers and a scene file.
    Import {
        /// The .osm.pbf file.
        file: PathBuf,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Target CRS (default: the UTM zone of the data's centre).
        #[arg(long, value_parser = parse_epsg)]
        crs: Option<Crs>,
    },
    /// Render a scene offscreen (no window or display needed) to a PNG file.
    Render {
        /// The scene file (.ron).
        scene: PathBuf,
        /// The PNG file to write.
        #[arg(long)]
        out: PathBuf,
        /// Image size, WIDTHxHEIGHT.
        #[arg(long, default_value = "1920x1080", value_parser = citytwin::app::offscreen::parse_size)]
        size: (u32, u32),
        /// Look from this scene bookmark instead of framing the whole city.
        #[arg(long)]
        bookmark: Option<String>,
    },
    /// Measure how fast a city loads and draws.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
    /// Write a synthetic city (buildings, streets, districts) as Shapefiles.
    Synth {
        /// Number of buildings.
        #[arg(long)]
        buildings: usize,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Print every indicator city-wide and per zone with its status, the dimension scores
    /// and the alerts.
    Indicators {
        /// The scene file (.ron).
        scene: PathBuf,
        /// Evaluation time: milliseconds since 1970 or YYYY-MM-DDTHH:MM[:SS]Z (default: now).
        #[arg(long, value_parser = indicators::report::parse_time)]
        at: Option<Timestamp>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Render offscreen: time from start to the first frame, the CPU part (city to meshes
    /// ready for upload) and frame time min/median/p90, waiting for the GPU every frame.
    Render {
        /// A scene file to measure instead of a synthetic city.
        scene: Option<PathBuf>,
        /// Buildings of a synthetic city generated in memory.
        #[arg(long, conflicts_with = "scene", required_unless_present = "scene")]
        buildings: Option<usize>,
        /// Image size, WIDTHxHEIGHT.
        #[arg(long, default_value = "1920x1080", value_parser = citytwin::app::offscreen::parse_size)]
        size: (u32, u32),
        /// Frames timed after the first.
        #[arg(long, default_value_t = 60)]
        frames: u32,
        /// Random seed of the synthetic city.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Live feeds: ingest rate, MQTT latency through 127.0.0.1:1883, drain time per frame.
    Feeds {
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// The egui panels' cost per frame (dashboard, map overlays, a zone's window) with a
    /// simulated day of feeds, laid out and tessellated headless.
    Panels {
        /// The scene file (.ron).
        scene: PathBuf,
        /// Frames timed.
        #[arg(long, default_value_t = 300)]
        frames: u32,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

fn run_bench(what: BenchCommand) -> Result<(), String> {
    use citytwin::app::bench::{BenchCity, BenchJob, bench_render};
    let (scene, buildings, size, frames, seed, json) = match what {
        BenchCommand::Render {
            scene,
            buildings,
            size,
            frames,
            seed,
            json,
        } => (scene, buildings, size, frames, seed, json),
        BenchCommand::Feeds { json } => return run_bench_feeds(json),
        BenchCommand::Panels { scene, frames, json } => {
            let r = citytwin::app::panels_bench::bench_panels(&scene, frames).map_err(|e| e.to_string())?;
            if json {
                println!("{}", serde_json::to_string(&r).map_err(|e| e.to_string())?);
            } else {
                print!("{}", r.text());
            }
            return Ok(());
        }
    };
    let city = match (scene, buildings) {
        (Some(path), _) => BenchCity::Scene(path),
        (None, Some(buildings)) => BenchCity::Synth { buildings, seed },
        (None, None) => return Err("give a scene file or --buildings N".into()),
    };
    let report = bench_render(&BenchJob { city, size, frames }).map_err(|e| e.to_string())?;
    if json {
        println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
    } else {
        print!("{}", report.text());
    }
    Ok(())
}

fn run_bench_feeds(json: bool) -> Result<(), String> {
    let b = citytwin::twin::feeds::bench::run(&Default::default())?;
    if json {
        println!("{}", serde_json::to_string(&b).map_err(|e| e.to_string())?);
    } else {
        let ms = |v: Option<f64>| {
            v.map_or("n/a (no broker on 127.0.0.1:1883)".to_string(), |x| {
                format!("{x:.2} ms")
            })
        };
        println!(
            "ingest (channel → state → store): {:.0} observations/s",
            b.ingest_obs_per_s
        );
        println!(
            "MQTT publish → applied, 10,000 msg/s: p50 {}, p99 {}",
            ms(b.mqtt_p50_ms),
            ms(b.mqtt_p99_ms)
        );
        println!(
            "drain time per frame at 100,000 obs/s: {:.3} ms",
            b.frame_ms_added
        );
    }
    Ok(())
}

fn parse_epsg(s: &str) -> Result<Crs, String> {
    match Crs::parse(s) {
        c @ Crs::Epsg(_) => Ok(c),
        Crs::Wkt(_) => Err(format!("'{s}' is not of the form EPSG:n")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => {
            let scene = cli.scene.unwrap_or_else(|| PathBuf::from(DEFAULT_SCENE));
            citytwin::app::run(scene).map_err(|e| e.to_string())
        }
        Some(Command::Inspect {
            paths,
            crs,
            json,
            timings,
        }) => run_inspect(&paths, crs.as_ref(), json, timings),
        Some(Command::Import { file, out, crs }) => import::import_osm(&file, &out, crs)
            .map(|s| {
                for (path, kind, n) in &s.files {
                    println!("{:>8} {:<9} {}", n, kind.name(), path.display());
                }
                println!("crs {}; scene {}", s.crs, out.join("scene.ron").display());
            })
            .map_err(|e| e.to_string()),
        Some(Command::Render {
            scene,
            out,
            size,
            bookmark,
        }) => citytwin::app::offscreen::render_to_png(&scene, &out, size, bookmark.as_deref())
            .map(|()| println!("{}", out.display()))
            .map_err(|e| e.to_string()),
        Some(Command::Bench { what }) => run_bench(what),
        Some(Command::Synth { buildings, out, seed }) => synth::write_synth(&out, buildings, seed)
            .map(|s| {
                println!(
                    "{} buildings ({} with courtyards), {} street segments, {} districts → {}",
                    s.buildings,
                    s.courtyards,
                    s.roads,
                    s.districts,
                    out.join("synth.ron").display()
                );
            })
            .map_err(|e| e.to_string()),
        Some(Command::Indicators { scene, at, json }) => indicators::report_for_scene(&scene, at)
            .map_err(|e| e.to_string())
            .and_then(|r| {
                if json {
                    let text = serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?;
                    println!("{text}");
                } else {
                    print!("{}", r.to_text());
                }
                Ok(())
            }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("citytwin: {e}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

fn run_inspect(paths: &[PathBuf], crs: Option<&Crs>, json: bool, timings: bool) -> Result<(), String> {
    let mut json_layers = Vec::new();
    let mut failed = Vec::new();
    for path in paths {
        let is_scene = path.extension().is_some_and(|e| e == "ron");
        let (city, report): (_, LoadReport) = if is_scene {
            let l = load::load_scene(path).map_err(|e| e.to_string())?;
            (l.city, l.report)
        } else {
            if !path.exists() {
                return Err(format!("{}: file not found", path.display()));
            }
            let scene = load::scene_for_file(path, crs);
            let base = path.parent().unwrap_or(std::path::Path::new("."));
            load::load_layers(&scene, base).map_err(|e| format!("{}: {e}", path.display()))?
        };
        for (i, r) in report.layers.iter().enumerate() {
            if !inspect::is_listed(r) && !is_scene {
                continue;
            }
            if let Some(e) = &r.error {
                failed.push(e.clone());
            }
            if json {
                json_layers.push(inspect::layer_json(&city, &report, i, timings));
            } else {
                print!("{}", inspect::layer_text(&city, &report, i, timings));
            }
        }
        if !json {
            println!(
                "{}: scene crs {}, {} buildings, {} roads, {} zones, {} POIs, {} areas; loaded in {:.3} s",
                path.display(),
                report.scene_crs,
                city.buildings.len(),
                city.roads.len(),
                city.zones.len(),
                city.pois.len(),
                city.areas.len(),
                report.total_s
            );
        }
    }
    if json {
        println!("{}", serde_json::json!({ "layers": json_layers }));
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}
