//! What an account stores instead of its password, and how logins are checked against it.
//!
//! MD5 login (MSNP2–7) proves knowledge of `md5(salt + password)` for a salt the server
//! announces, so the server keeps a fixed random salt per account and that digest. The
//! digest is password-equivalent for MD5 login (whoever steals it can log in over MSNP2–7),
//! but it is not the password and is useless on the Passport login, which checks Argon2id.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use md5::{Digest, Md5};
use rand::rngs::OsRng;
use rand::Rng;

/// A password's stored forms.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Sent in `USR tr MD5 S <salt>`; looks like the official `1234567890.123456789`.
    pub md5_salt: String,
    /// `md5hex(salt + password)` over the password's UTF-8 bytes.
    pub md5_digest: String,
    /// The same over its Latin-1 bytes, for a non-ASCII password that has them: which
    /// encoding old clients hash is not documented, so both are accepted.
    pub md5_digest_latin1: Option<String>,
    /// Argon2id PHC string for the Passport (HTTP) login.
    pub passport_hash: String,
}

impl Credentials {
    /// Derives every stored form from a new password. Slow on purpose (Argon2id):
    /// call it off the async runtime.
    pub fn new(password: &str) -> Credentials {
        let Md5Credentials { md5_salt, md5_digest, md5_digest_latin1 } = Md5Credentials::new(password);
        Credentials { md5_salt, md5_digest, md5_digest_latin1, passport_hash: passport_hash(password) }
    }
}

/// The MD5 login's stored forms alone, without the Passport hash: fast, for bulk imports of
/// accounts that log in with MSNP2–7 only.
#[derive(Debug, Clone)]
pub struct Md5Credentials {
    pub md5_salt: String,
    pub md5_digest: String,
    pub md5_digest_latin1: Option<String>,
}

impl Md5Credentials {
    pub fn new(password: &str) -> Md5Credentials {
        let md5_salt = format!("{}.{}", random_digits(10), random_digits(9));
        let md5_digest = md5_hex(&[md5_salt.as_bytes(), password.as_bytes()]);
        let md5_digest_latin1 = latin1(password)
            .filter(|_| !password.is_ascii())
            .map(|bytes| md5_hex(&[md5_salt.as_bytes(), &bytes]));
        Md5Credentials { md5_salt, md5_digest, md5_digest_latin1 }
    }
}

/// The Argon2id PHC string the Passport login checks. Slow on purpose: call it off the
/// async runtime.
pub fn passport_hash(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
        .expect("Argon2 with default parameters accepts any password")
        .to_string()
}

/// Whether `response` (from `USR tr MD5 S <response>`) matches either stored digest.
pub fn md5_response_matches(response: &str, digest: &str, digest_latin1: Option<&str>) -> bool {
    let response = response.to_ascii_lowercase();
    let mut matched = constant_time_eq(response.as_bytes(), digest.as_bytes());
    if let Some(latin1) = digest_latin1 {
        matched |= constant_time_eq(response.as_bytes(), latin1.as_bytes());
    }
    matched
}

/// Whether `password` matches an Argon2 PHC string. Slow: call it off the async runtime.
pub fn passport_password_matches(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

/// Lower-case hex MD5 of the concatenated parts.
pub fn md5_hex(parts: &[&[u8]]) -> String {
    let mut md5 = Md5::new();
    for part in parts {
        md5.update(part);
    }
    hex::encode(md5.finalize())
}

/// `n` random decimal digits. Like every secret here, from `rand`'s thread-local CSPRNG
/// (ChaCha, seeded and reseeded from the OS): one system call per digit from `OsRng`
/// itself was a tenth of a login's system calls.
pub fn random_digits(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n).map(|_| char::from(b'0' + rng.gen_range(0..10))).collect()
}

/// 128 random bits as 32 lower-case hex digits.
pub fn random_token() -> String {
    hex::encode(rand::thread_rng().gen::<[u8; 16]>())
}

fn latin1(text: &str) -> Option<Vec<u8>> {
    text.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

/// Whether `password` is the account's: by its Argon2id hash where it has one, else by its
/// MD5 digest (an account imported with `--md5-only`).
pub fn password_matches(
    password: &str,
    md5_salt: &str,
    md5_digest: &str,
    passport_hash: Option<&str>,
) -> bool {
    match passport_hash {
        Some(phc) => passport_password_matches(password, phc),
        None => constant_time_eq(
            md5_hex(&[md5_salt.as_bytes(), password.as_bytes()]).as_bytes(),
            md5_digest.as_bytes(),
        ),
    }
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_matches_the_reference_vectors() {
        let cases = [
            ("1234567890.123456789", "password", "f59af8f2fa91d38aff7c870c17f99903"),
            ("1013928519.693957190", "mypassword", "6f3963009fc8a9d2b2ff137da0905c55"),
            ("abcdefg", "1234567", "d1713d0f1d2e8fae230328d8fd59de01"),
        ];
        for (salt, password, expected) in cases {
            assert_eq!(md5_hex(&[salt.as_bytes(), password.as_bytes()]), expected);
        }
    }

    #[test]
    fn non_ascii_passwords_match_in_utf8_and_latin1() {
        let mut creds = Credentials::new("pässword");
        creds.md5_salt = "1234567890.123456789".into();
        let utf8 = md5_hex(&[creds.md5_salt.as_bytes(), "pässword".as_bytes()]);
        let latin1 = md5_hex(&[creds.md5_salt.as_bytes(), b"p\xe4ssword"]);
        assert_eq!(utf8, "50f8791eeeee16f55478eeeefbfb0956");
        assert_eq!(latin1, "c07eb139fbc8ab1c2a92118ec4c51874");
        assert!(md5_response_matches(&utf8.to_uppercase(), &utf8, Some(&latin1)));
        assert!(md5_response_matches(&latin1, &utf8, Some(&latin1)));
        assert!(!md5_response_matches("0000", &utf8, Some(&latin1)));
    }

    #[test]
    fn stored_forms_hide_the_password() {
        let creds = Credentials::new("hunter2");
        assert!(creds.md5_salt.len() == 20 && creds.md5_salt.as_bytes()[10] == b'.');
        assert!(creds.md5_digest_latin1.is_none());
        assert!(!creds.passport_hash.contains("hunter2"));
        assert!(passport_password_matches("hunter2", &creds.passport_hash));
        assert!(!passport_password_matches("hunter3", &creds.passport_hash));
        assert_ne!(Credentials::new("hunter2").md5_salt, creds.md5_salt);
    }
}
