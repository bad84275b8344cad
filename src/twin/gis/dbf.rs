//! DBF attributes read fast: the crate `dbase` parses the header and field descriptors and
//! names the text encoding; the records themselves, fixed-width rows of the file read into
//! memory in one go, are decoded here on all cores, with the same typed values as the
//! record-by-record reader. Files with field types this decoder does not know (memo,
//! date-time, binary) are left to `dbase` by the caller.

use std::path::Path;

use rayon::prelude::*;
use shapefile::dbase::encoding::DynEncoding;
use shapefile::dbase::{self, Encoding, FieldType};

use crate::twin::gis::layer::{AttrValue, Attributes};

/// Records decoded per parallel task.
const RECORDS_PER_TASK: usize = 2_048;
/// The first byte of a record marked deleted.
const DELETED: u8 = b'*';

/// One field: where it lies in a record and how to decode it.
struct Field {
    name: String,
    kind: FieldType,
    /// Offset in the record, after the deletion flag.
    offset: usize,
    len: usize,
}

/// The rows of a .dbf: one per record in file order, `None` for a record marked deleted;
/// and the first error met (the rows stop there).
pub struct Rows {
    /// Field names, in file order.
    pub names: Vec<String>,
    /// Decoded records.
    pub rows: Vec<Option<Attributes>>,
    /// Why reading stopped early (truncated file, undecodable value), naming the record.
    pub error: Option<String>,
}

/// Whether this decoder handles every field of the file.
fn supported(kind: FieldType) -> bool {
    matches!(
        kind,
        FieldType::Character
            | FieldType::Numeric
            | FieldType::Float
            | FieldType::Logical
            | FieldType::Date
            | FieldType::Integer
            | FieldType::Double
            | FieldType::Currency
    )
}

/// Reads the rows of the .dbf at `path` with `encoding` (else the one its header names).
/// `Ok(None)`: the file has a field type left to `dbase`. `Err`: the header cannot be read.
pub fn read_rows(path: &Path, encoding: Option<DynEncoding>) -> Result<Option<Rows>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let builder = match encoding.clone() {
        Some(enc) => dbase::ReaderBuilder::new().with_encoding(enc),
        None => dbase::ReaderBuilder::new(),
    };
    let reader = builder
        .build(std::io::Cursor::new(&bytes[..]))
        .map_err(|e| e.to_string())?;
    let header = *reader.header();
    let encoding = match encoding {
        Some(e) => e,
        None => header
            .code_page_mark
            .to_encoding()
            .ok_or_else(|| format!("unsupported code page {:?}", header.code_page_mark))?,
    };
    let mut fields = Vec::new();
    let mut offset = 0;
    for f in reader.fields() {
        if !supported(f.field_type()) {
            return Ok(None);
        }
        let len = f.length() as usize;
        fields.push(Field {
            name: f.name().to_string(),
            kind: f.field_type(),
            offset,
            len,
        });
        offset += len;
    }
    let size = header.size_of_record as usize;
    let start = header.offset_to_first_record as usize;
    if size < 1 + offset {
        return Err(format!(
            "records of {size} bytes cannot hold fields of {} bytes",
            1 + offset
        ));
    }
    let expected = header.num_records as usize;
    let present = bytes.len().saturating_sub(start) / size;
    let n = expected.min(present);
    let body = &bytes[start.min(bytes.len())..];
    // The encoding is `Send` but not `Sync`: each task gets its own copy.
    let tasks: Vec<(usize, DynEncoding)> = (0..n)
        .step_by(RECORDS_PER_TASK)
        .map(|first| (first, encoding.clone()))
        .collect();
    let decoded: Vec<Vec<Result<Option<Attributes>, String>>> = tasks
        .into_par_iter()
        .map(|(first, enc)| {
            (first..(first + RECORDS_PER_TASK).min(n))
                .map(|i| decode_record(&body[i * size..(i + 1) * size], &fields, &enc))
                .collect()
        })
        .collect();
    let mut rows = Vec::with_capacity(n);
    let mut error = None;
    for (i, r) in decoded.into_iter().flatten().enumerate() {
        match r {
            Ok(row) => rows.push(row),
            Err(e) => {
                error = Some(format!("record {}: {e}", i + 1));
                break;
            }
        }
    }
    if error.is_none() && present < expected {
        error = Some(format!(
            "the header lists {expected} records, the file holds {present} (truncated)"
        ));
    }
    Ok(Some(Rows {
        names: fields.into_iter().map(|f| f.name).collect(),
        rows,
        error,
    }))
}

/// Decodes one record (deletion flag first); `Ok(None)` when it is marked deleted.
fn decode_record(record: &[u8], fields: &[Field], enc: &DynEncoding) -> Result<Option<Attributes>, String> {
    if record[0] == DELETED {
        return Ok(None);
    }
    let data = &record[1..];
    let mut out = Vec::with_capacity(fields.len());
    for f in fields {
        let raw = &data[f.offset..f.offset + f.len];
        let value = decode_value(raw, f.kind, enc).map_err(|e| format!("field '{}': {e}", f.name))?;
        if let Some(v) = value {
            out.push((f.name.clone(), v));
        }
    }
    Ok(Some(out.into_iter().collect()))
}

/// The bytes of a field without the spaces around them, up to a NUL (as `dbase` trims).
/// Runs of spaces, most of a wide text field, are passed over eight bytes at a time.
fn trimmed(raw: &[u8]) -> &[u8] {
    const SPACES: u64 = u64::from_ne_bytes([b' '; 8]);
    let raw = if raw.contains(&0) {
        raw.split(|&b| b == 0).next().unwrap_or(&[])
    } else {
        raw
    };
    let mut end = raw.len();
    while end >= 8 && u64::from_ne_bytes(raw[end - 8..end].try_into().expect("8 bytes")) == SPACES {
        end -= 8;
    }
    while end > 0 && raw[end - 1] == b' ' {
        end -= 1;
    }
    let raw = &raw[..end];
    let start = raw.iter().position(|&b| b != b' ').unwrap_or(raw.len());
    &raw[start..]
}

fn text(raw: &[u8], enc: &DynEncoding) -> Result<String, String> {
    enc.decode(raw)
        .map(|s| s.into_owned())
        .map_err(|e| format!("{e:?}"))
}

fn decode_value(raw: &[u8], kind: FieldType, enc: &DynEncoding) -> Result<Option<AttrValue>, String> {
    let le8 = |raw: &[u8]| -> Result<[u8; 8], String> {
        raw.get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| "field shorter than 8 bytes".to_string())
    };
    Ok(match kind {
        FieldType::Character => {
            let t = trimmed(raw);
            if t.is_empty() {
                None
            } else {
                let s = text(t, enc)?;
                let s = match s.trim() {
                    "" => None,
                    t if t.len() == s.len() => Some(s),
                    t => Some(t.to_string()),
                };
                s.map(AttrValue::Text)
            }
        }
        FieldType::Numeric | FieldType::Float => {
            let t = trimmed(raw);
            if t.is_empty() || t.iter().all(|&c| c == b'*') {
                None
            } else {
                let s = std::str::from_utf8(t).map_err(|_| "a number that is not ASCII".to_string())?;
                let n: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
                n.is_finite().then_some(AttrValue::Number(n))
            }
        }
        FieldType::Logical => match raw.first().copied() {
            Some(b'1' | b'T' | b't' | b'Y' | b'y') => Some(AttrValue::Bool(true)),
            Some(b'0' | b'F' | b'f' | b'N' | b'n') => Some(AttrValue::Bool(false)),
            _ => None,
        },
        FieldType::Date => {
            let t = trimmed(raw);
            if t.len() < 8 {
                None
            } else {
                let digits = |r: std::ops::Range<usize>| -> Result<u32, String> {
                    std::str::from_utf8(&t[r])
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| "a date that is not YYYYMMDD".to_string())
                };
                let (y, m, d) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
                if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
                    return Err(format!("{y:04}-{m:02}-{d:02} is not a date"));
                }
                Some(AttrValue::Date(format!("{y:04}-{m:02}-{d:02}")))
            }
        }
        FieldType::Integer => {
            let b: [u8; 4] = raw
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| "field shorter than 4 bytes".to_string())?;
            Some(AttrValue::Number(i32::from_le_bytes(b) as f64))
        }
        FieldType::Double | FieldType::Currency => {
            let n = f64::from_le_bytes(le8(raw)?);
            n.is_finite().then_some(AttrValue::Number(n))
        }
        _ => return Err(format!("field type {kind:?} is not decoded here")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_like_dbase() {
        assert_eq!(trimmed(b"  ab c  "), b"ab c");
        assert_eq!(trimmed(b"    "), b"");
        assert_eq!(trimmed(b"ab\0cd"), b"ab");
        assert_eq!(trimmed(b"\0  "), b"");
    }

    #[test]
    fn values_are_typed() {
        let enc = DynEncoding::from_name("UTF-8").expect("utf-8");
        let v = |raw: &[u8], k| decode_value(raw, k, &enc);
        assert_eq!(
            v(b" 12.50 ", FieldType::Numeric),
            Ok(Some(AttrValue::Number(12.5)))
        );
        assert_eq!(v(b"*****", FieldType::Numeric), Ok(None));
        assert!(v(b"12a", FieldType::Numeric).is_err());
        assert_eq!(v(b"T", FieldType::Logical), Ok(Some(AttrValue::Bool(true))));
        assert_eq!(v(b"?", FieldType::Logical), Ok(None));
        assert_eq!(
            v(b"20240229", FieldType::Date),
            Ok(Some(AttrValue::Date("2024-02-29".into())))
        );
        assert!(v(b"20241329", FieldType::Date).is_err());
        assert_eq!(v(b"        ", FieldType::Date), Ok(None));
        assert_eq!(
            v(&7i32.to_le_bytes(), FieldType::Integer),
            Ok(Some(AttrValue::Number(7.0)))
        );
        assert_eq!(
            v(&2.5f64.to_le_bytes(), FieldType::Double),
            Ok(Some(AttrValue::Number(2.5)))
        );
        assert_eq!(
            v("Töölö   ".as_bytes(), FieldType::Character),
            Ok(Some(AttrValue::Text("Töölö".into())))
        );
        assert_eq!(v(b"        ", FieldType::Character), Ok(None));
    }
}
