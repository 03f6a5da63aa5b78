//! A bank balance in memory shared by two processes: without synchronisation, updates get
//! lost; a cross-process lock or an atomic keeps it exact.
//!
//! The balance starts at 100. One child process withdraws 1, 10,000 times; another deposits 1,
//! 10,000 times; so it should end at 100. The balance lives in a file both children map (as in
//! `shared-memory`), and each run uses one of three variants: **unsynchronized** (read, then
//! write back: an update lands between the two and is lost), **locked** (the same under a
//! `File::lock`, which works across processes and is released if its holder dies), and
//! **atomic** (one `fetch_add`, indivisible in hardware, across processes too).
//!
//! Mirrors: `sharedResource2.py` (wrong balances from two processes) and `lockProcess.py`
//! (100 every time with a `Lock`) of the Python original.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-processing --bin bank-balance
//! cargo run -p multi-processing --bin bank-balance -- --runs 3 --operations 100000 --json
//! ```
//!
//! Expected output (then a table of balances and times, which vary):
//!
//! ```text
//! Two processes withdraw 1 and deposit 1, 10,000 times each, from a balance of 100
//! in shared memory; 10 runs of each variant.
//! (an optimised build: opt-level 2)
//! ```

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::atomic::AtomicI64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use multi_processing::reports::{Outcome, bank_balance, bank_balance_plan};
use multi_processing::{ChildRole, ScratchFile, SharedMemory, Worker, connect_to_parent};
use multi_processing::{exit_with_parent, quiet_if_hung_up, role_name, wait_for_each_other};
use serde::{Deserialize, Serialize};
use shared::cli::Common;
use shared::report::{MainResult, ok_if_stdout_closed};

fn main() -> MainResult {
    let args = Args::parse();
    if let Some(role) = args.child.role::<Role>() {
        // Its flags first: a missing one is a usage error, whatever the state of the lifeline.
        let (connect, file) = (args.child.connect(), args.child.file());
        exit_with_parent();
        return Ok(quiet_if_hung_up(run_child(role, connect, file))?);
    }
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run_parent(&args))
}

fn run_parent(args: &Args) -> Result<()> {
    bank_balance_plan(args.operations, args.runs)?;
    // The balance and a start line, in a file that both children map (and lock, when locked).
    let mut balance_file = ScratchFile::new("bank-balance-", 2 * size_of::<AtomicI64>() as u64)?;
    let map = SharedMemory::map(balance_file.file())?;
    let [balance, ready] = map.atomics::<AtomicI64>() else { bail!(NOT_TWO_NUMBERS) };
    let path = balance_file.path();
    let children = [Role::Withdraw, Role::Deposit].map(|role| start_child(role, path));
    let children = children.into_iter().collect::<Result<Vec<_>>>()?;
    // Both children have the file open (each opened it before connecting, and
    // `start_connected` returned): its name can go.
    balance_file.unlink()?;
    let mut outcomes = Vec::new();
    for variant in [Variant::Unsynchronized, Variant::Locked, Variant::Atomic] {
        outcomes.push(time_runs(variant, &children, balance, ready, args)?);
    }
    for ChildProcess { worker, ends } in children {
        drop(ends); // No more runs: the child's `recv` fails, and it exits.
        worker.finish("a child process")?;
    }
    bank_balance(&outcomes, args.common.json)
}

/// `--runs` runs of `variant` by both children, each run from a balance of 100.
fn time_runs(
    variant: Variant,
    children: &[ChildProcess],
    balance: &AtomicI64,
    ready: &AtomicI64,
    args: &Args,
) -> Result<Outcome> {
    let (mut balances, mut both_took_ns) = (Vec::new(), 0);
    for _ in 0..args.runs {
        balance.store(100, Relaxed);
        ready.store(0, Relaxed);
        let run = Run { variant, operations: args.operations };
        children.iter().try_for_each(|child| child.ends.runs.send(run))?;
        let took = children.iter().map(|child| child.ends.done.recv()).sum::<Result<u64, _>>();
        both_took_ns += took.context("a child process ended in the middle of a run")?;
        balances.push(balance.load(Relaxed));
    }
    // Each process timed its own operations, waits for the lock included: the mean of both.
    let operations = 2.0 * f64::from(args.operations) * f64::from(args.runs);
    Ok(Outcome { balances, ns_per_op: both_took_ns as f64 / operations })
}

/// One run in a child: change the balance by `delta`, `n` times, the `variant` way.
/// Returns the nanoseconds it took.
fn run_once(variant: Variant, balance: &AtomicI64, file: &File, delta: i64, n: u32) -> Result<u64> {
    let started = Instant::now();
    for _ in 0..n {
        match variant {
            Variant::Unsynchronized => {
                // The other process can change the balance between these two lines.
                let read = balance.load(Relaxed);
                balance.store(read + delta, Relaxed);
            }
            Variant::Locked => {
                // What makes the other process's last store visible here is the lock itself:
                // the kernel's own synchronisation in `flock`, and calls the compiler cannot
                // move memory accesses across. Rust's memory model alone says nothing of it.
                file.lock()?; // Waits while the other process holds it.
                let read = balance.load(Relaxed);
                balance.store(read + delta, Relaxed);
                file.unlock()?;
            }
            Variant::Atomic => _ = balance.fetch_add(delta, Relaxed),
        }
    }
    Ok(started.elapsed().as_nanos() as u64)
}

/// A child: open and map the file, then do each run the parent asks for, until it hangs up.
fn run_child(role: Role, connect: &str, path: &Path) -> Result<()> {
    // This process's own open of the file: only separate opens' locks exclude each other.
    let file = OpenOptions::new().read(true).write(true).open(path)?;
    let map = SharedMemory::map(&file)?;
    let [balance, ready] = map.atomics::<AtomicI64>() else { bail!(NOT_TWO_NUMBERS) };
    let (runs_sender, runs) = ipc::channel::<Run>()?;
    let (done, done_receiver) = ipc::channel::<u64>()?;
    connect_to_parent(connect, Ends { runs: runs_sender, done: done_receiver })?;
    let delta = match role {
        Role::Withdraw => -1,
        Role::Deposit => 1,
    };
    while let Ok(Run { variant, operations }) = runs.recv() {
        // Start together, or one process could finish before the other begins. (The parent's
        // reset of `ready` reaches us as its reset of the balance does: through the messages'
        // system calls, as in the locked variant.)
        wait_for_each_other(ready, 2)?;
        done.send(run_once(variant, balance, &file, delta, operations)?)?;
    }
    Ok(()) // The parent dropped its sender: no more runs.
}

/// Starts the child in `role`, with the file to map; returns it with the ends of its channels.
fn start_child(role: Role, path: &Path) -> Result<ChildProcess> {
    let name = role_name(&role);
    let file = format!("--file={}", path.display());
    let child = Worker::start_connected::<Ends>(&name, &[file], |_| {});
    let (worker, ends) = child.with_context(|| format!("starting the {name} process"))?;
    Ok(ChildProcess { worker, ends })
}

/// Two processes update one balance in shared memory, three ways.
#[derive(Debug, Parser)]
struct Args {
    /// Runs of each variant
    #[arg(long, value_name = "N≤1000", default_value = "10",
          value_parser = shared::cli::whole::<u32>(1..=1000))]
    runs: u32,
    /// Withdrawals (and deposits) in each run
    #[arg(long, value_name = "N≤10000000", default_value = "10000",
          value_parser = shared::cli::whole::<u32>(1..=10_000_000))]
    operations: u32,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    child: ChildRole,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Role {
    Withdraw,
    Deposit,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
enum Variant {
    Unsynchronized,
    Locked,
    Atomic,
}

/// What the parent asks of both children, once per run.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Run {
    variant: Variant,
    operations: u32,
}

/// The error if the mapped file does not hold two numbers: the balance and the start line.
const NOT_TWO_NUMBERS: &str = "the shared file should hold the balance and the start line";

/// A child process, and the parent's ends of its channels.
struct ChildProcess {
    worker: Worker,
    ends: Ends,
}

/// A child's channel ends, which it sends to the parent: where its runs come from, and where
/// each run's nanoseconds go.
#[derive(Serialize, Deserialize)]
struct Ends {
    runs: IpcSender<Run>,
    done: IpcReceiver<u64>,
}
