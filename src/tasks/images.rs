//! Procedural pictures for the Harlow task (Simulation 5): small greyscale
//! images built from a textured background (flat, gradient, stripes, checks or
//! dots) and one to three foreground shapes (disc, ring, square, frame, diamond,
//! triangle, plus, cross, stroke, ellipse) in contrasting grey levels — structure
//! that an encoder can learn, not white noise.
//!
//! Deterministic: every pool is a pure function of its `PoolSpec` (a ChaCha
//! stream per pool; only +, −, ×, ÷ and comparisons, so the pixels do not depend
//! on a platform's libm). The training pool and the test pool are drawn from
//! different streams, and a candidate image is kept only if its RMS distance to
//! every image already kept, in either pool, is at least `min_distance`: no
//! image appears twice, and no test image is a near-copy of a training image.
//!
//! The symbolic control replaces every image by a random binary code of the
//! same size (one fixed code per image; each pixel, with probability ½, at the
//! images' mean grey level minus or plus their standard deviation, so that the
//! codes have the images' mean and contrast): the same network reads it, but
//! there is nothing visual to learn. (Codes of 0s and 1s, with about twice the
//! images' contrast, left 3 of 8 development seeds without one-shot learning
//! after 12,000 episodes, 2 of them still at chance after 40,000; README,
//! Simulation 5.)
//!
//! Pools are built once per process and spec and shared (`pools`).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

/// What stands for an object: a procedural picture, or a random binary code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stimuli {
    Images,
    Symbols,
}

/// Everything that determines a pair of pools.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolSpec {
    pub stimuli: Stimuli,
    /// Side length in pixels (images are side × side, greyscale).
    pub side: usize,
    pub n_train: usize,
    pub n_test: usize,
    pub seed: u64,
    /// Minimum RMS pixel distance (values in [0, 1]) between any two images.
    pub min_distance: f64,
}

/// The training and the test pool, row-major: image i of a pool is
/// `pixels[i * side² .. (i + 1) * side²]`, values in [0, 1].
#[derive(Debug)]
pub struct Pools {
    pub side: usize,
    pub train: Vec<f32>,
    pub test: Vec<f32>,
    /// Candidates rejected as too close to an image already in a pool.
    pub rejected: usize,
}

impl Pools {
    pub fn pixels(&self) -> usize {
        self.side * self.side
    }
    pub fn n_train(&self) -> usize {
        self.train.len() / self.pixels()
    }
    pub fn n_test(&self) -> usize {
        self.test.len() / self.pixels()
    }
    /// Image `i` of the training (`test = false`) or test pool.
    pub fn image(&self, test: bool, i: usize) -> &[f32] {
        let p = self.pixels();
        let pool = if test { &self.test } else { &self.train };
        &pool[i * p..(i + 1) * p]
    }
}

/// Mean and standard deviation of grey levels.
pub fn mean_sd(pixels: &[f32]) -> (f32, f32) {
    let n = pixels.len() as f64;
    let mean = pixels.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = pixels
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean as f32, var.sqrt() as f32)
}

/// RMS distance between two images.
pub fn rms_distance(a: &[f32], b: &[f32]) -> f64 {
    let s: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
    (s / a.len() as f64).sqrt()
}

/// Streams of the pool generator (fixed, so that a spec always gives the same pools).
const TRAIN_STREAM: u64 = 11;
const TEST_STREAM: u64 = 12;

/// Build both pools (slow path; `pools` caches).
pub fn build_pools(spec: &PoolSpec) -> Pools {
    let p = spec.side * spec.side;
    // The two grey levels of the symbolic codes: the images' mean ± s.d.
    let levels = match spec.stimuli {
        Stimuli::Images => [0.0, 1.0],
        Stimuli::Symbols => {
            let images = build_pools(&PoolSpec {
                stimuli: Stimuli::Images,
                ..spec.clone()
            });
            let (mean, sd) = mean_sd(&images.train);
            [mean - sd, mean + sd]
        }
    };
    let mut kept: Vec<f32> = Vec::with_capacity((spec.n_train + spec.n_test) * p);
    let mut rejected = 0;
    let mut candidate = vec![0.0f32; p];
    for (stream, n) in [(TRAIN_STREAM, spec.n_train), (TEST_STREAM, spec.n_test)] {
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        rng.set_stream(stream);
        let start = kept.len() / p;
        while kept.len() / p < start + n {
            match spec.stimuli {
                Stimuli::Images => draw_image(&mut rng, spec.side, &mut candidate),
                Stimuli::Symbols => {
                    for v in candidate.iter_mut() {
                        *v = levels[rng.random_range(0..2usize)];
                    }
                }
            }
            let too_close = kept
                .chunks_exact(p)
                .any(|other| rms_distance(other, &candidate) < spec.min_distance);
            if too_close {
                rejected += 1;
                assert!(
                    rejected < 100 * (spec.n_train + spec.n_test) + 1000,
                    "image pools: too many candidates rejected; lower task.min_image_distance"
                );
                continue;
            }
            kept.extend_from_slice(&candidate);
        }
    }
    let test = kept.split_off(spec.n_train * p);
    Pools {
        side: spec.side,
        train: kept,
        test,
        rejected,
    }
}

type Cache = Mutex<Vec<(PoolSpec, Arc<Pools>)>>;
static CACHE: Cache = Mutex::new(Vec::new());

/// The pools of a spec, built on first use and shared by every task instance
/// of the process.
pub fn pools(spec: &PoolSpec) -> Arc<Pools> {
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, p)) = cache.iter().find(|(s, _)| s == spec) {
        return p.clone();
    }
    let p = Arc::new(build_pools(spec));
    cache.push((spec.clone(), p.clone()));
    p
}

/// A grey level in [0, 1] at least `contrast` away from `other` (or, if none
/// fits, the level of the two extremes farther from it).
fn contrasting(rng: &mut ChaCha8Rng, other: f32, contrast: f32) -> f32 {
    let below = (other - contrast).max(0.0);
    let above = (1.0 - (other + contrast)).max(0.0);
    if below + above <= 0.0 {
        return if other > 0.5 { 0.0 } else { 1.0 };
    }
    let u = rng.random_range(0.0..below + above);
    if u < below {
        u
    } else {
        other + contrast + (u - below)
    }
}

/// Eight directions (unit vectors, no trigonometry needed).
const DIRS: [(f32, f32); 8] = [
    (1.0, 0.0),
    (0.707_106_77, 0.707_106_77),
    (0.0, 1.0),
    (-0.707_106_77, 0.707_106_77),
    (-1.0, 0.0),
    (-0.707_106_77, -0.707_106_77),
    (0.0, -1.0),
    (0.707_106_77, -0.707_106_77),
];

#[derive(Debug, Clone, Copy)]
enum Background {
    Flat(f32),
    /// Levels at the two ends and a direction.
    Gradient(f32, f32, (f32, f32)),
    /// Two levels, period in pixels, direction index 0..4 (|, −, /, \).
    Stripes(f32, f32, f32, usize),
    Checks(f32, f32, f32),
    /// Background level, dot level, spacing, radius.
    Dots(f32, f32, f32, f32),
}

impl Background {
    fn draw(rng: &mut ChaCha8Rng, side: f32) -> Self {
        let l1 = rng.random_range(0.0..1.0f32);
        match rng.random_range(0..5) {
            0 => Background::Flat(l1),
            1 => Background::Gradient(l1, contrasting(rng, l1, 0.3), DIRS[rng.random_range(0..8)]),
            2 => Background::Stripes(
                l1,
                contrasting(rng, l1, 0.25),
                rng.random_range(2..5) as f32,
                rng.random_range(0..4),
            ),
            3 => Background::Checks(
                l1,
                contrasting(rng, l1, 0.25),
                rng.random_range(2..5) as f32,
            ),
            _ => Background::Dots(
                l1,
                contrasting(rng, l1, 0.3),
                rng.random_range(3..5) as f32,
                rng.random_range(0.5..1.0f32) * side / 12.0,
            ),
        }
    }

    /// Mean grey level (for choosing contrasting shapes).
    fn mean(&self) -> f32 {
        match *self {
            Background::Flat(l) | Background::Dots(l, _, _, _) => l,
            Background::Gradient(a, b, _)
            | Background::Stripes(a, b, _, _)
            | Background::Checks(a, b, _) => 0.5 * (a + b),
        }
    }

    fn at(&self, x: f32, y: f32, side: f32) -> f32 {
        match *self {
            Background::Flat(l) => l,
            Background::Gradient(a, b, (dx, dy)) => {
                // Projection of the point on the direction, scaled to [0, 1].
                let c = side / 2.0;
                let t = ((x - c) * dx + (y - c) * dy) / side + 0.5;
                a + (b - a) * t.clamp(0.0, 1.0)
            }
            Background::Stripes(a, b, period, dir) => {
                let u = match dir {
                    0 => x,
                    1 => y,
                    2 => (x + y) * 0.707_106_77,
                    _ => (x - y + side) * 0.707_106_77,
                };
                if (u / period).floor() as i64 % 2 == 0 {
                    a
                } else {
                    b
                }
            }
            Background::Checks(a, b, cell) => {
                if ((x / cell).floor() as i64 + (y / cell).floor() as i64) % 2 == 0 {
                    a
                } else {
                    b
                }
            }
            Background::Dots(a, b, spacing, r) => {
                let fx = x - (x / spacing).floor() * spacing - spacing / 2.0;
                let fy = y - (y / spacing).floor() * spacing - spacing / 2.0;
                if fx * fx + fy * fy <= r * r {
                    b
                } else {
                    a
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum ShapeKind {
    Disc,
    Ring,
    Square,
    Frame,
    Diamond,
    Triangle(usize),
    Plus,
    Cross,
    Stroke(f32, f32, f32, f32),
    Ellipse(bool),
}

#[derive(Debug, Clone, Copy)]
struct Shape {
    kind: ShapeKind,
    cx: f32,
    cy: f32,
    r: f32,
    level: f32,
}

impl Shape {
    fn draw(rng: &mut ChaCha8Rng, side: f32, background: f32) -> Self {
        let r = rng.random_range(0.15..0.36f32) * side;
        let margin = 0.5 * r.min(side / 4.0);
        let cx = rng.random_range(margin..side - margin);
        let cy = rng.random_range(margin..side - margin);
        let kind = match rng.random_range(0..10) {
            0 => ShapeKind::Disc,
            1 => ShapeKind::Ring,
            2 => ShapeKind::Square,
            3 => ShapeKind::Frame,
            4 => ShapeKind::Diamond,
            5 => ShapeKind::Triangle(rng.random_range(0..4)),
            6 => ShapeKind::Plus,
            7 => ShapeKind::Cross,
            8 => {
                let (x1, y1) = (rng.random_range(0.0..side), rng.random_range(0.0..side));
                let (x2, y2) = (rng.random_range(0.0..side), rng.random_range(0.0..side));
                ShapeKind::Stroke(x1, y1, x2, y2)
            }
            _ => ShapeKind::Ellipse(rng.random_bool(0.5)),
        };
        Shape {
            kind,
            cx,
            cy,
            r,
            level: contrasting(rng, background, 0.35),
        }
    }

    fn covers(&self, x: f32, y: f32, side: f32) -> bool {
        let (dx, dy, r) = (x - self.cx, y - self.cy, self.r);
        // Line width of thin shapes, scaled with the image.
        let w = 0.09 * side;
        match self.kind {
            ShapeKind::Disc => dx * dx + dy * dy <= r * r,
            ShapeKind::Ring => {
                let d2 = dx * dx + dy * dy;
                d2 <= r * r && d2 >= (r - 1.6 * w) * (r - 1.6 * w)
            }
            ShapeKind::Square => dx.abs() <= 0.8 * r && dy.abs() <= 0.8 * r,
            ShapeKind::Frame => {
                let m = dx.abs().max(dy.abs());
                m <= 0.85 * r && m >= 0.85 * r - 1.6 * w
            }
            ShapeKind::Diamond => dx.abs() + dy.abs() <= r,
            ShapeKind::Triangle(dir) => {
                // Apex towards `dir` (up, right, down, left); u along the axis.
                let (u, v) = match dir {
                    0 => (dy, dx),
                    1 => (-dx, dy),
                    2 => (-dy, dx),
                    _ => (dx, dy),
                };
                u >= -r && u <= r && v.abs() <= 0.5 * (u + r)
            }
            ShapeKind::Plus => (dx.abs() <= w && dy.abs() <= r) || (dy.abs() <= w && dx.abs() <= r),
            ShapeKind::Cross => {
                let (a, b) = ((dx + dy) * 0.707_106_77, (dx - dy) * 0.707_106_77);
                (a.abs() <= w && b.abs() <= r) || (b.abs() <= w && a.abs() <= r)
            }
            ShapeKind::Stroke(x1, y1, x2, y2) => {
                // Distance from the point to the segment, compared squared.
                let (sx, sy) = (x2 - x1, y2 - y1);
                let len2 = sx * sx + sy * sy;
                let t = if len2 > 0.0 {
                    (((x - x1) * sx + (y - y1) * sy) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let (px, py) = (x1 + t * sx - x, y1 + t * sy - y);
                px * px + py * py <= w * w
            }
            ShapeKind::Ellipse(wide) => {
                let (a, b) = if wide { (r, 0.5 * r) } else { (0.5 * r, r) };
                (dx * dx) / (a * a) + (dy * dy) / (b * b) <= 1.0
            }
        }
    }
}

/// Supersampling per pixel axis (3 × 3 points per pixel: smooth edges).
const SUPER: usize = 3;

/// Draw one image (side × side, values in [0, 1]) into `out`.
pub fn draw_image(rng: &mut ChaCha8Rng, side: usize, out: &mut [f32]) {
    let s = side as f32;
    let bg = Background::draw(rng, s);
    let n_shapes = rng.random_range(1..4);
    let shapes: Vec<Shape> = (0..n_shapes)
        .map(|_| Shape::draw(rng, s, bg.mean()))
        .collect();
    let inv = 1.0 / (SUPER * SUPER) as f32;
    for py in 0..side {
        for px in 0..side {
            let mut acc = 0.0;
            for sy in 0..SUPER {
                for sx in 0..SUPER {
                    let x = px as f32 + (sx as f32 + 0.5) / SUPER as f32;
                    let y = py as f32 + (sy as f32 + 0.5) / SUPER as f32;
                    // The last shape drawn that covers the point wins.
                    let v = shapes
                        .iter()
                        .rev()
                        .find(|sh| sh.covers(x, y, s))
                        .map_or_else(|| bg.at(x, y, s), |sh| sh.level);
                    acc += v;
                }
            }
            out[py * side + px] = (acc * inv).clamp(0.0, 1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(stimuli: Stimuli) -> PoolSpec {
        PoolSpec {
            stimuli,
            side: 12,
            n_train: 200,
            n_test: 100,
            seed: 3,
            min_distance: 0.05,
        }
    }

    #[test]
    fn pools_are_deterministic_in_range_and_cached() {
        for st in [Stimuli::Images, Stimuli::Symbols] {
            let a = build_pools(&spec(st));
            let b = build_pools(&spec(st));
            assert_eq!(a.train, b.train);
            assert_eq!(a.test, b.test);
            assert_eq!((a.n_train(), a.n_test()), (200, 100));
            assert!(a
                .train
                .iter()
                .chain(&a.test)
                .all(|v| (0.0..=1.0).contains(v)));
            let c = pools(&spec(st));
            assert!(Arc::ptr_eq(&c, &pools(&spec(st))));
            assert_eq!(c.train, a.train);
        }
    }

    #[test]
    fn symbols_have_the_images_mean_and_contrast() {
        let images = build_pools(&spec(Stimuli::Images));
        let symbols = build_pools(&spec(Stimuli::Symbols));
        let (mi, si) = mean_sd(&images.train);
        let (ms, ss) = mean_sd(&symbols.train);
        assert!(
            (mi - ms).abs() < 0.01 && (si - ss).abs() < 0.01,
            "{mi} {si} vs {ms} {ss}"
        );
        let mut levels: Vec<f32> = symbols.train.clone();
        levels.sort_by(f32::total_cmp);
        levels.dedup();
        assert_eq!(levels, vec![mi - si, mi + si], "binary codes");
    }

    #[test]
    fn images_have_structure_not_noise() {
        // Neighbouring pixels of a picture are strongly correlated; of a random
        // binary code they are not.
        let corr = |pools: &Pools| {
            let side = pools.side;
            let (mut sxy, mut sxx, mut syy) = (0.0f64, 0.0f64, 0.0f64);
            for i in 0..pools.n_train() {
                let img = pools.image(false, i);
                let m = img.iter().map(|&v| v as f64).sum::<f64>() / img.len() as f64;
                for y in 0..side {
                    for x in 0..side - 1 {
                        let (a, b) = (
                            img[y * side + x] as f64 - m,
                            img[y * side + x + 1] as f64 - m,
                        );
                        sxy += a * b;
                        sxx += a * a;
                        syy += b * b;
                    }
                }
            }
            sxy / (sxx * syy).sqrt()
        };
        let images = corr(&build_pools(&spec(Stimuli::Images)));
        let symbols = corr(&build_pools(&spec(Stimuli::Symbols)));
        assert!(images > 0.5, "neighbour correlation of images {images}");
        assert!(
            symbols.abs() < 0.05,
            "neighbour correlation of codes {symbols}"
        );
    }
}
