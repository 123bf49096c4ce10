//! Seeded synthetic patients as FHIR R4 bundles plus a genotype file.
//!
//! Patient `i` of seed `s` draws from its own ChaCha8 stream (`seed_from_u64(s)`, stream `i`), so a
//! patient is the same whatever `--count` is, and output is byte-identical per seed. All times are
//! relative to a fixed reference instant ([`AS_OF`]), never the clock. Bundles carry the
//! `HTEST` (test health data) security tag.
//!
//! Physiology is simple but coherent: weight from height and a log-normal BMI; creatinine by sex
//! and age with a chronic-kidney-disease tail, eGFR by CKD-EPI 2021 (Inker et al., NEJM 2021);
//! hepatic labs log-normal with an impaired tail; vitals every 4 h over 3 days with a diurnal
//! rhythm; conditions by age; drugs follow conditions, with warfarin and tacrolimus doses
//! adjusted for the patient's VKORC1/CYP2C9 and CYP3A5 genotypes as clinicians would.

mod alleles;
mod bundle;

use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// Reference instant of every synthetic record: 2025-01-15T08:00:00Z, ms since the epoch.
pub const AS_OF: i64 = 1_736_928_000_000;

/// One synthetic patient.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthPatient {
    /// Local identifier (the pseudonym's input), `SYN-<seed>-<index>`.
    pub identifier: String,
    /// The FHIR R4 Bundle.
    pub bundle: Value,
    /// (gene, diplotype) for each of [`crate::GENES`].
    pub genotypes: Vec<(String, String)>,
}

/// What [`write`] produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SynthSummary {
    /// Bundle files, one per patient.
    pub bundles: Vec<PathBuf>,
    /// The genotype file.
    pub genotype_file: PathBuf,
}

/// A normal draw without a fallible constructor.
pub(crate) fn normal(rng: &mut impl Rng, mean: f64, sd: f64) -> f64 {
    mean + sd * rng.sample::<f64, _>(StandardNormal)
}

/// A log-normal draw by median and log-scale sd.
pub(crate) fn log_normal(rng: &mut impl Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * rng.sample::<f64, _>(StandardNormal)).exp()
}

/// CKD-EPI 2021 race-free creatinine equation, mL/min/1.73 m².
pub fn egfr_ckd_epi_2021(creatinine_mg_dl: f64, age_years: f64, female: bool) -> f64 {
    let (kappa, alpha, f) = if female {
        (0.7, -0.241, 1.012)
    } else {
        (0.9, -0.302, 1.0)
    };
    let r = creatinine_mg_dl / kappa;
    142.0 * r.min(1.0).powf(alpha) * r.max(1.0).powf(-1.200) * 0.9938_f64.powf(age_years) * f
}

/// Patient `index` of `seed`.
pub fn patient(seed: u64, index: u64) -> SynthPatient {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    bundle::build(&mut rng, seed, index)
}

/// Patients `0..count` of `seed`.
pub fn generate(seed: u64, count: u64) -> Vec<SynthPatient> {
    (0..count).map(|i| patient(seed, i)).collect()
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `count` patients of `seed` to `out` as `patient-NNNNN.json`, and their genotypes as
/// TSV to `genotypes` (default `out/genotypes.tsv`).
pub fn write(seed: u64, count: u64, out: &Path, genotypes: Option<&Path>) -> Result<SynthSummary> {
    std::fs::create_dir_all(out).map_err(|source| Error::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let genotype_file = genotypes.map_or_else(|| out.join("genotypes.tsv"), Path::to_path_buf);
    let mut tsv = String::from("identifier\tgene\tdiplotype\n");
    let mut bundles = Vec::new();
    for i in 0..count {
        let p = patient(seed, i);
        let path = out.join(format!("patient-{i:05}.json"));
        let mut json =
            serde_json::to_vec_pretty(&p.bundle).map_err(|e| Error::Bundle(e.to_string()))?;
        json.push(b'\n');
        write_file(&path, &json)?;
        bundles.push(path);
        for (gene, d) in &p.genotypes {
            tsv.push_str(&format!("{}\t{gene}\t{d}\n", p.identifier));
        }
    }
    write_file(&genotype_file, tsv.as_bytes())?;
    Ok(SynthSummary {
        bundles,
        genotype_file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn egfr_matches_the_published_equation() {
        // Worked by hand from Inker et al. 2021 for creatinine 1.0 mg/dL at age 50:
        // female 142 · (1/0.7)^-1.200 · 0.9938^50 · 1.012 = 68.63;
        // male   142 · (1/0.9)^-1.200 · 0.9938^50         = 91.69.
        assert!((egfr_ckd_epi_2021(1.0, 50.0, true) - 68.63).abs() < 0.02);
        assert!((egfr_ckd_epi_2021(1.0, 50.0, false) - 91.69).abs() < 0.02);
        // Below kappa the alpha branch applies: female, 0.5 mg/dL, 30 y:
        // 142 · (0.5/0.7)^-0.241 · 0.9938^30 · 1.012 = 142 · 1.0845 · 0.8298 · 1.012 = 129.3.
        assert!((egfr_ckd_epi_2021(0.5, 30.0, true) - 129.3).abs() < 0.2);
    }

    #[test]
    fn as_of_is_the_documented_instant() {
        assert_eq!(crate::time::format_date_time(AS_OF), "2025-01-15T08:00:00Z");
    }
}
