//! The SQL schema, the same text on SQLite and PostgreSQL.
//!
//! Only types both accept (`BIGINT`, `TEXT`) are used, integers are all `BIGINT` (so the `Any`
//! driver decodes every one as `i64` on both), 32-byte values are lowercase hex `TEXT`, sets are
//! JSON arrays in `TEXT`. Every statement is idempotent, so opening an existing database is a
//! no-op.

/// The statements, run one by one in order (the `Any` driver prepares one statement at a time).
pub const STATEMENTS: &[&str] = &[
    // Progress: one row per indexed finalized block, written in the block's own transaction.
    "CREATE TABLE IF NOT EXISTS blocks (
        number BIGINT PRIMARY KEY,
        hash TEXT NOT NULL,
        event_count BIGINT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS events (
        block_number BIGINT NOT NULL,
        block_hash TEXT NOT NULL,
        extrinsic_index BIGINT,
        event_index BIGINT NOT NULL,
        pallet TEXT NOT NULL,
        variant TEXT NOT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (block_number, event_index)
    )",
    "CREATE TABLE IF NOT EXISTS access_records (
        id BIGINT PRIMARY KEY,
        institution BIGINT NOT NULL,
        requested_by TEXT NOT NULL,
        pseudonym TEXT NOT NULL,
        subject BIGINT,
        purpose TEXT NOT NULL,
        categories TEXT NOT NULL,
        job_digest TEXT NOT NULL,
        consents TEXT NOT NULL,
        emergency TEXT,
        state TEXT NOT NULL,
        deny_reason TEXT,
        result_digest TEXT,
        requested_at_ms BIGINT NOT NULL,
        closed_at_ms BIGINT,
        block_number BIGINT NOT NULL,
        block_hash TEXT NOT NULL,
        extrinsic_index BIGINT,
        closed_block_number BIGINT,
        closed_block_hash TEXT
    )",
    "CREATE INDEX IF NOT EXISTS access_by_pseudonym ON access_records (pseudonym, id)",
    "CREATE INDEX IF NOT EXISTS access_by_subject ON access_records (subject, id)",
    "CREATE INDEX IF NOT EXISTS access_by_institution ON access_records (institution, id)",
    "CREATE INDEX IF NOT EXISTS access_by_time ON access_records (requested_at_ms)",
    "CREATE TABLE IF NOT EXISTS consents (
        id BIGINT PRIMARY KEY,
        subject BIGINT NOT NULL,
        grantee TEXT NOT NULL,
        purposes TEXT NOT NULL,
        categories TEXT NOT NULL,
        valid_from_ms BIGINT NOT NULL,
        valid_until_ms BIGINT,
        max_uses BIGINT,
        uses BIGINT NOT NULL,
        status TEXT NOT NULL,
        status_at_ms BIGINT,
        granted_by TEXT NOT NULL,
        granted_at_ms BIGINT NOT NULL,
        block_number BIGINT NOT NULL,
        block_hash TEXT NOT NULL,
        extrinsic_index BIGINT,
        updated_block_number BIGINT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS consents_by_subject ON consents (subject, id)",
    "CREATE TABLE IF NOT EXISTS enrolments (
        pseudonym TEXT PRIMARY KEY,
        institution BIGINT NOT NULL,
        patient TEXT NOT NULL,
        subject BIGINT,
        block_number BIGINT NOT NULL,
        claimed_block_number BIGINT,
        erased_block_number BIGINT
    )",
    "CREATE INDEX IF NOT EXISTS enrolments_by_subject ON enrolments (subject)",
    // Access counts per institution, kept by `Store::write_block` in each block's transaction,
    // so a summary reads a row per institution instead of scanning every record.
    "CREATE TABLE IF NOT EXISTS institution_counts (
        institution BIGINT PRIMARY KEY,
        total BIGINT NOT NULL,
        granted BIGINT NOT NULL,
        denied BIGINT NOT NULL,
        completed BIGINT NOT NULL,
        failed BIGINT NOT NULL,
        aborted BIGINT NOT NULL,
        emergency BIGINT NOT NULL
    )",
];

/// Migrations of stored values, applied once each, in order, by [`crate::Store::open`]: each in
/// one transaction with its row in `migrations`. The SQL is the same on SQLite and PostgreSQL.
pub fn migrations() -> Vec<(&'static str, Vec<String>)> {
    vec![
        ("0001_canonical_names", canonical_names()),
        ("0002_canonical_deny_reasons", canonical_deny_reasons()),
        ("0003_canonical_event_names", canonical_event_names()),
        ("0004_institution_counts", institution_counts()),
    ]
}

/// Fills `institution_counts` from the records a database indexed before the table existed
/// (on a new database there are none). The same counting rules as a scan: `query.rs`'s
/// `COUNT_COLUMNS`.
fn institution_counts() -> Vec<String> {
    vec![
        "DELETE FROM institution_counts".into(),
        format!(
            "INSERT INTO institution_counts (institution, total, granted, denied, completed, \
             failed, aborted, emergency) SELECT institution, {} FROM access_records \
             GROUP BY institution",
            crate::query::COUNT_COLUMNS
        ),
    ]
}

/// The table of applied migrations.
pub const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY)";

/// Purposes and categories were stored under Rust's variant names (`FederatedTraining`,
/// `Labs`) before they were stored under their canonical names (`federated_training`, `labs`).
pub const RENAMED_PURPOSES: &[(&str, &str)] = &[
    ("Treatment", "treatment"),
    ("Inference", "inference"),
    ("Simulation", "simulation"),
    ("FederatedTraining", "federated_training"),
    ("Research", "research"),
    ("ReIdentification", "re_identification"),
];

/// See [`RENAMED_PURPOSES`].
pub const RENAMED_CATEGORIES: &[(&str, &str)] = &[
    ("Demographics", "demographics"),
    ("Ehr", "ehr"),
    ("Labs", "labs"),
    ("Genomic", "genomic"),
    ("Wearable", "wearable"),
    ("Imaging", "imaging"),
];

/// Rewrites every stored purpose and category name: the `purpose` column, the JSON arrays of
/// names (quoted, so `"Labs"` never matches inside another value) and the `AccessGranted` events'
/// JSON, whose only strings are the purpose and the categories.
fn canonical_names() -> Vec<String> {
    let mut sql = Vec::new();
    for (old, new) in RENAMED_PURPOSES {
        sql.push(format!(
            "UPDATE access_records SET purpose = '{new}' WHERE purpose = '{old}'"
        ));
    }
    for (column, table) in [
        ("categories", "access_records"),
        ("purposes", "consents"),
        ("categories", "consents"),
        ("json", "events"),
    ] {
        for (old, new) in RENAMED_PURPOSES.iter().chain(RENAMED_CATEGORIES) {
            let only_granted = if table == "events" {
                " AND variant = 'AccessGranted'"
            } else {
                ""
            };
            sql.push(format!(
                "UPDATE {table} SET {column} = REPLACE({column}, '\"{old}\"', '\"{new}\"') \
                 WHERE {column} LIKE '%\"{old}\"%'{only_granted}"
            ));
        }
    }
    sql
}

/// Deny reasons were stored under Rust's variant names (`NoConsent`) after purposes and
/// categories had their canonical names; [`canonical_deny_reasons`] renames them.
pub const RENAMED_DENY_REASONS: &[(&str, &str)] = &[
    ("AccessorNotRegistered", "accessor_not_registered"),
    ("AccessorSuspended", "accessor_suspended"),
    ("UnknownSubject", "unknown_subject"),
    ("SubjectErased", "subject_erased"),
    ("NoConsent", "no_consent"),
    ("Revoked", "revoked"),
    ("NotYetValid", "not_yet_valid"),
    ("Expired", "expired"),
    ("UsesExhausted", "uses_exhausted"),
    ("PurposeNotCovered", "purpose_not_covered"),
    ("CategoryNotCovered", "category_not_covered"),
];

/// Rewrites the records' `deny_reason` and the `AccessDenied` events' `reason` (quoted in their
/// JSON, so a name never matches inside another value).
fn canonical_deny_reasons() -> Vec<String> {
    let mut sql = Vec::new();
    for (old, new) in RENAMED_DENY_REASONS {
        sql.push(format!(
            "UPDATE access_records SET deny_reason = '{new}' WHERE deny_reason = '{old}'"
        ));
        sql.push(format!(
            "UPDATE events SET json = REPLACE(json, '\"{old}\"', '\"{new}\"') \
             WHERE variant = 'AccessDenied' AND json LIKE '%\"{old}\"%'"
        ));
    }
    sql
}

/// Roles in the institutions' events and outcomes in `AccessClosed` were stored under Rust's
/// variant names (`DataCustodian`, `Completed`) after every other name was canonical;
/// [`canonical_event_names`] renames them.
pub const RENAMED_ROLES: &[(&str, &str)] = &[
    ("DataCustodian", "data_custodian"),
    ("Researcher", "researcher"),
    ("Auditor", "auditor"),
];

/// See [`RENAMED_ROLES`]; the canonical outcome names are the closed records' state names.
pub const RENAMED_OUTCOMES: &[(&str, &str)] = &[
    ("Completed", "completed"),
    ("Failed", "failed"),
    ("Aborted", "aborted"),
];

/// Rewrites the roles of `InstitutionRegistered` and `RolesChanged` events and the outcome of
/// `AccessClosed` events (quoted in their JSON, and only in those variants, whose other strings
/// are hex digests that cannot hold a name).
fn canonical_event_names() -> Vec<String> {
    let renames = |variants: &str, names: &[(&str, &str)]| {
        names
            .iter()
            .map(|(old, new)| {
                format!(
                    "UPDATE events SET json = REPLACE(json, '\"{old}\"', '\"{new}\"') \
                     WHERE variant IN ({variants}) AND json LIKE '%\"{old}\"%'"
                )
            })
            .collect::<Vec<_>>()
    };
    let mut sql = renames("'InstitutionRegistered', 'RolesChanged'", RENAMED_ROLES);
    sql.extend(renames("'AccessClosed'", RENAMED_OUTCOMES));
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use consentry_primitives::{DataCategory, Purpose};

    #[test]
    fn the_renames_cover_every_variant_from_its_old_name_to_its_canonical_one() {
        let purposes: Vec<_> = Purpose::ALL
            .iter()
            .map(|p| (format!("{p:?}"), p.name()))
            .collect();
        let renamed: Vec<_> = RENAMED_PURPOSES
            .iter()
            .map(|(o, n)| (o.to_string(), *n))
            .collect();
        assert_eq!(purposes, renamed);
        let categories: Vec<_> = DataCategory::ALL
            .iter()
            .map(|c| (format!("{c:?}"), c.name()))
            .collect();
        let renamed: Vec<_> = RENAMED_CATEGORIES
            .iter()
            .map(|(o, n)| (o.to_string(), *n))
            .collect();
        assert_eq!(categories, renamed);
    }

    #[test]
    fn roles_and_outcomes_are_renamed_to_the_names_events_carry() {
        use consentry_primitives::{AccessState, Outcome, Role};
        let roles: Vec<_> = Role::ALL
            .iter()
            .map(|r| (format!("{r:?}"), r.name()))
            .collect();
        let renamed: Vec<_> = RENAMED_ROLES
            .iter()
            .map(|(o, n)| (o.to_string(), *n))
            .collect();
        assert_eq!(roles, renamed);
        for o in [Outcome::Completed, Outcome::Failed, Outcome::Aborted] {
            let new = crate::model::state_name(&AccessState::Closed(o)).0;
            assert!(
                RENAMED_OUTCOMES.contains(&(format!("{o:?}").as_str(), new)),
                "{o:?}"
            );
        }
    }

    #[test]
    fn deny_reasons_are_renamed_to_the_names_json_carries() {
        use consentry_primitives::{DenyReason, Named};
        let reasons: Vec<_> = <DenyReason as Named>::ALL
            .iter()
            .map(|r| (format!("{r:?}"), r.name()))
            .collect();
        let renamed: Vec<_> = RENAMED_DENY_REASONS
            .iter()
            .map(|(o, n)| (o.to_string(), *n))
            .collect();
        assert_eq!(reasons, renamed);
        // The worker's decision JSON (serde) spells them as the table does.
        for r in <DenyReason as Named>::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.name());
        }
    }
}
