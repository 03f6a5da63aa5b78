//! Two child processes work at the same time: one squares the numbers, the other cubes them.
//!
//! The parent starts its own executable twice, with a hidden `--worker square` or
//! `--worker cube` that gives the copy its role: one binary, two roles, nothing else to build.
//! Every process example here starts its children this way (the library's `Worker::start`,
//! and `exit_with_parent` in the child).
//!
//! Each child has its own memory, so it cannot hand back a `Vec`: it writes its results —
//! and the spans of its timeline, on the parent's clock — as one line of JSON to its
//! stdout, which is a pipe the parent reads. The parent waits for both (`join` in Python).
//! A child still running when the parent leaves early is killed (the `Worker` guard), and a
//! child whose parent was killed outright exits by itself (its stdin "lifeline" closes).
//!
//! Mirrors: `multiProcessing.py` (two processes printing square and cube) of the Python original.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-processing --bin child-processes
//! cargo run -p multi-processing --bin child-processes -- 7 8 9 --wait 0.5
//! ```
//!
//! Expected output (pids vary):
//!
//! ```text
//! Parent (pid 4241) starts two children: copies of itself, in the worker role.
//! Each works 200 ms per number (0.2 s × time scale 1).
//!
//! square (pid 4242): 1² = 1, 2² = 4, 3² = 9, 4² = 16, 5² = 25
//! cube (pid 4243): 1³ = 1, 2³ = 8, 3³ = 27, 4³ = 64, 5³ = 125
//! ```

use std::io::Write;
use std::process::Stdio;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use multi_processing::reports::{ChildProcesses, ChildWork};
use multi_processing::{ChildRole, Worker, exit_with_parent, role_name};
use serde::{Deserialize, Serialize};
use shared::cli::{Common, Trace};
use shared::report::{MainResult, ok_if_stdout_closed};
use shared::timeline::{Span, Timeline};

fn main() -> MainResult {
    let args = Args::parse();
    if let Some(op) = args.child.role::<Op>() {
        // A child: first make sure it ends with its parent, then do its job. (Its flags are
        // read first: a missing one is a usage error, whatever the state of the lifeline.)
        let clock = args.child.clock();
        exit_with_parent();
        return Ok(run_worker(op, &args, clock)?);
    }
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run_parent(&args))
}

/// The parent's role: start both children, collect their reports, show what happened.
fn run_parent(args: &Args) -> Result<()> {
    shared::report::warn_if_unoptimized();
    let parent = ChildProcesses::announce(args.wait, args.common.time_scale, args.numbers.len())?;
    let timeline = Timeline::new(); // The children's spans, and the run's length, on one clock.
    // Start both before waiting for either: that is what lets them run at the same time.
    let workers =
        [spawn_worker(Op::Square, args, &timeline)?, spawn_worker(Op::Cube, args, &timeline)?];
    let children = workers.into_iter().map(read_report).collect::<Result<Vec<_>>>()?;
    let elapsed = timeline.now();

    let work: Vec<ChildWork> = children.iter().map(Report::work).collect();
    parent.report(&work, elapsed, &args.trace, args.common.json)
}

#[derive(Debug, Clone, Copy, PartialEq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Op {
    Square,
    Cube,
}

impl Op {
    /// The power this role raises each number to.
    fn power(self) -> u32 {
        match self {
            Op::Square => 2,
            Op::Cube => 3,
        }
    }
}

/// What a child writes to its stdout: one JSON line.
#[derive(Debug, Serialize, Deserialize)]
struct Report {
    op: Op,
    pid: u32,
    results: Vec<(u64, u64)>,
    spans: Vec<Span>,
}

/// The child's role: compute, then report to the parent through stdout.
fn run_worker(op: Op, args: &Args, clock: &str) -> Result<()> {
    let timeline = Timeline::aligned_to(clock)?;
    let pid = std::process::id();
    let lane = format!("{} (pid {pid})", role_name(&op));
    let wait = args.common.time_scale.secs(args.wait);
    let mut results = Vec::new();
    for n in args.numbers.iter().copied().map(u64::from) {
        // Stand-in for real work, so the two children's runs visibly overlap in time.
        timeline.measure(&lane, n.to_string(), || std::thread::sleep(wait));
        results.push((n, n.pow(op.power())));
    }
    let report = Report { op, pid, results, spans: timeline.spans() };
    // This stdout is the pipe to the parent, not the reader's terminal: `std::io::stdout()`,
    // so that a parent that has gone makes the child fail with an error (neither a panic
    // nor the quiet end of `shared::report::out`).
    writeln!(std::io::stdout(), "{}", serde_json::to_string(&report)?)?;
    Ok(())
}

/// Starts a copy of this executable in the worker role, with its stdout piped to us.
fn spawn_worker(op: Op, args: &Args, timeline: &Timeline) -> Result<Worker> {
    let mut worker_args = vec![
        format!("--clock={}", timeline.origin_token()),
        format!("--time-scale={}", args.common.time_scale),
        format!("--wait={}", args.wait),
    ];
    worker_args.extend(args.numbers.iter().map(u32::to_string));
    let name = role_name(&op);
    Worker::start(&name, &worker_args, |command| {
        command.stdout(Stdio::piped());
    })
    .with_context(|| format!("starting the {name} worker"))
}

/// Reads a worker's report from its stdout, then waits for it to exit.
fn read_report(mut worker: Worker) -> Result<Report> {
    let stdout = worker.child().stdout.take().context("the worker has no stdout pipe")?;
    let line = std::io::read_to_string(stdout)?;
    let id = worker.id();
    // Wait before parsing: if the child failed, how it ended explains a missing report best.
    worker.finish(&format!("worker {id}"))?;
    serde_json::from_str(line.trim()).context("reading the worker's report")
}

impl Report {
    /// What the parent's report shows of it.
    fn work(&self) -> ChildWork<'_> {
        let (op, pid) = (role_name(&self.op), self.pid);
        ChildWork { op, pid, results: &self.results, spans: &self.spans }
    }
}

/// Square and cube numbers in two child processes.
#[derive(Debug, Parser)]
struct Args {
    /// Numbers to square and cube (at most 2,000,000, so that the cube fits in a u64; at most
    /// 1,000 of them)
    #[arg(value_name = "N≤2000000", default_values_t = [1, 2, 3, 4, 5], num_args = 1..=1000,
          value_parser = shared::cli::whole::<u32>(0..=2_000_000))]
    numbers: Vec<u32>,
    /// Simulated seconds of work per number, so the two processes visibly overlap
    #[arg(long, value_name = "SECONDS", default_value_t = 0.2, value_parser = shared::cli::seconds)]
    wait: f64,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    trace: Trace,
    #[command(flatten)]
    child: ChildRole,
}
