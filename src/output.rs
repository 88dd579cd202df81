//! Writing generated files into an output directory.
//!
//! Files are staged while the compile runs (a large compile writes each jobnet's state
//! machines as soon as they are built and drops them from memory) and moved into place only
//! once the whole compile has succeeded: a compile that fails halfway leaves the previous
//! output as it was. Files whose content is unchanged are not rewritten, so their timestamps
//! stay and build tools downstream stay quiet; generated files no compile produces any more
//! are removed.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Directory (inside the output directory) where files wait for the compile to succeed.
const STAGING: &str = ".jobnet2sfn-staging";

/// Lock file (inside the output directory) held while a compile writes into it.
const LOCK: &str = ".jobnet2sfn-lock";

/// Generated sub-directories and the file suffix of what the compiler owns in them.
const GENERATED: [(&str, &str); 3] = [
    ("statemachines", ".asl.json"),
    ("calendars", ".json"),
    ("stacks", ".yaml"),
];

/// An output directory being written. Nothing touches the file system before the first
/// file is staged, so a compile that fails validation leaves no trace.
#[derive(Debug)]
pub struct Output {
    dir: PathBuf,
    staging: PathBuf,
    /// Whether `dir` existed before (an aborted compile removes a directory it created).
    existed: bool,
    /// Whether the staging directory was prepared (a stale one from an interrupted run is
    /// cleared first).
    prepared: Mutex<bool>,
    /// Every file of this compile (relative paths), staged or already up to date.
    produced: Mutex<BTreeSet<String>>,
    /// Files waiting in the staging directory.
    staged: Mutex<BTreeSet<String>>,
    /// The locked [`LOCK`] file, from the first file staged to commit or abort: a second
    /// compile into the same directory would clear this one's staged files.
    locked: Mutex<Option<std::fs::File>>,
    /// Set when the file system cannot lock files (some network file systems): the compile
    /// goes on without the guard and the caller warns.
    unguarded: std::sync::atomic::AtomicBool,
}

impl Output {
    /// An output directory at `dir` (created when the first file is staged).
    pub fn create(dir: &Path) -> Output {
        Output {
            dir: dir.to_path_buf(),
            staging: dir.join(STAGING),
            existed: dir.exists(),
            prepared: Mutex::new(false),
            produced: Mutex::new(BTreeSet::new()),
            staged: Mutex::new(BTreeSet::new()),
            locked: Mutex::new(None),
            unguarded: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether the output directory's file system refused to lock [`LOCK`], so that a
    /// concurrent compile into it was not guarded against.
    pub fn unguarded(&self) -> bool {
        self.unguarded.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn prepare(&self) -> io::Result<()> {
        let mut prepared = lock(&self.prepared);
        if !*prepared {
            std::fs::create_dir_all(&self.dir)?;
            *lock(&self.locked) = Some(self.take_lock()?);
            if self.staging.exists() {
                std::fs::remove_dir_all(&self.staging)?;
            }
            *prepared = true;
        }
        Ok(())
    }

    /// Opens and locks [`LOCK`]. The holder deletes the file before it lets go, so a lock
    /// taken on a file that was deleted meanwhile guards nothing: then it tries again.
    fn take_lock(&self) -> io::Result<std::fs::File> {
        let path = self.dir.join(LOCK);
        loop {
            let file = open_lock(&path)?;
            match file.try_lock() {
                Ok(()) if same_file(&file, &path) => return Ok(file),
                Ok(()) => continue,
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(io::Error::new(
                        io::ErrorKind::ResourceBusy,
                        format!(
                            "another jobnet2sfn compile is writing into `{}`; wait for it or use another -o directory",
                            self.dir.display()
                        ),
                    ))
                }
                // A file system without locks should not stop the compile: an output
                // directory is nearly always written by one compile at a time.
                Err(std::fs::TryLockError::Error(e)) if locks_unsupported(&e) => {
                    self.unguarded
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    return Ok(file);
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(e),
            }
        }
    }

    /// Stages one file (`rel` uses `/` separators), replacing what was staged under that
    /// name before. Safe to call from several threads for different files.
    pub fn put(&self, rel: &str, content: &str) -> io::Result<()> {
        check_relative(rel)?;
        self.prepare()?;
        lock(&self.produced).insert(rel.to_string());
        if same_content(&self.dir.join(rel), content.as_bytes()) {
            return self.unstage(rel);
        }
        let path = self.staging.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, content)?;
        lock(&self.staged).insert(rel.to_string());
        Ok(())
    }

    /// Stages every file (relative path → content) on every core; the first error.
    pub fn put_all<'a>(
        &self,
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> io::Result<()> {
        let files: Vec<(&str, &str)> = files.into_iter().collect();
        crate::par::par_map(&files, |(rel, content)| self.put(rel, content))
            .into_iter()
            .collect()
    }

    /// Takes back a file put earlier (a split that was redone did not produce it again).
    pub fn discard(&self, rel: &str) -> io::Result<()> {
        lock(&self.produced).remove(rel);
        self.unstage(rel)
    }

    fn unstage(&self, rel: &str) -> io::Result<()> {
        if lock(&self.staged).remove(rel) {
            std::fs::remove_file(self.staging.join(rel))?;
        }
        Ok(())
    }

    /// Moves the staged files into place, then removes generated files this compile did
    /// not produce.
    pub fn commit(self) -> io::Result<()> {
        self.prepare()?;
        let staged = std::mem::take(&mut *lock(&self.staged));
        for rel in &staged {
            let target = self.dir.join(rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::rename(self.staging.join(rel), target)?;
        }
        let produced = std::mem::take(&mut *lock(&self.produced));
        for (sub, ext) in GENERATED {
            let generated = self.dir.join(sub);
            if !generated.is_dir() {
                continue;
            }
            for entry in std::fs::read_dir(&generated)? {
                let path = entry?.path();
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name.ends_with(ext) && !produced.contains(&format!("{sub}/{name}")) {
                    std::fs::remove_file(&path)?;
                }
            }
        }
        if self.staging.exists() {
            std::fs::remove_dir_all(&self.staging)?;
        }
        self.unlock();
        Ok(())
    }

    /// Removes the lock file, then lets go of the lock.
    fn unlock(&self) {
        if let Some(file) = lock(&self.locked).take() {
            let _ = std::fs::remove_file(self.dir.join(LOCK));
            drop(file);
        }
    }

    /// Drops everything staged; the directory keeps its previous content (one this
    /// compile created is removed again).
    pub fn abort(self) {
        // Only the holder of the lock owns the staging directory: a compile refused by the
        // lock must not clear the files of the one that holds it.
        if lock(&self.locked).is_none() {
            return;
        }
        let _ = std::fs::remove_dir_all(&self.staging);
        self.unlock();
        if !self.existed {
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}

/// Opens (creating it if need be) the lock file at `path`, without truncating it.
fn open_lock(path: &Path) -> io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

/// Whether a failed lock means the file system cannot lock at all (rather than a real
/// error): `ENOLCK` from NFS without a lock manager, `EOPNOTSUPP`, or `ENOSYS` (which std
/// reports as `Unsupported`).
fn locks_unsupported(e: &io::Error) -> bool {
    #[cfg(target_os = "linux")]
    const NO_LOCKS: &[i32] = &[37, 95];
    #[cfg(target_os = "macos")]
    const NO_LOCKS: &[i32] = &[77, 45, 102];
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    const NO_LOCKS: &[i32] = &[];
    e.kind() == io::ErrorKind::Unsupported
        || e.raw_os_error().is_some_and(|c| NO_LOCKS.contains(&c))
}

/// Whether the open `file` is still the one at `path` (not deleted or replaced).
#[cfg(unix)]
fn same_file(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Windows does not delete a file another process holds open, so the file cannot change.
#[cfg(not(unix))]
fn same_file(_: &std::fs::File, path: &Path) -> bool {
    path.exists()
}

/// Locks a mutex; a thread that panicked while holding it cannot leave these sets invalid.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Generated names are derived from sanitised unit names; refuse anything that could
/// leave the output directory all the same.
fn check_relative(rel: &str) -> io::Result<()> {
    let bad = rel.is_empty()
        || rel.starts_with('/')
        || rel.contains('\\')
        || rel
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing to write `{rel}` outside the output directory"),
        ));
    }
    Ok(())
}

/// Whether the file at `path` holds exactly `content`: the size first, then the bytes in
/// chunks. Reading every old file whole into a fresh buffer (a recompile into the same
/// directory reads back all it writes, hundreds of megabytes for a large net) made most of
/// the comparison's cost page faults.
fn same_content(path: &Path, content: &[u8]) -> bool {
    use std::io::Read as _;
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    if !file
        .metadata()
        .is_ok_and(|m| m.len() == content.len() as u64)
    {
        return false;
    }
    let mut chunk = [0u8; 64 * 1024];
    let mut rest = content;
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return rest.is_empty(),
            Ok(n) if n <= rest.len() && chunk[..n] == rest[..n] => rest = &rest[n..],
            Ok(_) => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_content_compares_size_then_every_chunk() {
        let dir = Scratch::new("same");
        let file = dir.path().join("f");
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&file, &big).expect("write");
        assert!(same_content(&file, &big));
        let mut other = big.clone();
        other[150_000] ^= 1;
        assert!(
            !same_content(&file, &other),
            "a byte in the third chunk differs"
        );
        assert!(!same_content(&file, &big[..big.len() - 1]), "shorter");
        assert!(!same_content(&dir.path().join("missing"), b""));
        std::fs::write(&file, b"").expect("write");
        assert!(same_content(&file, b""));
    }

    /// A fresh scratch directory, removed when dropped.
    struct Scratch(PathBuf);
    impl Scratch {
        fn new(name: &str) -> Scratch {
            let d = std::env::temp_dir().join(format!("j2s-out-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).expect("mkdir");
            Scratch(d)
        }
        fn path(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).expect("read")
    }

    #[test]
    fn files_appear_only_on_commit_and_unchanged_ones_are_not_rewritten() {
        let dir = Scratch::new("commit");
        let d = dir.path();
        std::fs::create_dir_all(d.join("statemachines")).expect("mkdir");
        std::fs::write(d.join("statemachines/same.asl.json"), "same").expect("write");
        std::fs::write(d.join("statemachines/gone.asl.json"), "old").expect("write");
        std::fs::write(d.join("statemachines/notes.txt"), "mine").expect("write");
        let before = std::fs::metadata(d.join("statemachines/same.asl.json"))
            .and_then(|m| m.modified())
            .expect("mtime");
        let out = Output::create(d);
        out.put("statemachines/same.asl.json", "same").expect("put");
        out.put("statemachines/new.asl.json", "new").expect("put");
        out.put("report.md", "report").expect("put");
        assert!(
            !d.join("statemachines/new.asl.json").exists(),
            "staged only"
        );
        assert!(d.join("statemachines/gone.asl.json").exists());
        out.commit().expect("commit");
        assert_eq!(read(&d.join("statemachines/new.asl.json")), "new");
        assert_eq!(read(&d.join("report.md")), "report");
        assert!(
            !d.join("statemachines/gone.asl.json").exists(),
            "stale removed"
        );
        assert_eq!(read(&d.join("statemachines/notes.txt")), "mine", "not ours");
        assert!(!d.join(STAGING).exists());
        let after = std::fs::metadata(d.join("statemachines/same.asl.json"))
            .and_then(|m| m.modified())
            .expect("mtime");
        assert_eq!(before, after, "an unchanged file keeps its timestamp");
    }

    #[test]
    fn an_aborted_output_leaves_the_directory_as_it_was() {
        let dir = Scratch::new("abort");
        let d = dir.path();
        std::fs::create_dir_all(d.join("statemachines")).expect("mkdir");
        std::fs::write(d.join("statemachines/a.asl.json"), "old").expect("write");
        let out = Output::create(d);
        out.put("statemachines/a.asl.json", "new").expect("put");
        out.put("statemachines/b.asl.json", "new").expect("put");
        out.abort();
        assert_eq!(read(&d.join("statemachines/a.asl.json")), "old");
        assert!(!d.join("statemachines/b.asl.json").exists());
        assert!(!d.join(STAGING).exists());
        // A directory the compile would have created is not left behind.
        let fresh = d.join("fresh");
        let out = Output::create(&fresh);
        assert!(!fresh.exists(), "nothing before the first file");
        out.put("report.md", "x").expect("put");
        out.abort();
        assert!(!fresh.exists());
    }

    #[test]
    fn a_lock_taken_on_a_deleted_lock_file_is_taken_again() {
        // A compile that opened the lock file just before its holder deleted it and let go
        // must not keep a lock nobody else can see.
        let dir = Scratch::new("relock");
        let path = dir.path().join(LOCK);
        let open = || open_lock(&path).expect("open");
        let stale = open();
        assert!(same_file(&stale, &path));
        std::fs::remove_file(&path).expect("rm");
        assert!(!same_file(&stale, &path), "deleted");
        let current = open();
        assert!(!same_file(&stale, &path), "replaced");
        assert!(same_file(&current, &path));
        drop(current);
        let out = Output::create(dir.path());
        let held = out.take_lock().expect("lock");
        assert!(same_file(&held, &path));
        assert!(matches!(
            open().try_lock(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
    }

    #[test]
    fn a_second_compile_into_the_same_directory_is_refused_until_the_first_ends() {
        let dir = Scratch::new("lock");
        let d = dir.path();
        let first = Output::create(d);
        first.put("report.md", "first").expect("put");
        let second = Output::create(d);
        let err = second.put("report.md", "second").expect_err("locked");
        assert_eq!(err.kind(), io::ErrorKind::ResourceBusy);
        assert!(
            err.to_string().contains("another jobnet2sfn compile"),
            "{err}"
        );
        assert!(
            d.join(STAGING).join("report.md").exists(),
            "the first one's file stays"
        );
        first.commit().expect("commit");
        assert!(!d.join(LOCK).exists(), "no lock file left behind");
        let third = Output::create(d);
        third
            .put("report.md", "third")
            .expect("put after the first ended");
        third.commit().expect("commit");
        assert_eq!(read(&d.join("report.md")), "third");
    }

    #[test]
    fn file_systems_without_locks_are_told_from_real_errors() {
        assert!(locks_unsupported(&io::Error::from(
            io::ErrorKind::Unsupported
        )));
        #[cfg(target_os = "linux")]
        {
            assert!(
                locks_unsupported(&io::Error::from_raw_os_error(37)),
                "ENOLCK"
            );
            assert!(
                locks_unsupported(&io::Error::from_raw_os_error(95)),
                "EOPNOTSUPP"
            );
            assert!(!locks_unsupported(&io::Error::from_raw_os_error(5)), "EIO");
            assert!(
                !locks_unsupported(&io::Error::from_raw_os_error(13)),
                "EACCES"
            );
        }
        assert!(!locks_unsupported(&io::Error::from(
            io::ErrorKind::PermissionDenied
        )));
    }

    #[test]
    fn paths_that_leave_the_directory_are_refused() {
        let dir = Scratch::new("refuse");
        let out = Output::create(dir.path());
        for bad in ["../x", "/etc/x", "a//b", "a/./b", "a\\b", ""] {
            assert!(out.put(bad, "x").is_err(), "{bad}");
        }
    }
}
