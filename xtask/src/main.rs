//! Project automation (the `cargo xtask` convention; not a teaching crate).
//!
//! `cargo xtask measure` builds the chapter binaries once, optimised, runs the ones the READMEs
//! name with `--json` several times each, and prints the figures as one Markdown table —
//! the median of the runs and their spread — with the machine that made them. The table can
//! never disagree with the programs: every figure is one a binary printed. Where `python3` is
//! on the PATH, the scripts in `python/` add the same work in CPython beside them.
//!
//! ```text
//! cargo xtask measure            # about three minutes: 5 runs of each, at the READMEs' sizes
//! cargo xtask measure --quick    # seconds: 2 runs of each, at small sizes
//! cargo xtask measure --json --out figures.json
//! cargo xtask images             # the pictures of images/ that show real runs, drawn again
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use serde_json::Value;
use shared::report::{human_duration, load_average};

mod images;

fn main() -> shared::report::MainResult {
    let cli = Cli::parse();
    match cli.task {
        Task::Measure(args) => Ok(report(&args, &measure(&args)?)?),
        Task::Images(args) => Ok(draw_images(&args)?),
    }
}

#[derive(Debug, Parser)]
#[command(about = "Project automation for Parallel Programming in Rust")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Run the chapter binaries and print their figures as one Markdown table
    Measure(MeasureArgs),
    /// Draw the pictures of images/ that show real runs, from new runs of the binaries
    Images(ImagesArgs),
}

#[derive(Debug, clap::Args)]
struct ImagesArgs {
    /// Write the pictures to DIR instead of images/
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Take the unit costs from FILE, written by `cargo xtask measure --json --out FILE`
    /// (so the pictures match that table), instead of measuring them again
    #[arg(long, value_name = "FILE")]
    costs: Option<PathBuf>,
}

/// Builds the binaries, runs the ones the pictures show, and draws them.
fn draw_images(args: &ImagesArgs) -> Result<()> {
    let places = build()?;
    let out = args.out.clone().unwrap_or_else(|| places.workspace.join("images"));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let machine = format!("{cores} cores, {}", cpu_model().unwrap_or_else(|| "unknown CPU".into()));
    let costs = match &args.costs {
        Some(file) => costs_from_file(file)?,
        None => measure_costs(&places, &machine, false)?,
    };
    images::draw(&places.binaries, &out, &machine, &costs)
}

/// The probes whose figures the pictures show: what a task, a thread and a process cost.
const COST_PROBES: [&str; 3] = ["spawn-task", "tasks-vs-threads", "unit-costs"];

/// Runs `cargo xtask measure`'s probes of the unit costs, 3 times each, as `measure` would.
/// `quick`: once each, at `--quick` sizes (for the tests).
fn measure_costs(places: &Places, machine: &str, quick: bool) -> Result<images::Costs> {
    let runs = if quick { 1 } else { 3 };
    let probes = PROBES.iter().filter(|p| COST_PROBES.contains(&p.program.name().as_str()));
    let bar = ProgressBar::hidden();
    let rows: Vec<Row> = probes.flat_map(|p| run_probe(p, places, quick, runs, &bar)).collect();
    if let Some(row) = rows.iter().find(|r| r.error.is_some()) {
        bail!("{} failed: {}", row.binary, row.error.as_deref().unwrap_or_default());
    }
    let rows = serde_json::to_value(&rows)?;
    let from = format!("the medians of {runs} runs of cargo xtask measure's probes, on {machine}");
    images::Costs::from_rows(&rows, from)
}

/// The unit costs of a `cargo xtask measure --json` file.
fn costs_from_file(file: &Path) -> Result<images::Costs> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let measured: Value = serde_json::from_str(&text).with_context(|| {
        format!("{} is not the JSON of cargo xtask measure --json", file.display())
    })?;
    let machine = &measured["machine"];
    let on = format!("{} cores, {}", machine["cores"], machine["cpu"].as_str().unwrap_or("?"));
    let from = format!("the medians of cargo xtask measure ({}), on {on}", file.display());
    images::Costs::from_rows(&measured["rows"], from)
}

/// The CPU's model name, from /proc/cpuinfo (Linux).
fn cpu_model() -> Option<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let model = cpuinfo.lines().find_map(|l| l.strip_prefix("model name"))?;
    Some(model.trim_start_matches([' ', '\t', ':']).trim().to_string())
}

#[derive(Debug, clap::Args)]
struct MeasureArgs {
    /// A reduced run: small sizes, 2 runs of each (figures only roughly right)
    #[arg(long)]
    quick: bool,
    /// Runs of each binary [default: 5, or 2 with --quick]
    #[arg(long, value_name = "N≤50", value_parser = shared::cli::whole::<u32>(1..=50))]
    runs: Option<u32>,
    /// Print the results as JSON instead of Markdown
    #[arg(long)]
    json: bool,
    /// Also write the output to FILE
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// One binary, run with `--json`, and the figures read from its last line.
struct Probe {
    /// The section of the table it belongs to, and the size it runs at, in words (full and
    /// `--quick`).
    section: &'static str,
    size: &'static str,
    quick_size: &'static str,
    program: Program,
    args: &'static [&'static str],
    quick_args: &'static [&'static str],
    figures: &'static [Figure],
}

/// What a probe runs: a binary of a chapter, or a CPython script of `python/` (the same work,
/// for a reader coming from Python), each printing one JSON object on its last line.
#[derive(Clone, Copy)]
enum Program {
    Rust { package: &'static str, binary: &'static str },
    Python { script: &'static str },
}

impl Program {
    /// The name the table gives it.
    fn name(self) -> String {
        match self {
            Program::Rust { binary, .. } => binary.to_string(),
            Program::Python { script } => format!("python/{script}"),
        }
    }
}

/// One figure of a probe's JSON.
struct Figure {
    what: &'static str,
    unit: Unit,
    read: fn(&Value) -> Option<f64>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
enum Unit {
    Seconds,
    Micros,
    Nanos,
    Millis,
    Bytes,
    Times,
    Percent,
}

const fn figure(what: &'static str, unit: Unit, read: fn(&Value) -> Option<f64>) -> Figure {
    Figure { what, unit, read }
}

/// The measurements, in the order of the table. The sizes are the binaries' defaults unless
/// named here; `--quick` shrinks them.
const PROBES: &[Probe] = &[
    Probe {
        section: "CPU-bound",
        size: "the primes below 10,000,000",
        quick_size: "the primes below 1,000,000",
        program: Program::Rust { package: "multi-threading", binary: "workers" },
        args: &[],
        quick_args: &["--limit", "1000000"],
        figures: &[
            figure("one thread", Unit::Seconds, |v| v["sequential_s"].as_f64()),
            figure("worker threads (one per core)", Unit::Seconds, |v| v["parallel_s"].as_f64()),
            figure("speedup of the threads", Unit::Times, |v| v["speedup"].as_f64()),
        ],
    },
    Probe {
        section: "CPU-bound",
        size: "the primes below 10,000,000",
        quick_size: "the primes below 1,000,000",
        program: Program::Rust { package: "multi-threading", binary: "rayon-parallel" },
        args: &[],
        quick_args: &["--limit", "1000000"],
        figures: &[
            figure("rayon par_iter", Unit::Seconds, |v| v["rayon_s"].as_f64()),
            figure("speedup of par_iter", Unit::Times, |v| v["speedup"].as_f64()),
        ],
    },
    Probe {
        section: "CPU-bound",
        size: "the primes below 10,000,000",
        quick_size: "the primes below 1,000,000",
        program: Program::Rust { package: "multi-processing", binary: "pool" },
        args: &[],
        quick_args: &["--limit", "1000000"],
        figures: &[
            figure("process pool, start-up included", Unit::Seconds, |v| v["parallel_s"].as_f64()),
            figure("speedup of the pool", Unit::Times, |v| v["speedup"].as_f64()),
        ],
    },
    Probe {
        section: "CPU-bound",
        size: "the primes below 10,000,000",
        quick_size: "the primes below 1,000,000",
        program: Program::Rust { package: "multi-processing", binary: "dataflow" },
        args: &[],
        quick_args: &["--limit", "1000000"],
        figures: &[
            figure("speedup of timely's worker threads (computing)", Unit::Times, |v| {
                v["rows"][1]["speedup"].as_f64()
            }),
            figure("speedup of timely's processes over TCP (computing)", Unit::Times, |v| {
                v["rows"][2]["speedup"].as_f64()
            }),
            figure("connecting timely's processes", Unit::Seconds, |v| {
                v["rows"][2]["connect_s"].as_f64()
            }),
        ],
    },
    Probe {
        section: "Many waits on one thread",
        size: "100,000 tasks wait 1 s each",
        quick_size: "10,000 tasks wait 100 ms each",
        program: Program::Rust { package: "asyncio", binary: "event-loop" },
        args: &[],
        quick_args: &["--tasks", "10000", "--wait-ms", "100"],
        figures: &[
            figure("all done, one thread", Unit::Seconds, |v| v["elapsed_s"].as_f64()),
            figure("memory per waiting task", Unit::Bytes, |v| v["bytes_per_task"].as_f64()),
        ],
    },
    Probe {
        section: "Tasks against threads",
        size: "10,000 of each wait 1 s",
        quick_size: "1,000 of each wait 100 ms",
        program: Program::Rust { package: "asyncio", binary: "tasks-vs-threads" },
        args: &[],
        quick_args: &["--n", "1000", "--wait-ms", "100"],
        figures: &[
            figure("start a task", Unit::Micros, |v| v["tasks"]["create_us"].as_f64()),
            figure("start a thread", Unit::Micros, |v| v["threads"]["create_us"].as_f64()),
            figure("memory per task", Unit::Bytes, |v| v["tasks"]["bytes_per_unit"].as_f64()),
            figure("memory per thread", Unit::Bytes, |v| v["threads"]["bytes_per_unit"].as_f64()),
        ],
    },
    Probe {
        section: "One unit at a time",
        size: "the median of 10,000",
        quick_size: "the median of 10,000",
        program: Program::Rust { package: "asyncio", binary: "spawn-task" },
        args: &["--time-scale", "0.01"],
        quick_args: &["--time-scale", "0.01"],
        figures: &[figure(
            "start a task and await it (current-thread runtime)",
            Unit::Micros,
            |v| v["task_start_wait_us"].as_f64(),
        )],
    },
    Probe {
        section: "One unit at a time",
        size: "the median of 200 rounds",
        quick_size: "the median of 20 rounds",
        program: Program::Rust { package: "multi-processing", binary: "unit-costs" },
        args: &[],
        quick_args: &["--rounds", "20"],
        figures: &[
            figure("start a thread and join it", Unit::Micros, |v| {
                v["thread_start_wait_us"].as_f64()
            }),
            figure("start a process and wait for it", Unit::Micros, |v| {
                v["process_start_wait_us"].as_f64()
            }),
            figure("a message there and back: std mpsc, between threads", Unit::Micros, |v| {
                v["round_trip_us"]["mpsc"].as_f64()
            }),
            figure("a message there and back: an OS pipe, between processes", Unit::Micros, |v| {
                v["round_trip_us"]["pipe"].as_f64()
            }),
            figure("a message there and back: ipc-channel, between processes", Unit::Micros, |v| {
                v["round_trip_us"]["ipc_channel"].as_f64()
            }),
        ],
    },
    Probe {
        section: "Pitfalls",
        size: "the primes below 2,000,000 beside a heartbeat",
        quick_size: "the primes below 2,000,000 beside a heartbeat",
        program: Program::Rust { package: "asyncio", binary: "blocking-the-loop" },
        args: &[],
        quick_args: &[],
        figures: &[
            figure("heartbeat's worst delay, CPU work inline", Unit::Millis, |v| {
                v["inline_ms"].as_f64()
            }),
            figure("heartbeat's worst delay, spawn_blocking", Unit::Millis, |v| {
                v["spawn_blocking_ms"].as_f64()
            }),
        ],
    },
    Probe {
        section: "Pitfalls",
        size: "5 runs of 1,000,000 increments by each thread",
        quick_size: "2 runs of 1,000,000 increments by each thread",
        program: Program::Rust { package: "multi-threading", binary: "race-condition" },
        args: &["--time-scale", "0"],
        quick_args: &["--time-scale", "0", "--runs", "2"],
        figures: &[figure("updates lost without a lock (2 threads)", Unit::Percent, lost_share)],
    },
    Probe {
        section: "Pitfalls",
        size: "5,000,000 increments by each thread",
        quick_size: "200,000 increments by each thread",
        program: Program::Rust { package: "multi-threading", binary: "mutex-vs-atomic" },
        args: &[],
        quick_args: &["--increments", "200000"],
        figures: &[
            figure("an increment under a Mutex (2 threads)", Unit::Nanos, |v| {
                v["mutex"]["ns_per_op"].as_f64()
            }),
            figure("an atomic increment (2 threads)", Unit::Nanos, |v| {
                v["atomic"]["ns_per_op"].as_f64()
            }),
        ],
    },
    Probe {
        section: "Pitfalls",
        size: "10 runs of 10,000 operations by each process",
        quick_size: "2 runs of 20,000 operations by each process",
        program: Program::Rust { package: "multi-processing", binary: "bank-balance" },
        args: &[],
        quick_args: &["--operations", "20000", "--runs", "2"],
        figures: &[
            figure("an update under a file lock (2 processes)", Unit::Nanos, |v| {
                v["ns_per_op"]["locked"].as_f64()
            }),
            figure("an atomic update in shared memory (2 processes)", Unit::Nanos, |v| {
                v["ns_per_op"]["atomic"].as_f64()
            }),
        ],
    },
    Probe {
        section: "CPython beside them (python3, where it is on the PATH)",
        size: "the primes below 1,000,000",
        quick_size: "the primes below 100,000",
        program: Program::Python { script: "primes.py" },
        args: &["--limit", "1000000"],
        quick_args: &["--limit", "100000"],
        figures: &[
            figure("CPython, one thread", Unit::Seconds, |v| v["sequential_s"].as_f64()),
            figure("speedup of CPython threads (one per core)", Unit::Times, |v| {
                v["threads_speedup"].as_f64()
            }),
            figure("speedup of multiprocessing.Pool", Unit::Times, |v| {
                v["processes_speedup"].as_f64()
            }),
        ],
    },
    Probe {
        section: "CPython beside them (python3, where it is on the PATH)",
        size: "100,000 asyncio tasks sleep 1 s each",
        quick_size: "10,000 asyncio tasks sleep 100 ms each",
        program: Program::Python { script: "waits.py" },
        args: &[],
        quick_args: &["--tasks", "10000", "--wait", "0.1"],
        figures: &[figure("all done, one event loop", Unit::Seconds, |v| v["elapsed_s"].as_f64())],
    },
    Probe {
        section: "CPython beside them (python3, where it is on the PATH)",
        size: "3 runs of 100,000 operations by each process",
        quick_size: "2 runs of 20,000 operations by each process",
        program: Program::Python { script: "balance.py" },
        args: &["--operations", "100000"],
        quick_args: &["--operations", "20000", "--runs", "2"],
        figures: &[
            figure(
                "updates lost without the lock, at least (2 processes)",
                Unit::Percent,
                lost_balance,
            ),
            figure("an update under multiprocessing's Lock (2 processes)", Unit::Nanos, |v| {
                v["ns_per_op"]["locked"].as_f64()
            }),
        ],
    },
];

/// The share of `python/balance.py`'s updates lost without the lock, over its runs, in
/// percent: how far each balance ended from 100, against all the updates of that run.
fn lost_balance(v: &Value) -> Option<f64> {
    let updates = 2.0 * v["operations"].as_f64()?;
    let ends: Vec<f64> = v["unsynchronized"].as_array()?.iter().filter_map(Value::as_f64).collect();
    let off: f64 = ends.iter().map(|end| (end - 100.0).abs()).sum();
    Some(100.0 * off / (updates * ends.len() as f64))
}

/// The share of updates `race-condition` lost without a lock, over its runs, in percent.
fn lost_share(v: &Value) -> Option<f64> {
    let expected = v["expected"].as_f64()?;
    let racy: Vec<f64> = v["racy"].as_array()?.iter().filter_map(Value::as_f64).collect();
    let lost: f64 = racy.iter().map(|r| expected - r).sum();
    Some(100.0 * lost / (expected * racy.len() as f64))
}

/// How long one run of a binary may take before it counts as hung.
const TIMEOUT: Duration = Duration::from_secs(300);

/// A spread this wide (largest over smallest run) is marked in the table.
const WIDE: f64 = 1.5;

/// One row of the table: a figure's runs, or the error that stopped its binary.
#[derive(Debug, Serialize)]
struct Row {
    section: String,
    binary: String,
    /// What the binary ran, in words.
    size: String,
    what: String,
    unit: Unit,
    runs: Vec<f64>,
    error: Option<String>,
    /// Why it was not run, if it was not (a CPython row without python3).
    skipped: Option<String>,
}

impl Row {
    fn median(&self) -> Option<f64> {
        median(&self.runs)
    }

    fn spread(&self) -> Option<(f64, f64)> {
        let min = self.runs.iter().copied().reduce(f64::min)?;
        let max = self.runs.iter().copied().reduce(f64::max)?;
        Some((min, max))
    }
}

fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The machine and the command, as the table's heading names them.
#[derive(Debug, Serialize)]
struct Machine {
    cores: usize,
    cpu: String,
    os: String,
    rustc: String,
    /// `python3 --version`, or why there is none.
    python: String,
    load_before: Option<f64>,
    command: String,
}

#[derive(Debug, Serialize)]
struct Measured {
    machine: Machine,
    rows: Vec<Row>,
}

/// Builds the binaries and runs every probe.
fn measure(args: &MeasureArgs) -> Result<Measured> {
    let machine = machine(args);
    if let Some(load) = machine.load_before.filter(|&l| l > 0.5 * machine.cores as f64) {
        eprintln!(
            "warning: the load average was {load:.2} on {} cores before the run: other work \
             will slow the figures down; measure on a quiet machine",
            machine.cores
        );
    }
    let places = build()?;
    let runs = args.runs.unwrap_or(if args.quick { 2 } else { 5 });
    let bar = ProgressBar::new(PROBES.len() as u64 * u64::from(runs));
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed_precise} {msg}")
            .context("the progress bar's template")?,
    );
    let mut rows = Vec::new();
    for probe in PROBES {
        rows.extend(run_probe(probe, &places, args.quick, runs, &bar));
    }
    bar.finish_and_clear();
    Ok(Measured { machine, rows })
}

/// Prints the table (or the JSON), writes it to `--out`, and fails if a binary did.
fn report(args: &MeasureArgs, measured: &Measured) -> Result<()> {
    let text =
        if args.json { serde_json::to_string_pretty(measured)? + "\n" } else { markdown(measured) };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    if let Some(path) = &args.out {
        std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
    }
    let failed: Vec<&str> =
        measured.rows.iter().filter(|r| r.error.is_some()).map(|r| r.binary.as_str()).collect();
    if !failed.is_empty() {
        bail!("some binaries failed: {}", failed.join(", "));
    }
    Ok(())
}

/// Builds every chapter binary once, optimised; returns where the programs are.
fn build() -> Result<Places> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("Building the chapter binaries with --release …");
    let status = Command::new(&cargo)
        .args(["build", "--release", "--bins", "--quiet"])
        .args(["-p", "asyncio", "-p", "multi-threading", "-p", "multi-processing"])
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --release failed ({status})");
    }
    let metadata = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("running cargo metadata")?;
    let metadata: Value = serde_json::from_slice(&metadata.stdout).context("cargo metadata")?;
    let target = metadata["target_directory"].as_str().context("no target directory")?;
    let workspace = metadata["workspace_root"].as_str().context("no workspace root")?;
    let python = Command::new("python3").arg("--version").stdout(Stdio::null()).status();
    let no_python = match python {
        Ok(status) if status.success() => None,
        _ => Some("not run: no python3 on the PATH".to_string()),
    };
    let (binaries, workspace) = (Path::new(target).join("release"), workspace.into());
    Ok(Places { binaries, workspace, no_python })
}

/// Where the programs are: the chapter binaries, built, and the workspace (for `python/`).
struct Places {
    binaries: PathBuf,
    workspace: PathBuf,
    /// Why the CPython rows cannot run, if they cannot.
    no_python: Option<String>,
}

/// Runs `probe`'s program `runs` times and returns a row per figure.
fn run_probe(
    probe: &Probe,
    places: &Places,
    quick: bool,
    runs: u32,
    bar: &ProgressBar,
) -> Vec<Row> {
    let args = if quick { probe.quick_args } else { probe.args };
    let mut values = vec![Vec::new(); probe.figures.len()];
    let (mut error, mut skipped) = (None, None);
    for run in 1..=runs {
        let command = match probe.program {
            Program::Rust { package, binary } => {
                bar.set_message(format!("{binary} ({package}), run {run} of {runs}"));
                let mut command = Command::new(places.binaries.join(binary));
                command.args(args).arg("--json");
                command
            }
            Program::Python { .. } if places.no_python.is_some() => {
                skipped = places.no_python.clone();
                break;
            }
            Program::Python { script } => {
                bar.set_message(format!("python/{script} (CPython), run {run} of {runs}"));
                let mut command = Command::new("python3");
                command.arg(places.workspace.join("python").join(script)).args(args);
                command
            }
        };
        match run_once(command) {
            Ok(json) => {
                for (figure, values) in probe.figures.iter().zip(&mut values) {
                    match (figure.read)(&json) {
                        Some(value) => values.push(value),
                        None => {
                            error = Some(format!("no figure for {:?} in its JSON", figure.what))
                        }
                    }
                }
            }
            Err(err) => error = Some(format!("{err:#}")),
        }
        bar.inc(1);
        if error.is_some() {
            break;
        }
    }
    bar.set_position(bar.position().max(done_after(probe, runs)));
    probe
        .figures
        .iter()
        .zip(values)
        .map(|(figure, runs)| Row {
            section: probe.section.into(),
            binary: probe.program.name(),
            size: (if quick { probe.quick_size } else { probe.size }).into(),
            what: figure.what.into(),
            unit: figure.unit,
            runs,
            error: error.clone(),
            skipped: skipped.clone(),
        })
        .collect()
}

/// Where the progress bar stands once `probe` is done, however many of its runs ran.
fn done_after(probe: &Probe, runs: u32) -> u64 {
    let index = PROBES.iter().position(|p| std::ptr::eq(p, probe)).unwrap_or(0);
    (index as u64 + 1) * u64::from(runs)
}

/// Runs `command` and returns the JSON object on its last line of output; a run that fails,
/// or lasts longer than [`TIMEOUT`], is an error.
fn run_once(mut command: Command) -> Result<Value> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {program}"))?;
    // Read both pipes while waiting, so that a chatty child cannot fill one and stall.
    let mut stdout = child.stdout.take().context("no stdout")?;
    let mut stderr = child.stderr.take().context("no stderr")?;
    let out = std::thread::spawn(move || std::io::read_to_string(&mut stdout));
    let err = std::thread::spawn(move || std::io::read_to_string(&mut stderr));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            child.kill()?;
            child.wait()?;
            bail!("hung: killed after {}", human_duration(TIMEOUT));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.join().expect("the stdout reader panicked")?;
    let stderr = err.join().expect("the stderr reader panicked")?;
    if !status.success() {
        bail!("{status}: {}", stderr.lines().next().unwrap_or("no message"));
    }
    let last = stdout.lines().last().context("no output")?;
    serde_json::from_str(last).context("the last line is not JSON")
}

fn machine(args: &MeasureArgs) -> Machine {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu = cpu_model();
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let os = os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|name| name.trim_matches('"').to_string());
    let version = |program: &str, flag: &str| {
        let output = Command::new(program).arg(flag).output().ok()?;
        let text = String::from_utf8(output.stdout).ok()?;
        Some(text.trim().to_string()).filter(|text| !text.is_empty())
    };
    let (rustc, python) = (version("rustc", "-V"), version("python3", "--version"));
    let mut command = "cargo xtask measure".to_string();
    if args.quick {
        command += " --quick";
    }
    if let Some(runs) = args.runs {
        command += &format!(" --runs {runs}");
    }
    Machine {
        cores,
        cpu: cpu.unwrap_or_else(|| "unknown".into()),
        os: os.unwrap_or_else(|| std::env::consts::OS.into()),
        rustc: rustc.unwrap_or_else(|| "unknown".into()),
        python: python.unwrap_or_else(|| "no python3".into()),
        load_before: load_average(),
        command,
    }
}

/// The table as Markdown: a heading naming the machine and the command, then a section per
/// kind of work, a row per figure (the median, and the spread of the runs).
fn markdown(measured: &Measured) -> String {
    let m = &measured.machine;
    let load = m.load_before.map_or("unknown".into(), |l| format!("{l:.2}"));
    let mut text = format!(
        "Measured with `{}` on {} cores ({}), {}, {}, {}; load average before: {load}.\n",
        m.command, m.cores, m.cpu, m.os, m.rustc, m.python
    );
    let mut section = "";
    for row in &measured.rows {
        if row.section != section {
            section = &row.section;
            text.push_str(&format!("\n**{section}**\n\n"));
            text.push_str(
                "| figure | program, run at | median | runs (min–max) |\n|---|---|---|---|\n",
            );
        }
        let (median, spread) = match (&row.error, row.median(), row.spread()) {
            _ if row.skipped.is_some() => {
                ("—".to_string(), row.skipped.clone().unwrap_or_default())
            }
            (Some(err), _, _) => ("failed".to_string(), err.clone()),
            (None, Some(median), Some((min, max))) => {
                let wide = if min > 0.0 && max / min > WIDE { " (wide)" } else { "" };
                let spread = format!("{}–{}{wide}", show(min, row.unit), show(max, row.unit));
                (show(median, row.unit), format!("{} runs: {spread}", row.runs.len()))
            }
            _ => ("no runs".to_string(), String::new()),
        };
        let binary = format!("`{}`, {}", row.binary, row.size);
        text.push_str(&format!("| {} | {binary} | {median} | {spread} |\n", row.what));
    }
    text
}

/// A value in its unit, as a reader expects to see it.
fn show(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Seconds => human_duration(Duration::from_secs_f64(value.max(0.0))),
        Unit::Millis => human_duration(Duration::from_secs_f64(value.max(0.0) / 1e3)),
        Unit::Micros => human_duration(Duration::from_secs_f64(value.max(0.0) / 1e6)),
        Unit::Nanos if value < 10.0 => format!("{value:.1} ns"),
        Unit::Nanos => human_duration(Duration::from_secs_f64(value.max(0.0) / 1e9)),
        Unit::Bytes => format!("{} bytes", shared::report::thousands(value.round() as u64)),
        Unit::Times => format!("{value:.2}×"),
        Unit::Percent => format!("{value:.1} %"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_run() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn a_fixed_set_of_results_makes_the_expected_markdown() {
        let row = |what: &str, unit, runs: &[f64], error: Option<&str>| Row {
            section: "CPU-bound".into(),
            binary: "workers".into(),
            size: "the primes below 100".into(),
            what: what.into(),
            unit,
            runs: runs.to_vec(),
            error: error.map(String::from),
            skipped: None,
        };
        let measured = Measured {
            machine: Machine {
                cores: 2,
                cpu: "Some CPU".into(),
                os: "Some OS".into(),
                rustc: "rustc 1.95.0".into(),
                python: "Python 3.11.7".into(),
                load_before: Some(0.1),
                command: "cargo xtask measure --quick".into(),
            },
            rows: vec![
                row("one thread", Unit::Seconds, &[1.8, 1.7, 1.9], None),
                row("speedup", Unit::Times, &[1.9, 1.0, 1.95], None),
                row("start a thread", Unit::Micros, &[], Some("hung: killed after 300 s")),
                Row {
                    skipped: Some("not run: no python3 on the PATH".into()),
                    ..row("CPython, one thread", Unit::Seconds, &[], None)
                },
            ],
        };
        let expected = "\
Measured with `cargo xtask measure --quick` on 2 cores (Some CPU), Some OS, rustc 1.95.0, Python 3.11.7; load average before: 0.10.

**CPU-bound**

| figure | program, run at | median | runs (min–max) |
|---|---|---|---|
| one thread | `workers`, the primes below 100 | 1.80 s | 3 runs: 1.70 s–1.90 s |
| speedup | `workers`, the primes below 100 | 1.90× | 3 runs: 1.00×–1.95× (wide) |
| start a thread | `workers`, the primes below 100 | failed | hung: killed after 300 s |
| CPython, one thread | `workers`, the primes below 100 | — | not run: no python3 on the PATH |
";
        assert_eq!(markdown(&measured), expected);
    }

    /// The whole command, at its smallest: every binary builds, runs once at `--quick` sizes,
    /// and fills each of its rows. (A release build of the chapters: a minute or two the first
    /// time.)
    #[test]
    fn a_quick_measure_fills_every_row() {
        let args = MeasureArgs { quick: true, runs: Some(1), json: false, out: None };
        let measured = measure(&args).unwrap();
        let figures: usize = PROBES.iter().map(|probe| probe.figures.len()).sum();
        assert_eq!(measured.rows.len(), figures);
        for row in &measured.rows {
            // Every Rust row ran; a CPython row ran too, or says why not (no python3).
            let ran = row.error.is_none() && row.runs.len() == 1;
            assert!(ran || row.skipped.is_some() && row.binary.starts_with("python/"), "{row:?}");
        }
        assert!(measured.machine.cores >= 1);
        // Its JSON, as `--json --out FILE` writes it, gives `images --costs FILE` its figures.
        let file = std::env::temp_dir().join(format!("xtask-measured-{}.json", std::process::id()));
        std::fs::write(&file, serde_json::to_string_pretty(&measured).unwrap()).unwrap();
        let costs = costs_from_file(&file);
        std::fs::remove_file(&file).unwrap();
        let costs = costs.unwrap();
        // The file's figures, not an order between them: a timing is for benches, not tests.
        let rows = serde_json::to_value(&measured.rows).unwrap();
        let rows = images::Costs::from_rows(&rows, String::new());
        assert_eq!(images::Costs { from: String::new(), ..costs.clone() }, rows.unwrap());
        assert!(costs.task_us > 0.0 && costs.task_bytes > 0.0, "{costs:?}");
        assert!(costs.from.contains("xtask-measured-"), "{costs:?}");
    }

    /// `cargo xtask images` draws every picture from real runs: a timeline with a bar per
    /// span that the binary traced, and the cost chart, into the folder it is given.
    #[test]
    fn images_are_drawn_from_real_runs() {
        let places = build().unwrap();
        let out = std::env::temp_dir().join(format!("xtask-images-{}", std::process::id()));
        let costs = measure_costs(&places, "a test machine", true).unwrap();
        images::draw(&places.binaries, &out, "a test machine", &costs).unwrap();
        for picture in images::TIMELINES {
            let svg = std::fs::read_to_string(out.join(picture.file)).unwrap();
            let file = picture.file;
            assert!(svg.contains("a test machine") && svg.matches("<rect").count() > 4, "{file}");
        }
        let chart = std::fs::read_to_string(out.join("unit-costs.svg")).unwrap();
        assert!(chart.contains("a process, started and waited for"), "{chart}");
        std::fs::remove_dir_all(&out).unwrap();
    }

    /// A binary that fails, or is missing, is an error for its row, with what went wrong.
    #[cfg(unix)]
    #[test]
    fn a_failing_binary_is_an_error_naming_it() {
        let failed = run_once(Command::new("false")).unwrap_err().to_string();
        assert!(failed.contains("exit status: 1"), "{failed}");
        let missing = run_once(Command::new("/no/such/binary")).unwrap_err().to_string();
        assert!(missing.contains("starting /no/such/binary"), "{missing}");
    }

    #[test]
    fn lost_updates_are_a_share_of_all_updates() {
        let json = serde_json::json!({ "expected": 200, "racy": [100, 150] });
        assert_eq!(lost_share(&json), Some(37.5));
    }
}
