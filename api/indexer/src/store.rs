//! The SQL store: opening (SQLite or PostgreSQL through `sqlx::Any`) and the one write path.
//!
//! A block is written with [`Store::write_block`] in a single transaction together with its
//! `blocks` progress row, and only directly after the last indexed block. A crash therefore
//! leaves either the whole block or nothing, never a gap, and replaying a block fails on the
//! progress row's primary key instead of duplicating its events.

use crate::model::{AccessRow, ConsentRow, EventRow};
use crate::schema;
use anyhow::Context;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

/// Applies the migrations of [`schema::migrations`] not yet recorded in `migrations`, each in one
/// transaction with its record (two indexers opening one database at once: the second's insert
/// fails on the primary key and its transaction rolls back).
async fn migrate(pool: &AnyPool) -> anyhow::Result<()> {
    sqlx::query(schema::MIGRATIONS_TABLE).execute(pool).await?;
    for (name, statements) in schema::migrations() {
        let done = sqlx::query("SELECT name FROM migrations WHERE name = $1")
            .bind(name)
            .fetch_optional(pool)
            .await?
            .is_some();
        if done {
            continue;
        }
        let mut tx = pool.begin().await?;
        for stmt in &statements {
            sqlx::query(stmt)
                .execute(&mut *tx)
                .await
                .with_context(|| format!("migration {name}: {stmt}"))?;
        }
        sqlx::query("INSERT INTO migrations (name) VALUES ($1)")
            .bind(name)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("recording migration {name}"))?;
        tx.commit().await?;
        tracing::info!(migration = name, "applied");
    }
    Ok(())
}

/// The indexed database.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: AnyPool,
}

/// A change to an enrolment, from an Identity event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnrolmentChange {
    /// `Identity::Enrolled`.
    Enrolled {
        /// Hex pseudonym.
        pseudonym: String,
        /// Enrolling institution.
        institution: u32,
        /// Patient account (SS58).
        patient: String,
    },
    /// `Identity::Claimed`.
    Claimed {
        /// Hex pseudonym.
        pseudonym: String,
        /// The subject it now resolves to.
        subject: u64,
    },
    /// `Identity::Forgotten`: every enrolment of the subject, and every unclaimed one addressed to
    /// its account, is marked erased.
    Forgotten {
        /// The forgotten subject.
        subject: u64,
    },
}

/// Everything one finalized block adds or changes. Access and consent rows are upserted: a row
/// already present keeps its creation block and gets the new mutable fields (state, result,
/// uses, status...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockWrite {
    /// Block number.
    pub number: u32,
    /// Block hash (hex, no `0x`).
    pub hash: String,
    /// The block's Identity/Consent/Audit events.
    pub events: Vec<EventRow>,
    /// Access records created or changed in the block, as of its end.
    pub access: Vec<AccessRow>,
    /// Consents created or changed in the block, as of its end.
    pub consents: Vec<ConsentRow>,
    /// Enrolment changes, in event order.
    pub enrolments: Vec<EnrolmentChange>,
}

impl Store {
    /// Opens (creating if needed) the database at `url`: `sqlite://path?mode=rwc`,
    /// `sqlite::memory:` or `postgres://user@host:port/db`, and creates the schema.
    pub async fn open(url: &str) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        // Each connection to an in-memory SQLite database is a separate database: keep one.
        let memory = sqlite && (url.contains(":memory:") || url.contains("mode=memory"));
        let pool = AnyPoolOptions::new()
            .max_connections(if memory { 1 } else { 8 })
            // An in-memory database disappears with its last connection.
            .idle_timeout(if memory {
                None
            } else {
                Some(std::time::Duration::from_secs(600))
            })
            .max_lifetime(if memory {
                None
            } else {
                Some(std::time::Duration::from_secs(1800))
            })
            .connect(url)
            .await
            .with_context(|| format!("opening database {}", redact(url)))?;
        if sqlite && !memory {
            // Readers (the HTTP API) do not block the indexer's writes.
            sqlx::query("PRAGMA journal_mode=WAL")
                .execute(&pool)
                .await?;
        }
        for stmt in schema::STATEMENTS {
            sqlx::query(stmt)
                .execute(&pool)
                .await
                .with_context(|| format!("creating schema: {stmt}"))?;
        }
        migrate(&pool).await?;
        Ok(Store { pool })
    }

    /// Closes the pool (waits for connections to be returned).
    pub async fn close(&self) {
        self.pool.close().await
    }

    /// The last indexed block's number and hash, `None` before the first.
    pub async fn indexed_head(&self) -> anyhow::Result<Option<(u32, String)>> {
        let row = sqlx::query("SELECT number, hash FROM blocks ORDER BY number DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((to_u32(&r, "number")?, r.try_get("hash")?)))
            .transpose()
    }

    /// The hash stored for block `number`, if indexed.
    pub async fn block_hash(&self, number: u32) -> anyhow::Result<Option<String>> {
        Ok(sqlx::query("SELECT hash FROM blocks WHERE number = $1")
            .bind(i64::from(number))
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get("hash"))
            .transpose()?)
    }

    /// How many events are stored.
    pub async fn event_count(&self) -> anyhow::Result<u64> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM events")
            .fetch_one(&self.pool)
            .await?;
        to_u64(&r, "n")
    }

    /// How many blocks are indexed.
    pub async fn block_count(&self) -> anyhow::Result<u64> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM blocks")
            .fetch_one(&self.pool)
            .await?;
        to_u64(&r, "n")
    }

    /// Writes one block, atomically, right after the last indexed one (or as the first block).
    /// Fails, writing nothing, if `w.number` does not follow the indexed head.
    pub async fn write_block(&self, w: &BlockWrite) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        let head: Option<i64> = sqlx::query("SELECT MAX(number) AS n FROM blocks")
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if let Some(head) = head {
            anyhow::ensure!(
                i64::from(w.number) == head + 1,
                "block {} does not follow the indexed head {head}",
                w.number
            );
        }
        sqlx::query("INSERT INTO blocks (number, hash, event_count) VALUES ($1, $2, $3)")
            .bind(i64::from(w.number))
            .bind(&w.hash)
            .bind(w.events.len() as i64)
            .execute(&mut *tx)
            .await?;
        for e in &w.events {
            sqlx::query(
                "INSERT INTO events (block_number, block_hash, extrinsic_index, event_index, \
                 pallet, variant, json) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(i64::from(e.block_number))
            .bind(&e.block_hash)
            .bind(e.extrinsic_index.map(i64::from))
            .bind(i64::from(e.event_index))
            .bind(&e.pallet)
            .bind(&e.variant)
            .bind(e.json.to_string())
            .execute(&mut *tx)
            .await?;
        }
        let counts = count_changes(&mut tx, &w.access).await?;
        for a in &w.access {
            upsert_access(&mut tx, a).await?;
        }
        for (institution, delta) in counts {
            add_counts(&mut tx, institution, delta).await?;
        }
        for c in &w.consents {
            upsert_consent(&mut tx, c).await?;
        }
        for change in &w.enrolments {
            apply_enrolment(&mut tx, w.number, change).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

/// What one record adds to its institution's counts in `state`: total, granted, denied,
/// completed, failed, aborted, emergency (a break-the-glass request that was not denied, as the
/// chain counts it: `query.rs`'s `COUNT_COLUMNS`).
fn counted(state: &str, emergency: bool) -> [i64; 7] {
    let is = |s: &str| i64::from(state == s);
    [
        1,
        is("granted"),
        is("denied"),
        is("completed"),
        is("failed"),
        is("aborted"),
        i64::from(emergency && state != "denied"),
    ]
}

/// How a block's access rows change `institution_counts`, by institution: each row's counts in
/// its new state less those of the state stored before (nothing for a new record). A record
/// written twice in one block (requested and closed in it) moves from its first to its last
/// state. Ids above the highest stored one are new (the chain numbers records in order), so only
/// the others are looked up.
async fn count_changes(
    tx: &mut Tx<'_>,
    rows: &[AccessRow],
) -> anyhow::Result<std::collections::BTreeMap<u32, [i64; 7]>> {
    let highest: Option<i64> = sqlx::query("SELECT MAX(id) AS n FROM access_records")
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
    let mut known: std::collections::HashMap<u64, (String, bool)> = Default::default();
    let mut changes = std::collections::BTreeMap::<u32, [i64; 7]>::new();
    for a in rows {
        let before = match known.get(&a.id) {
            Some(k) => Some(k.clone()),
            None if highest.is_some_and(|h| a.id as i64 <= h) => {
                sqlx::query("SELECT state, emergency FROM access_records WHERE id = $1")
                    .bind(a.id as i64)
                    .fetch_optional(&mut **tx)
                    .await?
                    .map(|r| -> anyhow::Result<(String, bool)> {
                        let emergency: Option<String> = r.try_get("emergency")?;
                        Ok((r.try_get("state")?, emergency.is_some()))
                    })
                    .transpose()?
            }
            None => None,
        };
        let delta = changes.entry(a.institution).or_default();
        if let Some((state, emergency)) = &before {
            for (d, c) in delta.iter_mut().zip(counted(state, *emergency)) {
                *d -= c;
            }
        }
        let after = (a.state.clone(), a.emergency.is_some());
        for (d, c) in delta.iter_mut().zip(counted(&after.0, after.1)) {
            *d += c;
        }
        known.insert(a.id, after);
    }
    Ok(changes)
}

/// Adds `delta` ([`counted`]'s order) to an institution's counts.
async fn add_counts(tx: &mut Tx<'_>, institution: u32, delta: [i64; 7]) -> anyhow::Result<()> {
    let mut q = sqlx::query(
        "INSERT INTO institution_counts (institution, total, granted, denied, completed, failed, \
         aborted, emergency) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (institution) DO UPDATE SET \
         total = institution_counts.total + excluded.total, \
         granted = institution_counts.granted + excluded.granted, \
         denied = institution_counts.denied + excluded.denied, \
         completed = institution_counts.completed + excluded.completed, \
         failed = institution_counts.failed + excluded.failed, \
         aborted = institution_counts.aborted + excluded.aborted, \
         emergency = institution_counts.emergency + excluded.emergency",
    )
    .bind(i64::from(institution));
    for d in delta {
        q = q.bind(d);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

async fn upsert_access(tx: &mut Tx<'_>, a: &AccessRow) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO access_records (id, institution, requested_by, pseudonym, subject, purpose, \
         categories, job_digest, consents, emergency, state, deny_reason, result_digest, \
         requested_at_ms, closed_at_ms, block_number, block_hash, extrinsic_index, \
         closed_block_number, closed_block_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) \
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, \
         deny_reason = excluded.deny_reason, result_digest = excluded.result_digest, \
         closed_at_ms = excluded.closed_at_ms, \
         closed_block_number = COALESCE(excluded.closed_block_number, access_records.closed_block_number), \
         closed_block_hash = COALESCE(excluded.closed_block_hash, access_records.closed_block_hash)",
    )
    .bind(a.id as i64)
    .bind(i64::from(a.institution))
    .bind(&a.requested_by)
    .bind(&a.pseudonym)
    .bind(a.subject.map(|s| s as i64))
    .bind(&a.purpose)
    .bind(serde_json::to_string(&a.categories)?)
    .bind(&a.job_digest)
    .bind(serde_json::to_string(&a.consents)?)
    .bind(a.emergency.clone())
    .bind(&a.state)
    .bind(a.deny_reason.clone())
    .bind(a.result_digest.clone())
    .bind(a.requested_at_ms as i64)
    .bind(a.closed_at_ms.map(|v| v as i64))
    .bind(i64::from(a.block_number))
    .bind(&a.block_hash)
    .bind(a.extrinsic_index.map(i64::from))
    .bind(a.closed_block_number.map(i64::from))
    .bind(a.closed_block_hash.clone())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn upsert_consent(tx: &mut Tx<'_>, c: &ConsentRow) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO consents (id, subject, grantee, purposes, categories, valid_from_ms, \
         valid_until_ms, max_uses, uses, status, status_at_ms, granted_by, granted_at_ms, \
         block_number, block_hash, extrinsic_index, updated_block_number) VALUES ($1, $2, $3, \
         $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
         ON CONFLICT (id) DO UPDATE SET purposes = excluded.purposes, \
         categories = excluded.categories, valid_from_ms = excluded.valid_from_ms, \
         valid_until_ms = excluded.valid_until_ms, max_uses = excluded.max_uses, \
         uses = excluded.uses, status = excluded.status, status_at_ms = excluded.status_at_ms, \
         updated_block_number = excluded.updated_block_number",
    )
    .bind(c.id as i64)
    .bind(c.subject as i64)
    .bind(serde_json::to_string(&c.grantee)?)
    .bind(serde_json::to_string(&c.purposes)?)
    .bind(serde_json::to_string(&c.categories)?)
    .bind(c.valid_from_ms as i64)
    .bind(c.valid_until_ms.map(|v| v as i64))
    .bind(c.max_uses.map(i64::from))
    .bind(i64::from(c.uses))
    .bind(&c.status)
    .bind(c.status_at_ms.map(|v| v as i64))
    .bind(&c.granted_by)
    .bind(c.granted_at_ms as i64)
    .bind(i64::from(c.block_number))
    .bind(&c.block_hash)
    .bind(c.extrinsic_index.map(i64::from))
    .bind(i64::from(c.updated_block_number))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn apply_enrolment(tx: &mut Tx<'_>, block: u32, c: &EnrolmentChange) -> anyhow::Result<()> {
    let block = i64::from(block);
    let q = match c {
        EnrolmentChange::Enrolled {
            pseudonym,
            institution,
            patient,
        } => sqlx::query(
            "INSERT INTO enrolments (pseudonym, institution, patient, block_number) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (pseudonym) DO UPDATE SET \
             institution = excluded.institution, patient = excluded.patient, \
             block_number = excluded.block_number, subject = NULL, \
             claimed_block_number = NULL, erased_block_number = NULL",
        )
        .bind(pseudonym.clone())
        .bind(i64::from(*institution))
        .bind(patient.clone())
        .bind(block),
        EnrolmentChange::Claimed { pseudonym, subject } => sqlx::query(
            "UPDATE enrolments SET subject = $1, claimed_block_number = $2 WHERE pseudonym = $3",
        )
        .bind(*subject as i64)
        .bind(block)
        .bind(pseudonym.clone()),
        // The subject's enrolments, and those addressed to its account that it never claimed
        // (the chain's `forget` erases both).
        EnrolmentChange::Forgotten { subject } => sqlx::query(
            "UPDATE enrolments SET erased_block_number = $1 WHERE erased_block_number IS NULL \
             AND (subject = $2 OR (subject IS NULL AND patient IN \
             (SELECT patient FROM enrolments WHERE subject = $2)))",
        )
        .bind(block)
        .bind(*subject as i64),
    };
    q.execute(&mut **tx).await?;
    Ok(())
}

/// A URL without its password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub(crate) fn to_u64(r: &AnyRow, col: &str) -> anyhow::Result<u64> {
    let v: i64 = r.try_get(col)?;
    u64::try_from(v).with_context(|| format!("negative {col}"))
}

pub(crate) fn to_u32(r: &AnyRow, col: &str) -> anyhow::Result<u32> {
    let v: i64 = r.try_get(col)?;
    u32::try_from(v).with_context(|| format!("{col} out of range"))
}

pub(crate) fn opt_u64(r: &AnyRow, col: &str) -> anyhow::Result<Option<u64>> {
    let v: Option<i64> = r.try_get(col)?;
    v.map(|v| u64::try_from(v).with_context(|| format!("negative {col}")))
        .transpose()
}

pub(crate) fn opt_u32(r: &AnyRow, col: &str) -> anyhow::Result<Option<u32>> {
    let v: Option<i64> = r.try_get(col)?;
    v.map(|v| u32::try_from(v).with_context(|| format!("{col} out of range")))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redact("postgres://u:secret@localhost:5432/db"),
            "postgres://u:***@localhost:5432/db"
        );
        assert_eq!(redact("sqlite::memory:"), "sqlite::memory:");
    }
}
