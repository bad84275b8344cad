//! The user's settings kept between runs (today: the language), in
//! `$XDG_CONFIG_HOME/citytwin/settings.ron` (`~/.config/citytwin/settings.ron`), or the
//! file `CITYTWIN_SETTINGS` names.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::twin::i18n::Lang;

/// The variable naming a settings file other than the default.
pub const SETTINGS_ENV: &str = "CITYTWIN_SETTINGS";
/// The settings file under the configuration folder.
const SETTINGS_FILE: &str = "citytwin/settings.ron";

/// The user's settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSettings {
    /// The language chosen in the app's language menu.
    #[serde(default)]
    pub lang: Option<Lang>,
}

/// Errors reading or writing the settings.
#[derive(Debug, Error)]
pub enum SettingsError {
    /// The file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The settings file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The file is not valid settings.
    #[error("{path}: not valid settings: {message}")]
    Parse {
        /// The settings file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// Where the settings live; `None` when no configuration folder is known.
pub fn settings_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(SETTINGS_ENV) {
        return Some(PathBuf::from(p));
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join(SETTINGS_FILE))
}

impl UserSettings {
    /// Reads the settings at `path`; defaults when there is no file.
    pub fn load(path: &Path) -> Result<UserSettings, SettingsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(UserSettings::default()),
            Err(e) => {
                return Err(SettingsError::Io {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                });
            }
        };
        ron::from_str(&text).map_err(|e| SettingsError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Writes the settings to `path`, creating its folder.
    pub fn save(&self, path: &Path) -> Result<(), SettingsError> {
        let io = |e: std::io::Error| SettingsError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let text = ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default()).map_err(|e| {
            SettingsError::Io {
                path: path.to_path_buf(),
                message: e.to_string(),
            }
        })?;
        std::fs::write(path, text).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_bad_files_are_errors() {
        let dir = std::env::temp_dir().join(format!("citytwin-settings-{}", std::process::id()));
        let path = dir.join("sub/settings.ron");
        assert_eq!(UserSettings::load(&path).unwrap(), UserSettings::default());
        let s = UserSettings {
            lang: Some(Lang::ZhCn),
        };
        s.save(&path).unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().contains("\"zh-CN\""));
        assert_eq!(UserSettings::load(&path).unwrap(), s);
        std::fs::write(&path, "(lang: Some(\"tlh\"))").unwrap();
        let e = UserSettings::load(&path).unwrap_err().to_string();
        assert!(e.contains("settings.ron") && e.contains("tlh"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
