#!/usr/bin/env python3
"""A hostile in-guest sftp-server: SFTP version 3 on stdin/stdout, serving
a made-up tree whose names and contents attack the client (meros-test's
pull). Usage: hostile_sftp_server.py MODE TARGET

MODE picks the tree (see TREES and the file modes below); TARGET is the
host path the symlink cases point at (the test's canary directory)."""
import struct
import sys
import time

INIT, VERSION, OPEN, CLOSE, READ, LSTAT, FSTAT, OPENDIR, READDIR, STAT, READLINK = 1, 2, 3, 4, 5, 7, 8, 11, 12, 17, 19
STATUS, HANDLE, DATA, NAME, ATTRS = 101, 102, 103, 104, 105
OK, EOF, NO_SUCH_FILE, FAILURE, UNSUPPORTED = 0, 1, 2, 4, 8
DIR, FILE, LINK = 0o040755, 0o100644, 0o120777

MODE = sys.argv[1]
TARGET = sys.argv[2] if len(sys.argv) > 2 else "/"

# path -> (mode, children as [(name, mode)] for directories | link target)
TREES = {
    # a name with '/' that climbs out of the destination, beside a good one
    "climb": {"/evil": (DIR, [("ok.txt", FILE), ("../../escaped", FILE)])},
    # a name with '/' that goes down
    "slash": {"/evil": (DIR, [("sub/planted", FILE)])},
    # a name that is ".." as a file, and an empty one
    "dotdot": {"/evil": (DIR, [("..", FILE), ("", FILE)])},
    # a symlink to TARGET, then an entry beneath it
    "beneath": {"/evil": (DIR, [("link", LINK), ("link/planted", FILE)]), "/evil/link": (LINK, TARGET)},
    # the same name twice: a symlink to TARGET, then a directory with a file
    "twice": {"/evil": (DIR, [("link", LINK), ("link", DIR)]), "/evil/link": (LINK, TARGET)},
    # a plain symlink to TARGET (a later pull into it must not follow it)
    "link": {"/evil": (DIR, [("link", LINK)]), "/evil/link": (LINK, TARGET)},
    # a file without end, at full speed or one byte at a time
    "endless": {"/endless": (FILE, None)},
    "trickle": {"/trickle": (FILE, None)},
}
TREE = TREES[MODE]

out = sys.stdout.buffer
inp = sys.stdin.buffer


def read_exact(n):
    data = b""
    while len(data) < n:
        chunk = inp.read(n - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data


def string(b):
    return struct.pack(">I", len(b)) + b


def send(kind, payload, slowly=False):
    packet = struct.pack(">IB", len(payload) + 1, kind) + payload
    if not slowly:
        out.write(packet)
        out.flush()
        return
    for i in range(len(packet)):
        out.write(packet[i:i + 1])
        out.flush()
        time.sleep(0.2)


def attrs(mode, size=0):
    return struct.pack(">IQIII", 0x1 | 0x4 | 0x8, size, mode, 1700000000, 1700000000)


def status(rid, code, text=""):
    send(STATUS, struct.pack(">II", rid, code) + string(text.encode()) + string(b""))


def entry_of(path):
    if path in TREE:
        return TREE[path][0]
    parent, _, name = path.rpartition("/")
    for child, mode in TREE.get(parent or "/", (None, []))[1] or []:
        if child == name:
            return mode
    return None


handles = {}
listed = set()

while True:
    length, kind = struct.unpack(">IB", read_exact(5))
    body = read_exact(length - 1)
    if kind == INIT:
        send(VERSION, struct.pack(">I", 3))
        continue
    rid = struct.unpack(">I", body[:4])[0]
    rest = body[4:]

    def arg_string(offset=0):
        n = struct.unpack(">I", rest[offset:offset + 4])[0]
        return rest[offset + 4:offset + 4 + n]

    if kind in (LSTAT, STAT):
        mode = entry_of(arg_string().decode())
        if mode is None:
            status(rid, NO_SUCH_FILE, "no such file")
        else:
            send(ATTRS, struct.pack(">I", rid) + attrs(mode))
    elif kind in (OPENDIR, OPEN):
        path = arg_string().decode()
        handle = str(len(handles)).encode()
        handles[handle] = path
        send(HANDLE, struct.pack(">I", rid) + string(handle))
    elif kind == READDIR:
        handle = arg_string()
        path = handles[handle]
        if handle in listed:
            status(rid, EOF, "end")
            continue
        listed.add(handle)
        children = [(".", DIR), ("..", DIR)] + TREE[path][1]
        payload = struct.pack(">II", rid, len(children))
        for name, mode in children:
            payload += string(name.encode()) + string(name.encode()) + attrs(mode)
        send(NAME, payload)
    elif kind == READ:
        handle = arg_string()
        offset_at = 4 + len(handle)
        _, count = struct.unpack(">QI", rest[offset_at:offset_at + 12])
        path = handles[handle]
        if path == "/endless":
            send(DATA, struct.pack(">I", rid) + string(b"x" * count))
        elif path == "/trickle":
            send(DATA, struct.pack(">I", rid) + string(b"y" * count), slowly=True)
        else:
            status(rid, EOF, "end")
    elif kind == READLINK:
        path = arg_string().decode()
        target = TREE[path][1] if path in TREE else TARGET
        send(NAME, struct.pack(">II", rid, 1) + string(target.encode()) + string(target.encode()) + attrs(LINK))
    elif kind == CLOSE:
        status(rid, OK)
    else:
        status(rid, UNSUPPORTED, "not in this server")
