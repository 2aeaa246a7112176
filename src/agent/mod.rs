//! The agent: one LSTM layer (prefrontal cortex) with a softmax policy and a
//! linear value head, trained by advantage actor-critic (dopamine = RPE). In
//! the RPE-input variant (`agent.feedback = "rpe"`) a separate critic LSTM
//! (`critic`) computes the RPE that the network receives as input.

pub mod a2c;
pub mod critic;
pub mod encoder;
pub mod lstm;
pub mod optim;
pub mod params;

pub use a2c::{A2cBuffers, A2cHyper, LossStats, RolloutData};
pub use critic::CriticWorkspace;
pub use encoder::{EncoderParams, EncoderWorkspace};
pub use lstm::Workspace;
pub use optim::Optim;
pub use params::Params;

/// The reward prediction error δ_t = r_t + γ v_{t+1} − v_t (`next_value` = 0
/// after an episode's last step). The one definition, used by the recorder and
/// by the RPE input, so that both give the same bits.
#[inline]
pub fn rpe(reward: f32, value: f32, next_value: f32, gamma: f32) -> f32 {
    reward + gamma * next_value - value
}
