//! Threads finish in the order their work ends, not the order they were started — and in
//! Rust, the process ends when `main` returns, whatever its threads are doing.
//!
//! `main` starts `--tasks` threads; each waits a random time (a stand-in for a download or
//! a query), printing when it starts and when it is done. They all start at about the same
//! moment (in whatever order the OS runs them), so the shortest wait finishes first. By
//! default `main` then joins every thread.
//!
//! With `--no-join`, `main` waits only 0.75 s and returns without joining: the process
//! exits, and the threads still waiting are killed mid-task: only the shortest wait (0.5 s)
//! has printed "done"; the others never will. Python does the opposite:
//! its interpreter waits for every non-daemon thread before exiting (only `daemon=True`
//! threads are killed). To wait in Rust, `join` the handles (or use `thread::scope`).
//!
//! Mirrors: `simpleThread.py` and `thread.py` of the Python original.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-threading --bin simple-threads
//! cargo run -p multi-threading --bin simple-threads -- --seed 7 --tasks 5
//! cargo run -p multi-threading --bin simple-threads -- --no-join
//! ```
//!
//! The output ends like this (the waits are random; `--seed` repeats a run's):
//!
//! ```text
//! Finished in the order of their waits: task 2 (500 ms), task 3 (1.00 s), task 1 (1.50 s).
//! ```

use std::sync::Arc;
use std::thread;

use anyhow::Result;
use clap::Parser;
use multi_threading::reports::SimpleThreads;
use shared::cli::{Common, Trace};
use shared::report::{MainResult, ok_if_stdout_closed};
use shared::waits::{Random, shuffled_waits};

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    // `thread::spawn` panics if the OS refuses a thread: check its limits first.
    shared::limits::room_for_threads(args.tasks as usize)?;
    let seed = args.seed.unwrap_or_else(Random::clock_seed);
    let scale = args.common.time_scale;
    let waits = shuffled_waits(args.tasks, seed);
    // What the threads print to, on one clock; shared with every thread.
    let log = Arc::new(SimpleThreads::announce(seed, waits.clone(), scale)?);

    let mut handles = Vec::new();
    for (i, &wait) in waits.iter().enumerate() {
        let task = i + 1;
        let wait = scale.secs(wait);
        let log = Arc::clone(&log);
        handles.push(thread::spawn(move || -> std::io::Result<()> {
            let started = log.starts(task, wait)?;
            thread::sleep(wait); // Stand-in for a download or a query.
            log.done(started)
        }));
    }

    if args.no_join {
        // With --no-join: `main` returns while threads are still waiting, which ends the process.
        thread::sleep(scale.secs(0.75));
        // From here the log holds stdout, so that the threads still waiting print nothing more.
        log.returning_without_join(handles.len(), args.common.json)?;
        return Ok(());
    }
    // `join` waits for each thread in turn, in spawn order; the "done" lines above (and the
    // timeline) show the order in which the threads really finished.
    for handle in handles {
        handle.join().expect("a task thread panicked")?;
    }
    log.joined(&args.trace, args.common.json)
}

/// Start threads with random waits; show the order they finish in, and what --no-join does.
#[derive(Debug, Parser)]
struct Args {
    /// How many threads to start (at most 20)
    #[arg(long, value_name = "N≤20", default_value = "3",
          value_parser = shared::cli::whole::<u32>(1..=20))]
    tasks: u32,
    /// Seed for the random waits, to repeat a run [default: from the clock]
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Let `main` return after 0.75 s without joining: the threads still waiting die
    #[arg(long)]
    no_join: bool,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    trace: Trace,
}
