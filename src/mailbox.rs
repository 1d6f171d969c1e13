//! A connection's mailbox: a bounded queue of events from other sessions, drained by the
//! connection's task. Sending never waits (a full mailbox means a stuck client, which the
//! sender drops instead), and an empty mailbox holds no buffer at all. tokio's `mpsc`
//! allocates a block of 32 slots per channel up front, 2.5 KiB for the notification
//! server's events, for every connection's whole life; with tens of thousands of mostly
//! idle sessions that was a quarter of a session's memory (BENCHMARKS.md).
//! [`SessionHandle`] is what other sessions hold: the mailbox's sender and the way to drop
//! the connection.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::admission::ConnId;

/// A mailbox holding at most `capacity` events.
pub fn mailbox<E>(capacity: usize) -> (Sender<E>, Receiver<E>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State { queue: VecDeque::new(), open: true }),
        capacity,
        senders: AtomicUsize::new(1),
        notify: Notify::new(),
    });
    (Sender(shared.clone()), Receiver(shared))
}

struct Shared<E> {
    state: Mutex<State<E>>,
    capacity: usize,
    senders: AtomicUsize,
    /// Wakes the receiver; a notification sent while it is not waiting is kept for it.
    notify: Notify,
}

struct State<E> {
    queue: VecDeque<E>,
    /// False once the receiver is gone: nothing more is accepted.
    open: bool,
}

impl<E> Shared<E> {
    fn lock(&self) -> MutexGuard<'_, State<E>> {
        // Every change is one statement under the lock, so a poisoned queue is still whole.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The sending side; cloning it is an `Arc` bump.
pub struct Sender<E>(Arc<Shared<E>>);

/// Why an event was not queued; it is handed back.
#[derive(Debug, PartialEq, Eq)]
pub enum TrySendError<E> {
    Full(E),
    Closed(E),
}

impl<E> Sender<E> {
    /// Queues `event` at once, or hands it back if the mailbox is full or its receiver gone.
    pub fn try_send(&self, event: E) -> Result<(), TrySendError<E>> {
        let mut state = self.0.lock();
        if !state.open {
            return Err(TrySendError::Closed(event));
        }
        if state.queue.len() >= self.0.capacity {
            return Err(TrySendError::Full(event));
        }
        state.queue.push_back(event);
        drop(state);
        self.0.notify.notify_one();
        Ok(())
    }
}

impl<E> Clone for Sender<E> {
    fn clone(&self) -> Self {
        self.0.senders.fetch_add(1, Ordering::Relaxed);
        Sender(self.0.clone())
    }
}

impl<E> Drop for Sender<E> {
    fn drop(&mut self) {
        if self.0.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The last sender: let a waiting receiver see that nothing more can come.
            self.0.notify.notify_one();
        }
    }
}

impl<E> std::fmt::Debug for Sender<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").field("queued", &self.0.lock().queue.len()).finish()
    }
}

/// The receiving side, owned by the connection's task.
pub struct Receiver<E>(Arc<Shared<E>>);

impl<E> Receiver<E> {
    /// The next event; `None` once every sender is gone and the queue is empty.
    /// Cancel-safe: an event is only taken out when it is returned.
    pub async fn recv(&mut self) -> Option<E> {
        loop {
            if let Some(event) = self.try_recv() {
                return Some(event);
            }
            if self.0.senders.load(Ordering::Acquire) == 0 {
                return self.try_recv();
            }
            self.0.notify.notified().await;
        }
    }

    /// The next event if one is queued.
    pub fn try_recv(&mut self) -> Option<E> {
        let mut state = self.0.lock();
        let event = state.queue.pop_front();
        if state.queue.is_empty() && state.queue.capacity() > 0 {
            // An idle session keeps no buffer.
            state.queue = VecDeque::new();
        }
        event
    }
}

impl<E> Drop for Receiver<E> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.open = false;
        state.queue = VecDeque::new();
    }
}

impl<E> std::fmt::Debug for Receiver<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver").field("queued", &self.0.lock().queue.len()).finish()
    }
}

/// How to reach one connection's task: its mailbox, and the way to drop it when the
/// mailbox is full. Notification sessions get presence events, switchboard participants
/// their own kind. Copied into every fan-out, so a copy is one reference count.
pub struct SessionHandle<E> {
    pub conn: ConnId,
    reach: Arc<Reach<E>>,
}

struct Reach<E> {
    mailbox: Sender<E>,
    /// Cancelled to drop the connection without a word (a stuck client).
    kill: CancellationToken,
}

impl<E> SessionHandle<E> {
    pub fn new(conn: ConnId, mailbox: Sender<E>, kill: CancellationToken) -> SessionHandle<E> {
        SessionHandle { conn, reach: Arc::new(Reach { mailbox, kill }) }
    }

    /// Queues `event`; a full or closed mailbox gets the session dropped instead.
    pub fn deliver(&self, event: E) -> bool {
        let delivered = self.reach.mailbox.try_send(event).is_ok();
        if !delivered {
            self.reach.kill.cancel();
        }
        delivered
    }

    /// Whether the session has been dropped for not keeping up.
    pub fn is_dropped(&self) -> bool {
        self.reach.kill.is_cancelled()
    }
}

impl<E> Clone for SessionHandle<E> {
    fn clone(&self) -> Self {
        SessionHandle { conn: self.conn, reach: self.reach.clone() }
    }
}

impl<E> std::fmt::Debug for SessionHandle<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionHandle").field("conn", &self.conn).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_in_order_and_closed_with_the_receiver() {
        let (tx, mut rx) = mailbox(2);
        assert_eq!(tx.try_send(1), Ok(()));
        assert_eq!(tx.clone().try_send(2), Ok(()));
        assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
        assert_eq!(rx.try_recv(), Some(1));
        assert_eq!(tx.try_send(4), Ok(()));
        assert_eq!((rx.try_recv(), rx.try_recv(), rx.try_recv()), (Some(2), Some(4), None));
        drop(rx);
        assert_eq!(tx.try_send(5), Err(TrySendError::Closed(5)));
    }

    #[tokio::test]
    async fn the_receiver_wakes_for_events_and_when_senders_are_gone() {
        let (tx, mut rx) = mailbox(4);
        let waiting = tokio::spawn(async move {
            let first = rx.recv().await;
            let second = rx.recv().await;
            (first, second)
        });
        tokio::task::yield_now().await;
        tx.try_send("hello").unwrap();
        drop(tx);
        assert_eq!(waiting.await.unwrap(), (Some("hello"), None));
    }

    #[tokio::test]
    async fn a_recv_dropped_in_a_select_loses_nothing() {
        let (tx, mut rx) = mailbox(4);
        tokio::select! {
            biased;
            () = std::future::ready(()) => {}
            _ = rx.recv() => unreachable!("nothing was sent"),
        }
        tx.try_send(7).unwrap();
        assert_eq!(rx.recv().await, Some(7));
    }
}
