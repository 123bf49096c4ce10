//! Council motions from the wallet. Governance acts (deploying a contract, registering an
//! institution, changing the validator set) are motions of the council (`pallet_collective`),
//! carried by two thirds of its seats: one member proposes (`contracts deploy` does), the others
//! see the open motions and vote, and any member closes a motion once it has its votes, which
//! dispatches it. On the dev chain the council is one member, whose proposal executes at once.

use crate::chain::{Chain, Submitted};
use anyhow::{anyhow, bail, Result};
use consentry_client::{
    contracts::instantiated,
    runtime::{self, runtime_types::sp_weights::weight_v2::Weight},
    subxt::{self, ext::scale_value::ValueDef, utils::AccountId32, utils::H256},
    subxt_signer::sr25519::Keypair,
};
use serde::Serialize;

/// An open council motion.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Motion {
    /// The proposal's hash (what `vote` and `close` name).
    pub hash: H256,
    /// Its index among all motions ever proposed.
    pub index: u32,
    /// What it dispatches, as `Pallet.call` (e.g. `Contracts.instantiate_with_code`).
    pub call: String,
    /// Ayes it needs to pass.
    pub threshold: u32,
    /// Members who voted aye.
    pub ayes: Vec<AccountId32>,
    /// Members who voted nay.
    pub nays: Vec<AccountId32>,
    /// The block after which it may be closed without its votes (and then fails, unless the
    /// prime member's default vote carries it).
    pub end: u32,
}

impl Motion {
    /// Whether it has the ayes to pass now.
    pub fn carried(&self) -> bool {
        self.ayes.len() as u32 >= self.threshold
    }
}

/// A vote cast.
#[derive(Serialize, Debug)]
pub struct Voted {
    /// The motion after the vote.
    pub motion: Motion,
    /// The vote's transaction.
    pub tx: crate::patient::TxInfo,
}

/// A motion closed.
#[derive(Serialize, Debug)]
pub struct Closed {
    /// The proposal's hash.
    pub hash: H256,
    /// Whether the council approved it.
    pub approved: bool,
    /// Why the approved call failed when dispatched (its dispatch error), if it did.
    pub dispatch_error: Option<String>,
    /// The contract instantiated by the call, for a deployment.
    pub contract: Option<AccountId32>,
    /// The closing transaction.
    pub tx: crate::patient::TxInfo,
}

/// The council's members, in seat order.
pub async fn members(chain: &Chain) -> Result<Vec<AccountId32>> {
    Ok(chain
        .client
        .storage()
        .at_latest()
        .await?
        .fetch_or_default(&runtime::storage().council().members())
        .await?)
}

/// The open motions, oldest first.
pub async fn motions(chain: &Chain) -> Result<Vec<Motion>> {
    let storage = chain.client.storage().at_latest().await?;
    let hashes = storage
        .fetch_or_default(&runtime::storage().council().proposals())
        .await?;
    let mut out = Vec::with_capacity(hashes.0.len());
    for hash in hashes.0 {
        if let Some(m) = motion(chain, hash).await? {
            out.push(m);
        }
    }
    out.sort_by_key(|m| m.index);
    Ok(out)
}

/// The open motion with proposal hash `hash`, if there is one.
pub async fn motion(chain: &Chain, hash: H256) -> Result<Option<Motion>> {
    let storage = chain.client.storage().at_latest().await?;
    let Some(votes) = storage
        .fetch(&runtime::storage().council().voting(hash))
        .await?
    else {
        return Ok(None);
    };
    // The call's pallet and name from the metadata, whatever the call is: the dynamic decoding
    // names the variants, the typed one would need a match over every call of the runtime.
    let call = storage
        .fetch(&proposal_of(hash))
        .await?
        .map(|thunk| thunk.to_value().map(|v| call_name(&v.value)))
        .transpose()?
        .unwrap_or_else(|| "(unknown)".into());
    Ok(Some(Motion {
        hash,
        index: votes.index,
        call,
        threshold: votes.threshold,
        ayes: votes.ayes,
        nays: votes.nays,
        end: votes.end,
    }))
}

/// `Pallet.call` of a decoded `RuntimeCall`.
fn call_name<T>(v: &ValueDef<T>) -> String {
    match v {
        ValueDef::Variant(pallet) => {
            let inner = pallet.values.values().next().map(|c| &c.value);
            match inner {
                Some(ValueDef::Variant(call)) => format!("{}.{}", pallet.name, call.name),
                _ => pallet.name.clone(),
            }
        }
        _ => "(not a call)".into(),
    }
}

/// The open motion `hash`, or an error that says there is none.
async fn open(chain: &Chain, hash: H256) -> Result<Motion> {
    motion(chain, hash).await?.ok_or_else(|| {
        anyhow!("--motion: no open council motion {hash:?} (it was closed, or never proposed)")
    })
}

/// Refuses a signer who holds no seat, before the chain does; the council's members otherwise.
async fn seated(chain: &Chain, member: &Keypair) -> Result<Vec<AccountId32>> {
    let me = AccountId32(member.public_key().0);
    let members = members(chain).await?;
    if !members.contains(&me) {
        bail!("{me} holds no council seat: only council members vote on and close motions");
    }
    Ok(members)
}

/// Votes on motion `hash` as `member`: aye (`approve`) or nay. A member may change a vote; the
/// same vote twice is refused.
pub async fn vote(chain: &Chain, member: &Keypair, hash: H256, approve: bool) -> Result<Voted> {
    seated(chain, member).await?;
    let m = open(chain, hash).await?;
    let me = AccountId32(member.public_key().0);
    if (approve && m.ayes.contains(&me)) || (!approve && m.nays.contains(&me)) {
        bail!(
            "you already voted {} on motion {hash:?}",
            if approve { "aye" } else { "nay" }
        );
    }
    let s = chain
        .submit(
            &runtime::tx().council().vote(hash, m.index, approve),
            member,
        )
        .await?;
    let motion = open(chain, hash).await?;
    Ok(Voted {
        motion,
        tx: (&s).into(),
    })
}

/// Closes motion `hash` as `member`: carried, it is dispatched (a deployment's contract address
/// is read from the dispatch's events); past its end without the votes, it is disapproved.
/// Before either, the chain would refuse it (`TooEarly`), so this says how many ayes it lacks.
pub async fn close(chain: &Chain, member: &Keypair, hash: H256) -> Result<Closed> {
    let members = seated(chain, member).await?.len() as u32;
    let m = open(chain, hash).await?;
    let undecided = members.saturating_sub((m.ayes.len() + m.nays.len()) as u32);
    let can_fail = members.saturating_sub(m.nays.len() as u32) < m.threshold;
    let now = chain.client.blocks().at_latest().await?.number();
    if !m.carried() && !can_fail && now < m.end {
        bail!(
            "motion {hash:?} has {} of the {} ayes it needs ({undecided} members have not voted); \
             it can be closed once it has them, or after block {}",
            m.ayes.len(),
            m.threshold,
            m.end
        );
    }
    let len = proposal_len(chain, hash).await?;
    // The bound must cover the call's weight; the council's own cap on a proposal's weight
    // always does, and the unused part is refunded.
    let bound: Weight = chain
        .client
        .constants()
        .at(&runtime::constants().council().max_proposal_weight())?;
    let s = chain
        .submit(
            &runtime::tx().council().close(hash, m.index, bound, len),
            member,
        )
        .await?;
    outcome(hash, &s)
}

/// The encoded length of motion `hash`'s call (`close` must bound it).
async fn proposal_len(chain: &Chain, hash: H256) -> Result<u32> {
    let key = chain.client.storage().address_bytes(&proposal_of(hash))?;
    let bytes = chain
        .client
        .storage()
        .at_latest()
        .await?
        .fetch_raw(key)
        .await?
        .ok_or_else(|| anyhow!("--motion: motion {hash:?} has no stored call"))?;
    Ok(bytes.len() as u32)
}

/// `Council::ProposalOf(hash)`, decoded by the metadata (a call of any pallet).
fn proposal_of(hash: H256) -> subxt::storage::DynamicAddress<Vec<subxt::dynamic::Value>> {
    subxt::dynamic::storage(
        "Council",
        "ProposalOf",
        vec![subxt::dynamic::Value::from_bytes(hash.0)],
    )
}

/// What a closing (or a proposal that executed at once) did, from its events.
pub fn outcome(hash: H256, s: &Submitted) -> Result<Closed> {
    let executed = s
        .events
        .find_first::<runtime::council::events::Executed>()?;
    // A proposal carried at once (threshold 1) is executed without an `Approved` event.
    let approved = executed.is_some()
        || s.events
            .find_first::<runtime::council::events::Approved>()?
            .is_some();
    let dispatch_error = executed
        .and_then(|e| e.result.err())
        .map(|e| format!("{e:?}"));
    Ok(Closed {
        hash,
        approved,
        dispatch_error,
        contract: instantiated(&s.events)?,
        tx: s.into(),
    })
}
