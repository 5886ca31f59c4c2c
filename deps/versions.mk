# The one place that records the exact third-party versions.
# All are Debian source packages fetched by deps/apt-source.sh through apt,
# which verifies them against Debian's signed indexes.  Nothing is vendored.
ZLIB_DEB       := 1:1.3.dfsg+really1.3.1-1
MBEDTLS_DEB    := 3.6.6-0.1~deb13u1
LIBARCHIVE_DEB := 3.7.4-4+deb13u1
# cmocka (tests only): the trixie version (1.1.7-3) is not on every mirror;
# the Debian 12 source package is used instead (see docs/decisions.md).
CMOCKA_DEB     := 1.1.5-2.1
DEPS_SUITES    := trixie trixie-updates trixie-security bookworm
