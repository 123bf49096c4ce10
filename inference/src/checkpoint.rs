//! Checkpoints: neural weights as safetensors, boosters as XGBoost JSON, and a
//! manifest with the config, feature layout, standardiser and SHA-256 digests.
//!
//! The **model version** the ledger records is `model_version` in the
//! manifest: SHA-256 over the digests of the artifact files, in a fixed order
//! (`hybrid.safetensors`, `gbdt_response.json`, `gbdt_adr.json`) — so it
//! changes whenever any weight changes and can be recomputed from the files.
//! Loading re-hashes every file and refuses a bundle whose digests differ.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::Device;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::calibration::Platt;
use crate::config::InferenceConfig;
use crate::features::{FeatureSpec, Standardizer};
use crate::models::gbdt::Gbdt;
use crate::pipeline::Prepared;
use crate::train::{GbdtPair, NeuralKind, NeuralModel};

/// Hex SHA-256 of a file's bytes.
pub fn sha256_file(path: &Path) -> Result<String> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading {} to hash it", path.display()))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// Hex SHA-256 over the concatenated hex digests (the bundle's model version).
pub fn combine_digests(digests: &[&str]) -> String {
    let mut h = Sha256::new();
    for d in digests {
        h.update(d.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Saves a model's variables as safetensors; returns the file's SHA-256.
pub fn save_safetensors(model: &NeuralModel, path: &Path) -> Result<String> {
    model
        .varmap
        .save(path)
        .with_context(|| format!("writing {}", path.display()))?;
    sha256_file(path)
}

/// Builds `kind` and loads its variables from a safetensors file.
pub fn load_safetensors(
    kind: NeuralKind,
    cfg: &InferenceConfig,
    spec: &FeatureSpec,
    path: &Path,
    device: &Device,
) -> Result<NeuralModel> {
    let mut m = NeuralModel::build(kind, cfg, spec, 0, device)?;
    m.varmap
        .load(path)
        .with_context(|| format!("loading weights from {}", path.display()))?;
    Ok(m)
}

/// Everything needed to serve predictions, written as `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// SHA-256 that identifies this model on the ledger.
    pub model_version: String,
    /// File name → SHA-256.
    pub files: BTreeMap<String, String>,
    pub config: InferenceConfig,
    pub spec: FeatureSpec,
    pub standardizer: Standardizer,
    /// Training seed of the saved hybrid.
    pub seed: u64,
}

/// The hybrid's Platt calibration (response, ADR), fitted on the validation split; bundles
/// written before calibration existed have none and predict uncalibrated.
pub type Calibration = [Platt; 2];

/// A loaded model bundle: hybrid + boosters + preprocessing.
pub struct Bundle {
    pub manifest: Manifest,
    pub calibration: Option<Calibration>,
    pub hybrid: NeuralModel,
    pub gbdt: GbdtPair,
    pub dir: PathBuf,
}

const HYBRID: &str = "hybrid.safetensors";
const GBDT_R: &str = "gbdt_response.json";
const GBDT_A: &str = "gbdt_adr.json";
const CALIBRATION: &str = "calibration.json";

/// Writes a bundle into `dir` (the feature spec and standardiser from `data`); returns the
/// manifest (with digests).
pub fn save_bundle(
    dir: &Path,
    cfg: &InferenceConfig,
    data: &Prepared,
    hybrid: &NeuralModel,
    gbdt: &GbdtPair,
    calibration: &Calibration,
    seed: u64,
) -> Result<Manifest> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating output directory {}", dir.display()))?;
    let mut files = BTreeMap::new();
    files.insert(
        HYBRID.to_string(),
        save_safetensors(hybrid, &dir.join(HYBRID))?,
    );
    gbdt.response.save(&dir.join(GBDT_R))?;
    gbdt.adr.save(&dir.join(GBDT_A))?;
    files.insert(GBDT_R.to_string(), sha256_file(&dir.join(GBDT_R))?);
    files.insert(GBDT_A.to_string(), sha256_file(&dir.join(GBDT_A))?);
    std::fs::write(
        dir.join(CALIBRATION),
        serde_json::to_vec_pretty(calibration)?,
    )?;
    files.insert(
        CALIBRATION.to_string(),
        sha256_file(&dir.join(CALIBRATION))?,
    );
    let model_version = version_of(&files);
    let manifest = Manifest {
        model_version,
        files,
        config: cfg.clone(),
        spec: data.spec.clone(),
        standardizer: data.standardizer.clone(),
        seed,
    };
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest)?,
    )?;
    Ok(manifest)
}

/// The model version the ledger cites: the digests of the weights, the boosters and (where the
/// bundle has one) the calibration, so a recalibrated model is a new version.
fn version_of(files: &BTreeMap<String, String>) -> String {
    let mut parts: Vec<&str> = [HYBRID, GBDT_R, GBDT_A]
        .iter()
        .map(|f| files.get(*f).map_or("", String::as_str))
        .collect();
    parts.extend(files.get(CALIBRATION).map(String::as_str));
    combine_digests(&parts)
}

/// Loads and verifies a bundle written by [`save_bundle`].
pub fn load_bundle(dir: &Path, device: &Device) -> Result<Bundle> {
    let mpath = dir.join("manifest.json");
    let manifest: Manifest = serde_json::from_slice(&std::fs::read(&mpath).with_context(|| {
        format!(
            "reading {} (pass the directory `consentry train --out` wrote to --model)",
            mpath.display()
        )
    })?)
    .with_context(|| format!("parsing {}", mpath.display()))?;
    for (name, want) in &manifest.files {
        let got = sha256_file(&dir.join(name))?;
        if &got != want {
            bail!("{name}: SHA-256 {got} does not match the manifest ({want}); the bundle was modified or is incomplete");
        }
    }
    if version_of(&manifest.files) != manifest.model_version {
        bail!("manifest.json: model_version does not match its file digests");
    }
    let hybrid = load_safetensors(
        NeuralKind::Hybrid,
        &manifest.config,
        &manifest.spec,
        &dir.join(HYBRID),
        device,
    )?;
    let gbdt = GbdtPair {
        response: Gbdt::load(&dir.join(GBDT_R))?,
        adr: Gbdt::load(&dir.join(GBDT_A))?,
    };
    let calibration = match manifest.files.contains_key(CALIBRATION) {
        true => Some(serde_json::from_slice(&std::fs::read(
            dir.join(CALIBRATION),
        )?)?),
        false => None,
    };
    Ok(Bundle {
        manifest,
        calibration,
        hybrid,
        gbdt,
        dir: dir.to_path_buf(),
    })
}
