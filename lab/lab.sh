#!/usr/bin/env bash
# rwin test lab: N "Linux machines" on this one machine. Each host linK is a network +
# mount + UTS namespace with its own sshd and dockerd, so rwin (running in the root
# namespace, the "operator laptop") sees separate machines over SSH. A registry host
# (reg, 10.77.0.5) serves the lab's images over TLS with htpasswd auth.
# Usage: lab.sh help. Background and caveats: lab/README.md.
set -euo pipefail
# Errors inside $(...) and functions must stop the script too, and say where.
shopt -s inherit_errexit
set -E
trap 'echo "lab.sh: error: line $LINENO: \"$BASH_COMMAND\" failed" >&2' ERR

LAB_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab/ipv4-defaults.sh
source "$LAB_DIR/ipv4-defaults.sh"
readonly LAB_DIR
# The bridge name and addresses are fixed, so there is one lab per machine; the
# machine-wide bookkeeping lives here (not in the run dir) so that `down` can always
# find what `up` made, whatever RWLAB_RUN says.
readonly STATE_ROOT=/run/rwlab
readonly NSDIR=$STATE_ROOT/ns
readonly LOCK_FILE=/run/rwlab.lock
readonly BRIDGE=rwlab0
readonly BRIDGE_MAC=02:77:00:00:00:01
readonly NET=10.77.0
readonly GW=$NET.1
readonly REG_IP=$NET.5
readonly REG_ADDR=$REG_IP:5000
readonly REG_USER=rwin
readonly MAX_HOSTS=100
readonly TIMEOUT=${RWLAB_TIMEOUT:-60}
readonly IMAGES=("etcd:3.4" "busybox:1")
# Paths every lab host gets its own copy of (bind mounts inside its mount namespace).
# /run covers /var/run (a symlink to it on Debian), hence docker.sock, docker.pid,
# /run/sshd. /root/.docker keeps `docker login` credentials per host.
readonly BIND_DIRS=(/etc/rwin /var/lib/rwin /etc/sysctl.d /etc/systemd/system /etc/docker
                    /var/lib/docker /root/.docker /run)
# /root/.bashrc: bash reads it for every SSH command. This machine's own one runs `pyenv init`
# (~0.1-0.3 s of CPU per command), which a fresh server does not; lab hosts get Debian's
# default (/etc/skel/.bashrc), so the lab measures rwin and not this machine's shell setup.
readonly BIND_FILES=(/etc/hostname /etc/hosts /etc/resolv.conf /root/.bashrc)

# A proxy in the environment would send registry traffic off the machine; the lab
# only ever talks to its own namespaces.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

# The distro client matches the distro dockerd; another docker on PATH (e.g. a newer
# one in /usr/local/bin) is fine for users but the lab should not depend on it.
if [[ -x /usr/bin/docker ]]; then DOCKER=/usr/bin/docker; else DOCKER=$(command -v docker || echo docker); fi
readonly DOCKER
WINSIM_BIN=${WINSIM_BIN:-$(realpath -m -- "$LAB_DIR/../target/debug/winsim")}
readonly WINSIM_BIN

die() { echo "lab.sh: error: $*" >&2; exit 1; }
log() { echo "lab.sh: $*" >&2; }

usage() {
    cat <<EOF
usage: lab.sh COMMAND [ARGS]
  up [N] [--sshd-only] [--no-registry] [--windows=M]
                                        start hosts lin1..linN (default 3, max $MAX_HOSTS)
                                        and M simulated Windows hosts win1..winM (winsim)
  down [--purge]                        tear everything down (--purge also deletes the run dir)
  status                                one line per host (exit 1 if anything is down)
  exec HOST [CMD...]                    run CMD (default bash) in HOST's namespaces (lin1.., reg)
  sshd stop|start HOST                  stop/start one host's sshd
  dockerd stop|start HOST               stop/start one host's dockerd
  winsim stop|start HOST                stop/start a Windows host's simulator (its SSH and WinRM)
  rekey HOST                            new sshd host key for HOST, restart its sshd
  link down|up HOST                     cut/restore HOST's cable to the lab bridge
env: RWLAB_RUN=dir (state dir, default lab/run), RWLAB_TIMEOUT=secs (daemon wait, default 60),
     WINSIM_BIN=path (default target/debug/winsim)
EOF
}

# --- paths and names ------------------------------------------------------------------

resolve_run() {
    if [[ -n ${RWLAB_RUN:-} ]]; then
        RUN=$RWLAB_RUN
    elif [[ -s $STATE_ROOT/run-dir ]]; then
        # Later commands find the run dir of the lab that is up without the env var.
        RUN=$(<"$STATE_ROOT/run-dir")
    else
        RUN=$LAB_DIR/run
    fi
    RUN=$(realpath -m -- "$RUN")
    local p
    for p in "${BIND_DIRS[@]}"; do
        # A run dir under a per-host path would be hidden inside the hosts, and sshd
        # reads its config, keys and authorized_keys from there.
        if [[ $RUN == "$p" || $RUN == "$p"/* ]]; then
            die "RWLAB_RUN=$RUN is under $p, which every lab host replaces; pick another dir"
        fi
    done
}

host_ip() {
    case $1 in
    reg) echo "$REG_IP" ;;
    win*) echo "$NET.$((200 + ${1#win}))" ;;
    *) echo "$NET.$((10 + ${1#lin}))" ;;
    esac
}

valid_host() {
    [[ $1 == reg ]] && return 0
    [[ $1 =~ ^win([1-9])$ ]] && return 0
    [[ $1 =~ ^lin([1-9][0-9]*)$ ]] && ((BASH_REMATCH[1] <= MAX_HOSTS))
}

# Windows hosts are simulated: winsim (tests/winsim) answers SSH and WinRM instead of sshd.
is_win() { [[ $1 == win* ]]; }

hdir() { echo "$RUN/hosts/$1"; }

host_up() {
    [[ -e /run/netns/rwlab-$1 ]] && mountpoint -q "$NSDIR/$1.mnt"
}

need_host() {
    valid_host "$1" || die "unknown host '$1' (lin1..lin$MAX_HOSTS, win1..win9 or reg)"
    host_up "$1" || die "host $1 is not up"
}

# Run a command inside a host. nsenter, not `ip netns exec`: the latter remounts /sys
# and dockerd then dies ("Devices cgroup isn't mounted").
in_host() {
    local h=$1
    shift
    nsenter --net="/run/netns/rwlab-$h" --mount="$NSDIR/$h.mnt" --uts="$NSDIR/$h.uts" -- "$@"
}

lab_hosts() {
    # Hosts of the lab that is up, from the state `up` wrote.
    local n=0
    [[ -s $RUN/state ]] && n=$(sed -n 's/^hosts=//p' "$RUN/state")
    local k w=0
    for ((k = 1; k <= n; k++)); do echo "lin$k"; done
    [[ -s $RUN/state ]] && w=$(sed -n 's/^windows=//p' "$RUN/state")
    for ((k = 1; k <= ${w:-0}; k++)); do echo "win$k"; done
}

state_get() { sed -n "s/^$1=//p" "$RUN/state" 2>/dev/null; }

take_lock() {
    mkdir -p "$(dirname "$LOCK_FILE")"
    exec 9>"$LOCK_FILE"
    flock -w 600 9 || die "another lab.sh holds $LOCK_FILE"
}

now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# --- processes ------------------------------------------------------------------------

# Start a long-running daemon detached from our session and stdio, so callers that
# capture our output never wait on it, and without the lock fd.
launch() {
    local logf=$1
    shift
    setsid "$@" </dev/null >>"$logf" 2>&1 9>&- &
    LAUNCHED=$!
}

# A zombie counts as gone: this machine's init may take a while to reap it.
proc_alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

pid_running() {
    local f=$1 comm=$2 pid
    [[ -s $f ]] || return 1
    pid=$(<"$f")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] && proc_alive "$pid"
}

# Stop what a pid file names: TERM, then KILL after a grace period. Removes the file,
# because a stale pid file makes the next start fail.
stop_pidfile() {
    local f=$1 comm=$2 grace=$3 pid i
    if pid_running "$f" "$comm"; then
        pid=$(<"$f")
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < grace * 10; i++)); do
            proc_alive "$pid" || break
            sleep 0.1
        done
        if proc_alive "$pid"; then
            log "$comm ($pid) ignored TERM for ${grace}s, killing"
            kill -KILL "$pid" 2>/dev/null || true
            while proc_alive "$pid"; do sleep 0.1; done
        fi
    fi
    rm -f -- "$f"
}

# wait_until DESC LOGFILE PID CMD...: poll CMD until it succeeds; exit early if PID (if
# not empty) died, or after TIMEOUT, showing the daemon's log tail.
wait_until() {
    local desc=$1 logf=$2 pid=$3
    shift 3
    local start=$SECONDS
    until "$@" >/dev/null 2>&1; do
        if [[ -n $pid ]] && ! proc_alive "$pid" || ((SECONDS - start >= TIMEOUT)); then
            {
                if [[ -n $pid ]] && ! proc_alive "$pid"; then
                    echo "lab.sh: error: $desc: daemon exited"
                else
                    echo "lab.sh: error: $desc: not ready after ${TIMEOUT}s"
                fi
                echo "---- last lines of $logf:"
                tail -n 30 -- "$logf" 2>/dev/null || true
                echo "----"
            } >&2
            exit 1
        fi
        sleep 0.1
    done
}

# shellcheck disable=SC2016 # expanded by the inner bash
tcp_open() { timeout 1 bash -c ': >"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null; }

# --- key material ---------------------------------------------------------------------

ensure_client_key() {
    [[ -s $RUN/id_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -C rwlab-client -f "$RUN/id_ed25519"
    cp -- "$RUN/id_ed25519.pub" "$RUN/authorized_keys"
}

# Host keys live outside the per-host fs tree, so they survive down/up: rwin's
# known_hosts checks then see the same machine until `rekey`.
ensure_host_key() {
    local key
    key="$(hdir "$1")/ssh_host_ed25519_key"
    [[ -s $key ]] || ssh-keygen -q -t ed25519 -N '' -C "root@$1" -f "$key"
}

ensure_ca() {
    local d=$RUN/ca
    mkdir -p "$d"
    if [[ ! -s $d/ca.crt ]]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$d/ca.key" -out "$d/ca.crt" -days 3650 -subj "/CN=rwlab CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        rm -f -- "$d/registry.crt"
    fi
    if [[ ! -s $d/registry.crt ]]; then
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$d/registry.key" -out "$d/registry.csr" -subj "/CN=$REG_IP" 2>/dev/null
        # Go's TLS ignores the CN: the IP SAN is what makes 10.77.0.5:5000 verify.
        openssl x509 -req -in "$d/registry.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
            -CAcreateserial -out "$d/registry.crt" -days 3650 -extfile <(printf '%s\n' \
                "subjectAltName=IP:$REG_IP" "extendedKeyUsage=serverAuth" \
                "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature") 2>/dev/null
        rm -f -- "$d/registry.csr"
    fi
    chmod 600 "$d"/*.key
}

ensure_registry_auth() {
    local pwf=$RUN/registry-password htp=$RUN/registry/htpasswd
    mkdir -p "$RUN/registry/storage"
    if [[ ! -s $pwf ]]; then
        (umask 077 && openssl rand -hex 16 >"$pwf")
    fi
    chmod 600 "$pwf"
    if [[ ! -s $htp || $pwf -nt $htp ]]; then
        # -i: password from stdin, never on a command line.
        htpasswd -B -i -c "$htp" "$REG_USER" <"$pwf" 2>/dev/null
    fi
}

write_registry_config() {
    local secret
    secret=$(openssl rand -hex 16)
    cat >"$RUN/registry/config.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $RUN/registry/storage
  delete:
    enabled: true
http:
  addr: $REG_ADDR
  secret: $secret
  tls:
    certificate: $RUN/ca/registry.crt
    key: $RUN/ca/registry.key
auth:
  htpasswd:
    realm: rwlab
    path: $RUN/registry/htpasswd
EOF
}

# --- host plumbing --------------------------------------------------------------------

# Bind mounts need their target to exist in the (shared) root filesystem. Create the
# missing ones and remember them so `down` can remove them again if still empty.
ensure_mountpoints() {
    local p
    for p in "${BIND_DIRS[@]}"; do
        if [[ ! -e $p ]]; then
            mkdir -p -- "$p"
            echo "$p" >>"$STATE_ROOT/created-mountpoints"
        fi
    done
    for p in "${BIND_FILES[@]}"; do
        if [[ ! -e $p ]]; then
            touch -- "$p"
            echo "$p" >>"$STATE_ROOT/created-mountpoints"
        fi
    done
}

# The per-host tree is wiped on every `up`: each up gives fresh machines (no images,
# no rwin state). Only the host key, above the tree, is kept.
prepare_host_fs() {
    local h=$1 with_registry=$2 hosts_body=$3
    local fs
    fs="$(hdir "$h")/fs"
    rm -rf -- "$fs"
    mkdir -p "$fs"/{etc/rwin,var/lib/rwin,etc/sysctl.d,etc/systemd/system,etc/docker,var/lib/docker,root/.docker,run/sshd}
    # As a fresh Debian server has them, not as this machine does: a drop-in here that turns
    # forwarding on (common where Docker or a VPN was set up) would read as already done.
    printf '%s\n' "Files here are read by systemd-sysctl at boot (sysctl.d(5))." \
        >"$fs/etc/sysctl.d/README.sysctl"
    mkdir -p "$fs/etc/systemd/system/multi-user.target.wants"
    chmod 700 "$fs/root/.docker"
    chmod 755 "$fs/run/sshd"
    echo "$h" >"$fs/etc/hostname"
    mkdir -p "$fs/root"
    if [[ -f /etc/skel/.bashrc ]]; then cp /etc/skel/.bashrc "$fs/root/.bashrc"; else : >"$fs/root/.bashrc"; fi
    printf '%s' "$hosts_body" >"$fs/etc/hosts"
    # Nothing answers DNS on the bridge address, so lookups fail fast and locally
    # instead of heading for the machine's real resolver.
    printf 'nameserver %s\n' "$GW" >"$fs/etc/resolv.conf"
    if [[ $with_registry == 1 ]]; then
        mkdir -p "$fs/etc/docker/certs.d/$REG_ADDR"
        cp -- "$RUN/ca/ca.crt" "$fs/etc/docker/certs.d/$REG_ADDR/ca.crt"
    fi
}

# Reset the namespace's inherited IPv4 settings to a fresh boot's. Run before eth0 moves in,
# so eth0 is created from the reset conf/default; lo exists already and is reset here.
# Read-only keys (mc_forwarding) are skipped.
reset_ipv4_conf() {
    local h=$1 scope f key
    {
        echo "net.ipv4.ip_forward=0"
        for scope in all default lo; do
            for f in /proc/sys/net/ipv4/conf/"$scope"/*; do
                key=${f##*/}
                [[ -w $f ]] || continue
                echo "net.ipv4.conf.$scope.$key=$(ipv4_conf_default "$key" "$scope")"
            done
        done
    } | nsenter --net="/run/netns/rwlab-$h" sysctl -q -p - >/dev/null
    [[ $(nsenter --net="/run/netns/rwlab-$h" cat /proc/sys/net/ipv4/ip_forward) == 0 ]] \
        || die "could not turn forwarding off in $h's namespace"
}

make_netns() {
    local h=$1 ip last
    ip=$(host_ip "$h")
    last=${ip##*.}
    ip netns add "rwlab-$h"
    reset_ipv4_conf "$h"
    ip link add "rwl-$h" type veth peer name eth0 address "$(printf '02:77:00:00:00:%02x' "$last")" \
        netns "rwlab-$h"
    ip link set "rwl-$h" master "$BRIDGE" up
    ip -n "rwlab-$h" -batch - <<EOF
link set lo up
addr add $ip/24 dev eth0
link set eth0 up
route add default via $GW
EOF
}

# Persistent mount + UTS namespaces, kept alive by bind mounts of their ns files in
# $NSDIR (a private mount, so the ns files never propagate into each other).
make_mountns() {
    local h=$1 fs
    fs="$(hdir "$h")/fs"
    touch "$NSDIR/$h.mnt" "$NSDIR/$h.uts"
    # shellcheck disable=SC2016 # expanded by the inner bash
    unshare --mount="$NSDIR/$h.mnt" --uts="$NSDIR/$h.uts" --propagation private -- \
        bash -euc 'h=$1 fs=$2; shift 2
            hostname "$h"
            # Drop this copy of the other hosts namespace files: it would pin them
            # and make every further namespace copy bigger (quadratic at 100 hosts).
            umount -l /run/netns 2>/dev/null || true
            umount -l '"$NSDIR"' 2>/dev/null || true
            for p in "$@"; do mount --bind "$fs$p" "$p"; done' \
        _ "$h" "$fs" "${BIND_FILES[@]}" "${BIND_DIRS[@]}"
}

write_sshd_config() {
    local h=$1 d
    d=$(hdir "$h")
    cat >"$d/sshd_config" <<EOF
# Generated by lab.sh for lab host $h; rewritten on every up.
ListenAddress $(host_ip "$h")
Port 22
HostKey $d/ssh_host_ed25519_key
PidFile $d/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile $RUN/authorized_keys
UsePAM no
StrictModes no
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
MaxSessions 100
LogLevel VERBOSE
PrintMotd no
PrintLastLog no
X11Forwarding no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
}

start_sshd() {
    local h=$1 d ip
    d=$(hdir "$h")
    ip=$(host_ip "$h")
    if pid_running "$d/sshd.pid" sshd; then
        log "sshd on $h already running"
        return 0
    fi
    rm -f -- "$d/sshd.pid"
    # sshd binds before it daemonizes, so a bad config or address fails right here.
    if ! in_host "$h" /usr/sbin/sshd -f "$d/sshd_config" -E "$d/sshd.log" 9>&-; then
        tail -n 20 -- "$d/sshd.log" >&2 || true
        die "sshd on $h failed to start (log: $d/sshd.log)"
    fi
}

wait_sshd() {
    local h=$1 d
    d=$(hdir "$h")
    wait_until "sshd on $h ($(host_ip "$h"):22)" "$d/sshd.log" "" tcp_open "$(host_ip "$h")" 22
}

# Paths are the standard ones as the host sees them; from the root namespace they are
# under hosts/H/fs. No iptables/bridge: rwin sets up pod networking itself. Containers
# go under their own cgroup parent so `down` can find and remove them per host.
start_dockerd() {
    local h=$1 d
    d=$(hdir "$h")
    if pid_running "$d/fs/run/docker.pid" dockerd; then
        log "dockerd on $h already running"
        DOCKERD_PID=$(<"$d/fs/run/docker.pid")
        return 0
    fi
    rm -f -- "$d/fs/run/docker.pid"
    # --ip-forward=false: hosts start with forwarding off, as a fresh machine does, so rwin must turn it on.
    launch "$d/dockerd.log" nsenter --net="/run/netns/rwlab-$h" --mount="$NSDIR/$h.mnt" \
        --uts="$NSDIR/$h.uts" -- dockerd \
        --data-root /var/lib/docker --exec-root /var/run/docker --pidfile /var/run/docker.pid \
        -H unix:///var/run/docker.sock --bridge=none --iptables=false --ip-masq=false --ip-forward=false \
        --cgroup-parent="/rwlab-$h"
    DOCKERD_PID=$LAUNCHED
}

docker_answers() { in_host "$1" "$DOCKER" -H unix:///var/run/docker.sock version; }

wait_dockerd() {
    local h=$1 pid=$2
    wait_until "dockerd on $h" "$(hdir "$h")/dockerd.log" "$pid" docker_answers "$h"
}

# winsim in the host's namespaces, with the host's dockerd behind it. Its certificate is
# signed by the lab CA for the host's IP, as a WinRM HTTPS listener's would be.
ensure_winsim_cert() {
    local h=$1 d ip
    d=$(hdir "$h")
    ip=$(host_ip "$h")
    [[ -s $d/winrm.crt ]] && return 0
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$d/winrm.key" -out "$d/winrm.csr" -subj "/CN=$ip" 2>/dev/null
    openssl x509 -req -in "$d/winrm.csr" -CA "$RUN/ca/ca.crt" -CAkey "$RUN/ca/ca.key" \
        -CAcreateserial -out "$d/winrm.crt" -days 3650 -extfile <(printf '%s\n' \
            "subjectAltName=IP:$ip" "extendedKeyUsage=serverAuth" \
            "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature") 2>/dev/null
    rm -f -- "$d/winrm.csr"
    chmod 600 "$d/winrm.key"
}

ensure_winsim_password() {
    local pwf=$RUN/winsim-password
    [[ -s $pwf ]] || (umask 077 && openssl rand -hex 12 >"$pwf")
}

start_winsim() {
    local h=$1 d ip
    d=$(hdir "$h")
    ip=$(host_ip "$h")
    if pid_running "$d/winsim.pid" winsim; then
        log "winsim on $h already running"
        return 0
    fi
    [[ -x $WINSIM_BIN ]] || die "winsim binary $WINSIM_BIN missing: cargo build -p winsim (or set WINSIM_BIN)"
    WINSIM_PASSWORD=$(<"$RUN/winsim-password") launch "$d/winsim.log" \
        nsenter --net="/run/netns/rwlab-$h" --mount="$NSDIR/$h.mnt" --uts="$NSDIR/$h.uts" -- \
        "$WINSIM_BIN" serve --state "$d/winsim-state.json" \
        --ssh "$ip:22" --ssh-host-key "$d/ssh_host_ed25519_key" --authorized-key "$RUN/authorized_keys" \
        --password-env WINSIM_PASSWORD --user Administrator \
        --winrm-http "$ip:5985" --winrm-https "$ip:5986" --tls-cert "$d/winrm.crt" --tls-key "$d/winrm.key" \
        --docker-host unix:///var/run/docker.sock \
        --user-file 'C:\Program Files\devcon\devcon.exe'
    echo "$LAUNCHED" >"$d/winsim.pid"
    wait_until "winsim on $h ($ip:22)" "$d/winsim.log" "$LAUNCHED" tcp_open "$ip" 22
    wait_until "winsim on $h ($ip:5985)" "$d/winsim.log" "$LAUNCHED" tcp_open "$ip" 5985
}

start_registry() {
    local logf=$RUN/registry/registry.log
    rm -f -- "$RUN/registry/registry.pid"
    : >"$logf"
    # bash records its own pid, then execs (via nsenter) into the registry: same pid.
    # shellcheck disable=SC2016 # expanded by the inner bash
    launch "$logf" bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$RUN/registry/registry.pid" \
        nsenter --net=/run/netns/rwlab-reg --mount="$NSDIR/reg.mnt" --uts="$NSDIR/reg.uts" -- \
        docker-registry serve "$RUN/registry/config.yml"
    REGISTRY_PID=$LAUNCHED
}

reg_curl() {
    # Credentials through a config on stdin, never on a command line.
    printf 'user = "%s:%s"\n' "$REG_USER" "$(<"$RUN/registry-password")" |
        curl --noproxy '*' -sS --cacert "$RUN/ca/ca.crt" -K - "$@"
}

registry_answers() {
    # 401 means TLS verified and auth is on: the registry is fully up.
    [[ $(curl --noproxy '*' -s -o /dev/null -w '%{http_code}' --cacert "$RUN/ca/ca.crt" \
        "https://$REG_ADDR/v2/") == 401 ]]
}

registry_has() {
    local name=${1%%:*} tag=${1#*:}
    reg_curl -f -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "https://$REG_ADDR/v2/$name/manifests/$tag" 2>/dev/null
}

# --- images ---------------------------------------------------------------------------

# Copy binaries plus the shared libraries ldd names, at the same paths.
copy_with_libs() {
    local root=$1 lib bin
    shift
    for bin in "$@"; do install -D -m 755 -- "$bin" "$root$bin"; done
    # ldd fails on a static binary (busybox-static): nothing to copy then.
    while read -r lib; do
        cp -L --parents -- "$lib" "$root"
    done < <({ ldd "$@" 2>/dev/null || true; } | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $1 !~ /:$/ { print $1 }' | sort -u)
}

# Deterministic tarballs give identical layer digests on every rebuild.
pack_rootfs() {
    local root=$1 out=$2
    chmod 755 "$root"
    install -d -m 1777 "$root/tmp"
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf "$out.tmp" .
    mv -f -- "$out.tmp" "$out"
    rm -rf -- "$root"
}

# Builds missing or outdated tarballs; prints the images whose tarball changed.
build_image_tars() {
    local dir=$RUN/images root a
    mkdir -p "$dir"
    if [[ ! -s $dir/etcd-3.4.tar || /usr/bin/etcd -nt $dir/etcd-3.4.tar || /usr/bin/etcdctl -nt $dir/etcd-3.4.tar ]]; then
        root=$(mktemp -d "$dir/.etcd.XXXXXX")
        copy_with_libs "$root" /usr/bin/etcd /usr/bin/etcdctl
        pack_rootfs "$root" "$dir/etcd-3.4.tar"
        echo "etcd:3.4"
    fi
    if [[ ! -s $dir/busybox-1.tar || /bin/busybox -nt $dir/busybox-1.tar ]]; then
        root=$(mktemp -d "$dir/.busybox.XXXXXX")
        copy_with_libs "$root" /bin/busybox
        for a in sh ping nc httpd sleep wget ip ifconfig cat echo ls \
            hostname ps kill mkdir rm env true false grep route netstat; do
            ln -s busybox "$root/bin/$a"
        done
        pack_rootfs "$root" "$dir/busybox-1.tar"
        echo "busybox:1"
    fi
}

# Import into a throwaway builder dockerd in the registry namespace, push, then remove
# it again: no lab host ever has an image it did not pull from the registry.
push_images() {
    local img out
    local -A job=()
    log "pushing $* to $REG_ADDR (builder dockerd in reg)"
    start_dockerd reg
    wait_dockerd reg "$DOCKERD_PID"
    # Quiet on success (login warns about plain-text credentials), loud on failure.
    out=$(in_host reg "$DOCKER" login -u "$REG_USER" --password-stdin "$REG_ADDR" \
        <"$RUN/registry-password" 2>&1) || die "docker login to $REG_ADDR failed: $out"
    # In parallel: the etcd layer alone takes seconds to gzip and upload.
    for img in "$@"; do
        push_one "$img" &
        job[$img]=$!
    done
    for img in "$@"; do
        wait "${job[$img]}" || die "pushing $REG_ADDR/$img failed (builder log: $(hdir reg)/dockerd.log)"
    done
    # No need to wait for the builder to exit: nothing uses it any more, and down
    # reaps it like any other lab process.
    kill -TERM "$(<"$(hdir reg)/fs/run/docker.pid")" 2>/dev/null || true
}

push_one() {
    local img=$1 change
    case $img in
    etcd:*) change='ENTRYPOINT ["/usr/bin/etcd"]' ;;
    busybox:*) change='CMD ["sh"]' ;;
    esac
    in_host reg "$DOCKER" import -c "$change" "$RUN/images/${img/:/-}.tar" "$REG_ADDR/$img" >/dev/null
    in_host reg "$DOCKER" push "$REG_ADDR/$img" >/dev/null
    in_host reg "$DOCKER" rmi "$REG_ADDR/$img" >/dev/null
}

ensure_images() {
    local img changed
    local -a todo=()
    local -A rebuilt=()
    changed=$(build_image_tars)
    for img in $changed; do rebuilt[$img]=1; done
    for img in "${IMAGES[@]}"; do
        if [[ -n ${rebuilt[$img]:-} ]] || ! registry_has "$img"; then todo+=("$img"); fi
    done
    if ((${#todo[@]})); then
        push_images "${todo[@]}"
    else
        log "images already in the registry (storage: $RUN/registry/storage)"
    fi
    for img in "${IMAGES[@]}"; do
        registry_has "$img" || die "$REG_ADDR/$img missing from the registry after push"
    done
}

# --- files for the operator -----------------------------------------------------------

write_ssh_files() {
    local h ip
    {
        echo "# Generated by lab.sh: ssh -F $RUN/ssh_config lin1"
        while read -r h; do
            printf 'Host %s\n  HostName %s\n' "$h" "$(host_ip "$h")"
        done < <(lab_hosts)
        printf 'Host win*\n  User Administrator\n'
        printf 'Host *\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n' "$RUN/id_ed25519"
        printf '  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n' "$RUN/known_hosts"
    } >"$RUN/ssh_config"
    while read -r h; do
        ip=$(host_ip "$h")
        printf '%s,%s %s\n' "$ip" "$h" "$(cut -d' ' -f1,2 "$(hdir "$h")/ssh_host_ed25519_key.pub")"
    done < <(lab_hosts) >"$RUN/known_hosts"
}

write_cluster_yml() {
    local n=$1 full=$2 windows=${3:-0} no_engine=${4:-0} k roles f=$RUN/cluster.yml
    {
        echo "# Generated by lab.sh up: $n lab hosts."
        echo "cluster_name: lab"
        echo "ssh_key_path: $RUN/id_ed25519"
        cat <<'EOF'
network:
  cluster_cidr: 10.42.0.0/16
  node_prefix: 24
  outbound_nat: true
EOF
        if ((no_engine)); then
            # sshd-only hosts have no dockerd: routing and a plain bridge only.
            printf '  container_engine: none\n'
        fi
        if ((windows)); then
            # Seed 000's metadata and DNS /32 routes on Windows nodes' container adapters.
            printf '  metadata_address: 169.254.169.250\n  dns_address: 169.254.169.251\n'
        fi
        if [[ $full == 1 ]]; then
            cat <<EOF
private_registries:
  - {url: "$REG_ADDR", user: $REG_USER, password_env: REGISTRY_PASSWORD, is_default: true}
EOF
        fi
        echo "nodes:"
        for ((k = 1; k <= n; k++)); do
            # Three etcd members at most: a bigger lab adds workers, not voters.
            if ((k <= 3)); then roles="[etcd, controlplane, worker]"; else roles="[worker]"; fi
            cat <<EOF
  - address: $(host_ip "lin$k")
    internal_address: $(host_ip "lin$k")
    hostname_override: lin$k
    role: $roles
    user: root
EOF
        done
        # win1 over OpenSSH; the others over WinRM on HTTP with NTLM message encryption,
        # a stock host's setup (AllowUnencrypted=false).
        for ((k = 1; k <= windows; k++)); do
            cat <<EOF
  - address: $(host_ip "win$k")
    hostname_override: win$k
    os: windows
    role: [worker]
EOF
            if ((k == 1)); then
                printf '    connection: ssh\n    user: Administrator\n'
            else
                printf '    winrm: {https: false, auth: ntlm, user: Administrator, password_env: WINRM_PASSWORD}\n'
            fi
        done
        if [[ $full == 1 ]]; then
            cat <<'EOF'
components:
  - name: etcd
    image: 10.77.0.5:5000/etcd:3.4
    roles: [etcd]
    network: host
    binds: ["/var/lib/rwin/etcd:/var/lib/etcd"]
    args:
      - --name={{node.name}}
      - --data-dir=/var/lib/etcd
      - --listen-client-urls=http://{{node.internal_address}}:2379
      - --advertise-client-urls=http://{{node.internal_address}}:2379
      - --listen-peer-urls=http://{{node.internal_address}}:2380
      - --initial-advertise-peer-urls=http://{{node.internal_address}}:2380
      - --initial-cluster={{ role.etcd | format "{name}=http://{internal_address}:2380" | join "," }}
      - --initial-cluster-state=new
      - --initial-cluster-token={{cluster.name}}
    health: {http: "http://{{node.internal_address}}:2379/health", timeout: 60s}
  - name: web
    after: [etcd]
    image: 10.77.0.5:5000/busybox:1
    # On winsim hosts this "Windows image" is the same Linux busybox: winsim runs Linux
    # containers in a Linux dockerd (see tests/winsim/README.md).
    windows_image: {ltsc2022: "10.77.0.5:5000/busybox:1"}
    roles: [worker]
    network: pod
    command: ["httpd", "-f", "-p", "80", "-h", "/tmp"]
    health: {tcp: "{{container.ip}}:80", timeout: 30s}
EOF
            if ((windows)); then
                # Host-process components on the Windows nodes (seed 000's per-host-subnet
                # network service and agent): two small files stand in for their binaries.
                # winsim counts a file as a Windows service program when it names
                # StartServiceCtrlDispatcherW, as a real one imports it (tests/winsim/BEHAVIOURS.md).
                printf 'rwin lab network service %s StartServiceCtrlDispatcherW\n' "$(date +%s)" >"$RUN/rwin-netsvc.exe"
                printf 'rwin lab agent StartServiceCtrlDispatcherW\n' >"$RUN/rwin-agent.exe"
                cat <<EOF
  - name: netsvc
    service: {binary: $RUN/rwin-netsvc.exe, args: ["--node", "{{node.name}}", "--subnet", "{{node.subnet}}"]}
  - name: agent
    service: {binary: $RUN/rwin-agent.exe, args: ["--node", "{{node.name}}"], depends_on: [netsvc]}
EOF
            fi
        fi
    } >"$f"
    if ((windows)); then
        # The pod component publishes a port on every node: Docker on Linux, RRAS NAT port
        # mappings on Windows.
        sed -i 's/^    network: pod$/    network: pod\n    ports: ["8080:80"]/' "$f"
    fi
}

# --- firewall -------------------------------------------------------------------------

fw_rule() {
    local op=$1 kind=$2
    case $kind in
    # A dockerd with iptables (e.g. a system one) sets FORWARD to DROP, which also
    # drops bridged traffic between lab hosts (br_netfilter).
    accept) iptables "$op" FORWARD -i "$BRIDGE" -o "$BRIDGE" -m comment --comment rwlab -j ACCEPT ;;
    # Lab traffic must never be routed off the bridge (e.g. to DNS servers), even if
    # this machine has forwarding on.
    guard) iptables "$op" FORWARD -i "$BRIDGE" ! -o "$BRIDGE" -m comment --comment rwlab -j DROP ;;
    esac
}

fw_setup() {
    if ! fw_rule -C guard 2>/dev/null; then
        fw_rule -I guard || log "warning: could not add the iptables guard rule"
    fi
    if iptables -S FORWARD 2>/dev/null | grep -qx -- '-P FORWARD DROP'; then
        fw_rule -C accept 2>/dev/null || fw_rule -I accept
    fi
}

fw_teardown() {
    local kind
    command -v iptables >/dev/null || return 0
    for kind in accept guard; do
        while fw_rule -C "$kind" 2>/dev/null; do fw_rule -D "$kind"; done
    done
}

# --- up -------------------------------------------------------------------------------

# Namespaces, files and sshd for one host (runs in parallel with other hosts).
setup_host() {
    local h=$1 registry=$2 hosts_body=$3
    mkdir -p "$(hdir "$h")"
    prepare_host_fs "$h" "$registry" "$hosts_body"
    make_netns "$h"
    make_mountns "$h"
    [[ $h != reg ]] || return 0
    ensure_host_key "$h"
    # A fresh machine: winsim starts from a stock Windows Server state.
    if is_win "$h"; then
        rm -f -- "$(hdir "$h")/winsim-state.json"
        return 0
    fi
    write_sshd_config "$h"
    : >"$(hdir "$h")/sshd.log"
    start_sshd "$h"
}

lab_exists() {
    [[ -e /sys/class/net/$BRIDGE ]] && return 0
    compgen -G "/run/netns/rwlab-*" >/dev/null && return 0
    mountpoint -q "$NSDIR" 2>/dev/null
}

cmd_up() {
    local n=3 sshd_only=0 registry=1 windows=0 arg h k t0 tool
    for arg in "$@"; do
        case $arg in
        --windows=[0-9]) windows=${arg#--windows=} ;;
        --sshd-only) sshd_only=1 ;;
        --no-registry) registry=0 ;;
        [0-9]*) [[ $arg =~ ^[0-9]+$ ]] || die "bad host count '$arg'"; n=$arg ;;
        *) die "up: unknown argument '$arg'" ;;
        esac
    done
    ((n >= 1 && n <= MAX_HOSTS)) || die "host count must be 1..$MAX_HOSTS"
    if ((windows)); then
        ((!sshd_only && registry)) || die "--windows needs dockerd and the registry (no --sshd-only, --no-registry)"
        [[ -x $WINSIM_BIN ]] || die "winsim binary $WINSIM_BIN missing: cargo build -p winsim (or set WINSIM_BIN)"
    fi
    for tool in ip nsenter unshare sshd ssh-keygen openssl; do
        command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] || die "$tool missing: run lab/install-deps.sh"
    done
    if ((!sshd_only)); then command -v dockerd >/dev/null || die "dockerd missing: run lab/install-deps.sh"; fi
    if ((registry)); then
        for tool in docker-registry htpasswd curl; do
            command -v "$tool" >/dev/null || die "$tool missing: run lab/install-deps.sh"
        done
    fi
    take_lock
    lab_exists && die "the lab is already (partly) up; run 'lab.sh down' first"
    t0=$(now)

    mkdir -p "$RUN/hosts" "$STATE_ROOT"
    touch "$RUN/.rwlab"
    if grep -q " $RUN/" /proc/self/mountinfo; then die "something is mounted under $RUN"; fi
    echo "$RUN" >"$STATE_ROOT/run-dir"
    printf 'hosts=%s\nsshd_only=%s\nregistry=%s\nwindows=%s\n' "$n" "$sshd_only" "$registry" "$windows" >"$RUN/state"
    UP_DONE=0
    trap '((UP_DONE)) || echo "lab.sh: up failed; run lab.sh down to clean up" >&2' EXIT

    ensure_client_key
    if ((registry)); then
        ensure_ca
        ensure_registry_auth
        write_registry_config
    fi

    mkdir -p "$NSDIR"
    mountpoint -q "$NSDIR" || mount --bind "$NSDIR" "$NSDIR"
    mount --make-private "$NSDIR"
    ensure_mountpoints

    ip link add "$BRIDGE" address "$BRIDGE_MAC" type bridge
    ip addr add "$GW/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    fw_setup

    # Every host knows every lab host by name, as with DNS on a real network.
    local hosts_body
    hosts_body=$(printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n%s\treg\n' "$REG_IP"
        for ((k = 1; k <= n; k++)); do printf '%s.%d\tlin%d\n' "$NET" $((10 + k)) "$k"; done
        for ((k = 1; k <= windows; k++)); do printf '%s.%d\twin%d\n' "$NET" $((200 + k)) "$k"; done)
    local -a hosts=()
    if ((registry)); then hosts+=(reg); fi
    for ((k = 1; k <= n; k++)); do hosts+=("lin$k"); done
    for ((k = 1; k <= windows; k++)); do hosts+=("win$k"); done
    # Hosts are independent and setup is mostly process start-up, so a few at a time
    # (100 hosts: ~16 s one by one).
    local -a batch=()
    local i
    for ((i = 0; i < ${#hosts[@]}; i++)); do
        setup_host "${hosts[i]}" "$registry" "$hosts_body"$'\n' &
        batch+=($!)
        if ((${#batch[@]} == 8 || i == ${#hosts[@]} - 1)); then
            for k in "${batch[@]}"; do wait "$k" || die "setting up the hosts failed"; done
            batch=()
        fi
    done
    log "${#hosts[@]} hosts ready for daemons after $(since "$t0")s"

    if ((registry)); then start_registry; fi
    local -A dpid=()
    for h in $(for ((k = 1; k <= n; k++)); do echo "lin$k"; done; for ((k = 1; k <= windows; k++)); do echo "win$k"; done); do
        if ((!sshd_only)); then
            : >"$(hdir "$h")/dockerd.log"
            start_dockerd "$h"
            dpid[$h]=$DOCKERD_PID
        fi
    done

    if ((registry)); then
        : >"$(hdir reg)/dockerd.log"
        wait_until "registry on $REG_ADDR" "$RUN/registry/registry.log" "$REGISTRY_PID" registry_answers
        ensure_images
    fi
    for ((k = 1; k <= n; k++)); do
        wait_sshd "lin$k"
        if ((!sshd_only)); then wait_dockerd "lin$k" "${dpid[lin$k]}"; fi
    done
    if ((windows)); then ensure_winsim_password; fi
    for ((k = 1; k <= windows; k++)); do
        wait_dockerd "win$k" "${dpid[win$k]}"
        ensure_winsim_cert "win$k"
        start_winsim "win$k"
    done

    write_ssh_files
    if ((!sshd_only && registry)); then write_cluster_yml "$n" 1 "$windows"; else write_cluster_yml "$n" 0 0 "$sshd_only"; fi
    # shellcheck disable=SC2034 # read by the EXIT trap
    UP_DONE=1
    summary "$n" "$sshd_only" "$registry" "$(since "$t0")"
}

summary() {
    local n=$1 sshd_only=$2 registry=$3 secs=$4 k what="sshd + dockerd"
    if ((sshd_only)); then what="sshd only"; fi
    echo "rwlab is up in ${secs}s: $n hosts ($what)$( ((registry)) && echo ", registry $REG_ADDR")"
    echo "  operator side: bridge $BRIDGE $GW/24 in the root namespace"
    for ((k = 1; k <= n && k <= 5; k++)); do
        echo "  lin$k  $(host_ip "lin$k")  ssh -F $RUN/ssh_config lin$k"
    done
    if ((n > 5)); then echo "  ... lin$n  $(host_ip "lin$n")"; fi
    echo "  ssh key:     $RUN/id_ed25519 (user root; known hosts: $RUN/known_hosts)"
    echo "  cluster:     $RUN/cluster.yml"
    if ((registry)); then
        echo "  registry:    https://$REG_ADDR (user $REG_USER, CA $RUN/ca/ca.crt)"
        echo "  export REGISTRY_PASSWORD=\$(cat $RUN/registry-password)"
    fi
    if ((sshd_only)); then
        echo "  in a host:   $LAB_DIR/lab.sh exec lin1 ip addr"
    else
        echo "  in a host:   $LAB_DIR/lab.sh exec lin1 docker ps"
    fi
}

# --- down -----------------------------------------------------------------------------

# Every process in any lab namespace (net, mount or UTS), in a lab container cgroup,
# or descended from one of those (container processes live in their own namespaces).
lab_pids() {
    local -a files=()
    local f
    for f in /run/netns/rwlab-* "$NSDIR"/*.mnt "$NSDIR"/*.uts; do
        [[ -e $f ]] && files+=("$f")
    done
    {
        if ((${#files[@]})); then
            local inodes
            inodes=$(stat -L -c %i -- "${files[@]}" 2>/dev/null | tr '\n' ' ' || true)
            # Processes come and go while find walks /proc: its errors are expected.
            { find /proc/[0-9]*/ns -maxdepth 1 -type l \( -name net -o -name mnt -o -name uts \) \
                -printf '%h %l\n' 2>/dev/null || true; } |
                awk -v want="$inodes" 'BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) ok[w[i]] = 1 }
                    { split($1, p, "/"); if (match($2, /[0-9]+/) && (substr($2, RSTART, RLENGTH) in ok)) print p[3] }'
        fi
        cat /sys/fs/cgroup/pids/rwlab-*/*/cgroup.procs /sys/fs/cgroup/unified/rwlab-*/*/cgroup.procs \
            /sys/fs/cgroup/rwlab-*/*/cgroup.procs 2>/dev/null || true
    } | sort -un | {
        local roots
        roots=$(tr '\n' ' ')
        [[ -n ${roots// /} ]] || exit 0
        ps -e -o pid= -o ppid= | awk -v roots="$roots" -v me="$$" -v parent="$PPID" '
            BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) s[r[i]] = 1 }
            { pp[$1] = $2 }
            END {
                do { ch = 0; for (p in pp) if (!(p in s) && (pp[p] in s)) { s[p] = 1; ch = 1 } } while (ch)
                for (p in s) if (p != 1 && p != me && p != parent && (p in pp)) print p
            }'
    }
}

kill_lab_processes() {
    local pids i alive p
    for _ in 1 2 3; do
        pids=$(lab_pids | tr '\n' ' ')
        [[ -n ${pids// /} ]] || return 0
        # shellcheck disable=SC2086 # a list of pids
        kill -KILL $pids 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            alive=0
            for p in $pids; do
                if proc_alive "$p"; then alive=1; break; fi
            done
            ((alive)) || break
            sleep 0.1
        done
    done
    pids=$(lab_pids | tr '\n' ' ')
    [[ -z ${pids// /} ]] || log "warning: processes survived: $pids"
}

remove_cgroups() {
    local i
    for ((i = 0; i < 20; i++)); do
        compgen -G "/sys/fs/cgroup/*/rwlab-*" >/dev/null || compgen -G "/sys/fs/cgroup/rwlab-*" >/dev/null || return 0
        find /sys/fs/cgroup/*/rwlab-* /sys/fs/cgroup/rwlab-* -depth -type d -exec rmdir {} + 2>/dev/null || true
        sleep 0.1
    done
    log "warning: could not remove cgroups: $(echo /sys/fs/cgroup/*/rwlab-*)"
}

cmd_down() {
    local purge=0 arg f l t0
    for arg in "$@"; do
        case $arg in
        --purge) purge=1 ;;
        *) die "down: unknown argument '$arg'" ;;
        esac
    done
    take_lock
    t0=$(now)
    # Processes first: open sessions (e.g. SSH connection sharing) keep a namespace
    # and its veth alive after its daemons are gone.
    kill_lab_processes
    for f in "$NSDIR"/*.mnt "$NSDIR"/*.uts; do
        [[ -e $f ]] || continue
        mountpoint -q "$f" && umount "$f"
        rm -f -- "$f"
    done
    for f in /run/netns/rwlab-*; do
        if [[ -e $f ]]; then ip netns del "${f##*/}"; fi
    done
    if mountpoint -q "$NSDIR" 2>/dev/null; then umount "$NSDIR"; fi
    # Normally gone with their namespaces; a namespace still referenced somewhere would
    # keep its veth, so cut it off explicitly.
    for l in $(ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep '^rwl-' || true); do
        ip link del "$l" 2>/dev/null || true
    done
    if [[ -e /sys/class/net/$BRIDGE ]]; then ip link del "$BRIDGE"; fi
    fw_teardown
    remove_cgroups
    if [[ -s $STATE_ROOT/created-mountpoints ]]; then
        # Only what up created, and only if nothing was put there meanwhile.
        sort -ru "$STATE_ROOT/created-mountpoints" | while read -r f; do
            if [[ -d $f ]]; then rmdir -- "$f" 2>/dev/null || true
            elif [[ -f $f && ! -s $f ]]; then rm -f -- "$f"; fi
        done
    fi
    rm -rf -- "$NSDIR"
    rm -f -- "$STATE_ROOT/created-mountpoints" "$STATE_ROOT/run-dir"
    rmdir -- "$STATE_ROOT" 2>/dev/null || true
    rm -f -- "$RUN/state"
    if ((purge)) && [[ -d $RUN ]]; then
        # Only ever delete a directory this script created.
        [[ -e $RUN/.rwlab ]] || die "$RUN has no .rwlab marker; not deleting it"
        rm -rf -- "$RUN"
    fi
    echo "rwlab is down ($(since "$t0")s)$( ((purge)) && echo ", $RUN deleted")"
}

# --- small commands -------------------------------------------------------------------

cmd_status() {
    local h d ip sshd dockerd bad=0 line
    if ! lab_exists; then
        echo "rwlab is down"
        exit 1
    fi
    if [[ $(state_get registry) == 1 ]]; then
        if pid_running "$RUN/registry/registry.pid" docker-registry; then line="registry=up"; else line="registry=down"; bad=1; fi
        printf '%-6s %-11s %s\n' reg "$REG_IP" "$line"
    fi
    while read -r h; do
        d=$(hdir "$h")
        ip=$(host_ip "$h")
        if ! host_up "$h"; then
            printf '%-6s %-11s %s\n' "$h" "$ip" "namespace=missing"
            bad=1
            continue
        fi
        if is_win "$h"; then
            if pid_running "$d/winsim.pid" winsim; then sshd=up; else sshd=down; bad=1; fi
            if pid_running "$d/fs/run/docker.pid" dockerd; then dockerd=up; else dockerd=down; bad=1; fi
            printf '%-6s %-11s %s\n' "$h" "$ip" "winsim=$sshd dockerd=$dockerd"
            continue
        fi
        if pid_running "$d/sshd.pid" sshd; then sshd=up; else sshd=down; bad=1; fi
        if pid_running "$d/fs/run/docker.pid" dockerd; then
            dockerd=up
        else
            dockerd=down
            [[ $(state_get sshd_only) == 1 ]] || bad=1
        fi
        line="sshd=$sshd dockerd=$dockerd"
        [[ $(cat "/sys/class/net/rwl-$h/operstate" 2>/dev/null) == up ]] || { line+=" link=down"; bad=1; }
        printf '%-6s %-11s %s\n' "$h" "$ip" "$line"
    done < <(lab_hosts)
    # exit, not return: a non-zero status here is an answer, not an error.
    exit "$bad"
}

cmd_exec() {
    (($# >= 1)) || die "usage: lab.sh exec HOST [CMD...]"
    local h=$1 wd=/
    shift
    need_host "$h"
    (($#)) || set -- bash
    # Keep the caller's directory when the host has it (relative paths keep working).
    if in_host "$h" test -d "$PWD"; then wd=$PWD; fi
    exec nsenter --net="/run/netns/rwlab-$h" --mount="$NSDIR/$h.mnt" --uts="$NSDIR/$h.uts" \
        --wd="$wd" -- "$@"
}

cmd_sshd() {
    (($# == 2)) || die "usage: lab.sh sshd stop|start HOST"
    local h=$2
    need_host "$h"
    [[ $h != reg ]] || die "reg has no sshd"
    take_lock
    case $1 in
    # Only the listener stops; open sessions stay, as on a real machine.
    stop) stop_pidfile "$(hdir "$h")/sshd.pid" sshd 10 ;;
    start)
        start_sshd "$h"
        wait_sshd "$h"
        ;;
    *) die "usage: lab.sh sshd stop|start HOST" ;;
    esac
}

cmd_winsim() {
    (($# == 2)) || die "usage: lab.sh winsim stop|start HOST"
    local h=$2
    need_host "$h"
    is_win "$h" || die "$h is not a winsim host"
    take_lock
    case $1 in
    stop) stop_pidfile "$(hdir "$h")/winsim.pid" winsim 10 ;;
    start) start_winsim "$h" ;;
    *) die "usage: lab.sh winsim stop|start HOST" ;;
    esac
}

cmd_dockerd() {
    (($# == 2)) || die "usage: lab.sh dockerd stop|start HOST"
    local h=$2
    need_host "$h"
    take_lock
    case $1 in
    # dockerd stops its running containers first (up to its 15s shutdown timeout).
    stop) stop_pidfile "$(hdir "$h")/fs/run/docker.pid" dockerd 40 ;;
    start)
        start_dockerd "$h"
        wait_dockerd "$h" "$DOCKERD_PID"
        ;;
    *) die "usage: lab.sh dockerd stop|start HOST" ;;
    esac
}

cmd_rekey() {
    (($# == 1)) || die "usage: lab.sh rekey HOST"
    local h=$1 d
    need_host "$h"
    [[ $h != reg ]] || die "reg has no sshd"
    take_lock
    d=$(hdir "$h")
    stop_pidfile "$d/sshd.pid" sshd 10
    rm -f -- "$d/ssh_host_ed25519_key" "$d/ssh_host_ed25519_key.pub"
    ensure_host_key "$h"
    start_sshd "$h"
    wait_sshd "$h"
    write_ssh_files
    echo "$h: new host key $(ssh-keygen -l -f "$d/ssh_host_ed25519_key.pub" | cut -d' ' -f2)"
}

cmd_link() {
    (($# == 2)) || die "usage: lab.sh link down|up HOST"
    need_host "$2"
    case $1 in
    down | up) ip link set "rwl-$2" "$1" ;;
    *) die "usage: lab.sh link down|up HOST" ;;
    esac
}

main() {
    (($#)) || { usage; exit 2; }
    [[ $(id -u) -eq 0 ]] || die "must run as root"
    local cmd=$1
    shift
    resolve_run
    case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    exec) cmd_exec "$@" ;;
    sshd) cmd_sshd "$@" ;;
    dockerd) cmd_dockerd "$@" ;;
    winsim) cmd_winsim "$@" ;;
    rekey) cmd_rekey "$@" ;;
    link) cmd_link "$@" ;;
    help | -h | --help) usage ;;
    *) usage >&2; exit 2 ;;
    esac
}

main "$@"
