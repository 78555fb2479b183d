// Bench-only entry: the kernels under the names assembly/index.ts exports them with (k_mask,
// k_utf8; see docs/engine-abi.md), their scalar references (k_mask_ref, k_utf8_ref, which
// engine.wasm does not export), plus the handshake kernels. bench/v8.ts compiles this with the
// release flags of asconfig.json and runs its wasm2c translation under callgrind
// (bench/native_kernels.c).
// Re-exported, not wrapped: a wrapper would add a wasm call per kernel call.
export { maskCopy as k_mask, maskCopyRef as k_mask_ref } from "../assembly/kernels/mask";
export { utf8Check as k_utf8, utf8CheckRef as k_utf8_ref } from "../assembly/kernels/utf8";
export { sha1 } from "../assembly/kernels/sha1";
export { base64Encode } from "../assembly/kernels/base64";
