//! Helpers for the chapter's integration tests (a `tests/common/` module is not a test of its own).

#![allow(dead_code)] // Each test file uses its own share of these.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The path of the package's binary `bin`: they all sit next to `child-processes`.
pub fn exe(bin: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_BIN_EXE_child-processes"))
        .with_file_name(format!("{bin}{}", std::env::consts::EXE_SUFFIX))
}

/// Starts `bin`; once it has printed a line starting with `first`, has `children` children
/// and `ready()` holds, sends it `signal` (as the `kill` command spells it) and checks that
/// every child is gone within 2 s — even when no destructor of the parent runs (`-KILL`).
#[cfg(target_os = "linux")]
pub fn children_exit_when_the_parent_dies(
    bin: &str,
    args: &[&str],
    first: &str,
    children: usize,
    signal: &str,
    ready: impl Fn() -> bool,
) {
    let mut parent = Command::new(exe(bin)).args(args).stdout(Stdio::piped()).spawn().unwrap();
    // Kept open until the end: a closed stdout would end the parent by itself.
    let mut lines = std::io::BufReader::new(parent.stdout.take().unwrap()).lines();
    assert!(lines.any(|line| line.unwrap().starts_with(first)), "{bin} never printed {first:?}");
    let list = format!("/proc/{0}/task/{0}/children", parent.id());
    let started = Instant::now();
    let pids = loop {
        let pids = std::fs::read_to_string(&list).unwrap_or_default();
        let pids: Vec<String> = pids.split_whitespace().map(String::from).collect();
        if pids.len() == children && ready() {
            break pids;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{bin}: children did not start");
        std::thread::sleep(Duration::from_millis(5));
    };
    let pid = parent.id().to_string();
    assert!(Command::new("kill").args([signal, &pid]).status().unwrap().success());
    assert!(!parent.wait().unwrap().success(), "{signal} did not stop {bin}");
    // Reparented children are reaped by someone else: a zombie counts as gone.
    let gone = |pid: &String| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.is_empty() || stat.split_whitespace().nth(2) == Some("Z")
    };
    let killed = Instant::now();
    while !pids.iter().all(gone) {
        assert!(killed.elapsed() < Duration::from_secs(2), "{bin}: a child outlived its parent");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(lines);
}
