//! Each process has its own memory: a global list filled in a child stays empty in the parent
//! — while a thread's changes are seen at once.
//!
//! `RESULTS` is a global (`static`) list. The parent starts a child (itself again, in a
//! worker role), which appends the squares of 1 to 5 to *its* `RESULTS` and reports what it
//! saw there. The parent's `RESULTS` is still empty afterwards: the child is a process
//! started fresh from the same program, with memory of its own, and got none of the
//! parent's — not even a copy, as a Python child made by `fork` would. Then a thread does
//! the same appends, and the parent sees them: threads share their process's memory.
//!
//! Mirrors: `MultiProcessing/raceCondition.py` (a global list changed in a child stays empty
//! in the parent) of the Python original.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-processing --bin separate-memory
//! ```
//!
//! Expected output (pids vary):
//!
//! ```text
//! A global list, RESULTS, starts empty in every process.
//!
//! The child (pid 4243) appended to its RESULTS and saw: [1, 4, 9, 16, 25]
//! The parent's RESULTS after the child:  []
//! A thread appended to RESULTS; the parent now sees: [1, 4, 9, 16, 25]
//! ```

use std::io::Write;
use std::process::Stdio;
use std::sync::Mutex;

use anyhow::{Context, Result};
use clap::Parser;
use multi_processing::reports::{SeparateMemory, separate_memory};
use multi_processing::{ChildRole, Worker, exit_with_parent};
use serde::{Deserialize, Serialize};
use shared::cli::Common;
use shared::report::{MainResult, ok_if_stdout_closed, out};

/// The global list: one per process, shared by that process's threads.
static RESULTS: Mutex<Vec<u64>> = Mutex::new(Vec::new());

fn main() -> MainResult {
    let args = Args::parse();
    if args.child.is("append") {
        exit_with_parent();
        return Ok(be_the_child()?);
    }
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run_parent(&args))
}

fn run_parent(args: &Args) -> Result<()> {
    // `thread::spawn` panics if the OS refuses a thread: check its limits first.
    shared::limits::room_for_threads(1)?;
    writeln!(out(), "A global list, RESULTS, starts empty in every process.\n")?;
    let ChildSaw { pid: child_pid, results: child } = append_in_a_child()?;
    let parent_after_child = snapshot();

    // Beyond the original: the same appends from a thread, which shares this process's memory.
    std::thread::spawn(append_squares).join().expect("the thread panicked");
    let parent_after_thread = snapshot();
    let saw = SeparateMemory { child_pid, child, parent_after_child, parent_after_thread };
    separate_memory(&saw, args.common.json)
}

/// Appends the squares of 1 to 5 to this process's `RESULTS`.
fn append_squares() {
    let mut results = RESULTS.lock().expect("RESULTS lock poisoned");
    results.extend((1..=5).map(|n: u64| n * n));
}

/// The child's role: change its own `RESULTS`, then tell the parent what it saw there.
fn be_the_child() -> Result<()> {
    append_squares();
    let saw = ChildSaw { pid: std::process::id(), results: snapshot() };
    writeln!(std::io::stdout(), "{}", serde_json::to_string(&saw)?)?;
    Ok(())
}

/// Starts the child (this executable again) and reads, from its stdout, what it saw.
fn append_in_a_child() -> Result<ChildSaw> {
    let mut worker = Worker::start("append", &[], |command| {
        command.stdout(Stdio::piped());
    })
    .context("starting the child")?;
    let stdout = worker.child().stdout.take().context("no stdout pipe")?;
    let report = std::io::read_to_string(stdout)?;
    worker.finish("the child")?;
    serde_json::from_str(report.trim()).context("reading the child's report")
}

fn snapshot() -> Vec<u64> {
    RESULTS.lock().expect("RESULTS lock poisoned").clone()
}

/// What the child reports through its stdout.
#[derive(Debug, Serialize, Deserialize)]
struct ChildSaw {
    pid: u32,
    results: Vec<u64>,
}

/// A global list changed in a child process, then in a thread: who sees the change?
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    child: ChildRole,
}
