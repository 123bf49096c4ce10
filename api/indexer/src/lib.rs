//! # Consentry indexer
//!
//! Follows the **finalized** blocks of a Consentry node and stores every Identity, Consent and
//! Audit event in SQL (SQLite or PostgreSQL, through `sqlx::Any`), together with the current
//! form of every access record, consent and enrolment, so the HTTP API can filter, page and
//! export without walking the chain.
//!
//! - [`Store`]: opening a database, the one transactional write path, and the queries.
//! - [`run`] / [`index_until`]: following a node; each block is one SQL transaction that also
//!   records the block as indexed, so a restart resumes at the next block with nothing lost or
//!   duplicated.
//! - [`export`]: CSV and HL7 FHIR R4 (Consent, AuditEvent bundle).

mod events;
pub mod export;
mod follow;
pub mod model;
pub mod query;
mod schema;
mod store;

pub use follow::{index_until, run, Chain};
pub use model::{AccessRow, ConsentRow, Counts, EnrolmentRow, EventRow, InstitutionSummary, Page};
pub use query::{AccessFilter, QueryError};
pub use store::{BlockWrite, EnrolmentChange, Store};
