//! Read queries for the HTTP API: filtered, keyset-paginated and typed.
//!
//! Pages are newest first and continue with `id < cursor`, where the cursor is an opaque token for
//! the last id returned. Ids only grow and rows are never deleted, so a page sequence has neither
//! overlaps nor gaps even while the indexer appends.

use crate::model::{
    purpose_name, AccessRow, ConsentRow, Counts, EnrolmentRow, EventRow, InstitutionSummary, Page,
    STATES,
};
use crate::store::{opt_u32, opt_u64, to_u32, to_u64, Store};
use consentry_primitives::Purpose;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

/// The most items one page may hold.
pub const MAX_LIMIT: u32 = 1000;

/// A query error. `BadField` is the caller's fault (HTTP 400); `Database` is ours (HTTP 500).
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// An input field is invalid.
    #[error("invalid {field}: {reason}")]
    BadField {
        /// The field's name as the API spells it.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The database failed or holds something unreadable.
    #[error("database error: {0}")]
    Database(#[from] anyhow::Error),
}

impl From<sqlx::Error> for QueryError {
    fn from(e: sqlx::Error) -> Self {
        QueryError::Database(e.into())
    }
}

fn bad(field: &'static str, reason: impl Into<String>) -> QueryError {
    QueryError::BadField {
        field,
        reason: reason.into(),
    }
}

/// Filters for [`Store::access_records`]; every field is optional and they combine with AND.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessFilter {
    /// Pseudonym, 64 hex digits (`0x` prefix and upper case accepted).
    pub pseudonym: Option<String>,
    /// Subject id.
    pub subject: Option<u64>,
    /// Institution id.
    pub institution: Option<u32>,
    /// Purpose name, canonical (`federated_training`); another spelling is refused naming it.
    pub purpose: Option<String>,
    /// `granted`, `denied`, `completed`, `failed`, `aborted`, or `emergency` (granted
    /// break-the-glass records, whatever their state since, as the chain counts them).
    pub state: Option<String>,
    /// Requested at or after (ms).
    pub from_ms: Option<u64>,
    /// Requested before (ms, exclusive).
    pub to_ms: Option<u64>,
}

/// Normalizes a 32-byte hex value (`field` names it in the error).
pub fn parse_hex32(field: &'static str, s: &str) -> Result<String, QueryError> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    if s.len() != 64 {
        return Err(bad(
            field,
            format!("expected 64 hex digits, got {}", s.len()),
        ));
    }
    if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(field, "not hexadecimal"));
    }
    Ok(s.to_ascii_lowercase())
}

/// The opaque cursor for a page that ended at `id` (an id the store holds, so below 2^63).
pub fn encode_cursor(id: u64) -> String {
    format!("c{id:016x}")
}

/// The id a cursor stands for.
/// The id a cursor stands for. A cursor is `c` and 16 lower-case hex digits of an id below
/// 2^63 (ids are stored as signed 64-bit integers): [`CURSOR_PATTERN`].
pub fn decode_cursor(cursor: &str) -> Result<u64, QueryError> {
    cursor
        .strip_prefix('c')
        .filter(|h| h.len() == 16 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .filter(|id| i64::try_from(*id).is_ok())
        .ok_or_else(|| bad("cursor", "not a cursor returned by this API"))
}

/// The shape of every cursor [`decode_cursor`] accepts, as a regular expression.
pub const CURSOR_PATTERN: &str = "^c[0-7][0-9a-f]{15}$";

fn check_limit(limit: u32) -> Result<i64, QueryError> {
    if limit == 0 || limit > MAX_LIMIT {
        return Err(bad("limit", format!("must be 1..={MAX_LIMIT}")));
    }
    Ok(i64::from(limit))
}

fn to_i64(field: &'static str, v: u64) -> Result<i64, QueryError> {
    i64::try_from(v).map_err(|_| bad(field, "too large"))
}

/// A WHERE clause built with `$n` placeholders (the syntax both backends accept via `Any`).
#[derive(Default)]
struct Where {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

enum Arg {
    Int(i64),
    Text(String),
}

impl Where {
    /// Adds `template` with every `?` replaced by the next placeholder (one argument, used as
    /// often as `?` appears).
    fn push(&mut self, template: &str, arg: Arg) {
        self.args.push(arg);
        self.clauses
            .push(template.replace('?', &format!("${}", self.args.len())));
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    fn next_placeholder(&self) -> String {
        format!("${}", self.args.len() + 1)
    }

    fn query<'q>(
        &self,
        sql: &'q str,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let mut q = sqlx::query(sql);
        for a in &self.args {
            q = match a {
                Arg::Int(v) => q.bind(*v),
                Arg::Text(s) => q.bind(s.clone()),
            };
        }
        q
    }
}

const ACCESS_COLUMNS: &str = "id, institution, requested_by, pseudonym, subject, purpose, \
    categories, job_digest, consents, emergency, state, deny_reason, result_digest, \
    requested_at_ms, closed_at_ms, block_number, block_hash, extrinsic_index, \
    closed_block_number, closed_block_hash";

const CONSENT_COLUMNS: &str = "id, subject, grantee, purposes, categories, valid_from_ms, \
    valid_until_ms, max_uses, uses, status, status_at_ms, granted_by, granted_at_ms, \
    block_number, block_hash, extrinsic_index, updated_block_number";

fn json_col<T: serde::de::DeserializeOwned>(r: &AnyRow, col: &str) -> anyhow::Result<T> {
    let s: String = r.try_get(col)?;
    Ok(serde_json::from_str(&s)?)
}

fn access_row(r: &AnyRow) -> anyhow::Result<AccessRow> {
    Ok(AccessRow {
        id: to_u64(r, "id")?,
        institution: to_u32(r, "institution")?,
        requested_by: r.try_get("requested_by")?,
        pseudonym: r.try_get("pseudonym")?,
        subject: opt_u64(r, "subject")?,
        purpose: r.try_get("purpose")?,
        categories: json_col(r, "categories")?,
        job_digest: r.try_get("job_digest")?,
        consents: json_col(r, "consents")?,
        emergency: r.try_get("emergency")?,
        state: r.try_get("state")?,
        deny_reason: r.try_get("deny_reason")?,
        result_digest: r.try_get("result_digest")?,
        requested_at_ms: to_u64(r, "requested_at_ms")?,
        closed_at_ms: opt_u64(r, "closed_at_ms")?,
        block_number: to_u32(r, "block_number")?,
        block_hash: r.try_get("block_hash")?,
        extrinsic_index: opt_u32(r, "extrinsic_index")?,
        closed_block_number: opt_u32(r, "closed_block_number")?,
        closed_block_hash: r.try_get("closed_block_hash")?,
    })
}

fn consent_row(r: &AnyRow) -> anyhow::Result<ConsentRow> {
    Ok(ConsentRow {
        id: to_u64(r, "id")?,
        subject: to_u64(r, "subject")?,
        grantee: json_col(r, "grantee")?,
        purposes: json_col(r, "purposes")?,
        categories: json_col(r, "categories")?,
        valid_from_ms: to_u64(r, "valid_from_ms")?,
        valid_until_ms: opt_u64(r, "valid_until_ms")?,
        max_uses: opt_u32(r, "max_uses")?,
        uses: to_u32(r, "uses")?,
        status: r.try_get("status")?,
        status_at_ms: opt_u64(r, "status_at_ms")?,
        granted_by: r.try_get("granted_by")?,
        granted_at_ms: to_u64(r, "granted_at_ms")?,
        block_number: to_u32(r, "block_number")?,
        block_hash: r.try_get("block_hash")?,
        extrinsic_index: opt_u32(r, "extrinsic_index")?,
        updated_block_number: to_u32(r, "updated_block_number")?,
    })
}

/// Builds the page from `limit + 1` fetched rows.
fn page<T>(mut items: Vec<T>, limit: i64, id: impl Fn(&T) -> u64) -> Page<T> {
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let next_cursor = if more {
        items.last().map(|t| encode_cursor(id(t)))
    } else {
        None
    };
    Page { items, next_cursor }
}

impl Store {
    /// Access records matching `filter`, newest first, `limit` (1..=1000) per page.
    pub async fn access_records(
        &self,
        filter: &AccessFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<AccessRow>, QueryError> {
        let limit = check_limit(limit)?;
        let mut w = Where::default();
        if let Some(p) = &filter.pseudonym {
            w.push("pseudonym = ?", Arg::Text(parse_hex32("pseudonym", p)?));
        }
        // Ids and times are stored as signed 64-bit integers: a larger filter value is valid and
        // matches what it would match were the rows there (no subject, nothing that late).
        // A patient's records include those made before the pseudonym was claimed (and an
        // emergency attempt after erasure): the chain stored them with no subject, under the
        // pseudonym that subject claimed.
        if let Some(s) = filter.subject {
            match i64::try_from(s) {
                Ok(s) => w.push(
                    "(subject = ? OR (subject IS NULL AND pseudonym IN \
                     (SELECT pseudonym FROM enrolments WHERE subject = ?)))",
                    Arg::Int(s),
                ),
                Err(_) => w.clauses.push(NOTHING.into()),
            }
        }
        if let Some(i) = filter.institution {
            w.push("institution = ?", Arg::Int(i64::from(i)));
        }
        if let Some(p) = &filter.purpose {
            let p = Purpose::from_name(p).map_err(|e| bad("purpose", e.to_string()))?;
            w.push("purpose = ?", Arg::Text(purpose_name(p)));
        }
        if let Some(s) = &filter.state {
            if s == "emergency" {
                w.clauses.push(EMERGENCY.into());
            } else if STATES.contains(&s.as_str()) {
                w.push("state = ?", Arg::Text(s.clone()));
            } else {
                return Err(bad(
                    "state",
                    format!("expected one of {}, emergency", STATES.join(", ")),
                ));
            }
        }
        if let Some(f) = filter.from_ms {
            match i64::try_from(f) {
                Ok(f) => w.push("requested_at_ms >= ?", Arg::Int(f)),
                Err(_) => w.clauses.push(NOTHING.into()),
            }
        }
        if let Some(t) = filter.to_ms.and_then(|t| i64::try_from(t).ok()) {
            w.push("requested_at_ms < ?", Arg::Int(t));
        }
        if let Some(c) = cursor {
            w.push("id < ?", Arg::Int(to_i64("cursor", decode_cursor(c)?)?));
        }
        let sql = format!(
            "SELECT {ACCESS_COLUMNS} FROM access_records{} ORDER BY id DESC LIMIT {}",
            w.sql(),
            w.next_placeholder()
        );
        let rows = w.query(&sql).bind(limit + 1).fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(access_row)
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(page(items, limit, |a| a.id))
    }

    /// One access record.
    pub async fn access_record(&self, id: u64) -> Result<Option<AccessRow>, QueryError> {
        // Stored ids are signed 64-bit integers: a larger one names no record.
        let Ok(id) = i64::try_from(id) else {
            return Ok(None);
        };
        let sql = format!("SELECT {ACCESS_COLUMNS} FROM access_records WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(access_row).transpose()?)
    }

    /// Consents, of one subject or of all, newest first.
    pub async fn consents(
        &self,
        subject: Option<u64>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<ConsentRow>, QueryError> {
        let limit = check_limit(limit)?;
        let mut w = Where::default();
        if let Some(s) = subject {
            match i64::try_from(s) {
                Ok(s) => w.push("subject = ?", Arg::Int(s)),
                Err(_) => w.clauses.push(NOTHING.into()),
            }
        }
        if let Some(c) = cursor {
            w.push("id < ?", Arg::Int(to_i64("cursor", decode_cursor(c)?)?));
        }
        let sql = format!(
            "SELECT {CONSENT_COLUMNS} FROM consents{} ORDER BY id DESC LIMIT {}",
            w.sql(),
            w.next_placeholder()
        );
        let rows = w.query(&sql).bind(limit + 1).fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(consent_row)
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(page(items, limit, |c| c.id))
    }

    /// One consent.
    pub async fn consent(&self, id: u64) -> Result<Option<ConsentRow>, QueryError> {
        let Ok(id) = i64::try_from(id) else {
            return Ok(None);
        };
        let sql = format!("SELECT {CONSENT_COLUMNS} FROM consents WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(consent_row).transpose()?)
    }

    /// The enrolment of a pseudonym.
    pub async fn enrolment(&self, pseudonym: &str) -> Result<Option<EnrolmentRow>, QueryError> {
        let p = parse_hex32("pseudonym", pseudonym)?;
        let row = sqlx::query(
            "SELECT pseudonym, institution, patient, subject, block_number, \
             claimed_block_number, erased_block_number FROM enrolments WHERE pseudonym = $1",
        )
        .bind(p)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(EnrolmentRow {
            pseudonym: r.try_get("pseudonym")?,
            institution: to_u32(&r, "institution")?,
            patient: r.try_get("patient")?,
            subject: opt_u64(&r, "subject")?,
            block_number: to_u32(&r, "block_number")?,
            claimed_block_number: opt_u32(&r, "claimed_block_number")?,
            erased_block_number: opt_u32(&r, "erased_block_number")?,
        }))
    }

    /// The stored events of one block, in order.
    pub async fn events_of_block(&self, number: u32) -> Result<Vec<EventRow>, QueryError> {
        let rows = sqlx::query(
            "SELECT block_number, block_hash, extrinsic_index, event_index, pallet, variant, json \
             FROM events WHERE block_number = $1 ORDER BY event_index",
        )
        .bind(i64::from(number))
        .fetch_all(&self.pool)
        .await?;
        let rows = rows
            .iter()
            .map(|r| {
                Ok(EventRow {
                    block_number: to_u32(r, "block_number")?,
                    block_hash: r.try_get("block_hash")?,
                    extrinsic_index: opt_u32(r, "extrinsic_index")?,
                    event_index: to_u32(r, "event_index")?,
                    pallet: r.try_get("pallet")?,
                    variant: r.try_get("variant")?,
                    json: json_col(r, "json")?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Counts over all access records.
    pub async fn counts(&self) -> Result<Counts, QueryError> {
        let sql = format!("SELECT {COUNT_COLUMNS} FROM access_records");
        let r = sqlx::query(&sql).fetch_one(&self.pool).await?;
        Ok(counts_of(&r)?)
    }

    /// Counts per institution, by institution id, as of the indexed head: the counts
    /// `write_block` keeps in the same transaction as the records (a scan of every record took
    /// about a second at 100,000 on SQLite, and auditors' dashboards poll this).
    pub async fn institution_summaries(&self) -> Result<Vec<InstitutionSummary>, QueryError> {
        let rows = sqlx::query(
            "SELECT institution, total, granted, denied, completed, failed, aborted, emergency \
             FROM institution_counts WHERE total > 0 ORDER BY institution",
        )
        .fetch_all(&self.pool)
        .await?;
        let rows = rows
            .iter()
            .map(|r| {
                Ok(InstitutionSummary {
                    institution: to_u32(r, "institution")?,
                    counts: counts_of(r)?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

// COUNT(CASE ...) is BIGINT on both backends (SUM would be NUMERIC on PostgreSQL).
pub(crate) const COUNT_COLUMNS: &str = "COUNT(*) AS total, \
    COUNT(CASE WHEN state = 'granted' THEN 1 END) AS granted, \
    COUNT(CASE WHEN state = 'denied' THEN 1 END) AS denied, \
    COUNT(CASE WHEN state = 'completed' THEN 1 END) AS completed, \
    COUNT(CASE WHEN state = 'failed' THEN 1 END) AS failed, \
    COUNT(CASE WHEN state = 'aborted' THEN 1 END) AS aborted, \
    COUNT(CASE WHEN emergency IS NOT NULL AND state <> 'denied' THEN 1 END) AS emergency";

/// A clause no row satisfies.
const NOTHING: &str = "1 = 0";

/// Break-the-glass records the chain counts as emergencies: those that were granted (a refused
/// emergency request is a denial), whatever their state since.
const EMERGENCY: &str = "(emergency IS NOT NULL AND state <> 'denied')";

fn counts_of(r: &AnyRow) -> anyhow::Result<Counts> {
    Ok(Counts {
        total: to_u64(r, "total")?,
        granted: to_u64(r, "granted")?,
        denied: to_u64(r, "denied")?,
        completed: to_u64(r, "completed")?,
        failed: to_u64(r, "failed")?,
        aborted: to_u64(r, "aborted")?,
        emergency: to_u64(r, "emergency")?,
    })
}
