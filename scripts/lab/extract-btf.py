#!/usr/bin/env python3
"""extract-btf.py IMAGE OUT: copy the vmlinux BTF blob out of an uncompressed kernel Image.

Debian's arm64 vmlinuz is a plain Image without ELF sections, so bpftool cannot read
its .BTF directly; the blob is found by its header (magic 0xeb9f, version 1, 24-byte
header) and its length is taken from that header. The largest valid blob wins.
"""
import struct
import sys


def blobs(data):
    pos = data.find(b"\x9f\xeb\x01\x00\x18\x00\x00\x00")
    while pos >= 0:
        type_off, type_len, str_off, str_len = struct.unpack_from("<4I", data, pos + 8)
        size = 24 + max(type_off + type_len, str_off + str_len)
        if pos + size <= len(data) and type_len and str_len:
            yield pos, size
        pos = data.find(b"\x9f\xeb\x01\x00\x18\x00\x00\x00", pos + 1)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: extract-btf.py IMAGE OUT")
    data = open(sys.argv[1], "rb").read()
    found = sorted(blobs(data), key=lambda b: b[1])
    if not found:
        sys.exit("no BTF blob in " + sys.argv[1])
    pos, size = found[-1]
    open(sys.argv[2], "wb").write(data[pos:pos + size])


main()
