//! The app's language: [`CurrentLang`] (from `--lang`, else the scene's `lang`, else the
//! user's setting, else English), the shipped CJK font registered in egui as a fallback
//! after egui's Latin fonts, and [`language_menu`], a small combo box that switches the
//! language at once and saves the choice. Panels read the language from the egui context
//! ([`lang_of`]), so drawing code needs no new parameter.

use std::sync::{Arc, OnceLock};

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use crate::app::loading::LoadedCity;
use crate::twin::briefing::pdf::FONT_OTF;
use crate::twin::i18n::settings::{UserSettings, settings_path};
use crate::twin::i18n::{Lang, tr};

/// The name of the CJK font in egui's font definitions.
pub const CJK_FONT: &str = "noto-sans-sc-subset";

/// The language asked for on the command line (`--lang`), set before the app starts.
static REQUESTED: OnceLock<Lang> = OnceLock::new();

/// Asks for `lang` whatever the scene or the user's setting say (`--lang`).
pub fn request_lang(lang: Lang) {
    let _ = REQUESTED.set(lang);
}

/// The language the app is shown in.
#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CurrentLang(pub Lang);

/// Where the language came from, to know whether a scene's `lang` may change it.
#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq)]
enum LangSource {
    /// `--lang`: nothing overrides it.
    CommandLine,
    /// The user's setting or the default: the scene's `lang` overrides it.
    Setting,
}

/// Adds [`CurrentLang`], the fonts and the language in the egui context.
pub struct I18nPlugin;

impl Plugin for I18nPlugin {
    fn build(&self, app: &mut App) {
        let (lang, source) = match REQUESTED.get() {
            Some(l) => (*l, LangSource::CommandLine),
            None => {
                let saved = settings_path().map(|p| UserSettings::load(&p));
                let lang = match saved {
                    Some(Ok(s)) => s.lang.unwrap_or_default(),
                    Some(Err(e)) => {
                        warn!("{e}; English is used");
                        Lang::En
                    }
                    None => Lang::En,
                };
                (lang, LangSource::Setting)
            }
        };
        if !app.world().contains_resource::<CurrentLang>() {
            app.insert_resource(CurrentLang(lang));
        }
        app.insert_resource(source)
            .add_systems(Update, follow_scene_lang.run_if(resource_added::<LoadedCity>))
            .add_systems(EguiPrimaryContextPass, (install_fonts, share_lang));
    }
}

/// A scene's `lang` applies unless `--lang` was given.
fn follow_scene_lang(city: Res<LoadedCity>, source: Res<LangSource>, mut lang: ResMut<CurrentLang>) {
    if *source == LangSource::Setting
        && let Some(l) = city.0.scene.lang
    {
        lang.0 = l;
    }
}

/// egui's fonts with the shipped CJK font after the Latin ones in both families.
pub fn font_definitions() -> egui::FontDefinitions {
    let mut fonts = egui::FontDefinitions::default();
    fonts.font_data.insert(
        CJK_FONT.to_string(),
        Arc::new(egui::FontData::from_static(FONT_OTF)),
    );
    for family in [egui::FontFamily::Proportional, egui::FontFamily::Monospace] {
        fonts
            .families
            .entry(family)
            .or_default()
            .push(CJK_FONT.to_string());
    }
    fonts
}

/// Sets the fonts on the egui context once.
fn install_fonts(mut contexts: EguiContexts, mut done: Local<bool>) -> Result {
    if !*done {
        contexts.ctx_mut()?.set_fonts(font_definitions());
        *done = true;
    }
    Ok(())
}

/// The id the language is kept under in the egui context.
fn lang_id() -> egui::Id {
    egui::Id::new("citytwin-lang")
}

/// Keeps the egui context's language and [`CurrentLang`] together: a language the menu
/// chose in the context (last frame) becomes current; a current language set elsewhere
/// (the scene, a test) goes into the context.
fn share_lang(
    mut contexts: EguiContexts,
    mut lang: ResMut<CurrentLang>,
    mut pushed: Local<Option<Lang>>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    let in_ctx: Option<Lang> = ctx.data(|d| d.get_temp(lang_id()));
    if let (Some(p), Some(c)) = (*pushed, in_ctx)
        && c != p
        && c != lang.0
    {
        lang.0 = c;
    }
    if in_ctx != Some(lang.0) {
        set_lang(ctx, lang.0);
    }
    *pushed = Some(lang.0);
    Ok(())
}

/// Sets the language panels drawn in `ctx` use.
pub fn set_lang(ctx: &egui::Context, lang: Lang) {
    ctx.data_mut(|d| d.insert_temp(lang_id(), lang));
}

/// The language of the panels drawn in `ctx` (English until one is set).
pub fn lang_of(ctx: &egui::Context) -> Lang {
    ctx.data(|d| d.get_temp(lang_id())).unwrap_or_default()
}

/// A combo box of the languages; a choice applies at once (through the egui context
/// and the returned value) and is saved as the user's setting. Returns the chosen
/// language when it changed.
pub fn language_menu(ui: &mut egui::Ui) -> Option<Lang> {
    let current = lang_of(ui.ctx());
    let mut chosen = current;
    let _ = egui::ComboBox::from_id_salt("citytwin-language")
        .selected_text(current.native_name())
        .show_ui(ui, |ui| {
            for l in Lang::ALL {
                ui.selectable_value(&mut chosen, l, l.native_name());
            }
        })
        .response
        .on_hover_text(tr(current, "app-language"));
    if chosen == current {
        return None;
    }
    set_lang(ui.ctx(), chosen);
    if let Some(path) = settings_path() {
        let mut s = UserSettings::load(&path).unwrap_or_default();
        s.lang = Some(chosen);
        if let Err(e) = s.save(&path) {
            warn!("{e}");
        }
    }
    Some(chosen)
}
