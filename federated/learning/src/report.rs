//! The grid behind `docs/FEDERATED.md`: centralized vs federated (5, 10, 20
//! sites, non-IID), without DP and with patient-level DP at several
//! whole-study ε, all on one synthetic population with one fixed test set.
//! Writes the JSON report (every run's config, per-round metrics, accountant
//! inputs and ε) after each run, and the Markdown table at the end.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{Context, Result};
use consentry_inference::models::gbdt::GbdtConfig;
use serde::{Deserialize, Serialize};

use crate::aggregation::Aggregation;
use crate::cli::ReportArgs;
use crate::data::{dirichlet_split, profiles, CohortSpec, SiteProfile, SplitSpec, StudyData};
use crate::simulate::{simulate, StudyConfig, StudyReport};

/// The whole grid.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GridReport {
    /// The command that produced it.
    pub command: String,
    pub cohort: CohortSpec,
    /// Sizes, prevalences and the oracle (generating-probability) test AUCs.
    pub cohort_summary: serde_json::Value,
    pub runs: Vec<StudyReport>,
    pub secs: f64,
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args().collect();
    let from = args
        .iter()
        .position(|a| a == "report")
        .unwrap_or(args.len());
    let mut s = "consentry fl".to_string();
    for a in &args[from..] {
        s.push(' ');
        s.push_str(a);
    }
    s
}

/// The runs of the grid, in table order.
pub fn grid(a: &ReportArgs) -> Vec<StudyConfig> {
    let s = &a.study;
    let mut runs = Vec::new();
    let mut central = s.config(
        "Centralized, no GBDT (same model as federated)".into(),
        1,
        a.rounds,
        None,
        a.delta,
    );
    central.aggregation = Aggregation::InTheClear;
    runs.push(central.clone());
    let mut full = central.clone();
    full.name = "Centralized, full hybrid (GBDT margins ‖ BiLSTM ‖ Transformer)".into();
    full.gbdt = Some(GbdtConfig::default());
    runs.push(full);
    for &n in &a.sites {
        runs.push(s.config(format!("Federated — {n} sites"), n, a.rounds, None, a.delta));
    }
    for &e in &a.epsilons {
        for &n in &a.sites {
            runs.push(s.config(
                format!("Federated — {n} sites, DP"),
                n,
                a.rounds,
                Some(e),
                a.delta,
            ));
        }
    }
    runs
}

/// Runs the grid and writes both reports.
pub fn run_grid(a: &ReportArgs) -> Result<()> {
    let t0 = Instant::now();
    let cohort = a.study.cohort();
    let data = StudyData::generate(&cohort)?;
    let mut report = GridReport {
        command: command_line(),
        cohort: cohort.clone(),
        cohort_summary: data.cohort.summary(),
        runs: Vec::new(),
        secs: 0.0,
    };
    for cfg in grid(a) {
        if !a.quiet {
            eprintln!("== {}", cfg.name);
        }
        let r = simulate(cfg, &data, !a.quiet)?;
        report.runs.push(r);
        report.secs = t0.elapsed().as_secs_f64();
        write(&a.json, &serde_json::to_string_pretty(&report)?)?;
    }
    let splits: Vec<(usize, Vec<SiteProfile>)> = a
        .sites
        .iter()
        .map(|&n| {
            let cfg = a.study.config(String::new(), n, a.rounds, None, a.delta);
            // The same split the runs used (same seed derivation as the simulator).
            let split = dirichlet_split(
                &data,
                &SplitSpec {
                    n_sites: n,
                    alpha: cfg.alpha,
                    seed: crate::simulate::split_seed(cfg.seed),
                    min_patients: cfg.min_site_patients,
                },
            )?;
            Ok((n, profiles(&data, &split)))
        })
        .collect::<Result<_>>()?;
    write(&a.md, &splice(&a.md, &markdown(&report, &splits, a)))?;
    if !a.quiet {
        eprintln!(
            "wrote {} and {} in {:.0}s",
            a.md.display(),
            a.json.display(),
            report.secs
        );
    }
    Ok(())
}

/// Marks the generated part of the Markdown file; text outside the markers is kept.
pub const BEGIN: &str = "<!-- consentry fl report: generated from here -->";
/// End of the generated part.
pub const END: &str = "<!-- consentry fl report: generated up to here -->";

/// The file's text with the part between [`BEGIN`] and [`END`] replaced by
/// `generated` (or a new file holding only the generated part).
fn splice(p: &std::path::Path, generated: &str) -> String {
    let block = format!("{BEGIN}\n{generated}\n{END}");
    match std::fs::read_to_string(p) {
        Ok(old) => match (old.find(BEGIN), old.find(END)) {
            (Some(b), Some(e)) if e > b => {
                format!("{}{block}{}", &old[..b], &old[e + END.len()..])
            }
            _ => format!("{old}\n{block}\n"),
        },
        Err(_) => format!("# Federated learning: centralized vs federated\n\n{block}\n"),
    }
}

fn write(p: &std::path::Path, s: &str) -> Result<()> {
    if let Some(d) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(d)?;
    }
    std::fs::write(p, s).with_context(|| format!("writing {}", p.display()))
}

fn f3(x: f64) -> String {
    format!("{x:.3}")
}

/// The Markdown report.
pub fn markdown(r: &GridReport, splits: &[(usize, Vec<SiteProfile>)], a: &ReportArgs) -> String {
    let mut m = String::new();
    let base = r
        .runs
        .first()
        .map(|b| (b.test.response.roc_auc, b.test.adr.roc_auc));
    let _ = writeln!(m, "## Results\n");
    let _ = writeln!(
        m,
        "Produced by `{}` in {:.0} s on this machine. Test set: {} patients, the same for every row; \
         oracle test ROC-AUC (the generating probabilities) response {:.3}, ADR {:.3}.\n",
        r.command,
        r.secs,
        r.cohort_summary["test"],
        r.cohort_summary["oracle_test_auc"]["response"].as_f64().unwrap_or(f64::NAN),
        r.cohort_summary["oracle_test_auc"]["adr"].as_f64().unwrap_or(f64::NAN),
    );
    let _ = writeln!(
        m,
        "| Training configuration | Accuracy (%) | F1-Score | ROC-AUC response | ROC-AUC ADR | Δ AUC vs centralized (resp. / ADR) | Privacy budget (ε) | δ | σ | q | C | steps | Comm. rounds | selected round | final round's AUC (resp. / ADR) | time (s) |"
    );
    let _ = writeln!(
        m,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for run in &r.runs {
        let c = &run.config;
        let t = &run.test;
        let (eps, delta, sigma, q, clip, steps) = match &run.privacy {
            Some(p) => (
                format!("{:.3} (target {})", p.epsilon, p.target_epsilon),
                format!("{:e}", p.delta),
                format!("{:.3}", p.noise_multiplier),
                format!("{}", p.sampling_rate),
                format!("{}", p.clip_norm),
                format!("{} ({}/round)", p.total_steps, p.steps_per_round),
            ),
            None => (
                "∞ (no DP)".into(),
                "—".into(),
                "—".into(),
                "—".into(),
                "—".into(),
                "—".into(),
            ),
        };
        let delta_auc = base.map_or("—".into(), |(br, ba)| {
            format!(
                "{:+.3} / {:+.3}",
                t.response.roc_auc - br,
                t.adr.roc_auc - ba
            )
        });
        let rounds = if c.n_sites == 1 {
            "N/A".to_string()
        } else {
            c.rounds.to_string()
        };
        let _ = writeln!(
            m,
            "| {} | {:.1} | {:.3} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.3} / {:.3} | {:.0} |",
            c.name,
            100.0 * t.response.accuracy,
            t.response.f1,
            f3(t.response.roc_auc),
            f3(t.adr.roc_auc),
            delta_auc,
            eps,
            delta,
            sigma,
            q,
            clip,
            steps,
            rounds,
            run.selected_round,
            run.test_final.response.roc_auc,
            run.test_final.adr.roc_auc,
            run.secs
        );
    }
    let _ = writeln!(
        m,
        "\nAccuracy and F1 are for response at threshold 0.5 (as the seed's Table 3); ROC-AUC for both tasks. \
         Each row's model is the round with the best mean ROC-AUC on the **public reference split** \
         (750 patients; never the test set); the final round's test AUC is in its own column. \
         For the centralized rows a \"round\" is a block of local epochs at the single site. Rounds {}, \
         {} local epoch(s) per round without DP (batch {}, {:?}, lr {}); with DP {} DP-SGD steps per round \
         (q = {}, C = {}, {:?}, lr {}).\n",
        a.rounds,
        a.study.local_epochs,
        a.study.batch_size,
        a.study.optimizer,
        a.study.lr,
        a.study.local_steps,
        a.study.q,
        a.study.clip,
        a.study.optimizer_dp,
        a.study.dp_lr
    );
    let _ = writeln!(
        m,
        "### How the sites differ (non-IID split, Dirichlet α = {})\n",
        a.study.alpha
    );
    for (n, p) in splits {
        let mut sizes: Vec<usize> = p.iter().map(|s| s.patients).collect();
        sizes.sort_unstable();
        let ages: Vec<f64> = p.iter().map(|s| s.mean_age).collect();
        let adr: Vec<f64> = p.iter().map(|s| s.adr_rate).collect();
        let resp: Vec<f64> = p.iter().map(|s| s.response_rate).collect();
        let mm = |v: &[f64]| {
            (
                v.iter().copied().fold(f64::INFINITY, f64::min),
                v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            )
        };
        let (a0, a1) = mm(&ages);
        let (d0, d1) = mm(&adr);
        let (r0, r1) = mm(&resp);
        let _ = writeln!(
            m,
            "- **{n} sites**: patients per site {} to {} (median {}); mean age {a0:.0}–{a1:.0}; response rate {:.0}–{:.0} %; ADR rate {:.0}–{:.0} %.",
            sizes[0],
            sizes[sizes.len() - 1],
            sizes[sizes.len() / 2],
            100.0 * r0,
            100.0 * r1,
            100.0 * d0,
            100.0 * d1
        );
    }
    if let Some((n, p)) = splits.first() {
        let drugs: Vec<String> = r.cohort_summary["drugs"]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|d| d.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let _ = writeln!(m, "\nThe {n}-site split in detail (patients per drug):\n");
        let _ = writeln!(
            m,
            "| site | patients | {} | mean age | response % | ADR % |",
            drugs.join(" | ")
        );
        let _ = writeln!(m, "|---|---|{}---|---|---|", "---|".repeat(drugs.len()));
        for s in p {
            let _ = writeln!(
                m,
                "| {} | {} | {} | {:.1} | {:.1} | {:.1} |",
                s.site,
                s.patients,
                drugs
                    .iter()
                    .map(|d| s.drugs.get(d).copied().unwrap_or(0).to_string())
                    .collect::<Vec<_>>()
                    .join(" | "),
                s.mean_age,
                100.0 * s.response_rate,
                100.0 * s.adr_rate
            );
        }
    }
    m
}
