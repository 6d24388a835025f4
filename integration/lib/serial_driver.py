#!/usr/bin/python3
"""Types into a QEMU serial console when given prompts appear (the harness's keyboard).

Usage: serial_driver.py SOCKET LOG PROMPT=KEYS [PROMPT=KEYS ...]
Connects to QEMU's serial chardev socket, appends everything it reads to LOG, and the first time
each PROMPT appears (in order) sends KEYS (Python escapes allowed: \\x02 is Ctrl-B, \\r Enter).
Ends when QEMU closes the socket.
"""
import socket
import sys
import time


def main():
    path, log = sys.argv[1], sys.argv[2]
    steps = []
    for arg in sys.argv[3:]:
        prompt, keys = arg.split("=", 1)
        steps.append((prompt.encode(), keys.encode().decode("unicode_escape").encode("latin-1")))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    for _ in range(200):
        try:
            s.connect(path)
            break
        except OSError:
            time.sleep(0.05)
    else:
        sys.exit(f"serial_driver: cannot connect to {path}")
    seen = b""
    with open(log, "ab") as out:
        while True:
            data = s.recv(4096)
            if not data:
                break
            out.write(data)
            out.flush()
            seen += data
            if steps and steps[0][0] in seen:
                time.sleep(0.2)
                for ch in steps[0][1]:
                    s.sendall(bytes([ch]))
                    time.sleep(0.06)
                seen = b""
                steps.pop(0)


if __name__ == "__main__":
    main()
