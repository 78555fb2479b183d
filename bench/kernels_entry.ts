// Bench-only entry: the kernels under the names assembly/index.ts exports them with (k_mask,
// k_mask_ref, k_utf8, k_utf8_ref; see docs/engine-abi.md), plus the handshake kernels. bench/v8.ts
// compiles this with the release flags of asconfig.json when build/engine.wasm is absent or when
// asked to (--kernels), and bench/native_kernels.sh runs its wasm2c translation under callgrind.
// Re-exported, not wrapped: a wrapper would add a wasm call per kernel call.
export { maskCopy as k_mask, maskCopyRef as k_mask_ref } from "../assembly/kernels/mask";
export { utf8Check as k_utf8, utf8CheckRef as k_utf8_ref } from "../assembly/kernels/utf8";
export { sha1 } from "../assembly/kernels/sha1";
export { base64Encode } from "../assembly/kernels/base64";
