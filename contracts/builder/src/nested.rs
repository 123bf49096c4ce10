//! A cargo command for the separate `contracts/` workspace, run from this crate's build script or
//! tests, in an environment cleared of what the outer cargo set for them (flags, profile
//! overrides, the target dir, package and feature variables, clippy's wrapper), but keeping the
//! cargo home, registry and network settings and the jobserver.

use std::path::Path;
use std::process::Command;

/// `cargo <subcommand> --locked --manifest-path contracts/Cargo.toml --target-dir <target_dir>`.
pub fn cargo(contracts: &Path, target_dir: &Path, subcommand: &str) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let keep = key == "CARGO_HOME"
            || key == "CARGO_MAKEFLAGS"
            || key.starts_with("CARGO_HTTP_")
            || key.starts_with("CARGO_NET_")
            || key.starts_with("CARGO_REGISTRIES_")
            || key.starts_with("CARGO_REGISTRY_")
            || key.starts_with("CARGO_TERM_");
        let drop = (key.starts_with("CARGO_") && !keep)
            || key.starts_with("DEP_")
            || matches!(
                key,
                "RUSTFLAGS"
                    | "RUSTDOCFLAGS"
                    | "RUSTC_WORKSPACE_WRAPPER"
                    | "RUSTC_LINKER"
                    | "OUT_DIR"
                    | "TARGET"
                    | "HOST"
                    | "OPT_LEVEL"
                    | "PROFILE"
                    | "DEBUG"
                    | "NUM_JOBS"
            );
        if drop {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(contracts)
        .arg(subcommand)
        .arg("--locked")
        .arg("--manifest-path")
        .arg(contracts.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    cmd
}
