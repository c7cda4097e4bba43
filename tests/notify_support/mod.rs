//! Support for the notificator's tests: real endpoints on loopback that record what they
//! receive (an HTTP server for webhooks and a Telegram-shaped API, an SMTP server, a server
//! that accepts and never answers), and the real `calendula` binary to kill and restart.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

pub use crate::common::binary::Binary;

/// One HTTP request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: SystemTime,
    pub path: String,
    pub body: Value,
    /// The `Idempotency-Key` header, if any.
    pub idempotency_key: Option<String>,
}

/// Decides the answer to the `nth` (0-based) request to a path: status and a delay before
/// answering.
pub type Responder = dyn Fn(&str, usize) -> (u16, Duration) + Send + Sync;

/// An HTTP/1.1 server on a free loopback port that records every request (one per
/// connection; it answers `Connection: close`).
pub struct HttpReceiver {
    pub port: u16,
    requests: Arc<Mutex<Vec<Received>>>,
}

impl HttpReceiver {
    /// Answers 200 at once to everything.
    pub fn ok() -> Self {
        Self::start(|_, _| (200, Duration::ZERO))
    }

    pub fn start(respond: impl Fn(&str, usize) -> (u16, Duration) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind HTTP receiver");
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let respond: Arc<Responder> = Arc::new(respond);
        let counts = Arc::new(Mutex::new(HashMap::<String, usize>::new()));
        let log = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (log, respond, counts) = (log.clone(), respond.clone(), counts.clone());
                std::thread::spawn(move || {
                    let _ = serve_http(stream, &log, &*respond, &counts);
                });
            }
        });
        Self { port, requests }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn requests(&self) -> Vec<Received> {
        self.requests.lock().unwrap().clone()
    }

    pub fn to(&self, path: &str) -> Vec<Received> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

fn serve_http(
    stream: TcpStream,
    log: &Mutex<Vec<Received>>,
    respond: &Responder,
    counts: &Mutex<HashMap<String, usize>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let mut length = 0;
    let mut idempotency_key = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 {
            // The sender went away mid-request (a killed server): a real endpoint receives
            // nothing, so neither is anything recorded.
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if header == "\r\n" {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("idempotency-key") {
                idempotency_key = Some(value.trim().to_owned());
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let at = SystemTime::now();
    let nth = {
        let mut counts = counts.lock().unwrap();
        let n = counts.entry(path.clone()).or_default();
        *n += 1;
        *n - 1
    };
    log.lock().unwrap().push(Received {
        at,
        path: path.clone(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        idempotency_key,
    });
    let (status, delay) = respond(&path, nth);
    std::thread::sleep(delay);
    let text = if status == 200 {
        r#"{"ok":true}"#
    } else {
        r#"{"ok":false}"#
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    stream.flush()
}

/// One mail as received.
#[derive(Debug, Clone)]
pub struct Mail {
    pub at: SystemTime,
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body, as sent after DATA (dot-stuffing undone).
    pub data: String,
}

impl Mail {
    pub fn header(&self, name: &str) -> Option<String> {
        let (headers, _) = self.data.split_once("\r\n\r\n")?;
        headers.split("\r\n").find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    pub fn body(&self) -> String {
        self.data
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.trim_end_matches("\r\n").to_owned())
            .unwrap_or_default()
    }
}

/// A minimal SMTP server (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no
/// TLS, no AUTH) on a free loopback port, recording every mail.
pub struct SmtpReceiver {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpReceiver {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind SMTP receiver");
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let log = mails.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = log.clone();
                std::thread::spawn(move || {
                    let _ = serve_smtp(stream, &log);
                });
            }
        });
        Self { port, mails }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

fn serve_smtp(stream: TcpStream, log: &Mutex<Vec<Mail>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    out.write_all(b"220 localhost ESMTP calendula-test\r\n")?;
    let (mut from, mut to) = (String::new(), Vec::new());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command.get(..4).unwrap_or_default().to_ascii_uppercase();
        let address = || {
            let start = command.find('<').map_or(0, |i| i + 1);
            let end = command.rfind('>').unwrap_or(command.len());
            command.get(start..end).unwrap_or_default().to_owned()
        };
        match verb.as_str() {
            "EHLO" => out.write_all(b"250-localhost\r\n250 8BITMIME\r\n")?,
            "HELO" => out.write_all(b"250 localhost\r\n")?,
            "MAIL" => {
                from = address();
                to.clear();
                out.write_all(b"250 OK\r\n")?;
            }
            "RCPT" => {
                to.push(address());
                out.write_all(b"250 OK\r\n")?;
            }
            "DATA" => {
                out.write_all(b"354 go ahead\r\n")?;
                let mut data = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line)? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    let line = line.strip_prefix('.').unwrap_or(&line);
                    data.push_str(line);
                }
                log.lock().unwrap().push(Mail {
                    at: SystemTime::now(),
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                });
                out.write_all(b"250 OK queued\r\n")?;
            }
            "RSET" | "NOOP" => out.write_all(b"250 OK\r\n")?,
            "QUIT" => {
                out.write_all(b"221 bye\r\n")?;
                return Ok(());
            }
            _ => out.write_all(b"502 not implemented\r\n")?,
        }
    }
}

/// Accepts connections and never says a word (a hung mail server or API).
pub struct SilentServer {
    pub port: u16,
    pub connections: Arc<Mutex<usize>>,
}

impl SilentServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind silent server");
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(Mutex::new(0));
        let count = connections.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                *count.lock().unwrap() += 1;
                held.push(stream);
            }
        });
        Self { port, connections }
    }
}

/// Polls `done` every 50 ms until it holds or `limit` passes; returns whether it held.
pub fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A whole second at least `secs` seconds from now.
pub fn whole_second_from_now(secs: u64) -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now().timestamp();
    chrono::DateTime::from_timestamp(now + secs as i64 + 1, 0).unwrap()
}

pub fn system_time(t: chrono::DateTime<chrono::Utc>) -> SystemTime {
    SystemTime::from(t)
}

/// RFC 3339 in UTC with whole seconds (`2026-11-27T17:00:05Z`).
pub fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
