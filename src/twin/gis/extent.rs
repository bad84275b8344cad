//! The scene extent applied to a layer already read: features whose bounding box does not
//! meet the extent (a WGS84 box, put into the layer's CRS) are left out of the layer.

use geo::BoundingRect;

use crate::twin::crs::{Crs, CrsError, Transformer, WGS84};
use crate::twin::gis::layer::Layer;

/// A WGS84 box `[min_lon, min_lat, max_lon, max_lat]` as a box in `crs` (its edges
/// sampled, so the box holds the whole extent).
pub fn in_crs(extent_wgs84: [f64; 4], crs: &Crs) -> Result<[f64; 4], CrsError> {
    let t = Transformer::for_extent(&WGS84, crs, Some(extent_wgs84))?;
    t.bbox(extent_wgs84).ok_or_else(|| CrsError::Create {
        from: WGS84.label(),
        to: crs.label(),
        cause: format!("the extent {extent_wgs84:?} has no point in this CRS"),
    })
}

/// `true` when two boxes `[min_x, min_y, max_x, max_y]` meet.
pub fn meets(a: [f64; 4], b: [f64; 4]) -> bool {
    a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3]
}

/// Keeps the features of `layer` (in its own CRS) whose bounding box meets the WGS84
/// `extent`; returns how many were left out.
pub fn retain_within(layer: &mut Layer, extent_wgs84: [f64; 4]) -> Result<usize, CrsError> {
    let window = in_crs(extent_wgs84, &layer.crs)?;
    let before = layer.features.len();
    layer.features.retain(|f| {
        f.geometry
            .bounding_rect()
            .is_some_and(|r| meets(window, [r.min().x, r.min().y, r.max().x, r.max().y]))
    });
    Ok(before - layer.features.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::gis::layer::{Feature, LayerFormat, LayerKind, SkipReport};
    use geo_types::{Geometry, Point};

    #[test]
    fn features_outside_the_extent_are_left_out_in_the_layers_crs() {
        // Points around Helsinki in ETRS-TM35FIN.
        let mut l = Layer {
            name: "p".into(),
            format: LayerFormat::Generated,
            kind: LayerKind::Pois,
            crs: Crs::Epsg(3067),
            features: [(385_800.0, 6_672_000.0), (500_000.0, 6_900_000.0)]
                .iter()
                .enumerate()
                .map(|(i, &(x, y))| Feature {
                    source_id: i as i64,
                    geometry: Geometry::Point(Point::new(x, y)),
                    attributes: Default::default(),
                })
                .collect(),
            skipped: SkipReport::default(),
            catalogue: Default::default(),
        };
        assert_eq!(retain_within(&mut l, [24.8, 60.1, 25.1, 60.3]).unwrap(), 1);
        assert_eq!(l.features.len(), 1);
        assert_eq!(l.features[0].source_id, 0);
        assert!(meets([0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 2.0, 2.0]));
        assert!(!meets([0.0, 0.0, 1.0, 1.0], [1.5, 0.0, 2.0, 2.0]));
    }
}
