//! Processed delivery ids, kept on disk so a restart keeps refusing replays.
//!
//! The file [`DELIVERIES_FILE`] in the state directory holds one id per line, oldest first,
//! after a `#` comment line. It is rewritten whole on every new id: written to a temporary file
//! in the same directory, synced, renamed over the old one, and the directory synced; a crash
//! leaves either the old file or the new one, never a torn one. Only the most recent `capacity`
//! ids are kept (a replay older than that is let through to the handler, which must be
//! idempotent anyway). At 10,000 ids of GitHub's 36-character GUIDs the file is about 370 KB.

use std::collections::{HashSet, VecDeque};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::DEFAULT_MAX_DELIVERIES;

/// The file's name in the state directory.
pub const DELIVERIES_FILE: &str = "github-deliveries.txt";
/// Longest delivery id accepted (GitHub's are 36-character GUIDs).
pub const MAX_DELIVERY_ID_LEN: usize = 64;
const HEADER: &str = "# rustchain-node: processed GitHub webhook delivery ids, oldest first";

/// Whether `id` can be a delivery id: 1 to [`MAX_DELIVERY_ID_LEN`] ASCII letters, digits, `-`,
/// `_` or `.` (so it is one line of the file, and safe in a log line).
pub(crate) fn valid_delivery_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_DELIVERY_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Why the deliveries file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryStoreError {
    /// The state directory cannot be created.
    #[error("cannot create the webhook state directory {path}: {source}")]
    CreateDir {
        /// directory
        path: PathBuf,
        /// cause
        source: std::io::Error,
    },
    /// The file cannot be read.
    #[error("cannot read the webhook deliveries file {path}: {source}")]
    Read {
        /// file
        path: PathBuf,
        /// cause
        source: std::io::Error,
    },
    /// The file is larger than any this store writes.
    #[error("the webhook deliveries file {path} is larger than {max} bytes: it is damaged or not ours (move it away to start afresh)")]
    TooLarge {
        /// file
        path: PathBuf,
        /// the most bytes read
        max: u64,
    },
    /// A line is not a delivery id.
    #[error("the webhook deliveries file {path} is damaged at line {line} (move it away to start afresh)")]
    Corrupt {
        /// file
        path: PathBuf,
        /// 1-based line number
        line: usize,
    },
    /// The file cannot be written.
    #[error("cannot write the webhook deliveries file {path}: {source}")]
    Write {
        /// file
        path: PathBuf,
        /// cause
        source: std::io::Error,
    },
}

/// The most recent processed delivery ids, in memory and on disk.
#[derive(Debug)]
pub struct DeliveryStore {
    dir: PathBuf,
    path: PathBuf,
    capacity: usize,
    order: VecDeque<String>,
    seen: HashSet<String>,
}

impl DeliveryStore {
    /// Opens the store in `dir` (created if missing), keeping at most `capacity` ids.
    pub fn open(dir: &Path, capacity: usize) -> Result<Self, DeliveryStoreError> {
        std::fs::create_dir_all(dir).map_err(|source| DeliveryStoreError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(DELIVERIES_FILE);
        let mut store = DeliveryStore {
            dir: dir.to_path_buf(),
            path,
            capacity: capacity.max(1),
            order: VecDeque::new(),
            seen: HashSet::new(),
        };
        let ids = store.read()?;
        let skip = ids.len().saturating_sub(store.capacity);
        for id in ids.into_iter().skip(skip) {
            store.seen.insert(id.clone());
            store.order.push_back(id);
        }
        Ok(store)
    }

    /// The ids in the file, oldest first, without duplicates.
    fn read(&self) -> Result<Vec<String>, DeliveryStoreError> {
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(DeliveryStoreError::Read {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        // A file written with a larger capacity (up to the default) still opens.
        let lines = self.capacity.max(DEFAULT_MAX_DELIVERIES) as u64;
        let max = (HEADER.len() as u64 + 1) + lines * (MAX_DELIVERY_ID_LEN as u64 + 1);
        let mut bytes = Vec::new();
        file.take(max + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| DeliveryStoreError::Read {
                path: self.path.clone(),
                source,
            })?;
        if bytes.len() as u64 > max {
            return Err(DeliveryStoreError::TooLarge {
                path: self.path.clone(),
                max,
            });
        }
        let text = String::from_utf8(bytes).map_err(|_| DeliveryStoreError::Corrupt {
            path: self.path.clone(),
            line: 1,
        })?;
        let mut seen = HashSet::new();
        let mut ids = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if !valid_delivery_id(line) {
                return Err(DeliveryStoreError::Corrupt {
                    path: self.path.clone(),
                    line: i + 1,
                });
            }
            if seen.insert(line) {
                ids.push(line.to_string());
            }
        }
        Ok(ids)
    }

    /// Whether `id` was processed.
    pub fn contains(&self, id: &str) -> bool {
        self.seen.contains(id)
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records `id` as processed (dropping the oldest beyond the capacity) and rewrites the
    /// file. On a write error the id stays recorded in memory. Recording a known id does
    /// nothing.
    pub fn record(&mut self, id: &str) -> Result<(), DeliveryStoreError> {
        if self.seen.contains(id) {
            return Ok(());
        }
        self.seen.insert(id.to_string());
        self.order.push_back(id.to_string());
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        self.persist()
    }

    /// Temporary file, sync, rename, directory sync.
    fn persist(&self) -> Result<(), DeliveryStoreError> {
        let write_err = |source| DeliveryStoreError::Write {
            path: self.path.clone(),
            source,
        };
        let mut text =
            String::with_capacity(HEADER.len() + 1 + self.order.len() * (MAX_DELIVERY_ID_LEN + 1));
        text.push_str(HEADER);
        text.push('\n');
        for id in &self.order {
            text.push_str(id);
            text.push('\n');
        }
        let tmp = self.dir.join(format!("{DELIVERIES_FILE}.tmp"));
        let mut file = std::fs::File::create(&tmp).map_err(write_err)?;
        file.write_all(text.as_bytes()).map_err(write_err)?;
        file.sync_all().map_err(write_err)?;
        drop(file);
        std::fs::rename(&tmp, &self.path).map_err(write_err)?;
        #[cfg(unix)]
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(write_err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(store: &DeliveryStore) -> Vec<&str> {
        store.order.iter().map(String::as_str).collect()
    }

    #[test]
    fn delivery_ids() {
        for ok in ["72d3162e-cc78-11e3-81ab-4c9367dc0958", "a", "A.b_c-1"] {
            assert!(valid_delivery_id(ok), "{ok:?}");
        }
        let long = "a".repeat(MAX_DELIVERY_ID_LEN + 1);
        for bad in ["", "a b", "a\nb", "a/b", "#x", "é", long.as_str()] {
            assert!(!valid_delivery_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn persists_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("webhooks");
        let mut store = DeliveryStore::open(&state, 10).unwrap();
        assert!(store.is_empty());
        for id in ["d1", "d2", "d3"] {
            store.record(id).unwrap();
        }
        assert!(store.contains("d2"));
        assert!(!store.contains("d4"));
        drop(store);
        let store = DeliveryStore::open(&state, 10).unwrap();
        assert_eq!(ids(&store), ["d1", "d2", "d3"]);
        assert!(store.contains("d1") && store.contains("d3"));
        assert!(!store.contains("d4"));
    }

    #[test]
    fn bounded_to_the_most_recent() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = DeliveryStore::open(dir.path(), 3).unwrap();
        for i in 1..=5 {
            store.record(&format!("d{i}")).unwrap();
        }
        assert_eq!(store.len(), 3);
        assert_eq!(ids(&store), ["d3", "d4", "d5"]);
        assert!(!store.contains("d1") && !store.contains("d2"));
        // Recording a known id neither duplicates nor refreshes it.
        store.record("d3").unwrap();
        assert_eq!(ids(&store), ["d3", "d4", "d5"]);
        drop(store);
        let text = std::fs::read_to_string(dir.path().join(DELIVERIES_FILE)).unwrap();
        assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 3);
        // Reopening with a smaller capacity keeps the most recent.
        let store = DeliveryStore::open(dir.path(), 2).unwrap();
        assert_eq!(ids(&store), ["d4", "d5"]);
    }

    #[test]
    fn the_file_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = DeliveryStore::open(dir.path(), 10).unwrap();
        store.record("d1").unwrap();
        store.record("d2").unwrap();
        let path = dir.path().join(DELIVERIES_FILE);
        assert_eq!(store.path(), path);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{HEADER}\nd1\nd2\n")
        );
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, [DELIVERIES_FILE]);
        drop(store);
        // A crash after writing part of the temporary file: the real file is intact and the
        // half-written temporary is ignored, then overwritten by the next write.
        let tmp = dir.path().join(format!("{DELIVERIES_FILE}.tmp"));
        std::fs::write(&tmp, "# rustchain-node\nd1\nd2\nd3-tor").unwrap();
        let mut store = DeliveryStore::open(dir.path(), 10).unwrap();
        assert_eq!(ids(&store), ["d1", "d2"]);
        store.record("d3").unwrap();
        assert!(!tmp.exists());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{HEADER}\nd1\nd2\nd3\n")
        );
    }

    #[test]
    fn a_failed_write_is_reported_and_still_refuses_the_id_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("webhooks");
        let mut store = DeliveryStore::open(&state, 10).unwrap();
        store.record("d1").unwrap();
        // The directory vanishes and a file takes its place: nothing can be written there.
        std::fs::remove_dir_all(&state).unwrap();
        std::fs::write(&state, "not a directory").unwrap();
        let e = store.record("d2").unwrap_err();
        assert!(matches!(e, DeliveryStoreError::Write { .. }), "{e}");
        assert!(store.contains("d2"));
    }

    #[test]
    fn damaged_files_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DELIVERIES_FILE);
        std::fs::write(&path, format!("{HEADER}\nd1\nnot an id\n")).unwrap();
        let e = DeliveryStore::open(dir.path(), 10).unwrap_err();
        assert!(
            matches!(e, DeliveryStoreError::Corrupt { line: 3, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("line 3"), "{e}");
        std::fs::write(&path, b"\xff\xfe").unwrap();
        assert!(matches!(
            DeliveryStore::open(dir.path(), 10),
            Err(DeliveryStoreError::Corrupt { line: 1, .. })
        ));
        let huge = "a\n".repeat(DEFAULT_MAX_DELIVERIES * 40);
        std::fs::write(&path, huge).unwrap();
        assert!(matches!(
            DeliveryStore::open(dir.path(), 10),
            Err(DeliveryStoreError::TooLarge { .. })
        ));
        // A state "directory" that is a file.
        let file = dir.path().join("plain");
        std::fs::write(&file, "x").unwrap();
        assert!(matches!(
            DeliveryStore::open(&file, 10),
            Err(DeliveryStoreError::CreateDir { .. })
        ));
    }

    #[test]
    fn duplicate_lines_in_the_file_count_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(DELIVERIES_FILE),
            format!("{HEADER}\nd1\nd2\nd1\n\n"),
        )
        .unwrap();
        let store = DeliveryStore::open(dir.path(), 10).unwrap();
        assert_eq!(ids(&store), ["d1", "d2"]);
    }
}
