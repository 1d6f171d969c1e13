//! What an account stores instead of its password, and how logins are checked against it.
//!
//! MD5 login (MSNP2–7) proves knowledge of `md5(salt + password)` for a salt the server
//! announces, so the server keeps a fixed random salt per account and that digest. The
//! digest is password-equivalent for MD5 login (whoever steals it can log in over MSNP2–7),
//! but it is not the password and is useless on the Passport login, which checks Argon2id.
//!
//! The same hashes answer challenges: `CHL`/`QRY` is `md5(challenge + key)` up to MSNP10
//! ([`md5_hex`]) and [`msnp11_challenge_answer`] from MSNP11 on.

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
    hex::encode(md5_digest(parts))
}

/// MD5 of the concatenated parts.
fn md5_digest(parts: &[&[u8]]) -> [u8; 16] {
    let mut md5 = Md5::new();
    for part in parts {
        md5.update(part);
    }
    md5.finalize().into()
}

/// The answer an MSNP11 or MSNP12 client sends in `QRY` for `challenge`, naming
/// `product_id`, whose secret key is `product_key`: 32 lower-case hex digits
/// (`msnp9-12.md` §5.2). The strings count as bytes, whatever they hold.
///
/// `md5(challenge + key)`, its words with the top bit cleared, keys a checksum over
/// challenge and product id; the answer is that checksum XORed into the digest's words as
/// they are (Escargot XORs the cleared ones, which is wrong when a top bit is set).
pub fn msnp11_challenge_answer(challenge: &str, product_id: &str, product_key: &str) -> String {
    let h = md5_words(challenge, product_key);
    let (high, low) = msnp11_checksum(&h, &msnp11_words(challenge, product_id));
    let answer = [h[0] ^ high, h[1] ^ low, h[2] ^ high, h[3] ^ low];
    hex::encode(answer.iter().flat_map(|word| word.to_le_bytes()).collect::<Vec<u8>>())
}

/// The modulus of the MSNP11 arithmetic, `M` (2³¹ − 1).
const M: u64 = 0x7FFF_FFFF;

/// Step 1: `md5(challenge + key)` as four little-endian 32-bit words, unmasked.
fn md5_words(challenge: &str, product_key: &str) -> [u32; 4] {
    let digest = md5_digest(&[challenge.as_bytes(), product_key.as_bytes()]);
    let word = |i: usize| u32::from_le_bytes([digest[i], digest[i + 1], digest[i + 2], digest[i + 3]]);
    [word(0), word(4), word(8), word(12)]
}

/// Step 2: challenge and product id padded with `'0'` to the next multiple of 8 bytes;
/// there is always at least one (a multiple of 8 gets eight).
fn msnp11_padded(challenge: &str, product_id: &str) -> Vec<u8> {
    let mut padded = [challenge.as_bytes(), product_id.as_bytes()].concat();
    let zeros = 8 - padded.len() % 8;
    padded.resize(padded.len() + zeros, b'0');
    padded
}

/// Step 3: the padded string as little-endian 32-bit words; an even number of them.
fn msnp11_words(challenge: &str, product_id: &str) -> Vec<u64> {
    msnp11_padded(challenge, product_id)
        .chunks_exact(4)
        .map(|b| u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        .collect()
}

/// Steps 4 and 5: `(high, low)` over the words, two at a time, keyed by the masked MD5
/// words.
fn msnp11_checksum(h: &[u32; 4], words: &[u64]) -> (u32, u32) {
    let m = h.map(|word| u64::from(word) & M);
    let (mut high, mut low) = (0, 0u64);
    for pair in words.chunks_exact(2) {
        let t;
        (t, high) = msnp11_round(&m, high, pair[0], pair[1]);
        // Unreduced, as in the original. Each round adds less than 2³², so this wraps (as
        // the original's 64-bit integer would) only for inputs over 32 GiB.
        low = low.wrapping_add(high + t);
    }
    // Step 5; `low % M` first is the same modulo M and cannot overflow.
    (reduce(high + m[1]), reduce(low % M + m[3]))
}

/// One round of step 4 on the words `w0` and `w1`: `(t, high)`, each below `M`.
fn msnp11_round(m: &[u64; 4], high: u64, w0: u64, w1: u64) -> (u64, u64) {
    // No product overflows: words are below 2³², t, high and m[i] below 2³¹.
    let t = w0 * 0x0E79_A9C1 % M;
    let t = ((t + high) * m[0] + m[1]) % M;
    let high = ((w1 + t) % M * m[2] + m[3]) % M;
    (t, high)
}

/// `x mod M`, which fits 31 bits.
fn reduce(x: u64) -> u32 {
    u32::try_from(x % M).expect("a number mod 2^31 - 1 fits 32 bits")
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

    const ECF_ID: &str = "PROD0090YUAUV{2B";
    const ECF_KEY: &str = "YMM8C_H7KCQ2S_KL";

    #[test]
    fn msnp11_answers_match_the_independent_vectors() {
        // msnp9-12-vectors.md §1.2: ECF `ChallengeTest` and em-msn `challenge_spec`.
        let wlm = ("PROD0113H11T8$X_", "RG@XY*28Q5QHS%Q5");
        let cases = [
            ("22210219642164014968", (ECF_ID, ECF_KEY), "85ecb0db8f32113df79ce0892b9a102c"),
            ("36819795137093047918", (ECF_ID, ECF_KEY), "e7ad3cb09d3e9e4e7c720175984809e9"),
            ("21948129323261853323", (ECF_ID, ECF_KEY), "59bcf63ed21f44906c3d3e121ddbed65"),
            ("41525959199453244913", (ECF_ID, ECF_KEY), "dcb8ff529e4dd12cc43389851128d2db"),
            ("31744216663023315951", (ECF_ID, ECF_KEY), "d15553d0ea89c9f63bbb98a208fa4235"),
            ("14494180082586329971", (ECF_ID, ECF_KEY), "4e11d4cd56a65bdf04f60aa133db7ebc"),
            ("11533365622852247127", wlm, "f086d1ded067186deca8dba2231602cf"),
            ("237191752526424888127371168", wlm, "65b6b623c649c25629af048d34066040"),
        ];
        for (challenge, (id, key), expected) in cases {
            assert_eq!(msnp11_challenge_answer(challenge, id, key), expected, "{challenge} {id}");
        }
    }

    #[test]
    fn msnp11_answers_for_every_msnp11_and_12_pair() {
        // msnp9-12-vectors.md §1.3.
        let pairs = [
            (ECF_ID, ECF_KEY),
            ("PROD00974#MT*RC2", "LMCVO*18PQJ3H!K3"),
            ("PROD0101{0RM?UBW", "CFHUR$52U_{VIX5T"),
            ("PROD0104U6VVM{UJ", "VK67B}379XYM5}$T"),
        ];
        let rows = [
            (
                "12345678901234567890",
                [
                    "a57a33d300de0b8c4d3c074d423e25fb",
                    "02d4dbba1c2607cd8f002b88050e26d1",
                    "7273d989239f9bc4bbde22f72b399453",
                    "0047264b889347353ad590962b71b222",
                ],
            ),
            (
                "15570131571988941333",
                [
                    "d8d8cb2c2043a603d8286a3343143ee1",
                    "9eb6b7e887dee5073f9cde8433ac3945",
                    "a2bcaf5dec2e7407282d443a8e38abd8",
                    "ad77377833e735639caa1d312ecce325",
                ],
            ),
            (
                "11111111111111111111",
                [
                    "47d62c3eeb5215e8e3f8d4db1c26d79d",
                    "276481ed6f67bb7560d3a88f302f949b",
                    "8973f99ecf7a15c4db114787f084a905",
                    "60633668695c1aec9e84fd02b0a7d042",
                ],
            ),
        ];
        for (challenge, answers) in rows {
            for ((id, key), expected) in pairs.iter().zip(answers) {
                assert_eq!(msnp11_challenge_answer(challenge, id, key), expected, "{challenge} {id}");
            }
        }
    }

    #[test]
    fn msnp11_worked_example_step_by_step() {
        // msnp9-12-vectors.md §1.1.
        let challenge = "22210219642164014968";
        let h = md5_words(challenge, ECF_KEY);
        assert_eq!(md5_hex(&[challenge.as_bytes(), ECF_KEY.as_bytes()]), "ec4917aa5b3017159e3947f8ff981604");
        assert_eq!(h, [0xaa1749ec, 0x1517305b, 0xf847399e, 0x041698ff]);
        let m = h.map(|word| u64::from(word) & M);
        assert_eq!(m, [0x2a1749ec, 0x1517305b, 0x7847399e, 0x041698ff]);
        assert_eq!(msnp11_padded(challenge, ECF_ID), b"22210219642164014968PROD0090YUAUV{2B0000");
        let words = msnp11_words(challenge, ECF_ID);
        let expected_words = [
            0x31323232, 0x39313230, 0x31323436, 0x31303436, 0x38363934, 0x444f5250, 0x30393030, 0x55415559,
            0x42327b56, 0x30303030,
        ];
        assert_eq!(words, expected_words);
        // (t, high, low) after each pair.
        let rounds = [
            (0x45bfae15, 0x011bd597, 0x46db83ac),
            (0x6910fd45, 0x2e6779e6, 0xde53fad7),
            (0x20b22d3f, 0x77fcc623, 0x17702ee39),
            (0x1e5882a5, 0x023403a1, 0x1978f747f),
            (0x2fcf8044, 0x5c90750e, 0x223ef69d1),
        ];
        let (mut high, mut low) = (0, 0);
        for (pair, expected) in words.chunks_exact(2).zip(rounds) {
            let t;
            (t, high) = msnp11_round(&m, high, pair[0], pair[1]);
            low += high + t;
            assert_eq!((t, high, low), expected);
        }
        assert_eq!(msnp11_checksum(&h, &words), (0x71a7a569, 0x280602d4));
        assert_eq!(msnp11_challenge_answer(challenge, ECF_ID, ECF_KEY), "85ecb0db8f32113df79ce0892b9a102c");
    }

    #[test]
    fn msnp11_rejects_the_known_wrong_answers() {
        // msnp9-12-vectors.md §1.4.
        let challenge = "22210219642164014968";
        let answer = msnp11_challenge_answer(challenge, ECF_ID, ECF_KEY);
        let h = md5_words(challenge, ECF_KEY);
        let (high, low) = msnp11_checksum(&h, &msnp11_words(challenge, ECF_ID));
        let m = h.map(|word| word & 0x7FFF_FFFF);
        let masked = [m[0] ^ high, m[1] ^ low, m[2] ^ high, m[3] ^ low];
        let escargot = hex::encode(masked.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>());
        assert_eq!(escargot, "85ecb05b8f32113df79ce0092b9a102c");
        let old_style = md5_hex(&[challenge.as_bytes(), b"Q1P7W2E4J9R8U3S5"]);
        assert_eq!(old_style, "eedf627f65e76d031255a605f5841204");
        assert_ne!(answer, escargot);
        assert_ne!(answer, old_style);
        assert_ne!(answer, md5_hex(&[challenge.as_bytes(), ECF_KEY.as_bytes()]));
    }

    #[test]
    fn msnp11_always_pads_and_takes_any_bytes() {
        assert_eq!(msnp11_padded("", ""), b"00000000");
        assert_eq!(msnp11_padded("1234", "5678"), b"1234567800000000");
        assert_eq!(msnp11_padded("1", "234567"), b"12345670");
        assert_eq!(msnp11_padded("é", ""), "é000000".as_bytes());
        let long = "9".repeat(100_003);
        for (challenge, id, key) in
            [("", "", ""), ("ÿÿÿÿ", "☕\u{0}", "\u{10FFFF}"), (long.as_str(), ECF_ID, ECF_KEY)]
        {
            let answer = msnp11_challenge_answer(challenge, id, key);
            assert!(
                answer.len() == 32
                    && answer.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
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
