//! # Consentry runtime, compiled to wasm
//!
//! `WASM_BINARY` is the runtime the node puts into genesis (`:code`) and executes; it is
//! `None` when the build was skipped (`SKIP_WASM_BUILD`). The build script runs the SDK's wasm
//! builder on `chain/runtime`.
//!
//! It is a crate of its own, not the runtime's own build script, so that what uses the runtime
//! natively (its unit and benchmark tests, the client, the fuzz targets) never compiles the wasm
//! builder and the C++ of binaryen's optimiser it depends on: only the node needs the blob.

include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));
