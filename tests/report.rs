//! The reproduction report on tiny runs of every shipped experiment (quick profile,
//! a few training episodes: the networks learn nothing, so checks fail, and the
//! report must show them failing): the summary names every experiment, each
//! section has its check table, deviations come from the TOML, the HTML embeds
//! every figure, and the README's summary table is replaced between its markers.
//! (tests/report/check_html.sh opens the HTML in headless Chromium; .ci/run runs it.)

use std::path::Path;
use std::process::{Command, Output};

fn metarl(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_metarl"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("metarl runs")
}

#[test]
fn the_report_covers_every_experiment_and_shows_failures() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let names: Vec<&str> = metarl::config::shipped().iter().map(|(n, _)| *n).collect();
    // Every shipped experiment but the last gets a tiny run; the last has none.
    let (ran, missing) = names.split_at(names.len() - 1);
    for name in ran {
        let out_dir = format!("runs/{name}");
        let mut args = vec![
            "run",
            name,
            "--profile",
            "quick",
            "--episodes",
            "16",
            "--seeds",
            "2",
            "--quiet",
            "--out",
            &out_dir,
        ];
        // Training stages (Simulation 5) must fit in the 16-episode budget.
        let loaded = metarl::experiments::load(name, Some("quick")).unwrap();
        if !loaded.config.evaluation.stages.is_empty() {
            args.extend(["--set", "evaluation.stages=[0, 16]"]);
        }
        let out = metarl(d, &args);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::write(
        d.join("README.md"),
        "# x\n\nbefore\n<!-- reproduction-summary:start (written by `metarl report --all --readme README.md`) -->\nold table\n<!-- reproduction-summary:end -->\nafter\n",
    )
    .unwrap();
    let out = metarl(d, &["report", "--all", "--readme", "README.md"]);
    // Not everything reproduces on these budgets: exit status 1.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = std::fs::read_to_string(d.join("REPRODUCTION.md")).unwrap();
    for name in names.iter() {
        let cfg = metarl::experiments::load(name, None).unwrap().config;
        assert!(
            md.contains(&format!(
                "## {} (paper {})",
                cfg.experiment.title, cfg.experiment.paper_figure
            )),
            "{name}"
        );
        if ran.contains(name) {
            for c in &cfg.checks {
                assert!(
                    md.contains(&format!("| {} |", c.name)),
                    "{name}: check {} missing",
                    c.name
                );
            }
            assert!(
                d.join(format!("figures/{name}_training.png")).is_file(),
                "{name}"
            );
        }
    }
    assert!(md.contains("**FAIL**"), "failing checks must be shown");
    // No `make controls` here: the controls section says how to make them.
    assert!(md.contains("## Mechanism controls") && md.contains("run `make controls`"));
    assert!(md.contains("**Result: no run.**") && md.contains(missing[0]));
    // Deviations are read from the TOML.
    assert!(
        md.contains("`training.learning_rate`: deviation (paper: 7e-4"),
        "{md}"
    );
    // The HTML embeds every figure the Markdown shows.
    let html = std::fs::read_to_string(d.join("REPRODUCTION.html")).unwrap();
    let images = md.matches("![").count();
    assert!(images >= 2 * ran.len());
    assert_eq!(html.matches("src=\"data:image/png;base64,").count(), images);
    // The README's table is the report's summary, markers kept, text around untouched.
    let readme = std::fs::read_to_string(d.join("README.md")).unwrap();
    let summary = md
        .split("## Summary\n\n")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    assert!(readme.contains(summary.trim()), "{readme}");
    assert!(
        readme.starts_with("# x\n\nbefore\n<!-- reproduction-summary:start")
            && readme.ends_with("<!-- reproduction-summary:end -->\nafter\n")
    );
    assert!(!readme.contains("old table"));

    // SIGTERM in the middle of a write (test hook: each write waits 2 s before
    // its rename): the report ends at once after it, with 143, leaving no
    // temporary file and the written files complete.
    let stopped = d.join("stopped");
    let child = Command::new(env!("CARGO_BIN_EXE_metarl"))
        .args(["report", "--all", "--out", "stopped"])
        .current_dir(d)
        .env("METARL_TEST_SLOW_WRITE_MS", "2000")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let tmp = || {
        std::fs::read_dir(stopped.join("figures"))
            .map(|r| {
                r.flatten()
                    .any(|e| e.path().to_string_lossy().ends_with(".tmp"))
            })
            .unwrap_or(false)
    };
    let start = std::time::Instant::now();
    while !tmp() {
        assert!(start.elapsed().as_secs() < 60, "no figure written");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{err}");
    assert!(err.contains("report stopped"), "{err}");
    let left: Vec<_> = std::fs::read_dir(stopped.join("figures"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    // At least the figure being written when the signal came, each complete.
    assert!(
        !left.is_empty() && left.iter().all(|f| !f.ends_with(".tmp")),
        "{left:?}"
    );
    for f in &left {
        assert_eq!(
            std::fs::read(stopped.join("figures").join(f)).unwrap(),
            std::fs::read(d.join("figures").join(f)).unwrap()
        );
    }
    assert!(!stopped.join("REPRODUCTION.md").exists());
}
