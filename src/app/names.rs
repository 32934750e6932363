//! Names people give things (organisations, people, volunteers): trimmed, and
//! 1 to 200 characters (characters, not bytes: Chinese names are three bytes
//! a character).

use crate::domain::Line;
use crate::error::AppError;

pub const MAX_NAME_CHARS: usize = 200;

/// Text made here (from parts already checked) as a `Line`, checked again.
pub fn line(field: &str, text: impl Into<String>) -> Result<Line, AppError> {
    Line::parse(text).map_err(|rule| AppError::invalid_field(field, rule))
}

/// The trimmed name, or `validation_failed` on `field`.
pub fn valid_name(field: &str, raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::invalid_field(
            field,
            format!("1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(name.to_string())
}
