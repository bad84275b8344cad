//! Picking buildings in the Helsinki scene: a ray straight down onto a large footprint finds
//! that building, and so does the ray through the screen pixel of its roof for the
//! camera the offscreen renderer frames the city with (same rig, projection and maths).

use std::f32::consts::FRAC_PI_4;

use bevy::camera::{CameraProjection, ComputedCameraValues, RenderTargetInfo};
use bevy::prelude::*;
use citytwin::app::camera::{CameraRig, CityBounds};
use citytwin::app::picking::pick_render_ray;
use citytwin::twin::city::{BuildingId, CityModel};
use citytwin::twin::load::load_scene;
use citytwin::twin::picking::{BuildingIndex, to_render_point};
use citytwin::twin::scene::HELSINKI_SCENE;
use geo::{InteriorPoint, Intersects};
use geo_types::Coord;

use crate::common::root;

/// Image size the camera is set up for (the renderer's default-style 16:9).
const SIZE: (u32, u32) = (1280, 720);
/// Smallest radius the camera frames, metres (as `app::camera`).
const MIN_FRAME_RADIUS_M: f32 = 50.0;
/// Near plane, metres (as `app::camera`).
const NEAR_PLANE_M: f32 = 0.5;
/// Far plane, in (distance + city radius) (as `app::camera`).
const FAR_PLANE_FACTOR: f32 = 4.0;

/// The Helsinki city and its building with the largest footprint among those with nothing
/// else over their interior point (a big base can carry building parts on top).
fn city_and_largest() -> (CityModel, BuildingId) {
    let city = load_scene(&root().join(HELSINKI_SCENE))
        .expect("Helsinki scene loads")
        .city;
    let mut by_area: Vec<usize> = (0..city.buildings.len()).collect();
    by_area.sort_by(|&a, &b| {
        let area = |i: usize| city.buildings[i].footprint_area_m2();
        area(b).total_cmp(&area(a))
    });
    let big = by_area
        .into_iter()
        .find(|&i| {
            let p = interior(&city, BuildingId(i as u32));
            city.buildings
                .iter()
                .enumerate()
                .all(|(j, other)| j == i || !other.footprint.intersects(&geo_types::Point(p)))
        })
        .expect("the Helsinki city has a building with nothing over it");
    (city, BuildingId(big as u32))
}

/// A point inside a building's footprint, scene CRS.
fn interior(city: &CityModel, id: BuildingId) -> Coord<f64> {
    city.building(id)
        .and_then(|b| b.footprint.interior_point())
        .expect("footprint has an interior point")
        .0
}

/// The bounds the app frames a city with (as `app::camera::frame_city`).
fn city_bounds(city: &CityModel) -> CityBounds {
    let b = city.bbox().expect("city has a bbox");
    let lo = Vec2::from(city.origin.local(Coord { x: b[0], y: b[1] }));
    let hi = Vec2::from(city.origin.local(Coord { x: b[2], y: b[3] }));
    let mid = (lo + hi) / 2.0;
    CityBounds {
        centre: Vec3::new(mid.x, 0.0, -mid.y),
        radius: ((hi - lo).length() / 2.0).max(MIN_FRAME_RADIUS_M),
    }
}

/// The framed camera for an image size: a `Camera` whose computed values are what Bevy
/// fills in for that target, and its transform.
fn framed_camera(city: &CityModel, (w, h): (u32, u32)) -> (Camera, GlobalTransform) {
    let bounds = city_bounds(city);
    let aspect = w as f32 / h as f32;
    let rig = CameraRig::framing(&bounds, FRAC_PI_4, aspect);
    let projection = PerspectiveProjection {
        fov: FRAC_PI_4,
        aspect_ratio: aspect,
        near: NEAR_PLANE_M,
        far: (rig.distance + bounds.radius) * FAR_PLANE_FACTOR,
        ..default()
    };
    let camera = Camera {
        computed: ComputedCameraValues {
            clip_from_view: projection.get_clip_from_view(),
            target_info: Some(RenderTargetInfo {
                physical_size: UVec2::new(w, h),
                scale_factor: 1.0,
            }),
            ..default()
        },
        ..default()
    };
    (camera, GlobalTransform::from(rig.transform()))
}

#[test]
fn a_ray_straight_down_finds_the_largest_building() {
    let (city, big) = city_and_largest();
    let index = BuildingIndex::new(&city);
    assert_eq!(index.len(), city.buildings.len());
    let p = interior(&city, big);
    let height = city.building(big).unwrap().height_m;
    let (id, t) = index
        .pick(&city, [p.x, p.y, 500.0], [0.0, 0.0, -1.0])
        .expect("a building under the ray");
    assert_eq!(id, big);
    assert!(
        (t - (500.0 - height)).abs() < 1e-6,
        "hit at {t} m, roof at {height} m"
    );
}

#[test]
fn the_pixel_of_a_roof_picks_its_building() {
    let (city, big) = city_and_largest();
    let index = BuildingIndex::new(&city);
    let (camera, transform) = framed_camera(&city, SIZE);
    let b = city.building(big).unwrap();
    let p = interior(&city, big);
    let roof = to_render_point(&city.origin, [p.x, p.y, b.height_m]);
    let roof = Vec3::new(roof[0] as f32, roof[1] as f32, roof[2] as f32);
    let screen = camera
        .world_to_viewport(&transform, roof)
        .expect("the roof projects onto the screen");
    assert!(
        screen.x >= 0.0 && screen.y >= 0.0 && screen.x < SIZE.0 as f32 && screen.y < SIZE.1 as f32,
        "roof at {screen} is off the {SIZE:?} image"
    );
    // The centre of the pixel the roof point falls in.
    let pixel = screen.floor() + Vec2::splat(0.5);
    let ray = camera
        .viewport_to_world(&transform, pixel)
        .expect("a ray through the pixel");
    let (id, t) = pick_render_ray(&index, &city, ray, |_| true).expect("the ray hits a building");
    assert_eq!(id, big, "pixel {pixel} picked building {id:?}, not {big:?}");
    // The hit lies about where the roof point is (within a pixel's footprint at that range).
    let eye = transform.translation();
    let expected = eye.distance(roof) as f64;
    assert!(
        (t - expected).abs() < 5.0,
        "hit at {t} m, roof point at {expected} m"
    );
}
