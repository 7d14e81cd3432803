//! Group commit for the writers behind a server: the receiver's SQLite
//! inbox and the hub's store each have one task that takes the writes
//! queued for it and commits them together.

use tokio::sync::mpsc;

/// How many times [`gather`] lets the runtime's other tasks run.
const YIELDS: usize = 4;

/// Tops up `batch` (taken from `queue`, at most `max`) before its commit
/// when it came with company: more than one write queued at once means
/// others are on their way (requests being read or verified right now),
/// and each would pay a commit, and an fsync, of its own a moment later.
/// Yielding to the runtime a few times lets them reach the queue first. A
/// lone write is left alone, so it is committed at once.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (send, mut queue) = tokio::sync::mpsc::channel(16);
/// send.send(1).await.unwrap();
/// send.send(2).await.unwrap();
/// // Another task is about to write.
/// let later = send.clone();
/// tokio::spawn(async move { later.send(3).await.unwrap() });
/// let mut batch = Vec::new();
/// queue.recv_many(&mut batch, 16).await;
/// gladly_webhook_server::batch::gather(&mut queue, &mut batch, 16).await;
/// assert_eq!(batch, [1, 2, 3]);
/// # }
/// ```
pub async fn gather<T>(queue: &mut mpsc::Receiver<T>, batch: &mut Vec<T>, max: usize) {
    if batch.len() < 2 {
        return;
    }
    for _ in 0..YIELDS {
        tokio::task::yield_now().await;
        while batch.len() < max {
            match queue.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        if batch.len() >= max {
            return;
        }
    }
}
