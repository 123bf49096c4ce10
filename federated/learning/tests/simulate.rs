//! Whole studies in one process (small configs, a few seconds in release):
//! federated learning learns, ε is recomputable from the report, a site that
//! drops out is excluded and the round still completes, a revoked patient is
//! absent from the next round.

use std::collections::BTreeSet;

use consentry_federated::aggregation::Aggregation;
use consentry_federated::data::{CohortSpec, StudyData};
use consentry_federated::model::ModelSpec;
use consentry_federated::optim::OptimizerKind;
use consentry_federated::simulate::{
    simulate, LocalSpec, PrivacySpec, Simulation, StudyConfig, StudyReport,
};
use consentry_privacy::{DpSgdEvent, RdpAccountant};

fn data(n: usize) -> StudyData {
    StudyData::generate(&CohortSpec {
        n_patients: n,
        seq_len: 4,
        test_frac: 0.3,
        ..Default::default()
    })
    .unwrap()
}

fn config(sites: usize, rounds: usize) -> StudyConfig {
    StudyConfig {
        name: "test".into(),
        n_sites: sites,
        alpha: 1.0,
        min_site_patients: 30,
        rounds,
        model: ModelSpec::default(),
        local: LocalSpec {
            optimizer: OptimizerKind::Adam,
            lr: 3e-3,
            epochs: 2,
            batch_size: 32,
        },
        privacy: None,
        aggregation: Aggregation::SecAgg,
        threshold: 2,
        secagg_clip: 8.0,
        seed: 3,
        dropouts: Vec::new(),
        revocations: Vec::new(),
        gbdt: None,
    }
}

#[test]
fn three_sites_without_dp_learn_through_secure_aggregation() {
    let d = data(2500);
    let r = simulate(config(3, 3), &d, false).unwrap();
    assert_eq!(r.rounds.len(), 3);
    assert!(r.rounds.iter().all(|x| x.aggregated == vec![0, 1, 2]));
    // Quantization error of the secure sum is tiny against the updates.
    assert!(r.rounds.iter().all(|x| x.aggregation_max_abs_error < 1e-4));
    assert!(r.privacy.is_none());
    assert!(
        r.test.response.roc_auc > 0.6,
        "response AUC {}",
        r.test.response.roc_auc
    );
    assert!(r.test.adr.roc_auc > 0.6, "ADR AUC {}", r.test.adr.roc_auc);
    // The sites differ (non-IID): sizes and drug mixes are not all equal.
    let sizes: BTreeSet<usize> = r.sites.iter().map(|s| s.patients).collect();
    assert_eq!(sizes.len(), 3);
}

/// ε recomputed from nothing but the JSON report's per-round accountant inputs.
fn recompute_epsilon(json: &serde_json::Value) -> f64 {
    let mut acc = RdpAccountant::new();
    for round in json["rounds"].as_array().unwrap() {
        let dp = &round["dp"];
        acc.compose(
            &DpSgdEvent::new(
                dp["sampling_rate"].as_f64().unwrap(),
                dp["noise_multiplier"].as_f64().unwrap(),
                dp["steps"].as_u64().unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
    }
    let delta = json["config"]["privacy"]["delta"].as_f64().unwrap();
    acc.epsilon(delta).unwrap().epsilon
}

#[test]
fn reported_epsilon_is_the_accountants_and_meets_the_target() {
    let d = data(1200);
    let mut cfg = config(3, 2);
    cfg.privacy = Some(PrivacySpec {
        target_epsilon: 2.0,
        delta: 1e-5,
        sampling_rate: 0.2,
        clip_norm: 1.0,
        local_steps: 2,
    });
    let r: StudyReport = simulate(cfg, &d, false).unwrap();
    let json = serde_json::to_value(&r).unwrap();
    let recomputed = recompute_epsilon(&json);
    let p = r.privacy.as_ref().unwrap();
    assert!(
        (p.epsilon - recomputed).abs() < 1e-9,
        "{} vs {recomputed}",
        p.epsilon
    );
    assert_eq!(
        r.rounds.last().unwrap().epsilon_cumulative.unwrap(),
        p.epsilon
    );
    // σ was calibrated for the whole study: the budget is met, and not by a wide margin.
    assert!(p.epsilon <= 2.0 * (1.0 + 1e-4), "ε {}", p.epsilon);
    assert!(
        p.epsilon > 1.9,
        "ε {} far below the target: σ over-calibrated",
        p.epsilon
    );
    assert_eq!(p.total_steps, 4);
    assert!(p.noise_multiplier > 0.0);
    // ε grows round by round.
    assert!(r.rounds[0].epsilon_cumulative.unwrap() < p.epsilon);
}

#[test]
fn a_site_that_drops_out_is_excluded_and_the_round_completes() {
    let d = data(1200);
    let mut cfg = config(3, 2);
    cfg.local.epochs = 1;
    cfg.dropouts = vec![(2, 1)];
    let r = simulate(cfg.clone(), &d, false).unwrap();
    assert_eq!(r.rounds[0].aggregated, vec![0, 1, 2]);
    assert_eq!(r.rounds[1].aggregated, vec![0, 2]);
    assert_eq!(r.rounds[1].dropped, vec![1]);
    // Σ n_k counts only the sites whose input arrived.
    let n = &r.rounds[1].n_by_site;
    assert_eq!(r.rounds[1].total_n, (n[&0] + n[&2]) as f64);
    // Two of three dropping leaves fewer than the threshold (2): the round fails.
    let mut sim = Simulation::new(cfg.clone(), &d).unwrap();
    sim.run_round(&[]).unwrap();
    let before = sim.global().to_vec();
    assert!(sim.run_round(&[0, 2]).is_err());
    assert_eq!(
        sim.global(),
        &before[..],
        "a failed round must not change the model"
    );
    // In the clear the same rule holds.
    cfg.aggregation = Aggregation::InTheClear;
    let mut sim = Simulation::new(cfg, &d).unwrap();
    assert!(sim.run_round(&[1, 2]).is_err());
    assert_eq!(sim.run_round(&[2]).unwrap().record.aggregated, vec![0, 1]);
}

#[test]
fn a_revoked_patient_is_absent_from_the_next_round() {
    let d = data(1200);
    let mut cfg = config(3, 2);
    cfg.local.epochs = 1;
    let mut sim = Simulation::new(cfg, &d).unwrap();
    let patient = sim.holdings()[1][5].clone();
    let r1 = sim.run_round(&[]).unwrap();
    assert!(r1.read[&1].contains(&patient));
    let n1 = r1.record.n_by_site[&1];
    sim.revoke(&patient);
    assert!(!sim.granted(1).contains(&patient));
    let r2 = sim.run_round(&[]).unwrap();
    assert!(r2.read.values().all(|ids| !ids.contains(&patient)));
    assert_eq!(r2.record.n_by_site[&1], n1 - 1);
    // Nobody else was dropped.
    assert_eq!(r2.record.n_by_site[&0], r1.record.n_by_site[&0]);
}
