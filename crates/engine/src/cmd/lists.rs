//! Placeholder: this family's commands are being written.

use crate::command::CommandSpec;

/// This family's rows.
pub static COMMANDS: &[CommandSpec] = &[];
