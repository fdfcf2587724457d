//! Vector on stashd (Upstash Vector's API): indexes of dense, sparse and hybrid vectors with
//! metadata, queried by similarity with metadata filters. Work in progress: the filter language
//! and the index structures land first; the HTTP face and the store come with issue 15.

pub mod embed;
pub mod filter;
pub mod index;
