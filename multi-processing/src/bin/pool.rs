//! A process pool: `map` over inputs on a few long-lived worker processes, results in input
//! order — and a worker that dies is replaced, its task retried, instead of hanging the pool.
//!
//! The pool starts its workers once (each runs an *initializer* first, as Python's
//! `Pool(initializer=…)` does) and reuses them: starting a process costs about a millisecond,
//! so a pool that started one per task would spend its time starting processes. Each worker
//! holds at most one task at a time and has its own result channel; the parent waits on all
//! of them at once with an `IpcReceiverSet`, which also reports a channel whose process died.
//! Then the pool reaps the dead worker, starts a replacement, and retries the lost task once.
//! (`multiprocessing.Pool` can hang forever when a worker dies; `concurrent.futures` gives up
//! with `BrokenProcessPool`.) `--max-tasks-per-child` retires a worker after that many tasks.
//!
//! The demo maps `square` over 1..=5, with the pid that computed each; then the pool counts
//! primes (the `workers` workload) against one process doing it all.
//!
//! Mirrors: `pool.py` (`Pool().map(square, …)` with worker pids, an initializer and
//! `maxtasksperchild`) of the Python original.
//!
//! Run with:
//!
//! ```text
//! cargo run -p multi-processing --bin pool
//! cargo run -p multi-processing --bin pool -- --crash-on 3 --max-tasks-per-child 2
//! ```
//!
//! Expected output:
//!
//! ```text
//! A pool of 2 worker processes; each ran the initializer once.
//!
//! map(square, 1..=5):
//! input  square  worker pid
//! -----  ------  ----------
//! ```
//!
//! Then rows like these (an excerpt: pids and the order of workers vary):
//!
//! ```text
//!     1       1       61204
//!     2       4       61205
//!     3       9       61204
//!     4      16       61205
//!     5      25       61204
//! ```

#![forbid(unsafe_code)]

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::ops::Range;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use clap::Parser;
use ipc_channel::ipc::{self, IpcReceiver, IpcReceiverSet, IpcSelectionResult, IpcSender};
use multi_processing::{Worker, connect_to_parent, exit_with_parent};
use serde::{Deserialize, Serialize};
use shared::cli::Common;
use shared::primes::{count_primes, split_balanced};
use shared::report::{Table, human_duration, ok_if_stdout_closed, out, print_json, thousands};

/// Map a function over inputs on a pool of worker processes.
#[derive(Debug, Parser)]
struct Args {
    /// Worker processes [default: the number of cores]
    #[arg(long, value_name = "N≤64", value_parser = clap::value_parser!(u32).range(1..=64))]
    workers: Option<u32>,
    /// Replace a worker after it has run this many tasks [default: never]
    #[arg(long, value_name = "N≥1")]
    max_tasks_per_child: Option<NonZeroU32>,
    /// In the demo, the worker that gets input N aborts (the first time): watch the pool recover
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=5))]
    crash_on: Option<u64>,
    /// Count the primes below N, sequentially and on the pool
    #[arg(long, value_name = "N≥1", default_value = "10000000")]
    limit: NonZeroU64,
    #[command(flatten)]
    common: Common,
    /// Internal: run as a worker (the parent passes it)
    #[arg(long, hide = true, requires = "connect")]
    worker: Option<String>,
    /// Internal: the parent's one-shot server
    #[arg(long, hide = true)]
    connect: Option<String>,
}

/// The functions a worker can run.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Job {
    Square(u64),
    CountPrimes(Range<u64>),
}

/// One input for a worker; `abort` makes it crash instead (`--crash-on`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Task {
    index: usize,
    job: Job,
    abort: bool,
}

/// A result, with who computed it and how often that process ran the initializer.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Done {
    index: usize,
    output: u64,
    pid: u32,
    initialized: u32,
}

/// How many times the initializer ran in this process: 1 in every worker.
static INITIALIZED: AtomicU32 = AtomicU32::new(0);

/// Runs once when a worker starts: the place for expensive per-process setup (open a
/// connection, load a model) that every task then reuses.
fn initializer() {
    INITIALIZED.fetch_add(1, Relaxed);
}

/// A worker process: run the initializer, connect, then run tasks until the pool hangs up.
fn run_worker(name: &str) -> Result<()> {
    initializer();
    let (task_sender, tasks) = ipc::channel::<Task>()?;
    let (results, results_receiver) = ipc::channel::<Done>()?;
    connect_to_parent(name, (task_sender, results_receiver))?;
    while let Ok(task) = tasks.recv() {
        if task.abort {
            std::process::abort(); // A crash: no unwinding, no goodbye message.
        }
        let output = match task.job {
            Job::Square(n) => n * n,
            Job::CountPrimes(range) => count_primes(range),
        };
        let (index, pid, initialized) = (task.index, std::process::id(), INITIALIZED.load(Relaxed));
        results.send(Done { index, output, pid, initialized })?;
    }
    Ok(()) // The pool dropped our task sender: retired, or the map is over.
}

/// A worker as the pool sees it: the process, where to send tasks, what it is doing.
struct Slot {
    worker: Worker,
    tasks: IpcSender<Task>,
    done: u32,
    /// The task in flight and how many times it was tried before.
    busy: Option<(Task, u32)>,
}

struct Pool {
    slots: Vec<Slot>,
    /// Every worker's result channel; a closed one means its worker has ended.
    results: IpcReceiverSet,
    /// Which slot each result channel (by its id in `results`) belongs to.
    owner: HashMap<u64, usize>,
    max_tasks: Option<NonZeroU32>,
    started: u32,
    replaced: u32,
    retired: u32,
    /// What happened to crashed workers, in words.
    events: Vec<String>,
}

impl Pool {
    fn new(workers: u32, max_tasks: Option<NonZeroU32>) -> Result<Pool> {
        let mut pool = Pool {
            slots: Vec::new(),
            results: IpcReceiverSet::new()?,
            owner: HashMap::new(),
            max_tasks,
            started: 0,
            replaced: 0,
            retired: 0,
            events: Vec::new(),
        };
        for at in 0..workers as usize {
            let slot = pool.start_worker(at)?;
            pool.slots.push(slot);
        }
        Ok(pool)
    }

    /// Starts a worker for slot `at`; its result channel joins the set.
    fn start_worker(&mut self, at: usize) -> Result<Slot> {
        let (worker, (tasks, results)) =
            Worker::start_connected::<(IpcSender<Task>, IpcReceiver<Done>)>("worker", &[], |_| {})
                .context("starting a worker")?;
        let id = self.results.add(results)?;
        self.owner.insert(id, at);
        self.started += 1;
        Ok(Slot { worker, tasks, done: 0, busy: None })
    }

    /// Replaces the worker in slot `at` with a new one, and returns the old one.
    fn replace(&mut self, at: usize) -> Result<Slot> {
        let new = self.start_worker(at)?;
        Ok(std::mem::replace(&mut self.slots[at], new))
    }

    /// Runs `jobs` on the workers; the results come back in the order of `jobs`.
    fn map(&mut self, jobs: Vec<Job>, abort_index: Option<usize>) -> Result<Vec<Done>> {
        let mut results: Vec<Option<Done>> = vec![None; jobs.len()];
        let mut todo: VecDeque<(Task, u32)> = jobs
            .into_iter()
            .enumerate()
            .map(|(index, job)| (Task { index, job, abort: Some(index) == abort_index }, 0))
            .collect();
        let mut left = results.len();
        while left > 0 {
            // One task in flight per worker: sends never pile up in a pipe.
            for slot in self.slots.iter_mut().filter(|slot| slot.busy.is_none()) {
                let Some((task, tries)) = todo.pop_front() else { break };
                // A failed send means the worker has died: its closed channel, below, retries it.
                let _ = slot.tasks.send(task.clone());
                slot.busy = Some((task, tries));
            }
            for event in self.results.select()? {
                match event {
                    IpcSelectionResult::MessageReceived(id, message) => {
                        let done: Done = message.to()?;
                        let at = self.owner[&id];
                        let slot = &mut self.slots[at];
                        (slot.busy, slot.done) = (None, slot.done + 1);
                        let index = done.index;
                        results[index] = Some(done);
                        left -= 1;
                        if self.max_tasks.is_some_and(|max| slot.done >= max.get()) {
                            self.owner.remove(&id); // Its channel's end is expected now.
                            let old = self.replace(at)?;
                            drop(old.tasks); // The worker's `recv` fails, and it exits.
                            old.worker.wait()?;
                            self.retired += 1;
                        }
                    }
                    IpcSelectionResult::ChannelClosed(id) => {
                        // A retired worker's channel closes too; only unknown ends are deaths.
                        let Some(at) = self.owner.remove(&id) else { continue };
                        let old = self.replace(at)?;
                        let (pid, new_pid) = (old.worker.id(), self.slots[at].worker.id());
                        let status = old.worker.wait()?;
                        self.replaced += 1;
                        let mut event = format!("Worker {pid} died ({status}); started {new_pid}");
                        if let Some((mut task, tries)) = old.busy {
                            let number = task.index + 1;
                            ensure!(tries == 0, "task {number} crashed two workers: giving up");
                            event += &format!(
                                " in its place; task {number}, which it was running, goes first in the queue again"
                            );
                            task.abort = false; // The crash was a one-off (see `--crash-on`).
                            todo.push_front((task, tries + 1));
                        }
                        self.events.push(event + ".");
                    }
                }
            }
        }
        Ok(results.into_iter().map(|done| done.expect("every task is done")).collect())
    }
}

/// The `--json` output.
#[derive(Debug, Serialize)]
struct Summary {
    workers: u32,
    squares: Vec<u64>,
    pids: Vec<u32>,
    tasks: usize,
    results_ok: bool,
    replaced: u32,
    retired: u32,
    sequential_s: f64,
    parallel_s: f64,
    speedup: f64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let (Some(_), Some(name)) = (&args.worker, &args.connect) {
        exit_with_parent();
        return run_worker(name);
    }
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run_parent(&args))
}

fn run_parent(args: &Args) -> Result<()> {
    let mut out = out();
    let cores = std::thread::available_parallelism().map_or(2, NonZeroUsize::get);
    let workers = args.workers.unwrap_or(cores.min(64) as u32);
    let mut pool = Pool::new(workers, args.max_tasks_per_child)?;
    writeln!(out, "A pool of {workers} worker processes; each ran the initializer once.\n")?;

    let inputs: Vec<u64> = (1..=5).collect();
    let crash_index = args.crash_on.and_then(|n| inputs.iter().position(|&i| i == n));
    let squares = pool.map(inputs.iter().map(|&n| Job::Square(n)).collect(), crash_index)?;
    writeln!(out, "map(square, 1..=5):")?;
    let mut table = Table::new(["input", "square", "worker pid"]);
    for (n, done) in inputs.iter().zip(&squares) {
        table.row([n.to_string(), done.output.to_string(), done.pid.to_string()]);
    }
    write!(out, "{table}")?;
    for event in &pool.events {
        writeln!(out, "{event}")?;
    }
    let squares_ok =
        squares.iter().zip(&inputs).all(|(d, n)| d.output == n * n && d.initialized == 1);
    let (replaced, mut retired) = (pool.replaced, pool.retired);
    drop(pool); // Each worker is killed and reaped by its `Worker` guard.

    // The CPU-bound comparison, on a fresh pool whose start-up counts in its time.
    let limit = args.limit.get();
    let ranges = split_balanced(0..limit, (8 * workers as usize).min(limit as usize));
    writeln!(
        out,
        "\nCounting the primes below {} in {} tasks: on a new pool of {workers}, then in this process alone.",
        thousands(limit),
        ranges.len()
    )?;
    let started = Instant::now();
    let mut pool = Pool::new(workers, args.max_tasks_per_child)?;
    let counts = pool.map(ranges.iter().cloned().map(Job::CountPrimes).collect(), None)?;
    let parallel_s = started.elapsed().as_secs_f64();
    retired += pool.retired;
    drop(pool);
    let started = Instant::now();
    let sequential: u64 = ranges.iter().map(|range| count_primes(range.clone())).sum();
    let sequential_s = started.elapsed().as_secs_f64();
    let parallel: u64 = counts.iter().map(|done| done.output).sum();
    ensure!(parallel == sequential, "the pool counted {parallel} primes, one process {sequential}");
    let speedup = sequential_s / parallel_s;
    let time = |s: f64| human_duration(std::time::Duration::from_secs_f64(s));
    writeln!(
        out,
        "the pool: {} (its start-up included); one process: {}. Speedup: {speedup:.2}×.",
        time(parallel_s),
        time(sequential_s)
    )?;
    if retired > 0 {
        writeln!(
            out,
            "{retired} workers were retired after {} tasks and replaced.",
            args.max_tasks_per_child.map_or(0, NonZeroU32::get)
        )?;
    }
    writeln!(out, "\n{}", verdict(squares_ok, replaced, speedup, workers, cores, sequential_s))?;
    if args.common.json {
        print_json(&Summary {
            workers,
            squares: squares.iter().map(|d| d.output).collect(),
            pids: squares.iter().map(|d| d.pid).collect(),
            tasks: ranges.len(),
            results_ok: squares_ok,
            replaced,
            retired,
            sequential_s,
            parallel_s,
            speedup,
        })?;
    }
    Ok(())
}

/// The closing sentence: what the run showed.
fn verdict(
    ok: bool,
    replaced: u32,
    speedup: f64,
    workers: u32,
    cores: usize,
    sequential_s: f64,
) -> String {
    if !ok {
        return "Unexpected: a result is missing or wrong.".into();
    }
    let recovery = match replaced {
        0 => String::new(),
        1 => "A crashed worker was replaced and its task retried: every result came back. ".into(),
        n => format!(
            "{n} crashed workers were replaced and their tasks retried: all results came back. "
        ),
    };
    let ideal = workers.min(cores as u32);
    let speed = if sequential_s < 0.05 {
        "The prime count was too small to gain from processes: try a larger --limit.".to_string()
    } else if ideal == 1 {
        "With one worker (or one core) there is nothing to run in parallel.".to_string()
    } else if speedup >= 0.85 * f64::from(ideal) {
        format!("Separate processes ran in parallel, close to the ideal {ideal}× on {cores} cores.")
    } else {
        format!("The speedup is short of the ideal {ideal}× ({cores} cores): is the machine busy?")
    };
    recovery + &speed
}
