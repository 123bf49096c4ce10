//! The ledger's history as the indexer stored it: access records and consents, filtered, paged
//! and exported, each scoped to what the session's role may see.

use crate::{
    auth::{Identity, Session},
    error::{
        extract::{Path, Query},
        ApiError, Problem,
    },
    AppState,
};
use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use consentry_indexer::{
    export, query::MAX_LIMIT, AccessFilter, AccessRow, ConsentRow, Counts, InstitutionSummary,
    Page, QueryError,
};
use consentry_primitives::{InstitutionId, SubjectId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Items per page unless the caller asks otherwise.
const DEFAULT_LIMIT: u32 = 100;
/// The most rows one export may hold; narrower filters or paging get the rest.
pub const MAX_EXPORT: usize = 10_000;

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::BadField { field, reason } => ApiError::field(field, reason),
            QueryError::Database(e) => ApiError::internal(format!("database: {e:#}")),
        }
    }
}

/// Whether `identity` may see a record of `institution` about `subject`.
pub fn may_see(
    identity: &Identity,
    institution: InstitutionId,
    subject: Option<SubjectId>,
) -> bool {
    match identity {
        Identity::Auditor { .. } => true,
        Identity::Institution { institution: own } => *own == institution,
        Identity::Patient { subject: own } => subject == Some(*own),
    }
}

/// Whose record it is, for [`may_see`]: its subject, or, for a record the chain stored with
/// none (made before the pseudonym was claimed, or an emergency attempt after erasure), the
/// subject that claimed its pseudonym, as the indexer's enrolments show.
pub async fn owner(
    store: &consentry_indexer::Store,
    subject: Option<SubjectId>,
    pseudonym: &str,
) -> Result<Option<SubjectId>, ApiError> {
    if subject.is_some() {
        return Ok(subject);
    }
    Ok(store.enrolment(pseudonym).await?.and_then(|e| e.subject))
}

/// Filters and paging for access records.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccessQuery {
    /// Patient pseudonym: 64 hex digits, optionally `0x`-prefixed.
    #[param(pattern = r"^(0x)?[0-9a-fA-F]{64}$")]
    pub pseudonym: Option<String>,
    /// Patient subject id.
    #[param(minimum = 0, maximum = 18446744073709551615_u64)]
    pub subject: Option<u64>,
    /// Institution id.
    #[param(minimum = 0, maximum = 4294967295_i64)]
    pub institution: Option<u32>,
    /// Purpose, by its canonical name, e.g. `federated_training`.
    #[param(schema_with = crate::openapi::purpose_schema)]
    pub purpose: Option<String>,
    /// `granted`, `denied`, `emergency`, `completed`, `failed` or `aborted`.
    #[param(schema_with = crate::openapi::state_schema)]
    pub state: Option<String>,
    /// Requested at or after, ms since the Unix epoch.
    #[param(minimum = 0, maximum = 18446744073709551615_u64)]
    pub from_ms: Option<u64>,
    /// Requested before, ms since the Unix epoch (a range that ends before it starts matches
    /// nothing).
    #[param(minimum = 0, maximum = 18446744073709551615_u64)]
    pub to_ms: Option<u64>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^c[0-7][0-9a-f]{15}$")]
    pub cursor: Option<String>,
    /// Page size, 1..=1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Filters of an access export, which holds every match (at most 10,000).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccessExportQuery {
    /// Patient pseudonym: 64 hex digits, optionally `0x`-prefixed.
    #[param(pattern = r"^(0x)?[0-9a-fA-F]{64}$")]
    pub pseudonym: Option<String>,
    /// Patient subject id.
    #[param(minimum = 0, maximum = 18446744073709551615_u64)]
    pub subject: Option<u64>,
    /// Institution id.
    #[param(minimum = 0, maximum = 4294967295_i64)]
    pub institution: Option<u32>,
    /// Purpose, by its canonical name, e.g. `federated_training`.
    #[param(schema_with = crate::openapi::purpose_schema)]
    pub purpose: Option<String>,
    /// `granted`, `denied`, `emergency`, `completed`, `failed` or `aborted`.
    #[param(schema_with = crate::openapi::state_schema)]
    pub state: Option<String>,
    /// Requested at or after, ms since the Unix epoch.
    #[param(minimum = 0, maximum = 18446744073709551615_u64)]
    pub from_ms: Option<u64>,
    /// Requested before, ms since the Unix epoch.
    #[param(minimum = 0, maximum = 18446744073709551615_u64)]
    pub to_ms: Option<u64>,
    /// `json` (default), `csv` or `fhir` (a FHIR R4 Bundle of AuditEvent resources).
    #[param(schema_with = crate::openapi::access_format_schema)]
    pub format: Option<String>,
}

impl AccessExportQuery {
    fn filters(&self) -> AccessQuery {
        AccessQuery {
            pseudonym: self.pseudonym.clone(),
            subject: self.subject,
            institution: self.institution,
            purpose: self.purpose.clone(),
            state: self.state.clone(),
            from_ms: self.from_ms,
            to_ms: self.to_ms,
            cursor: None,
            limit: None,
        }
    }
}

impl AccessQuery {
    /// The filter this session may run: patients and institutions are pinned to themselves, and
    /// asking explicitly for someone else is refused rather than silently narrowed.
    fn scoped(&self, session: &Session) -> Result<AccessFilter, ApiError> {
        let mut f = AccessFilter {
            pseudonym: self.pseudonym.clone(),
            subject: self.subject,
            institution: self.institution,
            purpose: self.purpose.clone(),
            state: self.state.clone(),
            from_ms: self.from_ms,
            to_ms: self.to_ms,
        };
        match session.identity {
            Identity::Auditor { .. } => {}
            Identity::Institution { institution } => {
                if f.institution.is_some_and(|i| i != institution) {
                    return Err(ApiError::Forbidden(format!(
                        "institution {institution} may only read its own accesses"
                    )));
                }
                f.institution = Some(institution);
            }
            Identity::Patient { subject } => {
                if f.subject.is_some_and(|s| s != subject) {
                    return Err(ApiError::Forbidden(
                        "patients may only read accesses to their own data".into(),
                    ));
                }
                f.subject = Some(subject);
            }
        }
        Ok(f)
    }
}

/// A page of access records.
#[derive(Serialize, ToSchema)]
pub struct AccessPage {
    /// Newest first.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<AccessRow>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

impl From<Page<AccessRow>> for AccessPage {
    fn from(p: Page<AccessRow>) -> Self {
        AccessPage {
            items: p.items,
            next_cursor: p.next_cursor,
        }
    }
}

/// Access records (granted, denied, emergency, closed), newest first, scoped to the caller.
#[utoipa::path(get, path = "/v1/access", tag = "audit", params(AccessQuery),
    security(("bearer" = [])),
    responses((status = 200, body = AccessPage), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn access_list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<AccessQuery>,
) -> Result<axum::Json<AccessPage>, ApiError> {
    let filter = q.scoped(&session)?;
    let page = state
        .store
        .access_records(
            &filter,
            q.cursor.as_deref(),
            q.limit.unwrap_or(DEFAULT_LIMIT),
        )
        .await?;
    Ok(axum::Json(page.into()))
}

/// One access record.
#[utoipa::path(get, path = "/v1/access/{id}", tag = "audit",
    params(("id" = u64, Path, description = "Access record id", minimum = 0,
        maximum = 18446744073709551615_u64)),
    security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn access_one(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<u64>,
) -> Result<axum::Json<AccessRow>, ApiError> {
    let row = state
        .store
        .access_record(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no indexed access record {id}")))?;
    let owner = owner(&state.store, row.subject, &row.pseudonym).await?;
    if !may_see(&session.identity, row.institution, owner) {
        return Err(ApiError::Forbidden(format!(
            "access record {id} is not yours to see"
        )));
    }
    Ok(axum::Json(row))
}

/// Consent listing parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsentQuery {
    /// Patient subject id (patients: their own, the default).
    #[param(minimum = 0, maximum = 18446744073709551615_u64)]
    pub subject: Option<u64>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^c[0-7][0-9a-f]{15}$")]
    pub cursor: Option<String>,
    /// Page size, 1..=1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Consent export parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsentExportQuery {
    /// Patient subject id (patients: their own, the default).
    #[param(minimum = 0, maximum = 18446744073709551615_u64)]
    pub subject: Option<u64>,
    /// `json` (default) or `fhir` (a FHIR R4 Bundle of Consent resources).
    #[param(schema_with = crate::openapi::consent_format_schema)]
    pub format: Option<String>,
}

/// A page of consents.
#[derive(Serialize, ToSchema)]
pub struct ConsentPage {
    /// Newest first.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<ConsentRow>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

fn consent_subject(session: &Session, asked: Option<u64>) -> Result<Option<u64>, ApiError> {
    match session.identity {
        Identity::Auditor { .. } => Ok(asked),
        Identity::Patient { subject } => match asked {
            Some(s) if s != subject => Err(ApiError::Forbidden(
                "patients may only read their own consents".into(),
            )),
            _ => Ok(Some(subject)),
        },
        Identity::Institution { .. } => Err(ApiError::Forbidden(
            "consents are read by their patients and by auditors; institutions learn the \
             decision through /v1/decision"
                .into(),
        )),
    }
}

/// Consents, newest first: a patient's own, or any for auditors.
#[utoipa::path(get, path = "/v1/consents", tag = "consent", params(ConsentQuery),
    security(("bearer" = [])),
    responses((status = 200, body = ConsentPage), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn consents(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ConsentQuery>,
) -> Result<axum::Json<ConsentPage>, ApiError> {
    let subject = consent_subject(&session, q.subject)?;
    let page = state
        .store
        .consents(
            subject,
            q.cursor.as_deref(),
            q.limit.unwrap_or(DEFAULT_LIMIT),
        )
        .await?;
    Ok(axum::Json(ConsentPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// Counts by state, overall and per institution.
#[derive(Serialize, ToSchema)]
pub struct Summary {
    /// Over every visible institution.
    #[schema(value_type = Object)]
    pub total: Counts,
    /// Per institution.
    #[schema(value_type = Vec<Object>)]
    pub institutions: Vec<InstitutionSummary>,
}

/// Access counts (granted, denied, emergency, closed) overall and per institution. Auditors see
/// every institution; an institution its own.
#[utoipa::path(get, path = "/v1/summary", tag = "audit", security(("bearer" = [])),
    responses((status = 200, body = Summary), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
pub async fn summary(
    State(state): State<AppState>,
    session: Session,
) -> Result<axum::Json<Summary>, ApiError> {
    let mut institutions = state.store.institution_summaries().await?;
    let total = match session.identity {
        Identity::Auditor { .. } => institutions.iter().map(|s| s.counts).sum(),
        Identity::Institution { institution } => {
            institutions.retain(|s| s.institution == institution);
            institutions.first().map(|s| s.counts).unwrap_or_default()
        }
        Identity::Patient { .. } => {
            return Err(ApiError::Forbidden(
                "summaries are for institutions and auditors; patients list their accesses at \
                 /v1/access"
                    .into(),
            ))
        }
    };
    Ok(axum::Json(Summary {
        total,
        institutions,
    }))
}

/// Follows a keyset-paged query to its last page, refusing exports over [`MAX_EXPORT`] items
/// (`narrow` tells the caller how to ask for less).
async fn all_pages<T, F, Fut>(mut page: F, narrow: &str) -> Result<Vec<T>, ApiError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, QueryError>>,
{
    let mut rows = Vec::new();
    let mut cursor = None;
    loop {
        let p = page(cursor).await?;
        rows.extend(p.items);
        if rows.len() > MAX_EXPORT {
            return Err(ApiError::BadRequest(format!(
                "more than {MAX_EXPORT} items match; {narrow}"
            )));
        }
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(rows),
        }
    }
}

/// Access records as JSON, CSV or a FHIR R4 `Bundle` of `AuditEvent`s (at most 10,000 rows).
#[utoipa::path(get, path = "/v1/export/access", tag = "audit", params(AccessExportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The records, as the `format` asks", content(
            (Vec<Object> = "application/json"),
            (String = "text/csv"),
            (Object = "application/fhir+json"))),
        (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
pub async fn export_access(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<AccessExportQuery>,
) -> Result<Response, ApiError> {
    let filter = q.filters().scoped(&session)?;
    let format = q.format.as_deref().unwrap_or("json");
    // Validate the format before doing the work.
    if !matches!(format, "json" | "csv" | "fhir") {
        return Err(ApiError::field("format", "expected json, csv or fhir"));
    }
    let rows = all_pages(
        |c| {
            let (store, filter) = (&state.store, &filter);
            async move { store.access_records(filter, c.as_deref(), MAX_LIMIT).await }
        },
        "narrow the filter (time range, institution, state)",
    )
    .await?;
    Ok(match format {
        "csv" => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            export::to_csv(&rows),
        )
            .into_response(),
        "fhir" => (
            [(header::CONTENT_TYPE, "application/fhir+json")],
            axum::Json(export::fhir_audit_bundle(&rows)),
        )
            .into_response(),
        _ => axum::Json(rows).into_response(),
    })
}

/// Consents as JSON or a FHIR R4 `Bundle` of `Consent` resources.
#[utoipa::path(get, path = "/v1/export/consents", tag = "consent", params(ConsentExportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The consents, as the `format` asks", content(
            (Vec<Object> = "application/json"),
            (Object = "application/fhir+json"))),
        (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
pub async fn export_consents(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ConsentExportQuery>,
) -> Result<Response, ApiError> {
    let subject = consent_subject(&session, q.subject)?;
    let format = q.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "fhir") {
        return Err(ApiError::field("format", "expected json or fhir"));
    }
    let rows = all_pages(
        |c| {
            let store = &state.store;
            async move { store.consents(subject, c.as_deref(), MAX_LIMIT).await }
        },
        "export per subject",
    )
    .await?;
    Ok(if format == "fhir" {
        let entries: Vec<_> = rows
            .iter()
            .map(|c| serde_json::json!({ "resource": export::fhir_consent(c) }))
            .collect();
        (
            [(header::CONTENT_TYPE, "application/fhir+json")],
            axum::Json(serde_json::json!({
                "resourceType": "Bundle",
                "type": "collection",
                "entry": entries,
            })),
        )
            .into_response()
    } else {
        axum::Json(rows).into_response()
    })
}
