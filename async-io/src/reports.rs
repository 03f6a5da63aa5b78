//! What a binary prints once its lesson has run: the tables, the verdict and `--json`.
//!
//! One item per binary, named after it. They live here so that each binary reads as its
//! lesson (the Contributing rule in the root README): the binary hands over its figures as
//! named fields, and the words, columns and JSON fields are made here. The verdicts
//! themselves are tested functions of `shared::report`.

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
    Table, build_note, gathered, heartbeat_verdict, human_duration, out, plural, print_json,
    thousands, waits_overlapped,
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
    pub memory_during: Option<usize>,
    pub bytes_per_task: Option<f64>,
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
        let per_task = waited.bytes_per_task.map(|bytes| thousands(bytes as u64));
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
                "bytes_per_task": waited.bytes_per_task,
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
    pub count: Range<Instant>,
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
        self.count.end - self.count.start
    }

    /// How late the latest tick came.
    pub fn worst_delay(&self) -> Duration {
        self.ticks.iter().map(|tick| tick.came - tick.due).max().unwrap_or_default()
    }
}

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

    /// Adds the count that ran `way` (as the table names it), on `thread` (as the timeline
    /// names it).
    pub fn add(&mut self, way: &str, thread: &str, run: &CountRun) {
        let (took, late) = (run.took(), run.worst_delay());
        let row =
            [way.to_string(), thousands(run.primes), human_duration(took), human_duration(late)];
        self.table.row(row);
        self.took.push(took);
        self.worst.push(late);
        let at = |instant: Instant| self.timeline.offset_of(instant.into_std());
        let lane = format!("count ({thread})");
        self.timeline.record(lane, "counting primes", at(run.count.start), at(run.count.end));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The closing sentence follows what the run showed, part by part.
    #[test]
    fn the_conclusion_follows_the_run() {
        let usual = SmolTour {
            finished: [("smol", false), ("tokio", true), ("smol, detached", true)].into(),
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
        let count = start + ms(30)..start + ms(230);
        let ticks = vec![Tick { due: start + ms(40), came: start + ms(231) }];
        let mut report = BlockingReport::announce(ms(10), 1_000).unwrap();
        report.add(
            "inline in a task",
            "the runtime's thread",
            &CountRun { primes: 168, count, ticks },
        );
        let spans = report.timeline.spans();
        let count = spans.iter().find(|s| s.lane == "count (the runtime's thread)").unwrap();
        let tick = spans.iter().find(|s| s.lane.starts_with("heartbeat")).unwrap();
        assert!(tick.start < count.end && tick.end >= count.end, "{spans:?}");
        assert_eq!(tick.label, "tick, 191 ms late");
    }
}
