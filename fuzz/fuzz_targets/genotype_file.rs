//! A genotype file (`identifier, gene, diplotype` rows) as a lab hands it over: any bytes.
//! Ingest either takes every line or refuses the file, naming the line, and changes nothing.

#![no_main]

use consentry_datastore::{Pepper, Store};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut store = Store::open(std::path::Path::new(":memory:")).expect("in-memory store");
    let pepper =
        Pepper::from_bytes(b"fuzz-pepper-0123456789abcdef012345".to_vec()).expect("pepper");
    let before = store.counts().expect("counts");
    match store.ingest_genotypes(&pepper, text) {
        Ok(n) => {
            let after = store.counts().expect("counts");
            assert!(after.genotypes <= before.genotypes + n as u64);
        }
        Err(e) => {
            assert_eq!(
                store.counts().expect("counts"),
                before,
                "a refused file changed the store"
            );
            assert!(!e.to_string().is_empty());
        }
    }
});
