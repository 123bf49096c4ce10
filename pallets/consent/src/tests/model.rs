//! The property test: random grant / amend / revoke / request / time sequences, compared with a
//! reference model of the consent rules written independently of the pallet.

use super::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct M {
    grantee: Grantee,
    purposes: u16,
    categories: u16,
    from: u64,
    until: Option<u64>,
    max_uses: Option<u32>,
    uses: u32,
    revoked: bool,
}

#[derive(Clone, Debug)]
enum Op {
    Grant {
        grantee: Grantee,
        purposes: u16,
        categories: u16,
        from: Option<u64>,
        until: Option<u64>,
        max_uses: Option<u32>,
    },
    Amend {
        which: usize,
        purposes: u16,
        categories: u16,
        until: Option<u64>,
        max_uses: Option<u32>,
    },
    Revoke {
        which: usize,
    },
    Request {
        accessor: u64,
        purpose: u8,
        categories: u16,
    },
    Advance {
        ms: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let grantee = prop_oneof![
        Just(Grantee::Institution(HOSPITAL)),
        Just(Grantee::Institution(LAB)),
        Just(Grantee::AnyWithRole(Role::Researcher)),
        Just(Grantee::AnyWithRole(Role::Auditor)),
    ];
    prop_oneof![
        (
            grantee,
            1u16..32,
            1u16..64,
            proptest::option::of(0u64..6_000),
            proptest::option::of(1u64..12_000),
            proptest::option::of(1u32..4)
        )
            .prop_map(|(grantee, purposes, categories, from, until, max_uses)| {
                Op::Grant {
                    grantee,
                    purposes,
                    categories,
                    from,
                    until,
                    max_uses,
                }
            }),
        (
            0usize..8,
            0u16..64,
            0u16..64,
            proptest::option::of(1u64..12_000),
            proptest::option::of(1u32..4)
        )
            .prop_map(|(which, purposes, categories, until, max_uses)| Op::Amend {
                which,
                purposes,
                categories,
                until,
                max_uses
            }),
        (0usize..8).prop_map(|which| Op::Revoke { which }),
        (
            prop_oneof![Just(HOSPITAL_KEY), Just(LAB_KEY), Just(OUTSIDER)],
            0u8..5,
            0u16..64
        )
            .prop_map(|(accessor, purpose, categories)| Op::Request {
                accessor,
                purpose,
                categories
            }),
        (1u64..3_000).prop_map(|ms| Op::Advance { ms }),
    ]
}

fn ended(m: &M, now: u64) -> bool {
    m.revoked || m.until.is_some_and(|u| now >= u) || m.max_uses.is_some_and(|x| m.uses >= x)
}

/// The rules, as the pallet's documentation states them.
fn model_decide(
    all: &[(u64, M)],
    index: &[u64],
    accessor: u64,
    purpose: u8,
    req: u16,
    now: u64,
) -> Result<Vec<u64>, DenyReason> {
    let (inst, role) = match accessor {
        HOSPITAL_KEY => (HOSPITAL, Role::DataCustodian),
        LAB_KEY => (LAB, Role::Researcher),
        _ => return Err(DenyReason::AccessorNotRegistered),
    };
    let mut stage_best: Option<DenyReason> = None;
    let mut ok: Vec<(u64, u16)> = vec![];
    for id in index {
        let m = &all.iter().find(|(i, _)| i == id).unwrap().1;
        let named = match m.grantee {
            Grantee::Institution(i) => i == inst,
            Grantee::AnyWithRole(r) => r == role,
        };
        if !named {
            continue;
        }
        let r = if m.revoked {
            Some(DenyReason::Revoked)
        } else if now < m.from {
            Some(DenyReason::NotYetValid)
        } else if m.until.is_some_and(|u| now >= u) {
            Some(DenyReason::Expired)
        } else if m.max_uses.is_some_and(|x| m.uses >= x) {
            Some(DenyReason::UsesExhausted)
        } else if m.purposes & (1 << purpose) == 0 {
            Some(DenyReason::PurposeNotCovered)
        } else {
            None
        };
        match r {
            None => ok.push((*id, m.categories)),
            Some(r) => stage_best = Some(stage_best.map_or(r, |b| b.max(r))),
        }
    }
    if ok.is_empty() {
        return Err(stage_best.unwrap_or(DenyReason::NoConsent));
    }
    let union = ok.iter().fold(0, |a, (_, c)| a | c);
    if req == 0 || req & !union != 0 {
        return Err(DenyReason::CategoryNotCovered);
    }
    let mut out = vec![];
    for bit in 0..16 {
        if req & (1 << bit) != 0 {
            let id = ok.iter().find(|(_, c)| c & (1 << bit) != 0).unwrap().0;
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn pallet_decisions_match_the_reference_model(ops in proptest::collection::vec(op(), 1..40)) {
        new_test_ext().execute_with(|| {
            let mut all: Vec<(u64, M)> = vec![];
            let mut index: Vec<u64> = vec![];
            let mut now = 1_000u64;
            for op in ops {
                match op {
                    Op::Grant { grantee, purposes, categories, from, until, max_uses } => {
                        let from_abs = from.map(|f| now + f);
                        let until_abs = until.map(|u| now + u);
                        let res = ConsentPallet::grant(RuntimeOrigin::signed(PATIENT), SUBJECT, grantee,
                            PurposeSet(purposes), CategorySet(categories), from_abs, until_abs, max_uses);
                        let start = from_abs.unwrap_or(now);
                        let valid = until_abs.is_none_or(|u| u > start && u > now);
                        let live = index.iter().filter(|id| {
                            let m = &all.iter().find(|(i, _)| i == *id).unwrap().1;
                            !ended(m, now)
                        }).count();
                        let has_room = index.len() < 6 || index.iter().any(|id| {
                            let m = &all.iter().find(|(i, _)| i == id).unwrap().1;
                            ended(m, now)
                        });
                        let expect_ok = valid && live < 4 && has_room;
                        prop_assert_eq!(res.is_ok(), expect_ok, "grant {:?}", res);
                        if expect_ok {
                            if index.len() == 6 {
                                let pos = index.iter().position(|id| {
                                    let m = &all.iter().find(|(i, _)| i == id).unwrap().1;
                                    ended(m, now)
                                }).unwrap();
                                index.remove(pos);
                            }
                            let id = all.len() as u64;
                            all.push((id, M { grantee, purposes, categories, from: start, until: until_abs,
                                max_uses, uses: 0, revoked: false }));
                            index.push(id);
                        }
                    }
                    Op::Amend { which, purposes, categories, until, max_uses } => {
                        let Some((id, m)) = all.get(which).cloned() else { continue };
                        let p = m.purposes & purposes;
                        let c = m.categories & categories;
                        let until_abs = until.map(|u| now + u);
                        let res = ConsentPallet::amend(RuntimeOrigin::signed(PATIENT), id, PurposeSet(p), CategorySet(c), until_abs, max_uses);
                        let narrower_until = match (m.until, until_abs) { (_, None) => m.until.is_none(), (None, Some(_)) => true, (Some(o), Some(n)) => n <= o };
                        let narrower_uses = match (m.max_uses, max_uses) { (_, None) => m.max_uses.is_none(), (None, Some(_)) => true, (Some(o), Some(n)) => n <= o };
                        let expect_ok = !m.revoked && p != 0 && c != 0 && narrower_until && narrower_uses
                            && until_abs.is_none_or(|u| u > m.from);
                        prop_assert_eq!(res.is_ok(), expect_ok, "amend {:?}", res);
                        if expect_ok {
                            let mm = &mut all[which].1;
                            mm.purposes = p; mm.categories = c; mm.until = until_abs; mm.max_uses = max_uses;
                        }
                    }
                    Op::Revoke { which } => {
                        let Some((id, m)) = all.get(which).cloned() else { continue };
                        let res = ConsentPallet::revoke(RuntimeOrigin::signed(PATIENT), id);
                        prop_assert_eq!(res.is_ok(), !m.revoked);
                        all[which].1.revoked = true;
                    }
                    Op::Request { accessor, purpose, categories } => {
                        let purpose_enum = Purpose::ALL[purpose as usize];
                        let got = <ConsentPallet as ConsentCheck<u64>>::decide(SubjectRef::Pseudonym(PSEUDONYM),
                            &accessor, purpose_enum, CategorySet(categories), now);
                        let want = model_decide(&all, &index, accessor, purpose, categories, now);
                        match (&got, &want) {
                            (Decision::Permit { consents, .. }, Ok(ids)) => {
                                prop_assert_eq!(consents, ids);
                                let counted = <ConsentPallet as ConsentCheck<u64>>::consume(SUBJECT, consents);
                                // Only use-limited consents count their uses.
                                let mut limited = 0;
                                for id in ids {
                                    let m = &mut all[*id as usize].1;
                                    if m.max_uses.is_some() { m.uses += 1; limited += 1; }
                                }
                                prop_assert_eq!(counted, limited);
                            }
                            (Decision::Deny { reason, .. }, Err(r)) => prop_assert_eq!(reason, r),
                            _ => prop_assert!(false, "pallet {:?} vs model {:?}", got, want),
                        }
                    }
                    Op::Advance { ms } => {
                        now += ms;
                        set_time(now);
                    }
                }
                // The index holds the model's ids, each an exact copy of the consent by id.
                let held = SubjectConsents::<Test>::get(SUBJECT);
                prop_assert_eq!(held.iter().map(|(id, _)| *id).collect::<Vec<_>>(), index.clone());
                for (id, c) in held.iter() {
                    prop_assert_eq!(Some(c.clone()), Consents::<Test>::get(id));
                }
            }
            Ok(())
        })?;
    }
}
