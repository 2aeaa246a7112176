//! Helpers shared by the integration tests.
#![allow(dead_code)]

use metarl::experiments;
use metarl::experiments::Outcomes;
use metarl::run::{self, RunOptions};

/// The text of a shipped experiment file.
pub fn experiment_text(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/experiments/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The error message for an experiment text that must be refused.
pub fn error_of(text: &str) -> String {
    format!(
        "{:#}",
        experiments::parse(text, "bad.toml", None).expect_err("must be refused")
    )
}

/// Train, evaluate and analyse an experiment with a profile into a temporary
/// directory; returns its outcomes (the directory lives as long as the TempDir).
pub fn run_profile(experiment: &str, profile: &str) -> (tempfile::TempDir, Outcomes) {
    let t = tempfile::tempdir().unwrap();
    let dir = run::run(&RunOptions {
        experiment: experiment.into(),
        out: Some(t.path().join(experiment)),
        profile: Some(profile.into()),
        quiet: true,
        ..Default::default()
    })
    .unwrap();
    let o = Outcomes::read(&dir.join("outcomes.json")).unwrap();
    (t, o)
}

/// Let the process of `cmd` handle the stop signals whatever this test process
/// inherited: a script that starts `cargo test &` has SIGINT ignored in it, and
/// `metarl` leaves an ignored signal ignored (as SIGHUP under nohup).
pub fn with_default_stop_signals(cmd: &mut std::process::Command) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: signal(2) is async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(|| {
            for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(sig, libc::SIG_DFL);
            }
            Ok(())
        })
    }
}

/// Wait (at most 60 s) until the signal `sig` sent to process `pid` is no
/// longer pending in it, i.e. its handler has run: a second signal sent after
/// this is a second signal, not merged with the first (as it may be when the
/// process was not scheduled in between, e.g. on a loaded machine).
pub fn wait_until_delivered(pid: u32, sig: i32) {
    let bit = 1u64 << (sig - 1);
    let start = std::time::Instant::now();
    loop {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            return; // the process has ended
        };
        let pending = status
            .lines()
            .filter(|l| l.starts_with("ShdPnd:") || l.starts_with("SigPnd:"))
            .map(|l| u64::from_str_radix(l.split_whitespace().nth(1).unwrap_or("0"), 16).unwrap())
            .fold(0, |a, b| a | b);
        if pending & bit == 0 {
            return;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "signal {sig} still pending in {pid}"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// A child process killed when this goes out of scope, also when an assertion
/// fails first: no long run or holder process is left behind by a failed test.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The two-step task's lag-1 regression weights have the model-based signs on
/// every seed, each beyond ±0.5 (tests/s4_outcome.rs, s4_rpe_input_outcome.rs).
pub fn assert_model_based_lag1_weights(o: &Outcomes) {
    for (name, sign) in [
        ("lag1_common_rewarded", 1.0),
        ("lag1_uncommon_unrewarded", 1.0),
        ("lag1_uncommon_rewarded", -1.0),
        ("lag1_common_unrewarded", -1.0),
    ] {
        let w = &o.metrics[name].estimate;
        assert_eq!(w.per_seed.len(), 2);
        assert!(
            w.per_seed.iter().all(|&v| v * sign > 0.5),
            "{name}: {:?}",
            w.per_seed
        );
    }
}
