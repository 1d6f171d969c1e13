//! The CLI's side of the admin interface: requests to the running server's `/api`, with
//! the token from its file. A server that is not running is told apart from one that
//! refuses, so that account commands can fall back to the database alone.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::{reachable, Config};

/// A connection to the running server's admin interface.
pub struct Admin {
    base: String,
    token: String,
    agent: ureq::Agent,
}

/// Why a request did not get an answer.
pub enum Unreached {
    /// No server answers at the admin address (or it never made its token).
    NotRunning(String),
    /// It answered, with an error; or the request could not be made.
    Failed(anyhow::Error),
}

impl From<Unreached> for anyhow::Error {
    fn from(unreached: Unreached) -> anyhow::Error {
        match unreached {
            Unreached::NotRunning(why) => anyhow!("{why}"),
            Unreached::Failed(e) => e,
        }
    }
}

impl Admin {
    pub fn of(config: &Config) -> Result<Admin, Unreached> {
        let file: PathBuf = config.admin_token_file();
        let base = format!("http://{}/api", reachable(config.admin.listen));
        let token = match std::fs::read_to_string(&file) {
            Ok(text) => text.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let why = format!("the server is not running here: it has never made {}", file.display());
                return Err(Unreached::NotRunning(why));
            }
            Err(e) => {
                return Err(Unreached::Failed(anyhow!("cannot read the admin token {}: {e}", file.display())))
            }
        };
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
        Ok(Admin { base, token, agent })
    }

    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Unreached> {
        self.answer(self.agent.get(&self.url(path)).set("Authorization", &self.bearer()).call())
    }

    pub fn post<T: DeserializeOwned>(&self, path: &str, body: Value) -> Result<T, Unreached> {
        self.answer(self.agent.post(&self.url(path)).set("Authorization", &self.bearer()).send_json(body))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    fn answer<T: DeserializeOwned>(&self, sent: Result<ureq::Response, ureq::Error>) -> Result<T, Unreached> {
        match sent {
            Ok(response) => response
                .into_json()
                .context("the server's answer is not what was expected")
                .map_err(Unreached::Failed),
            Err(ureq::Error::Status(status, response)) => {
                let said: Option<Value> = response.into_json().ok();
                let error =
                    said.as_ref().and_then(|v| v["error"].as_str()).unwrap_or("no reason given").to_owned();
                Err(Unreached::Failed(anyhow!("the server refused ({status}): {error}")))
            }
            Err(ureq::Error::Transport(t)) if t.kind() == ureq::ErrorKind::ConnectionFailed => {
                Err(Unreached::NotRunning(format!("no server answers at {}", self.base)))
            }
            Err(e) => {
                Err(Unreached::Failed(anyhow!("cannot reach the admin interface at {}: {e}", self.base)))
            }
        }
    }
}

/// `user@example.com` as a path segment.
pub fn segment(email: &str) -> String {
    crate::protocol::url_encode(email)
}
