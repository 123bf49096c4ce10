//! `consentry twin fit|recommend`: a patient's measured levels → individual parameters, a
//! regimen, plots and a JSON report.

use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;

use crate::cli::PlotFormat;
use crate::drugs::{DrugLibrary, DrugSpec, TargetMetric, TdmTarget};
use crate::error::invalid;
use crate::patient::PatientRecord;
use crate::personalize::{personalize, Personalized};
use crate::pk::Dose;
use crate::plot::{plot_profile, PlotData, PlotLabels};
use crate::regimen::time_grid;
use crate::tdm::TdmRecord;

use super::{fit, FitSettings, MapFit, PredictionBand, RecommendSettings, Recommendation};

/// `consentry twin …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TwinCommand {
    /// Estimate the patient's PK parameters from measured levels (MAP Bayesian fit).
    Fit(TwinArgs),
    /// Fit, then recommend the regimen most likely to reach the drug's target.
    Recommend(RecommendArgs),
}

/// Inputs shared by both commands.
#[derive(Debug, Clone, clap::Args)]
pub struct TwinArgs {
    /// Patient file: a FHIR R4 Bundle (Patient, covariate Observations, MedicationAdministration
    /// and drug-level Observations) or a PatientRecord JSON object (then give --tdm).
    #[arg(long)]
    pub patient: PathBuf,
    /// Drug name from the built-in library (or from --drug-file).
    #[arg(long)]
    pub drug: String,
    /// Extra drug definition (TOML, same schema as simulation/data/drugs).
    #[arg(long)]
    pub drug_file: Option<PathBuf>,
    /// Doses and levels as a TdmRecord JSON ({"doses":[…],"levels":[…]}) or a FHIR Bundle;
    /// default: taken from --patient.
    #[arg(long)]
    pub tdm: Option<PathBuf>,
    /// Posterior draws behind the bands and probabilities.
    #[arg(long, default_value_t = 1000)]
    pub draws: usize,
    /// Seed of the posterior draws.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Directory for the plots.
    #[arg(short = 'o', long, default_value = ".")]
    pub out_dir: PathBuf,
    /// Which plot files to write.
    #[arg(long, value_enum, default_value_t = PlotFormat::Png)]
    pub plot: PlotFormat,
    /// Print the whole report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `consentry twin recommend`.
#[derive(Debug, Clone, clap::Args)]
pub struct RecommendArgs {
    #[command(flatten)]
    /// The patient, drug and outputs.
    pub twin: TwinArgs,
    /// Target as METRIC:LOW-HIGH, e.g. auc24:400-600 or trough:10-15 (default: the drug's).
    #[arg(long, value_parser = parse_target)]
    pub target: Option<TdmTarget>,
    /// Intervals to consider (h), comma-separated (default: the drug's).
    #[arg(long, value_delimiter = ',')]
    pub intervals_h: Option<Vec<f64>>,
}

fn parse_target(s: &str) -> Result<TdmTarget, String> {
    let err = || {
        format!(
            "--target: expected METRIC:LOW-HIGH such as auc24:400-600 or trough:10-15 (got `{s}`)"
        )
    };
    let (m, range) = s.split_once(':').ok_or_else(err)?;
    let metric = match m.trim() {
        "trough" => TargetMetric::Trough,
        "cmax" => TargetMetric::Cmax,
        "cavg" => TargetMetric::Cavg,
        "auc24" => TargetMetric::Auc24,
        other => {
            return Err(format!(
                "--target: unknown metric `{other}`; use trough, cmax, cavg or auc24"
            ))
        }
    };
    let (lo, hi) = range.split_once('-').ok_or_else(err)?;
    let lower: f64 = lo.trim().parse().map_err(|_| err())?;
    let upper: f64 = hi.trim().parse().map_err(|_| err())?;
    if !(lower > 0.0 && upper > lower) {
        return Err(format!(
            "--target: need 0 < LOW < HIGH (got {lower}-{upper})"
        ));
    }
    Ok(TdmTarget {
        metric,
        lower,
        upper,
    })
}

/// The JSON report of both commands (`recommendation` only for `recommend`).
#[derive(Debug, Clone, Serialize)]
pub struct TwinReport {
    /// Drug name.
    pub drug: String,
    /// Patient id, if the input has one.
    pub patient_id: Option<String>,
    /// Covariate personalisation: the prior's centre.
    pub personalization: Personalized,
    /// Doses and levels fitted.
    pub tdm: TdmRecord,
    /// The fit.
    pub fit: MapFit,
    /// Profile over the observed period: MAP and posterior band.
    pub fitted_profile: PredictionBand,
    /// The recommendation.
    pub recommendation: Option<Recommendation>,
    /// Files written.
    pub outputs: Vec<PathBuf>,
}

fn load(args: &TwinArgs) -> anyhow::Result<(DrugSpec, PatientRecord, TdmRecord)> {
    let mut lib = DrugLibrary::builtin();
    if let Some(f) = &args.drug_file {
        lib.insert(DrugLibrary::load_file(f)?);
    }
    let drug = lib.get(&args.drug)?.clone();
    let text = std::fs::read_to_string(&args.patient)
        .with_context(|| format!("patient: cannot read {}", args.patient.display()))?;
    let patient = PatientRecord::from_json_str(&text)?;
    let tdm = match &args.tdm {
        Some(p) => {
            let t = std::fs::read_to_string(p)
                .with_context(|| format!("tdm: cannot read {}", p.display()))?;
            TdmRecord::from_json_str(&t, &drug).with_context(|| format!("tdm ({})", p.display()))?
        }
        None => TdmRecord::from_json_str(&text, &drug).context(
            "patient: no doses and levels found in the file; give a FHIR Bundle with MedicationAdministration and level Observations, or --tdm",
        )?,
    };
    Ok((drug, patient, tdm))
}

fn plot_files(args: &TwinArgs, stem: &str) -> Vec<PathBuf> {
    let exts: &[&str] = match args.plot {
        PlotFormat::Png => &["png"],
        PlotFormat::Svg => &["svg"],
        PlotFormat::Both => &["png", "svg"],
        PlotFormat::None => &[],
    };
    exts.iter()
        .map(|e| args.out_dir.join(format!("{stem}.{e}")))
        .collect()
}

fn window_of(drug: &DrugSpec, target: Option<&TdmTarget>) -> Option<(f64, f64)> {
    // A concentration window can be drawn; an AUC target cannot, on a concentration axis.
    match target {
        Some(t) if t.metric != TargetMetric::Auc24 => Some((t.lower, t.upper)),
        Some(_) => None,
        None => drug.window.as_ref().map(|w| (w.lower_mg_l, w.upper_mg_l)),
    }
}

/// Runs the fit (and the recommendation when `settings` is given), writes the plots.
pub fn execute(args: &TwinArgs, settings: Option<RecommendSettings>) -> anyhow::Result<TwinReport> {
    if args.draws < 100 {
        return Err(invalid("draws", "need at least 100 posterior draws").into());
    }
    let (drug, patient, tdm) = load(args)?;
    let personalization = personalize(&drug, &patient)?;
    let fitted = fit(
        &drug,
        personalization.params,
        &tdm,
        FitSettings {
            draws: args.draws,
            seed: args.seed,
            ..FitSettings::default()
        },
    )?;
    let end = tdm
        .levels
        .iter()
        .map(|l| l.time_h)
        .fold(tdm.last_dose_h(), f64::max)
        + 12.0;
    let times = time_grid(
        tdm.first_dose_h(),
        end,
        ((end - tdm.first_dose_h()) / 400.0).max(0.05),
    )?;
    let fitted_profile = fitted.predict(&tdm.doses, &times)?;
    let recommendation = settings
        .map(|s| super::recommend(&drug, &fitted, &tdm.doses, &s))
        .transpose()?;

    if args.plot != PlotFormat::None {
        std::fs::create_dir_all(&args.out_dir)
            .with_context(|| format!("out_dir: cannot create {}", args.out_dir.display()))?;
    }
    let mut outputs = Vec::new();
    let observed: Vec<(f64, f64)> = tdm.levels.iter().map(|l| (l.time_h, l.conc_mg_l)).collect();
    let target = recommendation.as_ref().map(|r| &r.target);
    for path in plot_files(args, &format!("{}-fit", drug.name)) {
        plot_profile(
            &path,
            &PlotData {
                title: format!("{}: measured levels and the fitted twin", drug.name),
                times: &times,
                individual: Some(&fitted_profile.map),
                band: Some((
                    &fitted_profile.p05,
                    &fitted_profile.p50,
                    &fitted_profile.p95,
                )),
                window: window_of(&drug, target),
                observed: Some(&observed),
                labels: PlotLabels {
                    individual: Some("fitted (MAP)"),
                    band: Some("posterior"),
                    comparison: None,
                },
                ..PlotData::default()
            },
        )?;
        outputs.push(path);
    }
    if let Some(r) = &recommendation {
        let current = continue_current(&tdm, r);
        let mut after = tdm.doses.clone();
        after.extend(r.regimen.doses()?);
        let mut before = tdm.doses.clone();
        before.extend(current);
        let end = r.regimen.end_h();
        let t = time_grid(
            tdm.first_dose_h(),
            end,
            ((end - tdm.first_dose_h()) / 600.0).max(0.05),
        )?;
        let band = fitted.predict(&after, &t)?;
        let before = fitted.predict(&before, &t)?;
        for path in plot_files(args, &format!("{}-recommendation", drug.name)) {
            plot_profile(
                &path,
                &PlotData {
                    title: format!(
                        "{}: {} mg q{} h recommended (P(target) {:.0} %)",
                        drug.name,
                        r.recommended.dose_mg,
                        r.recommended.interval_h,
                        100.0 * r.recommended.prob_target
                    ),
                    times: &t,
                    individual: Some(&before.map),
                    band: Some((&band.p05, &band.p50, &band.p95)),
                    comparison: Some(&band.map),
                    window: window_of(&drug, Some(&r.target)),
                    observed: Some(&observed),
                    labels: PlotLabels {
                        individual: Some("current regimen continued (MAP)"),
                        band: Some("recommended, posterior"),
                        comparison: Some("recommended regimen (MAP)"),
                    },
                    ..PlotData::default()
                },
            )?;
            outputs.push(path);
        }
    }
    Ok(TwinReport {
        drug: drug.name.clone(),
        patient_id: patient.id.clone(),
        personalization,
        tdm,
        fit: fitted,
        fitted_profile,
        recommendation,
        outputs,
    })
}

/// The current regimen (last dose, last interval) continued over the recommendation's span.
fn continue_current(tdm: &TdmRecord, r: &Recommendation) -> Vec<Dose> {
    let Some(last) = tdm
        .doses
        .iter()
        .max_by(|a, b| a.time_h.total_cmp(&b.time_h))
    else {
        return vec![];
    };
    let Some(c) = r.current else { return vec![] };
    let mut out = Vec::new();
    let mut t = last.time_h + c.interval_h;
    while t < r.regimen.end_h() {
        out.push(Dose { time_h: t, ..*last });
        t += c.interval_h;
    }
    out
}

fn summary(r: &TwinReport) -> String {
    let mut s = format!(
        "{} for {}:\n",
        r.drug,
        r.patient_id.as_deref().unwrap_or("patient")
    );
    for e in &r.fit.estimates {
        s += &format!(
            "  {:<9} prior {:>9.4}  fitted {:>9.4}  90% CI {:.4}–{:.4}\n",
            e.name, e.prior, e.map, e.ci90.0, e.ci90.1
        );
    }
    for x in &r.fit.residuals {
        s += &format!(
            "  level at {:>7.2} h: measured {:.4}, fitted {:.4}, prior {:.4} mg/L\n",
            x.time_h, x.observed, x.predicted, x.prior_predicted
        );
    }
    if let Some(rec) = &r.recommendation {
        let c = rec.recommended;
        s += &format!(
            "  recommended: {} mg every {} h from {:.1} h: {:?} median {:.3} {} (90% {:.3}–{:.3}), P(in {}–{}) {:.0} %, P(above) {:.0} %\n",
            c.dose_mg, c.interval_h, rec.regimen.start_h, rec.target.metric, c.median, rec.unit, c.p05, c.p95,
            rec.target.lower, rec.target.upper, 100.0 * c.prob_target, 100.0 * c.prob_above
        );
        if let Some(cur) = rec.current {
            s += &format!(
                "  current:     {} mg every {} h: median {:.3} {}, P(in target) {:.0} %\n",
                cur.dose_mg,
                cur.interval_h,
                cur.median,
                rec.unit,
                100.0 * cur.prob_target
            );
        }
    }
    for o in &r.outputs {
        s += &format!("  wrote {}\n", o.display());
    }
    s
}

fn print(report: &TwinReport, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{}", summary(report));
    }
    Ok(())
}

/// Runs a `consentry twin` command.
pub fn run(cmd: TwinCommand) -> anyhow::Result<()> {
    match cmd {
        TwinCommand::Fit(a) => print(&execute(&a, None)?, a.json),
        TwinCommand::Recommend(a) => {
            let settings = RecommendSettings {
                target: a.target,
                intervals_h: a.intervals_h.clone(),
                route: None,
            };
            print(&execute(&a.twin, Some(settings))?, a.twin.json)
        }
    }
}
