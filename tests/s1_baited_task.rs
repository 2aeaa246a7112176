//! Task statistics of the baited two-armed bandit (Simulation 1) against its
//! definition, within binomial bounds (4.5 standard errors, so a correct task
//! fails with probability < 1e-5 per check), and the validation of its keys.

use metarl::experiments;
use metarl::experiments::s1_reward_history::load_trials;
use metarl::record::read_parquet;
use metarl::run::{self, RunOptions};
use metarl::tasks::baited_bandit::{baited_prob, BaitedBandit, LATENTS};
use metarl::tasks::{baited_bandit::BaitedBanditConfig, TaskConfig};
use metarl::tasks::{Phase, Task};
use metarl::train::rng_for;
use rand::Rng;

fn within(count: f64, n: f64, p: f64) -> bool {
    let se = (p * (1.0 - p) / n).sqrt().max(1e-12);
    (count / n - p).abs() < 4.5 * se
}

fn paper_config() -> BaitedBanditConfig {
    BaitedBanditConfig {
        p0_sum: 0.5,
        train_p0_left: vec![[0.0, 0.1], [0.2, 0.3], [0.4, 0.5]],
        test_p0_left: vec![[0.0, 0.5]],
        train_trials: [50, 100],
        test_trials: [100, 100],
        fixation_step: false,
    }
}

fn latent(name: &str) -> usize {
    LATENTS.iter().position(|l| l.name == name).unwrap()
}

/// The latents recorded at a choice match the schedule: each arm's unchosen
/// count n and current probability 1 − (1 − p0)^(n+1), and the chosen arm's.
fn assert_choice_latents(lat: &[f64], unchosen: [usize; 2], p0: [f64; 2], a: usize) -> [f64; 2] {
    assert_eq!(lat[latent("unchosen_left")] as usize, unchosen[0]);
    assert_eq!(lat[latent("unchosen_right")] as usize, unchosen[1]);
    let probs = [lat[latent("prob_left")], lat[latent("prob_right")]];
    for arm in 0..2 {
        assert!((probs[arm] - baited_prob(p0[arm], unchosen[arm] as u32)).abs() < 1e-12);
    }
    assert_eq!(lat[latent("chosen_prob")], probs[a]);
    probs
}

/// Choices and rewards by arm and by the arm's unchosen count n = 0..6.
type Tally = [[(f64, f64); 7]; 2];

/// Tally a choice of arm `a`, then update the unchosen counts.
fn record_choice(tally: &mut Tally, unchosen: &mut [usize; 2], a: usize, reward: f32) {
    if unchosen[a] < 7 {
        let cell = &mut tally[a][unchosen[a]];
        cell.0 += 1.0;
        cell.1 += reward as f64;
    }
    unchosen[a] = 0;
    unchosen[1 - a] += 1;
}

/// Every cell's payoff rate matches 1 − (1 − p0)^(n+1) within binomial bounds.
fn assert_baiting_formula(tally: &Tally, p0: [f64; 2]) {
    for (arm, cells) in tally.iter().enumerate() {
        for (n, &(c, r)) in cells.iter().enumerate() {
            let p = 1.0 - (1.0 - p0[arm]).powi(n as i32 + 1);
            assert!(c > 300.0, "arm {arm}, n = {n}: only {c} choices");
            assert!(
                within(r, c, p),
                "arm {arm}, n = {n}: payoff {} vs {p}",
                r / c
            );
        }
    }
}

/// An arm left unchosen for n trials pays with 1 − (1 − p0)^(n+1) when chosen:
/// a random chooser (P(right) = 0.5) on a
/// fixed p0(L) = 0.1, p0(R) = 0.4; payoffs tallied by the arm's n, for n = 0..6.
#[test]
fn payoff_after_n_unchosen_trials_follows_the_baiting_formula() {
    let mut task = BaitedBandit::new(paper_config(), Phase::Test);
    let mut rng = rng_for(3, 99);
    let mut agent = rng_for(4, 99);
    let mut lat = [0.0f64; LATENTS.len()];
    let p0 = [0.1, 0.4];
    // [arm][n] -> (choices, rewards)
    let mut tally: Tally = [[(0.0, 0.0); 7]; 2];
    for _ in 0..4000 {
        task.reset_with(p0[0], 100);
        let mut unchosen = [0usize; 2];
        for t in 0..100u32 {
            assert_eq!(task.position(), (t, 0));
            let a = (agent.random::<f64>() < 0.5) as usize;
            let out = task.step(a, &mut rng, &mut lat);
            assert_eq!(out.done, t == 99);
            // The recorded state matches the schedule.
            assert_choice_latents(&lat, unchosen, p0, a);
            assert_eq!(lat[latent("p0_left")], 0.1);
            assert_eq!(
                lat[latent("heldout")],
                0.0,
                "0.1 lies in the training band [0, 0.1]"
            );
            record_choice(&mut tally, &mut unchosen, a, out.reward);
        }
    }
    assert_baiting_formula(&tally, p0);
}

/// Training draws p0(L) uniformly from the three bands and lengths from 50–100;
/// test draws p0(L) from [0, 0.5] with 100 trials, flagging the held-out gaps.
#[test]
fn train_and_test_draws_follow_their_ranges() {
    let mut rng = rng_for(5, 99);
    let mut lat = [0.0f64; LATENTS.len()];
    let mut train = BaitedBandit::new(paper_config(), Phase::Train);
    assert_eq!(train.max_steps(), 100);
    assert_eq!(train.obs_dim(), 0);
    let n = 6000;
    let (mut lens, mut bands) = (vec![0usize; 101], [0.0f64; 3]);
    for _ in 0..n {
        train.reset(&mut rng);
        let [l, r] = train.p0();
        assert!((l + r - 0.5).abs() < 1e-12);
        let band = [(0.0, 0.1), (0.2, 0.3), (0.4, 0.5)]
            .iter()
            .position(|&(lo, hi)| l >= lo && l <= hi)
            .unwrap_or_else(|| panic!("training p0(L) = {l} outside the bands"));
        bands[band] += 1.0;
        lens[train.n_trials() as usize] += 1;
        // The episode ends exactly at its drawn length.
        let len = train.n_trials();
        for t in 0..len {
            assert_eq!(train.step(0, &mut rng, &mut lat).done, t + 1 == len);
        }
    }
    assert!(lens[..50].iter().all(|&c| c == 0) && lens[50] > 0 && lens[100] > 0);
    for b in bands {
        assert!(within(b, n as f64, 1.0 / 3.0), "band shares {bands:?}");
    }
    let mut test = BaitedBandit::new(paper_config(), Phase::Test);
    let mut held = 0.0;
    for _ in 0..n {
        test.reset(&mut rng);
        assert_eq!(test.n_trials(), 100);
        let l = test.p0()[0];
        assert!((0.0..=0.5).contains(&l));
        test.step(0, &mut rng, &mut lat);
        let gap = (l > 0.1 && l < 0.2) || (l > 0.3 && l < 0.4);
        assert_eq!(lat[latent("heldout")] == 1.0, gap, "p0(L) = {l}");
        held += gap as u8 as f64;
    }
    assert!(
        within(held, n as f64, 0.4),
        "held-out share {}",
        held / n as f64
    );
}

/// With `fixation_step = true` each trial is a fixation step (cue 1, reward 0,
/// position (t, 0)) and then a choice step (cue 0, position (t, 1)). Random
/// actions at both steps, fixed p0(L) = 0.1: the fixation action never changes
/// the arms' unchosen counts (only choices do), fixation pays 0 and never ends
/// the episode, the latents of the two steps agree, and a choice of an arm left
/// unchosen for n choice trials pays with 1 − (1 − p0)^(n+1), n = 0..6.
#[test]
fn fixation_step_keeps_the_baiting_schedule_over_choice_trials() {
    let cfg = BaitedBanditConfig {
        fixation_step: true,
        ..paper_config()
    };
    let mut task = BaitedBandit::new(cfg.clone(), Phase::Test);
    assert_eq!(task.obs_dim(), 1);
    assert_eq!(task.max_steps(), 200);
    assert_eq!(
        BaitedBandit::new(cfg, Phase::Train).max_steps(),
        200,
        "training episodes are at most 100 trials, 2 steps each"
    );
    let mut rng = rng_for(3, 98);
    let mut agent = rng_for(4, 98);
    let (mut fix_lat, mut lat) = ([0.0f64; LATENTS.len()], [0.0f64; LATENTS.len()]);
    let mut obs = [f32::NAN; 1];
    let p0 = [0.1, 0.4];
    let mut tally: Tally = [[(0.0, 0.0); 7]; 2];
    let mut fixation_to_unchosen = 0usize;
    for _ in 0..4000 {
        task.reset_with(p0[0], 100);
        let mut unchosen = [0usize; 2];
        for t in 0..100u32 {
            // Fixation.
            assert_eq!(task.position(), (t, 0));
            task.observe(&mut obs);
            assert_eq!(obs, [1.0]);
            let f = (agent.random::<f64>() < 0.5) as usize;
            fixation_to_unchosen += (unchosen[f] > 0) as usize;
            let out = task.step(f, &mut rng, &mut fix_lat);
            assert_eq!(out.reward, 0.0, "fixation pays nothing");
            assert!(!out.done, "an episode never ends on a fixation step");
            // Choice.
            assert_eq!(task.position(), (t, 1));
            task.observe(&mut obs);
            assert_eq!(obs, [0.0]);
            let a = (agent.random::<f64>() < 0.5) as usize;
            let out = task.step(a, &mut rng, &mut lat);
            assert_eq!(out.done, t == 99);
            let probs = assert_choice_latents(&lat, unchosen, p0, a);
            // The fixation row carries the choice row's latents (chosen_prob
            // names the fixation action's arm there).
            for (i, l) in LATENTS.iter().enumerate() {
                if l.name == "chosen_prob" {
                    assert_eq!(fix_lat[i], probs[f]);
                } else {
                    assert_eq!(fix_lat[i], lat[i], "latent {}", l.name);
                }
            }
            record_choice(&mut tally, &mut unchosen, a, out.reward);
        }
        assert_eq!(task.position(), (100, 0));
    }
    // Fixation often "chose" an arm that had been unchosen; had it counted as a
    // choice, the counts checked above would have been reset.
    assert!(fixation_to_unchosen > 100_000, "{fixation_to_unchosen}");
    assert_baiting_formula(&tally, p0);
}

/// A whole (tiny) run with the fixation step: the trial table has two rows per
/// trial, and the analysis reads exactly the choice rows (one per trial, in
/// order, with the choice row's hidden state); the same table read as if it had
/// no fixation step is refused.
#[test]
fn fixation_step_run_is_analysed_on_choice_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let toml = tmp.path().join("s1_fix.toml");
    // The shipped experiment has the fixation step on.
    let text = base();
    assert!(text.contains("fixation_step = true"));
    std::fs::write(&toml, text).unwrap();
    let dir = run::run(&RunOptions {
        experiment: toml.to_string_lossy().into(),
        out: Some(tmp.path().join("run")),
        seeds: Some(1),
        episodes: Some(64),
        profile: Some("quick".into()),
        quiet: true,
        ..Default::default()
    })
    .unwrap();
    let written = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    assert!(written.contains("fixation_step = true"), "{written}");
    let df = read_parquet(&dir.join("trials.parquet")).unwrap();
    let col = |name: &str| -> Vec<u64> {
        df.column(name)
            .unwrap()
            .cast(&polars::prelude::DataType::UInt64)
            .unwrap()
            .u64()
            .unwrap()
            .into_no_null_iter()
            .collect()
    };
    let (sit, trial, step) = (col("step_in_trial"), col("trial"), col("step"));
    let n_eval = 100; // the quick profile's test episodes, 100 trials each
    assert_eq!(df.height(), n_eval * 100 * 2);
    for i in 0..df.height() {
        assert_eq!(sit[i], step[i] % 2);
        assert_eq!(trial[i], step[i] / 2);
    }
    let (trials, hidden) = load_trials(&df, true).unwrap();
    assert_eq!(trials.len(), n_eval * 100);
    assert_eq!(hidden.len(), 48);
    let h0: Vec<f64> = df
        .column("h_0")
        .unwrap()
        .cast(&polars::prelude::DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    let action = col("action");
    // Rows are written episode by episode, step by step: the choice rows are the odd ones.
    for (k, t) in trials.iter().enumerate().take(300) {
        assert_eq!(t.trial as usize, k % 100);
        assert_eq!(t.choice as u64, action[2 * k + 1]);
        assert_eq!(hidden[0][k], h0[2 * k + 1]);
    }
    let e = format!("{:#}", load_trials(&df, false).unwrap_err());
    assert!(e.contains("step_in_trial = 1"), "{e}");
    let o = metarl::experiments::Outcomes::read(&dir.join("outcomes.json")).unwrap();
    let rate = o.metrics["reward_per_trial"].estimate.per_seed[0];
    assert!(
        rate > 0.3,
        "reward per choice trial {rate} (fixation rows left out)"
    );
}

mod common;
use common::error_of;

fn base() -> String {
    common::experiment_text("s1_reward_history")
}

#[test]
fn the_shipped_experiment_is_valid_with_every_profile() {
    experiments::parse(&base(), "s1", None).unwrap();
    experiments::parse(&base(), "s1", Some("quick")).unwrap();
}

/// `fixation_step` defaults to false when absent; the shipped file sets it.
#[test]
fn fixation_step_key_defaults_to_off() {
    let fixation = |text: &str| match experiments::parse(text, "s1", None).unwrap().task {
        TaskConfig::BaitedBandit(t) => t.fixation_step,
        _ => panic!("not a baited bandit"),
    };
    assert!(fixation(&base()));
    let off = base().replace("fixation_step = true ", "");
    assert!(!off.contains("fixation_step = true"));
    assert!(!fixation(&off));
}

#[test]
fn invalid_baited_bandit_keys_are_named() {
    let e = error_of(&base().replace("p0_sum = 0.5", "p0_sum = 1.5"));
    assert!(e.contains("task.p0_sum") && e.contains("[0, 1]"), "{e}");
    let e = error_of(&base().replace("[0.2, 0.3], [0.4, 0.5]]", "[0.3, 0.2], [0.4, 0.5]]"));
    assert!(
        e.contains("task.train_p0_left[1]") && e.contains("low <= high"),
        "{e}"
    );
    let e = error_of(&base().replace(
        "test_p0_left = [[0.0, 0.5]]",
        "test_p0_left = [[-0.1, 0.5]]",
    ));
    assert!(
        e.contains("task.test_p0_left[0][0]") && e.contains("[0, 1]"),
        "{e}"
    );
    let e = error_of(&base().replace("test_p0_left = [[0.0, 0.5]]", "test_p0_left = [[0.0, 0.7]]"));
    assert!(
        e.contains("task.test_p0_left[0]") && e.contains("p0_sum"),
        "{e}"
    );
    let e = error_of(&base().replace("test_p0_left = [[0.0, 0.5]]", "test_p0_left = []"));
    assert!(
        e.contains("task.test_p0_left") && e.contains("at least one"),
        "{e}"
    );
    let e = error_of(&base().replace("train_trials = [50, 100]", "train_trials = [100, 50]"));
    assert!(
        e.contains("task.train_trials") && e.contains("min <= max"),
        "{e}"
    );
    let e = error_of(&base().replace("test_trials = [100, 100]", "test_trials = [0, 100]"));
    assert!(
        e.contains("task.test_trials") && e.contains("at least 1"),
        "{e}"
    );
    let e = error_of(&base().replace("test_trials = [100, 100]", "test_trials = [100]"));
    // Type errors name the field too (the task's own struct parses its keys).
    assert!(
        e.contains("bad.toml") && e.contains("task.test_trials") && e.contains("length 2"),
        "{e}"
    );
    let e = error_of(&base().replace("p0_sum = 0.5", "p0_sum = 0.5\np0_total = 0.5"));
    assert!(e.contains("p0_total"), "{e}");
    let e = error_of(&base().replace("fixation_step = true ", "fixation_step = 1 "));
    assert!(e.contains("bad.toml") && e.contains("task"), "{e}");
    let e = error_of(&base().replace("test_trials = [100, 100] ", "test_trials = [60000, 60000] "));
    assert!(
        e.contains("task.test_trials") && e.contains("fixation_step"),
        "{e}"
    );
    let e = error_of(&base().replace("shuffles = 20 ", "shuffles = 0 "));
    assert!(
        e.contains("analysis.shuffles") && e.contains("at least 1"),
        "{e}"
    );
}
