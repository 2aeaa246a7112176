//! Determinism of every shipped experiment (`metarl::config::shipped()`, so new
//! experiments are covered without editing this file): its `quick` profile run
//! twice, with `--threads 1` and `--threads 2`, gives identical trials.parquet
//! data, training curves (but the measured throughput) and outcomes.json.
//! The budget is cut to two updates and two seeds to keep the whole test to
//! about a minute of CPU; declared `evaluation.stages` are cut to fit it.

use metarl::{config, experiments};
use polars::prelude::*;
use rayon::prelude::*;
use std::path::Path;
use std::process::Command;

fn read(p: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(p).unwrap())
        .finish()
        .unwrap()
}

fn run(name: &str, dir: &Path, threads: &str, extra: &[String]) {
    let out = Command::new(env!("CARGO_BIN_EXE_metarl"))
        .args(["run", name, "--profile", "quick", "--seeds", "2", "--quiet"])
        .args(["--threads", threads])
        .args(extra)
        .arg("--out")
        .arg(dir)
        .env_remove("METARL_TEST_NAN_SEED")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name} --threads {threads}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn same_table(name: &str, file: &str, a: &Path, b: &Path, drop: &[&str]) {
    let (fa, fb) = (a.join(file), b.join(file));
    if std::fs::read(&fa).unwrap() == std::fs::read(&fb).unwrap() {
        return;
    }
    let (mut ta, mut tb) = (read(&fa), read(&fb));
    for c in drop {
        ta = ta.drop(c).unwrap();
        tb = tb.drop(c).unwrap();
    }
    assert!(ta.equals_missing(&tb), "{name}: {file} differs");
}

/// The experiments run side by side (two at a time, rayon's pool of the two
/// cores): the single-threaded runs would leave a core idle otherwise.
#[test]
fn every_experiment_is_deterministic_whatever_the_thread_count() {
    let t = tempfile::tempdir().unwrap();
    let shipped = config::shipped();
    assert!(!shipped.is_empty());
    shipped.par_iter().for_each(|(name, _)| {
        let cfg = experiments::load(name, Some("quick")).unwrap().config;
        let batch = cfg.training.batch;
        let mut extra = vec!["--episodes".to_string(), (2 * batch).to_string()];
        if !cfg.evaluation.stages.is_empty() {
            extra.extend(["--set".into(), format!("evaluation.stages=[0, {batch}]")]);
        }
        let (a, b) = (
            t.path().join(format!("{name}_1")),
            t.path().join(format!("{name}_2")),
        );
        run(name, &a, "1", &extra);
        run(name, &b, "2", &extra);
        same_table(name, "trials.parquet", &a, &b, &[]);
        same_table(name, "training.parquet", &a, &b, &["env_steps_per_sec"]);
        assert_eq!(
            std::fs::read(a.join("outcomes.json")).unwrap(),
            std::fs::read(b.join("outcomes.json")).unwrap(),
            "{name}: outcomes.json differs"
        );
    });
}
