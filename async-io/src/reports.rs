//! What a binary prints once its lesson has run: the tables, the verdict and `--json`.
//!
//! One item per binary, named after it. They live here so that each binary reads as its
//! lesson (the Contributing rule in the root README): the binary hands over its figures as
//! named fields, and the words, columns and JSON fields are made here. A verdict that weighs
//! timings is a tested function (of `shared::report` where binaries share it); the others
//! state an exact result (every item, in order), which the chapter's tests check through
//! `--json`.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Write};
use std::ops::Range;
use std::thread::ThreadId;
use std::time::Duration;

use crate::Log;

use anyhow::Result;
use serde::Serialize;
use serde_json::json;
use shared::cli::Trace;
use shared::report::{
    Overlap, Table, build_note, gathered, heartbeat_verdict, human_duration, out, overlap, plural,
    print_json, thousands, waits_overlapped,
};
use shared::timeline::Timeline;
use shared::waits::TimeScale;
use tokio::time::Instant;

/// `event-loop`: the run's shape, as the flags set it.
pub struct EventLoopPlan {
    pub tasks: u32,
    pub wait: Duration,
    /// The runtime's flavor, as `--flavor` spells it: `current` or `multi`.
    pub flavor: String,
}

/// `event-loop`: what `wait_many` measured.
pub struct Waited {
    pub elapsed: Duration,
    /// The threads the tasks ran on.
    pub threads: HashSet<ThreadId>,
    /// The process's resident memory before the tasks started, and while they all waited.
    pub memory_before: Option<usize>,
    pub memory_during: Option<usize>,
}

impl EventLoopPlan {
    /// Says what is about to run.
    pub fn announce(&self) -> io::Result<()> {
        let (tasks, each) = (thousands(self.tasks.into()), human_duration(self.wait));
        let (flavor, note) = (&self.flavor, build_note());
        writeln!(
            out(),
            "{tasks} tasks each wait {each} on tokio's {flavor}-thread runtime ({note}).\n"
        )
    }

    /// The table, the verdict, and the `--json` line.
    pub fn report(&self, waited: &Waited, json: bool) -> io::Result<()> {
        let (elapsed, threads) = (waited.elapsed, waited.threads.len());
        let each = human_duration(self.wait);
        let memory_mb = waited.memory_during.map(|bytes| bytes as f64 / 1e6);
        let grown = waited.memory_before.zip(waited.memory_during);
        let grown = grown.map(|(before, during)| during.saturating_sub(before));
        let bytes_per_task = grown.map(|grown| grown as f64 / f64::from(self.tasks));
        let per_task = bytes_per_task.map(|bytes| thousands(bytes as u64));
        let mut table = Table::new(EVENT_LOOP_COLUMNS);
        let memory = memory_mb.map_or("unknown".into(), |mb| format!("{mb:.1} MB"));
        let per = per_task.as_ref().map_or("unknown".into(), |bytes| format!("{bytes} bytes"));
        let row = [thousands(self.tasks.into()), each.clone(), human_duration(elapsed)];
        table.row(row.into_iter().chain([threads.to_string(), memory, per]));
        let (waits, on) = (plural(self.tasks.into(), "wait"), plural(threads as u64, "thread"));
        let verdict = waits_overlapped(self.tasks, self.wait, elapsed);
        let took = human_duration(elapsed);
        writeln!(out(), "{table}\n{waits} of {each} took {took} in all, on {on}: {verdict}.")?;
        if let Some(bytes) = per_task {
            let stack = "an OS thread takes a stack (see tasks-vs-threads)";
            writeln!(out(), "Each waiting task took about {bytes} bytes; {stack}.")?;
        }
        if json {
            print_json(&json!({
                "flavor": self.flavor, "tasks": self.tasks, "wait_s": self.wait.as_secs_f64(),
                "elapsed_s": elapsed.as_secs_f64(), "threads": threads, "rss_mb": memory_mb,
                "bytes_per_task": bytes_per_task,
            }))?;
        }
        Ok(())
    }
}

const EVENT_LOOP_COLUMNS: [&str; 6] =
    ["tasks", "each waits", "all done after", "threads", "memory while waiting", "per task"];

/// `smol-tour`: what its four parts showed; also its `--json` output.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SmolTour {
    /// Which tasks of part 1 finished, although their handles were dropped or detached.
    pub finished: BTreeMap<&'static str, bool>,
    pub order: Vec<String>,
    pub elapsed_s: f64,
    /// The portable future's sum, and how long it took on each executor.
    pub sum: u64,
    pub took_s: BTreeMap<&'static str, f64>,
    pub tokio_timer_on_smol: Option<String>,
}

impl SmolTour {
    /// The closing sentence and `--json`.
    pub fn report(&self, json: bool) -> io::Result<()> {
        writeln!(out(), "\n{}", self.conclusion())?;
        if json {
            print_json(self)?;
        }
        Ok(())
    }

    /// The closing sentence, from what this run showed.
    fn conclusion(&self) -> &'static str {
        let handles_differ = !self.finished["smol"] && self.finished["tokio"];
        if !handles_differ || self.tokio_timer_on_smol.is_none() {
            "This run did not go as usual: see the lines above."
        } else if self.order != ["job 3", "job 1", "job 2"] {
            "Handles and tokio's timer differed as usual; the waits were too short to order the jobs."
        } else {
            "The futures ran alike, but for dropped handles and tokio's timer."
        }
    }
}

/// `gather`'s report: the two runs' lines, at the run's `--time-scale`, and their timeline.
pub struct GatherReport {
    scale: TimeScale,
    /// Both runs' jobs, one after the other, for `--trace`.
    timeline: Timeline,
    /// When the `join!` run ended, and the order its jobs finished in (for `--json`).
    joined: Duration,
    order: Vec<String>,
}

impl GatherReport {
    /// A report for runs at `scale`; nothing is printed yet.
    pub fn new(scale: TimeScale) -> Self {
        GatherReport { scale, timeline: Timeline::new(), joined: Duration::ZERO, order: Vec::new() }
    }

    /// Says what `join!` is about to run.
    pub fn announce_join(&self) -> io::Result<()> {
        let scale = self.scale;
        let [a, b, c] = [2.0, 3.0, 1.0].map(|s| human_duration(scale.secs(s)));
        writeln!(out(), "join! of three jobs waiting {a}, {b} and {c} (time scale {scale}):\n")
    }

    /// The order the jobs finished in, after how long, and whether their waits overlapped.
    pub fn joined(&mut self, log: &Log, order: Vec<String>) -> io::Result<()> {
        let (elapsed, sum) = (log.elapsed(), self.scale.secs(6.0));
        let verdict = gathered(self.scale.secs(3.0), sum, elapsed);
        let (order_text, took, sum_text) =
            (order.join(", "), human_duration(elapsed), human_duration(sum));
        writeln!(
            out(),
            "\nFinished in the order {order_text}, after {took}: {verdict} ({sum_text})."
        )?;
        self.timeline.extend(log.spans(Duration::ZERO, elapsed));
        (self.joined, self.order) = (elapsed, order);
        Ok(())
    }

    /// Says what `try_join!` is about to run.
    pub fn announce_try_join(&self) -> io::Result<()> {
        let fails_after = human_duration(self.scale.secs(0.5));
        writeln!(out(), "\ntry_join! of two jobs and one that fails after {fails_after}:\n")
    }

    /// When `try_join!` gave up, and what became of the other jobs (`finished` of them had
    /// printed "done"); the timeline of both runs (`--trace`), and `--json`.
    pub fn tried(
        &self,
        log: &Log,
        gave_up: Duration,
        finished: usize,
        trace: &Trace,
        json: bool,
    ) -> Result<()> {
        let others = match finished {
            0 => "the two other jobs were dropped mid-wait, so they never printed \"done\""
                .to_string(),
            n => format!("{n} other job(s) had finished first; the rest were dropped mid-wait"),
        };
        writeln!(
            out(),
            "\ntry_join! returned the error after {}; {others}.",
            human_duration(gave_up)
        )?;
        self.timeline.extend(log.spans(self.joined, gave_up));
        trace.write(&self.timeline)?;
        if json {
            print_json(&json!({
                "order": self.order, "elapsed_s": self.joined.as_secs_f64(),
                "try_join_error_s": gave_up.as_secs_f64(),
            }))?;
        }
        Ok(())
    }
}

/// `blocking-the-loop`: one count beside the heartbeat: the count, when it ran, and the
/// heartbeat's ticks.
#[derive(Debug)]
pub struct CountRun {
    pub primes: u64,
    /// When the count started and ended.
    pub counting: Range<Instant>,
    pub ticks: Vec<Tick>,
}

/// `blocking-the-loop`: one tick of the heartbeat: late by `came - due`.
#[derive(Debug, Clone, Copy)]
pub struct Tick {
    pub due: Instant,
    pub came: Instant,
}

impl CountRun {
    /// How long the count took.
    pub fn took(&self) -> Duration {
        self.counting.end - self.counting.start
    }

    /// How late the latest tick came.
    pub fn worst_delay(&self) -> Duration {
        self.ticks.iter().map(|tick| tick.came - tick.due).max().unwrap_or_default()
    }
}

/// `blocking-the-loop`: each way of counting, as the table names it, and the thread it runs on.
const WAYS: [(&str, &str); 3] = [
    ("inline in a task", "the runtime's thread"),
    ("spawn_blocking", "a spawn_blocking thread"),
    ("rayon + oneshot", "a rayon thread"),
];

/// `blocking-the-loop`'s report: a row per way of counting, and a timeline of them all.
pub struct BlockingReport {
    tick: Duration,
    limit: u64,
    table: Table,
    /// How long each count took, and the heartbeat's worst delay meanwhile, in order.
    took: Vec<Duration>,
    worst: Vec<Duration>,
    timeline: Timeline,
}

impl BlockingReport {
    /// Says what is about to run.
    pub fn announce(tick: Duration, limit: u64) -> io::Result<Self> {
        writeln!(
            out(),
            "A heartbeat task ticks every {} on a current-thread runtime, while the primes below {} \
             are counted three ways.\n",
            human_duration(tick),
            thousands(limit)
        )?;
        let columns = ["where the count runs", "primes", "count took", "worst heartbeat delay"];
        let (took, worst, timeline) = (Vec::new(), Vec::new(), Timeline::new());
        Ok(BlockingReport { tick, limit, table: Table::new(columns), took, worst, timeline })
    }

    /// Adds the next count: inline in a task first, then in `spawn_blocking`, then on rayon.
    pub fn add(&mut self, run: &CountRun) {
        debug_assert!(self.took.len() < WAYS.len(), "three counts, in the order of WAYS");
        let (way, thread) = WAYS[self.took.len().min(WAYS.len() - 1)];
        let (took, late) = (run.took(), run.worst_delay());
        let row =
            [way.to_string(), thousands(run.primes), human_duration(took), human_duration(late)];
        self.table.row(row);
        self.took.push(took);
        self.worst.push(late);
        let at = |instant: Instant| self.timeline.offset_of(instant.into_std());
        let lane = format!("count ({thread})");
        self.timeline.record(lane, "counting primes", at(run.counting.start), at(run.counting.end));
        for tick in &run.ticks {
            let late = format!("tick, {} late", human_duration(tick.came - tick.due));
            let lane = "heartbeat (the runtime's thread)";
            self.timeline.record(lane, late, at(tick.due), at(tick.came));
        }
    }

    /// The table, the verdict, `--trace` and `--json`: the first count ran inline, the
    /// other two elsewhere.
    pub fn finish(self, trace: &Trace, json: bool) -> Result<()> {
        writeln!(out(), "{}", self.table)?;
        let [job, ..] = self.took[..] else { anyhow::bail!("no count ran") };
        let [inline, spawn_blocking, rayon] = self.worst[..] else { anyhow::bail!("three counts") };
        let verdict = heartbeat_verdict(self.tick, job, inline, spawn_blocking.max(rayon));
        writeln!(out(), "{verdict}")?;
        trace.write(&self.timeline)?;
        if json {
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            print_json(&json!({
                "limit": self.limit, "job_ms": ms(job), "inline_ms": ms(inline),
                "spawn_blocking_ms": ms(spawn_blocking), "rayon_ms": ms(rayon),
            }))?;
        }
        Ok(())
    }
}

/// `tasks-vs-threads`: what one model measured, for `n` units that each waited `wait`.
#[derive(Debug)]
pub struct Sample {
    /// From the first start until every unit was done, and how long starting them all took.
    pub wall: Duration,
    pub created: Duration,
    /// The process's resident memory before the units started, and while they all waited.
    pub memory_before: Option<usize>,
    pub memory_during: Option<usize>,
}

/// `tasks-vs-threads`: one model's figures, per unit; `--json` shows them so.
#[derive(Debug, Serialize)]
struct Cost {
    wall_s: f64,
    create_us: f64,
    bytes_per_unit: Option<f64>,
}

/// `tasks-vs-threads`'s report: `n` units of each model, each waiting `wait`.
pub struct TasksVsThreads {
    pub n: u32,
    pub wait: Duration,
}

impl TasksVsThreads {
    /// Says what is about to run.
    pub fn announce(&self) -> io::Result<()> {
        let (n, wait) = (thousands(self.n.into()), human_duration(self.wait));
        writeln!(
            out(),
            "{n} waits of {wait} each: as tokio tasks on one thread, then as {n} OS threads.\n"
        )
    }

    /// The table, how many times cheaper and smaller a task was, and `--json`.
    pub fn report(&self, tasks: &Sample, threads: &Sample, json: bool) -> io::Result<()> {
        let mut out = out();
        let (tasks, threads) = (self.cost(tasks), self.cost(threads));
        let columns =
            ["model", "units", "all done after", "to start one", "memory per unit while waiting"];
        let mut table = Table::new(columns);
        let n = thousands(self.n.into());
        for (name, cost) in [("tokio tasks, 1 thread", &tasks), ("OS threads", &threads)] {
            let memory = cost
                .bytes_per_unit
                .map_or("— (no wait)".into(), |b| format!("{} bytes", thousands(b as u64)));
            let wall = human_duration(Duration::from_secs_f64(cost.wall_s));
            let create = format!("{:.2} µs", cost.create_us);
            table.row([name.to_string(), n.clone(), wall, create, memory]);
        }
        writeln!(out, "{table}")?;
        // How many times `big` is `small`, said only when the figures show it.
        let cheaper = times_larger(tasks.create_us, threads.create_us);
        let smaller = (tasks.bytes_per_unit.zip(threads.bytes_per_unit))
            .and_then(|(task, thread)| times_larger(task, thread));
        writeln!(out, "{}", task_vs_thread(cheaper, smaller))?;
        writeln!(
            out,
            "Waiting costs no CPU either way: use tasks for many waits at once, threads for work on many cores."
        )?;
        if json {
            print_json(&json!({
                "n": self.n, "wait_s": self.wait.as_secs_f64(), "tasks": tasks, "threads": threads,
            }))?;
        }
        Ok(())
    }

    /// One model's figures, per unit.
    fn cost(&self, sample: &Sample) -> Cost {
        let n = f64::from(self.n);
        let grown =
            sample.memory_before.zip(sample.memory_during).map(|(b, d)| d.saturating_sub(b) as f64);
        // With no wait to speak of, the units may be gone before the memory is read.
        let grown = grown.filter(|_| self.wait >= shared::report::TOO_SHORT_TO_TELL);
        Cost {
            wall_s: sample.wall.as_secs_f64(),
            create_us: sample.created.as_secs_f64() * 1e6 / n,
            bytes_per_unit: grown.map(|g| g / n),
        }
    }
}

/// `spawn-task`'s report: which runtime, at which `--time-scale`.
pub struct SpawnTask {
    /// `current-thread` or `multi-thread`.
    runtime: &'static str,
    scale: TimeScale,
    /// When `first` ended, and the order of the words (set by [`SpawnTask::order`]).
    elapsed: Duration,
    order: Vec<String>,
}

impl SpawnTask {
    /// Says which runtime runs the tasks.
    pub fn announce(runtime: &'static str, scale: TimeScale) -> io::Result<Self> {
        writeln!(out(), "Runtime: {runtime}; time scale {scale}\n")?;
        Ok(SpawnTask { runtime, scale, elapsed: Duration::ZERO, order: Vec::new() })
    }

    /// The order of the words, whether the two sleeps overlapped, and why the task started
    /// when it did.
    pub fn order(&mut self, log: &Log) -> io::Result<()> {
        let (scale, elapsed, words, order) = (self.scale, log.elapsed(), log.events(), log.order());
        // Each sleep ran between two words: `first`'s from "four" to "five", `second`'s from
        // "two" to "three". Claim overlap only if those two intervals really shared time.
        let at = |word| words.iter().find(|(w, _)| w == word).map_or(Duration::ZERO, |&(_, t)| t);
        let verdict = match overlap(scale.secs(1.0), at("four")..at("five"), at("two")..at("three"))
        {
            Overlap::Overlapped(shared) => {
                format!("they overlapped for {}", human_duration(shared))
            }
            Overlap::OneAfterAnother => "one ran after the other".to_string(),
            Overlap::TooShortToTell => {
                "too short to show any overlap (try --time-scale 1)".to_string()
            }
        };
        order_line(&order, elapsed, [scale.secs(1.0), scale.secs(2.0)], &verdict)?;
        // Say why this run came out in this order.
        let four_first =
            order.iter().position(|w| w == "four") < order.iter().position(|w| w == "two");
        let why = match (self.runtime == "multi-thread", four_first) {
            (false, _) => "with one thread, the task could start only at `first`'s first .await",
            (true, true) => "this time `first` printed before another thread started the task",
            (true, false) => "another thread started the task at once",
        };
        let (earlier, later) = if four_first { ("four", "two") } else { ("two", "four") };
        writeln!(out(), "\"{earlier}\" came before \"{later}\": {why}.")?;
        (self.elapsed, self.order) = (elapsed, order);
        Ok(())
    }

    /// What a task spawned and awaited at once cost (the median of `rounds`), and `--json`.
    pub fn task_cost(&self, each: Duration, rounds: usize, json: bool) -> io::Result<()> {
        let (each_text, rounds, runtime) =
            (human_duration(each), thousands(rounds as u64), self.runtime);
        writeln!(
            out(),
            "\nA task spawned and awaited at once, {rounds} times on the {runtime} runtime: {each_text} each (median)."
        )?;
        if json {
            print_json(&json!({
                "runtime": runtime, "order": self.order, "elapsed_s": self.elapsed.as_secs_f64(),
                "task_start_wait_us": each.as_secs_f64() * 1e6,
            }))?;
        }
        Ok(())
    }
}

/// `await-in-order`: the order of the words, and the total time against the two waits (2 s
/// then 1 s, scaled), which ran one after the other; `--json`.
pub fn await_in_order(log: &Log, scale: TimeScale, json: bool) -> io::Result<()> {
    let (order, elapsed) = (log.order(), log.elapsed());
    // Awaited in turn, the waits cannot overlap: the total is at least their sum.
    let waits = [scale.secs(2.0), scale.secs(1.0)];
    order_line(&order, elapsed, waits, "one after the other")?;
    if json {
        print_json(&json!({ "order": order, "elapsed_s": elapsed.as_secs_f64() }))?;
    }
    Ok(())
}

/// `shared-state`'s report: a line per way of sharing, and `--json`.
pub struct SharedState {
    tasks: u32,
    std_total: u64,
    tokio_log_len: usize,
}

impl SharedState {
    /// Says what is about to run.
    pub fn announce(tasks: u32) -> io::Result<Self> {
        writeln!(out(), "{tasks} tasks on tokio's multi-thread runtime share state three ways.\n")?;
        Ok(SharedState { tasks, std_total: 0, tokio_log_len: 0 })
    }

    /// Part 1: the std `Mutex` counter's total.
    pub fn std_mutex(&mut self, total: u64) -> io::Result<()> {
        self.std_total = total;
        writeln!(
            out(),
            "1. std Mutex: each task added 1 a thousand times: total {} of {} (the guard never crossed an .await).",
            thousands(total),
            thousands(u64::from(self.tasks) * 1_000)
        )
    }

    /// Part 2: the tokio `Mutex`'s log: its `entries`, after `took`, each held for `write`.
    pub fn tokio_mutex(
        &mut self,
        entries: usize,
        took: Duration,
        write: Duration,
    ) -> io::Result<()> {
        self.tokio_log_len = entries;
        writeln!(
            out(),
            "2. tokio Mutex: each task held the log locked for its {} \"write\": {} entries in {}.\n   \
             Holding a lock across an .await makes those tasks take turns: {} × {} ≥ {}.",
            human_duration(write),
            entries,
            human_duration(took),
            self.tasks,
            human_duration(write),
            human_duration(write * self.tasks)
        )
    }

    /// Part 3: the results, in the order the `JoinSet` gave them back; `--json`.
    pub fn joinset(&self, results: &[u64], json: bool) -> io::Result<()> {
        let listed: Vec<String> = results.iter().take(5).map(u64::to_string).collect();
        writeln!(
            out(),
            "3. JoinSet: {} tasks squared their numbers; the results came back as each task finished\n   \
             ({}{}), in all {}.",
            self.tasks,
            listed.join(", "),
            if results.len() > 5 { ", …" } else { "" },
            thousands(results.iter().sum())
        )?;
        if json {
            print_json(&json!({
                "tasks": self.tasks, "std_total": self.std_total,
                "tokio_log_len": self.tokio_log_len, "joinset_results": results,
            }))?;
        }
        Ok(())
    }
}

/// How many times `big` is `small`, if the figures show it larger.
fn times_larger(small: f64, big: f64) -> Option<f64> {
    (small > 0.0 && big > small).then(|| big / small)
}

/// `tasks-vs-threads`' verdict: how many times a thread was dearer to start, and larger while
/// waiting, than a task, where the run showed it.
fn task_vs_thread(cheaper: Option<f64>, smaller: Option<f64>) -> String {
    match (cheaper, smaller) {
        (Some(c), Some(s)) => {
            format!(
                "A task was {c:.0}× cheaper to start and {s:.0}× smaller while waiting than a thread."
            )
        }
        (Some(c), None) => format!(
            "A task was {c:.0}× cheaper to start than a thread (memory: too little waiting to tell)."
        ),
        _ => "This run did not show a task cheaper than a thread; run it again with the defaults."
            .to_string(),
    }
}

/// The line that `spawn-task` and `await-in-order` end their story with: the order of the
/// words, the total time, the two waits, and whether they overlapped.
fn order_line(
    order: &[String],
    elapsed: Duration,
    waits: [Duration; 2],
    verdict: &str,
) -> io::Result<()> {
    let (order, total, [a, b]) =
        (order.join(", "), human_duration(elapsed), waits.map(human_duration));
    writeln!(out(), "\nOrder: {order}. Total: {total} for waits of {a} and {b}: {verdict}.")
}

/// `echo-server`: the run's shape, as the flags set it.
pub struct EchoServer {
    pub clients: u32,
    pub messages: u32,
    pub concurrency: u32,
}

/// `echo-server`: what the run did.
pub struct Echoed {
    /// Connections the server accepted.
    pub connections: usize,
    /// Bytes the clients got back, each checked against what it sent.
    pub bytes: usize,
    /// Bytes the clients were to send, all of them.
    pub sent: usize,
    pub elapsed: Duration,
}

impl EchoServer {
    /// Says what is about to run.
    pub fn announce(&self) -> io::Result<()> {
        let EchoServer { clients, messages, concurrency } = *self;
        let clients = thousands(clients.into());
        writeln!(
            out(),
            "{clients} clients, {messages} messages each, at most {concurrency} connected at once — all on one thread."
        )
    }

    /// Whether every client connected, and every byte it was to send came back.
    fn all_echoed(&self, echoed: &Echoed) -> bool {
        echoed.connections == self.clients as usize && echoed.bytes == echoed.sent
    }

    /// The connections and bytes, checked against the plan: every client connected, and every
    /// byte it was to send came back; `--json`.
    pub fn report(&self, echoed: &Echoed, json: bool) -> io::Result<()> {
        let Echoed { connections, bytes, sent, elapsed } = *echoed;
        let all_echoed = self.all_echoed(echoed);
        let (clients, messages) = (self.clients, self.messages);
        let verdict = if all_echoed {
            "every one of them right".to_string()
        } else {
            format!(
                "but {} clients were to send {} bytes",
                thousands(clients.into()),
                thousands(sent as u64)
            )
        };
        writeln!(
            out(),
            "The server handled {} connections in {}.\n{} clients sent {messages} messages each; the \
             server echoed {} bytes, {verdict}.",
            thousands(connections as u64),
            human_duration(elapsed),
            thousands(clients.into()),
            thousands(bytes as u64)
        )?;
        if json {
            print_json(&json!({
                "clients": clients, "messages": messages, "connections": connections, "bytes": bytes,
                "all_echoed": all_echoed, "elapsed_s": elapsed.as_secs_f64(),
            }))?;
        }
        Ok(())
    }
}

/// `select-timeout`: a note before the run where `--time-scale` leaves waits too short to
/// order.
pub fn warn_if_waits_too_short(scale: TimeScale) -> io::Result<()> {
    if scale.secs(0.5) < shared::report::TOO_SHORT_TO_TELL {
        writeln!(out(), "(Waits scaled to almost nothing: which ends first is a toss-up.)\n")?;
    }
    Ok(())
}

/// `select-timeout`: what its four parts show, and `--json`.
pub fn select_timeout(log: &Log, json: bool) -> io::Result<()> {
    writeln!(
        out(),
        "\nCancelling a future is dropping it: it stops at its .await and its destructors run. \
         A graceful shutdown stops taking work and lets the work in flight finish."
    )?;
    if json {
        print_json(&json!({ "events": log.order(), "elapsed_s": log.elapsed().as_secs_f64() }))?;
    }
    Ok(())
}

/// `coroutine`: the heading of part 1 (the future by hand) or part 2 (the async fn).
pub fn coroutine_part(part: u8) -> io::Result<()> {
    let heading = match part {
        1 => "A state machine written by hand (TwoSteps), polled by an executor written by hand:",
        _ => "\nThe same as an async fn, on the same executor:",
    };
    writeln!(out(), "{heading}")
}

/// `coroutine`: what `block_on` returned.
pub fn coroutine_returned(result: &str) -> io::Result<()> {
    writeln!(out(), "         -> {result}")
}

/// `coroutine`: what the two parts show, and `--json`.
pub fn coroutine(results: [&str; 2], elapsed: Duration, json: bool) -> io::Result<()> {
    writeln!(
        out(),
        "\nThe future ran only when polled, paused at each Pending and resumed where it"
    )?;
    writeln!(out(), "stopped when woken: that is what .await does.")?;
    if json {
        print_json(&json!({ "results": results, "elapsed_s": elapsed.as_secs_f64() }))?;
    }
    Ok(())
}

/// `coroutine-send`: what the receiver got, and `--json`.
pub fn coroutine_send(received: &[u32], json: bool) -> io::Result<()> {
    writeln!(out(), "\nThe receiver got {received:?}: each value resumed it where it had paused.")?;
    if json {
        print_json(&json!({ "received": received }))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Echoed in full only when every client connected and every byte came back.
    #[test]
    fn all_echoed_needs_every_connection_and_byte() {
        let plan = EchoServer { clients: 2, messages: 1, concurrency: 2 };
        let run =
            |connections, bytes| Echoed { connections, bytes, sent: 40, elapsed: Duration::ZERO };
        assert!(plan.all_echoed(&run(2, 40)));
        assert!(!plan.all_echoed(&run(1, 40)), "a client never connected");
        assert!(!plan.all_echoed(&run(2, 39)), "a byte never came back");
    }

    /// The closing sentence follows what the run showed, part by part.
    #[test]
    fn the_conclusion_follows_the_run() {
        let usual = SmolTour {
            finished: [("smol", false), ("tokio", true), ("detached", true)].into(),
            order: ["job 3", "job 1", "job 2"].map(String::from).into(),
            tokio_timer_on_smol: Some("there is no reactor running".into()),
            ..SmolTour::default()
        };
        assert!(usual.conclusion().starts_with("The futures ran alike"));
        let unordered = SmolTour { order: vec!["job 1".into()], ..usual.clone() };
        assert!(unordered.conclusion().contains("too short to order the jobs"));
        let unusual = SmolTour { tokio_timer_on_smol: None, ..usual };
        assert!(unusual.conclusion().starts_with("This run did not go as usual"));
    }

    /// Drawn, the late tick's bar spans the count's end: it waited for the count.
    #[tokio::test(start_paused = true)]
    async fn a_late_tick_is_drawn_across_the_counts_end() {
        let (start, ms) = (Instant::now(), Duration::from_millis);
        let counting = start + ms(30)..start + ms(230);
        let ticks = vec![Tick { due: start + ms(40), came: start + ms(231) }];
        let mut report = BlockingReport::announce(ms(10), 1_000).unwrap();
        report.add(&CountRun { primes: 168, counting, ticks });
        let spans = report.timeline.spans();
        let count = spans.iter().find(|s| s.lane == "count (the runtime's thread)").unwrap();
        let tick = spans.iter().find(|s| s.lane.starts_with("heartbeat")).unwrap();
        assert!(tick.start < count.end && tick.end >= count.end, "{spans:?}");
        assert_eq!(tick.label, "tick, 191 ms late");
    }

    /// The verdict says only what the figures show.
    #[test]
    fn a_task_is_called_cheaper_only_when_it_was() {
        assert_eq!(times_larger(0.5, 20.0), Some(40.0));
        assert_eq!(times_larger(20.0, 0.5), None);
        assert_eq!(times_larger(0.0, 1.0), None);
        let both = task_vs_thread(Some(66.4), Some(21.0));
        assert_eq!(
            both,
            "A task was 66× cheaper to start and 21× smaller while waiting than a thread."
        );
        assert!(task_vs_thread(Some(66.4), None).contains("too little waiting to tell"));
        assert!(task_vs_thread(None, Some(21.0)).starts_with("This run did not show"));
    }
}
