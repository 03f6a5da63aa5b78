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
use multi_processing::{ChildRole, Worker, exit_with_parent};
use serde::Serialize;
use serde_json::json;
use shared::cli::Common;
use shared::report::{MainResult, Table, ok_if_stdout_closed, out, print_json};

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
    let mut out = out();
    let parent_pid = std::process::id();
    let scale = args.common.time_scale;
    writeln!(
        out,
        "Parent pid {parent_pid} starts two children: a sleeper ({:.2} s, then exit code 0) and a \
         quitter ({:.2} s, then exit code 7).\n",
        scale.secs(args.wait).as_secs_f64(),
        scale.secs(args.wait / 2.0).as_secs_f64()
    )?;
    let passed = [format!("--wait={}", args.wait), format!("--time-scale={scale}")];
    let mut children = Vec::new();
    for role in [Role::Sleeper, Role::Quitter] {
        let name = format!("{role:?}").to_lowercase();
        let worker = Worker::start(&name, &passed, |command| {
            command.stdout(Stdio::piped());
        })
        .with_context(|| format!("starting the {name}"))?;
        children.push((role, worker));
    }

    // Is each one running? `try_wait` answers at once: `None` means still running.
    let mut alive_before_wait = Vec::new();
    for (_, worker) in &mut children {
        alive_before_wait.push(worker.child().try_wait()?.is_none());
    }

    let mut reports = Vec::new();
    for ((role, mut worker), alive_before_wait) in children.into_iter().zip(alive_before_wait) {
        // What the child says about itself, on its first line.
        let stdout = worker.child().stdout.take().context("no stdout pipe")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let mut words = line.split_whitespace();
        let says_pid: u32 = words.next().context("the child said nothing")?.parse()?;
        let says_parent = words.next().unwrap_or("unknown").to_string();
        let status = worker.child().wait()?; // Python's `join()`.
        let alive_after_wait = worker.child().try_wait()?.is_none();
        let pid = worker.id();
        reports.push(ChildReport {
            role,
            pid,
            says_pid,
            says_parent,
            alive_before_wait,
            alive_after_wait,
            exit_code: status.code(),
        });
    }

    let mut table = Table::new(COLUMNS);
    let yes_no = |alive: bool| if alive { "yes" } else { "no" }.to_string();
    for r in &reports {
        let role = format!("{:?}", r.role).to_lowercase();
        let says = format!("{}, {}", r.says_pid, r.says_parent);
        let (before, after) = (yes_no(r.alive_before_wait), yes_no(r.alive_after_wait));
        let code = r.exit_code.map_or("none (killed by a signal)".into(), |c| c.to_string());
        table.row([role, r.pid.to_string(), says, before, after, code]);
    }
    writeln!(out, "{table}")?;
    let agree =
        reports.iter().all(|r| r.says_pid == r.pid && r.says_parent == parent_pid.to_string());
    let agreed = match agree {
        true => "Each child's own pid and parent pid agree with the parent's view.",
        false => "A child saw another pid or parent than the parent expected.",
    };
    writeln!(out, "{agreed}")?;
    // Say "running before the wait" only if the check found them running.
    let alive = reports.iter().filter(|r| r.alive_before_wait).count();
    let before = match alive {
        2 => "Both were still running before the wait".to_string(),
        n => format!(
            "{n} of 2 were still running before the wait (with no work, a child ends at once)"
        ),
    };
    // `try_wait` after the wait: a child still running then would be a broken `wait`.
    let after = if reports.iter().any(|r| r.alive_after_wait) {
        "one still ran after it?"
    } else {
        "neither after it"
    };
    writeln!(out, "{before}, and {after}: `wait` (Python's join) returned each exit code.")?;
    if args.common.json {
        print_json(&json!({ "parent_pid": parent_pid, "children": reports }))?;
    }
    Ok(())
}

/// The table's columns.
const COLUMNS: [&str; 6] =
    ["child", "pid", "it says: pid, parent", "alive before wait", "after", "exit code"];

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

#[derive(Debug, Clone, Copy, PartialEq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
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

/// What `--json` reports for each child.
#[derive(Debug, Serialize)]
struct ChildReport {
    role: Role,
    pid: u32,
    says_pid: u32,
    says_parent: String,
    alive_before_wait: bool,
    alive_after_wait: bool,
    exit_code: Option<i32>,
}
