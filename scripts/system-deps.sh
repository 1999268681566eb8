#!/usr/bin/env bash
# Installs the system packages Bazil needs when they are missing:
#   libfuse2 + fuse  the FUSE library fuse-native loads, and fusermount
#   sqlite3 + git    programs the test suite runs on mounted volumes
# As root it installs them with apt-get; otherwise it says what to run.
set -euo pipefail

missing=()
ldconfig -p 2>/dev/null | grep -q 'libfuse\.so\.2 ' || missing+=(libfuse2)
command -v fusermount >/dev/null 2>&1 || missing+=(fuse)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
command -v git >/dev/null 2>&1 || missing+=(git)

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "bazil: missing system packages: ${missing[*]}" >&2
  echo "bazil: install them (e.g. sudo apt-get install ${missing[*]}); FUSE mounts and the tests need them" >&2
  exit 0
fi

echo "bazil: installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
