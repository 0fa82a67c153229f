#!/usr/bin/env bash
# Install the Debian packages casevault builds and tests with, if missing.
set -euo pipefail
pkgs="build-essential cmake pkg-config libsodium-dev liblmdb-dev libgit2-dev zlib1g-dev libgfshare-dev
      libfuse3-dev fuse3 libunistring-dev tzdata git openssh-client lmdb-utils python3 time stress-ng
      vim nano tmux rsync sqlite3 perl tar restic rclone dpkg-dev systemd
      scdoc man-db bash-completion zsh gettext locales"
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
missing=()
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	$sudo_cmd apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The Lao and Thai locales the message test runs casevault in (tests/cli/t_locale.sh).
gen=()
for loc in lo_LA th_TH; do
	locale -a 2>/dev/null | grep -qx "$loc.utf8" || gen+=("$loc")
done
if [ ${#gen[@]} -gt 0 ]; then
	echo "generating locales: ${gen[*]}"
	for loc in "${gen[@]}"; do
		grep -q "^$loc.UTF-8 UTF-8" /etc/locale.gen 2>/dev/null ||
			echo "$loc.UTF-8 UTF-8" | $sudo_cmd tee -a /etc/locale.gen >/dev/null
	done
	$sudo_cmd locale-gen >/dev/null
fi
