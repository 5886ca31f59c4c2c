#!/bin/sh
# Dependencies: Debian source packages fetched through apt, built once, cached.
. "$AGENT_SRC/tests/integration/lib/tap.sh"
b=$AGENT_BUILD
vers=$AGENT_SRC/deps/versions.mk

for pkg in zlib mbedtls libarchive cmocka; do
	var=$(echo "$pkg" | tr 'a-z' 'A-Z')_DEB
	v=$(sed -n "s/^$var *:= *//p" "$vers")
	uv=${v#*:}
	if [ -f "$b/deps/src/${pkg}_${uv}.dsc" ]; then
		ok "$pkg $v came as a Debian source package (.dsc present)"
	else
		not_ok "$pkg $v came as a Debian source package ($b/deps/src/${pkg}_${uv}.dsc missing)"
	fi
done

for lib in libz.a libmbedtls.a libmbedx509.a libmbedcrypto.a libarchive.a libcmocka.a; do
	if [ -f "$b/sysroot/lib/$lib" ]; then ok "musl sysroot has $lib"; else not_ok "musl sysroot has $lib"; fi
done

# the private apt configuration names no host: it is derived at run time
if grep -rqE '[a-z]+://[a-z0-9]' "$AGENT_SRC/deps"; then
	not_ok "deps/ names no mirror host"
	grep -rnE '[a-z]+://[a-z0-9]' "$AGENT_SRC/deps" | sed 's/^/#   /'
else
	ok "deps/ names no mirror host"
fi
if [ -f "$b/deps/apt/etc/sources.list" ] && grep -q '^deb-src .* trixie main' "$b/deps/apt/etc/sources.list"; then
	ok "private sources list under build/ points at trixie sources"
else
	not_ok "private sources list under build/ points at trixie sources"
fi

# a second make does not rebuild the dependencies
out=$(MAKEFLAGS='' MAKELEVEL='' make -C "$AGENT_SRC" -n deps 2>&1)
if [ -z "$(printf '%s' "$out" | grep -v 'Nothing to be done\|Entering\|Leaving')" ]; then
	ok "dependencies are cached (make -n deps has nothing to do)"
else
	not_ok "dependencies are cached"; printf '%s\n' "$out" | sed 's/^/#   /' | head
fi

# the minimal mbedtls configuration is the one the library was built with
if cmp -s "$AGENT_SRC/deps/mbedtls_config.h" "$b/sysroot/include/mbedtls/mbedtls_config.h"; then
	ok "sysroot mbedtls_config.h is deps/mbedtls_config.h"
else
	not_ok "sysroot mbedtls_config.h is deps/mbedtls_config.h"
fi
done_testing
