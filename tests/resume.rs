//! Interruption and resume (issue 12, item 1): a run stopped by SIGINT, SIGTERM,
//! SIGHUP or SIGKILL and finished by `metarl run --resume DIR` gives the results
//! of an uninterrupted run, bit for bit; SIGINT/SIGTERM/SIGHUP leave no partial
//! file and say how to resume (also with their stderr a closed pipe); SIGHUP
//! is left alone under `nohup`; and, for
//! every shipped experiment, training continued from a resume checkpoint is
//! identical to uninterrupted training.

use metarl::config::Feedback;
use metarl::train::{self, Checkpointing, TrainedSeed};
use metarl::{config, experiments};
use polars::prelude::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

mod common;

fn metarl() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_metarl"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    common::with_default_stop_signals(&mut c);
    c
}

fn output(args: &[&str]) -> Output {
    metarl().args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The run of the process tests: s4_two_step quick, 2 seeds of 100 updates on
/// one thread, a resume checkpoint every 2 updates.
fn run_args(dir: &Path) -> Vec<String> {
    [
        "run",
        "s4_two_step",
        "--profile",
        "quick",
        "--seeds",
        "2",
        "--episodes",
        "1600",
        "--threads",
        "1",
        "--set",
        "training.checkpoint_every=2",
        "--out",
        dir.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn spawn(args: &[String]) -> Child {
    metarl()
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// `metarl args` with a new pseudo-terminal as its stderr (so that it draws its
/// progress bar). Dropping the returned master side closes the terminal: the
/// child's writes to it then fail (EIO), as after a dropped ssh session. (Until
/// then nothing reads it: the child may block once its output fills the
/// terminal's buffer, long after the first checkpoint.)
fn spawn_on_terminal(args: &[String], env: &[(&str, &str)]) -> (std::os::fd::OwnedFd, Child) {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::fs::OpenOptionsExt;
    // SAFETY: plain libc calls on a descriptor this function owns; ptsname_r
    // writes at most buf.len() bytes.
    let (master, slave) = unsafe {
        // Close-on-exec from the start: only this side holds the terminal open
        // (no child spawned meanwhile by another test thread inherits it).
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(
            m >= 0,
            "no pseudo-terminal: {}",
            std::io::Error::last_os_error()
        );
        assert_eq!(libc::grantpt(m), 0);
        assert_eq!(libc::unlockpt(m), 0);
        let mut buf = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(m, buf.as_mut_ptr(), buf.len()), 0);
        let path = std::ffi::CStr::from_ptr(buf.as_ptr())
            .to_str()
            .unwrap()
            .to_string();
        (OwnedFd::from_raw_fd(m), path)
    };
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(slave)
        .unwrap();
    let child = metarl()
        .args(args)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(slave)
        .spawn()
        .unwrap();
    (master, child)
}

/// Wait until `cond` holds (at most 60 s).
fn wait_for(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn signal(child: &Child, sig: i32) {
    assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
}

fn ckpt(dir: &Path, seed: u64) -> PathBuf {
    dir.join(format!("checkpoints/resume/seed_{seed}.bin"))
}

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

/// Every file under `dir` (relative paths).
fn files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = vec![];
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// After a graceful stop: the exit status, the one-line resume hint, no
/// temporary or result file, the lock released, a checkpoint kept.
fn assert_clean_stop(child: Child, dir: &Path, code: i32) {
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(code), "{err}");
    let hint = format!("continue with `metarl run --resume {}`", dir.display());
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.contains(&hint),
        "no resume hint in the last line: {err}"
    );
    assert_stopped_files(dir);
}

/// The files of a run stopped gracefully: no temporary or result file, the
/// lock released, a checkpoint kept.
fn assert_stopped_files(dir: &Path) {
    let all = files(dir);
    assert!(
        all.iter().all(|f| !f.ends_with(".tmp")),
        "temporary files left: {all:?}"
    );
    for f in [
        "run.lock",
        "trials.parquet",
        "training.parquet",
        "outcomes.json",
    ] {
        assert!(!all.contains(&f.to_string()), "{f} left: {all:?}");
    }
    assert!(
        all.contains(&"checkpoints/resume/seed_1.bin".to_string()),
        "{all:?}"
    );
}

fn resume(dir: &Path) {
    let out = output(&[
        "run",
        "--resume",
        dir.to_str().unwrap(),
        "--threads",
        "1",
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

fn read(p: PathBuf) -> DataFrame {
    ParquetReader::new(std::fs::File::open(&p).unwrap())
        .finish()
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The resumed run's outputs against the uninterrupted one's: trials.parquet,
/// outcomes.json and the final weights byte for byte, training.parquet's data
/// except its timing column env_steps_per_sec; no resume checkpoint left.
fn assert_same_results(reference: &Path, resumed: &Path) {
    for f in [
        "trials.parquet",
        "outcomes.json",
        "checkpoints/seed_1.json",
        "checkpoints/seed_2.json",
    ] {
        assert!(
            std::fs::read(reference.join(f)).unwrap() == std::fs::read(resumed.join(f)).unwrap(),
            "{f} differs after the resume"
        );
    }
    let curve = |d: &Path| {
        read(d.join("training.parquet"))
            .drop("env_steps_per_sec")
            .unwrap()
    };
    assert!(curve(reference).equals_missing(&curve(resumed)));
    assert!(!resumed.join("checkpoints/resume").exists());
    assert!(!resumed.join("run.lock").exists());
}

/// An interruption scenario: interrupts a run in the given directory and
/// finishes it with `--resume`.
type Scenario = fn(&Path);

/// Each scenario interrupts its own run in its own directory and finishes it
/// with `--resume`; the results are compared with the uninterrupted run's at
/// the end. The scenarios are independent, so they run side by side (each run
/// is one process on one thread) while the reference run is made.
#[test]
fn interrupted_runs_resume_to_the_uninterrupted_results() {
    let t = tempfile::tempdir().unwrap();
    let reference = t.path().join("reference");
    let scenarios: [(&str, Scenario); 6] = [
        ("sigint", stopped_by_sigint),
        ("twice", stopped_by_a_second_sigint),
        ("sigkill", killed_then_stopped_during_the_resume),
        ("sighup", hung_up_with_its_terminal_closed),
        ("closed_pipe", stopped_with_its_stderr_a_closed_pipe),
        ("nohup", hangup_ignored_under_nohup),
    ];
    let dirs: Vec<PathBuf> = std::thread::scope(|s| {
        let running: Vec<_> = scenarios
            .iter()
            .map(|&(name, scenario)| {
                let dir = t.path().join(name);
                s.spawn(move || {
                    scenario(&dir);
                    dir
                })
            })
            .collect();
        let out = metarl()
            .args(run_args(&reference))
            .arg("--quiet")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        running
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    for dir in &dirs {
        assert_same_results(&reference, dir);
    }
    analyze_and_figures_stopped_in_a_write(&reference, &t.path().join("redo"));

    // --resume on a finished run, on a directory that is not a run, and with
    // experiment arguments: one-line refusals, exit status 2.
    let finished = output(&["run", "--resume", reference.to_str().unwrap()]);
    assert_eq!(finished.status.code(), Some(2));
    assert!(
        stderr(&finished).contains("holds a finished run")
            && stderr(&finished).lines().count() == 1,
        "{}",
        stderr(&finished)
    );
    let empty = t.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let none = output(&["run", "--resume", empty.to_str().unwrap()]);
    assert_eq!(none.status.code(), Some(2));
    assert!(
        stderr(&none).contains("no config.toml") && stderr(&none).lines().count() == 1,
        "{}",
        stderr(&none)
    );
    let mixed = output(&["run", "s4_two_step", "--resume", dirs[0].to_str().unwrap()]);
    assert_eq!(mixed.status.code(), Some(2));
    assert!(
        stderr(&mixed).contains("cannot be used with"),
        "{}",
        stderr(&mixed)
    );
}

/// `analyze` and `figures` (nothing to save) on a copy of a finished run,
/// stopped by SIGTERM in the middle of a write (test hook: each write waits 2 s
/// before its rename): each ends at once after that write with 143, the file
/// complete under its final name, no temporary file, the lock removed. Then a
/// `figures` killed (SIGKILL) in a write leaves its temporary figure and a
/// stale lock, which the next `figures` removes and takes over.
fn analyze_and_figures_stopped_in_a_write(finished: &Path, dir: &Path) {
    for f in files(finished) {
        std::fs::create_dir_all(dir.join(&f).parent().unwrap()).unwrap();
        std::fs::copy(finished.join(&f), dir.join(&f)).unwrap();
    }
    let before = |f: &str| std::fs::read(finished.join(f)).unwrap();
    let slow = |cmd: &str| {
        metarl()
            .args([cmd, dir.to_str().unwrap()])
            .env("METARL_TEST_SLOW_WRITE_MS", "2000")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let png_tmp = dir.join("figures/s4_two_step.tmp.png");
    for (cmd, tmp, written) in [
        ("analyze", dir.join("outcomes.json.tmp"), "outcomes.json"),
        ("figures", png_tmp.clone(), "figures/s4_two_step.png"),
    ] {
        std::fs::remove_file(dir.join(written)).unwrap();
        let child = slow(cmd);
        wait_for("the write", || tmp.is_file());
        signal(&child, libc::SIGTERM);
        let sent = Instant::now();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(143), "{cmd}: {}", stderr(&out));
        assert!(
            sent.elapsed() < Duration::from_secs(10),
            "{cmd} took {:?} to stop",
            sent.elapsed()
        );
        assert!(
            stderr(&out).contains(&format!("to finish, run `metarl {cmd} {}`", dir.display())),
            "{cmd}: {}",
            stderr(&out)
        );
        assert!(
            std::fs::read(dir.join(written)).unwrap() == before(written),
            "{cmd}: {written} differs"
        );
        let all = files(dir);
        assert!(
            !all.iter().any(|f| f.contains(".tmp")) && !all.contains(&"run.lock".to_string()),
            "{cmd} left {all:?}"
        );
    }
    let child = slow("figures");
    wait_for("the figure", || png_tmp.is_file());
    signal(&child, libc::SIGKILL);
    child.wait_with_output().unwrap();
    assert!(png_tmp.is_file() && dir.join("run.lock").is_file());
    let out = output(&["figures", dir.to_str().unwrap(), "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let all = files(dir);
    assert!(
        !all.iter().any(|f| f.contains(".tmp")) && !all.contains(&"run.lock".to_string()),
        "figures after a SIGKILL left {all:?}"
    );
    assert!(
        std::fs::read(dir.join("figures/s4_two_step.png")).unwrap()
            == before("figures/s4_two_step.png")
    );
}

/// SIGINT once a checkpoint exists; a resume refused while the run is alive.
fn stopped_by_sigint(a: &Path) {
    let child = spawn(&run_args(a));
    wait_for("a checkpoint", || ckpt(a, 1).is_file());
    let live = output(&["run", "--resume", a.to_str().unwrap()]);
    assert_eq!(live.status.code(), Some(2));
    assert!(
        stderr(&live).contains(&format!("pid {}", child.id())),
        "{}",
        stderr(&live)
    );
    signal(&child, libc::SIGINT);
    assert_clean_stop(child, a, 130);
    // Commands that read results point to the resume, not to analyze or --force.
    for cmd in ["check", "figures", "analyze"] {
        let out = output(&[cmd, a.to_str().unwrap()]);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert!(
            text.contains(&format!("metarl run --resume {}", a.display())),
            "{cmd} on a stopped run: {text}"
        );
    }
    resume(a);
}

/// A stop that hangs (test hook: the stop waits 30 s before saving), then a
/// second Ctrl-C: it exits at once with 130, without the clean-stop message
/// (a stale lock left), and the run resumes from its last periodic checkpoint.
fn stopped_by_a_second_sigint(c: &Path) {
    let child = metarl()
        .args(run_args(c))
        .env("METARL_TEST_SLOW_STOP_MS", "30000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("a checkpoint", || ckpt(c, 1).is_file());
    signal(&child, libc::SIGINT);
    // The first signal delivered before the second (two pending SIGINTs merge into one).
    common::wait_until_delivered(child.id(), libc::SIGINT);
    let second = Instant::now();
    signal(&child, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(second.elapsed() < Duration::from_secs(10), "not at once");
    assert!(!err.contains("stopped cleanly"), "{err}");
    assert!(c.join("run.lock").is_file() && !c.join("outcomes.json").exists());
    resume(c);
}

/// SIGKILL (no chance to clean up: a stale lock and maybe a temporary file
/// stay), then SIGTERM during the resume once it has saved a later
/// checkpoint, then a second resume.
fn killed_then_stopped_during_the_resume(b: &Path) {
    let mut child = spawn(&run_args(b));
    wait_for("a checkpoint", || size(&ckpt(b, 1)) > 0);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(b.join("run.lock").is_file());
    let at_kill = size(&ckpt(b, 1));
    let args: Vec<String> = ["run", "--resume", b.to_str().unwrap(), "--threads", "1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let child = spawn(&args);
    wait_for("a later checkpoint", || size(&ckpt(b, 1)) > at_kill);
    signal(&child, libc::SIGTERM);
    assert_clean_stop(child, b, 143);
    resume(b);
}

/// A hang-up: the terminal that is the run's stderr closes (every write to it
/// now fails), then SIGHUP twice, the second once the first is delivered (a
/// dropped ssh session: from the shell, then from the kernel, milliseconds
/// apart), during a stop that takes 1 s (test hook). The
/// run stops cleanly all the same (129: the second SIGHUP does not exit at once
/// as a second Ctrl-C would) and resumes.
fn hung_up_with_its_terminal_closed(h: &Path) {
    let (terminal, child) =
        spawn_on_terminal(&run_args(h), &[("METARL_TEST_SLOW_STOP_MS", "1000")]);
    wait_for("a checkpoint", || ckpt(h, 1).is_file());
    drop(terminal);
    signal(&child, libc::SIGHUP);
    common::wait_until_delivered(child.id(), libc::SIGHUP);
    signal(&child, libc::SIGHUP);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(129),
        "stopped by SIGHUP: {:?}",
        out.status
    );
    assert_stopped_files(h);
    resume(h);
}

/// The run's stderr is a pipe whose reader is gone (`2>&1 | tee log`, the tee
/// stopped by the same Ctrl-C or group SIGTERM): SIGTERM still stops it
/// cleanly (143; not killed by SIGPIPE, 141, when it writes its stop messages).
fn stopped_with_its_stderr_a_closed_pipe(p: &Path) {
    let mut child = spawn(&run_args(p));
    wait_for("a checkpoint", || ckpt(p, 1).is_file());
    drop(child.stderr.take());
    signal(&child, libc::SIGTERM);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143), "closed stderr: {status:?}");
    assert_stopped_files(p);
    resume(p);
}

/// Under `nohup` (SIGHUP ignored) a SIGHUP changes nothing: the run finishes.
fn hangup_ignored_under_nohup(n: &Path) {
    let mut cmd = metarl();
    cmd.args(run_args(n))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    // SAFETY: signal(2) is async-signal-safe, as pre_exec requires.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    wait_for("a checkpoint", || ckpt(n, 1).is_file());
    signal(&child, libc::SIGHUP);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "under nohup: {}", stderr(&out));
}

/// Everything of a trained seed but the timing.
fn assert_same_training(what: &str, a: &TrainedSeed, b: &TrainedSeed) {
    let bits = |p: &metarl::agent::Params| -> Vec<u32> {
        p.tensors()
            .iter()
            .flat_map(|t| t.iter().map(|v| v.to_bits()))
            .collect()
    };
    assert!(bits(&a.params) == bits(&b.params), "{what}: weights differ");
    assert_eq!(
        a.critic.as_ref().map(bits),
        b.critic.as_ref().map(bits),
        "{what}: critic differs"
    );
    assert_eq!(a.snapshots.len(), b.snapshots.len(), "{what}: stages");
    for ((ea, pa), (eb, pb)) in a.snapshots.iter().zip(&b.snapshots) {
        assert!(
            ea == eb && bits(pa) == bits(pb),
            "{what}: stage {ea} differs"
        );
    }
    assert_eq!((a.env_steps, a.trials), (b.env_steps, b.trials), "{what}");
    assert_eq!(a.curve.len(), b.curve.len(), "{what}: curve length");
    for (ra, rb) in a.curve.iter().zip(&b.curve) {
        let key = |r: &train::UpdateRow| {
            (
                r.update,
                r.episodes,
                [
                    r.mean_episode_reward,
                    r.policy_loss,
                    r.value_loss,
                    r.entropy,
                    r.grad_norm,
                ]
                .map(f64::to_bits),
            )
        };
        assert_eq!(key(ra), key(rb), "{what}: curve row {}", ra.update);
    }
}

/// For every shipped experiment (quick profile, each training variant, with
/// test stages where the agent allows them): 6 updates stopped after 3, then
/// after 4, then finished from the checkpoint, equal the 6 updates in one go;
/// and a finished seed's checkpoint gives the same seed back without training.
#[test]
fn every_experiment_continues_bit_identically_from_a_checkpoint() {
    let t = tempfile::tempdir().unwrap();
    for (name, _) in config::shipped() {
        let loaded = experiments::load(name, None).unwrap();
        let profile = loaded
            .config
            .profiles
            .contains_key("quick")
            .then_some("quick");
        let mut cfg = experiments::load(name, profile).unwrap().config;
        let b = cfg.training.batch;
        cfg.training.episodes = 6 * b;
        cfg.evaluation.stages = if cfg.agent.feedback == Feedback::Rpe {
            vec![]
        } else {
            vec![0, 2 * b, 4 * b]
        };
        cfg.validate().unwrap();
        for (variant, vcfg) in cfg.training_variants().unwrap() {
            let what = format!("{name} {}", variant.as_deref().unwrap_or(""));
            let seed = vcfg.seeds.first;
            let reference = train::train_seed(&vcfg, seed, |_, _, _| {}).unwrap();
            let path = t
                .path()
                .join(format!("{name}_{}.bin", variant.as_deref().unwrap_or("")));
            let ck = |stop_after| Checkpointing {
                path: path.clone(),
                every: 2,
                stop_after,
            };
            for stop in [3, 4] {
                let e =
                    train::train_seed_resumable(&vcfg, seed, Some(&ck(Some(stop))), |_, _, _| {})
                        .err()
                        .unwrap_or_else(|| panic!("{what}: not stopped at {stop}"));
                assert!(metarl::interrupt::find(&e).is_some(), "{what}: {e:#}");
                assert!(path.is_file(), "{what}: no checkpoint at {stop}");
            }
            let resumed =
                train::train_seed_resumable(&vcfg, seed, Some(&ck(None)), |_, _, _| {}).unwrap();
            assert_same_training(&what, &reference, &resumed);
            let mut calls = 0;
            let again =
                train::train_seed_resumable(&vcfg, seed, Some(&ck(None)), |_, _, _| calls += 1)
                    .unwrap();
            assert_eq!(calls, 0, "{what}: a finished seed was trained again");
            assert_same_training(&what, &reference, &again);
        }
    }
}

/// A corrupt or foreign checkpoint is refused with an error naming the file.
#[test]
fn a_corrupt_checkpoint_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let mut cfg = experiments::load("s4_two_step", Some("quick"))
        .unwrap()
        .config;
    cfg.training.episodes = 4 * cfg.training.batch;
    let path = t.path().join("seed_1.bin");
    let ck = Checkpointing {
        path: path.clone(),
        every: 2,
        stop_after: None,
    };
    train::train_seed_resumable(&cfg, 1, Some(&ck), |_, _, _| {}).unwrap();
    // Another seed's checkpoint.
    let e = train::train_seed_resumable(&cfg, 2, Some(&ck), |_, _, _| {})
        .err()
        .expect("refused");
    assert!(format!("{e:#}").contains("seed 1"), "{e:#}");
    // One flipped byte.
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let e = train::train_seed_resumable(&cfg, 1, Some(&ck), |_, _, _| {})
        .err()
        .expect("refused");
    let msg = format!("{e:#}");
    assert!(
        msg.contains("corrupt") && msg.contains("seed_1.bin"),
        "{msg}"
    );
}

/// `references` (nothing to save) stopped by SIGTERM in the middle of a write
/// (test hook: each write waits 2 s before its rename): it ends at once after
/// that write with 143, leaving no temporary file and no run lock in `--out`;
/// without `--out` its temporary directory (under TMPDIR) is removed.
#[test]
fn references_stopped_in_a_write() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    let tmpdir = t.path().join("tmp");
    std::fs::create_dir_all(&tmpdir).unwrap();
    for with_out in [true, false] {
        let mut args = vec!["references", "s4_two_step", "--episodes", "20"];
        if with_out {
            args.extend(["--out", out.to_str().unwrap()]);
        }
        let child = metarl()
            .args(&args)
            .env("METARL_TEST_SLOW_WRITE_MS", "2000")
            .env("TMPDIR", &tmpdir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let root = if with_out {
            out.clone()
        } else {
            tmpdir.clone()
        };
        wait_for("a write", || {
            root.is_dir() && files(&root).iter().any(|f| f.ends_with(".tmp"))
        });
        signal(&child, libc::SIGTERM);
        let out_ = child.wait_with_output().unwrap();
        assert_eq!(out_.status.code(), Some(143), "{}", stderr(&out_));
        assert!(
            stderr(&out_).contains("references stopped"),
            "{}",
            stderr(&out_)
        );
        let left = files(&root);
        if with_out {
            assert!(
                !left
                    .iter()
                    .any(|f| f.ends_with(".tmp") || f.ends_with("run.lock")),
                "{left:?}"
            );
        } else {
            assert!(left.is_empty(), "the temporary directory is left: {left:?}");
        }
    }
}
