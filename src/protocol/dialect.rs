//! Every difference between MSNP2 and MSNP12, written as a changelog: each version is the
//! previous one plus what its release notes list. Handlers ask named questions
//! (`dialect.groups`), never `version >= 7`.

use std::fmt;

/// How a version authenticates on the notification server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// `VER`-`INF`-`USR MD5`: the client hashes a server salt with the password.
    Md5,
    /// `VER`-`CVR`-`USR TWN`: Passport 1.4 over HTTPS hands out a ticket.
    Twn,
}

/// How a free-text notice from the operator reaches a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notices {
    /// Before `NOT`: a new-mail notification from the server with the notice as its
    /// subject, which MSNP2 typed `application/x-msmsgsemailnotification`.
    Mail2,
    /// MSNP3: the same, typed `text/x-msmsgsemailnotification` and with Hotmail's site id.
    Mail3,
    /// MSNP5: a `NOT` alert, shown as a toast.
    Alert,
}

/// One protocol version's behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    pub version: u8,
    pub login: Login,
    /// MSNP3: `XFR NS` gained a parameter that is always `0`.
    pub xfr_trailing_zero: bool,
    /// MSNP3: the profile message carries the Passport fields, not just `LoginTime`.
    pub passport_profile: bool,
    /// MSNP3: an initial e-mail notification follows the profile.
    pub initial_email: bool,
    /// MSNP3: `URL` replies carry a Passport site id.
    pub url_site_id: bool,
    /// MSNP3: `IMS` (switchboard invitations on/off).
    pub ims: bool,
    /// MSNP5: phone properties (PRP, BPR, also in SYN), pages (PAG), SDC.
    pub properties: bool,
    /// MSNP6: `USR OK` carries the e-mail-verified flag.
    pub usr_ok_verified: bool,
    /// MSNP6: the server sends `CHL` challenges, the client answers with `QRY`.
    pub challenges: bool,
    /// MSNP7: `XFR NS` also names the server that sent it.
    pub xfr_from_server: bool,
    /// MSNP7: contact groups (ADG RMG REG LSG, group ids on FL entries).
    pub groups: bool,
    /// MSNP8: `INF` is gone (login is `VER`-`CVR`-`USR`).
    pub inf: bool,
    /// MSNP8: `USR OK` carries the account-restricted flag.
    pub usr_ok_restricted: bool,
    /// MSNP8: the profile tells the client its address (`ClientIP`, `ClientPort`).
    pub profile_client_addr: bool,
    /// MSNP8: SYN without iterators and versions, one LST per contact with combined list bits.
    pub compact_syn: bool,
    /// MSNP8: client capabilities on CHG, ILN and NLN.
    pub client_caps: bool,
    /// How the server tells a client an operator's free-text notice: MSNP5 has `NOT` alerts.
    pub notices: Notices,
    /// Up to MSNP7, `CHG tr FLN` is the draft's "semi-offline" state (treated as HDN);
    /// MSNP8 answers it with 201.
    pub semi_offline: bool,
    /// MSNP9: display pictures: `CHG` takes an MSNObject, `ILN` and `NLN` carry it.
    pub msnobj: bool,
    /// MSNP9: `QNG` tells the client how many seconds to wait before its next `PNG`.
    pub qng_interval: bool,
    /// MSNP9: `PGD` replaced `PAG`, which is answered `715`.
    pub pgd: bool,
    /// Until MSNP8 a client may ask for `LST` and `LSG` outside `SYN`; MSNP9 removed them
    /// (the official server then hung up).
    pub list_queries: bool,
    /// MSNP10: the address book. FL entries and groups are named by GUID, an FL entry may be
    /// in no group (shown to older versions as group 0, which MSNP10 never sees), the
    /// pending list PL exists, and two timestamps replace the list version, which no reply
    /// carries any more. `SYN tr ts1 ts2`, `LSG name guid`, `LST N= F= C= bits {guids}`;
    /// `ADC` replaces `ADD` (which hangs up), `PRP MFN` and `SBP` replace `REA` (`502`);
    /// `USR OK` loses the friendly name (it comes as `PRP MFN` in `SYN`); the profile says
    /// `ABCHMigrated: 1`.
    pub address_book: bool,
    /// MSNP11: `SBS 0 null` follows `USR OK`.
    pub sbs: bool,
    /// MSNP11: `QRY` answers with the MSNP11 algorithm, keyed by the client's product id
    /// (`challenges.products`), not with `md5(challenge + key)`.
    pub product_challenges: bool,
    /// MSNP11: personal messages: the client sets its own with `UUX`, watchers get `UBX`.
    pub personal_message: bool,
    /// MSNP11: `GCF` fetches a client configuration document (`Shields.xml`).
    pub gcf: bool,
    /// MSNP11: the initial mailbox message is the XML `Mail-Data` one.
    pub mail_data: bool,
    /// MSNP11: `OUT RCT minutes` asks the client to reconnect after that long.
    pub reconnect_later: bool,
    /// MSNP12: `LST` gives the entry's network after the list bits.
    pub lst_network_id: bool,
    /// MSNP12: the switchboard's `IRO` and `JOI` end with the participant's capabilities.
    pub roster_caps: bool,
}

impl Dialect {
    pub const MSNP2: Dialect = Dialect {
        version: 2,
        login: Login::Md5,
        xfr_trailing_zero: false,
        passport_profile: false,
        initial_email: false,
        url_site_id: false,
        ims: false,
        properties: false,
        usr_ok_verified: false,
        challenges: false,
        xfr_from_server: false,
        groups: false,
        inf: true,
        usr_ok_restricted: false,
        profile_client_addr: false,
        compact_syn: false,
        client_caps: false,
        notices: Notices::Mail2,
        semi_offline: true,
        msnobj: false,
        qng_interval: false,
        pgd: false,
        list_queries: true,
        address_book: false,
        sbs: false,
        product_challenges: false,
        personal_message: false,
        gcf: false,
        mail_data: false,
        reconnect_later: false,
        lst_network_id: false,
        roster_caps: false,
    };
    pub const MSNP3: Dialect = Dialect {
        version: 3,
        xfr_trailing_zero: true,
        passport_profile: true,
        initial_email: true,
        url_site_id: true,
        ims: true,
        notices: Notices::Mail3,
        ..Self::MSNP2
    };
    pub const MSNP4: Dialect = Dialect { version: 4, ..Self::MSNP3 };
    pub const MSNP5: Dialect =
        Dialect { version: 5, properties: true, notices: Notices::Alert, ..Self::MSNP4 };
    pub const MSNP6: Dialect = Dialect { version: 6, usr_ok_verified: true, challenges: true, ..Self::MSNP5 };
    pub const MSNP7: Dialect = Dialect { version: 7, xfr_from_server: true, groups: true, ..Self::MSNP6 };
    pub const MSNP8: Dialect = Dialect {
        version: 8,
        login: Login::Twn,
        inf: false,
        usr_ok_restricted: true,
        profile_client_addr: true,
        compact_syn: true,
        client_caps: true,
        semi_offline: false,
        ..Self::MSNP7
    };
    pub const MSNP9: Dialect = Dialect {
        version: 9,
        msnobj: true,
        qng_interval: true,
        pgd: true,
        list_queries: false,
        ..Self::MSNP8
    };
    pub const MSNP10: Dialect = Dialect { version: 10, address_book: true, ..Self::MSNP9 };
    pub const MSNP11: Dialect = Dialect {
        version: 11,
        sbs: true,
        product_challenges: true,
        personal_message: true,
        gcf: true,
        mail_data: true,
        reconnect_later: true,
        ..Self::MSNP10
    };
    pub const MSNP12: Dialect =
        Dialect { version: 12, lst_network_id: true, roster_caps: true, ..Self::MSNP11 };

    /// Every version this server speaks, newest first.
    pub const SUPPORTED: [Dialect; 11] = [
        Self::MSNP12,
        Self::MSNP11,
        Self::MSNP10,
        Self::MSNP9,
        Self::MSNP8,
        Self::MSNP7,
        Self::MSNP6,
        Self::MSNP5,
        Self::MSNP4,
        Self::MSNP3,
        Self::MSNP2,
    ];

    /// The name used in `VER`, e.g. `MSNP7`.
    pub fn name(&self) -> String {
        format!("MSNP{}", self.version)
    }

    /// What the official client of this version offers in `VER` (for test and load clients).
    pub fn client_offer(&self) -> &'static str {
        match self.version {
            2 => "MSNP2 CVR0",
            3 => "MSNP3 MSNP2 CVR0",
            4 => "MSNP4 MSNP3 CVR0",
            5 => "MSNP5 MSNP4 CVR0",
            6 => "MSNP6 MSNP5 MSNP4 CVR0",
            7 => "MSNP7 MSNP6 MSNP5 MSNP4 CVR0",
            8 => "MSNP8 CVR0",
            9 => "MSNP9 MSNP8 CVR0",
            10 => "MSNP10 MSNP9 CVR0",
            11 => "MSNP11 MSNP10 CVR0",
            _ => "MSNP12 MSNP11 MSNP10 CVR0",
        }
    }

    /// Whether this version has the notification-server command `name` at all (the
    /// [`vocabulary`](super::vocabulary) says).
    pub fn knows(&self, name: &str) -> bool {
        super::vocabulary::spec(name).is_some_and(|spec| (spec.taken)(self))
    }

    /// The Passport site id of a `URL` service this version's clients ask for, or `None`
    /// if the version has no such service.
    pub fn url_service(&self, service: &str) -> Option<u32> {
        URL_SERVICES
            .iter()
            .find(|(name, first, last, _)| *name == service && (*first..=*last).contains(&self.version))
            .map(|(_, _, _, site)| *site)
    }

    /// Every `URL` service name some version knows.
    pub fn url_service_names() -> impl Iterator<Item = &'static str> {
        URL_SERVICES.iter().map(|(name, ..)| *name)
    }

    /// The authentication package name used in `INF` and `USR`.
    pub fn auth_package(&self) -> &'static str {
        match self.login {
            Login::Md5 => "MD5",
            Login::Twn => "TWN",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MSNP{}", self.version)
    }
}

/// `URL` services: (name, first version, last version, Passport site id).
const URL_SERVICES: [(&str, u8, u8, u32); 15] = [
    ("PASSWORD", 2, 2, 2),
    ("INBOX", 2, 12, 2),
    ("COMPOSE", 2, 12, 2),
    ("MESSAGE", 2, 12, 2),
    ("FOLDERS", 2, 12, 2),
    ("PERSON", 2, 12, 4263),
    ("MOBILE", 5, 12, 961),
    ("CHGMOB", 5, 12, 961),
    ("PROFILE", 6, 12, 4263),
    ("N2PACCOUNT", 6, 6, 2823),
    ("N2PFUND", 6, 6, 2823),
    ("CHAT", 7, 12, 2260),
    ("ADDRBOOK", 8, 12, 2),
    ("ADVSEARCH", 8, 12, 2),
    ("INTSEARCH", 8, 12, 2),
];

/// What `VER` settles on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negotiated {
    Dialect(Dialect),
    /// No common dialect, but the client offered `CVR0`: it may ask `CVQ` for an upgrade.
    Cvr0,
    /// Nothing in common: `VER trid 0` and hang up.
    Nothing,
}

/// Picks the newest supported dialect the client offered. Tokens this server does not
/// know (`MSNP15`, `CVRO`) are ignored; names compare case-insensitively.
pub fn negotiate<'a>(offered: impl IntoIterator<Item = &'a str>) -> Negotiated {
    let mut best: Option<Dialect> = None;
    let mut cvr0 = false;
    for token in offered {
        let token = token.to_ascii_uppercase();
        if token == "CVR0" {
            cvr0 = true;
        }
        let found = Dialect::SUPPORTED.iter().find(|d| d.name() == token);
        if let Some(d) = found {
            if best.is_none_or(|b| d.version > b.version) {
                best = Some(*d);
            }
        }
    }
    match (best, cvr0) {
        (Some(d), _) => Negotiated::Dialect(d),
        (None, true) => Negotiated::Cvr0,
        (None, false) => Negotiated::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_picks_the_newest_common_dialect() {
        let cases: [(&str, Negotiated); 10] = [
            ("MSNP7 MSNP6 MSNP5 MSNP4 CVR0", Negotiated::Dialect(Dialect::MSNP7)),
            ("MSNP8 CVR0", Negotiated::Dialect(Dialect::MSNP8)),
            ("MSNP9 MSNP8 CVR0", Negotiated::Dialect(Dialect::MSNP9)),
            ("MSNP10 MSNP9 CVR0", Negotiated::Dialect(Dialect::MSNP10)),
            ("MSNP11 MSNP10 CVR0", Negotiated::Dialect(Dialect::MSNP11)),
            ("MSNP13 MSNP12 MSNP11 CVR0", Negotiated::Dialect(Dialect::MSNP12)),
            ("MSNP15 MSNP13 msnp2 CVRO", Negotiated::Dialect(Dialect::MSNP2)),
            ("MSNP2 MSNP5 MSNP3", Negotiated::Dialect(Dialect::MSNP5)),
            ("MSNP13 CVR0", Negotiated::Cvr0),
            ("DISREGARDANCE FOR A REAL PROTOCOL", Negotiated::Nothing),
        ];
        for (offer, expected) in cases {
            assert_eq!(negotiate(offer.split(' ')), expected, "{offer}");
        }
    }

    #[test]
    fn commands_and_url_services_follow_the_version_table() {
        assert!(!Dialect::MSNP2.knows("IMS") && Dialect::MSNP3.knows("IMS"));
        assert!(!Dialect::MSNP5.knows("QRY") && Dialect::MSNP6.knows("QRY"));
        assert!(!Dialect::MSNP6.knows("ADG") && Dialect::MSNP7.knows("LSG"));
        assert!(Dialect::MSNP7.knows("INF") && !Dialect::MSNP8.knows("INF"));
        assert!(
            !Dialect::MSNP10.knows("UUX") && Dialect::MSNP11.knows("UUX") && Dialect::MSNP12.knows("GCF")
        );
        assert!(!Dialect::MSNP9.knows("ADC") && Dialect::MSNP10.knows("SBP"));
        assert!(!Dialect::MSNP8.knows("PGD") && Dialect::MSNP9.knows("PGD"));
        assert_eq!(Dialect::MSNP9.url_service("CHAT"), Some(2260));
        assert_eq!(Dialect::MSNP2.url_service("PASSWORD"), Some(2));
        assert_eq!(Dialect::MSNP3.url_service("PASSWORD"), None);
        assert_eq!(Dialect::MSNP7.url_service("CHAT"), Some(2260));
        assert_eq!(Dialect::MSNP7.url_service("N2PFUND"), None);
    }

    #[test]
    fn the_changelog_accumulates() {
        assert_eq!(Dialect::MSNP8.auth_package(), "TWN");
        assert_eq!(Dialect::MSNP4.auth_package(), "MD5");
        let nine = Dialect::MSNP9;
        assert!(nine.client_caps && nine.compact_syn && nine.groups && nine.msnobj && !nine.list_queries);
        let eight = Dialect::MSNP8;
        assert!(eight.list_queries && !eight.msnobj && !eight.qng_interval && !eight.pgd);
        let twelve = Dialect::MSNP12;
        assert!(twelve.address_book && twelve.personal_message && twelve.msnobj && twelve.roster_caps);
        let (ten, eleven) = (Dialect::MSNP10, Dialect::MSNP11);
        assert!(ten.address_book && !ten.sbs && eleven.sbs && !eleven.lst_network_id);
    }
}
