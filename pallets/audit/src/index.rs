//! The audit log's indexes by subject and by institution.
//!
//! Both are append-only and read newest first, a page at a time, and both must be cheap to append
//! to, because every access record appends to each and storage accesses dominate a record's
//! weight. They differ in who appends:
//!
//! - An institution's index is appended to by every record of its calls, so a call reads its head
//!   once, appends all its records and writes it back once ([`IndexHead`]): the newest ids live in a
//!   small head beside the count, and only when the head's tail is full is it moved, once per `S`
//!   appends, to a page entry of its own.
//! - A subject's index gets one record from most calls (a cohort request's records are each for
//!   a different patient, as a rule), so a head would cost a read and a write per record. Instead
//!   each record is a key of its own with no value ([`NewestFirst`]): one write, nothing read, and
//!   the keys' order is the index's order.

use alloc::vec::Vec;
use codec::{Decode, Encode, MaxEncodedLen};
use consentry_primitives::{AccessId, StateCounts};
use frame_support::{
    pallet_prelude::{Get, TypeInfo},
    BoundedVec, CloneNoBound, DefaultNoBound, EqNoBound, PartialEqNoBound, RuntimeDebugNoBound,
};

/// A record id as the last part of a storage key whose byte order is newest first: the
/// big-endian bytes of `u64::MAX - id`. Under the `Identity` hasher a prefix's keys are walked in
/// byte order, so walking a subject's keys yields its records newest first, and walking on from a
/// record's key yields the records older than it.
#[derive(
    Encode, Decode, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug,
)]
pub struct NewestFirst([u8; 8]);

impl NewestFirst {
    /// The key of record `id`.
    pub fn of(id: AccessId) -> Self {
        Self((AccessId::MAX - id).to_be_bytes())
    }

    /// The record id this key stands for.
    pub fn id(self) -> AccessId {
        AccessId::MAX - AccessId::from_be_bytes(self.0)
    }
}

/// A full page of ids, oldest first.
pub type Page<S> = BoundedVec<AccessId, S>;

/// The newest part of an index: how many ids it holds in all, and those after the last full page.
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
    /// Ids ever appended.
    pub count: u32,
    /// The ids after the last full page, oldest first (at most `S`).
    pub tail: Page<S>,
}

impl<S: Get<u32>> IndexHead<S> {
    /// Ids held in full pages, i.e. the position of the tail's first id.
    fn paged(&self) -> u32 {
        self.count.saturating_sub(self.tail.len() as u32)
    }

    /// Appends `id`. If the tail was full, it is handed back with its page number for the caller
    /// to store, and a new tail starts with `id`.
    pub fn push(&mut self, id: AccessId) -> Option<(u32, Page<S>)> {
        let flushed = (self.tail.len() as u32 >= S::get()).then(|| {
            let page = self.paged() / S::get();
            (page, core::mem::take(&mut self.tail))
        });
        // Cannot fail: the tail is now either not full or empty (the pallet's integrity test
        // rules out `S = 0`).
        let _ = self.tail.try_push(id);
        self.count = self.count.saturating_add(1);
        flushed
    }

    /// The ids at positions `start..end` (0 = oldest), newest first, reading full pages through
    /// `page` (each page at most once).
    pub fn newest_first(
        &self,
        start: u32,
        end: u32,
        page: impl Fn(u32) -> Option<Page<S>>,
    ) -> Vec<AccessId> {
        let size = S::get().max(1);
        let paged = self.paged();
        let mut loaded: Option<(u32, Option<Page<S>>)> = None;
        let mut ids = Vec::with_capacity(end.saturating_sub(start) as usize);
        for pos in (start..end.min(self.count)).rev() {
            let id = if pos >= paged {
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
            ids.extend(id);
        }
        ids
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

    /// Appends `0..n` as the pallet does, storing flushed pages in a map.
    fn build(n: u64) -> (Head, BTreeMap<u32, Page<ConstU32<3>>>) {
        let mut head = Head::default();
        let mut pages = BTreeMap::new();
        for id in 0..n {
            if let Some((number, page)) = head.push(id) {
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
        let flushes: Vec<_> = (0..10).map(|id| head.push(id)).collect();
        // Appends 3, 6 and 9 find a full tail of three.
        let at: Vec<usize> = (0..10).filter(|i| flushes[*i].is_some()).collect();
        assert_eq!(at, [3, 6, 9]);
        assert_eq!(flushes[3].as_ref().unwrap().0, 0);
        assert_eq!(flushes[3].as_ref().unwrap().1.to_vec(), [0, 1, 2]);
        assert_eq!(flushes[9].as_ref().unwrap().0, 2);
        assert_eq!(flushes[9].as_ref().unwrap().1.to_vec(), [6, 7, 8]);
        assert_eq!((head.count, head.tail.to_vec()), (10, vec![9]));
    }

    #[test]
    fn every_range_reads_back_newest_first() {
        for n in 0..13u64 {
            let (head, pages) = build(n);
            for start in 0..=n as u32 {
                for end in start..=n as u32 + 2 {
                    let got = head.newest_first(start, end, |p| pages.get(&p).cloned());
                    let want: Vec<u64> = (start as u64..(end as u64).min(n)).rev().collect();
                    assert_eq!(got, want, "n={n} range {start}..{end}");
                }
            }
        }
    }

    #[test]
    fn newest_first_keys_sort_newest_first_and_round_trip() {
        let ids = [0, 1, 2, 255, 256, 65_535, 1 << 40, u64::MAX - 1, u64::MAX];
        let mut keys: Vec<Vec<u8>> = ids.iter().map(|id| NewestFirst::of(*id).encode()).collect();
        keys.sort();
        let decoded: Vec<u64> = keys
            .iter()
            .map(|k| NewestFirst::decode(&mut &k[..]).unwrap().id())
            .collect();
        let mut want = ids.to_vec();
        want.reverse();
        assert_eq!(decoded, want);
        // Eight bytes, no length prefix: the key is exactly the id's position in the order.
        assert!(keys.iter().all(|k| k.len() == 8));
    }

    #[test]
    fn each_page_is_read_once_per_range() {
        let (head, pages) = build(12);
        let reads = core::cell::Cell::new(0);
        let ids = head.newest_first(0, 12, |p| {
            reads.set(reads.get() + 1);
            pages.get(&p).cloned()
        });
        assert_eq!(ids.len(), 12);
        // 12 ids, page size 3: three full pages (0..9) and a full tail (9..12) not yet flushed.
        assert_eq!(reads.get(), 3);
    }
}
