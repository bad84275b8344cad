//! GeoPackage geometry blobs: the `GP` header (version, flags, SRS id, envelope of any of
//! the four kinds, the empty flag) read here, the ISO WKB after it decoded by `geozero` into
//! 2D `geo` geometry with the Z range kept aside; and the reverse for writing. PostGIS's
//! EWKB is decoded the same way ([`decode_ewkb`]).

use geo_types::Geometry;
use geozero::error::GeozeroError;
use geozero::geo_types::GeoWriter;
use geozero::{CoordDimensions, GeomProcessor, ToWkb};

/// The two magic bytes that open every GeoPackage geometry blob.
const MAGIC: &[u8; 2] = b"GP";
/// Bytes before the envelope: magic, version, flags, SRS id.
const FIXED_HEADER_LEN: usize = 8;
/// Flag bit: the geometry is empty.
const FLAG_EMPTY: u8 = 0b0001_0000;
/// Flag bit: an extended (non-standard) geometry type follows.
const FLAG_EXTENDED: u8 = 0b0010_0000;
/// Flag bits holding the envelope kind.
const FLAG_ENVELOPE: u8 = 0b0000_1110;
/// Flag bit: header numbers are little-endian.
const FLAG_LITTLE_ENDIAN: u8 = 0b0000_0001;
/// Highest ISO WKB base type read (7 = GeometryCollection); curves and surfaces are not.
const MAX_WKB_BASE_TYPE: u32 = 7;
/// The bits of an EWKB type number that are the type (the others flag Z, M and an SRID).
const EWKB_TYPE_MASK: u32 = 0x0FFF_FFFF;

/// What the header of a blob says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Header {
    /// SRS id written in the blob.
    pub srs_id: i32,
    /// The envelope `[min_x, min_y, max_x, max_y]`, when the blob carries one.
    pub envelope: Option<[f64; 4]>,
    /// The empty flag.
    pub empty: bool,
    /// Where the WKB starts.
    pub wkb_at: usize,
}

/// A decoded blob: 2D geometry, and the range of its Z values when it has any.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The geometry with Z and M dropped.
    pub geometry: Geometry<f64>,
    /// `(min, max)` of the finite Z values, for geometries with Z.
    pub z_range: Option<(f64, f64)>,
}

/// Why a blob could not be decoded (the reader counts it as a skipped feature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobError {
    /// The blob is marked empty (no geometry to place).
    Empty,
    /// The blob is not a GeoPackage geometry or is cut short.
    Corrupt(String),
    /// A WKB type citytwin does not read (curves, surfaces, extended types).
    Unsupported(String),
}

impl BlobError {
    /// The reason as it appears in a layer's skip report.
    pub fn reason(&self) -> String {
        match self {
            BlobError::Empty => "empty geometry".into(),
            BlobError::Corrupt(m) => format!("corrupt geometry blob: {m}"),
            BlobError::Unsupported(m) => format!("unsupported geometry: {m}"),
        }
    }
}

fn f64_at(b: &[u8], at: usize, little: bool) -> Option<f64> {
    let bytes: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
    Some(if little {
        f64::from_le_bytes(bytes)
    } else {
        f64::from_be_bytes(bytes)
    })
}

/// Reads the header of a blob (GeoPackage 1.x, §2.1.3).
pub fn header(b: &[u8]) -> Result<Header, BlobError> {
    let corrupt = |m: &str| BlobError::Corrupt(m.to_string());
    if b.len() < FIXED_HEADER_LEN {
        return Err(corrupt("shorter than a GeoPackage header"));
    }
    if &b[0..2] != MAGIC {
        return Err(corrupt("does not start with 'GP'"));
    }
    let flags = b[3];
    if flags & FLAG_EXTENDED != 0 {
        return Err(BlobError::Unsupported("extended GeoPackage geometry type".into()));
    }
    let little = flags & FLAG_LITTLE_ENDIAN != 0;
    let id: [u8; 4] = b[4..8].try_into().expect("4 bytes");
    let srs_id = if little {
        i32::from_le_bytes(id)
    } else {
        i32::from_be_bytes(id)
    };
    let doubles = match (flags & FLAG_ENVELOPE) >> 1 {
        0 => 0,
        1 => 4,
        2 | 3 => 6,
        4 => 8,
        k => return Err(BlobError::Corrupt(format!("invalid envelope kind {k}"))),
    };
    let wkb_at = FIXED_HEADER_LEN + 8 * doubles;
    if b.len() < wkb_at {
        return Err(corrupt("envelope cut short"));
    }
    // The envelope is stored as min_x, max_x, min_y, max_y (then Z and M ranges).
    let envelope = (doubles > 0)
        .then(|| {
            let v = |i: usize| f64_at(b, FIXED_HEADER_LEN + 8 * i, little).unwrap_or(f64::NAN);
            [v(0), v(2), v(1), v(3)]
        })
        .filter(|e| e.iter().all(|v| v.is_finite()));
    Ok(Header {
        srs_id,
        envelope,
        empty: flags & FLAG_EMPTY != 0,
        wkb_at,
    })
}

/// `geozero`'s `geo` writer, asked for Z so that the Z range can be kept; X and Y go on
/// to the writer, Z and M do not.
struct ZRangeWriter {
    inner: GeoWriter,
    z: Option<(f64, f64)>,
}

impl GeomProcessor for ZRangeWriter {
    fn dimensions(&self) -> CoordDimensions {
        CoordDimensions::xyz()
    }
    fn xy(&mut self, x: f64, y: f64, idx: usize) -> geozero::error::Result<()> {
        self.inner.xy(x, y, idx)
    }
    fn coordinate(
        &mut self,
        x: f64,
        y: f64,
        z: Option<f64>,
        _m: Option<f64>,
        _t: Option<f64>,
        _tm: Option<u64>,
        idx: usize,
    ) -> geozero::error::Result<()> {
        if let Some(z) = z.filter(|z| z.is_finite()) {
            self.z = Some(match self.z {
                None => (z, z),
                Some((a, b)) => (a.min(z), b.max(z)),
            });
        }
        self.inner.xy(x, y, idx)
    }
    fn empty_point(&mut self, idx: usize) -> geozero::error::Result<()> {
        self.inner.empty_point(idx)
    }
    fn point_begin(&mut self, idx: usize) -> geozero::error::Result<()> {
        self.inner.point_begin(idx)
    }
    fn point_end(&mut self, idx: usize) -> geozero::error::Result<()> {
        self.inner.point_end(idx)
    }
    fn multipoint_begin(&mut self, size: usize, idx: usize) -> geozero::error::Result<()> {
        self.inner.multipoint_begin(size, idx)
    }
    fn multipoint_end(&mut self, idx: usize) -> geozero::error::Result<()> {
        self.inner.multipoint_end(idx)
    }
    fn linestring_begin(&mut self, tagged: bool, size: usize, idx: usize) -> geozero::error::Result<()> {
        self.inner.linestring_begin(tagged, size, idx)
    }
    fn linestring_end(&mut self, tagged: bool, idx: usize) -> geozero::error::Result<()> {
        self.inner.linestring_end(tagged, idx)
    }
    fn multilinestring_begin(&mut self, size: usize, idx: usize) -> geozero::error::Result<()> {
        self.inner.multilinestring_begin(size, idx)
    }
    fn multilinestring_end(&mut self, idx: usize) -> geozero::error::Result<()> {
        self.inner.multilinestring_end(idx)
    }
    fn polygon_begin(&mut self, tagged: bool, size: usize, idx: usize) -> geozero::error::Result<()> {
        self.inner.polygon_begin(tagged, size, idx)
    }
    fn polygon_end(&mut self, tagged: bool, idx: usize) -> geozero::error::Result<()> {
        self.inner.polygon_end(tagged, idx)
    }
    fn multipolygon_begin(&mut self, size: usize, idx: usize) -> geozero::error::Result<()> {
        self.inner.multipolygon_begin(size, idx)
    }
    fn multipolygon_end(&mut self, idx: usize) -> geozero::error::Result<()> {
        self.inner.multipolygon_end(idx)
    }
    fn geometrycollection_begin(&mut self, size: usize, idx: usize) -> geozero::error::Result<()> {
        self.inner.geometrycollection_begin(size, idx)
    }
    fn geometrycollection_end(&mut self, idx: usize) -> geozero::error::Result<()> {
        self.inner.geometrycollection_end(idx)
    }
}

/// The ISO WKB base type (1 Point … 7 GeometryCollection) of the WKB at the start of `wkb`.
fn wkb_base_type(wkb: &[u8]) -> Result<u32, BlobError> {
    let (&order, rest) = wkb
        .split_first()
        .ok_or_else(|| BlobError::Corrupt("no WKB after the header".into()))?;
    let t: [u8; 4] = rest
        .get(..4)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| BlobError::Corrupt("WKB type cut short".into()))?;
    let t = match order {
        0 => u32::from_be_bytes(t),
        1 => u32::from_le_bytes(t),
        o => return Err(BlobError::Corrupt(format!("invalid WKB byte order {o}"))),
    };
    // EWKB keeps Z, M and SRID as flags in the high bits; ISO WKB adds 1000s.
    Ok((t & EWKB_TYPE_MASK) % 1000)
}

/// Decodes a blob: header, empty flag, then the WKB (any of Point … GeometryCollection,
/// XY/XYZ/XYM/XYZM) into 2D geometry.
pub fn decode(b: &[u8]) -> Result<Decoded, BlobError> {
    let h = header(b)?;
    if h.empty {
        return Err(BlobError::Empty);
    }
    decode_wkb(&b[h.wkb_at..], false)
}

/// Decodes PostGIS's EWKB (`ST_AsEWKB`: Point … GeometryCollection, with or without Z, M
/// and an SRID) into 2D geometry; curves and surfaces are [`BlobError::Unsupported`].
pub fn decode_ewkb(b: &[u8]) -> Result<Decoded, BlobError> {
    decode_wkb(b, true)
}

/// Decodes ISO WKB, or EWKB when `ewkb`, into 2D geometry and its Z range.
fn decode_wkb(wkb: &[u8], ewkb: bool) -> Result<Decoded, BlobError> {
    let base = wkb_base_type(wkb)?;
    if base == 0 || base > MAX_WKB_BASE_TYPE {
        return Err(BlobError::Unsupported(format!(
            "WKB type {base} (curves and surfaces are not read)"
        )));
    }
    let mut w = ZRangeWriter {
        inner: GeoWriter::new(),
        z: None,
    };
    let mut cursor = wkb;
    let processed = if ewkb {
        geozero::wkb::process_ewkb_geom(&mut cursor, &mut w)
    } else {
        geozero::wkb::process_wkb_geom(&mut cursor, &mut w)
    };
    processed.map_err(|e: GeozeroError| match e {
        GeozeroError::IoError(_) => BlobError::Corrupt("WKB cut short".into()),
        other => BlobError::Corrupt(other.to_string()),
    })?;
    let geometry = w
        .inner
        .take_geometry()
        .ok_or_else(|| BlobError::Corrupt("WKB held no geometry".into()))?;
    Ok(Decoded {
        geometry,
        z_range: w.z,
    })
}

/// Encodes 2D geometry as a GeoPackage blob (little-endian, XY envelope) with `srs_id`.
/// `envelope` is `[min_x, min_y, max_x, max_y]`.
pub fn encode(g: &Geometry<f64>, srs_id: i32, envelope: [f64; 4]) -> Result<Vec<u8>, String> {
    let [x0, y0, x1, y1] = envelope;
    g.to_gpkg_wkb(CoordDimensions::xy(), Some(srs_id), vec![x0, x1, y0, y1])
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{Point, polygon};

    /// A blob with the given flags' envelope kind and byte order around `wkb`.
    fn blob(envelope_kind: u8, little: bool, empty: bool, wkb: &[u8]) -> Vec<u8> {
        let mut b = b"GP\0".to_vec();
        b.push((envelope_kind << 1) | u8::from(little) | if empty { FLAG_EMPTY } else { 0 });
        let put = |b: &mut Vec<u8>, v: f64| {
            b.extend_from_slice(&if little { v.to_le_bytes() } else { v.to_be_bytes() })
        };
        b.extend_from_slice(&if little {
            2154i32.to_le_bytes()
        } else {
            2154i32.to_be_bytes()
        });
        let n = match envelope_kind {
            0 => 0,
            1 => 4,
            2 | 3 => 6,
            _ => 8,
        };
        // min_x, max_x, min_y, max_y, then Z/M ranges.
        for v in [1.0, 3.0, 2.0, 4.0, 10.0, 20.0, 0.0, 1.0].into_iter().take(n) {
            put(&mut b, v);
        }
        b.extend_from_slice(wkb);
        b
    }

    /// ISO WKB of a POINT Z (1 2 15), little-endian.
    fn point_z_wkb() -> Vec<u8> {
        let mut w = vec![1u8];
        w.extend_from_slice(&1001u32.to_le_bytes());
        for v in [1.0f64, 2.0, 15.0] {
            w.extend_from_slice(&v.to_le_bytes());
        }
        w
    }

    #[test]
    fn every_envelope_kind_and_byte_order_is_read() {
        let wkb = point_z_wkb();
        for kind in 0..=4u8 {
            for little in [true, false] {
                let b = blob(kind, little, false, &wkb);
                let h = header(&b).unwrap();
                assert_eq!(h.srs_id, 2154);
                assert_eq!(
                    h.envelope,
                    (kind > 0).then_some([1.0, 2.0, 3.0, 4.0]),
                    "kind {kind}"
                );
                let d = decode(&b).unwrap();
                assert_eq!(d.geometry, Geometry::Point(Point::new(1.0, 2.0)));
                assert_eq!(d.z_range, Some((15.0, 15.0)));
            }
        }
    }

    #[test]
    fn empty_corrupt_and_unsupported_blobs_are_told_apart() {
        let wkb = point_z_wkb();
        assert_eq!(decode(&blob(1, true, true, &wkb)), Err(BlobError::Empty));
        assert!(matches!(decode(b"GP"), Err(BlobError::Corrupt(_))));
        assert!(matches!(decode(&wkb), Err(BlobError::Corrupt(_))));
        let cut = blob(1, true, false, &wkb[..wkb.len() - 4]);
        assert!(
            matches!(decode(&cut), Err(BlobError::Corrupt(_))),
            "{:?}",
            decode(&cut)
        );
        let mut bad_kind = blob(0, true, false, &wkb);
        bad_kind[3] |= 7 << 1;
        assert!(matches!(decode(&bad_kind), Err(BlobError::Corrupt(_))));
        let mut curve = vec![1u8];
        curve.extend_from_slice(&8u32.to_le_bytes());
        assert!(matches!(
            decode(&blob(0, true, false, &curve)),
            Err(BlobError::Unsupported(_))
        ));
    }

    #[test]
    fn ewkb_with_srid_and_z_decodes_and_curves_do_not() {
        // SRID=2154;POINT Z (652000 6862000 35.5), little-endian EWKB.
        let mut b = vec![1u8];
        b.extend_from_slice(&0xA000_0001u32.to_le_bytes());
        b.extend_from_slice(&2154i32.to_le_bytes());
        for v in [652_000.0f64, 6_862_000.0, 35.5] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        let d = decode_ewkb(&b).unwrap();
        assert_eq!(d.geometry, Geometry::Point(Point::new(652_000.0, 6_862_000.0)));
        assert_eq!(d.z_range, Some((35.5, 35.5)));
        // A big-endian 2D polygon without SRID.
        let mut p = vec![0u8];
        p.extend_from_slice(&3u32.to_be_bytes());
        p.extend_from_slice(&1u32.to_be_bytes());
        p.extend_from_slice(&4u32.to_be_bytes());
        for v in [0.0f64, 0.0, 4.0, 0.0, 0.0, 3.0, 0.0, 0.0] {
            p.extend_from_slice(&v.to_be_bytes());
        }
        let d = decode_ewkb(&p).unwrap();
        assert_eq!(
            d.geometry,
            Geometry::Polygon(polygon![(x: 0., y: 0.), (x: 4., y: 0.), (x: 0., y: 3.), (x: 0., y: 0.)])
        );
        assert_eq!(d.z_range, None);
        let mut curve = vec![1u8];
        curve.extend_from_slice(&0x2000_000Au32.to_le_bytes());
        curve.extend_from_slice(&2154i32.to_le_bytes());
        assert!(matches!(decode_ewkb(&curve), Err(BlobError::Unsupported(_))));
        assert!(matches!(
            decode_ewkb(&b[..b.len() - 3]),
            Err(BlobError::Corrupt(_))
        ));
    }

    #[test]
    fn encode_round_trips_through_decode() {
        let g = Geometry::Polygon(polygon![(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 5.), (x: 0., y: 0.)]);
        let b = encode(&g, 3067, [0.0, 0.0, 10.0, 5.0]).unwrap();
        let h = header(&b).unwrap();
        assert_eq!((h.srs_id, h.envelope), (3067, Some([0.0, 0.0, 10.0, 5.0])));
        let d = decode(&b).unwrap();
        assert_eq!(d.geometry, g);
        assert_eq!(d.z_range, None);
    }
}
