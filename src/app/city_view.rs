//! The city in 3D: buildings extruded into per-tile triangle meshes ([`extrude_city`]) drawn
//! with [`BuildingMaterial`], whose shader (`shaders/buildings.wgsl`, embedded at compile
//! time) reads each building's colour from a storage buffer by the building index every
//! vertex carries. Recolouring a building writes [`BuildingColours`]; the buffer follows,
//! the meshes are never touched.

use bevy::asset::{RenderAssetUsages, uuid_handle};
use bevy::camera::primitives::Aabb;
use bevy::camera::visibility::VisibilityRange;
use bevy::mesh::{
    MeshVertexAttribute, MeshVertexBufferLayoutRef, PrimitiveTopology, VertexAttributeDescriptor,
};
use bevy::pbr::{MaterialPipeline, MaterialPipelineKey, PbrPlugin};
use bevy::prelude::*;
use bevy::render::render_resource::{
    AsBindGroup, RenderPipelineDescriptor, SpecializedMeshPipelineError, VertexFormat,
};
use bevy::render::storage::ShaderBuffer;
use bevy::shader::ShaderRef;

use crate::app::loading::{LoadedCity, PreparedBuildings};
use crate::app::outline::{LayerEntity, OutlineSettings, kind_colour};
use crate::app::{AppState, AppSystems};
use crate::twin::city::CityModel;
use crate::twin::extrude::{TileMesh, extrude_city, tile_lods};
use crate::twin::gis::layer::LayerKind;
use crate::twin::scene::Scene;

pub use crate::twin::extrude::TILE_M;

/// Camera distance (metres, to the centre of a tile's bounding box) beyond which a tile
/// draws its far level of detail, one quad per roof ([`crate::twin::extrude::TileLods`]),
/// and its roads their far level ([`crate::twin::ground::RoadDetail::Far`]). At this
/// distance a 10 m wall is a few pixels tall even at 3840×2160; the far level has about a
/// seventh of the triangles, which is what lets a million buildings draw in a frame.
pub const FAR_LOD_M: f32 = 6000.0;

/// The distances at which a tile's near level shows.
pub(crate) fn near_range() -> VisibilityRange {
    VisibilityRange {
        start_margin: 0.0..0.0,
        end_margin: FAR_LOD_M..FAR_LOD_M,
        use_aabb: true,
    }
}

/// The distances at which a tile's far level shows.
pub(crate) fn far_range() -> VisibilityRange {
    VisibilityRange {
        start_margin: FAR_LOD_M..FAR_LOD_M,
        end_margin: f32::MAX..f32::MAX,
        use_aabb: true,
    }
}

/// The one box both levels of detail of a tile switch on (so that the same distance
/// switches them): the near level's `(min, max)` grown to hold the far level's.
pub(crate) fn lod_box(near: ([f32; 3], [f32; 3]), far: Option<([f32; 3], [f32; 3])>) -> Aabb {
    let (mut lo, mut hi) = (Vec3::from(near.0), Vec3::from(near.1));
    if let Some((min, max)) = far {
        lo = lo.min(Vec3::from(min));
        hi = hi.max(Vec3::from(max));
    }
    Aabb::from_min_max(lo, hi)
}

/// The per-vertex building index (an index into `CityModel::buildings` and into
/// [`BuildingColours::colours`]); shader location 2.
pub const ATTRIBUTE_BUILDING_INDEX: MeshVertexAttribute =
    MeshVertexAttribute::new("BuildingIndex", 2_718_281_828, VertexFormat::Uint32);

/// The buildings shader, inserted into `Assets<Shader>` under a fixed handle at start, so
/// nothing is looked up on disk at run time.
pub const BUILDINGS_SHADER: Handle<Shader> = uuid_handle!("6a0f5c3e-1d2b-4c7a-9e84-3b5d2f61c0a7");

/// Heights at or above this are drawn in the full layer colour; lower ones darker.
const SHADE_FULL_HEIGHT_M: f64 = 60.0;
/// Brightness of the lowest buildings, as a share of the layer colour.
const SHADE_LOW: f32 = 0.72;

/// Extrudes the buildings when the scene is ready and keeps their colour buffer in step
/// with [`BuildingColours`]. Building footprints are left out of the outline.
pub struct CityViewPlugin;

impl Plugin for CityViewPlugin {
    fn build(&self, app: &mut App) {
        if let Some(mut shaders) = app.world_mut().get_resource_mut::<Assets<Shader>>() {
            let shader = Shader::from_wgsl(
                include_str!("../../shaders/buildings.wgsl"),
                "shaders/buildings.wgsl",
            );
            if let Err(e) = shaders.insert(BUILDINGS_SHADER.id(), shader) {
                error!("cannot add the buildings shader: {e}");
            }
        }
        crate::app::lighting::insert_sun_shader(app);
        if app.is_plugin_added::<PbrPlugin>() {
            app.add_plugins(MaterialPlugin::<BuildingMaterial>::default());
        } else {
            // No renderer (headless tests): the assets still exist, nothing draws them.
            app.init_asset::<BuildingMaterial>();
            if !app.world().contains_resource::<Assets<ShaderBuffer>>() {
                app.init_asset::<ShaderBuffer>();
            }
        }
        let mut settings = app
            .world_mut()
            .get_resource_or_insert_with(OutlineSettings::default);
        settings.buildings = false;
        app.add_systems(OnEnter(AppState::Ready), spawn_buildings)
            .add_systems(
                Update,
                upload_colours
                    .run_if(resource_exists_and_changed::<BuildingColours>)
                    .in_set(AppSystems::Visuals),
            );
    }
}

/// Makes a material pipeline read exactly these mesh attributes (the custom materials' one
/// `specialize` step).
pub(crate) fn use_vertex_attributes(
    descriptor: &mut RenderPipelineDescriptor,
    layout: &MeshVertexBufferLayoutRef,
    attributes: &[VertexAttributeDescriptor],
) -> Result<(), SpecializedMeshPipelineError> {
    descriptor.vertex.buffers = vec![layout.0.get_layout(attributes)?];
    Ok(())
}

/// The material of the extruded buildings: colours per building, lit by the sun
/// ([`crate::app::lighting`]). Buildings cast sun shadows when shadows are on: the shadow
/// maps are drawn with this material's own vertex stage (prepass pipeline), so hidden
/// buildings (alpha 0) cast none, and the far level of detail casts instead of the near
/// one exactly where it is drawn instead of it (visibility ranges hold for shadow views).
#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
pub struct BuildingMaterial {
    /// One linear RGBA `[f32; 4]` per building (alpha 0 = hidden).
    #[storage(0, read_only)]
    pub colours: Handle<ShaderBuffer>,
}

impl Material for BuildingMaterial {
    fn vertex_shader() -> ShaderRef {
        BUILDINGS_SHADER.into()
    }

    fn fragment_shader() -> ShaderRef {
        BUILDINGS_SHADER.into()
    }

    fn prepass_vertex_shader() -> ShaderRef {
        BUILDINGS_SHADER.into()
    }

    fn prepass_fragment_shader() -> ShaderRef {
        BUILDINGS_SHADER.into()
    }

    fn enable_prepass() -> bool {
        false
    }

    fn enable_shadows() -> bool {
        true
    }

    fn specialize(
        _pipeline: &MaterialPipeline,
        descriptor: &mut RenderPipelineDescriptor,
        layout: &MeshVertexBufferLayoutRef,
        _key: MaterialPipelineKey<Self>,
    ) -> Result<(), SpecializedMeshPipelineError> {
        // The main pass and the shadow pass alike: our vertex stage reads these.
        use_vertex_attributes(
            descriptor,
            layout,
            &[
                Mesh::ATTRIBUTE_POSITION.at_shader_location(0),
                Mesh::ATTRIBUTE_NORMAL.at_shader_location(1),
                ATTRIBUTE_BUILDING_INDEX.at_shader_location(2),
            ],
        )
    }
}

/// The colour of every building, linear RGBA, indexed like `CityModel::buildings`; alpha
/// 0 hides a building. Change `colours` to recolour: the GPU buffer follows the next frame.
#[derive(Resource, Debug, Clone)]
pub struct BuildingColours {
    /// Linear RGBA per building.
    pub colours: Vec<[f32; 4]>,
    /// The storage buffer the shader reads.
    pub buffer: Handle<ShaderBuffer>,
}

impl BuildingColours {
    /// Sets one building's colour; false when the index is out of range.
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
}

/// Marks the entity drawing one tile of one buildings layer.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildingTile {
    /// Tile coordinates (see [`TileMesh::tile`]).
    pub tile: (i32, i32),
}

/// Marks the entity drawing the far level of detail (roofs only) of one tile of one
/// buildings layer; it shows instead of the [`BuildingTile`] beyond [`FAR_LOD_M`].
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildingTileFar {
    /// Tile coordinates (see [`TileMesh::tile`]).
    pub tile: (i32, i32),
}

/// Where a layer's style and start visibility come from: its scene entry, else defaults.
fn layer_style(city: &CityModel, scene: &Scene, layer: usize) -> ([u8; 3], bool) {
    let Some(info) = city.layers.get(layer) else {
        return (kind_colour(LayerKind::Buildings), true);
    };
    match scene.layers.iter().find(|s| s.name == info.name) {
        Some(spec) => (spec.style.colour, spec.visible),
        None => (kind_colour(info.kind), true),
    }
}

/// The starting colours: each building's layer colour, darker the lower the building.
pub fn initial_colours(city: &CityModel, scene: &Scene) -> Vec<[f32; 4]> {
    let styles: Vec<[u8; 3]> = (0..city.layers.len())
        .map(|l| layer_style(city, scene, l).0)
        .collect();
    city.buildings
        .iter()
        .map(|b| {
            let [r, g, bl] = styles
                .get(b.layer.0 as usize)
                .copied()
                .unwrap_or_else(|| kind_colour(LayerKind::Buildings));
            let base = Color::srgb_u8(r, g, bl).to_linear();
            let h = if b.height_m.is_finite() { b.height_m } else { 0.0 };
            let t = (h / SHADE_FULL_HEIGHT_M).clamp(0.0, 1.0) as f32;
            let shade = SHADE_LOW + (1.0 - SHADE_LOW) * t;
            [base.red * shade, base.green * shade, base.blue * shade, 1.0]
        })
        .collect()
}

/// Splits a tile's mesh by the layer of each building (`layer_of` maps a building index
/// to its layer), keeping triangles whole; groups come sorted by layer.
pub fn split_by_layer(tile: TileMesh, layer_of: impl Fn(u32) -> usize) -> Vec<(usize, TileMesh)> {
    let layers: Vec<usize> = tile.building_index.iter().map(|&b| layer_of(b)).collect();
    let Some(&first) = layers.first() else {
        return Vec::new();
    };
    if layers.iter().all(|&l| l == first) {
        return vec![(first, tile)];
    }
    let mut groups: std::collections::BTreeMap<usize, TileMesh> = std::collections::BTreeMap::new();
    let mut remap: Vec<u32> = vec![0; layers.len()];
    for (v, &layer) in layers.iter().enumerate() {
        let g = groups.entry(layer).or_insert_with(|| TileMesh::new(tile.tile));
        remap[v] = g.positions.len() as u32;
        let p = tile.positions[v];
        for ((lo, hi), v) in g.bbox_min.iter_mut().zip(g.bbox_max.iter_mut()).zip(p) {
            *lo = lo.min(v);
            *hi = hi.max(v);
        }
        g.positions.push(p);
        g.normals.push(tile.normals[v]);
        g.building_index.push(tile.building_index[v]);
    }
    for tri in tile.indices.chunks_exact(3) {
        // Every vertex of a triangle belongs to the same building, hence the same layer.
        if let Some(g) = groups.get_mut(&layers[tri[0] as usize]) {
            g.indices.extend(tri.iter().map(|&i| remap[i as usize]));
        }
    }
    groups.into_iter().filter(|(_, g)| !g.is_empty()).collect()
}

/// A triangle-list mesh of a tile with positions, normals and building indices. Its data
/// lives on the GPU only: once uploaded, the main world keeps none of it (about 1 KiB per
/// building); nothing reads it back (recolouring writes the colour buffer, picking uses
/// the city model).
pub fn tile_mesh(tile: TileMesh) -> Mesh {
    Mesh::new(PrimitiveTopology::TriangleList, RenderAssetUsages::RENDER_WORLD)
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, tile.positions)
        .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, tile.normals)
        .with_inserted_attribute(ATTRIBUTE_BUILDING_INDEX, tile.building_index)
        .with_inserted_indices(bevy::mesh::Indices::U32(tile.indices))
}

/// Spawns one entity per tile and buildings layer, from the meshes the loader thread
/// extruded ([`PreparedBuildings`]), or extruding here when there are none.
fn spawn_buildings(
    mut commands: Commands,
    loaded: Res<LoadedCity>,
    prepared: Option<ResMut<PreparedBuildings>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<BuildingMaterial>>,
    mut buffers: ResMut<Assets<ShaderBuffer>>,
) {
    let city = &loaded.0.city;
    let scene = &loaded.0.scene;
    if city.buildings.is_empty() {
        return;
    }
    let started = std::time::Instant::now();
    let (tiles, report) = prepared.and_then(|mut p| p.0.take()).unwrap_or_else(|| {
        let (tiles, report) = extrude_city(city, TILE_M);
        (tile_lods(tiles), report)
    });
    info!(
        "3D buildings: {} extruded, {} skipped, {} tiles, {} triangles in {:.2} s",
        report.buildings,
        report.skipped(),
        report.tiles,
        report.triangles,
        started.elapsed().as_secs_f32()
    );
    let colours = initial_colours(city, scene);
    let buffer = buffers.add(ShaderBuffer::from(colours.clone()));
    let material = materials.add(BuildingMaterial {
        colours: buffer.clone(),
    });
    commands.insert_resource(BuildingColours { colours, buffer });

    let layer_of = |b: u32| {
        city.buildings
            .get(b as usize)
            .map_or(usize::MAX, |b| b.layer.0 as usize)
    };
    for lods in tiles {
        let mut far: std::collections::BTreeMap<usize, TileMesh> =
            split_by_layer(lods.far, layer_of).into_iter().collect();
        for (layer, mesh) in split_by_layer(lods.near, layer_of) {
            let visible = if layer_style(city, scene, layer).1 {
                Visibility::Visible
            } else {
                Visibility::Hidden
            };
            let roofs = far.remove(&layer);
            let aabb = lod_box(
                (mesh.bbox_min, mesh.bbox_max),
                roofs.as_ref().map(|r| (r.bbox_min, r.bbox_max)),
            );
            let coords = mesh.tile;
            commands.spawn((
                Name::new(format!("buildings {layer} tile {coords:?}")),
                BuildingTile { tile: coords },
                LayerEntity { index: layer },
                Mesh3d(meshes.add(tile_mesh(mesh))),
                MeshMaterial3d(material.clone()),
                Transform::IDENTITY,
                aabb,
                near_range(),
                visible,
                DespawnOnExit(AppState::Ready),
            ));
            if let Some(roofs) = roofs {
                commands.spawn((
                    Name::new(format!("buildings {layer} tile {coords:?} far")),
                    BuildingTileFar { tile: coords },
                    LayerEntity { index: layer },
                    Mesh3d(meshes.add(tile_mesh(roofs))),
                    MeshMaterial3d(material.clone()),
                    Transform::IDENTITY,
                    aabb,
                    far_range(),
                    visible,
                    DespawnOnExit(AppState::Ready),
                ));
            }
        }
    }
}

/// Writes the colours into the storage buffer (only runs when they changed).
fn upload_colours(colours: Res<BuildingColours>, mut buffers: ResMut<Assets<ShaderBuffer>>) {
    if let Some(mut buffer) = buffers.get_mut(&colours.buffer) {
        buffer.set_data(colours.colours.clone());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bevy::state::app::StatesPlugin;

    use super::*;
    use crate::app::outline::OutlinePlugin;

    fn tiny_loaded() -> LoadedCity {
        LoadedCity(Arc::new(crate::app::outline::tests::tiny_loaded_scene()))
    }

    fn ready_app() -> App {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, AssetPlugin::default(), StatesPlugin))
            .init_asset::<Mesh>()
            .init_asset::<StandardMaterial>()
            .init_state::<AppState>()
            .add_plugins((OutlinePlugin, CityViewPlugin))
            .insert_resource(tiny_loaded());
        app.world_mut()
            .resource_mut::<NextState<AppState>>()
            .set(AppState::Ready);
        app.update();
        app
    }

    #[test]
    fn buildings_become_triangle_tiles_of_their_layer() {
        let mut app = ready_app();
        let world = app.world_mut();
        let tiles: Vec<(usize, usize, Vec<u32>)> = world
            .query_filtered::<(&LayerEntity, &Mesh3d), With<BuildingTile>>()
            .iter(world)
            .map(|(layer, mesh)| {
                let mesh = world.resource::<Assets<Mesh>>().get(&mesh.0).expect("mesh added");
                assert_eq!(mesh.primitive_topology(), PrimitiveTopology::TriangleList);
                assert!(mesh.attribute(Mesh::ATTRIBUTE_NORMAL).is_some());
                let Some(bevy::mesh::VertexAttributeValues::Uint32(ix)) =
                    mesh.attribute(ATTRIBUTE_BUILDING_INDEX)
                else {
                    panic!("no building index attribute");
                };
                (layer.index, mesh.count_vertices(), ix.clone())
            })
            .collect();
        assert_eq!(tiles.len(), 1);
        let (layer, vertices, ix) = &tiles[0];
        assert_eq!(*layer, 0);
        // Near level: roof (4) + 4 walls of 4 vertices; the floor stands on the ground.
        assert_eq!(*vertices, 4 + 4 * 4);
        assert!(ix.iter().all(|&i| i == 0));
        // Far level of the same tile and layer: the roof alone, switching at the same box.
        let far: Vec<(usize, usize, VisibilityRange)> = world
            .query_filtered::<(&LayerEntity, &Mesh3d, &VisibilityRange), With<BuildingTileFar>>()
            .iter(world)
            .map(|(layer, mesh, range)| {
                let mesh = world.resource::<Assets<Mesh>>().get(&mesh.0).expect("mesh added");
                (layer.index, mesh.count_vertices(), range.clone())
            })
            .collect();
        assert_eq!(far.len(), 1);
        assert_eq!((far[0].0, far[0].1), (0, 4));
        assert!(far[0].2 == far_range());
        let near_range_of_tile = world
            .query_filtered::<&VisibilityRange, With<BuildingTile>>()
            .single(world)
            .expect("one near tile")
            .clone();
        assert!(near_range_of_tile == near_range());
        assert_eq!(near_range_of_tile.end_margin, far[0].2.start_margin);
        // The buildings layer has no outline any more; the other layers keep theirs.
        let outlined: Vec<usize> = world
            .query_filtered::<&LayerEntity, (Without<BuildingTile>, Without<BuildingTileFar>)>()
            .iter(world)
            .map(|l| l.index)
            .collect();
        assert!(!outlined.contains(&0), "{outlined:?}");
        assert!(outlined.contains(&1) && outlined.contains(&2), "{outlined:?}");
    }

    #[test]
    fn recolouring_writes_the_buffer_and_leaves_meshes_alone() {
        let mut app = ready_app();
        app.update();
        let colours = app.world().resource::<BuildingColours>().clone();
        assert_eq!(colours.colours.len(), 1);
        // The layer colour is red (255, 0, 0): a 12 m building is a darker red.
        let [r, g, b, a] = colours.colours[0];
        assert!(
            r > 0.5 && r < 1.0 && g == 0.0 && b == 0.0 && a == 1.0,
            "{:?}",
            colours.colours
        );

        let mesh_events_before = app.world().resource::<Messages<AssetEvent<Mesh>>>().len();
        let blue = Color::srgb(0.0, 0.0, 1.0);
        assert!(app.world_mut().resource_mut::<BuildingColours>().set(0, blue));
        assert!(!app.world_mut().resource_mut::<BuildingColours>().set(1, blue));
        app.update();
        let buffer = app
            .world()
            .resource::<Assets<ShaderBuffer>>()
            .get(&colours.buffer)
            .expect("buffer");
        let data = buffer.data.as_ref().expect("buffer data");
        let floats: Vec<f32> = data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(floats, vec![0.0, 0.0, 1.0, 1.0]);
        let modified = app
            .world()
            .resource::<Messages<AssetEvent<Mesh>>>()
            .iter_current_update_messages()
            .filter(|e| matches!(e, AssetEvent::Modified { .. }))
            .count();
        assert_eq!(modified, 0, "({mesh_events_before} mesh events before)");
    }

    #[test]
    fn mixed_tiles_split_by_layer() {
        let mut tile = TileMesh::new((0, 0));
        // Two triangles: building 0 (layer 0) and building 1 (layer 3).
        for (b, x) in [(0u32, 0.0f32), (1, 10.0)] {
            let base = tile.positions.len() as u32;
            for dx in [0.0, 1.0, 2.0] {
                tile.positions.push([x + dx, 0.0, 0.0]);
                tile.normals.push([0.0, 1.0, 0.0]);
                tile.building_index.push(b);
            }
            tile.indices.extend([base, base + 1, base + 2]);
        }
        let parts = split_by_layer(tile.clone(), |b| if b == 0 { 0 } else { 3 });
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].0, 0);
        assert_eq!(parts[1].0, 3);
        assert_eq!(parts[1].1.indices, vec![0, 1, 2]);
        assert_eq!(parts[1].1.positions[0], [10.0, 0.0, 0.0]);
        assert_eq!(parts[1].1.bbox_min, [10.0, 0.0, 0.0]);
        let whole = split_by_layer(tile.clone(), |_| 5);
        assert_eq!(whole, vec![(5, tile)]);
    }
}
