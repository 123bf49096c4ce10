//! Genotype → CPIC activity score → metabolizer phenotype.
//!
//! Allele function and activity values follow the CPIC allele functionality
//! tables; phenotype thresholds follow the CPIC term-standardisation papers:
//! - CYP2D6: Caudle KE et al., Clin Transl Sci 2020;13:116-24 (AS 0 → PM,
//!   0.25–1.0 → IM, 1.25–2.25 → NM, > 2.25 → UM).
//! - CYP2C9: Theken KN et al., Clin Pharmacol Ther 2020;108:191-200
//!   (AS 2 → NM, 1–1.5 → IM, 0–0.5 → PM).
//! - CYP2C19: Lima JJ et al., Clin Pharmacol Ther 2021;109:1417-23.
//! - CYP3A5: Birdwell KA et al., Clin Pharmacol Ther 2015;98:19-24
//!   (*1/*1 normal ["extensive"], *1/*3 intermediate, *3/*3 poor).
//! - SLCO1B1: Cooper-DeHoff RM et al., Clin Pharmacol Ther 2022;111:1007-21
//!   (transporter "function" phenotypes mapped onto the metabolizer scale:
//!   poor function → Poor, decreased → Intermediate, increased → Rapid).
//! - VKORC1 is a sensitivity (PD) gene, handled by [`vkorc1`].

use serde::{Deserialize, Serialize};

use crate::error::{invalid, Result, SimError};

/// Metabolizer (or transporter-function) phenotype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Phenotype {
    /// No functional enzyme/transporter activity.
    Poor,
    /// Reduced activity.
    Intermediate,
    /// Reference activity.
    Normal,
    /// Increased activity (CYP2C19 *1/*17, SLCO1B1 increased function).
    Rapid,
    /// Markedly increased activity (gene duplications, CYP2C19 *17/*17).
    Ultrarapid,
}

impl Phenotype {
    /// All phenotypes, poorest first.
    pub const ALL: [Phenotype; 5] = [
        Phenotype::Poor,
        Phenotype::Intermediate,
        Phenotype::Normal,
        Phenotype::Rapid,
        Phenotype::Ultrarapid,
    ];
}

/// Result of interpreting one gene's diplotype.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PgxCall {
    /// Gene symbol (upper case).
    pub gene: String,
    /// Diplotype as given.
    pub diplotype: String,
    /// CPIC activity score where the gene uses one (CYP2D6, CYP2C9).
    pub activity_score: Option<f64>,
    /// Resulting phenotype.
    pub phenotype: Phenotype,
}

/// Genes with a phenotype table here.
pub const SUPPORTED_GENES: [&str; 5] = ["CYP2D6", "CYP2C9", "CYP2C19", "CYP3A5", "SLCO1B1"];

const CYP2D6_ALLELES: &[(&str, f64)] = &[
    ("*1", 1.0),
    ("*2", 1.0),
    ("*33", 1.0),
    ("*35", 1.0),
    ("*9", 0.5),
    ("*17", 0.5),
    ("*29", 0.5),
    ("*41", 0.5),
    ("*10", 0.25),
    ("*3", 0.0),
    ("*4", 0.0),
    ("*5", 0.0),
    ("*6", 0.0),
    ("*7", 0.0),
    ("*8", 0.0),
    ("*11", 0.0),
    ("*12", 0.0),
    ("*15", 0.0),
    ("*36", 0.0),
    ("*40", 0.0),
];

const CYP2C9_ALLELES: &[(&str, f64)] = &[
    ("*1", 1.0),
    ("*9", 1.0),
    ("*2", 0.5),
    ("*5", 0.5),
    ("*8", 0.5),
    ("*11", 0.5),
    ("*3", 0.0),
    ("*6", 0.0),
    ("*13", 0.0),
];

/// Allele function for genes without an activity score.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Function {
    No,
    Decreased,
    Normal,
    Increased,
}

const CYP2C19_ALLELES: &[(&str, Function)] = &[
    ("*1", Function::Normal),
    ("*17", Function::Increased),
    ("*2", Function::No),
    ("*3", Function::No),
    ("*4", Function::No),
    ("*8", Function::No),
    ("*9", Function::Decreased),
];

const CYP3A5_ALLELES: &[(&str, Function)] = &[
    ("*1", Function::Normal),
    ("*3", Function::No),
    ("*6", Function::No),
    ("*7", Function::No),
];

// rs4149056 (c.521T>C) alleles are accepted as "T"/"C" so that panels that
// only genotype the SNP can still be interpreted.
const SLCO1B1_ALLELES: &[(&str, Function)] = &[
    ("*1", Function::Normal),
    ("*37", Function::Normal),
    ("T", Function::Normal),
    ("*14", Function::Increased),
    ("*20", Function::Increased),
    ("*5", Function::No),
    ("*15", Function::No),
    ("*31", Function::No),
    ("C", Function::No),
];

fn known_list<T>(table: &[(&str, T)]) -> String {
    table.iter().map(|(a, _)| *a).collect::<Vec<_>>().join(", ")
}

/// Splits "*1/*4", "*1x2/*4", "C/T" or "TC" into alleles with copy numbers.
fn split_diplotype(gene: &str, diplotype: &str) -> Result<[(String, u32); 2]> {
    let d = diplotype.trim();
    let parts: Vec<&str> = if d.contains('/') {
        d.split('/').map(str::trim).collect()
    } else if d.len() == 2 && d.chars().all(|c| "ACGT".contains(c.to_ascii_uppercase())) {
        vec![&d[..1], &d[1..]]
    } else {
        Vec::new()
    };
    if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
        return Err(invalid(
            format!("genotypes.{gene}"),
            format!("cannot parse diplotype `{diplotype}`; write two alleles separated by '/', e.g. \"*1/*4\""),
        ));
    }
    let mut out: [(String, u32); 2] = Default::default();
    for (slot, p) in out.iter_mut().zip(parts) {
        let lower = p.to_ascii_lowercase();
        *slot = match lower.split_once('x') {
            Some((allele, n)) if allele.starts_with('*') => {
                // CPIC scores "xN" of unknown N as at least two copies.
                let copies = if n == "n" {
                    2
                } else {
                    n.parse::<u32>()
                        .ok()
                        .filter(|c| (1..=9).contains(c))
                        .ok_or_else(|| {
                            invalid(
                                format!("genotypes.{gene}"),
                                format!("bad copy number in `{p}`; use e.g. \"*1x2\""),
                            )
                        })?
                };
                (allele.to_string(), copies)
            }
            _ => (p.to_ascii_uppercase(), 1),
        };
    }
    Ok(out)
}

fn lookup<T: Copy>(gene: &str, diplotype: &str, allele: &str, table: &[(&str, T)]) -> Result<T> {
    table
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(allele))
        .map(|(_, v)| *v)
        .ok_or_else(|| SimError::UnknownAllele {
            gene: gene.to_string(),
            diplotype: diplotype.to_string(),
            allele: allele.to_string(),
            known: known_list(table),
        })
}

/// CPIC activity score for genes that use one (CYP2D6, CYP2C9); `None` otherwise.
pub fn activity_score(gene: &str, diplotype: &str) -> Result<Option<f64>> {
    let g = gene.trim().to_ascii_uppercase();
    let table = match g.as_str() {
        "CYP2D6" => CYP2D6_ALLELES,
        "CYP2C9" => CYP2C9_ALLELES,
        _ if SUPPORTED_GENES.contains(&g.as_str()) => return Ok(None),
        _ => return Err(unknown_gene(gene)),
    };
    let alleles = split_diplotype(&g, diplotype)?;
    if g == "CYP2C9" && alleles.iter().any(|(_, n)| *n != 1) {
        return Err(invalid(
            "genotypes.CYP2C9",
            "CYP2C9 duplications have no CPIC activity value; give two single alleles",
        ));
    }
    let mut score = 0.0;
    for (allele, copies) in &alleles {
        score += lookup(&g, diplotype, allele, table)? * f64::from(*copies);
    }
    Ok(Some(score))
}

fn unknown_gene(gene: &str) -> SimError {
    SimError::UnknownGene {
        gene: gene.to_string(),
        supported: SUPPORTED_GENES.join(", "),
    }
}

/// Phenotype from a CYP2D6 activity score (Caudle 2020).
pub fn cyp2d6_phenotype_from_score(score: f64) -> Phenotype {
    if score <= 0.0 {
        Phenotype::Poor
    } else if score <= 1.0 {
        Phenotype::Intermediate
    } else if score <= 2.25 {
        Phenotype::Normal
    } else {
        Phenotype::Ultrarapid
    }
}

/// Phenotype from a CYP2C9 activity score (Theken 2020).
pub fn cyp2c9_phenotype_from_score(score: f64) -> Phenotype {
    if score <= 0.5 {
        Phenotype::Poor
    } else if score < 2.0 {
        Phenotype::Intermediate
    } else {
        Phenotype::Normal
    }
}

fn function_pair(gene: &str, diplotype: &str, table: &[(&str, Function)]) -> Result<[Function; 2]> {
    let alleles = split_diplotype(gene, diplotype)?;
    Ok([
        lookup(gene, diplotype, &alleles[0].0, table)?,
        lookup(gene, diplotype, &alleles[1].0, table)?,
    ])
}

/// Interprets a diplotype for `gene` (case-insensitive), e.g.
/// `phenotype("CYP2D6", "*1/*4")` → `Intermediate`.
pub fn phenotype(gene: &str, diplotype: &str) -> Result<Phenotype> {
    Ok(assess(gene, diplotype)?.phenotype)
}

/// Like [`phenotype`] but also returns the activity score.
pub fn assess(gene: &str, diplotype: &str) -> Result<PgxCall> {
    use Function::*;
    let g = gene.trim().to_ascii_uppercase();
    let score = activity_score(&g, diplotype)?;
    let phenotype = match g.as_str() {
        "CYP2D6" => cyp2d6_phenotype_from_score(score.unwrap_or_default()),
        "CYP2C9" => cyp2c9_phenotype_from_score(score.unwrap_or_default()),
        "CYP2C19" => match function_pair(&g, diplotype, CYP2C19_ALLELES)? {
            [Increased, Increased] => Phenotype::Ultrarapid,
            [Normal, Increased] | [Increased, Normal] => Phenotype::Rapid,
            [Normal, Normal] => Phenotype::Normal,
            [No, No] | [No, Decreased] | [Decreased, No] => Phenotype::Poor,
            _ => Phenotype::Intermediate,
        },
        "CYP3A5" => match function_pair(&g, diplotype, CYP3A5_ALLELES)? {
            [Normal, Normal] => Phenotype::Normal,
            [No, No] => Phenotype::Poor,
            _ => Phenotype::Intermediate,
        },
        "SLCO1B1" => {
            let f = function_pair(&g, diplotype, SLCO1B1_ALLELES)?;
            let reduced = f.iter().filter(|x| matches!(x, No | Decreased)).count();
            let increased = f.iter().filter(|x| **x == Increased).count();
            match (reduced, increased) {
                (2, _) => Phenotype::Poor,
                (1, _) => Phenotype::Intermediate,
                (0, n) if n > 0 => Phenotype::Rapid,
                _ => Phenotype::Normal,
            }
        }
        _ => return Err(unknown_gene(gene)),
    };
    Ok(PgxCall {
        gene: g,
        diplotype: diplotype.to_string(),
        activity_score: score,
        phenotype,
    })
}

/// VKORC1 c.-1639G>A (rs9923231) genotype: a warfarin *sensitivity* marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Vkorc1 {
    /// -1639 G/G: reference sensitivity.
    GG,
    /// -1639 G/A: increased sensitivity.
    GA,
    /// -1639 A/A: greatest sensitivity.
    AA,
}

/// Parses "G/A", "GA", "-1639G>A het" style inputs ("A/G" is accepted too).
pub fn vkorc1(diplotype: &str) -> Result<Vkorc1> {
    let letters: String = diplotype
        .trim()
        .trim_start_matches("-1639")
        .chars()
        .filter(|c| matches!(c, 'A' | 'G' | 'a' | 'g'))
        .collect::<String>()
        .to_ascii_uppercase();
    match letters.as_str() {
        "GG" => Ok(Vkorc1::GG),
        "GA" | "AG" => Ok(Vkorc1::GA),
        "AA" => Ok(Vkorc1::AA),
        _ => Err(invalid(
            "genotypes.VKORC1",
            format!("cannot parse `{diplotype}`; give the -1639G>A genotype as \"G/G\", \"G/A\" or \"A/A\""),
        )),
    }
}
