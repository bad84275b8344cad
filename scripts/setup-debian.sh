#!/usr/bin/env bash
# Installs the Debian 12 packages citytwin needs to build, test and run (idempotent).
# PROJ is built from source by proj-sys (Debian 12's PROJ 9.1 is too old), hence cmake
# and sqlite; Bevy needs udev, wayland and xkbcommon headers; tests render on lavapipe;
# the live-feed tests talk to an MQTT broker (mosquitto); the briefing tests read PDFs
# back with pdftotext (poppler-utils); the CityJSON tests check the reader against an
# independent reading in Python (python3).
# The history tests also run against PostgreSQL 15 (scripts/pg-test-db.sh starts it).
set -euo pipefail
packages=(
  pkg-config cmake clang libsqlite3-dev sqlite3
  libudev-dev libwayland-dev libxkbcommon-dev libx11-dev libxi-dev libxcursor-dev libxrandr-dev
  mesa-vulkan-drivers libvulkan1
  gdal-bin poppler-utils
  mosquitto mosquitto-clients
  python3
  postgresql-15 postgresql-15-postgis-3
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
