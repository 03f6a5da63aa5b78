//! Records the optimisation level this crate is built with, so that examples can warn
//! when their timings come from an unoptimised build.
fn main() {
    let level = std::env::var("OPT_LEVEL").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=SHARED_OPT_LEVEL={level}");
    println!("cargo:rerun-if-changed=build.rs");
}
