//! Consentry's ink! contracts, built: the optimized wasm of each contract under `contracts/`, its
//! ink! metadata (ContractMetadata V5 JSON, as `cargo contract build` writes and
//! `@polkadot/api-contract` reads) and its code hash. `build.rs` builds them with the machine's
//! own toolchain (see `contracts/README.md`); nothing here depends on ink!.
//!
//! To get the files: [`write_artifacts`] (`consentry contracts build` or a test can call it).

use std::path::{Path, PathBuf};

#[cfg(test)]
mod nested;
pub mod wasm;

/// The data-use agreement registry (`contracts/dua`), optimized.
pub const DUA_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dua.wasm"));
/// The federated-learning consortium (`contracts/consortium`), optimized.
pub const CONSORTIUM_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/consortium.wasm"));
/// [`DUA_WASM`]'s ink! metadata.
pub const DUA_METADATA: &str = include_str!(concat!(env!("OUT_DIR"), "/dua.json"));
/// [`CONSORTIUM_WASM`]'s ink! metadata.
pub const CONSORTIUM_METADATA: &str = include_str!(concat!(env!("OUT_DIR"), "/consortium.json"));

include!(concat!(env!("OUT_DIR"), "/hashes.rs"));

/// One built contract.
#[derive(Clone, Copy, Debug)]
pub struct Contract {
    /// The crate's name (`dua`, `consortium`).
    pub name: &'static str,
    pub wasm: &'static [u8],
    pub metadata: &'static str,
    /// blake2-256 of `wasm`.
    pub code_hash: [u8; 32],
}

/// Every contract.
pub const CONTRACTS: [Contract; 2] = [
    Contract {
        name: "dua",
        wasm: DUA_WASM,
        metadata: DUA_METADATA,
        code_hash: DUA_CODE_HASH,
    },
    Contract {
        name: "consortium",
        wasm: CONSORTIUM_WASM,
        metadata: CONSORTIUM_METADATA,
        code_hash: CONSORTIUM_CODE_HASH,
    },
];

/// Writes `<name>.wasm`, `<name>.json` (metadata) and `<name>.contract` (metadata with the wasm
/// inside, as `source.wasm`: the bundle Polkadot-JS Apps uploads) of each contract into `dir`
/// (created if missing). Returns the paths written.
pub fn write_artifacts(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for c in CONTRACTS {
        let wasm = dir.join(format!("{}.wasm", c.name));
        std::fs::write(&wasm, c.wasm)?;
        let json = dir.join(format!("{}.json", c.name));
        std::fs::write(&json, c.metadata)?;
        let bundle = dir.join(format!("{}.contract", c.name));
        std::fs::write(&bundle, bundle_json(&c))?;
        written.extend([wasm, json, bundle]);
    }
    Ok(written)
}

/// The metadata with `"wasm": "0x…"` added to its `source` object.
fn bundle_json(c: &Contract) -> String {
    let hex: String = c.wasm.iter().map(|b| format!("{b:02x}")).collect();
    let anchor = "\"source\": {";
    let at = c
        .metadata
        .find(anchor)
        .expect("metadata has a source object")
        + anchor.len();
    format!(
        "{}\n    \"wasm\": \"0x{hex}\",{}",
        &c.metadata[..at],
        &c.metadata[at..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn binaries_are_mvp_modules_pallet_contracts_accepts() {
        for c in CONTRACTS {
            let r = wasm::inspect(c.wasm).unwrap();
            assert_eq!(r.post_mvp, vec![], "{}", c.name);
            assert_eq!(r.exports, ["call", "deploy"], "{}", c.name);
            assert!(r.imports.contains(&"env.memory".to_string()), "{}", c.name);
            assert!(r.imports.iter().any(|i| i == "seal0.call_chain_extension"));
            assert!(r.functions > 10, "{}", c.name);
            // MaxCodeLen of the runtime's pallet-contracts is 123 KiB.
            assert!(
                c.wasm.len() < 123 * 1024,
                "{}: {} bytes",
                c.name,
                c.wasm.len()
            );
        }
    }

    #[test]
    fn metadata_names_the_binary_and_the_fixed_selectors() {
        for (c, selectors) in [
            (
                CONTRACTS[0],
                &["0xd0a00000", "0xd0a00001", "0xd0a00002", "0xd0a00010"][..],
            ),
            (
                CONTRACTS[1],
                &["0xc0c00000", "0xc0c00002", "0xc0c00006", "0xc0c00013"][..],
            ),
        ] {
            assert_eq!(
                sp_crypto_hashing::blake2_256(c.wasm),
                c.code_hash,
                "{}",
                c.name
            );
            assert!(c
                .metadata
                .contains(&format!("\"hash\": \"0x{}\"", hex(&c.code_hash))));
            assert!(c.metadata.contains(&format!("\"name\": \"{}\"", c.name)));
            assert!(c.metadata.contains("\"language\": \"ink! 5.1.1\""));
            assert!(c.metadata.contains("\"version\": 5"));
            for s in selectors {
                assert!(
                    c.metadata.contains(&format!("\"selector\": \"{s}\"")),
                    "{} lacks {s}",
                    c.name
                );
            }
        }
    }

    /// The contracts' own `#[ink::test]` unit tests (and golden-vector tests), run from here so
    /// the workspace's test command runs them; in `$CARGO_TARGET_DIR/contracts` like the build.
    #[test]
    fn the_contracts_unit_tests_pass() {
        // Where cargo says the package is when the test runs (a shared target directory may hold
        // a test binary compiled in another checkout).
        let manifest = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(
            || env!("CARGO_MANIFEST_DIR").into(),
            std::path::PathBuf::from,
        );
        let manifest = manifest.as_path();
        let contracts = manifest.parent().expect("contracts/");
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => contracts
                .parent()
                .expect("repo root")
                .join(dir)
                .join("contracts"),
            // <target>/<profile>/deps/<test binary>
            None => std::env::current_exe()
                .unwrap()
                .ancestors()
                .nth(3)
                .expect("the test binary is in the target directory")
                .join("contracts"),
        };
        let mut cmd = nested::cargo(contracts, &target, "test");
        cmd.arg("--workspace");
        let out = cmd.output().expect("cargo runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "cargo test in contracts/ failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let passed: usize = stdout
            .lines()
            .filter_map(|l| l.strip_prefix("test result: ok. "))
            .map(|rest| rest.split(' ').next().unwrap().parse::<usize>().unwrap())
            .sum();
        // env 4, dua 18, consortium 12 when this was written.
        assert!(passed >= 34, "only {passed} contract tests ran:\n{stdout}");
    }

    #[test]
    fn artifacts_are_written() {
        let dir = std::env::temp_dir().join(format!("consentry-contracts-{}", std::process::id()));
        let files = write_artifacts(&dir).unwrap();
        assert_eq!(files.len(), 6);
        assert_eq!(std::fs::read(dir.join("dua.wasm")).unwrap(), DUA_WASM);
        let bundle = std::fs::read_to_string(dir.join("consortium.contract")).unwrap();
        assert!(bundle.contains(&format!("\"wasm\": \"0x{}\"", hex(CONSORTIUM_WASM))));
        let wasm_line = format!("\n    \"wasm\": \"0x{}\",", hex(CONSORTIUM_WASM));
        assert_eq!(bundle.replacen(&wasm_line, "", 1), CONSORTIUM_METADATA);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
