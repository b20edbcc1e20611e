"""Writes the format fixtures in formats/ from the seed article (run once; the files are committed).

    apt-get install libreoffice-writer-nogui
    pip install reportlab msoffcrypto-tool && python tests/data/make_fixtures.py   # python-docx, pypdf come with kb

The seed's body (front matter removed, practice headings as plain lines) is saved as GBK, UTF-16
and UTF-8-with-BOM text, as a .docx with heading styles, as a .pdf (reportlab, Adobe's
STSong-Light), as an HTML page with navigation and a script that must not be indexed, as a Word
97-2003 .doc (LibreOffice converts the .docx), as a .wps (the same Word 97 format, which is what WPS
文字 saves under that name) and as an OFD (written here by the layout of GB/T 33190: OFD.xml, a
Document.xml listing the pages, one Content.xml of TextObjects per page); plus the bad files each
loader must report.
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
    draw_pdf(path, [({"title": 15, "heading": 13}.get(kind, 11), text) for kind, text in seed_lines()])


def draw_pdf(path: Path, lines: list[tuple[int, str]]) -> None:
    """(type size, text) per paragraph, wrapped at the page width. Adobe's STSong-Light CID font: no
    font file needed, and its Unicode CMap is standard."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    page = canvas.Canvas(str(path))
    y = 800
    for size, text in lines:
        width = {15: 34, 13: 38}.get(size, 44)
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
    write_doc(OUT / "seed.doc", OUT / "seed.docx")
    write_wps(OUT / "seed.wps")
    write_ofd(OUT / "seed.ofd")
    write_scans()

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
    # What older WPS versions and other programs save as .wps: not the Word 97 format.
    (bad / "not-word.wps").write_bytes(b"WPS\x00" + "五常市政协 文本".encode("gb18030") + bytes(64))
    (bad / "truncated.doc").write_bytes((OUT / "seed.doc").read_bytes()[:4096])
    (bad / "unsupported.xls").write_bytes(b"\x00" * 16)

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


def write_scans() -> None:
    """Scans as a scanner and a phone make them, from the seed PDF's pages rendered by pdfium: the first
    page and the page of the lawyers' practice at 200 dpi in grey, slightly rotated and JPEG-compressed,
    as an image-only PDF; that page again at 150 dpi as a photo. OCR must read them back."""
    import io

    import pypdfium2
    from PIL import Image

    pdf = pypdfium2.PdfDocument(OUT / "seed.pdf")

    def scanned(number: int, dpi: int, angle: float, quality: int) -> Image.Image:
        page = pdf[number].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
        page = page.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=255)
        buffer = io.BytesIO()
        page.save(buffer, "JPEG", quality=quality)
        return Image.open(io.BytesIO(buffer.getvalue()))

    first, lawyers = scanned(0, 200, 0.8, 70), scanned(3, 200, -0.6, 70)
    first.save(OUT / "scan-seed.pdf", "PDF", resolution=200, save_all=True, append_images=[lawyers])
    photo = scanned(3, 150, 1.0, 60)
    photo.save(OUT / "photo-seed.jpg", "JPEG", quality=60)
    write_image_ofd(OUT / "scan-seed.ofd", (OUT / "photo-seed.jpg").read_bytes())


def write_image_ofd(path: Path, jpeg: bytes) -> None:
    """An OFD whose one page is an image (how scans are issued as OFD): an ImageObject whose ResourceID
    names a MultiMedia in DocumentRes.xml, whose MediaFile lies under the resource folder."""
    import zipfile

    ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("OFD.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {ns} Version="1.0" DocType="OFD">'
                         "<ofd:DocBody><ofd:DocInfo><ofd:DocID>scan</ofd:DocID></ofd:DocInfo>"
                         "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>")
        archive.writestr("Doc_0/Document.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {ns}>'
                         '<ofd:CommonData><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea>'
                         '<ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes></ofd:CommonData>'
                         '<ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>')
        archive.writestr("Doc_0/DocumentRes.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res {ns} BaseLoc="Res">'
                         '<ofd:MultiMedias><ofd:MultiMedia ID="7" Type="Image" Format="JPEG">'
                         "<ofd:MediaFile>scan_0.jpg</ofd:MediaFile></ofd:MultiMedia></ofd:MultiMedias></ofd:Res>")
        archive.writestr("Doc_0/Res/scan_0.jpg", jpeg)
        archive.writestr("Doc_0/Pages/Page_0/Content.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}>'
                         '<ofd:Content><ofd:Layer ID="1"><ofd:ImageObject ID="8" ResourceID="7" Boundary="0 0 210 297" '
                         'CTM="210 0 0 297 0 0"/></ofd:Layer></ofd:Content></ofd:Page>')


def write_encrypted_docx(path: Path) -> None:
    """Word saves a password-protected .docx as an OLE compound file holding the encrypted package;
    msoffcrypto-tool writes one the same way (ECMA-376 agile encryption)."""
    from msoffcrypto.format.ooxml import OOXMLFile

    with open(OUT / "seed.docx", "rb") as source, open(path, "wb") as target:
        OOXMLFile(source).encrypt("secret", target)


def write_doc(path: Path, source: Path) -> None:
    """LibreOffice, headless, saves a .docx as Word 97-2003."""
    import shutil
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["soffice", "--headless", "--convert-to", "doc", "--outdir", folder, str(source)],
                       check=True, capture_output=True, timeout=300)
        shutil.copy(Path(folder) / (source.stem + ".doc"), path)


def write_wps(path: Path) -> None:
    """The Word 97 format WPS 文字 saves as .wps; with an author of its own in the document properties,
    so that its bytes are not a copy of seed.doc's (kb indexes one content once) while its text is."""
    import tempfile

    import docx

    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "seed-wps.docx"
        document = docx.Document(OUT / "seed.docx")
        document.core_properties.author = "WPS 文字"
        document.save(source)
        write_doc(path, source)


def write_ofd(path: Path, per_line: int = 38, per_page: int = 40) -> None:
    """The seed as an OFD: A4 pages in millimetres, one TextObject per printed line, the title and the
    practice headings set larger than the body (the reader makes headings of them)."""
    import zipfile
    from xml.sax.saxutils import escape

    ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
    printed: list[tuple[float, str]] = []
    for kind, text in seed_lines():
        size = {"title": 5.6, "heading": 4.6}.get(kind, 3.7)
        width = int(per_line * 3.7 / size)
        printed += [(size, text[i:i + width]) for i in range(0, len(text), width)] + [(0.0, "")]
    pages, page, y = [], [], 20.0
    for size, text in printed:
        if y > 270 or len(page) >= per_page:
            pages.append(page)
            page, y = [], 20.0
        if text:
            page.append((y, size, text))
        y += (size or 3.7) * 1.6
    pages.append(page)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("OFD.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {ns} Version="1.0" DocType="OFD">'
                         "<ofd:DocBody><ofd:DocInfo><ofd:DocID>seed</ofd:DocID></ofd:DocInfo>"
                         "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>")
        listed = "".join(f'<ofd:Page ID="{n + 1}" BaseLoc="Pages/Page_{n}/Content.xml"/>' for n in range(len(pages)))
        archive.writestr("Doc_0/Document.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {ns}>'
                         '<ofd:CommonData><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea>'
                         '<ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData>'
                         f"<ofd:Pages>{listed}</ofd:Pages></ofd:Document>")
        archive.writestr("Doc_0/PublicRes.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res {ns} BaseLoc="Res">'
                         '<ofd:Fonts><ofd:Font ID="1" FontName="宋体" FamilyName="宋体"/></ofd:Fonts></ofd:Res>')
        for number, lines in enumerate(pages):
            objects = "".join(
                f'<ofd:TextObject ID="{number * 1000 + i + 2}" Boundary="20 {y:.1f} {len(t) * s:.1f} {s * 1.2:.1f}" '
                f'Font="1" Size="{s}"><ofd:TextCode X="0" Y="{s:.1f}" DeltaX="g {len(t) - 1} {s}">{escape(t)}'
                "</ofd:TextCode></ofd:TextObject>"
                for i, (y, s, t) in enumerate(lines))
            archive.writestr(f"Doc_0/Pages/Page_{number}/Content.xml",
                             f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}><ofd:Content><ofd:Layer ID="1">'
                             f"{objects}</ofd:Layer></ofd:Content></ofd:Page>")


if __name__ == "__main__":
    main()
