//! Scene-configurable mapping of feed payloads to observations: MQTT topic patterns with
//! wildcards (`+`, `#`) and named captures (`{sensor}`), dotted JSON paths with array
//! indices (`$.data[0].pm25`), time formats, and OGC SensorThings `Observation` JSON.
//!
//! A field reference is a string: `$.a.b[2]` reads the payload, `{name}` a topic capture,
//! anything else is a literal.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::twin::city::{BuildingId, RoadId, ZoneId};
use crate::twin::feeds::health::ErrorKind;
use crate::twin::feeds::observation::{Metric, Observation, Quality, SourceId, Subject, Timestamp};
use crate::twin::feeds::timefmt::{TimeFormat, from_epoch, parse_time_text};

/// Kind of subject a mapping produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// A sensor, by `id`.
    #[default]
    Sensor,
    /// A road, by numeric `id`.
    Road,
    /// A building, by numeric `id`.
    Building,
    /// A zone, by numeric `id`.
    Zone,
    /// A point, by `x` and `y` (scene CRS).
    Point,
    /// The whole city.
    City,
}

fn default_value_ref() -> String {
    "$.value".to_string()
}

fn default_scale() -> f64 {
    1.0
}

/// How one JSON record (an MQTT payload, a JSONL line, a CSV row) becomes an observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordMapping {
    /// MQTT topic pattern the mapping applies to (`city/air/{sensor}/#`); all topics when
    /// omitted.
    #[serde(default)]
    pub topic: Option<String>,
    /// Metric id (`pm25`) or a reference to it.
    pub metric: String,
    /// Kind of subject.
    #[serde(default)]
    pub subject: SubjectKind,
    /// Reference to the subject's id (sensor, road, building, zone).
    #[serde(default)]
    pub id: Option<String>,
    /// Reference to a point's easting (scene CRS).
    #[serde(default)]
    pub x: Option<String>,
    /// Reference to a point's northing (scene CRS).
    #[serde(default)]
    pub y: Option<String>,
    /// Reference to the value (default `$.value`).
    #[serde(default = "default_value_ref")]
    pub value: String,
    /// Reference to the time; arrival time when omitted.
    #[serde(default)]
    pub time: Option<String>,
    /// How the time is written.
    #[serde(default)]
    pub time_format: TimeFormat,
    /// Reference to (or literal) unit; the metric's unit when omitted.
    #[serde(default)]
    pub unit: Option<String>,
    /// Reference to a quality flag (`good`, `raw`, `suspect`, `estimated`).
    #[serde(default)]
    pub quality: Option<String>,
    /// Reference to (or literal) detail text.
    #[serde(default)]
    pub detail: Option<String>,
    /// Factor applied to the value (unit conversion).
    #[serde(default = "default_scale")]
    pub scale: f64,
    /// Path to an array of records inside the payload, each mapped alone.
    #[serde(default)]
    pub records: Option<String>,
}

/// One SensorThings Datastream and what its observations mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatastreamMap {
    /// The Datastream's `@iot.id` as text.
    pub datastream: String,
    /// Metric id.
    pub metric: String,
    /// Kind of subject.
    #[serde(default)]
    pub subject: SubjectKind,
    /// Subject id (sensor name, road / zone / building number).
    #[serde(default)]
    pub id: String,
    /// Scale applied to `result`.
    #[serde(default = "default_scale")]
    pub scale: f64,
}

/// How a feed's payloads are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadSpec {
    /// Observations as citytwin writes them (serde JSON of [`Observation`]).
    Native,
    /// Plain JSON mapped field by field; every mapping whose topic matches applies.
    Json(Vec<RecordMapping>),
    /// OGC SensorThings `Observation` JSON; the Datastream comes from the payload's
    /// `Datastream.@iot.id` or from a `Datastreams(<id>)` topic level.
    Sensorthings(Vec<DatastreamMap>),
}

/// A payload that could not be mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct MapError {
    /// Kind of fault.
    pub kind: ErrorKind,
    /// What was wrong.
    pub message: String,
}

fn err<T>(kind: ErrorKind, message: impl Into<String>) -> Result<T, MapError> {
    Err(MapError {
        kind,
        message: message.into(),
    })
}

/// Topic captures by name (`+` levels are named `1`, `2`, … in order).
pub type Captures = BTreeMap<String, String>;

/// Matches an MQTT topic against a pattern with `+`, `#` and `{name}` levels.
pub fn match_topic(pattern: &str, topic: &str) -> Option<Captures> {
    let mut caps = Captures::new();
    let mut plus = 0;
    let mut t = topic.split('/');
    for p in pattern.split('/') {
        if p == "#" {
            return Some(caps);
        }
        let level = t.next()?;
        if p == "+" {
            plus += 1;
            caps.insert(plus.to_string(), level.to_string());
        } else if let Some(name) = p.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
            caps.insert(name.to_string(), level.to_string());
        } else if p != level {
            return None;
        }
    }
    t.next().is_none().then_some(caps)
}

/// The MQTT subscription filter of a pattern (`{name}` levels become `+`).
pub fn subscription_filter(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|p| {
            if p.starts_with('{') && p.ends_with('}') {
                "+"
            } else {
                p
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Reads a dotted path with array indices (`$.a.b[0].c`, `a.b`, `$`, `$["odd key"]` is not
/// supported).
pub fn json_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let p = path.strip_prefix('$').unwrap_or(path);
    let p = p.strip_prefix('.').unwrap_or(p);
    let mut cur = v;
    if p.is_empty() {
        return Some(cur);
    }
    for part in p.split('.') {
        let (name, mut idx) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            cur = cur.get(name)?;
        }
        while let Some(r) = idx.strip_prefix('[') {
            let end = r.find(']')?;
            cur = cur.get(r[..end].trim().parse::<usize>().ok()?)?;
            idx = &r[end + 1..];
        }
        if !idx.is_empty() {
            return None;
        }
    }
    Some(cur)
}

/// A resolved field reference.
enum Field<'a> {
    Json(&'a Value),
    Text(String),
}

fn resolve<'a>(r: &str, v: &'a Value, caps: &Captures) -> Result<Field<'a>, MapError> {
    if r.starts_with('$') {
        match json_path(v, r) {
            Some(Value::Null) | None => err(ErrorKind::MissingField, format!("no field {r}")),
            Some(x) => Ok(Field::Json(x)),
        }
    } else if let Some(name) = r.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
        match caps.get(name) {
            Some(c) => Ok(Field::Text(c.clone())),
            None => err(ErrorKind::MissingField, format!("no topic capture {{{name}}}")),
        }
    } else {
        Ok(Field::Text(r.to_string()))
    }
}

fn text(r: &str, v: &Value, caps: &Captures) -> Result<String, MapError> {
    Ok(match resolve(r, v, caps)? {
        Field::Text(t) => t,
        Field::Json(Value::String(s)) => s.clone(),
        Field::Json(Value::Number(n)) => n.to_string(),
        Field::Json(Value::Bool(b)) => b.to_string(),
        Field::Json(other) => return err(ErrorKind::WrongType, format!("{r} is {other}, not text")),
    })
}

fn number(r: &str, v: &Value, caps: &Captures) -> Result<f64, MapError> {
    let parse = |s: &str| match s.trim().parse::<f64>() {
        Ok(x) => Ok(x),
        Err(_) => err(ErrorKind::WrongType, format!("{r} is '{s}', not a number")),
    };
    match resolve(r, v, caps)? {
        Field::Text(t) => parse(&t),
        Field::Json(Value::Number(n)) => n
            .as_f64()
            .map_or_else(|| err(ErrorKind::WrongType, "bad number"), Ok),
        Field::Json(Value::String(s)) => parse(s),
        Field::Json(other) => err(ErrorKind::WrongType, format!("{r} is {other}, not a number")),
    }
}

fn time(r: &str, format: TimeFormat, v: &Value, caps: &Captures) -> Result<Timestamp, MapError> {
    let t = match resolve(r, v, caps)? {
        Field::Json(Value::Number(n)) => n.as_f64().and_then(|x| from_epoch(x, format)),
        Field::Json(Value::String(s)) => parse_time_text(s, format),
        Field::Text(s) => parse_time_text(&s, format),
        Field::Json(other) => return err(ErrorKind::WrongType, format!("{r} is {other}, not a time")),
    };
    t.map_or_else(|| err(ErrorKind::WrongType, format!("{r}: unreadable time")), Ok)
}

fn parse_quality(s: &str) -> Option<Quality> {
    match s.to_ascii_lowercase().as_str() {
        "good" | "valid" | "ok" => Some(Quality::Good),
        "raw" => Some(Quality::Raw),
        "suspect" | "bad" => Some(Quality::Suspect),
        "estimated" | "simulated" => Some(Quality::Estimated),
        _ => None,
    }
}

fn metric(id: &str) -> Result<Metric, MapError> {
    Metric::from_id(id.trim()).map_or_else(
        || err(ErrorKind::UnknownMetric, format!("unknown metric '{id}'")),
        Ok,
    )
}

fn index(kind: &str, s: &str) -> Result<u32, MapError> {
    let s = s.trim();
    s.parse::<u32>()
        .or_else(|_| {
            s.parse::<f64>()
                .ok()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 4.0e9)
                .map(|f| f as u32)
                .ok_or(())
        })
        .map_or_else(
            |_| err(ErrorKind::UnknownId, format!("{kind} id '{s}' is not a number")),
            Ok,
        )
}

fn subject(kind: SubjectKind, id: Option<String>, xy: Option<(f64, f64)>) -> Result<Subject, MapError> {
    let need =
        |id: Option<String>| id.map_or_else(|| err(ErrorKind::MissingField, "mapping gives no id"), Ok);
    Ok(match kind {
        SubjectKind::Sensor => Subject::Sensor(need(id)?),
        SubjectKind::Road => Subject::Road(RoadId(index("road", &need(id)?)?)),
        SubjectKind::Building => Subject::Building(BuildingId(index("building", &need(id)?)?)),
        SubjectKind::Zone => Subject::Zone(ZoneId(index("zone", &need(id)?)?)),
        SubjectKind::City => Subject::City,
        SubjectKind::Point => match xy {
            Some((x, y)) => Subject::Point { x, y },
            None => return err(ErrorKind::MissingField, "point mapping gives no x / y"),
        },
    })
}

impl RecordMapping {
    /// A mapping of records with a value field to a metric of sensors named by `id`.
    pub fn sensor(metric: Metric, id: &str, value: &str) -> RecordMapping {
        RecordMapping {
            topic: None,
            metric: metric.id().to_string(),
            subject: SubjectKind::Sensor,
            id: Some(id.to_string()),
            x: None,
            y: None,
            value: value.to_string(),
            time: None,
            time_format: TimeFormat::Auto,
            unit: None,
            quality: None,
            detail: None,
            scale: 1.0,
            records: None,
        }
    }

    /// Maps one JSON payload (with topic captures) to observations; `arrival` stands in for
    /// a missing time.
    pub fn map(
        &self,
        v: &Value,
        caps: &Captures,
        source: &SourceId,
        arrival: Timestamp,
    ) -> Vec<Result<Observation, MapError>> {
        match &self.records {
            None => vec![self.map_one(v, caps, source, arrival)],
            Some(p) => match json_path(v, p) {
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|r| self.map_one(r, caps, source, arrival))
                    .collect(),
                Some(_) => vec![err(ErrorKind::WrongType, format!("{p} is not an array"))],
                None => vec![err(ErrorKind::MissingField, format!("no field {p}"))],
            },
        }
    }

    fn map_one(
        &self,
        v: &Value,
        caps: &Captures,
        source: &SourceId,
        arrival: Timestamp,
    ) -> Result<Observation, MapError> {
        let m = metric(&text(&self.metric, v, caps)?)?;
        let id = self.id.as_ref().map(|r| text(r, v, caps)).transpose()?;
        let xy = match (&self.x, &self.y) {
            (Some(x), Some(y)) => Some((number(x, v, caps)?, number(y, v, caps)?)),
            _ => None,
        };
        let value = number(&self.value, v, caps)? * self.scale;
        let time = match &self.time {
            Some(r) => time(r, self.time_format, v, caps)?,
            None => arrival,
        };
        let mut o = Observation::new(source, subject(self.subject, id, xy)?, m, value, time);
        if let Some(u) = &self.unit {
            o.unit = text(u, v, caps)?;
        }
        if let Some(q) = &self.quality {
            // An unknown quality word is kept out rather than failing the observation.
            o.quality = text(q, v, caps).ok().and_then(|s| parse_quality(&s));
        }
        if let Some(d) = &self.detail {
            o.detail = text(d, v, caps)?;
        }
        Ok(o)
    }
}

/// Turns raw payloads into observations under a [`PayloadSpec`].
#[derive(Debug, Clone)]
pub struct PayloadDecoder {
    spec: PayloadSpec,
    source: SourceId,
}

/// What one payload gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    /// Observations read.
    pub observations: Vec<Observation>,
    /// Faults, each to be counted.
    pub errors: Vec<MapError>,
}

impl PayloadDecoder {
    /// A decoder for a source.
    pub fn new(spec: PayloadSpec, source: SourceId) -> PayloadDecoder {
        PayloadDecoder { spec, source }
    }

    /// The subscription filters the spec needs beyond the feed's topics (none today).
    pub fn spec(&self) -> &PayloadSpec {
        &self.spec
    }

    /// Decodes one payload received on `topic` at `arrival`.
    pub fn decode(&self, topic: &str, payload: &[u8], arrival: Timestamp) -> Decoded {
        let mut out = Decoded::default();
        let v: Value = match serde_json::from_slice(payload) {
            Ok(v) => v,
            Err(e) => {
                out.errors.push(MapError {
                    kind: ErrorKind::Malformed,
                    message: format!("not JSON: {e}"),
                });
                return out;
            }
        };
        self.decode_value(topic, &v, arrival, &mut out);
        out
    }

    /// Decodes an already parsed JSON value.
    pub fn decode_value(&self, topic: &str, v: &Value, arrival: Timestamp, out: &mut Decoded) {
        let mut push = |r: Result<Observation, MapError>| match r {
            // Native payloads carry any i64: a time beyond the limit is refused here, so
            // no reader downstream (replay spans, schedules) sees one.
            Ok(o) if !o.time.is_plausible() => out.errors.push(MapError {
                kind: ErrorKind::OutOfRange,
                message: format!(
                    "time {} ms is more than {} ms from the epoch",
                    o.time.0,
                    Timestamp::LIMIT_MS
                ),
            }),
            Ok(o) => out.observations.push(o),
            Err(e) => out.errors.push(e),
        };
        match &self.spec {
            PayloadSpec::Native => push(native(v, &self.source)),
            PayloadSpec::Json(maps) => {
                let mut matched = false;
                for m in maps {
                    let caps = match &m.topic {
                        None => Some(Captures::new()),
                        Some(p) => match_topic(p, topic),
                    };
                    if let Some(caps) = caps {
                        matched = true;
                        m.map(v, &caps, &self.source, arrival)
                            .into_iter()
                            .for_each(&mut push);
                    }
                }
                if !matched {
                    push(err(
                        ErrorKind::Unmapped,
                        format!("no mapping for topic '{topic}'"),
                    ));
                }
            }
            PayloadSpec::Sensorthings(maps) => push(sensorthings(v, topic, maps, &self.source)),
        }
    }
}

fn native(v: &Value, source: &SourceId) -> Result<Observation, MapError> {
    match Observation::deserialize(v) {
        Ok(mut o) => {
            o.source = source.clone();
            Ok(o)
        }
        Err(e) => err(ErrorKind::WrongType, format!("not an observation: {e}")),
    }
}

/// The Datastream id in a `…/Datastreams(<id>)/…` topic.
fn datastream_in_topic(topic: &str) -> Option<String> {
    let i = topic.find("Datastreams(")? + "Datastreams(".len();
    let end = topic[i..].find(')')?;
    Some(topic[i..i + end].trim_matches('\'').to_string())
}

fn sensorthings(
    v: &Value,
    topic: &str,
    maps: &[DatastreamMap],
    source: &SourceId,
) -> Result<Observation, MapError> {
    let ds = v
        .get("Datastream")
        .and_then(|d| d.get("@iot.id"))
        .map(|x| match x {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .or_else(|| datastream_in_topic(topic));
    let Some(ds) = ds else {
        return err(ErrorKind::MissingField, "no Datastream id in payload or topic");
    };
    let Some(m) = maps.iter().find(|m| m.datastream == ds) else {
        return err(ErrorKind::Unmapped, format!("Datastream {ds} is not mapped"));
    };
    let result = match v.get("result") {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(Value::String(s)) => match s.trim().parse::<f64>() {
            Ok(x) => x,
            Err(_) => return err(ErrorKind::WrongType, format!("result '{s}' is not a number")),
        },
        Some(other) => return err(ErrorKind::WrongType, format!("result {other} is not a number")),
        None => return err(ErrorKind::MissingField, "no result"),
    };
    let time_text = v
        .get("phenomenonTime")
        .or_else(|| v.get("resultTime"))
        .and_then(Value::as_str);
    let Some(time_text) = time_text else {
        return err(ErrorKind::MissingField, "no phenomenonTime or resultTime");
    };
    // An interval "start/end" is dated by its end.
    let instant = time_text.rsplit('/').next().unwrap_or(time_text);
    let Some(t) = parse_time_text(instant, TimeFormat::Rfc3339) else {
        return err(ErrorKind::WrongType, format!("unreadable time '{time_text}'"));
    };
    let met = metric(&m.metric)?;
    let id = (!m.id.is_empty())
        .then(|| m.id.clone())
        .or_else(|| Some(format!("datastream-{ds}")));
    let mut o = Observation::new(source, subject(m.subject, id, None)?, met, result * m.scale, t);
    o.quality = v
        .get("resultQuality")
        .and_then(Value::as_str)
        .and_then(parse_quality);
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> SourceId {
        SourceId("mqtt".into())
    }

    #[test]
    fn topics_match_with_wildcards_and_captures() {
        let c = match_topic("city/air/{sensor}/+", "city/air/aq-7/pm25").unwrap();
        assert_eq!(c["sensor"], "aq-7");
        assert_eq!(c["1"], "pm25");
        assert!(match_topic("city/air/+", "city/air/a/b").is_none());
        assert!(match_topic("city/#", "city/air/a/b").is_some());
        assert!(match_topic("city/air", "city/water").is_none());
        assert_eq!(subscription_filter("city/{s}/#"), "city/+/#");
    }

    #[test]
    fn json_paths_with_indices() {
        let v: Value = serde_json::from_str(r#"{"a":{"b":[{"c":1},{"c":[5,6]}]}}"#).unwrap();
        assert_eq!(json_path(&v, "$.a.b[1].c[1]"), Some(&Value::from(6)));
        assert_eq!(json_path(&v, "a.b[0].c"), Some(&Value::from(1)));
        assert_eq!(json_path(&v, "$.a.b[7]"), None);
        assert_eq!(json_path(&v, "$.a.x"), None);
    }

    #[test]
    fn maps_plain_json_with_captures_time_and_scale() {
        let mut m = RecordMapping::sensor(Metric::Pm25, "{sensor}", "$.data.pm25");
        m.topic = Some("city/air/{sensor}".into());
        m.time = Some("$.ts".into());
        m.scale = 2.0;
        m.quality = Some("$.q".into());
        let d = PayloadDecoder::new(PayloadSpec::Json(vec![m]), src());
        let got = d.decode(
            "city/air/aq-1",
            br#"{"data":{"pm25":"4.5"},"ts":"2024-01-01T00:00:00Z","q":"good"}"#,
            Timestamp(9),
        );
        assert!(got.errors.is_empty(), "{:?}", got.errors);
        let o = &got.observations[0];
        assert_eq!(o.subject, Subject::Sensor("aq-1".into()));
        assert_eq!(o.value, 9.0);
        assert_eq!(o.time, Timestamp(1_704_067_200_000));
        assert_eq!(o.quality, Some(Quality::Good));
        assert_eq!(o.unit, "µg/m³");
    }

    #[test]
    fn bad_payloads_give_errors_of_the_right_kind() {
        let mut m = RecordMapping::sensor(Metric::Noise, "$.id", "$.v");
        m.topic = Some("n/#".into());
        let d = PayloadDecoder::new(PayloadSpec::Json(vec![m]), src());
        let kind = |topic: &str, p: &str| {
            d.decode(topic, p.as_bytes(), Timestamp(0))
                .errors
                .first()
                .map(|e| e.kind)
        };
        assert_eq!(kind("n/1", "{not json"), Some(ErrorKind::Malformed));
        assert_eq!(kind("n/1", r#"{"id":"a","v":NaN}"#), Some(ErrorKind::Malformed));
        assert_eq!(
            kind("n/1", r#"{"id":"a","v":"loud"}"#),
            Some(ErrorKind::WrongType)
        );
        assert_eq!(kind("n/1", r#"{"id":"a","v":[1]}"#), Some(ErrorKind::WrongType));
        assert_eq!(kind("n/1", r#"{"id":"a"}"#), Some(ErrorKind::MissingField));
        assert_eq!(kind("other", r#"{"id":"a","v":1}"#), Some(ErrorKind::Unmapped));
        assert_eq!(kind("n/1", r#"{"id":"a","v":1}"#), None);
        let mut road = RecordMapping::sensor(Metric::TrafficSpeed, "$.road", "$.v");
        road.subject = SubjectKind::Road;
        let d = PayloadDecoder::new(PayloadSpec::Json(vec![road]), src());
        let e = d.decode("t", br#"{"road":"main st","v":1}"#, Timestamp(0));
        assert_eq!(e.errors[0].kind, ErrorKind::UnknownId);
        let ok = d.decode("t", br#"{"road":12,"v":1}"#, Timestamp(0));
        assert_eq!(ok.observations[0].subject, Subject::Road(RoadId(12)));
    }

    #[test]
    fn record_arrays_map_each_item() {
        let mut m = RecordMapping::sensor(Metric::No2, "$.s", "$.v");
        m.records = Some("$.items".into());
        let d = PayloadDecoder::new(PayloadSpec::Json(vec![m]), src());
        let got = d.decode(
            "t",
            br#"{"items":[{"s":"a","v":1},{"s":"b","v":"x"},{"s":"c","v":3}]}"#,
            Timestamp(0),
        );
        assert_eq!(got.observations.len(), 2);
        assert_eq!(got.errors.len(), 1);
    }

    #[test]
    fn reads_sensorthings_observations() {
        let maps = vec![DatastreamMap {
            datastream: "17".into(),
            metric: "no2".into(),
            subject: SubjectKind::Sensor,
            id: "mannerheimintie".into(),
            scale: 1.0,
        }];
        let d = PayloadDecoder::new(PayloadSpec::Sensorthings(maps), src());
        let p =
            br#"{"@iot.id":1,"phenomenonTime":"2024-03-01T10:00:00Z/2024-03-01T11:00:00Z","result":23.5}"#;
        let got = d.decode("v1.1/Datastreams(17)/Observations", p, Timestamp(0));
        assert!(got.errors.is_empty(), "{:?}", got.errors);
        assert_eq!(
            got.observations[0].time,
            parse_time_text("2024-03-01T11:00:00Z", TimeFormat::Rfc3339).unwrap()
        );
        assert_eq!(got.observations[0].value, 23.5);
        let p2 = br#"{"Datastream":{"@iot.id":17},"resultTime":"2024-03-01T10:00:00Z","result":"7"}"#;
        assert_eq!(d.decode("any", p2, Timestamp(0)).observations[0].value, 7.0);
        let p3 = br#"{"Datastream":{"@iot.id":18},"resultTime":"2024-03-01T10:00:00Z","result":7}"#;
        assert_eq!(
            d.decode("any", p3, Timestamp(0)).errors[0].kind,
            ErrorKind::Unmapped
        );
    }

    #[test]
    fn native_observations_round_trip() {
        let o = Observation::new(
            &SourceId("x".into()),
            Subject::Zone(ZoneId(2)),
            Metric::Sentiment,
            0.25,
            Timestamp(5),
        );
        let d = PayloadDecoder::new(PayloadSpec::Native, src());
        let got = d.decode("t", serde_json::to_string(&o).unwrap().as_bytes(), Timestamp(0));
        assert_eq!(got.observations[0].value, 0.25);
        assert_eq!(got.observations[0].source, src());
    }
}
