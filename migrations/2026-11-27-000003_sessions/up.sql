-- Sessions of the auth module. The session id itself (256 random bits, shown to the client
-- once) is never stored: only its SHA-256.

CREATE TABLE sessions (
    token_hash   BYTEA PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Sliding expiry: a session is valid while last_used_at > now() - session_ttl (the TTL
    -- comes from the configuration, so changing it applies to existing sessions too).
    last_used_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The background purge deletes by age.
CREATE INDEX sessions_last_used ON sessions (last_used_at);
CREATE INDEX sessions_user ON sessions (user_id);
