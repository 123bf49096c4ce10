//! Handlers, one module per concern: sessions and operations, the indexed ledger history, and
//! what must come from the chain itself.

pub mod chain;
pub mod jobs;
pub mod ledger;
pub mod ops;
