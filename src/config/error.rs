//! Config errors that name the key, line and column of each mistake.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted key, e.g. `routes[1].origin`; empty for file-level errors.
    pub key: String,
    pub message: String,
    /// 1-based line and column, when the mistake has a place in the file.
    pub position: Option<(usize, usize)>,
}

impl ConfigError {
    pub fn plain(message: String) -> ConfigError {
        ConfigError {
            key: String::new(),
            message,
            position: None,
        }
    }

    pub fn at(key: impl Into<String>, message: impl Into<String>, span: Range<usize>, text: &str) -> Self {
        ConfigError {
            key: key.into(),
            message: message.into(),
            position: Some(line_col(text, span.start)),
        }
    }

    pub fn from_toml(err: &toml::de::Error, text: &str) -> ConfigError {
        ConfigError {
            key: String::new(),
            // toml's message is multi-line with a source excerpt; keep its
            // first line of prose, the position is reported separately.
            message: err.message().trim().to_string(),
            position: err.span().map(|s| line_col(text, s.start)),
        }
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((line, col)) = self.position {
            write!(f, "line {line}, column {col}: ")?;
        }
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// Every error found in one config file.
#[derive(Debug, Clone)]
pub struct ConfigErrors {
    pub file: Option<PathBuf>,
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    pub fn single(error: ConfigError) -> Self {
        ConfigErrors {
            file: None,
            errors: vec![error],
        }
    }

    pub fn with_file(mut self, path: &Path) -> Self {
        self.file = Some(path.to_path_buf());
        self
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if let Some(file) = &self.file {
                write!(f, "{}: ", file.display())?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
