#!/usr/bin/env bash
# tests/fuzz/run.sh - builds the libFuzzer harnesses into build/fuzz and runs each for a bounded time.
#
#   tests/fuzz/run.sh [seconds]     fuzz every harness for `seconds` (default $FUZZ_SECONDS, else 60)
#   tests/fuzz/run.sh --replay      build plain replay programs with $CC (gcc works: no libFuzzer)
#                                   and run every committed corpus file through them once
#   tests/fuzz/run.sh --coverage    replay the committed and the accumulated corpus through a
#                                   clang source-coverage build; prints the line/region coverage
#                                   of the engine's translation (engine_wasm2c.c) per harness
#
# Environment:
#   FUZZ_SECONDS     time per harness when no argument is given (default 60)
#   FUZZ_HARNESSES   which harnesses (default "fuzz_frames fuzz_handshake fuzz_uri")
#   FUZZ_OUT         build and work directory (default build/fuzz)
#   FUZZ_GENERATED   directory holding engine_wasm2c.{c,h} and ws_engine_abi.h (default component/generated)
#   FUZZ_FLAGS       extra libFuzzer flags (e.g. "-runs=1000000")
#   CC               compiler: clang for fuzzing (default), anything for --replay (default gcc)
#
# The committed seeds in tests/fuzz/corpus/<harness>/ are read, never written; new inputs go to
# $FUZZ_OUT/corpus/<harness>, findings to $FUZZ_OUT/artifacts/<harness>/. One summary line per
# harness; the exit status is non-zero if any harness found something (or failed to build).
set -euo pipefail

# The whole script is one function, parsed before it runs: editing this file while a long
# campaign runs cannot change the running copy.
main() {

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${FUZZ_OUT:-$root/build/fuzz}"
gen="${FUZZ_GENERATED:-$root/component/generated}"
wabt="${WABT_WASM2C_DIR:-/usr/share/wabt/wasm2c}"
harnesses=(${FUZZ_HARNESSES:-fuzz_frames fuzz_handshake fuzz_uri})

mode=fuzz
secs="${FUZZ_SECONDS:-60}"
if [[ "${1:-}" == "--replay" ]]; then
    mode=replay
elif [[ "${1:-}" == "--coverage" ]]; then
    mode=coverage
elif [[ -n "${1:-}" ]]; then
    secs="$1"
fi
[[ "$secs" =~ ^[0-9]+$ ]] || { echo "run.sh: seconds must be a whole number, got '$secs'" >&2; exit 2; }

for f in "$gen/engine_wasm2c.c" "$gen/engine_wasm2c.h" "$gen/ws_engine_abi.h" "$wabt/wasm-rt-impl.c"; do
    [[ -f "$f" ]] || { echo "run.sh: missing $f (run npm run build; install wabt)" >&2; exit 2; }
done

mkdir -p "$out/obj"
defs=(-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0)
incs=(-I"$gen" -I"$wabt" -I"$here")
common=(-g -O1 -fno-omit-frame-pointer "${defs[@]}" "${incs[@]}")
warn=(-std=c11 -Wall -Wextra -Werror -Wno-unused-function)

if [[ "$mode" == replay ]]; then
    cc="${CC:-gcc}"
    san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
    if ! echo 'int main(void){return 0;}' | "$cc" -x c - "${san[@]}" -o "$out/obj/san_probe" 2>/dev/null; then
        san=()
    fi
    "$cc" "${common[@]}" "${san[@]}" -w -c "$gen/engine_wasm2c.c" -o "$out/obj/engine_replay.o"
    "$cc" "${common[@]}" "${san[@]}" -w -c "$wabt/wasm-rt-impl.c" -o "$out/obj/rt_replay.o"
    status=0
    for h in "${harnesses[@]}"; do
        extra=()
        [[ "$h" != fuzz_uri ]] && extra=("$here/fz_conn.c")
        "$cc" "${common[@]}" "${san[@]}" "${warn[@]}" -o "$out/${h}_replay" "$here/$h.c" "$here/fz_engine.c" \
            "$here/fz_ref.c" "${extra[@]}" "$here/fz_replay.c" "$out/obj/engine_replay.o" "$out/obj/rt_replay.o" -lm
        if msg="$("$out/${h}_replay" "$here/corpus/$h" 2>&1 | tail -n 20)"; then
            echo "$h: replay OK: ${msg##*$'\n'}"
        else
            echo "$h: replay FAILED"
            echo "$msg"
            status=1
        fi
    done
    exit $status
fi

if [[ "$mode" == coverage ]]; then
    cc="${CC:-clang}"
    cov=(-fprofile-instr-generate -fcoverage-mapping)
    mkdir -p "$out/cov"
    for h in "${harnesses[@]}"; do
        extra=()
        [[ "$h" != fuzz_uri ]] && extra=("$here/fz_conn.c")
        "$cc" "${common[@]}" -w -o "$out/cov/$h" "${cov[@]}" "$gen/engine_wasm2c.c" "$here/$h.c" "$here/fz_engine.c" \
            "$here/fz_ref.c" "${extra[@]}" "$here/fz_replay.c" "$wabt/wasm-rt-impl.c" -lm
        dirs=("$here/corpus/$h")
        [[ -d "$out/corpus/$h" ]] && dirs+=("$out/corpus/$h")
        LLVM_PROFILE_FILE="$out/cov/$h.profraw" "$out/cov/$h" "${dirs[@]}" >/dev/null
        llvm-profdata merge -sparse "$out/cov/$h.profraw" -o "$out/cov/$h.profdata"
        line="$(llvm-cov report "$out/cov/$h" -instr-profile="$out/cov/$h.profdata" "$gen/engine_wasm2c.c" | tail -n1)"
        # TOTAL  regions missed cover%  functions missed executed%  lines missed cover%  branches missed cover%
        read -r _ reg regm regp fn fnm fnp ln lnm lnp _ <<<"$line"
        echo "$h: engine_wasm2c.c coverage: lines $lnp ($((ln - lnm))/$ln), regions $regp, functions $fnp ($((fn - fnm))/$fn)"
    done
    exit 0
fi

cc="${CC:-clang}"
fsan=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
"$cc" "${common[@]}" "${fsan[@]}" -fsanitize=fuzzer-no-link -w -c "$gen/engine_wasm2c.c" -o "$out/obj/engine.o"
"$cc" "${common[@]}" "${fsan[@]}" -fsanitize=fuzzer-no-link -w -c "$wabt/wasm-rt-impl.c" -o "$out/obj/rt.o"

# Smaller quarantine and no fill of fresh allocations: each run allocates and frees the same few
# buffers, and both options cost page faults, not detection (over-reads are still caught).
export ASAN_OPTIONS="${ASAN_OPTIONS:-max_malloc_fill_size=0:quarantine_size_mb=8}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

status=0
summary=()
for h in "${harnesses[@]}"; do
    extra=()
    [[ "$h" != fuzz_uri ]] && extra=("$here/fz_conn.c")
    # Coverage instrumentation only where it guides the search: the engine and the entry point.
    # The oracle code (fz_*.c) gets the sanitizers but no coverage: its comparisons are noise.
    objs=()
    for src in "$here/fz_engine.c" "$here/fz_ref.c" "${extra[@]}"; do
        o="$out/obj/$(basename "${src%.c}").o"
        "$cc" "${common[@]}" "${fsan[@]}" "${warn[@]}" -c "$src" -o "$o"
        objs+=("$o")
    done
    "$cc" "${common[@]}" "${fsan[@]}" -fsanitize=fuzzer "${warn[@]}" -o "$out/$h" "$here/$h.c" "${objs[@]}" \
        "$out/obj/engine.o" "$out/obj/rt.o" -lm
    work="$out/corpus/$h"
    art="$out/artifacts/$h"
    mkdir -p "$work" "$art"
    maxlen=4096
    [[ "$h" == fuzz_uri ]] && maxlen=1100
    log="$out/$h.log"
    set +e
    # shellcheck disable=SC2086
    "$out/$h" -max_total_time="$secs" -max_len="$maxlen" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$art/" ${FUZZ_FLAGS:-} "$work" "$here/corpus/$h" >"$log" 2>&1
    rc=$?
    set -e
    execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -n1 | grep -o '[0-9]*$' || true)"
    cov="$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n1 || true)"
    if [[ $rc -eq 0 ]]; then
        summary+=("$h: ${execs:-?} executions in ${secs} s, ${cov:-no coverage line}, no findings")
    else
        status=1
        found="$(ls -t "$art" 2>/dev/null | head -n1 || true)"
        summary+=("$h: FINDING after ${execs:-?} executions (exit $rc), input ${found:+$art/$found}; log $log")
        grep -m1 -A3 'FUZZ ORACLE FAILURE\|ERROR: AddressSanitizer\|runtime error\|ERROR: libFuzzer' "$log" >&2 || tail -n 30 "$log" >&2
    fi
done
printf '%s\n' "${summary[@]}"
exit $status
}

main "$@"
