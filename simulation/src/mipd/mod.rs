//! Model-informed precision dosing: the twin learns from the patient's own measured levels.
//!
//! [`fit`] estimates one patient's PK parameters by maximum a posteriori (MAP) Bayesian
//! estimation — the drug's population model, personalised to the patient's covariates, is the
//! prior and its residual error model the likelihood — and carries their uncertainty (a Laplace
//! approximation from the objective's curvature) into predicted profiles. [`recommend`] searches
//! practical regimens for the one most likely to reach the drug's exposure target.
//!
//! The model: θᵢ = θ_pop(covariates)·exp(ηᵢ), η ~ N(0, Ω) over (CL, V, ka) as in
//! `[variability] omega`; an observed level is y = C(θ, t)·(1 + ε₁) + ε₂ with
//! ε₁ ~ N(0, σ_prop²), ε₂ ~ N(0, σ_add²). The MAP estimate minimises
//!
//! OFV(η) = Σⱼ [(yⱼ − Cⱼ)²/σⱼ² + ln σⱼ²] + ηᵀΩ⁻¹η,  σⱼ² = (σ_prop·Cⱼ)² + σ_add²,
//!
//! i.e. −2 log posterior up to a constant. The posterior is approximated as normal around the
//! MAP (Laplace) with precision Ω⁻¹ plus the levels' expected Fisher information there.
//! Only η with a variance and an effect are estimated: ka only
//! when some dose is oral. For two-compartment drugs Q and V2 keep their personalised values.

pub mod cli;
pub mod fit;
pub mod recommend;

pub use fit::{fit, FitSettings, MapFit, ParamEstimate, PredictionBand};
pub use recommend::{recommend, Candidate, RecommendSettings, Recommendation};
