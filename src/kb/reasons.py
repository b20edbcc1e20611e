"""Why a file or folder was not taken, as a code with its facts, and the one table that words each
code: English for the CLI and the logs, Chinese for the page. Loaders raise codes; nothing ever
reads an English message back to learn what happened."""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

from pydantic import BaseModel, Field


class KbError(Exception):
    """A failure kb expects and words for the user: bad input, a missing, busy or mismatched index, a
    model or server that cannot be used. Front ends print its message (the CLI as one line, exit 2);
    any other exception is a bug, and the CLI shows its traceback."""


class DiskFullError(KbError):
    """The disk (or quota) ran out during a change: the message says whether it was committed."""


def is_disk_full(exc: BaseException, where: Path | None = None) -> bool:
    """No space left, as the OS says it (ENOSPC, EDQUOT) or as SQLite does (SQLITE_FULL). SQLite says
    only "disk I/O error" when its shared-memory file cannot grow: that counts where the disk holding
    ``where`` has (next to) no room left."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if not isinstance(exc, sqlite3.Error):
        return False
    if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(exc):
        return True
    if where is None or not is_io_error(exc):
        return False
    try:
        return shutil.disk_usage(where).free < 2**20
    except OSError:
        return False


def is_io_error(exc: BaseException) -> bool:
    """SQLite's "disk I/O error" (SQLITE_IOERR and its extended codes): the disk, not the file's content."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and (
        (code is not None and code & 0xFF == sqlite3.SQLITE_IOERR) or "I/O error" in str(exc))

# code: (English, Chinese); {names} are the reason's facts.
REASONS: dict[str, tuple[str, str]] = {
    "empty": ("empty file", "文件是空的"),
    "no_text": ("no text", "文件里没有可读的文字"),
    "binary": ("binary content (NUL bytes), not a text file", "是二进制内容，不是文本文件"),
    "bom_mismatch": ("starts with a {encoding} byte-order mark but is not {encoding}",
                     "文件开头标明是 {encoding} 编码，内容却不是"),
    "encoding": ("text is neither UTF-8, UTF-16 nor GB18030/GBK", "无法识别文字编码（不是 UTF-8、UTF-16 或 GB18030/GBK）"),
    "front_matter": ("front matter is not valid YAML: {detail}", "开头的元数据不是有效的 YAML：{detail}"),
    "front_matter_shape": ("front matter must be key: value lines", "开头的元数据必须是“键: 值”的行"),
    "too_large": ("{size_mb} MB is over the {limit_mb} MB limit (max_file_mb)", "文件 {size_mb} MB，超过 {limit_mb} MB 的上限"),
    "unsupported": ("not a type kb reads ({suffix}); README lists the formats",
                    "kb 不读取这种文件（{suffix}），可读的格式见说明"),
    "too_many_paragraphs": ("over {limit} paragraphs (max_paragraphs_per_file)", "段落超过 {limit} 个的上限"),
    "too_many_pages": ("{pages} pages, over the {limit}-page limit (max_pages_per_file)", "共 {pages} 页，超过 {limit} 页的上限"),
    "too_many_chunks": ("{chunks} passages, over the {limit} kb takes from one file (max_chunks_per_file)",
                        "切分出 {chunks} 个段落，超过单个文件 {limit} 个的上限"),
    "archive_too_large": ("its parts unpack to {size_mb} MB, over the {limit_mb} MB kb unpacks from one file",
                          "文件解压后达 {size_mb} MB，超过单个文件 {limit_mb} MB 的解压上限"),
    "docx_damaged": ("not a readable .docx (truncated or not a Word file): {detail}",
                     "不是可读的 .docx（文件不完整，或不是 Word 文件）"),
    "word_encrypted": ("password-protected Word file; save it without a password and add it again",
                       "Word 文件有密码保护：请去掉密码后再添加"),
    "doc_damaged": ("not a readable Word 97-2003 file (.doc): {detail}", "不是可读的 Word 97-2003 文件（.doc）"),
    "wps_not_word": ("a .wps file not in the Word 97 format that WPS 文字 saves; save it as .docx in WPS", "这个 .wps 不是 WPS 文字保存的 Word 97 格式：请在 WPS 中另存为 .docx"),
    "pdf_encrypted": ("encrypted PDF; remove the password and add it again", "PDF 已加密：请去掉密码后再添加"),
    "pdf_damaged": ("not a readable PDF (truncated or damaged): {detail}", "PDF 无法读取（文件不完整或已损坏）"),
    "pdf_scanned": ("no text layer ({pages} page(s), probably scanned); reading scans needs OCR: pip install 'kb[ocr]'",
                    "PDF 没有文字层（共 {pages} 页，可能是扫描件）：识别扫描件需要安装 OCR 组件（pip install 'kb[ocr]'）"),
    "image_needs_ocr": ("an image: reading it needs OCR: pip install 'kb[ocr]'",
                        "这是图片：识别其中的文字需要安装 OCR 组件（pip install 'kb[ocr]'）"),
    "ofd_images_only": (("all {pages} page(s) are images, no text layer (probably scanned); reading scans needs OCR: "
                        "pip install 'kb[ocr]'"), "OFD 的 {pages} 页都是图片，没有文字层：识别扫描件需要安装 OCR 组件"),
    "ocr_unreadable": (("no text layer, and OCR read no text it is sure of on any of its {pages} page(s) "
                       "(confidence under {floor})"), "没有文字层，文字识别在全部 {pages} 页上都没有读出可信的文字（置信度低于 {floor}）"),
    "ocr_low_confidence": ("page {page}: OCR confidence {confidence} is under {floor}; the page was left out",
                           "第 {page} 页文字识别的置信度为 {confidence}，低于 {floor}，该页未导入"),
    "image_damaged": ("not a readable image: {detail}", "图片无法读取"),
    "ofd_damaged": ("not a readable OFD file: {detail}", "OFD 文件无法读取"),
    "html_damaged": ("HTML could not be parsed: {detail}", "网页文件无法解析"),
    "jsonl_row": ("line {line}: {detail}", "第 {line} 行：{detail}"),
    "jsonl_empty": ("no rows", "没有任何一行数据"),
    "duplicate": ("same content as {owner}; not indexed twice", "与已有文件内容相同：{owner}，不重复导入"),
    "link_outside": ("a link to {target}, outside the corpus folder; not followed (follow_symlinks = true allows it)",
                     "指向语料文件夹以外（{target}）的链接，未读取"),
    "name_clash": ("its name reads the same as {other}; rename one of them", "文件名与 {other} 读起来相同，请改名"),
    "folder_unreadable": ("folder cannot be read ({detail}); its documents keep their last indexed version",
                          "文件夹无法读取（{detail}），其中的文档保持上次索引的版本"),
    "unreadable": ("cannot be read: {detail}", "无法读取：{detail}"),
    "save_failed": ("could not be saved: {detail}", "无法保存：{detail}"),
    "readme": ("a README is not indexed", "说明文件（README）不作为文档导入"),
    # Details of the change log that are no failure.
    "uploaded_as": ("uploaded as {name}", "上传时的文件名：{name}"),
    "wrong_password": ("wrong password", "密码错误"),
    "locked_out": ("too many wrong passwords: refused unchecked, {seconds} s left", "密码错误次数过多：未经核对即拒绝，还需等 {seconds} 秒"),
    "backup_made": ("generation {generation}, {documents} documents, {files} corpus files",
                    "第 {generation} 版索引，{documents} 个文档，{files} 个语料文件"),
    "restored": ("backup of {made}, now generation {generation}{more}", "恢复 {made} 的备份，现为第 {generation} 版索引{more_zh}"),
    "database_set_aside": ("damaged; kept as {name}, and the index built again from the corpus",
                           "已损坏：原文件另存为 {name}，索引已按文档目录重新建立"),
    "run_error": ("{detail}", "运行出错（详情可在服务器上运行 kb log 查看）"),
}


def chinese_reason(reason: Reason | None, english: str = "") -> str:
    """A reason in Chinese from its code; a record made before reasons had codes shows where to read
    its English."""
    if reason is not None:
        return reason.chinese()
    if english and not any("a" <= ch.lower() <= "z" for ch in english):
        return english
    return "无法读取（详情可在服务器上运行 kb log 查看）" if english else ""


class Reason(BaseModel):
    """A code from REASONS and the facts its words need (file sizes, page counts, the other file …)."""

    code: str
    facts: dict[str, str] = Field(default_factory=dict)

    def english(self) -> str:
        return _words(self, 0)

    def chinese(self) -> str:
        return _words(self, 1)


def _words(reason: Reason, language: int) -> str:
    template = REASONS.get(reason.code, REASONS["unreadable"])[language]
    facts = {"detail": "", **reason.facts}
    try:
        return template.format(**facts)
    except (KeyError, IndexError):
        return REASONS["unreadable"][language].format(detail=reason.code)
