//! The route × role × TLP table.
