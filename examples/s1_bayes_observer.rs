//! A reference agent for Simulation 1: what reward/choice kernel does a good
//! learner show on this baited schedule? The agent (`BayesObserver`, also one
//! of `metarl references s1_reward_history`) is Bayesian about p0(L)
//! (uniform prior on [0, p0_sum], a 201-point grid), knows the baiting rule and
//! its own choice history (one step per trial; the fixation step is turned
//! off), and chooses with a softmax of inverse temperature β
//! on the two arms' posterior expected reward probabilities. It plays the test
//! episodes of `experiments/s1_reward_history.toml` (8 groups × 300 episodes,
//! like 8 seeds) and is analysed with the network's own history regression.
//!
//!     cargo run --release --example s1_bayes_observer

use anyhow::{bail, Result};
use metarl::experiments;
use metarl::experiments::s1_reward_history::reference_agents::BayesObserver;
use metarl::experiments::s1_reward_history::{history_weights, matching, Trial};
use metarl::references::BanditLearner;
use metarl::stats::bootstrap_mean;
use metarl::tasks::baited_bandit::{LATENTS, RIGHT};
use metarl::tasks::TaskConfig;
use metarl::tasks::{make_task, Phase};
use metarl::train::rng_for;
use rand::Rng;

const GROUPS: u64 = 8;
const EPISODES: u32 = 300;

fn main() -> Result<()> {
    let mut cfg = experiments::load("s1_reward_history", None)?.config;
    let TaskConfig::BaitedBandit(task_cfg) = &mut cfg.task else {
        bail!("s1_reward_history is not a baited-bandit experiment");
    };
    // The agent plays the schedule itself: one step per trial, no fixation step.
    task_cfg.fixation_step = false;
    let task_cfg = task_cfg.clone();
    let sum = task_cfg.p0_sum;
    let latent = |name: &str| LATENTS.iter().position(|l| l.name == name).unwrap();
    let (i_prob, i_held) = (latent("chosen_prob"), latent("heldout"));
    let an: metarl::experiments::s1_reward_history::Analysis =
        experiments::settings(&cfg.analysis.settings, "analysis")?;
    let lags = an.lags;
    println!("β     reward weights, lags 1-6                 choice weights, lags 1-6                 lag1−lag5 [95% CI]      slope  reward/trial");
    for beta in [5.0, 10.0, 20.0, 40.0] {
        let (mut rw, mut cw, mut decay, mut slope, mut reward) =
            (vec![], vec![], vec![], vec![], vec![]);
        for group in 0..GROUPS {
            let mut task = make_task(&cfg.task, Phase::Test);
            let mut rng = rng_for(100 + group, 1);
            let mut agent_rng = rng_for(100 + group, 2);
            let mut lat = vec![0.0; LATENTS.len()];
            let mut observer = BayesObserver::new(sum, beta);
            let mut trials = vec![];
            for episode in 0..EPISODES {
                task.reset(&mut rng);
                observer.reset();
                let mut t = 0;
                loop {
                    let p_right = observer.choice_probs()[RIGHT];
                    let a = (agent_rng.random::<f64>() < p_right) as usize;
                    let out = task.step(a, &mut rng, &mut lat);
                    let r = out.reward > 0.5;
                    observer.observe(a, r);
                    trials.push(Trial {
                        seed: group,
                        episode,
                        trial: t,
                        choice: a as u32,
                        rewarded: r,
                        chosen_prob: lat[i_prob],
                        heldout: lat[i_held] == 1.0,
                    });
                    t += 1;
                    if out.done {
                        break;
                    }
                }
            }
            let (w_r, w_c) = history_weights(&trials, lags, an.logistic_l2)?;
            decay.push(w_r[0] - w_r[4]);
            rw.push(w_r);
            cw.push(w_c);
            slope.push(matching(&trials).slope);
            reward.push(trials.iter().filter(|t| t.rewarded).count() as f64 / trials.len() as f64);
        }
        let mean_at =
            |w: &[Vec<f64>], k: usize| w.iter().map(|v| v[k]).sum::<f64>() / w.len() as f64;
        let fmt = |w: &[Vec<f64>]| {
            (0..6)
                .map(|k| format!("{:6.2}", mean_at(w, k)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let d = bootstrap_mean(&decay, 10_000, 1);
        println!(
            "{beta:<5} {}   {}   {:6.3} [{:.3}, {:.3}]   {:.3}  {:.3}",
            fmt(&rw),
            fmt(&cw),
            d.mean,
            d.ci_low,
            d.ci_high,
            slope.iter().sum::<f64>() / slope.len() as f64,
            reward.iter().sum::<f64>() / reward.len() as f64
        );
    }
    Ok(())
}
