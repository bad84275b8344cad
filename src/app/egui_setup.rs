//! egui in the app: bevy_egui's plugin, with the font atlas's updates reaching the GPU in
//! the frame that needs them.
//!
//! egui rasterises a glyph into its font atlas the first time a text needs it (a clock's
//! new digit, a new size) and bevy_egui writes that into the atlas image in `PostUpdate`.
//! Bevy sends an image's changes to the GPU from the asset events of `AssetEventSystems`,
//! also in `PostUpdate` and unordered with bevy_egui's sets: where they ran first, the
//! frame that first showed a glyph drew it from the old atlas, blank ("18:28: 0" on the
//! wall clock, "16:43:5  UTC" on the timeline, in a screenshot of that frame). Ordering
//! bevy_egui's texture updates before the asset events draws every glyph in its first frame.

use bevy::asset::AssetEventSystems;
use bevy::prelude::*;
use bevy_egui::{EguiPlugin, EguiPostUpdateSet};

/// bevy_egui's plugin, with its texture updates ordered before the asset events.
pub struct CityEguiPlugin;

impl Plugin for CityEguiPlugin {
    fn build(&self, app: &mut App) {
        app.add_plugins(EguiPlugin::default()).configure_sets(
            PostUpdate,
            EguiPostUpdateSet::PostProcessOutput.before(AssetEventSystems),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where each of the named systems runs in `PostUpdate`'s order.
    fn positions(app: &mut App, names: &[&str]) -> Vec<Option<usize>> {
        app.update();
        let schedules = app.world().resource::<Schedules>();
        let post = schedules.get(PostUpdate).expect("a PostUpdate schedule");
        let order: Vec<String> = post
            .systems()
            .expect("initialised by the update")
            .map(|(_, s)| s.name().to_string())
            .collect();
        names
            .iter()
            .map(|n| order.iter().position(|s| s.contains(n)))
            .collect()
    }

    #[test]
    fn the_font_atlas_is_updated_before_the_image_asset_events() {
        let mut app = App::new();
        app.add_plugins((
            MinimalPlugins,
            AssetPlugin::default(),
            bevy::image::ImagePlugin::default(),
            bevy::input::InputPlugin,
            bevy::window::WindowPlugin {
                primary_window: None,
                ..default()
            },
        ))
        // bevy_egui loads its shader into the shader assets (no renderer here).
        .init_asset::<bevy::shader::Shader>()
        .add_plugins(CityEguiPlugin);
        let at = positions(
            &mut app,
            &[
                "update_egui_textures_system",
                "Assets<bevy_image::image::Image>::asset_events",
            ],
        );
        let (Some(textures), Some(events)) = (at[0], at[1]) else {
            panic!("both systems are in PostUpdate: {at:?}");
        };
        assert!(textures < events, "{at:?}");
    }
}
