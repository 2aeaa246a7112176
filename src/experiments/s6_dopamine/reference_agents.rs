//! Reference agents of Simulation 6 (`references`): a delta-rule learner that
//! learns from the dopamine (RPE) signal, manipulation included; the same
//! learner fed the true reward (the manipulation reaches nothing it uses); a
//! random chooser; a reward-ignoring fixed chooser; and the untrained network
//! (with its untrained critic), each with the result it gets on every check.
//!
//! The learners keep a value Q per lever, both 0 at the start of an episode;
//! after a press of an available lever, Q(a) ← Q(a) + α δ with δ = r − Q(a),
//! plus, for the RPE learner, the condition's manipulation when the outcome
//! was the manipulated event (`StepInput::shift`, as the RPE-input network
//! receives it). On a forced trial they press the available lever; on a free
//! trial they choose by a softmax with inverse temperature β on Q. The fixed
//! chooser presses the left lever on every free trial (the available one on a
//! forced trial); the random chooser presses either lever with probability 1/2
//! on every trial. Value: Q of the expected press (the random chooser: 0), so
//! that the table's RPE is the learner's own TD error (γ Q' − Q between
//! presses). State: none is recorded (`record_hidden = false`).

use crate::config::Config;
use crate::references::{softmax2, Agent, Expectation, Reference, StepInput};
use crate::tasks::TaskRng;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Learns from the RPE signal, manipulation included.
    Rpe,
    /// Learns from the reward: the manipulation reaches nothing it uses.
    Reward,
    /// Left lever on every free trial.
    FixedLeft,
    /// 50/50 on every trial.
    Random,
}

#[derive(Debug, Clone)]
pub struct LeverAgent {
    pub kind: Kind,
    pub alpha: f64,
    pub beta: f64,
    q: [f64; 2],
    /// Whether the previous press was of an available lever.
    pressed_available: bool,
}

impl LeverAgent {
    pub fn new(kind: Kind, alpha: f64, beta: f64) -> Self {
        LeverAgent {
            kind,
            alpha,
            beta,
            q: [0.0; 2],
            pressed_available: false,
        }
    }
}

impl Agent for LeverAgent {
    fn units(&self) -> usize {
        0
    }
    fn reset(&mut self) {
        self.q = [0.0; 2];
        self.pressed_available = false;
    }
    fn step(
        &mut self,
        input: &StepInput,
        _rng: &mut TaskRng,
        policy: &mut [f64],
        _units: &mut [f64],
    ) -> f64 {
        if let (Some((a, r)), true) = (input.prev, self.pressed_available) {
            let shift = if self.kind == Kind::Rpe {
                input.shift as f64
            } else {
                0.0
            };
            self.q[a] += self.alpha * (r as f64 - self.q[a] + shift);
        }
        // Observation: [left available, right available].
        let available = [input.obs[0] == 1.0, input.obs[1] == 1.0];
        let free = available[0] && available[1];
        let p = match (self.kind, free) {
            (Kind::Random, _) => [0.5, 0.5],
            (_, false) => {
                if available[0] {
                    [1.0, 0.0]
                } else {
                    [0.0, 1.0]
                }
            }
            (Kind::FixedLeft, true) => [1.0, 0.0],
            (_, true) => softmax2(self.q, self.beta),
        };
        policy.copy_from_slice(&p);
        // A press of an available lever is certain except for the random chooser,
        // whose press on a forced trial may hit the retracted lever; it learns nothing.
        self.pressed_available = self.kind != Kind::Random;
        if self.kind == Kind::Random {
            0.0
        } else {
            p[0] * self.q[0] + p[1] * self.q[1]
        }
    }
}

fn lever(
    kind: Kind,
    alpha: f64,
    beta: f64,
) -> impl Fn(&Config, &crate::references::Slot) -> anyhow::Result<Box<dyn Agent>> {
    move |_, _| Ok(Box::new(LeverAgent::new(kind, alpha, beta)) as Box<dyn Agent>)
}

// The checks of experiments/s6_dopamine.toml.
const CONTROL: &str = "control: risky at p = 0.5 > at p = 0.125";
const BLOCK_RISKY_WIN: &str = "block DA at risky wins lowers risky choice";
const BLOCK_SAFE_WIN: &str = "block DA at safe wins raises risky choice";
const STIMULATE_RISKY_LOSS: &str = "stimulate DA at risky losses raises risky choice";

/// The reference agents and what each gets on every check of experiments/s6_dopamine.toml.
pub fn references() -> Vec<Reference> {
    let effects_fail = |control_passes: bool| {
        vec![
            if control_passes {
                Expectation::pass(CONTROL)
            } else {
                Expectation::fail(CONTROL)
            },
            Expectation::fail(BLOCK_RISKY_WIN),
            Expectation::fail(BLOCK_SAFE_WIN),
            Expectation::fail(STIMULATE_RISKY_LOSS),
        ]
    };
    vec![
        Reference::agent(
            "rpe_delta_rule",
            "delta rule on each lever's value learning from the dopamine signal δ = r − Q(a) with the manipulation added, α 0.3, softmax β 2",
            lever(Kind::Rpe, 0.3, 2.0),
            [CONTROL, BLOCK_RISKY_WIN, BLOCK_SAFE_WIN, STIMULATE_RISKY_LOSS]
                .map(Expectation::pass)
                .to_vec(),
        ),
        Reference::agent(
            "reward_delta_rule",
            "the same delta rule learning from the reward itself: the manipulation reaches nothing it uses",
            lever(Kind::Reward, 0.3, 2.0),
            effects_fail(true),
        ),
        Reference::agent(
            "fixed_left",
            "ignores rewards: the left lever on every free trial, the available lever on a forced trial",
            lever(Kind::FixedLeft, 0.0, 0.0),
            effects_fail(false),
        ),
        Reference::agent(
            "random",
            "random chooser: either lever with probability 1/2 on every trial",
            lever(Kind::Random, 0.0, 0.0),
            effects_fail(false),
        ),
        Reference::untrained_network(effects_fail(false)),
    ]
}
