//! A TCP proxy that puts network latency between the benchmark and
//! PostgreSQL. On localhost a round trip costs microseconds, which hides
//! what every query pays against a remote database, the normal case.
//!
//! It models latency, not bandwidth: a chunk read at time t is written at
//! t + rtt/2, and reading never waits for earlier chunks to be delivered,
//! so a burst of writes costs one delay in total, not one per write. Order
//! is kept, and a close on one side is passed on as a half-close.

use super::BenchError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Bytes read at once from one side.
const CHUNK: usize = 16 * 1024;
/// Chunks in flight per direction before reading pauses. Only a slow
/// reader on the far side fills it (a few milliseconds of a local link
/// hold far fewer), so it bounds memory without shaping the traffic.
const IN_FLIGHT: usize = 4096;

/// A running proxy; dropping it stops it, open connections included.
pub struct LatencyProxy {
    addr: SocketAddr,
    rtt: Duration,
    connections: Arc<AtomicU64>,
    /// Reads from clients: each is one flight of requests a client sent
    /// before waiting for an answer (a client that writes a whole request
    /// at once with Nagle off, as sqlx does), so the count is the round
    /// trips the clients made, give or take a request split in two reads.
    requests: Arc<AtomicU64>,
    /// The proxy's own runtime, so its timers fire on time while the
    /// ingestion keeps the caller's workers busy: on a shared runtime the
    /// added delay would grow with the load, and with the instance count.
    runtime: Option<tokio::runtime::Runtime>,
}

impl LatencyProxy {
    /// Listens on 127.0.0.1 (a free port) and forwards every connection to
    /// `upstream` (`host:port`) with `rtt` added to each round trip. A zero
    /// `rtt` still proxies, so a comparison pays the proxy's cost on both
    /// sides.
    pub async fn start(upstream: &str, rtt: Duration) -> Result<LatencyProxy, BenchError> {
        let failed = |step: String| move |source| BenchError::Proxy { step, source };
        let targets: Arc<[SocketAddr]> = tokio::net::lookup_host(upstream)
            .await
            .map_err(failed(format!("resolve {upstream}")))?
            .collect::<Vec<_>>()
            .into();
        if targets.is_empty() {
            return Err(BenchError::Proxy {
                step: format!("resolve {upstream}"),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
            });
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("weir-bench-proxy")
            .enable_all()
            .build()
            .map_err(failed("start the proxy's runtime".into()))?;
        let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .map_err(failed("listen on 127.0.0.1".into()))?;
        listener.set_nonblocking(true).map_err(failed("listen on 127.0.0.1".into()))?;
        let addr = listener.local_addr().map_err(failed("listen on 127.0.0.1".into()))?;
        let listener = {
            // A tokio socket registers with the runtime current when it is made.
            let _inside = runtime.enter();
            TcpListener::from_std(listener).map_err(failed("listen on 127.0.0.1".into()))?
        };
        let connections = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(AtomicU64::new(0));
        let counters = Counters { connections: connections.clone(), requests: requests.clone() };
        runtime.spawn(accept(listener, targets, rtt / 2, counters));
        Ok(LatencyProxy { addr, rtt, connections, requests, runtime: Some(runtime) })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn rtt(&self) -> Duration {
        self.rtt
    }

    /// Connections accepted so far: proof that traffic went through.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Flights of requests from clients so far: their round trips.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

#[derive(Clone)]
struct Counters {
    connections: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
}

impl Drop for LatencyProxy {
    fn drop(&mut self) {
        // Drops the accept task and every connection's task; the shutdown
        // does not block, so a drop inside async code is fine.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn accept(listener: TcpListener, upstream: Arc<[SocketAddr]>, one_way: Duration, counters: Counters) {
    loop {
        match listener.accept().await {
            Ok((client, _)) => {
                counters.connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(serve(client, upstream.clone(), one_way, counters.requests.clone()));
            }
            Err(err) => {
                // Out of descriptors, or a connection reset before it was
                // accepted: the listener itself is fine, so try again.
                tracing::debug!(error = %err, "latency proxy: accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn serve(client: TcpStream, upstream: Arc<[SocketAddr]>, one_way: Duration, requests: Arc<AtomicU64>) {
    let server = match TcpStream::connect(&upstream[..]).await {
        Ok(server) => server,
        Err(err) => {
            // Dropping the client closes it, which is what it would see of
            // a refused connection.
            tracing::debug!(error = %err, "latency proxy: cannot reach upstream");
            return;
        }
    };
    // Nagle's algorithm would hold small writes back for an ACK, adding
    // delay the proxy did not choose.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    // The client's connect returned at once; a real TCP handshake costs a
    // round trip before the first byte can go. Bytes sent meanwhile wait
    // in the kernel.
    if !one_way.is_zero() {
        tokio::time::sleep(one_way * 2).await;
    }
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::join!(
        pump(client_read, server_write, one_way, Some(requests)),
        pump(server_read, client_write, one_way, None)
    );
}

/// Copies one direction, each chunk delivered `delay` after it was read.
/// The reader and the writer run concurrently, so a chunk's delay
/// overlaps the chunks behind it.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, delay: Duration, reads: Option<Arc<AtomicU64>>) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(IN_FLIGHT);
    let read = async move {
        let mut buf = vec![0; CHUNK];
        // An error ends the direction as an end of stream would: the far
        // side sees a close either way.
        while let Ok(n @ 1..) = from.read(&mut buf).await {
            if let Some(reads) = &reads {
                reads.fetch_add(1, Ordering::Relaxed);
            }
            if tx.send((Instant::now() + delay, buf[..n].to_vec())).await.is_err() {
                break;
            }
        }
    };
    let write = async move {
        while let Some((due, bytes)) = rx.recv().await {
            if due > Instant::now() {
                tokio::time::sleep_until(due).await;
            }
            if to.write_all(&bytes).await.is_err() {
                // Dropping the receiver stops the reader at its next chunk.
                return;
            }
        }
        // The sender is gone: the source closed and everything read has
        // been delivered. Pass the close on, keeping the other direction open.
        let _ = to.shutdown().await;
    };
    tokio::join!(read, write);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// Echoes every connection until the client half-closes, then closes.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _ = socket.set_nodelay(true);
                    let (mut r, mut w) = socket.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                    let _ = w.shutdown().await;
                });
            }
        });
        addr
    }

    async fn connect(proxy: &LatencyProxy) -> TcpStream {
        let stream = TcpStream::connect(proxy.addr()).await.unwrap();
        stream.set_nodelay(true).unwrap();
        stream
    }

    async fn exchange(stream: &mut TcpStream, message: &[u8]) -> Duration {
        let started = Instant::now();
        stream.write_all(message).await.unwrap();
        let mut back = vec![0; message.len()];
        stream.read_exact(&mut back).await.unwrap();
        assert_eq!(back, message);
        started.elapsed()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_round_trip_costs_the_rtt() {
        let rtt = Duration::from_millis(60);
        let proxy = LatencyProxy::start(&echo_server().await.to_string(), rtt).await.unwrap();
        let mut stream = connect(&proxy).await;
        let first = exchange(&mut stream, b"hello").await;
        assert!(first >= rtt * 2, "the handshake's round trip comes first: {first:?}");
        for _ in 0..3 {
            let took = exchange(&mut stream, b"ping").await;
            assert!(took >= rtt && took < rtt + Duration::from_millis(150), "{took:?}");
        }
        assert_eq!(proxy.connections(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn zero_rtt_is_a_pass_through() {
        let proxy = LatencyProxy::start(&echo_server().await.to_string(), Duration::ZERO).await.unwrap();
        let mut stream = connect(&proxy).await;
        for _ in 0..3 {
            let took = exchange(&mut stream, b"ping").await;
            assert!(took < Duration::from_millis(100), "{took:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn megabytes_arrive_whole_and_in_order_and_the_close_passes_through() {
        let proxy = LatencyProxy::start(&echo_server().await.to_string(), Duration::from_millis(10)).await.unwrap();
        let sent: Vec<u8> = (0..6 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
        let (mut r, mut w) = connect(&proxy).await.into_split();
        let expected = sent.clone();
        let writer = tokio::spawn(async move {
            // Uneven writes, so chunk boundaries fall anywhere.
            for piece in sent.chunks(7_001) {
                w.write_all(piece).await.unwrap();
            }
            w.shutdown().await.unwrap();
        });
        let mut back = Vec::new();
        // Ends only if the client's close reached the echo server and its
        // close came back.
        r.read_to_end(&mut back).await.unwrap();
        writer.await.unwrap();
        assert_eq!(back.len(), expected.len());
        assert!(back == expected, "the bytes came back changed or reordered");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_of_small_writes_costs_one_rtt_not_one_per_write() {
        let rtt = Duration::from_millis(100);
        let proxy = LatencyProxy::start(&echo_server().await.to_string(), rtt).await.unwrap();
        let mut stream = connect(&proxy).await;
        exchange(&mut stream, b"warm").await;
        let (mut r, mut w) = stream.into_split();
        let writes = 20;
        let started = Instant::now();
        let writer = tokio::spawn(async move {
            for i in 0..writes {
                w.write_all(&[i as u8; 8]).await.unwrap();
                // Apart enough to be read as separate chunks.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            w
        });
        let mut back = vec![0; writes * 8];
        r.read_exact(&mut back).await.unwrap();
        let took = started.elapsed();
        let _w = writer.await.unwrap();
        for (i, message) in back.chunks(8).enumerate() {
            assert_eq!(message, [i as u8; 8]);
        }
        // The writes span ~100 ms; one delay per write would be 2 s.
        assert!(took >= rtt, "{took:?}");
        assert!(took < Duration::from_millis(100) + rtt + Duration::from_millis(300), "{took:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_proxy_stops_listening() {
        let proxy = LatencyProxy::start(&echo_server().await.to_string(), Duration::ZERO).await.unwrap();
        let addr = proxy.addr();
        drop(proxy);
        // The shutdown does not wait: give the listener a moment to close.
        for _ in 0..100 {
            if TcpStream::connect(addr).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{addr} still accepts connections");
    }

    #[tokio::test]
    async fn an_unusable_upstream_is_an_error() {
        assert!(matches!(LatencyProxy::start("no port here", Duration::ZERO).await, Err(BenchError::Proxy { .. })));
    }
}
