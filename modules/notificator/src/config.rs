//! `modules.notificator` in config.yaml.

use std::collections::BTreeMap;
use std::time::Duration;

use calendula_core::config_types::{null_as_default, HumanDuration, Secret, EXPECTED_PORT};
use calendula_core::models::Channel;
use calendula_core::ConfigProblem;
use schemars::gen::SchemaGenerator;
use schemars::schema::{InstanceType, Metadata, Schema, SchemaObject, SubschemaValidation};
use schemars::JsonSchema;
use serde::de::value::MapAccessDeserializer;
use serde::de::{Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

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
    #[serde(deserialize_with = "null_as_default")]
    #[schemars(schema_with = "channels_schema")]
    pub channels: BTreeMap<Channel, ChannelConfig>,
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

/// A map whose keys are channel names (schemars writes a map's values only), or null.
fn channels_schema(gen: &mut SchemaGenerator) -> Schema {
    let mut schema = gen
        .subschema_for::<BTreeMap<String, ChannelConfig>>()
        .into_object();
    schema.object().property_names = Some(Box::new(gen.subschema_for::<Channel>()));
    schema.instance_type = Some(vec![InstanceType::Object, InstanceType::Null].into());
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

/// How one channel's messages leave the server: `sender` names the kind, the other keys
/// are that kind's settings.
#[derive(Debug, Clone)]
pub enum ChannelConfig {
    Log(LogChannel),
    Smtp(SmtpChannel),
    Webhook(WebhookChannel),
    Telegram(TelegramChannel),
}

/// One structured log line per message.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogChannel {}

/// A plain-text mail to the user's `email`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmtpChannel {
    #[schemars(length(min = 1))]
    pub host: String,
    #[serde(default = "default_smtp_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    pub from: String,
    #[serde(default = "default_smtp_tls")]
    pub tls: SmtpTls,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
}

/// POSTs the JSON payload (Slack incoming webhooks, SMS gateways).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookChannel {
    #[schemars(regex(pattern = r"^https?://"))]
    pub url: String,
}

/// Telegram Bot API `sendMessage`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TelegramChannel {
    #[schemars(length(min = 1))]
    pub bot_token: Secret,
    #[serde(default = "default_telegram_api")]
    #[schemars(regex(pattern = r"^https?://"))]
    pub api_base: String,
}

/// The values of `sender`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum SenderKind {
    Log,
    Smtp,
    Webhook,
    Telegram,
}

impl SenderKind {
    const ALL: [(SenderKind, &'static str); 4] = [
        (Self::Log, "log"),
        (Self::Smtp, "smtp"),
        (Self::Webhook, "webhook"),
        (Self::Telegram, "telegram"),
    ];

    /// This kind's settings, from the rest of the channel's map.
    fn read<'de, D: Deserializer<'de>>(self, settings: D) -> Result<ChannelConfig, D::Error> {
        Ok(match self {
            Self::Log => ChannelConfig::Log(LogChannel::deserialize(settings)?),
            Self::Smtp => ChannelConfig::Smtp(SmtpChannel::deserialize(settings)?),
            Self::Webhook => ChannelConfig::Webhook(WebhookChannel::deserialize(settings)?),
            Self::Telegram => ChannelConfig::Telegram(TelegramChannel::deserialize(settings)?),
        })
    }
}

/// By hand rather than serde's internally tagged enum, which buffers the whole map and so
/// reports any problem in it against the channel and stops at the first. With `sender`
/// first, as it is usually written, the settings are read in place: each problem names its
/// key (`channels.email.port`), and `config check` reports every one.
impl<'de> Deserialize<'de> for ChannelConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ChannelVisitor)
    }
}

struct ChannelVisitor;

impl<'de> Visitor<'de> for ChannelVisitor {
    type Value = ChannelConfig;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a map with `sender` (log, smtp, webhook or telegram)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ChannelConfig, A::Error> {
        let mut before = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key != "sender" {
                before.insert(key, map.next_value()?);
                continue;
            }
            let sender: SenderKind = map.next_value()?;
            if before.is_empty() {
                return sender.read(MapAccessDeserializer::new(map));
            }
            while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
                before.insert(key, value);
            }
            return sender
                .read(serde_json::Value::Object(before))
                .map_err(A::Error::custom);
        }
        Err(A::Error::missing_field("sender"))
    }
}

/// One object per kind of sender: its settings and `sender` naming it.
impl JsonSchema for ChannelConfig {
    fn schema_name() -> String {
        "ChannelConfig".into()
    }

    fn json_schema(gen: &mut SchemaGenerator) -> Schema {
        let variants = SenderKind::ALL
            .iter()
            .map(|(kind, name)| {
                let mut variant = match kind {
                    SenderKind::Log => LogChannel::json_schema(gen),
                    SenderKind::Smtp => SmtpChannel::json_schema(gen),
                    SenderKind::Webhook => WebhookChannel::json_schema(gen),
                    SenderKind::Telegram => TelegramChannel::json_schema(gen),
                }
                .into_object();
                let tag = SchemaObject {
                    instance_type: Some(InstanceType::String.into()),
                    enum_values: Some(vec![(*name).into()]),
                    ..SchemaObject::default()
                };
                let object = variant.object();
                object.properties.insert("sender".into(), tag.into());
                object.required.insert("sender".into());
                variant.into()
            })
            .collect();
        SchemaObject {
            metadata: Some(Box::new(Metadata {
                description: Some("How one channel's messages leave the server.".into()),
                ..Metadata::default()
            })),
            subschemas: Some(Box::new(SubschemaValidation {
                one_of: Some(variants),
                ..SubschemaValidation::default()
            })),
            ..SchemaObject::default()
        }
        .into()
    }
}

impl ChannelConfig {
    pub fn sender_name(&self) -> &'static str {
        match self {
            Self::Log(_) => "log",
            Self::Smtp(_) => "smtp",
            Self::Webhook(_) => "webhook",
            Self::Telegram(_) => "telegram",
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
        for (channel, sender) in &self.channels {
            let key = channel.as_str();
            match sender {
                ChannelConfig::Webhook(WebhookChannel { url }) => check(
                    is_http_url(url),
                    &format!("channels.{key}.url"),
                    "expected an http(s) URL",
                ),
                ChannelConfig::Telegram(TelegramChannel {
                    api_base,
                    bot_token,
                }) => {
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
                ChannelConfig::Smtp(SmtpChannel {
                    host,
                    port,
                    from,
                    username,
                    password,
                    ..
                }) => {
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
                ChannelConfig::Log(_) => {}
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
            ChannelConfig::Smtp(SmtpChannel { port, tls, .. }) => {
                assert_eq!((port, tls), (587, SmtpTls::Starttls));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sender_may_come_anywhere_in_the_channel() {
        for yaml in [
            "{sender: webhook, url: 'https://hooks.example/a'}",
            "{url: 'https://hooks.example/a', sender: webhook}",
        ] {
            let channel: ChannelConfig = serde_yaml::from_str(yaml).unwrap();
            assert!(
                matches!(&channel, ChannelConfig::Webhook(WebhookChannel { url }) if url == "https://hooks.example/a"),
                "{yaml}: {channel:?}"
            );
        }
        for (yaml, expected) in [
            (
                "{url: 'https://x', colour: red, sender: webhook}",
                "unknown field `colour`",
            ),
            ("{url: 'https://x'}", "missing field `sender`"),
            ("{sender: pigeon}", "unknown variant `pigeon`"),
            ("[webhook, 'https://x']", "expected a map with `sender`"),
        ] {
            let error = serde_yaml::from_str::<ChannelConfig>(yaml).unwrap_err();
            assert!(error.to_string().contains(expected), "{yaml}: {error}");
        }
    }
}
