//! The `[tck]` section: running as the connector under test of the official DSP TCK.
//!
//! Off by default. When on, the protocol listener serves the TCK's seeded datasets and
//! agreements with scripted answers instead of the store and policy engine, and accepts
//! one static `Authorization` value instead of DCP — so it must never be on in production.

use std::time::Duration;

use super::{ConfigError, Settings};

const DEFAULT_STEP_DELAY_MS: i64 = 500;
const MAX_STEP_DELAY_MS: i64 = 60_000;

/// `[tck]`, validated.
#[derive(Clone, Default)]
pub struct TckSettings {
    pub enabled: bool,
    /// The exact `Authorization` header the TCK sends; `None` accepts any caller.
    pub static_authorization: Option<String>,
    /// Pause between two scripted messages of one process, as the TCK's own mocks pause.
    pub step_delay: Duration,
}

impl std::fmt::Debug for TckSettings {
    // The static authorization is a credential, even in a test set-up: never show it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TckSettings")
            .field("enabled", &self.enabled)
            .field("static_authorization", &self.static_authorization.as_ref().map(|_| "<redacted>"))
            .field("step_delay", &self.step_delay)
            .finish()
    }
}

impl Settings {
    pub(super) fn tck_settings(&self) -> Result<TckSettings, ConfigError> {
        let enabled = self.get("tck", "enabled").and_then(|s| s.value.as_bool()).unwrap_or(false);
        let static_authorization = self.text("tck", "static_authorization").map(|(v, _)| v).filter(|v| !v.is_empty());
        let step_delay = match self.get("tck", "step_delay_ms") {
            None => DEFAULT_STEP_DELAY_MS,
            Some(setting) => {
                let n = setting.value.as_integer().unwrap_or(DEFAULT_STEP_DELAY_MS);
                if !(0..=MAX_STEP_DELAY_MS).contains(&n) {
                    return Err(Self::invalid(
                        "tck",
                        "step_delay_ms",
                        &setting.origin,
                        format!("{n} is out of range; use 0 to {MAX_STEP_DELAY_MS} milliseconds"),
                    ));
                }
                n
            }
        };
        Ok(TckSettings { enabled, static_authorization, step_delay: Duration::from_millis(step_delay as u64) })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use std::path::Path;

    const MINIMAL: &str = "[participant]\nname = \"A\"\nrole = \"lab\"\npublic_url = \"http://127.0.0.1:9000\"\n";

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, super::ConfigError> {
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Config::from_toml_str(text, Path::new("/srv/a/passerelle.toml"), env)
    }

    #[test]
    fn tck_mode_is_off_by_default_and_set_from_file_or_environment() {
        let c = load(MINIMAL, &[]).unwrap();
        assert!(!c.tck.enabled && c.tck.static_authorization.is_none());
        assert_eq!(c.tck.step_delay.as_millis(), 500);
        let text =
            format!("{MINIMAL}[tck]\nenabled = true\nstatic_authorization = \"{{\\\"region\\\": \\\"any\\\"}}\"\n");
        let c = load(&text, &[("PASSERELLE_TCK_STEP_DELAY_MS", "0")]).unwrap();
        assert!(c.tck.enabled);
        assert_eq!(c.tck.static_authorization.as_deref(), Some(r#"{"region": "any"}"#));
        assert_eq!(c.tck.step_delay.as_millis(), 0);
        assert!(!format!("{:?}", c.tck).contains("region"), "the value is redacted");
    }

    #[test]
    fn an_out_of_range_step_delay_names_the_key() {
        let e = load(MINIMAL, &[("PASSERELLE_TCK_STEP_DELAY_MS", "-1")]).unwrap_err();
        assert_eq!(e.key(), Some("tck.step_delay_ms"), "{e}");
    }
}
