//! `consentry simulate`: patient + drug + regimen → JSON report and plots.

use std::path::{Path, PathBuf};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::drugs::{DrugLibrary, DrugSpec, PdSpec};
use crate::error::invalid;
use crate::metrics::{profile_metrics, ProfileMetrics};
use crate::patient::PatientRecord;
use crate::pd::{adr_risk, effect_compartment, Emax, IndirectResponse};
use crate::personalize::{personalize, Personalized};
use crate::pk::{closed_form, ode, Route};
use crate::plot::{plot_profile, PlotData};
use crate::population::{
    compare_regimens, last_nominal_dose, simulate_population, PopulationSettings,
    PopulationSummary, TrialArm,
};
use crate::regimen::{time_grid, LateDose, Regimen};

/// Route flag values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RouteArg {
    /// Oral (first-order absorption).
    Oral,
    /// Intravenous bolus.
    IvBolus,
    /// Intravenous infusion (see --infusion-h).
    Infusion,
}

/// Solver choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Solver {
    /// Analytical superposition.
    ClosedForm,
    /// Dopri5 via ode_solvers.
    Ode,
}

/// Which plot files to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlotFormat {
    /// PNG only.
    Png,
    /// SVG only.
    Svg,
    /// Both PNG and SVG.
    Both,
    /// No plot.
    None,
}

/// Arguments of `consentry simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// Patient file: a PatientRecord JSON object or a FHIR R4 Bundle (JSON).
    #[arg(long)]
    pub patient: PathBuf,
    /// Drug name from the built-in library (or from --drug-file).
    #[arg(long)]
    pub drug: String,
    /// Extra drug definition (TOML, same schema as simulation/data/drugs).
    #[arg(long)]
    pub drug_file: Option<PathBuf>,
    /// Regimen JSON file; flags below override its fields. Defaults to the drug's usual regimen.
    #[arg(long)]
    pub regimen: Option<PathBuf>,
    /// Maintenance dose (mg).
    #[arg(long)]
    pub dose_mg: Option<f64>,
    /// Dosing interval (h).
    #[arg(long)]
    pub interval_h: Option<f64>,
    /// Number of doses.
    #[arg(long)]
    pub n_doses: Option<usize>,
    /// Route of administration.
    #[arg(long, value_enum)]
    pub route: Option<RouteArg>,
    /// Infusion duration (h) when --route infusion.
    #[arg(long)]
    pub infusion_h: Option<f64>,
    /// Loading (first) dose (mg).
    #[arg(long)]
    pub loading_dose_mg: Option<f64>,
    /// Zero-based indices of missed doses, comma separated.
    #[arg(long, value_delimiter = ',')]
    pub missed: Vec<usize>,
    /// A late dose as INDEX:DELAY_H (repeatable).
    #[arg(long = "late", value_parser = parse_late)]
    pub late: Vec<LateDose>,
    /// Output grid step (h).
    #[arg(long, default_value_t = 0.25)]
    pub step_h: f64,
    /// Virtual patients around this patient (0 = individual profile only).
    #[arg(long, default_value_t = 0)]
    pub population: usize,
    /// Virtual trial: also simulate these maintenance doses (mg, comma
    /// separated) on the same virtual patients (needs --population).
    #[arg(long, value_delimiter = ',')]
    pub compare_dose_mg: Vec<f64>,
    /// Random seed for the population.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Add residual (assay) error to population concentrations.
    #[arg(long)]
    pub residual_error: bool,
    /// Solver for the individual profile.
    #[arg(long, value_enum, default_value_t = Solver::ClosedForm)]
    pub solver: Solver,
    /// Output directory (created if missing).
    #[arg(long, short = 'o', default_value = ".")]
    pub out_dir: PathBuf,
    /// Plot formats to write.
    #[arg(long, value_enum, default_value_t = PlotFormat::Both)]
    pub plot: PlotFormat,
    /// No progress bar or summary on stderr.
    #[arg(long)]
    pub quiet: bool,
}

fn parse_late(s: &str) -> Result<LateDose, String> {
    let (i, d) = s
        .split_once(':')
        .ok_or_else(|| format!("late: `{s}` must be INDEX:DELAY_H, e.g. 3:2.5"))?;
    Ok(LateDose {
        index: i
            .trim()
            .parse()
            .map_err(|_| format!("late: dose index `{i}` must be a non-negative integer"))?,
        delay_h: d
            .trim()
            .parse()
            .map_err(|_| format!("late: delay `{d}` must be a number of hours"))?,
    })
}

/// PD output in the report.
#[derive(Debug, Clone, Serialize)]
pub struct PdOutput {
    /// Response name and unit.
    pub response: String,
    /// Response at each time point.
    pub values: Vec<f64>,
}

/// The JSON report written by [`run`].
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Drug name.
    pub drug: String,
    /// Patient identifier, if any.
    pub patient_id: Option<String>,
    /// Personalisation details.
    pub personalization: Personalized,
    /// Regimen simulated.
    pub regimen: Regimen,
    /// Solver used for the individual profile.
    pub solver: Solver,
    /// Time grid (h).
    pub times_h: Vec<f64>,
    /// Individual concentrations (mg/L).
    pub concentration_mg_l: Vec<f64>,
    /// Individual metrics (last dosing interval).
    pub metrics: ProfileMetrics,
    /// Modelled ADR risk of the individual profile.
    pub adr_risk: Option<f64>,
    /// PD response, if the drug has a PD model.
    pub pd: Option<PdOutput>,
    /// Population summary, if requested.
    pub population: Option<PopulationSummary>,
    /// Virtual-trial arms from --compare-dose-mg (same virtual patients).
    pub trial: Vec<TrialArm>,
    /// Files written.
    pub outputs: Vec<PathBuf>,
}

fn build_regimen(args: &SimulateArgs, drug: &DrugSpec) -> anyhow::Result<Regimen> {
    let mut r = match &args.regimen {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("regimen: cannot read {}", p.display()))?;
            serde_json::from_str::<Regimen>(&text)
                .map_err(|e| invalid("regimen", format!("{e} (in {})", p.display())))?
        }
        None => drug.default_regimen.clone(),
    };
    if let Some(v) = args.dose_mg {
        r.dose_mg = v;
    }
    if let Some(v) = args.interval_h {
        r.interval_h = v;
    }
    if let Some(v) = args.n_doses {
        r.n_doses = v;
    }
    if args.loading_dose_mg.is_some() {
        r.loading_dose_mg = args.loading_dose_mg;
    }
    match (args.route, args.infusion_h) {
        (Some(RouteArg::Oral), _) => r.route = Route::Oral,
        (Some(RouteArg::IvBolus), _) => r.route = Route::IvBolus,
        (Some(RouteArg::Infusion), Some(h)) => r.route = Route::Infusion { duration_h: h },
        (Some(RouteArg::Infusion), None) => {
            return Err(invalid(
                "regimen.route.duration_h",
                "--route infusion needs --infusion-h <hours>, e.g. --infusion-h 1",
            )
            .into())
        }
        (None, Some(h)) => match &mut r.route {
            Route::Infusion { duration_h } => *duration_h = h,
            _ => return Err(invalid("infusion_h", "only valid with --route infusion").into()),
        },
        (None, None) => {}
    }
    r.missed.extend(&args.missed);
    r.late.extend(&args.late);
    r.validate()?;
    Ok(r)
}

fn pd_response(
    drug: &DrugSpec,
    ind: &Personalized,
    times: &[f64],
    conc: &[f64],
) -> anyhow::Result<Option<PdOutput>> {
    Ok(match &drug.pd {
        None => None,
        Some(PdSpec::Emax {
            response,
            e0,
            emax,
            ec50_mg_l,
            hill,
            ke0_per_h,
            ..
        }) => {
            let drive = match ke0_per_h {
                Some(k) => effect_compartment(times, conc, *k)?,
                None => conc.to_vec(),
            };
            let m = Emax {
                e0: *e0,
                emax: *emax,
                ec50: ec50_mg_l * ind.pd_c50_multiplier,
                hill: *hill,
            };
            Some(PdOutput {
                response: response.clone(),
                values: drive.iter().map(|&c| m.effect(c)).collect(),
            })
        }
        Some(PdSpec::Indirect {
            response,
            kind,
            kin,
            kout_per_h,
            max_effect,
            c50_mg_l,
            hill,
            ..
        }) => {
            let m = IndirectResponse {
                kind: *kind,
                kin: *kin,
                kout: *kout_per_h,
                max_effect: *max_effect,
                c50: c50_mg_l * ind.pd_c50_multiplier,
                hill: *hill,
            };
            Some(PdOutput {
                response: response.clone(),
                values: m.simulate(times, conc)?,
            })
        }
    })
}

/// Runs one simulation and writes `<drug>-report.json` plus plots into `--out-dir`.
pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let report = execute(&args)?;
    if !args.quiet {
        let m = &report.metrics;
        eprintln!(
            "{}: CL {:.3} L/h, V {:.1} L, eGFR {:.0}; last interval Cmax {:.4} mg/L at {:.2} h, trough {:.4} mg/L, AUC0-tau {:.3} mg*h/L",
            report.drug, report.personalization.params.cl_l_h, report.personalization.params.v_l, report.personalization.egfr, m.cmax, m.tmax, m.trough, m.auc_tau
        );
        if let Some(p) = &report.population {
            eprintln!(
                "population n={} (this regimen): P(target) {:?}, P(toxicity) {:?}",
                p.n, p.prob_target_attainment, p.prob_toxicity
            );
        }
        for arm in &report.trial {
            eprintln!(
                "trial arm {} mg q{} h: P(target) {:?}, P(toxicity) {:?}",
                arm.regimen.dose_mg,
                arm.regimen.interval_h,
                arm.summary.prob_target_attainment,
                arm.summary.prob_toxicity
            );
        }
        for o in &report.outputs {
            eprintln!("wrote {}", o.display());
        }
    }
    Ok(())
}

/// Like [`run`] but returns the report (for tests and embedding).
pub fn execute(args: &SimulateArgs) -> anyhow::Result<Report> {
    let text = std::fs::read_to_string(&args.patient).with_context(|| {
        format!(
            "patient: cannot read {}; check the path",
            args.patient.display()
        )
    })?;
    let patient = PatientRecord::from_json_str(&text)?;
    let mut lib = DrugLibrary::builtin();
    if let Some(f) = &args.drug_file {
        lib.insert(DrugLibrary::load_file(f)?);
    }
    let drug = lib.get(&args.drug)?;
    let regimen = build_regimen(args, drug)?;
    if !(args.step_h.is_finite() && args.step_h > 0.0) {
        return Err(invalid("step_h", format!("must be > 0 (got {})", args.step_h)).into());
    }
    let ind = personalize(drug, &patient)?;
    let times = time_grid(regimen.start_h, regimen.end_h(), args.step_h)?;
    let doses = regimen.doses()?;
    let conc = match args.solver {
        Solver::ClosedForm => closed_form::profile(&ind.params, &doses, &times)?,
        Solver::Ode => ode::simulate(&ind.params, &doses, &times, ode::OdeOptions::ACCURATE)?.conc,
    };
    let window = drug.window.as_ref();
    let metrics = profile_metrics(
        &times,
        &conc,
        last_nominal_dose(&regimen),
        regimen.interval_h,
        ind.params.terminal_rate(),
        window,
    );
    let population = if args.population > 0 {
        let pb = if args.quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(args.population as u64)
        };
        pb.set_style(
            ProgressStyle::with_template(
                "{bar:40} {pos}/{len} virtual patients ({per_sec}, eta {eta})",
            )
            .map_err(|e| anyhow::anyhow!(e))?,
        );
        let settings = PopulationSettings {
            n: args.population,
            seed: args.seed,
            residual_error: args.residual_error,
        };
        let s = simulate_population(drug, &ind.params, &regimen, &times, settings, Some(&pb))?;
        pb.finish_and_clear();
        Some(s)
    } else {
        None
    };
    if !args.compare_dose_mg.is_empty() && args.population == 0 {
        return Err(invalid(
            "compare_dose_mg",
            "a virtual trial needs a population; add --population <N>, e.g. --population 1000",
        )
        .into());
    }
    let arms: Vec<Regimen> = args
        .compare_dose_mg
        .iter()
        .map(|&d| Regimen {
            dose_mg: d,
            ..regimen.clone()
        })
        .collect();
    let settings = PopulationSettings {
        n: args.population.max(1),
        seed: args.seed,
        residual_error: args.residual_error,
    };
    let trial = if arms.is_empty() {
        Vec::new()
    } else {
        compare_regimens(drug, &ind.params, &arms, args.step_h, settings)?
    };
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("out_dir: cannot create {}", args.out_dir.display()))?;
    let stem = drug.name.clone();
    let mut outputs = Vec::new();
    let exts: &[&str] = match args.plot {
        PlotFormat::Png => &["png"],
        PlotFormat::Svg => &["svg"],
        PlotFormat::Both => &["png", "svg"],
        PlotFormat::None => &[],
    };
    for ext in exts {
        let path = args.out_dir.join(format!("{stem}-profile.{ext}"));
        let data = PlotData {
            title: format!(
                "{} {} mg q{} h ({})",
                drug.name,
                regimen.dose_mg,
                regimen.interval_h,
                patient.id.as_deref().unwrap_or("patient")
            ),
            times: &times,
            individual: Some(&conc),
            band: population
                .as_ref()
                .map(|p| (p.p05.as_slice(), p.p50.as_slice(), p.p95.as_slice())),
            window: window.map(|w| (w.lower_mg_l, w.upper_mg_l)),
            toxic: window.map(|w| w.toxic_mg_l),
            ..PlotData::default()
        };
        plot_profile(&path, &data)?;
        outputs.push(path);
    }
    let json_path = args.out_dir.join(format!("{stem}-report.json"));
    outputs.push(json_path.clone());
    let report = Report {
        drug: drug.name.clone(),
        patient_id: patient.id.clone(),
        pd: pd_response(drug, &ind, &times, &conc)?,
        adr_risk: window.map(|w| adr_risk(&times, &conc, w.toxic_mg_l, w.adr_slope)),
        personalization: ind,
        regimen,
        solver: args.solver,
        times_h: times,
        concentration_mg_l: conc,
        metrics,
        population,
        trial,
        outputs,
    };
    write_json(&json_path, &report)?;
    Ok(report)
}

fn write_json(path: &Path, report: &Report) -> anyhow::Result<()> {
    let f =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    serde_json::to_writer_pretty(std::io::BufWriter::new(f), report)?;
    Ok(())
}
