//! Localisation: the languages citytwin speaks ([`Lang`]: English and Simplified Chinese),
//! their Fluent message files (`assets/i18n/<lang>/*.ftl`, embedded in the binary),
//! [`tr`] / [`tr_args`] to look a message up (with plurals), the translated names of the
//! catalogue's indicators, units, dimensions and statuses, and locale-aware numbers and
//! dates. JSON output stays language-neutral (ids and numbers); only text for people is
//! translated. Adding a language: a [`Lang`] variant, its folder of `.ftl` files with every
//! key of `en`, and its entry in [`Lang::files`] (the tests check the keys match).

pub mod format;
pub mod settings;
pub mod wrap;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use serde::{Deserialize, Serialize};
use unic_langid::LanguageIdentifier;

use crate::twin::gis::layer::{Classification, LayerFormat, LayerKind};
use crate::twin::indicators::{Dimension, Status};

pub use format::{format_date_time, format_number, format_value};

/// A language of the user interface, the wall and the briefings; written as its tag
/// (`"en"`, `"zh-CN"`) in scenes and settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Lang {
    /// English (the default, and the fallback of a missing message).
    #[default]
    En,
    /// 简体中文 (Simplified Chinese, mainland China).
    ZhCn,
}

impl From<Lang> for String {
    fn from(l: Lang) -> String {
        l.code().to_string()
    }
}

impl TryFrom<String> for Lang {
    type Error = String;

    fn try_from(s: String) -> Result<Lang, String> {
        s.parse()
    }
}

/// The English message files, as embedded.
const EN_FILES: &[(&str, &str)] = &[
    (
        "indicators.ftl",
        include_str!("../../../assets/i18n/en/indicators.ftl"),
    ),
    (
        "briefing.ftl",
        include_str!("../../../assets/i18n/en/briefing.ftl"),
    ),
    ("ui.ftl", include_str!("../../../assets/i18n/en/ui.ftl")),
    ("panels.ftl", include_str!("../../../assets/i18n/en/panels.ftl")),
    ("edits.ftl", include_str!("../../../assets/i18n/en/edits.ftl")),
];
/// The Simplified Chinese message files, as embedded.
const ZH_CN_FILES: &[(&str, &str)] = &[
    (
        "indicators.ftl",
        include_str!("../../../assets/i18n/zh-CN/indicators.ftl"),
    ),
    (
        "briefing.ftl",
        include_str!("../../../assets/i18n/zh-CN/briefing.ftl"),
    ),
    ("ui.ftl", include_str!("../../../assets/i18n/zh-CN/ui.ftl")),
    (
        "panels.ftl",
        include_str!("../../../assets/i18n/zh-CN/panels.ftl"),
    ),
    ("edits.ftl", include_str!("../../../assets/i18n/zh-CN/edits.ftl")),
];

impl Lang {
    /// Every language, in menu order.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::ZhCn];

    /// The BCP 47 tag: "en", "zh-CN" (the folder under `assets/i18n`, `--lang`, `lang:`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// The language's name in itself, for a language menu.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::ZhCn => "简体中文",
        }
    }

    /// Parses a tag ("en", "en-GB", "zh-CN", "zh_CN", "zh-Hans", case-insensitive).
    pub fn parse(tag: &str) -> Option<Lang> {
        let t = tag.trim().to_ascii_lowercase().replace('_', "-");
        match t.as_str() {
            "en" | "en-gb" | "en-us" => Some(Lang::En),
            "zh" | "zh-cn" | "zh-hans" | "zh-hans-cn" => Some(Lang::ZhCn),
            _ => None,
        }
    }

    /// The message files of the language: (file name, Fluent source).
    pub fn files(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Lang::En => EN_FILES,
            Lang::ZhCn => ZH_CN_FILES,
        }
    }

    fn bundle(self) -> &'static Bundle {
        static BUNDLES: [OnceLock<Bundle>; 2] = [OnceLock::new(), OnceLock::new()];
        BUNDLES[self as usize].get_or_init(|| Bundle::new(self))
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for Lang {
    type Err = String;

    fn from_str(s: &str) -> Result<Lang, String> {
        Lang::parse(s).ok_or_else(|| {
            let known: Vec<&str> = Lang::ALL.iter().map(|l| l.code()).collect();
            format!("unknown language '{s}' (known: {})", known.join(", "))
        })
    }
}

/// A language's messages, parsed once.
struct Bundle {
    bundle: FluentBundle<FluentResource>,
    /// Problems parsing the files ("file: error"); the tests require none.
    problems: Vec<String>,
}

impl Bundle {
    fn new(lang: Lang) -> Bundle {
        let id: LanguageIdentifier = lang.code().parse().unwrap_or_default();
        let mut bundle = FluentBundle::new_concurrent(vec![id]);
        // No Unicode isolation marks around arguments: text goes to PDFs and terminals.
        bundle.set_use_isolating(false);
        let mut problems = Vec::new();
        for (name, source) in lang.files() {
            let resource = match FluentResource::try_new((*source).to_string()) {
                Ok(r) => r,
                Err((r, errors)) => {
                    problems.extend(errors.iter().map(|e| format!("{}/{name}: {e:?}", lang.code())));
                    r
                }
            };
            if let Err(errors) = bundle.add_resource(resource) {
                problems.extend(errors.iter().map(|e| format!("{}/{name}: {e:?}", lang.code())));
            }
        }
        Bundle { bundle, problems }
    }

    fn format(&self, key: &str, args: Option<&FluentArgs>) -> Option<String> {
        let msg = self.bundle.get_message(key)?;
        let pattern = msg.value()?;
        let mut errors = Vec::new();
        let text = self.bundle.format_pattern(pattern, args, &mut errors);
        Some(text.into_owned())
    }
}

/// An argument of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// Text, put in as is.
    Str(String),
    /// A number: selects plural forms; shown as Fluent writes it (use [`format_number`]
    /// and an [`Arg::Str`] for grouped digits).
    Num(f64),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Arg {
        Arg::Str(s.to_string())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Arg {
        Arg::Str(s)
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Arg {
        Arg::Str(s.clone())
    }
}

impl From<usize> for Arg {
    fn from(n: usize) -> Arg {
        Arg::Num(n as f64)
    }
}

impl From<f64> for Arg {
    fn from(n: f64) -> Arg {
        Arg::Num(n)
    }
}

/// The message `key` in `lang`; the English one when `lang` lacks it, the key itself when
/// English lacks it too (the tests make sure neither happens).
pub fn tr(lang: Lang, key: &str) -> String {
    tr_args(lang, key, &[])
}

/// The message `key` in `lang` with arguments (`{ $name }` in the message), e.g.
/// `tr_args(lang, "briefing-zones-some", &[("with", 12.into()), ("of", 33.into())])`.
pub fn tr_args(lang: Lang, key: &str, args: &[(&str, Arg)]) -> String {
    let fluent_args = (!args.is_empty()).then(|| {
        let mut a = FluentArgs::new();
        for (name, value) in args {
            match value {
                Arg::Str(s) => a.set(*name, FluentValue::from(s.clone())),
                Arg::Num(n) => a.set(*name, FluentValue::from(*n)),
            }
        }
        a
    });
    lang.bundle()
        .format(key, fluent_args.as_ref())
        .or_else(|| Lang::En.bundle().format(key, fluent_args.as_ref()))
        .unwrap_or_else(|| key.to_string())
}

/// Whether `lang` has the message `key` (without falling back to English).
pub fn has(lang: Lang, key: &str) -> bool {
    lang.bundle().bundle.has_message(key)
}

/// Problems parsing `lang`'s message files (empty when they are sound).
pub fn problems(lang: Lang) -> Vec<String> {
    lang.bundle().problems.clone()
}

/// The message ids of `lang`'s files, as written (for the key tests).
pub fn message_ids(lang: Lang) -> BTreeSet<String> {
    use fluent_bundle::FluentResource as R;
    let mut out = BTreeSet::new();
    for (_, source) in lang.files() {
        let r = match R::try_new((*source).to_string()) {
            Ok(r) | Err((r, _)) => r,
        };
        for entry in r.entries() {
            if let fluent_syntax::ast::Entry::Message(m) = entry {
                out.insert(m.id.name.to_string());
            }
        }
    }
    out
}

/// The message key of an indicator's name: `indicator-` and the id with `.` as `-`
/// ("env.pm25_daily_mean" → "indicator-env-pm25_daily_mean").
pub fn indicator_key(id: &str) -> String {
    format!("indicator-{}", id.replace('.', "-"))
}

/// An indicator's name in `lang`: the message file's, or `fallback` (the scene's own name
/// of an indicator it adds, which no message file knows).
pub fn indicator_name(lang: Lang, id: &str, fallback: &str) -> String {
    let key = indicator_key(id);
    if has(lang, &key) || has(Lang::En, &key) {
        tr(lang, &key)
    } else {
        fallback.to_string()
    }
}

/// The units of the catalogue and their message keys.
pub const UNIT_KEYS: &[(&str, &str)] = &[
    ("%", "unit-percent"),
    ("per 100k", "unit-per-100k"),
    ("per 10k", "unit-per-10k"),
    ("m²/resident", "unit-m2-per-resident"),
    ("nats", "unit-nats"),
    ("h", "unit-hours"),
    ("score", "unit-score"),
    ("µg/m³", "unit-ug-m3"),
    ("dB(A)", "unit-dba"),
    ("ha per 100k", "unit-ha-per-100k"),
    ("kW/resident", "unit-kw-per-resident"),
    ("residents/km²", "unit-residents-per-km2"),
    ("s", "unit-seconds"),
    ("km per 100k", "unit-km-per-100k"),
    ("per km²", "unit-per-km2"),
    ("ratio", "unit-ratio"),
];

/// A unit in `lang`; a unit no message file knows is written as given.
pub fn unit(lang: Lang, unit: &str) -> String {
    match UNIT_KEYS.iter().find(|(u, _)| *u == unit) {
        Some((_, key)) => tr(lang, key),
        None => unit.to_string(),
    }
}

/// The message key of a dimension's name.
pub fn dimension_key(d: Dimension) -> String {
    format!("dimension-{}", d.id())
}

/// A dimension's name in `lang` ("Environment", "环境").
pub fn dimension_name(lang: Lang, d: Dimension) -> String {
    tr(lang, &dimension_key(d))
}

/// The message key of a status.
pub fn status_key(s: Status) -> String {
    format!("status-{}", s.id().replace('_', "-"))
}

/// A status in words in `lang` ("on target", "达标").
pub fn status_name(lang: Lang, s: Status) -> String {
    tr(lang, &status_key(s))
}

/// A layer kind in `lang` ("buildings", "建筑").
pub fn layer_kind_name(lang: Lang, kind: LayerKind) -> String {
    match kind {
        LayerKind::Buildings => tr(lang, "layer-kind-buildings"),
        LayerKind::Roads => tr(lang, "layer-kind-roads"),
        LayerKind::Zones => tr(lang, "layer-kind-zones"),
        LayerKind::Pois => tr(lang, "layer-kind-pois"),
        LayerKind::Water => tr(lang, "layer-kind-water"),
        LayerKind::Green => tr(lang, "layer-kind-green"),
        LayerKind::Other => tr(lang, "layer-kind-other"),
    }
}

/// A layer's source format in `lang` ("osm.pbf", "OSM PBF"; "generated", "自动生成").
pub fn layer_format_name(lang: Lang, format: LayerFormat) -> String {
    match format {
        LayerFormat::Shapefile => tr(lang, "layer-format-shapefile"),
        LayerFormat::GeoJson => tr(lang, "layer-format-geojson"),
        LayerFormat::OsmPbf => tr(lang, "layer-format-osm-pbf"),
        LayerFormat::GeoPackage => tr(lang, "layer-format-geopackage"),
        LayerFormat::CityJson => tr(lang, "layer-format-cityjson"),
        LayerFormat::PostGis => tr(lang, "layer-format-postgis"),
        LayerFormat::Generated => tr(lang, "layer-format-generated"),
    }
}

/// A classification in `lang` ("restricted", "受限").
pub fn classification_name(lang: Lang, c: Classification) -> String {
    match c {
        Classification::Public => tr(lang, "class-public"),
        Classification::Internal => tr(lang, "class-internal"),
        Classification::Restricted => tr(lang, "class-restricted"),
    }
}

/// A feed badge ("SIMULATED", "REPLAY + UNKNOWN") in `lang`, word by word; a word no
/// message file knows is kept.
pub fn badge_words(lang: Lang, badge: &str) -> String {
    badge
        .split(" + ")
        .map(|w| match w {
            "SIMULATED" => tr(lang, "badge-simulated"),
            "REPLAY" => tr(lang, "badge-replay"),
            "UNKNOWN" => tr(lang, "badge-unknown"),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

#[cfg(test)]
mod tests;
