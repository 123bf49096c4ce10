//! Jobs for other institutions: the data-use agreement they name, checked in the agreement
//! registry contract before any access request.
//!
//! A research institution's job for this institution's patients names an agreement (an id in the
//! registry given by `--dua-contract`). The worker runs it only while the registry says that
//! agreement lets the requesting institution use the workload's categories for its purpose now:
//! it asks (a dry run at the latest finalized block) when the job arrives, refusing it there
//! with the reason, and again right before it signs the access request. The agreement never
//! replaces the patient's consent: the chain still decides the access itself.

use consentry_client::{contract_abi::dua, contracts::Contract, subxt::utils::AccountId32, Client};
use consentry_primitives::{CategorySet, InstitutionId, Purpose};
use serde::{Deserialize, Serialize};

/// The agreement a job names, as its job document commits to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementRef {
    /// The registry contract (SS58).
    pub registry: String,
    /// The agreement's id in it.
    pub id: u64,
    /// The institution the job is run for (a recipient of the agreement).
    pub recipient: InstitutionId,
}

/// The registry this worker checks agreements in.
#[derive(Debug, Clone)]
pub struct Registry {
    contract: Contract,
    ss58: String,
}

impl Registry {
    /// The registry at `address` (SS58).
    pub fn parse(address: &str) -> anyhow::Result<Self> {
        let account: AccountId32 = address.trim().parse().map_err(|_| {
            anyhow::anyhow!("--dua-contract: '{address}' is not an SS58 contract address")
        })?;
        Ok(Self {
            ss58: account.to_string(),
            contract: Contract::at(account),
        })
    }

    /// The reference a job for `recipient` under agreement `id` commits to.
    pub fn reference(&self, id: u64, recipient: InstitutionId) -> AgreementRef {
        AgreementRef {
            registry: self.ss58.clone(),
            id,
            recipient,
        }
    }

    /// Whether the registry lets `a.recipient` use `categories` of `custodian`'s data for
    /// `purpose` now under agreement `a.id`; `Err` says why not, for the requester.
    pub async fn check(
        &self,
        client: &Client,
        me: &AccountId32,
        custodian: InstitutionId,
        a: &AgreementRef,
        purpose: Purpose,
        categories: CategorySet,
    ) -> anyhow::Result<Result<(), String>> {
        anyhow::ensure!(
            a.registry == self.ss58,
            "the job names registry {} but this worker checks {}",
            a.registry,
            self.ss58
        );
        let now = chain_now(client).await?;
        let q = dua::Allows {
            id: a.id,
            custodian,
            recipient: a.recipient,
            purpose,
            categories,
            now,
        };
        let allowed = self.contract.query(client, me, &q).await?.output;
        Ok(if allowed {
            Ok(())
        } else {
            Err(format!(
                "data-use agreement {} (registry {}) does not let institution {} use {} of \
                 institution {custodian}'s data for {} now: it is not in force (unsigned, \
                 terminated, expired or over its record cap) or does not cover this",
                a.id,
                self.ss58,
                a.recipient,
                categories
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(","),
                purpose.name(),
            ))
        })
    }
}

/// The chain's time at the latest finalized block (ms): what the contract compares periods to.
async fn chain_now(client: &Client) -> anyhow::Result<u64> {
    Ok(client
        .storage()
        .at_latest()
        .await?
        .fetch_or_default(&consentry_client::runtime::storage().timestamp().now())
        .await?)
}
