//! Every command name, once: whether a payload follows it in either direction, in which
//! versions the notification server takes it from a client, and which argument is a secret
//! to keep out of the wire log. The codec ([`Spec::client_payload`]), the wire log's
//! redactor ([`Spec::secret`]) and [`Dialect::knows`] read this table and nothing else.

use super::Dialect;

/// What the protocol says about one command name.
#[derive(Debug)]
pub struct Spec {
    pub name: &'static str,
    /// A payload follows the line when a client sends it (`MSG`, `QRY`, `PAG`, `SDC`).
    pub client_payload: bool,
    /// A payload follows the line when a server sends it (`MSG`, `NOT`, `IPG`).
    pub server_payload: bool,
    /// Whether a notification session of a version takes it from a client.
    pub taken: fn(&Dialect) -> bool,
    pub secret: Secret,
}

/// Which argument of a line is a secret (counted from the command name, 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    None,
    At(usize),
    /// The token after this one (`CKI cookie`).
    After(&'static str),
    /// `USR tr pkg S answer` (the MD5 digest or Passport ticket) and the switchboard's
    /// `USR tr handle cookie`.
    Usr,
}

impl Secret {
    /// Where the secret stands in `tokens`, if the line has one.
    pub fn position(self, tokens: &[&str]) -> Option<usize> {
        match self {
            Secret::None => None,
            Secret::At(i) => Some(i),
            Secret::After(token) => tokens.iter().position(|t| *t == token).map(|i| i + 1),
            Secret::Usr if tokens.get(3) == Some(&"S") => Some(4),
            Secret::Usr => (tokens.len() == 4).then_some(3),
        }
        .filter(|&i| i < tokens.len())
    }
}

/// The entry for `name`, if it is a command of the protocol.
pub fn spec(name: &str) -> Option<&'static Spec> {
    ALL.iter().find(|spec| spec.name == name)
}

const fn command(name: &'static str, taken: fn(&Dialect) -> bool) -> Spec {
    Spec { name, client_payload: false, server_payload: false, taken, secret: Secret::None }
}

const fn always(_: &Dialect) -> bool {
    true
}

/// Server-to-client commands, and the switchboard's own: never taken by a notification
/// session.
const fn never(_: &Dialect) -> bool {
    false
}

/// The table. Order is lookup order: the commands clients send most come first.
pub const ALL: &[Spec] = &[
    Spec { client_payload: true, server_payload: true, ..command("MSG", never) },
    command("PNG", always),
    command("CHG", always),
    command("ADD", always),
    command("REM", always),
    command("SYN", always),
    command("REA", always),
    Spec { secret: Secret::Usr, ..command("USR", always) },
    command("VER", always),
    command("CVR", always),
    command("CVQ", always),
    command("INF", |d| d.inf),
    Spec { secret: Secret::After("CKI"), ..command("XFR", always) },
    command("OUT", always),
    command("LST", always),
    command("GTC", always),
    command("BLP", always),
    command("URL", always),
    command("FND", always),
    command("SND", always),
    command("IMS", |d| d.ims),
    command("PRP", |d| d.properties),
    Spec { client_payload: true, ..command("PAG", |d| d.properties) },
    Spec { client_payload: true, ..command("PGD", |d| d.pgd) },
    Spec { client_payload: true, ..command("SDC", |d| d.properties) },
    command("CHL", |d| d.challenges),
    Spec { client_payload: true, ..command("QRY", |d| d.challenges) },
    command("ADG", |d| d.groups),
    command("RMG", |d| d.groups),
    command("REG", |d| d.groups),
    command("LSG", |d| d.groups),
    command("ADC", |d| d.address_book),
    command("SBP", |d| d.address_book),
    Spec { client_payload: true, ..command("UUX", |d| d.personal_message) },
    Spec { server_payload: true, ..command("GCF", |d| d.gcf) },
    Spec { server_payload: true, ..command("UBX", never) },
    command("SBS", never),
    Spec { server_payload: true, ..command("NOT", never) },
    Spec { server_payload: true, ..command("IPG", never) },
    command("QNG", never),
    Spec { secret: Secret::After("CKI"), ..command("RNG", never) },
    Spec { secret: Secret::At(3), ..command("ANS", never) },
    command("CAL", never),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_is_in_the_table_once() {
        for spec in ALL {
            assert_eq!(ALL.iter().filter(|s| s.name == spec.name).count(), 1, "{}", spec.name);
        }
        let client_payloads: Vec<&str> = ALL.iter().filter(|s| s.client_payload).map(|s| s.name).collect();
        assert_eq!(client_payloads, ["MSG", "PAG", "PGD", "SDC", "QRY", "UUX"]);
    }
}
