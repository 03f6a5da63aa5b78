//! Three exact counters and what each increment costs: a `Mutex`, an atomic, partial sums.
//!
//! Two threads add 1 to a shared total, the same number of times with each method:
//!
//! - `Mutex<u64>`: lock, add, unlock — Python's `with lock: counter += 1`. When the other
//!   thread holds the lock, this one waits; the cache line with the lock bounces between cores.
//! - `AtomicU64::fetch_add`: one indivisible read-modify-write (one `lock`-prefixed
//!   instruction on x86), no lock — but the two cores still fight over the one cache line
//!   that holds the counter.
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
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Parser;
use multi_threading::counter::{atomic_increment, locked_increment};
use multi_threading::reports::{Tally, mutex_vs_atomic, mutex_vs_atomic_plan};
use shared::cli::Common;
use shared::report::{MainResult, ok_if_stdout_closed};

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    // A scope's `spawn` panics if the OS refuses a thread: check its limits first.
    shared::limits::room_for_threads(2)?;
    mutex_vs_atomic_plan(args.increments)?;
    let n = args.increments;
    let tallies = [with_mutex(n), with_atomic(n), with_partial_sums(n)];
    mutex_vs_atomic(n, &tallies, args.common.json)
}

/// Runs `work` on two threads at once; returns the time until both are done.
fn on_two_threads(work: impl Fn() + Sync) -> Duration {
    let start = Instant::now();
    thread::scope(|s| {
        // Both threads borrow the one closure: hence `Sync`.
        s.spawn(&work);
        s.spawn(&work);
    });
    start.elapsed()
}

fn with_mutex(increments: u64) -> Tally {
    let total = Mutex::new(0);
    let time = on_two_threads(|| (0..increments).for_each(|_| locked_increment(&total)));
    Tally { total: total.into_inner().expect("counter lock poisoned"), time }
}

fn with_atomic(increments: u64) -> Tally {
    let total = AtomicU64::new(0);
    let time = on_two_threads(|| (0..increments).for_each(|_| atomic_increment(&total)));
    Tally { total: total.into_inner(), time }
}

fn with_partial_sums(increments: u64) -> Tally {
    let total = AtomicU64::new(0);
    let time = on_two_threads(|| {
        let mut mine = 0;
        for _ in 0..increments {
            // `black_box` keeps the compiler from turning the loop into one addition, so each
            // method really makes the same number of increments.
            mine = black_box(mine + 1);
        }
        total.fetch_add(mine, Ordering::Relaxed); // One shared write per thread, not per increment.
    });
    Tally { total: total.into_inner(), time }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_is_exact() {
        for method in [with_mutex, with_atomic, with_partial_sums] {
            assert_eq!(method(100_000).total, 200_000);
        }
    }
}
