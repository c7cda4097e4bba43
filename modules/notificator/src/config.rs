//! `modules.notificator` in config.yaml.

use std::collections::BTreeMap;
use std::time::Duration;

use calendula_core::config_types::{HumanDuration, Secret, EXPECTED_PORT};
use calendula_core::models::Channel;
use calendula_core::strict_structs::ObjectOnly;
use calendula_core::ConfigProblem;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct NotificatorConfig {
    pub enabled: bool,
    /// Longest sleep between two looks for due reminders.
    pub poll_interval: HumanDuration,
    /// Reminders claimed per database round trip.
    #[schemars(range(min = 1, max = 100_000))]
    pub batch_size: u32,
    /// Attempts per reminder before it is recorded `failed`.
    #[schemars(range(min = 1, max = 100))]
    pub max_attempts: u32,
    /// A reminder overdue by more than this (the server was down) is recorded `missed`.
    pub max_lateness: HumanDuration,
    /// Deadline of one outbound call (HTTP request, SMTP session); past it the attempt failed.
    pub send_timeout: HumanDuration,
    /// Wait before the second attempt; each further attempt waits twice as long (at most 1h).
    pub retry_backoff: HumanDuration,
    /// Messages being sent at once by this server; a slow channel holds only its own.
    #[schemars(range(min = 1, max = 100_000))]
    pub max_in_flight: u32,
    /// Sender per channel (`sms`, `email`, `telegram`, `slack`); a channel without one logs.
    #[schemars(schema_with = "channels_schema")]
    pub channels: BTreeMap<Channel, ObjectOnly<ChannelConfig>>,
}

impl Default for NotificatorConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            poll_interval: HumanDuration::from_secs(1),
            batch_size: 500,
            max_attempts: 5,
            max_lateness: HumanDuration::from_secs(3600),
            send_timeout: HumanDuration::from_secs(10),
            retry_backoff: HumanDuration::from_secs(1),
            max_in_flight: 1000,
            channels: BTreeMap::new(),
        }
    }
}

/// A map whose keys are channel names (schemars writes a map's values only).
fn channels_schema(gen: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
    let mut schema = gen
        .subschema_for::<BTreeMap<String, ChannelConfig>>()
        .into_object();
    schema.object().property_names = Some(Box::new(gen.subschema_for::<Channel>()));
    schema.into()
}

/// The submission port (RFC 6409), which speaks STARTTLS.
fn default_smtp_port() -> u16 {
    587
}

fn default_smtp_tls() -> SmtpTls {
    SmtpTls::Starttls
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    None,
    Starttls,
    Tls,
}

/// How one channel's messages leave the server.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "sender", rename_all = "lowercase", deny_unknown_fields)]
pub enum ChannelConfig {
    /// One structured log line per message. (A struct variant: a unit variant of an
    /// internally tagged enum would let unknown keys beside `sender` through.)
    Log {},
    /// A plain-text mail to the user's `email`.
    Smtp {
        #[schemars(length(min = 1))]
        host: String,
        #[serde(default = "default_smtp_port")]
        #[schemars(range(min = 1, max = 65535))]
        port: u16,
        from: String,
        #[serde(default = "default_smtp_tls")]
        tls: SmtpTls,
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<Secret>,
    },
    /// POSTs the JSON payload (Slack incoming webhooks, SMS gateways).
    Webhook {
        #[schemars(regex(pattern = r"^https?://"))]
        url: String,
    },
    /// Telegram Bot API `sendMessage`.
    Telegram {
        #[schemars(length(min = 1))]
        bot_token: Secret,
        #[serde(default = "default_telegram_api")]
        #[schemars(regex(pattern = r"^https?://"))]
        api_base: String,
    },
}

impl ChannelConfig {
    pub fn sender_name(&self) -> &'static str {
        match self {
            Self::Log {} => "log",
            Self::Smtp { .. } => "smtp",
            Self::Webhook { .. } => "webhook",
            Self::Telegram { .. } => "telegram",
        }
    }
}

fn default_telegram_api() -> String {
    "https://api.telegram.org".into()
}

impl NotificatorConfig {
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, path: &str, message: &str| {
            if !ok {
                problems.push(ConfigProblem::new(path, message));
            }
        };
        check(
            self.poll_interval.get().as_millis() >= 10,
            "poll_interval",
            "expected at least 10ms",
        );
        check(
            (1..=100_000).contains(&self.batch_size),
            "batch_size",
            "expected an integer between 1 and 100000",
        );
        check(
            (1..=100).contains(&self.max_attempts),
            "max_attempts",
            "expected an integer between 1 and 100",
        );
        // Polling alone makes a delivery up to poll_interval late; a shorter max_lateness
        // would record reminders `missed` while the server runs.
        check(
            self.max_lateness.get() >= self.poll_interval.get() * 2,
            "max_lateness",
            "expected at least twice poll_interval",
        );
        check(
            (Duration::from_millis(100)..=Duration::from_secs(600))
                .contains(&self.send_timeout.get()),
            "send_timeout",
            "expected a duration between 100ms and 10m",
        );
        check(
            (Duration::from_millis(10)..=Duration::from_secs(3600))
                .contains(&self.retry_backoff.get()),
            "retry_backoff",
            "expected a duration between 10ms and 1h",
        );
        check(
            (1..=100_000).contains(&self.max_in_flight),
            "max_in_flight",
            "expected an integer between 1 and 100000",
        );
        for (channel, ObjectOnly(sender)) in &self.channels {
            let key = channel.as_str();
            match sender {
                ChannelConfig::Webhook { url } => check(
                    is_http_url(url),
                    &format!("channels.{key}.url"),
                    "expected an http(s) URL",
                ),
                ChannelConfig::Telegram {
                    api_base,
                    bot_token,
                } => {
                    check(
                        is_http_url(api_base),
                        &format!("channels.{key}.api_base"),
                        "expected an http(s) URL",
                    );
                    check(
                        !bot_token.expose().trim().is_empty(),
                        &format!("channels.{key}.bot_token"),
                        "expected a bot token",
                    );
                }
                ChannelConfig::Smtp {
                    host,
                    port,
                    from,
                    username,
                    password,
                    ..
                } => {
                    check(
                        username.is_some() == password.is_some(),
                        &format!("channels.{key}.password"),
                        "expected username and password together, or neither",
                    );
                    check(
                        !host.is_empty(),
                        &format!("channels.{key}.host"),
                        "expected a host name",
                    );
                    check(*port != 0, &format!("channels.{key}.port"), EXPECTED_PORT);
                    check(
                        from.parse::<lettre::message::Mailbox>().is_ok(),
                        &format!("channels.{key}.from"),
                        "expected an email address",
                    );
                }
                ChannelConfig::Log {} => {}
            }
        }
        problems
    }
}

fn is_http_url(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_port_and_tls_default_to_submission_with_starttls() {
        let channel: ChannelConfig =
            serde_yaml::from_str("{sender: smtp, host: mail.example.org, from: cal@example.org}")
                .unwrap();
        match channel {
            ChannelConfig::Smtp { port, tls, .. } => {
                assert_eq!((port, tls), (587, SmtpTls::Starttls));
            }
            other => panic!("{other:?}"),
        }
    }
}
