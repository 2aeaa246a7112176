//! An invalid experiment file is refused before any work, with a message that
//! names the file, the key and what is allowed.

use metarl::experiments;

mod common;
use common::error_of;

fn base() -> String {
    common::experiment_text("s4_two_step")
}

#[test]
fn the_shipped_experiment_is_valid_with_every_profile() {
    let text = base();
    experiments::parse(&text, "s4", None).unwrap();
    experiments::parse(&text, "s4", Some("quick")).unwrap();
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
fn zero_test_episodes_is_refused() {
    // training.episodes = 0 is allowed (the untrained control); a test needs episodes.
    let e = error_of(&base().replace("episodes = 300", "episodes = 0"));
    assert!(
        e.contains("evaluation.episodes") && e.contains("at least 1"),
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
        experiments::parse(&base(), "bad.toml", Some("huge")).unwrap_err()
    );
    assert!(e.contains("huge") && e.contains("quick"), "{e}");
}

#[test]
fn missing_file_is_reported() {
    let e = format!(
        "{:#}",
        experiments::load("no_such_experiment", None).unwrap_err()
    );
    assert!(e.contains("no_such_experiment"), "{e}");
}

#[test]
fn another_experiments_analysis_key_is_refused_by_name() {
    // `shuffles` belongs to Simulation 1's analysis; Simulation 4 refuses it.
    let e = error_of(&base().replace("lags = 5", "lags = 5\nshuffles = 20"));
    assert!(e.contains("bad.toml") && e.contains("shuffles"), "{e}");
    assert!(e.contains("key `analysis`"), "{e}");
    // Likewise a figure key of Simulation 1.
    let e = error_of(&base().replace("\n[figure]\n", "\n[figure]\nreference_lag1_reward = 1.25\n"));
    assert!(
        e.contains("reference_lag1_reward") && e.contains("key `figure`"),
        "{e}"
    );
    // The common key `bootstrap` is still accepted, and checked.
    let e = error_of(&base().replace("lags = 5", "lags = 0"));
    assert!(
        e.contains("analysis.lags") && e.contains("at least 1"),
        "{e}"
    );
}

#[test]
fn unknown_analysis_module_is_named() {
    let e = error_of(&base().replace("analysis = \"s4_two_step\"", "analysis = \"s9_telepathy\""));
    assert!(
        e.contains("experiment.analysis")
            && e.contains("s9_telepathy")
            && e.contains("s4_two_step"),
        "{e}"
    );
    // An analysis given a task it cannot read is refused too.
    let s1 = common::experiment_text("s1_reward_history");
    let e = error_of(&s1.replace(
        "analysis = \"s1_reward_history\"",
        "analysis = \"s4_two_step\"",
    ));
    assert!(e.contains("two_step"), "{e}");
}

#[test]
fn a_misspelt_experiment_name_gets_a_suggestion() {
    let e = format!("{:#}", experiments::load("s4_two_stpe", None).unwrap_err());
    assert!(e.contains("did you mean `s4_two_step`"), "{e}");
}

#[test]
fn bad_variants_and_conditions_are_named() {
    let with = |extra: &str| format!("{}\n{extra}", base());
    let e = error_of(&with(
        "[[variants]]\nname = \"small\"\nagent = { hidden = 0 }",
    ));
    assert!(
        e.contains("variant `small`") && e.contains("agent.hidden"),
        "{e}"
    );
    let e = error_of(&with(
        "[[variants]]\nname = \"a\"\n[[variants]]\nname = \"a\"",
    ));
    assert!(e.contains("distinct"), "{e}");
    let e = error_of(&with(
        "[[evaluation.conditions]]\nname = \"odd\"\ntask = { common_prob = 2.0 }",
    ));
    assert!(
        e.contains("condition `odd`") && e.contains("task.common_prob"),
        "{e}"
    );
    let e = error_of(&with(
        "[[evaluation.conditions]]\nname = \"odd\"\ntask = { colour = 1 }",
    ));
    assert!(e.contains("colour"), "{e}");
}
