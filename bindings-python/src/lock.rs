//! The lock around each machine.
//!
//! Python objects may be shared between threads, and long engine work (large merges,
//! snapshots) runs without the GIL, so each machine sits in a `RwLock`. The rules that keep
//! it free of deadlocks:
//!
//! - a thread holding the GIL only *tries* the lock; when it is taken (by a thread working
//!   without the GIL), it waits for it with the GIL released, then tries again;
//! - while the lock is held no Python code runs and no Python object is created: arguments
//!   are converted before, results after.

use pyo3::prelude::*;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};

/// Engine calls with at least this many items run with the GIL released.
pub(crate) const DETACH_AT: usize = 4096;

/// A machine behind a GIL-aware lock.
pub(crate) struct Locked<T>(RwLock<T>);

impl<T: Send + Sync> Locked<T> {
    pub(crate) fn new(value: T) -> Self {
        Locked(RwLock::new(value))
    }

    /// Exclusive access, for inputs.
    #[inline]
    pub(crate) fn write(&self, py: Python<'_>) -> RwLockWriteGuard<'_, T> {
        loop {
            match self.0.try_write() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(TryLockError::WouldBlock) => py.detach(|| drop(self.0.write())),
            }
        }
    }

    /// Shared access, for views.
    #[inline]
    pub(crate) fn read(&self, py: Python<'_>) -> RwLockReadGuard<'_, T> {
        loop {
            match self.0.try_read() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(TryLockError::WouldBlock) => py.detach(|| drop(self.0.read())),
            }
        }
    }

    /// Runs `f` with exclusive access and the GIL released (long engine work).
    pub(crate) fn write_detached<R: Send>(&self, py: Python<'_>, f: impl FnOnce(&mut T) -> R + Send) -> R {
        py.detach(|| f(&mut self.0.write().unwrap_or_else(PoisonError::into_inner)))
    }

    /// Runs `f` with shared access and the GIL released (long engine work).
    pub(crate) fn read_detached<R: Send>(&self, py: Python<'_>, f: impl FnOnce(&T) -> R + Send) -> R {
        py.detach(|| f(&self.0.read().unwrap_or_else(PoisonError::into_inner)))
    }

    /// Runs `f` with exclusive access, releasing the GIL when `items >= DETACH_AT`.
    pub(crate) fn write_sized<R: Send>(&self, py: Python<'_>, items: usize, f: impl FnOnce(&mut T) -> R + Send) -> R {
        if items >= DETACH_AT {
            self.write_detached(py, f)
        } else {
            f(&mut self.write(py))
        }
    }
}
