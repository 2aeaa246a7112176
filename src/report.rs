//! The reproduction report: `metarl report --all` gathers the latest run of
//! every shipped experiment into one document, REPRODUCTION.md and a
//! self-contained REPRODUCTION.html (figures embedded). For each experiment:
//! the paper's claim, the figure, the check table with per-seed values, every
//! deviation from the paper (read from the experiment's TOML, so the report
//! cannot drift from it), the training curves, wall time and throughput. At the
//! top, a one-screen summary, which also goes into the README between two
//! marker comments, so the README and the report never disagree.

use crate::checks::{self, CheckResult};
use crate::config::{self, Config};
use crate::run::{self, Manifest};
use crate::stats::Estimate;
use anyhow::{Context, Result};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// How an experiment's checks came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every check passes.
    Reproduced,
    /// Some checks pass.
    Partly,
    /// No check passes.
    NotReproduced,
    /// No finished run to report.
    Missing,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Reproduced => "reproduced",
            Status::Partly => "partly",
            Status::NotReproduced => "not reproduced",
            Status::Missing => "no run",
        }
    }
}

/// A deviation from the paper, as written in the experiment's TOML.
#[derive(Debug, Clone, PartialEq)]
pub struct Deviation {
    /// The key it is written beside (`section.key`), or the section.
    pub key: String,
    /// The comment, from "deviation" on.
    pub text: String,
}

/// One experiment's part of the report.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub title: String,
    pub paper_figure: String,
    pub claim: String,
    pub dir: PathBuf,
    pub status: Status,
    /// The key number: metric name, its estimate, the paper's value.
    pub key: Option<(String, Estimate, Option<f64>)>,
    pub checks: Vec<CheckResult>,
    pub deviations: Vec<Deviation>,
    /// Where the deviations were read from.
    pub source: String,
    /// The run's figures (PNG), the experiment's first and its training curves last.
    pub figures: Vec<PathBuf>,
    pub manifest: Option<Manifest>,
    /// Why there is nothing to report, for a missing or unreadable run.
    pub error: Option<String>,
    /// Seeds whose training diverged (not in any number of the run).
    pub failed_seeds: Vec<crate::run::FailedSeed>,
}

/// The deviations written in an experiment TOML: every comment that starts with
/// "deviation" (then a space, "(" or ":"), with its continuation lines (the
/// comment-only lines right after it that do not start a new `paper:`,
/// `choice:` or `deviation` note).
pub fn deviations(toml_text: &str) -> Vec<Deviation> {
    let is_marker = |c: &str| {
        let c = c.trim_start().to_lowercase();
        let starts = |w: &str| {
            c.starts_with(w)
                && c[w.len()..]
                    .chars()
                    .next()
                    .is_none_or(|ch| !ch.is_alphabetic())
        };
        starts("deviation") || starts("choice") || starts("paper")
    };
    let mut out: Vec<Deviation> = vec![];
    let mut section = String::new();
    let mut open = false;
    for line in toml_text.lines() {
        let trimmed = line.trim();
        let (code, comment) = match line.find('#') {
            Some(i) => (line[..i].trim(), Some(line[i + 1..].trim())),
            None => (trimmed, None),
        };
        if code.starts_with('[') {
            section = code.trim_matches(|c| c == '[' || c == ']').to_string();
        }
        match comment {
            Some(c) if c.to_lowercase().starts_with("deviation") && is_marker(c) => {
                let key = match code.split_once('=') {
                    Some((k, _)) if !code.starts_with('[') => format!("{section}.{}", k.trim()),
                    _ => section.clone(),
                };
                out.push(Deviation {
                    key,
                    text: c.to_string(),
                });
                open = true;
            }
            Some(c) if open && code.is_empty() && !c.is_empty() && !is_marker(c) => {
                let last = out.last_mut().expect("open deviation");
                last.text.push(' ');
                last.text.push_str(c);
            }
            _ => open = false,
        }
    }
    out
}

fn read_manifest(dir: &Path) -> Option<Manifest> {
    let text = std::fs::read_to_string(dir.join("manifest.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// The TOML text a run was made from (for its deviations), and where it is.
fn source_text(manifest: Option<&Manifest>, name: &str) -> (String, String) {
    if let Some(m) = manifest {
        if let Some(n) = m.source.strip_prefix("built-in ") {
            if let Some(t) = config::shipped_text(n) {
                return (t.to_string(), format!("experiments/{n}.toml"));
            }
        } else if let Ok(t) = std::fs::read_to_string(&m.source) {
            return (t, m.source.clone());
        }
    }
    match config::shipped_text(name) {
        Some(t) => (t.to_string(), format!("experiments/{name}.toml")),
        None => (String::new(), "unknown".into()),
    }
}

/// The report entry of one run directory (`name` is the experiment it should hold).
pub fn entry(name: &str, dir: &Path) -> Entry {
    let shipped =
        config::shipped_text(name).and_then(|t| crate::experiments::parse(t, name, None).ok());
    let meta = |c: &Config| {
        (
            c.experiment.title.clone(),
            c.experiment.paper_figure.clone(),
            c.experiment.claim.clone(),
        )
    };
    let (title, paper_figure, claim) =
        shipped
            .as_ref()
            .map(meta)
            .unwrap_or((name.to_string(), String::new(), String::new()));
    let manifest = read_manifest(dir);
    let (text, source) = source_text(manifest.as_ref(), name);
    let mut e = Entry {
        name: name.to_string(),
        title,
        paper_figure,
        claim,
        dir: dir.to_path_buf(),
        status: Status::Missing,
        key: None,
        checks: vec![],
        deviations: deviations(&text),
        source,
        figures: vec![],
        manifest,
        error: None,
        failed_seeds: vec![],
    };
    let loaded = run::run_config(dir).and_then(|cfg| {
        let o = run::run_outcomes(dir, &cfg)?;
        Ok((cfg, o))
    });
    let (cfg, outcomes) = match loaded {
        Ok(x) => x,
        Err(err) => {
            e.error = Some(format!("{err:#}"));
            return e;
        }
    };
    // runs/<name> must hold a run of <name>, or its rows would stand in another's place.
    if cfg.experiment.name != name {
        e.error = Some(format!(
            "{} holds a run of `{}`, not of `{name}`",
            dir.display(),
            cfg.experiment.name
        ));
        return e;
    }
    (e.title, e.paper_figure, e.claim) = meta(&cfg);
    e.failed_seeds = outcomes.failed_seeds.clone();
    e.checks = checks::evaluate(&cfg.checks, &outcomes);
    let passed = e.checks.iter().filter(|c| c.passed).count();
    e.status = if e.checks.is_empty() || passed == 0 {
        Status::NotReproduced
    } else if passed == e.checks.len() && outcomes.failed_seeds.is_empty() {
        Status::Reproduced
    } else {
        Status::Partly
    };
    let key = cfg
        .experiment
        .key_metric
        .clone()
        .or_else(|| cfg.checks.first().map(|c| c.metric.clone()));
    if let Some(k) = key {
        let paper = cfg
            .checks
            .iter()
            .find(|c| c.metric == k)
            .and_then(|c| c.paper);
        if let Some(m) = outcomes.metrics.get(&k) {
            e.key = Some((k, m.estimate.clone(), paper));
        }
    }
    let fig_dir = dir.join("figures");
    let mut pngs: Vec<PathBuf> = std::fs::read_dir(&fig_dir)
        .map(|d| {
            d.filter_map(|x| x.ok().map(|x| x.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "png"))
                .collect()
        })
        .unwrap_or_default();
    // The experiment's own figure first, the training curves last.
    pngs.sort_by_key(|p| {
        let stem = p
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        (stem.ends_with("_training"), stem != name, stem)
    });
    e.figures = pngs;
    e
}

/// Entries for every shipped experiment's run in `runs_root/<name>`.
pub fn collect(runs_root: &Path) -> Vec<Entry> {
    config::shipped()
        .iter()
        .map(|(name, _)| entry(name, &runs_root.join(name)))
        .collect()
}

fn fmt_est(e: &Estimate) -> String {
    format!("{:.3} [{:.3}, {:.3}]", e.mean, e.ci_low, e.ci_high)
}

fn fmt_num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v != 0.0 && (v.abs() >= 1e4 || v.abs() < 1e-3) {
        format!("{v:.2e}")
    } else {
        format!("{v:.3}")
    }
}

fn per_seed(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The one-screen summary as a Markdown table (also the README's table).
pub fn summary_table(entries: &[Entry]) -> String {
    let mut s = String::from(
        "| experiment | paper | result | key number: mean [95% CI] (n seeds) | paper's value |\n|---|---|---|---|---|\n",
    );
    for e in entries {
        let checks = if e.status == Status::Missing {
            String::new()
        } else {
            format!(
                " ({} of {} checks)",
                e.checks.iter().filter(|c| c.passed).count(),
                e.checks.len()
            )
        };
        let (key, paper) = match &e.key {
            Some((m, est, paper)) => (
                format!("`{m}` = {} (n = {})", fmt_est(est), est.per_seed.len()),
                paper.map_or("—".to_string(), fmt_num),
            ),
            None => ("—".into(), "—".into()),
        };
        let _ = writeln!(
            s,
            "| {} | {} | **{}**{} | {} | {} |",
            e.title,
            e.paper_figure,
            e.status.label(),
            checks,
            key,
            paper
        );
    }
    s
}

/// Where and by what the report was made.
#[derive(Debug, Clone)]
pub struct Provenance {
    pub date: String,
    pub commit: String,
    pub version: String,
    pub machine: String,
}

impl Provenance {
    pub fn here() -> Provenance {
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        };
        let commit = match git(&["rev-parse", "--short=12", "HEAD"]) {
            Some(c) => {
                let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                    .is_some_and(|s| !s.is_empty());
                if dirty {
                    format!("{c} (with uncommitted changes)")
                } else {
                    c
                }
            }
            None => "unknown (not a git checkout)".into(),
        };
        let date = std::process::Command::new("date")
            .args(["-u", "+%Y-%m-%d %H:%M UTC"])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        Provenance {
            date,
            commit,
            version: env!("CARGO_PKG_VERSION").into(),
            machine: run::cpu_model(),
        }
    }
}

/// Throughput of a run's training: mean over seeds of network steps/s and trials/s.
fn throughput(m: &Manifest) -> (f64, f64) {
    let n = m.per_seed.len().max(1) as f64;
    (
        m.per_seed.iter().map(|s| s.env_steps_per_sec).sum::<f64>() / n,
        m.per_seed.iter().map(|s| s.trials_per_sec).sum::<f64>() / n,
    )
}

fn run_line(m: &Manifest) -> String {
    let wall = m
        .wall_seconds
        .unwrap_or_else(|| m.stage_seconds.values().sum());
    let (steps, trials) = throughput(m);
    // The arithmetic fingerprint, where the manifest has one (README, "Reliability").
    let machine = match &m.numerics {
        Some(f) => format!("{}; numerics {f}", m.cpu),
        None => m.cpu.clone(),
    };
    format!(
        "{} seeds on {} threads ({}): wall time {:.0} s; training throughput per seed {:.0} network steps/s = {:.0} trials/s (mean over seeds).",
        m.seeds.len(),
        m.threads,
        machine,
        wall,
        steps,
        trials
    )
}

/// Copy a figure next to the Markdown report (in `<out>/figures/`) and return
/// its relative path.
fn place_figure(png: &Path, out_dir: &Path) -> Result<String> {
    let name = png.file_name().context("figure name")?;
    let dest_dir = out_dir.join("figures");
    std::fs::create_dir_all(&dest_dir)?;
    let dest = dest_dir.join(name);
    if std::fs::canonicalize(png).ok() != std::fs::canonicalize(&dest).ok() {
        // Through a temporary name, as every write (a stop never leaves half a figure).
        let bytes = std::fs::read(png).with_context(|| format!("cannot read {}", png.display()))?;
        crate::record::write_atomic(&dest, |f| {
            use std::io::Write;
            Ok(f.write_all(&bytes)?)
        })
        .with_context(|| format!("cannot copy {} to {}", png.display(), dest.display()))?;
    }
    Ok(format!("figures/{}", name.to_string_lossy()))
}

/// REPRODUCTION.md, with its figures copied into `<out_dir>/figures/`.
pub fn markdown(entries: &[Entry], p: &Provenance, out_dir: &Path) -> Result<String> {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Reproduction report: Wang et al. 2018, \"Prefrontal cortex as a meta-reinforcement learning system\"\n\n\
         Generated by `metarl report --all` on {} from the latest run of every shipped experiment \
         (`runs/<name>/`, made by `make figures`). Commit {}, pfc-metarl {}, machine: {}. \
         Every number is the mean over seeds with a 95% percentile bootstrap CI; per-seed values \
         follow. A check that fails is shown as failing.\n",
        p.date, p.commit, p.version, p.machine
    );
    s.push_str("## Summary\n\n");
    s.push_str(&summary_table(entries));
    for e in entries {
        let _ = writeln!(s, "\n## {} (paper {})\n", e.title, e.paper_figure);
        if !e.claim.is_empty() {
            let _ = writeln!(s, "**The paper's claim.** {}\n", e.claim);
        }
        let _ = writeln!(s, "**Result: {}.**", e.status.label());
        if let Some(err) = &e.error {
            let _ = writeln!(s, "\nNo finished run in `{}`: {err}", e.dir.display());
            continue;
        }
        for f in &e.failed_seeds {
            let _ = writeln!(
                s,
                "\n**{} failed in training** (in no number below; counts against the result): {}",
                f.label(),
                f.message
            );
        }
        for png in &e.figures {
            let rel = place_figure(png, out_dir)?;
            let _ = writeln!(
                s,
                "\n![{}]({rel})",
                png.file_stem().unwrap_or_default().to_string_lossy()
            );
        }
        s.push_str("\n| check | value | mean [95% CI] | target | paper | per seed | result |\n|---|---|---|---|---|---|---|\n");
        for c in &e.checks {
            let _ = writeln!(
                s,
                "| {} | {} = {} | {:.3} [{:.3}, {:.3}] | {} {} | {} | {} | {} |",
                c.name,
                stat_name(c),
                fmt_num(c.value),
                c.mean,
                c.ci_low,
                c.ci_high,
                c.compare,
                c.threshold,
                c.paper.map_or("—".to_string(), fmt_num),
                per_seed(&c.per_seed),
                if c.passed { "PASS" } else { "**FAIL**" }
            );
        }
        let _ = writeln!(
            s,
            "\n**Deviations from the paper** (from `{}`):\n",
            e.source
        );
        if e.deviations.is_empty() {
            s.push_str("- none marked in the TOML\n");
        }
        for d in &e.deviations {
            let _ = writeln!(s, "- `{}`: {}", d.key, d.text);
        }
        if let Some(m) = &e.manifest {
            let _ = writeln!(s, "\n**Run.** {}", run_line(m));
        }
    }
    Ok(s)
}

fn stat_name(c: &CheckResult) -> &'static str {
    use crate::config::Statistic::*;
    match c.statistic {
        Mean => "mean",
        CiLow => "CI low",
        CiHigh => "CI high",
        MinSeed => "min seed",
        MaxSeed => "max seed",
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Standard base64 of bytes (for embedding the figures in the HTML).
pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(T[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Minimal Markdown → HTML for what `markdown` writes: headings, paragraphs,
/// tables, lists, images (embedded as data URIs), **bold** and `code`.
fn inline(s: &str) -> String {
    let mut out = String::new();
    let mut bold = false;
    let mut code = false;
    let mut rest = html_escape(s);
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("**") {
            out.push_str(if bold { "</strong>" } else { "<strong>" });
            bold = !bold;
            rest = r.to_string();
        } else if let Some(r) = rest.strip_prefix('`') {
            out.push_str(if code { "</code>" } else { "<code>" });
            code = !code;
            rest = r.to_string();
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = rest[c.len_utf8()..].to_string();
        }
    }
    out
}

/// REPRODUCTION.html: the Markdown report rendered, figures embedded, no external files.
pub fn html(markdown: &str, out_dir: &Path) -> Result<String> {
    let mut body = String::new();
    let mut in_table = false;
    let mut in_list = false;
    let close = |body: &mut String, in_table: &mut bool, in_list: &mut bool| {
        if *in_table {
            body.push_str("</table>\n");
            *in_table = false;
        }
        if *in_list {
            body.push_str("</ul>\n");
            *in_list = false;
        }
    };
    for line in markdown.lines() {
        if let Some(t) = line.strip_prefix("## ") {
            close(&mut body, &mut in_table, &mut in_list);
            let _ = writeln!(body, "<h2>{}</h2>", inline(t));
        } else if let Some(t) = line.strip_prefix("# ") {
            close(&mut body, &mut in_table, &mut in_list);
            let _ = writeln!(body, "<h1>{}</h1>", inline(t));
        } else if line.starts_with("|---") {
            continue;
        } else if line.starts_with('|') {
            if in_list {
                body.push_str("</ul>\n");
                in_list = false;
            }
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
            let tag = if in_table { "td" } else { "th" };
            if !in_table {
                body.push_str("<table>\n");
                in_table = true;
            }
            body.push_str("<tr>");
            for c in cells {
                let _ = write!(body, "<{tag}>{}</{tag}>", inline(c.trim()));
            }
            body.push_str("</tr>\n");
        } else if let Some(t) = line.strip_prefix("- ") {
            if in_table {
                body.push_str("</table>\n");
                in_table = false;
            }
            if !in_list {
                body.push_str("<ul>\n");
                in_list = true;
            }
            let _ = writeln!(body, "<li>{}</li>", inline(t));
        } else if let Some(img) = line.strip_prefix("![") {
            close(&mut body, &mut in_table, &mut in_list);
            let (alt, rest) = img.split_once("](").context("image line")?;
            let rel = rest.trim_end_matches(')');
            let bytes = std::fs::read(out_dir.join(rel))
                .with_context(|| format!("cannot read the figure {rel}"))?;
            let _ = writeln!(
                body,
                "<p><img alt=\"{}\" src=\"data:image/png;base64,{}\"></p>",
                html_escape(alt),
                base64(&bytes)
            );
        } else if line.trim().is_empty() {
            close(&mut body, &mut in_table, &mut in_list);
        } else {
            close(&mut body, &mut in_table, &mut in_list);
            let _ = writeln!(body, "<p>{}</p>", inline(line));
        }
    }
    close(&mut body, &mut in_table, &mut in_list);
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <title>pfc-metarl reproduction report</title>\n<style>\n\
         body {{ font-family: sans-serif; max-width: 1400px; margin: 2em auto; padding: 0 1em; color: #222; }}\n\
         table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }}\n\
         th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }}\n\
         th {{ background: #f2f2f2; }}\n img {{ max-width: 100%; }}\n code {{ background: #f5f5f5; }}\n\
         </style></head>\n<body>\n{body}\
         <script>\n// Marks the page once every figure has loaded (used by the rendering test).\n\
         window.addEventListener('load', () => {{ const imgs = [...document.images];\n\
         const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;\n\
         document.body.setAttribute('data-images-loaded', ok + '/' + imgs.length); }});\n</script>\n\
         </body></html>\n"
    ))
}

/// Replace the README's summary table (between the marker comments) by `table`.
pub fn update_readme(readme: &Path, table: &str) -> Result<()> {
    const START: &str =
        "<!-- reproduction-summary:start (written by `metarl report --all --readme README.md`) -->";
    const END: &str = "<!-- reproduction-summary:end -->";
    let text = std::fs::read_to_string(readme)
        .with_context(|| format!("cannot read {}", readme.display()))?;
    let (Some(a), Some(b)) = (text.find(START), text.find(END)) else {
        anyhow::bail!(
            "{} has no summary markers; put the lines\n{START}\n{END}\nwhere the table belongs",
            readme.display()
        );
    };
    let new = format!("{}{START}\n{table}{}", &text[..a], &text[b..]);
    crate::record::write_text_atomic(readme, &new)
}

/// The mechanism controls (`make controls`, README "Controls") as a report
/// section: the table of `runs/controls/controls.json`, its checks and the
/// figure; a line saying how to make them when they were not run.
pub fn controls_section(runs_root: &Path, out_dir: &Path) -> Result<String> {
    let root = runs_root.join("controls");
    let path = root.join("controls.json");
    let mut s = String::from("\n## Mechanism controls (issue 15)\n\n");
    let Ok(text) = std::fs::read_to_string(&path) else {
        let _ = writeln!(
            s,
            "No controls in `{}` (run `make controls`).",
            root.display()
        );
        return Ok(s);
    };
    let all: Vec<crate::controls::ExperimentControls> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a controls table", path.display()))?;
    s.push_str(
        "Each experiment at the controls' budget (main) beside no reward input, untrained \
         weights, plastic weights at test and other LSTM sizes, on the same seeds and test \
         episodes (`metarl controls --all`).\n",
    );
    let png = root.join("figures").join("controls.png");
    if png.exists() {
        let _ = writeln!(s, "\n![controls]({})", place_figure(&png, out_dir)?);
    }
    s.push('\n');
    s.push_str(&crate::controls::markdown(&all));
    s.push_str("\n| experiment | check | rule | mean [95% CI] | per seed | result |\n|---|---|---|---|---|---|\n");
    for e in &all {
        for c in &e.checks {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} [{}, {}] | {} | {} |",
                e.experiment,
                c.name,
                c.rule,
                fmt_num(c.mean),
                fmt_num(c.ci_low),
                fmt_num(c.ci_high),
                per_seed(&c.per_seed),
                if c.passed { "PASS" } else { "**FAIL**" }
            );
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deviations_are_read_with_their_continuation_lines() {
        let toml = r#"# Deviations from the paper are marked "choice" or "deviation" here.
[training]
episodes = 100
learning_rate = 5e-3        # deviation (paper: 7e-4): each update here
                            # averages 16 episodes.
gamma = 0.9                 # paper: 0.9
entropy_cost = 0.02         # deviation: lower
# choice: something else
[task]
fixation_step = true        # choice: a fixation step
# deviation: a whole-section note
# that goes on
"#;
        let d = deviations(toml);
        assert_eq!(
            d,
            vec![
                Deviation {
                    key: "training.learning_rate".into(),
                    text: "deviation (paper: 7e-4): each update here averages 16 episodes.".into()
                },
                Deviation {
                    key: "training.entropy_cost".into(),
                    text: "deviation: lower".into()
                },
                Deviation {
                    key: "task".into(),
                    text: "deviation: a whole-section note that goes on".into()
                },
            ]
        );
    }

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
