//! The metadata filter language.
