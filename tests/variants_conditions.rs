//! Training variants (`[[variants]]`) and test conditions
//! (`[[evaluation.conditions]]`), end to end on a tiny two-step run: the label
//! columns, the checkpoints, the condition's seed subset, and that conditions
//! replay the same test episodes.

mod common;

use metarl::record::read_parquet;
use std::process::Command;

#[test]
fn variants_train_every_seed_and_conditions_replay_the_same_episodes() {
    let t = tempfile::tempdir().unwrap();
    let toml = t.path().join("vc.toml");
    let text = common::experiment_text("s4_two_step")
        + r#"
[[variants]]
name = "wide"

[[variants]]
name = "narrow"
agent = { hidden = 12 }
training = { episodes = 16 }

[[evaluation.conditions]]
name = "same_a"
episodes = 3

[[evaluation.conditions]]
name = "same_b"
episodes = 3

[[evaluation.conditions]]
name = "short_first_seed"
episodes = 2
seeds = 1
task = { trials_per_episode = 10 }
"#;
    std::fs::write(&toml, text).unwrap();
    let dir = t.path().join("run");
    let out = Command::new(env!("CARGO_BIN_EXE_metarl"))
        .args(["run", toml.to_str().unwrap(), "--profile", "quick"])
        .args([
            "--episodes",
            "32",
            "--quiet",
            "--out",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for v in ["wide", "narrow"] {
        for s in [1, 2] {
            let p = dir.join(format!("checkpoints/{v}/seed_{s}.json"));
            assert!(p.is_file(), "missing {}", p.display());
        }
    }
    let trials = read_parquet(&dir.join("trials.parquet")).unwrap();
    let names: Vec<&str> = trials
        .get_column_names()
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(&names[..3], ["seed", "variant", "condition"]);
    // Rows: 2 variants × (2 seeds × (3 + 3) episodes × 200 steps + 1 seed × 2 × 20).
    assert_eq!(trials.height(), 2 * (2 * 6 * 200 + 2 * 20));
    let col = |name: &str| metarl::record::col_str(&trials, name).unwrap();
    let (variant, condition) = (col("variant"), col("condition"));
    let seeds = metarl::record::col_u64(&trials, "seed").unwrap();
    // The seed-limited condition tested only the first seed.
    assert!((0..seeds.len())
        .filter(|&i| condition[i] == "short_first_seed")
        .all(|i| seeds[i] == 1));
    // Conditions with the same task replay the same episodes: identical rows
    // apart from the label, for every variant and seed.
    let columns: Vec<String> = names[3..].iter().map(|s| s.to_string()).collect();
    for v in ["wide", "narrow"] {
        let rows = |c: &str| -> Vec<usize> {
            (0..seeds.len())
                .filter(|&i| variant[i] == v && condition[i] == c)
                .collect()
        };
        let (a, b) = (rows("same_a"), rows("same_b"));
        assert_eq!(a.len(), 2 * 3 * 200);
        assert_eq!(a.len(), b.len());
        for name in &columns {
            let values = metarl::record::col_f64(&trials, name).unwrap();
            for (i, j) in a.iter().zip(&b) {
                assert_eq!(values[*i].to_bits(), values[*j].to_bits(), "{v} {name}");
            }
        }
    }
    // The narrow variant is a 12-unit network trained for its own budget.
    let ckpt = std::fs::read_to_string(dir.join("checkpoints/narrow/seed_1.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&ckpt).unwrap();
    assert_eq!(v["hidden"], 12);
    let training = read_parquet(&dir.join("training.parquet")).unwrap();
    assert_eq!(training.get_column_names()[1].as_str(), "variant");
    // wide: 32 episodes = 2 updates per seed; narrow: 16 = 1 update per seed.
    assert_eq!(training.height(), 2 * 2 + 2);
}
