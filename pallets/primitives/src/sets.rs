//! Roles, purposes and data categories, and compact sets of them.
//!
//! Sets are bit masks: they are `MaxEncodedLen`-bounded by construction, subset checks are one
//! instruction, and a consent's scope encodes in four bytes.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

macro_rules! flag_enum {
    ($(#[$meta:meta])* $name:ident, $set:ident, $bits:ty, [$($(#[$vmeta:meta])* $variant:ident = $bit:expr),+ $(,)?]) => {
        $(#[$meta])*
        #[derive(Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
        #[derive(serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* $variant = $bit),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            fn bit(self) -> $bits {
                1 << (self as u8)
            }
        }

        #[doc = concat!("A set of [`", stringify!($name), "`] values.")]
        #[derive(Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, Default, Debug)]
        #[derive(serde::Serialize, serde::Deserialize)]
        pub struct $set(pub $bits);

        impl $set {
            /// The empty set.
            pub const fn empty() -> Self {
                Self(0)
            }
            /// The set of the given values.
            pub fn of(items: &[$name]) -> Self {
                Self(items.iter().fold(0, |acc, i| acc | i.bit()))
            }
            /// The set of every defined value.
            pub fn all() -> Self {
                Self::of($name::ALL)
            }
            /// Whether the set holds `item`.
            pub fn contains(self, item: $name) -> bool {
                self.0 & item.bit() != 0
            }
            /// Whether every value of `other` is in `self`.
            pub fn includes(self, other: Self) -> bool {
                other.0 & !self.0 == 0
            }
            /// Whether the set is empty.
            pub fn is_empty(self) -> bool {
                self.0 == 0
            }
            /// Whether only defined values are set (a raw mask from outside may carry unknown bits).
            pub fn is_valid(self) -> bool {
                Self::all().includes(self)
            }
            /// The values in the set, in declaration order.
            pub fn iter(self) -> impl Iterator<Item = $name> {
                $name::ALL.iter().copied().filter(move |i| self.contains(*i))
            }
            /// The values of `self` not in `other`.
            pub fn without(self, other: Self) -> Self {
                Self(self.0 & !other.0)
            }
            /// The union of two sets.
            pub fn union(self, other: Self) -> Self {
                Self(self.0 | other.0)
            }
        }
    };
}

flag_enum!(
    /// What an institution may do in the consortium.
    Role, RoleSet, u8, [
        /// Holds patient data and enrols patients; may break the glass in an emergency.
        DataCustodian = 0,
        /// Runs research and model-training workloads.
        Researcher = 1,
        /// Reviews the audit log.
        Auditor = 2,
    ]
);

flag_enum!(
    /// Why data is used. Maps to FHIR R4 `Consent.provision.purpose` (v3 PurposeOfUse codes).
    Purpose, PurposeSet, u16, [
        /// Direct care of the patient (PurposeOfUse `TREAT`).
        Treatment = 0,
        /// Drug-response model inference for the patient (PurposeOfUse `TREAT`, sub-purpose).
        Inference = 1,
        /// PK/PD digital-twin simulation (PurposeOfUse `TREAT`, sub-purpose).
        Simulation = 2,
        /// Contributing to a federated training round (PurposeOfUse `HRESCH`).
        FederatedTraining = 3,
        /// Research use (PurposeOfUse `HRESCH`).
        Research = 4,
        /// Linking the pseudonym back to a person (PurposeOfUse `PATRQT`/legal); never implied.
        ReIdentification = 5,
    ]
);

flag_enum!(
    /// Which data is used. Maps to FHIR R4 `Consent.provision.class`.
    DataCategory, CategorySet, u16, [
        /// Age, sex, weight, height.
        Demographics = 0,
        /// Electronic health record: conditions, medications, notes.
        Ehr = 1,
        /// Laboratory results.
        Labs = 2,
        /// Genotypes and other genomic data.
        Genomic = 3,
        /// Vital signs and wearable time series.
        Wearable = 4,
        /// Medical imaging.
        Imaging = 5,
    ]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_hold_exactly_what_was_put_in() {
        let s = CategorySet::of(&[DataCategory::Labs, DataCategory::Genomic]);
        assert!(s.contains(DataCategory::Labs));
        assert!(!s.contains(DataCategory::Ehr));
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![DataCategory::Labs, DataCategory::Genomic]
        );
        assert!(CategorySet::all().includes(s));
        assert!(!s.includes(CategorySet::all()));
        assert!(s.includes(CategorySet::empty()));
        assert!(!CategorySet(1 << 15).is_valid());
        assert_eq!(
            s.without(CategorySet::of(&[DataCategory::Labs])),
            CategorySet::of(&[DataCategory::Genomic])
        );
    }
}
