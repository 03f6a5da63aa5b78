//! A bank balance in memory shared by two processes: without synchronisation, updates get
//! lost; a cross-process lock or an atomic keeps it exact.
//!
//! The balance starts at 100. One child process withdraws 1, 10,000 times; another deposits 1,
//! 10,000 times; so it should end at 100. The balance lives in a file both children map (as in
//! `shared-memory`), and each round runs one of three variants:
//!
//! - **unsynchronized**: read the balance, then write it back changed. When the two processes
//!   interleave between the read and the write, one update overwrites the other: lost;
//! - **locked**: the same read and write while holding a lock on a file (`File::lock`, which
//!   works across processes and is released at once if its holder dies). Each process opens
//!   the lock file itself: a handle inherited from another process would share its lock;
//! - **atomic**: a single `fetch_add` on an `AtomicI64` in the mapping, which the hardware does
//!   in one indivisible step, across processes too.
//!
//! Mirrors: `sharedResource2.py` (wrong balances from two processes) and `lockProcess.py`
//! (100 every time with a `Lock`) of the Python original.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-processing --bin bank-balance
//! cargo run -p multi-processing --bin bank-balance -- --runs 30 --json
//! ```
//!
//! Expected output:
//!
//! ```text
//! Two processes withdraw 1 and deposit 1, 10,000 times each, from a balance of 100 in shared memory; 10 runs per variant.
//! ```
//!
//! Then a table, as in this excerpt (the unsynchronised balances and all times vary):
//!
//! ```text
//! variant         balance after each run (should be 100)                       time per operation
//! --------------  -----------------------------------------------------------  ------------------
//! unsynchronized  -1074 -3140 -5247   583 -2815  -405  4919  -588  -503    13                3 ns
//! locked            100   100   100   100   100   100   100   100   100   100             1684 ns
//! atomic            100   100   100   100   100   100   100   100   100   100               41 ns
//! ```

// Only this file and `shared-memory` may use `unsafe` (see Cargo.toml), to map shared memory.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use clap::{Parser, ValueEnum};
use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use memmap2::MmapRaw;
use multi_processing::{ScratchFile, Worker, connect_to_parent, exit_with_parent};
use serde::{Deserialize, Serialize};
use shared::cli::Common;
use shared::report::{Table, ok_if_stdout_closed, out, print_json, thousands};

/// Two processes update one balance in shared memory, three ways.
#[derive(Debug, Parser)]
struct Args {
    /// Rounds per variant
    #[arg(long, value_name = "N≤1000", default_value = "10",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    runs: u32,
    /// Withdrawals (and deposits) per round
    #[arg(long, value_name = "N≥1", default_value = "10000")]
    operations: NonZeroU32,
    #[command(flatten)]
    common: Common,
    /// Internal: run as a child with this role (the parent passes it)
    #[arg(long, hide = true, requires_all = ["connect", "memory", "lock"])]
    worker: Option<Role>,
    /// Internal: the parent's one-shot server
    #[arg(long, hide = true)]
    connect: Option<String>,
    /// Internal: the file to map
    #[arg(long, hide = true)]
    memory: Option<PathBuf>,
    /// Internal: the lock file
    #[arg(long, hide = true)]
    lock: Option<PathBuf>,
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

/// The mapped region as atomics: the balance, then a count of processes ready to start.
fn slots(map: &MmapRaw) -> &[AtomicI64] {
    let len = map.len() / size_of::<AtomicI64>();
    // SAFETY: the mapping is at least `len` × 8 bytes long and starts on a page boundary, so
    // it is aligned for `AtomicI64`, and any 8 bytes are a valid `AtomicI64`. The slice
    // borrows `map`, so it cannot outlive the mapping, and no process shrinks the file while
    // it is mapped. The other process writes these bytes at any time, but both touch them
    // only through atomics, for which that is allowed.
    unsafe { std::slice::from_raw_parts(map.as_ptr().cast::<AtomicI64>(), len) }
}

/// One round in a child: change the balance by `delta`, `operations` times, the `variant`
/// way. Returns the nanoseconds it took.
fn round(
    variant: Variant,
    balance: &AtomicI64,
    lock: &File,
    delta: i64,
    operations: u32,
) -> Result<u64> {
    let started = Instant::now();
    for _ in 0..operations {
        match variant {
            Variant::Unsynchronized => {
                // Another process can change the balance between these two lines.
                let read = balance.load(Relaxed);
                balance.store(read + delta, Relaxed);
            }
            Variant::Locked => {
                lock.lock()?; // Waits while the other process holds it.
                let read = balance.load(Relaxed);
                balance.store(read + delta, Relaxed);
                lock.unlock()?;
            }
            Variant::Atomic => {
                balance.fetch_add(delta, Relaxed);
            }
        }
    }
    Ok(started.elapsed().as_nanos() as u64)
}

/// A child: open and map the files, then run each round the parent asks for, until it hangs up.
fn run_child(role: Role, name: &str, memory: &Path, lock: &Path) -> Result<()> {
    let file = OpenOptions::new().read(true).write(true).open(memory)?;
    let map = MmapRaw::map_raw(&file)?;
    let [balance, ready] = slots(&map) else { bail!("the region should hold two numbers") };
    // This process's own handle on the lock file: only separate opens exclude each other.
    let lock = OpenOptions::new().read(true).write(true).open(lock)?;
    let (rounds_sender, rounds) = ipc::channel::<(Variant, u32)>()?;
    let (done, done_receiver) = ipc::channel::<u64>()?;
    connect_to_parent(name, (rounds_sender, done_receiver))?;
    let delta = match role {
        Role::Withdraw => -1,
        Role::Deposit => 1,
    };
    while let Ok((variant, operations)) = rounds.recv() {
        // Start together, or one process could finish before the other begins.
        ready.fetch_add(1, Relaxed);
        while ready.load(Relaxed) < 2 {
            std::thread::yield_now();
        }
        done.send(round(variant, balance, &lock, delta, operations)?)?;
    }
    Ok(()) // The parent dropped its sender: no more rounds.
}

/// The `--json` output: the balances after each run, and the time per operation.
#[derive(Debug, Default, Serialize)]
struct Summary {
    unsynchronized: Vec<i64>,
    locked: Vec<i64>,
    atomic: Vec<i64>,
    ns_per_op: NsPerOp,
}

#[derive(Debug, Default, Serialize)]
struct NsPerOp {
    unsynchronized: f64,
    locked: f64,
    atomic: f64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let (Some(role), Some(name), Some(memory), Some(lock)) =
        (args.worker, &args.connect, &args.memory, &args.lock)
    {
        exit_with_parent();
        return run_child(role, name, memory, lock);
    }
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run_parent(&args))
}

fn run_parent(args: &Args) -> Result<()> {
    let mut out = out();
    let operations = args.operations.get();
    writeln!(
        out,
        "Two processes withdraw 1 and deposit 1, {} times each, from a balance of 100 in shared \
         memory; {} runs per variant.\n",
        thousands(operations.into()),
        args.runs
    )?;
    let mut memory = ScratchFile::new("bank-balance-", 2 * size_of::<AtomicI64>() as u64)?;
    let mut lock = ScratchFile::new("bank-balance-lock-", 0)?;
    let map = MmapRaw::map_raw(memory.file())?;
    let [balance, ready] = slots(&map) else { bail!("the region should hold two numbers") };
    let files = [
        format!("--memory={}", memory.path().display()),
        format!("--lock={}", lock.path().display()),
    ];
    let mut children = Vec::new();
    for role in ["withdraw", "deposit"] {
        children.push(
            Worker::start_connected::<(IpcSender<(Variant, u32)>, IpcReceiver<u64>)>(
                role,
                &files,
                |_| {},
            )
            .with_context(|| format!("starting the {role} process"))?,
        );
    }
    // Both children have opened both files: their names can go.
    memory.unlink()?;
    lock.unlink()?;

    let mut summary = Summary::default();
    for variant in [Variant::Unsynchronized, Variant::Locked, Variant::Atomic] {
        let (balances, ns_per_op) = match variant {
            Variant::Unsynchronized => {
                (&mut summary.unsynchronized, &mut summary.ns_per_op.unsynchronized)
            }
            Variant::Locked => (&mut summary.locked, &mut summary.ns_per_op.locked),
            Variant::Atomic => (&mut summary.atomic, &mut summary.ns_per_op.atomic),
        };
        let mut nanos = 0;
        for _ in 0..args.runs {
            balance.store(100, Relaxed);
            ready.store(0, Relaxed);
            for (_, (rounds, _)) in &children {
                rounds.send((variant, operations))?;
            }
            for (_, (_, done)) in &children {
                nanos += done.recv().context("a child process ended in the middle of a round")?;
            }
            balances.push(balance.load(Relaxed));
        }
        // Each process timed its own operations; average over both, and over every run.
        *ns_per_op = nanos as f64 / f64::from(2 * operations * args.runs);
    }
    for (worker, channels) in children {
        drop(channels); // No more rounds: the child's `recv` fails, and it exits.
        let status = worker.wait()?;
        ensure!(status.success(), "a child process failed ({status})");
    }
    report(&mut out, args, &summary)
}

fn report(out: &mut impl Write, args: &Args, summary: &Summary) -> Result<()> {
    // Padded to one width, so that the runs line up in columns.
    let list =
        |balances: &[i64]| balances.iter().map(|b| format!("{b:>5}")).collect::<Vec<_>>().join(" ");
    let ns = |ns: f64| format!("{ns:.0} ns");
    let mut table =
        Table::new(["variant", "balance after each run (should be 100)", "time per operation"]);
    table.row([
        "unsynchronized".into(),
        list(&summary.unsynchronized),
        ns(summary.ns_per_op.unsynchronized),
    ]);
    table.row(["locked".into(), list(&summary.locked), ns(summary.ns_per_op.locked)]);
    table.row(["atomic".into(), list(&summary.atomic), ns(summary.ns_per_op.atomic)]);
    write!(out, "{table}")?;

    let wrong: Vec<i64> = summary.unsynchronized.iter().copied().filter(|&b| b != 100).collect();
    let worst = wrong.iter().map(|b| (b - 100).abs()).max().unwrap_or(0);
    writeln!(out)?;
    if wrong.is_empty() {
        writeln!(
            out,
            "No update was lost this time without a lock: the race needs the two processes to interleave. Try more --runs."
        )?;
    } else {
        writeln!(
            out,
            "Without a lock, {} of {} runs ended wrong (off by up to {}): two read-then-write \
             steps interleaved, and one overwrote the other.",
            wrong.len(),
            args.runs,
            thousands(worst.unsigned_abs())
        )?;
    }
    let exact = |balances: &[i64]| balances.iter().all(|&b| b == 100);
    let (locked, atomic) = (&summary.locked, &summary.atomic);
    if exact(locked) && exact(atomic) {
        writeln!(
            out,
            "The file lock and the atomic both kept every run at 100; the atomic is {:.0}× faster than locking a file for each operation.",
            summary.ns_per_op.locked / summary.ns_per_op.atomic
        )?;
    } else {
        writeln!(out, "Unexpected: a synchronised variant lost an update.")?;
    }
    if args.common.json {
        print_json(summary)?;
    }
    Ok(())
}
