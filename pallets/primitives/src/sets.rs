//! Roles, purposes and data categories, and compact sets of them.
//!
//! Sets are bit masks: they are `MaxEncodedLen`-bounded by construction, subset checks are one
//! instruction, and a consent's scope encodes in four bytes.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

macro_rules! flag_enum {
    ($(#[$meta:meta])* $name:ident, $set:ident, $bits:ty, [$($(#[$vmeta:meta])* $variant:ident = $bit:expr => $label:literal),+ $(,)?]) => {
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

            /// The value's stable lower-case name, as used by the CLI, the API and exports.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $label),+
                }
            }

            /// The value with the given name (see [`Self::name`]), ignoring ASCII case, `_` and
            /// `-`, so `federated_training`, `FederatedTraining` and `federated-training` all match.
            pub fn from_name(name: &str) -> Option<Self> {
                let loose = |s: &'static str| {
                    s.chars().filter(|c| *c != '_' && *c != '-').map(|c| c.to_ascii_lowercase())
                };
                let wanted = || {
                    name.trim().chars().filter(|c| *c != '_' && *c != '-').map(|c| c.to_ascii_lowercase())
                };
                Self::ALL.iter().copied().find(|v| loose(v.name()).eq(wanted()))
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
        DataCustodian = 0 => "data_custodian",
        /// Runs research and model-training workloads.
        Researcher = 1 => "researcher",
        /// Reviews the audit log.
        Auditor = 2 => "auditor",
    ]
);

flag_enum!(
    /// Why data is used. Maps to FHIR R4 `Consent.provision.purpose` (v3 PurposeOfUse codes).
    Purpose, PurposeSet, u16, [
        /// Direct care of the patient (PurposeOfUse `TREAT`).
        Treatment = 0 => "treatment",
        /// Drug-response model inference for the patient (PurposeOfUse `TREAT`, sub-purpose).
        Inference = 1 => "inference",
        /// PK/PD digital-twin simulation (PurposeOfUse `TREAT`, sub-purpose).
        Simulation = 2 => "simulation",
        /// Contributing to a federated training round (PurposeOfUse `HRESCH`).
        FederatedTraining = 3 => "federated_training",
        /// Research use (PurposeOfUse `HRESCH`).
        Research = 4 => "research",
        /// Linking the pseudonym back to a person (PurposeOfUse `PATRQT`/legal); never implied.
        ReIdentification = 5 => "re_identification",
    ]
);

flag_enum!(
    /// Which data is used. Maps to FHIR R4 `Consent.provision.class`.
    DataCategory, CategorySet, u16, [
        /// Age, sex, weight, height.
        Demographics = 0 => "demographics",
        /// Electronic health record: conditions, medications, notes.
        Ehr = 1 => "ehr",
        /// Laboratory results.
        Labs = 2 => "labs",
        /// Genotypes and other genomic data.
        Genomic = 3 => "genomic",
        /// Vital signs and wearable time series.
        Wearable = 4 => "wearable",
        /// Medical imaging.
        Imaging = 5 => "imaging",
    ]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        assert_eq!(Purpose::Simulation.name(), "simulation");
        assert_eq!(
            DataCategory::from_name(" Genomic "),
            Some(DataCategory::Genomic)
        );
        assert_eq!(Purpose::from_name("simulatoin"), None);
        assert_eq!(
            Purpose::from_name("FederatedTraining"),
            Some(Purpose::FederatedTraining)
        );
        for p in Purpose::ALL {
            assert_eq!(Purpose::from_name(p.name()), Some(*p));
        }
        for c in DataCategory::ALL {
            assert_eq!(DataCategory::from_name(c.name()), Some(*c));
        }
    }

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
