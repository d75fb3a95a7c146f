//! The demo's services as child processes: init, run, wait for their listening lines, call their APIs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a service may take to announce its listeners, and a step to reach its state.
pub(crate) const DEADLINE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);

/// One running service of the demo (killed when dropped).
pub struct Service {
    pub name: String,
    pub did: String,
    /// The protocol (or public) listener.
    pub public: String,
    /// The management listener (API, console).
    pub management: String,
    pub api_key_file: PathBuf,
    pub config: PathBuf,
    pub log: PathBuf,
    pub has_console: bool,
    /// The management key, for the demo's own calls; never printed.
    api_key: String,
    child: Child,
    http: reqwest::Client,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").field("name", &self.name).field("management", &self.management).finish()
    }
}

/// A free loopback port (the DID of a did:web service names its port before it runs).
pub(crate) fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| format!("no free port: {e}"))
}

/// Runs `exe args` to completion; its output on failure.
pub(crate) fn run_command(exe: &Path, args: &[&str]) -> Result<String, String> {
    let out = clean(Command::new(exe)).args(args).output().map_err(|e| format!("{}: {e}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!("`passerelle {}` failed: {}{}", args.join(" "), stdout, String::from_utf8_lossy(&out.stderr)))
    }
}

/// The demo's services get their settings from their files and the demo, not from the caller's environment.
fn clean(mut cmd: Command) -> Command {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PASSERELLE_") {
            cmd.env_remove(&key);
        }
    }
    cmd
}

pub(crate) struct Launch<'a> {
    pub exe: &'a Path,
    pub name: &'a str,
    pub args: Vec<String>,
    pub env: Vec<(&'static str, String)>,
    pub log: PathBuf,
    /// The line prefixes announcing the public and the management listener.
    pub announces: [&'static str; 2],
    pub did: String,
    pub api_key_file: PathBuf,
    pub config: PathBuf,
    pub has_console: bool,
}

impl Launch<'_> {
    /// Starts the service and waits until it announces both listeners.
    pub(crate) async fn start(self) -> Result<Service, String> {
        let file = std::fs::File::create(&self.log).map_err(|e| format!("{}: {e}", self.log.display()))?;
        let err = file.try_clone().map_err(|e| format!("{}: {e}", self.log.display()))?;
        let mut cmd = clean(Command::new(self.exe));
        cmd.args(&self.args).stdin(Stdio::null()).stdout(file).stderr(err).env("RUST_LOG", "warn");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().map_err(|e| format!("{} does not start: {e}", self.name))?;
        let started = Instant::now();
        let (public, management) = loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            let find = |prefix: &str| text.lines().find_map(|l| l.strip_prefix(prefix)).map(str::to_string);
            if let (Some(p), Some(m)) = (find(self.announces[0]), find(self.announces[1])) {
                break (p, m);
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("{} stopped ({status}); its log {}:\n{text}", self.name, self.log.display()));
            }
            if started.elapsed() > DEADLINE {
                let _ = child.kill();
                return Err(format!("{} did not start within {DEADLINE:?}; see {}", self.name, self.log.display()));
            }
            tokio::time::sleep(POLL).await;
        };
        let ready = || -> Result<(String, reqwest::Client), String> {
            let api_key = std::fs::read_to_string(&self.api_key_file)
                .map_err(|e| format!("{}: {e}", self.api_key_file.display()))?;
            // reqwest is built without a default rustls provider: the process picks ring once.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let http = reqwest::Client::builder().timeout(DEADLINE).build().map_err(|e| e.to_string())?;
            Ok((api_key.trim().to_string(), http))
        };
        // A service that cannot be driven is not left running behind the demo.
        let (api_key, http) = ready().inspect_err(|_| {
            let _ = child.kill();
            let _ = child.wait();
        })?;
        Ok(Service {
            name: self.name.to_string(),
            did: self.did,
            public,
            management,
            api_key_file: self.api_key_file,
            config: self.config,
            log: self.log,
            has_console: self.has_console,
            api_key,
            child,
            http,
        })
    }
}

impl Service {
    /// A management API call: the status and the JSON answer.
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), String> {
        let mut request =
            self.http.request(method.clone(), format!("{}{path}", self.management)).header("X-Api-Key", &self.api_key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| format!("{} {method} {path}: {e}", self.name))?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// A call that must answer 2xx: its JSON, or the connector's message.
    pub(crate) async fn ok(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let (status, answer) = self.call(method.clone(), path, body).await?;
        if (200..300).contains(&status) {
            Ok(answer)
        } else {
            let message = answer["message"].as_str().map(str::to_string).unwrap_or_else(|| answer.to_string());
            Err(format!("{} answered {method} {path} with HTTP {status}: {message}", self.name))
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Result<Value, String> {
        self.ok(reqwest::Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> Result<Value, String> {
        self.ok(reqwest::Method::POST, path, Some(body)).await
    }

    /// Polls `path` until `done` holds (the deadline names `what`).
    pub(crate) async fn wait_for(
        &self,
        path: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Result<Value, String> {
        let started = Instant::now();
        loop {
            let (status, value) = self.call(reqwest::Method::GET, path, None).await?;
            if status == 200 && done(&value) {
                return Ok(value);
            }
            if started.elapsed() > DEADLINE {
                return Err(format!("{}: {what} did not happen within {DEADLINE:?}; last answer: {value}", self.name));
            }
            tokio::time::sleep(POLL).await;
        }
    }
}
