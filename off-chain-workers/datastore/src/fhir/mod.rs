//! HL7 FHIR R4 `Bundle` → typed records, with validation.
//!
//! Each resource is deserialized with serde into a struct holding only the fields the store uses
//! (unknown fields are ignored, as FHIR resources carry many), then checked for meaning: codes,
//! units, dates, references. Any failure names the entry, the resource and the field path, e.g.
//! `entry[3] Observation/obs-7: valueQuantity.value: invalid type: string "x", expected a number`.
//! Resource types the store does not hold (Encounter, ...) are skipped and counted.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::time::{parse_date, parse_date_time};

mod types;

use types::*;
pub(crate) use types::{Origin, ParsedBundle};

const LOINC: &str = "http://loinc.org";
/// LOINC body weight.
pub(crate) const LOINC_WEIGHT: &str = "29463-7";
/// LOINC body height.
pub(crate) const LOINC_HEIGHT: &str = "8302-2";

pub(crate) fn reject(label: &str, field: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Rejected {
        resource: label.to_string(),
        field: field.into(),
        message: message.into(),
    }
}

/// Deserializes `res` as `T`, turning serde's error into one naming the field path.
fn typed<T: DeserializeOwned>(res: &Value, label: &str) -> Result<T> {
    serde_path_to_error::deserialize(res).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.into_inner().to_string();
        let prefix = if path == "." { String::new() } else { path };
        if let Some(field) = msg
            .strip_prefix("missing field `")
            .and_then(|m| m.strip_suffix('`'))
        {
            let full = if prefix.is_empty() {
                field.to_string()
            } else {
                format!("{prefix}.{field}")
            };
            return reject(label, full, "required field is missing");
        }
        let msg = msg
            .replace("expected f64", "expected a number")
            .replace("expected a sequence", "expected an array");
        reject(
            label,
            if prefix.is_empty() {
                "(resource)".into()
            } else {
                prefix
            },
            msg,
        )
    })
}

/// Whether `code` is a syntactically valid LOINC code with a correct mod-10 check digit.
pub(crate) fn valid_loinc(code: &str) -> bool {
    let Some((body, check)) = code.split_once('-') else {
        return false;
    };
    if body.is_empty() || body.len() > 7 || check.len() != 1 {
        return false;
    }
    if !body
        .bytes()
        .chain(check.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return false;
    }
    // Luhn: double every other digit starting with the rightmost digit of the body.
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                x / 10 + x % 10
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10 == u32::from(check.as_bytes()[0] - b'0')
}

fn loinc_of(cc: &CodeableConcept, label: &str, field: &str) -> Result<(String, Option<String>)> {
    let Some((k, c)) = cc
        .coding
        .iter()
        .enumerate()
        .find(|(_, c)| c.system.as_deref() == Some(LOINC))
    else {
        return Err(reject(
            label,
            format!("{field}.coding"),
            format!("no LOINC coding (system {LOINC})"),
        ));
    };
    let code = c.code.clone().unwrap_or_default();
    if !valid_loinc(&code) {
        return Err(reject(
            label,
            format!("{field}.coding[{k}].code"),
            format!("`{code}` is not a valid LOINC code (NNNNN-C with a mod-10 check digit)"),
        ));
    }
    Ok((code, c.display.clone().or_else(|| cc.text.clone())))
}

fn unit_of(q: &Quantity, label: &str, field: &str) -> Result<String> {
    if !q.value.is_finite() {
        return Err(reject(
            label,
            format!("{field}.value"),
            "must be a finite number",
        ));
    }
    q.code
        .clone()
        .or_else(|| q.unit.clone())
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| {
            reject(
                label,
                format!("{field}.code"),
                "a unit is required (UCUM `code` or `unit`)",
            )
        })
}

fn date_time(s: &str, label: &str, field: &str) -> Result<i64> {
    parse_date_time(s).ok_or_else(|| {
        reject(
            label,
            field,
            format!(
                "`{s}` is not a FHIR dateTime (YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with Z or ±hh:mm)"
            ),
        )
    })
}

fn subject(r: &Reference, label: &str) -> Result<String> {
    let s = r.reference.trim();
    if s.starts_with("Patient/") || s.starts_with("urn:uuid:") || s.contains("/Patient/") {
        Ok(s.to_string())
    } else {
        Err(reject(
            label,
            "subject.reference",
            format!("expected a reference to a Patient (`Patient/<id>`), got `{s}`"),
        ))
    }
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fn skip(out: &mut ParsedBundle, what: String) {
    *out.skipped.entry(what).or_default() += 1;
}

/// Parses and validates a bundle. Nothing is written here.
pub(crate) fn parse_bundle(bundle: &Value) -> Result<ParsedBundle> {
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(Error::Bundle("resourceType: expected \"Bundle\"".into()));
    }
    let entries = match bundle.get("entry") {
        None => return Ok(ParsedBundle::default()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(Error::Bundle("entry: expected an array".into())),
    };
    let mut out = ParsedBundle::default();
    for (i, entry) in entries.iter().enumerate() {
        let Some(res) = entry.get("resource") else {
            return Err(reject(
                &format!("entry[{i}]"),
                "resource",
                "required field is missing",
            ));
        };
        let Some(rtype) = res.get("resourceType").and_then(Value::as_str) else {
            return Err(reject(
                &format!("entry[{i}]"),
                "resource.resourceType",
                "required field is missing or not a string",
            ));
        };
        let id = match res.get("id") {
            None => None,
            Some(Value::String(s)) if valid_id(s) => Some(s.clone()),
            Some(other) => {
                return Err(reject(
                    &format!("entry[{i}] {rtype}"),
                    "id",
                    format!("{other} is not a FHIR id (1-64 of A-Z a-z 0-9 - .)"),
                ))
            }
        };
        let full_url = entry
            .get("fullUrl")
            .and_then(Value::as_str)
            .map(str::to_string);
        let label = match &id {
            Some(id) => format!("entry[{i}] {rtype}/{id}"),
            None => format!("entry[{i}] {rtype}"),
        };
        let source = match (&id, &full_url) {
            (Some(id), _) => format!("{rtype}/{id}"),
            (None, Some(u)) => u.clone(),
            (None, None) if rtype == "Patient" => String::new(),
            (None, None)
                if matches!(
                    rtype,
                    "Observation" | "MedicationRequest" | "MedicationAdministration" | "Condition"
                ) =>
            {
                return Err(reject(
                    &label,
                    "id",
                    "required (or entry.fullUrl) to keep re-imports idempotent",
                ));
            }
            (None, None) => String::new(),
        };
        match rtype {
            "Patient" => patient(res, label, id, full_url, &mut out)?,
            "Observation" => observation(res, label, source, &mut out)?,
            "MedicationRequest" => {
                let m: MedicationRequestRes = typed(res, &label)?;
                if m.status.as_deref() == Some("entered-in-error") {
                    skip(&mut out, "MedicationRequest (entered-in-error)".into());
                    continue;
                }
                let field = "dosageInstruction[0].doseAndRate[0].doseQuantity";
                let q = m
                    .dosage_instruction
                    .first()
                    .and_then(|d| d.dose_and_rate.first())
                    .and_then(|d| d.dose_quantity.as_ref())
                    .ok_or_else(|| reject(&label, field, "required field is missing"))?;
                let unit = unit_of(q, &label, field)?;
                let route = m.dosage_instruction.first().and_then(|d| d.route.as_ref());
                out.medications.push(MedicationIn {
                    kind: "request",
                    drug: drug_name(&m.medication_codeable_concept, &label)?,
                    drug_code: m
                        .medication_codeable_concept
                        .coding
                        .first()
                        .and_then(|c| c.code.clone()),
                    dose: q.value,
                    unit,
                    route: route.and_then(CodeableConcept::label),
                    at_ms: date_time(&m.authored_on, &label, "authoredOn")?,
                    origin: Origin {
                        subject: subject(&m.subject, &label)?,
                        label,
                        source,
                    },
                });
            }
            "MedicationAdministration" => {
                let m: MedicationAdministrationRes = typed(res, &label)?;
                if m.status.as_deref() == Some("entered-in-error") {
                    skip(
                        &mut out,
                        "MedicationAdministration (entered-in-error)".into(),
                    );
                    continue;
                }
                let unit = unit_of(&m.dosage.dose, &label, "dosage.dose")?;
                out.medications.push(MedicationIn {
                    kind: "administration",
                    drug: drug_name(&m.medication_codeable_concept, &label)?,
                    drug_code: m
                        .medication_codeable_concept
                        .coding
                        .first()
                        .and_then(|c| c.code.clone()),
                    dose: m.dosage.dose.value,
                    unit,
                    route: m.dosage.route.as_ref().and_then(CodeableConcept::label),
                    at_ms: date_time(&m.effective_date_time, &label, "effectiveDateTime")?,
                    origin: Origin {
                        subject: subject(&m.subject, &label)?,
                        label,
                        source,
                    },
                });
            }
            "Condition" => {
                let c: ConditionRes = typed(res, &label)?;
                let Some(coding) = c.code.coding.iter().find(|k| k.code.is_some()) else {
                    return Err(reject(
                        &label,
                        "code.coding",
                        "needs at least one coding with a code",
                    ));
                };
                let code = coding.code.clone().unwrap_or_default();
                let onset_ms = match &c.onset_date_time {
                    Some(s) => Some(date_time(s, &label, "onsetDateTime")?),
                    None => None,
                };
                out.conditions.push(ConditionIn {
                    system: coding.system.clone(),
                    display: c.code.label().unwrap_or_else(|| code.clone()),
                    code,
                    onset_ms,
                    origin: Origin {
                        subject: subject(&c.subject, &label)?,
                        label,
                        source,
                    },
                });
            }
            other => skip(&mut out, other.to_string()),
        }
    }
    Ok(out)
}

fn drug_name(cc: &CodeableConcept, label: &str) -> Result<String> {
    cc.label().filter(|s| !s.trim().is_empty()).ok_or_else(|| {
        reject(
            label,
            "medicationCodeableConcept",
            "needs `text` or a coding with a `display` naming the drug",
        )
    })
}

fn patient(
    res: &Value,
    label: String,
    fhir_id: Option<String>,
    full_url: Option<String>,
    out: &mut ParsedBundle,
) -> Result<()> {
    let p: PatientRes = typed(res, &label)?;
    if !matches!(p.gender.as_str(), "male" | "female" | "other" | "unknown") {
        return Err(reject(
            &label,
            "gender",
            format!("`{}` is not one of male, female, other, unknown", p.gender),
        ));
    }
    let birth_day = parse_date(&p.birth_date).ok_or_else(|| {
        reject(
            &label,
            "birthDate",
            format!("`{}` is not a FHIR date (YYYY-MM-DD)", p.birth_date),
        )
    })?;
    let identifier = match p.identifier.first() {
        Some(i) if i.value.trim().is_empty() => {
            return Err(reject(&label, "identifier[0].value", "must not be empty"))
        }
        Some(i) => i.value.trim().to_string(),
        None => fhir_id.clone().ok_or_else(|| {
            reject(
                &label,
                "identifier",
                "a Patient needs identifier[0].value or an id",
            )
        })?,
    };
    out.patients.push(PatientIn {
        label,
        fhir_id,
        full_url,
        identifier,
        birth_date: p.birth_date,
        birth_day,
        sex: p.gender,
    });
    Ok(())
}

fn observation(res: &Value, label: String, source: String, out: &mut ParsedBundle) -> Result<()> {
    let o: ObservationRes = typed(res, &label)?;
    if o.status.as_deref() == Some("entered-in-error") {
        skip(out, "Observation (entered-in-error)".into());
        return Ok(());
    }
    let cats: Vec<&str> = o
        .category
        .iter()
        .flat_map(|c| c.coding.iter())
        .filter_map(|c| c.code.as_deref())
        .collect();
    if cats.is_empty() {
        return Err(reject(
            &label,
            "category",
            "required: a coding `laboratory` or `vital-signs`",
        ));
    }
    let category = if cats.contains(&"laboratory") {
        "labs"
    } else if cats.contains(&"vital-signs") {
        "vitals"
    } else {
        skip(out, format!("Observation (category {})", cats.join(",")));
        return Ok(());
    };
    let effective_ms = date_time(&o.effective_date_time, &label, "effectiveDateTime")?;
    let subject = subject(&o.subject, &label)?;
    let (loinc, display) = loinc_of(&o.code, &label, "code")?;
    let mut items = Vec::new();
    if let Some(q) = &o.value_quantity {
        items.push((
            loinc.clone(),
            display.clone(),
            q,
            "valueQuantity".to_string(),
            source.clone(),
        ));
    }
    for (k, c) in o.component.iter().enumerate() {
        let field = format!("component[{k}].code");
        let (code, disp) = loinc_of(&c.code, &label, &field)?;
        items.push((
            code,
            disp,
            &c.value_quantity,
            format!("component[{k}].valueQuantity"),
            format!("{source}#component[{k}]"),
        ));
    }
    if items.is_empty() {
        return Err(reject(
            &label,
            "valueQuantity",
            "required field is missing (or give component[] with valueQuantity)",
        ));
    }
    for (code, display, q, field, src) in items {
        let unit = unit_of(q, &label, &field)?;
        let origin = Origin {
            label: label.clone(),
            source: src,
            subject: subject.clone(),
        };
        if code == LOINC_WEIGHT || code == LOINC_HEIGHT {
            let is_weight = code == LOINC_WEIGHT;
            let value = body_value(is_weight, q.value, &unit).ok_or_else(|| {
                reject(
                    &label,
                    format!("{field}.code"),
                    body_unit_error(is_weight, q.value, &unit),
                )
            })?;
            out.body.push(BodyIn {
                origin,
                is_weight,
                value,
                at_ms: effective_ms,
            });
        } else {
            out.observations.push(ObservationIn {
                origin,
                category,
                loinc: code,
                display,
                value: q.value,
                unit,
                effective_ms,
            });
        }
    }
    Ok(())
}

/// Converts weight to kg or height to cm; `None` for an unknown unit or an implausible value.
fn body_value(is_weight: bool, v: f64, unit: &str) -> Option<f64> {
    let (factor, lo, hi) = match (is_weight, unit) {
        (true, "kg") => (1.0, 0.3, 500.0),
        (true, "g") => (1e-3, 0.3, 500.0),
        (true, "[lb_av]" | "lb" | "lbs") => (0.453_592_37, 0.3, 500.0),
        (false, "cm") => (1.0, 20.0, 275.0),
        (false, "m") => (100.0, 20.0, 275.0),
        (false, "[in_i]" | "in") => (2.54, 20.0, 275.0),
        _ => return None,
    };
    let x = v * factor;
    (lo..=hi).contains(&x).then_some(x)
}

fn body_unit_error(is_weight: bool, v: f64, unit: &str) -> String {
    if is_weight {
        format!("body weight {v} `{unit}`: unit must be kg, g or [lb_av] and the value 0.3-500 kg")
    } else {
        format!("body height {v} `{unit}`: unit must be cm, m or [in_i] and the value 20-275 cm")
    }
}

#[cfg(test)]
mod tests {
    use super::valid_loinc;

    #[test]
    fn loinc_check_digits() {
        // Codes from the LOINC table: creatinine, heart rate, body weight, eGFR (CKD-EPI 2021).
        for ok in [
            "2160-0", "8867-4", "29463-7", "98979-8", "1742-6", "59408-5",
        ] {
            assert!(valid_loinc(ok), "{ok}");
        }
        for bad in ["2160-1", "8867", "abc-0", "12345678-0", "-0"] {
            assert!(!valid_loinc(bad), "{bad}");
        }
    }
}
