//! Integration tests on real city data (one binary, since each test binary links Bevy).

mod access;
mod bench;
mod briefing;
mod cityjson;
mod cli;
mod common;
mod default_city;
mod gpkg;
mod layout;
mod panels;
mod picking;
mod real_data;
mod render;
mod scenario;
mod shadows;
mod wall;
