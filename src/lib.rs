//! ContentGate: a self-hosted content API server that speaks Flotiq's API.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod admins;
pub mod analyze;
pub mod app;
pub mod audit;
pub mod auth;
pub mod change_watch;
pub mod cli;
pub mod config;
pub mod content;
pub mod db;
pub mod demo;
pub mod error;
pub mod examples;
pub mod graphql;
pub mod http;
pub mod listener;
pub mod media;
pub mod panel;
pub mod persisted;
pub mod qr;
pub mod quota;
pub mod rest;
pub mod revision_cache;
pub mod time;
pub mod transfer;
