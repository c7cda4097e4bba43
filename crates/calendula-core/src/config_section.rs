//! Reading one config section so that every mistake in it is reported at once (SPEC §2:
//! one line per problem), not only the first one serde stops at.

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::{Path, Segment};

use crate::body::missing_field;
use crate::module::ConfigProblem;
use crate::strict_structs::StrictStructs;

/// Past this many, the rest of a section's problems wait for the next run.
const MAX_PROBLEMS: usize = 20;

/// Deserializes `section` and checks it with `validate` (the rules beyond types). On a
/// deserialization failure the key at fault is taken out and the section read again, so
/// each wrong or unknown key gets its own problem; a missing field that only went missing
/// because its wrong value was taken out is not reported twice. What could be read then is
/// validated too, so a bad value beside an unknown key is reported in the same run (not
/// the keys taken out: defaults stand in for them).
pub fn read_section<T: DeserializeOwned>(
    section: Value,
    validate: impl FnOnce(&T) -> Vec<ConfigProblem>,
) -> Result<T, Vec<ConfigProblem>> {
    let (value, mut problems) = deserialize_section::<T>(section);
    let Some(value) = value else {
        return Err(problems);
    };
    let reported: Vec<String> = problems.iter().map(|p| p.path.clone()).collect();
    let is_reported = |path: &str| {
        reported.iter().any(|r| {
            r == "."
                || path == r
                || path
                    .strip_prefix(r.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    };
    problems.extend(
        validate(&value)
            .into_iter()
            .filter(|p| !is_reported(&p.path)),
    );
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(problems)
    }
}

/// The section with its wrong and unknown keys taken out, if it could be read then, and a
/// problem for each such key.
fn deserialize_section<T: DeserializeOwned>(mut section: Value) -> (Option<T>, Vec<ConfigProblem>) {
    let mut problems = Vec::new();
    let mut taken_out: Vec<(String, String)> = Vec::new();
    while problems.len() < MAX_PROBLEMS {
        let error = match serde_path_to_error::deserialize::<_, T>(StrictStructs(section.clone())) {
            Ok(value) => return (Some(value), problems),
            Err(error) => error,
        };
        let path = error.path().clone();
        let message = error.into_inner().to_string();
        if let Some(field) = missing_field(&message) {
            let parent = dotted(&path.iter().collect::<Vec<_>>());
            let already_reported = taken_out
                .iter()
                .any(|(taken_from, key)| *taken_from == parent && key == field);
            if already_reported {
                // Taking out a wrong value left its mapping without a required key: the
                // mapping goes too, without a second problem, so that the rest of the
                // section is still read and range-checked.
                match take_out(&mut section, &path) {
                    Some(removed) => {
                        taken_out.push(removed);
                        continue;
                    }
                    None => break,
                }
            }
        }
        // A missing field is the fault of the mapping that lacks it: taking that mapping
        // out lets the rest be read (a section itself lacking one cannot be read on).
        problems.push(ConfigProblem::new(path.to_string(), message));
        match take_out(&mut section, &path) {
            Some(removed) => taken_out.push(removed),
            None => break,
        }
    }
    if problems.len() == MAX_PROBLEMS {
        problems.push(ConfigProblem::new(
            ".",
            format!("stopped after {MAX_PROBLEMS} problems in this section; there may be more"),
        ));
    }
    (None, problems)
}

/// Removes the mapping entry `path` names; returns (parent path, key). Sequence elements
/// are left in place (removing one would shift the indexes later problems report).
fn take_out(section: &mut Value, path: &Path) -> Option<(String, String)> {
    let segments: Vec<&Segment> = path.iter().collect();
    let (last, parents) = segments.split_last()?;
    let Segment::Map { key } = last else {
        return None;
    };
    let mut parent = section;
    for segment in parents {
        parent = match segment {
            Segment::Map { key } => parent.get_mut(key.as_str())?,
            Segment::Seq { index } => parent.get_mut(*index)?,
            _ => return None,
        };
    }
    // `shift_remove`: the other keys keep their order, so problems come in file order.
    parent.as_object_mut()?.shift_remove(key.as_str())?;
    Some((dotted(parents), key.clone()))
}

fn dotted(segments: &[&Segment]) -> String {
    let names: Vec<String> = segments.iter().map(|s| s.to_string()).collect();
    names.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Section {
        size: u32,
        #[serde(default)]
        inner: Inner,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        #[serde(default)]
        level: u8,
    }

    /// `size` at most 10; `inner.level` at most 5.
    fn validate(section: &Section) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if section.size > 10 {
            problems.push(ConfigProblem::new("size", "expected at most 10"));
        }
        if section.inner.level > 5 {
            problems.push(ConfigProblem::new("inner.level", "expected at most 5"));
        }
        problems
    }

    fn problems(section: Value) -> Vec<String> {
        read_section::<Section>(section, validate)
            .unwrap_err()
            .iter()
            .map(|p| p.to_string())
            .collect()
    }

    #[test]
    fn every_wrong_and_unknown_key_is_reported() {
        let found = problems(json!({"size": 1, "colour": 1, "inner": {"level": "x", "hue": 2}}));
        assert_eq!(found.len(), 3, "{found:?}");
        for expected in [
            "colour: unknown field",
            "inner.level: invalid type",
            "inner.hue: unknown field",
        ] {
            assert!(found.iter().any(|p| p.starts_with(expected)), "{found:?}");
        }
    }

    #[test]
    fn a_wrong_required_value_is_not_also_reported_missing() {
        assert_eq!(problems(json!({"size": "big"})).len(), 1);
        let found = problems(json!({}));
        assert_eq!(found, [".: missing field `size`"]);
    }

    #[test]
    fn a_section_with_too_many_problems_says_so() {
        let mut section = serde_json::Map::new();
        for i in 0..25 {
            section.insert(format!("unknown{i}"), json!(1));
        }
        let problems = problems(Value::Object(section));
        assert_eq!(problems.len(), MAX_PROBLEMS + 1, "{problems:?}");
        assert!(
            problems[MAX_PROBLEMS].contains("there may be more"),
            "{problems:?}"
        );
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct WithChannels {
        size: u32,
        channels: std::collections::BTreeMap<String, Channel>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Channel {
        url: String,
    }

    #[test]
    fn a_wrong_required_value_deep_down_hides_no_other_problem() {
        let validate = |section: &WithChannels| match section.size {
            0..=10 => Vec::new(),
            _ => vec![ConfigProblem::new("size", "expected at most 10")],
        };
        let section = json!({"size": 11, "channels": {"sms": {"url": 5}, "mail": {"url": "x"}}});
        let found: Vec<String> = read_section::<WithChannels>(section, validate)
            .unwrap_err()
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("channels.sms.url: invalid type"),
            "{found:?}"
        );
        assert_eq!(found[1], "size: expected at most 10");
    }

    #[test]
    fn a_good_section_deserializes() {
        let section: Section = read_section(json!({"size": 3}), validate).unwrap();
        assert_eq!(section.size, 3);
    }

    #[test]
    fn range_problems_are_reported_beside_unknown_keys_but_not_for_keys_taken_out() {
        let found = problems(json!({"size": 11, "colour": 1, "inner": {"level": 6}}));
        assert_eq!(
            found,
            [
                "colour: unknown field `colour`, expected `size` or `inner`",
                "size: expected at most 10",
                "inner.level: expected at most 5"
            ]
        );
        // A wrong value taken out has its default stand in: its type is all there is to say.
        let mut found = problems(json!({"size": 11, "inner": {"level": "x", "hue": 1}}));
        found.sort();
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found[0].starts_with("inner.hue: unknown field"),
            "{found:?}"
        );
        assert!(
            found[1].starts_with("inner.level: invalid type"),
            "{found:?}"
        );
        assert_eq!(found[2], "size: expected at most 10");
    }
}
