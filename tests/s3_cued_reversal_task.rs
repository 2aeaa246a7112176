//! The cued-saccade reversal task (Simulation 3) against its definition:
//! block lengths within the range and uniform on it, reversals at block ends,
//! cue sides balanced (binomial bounds of 4.5 standard errors, so a correct task
//! fails with probability < 1e-5 per check), incorrect saccades handled as
//! documented, the reversal roles, a schedule that does not depend on the
//! agent's actions, and the validation of the keys.

use metarl::experiments;
use metarl::tasks::cued_reversal::{
    latent_index, role, CuedReversal, CuedReversalConfig, CUE, FIXATION, LATENTS, OUTCOME, SACCADE,
};
use metarl::tasks::{Task, TaskConfig};
use metarl::train::rng_for;
use rand::Rng;

mod common;
use common::error_of;

fn within(count: f64, n: f64, p: f64) -> bool {
    let se = (p * (1.0 - p) / n).sqrt().max(1e-12);
    (count / n - p).abs() < 4.5 * se
}

fn config(repeat_after_error: bool) -> CuedReversalConfig {
    CuedReversalConfig {
        trials_per_episode: 100,
        block_trials: [10, 30],
        repeat_after_error,
    }
}

/// One recorded step: position, observation, action, reward and latents.
#[derive(Debug, Clone)]
struct Step {
    trial: u32,
    stage: u32,
    obs: Vec<f32>,
    action: usize,
    reward: f32,
    lat: Vec<f64>,
    done: bool,
}

impl Step {
    fn get(&self, name: &str) -> i64 {
        self.lat[latent_index(name)] as i64
    }
}

/// Play one episode; `policy(cue, rng)` picks the saccade (other steps get a random action).
fn play(
    task: &mut CuedReversal,
    rng: &mut metarl::tasks::TaskRng,
    policy: &mut dyn FnMut(usize, &mut metarl::tasks::TaskRng) -> usize,
) -> Vec<Step> {
    task.reset(rng);
    let mut steps = vec![];
    let mut obs = vec![0.0; task.obs_dim()];
    let mut lat = vec![0.0; LATENTS.len()];
    loop {
        let (trial, stage) = task.position();
        task.observe(&mut obs);
        let action = if stage == SACCADE {
            policy(task.cue_side(), rng)
        } else {
            rng.random_range(0..2)
        };
        let out = task.step(action, rng, &mut lat);
        steps.push(Step {
            trial,
            stage,
            obs: obs.clone(),
            action,
            reward: out.reward,
            lat: lat.clone(),
            done: out.done,
        });
        if out.done {
            return steps;
        }
        assert!(steps.len() <= task.max_steps(), "episode overran max_steps");
    }
}

fn always_correct(cue: usize, _: &mut metarl::tasks::TaskRng) -> usize {
    cue
}

/// Completed blocks have a length in [10, 30], every length about equally often
/// (uniform: 1/21 each); the paying side reverses at every block boundary and
/// only there; `trials_since_reversal` counts from each block's start.
#[test]
fn blocks_have_lengths_in_the_range_and_the_paying_side_reverses_between_them() {
    let mut task = CuedReversal::new(config(true));
    let mut rng = rng_for(11, 4);
    let mut counts = [0.0f64; 31];
    let mut blocks = 0.0;
    for _ in 0..3000 {
        let steps = play(&mut task, &mut rng, &mut always_correct);
        let fix: Vec<&Step> = steps.iter().filter(|s| s.stage == FIXATION).collect();
        assert_eq!(fix.len(), 100, "100 trials per episode");
        let mut start = 0;
        for (i, s) in fix.iter().enumerate() {
            if i > 0 && s.get("block") != fix[i - 1].get("block") {
                assert_eq!(s.get("block"), fix[i - 1].get("block") + 1);
                assert_ne!(s.get("paying_side"), fix[i - 1].get("paying_side"));
                let len = i - start;
                assert_eq!(len as i64, fix[i - 1].get("block_trials"));
                assert!((10..=30).contains(&len), "block of {len} trials");
                counts[len] += 1.0;
                blocks += 1.0;
                start = i;
            } else if i > 0 {
                assert_eq!(s.get("paying_side"), fix[i - 1].get("paying_side"));
            }
            assert_eq!(s.get("trials_since_reversal") as usize, i - start);
            assert!((10..=30).contains(&s.get("block_trials")));
        }
    }
    assert!(blocks > 10_000.0, "{blocks} completed blocks");
    for (len, &c) in counts.iter().enumerate().skip(10) {
        assert!(
            within(c, blocks, 1.0 / 21.0),
            "block length {len}: {} of blocks",
            c / blocks
        );
    }
}

/// Left and right cues are equally frequent, overall and within each paying
/// side, so the cued side pays on half the trials; the cue of a trial does not
/// depend on the previous trial's cue.
#[test]
fn cue_sides_are_balanced() {
    let mut task = CuedReversal::new(config(true));
    let mut rng = rng_for(12, 4);
    let (mut n, mut right, mut pays, mut repeats) = (0.0, 0.0, 0.0, 0.0);
    let mut right_given = [(0.0, 0.0); 2];
    for _ in 0..1000 {
        let steps = play(&mut task, &mut rng, &mut always_correct);
        let mut prev: Option<i64> = None;
        for s in steps.iter().filter(|s| s.stage == FIXATION) {
            let cue = s.get("cue_side");
            n += 1.0;
            right += cue as f64;
            pays += s.get("cue_pays") as f64;
            assert_eq!(s.get("cue_pays"), (cue == s.get("paying_side")) as i64);
            let cell = &mut right_given[s.get("paying_side") as usize];
            cell.0 += 1.0;
            cell.1 += cue as f64;
            if let Some(p) = prev {
                repeats += (p == cue) as u8 as f64;
            }
            prev = Some(cue);
        }
    }
    assert!(within(right, n, 0.5), "P(cue right) = {}", right / n);
    assert!(within(pays, n, 0.5), "P(cued side pays) = {}", pays / n);
    for (side, (m, r)) in right_given.iter().enumerate() {
        assert!(
            within(*r, *m, 0.5),
            "P(cue right | side {side} pays) = {}",
            r / m
        );
    }
    assert!(within(repeats, n - 1000.0, 0.5), "P(same cue as before)");
}

/// The four steps of a correct trial: observations as documented, the action
/// counts only at the saccade, which pays 1 exactly when the cued side pays, and
/// the outcome step follows it with no reward.
#[test]
fn correct_trials_have_four_steps_and_pay_when_the_cued_side_pays() {
    let mut task = CuedReversal::new(config(true));
    let mut rng = rng_for(13, 4);
    for _ in 0..200 {
        let steps = play(&mut task, &mut rng, &mut always_correct);
        assert_eq!(steps.len(), 400);
        for (i, s) in steps.iter().enumerate() {
            assert_eq!(s.stage as usize, i % 4);
            assert_eq!(s.trial as usize, i / 4);
            assert_eq!(s.get("step_type"), s.stage as i64);
            assert_eq!(s.get("correction"), 0);
            let cue = s.get("cue_side") as usize;
            let mut target = [0.0; 2];
            target[cue] = 1.0;
            let expected = match s.stage {
                FIXATION => vec![1.0, 0.0, 0.0],
                CUE => vec![1.0, target[0], target[1]],
                SACCADE => vec![0.0, target[0], target[1]],
                _ => vec![0.0, 0.0, 0.0],
            };
            assert_eq!(s.obs, expected, "step {i}");
            if s.stage == SACCADE {
                assert_eq!(s.reward, s.get("cue_pays") as f32);
                assert_eq!(s.get("correct"), 1);
            } else {
                assert_eq!(s.reward, 0.0);
            }
            let correct_known = s.stage == SACCADE || s.stage == OUTCOME;
            assert_eq!(s.get("correct"), if correct_known { 1 } else { -1 });
            assert_eq!(s.done, i == 399);
        }
    }
}

/// An incorrect saccade gets no reward and ends the trial at once (no outcome
/// step); with `repeat_after_error` the next trial shows the same cue and is
/// marked as a correction trial; without it the next trial shows its own drawn cue.
#[test]
fn incorrect_saccades_get_nothing_end_the_trial_and_repeat_the_cue() {
    for repeat in [true, false] {
        let mut task = CuedReversal::new(config(repeat));
        let mut rng = rng_for(14, 4);
        let (mut errors, mut paying_errors) = (0, 0);
        for _ in 0..100 {
            // Wrong on about a third of the saccades.
            let mut policy = |cue: usize, r: &mut metarl::tasks::TaskRng| {
                if r.random::<f64>() < 0.33 {
                    1 - cue
                } else {
                    cue
                }
            };
            let steps = play(&mut task, &mut rng, &mut policy);
            let drawn = task.drawn_cues().to_vec();
            for (i, s) in steps.iter().enumerate() {
                if s.stage != SACCADE {
                    continue;
                }
                let cue = s.get("cue_side") as usize;
                if s.action == cue {
                    assert_eq!(s.get("correct"), 1);
                    if !s.done {
                        assert_eq!(steps[i + 1].stage, OUTCOME);
                    }
                    continue;
                }
                errors += 1;
                paying_errors += s.get("cue_pays");
                assert_eq!(s.get("correct"), 0);
                assert_eq!(s.reward, 0.0, "an incorrect saccade gets no reward");
                if s.done {
                    continue;
                }
                let next = &steps[i + 1];
                assert_eq!((next.trial, next.stage), (s.trial + 1, FIXATION));
                if repeat {
                    assert_eq!(next.get("correction"), 1);
                    assert_eq!(next.get("cue_side") as usize, cue);
                } else {
                    assert_eq!(next.get("correction"), 0);
                    assert_eq!(
                        next.get("cue_side") as usize,
                        drawn[next.trial as usize] as usize
                    );
                }
            }
            // Trials are counted whether correct or not.
            assert_eq!(steps.last().unwrap().trial, 99);
        }
        assert!(errors > 2000 && paying_errors > 800, "{errors} errors");
    }
}

/// `reversal_role` and `became_rewarded` follow their definitions, and the
/// experienced and inferred cues are equally frequent on the trial after the
/// first trial of a reversal.
#[test]
fn reversal_roles_mark_the_trials_around_each_reversal() {
    let mut task = CuedReversal::new(config(true));
    let mut rng = rng_for(15, 4);
    let mut n = [0.0f64; 6];
    for _ in 0..2000 {
        let mut policy = |cue: usize, r: &mut metarl::tasks::TaskRng| {
            if r.random::<f64>() < 0.05 {
                1 - cue
            } else {
                cue
            }
        };
        let steps = play(&mut task, &mut rng, &mut policy);
        let trials: Vec<Vec<&Step>> = (0..100)
            .map(|t| steps.iter().filter(|s| s.trial == t).collect())
            .collect();
        for (t, rows) in trials.iter().enumerate() {
            let s = rows[0];
            // The same on every step of the trial.
            for r in rows {
                assert_eq!(r.get("reversal_role"), s.get("reversal_role"));
                assert_eq!(r.get("became_rewarded"), s.get("became_rewarded"));
            }
            let (block, since) = (s.get("block"), s.get("trials_since_reversal"));
            let last_of_block = since + 1 == s.get("block_trials");
            let expected = if block > 0 && since == 0 {
                role::FIRST
            } else if block > 0 && since == 1 {
                let first = trials[t - 1][0];
                let first_correct = trials[t - 1]
                    .iter()
                    .find(|r| r.stage == SACCADE)
                    .map(|r| r.get("correct"))
                    .unwrap();
                if first_correct == 0 {
                    role::AFTER_ERROR
                } else if first.get("cue_side") == s.get("cue_side") {
                    role::EXPERIENCED
                } else {
                    role::INFERRED
                }
            } else if last_of_block && t < 99 {
                role::BEFORE
            } else {
                role::OTHER
            };
            assert_eq!(s.get("reversal_role"), expected, "trial {t}");
            n[expected as usize] += 1.0;
            let pays_now = s.get("cue_pays") == 1;
            let became = match expected {
                role::OTHER => -1,
                role::BEFORE => (!pays_now) as i64,
                _ => pays_now as i64,
            };
            assert_eq!(s.get("became_rewarded"), became);
        }
    }
    let next = n[role::EXPERIENCED as usize] + n[role::INFERRED as usize];
    assert!(within(n[role::INFERRED as usize], next, 0.5));
    // About 4 reversals per 100-trial episode with 10–30-trial blocks.
    assert!(n[role::FIRST as usize] > 3.0 * 2000.0, "{n:?}");
}

/// The schedule (paying sides, block lengths, drawn cues) is drawn at reset, so
/// two agents with different saccades see the same schedule from the same seed.
#[test]
fn the_schedule_does_not_depend_on_the_actions() {
    let mut a = CuedReversal::new(config(true));
    let mut b = CuedReversal::new(config(true));
    let (mut ra, mut rb) = (rng_for(16, 4), rng_for(16, 4));
    for _ in 0..20 {
        let sa = play(&mut a, &mut ra, &mut always_correct);
        let mut wrong = |cue: usize, r: &mut metarl::tasks::TaskRng| {
            if r.random::<f64>() < 0.5 {
                1 - cue
            } else {
                cue
            }
        };
        let sb = play(&mut b, &mut rb, &mut wrong);
        assert_eq!(a.block_lengths(), b.block_lengths());
        assert_eq!(a.drawn_cues(), b.drawn_cues());
        let paying = |s: &[Step]| -> Vec<i64> {
            s.iter()
                .filter(|s| s.stage == FIXATION)
                .map(|s| s.get("paying_side"))
                .collect()
        };
        assert_eq!(paying(&sa), paying(&sb));
        // Keep the two RNG streams aligned: the saccade policies drew different
        // numbers of random values, so re-seed both for the next episode.
        let seed = sa.len() as u64;
        ra = rng_for(seed, 4);
        rb = rng_for(seed, 4);
    }
}

fn base() -> String {
    common::experiment_text("s3_inferred_value")
}

#[test]
fn the_shipped_experiment_is_valid_with_every_profile() {
    experiments::parse(&base(), "s3", None).unwrap();
    let quick = experiments::parse(&base(), "s3", Some("quick")).unwrap();
    match &quick.task {
        TaskConfig::CuedReversal(t) => assert_eq!(t.block_trials, [10, 30]),
        _ => panic!("not the cued reversal task"),
    }
    let conditions = quick.test_conditions().unwrap();
    assert_eq!(conditions.len(), 2);
    assert_eq!(conditions[1].seeds, 1);
}

#[test]
fn invalid_keys_are_named() {
    let e = error_of(&base().replace("block_trials = [10, 30]", "block_trials = [30, 10]"));
    assert!(
        e.contains("task.block_trials") && e.contains("min <= max"),
        "{e}"
    );
    let e = error_of(&base().replace("block_trials = [10, 30]", "block_trials = [0, 30]"));
    assert!(
        e.contains("task.block_trials") && e.contains("at least 1"),
        "{e}"
    );
    let e = error_of(&base().replace("trials_per_episode = 100", "trials_per_episode = 0"));
    assert!(e.contains("task.trials_per_episode"), "{e}");
    let e = error_of(&base().replace("repeat_after_error = true", "repeat_after_error = 1"));
    assert!(
        e.contains("task") && e.contains("repeat_after_error"),
        "{e}"
    );
    let e = error_of(&base().replace("repeat_after_error = true", "repeat_after_eror = true"));
    assert!(e.contains("repeat_after_eror"), "{e}");
    let e = error_of(&base().replace("test_condition = \"test\"", "test_condition = \"tset\""));
    assert!(
        e.contains("analysis.test_condition") && e.contains("tset"),
        "{e}"
    );
    let e = error_of(&base().replace("record_hidden = true", "record_hidden = false"));
    assert!(e.contains("evaluation.record_hidden"), "{e}");
    let e = error_of(&base().replace("decoder_folds = 5", "decoder_folds = 1"));
    assert!(e.contains("analysis.decoder_folds"), "{e}");
    let e = error_of(&base().replace("pca_points = 400", "pca_point = 400"));
    assert!(e.contains("pca_point"), "{e}");
}
