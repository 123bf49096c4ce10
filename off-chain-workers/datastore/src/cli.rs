//! `consentry ingest` and `consentry synth`.
//!
//! The `consentry` binary (api/cli) embeds [`Command`] as subcommands, or [`IngestArgs`] /
//! [`SynthArgs`] directly, and calls [`run`] (or [`ingest`] / [`synth`]).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::{synth as gen, Pepper, Store};

/// The data-store commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import FHIR R4 bundles and genotype files into the patient data store.
    Ingest(IngestArgs),
    /// Write seeded synthetic patients as FHIR R4 bundles plus a genotype file.
    Synth(SynthArgs),
}

/// `consentry ingest`.
#[derive(Debug, Clone, Args)]
pub struct IngestArgs {
    /// The SQLite store (created if missing).
    #[arg(long)]
    pub store: PathBuf,
    /// The institution's secret pepper file (at least 16 bytes).
    #[arg(long)]
    pub pepper_file: PathBuf,
    /// FHIR Bundle JSON files, genotype files (.tsv/.csv/.txt), or directories holding them.
    /// Bundles are imported before genotype files, each in its own transaction.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// `consentry synth`.
#[derive(Debug, Clone, Args)]
pub struct SynthArgs {
    /// How many patients.
    #[arg(long)]
    pub count: u64,
    /// Seed: the same seed gives byte-identical output.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output directory for `patient-NNNNN.json`.
    #[arg(long)]
    pub out: PathBuf,
    /// Genotype file to write (default: OUT/genotypes.tsv).
    #[arg(long)]
    pub genotypes: Option<PathBuf>,
}

/// Runs one data-store command.
pub fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Ingest(a) => ingest(&a),
        Command::Synth(a) => synth(&a),
    }
}

fn is_genotype_file(p: &Path) -> bool {
    matches!(
        p.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("tsv" | "csv" | "txt")
    )
}

fn expand(files: &[PathBuf]) -> anyhow::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut all = Vec::new();
    for f in files {
        if f.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(f)
                .with_context(|| format!("{}: cannot list directory", f.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && (is_genotype_file(p) || p.extension().is_some_and(|e| e == "json"))
                })
                .collect();
            inside.sort();
            all.extend(inside);
        } else {
            all.push(f.clone());
        }
    }
    Ok(all.into_iter().partition(|p| !is_genotype_file(p)))
}

/// `consentry ingest`: every input in its own transaction; a rejected input is reported and the
/// others still go in; the command fails if any input was rejected.
pub fn ingest(a: &IngestArgs) -> anyhow::Result<()> {
    let pepper = Pepper::load(&a.pepper_file)?;
    let mut store =
        Store::open(&a.store).with_context(|| format!("opening store {}", a.store.display()))?;
    let (bundles, genotype_files) = expand(&a.files)?;
    let mut rejected = Vec::new();
    let (mut patients, mut rows, mut ok_bundles, mut ok_files) = (0usize, 0usize, 0usize, 0usize);
    for path in &bundles {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        match store.ingest_bundle_str(&pepper, &text) {
            Ok(r) => {
                ok_bundles += 1;
                patients += r.patients.len();
                rows += r.observations + r.medications + r.conditions;
                for (kind, n) in &r.skipped {
                    eprintln!("{}: skipped {n} × {kind}", path.display());
                }
            }
            Err(e) => rejected.push(e.in_file(path)),
        }
    }
    let mut calls = 0;
    for path in &genotype_files {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        match store.ingest_genotypes(&pepper, &text) {
            Ok(n) => {
                ok_files += 1;
                calls += n;
            }
            Err(e) => rejected.push(e.in_file(path)),
        }
    }
    println!(
        "imported {} bundle(s) ({patients} patient(s), {rows} clinical row(s)) and {} genotype file(s) ({calls} call(s)) into {}",
        ok_bundles,
        ok_files,
        a.store.display()
    );
    let counts = store.counts()?;
    println!("store now holds {}", serde_json::to_string(&counts)?);
    if !rejected.is_empty() {
        for e in &rejected {
            eprintln!("REJECTED {e}");
        }
        anyhow::bail!(
            "{} input(s) rejected; nothing of them was imported",
            rejected.len()
        );
    }
    Ok(())
}

/// `consentry synth`.
pub fn synth(a: &SynthArgs) -> anyhow::Result<()> {
    let s = gen::write(a.seed, a.count, &a.out, a.genotypes.as_deref())?;
    println!(
        "wrote {} synthetic patient bundle(s) (seed {}) to {} and genotypes to {}",
        s.bundles.len(),
        a.seed,
        a.out.display(),
        s.genotype_file.display()
    );
    Ok(())
}
