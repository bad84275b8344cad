//! The `citytwin` command: the app (default; `--wall` for the control-room wall,
//! `--briefing` presents a briefing), and the headless tools `inspect`, `import`, `synth`,
//! `render`, `bench render|feeds|panels`, `indicators`, `scenario apply|compare`, `briefing
//! export` and `soak --wall`. Exit codes: 0 ok, 1 bad input (the message names file and
//! cause), 2 usage.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use citytwin::twin::crs::Crs;
use citytwin::twin::feeds::Timestamp;
use citytwin::twin::load::{self, LoadReport};
use citytwin::twin::scene::DEFAULT_SCENE;
use citytwin::twin::{import, indicators, inspect, scenario, synth};

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
    /// Scene file to open in the app (default: scenes/default.ron, or the briefing's scene).
    scene: Option<PathBuf>,
    /// Present a briefing full screen (arrows, PageUp/PageDown or space move between slides).
    #[arg(long)]
    briefing: Option<PathBuf>,
    /// Run as this role of the scene (default: the scene's default role, normally
    /// `public`): layers and feeds above it are not loaded at all.
    #[arg(long)]
    role: Option<String>,
    /// Run as a control-room wall: borderless fullscreen, wall panels, automatic tour.
    #[arg(long)]
    wall: bool,
    /// The monitor (0-based index) the wall fills; the primary monitor by default.
    #[arg(long, requires = "wall")]
    monitor: Option<usize>,
    /// Language of the app (en, zh-CN); default: the scene's `lang`, else the user's
    /// setting (the language menu saves it), else English.
    #[arg(long)]
    lang: Option<citytwin::twin::i18n::Lang>,
    /// Open a window of this size, WIDTHxHEIGHT (screenshots, tests), instead of a
    /// maximised one (or, with --wall, one filling the monitor).
    #[arg(long, value_parser = citytwin::app::offscreen::parse_size, conflicts_with = "monitor")]
    window: Option<(u32, u32)>,
}

#[derive(Subcommand)]
enum Command {
    /// Summarise the layers of scene files, bare data files (.shp, .geojson, .gpkg,
    /// .osm.pbf, …) or PostGIS sources (postgis://user@host:port/dbname?table=schema.table).
    Inspect {
        /// Scene files (.ron), data files or postgis:// sources.
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
    /// Convert an OSM PBF extract into Shapefile/GeoJSON layers (or one GeoPackage) and a scene file.
    Import {
        /// The .osm.pbf file.
        file: PathBuf,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Target CRS (default: the UTM zone of the data's centre).
        #[arg(long, value_parser = parse_epsg)]
        crs: Option<Crs>,
        /// Output format: `files` (Shapefiles and GeoJSON) or `gpkg` (one GeoPackage).
        #[arg(long, default_value = "files")]
        format: import::ImportFormat,
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
        #[arg(long, conflicts_with = "wall")]
        bookmark: Option<String>,
        /// Render as this role of the scene (default: the scene's default role).
        #[arg(long)]
        role: Option<String>,
        /// Render the control-room wall (panels over the city, at the wall's UI scale).
        #[arg(long)]
        wall: bool,
        /// Buildings cast sun shadows (whatever the scene's `lighting` says).
        #[arg(long, conflicts_with = "wall")]
        shadows: bool,
    },
    /// Run the wall headless with sped-up simulators for a span of simulated time and
    /// report memory over time.
    Soak {
        /// Soak the wall mode (the only soak there is; say it to be explicit).
        #[arg(long, required = true)]
        wall: bool,
        /// The scene file (default: scenes/default.ron); it needs a simulator feed.
        scene: Option<PathBuf>,
        /// Simulated seconds per real second.
        #[arg(long, default_value_t = 100.0)]
        speed: f64,
        /// Simulated hours to run.
        #[arg(long, default_value_t = 24.0)]
        sim_hours: f64,
        /// Samples over the span.
        #[arg(long, default_value_t = 24)]
        samples: usize,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Run the scene's feeds into its history without a window (a control room's ingest
    /// service): a status line every few seconds, an optional health endpoint, a bounded
    /// on-disk spool while the database is down. Runs until interrupted (or `--for`).
    Ingest {
        /// The scene file (.ron); it needs feeds and a history.
        scene: PathBuf,
        /// Folder of the spool (default: `ingest-state` beside the scene).
        #[arg(long)]
        state: Option<PathBuf>,
        /// Spool limit, MiB; when full, input is no longer acknowledged (backpressure).
        #[arg(long, default_value_t = 512)]
        spool_mib: u64,
        /// Seconds between status lines (0: none).
        #[arg(long, default_value_t = 5.0)]
        status_every: f64,
        /// Answer `GET /health` with JSON counts on this loopback address (e.g. 127.0.0.1:9187).
        #[arg(long)]
        health: Option<std::net::SocketAddr>,
        /// Stop after this many seconds (default: run until killed).
        #[arg(long = "for")]
        run_for: Option<f64>,
    },
    /// Briefings: export to PDF and PNG.
    Briefing {
        #[command(subcommand)]
        what: BriefingCommand,
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
    /// Planner scenarios: apply one to a scene, or compare several.
    Scenario {
        #[command(subcommand)]
        what: ScenarioCommand,
    },
    /// Print every indicator city-wide and per zone with its status, the dimension scores
    /// and the alerts.
    Indicators {
        /// The scene file (.ron).
        scene: PathBuf,
        /// Evaluation time: milliseconds since 1970 or YYYY-MM-DDTHH:MM[:SS]Z (default: now); feed
        /// indicators use the 24 hours before it from the scene's history store.
        #[arg(long, value_parser = indicators::report::parse_time)]
        at: Option<Timestamp>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Report as this role of the scene (default: the scene's default role).
        #[arg(long)]
        role: Option<String>,
        /// Language of the text report (en, zh-CN; default: the scene's `lang`, else
        /// English); `--json` is language-neutral (ids and numbers).
        #[arg(long)]
        lang: Option<citytwin::twin::i18n::Lang>,
    },
}

#[derive(Subcommand)]
enum ScenarioCommand {
    /// Apply a scenario to a scene's baseline: baseline and scenario indicators, deltas and
    /// the cost-benefit table.
    Apply {
        /// The scene file (.ron).
        scene: PathBuf,
        /// The scenario file (.ron).
        scenario: PathBuf,
        /// Evaluation time: milliseconds since 1970 or YYYY-MM-DDTHH:MM[:SS]Z (default: now).
        #[arg(long, value_parser = indicators::report::parse_time)]
        at: Option<Timestamp>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Language of the text report (en, zh-CN); `--json` is language-neutral.
        #[arg(long, default_value = "en")]
        lang: citytwin::twin::i18n::Lang,
    },
    /// Apply several scenarios to a scene's baseline and rank them against each other.
    Compare {
        /// The scene file (.ron).
        scene: PathBuf,
        /// The scenario files (.ron).
        #[arg(required = true, num_args = 2..)]
        scenarios: Vec<PathBuf>,
        /// Evaluation time: milliseconds since 1970 or YYYY-MM-DDTHH:MM[:SS]Z (default: now).
        #[arg(long, value_parser = indicators::report::parse_time)]
        at: Option<Timestamp>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Language of the text report (en, zh-CN); `--json` is language-neutral.
        #[arg(long, default_value = "en")]
        lang: citytwin::twin::i18n::Lang,
    },
}

fn run_scenario(what: ScenarioCommand) -> Result<(), String> {
    let (scene, files, at, json, single, lang) = match what {
        ScenarioCommand::Apply {
            scene,
            scenario,
            at,
            json,
            lang,
        } => (scene, vec![scenario], at, json, true, lang),
        ScenarioCommand::Compare {
            scene,
            scenarios,
            at,
            json,
            lang,
        } => (scene, scenarios, at, json, false, lang),
    };
    let at = at.unwrap_or_else(Timestamp::now);
    let set = scenario::report_for_files(&scene, &files, at).map_err(|e| e.to_string())?;
    let text = match (json, single) {
        (true, true) => serde_json::to_string_pretty(&set.scenarios[0]).map_err(|e| e.to_string())? + "\n",
        (true, false) => serde_json::to_string_pretty(&set).map_err(|e| e.to_string())? + "\n",
        (false, _) => set.to_text_in(lang),
    };
    print!("{text}");
    Ok(())
}

#[derive(Subcommand)]
enum BriefingCommand {
    /// Render every slide offscreen and write a PDF (one page per slide: the view, the
    /// indicators with their status, the notes, data time and sources) and/or PNG files,
    /// and/or write the briefing's values as JSON (any combination; the JSON alone renders
    /// nothing).
    Export {
        /// The briefing file (.ron).
        briefing: PathBuf,
        /// The PDF file to write.
        #[arg(long)]
        pdf: Option<PathBuf>,
        /// A folder for one PNG per slide (slide-01.png, ...).
        #[arg(long)]
        png_dir: Option<PathBuf>,
        /// A JSON file: title, scene, role, attributions and per slide the data time,
        /// scenario, layers with their sources, indicator values (with today's beside a
        /// scenario's), the choropleth's zone values and the service requests as the role
        /// may see them.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Image size of the views, WIDTHxHEIGHT.
        #[arg(long, default_value = "1600x900", value_parser = citytwin::app::offscreen::parse_size)]
        size: (u32, u32),
        /// Export for this role (default: the scene's default role): layers it may not see
        /// are neither drawn nor credited, indicators it may not see show no value.
        #[arg(long)]
        role: Option<String>,
        /// Language of the PDF (en, zh-CN): its words, the indicators' names and units,
        /// and the briefing's text from its translation file (NAME.zh-CN.ron) when there is one.
        #[arg(long, default_value = "en")]
        lang: citytwin::twin::i18n::Lang,
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
        /// Multisample anti-aliasing, samples per pixel: 1 (off), 2, 4 or 8.
        #[arg(long, default_value_t = 4)]
        msaa: u32,
        /// Sun shadows on (a shadow pass every frame), to measure their cost; off otherwise.
        #[arg(long)]
        shadows: bool,
        /// Also measure each render pass: GPU and CPU time, triangles, vertex and fragment
        /// shader invocations (timestamp and pipeline-statistics queries; costs a little).
        #[arg(long)]
        passes: bool,
        /// Post-process anti-aliasing instead of multisampling (with --msaa 1).
        #[arg(long = "aa", value_enum, default_value_t = citytwin::app::bench::PostAa::None)]
        post_aa: citytwin::app::bench::PostAa,
        /// How the main and render schedules run their systems (single: each world's one
        /// after another, as offscreen renders do; single-main: the main world's only;
        /// multi: Bevy's default, in parallel).
        #[arg(long, value_enum, default_value_t = citytwin::app::offscreen::OFFSCREEN_EXECUTOR)]
        executor: citytwin::app::offscreen::Executor,
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
    let (scene, buildings, size, frames, seed, msaa, shadows, passes, post_aa, executor, json) = match what {
        BenchCommand::Render {
            scene,
            buildings,
            size,
            frames,
            seed,
            msaa,
            shadows,
            passes,
            post_aa,
            executor,
            json,
        } => (
            scene, buildings, size, frames, seed, msaa, shadows, passes, post_aa, executor, json,
        ),
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
    let report = bench_render(&BenchJob {
        city,
        size,
        frames,
        msaa,
        shadows: Some(shadows),
        passes,
        post_aa,
        executor,
    })
    .map_err(|e| e.to_string())?;
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
            "ingest (channel → state → store, batched commits; counted once committed): {:.0} observations/s",
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

fn run_presenting(
    path: PathBuf,
    scene: Option<PathBuf>,
    role: Option<String>,
    size: Option<(u32, u32)>,
) -> Result<(), String> {
    let briefing = citytwin::twin::briefing::Briefing::load(&path).map_err(|e| e.to_string())?;
    let scene = scene.unwrap_or_else(|| briefing.scene_path(&path));
    let plugin = citytwin::app::briefing::BriefingPlugin {
        briefing: Some((briefing, path)),
        presenting: true,
    };
    citytwin::app::run_with(scene, role, plugin, size).map_err(|e| e.to_string())
}

fn run_briefing_export(job: citytwin::app::briefing_export::ExportJob) -> Result<(), String> {
    use citytwin::twin::briefing::values::data_time_text_in;
    use citytwin::twin::i18n::format::format_number;
    use citytwin::twin::i18n::{Arg, tr_args};
    let o = citytwin::app::briefing_export::export_briefing(&job).map_err(|e| format!("{e:#}"))?;
    // Human output follows --lang; counts go in as numbers (they pick plural forms).
    let lang = job.lang;
    let count = |n: usize| Arg::from(n);
    let secs = |s: f64, decimals: usize| Arg::from(format_number(lang, s, decimals));
    for p in &o.pngs {
        println!("{}", p.display());
    }
    if let (Some(path), Some(s)) = (&job.pdf, &o.pdf) {
        println!(
            "{}",
            tr_args(
                lang,
                "cli-export-pdf",
                &[
                    ("path", path.display().to_string().into()),
                    ("pages", count(s.pages)),
                    ("bytes", format_number(lang, s.bytes as f64, 0).into()),
                ],
            )
        );
        if !s.missing_indicators.is_empty() {
            println!(
                "{}",
                tr_args(
                    lang,
                    "cli-export-missing-indicators",
                    &[("list", s.missing_indicators.join(", ").into())],
                )
            );
        }
        if s.lines_cut > 0 {
            println!(
                "{}",
                tr_args(lang, "cli-export-lines-cut", &[("count", count(s.lines_cut))])
            );
        }
        if s.unencodable > 0 {
            println!(
                "{}",
                tr_args(lang, "cli-export-no-glyph", &[("count", count(s.unencodable))])
            );
        }
    }
    if let Some(path) = &o.json {
        println!(
            "{}",
            tr_args(
                lang,
                "cli-export-json",
                &[
                    ("path", path.display().to_string().into()),
                    ("slides", count(o.values.len())),
                    ("role", o.role.as_str().into()),
                ],
            )
        );
    }
    for p in &o.problems {
        println!(
            "{}",
            tr_args(lang, "cli-report-problem", &[("problem", p.to_string().into())])
        );
    }
    for (i, v) in o.values.iter().enumerate() {
        // The feeds' data time in --lang; a time the briefing sets is shown as it is written.
        let time = if v.feeds_time {
            data_time_text_in(lang, v.at, v.observations)
        } else {
            v.data_time.clone()
        };
        let (slide, time) = (count(i + 1), Arg::from(time));
        match v.scenario.as_deref() {
            Some(scenario) => println!(
                "{}",
                tr_args(
                    lang,
                    "cli-export-slide-scenario",
                    &[("slide", slide), ("time", time), ("scenario", scenario.into())],
                )
            ),
            None => println!(
                "{}",
                tr_args(lang, "cli-export-slide", &[("slide", slide), ("time", time)])
            ),
        }
    }
    if !o.withheld_indicators.is_empty() {
        println!(
            "{}",
            tr_args(
                lang,
                "cli-export-withheld",
                &[
                    ("role", o.role.as_str().into()),
                    ("list", o.withheld_indicators.join(", ").into()),
                ],
            )
        );
    }
    if job.pdf.is_none() && job.png_dir.is_none() {
        println!(
            "{}",
            tr_args(
                lang,
                "cli-export-values-ready",
                &[("slides", count(o.slides)), ("load", secs(o.load_s, 1))],
            )
        );
    } else {
        println!(
            "{}",
            tr_args(
                lang,
                "cli-export-rendered",
                &[
                    ("slides", count(o.slides)),
                    ("load", secs(o.load_s, 1)),
                    ("render", secs(o.render_s, 1)),
                    ("per", secs(o.render_s / o.slides.max(1) as f64, 2)),
                ],
            )
        );
    }
    Ok(())
}

/// `citytwin ingest`: the scene's feeds into its history, headless.
fn run_ingest(
    scene: &std::path::Path,
    state: Option<PathBuf>,
    spool_mib: u64,
    status_every: f64,
    health: Option<std::net::SocketAddr>,
    run_for: Option<f64>,
) -> Result<(), String> {
    use citytwin::twin::feeds::ingest::{IngestConfig, start_ingest};
    if health.is_some_and(|a| !a.ip().is_loopback()) {
        return Err("--health listens on a loopback address only (127.0.0.1 or ::1)".into());
    }
    let loaded = citytwin::twin::load::load_scene(scene).map_err(|e| e.to_string())?;
    let Some(history) = loaded.scene.history.as_ref() else {
        return Err(format!("{}: the scene names no history", scene.display()));
    };
    if loaded.scene.feeds.is_empty() {
        return Err(format!("{}: the scene has no feeds", scene.display()));
    }
    let config = IngestConfig {
        state_dir: state.unwrap_or_else(|| {
            scene
                .parent()
                .unwrap_or(std::path::Path::new("."))
                .join("ingest-state")
        }),
        spool_bytes: spool_mib.saturating_mul(1 << 20),
        status_every: (status_every > 0.0).then(|| std::time::Duration::from_secs_f64(status_every)),
        health,
    };
    let ingest = start_ingest(&loaded.scene.feeds, history, &loaded.city, &loaded.path, &config)
        .map_err(|e| e.to_string())?;
    if let Some(a) = ingest.health_addr {
        eprintln!("ingest: health on http://{a}/health");
    }
    let end = run_for.map(|s| std::time::Instant::now() + std::time::Duration::from_secs_f64(s));
    while end.is_none_or(|e| std::time::Instant::now() < e) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    println!("{}", ingest.counters.line());
    ingest.stop();
    Ok(())
}

fn run_soak(
    scene: Option<PathBuf>,
    speed: f64,
    sim_hours: f64,
    samples: usize,
    json: bool,
) -> Result<(), String> {
    use citytwin::app::wall::soak::{SoakJob, soak_wall};
    let job = SoakJob {
        scene: scene.unwrap_or_else(|| PathBuf::from(DEFAULT_SCENE)),
        speed,
        sim_hours,
        samples,
    };
    let report = soak_wall(&job, |s| {
        if !json {
            eprintln!(
                "sim {:6.2} h · real {:7.1} s · RSS {:7.1} MiB · {} entities · {} recent obs · {} alerts logged",
                s.sim_h,
                s.real_s,
                s.rss_bytes as f64 / (1024.0 * 1024.0),
                s.entities,
                s.recent_observations,
                s.alerts_logged
            );
        }
    })
    .map_err(|e| e.to_string())?;
    if json {
        println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
    } else {
        print!("{}", report.text());
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
    if let Some(lang) = cli.lang {
        citytwin::app::i18n::request_lang(lang);
    }
    let result = match cli.command {
        None => {
            let scene = cli.scene.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_SCENE));
            match (cli.wall, cli.briefing) {
                (true, _) => citytwin::app::wall::run_wall(scene, cli.monitor, cli.role, cli.window)
                    .map_err(|e| e.to_string()),
                (false, Some(path)) => run_presenting(path, cli.scene, cli.role, cli.window),
                (false, None) => {
                    citytwin::app::run_as(scene, cli.role, cli.window).map_err(|e| e.to_string())
                }
            }
        }
        Some(Command::Briefing {
            what:
                BriefingCommand::Export {
                    briefing,
                    pdf,
                    png_dir,
                    json,
                    size,
                    role,
                    lang,
                },
        }) => run_briefing_export(citytwin::app::briefing_export::ExportJob {
            briefing,
            pdf,
            png_dir,
            json,
            size,
            role,
            lang,
        }),
        Some(Command::Inspect {
            paths,
            crs,
            json,
            timings,
        }) => run_inspect(&paths, crs.as_ref(), json, timings),
        Some(Command::Import {
            file,
            out,
            crs,
            format,
        }) => import::import_osm_as(&file, &out, crs, format)
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
            wall: true,
            ..
        }) => citytwin::app::wall::render::render_wall(&scene, &out, size)
            .map(|_| println!("{}", out.display()))
            .map_err(|e| e.to_string()),
        Some(Command::Render {
            scene,
            out,
            size,
            bookmark,
            role,
            wall: false,
            shadows,
        }) => citytwin::app::offscreen::render_to_png_lit(
            &scene,
            &out,
            size,
            bookmark.as_deref(),
            role.as_deref(),
            shadows.then_some(true),
        )
        .map(|()| println!("{}", out.display()))
        .map_err(|e| e.to_string()),
        Some(Command::Soak {
            wall: _,
            scene,
            speed,
            sim_hours,
            samples,
            json,
        }) => run_soak(scene, speed, sim_hours, samples, json),
        Some(Command::Bench { what }) => run_bench(what),
        Some(Command::Ingest {
            scene,
            state,
            spool_mib,
            status_every,
            health,
            run_for,
        }) => run_ingest(&scene, state, spool_mib, status_every, health, run_for),
        Some(Command::Scenario { what }) => run_scenario(what),
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
        Some(Command::Indicators {
            scene,
            at,
            json,
            role,
            lang,
        }) => citytwin::twin::access::export::report_for_scene_as(&scene, role.as_deref(), at)
            .map_err(|e| e.to_string())
            .and_then(|(r, catalogue, access)| {
                if json {
                    let v = access.report_json(&catalogue, r).map_err(|e| e.to_string())?;
                    let text = serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?;
                    println!("{text}");
                } else {
                    let lang = lang
                        .or_else(|| {
                            citytwin::twin::scene::Scene::load(&scene)
                                .ok()
                                .and_then(|s| s.lang)
                        })
                        .unwrap_or_default();
                    print!("{}", r.to_text_in(lang));
                    let s = access.summary();
                    let withheld = access.withheld.summary(&s.role);
                    println!(
                        "role {}: {}; {} indicators withheld",
                        s.role,
                        withheld.unwrap_or_else(|| "nothing withheld".into()),
                        s.withheld_indicators.len()
                    );
                    if !s.attributions.is_empty() {
                        println!("{}", citytwin::twin::access::attribution_line(&s.attributions));
                    }
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

/// A path as printed: a `postgis://` URL without a password written in it.
fn shown(path: &std::path::Path) -> String {
    let text = path.display().to_string();
    if citytwin::twin::gis::postgis::is_postgis(path) {
        citytwin::twin::gis::postgis::redact(&text)
    } else {
        text
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
            if !path.exists() && !citytwin::twin::gis::postgis::is_postgis(path) {
                return Err(format!("{}: file not found", path.display()));
            }
            let scene = load::scene_for_file(path, crs);
            let base = path.parent().unwrap_or(std::path::Path::new("."));
            load::load_layers(&scene, base).map_err(|e| format!("{}: {e}", shown(path)))?
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
                shown(path),
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
