//! Checks that hold for every example binary of the workspace, found through `cargo metadata`,
//! so that each new binary is held to them without being named here:
//!
//! - it opens with a `//!` header that says how to run it, and its
//!   `cargo run -p PACKAGE --bin NAME` lines name a real package and binary, so the run lines
//!   cannot rot; the chapter README of its package lists it;
//! - it ends quietly, without a panic, when its stdout is closed (`| head`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Package name → (package folder, binary name → source file), from `cargo metadata`.
type Packages = BTreeMap<String, (PathBuf, BTreeMap<String, PathBuf>)>;

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn workspace_packages() -> Packages {
    let output = cargo()
        .args(["metadata", "--no-deps", "--format-version", "1", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("running cargo metadata");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut packages = Packages::new();
    for package in metadata["packages"].as_array().unwrap() {
        let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap());
        let mut bins = BTreeMap::new();
        for target in package["targets"].as_array().unwrap() {
            if target["kind"].as_array().unwrap().iter().any(|k| k == "bin") {
                let name = target["name"].as_str().unwrap().to_string();
                bins.insert(name, PathBuf::from(target["src_path"].as_str().unwrap()));
            }
        }
        let dir = manifest.parent().unwrap().to_path_buf();
        packages.insert(package["name"].as_str().unwrap().to_string(), (dir, bins));
    }
    packages
}

/// The (package, binary) named by each `cargo run` command in `text`.
fn run_lines(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (at, command) in text.match_indices("cargo run") {
        // The words after `cargo run` on its line, up to `--` (the binary's own arguments).
        let line = text[at + command.len()..].lines().next().unwrap_or("");
        let words: Vec<&str> = line.split_whitespace().take_while(|w| *w != "--").collect();
        let value = |flags: &[&str]| {
            let at = words.iter().position(|w| flags.contains(w))?;
            words.get(at + 1).map(|v| v.trim_matches('`').to_string())
        };
        found.push((
            value(&["-p", "--package"]).unwrap_or_default(),
            value(&["--bin"]).unwrap_or_default(),
        ));
    }
    found
}

fn header(source: &Path) -> String {
    let text = std::fs::read_to_string(source).unwrap();
    text.lines()
        .take_while(|l| l.starts_with("//!"))
        .map(|l| l.trim_start_matches("//!"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_binary_has_a_header_with_real_run_lines() {
    let packages = workspace_packages();
    let mut checked = 0;
    for (package, (dir, bins)) in &packages {
        for (bin, source) in bins {
            let header = header(source);
            let at = source.display();
            assert!(!header.is_empty(), "{at} does not start with a //! header");
            assert!(header.contains("Run with:"), "{at}: the header has no `Run with:`");
            assert!(header.contains("Mirrors:"), "{at}: the header does not say what it mirrors");
            let runs = run_lines(&header);
            assert!(
                runs.contains(&(package.clone(), bin.clone())),
                "{at}: no `cargo run -p {package} --bin {bin}` line"
            );
            for (p, b) in runs {
                let named = packages.get(&p).is_some_and(|(_, bins)| bins.contains_key(&b));
                assert!(
                    named,
                    "{at}: `cargo run -p {p} --bin {b}` names no binary of the workspace"
                );
            }
            let readme = std::fs::read_to_string(dir.join("README.md")).unwrap_or_default();
            assert!(
                readme.contains(&format!("`{bin}`")),
                "{}/README.md does not list `{bin}`",
                dir.display()
            );
            checked += 1;
        }
    }
    // The three chapters have at least one binary each.
    assert!(checked >= 3, "only {checked} binaries found");
}

#[test]
fn run_lines_are_parsed() {
    let text = "Run with:\n    cargo run -p async-io --bin spawn-task -- --json\n`cargo run --package x --bin y`";
    assert_eq!(
        run_lines(text),
        [("async-io".into(), "spawn-task".into()), ("x".into(), "y".into())]
    );
    assert_eq!(run_lines("cargo run --bin lonely"), [(String::new(), "lonely".into())]);
}

/// The folder of this test's build (`target/debug`, say), where cargo puts the binaries too.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // This test runs from `<target>/<profile>/deps/`.
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// Builds every binary of the workspace with this test's profile (quick when they are fresh:
/// `cargo test --workspace` has built them already), so that `cargo test -p shared` checks
/// real, current binaries too.
fn build_every_binary() {
    let dir = profile_dir();
    let profile = match dir.file_name().unwrap().to_str().unwrap() {
        "debug" => "dev".to_string(),
        other => other.to_string(),
    };
    let status = cargo()
        .args(["build", "--quiet", "--workspace", "--bins", "--profile", &profile, "--target-dir"])
        .arg(dir.parent().unwrap())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("running cargo build");
    assert!(status.success(), "building the workspace's binaries failed");
}

/// Flags that make a run small, given to each binary whose `--help` lists them.
const SMALL_RUN: [(&str, &str); 5] = [
    ("--time-scale", "0.01"),
    ("--limit", "10000"),
    ("--tasks", "100"),
    ("--clients", "3"),
    ("--runs", "1"),
];

/// Runs `bin` with stdout a pipe whose reading end is already closed — what `| head` does
/// once it has read enough, made deterministic — and returns its exit code and stderr.
fn run_with_stdout_closed(bin: &Path, args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = Command::new(bin)
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("{} kept running after its stdout was closed", bin.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().unwrap();
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn every_binary_ends_quietly_when_its_stdout_is_closed() {
    build_every_binary();
    let mut checked = 0;
    for (_, bins) in workspace_packages().values() {
        for bin in bins.keys() {
            let exe = profile_dir().join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
            let help = Command::new(&exe).arg("--help").output().unwrap();
            let help = String::from_utf8_lossy(&help.stdout).into_owned();
            let args: Vec<&str> = SMALL_RUN
                .iter()
                .filter(|(flag, _)| help.contains(&format!("{flag} ")))
                .flat_map(|&(flag, value)| [flag, value])
                .collect();
            for json in [false, true] {
                let args = [&args[..], if json { &["--json"] } else { &[] }].concat();
                let (code, stderr) = run_with_stdout_closed(&exe, &args);
                let run = format!("{bin} {}", args.join(" "));
                assert!(!stderr.contains("panicked"), "{run} panicked:\n{stderr}");
                assert_eq!(code, Some(0), "{run} did not end quietly:\n{stderr}");
                // Only a warning about an unoptimised build may appear; no error.
                let noise = stderr.lines().filter(|l| !l.starts_with("warning:"));
                assert_eq!(noise.count(), 0, "{run} wrote to stderr:\n{stderr}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} binaries found");
}
