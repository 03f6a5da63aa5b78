//! The numeric answer to "what is the difference between async/await and threads?": the
//! same N waits as tokio tasks on one thread, and as N OS threads, side by side.
//!
//! Each starts N units that wait `--wait-ms` (a stand-in for a network call), and measures the
//! wall time, the cost of creating one unit, and the memory each adds while they all wait.
//! Both overlap their waits, but a thread is an OS object with a stack and a scheduler entry,
//! and a waiting task is a small struct in the event loop's list.
//!
//! Mirrors: the question at the heart of the Python original: "what is the difference between
//! async/await and multi-threading?"
//!
//! Run with:
//!
//! ```text
//! cargo run -p asyncio --bin tasks-vs-threads
//! cargo run -p asyncio --bin tasks-vs-threads -- --n 1000 --wait-ms 200
//! ```
//!
//! An excerpt of the output on 2 cores (figures vary):
//!
//! ```text
//! model                  units   all done after  to start one  memory per unit while waiting
//! ---------------------  ------  --------------  ------------  -----------------------------
//! tokio tasks, 1 thread  10,000          1.01 s       0.48 µs                      463 bytes
//! OS threads             10,000          1.31 s      24.95 µs                    9,785 bytes
//!
//! A task was 52× cheaper to start and 21× smaller while waiting than a thread.
//! ```
//!
//! "To start one" is not quite the same act for both: spawning a task puts it in the
//! runtime's queue (its first poll comes later, and costs little more), while starting a
//! thread has the OS create it, stack and all.

use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use asyncio::reports::{Sample, TasksVsThreads};
use asyncio::resident_bytes;
use clap::Parser;
use shared::cli::Common;
use shared::report::{MainResult, ok_if_stdout_closed};

fn main() -> MainResult {
    let args = Args::parse();
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run(&args))
}

fn run(args: &Args) -> Result<()> {
    let wait = args.common.time_scale.scaled(Duration::from_millis(args.wait_ms.into()));
    let report = TasksVsThreads { n: args.n, wait };
    report.announce()?;
    let tasks = with_tasks(args.n, wait)?;
    let threads = with_threads(args.n, wait)?;
    Ok(report.report(&tasks, &threads, args.common.json)?)
}

/// N tokio tasks on a current-thread runtime, each waiting `wait`.
fn with_tasks(n: u32, wait: Duration) -> Result<Sample> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    runtime.block_on(async {
        let memory_before = resident_bytes();
        let start = Instant::now();
        let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(tokio::time::sleep(wait))).collect();
        let created = start.elapsed();
        // Measure halfway through the waits, when every task has started waiting.
        tokio::time::sleep_until((start + wait / 2).into()).await;
        let memory_during = resident_bytes();
        for task in tasks {
            task.await.context("a task panicked")?;
        }
        Ok(Sample { wall: start.elapsed(), created, memory_before, memory_during })
    })
}

/// N OS threads, each waiting `wait`.
fn with_threads(n: u32, wait: Duration) -> Result<Sample> {
    let memory_before = resident_bytes();
    let start = Instant::now();
    let mut threads = Vec::with_capacity(n as usize);
    for i in 0..n {
        // An OS may refuse a thread (a limit on threads per user, say): report it, don't panic.
        let thread = thread::Builder::new()
            .spawn(move || thread::sleep(wait))
            .with_context(|| format!("the OS refused to start thread {} of {n}", i + 1))?;
        threads.push(thread);
    }
    let created = start.elapsed();
    thread::sleep((start + wait / 2).saturating_duration_since(Instant::now()));
    let memory_during = resident_bytes();
    for thread in threads {
        thread.join().map_err(|_| anyhow!("a waiting thread panicked"))?;
    }
    Ok(Sample { wall: start.elapsed(), created, memory_before, memory_during })
}

/// Wait N times as tokio tasks on one thread, then as N OS threads, and compare the costs.
#[derive(Debug, Parser)]
struct Args {
    /// How many tasks, then threads, wait at once
    #[arg(long, value_name = "N≤50000", default_value = "10000",
          value_parser = shared::cli::whole::<u32>(1..=50_000))]
    n: u32,
    /// How long each one waits, in milliseconds (scaled by --time-scale)
    #[arg(long, value_name = "MS≤60000", default_value = "1000",
          value_parser = shared::cli::whole::<u32>(0..=60_000))]
    wait_ms: u32,
    #[command(flatten)]
    common: Common,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_models_wait_for_every_unit() {
        let wait = Duration::from_millis(50);
        for sample in [with_tasks(200, wait).unwrap(), with_threads(200, wait).unwrap()] {
            // Every unit waited its 50 ms before the run could end.
            assert!(sample.wall >= wait, "{sample:?}");
            assert!(sample.created > Duration::ZERO);
        }
    }
}
