//! Personalising a drug's typical PK (and PD sensitivity) to one patient.

use serde::{Deserialize, Serialize};

use crate::drugs::{DrugSpec, PdSpec};
use crate::error::Result;
use crate::patient::PatientRecord;
use crate::pgx::{self, PgxCall, Phenotype};
use crate::pk::PkParams;
use crate::renal;

/// Individual parameters plus the reasons they differ from typical.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Personalized {
    /// Drug name.
    pub drug: String,
    /// Individual PK parameters.
    pub params: PkParams,
    /// eGFR (CKD-EPI 2021, mL/min/1.73 m²).
    pub egfr: f64,
    /// Pharmacogenetic calls used (missing genotypes are assumed normal).
    pub pgx: Vec<PgxCall>,
    /// Clearance multiplier from pharmacogenetics.
    pub cl_multiplier_pgx: f64,
    /// Clearance multiplier from renal function.
    pub cl_multiplier_renal: f64,
    /// Clearance multiplier from body weight.
    pub cl_multiplier_weight: f64,
    /// Volume multiplier from body weight.
    pub v_multiplier_weight: f64,
    /// Multiplier on the PD potency parameter (C50), e.g. from VKORC1.
    pub pd_c50_multiplier: f64,
    /// Human-readable notes (assumptions made).
    pub notes: Vec<String>,
}

/// Personalises `drug` to `patient`:
/// CL = CL_typ · Π_enzymes(1 − fm + fm·activity) · (1 − fe + fe·eGFR/eGFR_ref) · (WT/WT_ref)^0.75,
/// V (and V2, Q scaled like V and CL) by (WT/WT_ref)^1.
pub fn personalize(drug: &DrugSpec, patient: &PatientRecord) -> Result<Personalized> {
    patient.validate()?;
    let mut notes = Vec::new();
    let egfr = renal::egfr_ckd_epi_2021(
        patient.serum_creatinine_mg_dl,
        patient.age_years,
        patient.sex,
    )?;
    let (cl_w, v_w) =
        renal::allometric_multipliers(patient.weight_kg, drug.pk.reference_weight_kg)?;
    let cl_r = renal::renal_clearance_multiplier(
        drug.pk.fraction_renal.value,
        egfr,
        drug.pk.reference_egfr,
    );
    let mut cl_g = 1.0;
    let mut calls = Vec::new();
    for e in &drug.enzymes {
        let dip = patient
            .genotypes
            .iter()
            .find(|(g, _)| g.eq_ignore_ascii_case(&e.gene))
            .map(|(_, d)| d.as_str());
        let call = match dip {
            Some(d) => pgx::assess(&e.gene, d)?,
            None => {
                notes.push(format!(
                    "no {} genotype: assumed normal {} phenotype",
                    e.gene, e.gene
                ));
                PgxCall {
                    gene: e.gene.clone(),
                    diplotype: "unknown".into(),
                    activity_score: None,
                    phenotype: Phenotype::Normal,
                }
            }
        };
        cl_g *= e.clearance_multiplier(call.phenotype);
        calls.push(call);
    }
    let mut pd_mult = 1.0;
    if let Some(PdSpec::Indirect {
        vkorc1_c50_multiplier,
        ..
    }) = &drug.pd
    {
        if !vkorc1_c50_multiplier.is_empty() {
            match patient
                .genotypes
                .iter()
                .find(|(g, _)| g.eq_ignore_ascii_case("VKORC1"))
            {
                Some((_, d)) => {
                    let key = format!("{:?}", pgx::vkorc1(d)?);
                    pd_mult = vkorc1_c50_multiplier.get(&key).copied().unwrap_or(1.0);
                }
                None => notes.push("no VKORC1 genotype: assumed -1639 G/G sensitivity".into()),
            }
        }
    }
    let t = drug.typical_params();
    let cl_total = cl_g * cl_r * cl_w;
    let params = PkParams {
        cl_l_h: t.cl_l_h * cl_total,
        v_l: t.v_l * v_w,
        q_l_h: t.q_l_h * cl_w,
        v2_l: t.v2_l * v_w,
        ..t
    };
    params.validate()?;
    Ok(Personalized {
        drug: drug.name.clone(),
        params,
        egfr,
        pgx: calls,
        cl_multiplier_pgx: cl_g,
        cl_multiplier_renal: cl_r,
        cl_multiplier_weight: cl_w,
        v_multiplier_weight: v_w,
        pd_c50_multiplier: pd_mult,
        notes,
    })
}
