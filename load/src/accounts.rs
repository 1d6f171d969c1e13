//! The accounts file shared with `msnd user import`: one account a line,
//! `email<TAB or space>password[<TAB>friendly name]`, `#` comments and blank lines skipped.
//! The tool logs in as these accounts; their order is the contact ring's order.

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// An account the tool logs in as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Lower case, as servers echo it.
    pub email: String,
    pub password: String,
}

/// Reads an accounts file.
pub fn read(path: &std::path::Path) -> anyhow::Result<Vec<Account>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text).with_context(|| format!("in {}", path.display()))
}

fn parse(text: &str) -> anyhow::Result<Vec<Account>> {
    let mut accounts = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((email, rest)) = line.split_once(['\t', ' ']) else {
            bail!("line {}: no password", index + 1);
        };
        let password = rest.split_once('\t').map_or(rest, |(password, _name)| password);
        if !email.contains('@') || password.is_empty() {
            bail!("line {}: expected `email<TAB>password`", index + 1);
        }
        accounts.push(Account { email: email.to_ascii_lowercase(), password: password.to_owned() });
    }
    Ok(accounts)
}

/// `count` accounts `{prefix}{i}@{domain}` with one password, numbered from 0 with a fixed
/// width so that the file sorts in ring order.
pub fn generate(count: usize, prefix: &str, domain: &str, password: &str) -> String {
    let width = count.saturating_sub(1).to_string().len();
    let mut text =
        String::with_capacity(count * (prefix.len() + domain.len() + password.len() + 2 * width + 16));
    for i in 0..count {
        text.push_str(&format!("{prefix}{i:0width$}@{domain}\t{password}\tLoad {i}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_files_read_back() {
        let text = generate(12, "load", "example.com", "pw");
        assert!(text.starts_with("load00@example.com\tpw\tLoad 0\n"));
        let accounts = parse(&text).unwrap();
        assert_eq!(accounts.len(), 12);
        assert_eq!(accounts[11], Account { email: "load11@example.com".into(), password: "pw".into() });
        let other = parse("# x\n\nA@B.com secret\r\nc@d.com\tp w\tName\n").unwrap();
        assert_eq!(other[0].email, "a@b.com");
        assert_eq!(other[1].password, "p w");
        assert!(parse("nobody\n").is_err());
    }
}
