//! API keys: their format, how they are stored, who they belong to, and the one place
//! that decides what a key may do (`Principal::can`).

pub mod access;
mod key_rows;
pub mod keys;
pub mod lookup;
pub mod principal;
pub mod recent;
pub mod secret;
pub mod token;

pub use principal::{Action, KeyKind, Perms, Principal};
pub use secret::ServerSecret;
pub use token::ApiToken;
