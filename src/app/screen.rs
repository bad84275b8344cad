//! How the window opens: maximised on the primary monitor (a desktop app), filling a chosen
//! monitor borderless (the wall, `--monitor N`), or at a given size (`--window WxH`, for
//! screenshots and tests).
//!
//! Maximising and borderless full screen are requests to the window manager; a wall PC
//! often runs none (a bare X server), and then nothing answers them. So as soon as the
//! monitors are known, [`ScreenPlugin`] also sizes the window to the monitor's current
//! mode and moves it to the monitor's origin itself: with a window manager the request wins
//! (a maximised window keeps the panel bar free), without one the window still fills the
//! screen.

use bevy::prelude::*;
use bevy::window::{Monitor, MonitorSelection, PrimaryMonitor, PrimaryWindow, WindowMode, WindowPosition};

/// How the window opens.
#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WindowSizing {
    /// Maximised on the primary monitor (the size of it where nothing maximises).
    #[default]
    Maximised,
    /// Borderless full screen on a monitor (0-based index; `None`: the primary one).
    Fill(Option<usize>),
    /// Exactly this size, in logical pixels.
    Fixed(u32, u32),
}

impl WindowSizing {
    /// The window to open with this sizing (its size until the monitors are known).
    pub fn window(self, title: String) -> Window {
        let mut window = Window { title, ..default() };
        match self {
            WindowSizing::Maximised => window.set_maximized(true),
            WindowSizing::Fill(monitor) => {
                let selection = monitor.map_or(MonitorSelection::Primary, MonitorSelection::Index);
                window.mode = WindowMode::BorderlessFullscreen(selection);
                window.decorations = false;
            }
            WindowSizing::Fixed(w, h) => {
                window.resolution = (w, h).into();
                window.position = WindowPosition::Centered(MonitorSelection::Primary);
            }
        }
        window
    }
}

/// Sizes the primary window to its monitor once the monitors are known (see the module).
pub struct ScreenPlugin(pub WindowSizing);

impl Plugin for ScreenPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(self.0).add_systems(Update, fit_to_monitor);
    }
}

/// The monitor a sizing is for: the `index`th in the order the monitors were found, or the
/// primary one.
fn chosen_monitor<'a>(monitors: &[(Entity, &'a Monitor, bool)], index: Option<usize>) -> Option<&'a Monitor> {
    match index {
        Some(i) => monitors.get(i).map(|m| m.1),
        None => monitors
            .iter()
            .find(|m| m.2)
            .or_else(|| monitors.first())
            .map(|m| m.1),
    }
}

/// Once: sizes and places the window on its monitor (maximised and filled windows only).
fn fit_to_monitor(
    sizing: Res<WindowSizing>,
    monitors: Query<(Entity, &Monitor, Has<PrimaryMonitor>)>,
    mut windows: Query<&mut Window, With<PrimaryWindow>>,
    mut done: Local<bool>,
) {
    if *done {
        return;
    }
    let index = match *sizing {
        WindowSizing::Fixed(..) => {
            *done = true;
            return;
        }
        WindowSizing::Maximised => None,
        WindowSizing::Fill(i) => i,
    };
    let mut found: Vec<(Entity, &Monitor, bool)> = monitors.iter().collect();
    if found.is_empty() {
        return;
    }
    found.sort_by_key(|m| m.0.index());
    let Ok(mut window) = windows.single_mut() else {
        return;
    };
    *done = true;
    let Some(monitor) = chosen_monitor(&found, index) else {
        warn!(
            "monitor {} asked for, {} found: the window keeps its size",
            index.unwrap_or(0),
            found.len()
        );
        return;
    };
    info!(
        "window: {}×{} at ({}, {}) on monitor {}",
        monitor.physical_width,
        monitor.physical_height,
        monitor.physical_position.x,
        monitor.physical_position.y,
        monitor.name.as_deref().unwrap_or("(unnamed)")
    );
    window.position = WindowPosition::At(monitor.physical_position);
    window
        .resolution
        .set_physical_resolution(monitor.physical_width, monitor.physical_height);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizings_open_the_window_they_say() {
        let fixed = WindowSizing::Fixed(1280, 720).window("t".into());
        assert_eq!(
            (fixed.resolution.width(), fixed.resolution.height()),
            (1280.0, 720.0)
        );
        assert_eq!(fixed.mode, WindowMode::Windowed);
        let fill = WindowSizing::Fill(Some(1)).window("t".into());
        assert_eq!(
            fill.mode,
            WindowMode::BorderlessFullscreen(MonitorSelection::Index(1))
        );
        assert!(!fill.decorations);
        let max = WindowSizing::Maximised.window("t".into());
        assert_eq!(max.mode, WindowMode::Windowed);
    }
}
