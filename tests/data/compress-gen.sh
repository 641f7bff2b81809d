#!/bin/sh
# Regenerates the compress-* test vectors with the Debian 12 command-line tools
# (gzip 1.12, zstd 1.5.4, lz4 1.9.4), so test_compress decodes bytes that
# ferry's own encoder did not write. Run from tests/data; outputs are committed.
set -eu
python3 - <<'PY'
import random
r = random.Random(20240611)
words = ["topic", "partition", "offset", "leader", "epoch", "replica", "broker", "ferry",
         "gateway", "mirror", "source", "target", "batch", "record", "header", "key", "value"]
lines = []
for i in range(120):
    kv = ",".join('"%s":"%s%d"' % (r.choice(words), r.choice(words), r.randrange(1000))
                  for _ in range(3))
    lines.append('{"seq":%d,%s}' % (i, kv))
open("compress-plain.txt", "w").write("\n".join(lines) + "\n")
PY
gzip -9 -n -c compress-plain.txt > compress-plain.txt.gz
# Three members: the text at -1, an empty member, the text at -9 (RFC 1952 §2.2).
gzip -1 -n -c compress-plain.txt > compress-multi.gz
gzip -n -c < /dev/null >> compress-multi.gz
gzip -9 -n -c compress-plain.txt >> compress-multi.gz
# From a file the zstd CLI records the content size; from a pipe it cannot.
zstd -q -19 -f -o compress-plain.txt.zst compress-plain.txt
cat compress-plain.txt | zstd -q -3 -c > compress-stream.zst
# lz4 CLI defaults: independent blocks, content checksum (FLG 0x64); the block size
# shrinks to 64 KiB for a small file.
lz4 -q -9 -f compress-plain.txt compress-plain.txt.lz4
# Ten copies through a pipe with -BD: linked 64 KiB blocks (FLG 0x44) that refer back
# across block boundaries, which Java cannot read but a frame decoder must.
for i in 1 2 3 4 5 6 7 8 9 10; do cat compress-plain.txt; done |
	lz4 -q -B4 -BD -c > compress-linked.lz4
