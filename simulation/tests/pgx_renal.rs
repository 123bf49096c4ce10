//! CPIC phenotype tables and CKD-EPI 2021 reference values.

use consentry_simulation::pgx::{self, Phenotype::*};
use consentry_simulation::renal::{allometric_multipliers, egfr_ckd_epi_2021};
use consentry_simulation::{Sex, SimError};

#[test]
fn cyp2d6_activity_scores_and_phenotypes_follow_cpic() {
    // (diplotype, CPIC activity score, phenotype) — Caudle et al. 2020 table.
    let cases = [
        ("*1/*1", 2.0, Normal),
        ("*1/*2", 2.0, Normal),
        ("*1/*41", 1.5, Normal),
        ("*1/*10", 1.25, Normal),
        ("*1/*4", 1.0, Intermediate),
        ("*41/*41", 1.0, Intermediate),
        ("*4/*10", 0.25, Intermediate),
        ("*10/*10", 0.5, Intermediate),
        ("*4/*4", 0.0, Poor),
        ("*4/*5", 0.0, Poor),
        ("*1x2/*1", 3.0, Ultrarapid),
        ("*1/*2xN", 3.0, Ultrarapid),
        ("*1x2/*4", 2.0, Normal),
    ];
    for (d, score, ph) in cases {
        let call = pgx::assess("CYP2D6", d).unwrap();
        assert_eq!(call.activity_score, Some(score), "{d}");
        assert_eq!(call.phenotype, ph, "{d}");
    }
}

#[test]
fn cyp2c9_cyp2c19_cyp3a5_slco1b1_tables() {
    let c2c9 = [
        ("*1/*1", Normal),
        ("*1/*2", Intermediate),
        ("*1/*3", Intermediate),
        ("*2/*2", Intermediate),
        ("*2/*3", Poor),
        ("*3/*3", Poor),
    ];
    for (d, ph) in c2c9 {
        assert_eq!(pgx::phenotype("CYP2C9", d).unwrap(), ph, "CYP2C9 {d}");
    }
    let c2c19 = [
        ("*1/*1", Normal),
        ("*1/*17", Rapid),
        ("*17/*17", Ultrarapid),
        ("*1/*2", Intermediate),
        ("*2/*17", Intermediate),
        ("*2/*2", Poor),
        ("*2/*3", Poor),
    ];
    for (d, ph) in c2c19 {
        assert_eq!(pgx::phenotype("CYP2C19", d).unwrap(), ph, "CYP2C19 {d}");
    }
    for (d, ph) in [
        ("*1/*1", Normal),
        ("*1/*3", Intermediate),
        ("*3/*3", Poor),
        ("*3/*7", Poor),
    ] {
        assert_eq!(pgx::phenotype("cyp3a5", d).unwrap(), ph, "CYP3A5 {d}");
    }
    let slco = [
        ("*1/*1", Normal),
        ("*1/*5", Intermediate),
        ("*5/*15", Poor),
        ("*1/*14", Rapid),
        ("TC", Intermediate),
        ("C/C", Poor),
        ("T/T", Normal),
    ];
    for (d, ph) in slco {
        assert_eq!(pgx::phenotype("SLCO1B1", d).unwrap(), ph, "SLCO1B1 {d}");
    }
    assert_eq!(pgx::vkorc1("A/G").unwrap(), pgx::Vkorc1::GA);
    assert_eq!(pgx::vkorc1("-1639AA").unwrap(), pgx::Vkorc1::AA);
}

#[test]
fn bad_genotypes_are_typed_errors_naming_the_field() {
    assert!(matches!(
        pgx::phenotype("CYP2D6", "*1/*999"),
        Err(SimError::UnknownAllele { .. })
    ));
    assert!(matches!(
        pgx::phenotype("ABC1", "*1/*1"),
        Err(SimError::UnknownGene { .. })
    ));
    let e = pgx::phenotype("CYP2D6", "*1").unwrap_err().to_string();
    assert!(e.starts_with("genotypes.CYP2D6:"), "{e}");
    let e = pgx::phenotype("CYP2D6", "*1/*999").unwrap_err().to_string();
    assert!(e.contains("*999") && e.contains("known alleles"), "{e}");
}

#[test]
fn ckd_epi_2021_reference_values() {
    // Values worked by hand from the published equation (Inker et al.,
    // N Engl J Med 2021;385:1737-49), e.g. male 50 y, Scr 1.0:
    // 142 · (1.0/0.9)^−1.200 · 0.9938^50 = 142 · 0.88123 · 0.73276 = 91.69.
    let cases = [
        (1.0, 50.0, Sex::Male, 91.691),
        (0.6, 60.0, Sex::Female, 102.693),
        (2.0, 70.0, Sex::Male, 35.243),
        (0.8, 30.0, Sex::Female, 101.589),
        (1.2, 45.0, Sex::Female, 56.888),
    ];
    for (scr, age, sex, expect) in cases {
        let got = egfr_ckd_epi_2021(scr, age, sex).unwrap();
        assert!(
            (got - expect).abs() < 0.01,
            "scr {scr} age {age} {sex:?}: {got} vs {expect}"
        );
    }
    let e = egfr_ckd_epi_2021(-1.0, 50.0, Sex::Male)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("serum_creatinine_mg_dl:"), "{e}");
    assert!(egfr_ckd_epi_2021(1.0, 10.0, Sex::Male).is_err());
}

#[test]
fn allometry_uses_three_quarter_power_on_clearance() {
    let (cl, v) = allometric_multipliers(140.0, 70.0).unwrap();
    assert!((cl - 2f64.powf(0.75)).abs() < 1e-12 && (v - 2.0).abs() < 1e-12);
    assert!(allometric_multipliers(0.0, 70.0).is_err());
}
