//! What a binary prints once its lesson has run: the tables, the verdict and `--json`.
//!
//! One item per binary, named after it. They live here so that each binary reads as its
//! lesson (the Contributing rule in the root README): the binary hands over its figures as
//! named fields, and the words, columns and JSON fields are made here. A verdict that weighs
//! timings is a tested function (of `shared::report` where binaries share it); the others
//! state an exact result (every item, in order), which the chapter's tests check through
//! `--json`.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use serde::Serialize;
use serde_json::json;
use shared::cli::Trace;
use shared::primes::known_count;
use shared::report::{
    Overlap, ParallelRun, Table, backpressure_verdict, build_note, counting_verdict,
    human_duration, load_average, lost_updates, optimized, out, overlap, plural, print_json,
    speedup_table, speedup_verdict, stamp, thousands, times,
};
use shared::timeline::{Timeline, lane_extents, terminal_width};
use shared::waits::TimeScale;

/// `workers`: the plan, printed before the run.
pub struct WorkersPlan<'a> {
    pub limit: u64,
    pub jobs: &'a [Range<u64>],
    pub workers: usize,
    /// The machine's load, read before the run's own threads add to it.
    pub load: Option<f64>,
}

impl<'a> WorkersPlan<'a> {
    /// Prints what is about to run, and reads the machine's load.
    pub fn announce(limit: u64, jobs: &'a [Range<u64>], workers: usize) -> io::Result<Self> {
        let (below, count, note) = (thousands(limit), jobs.len(), build_note());
        writeln!(
            out(),
            "Counting primes below {below} in {count} jobs: first on 1 thread, then on {workers} worker threads.\n({note})\n"
        )?;
        Ok(WorkersPlan { limit, jobs, workers, load: load_average() })
    }

    /// Who ran what, the timeline, the speedup table, the verdict and `--json`; an error if
    /// the counts disagree.
    pub fn report(
        &self,
        ran: &WorkersRan,
        svg: Option<&Path>,
        trace: &Trace,
        json: bool,
    ) -> Result<()> {
        let (workers, count) = (self.workers, self.jobs.len());
        print_who_ran_what(self.jobs, ran, svg)?;
        trace.write(&ran.timeline)?;
        let parallel: u64 = ran.primes.iter().sum();
        let threads = format!("{workers} worker threads");
        let rows = [("one thread", ran.sequential_time), (&threads[..], ran.parallel_time)];
        let known = known_count(self.limit);
        let correct = ran.sequential == parallel && known.is_none_or(|k| k == parallel);
        let known_note = if known.is_some() { " (the known answer)" } else { "" };
        if correct {
            let table = speedup_table(&rows);
            writeln!(out(), "{table}Both runs found {} primes{known_note}.", thousands(parallel))?;
        }
        let run =
            ParallelRun::new(ran.sequential_time, ran.parallel_time, workers.min(count), self.load);
        writeln!(out(), "{}", speedup_verdict(&run, "threads"))?;
        if run.close_to_ideal() && run.ideal > 1 {
            writeln!(out(), "Rust has no GIL; Python threads would take turns and get about 1×.")?;
        }
        if json {
            let (sequential_s, parallel_s) =
                (ran.sequential_time.as_secs_f64(), run.took.as_secs_f64());
            print_json(&json!({
                "workers": workers, "jobs": count, "limit": self.limit, "primes": parallel,
                "sequential_s": sequential_s, "parallel_s": parallel_s, "speedup": run.speedup,
                "correct": correct, "optimized": optimized(), "runs": ran.runs_json(),
            }))?;
        }
        let sequential = ran.sequential;
        ensure!(
            correct,
            "the counts disagree: 1 thread {sequential}, workers {parallel}, known {known:?}"
        );
        Ok(())
    }
}

/// `workers`: what the two runs found.
pub struct WorkersRan {
    /// Primes found by one thread, and its time.
    pub sequential: u64,
    pub sequential_time: Duration,
    /// For each job, in job order: the primes the workers found, and which worker found them
    /// (1, 2, …).
    pub primes: Vec<u64>,
    pub ran_on: Vec<usize>,
    /// The worker run's time and timeline.
    pub parallel_time: Duration,
    pub timeline: Timeline,
}

impl WorkersRan {
    /// `--json`'s `runs`: `{"job", "primes", "worker"}` per job.
    fn runs_json(&self) -> serde_json::Value {
        let per_job = (self.primes.iter().zip(&self.ran_on).enumerate())
            .map(|(job, (primes, worker))| json!({"job": job, "primes": primes, "worker": worker}));
        per_job.collect()
    }
}

/// Which worker ran each job, as a table and as a timeline (and an SVG file, if asked).
fn print_who_ran_what(jobs: &[Range<u64>], ran: &WorkersRan, svg: Option<&Path>) -> Result<()> {
    let mut who = Table::new(["job", "numbers", "primes", "ran on"]);
    for (job, range) in jobs.iter().enumerate() {
        let numbers = format!("{}..{}", thousands(range.start), thousands(range.end));
        let worker = format!("worker-{}", ran.ran_on[job]);
        who.row([job.to_string(), numbers, thousands(ran.primes[job]), worker]);
    }
    writeln!(out(), "{who}")?;
    writeln!(out(), "Timeline of the worker run (a row per thread, a box per job):")?;
    writeln!(out(), "{}", ran.timeline.render_text(terminal_width()))?;
    if let Some(path) = svg {
        ran.timeline.write_svg(path).with_context(|| format!("writing {}", path.display()))?;
        writeln!(out(), "Timeline written to {}\n", path.display())?;
    }
    Ok(())
}

/// `race-condition`: one run of the two counters, each counted by two threads.
#[derive(Debug, Clone, Copy)]
pub struct CounterRun {
    /// The load-then-store counter's total.
    pub racy: u64,
    /// The `Mutex` counter's total.
    pub locked: u64,
}

/// `race-condition`: says what the counters are about to do.
pub fn race_condition_plan(increments: u64) -> io::Result<()> {
    let (times, all) = (times(increments), thousands(2 * increments));
    writeln!(out(), "(b) Two threads each add 1 to a shared counter {times}: {all} in all.\n")
}

/// `race-condition`: a row per run, the verdict, where the proofs are, and `--json`.
pub fn race_condition(increments: u64, runs: &[CounterRun], json: bool) -> io::Result<()> {
    let expected = 2 * increments;
    let mut table = Table::new(["run", "load then store", "lost", "Mutex"]);
    for (run, counted) in (1..).zip(runs) {
        let lost = 100.0 * (expected - counted.racy) as f64 / expected as f64;
        let lost = format!("{lost:.1} %");
        table.row([run.to_string(), thousands(counted.racy), lost, thousands(counted.locked)]);
    }
    let exact = runs.iter().all(|counted| counted.locked == expected);
    let racy: Vec<i64> = runs.iter().map(|counted| counted.racy as i64).collect();
    let verdict = lost_updates(expected as i64, &racy, exact, "threads", "the Mutex");
    writeln!(out(), "{table}\n{verdict}\n{WHERE_THE_PROOFS_ARE}")?;
    if json {
        let racy: Vec<u64> = runs.iter().map(|counted| counted.racy).collect();
        let locked: Vec<u64> = runs.iter().map(|counted| counted.locked).collect();
        print_json(&json!({ "expected": expected, "racy": racy, "locked": locked }))?;
    }
    Ok(())
}

const WHERE_THE_PROOFS_ARE: &str = "Each load and store is atomic, yet the other thread can \
    write in between. The race that does not compile (two threads writing one plain variable) \
    is the compile_fail doctest in src/lib.rs; tests/loom.rs checks every interleaving and \
    finds those that lose an update.";

/// `channels`: the pipeline's shape, as the flags set it.
#[derive(Debug, Clone, Copy)]
pub struct PipelinePlan {
    pub items: u32,
    pub capacity: u32,
    pub consumers: u32,
    pub work: Duration,
}

/// `channels`: what came out of the pipeline, and of std's mpsc.
pub struct PipelineRan {
    /// Which consumer handled each item, in the order the items reached the collector.
    pub handled_by: Vec<u32>,
    /// The last item to arrive, as `B6`.
    pub last: String,
    /// How long the pipeline took; how long the producers spent blocked in `send`, over
    /// both; the run's timeline.
    pub elapsed: Duration,
    pub blocked: Duration,
    pub timeline: Timeline,
    /// The messages the one std `mpsc` receiver got.
    pub mpsc_received: usize,
}

impl PipelinePlan {
    /// Says what the pipeline is about to do.
    pub fn announce(&self) -> io::Result<()> {
        let (items, room, consumers) = (self.items, self.capacity, self.consumers);
        writeln!(
            out(),
            "1. Pipeline: producers A and B send {items} items each into a channel with room for {room};"
        )?;
        let work = human_duration(self.work);
        writeln!(
            out(),
            "{consumers} consumers take {work} per item and pass it on to a collector.\n"
        )
    }

    /// The pipeline's timeline and verdict, std mpsc's count, and `--json`.
    pub fn report(&self, ran: &PipelineRan, trace: &Trace, json: bool) -> Result<()> {
        let (elapsed, took) = (ran.elapsed, human_duration(ran.elapsed));
        let per_consumer = |c| ran.handled_by.iter().filter(|&&by| by == c).count().to_string();
        let shares = (1..=self.consumers).map(per_consumer).collect::<Vec<_>>().join(", ");
        writeln!(out(), "{}", ran.timeline.render_text(terminal_width()))?;
        trace.write(&ran.timeline)?;
        let (delivered, last) = (ran.handled_by.len(), &ran.last);
        writeln!(
            out(),
            "All {delivered} items arrived, in {took}, the last {last}; per consumer: {shares}."
        )?;
        let verdict = backpressure_verdict(ran.blocked, elapsed);
        let blocked_for = human_duration(ran.blocked);
        writeln!(
            out(),
            "The two producers spent {blocked_for} in all blocked in send: {verdict}.\n"
        )?;
        let mpsc_received = ran.mpsc_received;
        writeln!(
            out(),
            "2. std mpsc: 2 producers, 1 consumer (its Receiver cannot be cloned): received {mpsc_received} of 6 messages."
        )?;
        if json {
            print_json(&json!({
                "items": 2 * self.items, "delivered": delivered, "mpsc_received": mpsc_received,
                "producers_blocked_s": ran.blocked.as_secs_f64(), "pipeline_s": elapsed.as_secs_f64(),
            }))?;
        }
        Ok(())
    }
}

/// `simple-threads`: the log its threads print to, on one clock that it owns; it keeps
/// each thread's wait as a row of the timeline.
pub struct SimpleThreads {
    seed: u64,
    /// Each task's wait in seconds, before `--time-scale`: task 1's first.
    waits: Vec<f64>,
    scale: TimeScale,
    timeline: Timeline,
}

/// `simple-threads`: a task that has started its wait, and when.
pub struct Started {
    task: usize,
    at: Duration,
}

impl SimpleThreads {
    /// Starts the clock, and says what is about to start.
    pub fn announce(seed: u64, waits: Vec<f64>, scale: TimeScale) -> io::Result<Self> {
        let threads = plural(waits.len() as u64, "thread");
        writeln!(
            out(),
            "Starting {threads} with random waits (--seed {seed}, time scale {scale}).\n"
        )?;
        Ok(SimpleThreads { seed, waits, scale, timeline: Timeline::new() })
    }

    /// Task `task` (from 1) starts its wait.
    pub fn starts(&self, task: usize, wait: Duration) -> io::Result<Started> {
        let at = self.timeline.now();
        writeln!(out(), "{}  task {task} starts, waits {}", stamp(at), human_duration(wait))?;
        Ok(Started { task, at })
    }

    /// The task is done: its wait becomes a row of the timeline.
    pub fn done(&self, Started { task, at: start }: Started) -> io::Result<()> {
        let at = self.timeline.now();
        let wait = human_duration(self.scale.secs(self.waits[task - 1]));
        self.timeline.record(format!("task {task}"), wait, start, at);
        writeln!(out(), "{}  task {task} done", stamp(at))
    }

    /// `--no-join`: main is about to return with `started` threads, some of them still
    /// waiting. Says which die with the process; `--json`. Then holds stdout locked for
    /// good, so that no thread prints between these lines and the end of the process: with
    /// tiny waits one could still finish in that instant, and its "done" would contradict
    /// the count. (At exit, std only *tries* to lock stdout, so the lock is safe to keep.)
    pub fn returning_without_join(&self, started: usize, json: bool) -> io::Result<()> {
        let stdout = io::stdout().lock();
        self.print_without_join(started, json)?;
        std::mem::forget(stdout);
        Ok(())
    }

    fn print_without_join(&self, started: usize, json: bool) -> io::Result<()> {
        let timeline = &self.timeline;
        let finished: Vec<usize> = timeline.spans().iter().map(|s| task_of(&s.lane)).collect();
        let waiting = started - finished.len();
        let fate = if waiting == 0 {
            "every thread had already finished".to_string()
        } else {
            let threads = plural(waiting as u64, "thread");
            format!("the {threads} still waiting die with it; their \"done\" never prints")
        };
        writeln!(
            out(),
            "\n{}  main returns without joining: the process exits, and {fate}. (Python \
             would wait for them, unless they were daemon threads.)",
            stamp(timeline.now())
        )?;
        if json {
            print_json(&json!({ "seed": self.seed, "waits_s": self.waits, "finished": finished }))?;
        }
        Ok(())
    }

    /// Every thread was joined: the timeline, the order they finished in, and `--json`.
    pub fn joined(&self, trace: &Trace, json: bool) -> Result<()> {
        let timeline = &self.timeline;
        let mut spans = timeline.spans();
        spans.sort_by_key(|span| span.end);
        let finished: Vec<usize> = spans.iter().map(|span| task_of(&span.lane)).collect();
        writeln!(out(), "\nTimeline (a row per thread, in the order they started):")?;
        writeln!(out(), "{}", timeline.render_text(terminal_width()))?;
        trace.write(timeline)?;
        let wait_of = |task: usize| self.waits[task - 1];
        let listed: Vec<String> = (finished.iter())
            .map(|&t| format!("task {t} ({})", human_duration(self.scale.secs(wait_of(t)))))
            .collect();
        let by_wait = finished.windows(2).all(|w| wait_of(w[0]) <= wait_of(w[1]));
        let verdict = if by_wait {
            "Finished in the order of their waits"
        } else {
            "Finished out of the order of their waits (the waits were too short to tell apart)"
        };
        writeln!(out(), "{verdict}: {}.", listed.join(", "))?;
        if json {
            print_json(&json!({ "seed": self.seed, "waits_s": self.waits, "finished": finished }))?;
        }
        Ok(())
    }
}

/// The task number of a timeline lane named "task N".
fn task_of(lane: &str) -> usize {
    lane.trim_start_matches("task ").parse().expect("lanes are named \"task N\"")
}

/// `mutex-vs-atomic`: one way's count on two threads: its total, and the time until both
/// threads were done.
#[derive(Debug, Clone, Copy)]
pub struct Tally {
    pub total: u64,
    pub time: Duration,
}

/// `mutex-vs-atomic`: says what is about to run.
pub fn mutex_vs_atomic_plan(increments: u64) -> io::Result<()> {
    let (each, note) = (times(increments), build_note());
    writeln!(out(), "Two threads add 1 to a shared total {each} each, three ways ({note}).\n")
}

/// `mutex-vs-atomic`: the table of the three ways (a `Mutex`, `fetch_add`, partial sums, in
/// that order), the verdict and `--json`; an error if a total is not exact.
pub fn mutex_vs_atomic(increments: u64, tallies: &[Tally; 3], json: bool) -> Result<()> {
    let expected = 2 * increments;
    let ns_per_op = |tally: &Tally| tally.time.as_secs_f64() * 1e9 / expected as f64;
    let cheapest = tallies.iter().map(ns_per_op).fold(f64::MAX, f64::min);
    let mut table = Table::new(["method", "total", "time", "per increment", "vs cheapest"]);
    for (name, tally) in ["Mutex", "fetch_add", "partial sums"].iter().zip(tallies) {
        let per_op = format!("{:.2} ns", ns_per_op(tally));
        let ratio = format!("{:.0}×", ns_per_op(tally) / cheapest.max(1e-9));
        table.row([
            name.to_string(),
            thousands(tally.total),
            human_duration(tally.time),
            per_op,
            ratio,
        ]);
    }
    writeln!(out(), "{table}")?;
    ensure!(tallies.iter().all(|tally| tally.total == expected), "a counter is not exact");
    let [mutex, atomic, partial] =
        tallies.map(|tally| json!({"total": tally.total, "ns_per_op": ns_per_op(&tally)}));
    let fastest = tallies.iter().map(|tally| tally.time).min().unwrap_or_default();
    let [m, a, p] = tallies.each_ref().map(ns_per_op);
    writeln!(out(), "{}", counting_verdict(m, a, p, fastest))?;
    if json {
        print_json(&json!({
            "expected": expected, "mutex": mutex, "atomic": atomic, "partial": partial,
        }))?;
    }
    Ok(())
}

/// `thread-pool`: a job, and the thread that ran it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ran {
    pub job: u32,
    pub thread: String,
}

/// `thread-pool`: says what is about to run.
pub fn thread_pool_plan(jobs: u32, workers: u32, wait: Duration) -> io::Result<()> {
    writeln!(
        out(),
        "{jobs} jobs of {} each, on a hand-made pool of {workers} threads, then on a rayon pool of {workers}.\n",
        human_duration(wait),
    )
}

/// `thread-pool`: which thread ran each job on each pool, the timeline, whether the threads
/// were reused, and `--json`.
pub fn thread_pool(
    hand_made: Vec<Ran>,
    rayon: Vec<Ran>,
    timeline: &Timeline,
    trace: &Trace,
    json: bool,
) -> Result<()> {
    let (hand_made, rayon) = (PoolSummary::new(hand_made), PoolSummary::new(rayon));
    let mut table = Table::new(["job", "hand-made pool", "rayon pool"]);
    for (id, (a, b)) in hand_made.threads.iter().zip(&rayon.threads).enumerate() {
        table.row([id.to_string(), a.clone(), b.clone()]);
    }
    writeln!(out(), "{table}")?;
    writeln!(out(), "Timeline (a row per pool thread, a box per job):")?;
    writeln!(out(), "{}", timeline.render_text(terminal_width()))?;
    trace.write(timeline)?;
    writeln!(out(), "{}", hand_made.line("hand-made pool"))?;
    writeln!(out(), "{}", rayon.line("rayon pool"))?;
    // Reuse happened only if some thread ran more than one job.
    if hand_made.distinct_threads < hand_made.jobs || rayon.distinct_threads < rayon.jobs {
        writeln!(out(), "Each pool started its threads once and reused them from job to job.")?;
    } else {
        writeln!(
            out(),
            "No thread ran a second job, so nothing was reused: try more --jobs than --workers."
        )?;
    }
    if json {
        print_json(&json!({ "hand_made": hand_made, "rayon": rayon }))?;
    }
    Ok(())
}

/// What `--json` reports for one pool of `thread-pool`.
#[derive(Debug, Serialize)]
struct PoolSummary {
    jobs: usize,
    distinct_threads: usize,
    /// The thread that ran each job, in job order.
    threads: Vec<String>,
}

impl PoolSummary {
    fn new(mut ran: Vec<Ran>) -> Self {
        ran.sort();
        let distinct: BTreeSet<&String> = ran.iter().map(|ran| &ran.thread).collect();
        let distinct_threads = distinct.len();
        let threads = ran.into_iter().map(|ran| ran.thread).collect::<Vec<_>>();
        PoolSummary { jobs: threads.len(), distinct_threads, threads }
    }

    fn line(&self, pool: &str) -> String {
        let names: BTreeSet<&String> = self.threads.iter().collect();
        let names: Vec<&str> = names.into_iter().map(String::as_str).collect();
        let jobs = plural(self.jobs as u64, "job");
        let threads = plural(self.distinct_threads as u64, "thread");
        format!("{pool}: {jobs} on {threads} ({})", names.join(", "))
    }
}

/// `spawn-join`: says what the two threads are about to do, `wait` per number (`--wait`
/// seconds at `--time-scale`).
pub fn spawn_join_plan(
    numbers: &[u64],
    wait: Duration,
    seconds: f64,
    scale: TimeScale,
) -> io::Result<()> {
    let listed: Vec<String> = numbers.iter().map(u64::to_string).collect();
    writeln!(
        out(),
        "The main thread starts two threads: one squares {}, the other cubes them.\n\
         Each takes {} per number ({seconds} s × time scale {scale}).\n",
        listed.join(", "),
        human_duration(wait),
    )
}

/// `spawn-join`: the timeline of the two threads, whether they overlapped (each had `work`
/// to do), and `--json`.
pub fn spawn_join(
    timeline: &Timeline,
    work: Duration,
    squares: &[u64],
    cubes: &[u64],
    trace: &Trace,
    json: bool,
) -> Result<()> {
    let elapsed = timeline.now();
    writeln!(out(), "\nTimeline (a row per thread, a box per number):")?;
    writeln!(out(), "{}", timeline.render_text(terminal_width()))?;
    trace.write(timeline)?;
    // Each thread's interval, from its first span's start to its last span's end: a lane
    // each, whatever the binary names them.
    let Ok([first, second]) = <[_; 2]>::try_from(lane_extents(&timeline.spans())) else {
        bail!("expected two threads on the timeline");
    };
    let together = match overlap(work, first, second) {
        Overlap::Overlapped(shared) => {
            format!("The two threads ran at the same time for {}", human_duration(shared))
        }
        Overlap::OneAfterAnother => "The two threads ran one after the other".to_string(),
        Overlap::TooShortToTell => "The threads had too little work to show overlap".to_string(),
    };
    writeln!(
        out(),
        "{together}. join() waited for each and handed back the Vec it returned: \
         no shared list, no lock."
    )?;
    if json {
        print_json(&json!({
            "squares": squares, "cubes": cubes, "elapsed_s": elapsed.as_secs_f64(),
        }))?;
    }
    Ok(())
}

/// `scoped-threads`: what step 1 read (the primes in each half) and step 2 wrote (the flags
/// set), for the numbers below `limit`.
pub struct ScopedSteps {
    pub limit: u64,
    pub primes_read: [u64; 2],
    pub primes_written: u64,
}

impl ScopedSteps {
    /// Step 1's line.
    pub fn read(limit: u64, primes_read: [u64; 2]) -> io::Result<Self> {
        let [left, right] = primes_read;
        writeln!(
            out(),
            "1. Two threads read it, a half each: {} + {} = {} primes.",
            thousands(left),
            thousands(right),
            thousands(left + right)
        )?;
        Ok(ScopedSteps { limit, primes_read, primes_written: 0 })
    }

    /// Step 2's line, the timeline, whether both steps agree, and `--json`.
    pub fn wrote(
        mut self,
        primes_written: u64,
        timeline: &Timeline,
        trace: &Trace,
        json: bool,
    ) -> Result<()> {
        self.primes_written = primes_written;
        writeln!(
            out(),
            "2. Two threads wrote a flag per number into the two halves of another local Vec: {} set.\n",
            thousands(primes_written)
        )?;
        writeln!(out(), "Timeline (a row per thread; each step is one scope):")?;
        writeln!(out(), "{}", timeline.render_text(terminal_width()))?;
        trace.write(timeline)?;
        let total = self.primes_read.iter().sum::<u64>();
        ensure!(total == primes_written, "the two steps disagree: {total} and {primes_written}");
        writeln!(
            out(),
            "Both steps found {} primes below {}.",
            thousands(total),
            thousands(self.limit)
        )?;
        writeln!(
            out(),
            "The threads borrowed the local Vecs directly: `thread::scope` joins them before it \
             returns,\nso no borrow can outlive the data. No Arc, no clone, no lock."
        )?;
        if json {
            print_json(&json!({
                "limit": self.limit, "primes_read": self.primes_read, "primes_written": primes_written,
            }))?;
        }
        Ok(())
    }
}

/// `rayon-parallel`: says what is about to run.
pub fn rayon_parallel_plan(limit: u64, threads: usize) -> io::Result<()> {
    let (below, note) = (thousands(limit), build_note());
    writeln!(
        out(),
        "Counting the primes below {below} four ways; rayon's pool has {threads} threads.\n({note})\n"
    )
}

/// `rayon-parallel`: the run on `threads` threads, with the machine's load before it.
pub struct RayonTimes {
    pub limit: u64,
    pub threads: usize,
    pub load: Option<f64>,
    pub large: Large,
    pub tiny: Tiny,
}

/// `rayon-parallel`: the `primes` below `--limit`, and how long each way took to count them.
#[derive(Debug, Clone, Copy)]
pub struct Large {
    pub primes: u64,
    pub sequential: Duration,
    pub channel: Duration,
    pub par_iter: Duration,
    pub join: Duration,
}

/// `rayon-parallel`: the tiny input, the primes `below` `--tiny`: the medians of many runs on
/// one thread (`alone`) and with `par_iter`.
#[derive(Debug, Clone, Copy)]
pub struct Tiny {
    pub below: u64,
    pub alone: Duration,
    pub rayon: Duration,
}

/// `rayon-parallel`: the speedup table, par_iter's verdict, the tiny input's, and `--json`.
pub fn rayon_parallel(times: &RayonTimes, json: bool) -> io::Result<()> {
    let RayonTimes { limit, threads, load, large, tiny } = *times;
    let Large { primes, sequential, channel, par_iter, join } = large;
    let rows = [
        ("sequential", sequential),
        ("par_iter", par_iter),
        ("rayon::join", join),
        ("channel + threads", channel),
    ];
    writeln!(out(), "{}", speedup_table(&rows))?;
    let run = ParallelRun::new(sequential, par_iter, threads, load);
    let verdict = speedup_verdict(&run, "rayon threads");
    writeln!(out(), "par_iter, by changing one word of the code: {verdict}")?;
    writeln!(out(), "{}", tiny_verdict(tiny.below, tiny.alone, tiny.rayon))?;
    if json {
        print_json(&json!({
            "limit": limit, "threads": threads, "primes": primes,
            "sequential_s": sequential.as_secs_f64(), "rayon_s": run.took.as_secs_f64(),
            "speedup": run.speedup, "join_s": join.as_secs_f64(),
            "channel_s": channel.as_secs_f64(), "tiny": tiny.below,
            "tiny_sequential_s": tiny.alone.as_secs_f64(),
            "tiny_rayon_s": tiny.rayon.as_secs_f64(),
        }))?;
    }
    Ok(())
}

/// `rayon-parallel`'s verdict on the tiny input (the primes below `tiny`): whether `par_iter`
/// was slower there than one thread.
fn tiny_verdict(tiny: u64, alone: Duration, rayon: Duration) -> String {
    let (slower_or_not, lesson) = if rayon > alone {
        ("slower", "Parallelism pays only at scale.")
    } else {
        ("not slower", "Here the work was still big enough to share; try a smaller --tiny.")
    };
    let (below, alone, rayon) = (thousands(tiny), human_duration(alone), human_duration(rayon));
    format!(
        "Below {below} it was {slower_or_not}: {alone} on one thread, {rayon} with par_iter. {lesson}"
    )
}

/// `channel-select`: says what is about to run.
pub fn channel_select_plan(timeout: Duration, scale: TimeScale) -> io::Result<()> {
    let timeout = human_duration(timeout);
    writeln!(out(), "select! on two channels, with a timeout of {timeout} (time scale {scale}):")
}

/// `channel-select`: how many events, and timeouts among them, `select!` returned; `--json`.
pub fn channel_select(events: &[String], json: bool) -> io::Result<()> {
    let timeouts = events.iter().filter(|event| event.starts_with("timeout")).count();
    let timeouts = plural(timeouts as u64, "timeout");
    writeln!(
        out(),
        "\nBoth channels closed after {} events, including {timeouts}: one thread waited on both, and on the clock.",
        events.len()
    )?;
    if json {
        print_json(&json!({ "select_events": events }))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tiny_input_is_called_slower_only_when_it_was() {
        let us = Duration::from_micros;
        let slower = tiny_verdict(1_000, us(6), us(19));
        assert_eq!(
            slower,
            "Below 1,000 it was slower: 6.00 µs on one thread, 19.0 µs with par_iter. Parallelism pays only at scale."
        );
        assert!(tiny_verdict(1_000, us(19), us(6)).contains("not slower"));
    }
}
