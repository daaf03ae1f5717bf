# Sourced by lab.sh and selftest.sh: the IPv4 settings a fresh server boots with.
#
# A new network namespace copies IPv4's conf/all and conf/default from the machine's own
# namespace (net.core.devconf_inherit_init_net=0, the default: Documentation/admin-guide/
# sysctl/net.rst), so on a machine that forwards (any machine running Docker) every lab host
# would start with forwarding on. A fresh server boots with the kernel's compiled defaults:
# ipv4_devconf and ipv4_devconf_dflt in net/ipv4/devinet.c, listed here; every other key
# under conf/ is 0 there. IPv6 and the other per-namespace sysctls already start from the
# kernel's defaults in a new namespace. lab/selftest.sh checks every key against this.
readonly -A IPV4_CONF_DEFAULTS=(
    [accept_redirects]=1 [send_redirects]=1 [secure_redirects]=1 [shared_media]=1
    [igmpv2_unsolicited_report_interval]=10000 [igmpv3_unsolicited_report_interval]=1000
    [arp_evict_nocarrier]=1
)
# conf/default (the template for new interfaces) also accepts source routes.
readonly -A IPV4_CONF_DEFAULT_EXTRA=([accept_source_route]=1)
# The loopback interface is exempt from IPsec policy (inetdev_init in devinet.c).
readonly -A IPV4_CONF_LO=([disable_policy]=1 [disable_xfrm]=1)

# The kernel default of conf/$2/$1 (scope "all", "default" or an interface name).
ipv4_conf_default() {
    local key=$1 scope=$2
    if [[ $scope == lo && -n ${IPV4_CONF_LO[$key]:-} ]]; then
        echo "${IPV4_CONF_LO[$key]}"
    elif [[ $scope != all && -n ${IPV4_CONF_DEFAULT_EXTRA[$key]:-} ]]; then
        echo "${IPV4_CONF_DEFAULT_EXTRA[$key]}"
    else
        echo "${IPV4_CONF_DEFAULTS[$key]:-0}"
    fi
}

# Every conf key of every scope in the namespace of lab host $1 (as "scope/key=value") that
# differs from the kernel default; empty when the host looks freshly booted. Checked for
# all, default, lo and eth0 (created from default), plus net.ipv4.ip_forward.
ipv4_conf_drift() {
    local h=$1 scope f key want got
    got=$(nsenter --net="/run/netns/rwlab-$h" cat /proc/sys/net/ipv4/ip_forward)
    [[ $got == 0 ]] || echo "ip_forward=$got (want 0)"
    for scope in all default lo eth0; do
        for f in /proc/sys/net/ipv4/conf/all/*; do
            key=${f##*/}
            [[ -w $f ]] || continue
            got=$(nsenter --net="/run/netns/rwlab-$h" cat "/proc/sys/net/ipv4/conf/$scope/$key" 2>/dev/null) || continue
            want=$(ipv4_conf_default "$key" "$scope")
            [[ $got == "$want" ]] || echo "$scope/$key=$got (want $want)"
        done
    done
}
