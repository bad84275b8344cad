//! The "Layers" side panel: per layer a checkbox showing or hiding what draws it (outline,
//! 3D buildings, ground ribbons and fills, POI markers), the sun shadows switch, its kind, format and feature count, what was skipped (reasons on hover), why it failed, and its
//! owner, licence and classification; at the bottom the scene CRS and the attribution the
//! shown layers' licences require.

use std::collections::BTreeMap;

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use crate::app::AppState;
use crate::app::AppSystems;
use crate::app::i18n::lang_of;
use crate::app::lighting::SunShadows;
use crate::app::loading::LoadedCity;
use crate::app::outline::LayerEntity;
use crate::app::ui::UiCovered;
use crate::app::ui::inspector::classification_label;
use crate::app::ui::layout::{Dock, Prefs, UiLayout};
use crate::twin::city::{CityModel, LayerInfo};
use crate::twin::gis::layer::Classification;
use crate::twin::i18n::{Lang, format_number, layer_format_name, layer_kind_name, tr, tr_args};
use crate::twin::scene::Scene;

/// egui id of the panel, and its key in [`UiCovered`].
const PANEL_ID: &str = "layers_panel";
/// Starting width of the panel, logical pixels.
const PANEL_WIDTH: f32 = 300.0;
/// The panel's name in the layout (and in the remembered layout).
const PANEL_NAME: &str = "layers";
/// Default width as a share of the screen's width (at most [`PANEL_WIDTH`]).
const PANEL_SHARE: f32 = 0.17;
/// Narrowest the panel gets, points.
const PANEL_MIN_WIDTH: f32 = 200.0;
/// Widest the user may drag it, as a share of the screen's width.
const PANEL_MAX_SHARE: f32 = 0.35;
/// Colour of skipped-feature counts.
const WARN_COLOUR: egui::Color32 = egui::Color32::from_rgb(230, 170, 60);
/// Colour of layer errors.
const ERROR_COLOUR: egui::Color32 = egui::Color32::from_rgb(235, 80, 70);
/// Colour of the "restricted" classification.
const RESTRICTED_COLOUR: egui::Color32 = egui::Color32::from_rgb(235, 120, 90);
/// The colour swatch drawn before a layer's name.
const SWATCH: &str = "■";

/// The "Layers" side panel.
pub struct LayersPanelPlugin;

impl Plugin for LayersPanelPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(
            EguiPrimaryContextPass,
            layers_panel
                .in_set(AppSystems::UiDockSides)
                .run_if(super::chrome_shown)
                .run_if(in_state(AppState::Ready).and_then(resource_exists::<LoadedCity>)),
        );
    }
}

/// The layer entities' visibilities, by layer index (a layer may be drawn by several
/// entities, e.g. one per tile of 3D buildings).
type Visibilities<'a> = BTreeMap<usize, Vec<Mut<'a, Visibility>>>;

/// Draws the panel and applies its checkboxes to the layer entities.
fn layers_panel(
    mut contexts: EguiContexts,
    loaded: Res<LoadedCity>,
    mut layers: Query<(&LayerEntity, &mut Visibility)>,
    mut covered: ResMut<UiCovered>,
    mut shadows: Option<ResMut<SunShadows>>,
    mut layout: ResMut<UiLayout>,
    prefs: Option<Res<Prefs>>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let city = &loaded.0.city;
    let scene = &loaded.0.scene;
    let mut vis: Visibilities = BTreeMap::new();
    for (layer, v) in layers.iter_mut() {
        vis.entry(layer.index).or_default().push(v);
    }
    let mut root = layout.dock_ui(ctx, "layers_root");
    let width = layout.side_width(PANEL_SHARE, PANEL_MIN_WIDTH, PANEL_WIDTH);
    let width = prefs.map_or(width, |p| p.prefs.width(PANEL_NAME, width));
    let response = egui::Panel::left(PANEL_ID)
        .default_size(width)
        .size_range(PANEL_MIN_WIDTH..=(layout.screen.width() * PANEL_MAX_SHARE).max(PANEL_MIN_WIDTH))
        .resizable(true)
        .show(&mut root, |ui| {
            let lang = lang_of(ui.ctx());
            ui.heading(tr(lang, "layers-heading"));
            ui.weak(&city.name);
            if let Some(shadows) = shadows.as_mut() {
                let mut on = shadows.on;
                if ui
                    // The key is [`crate::app::lighting::SHADOWS_KEY`].
                    .checkbox(&mut on, tr(lang, "layers-shadows"))
                    .on_hover_text(tr(lang, "layers-shadows-hover"))
                    .changed()
                {
                    shadows.on = on;
                }
            }
            egui::Panel::bottom("layers_footer").show(ui, |ui| footer(ui, city, &vis));
            egui::ScrollArea::vertical().show(ui, |ui| {
                for (index, info) in city.layers.iter().enumerate() {
                    ui.separator();
                    layer_row(ui, info, colour_of(scene, &info.name), vis.get_mut(&index));
                }
                if let Some(v) = vis.get_mut(&city.layers.len()) {
                    ui.separator();
                    ui.horizontal(|ui| visibility_checkbox(ui, &tr(lang, "layers-zone-grid"), None, Some(v)));
                    ui.small(tr_args(
                        lang,
                        "layers-zones-generated",
                        &[("count", format_number(lang, city.zones.len() as f64, 0).into())],
                    ));
                }
            });
        })
        .response;
    covered.set(PANEL_ID, Some(response.rect));
    layout.docked(PANEL_NAME, Dock::Left, response.rect);
    Ok(())
}

/// A layer's colour from the scene, if the scene lists it.
fn colour_of(scene: &Scene, name: &str) -> Option<[u8; 3]> {
    scene
        .layers
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.style.colour)
}

/// True when a layer entity is not hidden.
fn is_shown(v: &Visibility) -> bool {
    *v != Visibility::Hidden
}

/// True when any of a layer's entities is shown.
fn any_shown(vs: &[Mut<Visibility>]) -> bool {
    vs.iter().any(|v| is_shown(v))
}

/// The colour swatch and a checkbox bound to a layer's entities' visibility (disabled when
/// the layer has nothing drawn).
fn visibility_checkbox(
    ui: &mut egui::Ui,
    name: &str,
    colour: Option<[u8; 3]>,
    vis: Option<&mut Vec<Mut<Visibility>>>,
) {
    if let Some([r, g, b]) = colour {
        ui.colored_label(egui::Color32::from_rgb(r, g, b), SWATCH);
    }
    let mut shown = vis.as_ref().is_some_and(|vs| any_shown(vs));
    let response = ui
        .add_enabled(vis.is_some(), egui::Checkbox::new(&mut shown, name))
        .on_disabled_hover_text(tr(lang_of(ui.ctx()), "layers-nothing-to-draw"));
    if response.changed()
        && let Some(vs) = vis
    {
        let new = if shown {
            Visibility::Visible
        } else {
            Visibility::Hidden
        };
        for v in vs.iter_mut() {
            **v = new;
        }
    }
}

/// Hover text listing skipped and repaired features by reason.
fn skip_details(lang: Lang, info: &LayerInfo) -> String {
    let s = &info.skipped;
    let mut lines: Vec<String> = s
        .reasons
        .iter()
        .map(|(reason, n)| {
            tr_args(
                lang,
                "layers-skipped-reason",
                &[("count", (*n).into()), ("reason", reason.into())],
            )
        })
        .collect();
    lines.extend(s.repaired.iter().map(|(reason, n)| {
        tr_args(
            lang,
            "layers-repaired-reason",
            &[("count", (*n).into()), ("reason", reason.into())],
        )
    }));
    lines.join("\n")
}

/// One layer: checkbox, summary, skips, error and catalogue metadata.
fn layer_row(
    ui: &mut egui::Ui,
    info: &LayerInfo,
    colour: Option<[u8; 3]>,
    vis: Option<&mut Vec<Mut<Visibility>>>,
) {
    let lang = lang_of(ui.ctx());
    ui.horizontal(|ui| visibility_checkbox(ui, &info.name, colour, vis));
    ui.small(tr_args(
        lang,
        "layers-summary",
        &[
            ("kind", layer_kind_name(lang, info.kind).into()),
            ("format", layer_format_name(lang, info.format).into()),
            ("count", info.feature_count.into()),
            (
                "features",
                format_number(lang, info.feature_count as f64, 0).into(),
            ),
        ],
    ));
    let skipped = info.skipped.total();
    let repaired: usize = info.skipped.repaired.values().sum();
    if skipped > 0 || repaired > 0 {
        ui.colored_label(
            WARN_COLOUR,
            tr_args(
                lang,
                "layers-skipped",
                &[
                    ("skipped", format_number(lang, skipped as f64, 0).into()),
                    ("repaired", format_number(lang, repaired as f64, 0).into()),
                ],
            ),
        )
        .on_hover_text(skip_details(lang, info));
    }
    if let Some(error) = &info.error {
        ui.colored_label(
            ERROR_COLOUR,
            tr_args(lang, "layers-failed", &[("error", error.to_string().into())]),
        );
    }
    let meta = &info.catalogue.meta;
    let mut parts: Vec<&str> = Vec::new();
    if !meta.owner.is_empty() {
        parts.push(&meta.owner);
    }
    if !meta.licence.is_empty() {
        parts.push(&meta.licence);
    }
    ui.horizontal_wrapped(|ui| {
        if !parts.is_empty() {
            ui.small(parts.join(" · "));
        }
        let class = classification_label(lang, meta.classification);
        if meta.classification == Classification::Restricted {
            ui.colored_label(RESTRICTED_COLOUR, class);
        } else {
            ui.small(class);
        }
    });
}

/// The distinct attribution lines of the layers shown, in layer order.
fn attributions(city: &CityModel, shown: impl Fn(usize) -> bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (index, info) in city.layers.iter().enumerate() {
        let line = info.catalogue.meta.attribution.trim();
        if shown(index) && !line.is_empty() && !out.iter().any(|l| l == line) {
            out.push(line.to_string());
        }
    }
    out
}

/// The scene CRS and the attribution lines.
fn footer(ui: &mut egui::Ui, city: &CityModel, vis: &Visibilities) {
    ui.add_space(ui.spacing().item_spacing.y);
    ui.small(tr_args(
        lang_of(ui.ctx()),
        "layers-crs",
        &[("crs", city.crs.label().to_string().into())],
    ));
    for line in attributions(city, |i| vis.get(&i).is_some_and(|vs| any_shown(vs))) {
        ui.small(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::outline::tests::tiny_city;

    #[test]
    fn attribution_of_shown_layers_once() {
        let mut city = tiny_city();
        let osm = "© OpenStreetMap contributors";
        city.layers[0].catalogue.meta.attribution = osm.to_string();
        city.layers[1].catalogue.meta.attribution = format!(" {osm} ");
        city.layers[2].catalogue.meta.attribution = "© City survey".to_string();
        assert_eq!(
            attributions(&city, |_| true),
            vec![osm.to_string(), "© City survey".to_string()]
        );
        assert_eq!(attributions(&city, |i| i == 1), vec![osm.to_string()]);
        assert!(attributions(&city, |_| false).is_empty());
    }

    #[test]
    fn skip_details_list_reasons() {
        let mut city = tiny_city();
        let s = &mut city.layers[0].skipped;
        s.skip("no geometry");
        s.skip("no geometry");
        s.repair("unclosed ring");
        assert_eq!(
            skip_details(Lang::En, &city.layers[0]),
            "skipped 2: no geometry\nrepaired 1: unclosed ring"
        );
    }
}
