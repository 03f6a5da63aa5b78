//! Memory really shared between processes: the parent and a child map the same file, and what
//! one writes there, the other reads. No message carries the data.
//!
//! The parent creates a small file (mode 0600, in `/dev/shm` on Linux: memory, not disk) and
//! maps it; the child opens the same file by name and maps it too. The region holds a *value*
//! and an *array*, like Python's `multiprocessing.Value` and `Array`. The parent writes the
//! numbers into the array and tells the child "go"; the child squares them in place, writes
//! their sum into the value and answers "done"; the parent reads both. The two messages carry
//! no data: they only say when to look.
//!
//! Every slot of the region is an `AtomicU64`: another process may write those bytes at any
//! moment, and atomics are the Rust type that two parties may read and write at once (and
//! they are lock-free, so they work across processes too). Turning the mapping's raw pointer
//! into `&[AtomicU64]` is the one `unsafe` step of this file.
//!
//! Mirrors: `Multiprocessing.md` (`Value` and `Array`: a child writes squares into a shared
//! array and their sum into a shared value) of the Python original.
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

use anyhow::{Context, Result, ensure};
use clap::Parser;
use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use memmap2::MmapRaw;
use multi_processing::{
    ScratchFile, Worker, connect_to_parent, exit_with_parent, quiet_if_hung_up,
};
use shared::cli::Common;
use shared::report::{ok_if_stdout_closed, out, print_json};

fn main() -> Result<()> {
    let args = Args::parse();
    if let (Some(_), Some(name), Some(path)) = (&args.worker, &args.connect, &args.file) {
        exit_with_parent();
        return quiet_if_hung_up(run_child(name, path));
    }
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run_parent(&args))
}

fn run_parent(args: &Args) -> Result<()> {
    let mut out = out();
    let bytes = (1 + args.numbers.len()) * size_of::<AtomicU64>();
    let mut file = ScratchFile::new("shared-memory-", bytes as u64)?;
    let map = MmapRaw::map_raw(file.file())?;
    let (value, array) = slots(&map).split_first().context("an empty region")?;
    let dir = file.path().parent().context("no directory")?.display().to_string();
    let numbers =
        if array.len() == 1 { "1 number".into() } else { format!("{} numbers", array.len()) };
    writeln!(
        out,
        "The parent maps a file of {bytes} bytes in {dir}: a value, then an array of {numbers}."
    )?;

    let path = format!("--file={}", file.path().display());
    let (child, (go, done)) =
        Worker::start_connected::<(IpcSender<()>, IpcReceiver<u32>)>("child", &[path], |_| {})
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
    let child_pid = done.recv().context("the child ended without answering")?;
    let status = child.wait()?;
    ensure!(status.success(), "the child failed ({status})");

    // Pairs with the child's Release: once the sum is seen, so are the squares. (The loop
    // ends at once: "done" came after the store.)
    let sum = loop {
        match value.load(Acquire) {
            GO => std::hint::spin_loop(),
            sum => break sum,
        }
    };
    let squares: Vec<u64> = array.iter().map(|slot| slot.load(Relaxed)).collect();
    writeln!(out, "The child squared them in place: {squares:?}")?;
    writeln!(out, "The child put their sum in the value: {sum}")?;
    let correct = squares.iter().zip(&args.numbers).all(|(s, &n)| *s == u64::from(n).pow(2))
        && sum == squares.iter().sum::<u64>();
    writeln!(
        out,
        "\n{}",
        if correct {
            "The numbers went to the child and the squares came back through the memory itself: \
             both processes mapped the same pages. The messages only said \"go\" and \"done\"."
        } else {
            "Unexpected: the parent does not see what the child should have written."
        }
    )?;
    if args.common.json {
        print_json(&Summary { child_pid, array: squares, value: sum, correct })?;
    }
    Ok(())
}

/// A child squares numbers in memory it shares with the parent.
#[derive(Debug, Parser)]
struct Args {
    /// Numbers to square (at most 1,000,000 each, at most 1,000 of them)
    #[arg(value_name = "N≤1000000", default_values_t = [1, 2, 3, 4, 5], num_args = 1..=1000,
          value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    numbers: Vec<u32>,
    #[command(flatten)]
    common: Common,
    /// Internal: run as the child (the parent passes it)
    #[arg(long, hide = true, requires_all = ["connect", "file"])]
    worker: Option<String>,
    /// Internal: the parent's one-shot server
    #[arg(long, hide = true)]
    connect: Option<String>,
    /// Internal: the file to map
    #[arg(long, hide = true)]
    file: Option<std::path::PathBuf>,
}

/// What the parent puts in the value to say "the array is written" (never a sum of squares).
const GO: u64 = u64::MAX;

/// The mapped region seen as atomics: the value first, then the array.
#[allow(unsafe_code)] // This file and `bank-balance` alone may (see Cargo.toml).
fn slots(map: &MmapRaw) -> &[AtomicU64] {
    let len = map.len() / size_of::<AtomicU64>();
    // SAFETY: the mapping holds `len` × 8 bytes from a page boundary (so aligned, and any bits
    // are a valid `AtomicU64`); the slice borrows `map`, and no process shrinks the file while it
    // is mapped; every process touches these bytes only through atomics, which may race.
    unsafe { std::slice::from_raw_parts(map.as_ptr().cast::<AtomicU64>(), len) }
}

/// The child: map the file, say so, then square the array in place when told to.
fn run_child(name: &str, path: &std::path::Path) -> Result<()> {
    let file = std::fs::OpenOptions::new().read(true).write(true).open(path)?;
    let map = MmapRaw::map_raw(&file)?;
    let (value, array) = slots(&map).split_first().context("an empty region")?;
    let (go_sender, go) = ipc::channel::<()>()?;
    let (done, done_receiver) = ipc::channel::<u32>()?;
    connect_to_parent(name, (go_sender, done_receiver))?;
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
    done.send(std::process::id())?;
    Ok(())
}

/// The `--json` output.
#[derive(Debug, serde::Serialize)]
struct Summary {
    child_pid: u32,
    array: Vec<u64>,
    value: u64,
    correct: bool,
}
