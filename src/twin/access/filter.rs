//! Filtering a scene for a role BEFORE anything is read: layers and feeds whose
//! classification the role may not see are taken out of the scene, so their files are never
//! read, their features never reach the city model, the render world or the indicators,
//! and their feeds are never started. What was withheld is kept by name (with owner and
//! classification, never data) for the data catalogue ("2 layers withheld").

use std::path::Path;

use serde::Serialize;

use crate::twin::access::AccessError;
use crate::twin::access::roles::Role;
use crate::twin::feeds::spec::FeedSpec;
use crate::twin::gis::layer::{Classification, LayerKind, LayerMeta};
use crate::twin::load::{LoadedScene, load_layers_with};
use crate::twin::progress::Progress;
use crate::twin::scene::Scene;

/// Classification of a feed whose spec gives none: the same default as a layer's.
pub const FEED_DEFAULT_CLASSIFICATION: Classification = Classification::Public;

/// The classification a feed is treated as having.
pub fn feed_classification(spec: &FeedSpec) -> Classification {
    spec.classification.unwrap_or(FEED_DEFAULT_CLASSIFICATION)
}

/// A layer or feed withheld from a role: its catalogue entry, never its data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WithheldItem {
    /// Layer or feed name.
    pub name: String,
    /// What the layer holds; `None` for a feed.
    pub kind: Option<LayerKind>,
    /// Catalogue metadata (title, owner, licence, attribution, classification). For a
    /// feed, only the classification is known.
    pub meta: LayerMeta,
    /// For a feed, the metrics it may deliver (for the indicators it withholds).
    pub metrics: Vec<crate::twin::feeds::Metric>,
}

/// What a role was not given.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Withheld {
    /// Withheld layers, in scene order.
    pub layers: Vec<WithheldItem>,
    /// Withheld feeds, in scene order.
    pub feeds: Vec<WithheldItem>,
}

impl Withheld {
    /// Whether nothing was withheld.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty() && self.feeds.is_empty()
    }

    /// Names of the withheld layers.
    pub fn layer_names(&self) -> Vec<&str> {
        self.layers.iter().map(|w| w.name.as_str()).collect()
    }

    /// Whether a layer of `kind` was withheld.
    pub fn has_layer_kind(&self, kind: LayerKind) -> bool {
        self.layers.iter().any(|w| w.kind == Some(kind))
    }

    /// One line for the catalogue and logs, e.g. "2 layers and 1 feed withheld for role
    /// 'public'"; `None` when nothing was.
    pub fn summary(&self, role: &str) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        let parts: Vec<String> = [(self.layers.len(), "layer"), (self.feeds.len(), "feed")]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, w)| plural(n, w))
            .collect();
        Some(format!("{} withheld for role '{role}'", parts.join(" and ")))
    }
}

/// The scene as `role` may have it, and what was taken out. Nothing is read here.
pub fn filter_scene(scene: &Scene, role: &Role) -> (Scene, Withheld) {
    let mut out = scene.clone();
    let mut withheld = Withheld::default();
    out.layers.retain(|l| {
        let keep = role.may_see(l.meta.classification);
        if !keep {
            withheld.layers.push(WithheldItem {
                name: l.name.clone(),
                kind: Some(l.kind),
                meta: l.meta.clone(),
                metrics: Vec::new(),
            });
        }
        keep
    });
    out.feeds.retain(|f| {
        let c = feed_classification(f);
        let keep = role.may_see(c);
        if !keep {
            withheld.feeds.push(WithheldItem {
                name: f.name.clone(),
                kind: None,
                meta: LayerMeta {
                    title: f.name.clone(),
                    classification: c,
                    ..LayerMeta::default()
                },
                metrics: crate::twin::access::indicators::feed_metrics(f),
            });
        }
        keep
    });
    (out, withheld)
}

/// A scene loaded as a role: only what the role may see, the role, and what was withheld.
#[derive(Debug, Clone)]
pub struct ScopedScene {
    /// The loaded scene; its `scene` is the filtered one (withheld layers and feeds absent).
    pub loaded: LoadedScene,
    /// The role it was loaded as.
    pub role: Role,
    /// What the role was not given.
    pub withheld: Withheld,
}

/// Loads a scene file as a role (`None`: the scene's default role): reads the scene,
/// resolves the role, filters, then reads only the layers the role may see.
pub fn load_scene_as(
    path: &Path,
    role: Option<&str>,
    progress: &Progress,
) -> Result<ScopedScene, AccessError> {
    let scene = Scene::load(path)?;
    let role = scene.roles.role(role)?;
    load_filtered(scene, path, role, progress)
}

/// [`load_scene_as`] for a scene already parsed (e.g. a test variant); `path` is where
/// relative layer paths are resolved from and what errors name.
pub fn load_filtered(
    scene: Scene,
    path: &Path,
    role: Role,
    progress: &Progress,
) -> Result<ScopedScene, AccessError> {
    let (scene, withheld) = filter_scene(&scene, &role);
    let base = path.parent().unwrap_or(Path::new("."));
    let (city, report) =
        load_layers_with(&scene, base, progress).map_err(|message| crate::twin::scene::SceneError::Load {
            path: path.to_path_buf(),
            message,
        })?;
    Ok(ScopedScene {
        loaded: LoadedScene {
            scene,
            path: path.to_path_buf(),
            city,
            report,
        },
        role,
        withheld,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::access::AccessSpec;

    const SCENE: &str = r#"(
        name: "t",
        crs: Some("EPSG:3067"),
        layers: [
            (name: "b", path: "b.geojson", kind: buildings),
            (name: "w", path: "w.geojson", kind: water, meta: (owner: "Water Utility", classification: restricted)),
            (name: "r", path: "r.geojson", kind: roads, meta: (classification: internal)),
        ],
        feeds: [
            (name: "sim", kind: simulator((seed: 1))),
            (name: "ops", kind: simulator((seed: 2)), classification: Some(internal)),
        ],
    )"#;

    fn scene() -> Scene {
        Scene::parse(SCENE, Path::new("t.ron")).unwrap()
    }

    #[test]
    fn public_gets_only_public_layers_and_feeds() {
        let public = AccessSpec::default().role(Some("public")).unwrap();
        let (s, w) = filter_scene(&scene(), &public);
        assert_eq!(
            s.layers.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
            ["b"]
        );
        assert_eq!(
            s.feeds.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            ["sim"]
        );
        assert_eq!(w.layer_names(), ["w", "r"]);
        assert_eq!(w.layers[0].meta.owner, "Water Utility");
        assert_eq!(w.feeds[0].name, "ops");
        assert!(w.has_layer_kind(LayerKind::Water) && !w.has_layer_kind(LayerKind::Buildings));
        assert_eq!(
            w.summary("public").unwrap(),
            "2 layers and 1 feed withheld for role 'public'"
        );
    }

    #[test]
    fn staff_and_planner_get_more() {
        let spec = AccessSpec::default();
        let (s, w) = filter_scene(&scene(), &spec.role(Some("staff")).unwrap());
        assert_eq!(s.layers.len(), 2);
        assert_eq!(w.layer_names(), ["w"]);
        assert!(w.feeds.is_empty());
        assert_eq!(w.summary("staff").unwrap(), "1 layer withheld for role 'staff'");
        let (s, w) = filter_scene(&scene(), &spec.role(Some("planner")).unwrap());
        assert_eq!(s, scene());
        assert!(w.is_empty() && w.summary("planner").is_none());
    }

    #[test]
    fn withheld_layers_are_never_read() {
        // The restricted layer's file does not exist: loading as public must not try it,
        // as planner it must fail (and be reported as that layer's error).
        let dir = std::env::temp_dir().join(format!("citytwin-access-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let square = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},
            "geometry":{"type":"Polygon","coordinates":[[[24.9,60.1],[24.9001,60.1],[24.9001,60.1001],[24.9,60.1001],[24.9,60.1]]]}}]}"#;
        std::fs::write(dir.join("b.geojson"), square).unwrap();
        let text = r#"(name: "t", crs: Some("EPSG:3067"), layers: [
            (name: "b", path: "b.geojson", kind: buildings),
            (name: "secret", path: "missing.geojson", kind: water, meta: (classification: restricted)),
        ])"#;
        let path = dir.join("t.ron");
        std::fs::write(&path, text).unwrap();
        let public = load_scene_as(&path, Some("public"), &Progress::default()).unwrap();
        assert_eq!(public.loaded.city.layers.len(), 1);
        assert!(public.loaded.report.layers.iter().all(|l| l.error.is_none()));
        assert_eq!(public.loaded.city.buildings.len(), 1);
        assert_eq!(public.withheld.layer_names(), ["secret"]);
        let planner = load_scene_as(&path, Some("planner"), &Progress::default()).unwrap();
        assert_eq!(planner.loaded.city.layers.len(), 2);
        assert!(planner.loaded.report.layers[1].error.is_some());
        assert!(matches!(
            load_scene_as(&path, Some("nobody"), &Progress::default()),
            Err(AccessError::UnknownRole { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
