//! Whether the PostgreSQL variants of the tests run is decided when the tests
//! are built, so that a run without a database lists them as ignored, with the
//! reason, instead of passing them without running anything.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(pg_tests)");
    println!("cargo::rerun-if-env-changed=TIMEBANK_TEST_PG_URL");
    println!("cargo::rerun-if-changed=build.rs");
    // The migrations are embedded in the binary; a new folder must rebuild it.
    println!("cargo::rerun-if-changed=migrations");
    if std::env::var("TIMEBANK_TEST_PG_URL").is_ok_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=pg_tests");
    }
}
