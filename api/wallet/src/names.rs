//! Command-line names of purposes, data categories and roles.
//!
//! The names are `consentry-primitives`' canonical ones (`Named`: `federated_training`,
//! `re_identification`, `data_custodian`), the same the API, the indexer and the exports use; this
//! module holds no table of its own. Parsing is exact: another spelling (`federated-training`,
//! `FederatedTraining`) is refused with a message naming the canonical one, and an unknown name
//! with the list of valid ones, because a typo here must not silently narrow or widen a consent.

use anyhow::{bail, Result};
use consentry_primitives::{CategorySet, DataCategory, Named, Purpose, PurposeSet, Role};

fn lookup<T: Named>(flag: &str, name: &str) -> Result<T> {
    // Spaces around a name in a comma-separated list are list syntax, not part of the name.
    T::from_name(name.trim()).map_err(|e| anyhow::anyhow!("{flag}: {e}"))
}

fn all_names<T: Named>() -> String {
    T::ALL
        .iter()
        .map(|v| v.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn list<T: Named>(flag: &str, names: &str) -> Result<Vec<T>> {
    let items: Vec<&str> = names.split(',').filter(|s| !s.trim().is_empty()).collect();
    if items.is_empty() {
        bail!(
            "{flag}: give at least one {}, comma-separated, from {}",
            T::KIND,
            all_names::<T>()
        );
    }
    items.into_iter().map(|n| lookup(flag, n)).collect()
}

/// Parses one purpose name, e.g. for `--purpose simulation`.
pub fn purpose(flag: &str, name: &str) -> Result<Purpose> {
    lookup(flag, name)
}

/// Parses a comma-separated purpose list such as `simulation,inference`.
pub fn purposes(flag: &str, names: &str) -> Result<PurposeSet> {
    Ok(PurposeSet::of(&list(flag, names)?))
}

/// Parses a comma-separated category list such as `labs,genomic`.
pub fn categories(flag: &str, names: &str) -> Result<CategorySet> {
    Ok(CategorySet::of(&list(flag, names)?))
}

/// Parses one role name, e.g. for `--role researcher`.
pub fn role(flag: &str, name: &str) -> Result<Role> {
    lookup(flag, name)
}

/// The name of a purpose.
pub fn purpose_name(p: Purpose) -> &'static str {
    p.name()
}

/// The name of a category.
pub fn category_name(c: DataCategory) -> &'static str {
    c.name()
}

/// The name of a role.
pub fn role_name(r: Role) -> &'static str {
    r.name()
}

/// `simulation,inference`.
pub fn purpose_list(s: PurposeSet) -> String {
    s.iter().map(purpose_name).collect::<Vec<_>>().join(",")
}

/// `labs,genomic`.
pub fn category_list(s: CategorySet) -> String {
    s.iter().map(category_name).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_primitives_names() {
        for p in Purpose::ALL {
            assert_eq!(purpose("--purpose", p.name()).unwrap(), *p);
        }
        for c in DataCategory::ALL {
            assert_eq!(category_name(*c), c.name());
        }
        assert_eq!(
            purpose_name(Purpose::FederatedTraining),
            "federated_training"
        );
        assert_eq!(role_name(Role::DataCustodian), "data_custodian");
    }

    #[test]
    fn lists_parse_to_the_named_sets() {
        assert_eq!(
            purposes("--purpose", "simulation, inference").unwrap(),
            PurposeSet::of(&[Purpose::Simulation, Purpose::Inference])
        );
        assert_eq!(
            categories("--categories", "labs,genomic,federated_training").unwrap_err().to_string(),
            "--categories: unknown category 'federated_training'; expected one of demographics, ehr, labs, genomic, wearable, imaging"
        );
        assert_eq!(
            purposes("--purpose", "federated_training").unwrap(),
            PurposeSet::of(&[Purpose::FederatedTraining])
        );
        assert_eq!(role("--role", "researcher").unwrap(), Role::Researcher);
    }

    #[test]
    fn other_spellings_are_refused_naming_the_canonical_one() {
        assert_eq!(
            purposes("--purpose", "simulation,federated-training")
                .unwrap_err()
                .to_string(),
            "--purpose: 'federated-training' is not a purpose name; write 'federated_training'"
        );
        assert_eq!(
            purposes("--purpose", "FederatedTraining")
                .unwrap_err()
                .to_string(),
            "--purpose: 'FederatedTraining' is not a purpose name; write 'federated_training'"
        );
        assert_eq!(
            categories("--categories", "Labs").unwrap_err().to_string(),
            "--categories: 'Labs' is not a category name; write 'labs'"
        );
        assert_eq!(
            role("--role", "data-custodian").unwrap_err().to_string(),
            "--role: 'data-custodian' is not a role name; write 'data_custodian'"
        );
    }

    #[test]
    fn errors_name_the_flag_and_the_valid_values() {
        let e = purposes("--purpose", "simulatoin").unwrap_err().to_string();
        assert_eq!(
            e,
            "--purpose: unknown purpose 'simulatoin'; expected one of treatment, inference, simulation, federated_training, research, re_identification"
        );
        let e = categories("--categories", " , ").unwrap_err().to_string();
        assert!(
            e.starts_with("--categories: give at least one category"),
            "{e}"
        );
        let e = role("--role", "admin").unwrap_err().to_string();
        assert!(e.starts_with("--role: unknown role 'admin'"), "{e}");
    }

    #[test]
    fn json_carries_the_canonical_names_only() {
        assert_eq!(
            serde_json::to_string(&Purpose::FederatedTraining).unwrap(),
            "\"federated_training\""
        );
        assert_eq!(
            serde_json::from_str::<DataCategory>("\"genomic\"").unwrap(),
            DataCategory::Genomic
        );
        let e = serde_json::from_str::<Purpose>("\"FederatedTraining\"").unwrap_err();
        assert!(e.to_string().contains("write 'federated_training'"), "{e}");
        // Chain specs keep naming roles by their variant.
        assert_eq!(
            serde_json::to_string(&Role::DataCustodian).unwrap(),
            "\"DataCustodian\""
        );
    }
}
