//! Runs the `child-processes` binary, which starts two real child processes, and checks
//! what they computed and reported.

use std::process::{Command, Output, Stdio};

use serde_json::Value;

mod common;

fn child_processes(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_child-processes"))
        .args(args)
        .output()
        .expect("running child-processes")
}

fn last_json_line(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

#[test]
fn two_children_square_and_cube_in_their_own_processes() {
    let json = last_json_line(&child_processes(&["7", "8", "9", "--time-scale", "0.01", "--json"]));
    let parent = json["parent_pid"].as_u64().unwrap();
    let children = json["children"].as_array().unwrap();
    assert_eq!(children.len(), 2);
    let pids: Vec<u64> = children.iter().map(|c| c["pid"].as_u64().unwrap()).collect();
    assert!(pids[0] != pids[1] && !pids.contains(&parent), "pids {pids:?}, parent {parent}");
    let results = |i: usize| serde_json::to_string(&children[i]["results"]).unwrap();
    assert_eq!(
        (children[0]["op"].as_str(), results(0)),
        (Some("square"), "[[7,49],[8,64],[9,81]]".into())
    );
    assert_eq!(
        (children[1]["op"].as_str(), results(1)),
        (Some("cube"), "[[7,343],[8,512],[9,729]]".into())
    );
    // Each child reports a span per number, on a lane named after its own pid.
    for (child, pid) in children.iter().zip(&pids) {
        let spans = child["spans"].as_array().unwrap();
        assert_eq!(spans.len(), 3);
        assert!(spans.iter().all(|s| s["lane"].as_str().unwrap().contains(&format!("pid {pid}"))));
    }
}

/// Starts the binary in a worker role, as its parent would: stdin is the lifeline pipe.
fn worker(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_child-processes"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the worker")
}

#[test]
fn the_worker_role_reports_on_stdout() {
    let mut child = worker(&["--worker", "cube", "--clock", "0", "--wait", "0", "2", "3"]);
    // Hold the lifeline while reading, as the parent does.
    let lifeline = child.stdin.take();
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    assert!(child.wait().unwrap().success());
    drop(lifeline);
    let json: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(json["op"], "cube");
    assert_eq!(serde_json::to_string(&json["results"]).unwrap(), "[[2,8],[3,27]]");
}

/// A worker whose parent is gone (its lifeline closes) ends at once, mid-work.
#[test]
fn a_worker_ends_when_its_lifeline_closes() {
    use std::time::{Duration, Instant};
    let mut child = worker(&["--worker", "square", "--clock", "0", "--wait", "60", "1"]);
    let started = Instant::now();
    drop(child.stdin.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "{status}");
    assert!(started.elapsed() < Duration::from_secs(30), "it worked on instead");
}

#[test]
fn bad_arguments_exit_2_with_a_message_naming_the_value_and_range() {
    for (bad, names) in [
        (&["abc"][..], "N≤2000000"),
        (&["3000000"], "expected a whole number from 0 to 2000000"),
        (&["-1"], "expected a whole number from 0 to 2000000"),
        (&["--wait", "-1"], "'--wait <SECONDS>': expected a number of seconds from 0 to 3600"),
        (&["--worker", "square"], "--clock"),
    ] {
        let output = child_processes(bad);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bad:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{bad:?}: {stderr}");
        assert!(stderr.contains(names), "{bad:?}: {stderr}");
    }
}

/// With no simulated work, the children cannot be seen to overlap, and the parent says so.
#[test]
fn claims_overlap_only_when_the_figures_show_it() {
    let output = child_processes(&["--time-scale", "0"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(!stdout.contains("same time") && stdout.contains("too little to show"), "{stdout}");
    let output = child_processes(&["--time-scale", "0.5"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    // 5 × 100 ms each: the two children overlap unless one starts 500 ms after the other.
    assert!(stdout.contains("at the same time"), "{stdout}");
}

/// If one child dies, the parent reports it and kills the other: no orphan keeps running.
/// (Linux only: it finds the children through /proc.)
#[cfg(target_os = "linux")]
#[test]
fn a_dead_child_leaves_no_orphan_behind() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    // Each child would work for 10 s; the test must be done long before that.
    let parent = Command::new(env!("CARGO_BIN_EXE_child-processes"))
        .args(["--wait", "10", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let list = format!("/proc/{0}/task/{0}/children", parent.id());
    let children = loop {
        let pids = std::fs::read_to_string(&list).unwrap_or_default();
        let pids: Vec<String> = pids.split_whitespace().map(String::from).collect();
        if pids.len() == 2 {
            break pids;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "children did not start");
        std::thread::sleep(Duration::from_millis(10));
    };
    let is_square = |pid: &String| {
        std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
            .unwrap_or_default()
            .contains("square")
    };
    // The parent reads the square child first: kill that one, as a crash would.
    let (square, cube): (Vec<_>, Vec<_>) = children.into_iter().partition(is_square);
    assert!(Command::new("kill").args(["-9", &square[0]]).status().unwrap().success());

    let output = parent.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("killed by signal 9"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(8), "the parent waited for the other child");
    assert!(!std::path::Path::new(&format!("/proc/{}", cube[0])).exists(), "cube child orphaned");
}

/// A parent killed outright (SIGKILL: no destructor runs) leaves no child behind: each
/// child's lifeline pipe closes, and the child exits within moments.
#[cfg(target_os = "linux")]
#[test]
fn children_of_a_killed_parent_exit_by_themselves() {
    // Each child would work for a minute.
    let args = ["--wait", "60", "1"];
    common::children_exit_when_the_parent_dies(
        "child-processes",
        &args,
        "Parent",
        2,
        "-KILL",
        || true,
    );
}

/// `--trace` holds the spans the children recorded, on the parent's clock: one track per
/// child process, named with its pid, and one complete event per number.
#[test]
fn the_trace_has_a_track_per_child_process() {
    let file = std::env::temp_dir().join(format!("child-trace-{}.json", std::process::id()));
    let args = ["7", "8", "9", "--time-scale", "0.01", "--trace", file.to_str().unwrap(), "--json"];
    let json = last_json_line(&child_processes(&args));
    let trace: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    std::fs::remove_file(&file).unwrap();
    let events = trace["traceEvents"].as_array().unwrap();
    let mut tracks: Vec<String> = events
        .iter()
        .filter(|e| e["name"] == "thread_name")
        .map(|e| e["args"]["name"].as_str().unwrap().to_string())
        .collect();
    tracks.sort();
    let mut expected: Vec<String> = json["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{} (pid {})", c["op"].as_str().unwrap(), c["pid"]))
        .collect();
    expected.sort();
    assert_eq!(tracks, expected);
    assert_eq!(events.iter().filter(|e| e["ph"] == "X").count(), 6, "3 numbers, 2 children");
}
