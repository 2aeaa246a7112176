//! The introductory bandits of the paper's Fig. 1: networks trained on
//! independent and on correlated two-armed Bernoulli bandits against Gittins
//! indices, Thompson sampling, UCB1 and the exact Bayes-optimal policy.

pub mod baselines;
