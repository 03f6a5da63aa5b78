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
//! cargo run -p multi-processing --bin bank-balance -- --runs 3 --operations 100000 --json
//! ```
//!
//! Expected output:
//!
//! ```text
//! Two processes withdraw 1 and deposit 1, 10,000 times each, from a balance of 100 in shared memory; 10 runs of each variant.
//! (an optimised build: opt-level 2)
//! ```
//!
//! Then a table, as in this excerpt (the unsynchronised balances and all times vary):
//!
//! ```text
//! variant         balance after each run (should be 100)                       time per operation
//! --------------  -----------------------------------------------------------  ------------------
//! unsynchronized   1335  3672   498  -433  4061  2076 -7754  3710  3996 -1071                2 ns
//! locked            100   100   100   100   100   100   100   100   100   100             1440 ns
//! atomic            100   100   100   100   100   100   100   100   100   100               29 ns
//! ```

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicI64;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use clap::{Parser, ValueEnum};
use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use memmap2::MmapRaw;
use multi_processing::{
    ScratchFile, Worker, connect_to_parent, exit_with_parent, quiet_if_hung_up,
};
use serde::{Deserialize, Serialize};
use shared::cli::Common;
use shared::report::{Table, build_note, ok_if_stdout_closed, out, print_json, thousands, times};

fn main() -> Result<()> {
    let args = Args::parse();
    if let (Some(role), Some(name), Some(memory), Some(lock)) =
        (args.worker, &args.connect, &args.memory, &args.lock)
    {
        exit_with_parent();
        return quiet_if_hung_up(run_child(role, name, memory, lock));
    }
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run_parent(&args))
}

fn run_parent(args: &Args) -> Result<()> {
    let mut out = out();
    let operations = args.operations;
    writeln!(
        out,
        "Two processes withdraw 1 and deposit 1, {} each, from a balance of 100 in shared \
         memory; {} of each variant.",
        times(operations.into()),
        if args.runs == 1 { "1 run".into() } else { format!("{} runs", args.runs) }
    )?;
    writeln!(out, "({})\n", build_note())?;
    let mut memory = ScratchFile::new("bank-balance-", 2 * size_of::<AtomicI64>() as u64)?;
    let mut lock = ScratchFile::new("bank-balance-lock-", 0)?;
    let map = MmapRaw::map_raw(memory.file())?;
    let [balance, ready] = slots(&map) else { bail!("the region should hold two numbers") };
    let files = [memory.path(), lock.path()].map(|path| path.display().to_string());
    let files = [format!("--memory={}", files[0]), format!("--lock={}", files[1])];
    let mut children = Vec::new();
    for role in ["withdraw", "deposit"] {
        let ends = Worker::start_connected::<(IpcSender<(Variant, u32)>, IpcReceiver<u64>)>(
            role,
            &files,
            |_| {},
        );
        children.push(ends.with_context(|| format!("starting the {role} process"))?);
    }
    // Both children have opened both files: their names can go.
    memory.unlink()?;
    lock.unlink()?;

    let mut outcomes = Vec::new();
    for variant in [Variant::Unsynchronized, Variant::Locked, Variant::Atomic] {
        let (mut balances, mut nanos) = (Vec::new(), 0);
        for _ in 0..args.runs {
            balance.store(100, Relaxed);
            ready.store(0, Relaxed);
            for (_, (runs, _)) in &children {
                runs.send((variant, operations))?;
            }
            for (_, (_, done)) in &children {
                nanos += done.recv().context("a child process ended in the middle of a run")?;
            }
            balances.push(balance.load(Relaxed));
        }
        // Each process timed its own operations, waits for the lock included: the mean of both.
        let ns_per_op = nanos as f64 / (2.0 * f64::from(operations) * f64::from(args.runs));
        outcomes.push(Outcome { variant, balances, ns_per_op });
    }
    for (worker, channels) in children {
        drop(channels); // No more runs: the child's `recv` fails, and it exits.
        let status = worker.wait()?;
        ensure!(status.success(), "a child process failed ({status})");
    }
    report(&mut out, args, &outcomes)
}

/// Two processes update one balance in shared memory, three ways.
#[derive(Debug, Parser)]
struct Args {
    /// Runs of each variant
    #[arg(long, value_name = "N≤1000", default_value = "10",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    runs: u32,
    /// Withdrawals (and deposits) in each run
    #[arg(long, value_name = "N≤10000000", default_value = "10000",
          value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    operations: u32,
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
#[allow(unsafe_code)] // This file and `shared-memory` alone may (see Cargo.toml).
fn slots(map: &MmapRaw) -> &[AtomicI64] {
    let len = map.len() / size_of::<AtomicI64>();
    // SAFETY: the mapping holds `len` × 8 bytes from a page boundary (so aligned, and any bits
    // are a valid `AtomicI64`); the slice borrows `map`, and no process shrinks the file while it
    // is mapped; every process touches these bytes only through atomics, which may race.
    unsafe { std::slice::from_raw_parts(map.as_ptr().cast::<AtomicI64>(), len) }
}

/// One run in a child: change the balance by `delta`, `operations` times, the `variant`
/// way. Returns the nanoseconds it took.
fn run_once(
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
                // The other process can change the balance between these two lines.
                let read = balance.load(Relaxed);
                balance.store(read + delta, Relaxed);
            }
            Variant::Locked => {
                // What makes the other process's last store visible here is the lock itself:
                // the kernel's own synchronisation in `flock`, and calls the compiler cannot
                // move memory accesses across. Rust's memory model alone says nothing of it.
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

/// A child: open and map the files, then do each run the parent asks for, until it hangs up.
fn run_child(role: Role, name: &str, memory: &Path, lock: &Path) -> Result<()> {
    let file = OpenOptions::new().read(true).write(true).open(memory)?;
    let map = MmapRaw::map_raw(&file)?;
    let [balance, ready] = slots(&map) else { bail!("the region should hold two numbers") };
    // This process's own handle on the lock file: only separate opens exclude each other.
    let lock = OpenOptions::new().read(true).write(true).open(lock)?;
    let (runs_sender, runs) = ipc::channel::<(Variant, u32)>()?;
    let (done, done_receiver) = ipc::channel::<u64>()?;
    connect_to_parent(name, (runs_sender, done_receiver))?;
    let delta = match role {
        Role::Withdraw => -1,
        Role::Deposit => 1,
    };
    while let Ok((variant, operations)) = runs.recv() {
        // Start together, or one process could finish before the other begins. If the other
        // never comes (it died), give up: our exit tells the parent, which must not hang.
        // (The parent's reset of `ready` before the run reaches us the way its reset of the
        // balance does: through the messages' system calls, as in the locked variant.)
        ready.fetch_add(1, AcqRel);
        let waiting = Instant::now();
        while ready.load(Acquire) < 2 {
            ensure!(waiting.elapsed() < Duration::from_secs(10), "the other process never came");
            std::thread::yield_now();
        }
        done.send(run_once(variant, balance, &lock, delta, operations)?)?;
    }
    Ok(()) // The parent dropped its sender: no more runs.
}

/// One variant's results: the balance after each run, and the time per operation.
struct Outcome {
    variant: Variant,
    balances: Vec<i64>,
    ns_per_op: f64,
}

fn report(out: &mut impl Write, args: &Args, outcomes: &[Outcome]) -> Result<()> {
    let mut table =
        Table::new(["variant", "balance after each run (should be 100)", "time per operation"]);
    for Outcome { variant, balances, ns_per_op } in outcomes {
        // Padded to one width, so that the runs line up in columns; at most 10 shown.
        let mut shown: Vec<String> = balances.iter().take(10).map(|b| format!("{b:>5}")).collect();
        if balances.len() > 10 {
            shown.push(format!("… ({} more)", balances.len() - 10));
        }
        let name = format!("{variant:?}").to_lowercase();
        table.row([name, shown.join(" "), format!("{ns_per_op:.0} ns")]);
    }
    write!(out, "{table}")?;

    let [unsynchronized, locked, atomic] = outcomes else { bail!("three variants") };
    let wrong: Vec<i64> = unsynchronized.balances.iter().copied().filter(|&b| b != 100).collect();
    let worst = wrong.iter().map(|b| (b - 100).unsigned_abs()).max().unwrap_or(0);
    writeln!(out)?;
    if wrong.is_empty() {
        writeln!(
            out,
            "No update was lost this time without a lock: the race needs the two processes to interleave. Try more --operations or --runs."
        )?;
    } else {
        writeln!(
            out,
            "Without a lock, {} of {} ended wrong (off by up to {}): while one process was \
             between its read and its write, the other wrote, and one of the two updates was lost.",
            wrong.len(),
            if args.runs == 1 { "1 run".into() } else { format!("{} runs", args.runs) },
            thousands(worst)
        )?;
    }
    if [locked, atomic].iter().all(|o| o.balances.iter().all(|&b| b == 100)) {
        writeln!(
            out,
            "The file lock and the atomic kept every run at 100; the atomic did it {:.0}× faster than locking a file for each operation.",
            locked.ns_per_op / atomic.ns_per_op
        )?;
    } else {
        writeln!(out, "Unexpected: a synchronised variant lost an update.")?;
    }
    if args.common.json {
        let mut json = serde_json::Map::new();
        let mut ns = serde_json::Map::new();
        for Outcome { variant, balances, ns_per_op } in outcomes {
            let name = format!("{variant:?}").to_lowercase();
            json.insert(name.clone(), balances.as_slice().into());
            ns.insert(name, (*ns_per_op).into());
        }
        json.insert("ns_per_op".into(), ns.into());
        print_json(&json)?;
    }
    Ok(())
}
