//! From records to tensors, and the serving path: predict and explain one
//! (patient, drug) query with a loaded [`Bundle`].

use anyhow::Result;
use candle_core::{Device, Tensor};
use consentry_simulation::patient::PatientRecord;
use serde::Serialize;

use crate::checkpoint::Bundle;
use crate::cohort::Cohort;
use crate::explain::integrated_gradients::integrated_gradients;
use crate::explain::treeshap::tree_shap;
use crate::features::{FeatureSpec, Standardizer, VITALS};
use crate::train::{GbdtPair, Tensors};

/// Raw features of every cohort row plus the standardiser fitted on the training rows.
pub struct Prepared {
    pub spec: FeatureSpec,
    pub standardizer: Standardizer,
    /// Tabular rows (NaN = missing), one per cohort row.
    pub tab: Vec<Vec<f32>>,
    /// Flattened `[T*C]` sequences (NaN = unobserved).
    pub seq: Vec<Vec<f32>>,
    pub y: Vec<[f32; 2]>,
}

impl Prepared {
    /// Extracts features for the whole cohort.
    pub fn new(cohort: &Cohort, seq_len: usize) -> Result<Self> {
        let spec = FeatureSpec {
            drugs: cohort.drugs.clone(),
            seq_len,
        };
        let mut tab = Vec::with_capacity(cohort.rows.len());
        let mut seq = Vec::with_capacity(cohort.rows.len());
        for r in &cohort.rows {
            tab.push(spec.tabular(&r.record, &r.drug, r.dose_multiplier)?);
            seq.push(spec.sequence(&r.record));
        }
        let tr_tab: Vec<Vec<f32>> = cohort.train.iter().map(|&i| tab[i].clone()).collect();
        let tr_seq: Vec<Vec<f32>> = cohort.train.iter().map(|&i| seq[i].clone()).collect();
        let standardizer = Standardizer::fit(&tr_tab, &tr_seq, VITALS.len());
        Ok(Self {
            spec,
            standardizer,
            tab,
            seq,
            y: cohort.rows.iter().map(|r| r.y).collect(),
        })
    }

    /// Rows `idx` of the tabular matrix (for the GBDT).
    pub fn tab_rows(&self, idx: &[usize]) -> Vec<Vec<f32>> {
        idx.iter().map(|&i| self.tab[i].clone()).collect()
    }

    /// Rows `idx` of every feature: the tabular row followed by the flattened vital-sign series
    /// (NaN = missing or unobserved), for a GBDT that sees what the sequence models see. Column
    /// names: [`FeatureSpec::names`] then [`FeatureSpec::sequence_names`].
    pub fn all_rows(&self, idx: &[usize]) -> Vec<Vec<f32>> {
        idx.iter()
            .map(|&i| [self.tab[i].as_slice(), &self.seq[i]].concat())
            .collect()
    }

    /// Labels of rows `idx`.
    pub fn labels(&self, idx: &[usize]) -> Vec<[f32; 2]> {
        idx.iter().map(|&i| self.y[i]).collect()
    }

    /// Device tensors for rows `idx`, with the GBDT margins given per row (aligned with `idx`).
    pub fn tensors(&self, idx: &[usize], margins: &[[f32; 2]], device: &Device) -> Result<Tensors> {
        let rows: Vec<RawRow> = idx
            .iter()
            .zip(margins)
            .map(|(&i, m)| {
                (
                    self.tab[i].as_slice(),
                    self.seq[i].as_slice(),
                    *m,
                    self.y[i],
                )
            })
            .collect();
        build_tensors(&self.standardizer, &self.spec, &rows, device)
    }
}

/// One raw query: tabular row, flattened sequence, GBDT margins, labels.
pub type RawRow<'a> = (&'a [f32], &'a [f32], [f32; 2], [f32; 2]);

/// Standardises raw rows `(tabular, sequence, margins, labels)` into [`Tensors`].
pub fn build_tensors(
    st: &Standardizer,
    spec: &FeatureSpec,
    rows: &[RawRow],
    device: &Device,
) -> Result<Tensors> {
    let n = rows.len();
    let f = spec.n_tabular();
    let (t, c2) = (spec.seq_len, spec.seq_channels());
    let (mut v, mut m, mut s, mut g, mut y) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (tab, seq, margins, label) in rows {
        let (vals, miss) = st.tabular(tab);
        v.extend(vals);
        m.extend(miss);
        s.extend(st.sequence(seq));
        g.extend_from_slice(margins);
        y.extend_from_slice(label);
    }
    Ok(Tensors {
        values: Tensor::from_vec(v, (n, f), device)?,
        missing: Tensor::from_vec(m, (n, f), device)?,
        seq: Tensor::from_vec(s, (n, t, c2), device)?,
        gbdt: Tensor::from_vec(g, (n, 2), device)?,
        y: Tensor::from_vec(y, (n, 2), device)?,
    })
}

/// IG baseline: mean (0) and observed tabular values, vitals at their mean and
/// observed, GBDT margins at their expected values.
pub fn baseline_tensors(spec: &FeatureSpec, gbdt: &GbdtPair, device: &Device) -> Result<Tensors> {
    let f = spec.n_tabular();
    let (t, c2) = (spec.seq_len, spec.seq_channels());
    let c = c2 / 2;
    let mut seq = vec![0f32; t * c2];
    for ti in 0..t {
        for ci in 0..c {
            seq[ti * c2 + c + ci] = 1.0;
        }
    }
    let expected = |m: &crate::models::gbdt::Gbdt| -> f32 {
        (m.base_margin()
            + m.trees
                .iter()
                .map(crate::explain::treeshap::expected_value)
                .sum::<f64>()) as f32
    };
    Ok(Tensors {
        values: Tensor::zeros((1, f), candle_core::DType::F32, device)?,
        missing: Tensor::zeros((1, f), candle_core::DType::F32, device)?,
        seq: Tensor::from_vec(seq, (1, t, c2), device)?,
        gbdt: Tensor::new(&[[expected(&gbdt.response), expected(&gbdt.adr)]], device)?,
        y: Tensor::zeros((1, 2), candle_core::DType::F32, device)?,
    })
}

/// One named attribution.
#[derive(Debug, Clone, Serialize)]
pub struct Attribution {
    pub feature: String,
    /// Contribution in logit units (positive raises the probability).
    pub value: f64,
}

/// Attributions for one task, largest |value| first.
#[derive(Debug, Clone, Serialize)]
pub struct TaskExplanation {
    /// The hybrid's probability, Platt-calibrated where the bundle carries a calibration.
    pub probability: f64,
    /// The hybrid's probability before calibration (what the attributions explain).
    pub uncalibrated_probability: f64,
    /// Integrated Gradients (+ TreeSHAP through the GBDT input) for the hybrid.
    pub hybrid_ig: Vec<Attribution>,
    /// `Σ IG − (logit − baseline logit)`.
    pub ig_completeness_gap: f64,
    /// Exact TreeSHAP of the standalone booster (margin units).
    pub gbdt_treeshap: Vec<Attribution>,
    pub gbdt_probability: f64,
}

/// A prediction with its explanation.
#[derive(Debug, Clone, Serialize)]
pub struct Prediction {
    /// SHA-256 model version (what the ledger records).
    pub model_version: String,
    pub patient_id: Option<String>,
    pub drug: String,
    pub dose_multiplier: f64,
    pub response: TaskExplanation,
    pub adr: TaskExplanation,
}

fn ranked(names: &[String], vals: &[f64]) -> Vec<Attribution> {
    let mut a: Vec<Attribution> = names
        .iter()
        .zip(vals)
        .map(|(n, &v)| Attribution {
            feature: n.clone(),
            value: v,
        })
        .collect();
    a.sort_by(|x, y| {
        y.value
            .abs()
            .partial_cmp(&x.value.abs())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    a
}

/// Names of the hybrid's attribution slots: tabular columns then vital series.
pub fn attribution_names(spec: &FeatureSpec) -> Vec<String> {
    let mut n = spec.names();
    n.extend(VITALS.iter().map(|v| format!("series:{v}")));
    n
}

impl Bundle {
    /// The hybrid's (response, ADR) probabilities for one query, Platt-calibrated where the
    /// bundle carries a calibration, without attributions: what a streaming twin recomputes at
    /// every vital-sign sample (IG costs `ig_steps` more passes).
    pub fn probabilities(
        &self,
        record: &PatientRecord,
        drug: &str,
        dose_multiplier: f64,
    ) -> Result<[f64; 2]> {
        let spec = &self.manifest.spec;
        let drug_name = spec.drugs[spec.drug_index(drug)?].clone();
        let tab = spec.tabular(record, &drug_name, dose_multiplier)?;
        let seq = spec.sequence(record);
        let margins = self.gbdt.margins(&tab);
        let x = build_tensors(
            &self.manifest.standardizer,
            spec,
            &[(&tab, &seq, margins, [0.0, 0.0])],
            &self.device(),
        )?;
        let p = self.hybrid.predict_proba(&x, 1)?[0];
        Ok([0, 1].map(|k| self.calibration.map_or(p[k], |c| c[k].apply(p[k]))))
    }

    fn device(&self) -> Device {
        self.hybrid
            .varmap
            .all_vars()
            .first()
            .map(|v| v.device().clone())
            .unwrap_or(Device::Cpu)
    }

    /// Predicts and explains one query; `ig_steps` path points for IG.
    pub fn predict(
        &self,
        record: &PatientRecord,
        drug: &str,
        dose_multiplier: f64,
        ig_steps: usize,
    ) -> Result<Prediction> {
        let spec = &self.manifest.spec;
        let drug_name = spec.drugs[spec.drug_index(drug)?].clone();
        let tab = spec.tabular(record, &drug_name, dose_multiplier)?;
        let seq = spec.sequence(record);
        let margins = self.gbdt.margins(&tab);
        let device = self.device();
        let x = build_tensors(
            &self.manifest.standardizer,
            spec,
            &[(&tab, &seq, margins, [0.0, 0.0])],
            &device,
        )?;
        let base = baseline_tensors(spec, &self.gbdt, &device)?;
        let p = self.hybrid.predict_proba(&x, 1)?[0];
        let (phi_r, _) = tree_shap(&self.gbdt.response, &tab);
        let (phi_a, _) = tree_shap(&self.gbdt.adr, &tab);
        let ig = integrated_gradients(
            &self.hybrid,
            &x,
            &base,
            [&phi_r, &phi_a],
            VITALS.len(),
            ig_steps,
        )?;
        let names = attribution_names(spec);
        let tab_names = spec.names();
        let task = |k: usize, phi: &[f64], g: &crate::models::gbdt::Gbdt| TaskExplanation {
            probability: self.calibration.map_or(p[k], |c| c[k].apply(p[k])),
            uncalibrated_probability: p[k],
            hybrid_ig: ranked(&names, &ig[k].values),
            ig_completeness_gap: ig[k].completeness_gap(),
            gbdt_treeshap: ranked(&tab_names, phi),
            gbdt_probability: g.predict_proba(&tab),
        };
        Ok(Prediction {
            model_version: self.manifest.model_version.clone(),
            patient_id: record.id.clone(),
            drug: drug_name,
            dose_multiplier,
            response: task(0, &phi_r, &self.gbdt.response),
            adr: task(1, &phi_a, &self.gbdt.adr),
        })
    }
}
