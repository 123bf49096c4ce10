//! # consentry-inference
//!
//! The data-driven half of the Consentry digital twin: for a patient and a
//! drug it predicts the probability of therapeutic response and the risk of an
//! adverse drug reaction (ADR), and explains each prediction.
//!
//! Components (seed §3.3): gradient-boosted trees on tabular clinical and
//! pharmacogenomic features ([`models::gbdt`]), a bidirectional stacked LSTM
//! over vital-sign series ([`models::bilstm`]), a Transformer encoder over
//! feature tokens ([`models::transformer`]) and a three-layer fusion head
//! ([`models::fusion`]); baselines are logistic regression and each component
//! alone. Training data is a documented synthetic cohort ([`cohort`]) whose
//! exposure step uses the `consentry-simulation` PK model.
//!
//! No chain dependency: the worker calls this behind the consent gate and
//! records the checkpoint digest ([`checkpoint`]) as the model version.

pub mod calibration;
pub mod checkpoint;
pub mod cli;
pub mod cohort;
pub mod config;
pub mod device;
pub mod explain;
pub mod export;
pub mod features;
pub mod learning_curve;
pub mod metrics;
pub mod models;
pub mod nn;
pub mod pipeline;
pub mod plot;
pub mod report;
pub mod train;

pub use device::{default_device, device_from_env, select_device, DeviceChoice};
