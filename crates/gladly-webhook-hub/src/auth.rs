//! API users and HTTP Basic authentication, as Gladly's API does it: the
//! user name is the agent's email, the password an API token.

use std::fmt;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The most bytes an API user list may hold.
pub const MAX_USERS_BYTES: usize = 64 * 1024;
/// The most users a list may hold.
pub const MAX_USERS: usize = 1000;

/// Why an API user list was refused. Never holds a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiUsersError {
    /// A line is not `email:token`.
    #[error(
        "line {line}: expected `email:token` (an email with `@`, a colon, a token of at least 16 characters)"
    )]
    Malformed {
        /// The 1-based line number.
        line: usize,
    },
    /// The same email is listed twice.
    #[error("line {line}: the email is listed twice")]
    Duplicate {
        /// The 1-based line number of the second listing.
        line: usize,
    },
    /// No user is listed.
    #[error("no API user is listed: give at least one `email:token` line")]
    Empty,
    /// The list is too large.
    #[error("the list is larger than {MAX_USERS_BYTES} bytes or {MAX_USERS} users")]
    TooLarge,
}

/// The API users: who may call the API. Tokens are kept only as SHA-256
/// digests, and compared in constant time; `Debug` shows the emails only.
///
/// ```
/// use gladly_webhook_hub::ApiUsers;
///
/// let users = ApiUsers::parse("# ops\nops@example.com:tok_0123456789abcdef\n")?;
/// let header = "Basic b3BzQGV4YW1wbGUuY29tOnRva18wMTIzNDU2Nzg5YWJjZGVm"; // ops@example.com:tok_0123456789abcdef
/// assert_eq!(users.authenticate(Some(header)), Some("ops@example.com"));
/// assert_eq!(users.authenticate(Some("Basic b3BzQGV4YW1wbGUuY29tOndyb25n")), None);
/// assert!(!format!("{users:?}").contains("tok_"));
/// # Ok::<(), gladly_webhook_hub::ApiUsersError>(())
/// ```
#[derive(Clone)]
pub struct ApiUsers {
    users: Vec<ApiUser>,
}

#[derive(Clone)]
struct ApiUser {
    email: String,
    email_digest: [u8; 32],
    token_digest: [u8; 32],
}

/// The shortest token accepted.
pub const MIN_TOKEN_LEN: usize = 16;

impl ApiUsers {
    /// Reads a list of `email:token` lines. Blank lines and lines starting
    /// with `#` are skipped; a CRLF line end is accepted.
    pub fn parse(text: &str) -> Result<Self, ApiUsersError> {
        if text.len() > MAX_USERS_BYTES {
            return Err(ApiUsersError::TooLarge);
        }
        // A UTF-8 byte-order mark (editors on some systems write one) would
        // become part of the first email, and nobody could log in.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut users: Vec<ApiUser> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r').trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let number = index + 1;
            let Some((email, token)) = line.split_once(':') else {
                return Err(ApiUsersError::Malformed { line: number });
            };
            if !email.contains('@')
                || email.chars().any(char::is_whitespace)
                || token.len() < MIN_TOKEN_LEN
                || token.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(ApiUsersError::Malformed { line: number });
            }
            if users.iter().any(|u| u.email.eq_ignore_ascii_case(email)) {
                return Err(ApiUsersError::Duplicate { line: number });
            }
            if users.len() == MAX_USERS {
                return Err(ApiUsersError::TooLarge);
            }
            users.push(ApiUser {
                email: email.to_string(),
                email_digest: digest(email.to_ascii_lowercase().as_bytes()),
                token_digest: digest(token.as_bytes()),
            });
        }
        if users.is_empty() {
            return Err(ApiUsersError::Empty);
        }
        Ok(Self { users })
    }

    /// The email of the user an `Authorization` header value names with
    /// the right token, or `None`. Every user is compared, in constant
    /// time, whatever the header holds.
    pub fn authenticate(&self, authorization: Option<&str>) -> Option<&str> {
        let (email, token) = basic_credentials(authorization?)?;
        let email_digest = digest(email.to_ascii_lowercase().as_bytes());
        let token_digest = digest(token.as_bytes());
        let mut found = None;
        for user in &self.users {
            let matches =
                user.email_digest.ct_eq(&email_digest) & user.token_digest.ct_eq(&token_digest);
            if bool::from(matches) {
                found = Some(user.email.as_str());
            }
        }
        found
    }

    /// The email a `Basic` authorization value claims, whether or not its
    /// token is right: for logging a failed login (never the token).
    pub fn claimed_email(authorization: Option<&str>) -> Option<String> {
        basic_credentials(authorization?).map(|(email, _)| email)
    }

    /// How many users are listed.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Always `false`: a list holds at least one user.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

impl fmt::Debug for ApiUsers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiUsers")
            .field(
                "emails",
                &self.users.iter().map(|u| &u.email).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The email and token of a `Basic` authorization value.
fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") || encoded.len() > 4096 {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (email, token) = text.split_once(':')?;
    Some((email.to_string(), token.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(credentials: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    }

    #[test]
    fn users_are_read_and_checked() {
        let users = ApiUsers::parse(
            "a@example.com:token-aaaaaaaaaaaaaaaa\r\n\n# x\nb@example.com:token-bbbbbbbbbbbbbbbb\n",
        )
        .unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(
            users.authenticate(Some(&basic("b@example.com:token-bbbbbbbbbbbbbbbb"))),
            Some("b@example.com")
        );
        assert_eq!(
            users.authenticate(Some(&basic("B@Example.com:token-bbbbbbbbbbbbbbbb"))),
            Some("b@example.com")
        );
        assert_eq!(
            users.authenticate(Some(&basic("a@example.com:token-bbbbbbbbbbbbbbbb"))),
            None
        );
        assert_eq!(users.authenticate(Some(&basic("a@example.com"))), None);
        assert_eq!(
            users.authenticate(Some("Bearer token-aaaaaaaaaaaaaaaa")),
            None
        );
        assert_eq!(users.authenticate(Some("Basic !!!")), None);
        assert_eq!(users.authenticate(None), None);
        // A file saved with a UTF-8 byte-order mark: the first user can log in.
        let users = ApiUsers::parse("\u{feff}a@example.com:token-aaaaaaaaaaaaaaaa\n").unwrap();
        assert_eq!(
            users.authenticate(Some(&basic("a@example.com:token-aaaaaaaaaaaaaaaa"))),
            Some("a@example.com")
        );
    }

    #[test]
    fn bad_lists_are_refused_without_echoing_tokens() {
        for (text, expected) in [
            ("", ApiUsersError::Empty),
            ("# only a comment\n", ApiUsersError::Empty),
            (
                "no-colon-here-secret-token\n",
                ApiUsersError::Malformed { line: 1 },
            ),
            (
                "\nnot-an-email:token-aaaaaaaaaaaaaaaa\n",
                ApiUsersError::Malformed { line: 2 },
            ),
            (
                "a@example.com:short\n",
                ApiUsersError::Malformed { line: 1 },
            ),
            (
                "a@example.com:token-aaaaaaaaaaaaaaaa\na@example.com:token-cccccccccccccccc\n",
                ApiUsersError::Duplicate { line: 2 },
            ),
        ] {
            let err = ApiUsers::parse(text).unwrap_err();
            assert_eq!(err, expected, "{text:?}");
            assert!(!err.to_string().contains("token-"), "{err}");
        }
    }
}
