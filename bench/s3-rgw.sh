#!/usr/bin/env bash
# Runs the S3 store's contract, swap races included, against a Ceph RGW: a one-node Ceph cluster
# (one monitor, one OSD on memstore, cephx off) and radosgw, all on 127.0.0.1, from Debian's
# packages, in a scratch directory removed at the end. s3proxy, the server of the normal suite,
# only emulates If-Match; RGW evaluates it with the write, so the races prove something here.
#
#   bench/s3-rgw.sh            # installs ceph-mon, ceph-osd and radosgw if missing (apt-get)
#   KEEP=1 bench/s3-rgw.sh     # leaves the cluster's directory (logs) behind
#   PROBE_ONLY=1 bench/s3-rgw.sh   # only starts the cluster and shows how RGW takes If-Match
#
# Needs root for apt-get only. About 2 minutes on 2 cores: the cluster ~20 s, the tests ~60 s.
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
# The OSD's own crush updates at start race its first monitor map in 16.2 ('wrong fsid', then it
# hangs): this script places the OSD in the crush map itself.
osd crush update on start = false
osd class update on start = false

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
ceph -c "$CONF" --connect-timeout 10 -s >/dev/null

echo "== OSD on memstore"
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
OSD_ID=$(ceph -c "$CONF" osd new "$OSD_UUID")
mkdir -p "$DIR/osd/ceph-$OSD_ID"
ceph -c "$CONF" osd crush add "osd.$OSD_ID" 1.0 root=default >/dev/null 2>&1
ceph-osd -c "$CONF" -i "$OSD_ID" --osd-uuid "$OSD_UUID" --mkfs >"$DIR/log/osd-mkfs.log" 2>&1
ceph-osd -c "$CONF" -i "$OSD_ID" -f & PIDS+=($!)
wait_for() { # seconds, description, command...
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then echo "$what did not happen within the time; logs in $DIR/log (KEEP=1 keeps them)" >&2; exit 1; fi
    sleep 0.3
  done
}
osd_up() { ceph -c "$CONF" osd stat | grep -q '1 up'; }
wait_for 60 "the OSD coming up" osd_up

echo "== radosgw on 127.0.0.1:$RGW_PORT"
radosgw -c "$CONF" -n client.rgw.a -f & PIDS+=($!)
wait_for 120 "radosgw answering" curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/"

# The keys of a throwaway user, handed to the store the way users do it: the SDK's default chain.
export AWS_ACCESS_KEY_ID=upgradekit-rgw
export AWS_SECRET_ACCESS_KEY=upgradekit-rgw-secret
radosgw-admin -c "$CONF" user create --uid upgradekit --display-name upgradekit \
  --access-key "$AWS_ACCESS_KEY_ID" --secret "$AWS_SECRET_ACCESS_KEY" >/dev/null

# What this RGW does with HTTP's quoted If-Match and with a bare ETag (the store copes with both).
URL="http://127.0.0.1:$RGW_PORT/upgradekit-probe"
SIGN=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
BUCKET_STATUS=$(curl -s "${SIGN[@]}" -X PUT -o "$DIR/probe-bucket.xml" -w '%{http_code}' "$URL")
ETAG=$(curl -s "${SIGN[@]}" -X PUT --data-binary v1 -D - -o /dev/null "$URL/doc" | tr -d '\r' \
  | sed -n 's/^[Ee][Tt]ag: *//p' | tr -d '"')
QUOTED=$(curl -s "${SIGN[@]}" -X PUT --data-binary v2 -H "If-Match: \"$ETAG\"" -o /dev/null -w '%{http_code}' "$URL/doc")
BARE=$(curl -s "${SIGN[@]}" -X PUT --data-binary v2 -H "If-Match: $ETAG" -o /dev/null -w '%{http_code}' "$URL/doc")
echo "== probe: bucket $BUCKET_STATUS, ETag '$ETAG'; If-Match with the current ETag: quoted answered $QUOTED, bare answered $BARE"

[[ "${PROBE_ONLY:-0}" == 1 ]] && exit 0
echo "== the store contract, swap races included, against RGW"
status=0
./mvnw -o -B -pl repository-s3 -am test -Dtest='S3StoreTest' -Dsurefire.failIfNoSpecifiedTests=false \
  -Dupgradekit.s3.endpoint="http://127.0.0.1:$RGW_PORT" -Dupgradekit.s3.holdsIfMatch=true "$@" || status=$?

# How RGW answered the losers of the races (the store settles 412, 409 and 5xx by reading back).
echo "== RGW's answers that a conditional write did not win:"
grep -oE 'http_status=(409|412|5[0-9][0-9])' "$DIR/log/client.rgw.a.log" | sort | uniq -c || echo "   none"
exit $status
