//! Console sessions: a random 256-bit id in an `HttpOnly; SameSite=Strict` cookie, kept in memory
//! with its CSRF token and expiry.
//!
//! Only the SHA-256 of a session id is kept as the map key, so neither a memory dump nor the
//! timing of the map lookup gives away a usable id. Sessions die with the process: a restart
//! logs every operator out, which is the safe direction for a loopback console.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The session cookie.
pub(crate) const SESSION_COOKIE: &str = "passerelle_console";
/// The pre-session cookie of the login form (double-submit CSRF token for the login itself).
pub(crate) const LOGIN_COOKIE: &str = "passerelle_console_login";
/// How long a session lives after login (a working day).
pub(crate) const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// How long a login form may stay open before it must be reloaded.
pub(crate) const LOGIN_FORM_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// Sessions kept at most; the one closest to expiry makes room (bounds memory if a script logs in in a loop).
const MAX_SESSIONS: usize = 256;

/// What a logged-in request carries through the handlers.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The token every state-changing form of this session must send back.
    pub csrf: String,
    expires: Instant,
}

/// The live sessions of one console.
#[derive(Debug)]
pub(crate) struct Sessions {
    lifetime: Duration,
    map: Mutex<HashMap<[u8; 32], Session>>,
}

impl Sessions {
    pub(crate) fn new(lifetime: Duration) -> Sessions {
        Sessions { lifetime, map: Mutex::new(HashMap::new()) }
    }

    /// Opens a session; returns its id (for the cookie only) and the session. `None` when the
    /// operating system's random generator fails.
    pub(crate) fn create(&self) -> Option<(String, Session)> {
        let id = random_token()?;
        let session = Session { csrf: random_token()?, expires: Instant::now() + self.lifetime };
        let mut map = self.map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        map.retain(|_, s| s.expires > now);
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k)
        {
            map.remove(&oldest);
        }
        map.insert(key(&id), session.clone());
        Some((id, session))
    }

    /// The live session with this id (an expired one is dropped).
    pub(crate) fn get(&self, id: &str) -> Option<Session> {
        let mut map = self.map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let k = key(id);
        match map.get(&k) {
            Some(s) if s.expires > Instant::now() => Some(s.clone()),
            Some(_) => {
                map.remove(&k);
                None
            }
            None => None,
        }
    }

    pub(crate) fn remove(&self, id: &str) {
        self.map.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&key(id));
    }
}

fn key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// 256 random bits as lower-case hex; `None` if the OS generator fails.
pub(crate) fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(hex::encode(bytes))
}

/// Constant-time equality of two tokens.
pub(crate) fn tokens_match(expected: &str, given: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// A `Set-Cookie` value: never readable by scripts, never sent by other sites, scoped to `path`.
/// (No `Secure`: the management listener speaks plain HTTP on loopback, where browsers would drop it.)
pub(crate) fn set_cookie(name: &str, value: &str, path: &str, max_age: Duration) -> String {
    format!("{name}={value}; HttpOnly; SameSite=Strict; Path={path}; Max-Age={}", max_age.as_secs())
}

/// A `Set-Cookie` value that deletes the cookie.
pub(crate) fn clear_cookie(name: &str, path: &str) -> String {
    format!("{name}=; HttpOnly; SameSite=Strict; Path={path}; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn sessions_are_found_by_id_and_expire() {
        let sessions = Sessions::new(SESSION_LIFETIME);
        let (id, session) = sessions.create().expect("random");
        assert_eq!(id.len(), 64, "256 bits as hex");
        assert_eq!(sessions.get(&id).expect("live").csrf, session.csrf);
        assert!(sessions.get("0".repeat(64).as_str()).is_none());
        sessions.remove(&id);
        assert!(sessions.get(&id).is_none(), "logged out");

        let expired = Sessions::new(Duration::ZERO);
        let (id, _) = expired.create().expect("random");
        assert!(expired.get(&id).is_none(), "an expired session is refused");
    }

    #[test]
    fn session_count_is_bounded() {
        let sessions = Sessions::new(SESSION_LIFETIME);
        let first = sessions.create().expect("random").0;
        for _ in 0..MAX_SESSIONS {
            sessions.create().expect("random");
        }
        assert!(sessions.map.lock().unwrap().len() <= MAX_SESSIONS);
        assert!(sessions.get(&first).is_none(), "the oldest made room");
    }

    #[test]
    fn cookies_and_tokens() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; passerelle_console=abc"));
        headers.append(COOKIE, HeaderValue::from_static("passerelle_console_login=xyz"));
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, LOGIN_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&headers, "missing"), None);
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd") && !tokens_match("abc", "ab") && !tokens_match("", ""));
        let set = set_cookie(SESSION_COOKIE, "v", "/console", SESSION_LIFETIME);
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/console"));
        assert!(set.contains("Max-Age=28800"));
    }
}
