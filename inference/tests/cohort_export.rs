//! `consentry cohort export` writes exactly the rows, split, labels and features training uses,
//! with the oracle probabilities apart.

use consentry_inference::cohort::{Cohort, CohortConfig};
use consentry_inference::export::{header, write_csv};
use consentry_inference::pipeline::Prepared;

fn export(cfg: &CohortConfig) -> (Cohort, Prepared, Vec<u8>) {
    let cohort = Cohort::generate(cfg).unwrap();
    let data = Prepared::new(&cohort, cfg.seq_len).unwrap();
    let mut out = Vec::new();
    write_csv(&cohort, &data, &mut out).unwrap();
    (cohort, data, out)
}

#[test]
fn the_csv_is_the_training_cohort_row_for_row() {
    let cfg = CohortConfig {
        n_patients: 300,
        seq_len: 8,
        ..CohortConfig::default()
    };
    let (cohort, data, bytes) = export(&cfg);
    let mut r = csv::Reader::from_reader(bytes.as_slice());
    let head: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(head, header(&data));
    let unique: std::collections::BTreeSet<_> = head.iter().collect();
    assert_eq!(unique.len(), head.len(), "column names are unique");
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 300);
    let mut counts = [0usize; 3];
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.len(), head.len());
        assert_eq!(row[col("row")], i.to_string());
        let split = &row[col("split")];
        let expected = if cohort.train.contains(&i) {
            counts[0] += 1;
            "train"
        } else if cohort.valid.contains(&i) {
            counts[1] += 1;
            "valid"
        } else {
            assert!(cohort.test.contains(&i));
            counts[2] += 1;
            "test"
        };
        assert_eq!(split, expected);
        let c = &cohort.rows[i];
        assert_eq!(row[col("drug")], c.drug);
        assert_eq!(row[col("y_response")].parse::<f32>().unwrap(), c.y[0]);
        assert_eq!(row[col("y_adr")].parse::<f32>().unwrap(), c.y[1]);
        assert_eq!(
            row[col("oracle_p_response")].parse::<f64>().unwrap(),
            c.latent.p_response
        );
        assert_eq!(
            row[col("oracle_p_adr")].parse::<f64>().unwrap(),
            c.latent.p_adr
        );
        assert_eq!(
            row[col("age_years")].parse::<f32>().unwrap(),
            c.record.age_years as f32
        );
        assert_eq!(
            row[col("dose_multiplier")].parse::<f32>().unwrap(),
            c.dose_multiplier as f32
        );
        // Missing values are empty cells, never a sentinel.
        for (j, &x) in data.tab[i].iter().enumerate() {
            assert_eq!(
                row[3 + j].is_empty(),
                x.is_nan(),
                "row {i} column {}",
                head[3 + j]
            );
        }
    }
    assert_eq!(
        counts,
        [cohort.train.len(), cohort.valid.len(), cohort.test.len()]
    );
    // Some albumin values are missing in the generator; the export keeps them missing.
    assert!(rows.iter().any(|r| r[col("albumin_g_dl")].is_empty()));
    // Same config, same bytes.
    assert_eq!(export(&cfg).2, bytes);
}
