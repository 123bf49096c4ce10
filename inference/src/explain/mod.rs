//! Per-prediction explanations: exact TreeSHAP for the trees, Integrated
//! Gradients (chained through TreeSHAP for the GBDT input) for the hybrid.

pub mod integrated_gradients;
pub mod treeshap;
