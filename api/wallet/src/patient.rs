//! What a patient (or an appointed guardian) does: claim an enrolment, appoint guardians, grant,
//! amend and revoke consents, read them and the access log back, and be forgotten.
//!
//! Each call here signs one transaction, waits for finality and returns what the chain reported
//! (ids from the events), so the CLI and tests see the same, chain-confirmed values.

use crate::chain::{Chain, Submitted};
use anyhow::{anyhow, bail, Result};
use codec::{Decode, Encode};
use consentry_client::{
    runtime,
    subxt::utils::{AccountId32, Static, H256},
    subxt_signer::sr25519::Keypair,
};
use consentry_primitives::{
    CategorySet, Consent, ConsentId, Grantee, Moment, Pseudonym, PurposeSet, SubjectId,
};
use serde::Serialize;

/// Where and when a transaction landed.
#[derive(Serialize, Debug, Clone)]
pub struct TxInfo {
    /// Extrinsic hash.
    pub hash: H256,
    /// Finalized block hash.
    pub block: H256,
}

impl From<&Submitted> for TxInfo {
    fn from(s: &Submitted) -> Self {
        TxInfo {
            hash: s.hash,
            block: s.block,
        }
    }
}

/// The account of a key.
pub fn account(key: &Keypair) -> AccountId32 {
    key.public_key().into()
}

/// The subject an account is the patient of, if any.
pub async fn subject_of(chain: &Chain, who: &AccountId32) -> Result<Option<SubjectId>> {
    Ok(chain
        .client
        .storage()
        .at_latest()
        .await?
        .fetch(
            &runtime::storage()
                .identity()
                .subject_of_account(who.clone()),
        )
        .await?)
}

/// `explicit`, or the signer's own subject.
pub async fn resolve_subject(
    chain: &Chain,
    who: &AccountId32,
    explicit: Option<SubjectId>,
) -> Result<SubjectId> {
    if let Some(s) = explicit {
        return Ok(s);
    }
    subject_of(chain, who).await?.ok_or_else(|| {
        anyhow!(
            "--subject: the key {who} is not a patient yet; claim an enrolment first (`consentry wallet claim --pseudonym ..`), or pass --subject ID when acting as a guardian"
        )
    })
}

/// Result of [`claim`].
#[derive(Serialize, Debug, Clone)]
pub struct Claimed {
    /// The subject the pseudonym now belongs to.
    pub subject: SubjectId,
    /// The claimed pseudonym, hex.
    pub pseudonym: String,
    /// The transaction.
    pub tx: TxInfo,
}

/// Claims the enrolment `pseudonym` addressed to `key`.
pub async fn claim(chain: &Chain, key: &Keypair, pseudonym: Pseudonym) -> Result<Claimed> {
    let s = chain
        .submit(&runtime::tx().identity().claim(pseudonym), key)
        .await?;
    let ev = s
        .events
        .find_first::<runtime::identity::events::Claimed>()?
        .ok_or_else(|| anyhow!("claim finalized without a Claimed event"))?;
    Ok(Claimed {
        subject: ev.subject,
        pseudonym: format!("0x{}", hex::encode(pseudonym)),
        tx: (&s).into(),
    })
}

/// Appoints `guardian` for the signer's subject.
pub async fn guardian_add(chain: &Chain, key: &Keypair, guardian: AccountId32) -> Result<TxInfo> {
    let s = chain
        .submit(&runtime::tx().identity().appoint_guardian(guardian), key)
        .await?;
    Ok((&s).into())
}

/// Removes `guardian` of `subject` (signed by the patient, or the guardian resigning).
pub async fn guardian_remove(
    chain: &Chain,
    key: &Keypair,
    subject: SubjectId,
    guardian: AccountId32,
) -> Result<TxInfo> {
    let s = chain
        .submit(
            &runtime::tx().identity().remove_guardian(subject, guardian),
            key,
        )
        .await?;
    Ok((&s).into())
}

/// What to grant.
#[derive(Debug, Clone)]
pub struct GrantSpec {
    /// The patient.
    pub subject: SubjectId,
    /// Who may use the data.
    pub grantee: Grantee,
    /// What for.
    pub purposes: PurposeSet,
    /// Which data.
    pub categories: CategorySet,
    /// Start (ms); `None` = now.
    pub valid_from: Option<Moment>,
    /// End (ms); `None` = until revoked.
    pub valid_until: Option<Moment>,
    /// Use limit.
    pub max_uses: Option<u32>,
}

/// Result of [`grant`].
#[derive(Serialize, Debug, Clone)]
pub struct Granted {
    /// The new consent's id.
    pub consent: ConsentId,
    /// The patient.
    pub subject: SubjectId,
    /// The transaction.
    pub tx: TxInfo,
}

/// Grants a consent.
pub async fn grant(chain: &Chain, key: &Keypair, spec: &GrantSpec) -> Result<Granted> {
    let call = runtime::tx().consent().grant(
        spec.subject,
        Static(spec.grantee),
        Static(spec.purposes),
        Static(spec.categories),
        spec.valid_from,
        spec.valid_until,
        spec.max_uses,
    );
    let s = chain.submit(&call, key).await?;
    let ev = s
        .events
        .find_first::<runtime::consent::events::ConsentGranted>()?
        .ok_or_else(|| anyhow!("grant finalized without a ConsentGranted event"))?;
    Ok(Granted {
        consent: ev.consent,
        subject: ev.subject,
        tx: (&s).into(),
    })
}

/// A narrowing of a consent; `None` fields keep their current value.
#[derive(Debug, Clone, Default)]
pub struct AmendSpec {
    /// Fewer purposes.
    pub purposes: Option<PurposeSet>,
    /// Fewer categories.
    pub categories: Option<CategorySet>,
    /// An earlier end (ms).
    pub valid_until: Option<Moment>,
    /// Fewer uses.
    pub max_uses: Option<u32>,
}

/// One consent as stored.
pub async fn consent(chain: &Chain, id: ConsentId) -> Result<Option<Consent<AccountId32>>> {
    let found = chain
        .client
        .storage()
        .at_latest()
        .await?
        .fetch(&runtime::storage().consent().consents(id))
        .await?;
    found.map(|c| recode(&c)).transpose()
}

/// Narrows consent `id`; unchanged fields are filled from the chain's current value, because the
/// call replaces all four.
pub async fn amend(
    chain: &Chain,
    key: &Keypair,
    id: ConsentId,
    spec: &AmendSpec,
) -> Result<TxInfo> {
    let Some(current) = consent(chain, id).await? else {
        bail!("--consent: no consent {id} on chain (list yours with `consentry wallet consents`)");
    };
    if spec.purposes.is_none()
        && spec.categories.is_none()
        && spec.valid_until.is_none()
        && spec.max_uses.is_none()
    {
        bail!(
            "amend: nothing to change; pass --purpose, --categories, --until/--days or --max-uses"
        );
    }
    let call = runtime::tx().consent().amend(
        id,
        Static(spec.purposes.unwrap_or(current.purposes)),
        Static(spec.categories.unwrap_or(current.categories)),
        spec.valid_until.or(current.valid_until),
        spec.max_uses.or(current.max_uses),
    );
    let s = chain.submit(&call, key).await?;
    Ok((&s).into())
}

/// Revokes consent `id`.
pub async fn revoke(chain: &Chain, key: &Keypair, id: ConsentId) -> Result<TxInfo> {
    let s = chain
        .submit(&runtime::tx().consent().revoke(id), key)
        .await?;
    Ok((&s).into())
}

/// Erases `subject` (the right to be forgotten): every consent ends, every pseudonym link is
/// erased, every guardian removed. Irreversible.
pub async fn forget(chain: &Chain, key: &Keypair, subject: SubjectId) -> Result<TxInfo> {
    let s = chain
        .submit(&runtime::tx().identity().forget(subject), key)
        .await?;
    Ok((&s).into())
}

/// A subject's consents (oldest first), from the runtime API.
pub async fn consents(
    chain: &Chain,
    subject: SubjectId,
) -> Result<Vec<(ConsentId, Consent<AccountId32>)>> {
    let list = chain
        .client
        .runtime_api()
        .at_latest()
        .await?
        .call(runtime::apis().consent_api().consents_of(subject))
        .await?;
    list.into_iter()
        .map(|(id, c)| Ok((id, recode(&c)?)))
        .collect()
}

/// Every access record about `subject` — granted, denied and emergency — newest first, paging
/// through the runtime API until the cursor runs out.
pub async fn accesses(chain: &Chain, subject: SubjectId) -> Result<Vec<crate::proof::Record>> {
    const PAGE: u32 = 50;
    let rt = chain.client.runtime_api().at_latest().await?;
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = rt
            .call(
                runtime::apis()
                    .audit_api()
                    .records_by_subject(subject, cursor, PAGE),
            )
            .await?;
        for r in &page {
            out.push(recode(r)?);
        }
        match next {
            Some(n) if !page.is_empty() && Some(n) != cursor => cursor = Some(n),
            _ => break,
        }
    }
    Ok(out)
}

/// Converts a subxt-generated value to the runtime's own type with the same SCALE layout, so
/// output uses the domain types (and their serde forms) from `consentry-primitives`.
fn recode<A: Encode, B: Decode>(a: &A) -> Result<B> {
    B::decode(&mut &a.encode()[..]).map_err(|e| anyhow!("unexpected on-chain layout: {e}"))
}
