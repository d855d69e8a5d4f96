//! Container configuration: the typed [`Config`], its parser (both key
//! generations) and its writer.

mod types;

pub use types::*;
mod tmp_parse; // TEMPORARY, replaced by the real parser
pub use tmp_parse::parse_signal;
