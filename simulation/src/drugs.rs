//! Drug library: literature parameters in `data/drugs/*.toml`, each number
//! carried together with its source.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{invalid, Result, SimError};
use crate::pd::IndirectKind;
use crate::pgx::Phenotype;
use crate::pk::PkParams;
use crate::regimen::Regimen;

/// A number with its literature source (or a stated assumption).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cited {
    /// The value, in the unit implied by the field name.
    pub value: f64,
    /// Citation or "assumption: ..." note.
    pub source: String,
}

/// Typical-patient PK (70 kg reference adult, normal phenotype, normal GFR).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PkSpec {
    /// Clearance (L/h).
    pub cl_l_h: Cited,
    /// Central volume (L).
    pub v_l: Cited,
    /// Absorption rate constant (1/h).
    pub ka_per_h: Cited,
    /// Bioavailability.
    pub f: Cited,
    /// Lag time (h).
    #[serde(default)]
    pub tlag_h: Option<Cited>,
    /// Intercompartmental clearance (L/h), two-compartment drugs only.
    #[serde(default)]
    pub q_l_h: Option<Cited>,
    /// Peripheral volume (L), two-compartment drugs only.
    #[serde(default)]
    pub v2_l: Option<Cited>,
    /// Reference weight for allometric scaling (kg).
    pub reference_weight_kg: f64,
    /// Fraction of clearance that is renal (scales with eGFR).
    pub fraction_renal: Cited,
    /// eGFR at which `cl_l_h` applies (mL/min/1.73 m²).
    pub reference_egfr: f64,
}

/// An enzyme or transporter that contributes to clearance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnzymeSpec {
    /// Gene symbol, e.g. `CYP2D6`.
    pub gene: String,
    /// Fraction of clearance through this pathway in normal metabolizers.
    pub fm: Cited,
    /// Pathway activity relative to normal, by phenotype. Missing entries
    /// fall back to [`default_activity`].
    #[serde(default)]
    pub activity: BTreeMap<Phenotype, f64>,
}

/// Default relative pathway activity: proportional to the number of
/// functional alleles (assumption; overridable per drug).
pub fn default_activity(p: Phenotype) -> f64 {
    match p {
        Phenotype::Poor => 0.0,
        Phenotype::Intermediate => 0.5,
        Phenotype::Normal => 1.0,
        Phenotype::Rapid => 1.5,
        Phenotype::Ultrarapid => 2.0,
    }
}

impl EnzymeSpec {
    /// Clearance multiplier 1 − fm + fm·activity (Rowland–Matin relation).
    pub fn clearance_multiplier(&self, p: Phenotype) -> f64 {
        let a = self
            .activity
            .get(&p)
            .copied()
            .unwrap_or_else(|| default_activity(p));
        1.0 - self.fm.value + self.fm.value * a
    }
}

/// Pharmacodynamic model attached to a drug.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case", deny_unknown_fields)]
pub enum PdSpec {
    /// Sigmoid Emax, optionally through an effect compartment.
    Emax {
        /// Response name and unit.
        response: String,
        /// Baseline.
        e0: f64,
        /// Maximal effect.
        emax: f64,
        /// EC50 (mg/L).
        ec50_mg_l: f64,
        /// Hill coefficient.
        hill: f64,
        /// Effect-compartment equilibration rate (1/h), if any.
        #[serde(default)]
        ke0_per_h: Option<f64>,
        /// Source.
        source: String,
    },
    /// Indirect response.
    Indirect {
        /// Response name and unit.
        response: String,
        /// Model type.
        kind: IndirectKind,
        /// Production rate.
        kin: f64,
        /// Loss rate (1/h).
        kout_per_h: f64,
        /// Imax / Smax.
        max_effect: f64,
        /// IC50/SC50 (mg/L).
        c50_mg_l: f64,
        /// Hill coefficient.
        hill: f64,
        /// Multiplier on C50 by VKORC1 -1639 genotype (`GG`, `GA`, `AA`).
        #[serde(default)]
        vkorc1_c50_multiplier: BTreeMap<String, f64>,
        /// Source.
        source: String,
    },
}

/// Which per-profile metric a target or threshold applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetMetric {
    /// Concentration just before the next dose.
    Trough,
    /// Peak concentration.
    Cmax,
    /// Average concentration over the last interval.
    Cavg,
    /// Area under the curve over 24 h at steady state (mg·h/L), i.e. 24·Cavg; the vancomycin
    /// target of the 2020 consensus guideline.
    Auc24,
}

impl TargetMetric {
    /// Unit of the metric's values.
    pub fn unit(self) -> &'static str {
        match self {
            TargetMetric::Auc24 => "mg·h/L",
            _ => "mg/L",
        }
    }
}

/// Therapeutic window and toxicity threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowSpec {
    /// Metric the target window applies to.
    pub metric: TargetMetric,
    /// Lower bound of the therapeutic window (mg/L).
    pub lower_mg_l: f64,
    /// Upper bound (mg/L).
    pub upper_mg_l: f64,
    /// Metric the toxic threshold applies to.
    pub toxic_metric: TargetMetric,
    /// Toxic threshold (mg/L).
    pub toxic_mg_l: f64,
    /// Hazard slope for [`crate::pd::adr_risk`] (per mg·h/L above threshold).
    pub adr_slope: f64,
    /// Source.
    pub source: String,
}

/// Inter-individual and residual variability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariabilitySpec {
    /// Covariance of log-normal random effects on (CL, V, ka).
    pub omega: [[f64; 3]; 3],
    /// Proportional residual error SD.
    pub proportional_error: f64,
    /// Additive residual error SD (mg/L).
    pub additive_error_mg_l: f64,
    /// Source.
    pub source: String,
}

/// Literature PM/NM exposure ratio used to check personalisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedRatio {
    /// Gene.
    pub gene: String,
    /// Diplotype of the low-function group.
    pub poor_diplotype: String,
    /// Diplotype of the reference group.
    pub normal_diplotype: String,
    /// Lower end of the reported AUC ratio.
    pub ratio_min: f64,
    /// Upper end of the reported AUC ratio.
    pub ratio_max: f64,
    /// Source.
    pub source: String,
}

/// Therapeutic drug monitoring: what model-informed precision dosing needs beyond the model
/// (`crate::mipd`). Only drugs that are monitored by measured levels in practice carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TdmSpec {
    /// Exposure target the recommendation aims for.
    pub target: TdmTarget,
    /// Smallest practical dose increment (mg); recommended doses are multiples of it.
    pub dose_step_mg: f64,
    /// Smallest dose considered (mg).
    pub min_dose_mg: f64,
    /// Largest dose considered (mg).
    pub max_dose_mg: f64,
    /// Dosing intervals considered (h).
    pub intervals_h: Vec<f64>,
    /// LOINC codes of the drug's level in FHIR `Observation`s.
    pub level_loinc: Vec<String>,
    /// Sources for the above.
    pub source: String,
}

/// An exposure window at steady state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TdmTarget {
    /// Metric the window applies to.
    pub metric: TargetMetric,
    /// Lower bound (in the metric's unit).
    pub lower: f64,
    /// Upper bound (in the metric's unit).
    pub upper: f64,
}

impl TdmSpec {
    fn validate(&self) -> Result<()> {
        let t = &self.target;
        if !(t.lower.is_finite() && t.lower > 0.0 && t.upper > t.lower) {
            return Err(invalid("tdm.target", "need 0 < lower < upper"));
        }
        if !(self.dose_step_mg.is_finite() && self.dose_step_mg > 0.0) {
            return Err(invalid("tdm.dose_step_mg", "must be > 0"));
        }
        if !(self.min_dose_mg >= self.dose_step_mg && self.max_dose_mg >= self.min_dose_mg) {
            return Err(invalid(
                "tdm.min_dose_mg",
                "need dose_step_mg <= min_dose_mg <= max_dose_mg",
            ));
        }
        if self.intervals_h.is_empty()
            || self.intervals_h.iter().any(|h| !h.is_finite() || *h <= 0.0)
        {
            return Err(invalid("tdm.intervals_h", "need at least one interval > 0"));
        }
        Ok(())
    }
}

/// One library drug.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrugSpec {
    /// Lower-case name used on the CLI.
    pub name: String,
    /// What is modelled (e.g. "S-warfarin").
    pub description: String,
    /// Typical PK.
    pub pk: PkSpec,
    /// Pharmacogenes on clearance.
    #[serde(default)]
    pub enzymes: Vec<EnzymeSpec>,
    /// PD model.
    #[serde(default)]
    pub pd: Option<PdSpec>,
    /// Therapeutic window.
    #[serde(default)]
    pub window: Option<WindowSpec>,
    /// Variability.
    pub variability: VariabilitySpec,
    /// A usual adult regimen.
    pub default_regimen: Regimen,
    /// Literature PM/NM exposure ratios.
    #[serde(default)]
    pub expected_ratio: Vec<ExpectedRatio>,
    /// Therapeutic drug monitoring, for drugs dosed from measured levels.
    #[serde(default)]
    pub tdm: Option<TdmSpec>,
}

impl DrugSpec {
    /// Parses and validates one TOML drug file.
    pub fn from_toml_str(s: &str, origin: &str) -> Result<Self> {
        let d: DrugSpec = toml::from_str(s).map_err(|e| SimError::DrugData {
            origin: origin.into(),
            message: e.to_string(),
        })?;
        d.validate().map_err(|e| SimError::DrugData {
            origin: origin.into(),
            message: e.to_string(),
        })?;
        Ok(d)
    }

    /// Typical-value PK parameters.
    pub fn typical_params(&self) -> PkParams {
        let p = &self.pk;
        PkParams {
            cl_l_h: p.cl_l_h.value,
            v_l: p.v_l.value,
            ka_per_h: p.ka_per_h.value,
            f: p.f.value,
            tlag_h: p.tlag_h.as_ref().map_or(0.0, |c| c.value),
            q_l_h: p.q_l_h.as_ref().map_or(0.0, |c| c.value),
            v2_l: p.v2_l.as_ref().map_or(0.0, |c| c.value),
        }
    }

    fn validate(&self) -> Result<()> {
        self.typical_params().validate()?;
        self.default_regimen.validate()?;
        if !(0.0..=1.0).contains(&self.pk.fraction_renal.value) {
            return Err(invalid("pk.fraction_renal", "must be in [0, 1]"));
        }
        for e in &self.enzymes {
            if !(0.0..=1.0).contains(&e.fm.value) {
                return Err(invalid(
                    format!("enzymes.{}.fm", e.gene),
                    "must be in [0, 1]",
                ));
            }
        }
        if let Some(t) = &self.tdm {
            t.validate()?;
        }
        let o = &self.variability.omega;
        let symmetric = (0..3).all(|i| (0..3).all(|j| (o[i][j] - o[j][i]).abs() <= 1e-12));
        if !symmetric {
            return Err(invalid("variability.omega", "must be symmetric"));
        }
        crate::population::cholesky3(o).map(|_| ())
    }
}

/// Built-in drug files, embedded at compile time.
const BUILTIN: &[(&str, &str)] = &[
    (
        "metoprolol.toml",
        include_str!("../data/drugs/metoprolol.toml"),
    ),
    ("warfarin.toml", include_str!("../data/drugs/warfarin.toml")),
    (
        "simvastatin.toml",
        include_str!("../data/drugs/simvastatin.toml"),
    ),
    (
        "tacrolimus.toml",
        include_str!("../data/drugs/tacrolimus.toml"),
    ),
    (
        "vancomycin.toml",
        include_str!("../data/drugs/vancomycin.toml"),
    ),
];

/// A set of drugs by name.
#[derive(Debug, Clone, Default)]
pub struct DrugLibrary {
    drugs: BTreeMap<String, DrugSpec>,
}

impl DrugLibrary {
    /// The embedded library (metoprolol, warfarin, simvastatin, tacrolimus, vancomycin).
    pub fn builtin() -> Self {
        let mut lib = DrugLibrary::default();
        for (origin, text) in BUILTIN {
            // Embedded files are checked by the test suite; a failure here is a build defect.
            let d = DrugSpec::from_toml_str(text, origin)
                .unwrap_or_else(|e| panic!("built-in drug file is invalid: {e}"));
            lib.insert(d);
        }
        lib
    }

    /// Loads every `*.toml` in `dir`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let mut lib = DrugLibrary::default();
        let mut paths: Vec<_> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for p in paths {
            lib.insert(Self::load_file(&p)?);
        }
        Ok(lib)
    }

    /// Loads one drug file.
    pub fn load_file(path: &Path) -> Result<DrugSpec> {
        let text = std::fs::read_to_string(path)?;
        DrugSpec::from_toml_str(&text, &path.display().to_string())
    }

    /// Adds or replaces a drug.
    pub fn insert(&mut self, d: DrugSpec) {
        self.drugs.insert(d.name.to_ascii_lowercase(), d);
    }

    /// Looks a drug up by (case-insensitive) name.
    pub fn get(&self, name: &str) -> Result<&DrugSpec> {
        self.drugs
            .get(&name.trim().to_ascii_lowercase())
            .ok_or_else(|| SimError::UnknownDrug {
                name: name.to_string(),
                known: self.names().join(", "),
            })
    }

    /// Drug names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.drugs.keys().cloned().collect()
    }

    /// All drugs.
    pub fn iter(&self) -> impl Iterator<Item = &DrugSpec> {
        self.drugs.values()
    }
}
