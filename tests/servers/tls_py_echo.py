#!/usr/bin/python3
"""TLS servers on Python for the wss:// tests (tests/c/test_tls_posix.c, tests/integration/test_integ_tls.c).

Run with Debian's interpreter, which has python3-websockets (10.4):

    /usr/bin/python3 tests/servers/tls_py_echo.py DIR [--client-ca] [--close-check]

DIR holds the certificates made by tests/tls/make_certs.sh; the server uses server.crt/server.key
(CN/SAN localhost). Listens on 127.0.0.1 port 0 and prints `PORT <n>`. Exits on SIGTERM, SIGINT or
when stdin closes.

Modes:
    (default)      wss echo (python-websockets): every message is sent back with its type
    --client-ca    ... and a client certificate signed by ca.crt is required
    --close-check  no WebSocket: each TLS connection is read until it ends, and the way it ended
                   is reported, so a test can tell close_notify from a bare TCP FIN

Lines on stdout:
    PORT <n>                 listening
    CONN <path>              a WebSocket connection was accepted
    CLOSE <code> <reason>    a WebSocket connection closed (1005: no code, 1006: no Close frame)
    READ <n>                 --close-check: bytes received on a connection before it ended
    END close_notify         --close-check: the peer sent close_notify
    END no_close_notify      --close-check: TCP closed without close_notify
    END error <text>         --close-check: any other TLS or socket error
"""

import argparse
import asyncio
import os
import signal
import socket
import ssl
import sys
import threading

import websockets


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def server_context(cert_dir, client_ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(cert_dir, "server.crt"), os.path.join(cert_dir, "server.key"))
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(os.path.join(cert_dir, "ca.crt"))
    # A bare FIN must surface as an error (SSLEOFError), not as a clean end.
    ctx.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
    return ctx


def watch_stdin(on_close):
    def run():
        try:
            while os.read(sys.stdin.fileno(), 4096):
                pass
        except OSError:
            pass
        on_close()
    threading.Thread(target=run, daemon=True).start()


# ---- wss echo ---------------------------------------------------------------------------------

async def echo(ws, path=None):
    say(f"CONN {path if path is not None else ws.path}")
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.exceptions.ConnectionClosed:
        pass
    finally:
        say(f"CLOSE {ws.close_code if ws.close_code is not None else 1006} {ws.close_reason or ''}")


async def serve_echo(ctx):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()

    def request_stop():
        if not stop.done():
            stop.set_result(None)

    loop.add_signal_handler(signal.SIGTERM, request_stop)
    loop.add_signal_handler(signal.SIGINT, request_stop)
    watch_stdin(lambda: loop.call_soon_threadsafe(request_stop))
    async with websockets.serve(echo, "127.0.0.1", 0, ssl=ctx, max_size=64 * 1024 * 1024,
                                compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        say(f"PORT {port}")
        await stop


# ---- close check ------------------------------------------------------------------------------

def close_check_conn(ctx, raw):
    total = 0
    try:
        with ctx.wrap_socket(raw, server_side=True) as tls:
            while True:
                data = tls.recv(65536)
                if not data:
                    say(f"READ {total}")
                    say("END close_notify")
                    return
                total += len(data)
    except ssl.SSLError as e:
        say(f"READ {total}")
        # OpenSSL 3 reports a FIN without close_notify as UNEXPECTED_EOF_WHILE_READING.
        if isinstance(e, ssl.SSLEOFError) or "UNEXPECTED_EOF" in str(e):
            say("END no_close_notify")
        else:
            say(f"END error {e.reason or e.__class__.__name__}")
    except OSError as e:
        say(f"READ {total}")
        say(f"END error {e.__class__.__name__}")


def serve_close_check(ctx):
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    say(f"PORT {lsock.getsockname()[1]}")
    watch_stdin(lambda: os._exit(0))
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    while True:
        raw, _ = lsock.accept()
        threading.Thread(target=close_check_conn, args=(ctx, raw), daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cert_dir")
    ap.add_argument("--client-ca", action="store_true")
    ap.add_argument("--close-check", action="store_true")
    args = ap.parse_args()
    ctx = server_context(args.cert_dir, args.client_ca)
    if args.close_check:
        serve_close_check(ctx)
    else:
        asyncio.run(serve_echo(ctx))


if __name__ == "__main__":
    main()
