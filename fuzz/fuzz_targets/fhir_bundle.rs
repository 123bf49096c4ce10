//! A FHIR R4 bundle as a hospital's export hands it to `consentry-datastore ingest`: any bytes.
//! Ingest either takes the bundle or refuses it with an error and leaves the store as it was.

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
    match store.ingest_bundle_str(&pepper, text) {
        Ok(report) => {
            let after = store.counts().expect("counts");
            assert!(after.patients >= before.patients);
            assert!(after.patients as usize <= report.patients.len() + before.patients as usize);
        }
        Err(_) => assert_eq!(
            store.counts().expect("counts"),
            before,
            "a refused bundle changed the store"
        ),
    }
});
