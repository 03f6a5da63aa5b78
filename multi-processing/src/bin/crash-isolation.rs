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

use std::io::{self, Write};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use multi_processing::{ChildRole, Worker, exit_with_parent, how_it_ended};
use serde::Serialize;
use serde_json::json;
use shared::cli::Common;
use shared::report::{MainResult, Table, ok_if_stdout_closed, out, print_json};

fn main() -> MainResult {
    let args = Args::parse();
    if let Some(role) = args.child.role::<Role>() {
        exit_with_parent();
        return Ok(run_worker(role)?);
    }
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run_parent(&args))
}

#[derive(Debug, Clone, Copy, PartialEq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
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

fn run_parent(args: &Args) -> Result<()> {
    let mut out = out();
    let parent_pid = std::process::id();
    writeln!(
        out,
        "Parent (pid {parent_pid}) starts four children: one panics, one aborts, one hangs (the parent kills it), one works.\n"
    )?;
    let mut ended = Vec::new();
    for (role, name) in [
        (Role::Panics, "panics"),
        (Role::Aborts, "aborts"),
        (Role::Hangs, "hangs"),
        (Role::Works, "works"),
    ] {
        let mut worker = Worker::start(name, &[], |command| {
            command.stdout(Stdio::piped()).stderr(Stdio::piped());
        })
        .with_context(|| format!("starting the child that {name}"))?;
        if role == Role::Hangs {
            // This one would never end by itself: kill it, as an OOM killer or a user might.
            std::thread::sleep(args.common.time_scale.secs(0.2));
            worker.child().kill()?;
        }
        // Both pipes at once (stderr on a thread): a child that fills one pipe while the
        // parent waits on the other would wait for ever.
        let mut errors = worker.child().stderr.take().context("no stderr pipe")?;
        let stderr = std::thread::Builder::new()
            .spawn(move || io::read_to_string(&mut errors))
            .context("starting a thread to read the child's stderr (is a limit such as ulimit -u or -v too low?)")?;
        let stdout = io::read_to_string(worker.child().stdout.take().context("no stdout pipe")?)?;
        let stderr = stderr.join().expect("the stderr reader panicked")?;
        let pid = worker.id();
        let status = worker.wait()?;
        // The child's last words: a panic's message is the line after "… panicked at …".
        let mut lines = stderr.lines();
        let last_words = match lines.position(|l| l.contains("panicked at")) {
            Some(_) => lines.next().unwrap_or(""),
            None => stderr.lines().next().unwrap_or(""),
        };
        let last_words = last_words.to_string();
        ended.push(Ended {
            role,
            pid,
            code: status.code(),
            how: how_it_ended(status),
            stderr: last_words,
            stdout: stdout.trim().to_string(),
        });
    }

    let mut table = Table::new(["child", "pid", "how it ended", "its stderr"]);
    for e in &ended {
        table.row([
            format!("{:?}", e.role).to_lowercase(),
            e.pid.to_string(),
            e.how.clone(),
            e.stderr.clone(),
        ]);
    }
    writeln!(out, "{table}")?;
    let works = ended.iter().find(|e| e.role == Role::Works).map_or("", |e| e.stdout.as_str());
    writeln!(out, "The healthy child computed 1 + 2 + … + 100 = {works}.")?;

    // The contrast: a panicking *thread* is caught at `join`, in this very process. (The
    // default hook would print the panic on stderr; the message is shown below instead.)
    // The thread is started first, with `Builder` so that a failure to start it is an error
    // (not a panic with the hook silenced), and panics only once the quiet hook is in place.
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let buggy = std::thread::Builder::new().spawn(move || {
        let _ = wait.recv(); // Either way, the panic comes next.
        panic!("a bug in a thread")
    });
    let buggy = buggy
        .context("starting the thread that panics (is a limit such as ulimit -u or -v too low?)")?;
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let _ = go.send(()); // Fails only if the thread is gone, and then join tells.
    let caught = buggy.join();
    std::panic::set_hook(default_hook);
    let thread_panic_caught = caught.is_err();
    let message = caught.err().and_then(|p| p.downcast_ref::<&str>().map(|m| m.to_string()));
    let crashed = ended.iter().filter(|e| e.code != Some(0)).count();
    writeln!(
        out,
        "\nThe parent (pid {parent_pid}) is still here: {crashed} children ended badly, each in its own process.\n\
         A panicking thread is caught at join() too ({}), but an abort in a thread would end the whole process.",
        message.map_or("though not this time".to_string(), |m| format!(
            "join() just returned the panic {m:?}"
        ))
    )?;
    if args.common.json {
        print_json(&json!({
            "parent_pid": parent_pid, "children": ended, "thread_panic_caught": thread_panic_caught,
        }))?;
    }
    Ok(())
}

/// Children that panic, abort, are killed and work; the parent reports each and carries on.
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    child: ChildRole,
}

/// What `--json` reports for each child.
#[derive(Debug, Serialize)]
struct Ended {
    role: Role,
    pid: u32,
    code: Option<i32>,
    how: String,
    stderr: String,
    stdout: String,
}
