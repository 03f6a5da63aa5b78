//! A crash stays in its own process: one child panics, one aborts, one is killed, one works —
//! and the parent reports how each ended and carries on.
//!
//! The parent starts four children (itself again, in four worker roles), captures each one's
//! stderr, waits for each, and tells the exit status in words. A panic ends a Rust process
//! with exit code 101; `std::process::abort` and a kill end it by a signal (on Unix), with no
//! exit code at all. None of it touches the parent's memory: it goes on and prints the
//! healthy child's result.
//!
//! Threads are different: a panicking thread is caught at `join` (an `Err`), but a thread
//! that aborts, or corrupts memory through `unsafe` code, takes its whole process down.
//!
//! Mirrors: the fault isolation described in the Python original's `Multiprocessing.md`.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-processing --bin crash-isolation
//! ```
//!
//! The output ends like this (pids vary):
//!
//! ```text
//! The parent (pid 4241) is still here: 3 children ended badly, each in its own process.
//! A panicking thread is caught at join() too (join() just returned the panic "a bug in a thread"), but an abort in a thread would end the whole process.
//! ```

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use multi_processing::reports::{
    Ended, ThreadPanic, crash_isolation, crash_isolation_plan, last_words,
};
use multi_processing::{ChildRole, Output, Worker, exit_with_parent, how_it_ended, role_name};
use shared::cli::Common;
use shared::report::{MainResult, ok_if_stdout_closed};
use shared::waits::TimeScale;

fn main() -> MainResult {
    let args = Args::parse();
    if let Some(role) = args.child.role::<Role>() {
        exit_with_parent();
        return Ok(run_worker(role)?);
    }
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run_parent(&args))
}

fn run_parent(args: &Args) -> Result<()> {
    let parent_pid = std::process::id();
    crash_isolation_plan(parent_pid)?;
    let mut ended = Vec::new();
    for role in [Role::Panics, Role::Aborts, Role::Hangs, Role::Works] {
        ended.push(run_child(role, args.common.time_scale)?);
    }
    let thread_panic = catch_a_thread_panic()?;
    crash_isolation(parent_pid, &ended, &thread_panic, args.common.json)
}

/// Starts a child in `role`, reads its stdout and stderr, and waits for it to end.
fn run_child(role: Role, scale: TimeScale) -> Result<Ended> {
    let name = role_name(&role);
    let mut worker = Worker::start(&name, &[], |command| {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
    })
    .with_context(|| format!("starting the child that {name}"))?;
    if role == Role::Hangs {
        // This one would never end by itself: kill it, as an OOM killer or a user might.
        std::thread::sleep(scale.secs(0.2));
        worker.child().kill()?;
    }
    let pid = worker.id();
    let Output { status, stdout, stderr } = worker.wait_with_output()?;
    Ok(Ended {
        role: name,
        pid,
        // A panic exits with code 101; an abort or a kill ends the child by a signal, no code.
        code: status.code(),
        how: how_it_ended(status),
        stderr: last_words(&stderr),
        stdout: stdout.trim().to_string(),
    })
}

/// The contrast: a panicking *thread* is caught at `join`, in this very process. (The
/// default hook would print the panic on stderr; the message is shown in the report instead.)
fn catch_a_thread_panic() -> Result<ThreadPanic> {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    // `Builder`: a thread the OS refuses is an error, returned once the hook is back.
    let buggy = std::thread::Builder::new().spawn(|| panic!("a bug in a thread"));
    let caught = buggy.map(|thread| thread.join());
    std::panic::set_hook(default_hook);
    let caught = caught
        .context("starting the thread that panics (is a limit such as ulimit -u or -v too low?)")?;
    let message =
        caught.as_ref().err().and_then(|p| p.downcast_ref::<&str>().map(|m| m.to_string()));
    Ok(ThreadPanic { caught: caught.is_err(), message })
}

#[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
enum Role {
    Panics,
    Aborts,
    Hangs,
    Works,
}

/// Each role's job.
fn run_worker(role: Role) -> Result<()> {
    match role {
        Role::Panics => panic!("a bug in the child"),
        Role::Aborts => std::process::abort(),
        // Waits until the parent kills it (or, should the parent die, its lifeline ends it).
        Role::Hangs => loop {
            std::thread::sleep(Duration::from_secs(1));
        },
        Role::Works => {
            let sum: u64 = (1..=100).sum();
            writeln!(std::io::stdout(), "{sum}")?;
            Ok(())
        }
    }
}

/// Children that panic, abort, are killed and work; the parent reports each and carries on.
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    child: ChildRole,
}
