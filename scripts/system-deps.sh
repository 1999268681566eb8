#!/usr/bin/env bash
# Installs the system packages Bazil needs when they are missing.
#
#   system-deps.sh         what running Bazil needs (npm install runs this):
#     libfuse3-dev + pkg-config
#                            libfuse3 and its headers: the FUSE edge (native/) is built against them
#     fuse3                  fusermount3 (and fusermount, a link to it): the setuid helper that
#                            mounts for a user who is not root, and clears a mount left by a killed server
#   system-deps.sh --test  that, and what the tests and the benchmark need (npm test runs this):
#     sqlite3 + git          programs the tests run on mounted volumes
#     procps + tmux          ps (the tests check what it shows); tmux drives the terminal UI's tests
#     openssh-server + openssh-client + rsync
#                            the sync benchmark's reference: rsync over ssh to a private sshd
#     attr                   setfattr/getfattr: the extended attribute tests
#
# As root it installs them with apt-get; otherwise it says what to run.
set -euo pipefail

for_tests=false
case "${1:-}" in
  --test) for_tests=true ;;
  '') ;;
  *) echo "usage: $0 [--test]" >&2; exit 2 ;;
esac

missing=()
pkg-config --exists fuse3 2>/dev/null || missing+=(libfuse3-dev pkg-config)
command -v fusermount3 >/dev/null 2>&1 || missing+=(fuse3)
if $for_tests; then
  command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
  command -v git >/dev/null 2>&1 || missing+=(git)
  command -v ps >/dev/null 2>&1 || missing+=(procps)
  command -v tmux >/dev/null 2>&1 || missing+=(tmux)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
  command -v rsync >/dev/null 2>&1 || missing+=(rsync)
  command -v setfattr >/dev/null 2>&1 || missing+=(attr)
fi

[ ${#missing[@]} -eq 0 ] && exit 0

if $for_tests; then need='the tests and the sync benchmark need them'; else need='FUSE mounts need them'; fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "bazil: missing system packages: ${missing[*]}" >&2
  echo "bazil: install them (e.g. sudo apt-get install ${missing[*]}); $need" >&2
  exit 0
fi

echo "bazil: installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
