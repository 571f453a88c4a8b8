//! The in-memory cache: keys, stored objects, the moka store with request
//! coalescing, and the freshness rules that decide how long objects live.

mod coalesce;
pub mod directives;
pub mod freshness;
pub mod key;
pub mod object;
pub mod purge;
pub mod store;
pub mod vary;

pub use coalesce::{FillResult, Filling};
pub use key::CacheKey;
pub use object::CachedObject;
pub use store::{Entry, Store};
