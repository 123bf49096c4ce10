//! The JSON bodies the Consentry API takes, and their parsing into checked values.
//!
//! A handler takes a body in two steps: `serde_json` decodes it into one of the types here (a
//! failure is the API's `400 bad-request`), then the type's `parse` checks every field and returns
//! the values the handler acts on, or a [`FieldError`] naming the field to blame (the API's `400`
//! problem with `field` set). Nothing reaches the chain, the index or a worker before both steps
//! passed. `fuzz/fuzz_targets/api_bodies.rs` feeds any bytes through both steps.

use consentry_primitives::{CategorySet, DataCategory, Purpose};
use serde::{Deserialize, Serialize};
use sp_runtime::AccountId32;
use std::str::FromStr;
use utoipa::ToSchema;

/// A body field that is malformed: which, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name in the body (or query), as the client spelled it.
    pub field: &'static str,
    /// What is wrong and, where there is one, the right spelling.
    pub detail: String,
}

impl FieldError {
    fn new(field: &'static str, detail: impl Into<String>) -> Self {
        Self {
            field,
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.detail)
    }
}

impl std::error::Error for FieldError {}

/// Parses an SS58 account address.
pub fn parse_account(field: &'static str, s: &str) -> Result<AccountId32, FieldError> {
    AccountId32::from_str(s.trim())
        .map_err(|_| FieldError::new(field, format!("'{s}' is not an SS58 account address")))
}

/// Parses `0x`-prefixed or bare hex of exactly `N` bytes.
pub fn parse_hex<const N: usize>(field: &'static str, s: &str) -> Result<[u8; N], FieldError> {
    let raw = hex::decode(s.trim().trim_start_matches("0x"))
        .map_err(|e| FieldError::new(field, format!("not hex: {e}")))?;
    raw.try_into().map_err(|v: Vec<u8>| {
        FieldError::new(field, format!("expected {N} bytes, got {}", v.len()))
    })
}

/// Parses a purpose's canonical name; another spelling is refused naming the canonical one, an
/// unknown name with the list of names.
pub fn parse_purpose(field: &'static str, s: &str) -> Result<Purpose, FieldError> {
    Purpose::from_name(s).map_err(|e| FieldError::new(field, e.to_string()))
}

/// Parses a non-empty list of data category names (canonical, as [`parse_purpose`]).
pub fn parse_categories(field: &'static str, names: &[String]) -> Result<CategorySet, FieldError> {
    if names.is_empty() {
        return Err(FieldError::new(
            field,
            "at least one data category is required",
        ));
    }
    let mut set = Vec::with_capacity(names.len());
    for n in names {
        set.push(DataCategory::from_name(n).map_err(|e| FieldError::new(field, e.to_string()))?);
    }
    Ok(CategorySet::of(&set))
}

/// A body the API takes: its fields, and what it parses into.
pub trait Body: serde::de::DeserializeOwned {
    /// The fields a [`FieldError`] of this body may name.
    const FIELDS: &'static [&'static str];
    /// The checked values.
    type Parsed;
    /// Checks every field.
    fn parse(&self) -> Result<Self::Parsed, FieldError>;
}

/// `POST /v1/auth/challenge` body.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ChallengeRequest {
    /// The caller's account, SS58.
    pub account: String,
}

impl Body for ChallengeRequest {
    const FIELDS: &'static [&'static str] = &["account"];
    type Parsed = AccountId32;
    fn parse(&self) -> Result<AccountId32, FieldError> {
        parse_account("account", &self.account)
    }
}

/// `POST /v1/auth/session` body.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct SessionRequest {
    /// The account that signs, SS58.
    pub account: String,
    /// The challenge text as received.
    pub challenge: String,
    /// The sr25519 signature of `<Bytes>challenge</Bytes>`, hex (64 bytes).
    pub signature: String,
}

/// A [`SessionRequest`]'s account and signature (the challenge is looked up as sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedChallenge {
    /// Who signed.
    pub account: AccountId32,
    /// The signature's 64 bytes.
    pub signature: [u8; 64],
}

impl Body for SessionRequest {
    const FIELDS: &'static [&'static str] = &["account", "challenge", "signature"];
    type Parsed = SignedChallenge;
    fn parse(&self) -> Result<SignedChallenge, FieldError> {
        Ok(SignedChallenge {
            account: parse_account("account", &self.account)?,
            signature: parse_hex::<64>("signature", &self.signature)?,
        })
    }
}

/// `POST /v1/decision` body.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct DecisionRequest {
    /// The patient's pseudonym at the asking institution, hex (32 bytes).
    pub pseudonym: String,
    /// The purpose, e.g. `simulation`.
    pub purpose: String,
    /// Data categories, e.g. `["labs", "genomic"]`.
    pub categories: Vec<String>,
    /// The accessor to decide for (SS58). Institutions may only ask for themselves; auditors for
    /// anyone. Defaults to the session's account.
    pub accessor: Option<String>,
}

/// What a [`DecisionRequest`] asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionQuery {
    /// The pseudonym.
    pub pseudonym: [u8; 32],
    /// The purpose.
    pub purpose: Purpose,
    /// The categories, at least one.
    pub categories: CategorySet,
    /// The accessor, when the body names one.
    pub accessor: Option<AccountId32>,
}

impl Body for DecisionRequest {
    const FIELDS: &'static [&'static str] = &["pseudonym", "purpose", "categories", "accessor"];
    type Parsed = DecisionQuery;
    fn parse(&self) -> Result<DecisionQuery, FieldError> {
        Ok(DecisionQuery {
            pseudonym: parse_hex::<32>("pseudonym", &self.pseudonym)?,
            purpose: parse_purpose("purpose", &self.purpose)?,
            categories: parse_categories("categories", &self.categories)?,
            accessor: self
                .accessor
                .as_deref()
                .map(|a| parse_account("accessor", a))
                .transpose()?,
        })
    }
}

/// `POST /v1/relay` body.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RelayRequest {
    /// A signed extrinsic, SCALE-encoded, hex.
    pub extrinsic: String,
}

impl Body for RelayRequest {
    const FIELDS: &'static [&'static str] = &["extrinsic"];
    /// The extrinsic's bytes, not empty (whether they are an extrinsic the runtime decides).
    type Parsed = Vec<u8>;
    fn parse(&self) -> Result<Vec<u8>, FieldError> {
        let bytes = hex::decode(self.extrinsic.trim().trim_start_matches("0x"))
            .map_err(|e| FieldError::new("extrinsic", format!("not hex: {e}")))?;
        if bytes.is_empty() {
            return Err(FieldError::new("extrinsic", "empty"));
        }
        Ok(bytes)
    }
}

/// `POST /v1/jobs` body.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct JobRequest {
    /// The patient's pseudonym at this institution: 64 hex digits, `0x` optional.
    #[schema(pattern = r"^(0x)?[0-9a-fA-F]{64}$")]
    pub pseudonym: String,
    /// The workload, e.g. `simulation` or `inference` (the worker lists its own).
    pub workload: String,
    /// The workload's parameters.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    /// Another institution's job for this institution's patients: the id of the data-use
    /// agreement (in the registry contract this institution's worker checks) it runs under.
    /// Required then; absent for this institution's own jobs.
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(value_type = Option<u64>, minimum = 0)]
    pub agreement: Option<u64>,
}

impl Body for JobRequest {
    const FIELDS: &'static [&'static str] = &["pseudonym", "workload", "params", "agreement"];
    /// The pseudonym; the workload and its parameters are the worker's to check, the agreement
    /// is checked against the caller.
    type Parsed = [u8; 32];
    fn parse(&self) -> Result<[u8; 32], FieldError> {
        // Exactly the schema's pattern: no spaces around it, unlike the other hex fields, as the
        // string itself travels on to the worker. `decode_to_slice` takes 64 hex digits only.
        let hex = self.pseudonym.strip_prefix("0x").unwrap_or(&self.pseudonym);
        let mut pseudonym = [0u8; 32];
        hex::decode_to_slice(hex, &mut pseudonym)
            .map_err(|_| FieldError::new("pseudonym", "expected 64 hex digits"))?;
        Ok(pseudonym)
    }
}

/// An id that JSON may spell `7` or `7.0` (JSON Schema's integers include both): a whole number
/// from 0 to 2^53 - 1, the integers a JSON number carries exactly.
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    use serde::de::Error;
    const MAX_EXACT: f64 = 9_007_199_254_740_991.0;
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    n.as_u64()
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && (0.0..=MAX_EXACT).contains(f))
                .map(|f| f as u64)
        })
        .map(Some)
        .ok_or_else(|| {
            D::Error::custom(format!(
                "{n} is not a data-use agreement id (a whole number >= 0)"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(body: serde_json::Value) -> Result<DecisionQuery, FieldError> {
        serde_json::from_value::<DecisionRequest>(body)
            .expect("well-formed JSON")
            .parse()
    }

    #[test]
    fn a_decision_names_the_field_to_blame() {
        let ok = serde_json::json!({
            "pseudonym": format!("0x{}", "ab".repeat(32)),
            "purpose": "federated_training",
            "categories": ["labs", "genomic"],
            "accessor": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
        });
        let q = decision(ok.clone()).expect("parses");
        assert_eq!(q.pseudonym, [0xab; 32]);
        assert_eq!(q.purpose, Purpose::FederatedTraining);
        assert_eq!(
            q.categories,
            CategorySet::of(&[DataCategory::Labs, DataCategory::Genomic])
        );
        assert!(q.accessor.is_some());

        let with = |k: &str, v: serde_json::Value| {
            let mut b = ok.clone();
            b[k] = v;
            decision(b).expect_err("refused")
        };
        assert_eq!(with("pseudonym", "0xabcd".into()).field, "pseudonym");
        let e = with("purpose", "federated-training".into());
        assert_eq!(e.field, "purpose");
        assert!(e.detail.contains("federated_training"), "{}", e.detail);
        assert_eq!(
            with("categories", serde_json::json!([])).field,
            "categories"
        );
        assert_eq!(
            with("categories", serde_json::json!(["Labs"])).field,
            "categories"
        );
        assert_eq!(with("accessor", "5Grw".into()).field, "accessor");
    }

    #[test]
    fn a_relay_takes_nonempty_hex() {
        let parse = |s: &str| {
            RelayRequest {
                extrinsic: s.into(),
            }
            .parse()
        };
        assert_eq!(parse("0x0102").unwrap(), vec![1, 2]);
        assert_eq!(parse("0x").unwrap_err().detail, "empty");
        assert_eq!(parse("0xzz").unwrap_err().field, "extrinsic");
    }

    #[test]
    fn a_job_takes_exactly_the_pattern_and_whole_agreement_ids() {
        let job = |pseudonym: &str, agreement: serde_json::Value| {
            serde_json::from_value::<JobRequest>(serde_json::json!({
                "pseudonym": pseudonym, "workload": "simulation", "agreement": agreement,
            }))
        };
        let hex = "cd".repeat(32);
        let j = job(&hex, 7.0.into()).expect("7.0 is a whole number");
        assert_eq!(j.agreement, Some(7));
        assert_eq!(j.parse().unwrap(), [0xcd; 32]);
        assert!(job(&hex, 7.5.into()).is_err());
        assert!(job(&hex, (-1).into()).is_err());
        let spaced = job(&format!(" {hex}"), serde_json::Value::Null).expect("JSON");
        assert_eq!(spaced.parse().unwrap_err().field, "pseudonym");
    }

    #[test]
    fn a_session_needs_a_64_byte_signature() {
        let s = SessionRequest {
            account: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY".into(),
            challenge: "anything".into(),
            signature: format!("0x{}", "11".repeat(63)),
        };
        let e = s.parse().unwrap_err();
        assert_eq!(
            (e.field, e.detail.as_str()),
            ("signature", "expected 64 bytes, got 63")
        );
    }
}
