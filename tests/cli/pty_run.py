"""Runs a command with its stderr on a pseudo-terminal (as a person's terminal would
be) and its stdout on a pipe; writes what arrived on the terminal to the file named
by the first argument and exits with the command's status.

    python3 pty_run.py STDERR_FILE COMMAND [ARG...]
"""
import os
import pty
import subprocess
import sys


def main():
    out_file, command = sys.argv[1], sys.argv[2:]
    master, slave = pty.openpty()
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stderr=slave, close_fds=True)
    os.close(slave)
    seen = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer of the terminal has closed it
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    status = proc.wait()
    with open(out_file, "wb") as f:
        f.write(bytes(seen))
    sys.exit(status)


if __name__ == "__main__":
    main()
