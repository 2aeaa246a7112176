//! The "plastic at test" control (issue 15): the test of `evaluate_agent`, but
//! the weights keep learning during it. After each batch of lock-step test
//! episodes is recorded, one A2C update is made on that batch exactly as in
//! training (`Trainer::learn`: `[training]`'s optimiser, learning rate, γ,
//! value and entropy costs, clipping), so later test episodes are played by
//! changed weights. With the RPE input (`agent.feedback = "rpe"`) the critic
//! that computes the input learns too, as in training, and the condition's RPE
//! manipulation is applied as in the frozen test. The optimiser state starts
//! fresh (checkpoints hold weights only). The random streams are the test's
//! (`stream::EVAL_TASK`, `stream::EVAL_POLICY`), so the task draws that do not
//! depend on the agent's actions are the frozen test's. Selected by
//! `evaluation.plastic = true`.

use crate::agent::Params;
use crate::config::{Config, TestCondition};
use crate::record::TrialTable;
use crate::train::{test_table, Trainer};

/// The test of one condition with A2C updates between its batches; `params`
/// (and the RPE input's `critic`) are copied, never changed. Cut short on
/// Ctrl-C / SIGTERM like the frozen test (the caller discards the table).
pub fn evaluate_plastic(
    cfg: &Config,
    cond: &TestCondition,
    params: &Params,
    critic: Option<&Params>,
    seed: u64,
) -> TrialTable {
    let batch = cfg.training.batch;
    let mut trainer = Trainer::for_test(cfg, cond, params, critic, seed);
    let mut table = test_table(cfg, trainer.played().tasks[0].as_ref(), params.hidden);
    let gamma = cfg.training.gamma as f32;
    let mut done = 0;
    while done < cond.episodes && crate::interrupt::requested().is_none() {
        trainer.play();
        let env = trainer.played();
        let keep = batch.min(cond.episodes - done);
        table.append_with_values(
            seed,
            done as u32,
            keep,
            &env.ro,
            &env.ws,
            env.values(),
            gamma,
        );
        done += keep;
        // Learn from the whole batch just played (as in training).
        trainer.learn();
    }
    table
}
