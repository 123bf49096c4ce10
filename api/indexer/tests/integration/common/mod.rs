//! The query suite shared by the SQLite and PostgreSQL tests: hand-made blocks written through
//! the store's real write path, then every query checked against expected values worked out by
//! hand from the construction below (not by the code under test).
//!
//! Records 0..24: institution `id % 2`; pseudonym `P[id % 3]`; purpose `research` when
//! `id % 4 == 0`, else `simulation`; state by `id % 5`: 0 denied (no_consent), 1 completed,
//! 2 failed, else granted; id 8 is a granted emergency, id 10 a denied emergency request;
//! requested at `1_000_000 + 1000 * id` ms. Block 1 holds ids 0..12 (id 1 still granted), block 2
//! ids 12..24, block 3 closes id 1 as completed.

#![allow(dead_code)]

use consentry_indexer::query::MAX_LIMIT;
use consentry_indexer::{
    AccessFilter, AccessRow, BlockWrite, ConsentRow, Counts, EnrolmentChange, EventRow,
    InstitutionSummary, QueryError, Store,
};
use consentry_primitives::{Grantee, Role};
use std::collections::BTreeSet;

pub const P: [&str; 3] = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "1111111111111111111111111111111111111111111111111111111111111111",
    "abababababababababababababababababababababababababababababababab",
];

/// An enrolment addressed to `5Patient` that it never claims (erased with its subject).
pub const PENDING: &str = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";

pub fn hash(n: u32) -> String {
    format!("{n:064x}")
}

pub fn access(id: u64, block: u32) -> AccessRow {
    let (state, reason) = match id % 5 {
        0 => ("denied", Some("no_consent".to_string())),
        1 => ("completed", None),
        2 => ("failed", None),
        _ => ("granted", None),
    };
    let closed = matches!(state, "completed" | "failed");
    AccessRow {
        id,
        institution: (id % 2) as u32,
        requested_by: format!("5Service{}", id % 2),
        pseudonym: P[(id % 3) as usize].into(),
        subject: (state != "denied").then_some(id % 3),
        purpose: if id.is_multiple_of(4) {
            "research"
        } else {
            "simulation"
        }
        .into(),
        categories: vec!["labs".into(), "genomic".into()],
        job_digest: format!("{id:064x}"),
        consents: if state == "denied" {
            vec![]
        } else {
            vec![id % 3]
        },
        emergency: (id == 8 || id == 10).then(|| "ee".repeat(32)),
        state: state.into(),
        deny_reason: reason,
        result_digest: (state == "completed").then(|| "cc".repeat(32)),
        requested_at_ms: 1_000_000 + 1000 * id,
        closed_at_ms: closed.then_some(2_000_000 + id),
        block_number: block,
        block_hash: hash(block),
        extrinsic_index: Some((id % 12) as u32 + 1),
        closed_block_number: closed.then_some(block),
        closed_block_hash: closed.then(|| hash(block)),
    }
}

pub fn consent(id: u64, subject: u64, block: u32) -> ConsentRow {
    ConsentRow {
        id,
        subject,
        grantee: if id.is_multiple_of(2) {
            Grantee::Institution(0)
        } else {
            Grantee::AnyWithRole(Role::Researcher)
        },
        purposes: vec!["simulation".into()],
        categories: vec!["labs".into()],
        valid_from_ms: 1000,
        valid_until_ms: (id == 1).then_some(9_000_000),
        max_uses: Some(5),
        uses: 0,
        status: "active".into(),
        status_at_ms: None,
        granted_by: "5Patient".into(),
        granted_at_ms: 1000 + id,
        block_number: block,
        block_hash: hash(block),
        extrinsic_index: Some(1),
        updated_block_number: block,
    }
}

fn event(block: u32, index: u32, variant: &str) -> EventRow {
    EventRow {
        block_number: block,
        block_hash: hash(block),
        extrinsic_index: Some(1),
        event_index: index,
        pallet: "Audit".into(),
        variant: variant.into(),
        json: serde_json::json!({ "n": index }),
    }
}

/// Writes blocks 0..=3 as described in the module doc.
pub async fn populate(store: &Store) {
    store
        .write_block(&BlockWrite {
            number: 0,
            hash: hash(0),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut b1 = BlockWrite {
        number: 1,
        hash: hash(1),
        events: vec![event(1, 0, "AccessGranted"), event(1, 3, "AccessDenied")],
        access: (0..12).map(|id| access(id, 1)).collect(),
        consents: (0..3).map(|id| consent(id, id, 1)).collect(),
        enrolments: vec![
            EnrolmentChange::Enrolled {
                pseudonym: P[0].into(),
                institution: 0,
                patient: "5Patient".into(),
            },
            EnrolmentChange::Claimed {
                pseudonym: P[0].into(),
                subject: 0,
            },
            EnrolmentChange::Enrolled {
                pseudonym: P[1].into(),
                institution: 0,
                patient: "5Other".into(),
            },
            EnrolmentChange::Enrolled {
                pseudonym: PENDING.into(),
                institution: 1,
                patient: "5Patient".into(),
            },
        ],
    };
    // Id 1 is still open in block 1.
    let one = &mut b1.access[1];
    one.state = "granted".into();
    one.result_digest = None;
    one.closed_at_ms = None;
    one.closed_block_number = None;
    one.closed_block_hash = None;
    store.write_block(&b1).await.unwrap();
    store
        .write_block(&BlockWrite {
            number: 2,
            hash: hash(2),
            events: vec![event(2, 5, "AccessGranted")],
            access: (12..24).map(|id| access(id, 2)).collect(),
            ..Default::default()
        })
        .await
        .unwrap();
    // Block 3 closes id 1 (the row as the chain shows it then, with its closing block) and
    // revokes consent 2; the written creation fields must not overwrite the stored ones.
    let mut closed = access(1, 1);
    closed.closed_block_number = Some(3);
    closed.closed_block_hash = Some(hash(3));
    closed.block_hash = "ignored-on-update".into();
    let mut revoked = consent(2, 2, 3);
    revoked.status = "revoked".into();
    revoked.status_at_ms = Some(5000);
    revoked.uses = 2;
    store
        .write_block(&BlockWrite {
            number: 3,
            hash: hash(3),
            events: vec![event(3, 1, "AccessClosed")],
            access: vec![closed],
            consents: vec![revoked],
            enrolments: vec![EnrolmentChange::Forgotten { subject: 0 }],
        })
        .await
        .unwrap();
}

fn bad_field(r: Result<impl std::fmt::Debug, QueryError>) -> &'static str {
    match r {
        Err(QueryError::BadField { field, .. }) => field,
        other => panic!("expected a BadField error, got {other:?}"),
    }
}

async fn ids(store: &Store, f: &AccessFilter) -> Vec<u64> {
    let page = store.access_records(f, None, MAX_LIMIT).await.unwrap();
    assert_eq!(page.next_cursor, None);
    page.items.iter().map(|a| a.id).collect()
}

/// Everything, on a fresh, empty store.
pub async fn query_suite(store: &Store) {
    assert_eq!(store.indexed_head().await.unwrap(), None);
    populate(store).await;
    assert_eq!(store.indexed_head().await.unwrap(), Some((3, hash(3))));
    assert_eq!(store.block_count().await.unwrap(), 4);
    assert_eq!(store.event_count().await.unwrap(), 4);

    // Writes are atomic and only follow the head.
    let before = (
        store.block_count().await.unwrap(),
        store.event_count().await.unwrap(),
    );
    let gap = BlockWrite {
        number: 5,
        hash: hash(5),
        events: vec![event(5, 0, "AccessGranted")],
        ..Default::default()
    };
    assert!(store.write_block(&gap).await.is_err(), "a gap is refused");
    let replay = BlockWrite {
        number: 3,
        hash: hash(3),
        ..Default::default()
    };
    assert!(
        store.write_block(&replay).await.is_err(),
        "a replay is refused"
    );
    let broken = BlockWrite {
        number: 4,
        hash: hash(4),
        // The same event index twice violates the primary key after the first inserts.
        events: vec![event(4, 0, "AccessGranted"), event(4, 0, "AccessGranted")],
        access: vec![access(99, 4)],
        ..Default::default()
    };
    assert!(store.write_block(&broken).await.is_err());
    assert_eq!(
        (
            store.block_count().await.unwrap(),
            store.event_count().await.unwrap()
        ),
        before,
        "a failed block leaves nothing behind"
    );
    assert_eq!(store.access_record(99).await.unwrap(), None);
    assert_eq!(store.indexed_head().await.unwrap(), Some((3, hash(3))));

    // One record, round trip; the update kept the creation block and set the closing one.
    assert_eq!(store.access_record(7).await.unwrap(), Some(access(7, 1)));
    let one = store.access_record(1).await.unwrap().unwrap();
    assert_eq!(one.state, "completed");
    assert_eq!(
        (one.block_number, one.block_hash.as_str()),
        (1, hash(1).as_str())
    );
    assert_eq!(one.closed_block_number, Some(3));
    assert_eq!(one.closed_block_hash, Some(hash(3)));
    assert_eq!(one.result_digest, Some("cc".repeat(32)));
    assert_eq!(store.access_record(1000).await.unwrap(), None);

    // Filters.
    let all = AccessFilter::default();
    assert_eq!(ids(store, &all).await, (0..24).rev().collect::<Vec<_>>());
    let f = AccessFilter {
        pseudonym: Some(format!("0x{}", P[0].to_uppercase())),
        ..Default::default()
    };
    assert_eq!(ids(store, &f).await, vec![21, 18, 15, 12, 9, 6, 3, 0]);
    let f = AccessFilter {
        institution: Some(0),
        state: Some("granted".into()),
        ..Default::default()
    };
    assert_eq!(ids(store, &f).await, vec![18, 14, 8, 4]);
    let f = AccessFilter {
        purpose: Some("research".into()),
        ..Default::default()
    };
    assert_eq!(ids(store, &f).await, vec![20, 16, 12, 8, 4, 0]);
    let f = AccessFilter {
        state: Some("emergency".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(store, &f).await,
        vec![8],
        "a denied emergency request is a denial"
    );
    let f = AccessFilter {
        from_ms: Some(1_005_000),
        to_ms: Some(1_010_000),
        ..Default::default()
    };
    assert_eq!(ids(store, &f).await, vec![9, 8, 7, 6, 5]);
    let f = AccessFilter {
        subject: Some(2),
        state: Some("denied".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(store, &f).await,
        Vec::<u64>::new(),
        "denials here resolved no subject"
    );
    let f = AccessFilter {
        subject: Some(2),
        ..Default::default()
    };
    assert_eq!(ids(store, &f).await, vec![23, 17, 14, 11, 8, 2]);
    // Subject 0 claimed P[0]: the denials of P[0] made before any subject was resolved (0, 15)
    // are its records too; P[1] was never claimed, so its denial (10) is nobody's.
    let f = AccessFilter {
        subject: Some(0),
        ..Default::default()
    };
    assert_eq!(ids(store, &f).await, vec![21, 18, 15, 12, 9, 6, 3, 0]);
    let f = AccessFilter {
        subject: Some(1),
        state: Some("denied".into()),
        ..Default::default()
    };
    assert_eq!(ids(store, &f).await, Vec::<u64>::new());

    // Keyset pagination: pages of 7 cover 24 records with no overlap and no gap.
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .access_records(&all, cursor.as_deref(), 7)
            .await
            .unwrap();
        sizes.push(page.items.len());
        seen.extend(page.items.iter().map(|a| a.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(sizes, vec![7, 7, 7, 3]);
    assert_eq!(seen, (0..24).rev().collect::<Vec<_>>());
    // Exactly a page's worth: no dangling cursor to an empty page.
    let page = store.access_records(&all, None, 24).await.unwrap();
    assert_eq!((page.items.len(), page.next_cursor), (24, None));
    // A cursor stays valid while new records arrive: they are newer, so never on later pages.
    let first = store.access_records(&all, None, 10).await.unwrap();
    store
        .write_block(&BlockWrite {
            number: 4,
            hash: hash(4),
            access: vec![access(24, 4)],
            ..Default::default()
        })
        .await
        .unwrap();
    let second = store
        .access_records(&all, first.next_cursor.as_deref(), 10)
        .await
        .unwrap();
    assert_eq!(
        second.items.iter().map(|a| a.id).collect::<Vec<_>>(),
        (4..14).rev().collect::<Vec<_>>()
    );

    // Input errors name the field.
    let bad = |f: AccessFilter| async move { bad_field(store.access_records(&f, None, 10).await) };
    assert_eq!(
        bad(AccessFilter {
            pseudonym: Some("xyz".into()),
            ..Default::default()
        })
        .await,
        "pseudonym"
    );
    assert_eq!(
        bad(AccessFilter {
            pseudonym: Some("g".repeat(64)),
            ..Default::default()
        })
        .await,
        "pseudonym"
    );
    assert_eq!(
        bad(AccessFilter {
            state: Some("open".into()),
            ..Default::default()
        })
        .await,
        "state"
    );
    assert_eq!(
        bad(AccessFilter {
            purpose: Some("Marketing".into()),
            ..Default::default()
        })
        .await,
        "purpose"
    );
    // Other spellings of a purpose are refused, naming the canonical one.
    let e = store
        .access_records(
            &AccessFilter {
                purpose: Some("Research".into()),
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("write 'research'"), "{e}");
    assert_eq!(
        bad(AccessFilter {
            state: Some("DENIED".into()),
            ..Default::default()
        })
        .await,
        "state"
    );
    // An empty time range matches nothing (it is not an error).
    let f = AccessFilter {
        from_ms: Some(1_010_000),
        to_ms: Some(1_005_000),
        ..Default::default()
    };
    assert_eq!(ids(store, &f).await, Vec::<u64>::new());
    assert_eq!(
        bad_field(store.access_records(&all, None, 0).await),
        "limit"
    );
    assert_eq!(
        bad_field(store.access_records(&all, None, MAX_LIMIT + 1).await),
        "limit"
    );
    for c in [
        "12",
        "c+00000000000000f",
        "c000000000000000A",
        "c8000000000000000",
    ] {
        assert_eq!(
            bad_field(store.access_records(&all, Some(c), 10).await),
            "cursor",
            "{c}"
        );
    }
    // Every cursor the store hands out has the documented shape.
    let re = regex::Regex::new(consentry_indexer::query::CURSOR_PATTERN).unwrap();
    assert!(re.is_match(first.next_cursor.as_deref().unwrap()));
    assert_eq!(bad_field(store.enrolment("12").await), "pseudonym");

    // Counts (record 24, written above, is a granted Research request of institution 0).
    let expect_all = Counts {
        total: 25,
        granted: 10,
        denied: 5,
        completed: 5,
        failed: 5,
        aborted: 0,
        emergency: 1,
    };
    assert_eq!(store.counts().await.unwrap(), expect_all);
    assert_eq!(
        store.institution_summaries().await.unwrap(),
        vec![
            InstitutionSummary {
                institution: 0,
                counts: Counts {
                    total: 13,
                    granted: 5,
                    denied: 3,
                    completed: 2,
                    failed: 3,
                    aborted: 0,
                    emergency: 1,
                },
            },
            InstitutionSummary {
                institution: 1,
                counts: Counts {
                    total: 12,
                    granted: 5,
                    denied: 2,
                    completed: 3,
                    failed: 2,
                    aborted: 0,
                    emergency: 0,
                },
            },
        ]
    );

    // Consents: all, per subject, updated in place.
    let page = store.consents(None, None, 2).await.unwrap();
    assert_eq!(
        page.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![2, 1]
    );
    let rest = store
        .consents(None, page.next_cursor.as_deref(), 2)
        .await
        .unwrap();
    assert_eq!(
        (
            rest.items.iter().map(|c| c.id).collect::<Vec<_>>(),
            rest.next_cursor
        ),
        (vec![0], None)
    );
    let two = store.consents(Some(2), None, 10).await.unwrap().items;
    assert_eq!(two.len(), 1);
    assert_eq!(
        (two[0].status.as_str(), two[0].status_at_ms, two[0].uses),
        ("revoked", Some(5000), 2)
    );
    assert_eq!((two[0].block_number, two[0].updated_block_number), (1, 3));
    assert_eq!(store.consent(1).await.unwrap(), Some(consent(1, 1, 1)));
    assert_eq!(
        store.consents(Some(7), None, 10).await.unwrap().items,
        vec![]
    );

    // Enrolments.
    let e = store.enrolment(P[0]).await.unwrap().unwrap();
    assert_eq!(
        (
            e.institution,
            e.subject,
            e.block_number,
            e.claimed_block_number,
            e.erased_block_number
        ),
        (0, Some(0), 1, Some(1), Some(3))
    );
    let e = store.enrolment(P[1]).await.unwrap().unwrap();
    assert_eq!((e.subject, e.erased_block_number), (None, None));
    // The chain's `forget` erases the account's unclaimed enrolments too; so does the index.
    let e = store.enrolment(PENDING).await.unwrap().unwrap();
    assert_eq!((e.subject, e.erased_block_number), (None, Some(3)));
    assert_eq!(store.enrolment(P[2]).await.unwrap(), None);

    // Events of a block, in order.
    let evs = store.events_of_block(1).await.unwrap();
    assert_eq!(
        evs.iter()
            .map(|e| (e.event_index, e.variant.as_str()))
            .collect::<Vec<_>>(),
        vec![(0, "AccessGranted"), (3, "AccessDenied")]
    );
    assert_eq!(evs[1].json, serde_json::json!({ "n": 3 }));

    // Every page id set is unique (no duplicates were ever written).
    let unique: BTreeSet<u64> = ids(store, &all).await.into_iter().collect();
    assert_eq!(unique.len(), 25);

    // Summaries are the counts kept with each block: a new block's record and a record closed
    // in it are counted at the next head; so is a record requested and closed in one block
    // (counted once, in its last state), and one written again unchanged changes nothing.
    let before = store.institution_summaries().await.unwrap();
    assert_eq!(store.institution_summaries().await.unwrap(), before);
    let (head, _) = store.indexed_head().await.unwrap().unwrap();
    let mut closed = access(3, head + 1); // granted (institution 1), now completed
    closed.state = "completed".into();
    let requested = access(29, head + 1); // granted, institution 1
    let mut same_block = requested.clone();
    same_block.state = "aborted".into();
    store
        .write_block(&BlockWrite {
            number: head + 1,
            hash: hash(head + 1),
            // 25: denied, institution 1; 24 again as it is.
            access: vec![
                access(25, head + 1),
                closed,
                requested,
                same_block,
                access(24, 4),
            ],
            ..Default::default()
        })
        .await
        .unwrap();
    let after = store.institution_summaries().await.unwrap();
    assert_eq!(after[0], before[0]);
    let (b, a) = (before[1].counts, after[1].counts);
    assert_eq!(
        (a.total, a.denied, a.granted, a.completed, a.aborted),
        (
            b.total + 2,
            b.denied + 1,
            b.granted - 1,
            b.completed + 1,
            b.aborted + 1
        )
    );
    // The kept counts are a scan's: the institutions' counts add up to the overall ones, which
    // `counts()` takes from the records themselves (what the API answers auditors).
    assert_eq!(
        after.iter().map(|s| s.counts).sum::<Counts>(),
        store.counts().await.unwrap()
    );
}

/// A database written before purposes and categories had canonical names (rows under Rust's
/// variant names, no record of the migration) is rewritten by `Store::open`, once.
pub async fn migration_suite(url: &str) {
    let store = Store::open(url).await.unwrap();
    let mut old = access(1, 1);
    old.purpose = "FederatedTraining".into();
    old.categories = vec!["Labs".into(), "Genomic".into()];
    let mut consent_row = consent(1, 1, 1);
    consent_row.purposes = vec!["Simulation".into(), "ReIdentification".into()];
    consent_row.categories = vec!["Ehr".into(), "Labs".into()];
    let mut granted = event(1, 0, "AccessGranted");
    granted.json =
        serde_json::json!({ "id": 1, "purpose": "FederatedTraining", "categories": ["Labs"] });
    let mut other = event(1, 1, "InstitutionAdded");
    other.json = serde_json::json!({ "institution": 0, "roles": ["Researcher"] });
    let mut old_denied = access(2, 1);
    old_denied.state = "denied".into();
    old_denied.deny_reason = Some("NoConsent".into());
    let mut denied = event(1, 2, "AccessDenied");
    denied.json = serde_json::json!({ "id": 2, "subject": 1, "reason": "NoConsent" });
    let mut registered = event(1, 3, "InstitutionRegistered");
    registered.json =
        serde_json::json!({ "institution": 0, "roles": ["DataCustodian", "Researcher"] });
    let mut roles = event(1, 4, "RolesChanged");
    roles.json = serde_json::json!({ "institution": 0, "roles": ["Auditor"] });
    let mut closed = event(1, 5, "AccessClosed");
    closed.json = serde_json::json!({ "id": 1, "subject": 1, "institution": 0,
        "outcome": "Completed", "result_digest": null });
    store
        .write_block(&BlockWrite {
            number: 0,
            hash: hash(0),
            ..Default::default()
        })
        .await
        .unwrap();
    store
        .write_block(&BlockWrite {
            number: 1,
            hash: hash(1),
            events: vec![granted, other.clone(), denied, registered, roles, closed],
            access: vec![old, old_denied],
            consents: vec![consent_row],
            ..Default::default()
        })
        .await
        .unwrap();
    store.close().await;
    drop(store);
    // As an indexer from before the migration left it.
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(url).await.unwrap();
    sqlx::query("DELETE FROM migrations")
        .execute(&raw)
        .await
        .unwrap();
    // Before migration 0004 there were no kept counts.
    sqlx::query("DROP TABLE institution_counts")
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;

    for _ in 0..2 {
        // The second open finds the migration recorded and changes nothing.
        let store = Store::open(url).await.unwrap();
        let row = store.access_record(1).await.unwrap().unwrap();
        assert_eq!(row.purpose, "federated_training");
        assert_eq!(row.categories, vec!["labs", "genomic"]);
        let found = store
            .access_records(
                &AccessFilter {
                    purpose: Some("federated_training".into()),
                    ..Default::default()
                },
                None,
                10,
            )
            .await
            .unwrap();
        assert_eq!(found.items.len(), 1);
        let c = store.consent(1).await.unwrap().unwrap();
        assert_eq!(c.purposes, vec!["simulation", "re_identification"]);
        assert_eq!(c.categories, vec!["ehr", "labs"]);
        let events = store.events_of_block(1).await.unwrap();
        assert_eq!(
            events[0].json,
            serde_json::json!({ "id": 1, "purpose": "federated_training", "categories": ["labs"] })
        );
        assert_eq!(events[1].json, other.json, "only the names it renames");
        let row = store.access_record(2).await.unwrap().unwrap();
        assert_eq!(row.deny_reason.as_deref(), Some("no_consent"));
        assert_eq!(
            events[2].json,
            serde_json::json!({ "id": 2, "subject": 1, "reason": "no_consent" })
        );
        assert_eq!(
            events[3].json,
            serde_json::json!({ "institution": 0, "roles": ["data_custodian", "researcher"] })
        );
        assert_eq!(
            events[4].json,
            serde_json::json!({ "institution": 0, "roles": ["auditor"] })
        );
        assert_eq!(
            events[5].json,
            serde_json::json!({ "id": 1, "subject": 1, "institution": 0,
                "outcome": "completed", "result_digest": null })
        );
        // The counts are filled from the records indexed before they were kept.
        let summaries = store.institution_summaries().await.unwrap();
        assert_eq!(
            summaries
                .iter()
                .map(|s| (s.institution, s.counts.total))
                .collect::<Vec<_>>(),
            vec![(0, 1), (1, 1)]
        );
        assert_eq!(
            summaries.iter().map(|s| s.counts).sum::<Counts>(),
            store.counts().await.unwrap()
        );
        store.close().await;
    }
}
