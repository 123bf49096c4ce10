//! Exports: CSV for spreadsheets, HL7 FHIR R4 for health-information systems.
//!
//! FHIR mapping (R4, 4.0.1):
//! - a consent → `Consent` (status, scope, category LOINC 59284-0, patient by subject
//!   identifier, `provision` with period, actor, v3-ActReason purposes and data classes);
//! - access records → a `Bundle` of type `collection` of `AuditEvent`s (DICOM 110110 "Patient
//!   Record", action R, outcome 0/4/8, purposeOfEvent, the institution as requesting agent, the
//!   chain as observer, the record and the pseudonym as entities).
//!
//! JSON export is the rows' own `serde` form.

use crate::model::{AccessRow, ConsentRow};
use consentry_primitives::{Grantee, Purpose};
use serde_json::{json, Value};

/// Identifier systems for Consentry's own ids.
pub mod systems {
    /// Access record ids.
    pub const ACCESS_RECORD: &str = "urn:consentry:access-record";
    /// Consent ids.
    pub const CONSENT: &str = "urn:consentry:consent";
    /// Subject (patient) ids.
    pub const SUBJECT: &str = "urn:consentry:subject";
    /// Pseudonyms (hex).
    pub const PSEUDONYM: &str = "urn:consentry:pseudonym";
    /// Institution ids.
    pub const INSTITUTION: &str = "urn:consentry:institution";
    /// Chain accounts (SS58).
    pub const ACCOUNT: &str = "urn:consentry:account";
    /// Block hashes.
    pub const BLOCK: &str = "urn:consentry:block";
    /// Data categories.
    pub const DATA_CATEGORY: &str = "urn:consentry:data-category";
}

const ACT_REASON: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";

/// The access records as CSV (RFC 4180, header row first; sets joined with `;`).
pub fn to_csv(rows: &[AccessRow]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "id",
        "institution",
        "requested_by",
        "pseudonym",
        "subject",
        "purpose",
        "categories",
        "job_digest",
        "consents",
        "emergency",
        "state",
        "deny_reason",
        "result_digest",
        "requested_at_ms",
        "closed_at_ms",
        "block_number",
        "block_hash",
        "extrinsic_index",
        "closed_block_number",
        "closed_block_hash",
    ];
    // Writing to a Vec cannot fail.
    w.write_record(header).expect("in-memory write");
    let opt = |v: Option<String>| v.unwrap_or_default();
    for r in rows {
        let record = [
            r.id.to_string(),
            r.institution.to_string(),
            r.requested_by.clone(),
            r.pseudonym.clone(),
            opt(r.subject.map(|s| s.to_string())),
            r.purpose.clone(),
            r.categories.join(";"),
            r.job_digest.clone(),
            r.consents
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(";"),
            opt(r.emergency.clone()),
            r.state.clone(),
            opt(r.deny_reason.clone()),
            opt(r.result_digest.clone()),
            r.requested_at_ms.to_string(),
            opt(r.closed_at_ms.map(|v| v.to_string())),
            r.block_number.to_string(),
            r.block_hash.clone(),
            opt(r.extrinsic_index.map(|v| v.to_string())),
            opt(r.closed_block_number.map(|v| v.to_string())),
            opt(r.closed_block_hash.clone()),
        ];
        w.write_record(&record).expect("in-memory write");
    }
    String::from_utf8(w.into_inner().expect("in-memory flush")).expect("CSV of UTF-8 fields")
}

/// A chain time (ms since the epoch) as a FHIR `instant`/`dateTime`: RFC 3339, UTC, milliseconds.
pub fn fhir_instant(ms: u64) -> String {
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The v3-ActReason code and display for a purpose (by name; unknown names map to `HOPERAT`).
pub fn purpose_code(purpose: &str) -> (&'static str, &'static str) {
    match crate::model::purpose_by_name(purpose) {
        Some(Purpose::Treatment | Purpose::Inference | Purpose::Simulation) => {
            ("TREAT", "treatment")
        }
        Some(Purpose::FederatedTraining | Purpose::Research) => ("HRESCH", "healthcare research"),
        Some(Purpose::ReIdentification) => ("PATRQT", "patient requested"),
        None => ("HOPERAT", "healthcare operations"),
    }
}

fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({ "system": system, "code": code, "display": display })
}

/// A consent as a FHIR R4 `Consent`.
pub fn fhir_consent(c: &ConsentRow) -> Value {
    let status = if c.status == "active" {
        "active"
    } else {
        "inactive"
    };
    let codes: Vec<&str> = c.purposes.iter().map(|p| purpose_code(p).0).collect();
    let (scope, scope_display) = if !codes.is_empty() && codes.iter().all(|c| *c == "TREAT") {
        ("treatment", "Treatment")
    } else if !codes.is_empty() && codes.iter().all(|c| *c == "HRESCH") {
        ("research", "Research")
    } else {
        ("patient-privacy", "Privacy Consent")
    };
    let mut period = json!({ "start": fhir_instant(c.valid_from_ms) });
    if let Some(end) = c.valid_until_ms {
        period["end"] = json!(fhir_instant(end));
    }
    let actor_reference = match c.grantee {
        Grantee::Institution(i) => json!({
            "identifier": { "system": systems::INSTITUTION, "value": i.to_string() },
            "display": format!("institution {i}"),
        }),
        Grantee::AnyWithRole(role) => {
            json!({ "display": format!("any active institution with role {role:?}") })
        }
    };
    let mut purposes: Vec<Value> = Vec::new();
    for p in &c.purposes {
        let (code, display) = purpose_code(p);
        let v = coding(ACT_REASON, code, display);
        if !purposes.contains(&v) {
            purposes.push(v);
        }
    }
    json!({
        "resourceType": "Consent",
        "id": format!("consent-{}", c.id),
        "identifier": [{ "system": systems::CONSENT, "value": c.id.to_string() }],
        "status": status,
        "scope": { "coding": [coding("http://terminology.hl7.org/CodeSystem/consentscope", scope, scope_display)] },
        "category": [{ "coding": [coding("http://loinc.org", "59284-0", "Patient Consent")] }],
        "patient": {
            "identifier": { "system": systems::SUBJECT, "value": c.subject.to_string() },
        },
        "dateTime": fhir_instant(c.granted_at_ms),
        "policyRule": { "coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTIN", "opt-in")] },
        "provision": {
            "type": "permit",
            "period": period,
            "actor": [{
                "role": { "coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP", "information recipient")] },
                "reference": actor_reference,
            }],
            "purpose": purposes,
            "class": c.categories.iter().map(|k| json!({ "system": systems::DATA_CATEGORY, "code": k })).collect::<Vec<_>>(),
        },
    })
}

/// The AuditEvent `outcome` of a state: `0` success, `4` minor failure (refused or given up),
/// `8` serious failure (the workload failed).
pub fn audit_outcome(state: &str) -> &'static str {
    match state {
        "granted" | "completed" => "0",
        "failed" => "8",
        _ => "4",
    }
}

/// One access record as a FHIR R4 `AuditEvent`.
pub fn fhir_audit_event(r: &AccessRow) -> Value {
    let emergency = r.emergency.is_some();
    let (code, display) = if emergency {
        ("ETREAT", "Emergency Treatment")
    } else {
        purpose_code(&r.purpose)
    };
    let mut period = json!({ "start": fhir_instant(r.requested_at_ms) });
    if let Some(end) = r.closed_at_ms {
        period["end"] = json!(fhir_instant(end));
    }
    let mut detail = vec![
        json!({ "type": "block_number", "valueString": r.block_number.to_string() }),
        json!({ "type": "block_hash", "valueString": r.block_hash }),
        json!({ "type": "state", "valueString": r.state }),
        json!({ "type": "categories", "valueString": r.categories.join(";") }),
        json!({ "type": "job_digest", "valueString": r.job_digest }),
    ];
    if let Some(d) = &r.result_digest {
        detail.push(json!({ "type": "result_digest", "valueString": d }));
    }
    if let Some(d) = &r.emergency {
        detail.push(json!({ "type": "emergency_justification", "valueString": d }));
    }
    let mut event = json!({
        "resourceType": "AuditEvent",
        "id": format!("access-{}", r.id),
        "type": coding("http://dicom.nema.org/resources/ontology/DCM", "110110", "Patient Record"),
        "action": "R",
        "period": period,
        "recorded": fhir_instant(r.requested_at_ms),
        "outcome": audit_outcome(&r.state),
        "purposeOfEvent": [{ "coding": [coding(ACT_REASON, code, display)] }],
        "agent": [{
            "type": { "coding": [coding("http://terminology.hl7.org/CodeSystem/extra-security-role-type", "datacollector", "data collector")] },
            "who": {
                "identifier": { "system": systems::INSTITUTION, "value": r.institution.to_string() },
                "display": format!("institution {}", r.institution),
            },
            "altId": r.requested_by,
            "requestor": true,
        }],
        "source": {
            "site": "consentry",
            "observer": { "display": "consentry chain" },
            "type": [coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server")],
        },
        "entity": [
            {
                "what": { "identifier": { "system": systems::ACCESS_RECORD, "value": r.id.to_string() } },
                "type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"),
                "detail": detail,
            },
            {
                "what": { "identifier": { "system": systems::PSEUDONYM, "value": r.pseudonym } },
                "type": coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person"),
                "role": coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient"),
            },
        ],
    });
    if let Some(reason) = &r.deny_reason {
        event["outcomeDesc"] = json!(format!("denied: {reason}"));
    }
    event
}

/// Access records as a FHIR R4 `Bundle` (type `collection`) of `AuditEvent`s.
pub fn fhir_audit_bundle(rows: &[AccessRow]) -> Value {
    json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": rows.iter().map(|r| json!({ "resource": fhir_audit_event(r) })).collect::<Vec<_>>(),
    })
}
