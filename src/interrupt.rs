//! Ctrl-C, SIGTERM and a hang-up: a graceful stop between units of work.
//!
//! `install` (called by the `metarl` binary only) replaces the default action
//! of SIGINT, SIGTERM and SIGHUP (a closed terminal or dropped ssh session)
//! with setting a flag; a signal that is ignored when `metarl` starts (SIGHUP
//! under `nohup`, SIGINT for a background job of a script) stays ignored.
//! Training checks the flag between updates (never inside an update), saves
//! the seed's resume checkpoint and returns `Interrupted`; the run then stops
//! without writing any further output and the run lock is released, so
//! `metarl run --resume DIR` can continue it. A second SIGINT or SIGTERM exits
//! at once (status 128 + signal), for a stop that hangs; SIGHUP never does.
//! Without `install` (the library, the tests) the flag is never set.
//!
//! `analyze`, `figures`, `report --all` and `references` have nothing to save: there a stop
//! ends the process at once, after the atomic writes in flight (`ExitOnStop`).
//!
//! A parent `metarl` (a local sweep) passes a stop on to its child processes
//! with `pass_on`: SIGUSR1 or SIGUSR2, which set the flag as SIGINT or SIGTERM
//! would but never count as the first of two signals, so that a child that also
//! received the signal itself (Ctrl-C at the terminal, `pkill`, a container or
//! job stop) still stops cleanly.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard};

/// The signal that asked to stop (0: none).
static SIGNAL: AtomicUsize = AtomicUsize::new(0);
/// Set by the first signal: a second one exits immediately.
static ARMED: AtomicBool = AtomicBool::new(false);

/// Handle SIGINT and SIGTERM by setting the stop flag (a second one exits at
/// once), SIGHUP by setting it only (never the first or second of two: a
/// dropped ssh session delivers it twice within milliseconds, once from the
/// shell and once from the kernel, and logind sends SIGTERM then SIGHUP), each
/// unless the signal is ignored already; and SIGUSR1 and SIGUSR2 as a SIGINT
/// and a SIGTERM that never count as the first of two (how a sweep passes a
/// stop on to its cells).
pub fn install() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    use signal_hook::flag;
    for sig in [SIGINT, SIGTERM] {
        if ignored(sig) {
            continue;
        }
        // Order matters: the shutdown sees the flag as it was before this signal.
        flag::register_conditional_shutdown(sig, 128 + sig, &ARMED)?;
        flag::register_usize(sig, &SIGNAL, sig as usize)?;
        flag::register(sig, &ARMED)?;
    }
    if !ignored(SIGHUP) {
        flag::register_usize(SIGHUP, &SIGNAL, SIGHUP as usize)?;
    }
    for (passed, sig) in [(PASSED_SIGINT, SIGINT), (PASSED_SIGTERM, SIGTERM)] {
        flag::register_usize(passed, &SIGNAL, sig as usize)?;
    }
    Ok(())
}

/// Whether `sig` is ignored now (inherited from the parent: `nohup` ignores
/// SIGHUP, a non-interactive shell ignores SIGINT for a job started with `&`).
fn ignored(sig: i32) -> bool {
    // SAFETY: sigaction(2) with a null new action only reads the current one
    // into a zeroed struct that outlives the call.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

/// The signals by which a parent passes a SIGINT or SIGTERM on to a child.
const PASSED_SIGINT: i32 = signal_hook::consts::SIGUSR1;
const PASSED_SIGTERM: i32 = signal_hook::consts::SIGUSR2;

/// Pass the stop request `signal` (SIGINT, SIGTERM or SIGHUP, passed on as a
/// SIGTERM) on to the process `pid`, a `metarl` child that has called `install`.
pub fn pass_on(pid: u32, signal: i32) {
    use signal_hook::consts::{SIGHUP, SIGTERM};
    let sig = if signal == SIGTERM || signal == SIGHUP {
        PASSED_SIGTERM
    } else {
        PASSED_SIGINT
    };
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid as i32, sig) };
}

/// Whether a child's exit status means it was stopped by a stop request
/// (128 + SIGINT/SIGTERM/SIGHUP), or by a stop signal that came before it could
/// handle one (then it had not started: nothing is lost).
pub fn stopped(status: &std::process::ExitStatus) -> bool {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    use std::os::unix::process::ExitStatusExt;
    matches!(status.code(), Some(129 | 130 | 143))
        || matches!(status.signal(), Some(s) if [SIGINT, SIGTERM, SIGHUP, PASSED_SIGINT, PASSED_SIGTERM].contains(&s))
}

/// The signal number if a stop was asked for.
pub fn requested() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s as i32),
    }
}

/// `Err(Interrupted)` if a stop was asked for.
pub fn check() -> Result<(), Interrupted> {
    match requested() {
        Some(signal) => Err(Interrupted {
            signal,
            resume: None,
        }),
        None => Ok(()),
    }
}

/// Held (shared) by every atomic write from the creation of its temporary
/// file to its rename, and taken (exclusively, never released) by a stop that
/// exits at once (`ExitOnStop`): such a stop waits for the writes in flight and
/// then leaves no temporary file behind.
static WRITES: RwLock<()> = RwLock::new(());

/// Hold while an atomic write has its temporary file (see `WRITES`).
pub fn writing() -> RwLockReadGuard<'static, ()> {
    WRITES.read().unwrap_or_else(PoisonError::into_inner)
}

/// Test-only: `METARL_TEST_SLOW_WRITE_MS=n` makes each atomic write wait n ms
/// with its temporary file written, before the rename, so that a test can stop
/// the process in the middle of a write. An environment variable, like
/// `METARL_TEST_NAN_SEED` (src/train.rs), so that it never appears in a config.
pub fn test_slow_write() {
    test_sleep("METARL_TEST_SLOW_WRITE_MS");
}

/// Test hooks: sleep the number of milliseconds in the environment variable
/// `var`, if it is set to one.
pub fn test_sleep(var: &str) {
    if let Some(ms) = std::env::var(var)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// For the commands that have nothing to save when stopped (`analyze`,
/// `figures`, `report --all`, `references`: they only compute and then write
/// complete files): while this
/// guard lives, a stop request ends the process within a few hundredths of a
/// second, once the atomic writes in flight are done, removing the paths of
/// `remove` (a run lock, a temporary directory) and printing `message`, with
/// status 128 + signal. Without `install`
/// no stop is ever requested and the guard does nothing. (A stop that comes as
/// the last guard is dropped, the command's work done, is not acted on.)
pub struct ExitOnStop {
    id: u64,
}

/// The live `ExitOnStop` guards (several when one command runs another's
/// steps, e.g. `references` analysing each agent's run, or in tests in
/// parallel threads) and the one watcher thread they share.
struct Guards {
    next: u64,
    /// By creation order: what each guard removes, and its message.
    live: std::collections::BTreeMap<u64, (Vec<PathBuf>, String)>,
    watcher: Option<(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>)>,
}

static GUARDS: std::sync::Mutex<Guards> = std::sync::Mutex::new(Guards {
    next: 0,
    live: std::collections::BTreeMap::new(),
    watcher: None,
});

fn guards() -> std::sync::MutexGuard<'static, Guards> {
    GUARDS.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ExitOnStop {
    pub fn new(remove: Vec<PathBuf>, message: String) -> ExitOnStop {
        let mut g = guards();
        let id = g.next;
        g.next += 1;
        g.live.insert(id, (remove, message));
        if g.watcher.is_none() {
            let (done, wait) = std::sync::mpsc::channel::<()>();
            let thread = std::thread::spawn(move || watch(wait));
            g.watcher = Some((done, thread));
        }
        ExitOnStop { id }
    }

    /// Also remove `path` on a stop (a run lock once acquired; call it while
    /// holding `writing()`, so that no stop falls between the two).
    pub fn add(&self, path: PathBuf) {
        if let Some((remove, _)) = guards().live.get_mut(&self.id) {
            remove.push(path);
        }
    }

    /// No longer remove `path` on a stop (before releasing that lock, holding `writing()`).
    pub fn forget(&self, path: &std::path::Path) {
        if let Some((remove, _)) = guards().live.get_mut(&self.id) {
            remove.retain(|p| p != path);
        }
    }
}

/// Until its guards are gone: on a stop request, wait for the writes in
/// flight, remove every live guard's paths, print the first guard's message
/// (the command's own) and exit.
fn watch(wait: std::sync::mpsc::Receiver<()>) {
    use std::sync::mpsc::RecvTimeoutError;
    while let Err(RecvTimeoutError::Timeout) =
        wait.recv_timeout(std::time::Duration::from_millis(20))
    {
        let Some(signal) = requested() else {
            continue;
        };
        let writes = WRITES.write().unwrap_or_else(PoisonError::into_inner);
        let g = guards();
        for path in g.live.values().flat_map(|(remove, _)| remove) {
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(path)
            } else {
                std::fs::remove_file(path)
            };
        }
        let stop = Interrupted {
            signal,
            resume: None,
        };
        match g.live.values().next() {
            Some((_, message)) => crate::note!("{stop}: {message}"),
            None => crate::note!("{stop}"),
        }
        std::mem::forget(writes);
        std::process::exit(128 + signal);
    }
}

impl Drop for ExitOnStop {
    fn drop(&mut self) {
        let last = {
            let mut g = guards();
            g.live.remove(&self.id);
            if g.live.is_empty() {
                g.watcher.take()
            } else {
                None
            }
        };
        // Joined without holding `GUARDS`, which a stopping watcher takes.
        if let Some((done, thread)) = last {
            drop(done);
            let _ = thread.join();
        }
    }
}

/// A run stopped by a signal (or, in tests, by `Checkpointing::stop_after`).
#[derive(Debug, Clone)]
pub struct Interrupted {
    pub signal: i32,
    /// The run directory to pass to `metarl run --resume`, once known.
    pub resume: Option<PathBuf>,
}

impl Interrupted {
    /// The exit status of a process stopped by this signal (130 for SIGINT, 143 for SIGTERM,
    /// 129 for SIGHUP).
    pub fn exit_code(&self) -> u8 {
        (128 + self.signal).clamp(0, 255) as u8
    }

    pub fn signal_name(&self) -> String {
        match self.signal {
            1 => "SIGHUP".into(),
            2 => "SIGINT".into(),
            15 => "SIGTERM".into(),
            0 => "request".into(),
            s => format!("signal {s}"),
        }
    }
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interrupted by {}", self.signal_name())?;
        if let Some(dir) = &self.resume {
            write!(
                f,
                ": stopped cleanly (no partial output; checkpoints saved); continue with `metarl run --resume {}`",
                dir.display()
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for Interrupted {}

/// The `Interrupted` in an error's chain, if any.
pub fn find(e: &anyhow::Error) -> Option<&Interrupted> {
    e.chain().find_map(|c| c.downcast_ref::<Interrupted>())
}
