//! Checks that hold for the workspace's documentation, so that a moved file or a renamed
//! heading cannot leave a reader at a dead link:
//!
//! - every relative link in every README (a file, a folder, an image, a `#heading`, or a
//!   file's `#heading`) resolves;
//! - every SVG in `images/` is well-formed XML and shown by some README;
//! - every binary of every chapter has its row in the root README's table of chapters (its
//!   chapter README's list is checked in `binaries.rs`).

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The workspace root: `shared/`'s parent.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The README.md files of the workspace: the root's and each chapter's.
fn readmes() -> Vec<PathBuf> {
    let root = root();
    let mut found = vec![root.join("README.md")];
    for entry in std::fs::read_dir(&root).unwrap().flatten() {
        let readme = entry.path().join("README.md");
        if readme.is_file() {
            found.push(readme);
        }
    }
    found
}

/// The targets of the Markdown links and images in `text`: `[text](target)`, code blocks and
/// inline code left out (a `](` there is Rust, not a link).
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        // Drop inline code spans: the text between pairs of backticks.
        let prose: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        for (at, _) in prose.match_indices("](") {
            let rest = &prose[at + 2..];
            if let Some(end) = rest.find(')') {
                targets.push(rest[..end].to_string());
            }
        }
    }
    targets
}

/// The anchors GitHub gives the headings of a Markdown text: lower case, spaces to hyphens,
/// punctuation dropped, and `-1`, `-2`, … after a repeated one.
fn anchors(text: &str) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut anchors = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
        }
        let Some(heading) = line.strip_prefix('#').filter(|_| !in_block) else { continue };
        let heading = heading.trim_start_matches('#').trim();
        let slug: String = heading
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let n = seen.entry(slug.clone()).or_insert(0);
        anchors.push(if *n == 0 { slug.clone() } else { format!("{slug}-{n}") });
        *n += 1;
    }
    anchors
}

#[test]
fn every_relative_link_in_every_readme_resolves() {
    let mut dead = Vec::new();
    for readme in readmes() {
        let text = std::fs::read_to_string(&readme).unwrap();
        let dir = readme.parent().unwrap();
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue; // Not ours to check offline.
            }
            let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let file = if path.is_empty() { readme.clone() } else { dir.join(path) };
            let ok = file.exists()
                && (anchor.is_empty()
                    || std::fs::read_to_string(&file)
                        .is_ok_and(|linked| anchors(&linked).iter().any(|a| a == anchor)));
            if !ok {
                dead.push(format!("{}: ({target})", readme.display()));
            }
        }
    }
    assert!(dead.is_empty(), "dead links:\n{}", dead.join("\n"));
}

#[test]
fn every_image_is_well_formed_svg_and_shown_in_a_readme() {
    let all_readmes: String =
        readmes().iter().map(|r| std::fs::read_to_string(r).unwrap()).collect();
    for entry in std::fs::read_dir(root().join("images")).unwrap().flatten() {
        let path = entry.path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert!(name.ends_with(".svg"), "{name}: the images are SVG");
        let svg = std::fs::read_to_string(&path).unwrap();
        let document = roxmltree::Document::parse(&svg)
            .unwrap_or_else(|err| panic!("{name} is not well-formed XML: {err}"));
        assert_eq!(document.root_element().tag_name().name(), "svg", "{name}");
        assert!(all_readmes.contains(&format!("images/{name})")), "{name}: no README shows it");
    }
}

#[test]
fn every_binary_has_a_row_in_the_root_readme() {
    let root_readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for chapter in ["async-io", "multi-threading", "multi-processing"] {
        for entry in std::fs::read_dir(root().join(chapter).join("src/bin")).unwrap().flatten() {
            let name = entry.path().file_stem().unwrap().to_string_lossy().to_string();
            let row = format!("| `{name}` |");
            assert!(root_readme.contains(&row), "{chapter}'s {name} has no row in README.md");
        }
    }
}

#[test]
fn anchors_follow_githubs_rules() {
    let text = "# Title\n## `unit-costs`: what one unit costs\n## Timings\n## Timings\n";
    assert_eq!(anchors(text), ["title", "unit-costs-what-one-unit-costs", "timings", "timings-1"]);
    let links = link_targets("see [a](a.md#x), `[b](not-a-link)`\n```\n[c](code)\n```\n");
    assert_eq!(links, ["a.md#x"]);
}
