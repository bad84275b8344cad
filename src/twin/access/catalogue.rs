//! The data catalogue: every layer and feed of a scene with owner, licence, attribution,
//! classification and freshness; what a role was not given is listed as withheld, by name
//! and owner only, without any of its data.

use std::time::SystemTime;

use serde::Serialize;

use crate::twin::access::filter::{ScopedScene, feed_classification};
use crate::twin::access::roles::classification_name;
use crate::twin::gis::layer::{Classification, LayerKind};

/// One row of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogueRow {
    /// Layer or feed name.
    pub name: String,
    /// Layer kind; `None` for a feed.
    pub kind: Option<LayerKind>,
    /// Title (the name when the scene gives none).
    pub title: String,
    /// Owning department.
    pub owner: String,
    /// Licence.
    pub licence: String,
    /// Attribution required.
    pub attribution: String,
    /// Classification.
    pub classification: Classification,
    /// Whether it was withheld from the role.
    pub withheld: bool,
    /// Features loaded (layers that were loaded).
    pub features: Option<usize>,
    /// Modification time of the layer's source file, seconds since 1970 (layers that were
    /// loaded; a feed's freshness is its live health).
    pub source_modified_s: Option<u64>,
    /// Why the layer failed to load, if it did.
    pub error: Option<String>,
}

impl CatalogueRow {
    /// Lowercase classification name.
    pub fn classification_name(&self) -> &'static str {
        classification_name(self.classification)
    }

    /// Whether the row is a feed.
    pub fn is_feed(&self) -> bool {
        self.kind.is_none()
    }
}

/// Every layer and feed of a scoped scene: loaded layers, then loaded feeds, then what was
/// withheld (layers, then feeds).
pub fn catalogue_rows(scoped: &ScopedScene) -> Vec<CatalogueRow> {
    let title_or = |t: &str, name: &str| {
        if t.trim().is_empty() {
            name.to_string()
        } else {
            t.to_string()
        }
    };
    let mut rows: Vec<CatalogueRow> = scoped
        .loaded
        .city
        .layers
        .iter()
        .map(|l| {
            let m = &l.catalogue.meta;
            CatalogueRow {
                name: l.name.clone(),
                kind: Some(l.kind),
                title: title_or(&m.title, &l.name),
                owner: m.owner.clone(),
                licence: m.licence.clone(),
                attribution: m.attribution.clone(),
                classification: m.classification,
                withheld: false,
                features: Some(l.feature_count),
                source_modified_s: l
                    .catalogue
                    .source_modified
                    .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                    .map(|d| d.as_secs()),
                error: l.error.clone(),
            }
        })
        .collect();
    rows.extend(scoped.loaded.scene.feeds.iter().map(|f| CatalogueRow {
        name: f.name.clone(),
        kind: None,
        title: f.name.clone(),
        owner: String::new(),
        licence: String::new(),
        attribution: String::new(),
        classification: feed_classification(f),
        withheld: false,
        features: None,
        source_modified_s: None,
        error: None,
    }));
    rows.extend(
        scoped
            .withheld
            .layers
            .iter()
            .chain(&scoped.withheld.feeds)
            .map(|w| CatalogueRow {
                name: w.name.clone(),
                kind: w.kind,
                title: title_or(&w.meta.title, &w.name),
                owner: w.meta.owner.clone(),
                licence: w.meta.licence.clone(),
                attribution: w.meta.attribution.clone(),
                classification: w.meta.classification,
                withheld: true,
                features: None,
                source_modified_s: None,
                error: None,
            }),
    );
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::access::AccessSpec;
    use crate::twin::access::filter::{Withheld, filter_scene};
    use crate::twin::city::CityModel;
    use crate::twin::crs::{Crs, SceneOrigin};
    use crate::twin::load::{LoadReport, LoadedScene};
    use crate::twin::scene::Scene;

    #[test]
    fn withheld_rows_carry_no_data() {
        let scene = Scene::parse(
            r#"(name: "t", layers: [
                (name: "w", path: "w.geojson", kind: water,
                 meta: (title: "Mains", owner: "Water Utility", classification: restricted)),
            ], feeds: [(name: "sim", kind: simulator((seed: 1)))])"#,
            std::path::Path::new("t.ron"),
        )
        .unwrap();
        let role = AccessSpec::default().role(Some("public")).unwrap();
        let (filtered, withheld) = filter_scene(&scene, &role);
        let scoped = ScopedScene {
            loaded: LoadedScene {
                scene: filtered,
                path: "t.ron".into(),
                city: CityModel::empty("t", Crs::Epsg(3067), SceneOrigin::default()),
                report: LoadReport {
                    layers: vec![],
                    scene_crs: Crs::Epsg(3067),
                    total_s: 0.0,
                    zones_dropped: 0,
                },
            },
            role,
            withheld,
        };
        let rows = catalogue_rows(&scoped);
        assert_eq!(rows.len(), 2);
        assert!(rows[0].is_feed() && !rows[0].withheld && rows[0].classification_name() == "public");
        let w = &rows[1];
        assert!(w.withheld && w.features.is_none() && w.source_modified_s.is_none());
        assert_eq!((w.title.as_str(), w.owner.as_str()), ("Mains", "Water Utility"));
        assert_eq!(w.classification_name(), "restricted");
        assert_ne!(scoped.withheld, Withheld::default());
    }
}
