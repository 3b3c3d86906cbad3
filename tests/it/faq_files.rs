//! faq_files tests
