//! Three exact counters and what each increment costs: a `Mutex`, an atomic, partial sums.
//!
//! Two threads add 1 to a shared total, the same number of times with each method:
//!
//! - `Mutex<u64>`: lock, add, unlock — Python's `with lock: counter += 1`. When the other
//!   thread holds the lock, this one waits; the cache line with the lock bounces between cores.
//! - `AtomicU64::fetch_add`: one indivisible CPU instruction, no lock — but the two cores
//!   still fight over the one cache line that holds the counter.
//! - partial sums: each thread counts on its own, and adds its count to the total once, at
//!   the end. Nothing is shared while counting, so nothing is contended.
//!
//! All three end exact; the table shows the cost. The cheapest lock is the one not taken.
//!
//! Mirrors: `lockRelease.py` and the `Lock` of the Python original's `Threading.md`.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-threading --bin mutex-vs-atomic
//! cargo run -p multi-threading --bin mutex-vs-atomic -- --increments 1000000
//! ```
//!
//! An excerpt of the output on 2 cores (timings vary):
//!
//! ```text
//! method        total       time     per increment  vs cheapest
//! ------------  ----------  -------  -------------  -----------
//! Mutex         10,000,000   909 ms       90.89 ns          71×
//! fetch_add     10,000,000   172 ms       17.21 ns          14×
//! partial sums  10,000,000  12.7 ms        1.27 ns           1×
//! ```

use std::hint::black_box;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use clap::Parser;
use multi_threading::counter::{atomic_increment, locked_increment};
use serde::Serialize;
use serde_json::json;
use shared::cli::Common;
use shared::report::{
    MainResult, Table, human_duration, ok_if_stdout_closed, out, print_json, thousands, times,
};

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    // `thread::spawn` panics if the OS refuses a thread: check its limits first.
    shared::limits::room_for_threads(2)?;
    let mut out = out();
    let expected = 2 * args.increments;
    writeln!(
        out,
        "Two threads add 1 to a shared total {} each, three ways ({}).\n",
        times(args.increments),
        shared::report::build_note()
    )?;
    let results = [
        ("Mutex", with_mutex(args.increments)),
        ("fetch_add", with_atomic(args.increments)),
        ("partial sums", with_partial_sums(args.increments)),
    ];
    let ns_per_op = |time: Duration| time.as_secs_f64() * 1e9 / expected as f64;
    let cheapest = results.iter().map(|(_, (_, time))| ns_per_op(*time)).fold(f64::MAX, f64::min);
    let mut table = Table::new(["method", "total", "time", "per increment", "vs cheapest"]);
    for (name, (total, time)) in &results {
        let per_op = format!("{:.2} ns", ns_per_op(*time));
        let ratio = format!("{:.0}×", ns_per_op(*time) / cheapest.max(1e-9));
        table.row([name.to_string(), thousands(*total), human_duration(*time), per_op, ratio]);
    }
    writeln!(out, "{table}")?;
    ensure!(results.iter().all(|(_, (total, _))| *total == expected), "a counter is not exact");

    let [mutex, atomic, partial] =
        results.map(|(_, (total, time))| Method { total, ns_per_op: ns_per_op(time) });
    let fastest = results.iter().map(|(_, (_, time))| *time).min().unwrap_or_default();
    let lesson = if fastest < Duration::from_millis(1) {
        // Then the times are mostly the two threads starting, not the increments.
        "All three are exact, but too few increments to compare their cost: starting the \
         threads took most of the time. Try the default --increments."
            .to_string()
    } else if mutex.ns_per_op > atomic.ns_per_op && atomic.ns_per_op > partial.ns_per_op {
        "All three are exact. Per increment, the Mutex costs most, the atomic less, and \
         partial sums least: the cheapest lock is the one you don't take — count on each \
         thread, combine once at the end."
            .to_string()
    } else {
        "All three are exact; this time the usual order of their costs (Mutex, then atomic, \
         then partial sums) did not hold. Run it again on a quiet machine."
            .to_string()
    };
    writeln!(out, "{lesson}")?;
    if args.common.json {
        print_json(&json!({
            "expected": expected, "mutex": mutex, "atomic": atomic, "partial": partial,
        }))?;
    }
    Ok(())
}

/// Count with a Mutex, an atomic and partial sums on two threads, and compare the cost.
#[derive(Debug, Parser)]
struct Args {
    /// Increments by each of the two threads, per method
    #[arg(long, value_name = "N≤1000000000", default_value = "5000000",
          value_parser = shared::cli::whole::<u64>(1..=1_000_000_000))]
    increments: u64,
    #[command(flatten)]
    common: Common,
}

/// Runs `count` on two threads at once; returns the time until both are done.
fn on_two_threads(count: impl Fn() + Sync) -> Duration {
    let start = Instant::now();
    thread::scope(|s| {
        s.spawn(&count);
        s.spawn(&count);
    });
    start.elapsed()
}

fn with_mutex(increments: u64) -> (u64, Duration) {
    let total = Mutex::new(0);
    let time = on_two_threads(|| (0..increments).for_each(|_| locked_increment(&total)));
    (total.into_inner().expect("counter lock poisoned"), time)
}

fn with_atomic(increments: u64) -> (u64, Duration) {
    let total = AtomicU64::new(0);
    let time = on_two_threads(|| (0..increments).for_each(|_| atomic_increment(&total)));
    (total.into_inner(), time)
}

fn with_partial_sums(increments: u64) -> (u64, Duration) {
    let total = AtomicU64::new(0);
    let time = on_two_threads(|| {
        let mut mine = 0;
        for _ in 0..increments {
            // `black_box` keeps the compiler from turning the loop into one addition, so each
            // method really makes the same number of increments.
            mine = black_box(mine + 1);
        }
        total.fetch_add(mine, Ordering::Relaxed); // New! One shared write per thread.
    });
    (total.into_inner(), time)
}

/// One method's figures in `--json`.
#[derive(Debug, Serialize)]
struct Method {
    total: u64,
    ns_per_op: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_is_exact() {
        for method in [with_mutex, with_atomic, with_partial_sums] {
            assert_eq!(method(100_000).0, 200_000);
        }
    }
}
