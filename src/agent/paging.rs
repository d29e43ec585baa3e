//! Keyset paging, the same for every list the agent answers (the delivery log, the alerts):
//! `limit` and `cursor` as given, checked here, and a page cut from one row more than asked
//! (that row tells whether another page follows). A page's cursor is the id of its last row,
//! newest first, so rows written meanwhile neither repeat nor shift a page.

use super::AgentError;

/// Rows per page unless `limit` says otherwise, and the most it may say.
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

/// A parameter's value, when given and not blank.
pub(super) fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// `limit`: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when not given.
pub(super) fn limit(v: &Option<String>) -> Result<i64, AgentError> {
    match given(v) {
        None => Ok(DEFAULT_LIMIT),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                AgentError::Invalid(format!("limit '{v}' is not a number from 1 to {MAX_LIMIT}"))
            }),
    }
}

/// `cursor`: the id rows must be older than; None when not given.
pub(super) fn cursor(v: &Option<String>) -> Result<Option<i64>, AgentError> {
    given(v)
        .map(|v| {
            v.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                AgentError::Invalid(format!(
                    "cursor '{v}' is not a cursor this server gave (use NextCursor as it came)"
                ))
            })
        })
        .transpose()
}

/// The page of `rows` (read with a limit one more than `limit`), and the cursor of the next
/// page when there is one.
pub(super) fn page<T>(
    mut rows: Vec<T>,
    limit: i64,
    id: impl Fn(&T) -> i64,
) -> (Vec<T>, Option<String>) {
    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next = more
        .then(|| rows.last().map(|r| id(r).to_string()))
        .flatten();
    (rows, next)
}
