//! Writes one contract's metadata as the ContractMetadata V5 JSON that `cargo contract build`
//! writes and `@polkadot/api-contract` reads: `source` (blake2-256 of the optimized wasm,
//! language, compiler), `contract` (name, version, authors), and ink!'s own `version`, `types`,
//! `storage` and `spec`.
//!
//! Built with exactly one of the features `dua`, `consortium` (the contracts' `std` build exports
//! `__ink_generate_metadata`, under the same name in each):
//!
//! ```sh
//! cargo run -p metadata-gen --features dua -- <optimized.wasm> "rustc 1.95.0" > dua.json
//! ```

#[cfg(all(feature = "dua", feature = "consortium"))]
compile_error!("build metadata-gen with one contract feature at a time");

#[cfg(feature = "consortium")]
extern crate consortium;
#[cfg(feature = "dua")]
extern crate dua;

#[cfg(feature = "dua")]
const NAME: &str = "dua";
#[cfg(feature = "consortium")]
const NAME: &str = "consortium";

#[cfg(any(feature = "dua", feature = "consortium"))]
fn main() {
    use ink::env::hash::{Blake2x256, CryptoHash};

    extern "Rust" {
        fn __ink_generate_metadata() -> ink::metadata::InkProject;
    }

    let mut args = std::env::args().skip(1);
    let (Some(wasm_path), Some(compiler)) = (args.next(), args.next()) else {
        eprintln!("usage: metadata-gen <optimized.wasm> <compiler, e.g. \"rustc 1.95.0\">");
        std::process::exit(2);
    };
    let wasm = std::fs::read(&wasm_path).unwrap_or_else(|e| {
        eprintln!("cannot read {wasm_path}: {e}");
        std::process::exit(1)
    });
    let mut hash = [0u8; 32];
    Blake2x256::hash(&wasm, &mut hash);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();

    // SAFETY: the function is defined by `#[ink::contract]` in the linked contract crate, with
    // exactly this Rust signature.
    let project = unsafe { __ink_generate_metadata() };
    let mut json = serde_json::to_value(project).expect("metadata serializes");
    let obj = json.as_object_mut().expect("InkProject is an object");
    obj.insert(
        "source".into(),
        serde_json::json!({
            "hash": format!("0x{hex}"),
            "language": "ink! 5.1.1",
            "compiler": compiler,
        }),
    );
    let authors: Vec<&str> = env!("CARGO_PKG_AUTHORS").split(':').collect();
    obj.insert(
        "contract".into(),
        serde_json::json!({
            "name": NAME,
            "version": env!("CARGO_PKG_VERSION"),
            "authors": authors,
        }),
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&json).expect("JSON serializes")
    );
}

#[cfg(not(any(feature = "dua", feature = "consortium")))]
fn main() {
    eprintln!("build metadata-gen with --features dua or --features consortium");
    std::process::exit(2);
}
