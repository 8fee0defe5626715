//! Repository rules, run as tests.
