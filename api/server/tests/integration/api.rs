//! The API end to end, against a real dev node, the real `consentry-api` binary and its SQLite
//! index: the consent story seen by the patient and the auditor, role scoping, FHIR export, the
//! storage proof checked by the auditor's own verifier, malformed input, OpenAPI and metrics.

use crate::common;

use common::{consent_story, dev_node, key, Api};
use consentry_client::{subxt::utils::Static, subxt_signer::sr25519};
use consentry_primitives::{CategorySet, DataCategory, Purpose};
use consentry_wallet::proof::{verify_at_node, ProofDoc, VerifyError};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn get(http: &reqwest::Client, url: String, token: &str) -> (StatusCode, Value) {
    let r = http.get(url).bearer_auth(token).send().await.expect("GET");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Polls until the index holds at least `n` access records visible to `token`.
async fn wait_indexed(api: &Api, http: &reqwest::Client, token: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, page) = get(http, format!("{}/v1/access", api.url), token).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= n {
            return items;
        }
        assert!(Instant::now() < deadline, "index never reached {n} records");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn patients_and_auditors_see_the_ledger_through_the_api() -> anyhow::Result<()> {
    let (node, client) = dev_node().await?;
    let tmp = tempfile::tempdir()?;
    let api = Api::start(&node.ws_url(), &tmp.path().join("index.db"));
    let http = reqwest::Client::new();
    api.wait_ready(&http).await?;

    let patient = key("//ApiPatient");
    let story = consent_story(&client, &patient, [0x42; 32]).await?;

    let (patient_token, identity) = api.login(&http, &patient).await?;
    assert_eq!(
        identity,
        json!({"role": "patient", "subject": story.subject})
    );
    let (auditor_token, identity) = api.login(&http, &sr25519::dev::dave()).await?;
    assert_eq!(identity["role"], "auditor");
    let (hospital_token, identity) = api.login(&http, &sr25519::dev::bob()).await?;
    assert_eq!(identity, json!({"role": "institution", "institution": 0}));
    let (institute_token, _) = api.login(&http, &sr25519::dev::charlie()).await?;

    // The patient sees both records, newest first: the denial (with its reason) and the grant.
    let mine = wait_indexed(&api, &http, &patient_token, 2).await;
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0]["id"], story.denied);
    assert_eq!(mine[0]["state"], "denied");
    assert_eq!(mine[0]["deny_reason"], "revoked");
    assert_eq!(mine[1]["id"], story.granted);
    assert_eq!(mine[1]["state"], "granted");

    // The auditor finds the same two by pseudonym, and by state.
    let pseudonym = hex::encode(story.pseudonym);
    let (_, page) = get(
        &http,
        format!("{}/v1/access?pseudonym={pseudonym}", api.url),
        &auditor_token,
    )
    .await;
    let ids: Vec<_> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(story.denied), json!(story.granted)]);
    let (_, page) = get(
        &http,
        format!("{}/v1/access?state=denied&pseudonym={pseudonym}", api.url),
        &auditor_token,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);

    // Cursor paging: one per page, no overlap, no gap.
    let (_, p1) = get(
        &http,
        format!("{}/v1/access?limit=1", api.url),
        &patient_token,
    )
    .await;
    let cursor = p1["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_string();
    let (_, p2) = get(
        &http,
        format!("{}/v1/access?limit=1&cursor={cursor}", api.url),
        &patient_token,
    )
    .await;
    assert_eq!(p1["items"][0]["id"], story.denied);
    assert_eq!(p2["items"][0]["id"], story.granted);
    assert_eq!(p2["next_cursor"], Value::Null);

    // Roles: the hospital sees its own accesses; the research institute none of them, and may
    // not ask for the hospital's; a patient may not read the summaries.
    let (_, page) = get(&http, format!("{}/v1/access", api.url), &hospital_token).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let (_, page) = get(&http, format!("{}/v1/access", api.url), &institute_token).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 0);
    let r = http
        .get(format!("{}/v1/access?institution=0", api.url))
        .bearer_auth(&institute_token)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let (status, problem) = get(&http, format!("{}/v1/summary", api.url), &patient_token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(problem["status"], 403);
    let (status, one) = get(
        &http,
        format!("{}/v1/access/{}", api.url, story.granted),
        &institute_token,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{one}");

    // The auditor's summary agrees with the chain's own counts.
    let (_, summary) = get(&http, format!("{}/v1/summary", api.url), &auditor_token).await;
    let hospital = summary["institutions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["institution"] == 0)
        .expect("hospital summary")
        .clone();
    let chain_counts = client
        .runtime_api()
        .at_latest()
        .await?
        .call(consentry_client::runtime::apis().audit_api().counts_of(0))
        .await?
        .0;
    assert_eq!(hospital["granted"], chain_counts.granted);
    assert_eq!(hospital["denied"], chain_counts.denied);

    // Consents: the patient's one consent, now revoked.
    let (_, consents) = get(&http, format!("{}/v1/consents", api.url), &patient_token).await;
    assert_eq!(consents["items"][0]["status"], "revoked");
    // The chain's decision, asked through the API, names the reason as the records do.
    let decision: Value = http
        .post(format!("{}/v1/decision", api.url))
        .bearer_auth(&hospital_token)
        .json(&json!({"pseudonym": pseudonym, "purpose": "simulation", "categories": ["labs"]}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert_eq!(decision["decision"], "deny", "{decision}");
    assert_eq!(decision["reason"], "revoked", "{decision}");

    // FHIR R4 export: a Bundle with one AuditEvent per record, carrying the required elements.
    let (status, bundle) = get(
        &http,
        format!("{}/v1/export/access?format=fhir", api.url),
        &patient_token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "collection");
    let events = bundle["entry"].as_array().expect("entries");
    assert_eq!(events.len(), 2);
    for e in events {
        let ev = &e["resource"];
        assert_eq!(ev["resourceType"], "AuditEvent");
        assert!(ev["type"]["code"].is_string(), "AuditEvent.type: {ev}");
        assert!(ev["recorded"].as_str().unwrap().contains('T'));
        assert!(["0", "4", "8", "12"].contains(&ev["outcome"].as_str().unwrap()));
        assert!(!ev["agent"].as_array().unwrap().is_empty());
        assert!(ev["agent"][0]["requestor"].is_boolean());
        assert!(ev["source"]["observer"].is_object());
    }
    let (_, consent_bundle) = get(
        &http,
        format!("{}/v1/export/consents?format=fhir", api.url),
        &patient_token,
    )
    .await;
    let consent = &consent_bundle["entry"][0]["resource"];
    assert_eq!(consent["resourceType"], "Consent");
    assert_eq!(consent["status"], "inactive");
    assert!(consent["scope"].is_object() && consent["category"].is_array());
    let validated = common::fhir_validate(&[bundle.clone(), consent_bundle.clone()])?;
    eprintln!("FHIR R4 validator run: {validated}");
    let csv = http
        .get(format!("{}/v1/export/access?format=csv", api.url))
        .bearer_auth(&patient_token)
        .send()
        .await?
        .text()
        .await?;
    assert_eq!(csv.lines().count(), 3, "header + 2 rows:\n{csv}");

    // The storage proof, checked by the auditor's verifier against the node's own header.
    let proof: ProofDoc = http
        .get(format!("{}/v1/access/{}/proof", api.url, story.granted))
        .bearer_auth(&auditor_token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let verified = verify_at_node(&proof, &node.ws_url()).await?;
    assert_eq!(verified.record.id, story.granted);
    assert_eq!(verified.record.job_digest, [7; 32]);
    let mut tampered = proof;
    let last = tampered.record.0.len() - 1;
    tampered.record.0[last] ^= 1;
    assert!(matches!(
        verify_at_node(&tampered, &node.ws_url()).await,
        Err(VerifyError::RecordMismatch)
    ));

    // A record made before its pseudonym was claimed carries no subject on chain. Once the
    // patient claims the pseudonym it is theirs: by id, with its proof, and in their list; the
    // other patient still may not read it.
    let late = key("//ApiLateClaimer");
    let early_pseudonym = [0x43; 32];
    let worker = sr25519::dev::bob();
    let tx = consentry_client::runtime::tx();
    common::submit(
        &client,
        &tx.identity()
            .enrol(early_pseudonym, late.public_key().into()),
        &worker,
    )
    .await?;
    let early = common::submit(
        &client,
        &tx.audit().request_access(
            early_pseudonym,
            Static(Purpose::Simulation),
            Static(CategorySet::of(&[DataCategory::Labs])),
            [9; 32],
        ),
        &worker,
    )
    .await?
    .find_first::<consentry_client::runtime::audit::events::AccessDenied>()?
    .expect("no consent yet: AccessDenied")
    .id;
    common::submit(&client, &tx.identity().claim(early_pseudonym), &late).await?;
    let (late_token, _) = api.login(&http, &late).await?;
    let url = format!("{}/v1/access/{early}", api.url);
    let deadline = Instant::now() + Duration::from_secs(60);
    let one = loop {
        // Until the indexer has both the record and the claim.
        let (status, one) = get(&http, url.clone(), &late_token).await;
        if status == StatusCode::OK {
            break one;
        }
        assert!(Instant::now() < deadline, "never visible: {status} {one}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(one["id"], early);
    assert_eq!(one["state"], "denied");
    assert_eq!(one["subject"], Value::Null, "the chain recorded no subject");
    let (status, _) = get(&http, format!("{url}/proof"), &late_token).await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = get(&http, format!("{}/v1/access", api.url), &late_token).await;
    let ids: Vec<_> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(early)]);
    let (status, problem) = get(&http, url, &patient_token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_input_gets_a_problem_document_never_a_5xx() -> anyhow::Result<()> {
    let (node, _client) = dev_node().await?;
    let tmp = tempfile::tempdir()?;
    let api = Api::start(&node.ws_url(), &tmp.path().join("index.db"));
    let http = reqwest::Client::new();
    api.wait_ready(&http).await?;
    let (auditor, _) = api.login(&http, &sr25519::dev::dave()).await?;
    let (hospital, _) = api.login(&http, &sr25519::dev::bob()).await?;

    let pseudonym = "11".repeat(32);
    let decision = |purpose: &str, categories: &str| {
        Some(format!(
            r#"{{"pseudonym":"{pseudonym}","purpose":"{purpose}","categories":{categories}}}"#
        ))
    };
    let b = |s: &str| Some(s.to_string());
    // (method, path, body, token, expected status)
    type Case<'a> = (&'a str, &'a str, Option<String>, Option<&'a str>, u16);
    let cases: Vec<Case> = vec![
        // (method, path, body, token, expected status)
        ("POST", "/v1/auth/challenge", b("{"), None, 400),
        (
            "POST",
            "/v1/auth/challenge",
            b(r#"{"account":"nope"}"#),
            None,
            400,
        ),
        ("POST", "/v1/auth/challenge", b(r#"{"acct":1}"#), None, 400),
        (
            "POST",
            "/v1/auth/session",
            b(
                r#"{"account":"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY","challenge":"x","signature":"zz"}"#,
            ),
            None,
            400,
        ),
        (
            "POST",
            "/v1/auth/session",
            b(
                r#"{"account":"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY","challenge":"never-issued","signature":"0x00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"}"#,
            ),
            None,
            401,
        ),
        ("GET", "/v1/access", None, None, 401),
        ("GET", "/v1/access", None, Some("Bearer not-a-session"), 401),
        ("GET", "/v1/access?limit=0", None, Some("A"), 400),
        ("GET", "/v1/access?limit=abc", None, Some("A"), 400),
        ("GET", "/v1/access?pseudonym=xyz", None, Some("A"), 400),
        ("GET", "/v1/access?state=exploded", None, Some("A"), 400),
        ("GET", "/v1/access?purpose=astrology", None, Some("A"), 400),
        ("GET", "/v1/access?cursor=garbage", None, Some("A"), 400),
        ("GET", "/v1/access/notanumber", None, Some("A"), 400),
        ("GET", "/v1/access/999999", None, Some("A"), 404),
        ("GET", "/v1/access/999999/proof", None, Some("A"), 404),
        ("GET", "/v1/access/-1/proof", None, Some("A"), 400),
        ("GET", "/v1/consents?subject=x", None, Some("A"), 400),
        ("GET", "/v1/consents", None, Some("H"), 403),
        ("GET", "/v1/export/access?format=pdf", None, Some("A"), 400),
        (
            "GET",
            "/v1/export/consents?format=csv",
            None,
            Some("A"),
            400,
        ),
        (
            "POST",
            "/v1/decision",
            b(r#"{"pseudonym":"00","purpose":"simulation","categories":["labs"]}"#),
            Some("H"),
            400,
        ),
        (
            "POST",
            "/v1/decision",
            decision("astrology", r#"["labs"]"#),
            Some("H"),
            400,
        ),
        (
            "POST",
            "/v1/decision",
            decision("simulation", "[]"),
            Some("H"),
            400,
        ),
        ("POST", "/v1/decision", b(r#"[]"#), Some("H"), 400),
        ("POST", "/v1/relay", b(r#"{"extrinsic":"0xzz"}"#), None, 400),
        ("POST", "/v1/relay", b(r#"{"extrinsic":""}"#), None, 400),
        (
            "POST",
            "/v1/relay",
            b(r#"{"extrinsic":"0x0102030405"}"#),
            None,
            400,
        ),
        ("GET", "/v1/relay", None, None, 405),
        ("GET", "/v1/nothing-here", None, None, 404),
    ];
    for (method, path, body, token, expected) in cases {
        let url = format!("{}{path}", api.url);
        let mut req = match method {
            "GET" => http.get(&url),
            _ => http.post(&url),
        };
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body);
        }
        match token {
            Some("A") => req = req.bearer_auth(&auditor),
            Some("H") => req = req.bearer_auth(&hospital),
            Some(raw) => req = req.header("authorization", raw),
            None => {}
        }
        let r = req.send().await?;
        let status = r.status().as_u16();
        let ctype = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or("").to_string())
            .unwrap_or_default();
        let problem: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(status, expected, "{method} {path}: {problem}");
        assert_eq!(ctype, "application/problem+json", "{method} {path}");
        assert_eq!(problem["status"], expected, "{method} {path}: {problem}");
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }

    // An oversized body is refused, not buffered.
    let big = format!(r#"{{"extrinsic":"0x{}"}}"#, "00".repeat(300 * 1024));
    // Its own client: the server closes the connection without reading the rest of the body,
    // and a pooled connection must not be reused after that.
    let r = reqwest::Client::new()
        .post(format!("{}/v1/relay", api.url))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await?;
    assert!(r.status().is_client_error(), "{}", r.status());

    // The OpenAPI document lists every endpoint; metrics count the requests just made.
    let doc: Value = http
        .get(format!("{}/openapi.json", api.url))
        .send()
        .await?
        .json()
        .await?;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/auth/challenge",
        "/v1/auth/session",
        "/v1/access",
        "/v1/access/{id}",
        "/v1/access/{id}/proof",
        "/v1/consents",
        "/v1/summary",
        "/v1/export/access",
        "/v1/export/consents",
        "/v1/decision",
        "/v1/relay",
        "/v1/jobs",
        "/v1/jobs/{id}",
        "/v1/jobs/{id}/samples",
        "/v1/jobs/{id}/twin",
        "/v1/jobs/{id}/twin/events",
        "/v1/jobs/{id}/close",
        "/health",
        "/ready",
        "/metrics",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from OpenAPI"
        );
    }
    let metrics = http
        .get(format!("{}/metrics", api.url))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        metrics.contains(
            r#"consentry_api_http_requests_total{method="GET",route="/v1/access",status="400"}"#
        ),
        "{metrics}"
    );
    Ok(())
}
