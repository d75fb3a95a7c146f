//! Integration tests of passerelle-identity (one binary; modules by topic).

mod authority;
mod credential_service;
mod matrix;
mod presentation_cache;
mod rotation;
mod schemas;
mod support;
