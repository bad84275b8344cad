//! The ground of the 3D city: roads as ribbons, water, green, land-use and zone areas as
//! filled polygons (meshed in [`crate::twin::ground`]), and POIs as instanced markers.
//!
//! Colour is per feature and never rebuilds a mesh: every ground vertex carries its
//! feature's index and [`FeatureMaterial`]'s shader (`shaders/ground.wgsl`) reads the
//! feature's colour from a storage buffer; POI markers share one mesh and one
//! [`MarkerMaterial`] (`shaders/markers.wgsl`), Bevy batches them into instanced draws and
//! each instance's [`MeshTag`] indexes the colour buffer. To recolour (traffic speed on
//! roads, an indicator on zones), write [`RoadColours`], [`ZoneColours`], [`AreaColours`]
//! or [`PoiColours`]: the GPU buffer follows the next frame. Alpha 0 hides a feature.

use std::collections::BTreeMap;

use bevy::asset::{RenderAssetUsages, uuid_handle};
use bevy::mesh::{
    MeshTag, MeshVertexAttribute, MeshVertexBufferLayoutRef, PrimitiveTopology, VertexAttributeValues,
};
use bevy::pbr::{MaterialPipeline, MaterialPipelineKey, PbrPlugin};
use bevy::prelude::*;
use bevy::render::render_resource::{
    AsBindGroup, RenderPipelineDescriptor, SpecializedMeshPipelineError, VertexFormat,
};
use bevy::render::storage::ShaderBuffer;
use bevy::shader::ShaderRef;

use crate::app::city_view::use_vertex_attributes;
use crate::app::city_view::{far_range, lod_box, near_range};
use crate::app::loading::LoadedCity;
use crate::app::outline::{GroundPlane, LayerEntity, OutlineSettings, ZONES_DEFAULT_COLOUR, kind_colour};
use crate::app::{AppState, AppSystems};
use crate::twin::city::CityModel;
use crate::twin::gis::layer::LayerKind;
use crate::twin::ground::{
    GroundMesh, GroundReport, GroundTile, RoadDetail, area_meshes, road_meshes, zone_meshes,
};
use crate::twin::scene::Scene;

/// Side of the spatial tiles ground features are grouped into, metres. Every tile entity
/// costs the renderer CPU time each frame (about half a microsecond), so tiles are large.
pub const GROUND_TILE_M: f64 = 1000.0;

/// The per-vertex feature index (into `CityModel::roads`, `zones` or `areas`, and into
/// that set's colour buffer); shader location 1.
pub const ATTRIBUTE_FEATURE_INDEX: MeshVertexAttribute =
    MeshVertexAttribute::new("FeatureIndex", 3_141_592_653, VertexFormat::Uint32);

/// The ground shader, inserted into `Assets<Shader>` under a fixed handle at start.
pub const GROUND_SHADER: Handle<Shader> = uuid_handle!("0d6c2f9a-8b1e-4f47-a3c5-7e2d9b4a61f3");
/// The POI marker shader, inserted into `Assets<Shader>` under a fixed handle at start.
pub const MARKERS_SHADER: Handle<Shader> = uuid_handle!("5b8e1a47-c3d2-4e9f-8a61-2f7c0d3b9e58");

/// Opacity of zone fills: zones are an overlay (a choropleth) over the ground.
pub const ZONE_FILL_ALPHA: f32 = 0.35;
/// Radius of a POI marker, metres.
pub const POI_RADIUS_M: f32 = 2.5;
/// Height of a POI marker, metres.
pub const POI_HEIGHT_M: f32 = 8.0;
/// Sides of the POI marker's cylinder.
const POI_RESOLUTION: u32 = 8;
/// Colour of the ground plane under the fills, sRGB (as in `outline`): translucent layer
/// styles are blended against it so that fills stay opaque.
const GROUND_BLEND_COLOUR: [u8; 3] = [34, 37, 42];

/// POI colours by category (sRGB), in `POI_KEYS` order; other categories get
/// [`POI_OTHER_COLOUR`].
pub const POI_CATEGORY_COLOURS: [(&str, [u8; 3]); 8] = [
    ("amenity", [236, 112, 44]),
    ("shop", [214, 64, 150]),
    ("healthcare", [226, 44, 56]),
    ("education", [246, 200, 40]),
    ("public_transport", [40, 150, 230]),
    ("leisure", [70, 190, 90]),
    ("tourism", [150, 90, 220]),
    ("office", [120, 140, 160]),
];
/// Colour of POIs of any other category (sRGB).
pub const POI_OTHER_COLOUR: [u8; 3] = [200, 200, 200];

/// Draws roads, land areas, zones and POIs when the scene is ready, and keeps their colour
/// buffers in step with the colour resources. Their outlines are left out, except zone
/// borders.
pub struct GroundViewPlugin;

impl Plugin for GroundViewPlugin {
    fn build(&self, app: &mut App) {
        if let Some(mut shaders) = app.world_mut().get_resource_mut::<Assets<Shader>>() {
            let ground = Shader::from_wgsl(include_str!("../../shaders/ground.wgsl"), "shaders/ground.wgsl");
            let markers =
                Shader::from_wgsl(include_str!("../../shaders/markers.wgsl"), "shaders/markers.wgsl");
            for (handle, shader) in [(GROUND_SHADER, ground), (MARKERS_SHADER, markers)] {
                if let Err(e) = shaders.insert(handle.id(), shader) {
                    error!("cannot add a ground shader: {e}");
                }
            }
        }
        crate::app::lighting::insert_sun_shader(app);
        if app.is_plugin_added::<PbrPlugin>() {
            app.add_plugins((
                MaterialPlugin::<FeatureMaterial>::default(),
                MaterialPlugin::<MarkerMaterial>::default(),
            ));
        } else {
            // No renderer (headless tests): the assets still exist, nothing draws them.
            app.init_asset::<FeatureMaterial>().init_asset::<MarkerMaterial>();
            if !app.world().contains_resource::<Assets<ShaderBuffer>>() {
                app.init_asset::<ShaderBuffer>();
            }
        }
        let mut settings = app
            .world_mut()
            .get_resource_or_insert_with(OutlineSettings::default);
        settings.roads = false;
        settings.areas = false;
        settings.pois = false;
        app.add_systems(OnEnter(AppState::Ready), spawn_ground)
            .add_systems(
                Update,
                (
                    upload::<RoadColours>.run_if(resource_exists_and_changed::<RoadColours>),
                    upload::<ZoneColours>.run_if(resource_exists_and_changed::<ZoneColours>),
                    upload::<AreaColours>.run_if(resource_exists_and_changed::<AreaColours>),
                    upload::<PoiColours>.run_if(resource_exists_and_changed::<PoiColours>),
                    sunlit_ground_plane,
                )
                    .in_set(AppSystems::Visuals),
            );
    }
}

/// The material of flat ground features: a colour per feature from a storage buffer.
#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
pub struct FeatureMaterial {
    /// One linear RGBA `[f32; 4]` per feature (alpha 0 = hidden).
    #[storage(0, read_only)]
    pub colours: Handle<ShaderBuffer>,
    /// Opaque, or blended (zones).
    pub alpha: AlphaMode,
}

impl Material for FeatureMaterial {
    fn vertex_shader() -> ShaderRef {
        GROUND_SHADER.into()
    }

    fn fragment_shader() -> ShaderRef {
        GROUND_SHADER.into()
    }

    fn alpha_mode(&self) -> AlphaMode {
        self.alpha
    }

    fn enable_prepass() -> bool {
        false
    }

    fn enable_shadows() -> bool {
        false
    }

    fn specialize(
        _pipeline: &MaterialPipeline,
        descriptor: &mut RenderPipelineDescriptor,
        layout: &MeshVertexBufferLayoutRef,
        _key: MaterialPipelineKey<Self>,
    ) -> Result<(), SpecializedMeshPipelineError> {
        use_vertex_attributes(
            descriptor,
            layout,
            &[
                Mesh::ATTRIBUTE_POSITION.at_shader_location(0),
                ATTRIBUTE_FEATURE_INDEX.at_shader_location(1),
            ],
        )
    }
}

/// The material of POI markers: a colour per POI, indexed by each instance's [`MeshTag`].
#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
pub struct MarkerMaterial {
    /// One linear RGBA `[f32; 4]` per POI (alpha 0 = hidden).
    #[storage(0, read_only)]
    pub colours: Handle<ShaderBuffer>,
}

impl Material for MarkerMaterial {
    fn vertex_shader() -> ShaderRef {
        MARKERS_SHADER.into()
    }

    fn fragment_shader() -> ShaderRef {
        MARKERS_SHADER.into()
    }

    fn enable_prepass() -> bool {
        false
    }

    fn enable_shadows() -> bool {
        false
    }

    fn specialize(
        _pipeline: &MaterialPipeline,
        descriptor: &mut RenderPipelineDescriptor,
        layout: &MeshVertexBufferLayoutRef,
        _key: MaterialPipelineKey<Self>,
    ) -> Result<(), SpecializedMeshPipelineError> {
        use_vertex_attributes(
            descriptor,
            layout,
            &[
                Mesh::ATTRIBUTE_POSITION.at_shader_location(0),
                Mesh::ATTRIBUTE_NORMAL.at_shader_location(1),
            ],
        )
    }
}

/// The colour of every feature of one set (roads, zones, areas or POIs), linear RGBA,
/// indexed like the set in `CityModel`; alpha 0 hides a feature. Change `colours` (through
/// the set's resource) to recolour: the GPU buffer follows the next frame.
#[derive(Debug, Clone)]
pub struct FeatureColours {
    /// Linear RGBA per feature.
    pub colours: Vec<[f32; 4]>,
    /// The storage buffer the shader reads.
    pub buffer: Handle<ShaderBuffer>,
}

impl FeatureColours {
    /// Sets one feature's colour (its alpha too); false when the index is out of range.
    pub fn set(&mut self, index: usize, colour: Color) -> bool {
        match self.colours.get_mut(index) {
            Some(c) => {
                let l = colour.to_linear();
                *c = [l.red, l.green, l.blue, l.alpha];
                true
            }
            None => false,
        }
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.colours.len()
    }

    /// True when the set has no feature.
    pub fn is_empty(&self) -> bool {
        self.colours.is_empty()
    }
}

/// Colours of the roads, indexed like `CityModel::roads`.
#[derive(Resource, Debug, Clone, Deref, DerefMut)]
pub struct RoadColours(pub FeatureColours);
/// Colours of the zone fills, indexed like `CityModel::zones` (drawn blended: alpha is
/// the opacity).
#[derive(Resource, Debug, Clone, Deref, DerefMut)]
pub struct ZoneColours(pub FeatureColours);
/// Colours of the water, green and land-use fills, indexed like `CityModel::areas`.
#[derive(Resource, Debug, Clone, Deref, DerefMut)]
pub struct AreaColours(pub FeatureColours);
/// Colours of the POI markers, indexed like `CityModel::pois`.
#[derive(Resource, Debug, Clone, Deref, DerefMut)]
pub struct PoiColours(pub FeatureColours);

/// Which set of features a ground tile draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeatureSet {
    /// Road ribbons.
    Roads,
    /// Water, green and land-use fills.
    Areas,
    /// Zone fills.
    Zones,
}

/// Marks an entity drawing one tile of one ground layer.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroundTileEntity {
    /// What it draws.
    pub set: FeatureSet,
    /// Tile coordinates.
    pub tile: (i32, i32),
}

/// Marks an entity drawing the far level of detail of one tile of one ground layer
/// (roads: [`RoadDetail::Far`]); it shows instead of its [`GroundTileEntity`] beyond
/// [`crate::app::city_view::FAR_LOD_M`].
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroundTileFar {
    /// What it draws.
    pub set: FeatureSet,
    /// Tile coordinates.
    pub tile: (i32, i32),
}

/// Marks a POI marker; the POI's index is also its [`MeshTag`].
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoiMarker(pub u32);

/// A layer's style: sRGB colour, opacity, shown at start, road width override.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LayerLook {
    colour: [u8; 3],
    opacity: f32,
    visible: bool,
    width_m: Option<f64>,
}

/// A layer's look from its scene entry, else its kind's defaults (zones hidden). Index
/// `layers.len()` is the generated zone grid.
fn layer_look(city: &CityModel, scene: &Scene, index: usize) -> LayerLook {
    let (name, kind) = match city.layers.get(index) {
        Some(info) => (info.name.as_str(), info.kind),
        None => ("", LayerKind::Zones),
    };
    match scene.layers.iter().find(|s| s.name == name) {
        Some(s) => LayerLook {
            colour: if kind == LayerKind::Zones && s.style == Default::default() {
                ZONES_DEFAULT_COLOUR
            } else {
                s.style.colour
            },
            opacity: s.style.opacity,
            visible: s.visible,
            width_m: s.style.line_width_m.map(f64::from),
        },
        None => LayerLook {
            colour: if kind == LayerKind::Zones {
                ZONES_DEFAULT_COLOUR
            } else {
                kind_colour(kind)
            },
            opacity: 1.0,
            visible: kind != LayerKind::Zones,
            width_m: None,
        },
    }
}

/// Linear RGBA of an sRGB colour with an alpha.
fn linear(c: [u8; 3], alpha: f32) -> [f32; 4] {
    let l = Color::srgb_u8(c[0], c[1], c[2]).to_linear();
    [l.red, l.green, l.blue, alpha]
}

/// An sRGB colour at an opacity over the ground plane's colour, as an opaque colour.
fn over_ground(c: [u8; 3], opacity: f32) -> [f32; 4] {
    let a = opacity.clamp(0.0, 1.0);
    let (t, g) = (linear(c, 1.0), linear(GROUND_BLEND_COLOUR, 1.0));
    let mix = |k: usize| t[k] * a + g[k] * (1.0 - a);
    [mix(0), mix(1), mix(2), 1.0]
}

/// Starting road colours: each road's layer colour.
pub fn initial_road_colours(city: &CityModel, scene: &Scene) -> Vec<[f32; 4]> {
    city.roads
        .iter()
        .map(|r| linear(layer_look(city, scene, r.layer.0 as usize).colour, 1.0))
        .collect()
}

/// Starting area colours: each area's layer colour at its opacity over the ground.
pub fn initial_area_colours(city: &CityModel, scene: &Scene) -> Vec<[f32; 4]> {
    city.areas
        .iter()
        .map(|a| {
            let look = layer_look(city, scene, a.layer.0 as usize);
            over_ground(look.colour, look.opacity)
        })
        .collect()
}

/// Starting zone colours: the zone layer's colour at [`ZONE_FILL_ALPHA`].
pub fn initial_zone_colours(city: &CityModel, scene: &Scene) -> Vec<[f32; 4]> {
    let look = layer_look(city, scene, crate::twin::ground::zone_layer(city));
    vec![linear(look.colour, ZONE_FILL_ALPHA); city.zones.len()]
}

/// The colour of a POI category (sRGB).
pub fn poi_category_colour(category: &str) -> [u8; 3] {
    POI_CATEGORY_COLOURS
        .iter()
        .find(|(c, _)| *c == category)
        .map_or(POI_OTHER_COLOUR, |(_, colour)| *colour)
}

/// Starting POI colours: by category.
pub fn initial_poi_colours(city: &CityModel) -> Vec<[f32; 4]> {
    city.pois
        .iter()
        .map(|p| linear(poi_category_colour(&p.category), 1.0))
        .collect()
}

/// A triangle-list mesh of a ground tile: positions, up normals and feature indices. Like
/// [`crate::app::city_view::tile_mesh`], its data lives on the GPU only once uploaded.
pub fn ground_mesh(mesh: GroundMesh) -> Mesh {
    let normals = vec![[0.0f32, 1.0, 0.0]; mesh.positions.len()];
    Mesh::new(PrimitiveTopology::TriangleList, RenderAssetUsages::RENDER_WORLD)
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, mesh.positions)
        .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, normals)
        .with_inserted_attribute(ATTRIBUTE_FEATURE_INDEX, mesh.feature_index)
        .with_inserted_indices(bevy::mesh::Indices::U32(mesh.indices))
}

/// Draws the ground plane (spawned unlit by [`crate::app::outline`]) with
/// [`FeatureMaterial`] as one feature of its colour, so that it is lit by the sun like
/// every ground feature and receives the buildings' shadows when they are on.
fn sunlit_ground_plane(
    mut commands: Commands,
    planes: Query<(Entity, &Mesh3d), Added<GroundPlane>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<FeatureMaterial>>,
    mut buffers: ResMut<Assets<ShaderBuffer>>,
) {
    for (entity, mesh) in &planes {
        let Some(Some(VertexAttributeValues::Float32x3(positions))) = meshes
            .get(&mesh.0)
            .map(|m| m.attribute(Mesh::ATTRIBUTE_POSITION).cloned())
        else {
            warn!("the ground plane has no positions: left unlit");
            continue;
        };
        let indices = meshes
            .get(&mesh.0)
            .and_then(|m| m.indices())
            .map(|i| i.iter().map(|i| i as u32).collect());
        let Some(indices) = indices else {
            warn!("the ground plane has no indices: left unlit");
            continue;
        };
        let feature_index = vec![0u32; positions.len()];
        let plane = ground_mesh(GroundMesh {
            positions,
            feature_index,
            indices,
            ..GroundMesh::new((0, 0))
        });
        let material = materials.add(FeatureMaterial {
            colours: buffers.add(ShaderBuffer::from(vec![linear(GROUND_BLEND_COLOUR, 1.0)])),
            alpha: AlphaMode::Opaque,
        });
        commands
            .entity(entity)
            .remove::<MeshMaterial3d<StandardMaterial>>()
            .insert((Mesh3d(meshes.add(plane)), MeshMaterial3d(material)));
    }
}

/// Logs what a meshing run did.
fn log_report(what: &str, report: &GroundReport, started: std::time::Instant) {
    info!(
        "3D {what}: {} meshed, {} skipped, {} tiles, {} triangles in {:.2} s",
        report.features,
        report.skipped.total(),
        report.tiles,
        report.triangles,
        started.elapsed().as_secs_f32()
    );
    for (reason, n) in &report.skipped.reasons {
        warn!("3D {what}: skipped {n}: {reason}");
    }
}

/// Spawns one entity per tile of one set, with one material. With `far` (the same tiles
/// at [`RoadDetail::Far`]), each tile also gets a [`GroundTileFar`] entity: the near level
/// shows up to [`crate::app::city_view::FAR_LOD_M`] from the camera, the far one beyond,
/// both switching on one box (the union of theirs).
fn spawn_tiles(
    commands: &mut Commands,
    meshes: &mut Assets<Mesh>,
    tiles: Vec<GroundTile>,
    far: Option<Vec<GroundTile>>,
    set: FeatureSet,
    material: &Handle<FeatureMaterial>,
    visible: impl Fn(usize) -> bool,
) {
    let mut far: BTreeMap<(usize, (i32, i32)), GroundMesh> = far
        .into_iter()
        .flatten()
        .map(|t| ((t.layer, t.mesh.tile), t.mesh))
        .collect();
    for GroundTile { layer, mesh } in tiles {
        let tile = mesh.tile;
        let far_mesh = far.remove(&(layer, tile));
        let aabb = lod_box(
            (mesh.bbox_min, mesh.bbox_max),
            far_mesh.as_ref().map(|f| (f.bbox_min, f.bbox_max)),
        );
        let visibility = if visible(layer) {
            Visibility::Visible
        } else {
            Visibility::Hidden
        };
        let mut near = commands.spawn((
            Name::new(format!("{set:?} {layer} tile {tile:?}")),
            GroundTileEntity { set, tile },
            LayerEntity { index: layer },
            Mesh3d(meshes.add(ground_mesh(mesh))),
            MeshMaterial3d(material.clone()),
            Transform::IDENTITY,
            aabb,
            visibility,
            DespawnOnExit(AppState::Ready),
        ));
        let Some(far_mesh) = far_mesh else { continue };
        near.insert(near_range());
        commands.spawn((
            Name::new(format!("{set:?} {layer} tile {tile:?} far")),
            GroundTileFar { set, tile },
            LayerEntity { index: layer },
            Mesh3d(meshes.add(ground_mesh(far_mesh))),
            MeshMaterial3d(material.clone()),
            Transform::IDENTITY,
            aabb,
            far_range(),
            visibility,
            DespawnOnExit(AppState::Ready),
        ));
    }
}

/// The ground's tile meshes, made on the loader thread ([`ground_meshes`]) so that the
/// window stays responsive, waiting to be uploaded when the scene becomes ready (taken,
/// and so emptied, by [`spawn_ground`]).
#[derive(Resource, Debug, Default)]
pub struct PreparedGround(pub Option<GroundMeshes>);

/// Every ground set's tiles with what meshing them did.
#[derive(Debug, Clone)]
pub struct GroundMeshes {
    /// Roads at the near level.
    pub roads: (Vec<GroundTile>, GroundReport),
    /// The roads' far level ([`RoadDetail::Far`]), tile for tile.
    pub far_roads: Vec<GroundTile>,
    /// Water, green and land-use areas.
    pub areas: (Vec<GroundTile>, GroundReport),
    /// Zones.
    pub zones: (Vec<GroundTile>, GroundReport),
}

/// Meshes the ground of a city as its scene styles it (road widths), logging what each
/// set did. Pure work: runs on any thread.
pub fn ground_meshes(city: &CityModel, scene: &Scene) -> GroundMeshes {
    let width = |l| layer_look(city, scene, l).width_m;
    let timed = |what: &str, f: &dyn Fn() -> (Vec<GroundTile>, GroundReport)| {
        let started = std::time::Instant::now();
        let out = f();
        if !out.0.is_empty() {
            log_report(what, &out.1, started);
        }
        out
    };
    let roads = timed("roads", &|| {
        road_meshes(city, GROUND_TILE_M, width, RoadDetail::Near)
    });
    let far_roads = timed("roads (far level)", &|| {
        road_meshes(city, GROUND_TILE_M, width, RoadDetail::Far)
    })
    .0;
    GroundMeshes {
        roads,
        far_roads,
        areas: timed("areas", &|| area_meshes(city, GROUND_TILE_M)),
        zones: timed("zones", &|| zone_meshes(city, GROUND_TILE_M)),
    }
}

/// Spawns the tiles of roads, areas and zones (meshed on the loader thread:
/// [`PreparedGround`], or here when there are none) and the POI markers, and inserts the
/// colour resources.
fn spawn_ground(
    mut commands: Commands,
    loaded: Res<LoadedCity>,
    prepared: Option<ResMut<PreparedGround>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<FeatureMaterial>>,
    mut marker_materials: ResMut<Assets<MarkerMaterial>>,
    mut buffers: ResMut<Assets<ShaderBuffer>>,
) {
    let city = &loaded.0.city;
    let scene = &loaded.0.scene;
    let visible = |layer: usize| layer_look(city, scene, layer).visible;
    let mut colours = |c: Vec<[f32; 4]>| FeatureColours {
        buffer: buffers.add(ShaderBuffer::from(if c.is_empty() {
            // A storage buffer may not be empty.
            vec![[0.0f32; 4]]
        } else {
            c.clone()
        })),
        colours: c,
    };
    let roads = colours(initial_road_colours(city, scene));
    let areas = colours(initial_area_colours(city, scene));
    let zones = colours(initial_zone_colours(city, scene));
    let pois = colours(initial_poi_colours(city));

    let ground = prepared
        .and_then(|mut p| p.0.take())
        .unwrap_or_else(|| ground_meshes(city, scene));
    let sets = [
        (
            FeatureSet::Roads,
            &roads,
            AlphaMode::Opaque,
            ground.roads.0,
            Some(ground.far_roads),
        ),
        (FeatureSet::Areas, &areas, AlphaMode::Opaque, ground.areas.0, None),
        (FeatureSet::Zones, &zones, AlphaMode::Blend, ground.zones.0, None),
    ];
    for (set, colours, alpha, tiles, far) in sets {
        if tiles.is_empty() {
            continue;
        }
        let material = materials.add(FeatureMaterial {
            colours: colours.buffer.clone(),
            alpha,
        });
        spawn_tiles(&mut commands, &mut meshes, tiles, far, set, &material, visible);
    }

    if !city.pois.is_empty() {
        let marker = meshes.add(
            Cylinder::new(POI_RADIUS_M, POI_HEIGHT_M)
                .mesh()
                .resolution(POI_RESOLUTION),
        );
        let material = marker_materials.add(MarkerMaterial {
            colours: pois.buffer.clone(),
        });
        let mut skipped = 0usize;
        for (i, p) in city.pois.iter().enumerate() {
            let [east, north] = city.origin.local(p.point.0);
            if !(east.is_finite() && north.is_finite()) {
                skipped += 1;
                continue;
            }
            let layer = p.layer.0 as usize;
            commands.spawn((
                PoiMarker(i as u32),
                MeshTag(i as u32),
                LayerEntity { index: layer },
                Mesh3d(marker.clone()),
                MeshMaterial3d(material.clone()),
                Transform::from_xyz(east, POI_HEIGHT_M / 2.0, -north),
                if visible(layer) {
                    Visibility::Visible
                } else {
                    Visibility::Hidden
                },
                DespawnOnExit(AppState::Ready),
            ));
        }
        info!(
            "3D POIs: {} markers, {skipped} skipped",
            city.pois.len() - skipped
        );
    }

    commands.insert_resource(RoadColours(roads));
    commands.insert_resource(AreaColours(areas));
    commands.insert_resource(ZoneColours(zones));
    commands.insert_resource(PoiColours(pois));
}

/// Writes a set's colours into its storage buffer (only runs when they changed).
pub(crate) fn upload<R: Resource + std::ops::Deref<Target = FeatureColours>>(
    colours: Res<R>,
    mut buffers: ResMut<Assets<ShaderBuffer>>,
) {
    if colours.is_empty() {
        return;
    }
    if let Some(mut buffer) = buffers.get_mut(&colours.buffer) {
        buffer.set_data(colours.colours.clone());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bevy::camera::primitives::Aabb;
    use bevy::camera::visibility::VisibilityRange;
    use bevy::state::app::StatesPlugin;

    use super::*;
    use crate::app::city_view::CityViewPlugin;
    use crate::app::outline::OutlinePlugin;

    fn ready_app() -> App {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, AssetPlugin::default(), StatesPlugin))
            .init_asset::<Mesh>()
            .init_asset::<StandardMaterial>()
            .init_state::<AppState>()
            .add_plugins((OutlinePlugin, CityViewPlugin, GroundViewPlugin))
            .insert_resource(LoadedCity(Arc::new(
                crate::app::outline::tests::tiny_loaded_scene(),
            )));
        app.world_mut()
            .resource_mut::<NextState<AppState>>()
            .set(AppState::Ready);
        app.update();
        app
    }

    #[test]
    fn the_ground_plane_is_lit_by_the_sun_as_one_ground_feature() {
        let mut app = ready_app();
        app.update();
        let world = app.world_mut();
        let (mesh, material) = world
            .query_filtered::<(&Mesh3d, &MeshMaterial3d<FeatureMaterial>), With<GroundPlane>>()
            .single(world)
            .map(|(m, f)| (m.clone(), f.clone()))
            .expect("the ground plane drawn with the feature material");
        let unlit = world
            .query_filtered::<(), (With<GroundPlane>, With<MeshMaterial3d<StandardMaterial>>)>()
            .iter(world)
            .count();
        assert_eq!(unlit, 0);
        let mesh = world.resource::<Assets<Mesh>>().get(&mesh.0).expect("plane mesh");
        let Some(VertexAttributeValues::Uint32(ix)) = mesh.attribute(ATTRIBUTE_FEATURE_INDEX) else {
            panic!("no feature index on the ground plane");
        };
        assert_eq!(ix.len(), mesh.count_vertices());
        assert!(ix.iter().all(|&i| i == 0));
        assert_eq!(mesh.indices().map(|i| i.len()), Some(6), "two triangles");
        let material = world
            .resource::<Assets<FeatureMaterial>>()
            .get(&material.0)
            .expect("material");
        assert_eq!(material.alpha, AlphaMode::Opaque);
        let buffer = world
            .resource::<Assets<ShaderBuffer>>()
            .get(&material.colours)
            .expect("colour buffer");
        let data = buffer.data.as_ref().expect("buffer data");
        let ground = linear(GROUND_BLEND_COLOUR, 1.0);
        let bytes: Vec<u8> = ground.iter().flat_map(|f| f.to_le_bytes()).collect();
        assert_eq!(data, &bytes);
    }

    #[test]
    fn roads_zones_and_pois_spawn_with_their_layers() {
        let mut app = ready_app();
        let world = app.world_mut();
        let mut tiles: Vec<(FeatureSet, usize, Visibility, Vec<u32>)> = world
            .query::<(&GroundTileEntity, &LayerEntity, &Visibility, &Mesh3d)>()
            .iter(world)
            .map(|(t, l, v, m)| {
                let mesh = world.resource::<Assets<Mesh>>().get(&m.0).expect("mesh added");
                assert_eq!(mesh.primitive_topology(), PrimitiveTopology::TriangleList);
                let Some(bevy::mesh::VertexAttributeValues::Uint32(ix)) =
                    mesh.attribute(ATTRIBUTE_FEATURE_INDEX)
                else {
                    panic!("no feature index attribute");
                };
                (t.set, l.index, *v, ix.clone())
            })
            .collect();
        tiles.sort_by_key(|t| t.1);
        // The tiny city: one road (layer 1, hidden in the scene), one generated zone
        // (pseudo-layer 3, hidden), no areas.
        assert_eq!(
            tiles.len(),
            2,
            "{:?}",
            tiles.iter().map(|t| (t.0, t.1)).collect::<Vec<_>>()
        );
        assert_eq!(
            (tiles[0].0, tiles[0].1, tiles[0].2),
            (FeatureSet::Roads, 1, Visibility::Hidden)
        );
        assert_eq!(
            (tiles[1].0, tiles[1].1, tiles[1].2),
            (FeatureSet::Zones, 3, Visibility::Hidden)
        );
        // A 3-point road: 2 quads, 1 join, 2 caps; every vertex is road 0.
        assert!(tiles[0].3.len() > 8 && tiles[0].3.iter().all(|&i| i == 0));
        assert_eq!(tiles[1].3, vec![0; 4]);
        // The road's far level: the same layer and visibility, 2 quads, shown beyond the
        // distance where the near level stops, on the same box.
        let far: Vec<(FeatureSet, usize, Visibility, usize, VisibilityRange, Aabb)> = world
            .query::<(
                &GroundTileFar,
                &LayerEntity,
                &Visibility,
                &Mesh3d,
                &VisibilityRange,
                &Aabb,
            )>()
            .iter(world)
            .map(|(t, l, v, m, r, b)| {
                let mesh = world.resource::<Assets<Mesh>>().get(&m.0).expect("mesh added");
                (t.set, l.index, *v, mesh.count_vertices(), r.clone(), *b)
            })
            .collect();
        assert_eq!(far.len(), 1);
        assert_eq!(
            (far[0].0, far[0].1, far[0].2, far[0].3),
            (FeatureSet::Roads, 1, Visibility::Hidden, 8)
        );
        assert!(far[0].4 == far_range());
        let (near_range_of_road, near_box) = world
            .query_filtered::<(&VisibilityRange, &Aabb), With<GroundTileEntity>>()
            .single(world)
            .expect("only the road's near level has a range");
        assert!(*near_range_of_road == near_range());
        assert_eq!(*near_box, far[0].5);

        let pois: Vec<(u32, u32, usize)> = world
            .query::<(&PoiMarker, &MeshTag, &LayerEntity)>()
            .iter(world)
            .map(|(p, t, l)| (p.0, t.0, l.index))
            .collect();
        assert_eq!(pois, vec![(0, 0, 2)]);
        // All markers share one mesh.
        let markers: std::collections::HashSet<AssetId<Mesh>> = world
            .query_filtered::<&Mesh3d, With<PoiMarker>>()
            .iter(world)
            .map(|m| m.id())
            .collect();
        assert_eq!(markers.len(), 1);

        // Only the zone grid keeps an outline; roads and POIs are no longer outlined.
        let outlined: Vec<usize> = world
            .query_filtered::<&LayerEntity, (
                Without<GroundTileEntity>,
                Without<GroundTileFar>,
                Without<PoiMarker>,
                Without<crate::app::city_view::BuildingTile>,
                Without<crate::app::city_view::BuildingTileFar>,
            )>()
            .iter(world)
            .map(|l| l.index)
            .collect();
        assert_eq!(outlined, vec![3]);

        assert_eq!(world.resource::<RoadColours>().len(), 1);
        assert_eq!(world.resource::<ZoneColours>().len(), 1);
        assert_eq!(world.resource::<ZoneColours>().colours[0][3], ZONE_FILL_ALPHA);
        assert_eq!(world.resource::<AreaColours>().len(), 0);
        let amenity = linear(poi_category_colour("amenity"), 1.0);
        assert_eq!(world.resource::<PoiColours>().colours, vec![amenity]);
    }

    #[test]
    fn recolouring_a_road_writes_its_buffer_only() {
        let mut app = ready_app();
        app.update();
        let buffer = app.world().resource::<RoadColours>().buffer.clone();
        let red = Color::srgb(1.0, 0.0, 0.0);
        assert!(app.world_mut().resource_mut::<RoadColours>().set(0, red));
        assert!(!app.world_mut().resource_mut::<RoadColours>().set(1, red));
        app.update();
        let data = app
            .world()
            .resource::<Assets<ShaderBuffer>>()
            .get(&buffer)
            .and_then(|b| b.data.clone())
            .expect("buffer data");
        let floats: Vec<f32> = data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(floats, vec![1.0, 0.0, 0.0, 1.0]);
        let modified = app
            .world()
            .resource::<Messages<AssetEvent<Mesh>>>()
            .iter_current_update_messages()
            .filter(|e| matches!(e, AssetEvent::Modified { .. }))
            .count();
        assert_eq!(modified, 0);
    }

    #[test]
    fn styles_blend_over_the_ground_and_pois_by_category() {
        let half = over_ground([255, 255, 255], 0.5);
        let g = linear(GROUND_BLEND_COLOUR, 1.0);
        assert!((half[0] - (0.5 + g[0] * 0.5)).abs() < 1e-6);
        assert_eq!(half[3], 1.0);
        assert_eq!(over_ground([10, 20, 30], 1.0), linear([10, 20, 30], 1.0));
        assert_ne!(poi_category_colour("shop"), poi_category_colour("amenity"));
        assert_eq!(poi_category_colour("craft"), POI_OTHER_COLOUR);
        let keys: Vec<&str> = POI_CATEGORY_COLOURS.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, crate::twin::gis::layer::POI_KEYS);
    }
}
