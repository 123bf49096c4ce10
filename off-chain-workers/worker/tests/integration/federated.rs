//! Federated rounds on a real `--dev` node: three hospitals (each its own service key, patient
//! store of labelled FHIR records, and pinned TLS identity registered on chain) train the
//! drug-response hybrid under a consortium contract; the research institute coordinates and runs
//! the aggregator. Shown:
//! - two rounds complete; every site's accesses are closed citing the round's aggregate;
//! - a patient who revokes between rounds is denied in round 2 and never read again;
//! - a site that crashes after sharing its keys is dropped and the round completes from the
//!   other two (its secret shares remove its masks); restarted, it closes its open accesses
//!   without a new record;
//! - the aggregator only ever held masked inputs (what it received is not any site's encoding);
//! - the ε on chain is the RDP accountant's for the ledgered inputs.

use crate::common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use consentry_client::{
    contract_abi::consortium,
    runtime::{self, runtime_types::pallet_consentry_identity::pallet::Call as IdentityCall},
    subxt::utils::Static,
    subxt_signer::sr25519,
    Client,
};
use consentry_datastore::{Pepper, Store};
use consentry_e2e::Node;
use consentry_federated::data::CohortSpec;
use consentry_federated::fhir_export;
use consentry_federated::model::ModelSpec;
use consentry_federated::optim::OptimizerKind;
use consentry_federated::simulate::LocalSpec;
use consentry_fl_transport::{
    AggregatorServer, KeyAlgorithm, PollConfig, SiteClient, TransportIdentity,
};
use consentry_inference::cohort::{Cohort, CohortConfig};
use consentry_primitives::{AccessState, DenyReason, Outcome, Purpose, PurposeSet, Role, RoleSet};
use consentry_privacy::{DpSgdEvent, RdpAccountant};
use consentry_simulation::drugs::DrugLibrary;
use consentry_wallet::contracts as wallet_contracts;
use consentry_worker::chain::Chain;
use consentry_worker::cohort::CohortTxs;
use consentry_worker::fl::{self, coordinator::Coordinator, site::Site, Plan};
use consentry_worker::study::Study;
use consentry_worker::transport;

/// The research institute coordinates (Charlie's key).
const INSTITUTE: u32 = 1;
const PER_SITE: usize = 5;

fn plan() -> Plan {
    Plan {
        reference: CohortSpec {
            n_patients: 600,
            seed: 11,
            test_frac: 0.2,
            public_frac: 0.3,
            seq_len: 12,
        },
        model: ModelSpec::default(),
        local: LocalSpec {
            optimizer: OptimizerKind::default(),
            lr: 0.05,
            epochs: 1,
            batch_size: 8,
        },
        dp: consentry_federated::client::DpSgd {
            sampling_rate: 0.5,
            noise_multiplier: 1.1,
            clip_norm: 1.0,
            steps: 3,
        },
        seed: 5,
        threshold: 2,
        secagg_clip: 8.0,
        max_site_weight: 64,
        stage_ms: 60_000,
    }
}

/// A hospital: its key, store and patients.
struct Hospital {
    id: u32,
    key: sr25519::Keypair,
    _dir: tempfile::TempDir,
    store: PathBuf,
    jobs: PathBuf,
    pseudonyms: Vec<[u8; 32]>,
    patients: Vec<sr25519::Keypair>,
    consents: Vec<u64>,
}

async fn sudo(
    api: &Client,
    call: runtime::runtime_types::consentry_runtime::RuntimeCall,
) -> anyhow::Result<
    consentry_client::subxt::blocks::ExtrinsicEvents<consentry_client::ConsentryConfig>,
> {
    submit(
        api,
        &runtime::tx().sudo().sudo(call),
        &sr25519::dev::alice(),
    )
    .await
}

/// Registers a hospital (data custodian) with its service key, unless it is the dev hospital.
async fn register(api: &Client, name: &str, key: &sr25519::Keypair) -> anyhow::Result<u32> {
    let events = sudo(
        api,
        runtime::runtime_types::consentry_runtime::RuntimeCall::Identity(
            IdentityCall::register_institution {
                name: name.as_bytes().to_vec(),
                roles: Static(RoleSet::of(&[Role::DataCustodian, Role::Researcher])),
            },
        ),
    )
    .await?;
    let id = events
        .find_first::<runtime::identity::events::InstitutionRegistered>()?
        .expect("InstitutionRegistered")
        .institution;
    sudo(
        api,
        runtime::runtime_types::consentry_runtime::RuntimeCall::Identity(
            IdentityCall::add_service_key {
                institution: id,
                key: key.public_key().into(),
            },
        ),
    )
    .await?;
    Ok(id)
}

/// Fills the hospital's store with `rows` as FHIR, enrols each patient under its key, and has
/// each patient claim and grant the hospital federated training over the plan's categories.
async fn hospital(
    api: &Client,
    id: u32,
    key: sr25519::Keypair,
    rows: &[consentry_inference::cohort::CohortRow],
) -> anyhow::Result<Hospital> {
    let dir = tempfile::tempdir()?;
    let store_path = dir.path().join("store.sqlite");
    let mut store = Store::open(&store_path)?;
    let pepper = Pepper::from_bytes(format!("federated-test-pepper-{id}-0123456789abcdef"))?;
    let drugs = DrugLibrary::builtin();
    let ordered = finalized_now(api).await? as i64 - 30 * 86_400_000;
    let mut genotypes = String::new();
    let mut pseudonyms = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let mrn = format!("h{id}-{i}");
        store.ingest_bundle(&pepper, &fhir_export::bundle(row, &mrn, ordered, &drugs)?)?;
        genotypes.push_str(&fhir_export::genotype_lines(row, &mrn));
        pseudonyms.push(pepper.pseudonym(&mrn));
    }
    store.ingest_genotypes(&pepper, &genotypes)?;
    // Enrolments are the hospital's key's, one after another; claims and grants are each
    // patient's own, side by side.
    let patients: Vec<_> = (0..rows.len())
        .map(|i| common::key(&format!("//Fed/{id}/{i}")))
        .collect();
    for (p, psn) in patients.iter().zip(&pseudonyms) {
        submit(
            api,
            &runtime::tx().identity().enrol(*psn, p.public_key().into()),
            &key,
        )
        .await?;
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (p, psn)) in patients.iter().cloned().zip(pseudonyms.clone()).enumerate() {
        let api = api.clone();
        tasks.spawn(async move {
            submit(&api, &runtime::tx().identity().claim(psn), &p).await?;
            let subject = api
                .runtime_api()
                .at_latest()
                .await?
                .call(runtime::apis().consent_api().subject_of(psn))
                .await?
                .expect("claimed");
            let consent = submit(
                &api,
                &runtime::tx().consent().grant(
                    subject,
                    Static(consentry_primitives::Grantee::Institution(id)),
                    Static(PurposeSet::of(&[Purpose::FederatedTraining])),
                    Static(Plan::categories()),
                    None,
                    None,
                    None,
                ),
                &p,
            )
            .await?
            .find_first::<runtime::consent::events::ConsentGranted>()?
            .expect("ConsentGranted")
            .consent;
            anyhow::Ok((i, consent))
        });
    }
    let mut consents = vec![0; rows.len()];
    while let Some(done) = tasks.join_next().await {
        let (i, c) = done??;
        consents[i] = c;
    }
    Ok(Hospital {
        id,
        key,
        store: store_path,
        jobs: dir.path().join("jobs.sqlite"),
        _dir: dir,
        pseudonyms,
        patients,
        consents,
    })
}

/// A site of hospital `h` talking to `aggregator`, pinned through the chain-backed registry.
async fn site(
    node: &Node,
    h: &Hospital,
    study: &Study,
    tls: &TransportIdentity,
    aggregator: &str,
) -> anyhow::Result<Site> {
    let chain = Chain::connect(&node.ws_url(), h.key.clone()).await?;
    let (registry, view) = transport::load(&chain).await?;
    tokio::spawn(transport::follow(chain.clone(), registry.clone(), view));
    let client = SiteClient::new(
        tls,
        aggregator,
        INSTITUTE,
        Arc::new(registry),
        PollConfig {
            stage_timeout: Duration::from_secs(300),
            ..Default::default()
        },
    )?;
    Site::new(
        chain,
        study.clone(),
        plan(),
        Store::open(&h.store)?,
        CohortTxs::open(&h.jobs)?,
        client,
    )
    .await
}

/// The study's institutions and contract.
struct Setup {
    north: u32,
    south: u32,
    hospitals: [Hospital; 3],
    study: Study,
}

/// Three hospitals (the dev hospital and two registered now) with their patients' records and
/// consents, and the study deployed by the council with the plan's digest as its model, joined
/// by the hospitals and coordinated by the research institute.
async fn setup(node: &Node, api: &Client) -> anyhow::Result<Setup> {
    // The hospitals' patients: one generated population, split three ways.
    let rows = Cohort::generate(&CohortConfig {
        n_patients: 3 * PER_SITE,
        seed: 21,
        ..Default::default()
    })?
    .rows;
    let north_key = key("//NorthHospital");
    let south_key = key("//SouthHospital");
    let north = register(api, "North Hospital", &north_key).await?;
    let south = register(api, "South Hospital", &south_key).await?;
    let (h0, h1, h2) = tokio::try_join!(
        hospital(api, HOSPITAL, sr25519::dev::bob(), &rows[..PER_SITE]),
        hospital(api, north, north_key, &rows[PER_SITE..2 * PER_SITE]),
        hospital(api, south, south_key, &rows[2 * PER_SITE..]),
    )?;
    let hospitals = [h0, h1, h2];
    // The council deploys the study with the plan's digest as its model; the hospitals join.
    let wallet =
        consentry_wallet::chain::Chain::connect(&node.ws_url(), None, &Default::default()).await?;
    let rules = consortium::Study {
        coordinator: INSTITUTE,
        members: vec![INSTITUTE, HOSPITAL, north, south],
        model: consortium::Model {
            name: "drug-response hybrid".into(),
            architecture: plan().digest()?,
        },
        min_sites: 2,
        max_rounds: 4,
        round_deadline_ms: 3_600_000,
        epsilon_budget: 20 * consortium::EPSILON_SCALE,
        delta: consortium::DELTA_SCALE / 100_000,
    };
    let contract = deploy_study(&wallet, rules, b"federated").await?;
    for h in &hospitals {
        wallet_contracts::consortium_join(&wallet, &h.key, &contract).await?;
    }
    let study = Study::at(contract.address.clone());
    Ok(Setup {
        north,
        south,
        hospitals,
        study,
    })
}

/// Waits until the study has an open round; returns it.
async fn open_round(study: &Study, chain: &Chain) -> anyhow::Result<u32> {
    for _ in 0..300 {
        if let Some(r) = study.read(chain, &consortium::CurrentRound {}).await? {
            return Ok(r);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    anyhow::bail!("no round opened")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hospitals_train_two_rounds_and_survive_a_crashed_site() -> anyhow::Result<()> {
    // `RUST_LOG=info` shows the rounds as they run.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let node = Node::dev()?;
    let api = node.client().await?;

    let Setup {
        north,
        south,
        hospitals: [h0, h1, h2],
        study,
    } = setup(&node, &api).await?;
    let hospitals = [&h0, &h1, &h2];
    // Every institution registers its TLS key on chain.
    let coordinator_chain = Chain::connect(&node.ws_url(), sr25519::dev::charlie()).await?;
    let aggregator_tls = TransportIdentity::generate(INSTITUTE, KeyAlgorithm::Ed25519)?;
    transport::register_own(&coordinator_chain, &aggregator_tls).await?;
    let mut site_tls = Vec::new();
    for h in hospitals {
        let tls = TransportIdentity::generate(h.id, KeyAlgorithm::EcdsaP256)?;
        transport::register_own(&Chain::connect(&node.ws_url(), h.key.clone()).await?, &tls)
            .await?;
        site_tls.push(tls);
    }

    // The coordinator's aggregator, pinned through its own chain-backed registry.
    let (registry, view) = transport::load(&coordinator_chain).await?;
    tokio::spawn(transport::follow(
        coordinator_chain.clone(),
        registry.clone(),
        view,
    ));
    let coordinator_registry: Arc<dyn consentry_fl_transport::Registry> = Arc::new(registry);
    let server = AggregatorServer::bind(
        "127.0.0.1:0".parse()?,
        &aggregator_tls,
        coordinator_registry.clone(),
    )
    .await?;
    let url = server.url();
    let models = tempfile::tempdir()?;
    let mut coordinator = Coordinator::new(
        coordinator_chain.clone(),
        study.clone(),
        plan(),
        server,
        models.path().to_path_buf(),
    )
    .await?;
    coordinator.retain_received_inputs = true;

    let mut sites = Vec::new();
    for (h, tls) in hospitals.iter().zip(&site_tls) {
        sites.push(Arc::new(site(&node, h, &study, tls, &url).await?));
    }

    // Round 0: everyone.
    let (done, outcomes) = tokio::join!(coordinator.run_round(), async {
        let round = open_round(&study, &coordinator_chain).await?;
        let mut tasks = tokio::task::JoinSet::new();
        for s in &sites {
            let s = s.clone();
            tasks.spawn(async move { s.run_round(round).await });
        }
        let mut out = Vec::new();
        while let Some(r) = tasks.join_next().await {
            out.push(r??);
        }
        anyhow::Ok(out)
    });
    let r0 = done?;
    let outcomes = outcomes?;
    assert_eq!(r0.round, 0);
    assert_eq!(
        r0.result.survivors.len(),
        3,
        "every site's input is in the sum"
    );
    assert_eq!(
        r0.total_weight,
        3 * PER_SITE as u64,
        "Σ n_k = every patient"
    );
    let on_chain = study.round(&coordinator_chain, 0).await?.expect("round 0");
    assert!(matches!(
        on_chain.status,
        consortium::RoundStatus::Aggregated { .. }
    ));
    assert_eq!(on_chain.aggregate, Some(r0.aggregate));
    assert_eq!(on_chain.global_model, r0.from);
    assert_eq!(
        on_chain.input_sites.as_ref().map(|s| s.sites.len()),
        Some(3)
    );
    for o in &outcomes {
        assert_eq!(o.cohort.granted.len(), PER_SITE);
        assert_eq!(o.examples, PER_SITE, "skipped: {:?}", o.skipped);
        assert_eq!(
            (o.closed, o.aggregate),
            (Outcome::Completed, Some(r0.aggregate))
        );
        for g in &o.cohort.granted {
            assert_eq!(
                state_of(&api, g.access).await?,
                AccessState::Closed(Outcome::Completed)
            );
        }
    }
    // What the aggregator received is masked: the first coordinate of a site's encoding is its
    // weight n_k; the masked one is uniformly random (equal with probability 2^-32).
    let received = coordinator.server.received_inputs();
    assert_eq!(received.len(), 3);
    for v in received.values() {
        assert_ne!(
            v[0], PER_SITE as u32,
            "an unmasked weight reached the aggregator"
        );
    }

    // Between the rounds one of the dev hospital's patients revokes.
    submit(
        &api,
        &runtime::tx().consent().revoke(h0.consents[0]),
        &h0.patients[0],
    )
    .await?;

    // Round 1: the south hospital's worker crashes after sharing its keys (this instance of
    // its site pauses there, a test hook).
    let mut pausing = site(&node, &h2, &study, &site_tls[2], &url).await?;
    pausing.pause_before_masking = Some(Duration::from_secs(30));
    let pausing = Arc::new(pausing);
    let before_south = records_of(&api, south).await?;
    let (done, outcomes) = tokio::join!(coordinator.run_round(), async {
        let round = open_round(&study, &coordinator_chain).await?;
        let survivors: Vec<_> = sites[..2]
            .iter()
            .map(|s| {
                let s = s.clone();
                tokio::spawn(async move { s.run_round(round).await })
            })
            .collect();
        let crashing = pausing.clone();
        let crashed = tokio::spawn(async move { crashing.run_round(round).await });
        // It dies after sending its shares (sites share within a block of the key set's
        // commit), while it pauses before masking.
        let deadline = std::time::Instant::now() + Duration::from_secs(240);
        while key_set_not_committed(&study, &coordinator_chain, round).await? {
            anyhow::ensure!(std::time::Instant::now() < deadline, "keys never committed");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_secs(8)).await;
        crashed.abort();
        let mut out = Vec::new();
        for t in survivors {
            out.push(t.await??);
        }
        anyhow::Ok((round, out))
    });
    let r1 = done?;
    let (round1, outcomes) = outcomes?;
    assert_eq!(r1.round, round1);
    let survivors: Vec<u32> = r1
        .result
        .survivors
        .iter()
        .map(|&s| fl::institution_of(s))
        .collect();
    assert_eq!(
        survivors,
        vec![HOSPITAL, north],
        "the crashed site is not in the sum"
    );
    assert!(
        r1.result.shared_keys.contains(&fl::site_id(south)),
        "it had sent its shares: its masks were removed with the survivors' shares"
    );
    assert_eq!(r1.total_weight, (2 * PER_SITE - 1) as u64);
    // The revoked patient was denied, and read only in round 0.
    let dev = &outcomes[0];
    assert_eq!(dev.cohort.granted.len(), PER_SITE - 1);
    assert_eq!(
        dev.cohort
            .denied
            .iter()
            .map(|d| (d.pseudonym, d.reason))
            .collect::<Vec<_>>(),
        vec![(h0.pseudonyms[0], DenyReason::Revoked)]
    );
    let store = Store::open(&h0.store)?;
    assert_eq!(store.reads_for(&h0.pseudonyms[0])?.len(), 1);
    assert_eq!(store.reads_for(&h0.pseudonyms[1])?.len(), 2);
    for o in &outcomes {
        assert_eq!(
            (o.closed, o.aggregate),
            (Outcome::Completed, Some(r1.aggregate))
        );
    }

    // The crashed worker restarts: it finds its round-1 cohort in its own store (no new record)
    // and closes those accesses as aborted, since its input never reached the sum.
    let asked = records_of(&api, south).await?;
    assert_eq!(
        asked,
        before_south + PER_SITE as u32,
        "one record per patient"
    );
    let restarted = site(&node, &h2, &study, &site_tls[2], &url).await?;
    let recovered = restarted.recover(round1).await?;
    assert_eq!(
        records_of(&api, south).await?,
        asked,
        "no access asked twice"
    );
    assert_eq!(recovered.granted.len(), PER_SITE);
    for g in &recovered.granted {
        assert_eq!(
            state_of(&api, g.access).await?,
            AccessState::Closed(Outcome::Aborted)
        );
    }

    // The ε on chain is the RDP accountant's for the two rounds' ledgered inputs.
    let mut accountant = RdpAccountant::new();
    for round in [0, round1] {
        let a = study
            .round(&coordinator_chain, round)
            .await?
            .expect("round")
            .accountant;
        let dp = fl::dp_of(&a);
        accountant.compose(&DpSgdEvent::new(
            dp.sampling_rate,
            dp.noise_multiplier,
            dp.steps as u64,
        )?)?;
    }
    let expected = accountant.epsilon(1e-5)?.epsilon;
    let (spent, _) = study
        .read(&coordinator_chain, &consortium::Epsilon {})
        .await?;
    assert_eq!(
        spent,
        (expected * consortium::EPSILON_SCALE as f64).ceil() as u64
    );

    // The coordinator restarts: it resumes from round 1's aggregate, read back from its model
    // directory and checked against the chain.
    let restart = |registry| {
        let (chain, study, models) = (
            coordinator_chain.clone(),
            study.clone(),
            models.path().to_path_buf(),
        );
        let tls = &aggregator_tls;
        async move {
            let server = AggregatorServer::bind("127.0.0.1:0".parse()?, tls, registry).await?;
            Coordinator::new(chain, study, plan(), server, models).await
        }
    };
    let resumed = restart(coordinator_registry.clone()).await?;
    assert_eq!(resumed.global, coordinator.global);
    // A round an earlier run left open (a coordinator that crashed mid-round) is failed on
    // restart: the contract shows it produced no model.
    let left_open = study
        .open_round(
            &coordinator_chain,
            r1.aggregate,
            plan().accountant(),
            spent + consortium::EPSILON_SCALE,
        )
        .await?;
    drop(resumed);
    let again = restart(coordinator_registry).await?;
    let status = study
        .round(&coordinator_chain, left_open)
        .await?
        .expect("round")
        .status;
    assert!(
        matches!(status, consortium::RoundStatus::Failed { .. }),
        "{status:?}"
    );
    assert_eq!(again.global, coordinator.global);
    Ok(())
}

/// Whether round `round` has no key set committed yet (sites share their keys right after).
async fn key_set_not_committed(study: &Study, chain: &Chain, round: u32) -> anyhow::Result<bool> {
    Ok(study
        .round(chain, round)
        .await?
        .is_none_or(|r| r.key_sites.is_none()))
}

/// Waits until `round` of the study satisfies `ready`.
async fn wait_for(
    study: &Study,
    chain: &Chain,
    round: u32,
    what: &str,
    ready: impl Fn(&consortium::Round) -> bool,
) -> anyhow::Result<consortium::Round> {
    fl::wait_round(study, chain, round, what, Duration::from_secs(600), ready).await
}

fn aggregated(r: &consortium::Round) -> bool {
    matches!(r.status, consortium::RoundStatus::Aggregated { .. })
}

/// (granted, completed, aborted) records of `institution`.
async fn counts(api: &Client, institution: u32) -> anyhow::Result<(u32, u32, u32)> {
    let c = common::counts_of(api, institution).await?;
    Ok((c.granted, c.completed, c.aborted))
}

/// The same study run by the daemons: one `consentry-worker` process per hospital (its own
/// store, jobs database, service key and transport key file) following the study, and the
/// institute's worker coordinating three rounds. The south hospital's process is killed
/// (SIGKILL) in round 1 and restarted: it closes its round-1 accesses as aborted and takes part
/// in round 2, and no access is recorded twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn worker_processes_run_a_study_and_a_killed_site_rejoins() -> anyhow::Result<()> {
    let node = Node::dev()?;
    let api = node.client().await?;
    let Setup {
        north,
        south,
        hospitals,
        study,
    } = setup(&node, &api).await?;
    let chain = Chain::connect(&node.ws_url(), sr25519::dev::charlie()).await?;
    let dir = tempfile::tempdir()?;
    let plan_file = dir.path().join("plan.json");
    std::fs::write(&plan_file, serde_json::to_vec(&plan())?)?;
    let address = study.contract.address.to_string();
    let port = consentry_e2e::free_port();
    let aggregator = format!("https://127.0.0.1:{port}");
    let fl = |tls: &str, role: &[&str]| -> Vec<String> {
        [
            "--fl-study",
            &address,
            "--fl-plan",
            plan_file.to_str().expect("utf-8 path"),
            "--fl-tls-key",
            tls,
        ]
        .iter()
        .chain(role)
        .map(|s| s.to_string())
        .collect()
    };
    let start_site = |h: &Hospital, uri: &str, extra: &[&str]| {
        let tls = h.store.with_extension("tls.der");
        let role: Vec<&str> = ["--fl-aggregator", aggregator.as_str()]
            .into_iter()
            .chain(extra.iter().copied())
            .collect();
        let args = fl(tls.to_str().expect("utf-8"), &role);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Worker::start_with_key_env(
            &node.ws_url(),
            &h.store,
            &h.jobs,
            &["--dev", "--key-uri", uri],
            &[],
            &args,
        )
    };
    let uris = ["//Bob", "//NorthHospital", "//SouthHospital"];
    // The south hospital's worker pauses between sending its shares and masking its input (a
    // test hook), so it can be killed exactly there.
    let mut sites: Vec<Worker> = vec![
        start_site(&hospitals[0], uris[0], &[]),
        start_site(&hospitals[1], uris[1], &[]),
        start_site(
            &hospitals[2],
            uris[2],
            &["--fl-pause-before-masking-ms", "30000"],
        ),
    ];
    let coordinator_store = dir.path().join("institute.sqlite");
    let coordinator_tls = dir.path().join("institute.tls.der");
    let models_dir = dir.path().join("models").display().to_string();
    let listen = format!("127.0.0.1:{port}");
    let args = fl(
        coordinator_tls.to_str().expect("utf-8"),
        &[
            "--fl-coordinate",
            &listen,
            "--fl-rounds",
            "3",
            "--fl-interval-ms",
            "20000",
            "--fl-models",
            models_dir.as_str(),
        ],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut coordinator = Worker::start_with_key_env(
        &node.ws_url(),
        &coordinator_store,
        &dir.path().join("institute-jobs.sqlite"),
        &["--dev", "--key-uri", "//Charlie"],
        &[],
        &args,
    );

    // Round 0: all three; then a patient of the dev hospital revokes before round 1 opens.
    let r0 = wait_for(&study, &chain, 0, "round 0 aggregated", aggregated).await?;
    assert_eq!(r0.input_sites.map(|s| s.sites.len()), Some(3));
    let h0 = &hospitals[0];
    submit(
        &api,
        &runtime::tx().consent().revoke(h0.consents[0]),
        &h0.patients[0],
    )
    .await?;

    // Round 1: the south hospital's worker is killed after it sent its shares (the key set is
    // on chain; sites share within a block of it), before it masks.
    wait_for(&study, &chain, 1, "round 1's key set", |r| {
        r.key_sites.is_some()
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(8)).await;
    sites[2].kill();
    let r1 = wait_for(&study, &chain, 1, "round 1 aggregated", aggregated).await?;
    let mut in_sum = r1.input_sites.expect("input set").sites;
    in_sum.sort_unstable();
    assert_eq!(
        in_sum,
        vec![HOSPITAL, north],
        "the killed site is not in the sum"
    );

    // Restarted, it closes what round 1 left open and joins round 2.
    sites[2] = start_site(&hospitals[2], uris[2], &[]);
    let r2 = wait_for(&study, &chain, 2, "round 2 aggregated", aggregated).await?;
    let mut in_sum = r2.input_sites.expect("input set").sites;
    in_sum.sort_unstable();
    assert_eq!(
        in_sum,
        vec![HOSPITAL, north, south],
        "the restarted site rejoined"
    );

    // Every site's accesses end closed: the south hospital's round-1 ones aborted, the rest
    // completed; one access per patient and round, none asked twice.
    let n = PER_SITE as u32;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let now = [
            counts(&api, HOSPITAL).await?,
            counts(&api, north).await?,
            counts(&api, south).await?,
        ];
        // The revoked patient's round-1 and round-2 requests were denied.
        let want = [(0, 3 * n - 2, 0), (0, 3 * n, 0), (0, 2 * n, n)];
        if now == want {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "(granted, completed, aborted) per site: {now:?}, expected {want:?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let store = Store::open(&h0.store)?;
    assert_eq!(
        store.reads_for(&h0.pseudonyms[0])?.len(),
        1,
        "read in round 0 only"
    );
    assert_eq!(store.reads_for(&h0.pseudonyms[1])?.len(), 3);
    assert!(coordinator.is_running() && sites.iter_mut().all(Worker::is_running));
    Ok(())
}
