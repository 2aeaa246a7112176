//! Divergence: a NaN in one seed's training stops that seed only. The run keeps
//! the other seeds' training, test trials and analysis, records the failed seed
//! in manifest.json and outcomes.json, and exits 1 with a one-line summary;
//! `check` names the failed seed and counts the run as failing; `analyze`,
//! `figures` and `report` work on the seeds present.
//!
//! The fault is injected with the test-only environment variable
//! `METARL_TEST_NAN_SEED=seed:update` (read only in `train::train_seed`), which
//! sets one weight of that seed's network to NaN just before that update, so the
//! loss and gradient become NaN through the ordinary code path.

use polars::prelude::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

fn metarl(args: &[&str], nan: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_metarl"));
    c.args(args).env_remove("METARL_TEST_NAN_SEED");
    if let Some(v) = nan {
        c.env("METARL_TEST_NAN_SEED", v);
    }
    c.output().expect("metarl runs")
}

fn tiny_s4(dir: &Path, seeds: &str, nan: Option<&str>) -> Output {
    metarl(
        &[
            "run",
            "s4_two_step",
            "--profile",
            "quick",
            "--episodes",
            "64",
            "--seeds",
            seeds,
            "--threads",
            "1",
            "--quiet",
            "--out",
            dir.to_str().unwrap(),
        ],
        nan,
    )
}

fn read(p: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(p).unwrap())
        .finish()
        .unwrap()
}

fn seeds_of(df: &DataFrame) -> BTreeSet<u64> {
    df.column("seed")
        .unwrap()
        .cast(&DataType::UInt64)
        .unwrap()
        .u64()
        .unwrap()
        .into_no_null_iter()
        .collect()
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn no_panic(out: &Output) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !all.contains("panicked") && !all.contains("RUST_BACKTRACE"),
        "{all}"
    );
}

#[test]
fn a_diverging_seed_is_reported_and_the_others_are_kept() {
    let t = tempfile::tempdir().unwrap();
    let (bad, clean) = (t.path().join("bad"), t.path().join("clean"));
    let out = tiny_s4(&bad, "3", Some("2:3"));
    no_panic(&out);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{err}");
    // The last line is the one-line summary naming the seed and the update.
    let last = err.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with("error: 1 of 3 seeds failed")
            && last.contains("seed 2 diverged at update 3"),
        "{err}"
    );
    // The full message (also in the manifest) gives the last finite losses.
    let m = json(&bad.join("manifest.json"));
    let failed = m["failed_seeds"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{m}");
    assert_eq!(failed[0]["seed"], 2);
    assert_eq!(failed[0]["update"], 3);
    let msg = failed[0]["message"].as_str().unwrap();
    for part in [
        "seed 2",
        "update 3",
        "last finite losses (update 2)",
        "policy loss",
        "value loss",
        "entropy",
        "gradient norm",
    ] {
        assert!(msg.contains(part), "{part:?} missing from {msg}");
    }
    // Tables, outcomes and figures exist for the good seeds.
    let trials = read(&bad.join("trials.parquet"));
    assert_eq!(seeds_of(&trials), BTreeSet::from([1, 3]));
    let training = read(&bad.join("training.parquet"));
    assert_eq!(seeds_of(&training), BTreeSet::from([1, 3]));
    let o = json(&bad.join("outcomes.json"));
    assert_eq!(o["seeds"], serde_json::json!([1, 3]));
    assert_eq!(o["failed_seeds"][0]["seed"], 2);
    assert!(bad.join("figures/s4_two_step.png").is_file());
    assert!(!bad.join("checkpoints/seed_2.json").exists());
    assert!(!bad.join("run.lock").exists(), "the lock is released");

    // The good seeds' results are exactly those of a run without the fault.
    let out = tiny_s4(&clean, "3", None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let clean_trials = read(&clean.join("trials.parquet"));
    let mask: BooleanChunked = clean_trials
        .column("seed")
        .unwrap()
        .cast(&DataType::UInt64)
        .unwrap()
        .u64()
        .unwrap()
        .into_no_null_iter()
        .map(|s| s != 2)
        .collect();
    let kept = clean_trials.filter(&mask).unwrap();
    assert!(trials.equals(&kept), "seeds 1 and 3 changed");
    for s in [1, 3] {
        let f = format!("checkpoints/seed_{s}.json");
        assert_eq!(
            std::fs::read(bad.join(&f)).unwrap(),
            std::fs::read(clean.join(&f)).unwrap()
        );
    }

    // check: names seed 2, fails the run, no panic.
    let d = bad.to_str().unwrap();
    let out = metarl(&["check", d], None);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("FAIL: failed in training"))
        .unwrap_or_else(|| panic!("no failed-seed line: {text}"));
    assert!(
        line.contains("seed 2") && line.contains("update 3"),
        "{line}"
    );
    let out = metarl(&["check", "--json", d], None);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["passed"], false);
    assert_eq!(j["failed_seeds"][0]["seed"], 2);
    // A run without failures has no such line.
    let out = metarl(&["check", clean.to_str().unwrap()], None);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("failed in training"));

    // analyze, figures and report work on the seeds present and name seed 2.
    for cmd in ["analyze", "figures", "report"] {
        let out = metarl(&[cmd, d], None);
        no_panic(&out);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{cmd}: {all}");
        assert!(all.contains("seed 2"), "{cmd} does not name seed 2: {all}");
    }
    assert_eq!(json(&bad.join("outcomes.json")), o, "analyze is repeatable");
}

#[test]
fn a_run_whose_every_seed_diverges_records_them_and_fails() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("run");
    let out = tiny_s4(&dir, "1", Some("1:0"));
    no_panic(&out);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("seed 1 diverged at update 0") && err.contains("no results"),
        "{err}"
    );
    let m = json(&dir.join("manifest.json"));
    assert_eq!(m["failed_seeds"][0]["seed"], 1);
    assert!(m["failed_seeds"][0]["message"]
        .as_str()
        .unwrap()
        .contains("no update before it had finite losses"));
    assert!(!dir.join("trials.parquet").exists());
    // check reports the missing results as a failure, without a panic.
    let out = metarl(&["check", dir.to_str().unwrap()], None);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1));
    // ... and says why (not "run analyze", which has nothing to analyse).
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("every seed failed in training") && !text.contains("metarl analyze"),
        "{text}"
    );
}
