#[cfg(feature = "std")]
fn main() {
    substrate_wasm_builder::WasmBuilder::build_using_defaults();
}

/// Nothing to build when the runtime itself is being compiled to wasm.
#[cfg(not(feature = "std"))]
fn main() {}
