#!/usr/bin/env bash
# Install everything lab.sh needs on a clean Debian 12 machine (CI starts from nothing).
# Safe to run repeatedly: apt-get install is a no-op for packages already present.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps.sh: must run as root" >&2
    exit 1
fi

# Debconf must never wait for an answer in CI.
export DEBIAN_FRONTEND=noninteractive

packages=(
    docker.io          # dockerd + docker client, one dockerd per lab host
    openssh-server     # sshd per lab host
    openssh-client     # ssh/ssh-keygen for the lab's own key and checks
    iputils-ping
    iproute2           # ip netns / veth / bridge
    docker-registry    # Debian's distribution 2.8: the lab's private registry
    etcd-server        # source of /usr/bin/etcd for the lab's etcd image
    etcd-client        # etcdctl, in the image and for checks from the operator side
    busybox-static     # source of the lab's busybox image
    openssl            # lab CA and registry certificate
    apache2-utils      # htpasswd -B for the registry's auth file
    curl               # registry probes
    iptables           # FORWARD rules for the lab bridge
    util-linux         # nsenter / unshare (essential on Debian, listed to be explicit)
    procps             # sysctl, to give each lab host a fresh boot's IPv4 settings
    gcc libc6-dev      # the aws-lc-sys crate compiles C (rustup needs a linker anyway)
    python3 python3-venv  # the project's own venv for the Python test clients (below)
    bash zsh fish      # the completion files are tested in the shells that load them
)

apt-get update
apt-get install -y "${packages[@]}"

# Python test clients nobody here wrote, run by the tests against rwin and winsim: pywinrm
# (a WinRM client, tests/winsim/tests/winrm.rs) and pyspnego (an NTLM acceptor, pywinrm's
# own dependency). They go into a virtual environment the project owns, made with Debian's
# python3 by full path (not whatever python3 comes first on PATH); Debian's python3 refuses
# global pip installs (PEP 668), and nothing here needs them. The tests run
# lab/.venv/bin/python, or $RWIN_PYTHON if set.
VENV=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)/.venv
if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    rm -rf -- "$VENV"
    /usr/bin/python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$(dirname -- "$VENV")/requirements-test.txt"
"$VENV/bin/python" -c 'import winrm, spnego' \
    || { echo "install-deps.sh: pywinrm did not install into $VENV" >&2; exit 1; }

# The lab starts its own per-host daemons and must not depend on (or race with) the
# system services. Package postinst scripts may have started them; that is tolerated,
# so nothing is stopped here: lab.sh only ever binds to its own 10.77.0.0/24 addresses.
echo "install-deps.sh: done"
