//! The controls machinery of issue 15 (src/controls.rs, `train::evaluate_agent`) on tiny
//! budgets: it runs end to end and writes its tables and figure; the
//! no-reward-input control really zeroes the network's outcome input; the
//! untrained control tests the initial weights; the plastic test changes the
//! weights during the test (the RPE input's critic's too) and the frozen test
//! does not. (The scientific
//! outcome is in the README, from `make controls`.)

mod common;

use metarl::config::{Feedback, Override};
use metarl::controls::{self, Options};
use metarl::experiments;
use metarl::record::{col_f64, col_u64, read_parquet};
use metarl::tasks::{make_task, Phase};
use metarl::train::{self, rng_for, stream, LockStep};

fn s4(overrides: &[(&str, toml::Value)]) -> metarl::config::Config {
    let o: Vec<Override> = overrides
        .iter()
        .map(|(k, v)| Override::new(k, v.clone()).unwrap())
        .collect();
    experiments::load_with("s4_two_step", None, &o)
        .unwrap()
        .config
}

/// 2 seeds × 32 training episodes, 16 test episodes, one thread, into `dir`.
fn tiny_options(experiment: &str, dir: &std::path::Path) -> Options {
    Options {
        experiment: experiment.into(),
        out: dir.join("controls"),
        runs: dir.join("runs"),
        seeds: Some(2),
        episodes: Some(32),
        test_episodes: Some(16),
        only: vec![],
        threads: Some(1),
        force: false,
        quiet: true,
    }
}

#[test]
fn controls_run_end_to_end_and_reuse_finished_cells() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = tiny_options("s4_two_step", tmp.path());
    let r = controls::run_experiment(&opts).unwrap();
    let cells: Vec<&str> = r.rows.iter().map(|r| r.cell.as_str()).collect();
    assert_eq!(
        cells,
        [
            "main",
            "no_reward_input",
            "untrained",
            "plastic_test",
            "size_12",
            "size_24",
            "size_96"
        ]
    );
    assert_eq!(r.metric, "model_based_index");
    assert!(r.rows.iter().all(|r| r.seeds == [1, 2]));
    assert!(r.rows.iter().all(|r| r.cpu_seconds.is_some()));
    // No default run in this directory: said so, not hidden.
    assert!(r.default_run_missing.is_some());
    let names: Vec<&str> = r.checks.iter().map(|c| c.cell.as_str()).collect();
    assert_eq!(names, ["no_reward_input", "untrained"]);

    // Each cell is an ordinary run directory with its overrides.
    let dir = opts.out.join("s4_two_step");
    let cfg = |cell: &str| metarl::run::run_config(&dir.join(cell)).unwrap();
    assert_eq!(cfg("no_reward_input").agent.feedback, Feedback::None);
    assert_eq!(cfg("untrained").training.episodes, 0);
    assert!(cfg("plastic_test").evaluation.plastic);
    assert!(!cfg("main").evaluation.plastic);
    assert_eq!(cfg("size_96").agent.hidden, 96);
    assert_eq!(cfg("main").evaluation.episodes, 16);
    // The untrained run has no update in training.parquet.
    let t = read_parquet(&dir.join("untrained").join("training.parquet")).unwrap();
    assert_eq!(t.height(), 0);

    // The summary: JSON, Parquet (one row per cell × seed), Markdown, figure.
    let all = controls::collect(&opts.out);
    controls::write_summary(&opts.out, &all).unwrap();
    let p = read_parquet(&opts.out.join("controls.parquet")).unwrap();
    assert_eq!(p.height(), 7 * 2);
    assert!(opts.out.join("controls.json").is_file());
    assert!(opts.out.join("figures").join("controls.png").is_file());
    assert!(opts.out.join("figures").join("controls.svg").is_file());
    let md = std::fs::read_to_string(opts.out.join("controls.md")).unwrap();
    assert!(md.contains("no reward input"), "{md}");

    // A second call reuses every finished cell (same config) with the same numbers.
    let again = controls::run_experiment(&opts).unwrap();
    assert!(!r.rows.is_empty() && r.rows.len() == again.rows.len());
    for (a, b) in r.rows.iter().zip(&again.rows) {
        assert_eq!(a.estimate.per_seed, b.estimate.per_seed);
        // Reused: the first run's time (as read back from controls.json).
        let (x, y) = (a.cpu_seconds.unwrap(), b.cpu_seconds.unwrap());
        assert!((x - y).abs() < 1e-9, "{x} vs {y}");
    }
}

/// The bandits' plastic test: the regret is the one played while learning;
/// the greedy readout and the PCA, which replay the frozen network from its
/// checkpoint, are undefined (NaN, written as null) instead of being computed
/// from weights the test did not use.
#[test]
fn bandits_plastic_test_reports_the_played_regret_only() {
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = tiny_options("f1_bandits", tmp.path());
    opts.only = vec!["plastic_test".into()];
    let r = controls::run_experiment(&opts).unwrap();
    let cells: Vec<&str> = r.rows.iter().map(|r| r.cell.as_str()).collect();
    assert_eq!(cells, ["main", "plastic_test"]);
    assert!(r.rows[1].estimate.per_seed.iter().all(|v| v.is_finite()));
    let cell = |name: &str| -> serde_json::Value {
        let path = opts.out.join("f1_bandits").join(name).join("outcomes.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let greedy = "regret_independent_network_independent_greedy";
    assert!(cell("plastic_test")["metrics"][greedy]["mean"].is_null());
    assert!(cell("main")["metrics"][greedy]["mean"].is_f64());
}

#[test]
fn no_reward_input_zeroes_the_outcome_input() {
    for (feedback, expect_nonzero) in [("reward", true), ("none", false)] {
        let cfg = s4(&[("agent.feedback", toml::Value::String(feedback.into()))]);
        let task = make_task(&cfg.task, Phase::Test);
        let params = train::init_params(&cfg, task.as_ref(), &mut rng_for(1, stream::INIT));
        let mut env = LockStep::new(&cfg, Phase::Test, &params, None);
        env.run(
            &params,
            None,
            &mut rng_for(1, stream::EVAL_TASK),
            &mut rng_for(1, stream::EVAL_POLICY),
        );
        let rows = env.ro.n_steps * env.ro.batch;
        let rewards = env.ro.rewards[..rows].iter().filter(|&&r| r != 0.0).count();
        assert!(rewards > 0, "the episodes had rewards to feed back");
        // `feedback` is exactly what the network read in its previous-reward slot.
        let fed = env.ro.feedback[..rows]
            .iter()
            .filter(|&&f| f != 0.0)
            .count();
        assert_eq!(
            fed > 0,
            expect_nonzero,
            "feedback = {feedback}: {fed} non-zero inputs"
        );
    }
}

#[test]
fn untrained_control_tests_the_initial_weights() {
    let cfg = s4(&[("training.episodes", toml::Value::Integer(0))]);
    let trained = train::train_seed(&cfg, 3, |_, _, _| {}).unwrap();
    let task = make_task(&cfg.task, Phase::Train);
    let init = train::init_params(&cfg, task.as_ref(), &mut rng_for(3, stream::INIT));
    assert!(trained.curve.is_empty());
    assert_eq!(
        trained.params.save_json().unwrap(),
        init.save_json().unwrap()
    );
}

fn policy(cfg: &metarl::config::Config, params: &metarl::agent::Params) -> Vec<f64> {
    let cond = &cfg.test_conditions().unwrap()[0];
    let df = train::evaluate_agent(cfg, cond, params, None, 5)
        .into_dataframe()
        .unwrap();
    col_f64(&df, "p_0").unwrap()
}

#[test]
fn plastic_test_learns_and_the_frozen_test_does_not() {
    let frozen = s4(&[("evaluation.episodes", toml::Value::Integer(48))]);
    let mut plastic = frozen.clone();
    plastic.evaluation.plastic = true;
    let task = make_task(&frozen.task, Phase::Train);
    let params = train::init_params(&frozen, task.as_ref(), &mut rng_for(5, stream::INIT));
    let before = params.save_json().unwrap();
    let a = policy(&frozen, &params);
    let b = policy(&plastic, &params);
    // The parameters given to either test are never changed.
    assert_eq!(params.save_json().unwrap(), before);
    assert_eq!(a, policy(&frozen, &params), "the frozen test is repeatable");
    // The first batch (16 episodes × 200 steps) is played by the same weights;
    // after the first update the policy differs.
    let first = 16 * 200;
    assert_eq!(a.len(), b.len());
    assert_eq!(a[..first], b[..first]);
    assert!(a[first..].iter().zip(&b[first..]).any(|(x, y)| x != y));
}

#[test]
fn controls_keys_are_validated() {
    let base = common::experiment_text("s4_two_step");
    let e = common::error_of(&base.replace("tolerance = 0.1 ", "tolerence = 0.1 "));
    assert!(e.contains("tolerence"), "{e}");
    let e = common::error_of(&base.replace(
        "run = [\"no_reward_input\"",
        "metric = \"no_such_metric\"\nrun = [\"no_reward_input\"",
    ));
    assert!(
        e.contains("controls.metric") && e.contains("no_such_metric"),
        "{e}"
    );
    let e = common::error_of(&base.replace("\"plastic_test\", \"size\"]", "\"untrained\"]"));
    assert!(e.contains("controls.run") && e.contains("twice"), "{e}");
    let e = common::error_of(&base.replace("sizes = [12, 24, 48, 96]", "sizes = [12, 0]"));
    assert!(e.contains("controls.sizes[1]"), "{e}");
}

/// The plastic test works for the RPE-input agent too (its critic learns with
/// it): `--set agent.feedback=rpe` keeps every listed plastic_test cell.
#[test]
fn plastic_test_is_a_cell_for_the_rpe_input_agent() {
    let rpe = metarl::config::Override::parse("agent.feedback=rpe").unwrap();
    for name in [
        "s1_reward_history",
        "s2_volatility",
        "s3_inferred_value",
        "s4_two_step",
    ] {
        let cfg = metarl::experiments::load_with(name, None, std::slice::from_ref(&rpe))
            .unwrap_or_else(|e| panic!("{name} with agent.feedback=rpe: {e:#}"))
            .config;
        assert_eq!(cfg.agent.feedback, Feedback::Rpe);
        let tmp = tempfile::tempdir().unwrap();
        let opts = tiny_options(name, tmp.path());
        let cells = controls::cells(&cfg, &opts).unwrap();
        let plastic = cells.iter().find(|c| c.control == "plastic_test");
        assert!(plastic.is_some(), "{name}");
    }
}

/// The plastic test of the RPE-input agent (Simulation 6): one update changes
/// both the actor and the critic that computes its RPE input; the condition's
/// manipulation of that input is applied as in the frozen test (the first batch,
/// played by the given weights, is the frozen test's, RPE input included); and
/// later batches differ.
#[test]
fn plastic_rpe_test_trains_actor_and_critic_and_keeps_the_manipulation() {
    let o = [Override::new("evaluation.episodes", toml::Value::Integer(32)).unwrap()];
    let frozen = experiments::load_with("s6_dopamine", None, &o)
        .unwrap()
        .config;
    let mut plastic = frozen.clone();
    plastic.evaluation.plastic = true;
    let (params, critic) = train::initial_params(&frozen, 5);
    let critic = critic.expect("the RPE input has a critic");
    let conds = frozen.test_conditions().unwrap();
    let cond = conds
        .iter()
        .find(|c| c.name.as_deref() == Some("stimulate_risky_loss"))
        .unwrap();
    assert!(cond.rpe_manipulation.is_some());

    let mut trainer = train::Trainer::for_test(&plastic, cond, &params, Some(&critic), 5);
    trainer.play();
    trainer.learn();
    assert_ne!(
        trainer.params.save_json().unwrap(),
        params.save_json().unwrap()
    );
    let learned = trainer.critic.as_ref().unwrap().save_json().unwrap();
    assert_ne!(
        learned,
        critic.save_json().unwrap(),
        "the critic learns too"
    );

    let table = |cfg: &metarl::config::Config, cond| {
        train::evaluate_agent(cfg, cond, &params, Some(&critic), 5)
            .into_dataframe()
            .unwrap()
    };
    let (a, b) = (table(&frozen, cond), table(&plastic, cond));
    let control = table(&frozen, &conds[0]);
    let episode = col_u64(&a, "episode").unwrap();
    assert_eq!(episode, col_u64(&b, "episode").unwrap());
    let first = episode.iter().take_while(|&&e| e < 16).count();
    for column in ["p_0", "value", "rpe_input"] {
        let (x, y) = (col_f64(&a, column).unwrap(), col_f64(&b, column).unwrap());
        assert_eq!(
            x[..first],
            y[..first],
            "{column}: the first batch is the frozen test's"
        );
        assert!(
            x[first..].iter().zip(&y[first..]).any(|(p, q)| p != q),
            "{column}"
        );
    }
    // The manipulation is not a no-op on these episodes.
    let rpe_input = col_f64(&a, "rpe_input").unwrap();
    assert_ne!(
        rpe_input[..first],
        col_f64(&control, "rpe_input").unwrap()[..first]
    );
}

/// `metarl controls s4_two_step --only untrained` with this budget (16 test
/// episodes, one thread) into `out`, without default runs beside it.
fn untrained_controls_args(seeds: usize, episodes: usize, out: &str) -> Vec<String> {
    let (seeds, episodes) = (seeds.to_string(), episodes.to_string());
    [
        "controls",
        "s4_two_step",
        "--seeds",
        &seeds,
        "--episodes",
        &episodes,
        "--test-episodes",
        "16",
        "--only",
        "untrained",
        "--threads",
        "1",
        "--out",
        out,
        "--runs",
        "no_default_runs",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Ctrl-C during `metarl controls` stops the running cell cleanly (exit 130,
/// checkpoints kept, no FAILED run); the same command continues it from its
/// checkpoints, to the results of an uninterrupted controls run.
#[test]
fn stopped_controls_continue_from_their_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    // 400 updates per seed: the periodic checkpoint (every 200) comes first.
    let args = |out: &str| untrained_controls_args(2, 6400, out);
    let metarl = || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_metarl"));
        c.current_dir(tmp.path());
        common::with_default_stop_signals(&mut c);
        c
    };
    // The uninterrupted controls run the resumed one must equal, made meanwhile
    // (each runs on one thread).
    let whole = metarl()
        .args(args("whole"))
        .arg("--quiet")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let child = metarl()
        .args(args("stopped"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let main = tmp.path().join("stopped/s4_two_step/main");
    let start = std::time::Instant::now();
    while !main.join("checkpoints/resume/seed_1.bin").is_file() {
        assert!(start.elapsed().as_secs() < 60, "no checkpoint");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.contains("run the same `metarl controls` command again"),
        "{err}"
    );
    assert!(!main.join("outcomes.json").exists());

    let again = metarl()
        .args(args("stopped"))
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(
        again.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let manifest = std::fs::read_to_string(main.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"resumed\": true"), "{manifest}");
    let whole = whole.wait_with_output().unwrap();
    assert!(
        whole.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&whole.stderr)
    );
    for cell in ["main", "untrained"] {
        for f in ["trials.parquet", "outcomes.json"] {
            let p = |d: &str| tmp.path().join(d).join("s4_two_step").join(cell).join(f);
            assert!(
                std::fs::read(p("stopped")).unwrap() == std::fs::read(p("whole")).unwrap(),
                "{cell}/{f} differs after the resume"
            );
        }
    }
}

/// `metarl controls … 2>&1 | tee log` with the tee gone (stopped by the same
/// Ctrl-C, or `| head`): stdout and stderr are closed pipes. The controls still
/// finish and write their tables; they are not killed by SIGPIPE (exit 141)
/// at their first message or at the final table.
#[test]
fn controls_finish_with_their_output_a_closed_pipe() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_metarl"));
    cmd.current_dir(tmp.path())
        .args(untrained_controls_args(1, 32, "out"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    common::with_default_stop_signals(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    drop(child.stdout.take());
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert!(
        status.code().is_some_and(|c| c <= 1),
        "closed output: {status:?}"
    );
    assert!(tmp.path().join("out/s4_two_step/controls.json").is_file());
}
