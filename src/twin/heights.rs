//! Building heights: lengths with units ("12 m", "40'", "40 ft"), storeys × storey height
//! plus a roof allowance, `min_height`, a fallback per building type, and where each came from.

use serde::{Deserialize, Serialize};

use crate::twin::gis::layer::{AttrValue, Attributes};

/// Metres in one international foot.
pub const FOOT_M: f64 = 0.3048;
/// Metres in one US survey foot.
pub const US_SURVEY_FOOT_M: f64 = 1200.0 / 3937.0;
/// Metres in one inch.
const INCH_M: f64 = 0.0254;
/// Tallest plausible building part, in metres; larger values are treated as bad data.
pub const MAX_PLAUSIBLE_HEIGHT_M: f64 = 1000.0;

/// Where a building's height came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeightSource {
    /// A height attribute in the data.
    Measured,
    /// Number of storeys × storey height + roof allowance.
    Levels,
    /// An estimate (an `est_height` attribute or the fallback for the building type).
    Estimated,
}

impl HeightSource {
    /// Lowercase name for reports.
    pub fn name(self) -> &'static str {
        match self {
            HeightSource::Measured => "measured",
            HeightSource::Levels => "levels",
            HeightSource::Estimated => "estimated",
        }
    }
}

/// A unit of length for height fields without an explicit unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LengthUnit {
    /// Metres.
    #[default]
    Metre,
    /// International feet.
    Foot,
    /// US survey feet.
    UsSurveyFoot,
}

impl LengthUnit {
    /// Metres in one unit.
    pub fn metres(self) -> f64 {
        match self {
            LengthUnit::Metre => 1.0,
            LengthUnit::Foot => FOOT_M,
            LengthUnit::UsSurveyFoot => US_SURVEY_FOOT_M,
        }
    }
}

/// How heights are found for a building layer (set per layer in the scene).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeightOptions {
    /// Attribute fields holding a measured height, tried in order.
    pub height_fields: Vec<String>,
    /// Attribute fields holding an estimated height, tried after the measured ones.
    pub estimate_fields: Vec<String>,
    /// Unit of height values that carry no unit of their own.
    pub unit: LengthUnit,
    /// Attribute fields holding the number of storeys.
    pub levels_fields: Vec<String>,
    /// Attribute fields holding the height of the bottom of the building part.
    pub min_height_fields: Vec<String>,
    /// Attribute fields holding the storey at which the building part starts.
    pub min_level_fields: Vec<String>,
    /// Attribute holding the building type (for the fallback table).
    pub type_field: String,
    /// Height of one storey, metres.
    pub storey_m: f64,
    /// Allowance added on top of the storeys for the roof, metres.
    pub roof_m: f64,
    /// Fallback height, metres, for a building type not in the table.
    pub default_m: f64,
}

impl Default for HeightOptions {
    fn default() -> Self {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        HeightOptions {
            height_fields: s(&["height", "building:height", "building_h"]),
            estimate_fields: s(&["est_height"]),
            unit: LengthUnit::Metre,
            levels_fields: s(&["building:levels", "levels", "building_l"]),
            min_height_fields: s(&["min_height", "building:min_height"]),
            min_level_fields: s(&["building:min_level", "min_level"]),
            type_field: "building".to_string(),
            storey_m: 3.0,
            roof_m: 1.0,
            default_m: 9.0,
        }
    }
}

/// Typical heights (metres) by OSM `building=*` value, used when nothing better is known.
const FALLBACK_HEIGHTS: &[(&str, f64)] = &[
    ("house", 7.0),
    ("detached", 7.0),
    ("semidetached_house", 7.0),
    ("terrace", 9.0),
    ("bungalow", 4.0),
    ("residential", 12.0),
    ("apartments", 15.0),
    ("dormitory", 12.0),
    ("hotel", 18.0),
    ("commercial", 12.0),
    ("retail", 6.0),
    ("office", 18.0),
    ("industrial", 8.0),
    ("warehouse", 8.0),
    ("school", 10.0),
    ("university", 15.0),
    ("hospital", 18.0),
    ("church", 15.0),
    ("cathedral", 30.0),
    ("civic", 12.0),
    ("public", 12.0),
    ("train_station", 10.0),
    ("garage", 3.0),
    ("garages", 3.0),
    ("shed", 2.5),
    ("hut", 2.5),
    ("roof", 4.0),
    ("kiosk", 3.0),
    ("greenhouse", 3.0),
    ("farm_auxiliary", 5.0),
];

/// A building's resolved vertical extent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResolvedHeight {
    /// Top of the building above ground, metres.
    pub height_m: f64,
    /// Bottom of the building part above ground, metres (0 for most).
    pub min_height_m: f64,
    /// Where `height_m` came from.
    pub source: HeightSource,
}

/// Parses a length such as `12`, `12 m`, `12.5m`, `12,5 m`, `40'`, `40 ft`, `10'6"`,
/// `1200 cm` into metres; bare numbers are in `unit`. `None` for anything else
/// (empty, negative, non-finite, implausibly large).
pub fn parse_length(text: &str, unit: LengthUnit) -> Option<f64> {
    let t = text.trim().to_ascii_lowercase().replace(',', ".");
    if t.is_empty() {
        return None;
    }
    // Feet and inches: 10'6" or 10' 6" or 40'
    if let Some((ft, rest)) = t.split_once('\'') {
        let feet: f64 = ft.trim().parse().ok()?;
        let rest = rest.trim().trim_end_matches('"').trim();
        let inches: f64 = if rest.is_empty() { 0.0 } else { rest.parse().ok()? };
        return plausible(feet * FOOT_M + inches * INCH_M);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(t.len());
    let (num, suffix) = t.split_at(split);
    let value: f64 = num.trim().parse().ok()?;
    let factor = match suffix.trim() {
        "" => unit.metres(),
        "m" | "meter" | "meters" | "metre" | "metres" => 1.0,
        "cm" => 0.01,
        "ft" | "feet" | "foot" => FOOT_M,
        "usft" | "us-ft" | "ftus" => US_SURVEY_FOOT_M,
        "in" | "\"" => INCH_M,
        "km" => 1000.0,
        _ => return None,
    };
    plausible(value * factor)
}

fn plausible(m: f64) -> Option<f64> {
    (0.0..=MAX_PLAUSIBLE_HEIGHT_M).contains(&m).then_some(m)
}

fn first_value<'a>(attrs: &'a Attributes, fields: &[String]) -> Option<&'a AttrValue> {
    fields.iter().find_map(|f| attrs.get(f))
}

fn first_length(attrs: &Attributes, fields: &[String], unit: LengthUnit) -> Option<f64> {
    fields.iter().find_map(|f| match attrs.get(f)? {
        AttrValue::Number(n) => plausible(*n * unit.metres()),
        v => parse_length(&v.as_text(), unit),
    })
}

fn first_count(attrs: &Attributes, fields: &[String]) -> Option<f64> {
    let v = first_value(attrs, fields)?;
    let n = match v {
        AttrValue::Number(n) => *n,
        v => v.as_text().trim().replace(',', ".").parse().ok()?,
    };
    (n.is_finite() && (0.0..=200.0).contains(&n)).then_some(n)
}

/// The fallback height for a building type.
pub fn fallback_height(building_type: Option<&str>, opts: &HeightOptions) -> f64 {
    building_type
        .and_then(|t| FALLBACK_HEIGHTS.iter().find(|(k, _)| *k == t).map(|(_, h)| *h))
        .unwrap_or(opts.default_m)
}

/// Resolves a building's height: measured field, then levels, then estimate field, then
/// the fallback for its type. A zero measured height is not trusted (it means "unknown"
/// in many datasets). `min_height` comes from its field or from the starting storey.
pub fn resolve(attrs: &Attributes, opts: &HeightOptions) -> ResolvedHeight {
    let min_height_m = first_length(attrs, &opts.min_height_fields, opts.unit)
        .or_else(|| first_count(attrs, &opts.min_level_fields).map(|l| l * opts.storey_m))
        .unwrap_or(0.0);
    let measured = first_length(attrs, &opts.height_fields, opts.unit).filter(|h| *h > 0.0);
    let (height_m, source) = if let Some(h) = measured {
        (h, HeightSource::Measured)
    } else if let Some(l) = first_count(attrs, &opts.levels_fields).filter(|l| *l > 0.0) {
        (l * opts.storey_m + opts.roof_m, HeightSource::Levels)
    } else if let Some(h) = first_length(attrs, &opts.estimate_fields, opts.unit).filter(|h| *h > 0.0) {
        (h, HeightSource::Estimated)
    } else {
        let ty = attrs.get(&opts.type_field).map(AttrValue::as_text);
        (fallback_height(ty.as_deref(), opts), HeightSource::Estimated)
    };
    // A part whose bottom is above its top is bad data: keep the top, drop the bottom.
    let min_height_m = if min_height_m < height_m {
        min_height_m
    } else {
        0.0
    };
    ResolvedHeight {
        height_m,
        min_height_m,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, AttrValue)]) -> Attributes {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }
    fn t(s: &str) -> AttrValue {
        AttrValue::Text(s.to_string())
    }

    #[test]
    fn parses_units() {
        let m = LengthUnit::Metre;
        assert_eq!(parse_length("12", m), Some(12.0));
        assert_eq!(parse_length("12 m", m), Some(12.0));
        assert_eq!(parse_length("12.5m", m), Some(12.5));
        assert_eq!(parse_length("12,5 m", m), Some(12.5));
        assert!((parse_length("40'", m).unwrap() - 12.192).abs() < 1e-9);
        assert!((parse_length("40 ft", m).unwrap() - 12.192).abs() < 1e-9);
        assert!((parse_length("10'6\"", m).unwrap() - (3.048 + 0.1524)).abs() < 1e-9);
        assert!((parse_length("30 feet", m).unwrap() - 9.144).abs() < 1e-9);
        assert!((parse_length("100", LengthUnit::UsSurveyFoot).unwrap() - 30.48006).abs() < 1e-4);
        assert_eq!(parse_length("", m), None);
        assert_eq!(parse_length("tall", m), None);
        assert_eq!(parse_length("-3", m), None);
        assert_eq!(parse_length("NaN", m), None);
        assert_eq!(parse_length("5000", m), None);
    }

    #[test]
    fn order_of_sources() {
        let o = HeightOptions::default();
        let r = resolve(&attrs(&[("height", t("21.3")), ("building:levels", t("4"))]), &o);
        assert_eq!((r.height_m, r.source), (21.3, HeightSource::Measured));
        let r = resolve(&attrs(&[("building:levels", t("4"))]), &o);
        assert_eq!((r.height_m, r.source), (13.0, HeightSource::Levels));
        let r = resolve(&attrs(&[("est_height", AttrValue::Number(8.0))]), &o);
        assert_eq!((r.height_m, r.source), (8.0, HeightSource::Estimated));
        let r = resolve(&attrs(&[("building", t("garage"))]), &o);
        assert_eq!((r.height_m, r.source), (3.0, HeightSource::Estimated));
        let r = resolve(&attrs(&[("building", t("yes"))]), &o);
        assert_eq!(r.height_m, o.default_m);
        let r = resolve(
            &attrs(&[("height", t("0")), ("levels", AttrValue::Number(2.0))]),
            &o,
        );
        assert_eq!(r.source, HeightSource::Levels, "zero height is unknown");
    }

    #[test]
    fn min_height_and_levels() {
        let o = HeightOptions::default();
        let r = resolve(&attrs(&[("height", t("30 m")), ("min_height", t("10"))]), &o);
        assert_eq!((r.height_m, r.min_height_m), (30.0, 10.0));
        let r = resolve(&attrs(&[("height", t("30")), ("building:min_level", t("2"))]), &o);
        assert_eq!(r.min_height_m, 6.0);
        let r = resolve(&attrs(&[("height", t("5")), ("min_height", t("10"))]), &o);
        assert_eq!(r.min_height_m, 0.0, "bottom above top is dropped");
    }

    #[test]
    fn numeric_fields_use_the_layer_unit() {
        let o = HeightOptions {
            unit: LengthUnit::Foot,
            ..HeightOptions::default()
        };
        let r = resolve(&attrs(&[("height", AttrValue::Number(100.0))]), &o);
        assert!((r.height_m - 30.48).abs() < 1e-9);
        let r = resolve(&attrs(&[("height", t("10 m"))]), &o);
        assert_eq!(r.height_m, 10.0, "an explicit unit wins");
    }
}
