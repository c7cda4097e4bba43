//! The access policy handlers consult. The `auth` module puts its [`AuthPolicy`] into
//! Rocket's managed state when it is mounted; without it (module disabled) no session can be
//! opened or presented and nothing is enforced. Handlers never depend on the module crate:
//! they take `AuthPolicy` (a request guard that never fails) or the session guards of
//! `calendula-db`, which read the same managed value.

use std::time::Duration;

use rocket::request::{FromRequest, Outcome};
use rocket::{Phase, Request, Rocket};
use rocket_okapi::gen::OpenApiGenerator;
use rocket_okapi::request::{OpenApiFromRequest, RequestHeaderInput};

/// How the `auth` module is configured, as far as handlers care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthPolicy {
    /// Every write except sign-up and log-in needs a session; only an event's members see
    /// its details.
    pub enforce: bool,
    /// New users must have a password, and sessions need it.
    pub require_passwords: bool,
    /// Idle time after which a session expires; each use extends it.
    pub session_ttl: Duration,
}

impl AuthPolicy {
    /// The policy when the `auth` module is not mounted: nothing is required or enforced.
    pub const OPEN: AuthPolicy = AuthPolicy {
        enforce: false,
        require_passwords: false,
        session_ttl: Duration::ZERO,
    };

    /// The mounted module's policy, if the module is mounted (sessions are available).
    pub fn mounted<P: Phase>(rocket: &Rocket<P>) -> Option<&AuthPolicy> {
        rocket.state::<AuthPolicy>()
    }

    /// The policy in force: the module's, or [`AuthPolicy::OPEN`].
    pub fn of<P: Phase>(rocket: &Rocket<P>) -> AuthPolicy {
        Self::mounted(rocket).copied().unwrap_or(Self::OPEN)
    }

    /// Whether a caller who is (`true`) or is not a member of an event (its author or a
    /// participant) sees its name, description, participants and reminders.
    pub fn shows_details(&self, caller_is_member: bool) -> bool {
        !self.enforce || caller_is_member
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AuthPolicy {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(AuthPolicy::of(req.rocket()))
    }
}

impl<'r> OpenApiFromRequest<'r> for AuthPolicy {
    fn from_request_input(
        _: &mut OpenApiGenerator,
        _: String,
        _: bool,
    ) -> rocket_okapi::Result<RequestHeaderInput> {
        Ok(RequestHeaderInput::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_hidden_only_from_non_members_under_enforcement() {
        let open = AuthPolicy::OPEN;
        assert!(open.shows_details(false) && open.shows_details(true));
        let enforced = AuthPolicy {
            enforce: true,
            ..AuthPolicy::OPEN
        };
        assert!(enforced.shows_details(true));
        assert!(!enforced.shows_details(false));
    }
}
