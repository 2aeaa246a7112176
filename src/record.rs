//! Evaluation recording → polars DataFrames → Parquet, written atomically.
//!
//! trials.parquet has one row per network step:
//! seed, episode, step, trial, step_in_trial, obs_0.., action, reward, value,
//! rpe, [rpe_input], p_0.., the task's latent variables, and h_0.. when hidden
//! states are recorded. `rpe_input` only with `agent.feedback = "rpe"`.

use crate::agent::Workspace;
use crate::tasks::{Latent, LatentKind, Task};
use crate::train::{Rollout, UpdateRow};
use anyhow::{bail, Context, Result};
use polars::prelude::*;
use std::fs::File;
use std::path::Path;

pub struct TrialTable {
    pub seed: Vec<u64>,
    pub episode: Vec<u32>,
    pub step: Vec<u32>,
    pub trial: Vec<u32>,
    pub step_in_trial: Vec<u32>,
    pub obs: Vec<Vec<f32>>,
    pub action: Vec<u32>,
    pub reward: Vec<f32>,
    pub value: Vec<f32>,
    pub rpe: Vec<f32>,
    /// What the network received as its RPE input at each step (the previous
    /// step's RPE plus any test manipulation; 0 at an episode's first step).
    /// Recorded only for the RPE-input agent.
    pub rpe_input: Option<Vec<f32>>,
    pub probs: Vec<Vec<f32>>,
    pub latent_specs: Vec<Latent>,
    pub latents: Vec<Vec<f64>>,
    pub hidden: Vec<Vec<f32>>,
}

impl TrialTable {
    /// A table for `task`'s steps; `record_obs` keeps the observation columns,
    /// `hidden_units` the first so many LSTM units.
    pub fn new(task: &dyn Task, record_obs: bool, hidden_units: usize) -> Self {
        TrialTable {
            seed: vec![],
            episode: vec![],
            step: vec![],
            trial: vec![],
            step_in_trial: vec![],
            obs: vec![vec![]; if record_obs { task.obs_dim() } else { 0 }],
            action: vec![],
            reward: vec![],
            value: vec![],
            rpe: vec![],
            rpe_input: None,
            probs: vec![vec![]; task.n_actions()],
            latent_specs: task.latents().to_vec(),
            latents: vec![vec![]; task.latents().len()],
            hidden: vec![vec![]; hidden_units],
        }
    }

    pub fn len(&self) -> usize {
        self.seed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seed.is_empty()
    }

    /// Also record the column `rpe_input` (the RPE-input agent).
    pub fn with_rpe_input(mut self) -> Self {
        self.rpe_input = Some(vec![]);
        self
    }

    /// Append the first `keep` episodes of a finished rollout, numbering them
    /// from `first_episode`. The RPE is δ_t = r_t + γ v_{t+1} − v_t with v = 0
    /// after an episode's last step.
    pub fn append(
        &mut self,
        seed: u64,
        first_episode: u32,
        keep: usize,
        ro: &Rollout,
        ws: &Workspace,
        gamma: f32,
    ) {
        self.append_with_values(seed, first_episode, keep, ro, ws, &ws.value, gamma);
    }

    /// As `append`, with the values (and so the RPE) taken from `values` (row
    /// `t * batch + b`; the RPE-input agent's critic) instead of the network's
    /// value head.
    #[allow(clippy::too_many_arguments)]
    pub fn append_with_values(
        &mut self,
        seed: u64,
        first_episode: u32,
        keep: usize,
        ro: &Rollout,
        ws: &Workspace,
        values: &[f32],
        gamma: f32,
    ) {
        let bn = ro.batch;
        for b in 0..keep {
            for t in 0..ro.n_steps {
                let row = t * bn + b;
                if ro.mask[row] == 0.0 {
                    break;
                }
                let next = row + bn;
                let v_next = if t + 1 < ro.n_steps && ro.mask[next] > 0.0 {
                    values[next]
                } else {
                    0.0
                };
                self.seed.push(seed);
                self.episode.push(first_episode + b as u32);
                self.step.push(t as u32);
                let (trial, sit) = ro.position[row];
                self.trial.push(trial);
                self.step_in_trial.push(sit);
                for (col, v) in self.obs.iter_mut().zip(ro.obs_row(row)) {
                    col.push(*v);
                }
                self.action.push(ro.actions[row] as u32);
                self.reward.push(ro.rewards[row]);
                self.value.push(values[row]);
                self.rpe.push(crate::agent::rpe(
                    ro.rewards[row],
                    values[row],
                    v_next,
                    gamma,
                ));
                if let Some(col) = &mut self.rpe_input {
                    col.push(ro.feedback[row]);
                }
                for (col, v) in self.probs.iter_mut().zip(ws.policy(t, b)) {
                    col.push(*v);
                }
                for (col, v) in self.latents.iter_mut().zip(ro.latent_row(row)) {
                    col.push(*v);
                }
                if !self.hidden.is_empty() {
                    for (col, v) in self.hidden.iter_mut().zip(ws.hidden_state(t, b)) {
                        col.push(*v);
                    }
                }
            }
        }
    }

    pub fn into_dataframe(self) -> Result<DataFrame> {
        let mut cols: Vec<Column> = vec![
            Column::new("seed".into(), self.seed),
            Column::new("episode".into(), self.episode),
            Column::new("step".into(), self.step),
            Column::new("trial".into(), self.trial),
            Column::new("step_in_trial".into(), self.step_in_trial),
        ];
        for (i, c) in self.obs.into_iter().enumerate() {
            cols.push(Column::new(format!("obs_{i}").into(), c));
        }
        cols.push(Column::new("action".into(), self.action));
        cols.push(Column::new("reward".into(), self.reward));
        cols.push(Column::new("value".into(), self.value));
        cols.push(Column::new("rpe".into(), self.rpe));
        if let Some(c) = self.rpe_input {
            cols.push(Column::new("rpe_input".into(), c));
        }
        for (i, c) in self.probs.into_iter().enumerate() {
            cols.push(Column::new(format!("p_{i}").into(), c));
        }
        for (spec, c) in self.latent_specs.iter().zip(self.latents) {
            cols.push(match spec.kind {
                LatentKind::Int => Column::new(
                    spec.name.into(),
                    c.iter().map(|&v| v as i64).collect::<Vec<i64>>(),
                ),
                LatentKind::Float => Column::new(spec.name.into(), c),
            });
        }
        for (i, c) in self.hidden.into_iter().enumerate() {
            cols.push(Column::new(format!("h_{i}").into(), c));
        }
        Ok(DataFrame::new_infer_height(cols)?)
    }
}

/// training.parquet: one row per update and seed.
pub fn curve_dataframe(per_seed: &[(u64, &[UpdateRow])]) -> Result<DataFrame> {
    let mut seed = vec![];
    let mut update = vec![];
    let mut episodes = vec![];
    let mut reward = vec![];
    let mut pl = vec![];
    let mut vl = vec![];
    let mut ent = vec![];
    let mut gn = vec![];
    let mut sps = vec![];
    for (s, rows) in per_seed {
        for r in rows.iter() {
            seed.push(*s);
            update.push(r.update);
            episodes.push(r.episodes);
            reward.push(r.mean_episode_reward);
            pl.push(r.policy_loss);
            vl.push(r.value_loss);
            ent.push(r.entropy);
            gn.push(r.grad_norm);
            sps.push(r.env_steps_per_sec);
        }
    }
    Ok(DataFrame::new_infer_height(vec![
        Column::new("seed".into(), seed),
        Column::new("update".into(), update),
        Column::new("episodes".into(), episodes),
        Column::new("mean_episode_reward".into(), reward),
        Column::new("policy_loss".into(), pl),
        Column::new("value_loss".into(), vl),
        Column::new("entropy".into(), ent),
        Column::new("grad_norm".into(), gn),
        Column::new("env_steps_per_sec".into(), sps),
    ])?)
}

/// Write a file via a temporary name in the same directory, then rename, so a
/// crash never leaves a half-written result under the final name.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut File) -> Result<()>) -> Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    // A stop that exits at once waits for this write (no temporary file left).
    let _writing = crate::interrupt::writing();
    {
        let mut f =
            File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        write(&mut f)?;
        f.sync_all().ok();
    }
    crate::interrupt::test_slow_write();
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

pub fn write_text_atomic(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    write_atomic(path, |f| Ok(f.write_all(text.as_bytes())?))
}

pub fn write_parquet(path: &Path, df: &mut DataFrame) -> Result<()> {
    write_atomic(path, |f| {
        ParquetWriter::new(f).finish(df)?;
        Ok(())
    })
    .with_context(|| format!("writing {}", path.display()))
}

/// A column of a trial table as u64 / f64 values, with an error naming a missing column.
pub fn col_u64(df: &DataFrame, name: &str) -> Result<Vec<u64>> {
    let s = df
        .column(name)
        .map_err(|_| anyhow::anyhow!("trial table has no column {name}"))?;
    Ok(s.cast(&DataType::UInt64)?
        .u64()?
        .into_no_null_iter()
        .collect())
}

pub fn col_f64(df: &DataFrame, name: &str) -> Result<Vec<f64>> {
    let s = df
        .column(name)
        .map_err(|_| anyhow::anyhow!("trial table has no column {name}"))?;
    Ok(s.cast(&DataType::Float64)?
        .f64()?
        .into_no_null_iter()
        .collect())
}

/// The hidden-state columns h_0, h_1, .. of a trial table (as many as it has),
/// each taken at `rows` in that order: one Vec per unit, empty if none was recorded.
pub fn hidden_columns(df: &DataFrame, rows: &[usize]) -> Vec<Vec<f64>> {
    let mut hidden = vec![];
    while let Ok(h) = col_f64(df, &format!("h_{}", hidden.len())) {
        hidden.push(rows.iter().map(|&i| h[i]).collect());
    }
    hidden
}

/// The rows of a bandit table at which the choice is made, in table order:
/// step_in_trial = 1 with the task's fixation step, 0 without it (one step per
/// trial). A later step means the table was not written with this config.
pub fn choice_rows(step_in_trial: &[u64], fixation_step: bool) -> Result<Vec<usize>> {
    let choice = fixation_step as u64;
    if let Some(&s) = step_in_trial.iter().find(|&&s| s > choice) {
        bail!(
            "trials.parquet has a row with step_in_trial = {s}, but task.fixation_step = \
             {fixation_step} allows at most {choice}: the table was not written with this config"
        );
    }
    Ok((0..step_in_trial.len())
        .filter(|&i| step_in_trial[i] == choice)
        .collect())
}

/// A string column (e.g. `variant`, `condition`) as owned strings.
pub fn col_str(df: &DataFrame, name: &str) -> Result<Vec<String>> {
    let s = df
        .column(name)
        .map_err(|_| anyhow::anyhow!("trial table has no column {name}"))?;
    let ca = s.str()?;
    (0..ca.len())
        .map(|i| {
            ca.get(i)
                .map(str::to_string)
                .ok_or_else(|| anyhow::anyhow!("column {name} has a missing value at row {i}"))
        })
        .collect()
}

pub fn read_parquet(path: &Path) -> Result<DataFrame> {
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    ParquetReader::new(f)
        .finish()
        .map_err(|e| anyhow::anyhow!("cannot read {} as Parquet: {e}", path.display()))
}

/// Only `columns` of a Parquet file (less memory than reading every column).
pub fn read_parquet_columns(path: &Path, columns: &[&str]) -> Result<DataFrame> {
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    ParquetReader::new(f)
        .with_columns(Some(columns.iter().map(|c| c.to_string()).collect()))
        .finish()
        .map_err(|e| anyhow::anyhow!("cannot read {} as Parquet: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_parquet_columns_reads_only_the_named_columns() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("t.parquet");
        let mut df = DataFrame::new(
            3,
            vec![
                Column::new("a".into(), vec![1u32, 2, 3]),
                Column::new("b".into(), vec![0.5f32, 1.5, 2.5]),
                Column::new("c".into(), vec![7u64, 8, 9]),
            ],
        )
        .unwrap();
        write_parquet(&path, &mut df).unwrap();
        let got = read_parquet_columns(&path, &["c", "a"]).unwrap();
        let names: Vec<String> = got
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(names.len(), 2);
        assert!(names.contains(&"a".to_string()) && names.contains(&"c".to_string()));
        assert_eq!(col_u64(&got, "c").unwrap(), vec![7, 8, 9]);
        assert!(read_parquet_columns(&path, &["nope"]).is_err());
    }
}
