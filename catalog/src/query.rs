//! The search request as written in `/api/v1/search?…`, checked into an index [`Filter`].

use passerelle_policy::Purpose;
use passerelle_policy::vocab::territory::{GROUPS, resolve_area};
use serde::Deserialize;

use crate::index::Filter;
use crate::record::{normalize_eidr, normalize_isan, parse_kind};
use crate::text::words;

/// Page size when none is asked for.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest page size served.
pub const MAX_LIMIT: usize = 200;

/// Query parameters of the search endpoint; every one is optional. An unknown
/// parameter is refused rather than ignored: a misspelt facet would silently widen the search.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Words to find in titles and descriptions (each matches as a prefix).
    pub q: Option<String>,
    pub provider: Option<String>,
    pub role: Option<String>,
    #[serde(rename = "workType")]
    pub work_type: Option<String>,
    pub eidr: Option<String>,
    pub isan: Option<String>,
    pub language: Option<String>,
    /// ISO 3166-1 alpha-2 code or group name (`EU`, `DACH`, `Nordics`…).
    pub territory: Option<String>,
    #[serde(rename = "licenseType")]
    pub license_type: Option<String>,
    pub purpose: Option<String>,
    /// `work`, `collection` or `service`.
    pub kind: Option<String>,
    pub offset: Option<String>,
    pub limit: Option<String>,
}

/// A parameter that cannot be used, with what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("search parameter `{parameter}`: {reason}")]
pub struct QueryError {
    pub parameter: &'static str,
    pub reason: String,
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn number(parameter: &'static str, value: &Option<String>) -> Result<Option<usize>, QueryError> {
    present(value)
        .map(|v| {
            v.parse::<usize>()
                .map_err(|_| QueryError { parameter, reason: format!("must be a whole number, found `{v}`") })
        })
        .transpose()
}

impl SearchParams {
    pub fn to_filter(&self) -> Result<Filter, QueryError> {
        let territory = present(&self.territory)
            .map(|t| {
                resolve_area(t).ok_or_else(|| QueryError {
                    parameter: "territory",
                    reason: format!(
                        "`{t}` is neither an ISO 3166-1 alpha-2 code nor a known group ({})",
                        GROUPS.iter().map(|g| g.name).collect::<Vec<_>>().join(", ")
                    ),
                })
            })
            .transpose()?;
        let purpose = present(&self.purpose)
            .map(|p| {
                Purpose::parse(p).ok_or_else(|| QueryError {
                    parameter: "purpose",
                    reason: format!(
                        "`{p}` is not a known purpose ({})",
                        Purpose::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                })
            })
            .transpose()?;
        let kind = present(&self.kind)
            .map(|k| {
                parse_kind(k).ok_or_else(|| QueryError {
                    parameter: "kind",
                    reason: format!("`{k}` is not a dataset kind: use work, collection or service"),
                })
            })
            .transpose()?;
        let limit = number("limit", &self.limit)?.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(QueryError { parameter: "limit", reason: format!("must be from 1 to {MAX_LIMIT}") });
        }
        Ok(Filter {
            words: present(&self.q).map(words).unwrap_or_default(),
            provider: present(&self.provider).map(str::to_string),
            role: present(&self.role).map(str::to_string),
            work_type: present(&self.work_type).map(str::to_string),
            eidr: present(&self.eidr).map(normalize_eidr),
            isan: present(&self.isan).map(normalize_isan),
            language: present(&self.language).map(str::to_ascii_lowercase),
            territory,
            license_type: present(&self.license_type).map(str::to_string),
            purpose,
            kind,
            offset: number("offset", &self.offset)?.unwrap_or(0),
            limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> SearchParams {
        serde_urlencoded::from_str(query).unwrap()
    }

    #[test]
    fn parameters_are_normalised() {
        let f = params("q=Le+Pass&eidr=https://doi.org/10.5240/abc&language=ES&territory=dach&kind=Service&limit=5")
            .to_filter()
            .unwrap();
        assert_eq!(f.words, ["le", "pass"]);
        assert_eq!(f.eidr.as_deref(), Some("10.5240/ABC"));
        assert_eq!(f.language.as_deref(), Some("es"));
        assert!(f.territory.is_some());
        assert_eq!(f.limit, 5);
        assert_eq!(params("").to_filter().unwrap().limit, DEFAULT_LIMIT);
    }

    #[test]
    fn bad_parameters_say_what_to_write() {
        let e = params("territory=Europe").to_filter().unwrap_err();
        assert!(e.to_string().contains("EU, EEA"), "{e}");
        assert_eq!(params("purpose=fun").to_filter().unwrap_err().parameter, "purpose");
        assert_eq!(params("kind=film").to_filter().unwrap_err().parameter, "kind");
        assert_eq!(params("limit=0").to_filter().unwrap_err().parameter, "limit");
        assert_eq!(params("offset=-1").to_filter().unwrap_err().parameter, "offset");
        let misspelt = serde_urlencoded::from_str::<SearchParams>("titel=Nordlys").unwrap_err();
        assert!(misspelt.to_string().contains("titel"), "{misspelt}");
    }
}
