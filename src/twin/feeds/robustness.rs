//! Property tests of the feeds' input path against hostile input: thousands of seeded
//! random payloads, replay files and observations with extreme times (near the i64
//! limits), NaN and infinite numbers, huge texts, unknown ids and broken JSON go through
//! the MQTT payload decoder, the replay reader, the validator and the live state. None may
//! panic or overflow, and every input is either accepted or rejected and counted.

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::twin::city::{BuildingId, RoadId, ZoneId};
use crate::twin::feeds::health::{ErrorKind, FeedHealth};
use crate::twin::feeds::live::{LiveState, StoreWriter, WriterConfig};
use crate::twin::feeds::mapping::{DatastreamMap, PayloadDecoder, PayloadSpec, RecordMapping, SubjectKind};
use crate::twin::feeds::observation::{Metric, Observation, Quality, SourceId, Subject, Timestamp};
use crate::twin::feeds::replay::Replay;
use crate::twin::feeds::source::feed_channel;
use crate::twin::feeds::spec::{ReplayFormat, ReplaySpec};
use crate::twin::feeds::store::Store;
use crate::twin::feeds::timefmt::TimeFormat;
use crate::twin::feeds::validate::{MAX_TEXT_BYTES, Validator};

/// Random cases per property.
const CASES: usize = 3_000;

/// Times at and around every limit an input can hit.
const EXTREME_TIMES: [i64; 14] = [
    i64::MIN,
    i64::MIN + 1,
    i64::MIN / 2,
    -Timestamp::LIMIT_MS - 1,
    -Timestamp::LIMIT_MS,
    -1,
    0,
    1,
    1_700_000_000_000,
    Timestamp::LIMIT_MS,
    Timestamp::LIMIT_MS + 1,
    i64::MAX / 2,
    i64::MAX - 1,
    i64::MAX,
];

/// Numbers as JSON text, from ordinary to hostile.
const EXTREME_NUMBERS: [&str; 16] = [
    "0",
    "-0",
    "42.5",
    "-1",
    "1e308",
    "-1e308",
    "1e309",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "1e-320",
    "\"NaN\"",
    "\"inf\"",
    "\"-Infinity\"",
    "\"12\"",
    "null",
];

fn time(rng: &mut ChaCha8Rng) -> i64 {
    if rng.random_bool(0.7) {
        EXTREME_TIMES[rng.random_range(0..EXTREME_TIMES.len())]
    } else {
        rng.random()
    }
}

fn value(rng: &mut ChaCha8Rng) -> f64 {
    match rng.random_range(0..8) {
        0 => f64::NAN,
        1 => f64::INFINITY,
        2 => f64::NEG_INFINITY,
        3 => f64::MAX,
        4 => f64::MIN_POSITIVE,
        5 => -f64::MAX,
        _ => rng.random_range(-100.0..300.0),
    }
}

fn text(rng: &mut ChaCha8Rng) -> String {
    match rng.random_range(0..6) {
        0 => String::new(),
        1 => "x".repeat(MAX_TEXT_BYTES + 1),
        2 => "é".repeat(rng.random_range(0..3_000)),
        _ => format!("s{}", rng.random_range(0..50)),
    }
}

fn id(rng: &mut ChaCha8Rng) -> u32 {
    if rng.random_bool(0.3) {
        u32::MAX - rng.random_range(0..3)
    } else {
        rng.random_range(0..200)
    }
}

fn observation(rng: &mut ChaCha8Rng) -> Observation {
    let subject = match rng.random_range(0..6) {
        0 => Subject::Sensor(text(rng)),
        1 => Subject::Road(RoadId(id(rng))),
        2 => Subject::Building(BuildingId(id(rng))),
        3 => Subject::Zone(ZoneId(id(rng))),
        4 => Subject::Point {
            x: value(rng),
            y: value(rng),
        },
        _ => Subject::City,
    };
    let metric = Metric::ALL[rng.random_range(0..Metric::ALL.len())];
    let mut o = Observation::new(
        &SourceId("fuzz".into()),
        subject,
        metric,
        value(rng),
        Timestamp(time(rng)),
    );
    if rng.random_bool(0.2) {
        o.detail = text(rng);
    }
    if rng.random_bool(0.1) {
        o.unit = text(rng);
    }
    o.quality = rng.random_bool(0.5).then_some(Quality::Raw);
    o
}

fn validator() -> Validator {
    Validator {
        roads: 100,
        buildings: 100,
        zones: 10,
        max_future_ms: 60_000,
        max_age_ms: Some(30 * Timestamp::DAY_MS),
    }
}

/// What the validator must say of an observation, by the rules written out again.
fn must_accept(v: &Validator, o: &Observation, now: Timestamp) -> bool {
    let (lo, hi) = o.metric.plausible_range();
    let id_ok = match &o.subject {
        Subject::Road(r) => r.0 < v.roads,
        Subject::Building(b) => b.0 < v.buildings,
        Subject::Zone(z) => z.0 < v.zones,
        Subject::Point { x, y } => x.is_finite() && y.is_finite(),
        Subject::Sensor(s) => !s.is_empty() && s.len() <= MAX_TEXT_BYTES,
        Subject::City => true,
    };
    let (t, n) = (i128::from(o.time.0), i128::from(now.0));
    o.value.is_finite()
        && o.value >= lo
        && o.value <= hi
        && id_ok
        && o.unit.len() <= MAX_TEXT_BYTES
        && o.detail.len() <= MAX_TEXT_BYTES
        && t.abs() <= i128::from(Timestamp::LIMIT_MS)
        && t - n <= i128::from(v.max_future_ms)
        && v.max_age_ms.is_none_or(|a| n - t <= i128::from(a))
}

#[test]
fn the_validator_never_overflows_and_agrees_with_its_rules() {
    let mut rng = ChaCha8Rng::seed_from_u64(18);
    let v = validator();
    let mut rejected = 0;
    for _ in 0..CASES * 5 {
        let o = observation(&mut rng);
        let now = Timestamp(time(&mut rng));
        let got = v.check(&o, now);
        assert_eq!(got.is_ok(), must_accept(&v, &o, now), "{o:?} at {now:?}: {got:?}");
        if let Err(r) = got {
            rejected += 1;
            assert!(!r.message.is_empty());
        }
    }
    assert!(rejected > CASES, "the cases must exercise rejections: {rejected}");
}

#[test]
fn times_beyond_the_limit_are_rejected_at_any_now() {
    let v = Validator::permissive();
    let city = |t: i64| {
        Observation::new(
            &SourceId("s".into()),
            Subject::City,
            Metric::Noise,
            50.0,
            Timestamp(t),
        )
    };
    for now in EXTREME_TIMES {
        for (t, kind) in [
            (i64::MIN, ErrorKind::PastTime),
            (-Timestamp::LIMIT_MS - 1, ErrorKind::PastTime),
            (Timestamp::LIMIT_MS + 1, ErrorKind::FutureTime),
            (i64::MAX, ErrorKind::FutureTime),
        ] {
            let r = v.check(&city(t), Timestamp(now)).unwrap_err();
            assert_eq!(r.kind, kind, "{t} at {now}");
        }
    }
    // The retention check subtracts an extreme now from a time: it saturates.
    let aged = Validator {
        max_age_ms: Some(Timestamp::DAY_MS),
        ..Validator::permissive()
    };
    let r = aged
        .check(&city(-Timestamp::LIMIT_MS), Timestamp(i64::MAX))
        .unwrap_err();
    assert_eq!(r.kind, ErrorKind::PastTime);
    assert!(aged.check(&city(0), Timestamp(0)).is_ok());
    let strict = Validator::permissive().with_retention_days(f64::NAN);
    assert_eq!(strict.max_age_ms, Some(0));
}

#[test]
fn huge_texts_are_rejected_as_too_large() {
    let v = Validator::permissive();
    let mut o = Observation::new(
        &SourceId("s".into()),
        Subject::Sensor("a".into()),
        Metric::Noise,
        50.0,
        Timestamp(0),
    );
    assert!(v.check(&o, Timestamp(0)).is_ok());
    o.detail = "d".repeat(8 << 20);
    assert_eq!(v.check(&o, Timestamp(0)).unwrap_err().kind, ErrorKind::TooLarge);
    o.detail.clear();
    o.subject = Subject::Sensor("s".repeat(MAX_TEXT_BYTES + 1));
    let r = v.check(&o, Timestamp(0)).unwrap_err();
    assert_eq!(r.kind, ErrorKind::TooLarge);
    assert!(r.message.contains("sensor id"), "{}", r.message);
}

fn json_decoders() -> Vec<PayloadDecoder> {
    let source = SourceId("mqtt".into());
    let mut timed = RecordMapping::sensor(Metric::Pm25, "{sensor}", "$.v");
    timed.topic = Some("air/{sensor}".into());
    timed.time = Some("$.t".into());
    let mut scaled = RecordMapping::sensor(Metric::No2, "$.id", "$.v");
    scaled.time = Some("$.t".into());
    scaled.time_format = TimeFormat::EpochS;
    scaled.scale = 1.0e300;
    scaled.records = Some("$.items".into());
    let mut road = RecordMapping::sensor(Metric::TrafficSpeed, "$.id", "$.v");
    road.subject = SubjectKind::Road;
    road.x = Some("$.x".into());
    road.y = Some("$.y".into());
    let st = vec![DatastreamMap {
        datastream: "1".into(),
        metric: "noise".into(),
        subject: SubjectKind::Zone,
        id: "4294967295".into(),
        scale: 1.0,
    }];
    vec![
        PayloadDecoder::new(PayloadSpec::Native, source.clone()),
        PayloadDecoder::new(PayloadSpec::Json(vec![timed, scaled]), source.clone()),
        PayloadDecoder::new(PayloadSpec::Json(vec![road]), source.clone()),
        PayloadDecoder::new(PayloadSpec::Sensorthings(st), source),
    ]
}

/// A random JSON payload built from hostile pieces, sometimes cut or nested deep.
fn payload(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let num = |rng: &mut ChaCha8Rng| EXTREME_NUMBERS[rng.random_range(0..EXTREME_NUMBERS.len())];
    let t = match rng.random_range(0..4) {
        0 => time(rng).to_string(),
        1 => num(rng).to_string(),
        2 => "\"9999-12-31T23:59:59.999999+23:59\"".into(),
        _ => format!(
            "\"{}\"",
            ["0000-01-01T00:00:00Z", "2024-02-30T00:00:00Z", "x"][rng.random_range(0..3)]
        ),
    };
    let record = |rng: &mut ChaCha8Rng, t: &str| {
        format!(
            r#"{{"id":{},"v":{},"t":{t},"x":{},"y":{}}}"#,
            num(rng),
            num(rng),
            num(rng),
            num(rng)
        )
    };
    let mut p = match rng.random_range(0..6) {
        0 => serde_json::to_string(&observation(rng)).unwrap_or_default(),
        1 => format!(
            r#"{{"source":"x","subject":"city","metric":"noise","value":1,"unit":"dB(A)","time":{t},"quality":null,"detail":""}}"#
        ),
        2 => {
            let n = rng.random_range(0..50);
            let items: Vec<String> = (0..n).map(|_| record(rng, &t)).collect();
            format!(r#"{{"items":[{}]}}"#, items.join(","))
        }
        3 => format!(
            r#"{{"Datastream":{{"@iot.id":{}}},"phenomenonTime":{t},"result":{}}}"#,
            ["1", "\"1\"", "2", "null"][rng.random_range(0..4)],
            num(rng)
        ),
        4 => {
            let depth = rng.random_range(100..20_000);
            format!("{}{}", "[".repeat(depth), "]".repeat(depth))
        }
        _ => record(rng, &t),
    }
    .into_bytes();
    if rng.random_bool(0.1) {
        let cut = rng.random_range(0..=p.len());
        p.truncate(cut);
    }
    if rng.random_bool(0.05) {
        p = (0..rng.random_range(0..64)).map(|_| rng.random()).collect();
    }
    p
}

#[test]
fn the_payload_decoder_survives_hostile_payloads_and_counts_each() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let decoders = json_decoders();
    let topics = ["air/s1", "v1.1/Datastreams(1)/Observations", "other", ""];
    let (mut observations, mut errors) = (0, 0);
    for _ in 0..CASES {
        let p = payload(&mut rng);
        let topic = topics[rng.random_range(0..topics.len())];
        for d in &decoders {
            let got = d.decode(topic, &p, Timestamp(time(&mut rng)));
            // Nothing vanishes: a payload gives observations, errors or (an empty record
            // array) neither, never both missing for a single-record payload.
            let single = !matches!(d.spec(), PayloadSpec::Json(m) if m.iter().any(|m| m.records.is_some()));
            if single {
                assert!(
                    !got.observations.is_empty() || !got.errors.is_empty(),
                    "{:?}",
                    String::from_utf8_lossy(&p)
                );
            }
            for o in &got.observations {
                assert!(o.time.is_plausible(), "{o:?}");
            }
            observations += got.observations.len();
            errors += got.errors.len();
        }
    }
    assert!(observations > 100 && errors > 100, "{observations} {errors}");
}

#[test]
fn deeply_nested_json_is_malformed_not_a_stack_overflow() {
    let deep = format!("{}{}", "[".repeat(1_000_000), "]".repeat(1_000_000));
    for d in json_decoders() {
        let got = d.decode("air/a", deep.as_bytes(), Timestamp(0));
        assert_eq!(got.errors.len(), 1);
        assert_eq!(got.errors[0].kind, ErrorKind::Malformed);
    }
}

#[test]
fn native_payloads_at_the_i64_limits_are_rejected_as_out_of_range() {
    let d = PayloadDecoder::new(PayloadSpec::Native, SourceId("m".into()));
    for t in [
        i64::MIN,
        -Timestamp::LIMIT_MS - 1,
        Timestamp::LIMIT_MS + 1,
        i64::MAX,
    ] {
        let o = Observation::new(
            &SourceId("x".into()),
            Subject::City,
            Metric::Noise,
            1.0,
            Timestamp(t),
        );
        let got = d.decode("t", serde_json::to_string(&o).unwrap().as_bytes(), Timestamp(0));
        assert!(got.observations.is_empty(), "{t}");
        assert_eq!(got.errors[0].kind, ErrorKind::OutOfRange, "{t}");
    }
}

fn replay_spec(format: ReplayFormat, looping: bool) -> ReplaySpec {
    ReplaySpec {
        path: "x".into(),
        format,
        speed: 1_000.0,
        looping,
        mapping: None,
        retime: false,
    }
}

#[test]
fn replays_of_hostile_files_never_overflow_their_schedule() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for case in 0..CASES / 10 {
        let jsonl = rng.random_bool(0.5);
        let mut text = String::new();
        let mut lines = 0;
        if !jsonl {
            text.push_str("time,metric,id,value\n");
        }
        for _ in 0..rng.random_range(0..40) {
            let line = if jsonl {
                String::from_utf8_lossy(&payload(&mut rng)).replace('\n', " ")
            } else {
                let t = match rng.random_range(0..3) {
                    0 => time(&mut rng).to_string(),
                    1 => "9999-12-31T23:59:59Z".to_string(),
                    _ => "1e300".to_string(),
                };
                format!("{t},pm25,\"a,b\",{}", value(&mut rng))
            };
            if !line.trim().is_empty() {
                lines += 1;
            }
            text.push_str(&line);
            text.push('\n');
        }
        let looping = rng.random_bool(0.5);
        let format = if jsonl {
            ReplayFormat::Jsonl
        } else {
            ReplayFormat::Csv
        };
        let r = Replay::from_text(&text, &replay_spec(format, looping), SourceId("r".into()));
        if jsonl {
            // Native lines: each is one record or one bad line.
            assert_eq!(r.records().len() + r.bad_lines().len(), lines, "case {case}");
        }
        assert!(r.records().iter().all(|o| o.time.is_plausible()));
        assert!(r.records().windows(2).all(|w| w[0].time <= w[1].time));
        let start = Timestamp(time(&mut rng));
        let mut last = Duration::ZERO;
        for n in [0, 1, 2, 39, 40, 1_000, usize::MAX / 2, usize::MAX] {
            if let Some((due, _)) = r.nth(n, start)
                && n < r.records().len()
            {
                assert!(due >= last, "case {case}: due times go back at {n}");
                last = due;
            }
        }
        let _ = r.clock_at(start, Duration::MAX);
        let _ = r.clock_at(Timestamp(i64::MAX), Duration::from_secs(u64::MAX / 4));
    }
}

#[test]
fn a_replay_spanning_the_whole_time_limit_loops_without_overflow() {
    let s = SourceId("r".into());
    let text: String = [-Timestamp::LIMIT_MS, Timestamp::LIMIT_MS]
        .iter()
        .map(|&t| {
            serde_json::to_string(&Observation::new(
                &s,
                Subject::City,
                Metric::Noise,
                1.0,
                Timestamp(t),
            ))
            .unwrap()
                + "\n"
        })
        .collect();
    let r = Replay::from_text(&text, &replay_spec(ReplayFormat::Jsonl, true), s);
    assert_eq!(r.records().len(), 2);
    let (due, o) = r.nth(1, Timestamp(0)).unwrap();
    assert_eq!(o.time, Timestamp(Timestamp::LIMIT_MS));
    assert!(due > Duration::from_secs(1_000_000));
    // Far loops saturate: the time stays an i64, the due time a Duration.
    let (far, o) = r.nth(usize::MAX, Timestamp(0)).unwrap();
    assert!(far >= due);
    assert_eq!(o.time, Timestamp(i64::MAX));
}

#[test]
fn health_takes_extreme_clocks() {
    let mut h = FeedHealth::new(SourceId("s".into()), 1.0);
    for t in EXTREME_TIMES {
        h.on_observations(1, 1, Timestamp(t));
        h.tick(Timestamp(t));
        for now in EXTREME_TIMES {
            let _ = h.is_stale(Timestamp(now));
            let _ = h.msgs_per_s(Timestamp(now));
            assert!(h.message_age_ms(Timestamp(now)).is_some_and(|a| a >= 0));
        }
    }
    assert_eq!(h.received, EXTREME_TIMES.len() as u64);
}

#[test]
fn the_live_state_counts_every_hostile_observation_and_stores_the_rest() {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let (ch, rx) = feed_channel(100_000);
    let name = SourceId("fuzz".into());
    let tx = ch.sender(&name);
    let writer = StoreWriter::spawn(Store::in_memory().unwrap(), WriterConfig::default()).unwrap();
    let mut live = LiveState::new(validator(), Some(writer));
    let now = Timestamp(1_700_000_000_000);
    let mut sent = 0usize;
    for _ in 0..CASES / 100 {
        let batch: Vec<Observation> = (0..100)
            .map(|_| {
                let mut o = observation(&mut rng);
                // Half near now, so that some are accepted.
                if rng.random_bool(0.5) {
                    o.time = now.plus_ms(rng.random_range(-1_000..1_000));
                }
                o
            })
            .collect();
        sent += batch.len();
        assert!(tx.batch(batch));
    }
    let start = Instant::now();
    let r = live.drain(&rx, Duration::from_secs(10), now);
    assert!(start.elapsed() < Duration::from_secs(10), "{:?}", start.elapsed());
    assert_eq!(r.observations, sent);
    assert_eq!(r.accepted + r.rejected, sent);
    assert!(r.accepted > 0 && r.rejected > 0, "{r:?}");
    let h = &live.health[&name];
    assert_eq!(h.error_total(), r.rejected as u64);
    assert_eq!(h.accepted, r.accepted as u64);
    assert!(
        h.last_bad
            .as_ref()
            .is_some_and(|b| b.sample.chars().count() <= 301)
    );
    let w = live.take_writer().unwrap();
    assert!(w.wait_stored(r.accepted as u64, Duration::from_secs(20)));
    assert_eq!(w.close().unwrap().count().unwrap(), r.accepted as u64);
}
