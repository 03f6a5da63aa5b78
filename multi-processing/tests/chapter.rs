//! Runs the chapter's newer binaries with their real child processes and checks what they
//! report (`child-processes` has its own file).

use std::process::Command;

use serde_json::Value;

/// The JSON object on the last line of stdout of a successful run of `bin`.
fn json(bin: &str, args: &[&str]) -> Value {
    // Every binary of the package sits next to `child-processes`.
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_child-processes"))
        .with_file_name(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    let output = Command::new(exe).arg("--json").args(args).output().expect("running the binary");
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
    let output = Command::new(exe).args(["a", "END"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("may not be \"END\""));
}

#[test]
fn the_queue_delivers_every_item_in_order_and_closes() {
    let json = json("queue", &["--items", "200", "--time-scale", "0"]);
    let received: Vec<u64> =
        json["received"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).collect();
    assert_eq!(received, (1..=200).collect::<Vec<_>>());
    assert_eq!(json["in_order"], true);
}
