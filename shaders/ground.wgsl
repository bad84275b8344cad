// Flat ground features (road ribbons, water, green, land-use and zone fills): each vertex
// carries the index of its feature, which picks the feature's colour (linear RGBA) out of a
// storage buffer. Alpha 0 hides the feature; other alphas blend when the material does.
// Lit by citytwin's sun (shaders/sun.wgsl: lambert on the up-facing ground plus ambient),
// in the buildings' shadows when shadows are on. Ground features cast none.

#import bevy_pbr::{
    mesh_functions,
    view_transformations::position_world_to_clip,
}
#import citytwin::sun::sun_lit

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<storage, read> colours: array<vec4<f32>>;

// The ground faces up.
const UP: vec3<f32> = vec3<f32>(0.0, 1.0, 0.0);

struct Vertex {
    @builtin(instance_index) instance_index: u32,
    @location(0) position: vec3<f32>,
    @location(1) feature: u32,
};

struct VertexOutput {
    @builtin(position) clip_position: vec4<f32>,
    @location(0) colour: vec4<f32>,
    @location(1) world_position: vec3<f32>,
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
    if (vertex.feature < arrayLength(&colours)) {
        out.colour = colours[vertex.feature];
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
    return vec4<f32>(sun_lit(in.colour.rgb, in.world_position, UP, in.clip_position.xy), in.colour.a);
}
