#!/usr/bin/env bash
# The whole suite under a sanitizer: configures build-tsan/ or build-asan/ with every target
# instrumented (CMake option CHANSYNC_SANITIZE), builds it and runs ctest there, so the scenarios run
# the instrumented chansync and chansync-sim too. Any report fails its test.
#   thread:  ThreadSanitizer: data races and lock-order inversions between the pull's threads (the
#            chain readers, the writer, the checkpointer), listen's and the sinks'.
#   address: AddressSanitizer + UndefinedBehaviorSanitizer: use after free, overflows, leaks,
#            undefined behaviour.
# Usage: scripts/sanitize.sh thread|address [CTEST-ARGS...]   (after scripts/install-deps.sh --test;
# about 20 and 40 minutes on two cores, most of it the build). Not part of README's test command: it
# builds everything a second time.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-}
case "$kind" in
  thread) flags=thread dir=build-tsan ;;
  address) flags=address,undefined dir=build-asan ;;
  *)
    echo "usage: scripts/sanitize.sh thread|address [CTEST-ARGS...]" >&2
    exit 64
    ;;
esac
shift
# Reports end the process with exit code 66 at the first one, so no test can pass with one.
# ignore_noninstrumented_modules=1: what Debian's libraries (not instrumented) copy and compare is not
# checked, as ThreadSanitizer cannot see all of their ordering (libcpp-httplib's workers, the atomics
# counting a std::exception_ptr's references in libstdc++); their locks and socket reads and writes
# still order what chansync's threads do. die_after_fork=0: the crash tests fork a child to kill -9
# it mid-push, and the child starts threads, which ThreadSanitizer would refuse (it ends any child
# of a process with threads that starts one); with 0 it lets the child run.
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 ignore_noninstrumented_modules=1 die_after_fork=0 ${TSAN_OPTIONS:-}"
export ASAN_OPTIONS="halt_on_error=1 exitcode=66 detect_stack_use_after_return=1 ${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1 ${UBSAN_OPTIONS:-}"
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHANSYNC_TESTS=ON \
  -DCHANSYNC_SANITIZE="$flags" >/dev/null
cmake --build "$dir" --parallel "$(nproc)"
cd "$dir" && ctest --output-on-failure --timeout 1200 "$@"
