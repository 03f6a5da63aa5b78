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
//! A worker runs only the functions listed in `Job`: Python pickles a reference to any
//! function, but a function cannot travel between Rust processes, so the work is named in an
//! enum that both sides — the same binary — know.
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
//! Expected output (on 2 cores; the pool has a worker per core):
//!
//! ```text
//! A pool of 2 worker processes, each of which runs the initializer when it starts.
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
//! ```

#![forbid(unsafe_code)]

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::ops::Range;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use clap::Parser;
use ipc_channel::ipc::{self, IpcReceiver, IpcReceiverSet, IpcSelectionResult, IpcSender};
use multi_processing::{Worker, connect_to_parent, exit_with_parent, quiet_if_hung_up};
use serde::{Deserialize, Serialize};
use shared::cli::Common;
use shared::primes::{count_primes, split_balanced};
use shared::report::{
    Table, build_note, human_duration, load_average, ok_if_stdout_closed, out, print_json,
    thousands,
};

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
    #[arg(long, value_name = "N≤5", value_parser = clap::value_parser!(u64).range(1..=5))]
    crash_on: Option<u64>,
    /// Count the primes below N, on the pool and in one process
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

/// One input for a worker: `abort` makes it crash instead (`--crash-on`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Task {
    index: usize,
    job: Job,
    abort: bool,
    tries: u32,
}

/// A result, with who computed it and how often that process ran the initializer.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Done {
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
            // A crash: no unwinding, no goodbye message. (Where core dumps are on, this
            // writes one, as any abort does.)
            std::process::abort();
        }
        let output = match task.job {
            Job::Square(n) => n * n,
            Job::CountPrimes(range) => count_primes(range),
        };
        results.send(Done {
            output,
            pid: std::process::id(),
            initialized: INITIALIZED.load(Relaxed),
        })?;
    }
    Ok(()) // The pool dropped our task sender: retired, or the pool is closed.
}

/// A worker as the pool sees it: the process, where to send its tasks, what it is doing.
struct Slot {
    worker: Worker,
    tasks: IpcSender<Task>,
    done: u32,
    busy: Option<Task>,
}

struct Pool {
    /// The workers, by the id of their result channel in `results`.
    slots: HashMap<u64, Slot>,
    /// Every worker's result channel; a closed one means its worker has ended.
    results: IpcReceiverSet,
    max_tasks: Option<NonZeroU32>,
    retired: u32,
    /// What happened to each worker that died, in words.
    deaths: Vec<String>,
}

impl Pool {
    fn new(workers: u32, max_tasks: Option<NonZeroU32>) -> Result<Pool> {
        let results = IpcReceiverSet::new()?;
        let mut pool =
            Pool { slots: HashMap::new(), results, max_tasks, retired: 0, deaths: Vec::new() };
        for _ in 0..workers {
            pool.start_worker()?;
        }
        Ok(pool)
    }

    /// Starts a worker; returns the id of its result channel, its key in `slots`.
    fn start_worker(&mut self) -> Result<u64> {
        let (worker, (tasks, results)) =
            Worker::start_connected::<(IpcSender<Task>, IpcReceiver<Done>)>("worker", &[], |_| {})
                .context("starting a worker")?;
        let id = self.results.add(results)?;
        self.slots.insert(id, Slot { worker, tasks, done: 0, busy: None });
        Ok(id)
    }

    /// Ends worker `id` and starts a new one. Returns the new id, and the old worker's pid,
    /// task in flight and exit status.
    fn replace(&mut self, id: u64) -> Result<(u64, u32, Option<Task>, ExitStatus)> {
        let Slot { worker, tasks, busy, .. } = self.slots.remove(&id).context("no such worker")?;
        drop(tasks); // Its `recv` fails and a live worker exits; a dead one has ended already.
        let pid = worker.id();
        let status = worker.wait()?;
        Ok((self.start_worker()?, pid, busy, status))
    }

    /// Runs `jobs` on the workers; the results come back in the order of `jobs`.
    fn map(&mut self, jobs: Vec<Job>, abort_index: Option<usize>) -> Result<Vec<Done>> {
        let mut results: Vec<Option<Done>> = vec![None; jobs.len()];
        let mut todo: VecDeque<Task> = (jobs.into_iter().enumerate())
            .map(|(index, job)| Task { index, job, abort: Some(index) == abort_index, tries: 0 })
            .collect();
        let mut left = results.len();
        while left > 0 {
            // One task in flight per worker, so sends never pile up in a channel.
            let idle: Vec<u64> =
                self.slots.iter().filter(|(_, s)| s.busy.is_none()).map(|(&id, _)| id).collect();
            for mut id in idle {
                let Some(task) = todo.pop_front() else { break };
                if self.max_tasks.is_some_and(|max| self.slots[&id].done >= max.get()) {
                    // Retired when it is needed again, not before.
                    let (new_id, pid, _, status) = self.replace(id)?;
                    if status.success() {
                        self.retired += 1;
                    } else {
                        // It died idle, before its closed channel was seen: a death after all.
                        self.deaths.push(format!("Worker {pid} {} while idle.", how(status)));
                    }
                    id = new_id;
                }
                let slot = self.slots.get_mut(&id).context("no such worker")?;
                if slot.tasks.send(task.clone()).is_err() {
                    // Dead or broken: make sure it is dead; its closed channel retries the task.
                    let _ = slot.worker.child().kill();
                }
                slot.busy = Some(task);
            }
            for event in self.results.select()? {
                match event {
                    IpcSelectionResult::MessageReceived(id, message) => {
                        let slot = self.slots.get_mut(&id).context("a result from nobody")?;
                        let task = slot.busy.take().context("a result for no task")?;
                        slot.done += 1;
                        results[task.index] = Some(message.to()?);
                        left -= 1;
                    }
                    IpcSelectionResult::ChannelClosed(id) => {
                        // A retired worker's channel closes too, but it has left `slots`.
                        if !self.slots.contains_key(&id) {
                            continue;
                        }
                        let (new_id, pid, busy, status) = self.replace(id)?;
                        let new_pid = self.slots[&new_id].worker.id();
                        let mut death =
                            format!("Worker {pid} {}. Started {new_pid} in its place", how(status));
                        if let Some(mut task) = busy {
                            let number = task.index + 1;
                            ensure!(
                                task.tries == 0,
                                "task {number} crashed two workers: giving up"
                            );
                            death += &format!(
                                "; task {number}, which it was running, goes first in the queue again"
                            );
                            (task.abort, task.tries) = (false, 1); // A one-off crash (`--crash-on`).
                            todo.push_front(task);
                        }
                        self.deaths.push(death + ".");
                    }
                }
            }
        }
        Ok(results.into_iter().map(|done| done.expect("every task is done")).collect())
    }

    /// Lets every worker finish and exit (Python's `close()` and `join()`).
    fn close(self) -> Result<()> {
        // Every task sender first, so that all workers end at once: their `recv` fails.
        let workers: Vec<Worker> = self.slots.into_values().map(|slot| slot.worker).collect();
        for worker in workers {
            let status = worker.wait()?;
            ensure!(status.success(), "a worker failed as it ended ({status})");
        }
        Ok(())
    }
}

/// The `--json` output.
#[derive(Debug, Serialize)]
struct Summary {
    workers: u32,
    squares: Vec<u64>,
    pids: Vec<u32>,
    tasks: usize,
    primes: u64,
    results_ok: bool,
    replaced: usize,
    retired: u32,
    sequential_s: f64,
    parallel_s: f64,
    speedup: f64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let (Some(_), Some(name)) = (&args.worker, &args.connect) {
        exit_with_parent();
        return quiet_if_hung_up(run_worker(name));
    }
    // A reader who closes stdout (`| head`) ends the run quietly; see `shared::report::out`.
    ok_if_stdout_closed(run_parent(&args))
}

fn run_parent(args: &Args) -> Result<()> {
    let mut out = out();
    let cores = std::thread::available_parallelism().map_or(2, NonZeroUsize::get);
    let workers = args.workers.unwrap_or(cores.min(64) as u32);
    let load = load_average(); // Before we add to it.
    let plural =
        |n: usize, what: &str| if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") };
    let retirements = |n: u32| match args.max_tasks_per_child {
        Some(max) if n > 0 => format!(
            "{} retired after {} and replaced.\n",
            if n == 1 { "1 worker was".into() } else { format!("{n} workers were") },
            plural(max.get() as usize, "task")
        ),
        _ => String::new(),
    };
    let mut pool = Pool::new(workers, args.max_tasks_per_child)?;
    let processes = match workers {
        1 => "1 worker process, which runs".to_string(),
        n => format!("{n} worker processes, each of which runs"),
    };
    writeln!(out, "A pool of {processes} the initializer when it starts.\n")?;

    let inputs: Vec<u64> = (1..=5).collect();
    let crash_index = args.crash_on.map(|n| n as usize - 1);
    let squares = pool.map(inputs.iter().map(|&n| Job::Square(n)).collect(), crash_index)?;
    writeln!(out, "map(square, 1..=5):")?;
    let mut table = Table::new(["input", "square", "worker pid"]);
    for (n, done) in inputs.iter().zip(&squares) {
        table.row([n.to_string(), done.output.to_string(), done.pid.to_string()]);
    }
    write!(out, "{table}")?;
    for death in &pool.deaths {
        writeln!(out, "{death}")?;
    }
    write!(out, "{}", retirements(pool.retired))?;
    let squares_ok =
        squares.iter().zip(&inputs).all(|(d, n)| d.output == n * n && d.initialized == 1);
    if squares_ok {
        writeln!(out, "Each result came from a worker whose initializer had run exactly once.")?;
    }
    let (mut replaced, mut retired) = (pool.deaths.len(), pool.retired);
    pool.close()?;

    // The CPU-bound comparison, on a new pool whose start-up counts in its time.
    let limit = args.limit.get();
    let ranges = split_balanced(0..limit, (8 * workers as usize).min(limit as usize));
    let tasks = plural(ranges.len(), "task");
    writeln!(
        out,
        "\nCounting the primes below {} in {tasks}: on a new pool, then in this process alone.",
        thousands(limit)
    )?;
    writeln!(out, "({})", build_note())?;
    let started = Instant::now();
    let mut pool = Pool::new(workers, args.max_tasks_per_child)?;
    let counts = pool.map(ranges.iter().cloned().map(Job::CountPrimes).collect(), None)?;
    let parallel_s = started.elapsed().as_secs_f64();
    for death in &pool.deaths {
        writeln!(out, "{death}")?;
    }
    write!(out, "{}", retirements(pool.retired))?;
    (replaced, retired) = (replaced + pool.deaths.len(), retired + pool.retired);
    pool.close()?;
    let started = Instant::now();
    let sequential: Vec<u64> = ranges.iter().map(|range| count_primes(range.clone())).collect();
    let sequential_s = started.elapsed().as_secs_f64();
    let counts_ok = counts.iter().map(|done| done.output).eq(sequential.iter().copied());
    ensure!(counts_ok, "the pool's counts differ from this process's, task by task");
    let speedup = sequential_s / parallel_s;
    let time = |s: f64| human_duration(std::time::Duration::from_secs_f64(s));
    let primes: u64 = sequential.iter().sum();
    writeln!(
        out,
        "Both found {} primes. The pool took {} (its start-up included); one process, {}. \
         Speedup: {speedup:.2}×.",
        thousands(primes),
        time(parallel_s),
        time(sequential_s)
    )?;
    if replaced > 0 {
        writeln!(
            out,
            "\nThe pools replaced {} that died and retried what was lost: every result came back.",
            plural(replaced, "worker")
        )?;
    }
    let ideal = workers.min(cores as u32);
    let speed = if sequential_s < 0.05 {
        "The prime count was too small to gain from processes: try a larger --limit.".to_string()
    } else if ideal == 1 {
        "With one worker (or one core) there is nothing to run in parallel.".to_string()
    } else if speedup >= 0.85 * f64::from(ideal) {
        format!("Separate processes ran in parallel, close to the ideal {ideal}× on {cores} cores.")
    } else if parallel_s < 0.1 {
        format!(
            "Short of the ideal {ideal}×: on a job this short, starting the workers and passing the tasks are a real share of the time."
        )
    } else if pool_started_often(args, ranges.len()) {
        format!(
            "Short of the ideal {ideal}×: --max-tasks-per-child made the pool start a process every few tasks, ~1 ms each."
        )
    } else if let Some(load) = load.filter(|&load| cores as f64 - load < f64::from(ideal) - 0.5) {
        format!(
            "Short of the ideal {ideal}×: the load average before the run was {load:.2} on {cores} cores."
        )
    } else {
        format!(
            "Short of the ideal {ideal}× on {cores} cores: the median of a few runs is what counts."
        )
    };
    writeln!(out, "\n{speed}")?;
    if args.common.json {
        let (pids, squares) = squares.iter().map(|d| (d.pid, d.output)).unzip();
        let (tasks, results_ok) = (ranges.len(), squares_ok);
        print_json(&Summary {
            workers,
            squares,
            pids,
            tasks,
            primes,
            results_ok,
            replaced,
            retired,
            sequential_s,
            parallel_s,
            speedup,
        })?;
    }
    Ok(())
}

/// How a dead worker ended, in words.
fn how(status: ExitStatus) -> String {
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        let name = match signal {
            6 => " (SIGABRT: an abort)",
            9 => " (SIGKILL)",
            11 => " (SIGSEGV: a bad memory access)",
            15 => " (SIGTERM)",
            _ => "",
        };
        return format!("was killed by signal {signal}{name}");
    }
    format!("ended ({status})")
}

/// Whether `--max-tasks-per-child` made the pool start many workers for `tasks` tasks.
fn pool_started_often(args: &Args, tasks: usize) -> bool {
    args.max_tasks_per_child.is_some_and(|max| (max.get() as usize) < tasks / 2)
}
