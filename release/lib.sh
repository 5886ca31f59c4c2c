# Shared helpers of the release pipeline (POSIX sh; sourced, not run).
# Messages go to stderr prefixed with the calling script's name ($rl_prog).

rl_say() { printf '%s: %s\n' "${rl_prog:-release}" "$*" >&2; }
rl_warn() { printf '%s: warning: %s\n' "${rl_prog:-release}" "$*" >&2; }
rl_die() {
	printf '%s: error: %s\n' "${rl_prog:-release}" "$1" >&2
	exit "${2:-1}"
}

rl_is_hex64() {
	case $1 in
	*[!0-9a-f]* | '') return 1 ;;
	esac
	[ ${#1} -eq 64 ]
}

# rl_uint_ok N [MAX]: decimal, no sign, no leading zero except 0, at most MAX
rl_uint_ok() {
	case $1 in
	'' | *[!0-9]* | 0?*) return 1 ;;
	esac
	[ ${#1} -le 18 ] || return 1
	[ -z "${2:-}" ] || [ "$1" -le "$2" ]
}

# rl_version_ok V: §13.3 grammar MAJOR.MINOR.PATCH[-PRE], numbers below 2^31
rl_version_ok() {
	printf '%s\n' "$1" | grep -Eq \
		'^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-(0|[1-9][0-9]*|[0-9]*[A-Za-z][0-9A-Za-z]*)(\.(0|[1-9][0-9]*|[0-9]*[A-Za-z][0-9A-Za-z]*))*)?$' ||
		return 1
	[ "$(printf '%s\n' "$1" | wc -l)" -eq 1 ] || return 1
	_core=${1%%-*}
	for _n in "${_core%%.*}" "$(printf '%s' "$_core" | cut -d. -f2)" "${_core##*.}"; do
		rl_uint_ok "$_n" 2147483647 || return 1
	done
}

# rl_version_id V: §1.4 id (every byte outside [0-9A-Za-z._] becomes _)
rl_version_id() { printf '%s' "$1" | LC_ALL=C tr -c '0-9A-Za-z._' '_'; }

# rl_normalise_platform KEY: §1.2 on stdout, or fails
rl_normalise_platform() {
	_p=$(printf '%s\n' "$1" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//' |
		LC_ALL=C tr 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' 'abcdefghijklmnopqrstuvwxyz' |
		sed 's|[/ ]|-|g; s/macos/darwin/g; s/--*/-/g; s/^-//; s/-$//')
	[ "$(printf '%s\n' "$_p" | wc -l)" -eq 1 ] || return 1
	case $_p in
	?*-?*) ;;
	*) return 1 ;;
	esac
	_os=${_p%%-*}
	_arch=${_p#*-}
	case $_arch in
	amd64 | x64) _arch=x86_64 ;;
	arm64) _arch=aarch64 ;;
	armv7l) _arch=armv7 ;;
	armv6l) _arch=armv6 ;;
	esac
	printf '%s-%s\n' "$_os" "$_arch"
}

# rl_name_platform NAME: the platform of a bundle name (§1.4), or fails
rl_name_platform() {
	case $1 in
	agent-bundle-?*__?*) ;;
	*) return 1 ;;
	esac
	_rest=${1#agent-bundle-}
	_plat=$(rl_normalise_platform "${_rest%%__*}") || return 1
	_rest=${_rest#*__}
	printf '%s\n' "$_rest" |
		grep -Eq '^[0-9]{14}-[0-9A-Za-z._]{1,64}-[0-9a-f]{12}$' || return 1
	printf '%s\n' "$_plat"
}

# rl_url_ok URL: https, no quote, backslash, whitespace or control character (§18.2)
rl_url_ok() {
	case $1 in
	https://?*) ;;
	*) return 1 ;;
	esac
	case $1 in
	*[\'\"\\\`]* | *[[:space:][:cntrl:]]*) return 1 ;;
	esac
	[ "$(printf '%s\n' "$1" | wc -l)" -eq 1 ]
}

# rl_sha256 FILE: lowercase hex
rl_sha256() {
	_h=$(sha256sum <"$1") || return 1
	printf '%s\n' "${_h%% *}"
}

# rl_size FILE: bytes
rl_size() {
	_s=$(wc -c <"$1") || return 1
	printf '%s\n' $((_s + 0))
}
