//! The committed metadata must be exactly the built runtime's, or the generated client would
//! describe a different chain. `CONSENTRY_UPDATE_METADATA=1 cargo test -p consentry-client
//! --test metadata` rewrites it.

#[test]
fn metadata_is_current() {
    let built = consentry_runtime::Runtime::metadata_at_version(15).expect("the runtime serves metadata v15");
    let built: &[u8] = &built;
    assert_eq!(&built[..4], b"meta", "metadata starts with its magic number");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("metadata/consentry.scale");
    if std::env::var_os("CONSENTRY_UPDATE_METADATA").is_some() {
        std::fs::write(&path, built).expect("write metadata");
    }
    let committed = std::fs::read(&path).expect("metadata/consentry.scale exists");
    assert!(
        committed == built,
        "metadata/consentry.scale is stale: rerun with CONSENTRY_UPDATE_METADATA=1 and commit it"
    );
}
