//! Reporting: human-readable durations and numbers, aligned tables, the build's optimisation,
//! verdicts that follow from measured figures, and a stdout that a reader may close.

use std::error::Error;
use std::fmt;
use std::io::{self, Write};
use std::ops::Range;
use std::time::Duration;

/// A duration with three significant digits and a fitting unit: `1.23 s`, `45.6 ms`, `789 µs`.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(shared::report::human_duration(Duration::from_micros(45_600)), "45.6 ms");
/// ```
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    let (value, unit) = if secs >= 1.0 {
        (secs, "s")
    } else if secs >= 1e-3 {
        (secs * 1e3, "ms")
    } else if secs >= 1e-6 {
        (secs * 1e6, "µs")
    } else {
        (secs * 1e9, "ns")
    };
    let decimals = if value >= 100.0 || unit == "ns" {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.decimals$} {unit}")
}

/// Runs `f`, and returns what it returned with how long it took: a timing that does not
/// wrap the line it measures in bookkeeping.
///
/// ```
/// let (sum, took) = shared::report::timed(|| (1..=10u64).sum::<u64>());
/// assert_eq!(sum, 55);
/// assert!(took < std::time::Duration::from_secs(1));
/// ```
pub fn timed<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let start = std::time::Instant::now();
    (f(), start.elapsed())
}

/// The time since a run started, as every timestamped line of the examples begins it:
/// seconds with two decimals, right-aligned.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(shared::report::stamp(Duration::from_millis(500)), "  0.50 s");
/// assert_eq!(shared::report::stamp(Duration::from_secs(12)), " 12.00 s");
/// ```
pub fn stamp(since_start: Duration) -> String {
    format!("{:6.2} s", since_start.as_secs_f64())
}

/// A log that owns its clock: each line it says begins with the time since the log was made
/// (see [`stamp`]), so that the code it narrates keeps no start time of its own.
///
/// ```
/// let log = shared::report::StampedLog::new();
/// log.say("read \"hello\"")?; // prints `  0.00 s  read "hello"`
/// assert!(log.elapsed() < std::time::Duration::from_secs(1));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct StampedLog(std::time::Instant);

impl Default for StampedLog {
    fn default() -> Self {
        Self::new()
    }
}

impl StampedLog {
    /// A log whose clock starts now.
    pub fn new() -> Self {
        StampedLog(std::time::Instant::now())
    }

    /// Prints `  0.20 s  what` to [`out`].
    pub fn say(&self, what: impl fmt::Display) -> io::Result<()> {
        writeln!(out(), "{}  {what}", stamp(self.elapsed()))
    }

    /// The time since the log was made.
    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

/// An integer with thousands separators: `2000000` → `2,000,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How many times, in words: `once`, `twice`, `1,000 times`.
pub fn times(n: u64) -> String {
    match n {
        1 => "once".to_string(),
        2 => "twice".to_string(),
        n => format!("{} times", thousands(n)),
    }
}

/// A count and its noun, in the plural when it is not one: `1 worker`, `2 workers`,
/// `10,000 tasks`, `2 processes`. (For nouns whose plural adds "s", or "es" after s, x, ch, sh.)
pub fn plural(n: u64, noun: &str) -> String {
    let es = ["s", "x", "ch", "sh"].iter().any(|end| noun.ends_with(end));
    match n {
        1 => format!("1 {noun}"),
        n => format!("{} {noun}{}", thousands(n), if es { "es" } else { "s" }),
    }
}

/// The first `shown` values, each padded to one width so that rows of them line up in
/// columns, and how many more there are: `  100    97 … (5 more)`.
///
/// ```
/// assert_eq!(shared::report::first_few(&[100, 97, -3], 2), "  100    97 … (1 more)");
/// assert_eq!(shared::report::first_few(&[100], 10), "  100");
/// ```
pub fn first_few(values: &[i64], shown: usize) -> String {
    let mut cells: Vec<String> = values.iter().take(shown).map(|v| format!("{v:>5}")).collect();
    if values.len() > shown {
        cells.push(format!("… ({} more)", values.len() - shown));
    }
    cells.join(" ")
}

/// A plain-text table: a header row, a rule, then rows. Columns are padded to their widest
/// cell; cells that look like numbers (start with a digit) are right-aligned.
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new<S: ToString>(header: impl IntoIterator<Item = S>) -> Self {
        Table { header: header.into_iter().map(|h| h.to_string()).collect(), rows: Vec::new() }
    }

    /// Appends a row (missing cells are left blank, extra cells are dropped).
    pub fn row<S: ToString>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        let mut row: Vec<String> = cells.into_iter().map(|c| c.to_string()).collect();
        row.resize(self.header.len(), String::new());
        self.rows.push(row);
        self
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|col| {
                std::iter::once(&self.header)
                    .chain(&self.rows)
                    .map(|row| row[col].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let numeric = |cell: &str| cell.starts_with(|c: char| c.is_ascii_digit());
        let line = |f: &mut fmt::Formatter<'_>, row: &[String]| -> fmt::Result {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(
                    |(cell, &w)| {
                        if numeric(cell) { format!("{cell:>w$}") } else { format!("{cell:<w$}") }
                    },
                )
                .collect();
            writeln!(f, "{}", cells.join("  ").trim_end())
        };
        line(f, &self.header)?;
        let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
        writeln!(f, "{}", rule.join("  "))?;
        for row in &self.rows {
            line(f, row)?;
        }
        Ok(())
    }
}

/// The optimisation level `shared` (and so the workloads) was compiled with: "0" to "3", "s", "z".
pub const OPT_LEVEL: &str = env!("SHARED_OPT_LEVEL");

/// Whether the workloads were compiled with optimisation.
pub fn optimized() -> bool {
    OPT_LEVEL != "0"
}

/// A one-line description of the build, for examples that print timings. It warns when
/// the build is unoptimised, because such timings can be 10× slower and misleading.
pub fn build_note() -> String {
    if optimized() {
        format!("an optimised build: opt-level {OPT_LEVEL}")
    } else {
        "UNOPTIMISED build (opt-level 0): timings are not representative; build with \
         --release, or set `opt-level = 2` under `[profile.dev]` in Cargo.toml"
            .to_string()
    }
}

/// Prints the build note on stderr, but only for an unoptimised build: for examples whose
/// timings are not the point, yet should not mislead.
pub fn warn_if_unoptimized() {
    if !optimized() {
        eprintln!("warning: {}", build_note());
    }
}

/// Stdout for an example's output: use it with `writeln!(out, ...)?` where you would write
/// `println!`. `println!` panics when the reader has gone (`cargo run ... | head -n 3`);
/// a write to [`Out`] returns an error instead, which `?` carries up to `main`, running
/// every destructor on the way (child processes are reaped, temporary files removed), and
/// [`ok_if_stdout_closed`] turns it into a quiet, successful end.
///
/// SIGPIPE stays ignored, as Rust sets it up: a process that writes to its children or to
/// sockets must get an error when a peer goes away, not be killed.
pub fn out() -> Out {
    Out(io::stdout())
}

/// The handle [`out`] returns. Each `writeln!` is written whole, even from several threads.
#[derive(Debug)]
pub struct Out(io::Stdout);

/// The error a write to [`Out`] returns once the reader has closed stdout.
#[derive(Debug)]
pub struct StdoutClosed;

impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stdout was closed by its reader")
    }
}

impl Error for StdoutClosed {}

/// Marks a broken pipe on stdout, so that it is told apart from one on a child's pipe or a
/// socket (which is a real error).
fn mark_closed(err: io::Error) -> io::Error {
    if err.kind() == io::ErrorKind::BrokenPipe {
        io::Error::new(io::ErrorKind::BrokenPipe, StdoutClosed)
    } else {
        err
    }
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(mark_closed)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(mark_closed)
    }

    // Forwarded whole, so that stdout's lock is held for the entire line.
    fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> io::Result<()> {
        self.0.write_fmt(args).map_err(mark_closed)
    }
}

/// The end of every example's `main`: `Ok` if the run was cut short only because the reader
/// closed stdout, otherwise `result` unchanged.
pub fn ok_if_stdout_closed(result: anyhow::Result<()>) -> MainResult {
    match result {
        Err(err) if err.chain().any(is_stdout_closed) => Ok(()),
        other => Ok(other?),
    }
}

fn is_stdout_closed(err: &(dyn Error + 'static)) -> bool {
    let inner = err.downcast_ref::<io::Error>().and_then(|io| io.get_ref());
    err.is::<StdoutClosed>() || inner.is_some_and(|inner| inner.is::<StdoutClosed>())
}

/// What every example's `main` returns. An error prints as one line, `Error: ` and then
/// what failed and why, joined by `: ` (anyhow's `{:#}`), with exit code 1 — rather than
/// anyhow's report over several lines ("Caused by:", and a backtrace where
/// `RUST_BACKTRACE` is set), which is for a program's developers, not its users.
pub type MainResult = Result<(), OneLine>;

/// The error of a [`MainResult`]: any error, shown in one line.
pub struct OneLine(anyhow::Error);

impl<E: Into<anyhow::Error>> From<E> for OneLine {
    fn from(err: E) -> Self {
        OneLine(err.into())
    }
}

impl fmt::Debug for OneLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

/// Prints `value` as one line of JSON on stdout (the `--json` output), through [`out`].
pub fn print_json(value: &impl serde::Serialize) -> io::Result<()> {
    let line = serde_json::to_string(value).map_err(io::Error::other)?;
    writeln!(out(), "{line}")
}

/// What two measured intervals say about work that could have run at the same time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// Both were running during this much time.
    Overlapped(Duration),
    /// One ended before the other started.
    OneAfterAnother,
    /// The shorter lasted under [`TOO_SHORT_TO_TELL`] (`--time-scale 0`, say): too close to
    /// the clock's own grain to show anything.
    TooShortToTell,
}

/// Intervals shorter than this cannot show overlap: tokio's timers round up to the next
/// millisecond, so even a wait of zero lasts about 1 ms, and two such "waits" always overlap.
pub const TOO_SHORT_TO_TELL: Duration = Duration::from_millis(5);

/// Judges two intervals on one clock, e.g. two waits or two processes' work, from when each
/// started and ended. Comparing intervals, not a total with a sum, keeps fixed costs (starting
/// a process, timers rounding up to the millisecond) from passing for a lack of overlap.
///
/// `planned` is how long the shorter piece was *meant* to take (a scaled wait, say): below
/// [`TOO_SHORT_TO_TELL`] there is nothing to judge, however long a busy machine stretched
/// the intervals — waits of 0 ns that overlapped for 9 ms show the machine, not the code.
///
/// ```
/// use std::time::Duration;
/// use shared::report::{Overlap, overlap};
/// let s = Duration::from_secs;
/// assert_eq!(overlap(s(1), s(0)..s(2), s(1)..s(3)), Overlap::Overlapped(s(1)));
/// assert_eq!(overlap(s(1), s(0)..s(1), s(1)..s(2)), Overlap::OneAfterAnother);
/// assert_eq!(overlap(s(1), s(0)..s(0), s(0)..s(1)), Overlap::TooShortToTell);
/// assert_eq!(overlap(s(0), s(0)..s(1), s(0)..s(1)), Overlap::TooShortToTell);
/// ```
pub fn overlap(planned: Duration, a: Range<Duration>, b: Range<Duration>) -> Overlap {
    let length = |r: &Range<Duration>| r.end.saturating_sub(r.start);
    if planned.min(length(&a)).min(length(&b)) < TOO_SHORT_TO_TELL {
        return Overlap::TooShortToTell;
    }
    match a.end.min(b.end).saturating_sub(a.start.max(b.start)) {
        shared if shared.is_zero() => Overlap::OneAfterAnother,
        shared => Overlap::Overlapped(shared),
    }
}

/// How a set of waits run at once took: `elapsed` against the `longest` wait and their `sum`.
/// Claims "the longest wait, not the sum" only when the total is nearer the longest wait.
///
/// ```
/// use std::time::Duration;
/// use shared::report::gathered;
/// let ms = Duration::from_millis;
/// assert_eq!(gathered(ms(3000), ms(6000), ms(3010)), "the longest wait, not the sum");
/// assert_eq!(gathered(ms(3000), ms(6000), ms(5900)), "about the sum");
/// assert_eq!(gathered(ms(3), ms(6), ms(3)), "too short to tell the longest wait from the sum");
/// ```
pub fn gathered(longest: Duration, sum: Duration, elapsed: Duration) -> &'static str {
    if longest < TOO_SHORT_TO_TELL {
        "too short to tell the longest wait from the sum"
    } else if elapsed < (longest + sum) / 2 {
        "the longest wait, not the sum"
    } else {
        "about the sum"
    }
}

/// A parallel run of CPU-bound work, as [`speedup_verdict`] judges it.
#[derive(Debug, Clone, Default)]
pub struct ParallelRun {
    /// Sequential time ÷ parallel time.
    pub speedup: f64,
    /// The best speedup there could be: the fewest of workers, cores and jobs.
    pub ideal: usize,
    /// The machine's cores.
    pub cores: usize,
    /// How long the parallel run lasted.
    pub took: Duration,
    /// The load average before the run ([`load_average`]), so a busy machine can be named.
    pub load: Option<f64>,
    /// A cost of this run's own settings that holds the speedup back, in words, if any
    /// (`pool`: "--max-tasks-per-child made the pool start a process every few tasks").
    pub known_cost: Option<String>,
}

impl ParallelRun {
    /// The parallel run that took `took` against the sequential one that took `sequential`,
    /// on this machine: `workers` is the fewest of workers and jobs (the machine's cores
    /// bound the ideal too), `load` the load average read before the runs.
    pub fn new(sequential: Duration, took: Duration, workers: usize, load: Option<f64>) -> Self {
        let cores = crate::limits::cores();
        let speedup = sequential.as_secs_f64() / took.as_secs_f64();
        Self { speedup, ideal: workers.min(cores), cores, took, load, known_cost: None }
    }

    /// Within 15 % of the ideal, or above it.
    pub fn close_to_ideal(&self) -> bool {
        self.speedup >= self.ideal as f64 * 0.85
    }
}

/// The table of one computation timed several ways: `runs` are (how it ran, how long it
/// took), the first of them the sequential run that the speedups are measured against.
///
/// ```
/// use std::time::Duration;
/// let table = shared::report::speedup_table(&[
///     ("one thread", Duration::from_secs(2)),
///     ("4 threads", Duration::from_millis(500)),
/// ]);
/// let text = table.to_string();
/// assert!(text.contains("one thread") && text.contains("1.00×"), "{text}");
/// assert!(text.contains("4 threads") && text.contains("500 ms") && text.contains("4.00×"), "{text}");
/// ```
pub fn speedup_table(runs: &[(&str, Duration)]) -> Table {
    let mut table = Table::new(["run", "elapsed", "speedup"]);
    let sequential = runs.first().map_or(0.0, |(_, time)| time.as_secs_f64());
    for (name, time) in runs {
        let speedup = format!("{:.2}×", sequential / time.as_secs_f64());
        table.row([name.to_string(), human_duration(*time), speedup]);
    }
    table
}

/// The one verdict on a speedup that `workers`, `rayon-parallel` and `pool` print: close to
/// the ideal, above it (the sequential run was slowed), or far from it and why — a run too
/// short to be worth it, a known cost of the settings, a busy machine (from the load average),
/// or nothing visible. `units` names what ran in parallel ("worker threads", "processes").
pub fn speedup_verdict(run: &ParallelRun, units: &str) -> String {
    let (got, ideal) = (format!("{:.2}×", run.speedup), run.ideal);
    if run.speedup > ideal as f64 * 1.03 {
        return format!(
            "{got} is more than the ideal {ideal}×: the sequential run was probably the slower \
             one (other work on the machine, or the CPU still speeding up). Run it again."
        );
    }
    if run.close_to_ideal() {
        return if ideal == 1 {
            format!(
                "{got}: with one worker, one core or one job, nothing can run in parallel, \
                 so about 1× is all there is to get."
            )
        } else {
            format!(
                "{got} is close to the ideal {ideal}×: the {units} kept {ideal} cores busy at \
                 the same time."
            )
        };
    }
    let cores = run.cores;
    let busy = run.load.filter(|&load| cores as f64 - load < ideal as f64 - 0.5);
    let why = if run.took < Duration::from_millis(100) {
        format!(
            "The job is too small to be worth {units}: the parallel run lasted {}, and starting \
             them and handing out jobs take a real share of that. Try a larger --limit.",
            human_duration(run.took)
        )
    } else if let Some(cost) = &run.known_cost {
        format!("{cost}.")
    } else if let Some(load) = busy {
        format!(
            "Other work was probably using the cores: the load average over the minute before \
             this run was {load:.2} on {cores} cores (a build just before counts too). \
             Run it again on a quiet machine."
        )
    } else {
        let load = run.load.map(|l| format!(" (load average {l:.2} on {cores} cores)"));
        format!(
            "Nothing else seemed to be running{}, but a virtual machine's host does not always \
             give it {ideal} full cores. Run it again: the median of a few runs is what counts.",
            load.unwrap_or_default()
        )
    };
    if run.speedup < 1.0 {
        // Below 1× the parallel run lost time: say so, not only that it missed the ideal.
        return format!("{got}: slower than one at a time, let alone the ideal {ideal}×. {why}");
    }
    format!("{got} is far from the ideal {ideal}×. {why}")
}

/// The verdict on an unsynchronised read-then-write beside synchronised versions of it:
/// `racy` holds each run's result without synchronisation, all of which should be
/// `expected`; `exact` says whether every run with `fix` (the synchronised versions, as "the
/// Mutex") was. `who` names the two parties ("threads", "processes"). Used by
/// `race-condition` and `bank-balance`.
pub fn lost_updates(expected: i64, racy: &[i64], exact: bool, who: &str, fix: &str) -> String {
    let wrong = racy.iter().filter(|&&r| r != expected).count();
    let worst = racy.iter().map(|r| r.abs_diff(expected)).max().unwrap_or(0);
    let unsynchronised = if wrong == 0 {
        format!(
            "Without synchronisation no update was lost this time: the race needs the two {who} \
             to interleave (try more operations or runs, on two cores)."
        )
    } else {
        format!(
            "Without synchronisation {wrong} of {} ended wrong (off by up to {}): while one of \
             the {who} was between its read and its write, the other wrote, and an update was lost.",
            plural(racy.len() as u64, "run"),
            thousands(worst)
        )
    };
    let synchronised = if exact {
        format!("With {fix}, every run was exact.")
    } else {
        format!("Unexpected: with {fix}, a run lost an update.")
    };
    format!("{unsynchronised}\n{synchronised}")
}

/// The verdict on `n` waits of `wait` each, started at once, that took `elapsed` in all:
/// they overlapped (nearer one wait than `n` of them end to end), or not; one wait, or waits
/// under [`TOO_SHORT_TO_TELL`], show nothing either way.
///
/// ```
/// use std::time::Duration;
/// use shared::report::waits_overlapped;
/// let ms = Duration::from_millis;
/// assert_eq!(waits_overlapped(1000, ms(1000), ms(1050)), "they overlapped");
/// assert!(waits_overlapped(1000, ms(1000), ms(2500)).starts_with("they overlapped (one after"));
/// assert_eq!(waits_overlapped(3, ms(1000), ms(2900)), "they did not overlap");
/// assert_eq!(waits_overlapped(1, ms(1000), ms(1000)), "a single wait has nothing to overlap with");
/// assert_eq!(waits_overlapped(9, ms(0), ms(3)), "too short to show them overlapping");
/// ```
pub fn waits_overlapped(n: u32, wait: Duration, elapsed: Duration) -> String {
    let one_after_another = wait.saturating_mul(n);
    if n == 1 {
        "a single wait has nothing to overlap with".into()
    } else if wait < TOO_SHORT_TO_TELL {
        "too short to show them overlapping".into()
    } else if elapsed < wait * 2 {
        "they overlapped".into()
    } else if elapsed < one_after_another / 2 {
        format!(
            "they overlapped (one after another: {}), though starting and finishing the tasks \
             took longer than one wait",
            human_duration(one_after_another)
        )
    } else {
        "they did not overlap".into()
    }
}

/// The verdict on producers that sent into a bounded channel for `run` in all and spent
/// `blocked` (summed over them) waiting in `send`: held back to the consumers' pace if they
/// waited more than half the run, else the channel had room.
///
/// ```
/// use std::time::Duration;
/// use shared::report::backpressure_verdict;
/// let ms = Duration::from_millis;
/// assert!(backpressure_verdict(ms(900), ms(600)).contains("backpressure"));
/// assert!(backpressure_verdict(ms(100), ms(600)).starts_with("the channel had room"));
/// ```
pub fn backpressure_verdict(blocked: Duration, run: Duration) -> &'static str {
    if blocked > run / 2 {
        "the full channel held them back to the pace of the consumers — backpressure, instead \
         of a queue that grows without limit"
    } else {
        "the channel had room, so the items waited in it, in memory, for a free consumer"
    }
}

/// The verdict on three exact ways to count on two threads: a `Mutex`, an atomic `fetch_add`
/// and partial sums combined once, at `mutex`, `atomic` and `partial` nanoseconds per
/// increment. The usual order holds when each costs more than the next; if the fastest
/// whole run took under a millisecond, starting the threads outweighed the increments.
///
/// ```
/// use std::time::Duration;
/// use shared::report::counting_verdict;
/// let ms = Duration::from_millis;
/// assert!(counting_verdict(20.0, 5.0, 0.3, ms(5)).contains("the cheapest lock is the one"));
/// assert!(counting_verdict(20.0, 25.0, 0.3, ms(5)).contains("did not hold"));
/// assert!(counting_verdict(20.0, 5.0, 0.3, Duration::from_micros(200)).contains("too few"));
/// ```
pub fn counting_verdict(mutex: f64, atomic: f64, partial: f64, fastest: Duration) -> &'static str {
    if fastest < Duration::from_millis(1) {
        "All three are exact, but too few increments to compare their cost: starting the \
         threads took most of the time. Try the default --increments."
    } else if mutex > atomic && atomic > partial {
        "All three are exact. Per increment, the Mutex costs most, the atomic less, and \
         partial sums least: the cheapest lock is the one you don't take — count on each \
         thread, combine once at the end."
    } else {
        "All three are exact; this time the usual order of their costs (Mutex, then atomic, \
         then partial sums) did not hold. Run it again on a quiet machine."
    }
}

/// The verdict on a heartbeat that wants to tick every `tick`, while CPU work that took `work`
/// ran inline in a task on its thread (the heartbeat's worst delay then: `inline`) and then
/// off it (its worst delay: `moved`). The work stalled it only if the inline delay is over a
/// tick and more than twice the other; else the work was too short to tell.
///
/// ```
/// use std::time::Duration;
/// use shared::report::heartbeat_verdict;
/// let ms = Duration::from_millis;
/// let stalled = heartbeat_verdict(ms(10), ms(200), ms(205), ms(1));
/// assert!(stalled.starts_with("Counting inline stalled the heartbeat for 205 ms"), "{stalled}");
/// assert!(stalled.contains("its worst delay was 1.00 ms"), "{stalled}");
/// let short = heartbeat_verdict(ms(10), ms(3), ms(4), ms(1));
/// assert!(short.starts_with("The count (3.00 ms) was too short"), "{short}");
/// ```
pub fn heartbeat_verdict(
    tick: Duration,
    work: Duration,
    inline: Duration,
    moved: Duration,
) -> String {
    let [tick_text, work_text, inline_text, moved_text] =
        [tick, work, inline, moved].map(human_duration);
    if inline > moved * 2 && inline > tick {
        format!(
            "Counting inline stalled the heartbeat for {inline_text}: a task that does not reach an \
             .await keeps\nevery other task on its thread waiting. With spawn_blocking and rayon \
             its worst delay was {moved_text}\n(it ticks every {tick_text})."
        )
    } else {
        format!(
            "The count ({work_text}) was too short to stall the heartbeat visibly; try a larger --limit."
        )
    }
}

/// The system's load average over the last minute — how many threads, on average, were
/// running or waiting for a core (on Linux, also those waiting for a disk) — where the OS
/// publishes it (Linux: `/proc/loadavg`).
pub fn load_average() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_speedup_verdict_follows_the_figures() {
        let (long, short) = (Duration::from_secs(1), Duration::from_millis(5));
        let verdict = |speedup, ideal, cores, took, load| {
            let run = ParallelRun { speedup, ideal, cores, took, load, known_cost: None };
            speedup_verdict(&run, "threads")
        };
        assert!(verdict(1.94, 2, 2, long, Some(0.1)).contains("close to the ideal 2×"));
        assert!(verdict(3.9, 4, 8, long, None).contains("the threads kept 4 cores busy"));
        assert!(verdict(0.98, 1, 2, long, None).starts_with("0.98×: with one worker"));
        // One job or not, a run of microseconds is too small to judge.
        assert!(verdict(0.0, 1, 2, short, None).contains("too small"));
        assert!(verdict(2.13, 2, 2, long, None).contains("more than the ideal"));
        // Far from the ideal: a short run is blamed on its size, a long one on the load...
        let small = verdict(0.01, 2, 2, short, Some(3.0));
        assert!(
            small.contains("slower than one at a time") && small.contains("too small"),
            "{small}"
        );
        let short_of = verdict(1.3, 2, 2, short, None);
        assert!(short_of.starts_with("1.30× is far from the ideal 2×"), "{short_of}");
        let busy = verdict(1.05, 2, 2, long, Some(1.7));
        assert!(busy.contains("load average") && busy.contains("1.70 on 2 cores"), "{busy}");
        // ...but only a load that leaves fewer free cores than the workers need.
        let roomy = verdict(1.05, 2, 16, long, Some(1.7));
        assert!(roomy.contains("Nothing else seemed to be running"), "{roomy}");
        let quiet = verdict(1.2, 2, 2, long, Some(0.05));
        assert!(quiet.contains("Nothing else seemed to be running"), "{quiet}");
        assert!(!verdict(1.2, 2, 2, long, None).contains("load average"));
        // A known cost of the settings comes before the load.
        let cost = Some("--max-tasks-per-child made the pool start many processes".to_string());
        let run = ParallelRun {
            speedup: 1.1,
            ideal: 2,
            cores: 2,
            took: long,
            load: Some(1.7),
            known_cost: cost,
        };
        assert!(speedup_verdict(&run, "processes").ends_with("start many processes."));
    }

    #[test]
    fn durations_have_three_significant_digits() {
        assert_eq!(human_duration(Duration::from_secs(1)), "1.00 s");
        assert_eq!(human_duration(Duration::from_millis(1234)), "1.23 s");
        assert_eq!(human_duration(Duration::from_secs(75)), "75.0 s");
        assert_eq!(human_duration(Duration::from_micros(45_600)), "45.6 ms");
        assert_eq!(human_duration(Duration::from_micros(789)), "789 µs");
        assert_eq!(human_duration(Duration::from_nanos(3_500)), "3.50 µs");
        assert_eq!(human_duration(Duration::from_nanos(42)), "42 ns");
        assert_eq!(human_duration(Duration::ZERO), "0 ns");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(2_000_000), "2,000,000");
        assert_eq!(thousands(148_933), "148,933");
    }

    #[test]
    fn lost_updates_follow_the_runs() {
        let lost = lost_updates(100, &[100, 97, 130], true, "processes", "a lock");
        assert!(
            lost.starts_with("Without synchronisation 2 of 3 runs ended wrong (off by up to 30)")
        );
        assert!(lost.ends_with("With a lock, every run was exact."), "{lost}");
        let none = lost_updates(100, &[100], false, "threads", "a Mutex");
        assert!(none.contains("no update was lost this time") && none.contains("Unexpected"));
    }

    #[test]
    fn plurals() {
        assert_eq!((plural(1, "worker"), plural(0, "task")), ("1 worker".into(), "0 tasks".into()));
        assert_eq!(plural(10_000, "task"), "10,000 tasks");
        assert_eq!(plural(2, "worker process"), "2 worker processes");
    }

    #[test]
    fn times_in_words() {
        assert_eq!([times(1), times(2), times(1_000)], ["once", "twice", "1,000 times"]);
    }

    #[test]
    fn table_aligns_columns() {
        let mut table = Table::new(["model", "workers", "elapsed"]);
        table.row(["sequential", "1", "612 ms"]).row(["threads", "12", "1.02 s"]);
        let expected = "\
model       workers  elapsed
----------  -------  -------
sequential        1   612 ms
threads          12   1.02 s
";
        assert_eq!(table.to_string(), expected);
    }

    #[test]
    fn overlap_follows_the_intervals() {
        let ms = Duration::from_millis;
        // Waits of 10 and 20 ms that timers stretched a little still overlap for 10 ms, even
        // though their total (21 ms) is not much below their sum.
        assert_eq!(overlap(ms(10), ms(0)..ms(11), ms(0)..ms(21)), Overlap::Overlapped(ms(11)));
        assert_eq!(overlap(ms(10), ms(5)..ms(30), ms(0)..ms(10)), Overlap::Overlapped(ms(5)));
        assert_eq!(overlap(ms(10), ms(0)..ms(10), ms(12)..ms(20)), Overlap::OneAfterAnother);
        // Waits scaled to nothing last one timer tick (~1 ms) and cannot show overlap.
        assert_eq!(overlap(ms(10), ms(0)..ms(1), ms(0)..ms(1)), Overlap::TooShortToTell);
        assert_eq!(overlap(ms(10), ms(0)..ms(0), ms(0)..ms(20)), Overlap::TooShortToTell);
        // Waits of zero stretched by a busy machine are still waits of zero.
        assert_eq!(overlap(ms(0), ms(0)..ms(9), ms(0)..ms(9)), Overlap::TooShortToTell);
    }

    #[test]
    fn a_closed_stdout_is_told_apart_from_other_broken_pipes() {
        let closed = mark_closed(io::Error::from(io::ErrorKind::BrokenPipe));
        let result: anyhow::Result<()> = Err(anyhow::Error::from(closed).context("printing"));
        assert!(ok_if_stdout_closed(result).is_ok());
        // A broken pipe to a child process or a socket is a real error, and stays one.
        let child_pipe = io::Error::from(io::ErrorKind::BrokenPipe);
        assert!(ok_if_stdout_closed(Err(child_pipe.into())).is_err());
        let other = mark_closed(io::Error::from(io::ErrorKind::StorageFull));
        assert!(ok_if_stdout_closed(Err(other.into())).is_err());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_has_a_load_average() {
        assert!(load_average().is_some_and(|load| load >= 0.0));
    }

    #[test]
    fn build_note_matches_level() {
        assert!(["0", "1", "2", "3", "s", "z"].contains(&OPT_LEVEL));
        assert_eq!(build_note().contains("UNOPTIMISED"), !optimized());
    }
}
