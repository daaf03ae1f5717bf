//! Images on a host without the Docker API: which it has (read with the other engine facts, so
//! a run that pulls nothing spends no round trip on it), and the pull of one, a command of its
//! own with its own time limit (issue 12: Windows base images are several GB, and a pull inside
//! the container's script would count against --command-timeout).

use std::collections::BTreeSet;

use super::powershell::{arg, Ps, Script};
use super::DONE;
use crate::config::Registry;
use crate::docker::spec::{registry_of, ImageRef};
use crate::powershell::quote;

/// Lists every image the host has as `REPOSITORY:TAG REPOSITORY@DIGEST` per line, the names as
/// Docker shows them (its "familiar" form, see [`familiar`]); `parse_images` reads it.
pub fn images_script() -> String {
    let mut ps = Ps::default();
    ps.docker(
        "docker images --digests --format '{{.Repository}}:{{.Tag}} {{.Repository}}@{{.Digest}}'",
        "listing images failed: is Docker running on this host?",
    );
    ps.text
}

/// `images_script`'s output → the references the host has, `<none>` parts left out.
pub fn parse_images(stdout: &str) -> BTreeSet<String> {
    stdout
        .split_whitespace()
        .filter(|r| !r.contains("<none>"))
        .map(str::to_string)
        .collect()
}

/// Whether `image` (as a component names it) is among `present` (from [`parse_images`]).
pub fn has_image(present: &BTreeSet<String>, image: &str) -> bool {
    present.contains(&familiar(image))
}

/// `image` as `docker images` shows it: Docker Hub's `docker.io/` and `library/` dropped,
/// `:latest` added where no tag or digest is given, a digest reference as `NAME@DIGEST`.
/// The rules of Docker's reference parser (distribution/reference `normalize.go`): the first
/// path component is a registry when it has a `.` or a `:` or is `localhost`; otherwise the
/// image is on Docker Hub (`docker.io`, also spelt `index.docker.io`), whose one-component
/// names live under `library/`.
pub fn familiar(image: &str) -> String {
    let ImageRef { name, tag, digest } = ImageRef::parse(image);
    let (first, rest) = name.split_once('/').unwrap_or(("", name));
    let hub = first.is_empty()
        || !(first.contains('.') || first.contains(':') || first == "localhost")
        || first == "docker.io"
        || first == "index.docker.io";
    let mut short = if first == "docker.io" || first == "index.docker.io" {
        rest.to_string()
    } else {
        name.to_string()
    };
    if hub {
        if let Some(one) = short.strip_prefix("library/").filter(|r| !r.contains('/')) {
            short = one.to_string();
        }
    }
    match (digest, tag) {
        (Some(d), _) => format!("{short}@{d}"),
        (None, Some(t)) => format!("{short}:{t}"),
        (None, None) => format!("{short}:latest"),
    }
}

/// The registry `image` comes from, as messages name it: its host, or Docker Hub.
pub fn registry_name(image: &str) -> String {
    registry_of(image).unwrap_or("docker.io").to_string()
}

/// The variable of the WinRS shell that holds the password of `registries[index]`.
pub(super) fn registry_password_variable(index: usize) -> String {
    format!("RWIN_REGISTRY_PASSWORD_{index}")
}

/// Pulls `image` unless the host has it, after `docker login` when its registry in
/// `registries` has credentials (the password read from the shell's environment, see
/// `registry_environment`; `docker logout` after the pull, whether it worked or not: `docker
/// login` leaves the credentials in the host's Docker config, issue 13). Ends with [`DONE`]. A
/// failure names the image and the registry and says what to check.
pub fn pull_script(image: &str, registries: &[Registry]) -> Result<Script, String> {
    let host = registry_name(image);
    let registry = registries.iter().enumerate().find(|(_, r)| r.url == host);
    let login = registry
        .and_then(|(i, r)| Some((i, r.url.as_str(), r.user.as_deref()?, r.password.as_ref()?)));
    // Windows PowerShell 5.1 pipes text to native commands as ASCII ($OutputEncoding).
    if let Some((_, url, _, _)) = login.filter(|l| !l.3.expose().is_ascii()) {
        return Err(format!(
            "the password of registry {url} has non-ASCII characters, which Windows PowerShell 5.1 cannot pipe to docker login unchanged"
        ));
    }
    let mut ps = Ps::default();
    ps.line(&crate::powershell::comment_text(&format!(
        "# rwin: pull image {image} unless the host has it"
    )));
    let quoted = arg("image", image)?;
    let tagged = arg("image", &with_tag(image))?;
    ps.docker(
        &format!("$present = docker images -q {tagged}"),
        "docker images failed: is Docker running on this host?",
    );
    ps.open("if (!$present)");
    let what = if login.is_some() {
        "that the host reaches it, and its user and password_env in private_registries"
    } else {
        "that the host reaches it, and for a private registry its entry in private_registries"
    };
    let failed = format!(
        "pulling image {image} from registry {host} failed (Docker's message is above): check the image's name and tag, {what}; the old container, if any, is left running"
    );
    match login {
        Some((i, url, user, _)) => {
            let variable = registry_password_variable(i);
            let missing = format!("the password of registry {url} is not in the WinRM shell's environment ({variable}); this script must run through rwin's WinRM connection");
            ps.line(&format!(
                "if (!$env:{variable}) {{ throw {} }}",
                quote(&missing)
            ));
            let call = format!(
                "$env:{variable} | docker login -u {} --password-stdin {} | Out-Null",
                arg("registry user", user)?,
                arg("registry", url)?
            );
            ps.docker(&call, &format!("docker login to registry {url} as user {user} failed: check user and password_env in private_registries"));
            ps.line(&format!("docker pull {quoted} | Out-Null"));
            ps.line("$pulled = $LASTEXITCODE");
            ps.line(&format!(
                "docker logout {} | Out-Null",
                arg("registry", url)?
            ));
            ps.line(&format!(
                "if ($pulled -ne 0) {{ throw {} }}",
                quote(&failed)
            ));
        }
        None => ps.docker(&format!("docker pull {quoted} | Out-Null"), &failed),
    }
    ps.close();
    ps.line(&format!("Write-Output {}", quote(DONE)));
    Ok(Script {
        redacted: ps.text.clone(),
        text: ps.text,
    })
}

/// `image` with `:latest` if it names no tag or digest: `docker images -q busybox` would list
/// every busybox tag, not just the one `docker run busybox` uses.
pub(super) fn with_tag(image: &str) -> String {
    let r = ImageRef::parse(image);
    if r.digest.is_some() || r.tag.is_some() {
        image.to_string()
    } else {
        format!("{image}:latest")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_matched_in_the_form_docker_images_shows() {
        let cases = [
            ("busybox", "busybox:latest"),
            ("busybox:1", "busybox:1"),
            ("library/busybox:1", "busybox:1"),
            ("docker.io/library/busybox:1", "busybox:1"),
            ("index.docker.io/library/busybox", "busybox:latest"),
            ("docker.io/user/app:2", "user/app:2"),
            ("user/app", "user/app:latest"),
            ("localhost/app", "localhost/app:latest"),
            ("localhost:5000/app:1", "localhost:5000/app:1"),
            ("10.77.0.5:5000/busybox:1", "10.77.0.5:5000/busybox:1"),
            (
                "mcr.microsoft.com/windows/servercore:ltsc2022",
                "mcr.microsoft.com/windows/servercore:ltsc2022",
            ),
            ("busybox@sha256:abc", "busybox@sha256:abc"),
            ("reg.example/a/b:1@sha256:abc", "reg.example/a/b@sha256:abc"),
        ];
        for (image, shown) in cases {
            assert_eq!(familiar(image), shown, "{image}");
        }
        // What `docker images --digests --format …` printed on a host.
        let present = parse_images(
            "busybox:1 busybox@sha256:abc\r\nmcr.microsoft.com/windows/nanoserver:ltsc2022 mcr.microsoft.com/windows/nanoserver@<none>\r\n<none>:<none> <none>@<none>\r\n",
        );
        assert!(has_image(&present, "docker.io/library/busybox:1"));
        assert!(has_image(&present, "busybox@sha256:abc"));
        assert!(has_image(
            &present,
            "mcr.microsoft.com/windows/nanoserver:ltsc2022"
        ));
        assert!(!has_image(&present, "busybox"));
        assert!(!has_image(&present, "mcr.microsoft.com/windows/nanoserver"));
        assert_eq!(present.len(), 3, "{present:?}");
    }
}
