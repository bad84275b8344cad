//! The building inspector: the hovered building's name in a small tooltip by the cursor,
//! and a window on the selected building: id, name, use, heights and where they came from,
//! footprint area, every source attribute, and its layer's catalogue entry.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use crate::app::i18n::lang_of;
use crate::app::loading::LoadedCity;
use crate::app::picking::{HoveredBuilding, SelectedBuilding};
use crate::app::ui::UiCovered;
use crate::app::ui::layout::{PartKind, UiLayout, placed};
use crate::app::{AppState, AppSystems};
use crate::twin::city::{Building, BuildingId, CityModel};
use crate::twin::gis::layer::Classification;
use crate::twin::heights::HeightSource;
use crate::twin::i18n::{Lang, tr, tr_args};

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
pub fn height_source_label(lang: Lang, source: HeightSource) -> String {
    match source {
        HeightSource::Measured => tr(lang, "insp-height-measured"),
        HeightSource::Levels => tr(lang, "insp-height-levels"),
        HeightSource::Estimated => tr(lang, "insp-height-estimated"),
    }
}

/// Lowercase name of a classification, in `lang`.
pub fn classification_label(lang: Lang, c: Classification) -> String {
    crate::twin::i18n::classification_name(lang, c)
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
    let response = placed(
        egui::Window::new(tr(lang_of(ctx), "window-building")),
        Some(place),
    )
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
    let lang = lang_of(ui.ctx());
    let (id_key, name_key, use_key, height_key) = (
        tr(lang, "insp-id"),
        tr(lang, "insp-name"),
        tr(lang, "insp-use"),
        tr(lang, "insp-height"),
    );
    let (min_key, foot_key) = (tr(lang, "insp-min-height"), tr(lang, "insp-footprint"));
    egui::Grid::new("building_facts")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            let mut row = |k: &str, v: String| {
                ui.label(k);
                ui.label(v);
                ui.end_row();
            };
            row(
                &id_key,
                tr_args(
                    lang,
                    "insp-id-value",
                    &[
                        ("id", id.0.to_string().into()),
                        ("source", b.source_id.to_string().into()),
                    ],
                ),
            );
            row(&name_key, b.name.clone().unwrap_or_else(|| "—".to_string()));
            row(&use_key, b.usage.clone());
            row(
                &height_key,
                format!(
                    "{:.1} m ({})",
                    b.height_m,
                    height_source_label(lang, b.height_source)
                ),
            );
            row(&min_key, format!("{:.1} m", b.min_height_m));
            row(&foot_key, format!("{:.0} m²", b.footprint_area_m2()));
        });

    ui.separator();
    ui.strong(tr_args(
        lang,
        "insp-attributes",
        &[("count", b.attributes.len().into())],
    ));
    if b.attributes.is_empty() {
        ui.weak(tr(lang, "insp-none"));
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
        ui.weak(tr_args(
            lang,
            "insp-layer-unknown",
            &[("layer", b.layer.0.to_string().into())],
        ));
        return;
    };
    ui.strong(tr_args(lang, "insp-layer", &[("layer", (&layer.name).into())]));
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
            row(&tr(lang, "insp-title"), or_dash(&meta.title));
            row(&tr(lang, "insp-owner"), or_dash(&meta.owner));
            row(&tr(lang, "insp-licence"), or_dash(&meta.licence));
            row(&tr(lang, "insp-attribution"), or_dash(&meta.attribution));
            row(
                &tr(lang, "insp-classification"),
                classification_label(lang, meta.classification),
            );
            row(
                &tr(lang, "insp-source"),
                layer.catalogue.source_path.display().to_string(),
            );
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn height_sources_read_as_words() {
        assert_eq!(height_source_label(Lang::En, HeightSource::Measured), "measured");
        assert_eq!(height_source_label(Lang::En, HeightSource::Levels), "from levels");
        assert_eq!(
            height_source_label(Lang::En, HeightSource::Estimated),
            "estimated"
        );
        assert_eq!(height_source_label(Lang::ZhCn, HeightSource::Measured), "实测");
    }
}
