//! The patient and institution indexes: newest first, stable cursors, only a subject's own records.

use super::*;

#[test]
fn pages_run_newest_first_with_stable_cursors() {
    new_test_ext().execute_with(|| {
        grant_lab(Purpose::Simulation, None);
        let ids: Vec<_> = (0..5).map(|_| request(LAB_KEY)).collect();
        let (page1, cursor) = Audit::records_by_subject(Some(SUBJECT), None, 2);
        assert_eq!(
            page1.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![ids[4], ids[3]]
        );
        let (page2, cursor) = Audit::records_by_subject(Some(SUBJECT), cursor, 2);
        assert_eq!(
            page2.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![ids[2], ids[1]]
        );
        // New records do not shift an existing cursor.
        request(LAB_KEY);
        let (page3, cursor) = Audit::records_by_subject(Some(SUBJECT), cursor, 2);
        assert_eq!(page3.iter().map(|r| r.id).collect::<Vec<_>>(), vec![ids[0]]);
        assert_eq!(cursor, None);
        assert_eq!(Audit::records_by_institution(LAB, None, 100).0.len(), 6);
        assert!(Audit::records_by_institution(HOSPITAL, None, 100)
            .0
            .is_empty());
    });
}

#[test]
fn indexes_read_back_newest_first_across_pages() {
    new_test_ext().execute_with(|| {
        grant_lab(Purpose::Simulation, None);
        // The mock's pages hold four ids: ten records make two full institution pages and a tail
        // of two; the subject's index is a key per record.
        let ids: Vec<_> = (0..10).map(|_| request(LAB_KEY)).collect();
        let keys = |ids: &[AccessId]| {
            ids.iter()
                .map(|id| RecordKey {
                    subject: Some(SUBJECT),
                    id: *id,
                })
                .collect::<Vec<_>>()
        };
        let log = InstitutionIndex::<Test>::get(LAB).index;
        assert_eq!((log.count, log.tail.to_vec()), (10, keys(&ids[8..])));
        assert_eq!(
            InstitutionPages::<Test>::get(LAB, 0).unwrap().to_vec(),
            keys(&ids[..4])
        );
        assert_eq!(
            InstitutionPages::<Test>::get(LAB, 1).unwrap().to_vec(),
            keys(&ids[4..8])
        );
        assert!(!InstitutionPages::<Test>::contains_key(LAB, 2));
        let newest_first: Vec<_> = ids.iter().rev().copied().collect();
        let ids_of =
            |records: Vec<RecordOf<Test>>| records.iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(
            ids_of(Audit::records_by_subject(Some(SUBJECT), None, 100).0),
            newest_first
        );
        assert_eq!(
            ids_of(Audit::records_by_institution(LAB, None, 100).0),
            newest_first
        );
        // A page of three from position 7 straddles the second page and the first.
        assert_eq!(
            ids_of(Audit::records_by_institution(LAB, Some(7), 3).0),
            vec![ids[6], ids[5], ids[4]]
        );
        // The subject's pages start below the id given.
        assert_eq!(
            Audit::records_by_subject(Some(SUBJECT), Some(ids[7]), 3),
            (
                vec![ids[6], ids[5], ids[4]]
                    .into_iter()
                    .map(record)
                    .collect(),
                Some(ids[4])
            )
        );
    });
}

#[test]
fn a_subjects_index_holds_only_its_own_records() {
    new_test_ext().execute_with(|| {
        grant_lab(Purpose::Simulation, None);
        let mine = request(LAB_KEY);
        // A pseudonym nobody has claimed: denied, with no subject to index it under.
        let unknown = NextAccessId::<Test>::get();
        assert_ok!(request_as(LAB_KEY, [9; 32]));
        assert_eq!(record(unknown).subject, None);
        let also_mine = request(LAB_KEY);
        let (records, next) = Audit::records_by_subject(Some(SUBJECT), None, 10);
        assert_eq!(
            records.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![also_mine, mine]
        );
        assert_eq!(next, None);
        assert!(Audit::records_by_subject(Some(SUBJECT + 1), None, 10)
            .0
            .is_empty());
        // Past the oldest record there is nothing more.
        assert_eq!(
            Audit::records_by_subject(Some(SUBJECT), Some(mine), 10),
            (vec![], None)
        );
        // Denials without a subject are kept together, and only they.
        assert_eq!(
            Audit::records_by_subject(None, None, 10),
            (vec![record(unknown)], None)
        );
    });
}
