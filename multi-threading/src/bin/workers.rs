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
//! model       threads  elapsed  speedup
//! ----------  -------  -------  -------
//! sequential        1   1.79 s    1.00×
//! workers           2   922 ms    1.94×
//!
//! Both runs found 664,579 primes (the known answer).
//! 1.94× is close to the ideal 2×: the threads kept 2 cores busy at the same time.
//! Rust has no GIL; Python threads would take turns and get about 1×.
//! ```

use std::io::Write;
use std::ops::Range;
use std::path::PathBuf;
use std::thread;

use anyhow::{Context, Result, bail};
use clap::Parser;
use crossbeam::channel;
use serde::Serialize;
use shared::cli::Common;
use shared::primes::{count_primes, known_count, split_balanced};
use shared::report::{ParallelRun, Table, build_note, human_duration, load_average, out};
use shared::report::{ok_if_stdout_closed, print_json, speedup_verdict, thousands, timed};
use shared::timeline::{Timeline, terminal_width};

fn main() -> Result<()> {
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
    let mut out = out();
    let cores = thread::available_parallelism().map_or(2, |n| n.get());
    let workers = args.workers.map_or(cores, |n| n as usize);
    let limit = args.limit;
    // No more jobs than numbers to test: `--limit 5` makes at most 5 jobs, none of them empty.
    let jobs = args.jobs.map_or(8 * workers, |n| n as usize);
    let jobs = jobs.min(usize::try_from(limit).unwrap_or(usize::MAX));
    let jobs = split_balanced(0..limit, jobs);
    writeln!(
        out,
        "Counting primes below {} in {} jobs: first on 1 thread, then on {workers} worker threads.",
        thousands(limit),
        jobs.len()
    )?;
    writeln!(out, "({})\n", build_note())?;
    // Read before our own threads add to it.
    let load = load_average();

    let (sequential, sequential_time) =
        timed(|| jobs.iter().cloned().map(count_primes).sum::<u64>());
    let timeline = Timeline::new();
    let (runs, parallel_time) = timed(|| run_workers(&jobs, workers, &timeline));
    let mut runs = runs?;
    runs.sort_by_key(|r| r.job);
    let parallel: u64 = runs.iter().map(|r| r.primes).sum();

    let mut who = Table::new(["job", "numbers", "primes", "ran on"]);
    for run in &runs {
        let (range, worker) = (&jobs[run.job], format!("worker-{}", run.worker));
        let numbers = format!("{}..{}", thousands(range.start), thousands(range.end));
        who.row([run.job.to_string(), numbers, thousands(run.primes), worker]);
    }
    writeln!(out, "{who}")?;
    writeln!(out, "Timeline of the worker run (a row per thread, a box per job):")?;
    writeln!(out, "{}", timeline.render_text(terminal_width()))?;
    if let Some(path) = &args.svg {
        timeline.write_svg(path).with_context(|| format!("writing {}", path.display()))?;
        writeln!(out, "Timeline written to {}\n", path.display())?;
    }

    let speedup = sequential_time.as_secs_f64() / parallel_time.as_secs_f64();
    let mut table = Table::new(["model", "threads", "elapsed", "speedup"]);
    table.row(["sequential", "1", &human_duration(sequential_time), "1.00×"]);
    let (threads, elapsed) = (workers.to_string(), human_duration(parallel_time));
    table.row(["workers", &threads, &elapsed, &format!("{speedup:.2}×")]);
    writeln!(out, "{table}")?;

    let known = known_count(limit);
    let correct = sequential == parallel && known.is_none_or(|k| k == parallel);
    if correct {
        let known_note = if known.is_some() { " (the known answer)" } else { "" };
        writeln!(out, "Both runs found {} primes{known_note}.", thousands(parallel))?;
    }
    let ideal = workers.min(cores).min(jobs.len());
    let run = ParallelRun { speedup, ideal, cores, took: parallel_time, load, known_cost: None };
    writeln!(out, "{}", speedup_verdict(&run, "threads"))?;
    if run.close_to_ideal() && ideal > 1 {
        writeln!(out, "Rust has no GIL; Python threads would take turns and get about 1×.")?;
    }
    if args.common.json {
        let (sequential_s, parallel_s) =
            (sequential_time.as_secs_f64(), parallel_time.as_secs_f64());
        let (jobs, primes, optimized) = (jobs.len(), parallel, shared::report::optimized());
        let figures = Figures { workers, jobs, limit, primes, sequential_s, parallel_s, speedup };
        let summary = Summary { figures, correct, optimized, runs };
        print_json(&summary)?;
    }
    if !correct {
        bail!("the counts disagree: sequential {sequential}, workers {parallel}, known {known:?}");
    }
    Ok(())
}

/// Count primes on worker threads fed by a channel, and compare with one thread.
#[derive(Debug, Parser)]
struct Args {
    /// Worker threads [default: the number of cores]
    #[arg(long, value_name = "N≤1024", value_parser = clap::value_parser!(u32).range(1..=1024))]
    workers: Option<u32>,
    /// Jobs to cut the work into [default: 8 per worker]
    #[arg(long, value_name = "N≤100000", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    jobs: Option<u32>,
    /// Count the primes below N (4,000,000,000 takes minutes)
    #[arg(long, value_name = "N≤4000000000", default_value = "10000000",
          value_parser = clap::value_parser!(u64).range(1..=4_000_000_000))]
    limit: u64,
    /// Also draw the timeline as an SVG file
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

/// The figures of one run, printed with `--json`.
#[derive(Debug, Serialize)]
struct Summary {
    #[serde(flatten)]
    figures: Figures,
    correct: bool,
    optimized: bool,
    runs: Vec<JobResult>,
}

/// The run's figures, at the top level of the `--json` object.
#[derive(Debug, Serialize)]
struct Figures {
    workers: usize,
    jobs: usize,
    limit: u64,
    primes: u64,
    sequential_s: f64,
    parallel_s: f64,
    speedup: f64,
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
