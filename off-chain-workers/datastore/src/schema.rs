//! The SQLite schema.
//!
//! Pseudonyms are the key of every clinical row, as 64 lower-case hex digits. The
//! pseudonym → local identifier mapping lives only in `patients` (it never goes on chain).
//! Clinical rows carry a `source` (`ResourceType/id`), unique per patient, so re-ingesting a bundle
//! replaces its rows instead of duplicating them. `read_log` is append-only: triggers refuse
//! updates and deletes, so a row once written stays as evidence of the read.

/// Statements run by `Store::open`; idempotent.
pub(crate) const SCHEMA: &str = r#"
PRAGMA foreign_keys = ON;

CREATE TABLE IF NOT EXISTS patients (
    pseudonym        TEXT PRIMARY KEY CHECK (length(pseudonym) = 64),
    local_identifier TEXT NOT NULL UNIQUE,
    fhir_id          TEXT,
    birth_date       TEXT NOT NULL,
    birth_day        INTEGER NOT NULL,
    sex              TEXT NOT NULL CHECK (sex IN ('male', 'female', 'other', 'unknown')),
    weight_kg        REAL,
    weight_at_ms     INTEGER,
    height_cm        REAL,
    height_at_ms     INTEGER
);
CREATE INDEX IF NOT EXISTS patients_fhir_id ON patients (fhir_id);

CREATE TABLE IF NOT EXISTS observations (
    id           INTEGER PRIMARY KEY,
    pseudonym    TEXT NOT NULL REFERENCES patients (pseudonym),
    source       TEXT NOT NULL,
    category     TEXT NOT NULL CHECK (category IN ('labs', 'vitals')),
    loinc        TEXT NOT NULL,
    display      TEXT,
    value        REAL NOT NULL,
    unit         TEXT NOT NULL,
    effective_ms INTEGER NOT NULL,
    UNIQUE (pseudonym, source)
);

CREATE TABLE IF NOT EXISTS medications (
    id        INTEGER PRIMARY KEY,
    pseudonym TEXT NOT NULL REFERENCES patients (pseudonym),
    source    TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('request', 'administration')),
    drug      TEXT NOT NULL,
    drug_code TEXT,
    dose      REAL NOT NULL,
    unit      TEXT NOT NULL,
    route     TEXT,
    at_ms     INTEGER NOT NULL,
    UNIQUE (pseudonym, source)
);

CREATE TABLE IF NOT EXISTS conditions (
    id        INTEGER PRIMARY KEY,
    pseudonym TEXT NOT NULL REFERENCES patients (pseudonym),
    source    TEXT NOT NULL,
    system    TEXT,
    code      TEXT NOT NULL,
    display   TEXT NOT NULL,
    onset_ms  INTEGER,
    UNIQUE (pseudonym, source)
);

CREATE TABLE IF NOT EXISTS genotypes (
    pseudonym TEXT NOT NULL REFERENCES patients (pseudonym),
    gene      TEXT NOT NULL,
    diplotype TEXT NOT NULL,
    PRIMARY KEY (pseudonym, gene)
);

CREATE TABLE IF NOT EXISTS read_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    access_id  INTEGER NOT NULL,
    pseudonym  TEXT NOT NULL,
    categories INTEGER NOT NULL,
    at_ms      INTEGER NOT NULL,
    rows_read  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS read_log_access ON read_log (access_id);
CREATE INDEX IF NOT EXISTS read_log_pseudonym ON read_log (pseudonym);

CREATE TRIGGER IF NOT EXISTS read_log_no_update BEFORE UPDATE ON read_log
BEGIN SELECT RAISE(ABORT, 'read_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS read_log_no_delete BEFORE DELETE ON read_log
BEGIN SELECT RAISE(ABORT, 'read_log is append-only'); END;
"#;
