//! Bodies held in memfd mappings, and the registry that finds the memfd
//! behind any pointer into one of them (hyper hands the socket wrapper only
//! `IoSlice`s: a range request's body is a sub-slice of the mapping).

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, RwLock};

use bytes::Bytes;
use rustix::fs::{MemfdFlags, ftruncate, memfd_create};
use rustix::mm::{MapFlags, MprotectFlags, ProtFlags, mmap, mprotect, munmap};

use super::MIN_BYTES;

/// Start address → (end address, the memfd). One entry per live mapping.
static REGIONS: RwLock<BTreeMap<usize, (usize, OwnedFdRef)>> = RwLock::new(BTreeMap::new());

/// Live mappings, each holding one fd.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Mappings allowed at once: half the process's fd limit (read once), so the
/// cache can never take the descriptors that connections and origins need.
static BUDGET: LazyLock<usize> = LazyLock::new(|| {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    limit.map_or(usize::MAX / 2, |n| n as usize) / 2
});

/// The raw fd of a mapping's memfd: the `Mapping` owns it; the registry
/// entry is removed before the fd is closed.
#[derive(Clone, Copy)]
struct OwnedFdRef(i32);

/// A read-only shared mapping of a memfd holding one body.
struct Mapping {
    ptr: *mut std::ffi::c_void,
    len: usize,
    fd: OwnedFd,
}

// SAFETY: the mapping is read-only after construction and unmapped only in
// `drop`; the pointer is never written through after `share` returns.
unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}

impl AsRef<[u8]> for Mapping {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes for the life of `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if let Ok(mut regions) = REGIONS.write() {
            regions.remove(&(self.ptr as usize));
        }
        // SAFETY: `ptr`/`len` are the mapping made in `map`; no `Bytes`
        // over it is left (this is its owner's drop).
        let _ = unsafe { munmap(self.ptr, self.len) };
        LIVE.fetch_sub(1, Ordering::Relaxed);
        // `fd` closes after this; the kernel keeps pages still queued on
        // sockets alive by their own references.
    }
}

/// Moves a large body into a memfd mapping so hits can `sendfile` it; small
/// bodies, bodies already mapped, and any failure (fd limit, memory) keep
/// the heap copy: the only cost of a failure is the copy we wanted to skip.
/// So does a full fd budget.
pub fn share(body: Bytes) -> Bytes {
    if body.len() < MIN_BYTES || lookup(&body).is_some() {
        return body;
    }
    if !admit(&LIVE, *BUDGET) {
        return body;
    }
    match map(&body) {
        Ok(m) => {
            let start = m.ptr as usize;
            let entry = (start + m.len, OwnedFdRef(m.fd.as_raw_fd()));
            match REGIONS.write() {
                Ok(mut regions) => {
                    regions.insert(start, entry);
                }
                Err(_) => return body, // `m` drops: unmapped, counted out
            }
            Bytes::from_owner(m)
        }
        Err(e) => {
            LIVE.fetch_sub(1, Ordering::Relaxed);
            tracing::debug!(error = %e, len = body.len(), "body kept on the heap (no memfd mapping)");
            body
        }
    }
}

/// Counts one more mapping in, unless `budget` are live already.
fn admit(live: &AtomicUsize, budget: usize) -> bool {
    if live.fetch_add(1, Ordering::Relaxed) >= budget {
        live.fetch_sub(1, Ordering::Relaxed);
        return false;
    }
    true
}

fn map(body: &[u8]) -> rustix::io::Result<Mapping> {
    let fd = memfd_create("cachefront-body", MemfdFlags::CLOEXEC)?;
    ftruncate(&fd, body.len() as u64)?;
    // SAFETY: a fresh shared mapping of a memfd we just sized; nothing else
    // refers to it until `Bytes::from_owner`.
    let ptr = unsafe {
        mmap(
            std::ptr::null_mut(),
            body.len(),
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::SHARED,
            &fd,
            0,
        )?
    };
    let mapping = Mapping {
        ptr,
        len: body.len(),
        fd,
    };
    // SAFETY: the mapping is `len` writable bytes, not yet shared.
    unsafe { std::slice::from_raw_parts_mut(ptr.cast::<u8>(), body.len()) }.copy_from_slice(body);
    // SAFETY: same mapping; from here on it is only read.
    unsafe { mprotect(ptr, body.len(), MprotectFlags::READ)? };
    Ok(mapping)
}

/// The memfd and offset behind `bytes`, if they lie within one mapping.
pub fn lookup(bytes: &[u8]) -> Option<(BorrowedFd<'static>, u64)> {
    let start = bytes.as_ptr() as usize;
    let regions = REGIONS.read().ok()?;
    let (&base, &(end, fd)) = regions.range(..=start).next_back()?;
    if start + bytes.len() > end {
        return None;
    }
    // SAFETY: the fd stays open while its mapping lives, and the caller
    // holds a `Bytes` over that mapping (it is writing from it) for as long
    // as it uses the fd.
    let fd = unsafe { BorrowedFd::borrow_raw(fd.0) };
    Some((fd, (start - base) as u64))
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use super::*;

    #[test]
    fn large_bodies_are_mapped_and_found_at_any_offset() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let shared = share(Bytes::from(data.clone()));
        assert_eq!(&shared[..], &data[..]);
        let (_, off) = lookup(&shared).expect("mapped");
        assert_eq!(off, 0);
        let part = shared.slice(1000..5000);
        assert_eq!(lookup(&part).map(|(_, o)| o), Some(1000));
        assert!(share(shared.clone()).as_ptr() == shared.as_ptr(), "not mapped twice");
        let small = share(Bytes::from(vec![7u8; 100]));
        assert!(lookup(&small).is_none());
    }

    #[test]
    fn mappings_stop_at_the_fd_budget() {
        let live = AtomicUsize::new(0);
        assert!(admit(&live, 2) && admit(&live, 2));
        assert!(!admit(&live, 2), "a third mapping would pass the budget");
        assert_eq!(live.load(Ordering::Relaxed), 2);
        assert!(*BUDGET > 0);
    }

    #[test]
    fn the_fd_reads_back_the_body() {
        let data = vec![42u8; MIN_BYTES + 3];
        let shared = share(Bytes::from(data));
        let (fd, off) = lookup(&shared[10..]).unwrap();
        let mut buf = vec![0u8; 16];
        let n = rustix::io::pread(fd.as_fd(), &mut buf, off).unwrap();
        assert_eq!(&buf[..n], &[42u8; 16][..n]);
    }
}
