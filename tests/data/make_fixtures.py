"""Writes the format fixtures in formats/ from the seed article (run once; the files are committed).

    pip install reportlab && python tests/data/make_fixtures.py   # python-docx and pypdf come with kb

The seed's body (front matter removed, practice headings as plain lines) is saved as GBK, UTF-16
and UTF-8-with-BOM text, as a .docx with heading styles, as a .pdf (reportlab, Adobe's
STSong-Light) and as an HTML page with navigation and a script that must not be indexed; plus the
bad files each loader must report.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "formats"
SEED = HERE.parents[1] / "corpus" / "2022-哈尔滨市政协系统创新工作综述.md"


def seed_lines() -> list[tuple[str, str]]:
    """(kind, text): kind is "title", "heading" or "para"."""
    body = SEED.read_text(encoding="utf-8").split("---", 2)[2].strip()
    lines = []
    for block in body.split("\n\n"):
        block = block.strip()
        if block.startswith("# "):
            lines.append(("title", block[2:]))
        elif block.startswith("## "):
            lines.append(("heading", block[3:]))
        elif block:
            lines.append(("para", block))
    return lines


def plain_text() -> str:
    return "\n\n".join(text for _, text in seed_lines()) + "\n"


def write_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    for kind, text in seed_lines():
        if kind == "title":
            document.add_heading(text, level=1)
        elif kind == "heading":
            document.add_heading(text, level=2)
        else:
            document.add_paragraph(text)
    document.save(path)


def write_pdf(path: Path) -> None:
    """Adobe's STSong-Light CID font: no font file needed, and its Unicode CMap is standard."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    page = canvas.Canvas(str(path))
    y = 800
    for kind, text in seed_lines():
        size = {"title": 15, "heading": 13}.get(kind, 11)
        width = {"title": 34, "heading": 38}.get(kind, 44)
        for start in range(0, len(text), width):
            if y < 50:
                page.showPage()
                y = 800
            page.setFont("STSong-Light", size)
            page.drawString(40, y, text[start : start + width])
            y -= size + 6
        y -= 10
    page.save()


def write_html(path: Path) -> None:
    import html

    parts = ["<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>创新工作综述</title>",
             "<style>body{font-family:serif}</style><script>var tracking = '不应被索引的脚本文字';</script></head><body>",
             "<nav><a href='/'>首页</a> | <a href='/news'>新闻中心</a></nav><main>"]
    for kind, text in seed_lines():
        tag = {"title": "h1", "heading": "h2"}.get(kind, "p")
        parts.append(f"<{tag}>{html.escape(text)}</{tag}>")
    parts.append("</main><footer>版权所有 哈尔滨市政协 网站导航</footer></body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    text = plain_text()
    (OUT / "seed-gbk.txt").write_bytes(text.encode("gbk"))
    (OUT / "seed-utf16le.txt").write_bytes(text.encode("utf-16"))  # with BOM, little-endian
    (OUT / "seed-utf16be.txt").write_bytes(b"\xfe\xff" + text.encode("utf-16-be"))
    (OUT / "seed-utf8bom.txt").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    write_docx(OUT / "seed.docx")
    write_pdf(OUT / "seed.pdf")
    write_html(OUT / "seed.html")

    bad = OUT / "bad"
    bad.mkdir(exist_ok=True)
    (bad / "empty.txt").write_bytes(b"")
    (bad / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (bad / "one-char.txt").write_text("米", encoding="utf-8")
    data = (OUT / "seed.docx").read_bytes()
    (bad / "truncated.docx").write_bytes(data[: len(data) // 2])
    (bad / "not-a-zip.docx").write_bytes(b"this is not a word file")
    pdf = (OUT / "seed.pdf").read_bytes()
    (bad / "truncated.pdf").write_bytes(pdf[:2000])
    write_encrypted_pdf(bad / "encrypted.pdf")
    write_scanned_pdf(bad / "scanned.pdf")
    write_encrypted_docx(bad / "encrypted.docx")

    aes = OUT / "aes"
    aes.mkdir(exist_ok=True)
    # AES needs the cryptography package: an owner password alone opens without asking; a user password does not.
    write_encrypted_pdf(aes / "owner-password-only.pdf", user="", algorithm="AES-256")
    write_encrypted_pdf(aes / "password.pdf", user="pw", algorithm="AES-128")


def write_encrypted_pdf(path: Path, user: str = "secret", algorithm: str = "RC4-128") -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(OUT / "seed.pdf"), pages=(0, 1))
    writer.encrypt(user_password=user, owner_password="owner", algorithm=algorithm)
    with open(path, "wb") as handle:
        writer.write(handle)


def write_scanned_pdf(path: Path) -> None:
    """A page with only drawings and no text layer, as a scanner makes."""
    from reportlab.pdfgen import canvas

    page = canvas.Canvas(str(path))
    for row in range(20):
        page.rect(40, 780 - row * 30, 500, 12, fill=1)
    page.save()


def write_encrypted_docx(path: Path) -> None:
    """Word saves a password-protected file as an OLE compound file, not a zip."""
    header = bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 504
    path.write_bytes(header + b"EncryptedPackage" + b"\0" * 1024)


if __name__ == "__main__":
    main()
