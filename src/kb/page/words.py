"""The page's Chinese for what the library records in English (the CLI's language): audit actions and
results, index reports, the reasons a file was refused, model precisions, and the CSS that gives
Streamlit's own widgets Chinese text where they have no option for it."""

from __future__ import annotations

import re

from kb.index.indexer import IndexReport

ACTIONS = {"index": "索引", "remove": "删除", "upload": "上传", "login": "登录", "set-password": "设置密码",
           "backup": "备份", "restore": "恢复"}
RESULTS = {"added": "新增", "changed": "更新", "removed": "删除", "renamed": "改名", "failed": "失败",
           "done": "完成", "refused": "拒绝", "duplicate": "重复", "saved": "已保存", "error": "出错",
           "unchanged": "未变"}
PRECISIONS = {"fp32": "全精度", "bf16": "半精度", "int8": "8 位量化"}

# (pattern of the English reason, its Chinese); the first that matches wins.
_REASONS = [
    (re.compile(r"([\d.]+) MB is over the (\d+) MB limit"), "文件 {0} MB，超过 {1} MB 的上限"),
    (re.compile(r"same content as (.+)"), "与已有文件内容相同：{0}"),
    (re.compile(r"uploaded as (.+)"), "上传时的文件名：{0}"),
    (re.compile(r"renamed from (.+)"), "由 {0} 改名"),
    (re.compile(r"wrong password"), "密码错误"),
    (re.compile(r"empty file|no text|empty"), "文件是空的，或没有可读的文字"),
    (re.compile(r"encrypt|password", re.IGNORECASE), "文件已加密，无法读取"),
    (re.compile(r"unsupported|not supported|unknown suffix|suffix", re.IGNORECASE), "不支持的文件类型"),
    (re.compile(r"decode|encoding|GB18030|UTF-8", re.IGNORECASE), "无法识别文件的文字编码"),
    (re.compile(r"name .*(long|bytes)", re.IGNORECASE), "文件名过长"),
    (re.compile(r"generation (\d+), (\d+) documents, (\d+) corpus files"), "第 {0} 版索引，{1} 个文档，{2} 个文件"),
    (re.compile(r"backup of (\S+), now generation (\d+)"), "恢复 {0} 的备份，现为第 {1} 版索引"),
]


def chinese_reason(reason: str) -> str:
    """A refusal or failure reason in Chinese; the English original stays in `kb log` and the server log."""
    if not reason:
        return ""
    if not re.search(r"[A-Za-z]{2,}", reason):
        return reason
    for pattern, chinese in _REASONS:
        found = pattern.search(reason)
        if found:
            return chinese.format(*found.groups())
    return "无法读取（详情可在服务器上运行 kb log 查看）"


def report_summary(report: IndexReport) -> str:
    line = (f"新增 {report.added}，更新 {report.changed}，删除 {report.removed}，改名 {report.renamed}，"
            f"未变 {report.unchanged}；新计算向量 {report.chunks_embedded} 段，复用 {report.chunks_reused} 段；"
            f"用时 {report.seconds:.1f} 秒")
    if report.failed:
        line += f"；{len(report.failed)} 个文件未能导入"
    return line


# Streamlit draws some texts itself, in English, with no option to change them: the file uploader's
# instructions and button, the text box's "Press Enter" hint, the running indicator's "Stop".
PAGE_CSS = """
<style>
.kb-hit mark{background:#ffe08a;padding:0 1px}
.kb-current{font-weight:600;border-left:3px solid #f0b429;padding-left:.5em;margin:.3em 0}
.kb-other{color:#666;margin:.3em 0}
.kb-crossing{color:#a15c00;font-size:.85em}
[data-testid="InputInstructions"]{display:none}
[data-testid="stStatusWidget"]{visibility:hidden}
[data-testid="stFileUploaderDropzoneInstructions"] span,
[data-testid="stFileUploaderDropzoneInstructions"] small{display:none}
[data-testid="stFileUploaderDropzoneInstructions"] > div::before{content:"把文件拖到这里，或点右边的按钮选择";}
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p{display:none}
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"]::after{content:"选择文件"}
</style>
"""
