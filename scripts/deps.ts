// The Debian packages each npm command needs, installed when missing.
//
// Run as root, a missing package is installed with apt-get (after one `apt-get update`); run as
// anyone else, the exact `apt-get install` line is printed and the command stops. Checks look at
// dpkg's database, so they are quick enough to run at the start of every command.

import { execFileSync, spawnSync } from "node:child_process";

/** Debian packages per purpose. */
const PACKAGES: Record<string, string[]> = {
  // wasm2c, wasm-validate; the C toolchain and CMake for the generated C.
  build: ["wabt", "cmake", "gcc", "make"],
  // real servers and tools the tests talk to and run under.
  test: ["wabt", "cmake", "gcc", "make", "valgrind", "openssl", "python3", "python3-websockets",
    "libwebsockets-dev", "libwebsockets-test-server", "libmbedtls-dev", "clang", "libclang-rt-14-dev"],
  start: ["wabt", "cmake", "gcc", "make", "openssl", "libmbedtls-dev"],
  bench: ["wabt", "cmake", "gcc", "make", "valgrind", "libwebsockets-dev", "libmbedtls-dev"],
};

function installed(pkg: string): boolean {
  const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" });
  return r.status === 0 && r.stdout.includes("install ok installed");
}

/** Makes sure the packages for `purposes` are there; exits with the apt-get line if it cannot. */
export function ensureTools(purposes: string[]): void {
  const wanted = [...new Set(purposes.flatMap((p) => PACKAGES[p] ?? []))];
  const missing = wanted.filter((p) => !installed(p));
  if (missing.length === 0) return;
  const line = `apt-get install -y ${missing.join(" ")}`;
  if (process.getuid?.() !== 0) {
    console.error(`Missing Debian packages. Install them with:\n  sudo apt-get update && sudo ${line}`);
    process.exit(1);
  }
  console.log(`Installing missing Debian packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-qq", ...missing], { stdio: "inherit", env });
}

if (import.meta.url === `file://${process.argv[1]}`) ensureTools(process.argv.slice(2));
