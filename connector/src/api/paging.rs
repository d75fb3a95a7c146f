//! Page size and cursor of list endpoints.

use super::error::ApiError;

/// Page size when the request names none.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest page a request may ask for.
pub const MAX_LIMIT: usize = 500;

/// A validated `limit` + `cursor` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paging {
    pub limit: usize,
    pub cursor: Option<String>,
}

impl Paging {
    pub fn new(limit: Option<usize>, cursor: Option<String>) -> Result<Paging, ApiError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid_query(
                "limit",
                format!("limit must be between 1 and {MAX_LIMIT}, got {limit}"),
            ));
        }
        Ok(Paging { limit, cursor: cursor.filter(|c| !c.is_empty()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_bounded() {
        assert_eq!(Paging::new(None, None).unwrap().limit, DEFAULT_LIMIT);
        assert_eq!(Paging::new(Some(500), Some(String::new())).unwrap(), Paging { limit: 500, cursor: None });
        assert_eq!(Paging::new(Some(0), None).unwrap_err().body.field.as_deref(), Some("limit"));
        assert!(Paging::new(Some(501), None).is_err());
    }
}
