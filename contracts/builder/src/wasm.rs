//! What the build does to a contract's wasm besides optimizing it, without a wasm library (this
//! file is compiled into both the build script and the crate, so its tests run as unit tests):
//!
//! * [`strip`] drops custom sections (debug info, names, producers, target features) and every
//!   export but the entry points `call` and `deploy`: rustc's cdylib also exports `memcpy`,
//!   `__heap_base`, `__data_end`, …, which pallet-contracts refuses ("unknown function export",
//!   "global export is forbidden");
//! * [`inspect`] decodes every function body instruction by instruction and counts post-MVP
//!   instructions (bulk memory, sign extension, saturating conversions, SIMD), and reads the
//!   imports, exports and the memory import's limits, so the build can refuse a module
//!   pallet-contracts 40.1.0 would reject (it disables bulk memory; Determinism::Enforced).

/// A module's shape as far as pallet-contracts cares.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// `module.name` of every import.
    pub imports: Vec<String>,
    /// Names of every export.
    pub exports: Vec<String>,
    /// The imported memory's limits in pages (initial, maximum).
    pub memory: Option<(u32, Option<u32>)>,
    /// Post-MVP instructions by proposal, with counts.
    pub post_mvp: Vec<(&'static str, usize)>,
    /// Number of function bodies decoded.
    pub functions: usize,
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, String> {
        let x = *self
            .b
            .get(self.i)
            .ok_or_else(|| format!("unexpected end at byte {}", self.i))?;
        self.i += 1;
        Ok(x)
    }

    fn skip(&mut self, n: usize) -> Result<(), String> {
        if self.i + n > self.b.len() {
            return Err(format!("unexpected end at byte {}", self.i));
        }
        self.i += n;
        Ok(())
    }

    /// An unsigned or signed LEB128 (the value is only needed unsigned, up to 32 bits).
    fn leb(&mut self) -> Result<u64, String> {
        let (mut r, mut s) = (0u64, 0u32);
        loop {
            let x = self.byte()?;
            if s < 64 {
                r |= u64::from(x & 0x7f) << s;
            }
            s += 7;
            if x & 0x80 == 0 {
                return Ok(r);
            }
            if s > 70 {
                return Err("LEB128 too long".into());
            }
        }
    }

    fn name(&mut self) -> Result<String, String> {
        let n = self.leb()? as usize;
        let start = self.i;
        self.skip(n)?;
        String::from_utf8(self.b[start..self.i].to_vec()).map_err(|_| "name not UTF-8".into())
    }
}

/// The module's sections: id and the byte range of its contents.
fn sections(b: &[u8]) -> Result<Vec<(u8, core::ops::Range<usize>)>, String> {
    if b.len() < 8 || &b[..4] != b"\0asm" || b[4..8] != [1, 0, 0, 0] {
        return Err("not a version-1 wasm module".into());
    }
    let mut r = Reader { b, i: 8 };
    let mut out = Vec::new();
    while r.i < b.len() {
        let id = r.byte()?;
        let size = r.leb()? as usize;
        let start = r.i;
        r.skip(size)?;
        out.push((id, start..r.i));
    }
    Ok(out)
}

fn leb_bytes(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// The module without custom sections and with only the `call` and `deploy` exports.
pub fn strip(b: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = b[..8].to_vec();
    for (id, range) in sections(b)? {
        let body = &b[range];
        let body = match id {
            0 => continue,
            7 => {
                let mut r = Reader { b: body, i: 0 };
                let n = r.leb()?;
                let mut kept = Vec::new();
                let mut count = 0u64;
                for _ in 0..n {
                    let start = r.i;
                    let name = r.name()?;
                    r.byte()?;
                    r.leb()?;
                    if name == "call" || name == "deploy" {
                        kept.extend_from_slice(&body[start..r.i]);
                        count += 1;
                    }
                }
                let mut sec = Vec::new();
                leb_bytes(count, &mut sec);
                sec.extend(kept);
                sec
            }
            _ => body.to_vec(),
        };
        out.push(id);
        leb_bytes(body.len() as u64, &mut out);
        out.extend(body);
    }
    Ok(out)
}

/// Imports, exports, memory limits and post-MVP instructions of a module.
pub fn inspect(b: &[u8]) -> Result<Report, String> {
    let mut report = Report::default();
    let mut found: std::collections::BTreeMap<&'static str, usize> = Default::default();
    for (id, range) in sections(b)? {
        let mut r = Reader {
            b: &b[..range.end],
            i: range.start,
        };
        match id {
            2 => {
                for _ in 0..r.leb()? {
                    let module = r.name()?;
                    let name = r.name()?;
                    match r.byte()? {
                        0 => {
                            r.leb()?;
                        }
                        1 => {
                            r.byte()?;
                            let flags = r.byte()?;
                            r.leb()?;
                            if flags & 1 != 0 {
                                r.leb()?;
                            }
                        }
                        2 => {
                            let flags = r.byte()?;
                            let initial = r.leb()? as u32;
                            let max = if flags & 1 != 0 {
                                Some(r.leb()? as u32)
                            } else {
                                None
                            };
                            report.memory = Some((initial, max));
                        }
                        3 => r.skip(2)?,
                        k => return Err(format!("unknown import kind {k}")),
                    }
                    report.imports.push(format!("{module}.{name}"));
                }
            }
            7 => {
                for _ in 0..r.leb()? {
                    report.exports.push(r.name()?);
                    r.byte()?;
                    r.leb()?;
                }
            }
            10 => {
                for _ in 0..r.leb()? {
                    let size = r.leb()? as usize;
                    let end = r.i + size;
                    for _ in 0..r.leb()? {
                        r.leb()?;
                        r.byte()?;
                    }
                    while r.i < end {
                        instruction(&mut r, &mut found)?;
                    }
                    if r.i != end {
                        return Err("function body overran".into());
                    }
                    report.functions += 1;
                }
            }
            _ => {}
        }
    }
    report.post_mvp = found.into_iter().collect();
    Ok(report)
}

fn instruction(
    r: &mut Reader<'_>,
    found: &mut std::collections::BTreeMap<&'static str, usize>,
) -> Result<(), String> {
    let op = r.byte()?;
    match op {
        // block, loop, if: a block type (empty, a value type, or a signed type index).
        0x02..=0x04 => {
            let bt = r.b.get(r.i).copied().ok_or("unexpected end")?;
            if bt == 0x40 || bt >= 0x6f {
                r.byte()?;
            } else {
                r.leb()?;
            }
        }
        0x0c | 0x0d | 0x10 | 0x20..=0x24 | 0xd2 => {
            r.leb()?;
        }
        0x0e => {
            for _ in 0..=r.leb()? {
                r.leb()?;
            }
        }
        0x11 => {
            r.leb()?;
            r.leb()?;
        }
        0x1c => {
            let n = r.leb()? as usize;
            r.skip(n)?;
        }
        0x28..=0x3e => {
            r.leb()?;
            r.leb()?;
        }
        0x3f | 0x40 => r.skip(1)?,
        0x41 | 0x42 => {
            r.leb()?;
        }
        0x43 => r.skip(4)?,
        0x44 => r.skip(8)?,
        0xc0..=0xc4 => *found.entry("sign-ext").or_default() += 1,
        0xd0 => r.skip(1)?,
        0xfc => {
            let sub = r.leb()?;
            let name = if sub <= 7 {
                "saturating-float-to-int"
            } else {
                "bulk-memory"
            };
            *found.entry(name).or_default() += 1;
            match sub {
                8 => {
                    r.leb()?;
                    r.skip(1)?;
                }
                9 | 13 | 15..=17 => {
                    r.leb()?;
                }
                10 | 12 | 14 => {
                    r.leb()?;
                    r.leb()?;
                }
                11 => r.skip(1)?,
                _ => {}
            }
        }
        0xfd => return Err("SIMD instruction (not decoded further)".into()),
        0x00 | 0x01 | 0x05 | 0x0b | 0x0f | 0x1a | 0x1b | 0x45..=0xbf | 0xd1 => {}
        other => return Err(format!("unknown opcode {other:#04x} at byte {}", r.i - 1)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module by hand: imports env.memory (2 pages) and seal0.input, exports call, deploy,
    /// memcpy and a global, a custom section, and bodies with the given instructions.
    fn module(body: &[u8]) -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        let sec = |id: u8, content: Vec<u8>, m: &mut Vec<u8>| {
            m.push(id);
            leb_bytes(content.len() as u64, m);
            m.extend(content);
        };
        sec(1, vec![1, 0x60, 0, 0], &mut m); // type 0: [] -> []
        let mut imports = vec![2];
        imports.extend(b"\x03env\x06memory\x02\x00\x02");
        imports.extend(b"\x05seal0\x05input\x00\x00");
        sec(2, imports, &mut m);
        sec(3, vec![2, 0, 0], &mut m); // two functions of type 0
        sec(6, vec![1, 0x7f, 0, 0x41, 0, 0x0b], &mut m); // global i32 = 0
        let mut exports = vec![4];
        exports
            .extend(b"\x04call\x00\x01\x06deploy\x00\x02\x06memcpy\x00\x01\x0b__heap_base\x03\x00");
        sec(7, exports, &mut m);
        let mut f = vec![0]; // no locals
        f.extend(body);
        f.push(0x0b);
        let mut code = vec![2];
        leb_bytes(f.len() as u64, &mut code);
        code.extend(&f);
        code.extend([2, 0, 0x0b]);
        sec(10, code, &mut m);
        sec(0, b"\x08producers\x01\x02".to_vec(), &mut m);
        m
    }

    #[test]
    fn mvp_code_has_no_post_mvp_instructions() {
        // i32.const 0, i32.load offset 4, drop, block (nop) end
        let m = module(&[0x41, 0, 0x28, 2, 4, 0x1a, 0x02, 0x40, 0x01, 0x0b]);
        let r = inspect(&m).unwrap();
        assert_eq!(r.post_mvp, vec![]);
        assert_eq!(r.functions, 2);
        assert_eq!(r.memory, Some((2, None)));
        assert_eq!(r.imports, vec!["env.memory", "seal0.input"]);
        assert_eq!(r.exports, vec!["call", "deploy", "memcpy", "__heap_base"]);
    }

    #[test]
    fn bulk_memory_and_sign_ext_are_found() {
        // i32.const 0 ×3, memory.copy 0 0; i32.const 0 ×3, memory.fill 0;
        // i32.const 0, i32.extend8_s, drop
        let body = [
            0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 10, 0, 0, 0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 11, 0,
            0x41, 0, 0xc0, 0x1a,
        ];
        let r = inspect(&module(&body)).unwrap();
        assert_eq!(r.post_mvp, vec![("bulk-memory", 2), ("sign-ext", 1)]);
    }

    #[test]
    fn strip_keeps_only_the_entry_points_and_no_custom_section() {
        let m = module(&[0x01]);
        let s = strip(&m).unwrap();
        let r = inspect(&s).unwrap();
        assert_eq!(r.exports, vec!["call", "deploy"]);
        assert!(sections(&s).unwrap().iter().all(|(id, _)| *id != 0));
        assert_eq!(r.functions, 2);
        assert_eq!(r.imports, inspect(&m).unwrap().imports);
        // Every other section is byte-identical, and stripping again changes nothing.
        let keep = |b: &[u8]| -> Vec<Vec<u8>> {
            sections(b)
                .unwrap()
                .into_iter()
                .filter(|(id, _)| *id != 0 && *id != 7)
                .map(|(_, r)| b[r].to_vec())
                .collect()
        };
        assert_eq!(keep(&s), keep(&m));
        assert_eq!(strip(&s).unwrap(), s);
    }
}
