//! A Windows node's WinRM connection: the `winrm:` settings' defaults, the auth/transport
//! combinations that work on a stock host, the password and CA certificate, and warnings for
//! settings that are unused or weaken security.

use std::path::PathBuf;

use super::{at, secret_from_env, set_help, Checker, Text};
use crate::config::diag::Diagnostic;
use crate::config::model::{Connection, Winrm, WinrmAuth};
use crate::config::schema::{RawNode, RawWinrm};
use crate::secret::Secret;
use crate::settings::expand_tilde;

/// The node's WinRM endpoint when it connects over WinRM, and warnings about its `winrm:`
/// settings: there but unused (the node connects over SSH), a literal password, no TLS checks.
pub(super) fn check_node_winrm(
    c: &mut Checker,
    v: &RawNode,
    name: &str,
    connection: Connection,
) -> Option<Winrm> {
    let mut winrm = None;
    if let (Some(w), Connection::Ssh) = (&v.winrm, connection) {
        let ((l, col), width) = c.key_place(w);
        c.report.push(Diagnostic::warning(
            l,
            col,
            format!("node {name} has winrm settings but connects over SSH"),
        ));
        let d = c.report.diagnostics.last_mut().expect("just pushed");
        d.width = width;
        set_help(d, "remove winrm:, or set connection: winrm");
    }
    if connection == Connection::Winrm {
        winrm = winrm_settings(c, v, name, v.user.as_ref().map(|u| u.value.as_str()));
    }
    if let Some(w) = v.winrm.as_ref().filter(|w| w.value.port == Some(0)) {
        let d = c.error(w, format!("node {name}: winrm.port is 0"));
        set_help(
            d,
            "leave port out (5986 with https, 5985 without) or give the listener's port",
        );
    }
    if let Some(w) = &v.winrm {
        c.check_text_opt(
            &w.value.user,
            &format!("node {name}: winrm.user"),
            Text::Line,
        );
    }
    if let (Some(w), Some(set)) = (&v.winrm, &winrm) {
        if !set.https && set.auth == WinrmAuth::Ntlm {
            let d = c.warn(
                w,
                format!("node {name} uses WinRM over plain HTTP: NTLM encrypts the messages, but nothing checks the host's identity, and the login can be relayed to another host"),
            );
            set_help(
                d,
                "prefer https: true with the host's certificate (ca_cert:)",
            );
        }
    }
    if let Some(w) = &v.winrm {
        if let Some(p) = &w.value.password {
            let d = c.warn(
                p,
                format!("node {name} has a literal WinRM password in the file"),
            );
            set_help(d, "prefer winrm.password_env");
        }
        if let Some(skip) = w.value.insecure_skip_verify.as_ref().filter(|s| s.value) {
            c.warn(
                skip,
                format!("node {name}: winrm.insecure_skip_verify turns off TLS certificate checks"),
            );
        }
    }
    winrm
}

/// A Windows node's WinRM endpoint: defaults, the auth/transport combinations that work on a
/// stock host (Basic only over HTTPS; plain HTTP needs NTLM's message encryption), the password.
fn winrm_settings(
    c: &mut Checker,
    v: &RawNode,
    name: &str,
    node_user: Option<&str>,
) -> Option<Winrm> {
    let w = v.winrm.as_ref().map(|w| &w.value);
    let https = w.and_then(|w| w.https).unwrap_or(true);
    let auth = winrm_auth(c, w, name, https);
    let password = winrm_password(c, v, w, name, auth);
    let ca_cert = winrm_ca_cert(c, w);
    Some(Winrm {
        port: w
            .and_then(|w| w.port)
            .unwrap_or(if https { 5986 } else { 5985 }),
        https,
        auth,
        user: w
            .and_then(|w| w.user.as_ref().map(|u| u.value.clone()))
            .or_else(|| node_user.map(str::to_string))
            .unwrap_or_else(|| "Administrator".into()),
        password,
        password_env: w
            .and_then(|w| w.password_env.as_ref())
            .map(|e| e.value.clone()),
        ca_cert,
        insecure_skip_verify: w
            .and_then(|w| w.insecure_skip_verify.as_ref())
            .is_some_and(|s| s.value),
    })
}

fn winrm_auth(c: &mut Checker, w: Option<&RawWinrm>, name: &str, https: bool) -> WinrmAuth {
    match w.and_then(|w| w.auth.as_ref()) {
        None => WinrmAuth::Ntlm,
        Some(a) => match a.value.as_str() {
            "ntlm" => WinrmAuth::Ntlm,
            "basic" if !https => {
                let d = c.error(a, format!("node {name}: WinRM Basic auth over plain HTTP would send the password in the clear, and hosts refuse it (AllowUnencrypted=false)"));
                set_help(
                    d,
                    "use auth: ntlm (HTTP with message encryption), or https: true",
                );
                WinrmAuth::Basic
            }
            "basic" => WinrmAuth::Basic,
            "kerberos" => WinrmAuth::Kerberos,
            other => {
                c.error(
                    a,
                    format!("winrm.auth `{other}` is not one of: ntlm, basic, kerberos"),
                );
                WinrmAuth::Ntlm
            }
        },
    }
}

/// From password_env, else a literal password; NTLM and Basic need one, Kerberos does not.
fn winrm_password(
    c: &mut Checker,
    v: &RawNode,
    w: Option<&RawWinrm>,
    name: &str,
    auth: WinrmAuth,
) -> Option<Secret> {
    match (
        w.and_then(|w| w.password_env.as_ref()),
        w.and_then(|w| w.password.as_ref()),
    ) {
        (Some(e), _) => secret_from_env(c, e, &format!("node {name}: winrm.password_env")),
        (None, Some(p)) => Some(Secret::new(p.value.clone())),
        (None, None) if auth != WinrmAuth::Kerberos => {
            // In the winrm: settings when there are some, which is where it goes.
            let place = v
                .winrm
                .as_ref()
                .map_or((at(&v.address), None), |w| c.key_place(w));
            let d = c.error_place(
                place,
                format!(
                    "node {name} connects over WinRM ({}) but has no password",
                    auth.as_str()
                ),
            );
            set_help(
                d,
                "add winrm: {password_env: VAR} and export VAR=… before running rwin",
            );
            None
        }
        (None, None) => None,
    }
}

fn winrm_ca_cert(c: &mut Checker, w: Option<&RawWinrm>) -> Option<PathBuf> {
    w.and_then(|w| w.ca_cert.as_ref()).and_then(|p| {
        let path = expand_tilde(&p.value);
        if path.is_file() {
            Some(path)
        } else {
            let d = c.error(
                p,
                format!("winrm.ca_cert {} does not exist", path.display()),
            );
            set_help(
                d,
                "point it at the PEM file of the CA that signed the host's WinRM certificate",
            );
            None
        }
    })
}
