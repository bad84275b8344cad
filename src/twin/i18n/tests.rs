//! The message files against the code: every key the code uses exists in every language,
//! no file has a key nothing uses, the files parse; plurals, fallbacks and formats.

use std::collections::BTreeSet;
use std::path::Path;

use super::*;
use crate::twin::indicators::catalogue::Catalogue;
use crate::twin::indicators::config::IndicatorConfig;

/// Every status, for the key families.
const STATUSES: [Status; 6] = [
    Status::OnTarget,
    Status::Warning,
    Status::Alarm,
    Status::NoData,
    Status::Stale,
    Status::NotApplicable,
];

/// The keys written as literals in calls `tr(lang, "key"` / `tr_args(lang, "key"` in the
/// sources under `dir`.
fn literal_keys(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            literal_keys(&path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        // This file calls `tr` with keys that must not exist.
        if path.ends_with("i18n/tests.rs") {
            continue;
        }
        let text: String = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for call in ["tr(", "tr_args("] {
            for (at, _) in text.match_indices(call) {
                // A call of this module's functions, not e.g. `attr(`.
                let before = text[..at].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let rest = &text[at + call.len()..];
                let Some(comma) = rest.find(',') else { continue };
                let after = rest[comma + 1..].trim_start();
                if let Some(lit) = after.strip_prefix('"') {
                    let key: String = lit.chars().take_while(|&c| c != '"').collect();
                    if !key.is_empty()
                        && key
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    {
                        out.insert(key);
                    }
                }
            }
        }
    }
}

/// Every key the code uses: the literals, and the families built from ids.
fn used_keys() -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    literal_keys(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut keys);
    let catalogue = Catalogue::default_catalogue(&IndicatorConfig::default());
    keys.extend(catalogue.indicators.iter().map(|d| indicator_key(&d.id)));
    keys.extend(Dimension::ALL.into_iter().map(dimension_key));
    keys.extend(STATUSES.into_iter().map(status_key));
    keys.extend(UNIT_KEYS.iter().map(|(_, k)| k.to_string()));
    keys
}

#[test]
fn every_used_key_exists_in_every_language_and_none_is_unused() {
    let used = used_keys();
    // The scan finds the calls (a broken scan would find none and pass vacuously).
    for k in ["briefing-notes", "briefing-data-time", "app-title"] {
        assert!(used.contains(k), "the scan misses {k}: {used:?}");
    }
    for lang in Lang::ALL {
        assert!(problems(lang).is_empty(), "{lang}: {:?}", problems(lang));
        let ids = message_ids(lang);
        let missing: Vec<&String> = used.iter().filter(|k| !ids.contains(*k)).collect();
        assert!(missing.is_empty(), "{lang} lacks {missing:?}");
        let unused: Vec<&String> = ids.iter().filter(|k| !used.contains(*k)).collect();
        assert!(unused.is_empty(), "{lang} has unused keys {unused:?}");
    }
    assert_eq!(message_ids(Lang::En), message_ids(Lang::ZhCn));
}

#[test]
fn the_catalogue_names_are_the_english_messages_and_chinese_differs() {
    let catalogue = Catalogue::default_catalogue(&IndicatorConfig::default());
    for d in &catalogue.indicators {
        assert_eq!(indicator_name(Lang::En, &d.id, "?"), d.name, "{}", d.id);
        let zh = indicator_name(Lang::ZhCn, &d.id, "?");
        assert!(
            zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{}: {zh}",
            d.id
        );
        assert_eq!(unit(Lang::En, &d.unit), d.unit, "unit of {}", d.id);
        assert!(
            UNIT_KEYS.iter().any(|(u, _)| *u == d.unit),
            "unit {} has no key",
            d.unit
        );
    }
    // An indicator a scene adds keeps its own name.
    assert_eq!(
        indicator_name(Lang::ZhCn, "x.libraries", "Libraries"),
        "Libraries"
    );
    assert_eq!(dimension_name(Lang::ZhCn, Dimension::Environment), "环境");
    assert_eq!(status_name(Lang::En, Status::NotApplicable), "not applicable");
    assert_eq!(status_name(Lang::ZhCn, Status::NotApplicable), "不适用");
}

#[test]
fn plurals_arguments_and_fallbacks() {
    let lines = |lang, n: usize| tr_args(lang, "briefing-lines-cut", &[("count", n.into())]);
    assert_eq!(
        lines(Lang::En, 1),
        "1 line of notes or indicators did not fit this page"
    );
    assert_eq!(
        lines(Lang::En, 3),
        "3 lines of notes or indicators did not fit this page"
    );
    assert_eq!(lines(Lang::ZhCn, 3), "有 3 行备注或指标未能排入本页");
    assert_eq!(
        tr_args(
            Lang::ZhCn,
            "briefing-data-time",
            &[("time", "2026年6月1日 08:00".into())]
        ),
        "数据时间：2026年6月1日 08:00"
    );
    assert_eq!(tr(Lang::ZhCn, "no-such-key"), "no-such-key");
}

#[test]
fn languages_parse_from_their_tags() {
    assert_eq!(Lang::parse("zh-CN"), Some(Lang::ZhCn));
    assert_eq!(Lang::parse("zh_cn"), Some(Lang::ZhCn));
    assert_eq!(Lang::parse("EN"), Some(Lang::En));
    assert_eq!(Lang::parse("fi"), None);
    assert!("fi".parse::<Lang>().unwrap_err().contains("en, zh-CN"));
    for l in Lang::ALL {
        assert_eq!(Lang::parse(l.code()), Some(l));
        let ron = ron::to_string(&l).unwrap();
        assert_eq!(ron::from_str::<Lang>(&ron).unwrap(), l);
    }
}

#[test]
fn numbers_and_dates_as_cldr_writes_them() {
    assert_eq!(format_number(Lang::En, 12_345.6, 1), "12,345.6");
    assert_eq!(format_number(Lang::ZhCn, 12_345.6, 1), "12,345.6");
    assert_eq!(format_number(Lang::En, -1_234_567.0, 0), "-1,234,567");
    assert_eq!(format_number(Lang::En, -0.001, 2), "0.00");
    assert_eq!(format_number(Lang::En, 999.0, 0), "999");
    assert_eq!(format_number(Lang::En, f64::NAN, 1), "–");
    assert_eq!(format_value(Lang::En, 9.5), "9.50");
    assert_eq!(format_value(Lang::En, 81.64), "81.6");
    assert_eq!(format_value(Lang::En, 12_345.6), "12,346");
    // 2026-12-05T18:28Z.
    let t = crate::twin::feeds::Timestamp(1_796_495_280_000);
    assert_eq!(format_date_time(Lang::En, t), "5 December 2026 18:28");
    assert_eq!(format_date_time(Lang::ZhCn, t), "2026年12月5日 18:28");
}

#[test]
fn alerts_stages_and_the_wall_clock_speak_chinese() {
    use crate::twin::feeds::Timestamp;
    use crate::twin::indicators::alerts::{Alert, AlertGroup, AlertKind, alert_scope, alert_text};
    use crate::twin::progress::{Progress, Stage};
    use crate::twin::wall::clock::local_date_time_in;

    let catalogue = Catalogue::default_catalogue(&IndicatorConfig::default());
    let def = &catalogue.indicators[0];
    let alert = Alert {
        id: 1,
        kind: AlertKind::Threshold,
        indicator: def.id.clone(),
        zone: None,
        scope: None,
        level: Status::Alarm,
        value: 41.3,
        threshold: 35.0,
        raised: Timestamp(0),
        by: None,
        evidence: "English record".into(),
        acknowledged: None,
        closed: None,
    };
    let en = alert_text(Lang::En, &alert, &catalogue);
    assert!(en.starts_with(&def.name), "{en}");
    assert!(en.contains("41.3") && en.contains("alarm threshold 35.0"), "{en}");
    let zh = alert_text(Lang::ZhCn, &alert, &catalogue);
    assert!(
        zh.contains("警报阈值") && zh.contains(&indicator_name(Lang::ZhCn, &def.id, "?")),
        "{zh}"
    );
    let forecast = Alert {
        kind: AlertKind::DecisionWindow,
        by: Some(Timestamp(1_796_495_280_000)),
        ..alert.clone()
    };
    let zh = alert_text(Lang::ZhCn, &forecast, &catalogue);
    assert!(
        zh.starts_with("预测") && zh.contains("2026年12月5日 18:28"),
        "{zh}"
    );

    let group = |zones: usize, alarms: usize| AlertGroup {
        alert: Alert {
            zone: Some("3 zones".into()),
            ..alert.clone()
        },
        members: vec![1, 2, 3],
        zones,
        worst: vec![("Z1".into(), 0.5), ("Z2".into(), 0.25)],
        alarms,
    };
    assert_eq!(
        alert_scope(Lang::En, &group(3, 1)),
        "3 zones, 1 in alarm (worst: Z1 0.500, Z2 0.250)"
    );
    assert_eq!(
        alert_scope(Lang::ZhCn, &group(3, 3)),
        "3 个区域（最差：Z1 0.500, Z2 0.250）"
    );
    assert_eq!(alert_scope(Lang::ZhCn, &group(0, 0)), "3 zones");
    let city = AlertGroup {
        alert: alert.clone(),
        ..group(0, 0)
    };
    assert_eq!(alert_scope(Lang::ZhCn, &city), "全市");

    let p = Progress::default();
    p.begin(Stage::Reading, 3);
    p.set_label("buildings");
    p.advance(1);
    assert_eq!(p.snapshot().text(), "reading layer buildings 1/3");
    assert_eq!(p.snapshot().text_in(Lang::ZhCn), "读取图层 buildings 1/3");

    // 2026-11-28T17:29:25Z was a Saturday.
    let t = Timestamp(1_795_886_965_000);
    let (date, time) = local_date_time_in(Lang::ZhCn, t, 0.0);
    assert_eq!(date, "2026年11月28日 星期六");
    assert_eq!(time, "17:29:25");
    assert_eq!(
        local_date_time_in(Lang::En, t, 0.0).0,
        "Saturday 28 November 2026"
    );
}

/// Whether `s` has a hanzi.
fn has_cjk(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// The words of three or more Latin letters in `s` other than `allowed`: English left in a
/// Chinese text.
fn latin_words<'a>(s: &'a str, allowed: &[&str]) -> Vec<&'a str> {
    s.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 3 && !allowed.contains(w))
        .collect()
}

/// One edit of every kind.
fn sample_edits() -> Vec<crate::twin::scenario::Edit> {
    use crate::twin::city::{BuildingId, RoadId, ZoneId};
    use crate::twin::scenario::{Edit, SolarTarget, TransitMode};
    let b = vec![BuildingId(1), BuildingId(2)];
    let r = vec![RoadId(3)];
    vec![
        Edit::AddBuilding {
            footprint: vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)],
            height_m: 18.0,
            usage: "office".into(),
            name: None,
        },
        Edit::SetHeight {
            buildings: b.clone(),
            height_m: 12.5,
        },
        Edit::SetUse {
            buildings: b.clone(),
            usage: "office".into(),
        },
        Edit::Demolish { buildings: b.clone() },
        Edit::ZoneStoreys {
            zone: ZoneId(23),
            storeys: 2,
            usage: Some("office".into()),
        },
        Edit::ZoneStoreys {
            zone: ZoneId(23),
            storeys: -3,
            usage: None,
        },
        Edit::ZoneUse {
            zone: ZoneId(4),
            from: "office".into(),
            to: "apartments".into(),
        },
        Edit::AddPark {
            polygon: Vec::new(),
            name: None,
        },
        Edit::AddPark {
            polygon: Vec::new(),
            name: Some("Pocket park".into()),
        },
        Edit::LotsToGreen { buildings: b.clone() },
        Edit::TransitStop {
            at: (0.0, 0.0),
            mode: TransitMode::Tram,
            name: None,
        },
        Edit::TransitLine {
            stops: vec![(0.0, 0.0), (1.0, 1.0), (2.0, 2.0)],
            mode: TransitMode::Bus,
            name: None,
        },
        Edit::CloseToCars { roads: r.clone() },
        Edit::BikeLane {
            roads: vec![RoadId(3), RoadId(4)],
        },
        Edit::SpeedLimit {
            roads: r.clone(),
            kmh: 30.0,
        },
        Edit::RooftopSolar {
            target: SolarTarget::Buildings(b),
            share: 0.5,
        },
        Edit::RooftopSolar {
            target: SolarTarget::Zone(ZoneId(20)),
            share: 0.5,
        },
    ]
}

#[test]
fn scenario_edits_are_described_in_chinese_and_english() {
    use crate::twin::scenario::model::edit_kind_name;
    for e in sample_edits() {
        // English: the summary files and JSON keep (plural forms aside, which it lacks
        // only for "+1 storeys").
        assert_eq!(e.describe(Lang::En), e.summary(), "{e:?}");
        let zh = e.describe(Lang::ZhCn);
        assert!(has_cjk(&zh), "{zh}");
        // Uses and names are the scene's own words; everything else is Chinese.
        let left = latin_words(&zh, &["office", "apartments", "Pocket", "park"]);
        assert!(left.is_empty(), "{zh}: {left:?}");
        let kind = edit_kind_name(Lang::ZhCn, e.kind());
        assert!(has_cjk(&kind) && latin_words(&kind, &[]).is_empty(), "{kind}");
    }
    let one = crate::twin::scenario::Edit::Demolish {
        buildings: vec![crate::twin::city::BuildingId(7)],
    };
    assert_eq!(one.describe(Lang::En), "demolish 1 building");
    assert_eq!(one.describe(Lang::ZhCn), "拆除 1 栋建筑");
}

#[test]
fn edit_refusals_are_described_in_chinese() {
    use crate::twin::scenario::apply::{DrawnShape, PolygonProblem};
    use crate::twin::scenario::{EditError, SkippedEdit};
    let errors = [
        EditError::MissingBuilding(9),
        EditError::MissingRoad(9),
        EditError::MissingZone(9),
        EditError::BadPolygon {
            what: DrawnShape::Footprint,
            problem: PolygonProblem::TooFewPoints(2),
        },
        EditError::BadPolygon {
            what: DrawnShape::Park,
            problem: PolygonProblem::SelfIntersection("exterior ring has a self-intersection".into()),
        },
        EditError::BadPolygon {
            what: DrawnShape::Park,
            problem: PolygonProblem::NoArea,
        },
        EditError::NoBuildings,
        EditError::NoRoads,
        EditError::EmptyZone { zone: 3, usage: None },
        EditError::EmptyZone {
            zone: 3,
            usage: Some("office".into()),
        },
        EditError::ZeroStoreys,
        EditError::LineTooShort,
        EditError::AlreadyCycleway(5),
        EditError::BadSpeed(-5.0),
        EditError::BadShare(1.5),
        EditError::BadHeight(2_000.0),
        EditError::NoUse,
        EditError::NotFinite(f64::NAN, 0.0),
    ];
    for e in &errors {
        let zh = e.describe(Lang::ZhCn);
        assert!(has_cjk(&zh), "{zh}");
        assert!(latin_words(&zh, &["office", "NaN"]).is_empty(), "{e:?}: {zh}");
        assert!(!e.describe(Lang::En).is_empty());
    }
    // The English display (logs, JSON) is kept where files and tests read it.
    assert_eq!(errors[0].to_string(), "building 9 does not exist");
    assert_eq!(errors[0].describe(Lang::En), "building 9 does not exist");
    let skipped = SkippedEdit {
        index: 2,
        kind: "demolish".into(),
        reason: errors[0].to_string(),
        error: errors[0].clone(),
    };
    assert_eq!(
        skipped.describe(Lang::En),
        "#3 demolish: building 9 does not exist"
    );
    assert_eq!(skipped.describe(Lang::ZhCn), "第 3 项（拆除）：建筑 9 不存在");
}

#[test]
fn the_data_time_line_speaks_chinese() {
    use crate::twin::briefing::values::data_time_text_in;
    // 2026-06-01T08:00Z.
    let t = crate::twin::feeds::Timestamp(1_780_300_800_000);
    assert_eq!(
        data_time_text_in(Lang::En, t, Some(2)),
        "2026-06-01 08:00:00 UTC (feeds from the history: 2 observations of the 24 h before)"
    );
    assert_eq!(
        data_time_text_in(Lang::ZhCn, t, Some(2)),
        "2026年6月1日 08:00 UTC（历史数据：此前 24 小时的 2 条观测）"
    );
    for obs in [None, Some(0), Some(1)] {
        let zh = data_time_text_in(Lang::ZhCn, t, obs);
        assert!(has_cjk(&zh) && latin_words(&zh, &["UTC"]).is_empty(), "{zh}");
        let en = data_time_text_in(Lang::En, t, obs);
        assert!(en.starts_with("2026-06-01 08:00:00 UTC ("), "{en}");
    }
    assert!(data_time_text_in(Lang::En, t, Some(1)).contains("1 observation of"));
}

#[test]
fn layer_kinds_formats_and_tour_errors_speak_chinese() {
    use crate::twin::gis::layer::{LayerFormat, LayerKind};
    use crate::twin::wall::tour::TourError;
    for k in [
        LayerKind::Buildings,
        LayerKind::Roads,
        LayerKind::Zones,
        LayerKind::Pois,
        LayerKind::Water,
        LayerKind::Green,
        LayerKind::Other,
    ] {
        let zh = layer_kind_name(Lang::ZhCn, k);
        assert!(has_cjk(&zh) && latin_words(&zh, &[]).is_empty(), "{zh}");
    }
    assert_eq!(layer_kind_name(Lang::En, LayerKind::Buildings), "buildings");
    assert_eq!(layer_format_name(Lang::En, LayerFormat::OsmPbf), "osm.pbf");
    assert_eq!(layer_format_name(Lang::ZhCn, LayerFormat::Generated), "自动生成");
    let summary = |lang| {
        tr_args(
            lang,
            "layers-summary",
            &[
                ("kind", layer_kind_name(lang, LayerKind::Buildings).into()),
                ("format", layer_format_name(lang, LayerFormat::OsmPbf).into()),
                ("count", 23_329usize.into()),
                ("features", format_number(lang, 23_329.0, 0).into()),
            ],
        )
    };
    assert_eq!(summary(Lang::En), "buildings · osm.pbf · 23,329 features");
    assert_eq!(summary(Lang::ZhCn), "建筑 · OSM PBF · 23,329 个要素");

    let errors = [
        TourError::MissingStop(4),
        TourError::NoCamera,
        TourError::NotPlaced("Harbour".into()),
        TourError::Unplaceable {
            name: "Harbour".into(),
            detail: "cannot project".into(),
        },
        TourError::UnknownIndicator {
            stop: "Harbour".into(),
            id: "env.x".into(),
        },
    ];
    for e in &errors {
        let zh = e.describe(Lang::ZhCn);
        // The bookmark's name, the indicator id and a placing's own detail stay as given.
        let left = latin_words(&zh, &["Harbour", "env", "cannot", "project"]);
        assert!(has_cjk(&zh) && left.is_empty(), "{zh}");
    }
    assert_eq!(errors[1].to_string(), "no camera to fly");
}
