// Extruded buildings: each vertex carries the index of its building, which picks the
// building's colour (linear RGBA) out of a storage buffer. Alpha 0 hides the building.
// Lit by citytwin's sun (shaders/sun.wgsl): lambert plus ambient, in the sun's shadow
// when shadows are on. The same vertex stage draws the buildings into the shadow maps
// (Bevy's prepass pipeline, PREPASS_PIPELINE), so a hidden building casts no shadow.

#import bevy_pbr::{
    mesh_functions,
    view_transformations::position_world_to_clip,
}
#ifndef PREPASS_PIPELINE
#import citytwin::sun::sun_lit
#endif

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<storage, read> colours: array<vec4<f32>>;

struct Vertex {
    @builtin(instance_index) instance_index: u32,
    @location(0) position: vec3<f32>,
    @location(1) normal: vec3<f32>,
    @location(2) building: u32,
};

struct VertexOutput {
    @builtin(position) clip_position: vec4<f32>,
    @location(0) world_normal: vec3<f32>,
    @location(1) colour: vec4<f32>,
    @location(2) world_position: vec3<f32>,
#ifdef UNCLIPPED_DEPTH_ORTHO_EMULATION
    @location(3) unclipped_depth: f32,
#endif
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
    let n = arrayLength(&colours);
    if (vertex.building < n) {
        out.colour = colours[vertex.building];
    } else {
        out.colour = vec4<f32>(0.0);
    }
    // A hidden feature's vertices all land on one point outside the clip volume: its
    // triangles have no area and are never rasterised (no `discard`, which would cost
    // early depth testing for every fragment of every feature).
    if (out.colour.a <= 0.0) {
        out.clip_position = HIDDEN_CLIP_POSITION;
    }
#ifdef UNCLIPPED_DEPTH_ORTHO_EMULATION
    // Shadow maps of a directional light keep casters in front of the near plane: as
    // Bevy's own prepass, clamp the depth here and write the real one per fragment.
    out.unclipped_depth = out.clip_position.z;
    out.clip_position.z = min(out.clip_position.z, 1.0);
#endif
    return out;
}

#ifdef PREPASS_PIPELINE
#ifdef UNCLIPPED_DEPTH_ORTHO_EMULATION
struct ShadowFragment {
    @builtin(frag_depth) frag_depth: f32,
};

// Shadow maps only, and only where the device cannot disable depth clipping (see the
// vertex stage): the real depth.
@fragment
fn fragment(in: VertexOutput) -> ShadowFragment {
    var out: ShadowFragment;
    out.frag_depth = in.unclipped_depth;
    return out;
}
#endif
#else
@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    return vec4<f32>(sun_lit(in.colour.rgb, in.world_position, in.world_normal, in.clip_position.xy), 1.0);
}
#endif
