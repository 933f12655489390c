//! Discovery in pages. A catalog of millions of objects need not fit in
//! the plugin's memory at once: emit each page as it is read, and return
//! what is left (or nothing) from `discover`.
//!
//! ```text
//! fn discover(config: &Config, kind: EntityKind) -> Result<Vec<EntityRef>> {
//!     let mut after = None;
//!     while let Some(page) = read_page(after.as_deref())? {   // say, 10,000 names a query
//!         after = page.last().map(|r| r.path.join("."));
//!         weir_sdk::discovery::emit(&page);
//!     }
//!     Ok(Vec::new())
//! }
//! ```

use crate::EntityRef;
#[cfg(target_arch = "wasm32")]
use crate::bindings::weir::connector::discovery as host;

/// Hands `refs` to the host as part of the `discover` call under way.
pub fn emit(refs: &[EntityRef]) {
    #[cfg(target_arch = "wasm32")]
    host::emit(refs);
    #[cfg(not(target_arch = "wasm32"))]
    crate::testing::emit(refs);
}
