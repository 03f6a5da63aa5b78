//! What a binary prints once its lesson has run: the tables, the verdict and `--json`.
//!
//! One item per binary, named after it. They live here so that each binary reads as its
//! lesson (the Contributing rule in the root README): the binary hands over its figures as
//! named fields, and the words, columns and JSON fields are made here. A verdict that weighs
//! timings is a tested function (of `shared::report` where binaries share it); the others
//! state an exact result (every item, in order), which the chapter's tests check through
//! `--json`.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shared::cli::Trace;
use shared::primes::known_count;
use shared::report::{
    Overlap, ParallelRun, Table, build_note, first_few, human_duration, load_average, lost_updates,
    out, overlap, plural, print_json, speedup_table, speedup_verdict, stamp, thousands, times,
};
use shared::timeline::{Span, Timeline, extent, terminal_width};
use shared::waits::TimeScale;

use crate::cluster::Timed;
use crate::pool::{self, Pool};

/// `pool`'s report, filled in part by part; its figures are the `--json` output.
pub struct PoolReport {
    /// The machine's load before the run added to it.
    load: Option<f64>,
    /// What the workers did, for `--trace` (a few dozen spans).
    timeline: &'static Timeline,
    figures: PoolFigures,
}

/// The run's figures: the `--json` output.
#[derive(Debug, Default, Serialize)]
struct PoolFigures {
    workers: u32,
    squares: Vec<u64>,
    pids: Vec<u32>,
    tasks: usize,
    primes: u64,
    results_ok: bool,
    /// Workers that died, over both pools.
    replaced: usize,
    /// Workers retired after `--max-tasks-per-child` tasks, over both pools.
    retired: u32,
    sequential_s: f64,
    parallel_s: f64,
    speedup: f64,
}

impl PoolReport {
    /// Reads the machine's load, starts recording the workers' timeline, and says what runs.
    pub fn announce(workers: u32) -> Result<Self> {
        let (load, timeline) = (load_average(), pool::record_timeline());
        let processes = plural(workers.into(), "worker process");
        writeln!(out(), "A pool of {processes}; a worker runs the initializer when it starts.\n")?;
        let figures = PoolFigures { workers, ..PoolFigures::default() };
        Ok(PoolReport { load, timeline, figures })
    }

    /// Part 1: who computed each square (`squares[i]` came from process `pids[i]`), and
    /// whether every worker had run its initializer exactly once.
    pub fn squares(
        &mut self,
        squares: Vec<u64>,
        pids: Vec<u32>,
        initialized_once: bool,
    ) -> Result<()> {
        let mut table = Table::new(["input", "square", "worker pid"]);
        for ((n, square), pid) in (1..).zip(&squares).zip(&pids) {
            table.row([n.to_string(), square.to_string(), pid.to_string()]);
        }
        writeln!(out(), "{table}")?;
        let ok = initialized_once && (1..).zip(&squares).all(|(n, &square)| square == n * n);
        if ok {
            writeln!(
                out(),
                "Each result came from a worker whose initializer had run exactly once."
            )?;
        }
        (self.figures.results_ok, self.figures.squares, self.figures.pids) = (ok, squares, pids);
        Ok(())
    }

    /// Part 2: says what is about to be counted.
    pub fn announce_primes(&self, limit: u64, tasks: usize) -> Result<()> {
        let (below, tasks) = (thousands(limit), plural(tasks as u64, "task"));
        writeln!(
            out(),
            "\nCounting the primes below {below} in {tasks}: on a new pool, then alone."
        )?;
        writeln!(out(), "({})", build_note())?;
        Ok(())
    }

    /// Part 2: the speedup table, from each task's count and the two timings.
    pub fn primes(&mut self, counts: &[u64], took: PoolTimes) -> Result<()> {
        let run = &mut self.figures;
        (run.tasks, run.primes) = (counts.len(), counts.iter().sum());
        (run.sequential_s, run.parallel_s) = (took.alone.as_secs_f64(), took.pool.as_secs_f64());
        run.speedup = run.sequential_s / run.parallel_s;
        let table = [("one process", took.alone), ("the pool, start-up included", took.pool)];
        writeln!(out(), "{}Both found {} primes.", speedup_table(&table), thousands(run.primes))?;
        Ok(())
    }

    /// The workers that died, the verdict, `--trace` and `--json`.
    pub fn finish(self, max_tasks_per_child: Option<u32>, trace: &Trace, json: bool) -> Result<()> {
        let run = &self.figures;
        if let died @ 1.. = run.replaced {
            writeln!(out(), "\nWorkers that died, over both pools: {died}, each replaced.")?;
        }
        // `--max-tasks-per-child` below half the tasks makes the pool start a process every few.
        let restarts = max_tasks_per_child.filter(|&max| (max as usize) < run.tasks / 2);
        let known_cost = restarts.map(|_| "--max-tasks-per-child started many processes".into());
        let [alone, took] = [run.sequential_s, run.parallel_s].map(Duration::from_secs_f64);
        let workers = run.workers as usize;
        let parallel =
            ParallelRun { known_cost, ..ParallelRun::new(alone, took, workers, self.load) };
        writeln!(out(), "\n{}", speedup_verdict(&parallel, "worker processes"))?;
        trace.write(self.timeline)?;
        if json {
            print_json(run)?;
        }
        Ok(())
    }

    /// Says what happened to `pool`'s workers meanwhile (a crash, a replacement, a worker
    /// retired), and counts it.
    pub fn what_happened<J, R>(&mut self, pool: &Pool<J, R>) -> Result<()>
    where
        J: Clone + Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        write!(out(), "{}", pool.what_happened())?;
        self.figures.replaced += pool.deaths.len();
        self.figures.retired += pool.retired;
        Ok(())
    }
}

/// `pool`, part 2: the two timings.
pub struct PoolTimes {
    /// One process, counting every range in turn.
    pub alone: Duration,
    /// The pool, its start-up included.
    pub pool: Duration,
}

/// `shared-memory`: what the parent read back from the shared memory.
pub struct SharedMemoryRead<'a> {
    /// The numbers the parent wrote, and what it read back in their place.
    pub numbers: &'a [u32],
    pub squares: &'a [u64],
    /// The value the child wrote, and the child's pid, from its "done" message.
    pub sum: u64,
    pub child_pid: u32,
}

/// `shared-memory`: what the parent mapped: `bytes` of the file at `path`, a value then an
/// array of `numbers` slots.
pub fn shared_memory_mapped(bytes: usize, path: &std::path::Path, numbers: usize) -> Result<()> {
    let dir = path.parent().context("no directory")?.display();
    let numbers = plural(numbers as u64, "number");
    writeln!(
        out(),
        "The parent maps a file of {bytes} bytes in {dir}: a value, then an array of {numbers}."
    )?;
    Ok(())
}

/// `shared-memory`: the squares and the sum, whether they are right, and `--json`.
pub fn shared_memory(read: &SharedMemoryRead, json: bool) -> Result<()> {
    let SharedMemoryRead { numbers, squares, sum, child_pid } = *read;
    writeln!(out(), "The child squared them in place: {squares:?}")?;
    writeln!(out(), "The child put their sum in the value: {sum}")?;
    let correct = squares.iter().zip(numbers).all(|(s, &n)| *s == u64::from(n).pow(2))
        && sum == squares.iter().sum::<u64>();
    let verdict = if correct {
        THROUGH_THE_MEMORY
    } else {
        "Unexpected: the parent does not see what the child should have written."
    };
    writeln!(out(), "\n{verdict}")?;
    if json {
        print_json(&serde_json::json!({
            "child_pid": child_pid, "array": squares, "value": sum, "correct": correct,
        }))?;
    }
    Ok(())
}

/// What `shared-memory` shows when every square came back.
const THROUGH_THE_MEMORY: &str = "The numbers went to the child and the squares came back through the \
    memory itself: both processes mapped the same pages. The messages only said \"go\" and \"done\".";

/// `crash-isolation`: how a child ended, and what it wrote; `--json` reports each child so.
#[derive(Debug, Serialize)]
pub struct Ended {
    /// The child's role: `panics`, `aborts`, `hangs` or `works`.
    pub role: String,
    pub pid: u32,
    pub code: Option<i32>,
    pub how: String,
    /// The child's last words: a panic's message, or its first line on stderr.
    pub stderr: String,
    pub stdout: String,
}

/// `crash-isolation`: a child's last words on stderr: a panic's message (the line after
/// "… panicked at …"), or else its first line.
pub fn last_words(stderr: &str) -> String {
    let mut lines = stderr.lines();
    let last_words = match lines.position(|line| line.contains("panicked at")) {
        Some(_) => lines.next(),
        None => stderr.lines().next(),
    };
    last_words.unwrap_or("").to_string()
}

/// `crash-isolation`: what `join` returned for a thread that panics.
pub struct ThreadPanic {
    /// `join` returned an `Err`: the panic was caught.
    pub caught: bool,
    /// The panic's message, if it was a `&str`.
    pub message: Option<String>,
}

/// `crash-isolation`: says what the parent is about to do.
pub fn crash_isolation_plan(parent_pid: u32) -> Result<()> {
    writeln!(
        out(),
        "Parent (pid {parent_pid}) starts four children: one panics, one aborts, one hangs (the parent kills it), one works.\n"
    )?;
    Ok(())
}

/// `crash-isolation`: how each child ended, the healthy child's answer, the caught thread
/// panic (its message, if it panicked), and `--json`.
pub fn crash_isolation(
    parent_pid: u32,
    ended: &[Ended],
    thread_panic: &ThreadPanic,
    json: bool,
) -> Result<()> {
    let mut out = out();
    let mut table = Table::new(["child", "pid", "how it ended", "its stderr"]);
    for e in ended {
        table.row([e.role.clone(), e.pid.to_string(), e.how.clone(), e.stderr.clone()]);
    }
    writeln!(out, "{table}")?;
    let works = ended.iter().find(|e| e.role == "works").map_or("", |e| e.stdout.as_str());
    writeln!(out, "The healthy child computed 1 + 2 + … + 100 = {works}.")?;
    let crashed = ended.iter().filter(|e| e.code != Some(0)).count();
    let message = thread_panic.message.as_ref();
    writeln!(
        out,
        "\nThe parent (pid {parent_pid}) is still here: {crashed} children ended badly, each in its own process.\n\
         A panicking thread is caught at join() too ({}), but an abort in a thread would end the whole process.",
        message.map_or("though not this time".to_string(), |m| format!(
            "join() just returned the panic {m:?}"
        ))
    )?;
    if json {
        let caught = thread_panic.caught;
        print_json(&serde_json::json!({
            "parent_pid": parent_pid, "children": ended, "thread_panic_caught": caught,
        }))?;
    }
    Ok(())
}

/// `bank-balance`: says what is about to run.
pub fn bank_balance_plan(operations: u32, runs: u32) -> Result<()> {
    let (each, runs) = (times(operations.into()), plural(runs.into(), "run"));
    writeln!(out(), "Two processes withdraw 1 and deposit 1, {each} each, from a balance of 100")?;
    writeln!(out(), "in shared memory; {runs} of each variant.\n({})\n", build_note())?;
    Ok(())
}

/// `bank-balance`: one variant's results: the balance after each run, and the time per
/// operation.
pub struct Outcome {
    pub balances: Vec<i64>,
    pub ns_per_op: f64,
}

/// `bank-balance`: the table of the three variants (unsynchronized, locked, atomic, in that
/// order), the verdict, and `--json`.
pub fn bank_balance(outcomes: &[Outcome], json: bool) -> Result<()> {
    const NAMES: [&str; 3] = ["unsynchronized", "locked", "atomic"];
    let mut table =
        Table::new(["variant", "balance after each run (should be 100)", "time per operation"]);
    for (name, Outcome { balances, ns_per_op }) in NAMES.iter().zip(outcomes) {
        table.row([name.to_string(), first_few(balances, 10), format!("{ns_per_op:.0} ns")]);
    }
    let [racy, locked, atomic] = outcomes else { anyhow::bail!("three variants") };
    let exact = [locked, atomic].iter().all(|o| o.balances.iter().all(|&b| b == 100));
    let verdict = lost_updates(100, &racy.balances, exact, "processes", "the lock or the atomic");
    let faster = locked.ns_per_op / atomic.ns_per_op;
    writeln!(out(), "{table}\n{verdict}")?;
    writeln!(out(), "The atomic was {faster:.0}× faster than locking a file for each operation.")?;
    if json {
        let ns: BTreeMap<_, _> =
            NAMES.iter().zip(outcomes).map(|(n, o)| (n, o.ns_per_op)).collect();
        let [u, l, a] = [racy, locked, atomic].map(|o| &o.balances);
        print_json(
            &serde_json::json!({"unsynchronized": u, "locked": l, "atomic": a, "ns_per_op": ns}),
        )?;
    }
    Ok(())
}

/// `dataflow`: one configuration's run, as worker 0 saw it: a row of the table and of `--json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Row {
    pub config: String,
    pub workers: usize,
    pub processes: usize,
    pub primes: Option<u64>,
    pub connect_s: f64,
    pub compute_s: f64,
    pub speedup: f64,
}

impl Row {
    pub fn new(config: &str, processes: usize, run: Timed<Option<u64>>) -> Row {
        let (connect_s, compute_s) = (run.connecting.as_secs_f64(), run.computing.as_secs_f64());
        let (config, workers, primes) = (config.to_string(), run.workers, run.output);
        Row { config, workers, processes, primes, connect_s, compute_s, speedup: 1.0 }
    }
}

/// `dataflow`: the rows of its table, gathered configuration by configuration.
pub struct Dataflow {
    limit: u64,
    /// The load average before the first configuration added to it.
    load: Option<f64>,
    rows: Vec<Row>,
}

impl Dataflow {
    /// Takes the load average, then prints what the run counts.
    pub fn announce(limit: u64) -> Result<Self> {
        let load = load_average();
        let below = thousands(limit);
        writeln!(
            out(),
            "Counting the primes below {below} with timely dataflow. ({})",
            build_note()
        )?;
        Ok(Dataflow { limit, load, rows: Vec::new() })
    }

    /// A configuration run in this process.
    pub fn add(&mut self, config: &str, processes: usize, run: Timed<Option<u64>>) {
        self.rows.push(Row::new(config, processes, run));
    }

    /// A configuration run by other processes: the `--json` line its process 0 printed last.
    pub fn add_from_process_0(&mut self, config: &str, last_line: &str) -> Result<()> {
        let row: Row = serde_json::from_str(last_line).context("process 0's last line")?;
        self.rows.push(Row { config: config.into(), ..row });
        Ok(())
    }

    /// The table, the verdicts, the commands for two machines, and `--json`; an error if the
    /// rows disagree on the count, or it is not the known one.
    pub fn print(mut self, json: bool) -> Result<()> {
        let (limit, load) = (self.limit, self.load);
        let alone = self.rows[0].compute_s;
        self.rows.iter_mut().for_each(|row| row.speedup = alone / row.compute_s);
        let rows = &self.rows;
        let columns =
            ["configuration", "processes", "workers", "connecting", "computing", "speedup"];
        let mut table = Table::new(columns.into_iter().chain(["primes"]));
        let time = |s: f64| human_duration(Duration::from_secs_f64(s));
        for row in rows {
            let (processes, workers) = (row.processes.to_string(), row.workers.to_string());
            let (connecting, computing) = (time(row.connect_s), time(row.compute_s));
            let (speedup, primes) = (format!("{:.2}×", row.speedup), row.primes.map(thousands));
            let primes = primes.unwrap_or_default();
            table.row([
                &row.config,
                &processes,
                &workers,
                &connecting,
                &computing,
                &speedup,
                &primes,
            ]);
        }
        writeln!(out(), "\n{table}")?;
        let alone = Duration::from_secs_f64(alone);
        for row in &rows[1..] {
            let parallel =
                ParallelRun::new(alone, Duration::from_secs_f64(row.compute_s), row.workers, load);
            writeln!(out(), "{}: {}", row.config, speedup_verdict(&parallel, "timely workers"))?;
        }
        let took = time(rows.last().map_or(0.0, |row| row.connect_s));
        writeln!(
            out(),
            "Connecting the processes took {took} before any work (timely polls for its peers once a second):\na cost that threads in one process do not pay, and processes pay to reach other machines' cores."
        )?;
        let primes = rows[0].primes;
        ensure!(
            rows.iter().all(|row| row.primes == primes),
            "the configurations disagree: {rows:?}"
        );
        ensure!(known_count(limit).is_none_or(|known| primes == Some(known)), "a wrong count");
        let which = if rows.len() > 1 { "Every configuration" } else { "It" };
        let found = thousands(primes.unwrap_or(0));
        writeln!(out(), "\n{which} found {found} primes.{TWO_MACHINES}")?;
        if json {
            print_json(&serde_json::json!({ "limit": limit, "rows": rows }))?;
        }
        Ok(())
    }
}

/// What `dataflow` prints last: the same computation on two machines.
const TWO_MACHINES: &str = "
On two machines, each with a clone of this repository, write the same hostfile on both, one
HOST:PORT per process (a free port on each host), e.g. hosts.txt with the two lines
\"machine-a:2101\" and \"machine-b:2101\"; then run, in the clone
  on machine-a: cargo run -p multi-processing --bin dataflow -- --hostfile hosts.txt --process-index 0
  on machine-b: cargo run -p multi-processing --bin dataflow -- --hostfile hosts.txt --process-index 1
Process 0 prints the count; --workers N sets each one's worker threads (default: its cores).";

/// `dataflow`, as one process of a cluster: the count (on process 0), and `--json`'s row.
pub fn dataflow_one_process(
    limit: u64,
    processes: usize,
    run: Timed<Option<u64>>,
    json: bool,
) -> Result<()> {
    if let Some(primes) = run.output {
        writeln!(out(), "The primes below {}: {}.", thousands(limit), thousands(primes))?;
    }
    if json {
        print_json(&Row::new("one process of a cluster", processes, run))?;
    }
    Ok(())
}

/// `separate-memory`: what each process saw in its `RESULTS`.
pub struct SeparateMemory {
    /// The child's pid, and its RESULTS after its appends.
    pub child_pid: u32,
    pub child: Vec<u64>,
    /// The parent's RESULTS after the child, then after its own thread's appends.
    pub parent_after_child: Vec<u64>,
    pub parent_after_thread: Vec<u64>,
}

/// `separate-memory`: the three lists, whether the memories were separate, and `--json`.
pub fn separate_memory(saw: &SeparateMemory, json: bool) -> Result<()> {
    let SeparateMemory { child_pid, child, parent_after_child, parent_after_thread } = saw;
    let mut out = out();
    writeln!(out, "The child (pid {child_pid}) appended to its RESULTS and saw: {child:?}")?;
    writeln!(out, "The parent's RESULTS after the child:  {parent_after_child:?}")?;
    writeln!(out, "A thread appended to RESULTS; the parent now sees: {parent_after_thread:?}")?;
    let separate = parent_after_child.is_empty() && !child.is_empty();
    let shared = parent_after_thread == child;
    writeln!(
        out,
        "\n{}",
        if separate && shared {
            "The child changed its own RESULTS, in its own memory; the thread changed the \
             parent's, which it shares.\nBetween processes, data must be sent (a pipe, a channel) \
             or put in memory shared on purpose."
        } else {
            "Unexpected: the results do not show separate memories."
        }
    )?;
    if json {
        print_json(&serde_json::json!({
            "child": {"pid": child_pid, "results": child}, "parent_after_child": parent_after_child,
            "parent_after_thread": parent_after_thread,
        }))?;
    }
    Ok(())
}

/// `child-processes`: what a child reported: its operation (`square` or `cube`), its pid,
/// each number with its power, and its spans on the shared clock.
pub struct ChildWork<'a> {
    pub op: String,
    pub pid: u32,
    pub results: &'a [(u64, u64)],
    pub spans: &'a [Span],
}

/// `child-processes`: the parent's view of the run.
pub struct ChildProcesses {
    /// The work each child is given: its numbers × the wait per number.
    planned: Duration,
}

impl ChildProcesses {
    /// Says what the parent is about to start: each child works `seconds` (`--wait`) at
    /// `scale` (`--time-scale`) per number, for `numbers` numbers.
    pub fn announce(seconds: f64, scale: TimeScale, numbers: usize) -> Result<Self> {
        let wait = scale.secs(seconds);
        writeln!(
            out(),
            "Parent (pid {}) starts two children: copies of itself, in the worker role.\n\
             Each works {} per number ({seconds} s × time scale {scale}).\n",
            std::process::id(),
            human_duration(wait),
        )?;
        Ok(ChildProcesses { planned: wait * numbers as u32 })
    }

    /// Each child's results, the timeline, whether they overlapped in the `elapsed` the
    /// parent waited for both, and `--json`.
    pub fn report(
        &self,
        children: &[ChildWork],
        elapsed: Duration,
        trace: &Trace,
        json: bool,
    ) -> Result<()> {
        let mut out = out();
        let timeline = Timeline::new();
        for child in children {
            let exponent = if child.op == "square" { "²" } else { "³" };
            let results: Vec<String> =
                child.results.iter().map(|(n, v)| format!("{n}{exponent} = {v}")).collect();
            writeln!(out, "{} (pid {}): {}", child.op, child.pid, results.join(", "))?;
            timeline.extend(child.spans.iter().cloned());
        }
        writeln!(
            out,
            "\nTimeline (a row per child process, a box per number; one clock for all):"
        )?;
        writeln!(out, "{}", timeline.render_text(terminal_width()))?;
        trace.write(&timeline)?;
        // Judge from the spans the children measured, on the one clock: each child worked from
        // its first span's start to its last span's end. Did those two intervals share time?
        let [first, second] = children else { anyhow::bail!("two children") };
        let (square, cube) = (extent(first.spans), extent(second.spans));
        let figures = format!(
            "The children worked for {} and {}",
            human_duration(square.end - square.start),
            human_duration(cube.end - cube.start)
        );
        match overlap(self.planned, square, cube) {
            Overlap::Overlapped(shared) => writeln!(
                out,
                "{figures}, {} of it at the same time: two processes, running side by side.",
                human_duration(shared)
            )?,
            Overlap::OneAfterAnother => writeln!(out, "{figures}: one ran after the other.")?,
            Overlap::TooShortToTell => writeln!(
                out,
                "{figures}: too little to show whether they overlap (the waits were too short)."
            )?,
        }
        if json {
            let children: Vec<_> = (children.iter())
                .map(|c| serde_json::json!({"op": c.op, "pid": c.pid, "results": c.results, "spans": c.spans}))
                .collect();
            print_json(&serde_json::json!({
                "parent_pid": std::process::id(), "children": children,
                "elapsed_s": elapsed.as_secs_f64(),
            }))?;
        }
        Ok(())
    }
}

/// `pipe`: says what the child is about to send, `wait` apart.
pub fn pipe_plan(messages: usize, wait: Duration) -> Result<()> {
    writeln!(
        out(),
        "The child writes {} into a pipe, {} apart; the parent reads them as they come.\n",
        plural(messages as u64, "message"),
        human_duration(wait)
    )?;
    Ok(())
}

/// `pipe`: whether what the parent `received` is what the child `sent`, and `--json` (the
/// pipe ended with "END" after `elapsed`).
pub fn pipe_arrived(
    sent: &[String],
    received: &[String],
    elapsed: Duration,
    json: bool,
) -> Result<()> {
    let verdict = if received == sent && received.len() == 1 {
        "The message arrived as the child wrote it.".to_string()
    } else if received == sent {
        format!(
            "All {} arrived in order, as the child wrote them.",
            plural(received.len() as u64, "message")
        )
    } else {
        let same = received.iter().zip(sent).filter(|(got, sent)| got == sent).count();
        format!("Only {same} of {} arrived as sent.", plural(sent.len() as u64, "message"))
    };
    writeln!(
        out(),
        "\n{verdict} A pipe is a byte stream with two ends: the line breaks and the \"END\" are \
         the two programs' own agreement."
    )?;
    if json {
        print_json(&serde_json::json!({
            "received": received, "ended_with_end": true, "elapsed_s": elapsed.as_secs_f64(),
        }))?;
    }
    Ok(())
}

/// `process-ids`: says what the parent is about to start: a sleeper that works `wait`, and a
/// quitter that works half as long.
pub fn process_ids_plan(wait: Duration) -> Result<()> {
    writeln!(
        out(),
        "Parent pid {} starts two children: a sleeper ({:.2} s, then exit code 0) and a \
         quitter ({:.2} s, then exit code 7).\n",
        std::process::id(),
        wait.as_secs_f64(),
        (wait / 2).as_secs_f64()
    )?;
    Ok(())
}

/// `process-ids`: one child, as the parent saw it and as it said; `--json` reports each so.
#[derive(Debug, Serialize)]
pub struct ChildReport {
    /// `sleeper` or `quitter`.
    pub role: String,
    pub pid: u32,
    /// The child's own pid and its parent's, as the child said them.
    pub says_pid: u32,
    pub says_parent: String,
    /// Whether `try_wait` found it running before `wait`, and after.
    pub alive_before_wait: bool,
    pub alive_after_wait: bool,
    pub exit_code: Option<i32>,
}

/// `process-ids`: the table, whether the pids agree, what `wait` did, and `--json`.
pub fn process_ids(reports: &[ChildReport], json: bool) -> Result<()> {
    let parent_pid = std::process::id();
    let columns =
        ["child", "pid", "it says: pid, parent", "alive before wait", "after", "exit code"];
    let mut table = Table::new(columns);
    let yes_no = |alive: bool| if alive { "yes" } else { "no" }.to_string();
    for r in reports {
        let says = format!("{}, {}", r.says_pid, r.says_parent);
        let (before, after) = (yes_no(r.alive_before_wait), yes_no(r.alive_after_wait));
        let code = r.exit_code.map_or("none (killed by a signal)".into(), |c| c.to_string());
        table.row([r.role.clone(), r.pid.to_string(), says, before, after, code]);
    }
    writeln!(out(), "{table}")?;
    let agree =
        reports.iter().all(|r| r.says_pid == r.pid && r.says_parent == parent_pid.to_string());
    let agreed = match agree {
        true => "Each child's own pid and parent pid agree with the parent's view.",
        false => "A child saw another pid or parent than the parent expected.",
    };
    writeln!(out(), "{agreed}")?;
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
    writeln!(out(), "{before}, and {after}: `wait` (Python's join) returned each exit code.")?;
    if json {
        print_json(&serde_json::json!({ "parent_pid": parent_pid, "children": reports }))?;
    }
    Ok(())
}

/// `queue`: says what is about to run.
pub fn queue_plan(items: u32, wait: Duration) -> Result<()> {
    writeln!(
        out(),
        "A producer process sends {items} items, {} apart, to a consumer process, over an ipc-channel.\n",
        human_duration(wait)
    )?;
    Ok(())
}

/// `queue`: an item as the consumer got it: its number, when it was sent and when it
/// arrived (seconds on the parent's clock). The consumer sends the parent a list of them.
#[derive(Debug, Serialize, Deserialize)]
pub struct Arrival {
    pub n: u32,
    pub sent_s: f64,
    pub got_s: f64,
}

/// `queue`: when each of the `items` was sent and got, whether all arrived in order, and
/// `--json`.
pub fn queue(items: u32, received: &[Arrival], json: bool) -> Result<()> {
    for Arrival { n, sent_s, got_s } in received {
        writeln!(out(), "{sent_s:6.2} s  producer sent {n:<4}{got_s:6.2} s  consumer got {n}")?;
    }
    let numbers: Vec<u32> = received.iter().map(|arrival| arrival.n).collect();
    let in_order = numbers == (1..=items).collect::<Vec<_>>();
    writeln!(
        out(),
        "\n{} The consumer stopped when the producer exited and the queue closed.",
        if in_order {
            format!("All {} items arrived, in order.", numbers.len())
        } else {
            format!("Only {} of {items} items arrived, or out of order.", numbers.len())
        }
    )?;
    if json {
        print_json(
            &serde_json::json!({ "items": items, "received": numbers, "in_order": in_order }),
        )?;
    }
    Ok(())
}

/// `unit-costs`: says what is about to be measured.
pub fn unit_costs_plan(rounds: u32) -> std::io::Result<()> {
    let (rounds, note) = (thousands(rounds.into()), build_note());
    writeln!(
        out(),
        "One unit at a time, nothing else running: the median of {rounds} rounds each.\n({note})\n"
    )
}

/// `unit-costs`: the median of `rounds` rounds of each unit.
pub struct UnitCosts {
    pub rounds: u32,
    /// Start a thread and join it.
    pub thread: Duration,
    /// Start a process and wait for it.
    pub process: Duration,
    /// A message there and back: std mpsc between threads, an OS pipe and ipc-channel
    /// between processes.
    pub channel: Duration,
    pub pipe: Duration,
    pub ipc: Duration,
}

impl UnitCosts {
    /// The table, the ratios between processes and threads, and `--json`.
    pub fn report(&self, json: bool) -> Result<()> {
        let UnitCosts { rounds, thread, process, channel, pipe, ipc } = *self;
        let mut table = Table::new(["unit", "median"]);
        table.row(["start a thread and join it".into(), human_duration(thread)]);
        table.row(["start a process and wait for it".into(), human_duration(process)]);
        table.row(["a message there and back: std mpsc, threads".into(), human_duration(channel)]);
        table.row(["a message there and back: an OS pipe, processes".into(), human_duration(pipe)]);
        table.row(["a message there and back: ipc-channel, processes".into(), human_duration(ipc)]);
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
        writeln!(
            out(),
            "{table}\nA process cost {:.0}× a thread to start and wait for. A small message there \
             and back between processes cost {:.1}× (pipe) and {:.1}× (ipc-channel) one between \
             threads: most of a round trip is waking whoever waits for the message.",
            ratio(process, thread),
            ratio(pipe, channel),
            ratio(ipc, channel)
        )?;
        if json {
            let us = |d: Duration| d.as_secs_f64() * 1e6;
            print_json(&serde_json::json!({
                "rounds": rounds, "thread_start_wait_us": us(thread),
                "process_start_wait_us": us(process),
                "round_trip_us": { "mpsc": us(channel), "pipe": us(pipe), "ipc_channel": us(ipc) },
            }))?;
        }
        Ok(())
    }
}

/// `manager`: what the server and the clients ended with; `R` is a record of the list.
pub struct ManagerRan<R> {
    /// The server's log: when it did what.
    pub server_log: Vec<(Duration, String)>,
    /// The server's list at the end.
    pub server_records: Vec<R>,
    /// What each client, by name, listed after its last insert.
    pub listed_by_client: Vec<(&'static str, Vec<R>)>,
    /// Whether every record each client inserted was on both the server's list and the
    /// client's listing.
    pub all_kept: bool,
}

impl<R: Serialize + std::fmt::Display> ManagerRan<R> {
    /// The server's log, each client's listing, the verdict, and `--json`.
    pub fn report(&self, json: bool) -> std::io::Result<()> {
        let mut out = out();
        writeln!(out, "The server's log, which it sent back once its last client had gone:")?;
        for (at, what) in &self.server_log {
            writeln!(out, "{}  server: {what}", stamp(*at))?;
        }
        writeln!(out)?;
        for (name, listed) in &self.listed_by_client {
            let names: Vec<String> = listed.iter().map(ToString::to_string).collect();
            let records = plural(listed.len() as u64, "record");
            writeln!(out, "Client {name} listed {records}: {}", names.join(" "))?;
        }
        let verdict = if self.all_kept { KEPT } else { "Unexpected: a record is missing." };
        writeln!(out, "\n{verdict}")?;
        if json {
            let listed_by_client: Vec<&Vec<R>> =
                self.listed_by_client.iter().map(|(_, l)| l).collect();
            print_json(&serde_json::json!({
                "server_records": self.server_records, "listed_by_client": listed_by_client,
                "all_kept": self.all_kept,
            }))?;
        }
        Ok(())
    }
}

/// What `manager` shows, when every record was kept.
const KEPT: &str = "The server kept every record, and stopped when both clients had hung up. No client touched the list: each asked, and the server answered one request at a time.";
