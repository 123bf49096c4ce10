//! Whole secure-aggregation rounds over HTTPS (real sockets, real TLS 1.3, pinned keys): the
//! sum is right, a site killed after sending its shares is dropped and recovered, the aggregator
//! never held an unmasked input, and a round with too few sites aborts cleanly.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::Consortium;
use consentry_fl_transport::{
    ClientError, Deadlines, RoundConfig, RoundResult, ServerError, Stage,
};
use consentry_secagg::{RoundContext, SiteConfig, SiteId, UnmaskRequest};
use rand_core::RngCore;

const LEN: usize = 2_000;

fn plain_sum<'a>(inputs: impl IntoIterator<Item = &'a Vec<u32>>) -> Vec<u32> {
    let mut sum = vec![0u32; LEN];
    for x in inputs {
        for (s, v) in sum.iter_mut().zip(x) {
            *s = s.wrapping_add(*v);
        }
    }
    sum
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_survives_a_site_killed_after_sharing_keys() {
    let c = Consortium::new();
    let server = c.serve().await;
    // Institutions 11..=14 play sites 0..=3; threshold 3 of 4.
    let sites: BTreeMap<u32, SiteId> = (0..4).map(|s| (11 + s, s)).collect();
    let context = RoundContext::new(b"study-7".to_vec(), 1);
    server
        .open_round(RoundConfig {
            context: context.clone(),
            threshold: 3,
            vector_len: LEN,
            sites: sites.clone(),
            deadlines: Deadlines {
                advertise_keys: Duration::from_secs(30),
                share_keys: Duration::from_secs(30),
                // The victim never sends its masked input: this deadline drops it.
                masked_input: Duration::from_secs(4),
                unmask: Duration::from_secs(30),
            },
            retain_received_inputs: true,
        })
        .unwrap();

    let mut rng = rand_core::OsRng;
    let inputs: BTreeMap<SiteId, Vec<u32>> = sites
        .values()
        .map(|&s| (s, (0..LEN).map(|_| rng.next_u32()).collect()))
        .collect();
    let mut clients = BTreeMap::new();
    let mut sessions = BTreeMap::new();
    for (&inst, &site) in &sites {
        let client = c.client(&c.institution(inst, true), &server);
        let session = client
            .session(SiteConfig {
                id: site,
                context: context.clone(),
                threshold: 3,
                vector_len: LEN,
            })
            .unwrap();
        clients.insert(site, client);
        sessions.insert(site, session);
    }
    // What each worker would have registered on chain and the others read back.
    let digests: BTreeMap<SiteId, [u8; 32]> = sessions
        .iter()
        .map(|(&s, sess)| (s, sess.keys().digest()))
        .collect();

    const VICTIM: SiteId = 2;
    let mut victim = sessions.remove(&VICTIM).unwrap();
    let (shared_tx, shared_rx) = tokio::sync::oneshot::channel();
    let victim_digests = digests.clone();
    let victim_task = tokio::spawn(async move {
        victim.advertise().await.unwrap();
        let relayed = victim.relayed_keys().await.unwrap();
        victim
            .share_keys(&relayed, |v| victim_digests.get(&v).copied())
            .await
            .unwrap();
        shared_tx.send(()).unwrap();
        // Would go on to mask its input; it is killed here instead.
        std::future::pending::<()>().await;
    });
    let mut tasks = Vec::new();
    for (site, session) in sessions {
        let input = inputs[&site].clone();
        let digests = digests.clone();
        tasks.push(tokio::spawn(async move {
            session
                .run(&input, |v| digests.get(&v).copied())
                .await
                .map(|r| (site, r))
        }));
    }
    shared_rx.await.expect("victim sent its shares");
    victim_task.abort();
    assert!(victim_task.await.unwrap_err().is_cancelled());

    let expected = plain_sum([0, 1, 3].iter().map(|s| &inputs[s]));
    assert_ne!(
        expected,
        plain_sum(inputs.values()),
        "the victim's input matters"
    );
    let at_aggregator = tokio::time::timeout(Duration::from_secs(60), server.wait_result())
        .await
        .expect("round finished")
        .unwrap();
    assert_eq!(
        at_aggregator,
        RoundResult {
            advertised: vec![0, 1, 2, 3],
            shared_keys: vec![0, 1, 2, 3],
            survivors: vec![0, 1, 3],
            sum: expected.clone(),
        }
    );
    for t in tasks {
        let (site, result) = t.await.unwrap().unwrap();
        assert_eq!(
            result, at_aggregator,
            "site {site} got the published result"
        );
    }
    assert_eq!(server.stage(), Some(Stage::Done));

    // What the aggregator received: exactly the survivors' masked vectors, none of which is any
    // site's input (nor close to it: a masked vector is uniform, so about L/2^32 coordinates
    // could agree by chance).
    let received = server.received_inputs();
    assert_eq!(received.keys().copied().collect::<Vec<_>>(), vec![0, 1, 3]);
    for (site, masked) in &received {
        assert_eq!(masked.len(), LEN);
        for (other, input) in &inputs {
            let equal = masked.iter().zip(input).filter(|(a, b)| a == b).count();
            assert!(
                equal <= 2,
                "masked input of site {site} agrees with site {other}'s input at {equal} places"
            );
        }
    }
    // The sum of what it received is not the sum of the inputs until unmasked.
    assert_ne!(plain_sum(received.values()), expected);

    // The killed site, asking later, is told it was dropped.
    let err = clients[&VICTIM]
        .poll::<UnmaskRequest>(1, "unmask")
        .await
        .unwrap_err();
    let p = err.problem().unwrap_or_else(|| panic!("{err}"));
    assert_eq!(
        (p.status, p.kind.as_str()),
        (409, "/problems/dropped"),
        "{p:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_with_too_few_sites_aborts_and_says_so() {
    let c = Consortium::new();
    let server = c.serve().await;
    let sites: BTreeMap<u32, SiteId> = (0..4).map(|s| (21 + s, s)).collect();
    let context = RoundContext::new(b"study-8".to_vec(), 5);
    server
        .open_round(RoundConfig {
            context: context.clone(),
            threshold: 3,
            vector_len: LEN,
            sites: sites.clone(),
            deadlines: Deadlines::uniform(Duration::from_millis(1500)),
            retain_received_inputs: false,
        })
        .unwrap();
    // Only two of the four sites show up: below t = 3.
    let mut tasks = Vec::new();
    for (&inst, &site) in sites.iter().take(2) {
        let client = c.client(&c.institution(inst, true), &server);
        let mut session = client
            .session(SiteConfig {
                id: site,
                context: context.clone(),
                threshold: 3,
                vector_len: LEN,
            })
            .unwrap();
        tasks.push(tokio::spawn(async move {
            session.advertise().await?;
            session.relayed_keys().await
        }));
    }
    let err = server.wait_result().await.unwrap_err();
    assert!(
        matches!(&err, ServerError::Aborted(why) if why.contains("fewer than the threshold 3")),
        "{err}"
    );
    assert_eq!(server.stage(), Some(Stage::Aborted));
    for t in tasks {
        match t.await.unwrap() {
            Err(ClientError::Problem(p)) => {
                assert_eq!(
                    (p.status, p.kind.as_str()),
                    (410, "/problems/round-aborted")
                )
            }
            other => panic!("expected an aborted-round problem, got {other:?}"),
        }
    }
    // A new round can be opened after an aborted one.
    let mut next = RoundConfig {
        context: RoundContext::new(b"study-8".to_vec(), 6),
        threshold: 3,
        vector_len: LEN,
        sites,
        deadlines: Deadlines::uniform(Duration::from_secs(5)),
        retain_received_inputs: false,
    };
    server.open_round(next.clone()).unwrap();
    // ... but not while one is running.
    next.context.round = 7;
    assert!(matches!(
        server.open_round(next),
        Err(ServerError::RoundRunning(6))
    ));
}

/// A site killed after sending its masked input (so during unmasking) is still in the sum: its
/// self mask is removed with the others' shares of `b`, and t = 3 answers suffice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_survives_a_site_killed_during_unmasking() {
    let c = Consortium::new();
    let server = c.serve().await;
    let sites: BTreeMap<u32, SiteId> = (0..4).map(|s| (31 + s, s)).collect();
    let context = RoundContext::new(b"study-9".to_vec(), 2);
    server
        .open_round(RoundConfig {
            context: context.clone(),
            threshold: 3,
            vector_len: LEN,
            sites: sites.clone(),
            deadlines: Deadlines {
                unmask: Duration::from_secs(4),
                ..Deadlines::uniform(Duration::from_secs(30))
            },
            retain_received_inputs: true,
        })
        .unwrap();
    let mut rng = rand_core::OsRng;
    let inputs: BTreeMap<SiteId, Vec<u32>> = sites
        .values()
        .map(|&s| (s, (0..LEN).map(|_| rng.next_u32()).collect()))
        .collect();
    let mut sessions = BTreeMap::new();
    for (&inst, &site) in &sites {
        let client = c.client(&c.institution(inst, true), &server);
        let cfg = SiteConfig {
            id: site,
            context: context.clone(),
            threshold: 3,
            vector_len: LEN,
        };
        sessions.insert(site, client.session(cfg).unwrap());
    }
    let digests: BTreeMap<SiteId, [u8; 32]> = sessions
        .iter()
        .map(|(&s, sess)| (s, sess.keys().digest()))
        .collect();
    let mut victim = sessions.remove(&0).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (d, x) = (digests.clone(), inputs[&0].clone());
    let victim_task = tokio::spawn(async move {
        victim.advertise().await.unwrap();
        let relayed = victim.relayed_keys().await.unwrap();
        victim
            .share_keys(&relayed, |v| d.get(&v).copied())
            .await
            .unwrap();
        victim.masked_input(&x).await.unwrap();
        tx.send(()).unwrap();
        std::future::pending::<()>().await;
    });
    let mut tasks = Vec::new();
    for (site, session) in sessions {
        let (input, d) = (inputs[&site].clone(), digests.clone());
        tasks.push(tokio::spawn(async move {
            session.run(&input, |v| d.get(&v).copied()).await
        }));
    }
    rx.await.unwrap();
    victim_task.abort();
    let result = server.wait_result().await.unwrap();
    assert_eq!(result.survivors, vec![0, 1, 2, 3]);
    assert_eq!(result.sum, plain_sum(inputs.values()));
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), result);
    }
    assert_eq!(server.received_inputs().len(), 4);
    for masked in server.received_inputs().values() {
        assert!(inputs.values().all(|x| x != masked));
    }
}

/// The aggregator goes away mid-round (crash), or aborts the round: sites stop with an error
/// instead of waiting out their stage timeouts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sites_stop_cleanly_when_the_aggregator_aborts_or_dies() {
    for crash in [false, true] {
        let c = Consortium::new();
        let server = c.serve().await;
        let sites: BTreeMap<u32, SiteId> = (0..3).map(|s| (41 + s, s)).collect();
        let context = RoundContext::new(b"study-10".to_vec(), 1);
        server
            .open_round(RoundConfig {
                context: context.clone(),
                threshold: 2,
                vector_len: LEN,
                sites: sites.clone(),
                deadlines: Deadlines::uniform(Duration::from_secs(60)),
                retain_received_inputs: false,
            })
            .unwrap();
        // Two of three advertise; the round waits for the third (60 s deadline).
        let mut tasks = Vec::new();
        for (&inst, &site) in sites.iter().take(2) {
            let client = c.client(&c.institution(inst, true), &server);
            let cfg = SiteConfig {
                id: site,
                context: context.clone(),
                threshold: 2,
                vector_len: LEN,
            };
            let mut session = client.session(cfg).unwrap();
            tasks.push(tokio::spawn(async move {
                session.advertise().await?;
                session.relayed_keys().await
            }));
        }
        while server.sites_heard().len() < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if crash {
            drop(server);
        } else {
            server.abort_round("contract closed the round").unwrap();
        }
        for t in tasks {
            let outcome = tokio::time::timeout(Duration::from_secs(10), t)
                .await
                .expect("the site noticed within seconds")
                .unwrap();
            match outcome {
                Err(ClientError::Problem(p)) if !crash => {
                    assert_eq!(p.status, 410);
                    assert!(p.detail.contains("contract closed the round"), "{p:?}");
                }
                Err(ClientError::Http(_)) if crash => {}
                other => panic!("crash = {crash}: unexpected {other:?}"),
            }
        }
    }
}
