#!/bin/sh
# Install the Debian packages listed in FILE that are missing.
# Root: apt-get install.  Otherwise: name them and fail.
set -eu
list=$1
missing=
for p in $(grep -v '^[[:space:]]*#' "$list"); do
	st=$(dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "packages: missing Debian packages:$missing" >&2
	echo "packages: run as root, or: apt-get install$missing" >&2
	exit 1
fi
echo "packages: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
if ! apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
