//! Who may see what, end to end on the Helsinki scene: a layer classified above the role is
//! not loaded (no entity in the world, none of its colour in the offscreen PNG) and shows
//! for a role cleared for it; the indicator report of a role leaves out what the role may
//! not see and names it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use citytwin::app::AppState;
use citytwin::app::access::{RequestedRole, SceneAccess};
use citytwin::app::loading::{LoadedCity, LoadingPlugin};
use citytwin::app::offscreen::{RenderJob, Shot, read_png_rgba, render_as};
use citytwin::app::outline::{LayerEntity, OutlinePlugin};
use citytwin::twin::gis::layer::LayerKind;
use citytwin::twin::scene::HELSINKI_SCENE;

use crate::common::{root, tmp};

/// The layer the tests withhold, and the distinctive colour it is drawn in. Parks and green
/// areas: about a fifth of the mapped centre, drawn over land use and under roads and
/// buildings. (The Helsinki scene's water layer is six ponds, about 1,100 m² in all: OSM
/// maps the sea by its coastline, not as water polygons, so the extract has no sea, and
/// the ponds cover a few pixels of a whole-city view.)
const LAYER: &str = "green";
/// Magenta: no other layer or marker of the Helsinki scene comes near it.
const LAYER_RGB: (u8, u8, u8) = (255, 0, 255);
/// Least share of the image, percent, the layer covers as staff (about 1.6 % in the whole
/// city view at [`SIZE`]; the city fills less than half of the frame).
const STAFF_MIN_PERCENT: usize = 1;
/// Size of the test images.
const SIZE: (u32, u32) = (320, 240);
/// Longest the headless test waits for the loader thread.
const LOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// The Helsinki scene written to `dir` with absolute data paths, `layer` classified
/// `classification` and drawn in [`LAYER_RGB`].
fn default_scene_with(dir: &Path, layer: &str, classification: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join(HELSINKI_SCENE)).expect("Helsinki scene");
    let data = root().join("data");
    let text = text.replace("\"../data/", &format!("\"{}/", data.display()));
    let start = text
        .find(&format!("name: \"{layer}\","))
        .unwrap_or_else(|| panic!("no layer {layer} in the Helsinki scene"));
    let end = start + text[start..].find("\n        ),").expect("end of the layer");
    let (r, g, b) = LAYER_RGB;
    let block = &text[start..end];
    let colour_at = block.find("colour: (").expect("a style colour");
    let colour_end = colour_at + block[colour_at..].find(')').unwrap() + 1;
    let block = format!(
        "{}colour: ({r}, {g}, {b}){}",
        &block[..colour_at],
        &block[colour_end..]
    )
    .replace(
        "classification: public",
        &format!("classification: {classification}"),
    );
    assert!(block.contains(&format!("classification: {classification}")));
    let text = format!("{}{block}{}", &text[..start], &text[end..]);
    let path = dir.join(format!("{layer}-{classification}.ron"));
    std::fs::write(&path, text).expect("scene written");
    path
}

/// A lit magenta pixel of the layer: bright red and blue in balance, little green. The
/// lit layer renders about (222, 11, 222); the nearest other colours are shop markers in
/// shade (about (134, 46, 96): too dark, too little blue) and lit (red far above blue),
/// and tourism markers (too much green). Edge pixels blended with their neighbours do not
/// count either.
fn is_layer_colour(p: [u8; 3]) -> bool {
    let [r, g, b] = p.map(i32::from);
    r >= 150 && b >= 150 && 3 * g < r.min(b) && (r - b).abs() <= 24
}

/// Pixels of the layer's colour, and pixels that are not the background (the colour of
/// the top-left corner, outside the ground plane).
fn layer_pixels(path: &Path) -> (usize, usize) {
    let (w, h, pixels) = read_png_rgba(path).expect("a readable PNG");
    assert_eq!((w, h), SIZE);
    let background = &pixels[..3];
    let rgb = || pixels.chunks_exact(4);
    let layer = rgb().filter(|p| is_layer_colour([p[0], p[1], p[2]])).count();
    let drawn = rgb().filter(|p| &p[..3] != background).count();
    (layer, drawn)
}

#[test]
fn the_layer_colour_test_tells_the_layer_from_markers() {
    for lit in [[222, 11, 222], [201, 55, 202], [196, 21, 196]] {
        assert!(is_layer_colour(lit), "{lit:?}");
    }
    for other in [
        [134, 46, 96],
        [214, 64, 150],
        [150, 90, 220],
        [176, 76, 178],
        [226, 44, 56],
        [36, 39, 44],
    ] {
        assert!(!is_layer_colour(other), "{other:?}");
    }
}

/// Loads a scene headless as a role; the world once ready.
fn load_headless(scene: &Path, role: &str) -> App {
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, StatesPlugin, AssetPlugin::default()))
        .init_asset::<Mesh>()
        .init_asset::<StandardMaterial>()
        .init_state::<AppState>()
        .insert_resource(RequestedRole(Some(role.to_string())))
        .add_plugins((
            LoadingPlugin {
                scene_path: scene.to_path_buf(),
            },
            OutlinePlugin,
        ));
    let started = Instant::now();
    loop {
        app.update();
        let state = *app.world().resource::<State<AppState>>().get();
        match state {
            AppState::Ready => break,
            AppState::Failed => panic!("{} did not load as {role}", scene.display()),
            AppState::Loading => {
                assert!(started.elapsed() < LOAD_TIMEOUT, "loading took too long");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    app.update();
    app
}

/// Names of the layers that have entities in the world.
fn layers_with_entities(app: &mut App) -> Vec<String> {
    let city = app.world().resource::<LoadedCity>().0.city.clone();
    let world = app.world_mut();
    let mut names: Vec<String> = world
        .query::<&LayerEntity>()
        .iter(world)
        .filter_map(|l| city.layers.get(l.index).map(|i| i.name.clone()))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn a_layer_above_the_role_never_enters_the_world() {
    let dir = tmp("access-world");
    let scene = default_scene_with(&dir, LAYER, "internal");

    let mut public = load_headless(&scene, "public");
    let names = layers_with_entities(&mut public);
    assert!(!names.iter().any(|n| n == LAYER), "{names:?}");
    assert!(names.iter().any(|n| n == "buildings"), "{names:?}");
    let city = &public.world().resource::<LoadedCity>().0.city;
    assert!(city.layers.iter().all(|l| l.name != LAYER));
    assert_eq!(
        city.areas.iter().filter(|a| a.kind == LayerKind::Green).count(),
        0
    );
    let access = public.world().resource::<SceneAccess>();
    assert_eq!(access.role.name, "public");
    assert_eq!(access.withheld.layer_names(), [LAYER]);
    let row = access.catalogue.iter().find(|r| r.name == LAYER).expect("listed");
    assert!(row.withheld && row.features.is_none());
    assert_eq!(access.attributions, ["© OpenStreetMap contributors"]);

    let mut staff = load_headless(&scene, "staff");
    let names = layers_with_entities(&mut staff);
    assert!(names.iter().any(|n| n == LAYER), "{names:?}");
    let city = &staff.world().resource::<LoadedCity>().0.city;
    assert!(city.areas.iter().any(|a| a.kind == LayerKind::Green));
    assert!(staff.world().resource::<SceneAccess>().withheld.is_empty());
}

#[test]
fn a_layer_above_the_role_is_absent_from_the_png_and_shows_for_staff() {
    let dir = tmp("access-render");
    let scene = default_scene_with(&dir, LAYER, "internal");
    let (public_png, staff_png) = (dir.join("public.png"), dir.join("staff.png"));
    for (role, out) in [("public", &public_png), ("staff", &staff_png)] {
        render_as(
            &RenderJob {
                scene: scene.clone(),
                size: SIZE,
                bookmark: None,
                shots: vec![Shot {
                    out: out.clone(),
                    ..Shot::default()
                }],
            },
            Some(role),
        )
        .unwrap_or_else(|e| panic!("offscreen render as {role}: {e}"));
    }
    let ((public, public_drawn), (staff, _)) = (layer_pixels(&public_png), layer_pixels(&staff_png));
    let total = (SIZE.0 * SIZE.1) as usize;
    // The public image shows the city (not an empty frame that trivially lacks the colour).
    assert!(
        public_drawn * 4 > total,
        "only {public_drawn} of {total} pixels drawn as public"
    );
    assert_eq!(
        public, 0,
        "{public} pixels of the withheld layer's colour as public"
    );
    assert!(
        staff * 100 >= total * STAFF_MIN_PERCENT,
        "only {staff} of {total} pixels show the layer as staff"
    );
}

#[test]
fn indicator_report_of_a_role_leaves_out_what_it_may_not_see() {
    let dir = tmp("access-report");
    let scene = default_scene_with(&dir, "green", "restricted");
    let run = |role: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_citytwin"))
            .args([
                "indicators",
                scene.to_str().unwrap(),
                "--at",
                "2026-01-15T12:00:00Z",
            ])
            .args(["--json", "--role", role])
            .output()
            .expect("runs citytwin");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON")
    };
    let public = run("public");
    let planner = run("planner");
    assert_eq!(public["access"]["role"], "public");
    assert_eq!(public["access"]["withheld_layers"], serde_json::json!(["green"]));
    assert_eq!(
        public["access"]["attributions"],
        serde_json::json!(["© OpenStreetMap contributors"])
    );
    assert!(
        planner["access"]["withheld_layers"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let withheld: Vec<String> = public["access"]["withheld_indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(!withheld.is_empty());
    let value = |v: &serde_json::Value, id: &str| {
        v["indicators"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .unwrap_or_else(|| panic!("no indicator {id}"))
            .clone()
    };
    let mut planner_had_values = 0;
    for id in &withheld {
        let p = value(&public, id);
        assert!(p["value"].is_null() && p["status"] == "no_data", "{p}");
        for z in public["zones"].as_array().unwrap() {
            let zv = z["indicators"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["id"] == *id)
                .unwrap();
            assert!(zv["value"].is_null(), "zone value of {id} shown: {zv}");
        }
        assert!(
            public["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["indicator"] != *id)
        );
        planner_had_values += usize::from(!value(&planner, id)["value"].is_null());
    }
    assert!(planner_had_values > 0, "the planner sees the green indicators");
    let unknown = Command::new(env!("CARGO_BIN_EXE_citytwin"))
        .args(["indicators", scene.to_str().unwrap(), "--role", "janitor"])
        .output()
        .expect("runs citytwin");
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown role 'janitor'"));
}
