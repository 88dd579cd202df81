//! Work spread over the cores with scoped threads, results in input order (so output bytes
//! never depend on scheduling). Used by the front-ends and back-ends alike.

use std::sync::atomic::{AtomicUsize, Ordering};

/// `items.iter().map(f)` on every core, in order: root jobnets, split parts, parts of a
/// large spec file and output files are independent, and the targets are set for a
/// 2-core machine.
///
/// Threads take the next batch of items as they finish the last one, so items of unequal
/// cost (one large jobnet among small ones, a large report among small files) do not
/// leave a core idle as fixed halves did.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    par_map_on(cores(), items, f)
}

/// [`par_map`] on `threads` threads (tests use more than the machine has).
fn par_map_on<T: Sync, R: Send>(threads: usize, items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads.min(items.len());
    if threads < 2 {
        return items.iter().map(f).collect();
    }
    // Several batches per thread balance the load; batches rather than single items keep
    // the shared counter quiet on long lists of small items.
    let batch = (items.len() / (threads * 8)).max(1);
    let next = AtomicUsize::new(0);
    let take = || {
        let mut done = Vec::new();
        loop {
            let start = next.fetch_add(batch, Ordering::Relaxed);
            if start >= items.len() {
                break;
            }
            let end = (start + batch).min(items.len());
            done.extend(
                items[start..end]
                    .iter()
                    .enumerate()
                    .map(|(i, item)| (start + i, f(item))),
            );
        }
        done
    };
    let parts: Vec<Vec<(usize, R)>> = std::thread::scope(|s| {
        let others: Vec<_> = (1..threads).map(|_| s.spawn(take)).collect();
        let mut parts = vec![take()];
        parts.extend(
            others
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))),
        );
        parts
    });
    let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    for (i, r) in parts.into_iter().flatten() {
        slots[i] = Some(r);
    }
    slots.into_iter().flatten().collect()
}

/// Cores to spread work over. Asked once: the standard library reads the cgroup quota
/// files on every call, which cost more than emitting a small jobnet.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_input_order() {
        let items: Vec<u32> = (0..1000).collect();
        assert_eq!(
            par_map(&items, |x| x * 2),
            items.iter().map(|x| x * 2).collect::<Vec<_>>()
        );
        assert!(par_map(&[] as &[u32], |x| *x).is_empty());
    }

    #[test]
    fn items_of_unequal_cost_come_back_in_order() {
        // The first items are slow, so the other threads take most of the rest.
        let items: Vec<u64> = (0..200).collect();
        for threads in [1, 2, 3, 8] {
            let taken = std::sync::Mutex::new(std::collections::HashSet::new());
            let out = par_map_on(threads, &items, |&x| {
                if x < 4 {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                taken.lock().unwrap().insert(std::thread::current().id());
                x * 3
            });
            assert_eq!(out, items.iter().map(|x| x * 3).collect::<Vec<_>>());
            // The slow first batch holds one thread: another must have taken the rest.
            let used = taken.into_inner().unwrap().len();
            assert!(
                used >= threads.min(2) && used <= threads,
                "{used} of {threads}"
            );
        }
        assert_eq!(par_map(&[7u8], |x| *x), vec![7]);
    }
}
