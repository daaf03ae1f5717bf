//! `health:` of a component: exactly one check (`http`, `tcp` or `exec`), templates that
//! render, and durations.

use super::place::Place;
use super::{at, set_help, Checker, S};
use crate::config::model::{parse_duration, BadDuration, Health, HealthCheck, NetworkMode};
use crate::config::schema::RawHealth;
use crate::config::template::{expressions, TemplateContext};

pub(super) fn check_health(
    c: &mut Checker,
    h: &S<RawHealth>,
    ctx: &TemplateContext<'_>,
    mode: NetworkMode,
) -> Option<Health> {
    let v = &h.value;
    // The checks as written, in file order.
    let mut checks: Vec<(Place, &str)> = ["http", "tcp", "exec"]
        .into_iter()
        .filter_map(|k| Some((c.key_path(h, &[k])?, k)))
        .collect();
    checks.sort();
    let count = [v.http.is_some(), v.tcp.is_some(), v.exec.is_some()]
        .iter()
        .filter(|x| **x)
        .count();
    if count != 1 {
        // No check: at `health:`. More than one: at the second, the first being fine alone.
        let (place, what) = if count == 0 {
            (c.key_place(h), "no check".to_string())
        } else {
            let what = match checks.as_slice() {
                [(_, a), (_, b)] => format!("both {a} and {b}"),
                _ => "more than one check".to_string(),
            };
            (checks.get(1).map_or_else(|| c.key_place(h), |s| s.0), what)
        };
        let d = c.error_place(
            place,
            format!("health has {what}: it needs exactly one of http, tcp or exec"),
        );
        set_help(d, "for example health: {http: \"http://{{node.internal_address}}:2379/health\", timeout: 60s}");
        return None;
    }
    for s in [&v.http, &v.tcp].into_iter().flatten() {
        if s.value.contains("container.ip") && mode != NetworkMode::Pod {
            let expr = expressions(&s.value)
                .into_iter()
                .find(|r| s.value[r.clone()].contains("container.ip"));
            c.template_error(
                s,
                expr,
                "`container.ip` is only known for components on the pod network".into(),
            );
        } else {
            c.check_template(s, ctx);
        }
    }
    if let Some(u) = &v.http {
        if !u.value.starts_with("http://") {
            let d = c.error(
                u,
                format!("health check URL `{}` must start with http://", u.value),
            );
            set_help(
                d,
                "the check runs from the node itself, through its SSH connection",
            );
        }
    }
    let duration = |c: &mut Checker, s: &Option<S<String>>, field: &str, default: u64| match s {
        None => Some(std::time::Duration::from_secs(default)),
        Some(s) => match parse_duration(&s.value) {
            Ok(d) => Some(d),
            Err(BadDuration::Malformed) => {
                let d = c.error(s, format!("`{}` is not a duration", s.value));
                set_help(d, "write it like 60s, 2m or 500ms");
                None
            }
            Err(BadDuration::TooLong) => {
                let d = c.error(
                    s,
                    format!("health {field} `{}` is longer than 24h", s.value),
                );
                set_help(
                    d,
                    "a health gate waits minutes, not days: write it like 60s or 10m",
                );
                None
            }
        },
    };
    let timeout = duration(c, &v.timeout, "timeout", 60);
    let interval = duration(c, &v.interval, "interval", 1);
    let (timeout, interval) = (timeout?, interval?);
    if let (Some(s), true) = (&v.interval, interval.is_zero()) {
        c.error(s, "interval must be more than 0s");
    }
    if let Some(t) = &v.tcp {
        if !t
            .value
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && (p.parse::<u16>().is_ok() || p.contains("{{")))
        {
            c.error(t, format!("tcp check `{}` is not HOST:PORT", t.value));
        }
    }
    if v.exec.as_ref().is_some_and(Vec::is_empty) {
        let place = c.key_path(h, &["exec"]).unwrap_or((at(h), None));
        c.error_place(
            place,
            "health exec needs a command, e.g. exec: [\"/bin/check\"]",
        );
    }
    let check = if let Some(u) = &v.http {
        HealthCheck::Http(u.value.clone())
    } else if let Some(t) = &v.tcp {
        HealthCheck::Tcp(t.value.clone())
    } else {
        HealthCheck::Exec(v.exec.as_deref().map(super::values).unwrap_or_default())
    };
    Some(Health {
        check,
        timeout,
        interval,
    })
}
