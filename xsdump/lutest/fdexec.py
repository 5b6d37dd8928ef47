"""Exec a program with open files placed at chosen descriptor numbers.

    python -S fdexec.py SRC=DST[,SRC=DST...] -- PROGRAM [ARGS...]

Each inherited descriptor SRC is moved to number DST (inheritable), the SRC
numbers themselves are closed, then PROGRAM replaces this process.  The
harness uses it to hand a daemon restored from a dump the listening socket,
event-channel FIFO and connection sockets at the numbers the dump names.
"""
import fcntl
import os
import sys


def main(argv: list[str]) -> None:
    sep = argv.index("--")
    spec = argv[1] if sep == 2 else ""
    pairs = [tuple(int(x) for x in p.split("=")) for p in spec.split(",") if p]
    prog = argv[sep + 1:]
    # Move every source out of the way first: sources and targets may overlap.
    moved = [(fcntl.fcntl(src, fcntl.F_DUPFD, 512), dst) for src, dst in pairs]
    for src, _ in pairs:
        os.close(src)
    for tmp, dst in moved:
        os.dup2(tmp, dst, inheritable=True)
        os.close(tmp)
    os.execv(prog[0], prog)


if __name__ == "__main__":
    main(sys.argv)
