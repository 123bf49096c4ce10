//! Builds `chain/runtime` for wasm (the wasm builder's own cargo invocation, in
//! `$CARGO_TARGET_DIR/<profile>/wbuild/consentry-runtime`) and writes `wasm_binary.rs` into
//! `OUT_DIR`. Set `SKIP_WASM_BUILD=1` to skip it (`WASM_BINARY` is then `None`).
fn main() {
    // Canonical: the wasm builder finds the runtime in `cargo metadata` by this exact path.
    let runtime = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../runtime/Cargo.toml")
        .canonicalize()
        .expect("chain/runtime/Cargo.toml exists");
    substrate_wasm_builder::WasmBuilder::new()
        .with_project(runtime)
        .expect("a Cargo.toml")
        .export_heap_base()
        .import_memory()
        .build();
}
