//! Runs the chapter's binaries (but `spawn-task`, which has its own file) at a small size and
//! checks what they report: orders and properties, never timings.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The path of the package's binary `bin`: they all sit next to `spawn-task`.
fn exe(bin: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_BIN_EXE_spawn-task"))
        .with_file_name(format!("{bin}{}", std::env::consts::EXE_SUFFIX))
}

fn binary(bin: &str) -> Command {
    Command::new(exe(bin))
}

fn run(bin: &str, args: &[&str]) -> Output {
    binary(bin).args(args).output().unwrap_or_else(|e| panic!("running {bin}: {e}"))
}

/// The JSON object on the last line of stdout of a successful run.
fn json(bin: &str, args: &[&str]) -> Value {
    let output = run(bin, &[args, &["--json"]].concat());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{bin} failed:\n{stdout}\n{stderr}");
    serde_json::from_str(stdout.lines().last().expect("no output")).expect("last line is JSON")
}

fn strings(value: &Value) -> Vec<&str> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect()
}

#[test]
fn await_in_order_prints_in_order() {
    let json = json("await-in-order", &["--time-scale", "0.01"]);
    assert_eq!(strings(&json["order"]), ["one", "two", "three", "four", "five"]);
}

/// `bin`'s run with `--trace` and `args`, and the trace's complete events as (track name,
/// event name, start, length), start and length in µs.
fn traced(bin: &str, args: &[&str]) -> (Value, Vec<(String, String, f64, f64)>) {
    let file = std::env::temp_dir().join(format!("{bin}-trace-{}.json", std::process::id()));
    let json = json(bin, &[args, &["--trace", file.to_str().unwrap()]].concat());
    let trace: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    std::fs::remove_file(&file).unwrap();
    let events = trace["traceEvents"].as_array().unwrap();
    let track = |tid: &Value| {
        let named = events.iter().find(|e| e["name"] == "thread_name" && e["tid"] == *tid);
        named.unwrap()["args"]["name"].as_str().unwrap().to_string()
    };
    let complete = events.iter().filter(|e| e["ph"] == "X").map(|e| {
        let name = e["name"].as_str().unwrap().to_string();
        (track(&e["tid"]), name, e["ts"].as_f64().unwrap(), e["dur"].as_f64().unwrap())
    });
    (json, complete.collect())
}

#[test]
fn gather_finishes_in_the_order_of_the_waits() {
    // Waits of 200, 300 and 100 ms: 100 ms apart, on one thread that does nothing else.
    let (json, trace) = traced("gather", &["--time-scale", "0.1"]);
    assert_eq!(strings(&json["order"]), ["job 3", "job 1", "job 2"]);
    assert!(json["try_join_error_s"].as_f64().unwrap() < json["elapsed_s"].as_f64().unwrap());
    // The trace: one event per job, from its start to how it ended.
    let mut ends: Vec<(&str, &str)> =
        trace.iter().map(|(job, end, ..)| (job.as_str(), end.as_str())).collect();
    ends.sort();
    let expected = [("job 1", "done"), ("job 2", "done"), ("job 3", "done"), ("job 4", "dropped")];
    let expected = [&expected[..], &[("job 5", "dropped"), ("the failing job", "fails")]].concat();
    assert_eq!(ends, expected);
}

#[test]
fn smol_tour_shows_what_carries_over_to_smol_and_what_does_not() {
    // Part 1 does not depend on timing (the tasks wait for a signal given after the handles
    // are dropped); part 2's jobs end 200 ms apart, on smol's real clock.
    let output = run("smol-tour", &["--time-scale", "0.2", "--json"]);
    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    // tokio's timer under smol is reported, not a crash: exit 0, and no panic message at all.
    assert!(output.status.success() && stderr.is_empty(), "{stdout}\n{stderr}");
    let json: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(strings(&json["order"]), ["job 3", "job 1", "job 2"]);
    let finished = &json["finished"];
    assert_eq!(
        (&finished["smol"], &finished["tokio"], &finished["detached"]),
        (&false.into(), &true.into(), &true.into())
    );
    // The portable future gave this sum on both executors (the binary fails if they differ).
    assert_eq!(json["sum"], (0..100_000u64).sum::<u64>() + 100_000 * 10);
    assert!(json["took_s"]["tokio"].is_number() && json["took_s"]["smol"].is_number(), "{json}");
    assert!(json["tokio_timer_on_smol"].as_str().unwrap().contains("Tokio 1.x runtime"), "{json}");
    assert!(stdout.contains("It panicked: "), "{stdout}");
}

#[test]
fn coroutine_runs_the_state_machine_and_the_async_fn_alike() {
    let output = run("coroutine", &["--time-scale", "0.01"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert_eq!(stdout.matches("-> two steps done").count(), 2, "{stdout}");
}

#[test]
fn coroutine_send_resumes_the_receiver_with_every_value() {
    let json = json("coroutine-send", &[]);
    assert_eq!(json["received"], serde_json::json!([10, 20, 30]));
}

#[test]
fn event_loop_runs_every_task_on_one_thread() {
    let current = json("event-loop", &["--tasks", "2000", "--wait-ms", "50"]);
    assert_eq!((current["tasks"].as_u64(), current["threads"].as_u64()), (Some(2000), Some(1)));
    for key in ["wait_s", "elapsed_s", "rss_mb", "bytes_per_task"] {
        assert!(current[key].is_number(), "{key}: {current}");
    }
    // On the multi-thread runtime the tasks run on its workers: one per core at most.
    let multi = json("event-loop", &["--tasks", "2000", "--wait-ms", "50", "--flavor", "multi"]);
    let cores = std::thread::available_parallelism().unwrap().get() as u64;
    assert!((1..=cores).contains(&multi["threads"].as_u64().unwrap()), "{multi}");
}

#[test]
fn tasks_vs_threads_reports_both_models() {
    let json = json("tasks-vs-threads", &["--n", "300", "--wait-ms", "50"]);
    assert_eq!(json["n"], 300);
    for model in ["tasks", "threads"] {
        for key in ["wall_s", "create_us", "bytes_per_unit"] {
            assert!(json[model][key].is_number(), "{model}.{key}: {json}");
        }
    }
}

#[test]
fn inline_work_stalls_the_heartbeat_at_least_as_long_as_it_runs() {
    let (json, trace) = traced("blocking-the-loop", &["--limit", "1000000"]);
    let (job, inline) = (json["job_ms"].as_f64().unwrap(), json["inline_ms"].as_f64().unwrap());
    // The heartbeat cannot tick while the inline count holds the thread (one tick is 10 ms).
    assert!(inline + 10.0 >= job, "inline {inline} ms, job {job} ms");
    for key in ["spawn_blocking_ms", "rayon_ms"] {
        assert!(json[key].is_number(), "{key}");
    }
    // The trace: each count on the thread where it ran, and the heartbeat's ticks, one of
    // them as late as the inline count was long, less a tick.
    let counts: Vec<&str> =
        trace.iter().filter(|e| e.1 == "counting primes").map(|e| &*e.0).collect();
    let threads = ["the runtime's thread", "a spawn_blocking thread", "a rayon thread"];
    assert_eq!(counts, threads.map(|thread| format!("count ({thread})")));
    let ticks = trace.iter().filter(|e| e.0 == "heartbeat (the runtime's thread)");
    assert!(ticks.clone().count() >= 3 * 6, "6 ticks around each count, at least");
    let latest = ticks.map(|e| e.3).fold(0.0, f64::max);
    assert!(latest / 1e3 + 10.0 >= job, "latest tick {latest} µs, job {job} ms");
}

/// Ctrl-C during part 4 starts the graceful shutdown, and the jobs in flight still finish.
/// (The signal must come within the 2 s before the automatic shutdown.)
#[cfg(unix)]
#[test]
fn ctrl_c_shuts_down_gracefully() {
    let mut child = binary("select-timeout").stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let ready = line.contains("job 1 starts");
        seen.push(line);
        if ready {
            break;
        }
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    seen.extend(lines.map(Result::unwrap));
    assert!(child.wait().unwrap().success());
    let text = seen.join("\n");
    assert!(text.contains("shutdown: Ctrl-C;"), "{text}");
    assert!(
        text.contains("worker 1: job 1 done") && text.contains("worker 2: job 1 done"),
        "{text}"
    );
    assert!(text.ends_with("and lets the work in flight finish."), "{text}");
}

#[test]
fn bad_values_exit_2_naming_the_flag() {
    for (bin, flag, value) in [
        ("event-loop", "--tasks", "0"),
        ("event-loop", "--flavor", "other"),
        ("tasks-vs-threads", "--n", "-1"),
        ("blocking-the-loop", "--limit", "x"),
        ("gather", "--time-scale", "-1"),
        ("smol-tour", "--time-scale", "x"),
    ] {
        let output = run(bin, &[flag, value]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bin} {flag} {value}: {stderr}");
        assert!(stderr.contains(&format!("'{flag} <")) && !stderr.contains("panicked"), "{stderr}");
    }
}

/// When the OS would refuse a thread, the binaries that start threads beside their runtime (or
/// a multi-thread runtime) say so (exit code 1) instead of letting tokio panic and then wait
/// for ever, rayon or smol panic, or `thread::spawn` panic. The
/// limit on threads (`ulimit -u`) binds an unprivileged user only, so the binaries run as
/// `nobody` through util-linux's `setpriv` (which needs root) and `prlimit`; elsewhere the test
/// says it was skipped.
#[cfg(target_os = "linux")]
#[test]
fn no_room_for_threads_is_an_error_not_a_panic_or_a_hang() {
    use std::time::{Duration, Instant};
    let as_nobody = ["--reuid=65534", "--regid=65534", "--clear-groups"];
    let probe = Command::new("setpriv").args(as_nobody).arg("true").status();
    if !probe.is_ok_and(|status| status.success()) {
        eprintln!("skipped: setpriv cannot run a command as nobody here (it needs root)");
        return;
    }
    for (bin, args) in [
        ("shared-state", &["--time-scale", "0.01"][..]),
        ("event-loop", &["--flavor", "multi", "--tasks", "10"]),
        ("spawn-task", &["--multi-thread", "--time-scale", "0.01"]),
        ("smol-tour", &["--time-scale", "0.01"]),
        ("blocking-the-loop", &["--limit", "1000"]),
        ("coroutine", &["--time-scale", "0.01"]),
    ] {
        // One thread for nobody, and it is the binary's own main thread.
        let mut child = Command::new("setpriv")
            .args(as_nobody)
            .args(["prlimit", "--nproc=1"])
            .arg(exe(bin))
            .args(args)
            .env_remove("RUST_BACKTRACE")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > Duration::from_secs(20) {
                child.kill().unwrap();
                panic!("{bin} hung");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
        assert_eq!(status.code(), Some(1), "{bin}: {stderr}");
        assert!(
            stderr.starts_with("Error: the OS would start only 0 more threads"),
            "{bin}: {stderr}"
        );
        assert!(stderr.contains("raise the limit (ulimit -u)"), "{bin}: {stderr}");
    }
}
