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

use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::thread;

use anyhow::{Context, Result, ensure};
use clap::Parser;
use crossbeam::channel;
use serde::Serialize;
use serde_json::json;
use shared::cli::{Common, Trace};
use shared::primes::{count_primes, known_count, split_balanced};
use shared::report::{
    MainResult, ParallelRun, Table, build_note, load_average, ok_if_stdout_closed, optimized,
};
use shared::report::{out, print_json, speedup_table, speedup_verdict, thousands, timed};
use shared::timeline::{Timeline, terminal_width};

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

/// Runs `jobs` on `workers` threads that pull from a channel; returns results in arrival order.
fn run_workers(jobs: &[Range<u64>], workers: usize, timeline: &Timeline) -> Result<Vec<JobResult>> {
    let (job_tx, job_rx) = channel::unbounded::<(usize, Range<u64>)>();
    let (result_tx, result_rx) = channel::unbounded::<JobResult>();

    // Queue every job, then drop the sender: a worker's loop ends when the queue is empty.
    for (id, range) in jobs.iter().cloned().enumerate() {
        job_tx.send((id, range))?;
    }
    drop(job_tx);

    // Scoped threads may borrow `timeline`; the scope joins them all before it returns.
    thread::scope(|scope| -> Result<()> {
        for worker in 1..=workers {
            let (job_rx, result_tx) = (job_rx.clone(), result_tx.clone());
            let name = format!("worker-{worker}");
            thread::Builder::new().name(name.clone()).spawn_scoped(scope, move || {
                for (job, range) in job_rx {
                    let primes = timeline.measure(&name, job.to_string(), || count_primes(range));
                    // The receiver outlives every worker, so this send cannot fail.
                    let _ = result_tx.send(JobResult { job, worker, primes });
                }
            })?;
        }
        Ok(())
    })?;
    // Every worker has finished and dropped its sender clone; drop ours and collect.
    drop(result_tx);
    Ok(result_rx.into_iter().collect())
}

/// What a worker sends back for each job it ran.
#[derive(Debug, Serialize)]
struct JobResult {
    job: usize,
    worker: usize,
    primes: u64,
}

fn run(args: &Args) -> Result<()> {
    let cores = thread::available_parallelism().map_or(2, |n| n.get());
    let workers = args.workers.map_or(cores, |n| n as usize);
    let limit = args.limit;
    // No more jobs than numbers to test: `--limit 5` makes at most 5 jobs, none of them empty.
    let jobs = args.jobs.map_or(8 * workers, |n| n as usize);
    let jobs = split_balanced(0..limit, jobs.min(usize::try_from(limit).unwrap_or(usize::MAX)));
    let (below, count) = (thousands(limit), jobs.len());
    let note = build_note();
    writeln!(
        out(),
        "Counting primes below {below} in {count} jobs: first on 1 thread, then on {workers} worker threads.\n({note})\n"
    )?;
    let load = load_average(); // Read before our own threads add to it.

    let (sequential, sequential_time) =
        timed(|| jobs.iter().cloned().map(count_primes).sum::<u64>());
    let timeline = Timeline::new();
    let (runs, parallel_time) = timed(|| run_workers(&jobs, workers, &timeline));
    let mut runs =
        runs.context("starting the worker threads (is a limit such as ulimit -u too low?)")?;
    runs.sort_by_key(|r| r.job);
    let parallel: u64 = runs.iter().map(|r| r.primes).sum();

    print_who_ran_what(&jobs, &runs, &timeline, args.svg.as_deref())?;
    args.trace.write(&timeline)?;
    let threads = format!("{workers} worker threads");
    let table = speedup_table(&[("one thread", sequential_time), (&threads, parallel_time)]);
    let known = known_count(limit);
    let correct = sequential == parallel && known.is_none_or(|k| k == parallel);
    let known_note = if known.is_some() { " (the known answer)" } else { "" };
    if correct {
        writeln!(out(), "{table}Both runs found {} primes{known_note}.", thousands(parallel))?;
    }
    let run = ParallelRun::new(sequential_time, parallel_time, workers.min(count), load);
    writeln!(out(), "{}", speedup_verdict(&run, "threads"))?;
    if run.close_to_ideal() && run.ideal > 1 {
        writeln!(out(), "Rust has no GIL; Python threads would take turns and get about 1×.")?;
    }
    if args.common.json {
        let (sequential_s, parallel_s) = (sequential_time.as_secs_f64(), run.took.as_secs_f64());
        print_json(&json!({
            "workers": workers, "jobs": count, "limit": limit, "primes": parallel,
            "sequential_s": sequential_s, "parallel_s": parallel_s, "speedup": run.speedup,
            "correct": correct, "optimized": optimized(), "runs": runs,
        }))?;
    }
    ensure!(
        correct,
        "the counts disagree: 1 thread {sequential}, workers {parallel}, known {known:?}"
    );
    Ok(())
}

/// Which worker ran each job, as a table and as a timeline (and an SVG file, if asked).
fn print_who_ran_what(
    jobs: &[Range<u64>],
    runs: &[JobResult],
    timeline: &Timeline,
    svg: Option<&Path>,
) -> Result<()> {
    let mut who = Table::new(["job", "numbers", "primes", "ran on"]);
    for run in runs {
        let (range, worker) = (&jobs[run.job], format!("worker-{}", run.worker));
        let numbers = format!("{}..{}", thousands(range.start), thousands(range.end));
        who.row([run.job.to_string(), numbers, thousands(run.primes), worker]);
    }
    writeln!(out(), "{who}")?;
    writeln!(out(), "Timeline of the worker run (a row per thread, a box per job):")?;
    writeln!(out(), "{}", timeline.render_text(terminal_width()))?;
    if let Some(path) = svg {
        timeline.write_svg(path).with_context(|| format!("writing {}", path.display()))?;
        writeln!(out(), "Timeline written to {}\n", path.display())?;
    }
    Ok(())
}

/// Count primes on worker threads fed by a channel, and compare with one thread.
#[derive(Debug, Parser)]
struct Args {
    /// Worker threads [default: the number of cores]
    #[arg(long, value_name = "N≤1024", value_parser = shared::cli::whole::<u32>(1..=1024))]
    workers: Option<u32>,
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
