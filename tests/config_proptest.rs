//! Property tests of the config loader: whatever the text, `experiments::parse`
//! returns Ok or an error, and never panics (nor hangs). (a) arbitrary text and
//! mutations of the shipped files; (b) every shipped experiment with one key
//! (any key, at any depth, including profiles, checks and conditions) replaced
//! by an arbitrary value: string, integer, float (NaN and infinities included),
//! bool, array or table; (c) arbitrary `--set key=value` overrides.
//! The case counts keep the whole file to a few seconds in release
//! (PROPTEST_CASES overrides them).

use metarl::config::{self, Override};
use metarl::experiments;
use proptest::prelude::*;
use toml::Value;

fn shipped() -> &'static [(&'static str, &'static str)] {
    config::shipped()
}

/// Parse with and without each profile; the result may be anything but a panic.
fn parse_all_ways(text: &str) {
    let _ = experiments::parse(text, "prop.toml", None);
    let _ = experiments::parse(text, "prop.toml", Some("quick"));
}

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

/// Every key path of a TOML value (tables and array elements too).
fn paths(v: &Value, prefix: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    match v {
        Value::Table(t) => {
            for (k, x) in t {
                prefix.push(Seg::Key(k.clone()));
                out.push(prefix.clone());
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                prefix.push(Seg::Index(i));
                out.push(prefix.clone());
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn set(root: &mut Value, path: &[Seg], new: Value) {
    let mut v = root;
    for seg in &path[..path.len() - 1] {
        v = match seg {
            Seg::Key(k) => v.get_mut(k.as_str()).unwrap(),
            Seg::Index(i) => v.get_mut(*i).unwrap(),
        };
    }
    match path.last().unwrap() {
        Seg::Key(k) => {
            v.as_table_mut().unwrap().insert(k.clone(), new);
        }
        Seg::Index(i) => v.as_array_mut().unwrap()[*i] = new,
    }
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::String),
        "[a-z_]{0,12}".prop_map(Value::String),
        any::<i64>().prop_map(Value::Integer),
        (-3i64..300).prop_map(Value::Integer),
        any::<f64>().prop_map(Value::Float),
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            Just(f64::MAX),
            Just(f64::MIN_POSITIVE),
        ]
        .prop_map(Value::Float),
        (-2.0f64..2.0).prop_map(Value::Float),
        any::<bool>().prop_map(Value::Boolean),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Table(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// (a) Arbitrary text.
    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        parse_all_ways(&text);
    }

    /// (a) A shipped file with a slice cut out and arbitrary text put in its place
    /// (mostly still TOML, often with broken values, tables or strings).
    #[test]
    fn mutated_shipped_text_never_panics(
        which in 0usize..64,
        at in any::<prop::sample::Index>(),
        cut in 0usize..200,
        insert in prop_oneof!["[ -~\n]{0,40}", any::<String>()],
    ) {
        let (_, text) = shipped()[which % shipped().len()];
        let start = at.index(text.len());
        let start = (0..=start).rev().find(|&i| text.is_char_boundary(i)).unwrap();
        let end = (start + cut).min(text.len());
        let end = (end..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap();
        let mutated = format!("{}{insert}{}", &text[..start], &text[end..]);
        parse_all_ways(&mutated);
    }

    /// (b) Every shipped experiment with one key replaced by an arbitrary value.
    #[test]
    fn any_value_for_any_key_never_panics(
        which in 0usize..64,
        key in any::<prop::sample::Index>(),
        new in value(),
    ) {
        let (_, text) = shipped()[which % shipped().len()];
        let mut root = Value::Table(toml::from_str(text).unwrap());
        let mut all = vec![];
        paths(&root, &mut vec![], &mut all);
        let path = &all[key.index(all.len())];
        set(&mut root, path, new);
        let Value::Table(table) = root else { unreachable!() };
        if let Ok(text) = toml::to_string(&table) {
            parse_all_ways(&text);
        }
    }

    /// (c) Arbitrary `--set key=value` overrides of a shipped experiment.
    #[test]
    fn any_override_never_panics(
        which in 0usize..64,
        key in "[a-z_]{1,12}\\.[a-z_]{1,14}(\\.[a-z_]{1,8})?",
        raw in prop_oneof![any::<String>(), "[ -~]{0,20}"],
    ) {
        let (name, _) = shipped()[which % shipped().len()];
        if let Ok(o) = Override::parse(&format!("{key}={raw}")) {
            let _ = experiments::load_with(name, Some("quick"), &[o]);
        }
    }
}

/// The same replacement on real keys of every shipped experiment, each key with
/// a few values of every kind (deterministic, so every key is covered).
#[test]
fn every_key_of_every_experiment_with_each_kind_of_value() {
    let values = [
        Value::String("x".into()),
        Value::String(String::new()),
        Value::Integer(-1),
        Value::Integer(0),
        Value::Integer(i64::MAX),
        Value::Float(f64::NAN),
        Value::Float(f64::INFINITY),
        Value::Float(-1e300),
        Value::Boolean(true),
        Value::Array(vec![]),
        Value::Array(vec![Value::Integer(1), Value::String("a".into())]),
        Value::Table(toml::Table::new()),
    ];
    for (name, text) in shipped() {
        let root = Value::Table(toml::from_str(text).unwrap());
        let mut all = vec![];
        paths(&root, &mut vec![], &mut all);
        for path in &all {
            for v in &values {
                let mut r = root.clone();
                set(&mut r, path, v.clone());
                let Value::Table(table) = r else {
                    unreachable!()
                };
                let text = toml::to_string(&table).unwrap();
                let result = std::panic::catch_unwind(|| {
                    let _ = experiments::parse(&text, "prop.toml", None);
                });
                assert!(result.is_ok(), "{name}: {path:?} = {v} panics");
            }
        }
    }
}
