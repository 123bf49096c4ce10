//! The worker's side of a federated study's consortium contract (`contracts/consortium`): reading
//! the study and its rounds, and sending the site's messages (submit its cohort, advertise its
//! round keys) signed by the worker's own service key, through the same signer and nonce as its
//! access requests.
//!
//! Every message is dry-run first at the latest block: a refusal comes back as the contract's
//! own error (`NotJoined`, `RoundNotOpen`, ...) and nothing is signed.

use anyhow::anyhow;
use consentry_client::{
    contract_abi::{consortium, Message},
    contracts::{with_margin, Contract},
};

use crate::chain::{Call, Chain};
use crate::cohort::Cohort;

/// A study: its consortium contract.
#[derive(Clone, Debug)]
pub struct Study {
    pub contract: Contract,
}

impl Study {
    /// The study whose contract is at `address`.
    pub fn at(address: consentry_client::subxt::utils::AccountId32) -> Self {
        Self {
            contract: Contract::at(address),
        }
    }

    /// The contract's account as bytes (the study a round's job document names).
    pub fn id(&self) -> [u8; 32] {
        self.contract.address.0
    }

    /// Reads a message's answer as this worker's key.
    pub async fn read<M: Message>(&self, chain: &Chain, msg: &M) -> anyhow::Result<M::Output> {
        Ok(self
            .contract
            .query(&chain.client, &chain.account, msg)
            .await?
            .output)
    }

    /// The round `round`, if opened.
    pub async fn round(
        &self,
        chain: &Chain,
        round: consortium::RoundIndex,
    ) -> anyhow::Result<Option<consortium::Round>> {
        self.read(chain, &consortium::GetRound { round }).await
    }

    /// Sends a message whose answer is `Result<T, E>`: a dry run (refused by the contract's
    /// error, nothing signed), then the transaction, followed to a finalized block.
    pub async fn send<M, T, E>(&self, chain: &Chain, msg: &M) -> anyhow::Result<T>
    where
        M: Message<Output = Result<T, E>>,
        E: std::fmt::Debug,
    {
        let dry = self
            .contract
            .query(&chain.client, &chain.account, msg)
            .await?;
        let value = dry
            .output
            .map_err(|e| anyhow!("the study refused `{}`: {e:?}", M::LABEL))?;
        // A message that reverted or trapped in the block (state moved since the dry run) fails
        // the extrinsic (`ContractReverted`). Nothing is stored for resubmission: a site message
        // is idempotent to retry (the contract refuses a second cohort or key for the round).
        chain
            .sign_and_submit(
                Call::Contract {
                    dest: self.contract.address.clone(),
                    input: msg.input(),
                    gas_limit: with_margin(&dry.gas_required),
                },
                &format!("`{}`", M::LABEL),
            )
            .await?;
        Ok(value)
    }

    /// Submits the site's cohort for its round: the number of granted access records (FedAvg's
    /// weight) and the digest of their ids.
    pub async fn submit_cohort(&self, chain: &Chain, cohort: &Cohort) -> anyhow::Result<()> {
        anyhow::ensure!(
            cohort.round.study == self.id(),
            "the cohort is for another study"
        );
        self.send(
            chain,
            &consortium::SubmitCohort {
                round: cohort.round.round,
                records: cohort.weight(),
                records_digest: cohort.records_digest(),
            },
        )
        .await
    }

    /// Advertises the digest of the site's secure-aggregation public keys for `round`.
    pub async fn advertise_key(
        &self,
        chain: &Chain,
        round: consortium::RoundIndex,
        key_digest: [u8; 32],
    ) -> anyhow::Result<()> {
        self.send(chain, &consortium::AdvertiseKey { round, key_digest })
            .await
    }

    /// The coordinator opens the next round from `global_model` with the round's accountant
    /// inputs and the study's ε after it (× `EPSILON_SCALE`); returns the round's index.
    pub async fn open_round(
        &self,
        chain: &Chain,
        global_model: [u8; 32],
        accountant: consortium::Accountant,
        epsilon_after: u64,
    ) -> anyhow::Result<consortium::RoundIndex> {
        self.send(
            chain,
            &consortium::OpenRound {
                global_model,
                accountant,
                epsilon_after,
            },
        )
        .await
    }

    /// The aggregator commits the sites whose round keys it relays, with the digest of that set
    /// (`consentry_secagg::site_set_digest`), so it cannot show different sets to different sites.
    pub async fn commit_keys(
        &self,
        chain: &Chain,
        round: consortium::RoundIndex,
        sites: Vec<u32>,
        digest: [u8; 32],
    ) -> anyhow::Result<()> {
        self.send(
            chain,
            &consortium::CommitKeys {
                round,
                sites,
                digest,
            },
        )
        .await
    }

    /// The aggregator commits the sites whose masked inputs it received.
    pub async fn commit_inputs(
        &self,
        chain: &Chain,
        round: consortium::RoundIndex,
        sites: Vec<u32>,
        digest: [u8; 32],
    ) -> anyhow::Result<()> {
        self.send(
            chain,
            &consortium::CommitInputs {
                round,
                sites,
                digest,
            },
        )
        .await
    }

    /// The coordinator closes the round with the aggregated model's digest.
    pub async fn close_round(
        &self,
        chain: &Chain,
        round: consortium::RoundIndex,
        aggregate: [u8; 32],
    ) -> anyhow::Result<()> {
        self.send(chain, &consortium::CloseRound { round, aggregate })
            .await
    }

    /// The coordinator gives up the round (an aggregator that restarts mid-round aborts it this
    /// way, so the contract shows which rounds aggregated).
    pub async fn fail_round(
        &self,
        chain: &Chain,
        round: consortium::RoundIndex,
    ) -> anyhow::Result<()> {
        self.send(chain, &consortium::FailRound { round }).await
    }
}
