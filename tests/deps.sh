#!/usr/bin/env bash
# Install the Debian packages casevault builds and tests with, if missing.
set -euo pipefail
pkgs="build-essential cmake pkg-config libsodium-dev liblmdb-dev libgit2-dev zlib1g-dev libgfshare-dev
      libfuse3-dev fuse3 libunistring-dev tzdata git openssh-client lmdb-utils python3 time stress-ng
      vim nano tmux rsync sqlite3 perl tar restic rclone dpkg-dev systemd
      scdoc man-db bash-completion zsh"
missing=()
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	sudo_cmd=""
	[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
	$sudo_cmd apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
