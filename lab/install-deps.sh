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
)

apt-get update
apt-get install -y "${packages[@]}"

# pywinrm: a WinRM client nobody here wrote, run against winsim's WinRM endpoint by the tests
# (tests/winsim/tests/winrm.rs) to show the simulator speaks real WinRM.
python3 -m pip install --quiet --disable-pip-version-check pywinrm

# The lab starts its own per-host daemons and must not depend on (or race with) the
# system services. Package postinst scripts may have started them; that is tolerated,
# so nothing is stopped here: lab.sh only ever binds to its own 10.77.0.0/24 addresses.
echo "install-deps.sh: done"
