//! The `[tck]` section: running as the connector under test of the official DSP TCK.
//!
//! Off by default. When on, the protocol listener serves the TCK's seeded datasets and
//! agreements with scripted answers instead of the store and policy engine. Callers
//! authenticate either with one static `Authorization` value instead of DCP (what the
//! official Java TCK can send; `authorization = "static"`, the default) or with real DCP
//! (`authorization = "dcp"`, for a TCK side that is a data-space participant). Either way
//! the mode must never be on in production.

use std::time::Duration;

use super::{ConfigError, Settings};

const DEFAULT_STEP_DELAY_MS: i64 = 500;
const MAX_STEP_DELAY_MS: i64 = 60_000;

/// How callers of the TCK routes authenticate (`tck.authorization`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TckAuthorization {
    /// The static value of `tck.static_authorization` (none configured: any caller).
    #[default]
    Static,
    /// The DCP verifier, exactly as in front of the normal DSP routes; our scripted messages carry DCP tokens.
    Dcp,
}

impl TckAuthorization {
    fn parse(text: &str) -> Option<TckAuthorization> {
        match text.trim().to_ascii_lowercase().as_str() {
            "static" => Some(TckAuthorization::Static),
            "dcp" => Some(TckAuthorization::Dcp),
            _ => None,
        }
    }
}

/// `[tck]`, validated.
#[derive(Clone, Default)]
pub struct TckSettings {
    pub enabled: bool,
    pub authorization: TckAuthorization,
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
            .field("authorization", &self.authorization)
            .field("static_authorization", &self.static_authorization.as_ref().map(|_| "<redacted>"))
            .field("step_delay", &self.step_delay)
            .finish()
    }
}

impl Settings {
    pub(super) fn tck_settings(&self) -> Result<TckSettings, ConfigError> {
        let enabled = self.get("tck", "enabled").and_then(|s| s.value.as_bool()).unwrap_or(false);
        let static_authorization = self.text("tck", "static_authorization").map(|(v, _)| v).filter(|v| !v.is_empty());
        let authorization = match self.text("tck", "authorization") {
            None => TckAuthorization::Static,
            Some((text, origin)) => TckAuthorization::parse(&text).ok_or_else(|| {
                Self::invalid("tck", "authorization", &origin, format!("`{text}` is not a mode; use static or dcp"))
            })?,
        };
        if authorization == TckAuthorization::Dcp {
            // A static value would be silently ignored, and without DCP nothing would check the caller at all.
            if static_authorization.is_some()
                && let Some(setting) = self.get("tck", "static_authorization")
            {
                return Err(Self::invalid(
                    "tck",
                    "static_authorization",
                    &setting.origin,
                    "is set while tck.authorization = \"dcp\"; remove it, or use tck.authorization = \"static\"",
                ));
            }
            if let Some(setting) = self.get("dcp", "enabled")
                && setting.value.as_bool() == Some(false)
            {
                return Err(Self::invalid(
                    "tck",
                    "authorization",
                    &setting.origin,
                    "is `dcp` but dcp.enabled is false; switch DCP on, or use tck.authorization = \"static\"",
                ));
            }
        }
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
        Ok(TckSettings {
            enabled,
            authorization,
            static_authorization,
            step_delay: Duration::from_millis(step_delay as u64),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::TckAuthorization;
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
        assert_eq!(c.tck.authorization, TckAuthorization::Static);
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

    #[test]
    fn dcp_authorization_is_chosen_by_name_and_excludes_a_static_value_and_dcp_off() {
        let c = load(MINIMAL, &[("PASSERELLE_TCK_ENABLED", "true"), ("PASSERELLE_TCK_AUTHORIZATION", "DCP")]).unwrap();
        assert_eq!(c.tck.authorization, TckAuthorization::Dcp);
        let e = load(MINIMAL, &[("PASSERELLE_TCK_AUTHORIZATION", "oauth")]).unwrap_err();
        assert_eq!(e.key(), Some("tck.authorization"), "{e}");
        assert!(e.to_string().contains("static or dcp"), "{e}");
        let e = load(
            MINIMAL,
            &[
                ("PASSERELLE_TCK_AUTHORIZATION", "dcp"),
                ("PASSERELLE_TCK_STATIC_AUTHORIZATION", "{\"region\": \"any\"}"),
            ],
        )
        .unwrap_err();
        assert_eq!(e.key(), Some("tck.static_authorization"), "{e}");
        let e =
            load(MINIMAL, &[("PASSERELLE_TCK_AUTHORIZATION", "dcp"), ("PASSERELLE_DCP_ENABLED", "false")]).unwrap_err();
        assert_eq!(e.key(), Some("tck.authorization"), "{e}");
        assert!(e.to_string().contains("dcp.enabled"), "{e}");
    }
}
