//! The fsync ceiling: how many small appends per second one file can make
//! durable on this disk, which bounds what one commit per event could
//! reach.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// Appends 128 bytes and `fdatasync`s, again and again, for `duration`, in
/// a file under `dir`: syncs per second.
pub fn ceiling(dir: &Path, duration: Duration) -> std::io::Result<f64> {
    let path = dir.join("fsync-ceiling.bin");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    let record = [0x5au8; 128];
    let started = Instant::now();
    let mut syncs = 0u64;
    while started.elapsed() < duration {
        file.write_all(&record)?;
        file.sync_data()?;
        syncs += 1;
    }
    let rate = syncs as f64 / started.elapsed().as_secs_f64();
    std::fs::remove_file(&path)?;
    Ok(rate)
}
