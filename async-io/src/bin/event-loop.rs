//! One thread, one event loop, 100,000 tasks waiting at once — in about the time of one wait.
//!
//! Every task sleeps `--wait-ms` (a stand-in for a network call) and then reports which thread
//! it ran on. On tokio's current-thread runtime there is exactly one thread: its event loop
//! polls whichever tasks are ready, and while they all wait it asks the OS for the next timer
//! or socket event and sleeps. A waiting task is just a small struct in memory — no stack, no
//! thread — so 100,000 waits of 1 s overlap and take about 1 s in all. The program measures
//! the process's resident memory while every task waits, and divides the growth by the tasks.
//!
//! With `--flavor multi`, tokio's multi-thread runtime runs the same tasks on one worker
//! thread per core: the waits overlap just the same, the tasks are spread over the threads.
//!
//! Mirrors: the event loop of the Python original's `asyncIO.md` (one thread, many tasks).
//!
//! Run with:
//!
//! ```text
//! cargo run -p asyncio --bin event-loop
//! cargo run -p asyncio --bin event-loop -- --flavor multi --tasks 10000
//! ```
//!
//! The output ends like this on 2 cores (timings and memory vary):
//!
//! ```text
//! 100,000 waits of 1.00 s took 1.11 s in all, on 1 thread: they overlapped.
//! Each waiting task took about 464 bytes; an OS thread takes a stack (see tasks-vs-threads).
//! ```

use std::collections::HashSet;
use std::io::Write;
use std::thread::{self, ThreadId};
use std::time::Duration;

use anyhow::Result;
use clap::{Parser, ValueEnum};
use serde::Serialize;
use shared::cli::Common;
use shared::report::{Table, human_duration, ok_if_stdout_closed, out, print_json, thousands};
use tokio::time::{Instant, sleep};

fn main() -> Result<()> {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    let mut out = out();
    let wait = args.common.time_scale.scaled(Duration::from_millis(args.wait_ms.into()));
    let runtime = match args.flavor {
        Flavor::Current => tokio::runtime::Builder::new_current_thread().enable_time().build()?,
        Flavor::Multi => tokio::runtime::Builder::new_multi_thread().enable_time().build()?,
    };
    writeln!(
        out,
        "{} tasks each wait {} on tokio's {} runtime ({}).\n",
        thousands(args.tasks.into()),
        human_duration(wait),
        if args.flavor == Flavor::Current { "current-thread" } else { "multi-thread" },
        shared::report::build_note()
    )?;
    let (elapsed, threads, before, during) = runtime.block_on(wait_many(args.tasks, wait));
    let grown = before.zip(during).map(|(b, d)| d.saturating_sub(b));
    let per_task = grown.map(|g| g as f64 / f64::from(args.tasks));

    let mut table = Table::new([
        "tasks",
        "each waits",
        "all done after",
        "threads",
        "memory while waiting",
        "per task",
    ]);
    let memory = during.map_or("unknown".into(), |d| format!("{:.1} MB", d as f64 / 1e6));
    let per = per_task.map_or("unknown".into(), |p| format!("{} bytes", thousands(p as u64)));
    table.row([
        thousands(args.tasks.into()),
        human_duration(wait),
        human_duration(elapsed),
        threads.len().to_string(),
        memory,
        per,
    ]);
    writeln!(out, "{table}")?;

    let word = if threads.len() == 1 { "thread" } else { "threads" };
    // One after another, the waits would take `tasks × wait`; nearer one wait, they overlapped.
    let one_after_another = wait.saturating_mul(args.tasks);
    let verdict = if args.tasks == 1 {
        "a single wait has nothing to overlap with".to_string()
    } else if wait < shared::report::TOO_SHORT_TO_TELL {
        "too short to show them overlapping".to_string()
    } else if elapsed < wait * 2 {
        "they overlapped".to_string()
    } else if elapsed < one_after_another / 2 {
        format!(
            "they overlapped (one after another: {}), though starting and finishing the tasks \
             took longer than one wait",
            human_duration(one_after_another)
        )
    } else {
        "they did not overlap".to_string()
    };
    let waits = if args.tasks == 1 {
        "1 wait".to_string()
    } else {
        format!("{} waits", thousands(args.tasks.into()))
    };
    writeln!(
        out,
        "{waits} of {} took {} in all, on {} {word}: {verdict}.",
        human_duration(wait),
        human_duration(elapsed),
        threads.len()
    )?;
    if let Some(per_task) = per_task {
        writeln!(
            out,
            "Each waiting task took about {} bytes; an OS thread takes a stack (see tasks-vs-threads).",
            thousands(per_task as u64)
        )?;
    }
    if args.common.json {
        print_json(&Summary {
            flavor: args.flavor,
            tasks: args.tasks,
            wait_s: wait.as_secs_f64(),
            elapsed_s: elapsed.as_secs_f64(),
            threads: threads.len(),
            rss_mb: during.map(|d| d as f64 / 1e6),
            bytes_per_task: per_task,
        })?;
    }
    Ok(())
}

/// Run many concurrent waits on one thread's event loop, and measure time and memory.
#[derive(Debug, Parser)]
struct Args {
    /// How many tasks wait at once
    #[arg(long, value_name = "N≤1000000", default_value = "100000",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    tasks: u32,
    /// How long each task waits, in milliseconds (scaled by --time-scale)
    #[arg(long, value_name = "MS≤60000", default_value = "1000",
          value_parser = clap::value_parser!(u32).range(0..=60_000))]
    wait_ms: u32,
    /// The tokio runtime: one thread, or one worker thread per core
    #[arg(long, value_enum, default_value_t = Flavor::Current)]
    flavor: Flavor,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Clone, Copy, PartialEq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Flavor {
    Current,
    Multi,
}

/// The process's resident memory in bytes, where the OS tells it.
fn resident_bytes() -> Option<usize> {
    memory_stats::memory_stats().map(|stats| stats.physical_mem)
}

/// What one run measured.
#[derive(Debug, Serialize)]
struct Summary {
    flavor: Flavor,
    tasks: u32,
    wait_s: f64,
    elapsed_s: f64,
    threads: usize,
    rss_mb: Option<f64>,
    bytes_per_task: Option<f64>,
}

/// Spawns `tasks` tasks that each wait `wait` and return their thread; measures memory while
/// they all wait. Runs inside the runtime.
async fn wait_many(
    tasks: u32,
    wait: Duration,
) -> (Duration, HashSet<ThreadId>, Option<usize>, Option<usize>) {
    let before = resident_bytes();
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            tokio::spawn(async move {
                sleep(wait).await;
                thread::current().id()
            })
        })
        .collect();
    // Spawned last, so it runs after every task above has started its wait.
    let during = tokio::spawn(async move {
        sleep(wait / 2).await;
        resident_bytes()
    });
    let during = during.await.expect("the memory probe panicked");
    let mut threads = HashSet::new();
    for handle in handles {
        threads.insert(handle.await.expect("a task panicked"));
    }
    (start.elapsed(), threads, before, during)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Paused time: 1,000 one-second waits end after exactly one second, on one thread.
    #[tokio::test(start_paused = true)]
    async fn all_waits_overlap_on_one_thread() {
        let (elapsed, threads, _, _) = wait_many(1_000, Duration::from_secs(1)).await;
        assert_eq!(elapsed, Duration::from_secs(1));
        assert_eq!(threads, HashSet::from([thread::current().id()]));
    }
}
