//! What one unit costs: starting a thread and a process and waiting for each, and one small
//! message there and back through a channel between threads, an OS pipe and ipc-channel.
//!
//! The other binaries show what threads and processes *do*; this one puts a price on each, one
//! at a time with nothing else running: the figures behind "a process costs about a
//! millisecond to start", and what a small message between processes costs against one between
//! threads. Each figure is the median of `--rounds` rounds; a round is one start and wait, or
//! one round trip.
//! (A tokio task's start and wait is `spawn-task`'s last line, in the async-io chapter.)
//!
//! Mirrors: no script of the Python original; `cargo xtask measure` reads its `--json`.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-processing --bin unit-costs
//! cargo run -p multi-processing --bin unit-costs -- --rounds 2000 --json
//! ```
//!
//! Expected output (then a table of medians, which vary by machine):
//!
//! ```text
//! One unit at a time, nothing else running: the median of 200 rounds each.
//! ```

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use clap::{Parser, ValueEnum};
use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use multi_processing::reports::{UnitCosts, unit_costs_plan};
use multi_processing::{ChildRole, Worker, connect_to_parent, exit_with_parent};
use multi_processing::{quiet_if_hung_up, role_name};
use shared::cli::Common;
use shared::report::{MainResult, ok_if_stdout_closed};

fn main() -> MainResult {
    let args = Args::parse();
    match args.child.role::<Role>() {
        // Exits at once: what is timed is the start and the wait.
        Some(Role::Exit) => Ok(()),
        Some(Role::EchoPipe) => Ok(echo_lines()?),
        Some(Role::EchoIpc) => {
            // Its flag first: a missing one is a usage error, whatever the state of the lifeline.
            let connect = args.child.connect();
            exit_with_parent();
            Ok(quiet_if_hung_up(echo_ipc(connect))?)
        }
        None => ok_if_stdout_closed(run(&args)),
    }
}

fn run(args: &Args) -> Result<()> {
    let rounds = args.rounds;
    unit_costs_plan(rounds)?;
    let thread = median_time(rounds, start_and_join_a_thread)?;
    let process = median_time(rounds, start_and_wait_for_a_process)?;
    let channel = round_trips_through_a_channel(rounds)?;
    let pipe = round_trips_through_a_pipe(rounds)?;
    let ipc = round_trips_through_ipc_channel(rounds)?;
    let costs = UnitCosts { rounds, thread, process, channel, pipe, ipc };
    costs.report(args.common.json)
}

fn start_and_join_a_thread() -> Result<()> {
    let thread = std::thread::Builder::new().spawn(|| {})?;
    thread.join().ok().context("the thread panicked")
}

/// A copy of this binary in the `exit` role: the OS starts a process, the Rust runtime starts,
/// the arguments are parsed, and it exits. (`Worker::start` also reads this process's limits
/// from `/proc` first: a few microseconds of the millisecond.)
fn start_and_wait_for_a_process() -> Result<()> {
    Worker::start(&role_name(&Role::Exit), &[], |_| {})?.finish("the child")
}

/// One number to a thread and back, through two `std::sync::mpsc` channels.
fn round_trips_through_a_channel(rounds: u32) -> Result<Duration> {
    let ((to_echo, from_parent), (to_parent, from_echo)) = (mpsc::channel(), mpsc::channel());
    // The echo: until the parent stops sending (or listening).
    std::thread::Builder::new()
        .spawn(move || from_parent.iter().try_for_each(|n| to_parent.send(n)))?;
    median_time(rounds, || {
        to_echo.send(7_u64)?;
        ensure!(from_echo.recv()? == 7, "the echo changed the number");
        Ok(())
    })
}

/// One line to a child and back: the child's stdin and stdout are the two pipes.
fn round_trips_through_a_pipe(rounds: u32) -> Result<Duration> {
    let mut child = Worker::start(&role_name(&Role::EchoPipe), &[], |c| {
        c.stdout(Stdio::piped());
    })?;
    let mut to_child = child.take_lifeline().context("no pipe to the child")?;
    let mut from_child = BufReader::new(child.child().stdout.take().context("no pipe")?);
    let mut line = String::new();
    let took = median_time(rounds, || {
        to_child.write_all(b"7\n")?;
        to_child.flush()?;
        line.clear();
        from_child.read_line(&mut line)?;
        ensure!(line == "7\n", "the echo changed the line: {line:?}");
        Ok(())
    })?;
    drop(to_child); // The child's stdin ends: it exits.
    child.finish("the pipe's echo")?;
    Ok(took)
}

/// One number to a child and back, over two ipc-channels the child made and sent us.
fn round_trips_through_ipc_channel(rounds: u32) -> Result<Duration> {
    let echo = role_name(&Role::EchoIpc);
    let (child, (to_child, from_child)) =
        Worker::start_connected::<(IpcSender<u64>, IpcReceiver<u64>)>(&echo, &[], |_| {})?;
    let took = median_time(rounds, || {
        to_child.send(7)?;
        ensure!(from_child.recv()? == 7, "the echo changed the number");
        Ok(())
    })?;
    drop(to_child); // The child's `recv` fails: it exits.
    child.finish("the ipc-channel echo")?;
    Ok(took)
}

/// Runs `round` `rounds` times, timing each: the median.
fn median_time(rounds: u32, mut round: impl FnMut() -> Result<()>) -> Result<Duration> {
    let mut took = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        round()?;
        took.push(start.elapsed());
    }
    took.sort();
    Ok(took[took.len() / 2])
}

/// The pipe's child: echoes each line of its stdin to its stdout. Its stdin is the lifeline
/// (`Worker`'s pipe), so it does not call `exit_with_parent`, which would read it too: the end
/// of its stdin, when the parent ends, is what ends it.
fn echo_lines() -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        writeln!(stdout, "{}", line?)?;
        stdout.flush()?;
    }
    Ok(())
}

/// The ipc-channel child: makes both channels, sends the parent its ends, and echoes.
fn echo_ipc(connect: &str) -> Result<()> {
    let (to_child, from_parent) = ipc::channel::<u64>()?;
    let (to_parent, from_child) = ipc::channel::<u64>()?;
    connect_to_parent(connect, (to_child, from_child))?;
    while let Ok(n) = from_parent.recv() {
        to_parent.send(n)?;
    }
    Ok(())
}

/// The children's roles: exit at once; echo lines on a pipe; echo numbers over ipc-channel.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Role {
    Exit,
    EchoPipe,
    EchoIpc,
}

/// Start a thread and a process and wait for each; a message there and back three ways.
#[derive(Debug, Parser)]
struct Args {
    /// Rounds of each measurement; the median is shown
    #[arg(long, value_name = "N≤100000", default_value = "200",
          value_parser = shared::cli::whole::<u32>(1..=100_000))]
    rounds: u32,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    child: ChildRole,
}
