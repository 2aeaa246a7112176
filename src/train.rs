//! Batched lock-step rollouts, A2C updates, and frozen-weight evaluation for one seed.
//!
//! B episodes run in lock-step; each update averages their losses. The hot loop
//! (rollout + backward + optimiser) uses buffers allocated once per seed and
//! neither allocates nor logs.

use crate::agent::{
    self, a2c, critic, A2cBuffers, A2cHyper, CriticWorkspace, EncoderParams, Optim, Params,
    RolloutData, Workspace,
};
use crate::config::{Config, Feedback, TestCondition, TrainingConfig};
use crate::record::TrialTable;
use crate::tasks::{make_task, Phase, Task, TaskConfig, TaskRng};
use anyhow::{bail, Result};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use std::path::PathBuf;
use std::time::Instant;

mod checkpoint;

/// One RNG stream per seed and purpose, so that e.g. changing the evaluation
/// does not change training, and results do not depend on thread scheduling.
pub mod stream {
    pub const INIT: u64 = 1;
    pub const TRAIN_TASK: u64 = 2;
    pub const TRAIN_POLICY: u64 = 3;
    pub const EVAL_TASK: u64 = 4;
    pub const EVAL_POLICY: u64 = 5;
    /// The critic's initialisation (`agent.feedback = "rpe"` only).
    pub const CRITIC_INIT: u64 = 6;
    /// Reference agents' own randomness (e.g. Thompson samples), beside the
    /// test's task and policy streams (`references`).
    pub const REFERENCE: u64 = 7;
}

pub fn rng_for(seed: u64, purpose: u64) -> TaskRng {
    let mut rng = TaskRng::seed_from_u64(seed);
    rng.set_stream(purpose);
    rng
}

/// Network input at step t: [observation, one-hot previous action, previous
/// outcome, (optional) t / max_steps]. The previous outcome is the previous
/// reward, or per `agent.feedback` the previous RPE or zero. Previous action and
/// outcome are zero at the start of every episode.
pub fn input_dim(task: &dyn Task, time_input: bool) -> usize {
    task.obs_dim() + task.n_actions() + 1 + time_input as usize
}

/// The initial parameters of a network for `task`: the LSTM and heads, and the
/// image encoder if the config asks for one (drawn after them from the same
/// stream, so that networks without an encoder are unchanged).
pub fn init_params(cfg: &Config, task: &dyn Task, rng: &mut TaskRng) -> Params {
    let raw = input_dim(task, cfg.agent.time_input);
    let layout = task.image_layout();
    match (&cfg.agent.encoder, layout) {
        (Some(e), Some(img)) => {
            let n_in = raw - img.count * img.pixels() + img.count * e.features;
            let mut p = Params::init(n_in, cfg.agent.hidden, task.n_actions(), rng);
            p.encoder = Some(EncoderParams::init(
                img.count,
                img.pixels(),
                e.hidden,
                e.features,
                rng,
            ));
            p
        }
        _ => Params::init(raw, cfg.agent.hidden, task.n_actions(), rng),
    }
}

/// Everything one batch of lock-step episodes produced, row `t * B + b`.
pub struct Rollout {
    pub batch: usize,
    pub n_steps: usize,
    pub x: Array2<f32>,
    pub actions: Vec<usize>,
    pub rewards: Vec<f32>,
    pub mask: Vec<f32>,
    pub obs: Vec<f32>,
    pub position: Vec<(u32, u32)>,
    pub latents: Vec<f64>,
    /// What the network received in its previous-outcome input at each step:
    /// the previous reward, RPE (with any test manipulation added) or zero.
    pub feedback: Vec<f32>,
    obs_dim: usize,
    n_latents: usize,
}

impl Rollout {
    pub fn new(task: &dyn Task, batch: usize, time_input: bool) -> Self {
        let rows = batch * task.max_steps();
        Rollout {
            batch,
            n_steps: 0,
            x: Array2::zeros((batch, input_dim(task, time_input))),
            actions: vec![0; rows],
            rewards: vec![0.0; rows],
            mask: vec![0.0; rows],
            obs: vec![0.0; rows * task.obs_dim()],
            position: vec![(0, 0); rows],
            latents: vec![0.0; rows * task.latents().len()],
            feedback: vec![0.0; rows],
            obs_dim: task.obs_dim(),
            n_latents: task.latents().len(),
        }
    }

    pub fn obs_row(&self, row: usize) -> &[f32] {
        &self.obs[row * self.obs_dim..(row + 1) * self.obs_dim]
    }
    pub fn latent_row(&self, row: usize) -> &[f64] {
        &self.latents[row * self.n_latents..(row + 1) * self.n_latents]
    }

    /// Network steps taken (rows of running episodes) and trials started
    /// (those steps that are the first of a trial).
    pub fn counts(&self) -> (u64, u64) {
        let rows = self.n_steps * self.batch;
        let mut steps = 0;
        let mut trials = 0;
        for (m, pos) in self.mask[..rows].iter().zip(&self.position[..rows]) {
            if *m > 0.0 {
                steps += 1;
                trials += (pos.1 == 0) as u64;
            }
        }
        (steps, trials)
    }
}

/// Sample an action from a policy with one uniform draw.
pub fn sample(probs: &[f32], rng: &mut TaskRng) -> usize {
    let u: f32 = rng.random();
    let mut acc = 0.0;
    for (k, &p) in probs.iter().enumerate() {
        acc += p;
        if u < acc {
            return k;
        }
    }
    probs.len() - 1
}

/// The network's previous-outcome input (`agent.feedback`) and what producing
/// it needs: for the RPE input, the critic's buffers, γ and a test condition's
/// manipulation.
pub struct FeedbackInput {
    pub mode: Feedback,
    /// The critic's forward and backward buffers (mode "rpe" only).
    pub critic: Option<CriticWorkspace>,
    pub gamma: f32,
    /// Test manipulation of the RPE input: (latent column of the event, value
    /// added to the RPE the network receives after each step where it is non-zero).
    pub manipulation: Option<(usize, f32)>,
}

/// Run one batch of episodes to completion with parameters `p` (and, for the
/// RPE input, the critic's `critic`; neither is changed).
///
/// Each step t: every running episode's input row is built, [observation,
/// one-hot previous action, previous reward, time]; for the RPE input the
/// critic first reads that row (so it sees the reward, never the RPE), which
/// gives v_t and so δ_{t−1} = r_{t−1} + γ v_t − v_{t−1}; the reward slot is then
/// overwritten with δ_{t−1} (plus the manipulation after an event) for the
/// actor. The actor steps, samples its actions, and the tasks step.
#[allow(clippy::too_many_arguments)]
pub fn run_episodes(
    p: &Params,
    critic: Option<&Params>,
    ws: &mut Workspace,
    fb: &mut FeedbackInput,
    tasks: &mut [Box<dyn Task>],
    ro: &mut Rollout,
    task_rng: &mut TaskRng,
    policy_rng: &mut TaskRng,
    time_input: bool,
) {
    let b_n = tasks.len();
    let max_steps = tasks[0].max_steps();
    let n_act = tasks[0].n_actions();
    let obs_dim = tasks[0].obs_dim();
    let slot = obs_dim + n_act;
    let mut alive = [true; 256];
    for task in tasks.iter_mut() {
        task.reset(task_rng);
    }
    let mut t = 0;
    while t < max_steps && alive[..b_n].iter().any(|&a| a) {
        for b in 0..b_n {
            let mut x = ro.x.row_mut(b);
            let x = x.as_slice_mut().unwrap();
            x.fill(0.0);
            if !alive[b] {
                continue;
            }
            tasks[b].observe(&mut x[..obs_dim]);
            if t > 0 {
                let prev = (t - 1) * b_n + b;
                x[obs_dim + ro.actions[prev]] = 1.0;
                // The critic (RPE input) reads the reward too; "none" reads nothing.
                if fb.mode != Feedback::None {
                    x[slot] = ro.rewards[prev];
                }
            }
            if time_input {
                x[obs_dim + n_act + 1] = t as f32 / max_steps as f32;
            }
            let row = t * b_n + b;
            ro.obs[row * obs_dim..(row + 1) * obs_dim].copy_from_slice(&x[..obs_dim]);
        }
        if let Some(cws) = fb.critic.as_mut() {
            let cp = critic.expect("the RPE input needs the critic's parameters");
            cws.forward_step(cp, t, ro.x.view());
            for (b, _) in alive[..b_n].iter().enumerate().filter(|(_, &a)| a && t > 0) {
                let prev = (t - 1) * b_n + b;
                let mut delta = agent::rpe(
                    ro.rewards[prev],
                    cws.value(t - 1, b),
                    cws.value(t, b),
                    fb.gamma,
                );
                if let Some((event, add)) = fb.manipulation {
                    if ro.latent_row(prev)[event] != 0.0 {
                        delta += add;
                    }
                }
                ro.x[[b, slot]] = delta;
            }
        }
        for b in 0..b_n {
            ro.feedback[t * b_n + b] = ro.x[[b, slot]];
        }
        ws.forward_step(p, t, ro.x.view());
        for b in 0..b_n {
            let row = t * b_n + b;
            if !alive[b] {
                ro.mask[row] = 0.0;
                ro.rewards[row] = 0.0;
                ro.actions[row] = 0;
                continue;
            }
            let a = sample(ws.policy(t, b), policy_rng);
            ro.position[row] = tasks[b].position();
            let nl = ro.n_latents;
            let out = tasks[b].step(a, task_rng, &mut ro.latents[row * nl..(row + 1) * nl]);
            ro.actions[row] = a;
            ro.rewards[row] = out.reward;
            ro.mask[row] = 1.0;
            if out.done {
                alive[b] = false;
            }
        }
        t += 1;
    }
    ro.n_steps = t;
}

/// One row of training.parquet.
#[derive(Debug, Clone, Copy)]
pub struct UpdateRow {
    pub update: u32,
    pub episodes: u64,
    pub mean_episode_reward: f64,
    pub policy_loss: f64,
    pub value_loss: f64,
    pub entropy: f64,
    pub grad_norm: f64,
    pub env_steps_per_sec: f64,
}

pub struct TrainedSeed {
    pub seed: u64,
    pub params: Params,
    /// The critic of the RPE input (`agent.feedback = "rpe"`), else None.
    pub critic: Option<Params>,
    /// The weights at each declared `evaluation.stages` entry (training
    /// episodes, weights), in order; empty without stages.
    pub snapshots: Vec<(usize, Params)>,
    pub curve: Vec<UpdateRow>,
    /// Network steps and task trials of training.
    pub env_steps: u64,
    pub trials: u64,
    pub seconds: f64,
}

/// B task instances for lock-step episodes, with the workspace and rollout buffers sized for them.
pub struct LockStep {
    pub tasks: Vec<Box<dyn Task>>,
    pub ws: Workspace,
    pub ro: Rollout,
    pub time_input: bool,
    /// The previous-outcome input (and, for the RPE input, the critic's buffers).
    pub feedback: FeedbackInput,
}

impl LockStep {
    /// For the RPE input (`agent.feedback = "rpe"`), `critic` must be the critic's
    /// parameters (it sizes the critic's buffers).
    pub fn new(cfg: &Config, phase: Phase, params: &Params, critic: Option<&Params>) -> Self {
        Self::with_task(cfg, &cfg.task, phase, params, critic)
    }

    /// As `new`, with another task config (a test condition's).
    pub fn with_task(
        cfg: &Config,
        task: &TaskConfig,
        phase: Phase,
        params: &Params,
        critic: Option<&Params>,
    ) -> Self {
        let batch = cfg.training.batch;
        let tasks: Vec<Box<dyn Task>> = (0..batch).map(|_| make_task(task, phase)).collect();
        let max_steps = tasks[0].max_steps();
        let ws = Workspace::new(params, batch, max_steps);
        let ro = Rollout::new(tasks[0].as_ref(), batch, cfg.agent.time_input);
        let critic = match cfg.agent.feedback {
            Feedback::Rpe => {
                let cp = critic.expect("agent.feedback = \"rpe\" needs the critic's parameters");
                Some(CriticWorkspace::new(cp, batch, max_steps))
            }
            _ => None,
        };
        LockStep {
            tasks,
            ws,
            ro,
            time_input: cfg.agent.time_input,
            feedback: FeedbackInput {
                mode: cfg.agent.feedback,
                critic,
                gamma: cfg.training.gamma as f32,
                manipulation: None,
            },
        }
    }

    /// The lock-step episodes of one test condition: its task and its RPE
    /// manipulation (if any).
    pub fn for_condition(
        cfg: &Config,
        cond: &TestCondition,
        params: &Params,
        critic: Option<&Params>,
    ) -> Self {
        let mut env = Self::with_task(cfg, &cond.task, Phase::Test, params, critic);
        if let Some(m) = &cond.rpe_manipulation {
            // Validated with the config: the event is one of the task's latents.
            let event = env.tasks[0]
                .latents()
                .iter()
                .position(|l| l.name == m.event)
                .expect("validated manipulation event");
            env.feedback.manipulation = Some((event, m.add as f32));
        }
        env
    }

    /// The values of the batch just run: the critic's with the RPE input (its
    /// value and RPE are what trials.parquet records), else the network's.
    pub fn values(&self) -> &[f32] {
        match &self.feedback.critic {
            Some(cws) => cws.values(),
            None => &self.ws.value[..],
        }
    }

    /// Run one batch of episodes with `params` (and the RPE input's `critic`);
    /// neither is changed.
    pub fn run(
        &mut self,
        params: &Params,
        critic: Option<&Params>,
        task_rng: &mut TaskRng,
        policy_rng: &mut TaskRng,
    ) {
        run_episodes(
            params,
            critic,
            &mut self.ws,
            &mut self.feedback,
            &mut self.tasks,
            &mut self.ro,
            task_rng,
            policy_rng,
            self.time_input,
        );
    }
}

/// What one update did.
#[derive(Debug, Clone, Copy)]
pub struct UpdateStats {
    pub loss: a2c::LossStats,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Network steps and trials of this update's episodes.
    pub env_steps: u64,
    pub trials: u64,
    pub total_reward: f64,
}

/// The whole training state of one seed: parameters, optimiser, buffers and
/// RNG streams. `update` is one A2C step: a batch of lock-step episodes, the
/// loss and its gradient, clipping, and the optimiser.
pub struct Trainer {
    pub params: Params,
    /// The critic of the RPE input (`agent.feedback = "rpe"`), its gradient and optimiser.
    pub critic: Option<Params>,
    critic_grad: Option<Params>,
    critic_opt: Option<Optim>,
    grad: Params,
    opt: Optim,
    bufs: A2cBuffers,
    env: LockStep,
    hyper: A2cHyper,
    /// Weight of the RPE input's critic loss (`training.critic_cost`).
    critic_cost: f32,
    grad_clip: f64,
    task_rng: TaskRng,
    policy_rng: TaskRng,
}

/// The network's weights before training (the seed's initialisation stream)
/// and the RPE input's critic (its own stream; `agent.feedback = "rpe"` only).
pub fn initial_params(cfg: &Config, seed: u64) -> (Params, Option<Params>) {
    let probe = make_task(&cfg.task, Phase::Train);
    let params = init_params(cfg, probe.as_ref(), &mut rng_for(seed, stream::INIT));
    // The critic reads the same input as the standard agent (the reward, never the RPE).
    let n_in = input_dim(probe.as_ref(), cfg.agent.time_input);
    let critic = cfg
        .agent
        .critic_units()
        .map(|h| critic::init(n_in, h, &mut rng_for(seed, stream::CRITIC_INIT)));
    (params, critic)
}

impl Trainer {
    pub fn new(cfg: &Config, seed: u64) -> Self {
        let (params, critic) = initial_params(cfg, seed);
        let env = LockStep::new(cfg, Phase::Train, &params, critic.as_ref());
        let rngs = (
            rng_for(seed, stream::TRAIN_TASK),
            rng_for(seed, stream::TRAIN_POLICY),
        );
        Self::assemble(&cfg.training, params, critic, env, rngs)
    }

    /// A trainer that plays one test condition (its task, its RPE manipulation,
    /// the test's random streams) from the given weights with a fresh optimiser:
    /// the frozen test and the "plastic at test" control (`evaluate_agent`).
    pub fn for_test(
        cfg: &Config,
        cond: &TestCondition,
        params: &Params,
        critic: Option<&Params>,
        seed: u64,
    ) -> Self {
        let env = LockStep::for_condition(cfg, cond, params, critic);
        let (params, critic) = (params.clone(), critic.cloned());
        Self::assemble(&cfg.training, params, critic, env, test_rngs(seed))
    }

    fn assemble(
        tr: &TrainingConfig,
        params: Params,
        critic: Option<Params>,
        env: LockStep,
        (task_rng, policy_rng): (TaskRng, TaskRng),
    ) -> Self {
        let optim = |like: &Params| training_optimiser(tr, like);
        Trainer {
            grad: params.zeros_like(),
            opt: optim(&params),
            critic_grad: critic.as_ref().map(Params::zeros_like),
            critic_opt: critic.as_ref().map(optim),
            critic,
            bufs: A2cBuffers::new(&env.ws),
            env,
            hyper: training_hyper(tr),
            critic_cost: tr.critic_cost.unwrap_or(1.0) as f32,
            grad_clip: tr.grad_clip,
            task_rng,
            policy_rng,
            params,
        }
    }

    /// One update: `play` a batch, then `learn` from it. The parameters are
    /// left untouched if the loss or gradient is not finite.
    pub fn update(&mut self) -> UpdateStats {
        self.play();
        let (loss, grad_norm) = self.learn();
        let ro = &self.env.ro;
        let rows = ro.n_steps * ro.batch;
        let (env_steps, trials) = ro.counts();
        UpdateStats {
            loss,
            grad_norm,
            env_steps,
            trials,
            total_reward: ro.rewards[..rows].iter().map(|&r| r as f64).sum(),
        }
    }

    /// Play one batch of lock-step episodes with the current weights.
    pub fn play(&mut self) {
        self.env.run(
            &self.params,
            self.critic.as_ref(),
            &mut self.task_rng,
            &mut self.policy_rng,
        );
    }

    /// The batch just played (rollout, activations and, for the RPE input, the critic's values).
    pub fn played(&self) -> &LockStep {
        &self.env
    }

    /// One A2C step on the batch just played: loss, gradient, clipping, and
    /// the optimiser (skipped if the loss or gradient is not finite). Returns
    /// the losses and the global gradient norm before clipping.
    pub fn learn(&mut self) -> (a2c::LossStats, f64) {
        let ro = &self.env.ro;
        let data = RolloutData {
            n_steps: ro.n_steps,
            actions: &ro.actions,
            rewards: &ro.rewards,
            mask: &ro.mask,
        };
        match (&self.critic, &mut self.env.feedback.critic) {
            (None, _) | (_, None) => {
                let loss = a2c::loss_and_grad(
                    &self.params,
                    &mut self.env.ws,
                    &mut self.bufs,
                    &data,
                    self.hyper,
                    &mut self.grad,
                );
                let grad_norm = Optim::clip(&mut self.grad, self.grad_clip);
                if loss.total.is_finite() && grad_norm.is_finite() {
                    self.opt.apply(&mut self.params, &self.grad);
                }
                (loss, grad_norm)
            }
            (Some(critic), Some(cws)) => {
                // RPE input (src/agent/critic.rs): the actor's advantage is
                // R_t − v_t of the critic; its own value head is unused (cost 0).
                let actor_hyper = A2cHyper {
                    value_cost: 0.0,
                    ..self.hyper
                };
                let mut loss = a2c::loss_and_grad_with_baseline(
                    &self.params,
                    &mut self.env.ws,
                    &mut self.bufs,
                    &data,
                    Some(cws.values()),
                    actor_hyper,
                    &mut self.grad,
                );
                let cgrad = self.critic_grad.as_mut().expect("critic gradient");
                let value_loss = cws.loss_and_grad(
                    critic,
                    &self.bufs.returns,
                    data.mask,
                    data.n_steps,
                    self.critic_cost,
                    cgrad,
                );
                loss.value_loss = value_loss;
                loss.total += self.critic_cost as f64 * value_loss;
                // One global norm over actor and critic, clipped together.
                let grad_norm = self.grad.global_norm().hypot(cgrad.global_norm());
                if self.grad_clip > 0.0 && grad_norm > self.grad_clip {
                    let s = (self.grad_clip / grad_norm) as f32;
                    self.grad.scale(s);
                    cgrad.scale(s);
                }
                if loss.total.is_finite() && grad_norm.is_finite() {
                    self.opt.apply(&mut self.params, &self.grad);
                    let copt = self.critic_opt.as_mut().expect("critic optimiser");
                    copt.apply(self.critic.as_mut().expect("critic"), cgrad);
                }
                (loss, grad_norm)
            }
        }
    }
}

/// Training of one seed stopped because its loss, gradient or weights became
/// NaN or infinite (`run` keeps the other seeds and records this one as failed).
#[derive(Debug, Clone)]
pub struct Diverged {
    pub seed: u64,
    /// The update (0-based, as in training.parquet) that produced the non-finite value.
    pub update: usize,
    /// What was not finite, with the update's values.
    pub what: String,
    /// The last update whose losses were all finite, if any.
    pub last_finite: Option<UpdateRow>,
}

impl std::fmt::Display for Diverged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "seed {}: training diverged at update {}: {}; ",
            self.seed, self.update, self.what
        )?;
        match &self.last_finite {
            Some(r) => write!(
                f,
                "last finite losses (update {}): policy loss {:.6}, value loss {:.6}, entropy {:.6}, gradient norm {:.6}",
                r.update, r.policy_loss, r.value_loss, r.entropy, r.grad_norm
            )?,
            None => write!(f, "no update before it had finite losses")?,
        }
        write!(
            f,
            "; try a lower training.learning_rate or a training.grad_clip"
        )
    }
}

impl std::error::Error for Diverged {}

/// Test-only fault injection: `METARL_TEST_NAN_SEED=seed:update` sets one
/// weight of that seed's network to NaN just before that update (0-based), so
/// that its loss and gradient become NaN through the ordinary code path. It is
/// an environment variable rather than a config key so that it can never appear
/// in an experiment file, a run's config.toml or a sweep, and it is read only
/// here. Malformed values are ignored.
fn test_nan_update(seed: u64) -> Option<usize> {
    let v = std::env::var("METARL_TEST_NAN_SEED").ok()?;
    let (s, u) = v.split_once(':')?;
    (s.trim().parse::<u64>().ok()? == seed).then_some(())?;
    u.trim().parse().ok()
}

/// Test-only: `METARL_TEST_SLOW_STOP_MS=n` makes a requested stop wait n ms
/// before saving the checkpoint (a stop that hangs), so that a test can send
/// the second Ctrl-C, which must exit at once, while the first is being handled.
/// An environment variable for the same reason as `METARL_TEST_NAN_SEED`.
fn test_slow_stop() {
    crate::interrupt::test_sleep("METARL_TEST_SLOW_STOP_MS");
}

/// Where and how often `train_seed_resumable` keeps a seed's resume checkpoint.
#[derive(Debug, Clone)]
pub struct Checkpointing {
    /// The checkpoint file. If it exists when training starts, training
    /// continues from it (a finished seed's checkpoint returns at once).
    pub path: PathBuf,
    /// Written every `every` updates (`training.checkpoint_every`), when
    /// interrupted, and after the last update; 0 = never (nothing is read either).
    pub every: usize,
    /// Stop as if interrupted once this many updates are done (tests of resuming).
    pub stop_after: Option<usize>,
}

/// A seed's training progress besides the `Trainer`: what a resume checkpoint
/// holds with it.
struct Progress {
    /// Updates done.
    update: usize,
    snapshots: Vec<(usize, Params)>,
    curve: Vec<UpdateRow>,
    env_steps: u64,
    trials: u64,
    /// Training seconds before this process took over (resume).
    seconds: f64,
}

/// Train one seed. `on_update(episodes_done, steps_per_sec, mean_reward)` is
/// called after each update (progress bars); it must be cheap. A NaN or
/// infinity in the loss, the gradient or the weights stops training with a
/// `Diverged` error.
pub fn train_seed(
    cfg: &Config,
    seed: u64,
    on_update: impl FnMut(u64, f64, f64),
) -> Result<TrainedSeed> {
    train_seed_resumable(cfg, seed, None, on_update)
}

/// `train_seed`, continuing from and keeping a resume checkpoint (see
/// `Checkpointing`). Between updates (never inside one) it checks for Ctrl-C /
/// SIGTERM (`crate::interrupt`): it then saves the checkpoint and returns
/// `interrupt::Interrupted`. The result is bit-identical to an uninterrupted
/// `train_seed`, except the timing (`seconds`, the curve's `env_steps_per_sec`).
pub fn train_seed_resumable(
    cfg: &Config,
    seed: u64,
    ckpt: Option<&Checkpointing>,
    mut on_update: impl FnMut(u64, f64, f64),
) -> Result<TrainedSeed> {
    let batch = cfg.training.batch;
    let mut trainer = Trainer::new(cfg, seed);
    let n_updates = cfg.training.episodes.div_ceil(batch);
    let id = checkpoint::Identity {
        seed,
        n_updates,
        batch,
    };
    let ckpt = ckpt.filter(|c| c.every > 0);
    let mut pr = match ckpt {
        Some(c) if c.path.exists() => checkpoint::load(&c.path, id, &mut trainer)?,
        _ => Progress {
            update: 0,
            snapshots: vec![],
            curve: Vec::with_capacity(n_updates.min(1 << 16)),
            env_steps: 0,
            trials: 0,
            seconds: 0.0,
        },
    };
    let start = Instant::now();
    let seconds_before = pr.seconds;
    let poison = test_nan_update(seed);
    let mut saved = pr.update;
    // Stages at the end of training are the final weights, kept below; those
    // before a resumed checkpoint are in its snapshots.
    let mut stages = cfg
        .evaluation
        .stages
        .iter()
        .copied()
        .filter(|&s| s < cfg.training.episodes)
        .skip(pr.snapshots.len())
        .peekable();
    for update in pr.update..n_updates {
        let stop = crate::interrupt::requested().or(ckpt
            .and_then(|c| c.stop_after)
            .filter(|&n| update >= n)
            .map(|_| 0));
        if let Some(signal) = stop {
            test_slow_stop();
            if let Some(c) = ckpt.filter(|_| saved < update) {
                pr.seconds = seconds_before + start.elapsed().as_secs_f64();
                checkpoint::save(&c.path, id, &trainer, &pr)?;
            }
            return Err(crate::interrupt::Interrupted {
                signal,
                resume: None,
            }
            .into());
        }
        while let Some(s) = stages.next_if(|&s| s <= update * batch) {
            pr.snapshots.push((s, trainer.params.clone()));
        }
        if poison == Some(update) {
            trainer.params.tensors_mut()[0][0] = f32::NAN;
        }
        let st = trainer.update();
        let episodes = ((update + 1) * batch) as u64;
        let diverged = |what: String| Diverged {
            seed,
            update,
            what,
            last_finite: pr.curve.last().copied(),
        };
        if !st.loss.total.is_finite() || !st.grad_norm.is_finite() {
            return Err(diverged(format!(
                "non-finite {} (policy loss {}, value loss {}, entropy {}, gradient norm {})",
                if st.loss.total.is_finite() {
                    "gradient"
                } else {
                    "loss"
                },
                st.loss.policy_loss,
                st.loss.value_loss,
                st.loss.entropy,
                st.grad_norm
            ))
            .into());
        }
        if !trainer.params.all_finite() || trainer.critic.as_ref().is_some_and(|c| !c.all_finite())
        {
            return Err(diverged(format!(
                "non-finite weights after the optimiser step (policy loss {}, value loss {}, entropy {}, gradient norm {})",
                st.loss.policy_loss, st.loss.value_loss, st.loss.entropy, st.grad_norm
            ))
            .into());
        }
        pr.env_steps += st.env_steps;
        pr.trials += st.trials;
        let elapsed = seconds_before + start.elapsed().as_secs_f64();
        let sps = pr.env_steps as f64 / elapsed.max(1e-9);
        let mean_reward = st.total_reward / batch as f64;
        pr.curve.push(UpdateRow {
            update: update as u32,
            episodes,
            mean_episode_reward: mean_reward,
            policy_loss: st.loss.policy_loss,
            value_loss: st.loss.value_loss,
            entropy: st.loss.entropy,
            grad_norm: st.grad_norm,
            env_steps_per_sec: sps,
        });
        pr.update = update + 1;
        on_update(episodes, sps, mean_reward);
        if let Some(c) = ckpt.filter(|c| pr.update % c.every == 0 && pr.update < n_updates) {
            pr.seconds = elapsed;
            checkpoint::save(&c.path, id, &trainer, &pr)?;
            saved = pr.update;
        }
    }
    pr.seconds = seconds_before + start.elapsed().as_secs_f64();
    if let Some(c) = ckpt.filter(|_| saved < n_updates) {
        // The finished seed: a resumed run evaluates it again without training.
        checkpoint::save(&c.path, id, &trainer, &pr)?;
    }
    Ok(TrainedSeed {
        seed,
        params: trainer.params,
        critic: trainer.critic,
        snapshots: pr.snapshots,
        curve: pr.curve,
        env_steps: pr.env_steps,
        trials: pr.trials,
        seconds: pr.seconds,
    })
}

/// The test as configured (its first condition if it declares several), with
/// the weights frozen unless `evaluation.plastic`. For the RPE input, use `evaluate_agent`.
pub fn evaluate(cfg: &Config, params: &Params, seed: u64) -> Result<TrialTable> {
    let cond = &cfg.test_conditions()?[0];
    if cfg.agent.feedback == Feedback::Rpe {
        bail!("agent.feedback = \"rpe\": the evaluation needs the critic (train::evaluate_agent)");
    }
    Ok(evaluate_condition(cfg, cond, params, seed))
}

/// The test of one condition, for agents without a critic (see `evaluate_agent`).
pub fn evaluate_condition(
    cfg: &Config,
    cond: &TestCondition,
    params: &Params,
    seed: u64,
) -> TrialTable {
    evaluate_agent(cfg, cond, params, None, seed)
}

/// The training optimiser of `[training]` for parameters shaped like `like`.
pub fn training_optimiser(tr: &TrainingConfig, like: &Params) -> Optim {
    Optim::new(
        tr.optimizer,
        tr.learning_rate,
        tr.rmsprop_decay,
        tr.optimizer_eps,
        like,
    )
}

/// The A2C loss weights of `[training]`.
pub fn training_hyper(tr: &TrainingConfig) -> A2cHyper {
    A2cHyper {
        gamma: tr.gamma as f32,
        value_cost: tr.value_cost as f32,
        entropy_cost: tr.entropy_cost as f32,
    }
}

/// The test's task and policy random streams for `seed` (the same in every
/// test condition, so that conditions replay the same task draws).
pub fn test_rngs(seed: u64) -> (TaskRng, TaskRng) {
    (
        rng_for(seed, stream::EVAL_TASK),
        rng_for(seed, stream::EVAL_POLICY),
    )
}

/// The empty trial table of a test of `task` by a network of `hidden_units`:
/// hidden states only with `evaluation.record_hidden`, observations unless
/// `evaluation.record_observations = false`, and the `rpe_input` column with
/// the RPE input.
pub fn test_table(cfg: &Config, task: &dyn Task, hidden_units: usize) -> TrialTable {
    let hidden = if cfg.evaluation.record_hidden {
        hidden_units
    } else {
        0
    };
    let table = TrialTable::new(task, cfg.evaluation.record_observations, hidden);
    if cfg.agent.feedback == Feedback::Rpe {
        table.with_rpe_input()
    } else {
        table
    }
}

/// The test of one condition, weights frozen: fresh task instances, a copy of
/// the trained parameters (and of the RPE input's critic), every step recorded. The random streams restart from the seed in every condition.
/// With the RPE input, trials.parquet's `value` and `rpe` are the critic's and
/// `rpe_input` is what the network received (with the condition's manipulation).
///
/// With `evaluation.plastic` (the "plastic at test" control, issue 15) the
/// weights keep learning during the test: after each batch is recorded, one A2C
/// update on it exactly as in training (`Trainer::learn`: `[training]`'s
/// optimiser, learning rate, γ, costs and clipping; with the RPE input the
/// critic learns too), from a fresh optimiser state (checkpoints hold weights
/// only). The streams are the test's, so the task draws that do not depend on
/// the agent's actions are the frozen test's. The given weights are copied,
/// never changed.
pub fn evaluate_agent(
    cfg: &Config,
    cond: &TestCondition,
    params: &Params,
    critic: Option<&Params>,
    seed: u64,
) -> TrialTable {
    let batch = cfg.training.batch;
    let mut agent = Trainer::for_test(cfg, cond, params, critic, seed);
    let mut table = test_table(cfg, agent.played().tasks[0].as_ref(), params.hidden);
    let gamma = cfg.training.gamma as f32;
    let n_episodes = cond.episodes;
    let mut done = 0;
    // On Ctrl-C / SIGTERM the table is cut short; the caller checks
    // `interrupt::check` and discards it.
    while done < n_episodes && crate::interrupt::requested().is_none() {
        agent.play();
        let env = agent.played();
        let keep = batch.min(n_episodes - done);
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
        if cfg.evaluation.plastic && done < n_episodes {
            // Learn from the whole batch just played, as in training (not
            // after the last one: nothing would play the changed weights).
            agent.learn();
        }
    }
    table
}
