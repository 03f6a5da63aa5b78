//! Starting child processes the one way this chapter does it: the binary runs *itself* again,
//! in a worker role.
//!
//! Rust has no `multiprocessing.Process(target=f)`. Instead a binary starts its own executable
//! ([`std::env::current_exe`]) with a hidden `--worker ROLE` argument, and its `main` looks at
//! that argument first: with it, the process is a child and does the child's job. Parent and
//! child are always the same build, so the messages they exchange cannot disagree.
//!
//! Two safeguards keep children from outliving their parent:
//!
//! - the parent holds each child in a [`Worker`], which kills and reaps the child if it is
//!   dropped before the child was waited for (an early `?`, a panic);
//! - every child's stdin is a pipe from the parent that the parent never writes to: its
//!   *lifeline*. A child calls [`exit_with_parent`] first thing; a thread then waits on that
//!   pipe, and when the parent is gone — even killed outright, when no destructor runs — the
//!   OS closes the pipe, the read returns, and the child exits. This works on every platform,
//!   without signals or `unsafe`.

use std::io::{self, Read};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};

/// A running child process in a worker role, killed and reaped if dropped before [`wait`].
///
/// [`wait`]: Worker::wait
#[derive(Debug)]
pub struct Worker {
    child: Child,
    /// The write end of the child's stdin: while it is open, the child knows we are alive.
    lifeline: Option<ChildStdin>,
}

impl Worker {
    /// Starts this executable again with `--worker ROLE` and `args`; `configure` can set up
    /// the child's stdout, say, before it starts.
    pub fn start(
        role: &str,
        args: &[String],
        configure: impl FnOnce(&mut Command),
    ) -> io::Result<Worker> {
        let mut command = Command::new(std::env::current_exe()?);
        command.args(["--worker", role]).args(args).stdin(Stdio::piped());
        configure(&mut command);
        let mut child = command.spawn()?;
        let lifeline = child.stdin.take();
        Ok(Worker { child, lifeline })
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The child itself, to take its stdout or to ask `try_wait` whether it is still running.
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Waits for the child to end, and returns how it ended.
    pub fn wait(mut self) -> io::Result<ExitStatus> {
        let status = self.child.wait();
        // Only now let go of the lifeline: the child has ended anyway.
        self.lifeline.take();
        status
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Dropped before `wait`: the child must not outlive us. Both calls fail harmlessly
        // if the child has already ended and been reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// In a child: ends this process as soon as the parent is gone (its lifeline pipe closes).
/// Call it first thing in the worker role.
pub fn exit_with_parent() {
    std::thread::spawn(|| {
        // The parent never writes: this read returns only when its end of the pipe closes,
        // that is, when the parent has exited or been killed. (Any byte would mean the same.)
        let _ = io::stdin().read(&mut [0]);
        std::process::exit(3);
    });
}
