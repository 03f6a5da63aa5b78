//! Runs `dataflow` in all its configurations, as a cluster of processes that the test starts
//! itself from a hostfile, and with the faults a cluster meets: a lost peer, an unreachable
//! one, a taken port, a malformed hostfile, a killed parent.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::exe;

fn dataflow(args: &[&str]) -> Output {
    Command::new(exe("dataflow")).args(args).output().expect("running dataflow")
}

/// The JSON object on the last line of a successful run.
fn last_json(output: &Output) -> Value {
    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "dataflow failed:\n{stdout}\n{stderr}");
    serde_json::from_str(stdout.lines().last().unwrap()).expect("the last line is JSON")
}

/// A process this test started, killed and reaped if the test ends early (a failed assert),
/// so that no count to 4,000,000,000 runs on after it.
struct Started(std::process::Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A hostfile of `n` free ports on this machine, written to a file named after `name`.
fn hostfile(name: &str, n: usize) -> std::path::PathBuf {
    let addresses = multi_processing::cluster::free_local_addresses(n).unwrap();
    let file = std::env::temp_dir().join(format!("dataflow-{name}-{}.txt", std::process::id()));
    std::fs::write(&file, addresses.join("\n") + "\n").unwrap();
    file
}

/// One worker, worker threads, and processes over TCP: each finds the known count, and the
/// rows say how many processes and workers ran.
#[test]
fn every_configuration_counts_the_primes() {
    let json = last_json(&dataflow(&["--limit", "100000", "--json"]));
    assert_eq!(json["limit"], 100_000);
    let rows = json["rows"].as_array().unwrap();
    let shape: Vec<(u64, u64)> = rows
        .iter()
        .map(|r| (r["processes"].as_u64().unwrap(), r["primes"].as_u64().unwrap()))
        .collect();
    assert_eq!(shape, [(1, 9_592), (1, 9_592), (2, 9_592)]);
    assert_eq!((&rows[0]["workers"], &rows[0]["speedup"]), (&1.into(), &1.0.into()));
    // Each speedup is one worker's computing time over the row's.
    let compute_s = |row: &Value| row["compute_s"].as_f64().unwrap();
    for row in rows {
        let speedup = compute_s(&rows[0]) / compute_s(row);
        assert!((row["speedup"].as_f64().unwrap() - speedup).abs() < 1e-9, "{row}");
    }
    for row in rows {
        for key in ["config", "workers", "connect_s", "compute_s", "speedup"] {
            assert!(!row[key].is_null(), "{key}: {row}");
        }
    }
    let json = last_json(&dataflow(&[
        "--processes",
        "3",
        "--workers",
        "1",
        "--limit",
        "100000",
        "--json",
    ]));
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (&rows[0]["processes"], &rows[0]["workers"], &rows[0]["primes"]),
        (&3.into(), &3.into(), &9_592.into())
    );
}

/// The commands the binary prints for two machines, run here: two processes from one
/// hostfile, as two hosts would run them. Process 0 has the count.
#[test]
fn a_cluster_from_a_hostfile_counts_the_primes() {
    let file = hostfile("two", 2);
    let start = |index: &str| {
        let args = ["--hostfile", file.to_str().unwrap(), "--process-index", index];
        let args = [&args[..], &["--workers", "1", "--limit", "100000", "--json"]].concat();
        Command::new(exe("dataflow"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (start("0"), start("1"));
    let (first, second) = (first.wait_with_output().unwrap(), second.wait_with_output().unwrap());
    std::fs::remove_file(&file).unwrap();
    let (first, second) = (last_json(&first), last_json(&second));
    assert_eq!(
        (&first["primes"], &first["processes"], &first["workers"]),
        (&9_592.into(), &2.into(), &2.into())
    );
    assert_eq!(second["primes"], Value::Null, "only process 0 adds up the counts");
}

/// A process of the cluster killed mid-run: the survivor says which peer it lost, in one line
/// and without a panic, and the parent says which process ended and stops; within seconds.
#[cfg(target_os = "linux")]
#[test]
fn a_lost_peer_ends_the_run_with_one_line_naming_it() {
    let mut parent = Started(
        Command::new(exe("dataflow"))
            .args(["--processes", "2", "--limit", "4000000000"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Kept open until the end: a closed stdout would end the parent by itself.
    let mut lines = BufReader::new(parent.0.stdout.take().unwrap()).lines();
    assert!(lines.next().unwrap().unwrap().starts_with("Counting"));
    let list = format!("/proc/{0}/task/{0}/children", parent.0.id());
    let children = |deadline: Instant| loop {
        let children: Vec<String> = std::fs::read_to_string(&list)
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect();
        if children.len() == 2 || Instant::now() > deadline {
            break children;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut children = children(Instant::now() + Duration::from_secs(10));
    assert_eq!(children.len(), 2, "two processes of the cluster");
    // Process 0 first, process 1 second, by their command lines.
    let cmdline = |pid: &String| std::fs::read_to_string(format!("/proc/{pid}/cmdline"));
    children.sort_by_key(|pid| cmdline(pid).unwrap_or_default().contains("index\x001"));
    // Give them time to connect (about a second) and count.
    std::thread::sleep(Duration::from_secs(3));
    let killed = Instant::now();
    assert!(Command::new("kill").args(["-KILL", &children[1]]).status().unwrap().success());
    let status = parent.0.wait().unwrap();
    assert!(killed.elapsed() < Duration::from_secs(5), "took {:?}", killed.elapsed());
    // The survivor ends too, by its own error or with its lifeline: within 2 s. (Checked
    // before reading stderr, which the survivor holds open while it runs.)
    let survivor = std::path::PathBuf::from(format!("/proc/{}/stat", children[0]));
    let running = || std::fs::read_to_string(&survivor).is_ok_and(|stat| !stat.contains(") Z "));
    let deadline = Instant::now() + Duration::from_secs(2);
    while running() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!running(), "the survivor is still running");
    let stderr = std::io::read_to_string(parent.0.stderr.take().unwrap()).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("process 1 of the cluster (pid {})", children[1])),
        "{stderr}"
    );
    assert!(stderr.contains("killed by signal 9"), "{stderr}");
    // Process 0 may have said first that it lost process 1 (see the next test), or been
    // stopped before it could: at most that line more, and no panic.
    assert!(!stderr.contains("panicked") && stderr.lines().count() <= 2, "{stderr}");
}

/// In a cluster started from a hostfile, as on two hosts: process 1 killed mid-run, process 0
/// says in one line, without a panic, which process it lost, and ends with exit code 1.
#[cfg(unix)]
#[test]
fn the_survivor_says_which_peer_it_lost() {
    let file = hostfile("lost", 2);
    let start = |index: &str| {
        let args = ["--hostfile", file.to_str().unwrap(), "--process-index", index];
        let args = [&args[..], &["--workers", "1", "--limit", "4000000000"]].concat();
        let mut command = Command::new(exe("dataflow"));
        Started(command.args(args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap())
    };
    let (mut first, mut second) = (start("0"), start("1"));
    std::thread::sleep(Duration::from_secs(3)); // Connected (about a second) and counting.
    std::fs::remove_file(&file).unwrap(); // Both have read it long ago.
    second.0.kill().unwrap();
    second.0.wait().unwrap();
    let killed = Instant::now();
    let status = first.0.wait().unwrap();
    assert!(killed.elapsed() < Duration::from_secs(5), "took {:?}", killed.elapsed());
    let stderr = std::io::read_to_string(first.0.stderr.take().unwrap()).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("error: lost process 1 of the cluster, at 127.0.0.1:"), "{stderr}");
    assert!(stderr.contains("socket closed") && stderr.lines().count() == 1, "{stderr}");
}

/// The parent killed outright: both processes of the cluster end with it.
#[cfg(target_os = "linux")]
#[test]
fn a_killed_parent_leaves_no_process_behind() {
    let args = ["--processes", "2", "--limit", "4000000000"];
    let started = Instant::now();
    common::children_exit_when_the_parent_dies("dataflow", &args, "Counting", 2, "-KILL", || {
        started.elapsed() > Duration::from_millis(1500)
    });
}

/// A peer that never comes: one line naming where this process listens and whom it waited
/// for, exit code 1, at the deadline.
#[test]
fn an_unreachable_peer_is_an_error_at_the_deadline() {
    let file = hostfile("unreachable", 2);
    let start = Instant::now();
    let output = dataflow(&[
        "--hostfile",
        file.to_str().unwrap(),
        "--process-index",
        "1",
        "--connect-timeout",
        "2",
    ]);
    std::fs::remove_file(&file).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(
        stderr.contains("did not reach the rest of the cluster (127.0.0.1:")
            && stderr.contains("within 2 s"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// Its own port taken: one line naming the process and the address.
#[test]
fn a_taken_port_is_an_error_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let file = std::env::temp_dir().join(format!("dataflow-taken-{}.txt", std::process::id()));
    std::fs::write(&file, format!("{address}\n127.0.0.1:1\n")).unwrap();
    let output = dataflow(&[
        "--hostfile",
        file.to_str().unwrap(),
        "--process-index",
        "0",
        "--connect-timeout",
        "5",
    ]);
    std::fs::remove_file(&file).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("process 0, at {address}")) && stderr.contains("in use"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Malformed hostfiles and indexes outside them are usage errors, exit code 2, naming the
/// file and the line.
#[test]
fn a_malformed_hostfile_is_a_usage_error() {
    let file = std::env::temp_dir().join(format!("dataflow-malformed-{}.txt", std::process::id()));
    std::fs::write(&file, "# two hosts\n127.0.0.1:2101\nhost-b\n").unwrap();
    let path = file.to_str().unwrap();
    let malformed = dataflow(&["--hostfile", path, "--process-index", "0"]);
    std::fs::write(&file, "127.0.0.1:2101\n127.0.0.1:2102\n").unwrap();
    let outside = dataflow(&["--hostfile", path, "--process-index", "2"]);
    let missing = dataflow(&["--hostfile", "/no/such/hostfile", "--process-index", "0"]);
    let alone = dataflow(&["--process-index", "0"]);
    std::fs::remove_file(&file).unwrap();
    for (output, expected) in [
        (malformed, format!("{path}, line 3: \"host-b\" is not HOST:PORT")),
        (outside, "invalid value '2' for '--process-index': from 0 to 1".into()),
        (missing, "cannot read /no/such/hostfile".into()),
        (alone, "the following required arguments were not provided".into()),
    ] {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&expected), "{stderr}");
    }
}
