//! matcher_quality tests
