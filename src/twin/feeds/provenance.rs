//! Where observation-derived values come from: each feed's kind (live, replay, simulated)
//! and the set of kinds behind a value, so that every figure built from a simulator or a
//! replay can say so wherever it is shown.

use std::collections::HashMap;

use serde::{Serialize, Serializer};

use crate::twin::feeds::observation::{Observation, SourceId};
use crate::twin::feeds::spec::{FeedKind, FeedSpec};

/// The kind of a feed, as far as the trust in its values goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Measured now (an MQTT subscription).
    Live,
    /// Recorded earlier and played back.
    Replay,
    /// Made up by the built-in simulator: not a measurement.
    Simulated,
    /// From a source the scene does not name (e.g. history of a feed since removed).
    Unknown,
}

impl SourceKind {
    /// Every kind, in a fixed order.
    pub const ALL: [SourceKind; 4] = [
        SourceKind::Live,
        SourceKind::Replay,
        SourceKind::Simulated,
        SourceKind::Unknown,
    ];

    /// The id as in JSON ("live", "replay", "simulated", "unknown").
    pub fn id(self) -> &'static str {
        match self {
            SourceKind::Live => "live",
            SourceKind::Replay => "replay",
            SourceKind::Simulated => "simulated",
            SourceKind::Unknown => "unknown",
        }
    }

    /// The kind of a feed of the scene.
    pub fn of(kind: &FeedKind) -> SourceKind {
        match kind {
            FeedKind::Simulator(_) => SourceKind::Simulated,
            FeedKind::Replay(_) => SourceKind::Replay,
            FeedKind::Mqtt(_) => SourceKind::Live,
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of [`SourceKind`]s: the kinds of the observations behind one value. Empty for a
/// value computed from the city model alone. Serialises as a list of ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SourceKinds(u8);

impl SourceKinds {
    /// No feed behind the value.
    pub const NONE: SourceKinds = SourceKinds(0);

    /// The set holding one kind.
    pub fn only(kind: SourceKind) -> SourceKinds {
        SourceKinds(kind.bit())
    }

    /// Adds a kind.
    pub fn insert(&mut self, kind: SourceKind) {
        self.0 |= kind.bit();
    }

    /// The union of two sets.
    pub fn union(self, other: SourceKinds) -> SourceKinds {
        SourceKinds(self.0 | other.0)
    }

    /// Whether the set holds a kind.
    pub fn contains(self, kind: SourceKind) -> bool {
        self.0 & kind.bit() != 0
    }

    /// Whether no feed is behind the value.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether any value behind it is not a live measurement (simulated, replayed or of
    /// unknown origin): what the views mark.
    pub fn is_not_live(self) -> bool {
        self.0 & !SourceKind::Live.bit() != 0
    }

    /// Whether any value behind it is simulated.
    pub fn is_simulated(self) -> bool {
        self.contains(SourceKind::Simulated)
    }

    /// The kinds in the set, in [`SourceKind::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = SourceKind> {
        SourceKind::ALL.into_iter().filter(move |k| self.contains(*k))
    }

    /// The mark a view puts beside a value: "SIMULATED", "REPLAY", "SIMULATED + REPLAY",
    /// ...; `None` for live-only or feed-less values.
    pub fn badge(self) -> Option<String> {
        if !self.is_not_live() {
            return None;
        }
        let words: Vec<String> = self
            .iter()
            .filter(|k| *k != SourceKind::Live)
            .map(|k| k.id().to_uppercase())
            .collect();
        Some(words.join(" + "))
    }

    /// The ids in the set, in order.
    pub fn ids(self) -> Vec<&'static str> {
        self.iter().map(SourceKind::id).collect()
    }
}

impl Serialize for SourceKinds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.ids())
    }
}

/// The kind of every feed of a scene, by feed name (= observation source).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceKindMap(HashMap<SourceId, SourceKind>);

impl SourceKindMap {
    /// The kinds of a scene's feeds.
    pub fn from_specs(feeds: &[FeedSpec]) -> SourceKindMap {
        SourceKindMap(
            feeds
                .iter()
                .map(|f| (SourceId(f.name.clone()), SourceKind::of(&f.kind)))
                .collect(),
        )
    }

    /// Sets the kind of one source (a source made outside the scene's feeds).
    pub fn insert(&mut self, source: SourceId, kind: SourceKind) {
        self.0.insert(source, kind);
    }

    /// The kind of a source; [`SourceKind::Unknown`] for one the scene does not name.
    pub fn kind(&self, source: &SourceId) -> SourceKind {
        self.0.get(source).copied().unwrap_or(SourceKind::Unknown)
    }

    /// The kinds behind a set of observations.
    pub fn kinds_of<'a>(&self, obs: impl IntoIterator<Item = &'a Observation>) -> SourceKinds {
        let mut k = SourceKinds::NONE;
        for o in obs {
            k.insert(self.kind(&o.source));
        }
        k
    }

    /// Feed names and their kinds, sorted by name.
    pub fn feeds(&self) -> Vec<(String, SourceKind)> {
        let mut v: Vec<(String, SourceKind)> = self.0.iter().map(|(s, k)| (s.0.clone(), *k)).collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::feeds::observation::{Metric, Subject, Timestamp};

    fn spec(text: &str) -> FeedSpec {
        ron::from_str(text).unwrap()
    }

    #[test]
    fn kinds_follow_the_feed_specs_and_unknown_sources_say_so() {
        let feeds = vec![
            spec("(name: \"sim\", kind: simulator((seed: 1)))"),
            spec("(name: \"rec\", kind: replay((path: \"a.jsonl\", format: jsonl)))"),
            spec(
                "(name: \"air\", kind: mqtt((host: \"localhost\", topics: [\"a/#\"], \
                 payload: native)))",
            ),
        ];
        let map = SourceKindMap::from_specs(&feeds);
        assert_eq!(map.kind(&SourceId("sim".into())), SourceKind::Simulated);
        assert_eq!(map.kind(&SourceId("rec".into())), SourceKind::Replay);
        assert_eq!(map.kind(&SourceId("air".into())), SourceKind::Live);
        assert_eq!(map.kind(&SourceId("gone".into())), SourceKind::Unknown);
        let o = |s: &str| {
            Observation::new(
                &SourceId(s.into()),
                Subject::City,
                Metric::Pm25,
                1.0,
                Timestamp(0),
            )
        };
        let obs = [o("air"), o("sim")];
        let k = map.kinds_of(&obs);
        assert!(k.is_simulated() && k.contains(SourceKind::Live) && !k.contains(SourceKind::Replay));
        assert_eq!(k.badge().as_deref(), Some("SIMULATED"));
        assert_eq!(serde_json::to_string(&k).unwrap(), r#"["live","simulated"]"#);
        let live = map.kinds_of(&[o("air")]);
        assert!(!live.is_not_live());
        assert_eq!(live.badge(), None);
        assert_eq!(SourceKinds::NONE.badge(), None);
        assert_eq!(
            map.kinds_of(&[o("rec"), o("gone")]).badge().as_deref(),
            Some("REPLAY + UNKNOWN")
        );
    }
}
