#!/usr/bin/env bash
# Regenerates assets/fonts/NotoSansSC-Subset.otf: Noto Sans CJK SC (SIL OFL 1.1) cut down to
# ASCII, Latin-1, the punctuation and symbols citytwin writes, and every character of
# GB2312 (6,763 hanzi, CJK punctuation, full-width forms), with pyftsubset (fonttools).
# Needs Debian's fonts-noto-cjk and python3-fonttools (scripts/setup-debian.sh installs both).
# Usage: scripts/subset-cjk-font.sh [SOURCE.ttc [FACE_INDEX]]
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SOURCE="${1:-/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc}"
# Face 2 of the collection is "Noto Sans CJK SC" (the script checks the name).
FACE="${2:-2}"
OUT="$ROOT/assets/fonts/NotoSansSC-Subset.otf"
PYTHON="${PYTHON:-/usr/bin/python3}"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$PYTHON" - "$SOURCE" "$FACE" "$WORK/chars.txt" <<'PY'
import sys
from fontTools.ttLib import TTFont

source, face, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
font = TTFont(source, fontNumber=face, lazy=True)
family = font["name"].getDebugName(1)
if family != "Noto Sans CJK SC":
    sys.exit(f"{source} face {face} is '{family}', not 'Noto Sans CJK SC'")

chars = set()
# Every character GB2312 encodes: two bytes, each 0xA1..0xFE.
for hi in range(0xA1, 0xFF):
    for lo in range(0xA1, 0xFF):
        try:
            chars.add(bytes([hi, lo]).decode("gb2312"))
        except UnicodeDecodeError:
            pass
hanzi = sum(1 for c in chars if 0x4E00 <= ord(c) <= 0x9FFF)
# ASCII, Latin-1, Latin Extended-A (place names), general punctuation, superscripts,
# currency, letterlike symbols, arrows, maths, box drawing, geometric shapes (U+25A1).
ranges = [(0x20, 0x7E), (0xA0, 0x17F), (0x2000, 0x206F), (0x2070, 0x209F), (0x20A0, 0x20CF),
          (0x2100, 0x214F), (0x2190, 0x21FF), (0x2200, 0x22FF), (0x2500, 0x25FF),
          (0x3000, 0x303F), (0xFF00, 0xFFEF)]
for a, b in ranges:
    chars.update(chr(c) for c in range(a, b + 1))
cmap = font.getBestCmap()
kept = sorted(c for c in chars if ord(c) in cmap)
with open(out, "w", encoding="utf-8") as f:
    f.write("".join(kept))
print(f"GB2312 hanzi: {hanzi}; characters asked: {len(chars)}; in the font: {len(kept)}")
PY

"$PYTHON" -m fontTools.subset "$SOURCE" \
    --font-number="$FACE" \
    --text-file="$WORK/chars.txt" \
    --layout-features='*' \
    --name-IDs='*' --name-languages='*' \
    --notdef-outline \
    --output-file="$OUT"
echo "wrote $OUT ($(stat -c %s "$OUT") bytes)"
