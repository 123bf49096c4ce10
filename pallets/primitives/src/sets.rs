//! Roles, purposes and data categories, and compact sets of them.
//!
//! Sets are bit masks: they are `MaxEncodedLen`-bounded by construction, subset checks are one
//! instruction, and a consent's scope encodes in four bytes.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// Purposes, categories, roles and deny reasons by name: the one table of canonical names.
///
/// Every name is lower-case `snake_case` (`federated_training`, `re_identification`,
/// `data_custodian`), the spelling the JSON of the API, the CLI, the indexer's rows and the
/// exports all use. Parsing is exact; another spelling of a name (other case, `-` for `_`,
/// `FederatedTraining`) is refused with an error naming the canonical one.
pub trait Named: Copy + Eq + 'static {
    /// What a value is called in messages: `purpose`, `category`, `role`.
    const KIND: &'static str;
    /// Every value, in declaration order.
    const ALL: &'static [Self];
    /// The value's canonical name.
    fn name(self) -> &'static str;

    /// The value whose canonical name is exactly `name`; see [`NameError`] for the refusals.
    fn from_name(name: &str) -> Result<Self, NameError<'_, Self>> {
        match Self::ALL.iter().copied().find(|v| v.name() == name) {
            Some(v) => Ok(v),
            None => Err(NameError {
                given: name,
                canonical: Self::ALL
                    .iter()
                    .copied()
                    .find(|v| loosely(v.name()).eq(loosely(name))),
            }),
        }
    }
}

/// The letters and digits of `s`, lower-cased: what two spellings of one name share.
fn loosely(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
}

/// A name that is not the canonical name of any `T`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameError<'a, T: Named> {
    /// The refused name.
    pub given: &'a str,
    /// The value it is another spelling of, if it is one.
    pub canonical: Option<T>,
}

impl<T: Named> core::fmt::Display for NameError<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.canonical {
            Some(v) => write!(
                f,
                "'{}' is not a {} name; write '{}'",
                self.given,
                T::KIND,
                v.name()
            ),
            None => {
                write!(f, "unknown {} '{}'; expected one of ", T::KIND, self.given)?;
                for (i, v) in T::ALL.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(v.name())?;
                }
                Ok(())
            }
        }
    }
}

/// Serializes `$name` as its canonical name and deserializes only that name.
macro_rules! canonical_serde {
    ($name:ident) => {
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                        write!(f, "a {} name", <$name as Named>::KIND)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        $name::from_name(v).map_err(E::custom)
                    }
                }
                d.deserialize_str(Visitor)
            }
        }
    };
}

macro_rules! flag_enum {
    ($(#[$meta:meta])* $name:ident, $set:ident, $bits:ty, $kind:literal, [$($(#[$vmeta:meta])* $variant:ident = $bit:expr => $label:literal),+ $(,)?]) => {
        $(#[$meta])*
        #[derive(Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
        pub enum $name {
            $($(#[$vmeta])* $variant = $bit),+
        }

        impl Named for $name {
            const KIND: &'static str = $kind;
            const ALL: &'static [$name] = &[$($name::$variant),+];
            fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $label),+
                }
            }
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = <$name as Named>::ALL;

            fn bit(self) -> $bits {
                1 << (self as u8)
            }

            /// The value's canonical name ([`Named`]), as the CLI, the API and exports spell it.
            pub fn name(self) -> &'static str {
                <$name as Named>::name(self)
            }

            /// The value whose canonical name is exactly `name`; another spelling of a name is
            /// refused with an error naming the canonical one ([`NameError`]).
            pub fn from_name(name: &str) -> Result<Self, NameError<'_, Self>> {
                <$name as Named>::from_name(name)
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
    // Chain specs name roles by variant (`"DataCustodian"`), so roles keep serde's derived
    // spelling there; everything else uses the canonical names.
    #[derive(serde::Serialize, serde::Deserialize)]
    Role, RoleSet, u8, "role", [
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
    Purpose, PurposeSet, u16, "purpose", [
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
    DataCategory, CategorySet, u16, "category", [
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

canonical_serde!(Purpose);
canonical_serde!(DataCategory);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        assert_eq!(Purpose::Simulation.name(), "simulation");
        assert_eq!(Purpose::FederatedTraining.name(), "federated_training");
        assert_eq!(Purpose::ReIdentification.name(), "re_identification");
        assert_eq!(Role::DataCustodian.name(), "data_custodian");
        for p in Purpose::ALL {
            assert_eq!(Purpose::from_name(p.name()), Ok(*p));
        }
        for c in DataCategory::ALL {
            assert_eq!(DataCategory::from_name(c.name()), Ok(*c));
        }
        for r in Role::ALL {
            assert_eq!(Role::from_name(r.name()), Ok(*r));
        }
        // Distinct, even loosely: no two names are spellings of each other.
        for (i, a) in Purpose::ALL.iter().enumerate() {
            for b in &Purpose::ALL[i + 1..] {
                assert!(!loosely(a.name()).eq(loosely(b.name())));
            }
        }
    }

    #[test]
    fn other_spellings_are_refused_naming_the_canonical_one() {
        for other in [
            "federated-training",
            "FederatedTraining",
            "FEDERATED_TRAINING",
            " federated_training",
        ] {
            let e = Purpose::from_name(other).unwrap_err();
            assert_eq!(e.canonical, Some(Purpose::FederatedTraining), "{other}");
            assert_eq!(
                e.to_string(),
                format!("'{other}' is not a purpose name; write 'federated_training'")
            );
        }
        assert_eq!(
            DataCategory::from_name("Labs").unwrap_err().to_string(),
            "'Labs' is not a category name; write 'labs'"
        );
        assert_eq!(
            Role::from_name("data-custodian").unwrap_err().canonical,
            Some(Role::DataCustodian)
        );
        assert_eq!(
            Purpose::from_name("simulatoin").unwrap_err().to_string(),
            "unknown purpose 'simulatoin'; expected one of treatment, inference, simulation, \
             federated_training, research, re_identification"
        );
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
