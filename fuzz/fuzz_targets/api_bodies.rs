//! A JSON body for one of the API's endpoints, any bytes: the first byte picks the endpoint, the
//! rest is the body. Each goes through exactly what the API runs on it (`serde_json`, then the
//! body's `parse`). Beyond not panicking:
//! - a refusal names a field of that body, with a reason;
//! - what parses, written back as a client would write it (canonical names, `0x` hex, SS58),
//!   parses to the same values: no two spellings the API reads differently.

#![no_main]

use consentry_api_requests::{
    Body, ChallengeRequest, DecisionRequest, JobRequest, RelayRequest, SessionRequest,
};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use sp_core::crypto::Ss58Codec;

/// Decodes and parses `bytes` as body `B`, checking a refusal's field; the parsed values, if any.
fn take<B: Body>(bytes: &[u8]) -> Option<B::Parsed> {
    let body: B = serde_json::from_slice(bytes).ok()?;
    match body.parse() {
        Ok(parsed) => Some(parsed),
        Err(e) => {
            assert!(
                B::FIELDS.contains(&e.field),
                "refusal names '{}', not a field of the body",
                e.field
            );
            assert!(
                !e.detail.is_empty(),
                "refusal of '{}' says nothing",
                e.field
            );
            None
        }
    }
}

/// Parses a body written as `value`, which must be accepted.
fn again<B: Body>(value: Value) -> B::Parsed {
    let body: B = serde_json::from_value(value.clone()).expect("a canonical body decodes");
    body.parse()
        .unwrap_or_else(|e| panic!("the canonical body {value} is refused: {e}"))
}

fn names(set: consentry_primitives::CategorySet) -> Vec<&'static str> {
    set.iter().map(|c| c.name()).collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 5 {
        0 => {
            if let Some(account) = take::<ChallengeRequest>(body) {
                let written = json!({ "account": account.to_ss58check() });
                assert_eq!(again::<ChallengeRequest>(written), account);
            }
        }
        1 => {
            if let Some(signed) = take::<SessionRequest>(body) {
                let written = json!({
                    "account": signed.account.to_ss58check(),
                    "challenge": "",
                    "signature": format!("0x{}", hex::encode(signed.signature)),
                });
                assert_eq!(again::<SessionRequest>(written), signed);
            }
        }
        2 => {
            if let Some(q) = take::<DecisionRequest>(body) {
                let written = json!({
                    "pseudonym": format!("0x{}", hex::encode(q.pseudonym)),
                    "purpose": q.purpose.name(),
                    "categories": names(q.categories),
                    "accessor": q.accessor.as_ref().map(|a| a.to_ss58check()),
                });
                assert_eq!(again::<DecisionRequest>(written), q);
            }
        }
        3 => {
            if let Some(bytes) = take::<RelayRequest>(body) {
                assert!(!bytes.is_empty());
                let written = json!({ "extrinsic": format!("0x{}", hex::encode(&bytes)) });
                assert_eq!(again::<RelayRequest>(written), bytes);
            }
        }
        _ => {
            if let Some(pseudonym) = take::<JobRequest>(body) {
                let written = json!({
                    "pseudonym": hex::encode(pseudonym),
                    "workload": "simulation",
                });
                assert_eq!(again::<JobRequest>(written), pseudonym);
            }
        }
    }
});
