//! Member checks shared by the negotiation and transfer messages.

/// A process id (`providerPid`, `consumerPid`) must name something.
pub(crate) fn pid(member: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        Err(format!("`{member}` is empty: give the process id (e.g. \"urn:uuid:…\")"))
    } else {
        Ok(())
    }
}

pub(crate) fn optional_pid(member: &str, value: Option<&str>) -> Result<(), String> {
    value.map_or(Ok(()), |v| pid(member, v))
}

/// A callback address must be an absolute http(s) URL the receiver can post to
/// (DSP: an address that is not understood is an unrecoverable error).
pub(crate) fn callback_address(value: &str) -> Result<(), String> {
    let refuse = |why: &str| {
        Err(format!(
            "`callbackAddress` `{value}` {why}: give the absolute https URL under which the callback paths are served"
        ))
    };
    match url::Url::parse(value) {
        Err(e) => refuse(&format!("is not a URL ({e})")),
        Ok(url) if !matches!(url.scheme(), "https" | "http") => refuse("does not use https or http"),
        Ok(url) if url.host().is_none() => refuse("has no host"),
        Ok(url) if url.query().is_some() || url.fragment().is_some() => refuse("has a query or fragment"),
        Ok(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_and_callbacks() {
        assert!(pid("consumerPid", "urn:uuid:1").is_ok());
        assert!(pid("consumerPid", "  ").unwrap_err().contains("`consumerPid` is empty"));
        assert!(optional_pid("providerPid", None).is_ok());
        for ok in ["https://c.example/cb", "http://127.0.0.1:8080/dsp/2025-1/callback/"] {
            assert!(callback_address(ok).is_ok(), "{ok}");
        }
        for bad in ["", "c.example/cb", "ftp://c.example/cb", "https://c.example/cb?x=1", "mailto:a@b"] {
            assert!(callback_address(bad).is_err(), "{bad}");
        }
    }
}
