//! How a command fails: its message and the tier that decides the exit code.

use std::fmt::Display;

/// The tiers of failure a user sees, each with its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A stage failed to build (exit 1).
    StageFailed,
    /// Bad werf.yaml, bad flag, missing file (exit 2).
    User,
    /// Docker, registry or coordinator unreachable (exit 3).
    Environment,
}

impl Kind {
    pub fn code(self) -> i32 {
        match self {
            Kind::StageFailed => 1,
            Kind::User => 2,
            Kind::Environment => 3,
        }
    }
}

/// A command's failure: what to print and how to exit.
#[derive(Debug)]
pub struct Failure {
    pub kind: Kind,
    pub message: String,
}

impl Failure {
    pub fn environment(message: impl Display) -> Failure {
        Failure {
            kind: Kind::Environment,
            message: message.to_string(),
        }
    }

    pub fn user(message: impl Display) -> Failure {
        Failure {
            kind: Kind::User,
            message: message.to_string(),
        }
    }
}
