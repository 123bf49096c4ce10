//! A federated round's cohort at the hospital, on a real `--dev` node: one
//! `request_access_batch` per round decides each patient on its own; only the granted are read
//! (the store's read log shows it); the round's accesses are closed together citing its result; a
//! patient who revoked, or whose consent ran out of uses, is absent from the next round; asking
//! again for a round already decided (a restarted worker) makes no new record. The rounds are
//! opened in a real consortium contract, and the worker submits each round's cohort to it.

use crate::common;

use common::*;
use consentry_client::{
    contract_abi::consortium, contracts::Contract, runtime, subxt_signer::sr25519,
};
use consentry_e2e::Node;
use consentry_primitives::{
    AccessState, CategorySet, DataCategory, DenyReason, Outcome, Purpose, PurposeSet,
};
use consentry_wallet::contracts as wallet_contracts;
use consentry_worker::chain::Chain;
use consentry_worker::cohort::{self, CohortTxs, RoundRef};
use consentry_worker::study::Study;

/// The council deploys a one-site study with the hospital as coordinator; the hospital joins.
async fn study(node: &Node) -> anyhow::Result<(consentry_wallet::chain::Chain, Contract)> {
    let chain =
        consentry_wallet::chain::Chain::connect(&node.ws_url(), None, &Default::default()).await?;
    let rules = consortium::Study {
        coordinator: HOSPITAL,
        members: vec![HOSPITAL],
        model: consortium::Model {
            name: "hybrid".into(),
            architecture: [0xA7; 32],
        },
        min_sites: 1,
        max_rounds: 4,
        round_deadline_ms: 3_600_000,
        epsilon_budget: 8 * consortium::EPSILON_SCALE,
        delta: consortium::DELTA_SCALE / 100_000,
    };
    let contract = deploy_study(&chain, rules, b"cohort").await?;
    wallet_contracts::consortium_join(&chain, &sr25519::dev::bob(), &contract).await?;
    Ok((chain, contract))
}

/// The round's accountant inputs (fixed point, as the contract ledgers them).
fn accountant() -> consortium::Accountant {
    consortium::Accountant {
        sampling_rate: consortium::RATE_SCALE / 10,
        noise_multiplier: consortium::REAL_SCALE,
        clipping_norm: consortium::REAL_SCALE,
        steps: 10,
    }
}

fn scope() -> CategorySet {
    CategorySet::of(&[DataCategory::Demographics, DataCategory::Labs])
}

/// The patient grants the hospital `purpose` over `scope()`, at most `max_uses` times.
async fn grant_training(
    api: &consentry_client::Client,
    patient: &sr25519::Keypair,
    subject: u64,
    purpose: Purpose,
    max_uses: Option<u32>,
) -> anyhow::Result<u64> {
    grant_uses(
        api,
        patient,
        subject,
        PurposeSet::of(&[purpose]),
        scope(),
        max_uses,
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_round_trains_only_on_patients_granted_in_a_finalized_block() -> anyhow::Result<()> {
    let node = Node::dev()?;
    let api = node.client().await?;
    let patients = Patients::new(4)?;
    let keys: Vec<_> = (0..4)
        .map(|i| key(&format!("//CohortPatient/{i}")))
        .collect();
    let mut subjects = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        subjects.push(enrol(&api, k, patients.pseudonym(i)).await?);
    }
    // 0: trains every round; 1: one use only; 2: consented to research, not training;
    // 3: trains, then revokes before round 2.
    grant_training(
        &api,
        &keys[0],
        subjects[0],
        Purpose::FederatedTraining,
        None,
    )
    .await?;
    grant_training(
        &api,
        &keys[1],
        subjects[1],
        Purpose::FederatedTraining,
        Some(1),
    )
    .await?;
    grant_training(&api, &keys[2], subjects[2], Purpose::Research, None).await?;
    let revoking = grant_training(
        &api,
        &keys[3],
        subjects[3],
        Purpose::FederatedTraining,
        None,
    )
    .await?;

    let (wallet_chain, study_contract) = study(&node).await?;
    let chain = Chain::connect(&node.ws_url(), sr25519::dev::bob()).await?;
    let study = Study::at(study_contract.address.clone());
    let txs = CohortTxs::open(&patients.jobs)?;
    let everyone: Vec<[u8; 32]> = (0..4).map(|i| patients.pseudonym(i)).collect();
    let round = |n: u32| RoundRef {
        study: study.id(),
        round: n,
        global_model: [n as u8 + 1; 32],
        site: HOSPITAL,
    };
    // The hospital coordinates: its worker opens the round.
    let opened = study
        .open_round(
            &chain,
            round(0).global_model,
            accountant(),
            consortium::EPSILON_SCALE,
        )
        .await?;
    assert_eq!(opened, 0);

    // Round 0.
    let before = records_of(&api, HOSPITAL).await?;
    let r0 = cohort::request(&chain, &txs, round(0), &everyone, scope()).await?;
    let granted: Vec<_> = r0.granted.iter().map(|g| g.pseudonym).collect();
    assert_eq!(granted, vec![everyone[0], everyone[1], everyone[3]]);
    assert_eq!(r0.denied.len(), 1);
    assert_eq!(
        (r0.denied[0].pseudonym, r0.denied[0].reason),
        (everyone[2], DenyReason::PurposeNotCovered)
    );
    assert_eq!(
        records_of(&api, HOSPITAL).await?,
        before + 4,
        "one record per patient"
    );
    for g in &r0.granted {
        assert_eq!(state_of(&api, g.access).await?, AccessState::Granted);
    }
    // Every record cites the round's job document.
    let rec =
        consentry_e2e::record(&api, r0.granted[0].access.subject, r0.granted[0].access.id).await?;
    assert_eq!(rec.job_digest, sha256_json(&round(0).job_document()));

    // A restarted worker asks again for the same round: the stored transaction is found in its
    // finalized block, and no patient is asked for (nor any use spent) twice.
    let again = cohort::request(&chain, &txs, round(0), &everyone, scope()).await?;
    assert_eq!(again, r0);
    assert_eq!(records_of(&api, HOSPITAL).await?, before + 4);

    let mut store = patients.open();
    let data = cohort::read(&mut store, &r0, &scope())?;
    assert_eq!(data.len(), 3);
    assert!(data.iter().all(|d| d.demographics.is_some()));
    for g in &r0.granted {
        let log = store.read_log(g.access.id)?;
        assert_eq!(log.len(), 1, "one logged read per granted access");
        assert_eq!(log[0].pseudonym, g.pseudonym);
    }
    assert!(
        store.reads_for(&everyone[2])?.is_empty(),
        "nothing is read for a denied patient"
    );

    // The site tells the study how many patients it trains on (its FedAvg weight) and which
    // records granted them; a second submission for the round is refused by name.
    study.submit_cohort(&chain, &r0).await?;
    let stored = study
        .read(
            &chain,
            &consortium::GetCohort {
                round: 0,
                site: HOSPITAL,
            },
        )
        .await?
        .expect("cohort stored");
    assert_eq!(
        (stored.records, stored.records_digest),
        (3, r0.records_digest())
    );
    let again = study.submit_cohort(&chain, &r0).await.expect_err("twice");
    assert!(
        format!("{again:#}").contains("CohortAlreadySubmitted"),
        "{again:#}"
    );

    // Keys advertised, the key and input sets committed, the round closed with the aggregate;
    // then every access of the round is closed citing it.
    let result = [0x5E; 32];
    study.advertise_key(&chain, 0, [0x4B; 32]).await?;
    study
        .commit_keys(&chain, 0, vec![HOSPITAL], [0x51; 32])
        .await?;
    study
        .commit_inputs(&chain, 0, vec![HOSPITAL], [0x52; 32])
        .await?;
    study.close_round(&chain, 0, result).await?;
    let closed_round = study.round(&chain, 0).await?.expect("round 0");
    assert_eq!(closed_round.aggregate, Some(result));
    assert!(matches!(
        closed_round.status,
        consortium::RoundStatus::Aggregated { .. }
    ));
    cohort::close(&chain, &txs, &r0, Outcome::Completed, Some(result)).await?;
    for g in &r0.granted {
        assert_eq!(
            state_of(&api, g.access).await?,
            AccessState::Closed(Outcome::Completed)
        );
    }
    let closed = closed_events(&node.ws_url(), r0.granted[1].access.id, 0).await?;
    assert_eq!(closed.len(), 1);
    assert_eq!(
        closed[0].result_digest,
        Some(result),
        "the close cites the round's result"
    );

    // Between rounds patient 3 revokes.
    submit(&api, &runtime::tx().consent().revoke(revoking), &keys[3]).await?;

    // Round 1, from round 0's aggregate: only patient 0 is left.
    let opened = study
        .open_round(
            &chain,
            round(1).global_model,
            accountant(),
            2 * consortium::EPSILON_SCALE,
        )
        .await?;
    assert_eq!(opened, 1);
    let r1 = cohort::request(&chain, &txs, round(1), &everyone, scope()).await?;
    study.submit_cohort(&chain, &r1).await?;
    assert_eq!(
        study
            .read(
                &chain,
                &consortium::GetCohort {
                    round: 1,
                    site: HOSPITAL
                }
            )
            .await?
            .map(|c| c.records),
        Some(1)
    );
    assert_eq!(
        r1.granted.iter().map(|g| g.pseudonym).collect::<Vec<_>>(),
        vec![everyone[0]]
    );
    let reasons: Vec<_> = r1.denied.iter().map(|d| (d.pseudonym, d.reason)).collect();
    assert_eq!(
        reasons,
        vec![
            (everyone[1], DenyReason::UsesExhausted),
            (everyone[2], DenyReason::PurposeNotCovered),
            (everyone[3], DenyReason::Revoked),
        ]
    );
    cohort::read(&mut store, &r1, &scope())?;
    assert_eq!(store.reads_for(&everyone[0])?.len(), 2);
    assert_eq!(
        store.reads_for(&everyone[1])?.len(),
        1,
        "only round 0 read patient 1"
    );
    assert_eq!(
        store.reads_for(&everyone[3])?.len(),
        1,
        "only round 0 read patient 3"
    );
    assert!(store.reads_for(&everyone[2])?.is_empty());

    // A round's accesses are closed once: a second close of round 0 fails on chain and changes
    // nothing.
    let twice = cohort::close(
        &chain,
        &CohortTxs::open(&patients.dir.path().join("other.sqlite"))?,
        &r0,
        Outcome::Completed,
        Some(result),
    )
    .await;
    assert!(
        format!("{:#}", twice.expect_err("closed twice")).contains("NotOpen"),
        "the close names why it failed"
    );

    // The operator's view of the study (`consentry contracts consortium rounds|fail-round`):
    // round 0 aggregated with its result, round 1 open with the hospital's cohort.
    let (wallet, contract) = (&wallet_chain, &study_contract);
    let bob = sr25519::dev::bob();
    let rounds =
        wallet_contracts::consortium_rounds(wallet, &bob.public_key().into(), contract).await?;
    assert_eq!(
        rounds.iter().map(|r| r.round).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert_eq!(rounds[0].detail.aggregate, Some(result));
    assert!(matches!(
        rounds[0].detail.status,
        consortium::RoundStatus::Aggregated { .. }
    ));
    assert_eq!(
        (
            rounds[1].detail.status,
            rounds[1].detail.cohort_sites.clone()
        ),
        (consortium::RoundStatus::Open, vec![HOSPITAL])
    );
    // A site that never joined cannot fail it: the contract's own error, nothing changed.
    let stranger =
        wallet_contracts::consortium_fail_round(wallet, &sr25519::dev::charlie(), contract, 1)
            .await
            .unwrap_err();
    assert!(
        format!("{stranger:#}").contains("NotJoined"),
        "{stranger:#}"
    );
    // The coordinator can, at any time; then the round is no longer open.
    let (status, _) = wallet_contracts::consortium_fail_round(wallet, &bob, contract, 1).await?;
    assert!(matches!(status, consortium::RoundStatus::Failed { .. }));
    let again = wallet_contracts::consortium_fail_round(wallet, &bob, contract, 1)
        .await
        .unwrap_err();
    assert!(format!("{again:#}").contains("RoundNotOpen"), "{again:#}");
    Ok(())
}
