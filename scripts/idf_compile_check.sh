#!/bin/sh
# idf_compile_check.sh - compiles the ESP-IDF build of the component for an ESP32-C3 without idf.py.
#
# What it checks: that the client core, both engine bindings, the ESP-IDF port, the embedded engine
# (engine.wasm as an array, and its wasm2c translation) and the echo example's main compile with -Wall -Wextra -Werror against a real ESP-IDF's headers,
# for rv32imc with picolibc, using the compile-time macros component/CMakeLists.txt derives from
# Kconfig. What it cannot check: linking, Kconfig and CMake logic, Xtensa targets (ESP32, ESP32-S3:
# Debian has no xtensa-esp toolchain), and anything at run time. It downloads nothing.
#
# Inputs (environment variables):
#   IDF_PATH          ESP-IDF checkout (v5.5 tested). Required.
#   WASM3_SOURCE      wasm3's source/ folder (wasm3.h, m3_env.h). Required.
#   MBEDTLS_INCLUDE   mbedTLS include/ (default: $IDF_PATH/components/mbedtls/mbedtls/include;
#                     the submodule is often not checked out - then point this at mbedTLS 3.6.x)
#   LWIP_INCLUDE      lwIP src/include (default: $IDF_PATH/components/lwip/lwip/src/include;
#                     same remark: espressif/esp-lwip, branch 2.1.3-esp)
#   CC                default riscv64-unknown-elf-gcc (Debian: gcc-riscv64-unknown-elf)
#   PICOLIBC_INCLUDE  default /usr/lib/picolibc/riscv64-unknown-elf/include (picolibc-riscv64-unknown-elf)
#   SDKCONFIG_H       default scripts/idf_sdkconfig_esp32c3.h
#   OPT               optimisation flags, default -Os (what ESP-IDF's "size" setting uses)
#   OUT               where objects go (default: a new temporary folder, printed at the end)
#   WASM2C_RT, WASM_RT_H  wabt's runtime folder and wasm-rt.h (default: Debian's wabt) for the
#                     wasm2c variant, compiled too so that its flash can be counted
#   WASM3_LIB         optional: a libm3.a you built for rv32imc; only its size is read, to print
#                     the flash total of the wasm3 variant
#
# Example:
#   IDF_PATH=/tmp/esp-idf WASM3_SOURCE=/tmp/wasm3/source MBEDTLS_INCLUDE=/tmp/mbedtls/include \
#   LWIP_INCLUDE=/tmp/esp-lwip/src/include sh scripts/idf_compile_check.sh
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
COMP="$ROOT/component"

: "${IDF_PATH:?set IDF_PATH to an ESP-IDF checkout}"
: "${WASM3_SOURCE:?set WASM3_SOURCE to wasm3's source/ folder}"
MBEDTLS_INCLUDE=${MBEDTLS_INCLUDE:-$IDF_PATH/components/mbedtls/mbedtls/include}
LWIP_INCLUDE=${LWIP_INCLUDE:-$IDF_PATH/components/lwip/lwip/src/include}
CC=${CC:-riscv64-unknown-elf-gcc}
SIZE=${SIZE:-$(echo "$CC" | sed 's/gcc$/size/')}
PICOLIBC_INCLUDE=${PICOLIBC_INCLUDE:-/usr/lib/picolibc/riscv64-unknown-elf/include}
SDKCONFIG_H=${SDKCONFIG_H:-$ROOT/scripts/idf_sdkconfig_esp32c3.h}
OPT=${OPT:--Os}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/idf_compile_check.XXXXXX")}

fail() { echo "idf_compile_check: $*" >&2; exit 1; }
need_file() { [ -e "$1" ] || fail "$2 not found: $1"; }

command -v "$CC" >/dev/null 2>&1 || fail "$CC not found (Debian: apt-get install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf)"
need_file "$IDF_PATH/components/esp-tls/esp_tls.h" "ESP-IDF (IDF_PATH)"
need_file "$WASM3_SOURCE/m3_env.h" "wasm3 source (WASM3_SOURCE)"
need_file "$MBEDTLS_INCLUDE/mbedtls/ssl.h" "mbedTLS headers (MBEDTLS_INCLUDE)"
need_file "$LWIP_INCLUDE/lwip/sockets.h" "lwIP headers (LWIP_INCLUDE)"
need_file "$PICOLIBC_INCLUDE/stdio.h" "picolibc headers (PICOLIBC_INCLUDE)"
need_file "$SDKCONFIG_H" "sdkconfig header (SDKCONFIG_H)"

mkdir -p "$OUT/config" "$OUT/obj"
cp "$SDKCONFIG_H" "$OUT/config/sdkconfig.h"

# The value of CONFIG_<name> in the sdkconfig header ("" when not defined).
config() { sed -n "s/^#define CONFIG_$1 \(.*\)$/\1/p" "$OUT/config/sdkconfig.h"; }

# Kconfig -> macros, as component/CMakeLists.txt does (ESP_PLATFORM branch, wasm3 runtime).
[ "$(config ESP_WS_CLIENT_ENGINE_WASM3)" = 1 ] || fail "this check covers the wasm3 runtime; set CONFIG_ESP_WS_CLIENT_ENGINE_WASM3 1"
COMPONENT_DEFS="-DWS_ENGINE_MAX_CONNS=$(config ESP_WS_CLIENT_ENGINE_MAX_CONNS)
 -DWS_ENGINE_EVENT_CAP=$(config ESP_WS_CLIENT_ENGINE_EVENT_CAP)
 -DWS_ENGINE_MEM_LIMIT=$(config ESP_WS_CLIENT_ENGINE_MEM_LIMIT)
 -DWS_ENGINE_RUNTIME_WASM3=1
 -DWS_ENGINE_STACK_BYTES=$(config ESP_WS_CLIENT_ENGINE_WASM_STACK)"
if [ "$(config ESP_WS_CLIENT_ALLOC_IN_EXT_RAM)" = 1 ]; then
    COMPONENT_DEFS="$COMPONENT_DEFS -DWS_PORT_HAVE_CUSTOM_ALLOC=1"
fi
# What the `wasm3` component of docs/esp-idf.md declares PUBLIC (it must match wasm3's own build).
WASM3_DEFS="-DESP32 -DM3_IN_IRAM -Dd_m3HasFloat=0 -Dd_m3LogOutput=0"

I=$IDF_PATH/components
# Include folders of the ESP-IDF components the sources reach (directly or through headers).
IDF_INCLUDES="
 $OUT/config
 $I/newlib/platform_include
 $I/freertos/config/include $I/freertos/config/include/freertos $I/freertos/config/riscv/include
 $I/freertos/FreeRTOS-Kernel/include $I/freertos/FreeRTOS-Kernel/portable/riscv/include
 $I/freertos/FreeRTOS-Kernel/portable/riscv/include/freertos $I/freertos/esp_additions/include
 $I/esp_hw_support/include $I/esp_hw_support/include/soc $I/esp_hw_support/include/soc/esp32c3
 $I/esp_hw_support/port/esp32c3/include $I/esp_hw_support/port/esp32c3/private_include
 $I/heap/include $I/log/include
 $I/soc/include $I/soc/esp32c3 $I/soc/esp32c3/include $I/soc/esp32c3/register
 $I/hal/platform_port/include $I/hal/esp32c3/include $I/hal/include
 $I/esp_rom/include $I/esp_rom/esp32c3/include $I/esp_rom/esp32c3/include/esp32c3 $I/esp_rom/esp32c3
 $I/esp_common/include $I/esp_system/include $I/riscv/include
 $I/esp_event/include $I/esp_timer/include
 $I/esp-tls $I/esp-tls/esp-tls-crypto $I/tcp_transport/include $I/http_parser
 $I/lwip/include $LWIP_INCLUDE $I/lwip/port/include $I/lwip/port/freertos/include
 $I/lwip/port/esp32xx/include $I/lwip/port/esp32xx/include/arch $I/lwip/port/esp32xx/include/sys
 $I/mbedtls/port/include $MBEDTLS_INCLUDE $I/mbedtls/esp_crt_bundle/include $I/esp_security/include
 $I/esp_netif/include $I/nvs_flash/include $I/esp_partition/include $I/spi_flash/include
 $I/esp_wifi/include $I/esp_eth/include
 $IDF_PATH/examples/common_components/protocol_examples_common/include
"
# As system headers: their own warnings are ESP-IDF's business (it builds with -Wno-unused-parameter),
# ours stay errors. picolibc comes last, after ESP-IDF's newlib/platform_include overrides.
INC_FLAGS=""
for d in $IDF_INCLUDES; do INC_FLAGS="$INC_FLAGS -isystem $d"; done
INC_FLAGS="$INC_FLAGS -isystem $PICOLIBC_INCLUDE"

CFLAGS="-march=rv32imc_zicsr_zifencei -mabi=ilp32 -std=gnu17 $OPT -Wall -Wextra -Werror
 -ffunction-sections -fdata-sections -fstrict-volatile-bitfields -nostdlib
 -DESP_PLATFORM -DIDF_VER=\"v5.5\" -D_GNU_SOURCE -D_POSIX_READER_WRITER_LOCKS
 -DMBEDTLS_CONFIG_FILE=\"mbedtls/esp_config.h\" -DSOC_MMU_PAGE_SIZE=CONFIG_MMU_PAGE_SIZE
 -DSOC_XTAL_FREQ_MHZ=CONFIG_XTAL_FREQ"

# The component's sources for the wasm3 runtime (the wasm2c backend is left out, as CMake does).
SRCS=""
for f in "$COMP"/src/*.c "$COMP"/port/esp_idf/*.c "$COMP/generated/engine_wasm.c"; do
    case "$f" in */ws_engine_wasm2c.c) continue ;; esac
    SRCS="$SRCS $f"
done
COMPONENT_INC="-I$COMP/include -I$COMP/port -I$COMP/src -I$COMP/generated -isystem $WASM3_SOURCE"

compile() {   # compile <source> <object name> <extra flags...>; prints the object's path
    src=$1; obj="$OUT/obj/$2.o"; shift 2
    # shellcheck disable=SC2086  # flag lists are meant to split
    $CC $CFLAGS "$@" $INC_FLAGS -c "$src" -o "$obj" || fail "compiling $src failed"
    echo "$obj"
}

OBJS=""
for src in $SRCS; do
    # shellcheck disable=SC2086
    OBJS="$OBJS $(compile "$src" "$(basename "$src" .c)" $COMPONENT_DEFS $WASM3_DEFS $COMPONENT_INC)"
done
# The port once more with the PSRAM options on (custom allocator, task stack with caps), so those
# branches compile too; this object is not counted in the sizes.
# shellcheck disable=SC2086
compile "$COMP/port/esp_idf/ws_port_esp_idf.c" ws_port_esp_idf_psram $COMPONENT_DEFS \
    -DWS_PORT_HAVE_CUSTOM_ALLOC=1 -DCONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM=1 $COMPONENT_INC >/dev/null

# The echo example's main sees only the component's public include folders.
# shellcheck disable=SC2086
EXAMPLE_OBJ=$(compile "$COMP/examples/echo/main/websocket_example.c" websocket_example -I$COMP/include -I$COMP/port)

# The wasm2c runtime's sources (CONFIG_ESP_WS_CLIENT_ENGINE_WASM2C): the binding without the wasm3
# backend, the generated translation and wabt's runtime (the project's `wasm2c_runtime` component,
# here taken from Debian's wabt, with the sys/mman.h stub docs/esp-idf.md describes), with explicit
# bounds checks as on the device.
WASM2C_RT=${WASM2C_RT:-/usr/share/wabt/wasm2c}
need_file "$WASM2C_RT/wasm-rt-impl.c" "wabt's wasm2c runtime (WASM2C_RT; Debian package wabt)"
need_file "${WASM_RT_H:=/usr/include/wasm-rt.h}" "wasm-rt.h (WASM_RT_H; Debian package wabt)"
mkdir -p "$OUT/wasm2c-inc" && ln -sf "$WASM_RT_H" "$OUT/wasm2c-inc/wasm-rt.h"
W2C_DEFS="-DWS_ENGINE_MAX_CONNS=$(config ESP_WS_CLIENT_ENGINE_MAX_CONNS)
 -DWS_ENGINE_EVENT_CAP=$(config ESP_WS_CLIENT_ENGINE_EVENT_CAP)
 -DWS_ENGINE_MEM_LIMIT=$(config ESP_WS_CLIENT_ENGINE_MEM_LIMIT) -DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0"
W2C_INC="-I$COMP/include -I$COMP/port -I$COMP/src -I$COMP/generated -I$OUT/wasm2c-inc -I$WASM2C_RT"
# shellcheck disable=SC2086
W2C_OBJS="$(compile "$COMP/src/ws_engine.c" ws_engine_w2c $W2C_DEFS $W2C_INC)
 $(compile "$COMP/src/ws_engine_wasm2c.c" ws_engine_wasm2c $W2C_DEFS $W2C_INC)
 $(compile "$COMP/generated/engine_wasm2c.c" engine_wasm2c $W2C_DEFS $W2C_INC -Wno-unused -Wno-unused-parameter)
 $(compile "$WASM2C_RT/wasm-rt-impl.c" wasm_rt_impl $W2C_DEFS $W2C_INC -I"$COMP/../bench/rv32/include" -w)"

echo "compiled with: $CC $OPT -march=rv32imc_zicsr_zifencei -mabi=ilp32 -Wall -Wextra -Werror (ESP-IDF at $IDF_PATH)"
# shellcheck disable=SC2086
"$SIZE" $OBJS $EXAMPLE_OBJ $W2C_OBJS
echo "objects in $OUT/obj"

# Flash (.text + .rodata: size's "text" column) of what replaces upstream's esp_websocket_client.o +
# transport_ws.o (about 21.8 KB for esp32c3, ../shared/reference): the client code and the engine
# with its binding. The ports (esp-tls, FreeRTOS) correspond to upstream's other transports and are
# listed apart; wasm3's interpreter is the user's component and is not compiled here.
text() { "$SIZE" "$@" | awk 'NR > 1 { t += $1 } END { print t }'; }
O=$OUT/obj
CLIENT=$(text $O/esp_websocket_client.o $O/ws_client_task.o $O/ws_client_tx.o)
W3=$(text $O/ws_engine.o $O/ws_engine_wasm3.o $O/engine_wasm.o)
W2C=$(text $O/ws_engine_w2c.o $O/ws_engine_wasm2c.o $O/engine_wasm2c.o $O/wasm_rt_impl.o)
PORT=$(text $O/ws_port_esp_idf.o)
echo "flash ($OPT, .text + .rodata, bytes):"
echo "  client code (esp_websocket_client, ws_client_task, ws_client_tx)   $CLIENT"
if [ -n "${WASM3_LIB:-}" ]; then   # the user's wasm3 built for the target, e.g. -Os -Dd_m3HasFloat=0
    need_file "$WASM3_LIB" "an rv32 libm3.a (WASM3_LIB)"
    M3=$("$SIZE" -t "$WASM3_LIB" | tail -1 | awk '{ print $1 }')
    echo "  wasm3 runtime: binding + engine.wasm array                         $W3   + wasm3 $M3 ($WASM3_LIB) = total $((CLIENT + W3 + M3))"
else
    echo "  wasm3 runtime: binding + engine.wasm array (+ the wasm3 component)  $W3   total $((CLIENT + W3)) + wasm3 (set WASM3_LIB to count it)"
fi
echo "  wasm2c runtime: binding + translated engine + wabt runtime          $W2C   total $((CLIENT + W2C))"
echo "  ESP-IDF port (esp-tls, FreeRTOS, esp_timer)                         $PORT"
