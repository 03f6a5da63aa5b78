//! Runs the `spawn-task` binary with its waits 100× shorter and checks the order it reports.

use std::process::{Command, Output};

use serde_json::Value;

fn spawn_task(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spawn-task")).args(args).output().expect("running spawn-task")
}

/// The order of the words, from the JSON object on the last line of stdout.
fn order(output: &Output) -> Vec<String> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let json: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    json["order"].as_array().unwrap().iter().map(|w| w.as_str().unwrap().to_string()).collect()
}

#[test]
fn current_thread_runs_the_spawned_task_at_the_first_await() {
    let order = order(&spawn_task(&["--time-scale", "0.01", "--json"]));
    assert_eq!(order, ["one", "four", "two", "five", "three"]);
}

#[test]
fn multi_thread_keeps_each_task_in_its_own_order() {
    // Another thread may start the task at once: only what holds in every interleaving is checked.
    let order = order(&spawn_task(&["--multi-thread", "--time-scale", "0.01", "--json"]));
    let at = |w: &str| order.iter().position(|x| x == w).unwrap();
    assert_eq!(order.len(), 5);
    assert_eq!(at("one"), 0);
    assert!(at("four") < at("five") && at("two") < at("three"));
}

/// With the waits scaled to nothing, there is no overlap to see, and the verdict says so.
#[test]
fn claims_overlap_only_when_the_figures_show_it() {
    let output = spawn_task(&["--time-scale", "0"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(stdout.contains("too short to show any overlap"), "{stdout}");
    assert!(!stdout.contains("they overlapped"), "{stdout}");
    // Waits of 10 and 20 ms overlap, even where timers and the runtime add a millisecond or two.
    let output = spawn_task(&["--time-scale", "0.01"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("they overlapped for"), "{stdout}");
}

#[test]
fn bad_time_scale_exits_2() {
    let output = spawn_task(&["--time-scale", "-1"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("time-scale"));
}
