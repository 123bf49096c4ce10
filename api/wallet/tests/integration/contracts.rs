//! The contracts on a real `--dev` node, through the wallet's own functions: the registry is
//! deployed by council motion; the hospital proposes a data-use agreement and the research
//! institute signs it into force; the pool refuses a stranger's instantiation and a suspended
//! institution's contract call; the contract's refusals name what is wrong. On a consortium
//! chain with a council of three, a deployment waits for a second member's vote.

use anyhow::Result;
use consentry_client::{
    contract_abi::{decode_answer, dua, Message},
    contracts::Contract,
    runtime,
    subxt::utils::Static,
    subxt_signer::sr25519::{self, Keypair},
};
use consentry_e2e::{submit, Node};
use consentry_primitives::{CategorySet, DataCategory, Grantee, Purpose, PurposeSet, SubjectRef};
use consentry_wallet::{
    chain::Chain,
    contracts::{self, Deploying, Kind},
    council,
};

fn account(k: &Keypair) -> consentry_client::subxt::utils::AccountId32 {
    k.public_key().into()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn terms() -> dua::Terms {
    let now = now_ms();
    dua::Terms {
        custodian: 0,
        recipients: vec![1],
        purposes: PurposeSet::of(&[Purpose::Research]),
        categories: CategorySet::of(&[DataCategory::Labs]),
        // From a minute ago: the chain's clock runs on block timestamps.
        valid_from: now - 60_000,
        valid_until: now + 86_400_000,
        record_cap: Some(100),
        text_digest: [9; 32],
    }
}

async fn deploy_registry(chain: &Chain) -> Result<Contract> {
    let d = contracts::deploy(
        chain,
        &sr25519::dev::alice(),
        Kind::Dua,
        consentry_contracts::DUA_WASM,
        dua::New {},
        b"e2e".to_vec(),
    )
    .await?;
    Ok(Contract::at(d.address))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_data_use_agreement_on_a_dev_chain() -> Result<()> {
    let node = Node::dev()?;
    node.client().await?;
    let chain = Chain::connect(&node.ws_url(), None, &Default::default()).await?;
    let (bob, charlie) = (sr25519::dev::bob(), sr25519::dev::charlie());

    // Deployed by the council (Alice alone is the dev council: her motion executes at once).
    let registry = deploy_registry(&chain).await?;

    // The hospital proposes, the research institute signs: in force.
    let proposed = contracts::dua_propose(&chain, &bob, &registry, terms()).await?;
    assert_eq!(proposed.id, 0);
    let query = |now| dua::InForceQuery {
        custodian: 0,
        recipient: 1,
        purpose: Purpose::Research,
        categories: CategorySet::of(&[DataCategory::Labs]),
        now,
    };
    let in_force = contracts::read(&chain, &account(&bob), &registry, &query(now_ms())).await?;
    assert_eq!(in_force, None, "the institute has not signed");
    let signed = contracts::dua_sign(&chain, &charlie, &registry, 0).await?;
    assert!(signed.in_force, "the last signature puts it in force");
    let in_force = contracts::read(&chain, &account(&bob), &registry, &query(now_ms())).await?;
    assert_eq!(in_force, Some(0));

    // Inside the contract, the chain extension's `decide` is the runtime's own decision: the
    // same answers as the `ConsentApi` runtime API on the same inputs, permit and deny alike.
    let patient = sr25519::Keypair::from_uri(&"//ContractPatient".parse()?)?;
    let pseudonym = [0x51; 32];
    submit(
        &chain.client,
        &runtime::tx()
            .identity()
            .enrol(pseudonym, patient.public_key().into()),
        &bob,
    )
    .await?;
    submit(
        &chain.client,
        &runtime::tx().identity().claim(pseudonym),
        &patient,
    )
    .await?;
    let subject = chain
        .client
        .runtime_api()
        .at_latest()
        .await?
        .call(runtime::apis().consent_api().subject_of(pseudonym))
        .await?
        .expect("claimed");
    submit(
        &chain.client,
        &runtime::tx().consent().grant(
            subject,
            Static(Grantee::Institution(0)),
            Static(PurposeSet::of(&[Purpose::Research])),
            Static(CategorySet::of(&[DataCategory::Labs])),
            None,
            None,
            None,
        ),
        &patient,
    )
    .await?;
    let questions = [
        (
            SubjectRef::Pseudonym(pseudonym),
            account(&bob),
            Purpose::Research,
            DataCategory::Labs,
        ),
        (
            SubjectRef::Subject(subject),
            account(&bob),
            Purpose::Research,
            DataCategory::Labs,
        ),
        (
            SubjectRef::Subject(subject),
            account(&bob),
            Purpose::Research,
            DataCategory::Genomic,
        ),
        (
            SubjectRef::Subject(subject),
            account(&bob),
            Purpose::Treatment,
            DataCategory::Labs,
        ),
        (
            SubjectRef::Subject(subject),
            account(&charlie),
            Purpose::Research,
            DataCategory::Labs,
        ),
        (
            SubjectRef::Pseudonym([0x52; 32]),
            account(&bob),
            Purpose::Research,
            DataCategory::Labs,
        ),
    ];
    let mut permits = 0;
    for (who, accessor, purpose, category) in questions {
        let categories = CategorySet::of(&[category]);
        // One block for both answers, so both read the same state at the same time.
        let at = chain.client.blocks().at_latest().await?.hash();
        let api = chain
            .client
            .runtime_api()
            .at(at)
            .call(runtime::apis().consent_api().decide(
                Static(who),
                accessor.clone(),
                Static(purpose),
                Static(categories),
                None,
            ))
            .await?
            .0;
        let call = runtime::apis().contracts_api().call(
            account(&bob),
            registry.address.clone(),
            0,
            None,
            None,
            dua::Consent {
                subject: who,
                accessor: accessor.0.into(),
                purpose,
                categories,
            }
            .input(),
        );
        let res = chain.client.runtime_api().at(at).call(call).await?;
        let data = res.result.map_err(|e| anyhow::anyhow!("{e:?}"))?.data;
        let in_contract = decode_answer::<dua::Consent>(&data)?;
        assert_eq!(in_contract, api, "{who:?} {purpose:?} {category:?}");
        permits += usize::from(api.is_permit());
    }
    assert_eq!(
        permits, 2,
        "the two questions the grant covers are permitted"
    );

    // Bad input is refused by the contract, by name, before anything is submitted.
    let mut bad = terms();
    bad.recipients = vec![0];
    let err = contracts::dua_propose(&chain, &bob, &registry, bad)
        .await
        .expect_err("the custodian cannot be its own recipient");
    assert!(
        err.to_string().contains("CustodianIsRecipient"),
        "got: {err}"
    );
    let err = contracts::dua_sign(&chain, &charlie, &registry, 0)
        .await
        .expect_err("signed already");
    assert!(err.to_string().contains("NotProposed"), "got: {err}");

    // A stranger cannot instantiate (the pool refuses it before any block), and neither can an
    // institution's key: code arrives only by council motion.
    let ferdie = sr25519::dev::ferdie();
    let instantiate = runtime::tx().contracts().instantiate_with_code(
        0,
        consentry_client::contracts::Weight {
            ref_time: 1_000_000_000,
            proof_size: 100_000,
        },
        None,
        consentry_contracts::DUA_WASM.to_vec(),
        dua::New {}.input(),
        b"stranger".to_vec(),
    );
    for (who, signer) in [("a stranger", &ferdie), ("an institution", &bob)] {
        let refused = chain
            .client
            .tx()
            .sign_and_submit_default(&instantiate, signer)
            .await
            .expect_err("the pool refuses a signed instantiation");
        assert!(
            refused.to_string().contains("Invalid"),
            "{who}: expected a pool refusal, got {refused}"
        );
    }

    // Suspend the research institute (institution 1) by governance: its key can no longer call.
    let suspend = runtime::runtime_types::consentry_runtime::RuntimeCall::Identity(
        runtime::runtime_types::pallet_consentry_identity::pallet::Call::suspend_institution {
            institution: 1,
        },
    );
    submit(
        &chain.client,
        &runtime::tx().sudo().sudo(suspend),
        &sr25519::dev::alice(),
    )
    .await?;
    let call = registry.call(
        &dua::Terminate { id: 0 },
        consentry_client::contracts::Weight {
            ref_time: 1_000_000_000,
            proof_size: 100_000,
        },
    );
    let refused = chain
        .client
        .tx()
        .sign_and_submit_default(&call, &charlie)
        .await
        .expect_err("a suspended institution's key cannot call");
    assert!(refused.to_string().contains("Invalid"), "got {refused}");
    // The hospital still can: it terminates, and the agreement is no longer in force.
    contracts::dua_terminate(&chain, &bob, &registry, 0).await?;
    let in_force = contracts::read(&chain, &account(&bob), &registry, &query(now_ms())).await?;
    assert_eq!(in_force, None);
    let a = contracts::read(&chain, &account(&bob), &registry, &dua::Get { id: 0 })
        .await?
        .expect("kept");
    assert!(matches!(a.status, dua::Status::Terminated { by: 0, .. }));
    Ok(())
}

/// A consortium chain whose council is three institutions' governance keys (the example file:
/// Alice, Charlie and Eve; Alice's node is its validator): a deployment is a motion that needs
/// two ayes. The proposer's is the first; a non-member cannot vote; closing early says what is
/// missing; the second aye carries it, and closing it deploys the contract.
#[tokio::test(flavor = "multi_thread")]
async fn a_three_member_council_deploys_by_motion() -> Result<()> {
    let spec = consentry_e2e::repo_path("chain/node/res/consortium-example.json");
    let tmp = tempfile::tempdir()?;
    // Alice's node key: the file authorizes her peer id (12D3KooWEyop…), and a validator of a
    // chain that is not `--dev` must be given one.
    let node_key = format!("{:064x}", 1);
    let node = consentry_e2e::Node::spawn(
        &[
            "--chain",
            spec.to_str().expect("UTF-8 path"),
            "--alice",
            "--node-key",
            &node_key,
        ],
        tmp.path().to_path_buf(),
    )?;
    node.client().await?;
    let chain = Chain::connect(&node.ws_url(), None, &Default::default()).await?;
    let (alice, charlie, eve) = (
        sr25519::dev::alice(),
        sr25519::dev::charlie(),
        sr25519::dev::eve(),
    );
    assert_eq!(
        council::members(&chain).await?.len(),
        3,
        "the example file's council"
    );

    let proposed = contracts::propose_deploy(
        &chain,
        &alice,
        Kind::Dua,
        consentry_contracts::DUA_WASM,
        dua::New {},
        b"council".to_vec(),
    )
    .await?;
    let motion = match proposed {
        Deploying::Proposed(m) => m,
        other => panic!("one of three seats cannot deploy alone: {other:?}"),
    };
    assert_eq!(motion.call, "Contracts.instantiate_with_code");
    assert_eq!(
        (motion.threshold, motion.ayes.clone(), motion.nays.len()),
        (2, vec![account(&alice)], 0)
    );
    assert_eq!(council::motions(&chain).await?, vec![motion.clone()]);

    // Not yet: one aye of two, and a member who could still vote.
    let early = council::close(&chain, &alice, motion.hash)
        .await
        .unwrap_err()
        .to_string();
    assert!(early.contains("has 1 of the 2 ayes"), "{early}");
    // Bob is the hospital's service key, not a council seat.
    let stranger = council::vote(&chain, &sr25519::dev::bob(), motion.hash, true)
        .await
        .unwrap_err()
        .to_string();
    assert!(stranger.contains("holds no council seat"), "{stranger}");
    let unknown = council::vote(&chain, &charlie, [7u8; 32].into(), true)
        .await
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("no open council motion"), "{unknown}");

    let voted = council::vote(&chain, &charlie, motion.hash, true).await?;
    assert!(voted.motion.carried());
    assert_eq!(voted.motion.ayes, vec![account(&alice), account(&charlie)]);
    let again = council::vote(&chain, &charlie, motion.hash, true)
        .await
        .unwrap_err()
        .to_string();
    assert!(again.contains("already voted aye"), "{again}");

    // Any member closes it: dispatched, the registry is deployed and answers.
    let closed = council::close(&chain, &eve, motion.hash).await?;
    assert!(closed.approved);
    assert_eq!(closed.dispatch_error, None);
    let registry = Contract::at(closed.contract.expect("the contract's address"));
    let in_force = contracts::read(
        &chain,
        &account(&alice),
        &registry,
        &dua::InForceQuery {
            custodian: 0,
            recipient: 1,
            purpose: Purpose::Research,
            categories: CategorySet::of(&[DataCategory::Labs]),
            now: now_ms(),
        },
    )
    .await?;
    assert_eq!(in_force, None, "a new registry has no agreement");
    assert!(council::motions(&chain).await?.is_empty());
    Ok(())
}
