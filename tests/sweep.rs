//! Sweeps without a cluster: cells and their order, validation before any work,
//! running every cell with parallel jobs, no rerun of a finished cell, resuming an
//! interrupted sweep, and the merged table. (The Slurm path is tested by
//! tests/slurm/sweep_on_slurm.sh, which .ci/run runs after `make test`.)

use metarl::record::{col_str, col_u64, read_parquet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

fn metarl(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_metarl"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("metarl runs")
}

const SWEEP: &str = r#"
[sweep]
name = "tiny"
experiment = "s4_two_step"
profile = "quick"
seeds = 2

[set]
training.episodes = 32
evaluation.episodes = 4

[grid]
training.learning_rate = [2e-3, 5e-3]
agent.hidden = [8, 12, 16]

[plot]
metric = "model_based_index"
x = "agent.hidden"
series = "training.learning_rate"
"#;

#[test]
fn a_sweep_runs_resumes_and_merges() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::write(d.join("tiny.toml"), SWEEP).unwrap();

    // Cells: keys alphabetically (agent.hidden, then training.learning_rate), the last fastest.
    let out = metarl(d, &["sweep", "list", "tiny.toml"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("6 cells"), "{text}");
    assert!(
        text.contains("0  pending   agent.hidden=8, training.learning_rate=0.002")
            && text.contains("5  pending   agent.hidden=16, training.learning_rate=0.005"),
        "{text}"
    );

    let out = metarl(
        d,
        &["sweep", "run", "tiny.toml", "--jobs", "2", "--threads", "1"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cell = d.join("runs/sweeps/tiny/cells/cell_0004");
    let stamp = std::fs::metadata(cell.join("outcomes.json"))
        .unwrap()
        .modified()
        .unwrap();

    // Merged table: one row per cell × seed × metric, the swept keys as columns.
    let out = metarl(d, &["sweep", "merge", "tiny.toml"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let df = read_parquet(&d.join("runs/sweeps/tiny/merged.parquet")).unwrap();
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "cell",
            "agent.hidden",
            "training.learning_rate",
            "seed",
            "metric",
            "value",
            "mean",
            "ci_low",
            "ci_high"
        ]
    );
    let n_metrics = metarl::experiments::find("s4_two_step")
        .unwrap()
        .metrics()
        .len();
    assert_eq!(df.height(), 6 * 2 * n_metrics);
    let seeds = col_u64(&df, "seed").unwrap();
    assert!(seeds.iter().all(|s| *s == 1 || *s == 2));
    assert!(col_str(&df, "metric")
        .unwrap()
        .contains(&"model_based_index".to_string()));
    assert!(d.join("runs/sweeps/tiny/figures/tiny.png").is_file());
    // Without a series key, the other swept key still separates the lines (one
    // per value), instead of one line joining cells of different values.
    let out = metarl(
        d,
        &[
            "sweep",
            "merge",
            "tiny.toml",
            "--metric",
            "model_based_index",
            "--x",
            "training.learning_rate",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(d.join("runs/sweeps/tiny/figures/tiny.svg")).unwrap();
    for h in [8, 12, 16] {
        assert!(
            svg.contains(&format!("agent.hidden = {h}\n")),
            "no line for agent.hidden = {h}"
        );
    }

    // Interrupt one cell (its results gone) and mark another failed: merge reports
    // both by index and exits 1; running again redoes only the unfinished ones.
    std::fs::remove_file(d.join("runs/sweeps/tiny/cells/cell_0001/outcomes.json")).unwrap();
    std::fs::write(
        d.join("runs/sweeps/tiny/cells/cell_0002/FAILED"),
        "diverged\n",
    )
    .unwrap();
    let out = metarl(d, &["sweep", "merge", "tiny.toml"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("merged 4 of 6"), "{err}");
    assert!(
        err.contains("missing cells (not run or interrupted): 1"),
        "{err}"
    );
    assert!(
        err.contains("failed cell 2") && err.contains("diverged"),
        "{err}"
    );
    let out = metarl(
        d,
        &["sweep", "run", "tiny.toml", "--jobs", "2", "--threads", "1"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("4 finished, 2 to run"), "{err}");
    // The finished cell was not touched.
    let again = std::fs::metadata(cell.join("outcomes.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(stamp, again);
    assert!(metarl(d, &["sweep", "merge", "tiny.toml"]).status.success());

    // A cell equals a plain run with the same overrides.
    assert_is_plain_run(
        d,
        &cell,
        "plain",
        &[
            "seeds.count=2",
            "training.episodes=32",
            "evaluation.episodes=4",
            "agent.hidden=16",
            "training.learning_rate=2e-3",
        ],
        &["trials.parquet", "outcomes.json", "checkpoints/seed_2.json"],
    );
}

#[test]
fn a_bad_override_is_refused_before_any_work() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    for (bad, key) in [
        ("agent.hidden = [8, 12, 16]", "agent.hiden = [8, 12]"),
        ("agent.hidden = [8, 12, 16]", "agent.hidden = [8, 0]"),
        ("training.episodes = 32", "training.episodes = \"many\""),
    ] {
        std::fs::write(d.join("bad.toml"), SWEEP.replace(bad, key)).unwrap();
        let out = metarl(d, &["sweep", "run", "bad.toml"]);
        assert_eq!(out.status.code(), Some(2), "{key}");
        let err = String::from_utf8_lossy(&out.stderr);
        let name = key.split(' ').next().unwrap();
        let field = name.rsplit('.').next().unwrap();
        assert!(
            err.contains("bad.toml") && err.contains(field),
            "{key}: {err}"
        );
        assert!(!d.join("runs").exists(), "nothing may be written: {key}");
    }
    // A mistyped number of jobs would start that many threads.
    std::fs::write(d.join("ok.toml"), SWEEP).unwrap();
    let out = metarl(d, &["sweep", "run", "ok.toml", "--jobs", "100000"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--jobs 100000") && err.contains("cores"),
        "{err}"
    );
    assert!(!d.join("runs").exists(), "nothing may be written: --jobs");
    // A plot of a key that is not swept, the series key the same as x (every
    // point would be its own line), or a metric the analysis lacks: `sweep list`
    // of the sweep file with `from` replaced by `to` names the key and the value.
    let list_error = |from: &str, to: &str| {
        std::fs::write(d.join("bad.toml"), SWEEP.replace(from, to)).unwrap();
        String::from_utf8_lossy(&metarl(d, &["sweep", "list", "bad.toml"]).stderr).to_string()
    };
    let series = "series = \"training.learning_rate\"";
    for (from, to, words) in [
        (
            series,
            "series = \"agent.size\"",
            ["plot.series", "agent.size"],
        ),
        (
            series,
            "series = \"agent.hidden\"",
            ["plot.series", "same key as `plot.x`"],
        ),
        (
            "metric = \"model_based_index\"",
            "metric = \"matching_slope\"",
            ["plot.metric", "matching_slope"],
        ),
    ] {
        let err = list_error(from, to);
        assert!(words.iter().all(|w| err.contains(w)), "{err}");
    }
    // An index out of range.
    std::fs::write(d.join("ok.toml"), SWEEP).unwrap();
    let out = metarl(d, &["sweep", "run", "ok.toml", "--index", "6"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("6 cells"));
    // Merge with no finished cell: exit 1, naming the missing and failed cells.
    let failed = d.join("runs/sweeps/tiny/cells/cell_0002");
    std::fs::create_dir_all(&failed).unwrap();
    std::fs::write(failed.join("FAILED"), "diverged\n").unwrap();
    let out = metarl(d, &["sweep", "merge", "ok.toml"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("merged 0 of 6 cells")
            && err.contains("missing cells (not run or interrupted): 0, 1, 3, 4, 5")
            && err.contains("failed cell 2")
            && err.contains("diverged"),
        "{err}"
    );
    assert!(!d.join("runs/sweeps/tiny/merged.parquet").exists());

    // A cell that another live metarl process holds: refused, and no FAILED
    // file (it would hide the cell's result once the other process finishes).
    // (It holds until killed below, or when the test fails, by the guard.)
    let holder = common::KillOnDrop(
        Command::new("bash")
            .args(["-c", "exec -a metarl-holder sleep infinity"])
            .spawn()
            .unwrap(),
    );
    let holder_pid = holder.0.id();
    // Until bash has exec'd, the holder's command line does not name metarl yet.
    wait_until("the holder's command line", || {
        std::fs::read(format!("/proc/{}/cmdline", holder_pid))
            .is_ok_and(|c| String::from_utf8_lossy(&c).starts_with("metarl-holder"))
    });
    let held = d.join("runs/sweeps/tiny/cells/cell_0000");
    std::fs::create_dir_all(&held).unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    std::fs::write(
        held.join("run.lock"),
        format!("{} {}", holder_pid, host.trim()),
    )
    .unwrap();
    let out = metarl(d, &["sweep", "run", "ok.toml", "--index", "0"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("another metarl process (pid {})", holder_pid)),
        "{err}"
    );
    assert!(!held.join("FAILED").exists());
    // Running every cell: the held one is left to its holder, the others run.
    let out = metarl(
        d,
        &["sweep", "run", "ok.toml", "--jobs", "2", "--threads", "1"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    drop(holder);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cell 0 (agent.hidden=8, training.learning_rate=0.002) busy")
            && err.contains("busy cells: 0 ")
            && !err.contains("failed cells"),
        "{err}"
    );
    assert!(!held.join("FAILED").exists() && !held.join("outcomes.json").exists());
}

/// Three cells of 200 updates each, a resume checkpoint every 2 updates.
const STOPPABLE: &str = r#"
[sweep]
name = "stoppable"
experiment = "s4_two_step"
profile = "quick"
seeds = 2

[set]
training.episodes = 3200
training.checkpoint_every = 2

[grid]
agent.hidden = [12, 16, 20]
"#;

/// `metarl` in `dir`, in its own process group (as a shell runs a command),
/// with these extra environment variables.
fn spawn(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    common::with_default_stop_signals(&mut Command::new(env!("CARGO_BIN_EXE_metarl")))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .process_group(0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Wait (at most 60 s) until `cond` holds.
fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

fn kill(pid: i32, sig: i32) {
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
}

/// Whether a process exists and is not a zombie (an orphan is reaped by
/// PID 1, which some containers never do).
fn alive(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the command name in parentheses.
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|r| r.split_whitespace().next());
    let exists = unsafe { libc::kill(pid, 0) == 0 };
    exists && state != Some("Z")
}

/// The process id in a run directory's lock.
fn lock_pid(cell: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(cell.join("run.lock")).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// After a clean stop: the status, the cell's own clean-stop message, no lock,
/// no FAILED, no results, a resume checkpoint.
fn assert_stopped_cleanly(child: std::process::Child, cell: &Path, code: i32) -> String {
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert!(err.contains("stopped cleanly"), "{err}");
    assert!(!cell.join("run.lock").exists(), "lock left: {err}");
    assert!(!cell.join("FAILED").exists(), "a stop is not a failure");
    assert!(!cell.join("outcomes.json").exists());
    assert!(cell.join("checkpoints/resume/run.json").is_file());
    err
}

fn manifest_resumed(cell: &Path) -> bool {
    let text = std::fs::read_to_string(cell.join("manifest.json")).unwrap();
    let m: serde_json::Value = serde_json::from_str(&text).unwrap();
    m["resumed"].as_bool().unwrap_or(false)
}

/// A cell's `files` against a plain `metarl run s4_two_step --profile quick`
/// with the same overrides (`sets`), into `d/plain`.
fn assert_is_plain_run(d: &Path, cell: &Path, plain: &str, sets: &[&str], files: &[&str]) {
    assert_same_as_plain(cell, spawn_plain_run(d, plain, sets), files);
}

/// Start the plain run of `assert_is_plain_run` (it may run beside other work).
fn spawn_plain_run(d: &Path, plain: &str, sets: &[&str]) -> (std::process::Child, PathBuf) {
    let mut args = vec!["run", "s4_two_step", "--profile", "quick"];
    for set in sets {
        args.extend(["--set", set]);
    }
    args.extend(["--threads", "1", "--out", plain, "--quiet"]);
    let child = Command::new(env!("CARGO_BIN_EXE_metarl"))
        .args(&args)
        .current_dir(d)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    (child, d.join(plain))
}

/// A cell's `files` against a plain run started by `spawn_plain_run`.
fn assert_same_as_plain(
    cell: &Path,
    (child, plain): (std::process::Child, PathBuf),
    files: &[&str],
) {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in files {
        assert!(
            std::fs::read(cell.join(f)).unwrap() == std::fs::read(plain.join(f)).unwrap(),
            "{f} of {} differs from the plain run",
            cell.display()
        );
    }
}

/// Stopping a sweep in every way a user or a scheduler does, then running it
/// again: each stopped cell continues from its checkpoints, to the results of
/// an uninterrupted run.
#[test]
fn a_stopped_sweep_continues_its_cells_from_their_checkpoints() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::write(d.join("stoppable.toml"), STOPPABLE).unwrap();
    let cells = d.join("runs/sweeps/stoppable/cells");
    let cell = |i: usize| cells.join(format!("cell_{i:04}"));
    let all = [
        "sweep",
        "run",
        "stoppable.toml",
        "--jobs",
        "1",
        "--threads",
        "1",
    ];

    // The plain runs each cell must equal in the end, made meanwhile: the
    // scenarios below run one cell on one thread at a time.
    let plains: Vec<_> = [(0, "12"), (1, "16"), (2, "20")]
        .iter()
        .map(|(i, hidden)| {
            let hidden = format!("agent.hidden={hidden}");
            spawn_plain_run(
                d,
                &format!("plain_{i}"),
                &[
                    "seeds.count=2",
                    "training.episodes=3200",
                    "training.checkpoint_every=2",
                    &hidden,
                ],
            )
        })
        .collect();

    // (a) Ctrl-C at a terminal: SIGINT to the whole process group, the sweep
    // and its cell; the stop the sweep passes on does not count as the cell's
    // second signal: a clean stop, and no new cell starts.
    let child = spawn(d, &all, &[]);
    wait_until("cell 0's checkpoint", || {
        cell(0).join("checkpoints/resume/seed_1.bin").is_file()
    });
    kill(-(child.id() as i32), libc::SIGINT);
    let err = assert_stopped_cleanly(child, &cell(0), 130);
    assert!(
        err.contains("cell 0 (agent.hidden=12) stopped")
            && err.contains("continue with `metarl sweep run stoppable.toml`"),
        "{err}"
    );
    assert!(!cell(1).exists(), "a new cell started after the stop");

    // (b) SIGTERM to an array task (what Slurm sends at its time limit).
    let child = spawn(
        d,
        &[
            "sweep",
            "run",
            "stoppable.toml",
            "--index",
            "1",
            "--threads",
            "1",
        ],
        &[],
    );
    wait_until("cell 1's checkpoint", || {
        cell(1).join("checkpoints/resume/seed_1.bin").is_file()
    });
    kill(child.id() as i32, libc::SIGTERM);
    assert_stopped_cleanly(child, &cell(1), 143);

    // (c) SIGTERM to the sweep process alone (`kill PID`): passed on to the
    // cell. Cells 0 and 1 continue and finish first.
    let child = spawn(d, &all, &[]);
    wait_until("cell 2's checkpoint", || {
        cell(2).join("checkpoints/resume/seed_1.bin").is_file()
    });
    kill(child.id() as i32, libc::SIGTERM);
    assert_stopped_cleanly(child, &cell(2), 143);
    assert!(cell(0).join("outcomes.json").is_file() && cell(1).join("outcomes.json").is_file());

    // (c') A hang-up (the terminal closed): SIGHUP to the whole process group,
    // handled like a Ctrl-C, with exit status 129.
    let child = spawn(d, &all, &[]);
    let cell_lock = |child: &std::process::Child| {
        // The sweep holds the cell's lock for a moment itself before starting it.
        lock_pid(&cell(2)).is_some_and(|p| p != child.id() as i32)
    };
    wait_until("cell 2's lock", || cell_lock(&child));
    kill(-(child.id() as i32), libc::SIGHUP);
    assert_stopped_cleanly(child, &cell(2), 129);

    // (c'') The sweep's stderr, shared with its cell, is a pipe whose reader is
    // gone (`2>&1 | tee log`, the tee stopped by the same Ctrl-C) while the
    // cell's stop takes 0.5 s (test hook): neither dies of SIGPIPE when it
    // writes its stop messages; a clean stop, 130.
    let mut child = spawn(d, &all, &[("METARL_TEST_SLOW_STOP_MS", "500")]);
    wait_until("cell 2's lock", || cell_lock(&child));
    drop(child.stderr.take());
    kill(-(child.id() as i32), libc::SIGINT);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "closed stderr: {status:?}");
    assert!(!cell(2).join("run.lock").exists(), "lock left");
    assert!(!cell(2).join("FAILED").exists() && !cell(2).join("outcomes.json").exists());
    assert!(cell(2).join("checkpoints/resume/run.json").is_file());

    // (d) SIGTERM to the sweep and to the cell (`pkill metarl`, a container or
    // job stop) while the cell's stop takes 0.5 s (test hook): still clean.
    let child = spawn(d, &all, &[("METARL_TEST_SLOW_STOP_MS", "500")]);
    wait_until("cell 2's lock", || cell_lock(&child));
    kill(lock_pid(&cell(2)).unwrap(), libc::SIGTERM);
    kill(child.id() as i32, libc::SIGTERM);
    assert_stopped_cleanly(child, &cell(2), 143);

    // (e) A stop that hangs (test hook: the cell's stop waits 30 s), then a
    // second Ctrl-C to the sweep: it exits at once and takes the cell with it.
    let child = spawn(d, &all, &[("METARL_TEST_SLOW_STOP_MS", "30000")]);
    wait_until("cell 2's lock", || cell_lock(&child));
    let cell_pid = lock_pid(&cell(2)).unwrap();
    kill(child.id() as i32, libc::SIGINT);
    // The first signal delivered before the second (two pending SIGINTs merge into one).
    common::wait_until_delivered(child.id(), libc::SIGINT);
    let second = std::time::Instant::now();
    kill(child.id() as i32, libc::SIGINT);
    // The cell shares the sweep's stderr: reading it to its end waits for both.
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(
        second.elapsed() < std::time::Duration::from_secs(10),
        "not at once"
    );
    wait_until("the cell to end with its sweep", || !alive(cell_pid));

    // Run again: everything finishes, each cell resumed, each equal to a plain run.
    let out = metarl(d, &all);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("2 finished, 1 to run"), "{err}");
    for (i, plain) in plains.into_iter().enumerate() {
        assert!(manifest_resumed(&cell(i)), "cell {i} was not resumed");
        assert_same_as_plain(
            &cell(i),
            plain,
            &[
                "trials.parquet",
                "outcomes.json",
                "checkpoints/seed_1.json",
                "checkpoints/seed_2.json",
            ],
        );
        assert!(!cell(i).join("checkpoints/resume").exists());
    }
}

/// Two quick cells; `{hidden}` is replaced by the grid's values.
const EDITED: &str = r#"
[sweep]
name = "edited"
experiment = "s4_two_step"
profile = "quick"
seeds = 2

[set]
training.episodes = 32
evaluation.episodes = 4

[grid]
agent.hidden = {hidden}
"#;

/// A grid value edited after its cell ran: the cell's directory holds a run of
/// another config, which must not pass for the cell's result. Every command
/// refuses before any work, naming the cell, what it holds and what the file
/// asks for; the cell's files are left as they are.
#[test]
fn a_cell_holding_a_run_of_another_config_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let write = |hidden: &str| {
        std::fs::write(d.join("edited.toml"), EDITED.replace("{hidden}", hidden)).unwrap()
    };
    write("[4, 8]");
    let out = metarl(d, &["sweep", "run", "edited.toml", "--threads", "1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(metarl(d, &["sweep", "merge", "edited.toml"])
        .status
        .success());
    let sweep = d.join("runs/sweeps/edited");
    let cell0 = sweep.join("cells/cell_0000");
    let config0 = std::fs::read_to_string(cell0.join("config.toml")).unwrap();
    assert!(config0.contains("hidden = 4"), "{config0}");
    let stamp = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let (outcomes0, merged) = (
        stamp(&cell0.join("outcomes.json")),
        stamp(&sweep.join("merged.parquet")),
    );

    write("[6, 8]");
    let commands: [&[&str]; 5] = [
        &["sweep", "list", "edited.toml"],
        &["sweep", "run", "edited.toml", "--threads", "1"],
        &[
            "sweep",
            "run",
            "edited.toml",
            "--index",
            "0",
            "--threads",
            "1",
        ],
        &["sweep", "merge", "edited.toml"],
        &["sweep", "sbatch", "edited.toml"],
    ];
    for args in commands {
        let out = metarl(d, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: one line: {err}");
        assert!(
            err.contains("cell 0 (agent.hidden=6)")
                && err.contains("agent.hidden = 4 where the sweep file now gives 6")
                && err.contains("sweep.name")
                && err.contains("remove runs/sweeps/edited/cells/cell_0000"),
            "{args:?}: {err}"
        );
        assert!(!out.status.success() && out.stdout.is_empty(), "{args:?}");
    }
    // Nothing was touched: no rerun, no FAILED, no merge, no script.
    assert_eq!(
        std::fs::read_to_string(cell0.join("config.toml")).unwrap(),
        config0
    );
    assert_eq!(stamp(&cell0.join("outcomes.json")), outcomes0);
    assert_eq!(stamp(&sweep.join("merged.parquet")), merged);
    assert!(!cell0.join("FAILED").exists() && !sweep.join("sweep.sbatch").exists());
    // The unchanged cell runs as before (it finished: skipped).
    let out = metarl(d, &["sweep", "run", "edited.toml", "--index", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.contains("already finished"),
        "{err}"
    );

    // An interrupted cell of the old config (no results yet; its config.toml is
    // what a resume continues) is refused the same way, not replaced.
    std::fs::remove_file(cell0.join("outcomes.json")).unwrap();
    let out = metarl(d, &["sweep", "run", "edited.toml", "--threads", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("agent.hidden = 4"), "{err}");
    assert_eq!(
        std::fs::read_to_string(cell0.join("config.toml")).unwrap(),
        config0
    );

    // Both cells edited: the others are named too.
    write("[6, 10]");
    let err =
        String::from_utf8_lossy(&metarl(d, &["sweep", "list", "edited.toml"]).stderr).to_string();
    assert!(
        err.contains("cell 0 (agent.hidden=6)") && err.contains("(so do cells 1)"),
        "{err}"
    );

    // The file as it was: its cells are its own again.
    write("[4, 8]");
    let out = metarl(d, &["sweep", "list", "edited.toml"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("0  pending   agent.hidden=4")
            && text.contains("1  finished  agent.hidden=8"),
        "{text}"
    );

    // The edited file after the cell's directory is removed: cell 0 runs with its new value.
    write("[6, 8]");
    std::fs::remove_dir_all(&cell0).unwrap();
    let out = metarl(d, &["sweep", "run", "edited.toml", "--threads", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.contains("1 finished, 1 to run"),
        "{err}"
    );
    let config = std::fs::read_to_string(cell0.join("config.toml")).unwrap();
    assert!(config.contains("hidden = 6"), "{config}");
    assert!(metarl(d, &["sweep", "merge", "edited.toml"])
        .status
        .success());
}

/// A value listed twice in the grid would run two identical cells, which merge
/// would pool as if they were different seeds.
#[test]
fn a_repeated_grid_value_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    for (grid, key, value) in [
        (
            "agent.hidden = [4, 8, 4]",
            "grid.agent.hidden",
            "the value 4 is listed twice",
        ),
        (
            "agent.hidden = [4]\ntraining.learning_rate = [1e-3, 2e-3, 0.001]",
            "grid.training.learning_rate",
            "the value 0.001 is listed twice",
        ),
    ] {
        let file = EDITED.replace("agent.hidden = {hidden}", grid);
        std::fs::write(d.join("twice.toml"), file).unwrap();
        for command in ["list", "run", "merge", "sbatch"] {
            let out = metarl(d, &["sweep", command, "twice.toml"]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command} {grid}: {err}");
            assert!(
                err.contains("twice.toml") && err.contains(key) && err.contains(value),
                "{command} {grid}: {err}"
            );
        }
        assert!(!d.join("runs").exists(), "nothing may be written: {grid}");
    }
}

/// `sweep sbatch` refuses flags that would write a broken script, naming the flag.
#[test]
fn sbatch_refuses_flags_that_make_a_broken_script() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::write(d.join("ok.toml"), SWEEP).unwrap();
    for (flags, named) in [
        (&["--cpus", "0"][..], "--cpus"),
        (&["--max-parallel", "0"][..], "--max-parallel"),
        (&["--time", ""][..], "--time"),
        (&["--time", "2h"][..], "--time"),
        (&["--mem", ""][..], "--mem"),
        (&["--partition", ""][..], "--partition"),
    ] {
        let mut args = vec!["sweep", "sbatch", "ok.toml"];
        args.extend(flags);
        let out = metarl(d, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{flags:?}: one line: {err}");
        assert!(err.contains(named), "{flags:?}: {err}");
        assert!(
            !d.join("runs").exists(),
            "nothing may be written: {flags:?}"
        );
    }
    // Slurm's other forms are accepted.
    let out = metarl(
        d,
        &[
            "sweep",
            "sbatch",
            "ok.toml",
            "--cpus",
            "1",
            "--max-parallel",
            "2",
            "--time",
            "1-12:30",
            "--mem",
            "500M",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let script = std::fs::read_to_string(d.join("runs/sweeps/tiny/sweep.sbatch")).unwrap();
    for line in [
        "#SBATCH --array=0-5%2\n",
        "#SBATCH --cpus-per-task=1\n",
        "#SBATCH --mem=500M\n",
        "#SBATCH --time=1-12:30\n",
    ] {
        assert!(script.contains(line), "{line}: {script}");
    }
}
