//! Same config and seed → identical results, whatever the thread count; and
//! frozen-weight evaluation changes no parameter.

use metarl::{experiments, train};
use polars::prelude::*;
use std::process::Command;

fn run(dir: &std::path::Path, threads: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_metarl"))
        .args([
            "run",
            "s4_two_step",
            "--profile",
            "quick",
            "--episodes",
            "64",
            "--quiet",
            "--threads",
            threads,
        ])
        .arg("--out")
        .arg(dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read(p: std::path::PathBuf) -> DataFrame {
    ParquetReader::new(std::fs::File::open(p).unwrap())
        .finish()
        .unwrap()
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (t.path().join("one"), t.path().join("two"));
    run(&a, "1");
    run(&b, "2");
    for seed in [1, 2] {
        let f = format!("checkpoints/seed_{seed}.json");
        assert_eq!(
            std::fs::read(a.join(&f)).unwrap(),
            std::fs::read(b.join(&f)).unwrap(),
            "{f}"
        );
    }
    assert!(read(a.join("trials.parquet")).equals(&read(b.join("trials.parquet"))));
    // Training curves match except the measured throughput column.
    let ta = read(a.join("training.parquet"))
        .drop("env_steps_per_sec")
        .unwrap();
    let tb = read(b.join("training.parquet"))
        .drop("env_steps_per_sec")
        .unwrap();
    assert!(ta.equals(&tb));
    let oa: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.join("outcomes.json")).unwrap()).unwrap();
    let ob: serde_json::Value =
        serde_json::from_slice(&std::fs::read(b.join("outcomes.json")).unwrap()).unwrap();
    assert_eq!(oa["metrics"], ob["metrics"]);
}

#[test]
fn evaluation_leaves_every_weight_bit_identical() {
    let mut cfg = experiments::load("s4_two_step", Some("quick"))
        .unwrap()
        .config;
    cfg.training.episodes = 32;
    cfg.evaluation.episodes = 20;
    let trained = train::train_seed(&cfg, 3, |_, _, _| {}).unwrap();
    let before: Vec<Vec<u32>> = trained
        .params
        .tensors()
        .iter()
        .map(|t| t.iter().map(|v| v.to_bits()).collect())
        .collect();
    let table = train::evaluate(&cfg, &trained.params, 3).unwrap();
    assert_eq!(table.len(), 20 * 200);
    let after: Vec<Vec<u32>> = trained
        .params
        .tensors()
        .iter()
        .map(|t| t.iter().map(|v| v.to_bits()).collect())
        .collect();
    assert_eq!(before, after);
    // And a second evaluation of the same weights reproduces the first exactly.
    let again = train::evaluate(&cfg, &trained.params, 3).unwrap();
    assert_eq!(table.action, again.action);
    assert_eq!(table.rpe, again.rpe);
}
