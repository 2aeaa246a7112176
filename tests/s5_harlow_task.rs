//! The Harlow task of Simulation 5 and its image pools, with the shipped
//! configuration (experiments/s5_harlow.toml): the pools are disjoint (no
//! pixel-identical pair, nor a near-copy, across or within them), the rewarded
//! image's side is balanced and independent of the trial, the reward rule, the
//! step structure and what each step shows. Rates are checked within binomial
//! bounds (4.5 standard errors, so a correct task fails with probability < 1e-5
//! per check).

mod common;

use metarl::tasks::harlow::{Harlow, HarlowConfig, PoolName, LATENTS};
use metarl::tasks::images::{self, rms_distance, Stimuli};
use metarl::tasks::{Phase, Task, TaskConfig};
use metarl::train::rng_for;
use rand::Rng;

fn within(count: f64, n: f64, p: f64) -> bool {
    let se = (p * (1.0 - p) / n).sqrt();
    (count / n - p).abs() < 4.5 * se
}

/// The `[task]` of the shipped experiment.
fn shipped() -> HarlowConfig {
    let text = common::experiment_text("s5_harlow");
    let table: toml::Table = toml::from_str(&text).unwrap();
    let task = table["task"].as_table().unwrap().clone();
    match TaskConfig::from_table(task).unwrap() {
        TaskConfig::Harlow(c) => c,
        other => panic!("s5_harlow has task kind {}", other.kind()),
    }
}

fn latent(name: &str) -> usize {
    LATENTS.iter().position(|l| l.name == name).unwrap()
}

#[test]
fn training_and_test_pools_never_share_an_image() {
    for stimuli in [Stimuli::Images, Stimuli::Symbols] {
        let cfg = HarlowConfig {
            stimuli,
            ..shipped()
        };
        let pools = images::build_pools(&cfg.pool_spec());
        assert!(
            pools.n_train() >= 1000,
            "training pool of {}",
            pools.n_train()
        );
        assert_eq!(pools.n_train(), cfg.train_images);
        assert_eq!(pools.n_test(), cfg.test_images);
        let all: Vec<&[f32]> = (0..pools.n_train())
            .map(|i| pools.image(false, i))
            .chain((0..pools.n_test()).map(|i| pools.image(true, i)))
            .collect();
        // No two images anywhere are pixel-identical, or closer than the minimum
        // distance (so no test image is a near-copy of a training image).
        let mut closest = f64::INFINITY;
        for i in 0..all.len() {
            for j in 0..i {
                assert_ne!(
                    all[i], all[j],
                    "{stimuli:?}: images {i} and {j} are identical"
                );
                closest = closest.min(rms_distance(all[i], all[j]));
            }
        }
        assert!(
            closest >= cfg.min_image_distance,
            "{stimuli:?}: two images at distance {closest}"
        );
        println!("{stimuli:?}: closest pair at RMS distance {closest:.3}");
    }
}

/// Training problems show training images, test problems test images (and
/// training images with `test_pool = "train"`), at the sides the latents name.
#[test]
fn each_phase_shows_its_own_pool_at_the_recorded_sides() {
    let cfg = shipped();
    let pools = images::pools(&cfg.pool_spec());
    let p = pools.pixels();
    let mut rng = rng_for(1, 90);
    let mut lat = vec![0.0; LATENTS.len()];
    for (phase, test_pool, from_test) in [
        (Phase::Train, PoolName::Test, false),
        (Phase::Test, PoolName::Test, true),
        (Phase::Test, PoolName::Train, false),
    ] {
        let mut task = Harlow::new(
            HarlowConfig {
                test_pool,
                ..cfg.clone()
            },
            phase,
        );
        let mut obs = vec![f32::NAN; task.obs_dim()];
        for _ in 0..50 {
            task.reset(&mut rng);
            for _ in 0..cfg.trials {
                // Fixation: blank screen, the cue.
                task.observe(&mut obs);
                assert!(obs[..2 * p].iter().all(|&v| v == 0.0));
                assert_eq!(obs[2 * p], 1.0);
                task.step(0, &mut rng, &mut lat);
                for _ in 0..cfg.image_steps {
                    task.observe(&mut obs);
                    assert_eq!(obs[2 * p], 0.0);
                    task.step(0, &mut rng, &mut lat);
                    for (k, name) in ["left_image", "right_image"].iter().enumerate() {
                        let img = pools.image(from_test, lat[latent(name)] as usize);
                        let shown: Vec<f32> = obs[k * p..(k + 1) * p]
                            .iter()
                            .map(|v| (v + 1.0) / 2.0)
                            .collect();
                        for (a, b) in shown.iter().zip(img) {
                            assert!((a - b).abs() < 1e-6, "{phase:?}: {name} not shown");
                        }
                    }
                    assert_eq!(lat[latent("test_pool")], from_test as u8 as f64);
                }
            }
        }
    }
}

/// Random choices: the step structure, the reward rule, and the balance of the
/// rewarded image's side (overall and on every trial), the rewarded image being
/// one of the pair and the same on every trial of a problem.
#[test]
fn rewards_positions_and_steps_follow_the_rules() {
    let cfg = shipped();
    let mut task = Harlow::new(cfg.clone(), Phase::Train);
    let spt = 1 + cfg.image_steps;
    assert_eq!(task.max_steps(), cfg.trials * spt);
    assert_eq!(task.n_actions(), 2);
    let mut rng = rng_for(2, 90);
    let mut agent = rng_for(3, 90);
    let mut lat = vec![0.0; LATENTS.len()];
    let n = 20_000;
    let mut right_by_trial = vec![0.0; cfg.trials];
    let mut first_is_rewarded = 0.0;
    let mut correct_choices = 0.0;
    for _ in 0..n {
        task.reset(&mut rng);
        let mut rewarded = None;
        let mut pair = None;
        for trial in 0..cfg.trials as u32 {
            for step in 0..spt as u32 {
                assert_eq!(task.position(), (trial, step));
                let a = agent.random_range(0..2);
                let out = task.step(a, &mut rng, &mut lat);
                let choice = step as usize == spt - 1;
                assert_eq!(lat[latent("choice_step")], choice as u8 as f64);
                assert_eq!(out.done, choice && trial as usize == cfg.trials - 1);
                let (l, r, rw) = (
                    lat[latent("left_image")],
                    lat[latent("right_image")],
                    lat[latent("rewarded_image")],
                );
                assert_ne!(l, r);
                assert!(rw == l || rw == r, "the rewarded image is on screen");
                let side = lat[latent("correct_side")];
                assert_eq!(side == 0.0, rw == l);
                // The same problem throughout the episode.
                assert_eq!(*rewarded.get_or_insert(rw), rw);
                let set = if l < r { (l, r) } else { (r, l) };
                assert_eq!(*pair.get_or_insert(set), set);
                if !choice {
                    let expect = if step == 0 { cfg.reward_fixation } else { 0.0 };
                    assert_eq!(out.reward as f64, expect);
                    continue;
                }
                let correct = a as f64 == side;
                let expect = if correct {
                    cfg.reward_correct
                } else {
                    cfg.reward_wrong
                };
                assert_eq!(out.reward as f64, expect);
                correct_choices += correct as u8 as f64;
                right_by_trial[trial as usize] += side;
            }
        }
        let (a, _, _) = task.problem();
        first_is_rewarded += (rewarded == Some(a[0] as f64)) as u8 as f64;
    }
    for (t, &r) in right_by_trial.iter().enumerate() {
        assert!(
            within(r, n as f64, 0.5),
            "trial {}: rewarded on the right in {}",
            t + 1,
            r / n as f64
        );
    }
    let total: f64 = right_by_trial.iter().sum();
    assert!(within(total, (n * cfg.trials) as f64, 0.5));
    assert!(within(first_is_rewarded, n as f64, 0.5));
    // A random chooser is right half of the time.
    assert!(within(correct_choices, (n * cfg.trials) as f64, 0.5));
}

/// The arrangement on one trial says nothing about the next: the rewarded
/// image stays on the same side from one trial to the next half of the time.
#[test]
fn the_arrangement_is_redrawn_on_every_trial() {
    let cfg = shipped();
    let mut task = Harlow::new(cfg.clone(), Phase::Test);
    let mut rng = rng_for(4, 90);
    let mut lat = vec![0.0; LATENTS.len()];
    let (mut same, mut pairs) = (0.0, 0.0);
    for _ in 0..10_000 {
        task.reset(&mut rng);
        let mut prev: Option<f64> = None;
        for _ in 0..cfg.trials {
            for _ in 0..=cfg.image_steps {
                task.step(0, &mut rng, &mut lat);
            }
            let side = lat[latent("correct_side")];
            if let Some(p) = prev {
                pairs += 1.0;
                same += (p == side) as u8 as f64;
            }
            prev = Some(side);
        }
    }
    assert!(within(same, pairs, 0.5), "same side {}", same / pairs);
}
