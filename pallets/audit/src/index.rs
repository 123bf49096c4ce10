//! The keys of the audit log and its index by institution.
//!
//! Every access record appends to two indexes, by patient and by institution, and storage
//! accesses dominate a record's weight, so both must be cheap to append to. They differ in who
//! appends:
//!
//! - A patient's records are the patient's index: each record is stored under the patient's
//!   subject id and its id in descending byte order
//!   ([`NewestFirst`](consentry_primitives::NewestFirst)), so walking a subject's keys yields its
//!   records newest first and recording costs the record's own write and nothing else. (A cohort
//!   request's records are for different patients as a rule, so a per-patient head would cost a
//!   read and a write per record; a separate key per record, one more write.) A record is found
//!   by its [`RecordKey`]: the subject and the id.
//! - An institution's index is appended to by every record of its calls, so a call reads its head
//!   once, appends all its records' keys and writes it back once ([`IndexHead`]): the newest keys
//!   live in a small head beside the count, and only when the head's tail is full is it moved,
//!   once per `S` appends, to a page entry of its own.

use alloc::vec::Vec;
use codec::{Decode, Encode, MaxEncodedLen};
use consentry_primitives::{RecordKey, StateCounts};
use frame_support::{
    pallet_prelude::{Get, TypeInfo},
    BoundedVec, CloneNoBound, DefaultNoBound, EqNoBound, PartialEqNoBound, RuntimeDebugNoBound,
};

/// A full page of record keys, oldest first.
pub type Page<S> = BoundedVec<RecordKey, S>;

/// The newest part of an index: how many keys it holds in all, and those after the last full page.
#[derive(
    Encode,
    Decode,
    MaxEncodedLen,
    TypeInfo,
    DefaultNoBound,
    CloneNoBound,
    PartialEqNoBound,
    EqNoBound,
    RuntimeDebugNoBound,
)]
#[scale_info(skip_type_params(S))]
#[codec(mel_bound())]
pub struct IndexHead<S: Get<u32>> {
    /// Keys ever appended.
    pub count: u32,
    /// The keys after the last full page, oldest first (at most `S`).
    pub tail: Page<S>,
}

impl<S: Get<u32>> IndexHead<S> {
    /// Keys held in full pages, i.e. the position of the tail's first key.
    fn paged(&self) -> u32 {
        self.count.saturating_sub(self.tail.len() as u32)
    }

    /// Appends `key`. If the tail was full, it is handed back with its page number for the caller
    /// to store, and a new tail starts with `key`.
    pub fn push(&mut self, key: RecordKey) -> Option<(u32, Page<S>)> {
        let flushed = (self.tail.len() as u32 >= S::get()).then(|| {
            let page = self.paged() / S::get();
            (page, core::mem::take(&mut self.tail))
        });
        // Cannot fail: the tail is now either not full or empty (the pallet's integrity test
        // rules out `S = 0`).
        let _ = self.tail.try_push(key);
        self.count = self.count.saturating_add(1);
        flushed
    }

    /// The keys at positions `start..end` (0 = oldest), newest first, reading full pages through
    /// `page` (each page at most once).
    pub fn newest_first(
        &self,
        start: u32,
        end: u32,
        page: impl Fn(u32) -> Option<Page<S>>,
    ) -> Vec<RecordKey> {
        let size = S::get().max(1);
        let paged = self.paged();
        let mut loaded: Option<(u32, Option<Page<S>>)> = None;
        let mut keys = Vec::with_capacity(end.saturating_sub(start) as usize);
        for pos in (start..end.min(self.count)).rev() {
            let key = if pos >= paged {
                self.tail.get((pos - paged) as usize).copied()
            } else {
                let number = pos / size;
                if loaded.as_ref().map(|(n, _)| *n) != Some(number) {
                    loaded = Some((number, page(number)));
                }
                loaded
                    .as_ref()
                    .and_then(|(_, p)| p.as_ref())
                    .and_then(|p| p.get((pos % size) as usize).copied())
            };
            keys.extend(key);
        }
        keys
    }
}

/// What the pallet keeps per institution: record counts by state and the head of its index, in
/// one value so that a record costs the institution one write.
#[derive(
    Encode,
    Decode,
    MaxEncodedLen,
    TypeInfo,
    DefaultNoBound,
    CloneNoBound,
    PartialEqNoBound,
    EqNoBound,
    RuntimeDebugNoBound,
)]
#[scale_info(skip_type_params(S))]
#[codec(mel_bound())]
pub struct InstitutionLog<S: Get<u32>> {
    /// Record counts by state.
    pub counts: StateCounts,
    /// The head of the institution's index.
    pub index: IndexHead<S>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use frame_support::traits::ConstU32;
    use std::collections::BTreeMap;

    type Head = IndexHead<ConstU32<3>>;

    /// The key of record `id`, for a subject that differs between neighbouring records.
    fn key(id: u64) -> RecordKey {
        RecordKey {
            subject: (!id.is_multiple_of(3)).then_some(id % 5),
            id,
        }
    }

    fn ids(keys: &[RecordKey]) -> Vec<u64> {
        keys.iter().map(|k| k.id).collect()
    }

    /// Appends `0..n` as the pallet does, storing flushed pages in a map.
    fn build(n: u64) -> (Head, BTreeMap<u32, Page<ConstU32<3>>>) {
        let mut head = Head::default();
        let mut pages = BTreeMap::new();
        for id in 0..n {
            if let Some((number, page)) = head.push(key(id)) {
                assert!(
                    pages.insert(number, page).is_none(),
                    "page {number} written twice"
                );
            }
        }
        (head, pages)
    }

    #[test]
    fn appends_flush_a_page_only_when_the_tail_is_full() {
        let mut head = Head::default();
        let flushes: Vec<_> = (0..10).map(|id| head.push(key(id))).collect();
        // Appends 3, 6 and 9 find a full tail of three.
        let at: Vec<usize> = (0..10).filter(|i| flushes[*i].is_some()).collect();
        assert_eq!(at, [3, 6, 9]);
        assert_eq!(flushes[3].as_ref().unwrap().0, 0);
        assert_eq!(ids(&flushes[3].as_ref().unwrap().1), [0, 1, 2]);
        assert_eq!(flushes[9].as_ref().unwrap().0, 2);
        assert_eq!(ids(&flushes[9].as_ref().unwrap().1), [6, 7, 8]);
        assert_eq!((head.count, head.tail.to_vec()), (10, vec![key(9)]));
    }

    #[test]
    fn every_range_reads_back_newest_first() {
        for n in 0..13u64 {
            let (head, pages) = build(n);
            for start in 0..=n as u32 {
                for end in start..=n as u32 + 2 {
                    let got = head.newest_first(start, end, |p| pages.get(&p).cloned());
                    let want: Vec<RecordKey> =
                        (start as u64..(end as u64).min(n)).rev().map(key).collect();
                    assert_eq!(got, want, "n={n} range {start}..{end}");
                }
            }
        }
    }

    #[test]
    fn each_page_is_read_once_per_range() {
        let (head, pages) = build(12);
        let reads = core::cell::Cell::new(0);
        let keys = head.newest_first(0, 12, |p| {
            reads.set(reads.get() + 1);
            pages.get(&p).cloned()
        });
        assert_eq!(keys.len(), 12);
        // 12 ids, page size 3: three full pages (0..9) and a full tail (9..12) not yet flushed.
        assert_eq!(reads.get(), 3);
    }
}
