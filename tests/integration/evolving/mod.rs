//! Evolving session data: versioned types migrated across deploys, and conditional updates
//! that lose nothing to concurrent requests.

mod binary;
mod interleavings;
mod updates;
mod versions;
