//! The relay of `relay-baseline`: the least a server must do to carry the `chat` scenario's
//! traffic. Each connection is one task with a bounded mailbox, framing with msnd's codec,
//! and replies written and flushed one event at a time, as in msnd; it pairs the two
//! connections that join with the same key and relays `MSG` between them with `ACK`/`NAK`.
//! No login, no database, no presence: whatever msnd's switchboard costs beyond this is
//! the price of being a server.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use msnd::codec::{MsnpCodec, Reading};
use msnd::protocol::{Reply, TrId};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::Framed;

/// What one side of a chat sends the other.
enum Relayed {
    Message { email: Arc<str>, payload: Bytes },
}

/// A first arrival, waiting for the other side.
struct Waiting {
    email: Arc<str>,
    mailbox: mpsc::Sender<Relayed>,
    partner: oneshot::Sender<(Arc<str>, mpsc::Sender<Relayed>)>,
}

type Lobby = Arc<Mutex<HashMap<String, Waiting>>>;

/// Listens on `listen` (a loopback address), prints the bound address on stdout and serves.
pub async fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    if !listen.ip().is_loopback() {
        anyhow::bail!("the relay listens on loopback addresses only");
    }
    crate::procfs::raise_own_fd_limit();
    let listener = TcpListener::bind(listen).await?;
    println!("{}", listener.local_addr()?);
    let lobby: Lobby = Arc::default();
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(connection(stream, lobby.clone()));
            }
            Err(e) => {
                eprintln!("relay: accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

async fn connection(stream: TcpStream, lobby: Lobby) {
    let _ = stream.set_nodelay(true);
    let mut framed = Framed::new(stream, MsnpCodec::new(Reading::FromClient, 2048, 1664));
    // `USR tr handle key`
    let Some(Ok(first)) = framed.next().await else { return };
    let (tr, email, key) = match first.line.split(' ').collect::<Vec<_>>().as_slice() {
        ["USR", tr, email, key] => match tr.parse::<u32>() {
            Ok(tr) => (TrId(tr), Arc::<str>::from(*email), (*key).to_owned()),
            Err(_) => return,
        },
        _ => return,
    };
    let (tx, mut mailbox) = mpsc::channel(256);
    let mut partner: Option<(Arc<str>, mpsc::Sender<Relayed>)> = None;
    let mut pairing = None;
    {
        let mut lobby = lobby.lock().unwrap_or_else(|p| p.into_inner());
        match lobby.remove(&key) {
            Some(first) => {
                let _ = first.partner.send((email.clone(), tx.clone()));
                partner = Some((first.email, first.mailbox));
            }
            None => {
                let (promise, paired) = oneshot::channel();
                lobby.insert(key, Waiting { email: email.clone(), mailbox: tx.clone(), partner: promise });
                pairing = Some(paired);
            }
        }
    }
    if framed.send(Reply::to("USR", tr).arg("OK").arg(&email).arg(&email)).await.is_err() {
        return;
    }
    loop {
        let reply = tokio::select! {
            frame = framed.next() => {
                let Some(Ok(frame)) = frame else { return };
                let mut tokens = frame.line.split(' ');
                match (tokens.next(), tokens.next(), tokens.next()) {
                    (Some("MSG"), Some(tr), Some(ack)) => {
                        let tr = TrId(tr.parse().unwrap_or(0));
                        let payload = frame.payload.unwrap_or_default();
                        let delivered = partner.as_ref().is_some_and(|(_, p)| {
                            p.try_send(Relayed::Message { email: email.clone(), payload }).is_ok()
                        });
                        match (ack, delivered) {
                            ("A", true) => Some(Reply::to("ACK", tr)),
                            ("A" | "N", false) => Some(Reply::to("NAK", tr)),
                            _ => None,
                        }
                    }
                    (Some("OUT"), ..) => return,
                    _ => None,
                }
            }
            Some(Relayed::Message { email, payload }) = mailbox.recv() => {
                Some(Reply::new("MSG").arg(&email).arg(&email).payload(payload))
            }
            paired = async { pairing.as_mut().expect("polled only while pairing").await }, if pairing.is_some() => {
                pairing = None;
                let (their_email, their_mailbox) = match paired {
                    Ok(p) => p,
                    Err(_) => return,
                };
                let joined = Reply::new("JOI").arg(&their_email).arg(&their_email);
                partner = Some((their_email, their_mailbox));
                Some(joined)
            }
        };
        if let Some(reply) = reply {
            if framed.send(reply).await.is_err() {
                return;
            }
        }
    }
}
