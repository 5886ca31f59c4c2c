#!/bin/sh
# Build one dependency from its Debian source package into a sysroot as a
# static library.
#
# usage: build-dep.sh NAME DEBVERSION SRCDIR WORKDIR SYSROOT CC
#   SRCDIR holds the .dsc and tarballs fetched by apt-source.sh.
set -eu
name=$1; ver=$2; srcdir=$3; work=$4; sysroot=$5; cc=$6
here=$(cd "$(dirname "$0")" && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

uver=${ver#*:}            # drop the epoch: file names carry none
dsc=$srcdir/${name}_${uver}.dsc
[ -f "$dsc" ] || { echo "deps: $dsc missing (run the fetch step)" >&2; exit 1; }

rm -rf "${work:?}/${name:?}"
mkdir -p "$work" "$sysroot/include" "$sysroot/lib"
# dpkg-source unpacks the upstream tarball and applies Debian's patches.
dpkg-source --no-copy -x "$dsc" "$work/$name" >"$work/$name.unpack.log" 2>&1 || { cat "$work/$name.unpack.log" >&2; exit 1; }
cd "$work/$name"

cflags="-O2 -fPIC -ffunction-sections -fdata-sections"

case $name in
zlib)
	CC=$cc CFLAGS="$cflags" ./configure --static --prefix="$sysroot" >/dev/null
	make -s -j"$jobs" libz.a >/dev/null
	make -s install >/dev/null
	;;
mbedtls)
	cp "$here/mbedtls_config.h" include/mbedtls/mbedtls_config.h
	# AES-GCM four blocks at a time with AES-NI/PCLMULQDQ (see the patch)
	patch -p1 -s <"$here/mbedtls-gcm-aesni-bulk.patch"
	make -s -C library -j"$jobs" CC="$cc" AR=ar CFLAGS="$cflags -I../include" static >/dev/null
	cp -R include/mbedtls include/psa "$sysroot/include/"
	cp library/libmbedtls.a library/libmbedx509.a library/libmbedcrypto.a "$sysroot/lib/"
	;;
libarchive)
	# Debian's patches touch Makefile.am only to list new test files, which
	# the library does not build; mark the shipped autotools output as
	# current instead of requiring automake.
	touch aclocal.m4; sleep 1; touch configure; sleep 1
	find . \( -name Makefile.in -o -name config.h.in -o -name '*.in' -path '*autoconf*' \) -exec touch {} +
	CC=$cc CFLAGS="$cflags" CPPFLAGS="-I$sysroot/include" LDFLAGS="-L$sysroot/lib" \
	./configure --prefix="$sysroot" --enable-static --disable-shared \
		--disable-bsdtar --disable-bsdcpio --disable-bsdcat --disable-bsdunzip \
		--disable-acl --disable-xattr --disable-rpath \
		--with-zlib --without-bz2lib --without-libb2 --without-iconv \
		--without-lz4 --without-zstd --without-lzma --without-cng \
		--without-mbedtls --without-nettle --without-openssl \
		--without-xml2 --without-expat >/dev/null
	make -s -j"$jobs" libarchive.la >/dev/null 2>&1 || make -j"$jobs" libarchive.la
	cp .libs/libarchive.a "$sysroot/lib/"
	cp libarchive/archive.h libarchive/archive_entry.h "$sysroot/include/"
	;;
cmocka)
	mkdir -p b && cd b
	cmake .. -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Release \
		-DWITH_STATIC_LIB=ON -DBUILD_SHARED_LIBS=OFF -DWITH_EXAMPLES=OFF \
		-DUNIT_TESTING=OFF -DCMAKE_INSTALL_PREFIX="$sysroot" \
		-DCMAKE_C_FLAGS="$cflags" >/dev/null
	make -s -j"$jobs" >/dev/null
	cp "$(find . -name 'libcmocka*.a' | head -n 1)" "$sysroot/lib/libcmocka.a"
	cp ../include/cmocka.h "$sysroot/include/"
	;;
*) echo "deps: unknown dependency $name" >&2; exit 1 ;;
esac
echo "deps: built $name $ver with $cc into $sysroot"
