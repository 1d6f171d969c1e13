//! The RST login of MSN Messenger 7.5 (msnp9-12-rst.md), over real TCP on 127.0.0.1, over
//! HTTPS and plain HTTP: the spec's request gets the token collection, whose Messenger
//! ticket logs in an MSNP12 session once; refusals are SOAP faults; what the HTTP
//! reader and the XML parser refuse; the namespaces and ids clients vary.

mod common;

use common::admin::{api, metrics, sample};
use common::web::{self, HttpReply};
use common::{Client, TestServer};
use quick_xml::events::Event;
use quick_xml::Reader;

const ALICE: &str = "alice@example.com";
/// With an `&` and a `<`, which the request must escape.
const PASSWORD: &str = "s3cr&t <pw>";

/// The request of msnp9-12-rst.md §2, with `{username}` and `{password}` to fill in.
const EXAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext"
    xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy"
    xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing"
    xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust">
  <Header>
    <ps:AuthInfo xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="PPAuthInfo">
      <ps:HostingApp>{7108E71A-9926-4FCB-BCC9-9A9D3F32E423}</ps:HostingApp>
      <ps:BinaryVersion>4</ps:BinaryVersion>
      <ps:UIVersion>1</ps:UIVersion>
      <ps:Cookies/>
      <ps:RequestParams>AQAAAAIAAABsYwQAAAAxMDMz</ps:RequestParams>
    </ps:AuthInfo>
    <wsse:Security>
      <wsse:UsernameToken Id="user">
        <wsse:Username>{username}</wsse:Username>
        <wsse:Password>{password}</wsse:Password>
      </wsse:UsernameToken>
    </wsse:Security>
  </Header>
  <Body>
    <ps:RequestMultipleSecurityTokens xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="RSTS">
      <wst:RequestSecurityToken Id="RST0">
        <wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType>
        <wsp:AppliesTo><wsa:EndpointReference><wsa:Address>http://Passport.NET/tb</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>
      </wst:RequestSecurityToken>
      <wst:RequestSecurityToken Id="RST1">
        <wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType>
        <wsp:AppliesTo><wsa:EndpointReference><wsa:Address>messenger.msn.com</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>
        <wsse:PolicyReference URI="?ct=1&amp;rver=1&amp;wp=FS_40SEC_0_COMPACT&amp;lc=1033&amp;id=507"/>
      </wst:RequestSecurityToken>
    </ps:RequestMultipleSecurityTokens>
  </Body>
</Envelope>"#;

/// The same request written another way: another envelope prefix, default namespaces
/// declared on the elements themselves (as libpurple's template does), single quotes,
/// no whitespace, the Messenger request first and no policy.
const DEFAULT_NAMESPACES: &str = "<?xml version='1.0' encoding='utf-8'?>\
    <soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'><soap:Header>\
    <Security xmlns='http://schemas.xmlsoap.org/ws/2003/06/secext'><UsernameToken Id='user'>\
    <Username>{username}</Username><Password>{password}</Password></UsernameToken></Security>\
    </soap:Header><soap:Body>\
    <RequestMultipleSecurityTokens xmlns='http://schemas.microsoft.com/Passport/SoapServices/PPCRL' Id='RSTS'>\
    <RequestSecurityToken xmlns='http://schemas.xmlsoap.org/ws/2004/04/trust' Id='RST1'>\
    <AppliesTo xmlns='http://schemas.xmlsoap.org/ws/2002/12/policy'>\
    <EndpointReference xmlns='http://schemas.xmlsoap.org/ws/2004/03/addressing'>\
    <Address>messenger.msn.com</Address></EndpointReference></AppliesTo></RequestSecurityToken>\
    <RequestSecurityToken xmlns='http://schemas.xmlsoap.org/ws/2004/04/trust' Id='RST0'>\
    <AppliesTo xmlns='http://schemas.xmlsoap.org/ws/2002/12/policy'>\
    <EndpointReference xmlns='http://schemas.xmlsoap.org/ws/2004/03/addressing'>\
    <Address>http://Passport.NET/tb</Address></EndpointReference></AppliesTo></RequestSecurityToken>\
    </RequestMultipleSecurityTokens></soap:Body></soap:Envelope>";

/// `template` for `username` and `password`, each XML-escaped as a client does.
fn filled(template: &str, username: &str, password: &str) -> String {
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    template.replace("{username}", &escape(username)).replace("{password}", &escape(password))
}

/// `POST path` with `body` and its `Content-Length`, and `headers`.
fn post(path: &str, host: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut request = format!("POST {path} HTTP/1.1\r\nHost: {host}\r\n");
    for (name, value) in headers {
        request += &format!("{name}: {value}\r\n");
    }
    request += &format!("Content-Length: {}\r\n\r\n{body}", body.len());
    request.into_bytes()
}

/// `body` posted to `/RST.srf` over HTTPS, as MSN Messenger 7.5 sends it.
async fn rst(server: &TestServer, body: &str) -> HttpReply {
    let addr = server.addrs.passport_https;
    let content_type = [("Content-Type", "text/xml; charset=utf-8")];
    web::https(
        addr,
        &web::trusting(&server.cert_path()),
        &post("/RST.srf", &addr.to_string(), &content_type, body),
    )
    .await
}

async fn server_with_alice() -> TestServer {
    let server = TestServer::start_with(|c| c.challenges.enabled = false).await;
    server.add_user_named(ALICE, "Alice Liddell", PASSWORD).await;
    server
}

/// An element of an answer, by its local name.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attributes: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
}

impl Node {
    /// The answer's root element; fails the test unless the body is XML.
    fn parse(xml: &str) -> Node {
        let mut reader = Reader::from_str(xml);
        let mut open = vec![Node::default()];
        loop {
            match reader.read_event().unwrap_or_else(|e| panic!("{e}: {xml}")) {
                Event::Start(e) => open.push(Node::of(&e)),
                Event::Empty(e) => open.last_mut().unwrap().children.push(Node::of(&e)),
                Event::End(_) => {
                    let node = open.pop().unwrap();
                    open.last_mut().unwrap().children.push(node);
                }
                Event::Text(t) => open.last_mut().unwrap().text += &t.xml10_content().unwrap(),
                Event::GeneralRef(r) => {
                    let name = r.decode().unwrap();
                    let text = quick_xml::escape::resolve_xml_entity(&name).expect("a predefined entity");
                    open.last_mut().unwrap().text += text;
                }
                Event::Eof => break,
                _ => {}
            }
        }
        let mut document = open.pop().unwrap();
        assert_eq!(document.children.len(), 1, "one root element: {xml}");
        document.children.pop().unwrap()
    }

    fn of(e: &quick_xml::events::BytesStart<'_>) -> Node {
        let name = String::from_utf8(e.local_name().as_ref().to_vec()).unwrap();
        let attributes = e
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                let value = a.normalized_value(quick_xml::XmlVersion::Implicit1_0).unwrap().into_owned();
                (String::from_utf8(a.key.as_ref().to_vec()).unwrap(), value)
            })
            .collect();
        Node { name, attributes, ..Node::default() }
    }

    /// The children called `name`.
    fn all(&self, name: &str) -> Vec<&Node> {
        self.children.iter().filter(|c| c.name == name).collect()
    }

    /// The one descendant at `path` (local names separated by `/`).
    fn at(&self, path: &str) -> &Node {
        path.split('/').fold(self, |node, name| match node.all(name)[..] {
            [one] => one,
            ref found => panic!("{} {name} under {} in {self:#?}", found.len(), node.name),
        })
    }

    fn attribute(&self, name: &str) -> &str {
        let found = self.attributes.iter().find(|(n, _)| n == name);
        found.map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no {name} on {self:?}"))
    }
}

/// The token responses of a successful answer (checking its header on the way).
fn token_responses(reply: &HttpReply) -> Vec<Node> {
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("Content-Type"), "text/xml; charset=utf-8");
    assert!(
        reply.body.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><S:Envelope "),
        "{}",
        reply.body
    );
    let mut envelope = Node::parse(&reply.body);
    assert_eq!(envelope.name, "Envelope");
    let pp = envelope.at("Header/pp");
    assert_eq!((pp.at("authstate").text.as_str(), pp.at("reqstatus").text.as_str()), ("0x48803", "0x0"));
    let puid = &pp.at("PUID").text;
    assert!(puid.len() == 16 && puid.bytes().all(|b| b.is_ascii_hexdigit()), "{puid}");
    let body = envelope.children.iter_mut().find(|c| c.name == "Body").expect("a Body");
    let collection = body.children.pop().expect("the collection");
    assert_eq!(collection.name, "RequestSecurityTokenResponseCollection");
    assert!(collection.children.iter().all(|c| c.name == "RequestSecurityTokenResponse"));
    collection.children
}

/// The Messenger ticket of a token response, XML-unescaped (by the parser), checked on
/// the way: `t=<token>&p=` in a `Compact<n>` token that its reference names.
fn ticket_of(response: &Node, n: usize) -> String {
    assert_eq!(response.at("TokenType").text, "urn:passport:compact");
    let token = response.at("RequestedSecurityToken/BinarySecurityToken");
    assert_eq!(token.attribute("Id"), format!("Compact{n}"));
    assert_eq!(response.at("RequestedTokenReference/Reference").attribute("URI"), format!("#Compact{n}"));
    assert_eq!(
        response.at("RequestedTokenReference/KeyIdentifier").attribute("ValueType"),
        "urn:passport:compact"
    );
    let ticket = token.text.clone();
    let secret = ticket.strip_prefix("t=").and_then(|t| t.strip_suffix("&p=")).expect("t=<token>&p=");
    assert!(secret.len() >= 22 && !secret.contains(['&', ' ', '<', '>', '"', '\'']), "{ticket}");
    ticket
}

fn address_of(response: &Node) -> &str {
    &response.at("AppliesTo/EndpointReference/Address").text
}

/// `VER`, `CVR` and `USR 3 TWN I` straight on the notification server, as MSN Messenger
/// 7.5 does (MSNP12).
async fn twn_challenge(server: &TestServer, handle: &str) -> Client {
    let mut ns = server.notification().await;
    ns.transcript(&format!(
        "C: VER 1 MSNP12 MSNP11 MSNP10 CVR0\nS: VER 1 MSNP12\n\
         C: CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 7.5.0324 msmsgs {handle}\nS: CVR 2 7.5.0324 7.5.0324 7.5.0324 ...\n\
         C: USR 3 TWN I {handle}\nS: USR 3 TWN S {{challenge}}"
    ))
    .await;
    ns
}

/// A fault answer: HTTP 200, its `faultcode` and `faultstring`, and its `psf:pp` header.
fn fault_of(reply: &HttpReply) -> (String, String, Node) {
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("Content-Type"), "text/xml; charset=utf-8");
    assert!(!reply.body.contains("BinarySecurityToken"), "no ticket in {}", reply.body);
    let mut envelope = Node::parse(&reply.body);
    let fault = envelope.at("Fault");
    let (code, text) = (fault.at("faultcode").text.clone(), fault.at("faultstring").text.clone());
    let header = envelope.children.remove(0);
    assert_eq!(header.name, "Header");
    (code, text, header.children.into_iter().next().expect("psf:pp"))
}

fn assert_failed_authentication(reply: &HttpReply, text: &str) {
    let (code, faultstring, pp) = fault_of(reply);
    assert_eq!((code.as_str(), faultstring.as_str()), ("wsse:FailedAuthentication", text));
    assert_eq!(
        (pp.at("authstate").text.as_str(), pp.at("reqstatus").text.as_str()),
        ("0x80048800", "0x80048823")
    );
}

fn assert_invalid_request(reply: &HttpReply) {
    let (code, faultstring, _) = fault_of(reply);
    assert_eq!((code.as_str(), faultstring.as_str()), ("S:Client", "Invalid Request"), "{}", reply.body);
}

#[tokio::test]
async fn the_example_request_logs_in_on_the_notification_server_once() {
    let server = server_with_alice().await;
    let mut ns = twn_challenge(&server, ALICE).await;
    assert!(ns.var("challenge").contains("lc=1033"), "{}", ns.var("challenge"));

    let reply = rst(&server, &filled(EXAMPLE, ALICE, PASSWORD)).await;
    assert!(reply.body.contains("&amp;p=</wsse:BinarySecurityToken>"), "escaped on the wire: {}", reply.body);
    let responses = token_responses(&reply);
    assert_eq!(responses.len(), 2, "one response per request");
    let (tb, messenger) = (&responses[0], &responses[1]);
    assert_eq!((address_of(tb), address_of(messenger)), ("http://Passport.NET/tb", "messenger.msn.com"));

    assert_eq!(tb.at("TokenType").text, "urn:passport:legacy");
    let encrypted = tb.at("RequestedSecurityToken/EncryptedData");
    assert_eq!(encrypted.attribute("Id"), "BinaryDAToken0");
    let base64 =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b));
    assert!(base64(&encrypted.at("CipherData/CipherValue").text), "{encrypted:?}");
    assert!(base64(&tb.at("RequestedProofToken/BinarySecret").text));
    assert_eq!(tb.at("RequestedTokenReference/Reference").attribute("URI"), "#BinaryDAToken0");

    for response in [tb, messenger] {
        let (created, expires) =
            (&response.at("LifeTime/Created").text, &response.at("LifeTime/Expires").text);
        for time in [created, expires] {
            assert!(time.len() == 20 && time.as_bytes()[10] == b'T' && time.ends_with('Z'), "{time}");
        }
        assert!(expires > created, "{created} .. {expires}");
    }
    let ticket = ticket_of(messenger, 1);

    ns.send(&format!("USR 4 TWN S {ticket}")).await;
    ns.transcript(&format!("S: USR 4 OK {ALICE} 1 0\nS: SBS 0 null")).await;
    let token = ticket.strip_prefix("t=").unwrap().strip_suffix("&p=").unwrap();
    let profile = ns.expect_payload("MSG Hotmail Hotmail", &format!("\r\nMSPAuth: {token}\r\n")).await;
    assert!(profile.ends_with("ABCHMigrated: 1\r\n\r\n"), "{profile}");
    ns.expect_payload("MSG Hotmail Hotmail", "text/x-msmsgsinitialmdatanotification").await;
    // MSNP12's list: the name as PRP MFN, every LST with its network id.
    ns.transcript("C: SYN 5 0 0\nS: SYN 5 * * 0 0\nS: GTC A\nS: BLP AL\nS: PRP MFN Alice%20Liddell").await;

    let mut replay = twn_challenge(&server, ALICE).await;
    replay.transcript(&format!("C: USR 4 TWN S {ticket}\nS: 911 4\nS: (closed)")).await;
}

#[tokio::test]
async fn plain_http_and_rst2_serve_the_same_login_without_a_content_type() {
    let server = server_with_alice().await;
    let addr = server.addrs.passport_http;
    for path in ["/RST.srf", "/RST2.srf", "/rst.srf"] {
        let mut ns = twn_challenge(&server, ALICE).await;
        let reply =
            web::http(addr, &post(path, &addr.to_string(), &[], &filled(EXAMPLE, ALICE, PASSWORD))).await;
        let ticket = ticket_of(&token_responses(&reply)[1], 1);
        ns.transcript(&format!("C: USR 4 TWN S {ticket}\nS: USR 4 OK {ALICE} ...")).await;
    }
}

#[tokio::test]
async fn default_namespaces_and_another_order_still_work() {
    let server = server_with_alice().await;
    let mut ns = twn_challenge(&server, ALICE).await;
    let reply = rst(&server, &filled(DEFAULT_NAMESPACES, ALICE, PASSWORD)).await;
    let responses = token_responses(&reply);
    assert_eq!(address_of(&responses[0]), "messenger.msn.com", "answered in the request's order");
    assert_eq!(responses[1].at("TokenType").text, "urn:passport:legacy");
    let ticket = ticket_of(&responses[0], 1);
    ns.transcript(&format!("C: USR 4 TWN S {ticket}\nS: USR 4 OK {ALICE} ...")).await;
}

#[tokio::test]
async fn compact_ids_follow_the_rst_numbers() {
    let server = server_with_alice().await;
    let request = |id: &str, address: &str| {
        format!("<RequestSecurityToken {id}><AppliesTo><Address>{address}</Address></AppliesTo></RequestSecurityToken>")
    };
    let tokens = [
        request("Id='RST0'", "http://Passport.NET/tb"),
        request("Id='RST3'", "messenger.msn.com"),
        request("Id='RST5'", "contacts.msn.com"),
        request("", "messengerclear.live.com"),
    ]
    .concat();
    let body = format!(
        "<Envelope><Header><Username>{ALICE}</Username><Password>{}</Password></Header><Body>{tokens}</Body></Envelope>",
        PASSWORD.replace('&', "&amp;").replace('<', "&lt;")
    );
    let responses = token_responses(&rst(&server, &body).await);
    assert_eq!(responses.len(), 4);
    let messenger = ticket_of(&responses[1], 3);
    assert_eq!(ticket_of(&responses[2], 5), messenger, "one ticket for the sign-in");
    assert_eq!(ticket_of(&responses[3], 3), messenger, "without an Id, the position");
    assert_eq!(address_of(&responses[2]), "contacts.msn.com");
}

#[tokio::test]
async fn a_wrong_password_an_unknown_or_disabled_account_get_the_failed_authentication_fault() {
    let server = server_with_alice().await;
    server.add_user("bob@example.com", "bobpw").await;
    server.store.set_disabled(&"bob@example.com".parse().unwrap(), true).await.unwrap();
    let wrong = rst(&server, &filled(EXAMPLE, ALICE, "s3cr&t")).await;
    let unknown = rst(&server, &filled(EXAMPLE, "nobody@example.com", PASSWORD)).await;
    let disabled = rst(&server, &filled(EXAMPLE, "bob@example.com", "bobpw")).await;
    for reply in [&wrong, &unknown, &disabled] {
        assert_failed_authentication(reply, "Authentication Failure");
    }
    assert_eq!((&wrong.body, &wrong.body), (&unknown.body, &disabled.body), "nothing tells them apart");
    // The right password still works.
    token_responses(&rst(&server, &filled(EXAMPLE, ALICE, PASSWORD)).await);
}

#[tokio::test]
async fn requests_without_credentials_or_tokens_get_the_client_fault() {
    let server = server_with_alice().await;
    let no_username = EXAMPLE.replace("<wsse:Username>{username}</wsse:Username>", "");
    let no_password = EXAMPLE.replace("<wsse:Password>{password}</wsse:Password>", "");
    let no_tokens = filled(EXAMPLE, ALICE, PASSWORD)
        .replace("RequestSecurityToken ", "Other ")
        .replace("RequestSecurityToken>", "Other>");
    for body in [filled(&no_username, ALICE, PASSWORD), filled(&no_password, ALICE, PASSWORD), no_tokens] {
        assert_invalid_request(&rst(&server, &body).await);
    }
    for garbage in
        ["", "garbage", "<Envelope><Body>", "<html><body>hello</body></html>", "<Envelope>&bogus;</Envelope>"]
    {
        assert_invalid_request(&rst(&server, garbage).await);
    }
    let doctype = format!(
        "<!DOCTYPE Envelope [<!ENTITY x 'y'>]>{}",
        filled(EXAMPLE, ALICE, PASSWORD).split_once("?>").unwrap().1
    );
    assert_invalid_request(&rst(&server, &doctype).await);
    let counted = metrics(&server).await;
    assert_eq!(
        sample(&counted, "msnd_passport_requests_total{endpoint=\"rst\",result=\"no_credentials\"}"),
        2.0
    );
    assert_eq!(sample(&counted, "msnd_passport_requests_total{endpoint=\"rst\",result=\"malformed\"}"), 7.0);
}

#[tokio::test]
async fn http_errors_for_bodies_too_large_unannounced_or_sent_otherwise() {
    let server = TestServer::start_with(|c| c.passport.max_body_bytes = 4096).await;
    server.add_user(ALICE, PASSWORD).await;
    let addr = server.addrs.passport_http;
    let host = addr.to_string();
    let padded = format!("{}<!--{}-->", filled(EXAMPLE, ALICE, PASSWORD), "x".repeat(4096));
    let too_large = web::http(addr, &post("/RST.srf", &host, &[], &padded)).await;
    assert_eq!(too_large.status, 413, "{too_large:?}");
    assert!(too_large.body.contains("4096"), "{too_large:?}");
    let no_length =
        web::http(addr, format!("POST /RST.srf HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes()).await;
    assert_eq!(no_length.status, 411, "{no_length:?}");
    let chunked = "POST /RST.srf HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    assert_eq!(web::http(addr, chunked.as_bytes()).await.status, 411);
    let bad_length = web::http(addr, b"POST /RST.srf HTTP/1.1\r\nContent-Length: ten\r\n\r\n").await;
    assert_eq!(bad_length.status, 400);
    let get = web::http(addr, &web::get("/RST.srf", &host, &[])).await;
    assert_eq!((get.status, get.header("Allow")), (405, "POST"));
    let post_login2 = web::http(addr, &post("/login2.srf", &host, &[], "")).await;
    assert_eq!((post_login2.status, post_login2.header("Allow")), (405, "GET"));
    // Under the limit, the same request is served.
    let served = web::http(addr, &post("/RST.srf", &host, &[], &filled(EXAMPLE, ALICE, PASSWORD))).await;
    assert_eq!(token_responses(&served).len(), 2);
}

#[tokio::test]
async fn throttles_refuse_with_their_own_text_and_count_with_login2() {
    let server = TestServer::start_with(|c| {
        c.limits.passport_attempts_per_account = 2;
        c.limits.login_failures_per_ip = 1;
    })
    .await;
    server.add_user(ALICE, PASSWORD).await;
    server.add_user("bob@example.com", "bobpw").await;
    token_responses(&rst(&server, &filled(EXAMPLE, ALICE, PASSWORD)).await);
    token_responses(&rst(&server, &filled(EXAMPLE, ALICE, PASSWORD)).await);
    let third = rst(&server, &filled(EXAMPLE, ALICE, PASSWORD)).await;
    assert_failed_authentication(&third, "Too many sign-in attempts. Please wait a minute and try again.");

    // A wrong RST password counts as a failed login of the address, for login2.srf too.
    assert_failed_authentication(
        &rst(&server, &filled(EXAMPLE, "bob@example.com", "no")).await,
        "Authentication Failure",
    );
    let refused =
        server.passport_login("bob@example.com", "bobpw", "lc=1033,id=507,tw=40").await.unwrap_err();
    assert!(
        refused.header("WWW-Authenticate").contains("cbtxt=Too%20many%20failed%20sign-ins."),
        "{refused:?}"
    );
    let again = rst(&server, &filled(EXAMPLE, "bob@example.com", "bobpw")).await;
    assert_failed_authentication(&again, "Too many failed sign-ins. Please try again later.");

    let counted = metrics(&server).await;
    let series =
        |result: &str| format!("msnd_passport_requests_total{{endpoint=\"rst\",result=\"{result}\"}}");
    assert_eq!(sample(&counted, &series("issued")), 2.0, "{counted}");
    assert_eq!(sample(&counted, &series("throttled")), 2.0, "{counted}");
    assert_eq!(sample(&counted, &series("refused")), 1.0, "{counted}");
    let login2 = "msnd_passport_requests_total{endpoint=\"login2\",result=\"throttled\"}";
    assert_eq!(sample(&counted, login2), 1.0, "{counted}");
}

#[tokio::test]
async fn no_tickets_during_maintenance() {
    let server = server_with_alice().await;
    let reply = api(&server, "POST", "/maintenance", r#"{"minutes":1,"secs":3}"#).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let refused = rst(&server, &filled(EXAMPLE, ALICE, PASSWORD)).await;
    assert_failed_authentication(
        &refused,
        "The server is going down for maintenance. Please try again later.",
    );
}
