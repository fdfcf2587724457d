//! Index structures and scoring.
