//! Reference agents: simple agents whose mechanism is known (a model-free or a
//! model-based learner, a fixed-α delta rule, a Bayesian observer, a random
//! chooser, the network with its initial weights), played on an experiment's
//! test exactly where the network is played, written as trial tables in the
//! experiment's own schema and run through the same analysis and checks.
//!
//! They show which checks discriminate. A check that an agent passes although
//! its mechanism lacks what the check is meant to show (a model-free learner
//! passing a model-based check, an untrained network passing a coding check)
//! does not, on its own, show that mechanism in the network. Each experiment
//! lists its agents (`experiments::Experiment::references`) with the result it
//! expects of each on each check, and a note where that result is such a
//! finding; `metarl references <experiment>` prints the check tables and
//! tests/reference_agents.rs asserts them.
//!
//! How an agent is played. Like the network in `train::evaluate_condition`: the
//! same lock-step batches of `training.batch` episodes, the same task and policy
//! random streams of the seed, one row per network step. So where a task's
//! random draws do not depend on the actions (every task here draws the same
//! uniforms whatever is chosen), an agent sees the network's test episodes
//! with common random numbers. At each step the agent reads what the network
//! reads (the observation and the previous action and reward, and after a
//! manipulated event the test condition's RPE manipulation), and gives a
//! policy, a value (its own estimate, from which the table's RPE is computed as
//! for the network: δ_t = r_t + γ v_{t+1} − v_t, v = 0 after the last step) and
//! its state variables, recorded as h_0.. where the experiment records the
//! hidden state. The action is then sampled from the policy with the network's
//! sampler and stream; an agent's own randomness (e.g. a Thompson sample) has a
//! stream of its own. With `evaluation.stages` an agent plays at every stage
//! (`Slot::stage`), so that it may stand for a network at that stage; with
//! `agent.feedback = "rpe"` the table's `rpe_input` column is the agent's
//! previous RPE plus the manipulation, what the RPE-input network receives.

use crate::checks::{self, CheckResult};
use crate::config::{Config, Override, TestCondition};
use crate::experiments;
use crate::record::{self, TrialTable};
use crate::tasks::{make_task, Phase, Task, TaskRng};
use crate::train::{self, rng_for, stream};
use anyhow::{bail, Context, Result};
use polars::prelude::DataFrame;
use rand::Rng;
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What an agent reads at a network step: what the network reads.
pub struct StepInput<'a> {
    /// The task's observation.
    pub obs: &'a [f32],
    /// The previous step's action and reward (None at an episode's first step).
    pub prev: Option<(usize, f32)>,
    /// The test condition's RPE manipulation (`rpe_manipulation`): the value
    /// added to the RPE signal of the previous step's outcome when that outcome
    /// was the manipulated event, else 0. An agent that learns from an RPE
    /// signal adds it, as the RPE-input network receives it.
    pub shift: f32,
}

/// A reference agent, stepped like the network.
pub trait Agent: Send {
    /// State variables written to `units` at each step (recorded as h_0.. when
    /// the experiment records the hidden state).
    fn units(&self) -> usize;
    /// Start an episode.
    fn reset(&mut self);
    /// Read one step's input; write the policy over the actions (summing to 1)
    /// and the state; return the value of the current state. `rng` is the
    /// agent's own stream (the action itself is sampled by the player).
    fn step(
        &mut self,
        input: &StepInput,
        rng: &mut TaskRng,
        policy: &mut [f64],
        units: &mut [f64],
    ) -> f64;
}

/// Where an agent plays: the training variant (its name, if the experiment
/// declares variants) and the training stage (with `evaluation.stages`; the
/// final stage is `training.episodes`), which a reference agent may use to
/// stand for a network at that stage.
#[derive(Debug, Clone, Copy)]
pub struct Slot<'a> {
    pub variant: Option<&'a str>,
    pub stage: Option<usize>,
}

/// Makes one agent instance (one per lock-step slot) for the config of a
/// training variant and its slot.
pub type MakeAgent = Box<dyn Fn(&Config, &Slot) -> Result<Box<dyn Agent>> + Send + Sync>;

/// Who plays.
pub enum Player {
    /// The network with its initial weights (`train::initial_params`), never trained.
    UntrainedNetwork,
    /// A simple agent.
    Agent(MakeAgent),
}

/// The result an agent is expected to get on one check (by the check's name).
#[derive(Debug, Clone, Serialize)]
pub struct Expectation {
    pub check: String,
    /// Pass or fail; None where the result is borderline (it depends on the
    /// number of test episodes; `finding` says how), which is not asserted.
    pub pass: Option<bool>,
    /// Set where the expected result is a finding about the check: the agent
    /// passes although its mechanism lacks what the check is meant to show (or
    /// fails although it has it).
    pub finding: Option<String>,
}

impl Expectation {
    pub fn pass(check: &str) -> Self {
        Expectation {
            check: check.to_string(),
            pass: Some(true),
            finding: None,
        }
    }
    pub fn fail(check: &str) -> Self {
        Expectation {
            pass: Some(false),
            ..Self::pass(check)
        }
    }
    /// Borderline: passes or fails depending on the test budget (say how).
    pub fn either(check: &str, why: &str) -> Self {
        Expectation {
            pass: None,
            finding: Some(why.to_string()),
            ..Self::pass(check)
        }
    }
    /// Passes, although its mechanism lacks what the check is meant to show: why.
    pub fn passes_anyway(check: &str, why: &str) -> Self {
        Expectation {
            finding: Some(why.to_string()),
            ..Self::pass(check)
        }
    }
    /// Fails, although its mechanism has what the check is meant to show: why.
    pub fn fails_anyway(check: &str, why: &str) -> Self {
        Expectation {
            finding: Some(why.to_string()),
            ..Self::fail(check)
        }
    }
}

/// One reference agent of an experiment.
pub struct Reference {
    /// Short name (a directory name): e.g. `model_free_a0.5_b5`.
    pub name: String,
    /// What the agent is, in one sentence.
    pub description: String,
    pub player: Player,
    /// Key overrides of the experiment for this agent's analysis (e.g. that
    /// there are no network checkpoints to replay).
    pub overrides: Vec<(String, toml::Value)>,
    /// The expected result on each check of the shipped experiment.
    pub expect: Vec<Expectation>,
}

impl Reference {
    pub fn new(name: &str, description: &str, player: Player, expect: Vec<Expectation>) -> Self {
        Reference {
            name: name.to_string(),
            description: description.to_string(),
            player,
            overrides: vec![],
            expect,
        }
    }

    /// A simple agent; `make` builds one instance for a variant's config.
    pub fn agent(
        name: &str,
        description: &str,
        make: impl Fn(&Config, &Slot) -> Result<Box<dyn Agent>> + Send + Sync + 'static,
        expect: Vec<Expectation>,
    ) -> Self {
        Self::new(name, description, Player::Agent(Box::new(make)), expect)
    }

    /// The network with its initial weights, never trained.
    pub fn untrained_network(expect: Vec<Expectation>) -> Self {
        Self::new(
            "untrained_network",
            "the network with its initial weights (training.episodes = 0), evaluated like the trained one",
            Player::UntrainedNetwork,
            expect,
        )
    }

    pub fn with_override(mut self, key: &str, value: toml::Value) -> Self {
        self.overrides.push((key.to_string(), value));
        self
    }

    fn expectation(&self, check: &str) -> Option<&Expectation> {
        self.expect.iter().find(|e| e.check == check)
    }
}

// ---------------------------------------------------------------------------
// Two-armed bandit learners (Simulations 1 and 2, the introductory bandits)
// ---------------------------------------------------------------------------

/// A learner of a two-armed bandit: it chooses on choice steps and learns from
/// each choice's outcome.
pub trait BanditLearner: Send {
    /// State variables (see `Agent::units`).
    fn units(&self) -> usize;
    fn reset(&mut self);
    /// P(arm 0), P(arm 1) of the coming choice; `trial` counts the episode's
    /// choices before it.
    fn policy(&mut self, trial: usize, rng: &mut TaskRng) -> [f64; 2];
    /// The learner's expected reward of each arm.
    fn values(&self) -> [f64; 2];
    /// Learn from a choice's outcome.
    fn learn(&mut self, arm: usize, reward: f64);
    /// Write the state variables.
    fn state(&self, units: &mut [f64]);
}

/// A bandit learner on a task whose trials may begin with a fixation step
/// (observation: a cue = 1 at fixation, 0 at the choice; no observation without
/// a fixation step). At fixation its policy is uniform (the action is ignored)
/// and nothing is learnt. Its value is the expected reward of the trial's
/// choice under its policy, discounted once (γ) at the fixation step, where it
/// is the mean of the two arms' values.
pub struct OnChoices<L> {
    pub learner: L,
    gamma: f64,
    last_was_choice: bool,
    choices: usize,
}

impl<L: BanditLearner> OnChoices<L> {
    pub fn new(learner: L, gamma: f64) -> Self {
        OnChoices {
            learner,
            gamma,
            last_was_choice: false,
            choices: 0,
        }
    }
}

impl<L: BanditLearner> Agent for OnChoices<L> {
    fn units(&self) -> usize {
        self.learner.units()
    }
    fn reset(&mut self) {
        self.learner.reset();
        self.last_was_choice = false;
        self.choices = 0;
    }
    fn step(
        &mut self,
        input: &StepInput,
        rng: &mut TaskRng,
        policy: &mut [f64],
        units: &mut [f64],
    ) -> f64 {
        if let (Some((a, r)), true) = (input.prev, self.last_was_choice) {
            self.learner.learn(a, r as f64);
            self.choices += 1;
        }
        let choice_step = input.obs.first().is_none_or(|&cue| cue == 0.0);
        let v = self.learner.values();
        let value = if choice_step {
            let p = self.learner.policy(self.choices, rng);
            policy.copy_from_slice(&p);
            p[0] * v[0] + p[1] * v[1]
        } else {
            policy.fill(0.5);
            self.gamma * 0.5 * (v[0] + v[1])
        };
        self.learner.state(units);
        self.last_was_choice = choice_step;
        value
    }
}

/// Softmax over two values with inverse temperature β.
pub fn softmax2(v: [f64; 2], beta: f64) -> [f64; 2] {
    let p1 = 1.0 / (1.0 + (-beta * (v[1] - v[0])).exp());
    [1.0 - p1, p1]
}

/// The random chooser of a two-armed bandit: 50/50, value 0, no state (its
/// units are independent uniform noise, so that analyses of the state have
/// something to read).
pub struct RandomBandit {
    pub units: usize,
    noise: Vec<f64>,
}

impl RandomBandit {
    pub fn new(units: usize) -> Self {
        RandomBandit {
            units,
            noise: vec![0.0; units],
        }
    }
}

impl BanditLearner for RandomBandit {
    fn units(&self) -> usize {
        self.units
    }
    fn reset(&mut self) {}
    fn policy(&mut self, _trial: usize, rng: &mut TaskRng) -> [f64; 2] {
        for n in self.noise.iter_mut() {
            *n = rng.random();
        }
        [0.5, 0.5]
    }
    fn values(&self) -> [f64; 2] {
        [0.0, 0.0]
    }
    fn learn(&mut self, _arm: usize, _reward: f64) {}
    fn state(&self, units: &mut [f64]) {
        units.copy_from_slice(&self.noise);
    }
}

/// The fixed-α delta rule on each arm's value, Q(a) ← Q(a) + α (r − Q(a)) for
/// the chosen arm, softmax choice with inverse temperature β; values start at
/// `q0` each episode; its state is (Q(0), Q(1)).
pub struct DeltaRule {
    pub alpha: f64,
    pub beta: f64,
    pub q0: f64,
    q: [f64; 2],
}

impl DeltaRule {
    pub fn new(alpha: f64, beta: f64, q0: f64) -> Self {
        DeltaRule {
            alpha,
            beta,
            q0,
            q: [q0; 2],
        }
    }
}

impl BanditLearner for DeltaRule {
    fn units(&self) -> usize {
        2
    }
    fn reset(&mut self) {
        self.q = [self.q0; 2];
    }
    fn policy(&mut self, _trial: usize, _rng: &mut TaskRng) -> [f64; 2] {
        softmax2(self.q, self.beta)
    }
    fn values(&self) -> [f64; 2] {
        self.q
    }
    fn learn(&mut self, arm: usize, reward: f64) {
        self.q[arm] += self.alpha * (reward - self.q[arm]);
    }
    fn state(&self, units: &mut [f64]) {
        units.copy_from_slice(&self.q);
    }
}

// ---------------------------------------------------------------------------
// Playing an agent
// ---------------------------------------------------------------------------

/// One recorded step of a slot.
struct Row {
    position: (u32, u32),
    obs: Vec<f32>,
    action: usize,
    reward: f32,
    value: f64,
    policy: Vec<f32>,
    /// The manipulation received with this step's input.
    shift: f32,
    latents: Vec<f64>,
    units: Vec<f64>,
}

/// Play `make`'s agent on one test condition of one seed, as
/// `train::evaluate_condition` plays the network (see the module doc).
pub fn play_condition(
    cfg: &Config,
    cond: &TestCondition,
    seed: u64,
    make: &dyn Fn() -> Result<Box<dyn Agent>>,
) -> Result<TrialTable> {
    let batch = cfg.training.batch;
    let mut tasks: Vec<Box<dyn Task>> = (0..batch)
        .map(|_| make_task(&cond.task, Phase::Test))
        .collect();
    let mut agents: Vec<Box<dyn Agent>> = (0..batch).map(|_| make()).collect::<Result<_>>()?;
    let n_units = agents[0].units();
    let record_units = if cfg.evaluation.record_hidden {
        if n_units == 0 {
            bail!("the experiment records the hidden state, but this reference agent has no state variables");
        }
        n_units
    } else {
        0
    };
    let (n_act, obs_dim, n_lat) = (
        tasks[0].n_actions(),
        tasks[0].obs_dim(),
        tasks[0].latents().len(),
    );
    let max_steps = tasks[0].max_steps();
    let gamma = cfg.training.gamma;
    // The manipulated event's latent column and the value added after it.
    let manipulation = match &cond.rpe_manipulation {
        Some(m) => Some((
            tasks[0]
                .latents()
                .iter()
                .position(|l| l.name == m.event)
                .with_context(|| format!("no event {:?} in the task's latents", m.event))?,
            m.add as f32,
        )),
        None => None,
    };
    let (mut task_rng, mut policy_rng) = crate::train::test_rngs(seed);
    let mut agent_rng = rng_for(seed, stream::REFERENCE);
    let mut table = crate::train::test_table(cfg, tasks[0].as_ref(), n_units);
    let mut policy = vec![0.0f64; n_act];
    let mut policy32 = vec![0.0f32; n_act];
    let mut units = vec![0.0f64; n_units];
    let mut done = 0;
    while done < cond.episodes {
        for t in tasks.iter_mut() {
            t.reset(&mut task_rng);
        }
        for a in agents.iter_mut() {
            a.reset();
        }
        let mut rows: Vec<Vec<Row>> = (0..batch).map(|_| vec![]).collect();
        let mut alive = vec![true; batch];
        let mut prev: Vec<Option<(usize, f32)>> = vec![None; batch];
        let mut shift = vec![0.0f32; batch];
        let mut t = 0;
        while t < max_steps && alive.iter().any(|&a| a) {
            for b in 0..batch {
                if !alive[b] {
                    continue;
                }
                let mut obs = vec![0.0f32; obs_dim];
                tasks[b].observe(&mut obs);
                let input = StepInput {
                    obs: &obs,
                    prev: prev[b],
                    shift: shift[b],
                };
                let value = agents[b].step(&input, &mut agent_rng, &mut policy, &mut units);
                for (p32, p) in policy32.iter_mut().zip(&policy) {
                    *p32 = *p as f32;
                }
                let action = train::sample(&policy32, &mut policy_rng);
                let position = tasks[b].position();
                let mut latents = vec![0.0; n_lat];
                let out = tasks[b].step(action, &mut task_rng, &mut latents);
                rows[b].push(Row {
                    position,
                    obs,
                    action,
                    reward: out.reward,
                    value,
                    policy: policy32.clone(),
                    shift: shift[b],
                    latents,
                    units: units[..record_units].to_vec(),
                });
                prev[b] = Some((action, out.reward));
                shift[b] = match manipulation {
                    Some((event, add))
                        if rows[b].last().is_some_and(|r| r.latents[event] != 0.0) =>
                    {
                        add
                    }
                    _ => 0.0,
                };
                if out.done {
                    alive[b] = false;
                }
            }
            t += 1;
        }
        let keep = batch.min(cond.episodes - done);
        for (b, episode) in rows.iter().take(keep).enumerate() {
            append_episode(&mut table, seed, (done + b) as u32, episode, gamma);
        }
        done += keep;
    }
    Ok(table)
}

fn append_episode(table: &mut TrialTable, seed: u64, episode: u32, rows: &[Row], gamma: f64) {
    for (t, r) in rows.iter().enumerate() {
        let v_next = rows.get(t + 1).map_or(0.0, |n| n.value);
        table.seed.push(seed);
        table.episode.push(episode);
        table.step.push(t as u32);
        table.trial.push(r.position.0);
        table.step_in_trial.push(r.position.1);
        for (col, v) in table.obs.iter_mut().zip(&r.obs) {
            col.push(*v);
        }
        table.action.push(r.action as u32);
        table.reward.push(r.reward);
        table.value.push(r.value as f32);
        let rpe = (r.reward as f64 + gamma * v_next - r.value) as f32;
        table.rpe.push(rpe);
        if let Some(col) = &mut table.rpe_input {
            // What the RPE-input network would receive: the previous step's
            // RPE plus the manipulation (0 at an episode's first step).
            let prev = if t == 0 {
                0.0
            } else {
                table.rpe[table.rpe.len() - 2]
            };
            col.push(prev + r.shift);
        }
        for (col, v) in table.probs.iter_mut().zip(&r.policy) {
            col.push(*v);
        }
        for (col, v) in table.latents.iter_mut().zip(&r.latents) {
            col.push(*v);
        }
        for (col, v) in table.hidden.iter_mut().zip(&r.units) {
            col.push(*v as f32);
        }
    }
}

/// The whole test trial table of a reference agent: every variant, seed, test
/// condition and (with `evaluation.stages`) training stage, in the order of a
/// run's trials.parquet. The untrained network is the same at every stage; a
/// simple agent is made for each stage (`Slot::stage`).
pub fn trial_table(cfg: &Config, player: &Player) -> Result<DataFrame> {
    let mut parts = vec![];
    for (variant, vcfg) in cfg.training_variants()? {
        let seeds = vcfg.seed_list();
        let stages: Vec<Option<usize>> = if vcfg.evaluation.stages.is_empty() {
            vec![None]
        } else {
            let mut st = vcfg.evaluation.stages.clone();
            if st.last() != Some(&vcfg.training.episodes) {
                st.push(vcfg.training.episodes);
            }
            st.into_iter().map(Some).collect()
        };
        let tables: Vec<Vec<DataFrame>> = seeds
            .par_iter()
            .map(|&seed| {
                let initial = match player {
                    Player::UntrainedNetwork => Some(train::initial_params(&vcfg, seed)),
                    Player::Agent(_) => None,
                };
                stages
                    .iter()
                    .map(|&stage| {
                        let slot = Slot {
                            variant: variant.as_deref(),
                            stage,
                        };
                        crate::run::test_trials(&vcfg, variant.as_deref(), seed, stage, |cond| {
                            match (player, &initial) {
                                (Player::Agent(make), _) => {
                                    play_condition(&vcfg, cond, seed, &|| make(&vcfg, &slot))
                                }
                                (_, Some((params, critic))) => Ok(train::evaluate_agent(
                                    &vcfg,
                                    cond,
                                    params,
                                    critic.as_ref(),
                                    seed,
                                )),
                                (Player::UntrainedNetwork, None) => {
                                    unreachable!("initial weights made above")
                                }
                            }
                        })
                        .with_context(|| format!("seed {seed}"))
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<_>>()?;
        parts.extend(tables.into_iter().flatten());
    }
    let mut all = parts.remove(0);
    for p in &parts {
        all.vstack_mut(p)?;
    }
    all.rechunk_mut();
    Ok(all)
}

// ---------------------------------------------------------------------------
// Running the references through the analysis and checks
// ---------------------------------------------------------------------------

/// How to run the references.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// At most this many test episodes per seed in every condition (default:
    /// the experiment's own numbers).
    pub max_episodes: Option<usize>,
    /// Only these agents (default: all).
    pub agents: Vec<String>,
}

/// One agent's results.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub agent: String,
    pub description: String,
    pub dir: PathBuf,
    pub checks: Vec<CheckResult>,
    /// The expectation of each check (same order; None if none is written down).
    pub expected: Vec<Option<Expectation>>,
}

impl Outcome {
    /// Checks whose result differs from the expectation.
    pub fn surprises(&self) -> Vec<&CheckResult> {
        self.checks
            .iter()
            .zip(&self.expected)
            .filter(|(c, e)| {
                e.as_ref()
                    .and_then(|e| e.pass)
                    .is_some_and(|p| p != c.passed)
            })
            .map(|(c, _)| c)
            .collect()
    }
}

/// The experiment as analysed for one reference agent: its overrides applied,
/// every condition's test episodes capped at `max_episodes`.
pub fn reference_config(
    cfg: &Config,
    r: &Reference,
    max_episodes: Option<usize>,
) -> Result<Config> {
    let text = toml::to_string(cfg).context("config to TOML")?;
    let overrides = r
        .overrides
        .iter()
        .map(|(k, v)| Override::new(k, v.clone()))
        .collect::<Result<Vec<_>>>()?;
    let origin = format!("{} (reference agent {})", cfg.experiment.name, r.name);
    let mut rcfg = experiments::parse_with(&text, &origin, None, &overrides)?;
    if let Some(cap) = max_episodes {
        rcfg.evaluation.episodes = rcfg.evaluation.episodes.min(cap);
        for c in rcfg.evaluation.conditions.iter_mut() {
            c.episodes = c.episodes.map(|e| e.min(cap));
        }
    }
    Ok(rcfg)
}

/// Play every reference agent of the experiment, write each one's config.toml,
/// trials.parquet and outcomes.json to `out/<agent>/`, and evaluate the
/// experiment's checks on it.
pub fn run(cfg: &Config, out: &Path, opts: &Options) -> Result<Vec<Outcome>> {
    let exp = experiments::find(&cfg.experiment.analysis)?;
    let refs = exp.references(cfg)?;
    if refs.is_empty() {
        bail!(
            "the {} analysis has no reference agents yet",
            cfg.experiment.analysis
        );
    }
    for a in &opts.agents {
        if !refs.iter().any(|r| &r.name == a) {
            let names: Vec<&str> = refs.iter().map(|r| r.name.as_str()).collect();
            bail!(
                "no reference agent {a:?} in {}; there are: {}",
                cfg.experiment.name,
                names.join(", ")
            );
        }
    }
    let mut outcomes = vec![];
    for r in refs
        .iter()
        .filter(|r| opts.agents.is_empty() || opts.agents.contains(&r.name))
    {
        let rcfg = reference_config(cfg, r, opts.max_episodes)?;
        let dir = out.join(&r.name);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        record::write_text_atomic(&dir.join("config.toml"), &toml::to_string(&rcfg)?)?;
        let mut df =
            trial_table(&rcfg, &r.player).with_context(|| format!("reference agent {}", r.name))?;
        // A stop ends the test early: its table is cut short and must not be written.
        crate::interrupt::check()?;
        record::write_parquet(&dir.join("trials.parquet"), &mut df)?;
        drop(df);
        let o = crate::run::analyze(&dir, true)
            .with_context(|| format!("analysis of reference agent {}", r.name))?;
        let results = checks::evaluate(&rcfg.checks, &o);
        let expected = results
            .iter()
            .map(|c| r.expectation(&c.name).cloned())
            .collect();
        outcomes.push(Outcome {
            agent: r.name.clone(),
            description: r.description.clone(),
            dir,
            checks: results,
            expected,
        });
    }
    Ok(outcomes)
}

/// A plain-text table per agent, as `metarl check` prints, with the expected
/// result and the finding where there is one.
pub fn table(o: &Outcome) -> String {
    let mut s = checks::table(&format!("{}: {}", o.agent, o.description), &o.checks);
    let mut lines: Vec<String> = s.lines().map(str::to_string).collect();
    // Header line, then one line per check.
    lines[1].push_str("  expected");
    for (k, e) in o.expected.iter().enumerate() {
        let line = &mut lines[k + 2];
        match e {
            None => line.push_str("  -"),
            Some(e) => {
                line.push_str(match e.pass {
                    Some(true) => "  PASS",
                    Some(false) => "  FAIL",
                    None => "  either",
                });
                if e.pass.is_some_and(|p| p != o.checks[k].passed) {
                    line.push_str("  (differs from the expectation)");
                }
                if let Some(f) = &e.finding {
                    line.push_str(&format!("  finding: {f}"));
                }
            }
        }
    }
    s = lines.join("\n");
    s.push('\n');
    s
}
