//! The OpenAPI 3 document, generated from the handlers' `#[utoipa::path]` annotations and the
//! request/response types, so it cannot drift from the code, then completed by [`contract`] with
//! what every route shares: problem documents (`application/problem+json`), the statuses the
//! session extractor, the rate limits, the timeout and the node add to every operation, and the
//! shapes the server enforces on fields whose types are declared elsewhere (accounts, hex,
//! names). `api/server/tests/integration/contract.rs` runs schemathesis against the real API with it: any
//! response or refusal the document does not foretell fails the test command.

use crate::{auth, error, routes};
use consentry_primitives::{DataCategory, Named, Purpose};
use serde_json::{json, Value};
use utoipa::{
    openapi::{
        schema::{ArrayBuilder, ObjectBuilder, Type},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
    Modify, OpenApi,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Consentry API",
        description = "Consent and audit for patient digital twins: sessions by signed challenge, \
                       the ledger's access history, consents, exports (JSON, CSV, HL7 FHIR R4), \
                       storage proofs and a relay for wallet-signed extrinsics. Purposes and data \
                       categories are named by their canonical snake_case names \
                       (`federated_training`, `labs`) everywhere. Every error is an RFC 9457 \
                       `application/problem+json` document."
    ),
    paths(
        routes::ops::challenge,
        routes::ops::session,
        routes::ops::sign_out,
        routes::ops::health,
        routes::ops::ready,
        routes::ops::metrics,
        routes::ops::openapi,
        routes::ledger::access_list,
        routes::ledger::access_one,
        routes::ledger::consents,
        routes::ledger::summary,
        routes::ledger::export_access,
        routes::ledger::export_consents,
        routes::chain::proof,
        routes::chain::decision,
        routes::chain::relay,
        routes::jobs::submit,
        routes::jobs::get,
        routes::streams::samples,
        routes::streams::sample_list,
        routes::streams::twin,
        routes::streams::events,
        routes::streams::close,
    ),
    components(schemas(
        error::Problem,
        auth::Identity,
        consentry_api_requests::ChallengeRequest,
        auth::Challenge,
        consentry_api_requests::SessionRequest,
        auth::SessionGranted,
        routes::chain::ProofDoc,
        consentry_api_requests::DecisionRequest,
        routes::chain::DecisionResponse,
        consentry_api_requests::RelayRequest,
        routes::chain::RelayResponse,
        routes::ledger::AccessPage,
        routes::ledger::ConsentPage,
        routes::ledger::Summary,
        consentry_api_requests::JobRequest,
        routes::jobs::JobQueued,
    )),
    modifiers(&Bearer)
)]
struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Pseudonyms and other 32-byte values: 64 hex digits, `0x` optional.
pub const HEX32_PATTERN: &str = "^(0x)?[0-9a-fA-F]{64}$";
/// An sr25519 signature: 64 bytes in hex, `0x` optional.
pub const SIGNATURE_PATTERN: &str = "^(0x)?[0-9a-fA-F]{128}$";
fn names<T: Named>() -> Vec<Value> {
    T::ALL.iter().map(|v| Value::from(v.name())).collect()
}

fn string_enum(values: Vec<Value>, description: &str) -> utoipa::openapi::Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .description(Some(description))
        .build()
}

/// A purpose, by its canonical name (`consentry-primitives`' one table of names).
pub fn purpose_schema() -> utoipa::openapi::Object {
    string_enum(
        names::<Purpose>(),
        "A purpose, by its canonical name; other spellings are refused naming it.",
    )
}

/// A data category, by its canonical name.
pub fn category_schema() -> utoipa::openapi::Object {
    string_enum(
        names::<DataCategory>(),
        "A data category, by its canonical name; other spellings are refused naming it.",
    )
}

/// The access-record states a filter may name.
pub fn state_schema() -> utoipa::openapi::Object {
    let mut states: Vec<Value> = consentry_indexer::model::STATES
        .iter()
        .map(|s| Value::from(*s))
        .collect();
    states.push("emergency".into());
    string_enum(
        states,
        "A state; `emergency` means granted break-the-glass records, whatever their state since.",
    )
}

/// The formats of an access export.
pub fn access_format_schema() -> utoipa::openapi::Object {
    string_enum(
        vec!["json".into(), "csv".into(), "fhir".into()],
        "`json` (default), `csv` or `fhir`.",
    )
}

/// The formats of a consent export.
pub fn consent_format_schema() -> utoipa::openapi::Object {
    string_enum(
        vec!["json".into(), "fhir".into()],
        "`json` (default) or `fhir`.",
    )
}

/// A non-empty list of data categories, as `/v1/decision` takes it.
fn categories_schema() -> utoipa::openapi::Array {
    ArrayBuilder::new()
        .items(category_schema())
        .min_items(Some(1))
        .description(Some("Data categories, at least one, by canonical name."))
        .build()
}

/// The property `prop` of the component schema `schema`; the document must have it (a renamed
/// field fails the OpenAPI tests instead of silently losing its constraint).
fn property<'a>(doc: &'a mut Value, schema: &str, prop: &str) -> &'a mut Value {
    let p = &mut doc["components"]["schemas"][schema]["properties"][prop];
    assert!(p.is_object(), "OpenAPI: no property {schema}.{prop}");
    p
}

/// Adds `extra`'s keys to the object `target`.
fn merge(target: &mut Value, extra: Value) {
    if let (Some(t), Value::Object(e)) = (target.as_object_mut(), extra) {
        t.extend(e);
    }
}

/// Constraints the server enforces on request fields declared in files that describe them only
/// by type.
fn request_shapes(doc: &mut Value) {
    // Custom formats only, no `pattern`: a pattern cannot hold an SS58 checksum or a SCALE
    // encoding, and generators prefer a pattern to the format's own values.
    let ss58 = |description: &str| json!({ "format": "ss58", "description": description });
    merge(
        property(doc, "ChallengeRequest", "account"),
        ss58("The caller's account: an SS58 address (checksum included)."),
    );
    merge(
        property(doc, "SessionRequest", "account"),
        ss58("The account that signs: an SS58 address."),
    );
    merge(
        property(doc, "SessionRequest", "signature"),
        json!({ "pattern": SIGNATURE_PATTERN }),
    );
    merge(
        property(doc, "DecisionRequest", "pseudonym"),
        json!({ "pattern": HEX32_PATTERN }),
    );
    *property(doc, "DecisionRequest", "purpose") =
        serde_json::to_value(purpose_schema()).expect("a schema serializes");
    *property(doc, "DecisionRequest", "categories") =
        serde_json::to_value(categories_schema()).expect("a schema serializes");
    merge(
        property(doc, "RelayRequest", "extrinsic"),
        json!({
            "format": "extrinsic",
            "description": "A signed extrinsic of this chain, SCALE-encoded, in hex. Bytes that \
                            do not decode as one are refused (400); one the transaction pool \
                            would refuse is refused with the pool's reason (422)."
        }),
    );
}

/// The response every operation may give for `status`, as a problem document.
fn problem_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": {
            "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

/// Completes every operation's responses: problem documents for every error, and the statuses
/// the shared layers give (400 for any malformed input, 401 without a session, 429 from the
/// per-client limits, 500/503 when the node or the index fails, 504 from the timeout).
fn shared_responses(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            if !matches!(method.as_str(), "get" | "post" | "put" | "delete" | "patch") {
                continue;
            }
            let has_input = op["parameters"].as_array().is_some_and(|p| !p.is_empty())
                || op.get("requestBody").is_some();
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            // Integer path parameters are u64s: a larger number is not one (400).
            if let Some(params) = op["parameters"].as_array_mut() {
                for p in params {
                    if p["in"] == "path"
                        && p["schema"]["type"] == "integer"
                        && p["schema"].get("maximum").is_none()
                    {
                        p["schema"]["maximum"] = json!(u64::MAX);
                        p["schema"]["minimum"] = json!(0);
                    }
                    // `int64` would say "at most 2^63 - 1"; these take any u64. Likewise
                    // `int32` and the u32 parameters (institution ids): a fuzzer takes a number
                    // over 2^31 - 1 for a wrong one, which the server rightly accepts.
                    if p["schema"]["maximum"] == json!(u64::MAX) {
                        p["schema"]["format"] = json!("uint64");
                    } else if p["schema"]["maximum"] == json!(u32::MAX) {
                        p["schema"]["format"] = json!("uint32");
                    }
                }
            }
            let responses = op["responses"]
                .as_object_mut()
                .expect("every operation has responses");
            let mut add = |status: &str, description: &str| {
                responses
                    .entry(status)
                    .or_insert_with(|| problem_response(description));
            };
            if has_input {
                add("400", "Malformed input: the problem names the field");
            }
            if secured {
                add(
                    "401",
                    "No session, an unknown or expired token, or the chain ended the session",
                );
            }
            add(
                "429",
                "Over this client's request rate or requests in flight; see Retry-After",
            );
            if path.starts_with("/v1/") || path == "/ready" {
                add("500", "An internal error (logged, not detailed)");
                add("503", "The node or the index is unavailable; retry later");
            }
            add("504", "The request took longer than the API's timeout");
            for (status, response) in responses.iter_mut() {
                if status.starts_with('4') || status.starts_with('5') {
                    response["content"] = problem_response("")["content"].clone();
                }
                if status == "429" {
                    response["headers"] = json!({ "Retry-After": {
                        "description": "Seconds to wait before retrying",
                        "schema": { "type": "integer", "minimum": 1 } } });
                }
            }
        }
    }
}

/// Links between operations, for clients and for stateful testing: a challenge is redeemed by
/// the account it was issued to; listed records are read one by one and proven. (Written as the
/// responses' `links` in OpenAPI's own spelling: utoipa's `Link` serializes its keys in
/// snake_case.)
fn links(doc: &mut utoipa::openapi::OpenApi) {
    let mut link = |path: &str, method: &str, status: &str, links: Value| {
        let item = doc
            .paths
            .paths
            .get_mut(path)
            .unwrap_or_else(|| panic!("OpenAPI: no path {path}"));
        let op = match method {
            "get" => item.get.as_mut(),
            _ => item.post.as_mut(),
        }
        .unwrap_or_else(|| panic!("OpenAPI: no {method} {path}"));
        let Some(utoipa::openapi::RefOr::T(response)) = op.responses.responses.get_mut(status)
        else {
            panic!("OpenAPI: no response {status} of {method} {path}");
        };
        response
            .extensions
            .get_or_insert_with(Default::default)
            .insert("links".into(), links);
    };
    link(
        "/v1/auth/challenge",
        "post",
        "200",
        json!({ "SignIn": {
            "operationId": "session",
            "requestBody": {
                "account": "$request.body#/account",
                "challenge": "$response.body#/challenge"
            },
            "description": "Sign the challenge with the account's key and redeem it."
        } }),
    );
    link(
        "/v1/access",
        "get",
        "200",
        json!({
            "Record": { "operationId": "access_one",
                        "parameters": { "path.id": "$response.body#/items/0/id" } },
            "Proof": { "operationId": "proof",
                       "parameters": { "path.id": "$response.body#/items/0/id" } }
        }),
    );
    link(
        "/v1/jobs",
        "post",
        "202",
        json!({ "Job": { "operationId": "get",
                         "parameters": { "path.id": "$response.body#/id" } } }),
    );
}

/// Applies [`request_shapes`], [`shared_responses`] and [`links`] to the generated document.
pub fn contract(doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut v = serde_json::to_value(doc).expect("the document serializes");
    request_shapes(&mut v);
    shared_responses(&mut v);
    let mut doc: utoipa::openapi::OpenApi =
        serde_json::from_value(v).expect("the completed document is an OpenAPI document");
    links(&mut doc);
    optional_accessor(&mut doc);
    doc
}

/// `DecisionRequest.accessor`: an SS58 address or null (absent or null: the session's account),
/// as `anyOf`, so that generators keep the address format for the string. (Set on the typed
/// document: utoipa would read an `anyOf` object back as a plain object.)
fn optional_accessor(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{
        schema::{AnyOfBuilder, Schema, SchemaFormat},
        RefOr,
    };
    let accessor = AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::Custom("ss58".into()))),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(
            "The accessor to decide for: an SS58 address. Institutions may only ask for \
             themselves; auditors for anyone. Absent or null: the session's account.",
        ))
        .build();
    let Some(RefOr::T(Schema::Object(request))) = doc
        .components
        .as_mut()
        .and_then(|c| c.schemas.get_mut("DecisionRequest"))
    else {
        panic!("OpenAPI: no DecisionRequest schema");
    };
    assert!(request.properties.contains_key("accessor"));
    request
        .properties
        .insert("accessor".into(), RefOr::T(Schema::AnyOf(accessor)));
}

/// The document served at `/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    static DOC: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    DOC.get_or_init(|| contract(ApiDoc::openapi())).clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        serde_json::to_value(document()).unwrap()
    }

    #[test]
    fn every_error_is_a_problem_document_and_every_shared_status_is_listed() {
        let doc = doc();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                for (status, r) in responses {
                    if status.starts_with('4') || status.starts_with('5') {
                        let content = r["content"].as_object().unwrap();
                        assert_eq!(
                            content.keys().collect::<Vec<_>>(),
                            vec!["application/problem+json"],
                            "{method} {path} {status}"
                        );
                    }
                }
                assert!(responses.contains_key("429"), "{method} {path}");
                if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                    assert!(responses.contains_key("401"), "{method} {path}");
                }
                if op.get("requestBody").is_some()
                    || op["parameters"].as_array().is_some_and(|p| !p.is_empty())
                {
                    assert!(responses.contains_key("400"), "{method} {path}");
                }
            }
        }
    }

    #[test]
    fn names_and_shapes_are_the_servers() {
        let doc = doc();
        let params = doc["paths"]["/v1/access"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .clone();
        let param = |name: &str| {
            params
                .iter()
                .find(|p| p["name"] == name)
                .unwrap_or_else(|| panic!("no parameter {name}"))["schema"]
                .clone()
        };
        assert_eq!(
            param("purpose")["enum"],
            json!([
                "treatment",
                "inference",
                "simulation",
                "federated_training",
                "research",
                "re_identification"
            ])
        );
        assert_eq!(
            param("cursor")["pattern"],
            consentry_indexer::query::CURSOR_PATTERN
        );
        assert_eq!(param("pseudonym")["pattern"], HEX32_PATTERN);
        assert_eq!(
            (
                param("limit")["minimum"].clone(),
                param("limit")["maximum"].clone()
            ),
            (json!(1), json!(1000))
        );
        let decision = &doc["components"]["schemas"]["DecisionRequest"]["properties"];
        assert_eq!(decision["categories"]["minItems"], 1);
        assert_eq!(decision["categories"]["items"]["enum"][2], "labs");
        assert_eq!(decision["accessor"]["anyOf"][0]["format"], "ss58");
        let proof = &doc["paths"]["/v1/access/{id}/proof"]["get"]["parameters"][0]["schema"];
        assert_eq!(proof["maximum"], json!(u64::MAX));
        assert_eq!(proof["format"], "uint64");
        assert_eq!(param("subject")["format"], "uint64");
        assert_eq!(param("institution")["maximum"], json!(u32::MAX));
        assert_eq!(param("institution")["format"], "uint32");
        assert_eq!(
            doc["paths"]["/v1/auth/challenge"]["post"]["responses"]["200"]["links"]["SignIn"]
                ["operationId"],
            "session"
        );
        // Exports take no paging; listings no format.
        let names = |path: &str| -> Vec<String> {
            doc["paths"][path]["get"]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_string())
                .collect()
        };
        let export = names("/v1/export/access");
        assert!(!export.contains(&"cursor".into()) && export.contains(&"format".into()));
        assert!(!names("/v1/access").contains(&"format".into()));
    }
}
