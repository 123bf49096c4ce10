//! A data-holding institution's part of a federated round.
//!
//! 1. Reads the round from the contract (its global model digest and DP-SGD inputs) and fetches
//!    that model from the aggregator, checking its SHA-256 against the contract's.
//! 2. Asks the chain for its cohort (`cohort::request`: one `request_access_batch` per 256
//!    patients, purpose `FederatedTraining`) and reads only the granted patients, each read
//!    logged under its access id; submits the cohort's size and records digest to the contract.
//! 3. Trains locally with patient-level DP-SGD on the round's ledgered (q, σ, C, steps).
//! 4. Secure aggregation: advertises its round keys' digest on chain (signed by its service
//!    key), sends the keys, and before each later step checks the aggregator against the chain:
//!    relayed keys must match the digests on chain and the relayed set the committed key set;
//!    the unmask request's survivors must be the committed input set. Only the masked encoding
//!    of `[n_k, n_k·Δ_k]` leaves the site.
//! 5. Waits for the round to close on chain and closes every access of its cohort citing the
//!    aggregated model (`complete_access_batch`), or `Aborted` when the round failed or the site
//!    dropped out.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Context};
use consentry_client::contract_abi::consortium::{self, RoundIndex};
use consentry_datastore::Store;
use consentry_federated::client::{LocalTraining, SiteClient as Trainer};
use consentry_federated::params::from_safetensors;
use consentry_fl_transport::{RoundSession, SiteClient};
use consentry_primitives::Outcome;
use consentry_secagg::{site_set_digest, SiteConfig, SiteId, WeightedEncoding};
use consentry_simulation::drugs::DrugLibrary;
use rand::RngCore;
use tracing::{info, warn};

use super::examples::{self, Example};
use super::{
    context, dp_of, institution_of, site_id, wait_round, Plan, Prepared, INPUT_SET, KEY_SET,
};
use crate::chain::Chain;
use crate::cohort::{self, Cohort, CohortTxs, RoundRef};
use crate::study::Study;

/// A site of one study.
pub struct Site {
    pub chain: Chain,
    pub study: Study,
    pub plan: Plan,
    prepared: Prepared,
    store: Mutex<Store>,
    txs: CohortTxs,
    aggregator: SiteClient,
    drugs: DrugLibrary,
    /// Test hook: sleep this long after sending the shares, before masking, so a test can kill
    /// the site at the point where only the survivors' shares can remove its masks.
    pub pause_before_masking: Option<Duration>,
}

/// What one round did at this site.
#[derive(Debug)]
pub struct SiteRound {
    pub round: RoundIndex,
    pub cohort: Cohort,
    /// Granted patients that were training examples (the site's FedAvg weight).
    pub examples: usize,
    /// Granted patients read that were not examples, with why.
    pub skipped: Vec<String>,
    /// How the site's accesses were closed, and the aggregate they cite.
    pub closed: Outcome,
    pub aggregate: Option<[u8; 32]>,
}

impl Site {
    /// A site of the study at `study`, checking that the contract's model is `plan`.
    pub async fn new(
        chain: Chain,
        study: Study,
        plan: Plan,
        store: Store,
        txs: CohortTxs,
        aggregator: SiteClient,
    ) -> anyhow::Result<Self> {
        let rules = study.read(&chain, &consortium::GetStudy {}).await?;
        anyhow::ensure!(
            rules.model.architecture == plan.digest()?,
            "the study's model is not this plan (architecture digest differs)"
        );
        let prepared = plan.prepare()?;
        Ok(Self {
            chain,
            study,
            plan,
            prepared,
            store: Mutex::new(store),
            txs,
            aggregator,
            drugs: DrugLibrary::builtin(),
            pause_before_masking: None,
        })
    }

    fn stage_timeout(&self) -> Duration {
        // A chain commit lands within the stage after the one it closes.
        Duration::from_millis(self.plan.stage_ms.saturating_mul(2))
    }

    /// Takes part in `round`, which must be open on chain.
    pub async fn run_round(&self, round: RoundIndex) -> anyhow::Result<SiteRound> {
        let r = self
            .study
            .round(&self.chain, round)
            .await?
            .with_context(|| format!("round {round} was never opened"))?;
        anyhow::ensure!(
            r.status == consortium::RoundStatus::Open,
            "round {round} is not open"
        );
        let model = self
            .aggregator
            .fetch_model(&r.global_model)
            .await
            .context("fetching the round's global model")?;
        let global = from_safetensors(&self.prepared.layout, &model)?;

        let cohort = self.cohort(round, r.global_model).await?;
        match self.train_and_aggregate(round, &r, &global, &cohort).await {
            Ok((examples, skipped)) => {
                let (closed, aggregate) = self.close(round, &cohort).await?;
                Ok(SiteRound {
                    round,
                    cohort,
                    examples,
                    skipped,
                    closed,
                    aggregate,
                })
            }
            Err(e) => {
                // Dropped out: the accesses that read data are closed, never left open.
                warn!(round, "site left the round: {e:#}");
                if !cohort.granted.is_empty() {
                    if let Err(c) =
                        cohort::close(&self.chain, &self.txs, &cohort, Outcome::Aborted, None).await
                    {
                        warn!(round, "closing the cohort's accesses: {c:#}");
                    }
                }
                Err(e)
            }
        }
    }

    /// Every patient of the store asked for in `round` (or, asked before, found from the stored
    /// transactions).
    async fn cohort(&self, round: RoundIndex, global_model: [u8; 32]) -> anyhow::Result<Cohort> {
        let pseudonyms = self.store.lock().expect("store lock").pseudonyms()?;
        cohort::request(
            &self.chain,
            &self.txs,
            self.round_ref(round, global_model),
            &pseudonyms,
            Plan::categories(),
        )
        .await
    }

    fn round_ref(&self, round: RoundIndex, global_model: [u8; 32]) -> RoundRef {
        RoundRef {
            study: self.study.id(),
            round,
            global_model,
            site: self.chain.institution,
        }
    }

    /// Rounds that ended for which this site asked for a cohort: after a restart, candidates
    /// for [`Site::recover`].
    pub async fn rounds_to_recover(&self) -> anyhow::Result<Vec<RoundIndex>> {
        let opened = self
            .study
            .read(&self.chain, &consortium::RoundsOpened {})
            .await?;
        let mut out = Vec::new();
        for round in 0..opened {
            let Some(r) = self.study.round(&self.chain, round).await? else {
                continue;
            };
            let asked = self.txs.asked(&self.round_ref(round, r.global_model))?;
            if asked && r.status != consortium::RoundStatus::Open {
                out.push(round);
            }
        }
        Ok(out)
    }

    /// After a restart: the cohort this site was granted in `round`, found from its stored
    /// transactions (the chain is not asked again, so no access is recorded twice), closed as
    /// the round ended for this site: `Completed` citing the aggregate if its input is in it,
    /// `Aborted` otherwise. The round must have ended.
    pub async fn recover(&self, round: RoundIndex) -> anyhow::Result<Cohort> {
        let r = self
            .study
            .round(&self.chain, round)
            .await?
            .with_context(|| format!("round {round} was never opened"))?;
        anyhow::ensure!(
            r.status != consortium::RoundStatus::Open,
            "round {round} is still open: take part in it instead"
        );
        let cohort = self.cohort(round, r.global_model).await?;
        // Closed before the restart: nothing left to do.
        if let Some(first) = cohort.granted.first() {
            let at = self.chain.finalized().await?;
            let rec = self.chain.record_at(first.access, at).await?;
            if rec.is_some_and(|rec| rec.state.0 != consentry_primitives::AccessState::Granted) {
                return Ok(cohort);
            }
        }
        let in_sum = r
            .input_sites
            .as_ref()
            .is_some_and(|s| s.sites.contains(&self.chain.institution));
        let (outcome, aggregate) = match (r.status, r.aggregate) {
            (consortium::RoundStatus::Aggregated { .. }, Some(a)) if in_sum => {
                (Outcome::Completed, Some(a))
            }
            _ => (Outcome::Aborted, None),
        };
        if !cohort.granted.is_empty() {
            cohort::close(&self.chain, &self.txs, &cohort, outcome, aggregate).await?;
        }
        Ok(cohort)
    }

    /// Steps 2–4: read, submit the cohort, train, secure aggregation. Returns the examples
    /// trained on and the patients skipped.
    async fn train_and_aggregate(
        &self,
        round: RoundIndex,
        r: &consortium::Round,
        global: &[f32],
        cohort: &Cohort,
    ) -> anyhow::Result<(usize, Vec<String>)> {
        anyhow::ensure!(
            !cohort.granted.is_empty(),
            "no patient granted federated training for round {round}"
        );
        let reads = {
            let mut store = self.store.lock().expect("store lock");
            cohort::read(&mut store, cohort, &Plan::categories())?
        };
        let mut ids = Vec::new();
        let mut usable: Vec<Example> = Vec::new();
        let mut skipped = Vec::new();
        for (g, data) in cohort.granted.iter().zip(&reads) {
            match examples::example(data, &self.drugs) {
                Ok(e) => {
                    ids.push(hex::encode(g.pseudonym));
                    usable.push(e);
                }
                Err(why) => skipped.push(format!("access {}: {why}", g.access.id)),
            }
        }
        anyhow::ensure!(
            !usable.is_empty(),
            "none of the {} granted patients is a training example",
            reads.len()
        );
        anyhow::ensure!(
            usable.len() <= self.plan.max_site_weight as usize,
            "{} examples exceed the plan's largest site weight {}",
            usable.len(),
            self.plan.max_site_weight
        );
        // Restarted after submitting: the contract already holds this cohort.
        let submitted = self
            .study
            .read(
                &self.chain,
                &consortium::GetCohort {
                    round,
                    site: self.chain.institution,
                },
            )
            .await?;
        if submitted.is_none() {
            self.study.submit_cohort(&self.chain, cohort).await?;
        }

        let model = self.plan.model.build(
            &self.prepared.features,
            self.plan.seed,
            &candle_core::Device::Cpu,
        )?;
        let mut trainer = Trainer::new(
            self.chain.institution as usize,
            ids.clone(),
            examples::tensors(&self.prepared, &usable)?,
            model,
            self.prepared.adr_pos_weight,
        )?;
        let local = LocalTraining {
            optimizer: self.plan.local.optimizer,
            lr: self.plan.local.lr,
            epochs: self.plan.local.epochs,
            batch_size: self.plan.local.batch_size,
            dp: Some(dp_of(&r.accountant)),
            // A deployment draws the DP noise from the OS.
            seeded_noise: false,
        };
        let seed = rand::rngs::OsRng.next_u64();
        let update = {
            let trainer = &mut trainer;
            tokio::task::block_in_place(|| trainer.train_round(global, &ids, &local, seed))?
        };
        info!(round, examples = update.n, "trained locally");

        self.secure_aggregation(round, &update.delta, update.n)
            .await?;
        Ok((usable.len(), skipped))
    }

    async fn secure_aggregation(
        &self,
        round: RoundIndex,
        delta: &[f32],
        weight: u64,
    ) -> anyhow::Result<()> {
        let ctx = context(&self.study, round);
        let mut session: RoundSession = self.aggregator.session(SiteConfig {
            id: site_id(self.chain.institution),
            context: ctx.clone(),
            threshold: self.plan.threshold,
            vector_len: WeightedEncoding::vector_len(delta.len()),
        })?;
        // On chain first: the coordinator can only commit sites whose key digest is there.
        self.study
            .advertise_key(&self.chain, round, session.keys().digest())
            .await?;
        session.advertise().await?;

        let relayed = session.relayed_keys().await?;
        let relayed_ids: Vec<SiteId> = relayed.iter().map(|k| k.site).collect();
        let committed = wait_round(
            &self.study,
            &self.chain,
            round,
            "the key set",
            self.stage_timeout(),
            |r| r.key_sites.is_some(),
        )
        .await?
        .key_sites
        .expect("waited for it");
        same_set(
            "relayed keys",
            &relayed_ids,
            &committed,
            site_set_digest(&ctx, KEY_SET, &relayed_ids),
        )?;
        let mut on_chain = BTreeMap::new();
        for &site in &relayed_ids {
            let digest = self
                .study
                .read(
                    &self.chain,
                    &consortium::AdvertisedKey {
                        round,
                        site: institution_of(site),
                    },
                )
                .await?;
            if let Some(d) = digest {
                on_chain.insert(site, d);
            }
        }
        session
            .share_keys(&relayed, |site| on_chain.get(&site).copied())
            .await?;
        if let Some(pause) = self.pause_before_masking {
            tokio::time::sleep(pause).await;
        }

        let encoding = self.plan.encoding(relayed_ids.len())?;
        let input = encoding.encode(delta, u32::try_from(weight)?, &mut rand::rngs::OsRng)?;
        session.masked_input(&input).await?;

        let request = session.unmask_request().await?;
        let committed = wait_round(
            &self.study,
            &self.chain,
            round,
            "the input set",
            self.stage_timeout(),
            |r| r.input_sites.is_some(),
        )
        .await?
        .input_sites
        .expect("waited for it");
        same_set(
            "unmask request",
            &request.survivors,
            &committed,
            site_set_digest(&ctx, INPUT_SET, &request.survivors),
        )?;
        session.answer_unmask(&request).await?;
        Ok(())
    }

    /// Step 5: waits for the round's end on chain and closes the cohort's accesses.
    async fn close(
        &self,
        round: RoundIndex,
        cohort: &Cohort,
    ) -> anyhow::Result<(Outcome, Option<[u8; 32]>)> {
        let r = wait_round(
            &self.study,
            &self.chain,
            round,
            "the round's end",
            self.stage_timeout() * 2,
            |r| r.status != consortium::RoundStatus::Open,
        )
        .await?;
        let (outcome, aggregate) = match (r.status, r.aggregate) {
            (consortium::RoundStatus::Aggregated { .. }, Some(a)) => (Outcome::Completed, Some(a)),
            _ => (Outcome::Aborted, None),
        };
        cohort::close(&self.chain, &self.txs, cohort, outcome, aggregate).await?;
        Ok((outcome, aggregate))
    }
}

/// Checks a set the aggregator showed this site against the one committed on chain.
fn same_set(
    what: &str,
    shown: &[SiteId],
    committed: &consortium::SiteSet,
    digest: [u8; 32],
) -> anyhow::Result<()> {
    let mut shown: Vec<u32> = shown.iter().map(|&s| institution_of(s)).collect();
    shown.sort_unstable();
    let mut on_chain = committed.sites.clone();
    on_chain.sort_unstable();
    if shown != on_chain || digest != committed.digest {
        bail!(
            "the aggregator's {what} name institutions {shown:?}, the chain's committed set {on_chain:?}: refusing to go on"
        );
    }
    Ok(())
}
