//! `consentry cohort export`: the synthetic cohort exactly as a training config sees it, as CSV,
//! so any other library can be trained and compared on the same rows and split.
//!
//! One row per cohort row: `row`, `split` (`train` / `valid` / `test`), `drug`, the raw tabular
//! features under their model names (before standardisation; empty = missing), the vital-sign
//! sequence view as `seq_t{bin}_{vital}` (bin 0 oldest; empty = unobserved), the labels
//! `y_response` and `y_adr`, and the generating probabilities `oracle_p_response` and
//! `oracle_p_adr` — what a perfect model would predict, never a feature. CSV writing is the `csv`
//! crate's.

use std::io::Write;

use anyhow::Result;

use crate::cohort::Cohort;
use crate::pipeline::Prepared;

fn cell(x: f32) -> String {
    if x.is_nan() {
        String::new()
    } else {
        x.to_string()
    }
}

/// The header of [`write_csv`].
pub fn header(data: &Prepared) -> Vec<String> {
    let mut h: Vec<String> = ["row", "split", "drug"].map(String::from).to_vec();
    h.extend(data.spec.names());
    h.extend(data.spec.sequence_names());
    h.extend(["y_response", "y_adr", "oracle_p_response", "oracle_p_adr"].map(String::from));
    h
}

/// Writes `cohort` (with the features `data` extracted from it) as CSV.
pub fn write_csv<W: Write>(cohort: &Cohort, data: &Prepared, out: W) -> Result<()> {
    let mut split = vec![""; cohort.rows.len()];
    for (name, idx) in [
        ("train", &cohort.train),
        ("valid", &cohort.valid),
        ("test", &cohort.test),
    ] {
        for &i in idx {
            split[i] = name;
        }
    }
    let mut w = csv::Writer::from_writer(out);
    w.write_record(header(data))?;
    for (i, r) in cohort.rows.iter().enumerate() {
        let mut rec: Vec<String> = vec![i.to_string(), split[i].to_string(), r.drug.clone()];
        rec.extend(data.tab[i].iter().map(|&x| cell(x)));
        rec.extend(data.seq[i].iter().map(|&x| cell(x)));
        rec.extend(r.y.iter().map(|&y| cell(y)));
        rec.push(r.latent.p_response.to_string());
        rec.push(r.latent.p_adr.to_string());
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}
