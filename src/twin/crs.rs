//! Coordinate reference systems: naming a CRS, batched PROJ transforms of whole layers,
//! the default UTM scene CRS, and the scene origin that keeps render coordinates small.

use std::fmt;

use geo_types::Coord;
use proj::Proj;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::twin::gis::layer::{Layer, for_each_coord, for_each_coord_mut};

/// WGS84 geographic coordinates (lon, lat order after PROJ's normalisation).
pub const WGS84: Crs = Crs::Epsg(4326);

/// Layers with more coordinates than this are transformed on several threads, one PROJ
/// object per thread. Setting up a PROJ transformation (≈ 40 ms) costs about as much as
/// converting 100,000 points, so smaller layers stay on one thread.
const PARALLEL_TRANSFORM_MIN_COORDS: usize = 100_000;

/// A coordinate reference system: an EPSG code or a WKT text (e.g. from a .prj file).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Crs {
    /// `EPSG:n`.
    Epsg(u32),
    /// A WKT definition (OGC or ESRI flavour).
    Wkt(String),
}

impl Crs {
    /// Parses `EPSG:2154` (any case) or a bare number; anything else is taken as WKT/PROJ text.
    pub fn parse(s: &str) -> Crs {
        let t = s.trim();
        let code = t
            .strip_prefix("EPSG:")
            .or_else(|| t.strip_prefix("epsg:"))
            .unwrap_or(t);
        match code.parse::<u32>() {
            Ok(n) => Crs::Epsg(n),
            Err(_) => Crs::Wkt(t.to_string()),
        }
    }

    /// The definition string handed to PROJ.
    pub fn definition(&self) -> String {
        match self {
            Crs::Epsg(n) => format!("EPSG:{n}"),
            Crs::Wkt(w) => w.clone(),
        }
    }

    /// A short label for reports: `EPSG:n`, or the name in a WKT's first quotes.
    pub fn label(&self) -> String {
        match self {
            Crs::Epsg(n) => format!("EPSG:{n}"),
            Crs::Wkt(w) => w
                .split('"')
                .nth(1)
                .map(str::to_string)
                .unwrap_or_else(|| w.chars().take(40).collect()),
        }
    }

    /// The EPSG code of the UTM zone (WGS84) that contains a lon/lat point.
    pub fn utm_for(lon: f64, lat: f64) -> Crs {
        let zone = (((lon + 180.0) / 6.0).floor() as i64).clamp(0, 59) as u32 + 1;
        Crs::Epsg(if lat >= 0.0 { 32600 + zone } else { 32700 + zone })
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// Errors of CRS handling.
#[derive(Debug, Error)]
pub enum CrsError {
    /// PROJ could not build a transformation between the two CRSs.
    #[error("PROJ cannot transform from {from} to {to}: {cause}")]
    Create {
        /// Source CRS label.
        from: String,
        /// Target CRS label.
        to: String,
        /// PROJ's message.
        cause: String,
    },
}

/// A PROJ transformation from one CRS to another, built once and applied to whole batches.
pub struct Transformer {
    from: Crs,
    to: Crs,
    proj: Option<Proj>,
}

impl Transformer {
    /// Builds the transformation (identity when both CRSs are the same).
    pub fn new(from: &Crs, to: &Crs) -> Result<Transformer, CrsError> {
        let proj = if from == to {
            None
        } else {
            // The same CRS written two ways (a .prj WKT and its EPSG code): PROJ builds a
            // no-op pipeline, which is skipped rather than run point by point.
            Some(make_proj(from, to)?).filter(|p| !p.def().is_ok_and(|d| d.contains("proj=noop")))
        };
        Ok(Transformer {
            from: from.clone(),
            to: to.clone(),
            proj,
        })
    }

    /// True when nothing needs to be done.
    pub fn is_identity(&self) -> bool {
        self.proj.is_none()
    }

    /// Transforms one point; `None` when PROJ fails or returns a non-finite value.
    pub fn point(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        match &self.proj {
            None => Some((x, y)),
            Some(p) => p
                .convert((x, y))
                .ok()
                .filter(|(a, b)| a.is_finite() && b.is_finite()),
        }
    }

    /// Transforms a batch of coordinates in place. Points PROJ cannot transform become NaN.
    pub fn batch(&self, coords: &mut [Coord<f64>]) {
        let Some(proj) = &self.proj else { return };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        if coords.len() < PARALLEL_TRANSFORM_MIN_COORDS || threads < 2 {
            convert_or_nan(proj, coords);
            return;
        }
        // Proj is neither Send nor Sync: this thread converts the first chunk with the
        // transformer's own PROJ object; each other thread builds one for its chunk (once per
        // chunk, never per point), so a layer costs one PROJ set-up per extra core.
        let chunk = coords.len().div_ceil(threads);
        let (first, rest) = coords.split_at_mut(chunk);
        let (from, to) = (&self.from, &self.to);
        std::thread::scope(|s| {
            for part in rest.chunks_mut(chunk) {
                s.spawn(move || match make_proj(from, to) {
                    Ok(p) => convert_or_nan(&p, part),
                    Err(_) => part.iter_mut().for_each(|c| *c = nan_coord()),
                });
            }
            convert_or_nan(proj, first);
        });
    }

    /// Transforms every feature of a layer into the target CRS, in one batch. Features with
    /// a coordinate PROJ cannot transform are skipped and counted.
    pub fn layer(&self, layer: &mut Layer) {
        if !self.is_identity() {
            let mut coords = Vec::new();
            for f in &layer.features {
                for_each_coord(&f.geometry, &mut |c| coords.push(c));
            }
            self.batch(&mut coords);
            let mut i = 0;
            let mut bad = vec![false; layer.features.len()];
            for (fi, f) in layer.features.iter_mut().enumerate() {
                for_each_coord_mut(&mut f.geometry, &mut |c| {
                    *c = coords[i];
                    if !(c.x.is_finite() && c.y.is_finite()) {
                        bad[fi] = true;
                    }
                    i += 1;
                });
            }
            let mut idx = 0;
            let skipped = &mut layer.skipped;
            layer.features.retain(|_| {
                let keep = !bad[idx];
                if !keep {
                    skipped.skip("coordinates outside the CRS transformation's domain");
                }
                idx += 1;
                keep
            });
        }
        layer.crs = self.to.clone();
    }

    /// Transforms a bounding box `[min_x, min_y, max_x, max_y]` by sampling its edges.
    pub fn bbox(&self, b: [f64; 4]) -> Option<[f64; 4]> {
        const STEPS: usize = 8;
        let mut out: Option<[f64; 4]> = None;
        for i in 0..=STEPS {
            let t = i as f64 / STEPS as f64;
            let xs = b[0] + (b[2] - b[0]) * t;
            let ys = b[1] + (b[3] - b[1]) * t;
            for (x, y) in [(xs, b[1]), (xs, b[3]), (b[0], ys), (b[2], ys)] {
                if let Some((px, py)) = self.point(x, y) {
                    out = Some(match out {
                        None => [px, py, px, py],
                        Some(o) => [o[0].min(px), o[1].min(py), o[2].max(px), o[3].max(py)],
                    });
                }
            }
        }
        out
    }
}

fn nan_coord() -> Coord<f64> {
    Coord {
        x: f64::NAN,
        y: f64::NAN,
    }
}

fn make_proj(from: &Crs, to: &Crs) -> Result<Proj, CrsError> {
    Proj::new_known_crs(&from.definition(), &to.definition(), None).map_err(|e| CrsError::Create {
        from: from.label(),
        to: to.label(),
        cause: e.to_string(),
    })
}

/// Converts a batch; when PROJ rejects the batch, falls back to point by point so that
/// only the failing points become NaN.
fn convert_or_nan(proj: &Proj, coords: &mut [Coord<f64>]) {
    let mut tuples: Vec<(f64, f64)> = coords.iter().map(|c| (c.x, c.y)).collect();
    if proj.convert_array(&mut tuples).is_ok() {
        for (c, t) in coords.iter_mut().zip(&tuples) {
            *c = Coord { x: t.0, y: t.1 };
        }
    } else {
        for c in coords.iter_mut() {
            *c = match proj.convert((c.x, c.y)) {
                Ok((x, y)) if x.is_finite() && y.is_finite() => Coord { x, y },
                _ => nan_coord(),
            };
        }
    }
}

/// The scene origin in the scene CRS: subtracted from f64 coordinates before they become
/// f32 render coordinates, so that those stay small and free of jitter.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct SceneOrigin {
    /// Easting of the origin.
    pub x: f64,
    /// Northing of the origin.
    pub y: f64,
}

impl SceneOrigin {
    /// The origin at the centre of a bbox, rounded to whole metres.
    pub fn centre_of(b: [f64; 4]) -> SceneOrigin {
        SceneOrigin {
            x: ((b[0] + b[2]) / 2.0).round(),
            y: ((b[1] + b[3]) / 2.0).round(),
        }
    }

    /// A scene-CRS coordinate as a small f32 offset from the origin.
    pub fn local(&self, c: Coord<f64>) -> [f32; 2] {
        [(c.x - self.x) as f32, (c.y - self.y) as f32]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_crs_names() {
        assert_eq!(Crs::parse("EPSG:3067"), Crs::Epsg(3067));
        assert_eq!(Crs::parse("epsg:2154"), Crs::Epsg(2154));
        assert_eq!(Crs::parse("4326"), Crs::Epsg(4326));
        assert!(matches!(Crs::parse("PROJCS[\"x\"]"), Crs::Wkt(_)));
        assert_eq!(Crs::parse("PROJCS[\"RGF93\",...]").label(), "RGF93");
    }

    #[test]
    fn utm_zones() {
        assert_eq!(Crs::utm_for(24.94, 60.17), Crs::Epsg(32635)); // Helsinki
        assert_eq!(Crs::utm_for(7.42, 43.73), Crs::Epsg(32632)); // Monaco
        assert_eq!(Crs::utm_for(-74.0, 40.7), Crs::Epsg(32618)); // New York
        assert_eq!(Crs::utm_for(151.2, -33.9), Crs::Epsg(32756)); // Sydney
    }

    #[test]
    fn transforms_lambert93_to_wgs84() {
        // Monaco's Prince's Palace, known WGS84 ≈ (7.4200, 43.7314).
        let t = Transformer::new(&Crs::Epsg(4326), &Crs::Epsg(2154)).unwrap();
        let (x, y) = t.point(7.42, 43.7314).unwrap();
        let back = Transformer::new(&Crs::Epsg(2154), &WGS84).unwrap();
        let (lon, lat) = back.point(x, y).unwrap();
        assert!((lon - 7.42).abs() < 1e-7 && (lat - 43.7314).abs() < 1e-7);
        assert!(x > 1_000_000.0 && y > 6_000_000.0, "Lambert-93 metres: {x} {y}");
    }

    #[test]
    fn us_feet_are_handled_by_proj() {
        // 1 km east in UTM 18N is 3280.83 US survey feet in NY Long Island state plane.
        let t = Transformer::new(&Crs::Epsg(32618), &Crs::Epsg(2263)).unwrap();
        let (x0, y0) = t.point(584_000.0, 4_510_000.0).unwrap();
        let (x1, y1) = t.point(585_000.0, 4_510_000.0).unwrap();
        let d = ((x1 - x0).powi(2) + (y1 - y0).powi(2)).sqrt();
        // Scale factors of the two projections differ slightly; feet dominate.
        assert!((d - 3280.83).abs() < 3.0, "distance in feet {d}");
    }

    #[test]
    fn the_same_crs_written_as_wkt_is_the_identity() {
        let wkt = crate::twin::gis::shapefile::esri_wkt(&Crs::Epsg(3067)).unwrap();
        assert!(
            Transformer::new(&Crs::Wkt(wkt), &Crs::Epsg(3067))
                .unwrap()
                .is_identity()
        );
        assert!(
            !Transformer::new(&Crs::Epsg(3067), &Crs::Epsg(32635))
                .unwrap()
                .is_identity()
        );
    }

    #[test]
    fn parallel_batches_match_point_by_point() {
        let t = Transformer::new(&Crs::Epsg(2154), &Crs::Epsg(32632)).unwrap();
        let n = PARALLEL_TRANSFORM_MIN_COORDS + 1001;
        let mut coords: Vec<Coord<f64>> = (0..n)
            .map(|i| Coord {
                x: 1_050_000.0 + (i % 1000) as f64,
                y: 6_300_000.0 + (i / 1000) as f64 * 0.01,
            })
            .collect();
        let input = coords.clone();
        t.batch(&mut coords);
        for i in [0, 1, n / 2 - 1, n / 2, n / 2 + 1, n - 1] {
            let (x, y) = t.point(input[i].x, input[i].y).unwrap();
            assert!(
                (coords[i].x - x).abs() < 1e-6 && (coords[i].y - y).abs() < 1e-6,
                "point {i}"
            );
        }
    }

    #[test]
    fn bad_crs_is_an_error() {
        assert!(Transformer::new(&Crs::Wkt("not a crs".into()), &WGS84).is_err());
    }

    #[test]
    fn origin_keeps_offsets_small() {
        let o = SceneOrigin::centre_of([385_000.0, 6_672_000.0, 387_000.0, 6_674_000.0]);
        let l = o.local(Coord {
            x: 386_000.25,
            y: 6_673_000.5,
        });
        assert_eq!(l, [0.25, 0.5]);
    }
}
