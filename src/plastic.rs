//! The "plastic at test" control (issue 15): the test of `evaluate_agent`, but
//! the weights keep learning during it. After each batch of lock-step test
//! episodes is recorded, one A2C update is made on that batch with the training
//! optimiser and hyper-parameters (`[training]`: optimiser, learning rate, γ,
//! value and entropy costs, clipping), so later test episodes are played by
//! changed weights. The optimiser state starts fresh (checkpoints hold weights
//! only). The random streams are the test's (`stream::EVAL_TASK`,
//! `stream::EVAL_POLICY`), so the task draws that do not depend on the agent's
//! actions are the frozen test's. Selected by `evaluation.plastic = true`; not
//! available with the RPE input (its critic would have to learn too).

use crate::agent::{a2c, A2cBuffers, Optim, Params, RolloutData};
use crate::config::{Config, TestCondition};
use crate::record::TrialTable;
use crate::tasks::Phase;
use crate::train::{test_rngs, test_table, training_hyper, training_optimiser, LockStep};

/// The test of one condition with A2C updates between its batches; `params` is
/// copied, never changed.
pub fn evaluate_plastic(
    cfg: &Config,
    cond: &TestCondition,
    params: &Params,
    seed: u64,
) -> TrialTable {
    let tr = &cfg.training;
    let batch = tr.batch;
    let mut params = params.clone();
    let mut env = LockStep::with_task(cfg, &cond.task, Phase::Test, &params, None);
    let mut bufs = A2cBuffers::new(&env.ws);
    let mut grad = params.zeros_like();
    let mut opt = training_optimiser(tr, &params);
    let hyper = training_hyper(tr);
    let (mut task_rng, mut policy_rng) = test_rngs(seed);
    let mut table = test_table(cfg, env.tasks[0].as_ref(), params.hidden);
    let gamma = tr.gamma as f32;
    let mut done = 0;
    while done < cond.episodes {
        env.run(&params, None, &mut task_rng, &mut policy_rng);
        let keep = batch.min(cond.episodes - done);
        table.append_with_values(
            seed,
            done as u32,
            keep,
            &env.ro,
            &env.ws,
            &env.ws.value[..],
            gamma,
        );
        done += keep;
        // Learn from the whole batch just played (as in training).
        let ro = &env.ro;
        let data = RolloutData {
            n_steps: ro.n_steps,
            actions: &ro.actions,
            rewards: &ro.rewards,
            mask: &ro.mask,
        };
        let loss = a2c::loss_and_grad(&params, &mut env.ws, &mut bufs, &data, hyper, &mut grad);
        let norm = Optim::clip(&mut grad, tr.grad_clip);
        if loss.total.is_finite() && norm.is_finite() {
            opt.apply(&mut params, &grad);
        }
    }
    table
}
