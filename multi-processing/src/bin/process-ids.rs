//! Every process has an id; a parent can ask whether its child is still running, wait for it,
//! and read how it ended.
//!
//! The parent starts two children (itself again, in a worker role): one waits `--wait` seconds
//! and ends well, the other ends sooner with exit code 7. Before waiting, the parent asks each
//! whether it is still running (`try_wait`, Python's `is_alive()`); it reads what each child
//! says about itself — its own pid and its parent's — then waits for both (`join()`) and
//! reports their exit statuses (`exitcode`).
//!
//! Mirrors: `multiProcess2.py` (pids of parent and children, `is_alive` before and after
//! `join`) of the Python original.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-processing --bin process-ids
//! ```
//!
//! Expected output (pids vary):
//!
//! ```text
//! Parent pid 4241 starts two children: a sleeper (0.50 s, then exit code 0) and a quitter (0.25 s, then exit code 7).
//! ```

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use multi_processing::reports::{ChildReport, process_ids, process_ids_plan};
use multi_processing::{ChildRole, Worker, exit_with_parent, role_name};
use shared::cli::Common;
use shared::report::{MainResult, ok_if_stdout_closed};

fn main() -> MainResult {
    let args = Args::parse();
    if let Some(role) = args.child.role::<Role>() {
        exit_with_parent();
        return Ok(run_worker(role, &args)?);
    }
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run_parent(&args))
}

fn run_parent(args: &Args) -> Result<()> {
    let scale = args.common.time_scale;
    process_ids_plan(scale.secs(args.wait))?;
    let passed = [format!("--wait={}", args.wait), format!("--time-scale={scale}")];
    let mut children = Vec::new();
    for role in [Role::Sleeper, Role::Quitter] {
        let name = role_name(&role);
        let worker = Worker::start(&name, &passed, |command| {
            command.stdout(Stdio::piped());
        })
        .with_context(|| format!("starting the {name}"))?;
        children.push(Started { name, worker, alive_before_wait: false });
    }

    // Is each one running? `try_wait` answers at once: `None` means still running.
    for child in &mut children {
        child.alive_before_wait = child.worker.child().try_wait()?.is_none();
    }

    let mut reports = Vec::new();
    for Started { name, mut worker, alive_before_wait } in children {
        let Says { pid: says_pid, parent: says_parent } = what_it_says(&mut worker)?;
        // `Child::wait` (Python's `join()`), not `Worker::wait`, so that we can ask again:
        // `try_wait` then answers from the status std kept, as `is_alive()` does after `join()`.
        let status = worker.child().wait()?;
        let alive_after_wait = worker.child().try_wait()?.is_none();
        let pid = worker.id();
        reports.push(ChildReport {
            role: name,
            pid,
            says_pid,
            says_parent,
            alive_before_wait,
            alive_after_wait,
            exit_code: status.code(),
        });
    }

    process_ids(&reports, args.common.json)
}

/// A child as started, and whether it was running just after.
struct Started {
    name: String,
    worker: Worker,
    alive_before_wait: bool,
}

/// What a child says about itself, on its first line: its pid, and its parent's.
struct Says {
    pid: u32,
    parent: String,
}

/// Reads the child's first line: `PID PARENT_PID`.
fn what_it_says(worker: &mut Worker) -> Result<Says> {
    let stdout = worker.child().stdout.take().context("no stdout pipe")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let mut words = line.split_whitespace();
    let pid = words.next().context("the child said nothing")?.parse()?;
    Ok(Says { pid, parent: words.next().unwrap_or("unknown").to_string() })
}

#[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
enum Role {
    Sleeper,
    Quitter,
}

/// The child's role: say who it is, work a while, and end with its role's exit code.
fn run_worker(role: Role, args: &Args) -> Result<()> {
    // The parent's pid, as this child sees it (Unix only; Windows has no simple call for it).
    #[cfg(unix)]
    let parent = std::os::unix::process::parent_id().to_string();
    #[cfg(not(unix))]
    let parent = "unknown".to_string();
    // The pipe to the parent: a plain `writeln!`, so a vanished parent is an error here.
    writeln!(std::io::stdout(), "{} {parent}", std::process::id())?;
    let (work, code) = match role {
        Role::Sleeper => (args.wait, 0),
        Role::Quitter => (args.wait / 2.0, 7),
    };
    std::thread::sleep(args.common.time_scale.secs(work));
    std::process::exit(code);
}

/// Start two children, ask whether they are alive, wait for them, read their exit codes.
#[derive(Debug, Parser)]
struct Args {
    /// Simulated seconds the sleeper works (the quitter works half as long)
    #[arg(long, value_name = "SECONDS", default_value_t = 0.5, value_parser = shared::cli::seconds)]
    wait: f64,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    child: ChildRole,
}
