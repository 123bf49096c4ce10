//! Pharmacogene allele frequencies for synthetic genotypes (European ancestry).
//!
//! Frequencies are rounded from the CPIC allele frequency tables (cpicpgx.org, "Frequency
//! tables" per gene, European group) and PharmGKB's gene-specific frequency summaries; they are
//! approximations good enough for realistic phenotype mixes, not reference data:
//! - CYP2D6: *1 ≈ 0.35, *2 ≈ 0.28, *4 ≈ 0.18, *41 ≈ 0.08, *5 (deletion) ≈ 0.03, *9 ≈ 0.025,
//!   *10 ≈ 0.02, *3 ≈ 0.015, *6 ≈ 0.01, duplications (*1x2/*2x2) ≈ 0.01.
//! - CYP2C19: *1 ≈ 0.625, *17 ≈ 0.215, *2 ≈ 0.15, *3 ≈ 0.01 (CPIC, Lima et al. 2021).
//! - CYP3A5: *3 ≈ 0.925, *1 ≈ 0.075 (most Europeans are non-expressers; Birdwell et al. 2015).
//! - CYP2C9: *1 ≈ 0.795, *2 ≈ 0.13, *3 ≈ 0.07, *11 ≈ 0.005 (Theken et al. 2020).
//! - VKORC1 c.-1639G>A (rs9923231): A ≈ 0.39 (Johnson et al. 2017, warfarin CPIC).
//! - SLCO1B1: *1 ≈ 0.59, *37 ≈ 0.22, *15 ≈ 0.14, *14 ≈ 0.035, *5 ≈ 0.015 (c.521C carriers are
//!   *5 and *15; Cooper-DeHoff et al. 2022).
//!
//! Each diplotype is two independent draws (Hardy-Weinberg equilibrium).

use rand::Rng;

/// (allele, frequency) per gene, in the order [`crate::GENES`] lists genes.
pub(crate) const TABLES: [(&str, &[(&str, f64)]); 6] = [
    (
        "CYP2D6",
        &[
            ("*1", 0.35),
            ("*2", 0.28),
            ("*4", 0.18),
            ("*41", 0.08),
            ("*5", 0.03),
            ("*9", 0.025),
            ("*10", 0.02),
            ("*3", 0.015),
            ("*6", 0.01),
            ("*1x2", 0.005),
            ("*2x2", 0.005),
        ],
    ),
    (
        "CYP2C19",
        &[("*1", 0.625), ("*17", 0.215), ("*2", 0.15), ("*3", 0.01)],
    ),
    ("CYP3A5", &[("*3", 0.925), ("*1", 0.075)]),
    (
        "CYP2C9",
        &[("*1", 0.795), ("*2", 0.13), ("*3", 0.07), ("*11", 0.005)],
    ),
    ("VKORC1", &[("G", 0.61), ("A", 0.39)]),
    (
        "SLCO1B1",
        &[
            ("*1", 0.59),
            ("*37", 0.22),
            ("*15", 0.14),
            ("*14", 0.035),
            ("*5", 0.015),
        ],
    ),
];

fn draw<'a>(rng: &mut impl Rng, table: &[(&'a str, f64)]) -> &'a str {
    let total: f64 = table.iter().map(|(_, f)| f).sum();
    let mut u = rng.gen::<f64>() * total;
    for (a, f) in table {
        if u < *f {
            return a;
        }
        u -= f;
    }
    table.last().map_or("", |(a, _)| a)
}

/// Sort key so diplotypes read in the conventional order: `*1/*4`, `*2x2/*41`, `G/A`.
fn key(allele: &str) -> (u32, String) {
    match allele.strip_prefix('*') {
        Some(s) => {
            let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
            (digits.parse().unwrap_or(u32::MAX), s.to_string())
        }
        // VKORC1: the reference allele G first.
        None => (u32::from(allele != "G"), allele.to_string()),
    }
}

/// One diplotype per gene, in [`TABLES`] order.
pub(crate) fn genotype(rng: &mut impl Rng) -> Vec<(&'static str, String)> {
    TABLES
        .iter()
        .map(|(gene, table)| {
            let mut pair = [draw(rng, table), draw(rng, table)];
            pair.sort_by_key(|a| key(a));
            (*gene, format!("{}/{}", pair[0], pair[1]))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn tables_sum_to_one_and_parse() {
        for (gene, table) in TABLES {
            let s: f64 = table.iter().map(|(_, f)| f).sum();
            assert!((s - 1.0).abs() < 1e-9, "{gene} sums to {s}");
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..200 {
            for (gene, d) in genotype(&mut rng) {
                assert_eq!(
                    crate::normalize_diplotype(gene, &d).as_deref(),
                    Ok(d.as_str())
                );
            }
        }
    }

    #[test]
    fn frequencies_are_reproduced() {
        // 20 000 draws: the CYP2C19 *17 and VKORC1 A allele frequencies come out within 1.5 %.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (mut star17, mut a, n) = (0usize, 0usize, 10_000);
        for _ in 0..n {
            let g = genotype(&mut rng);
            star17 += g[1].1.matches("*17").count();
            a += g[4].1.matches('A').count();
        }
        let f17 = star17 as f64 / (2 * n) as f64;
        let fa = a as f64 / (2 * n) as f64;
        assert!((f17 - 0.215).abs() < 0.015, "{f17}");
        assert!((fa - 0.39).abs() < 0.015, "{fa}");
    }
}
