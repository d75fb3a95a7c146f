//! The page frame (header, navigation, logout), the login and problem pages, and small pieces
//! every page uses (paging links, fact lists, state badges).

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::BASE;
use super::session::Session;

/// The sections in the navigation, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Overview,
    Contracts,
    Negotiations,
    Transfers,
    Orders,
    Offers,
    Works,
    Audit,
}

const NAV: [(Section, &str, &str); 8] = [
    (Section::Overview, "", "Overview"),
    (Section::Contracts, "/contracts", "Contracts"),
    (Section::Negotiations, "/negotiations", "Negotiations"),
    (Section::Transfers, "/transfers", "Transfers"),
    (Section::Orders, "/orders", "Subtitle orders"),
    (Section::Offers, "/offers", "Own offers"),
    (Section::Works, "/works", "Works"),
    (Section::Audit, "/audit", "Audit trail"),
];

/// An HTML response.
pub(crate) fn html(status: StatusCode, page: Markup) -> Response {
    let mut response = (status, page.into_string()).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Passerelle console" }
            link rel="stylesheet" href={ (BASE) "/style.css" };
        }
    }
}

/// A page of the logged-in console.
pub(crate) fn page(section: Section, session: &Session, participant: &str, title: &str, body: Markup) -> Response {
    let nav: Vec<(bool, &str, &str)> = NAV.iter().map(|(s, path, label)| (*s == section, *path, *label)).collect();
    frame(&nav, session, participant, title, body)
}

/// The page frame around `body`, with navigation entries `(active, path under the console, label)`.
pub(crate) fn frame(
    nav: &[(bool, &str, &str)],
    session: &Session,
    participant: &str,
    title: &str,
    body: Markup,
) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header {
                    a.brand href=(BASE) { "Passerelle console" }
                    span.participant title="this connector's participant id" { (participant) }
                    form.logout method="post" action={ (BASE) "/logout" } {
                        input type="hidden" name="csrf" value=(session.csrf);
                        button type="submit" { "Log out" }
                    }
                }
                nav {
                    ul {
                        @for (active, path, label) in nav {
                            li {
                                a href={ (BASE) (path) } class=[active.then_some("active")] { (label) }
                            }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    html(StatusCode::OK, markup)
}

/// The login page (no navigation: nothing is shown before login).
pub(crate) fn login(token: &str, problem: Option<&str>, key_hint: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head("Log in"))
            body.login {
                main {
                    h1 { "Passerelle console" }
                    @if let Some(problem) = problem {
                        p.alert role="alert" { (problem) }
                    }
                    form method="post" action={ (BASE) "/login" } {
                        input type="hidden" name="csrf" value=(token);
                        label for="api_key" { "Management API key" }
                        input #api_key type="password" name="api_key" autocomplete="off" required autofocus;
                        p.hint { "The key is in the file named by " code { (key_hint) } "." }
                        button type="submit" { "Log in" }
                    }
                }
            }
        }
    }
}

/// A problem page (404, 400, 403, 503): standalone, with a way back.
pub(crate) fn problem(title: &str, text: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.problem {
                main {
                    h1 { (title) }
                    p { (text) }
                    p { a href=(BASE) { "Back to the console" } }
                }
            }
        }
    }
}

/// `path?query` with the pairs whose value is set, urlencoded.
pub(crate) fn link(path: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let set: Vec<(&str, &str)> = pairs.iter().filter_map(|(k, v)| v.map(|v| (*k, v))).collect();
    if set.is_empty() {
        return path.to_string();
    }
    format!("{path}?{}", serde_urlencoded::to_string(&set).unwrap_or_default())
}

/// "First page" (when not on it) and "Next page" (when there is one), keeping the filters.
pub(crate) fn pager(path: &str, filters: &[(&str, Option<&str>)], on_first: bool, next: Option<&str>) -> Markup {
    let mut with_cursor = filters.to_vec();
    with_cursor.push(("cursor", next));
    html! {
        nav.pager {
            @if !on_first { a rel="first" href=(link(path, filters)) { "« First page" } }
            @if next.is_some() { a rel="next" href=(link(path, &with_cursor)) { "Next page »" } }
            @else { span.end { "End of the list" } }
        }
    }
}

/// A definition list of facts; `None` values show as a dash.
pub(crate) fn facts(rows: &[(&str, Markup)]) -> Markup {
    html! {
        dl.facts {
            @for (name, value) in rows {
                dt { (name) }
                dd { (value) }
            }
        }
    }
}

pub(crate) fn text_or_dash(value: Option<&str>) -> Markup {
    html! {
        @match value.filter(|v| !v.is_empty()) {
            Some(v) => (v),
            None => span.none { "—" },
        }
    }
}

/// A process state as a badge (its class colours final and failed states).
pub(crate) fn state(state: &str) -> Markup {
    let class = match state {
        "FINALIZED" | "COMPLETED" | "STARTED" => "state ok",
        "TERMINATED" => "state bad",
        "SUSPENDED" => "state warn",
        _ => "state",
    };
    html! { span class=(class) { (state) } }
}

/// A link to one item of a section (`/console/{section}/{id}`, id percent-encoded).
pub(crate) fn item_link(section: &str, id: &str) -> Markup {
    html! { a href=(item_href(section, id)) { (id) } }
}

pub(crate) fn item_href(section: &str, id: &str) -> String {
    format!("{BASE}/{section}/{}", crate::api::percent_segment(id))
}

/// Pretty JSON in a code block.
pub(crate) fn json_block(value: &serde_json::Value) -> Markup {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    html! { pre.json { code { (text) } } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_only_set_filters_and_encode_them() {
        assert_eq!(link("/console/works", &[("q", None)]), "/console/works");
        assert_eq!(
            link("/console/works", &[("q", Some("a b&c")), ("cursor", Some("urn:x"))]),
            "/console/works?q=a+b%26c&cursor=urn%3Ax"
        );
        assert_eq!(item_href("contracts", "urn:a/b"), "/console/contracts/urn:a%2Fb");
    }

    #[test]
    fn values_are_escaped() {
        let page = problem("<b>", "<script>alert(1)</script>").into_string();
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{page}");
        assert!(!page.contains("<script>"));
    }
}
