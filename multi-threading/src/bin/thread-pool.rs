//! A thread pool: a few threads, started once, run many jobs — by hand, then with rayon.
//!
//! Starting a thread costs tens of microseconds and a stack; a pool pays that once and then
//! hands each job to a thread that is already running. The hand-made pool (`src/pool.rs`,
//! about 90 lines of code in the crate's library, so that the loom proofs check this very
//! code) is a queue of boxed closures and N threads that take jobs from it. Shutdown drops
//! the queue's sender, which tells every thread to finish the jobs still queued and return,
//! and joins them: Python's `executor.shutdown(wait=True)`. `rayon::ThreadPool` does the
//! same job, with work stealing and scopes: what you would use in practice for CPU-bound
//! jobs. (By default rayon has a thread per core, and its global pool serves every
//! `par_iter` of the process: jobs that wait, as these do, would starve it. For waits,
//! plain threads or async.)
//!
//! Each job waits `--wait` (a stand-in for I/O, as in the original) and reports the thread
//! that ran it: `--jobs` jobs, but only `--workers` thread names, each used again and again.
//!
//! Mirrors: `threadPool.py` (`ThreadPoolExecutor(max_workers=2)`) of the Python original.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-threading --bin thread-pool
//! cargo run -p multi-threading --bin thread-pool -- --jobs 10 --workers 3
//! ```
//!
//! The output ends like this (which thread runs which job varies):
//!
//! ```text
//! hand-made pool: 6 jobs on 2 threads (hand-made-1, hand-made-2)
//! rayon pool: 6 jobs on 2 threads (rayon-1, rayon-2)
//! Each pool started its threads once and reused them from job to job.
//! ```

use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use multi_threading::pool::ThreadPool;
use multi_threading::reports::{Ran, thread_pool, thread_pool_plan};
use shared::cli::{Common, Trace};
use shared::report::{MainResult, ok_if_stdout_closed};
use shared::timeline::Timeline;

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    let (jobs, workers) = (args.jobs, args.workers);
    let wait = args.common.time_scale.secs(args.wait);
    thread_pool_plan(jobs, workers, wait)?;
    let timeline = Arc::new(Timeline::new());
    let hand_made = run_hand_made(jobs, workers, wait, &timeline)
        .context("starting the hand-made pool's threads (is ulimit -u too low?)")?;
    let rayon = run_rayon(jobs, workers, wait, &timeline)
        .context("starting the rayon pool's threads (is ulimit -u too low?)")?;
    thread_pool(hand_made, rayon, &timeline, &args.trace, args.common.json)
}

/// One job: wait, as if for I/O, and say which thread ran it.
fn job(id: u32, wait: Duration, timeline: &Timeline) -> Ran {
    let thread_name = thread::current().name().unwrap_or("unnamed").to_string();
    timeline.measure(&thread_name, id.to_string(), || thread::sleep(wait));
    Ran { job: id, thread: thread_name }
}

/// Runs the jobs on the hand-made pool; returns who ran each, in finishing order.
fn run_hand_made(
    jobs: u32,
    workers: u32,
    wait: Duration,
    timeline: &Arc<Timeline>,
) -> Result<Vec<Ran>> {
    let pool = ThreadPool::new("hand-made", workers as usize)?;
    let (results, received) = mpsc::channel();
    for id in 0..jobs {
        let (results, timeline) = (results.clone(), Arc::clone(timeline));
        // The pool keeps the job until a thread is free.
        pool.execute(move || {
            results.send(job(id, wait, &timeline)).expect("`received` outlives every job");
        });
    }
    drop(results);
    // Python's `shutdown(wait=True)`: let the queued jobs finish, then stop the threads.
    pool.join();
    Ok(received.into_iter().collect())
}

/// Runs the jobs on a rayon pool of `workers` threads.
fn run_rayon(jobs: u32, workers: u32, wait: Duration, timeline: &Timeline) -> Result<Vec<Ran>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers as usize)
        .thread_name(|i| format!("rayon-{}", i + 1))
        .build()?;
    let (results, received) = mpsc::channel();
    // A scope may borrow `timeline`, and returns only when every job spawned in it is done.
    // A rayon thread runs the jobs spawned on it newest first; idle ones steal the oldest.
    pool.scope(|scope| {
        for id in 0..jobs {
            let results = results.clone();
            scope.spawn(move |_| {
                results.send(job(id, wait, timeline)).expect("`received` outlives every job");
            });
        }
    });
    drop(results);
    Ok(received.into_iter().collect())
}

/// Run jobs on a hand-made thread pool and on a rayon pool, and show the threads reused.
#[derive(Debug, Parser)]
struct Args {
    /// Jobs to run on each pool
    #[arg(long, value_name = "N≤1000", default_value = "6",
          value_parser = shared::cli::whole::<u32>(1..=1000))]
    jobs: u32,
    /// Threads in each pool
    #[arg(long, value_name = "N≤64", default_value = "2",
          value_parser = shared::cli::whole::<u32>(1..=64))]
    workers: u32,
    /// Simulated seconds each job waits
    #[arg(long, value_name = "SECONDS", default_value_t = 0.2, value_parser = shared::cli::seconds)]
    wait: f64,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    trace: Trace,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn both_pools_run_every_job_once_on_their_own_threads() {
        let timeline = Arc::new(Timeline::new());
        for (mut ran, prefix) in [
            (run_hand_made(20, 3, Duration::ZERO, &timeline).unwrap(), "hand-made-"),
            (run_rayon(20, 3, Duration::ZERO, &timeline).unwrap(), "rayon-"),
        ] {
            ran.sort();
            assert_eq!(
                ran.iter().map(|ran| ran.job).collect::<Vec<_>>(),
                (0..20).collect::<Vec<_>>()
            );
            let threads: BTreeSet<&str> = ran.iter().map(|ran| ran.thread.as_str()).collect();
            assert!((1..=3).contains(&threads.len()));
            assert!(threads.iter().all(|t| t.starts_with(prefix)), "{threads:?}");
        }
        assert_eq!(timeline.spans().len(), 40);
    }
}
