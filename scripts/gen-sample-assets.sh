#!/usr/bin/env bash
# Regenerates the sample catalog's tiny media files (needs ffmpeg; the files are committed, so
# nothing else needs this script). Each file is small but valid for its type.
set -euo pipefail
cd "$(dirname "$0")/../catalog/assets"
img() { ffmpeg -loglevel error -y -f lavfi -i "color=c=$2:s=96x64" -frames:v 1 "$1"; }
vid() { ffmpeg -loglevel error -y -f lavfi -i "testsrc=duration=1:size=64x36:rate=10" -f lavfi -i "sine=frequency=$2:duration=1" -c:v libx264 -pix_fmt yuv420p -c:a aac -b:a 16k -shortest "$1"; }
aud() { ffmpeg -loglevel error -y -f lavfi -i "sine=frequency=$2:duration=1" -c:a libmp3lame -b:a 16k "$1"; }
pdf() { # a minimal one-page PDF with a correct xref table
  python3 - "$1" "$2" <<'PY'
import sys
path, text = sys.argv[1], sys.argv[2]
objs = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"]
stream = f"BT /F1 12 Tf 10 50 Td ({text}) Tj ET"
objs.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
objs.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
out, offsets = b"%PDF-1.4\n", []
for i, o in enumerate(objs, 1):
    offsets.append(len(out)); out += f"{i} 0 obj\n{o}\nendobj\n".encode()
xref = len(out)
out += f"xref\n0 {len(objs)+1}\n0000000000 65535 f \n".encode()
out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
out += f"trailer\n<< /Size {len(objs)+1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
open(path, "wb").write(out)
PY
}
mkdir -p py-101 scratch-kids parent-reading ielts-speaking hsk-1 kids-art go-basics shared
img py-101/cover.jpg 0x3776ab;      img py-101/detail-1.png 0xffd43b
vid py-101/01-intro.mp4 440;        vid py-101/02-install.mp4 523
img scratch-kids/cover.jpg 0xff8c1a; vid scratch-kids/01-hello-cat.mp4 587
img parent-reading/cover.jpg 0x8e44ad; aud parent-reading/01-why-read.mp3 330; aud parent-reading/02-picture-books.mp3 392
img ielts-speaking/cover.jpg 0xc0392b; vid ielts-speaking/01-part1.mp4 659; pdf ielts-speaking/topics.pdf "IELTS Speaking Part 2 topics"
img hsk-1/cover.jpg 0x27ae60;      img hsk-1/01-pinyin.png 0x2ecc71; img hsk-1/detail-tones.png 0x16a085
img kids-art/cover.jpg 0xe67e22;   img kids-art/01-colors.png 0xf1c40f; img kids-art/02-shapes.png 0xd35400
img go-basics/cover.jpg 0x2c3e50;  vid go-basics/01-rules.mp4 698; pdf go-basics/joseki.pdf "Go joseki sheet"
img shared/teacher-banner.png 0x95a5a6
ls -la */ | head -60
