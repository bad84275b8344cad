// POI markers: one small mesh drawn for every POI (Bevy batches the entities sharing it
// into instanced draws); each instance's `MeshTag` is the POI's index, which picks its
// colour (linear RGBA) out of a storage buffer. Alpha 0 hides the marker. Lit like the
// buildings by citytwin's sun (shaders/sun.wgsl), in their shadows when shadows are on.

#import bevy_pbr::{
    mesh_functions,
    view_transformations::position_world_to_clip,
}
#import citytwin::sun::sun_lit

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<storage, read> colours: array<vec4<f32>>;

struct Vertex {
    @builtin(instance_index) instance_index: u32,
    @location(0) position: vec3<f32>,
    @location(1) normal: vec3<f32>,
};

struct VertexOutput {
    @builtin(position) clip_position: vec4<f32>,
    @location(0) world_normal: vec3<f32>,
    @location(1) colour: vec4<f32>,
    @location(2) world_position: vec3<f32>,
};

// Where hidden features' vertices go: outside the clip volume.
const HIDDEN_CLIP_POSITION: vec4<f32> = vec4<f32>(2.0, 2.0, 2.0, 1.0);

@vertex
fn vertex(vertex: Vertex) -> VertexOutput {
    var out: VertexOutput;
    let world_from_local = mesh_functions::get_world_from_local(vertex.instance_index);
    let world_position = mesh_functions::mesh_position_local_to_world(world_from_local, vec4(vertex.position, 1.0));
    out.world_position = world_position.xyz;
    out.clip_position = position_world_to_clip(world_position.xyz);
    out.world_normal = mesh_functions::mesh_normal_local_to_world(vertex.normal, vertex.instance_index);
    let poi = mesh_functions::get_tag(vertex.instance_index);
    if (poi < arrayLength(&colours)) {
        out.colour = colours[poi];
    } else {
        out.colour = vec4<f32>(0.0);
    }
    // A hidden feature's vertices all land on one point outside the clip volume: its
    // triangles have no area and are never rasterised (no `discard`, which would cost
    // early depth testing for every fragment of every feature).
    if (out.colour.a <= 0.0) {
        out.clip_position = HIDDEN_CLIP_POSITION;
    }
    return out;
}

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    return vec4<f32>(sun_lit(in.colour.rgb, in.world_position, in.world_normal, in.clip_position.xy), 1.0);
}
