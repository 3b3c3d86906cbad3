//! conversations tests
