//! Against a real `--dev` node and a real SQLite file: enrol, claim, grant, request (granted),
//! complete, a request from an institution without consent (denied), an emergency access,
//! revoke, request again (denied); index it with a crash in the middle, and compare every row and
//! count with what the chain itself says.

use consentry_client::{
    runtime,
    subxt::utils::{AccountId32, Static},
    subxt_signer::{sr25519, SecretUri},
};
use consentry_e2e::{submit, Node};
use consentry_indexer::{index_until, AccessFilter, Chain, Store};
use consentry_primitives::{
    AccessState, CategorySet, DataCategory, Grantee, Outcome, Purpose, PurposeSet,
};
use std::str::FromStr;
use std::time::Duration;

/// Consentry events in blocks `0..=upto`, counted straight from the node.
async fn chain_event_count(chain: &Chain, upto: u32) -> anyhow::Result<u64> {
    let mut n = 0;
    for b in 0..=upto {
        let hash = chain.block_hash(b).await?;
        let events = chain.client.blocks().at(hash).await?.events().await?;
        for ev in events.iter() {
            if matches!(ev?.pallet_name(), "Identity" | "Consent" | "Audit") {
                n += 1;
            }
        }
    }
    Ok(n)
}

#[tokio::test(flavor = "multi_thread")]
async fn indexes_a_dev_chain_and_resumes_after_a_crash() -> anyhow::Result<()> {
    let node = Node::dev()?;
    let api = node.client().await?;
    let bob = sr25519::dev::bob(); // institution 0 (custodian + researcher)
    let charlie = sr25519::dev::charlie(); // institution 1 (researcher)
    let patient = sr25519::Keypair::from_uri(&SecretUri::from_str("//Patient/indexer")?)?;
    let pseudonym = [0x42; 32];
    let labs = CategorySet::of(&[DataCategory::Labs]);

    submit(
        &api,
        &runtime::tx()
            .identity()
            .enrol(pseudonym, patient.public_key().into()),
        &bob,
    )
    .await?;
    submit(&api, &runtime::tx().identity().claim(pseudonym), &patient).await?;
    let subject = api
        .runtime_api()
        .at_latest()
        .await?
        .call(runtime::apis().consent_api().subject_of(pseudonym))
        .await?
        .expect("claimed");
    submit(
        &api,
        &runtime::tx().consent().grant(
            subject,
            Static(Grantee::Institution(0)),
            Static(PurposeSet::of(&[Purpose::Simulation])),
            Static(labs),
            None,
            None,
            Some(10),
        ),
        &patient,
    )
    .await?;
    let request = |purpose| {
        runtime::tx()
            .audit()
            .request_access(pseudonym, Static(purpose), Static(labs), [7; 32])
    };
    let ev = submit(&api, &request(Purpose::Simulation), &bob).await?;
    let granted = ev
        .find_first::<runtime::audit::events::AccessGranted>()?
        .expect("granted")
        .id;
    submit(
        &api,
        &runtime::tx().audit().complete_access(
            subject,
            granted,
            Static(Outcome::Completed),
            Some([9; 32]),
        ),
        &bob,
    )
    .await?;
    let ev = submit(&api, &request(Purpose::Research), &charlie).await?;
    let no_consent = ev
        .find_first::<runtime::audit::events::AccessDenied>()?
        .expect("denied")
        .id;
    let ev = submit(
        &api,
        &runtime::tx()
            .audit()
            .emergency_access(pseudonym, Static(labs), [5; 32], [6; 32]),
        &bob,
    )
    .await?;
    let emergency = ev
        .find_first::<runtime::audit::events::EmergencyAccess>()?
        .expect("emergency")
        .id;
    let consent_id = api
        .runtime_api()
        .at_latest()
        .await?
        .call(runtime::apis().consent_api().consents_of(subject))
        .await?[0]
        .0;
    submit(&api, &runtime::tx().consent().revoke(consent_id), &patient).await?;
    let ev = submit(&api, &request(Purpose::Simulation), &bob).await?;
    let revoked = ev
        .find_first::<runtime::audit::events::AccessDenied>()?
        .expect("denied")
        .id;

    let chain = Chain::connect(&node.ws_url()).await?;
    let finalized = chain.finalized_number().await?;
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("idx.db").display());

    // Follow with `run`, then kill it mid-way (the task is dropped wherever it is, possibly in a
    // block's transaction), as a crash would.
    let store = Store::open(&url).await?;
    let task = tokio::spawn(consentry_indexer::run(
        node.ws_url(),
        store.clone(),
        std::future::pending(),
    ));
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while store
        .indexed_head()
        .await?
        .is_none_or(|(n, _)| n < finalized / 2)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "run() made no progress"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.abort();
    let _ = task.await;
    store.close().await;
    drop(store);

    // Reopen and continue to the same finalized block. The abort dropped `run` wherever it was,
    // possibly awaiting a block's COMMIT, which SQLite's worker thread still finishes after the
    // future is gone (a process crash would not): wait for the head to stop moving, or the
    // catch-up below races that last write.
    let store = Store::open(&url).await?;
    let mut settled = store.indexed_head().await?;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = store.indexed_head().await?;
        if now == settled {
            break;
        }
        settled = now;
    }
    let (head, _) = settled.expect("some blocks indexed");
    assert!(head >= finalized / 2);
    if head < finalized {
        index_until(&chain, &store, finalized).await?;
    }
    // `run` may have gone past `finalized` before the abort; compare at the stored head.
    let (head, head_hash) = store.indexed_head().await?.unwrap();
    assert!(head >= finalized);
    assert_eq!(head_hash, hex::encode(chain.block_hash(head).await?.0));
    assert_eq!(
        store.block_count().await?,
        u64::from(head) + 1,
        "no gap, no duplicate block"
    );
    assert_eq!(
        store.event_count().await?,
        chain_event_count(&chain, head).await?,
        "every Consentry event exactly once"
    );
    // Running to a head already reached writes nothing.
    assert_eq!(index_until(&chain, &store, head).await?, 0);

    // Each record matches the chain's own, and points at the extrinsic that made it.
    let hash = chain.block_hash(head).await?;
    let rt = api.runtime_api().at(hash);
    for id in [granted, no_consent, emergency, revoked] {
        let onchain = rt
            .call(runtime::apis().audit_api().record(Some(subject), id))
            .await?
            .expect("record");
        let row = store.access_record(id).await?.expect("indexed");
        assert_eq!(row.institution, onchain.institution);
        assert_eq!(row.requested_by, onchain.requested_by.to_string());
        assert_eq!(row.pseudonym, hex::encode(onchain.pseudonym));
        assert_eq!(row.subject, onchain.subject);
        assert_eq!(row.requested_at_ms, onchain.requested_at);
        assert_eq!(row.closed_at_ms, onchain.closed_at);
        assert_eq!(row.block_number, onchain.block);
        let block_hash = chain.block_hash(onchain.block).await?;
        assert_eq!(row.block_hash, hex::encode(block_hash.0));
        let block = api.blocks().at(block_hash).await?;
        let xt = block
            .extrinsics()
            .await?
            .iter()
            .find(|x| Some(x.index()) == row.extrinsic_index)
            .expect("the extrinsic index exists");
        assert_eq!(xt.pallet_name()?, "Audit");
    }
    let row = store.access_record(granted).await?.unwrap();
    assert_eq!(
        (row.state.as_str(), row.result_digest.clone()),
        ("completed", Some(hex::encode([9; 32])))
    );
    assert!(row.closed_block_number.unwrap() > row.block_number);
    assert_eq!(row.consents, vec![consent_id]);
    let row = store.access_record(no_consent).await?.unwrap();
    assert_eq!(
        (
            row.state.as_str(),
            row.deny_reason.as_deref(),
            row.institution
        ),
        ("denied", Some("no_consent"), 1)
    );
    let row = store.access_record(emergency).await?.unwrap();
    assert_eq!(
        (
            row.state.as_str(),
            row.emergency.clone(),
            row.purpose.as_str()
        ),
        ("granted", Some(hex::encode([5; 32])), "treatment")
    );
    let row = store.access_record(revoked).await?.unwrap();
    assert_eq!(row.deny_reason.as_deref(), Some("revoked"));
    let onchain = rt
        .call(runtime::apis().audit_api().record(Some(subject), revoked))
        .await?
        .unwrap();
    assert!(matches!(onchain.state.0, AccessState::Denied(_)));

    // Filters and pages.
    let by_pseudonym = AccessFilter {
        pseudonym: Some(hex::encode(pseudonym)),
        ..Default::default()
    };
    let mut ids = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .access_records(&by_pseudonym, cursor.as_deref(), 1)
            .await?;
        ids.extend(page.items.iter().map(|r| r.id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(ids, vec![revoked, emergency, no_consent, granted]);
    let f = AccessFilter {
        state: Some("emergency".into()),
        ..Default::default()
    };
    let page = store.access_records(&f, None, 10).await?;
    assert_eq!(
        page.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![emergency]
    );

    // Counts agree with the chain's own per-institution counters.
    let summaries = store.institution_summaries().await?;
    for inst in [0u32, 1] {
        let c = rt
            .call(runtime::apis().audit_api().counts_of(inst))
            .await?
            .0;
        let s = summaries
            .iter()
            .find(|s| s.institution == inst)
            .expect("institution has records")
            .counts;
        assert_eq!(
            (
                s.granted,
                s.denied,
                s.completed,
                s.failed,
                s.aborted,
                s.emergency
            ),
            (
                c.granted.into(),
                c.denied.into(),
                c.completed.into(),
                c.failed.into(),
                c.aborted.into(),
                c.emergency.into()
            ),
            "institution {inst}"
        );
    }

    // The consent row is the chain's consent, revoked, with the permit's use counted.
    let consents = store.consents(Some(subject), None, 10).await?.items;
    assert_eq!(consents.len(), 1);
    let onchain = rt
        .call(runtime::apis().consent_api().consents_of(subject))
        .await?;
    let c = &onchain[0].1;
    let row = &consents[0];
    assert_eq!(row.id, consent_id);
    assert_eq!(row.grantee, Grantee::Institution(0));
    // Stored, queried and exported under the canonical names (`Named`), never Rust's.
    assert_eq!(row.purposes, vec!["simulation".to_string()]);
    assert_eq!(row.categories, vec!["labs".to_string()]);
    let exported = consentry_indexer::export::fhir_consent(row);
    assert_eq!(exported["provision"]["class"][0]["code"], "labs");
    let granted_row = store.access_record(granted).await?.unwrap();
    assert_eq!(
        (granted_row.purpose.as_str(), granted_row.categories.clone()),
        ("simulation", vec!["labs".to_string()])
    );
    let csv = consentry_indexer::export::to_csv(&[granted_row]);
    assert!(
        csv.lines().nth(1).unwrap().contains(",simulation,labs,"),
        "{csv}"
    );
    assert_eq!((row.uses, row.max_uses), (c.uses, c.max_uses));
    assert_eq!(row.uses, 1);
    assert_eq!(row.status, "revoked");
    assert_eq!(
        row.granted_by,
        AccountId32::from(patient.public_key().0).to_string()
    );

    // Live: `run` follows new finalized blocks and stops cleanly on shutdown.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(consentry_indexer::run(
        node.ws_url(),
        store.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    let ev = submit(&api, &request(Purpose::Simulation), &bob).await?;
    let live = ev
        .find_first::<runtime::audit::events::AccessDenied>()?
        .expect("denied")
        .id;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while store.access_record(live).await?.is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "run() did not index the new record"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task).await???;
    let (head, _) = store.indexed_head().await?.unwrap();
    assert_eq!(store.block_count().await?, u64::from(head) + 1);
    assert_eq!(
        store.event_count().await?,
        chain_event_count(&chain, head).await?
    );

    // The enrolment, claimed.
    let e = store
        .enrolment(&hex::encode(pseudonym))
        .await?
        .expect("enrolled");
    assert_eq!((e.institution, e.subject), (0, Some(subject)));
    assert!(e.claimed_block_number.unwrap() > e.block_number);
    Ok(())
}
