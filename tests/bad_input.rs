//! Bad input gets a clear one-line error and exit status 2, never a panic: a run
//! directory whose files are missing, truncated, empty or from another
//! experiment, given to analyze, figures, check or report; an unwritable output
//! directory; and one writer per run directory (a live run's directory is
//! refused, a dead run's stale lock is not).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

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
            // check reports the broken run as a failure (exit 1), naming it;
            // it reads outcomes.json only, so a damaged trials.parquet leaves
            // its verdict as on the intact run.
            let out = metarl(&["check", d.to_str().unwrap()]);
            if file != "trials.parquet" {
                assert_eq!(out.status.code(), Some(1), "check with {how_name} {file}");
                let text = String::from_utf8_lossy(&out.stdout);
                assert!(text.contains("FAIL"), "{text}");
            } else {
                let intact = metarl(&["check", ok.to_str().unwrap()]);
                assert_eq!(
                    out.status.code(),
                    intact.status.code(),
                    "check with {how_name} {file}"
                );
                assert_eq!(
                    String::from_utf8_lossy(&out.stdout).replace(d.to_str().unwrap(), "RUN"),
                    String::from_utf8_lossy(&intact.stdout).replace(ok.to_str().unwrap(), "RUN"),
                    "check with {how_name} {file}"
                );
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
    let mut child = common::KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_metarl"))
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
            .unwrap(),
    );
    let lock = dir.join("run.lock");
    for _ in 0..1200 {
        if lock.is_file() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(lock.is_file(), "the run did not take the lock");
    let d = dir.to_str().unwrap();
    let err = refused(&["run", "s4_two_step", "--out", d, "--force", "--quiet"]);
    assert!(err.contains(&format!("pid {}", child.0.id())), "{err}");
    refused(&["analyze", d]);
    // Killed: its lock is stale and does not block the next run.
    child.0.kill().unwrap();
    child.0.wait().unwrap();
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

/// Every kind of invalid value in an experiment file, and the command-line
/// equivalents: refused before any work (no run directory is created) with one
/// line naming the key, exit status 2.
#[test]
fn every_kind_of_invalid_value_is_refused_with_one_line() {
    let t = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(format!(
        "{}/experiments/s4_two_step.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let out = t.path().join("out");
    let o = out.to_str().unwrap();
    // (what, line as shipped, its replacement, words the error must hold)
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "wrong type",
            "hidden = 48 ",
            "hidden = \"big\" ",
            &["agent.hidden", "string"],
        ),
        (
            "float for an integer",
            "hidden = 48 ",
            "hidden = 4.5 ",
            &["agent.hidden"],
        ),
        (
            "negative count",
            "hidden = 48 ",
            "hidden = -3 ",
            &["agent.hidden", "-3"],
        ),
        (
            "bool for a number",
            "gamma = 0.9 ",
            "gamma = true ",
            &["training.gamma", "boolean"],
        ),
        (
            "array for a number",
            "gamma = 0.9 ",
            "gamma = [0.9] ",
            &["training.gamma"],
        ),
        (
            "table for a number",
            "gamma = 0.9 ",
            "gamma = { a = 1 } ",
            &["training.gamma"],
        ),
        (
            "probability out of range",
            "common_prob = 0.8 ",
            "common_prob = 1.5 ",
            &["task.common_prob", "[0, 1]"],
        ),
        (
            "discount out of range",
            "gamma = 0.9 ",
            "gamma = 2.0 ",
            &["training.gamma", "[0, 1]"],
        ),
        (
            "NaN",
            "learning_rate = 5e-3 ",
            "learning_rate = nan ",
            &["training.learning_rate", "NaN"],
        ),
        (
            "infinity",
            "gamma = 0.9 ",
            "gamma = inf ",
            &["training.gamma", "inf"],
        ),
        (
            // (training.episodes = 0 is valid: the untrained control)
            "zero batch",
            "batch = 16 ",
            "batch = 0 ",
            &["training.batch", "at least 1"],
        ),
        (
            "unknown key",
            "hidden = 48 ",
            "hiden_units = 3\nhidden = 48 ",
            &["hiden_units", "hidden"],
        ),
        (
            "unknown section",
            "[seeds]\n",
            "[seedz]\n",
            &["seedz", "seeds"],
        ),
        (
            "bad enum value",
            "optimizer = \"rmsprop\"",
            "optimizer = \"sgd\"",
            &["training.optimizer", "sgd", "rmsprop"],
        ),
        (
            "bad enum value (feedback)",
            "hidden = 48 ",
            "feedback = \"dopamine\"\nhidden = 48 ",
            &["agent.feedback", "dopamine", "rpe"],
        ),
        (
            "bad comparison",
            "compare = \">=\"",
            "compare = \"=>\"",
            &["compare", "=>"],
        ),
        (
            "bad task kind",
            "kind = \"two_step\"",
            "kind = \"three_step\"",
            &["three_step", "two_step"],
        ),
        (
            "empty seeds",
            "count = 8\n",
            "count = 0\n",
            &["seeds.count", "at least 1"],
        ),
        ("missing seeds", "count = 8\n", "\n", &["seeds", "count"]),
        (
            "missing key",
            "hidden = 48 ",
            "# hidden = 48 ",
            &["agent", "hidden"],
        ),
        (
            "NaN threshold",
            "threshold = 0.5\n",
            "threshold = nan\n",
            &["threshold", "finite"],
        ),
        (
            "syntax error",
            "hidden = 48 ",
            "hidden = ",
            &["invalid TOML", "line 25"],
        ),
    ];
    for (what, from, to, words) in cases {
        assert!(
            text.contains(from),
            "{what}: the shipped file has no {from:?}"
        );
        let path = t.path().join("bad.toml");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        let err = refused(&["run", path.to_str().unwrap(), "--out", o, "--quiet"]);
        for w in *words {
            assert!(err.contains(w), "{what}: {w:?} missing from {err}");
        }
        assert!(
            err.contains("bad.toml"),
            "{what}: the file is not named: {err}"
        );
        assert!(!out.exists(), "{what}: work started");
    }
    // The same through the command line.
    let cli: &[(&[&str], &[&str])] = &[
        (&["--profile", "huge"], &["no profile `huge`", "quick"]),
        (&["--seeds", "0"], &["seeds.count", "at least 1"]),
        (
            &["--set", "training.batch=0"],
            &["training.batch", "at least 1"],
        ),
        (
            &["--set", "analysis.bootstrap=0"],
            &["analysis.bootstrap", "at least 100"],
        ),
        (
            &["--episodes", "18446744073709551615"],
            &["training.episodes", "at most"],
        ),
        (&["--threads", "0"], &["--threads"]),
        // A mistyped thread count would start that many threads.
        (&["--threads", "100000"], &["--threads 100000", "cores"]),
        (&["--set", "agent.hidden=-1"], &["agent.hidden"]),
        (&["--set", "agent.hiden=3"], &["hiden"]),
        (&["--set", "training.optimizer=sgd"], &["sgd", "rmsprop"]),
        (&["--set", "training.gamma=nan"], &["training.gamma"]),
        (&["--set", "hidden"], &["key=value"]),
        (&["--seeds", "-1"], &["unexpected argument '-1'"]),
        (&["--seeds", "many"], &["invalid value 'many'", "--seeds"]),
        (&["--colour"], &["unexpected argument '--colour'"]),
    ];
    for (extra, words) in cli {
        let mut args = vec!["run", "s4_two_step", "--out", o, "--quiet"];
        args.extend(*extra);
        let err = refused(&args);
        for w in *words {
            assert!(err.contains(w), "{extra:?}: {w:?} missing from {err}");
        }
        assert!(!out.exists(), "{extra:?}: work started");
    }
    // The controls' training budget: 0 would make "main" untrained too.
    let err = refused(&["controls", "s4_two_step", "--episodes", "0", "--out", o]);
    assert!(err.contains("--episodes"), "{err}");
    assert!(!out.exists(), "controls --episodes 0: work started");
    // bench: bad output paths are refused before the benchmark runs.
    let nowhere = t.path().join("no_such_dir/history.jsonl");
    for (args, word) in [
        (vec!["bench", "--plot", "p"], "--history"),
        (
            vec!["bench", "--history", nowhere.to_str().unwrap()],
            "does not exist",
        ),
        (
            vec!["bench", "--criterion", nowhere.to_str().unwrap()],
            "--criterion",
        ),
    ] {
        let err = refused(&args);
        assert!(err.contains(word), "{args:?}: {err}");
    }
    // report DIR with the flags of report --all (they would be ignored).
    let err = refused(&["report", ".", "--out", "elsewhere"]);
    assert!(err.contains("--all"), "{err}");
    // references --out naming a file: refused, naming it.
    let file = t.path().join("a_file");
    std::fs::write(&file, "").unwrap();
    let f = file.to_str().unwrap();
    let err = refused(&["references", "s6_dopamine", "--episodes", "4", "--out", f]);
    assert!(err.contains(f) && err.contains("not a directory"), "{err}");
    // An experiment that does not exist, with the closest name suggested.
    for (cmd, name, close) in [
        ("run", "s4_two_stpe", "s4_two_step"),
        ("run", "s1_reward_histroy", "s1_reward_history"),
        ("show", "s6_dopamin", "s6_dopamine"),
    ] {
        let err = refused(&[cmd, name, "--out", o][..if cmd == "show" { 2 } else { 4 }]);
        assert!(err.contains(&format!("did you mean `{close}`?")), "{err}");
    }
    let err = refused(&["run", "no/such/file.toml", "--out", o]);
    assert!(err.contains("no/such/file.toml"), "{err}");
}

/// An output directory that cannot be written: under a regular file, a regular
/// file itself, or in /proc.
#[test]
fn output_directories_that_cannot_be_written_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let file = t.path().join("a_file");
    std::fs::write(&file, "x").unwrap();
    for (out, words) in [
        (file.join("run"), &["a_file/run", "Not a directory"][..]),
        (file.clone(), &["a_file", "not a directory"][..]),
        (
            Path::new("/proc/metarl-x/run").to_path_buf(),
            &["/proc/metarl-x/run"][..],
        ),
    ] {
        let err = refused(&[
            "run",
            "s4_two_step",
            "--episodes",
            "16",
            "--seeds",
            "1",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ]);
        for w in words {
            assert!(err.contains(w), "{w:?} missing from {err}");
        }
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
    // A sweep whose results directory is that file: refused by every sweep
    // command before any cell runs (each cell used to fail on its own, exit 1).
    let sweep = t.path().join("sweep.toml");
    std::fs::write(
        &sweep,
        format!(
            "[sweep]\nname = \"s\"\nexperiment = \"s4_two_step\"\nout = {:?}\n[grid]\nagent.hidden = [8, 12]\n",
            file.to_str().unwrap()
        ),
    )
    .unwrap();
    for cmd in [
        &["sweep", "run"][..],
        &["sweep", "list"],
        &["sweep", "merge"],
    ] {
        let args: Vec<&str> = cmd
            .iter()
            .copied()
            .chain([sweep.to_str().unwrap()])
            .collect();
        let err = refused(&args);
        assert!(
            err.contains("sweep.out") && err.contains("not a directory"),
            "{err}"
        );
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

/// Each run file damaged in each way, given to each reader: the commands that
/// read it refuse with one line naming it (check: a FAIL line and exit 1); the
/// others are unaffected. Never a panic.
#[test]
fn every_damaged_run_file_given_to_every_command() {
    let t = tempfile::tempdir().unwrap();
    let (ok, other) = (t.path().join("ok"), t.path().join("other"));
    tiny_run(&ok, "s4_two_step");
    tiny_run(&other, "s1_reward_history");
    let files = [
        "trials.parquet",
        "training.parquet",
        "outcomes.json",
        "manifest.json",
        "config.toml",
    ];
    let damages = ["truncated", "empty", "missing", "foreign"];
    // Which commands read which file (and so must refuse it).
    let reads = |file: &str, damage: &str, cmd: &str| -> bool {
        match file {
            "trials.parquet" => cmd == "analyze",
            // Same columns in every experiment: a foreign one cannot be told apart.
            "training.parquet" => cmd == "figures" && damage != "foreign",
            // analyze rewrites it.
            "outcomes.json" => cmd != "analyze",
            // Read by analyze for the failed seeds; a run without one has none.
            "manifest.json" => cmd == "analyze" && damage != "missing",
            _ => true,
        }
    };
    let mut n = 0;
    for file in files {
        for damage in damages {
            for cmd in ["analyze", "figures", "check", "report"] {
                n += 1;
                let d = t.path().join(format!("{n}"));
                copy_dir(&ok, &d);
                let p = d.join(file);
                match damage {
                    "truncated" => {
                        let bytes = std::fs::read(&p).unwrap();
                        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap()
                    }
                    "empty" => std::fs::write(&p, b"").unwrap(),
                    "missing" => std::fs::remove_file(&p).unwrap(),
                    _ => {
                        std::fs::copy(other.join(file), &p).unwrap();
                    }
                }
                let ds = d.to_str().unwrap();
                let what = format!("{cmd} with {damage} {file}");
                let out = metarl(&[cmd, ds]);
                let (stdout, stderr) = (
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr),
                );
                assert!(
                    !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
                    "{what}: {stderr}"
                );
                if !reads(file, damage, cmd) {
                    // Unaffected (check fails the tiny run's targets, but on its data).
                    if cmd == "check" {
                        assert!(!stdout.contains("FAIL:"), "{what}: {stdout}");
                    } else {
                        assert!(out.status.success(), "{what}: {stderr}");
                    }
                    continue;
                }
                let err = if cmd == "check" {
                    assert_eq!(out.status.code(), Some(1), "{what}: {stdout}");
                    stdout
                        .lines()
                        .find(|l| l.contains("FAIL:"))
                        .unwrap_or_else(|| panic!("{what}: no FAIL line: {stdout}"))
                        .to_string()
                } else {
                    refused(&[cmd, ds])
                };
                let named = if damage == "foreign" && file == "config.toml" {
                    // Another experiment's config: the mismatch is found in the data.
                    err.contains("s1_reward_history")
                } else {
                    err.contains(file)
                };
                assert!(named, "{what}: {err}");
                if damage == "foreign" {
                    assert!(
                        err.contains("another") || err.contains("s1_reward_history"),
                        "{what}: {err}"
                    );
                }
            }
        }
    }
}

/// `check` and `report --all` without directories read runs/<name>: a run of
/// another experiment there is an error naming both, not a row in its place.
#[test]
fn a_run_of_another_experiment_in_runs_name_is_refused() {
    let t = tempfile::tempdir().unwrap();
    tiny_run(&t.path().join("runs/s4_two_step"), "s1_reward_history");
    let in_dir = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_metarl"))
            .args(args)
            .current_dir(t.path())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    };
    let wrong = "holds a run of `s1_reward_history`, not of `s4_two_step`";
    let (code, text) = in_dir(&["check"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains(wrong), "{text}");
    let (code, text) = in_dir(&["report", "--all", "--out", "rep"]);
    assert_eq!(code, Some(1), "{text}");
    let md = std::fs::read_to_string(t.path().join("rep/REPRODUCTION.md")).unwrap();
    assert!(md.contains(wrong), "{md}");
}

/// Output that cannot be written (`> /dev/full`) is an error, not a panic.
#[test]
fn a_full_disk_on_stdout_is_an_error() {
    for args in [&["list"][..], &["show", "s4_two_step"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_metarl"))
            .args(args)
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("cannot write to standard output") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
}
