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
