//! CSV and FHIR R4 exports: structure, required elements and value sets checked here by hand;
//! and, when a FHIR R4 validator is available (`scripts/fhir-venv.sh`), validated against the
//! official R4 structure definitions.

use crate::common;

use consentry_indexer::export::{
    fhir_audit_bundle, fhir_consent, fhir_instant, purpose_code, to_csv,
};
use serde_json::Value;

/// FHIR R4 `instant` (from the specification's regex): full date-time with seconds and a zone.
const INSTANT: &str = r"^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$";

#[test]
fn instants_are_rfc3339_utc_with_milliseconds() {
    assert_eq!(fhir_instant(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(fhir_instant(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    let re = regex::Regex::new(INSTANT).unwrap();
    assert!(re.is_match(&fhir_instant(1_700_000_000_123)));
    assert!(
        !re.is_match("2023-11-14T22:13:20"),
        "the regex needs a zone"
    );
}

#[test]
fn csv_has_a_header_and_quotes_per_rfc_4180() {
    let mut a = common::access(3, 1);
    a.requested_by = "a,\"b\"".into();
    let b = common::access(5, 1);
    let csv = to_csv(&[a.clone(), b]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines[0].starts_with("id,institution,requested_by,pseudonym,subject,purpose,categories,")
    );
    assert_eq!(lines[0].split(',').count(), 20);
    assert!(
        lines[1].starts_with("3,1,\"a,\"\"b\"\"\",0000"),
        "quoted field: {}",
        lines[1]
    );
    // Read back with an independent CSV reader.
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][2], "a,\"b\"");
    assert_eq!(&rows[0][6], "labs;genomic");
    assert_eq!(&rows[1][10], "denied");
    assert_eq!(&rows[1][11], "no_consent");
    assert_eq!(&rows[1][4], "", "no subject is an empty field");
    assert_eq!(to_csv(&[]).lines().count(), 1, "header only");
}

#[test]
fn purposes_map_to_v3_act_reason() {
    assert_eq!(purpose_code("simulation").0, "TREAT");
    assert_eq!(purpose_code("treatment").0, "TREAT");
    assert_eq!(purpose_code("research").0, "HRESCH");
    assert_eq!(purpose_code("federated_training").0, "HRESCH");
    assert_eq!(purpose_code("re_identification").0, "PATRQT");
}

fn codes(v: &Value) -> Vec<(String, String)> {
    v["coding"]
        .as_array()
        .expect("a CodeableConcept has codings")
        .iter()
        .map(|c| {
            (
                c["system"].as_str().unwrap().to_string(),
                c["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn consents_have_every_required_r4_element() {
    let re = regex::Regex::new(INSTANT).unwrap();
    let c = common::consent(1, 7, 1);
    let v = fhir_consent(&c);
    assert_eq!(v["resourceType"], "Consent");
    assert_eq!(v["status"], "active");
    assert_eq!(
        codes(&v["scope"]),
        vec![(
            "http://terminology.hl7.org/CodeSystem/consentscope".into(),
            "treatment".into()
        )]
    );
    assert_eq!(
        codes(&v["category"][0]),
        vec![("http://loinc.org".into(), "59284-0".into())]
    );
    assert_eq!(v["patient"]["identifier"]["value"], "7");
    assert!(re.is_match(v["dateTime"].as_str().unwrap()));
    assert!(
        v["policyRule"].is_object(),
        "ppc-1: a policy or a policy rule"
    );
    let p = &v["provision"];
    assert_eq!(p["type"], "permit");
    assert_eq!(p["period"]["start"], "1970-01-01T00:00:01.000Z");
    assert_eq!(p["period"]["end"], fhir_instant(9_000_000));
    assert_eq!(p["purpose"][0]["code"], "TREAT");
    assert_eq!(p["class"][0]["code"], "labs");
    // Consent 1 is granted to any researcher: no identifier, a display.
    assert!(p["actor"][0]["reference"]["display"]
        .as_str()
        .unwrap()
        .contains("Researcher"));
    assert!(p["actor"][0]["role"].is_object());

    // Revoked → inactive; research purposes → research scope; a named institution.
    let mut c = common::consent(2, 7, 1);
    c.status = "revoked".into();
    c.purposes = vec!["research".into(), "federated_training".into()];
    let v = fhir_consent(&c);
    assert_eq!(v["status"], "inactive");
    assert_eq!(codes(&v["scope"])[0].1, "research");
    assert_eq!(
        v["provision"]["purpose"].as_array().unwrap().len(),
        1,
        "HRESCH once"
    );
    assert_eq!(
        v["provision"]["actor"][0]["reference"]["identifier"]["value"],
        "0"
    );
    let statuses = [
        "draft",
        "proposed",
        "active",
        "rejected",
        "inactive",
        "entered-in-error",
    ];
    assert!(statuses.contains(&v["status"].as_str().unwrap()));
}

fn bundle_rows() -> Vec<consentry_indexer::AccessRow> {
    // 3 granted, 5 denied, 1 completed, 2 failed, 8 granted emergency.
    [3, 5, 1, 2, 8]
        .iter()
        .map(|id| common::access(*id, 1))
        .collect()
}

#[test]
fn audit_bundles_have_every_required_r4_element() {
    let re = regex::Regex::new(INSTANT).unwrap();
    let b = fhir_audit_bundle(&bundle_rows());
    assert_eq!(b["resourceType"], "Bundle");
    assert_eq!(b["type"], "collection");
    let entries = b["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 5);
    let mut outcomes = Vec::new();
    for e in entries {
        let a = &e["resource"];
        assert_eq!(a["resourceType"], "AuditEvent");
        assert!(a["type"]["system"].is_string() && a["type"]["code"].is_string());
        assert!(re.is_match(a["recorded"].as_str().unwrap()));
        let outcome = a["outcome"].as_str().unwrap();
        assert!(["0", "4", "8", "12"].contains(&outcome));
        outcomes.push(outcome.to_string());
        assert!(["C", "R", "U", "D", "E"].contains(&a["action"].as_str().unwrap()));
        let agents = a["agent"].as_array().unwrap();
        assert!(!agents.is_empty());
        for ag in agents {
            assert!(ag["requestor"].is_boolean());
            assert!(ag["who"].is_object());
        }
        assert!(a["source"]["observer"].is_object());
        assert_eq!(
            a["entity"][0]["what"]["identifier"]["system"],
            "urn:consentry:access-record"
        );
    }
    assert_eq!(outcomes, vec!["0", "4", "0", "8", "0"]);
    let denied = &entries[1]["resource"];
    assert_eq!(denied["outcomeDesc"], "denied: no_consent");
    assert_eq!(denied["entity"][0]["what"]["identifier"]["value"], "5");
    assert_eq!(
        denied["entity"][0]["detail"][1],
        serde_json::json!({ "type": "block_hash", "valueString": common::hash(1) })
    );
    assert_eq!(denied["purposeOfEvent"][0]["coding"][0]["code"], "TREAT");
    let emergency = &entries[4]["resource"];
    assert_eq!(
        emergency["purposeOfEvent"][0]["coding"][0]["code"],
        "ETREAT"
    );
}

/// The python with the R4 models: `$CONSENTRY_FHIR_PYTHON`, else `python3` if it has them.
fn validator_python() -> Option<String> {
    let candidates = std::env::var("CONSENTRY_FHIR_PYTHON")
        .map(|p| vec![p])
        .unwrap_or_else(|_| vec!["python3".to_string()]);
    candidates.into_iter().find(|py| {
        std::process::Command::new(py)
            .args([
                "-c",
                "import fhir.resources as f; assert f.__fhir_version__ == '4.0.1'",
            ])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Runs scripts/fhir_validate.py on the resources; `Ok(())` when all are valid.
fn validate(python: &str, resources: &[Value]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, r) in resources.iter().enumerate() {
        let path = dir.path().join(format!("{i}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(r).unwrap()).unwrap();
        files.push(path);
    }
    let script = consentry_e2e::repo_path("api/indexer/scripts/fhir_validate.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .args(&files)
        .output()
        .expect("run the validator");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn exports_pass_the_official_r4_validator() {
    let Some(python) = validator_python() else {
        assert!(
            std::env::var("CONSENTRY_REQUIRE_FHIR_VALIDATOR").as_deref() != Ok("1"),
            "CONSENTRY_REQUIRE_FHIR_VALIDATOR=1 but no FHIR R4 validator: \
             export CONSENTRY_FHIR_PYTHON=$(api/indexer/scripts/fhir-venv.sh)"
        );
        eprintln!("skipped: no FHIR R4 validator (see scripts/fhir-venv.sh)");
        return;
    };
    let mut resources = vec![fhir_audit_bundle(&bundle_rows())];
    for id in 0..3 {
        let mut c = common::consent(id, 7, 1);
        if id == 2 {
            c.status = "erased".into();
            c.purposes = vec!["research".into(), "treatment".into()];
        }
        resources.push(fhir_consent(&c));
    }
    resources.extend(
        bundle_rows()
            .iter()
            .map(consentry_indexer::export::fhir_audit_event),
    );
    validate(&python, &resources).unwrap();

    // The validator does reject what R4 forbids: an AuditEvent without its source, a Consent
    // with an instant lacking its zone.
    let mut broken = consentry_indexer::export::fhir_audit_event(&common::access(3, 1));
    broken.as_object_mut().unwrap().remove("source");
    assert!(validate(&python, &[broken]).is_err());
    let mut broken = fhir_consent(&common::consent(0, 7, 1));
    broken["provision"]["period"]["start"] = "yesterday".into();
    assert!(validate(&python, &[broken]).is_err());
}
