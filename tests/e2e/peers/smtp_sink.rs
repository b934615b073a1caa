//! An SMTP server that keeps what it receives: enough of RFC 5321 (greeting, EHLO/HELO,
//! AUTH PLAIN and LOGIN, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT) for
//! lettre with `security = "none"`. It requires AUTH before MAIL, as a submission
//! server does, and records who authenticated for each mail.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One received mail.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The envelope sender (`MAIL FROM`), without angle brackets.
    pub from: String,
    /// The envelope recipients (`RCPT TO`), without angle brackets.
    pub to: Vec<String>,
    /// The user that authenticated on the connection, if any.
    pub auth_user: Option<String>,
    /// The message as sent after `DATA`, dot-unstuffed, CRLF line ends.
    pub data: String,
}

/// A running sink on a loopback port; stops when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    mails: Arc<Mutex<Vec<Mail>>>,
    task: JoinHandle<()>,
}

#[derive(Clone)]
struct Accounts {
    user: String,
    password: String,
}

impl SmtpSink {
    /// The user the sink accepts.
    pub const USER: &'static str = "mailer";
    /// The password the sink accepts.
    pub const PASSWORD: &'static str = "pa55 word";

    /// Starts a sink that accepts `USER` / `PASSWORD`.
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let accounts = Accounts { user: Self::USER.into(), password: Self::PASSWORD.into() };
        let store = mails.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, accounts.clone(), store.clone()));
            }
        });
        SmtpSink { addr, mails, task }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Everything received so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    /// How many mails to `to` arrived so far.
    pub fn count_to(&self, to: &str) -> usize {
        self.mails.lock().unwrap().iter().filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to))).count()
    }

    /// The `n`th (0-based) mail to `to`, waiting up to ~5 s for it.
    pub async fn nth(&self, to: &str, n: usize) -> Mail {
        let mails = self.mails.clone();
        super::poll(&format!("mail #{n} to {to}"), || {
            mails.lock().unwrap().iter().filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to))).nth(n).cloned()
        })
        .await
    }

    /// The first mail to `to`, waiting up to ~5 s for it.
    pub async fn wait_for(&self, to: &str) -> Mail {
        let mails = self.mails.clone();
        super::poll(&format!("mail to {to}"), || {
            mails.lock().unwrap().iter().find(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to))).cloned()
        })
        .await
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Conn {
    lines: BufReader<OwnedReadHalf>,
    out: OwnedWriteHalf,
}

impl Conn {
    /// One line without its CRLF; `None` at end of stream.
    async fn line(&mut self) -> Option<String> {
        let mut buf = Vec::new();
        let n = self.lines.read_until(b'\n', &mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            buf.pop();
        }
        Some(String::from_utf8_lossy(&buf).into_owned())
    }

    async fn reply(&mut self, text: &str) -> Option<()> {
        self.out.write_all(format!("{text}\r\n").as_bytes()).await.ok()
    }
}

/// The argument of `MAIL FROM:<a> ...` or `RCPT TO:<a> ...`.
fn path_arg(rest: &str) -> String {
    let rest = rest.trim();
    match (rest.find('<'), rest.find('>')) {
        (Some(a), Some(b)) if a < b => rest[a + 1..b].to_string(),
        _ => rest.split_whitespace().next().unwrap_or("").to_string(),
    }
}

fn b64_text(s: &str) -> Option<String> {
    B64.decode(s.trim()).ok().and_then(|b| String::from_utf8(b).ok())
}

async fn session(stream: TcpStream, accounts: Accounts, mails: Arc<Mutex<Vec<Mail>>>) {
    let (read, out) = stream.into_split();
    let mut c = Conn { lines: BufReader::new(read), out };
    let _ = serve(&mut c, &accounts, &mails).await;
}

async fn serve(c: &mut Conn, accounts: &Accounts, mails: &Mutex<Vec<Mail>>) -> Option<()> {
    c.reply("220 sink.localhost ESMTP test sink").await?;
    let mut auth_user: Option<String> = None;
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    loop {
        let line = c.line().await?;
        let (verb, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => c.reply("250-sink.localhost greets you\r\n250-AUTH PLAIN LOGIN\r\n250 HELP").await?,
            "HELO" => c.reply("250 sink.localhost").await?,
            "AUTH" => {
                if auth_user.is_some() {
                    c.reply("503 5.5.1 Already authenticated").await?;
                    continue;
                }
                let mut args = rest.split_whitespace();
                let mechanism = args.next().unwrap_or("").to_ascii_uppercase();
                let initial = args.next().map(str::to_string);
                let pair = match mechanism.as_str() {
                    "PLAIN" => {
                        let response = match initial {
                            Some(r) => r,
                            None => {
                                c.reply("334 ").await?;
                                c.line().await?
                            }
                        };
                        // authzid \0 authcid \0 password
                        b64_text(&response).and_then(|t| {
                            let mut parts = t.split('\0');
                            let _authzid = parts.next()?;
                            Some((parts.next()?.to_string(), parts.next()?.to_string()))
                        })
                    }
                    "LOGIN" => {
                        let user = match initial {
                            Some(u) => u,
                            None => {
                                c.reply(&format!("334 {}", B64.encode("Username:"))).await?;
                                c.line().await?
                            }
                        };
                        c.reply(&format!("334 {}", B64.encode("Password:"))).await?;
                        let password = c.line().await?;
                        b64_text(&user).zip(b64_text(&password))
                    }
                    _ => {
                        c.reply("504 5.5.4 Unrecognized authentication type").await?;
                        continue;
                    }
                };
                match pair {
                    Some((u, p)) if u == accounts.user && p == accounts.password => {
                        auth_user = Some(u);
                        c.reply("235 2.7.0 Authentication successful").await?;
                    }
                    _ => c.reply("535 5.7.8 Authentication credentials invalid").await?,
                }
            }
            "MAIL" => {
                if auth_user.is_none() {
                    c.reply("530 5.7.0 Authentication required").await?;
                    continue;
                }
                let Some(arg) = rest.get(..5).filter(|p| p.eq_ignore_ascii_case("FROM:")).map(|_| &rest[5..]) else {
                    c.reply("501 5.5.4 Syntax: MAIL FROM:<address>").await?;
                    continue;
                };
                from = Some(path_arg(arg));
                to.clear();
                c.reply("250 2.1.0 OK").await?;
            }
            "RCPT" => {
                if from.is_none() {
                    c.reply("503 5.5.1 MAIL first").await?;
                    continue;
                }
                let Some(arg) = rest.get(..3).filter(|p| p.eq_ignore_ascii_case("TO:")).map(|_| &rest[3..]) else {
                    c.reply("501 5.5.4 Syntax: RCPT TO:<address>").await?;
                    continue;
                };
                to.push(path_arg(arg));
                c.reply("250 2.1.5 OK").await?;
            }
            "DATA" => {
                if to.is_empty() {
                    c.reply("503 5.5.1 RCPT first").await?;
                    continue;
                }
                c.reply("354 End data with <CR><LF>.<CR><LF>").await?;
                let mut data = String::new();
                loop {
                    let line = c.line().await?;
                    if line == "." {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    data.push_str("\r\n");
                }
                let mail = Mail {
                    from: from.take().unwrap_or_default(),
                    to: std::mem::take(&mut to),
                    auth_user: auth_user.clone(),
                    data,
                };
                mails.lock().unwrap().push(mail);
                c.reply("250 2.0.0 OK queued").await?;
            }
            "RSET" => {
                from = None;
                to.clear();
                c.reply("250 2.0.0 OK").await?;
            }
            "NOOP" => c.reply("250 2.0.0 OK").await?,
            "QUIT" => {
                c.reply("221 2.0.0 Bye").await?;
                return Some(());
            }
            _ => c.reply("502 5.5.2 Command not recognized").await?,
        }
    }
}

impl Mail {
    /// A header's value, unfolded, with RFC 2047 encoded words decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = self.data.split_once("\r\n\r\n").unwrap_or((&self.data, ""));
        let mut unfolded: Vec<String> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(last) = unfolded.last_mut() {
                    last.push_str(line);
                }
            } else {
                unfolded.push(line.to_string());
            }
        }
        unfolded.iter().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| decode_words(v.trim()))
        })
    }

    /// The subject, decoded.
    pub fn subject(&self) -> String {
        self.header("Subject").unwrap_or_default()
    }

    /// The body with its transfer encoding (quoted-printable, base64, 7bit, 8bit) undone.
    pub fn decoded_body(&self) -> String {
        let (_, body) = self.data.split_once("\r\n\r\n").unwrap_or(("", ""));
        let encoding = self.header("Content-Transfer-Encoding").unwrap_or_default().to_ascii_lowercase();
        let bytes = match encoding.as_str() {
            "base64" => {
                let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
                B64.decode(compact).unwrap()
            }
            "quoted-printable" => quoted_printable(body),
            _ => body.as_bytes().to_vec(),
        };
        String::from_utf8(bytes).unwrap()
    }

    /// The first six-digit number in the decoded body.
    pub fn code(&self) -> Option<String> {
        super::six_digits(&self.decoded_body())
    }
}

/// Undoes quoted-printable: `=XX` escapes and `=` soft line breaks.
fn quoted_printable(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes[i + 1..].starts_with(b"\r\n") => i += 3,
            b'=' if bytes[i + 1..].starts_with(b"\n") => i += 2,
            b'=' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Decodes RFC 2047 encoded words (`=?charset?B|Q?text?=`, UTF-8 only); whitespace
/// between two adjacent encoded words is dropped, as the RFC says.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while !rest.is_empty() {
        let Some(start) = rest.find("=?") else {
            out.push_str(rest);
            break;
        };
        let (before, candidate) = rest.split_at(start);
        let decoded = encoded_word(candidate);
        let Some((text, len)) = decoded else {
            out.push_str(&rest[..start + 2]);
            rest = &rest[start + 2..];
            last_was_word = false;
            continue;
        };
        if !(last_was_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        out.push_str(&text);
        rest = &candidate[len..];
        last_was_word = true;
    }
    out
}

/// One encoded word at the start of `s`: its text and its length in `s`.
fn encoded_word(s: &str) -> Option<(String, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let payload = &inner[..end];
    let bytes = match encoding {
        "B" | "b" => B64.decode(payload).ok()?,
        "Q" | "q" => quoted_printable(&payload.replace('_', " ")),
        _ => return None,
    };
    let len = 2 + charset.len() + 1 + encoding.len() + 1 + end + 2;
    Some((String::from_utf8(bytes).ok()?, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_quoted_printable_soft_breaks_and_escapes() {
        assert_eq!(quoted_printable("code 12=\r\n3456 =E6=82=A8"), "code 123456 您".as_bytes());
    }

    #[test]
    fn decodes_folded_encoded_words() {
        let v = "=?utf-8?b?5oKo55qE?=\r\n =?utf-8?b?6aqM6K+B56CB?= x";
        assert_eq!(decode_words(&v.replace("\r\n", "")), "您的验证码 x");
    }
}
