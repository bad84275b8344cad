//! Integration tests on real city data (one binary, since each test binary links Bevy).

mod access;
mod bench;
mod briefing;
mod cityjson;
mod cli;
mod common;
mod control_room;
mod default_city;
mod gpkg;
mod i18n;
mod ingest_mqtt;
mod layout;
mod panels;
mod picking;
mod postgis;
mod real_data;
mod render;
mod scenario;
mod shadows;
mod wall;
