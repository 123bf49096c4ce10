//! Against a real `--dev` node: enrol, claim, grant, request (granted, finalized), revoke,
//! request again (denied), read it all back through the runtime APIs; the pool refuses a
//! stranger's transaction; state survives a restart; Prometheus metrics follow the chain.

use consentry_client::{
    runtime,
    subxt::utils::Static,
    subxt_signer::{sr25519, SecretUri},
};
use consentry_e2e::{record, submit, Node};
use consentry_primitives::{
    AccessState, CategorySet, DataCategory, Decision, DenyReason, Grantee, Purpose, PurposeSet,
    SubjectRef,
};
use std::str::FromStr;

/// The dev chain's hospital (institution 0) signs with Bob's key.
const HOSPITAL: u32 = 0;

#[tokio::test(flavor = "multi_thread")]
async fn consent_gates_access_on_a_dev_chain() -> anyhow::Result<()> {
    let node = Node::dev()?;
    let api = node.client().await?;
    let worker = sr25519::dev::bob();
    let patient = sr25519::Keypair::from_uri(&SecretUri::from_str("//Patient/1")?)?;
    let pseudonym = [0x11; 32];
    let labs = CategorySet::of(&[DataCategory::Labs, DataCategory::Genomic]);

    // The hospital enrols the patient; the patient (an account the chain did not know) claims.
    submit(
        &api,
        &runtime::tx()
            .identity()
            .enrol(pseudonym, patient.public_key().into()),
        &worker,
    )
    .await?;
    // Until it claims, the addressee may send nothing else: the pool's permission check refuses it.
    let remark = runtime::tx().system().remark(b"not yet".to_vec());
    let refused = api
        .tx()
        .sign_and_submit_default(&remark, &patient)
        .await
        .expect_err("only a claim is allowed");
    assert!(
        refused.to_string().contains("Invalid"),
        "pool rejection, got: {refused}"
    );
    submit(&api, &runtime::tx().identity().claim(pseudonym), &patient).await?;
    let rt = api.runtime_api().at_latest().await?;
    let subject = rt
        .call(runtime::apis().consent_api().subject_of(pseudonym))
        .await?
        .expect("claimed");

    // The patient grants the hospital Simulation over labs and genotypes.
    submit(
        &api,
        &runtime::tx().consent().grant(
            subject,
            Static(Grantee::Institution(HOSPITAL)),
            Static(PurposeSet::of(&[Purpose::Simulation])),
            Static(labs),
            None,
            None,
            None,
        ),
        &patient,
    )
    .await?;

    // The worker asks; the chain grants, in a finalized block.
    let request = runtime::tx().audit().request_access(
        pseudonym,
        Static(Purpose::Simulation),
        Static(labs),
        [7; 32],
    );
    let events = submit(&api, &request, &worker).await?;
    let granted = events
        .find_first::<runtime::audit::events::AccessGranted>()?
        .expect("AccessGranted event");
    let first = record(&api, Some(granted.subject), granted.id).await?;
    assert_eq!(first.state.0, AccessState::Granted);
    assert_eq!(first.subject, Some(subject));
    assert_eq!(first.job_digest, [7; 32]);

    // The patient revokes; the next request is recorded as denied, with the reason.
    let consents = api
        .runtime_api()
        .at_latest()
        .await?
        .call(runtime::apis().consent_api().consents_of(subject))
        .await?;
    assert_eq!(consents.len(), 1);
    submit(
        &api,
        &runtime::tx().consent().revoke(consents[0].0),
        &patient,
    )
    .await?;
    let events = submit(&api, &request, &worker).await?;
    let denied = events
        .find_first::<runtime::audit::events::AccessDenied>()?
        .expect("AccessDenied event");
    assert_eq!(denied.reason.0, DenyReason::Revoked);
    assert_eq!(
        record(&api, denied.subject, denied.id).await?.state.0,
        AccessState::Denied(DenyReason::Revoked)
    );

    // The runtime APIs show both records, newest first, and the decision the chain would take now.
    let rt = api.runtime_api().at_latest().await?;
    let (page, next) = rt
        .call(
            runtime::apis()
                .audit_api()
                .records_by_subject(subject, None, 10),
        )
        .await?;
    assert_eq!(
        page.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![denied.id, granted.id]
    );
    assert_eq!(next, None);
    // One record a page: each API hands back the cursor of the next page, then none.
    let (first_page, cursor) = rt
        .call(
            runtime::apis()
                .audit_api()
                .records_by_subject(subject, None, 1),
        )
        .await?;
    assert_eq!(
        first_page.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![denied.id]
    );
    let (second_page, end) = rt
        .call(runtime::apis().audit_api().records_by_subject(
            subject,
            Some(cursor.expect("a second page")),
            1,
        ))
        .await?;
    assert_eq!(
        second_page.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![granted.id]
    );
    assert_eq!(end, None);
    let mut by_institution = Vec::new();
    let mut position = None;
    loop {
        let (page, next) = rt
            .call(
                runtime::apis()
                    .audit_api()
                    .records_by_institution(HOSPITAL, position, 1),
            )
            .await?;
        assert!(page.len() <= 1, "a page holds at most its limit");
        by_institution.extend(page.iter().map(|r| r.id));
        match next {
            Some(p) => position = Some(p),
            None => break,
        }
        assert!(by_institution.len() < 10, "the cursor never ends");
    }
    assert_eq!(by_institution, vec![denied.id, granted.id]);
    let decision = rt
        .call(runtime::apis().consent_api().decide(
            Static(SubjectRef::Pseudonym(pseudonym)),
            worker.public_key().into(),
            Static(Purpose::Simulation),
            Static(labs),
            None,
        ))
        .await?;
    assert_eq!(
        decision.0,
        Decision::Deny {
            subject: Some(subject),
            reason: DenyReason::Revoked
        }
    );
    let counts = rt
        .call(runtime::apis().audit_api().counts_of(HOSPITAL))
        .await?;
    assert_eq!((counts.0.granted, counts.0.denied), (1, 1));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pool_refuses_strangers() -> anyhow::Result<()> {
    let node = Node::dev()?;
    let api = node.client().await?;
    let stranger = sr25519::Keypair::from_uri(&SecretUri::from_str("//Stranger")?)?;
    let remark = runtime::tx().system().remark(b"let me in".to_vec());
    let err = api
        .tx()
        .sign_and_submit_default(&remark, &stranger)
        .await
        .expect_err("a stranger is refused");
    let msg = err.to_string();
    // Refused by the permission check as an unknown signer (not by the nonce check as unable to
    // pay fees, which it would be if that check ran first: the stranger has no account).
    assert!(
        msg.contains("Invalid signing address"),
        "pool rejection, got: {msg}"
    );
    // A stranger may not even claim an enrolment that is not addressed to it.
    let claim = runtime::tx().identity().claim([0x22; 32]);
    assert!(api
        .tx()
        .sign_and_submit_default(&claim, &stranger)
        .await
        .is_err());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn state_survives_a_restart_on_the_same_database() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let worker = sr25519::dev::bob();
    let patient = sr25519::Keypair::from_uri(&SecretUri::from_str("//Patient/restart")?)?;
    let pseudonym = [0x33; 32];
    let finalized_before = {
        let node = Node::spawn(&["--dev"], dir.path().to_path_buf())?;
        let api = node.client().await?;
        submit(
            &api,
            &runtime::tx()
                .identity()
                .enrol(pseudonym, patient.public_key().into()),
            &worker,
        )
        .await?;
        api.backend().latest_finalized_block_ref().await?.hash()
    }; // killed here (SIGKILL)

    let node = Node::spawn(&["--dev"], dir.path().to_path_buf())?;
    let api = node.client().await?;
    let link = api
        .storage()
        .at_latest()
        .await?
        .fetch(&runtime::storage().identity().pseudonyms(pseudonym))
        .await?;
    assert!(link.is_some(), "the enrolment survived the restart");
    let header = api.backend().block_header(finalized_before).await?;
    assert!(
        header.is_some(),
        "the block finalized before the restart is still there"
    );
    Ok(())
}

/// One scrape of the node's Prometheus endpoint: the body and the finalized height in it.
async fn scrape(http: &reqwest::Client, url: &str) -> anyhow::Result<(String, u64)> {
    let body = http
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let height = body
        .lines()
        .find(|l| l.starts_with("substrate_block_height{") && l.contains("status=\"finalized\""))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no finalized block height in:\n{body}"))?;
    Ok((body, height))
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_metrics_follow_the_chain() -> anyhow::Result<()> {
    let node = Node::dev()?;
    node.client().await?;
    let url = format!("http://127.0.0.1:{}/metrics", node.prometheus_port);
    let http = reqwest::Client::new();
    let (body, first) = scrape(&http, &url).await?;
    // The transaction pool's gauges are exported too (institutions alert on a filling pool).
    assert!(
        body.contains("substrate_ready_transactions_number"),
        "pool metrics missing"
    );
    // Live figures, not a static page: finality advances within a few 2-s blocks.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, now) = scrape(&http, &url).await?;
        if now >= first + 2 {
            break;
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "finalized height stuck at {now} (first scrape {first})"
        );
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    Ok(())
}
