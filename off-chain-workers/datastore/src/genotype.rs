//! Pharmacogenomic genotype files and diplotype syntax.
//!
//! A file holds one call per line: `identifier, gene, diplotype`, separated by tabs (TSV) or
//! commas (CSV). Blank lines and `#` comments are ignored, and a first line starting with
//! `identifier` is a header. Diplotypes are checked per gene and normalized to the forms the
//! simulation crate interprets (`*1/*4`, `*1x2/*4`, `G/A`, `T/C`).

use crate::error::{Error, Result};

/// Pharmacogenes the store accepts.
pub const GENES: [&str; 6] = ["CYP2D6", "CYP2C19", "CYP3A5", "CYP2C9", "VKORC1", "SLCO1B1"];

/// One parsed line of a genotype file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenotypeLine {
    /// 1-based line number.
    pub line: usize,
    /// The patient's local identifier (pseudonymized at ingest).
    pub identifier: String,
    /// Gene symbol, upper case.
    pub gene: String,
    /// Normalized diplotype.
    pub diplotype: String,
}

/// A star allele `*N`, with a CYP2D6 copy-number suffix (`x2`, `xN`) where `dup` allows it.
fn star(a: &str, dup: bool) -> Option<String> {
    let rest = a.strip_prefix('*')?;
    let (num, copies) = match rest.split_once(['x', 'X']) {
        Some((n, c)) if dup => (n, Some(c)),
        Some(_) => return None,
        None => (rest, None),
    };
    if num.is_empty()
        || num.len() > 3
        || !num.bytes().all(|b| b.is_ascii_digit())
        || num.starts_with('0')
    {
        return None;
    }
    match copies {
        None => Some(format!("*{num}")),
        Some("N" | "n") => Some(format!("*{num}xN")),
        Some(c) if c.len() == 1 && ('2'..='9').contains(&c.chars().next()?) => {
            Some(format!("*{num}x{c}"))
        }
        Some(_) => None,
    }
}

/// Two single-nucleotide alleles from `X/Y`, `XY`, with an optional position prefix such as
/// `-1639` (VKORC1) or `521`/`c.521` (SLCO1B1).
fn snp(d: &str, prefixes: &[&str], alleles: &[char]) -> Option<String> {
    let mut s = d.trim();
    for p in prefixes {
        if let Some(r) = s.strip_prefix(p) {
            s = r.trim();
            break;
        }
    }
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let letters: Vec<char> = match s.split_once('/') {
        Some((a, b)) if a.len() == 1 && b.len() == 1 => a.chars().chain(b.chars()).collect(),
        None if s.len() == 2 => s.chars().collect(),
        _ => return None,
    };
    let letters: Vec<char> = letters.iter().map(char::to_ascii_uppercase).collect();
    if !letters.iter().all(|c| alleles.contains(c)) {
        return None;
    }
    Some(format!("{}/{}", letters[0], letters[1]))
}

fn star_pair(d: &str, dup: bool) -> Option<String> {
    let (a, b) = d.split_once('/')?;
    Some(format!("{}/{}", star(a.trim(), dup)?, star(b.trim(), dup)?))
}

/// Checks `diplotype` for `gene` and returns it normalized; the error says what was expected.
pub fn normalize_diplotype(gene: &str, diplotype: &str) -> Result<String, String> {
    let d = diplotype.trim();
    let out = match gene {
        "CYP2D6" => star_pair(d, true),
        "CYP2C19" | "CYP3A5" | "CYP2C9" => star_pair(d, false),
        "VKORC1" => snp(d, &["c.-1639", "-1639"], &['G', 'A']),
        "SLCO1B1" => star_pair(d, false).or_else(|| snp(d, &["c.521", "521"], &['T', 'C'])),
        _ => {
            return Err(format!(
                "unknown gene `{gene}` (expected one of {})",
                GENES.join(", ")
            ))
        }
    };
    out.ok_or_else(|| {
        let hint = match gene {
            "CYP2D6" => "two star alleles like *1/*4 (duplications as *1x2 or *2xN)",
            "VKORC1" => "the -1639G>A genotype as G/G, G/A or A/A",
            "SLCO1B1" => "two star alleles like *1/*5, or the 521T>C genotype as T/T, T/C or C/C",
            _ => "two star alleles like *1/*2",
        };
        format!("{gene} diplotype `{diplotype}` is malformed: expected {hint}")
    })
}

/// Parses a genotype file's text. Errors name the 1-based line.
pub fn parse_genotype_file(text: &str) -> Result<Vec<GenotypeLine>> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let sep = if l.contains('\t') { '\t' } else { ',' };
        let cols: Vec<&str> = l.split(sep).map(str::trim).collect();
        if out.is_empty()
            && cols
                .first()
                .is_some_and(|c| c.eq_ignore_ascii_case("identifier"))
        {
            continue;
        }
        let err = |message: String| Error::Genotype { line, message };
        let [identifier, gene, diplotype] = cols[..] else {
            return Err(err(format!(
                "expected 3 columns (identifier, gene, diplotype), found {}",
                cols.len()
            )));
        };
        if identifier.is_empty() {
            return Err(err("identifier is empty".into()));
        }
        let gene = gene.to_ascii_uppercase();
        let diplotype = normalize_diplotype(&gene, diplotype).map_err(err)?;
        out.push(GenotypeLine {
            line,
            identifier: identifier.to_string(),
            gene,
            diplotype,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diplotypes_per_gene() {
        let ok = [
            ("CYP2D6", "*1/*4", "*1/*4"),
            ("CYP2D6", "*2x2/*41", "*2x2/*41"),
            ("CYP2D6", "*1XN / *4", "*1xN/*4"),
            ("CYP2C19", "*1/*17", "*1/*17"),
            ("CYP3A5", "*3/*3", "*3/*3"),
            ("CYP2C9", "*1/*3", "*1/*3"),
            ("VKORC1", "-1639GA", "G/A"),
            ("VKORC1", "-1639 G/G", "G/G"),
            ("VKORC1", "A/A", "A/A"),
            ("VKORC1", "ga", "G/A"),
            ("SLCO1B1", "*1/*5", "*1/*5"),
            ("SLCO1B1", "521TC", "T/C"),
            ("SLCO1B1", "c.521 C/C", "C/C"),
        ];
        for (g, d, want) in ok {
            assert_eq!(normalize_diplotype(g, d).as_deref(), Ok(want), "{g} {d}");
        }
        let bad = [
            ("CYP2D6", "*1-*4"),
            ("CYP2D6", "*1/*4/*5"),
            ("CYP2C19", "*1x2/*2"),
            ("CYP2C9", "1/3"),
            ("VKORC1", "C/T"),
            ("VKORC1", "G/A/A"),
            // The variant name alone does not say which genotype.
            ("VKORC1", "-1639G>A"),
            ("SLCO1B1", "521TG"),
            ("CYP2D6", "*01/*4"),
        ];
        for (g, d) in bad {
            assert!(normalize_diplotype(g, d).is_err(), "{g} {d} accepted");
        }
        assert!(normalize_diplotype("CYP9Z9", "*1/*1")
            .unwrap_err()
            .contains("unknown gene"));
    }

    #[test]
    fn file_errors_name_the_line() {
        let text =
            "identifier\tgene\tdiplotype\n# comment\nMRN1\tCYP2D6\t*1/*4\n\nMRN1\tCYP9Z9\t*1/*1\n";
        match parse_genotype_file(text) {
            Err(Error::Genotype { line: 5, message }) => {
                assert!(message.contains("CYP9Z9"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        match parse_genotype_file("MRN1,CYP2C19,*1/*2\nMRN1,VKORC1\n") {
            Err(Error::Genotype { line: 2, message }) => {
                assert!(message.contains("3 columns"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        let rows = parse_genotype_file("MRN1, slco1b1, 521TC\n").unwrap();
        assert_eq!(rows[0].gene, "SLCO1B1");
        assert_eq!(rows[0].diplotype, "T/C");
    }
}
