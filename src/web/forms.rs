//! What every form shares: the cross-site request check and the per-address rate limit.
//!
//! Cross-site requests are refused by a double-submitted token: the page sets a random
//! token as a `SameSite=Strict`, `HttpOnly` cookie and repeats it in a hidden field; a
//! submission counts only if the two match. Another site can make a browser post a form
//! here, but can neither read nor set this site's cookie.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};

use crate::credentials::{constant_time_eq, random_token};

const CSRF_COOKIE: &str = "msnd_csrf";

/// A browser's cross-site token: its cookie's, or a new one to set with the page.
#[derive(Debug)]
pub struct Csrf {
    pub token: String,
    fresh: bool,
}

impl Csrf {
    pub fn of(headers: &HeaderMap) -> Csrf {
        match cookie(headers, CSRF_COOKIE).filter(|t| t.len() == 32) {
            Some(token) => Csrf { token: token.to_owned(), fresh: false },
            None => Csrf { token: random_token(), fresh: true },
        }
    }

    /// The `Set-Cookie` header a page must carry, if the browser had no token yet.
    pub fn set_cookie(&self) -> Option<(axum::http::HeaderName, HeaderValue)> {
        self.fresh.then(|| {
            let value = format!("{CSRF_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict", self.token);
            (SET_COOKIE, HeaderValue::from_str(&value).expect("hex is a valid header value"))
        })
    }

    /// Whether a submission's hidden field matches the browser's cookie.
    pub fn matches(headers: &HeaderMap, submitted: &str) -> bool {
        cookie(headers, CSRF_COOKIE).is_some_and(|t| constant_time_eq(t.as_bytes(), submitted.as_bytes()))
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_submission_counts_only_with_the_cookie_it_was_given() {
        let fresh = Csrf::of(&HeaderMap::new());
        let (_, set) = fresh.set_cookie().expect("a new browser gets a cookie");
        assert!(
            set.to_str().unwrap().contains("SameSite=Strict; ")
                || set.to_str().unwrap().ends_with("SameSite=Strict")
        );
        let mut headers = HeaderMap::new();
        headers
            .insert(COOKIE, HeaderValue::from_str(&format!("a=b; {CSRF_COOKIE}={}", fresh.token)).unwrap());
        assert!(Csrf::matches(&headers, &fresh.token));
        assert!(!Csrf::matches(&headers, &random_token()));
        assert!(!Csrf::matches(&HeaderMap::new(), &fresh.token), "no cookie: a cross-site post");
        let again = Csrf::of(&headers);
        assert!(again.set_cookie().is_none() && again.token == fresh.token);
    }
}
