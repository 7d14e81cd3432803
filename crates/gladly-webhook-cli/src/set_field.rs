//! `trigger --set POINTER=JSON`: change one field of an example event.
//!
//! A pointer must name a field the example has, unless `--create` says to
//! add it: a typo (`/content/customerID`) would otherwise send an event
//! with an extra field and the intended one unchanged.

use gladly_webhook_core::echo::quote;
use serde_json::Value;

use crate::error::CliError;

/// Sets the value `set` (`POINTER=JSON`) names in `event`; with `create`,
/// the last key and the objects on its way are added when absent.
pub fn apply(event: &mut Value, set: &str, create: bool) -> Result<(), CliError> {
    let bad = |why: String| CliError::Usage(format!("--set {}: {why}", quote(set)));
    let (pointer, json) = set.split_once('=').ok_or_else(|| {
        bad(format!(
            "expected POINTER=JSON, e.g. {}",
            shell_hint("/content/customerId", "cust_9")
        ))
    })?;
    if !pointer.starts_with('/') {
        return Err(bad(format!(
            "the pointer must start with `/`, e.g. {}",
            shell_hint(&format!("/{pointer}"), json.trim_matches('"'))
        )));
    }
    let value: Value = serde_json::from_str(json).map_err(|_| {
        bad(format!(
            "the value is not JSON; a string needs double quotes, which the shell removes \
             unless the whole argument is in single quotes: {}",
            shell_hint(pointer, json)
        ))
    })?;
    let tokens: Vec<String> = pointer[1..]
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let (last, path) = tokens
        .split_last()
        .expect("split always yields at least one token");
    let mut target = event;
    let mut walked = String::new();
    for token in path {
        walked.push('/');
        walked.push_str(&escape_token(token));
        target = match target {
            Value::Object(object) => {
                if !create && !object.contains_key(token) {
                    return Err(bad(absent(&walked, &keys(object))));
                }
                object
                    .entry(token.clone())
                    .or_insert_with(|| Value::Object(Default::default()))
            }
            Value::Array(items) => {
                let index = array_index(token)
                    .ok_or_else(|| bad(format!("{walked}: an array index is a number")))?;
                items
                    .get_mut(index)
                    .ok_or_else(|| bad(format!("{walked}: the array index is out of range")))?
            }
            _ => {
                return Err(bad(format!(
                    "{walked} goes through a value that is not an object or an array"
                )));
            }
        };
    }
    match target {
        Value::Object(object) => {
            if !create && !object.contains_key(last) {
                return Err(bad(absent(pointer, &keys(object))));
            }
            object.insert(last.clone(), value);
        }
        Value::Array(items) => {
            let slot = array_index(last)
                .and_then(|index| items.get_mut(index))
                .ok_or_else(|| bad(format!("{pointer}: no such array index")))?;
            *slot = value;
        }
        _ => {
            return Err(bad(format!(
                "the parent of {pointer} is not an object or an array"
            )));
        }
    }
    Ok(())
}

/// The message for a pointer the example does not have, with the keys
/// its parent does have.
fn absent(pointer: &str, keys: &str) -> String {
    format!("the example has no {pointer} (beside it: {keys}); add --create to add it")
}

/// An object's keys, for a message.
fn keys(object: &serde_json::Map<String, Value>) -> String {
    if object.is_empty() {
        return "nothing".to_string();
    }
    object
        .keys()
        .map(|k| escape_token(k))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An array index, as JSON Pointer writes it (no sign, no leading zero).
fn array_index(token: &str) -> Option<usize> {
    if token.len() > 1 && token.starts_with('0') {
        return None;
    }
    token.parse().ok()
}

/// A token escaped back for display.
fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// `--set '/pointer="value"'`, quoted so that pasting it into a POSIX shell
/// passes the JSON string with its double quotes.
fn shell_hint(pointer: &str, text: &str) -> String {
    let json = Value::from(text).to_string();
    let arg = format!("{pointer}={json}").replace('\'', r"'\''");
    format!("--set '{arg}'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(err: CliError) -> String {
        err.to_string()
    }

    #[test]
    fn an_existing_field_is_replaced() {
        let mut event = json!({"content": {"customerId": "a", "tags": ["x", "y"]}});
        apply(&mut event, r#"/content/customerId="cust_9""#, false).unwrap();
        apply(&mut event, r#"/content/tags/1="z""#, false).unwrap();
        assert_eq!(
            event,
            json!({"content": {"customerId": "cust_9", "tags": ["x", "z"]}})
        );
    }

    #[test]
    fn an_absent_field_needs_create() {
        let mut event = json!({"content": {"customerId": "a"}});
        let err = message(apply(&mut event, "/content/customerID=1", false).unwrap_err());
        assert!(
            err.contains("the example has no /content/customerID (beside it: customerId)"),
            "{err}"
        );
        assert!(err.contains("--create"), "{err}");
        let err = message(apply(&mut event, "/extra/deep=1", false).unwrap_err());
        assert!(err.contains("the example has no /extra "), "{err}");
        assert_eq!(
            event,
            json!({"content": {"customerId": "a"}}),
            "nothing changed"
        );

        apply(&mut event, "/extra/deep=1", true).unwrap();
        assert_eq!(event["extra"], json!({"deep": 1}));
    }

    #[test]
    fn an_unquoted_string_gets_a_hint_that_survives_the_shell() {
        let mut event = json!({"content": {"customerId": "a"}});
        // What the shell passes for `--set /content/customerId="cust_9"`.
        let err = message(apply(&mut event, "/content/customerId=cust_9", false).unwrap_err());
        assert!(
            err.contains(r#"--set '/content/customerId="cust_9"'"#),
            "{err}"
        );
        let err = message(apply(&mut event, "content/customerId=1", false).unwrap_err());
        assert!(err.contains("must start with `/`"), "{err}");
        assert_eq!(
            shell_hint("/a", "it's"),
            r#"--set '/a="it'\''s"'"#,
            "a single quote is closed, escaped and reopened"
        );
    }

    #[test]
    fn array_indexes_are_checked() {
        let mut event = json!({"list": [1]});
        assert!(
            message(apply(&mut event, "/list/3=2", false).unwrap_err())
                .contains("no such array index")
        );
        assert!(
            message(apply(&mut event, "/list/01=2", true).unwrap_err())
                .contains("no such array index")
        );
        let mut event = json!({"list": [{"a": 1}]});
        apply(&mut event, "/list/0/a=2", false).unwrap();
        assert_eq!(event, json!({"list": [{"a": 2}]}));
    }
}
