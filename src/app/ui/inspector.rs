//! The building inspector: the hovered building's name in a small tooltip by the cursor,
//! and a window on the selected building: id, name, use, heights and where they came from,
//! footprint area, every source attribute, and its layer's catalogue entry.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use crate::app::loading::LoadedCity;
use crate::app::picking::{HoveredBuilding, SelectedBuilding};
use crate::app::ui::UiCovered;
use crate::app::ui::layout::{PartKind, UiLayout, placed};
use crate::app::{AppState, AppSystems};
use crate::twin::city::{Building, BuildingId, CityModel};
use crate::twin::gis::layer::Classification;
use crate::twin::heights::HeightSource;

/// egui id of the inspector window, and its key in [`UiCovered`].
const PANEL_ID: &str = "building_inspector";
/// egui id of the hover tooltip.
const TOOLTIP_ID: &str = "building_hover_tooltip";
/// Offset of the tooltip from the cursor, logical pixels (kept clear of the pointer).
const TOOLTIP_OFFSET: egui::Vec2 = egui::vec2(16.0, 18.0);
/// Starting width of the inspector window, logical pixels.
const WINDOW_WIDTH: f32 = 320.0;
/// The window's name in the layout's window stack.
const WINDOW_NAME: &str = "inspector";
/// Tallest the attribute list grows before it scrolls, logical pixels.
const ATTRIBUTES_MAX_HEIGHT: f32 = 220.0;

/// The hover tooltip and the selected building's window.
pub struct InspectorPlugin;

impl Plugin for InspectorPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(
            EguiPrimaryContextPass,
            inspector
                .in_set(AppSystems::UiWindows)
                .run_if(super::chrome_shown)
                .run_if(
                    in_state(AppState::Ready)
                        .and_then(resource_exists::<LoadedCity>)
                        .and_then(resource_exists::<SelectedBuilding>)
                        .and_then(resource_exists::<HoveredBuilding>),
                ),
        );
    }
}

/// How a height source reads in the inspector.
pub fn height_source_label(source: HeightSource) -> &'static str {
    match source {
        HeightSource::Measured => "measured",
        HeightSource::Levels => "from levels",
        HeightSource::Estimated => "estimated",
    }
}

/// Lowercase name of a classification.
fn classification_label(c: Classification) -> &'static str {
    match c {
        Classification::Public => "public",
        Classification::Internal => "internal",
        Classification::Restricted => "restricted",
    }
}

/// A one-line name for a building: its name, else its use and index.
pub fn short_label(id: BuildingId, b: &Building) -> String {
    match &b.name {
        Some(n) if !n.trim().is_empty() => n.clone(),
        _ => format!("{} #{}", b.usage, id.0),
    }
}

/// Draws the tooltip and the window; closing the window clears the selection.
fn inspector(
    mut contexts: EguiContexts,
    loaded: Res<LoadedCity>,
    hovered: Res<HoveredBuilding>,
    mut selected: ResMut<SelectedBuilding>,
    mut covered: ResMut<UiCovered>,
    mut layout: ResMut<UiLayout>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let city = &loaded.0.city;

    if let Some(id) = hovered.0
        && let Some(b) = city.building(id)
        && let Some(pos) = ctx.pointer_hover_pos()
    {
        egui::Area::new(egui::Id::new(TOOLTIP_ID))
            .order(egui::Order::Tooltip)
            .interactable(false)
            .fixed_pos(pos + TOOLTIP_OFFSET)
            .show(ctx, |ui| {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.label(short_label(id, b));
                });
            });
    }

    let Some((id, b)) = selected.0.and_then(|id| city.building(id).map(|b| (id, b))) else {
        covered.set(PANEL_ID, None);
        return Ok(());
    };
    let mut open = true;
    // What the user just picked opens expanded, at the top of the window stack.
    let place = layout.window_place(WINDOW_NAME, true);
    let response = placed(egui::Window::new("Building"), Some(place))
        .open(&mut open)
        .default_width(WINDOW_WIDTH)
        .resizable(true)
        .show(ctx, |ui| building_details(ui, city, id, b));
    let rect = response.map(|r| r.response.rect);
    if let Some(r) = rect {
        layout.record(WINDOW_NAME, PartKind::Window, r);
    }
    covered.set(PANEL_ID, rect);
    if !open {
        selected.0 = None;
        covered.set(PANEL_ID, None);
    }
    Ok(())
}

/// The selected building's facts, attributes and catalogue entry.
fn building_details(ui: &mut egui::Ui, city: &CityModel, id: BuildingId, b: &Building) {
    ui.heading(short_label(id, b));
    egui::Grid::new("building_facts")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            let mut row = |k: &str, v: String| {
                ui.label(k);
                ui.label(v);
                ui.end_row();
            };
            row("id", format!("#{} (source {})", id.0, b.source_id));
            row("name", b.name.clone().unwrap_or_else(|| "—".to_string()));
            row("use", b.usage.clone());
            row(
                "height",
                format!("{:.1} m ({})", b.height_m, height_source_label(b.height_source)),
            );
            row("min height", format!("{:.1} m", b.min_height_m));
            row("footprint", format!("{:.0} m²", b.footprint_area_m2()));
        });

    ui.separator();
    ui.strong(format!("Attributes ({})", b.attributes.len()));
    if b.attributes.is_empty() {
        ui.weak("none");
    } else {
        egui::ScrollArea::vertical()
            .id_salt("building_attributes")
            .max_height(ATTRIBUTES_MAX_HEIGHT)
            .show(ui, |ui| {
                egui::Grid::new("building_attribute_grid")
                    .num_columns(2)
                    .striped(true)
                    .show(ui, |ui| {
                        for (k, v) in &b.attributes {
                            ui.label(k);
                            ui.label(v.as_text());
                            ui.end_row();
                        }
                    });
            });
    }

    ui.separator();
    let Some(layer) = city.layers.get(b.layer.0 as usize) else {
        ui.weak(format!("layer {} unknown", b.layer.0));
        return;
    };
    ui.strong(format!("Layer: {}", layer.name));
    let meta = &layer.catalogue.meta;
    let or_dash = |s: &str| {
        if s.trim().is_empty() {
            "—".to_string()
        } else {
            s.to_string()
        }
    };
    egui::Grid::new("building_catalogue")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            let mut row = |k: &str, v: String| {
                ui.label(k);
                ui.label(v);
                ui.end_row();
            };
            row("title", or_dash(&meta.title));
            row("owner", or_dash(&meta.owner));
            row("licence", or_dash(&meta.licence));
            row("attribution", or_dash(&meta.attribution));
            row(
                "classification",
                classification_label(meta.classification).to_string(),
            );
            row("source", layer.catalogue.source_path.display().to_string());
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn height_sources_read_as_words() {
        assert_eq!(height_source_label(HeightSource::Measured), "measured");
        assert_eq!(height_source_label(HeightSource::Levels), "from levels");
        assert_eq!(height_source_label(HeightSource::Estimated), "estimated");
    }
}
