#!/usr/bin/env bash
# The floor: the same job as `rwin up` on the 3-host lab, done by a hand-written parallel shell
# script with only the necessary remote operations, one SSH call per host per phase
# (network + pull + etcd; wait for etcd health; pod container). No checks, no state.
set -euo pipefail
RUN=${RWLAB_RUN:-$(cd "$(dirname "$0")/.." && pwd)/lab/run}
PW=$(cat "$RUN/registry-password")
KEY=$RUN/id_ed25519
ssh_host() { ssh -i "$KEY" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "root@$1" "$2"; }
HOSTS=(1 2 3)
cluster="lin1=http://10.77.0.11:2380,lin2=http://10.77.0.12:2380,lin3=http://10.77.0.13:2380"

phase1() {
    local k=$1 n=$(($1 - 1)) routes=""
    for j in "${HOSTS[@]}"; do
        [ "$j" = "$k" ] && continue
        routes+="ip route replace 10.42.$((j - 1)).0/24 via 10.77.0.1$j proto 157; "
    done
    ssh_host "10.77.0.1$k" "set -e
sysctl -q -w net.ipv4.ip_forward=1
printf 'net.ipv4.ip_forward = 1\n' > /etc/sysctl.d/90-rwin.conf
$routes
iptables -t nat -A POSTROUTING -s 10.42.$n.0/24 ! -d 10.42.0.0/16 -j MASQUERADE
docker network create -d bridge --subnet 10.42.$n.0/24 --gateway 10.42.$n.1 -o com.docker.network.bridge.name=rwin0 -o com.docker.network.bridge.enable_ip_masquerade=false rwin >/dev/null
echo '$PW' | docker login -u rwin --password-stdin 10.77.0.5:5000 >/dev/null 2>&1
docker pull -q 10.77.0.5:5000/etcd:3.4 >/dev/null & docker pull -q 10.77.0.5:5000/busybox:1 >/dev/null & wait
docker run -d --name rwin-etcd --network host -v /var/lib/rwin/etcd:/var/lib/etcd 10.77.0.5:5000/etcd:3.4 --name=lin$k --data-dir=/var/lib/etcd --listen-client-urls=http://10.77.0.1$k:2379 --advertise-client-urls=http://10.77.0.1$k:2379 --listen-peer-urls=http://10.77.0.1$k:2380 --initial-advertise-peer-urls=http://10.77.0.1$k:2380 --initial-cluster=$cluster --initial-cluster-state=new --initial-cluster-token=lab >/dev/null"
}

wait_etcd() {
    ssh_host "10.77.0.1$1" "for i in \$(seq 1 120); do docker exec rwin-etcd /usr/bin/etcdctl --endpoints=http://10.77.0.1$1:2379 endpoint health >/dev/null 2>&1 && exit 0; sleep 0.5; done; exit 1"
}

phase2() {
    ssh_host "10.77.0.1$1" "docker run -d --name rwin-web --network rwin 10.77.0.5:5000/busybox:1 httpd -f -p 80 -h /tmp >/dev/null"
}

for k in "${HOSTS[@]}"; do phase1 "$k" & done; wait
for k in "${HOSTS[@]}"; do wait_etcd "$k" & done; wait
for k in "${HOSTS[@]}"; do phase2 "$k" & done; wait
