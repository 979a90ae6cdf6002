//! The three tiers every error falls in, and the one place that maps a tier to a gRPC status
//! code and to the `conveyor` exit code.

/// Whose problem an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Bad werf.yaml, bad flag, unknown build: the user can fix it (exit 2).
    User,
    /// Docker, registry, database or coordinator unreachable (exit 3).
    Environment,
    /// A bug in Conveyor (exit 3, reported as internal).
    Internal,
}

impl Tier {
    pub fn grpc_code(self) -> tonic::Code {
        match self {
            Tier::User => tonic::Code::InvalidArgument,
            Tier::Environment => tonic::Code::Unavailable,
            Tier::Internal => tonic::Code::Internal,
        }
    }

    pub fn exit_code(self) -> i32 {
        match self {
            Tier::User => 2,
            Tier::Environment | Tier::Internal => 3,
        }
    }

    /// The tier a gRPC status code came from (for clients of the coordinator).
    pub fn from_grpc(code: tonic::Code) -> Tier {
        match code {
            tonic::Code::InvalidArgument
            | tonic::Code::NotFound
            | tonic::Code::FailedPrecondition
            | tonic::Code::Unauthenticated
            | tonic::Code::PermissionDenied
            | tonic::Code::AlreadyExists => Tier::User,
            tonic::Code::Internal | tonic::Code::Unknown | tonic::Code::DataLoss => Tier::Internal,
            _ => Tier::Environment,
        }
    }

    pub fn status(self, message: impl Into<String>) -> tonic::Status {
        tonic::Status::new(self.grpc_code(), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_round_trip_through_grpc_codes() {
        for tier in [Tier::User, Tier::Environment, Tier::Internal] {
            assert_eq!(Tier::from_grpc(tier.grpc_code()), tier);
        }
        assert_eq!(Tier::User.exit_code(), 2);
        assert_eq!(Tier::Environment.exit_code(), 3);
    }
}
