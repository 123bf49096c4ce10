//! Prints the synthetic cohort's summary (rates, exposure by drug, oracle AUC).
fn main() -> anyhow::Result<()> {
    let n = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(4000);
    let cfg = consentry_inference::cohort::CohortConfig {
        n_patients: n,
        ..Default::default()
    };
    let c = consentry_inference::cohort::Cohort::generate(&cfg)?;
    println!("{}", serde_json::to_string_pretty(&c.summary())?);
    Ok(())
}
