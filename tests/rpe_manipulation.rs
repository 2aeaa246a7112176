//! The RPE input and its test-time manipulation (`agent.feedback = "rpe"`,
//! `rpe_manipulation` of a test condition), on the Simulation 6 task with a
//! briefly trained network:
//!   * the network receives exactly the critic's previous δ (the recorded `rpe`
//!     of the previous step), plus `add` after the chosen events and nowhere else;
//!   * the conditions see the same episodes, and a manipulated run is identical
//!     to the control up to the first event of each episode;
//!   * the control condition is identical to a plain evaluation without conditions;
//!   * invalid manipulations are refused by name.

// Rows are compared across several parallel columns by index.
#![allow(clippy::needless_range_loop)]

mod common;

use metarl::config::{Config, Feedback};
use metarl::experiments;
use metarl::record::TrialTable;
use metarl::train::{self, TrainedSeed};

const SEED: u64 = 3;

fn config() -> Config {
    let mut cfg = experiments::load("s6_dopamine", Some("quick"))
        .unwrap()
        .config;
    cfg.training.episodes = 64;
    cfg.evaluation.episodes = 20;
    cfg
}

fn trained(cfg: &Config) -> TrainedSeed {
    train::train_seed(cfg, SEED, |_, _, _| {}).unwrap()
}

fn evaluate(cfg: &Config, net: &TrainedSeed, condition: &str) -> TrialTable {
    let cond = cfg
        .test_conditions()
        .unwrap()
        .into_iter()
        .find(|c| c.name.as_deref() == Some(condition))
        .unwrap();
    train::evaluate_agent(cfg, &cond, &net.params, net.critic.as_ref(), SEED)
}

fn latent<'a>(t: &'a TrialTable, name: &str) -> &'a [f64] {
    let i = t.latent_specs.iter().position(|l| l.name == name).unwrap();
    &t.latents[i]
}

/// Rows of one episode are consecutive, in step order.
fn episodes(t: &TrialTable) -> Vec<std::ops::Range<usize>> {
    let mut out = vec![];
    let mut start = 0;
    for i in 1..=t.len() {
        if i == t.len() || t.episode[i] != t.episode[start] {
            out.push(start..i);
            start = i;
        }
    }
    out
}

#[test]
fn the_network_receives_the_critics_rpe_plus_the_manipulation_only_after_events() {
    let cfg = config();
    assert_eq!(cfg.agent.feedback, Feedback::Rpe);
    let net = trained(&cfg);
    assert!(net.critic.is_some());
    let control = evaluate(&cfg, &net, "control");
    for c in &cfg.evaluation.conditions {
        let run = evaluate(&cfg, &net, &c.name);
        let input = run.rpe_input.as_ref().expect("rpe_input column");
        let (event, add) = match &c.rpe_manipulation {
            Some(m) => (Some(latent(&run, &m.event)), m.add as f32),
            None => (None, 0.0),
        };
        let mut n_events = 0;
        for ep in episodes(&run) {
            assert_eq!(input[ep.start], 0.0, "{}: first step's input", c.name);
            for row in ep.start + 1..ep.end {
                let prev = row - 1;
                let hit = event.is_some_and(|e| e[prev] != 0.0);
                n_events += hit as usize;
                let expected = if hit {
                    run.rpe[prev] + add
                } else {
                    run.rpe[prev]
                };
                assert_eq!(
                    input[row].to_bits(),
                    expected.to_bits(),
                    "{}: row {row}: input {} vs δ {} (event {hit})",
                    c.name,
                    input[row],
                    run.rpe[prev]
                );
            }
        }
        if c.rpe_manipulation.is_some() {
            assert!(n_events > 20, "{}: only {n_events} events", c.name);
        }
        // The same episodes in every condition: every draw of the task is the same.
        for name in ["risky_side", "risky_would_pay", "block_prob", "forced"] {
            assert_eq!(
                latent(&run, name),
                latent(&control, name),
                "{}: {name}",
                c.name
            );
        }
        // Identical to the control up to (and including) each episode's first event.
        if let Some(e) = event {
            for ep in episodes(&run) {
                let first = ep.clone().find(|&r| e[r] != 0.0).unwrap_or(ep.end - 1);
                for row in ep.start..=first {
                    assert_eq!(run.action[row], control.action[row], "{} row {row}", c.name);
                    assert_eq!(input[row], control.rpe_input.as_ref().unwrap()[row]);
                }
            }
        }
    }
}

#[test]
fn the_control_condition_is_a_plain_evaluation() {
    let cfg = config();
    let net = trained(&cfg);
    let control = evaluate(&cfg, &net, "control");
    let mut plain = cfg.clone();
    plain.evaluation.conditions.clear();
    let cond = plain.test_conditions().unwrap().remove(0);
    let table = train::evaluate_agent(&plain, &cond, &net.params, net.critic.as_ref(), SEED);
    assert_eq!(table.action, control.action);
    assert_eq!(table.reward, control.reward);
    assert_eq!(table.rpe, control.rpe);
    assert_eq!(table.value, control.value);
    assert_eq!(table.rpe_input, control.rpe_input);
    assert_eq!(table.latents, control.latents);
}

#[test]
fn invalid_manipulations_are_refused_by_name() {
    let text = common::experiment_text("s6_dopamine");
    let e = common::error_of(&text.replace("event = \"risky_win\"", "event = \"risky_wins\""));
    assert!(
        e.contains("rpe_manipulation.event")
            && e.contains("risky_wins")
            && e.contains("risky_win,"),
        "{e}"
    );
    let e = common::error_of(&text.replace("feedback = \"rpe\"", "feedback = \"reward\""));
    assert!(
        e.contains("rpe_manipulation") && e.contains("agent.feedback"),
        "{e}"
    );
    let e = common::error_of(&text.replace("add = 4.0", "add = nan"));
    assert!(e.contains("rpe_manipulation.add"), "{e}");
    let e = common::error_of(&text.replace("feedback = \"rpe\"", "feedback = \"dopamine\""));
    assert!(e.contains("feedback") && e.contains("rpe"), "{e}");
}

#[test]
fn the_outcome_input_is_the_reward_the_rpe_or_zero_as_configured() {
    use metarl::tasks::Phase;
    use metarl::train::{rng_for, LockStep};
    let base = experiments::load("s4_two_step", Some("quick"))
        .unwrap()
        .config;
    for mode in [Feedback::Reward, Feedback::None, Feedback::Rpe] {
        let mut cfg = base.clone();
        cfg.agent.feedback = mode;
        cfg.training.episodes = 16;
        let net = trained(&cfg);
        assert_eq!(net.critic.is_some(), mode == Feedback::Rpe);
        let mut env = LockStep::new(&cfg, Phase::Test, &net.params, net.critic.as_ref());
        env.run(
            &net.params,
            net.critic.as_ref(),
            &mut rng_for(1, 1),
            &mut rng_for(1, 2),
        );
        let (ro, bn) = (&env.ro, env.ro.batch);
        assert!(
            ro.feedback[..bn].iter().all(|&v| v == 0.0),
            "{mode}: first step"
        );
        let rows = ro.n_steps * bn;
        for row in bn..rows {
            let expected = match mode {
                Feedback::Reward => ro.rewards[row - bn],
                Feedback::None => 0.0,
                Feedback::Rpe => {
                    let cws = env.feedback.critic.as_ref().unwrap();
                    let v = cws.values();
                    metarl::agent::rpe(ro.rewards[row - bn], v[row - bn], v[row], 0.9)
                }
            };
            assert_eq!(
                ro.feedback[row].to_bits(),
                expected.to_bits(),
                "{mode} row {row}"
            );
        }
        if mode != Feedback::None {
            assert!(ro.feedback[..rows].iter().any(|&v| v != 0.0), "{mode}");
        }
    }
}
