//! Running one delegate process within a deadline and with bounded output.
//!
//! The delegate runs in a process group of its own, so that when it overstays its deadline or
//! prints more than we keep, one SIGKILL to the group ends it and everything it started. Its
//! stdin is written, and its stdout and stderr read, on helper threads, so that a delegate that
//! reads nothing or writes without end cannot block us; a fourth thread reaps it. The calling
//! thread only waits for their reports, never longer than the deadline.

use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// How long to wait for the killed group's pipes to close and its leader to be reaped before
/// leaving the rest to the process's exit.
const KILL_GRACE: Duration = Duration::from_secs(2);

/// After the delegate itself has exited, how long something it started may keep its stdout or
/// stderr open before that straggler is killed too.
const EXIT_GRACE: Duration = Duration::from_millis(500);

/// What one stream of the delegate said, up to its bound.
#[derive(Debug, Default)]
pub struct Captured {
    pub bytes: Vec<u8>,
    /// Bytes past the bound (dropped; for stdout, reading stopped at the bound).
    pub dropped: u64,
}

/// Why the delegate did not finish on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Killed {
    /// It was still running at the deadline.
    Deadline,
    /// It printed more than the stdout bound.
    StdoutTooLarge,
}

/// How a delegate run ended.
#[derive(Debug)]
pub struct Outcome {
    /// Its exit status, `None` if it could not be reaped within the grace after a kill.
    pub status: Option<ExitStatus>,
    pub stdout: Captured,
    pub stderr: Captured,
    pub killed: Option<Killed>,
}

enum Event {
    Exited(io::Result<ExitStatus>),
    Stdout(Captured),
    Stderr(Captured),
}

/// Spawns `cmd` in its own process group with `stdin` as its input and waits for it, its stdout
/// (kept up to `max_stdout`) and its stderr (kept up to `max_stderr`, the rest drained and
/// dropped), for at most `deadline`.
pub fn run(
    cmd: &mut Command,
    stdin: Vec<u8>,
    deadline: Duration,
    max_stdout: usize,
    max_stderr: usize,
) -> io::Result<Outcome> {
    let mut child = cmd
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let end = Instant::now() + deadline;
    let group = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    let (tx, rx) = mpsc::channel();
    start_threads(&mut child, stdin, max_stdout, max_stderr, &tx)?;
    let waiter = tx.clone();
    thread::Builder::new()
        .name("ipam-wait".into())
        .spawn(move || {
            let _ = waiter.send(Event::Exited(child.wait()));
        })?;
    drop(tx);

    let mut status = None;
    let mut stdout = None;
    let mut stderr = None;
    let mut killed = None;
    let mut phase = Phase::Running;
    while status.is_none() || stdout.is_none() || stderr.is_none() {
        let until = match phase {
            Phase::Running => end,
            Phase::Draining(t) | Phase::Killed(t) => t,
        };
        match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok(Event::Exited(s)) => {
                status = Some(s);
                if phase == Phase::Running {
                    phase = Phase::Draining((Instant::now() + EXIT_GRACE).min(end));
                }
            }
            Ok(Event::Stdout(c)) => {
                if c.dropped > 0 && killed.is_none() {
                    kill(group);
                    killed = Some(Killed::StdoutTooLarge);
                    phase = Phase::Killed(Instant::now() + KILL_GRACE);
                }
                stdout = Some(c);
            }
            Ok(Event::Stderr(c)) => stderr = Some(c),
            Err(RecvTimeoutError::Timeout) => match phase {
                Phase::Running => {
                    kill(group);
                    killed = Some(Killed::Deadline);
                    phase = Phase::Killed(Instant::now() + KILL_GRACE);
                }
                Phase::Draining(_) => {
                    // The delegate finished, but something it started still holds its
                    // pipes: that straggler is not part of the answer.
                    kill(group);
                    phase = Phase::Killed(Instant::now() + KILL_GRACE);
                }
                Phase::Killed(_) => break,
            },
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    Ok(Outcome {
        status: status.and_then(Result::ok),
        stdout: stdout.unwrap_or_default(),
        stderr: stderr.unwrap_or_default(),
        killed,
    })
}

/// Where a run is: what the next wait is bounded by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The delegate runs: until the deadline.
    Running,
    /// The delegate exited: its pipes get a short grace (never past the deadline).
    Draining(Instant),
    /// The group was killed: a short grace for the reaping and the pipes, then we stop waiting.
    Killed(Instant),
}

fn start_threads(
    child: &mut Child,
    stdin: Vec<u8>,
    max_stdout: usize,
    max_stderr: usize,
    tx: &mpsc::Sender<Event>,
) -> io::Result<()> {
    if let Some(mut input) = child.stdin.take() {
        // A delegate that exits without reading gives EPIPE here; its exit status tells more.
        // One that neither reads nor exits is killed at the deadline, which ends this write.
        thread::Builder::new()
            .name("ipam-stdin".into())
            .spawn(move || {
                let _ = input.write_all(&stdin);
            })?;
    }
    if let Some(out) = child.stdout.take() {
        let tx = tx.clone();
        thread::Builder::new()
            .name("ipam-stdout".into())
            .spawn(move || {
                let _ = tx.send(Event::Stdout(capture(out, max_stdout, true)));
            })?;
    }
    if let Some(err) = child.stderr.take() {
        let tx = tx.clone();
        thread::Builder::new()
            .name("ipam-stderr".into())
            .spawn(move || {
                let _ = tx.send(Event::Stderr(capture(err, max_stderr, false)));
            })?;
    }
    Ok(())
}

/// Reads `r` to its end keeping at most `max` bytes; with `stop`, stops reading past `max`.
fn capture(mut r: impl Read, max: usize, stop: bool) -> Captured {
    let mut c = Captured::default();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let keep = n.min(max.saturating_sub(c.bytes.len()));
        c.bytes.extend_from_slice(&buf[..keep]);
        c.dropped += (n - keep) as u64;
        if stop && c.dropped > 0 {
            break;
        }
    }
    c
}

/// SIGKILL to the delegate's process group. The group is the delegate's own pid: while the
/// delegate is not yet reaped, or any process it started is still in the group, that number
/// cannot name anyone else. "No such process" means the group is already gone.
fn kill(group: Pid) {
    if let Err(e) = killpg(group, Signal::SIGKILL) {
        if e != nix::errno::Errno::ESRCH {
            crate::warn!("killing IPAM plugin process group {group}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_keeps_the_bound_and_counts_the_rest() {
        let input = vec![b'a'; 100_000];
        let c = capture(&input[..], 1000, false);
        assert_eq!(c.bytes.len(), 1000);
        assert_eq!(c.dropped, 99_000);
        let c = capture(&input[..], 200_000, false);
        assert_eq!((c.bytes.len(), c.dropped), (100_000, 0));
    }

    #[test]
    fn capture_with_stop_stops_reading_past_the_bound() {
        // An endless reader: only stopping can end this.
        let c = capture(std::io::repeat(b'x'), 4096, true);
        assert_eq!(c.bytes.len(), 4096);
        assert!(c.dropped > 0);
    }

    #[test]
    fn a_quick_delegate_is_not_slowed_by_the_watch() {
        let start = Instant::now();
        let out = run(
            Command::new("/bin/sh").args(["-c", "cat; echo done >&2"]),
            b"hello".to_vec(),
            Duration::from_secs(10),
            1 << 20,
            1 << 10,
        )
        .unwrap();
        assert_eq!(out.stdout.bytes, b"hello");
        assert_eq!(out.stderr.bytes, b"done\n");
        assert!(out.status.is_some_and(|s| s.success()));
        assert_eq!(out.killed, None);
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }
}
