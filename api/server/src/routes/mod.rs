//! Handlers, one module per concern: sessions and operations, the indexed ledger history, what
//! must come from the chain itself, and the worker's jobs and stream sessions.

pub mod chain;
pub mod jobs;
pub mod ledger;
pub mod ops;
pub mod streams;
