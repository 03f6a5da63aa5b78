//! Runs the chapter's newer binaries with their real child processes and checks what they
//! report (`child-processes` has its own file).

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
#[cfg(target_os = "linux")]
use common::children_exit_when_the_parent_dies;
use common::exe;

/// The JSON object on the last line of stdout of a successful run of `bin`. A run that hangs
/// fails the test after two minutes, instead of hanging it.
fn json(bin: &str, args: &[&str]) -> Value {
    let mut command = Command::new(exe(bin));
    command.arg("--json").args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = command.spawn().expect("starting the binary");
    let pid = child.id().to_string();
    let (finished, output) = std::sync::mpsc::channel();
    std::thread::spawn(move || finished.send(child.wait_with_output()));
    let Ok(output) = output.recv_timeout(Duration::from_secs(120)) else {
        let _ = Command::new("kill").args(["-9", &pid]).status();
        panic!("{bin} {args:?} did not finish within two minutes");
    };
    let output = output.expect("running the binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{bin} failed:\n{stdout}\n{stderr}");
    serde_json::from_str(stdout.lines().last().expect("no output")).expect("last line is JSON")
}

#[test]
fn process_ids_agree_and_exit_codes_come_back() {
    let json = json("process-ids", &["--time-scale", "0.2"]);
    let parent = json["parent_pid"].as_u64().unwrap();
    let children = json["children"].as_array().unwrap();
    assert_eq!(children.len(), 2);
    let pids: Vec<u64> = children.iter().map(|c| c["pid"].as_u64().unwrap()).collect();
    assert!(pids[0] != pids[1] && !pids.contains(&parent), "{pids:?} and {parent}");
    for child in children {
        assert_eq!(child["says_pid"], child["pid"], "the child's own view of its pid");
        if cfg!(unix) {
            assert_eq!(child["says_parent"], parent.to_string());
        }
    }
    assert_eq!(
        (children[0]["exit_code"].as_i64(), children[1]["exit_code"].as_i64()),
        (Some(0), Some(7))
    );
}

#[test]
fn a_childs_changes_stay_in_the_child_and_a_threads_do_not() {
    let json = json("separate-memory", &[]);
    let squares = serde_json::json!([1, 4, 9, 16, 25]);
    assert_eq!(json["child"]["results"], squares);
    assert_eq!(json["parent_after_child"], serde_json::json!([]));
    assert_eq!(json["parent_after_thread"], squares);
}

#[test]
fn each_crash_stays_in_its_own_process() {
    let json = json("crash-isolation", &["--time-scale", "0.1"]);
    let children = json["children"].as_array().unwrap();
    let how: Vec<&str> = children.iter().map(|c| c["how"].as_str().unwrap()).collect();
    assert_eq!(children[0]["code"], 101, "{how:?}");
    assert_eq!(children[0]["stderr"], "a bug in the child");
    assert_eq!(
        (children[3]["code"].as_i64(), children[3]["stdout"].as_str()),
        (Some(0), Some("5050"))
    );
    if cfg!(unix) {
        // Ended by signals, with no exit code: an abort (6) and a kill (9).
        assert_eq!((&children[1]["code"], &children[2]["code"]), (&Value::Null, &Value::Null));
        assert!(how[1].contains("signal 6") && how[2].contains("signal 9"), "{how:?}");
    }
    assert_eq!(json["thread_panic_caught"], true);
}

#[test]
fn the_pipe_delivers_every_message_in_order_then_end() {
    // "-x" must arrive as a message, not be taken for a flag on the way to the child.
    let json = json("pipe", &["--time-scale", "0.01", "--", "one", "two words", "-x"]);
    assert_eq!(json["received"], serde_json::json!(["one", "two words", "-x"]));
    assert_eq!(json["ended_with_end"], true);
}

#[test]
fn a_message_that_would_end_the_pipe_early_is_refused() {
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_child-processes"))
        .with_file_name(format!("pipe{}", std::env::consts::EXE_SUFFIX));
    // "END", and what the line framing cannot carry: a line break, a carriage return.
    for bad in ["END", "a\nb", "\r", "a\rb"] {
        let output = Command::new(&exe).args(["ok", bad]).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{bad:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("may not be \"END\""));
    }
}

#[test]
fn the_queue_delivers_every_item_in_order_and_closes() {
    let json = json("queue", &["--items", "200", "--time-scale", "0"]);
    let received: Vec<u64> =
        json["received"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).collect();
    assert_eq!(received, (1..=200).collect::<Vec<_>>());
    assert_eq!(json["in_order"], true);
}

/// Shared-memory and lock files go to `scratch_dir()` (/dev/shm on Linux). Only this test
/// runs `shared-memory` and `bank-balance`, so that the directory is compared undisturbed.
#[test]
fn shared_memory_and_exact_balances_leave_no_file_behind() {
    let dir = multi_processing::scratch_dir();
    let ours = || -> HashSet<String> {
        let names = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name());
        let names = names.map(|n| n.to_string_lossy().into_owned());
        names
            .filter(|n| n.starts_with("bank-balance-") || n.starts_with("shared-memory-"))
            .collect()
    };
    let before = ours();

    let shared = json("shared-memory", &["3", "4", "1000000"]);
    assert_eq!(shared["array"], serde_json::json!([9, 16, 1_000_000_000_000u64]));
    assert_eq!(shared["value"], 1_000_000_000_025u64);
    assert_eq!(shared["correct"], true);

    let bank = json("bank-balance", &["--runs", "5", "--operations", "5000"]);
    for variant in ["locked", "atomic"] {
        assert_eq!(bank[variant], serde_json::json!([100, 100, 100, 100, 100]), "{variant}");
    }
    assert_eq!(bank["unsynchronized"].as_array().unwrap().len(), 5);
    for variant in ["unsynchronized", "locked", "atomic"] {
        assert!(bank["ns_per_op"][variant].as_f64().unwrap() > 0.0, "{variant}");
    }
    // Stopped in the middle of a long run, by Ctrl-C (SIGINT) and by SIGKILL, once both
    // children are running and the names are gone: the children end too, and nothing is
    // left. (A Ctrl-C before the names are gone is the library's test: its handler removes
    // the files.)
    #[cfg(target_os = "linux")]
    for signal in ["-INT", "-KILL"] {
        let args = ["--runs", "1000", "--operations", "1000000"];
        children_exit_when_the_parent_dies(
            "bank-balance",
            &args,
            "Two processes",
            2,
            signal,
            || ours() == before,
        );
    }
    assert_eq!(ours(), before, "a file was left in {}", dir.display());
}

#[test]
fn the_manager_keeps_and_lists_every_record() {
    let json = json("manager", &["--records", "4", "--time-scale", "0.1"]);
    assert_eq!(json["all_kept"], true);
    let records = json["server_records"].as_array().unwrap();
    assert_eq!(records.len(), 8);
    for (client, listed) in ["a", "b"].iter().zip(json["listed_by_client"].as_array().unwrap()) {
        for n in 1..=4 {
            let record = serde_json::json!({ "client": client, "n": n });
            assert!(records.contains(&record), "{record} is not on the server");
            assert!(listed.as_array().unwrap().contains(&record), "{client} did not list {record}");
        }
    }
}

#[test]
fn the_pool_maps_in_input_order() {
    let json = json("pool", &["--workers", "2", "--limit", "20000"]);
    assert_eq!(json["squares"], serde_json::json!([1, 4, 9, 16, 25]));
    assert_eq!((&json["results_ok"], &json["replaced"]), (&Value::Bool(true), &0.into()));
    let pids: HashSet<u64> =
        json["pids"].as_array().unwrap().iter().map(|p| p.as_u64().unwrap()).collect();
    assert!(pids.len() <= 2, "two workers, but {pids:?} computed squares");
}

/// The crash, and `--trace`: one complete event per worker start, per result and per death,
/// on a track per worker.
#[test]
fn the_pool_survives_a_crashed_worker_and_retries_its_input() {
    let file = std::env::temp_dir().join(format!("pool-trace-{}.json", std::process::id()));
    let trace = file.to_str().unwrap();
    let args = ["--workers", "2", "--crash-on", "3", "--limit", "20000", "--trace", trace];
    let json = json("pool", &args);
    assert_eq!(json["squares"], serde_json::json!([1, 4, 9, 16, 25]));
    assert_eq!((&json["results_ok"], &json["replaced"]), (&Value::Bool(true), &1.into()));

    let trace: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    std::fs::remove_file(&file).unwrap();
    let events = trace["traceEvents"].as_array().unwrap();
    let complete: Vec<&Value> = events.iter().filter(|e| e["ph"] == "X").collect();
    let named = |name: &str| complete.iter().filter(|e| e["name"] == name).count();
    // 2 workers, 1 in place of the dead one, then 2 on the second pool.
    assert_eq!(named("start"), 5);
    // Every result once: squares 1 to 5, then 16 prime counts.
    let mut results: Vec<u64> =
        complete.iter().filter_map(|e| e["name"].as_str()?.parse().ok()).collect();
    results.sort();
    let mut expected: Vec<u64> = (1..=5).chain(1..=16).collect();
    expected.sort();
    assert_eq!(results, expected);
    // One death, on task 3, after which its worker did nothing more.
    let deaths: Vec<&&Value> =
        complete.iter().filter(|e| e["name"].as_str().unwrap().starts_with("3: ")).collect();
    assert_eq!(deaths.len(), 1, "{deaths:?}");
    let death = deaths[0];
    assert!(death["name"].as_str().unwrap().contains("abort"), "{death}");
    let after = |e: &&&Value| e["ts"].as_f64() > death["ts"].as_f64();
    assert!(!complete.iter().any(|e| e["tid"] == death["tid"] && after(&e)), "{complete:?}");
}

#[test]
fn the_pool_retires_workers_after_their_task_limit() {
    let args = ["--workers", "2", "--max-tasks-per-child", "1", "--limit", "20000"];
    let json = json("pool", &args);
    assert_eq!(json["squares"], serde_json::json!([1, 4, 9, 16, 25]));
    let pids: HashSet<u64> =
        json["pids"].as_array().unwrap().iter().map(|p| p.as_u64().unwrap()).collect();
    assert_eq!(pids.len(), 5, "each square on a fresh worker: {pids:?}");
    // A spent worker is replaced when it would get another task: 2 workers ran the first two
    // of 5 squares, and the first two of 16 prime counts; each other task needed a new one.
    assert_eq!(json["retired"], 3 + 14);
    assert_eq!(json["tasks"], 16);
}

#[cfg(target_os = "linux")]
#[test]
fn a_killed_pool_leaves_no_worker_behind() {
    // Killed once the workers are counting primes, for minutes: busy, not waiting on a channel.
    let args = ["--workers", "2", "--limit", "4000000000"];
    let counting = Instant::now();
    children_exit_when_the_parent_dies("pool", &args, "Counting", 2, "-KILL", || {
        counting.elapsed() > Duration::from_millis(200)
    });
}

#[cfg(target_os = "linux")]
#[test]
fn a_killed_manager_leaves_no_server_or_client_behind() {
    // The clients sleep for a minute before their first request; the server waits in `recv`.
    children_exit_when_the_parent_dies(
        "manager",
        &["--wait", "60"],
        "A server",
        3,
        "-KILL",
        || true,
    );
}

/// `bin` with `--time-scale 0.01`, run by a shell that sets `ulimit LIMIT` and then becomes
/// the binary (`exec`), so that only that process has the limit.
fn under_ulimit(limit: &str, bin: &str) -> Command {
    let mut command = Command::new("sh");
    command.args(["-c", &format!("ulimit {limit} && exec \"$0\" --time-scale 0.01")]);
    command.arg(exe(bin));
    command
}

/// Runs `command` (`bin`'s) and checks that it failed with exit code 1 and one line on
/// stderr, `Error: …`, holding each of `expected`.
fn fails_in_one_line(mut command: Command, bin: &str, expected: &[&str]) {
    let output = command.env_remove("RUST_BACKTRACE").output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{bin}: {stderr}");
    assert!(stderr.starts_with("Error: ") && stderr.lines().count() == 1, "{bin}: {stderr}");
    for text in expected {
        assert!(stderr.contains(text), "{bin}: {stderr}");
    }
}

/// An unusable temporary directory (missing, or a file) is an error that says what to do,
/// for the binaries that open ipc-channel's one-shot server — ipc-channel itself panics.
#[cfg(unix)]
#[test]
fn an_unusable_tmpdir_is_a_clear_error_not_a_panic() {
    let not_a_dir = std::env::temp_dir().join(format!("not-a-dir-{}", std::process::id()));
    std::fs::write(&not_a_dir, b"").unwrap();
    for tmpdir in ["/nonexistent/tmp", not_a_dir.to_str().unwrap()] {
        // (Not `shared-memory` and `bank-balance`: their scratch files are another test's.)
        for bin in ["queue", "manager", "pool"] {
            let mut command = Command::new(exe(bin));
            command.args(["--time-scale", "0.01"]).env("TMPDIR", tmpdir);
            fails_in_one_line(command, bin, &["set TMPDIR to a writable directory"]);
        }
    }
    std::fs::remove_file(not_a_dir).unwrap();
}

/// A low limit on open files is an error that names the limit and says how to raise it;
/// inside ipc-channel it was an index-out-of-bounds panic.
#[cfg(target_os = "linux")]
#[test]
fn too_few_file_descriptors_is_a_clear_error_not_a_panic() {
    for bin in ["queue", "manager", "pool"] {
        let expected = ["too few file descriptors", "raise the limit (ulimit -n)"];
        fails_in_one_line(under_ulimit("-n 12", bin), bin, &expected);
    }
}

/// A low limit on address space is an error that says so before any worker starts; in a
/// worker the runtime itself aborted ("memory allocation of … bytes failed"), leaving
/// ipc-channel's socket directory behind.
#[cfg(target_os = "linux")]
#[test]
fn too_little_address_space_is_a_clear_error_not_an_abort() {
    for bin in ["queue", "pool", "crash-isolation", "child-processes"] {
        let expected = ["the address-space limit is 30000 KiB", "raise it (ulimit -v)"];
        fails_in_one_line(under_ulimit("-v 30000", bin), bin, &expected);
    }
}

/// A process the OS refuses to start (the limit on this user's processes and threads,
/// `ulimit -u`, which binds an unprivileged user only) is one line naming the limit. The
/// binaries run as `nobody` through util-linux's `setpriv` (which needs root) and `prlimit`;
/// elsewhere the test says it was skipped.
#[cfg(target_os = "linux")]
#[test]
fn a_process_the_os_refuses_is_a_clear_error() {
    let as_nobody = ["--reuid=65534", "--regid=65534", "--clear-groups"];
    let probe = Command::new("setpriv").args(as_nobody).arg("true").status();
    if !probe.is_ok_and(|status| status.success()) {
        eprintln!("skipped: setpriv cannot run a command as nobody here (it needs root)");
        return;
    }
    for bin in ["queue", "pool", "child-processes", "crash-isolation"] {
        let mut command = Command::new("setpriv");
        command.args(as_nobody).args(["prlimit", "--nproc=1"]).arg(exe(bin));
        command.args(["--time-scale", "0.01"]);
        fails_in_one_line(command, bin, &["starting a process (is a limit such as ulimit -u"]);
    }
}

/// Every unit is measured, over the rounds asked for, and every echo came back unchanged (the
/// binary checks each one and fails otherwise). How long each took is the binary's to say.
#[test]
fn unit_costs_measures_every_unit() {
    let json = json("unit-costs", &["--rounds", "20"]);
    assert_eq!(json["rounds"], 20);
    let trips = &json["round_trip_us"];
    for figure in [
        &json["thread_start_wait_us"],
        &json["process_start_wait_us"],
        &trips["mpsc"],
        &trips["pipe"],
        &trips["ipc_channel"],
    ] {
        assert!(figure.as_f64().is_some_and(|us| us > 0.0), "{json}");
    }
}

#[test]
fn bad_values_exit_2_naming_the_flag() {
    for (bin, flag, value) in [
        ("bank-balance", "--runs", "0"),
        ("bank-balance", "--operations", "20000000"),
        ("manager", "--records", "-1"),
        ("manager", "--wait", "x"),
        ("pool", "--crash-on", "6"),
        ("pool", "--workers", "0"),
        ("pool", "--max-tasks-per-child", "0"),
        ("queue", "--items", "0"),
        ("unit-costs", "--rounds", "0"),
        ("dataflow", "--workers", "0"),
        ("dataflow", "--processes", "1"),
        ("dataflow", "--limit", "-5"),
        ("dataflow", "--connect-timeout", "0"),
    ] {
        let output = Command::new(exe(bin)).args([flag, value]).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bin} {flag} {value}: {stderr}");
        assert!(stderr.contains(&format!("'{flag} <")) && !stderr.contains("panicked"), "{stderr}");
    }
    // The hidden child role is checked too: an unknown one is a usage error, not a child.
    for bin in [
        "pipe",
        "separate-memory",
        "manager",
        "shared-memory",
        "pool",
        "queue",
        "unit-costs",
        "dataflow",
    ] {
        let output = Command::new(exe(bin)).args(["--worker", "bogus"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bin}: {stderr}");
        assert!(stderr.contains("invalid value 'bogus' for '--worker'"), "{bin}: {stderr}");
    }
    // A positional value out of range names its range, not only "invalid digit".
    let output = Command::new(exe("shared-memory")).arg("-1").output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("expected a whole number from 0 to 1000000"), "{stderr}");
}
