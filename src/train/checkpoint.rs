//! Resume checkpoints of one seed's training: everything `train_seed_resumable`
//! needs to continue bit-identically after an interruption.
//!
//! A small binary file (floats as their exact bits, little-endian):
//! magic and version; seed, total updates and batch (checked on load); updates
//! done, network steps, trials and training seconds so far; the word positions
//! of the training task and policy RNG streams (ChaCha, whose seed and stream
//! are derived from the seed); the network's parameters and its optimiser's
//! moments and step count; the RPE input's critic and its optimiser if any; the
//! stage snapshots taken so far; the training curve so far; and an FNV-1a
//! checksum of all of it. Everything else a `Trainer` holds (gradients, rollout
//! and LSTM buffers, task instances) is rebuilt each update from these.

use super::{Progress, Trainer, UpdateRow};
use crate::agent::{Optim, Params};
use anyhow::{bail, Context, Result};
use std::path::Path;

const MAGIC: &[u8; 14] = b"METARL-RESUME\n";
const VERSION: u32 = 1;

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

struct Writer(Vec<u8>);

impl Writer {
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u128(&mut self, v: u128) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.u64(v.to_bits());
    }
    fn params(&mut self, p: &Params) {
        for t in p.tensors() {
            self.u64(t.len() as u64);
            for v in t {
                self.u32(v.to_bits());
            }
        }
    }
    fn optim(&mut self, o: &Optim) {
        let (first, second, step) = o.state();
        self.params(first);
        self.params(second);
        self.u32(step as u32);
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if self.at + n > self.bytes.len() {
            bail!("truncated");
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into()?))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into()?))
    }
    fn u128(&mut self) -> Result<u128> {
        Ok(u128::from_le_bytes(self.take(16)?.try_into()?))
    }
    fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(self.u64()?))
    }
    /// Fill `p` (which has the network's shapes) from the file.
    fn params_into(&mut self, p: &mut Params) -> Result<()> {
        for t in p.tensors_mut() {
            let n = self.u64()? as usize;
            if n != t.len() {
                bail!(
                    "a tensor has {n} values, the network {} (another config?)",
                    t.len()
                );
            }
            for v in t.iter_mut() {
                *v = f32::from_bits(self.u32()?);
            }
        }
        Ok(())
    }
    fn optim_into(&mut self, o: &mut Optim) -> Result<()> {
        let (first, second, step) = o.state_mut();
        self.params_into(first)?;
        self.params_into(second)?;
        *step = self.u32()? as i32;
        Ok(())
    }
}

/// The identity of a seed's training, stored in its checkpoint and checked on load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Identity {
    pub seed: u64,
    pub n_updates: usize,
    pub batch: usize,
}

pub(super) fn encode(id: Identity, trainer: &Trainer, progress: &Progress) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(1 << 16));
    w.0.extend_from_slice(MAGIC);
    w.u32(VERSION);
    w.u64(id.seed);
    w.u64(id.n_updates as u64);
    w.u64(id.batch as u64);
    w.u64(progress.update as u64);
    w.u64(progress.env_steps);
    w.u64(progress.trials);
    w.f64(progress.seconds);
    w.u128(trainer.task_rng.get_word_pos());
    w.u128(trainer.policy_rng.get_word_pos());
    w.params(&trainer.params);
    w.optim(&trainer.opt);
    match (&trainer.critic, &trainer.critic_opt) {
        (Some(c), Some(o)) => {
            w.0.push(1);
            w.params(c);
            w.optim(o);
        }
        _ => w.0.push(0),
    }
    w.u64(progress.snapshots.len() as u64);
    for (episodes, p) in &progress.snapshots {
        w.u64(*episodes as u64);
        w.params(p);
    }
    w.u64(progress.curve.len() as u64);
    for r in &progress.curve {
        w.u32(r.update);
        w.u64(r.episodes);
        for v in [
            r.mean_episode_reward,
            r.policy_loss,
            r.value_loss,
            r.entropy,
            r.grad_norm,
            r.env_steps_per_sec,
        ] {
            w.f64(v);
        }
    }
    let sum = fnv1a(&w.0);
    w.u64(sum);
    w.0
}

/// Restore `trainer` (freshly built for the same config and seed) from a
/// checkpoint and return the progress it holds.
pub(super) fn decode(bytes: &[u8], id: Identity, trainer: &mut Trainer) -> Result<Progress> {
    if bytes.len() < MAGIC.len() + 12 || &bytes[..MAGIC.len()] != MAGIC {
        bail!("not a metarl resume checkpoint");
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if fnv1a(body) != u64::from_le_bytes(sum.try_into()?) {
        bail!("checksum mismatch (corrupt file)");
    }
    let mut r = Reader {
        bytes: body,
        at: MAGIC.len(),
    };
    let version = r.u32()?;
    if version != VERSION {
        bail!("format version {version}, this metarl reads {VERSION}");
    }
    let stored = Identity {
        seed: r.u64()?,
        n_updates: r.u64()? as usize,
        batch: r.u64()? as usize,
    };
    if stored != id {
        bail!(
            "it is of seed {} with {} updates of batch {}, but the run's config asks for seed {} with {} updates of batch {}",
            stored.seed, stored.n_updates, stored.batch, id.seed, id.n_updates, id.batch
        );
    }
    let update = r.u64()? as usize;
    if update > id.n_updates {
        bail!("{update} updates done of {}", id.n_updates);
    }
    let env_steps = r.u64()?;
    let trials = r.u64()?;
    let seconds = r.f64()?;
    trainer.task_rng.set_word_pos(r.u128()?);
    trainer.policy_rng.set_word_pos(r.u128()?);
    r.params_into(&mut trainer.params)?;
    r.optim_into(&mut trainer.opt)?;
    let has_critic = r.take(1)?[0] == 1;
    match (has_critic, &mut trainer.critic, &mut trainer.critic_opt) {
        (true, Some(c), Some(o)) => {
            r.params_into(c)?;
            r.optim_into(o)?;
        }
        (false, None, _) => {}
        _ => bail!("the critic (agent.feedback = \"rpe\") does not match the config"),
    }
    let n_snap = r.u64()? as usize;
    let mut snapshots = Vec::with_capacity(n_snap.min(1024));
    for _ in 0..n_snap {
        let episodes = r.u64()? as usize;
        let mut p = trainer.params.zeros_like();
        r.params_into(&mut p)?;
        snapshots.push((episodes, p));
    }
    let n_curve = r.u64()? as usize;
    if n_curve != update {
        bail!("{n_curve} curve rows for {update} updates");
    }
    let mut curve = Vec::with_capacity(id.n_updates);
    for _ in 0..n_curve {
        curve.push(UpdateRow {
            update: r.u32()?,
            episodes: r.u64()?,
            mean_episode_reward: r.f64()?,
            policy_loss: r.f64()?,
            value_loss: r.f64()?,
            entropy: r.f64()?,
            grad_norm: r.f64()?,
            env_steps_per_sec: r.f64()?,
        });
    }
    if r.at != body.len() {
        bail!("{} unexpected trailing bytes", body.len() - r.at);
    }
    Ok(Progress {
        update,
        snapshots,
        curve,
        env_steps,
        trials,
        seconds,
    })
}

/// Write a checkpoint atomically (temporary file, then rename).
pub(super) fn save(
    path: &Path,
    id: Identity,
    trainer: &Trainer,
    progress: &Progress,
) -> Result<()> {
    let bytes = encode(id, trainer, progress);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    crate::record::write_atomic(path, |f| {
        use std::io::Write;
        Ok(f.write_all(&bytes)?)
    })
}

/// Read a checkpoint into `trainer`; errors name the file.
pub(super) fn load(path: &Path, id: Identity, trainer: &mut Trainer) -> Result<Progress> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    decode(&bytes, id, trainer).map_err(|e| {
        anyhow::anyhow!(
            "resume checkpoint {}: {e:#}; delete it to train this seed from the start",
            path.display()
        )
    })
}
