#!/usr/bin/env bash
# The chansync executable allocates through mimalloc (CMakeLists.txt says why): the dynamic linker
# binds every library's `malloc` to libmimalloc, none to libc's. Fails when the library was dropped
# at link time (--as-needed) or comes after libc. Usage: allocator_check.sh CHANSYNC
set -euo pipefail
bindings=$(LD_DEBUG=bindings "$1" --version 2>&1 >/dev/null | grep "normal symbol \`malloc'" || true)
[ -n "$bindings" ] || { echo "no binding of malloc seen (LD_DEBUG unsupported?)" >&2; exit 1; }
if other=$(grep -v " to [^ ]*/libmimalloc\.so" <<<"$bindings"); then
  echo "malloc is bound to something other than mimalloc:" >&2
  head -5 <<<"$other" >&2
  exit 1
fi
echo "malloc: $(wc -l <<<"$bindings") bindings, all to mimalloc"
