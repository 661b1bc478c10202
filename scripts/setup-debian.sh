#!/usr/bin/env bash
# System packages edgelake's tests need on Debian 12 (bookworm), as root:
# Mesa's lavapipe Vulkan driver (from bookworm-backports; bookworm's Mesa 22 gives no WebGPU
# adapter), nginx and Chromium for end-to-end tests, Python (its tarfile writes WebDataset shards
# for the reader's tests), the Fashion-MNIST dataset, real JPEGs
# and djpeg as a reference decoder, Tux Paint's stamps for the photo-size classification set
# (scripts/photo-dataset.ts; a 160 MB download), and Ceph's S3 gateway with a monitor and an OSD
# (a real S3 server that arbitrates conditional PUTs, for the commit race; a 61 MB download).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-debian.sh: run as root (it calls apt-get)" >&2
  exit 1
fi

# bookworm-backports on whatever mirror this machine already uses: copy its URIs line.
backports=/etc/apt/sources.list.d/edgelake-backports.sources
if [ ! -f "$backports" ]; then
  uris=$(grep -m1 -E '^URIs:' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  if [ -z "$uris" ]; then
    mirror=$(grep -m1 -oE 'https?://[^ ]+' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$mirror" ] || { echo "setup-debian.sh: no Debian mirror found in apt sources" >&2; exit 1; }
    uris="URIs: $mirror"
  fi
  cat >"$backports" <<SRC
Types: deb
$uris
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  nginx chromium dataset-fashion-mnist mate-backgrounds libjpeg-turbo-progs tuxpaint-stamps-default python3 ca-certificates \
  radosgw ceph-mon ceph-osd >/dev/null
apt-get install -y -qq --no-install-recommends -t bookworm-backports \
  mesa-vulkan-drivers libvulkan1 >/dev/null
echo "setup-debian.sh: installed nginx, chromium, Fashion-MNIST, JPEG fixtures, Tux Paint stamps, Ceph radosgw and Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
