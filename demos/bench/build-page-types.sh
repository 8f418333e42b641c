#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/bench/build-page-types.sh: build the kernel's page-types tool (tools/vm/page-types.c)
# from Debian's linux-source-6.1 package, for comparing `physdemo maps --pages` with it.
#
# Usage: demos/bench/build-page-types.sh     prints the path of the binary on stdout
#   Cached: ~/.cache/physdemo/page-types/page-types (PHYSDEMO_CACHE overrides ~/.cache/physdemo);
#   a second run only prints the path. Extracts only tools/vm, tools/lib, tools/include,
#   tools/scripts, tools/build and the two uapi headers page-types includes (~15 s).
# Needs: /usr/src/linux-source-6.1.tar.xz (apt-get install linux-source-6.1; demos/setup
#   installs it), make, gcc, xz-utils.
set -euo pipefail
cache="${PHYSDEMO_CACHE:-$HOME/.cache/physdemo}/page-types"
bin="$cache/page-types"
if [[ -x "$bin" ]]; then
  echo "$bin"
  exit 0
fi
tarball=/usr/src/linux-source-6.1.tar.xz
if [[ ! -f "$tarball" ]]; then
  echo "build-page-types: $tarball is missing: install it with 'apt-get install linux-source-6.1' (or run demos/setup as root)" >&2
  exit 1
fi
for tool in make gcc xz; do
  command -v "$tool" >/dev/null || { echo "build-page-types: '$tool' is missing (apt-get install make gcc xz-utils)" >&2; exit 1; }
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "build-page-types: extracting page-types sources from $tarball" >&2
tar -xJf "$tarball" -C "$work" --wildcards \
  'linux-source-6.1/tools/vm/*' 'linux-source-6.1/tools/lib/*' \
  'linux-source-6.1/tools/include/*' 'linux-source-6.1/tools/scripts/*' \
  'linux-source-6.1/tools/build/*' \
  'linux-source-6.1/include/uapi/linux/magic.h' \
  'linux-source-6.1/include/uapi/linux/kernel-page-flags.h'
make -s -C "$work/linux-source-6.1/tools/vm" page-types >&2
mkdir -p "$cache"
install -m 755 "$work/linux-source-6.1/tools/vm/page-types" "$bin"
echo "$bin"
