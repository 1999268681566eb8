#!/usr/bin/env bash
# Installs the system packages Bazil needs when they are missing:
#   libfuse2 + fuse  the FUSE library fuse-native loads, and fusermount
#   libfuse3-dev     libfuse3 and its headers: the FUSE edge (native/) is built against them
#   sqlite3 + git    programs the test suite runs on mounted volumes
#   openssh-server + openssh-client + rsync
#                    the sync benchmark's reference: rsync over ssh to a private sshd
# As root it installs them with apt-get; otherwise it says what to run.
set -euo pipefail

missing=()
ldconfig -p 2>/dev/null | grep -q 'libfuse\.so\.2 ' || missing+=(libfuse2)
command -v fusermount >/dev/null 2>&1 || missing+=(fuse)
pkg-config --exists fuse3 2>/dev/null || missing+=(libfuse3-dev pkg-config)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
command -v git >/dev/null 2>&1 || missing+=(git)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
command -v rsync >/dev/null 2>&1 || missing+=(rsync)

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "bazil: missing system packages: ${missing[*]}" >&2
  echo "bazil: install them (e.g. sudo apt-get install ${missing[*]}); FUSE mounts, the tests and the sync benchmark need them" >&2
  exit 0
fi

echo "bazil: installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
