//! The Passport `Authorization` header parser on arbitrary header values: it never panics,
//! credentials it returns always have a handle, and only a Passport1.4 value has any.

#![no_main]

use libfuzzer_sys::fuzz_target;
use msnd::passport::auth::{parse, AuthError};

fuzz_target!(|data: &[u8]| {
    match parse(Some(data)) {
        Ok(sign_in) => assert!(!sign_in.handle.is_empty() && is_passport(data)),
        Err(AuthError::Missing) => panic!("a header that is there reported as missing"),
        // Credentials that are there but incomplete (a `400`) only after the scheme.
        Err(e) => assert_eq!(e.is_malformed(), is_passport(data), "{e:?} for {data:?}"),
    }
});

/// Whether the value starts with the scheme `Passport1.4` (in any case), then a blank or
/// the end, after leading blanks.
fn is_passport(value: &[u8]) -> bool {
    let start = value.iter().position(|b| !matches!(b, b' ' | b'\t')).unwrap_or(value.len());
    let value = &value[start..];
    value.get(..11).is_some_and(|s| s.eq_ignore_ascii_case(b"Passport1.4"))
        && value.get(11).is_none_or(|b| matches!(b, b' ' | b'\t'))
}
