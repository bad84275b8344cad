//! The egui panels, gathered in [`UiPlugin`], and [`UiCovered`]: where the panels lie, so the
//! 3D view leaves the mouse alone there.

pub mod dashboard;
pub mod feed_health;
pub mod inspector;
pub mod layers;
pub mod layout;
pub mod overlays;
pub mod scenario;
pub mod timeline;

use std::collections::BTreeMap;

use bevy::prelude::*;
use bevy_egui::egui;

use crate::app::ui::dashboard::DashboardPanelPlugin;
use crate::app::ui::feed_health::FeedHealthPlugin;
use crate::app::ui::inspector::InspectorPlugin;
use crate::app::ui::layers::LayersPanelPlugin;
use crate::app::ui::overlays::OverlaysPanelPlugin;
use crate::app::ui::timeline::TimelinePlugin;

/// All egui panels.
pub struct UiPlugin;

impl Plugin for UiPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<UiCovered>().add_plugins((
            LayersPanelPlugin,
            InspectorPlugin,
            TimelinePlugin,
            DashboardPanelPlugin,
            FeedHealthPlugin,
            OverlaysPanelPlugin,
        ));
    }
}

/// The screen rectangles (logical pixels) the panels covered in their last pass, by panel.
///
/// egui's own "wants the pointer" test does not see panels drawn into a plain background
/// `Ui`, so each panel records its rectangle here and the camera checks both.
#[derive(Resource, Debug, Default)]
pub struct UiCovered {
    rects: BTreeMap<&'static str, egui::Rect>,
}

impl UiCovered {
    /// Records (or with `None`, forgets) the rectangle a panel covers.
    pub fn set(&mut self, panel: &'static str, rect: Option<egui::Rect>) {
        match rect {
            Some(r) => {
                if self.rects.get(panel) != Some(&r) {
                    self.rects.insert(panel, r);
                }
            }
            None => {
                self.rects.remove(panel);
            }
        }
    }

    /// True when a logical-pixel window position lies on a panel.
    pub fn contains(&self, pos: Vec2) -> bool {
        let p = egui::pos2(pos.x, pos.y);
        self.rects.values().any(|r| r.contains(p))
    }
}

/// Present while the app shows a clean screen (presenting a briefing): the editing panels
/// stay away, leaving the 3D view and what the presenting mode draws.
#[derive(Resource, Debug, Default, Clone, Copy)]
pub struct CleanScreen;

/// Run condition of the editing panels: no [`CleanScreen`].
pub fn chrome_shown(clean: Option<Res<CleanScreen>>) -> bool {
    clean.is_none()
}

/// A top-level `Ui` spanning the whole window, for panels to be shown into.
pub fn root_ui(ctx: &egui::Context, id: &'static str) -> egui::Ui {
    egui::Ui::new(
        ctx.clone(),
        egui::Id::new(id),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(ctx.viewport_rect()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covered_rects_are_set_and_forgotten() {
        let mut c = UiCovered::default();
        c.set(
            "a",
            Some(egui::Rect::from_min_max(
                egui::pos2(0.0, 0.0),
                egui::pos2(100.0, 500.0),
            )),
        );
        assert!(c.contains(Vec2::new(50.0, 10.0)));
        assert!(!c.contains(Vec2::new(150.0, 10.0)));
        c.set("a", None);
        assert!(!c.contains(Vec2::new(50.0, 10.0)));
    }
}
