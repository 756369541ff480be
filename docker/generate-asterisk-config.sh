#!/bin/sh
# The generated parts of the Asterisk configuration, written into $OUT (the volume mounted as
# /etc/asterisk/acd-generated in the asterisk container): advisor endpoints and fallback queues
# from acd.toml, and the AMI secret. Run by compose's asterisk-config service before Asterisk
# starts; on a host install run it by hand with OUT=/etc/asterisk/acd-generated.
set -eu
CONFIG=${ACD_CONFIG:-/etc/acd/acd.toml}
PASSWORDS=${ACD_SIP_PASSWORDS:-/run/secrets/sip_passwords}
OUT=${OUT:-/generated}
OWNER=${ASTERISK_OWNER:-1000:1000}
: "${ACD_AMI_SECRET:?ACD_AMI_SECRET must be set (see docker/.env.example)}"

umask 077
acd pjsip-endpoints -c "$CONFIG" --passwords "$PASSWORDS" -o "$OUT/pjsip_endpoints.conf.new"
acd fallback-queues -c "$CONFIG" -o "$OUT/queues.conf.new"
printf 'secret = %s\n' "$ACD_AMI_SECRET" > "$OUT/manager_secret.conf.new"
for f in pjsip_endpoints.conf queues.conf manager_secret.conf; do
    chown "$OWNER" "$OUT/$f.new" 2>/dev/null || true
    chmod 0640 "$OUT/$f.new"
    mv "$OUT/$f.new" "$OUT/$f"
done
echo "asterisk config generated in $OUT"
