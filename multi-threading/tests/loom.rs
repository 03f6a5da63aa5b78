//! Proofs by model checking. loom runs a closure once for every interleaving its threads can
//! have (up to a bound on preemptions), so a property asserted here holds in all of them —
//! unlike a test that runs racy code many times and hopes to see the bad interleaving.
//!
//! The code under test is the chapter's own: `src/counter.rs` and `src/pool.rs`, included here
//! with a `sync` module of loom's types in place of std's. Run with:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p multi-threading --test loom --release --target-dir target/loom
//! ```
/// Without `--cfg loom`, this file's one test: `cargo test` lists it as ignored, with the
/// command that runs the proofs (instead of a bare "0 passed"), and that command runs them as
/// CI does — a build of their own, with `--cfg loom`, in `target/loom`.
#[cfg(not(loom))]
#[test]
#[ignore = "the proofs need --cfg loom: cargo test -p multi-threading --test loom -- --ignored"]
fn loom_proofs() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/loom");
    let status = std::process::Command::new(cargo)
        .args(["test", "-p", "multi-threading", "--test", "loom", "--release", "--target-dir"])
        .arg(target)
        .env("RUSTFLAGS", "--cfg loom")
        .status()
        .expect("running cargo");
    assert!(status.success(), "a loom proof failed, or did not build");
}

// In a folder of its own, so that cargo does not take it for a test of its own.
#[cfg(loom)]
#[path = "loom/proofs.rs"]
mod proofs;
// `counter.rs` and `pool.rs` find loom's types at `crate::sync`.
#[cfg(loom)]
use proofs::sync;
