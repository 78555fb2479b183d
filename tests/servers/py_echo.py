#!/usr/bin/python3
"""Echo server on python-websockets for the C integration tests (tests/integration).

Run with Debian's interpreter, which is the one that has python3-websockets (10.4):

    /usr/bin/python3 tests/servers/py_echo.py

Listens on 127.0.0.1 port 0 and prints `PORT <n>` once listening. Every message is sent back
with its type (str for text, bytes for binary); a fragmented message comes back whole. Exits on
SIGTERM, SIGINT or when stdin closes.

Lines on stdout:
    PORT <n>                 listening
    CONN <path>              a WebSocket connection was accepted
    CLOSE <code> <reason>    the connection closed (1005: Close without a code, 1006: no Close)

Written against the websockets 10.x asyncio ("legacy") API: websockets.serve(handler, host, port),
handler(websocket, path).
"""

import asyncio
import os
import signal
import sys

import websockets


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def echo(ws, path=None):
    say(f"CONN {path if path is not None else ws.path}")
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.exceptions.ConnectionClosed:
        pass
    finally:
        say(f"CLOSE {ws.close_code if ws.close_code is not None else 1006} {ws.close_reason or ''}")


async def main():
    stop = asyncio.get_running_loop().create_future()
    loop = asyncio.get_running_loop()

    def request_stop():
        if not stop.done():
            stop.set_result(None)

    loop.add_signal_handler(signal.SIGTERM, request_stop)
    loop.add_signal_handler(signal.SIGINT, request_stop)

    # stdin closing (the test process ended or closed its end of the pipe) stops the server.
    def on_stdin():
        try:
            data = os.read(sys.stdin.fileno(), 4096)
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(sys.stdin.fileno())
            request_stop()

    loop.add_reader(sys.stdin.fileno(), on_stdin)

    async with websockets.serve(
        echo,
        "127.0.0.1",
        0,
        max_size=None,  # the tests echo 1 MiB and more
        max_queue=None,
        compression=None,  # the client under test offers no extensions
        ping_interval=None,  # no server-initiated PINGs: they would show up as DATA events
        close_timeout=2,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        say(f"PORT {port}")
        await stop


if __name__ == "__main__":
    asyncio.run(main())
