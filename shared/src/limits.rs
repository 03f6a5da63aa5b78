//! Checks of the limits the OS sets on a process, made before starting threads: where the OS
//! refuses a thread, `std::thread::spawn` panics, rayon's and tokio's pools panic (tokio then
//! waits for ever for the threads it did start), and where memory runs out the runtime
//! aborts. A check first turns those into an error that says which limit to raise.
//!
//! Linux only (from `/proc`); elsewhere every check passes.

use std::io;

/// The least address space (`ulimit -v`) the examples start threads with. Below about
/// 10 MiB the runtime itself fails ("failed to allocate an alternative stack", "memory
/// allocation of … bytes failed"); this leaves a wide margin.
pub const MIN_ADDRESS_SPACE: u64 = 64 << 20;

/// The context of an error from starting a thread (`.context(CANNOT_START_THREADS)`): where
/// the OS refused one, this is what to look at.
pub const CANNOT_START_THREADS: &str =
    "starting threads (is a limit such as ulimit -u or -v too low?)";

/// The cores this process may run on (`available_parallelism`), or 2 where the OS does not say.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// [`room_for_threads`] for one thread per core: what tokio's multi-thread runtime starts.
pub fn room_for_a_thread_per_core() -> io::Result<()> {
    room_for_threads(cores())
}

/// An error if the OS would refuse this process `threads` more threads: the limit on address
/// space (`ulimit -v`) is under [`MIN_ADDRESS_SPACE`], or the limit on this user's threads
/// (`ulimit -u`; root is exempt) would be exceeded.
pub fn room_for_threads(threads: usize) -> io::Result<()> {
    enough_address_space("threads")?;
    match threads_left() {
        Some(left) if left < threads as u64 => Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            format!(
                "the OS would start only {} for this user, and this run needs {threads}: raise \
                 the limit (ulimit -u)",
                crate::report::plural(left, "more thread")
            ),
        )),
        _ => Ok(()),
    }
}

/// An error if the limit on address space (`ulimit -v`) is under [`MIN_ADDRESS_SPACE`];
/// `who` names what needs it ("threads", "workers").
pub fn enough_address_space(who: &str) -> io::Result<()> {
    match limit("Max address space") {
        Some(limit) if limit < MIN_ADDRESS_SPACE => Err(io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!(
                "the address-space limit is {} KiB, and {who} need at least {} KiB: raise it \
                 (ulimit -v)",
                limit >> 10,
                MIN_ADDRESS_SPACE >> 10
            ),
        )),
        _ => Ok(()),
    }
}

/// An error if fewer than `needed` file descriptors are left under the limit (`ulimit -n`);
/// `who` names what needs them ("another worker").
pub fn enough_file_descriptors(needed: u64, who: &str) -> io::Result<()> {
    let Some(limit) = limit("Max open files") else { return Ok(()) };
    let Ok(open) = std::fs::read_dir("/proc/self/fd") else { return Ok(()) };
    let open = open.count() as u64;
    if limit.saturating_sub(open) < needed {
        return Err(io::Error::other(format!(
            "too few file descriptors left for {who}: {open} of at most {limit} are open, and \
             it needs up to {needed}; raise the limit (ulimit -n)"
        )));
    }
    Ok(())
}

/// The soft limit named `name` in `/proc/self/limits`; `None` if unlimited or unknown.
fn limit(name: &str) -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|line| line.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok() // Not if "unlimited".
}

/// The limit on this user's threads (Linux's RLIMIT_NPROC counts threads) minus those running;
/// `None` where there is no limit, or for root, whom it does not bind.
fn threads_left() -> Option<u64> {
    let limit = limit("Max processes")?;
    let read = |path: std::path::PathBuf| std::fs::read_to_string(path).ok();
    let field = |status: &str, name: &str| {
        let line = status.lines().find_map(|line| line.strip_prefix(name))?;
        line.split_whitespace().next().map(str::to_owned) // Uid: the real one comes first.
    };
    let me = field(&read("/proc/self/status".into())?, "Uid:")?;
    if me == "0" {
        return None;
    }
    let mut running = 0;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        // Processes only: not the links `self` and `thread-self`, which would count us again.
        if !entry.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Some(status) = read(entry.path().join("status")) else { continue };
        if field(&status, "Uid:").as_deref() == Some(&me) {
            running += field(&status, "Threads:").and_then(|n| n.parse().ok()).unwrap_or(0);
        }
    }
    Some(limit.saturating_sub(running))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_the_limits_of_this_process() {
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
        let open_files = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
        let soft = open_files.split_whitespace().nth(3).unwrap();
        assert_eq!(
            limit("Max open files").map(|n| n.to_string()),
            soft.parse::<u64>().ok().map(|n| n.to_string())
        );
        assert_eq!(limit("No such limit"), None);
        // Whatever the limits here, one more thread than this test's own is available, or
        // the test could not have started its thread.
        assert!(room_for_threads(0).is_ok());
    }
}
