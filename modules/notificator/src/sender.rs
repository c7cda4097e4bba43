//! How messages leave the server: one [`Sender`] per channel (SPEC §7). Every outbound call
//! has a deadline; errors never carry the Telegram token or the SMTP password.

use std::time::Duration;

use calendula_core::models::{output_time, Channel};
use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use pg_multihost::with_causes;
use serde_json::{json, Value};

use crate::config::{
    ChannelConfig, NotificatorConfig, SmtpChannel, SmtpTls, TelegramChannel, WebhookChannel,
};

/// One message to one recipient about one occurrence.
#[derive(Debug, Clone)]
pub struct Message {
    pub event_id: i64,
    pub event_name: String,
    pub timezone: String,
    pub occurrence_start: DateTime<Utc>,
    pub channel: Channel,
    /// The rule's offset as the client wrote it (`90m`).
    pub offset: String,
    pub login: String,
    /// The recipient's contact for this channel (`None` only for the log sender).
    pub contact: Option<String>,
}

impl Message {
    /// The occurrence start in the event's zone, as the API shows it.
    pub fn local_start(&self) -> DateTime<FixedOffset> {
        output_time(
            self.occurrence_start,
            self.timezone.parse().unwrap_or(Tz::UTC),
        )
    }

    fn local_start_text(&self) -> String {
        // serde's form, so that it reads exactly like the API's `start_time`.
        serde_json::to_value(self.local_start())
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| self.local_start().to_rfc3339())
    }

    /// The human-readable text (the webhook's `text`, the mail body, the Telegram message).
    pub fn text(&self) -> String {
        format!(
            "Reminder: \"{}\" starts at {} ({})",
            self.event_name,
            self.local_start_text(),
            self.timezone
        )
    }

    /// The webhook payload: `text` makes it a valid Slack message.
    pub fn webhook_payload(&self) -> Value {
        json!({
            "text": self.text(),
            "event_id": self.event_id,
            "event_name": self.event_name,
            "occurrence_start": self.local_start_text(),
            "channel": self.channel.as_str(),
            "offset": self.offset,
            "recipient": {"login": self.login, "contact": self.contact},
        })
    }
}

/// The user's contact a channel uses: email → `email`, sms → `phone`,
/// telegram → `telegram_chat_id`, slack → `slack`.
pub fn contact_field(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "email",
        Channel::Sms => "phone",
        Channel::Telegram => "telegram_chat_id",
        Channel::Slack => "slack",
    }
}

/// Why an attempt failed; `permanent` failures are not retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub message: String,
    pub permanent: bool,
}

impl SendError {
    fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
        }
    }

    fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
        }
    }

    pub fn timeout(after: Duration) -> Self {
        Self::transient(format!("timed out after {after:?}"))
    }
}

/// How one channel's messages are sent.
pub enum Sender {
    Log,
    Webhook {
        client: reqwest::Client,
        url: String,
    },
    Telegram {
        client: reqwest::Client,
        /// `<api_base>/bot<token>/sendMessage`: holds the token, never logged or stored.
        url: String,
    },
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
    },
}

impl Sender {
    pub fn build(config: &ChannelConfig, timeout: Duration) -> Result<Self, String> {
        let http = || {
            reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                .user_agent(concat!("calendula/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| format!("HTTP client: {e}"))
        };
        Ok(match config {
            ChannelConfig::Log(_) => Self::Log,
            ChannelConfig::Webhook(WebhookChannel { url }) => Self::Webhook {
                client: http()?,
                url: url.clone(),
            },
            ChannelConfig::Telegram(TelegramChannel {
                bot_token,
                api_base,
            }) => Self::Telegram {
                client: http()?,
                url: format!(
                    "{}/bot{}/sendMessage",
                    api_base.trim_end_matches('/'),
                    bot_token.expose()
                ),
            },
            ChannelConfig::Smtp(SmtpChannel {
                host,
                port,
                from,
                tls,
                username,
                password,
            }) => {
                let builder = match tls {
                    SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
                    SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                        .map_err(|e| format!("SMTP {host}: {e}"))?,
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                        .map_err(|e| format!("SMTP {host}: {e}"))?,
                };
                let mut builder = builder.port(*port).timeout(Some(timeout));
                if let (Some(user), Some(password)) = (username, password) {
                    builder = builder
                        .credentials(Credentials::new(user.clone(), password.expose().into()));
                }
                Self::Smtp {
                    transport: Box::new(builder.build()),
                    from: from
                        .parse()
                        .map_err(|e| format!("SMTP from {from:?}: {e}"))?,
                }
            }
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Log => "log",
            Self::Webhook { .. } => "webhook",
            Self::Telegram { .. } => "telegram",
            Self::Smtp { .. } => "smtp",
        }
    }

    /// Whether the recipient needs the channel's contact (the log sender does not).
    pub fn needs_contact(&self) -> bool {
        !matches!(self, Self::Log)
    }

    /// One attempt of the delivery whose key is `key`. The caller bounds it with its own
    /// deadline too. Every attempt of a delivery carries the same key (webhooks: the
    /// `Idempotency-Key` header; mail: the `Message-ID`), so a receiver can drop the copy
    /// a crash between sending and recording may cause.
    pub async fn send(&self, key: &str, message: &Message) -> Result<(), SendError> {
        match self {
            Self::Log => {
                log::info!(
                    target: "calendula::notificator",
                    event_id = message.event_id,
                    login = message.login.as_str(),
                    channel = message.channel.as_str(),
                    occurrence_start = message.local_start_text().as_str(),
                    offset = message.offset.as_str();
                    "notification: to {} via {} about event {}",
                    message.login,
                    message.channel.as_str(),
                    message.event_id
                );
                Ok(())
            }
            Self::Webhook { client, url } => {
                post_json(client, url, key, &message.webhook_payload()).await
            }
            Self::Telegram { client, url } => {
                let body = json!({"chat_id": message.contact, "text": message.text()});
                post_json(client, url, key, &body).await
            }
            Self::Smtp { transport, from } => {
                let to: Mailbox = message
                    .contact
                    .as_deref()
                    .unwrap_or_default()
                    .parse()
                    .map_err(|e| SendError::permanent(format!("invalid email address: {e}")))?;
                let mail = lettre::Message::builder()
                    .from(from.clone())
                    .to(to)
                    .message_id(Some(format!("<{key}@{}>", from.email.domain())))
                    .subject(format!("Reminder: {}", message.event_name))
                    .header(ContentType::TEXT_PLAIN)
                    .body(message.text())
                    .map_err(|e| SendError::permanent(format!("cannot build the mail: {e}")))?;
                match transport.send(mail).await {
                    Ok(_) => Ok(()),
                    Err(e) if e.is_permanent() => Err(SendError::permanent(format!("SMTP: {e}"))),
                    Err(e) => Err(SendError::transient(format!("SMTP: {e}"))),
                }
            }
        }
    }
}

async fn post_json(
    client: &reqwest::Client,
    url: &str,
    idempotency_key: &str,
    body: &Value,
) -> Result<(), SendError> {
    // `without_url`: the Telegram URL holds the bot token.
    let response = client
        .post(url)
        .header("Idempotency-Key", idempotency_key)
        .json(body)
        .send()
        .await
        .map_err(|e| SendError::transient(with_causes(&e.without_url())))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = response.text().await.unwrap_or_default();
    let detail: String = without_secrets(&text, url).chars().take(200).collect();
    let message = format!("HTTP {status}: {}", detail.trim());
    // A request the endpoint rejects will be rejected again; overload and outages pass.
    let retryable = status.is_server_error()
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT;
    Err(if retryable {
        SendError::transient(message)
    } else {
        SendError::permanent(message)
    })
}

/// `text` (an endpoint's error answer, recorded and logged) without the endpoint's URL or
/// the secrets it may hold (a bot token or a Slack hook's key in the path, a key in the
/// query, a password): an endpoint may echo them. Secrets are told by length: path segments
/// and query values of 16 characters or more, as written and percent-decoded.
fn without_secrets(text: &str, url: &str) -> String {
    let mut text = text.replace(url, "<url>");
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return text;
    };
    let segments = parsed.path_segments().into_iter().flatten();
    let segments = segments.flat_map(|s| [s, s.strip_prefix("bot").unwrap_or_default()]);
    let query = parsed.query().unwrap_or_default().split('&');
    let values = query.filter_map(|pair| pair.split_once('=').map(|(_, value)| value));
    let mut secrets: Vec<String> = segments
        .chain(values)
        .flat_map(|s| [s.to_owned(), percent_decoded(s)])
        .filter(|secret| secret.len() >= 16)
        .chain(parsed.password().map(str::to_owned))
        .collect();
    // Longest first, so that no shorter one leaves part of a longer one behind.
    secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
    for secret in secrets {
        text = text.replace(&secret, "<secret>");
    }
    text
}

fn percent_decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The sender of every channel: configured ones, `log` for the rest.
pub struct Senders {
    by_channel: Vec<(Channel, Sender)>,
}

impl Senders {
    pub fn build(config: &NotificatorConfig) -> Result<Self, String> {
        let timeout = config.send_timeout.get();
        let by_channel = Channel::ALL
            .into_iter()
            .map(|channel| {
                let sender = match config.channels.get(&channel) {
                    Some(c) => Sender::build(c, timeout)
                        .map_err(|e| format!("channels.{}: {e}", channel.as_str()))?,
                    None => Sender::Log,
                };
                Ok((channel, sender))
            })
            .collect::<Result<_, String>>()?;
        Ok(Self { by_channel })
    }

    pub fn get(&self, channel: Channel) -> &Sender {
        self.by_channel
            .iter()
            .find(|(c, _)| *c == channel)
            .map(|(_, s)| s)
            .unwrap_or(&Sender::Log)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn an_endpoints_echo_of_its_url_or_secrets_is_not_recorded() {
        let telegram = "https://api.telegram.org/bot123456:AAH-secret-token-xyz/sendMessage";
        let echoed = format!(
            "no route {telegram}; path /bot123456:AAH-secret-token-xyz/sendMessage; \
             token 123456:AAH-secret-token-xyz; method sendMessage"
        );
        assert_eq!(
            without_secrets(&echoed, telegram),
            "no route <url>; path /<secret>/sendMessage; token <secret>; method sendMessage"
        );
        // Written encoded in the URL, echoed decoded.
        let encoded = "https://api.telegram.org/bot123456%3AAAH-secret-token-xyz/sendMessage";
        assert_eq!(
            without_secrets("token 123456:AAH-secret-token-xyz", encoded),
            "token <secret>"
        );
        let slack = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX";
        assert_eq!(
            without_secrets("bad hook XXXXXXXXXXXXXXXXXXXXXXXX at /services/T000", slack),
            "bad hook <secret> at /services/T000"
        );
        let keyed = "https://user:pa55word@chat.example/v1/send?key=AIzaSyD-0123456789abcdef&x=1";
        assert_eq!(
            without_secrets(
                "key AIzaSyD-0123456789abcdef, pass pa55word, see /v1beta",
                keyed
            ),
            "key <secret>, pass <secret>, see /v1beta"
        );
        assert_eq!(without_secrets("quota exceeded", slack), "quota exceeded");
    }

    fn message() -> Message {
        Message {
            event_id: 7,
            event_name: "Standup".into(),
            timezone: "Europe/Berlin".into(),
            occurrence_start: Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap(),
            channel: Channel::Slack,
            offset: "15m".into(),
            login: "alice".into(),
            contact: Some("@alice".into()),
        }
    }

    #[test]
    fn webhook_payload_is_the_specified_shape() {
        assert_eq!(
            message().webhook_payload(),
            json!({
                "text": "Reminder: \"Standup\" starts at 2026-12-01T09:00:00+01:00 (Europe/Berlin)",
                "event_id": 7,
                "event_name": "Standup",
                "occurrence_start": "2026-12-01T09:00:00+01:00",
                "channel": "slack",
                "offset": "15m",
                "recipient": {"login": "alice", "contact": "@alice"},
            })
        );
    }

    #[test]
    fn the_telegram_token_stays_out_of_debug_output() {
        let config: ChannelConfig = serde_json::from_value(json!({
            "sender": "telegram", "bot_token": "123:secret", "api_base": "http://127.0.0.1:1/"
        }))
        .unwrap();
        assert!(!format!("{config:?}").contains("secret"));
        let Ok(Sender::Telegram { url, .. }) = Sender::build(&config, Duration::from_secs(1))
        else {
            panic!("a telegram sender");
        };
        assert_eq!(url, "http://127.0.0.1:1/bot123:secret/sendMessage");
    }

    /// The users API accepts exactly the addresses the SMTP sender can mail, but for
    /// whitespace and control characters, which it refuses even quoted.
    #[test]
    fn the_users_api_checks_emails_as_the_smtp_sender_does() {
        for address in [
            "ada@example.org",
            "ada.lovelace+cal@mail.example.co.uk",
            "o'brien@localhost",
            "x@bücher.example",
            "üser@example.org",
            "用户@例子.广告",
            "x@[192.0.2.1]",
            "x@[::1]",
            "\"quoted\"@example.org",
            "ada@exam_ple.org",
            ".ada@example.org",
            "ada.@example.org",
            "a..b@example.org",
            "ada@example..org",
            "ada@-example.org",
            &format!("ada@{}.org", "a".repeat(64)),
            "@example.org",
            "ada@",
            "not an email",
        ] {
            assert_eq!(
                calendula_core::validate::is_email(address),
                address.parse::<lettre::Address>().is_ok(),
                "{address}"
            );
        }
        for address in ["\"a b\"@example.org", "a\u{7}b@example.org"] {
            assert!(!calendula_core::validate::is_email(address), "{address:?}");
        }
    }

    #[tokio::test]
    async fn errors_do_not_carry_the_url() {
        let config: ChannelConfig = serde_json::from_value(json!({
            // Port 9 (discard) on loopback: nothing listens, the connection is refused.
            "sender": "telegram", "bot_token": "123:secret", "api_base": "http://127.0.0.1:9"
        }))
        .unwrap();
        let sender = Sender::build(&config, Duration::from_secs(2)).unwrap();
        let error = sender.send("k", &message()).await.unwrap_err();
        assert!(!error.message.contains("secret"), "{}", error.message);
        assert!(
            error.message.contains("Connection refused"),
            "the cause is named: {}",
            error.message
        );
        assert!(!error.permanent);
    }
}
