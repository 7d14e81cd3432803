//! The API user: an email and an API token, sent as HTTP Basic.

use gladly_webhook_core::Secret;

/// An API user of Gladly: the email is the Basic user name, the token its
/// password. The token never appears in `Debug` or `Display`.
///
/// ```
/// use gladly_webhook_client::ApiUser;
///
/// let user: ApiUser = "ops@example.com:tok_0123456789".parse().unwrap();
/// assert_eq!(user.email(), "ops@example.com");
/// assert!(!format!("{user:?} {user}").contains("tok_0123456789"));
/// assert!("no-colon".parse::<ApiUser>().is_err());
/// ```
#[derive(Clone)]
pub struct ApiUser {
    email: String,
    token: Secret,
}

/// Why `email:token` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiUserError {
    /// No `:` between the email and the token.
    #[error("expected `email:token` (the API user's email and API token), found no `:`")]
    MissingColon,
    /// An empty email or token.
    #[error("expected `email:token`, found an empty {0}")]
    Empty(&'static str),
}

impl ApiUser {
    /// The user `email` with `token`.
    pub fn new(email: impl Into<String>, token: Secret) -> Self {
        Self {
            email: email.into(),
            token,
        }
    }

    /// The email (the Basic user name).
    pub fn email(&self) -> &str {
        &self.email
    }

    /// The `Authorization` header's value, marked sensitive.
    pub(crate) fn authorization(&self) -> http::HeaderValue {
        use base64::Engine as _;
        let credentials = format!("{}:{}", self.email, self.token.expose());
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        let mut value = http::HeaderValue::from_str(&format!("Basic {encoded}"))
            .unwrap_or_else(|_| http::HeaderValue::from_static("Basic"));
        value.set_sensitive(true);
        value
    }
}

impl std::str::FromStr for ApiUser {
    type Err = ApiUserError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (email, token) = text.split_once(':').ok_or(ApiUserError::MissingColon)?;
        if email.is_empty() {
            return Err(ApiUserError::Empty("email"));
        }
        if token.is_empty() {
            return Err(ApiUserError::Empty("token"));
        }
        Ok(Self::new(email, Secret::new(token)))
    }
}

impl std::fmt::Debug for ApiUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiUser")
            .field("email", &self.email)
            .field("token", &self.token)
            .finish()
    }
}

impl std::fmt::Display for ApiUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.email)
    }
}
