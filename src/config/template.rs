//! `{{…}}` templates in component args, env and health checks: node facts and role member
//! lists, so a 3-member etcd cluster needs no per-node hand-written arguments.
//!
//! ```text
//! {{node.name}} {{node.address}} {{node.internal_address}} {{node.subnet}} {{node.gateway}}
//! {{cluster.name}} {{container.ip}}            (container.ip: health checks of pod containers)
//! {{ role.etcd | format "{name}=http://{internal_address}:2380" | join "," }}
//! ```

use std::collections::BTreeMap;
use std::ops::Range;

use super::Role;

/// What a template may say about one node.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeFacts {
    pub name: String,
    pub address: String,
    pub internal_address: String,
    pub subnet: String,
    pub gateway: String,
}

impl NodeFacts {
    fn field(&self, key: &str) -> Option<&str> {
        Some(match key {
            "name" => &self.name,
            "address" => &self.address,
            "internal_address" => &self.internal_address,
            "subnet" => &self.subnet,
            "gateway" => &self.gateway,
            _ => return None,
        })
    }
}

/// What is wrong with a template; the text names the expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("`{{{{` without a closing `}}}}` in \"{template}\"")]
    Unclosed { template: String },

    #[error("empty `{{{{ }}}}`: put a variable in it, e.g. {{{{node.name}}}}")]
    Empty,

    #[error(
        "unknown variable `{head}` (node has: name, address, internal_address, subnet, gateway)"
    )]
    UnknownNodeVariable { head: String },

    #[error("unknown variable `{head}` (use node.*, cluster.name, container.ip or role.<role>)")]
    UnknownVariable { head: String },

    #[error("`container.ip` is only known for a container on the pod network, in health checks")]
    NoContainerIp,

    #[error("unknown role `{role}` in `{head}` (roles: etcd, controlplane, worker)")]
    UnknownRole { role: String, head: String },

    /// A filter on `node.*`, `cluster.name` or `container.ip`.
    #[error("`{head}` is a single value; the filter `{filter}` applies to role lists")]
    FilterOnValue { head: String, filter: String },

    #[error("`{filter}` needs a quoted argument in `{expr}`")]
    UnquotedArgument { filter: String, expr: String },

    #[error("unknown filter `{filter}` in `{expr}` (filters: format, join, count)")]
    UnknownFilter { filter: String, expr: String },

    #[error("unclosed `{{` in format \"{pattern}\"")]
    UnclosedFormat { pattern: String },

    #[error("unknown field `{{{key}}}` in format \"{pattern}\" (fields: name, address, internal_address, subnet, gateway)")]
    UnknownField { key: String, pattern: String },
}

/// Everything a template is rendered against.
#[derive(Debug, Clone)]
pub struct TemplateContext<'a> {
    pub cluster_name: &'a str,
    pub node: &'a NodeFacts,
    pub roles: &'a BTreeMap<Role, Vec<NodeFacts>>,
    /// Known only once the container exists; `None` renders an error.
    pub container_ip: Option<&'a str>,
}

/// Render every `{{ … }}` in `template`. The error names the expression and what is wrong.
pub fn render(template: &str, ctx: &TemplateContext<'_>) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| TemplateError::Unclosed {
            template: template.to_string(),
        })?;
        out.push_str(&eval(after[..end].trim(), ctx)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The byte ranges of the `{{…}}` expressions in `template`, braces included; one that is
/// never closed runs to the end.
pub fn expressions(template: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = template[from..].find("{{").map(|i| from + i) {
        let end = template[start + 2..]
            .find("}}")
            .map_or(template.len(), |i| start + 2 + i + 2);
        out.push(start..end);
        from = end;
    }
    out
}

/// The expression `render` fails on (the first that does not render on its own), to point at.
pub fn failing_expression(template: &str, ctx: &TemplateContext<'_>) -> Option<Range<usize>> {
    expressions(template)
        .into_iter()
        .find(|r| render(&template[r.clone()], ctx).is_err())
}

fn eval(expr: &str, ctx: &TemplateContext<'_>) -> Result<String, TemplateError> {
    let mut stages = split_pipes(expr).into_iter();
    let head = stages.next().unwrap_or_default();
    let head = head.trim();
    if head.is_empty() {
        return Err(TemplateError::Empty);
    }
    if let Some(key) = head.strip_prefix("node.") {
        let v = ctx
            .node
            .field(key)
            .ok_or_else(|| TemplateError::UnknownNodeVariable {
                head: head.to_string(),
            })?;
        return no_more_stages(head, stages).map(|_| v.to_string());
    }
    match head {
        "cluster.name" => {
            return no_more_stages(head, stages).map(|_| ctx.cluster_name.to_string())
        }
        "container.ip" => {
            no_more_stages(head, stages)?;
            return ctx
                .container_ip
                .map(str::to_string)
                .ok_or(TemplateError::NoContainerIp);
        }
        _ => {}
    }
    let role_name = head
        .strip_prefix("role.")
        .ok_or_else(|| TemplateError::UnknownVariable {
            head: head.to_string(),
        })?;
    let role = Role::parse(role_name).ok_or_else(|| TemplateError::UnknownRole {
        role: role_name.to_string(),
        head: head.to_string(),
    })?;
    let members = ctx.roles.get(&role).map(Vec::as_slice).unwrap_or(&[]);
    let mut items: Vec<String> = members.iter().map(|m| m.name.clone()).collect();
    let mut joined: Option<String> = None;
    for stage in stages {
        let stage = stage.trim();
        let (func, arg) = stage.split_once(' ').unwrap_or((stage, ""));
        let arg = unquote(arg.trim()).ok_or_else(|| TemplateError::UnquotedArgument {
            filter: func.to_string(),
            expr: expr.to_string(),
        });
        match func {
            "format" => {
                let pattern = arg?;
                items = members
                    .iter()
                    .map(|m| format_member(&pattern, m))
                    .collect::<Result<_, _>>()?;
            }
            "join" => joined = Some(items.join(&arg?)),
            "count" => joined = Some(members.len().to_string()),
            other => {
                return Err(TemplateError::UnknownFilter {
                    filter: other.to_string(),
                    expr: expr.to_string(),
                })
            }
        }
    }
    Ok(joined.unwrap_or_else(|| items.join(",")))
}

fn no_more_stages(
    head: &str,
    mut stages: impl Iterator<Item = String>,
) -> Result<(), TemplateError> {
    match stages.next() {
        Some(s) => Err(TemplateError::FilterOnValue {
            head: head.to_string(),
            filter: s.trim().to_string(),
        }),
        None => Ok(()),
    }
}

/// Split on `|` outside double quotes.
fn split_pipes(expr: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quoted = false;
    for c in expr.chars() {
        match c {
            '|' if !quoted => parts.push(String::new()),
            _ => {
                quoted ^= c == '"';
                if let Some(p) = parts.last_mut() {
                    p.push(c);
                }
            }
        }
    }
    parts
}

fn unquote(s: &str) -> Option<String> {
    s.strip_prefix('"')?.strip_suffix('"').map(str::to_string)
}

fn format_member(pattern: &str, m: &NodeFacts) -> Result<String, TemplateError> {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| TemplateError::UnclosedFormat {
                pattern: pattern.to_string(),
            })?;
        let key = &rest[start + 1..start + end];
        out.push_str(m.field(key).ok_or_else(|| TemplateError::UnknownField {
            key: key.to_string(),
            pattern: pattern.to_string(),
        })?);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(n: u8) -> NodeFacts {
        NodeFacts {
            name: format!("n{n}"),
            address: format!("192.0.2.{n}"),
            internal_address: format!("10.0.0.{n}"),
            subnet: format!("10.42.{n}.0/24"),
            gateway: format!("10.42.{n}.1"),
        }
    }

    #[test]
    fn renders_node_facts_and_role_members() {
        let node = facts(1);
        let roles = BTreeMap::from([(Role::Etcd, vec![facts(1), facts(2), facts(3)])]);
        let ctx = TemplateContext {
            cluster_name: "demo",
            node: &node,
            roles: &roles,
            container_ip: None,
        };
        assert_eq!(
            render(
                "--name={{node.name}} --ip={{ node.internal_address }}",
                &ctx
            )
            .unwrap(),
            "--name=n1 --ip=10.0.0.1"
        );
        assert_eq!(
            render(
                r#"{{ role.etcd | format "{name}=http://{internal_address}:2380" | join "," }}"#,
                &ctx
            )
            .unwrap(),
            "n1=http://10.0.0.1:2380,n2=http://10.0.0.2:2380,n3=http://10.0.0.3:2380"
        );
        assert_eq!(render("{{role.etcd | count}}", &ctx).unwrap(), "3");
        assert_eq!(render("{{role.worker}}", &ctx).unwrap(), "");
    }

    #[test]
    fn the_failing_expression_is_found() {
        let node = facts(1);
        let roles = BTreeMap::new();
        let ctx = TemplateContext {
            cluster_name: "demo",
            node: &node,
            roles: &roles,
            container_ip: None,
        };
        assert_eq!(expressions("a{{x}}b{{ y }}"), vec![1..6, 7..14]);
        assert_eq!(expressions("a{{x}}b{{y"), vec![1..6, 7..10]);
        let t = "--a={{node.name}} --b={{node.ip}}";
        assert_eq!(failing_expression(t, &ctx), Some(22..33));
        assert_eq!(failing_expression("--a={{node.name", &ctx), Some(4..15));
        assert_eq!(failing_expression("{{node.name}}", &ctx), None);
    }

    #[test]
    fn unknown_variables_are_errors() {
        let node = facts(1);
        let roles = BTreeMap::from([(Role::Etcd, vec![facts(1)])]);
        let ctx = TemplateContext {
            cluster_name: "demo",
            node: &node,
            roles: &roles,
            container_ip: None,
        };
        assert!(render("{{node.nmae}}", &ctx)
            .unwrap_err()
            .to_string()
            .contains("node.nmae"));
        assert!(render("{{role.master}}", &ctx)
            .unwrap_err()
            .to_string()
            .contains("unknown role"));
        assert!(render("{{container.ip}}", &ctx).is_err());
        assert!(render("{{node.name", &ctx).is_err());
        assert!(render(r#"{{role.etcd | format "{bogus}"}}"#, &ctx).is_err());
    }

    /// The error type changed from String; the texts users read did not.
    #[test]
    fn error_texts_name_the_expression() {
        let node = facts(1);
        let roles = BTreeMap::from([(Role::Etcd, vec![facts(1)])]);
        let ctx = TemplateContext {
            cluster_name: "demo",
            node: &node,
            roles: &roles,
            container_ip: None,
        };
        let cases: [(&str, TemplateError, &str); 11] = [
            (
                "{{node.name",
                TemplateError::Unclosed {
                    template: "{{node.name".into(),
                },
                "`{{` without a closing `}}` in \"{{node.name\"",
            ),
            (
                "{{ }}",
                TemplateError::Empty,
                "empty `{{ }}`: put a variable in it, e.g. {{node.name}}",
            ),
            (
                "{{node.nmae}}",
                TemplateError::UnknownNodeVariable {
                    head: "node.nmae".into(),
                },
                "unknown variable `node.nmae` (node has: name, address, internal_address, subnet, gateway)",
            ),
            (
                "{{foo}}",
                TemplateError::UnknownVariable { head: "foo".into() },
                "unknown variable `foo` (use node.*, cluster.name, container.ip or role.<role>)",
            ),
            (
                "{{container.ip}}",
                TemplateError::NoContainerIp,
                "`container.ip` is only known for a container on the pod network, in health checks",
            ),
            (
                "{{role.master}}",
                TemplateError::UnknownRole {
                    role: "master".into(),
                    head: "role.master".into(),
                },
                "unknown role `master` in `role.master` (roles: etcd, controlplane, worker)",
            ),
            (
                r#"{{ node.name | join "," }}"#,
                TemplateError::FilterOnValue {
                    head: "node.name".into(),
                    filter: r#"join ",""#.into(),
                },
                r#"`node.name` is a single value; the filter `join ","` applies to role lists"#,
            ),
            (
                "{{role.etcd | join ,}}",
                TemplateError::UnquotedArgument {
                    filter: "join".into(),
                    expr: "role.etcd | join ,".into(),
                },
                "`join` needs a quoted argument in `role.etcd | join ,`",
            ),
            (
                "{{role.etcd | upper}}",
                TemplateError::UnknownFilter {
                    filter: "upper".into(),
                    expr: "role.etcd | upper".into(),
                },
                "unknown filter `upper` in `role.etcd | upper` (filters: format, join, count)",
            ),
            (
                r#"{{role.etcd | format "{name"}}"#,
                TemplateError::UnclosedFormat {
                    pattern: "{name".into(),
                },
                r#"unclosed `{` in format "{name""#,
            ),
            (
                r#"{{role.etcd | format "{bogus}"}}"#,
                TemplateError::UnknownField {
                    key: "bogus".into(),
                    pattern: "{bogus}".into(),
                },
                r#"unknown field `{bogus}` in format "{bogus}" (fields: name, address, internal_address, subnet, gateway)"#,
            ),
        ];
        for (template, kind, text) in cases {
            let err = render(template, &ctx).unwrap_err();
            assert_eq!(err, kind, "{template}");
            assert_eq!(err.to_string(), text, "{template}");
        }
    }
}
