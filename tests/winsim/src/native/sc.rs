//! `sc.exe create|delete|failure`: services in the state, with sc.exe's own answers and exit
//! codes (1073 exists, 1060 does not exist). The service binary is not run.

use super::{failed, ok, NativeOut};
use crate::host::Ctx;
use crate::state::Service;

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

pub fn run(ctx: &mut Ctx, args: &[String]) -> Result<NativeOut, String> {
    let (Some(verb), Some(name)) = (args.first(), args.get(1)) else {
        return Err(format!("sc.exe command line '{}'", args.join(" ")));
    };
    let opts = pairs(&args[2..])?;
    let state = &mut *ctx.state;
    let exists = state
        .services
        .iter()
        .any(|s| s.name.eq_ignore_ascii_case(name));
    let missing = || {
        failed(1060, "[SC] OpenService FAILED 1060:\r\n\r\nThe specified service does not exist as an installed service.\r\n\r\n", "")
    };
    match verb.to_ascii_lowercase().as_str() {
        "create" => {
            let mut svc = Service {
                name: name.clone(),
                status: "Stopped".into(),
                start_type: "Manual".into(),
                bin_path: String::new(),
                depend: Vec::new(),
                failure_actions: None,
            };
            for (k, v) in opts {
                match k.as_str() {
                    "binpath" => svc.bin_path = v,
                    "start" => {
                        svc.start_type = match v.as_str() {
                            "auto" => "Automatic",
                            "demand" => "Manual",
                            "disabled" => "Disabled",
                            other => return Err(format!("sc.exe start= {other}")),
                        }
                        .into()
                    }
                    "depend" => svc.depend = v.split('/').map(str::to_string).collect(),
                    other => return Err(format!("sc.exe create option '{other}='")),
                }
            }
            if exists {
                return Ok(failed(1073, "[SC] CreateService FAILED 1073:\r\n\r\nThe specified service already exists.\r\n\r\n", ""));
            }
            if svc.bin_path.is_empty() {
                return Err("sc.exe create without binPath=".into());
            }
            state.services.push(svc);
            Ok(ok("[SC] CreateService SUCCESS\r\n"))
        }
        "delete" if opts.is_empty() => {
            if !exists {
                return Ok(missing());
            }
            state
                .services
                .retain(|s| !s.name.eq_ignore_ascii_case(name));
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
        other => Err(format!("sc.exe subcommand '{other}'")),
    }
}
