//! The subject an event type is published on.
//!
//! `<prefix>.` followed by the type's `/`-separated parts, one token each:
//! `CONVERSATION/CLOSED` is `gladly.CONVERSATION.CLOSED`, and our schema's
//! `CONVERSATION_CLOSED` is `gladly.CONVERSATION_CLOSED`. A type neither
//! model knows gets its own subject by the same rule. In a part, letters,
//! digits, `-` and `_` stay as they are, and every other byte is written
//! `%` and two upper-case hex digits (`.` is `%2E`, a space `%20`, `%`
//! itself `%25`): no token holds NATS's separator or wildcards, and two
//! types never share a subject. An empty part is `%`.

/// The subject events of `event_type` are published on under `prefix`.
pub fn subject_for(prefix: &str, event_type: &str) -> String {
    let mut subject = String::with_capacity(prefix.len() + event_type.len() + 8);
    subject.push_str(prefix);
    for part in event_type.split('/') {
        subject.push('.');
        if part.is_empty() {
            subject.push('%');
        }
        for byte in part.bytes() {
            if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
                subject.push(char::from(byte));
            } else {
                subject.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    subject
}

#[cfg(test)]
mod tests {
    use super::subject_for;

    #[test]
    fn each_part_of_a_type_is_a_token() {
        assert_eq!(
            subject_for("gladly", "CONVERSATION/CLOSED"),
            "gladly.CONVERSATION.CLOSED"
        );
        assert_eq!(
            subject_for("acme.gladly", "CONVERSATION_CLOSED"),
            "acme.gladly.CONVERSATION_CLOSED"
        );
        assert_eq!(
            subject_for("gladly", "CUSTOMER_PROFILE/MERGED"),
            "gladly.CUSTOMER_PROFILE.MERGED"
        );
    }

    #[test]
    fn what_nats_would_read_as_syntax_is_escaped() {
        assert_eq!(subject_for("g", "A.B/C D"), "g.A%2EB.C%20D");
        assert_eq!(subject_for("g", "*/>"), "g.%2A.%3E");
        assert_eq!(subject_for("g", "50%"), "g.50%25");
        assert_eq!(subject_for("g", "A//B/"), "g.A.%.B.%");
        assert_eq!(subject_for("g", "É"), "g.%C3%89");
        // Distinct types, distinct subjects.
        assert_ne!(subject_for("g", "A.B"), subject_for("g", "A/B"));
        assert_ne!(subject_for("g", "A%2EB"), subject_for("g", "A.B"));
    }
}
