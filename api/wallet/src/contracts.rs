//! Institutions' contracts from the wallet: deploying by council motion, data-use agreements and
//! federated-learning consortia.
//!
//! Every state-changing message is dry-run first, at the latest finalized block, as the signer:
//! a message the contract would refuse is reported with the contract's own error (naming what is
//! wrong) and never submitted. What passes is sent with the dry run's weight plus a margin, and
//! its outcome read from the finalized block's events.

use crate::chain::{Chain, Submitted};
use anyhow::{anyhow, bail, Context, Result};
use consentry_client::{
    contract_abi::{consortium, dua, Event, Message},
    contracts::{events_of, with_margin, Contract, Deployment},
    runtime::{self, runtime_types},
    subxt::utils::AccountId32,
    subxt_signer::sr25519::Keypair,
};
use serde::Serialize;

/// The keyless account council motions deploy contracts as (the runtime's `contracts::Deployer`:
/// `PalletId(*b"cnsy/dep")` as an account, "modl" ++ id, zero-padded).
pub fn deployer() -> AccountId32 {
    let mut raw = [0u8; 32];
    raw[..4].copy_from_slice(b"modl");
    raw[4..12].copy_from_slice(b"cnsy/dep");
    AccountId32(raw)
}

/// Which contract to deploy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The data-use agreement registry.
    Dua,
    /// A federated-learning consortium (one study).
    Consortium,
}

impl Kind {
    /// Its name on the command line and in output.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Dua => "dua",
            Kind::Consortium => "consortium",
        }
    }
}

/// A deployed contract.
#[derive(Serialize, Debug, Clone)]
pub struct Deployed {
    /// `dua` or `consortium`.
    pub contract: &'static str,
    /// Its address (SS58).
    pub address: AccountId32,
    /// The council motion's transaction.
    pub tx: crate::patient::TxInfo,
}

/// What a deployment motion did.
#[derive(Serialize, Debug)]
#[serde(rename_all = "snake_case")]
pub enum Deploying {
    /// The motion executed at once (the proposer's vote alone carried it): the contract.
    Deployed(Deployed),
    /// The motion is open for the other members (`council vote`, then `council close`).
    Proposed(crate::council::Motion),
}

/// Deploys a contract by council motion, signed by `member` (a council member). The motion's
/// threshold is two thirds of the council; where `member`'s vote alone reaches it (a council of
/// one, as on the dev chain) the motion executes at once and this is the contract. Otherwise
/// `member` votes aye on it and it is left open for the other members, and this is the motion.
pub async fn propose_deploy<M: Message>(
    chain: &Chain,
    member: &Keypair,
    kind: Kind,
    code: &[u8],
    constructor: M,
    salt: Vec<u8>,
) -> Result<Deploying> {
    let deployment = Deployment {
        code,
        constructor,
        salt,
    };
    let (gas, _) = deployment
        .dry_run(&chain.client, &deployer())
        .await
        .context("the instantiation's dry run failed")?;
    let call = deployment.runtime_call(&chain.client, with_margin(&gas))?;
    let len = consentry_client::contracts::encoded_len(&call);
    let members = crate::council::members(chain).await?;
    if !members.contains(&AccountId32(member.public_key().0)) {
        bail!(
            "{} holds no council seat: contracts are deployed by council motion, proposed by a member",
            AccountId32(member.public_key().0)
        );
    }
    // Two thirds of the seats, rounded up: what `EnsureProportionAtLeast<2, 3>` accepts.
    let threshold = (2 * members.len() as u32).div_ceil(3).max(1);
    let s = chain
        .submit(
            &runtime::tx().council().propose(threshold, call, len),
            member,
        )
        .await?;
    if let Some(p) = s
        .events
        .find_first::<runtime::council::events::Proposed>()?
    {
        // A proposal carries no vote of its own (`pallet_collective`): the proposer's aye is a
        // vote like the others'.
        let voted = crate::council::vote(chain, member, p.proposal_hash, true)
            .await
            .with_context(|| format!("motion {:?} was proposed", p.proposal_hash))?;
        return Ok(Deploying::Proposed(voted.motion));
    }
    let done = crate::council::outcome(Default::default(), &s)?;
    if let Some(e) = done.dispatch_error {
        bail!("the council's motion executed but instantiation failed: {e}");
    }
    let address = done
        .contract
        .ok_or_else(|| anyhow!("the motion executed without instantiating a contract"))?;
    Ok(Deploying::Deployed(Deployed {
        contract: kind.name(),
        address,
        tx: (&s).into(),
    }))
}

/// [`propose_deploy`] where the proposer's vote alone carries the motion (the dev chain's
/// council of one); an open motion is an error that names it.
pub async fn deploy<M: Message>(
    chain: &Chain,
    member: &Keypair,
    kind: Kind,
    code: &[u8],
    constructor: M,
    salt: Vec<u8>,
) -> Result<Deployed> {
    match propose_deploy(chain, member, kind, code, constructor, salt).await? {
        Deploying::Deployed(d) => Ok(d),
        Deploying::Proposed(m) => bail!(
            "the council needs {} votes to deploy: motion {:?} (index {}) is open for the other members",
            m.threshold,
            m.hash,
            m.index
        ),
    }
}

/// Why a contract refused a message, by the contract's own error.
#[derive(Debug, thiserror::Error)]
#[error("the contract refused `{message}`: {error}")]
pub struct Refused {
    /// The message's label.
    pub message: &'static str,
    /// The contract's error, as its `Debug` names it (variant and fields).
    pub error: String,
}

/// Runs a message whose answer is `Result<T, E>`: dry run, refusal by the contract's error,
/// then the transaction. Returns the dry run's `T` and the finalized transaction.
pub async fn send<M, T, E>(
    chain: &Chain,
    signer: &Keypair,
    contract: &Contract,
    msg: &M,
) -> Result<(T, Submitted)>
where
    M: Message<Output = Result<T, E>>,
    E: std::fmt::Debug,
{
    let me = AccountId32(signer.public_key().0);
    let dry = contract.query(&chain.client, &me, msg).await?;
    let value = dry.output.map_err(|e| Refused {
        message: M::LABEL,
        error: format!("{e:?}"),
    })?;
    let s = chain
        .submit(&contract.call(msg, with_margin(&dry.gas_required)), signer)
        .await?;
    Ok((value, s))
}

/// Reads a message's answer (a query), as `origin`.
pub async fn read<M: Message>(
    chain: &Chain,
    origin: &AccountId32,
    contract: &Contract,
    msg: &M,
) -> Result<M::Output> {
    Ok(contract.query(&chain.client, origin, msg).await?.output)
}

/// The events of type `E` the contract emitted in a transaction.
pub fn emitted<E: Event>(s: &Submitted, contract: &Contract) -> Result<Vec<E>> {
    Ok(events_of::<E>(&s.events, &contract.address)?)
}

/// A data-use agreement proposal's outcome.
#[derive(Serialize, Debug)]
pub struct Proposed {
    /// The agreement's id.
    pub id: dua::DuaId,
    /// The transaction.
    pub tx: crate::patient::TxInfo,
}

/// Proposes an agreement; the signer's institution must be a party.
pub async fn dua_propose(
    chain: &Chain,
    key: &Keypair,
    contract: &Contract,
    terms: dua::Terms,
) -> Result<Proposed> {
    let (id, s) = send(chain, key, contract, &dua::Propose { terms }).await?;
    // The id the block assigned (another proposal may have come first since the dry run).
    let id = emitted::<dua::Proposed>(&s, contract)?
        .first()
        .map(|p| p.id)
        .unwrap_or(id);
    Ok(Proposed {
        id,
        tx: (&s).into(),
    })
}

/// Whether a signature put the agreement in force.
#[derive(Serialize, Debug)]
pub struct SignedDua {
    /// The agreement.
    pub id: dua::DuaId,
    /// Whether every party has now signed.
    pub in_force: bool,
    /// The transaction.
    pub tx: crate::patient::TxInfo,
}

/// Signs an agreement for the signer's institution.
pub async fn dua_sign(
    chain: &Chain,
    key: &Keypair,
    contract: &Contract,
    id: dua::DuaId,
) -> Result<SignedDua> {
    let ((), s) = send(chain, key, contract, &dua::Sign { id }).await?;
    let in_force = !emitted::<dua::InForce>(&s, contract)?.is_empty();
    Ok(SignedDua {
        id,
        in_force,
        tx: (&s).into(),
    })
}

/// Terminates an agreement (any party).
pub async fn dua_terminate(
    chain: &Chain,
    key: &Keypair,
    contract: &Contract,
    id: dua::DuaId,
) -> Result<crate::patient::TxInfo> {
    let ((), s) = send(chain, key, contract, &dua::Terminate { id }).await?;
    Ok((&s).into())
}

/// A consortium's study and progress.
#[derive(Serialize, Debug)]
pub struct StudyView {
    /// The rules.
    pub study: consortium::Study,
    /// Sites that joined.
    pub joined: Vec<consentry_primitives::InstitutionId>,
    /// ε spent and the budget, × `EPSILON_SCALE`.
    pub epsilon_spent: u64,
    pub epsilon_budget: u64,
    /// Rounds opened so far.
    pub rounds_opened: u32,
}

/// Reads a consortium's study and progress.
pub async fn consortium_show(
    chain: &Chain,
    origin: &AccountId32,
    contract: &Contract,
) -> Result<StudyView> {
    let study = read(chain, origin, contract, &consortium::GetStudy {}).await?;
    let joined = read(chain, origin, contract, &consortium::Joined {}).await?;
    let (spent, budget) = read(chain, origin, contract, &consortium::Epsilon {}).await?;
    let rounds_opened = read(chain, origin, contract, &consortium::RoundsOpened {}).await?;
    Ok(StudyView {
        study,
        joined,
        epsilon_spent: spent,
        epsilon_budget: budget,
        rounds_opened,
    })
}

/// Joins a consortium as a site (the signer's institution).
pub async fn consortium_join(
    chain: &Chain,
    key: &Keypair,
    contract: &Contract,
) -> Result<crate::patient::TxInfo> {
    let ((), s) = send(chain, key, contract, &consortium::Join {}).await?;
    Ok((&s).into())
}

/// One round of a consortium, as `consortium rounds` lists it.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct RoundView {
    /// The round's index.
    pub round: consortium::RoundIndex,
    /// The round.
    #[serde(flatten)]
    pub detail: consortium::Round,
}

/// Every round a consortium opened, oldest first.
pub async fn consortium_rounds(
    chain: &Chain,
    origin: &AccountId32,
    contract: &Contract,
) -> Result<Vec<RoundView>> {
    let opened = read(chain, origin, contract, &consortium::RoundsOpened {}).await?;
    let mut out = Vec::with_capacity(opened as usize);
    for round in 0..opened {
        let detail = read(chain, origin, contract, &consortium::GetRound { round })
            .await?
            .ok_or_else(|| {
                anyhow!("the consortium counts {opened} rounds but has no round {round}")
            })?;
        out.push(RoundView { round, detail });
    }
    Ok(out)
}

/// Fails an open round: the coordinator at any time, a joined site once its deadline passed (it
/// is then marked expired by that site). Returns the round's status after it.
pub async fn consortium_fail_round(
    chain: &Chain,
    key: &Keypair,
    contract: &Contract,
    round: consortium::RoundIndex,
) -> Result<(consortium::RoundStatus, crate::patient::TxInfo)> {
    let ((), s) = send(chain, key, contract, &consortium::FailRound { round }).await?;
    let status = read(
        chain,
        &AccountId32(key.public_key().0),
        contract,
        &consortium::GetRound { round },
    )
    .await?
    .ok_or_else(|| anyhow!("round {round} vanished"))?
    .status;
    Ok((status, (&s).into()))
}

/// The runtime call type, for callers that build council motions themselves.
pub type RuntimeCall = runtime_types::consentry_runtime::RuntimeCall;
