//! What an access request is charged before dispatch, and what it used.
//!
//! Three costs of a request are only known once it runs: how many consents the decision read and
//! cited (a patient may hold up to the consent index's bound, and a permit cites one consent per
//! data category at most), how many of the cited consents have a use limit (only those have a
//! use counted, a write each, and the patient's consent index written once if any was), and how
//! many pages appending to the institution's index wrote.
//! Calls are charged for the costliest case and return the weight of what they did, per the
//! generated weights: `request_access` and `request_access_batch(n)` are benchmarked with one
//! use-limited consent per record, read and cited, and `request_access_consents(c, k)` (`c`
//! consents read but not cited, `k` cited) prices what each further consent adds. Only that
//! benchmark's slopes are used, so the common case is charged exactly what it was measured at;
//! writes that did not happen (pages not flushed, uses of unlimited consents not counted) are
//! refunded at the runtime's `DbWeight`, and so is the consent index write of a record that
//! counted no use.

use crate::{Config, WeightInfo};
use consentry_primitives::{CategorySet, ConsentCheck, DataCategory};
use frame_support::{traits::Get, weights::Weight};

/// The audit pallet's generated weights for runtime `T`.
type W<T> = <T as Config>::WeightInfo;

/// The most consents one permit cites: one per data category.
pub const MOST_CITED: u32 = DataCategory::ALL.len() as u32;

/// What deciding and recording did, summed over a call's records.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Tally {
    /// Records made.
    pub records: u32,
    /// Index pages written.
    pub flushes: u32,
    /// Consents decisions read without citing them.
    pub uncited: u32,
    /// Consents permits cited.
    pub cited: u32,
    /// Cited consents that had a use counted (those with a use limit).
    pub counted: u32,
    /// Records whose patient's consent index was rewritten (those that counted a use).
    pub reindexed: u32,
}

impl Tally {
    /// The costliest tally `records` records over `categories` can produce: each for a patient
    /// holding `consents_bound` consents (at most a full consent index), citing one use-limited
    /// consent per requested category (a permit never cites more), and every page the
    /// institution's index could start written.
    pub fn worst<T: Config>(records: u32, categories: CategorySet, consents_bound: u32) -> Self {
        let cited = (categories.iter().count() as u32).clamp(1, MOST_CITED);
        let read = consents_bound
            .min(T::ConsentCheck::max_consents_read())
            .max(cited);
        Self {
            records,
            flushes: most_flushes::<T>(records),
            uncited: records.saturating_mul(read - cited),
            cited: records.saturating_mul(cited),
            counted: records.saturating_mul(cited),
            reindexed: records,
        }
    }

    /// This tally and `other` together.
    pub fn and(self, other: Self) -> Self {
        Self {
            records: self.records.saturating_add(other.records),
            flushes: self.flushes.saturating_add(other.flushes),
            uncited: self.uncited.saturating_add(other.uncited),
            cited: self.cited.saturating_add(other.cited),
            counted: self.counted.saturating_add(other.counted),
            reindexed: self.reindexed.saturating_add(other.reindexed),
        }
    }
}

/// The most institution index pages `records` records can write: one per page they start (a
/// subject's index writes no pages, see [`crate::index`]).
fn most_flushes<T: Config>(records: u32) -> u32 {
    1u32.saturating_add(records.saturating_sub(1) / T::IndexPage::get().max(1))
}

/// `charged`, which assumed the most page writes `tally.records` records can make, a use
/// counted for every cited consent and every record's consent index rewritten, less the writes
/// that did not happen.
pub fn without_unwritten<T: Config>(charged: Weight, tally: Tally) -> Weight {
    let uses = tally.cited.saturating_sub(tally.counted);
    let indexes = tally.records.saturating_sub(tally.reindexed);
    without_unflushed::<T>(charged, tally.records, tally.flushes)
        .saturating_sub(T::DbWeight::get().writes(u64::from(uses) + u64::from(indexes)))
}

/// `charged`, which assumed the most institution index pages `records` records can write, less
/// the pages that `flushes` says were not written.
pub fn without_unflushed<T: Config>(charged: Weight, records: u32, flushes: u32) -> Weight {
    let pages = most_flushes::<T>(records).saturating_sub(flushes);
    charged.saturating_sub(T::DbWeight::get().writes(u64::from(pages)))
}

/// What `emergency_access` is charged: its benchmarked weight (a permit for a claimed patient)
/// and the write that indexes a record stored under no subject by its pseudonym, which a refused
/// attempt makes instead (its benchmark predates that index; refunded by
/// [`without_unindexed`] when the record has a subject). `request_access` and batches need no
/// such term: a record under no subject reads and writes no consents, which they were charged for.
pub fn emergency<T: Config>() -> Weight {
    W::<T>::emergency_access().saturating_add(T::DbWeight::get().writes(1))
}

/// `charged`, which assumed `record` was indexed by its pseudonym, less that write if it was not
/// (it has a subject).
pub fn without_unindexed<T: Config>(charged: Weight, record: &crate::RecordOf<T>) -> Weight {
    if record.subject.is_some() {
        charged.saturating_sub(T::DbWeight::get().writes(1))
    } else {
        charged
    }
}

/// What the consents of `tally` cost beyond one read and cited per record. Never less than
/// nothing: a denial cites none, and charging it as if it had is the safe side.
fn consents_beyond_one<T: Config>(tally: Tally) -> Weight {
    W::<T>::request_access_consents(tally.uncited, tally.cited)
        .saturating_sub(W::<T>::request_access_consents(0, tally.records))
}

/// The weight of one `request_access` that did what `tally` says.
pub fn request<T: Config>(tally: Tally) -> Weight {
    let charged = W::<T>::request_access().saturating_add(consents_beyond_one::<T>(tally));
    without_unwritten::<T>(charged, tally)
}

/// The weight of one `request_access_batch` that did what `tally` says.
pub fn batch<T: Config>(tally: Tally) -> Weight {
    let charged =
        W::<T>::request_access_batch(tally.records).saturating_add(consents_beyond_one::<T>(tally));
    without_unwritten::<T>(charged, tally)
}
