//! Integration tests of passerelle-identity (one binary; modules by topic).

mod authority;
mod credential_service;
mod matrix;
mod rotation;
mod schemas;
mod support;
