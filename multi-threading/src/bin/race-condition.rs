//! Race conditions: threads interleave, and a read-then-write loses updates — in safe Rust.
//!
//! (a) Two threads append to one list behind a `Mutex`, waiting between appends: the list
//! shows their items interleaved, in whatever order the threads got there. That is not a
//! bug, just what "concurrent" means: the order between threads is not fixed.
//!
//! (b) Two threads each add 1 to a shared counter a million times, reading it with `load`
//! and writing it back with `store`. Each step is atomic, so this compiles and has no data
//! race, but between one thread's load and store the other can store its own increment,
//! which is then overwritten: updates are lost. The same counter behind a `Mutex` ends exact
//! every run. (`tests/loom.rs` proves both: loom finds the losing interleaving.)
//!
//! (c) The version Python allows — two threads doing `counter += 1` on a plain variable — is
//! a data race, and Rust rejects it at compile time; the chapter README quotes the error.
//!
//! Mirrors: `raceCondition.py` of the Python original.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-threading --bin race-condition
//! cargo run -p multi-threading --bin race-condition -- --increments 100000 --runs 10
//! ```
//!
//! The output ends like this (how many updates are lost varies from run to run):
//!
//! ```text
//! Without synchronisation 5 of 5 runs ended wrong (off by up to 974,211): while one of the threads was between its read and its write, the other wrote, and an update was lost.
//! With the Mutex, every run was exact.
//! ```

use std::io::{self, Write};
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::thread;

use anyhow::{Context, Result};
use clap::Parser;
use multi_threading::counter::{locked_increment, racy_increment};
use multi_threading::reports::{CounterRun, race_condition, race_condition_plan};
use shared::cli::Common;
use shared::limits::CANNOT_START_THREADS;
use shared::report::{MainResult, ok_if_stdout_closed, out};
use shared::waits::TimeScale;

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    writeln!(out(), "(a) Two threads append A1..A4 and B1..B4 to one list, with waits between:")?;
    let list = interleaved_list(args.common.time_scale).context(CANNOT_START_THREADS)?;
    writeln!(out(), "{}\n", list.join(" "))?;

    let increments = args.increments;
    race_condition_plan(increments)?;
    let mut runs = Vec::new();
    for _ in 0..args.runs {
        let racy = racy_total(increments).context(CANNOT_START_THREADS)?;
        let locked = locked_total(increments).context(CANNOT_START_THREADS)?;
        runs.push(CounterRun { racy, locked });
    }
    Ok(race_condition(increments, &runs, args.common.json)?)
}

/// (a) Two threads append their items to one list, waiting 0.1 s (scaled) between appends.
fn interleaved_list(scale: TimeScale) -> io::Result<Vec<String>> {
    let list = Mutex::new(Vec::new());
    thread::scope(|s| {
        for name in ["A", "B"] {
            let list = &list;
            // `Builder`, where `s.spawn` would panic if the OS refused the thread.
            thread::Builder::new().spawn_scoped(s, move || {
                for i in 1..=4 {
                    list.lock().expect("list lock poisoned").push(format!("{name}{i}"));
                    thread::sleep(scale.secs(0.1));
                }
            })?;
        }
        io::Result::Ok(())
    })?;
    Ok(list.into_inner().expect("list lock poisoned"))
}

/// (b) Two threads each increment an atomic `increments` times with a separate load and
/// store: `racy_increment` is `let n = counter.load(Relaxed); counter.store(n + 1, Relaxed);`
/// (it lives in the chapter's library, `src/counter.rs`, so that `tests/loom.rs` can check
/// every interleaving of the very same lines). The other thread can store in between.
fn racy_total(increments: u64) -> io::Result<u64> {
    let counter = AtomicU64::new(0);
    on_two_threads(|| (0..increments).for_each(|_| racy_increment(&counter)))?;
    Ok(counter.into_inner()) // The threads are done: no ordering left to think about.
}

/// The same with the counter behind a `Mutex`.
fn locked_total(increments: u64) -> io::Result<u64> {
    let counter = Mutex::new(0);
    on_two_threads(|| (0..increments).for_each(|_| locked_increment(&counter)))?;
    Ok(counter.into_inner().expect("counter lock poisoned"))
}

/// Runs `work` on two threads at once, and returns when both are done.
fn on_two_threads(work: impl Fn() + Sync) -> io::Result<()> {
    thread::scope(|s| {
        for _ in 0..2 {
            thread::Builder::new().spawn_scoped(s, &work)?;
        }
        Ok(())
    })
}

/// Show threads interleaving, and a counter that loses updates without a lock.
#[derive(Debug, Parser)]
struct Args {
    /// Increments by each of the two threads, per run
    #[arg(long, value_name = "N≤1000000000", default_value = "1000000",
          value_parser = shared::cli::whole::<u64>(1..=1_000_000_000))]
    increments: u64,
    /// How many times to run each counter
    #[arg(long, value_name = "N≤100", default_value = "5",
          value_parser = shared::cli::whole::<u32>(1..=100))]
    runs: u32,
    #[command(flatten)]
    common: Common,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_locked_counter_is_exact_and_the_racy_one_never_gains() {
        for _ in 0..3 {
            assert_eq!(locked_total(50_000).unwrap(), 100_000);
            // Lost updates only ever lose: each store writes a value some load saw plus one.
            assert!(racy_total(50_000).unwrap() <= 100_000);
        }
    }

    #[test]
    fn the_list_holds_every_item_in_each_threads_order() {
        let list = interleaved_list(TimeScale::new(0.0).unwrap()).unwrap();
        for name in ["A", "B"] {
            let mine: Vec<&String> = list.iter().filter(|item| item.starts_with(name)).collect();
            assert_eq!(
                mine,
                ["1", "2", "3", "4"].map(|i| format!("{name}{i}")).iter().collect::<Vec<_>>()
            );
        }
    }
}
