//! Cross-crate tests: the real `passerelle` binary in temporary folders, on loopback ports.

mod audit;
mod bad_input;
mod catalog;
mod cli;
mod conformance;
mod console;
mod console_browser;
mod crash;
mod dcp;
mod federation;
mod feed;
mod identity;
mod negotiation;
mod negotiation_restart;
mod negotiation_support;
mod orders;
mod orders_delivery;
mod restart;
mod services;
mod support;
mod tamis;
mod tls;
mod webhooks;
