//! A timeline of who ran what, and when: the picture that tells "concurrent" from "parallel".
//!
//! Threads, tasks and child processes record [`Span`]s — a label on a lane (a thread, a task
//! or a process), from a start to an end — against one common clock. The timeline renders
//! them as a text Gantt chart that fits the terminal, one row per lane, and as an SVG file.
//!
//! A child process joins its parent's clock with [`Timeline::aligned_to`] and the token from
//! [`Timeline::origin_token`]; spans are `serde`-serialisable, so the child can send them back.

use std::fmt::Write as _;
use std::ops::Range;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::report::human_duration;

/// One piece of work: `label` ran on `lane` from `start` to `end` (offsets from the origin).
/// In JSON the times are seconds, like every other figure: `"start_s": 0.25`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub lane: String,
    pub label: String,
    #[serde(rename = "start_s", with = "seconds")]
    pub start: Duration,
    #[serde(rename = "end_s", with = "seconds")]
    pub end: Duration,
}

/// (De)serialises a `Duration` as a number of seconds.
mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Duration::try_from_secs_f64(f64::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// A clock shared by everything that records into it, and the spans recorded so far.
/// `Sync`: share it by reference (scoped threads) or in an `Arc`.
#[derive(Debug)]
pub struct Timeline {
    /// The origin as a monotonic instant, for precise offsets within this process.
    origin: Instant,
    /// The same origin as wall-clock time since the Unix epoch, for other processes.
    origin_unix: Duration,
    spans: Mutex<Vec<Span>>,
}

impl Default for Timeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Timeline {
    /// A new, empty timeline whose origin is now.
    pub fn new() -> Self {
        let origin_unix = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Timeline { origin: Instant::now(), origin_unix, spans: Mutex::new(Vec::new()) }
    }

    /// A token naming this timeline's origin, to hand to a child process (e.g. as an argument).
    pub fn origin_token(&self) -> String {
        self.origin_unix.as_nanos().to_string()
    }

    /// A timeline in this process whose origin is the parent's (given by its token), so spans
    /// recorded here line up with the parent's. Precision is that of the wall clock (~µs).
    pub fn aligned_to(token: &str) -> Result<Self, BadOriginToken> {
        let nanos: u64 = token.parse().map_err(|_| BadOriginToken(token.to_string()))?;
        let origin_unix = Duration::from_nanos(nanos);
        let now_unix = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        // How long ago the parent's origin was, then the monotonic instant that far back.
        let age = now_unix.saturating_sub(origin_unix);
        let now = Instant::now();
        let origin = now.checked_sub(age).unwrap_or(now);
        Ok(Timeline { origin, origin_unix, spans: Mutex::new(Vec::new()) })
    }

    /// Time since the origin.
    pub fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    /// The offset of `instant` from the origin (zero if it came before): for times taken
    /// elsewhere, such as a tokio `Instant` (`into_std()`).
    pub fn offset_of(&self, instant: Instant) -> Duration {
        instant.saturating_duration_since(self.origin)
    }

    /// Records a span with explicit start and end offsets.
    pub fn record(
        &self,
        lane: impl Into<String>,
        label: impl Into<String>,
        start: Duration,
        end: Duration,
    ) {
        self.spans.lock().expect("timeline lock poisoned").push(Span {
            lane: lane.into(),
            label: label.into(),
            start,
            end: end.max(start),
        });
    }

    /// Runs `work`, records it as a span on `lane`, and returns its result.
    pub fn measure<R>(
        &self,
        lane: impl Into<String>,
        label: impl Into<String>,
        work: impl FnOnce() -> R,
    ) -> R {
        let start = self.now();
        let result = work();
        self.record(lane, label, start, self.now());
        result
    }

    /// Like [`measure`](Self::measure), but records the span only if `work` took longer
    /// than `min`: a send that may block, drawn only when it did.
    pub fn measure_if_longer<R>(
        &self,
        min: Duration,
        lane: impl Into<String>,
        label: impl Into<String>,
        work: impl FnOnce() -> R,
    ) -> R {
        let start = self.now();
        let result = work();
        if self.now() - start > min {
            self.record(lane, label, start, self.now());
        }
        result
    }

    /// Adds spans recorded elsewhere (e.g. received from a child process).
    pub fn extend(&self, spans: impl IntoIterator<Item = Span>) {
        self.spans.lock().expect("timeline lock poisoned").extend(spans);
    }

    /// All spans so far, sorted by start.
    pub fn spans(&self) -> Vec<Span> {
        let mut spans = self.spans.lock().expect("timeline lock poisoned").clone();
        spans.sort_by_key(|s| s.start);
        spans
    }

    /// How long the spans labelled `label` last together, over every lane.
    pub fn total(&self, label: &str) -> Duration {
        let spans = self.spans.lock().expect("timeline lock poisoned");
        spans.iter().filter(|span| span.label == label).map(|span| span.end - span.start).sum()
    }

    /// The text chart of all spans, `width` characters wide.
    pub fn render_text(&self, width: usize) -> String {
        render_text(&self.spans(), width)
    }

    /// Writes the SVG chart of all spans to `path`.
    pub fn write_svg(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        std::fs::write(path, render_svg(&self.spans()))
    }

    /// Writes all spans to `path` as a trace for Perfetto or `chrome://tracing`
    /// ([`render_trace`]).
    pub fn write_trace(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        std::fs::write(path, render_trace(&self.spans()))
    }
}

/// `spans` as Chrome trace-event JSON, which Perfetto (ui.perfetto.dev) and `chrome://tracing`
/// open and zoom through: one track per lane, named and ordered as the text chart shows them,
/// one complete event (`"ph": "X"`) per span, on the timeline's clock (microseconds).
///
/// Written from the spans the binaries already record, child processes' included, rather
/// than through the `tracing` ecosystem (a `tracing-chrome` layer): that would need a
/// subscriber set up in every binary and in its children, and a second way of recording the
/// same spans, for the same file.
pub fn render_trace(spans: &[Span]) -> String {
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    let lanes = lanes(spans);
    let track = |lane: &str| lanes.iter().position(|l| *l == lane).unwrap_or_default() + 1;
    let names = lanes.iter().enumerate().flat_map(|(i, lane)| {
        let (tid, name, sort_index) = (i + 1, json!({ "name": lane }), json!({ "sort_index": i }));
        [
            json!({ "name": "thread_name", "ph": "M", "pid": 1, "tid": tid, "args": name }),
            json!({ "name": "thread_sort_index", "ph": "M", "pid": 1, "tid": tid, "args": sort_index }),
        ]
    });
    let events = spans.iter().map(|span| {
        json!({
            "name": span.label, "ph": "X", "pid": 1, "tid": track(&span.lane),
            "ts": micros(span.start), "dur": micros(span.end.saturating_sub(span.start)),
        })
    });
    let events: Vec<serde_json::Value> = names.chain(events).collect();
    json!({ "traceEvents": events, "displayTimeUnit": "ms" }).to_string()
}

/// The first lane on which two spans overlap without one holding the other, if any. Perfetto
/// wants the complete events of a track to nest, as the trace-event format says; it draws
/// the others on an overflow track, where they no longer read as one lane.
pub fn overlapping_lane(spans: &[Span]) -> Option<&str> {
    let crosses = |a: &Span, b: &Span| a.start < b.start && b.start < a.end && a.end < b.end;
    let cross_on = |lane: &str| {
        let on: Vec<&Span> = spans.iter().filter(|s| s.lane == lane).collect();
        on.iter().any(|a| on.iter().any(|b| crosses(a, b)))
    };
    lanes(spans).into_iter().find(|&lane| cross_on(lane))
}

/// The spans of a trace that [`render_trace`] wrote: its complete events, each on the lane its
/// track is named after. `None` if `text` is not such a trace.
pub fn spans_from_trace(text: &str) -> Option<Vec<Span>> {
    let trace: serde_json::Value = serde_json::from_str(text).ok()?;
    let events = trace["traceEvents"].as_array()?;
    let lane_of = |tid: &serde_json::Value| {
        let named = events.iter().find(|e| e["name"] == "thread_name" && e["tid"] == *tid)?;
        named["args"]["name"].as_str().map(str::to_string)
    };
    let seconds = |micros: &serde_json::Value| {
        micros.as_f64().and_then(|us| Duration::try_from_secs_f64(us / 1e6).ok())
    };
    let complete = events.iter().filter(|e| e["ph"] == "X");
    complete
        .map(|e| {
            let (start, length) = (seconds(&e["ts"])?, seconds(&e["dur"])?);
            let label = e["name"].as_str()?.to_string();
            Some(Span { lane: lane_of(&e["tid"])?, label, start, end: start + length })
        })
        .collect()
}

/// The SVG chart of `spans` as a figure for a README: `title` above it in bold, `caption`
/// (what ran, on what, how long) below the title, on a white ground that reads on light and
/// dark pages alike.
pub fn render_figure(spans: &[Span], title: &str, caption: &str) -> String {
    const HEAD: f64 = 48.0;
    let chart = render_svg(spans);
    let attribute = |name: &str| -> f64 {
        let value = chart.split(&format!(" {name}=\"")).nth(1).and_then(|r| r.split('"').next());
        value.and_then(|v| v.parse().ok()).unwrap_or_default()
    };
    let (width, height) = (attribute("width"), attribute("height") + HEAD);
    let chart = chart.replacen("<svg ", &format!("<svg y=\"{HEAD}\" "), 1);
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="6" y="18" font-size="15" font-weight="bold" fill="#222">{}</text>
<text x="6" y="38" font-size="12" fill="#444">{}</text>
{chart}</svg>
"##,
        escape(title),
        escape(caption)
    )
}

/// The error of [`Timeline::aligned_to`]: the token is not one [`Timeline::origin_token`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadOriginToken(pub String);

impl std::fmt::Display for BadOriginToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid timeline origin token {:?} (expected nanoseconds since 1970)", self.0)
    }
}

impl std::error::Error for BadOriginToken {}

/// The width to draw the text chart: `$COLUMNS` if set, else the terminal's width if stdout
/// is a terminal, else 80; clamped to 40..=160.
pub fn terminal_width() -> usize {
    let columns = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
    let terminal =
        || terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| usize::from(w.0));
    columns.or_else(terminal).unwrap_or(80).clamp(40, 160)
}

/// The time `spans` cover, from the earliest start to the latest end (`0..0` for none): how
/// long a thread or a process was at work.
pub fn extent(spans: &[Span]) -> Range<Duration> {
    let start = spans.iter().map(|s| s.start).min().unwrap_or_default();
    start..spans.iter().map(|s| s.end).max().unwrap_or_default()
}

/// Each lane's [`extent`], in display order (the chart's rows, top to bottom).
pub fn lane_extents(spans: &[Span]) -> Vec<Range<Duration>> {
    let on = |lane: &str| spans.iter().filter(|s| s.lane == lane).cloned().collect::<Vec<_>>();
    lanes(spans).into_iter().map(|lane| extent(&on(lane))).collect()
}

/// Lane names in display order: the order of their first span's start, so a chart reads top
/// to bottom in the order things began. Ties go by name, a trailing number compared as a
/// number (`worker-2` before `worker-10`).
fn lanes(spans: &[Span]) -> Vec<&str> {
    let mut first_start: Vec<(&str, Duration)> = Vec::new();
    for span in spans {
        match first_start.iter_mut().find(|(lane, _)| *lane == span.lane) {
            Some((_, start)) => *start = (*start).min(span.start),
            None => first_start.push((&span.lane, span.start)),
        }
    }
    let name_key = |name: &str| {
        let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
        (stem.to_string(), name[stem.len()..].parse::<u64>().ok(), name.to_string())
    };
    first_start.sort_by_cached_key(|&(lane, start)| (start, name_key(lane)));
    first_start.into_iter().map(|(lane, _)| lane).collect()
}

/// A text Gantt chart: one row per lane, each span drawn as `[label---]` in proportion to
/// its duration, with a time axis below. A span too short for brackets is drawn as `|`.
pub fn render_text(spans: &[Span], width: usize) -> String {
    let lanes = lanes(spans);
    let name_width = lanes.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let columns = width.saturating_sub(name_width + 3).max(10);
    let total = spans.iter().map(|s| s.end).max().unwrap_or_default();
    let column_of = |t: Duration| -> usize {
        if total.is_zero() {
            return 0;
        }
        let column = (t.as_secs_f64() / total.as_secs_f64() * columns as f64).round();
        (column as usize).min(columns)
    };

    // `writeln!` into a String cannot fail, so its results are ignored below.
    let mut out = String::new();
    for lane in &lanes {
        let mut row = vec![' '; columns];
        for span in spans.iter().filter(|s| s.lane == *lane) {
            let first = column_of(span.start).min(columns - 1);
            let end = column_of(span.end).max(first + 1);
            if end - first == 1 {
                row[first] = '|';
                continue;
            }
            // Fill the inside with the label, then dashes; brackets mark the two ends. A label
            // that does not fit is left out: cut short, job "27" would read as job "2".
            let fits = span.label.chars().count() <= end - first - 2;
            let label = if fits { span.label.as_str() } else { "" };
            let inside = label.chars().chain(std::iter::repeat('-'));
            for (cell, c) in row[first + 1..end - 1].iter_mut().zip(inside) {
                *cell = c;
            }
            row[first] = '[';
            row[end - 1] = ']';
        }
        let row: String = row.into_iter().collect();
        let _ = writeln!(out, "{lane:<name_width$} |{row}|");
    }
    // The axis: zero under the chart's left edge, the total under its right edge.
    let (zero, end) = ("0 s".to_string(), human_duration(total));
    let gap = (columns + 2).saturating_sub(zero.chars().count() + end.chars().count());
    let _ = writeln!(out, "{:name_width$} {zero}{:gap$}{end}", "", "");
    let per_column = human_duration(total / columns as u32);
    let _ = writeln!(out, "{:name_width$} (one column = {per_column})", "");
    out
}

/// Distinct fill colours for the lanes (cycled).
const PALETTE: [&str; 8] =
    ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"];

/// The same chart as a standalone SVG document: a bar per span, a row per lane, time ticks.
pub fn render_svg(spans: &[Span]) -> String {
    const WIDTH: f64 = 900.0;
    const ROW: f64 = 30.0;
    const TOP: f64 = 20.0;
    let lanes = lanes(spans);
    let name_width = 12.0 + 7.5 * lanes.iter().map(|l| l.chars().count()).max().unwrap_or(0) as f64;
    let plot_width = WIDTH - name_width - 20.0;
    let total = spans.iter().map(|s| s.end).max().unwrap_or_default().as_secs_f64();
    let x_of = |t: f64| name_width + if total > 0.0 { t / total * plot_width } else { 0.0 };
    let height = TOP + ROW * lanes.len() as f64 + 40.0;

    // `writeln!` into a String cannot fail, so its results are ignored below.
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (row, lane) in lanes.iter().enumerate() {
        let y = TOP + ROW * row as f64;
        let colour = PALETTE[row % PALETTE.len()];
        let _ =
            writeln!(svg, r#"<text x="6" y="{:.1}">{}</text>"#, y + ROW / 2.0 + 4.0, escape(lane));
        let on_lane: Vec<&Span> = spans.iter().filter(|s| s.lane == *lane).collect();
        for span in &on_lane {
            let (x0, x1) = (x_of(span.start.as_secs_f64()), x_of(span.end.as_secs_f64()));
            let w = (x1 - x0).max(1.0);
            // Where the lane's next span starts (or the chart ends): room for a label outside.
            let next = on_lane.iter().map(|s| s.start).filter(|&start| start >= span.end);
            let next = next.min().map_or(WIDTH - 6.0, |start| x_of(start.as_secs_f64()));
            let label_width = 7.0 * span.label.chars().count() as f64 + 6.0;
            let tip = format!(
                "{} on {}: {} to {}",
                span.label,
                lane,
                human_duration(span.start),
                human_duration(span.end)
            );
            // A white outline parts neighbouring bars; on a bar a few pixels wide it would hide it.
            let stroke = if w > 4.0 { r#" stroke="white""# } else { "" };
            let _ = writeln!(
                svg,
                r#"<rect x="{x0:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" rx="3" fill="{colour}"{stroke}><title>{}</title></rect>"#,
                y + 4.0,
                ROW - 8.0,
                escape(&tip)
            );
            // A label goes on its bar if it fits (≈ 7 px per character), else just after the
            // bar if the lane is empty there, else nowhere (the tooltip still has it).
            let (x, fill, anchor) = if w > label_width {
                (x0 + w / 2.0, "white", "middle")
            } else if next - (x0 + w + 4.0) > label_width {
                (x0 + w + 4.0, "#222", "start")
            } else {
                continue;
            };
            let _ = writeln!(
                svg,
                r#"<text x="{x:.1}" y="{:.1}" fill="{fill}" text-anchor="{anchor}">{}</text>"#,
                y + ROW / 2.0 + 4.0,
                escape(&span.label)
            );
        }
    }
    // Time axis with ticks at a round step.
    let axis_y = TOP + ROW * lanes.len() as f64 + 6.0;
    let _ = writeln!(
        svg,
        r##"<line x1="{name_width:.1}" y1="{axis_y:.1}" x2="{:.1}" y2="{axis_y:.1}" stroke="#444"/>"##,
        name_width + plot_width
    );
    let step = nice_step(total / 6.0);
    let mut tick = 0.0;
    while step > 0.0 && tick <= total * 1.0001 {
        let x = x_of(tick);
        let label = if tick == 0.0 {
            "0".to_string()
        } else {
            human_duration(Duration::from_secs_f64(tick))
        };
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{axis_y:.1}" x2="{x:.1}" y2="{:.1}" stroke="#444"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{label}</text>"##,
            axis_y + 5.0,
            axis_y + 20.0
        );
        tick += step;
    }
    svg.push_str("</svg>\n");
    svg
}

/// A round step (1, 2 or 5 times a power of ten) close to `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 0.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    let mantissa = raw / power;
    let nice = if mantissa < 1.5 {
        1.0
    } else if mantissa < 3.5 {
        2.0
    } else if mantissa < 7.5 {
        5.0
    } else {
        10.0
    };
    nice * power
}

/// Escapes the five XML special characters, for text in an SVG.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_labels_total_sums_its_spans_on_every_lane() {
        let timeline = Timeline::new();
        let ms = Duration::from_millis;
        timeline.record("a", "blocked", ms(0), ms(10));
        timeline.record("b", "blocked", ms(5), ms(8));
        timeline.record("a", "work", ms(10), ms(50));
        assert_eq!(timeline.total("blocked"), ms(13));
        assert_eq!(timeline.total("idle"), Duration::ZERO);
    }

    #[test]
    fn only_the_longer_work_is_recorded() {
        let timeline = Timeline::new();
        let ms = Duration::from_millis;
        timeline.measure_if_longer(ms(5), "lane", "quick", || ());
        timeline.measure_if_longer(ms(5), "lane", "slow", || std::thread::sleep(ms(20)));
        let labels: Vec<String> = timeline.spans().into_iter().map(|s| s.label).collect();
        assert_eq!(labels, ["slow"]);
    }

    #[test]
    fn each_lane_spans_from_its_first_start_to_its_last_end() {
        let ms = Duration::from_millis;
        let spans = [span("late", "x", 300, 400), span("early", "y", 100, 200)];
        let spans = [&spans[..], &[span("early", "z", 350, 500)]].concat();
        assert_eq!(lane_extents(&spans), [ms(100)..ms(500), ms(300)..ms(400)]);
        assert_eq!(extent(&spans), ms(100)..ms(500));
        assert_eq!(extent(&[]), Duration::ZERO..Duration::ZERO);
    }

    fn span(lane: &str, label: &str, start_ms: u64, end_ms: u64) -> Span {
        Span {
            lane: lane.into(),
            label: label.into(),
            start: Duration::from_millis(start_ms),
            end: Duration::from_millis(end_ms),
        }
    }

    fn fixed_spans() -> Vec<Span> {
        vec![
            span("worker-10", "4", 0, 1000),
            span("worker-1", "job 0", 0, 500),
            span("worker-1", "job 2", 500, 1000),
            span("worker-2", "job 1", 250, 750),
            span("worker-2", "x", 990, 1000),
        ]
    }

    /// One complete event per span, on the right track, in microseconds; tracks named after
    /// the lanes, in the text chart's order.
    #[test]
    fn the_trace_holds_every_span_on_its_lane() {
        let trace: serde_json::Value = serde_json::from_str(&render_trace(&fixed_spans())).unwrap();
        let events = trace["traceEvents"].as_array().unwrap();
        let of = |phase: &'static str| events.iter().filter(move |e| e["ph"] == phase);
        let tracks: Vec<(u64, &str)> = of("M")
            .filter(|e| e["name"] == "thread_name")
            .map(|e| (e["tid"].as_u64().unwrap(), e["args"]["name"].as_str().unwrap()))
            .collect();
        assert_eq!(tracks, [(1, "worker-1"), (2, "worker-10"), (3, "worker-2")]);
        let spans: Vec<(&str, u64, f64, f64)> = of("X")
            .map(|e| {
                let (ts, dur) = (e["ts"].as_f64().unwrap(), e["dur"].as_f64().unwrap());
                (e["name"].as_str().unwrap(), e["tid"].as_u64().unwrap(), ts, dur)
            })
            .collect();
        assert_eq!(spans.len(), fixed_spans().len());
        assert!(spans.contains(&("job 1", 3, 250_000.0, 500_000.0)), "{spans:?}");
        assert!(spans.contains(&("4", 2, 0.0, 1_000_000.0)), "{spans:?}");
    }

    /// What `render_trace` writes, `spans_from_trace` reads back: the same spans.
    #[test]
    fn a_trace_reads_back_as_its_spans() {
        let mut back = spans_from_trace(&render_trace(&fixed_spans())).unwrap();
        let mut spans = fixed_spans();
        let key = |s: &Span| (s.lane.clone(), s.label.clone());
        back.sort_by_key(key);
        spans.sort_by_key(key);
        assert_eq!(back.len(), spans.len());
        for (got, want) in back.iter().zip(&spans) {
            assert_eq!(key(got), key(want));
            let off = |a: Duration, b: Duration| a.abs_diff(b) < Duration::from_micros(1);
            assert!(off(got.start, want.start) && off(got.end, want.end), "{got:?} vs {want:?}");
        }
        assert_eq!(spans_from_trace("not a trace"), None);
    }

    /// A figure is one well-formed SVG: the title, the caption, and the chart inside.
    #[test]
    fn a_figure_holds_its_title_caption_and_chart() {
        let svg = render_figure(&fixed_spans(), "workers & co", "2 threads, 1.00 s");
        let doc = roxmltree::Document::parse(&svg).expect("well-formed");
        let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
        assert!(texts.contains(&"workers & co") && texts.contains(&"2 threads, 1.00 s"));
        let charts = doc.descendants().filter(|n| n.has_tag_name("svg")).count();
        assert_eq!(charts, 2, "the figure and the chart inside it");
        let bars = doc.descendants().filter(|n| n.has_tag_name("title")).count();
        assert_eq!(bars, fixed_spans().len(), "a bar, with its tooltip, per span");
    }

    #[test]
    fn text_chart_is_exact() {
        // 32 characters: a 9-character lane name, " |", 20 columns of 50 ms, "|".
        let chart = render_text(&fixed_spans(), 32);
        // Lanes in the order of their first start; the tie at 0 ms goes by number.
        let expected = "\
worker-1  |[job 0---][job 2---]|
worker-10 |[4-----------------]|
worker-2  |     [job 1---]    ||
          0 s             1.00 s
          (one column = 50.0 ms)
";
        assert_eq!(chart, expected);
    }

    /// A label cut short could read as another valid label ("27" as "2"): it is left out.
    #[test]
    fn labels_that_do_not_fit_are_left_out() {
        let spans =
            [span("w", "27", 0, 100), span("w", "3", 100, 200), span("w", "long", 200, 1000)];
        // 10 columns of 100 ms: boxes of 1, 1 and 8 columns.
        let chart = render_text(&spans, 14);
        let row = chart.lines().next().unwrap();
        assert_eq!(row, "w |||[long--]|");
        // A 3-column box has room for one character: "27" is left out, "x" is kept.
        let chart = render_text(&[span("w", "27", 0, 300), span("w", "x", 300, 1000)], 14);
        assert_eq!(chart.lines().next().unwrap(), "w |[-][x----]|");
    }

    #[test]
    fn axis_stays_aligned_with_multibyte_units() {
        let chart = render_text(&[span("a", "x", 0, 0), span("a", "y", 0, 0)], 20);
        let short = Span { end: Duration::from_micros(500), ..span("a", "z", 0, 0) };
        let chart_us = render_text(&[short], 20);
        for chart in [chart, chart_us] {
            let widths: Vec<usize> = chart.lines().take(2).map(|l| l.chars().count()).collect();
            assert_eq!(widths[0], widths[1], "row and axis differ in width:\n{chart}");
        }
    }

    #[test]
    fn text_chart_handles_no_spans() {
        // No lanes: only the axis and the scale, at the minimum of 10 columns.
        let expected = " 0 s     0 ns\n (one column = 0 ns)\n";
        assert_eq!(render_text(&[], 5), expected);
    }

    #[test]
    fn svg_is_well_formed_with_a_bar_per_span() {
        let mut spans = fixed_spans();
        spans.push(span("lane <&>", "a \"quoted\" 'label'", 100, 200));
        let svg = render_svg(&spans);
        let doc = roxmltree::Document::parse(&svg).expect("SVG must be well-formed XML");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let bars =
            doc.descendants().filter(|n| n.has_tag_name("rect") && n.attribute("rx").is_some());
        assert_eq!(bars.count(), spans.len());
        assert!(doc.descendants().any(|n| n.text() == Some("lane <&>")));
    }

    /// Spans that cross on one lane are found; ones that follow or hold each other are not.
    #[test]
    fn crossing_spans_are_found() {
        let nested =
            [span("a", "outer", 0, 100), span("a", "inner", 10, 20), span("b", "x", 50, 150)];
        assert_eq!(overlapping_lane(&nested), None);
        let crossing =
            [span("a", "one", 0, 100), span("b", "two", 0, 10), span("b", "three", 5, 20)];
        assert_eq!(overlapping_lane(&crossing), Some("b"));
    }

    /// A label goes on its bar, else after it where the lane is empty, else nowhere.
    #[test]
    fn labels_go_on_the_bar_or_after_it() {
        let spans = [
            span("a", "wide", 0, 1000),
            span("b", "narrow, then room", 0, 3),
            span("c", "narrow, no room", 0, 3),
            span("c", "x", 20, 1000),
        ];
        let svg = render_svg(&spans);
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let label = |text: &str| doc.descendants().find(|n| n.text() == Some(text));
        assert_eq!(label("wide").unwrap().attribute("fill"), Some("white"));
        assert_eq!(label("narrow, then room").unwrap().attribute("text-anchor"), Some("start"));
        assert!(label("narrow, no room").is_none(), "{svg}");
        // A bar too thin for an outline keeps its colour.
        let thin =
            doc.descendants().filter(|n| n.has_tag_name("rect") && n.attribute("rx").is_some());
        assert!(thin.clone().any(|n| n.attribute("stroke").is_none()));
        assert!(thin.clone().any(|n| n.attribute("stroke") == Some("white")));
    }

    #[test]
    fn records_from_many_threads() {
        let timeline = Timeline::new();
        std::thread::scope(|s| {
            for t in 0..4 {
                let timeline = &timeline;
                s.spawn(move || {
                    for i in 0..25 {
                        timeline.measure(format!("t{t}"), i.to_string(), || ());
                    }
                });
            }
        });
        let spans = timeline.spans();
        assert_eq!(spans.len(), 100);
        assert!(spans.windows(2).all(|w| w[0].start <= w[1].start));
        assert!(spans.iter().all(|s| s.start <= s.end));
    }

    #[test]
    fn aligned_timeline_shares_the_origin() {
        let parent = Timeline::new();
        std::thread::sleep(Duration::from_millis(200));
        let child = Timeline::aligned_to(&parent.origin_token()).unwrap();
        let (from_parent, from_child) = (parent.now(), child.now());
        // A child that ignored the token would start its clock at zero.
        assert!(from_child >= Duration::from_millis(190), "child clock at {from_child:?}");
        // Both clocks agree to within the wall clock's precision, plus any preemption of this
        // thread between the two clock reads in `aligned_to` (hence the generous bound).
        let skew = from_parent.abs_diff(from_child);
        assert!(skew < Duration::from_millis(50), "skew {skew:?}");
        let err = Timeline::aligned_to("yesterday").unwrap_err();
        assert_eq!(err, BadOriginToken("yesterday".into()));
        // A real error type: `?` turns it into an `anyhow::Error` with its message.
        let err = anyhow::Error::from(err);
        assert!(err.to_string().contains("\"yesterday\""), "{err}");
    }

    #[test]
    fn spans_survive_json() {
        let spans = fixed_spans();
        let json = serde_json::to_string(&spans).unwrap();
        assert!(json.starts_with(r#"[{"lane":"worker-10","label":"4","start_s":0.0,"end_s":1.0}"#));
        let back: Vec<Span> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, spans);
        let negative = r#"{"lane":"a","label":"b","start_s":-1.0,"end_s":1.0}"#;
        assert!(serde_json::from_str::<Span>(negative).is_err());
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(0.17), 0.2);
        assert_eq!(nice_step(0.9), 1.0);
        assert_eq!(nice_step(42.0), 50.0);
        assert_eq!(nice_step(0.0), 0.0);
    }
}
