//! `sc.exe create|config|qc|delete|failure|start`: services in the state, with sc.exe's own
//! answers and exit codes (1073 exists, 1060 does not exist, 1072 marked for deletion; `start`
//! the service manager's error, e.g. 1053 for a binary that is no service program, see
//! `cmdlets::system::scm_start`). The service binary is not run. Arguments reach sc.exe the way Windows PowerShell 5.1 passes them: it
//! joins them into one command line, wrapping an argument with unquoted whitespace in double
//! quotes (embedded quotes are not escaped), and sc.exe splits that line again by the C
//! runtime's rules, so `'\"C:\Program Files\x.exe\" -a'` arrives as `"C:\Program Files\x.exe" -a`.

use super::{failed, ok, NativeOut};
use crate::host::Ctx;
use crate::state::Service;

/// PowerShell 5.1's NativeCommandParameterBinder.NeedQuotes: whitespace outside double quotes
/// (a quote right after a backslash does not count).
fn needs_quotes(arg: &str) -> bool {
    let (mut quotes, mut after_backslash) = (0, false);
    for c in arg.chars() {
        if c == '"' && !after_backslash {
            quotes += 1;
        } else if c.is_whitespace() && quotes % 2 == 0 {
            return true;
        }
        after_backslash = c == '\\';
    }
    false
}

/// The command line Windows PowerShell 5.1 builds from `args`.
pub(super) fn command_line(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if needs_quotes(a) {
                format!("\"{a}\"")
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Split a command line by the C runtime's rules (CommandLineToArgvW): whitespace separates
/// outside quotes; 2n backslashes + `"` → n backslashes and a quote that toggles quoting,
/// 2n+1 backslashes + `"` → n backslashes and a literal `"`; other backslashes are literal.
fn split_command_line(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut in_quotes, mut have) = (false, false);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let start = i;
            while i < chars.len() && chars[i] == '\\' {
                i += 1;
            }
            let n = i - start;
            if i < chars.len() && chars[i] == '"' {
                cur.push_str(&"\\".repeat(n / 2));
                if n % 2 == 1 {
                    cur.push('"');
                    i += 1;
                }
            } else {
                cur.push_str(&"\\".repeat(n));
            }
            have = true;
            continue;
        }
        if c == '"' {
            in_quotes = !in_quotes;
            have = true;
        } else if c.is_whitespace() && !in_quotes {
            if have {
                out.push(std::mem::take(&mut cur));
                have = false;
            }
        } else {
            cur.push(c);
            have = true;
        }
        i += 1;
    }
    if have {
        out.push(cur);
    }
    out
}

/// `key= value` pairs after the service name (sc.exe wants the space after `=`).
fn pairs(words: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut it = words.iter();
    while let Some(k) = it.next() {
        let Some(key) = k.strip_suffix('=') else {
            return Err(format!("sc.exe argument '{k}' (options are 'key= value')"));
        };
        let v = it
            .next()
            .ok_or_else(|| format!("sc.exe option '{k}' without a value"))?;
        out.push((key.to_ascii_lowercase(), v.clone()));
    }
    Ok(out)
}

fn start_type(v: &str) -> Result<&'static str, String> {
    Ok(match v {
        "auto" => "Automatic",
        "demand" => "Manual",
        "disabled" => "Disabled",
        other => return Err(format!("sc.exe start= {other}")),
    })
}

/// `depend= A/B`; `/` alone means none.
fn depend_list(v: &str) -> Vec<String> {
    v.split('/')
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect()
}

/// `sc.exe qc` as Windows prints it.
fn query_config(s: &Service) -> String {
    let (code, name) = match s.start_type.as_str() {
        "Automatic" => (2, "AUTO_START"),
        "Disabled" => (4, "DISABLED"),
        _ => (3, "DEMAND_START"),
    };
    let mut deps = String::new();
    for (i, d) in s.depend.iter().enumerate() {
        if i == 0 {
            deps.push_str(&format!("        DEPENDENCIES       : {d}\r\n"));
        } else {
            deps.push_str(&format!("                           : {d}\r\n"));
        }
    }
    if deps.is_empty() {
        deps.push_str("        DEPENDENCIES       :\r\n");
    }
    format!(
        "[SC] QueryServiceConfig SUCCESS\r\n\r\nSERVICE_NAME: {n}\r\n        TYPE               : 10  WIN32_OWN_PROCESS\r\n        START_TYPE         : {code}   {name}\r\n        ERROR_CONTROL      : 1   NORMAL\r\n        BINARY_PATH_NAME   : {bin}\r\n        LOAD_ORDER_GROUP   :\r\n        TAG                : 0\r\n        DISPLAY_NAME       : {n}\r\n{deps}        SERVICE_START_NAME : LocalSystem\r\n",
        n = s.name,
        bin = s.bin_path,
    )
}

/// What `sc.exe start` prints once the service manager accepted the start: the service's
/// status as it then is, START_PENDING [unverified: the layout is that of `sc query`, the
/// PID and wait hint are made up].
fn start_pending(name: &str) -> String {
    format!(
        "\r\nSERVICE_NAME: {name}\r\n        TYPE               : 10  WIN32_OWN_PROCESS\r\n        STATE              : 2  START_PENDING\r\n                                (NOT_STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)\r\n        WIN32_EXIT_CODE    : 0  (0x0)\r\n        SERVICE_EXIT_CODE  : 0  (0x0)\r\n        CHECKPOINT         : 0x0\r\n        WAIT_HINT          : 0x7d0\r\n        PID                : 4712\r\n        FLAGS              :\r\n"
    )
}

pub fn run(ctx: &mut Ctx, raw_args: &[String]) -> Result<NativeOut, String> {
    let args = split_command_line(&command_line(raw_args));
    let (Some(verb), Some(name)) = (args.first(), args.get(1)) else {
        return Err(format!("sc.exe command line '{}'", args.join(" ")));
    };
    let verb = verb.to_ascii_lowercase();
    let opts = pairs(&args[2..])?;
    let state = &mut *ctx.state;
    let existing = state
        .services
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(name))
        .cloned();
    let missing = || {
        failed(1060, "[SC] OpenService FAILED 1060:\r\n\r\nThe specified service does not exist as an installed service.\r\n\r\n", "")
    };
    let pending = |call: &str| {
        failed(
            1072,
            &format!("[SC] {call} FAILED 1072:\r\n\r\nThe specified service has been marked for deletion.\r\n\r\n"),
            "",
        )
    };
    match verb.as_str() {
        "create" => {
            let mut svc = Service {
                name: name.clone(),
                status: "Stopped".into(),
                start_type: "Manual".into(),
                bin_path: String::new(),
                depend: Vec::new(),
                failure_actions: None,
                delete_pending: false,
            };
            for (k, v) in opts {
                match k.as_str() {
                    "binpath" => svc.bin_path = v,
                    "start" => svc.start_type = start_type(&v)?.into(),
                    "depend" => svc.depend = depend_list(&v),
                    other => return Err(format!("sc.exe create option '{other}='")),
                }
            }
            match existing {
                Some(s) if s.delete_pending => return Ok(pending("CreateService")),
                Some(_) => return Ok(failed(1073, "[SC] CreateService FAILED 1073:\r\n\r\nThe specified service already exists.\r\n\r\n", "")),
                None => {}
            }
            if svc.bin_path.is_empty() {
                return Err("sc.exe create without binpath=".into());
            }
            state.services.push(svc);
            Ok(ok("[SC] CreateService SUCCESS\r\n"))
        }
        "config" => {
            let Some(s) = state.service_mut(name) else {
                return Ok(missing());
            };
            if s.delete_pending {
                return Ok(pending("ChangeServiceConfig"));
            }
            for (k, v) in opts {
                match k.as_str() {
                    "binpath" => s.bin_path = v,
                    "start" => s.start_type = start_type(&v)?.into(),
                    "depend" => s.depend = depend_list(&v),
                    other => return Err(format!("sc.exe config option '{other}='")),
                }
            }
            Ok(ok("[SC] ChangeServiceConfig SUCCESS\r\n"))
        }
        "qc" if opts.is_empty() => match existing {
            Some(s) => Ok(ok(&query_config(&s))),
            None => Ok(missing()),
        },
        "delete" if opts.is_empty() => {
            let Some(s) = existing else {
                return Ok(missing());
            };
            if s.delete_pending {
                return Ok(pending("DeleteService"));
            }
            if s.status == "Stopped" {
                state
                    .services
                    .retain(|s| !s.name.eq_ignore_ascii_case(name));
            } else if let Some(s) = state.service_mut(name) {
                // Windows: the service goes once it stops; until then it is listed.
                s.delete_pending = true;
            }
            Ok(ok("[SC] DeleteService SUCCESS\r\n"))
        }
        "failure" => {
            let mut desc = Vec::new();
            for (k, v) in opts {
                if k != "reset" && k != "actions" {
                    return Err(format!("sc.exe failure option '{k}='"));
                }
                desc.push(format!("{k}= {v}"));
            }
            match state.service_mut(name) {
                Some(s) => {
                    s.failure_actions = Some(desc.join(" "));
                    Ok(ok("[SC] ChangeServiceConfig2 SUCCESS\r\n"))
                }
                None => Ok(missing()),
            }
        }
        "start" if opts.is_empty() => {
            use crate::cmdlets::system::{scm_start, StartError};
            match scm_start(state, name, &mut Vec::new()) {
                Ok(()) => {
                    let real = state.service(name).map_or(name.as_str(), |s| &s.name);
                    Ok(ok(&start_pending(real)))
                }
                Err(StartError::DOES_NOT_EXIST) => Ok(missing()),
                Err(e) => Ok(failed(
                    e.code as i32,
                    &format!(
                        "[SC] StartService FAILED {}:\r\n\r\n{}\r\n\r\n",
                        e.code, e.text
                    ),
                    "",
                )),
            }
        }
        other => Err(format!("sc.exe subcommand '{other}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_bin_path_reaches_sc_exe_as_windows_passes_it() {
        let args: Vec<String> = [
            "create",
            "rwin-agent",
            "binPath=",
            r#"\"C:\Program Files\rwin\agent\agent.exe\" --x \"a b\""#,
            "start=",
            "auto",
        ]
        .map(String::from)
        .to_vec();
        let argv = split_command_line(&command_line(&args));
        assert_eq!(
            argv[3],
            r#""C:\Program Files\rwin\agent\agent.exe" --x "a b""#
        );
        assert_eq!(argv.len(), 6);
        // Without the backslashes, 5.1 does not wrap it and the path splits at the space.
        let bare = vec![r#""C:\Program Files\x.exe""#.to_string()];
        assert_eq!(
            split_command_line(&command_line(&bare)),
            vec![r"C:\Program Files\x.exe"]
        );
        let unescaped = vec![r#""C:\Program Files\x.exe" -a"#.to_string()];
        assert_eq!(
            split_command_line(&command_line(&unescaped)),
            vec![r"C:\Program", r#"Files\x.exe -a"#]
        );
    }
}
