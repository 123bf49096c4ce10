//! One line of the wearable stream protocol: parsing, and the checks a sample passes before it
//! may touch the twin.
//!
//! ```json
//! {"seq":17,"patient":"<64 hex>","t_ms":1765051200000,"kind":"heart_rate","value":72,"unit":"/min"}
//! {"seq":18,"patient":"<64 hex>","t_ms":1765051200000,"kind":"blood_pressure","systolic":121,"diastolic":79,"unit":"mm[Hg]"}
//! ```
//!
//! The rules (in this order; the first that fails names the sample's verdict):
//! 1. A line that is not a JSON object with exactly the protocol's fields is `malformed`.
//! 2. `patient` must be the session's pseudonym, else `other_patient`: a device multiplexing
//!    patients never mixes one into another's twin.
//! 3. `kind` and `unit` must be in the canonical table (`consentry_datastore::wearable`), else
//!    `unknown_kind` / `unknown_unit`.
//! 4. Values outside what a living patient can have (the table's ranges; diastolic below
//!    systolic) are `impossible`.
//! 5. `seq` is the device's sample number, unique per session: the same `seq` with the same
//!    content again is a `duplicate` (acknowledged, not applied or stored twice); with other
//!    content it is a `seq_conflict`.
//! 6. `t_ms` (UTC ms) more than [`MAX_CLOCK_SKEW_MS`] ahead of the worker's clock is `future`;
//!    older than [`MAX_AGE_MS`] is `stale`; not after the last accepted sample of its kind is
//!    `out_of_order` (a device sends each kind in measurement order; a late sample is refused,
//!    never slotted into a series the predictor already read).

use consentry_datastore::wearable::{Reading, UnitSpec, VitalKind, DIASTOLIC_RANGE};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How far ahead of the worker's clock a sample's time may be (device clocks drift).
pub const MAX_CLOCK_SKEW_MS: i64 = 5_000;
/// The oldest sample accepted: the predictor's 48-hour window.
pub const MAX_AGE_MS: i64 = 48 * 3_600_000;

/// A sample as sent, before the session-level checks.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Wire {
    /// The device's sample number.
    pub seq: u64,
    /// The patient's pseudonym (64 hex digits).
    pub patient: String,
    /// Measurement time, ms since the epoch (UTC).
    pub t_ms: i64,
    /// The canonical kind name.
    pub kind: String,
    /// The value (every kind but `blood_pressure`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Systolic pressure (`blood_pressure`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systolic: Option<f64>,
    /// Diastolic pressure (`blood_pressure`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diastolic: Option<f64>,
    /// UCUM unit.
    pub unit: String,
}

/// A sample that passed the per-sample checks (rules 1–4).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// What was sent, as sent (its RFC 8785 form is the Merkle leaf).
    pub wire: Wire,
    /// Its kind.
    pub kind: VitalKind,
    /// Its unit.
    pub unit: &'static UnitSpec,
    /// The reading, in the unit sent.
    pub reading: Reading,
}

impl Sample {
    /// The value in the kind's canonical unit (systolic for blood pressure).
    pub fn canonical_value(&self) -> f64 {
        match self.reading {
            Reading::Value(v) => v * self.unit.to_canonical,
            Reading::Pressure { systolic, .. } => systolic,
        }
    }
}

/// Why a sample was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// Not a protocol object.
    Malformed,
    /// Another patient's sample.
    OtherPatient,
    /// Not a known kind.
    UnknownKind,
    /// Not a unit of its kind.
    UnknownUnit,
    /// A value no living patient has.
    Impossible,
    /// The `seq` of an earlier sample with other content.
    SeqConflict,
    /// Measured in the future of the worker's clock.
    Future,
    /// Older than the predictor's window.
    Stale,
    /// Not after the last accepted sample of its kind.
    OutOfOrder,
}

/// A refusal with the field at fault and a sentence for the device's log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refused {
    /// Why.
    pub reason: Refusal,
    /// The field at fault.
    pub field: String,
    /// What is wrong.
    pub detail: String,
}

fn refuse(reason: Refusal, field: &str, detail: impl Into<String>) -> Refused {
    Refused {
        reason,
        field: field.into(),
        detail: detail.into(),
    }
}

fn in_range(field: &str, v: f64, lo: f64, hi: f64, unit: &str) -> Result<(), Refused> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(refuse(
            Refusal::Impossible,
            field,
            format!("{v} {unit} is outside the possible range {lo}–{hi} {unit}"),
        ))
    }
}

/// Rules 1–4 for one line of the session of `patient` (lower-case hex).
pub fn parse(line: &Value, patient: &str) -> Result<Sample, Refused> {
    let wire: Wire = serde_json::from_value(line.clone())
        .map_err(|e| refuse(Refusal::Malformed, "sample", e.to_string()))?;
    let sent = wire
        .patient
        .trim()
        .trim_start_matches("0x")
        .to_ascii_lowercase();
    if sent != patient {
        return Err(refuse(
            Refusal::OtherPatient,
            "patient",
            "this session streams another patient's samples",
        ));
    }
    let kind = VitalKind::parse(&wire.kind).ok_or_else(|| {
        refuse(
            Refusal::UnknownKind,
            "kind",
            format!(
                "`{}` is not one of {}",
                wire.kind,
                VitalKind::ALL.map(VitalKind::name).join(", ")
            ),
        )
    })?;
    let unit = kind.unit(&wire.unit).ok_or_else(|| {
        refuse(
            Refusal::UnknownUnit,
            "unit",
            format!(
                "`{}` is not a unit of {}: use {}",
                wire.unit,
                kind.name(),
                kind.units()
                    .iter()
                    .map(|u| u.ucum)
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        )
    })?;
    let range = kind.range();
    let reading = match kind {
        VitalKind::BloodPressure => {
            if wire.value.is_some() {
                return Err(refuse(
                    Refusal::Malformed,
                    "value",
                    "blood_pressure carries systolic and diastolic, not value",
                ));
            }
            let (Some(s), Some(d)) = (wire.systolic, wire.diastolic) else {
                return Err(refuse(
                    Refusal::Malformed,
                    if wire.systolic.is_none() {
                        "systolic"
                    } else {
                        "diastolic"
                    },
                    "blood_pressure needs systolic and diastolic",
                ));
            };
            in_range("systolic", s, range.min, range.max, unit.ucum)?;
            in_range(
                "diastolic",
                d,
                DIASTOLIC_RANGE.min,
                DIASTOLIC_RANGE.max,
                unit.ucum,
            )?;
            if d >= s {
                return Err(refuse(
                    Refusal::Impossible,
                    "diastolic",
                    format!("diastolic {d} is not below systolic {s}"),
                ));
            }
            Reading::Pressure {
                systolic: s,
                diastolic: d,
            }
        }
        _ => {
            if wire.systolic.is_some() || wire.diastolic.is_some() {
                return Err(refuse(
                    Refusal::Malformed,
                    if wire.systolic.is_some() {
                        "systolic"
                    } else {
                        "diastolic"
                    },
                    format!("{} carries value, not blood pressure fields", kind.name()),
                ));
            }
            let v = wire.value.ok_or_else(|| {
                refuse(
                    Refusal::Malformed,
                    "value",
                    format!("{} needs value", kind.name()),
                )
            })?;
            let f = unit.to_canonical;
            in_range("value", v, range.min / f, range.max / f, unit.ucum)?;
            Reading::Value(v)
        }
    };
    Ok(Sample {
        wire,
        kind,
        unit,
        reading,
    })
}

/// Rule 6's time checks against the worker's clock `now_ms` and the last accepted time of the
/// sample's kind.
pub fn check_time(s: &Sample, now_ms: i64, last_of_kind: Option<i64>) -> Result<(), Refused> {
    let t = s.wire.t_ms;
    if t > now_ms + MAX_CLOCK_SKEW_MS {
        return Err(refuse(
            Refusal::Future,
            "t_ms",
            format!(
                "{} ms ahead of the worker's clock (at most {MAX_CLOCK_SKEW_MS})",
                t - now_ms
            ),
        ));
    }
    if t < now_ms - MAX_AGE_MS {
        return Err(refuse(
            Refusal::Stale,
            "t_ms",
            "older than the predictor's 48-hour window",
        ));
    }
    if let Some(last) = last_of_kind {
        if t <= last {
            return Err(refuse(
                Refusal::OutOfOrder,
                "t_ms",
                format!(
                    "not after the last accepted {} sample ({last}); send each kind in \
                     measurement order",
                    s.kind.name()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const P: &str = "ab0000000000000000000000000000000000000000000000000000000000000c";

    fn hr(v: Value) -> Value {
        json!({"seq": 1, "patient": P, "t_ms": 1000, "kind": "heart_rate", "value": v, "unit": "/min"})
    }

    fn reason(v: Value) -> (Refusal, String) {
        let r = parse(&v, P).unwrap_err();
        (r.reason, r.field)
    }

    #[test]
    fn a_good_sample_parses_with_its_canonical_value() {
        let s = parse(&hr(json!(72)), P).unwrap();
        assert_eq!(s.kind, VitalKind::HeartRate);
        assert_eq!(s.canonical_value(), 72.0);
        let g = json!({"seq": 2, "patient": format!("0x{}", P.to_uppercase()), "t_ms": 1,
            "kind": "glucose", "value": 5.5, "unit": "mmol/L"});
        let s = parse(&g, P).unwrap();
        assert!((s.canonical_value() - 99.088).abs() < 1e-9);
        let bp = json!({"seq": 3, "patient": P, "t_ms": 1, "kind": "blood_pressure",
            "systolic": 120, "diastolic": 80, "unit": "mm[Hg]"});
        assert_eq!(
            parse(&bp, P).unwrap().reading,
            Reading::Pressure {
                systolic: 120.0,
                diastolic: 80.0
            }
        );
    }

    #[test]
    fn each_rule_names_its_reason_and_field() {
        assert_eq!(reason(json!([1, 2])).0, Refusal::Malformed);
        let mut extra = hr(json!(70));
        extra["note"] = json!("x");
        assert_eq!(reason(extra).0, Refusal::Malformed);
        let mut other = hr(json!(70));
        other["patient"] = json!("cd".repeat(32));
        assert_eq!(reason(other), (Refusal::OtherPatient, "patient".into()));
        let mut kind = hr(json!(70));
        kind["kind"] = json!("pulse");
        assert_eq!(reason(kind), (Refusal::UnknownKind, "kind".into()));
        let mut unit = hr(json!(70));
        unit["unit"] = json!("bpm");
        assert_eq!(reason(unit), (Refusal::UnknownUnit, "unit".into()));
        assert_eq!(
            reason(hr(json!(400))),
            (Refusal::Impossible, "value".into())
        );
        assert_eq!(
            reason(hr(json!(19.9))),
            (Refusal::Impossible, "value".into())
        );
        // 60 mmol/L is 1081 mg/dL: past the meters' range although 60 < 1000.
        let g = json!({"seq": 2, "patient": P, "t_ms": 1, "kind": "glucose", "value": 60,
            "unit": "mmol/L"});
        assert_eq!(reason(g), (Refusal::Impossible, "value".into()));
        let bp = json!({"seq": 3, "patient": P, "t_ms": 1, "kind": "blood_pressure",
            "systolic": 80, "diastolic": 90, "unit": "mm[Hg]"});
        assert_eq!(reason(bp), (Refusal::Impossible, "diastolic".into()));
        let bp = json!({"seq": 3, "patient": P, "t_ms": 1, "kind": "blood_pressure",
            "systolic": 120, "unit": "mm[Hg]"});
        assert_eq!(reason(bp), (Refusal::Malformed, "diastolic".into()));
        let mixed = json!({"seq": 3, "patient": P, "t_ms": 1, "kind": "spo2", "value": 97,
            "systolic": 120, "unit": "%"});
        assert_eq!(reason(mixed), (Refusal::Malformed, "systolic".into()));
    }

    #[test]
    fn time_rules() {
        let now = 10 * MAX_AGE_MS;
        let mut s = parse(&hr(json!(70)), P).unwrap();
        s.wire.t_ms = now + MAX_CLOCK_SKEW_MS + 1;
        assert_eq!(
            check_time(&s, now, None).unwrap_err().reason,
            Refusal::Future
        );
        s.wire.t_ms = now - MAX_AGE_MS - 1;
        assert_eq!(
            check_time(&s, now, None).unwrap_err().reason,
            Refusal::Stale
        );
        s.wire.t_ms = now - 1000;
        assert_eq!(
            check_time(&s, now, Some(now - 1000)).unwrap_err().reason,
            Refusal::OutOfOrder
        );
        assert!(check_time(&s, now, Some(now - 1001)).is_ok());
        assert!(check_time(&s, now, None).is_ok());
    }
}
