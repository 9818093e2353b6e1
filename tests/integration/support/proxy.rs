//! A TCP proxy that loses replies on purpose: between a client library and a real server, it
//! forwards everything, except that once armed it lets one request through, reads the
//! server's whole reply, drops it and closes the connection. The client then sees a broken
//! connection for a command the server has executed: the ambiguous failure a retry must not
//! misreport.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The end of a PostgreSQL reply: `ReadyForQuery` (`Z`, length 5), before its status byte.
pub const POSTGRES_READY: &[u8] = b"Z\0\0\0\x05";

/// Something to do once a reply is lost, before the connection closes (while the client still
/// waits for the reply).
pub type OnLost = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// What to lose: the reply to the next client data that contains `request`, up to and
/// including the server's `reply_end`.
struct Trap {
    request: Vec<u8>,
    reply_end: Vec<u8>,
    on_lost: Option<OnLost>,
}

impl std::fmt::Debug for Trap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trap").finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Shared {
    trap: Mutex<Option<Trap>>,
    sprung: AtomicUsize,
    /// PostgreSQL `ReadyForQuery` messages forwarded to clients: one per round trip.
    ready: AtomicUsize,
}

/// A running proxy (stopped when dropped).
#[derive(Debug)]
pub struct ReplyDropper {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl ReplyDropper {
    /// Listens on a free loopback port and forwards each connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> ReplyDropper {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let accepting = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let shared = Arc::clone(&accepting);
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        relay(client, server, &shared).await;
                    }
                });
            }
        });
        ReplyDropper { addr, shared, task }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Arms the proxy: the next client data containing `request` is forwarded, the server's
    /// reply up to `reply_end` is dropped, and that connection is closed. One-shot.
    pub fn lose_reply_to(&self, request: &[u8], reply_end: &[u8]) {
        self.arm(request, reply_end, None);
    }

    /// Like [`lose_reply_to`](Self::lose_reply_to), and runs `on_lost` once the reply is
    /// lost, before the connection closes: what another client does meanwhile.
    pub fn lose_reply_to_then(&self, request: &[u8], reply_end: &[u8], on_lost: OnLost) {
        self.arm(request, reply_end, Some(on_lost));
    }

    fn arm(&self, request: &[u8], reply_end: &[u8], on_lost: Option<OnLost>) {
        *self.shared.trap.lock().unwrap() = Some(Trap {
            request: request.to_vec(),
            reply_end: reply_end.to_vec(),
            on_lost,
        });
    }

    /// How many replies were lost so far.
    pub fn lost(&self) -> usize {
        self.shared.sprung.load(Ordering::SeqCst)
    }

    /// How many PostgreSQL round trips were answered so far: the [`POSTGRES_READY`] messages
    /// forwarded to clients (the server sends one per `Sync` or simple query).
    pub fn round_trips(&self) -> usize {
        self.shared.ready.load(Ordering::SeqCst)
    }
}

impl Drop for ReplyDropper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Forwards both ways until either side closes, or until a sprung trap's reply is complete.
async fn relay(mut client: TcpStream, mut server: TcpStream, shared: &Shared) {
    let (mut from_client, mut from_server) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    // The trap that sprang, and what of the reply was dropped so far.
    let mut dropping: Option<(Trap, Vec<u8>)> = None;
    // The end of the last chunk forwarded to the client, so that a `ReadyForQuery` split
    // between two reads is counted too.
    let mut carry: Vec<u8> = Vec::new();
    loop {
        tokio::select! {
            read = client.read(&mut from_client) => {
                let Ok(n @ 1..) = read else { return };
                let chunk = &from_client[..n];
                if dropping.is_none() {
                    let mut trap = shared.trap.lock().unwrap();
                    if trap.as_ref().is_some_and(|t| contains(chunk, &t.request)) {
                        dropping = trap.take().map(|t| (t, Vec::new()));
                    }
                }
                if server.write_all(chunk).await.is_err() {
                    return;
                }
            }
            read = server.read(&mut from_server) => {
                let Ok(n @ 1..) = read else { return };
                let chunk = &from_server[..n];
                match &mut dropping {
                    None => {
                        carry.extend_from_slice(chunk);
                        let ready = carry.windows(POSTGRES_READY.len()).filter(|w| *w == POSTGRES_READY).count();
                        shared.ready.fetch_add(ready, Ordering::SeqCst);
                        carry.drain(..carry.len().saturating_sub(POSTGRES_READY.len() - 1));
                        if client.write_all(chunk).await.is_err() {
                            return;
                        }
                    }
                    Some((trap, dropped)) => {
                        dropped.extend_from_slice(chunk);
                        if contains(dropped, &trap.reply_end) {
                            shared.sprung.fetch_add(1, Ordering::SeqCst);
                            if let Some(on_lost) = trap.on_lost.take() {
                                on_lost().await;
                            }
                            // Both sockets close here: the client never sees the reply.
                            return;
                        }
                    }
                }
            }
        }
    }
}
