# Asterisk 22 LTS for acd: the pinned upstream image plus the French core sounds (acd's callers
# hear French first; the image ships English only). Asterisk reads sounds/<language>/ under its
# data directory; Debian installs them under /usr/share/asterisk/sounds/fr.
FROM andrius/asterisk:22.8.2_debian-trixie

# The upstream image builds as root (Asterisk drops to its own user at start).
RUN apt-get update \
 && apt-get install -y --no-install-recommends asterisk-core-sounds-fr-wav=1.6.1-* \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/asterisk/sounds \
 && if [ ! -e /var/lib/asterisk/sounds/fr ]; then \
      ln -s /usr/share/asterisk/sounds/fr /var/lib/asterisk/sounds/fr; \
    fi
