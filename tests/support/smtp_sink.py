"""An SMTP sink for the notification tests: accepts every message on 127.0.0.1 and writes each
to DIR as <n>.eml, with its envelope recipients in an `X-Rcpt-To` header first (the To header
may not list them all). Prints `listening on PORT` once it accepts connections.

Usage: python3 smtp_sink.py DIR
"""

import asyncio
import os
import socket
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = os.path.join(self.directory, f"{self.count:04}.eml")
        head = "X-Rcpt-To: " + ", ".join(envelope.rcpt_tos) + "\r\n"
        content = envelope.original_content or envelope.content
        # Written under a temporary name, then renamed: a reader never sees half a message.
        with open(name + ".tmp", "wb") as f:
            f.write(head.encode() + content)
        os.rename(name + ".tmp", name)
        return "250 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    directory = sys.argv[1]
    port = free_port()
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"listening on {port}", flush=True)
    try:
        # Until the test kills the process (or closes stdin).
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
