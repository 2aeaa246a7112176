//! An invalid experiment file is refused before any work, with a message that
//! names the file, the key and what is allowed.

use metarl::config;

mod common;
use common::error_of;

fn base() -> String {
    common::experiment_text("s4_two_step")
}

#[test]
fn the_shipped_experiment_is_valid_with_every_profile() {
    let text = base();
    config::parse(&text, "s4", None).unwrap();
    config::parse(&text, "s4", Some("quick")).unwrap();
}

#[test]
fn unknown_key_is_named() {
    let e = error_of(&base().replace("hidden = 48", "hidden = 48\nhiden_units = 3"));
    assert!(e.contains("bad.toml") && e.contains("hiden_units"), "{e}");
}

#[test]
fn wrong_type_is_named() {
    let e = error_of(&base().replace("hidden = 48", "hidden = \"big\""));
    assert!(e.contains("bad.toml") && e.contains("hidden"), "{e}");
}

#[test]
fn probability_outside_unit_interval_is_refused() {
    let e = error_of(&base().replace("common_prob = 0.8", "common_prob = 1.5"));
    assert!(
        e.contains("task.common_prob") && e.contains("[0, 1]"),
        "{e}"
    );
}

#[test]
fn zero_episodes_is_refused() {
    let e = error_of(&base().replace("episodes = 20000", "episodes = 0"));
    assert!(
        e.contains("training.episodes") && e.contains("at least 1"),
        "{e}"
    );
}

#[test]
fn check_on_a_metric_the_experiment_does_not_produce_is_refused() {
    let e = error_of(&base().replace(
        "metric = \"model_based_index\"",
        "metric = \"matching_slope\"",
    ));
    assert!(
        e.contains("matching_slope") && e.contains("model_based_index"),
        "{e}"
    );
}

#[test]
fn unknown_task_kind_and_unknown_profile_are_refused() {
    let e = error_of(&base().replace("kind = \"two_step\"", "kind = \"three_step\""));
    assert!(e.contains("three_step"), "{e}");
    let e = format!(
        "{:#}",
        config::parse(&base(), "bad.toml", Some("huge")).unwrap_err()
    );
    assert!(e.contains("huge") && e.contains("quick"), "{e}");
}

#[test]
fn missing_file_is_reported() {
    let e = format!(
        "{:#}",
        config::load("no_such_experiment", None).unwrap_err()
    );
    assert!(e.contains("no_such_experiment"), "{e}");
}
