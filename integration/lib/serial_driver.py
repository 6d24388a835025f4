#!/usr/bin/python3
"""Types into a QEMU serial console when given prompts appear (the harness's keyboard).

Usage: serial_driver.py [--times FILE] SOCKET LOG [PROMPT=KEYS ...]
Connects to QEMU's serial chardev socket, appends everything it reads to LOG, and the first time
each PROMPT appears (in order) sends KEYS (Python escapes allowed: \\x02 is Ctrl-B, \\r Enter).
With --times, also appends each console line to FILE as "<unix time> <line>", the time being when
the line's end arrived (boot phases are measured from these).
Ends when QEMU closes the socket.
"""
import socket
import sys
import time


def main():
    args = sys.argv[1:]
    times = None
    if args and args[0] == "--times":
        times, args = open(args[1], "a", encoding="utf-8"), args[2:]
    path, log = args[0], args[1]
    steps = []
    for arg in args[2:]:
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
    line = b""
    with open(log, "ab") as out:
        while True:
            data = s.recv(4096)
            if not data:
                break
            out.write(data)
            out.flush()
            if times:
                line = stamp_lines(times, line + data)
            seen += data
            if steps and steps[0][0] in seen:
                time.sleep(0.2)
                for ch in steps[0][1]:
                    s.sendall(bytes([ch]))
                    time.sleep(0.06)
                seen = b""
                steps.pop(0)


def stamp_lines(times, pending):
    """Writes the complete lines of PENDING to TIMES with the current time; returns the rest."""
    now = time.time()
    *lines, rest = pending.split(b"\n")
    for raw in lines:
        text = raw.replace(b"\r", b"").decode("utf-8", "replace")
        times.write(f"{now:.3f} {text}\n")
    times.flush()
    return rest


if __name__ == "__main__":
    main()
