//! Typed calls to Consentry's ink! contracts: dry runs through the `ContractsApi` runtime API,
//! call and instantiation payloads, and the contracts' events out of a transaction's events.
//!
//! Messages and their types come from `consentry-contract-abi` (no ink! dependency); this module
//! only moves their bytes. A dry run's answer is decoded as the message's output whether or not
//! the contract reverted: an ink! message that returns `Err` reverts, and its error is the
//! answer.

use crate::{
    runtime::{self, runtime_types},
    Client, ConsentryConfig,
};
use codec::Encode;
use consentry_contract_abi::{decode_answer, AnswerError, Event, Message};
use subxt::{blocks::ExtrinsicEvents, utils::AccountId32};

pub use runtime_types::sp_weights::weight_v2::Weight;

/// What a dry run found out.
#[derive(Debug)]
pub struct DryRun<T> {
    /// The message's answer.
    pub output: T,
    /// Whether the contract reverted (an ink! message that returned `Err` does).
    pub reverted: bool,
    /// The gas (weight) the call needs; what a transaction should set as its limit.
    pub gas_required: Weight,
}

/// Why a contract call or dry run failed.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    /// The node could not be asked.
    #[error("the node: {0}")]
    Node(Box<subxt::Error>),
    /// The call trapped or was refused by the runtime (no contract there, out of gas, ...).
    #[error("the runtime refused the call: {0}")]
    Dispatch(String),
    /// The answer did not decode.
    #[error(transparent)]
    Answer(#[from] AnswerError),
}

// Boxed: subxt's error is large, and these results are returned on every call's happy path.
impl From<subxt::Error> for ContractError {
    fn from(e: subxt::Error) -> Self {
        Self::Node(Box::new(e))
    }
}

/// A contract at an address.
#[derive(Clone, Debug)]
pub struct Contract {
    /// Its account.
    pub address: AccountId32,
}

/// The weight limit to send with a transaction whose dry run needed `gas`: a fifth more, since
/// state can change between the dry run and the block (a longer index to scan, say).
pub fn with_margin(gas: &Weight) -> Weight {
    Weight {
        ref_time: gas.ref_time.saturating_add(gas.ref_time / 5),
        proof_size: gas.proof_size.saturating_add(gas.proof_size / 5),
    }
}

impl Contract {
    /// The contract at `address`.
    pub fn at(address: AccountId32) -> Self {
        Self { address }
    }

    /// Runs `msg` as `origin` would, at the latest finalized block, without a transaction.
    pub async fn query<M: Message>(
        &self,
        client: &Client,
        origin: &AccountId32,
        msg: &M,
    ) -> Result<DryRun<M::Output>, ContractError> {
        let call = runtime::apis().contracts_api().call(
            origin.clone(),
            self.address.clone(),
            0,
            None,
            None,
            msg.input(),
        );
        let res = client.runtime_api().at_latest().await?.call(call).await?;
        let ret = res
            .result
            .map_err(|e| ContractError::Dispatch(format!("{e:?}")))?;
        Ok(DryRun {
            output: decode_answer::<M>(&ret.data)?,
            reverted: ret.flags.bits & 1 == 1,
            gas_required: res.gas_required,
        })
    }

    /// The transaction that calls `msg` with weight limit `gas`.
    pub fn call<M: Message>(
        &self,
        msg: &M,
        gas: Weight,
    ) -> subxt::tx::DefaultPayload<runtime::contracts::calls::types::Call> {
        runtime::tx().contracts().call(
            subxt::utils::MultiAddress::Id(self.address.clone()),
            0,
            gas,
            None,
            msg.input(),
        )
    }
}

/// What instantiating a contract needs: its code, its constructor and a salt (one code with
/// different salts gives different addresses).
pub struct Deployment<'a, M: Message> {
    /// The Wasm binary.
    pub code: &'a [u8],
    /// The constructor with its arguments.
    pub constructor: M,
    /// Distinguishes instances of the same code.
    pub salt: Vec<u8>,
}

impl<M: Message> Deployment<'_, M> {
    /// Dry-runs the instantiation as `deployer` (the runtime's keyless deployer account, which
    /// council motions instantiate as) and returns the gas it needs and the address it gets.
    pub async fn dry_run(
        &self,
        client: &Client,
        deployer: &AccountId32,
    ) -> Result<(Weight, AccountId32), ContractError> {
        let call = runtime::apis().contracts_api().instantiate(
            deployer.clone(),
            0,
            None,
            Some(existential_deposit(client)?),
            runtime_types::pallet_contracts::primitives::Code::Upload(self.code.to_vec()),
            self.constructor.input(),
            self.salt.clone(),
        );
        let res = client.runtime_api().at_latest().await?.call(call).await?;
        let ok = res
            .result
            .map_err(|e| ContractError::Dispatch(format!("{e:?}")))?;
        if ok.result.flags.bits & 1 == 1 {
            return Err(ContractError::Dispatch(format!(
                "the constructor reverted: 0x{}",
                hex::encode(&ok.result.data)
            )));
        }
        Ok((res.gas_required, ok.account_id))
    }

    /// The runtime call that instantiates it with weight limit `gas` (to be proposed to the
    /// council, or sent through sudo on a dev chain: a signed one is refused).
    pub fn runtime_call(
        &self,
        client: &Client,
        gas: Weight,
    ) -> Result<runtime_types::consentry_runtime::RuntimeCall, ContractError> {
        Ok(runtime_types::consentry_runtime::RuntimeCall::Contracts(
            runtime_types::pallet_contracts::pallet::Call::instantiate_with_code {
                value: 0,
                gas_limit: gas,
                storage_deposit_limit: Some(existential_deposit(client)?.into()),
                code: self.code.to_vec(),
                data: self.constructor.input(),
                salt: self.salt.clone(),
            },
        ))
    }
}

/// The one storage deposit a contract takes: the existential deposit its account is given (the
/// runtime's deposits per byte and item are zero), from the runtime's metadata.
pub fn existential_deposit(client: &Client) -> Result<u128, ContractError> {
    Ok(client
        .constants()
        .at(&runtime::constants().balances().existential_deposit())?)
}

/// The events of type `E` that `contract` emitted in a transaction's events, in order.
pub fn events_of<E: Event>(
    events: &ExtrinsicEvents<ConsentryConfig>,
    contract: &AccountId32,
) -> Result<Vec<E>, ContractError> {
    let mut found = Vec::new();
    for ev in events.iter() {
        let ev = ev?;
        let emitted = ev
            .as_event::<runtime::contracts::events::ContractEmitted>()
            .map_err(subxt::Error::from)?;
        if let Some(emitted) = emitted {
            if &emitted.contract != contract {
                continue;
            }
            let topics: Vec<[u8; 32]> = ev.topics().iter().map(|t| t.0).collect();
            if let Some(e) = E::from_emitted(&topics, &emitted.data) {
                found.push(e);
            }
        }
    }
    Ok(found)
}

/// The address of the contract a transaction instantiated (its `Contracts::Instantiated`).
pub fn instantiated(
    events: &ExtrinsicEvents<ConsentryConfig>,
) -> Result<Option<AccountId32>, ContractError> {
    Ok(events
        .find_first::<runtime::contracts::events::Instantiated>()?
        .map(|e| e.contract))
}

/// The encoded length of a runtime call, which a council proposal must bound.
pub fn encoded_len(call: &runtime_types::consentry_runtime::RuntimeCall) -> u32 {
    call.encode().len() as u32
}
