//! Drug library integrity, personalisation, and PM/NM exposure ratios
//! against the literature ranges cited in each drug file.

use consentry_simulation::metrics::profile_metrics;
use consentry_simulation::pk::{closed_form, Dose, Route};
use consentry_simulation::regimen::time_grid;
use consentry_simulation::{personalize, DrugLibrary, PatientRecord};

fn patient_with(gene: &str, dip: &str) -> PatientRecord {
    let mut p = PatientRecord::reference();
    p.genotypes.insert(gene.into(), dip.into());
    p
}

/// Single-dose AUC0–∞ from a simulated profile (not from F·D/CL).
fn simulated_auc(drug: &consentry_simulation::DrugSpec, patient: &PatientRecord) -> f64 {
    let ind = personalize(drug, patient).unwrap();
    let p = ind.params;
    let dose = [Dose {
        time_h: 0.0,
        amount_mg: drug.default_regimen.dose_mg,
        route: drug.default_regimen.route,
    }];
    let horizon = 12.0 * std::f64::consts::LN_2 / p.terminal_rate() + 48.0;
    let times = time_grid(0.0, horizon, horizon / 20_000.0).unwrap();
    let c = closed_form::concentrations(&p, &dose, &times).unwrap();
    profile_metrics(&times, &c, 0.0, horizon, p.terminal_rate(), None).auc_inf
}

#[test]
fn builtin_library_has_required_drugs_with_sources() {
    let lib = DrugLibrary::builtin();
    for name in [
        "metoprolol",
        "warfarin",
        "simvastatin",
        "tacrolimus",
        "vancomycin",
    ] {
        let d = lib.get(name).unwrap();
        assert!(
            !d.pk.cl_l_h.source.is_empty()
                && !d.pk.v_l.source.is_empty()
                && !d.pk.f.source.is_empty()
        );
        for e in &d.enzymes {
            assert!(!e.fm.source.is_empty());
        }
    }
    let genes: Vec<(&str, &str)> = vec![
        ("metoprolol", "CYP2D6"),
        ("warfarin", "CYP2C9"),
        ("simvastatin", "SLCO1B1"),
        ("tacrolimus", "CYP3A5"),
    ];
    for (drug, gene) in genes {
        assert!(
            lib.get(drug)
                .unwrap()
                .enzymes
                .iter()
                .any(|e| e.gene == gene),
            "{drug} lacks {gene}"
        );
    }
    let e = lib.get("aspirinx").unwrap_err().to_string();
    assert!(
        e.starts_with("drug: unknown drug") && e.contains("metoprolol"),
        "{e}"
    );
}

#[test]
fn poor_vs_normal_exposure_ratio_is_inside_the_cited_literature_range() {
    let lib = DrugLibrary::builtin();
    let mut checked = 0;
    for drug in lib.iter() {
        for er in &drug.expected_ratio {
            let pm = simulated_auc(drug, &patient_with(&er.gene, &er.poor_diplotype));
            let nm = simulated_auc(drug, &patient_with(&er.gene, &er.normal_diplotype));
            let ratio = pm / nm;
            assert!(
                ratio >= er.ratio_min && ratio <= er.ratio_max,
                "{} {} {} vs {}: ratio {ratio:.2} outside [{}, {}] ({})",
                drug.name,
                er.gene,
                er.poor_diplotype,
                er.normal_diplotype,
                er.ratio_min,
                er.ratio_max,
                er.source
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 4,
        "every pharmacogenetic library drug must carry a literature ratio"
    );
}

#[test]
fn renal_function_and_weight_change_clearance_in_the_expected_direction() {
    let lib = DrugLibrary::builtin();
    let vanco = lib.get("vancomycin").unwrap();
    let normal = personalize(vanco, &PatientRecord::reference()).unwrap();
    let mut ckd = PatientRecord::reference();
    ckd.serum_creatinine_mg_dl = 3.0;
    let ckd = personalize(vanco, &ckd).unwrap();
    assert!(ckd.egfr < 30.0 && normal.egfr > 90.0);
    // Dettli: CL ratio = (1 − fe + fe·g1/gref)/(1 − fe + fe·g0/gref), fe = 0.9.
    let fe = vanco.pk.fraction_renal.value;
    let expect = (1.0 - fe + fe * ckd.egfr / 120.0) / (1.0 - fe + fe * normal.egfr / 120.0);
    assert!((ckd.params.cl_l_h / normal.params.cl_l_h - expect).abs() < 1e-12);
    let mut heavy = PatientRecord::reference();
    heavy.weight_kg = 140.0;
    let heavy = personalize(vanco, &heavy).unwrap();
    assert!((heavy.params.v_l / normal.params.v_l - 2.0).abs() < 1e-12);
    // Metoprolol is barely renal: CKD hardly changes CL.
    let meto = lib.get("metoprolol").unwrap();
    let mut p = PatientRecord::reference();
    let a = personalize(meto, &p).unwrap().params.cl_l_h;
    p.serum_creatinine_mg_dl = 3.0;
    let b = personalize(meto, &p).unwrap().params.cl_l_h;
    assert!(b / a > 0.9 && b / a < 1.0);
}

#[test]
fn vkorc1_increases_warfarin_sensitivity_and_missing_genotype_is_noted() {
    let lib = DrugLibrary::builtin();
    let w = lib.get("warfarin").unwrap();
    let gg = personalize(w, &patient_with("VKORC1", "G/G")).unwrap();
    let aa = personalize(w, &patient_with("VKORC1", "A/A")).unwrap();
    assert!(aa.pd_c50_multiplier < gg.pd_c50_multiplier);
    let none = personalize(w, &PatientRecord::reference()).unwrap();
    assert!(
        none.notes.iter().any(|n| n.contains("CYP2C9"))
            && none.notes.iter().any(|n| n.contains("VKORC1"))
    );
    let e = personalize(w, &patient_with("CYP2C9", "*1/*77"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("genotypes.CYP2C9:"), "{e}");
}

#[test]
fn drug_files_load_from_a_directory_and_bad_files_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let good = include_str!("../data/drugs/metoprolol.toml");
    std::fs::write(dir.path().join("m.toml"), good).unwrap();
    let lib = DrugLibrary::from_dir(dir.path()).unwrap();
    assert_eq!(lib.names(), vec!["metoprolol".to_string()]);
    std::fs::write(
        dir.path().join("bad.toml"),
        good.replace("value = 63.0", "value = -63.0"),
    )
    .unwrap();
    let e = DrugLibrary::from_dir(dir.path()).unwrap_err().to_string();
    assert!(e.contains("pk.cl_l_h"), "{e}");
    let _ = Route::Oral;
}
