//! Every example binary in the workspace opens with a `//!` header that says how to run it,
//! and its `cargo run -p PACKAGE --bin NAME` lines name a real package and binary, so the
//! run lines cannot rot. The chapter README of each package lists each of its binaries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Package name → (package folder, binary name → source file), from `cargo metadata`.
type Packages = BTreeMap<String, (PathBuf, BTreeMap<String, PathBuf>)>;

fn workspace_packages() -> Packages {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
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
