//! `private_registries:`: each registry's url and password, and at most one default.

use super::{secret_from_env, set_help, Checker, Text, S};
use crate::config::model::Registry;
use crate::config::schema::RawRegistry;
use crate::secret::Secret;

/// Every registry, then each `is_default` one after the first.
pub(super) fn check_registries(c: &mut Checker, raw: &[S<RawRegistry>]) -> Vec<Registry> {
    let registries = raw
        .iter()
        .filter_map(|r| check_registry(c, r))
        .collect::<Vec<_>>();
    for r in raw.iter().filter(|r| r.value.is_default).skip(1) {
        let d = c.error(
            &r.value.url,
            format!(
                "registry {} is a second is_default registry",
                r.value.url.value
            ),
        );
        set_help(
            d,
            "only one registry can be the default for images without a registry host",
        );
    }
    registries
}

fn check_registry(c: &mut Checker, r: &S<RawRegistry>) -> Option<Registry> {
    let v = &r.value;
    let mut password = None;
    if let Some(p) = &v.password {
        let d = c.warn(
            p,
            format!(
                "registry {} has a literal password in the file",
                v.url.value
            ),
        );
        set_help(
            d,
            "prefer password_env: REGISTRY_PASSWORD and keep the secret out of the file",
        );
        password = Some(Secret::new(p.value.clone()));
    }
    if let Some(e) = &v.password_env {
        password = secret_from_env(c, e, "password_env").or(password);
    }
    let url_ok = c.check_text(&v.url, "registry url", Text::Word);
    c.check_text_opt(&v.user, "registry user", Text::Line);
    if url_ok && (v.url.value.contains("://") || v.url.value.is_empty()) {
        let d = c.error(
            &v.url,
            format!("registry url `{}` should be host[:port]", v.url.value),
        );
        set_help(
            d,
            "write it the way image names start, e.g. registry.example:5000",
        );
    }
    Some(Registry {
        url: v.url.value.clone(),
        user: v.user.as_ref().map(|u| u.value.clone()),
        password,
        is_default: v.is_default,
    })
}
