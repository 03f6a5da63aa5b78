//! `cargo xtask images`: the pictures in `images/` that show real runs, drawn again from new
//! runs of the chapter binaries — timelines from their `--trace` files — and from the unit
//! costs `cargo xtask measure` reports: a chart, and the cost lines of the hand-drawn
//! hierarchy diagram.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;
use shared::report::human_duration;
use shared::timeline::{escape, overlapping_lane, render_figure, spans_from_trace};

/// A timeline from one run of a binary with `--trace`.
pub struct Picture {
    binary: &'static str,
    args: &'static [&'static str],
    pub file: &'static str,
    title: &'static str,
}

/// The timelines `images` draws.
pub const TIMELINES: &[Picture] = &[
    Picture {
        binary: "workers",
        args: &[],
        file: "workers-timeline.svg",
        title: "Threads in parallel: 2 workers pull jobs from one channel (workers)",
    },
    Picture {
        binary: "child-processes",
        args: &[],
        file: "child-processes-timeline.svg",
        title: "Two child processes at the same time, on the parent's clock (child-processes)",
    },
    Picture {
        binary: "simple-threads",
        args: &[],
        file: "simple-threads-timeline.svg",
        title: "Threads finish in the order of their waits, not the order they started (simple-threads)",
    },
    Picture {
        binary: "channels",
        args: &[],
        file: "channels-timeline.svg",
        title: "Backpressure: 2 consumers set the pace; producers block while the channel (room for 2) is full (channels)",
    },
    Picture {
        binary: "gather",
        args: &[],
        file: "gather-timeline.svg",
        title: "join! on one thread: three waits overlap, done after the longest; try_join! drops the rest at an error (gather)",
    },
    Picture {
        binary: "blocking-the-loop",
        args: &[],
        file: "blocking-the-loop-timeline.svg",
        title: "A heartbeat ticks every 10 ms: counting inline stalls it; on another thread, it does not (blocking-the-loop)",
    },
    Picture {
        binary: "pool",
        args: &["--crash-on", "3", "--limit", "300000"],
        file: "pool-timeline.svg",
        title: "A process pool: the worker that aborts on task 3 is replaced, and task 3 runs again (pool)",
    },
    Picture {
        binary: "thread-pool",
        args: &[],
        file: "thread-pool-timeline.svg",
        title: "A pool reuses its 2 threads for every job: by hand, then rayon's (thread-pool)",
    },
];

/// Draws every picture into `out`: the timelines from runs of the binaries in `binaries`
/// (`machine` names where they ran, for the captions), the chart and the diagram's cost lines
/// from `costs`. Says which runs it used.
pub fn draw(binaries: &Path, out: &Path, machine: &str, costs: &Costs) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("making {}", out.display()))?;
    for picture in TIMELINES {
        let trace = std::env::temp_dir().join(format!(
            "xtask-{}-{}.json",
            picture.binary,
            std::process::id()
        ));
        let ran = Command::new(binaries.join(picture.binary))
            .args(picture.args)
            .arg("--trace")
            .arg(&trace)
            .stdout(Stdio::null())
            .status()
            .with_context(|| format!("running {}", picture.binary))?;
        let text = std::fs::read_to_string(&trace);
        let _ = std::fs::remove_file(&trace);
        ensure!(ran.success(), "{} failed ({ran})", picture.binary);
        let spans = spans_from_trace(&text?).context("the trace is not one --trace writes")?;
        if let Some(lane) = overlapping_lane(&spans) {
            bail!("{}: spans cross on lane {lane:?}; Perfetto wants them to nest", picture.binary);
        }
        let took = spans.iter().map(|s| s.end).max().unwrap_or_default();
        let command = [picture.binary].iter().chain(picture.args).copied().collect::<Vec<_>>();
        let caption =
            format!("{}, on {machine}: {} in all", command.join(" "), human_duration(took));
        let figure = render_figure(&spans, picture.title, &caption);
        let from = format!("{} spans of `{} --trace`", spans.len(), command.join(" "));
        write_picture(&out.join(picture.file), &figure, &from)?;
    }
    let chart = cost_chart(costs);
    write_picture(&out.join("unit-costs.svg"), &chart, &costs.from)?;
    let diagram = std::fs::read_to_string(workspace_images().join("hierarchy.svg"))?;
    write_picture(&out.join("hierarchy.svg"), &with_costs(&diagram, costs)?, &costs.from)
}

/// What one unit costs to start and wait for, from `cargo xtask measure`'s rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Costs {
    /// A tokio task spawned and awaited, a thread started and joined, a process started and
    /// waited for: in microseconds.
    pub task_us: f64,
    pub thread_us: f64,
    pub process_us: f64,
    /// The memory a waiting task takes.
    pub task_bytes: f64,
    /// Where the figures came from, in words (for the captions and the report).
    pub from: String,
}

impl Costs {
    /// The costs in `rows`, `cargo xtask measure --json`'s rows (each the median of its runs).
    pub fn from_rows(rows: &Value, from: String) -> Result<Self> {
        let median = |binary: &str, what: &str| -> Result<f64> {
            let rows = rows.as_array().context("no rows")?;
            let row = rows.iter().find(|r| r["binary"] == binary && r["what"] == what);
            let row = row.with_context(|| format!("no row for {binary}: {what}"))?;
            let runs = row["runs"].as_array().into_iter().flatten().filter_map(Value::as_f64);
            crate::median(&runs.collect::<Vec<_>>())
                .with_context(|| format!("no runs of {binary}: {what}"))
        };
        Ok(Costs {
            task_us: median("spawn-task", "start a task and await it (current-thread runtime)")?,
            thread_us: median("unit-costs", "start a thread and join it")?,
            process_us: median("unit-costs", "start a process and wait for it")?,
            task_bytes: median("tasks-vs-threads", "memory per task")?,
            from,
        })
    }

    /// Each unit in words, with its cost in µs.
    fn units(&self) -> [(&'static str, f64); 3] {
        [
            ("a tokio task, spawned and awaited", self.task_us),
            ("a thread, started and joined", self.thread_us),
            ("a process, started and waited for", self.process_us),
        ]
    }
}

/// Writes `svg` to `path` and says which runs it came `from`.
fn write_picture(path: &Path, svg: &str, from: &str) -> Result<()> {
    std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))?;
    writeln!(std::io::stdout(), "{}: from {from}", path.display())?;
    Ok(())
}

/// The hand-drawn diagrams' folder.
fn workspace_images() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../images")
}

/// The hierarchy diagram with its cost lines (the text elements with ids `task-cost`,
/// `thread-cost`, `process-cost`, `costs-note-1` and `-2`) set from `costs`.
fn with_costs(diagram: &str, costs: &Costs) -> Result<String> {
    let time = |us: f64| human_duration(std::time::Duration::from_secs_f64(us / 1e6));
    let Costs { task_us, thread_us, process_us, task_bytes, from } = costs;
    let lines = [
        ("process-cost", format!("start + wait: {} (the same binary, re-run)", time(*process_us))),
        (
            "thread-cost",
            format!("spawn + join: {}, and a stack (2 MiB reserved)", time(*thread_us)),
        ),
        (
            "task-cost",
            format!("spawn + await: {}, {task_bytes:.0} bytes while it waits", time(*task_us)),
        ),
        ("costs-note-1", format!("Costs: {from}")),
        (
            "costs-note-2",
            format!(
                "(process: spawn and wait of the same binary; thread: std spawn and join; task: tokio spawn and await, one thread). They vary by machine: compare ratios, here 1 : {:.0} : {:.0}.",
                thread_us / task_us,
                process_us / task_us
            ),
        ),
    ];
    let mut svg = diagram.to_string();
    for (id, text) in lines {
        let at = svg.find(&format!(r#"id="{id}""#)).with_context(|| format!("no element {id}"))?;
        let start = at + svg[at..].find('>').context("an unclosed tag")? + 1;
        let end = start + svg[start..].find("</text>").context("no </text>")?;
        svg.replace_range(start..end, &escape(&text));
    }
    Ok(svg)
}

/// A bar per unit on a logarithmic scale (a decade per grid line), each bar labelled with
/// its time: three costs a thousand times apart still fit on one picture.
fn cost_chart(costs: &Costs) -> String {
    const WIDTH: f64 = 900.0;
    const LEFT: f64 = 250.0;
    const ROW: f64 = 34.0;
    const TOP: f64 = 60.0;
    let (low, high) = (0.1_f64, 10_000.0_f64); // µs: 100 ns to 10 ms
    let x_of = |us: f64| {
        let share = (us.max(low).log10() - low.log10()) / (high.log10() - low.log10());
        LEFT + share.clamp(0.0, 1.0) * (WIDTH - LEFT - 30.0)
    };
    let (from, costs) = (&costs.from, costs.units());
    let height = TOP + ROW * costs.len() as f64 + 40.0;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="6" y="18" font-size="15" font-weight="bold" fill="{INK}">What one unit costs to start and wait for (log scale)</text>
<text x="6" y="38" font-size="12" fill="{GREY}">spawn-task and unit-costs: {}</text>
"#,
        escape(from)
    );
    let axis = TOP + ROW * costs.len() as f64;
    let mut decade = low;
    while decade <= high {
        let x = x_of(decade);
        let label = human_duration(std::time::Duration::from_secs_f64(decade / 1e6));
        svg += &format!(
            r#"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{axis}" stroke="{GRID}"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="{GREY}">{label}</text>
"#,
            axis + 16.0
        );
        decade *= 10.0;
    }
    for (row, (unit, us)) in costs.iter().enumerate() {
        let y = TOP + ROW * row as f64;
        let label = human_duration(std::time::Duration::from_secs_f64(us / 1e6));
        svg += &format!(
            r#"<text x="6" y="{:.1}" fill="{INK}">{}</text><rect x="{LEFT}" y="{:.1}" width="{:.1}" height="{:.1}" rx="3" fill="{BAR}"/><text x="{:.1}" y="{:.1}" fill="{INK}">{label}</text>
"#,
            y + ROW / 2.0 + 4.0,
            escape(unit),
            y + 6.0,
            x_of(*us) - LEFT,
            ROW - 12.0,
            x_of(*us) + 6.0,
            y + ROW / 2.0 + 4.0
        );
    }
    svg + "</svg>\n"
}

const INK: &str = "#222";
const GREY: &str = "#555";
const GRID: &str = "#ddd";
const BAR: &str = "#4e79a7";

#[cfg(test)]
mod tests {
    use super::*;

    fn costs() -> Costs {
        let (task_us, thread_us, process_us) = (0.5, 40.0, 1200.0);
        Costs { task_us, thread_us, process_us, task_bytes: 464.0, from: "a test <run>".into() }
    }

    /// The cost lines of the diagram are replaced, and nothing else.
    #[test]
    fn the_diagram_gets_the_measured_costs() {
        let diagram = std::fs::read_to_string(workspace_images().join("hierarchy.svg")).unwrap();
        let svg = with_costs(&diagram, &costs()).unwrap();
        assert!(svg.contains(">spawn + await: 500 ns, 464 bytes while it waits</text>"), "{svg}");
        assert!(svg.contains(">spawn + join: 40.0 µs, and a stack (2 MiB reserved)</text>"));
        assert!(svg.contains(">start + wait: 1.20 ms (the same binary, re-run)</text>"));
        assert!(svg.contains(">Costs: a test &lt;run&gt;</text>"));
        assert!(svg.contains("here 1 : 80 : 2400.</text>"));
        fn untouched(svg: &str) -> Vec<&str> {
            svg.lines().filter(|l| !l.contains(" id=\"")).collect()
        }
        assert_eq!(untouched(&svg), untouched(&diagram));
    }

    /// The costs are the medians of `cargo xtask measure`'s rows, found by binary and figure.
    #[test]
    fn costs_are_read_from_measures_rows() {
        let row = |binary: &str, what: &str, runs: &[f64]| serde_json::json!({ "binary": binary, "what": what, "runs": runs });
        let rows = serde_json::json!([
            row(
                "spawn-task",
                "start a task and await it (current-thread runtime)",
                &[0.4, 0.5, 9.0]
            ),
            row("unit-costs", "start a thread and join it", &[40.0]),
            row("unit-costs", "start a process and wait for it", &[1000.0, 1400.0]),
            row("tasks-vs-threads", "memory per task", &[464.0]),
            row("tasks-vs-threads", "memory per thread", &[9999.0]),
        ]);
        assert_eq!(Costs::from_rows(&rows, "a test <run>".into()).unwrap(), costs());
        let missing = serde_json::json!([row("unit-costs", "start a thread and join it", &[1.0])]);
        let error = Costs::from_rows(&missing, String::new()).unwrap_err().to_string();
        assert!(error.contains("no row for spawn-task"), "{error}");
    }

    /// Costs a thousand times apart: each bar's length follows its logarithm, labelled, on a
    /// well-formed SVG.
    #[test]
    fn the_cost_chart_is_logarithmic() {
        let costs = Costs { task_us: 0.5, thread_us: 50.0, process_us: 5000.0, ..costs() };
        let svg = cost_chart(&costs);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("a test &lt;run&gt;") && svg.contains(">50.0 µs<"), "{svg}");
        let widths: Vec<f64> = svg
            .match_indices(r#"rx="3" fill"#)
            .map(|(at, _)| {
                let before = &svg[..at];
                let w = before.rsplit(r#"width=""#).next().unwrap();
                w.split('"').next().unwrap().parse().unwrap()
            })
            .collect();
        assert_eq!(widths.len(), 3);
        // Each step is two decades: the same length each time.
        assert!(((widths[1] - widths[0]) - (widths[2] - widths[1])).abs() < 0.5, "{widths:?}");
    }
}
