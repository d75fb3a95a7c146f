//! Cross-crate tests: the real `passerelle` binary in temporary folders, on loopback ports.

mod bad_input;
mod catalog;
mod cli;
mod restart;
mod support;
