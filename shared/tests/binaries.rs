//! Checks that hold for every example binary of the workspace, found through `cargo metadata`,
//! so that each new binary is held to them without being named here:
//!
//! - it opens with a `//!` header that says how to run it, and its
//!   `cargo run -p PACKAGE --bin NAME` lines name a real package and binary, so the run lines
//!   cannot rot; the chapter README of its package lists it;
//! - a header block labelled "Expected output" is what the binary really prints first, run with
//!   no arguments (numbers aside: timings and pids vary); a block that is only part of the
//!   output must be labelled as such ("The output ends like this"), and is not checked;
//! - it ends quietly, without a panic, when its stdout is closed (`| head`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
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
        if package["name"] == "xtask" {
            continue; // Project automation, not a chapter: no example binaries.
        }
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
            let unlabelled = unlabelled_output_blocks(&header);
            assert!(
                unlabelled.is_empty(),
                "{at}: blocks of output follow {unlabelled:?}; say either \"Expected output\" \
                 (what the binary prints first) or that it is an excerpt (\"ends like this\", \
                 \"excerpt\")"
            );
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
    let text = "Run with:\n    cargo run -p asyncio --bin spawn-task -- --json\n`cargo run --package x --bin y`";
    assert_eq!(
        run_lines(text),
        [("asyncio".into(), "spawn-task".into()), ("x".into(), "y".into())]
    );
    assert_eq!(run_lines("cargo run --bin lonely"), [(String::new(), "lonely".into())]);
}

/// For each text block of `header` that shows output (not `cargo run` lines) and is labelled
/// neither "Expected output" nor as an excerpt, the line that introduces it.
fn unlabelled_output_blocks(header: &str) -> Vec<String> {
    let lines: Vec<&str> = header.lines().map(str::trim).collect();
    let mut unlabelled = Vec::new();
    let mut at = 0;
    while let Some(open) = lines[at..].iter().position(|l| l.starts_with("```")) {
        let open = at + open;
        let close = lines[open + 1..]
            .iter()
            .position(|l| l.starts_with("```"))
            .map_or(lines.len(), |c| open + 1 + c);
        let block = &lines[open + 1..close];
        // The paragraph just before the block introduces it.
        let before = lines[..open].iter().rev().skip_while(|l| l.is_empty());
        let mut paragraph: Vec<&str> =
            before.take_while(|l| !l.is_empty() && !l.starts_with("```")).copied().collect();
        paragraph.reverse();
        let label = paragraph.join(" ");
        let lower = label.to_lowercase();
        let is_output = !block.iter().any(|l| l.starts_with("cargo run"));
        let labelled = label.starts_with("Expected output")
            || ["ends like this", "excerpt", "ends with"].iter().any(|e| lower.contains(e));
        if is_output && !labelled {
            unlabelled.push(label);
        }
        at = close + 1;
        if at >= lines.len() {
            break;
        }
    }
    unlabelled
}

/// The lines of the text block that follows a header line starting with "Expected output".
fn expected_output(header: &str) -> Option<Vec<String>> {
    let mut lines = header.lines().skip_while(|l| !l.trim_start().starts_with("Expected output"));
    lines.next()?;
    let mut lines = lines.skip_while(|l| !l.trim_start().starts_with("```"));
    lines.next()?;
    let block = lines.take_while(|l| !l.trim_start().starts_with("```"));
    // `header` keeps the space after `//!`; the block's own indentation follows it.
    Some(block.map(|l| l.strip_prefix(' ').unwrap_or(l).to_string()).collect())
}

/// `line` with every number (digits, with any `.` or `,` inside) replaced by `#`.
fn numbers_masked(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars.next_if(|&c| c.is_ascii_digit() || c == '.' || c == ',').is_some() {}
            out.push('#');
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn expected_output_is_what_the_binary_prints_first() {
    build_every_binary();
    let packages = workspace_packages();
    let checks: Vec<(String, Vec<String>)> = packages
        .values()
        .flat_map(|(_, bins)| bins.iter())
        .filter_map(|(bin, source)| Some((bin.clone(), expected_output(&header(source))?)))
        .collect();
    // Each runs with no arguments, as a reader would; together they take a few seconds.
    std::thread::scope(|s| {
        for (bin, expected) in &checks {
            s.spawn(move || {
                let exe = profile_dir().join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
                let output = Command::new(exe).output().unwrap();
                assert!(output.status.success(), "{bin} failed");
                let stdout = String::from_utf8_lossy(&output.stdout);
                let printed: Vec<String> = stdout.lines().map(numbers_masked).collect();
                let expected: Vec<String> = expected.iter().map(|l| numbers_masked(l)).collect();
                assert!(
                    printed.starts_with(&expected),
                    "{bin}: its header's expected output is not what it prints first.\n\
                     expected:\n{}\nprinted:\n{stdout}",
                    expected.join("\n")
                );
            });
        }
    });
    assert!(checks.len() >= 2, "only {} headers have an expected output", checks.len());
}

#[test]
fn expected_output_is_found_and_numbers_masked() {
    let header =
        " Run with:\n\n Expected output (pids vary):\n\n ```text\n  0.00 s  one\n\n pid 4242\n ```";
    assert_eq!(expected_output(header).unwrap(), [" 0.00 s  one", "", "pid 4242"]);
    assert_eq!(numbers_masked("pid 4242: 1,000 in 2.00 s."), "pid #: # in # s.");
    assert_eq!(expected_output(" The output ends like this:\n ```text\n x\n ```"), None);
    let header = " Run with:\n ```text\n cargo run -p a --bin b\n ```\n Output:\n ```text\n x\n ```\n The output ends like this:\n ```text\n y\n ```";
    assert_eq!(unlabelled_output_blocks(header), ["Output:"]);
}

/// The folder of this test's build (`target/debug`, say), where cargo puts the binaries too.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // This test runs from `<target>/<profile>/deps/`.
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// Builds every binary of the workspace with this test's profile, once per test run (quick
/// when they are fresh: `cargo test --workspace` has built them already), so that
/// `cargo test -p shared` checks real, current binaries too.
fn build_every_binary() {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let dir = profile_dir();
        let profile = match dir.file_name().unwrap().to_str().unwrap() {
            "debug" => "dev".to_string(),
            other => other.to_string(),
        };
        let status = cargo()
            .args(["build", "--quiet", "--workspace", "--bins", "--profile", &profile])
            .arg("--target-dir")
            .arg(dir.parent().unwrap())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("running cargo build");
        assert!(status.success(), "building the workspace's binaries failed");
    });
}

/// Flags that make a run small, given to each binary whose `--help` lists them.
const SMALL_RUN: [(&str, &str); 7] = [
    ("--time-scale", "0.01"),
    ("--limit", "10000"),
    ("--tasks", "3"),
    ("--clients", "3"),
    ("--runs", "1"),
    ("--increments", "1000"),
    ("--n", "100"),
];

/// When the reader of a binary's stdout goes away.
#[derive(Debug, Clone, Copy)]
enum Close {
    /// Before the binary writes anything: every run takes the path of a failed first write.
    AtOnce,
    /// After its first line, as `| head -n 1` does. Where the binary has written everything
    /// before the reader closes (a pipe holds 64 KiB), no write fails and nothing is tested:
    /// this reaches the later writes only of binaries that compute between their lines.
    AfterFirstLine,
}

/// Runs `bin` with its stdout closed early, and returns its exit code and stderr.
fn run_with_stdout_closed(bin: &Path, args: &[&str], close: Close) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    // A file, not a pipe, for stderr: a pipe nobody reads could fill up and block the binary.
    let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{}-{}.stderr",
        bin.file_name().unwrap().display(),
        std::process::id()
    ));
    let mut child = Command::new(bin)
        .args(args)
        .stdout(writer)
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
    match close {
        Close::AtOnce => drop(reader),
        Close::AfterFirstLine => {
            let mut first = String::new();
            std::io::BufRead::read_line(&mut std::io::BufReader::new(reader), &mut first).unwrap();
        }
    }
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("{} kept running after its stdout was closed", bin.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stderr = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_file(&log).unwrap();
    (status.code(), stderr)
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
            for (close, json) in [Close::AtOnce, Close::AfterFirstLine]
                .into_iter()
                .flat_map(|close| [(close, false), (close, true)])
            {
                let args = [&args[..], if json { &["--json"] } else { &[] }].concat();
                let (code, stderr) = run_with_stdout_closed(&exe, &args, close);
                let run = format!("{bin} {} (stdout closed {close:?})", args.join(" "));
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
