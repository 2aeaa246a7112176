//! The `metarl` command line, end to end on tiny budgets (these runs do not
//! learn; the outcome tests are in s4_outcome.rs).

use polars::prelude::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn metarl(args: &[&str]) -> Output {
    metarl_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

/// `metarl args` run in `dir`.
fn metarl_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_metarl"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("metarl runs")
}

fn tiny_run(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "run",
        "s4_two_step",
        "--profile",
        "quick",
        "--episodes",
        "32",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    metarl(&args)
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn list_shows_the_experiments() {
    let out = metarl(&["list"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("s4_two_step") && text.contains("Fig. 5") && text.contains("quick"),
        "{text}"
    );
}

#[test]
fn shipped_experiments_run_from_any_directory_and_show_prints_them() {
    // `run` by name from a directory that has no experiments/ folder.
    let t = tmp();
    let out = metarl_in(
        t.path(),
        &[
            "run",
            "s4_two_step",
            "--profile",
            "quick",
            "--episodes",
            "32",
            "--quiet",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(t.path().join("runs/s4_two_step/outcomes.json").is_file());
    // `show` prints the shipped TOML exactly; `list` marks it built-in.
    let out = metarl(&["show", "s4_two_step"]);
    assert!(out.status.success());
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/experiments/s4_two_step.toml"
    ))
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), shipped);
    let out = metarl(&["list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("s4_two_step")).unwrap();
    assert!(line.contains("built-in"), "{line}");
    // A user's own TOML in ./experiments/ is listed by the path `run` takes.
    std::fs::create_dir_all(t.path().join("experiments")).unwrap();
    std::fs::write(
        t.path().join("experiments/my_two_step.toml"),
        shipped.replace("name = \"s4_two_step\"", "name = \"my_two_step\""),
    )
    .unwrap();
    let out = metarl_in(t.path(), &["list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.contains("my_two_step")).unwrap();
    assert!(line.starts_with("experiments/my_two_step.toml"), "{text}");
    let path = line.split_whitespace().next().unwrap();
    let out = metarl_in(
        t.path(),
        &[
            "run",
            path,
            "--profile",
            "quick",
            "--seeds",
            "1",
            "--episodes",
            "16",
            "--threads",
            "1",
            "--quiet",
            "--out",
            "my_run",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A misspelt name is refused with a suggestion, exit status 2.
    let out = metarl(&["show", "s4_twostep"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `s4_two_step`"));
    let out = metarl(&["run", "s1_reward_histroy", "--quiet"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `s1_reward_history`"));
}

#[test]
fn help_explains_the_commands() {
    let out = metarl(&["--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in [
        "list", "show", "run", "analyze", "figures", "check", "report", "bench",
    ] {
        assert!(text.contains(cmd), "{text}");
    }
}

#[test]
fn run_writes_every_output_and_refuses_to_overwrite() {
    let t = tmp();
    let dir = t.path().join("run");
    let out = tiny_run(&dir, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "config.toml",
        "manifest.json",
        "checkpoints/seed_1.json",
        "checkpoints/seed_2.json",
        "training.parquet",
        "trials.parquet",
        "outcomes.json",
        "figures/s4_two_step.png",
        "figures/s4_two_step.svg",
    ] {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    // No temporary files are left behind.
    let leftovers: Vec<PathBuf> = walk(&dir)
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // One row per network step: 2 seeds × 100 test episodes × 100 trials × 2 steps.
    let df = ParquetReader::new(std::fs::File::open(dir.join("trials.parquet")).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height(), 2 * 100 * 200);
    for c in [
        "seed",
        "episode",
        "trial",
        "step_in_trial",
        "obs_0",
        "action",
        "reward",
        "value",
        "rpe",
        "p_0",
        "p_1",
        "stage2_state",
        "common",
        "better_state",
    ] {
        assert!(df.column(c).is_ok(), "trials.parquet lacks {c}");
    }
    let tr = ParquetReader::new(std::fs::File::open(dir.join("training.parquet")).unwrap())
        .finish()
        .unwrap();
    assert_eq!(
        tr.height(),
        2 * 2,
        "32 episodes in batches of 16 = 2 updates per seed"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["seeds"], serde_json::json!([1, 2]));
    // The arithmetic the results depend on (README, "Across machines"): this machine's.
    assert_eq!(
        manifest["numerics"],
        serde_json::json!(metarl::numerics::fingerprint())
    );
    assert!(
        manifest["stage_seconds"]["train_and_evaluate"]
            .as_f64()
            .unwrap()
            > 0.0
    );

    // A second run into the same directory is refused and changes nothing.
    let before = std::fs::read(dir.join("trials.parquet")).unwrap();
    let again = tiny_run(&dir, &[]);
    assert_eq!(again.status.code(), Some(2));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("already holds results") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(before, std::fs::read(dir.join("trials.parquet")).unwrap());
    // With --force it replaces them.
    assert!(tiny_run(&dir, &["--force"]).status.success());

    // analyze and figures redo their stages from the files alone.
    std::fs::remove_file(dir.join("outcomes.json")).unwrap();
    std::fs::remove_dir_all(dir.join("figures")).unwrap();
    let d = dir.to_str().unwrap();
    assert!(
        metarl(&["figures", d, "--quiet"]).status.code() == Some(2),
        "figures needs outcomes.json"
    );
    assert!(metarl(&["analyze", d, "--quiet"]).status.success());
    assert!(metarl(&["figures", d, "--quiet"]).status.success());
    assert!(dir.join("figures/s4_two_step.png").is_file());

    // check --json: one object per run with a checks array; exit status follows the checks.
    let out = metarl(&["check", d, "--json"]);
    let line = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    let checks = v["checks"].as_array().unwrap();
    assert!(checks.len() >= 8);
    for c in checks {
        assert!(
            c["name"].is_string() && c["value"].is_number() && c["passed"].is_boolean(),
            "{c}"
        );
    }
    let all = checks.iter().all(|c| c["passed"].as_bool().unwrap());
    assert_eq!(v["passed"].as_bool().unwrap(), all);
    assert_eq!(out.status.success(), all);
    // report prints every metric with its CI and per-seed values.
    let out = metarl(&["report", d]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("model_based_index") && text.contains("per seed"),
        "{text}"
    );
    // The table form names every check.
    let out = metarl(&["check", d]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("model-based index") && (text.contains("PASS") || text.contains("FAIL")));
}

#[test]
fn check_of_a_missing_run_fails() {
    let out = metarl(&["check", "/nonexistent/run", "--json"]);
    assert!(!out.status.success());
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(v["passed"], serde_json::json!(false));
}

#[test]
fn invalid_experiment_is_refused_before_any_work() {
    let t = tmp();
    let bad = t.path().join("bad.toml");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/experiments/s4_two_step.toml"
    ))
    .unwrap();
    std::fs::write(&bad, text.replace("swap_prob = 0.025", "swap_prob = -0.1")).unwrap();
    let dir = t.path().join("out");
    let out = metarl(&[
        "run",
        bad.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("task.swap_prob"),
        "{err}"
    );
    assert!(!dir.exists(), "nothing may be written for an invalid file");
    let out = metarl(&[
        "run",
        "s4_two_step",
        "--seeds",
        "0",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("seeds.count"));
}

#[test]
fn bench_json_reports_steps_per_second() {
    let out = metarl(&["bench", "--json", "--episodes", "32"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["network_steps_per_sec", "trials_per_sec"] {
        assert!(v["s4_two_step"][key].as_f64().unwrap() > 0.0, "{v}");
    }
    // Two network steps per two-step trial.
    let s4 = &v["s4_two_step"];
    assert_eq!(
        s4["network_steps"].as_u64().unwrap(),
        2 * s4["trials"].as_u64().unwrap()
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Training plays whole batches: a budget that is not a multiple of the batch
/// is rounded up, and the run says so.
#[test]
fn a_budget_between_batches_is_rounded_up_with_a_note() {
    let t = tmp();
    let dir = t.path().join("r");
    let out = metarl(&[
        "run",
        "s4_two_step",
        "--profile",
        "quick",
        "--set",
        "seeds.count=2",
        "--seeds",
        "1",
        "--episodes",
        "17",
        "--threads",
        "1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("17 episodes are 2 updates of 16, i.e. 32 episodes per seed"),
        "{err}"
    );
    // The manifest lists the overrides in the order they were applied, --seeds
    // and --episodes last (they win over a --set of the same key).
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["overrides"],
        serde_json::json!(["seeds.count=2", "seeds.count=1", "training.episodes=17"])
    );
    assert_eq!(manifest["seeds"], serde_json::json!([1]));
}
