//! One file per model, candle-transformers style: a config struct and a
//! `VarBuilder` constructor in each.

pub mod bilstm;
pub mod fusion;
pub mod gbdt;
pub mod logistic;
pub mod transformer;
