//! Who may see what, in the app: the role asked for on the command line
//! ([`RequestedRole`], inserted before the app starts), what the loader resolved and
//! withheld ([`SceneAccess`], present from `Ready` on), the always-visible attribution line
//! the licences of the layers shown require, and the "Data catalogue" window (key `C`):
//! every layer and feed with owner, licence, attribution, classification and freshness,
//! withheld ones listed by name as withheld, without their data.
//!
//! The filtering itself happens in the loader thread ([`crate::twin::access::load_scene_as`]):
//! withheld layers are never read, so they never become entities, and withheld feeds are
//! never started.

use bevy::prelude::*;
use bevy_egui::input::EguiWantsInput;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use crate::app::feeds::LiveFeeds;
use crate::app::i18n::lang_of;
use crate::app::ui::UiCovered;
use crate::app::ui::feed_health::age_text;
use crate::app::ui::layout::{PartKind, UiLayout, placed};
use crate::app::{AppState, AppSystems};
use crate::twin::access::{CatalogueRow, Role, Withheld, attribution_line};
use crate::twin::feeds::{SourceId, Timestamp};
use crate::twin::gis::layer::Classification;
use crate::twin::i18n::{Arg, Lang, classification_name, format_number, layer_kind_name, tr, tr_args};

/// egui id of the attribution line, and its key in [`UiCovered`].
const ATTRIBUTION_ID: &str = "attribution_line";
/// egui id of the catalogue window, and its key in [`UiCovered`].
const CATALOGUE_ID: &str = "data_catalogue";
/// The catalogue window\'s name in the layout\'s window stack.
const CATALOGUE_NAME: &str = "catalogue";
/// The key that opens and closes the catalogue.
pub const CATALOGUE_KEY: KeyCode = KeyCode::KeyC;
/// Margin of the attribution line from the window's bottom-right corner, logical pixels.
const ATTRIBUTION_MARGIN: f32 = 6.0;
/// Colour of withheld rows.
const WITHHELD_COLOUR: egui::Color32 = egui::Color32::from_rgb(235, 120, 90);
/// Width of the catalogue window, logical pixels.
const CATALOGUE_WIDTH: f32 = 460.0;

/// The role asked for (`--role NAME`); `None` or absent: the scene's default role.
#[derive(Resource, Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestedRole(pub Option<String>);

/// The role the app runs as and what it was not given, from the loader.
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct SceneAccess {
    /// The role.
    pub role: Role,
    /// Layers and feeds withheld (never loaded).
    pub withheld: Withheld,
    /// Every layer and feed, withheld ones last.
    pub catalogue: Vec<CatalogueRow>,
    /// Attributions of the loaded layers.
    pub attributions: Vec<String>,
}

/// Whether the catalogue window is open.
#[derive(Resource, Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CatalogueOpen(pub bool);

/// The attribution line and the data catalogue.
pub struct AccessPlugin;

impl Plugin for AccessPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<CatalogueOpen>()
            .add_systems(
                Update,
                toggle_catalogue.run_if(resource_exists::<ButtonInput<KeyCode>>),
            )
            .add_systems(
                EguiPrimaryContextPass,
                (
                    // The wall's ticker carries the attribution and its clock the role.
                    attribution_ui.run_if(not(resource_exists::<crate::app::wall::WallMode>)),
                    catalogue_ui,
                )
                    .in_set(AppSystems::UiWindows)
                    .run_if(in_state(AppState::Ready).and_then(resource_exists::<SceneAccess>)),
            );
    }
}

/// Opens or closes the catalogue with [`CATALOGUE_KEY`] (not while typing into a panel).
fn toggle_catalogue(
    keys: Res<ButtonInput<KeyCode>>,
    mut open: ResMut<CatalogueOpen>,
    egui: Option<Res<EguiWantsInput>>,
) {
    let typing = egui.as_ref().is_some_and(|e| e.wants_any_keyboard_input());
    if keys.just_pressed(CATALOGUE_KEY) && !typing {
        open.0 = !open.0;
    }
}

/// The small always-visible line: attributions and the role.
fn attribution_ui(
    mut contexts: EguiContexts,
    access: Res<SceneAccess>,
    mut covered: ResMut<UiCovered>,
    mut layout: ResMut<UiLayout>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let text = status_line(lang_of(ctx), &access);
    // In the bottom-right corner of the 3D view, inside the docked panels.
    let free = layout.free;
    let response = egui::Area::new(egui::Id::new(ATTRIBUTION_ID))
        .pivot(egui::Align2::RIGHT_BOTTOM)
        .fixed_pos(free.max - egui::vec2(ATTRIBUTION_MARGIN, ATTRIBUTION_MARGIN))
        .constrain_to(free)
        .order(egui::Order::Foreground)
        .interactable(false)
        .show(ctx, |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| ui.small(text));
        })
        .response;
    covered.set(ATTRIBUTION_ID, Some(response.rect));
    layout.record("attribution", PartKind::Overlay, response.rect);
    Ok(())
}

/// The attribution line's text in `lang`: "© OpenStreetMap contributors · role public · 1
/// layer withheld".
pub fn status_line(lang: Lang, access: &SceneAccess) -> String {
    let mut parts = vec![attribution_line(&access.attributions)];
    parts.retain(|p| !p.is_empty());
    parts.push(tr_args(
        lang,
        "attr-role",
        &[("role", (&access.role.name).into())],
    ));
    if let Some(w) = withheld_text(lang, &access.withheld) {
        // The role is already named.
        parts.push(tr_args(lang, "withheld-summary", &[("what", w.into())]));
    }
    parts.join(" · ")
}

/// What was withheld, in `lang` ("2 layers and 1 feed"); `None` when nothing was.
pub fn withheld_text(lang: Lang, withheld: &Withheld) -> Option<String> {
    let (layers, feeds) = (withheld.layers.len(), withheld.feeds.len());
    let layers_text = tr_args(lang, "withheld-n-layers", &[("count", layers.into())]);
    let feeds_text = tr_args(lang, "withheld-n-feeds", &[("count", feeds.into())]);
    match (layers, feeds) {
        (0, 0) => None,
        (_, 0) => Some(layers_text),
        (0, _) => Some(feeds_text),
        _ => Some(tr_args(
            lang,
            "withheld-and",
            &[("a", layers_text.into()), ("b", feeds_text.into())],
        )),
    }
}

/// Freshness of a catalogue row: a layer's source file age, a feed's last message age.
fn freshness(lang: Lang, row: &CatalogueRow, now: Timestamp, feeds: Option<&LiveFeeds>) -> String {
    if row.withheld {
        return tr(lang, "cat-withheld");
    }
    if row.is_feed() {
        let health = feeds.and_then(|f| f.running.live.health.get(&SourceId(row.name.clone())));
        return match health.and_then(|h| h.last_message) {
            Some(t) => tr_args(
                lang,
                "feed-last-message",
                &[("age", age_text(lang, now.0 - t.0).into())],
            ),
            None if feeds.is_some() => tr(lang, "cat-no-message"),
            None => tr(lang, "cat-not-running"),
        };
    }
    match row.source_modified_s {
        Some(s) => tr_args(
            lang,
            "cat-file-age",
            &[(
                "age",
                age_text(lang, now.0 - s as i64 * Timestamp::SECOND_MS).into(),
            )],
        ),
        None => tr(lang, "cat-unknown"),
    }
}

/// The "Data catalogue" window.
fn catalogue_ui(
    mut contexts: EguiContexts,
    access: Res<SceneAccess>,
    feeds: Option<Res<LiveFeeds>>,
    mut open: ResMut<CatalogueOpen>,
    mut covered: ResMut<UiCovered>,
    mut layout: ResMut<UiLayout>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    if !open.0 {
        covered.set(CATALOGUE_ID, None);
        return Ok(());
    }
    let now = Timestamp::now();
    let mut still_open = true;
    // Opened by a key press: it opens expanded.
    let place = layout.window_place(CATALOGUE_NAME, true);
    let lang = lang_of(ctx);
    let response = placed(egui::Window::new(tr(lang, "window-catalogue")), Some(place))
        .open(&mut still_open)
        .default_width(CATALOGUE_WIDTH)
        .show(ctx, |ui| {
            let sees: Vec<String> = access
                .role
                .sees
                .iter()
                .map(|c| classification_name(lang, *c))
                .collect();
            let role_args = [
                ("role", Arg::from(&access.role.name)),
                ("sees", sees.join(tr(lang, "list-separator").as_str()).into()),
            ];
            ui.label(if access.role.individual_data {
                tr_args(lang, "cat-role-individual", &role_args)
            } else {
                tr_args(lang, "cat-role-aggregated", &role_args)
            });
            if let Some(w) = withheld_text(lang, &access.withheld) {
                ui.colored_label(
                    WITHHELD_COLOUR,
                    tr_args(
                        lang,
                        "withheld-summary-role",
                        &[("what", w.into()), ("role", (&access.role.name).into())],
                    ),
                );
            }
            egui::ScrollArea::vertical().show(ui, |ui| {
                for row in &access.catalogue {
                    ui.separator();
                    catalogue_row(ui, lang, row, &freshness(lang, row, now, feeds.as_deref()));
                }
            });
        });
    if !still_open {
        open.0 = false;
    }
    let rect = response.map(|r| r.response.rect);
    if let Some(r) = rect {
        layout.record(CATALOGUE_NAME, PartKind::Window, r);
    }
    covered.set(CATALOGUE_ID, rect);
    Ok(())
}

/// One row: name and title, kind, owner · licence, attribution, classification, freshness.
fn catalogue_row(ui: &mut egui::Ui, lang: Lang, row: &CatalogueRow, fresh: &str) {
    let what = row
        .kind
        .map_or_else(|| tr(lang, "cat-feed"), |k| layer_kind_name(lang, k));
    let class = classification_name(lang, row.classification);
    ui.horizontal_wrapped(|ui| {
        ui.strong(&row.title);
        ui.small(format!("{} · {what}", row.name));
    });
    if row.withheld {
        ui.colored_label(
            WITHHELD_COLOUR,
            tr_args(lang, "cat-withheld-class", &[("class", (&class).into())]),
        );
    }
    let mut parts: Vec<&str> = [row.owner.as_str(), row.licence.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    parts.push(&class);
    ui.small(parts.join(" · "));
    if !row.attribution.is_empty() {
        ui.small(&row.attribution);
    }
    if let Some(n) = row.features {
        ui.small(tr_args(
            lang,
            "cat-features",
            &[
                ("count", n.into()),
                ("features", format_number(lang, n as f64, 0).into()),
                ("fresh", fresh.into()),
            ],
        ));
    } else if !row.withheld {
        ui.small(fresh);
    }
    if let Some(e) = &row.error {
        ui.colored_label(
            WITHHELD_COLOUR,
            tr_args(lang, "layers-failed", &[("error", e.into())]),
        );
    }
    if row.classification == Classification::Restricted && !row.withheld {
        ui.small(tr(lang, "cat-restricted-note"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::access::AccessSpec;
    use crate::twin::access::filter::WithheldItem;

    #[test]
    fn status_line_names_attribution_role_and_withheld() {
        let role = AccessSpec::default().role(Some("public")).unwrap();
        let mut access = SceneAccess {
            role,
            withheld: Withheld::default(),
            catalogue: Vec::new(),
            attributions: vec!["© OpenStreetMap contributors".into()],
        };
        assert_eq!(
            status_line(Lang::En, &access),
            "© OpenStreetMap contributors · role public"
        );
        access.withheld.layers.push(WithheldItem {
            name: "water".into(),
            kind: None,
            meta: Default::default(),
            metrics: Vec::new(),
        });
        assert_eq!(
            status_line(Lang::En, &access),
            "© OpenStreetMap contributors · role public · 1 layer withheld"
        );
        // In Chinese: the role and what was withheld in Chinese, the attribution as given.
        let zh = status_line(Lang::ZhCn, &access);
        assert_eq!(zh, "© OpenStreetMap contributors · 角色 public · 已隐去 1 个图层");
        access.withheld.feeds.push(WithheldItem {
            name: "traffic".into(),
            kind: None,
            meta: Default::default(),
            metrics: Vec::new(),
        });
        assert_eq!(
            withheld_text(Lang::En, &access.withheld).as_deref(),
            Some("1 layer and 1 feed")
        );
        assert_eq!(
            withheld_text(Lang::ZhCn, &access.withheld).as_deref(),
            Some("1 个图层和 1 个数据源")
        );
    }
}
