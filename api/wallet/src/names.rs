//! Command-line names of purposes, data categories and roles.
//!
//! The names are the lowercase, hyphen-separated forms of the `consentry-primitives` variants
//! (`federated-training`, `re-identification`); the tables below are checked against
//! `Purpose::ALL`/`DataCategory::ALL`/`Role::ALL` by the tests, so a new variant cannot be missed.
//! Errors name the flag and list the valid names, because a typo here must not silently narrow or
//! widen a consent.

use anyhow::{bail, Result};
use consentry_primitives::{CategorySet, DataCategory, Purpose, PurposeSet, Role};

/// Every purpose with its name.
pub const PURPOSES: &[(&str, Purpose)] = &[
    ("treatment", Purpose::Treatment),
    ("inference", Purpose::Inference),
    ("simulation", Purpose::Simulation),
    ("federated-training", Purpose::FederatedTraining),
    ("research", Purpose::Research),
    ("re-identification", Purpose::ReIdentification),
];

/// Every data category with its name.
pub const CATEGORIES: &[(&str, DataCategory)] = &[
    ("demographics", DataCategory::Demographics),
    ("ehr", DataCategory::Ehr),
    ("labs", DataCategory::Labs),
    ("genomic", DataCategory::Genomic),
    ("wearable", DataCategory::Wearable),
    ("imaging", DataCategory::Imaging),
];

/// Every institution role with its name.
pub const ROLES: &[(&str, Role)] = &[
    ("data-custodian", Role::DataCustodian),
    ("researcher", Role::Researcher),
    ("auditor", Role::Auditor),
];

fn lookup<T: Copy>(flag: &str, kind: &str, table: &[(&str, T)], name: &str) -> Result<T> {
    let wanted = name.trim().to_ascii_lowercase().replace('_', "-");
    match table.iter().find(|(n, _)| *n == wanted) {
        Some((_, v)) => Ok(*v),
        None => bail!(
            "{flag}: unknown {kind} '{}'; expected one of {}",
            name.trim(),
            table.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn list<T: Copy>(flag: &str, kind: &str, table: &[(&str, T)], names: &str) -> Result<Vec<T>> {
    let items: Vec<&str> = names.split(',').filter(|s| !s.trim().is_empty()).collect();
    if items.is_empty() {
        bail!(
            "{flag}: give at least one {kind}, comma-separated, from {}",
            table.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        );
    }
    items
        .into_iter()
        .map(|n| lookup(flag, kind, table, n))
        .collect()
}

/// Parses one purpose name, e.g. for `--purpose simulation`.
pub fn purpose(flag: &str, name: &str) -> Result<Purpose> {
    lookup(flag, "purpose", PURPOSES, name)
}

/// Parses a comma-separated purpose list such as `simulation,inference`.
pub fn purposes(flag: &str, names: &str) -> Result<PurposeSet> {
    Ok(PurposeSet::of(&list(flag, "purpose", PURPOSES, names)?))
}

/// Parses a comma-separated category list such as `labs,genomic`.
pub fn categories(flag: &str, names: &str) -> Result<CategorySet> {
    Ok(CategorySet::of(&list(flag, "category", CATEGORIES, names)?))
}

/// Parses one role name, e.g. for `--role researcher`.
pub fn role(flag: &str, name: &str) -> Result<Role> {
    lookup(flag, "role", ROLES, name)
}

/// The name of a purpose.
pub fn purpose_name(p: Purpose) -> &'static str {
    PURPOSES
        .iter()
        .find(|(_, v)| *v == p)
        .map_or("?", |(n, _)| n)
}

/// The name of a category.
pub fn category_name(c: DataCategory) -> &'static str {
    CATEGORIES
        .iter()
        .find(|(_, v)| *v == c)
        .map_or("?", |(n, _)| n)
}

/// The name of a role.
pub fn role_name(r: Role) -> &'static str {
    ROLES.iter().find(|(_, v)| *v == r).map_or("?", |(n, _)| n)
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
    fn every_variant_has_exactly_one_name() {
        assert_eq!(
            PURPOSES.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
            Purpose::ALL.to_vec()
        );
        assert_eq!(
            CATEGORIES.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
            DataCategory::ALL.to_vec()
        );
        assert_eq!(
            ROLES.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
            Role::ALL.to_vec()
        );
    }

    #[test]
    fn lists_parse_to_the_named_sets() {
        assert_eq!(
            purposes("--purpose", "simulation, Inference").unwrap(),
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
        assert_eq!(role("--role", "Researcher").unwrap(), Role::Researcher);
    }

    #[test]
    fn errors_name_the_flag_and_the_valid_values() {
        let e = purposes("--purpose", "simulatoin").unwrap_err().to_string();
        assert_eq!(
            e,
            "--purpose: unknown purpose 'simulatoin'; expected one of treatment, inference, simulation, federated-training, research, re-identification"
        );
        let e = categories("--categories", " , ").unwrap_err().to_string();
        assert!(
            e.starts_with("--categories: give at least one category"),
            "{e}"
        );
        let e = role("--role", "admin").unwrap_err().to_string();
        assert!(e.starts_with("--role: unknown role 'admin'"), "{e}");
    }
}
