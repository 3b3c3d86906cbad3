//! The bot token is a password: whoever has it is the bot. Our code never
//! logs it, and teloxide 0.17 hides it in its errors, but request URLs carry
//! it (`/bot<TOKEN>/SendMessage`) and a dependency's debug or trace line
//! could one day print one. This writer is the last line of defence: it
//! replaces every secret it was given in whatever the log formatter writes.
//! `telemetry` wraps stderr in it with [`secrets_from_env`].

use std::io::{self, Write};
use std::sync::Arc;

use tracing_subscriber::fmt::MakeWriter;

const MASK: &str = "<redacted>";

/// The secrets of a running bot, from the environment: the token (whole,
/// and the part after `:` alone) and the webhook secret.
pub fn secrets_from_env() -> Vec<String> {
    let mut secrets = Vec::new();
    if let Ok(token) = std::env::var("TELOXIDE_TOKEN") {
        secrets.extend(token_secrets(&token));
    }
    if let Ok(secret) = std::env::var("HELPDESK_TELEGRAM__WEBHOOK_SECRET")
        && secret.len() >= 8
    {
        secrets.push(secret);
    }
    secrets
}

/// The token and its secret half (what follows the bot id).
pub fn token_secrets(token: &str) -> Vec<String> {
    let token = token.trim();
    let mut secrets = Vec::new();
    if token.len() >= 8 {
        secrets.push(token.to_owned());
        if let Some((_, secret)) = token.split_once(':')
            && secret.len() >= 8
        {
            secrets.push(secret.to_owned());
        }
    }
    secrets
}

/// A `MakeWriter` whose writers mask `secrets`.
#[derive(Clone)]
pub struct Redacting<M> {
    inner: M,
    secrets: Arc<Vec<String>>,
}

impl<M> Redacting<M> {
    pub fn new(inner: M, secrets: Vec<String>) -> Redacting<M> {
        let mut secrets = secrets;
        // Longest first, so the whole token is masked before its half.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redacting {
            inner,
            secrets: Arc::new(secrets),
        }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.inner.make_writer(),
            secrets: self.secrets.clone(),
        }
    }
}

pub struct RedactingWriter<W> {
    inner: W,
    secrets: Arc<Vec<String>>,
}

impl<W: Write> Write for RedactingWriter<W> {
    /// The formatter writes each event in one call, so a secret is never
    /// split across two writes.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        if self.secrets.iter().any(|s| text.contains(s.as_str())) {
            let mut masked = text.into_owned();
            for secret in self.secrets.iter() {
                masked = masked.replace(secret.as_str(), MASK);
            }
            self.inner.write_all(masked.as_bytes())?;
        } else {
            self.inner.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_in_a_log_line_is_masked_whole_and_by_its_secret_half() {
        let buffer = Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let sink = buffer.clone();
        let make = Redacting::new(
            move || SinkWriter(sink.clone()),
            token_secrets("123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789"),
        );
        let mut writer = make.make_writer();
        writer
            .write_all(b"POST /bot123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789/SendMessage and ABCdefGHIjklMNOpqrSTUvwxYZ0123456789\n")
            .unwrap();
        let written = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        assert_eq!(written, "POST /bot<redacted>/SendMessage and <redacted>\n");
    }

    struct SinkWriter(Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for SinkWriter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}
