#!/bin/sh
# Box b of the two-pbx profile (docker/compose.yaml, docs/scaling.md): the shipped Asterisk
# configuration with this box's own ports and name, on the host's network next to box a.
# SIP 5070, AMI 5039, RTP 11000-11999, systemname pbx-b (every Uniqueid prefixed, never one of
# box a's), ACD_PBX=b (pbx=b in the AGI URL: both boxes reach acd from 127.0.0.1). Asterisk reads
# it from /etc/asterisk-b (asterisk -C), the image's defaults copied first.
set -eu
ETC=/etc/asterisk-b
rm -rf "$ETC"
mkdir -p "$ETC"
cp -R /etc/asterisk/. "$ETC/"
cp /opt/acd-shared/*.conf "$ETC/"
ln -s /opt/acd-dialplan "$ETC/acd-dialplan"
ln -s /opt/acd-generated "$ETC/acd-generated"
sed -i 's/^port = 5038$/port = 5039/' "$ETC/manager.conf"
sed -i 's/^bind = 0\.0\.0\.0:5060$/bind = 0.0.0.0:5070/' "$ETC/pjsip.conf"
sed -i -e 's/^rtpstart = 10000$/rtpstart = 11000/' -e 's/^rtpend = 10999$/rtpend = 11999/' \
    "$ETC/rtp.conf"
sed -i 's/^ACD_PBX=$/ACD_PBX=b/' "$ETC/extensions.conf"
sed -i -e "s#^;*[[:space:]]*astetcdir[[:space:]]*=>.*#astetcdir => $ETC#" \
    -e '/^\[options\]/a systemname = pbx-b' "$ETC/asterisk.conf"
grep -q "^astetcdir => $ETC" "$ETC/asterisk.conf" \
    || { echo "asterisk.conf has no astetcdir line to point at $ETC" >&2; exit 1; }
grep -q '^systemname = pbx-b' "$ETC/asterisk.conf" \
    || { echo "asterisk.conf has no [options] section" >&2; exit 1; }
chown -R "${ASTERISK_OWNER:-1000:1000}" "$ETC" 2>/dev/null || true
exec asterisk -f -C "$ETC/asterisk.conf"
