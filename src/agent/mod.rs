//! The agent: one LSTM layer (prefrontal cortex) with a softmax policy and a
//! linear value head, trained by advantage actor-critic (dopamine = RPE).

pub mod a2c;
pub mod encoder;
pub mod lstm;
pub mod optim;
pub mod params;

pub use a2c::{A2cBuffers, A2cHyper, LossStats, RolloutData};
pub use encoder::{EncoderParams, EncoderWorkspace};
pub use lstm::Workspace;
pub use optim::Optim;
pub use params::Params;
