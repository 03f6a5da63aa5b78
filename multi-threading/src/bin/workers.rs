//! Worker threads pull CPU-bound jobs from a channel — and, with no GIL, run in parallel.
//!
//! The primes below `--limit` are counted in jobs of equal cost, first all on the main
//! thread, then by N worker threads that each take the next job from a crossbeam channel and
//! send its result back on another (`run_workers`): a worker that finishes early just takes
//! another job. Then: who ran what, a timeline, the speedup. Python's GIL lets one thread at a
//! time run Python code; Rust has no GIL, and threads run on different cores at once.
//!
//! Mirrors: the Python original's question ("threads or processes?"), answered for CPU work.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-threading --bin workers
//! cargo run -p multi-threading --bin workers -- --workers 4 --limit 20000000 --svg timeline.svg
//! ```
//!
//! The output ends like this on 2 cores (timings vary, and so does the verdict, which
//! follows from them):
//!
//! ```text
//! run               elapsed  speedup
//! ----------------  -------  -------
//! one thread        1.79 s    1.00×
//! 2 worker threads   922 ms    1.94×
//! Both runs found 664,579 primes (the known answer).
//! 1.94× is close to the ideal 2×: the threads kept 2 cores busy at the same time.
//! Rust has no GIL; Python threads would take turns and get about 1×.
//! ```

use std::ops::Range;
use std::path::PathBuf;
use std::thread;

use anyhow::{Context, Result};
use clap::Parser;
use crossbeam::channel;
use multi_threading::reports::{WorkersPlan, WorkersRan};
use shared::cli::{Common, Trace};
use shared::limits::CANNOT_START_THREADS;
use shared::primes::{count_primes, split_balanced};
use shared::report::{MainResult, ok_if_stdout_closed, timed};
use shared::timeline::Timeline;

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    let workers = args.workers;
    // The numbers below --limit, cut into jobs of equal cost (larger numbers cost more).
    let jobs = split_balanced(0..args.limit, args.job_count());
    let plan = WorkersPlan::announce(args.limit, &jobs, workers)?;

    // One thread first, to compare with; then the workers, fed through a channel.
    let (sequential, sequential_time) =
        timed(|| jobs.iter().cloned().map(count_primes).sum::<u64>());
    let timeline = Timeline::new();
    let (results, parallel_time) = timed(|| run_workers(&jobs, workers, &timeline));
    let mut results = results.context(CANNOT_START_THREADS)?;
    results.sort_by_key(|r| r.job);

    let (primes, ran_on) = results.iter().map(|r| (r.primes, r.worker)).unzip();
    let ran = WorkersRan { sequential, sequential_time, primes, ran_on, parallel_time, timeline };
    plan.report(&ran, args.svg.as_deref(), &args.trace, args.common.json)
}

/// Runs `jobs` on `workers` threads that pull from a channel; returns results in arrival order.
fn run_workers(jobs: &[Range<u64>], workers: usize, timeline: &Timeline) -> Result<Vec<JobResult>> {
    let (job_tx, job_rx) = channel::unbounded::<Job>();
    let (result_tx, result_rx) = channel::unbounded::<JobResult>();

    // Queue every job, then drop the sender: a worker's loop ends when the queue is empty.
    for (id, range) in jobs.iter().cloned().enumerate() {
        job_tx.send(Job { id, range }).expect("job_rx is alive");
    }
    drop(job_tx);

    // Scoped threads may borrow `timeline`; the scope joins them all before it returns.
    thread::scope(|scope| -> Result<()> {
        for worker in 1..=workers {
            let (job_rx, result_tx) = (job_rx.clone(), result_tx.clone());
            let name = format!("worker-{worker}");
            thread::Builder::new().name(name.clone()).spawn_scoped(scope, move || {
                for Job { id, range } in job_rx {
                    let primes = timeline.measure(&name, id.to_string(), || count_primes(range));
                    let result = JobResult { job: id, worker, primes };
                    result_tx.send(result).expect("result_rx outlives every worker");
                }
            })?;
        }
        Ok(())
    })?;
    // Every worker has finished and dropped its sender clone; drop ours and collect.
    drop(result_tx);
    Ok(result_rx.into_iter().collect())
}

/// A job on the queue: its number, and the numbers to test.
#[derive(Debug)]
struct Job {
    id: usize,
    range: Range<u64>,
}

/// What a worker sends back for each job it ran.
#[derive(Debug)]
struct JobResult {
    job: usize,
    worker: usize,
    primes: u64,
}

/// Count primes on worker threads fed by a channel, and compare with one thread.
#[derive(Debug, Parser)]
struct Args {
    /// Worker threads (one per core by default)
    #[arg(long, value_name = "N≤1024", default_value_t = shared::limits::cores(),
          value_parser = shared::cli::whole::<usize>(1..=1024))]
    workers: usize,
    /// Jobs to cut the work into [default: 8 per worker]
    #[arg(long, value_name = "N≤100000", value_parser = shared::cli::whole::<u32>(1..=100_000))]
    jobs: Option<u32>,
    /// Count the primes below N (4,000,000,000 takes minutes)
    #[arg(long, value_name = "N≤4000000000", default_value = "10000000",
          value_parser = shared::cli::whole::<u64>(1..=4_000_000_000))]
    limit: u64,
    /// Also draw the timeline as an SVG file
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    trace: Trace,
}

impl Args {
    /// How many jobs to cut the work into: `--jobs`, or 8 per worker. No more jobs than
    /// numbers to test: `--limit 5` makes at most 5 jobs, none of them empty.
    fn job_count(&self) -> usize {
        let jobs = self.jobs.map_or(8 * self.workers, |n| n as usize);
        jobs.min(usize::try_from(self.limit).unwrap_or(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_runs_exactly_once_and_totals_match() {
        let jobs = split_balanced(0..100_000, 13);
        let timeline = Timeline::new();
        let mut runs = run_workers(&jobs, 3, &timeline).unwrap();
        runs.sort_by_key(|r| r.job);
        assert_eq!(runs.iter().map(|r| r.job).collect::<Vec<_>>(), (0..13).collect::<Vec<_>>());
        assert_eq!(runs.iter().map(|r| r.primes).sum::<u64>(), 9_592);
        assert!(runs.iter().all(|r| (1..=3).contains(&r.worker)));
        assert_eq!(timeline.spans().len(), 13);
    }

    #[test]
    fn more_workers_than_jobs() {
        let jobs = split_balanced(0..1_000, 2);
        let runs = run_workers(&jobs, 8, &Timeline::new()).unwrap();
        assert_eq!(runs.iter().map(|r| r.primes).sum::<u64>(), 168);
    }
}
