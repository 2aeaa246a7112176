//! Simulation 2: the learned learning rate adapts to volatility (paper Fig. 3;
//! Behrens et al. 2007).

pub mod fit;
pub mod reference;
