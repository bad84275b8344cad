// The one sun of citytwin, shared by the buildings, ground and marker shaders
// (`#import citytwin::sun`): a fixed direction, a soft ambient share and a lambert share,
// and, when the app has turned sun shadows on, Bevy's cascaded shadow maps of the
// directional light that stands for this sun (src/app/lighting.rs, whose SUN_DIRECTION
// must equal the one here; a unit test there checks it).

#define_import_path citytwin::sun

#import bevy_pbr::{
    mesh_view_bindings as view_bindings,
    mesh_view_types,
    shadows,
}

// Direction toward the sun, world frame (x east, y up, z south): from the south-west, high.
const SUN_DIRECTION: vec3<f32> = vec3<f32>(-0.35, 0.85, 0.40);
// Share of the colour lit by the sky alone (what a point in full shadow keeps).
const AMBIENT: f32 = 0.38;
// Share added by the sun on a face turned straight to it.
const SUN: f32 = 0.62;

// How much of the sun reaches a point, 0 (shadowed) to 1 (sunlit): the shadow maps of the
// first directional light that casts shadows, and 1 when there is none (shadows off: no
// light, no shadow pass, no sampling).
fn sun_visibility(world_position: vec3<f32>, world_normal: vec3<f32>, frag_coord: vec2<f32>) -> f32 {
    let n = view_bindings::lights.n_directional_lights;
    for (var i: u32 = 0u; i < n; i = i + 1u) {
        let flags = view_bindings::lights.directional_lights[i].flags;
        if ((flags & mesh_view_types::DIRECTIONAL_LIGHT_FLAGS_SHADOWS_ENABLED_BIT) != 0u) {
            let view = view_bindings::view.view_from_world;
            let view_z = dot(vec4<f32>(view[0].z, view[1].z, view[2].z, view[3].z), vec4<f32>(world_position, 1.0));
            return shadows::fetch_directional_shadow(i, vec4<f32>(world_position, 1.0), world_normal, view_z, frag_coord);
        }
    }
    return 1.0;
}

// A colour lit by the sky and the sun on a surface of this normal, in the sun's shadow
// where the shadow maps say so.
fn sun_lit(colour: vec3<f32>, world_position: vec3<f32>, world_normal: vec3<f32>, frag_coord: vec2<f32>) -> vec3<f32> {
    let normal = normalize(world_normal);
    let lambert = max(dot(normal, normalize(SUN_DIRECTION)), 0.0);
    var visible = 1.0;
    if (lambert > 0.0) {
        visible = sun_visibility(world_position, normal, frag_coord);
    }
    return colour * (AMBIENT + SUN * lambert * visible);
}
