//! Memory really shared between processes: the parent and a child map the same file, and what
//! one writes there, the other reads. No message carries the data.
//!
//! The parent maps a small file (in `/dev/shm` on Linux: memory, not disk); the child maps the
//! same file. It holds a *value* and an *array*, like Python's `Value` and `Array`. The parent
//! writes numbers into the array and says "go"; the child squares them in place, writes their
//! sum into the value and says "done". The messages carry no data: they say when to look.
//!
//! Every slot is an `AtomicU64` (the library's `SharedMemory`, the chapter's one `unsafe`
//! step): another process may write those bytes at any moment, and atomics are the type that
//! two parties may read and write at once, lock-free, so across processes too.
//!
//! Mirrors: `Multiprocessing.md` (`Value` and `Array`) of the Python original.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-processing --bin shared-memory
//! cargo run -p multi-processing --bin shared-memory -- 10 20 30
//! ```
//!
//! Expected output (the pid varies):
//!
//! ```text
//! The parent maps a file of 48 bytes in /dev/shm: a value, then an array of 5 numbers.
//! The child (pid 4242) mapped the same file; the parent then removed the file's name.
//!
//! The parent wrote into the array: [1, 2, 3, 4, 5]
//! The child squared them in place: [1, 4, 9, 16, 25]
//! The child put their sum in the value: 55
//! ```

use std::io::Write;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use anyhow::{Context, Result};
use clap::Parser;
use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use multi_processing::reports::{SharedMemoryRead, shared_memory, shared_memory_mapped};
use multi_processing::{ChildRole, ScratchFile, SharedMemory, Worker, connect_to_parent};
use multi_processing::{exit_with_parent, quiet_if_hung_up};
use shared::cli::Common;
use shared::report::{MainResult, ok_if_stdout_closed, out};

fn main() -> MainResult {
    let args = Args::parse();
    if args.child.is("child") {
        // Its flags first: a missing one is a usage error, whatever the state of the lifeline.
        let (connect, file) = (args.child.connect(), args.child.file());
        exit_with_parent();
        return Ok(quiet_if_hung_up(run_child(connect, file))?);
    }
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run_parent(&args))
}

/// What the parent puts in the value to say "the array is written" (never a sum of squares).
const GO: u64 = u64::MAX;

/// The child: map the file, say so, then square the array in place when told to.
fn run_child(connect: &str, path: &std::path::Path) -> Result<()> {
    let file = std::fs::OpenOptions::new().read(true).write(true).open(path)?;
    let map = SharedMemory::map(&file)?;
    let (value, array) = map.atomics::<AtomicU64>().split_first().context("an empty region")?;
    let (go_sender, go) = ipc::channel::<()>()?;
    let (done, done_receiver) = ipc::channel::<()>()?;
    connect_to_parent(connect, (go_sender, done_receiver))?;
    go.recv()?;
    // The message says when to look; the Acquire load that sees the parent's Release store
    // of GO is what guarantees, by Rust's rules, that the numbers written before it are seen.
    // (Rust's memory model knows nothing of other processes' messages. The loop ends at once.)
    while value.load(Acquire) != GO {
        std::hint::spin_loop();
    }
    let mut sum = 0;
    for slot in array {
        let square = slot.load(Relaxed).pow(2);
        slot.store(square, Relaxed);
        sum += square;
    }
    value.store(sum, Release); // Publishes the squares along with the sum.
    done.send(())?;
    Ok(())
}

fn run_parent(args: &Args) -> Result<()> {
    let mut out = out();
    let bytes = (1 + args.numbers.len()) * size_of::<AtomicU64>();
    let mut file = ScratchFile::new("shared-memory-", bytes as u64)?;
    let map = SharedMemory::map(file.file())?;
    let (value, array) = map.atomics::<AtomicU64>().split_first().context("an empty region")?;
    shared_memory_mapped(bytes, file.path(), array.len())?;

    let path = format!("--file={}", file.path().display());
    let (child, (go, done)) =
        Worker::start_connected::<(IpcSender<()>, IpcReceiver<()>)>("child", &[path], |_| {})
            .context("starting the child")?;
    // The child has the file open and mapped (it said so by connecting): the name can go. The
    // memory stays until both processes have unmapped it, and nothing is left behind.
    file.unlink()?;
    writeln!(
        out,
        "The child (pid {}) mapped the same file; the parent then removed the file's name.\n",
        child.id()
    )?;

    for (slot, &n) in array.iter().zip(&args.numbers) {
        slot.store(n.into(), Relaxed);
    }
    value.store(GO, Release); // Publishes the numbers: see the child.
    writeln!(out, "The parent wrote into the array: {:?}", args.numbers)?;
    go.send(())?;
    done.recv().context("the child ended without answering")?;
    let child_pid = child.id();
    child.finish("the child")?;

    // Pairs with the child's Release: once the sum is seen, so are the squares. (The loop
    // ends at once: "done" came after the store.)
    let sum = loop {
        match value.load(Acquire) {
            GO => std::hint::spin_loop(),
            sum => break sum,
        }
    };
    let squares: Vec<u64> = array.iter().map(|slot| slot.load(Relaxed)).collect();
    let read = SharedMemoryRead { numbers: &args.numbers, squares: &squares, sum, child_pid };
    shared_memory(&read, args.common.json)
}

/// A child squares numbers in memory it shares with the parent.
#[derive(Debug, Parser)]
struct Args {
    /// Numbers to square (at most 1,000,000 each, at most 1,000 of them)
    #[arg(value_name = "N≤1000000", default_values_t = [1, 2, 3, 4, 5], num_args = 1..=1000,
          value_parser = shared::cli::whole::<u32>(0..=1_000_000))]
    numbers: Vec<u32>,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    child: ChildRole,
}
