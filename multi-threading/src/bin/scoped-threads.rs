//! Scoped threads borrow local data — no `Arc`, no clone — and may even write to it.
//!
//! `thread::spawn` requires everything its thread uses to live for ever (`'static`), because
//! the thread may outlive the function that started it: borrowing a local `Vec` does not
//! compile (error E0373, quoted in the chapter README and checked by a `compile_fail` doctest
//! in the crate's `lib.rs`). `std::thread::scope` lifts that rule: every thread spawned in the
//! scope is joined before `scope` returns, so the compiler knows the borrows end in time.
//!
//! 1. Two threads read one local `Vec` of numbers, each counting the primes in its half.
//! 2. Two threads *write* to one local `Vec` of flags: `split_at_mut` cuts it into two
//!    halves that cannot overlap, and each thread gets one `&mut` half. Two `&mut` to the
//!    whole `Vec` would not compile (that would be a data race).
//!
//! Mirrors: nothing in the Python original, which has no borrowing rules to lift.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-threading --bin scoped-threads
//! cargo run -p multi-threading --bin scoped-threads -- --limit 10000000
//! ```
//!
//! The output ends like this (timings vary):
//!
//! ```text
//! Both steps found 148,933 primes below 2,000,000.
//! The threads borrowed the local Vecs directly: `thread::scope` joins them before it returns,
//! so no borrow can outlive the data. No Arc, no clone, no lock.
//! ```

use std::io::Write;
use std::thread;

use anyhow::Result;
use clap::Parser;
use multi_threading::reports::ScopedSteps;
use shared::cli::{Common, Trace};
use shared::primes::is_prime;
use shared::report::{MainResult, ok_if_stdout_closed, out, thousands};
use shared::timeline::Timeline;

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    // `thread::spawn` panics if the OS refuses a thread: check its limits first.
    shared::limits::room_for_threads(2)?;
    let limit = args.limit;
    // Local data, owned by this function; the threads below only borrow it.
    let numbers: Vec<u64> = (0..limit).collect();
    let below = thousands(limit);
    writeln!(out(), "A local Vec holds the {below} numbers below {below}.")?;
    let timeline = Timeline::new();

    let primes_read = count_in_halves(&numbers, &timeline);
    let steps = ScopedSteps::read(limit, primes_read)?;
    let flags = flag_primes(&numbers, &timeline);
    let primes_written = flags.iter().filter(|&&flag| flag).count() as u64;
    steps.wrote(primes_written, &timeline, &args.trace, args.common.json)
}

/// Step 1: two threads read the same local slice, each counting the primes in one half.
fn count_in_halves(numbers: &[u64], timeline: &Timeline) -> [u64; 2] {
    let (left, right) = numbers.split_at(numbers.len() / 2);
    thread::scope(|s| {
        // Both closures borrow `left`/`right` (parts of `numbers`) and `timeline`: no owned
        // copies, no `Arc` — the scope ends before `numbers` can be dropped.
        // Halves by count, not by cost: the larger numbers on the right take longer to test.
        let left_count = s.spawn(|| timeline.measure("thread 1", "read left", || primes_in(left)));
        let right_count =
            s.spawn(|| timeline.measure("thread 2", "read right", || primes_in(right)));
        [
            left_count.join().expect("thread 1 panicked"),
            right_count.join().expect("thread 2 panicked"),
        ]
    })
}

/// Step 2: two threads write to the two halves of one local `Vec` at the same time.
fn flag_primes(numbers: &[u64], timeline: &Timeline) -> Vec<bool> {
    let mut flags = vec![false; numbers.len()];
    let middle = flags.len() / 2;
    // Two `&mut` that cannot overlap: the compiler lets each thread have one.
    let (left, right) = flags.split_at_mut(middle);
    let (left_numbers, right_numbers) = numbers.split_at(middle);
    thread::scope(|s| {
        s.spawn(|| timeline.measure("thread 1", "write left", || flag_each(left, left_numbers)));
        s.spawn(|| timeline.measure("thread 2", "write right", || flag_each(right, right_numbers)));
        // No `join` here: the scope joins both threads as it ends (and passes on a panic).
    });
    flags
}

/// How many of `numbers` are prime.
fn primes_in(numbers: &[u64]) -> u64 {
    numbers.iter().filter(|&&n| is_prime(n)).count() as u64
}

/// Sets each flag to whether its number is prime.
fn flag_each(flags: &mut [bool], numbers: &[u64]) {
    for (flag, &n) in flags.iter_mut().zip(numbers) {
        *flag = is_prime(n);
    }
}

/// Borrow a local Vec from two threads, then write to its two halves at once.
#[derive(Debug, Parser)]
struct Args {
    /// Work on the numbers below N (at most 100,000,000: the Vecs take 9 bytes per number)
    #[arg(long, value_name = "N≤100000000", default_value = "2000000",
          value_parser = shared::cli::whole::<u64>(1..=100_000_000))]
    limit: u64,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    trace: Trace,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_steps_find_the_known_count() {
        let numbers: Vec<u64> = (0..100_000).collect();
        let timeline = Timeline::new();
        assert_eq!(count_in_halves(&numbers, &timeline).iter().sum::<u64>(), 9_592);
        let flags = flag_primes(&numbers, &timeline);
        assert_eq!(flags.iter().filter(|&&f| f).count(), 9_592);
        assert!(flags[2] && flags[99_991] && !flags[99_999]);
        assert_eq!(timeline.spans().len(), 4);
    }
}
