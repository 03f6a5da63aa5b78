//! Runs the `workers` binary itself, at a small size, and checks what it reports.

use std::collections::BTreeSet;
use std::process::{Command, Output};

use serde_json::Value;

fn workers(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_workers")).args(args).output().expect("running workers")
}

/// The JSON object on the last line of stdout.
fn summary(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "workers failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.lines().last().expect("no output")).expect("last line is JSON")
}

#[test]
fn counts_correctly_and_runs_every_job_once() {
    let json =
        summary(&workers(&["--limit", "1000000", "--jobs", "10", "--workers", "3", "--json"]));
    assert_eq!(json["correct"], true);
    assert_eq!(json["primes"], 78_498);
    assert_eq!((json["workers"].as_u64(), json["jobs"].as_u64()), (Some(3), Some(10)));
    let runs = json["runs"].as_array().unwrap();
    let jobs: Vec<u64> = runs.iter().map(|r| r["job"].as_u64().unwrap()).collect();
    assert_eq!(jobs.iter().copied().collect::<BTreeSet<_>>(), (0..10).collect());
    assert_eq!(jobs.len(), 10, "a job ran more than once");
    assert!(runs.iter().all(|r| (1..=3).contains(&r["worker"].as_u64().unwrap())));
    assert_eq!(runs.iter().map(|r| r["primes"].as_u64().unwrap()).sum::<u64>(), 78_498);
    for key in ["limit", "sequential_s", "parallel_s", "speedup"] {
        assert!(json[key].is_number(), "{key} missing");
    }
}

#[test]
fn shows_who_ran_what_and_writes_an_svg() {
    let svg = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("workers-timeline.svg");
    let output = workers(&["--limit", "100000", "--workers", "2", "--svg", svg.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    // Which workers appear is not fixed: with this little work, one thread may take every
    // job before the other has started. Only what holds in every run is checked.
    for expected in ["ran on", "Timeline", "one thread", "speedup", "9,592 primes"] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
    let chart_row = |l: &str| l.starts_with("worker-") && l.contains(" |") && l.ends_with('|');
    assert!(stdout.lines().any(chart_row), "no timeline row in:\n{stdout}");
    let drawing = std::fs::read_to_string(&svg).unwrap();
    assert!(drawing.starts_with("<svg") && drawing.trim_end().ends_with("</svg>"));
    std::fs::remove_file(svg).unwrap();
}

#[test]
fn bad_arguments_exit_2_with_a_message_naming_the_flag_and_range() {
    for (bad, names) in [
        (&["--workers", "0"][..], "'--workers <N≤1024>': expected a whole number from 1 to 1024"),
        (&["--workers", "abc"], "'--workers <N≤1024>'"),
        (&["--workers", "-3"], "'--workers <N≤1024>'"),
        // Numbers that would run for ever are refused: the range is in `--help`.
        (&["--workers", "18446744073709551615"], "'--workers <N≤1024>'"),
        (&["--limit", "0"], "'--limit <N≤4000000000>'"),
        (&["--limit", "18446744073709551615"], "expected a whole number from 1 to 4000000000"),
        // Beyond 64 bits, too: one message, never std's "number too large to fit".
        (&["--workers", "99999999999999999999999"], "expected a whole number from 1 to 1024"),
        (&["--jobs", "x"], "'--jobs <N≤100000>'"),
        (&["--time-scale", "-1"], "'--time-scale <F>': expected a number from 0 to 1000"),
    ] {
        let output = workers(bad);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bad:?}");
        assert!(stderr.contains("error:") && !stderr.contains("panicked"), "{bad:?}: {stderr}");
        assert!(stderr.contains(names), "{bad:?}: {stderr}");
    }
}

/// The closing verdict follows from the run's figures: a tiny job is never called a success.
#[test]
fn a_tiny_job_is_not_called_near_the_ideal() {
    let output = workers(&["--limit", "10", "--workers", "2"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(!stdout.contains("close to the ideal"), "{stdout}");
    // "Too small" is the verdict only where two workers could have run in parallel.
    if std::thread::available_parallelism().unwrap().get() >= 2 {
        assert!(stdout.contains("too small to be worth threads"), "{stdout}");
    }
}

#[test]
fn help_lists_the_flags() {
    let output = workers(&["--help"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    for flag in ["--workers", "--jobs", "--limit", "--json", "--time-scale", "--svg"] {
        assert!(stdout.contains(flag), "--help lacks {flag}");
    }
}

/// `--trace` writes one complete event per job, on the track of the worker that ran it, with
/// one named track per worker: what Perfetto shows.
#[test]
fn the_trace_holds_one_event_per_job_on_its_workers_track() {
    let trace_file =
        std::env::temp_dir().join(format!("workers-trace-{}.json", std::process::id()));
    let trace = trace_file.to_str().unwrap();
    let args = ["--limit", "100000", "--jobs", "12", "--workers", "3", "--trace", trace, "--json"];
    let json = summary(&workers(&args));
    let text = std::fs::read_to_string(&trace_file).expect("the trace was written");
    std::fs::remove_file(&trace_file).unwrap();
    let events: Value = serde_json::from_str(&text).expect("the trace is JSON");
    let events = events["traceEvents"].as_array().unwrap();
    let tracks: BTreeSet<(u64, &str)> = events
        .iter()
        .filter(|e| e["name"] == "thread_name")
        .map(|e| (e["tid"].as_u64().unwrap(), e["args"]["name"].as_str().unwrap()))
        .collect();
    // Each job's span, as (job label, track name), against who ran it by the JSON.
    let spans: BTreeSet<(String, String)> = events
        .iter()
        .filter(|e| e["ph"] == "X")
        .map(|e| {
            let track = tracks.iter().find(|(tid, _)| e["tid"] == *tid).expect("a named track");
            (e["name"].as_str().unwrap().to_string(), track.1.to_string())
        })
        .collect();
    let ran: BTreeSet<(String, String)> = json["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["job"].to_string(), format!("worker-{}", r["worker"])))
        .collect();
    assert_eq!(events.iter().filter(|e| e["ph"] == "X").count(), 12, "one event per job");
    assert_eq!(spans, ran);
}
