//! # consentry-federated
//!
//! Federated learning of the drug-response hybrid. Flower's split:
//! [`strategy`] is the aggregator's side (FedAvg), [`client`] the site's side
//! (local training, patient-level DP-SGD), [`simulate`] runs the same protocol
//! code for a whole study in one process.

pub mod aggregation;
pub mod cli;
pub mod client;
pub mod data;
pub mod dp;
pub mod fhir_export;
pub mod model;
pub mod optim;
pub mod params;
pub mod report;
pub mod simulate;
pub mod strategy;
