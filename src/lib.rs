//! citytwin: a city digital twin for the desktop. `twin` is the pure core (GIS, CRS,
//! heights, city model, scenes) with no Bevy type in it; `app` is the thin Bevy layer.

#![warn(missing_docs)]

#[cfg(feature = "app")]
pub mod app;
pub mod twin;
