//! Request envelopes for the WinRS shell protocol ([MS-WSMV] 3.1.4): Create, Command, Send,
//! Receive, Signal, Delete, and a Get of the service configuration. Pure string building; the
//! header layout follows what pypsrp sent to the real hosts in `fixtures/winrm-recorded/`.

use std::fmt::Write as _;
use std::time::Duration;

use base64::Engine as _;

use super::uris::*;

/// The default MaxEnvelopeSize: 150 KiB, what every Windows version since 2008 R2 accepts.
/// Newer hosts allow 500 KiB (`winrm get winrm/config` MaxEnvelopeSizekb).
pub const DEFAULT_MAX_ENVELOPE_SIZE: usize = 153_600;

/// Header settings shared by every request to one endpoint.
#[derive(Debug, Clone)]
pub struct Requests {
    /// The endpoint URL, repeated in `<a:To>`.
    pub to: String,
    /// The largest envelope the client accepts back and promises to send.
    pub max_envelope_size: usize,
    /// How long the service may hold a request (Receive waits up to this for output).
    pub operation_timeout: Duration,
}

/// How the remote shell is created.
#[derive(Debug, Clone, Default)]
pub struct ShellSpec {
    pub working_directory: Option<String>,
    /// Environment variables of the shell's processes; values may be secrets (a registry
    /// password), which reach the host sealed or over TLS and never appear in script text.
    pub env: Vec<(String, crate::secret::Secret)>,
    /// Console code page of the shell's processes; 65001 makes their output UTF-8.
    pub codepage: Option<u32>,
}

/// The signal sent to a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Release the command's resources on the host (also kills it if it still runs).
    Terminate,
    /// Ctrl+C, as pressed on the console.
    CtrlC,
}

impl Signal {
    fn uri(self) -> &'static str {
        match self {
            Signal::Terminate => {
                "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate"
            }
            Signal::CtrlC => {
                "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_c"
            }
        }
    }
}

/// Optional header parts of one request.
struct Head<'a> {
    action: &'a str,
    resource: &'a str,
    shell_id: Option<&'a str>,
    options: &'a [(&'a str, &'a str)],
    options_must_understand: bool,
}

impl Requests {
    pub fn new(to: impl Into<String>) -> Self {
        Requests {
            to: to.into(),
            max_envelope_size: DEFAULT_MAX_ENVELOPE_SIZE,
            operation_timeout: Duration::from_secs(20),
        }
    }

    /// Create a cmd shell with stdin in and stdout, stderr out.
    pub fn create_shell(&self, message_id: &str, spec: &ShellSpec) -> String {
        let codepage = spec.codepage.map(|c| c.to_string());
        let mut options = vec![("WINRS_NOPROFILE", "FALSE")];
        if let Some(cp) = &codepage {
            options.push(("WINRS_CODEPAGE", cp.as_str()));
        }
        // Element order as pywinrm sends it, which real hosts accept.
        let mut body = String::from(
            "<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams>\
             <rsp:OutputStreams>stdout stderr</rsp:OutputStreams>",
        );
        if let Some(dir) = &spec.working_directory {
            let _ = write!(
                body,
                "<rsp:WorkingDirectory>{}</rsp:WorkingDirectory>",
                escape(dir)
            );
        }
        if !spec.env.is_empty() {
            body.push_str("<rsp:Environment>");
            for (name, value) in &spec.env {
                let _ = write!(
                    body,
                    "<rsp:Variable Name=\"{}\">{}</rsp:Variable>",
                    escape(name),
                    escape(value.expose())
                );
            }
            body.push_str("</rsp:Environment>");
        }
        body.push_str("</rsp:Shell>");
        self.envelope(
            message_id,
            &Head {
                action: ACTION_CREATE,
                resource: RESOURCE_CMD_SHELL,
                shell_id: None,
                options: &options,
                options_must_understand: false,
            },
            &body,
        )
    }

    /// Start `command args…` in the shell. Without `skip_cmd_shell` the host runs it through
    /// `cmd.exe /c`, which limits the whole line to 8191 characters.
    pub fn command(
        &self,
        message_id: &str,
        shell_id: &str,
        command: &str,
        args: &[String],
        skip_cmd_shell: bool,
    ) -> String {
        let mut body = format!(
            "<rsp:CommandLine><rsp:Command>{}</rsp:Command>",
            escape(command)
        );
        for arg in args {
            let _ = write!(body, "<rsp:Arguments>{}</rsp:Arguments>", escape(arg));
        }
        body.push_str("</rsp:CommandLine>");
        let skip = if skip_cmd_shell { "TRUE" } else { "FALSE" };
        self.envelope(
            message_id,
            &Head {
                action: ACTION_COMMAND,
                resource: RESOURCE_CMD_SHELL,
                shell_id: Some(shell_id),
                options: &[("WINRS_SKIP_CMD_SHELL", skip)],
                options_must_understand: true,
            },
            &body,
        )
    }

    /// One chunk of the command's stdin; `end` closes stdin after it.
    pub fn send(
        &self,
        message_id: &str,
        shell_id: &str,
        command_id: &str,
        chunk: &[u8],
        end: bool,
    ) -> String {
        let data = base64::engine::general_purpose::STANDARD.encode(chunk);
        let end = if end { " End=\"true\"" } else { "" };
        let body = format!(
            "<rsp:Send><rsp:Stream Name=\"stdin\" CommandId=\"{}\"{end}>{data}</rsp:Stream></rsp:Send>",
            escape(command_id)
        );
        self.envelope(
            message_id,
            &Head {
                action: ACTION_SEND,
                resource: RESOURCE_CMD_SHELL,
                shell_id: Some(shell_id),
                options: &[],
                options_must_understand: false,
            },
            &body,
        )
    }

    /// Ask for the command's output so far (waits up to OperationTimeout for some).
    pub fn receive(&self, message_id: &str, shell_id: &str, command_id: &str) -> String {
        let body = format!(
            "<rsp:Receive><rsp:DesiredStream CommandId=\"{}\">stdout stderr</rsp:DesiredStream></rsp:Receive>",
            escape(command_id)
        );
        self.envelope(
            message_id,
            &Head {
                action: ACTION_RECEIVE,
                resource: RESOURCE_CMD_SHELL,
                shell_id: Some(shell_id),
                options: &[("WSMAN_CMDSHELL_OPTION_KEEPALIVE", "TRUE")],
                options_must_understand: true,
            },
            &body,
        )
    }

    pub fn signal(
        &self,
        message_id: &str,
        shell_id: &str,
        command_id: &str,
        signal: Signal,
    ) -> String {
        let body = format!(
            "<rsp:Signal CommandId=\"{}\"><rsp:Code>{}</rsp:Code></rsp:Signal>",
            escape(command_id),
            signal.uri()
        );
        self.envelope(
            message_id,
            &Head {
                action: ACTION_SIGNAL,
                resource: RESOURCE_CMD_SHELL,
                shell_id: Some(shell_id),
                options: &[],
                options_must_understand: false,
            },
            &body,
        )
    }

    /// Close the shell (and anything still running in it).
    pub fn delete(&self, message_id: &str, shell_id: &str) -> String {
        self.envelope(
            message_id,
            &Head {
                action: ACTION_DELETE,
                resource: RESOURCE_CMD_SHELL,
                shell_id: Some(shell_id),
                options: &[],
                options_must_understand: false,
            },
            "",
        )
    }

    /// Read the service configuration (holds MaxEnvelopeSizekb; needs an administrator).
    pub fn get_config(&self, message_id: &str) -> String {
        self.envelope(
            message_id,
            &Head {
                action: ACTION_GET,
                resource: RESOURCE_CONFIG,
                shell_id: None,
                options: &[],
                options_must_understand: false,
            },
            "",
        )
    }

    fn envelope(&self, message_id: &str, head: &Head<'_>, body: &str) -> String {
        let mut x = String::with_capacity(1600 + body.len());
        let _ = write!(
            x,
            "<s:Envelope xmlns:s=\"{NS_SOAP}\" xmlns:a=\"{NS_ADDRESSING}\" xmlns:w=\"{NS_WSMAN}\" \
             xmlns:p=\"{NS_MS_WSMAN}\" xmlns:rsp=\"{NS_SHELL}\"><s:Header>\
             <a:Action s:mustUnderstand=\"true\">{action}</a:Action>\
             <p:DataLocale s:mustUnderstand=\"false\" xml:lang=\"en-US\"/>\
             <w:Locale s:mustUnderstand=\"false\" xml:lang=\"en-US\"/>\
             <w:MaxEnvelopeSize s:mustUnderstand=\"true\">{max}</w:MaxEnvelopeSize>\
             <a:MessageID>uuid:{id}</a:MessageID>\
             <w:OperationTimeout>PT{secs}S</w:OperationTimeout>\
             <a:ReplyTo><a:Address s:mustUnderstand=\"true\">{ANONYMOUS}</a:Address></a:ReplyTo>\
             <w:ResourceURI s:mustUnderstand=\"true\">{resource}</w:ResourceURI>\
             <a:To>{to}</a:To>",
            action = head.action,
            max = self.max_envelope_size,
            id = escape(message_id),
            secs = self.operation_timeout.as_secs().max(1),
            resource = head.resource,
            to = escape(&self.to),
        );
        if !head.options.is_empty() {
            x.push_str(if head.options_must_understand {
                "<w:OptionSet s:mustUnderstand=\"true\">"
            } else {
                "<w:OptionSet>"
            });
            for (name, value) in head.options {
                let _ = write!(x, "<w:Option Name=\"{name}\">{value}</w:Option>");
            }
            x.push_str("</w:OptionSet>");
        }
        if let Some(shell_id) = head.shell_id {
            let _ = write!(
                x,
                "<w:SelectorSet><w:Selector Name=\"ShellId\">{}</w:Selector></w:SelectorSet>",
                escape(shell_id)
            );
        }
        x.push_str("</s:Header>");
        if body.is_empty() {
            x.push_str("<s:Body/>");
        } else {
            let _ = write!(x, "<s:Body>{body}</s:Body>");
        }
        x.push_str("</s:Envelope>");
        x
    }
}

/// Whether `s` can travel in XML 1.0 at all (no NUL or other C0 controls but tab, LF, CR).
pub fn is_xml_safe(s: &str) -> bool {
    s.chars().all(|c| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
            || c > '\u{FFFF}'
    })
}

/// Escape for element text and attribute values alike. Line breaks and tabs become character
/// references so the receiver's whitespace normalisation cannot alter them.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::winrm::xml;

    const ID: &str = "00000000-0000-4000-8000-000000000001";
    const SHELL: &str = "11111111-2222-4333-8444-555555555555";
    const CMD: &str = "66666666-7777-4888-8999-AAAAAAAAAAAA";

    fn requests() -> Requests {
        Requests::new("https://win1.example:5986/wsman")
    }

    /// One element per line, so a snapshot diff points at the element that changed.
    fn lines(xml: &str) -> String {
        xml.replace("><", ">\n<")
    }

    #[test]
    fn create_shell_with_env_and_directory() {
        let spec = ShellSpec {
            working_directory: Some(r"C:\Program Files\rwin".into()),
            env: vec![(
                "RWIN_NODE".into(),
                crate::secret::Secret::new("win-1 & <co>"),
            )],
            codepage: Some(65001),
        };
        let x = requests().create_shell(ID, &spec);
        xml::parse(&x).unwrap();
        insta::assert_snapshot!(lines(&x));
    }

    #[test]
    fn command_receive_send_signal_delete_get() {
        let r = requests();
        let args = vec!["/c".to_string(), "echo a&b".to_string()];
        let all = [
            r.command(ID, SHELL, "cmd.exe", &args, false),
            r.send(ID, SHELL, CMD, b"line 1\r\n", false),
            r.send(ID, SHELL, CMD, b"", true),
            r.receive(ID, SHELL, CMD),
            r.signal(ID, SHELL, CMD, Signal::Terminate),
            r.delete(ID, SHELL),
            r.get_config(ID),
        ];
        for x in &all {
            xml::parse(x).unwrap();
        }
        insta::assert_snapshot!(all
            .iter()
            .map(|x| lines(x))
            .collect::<Vec<_>>()
            .join("\n\n"));
    }

    #[test]
    fn header_carries_size_timeout_and_id() {
        let mut r = requests();
        r.max_envelope_size = 512_000;
        r.operation_timeout = Duration::from_secs(60);
        let root = xml::parse(&r.receive(ID, SHELL, CMD)).unwrap();
        let header = root.child(NS_SOAP, "Header").unwrap();
        let text = |ns, name| header.child(ns, name).unwrap().text().to_string();
        assert_eq!(text(NS_WSMAN, "MaxEnvelopeSize"), "512000");
        assert_eq!(text(NS_WSMAN, "OperationTimeout"), "PT60S");
        assert_eq!(text(NS_ADDRESSING, "MessageID"), format!("uuid:{ID}"));
        assert_eq!(text(NS_ADDRESSING, "Action"), ACTION_RECEIVE);
        let selector = header
            .path(&[(NS_WSMAN, "SelectorSet"), (NS_WSMAN, "Selector")])
            .unwrap();
        assert_eq!(selector.attr("Name"), Some("ShellId"));
        assert_eq!(selector.text(), SHELL);
    }

    #[test]
    fn text_survives_escaping() {
        let tricky = "a & b < c > d \"e\" 'f'\r\n\tg";
        let x = requests().command(ID, SHELL, tricky, &[tricky.to_string()], true);
        let root = xml::parse(&x).unwrap();
        let line = root
            .path(&[(NS_SOAP, "Body"), (NS_SHELL, "CommandLine")])
            .unwrap();
        assert_eq!(line.child(NS_SHELL, "Command").unwrap().text(), tricky);
        assert_eq!(line.child(NS_SHELL, "Arguments").unwrap().text(), tricky);
        assert!(is_xml_safe(tricky));
        assert!(!is_xml_safe("nul\0"));
    }
}
