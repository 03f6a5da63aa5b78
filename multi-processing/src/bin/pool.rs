//! A process pool: `map` over inputs on a few long-lived worker processes, results in input
//! order; an initializer in each worker; a task limit per worker; a worker that dies is
//! replaced and its task retried, instead of hanging the pool.
//!
//! The pool itself is in the chapter's library ([`multi_processing::pool`], with how it works);
//! this file is what a user of it writes, as `pool.py` is for `multiprocessing.Pool`. A
//! function cannot travel between Rust processes, so the work is named in an enum, `Job`,
//! that both sides — the same binary — know, and each worker runs `work` on the jobs it gets.
//! Part 1 maps `square` over 1..=5 and shows the pid that computed each; part 2 counts primes
//! (the `workers` workload) on a new pool and in one process, and compares the times.
//!
//! Mirrors: `pool.py` (`Pool().map(square, …)` with worker pids, an initializer and
//! `maxtasksperchild`) of the Python original.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-processing --bin pool
//! cargo run -p multi-processing --bin pool -- --crash-on 3 --max-tasks-per-child 2
//! ```
//!
//! Expected output (on 2 cores; then rows with pids, which vary):
//!
//! ```text
//! A pool of 2 worker processes; a worker runs the initializer when it starts.
//!
//! map(square, 1..=5):
//! input  square  worker pid
//! -----  ------  ----------
//! ```

use std::io::Write;
use std::ops::Range;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::Instant;

use anyhow::{Result, ensure};
use clap::Parser;
use multi_processing::ChildRole;
use multi_processing::pool::{self, Pool};
use multi_processing::reports::{PoolReport, PoolTimes};
use serde::{Deserialize, Serialize};
use shared::cli::{Common, Trace};
use shared::primes::{count_primes, split_balanced};
use shared::report::{MainResult, ok_if_stdout_closed, out, timed};

fn main() -> MainResult {
    let args = Args::parse();
    if args.child.is(pool::ROLE) {
        return Ok(pool::serve(args.child.connect(), initializer, work)?);
    }
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    let mut report = PoolReport::announce(args.workers)?;
    map_squares(args, &mut report)?;
    count_primes_both_ways(args, &mut report)?;
    report.finish(args.max_tasks_per_child, &args.trace, args.common.json)
}

/// The functions a worker can run.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Job {
    Square(u64),
    /// `--crash-on`: the worker aborts, the first time; the retry squares.
    CrashThenSquare(u64),
    CountPrimes(Range<u64>),
}

/// A result, with who computed it and how often that process had run the initializer.
#[derive(Debug, Serialize, Deserialize)]
struct Done {
    output: u64,
    pid: u32,
    initialized: u32,
}

/// How many times the initializer ran in this process: 1 in every worker.
static INITIALIZED: AtomicU32 = AtomicU32::new(0);

/// Runs once when a worker starts: the place for expensive per-process setup (open a
/// connection, load a model) that every task then reuses.
fn initializer() {
    INITIALIZED.fetch_add(1, Relaxed);
}

/// A worker's work: one job. `retry` is true when a worker already died running it.
fn work(job: Job, retry: bool) -> Done {
    let output = match job {
        Job::Square(n) => n * n,
        // A crash: no unwinding, no goodbye. (Where core dumps are on, it writes one.)
        Job::CrashThenSquare(_) if !retry => std::process::abort(),
        Job::CrashThenSquare(n) => n * n,
        Job::CountPrimes(range) => count_primes(range),
    };
    Done { output, pid: std::process::id(), initialized: INITIALIZED.load(Relaxed) }
}

/// Part 1, as `pool.py`: map(square, 1..=5), and which worker computed each square.
fn map_squares(args: &Args, report: &mut PoolReport) -> Result<()> {
    writeln!(out(), "map(square, 1..=5):")?;
    let mut pool = Pool::new(args.workers, args.max_tasks_per_child)?;
    let job_for =
        |n| if args.crash_on == Some(n) { Job::CrashThenSquare(n) } else { Job::Square(n) };
    let done: Vec<Done> = pool.map((1..=5).map(job_for))?;
    report.what_happened(&pool)?;
    pool.close()?;
    let initialized_once = done.iter().all(|done| done.initialized == 1);
    let (squares, pids) = done.iter().map(|done| (done.output, done.pid)).unzip();
    report.squares(squares, pids, initialized_once)
}

/// Part 2: the primes below `--limit` on a new pool, its start-up timed too, then alone.
fn count_primes_both_ways(args: &Args, report: &mut PoolReport) -> Result<()> {
    // Eight tasks per worker, so that no worker sits idle at the end while one finishes.
    let tasks = (8 * args.workers as usize).min(args.limit as usize);
    let ranges = split_balanced(0..args.limit, tasks);
    report.announce_primes(args.limit, ranges.len())?;
    let start = Instant::now();
    let mut pool = Pool::new(args.workers, args.max_tasks_per_child)?;
    let counts: Vec<Done> = pool.map(ranges.iter().cloned().map(Job::CountPrimes))?;
    let pool_took = start.elapsed();
    let (alone, alone_took) =
        timed(|| ranges.iter().cloned().map(count_primes).collect::<Vec<_>>());
    ensure!(counts.iter().map(|d| d.output).eq(alone.iter().copied()), "the counts differ");
    report.what_happened(&pool)?;
    pool.close()?;
    report.primes(&alone, PoolTimes { alone: alone_took, pool: pool_took })
}

/// Map a function over inputs on a pool of worker processes.
#[derive(Debug, Parser)]
struct Args {
    /// Worker processes (one per core by default)
    #[arg(long, value_name = "N≤64", default_value_t = shared::limits::cores().min(64) as u32,
          value_parser = shared::cli::whole::<u32>(1..=64))]
    workers: u32,
    /// Replace a worker after it has run this many tasks [default: never]
    #[arg(long, value_name = "N≤1000000", value_parser = shared::cli::whole::<u32>(1..=1_000_000))]
    max_tasks_per_child: Option<u32>,
    /// In part 1, the worker that gets input N aborts (the first time): watch the pool recover
    #[arg(long, value_name = "N≤5", value_parser = shared::cli::whole::<u64>(1..=5))]
    crash_on: Option<u64>,
    /// Count the primes below N, on the pool and in one process (4,000,000,000 takes minutes)
    #[arg(long, value_name = "N≤4000000000", default_value = "10000000",
          value_parser = shared::cli::whole::<u64>(1..=4_000_000_000))]
    limit: u64,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    trace: Trace,
    #[command(flatten)]
    child: ChildRole,
}
