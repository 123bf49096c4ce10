//! Builds the contracts of the separate `contracts/` workspace, with the machine's own toolchain:
//!
//! 1. `cargo rustc --release --locked --target wasm32v1-none --no-default-features --crate-type
//!    cdylib -p <contract>` with `-Ctarget-cpu=mvp -Clink-arg=-zstack-size=65536
//!    -Clink-arg=--import-memory` (no linker-plugin LTO, no build-std: see contracts/README.md);
//! 2. [`wasm::strip`]: only the `call`/`deploy` exports, no custom sections;
//! 3. `wasm-opt` (the crate): -Oz, MVP features plus sign-ext, which the `signext-lowering` pass
//!    then removes, zero-filled memory, no debug info;
//! 4. [`wasm::inspect`]: refuses the module if any post-MVP instruction, any export but
//!    `call`/`deploy` or no memory import is left;
//! 5. `cargo run -p metadata-gen --features <contract>`: the ink! metadata (ContractMetadata V5
//!    JSON) with the optimized wasm's blake2-256 hash.
//!
//! Outputs go to OUT_DIR: `<contract>.wasm`, `<contract>.json`, `hashes.rs`. The nested cargo
//! uses `$CARGO_TARGET_DIR/contracts` (or `<target>/contracts` next to this build's profile
//! directory) and works offline once the contracts' crates are in the cargo cache.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "src/nested.rs"]
mod nested;
#[path = "src/wasm.rs"]
mod wasm;

use nested::cargo;

const CONTRACTS: [&str; 2] = ["dua", "consortium"];

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let contracts = manifest_dir.parent().expect("contracts/").to_path_buf();
    let out_dir = PathBuf::from(env("OUT_DIR"));
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            let dir = if dir.is_relative() {
                // Relative to where the outer cargo runs: the main workspace's root.
                contracts.parent().expect("repo root").join(dir)
            } else {
                dir
            };
            dir.join("contracts")
        }
        // OUT_DIR = <target>/<profile>/build/<package>-<hash>/out
        None => out_dir
            .ancestors()
            .nth(4)
            .expect("OUT_DIR is inside the target directory")
            .join("contracts"),
    };

    for path in [
        "Cargo.toml",
        "Cargo.lock",
        "env",
        "dua",
        "consortium",
        "metadata-gen",
        "builder/src/wasm.rs",
        "builder/src/nested.rs",
    ] {
        // Relative to this package's root, so another checkout of the same sources sharing the
        // build cache (CI's clone) does not rerun the build over an absolute path it lacks.
        println!("cargo:rerun-if-changed=../{path}");
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    println!("cargo:rerun-if-env-changed=CARGO_NET_OFFLINE");

    let compiler = compiler_version();
    let mut hashes = String::new();
    for name in CONTRACTS {
        let raw = build_wasm(&contracts, &target_dir, name);
        let stripped = wasm::strip(&raw).unwrap_or_else(|e| panic!("{name}.wasm: {e}"));
        let stripped_path = out_dir.join(format!("{name}.stripped.wasm"));
        write(&stripped_path, &stripped);
        let wasm_path = out_dir.join(format!("{name}.wasm"));
        optimize(&stripped_path, &wasm_path);
        let optimized = std::fs::read(&wasm_path).expect("optimized wasm");
        check(name, &optimized);

        let metadata = metadata(&contracts, &target_dir, name, &wasm_path, &compiler);
        let hash = metadata_hash(&metadata)
            .unwrap_or_else(|| panic!("{name}: no source.hash in the metadata"));
        write(&out_dir.join(format!("{name}.json")), metadata.as_bytes());
        hashes.push_str(&format!(
            "/// blake2-256 of [`{upper}_WASM`]: its code hash on chain.\npub const {upper}_CODE_HASH: [u8; 32] = {hash:?};\n",
            upper = name.to_uppercase(),
        ));
    }
    write(&out_dir.join("hashes.rs"), hashes.as_bytes());
}

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| panic!("{key} is not set"))
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

fn run(mut cmd: Command, what: &str) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run cargo: {e}"));
    if !out.status.success() {
        panic!(
            "{what} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out.stdout
}

fn build_wasm(contracts: &Path, target_dir: &Path, name: &str) -> Vec<u8> {
    let mut cmd = cargo(contracts, target_dir, "rustc");
    cmd.args([
        "--release",
        "-p",
        name,
        "--target",
        "wasm32v1-none",
        "--no-default-features",
        "--crate-type",
        "cdylib",
    ])
    .env(
        "CARGO_ENCODED_RUSTFLAGS",
        [
            "-Ctarget-cpu=mvp",
            "-Clink-arg=-zstack-size=65536",
            "-Clink-arg=--import-memory",
        ]
        .join("\x1f"),
    );
    run(cmd, &format!("building {name} for wasm32v1-none"));
    let path = target_dir.join(format!("wasm32v1-none/release/{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn optimize(input: &Path, output: &Path) {
    use wasm_opt::{Feature, OptimizationOptions, Pass};
    OptimizationOptions::new_optimize_for_size_aggressively()
        .mvp_features_only()
        .enable_feature(Feature::SignExt)
        .add_pass(Pass::SignextLowering)
        .add_pass(Pass::StripDebug)
        .add_pass(Pass::StripProducers)
        .zero_filled_memory(true)
        .debug_info(false)
        .run(input, output)
        .unwrap_or_else(|e| panic!("wasm-opt on {}: {e}", input.display()));
}

/// Refuses a module pallet-contracts 40.1.0 would reject for its shape or instructions.
fn check(name: &str, module: &[u8]) {
    let report = wasm::inspect(module).unwrap_or_else(|e| panic!("{name}.wasm: {e}"));
    assert!(
        report.post_mvp.is_empty(),
        "{name}.wasm has post-MVP instructions: {:?}",
        report.post_mvp
    );
    assert_eq!(
        report.exports,
        ["call", "deploy"],
        "{name}.wasm exports more than its entry points"
    );
    match report.memory {
        Some((initial, max)) if initial <= 16 && max.is_none_or(|m| m <= 16) => {}
        other => panic!("{name}.wasm: memory import {other:?} is not within 16 pages"),
    }
    for import in &report.imports {
        assert!(
            import == "env.memory" || import.starts_with("seal"),
            "{name}.wasm imports {import}, which pallet-contracts does not provide"
        );
    }
}

fn compiler_version() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc).arg("-V").output().expect("rustc -V");
    // "rustc 1.95.0 (59807616e 2026-04-14)" -> "rustc 1.95.0"
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

fn metadata(
    contracts: &Path,
    target_dir: &Path,
    name: &str,
    wasm: &Path,
    compiler: &str,
) -> String {
    let mut cmd = cargo(contracts, target_dir, "run");
    cmd.arg("-q")
        .args(["-p", "metadata-gen", "--features", name, "--"])
        .arg(wasm)
        .arg(compiler);
    String::from_utf8(run(cmd, &format!("generating {name}'s metadata"))).expect("UTF-8 JSON")
}

/// The 32 bytes of `"hash": "0x…"` in the metadata's `source`.
fn metadata_hash(json: &str) -> Option<[u8; 32]> {
    let at = json.find("\"hash\": \"0x")? + "\"hash\": \"0x".len();
    let hex = json.get(at..at + 64)?;
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}
