//! Who may reach an inspector page: loopback by default; another address
//! only when the operator opts in (`--ui-allow-remote`), and then behind a
//! login (`--ui-login-env`). Either way the page answers only to the host
//! names it was started with (against DNS rebinding).

use std::net::SocketAddr;

use gladly_webhook_inspector::receiver::ReceiverInspector;
use gladly_webhook_inspector::{AllowedHosts, PageLogin};

use crate::cli::UiAccessArgs;
use crate::error::CliError;
use crate::secrets::SecretSource;

/// What the page is served with, checked before anything is bound.
pub struct UiAccess {
    login: Option<PageLogin>,
    hosts: Vec<String>,
}

impl UiAccess {
    /// Checks `args` for a page on `addr` (`flag` names the address's
    /// flag in messages): an address beyond loopback needs the opt-in and
    /// a login.
    pub fn check(args: &UiAccessArgs, addr: SocketAddr, flag: &str) -> Result<Self, CliError> {
        let remote = !addr.ip().is_loopback();
        if remote && !args.ui_allow_remote {
            return Err(CliError::Usage(format!(
                "{flag} {addr} is not a loopback address: the inspector page shows event bodies and replays events; \
                 to serve it beyond this machine add --ui-allow-remote and --ui-login-env NAME (user:password)"
            )));
        }
        let login = match &args.ui_login_env {
            Some(name) => {
                let pair = SecretSource::env(name.clone(), 1).load()?;
                let login = PageLogin::parse(&pair)
                    .map_err(|err| CliError::Usage(format!("--ui-login-env ${name}: {err}")))?;
                Some(login)
            }
            None if args.ui_allow_remote => {
                return Err(CliError::Usage(
                    "--ui-allow-remote needs --ui-login-env NAME: a page beyond this machine asks for a login"
                        .to_string(),
                ));
            }
            None => None,
        };
        Ok(Self {
            login,
            hosts: args.ui_hosts.clone(),
        })
    }

    /// `page`, answering to the host names of `bound` and the operator's,
    /// behind the login when there is one.
    pub fn apply(&self, page: ReceiverInspector, bound: SocketAddr) -> ReceiverInspector {
        let (hosts, login) = self.guard(bound);
        let page = page.hosts(hosts);
        match login {
            Some(login) => page.login(login),
            None => page,
        }
    }

    /// The host names a page bound to `bound` answers to, and its login.
    pub fn guard(&self, bound: SocketAddr) -> (AllowedHosts, Option<PageLogin>) {
        let hosts = self
            .hosts
            .iter()
            .fold(AllowedHosts::local(bound), |hosts, name| hosts.with(name));
        (hosts, self.login.clone())
    }
}
