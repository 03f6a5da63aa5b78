//! Runs each binary of the chapter (but `workers`, which has its own file) at a small size and
//! checks what it reports: only properties that hold in every interleaving.

use std::process::{Command, Output};

use serde_json::Value;

fn run(bin: &str, args: &[&str]) -> Output {
    // Every binary of the package sits next to `workers`.
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_workers"))
        .with_file_name(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    Command::new(&exe).args(args).output().unwrap_or_else(|e| panic!("running {bin}: {e}"))
}

/// The JSON object on the last line of stdout of a successful run.
fn json(bin: &str, args: &[&str]) -> Value {
    let output = run(bin, &[args, &["--json"]].concat());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{bin} failed:\n{stdout}\n{stderr}");
    serde_json::from_str(stdout.lines().last().expect("no output")).expect("last line is JSON")
}

fn numbers(value: &Value) -> Vec<u64> {
    value.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect()
}

#[test]
fn spawn_join_returns_the_results_through_join() {
    let json = json("spawn-join", &["7", "8", "9", "--time-scale", "0.01"]);
    assert_eq!(numbers(&json["squares"]), [49, 64, 81]);
    assert_eq!(numbers(&json["cubes"]), [343, 512, 729]);
}

#[test]
fn simple_threads_run_every_task_and_repeat_with_a_seed() {
    let args = ["--seed", "7", "--tasks", "4", "--time-scale", "0.01"];
    let (first, second) = (json("simple-threads", &args), json("simple-threads", &args));
    assert_eq!(first["waits_s"], second["waits_s"], "the same seed gave other waits");
    assert_eq!(first["waits_s"], serde_json::json!([1.0, 1.5, 0.5, 2.0]));
    // Which finishes first depends on the scheduler as well as the waits: only check that
    // every task finished exactly once. (The binary itself says whether the order followed
    // the waits.)
    let mut finished = numbers(&first["finished"]);
    finished.sort();
    assert_eq!(finished, [1, 2, 3, 4]);
}

#[test]
fn without_join_the_threads_die_with_main() {
    // main returns after 0.15 s; the longest wait, 0.4 s, cannot have finished by then.
    let args = ["--seed", "7", "--tasks", "4", "--time-scale", "0.2", "--no-join"];
    let json = json("simple-threads", &args);
    assert!(numbers(&json["finished"]).len() < 4, "{json}");
    let output = run("simple-threads", &args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.matches(" done").count() < 4, "{stdout}");
    assert!(stdout.contains("main returns without joining"), "{stdout}");
}

#[test]
fn thread_pool_reuses_its_few_threads_for_every_job() {
    let json = json("thread-pool", &["--jobs", "8", "--workers", "2", "--time-scale", "0.1"]);
    for (pool, prefix) in [("hand_made", "hand-made-"), ("rayon", "rayon-")] {
        assert_eq!(json[pool]["jobs"], 8);
        let distinct = json[pool]["distinct_threads"].as_u64().unwrap();
        assert!((1..=2).contains(&distinct), "{pool}: {distinct} threads");
        let threads = json[pool]["threads"].as_array().unwrap();
        assert!(threads.iter().all(|t| t.as_str().unwrap().starts_with(prefix)), "{threads:?}");
    }
}

#[test]
fn race_condition_locked_totals_are_exact_and_racy_ones_never_more() {
    let json =
        json("race-condition", &["--increments", "100000", "--runs", "3", "--time-scale", "0"]);
    assert_eq!(json["expected"], 200_000);
    assert_eq!(numbers(&json["locked"]), [200_000; 3]);
    assert!(numbers(&json["racy"]).iter().all(|&r| r <= 200_000));
}

#[test]
fn mutex_vs_atomic_counters_are_all_exact() {
    let json = json("mutex-vs-atomic", &["--increments", "100000"]);
    for method in ["mutex", "atomic", "partial"] {
        assert_eq!(json[method]["total"], 200_000, "{method}");
        assert!(json[method]["ns_per_op"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn scoped_threads_find_the_known_count_both_ways() {
    let json = json("scoped-threads", &["--limit", "100000"]);
    assert_eq!(numbers(&json["primes_read"]).iter().sum::<u64>(), 9_592);
    assert_eq!(json["primes_written"], 9_592);
}

#[test]
fn rayon_parallel_counts_correctly_and_reports_every_figure() {
    let json = json("rayon-parallel", &["--limit", "1000000", "--tiny", "100"]);
    assert_eq!(json["primes"], 78_498);
    for key in [
        "sequential_s",
        "rayon_s",
        "speedup",
        "join_s",
        "channel_s",
        "tiny_sequential_s",
        "tiny_rayon_s",
    ] {
        assert!(json[key].as_f64().is_some_and(|v| v > 0.0), "{key}: {}", json[key]);
    }
}

#[test]
fn channels_deliver_every_item_and_message() {
    let json = json(
        "channels",
        &["--items", "20", "--consumers", "3", "--capacity", "1", "--time-scale", "0.01"],
    );
    assert_eq!((json["items"].as_u64(), json["delivered"].as_u64()), (Some(40), Some(40)));
    assert_eq!(json["mpsc_received"], 6);
}

#[test]
fn select_sees_every_message_of_both_channels() {
    let json = json("channel-select", &["--time-scale", "0.01"]);
    let events: Vec<&str> =
        json["select_events"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    // Every message, each channel's in order; how the two channels interleave may vary.
    let quick: Vec<&str> = events.iter().copied().filter(|e| e.starts_with("quick")).collect();
    assert_eq!(quick, ["quick 1", "quick 2", "quick 3"]);
    assert_eq!(events.iter().filter(|&&e| e == "slow answer").count(), 1);
}

#[test]
fn bad_values_exit_2_naming_the_flag() {
    for (bin, flag, value) in [
        ("simple-threads", "--tasks", "0"),
        ("simple-threads", "--tasks", "21"),
        ("thread-pool", "--workers", "-1"),
        ("race-condition", "--runs", "abc"),
        ("mutex-vs-atomic", "--increments", "0"),
        ("scoped-threads", "--limit", "0"),
        ("rayon-parallel", "--tiny", "x"),
        ("channels", "--capacity", "0"),
        ("channel-select", "--time-scale", "-2"),
        ("spawn-join", "--wait", "-1"),
    ] {
        let output = run(bin, &[flag, value]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bin} {flag} {value}: {stderr}");
        assert!(stderr.contains(&format!("'{flag} <")) && !stderr.contains("panicked"), "{stderr}");
    }
}

/// A thread the OS refuses to start is an error (exit code 1, one line saying which limit to
/// raise), never a panic, and the threads already started stop: before, `channels`
/// panicked, then waited for ever for its producers. The limit on threads (`ulimit -u`) binds
/// an unprivileged user only, so the binaries run as `nobody` through util-linux's `setpriv`
/// (which needs root) and `prlimit`; elsewhere the test says it was skipped.
#[cfg(target_os = "linux")]
#[test]
fn a_thread_that_cannot_start_is_an_error_not_a_panic_or_a_hang() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let as_nobody = ["--reuid=65534", "--regid=65534", "--clear-groups"];
    let probe = Command::new("setpriv").args(as_nobody).arg("true").status();
    if !probe.is_ok_and(|status| status.success()) {
        eprintln!("skipped: setpriv cannot run a command as nobody here (it needs root)");
        return;
    }
    let fast = ["--time-scale", "0.01"];
    let cases: [(&str, &[&str], u32); 11] = [
        ("spawn-join", &fast, 1),
        ("simple-threads", &fast, 1),
        ("scoped-threads", &["--limit", "1000"], 1),
        ("race-condition", &["--increments", "1000", "--time-scale", "0.01"], 1),
        ("mutex-vs-atomic", &["--increments", "1000"], 1),
        ("channel-select", &fast, 1),
        ("thread-pool", &fast, 1),
        ("workers", &["--limit", "1000"], 1),
        ("rayon-parallel", &["--limit", "1000"], 1),
        ("channels", &fast, 1),
        // Main and the two producers start; the first consumer does not.
        ("channels", &["--items", "3", "--time-scale", "0.01"], 3),
    ];
    for (bin, args, threads) in cases {
        let exe = std::path::Path::new(env!("CARGO_BIN_EXE_workers"))
            .with_file_name(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
        let mut child = Command::new("setpriv")
            .args(as_nobody)
            .arg("prlimit")
            .arg(format!("--nproc={threads}"))
            .arg(exe)
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
                panic!("{bin} hung after a thread failed to start");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
        assert_eq!(status.code(), Some(1), "{bin}: {stderr}");
        assert!(stderr.starts_with("Error: ") && stderr.lines().count() == 1, "{bin}: {stderr}");
        assert!(stderr.contains("ulimit -u"), "{bin}: {stderr}");
    }
}
