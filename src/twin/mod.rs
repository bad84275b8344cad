//! The pure half of citytwin: GIS readers and writers, CRS, heights, the city model and
//! scene files. Nothing below this module imports Bevy.

pub mod access;
pub mod briefing;
pub mod city;
pub mod crs;
pub mod error;
pub mod extrude;
pub mod feeds;
pub mod fixtures;
pub mod flight;
pub mod gis;
pub mod ground;
pub mod heights;
pub mod i18n;
pub mod import;
pub mod indicators;
pub mod inspect;
pub mod load;
pub mod overlay;
pub mod perf;
pub mod picking;
pub mod progress;
pub mod projgrid;
pub mod scenario;
pub mod scene;
pub mod solid;
pub mod synth;
#[cfg(test)]
pub(crate) mod testdata;
pub mod timeline;
pub mod wall;
