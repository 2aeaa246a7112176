//! Bad input gets a clear one-line error and exit status 2, never a panic: a run
//! directory whose files are missing, truncated, empty or from another
//! experiment, given to analyze, figures, check or report; an unwritable output
//! directory; and one writer per run directory (a live run's directory is
//! refused, a dead run's stale lock is not).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn metarl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_metarl"))
        .args(args)
        .output()
        .expect("metarl runs")
}

fn tiny_run(dir: &Path, experiment: &str) {
    let out = metarl(&[
        "run",
        experiment,
        "--profile",
        "quick",
        "--episodes",
        "16",
        "--seeds",
        "1",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

/// The error of a command that must fail with status 2 and one line on stderr.
fn refused(args: &[&str]) -> String {
    let out = metarl(args);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{args:?}: {err}"
    );
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: not one line: {err}"
    );
    err
}

#[test]
fn broken_run_directories_are_refused_with_one_line() {
    let t = tempfile::tempdir().unwrap();
    let (ok, other) = (t.path().join("ok"), t.path().join("other"));
    tiny_run(&ok, "s4_two_step");
    tiny_run(&other, "s1_reward_history");
    // Each case: a copy of the good run with one file damaged.
    let damaged = |name: &str, file: &str, how: &dyn Fn(&Path)| -> PathBuf {
        let d = t.path().join(name);
        copy_dir(&ok, &d);
        how(&d.join(file));
        d
    };
    let truncate = |p: &Path| {
        let bytes = std::fs::read(p).unwrap();
        std::fs::write(p, &bytes[..bytes.len() / 2]).unwrap()
    };
    let empty = |p: &Path| std::fs::write(p, b"").unwrap();
    let remove = |p: &Path| std::fs::remove_file(p).unwrap();
    let foreign = |p: &Path| {
        std::fs::copy(other.join(p.file_name().unwrap()), p).unwrap();
    };
    for (file, readers) in [
        ("trials.parquet", &["analyze"][..]),
        ("outcomes.json", &["figures", "report"][..]),
        ("config.toml", &["analyze", "figures", "report"][..]),
    ] {
        for (how_name, how) in [
            ("truncated", &truncate as &dyn Fn(&Path)),
            ("empty", &empty),
            ("missing", &remove),
            ("foreign", &foreign),
        ] {
            if file == "config.toml" && how_name == "foreign" {
                continue; // a whole other run, covered by the outcomes/trials cases
            }
            let d = damaged(&format!("{file}_{how_name}"), file, how);
            for cmd in readers {
                let err = refused(&[cmd, d.to_str().unwrap()]);
                assert!(
                    err.contains(file) || err.contains(d.to_str().unwrap()),
                    "{cmd} with {how_name} {file}: {err}"
                );
                if how_name == "foreign" {
                    assert!(
                        err.contains("another experiment") || err.contains("s1_reward_history"),
                        "{err}"
                    );
                }
            }
            // check reports the broken run as a failure (exit 1), naming it.
            let out = metarl(&["check", d.to_str().unwrap()]);
            if file != "trials.parquet" {
                assert_eq!(out.status.code(), Some(1), "check with {how_name} {file}");
                let text = String::from_utf8_lossy(&out.stdout);
                assert!(text.contains("FAIL"), "{text}");
            }
        }
    }
    // Not a run directory at all.
    let err = refused(&["analyze", t.path().join("nothing").to_str().unwrap()]);
    assert!(err.contains("not a run directory"), "{err}");
}

#[test]
fn an_unwritable_output_directory_is_refused() {
    let err = refused(&[
        "run",
        "s4_two_step",
        "--out",
        "/proc/metarl-cannot-write",
        "--quiet",
    ]);
    assert!(err.contains("/proc/metarl-cannot-write"), "{err}");
}

#[test]
fn one_writer_per_run_directory() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("run");
    // A long run holds the directory.
    let mut child = Command::new(env!("CARGO_BIN_EXE_metarl"))
        .args([
            "run",
            "s4_two_step",
            "--seeds",
            "1",
            "--episodes",
            "10000000",
            "--quiet",
        ])
        .arg("--out")
        .arg(&dir)
        .spawn()
        .unwrap();
    let lock = dir.join("run.lock");
    for _ in 0..200 {
        if lock.is_file() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(lock.is_file(), "the run did not take the lock");
    let d = dir.to_str().unwrap();
    let err = refused(&["run", "s4_two_step", "--out", d, "--force", "--quiet"]);
    assert!(err.contains(&format!("pid {}", child.id())), "{err}");
    refused(&["analyze", d]);
    // Killed: its lock is stale and does not block the next run.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(lock.is_file(), "a killed run leaves its lock behind");
    let out = metarl(&[
        "run",
        "s4_two_step",
        "--profile",
        "quick",
        "--episodes",
        "16",
        "--seeds",
        "1",
        "--quiet",
        "--force",
        "--out",
        d,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!lock.exists(), "a finished run removes its lock");
}
