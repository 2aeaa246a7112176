//! Training throughput of the two-step agent at paper settings (48 units,
//! 100-trial episodes, the TOML's batch), on one core: rollout, A2C loss,
//! backpropagation through time and optimiser step. Criterion reports time per
//! update; env steps per second = batch × 200 / that time (also printed by
//! `metarl bench`).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use metarl::agent::{a2c, A2cBuffers, A2cHyper, Optim, Params, RolloutData, Workspace};
use metarl::config;
use metarl::tasks::{make_task, Phase, Task};
use metarl::train::{input_dim, rng_for, run_episodes, Rollout};

fn two_step_update(c: &mut Criterion) {
    let cfg = config::load("s4_two_step", None)
        .expect("experiment file")
        .config;
    let batch = cfg.training.batch;
    let mut tasks: Vec<Box<dyn Task>> = (0..batch)
        .map(|_| make_task(&cfg.task, Phase::Train))
        .collect();
    let n_in = input_dim(tasks[0].as_ref(), false);
    let mut params = Params::init(n_in, cfg.agent.hidden, 2, &mut rng_for(1, 1));
    let mut grad = params.zeros_like();
    let mut ws = Workspace::new(&params, batch, tasks[0].max_steps());
    let mut bufs = A2cBuffers::new(&ws);
    let mut ro = Rollout::new(tasks[0].as_ref(), batch, false);
    let tr = &cfg.training;
    let mut opt = Optim::new(
        tr.optimizer,
        tr.learning_rate,
        tr.rmsprop_decay,
        tr.optimizer_eps,
        &params,
    );
    let hyper = A2cHyper {
        gamma: 0.9,
        value_cost: 0.05,
        entropy_cost: 0.05,
    };
    let (mut task_rng, mut policy_rng) = (rng_for(1, 2), rng_for(1, 3));
    let mut group = c.benchmark_group("two_step");
    group.throughput(Throughput::Elements((batch * tasks[0].max_steps()) as u64));
    group.bench_function("a2c_update_env_steps", |b| {
        b.iter(|| {
            run_episodes(
                &params,
                &mut ws,
                &mut tasks,
                &mut ro,
                &mut task_rng,
                &mut policy_rng,
                false,
            );
            let data = RolloutData {
                n_steps: ro.n_steps,
                actions: &ro.actions,
                rewards: &ro.rewards,
                mask: &ro.mask,
            };
            a2c::loss_and_grad(&params, &mut ws, &mut bufs, &data, hyper, &mut grad);
            Optim::clip(&mut grad, tr.grad_clip);
            opt.apply(&mut params, &grad);
        })
    });
    group.finish();
}

criterion_group!(benches, two_step_update);
criterion_main!(benches);
