#!/usr/bin/env bash
# Runs the S3 store's contract, swap races included, against a Ceph RGW: a one-node Ceph cluster
# (one monitor, one OSD on memstore, cephx off) and radosgw, all on 127.0.0.1, from Debian's
# packages, in a scratch directory removed at the end. s3proxy, the server of the normal suite,
# only emulates If-Match; RGW evaluates it with the write, so the races prove something here.
#
#   bench/s3-rgw.sh            # installs ceph-mon, ceph-osd and radosgw if missing (apt-get)
#   KEEP=1 bench/s3-rgw.sh     # leaves the cluster's directory (logs) behind
#
# Needs root for apt-get only; everything else runs as the caller. About 2-4 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v radosgw >/dev/null || ! command -v ceph-mon >/dev/null || ! command -v ceph-osd >/dev/null; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw
fi

DIR=$(mktemp -d /tmp/upgradekit-rgw.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ "${KEEP:-0}" == 1 ]]; then echo "cluster directory kept: $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MON_PORT=$(free_port)
RGW_PORT=$(free_port)
FSID=$(cat /proc/sys/kernel/random/uuid)
CONF=$DIR/ceph.conf
mkdir -p "$DIR"/{mon,osd,run,log,rgw}

cat > "$CONF" <<CONF
[global]
fsid = $FSID
mon host = v1:127.0.0.1:$MON_PORT
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc secure
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
pid file = $DIR/run/\$name.pid
keyring = /dev/null
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
osd crush chooseleaf type = 0
mon warn on pool no redundancy = false

[mon]
mon data = $DIR/mon/\$cluster-\$id
mon initial members = a

[osd]
osd data = $DIR/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = 2147483648
osd max object name len = 256
osd max object namespace len = 64

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $DIR/rgw
rgw dns name = 127.0.0.1
CONF

echo "== monitor on 127.0.0.1:$MON_PORT"
monmaptool --create --fsid "$FSID" --addv a "[v1:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap"
ceph-mon -c "$CONF" -i a -f & PIDS+=($!)
for _ in $(seq 100); do ceph -c "$CONF" --connect-timeout 2 -s >/dev/null 2>&1 && break; sleep 0.3; done
ceph -c "$CONF" -s >/dev/null

echo "== OSD on memstore"
OSD_ID=$(ceph -c "$CONF" osd create)
mkdir -p "$DIR/osd/ceph-$OSD_ID"
ceph-osd -c "$CONF" -i "$OSD_ID" --mkfs >/dev/null 2>&1
ceph-osd -c "$CONF" -i "$OSD_ID" -f & PIDS+=($!)
for _ in $(seq 100); do ceph -c "$CONF" osd stat 2>/dev/null | grep -q '1 up' && break; sleep 0.3; done

echo "== radosgw on 127.0.0.1:$RGW_PORT"
radosgw -c "$CONF" -n client.rgw.a -f & PIDS+=($!)
for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/" && break; sleep 0.3; done
curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/"

# The keys of a throwaway user, handed to the store the way users do it: the SDK's default chain.
export AWS_ACCESS_KEY_ID=upgradekit-rgw
export AWS_SECRET_ACCESS_KEY=upgradekit-rgw-secret
radosgw-admin -c "$CONF" user create --uid upgradekit --display-name upgradekit \
  --access-key "$AWS_ACCESS_KEY_ID" --secret "$AWS_SECRET_ACCESS_KEY" >/dev/null

echo "== the store contract, swap races included, against RGW"
status=0
./mvnw -o -B -pl repository-s3 -am test -Dtest='S3StoreTest' -Dsurefire.failIfNoSpecifiedTests=false \
  -Dupgradekit.s3.endpoint="http://127.0.0.1:$RGW_PORT" -Dupgradekit.s3.holdsIfMatch=true "$@" || status=$?

# How RGW answered the losers of the races (the store settles 412, 409 and 5xx by reading back).
echo "== RGW's answers that a conditional write did not win:"
grep -oE 'http_status=(409|412|5[0-9][0-9])' "$DIR/log/client.rgw.a.log" | sort | uniq -c || echo "   none"
exit $status
