#!/usr/bin/env bash
# Smoke test of a running lab (`lab.sh up 3` with registry and dockerd): checks that the
# hosts behave like separate machines from the operator's side. Leaves no trace on the
# hosts. Exit status 0 only if every check passed.
# The check functions are only ever called through check():
# shellcheck disable=SC2317
set -euo pipefail
shopt -s inherit_errexit

LAB_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
LAB=$LAB_DIR/lab.sh
# shellcheck source=lab/ipv4-defaults.sh
source "$LAB_DIR/ipv4-defaults.sh"
if [[ -n ${RWLAB_RUN:-} ]]; then RUN=$RWLAB_RUN
elif [[ -s /run/rwlab/run-dir ]]; then RUN=$(</run/rwlab/run-dir)
else RUN=$LAB_DIR/run; fi
DOCKER=/usr/bin/docker
REG=10.77.0.5:5000
FAILED=0
TMP=$(mktemp -d)
FWD_PID=

cleanup() {
    [[ -z $FWD_PID ]] || kill "$FWD_PID" 2>/dev/null || true
    rm -rf -- "$TMP"
}
trap cleanup EXIT

# BatchMode: a test must fail, not prompt. The lab's known_hosts makes host keys
# checked for real.
sshl() {
    local host=$1
    shift
    ssh -F "$RUN/ssh_config" -o BatchMode=yes -o ConnectTimeout=5 "$host" "$@"
}

check() {
    local what=$1
    shift
    if "$@"; then
        echo "ok    $what"
    else
        echo "FAIL  $what"
        FAILED=1
    fi
}

addr_is_own() { sshl lin2 ip -4 -o addr show dev eth0 | grep -q ' 10\.77\.0\.12/24 '; }

hostnames() { [[ $(sshl lin1 hostname) == lin1 && $(sshl lin3 hostname) == lin3 ]]; }

# dockerd sets ip_forward=1 in its host, so flip it on lin2 and make sure neither
# lin1 nor the root namespace follows.
ip_forward_per_host() {
    local before lin1 root
    before=$(sshl lin2 cat /proc/sys/net/ipv4/ip_forward)
    lin1=$(sshl lin1 cat /proc/sys/net/ipv4/ip_forward)
    root=$(cat /proc/sys/net/ipv4/ip_forward)
    sshl lin2 "sysctl -qw net.ipv4.ip_forward=$((1 - before))"
    local ok=1
    [[ $(sshl lin2 cat /proc/sys/net/ipv4/ip_forward) == $((1 - before)) ]] || ok=0
    [[ $(sshl lin1 cat /proc/sys/net/ipv4/ip_forward) == "$lin1" ]] || ok=0
    [[ $(cat /proc/sys/net/ipv4/ip_forward) == "$root" ]] || ok=0
    sshl lin2 "sysctl -qw net.ipv4.ip_forward=$before"
    ((ok))
}

# Every host starts as a freshly booted server, whatever this machine's own namespace has:
# forwarding off and every IPv4 conf key at the kernel's default. The root namespace is
# left as it is; on a machine that forwards, this is the check that matters.
fresh_ipv4() {
    local h drift ok=1
    for h in lin1 lin2 lin3; do
        drift=$(ipv4_conf_drift "$h")
        if [[ -n $drift ]]; then
            echo "      $h differs from a fresh boot (machine forwarding=$(cat /proc/sys/net/ipv4/ip_forward)):" >&2
            sed 's/^/        /' <<<"$drift" >&2
            ok=0
        fi
    done
    ((ok))
}

exec_docker_info() {
    [[ $("$LAB" exec lin2 "$DOCKER" -H unix:///var/run/docker.sock info --format '{{.Name}}') == lin2 ]]
}

registry_pull() {
    local out
    # The password travels on stdin, which docker login is the only one to read.
    out=$(sshl lin3 "set -e
        docker login -u rwin --password-stdin $REG >/dev/null 2>&1
        docker pull -q $REG/busybox:1 >/dev/null
        docker run --rm $REG/busybox:1 echo pulled
        docker rmi -f $REG/busybox:1 >/dev/null
        docker logout $REG >/dev/null" <"$RUN/registry-password") || return 1
    [[ $out == pulled ]]
}

sysctl_d_private() {
    local f=/etc/sysctl.d/99-rwlab-selftest.conf ok=1
    sshl lin1 "echo net.ipv4.ip_forward=1 >$f"
    sshl lin1 test -f "$f" || ok=0
    if sshl lin2 test -e "$f"; then ok=0; fi
    [[ ! -e $f ]] || ok=0
    sshl lin1 rm -f "$f"
    ((ok))
}

own_systemd_dir() {
    local f=/etc/systemd/system/rwlab-selftest.service ok=1
    sshl lin1 "echo '[Unit]' >$f"
    if sshl lin2 test -e "$f" || [[ -e $f ]]; then ok=0; fi
    sshl lin1 rm -f "$f"
    ((ok))
}

docker_sock_forward() {
    local sock=$TMP/docker.sock i
    ssh -F "$RUN/ssh_config" -o BatchMode=yes -o ExitOnForwardFailure=yes -N \
        -L "$sock:/var/run/docker.sock" lin1 &
    FWD_PID=$!
    for ((i = 0; i < 50; i++)); do
        [[ -S $sock ]] && break
        sleep 0.1
    done
    local name
    name=$("$DOCKER" -H "unix://$sock" info --format '{{.Name}}' 2>/dev/null || true)
    "$DOCKER" -H "unix://$sock" ps >/dev/null || name=
    kill "$FWD_PID" 2>/dev/null || true
    wait "$FWD_PID" 2>/dev/null || true
    FWD_PID=
    [[ $name == lin1 ]]
}

check "ssh to lin2 shows its own address 10.77.0.12" addr_is_own
check "hosts have their own hostnames" hostnames
check "hosts boot with forwarding off and the kernel's IPv4 defaults" fresh_ipv4
check "ip_forward is per host" ip_forward_per_host
check "lab.sh exec lin2 docker info talks to lin2's dockerd" exec_docker_info
check "lin3 pulls busybox from the registry after docker login" registry_pull
check "/etc/sysctl.d on lin1 is not lin2's nor the operator's" sysctl_d_private
check "/etc/systemd/system is per host" own_systemd_dir
check "ssh -L forwarding of lin1's /var/run/docker.sock" docker_sock_forward
exit "$FAILED"
