//! The SMTP side of alert e-mails, over `lettre`: a transport built from `--smtp-url`
//! (`smtp://` plain, `smtp://...?tls=required` STARTTLS, `smtps://` TLS; credentials in the
//! URL, or the password from `--smtp-password`), and one send with a timeout.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// What `serve` sends alert e-mails with.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `--smtp-url`.
    pub url: String,
    /// `--smtp-password`: used with the URL's user name, instead of a password in the URL.
    pub password: Option<String>,
    /// `--smtp-from`.
    pub from: String,
    /// How long one mail may take (connecting, TLS, the SMTP dialogue).
    pub timeout: Duration,
}

/// A ready SMTP transport and sender.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
}

impl Mailer {
    /// Checks the settings; the error names the option, never the password.
    pub fn new(settings: &MailSettings) -> Result<Mailer, String> {
        let shown = crate::store::redact_password(&settings.url);
        let parsed = url::Url::parse(&settings.url)
            .map_err(|e| format!("--smtp-url '{shown}' is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "smtp" | "smtps") {
            return Err(format!(
                "--smtp-url '{shown}' must start with smtp:// (plain, or ?tls=required for \
                 STARTTLS) or smtps:// (TLS)"
            ));
        }
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.url)
            .map_err(|e| format!("--smtp-url '{shown}': {e}"))?
            .timeout(Some(settings.timeout));
        if let Some(password) = &settings.password {
            let user = percent_decode(parsed.username());
            builder = builder.credentials(Credentials::new(user, password.clone()));
        }
        let from = settings.from.trim().parse::<Mailbox>().map_err(|e| {
            format!(
                "--smtp-from '{}' is not an e-mail address: {e}",
                settings.from
            )
        })?;
        Ok(Mailer {
            transport: builder.build(),
            from,
            timeout: settings.timeout,
        })
    }

    /// Sends one plain-text mail to `recipients` (one message, every address in To); an
    /// address that cannot be parsed is skipped with a warning.
    pub async fn send(
        &self,
        recipients: &[String],
        subject: &str,
        body: String,
    ) -> Result<(), String> {
        let mut message = Message::builder().from(self.from.clone());
        let mut any = false;
        for address in recipients {
            match address.trim().parse::<Mailbox>() {
                Ok(to) => {
                    message = message.to(to);
                    any = true;
                }
                Err(e) => {
                    tracing::warn!(address = %address, error = %e, "alert recipient skipped: not an e-mail address")
                }
            }
        }
        if !any {
            return Err("no valid recipient".into());
        }
        let message = message
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| e.to_string())?;
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} s", self.timeout.as_secs())),
        }
    }
}

/// A URL's user name as written (`%40` is `@`).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str, from: &str) -> MailSettings {
        MailSettings {
            url: url.into(),
            password: None,
            from: from.into(),
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn bad_settings_name_the_option_but_not_the_password() {
        let Err(e) = Mailer::new(&settings("http://u:secret@mail:25", "a@b.c")) else {
            panic!("http accepted");
        };
        assert!(e.starts_with("--smtp-url") && !e.contains("secret"), "{e}");
        let Err(e) = Mailer::new(&settings("smtp://mail:25", "nobody")) else {
            panic!("bad from accepted");
        };
        assert!(e.starts_with("--smtp-from"), "{e}");
        assert!(Mailer::new(&settings("smtps://u:p@mail.example.com", "a@b.c")).is_ok());
        assert_eq!(percent_decode("me%40corp+x"), "me@corp+x");
    }
}
