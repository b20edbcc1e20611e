"""The page's Chinese for what the library records in English: audit actions and results, model
precisions, and the CSS that gives Streamlit's own widgets Chinese text where they have no option for
it. (Index reports and the reasons a file was refused carry their Chinese themselves, kb.index.report
and kb.reasons, which the CLI shares.)"""

from __future__ import annotations

ACTIONS = {"index": "索引", "remove": "删除", "upload": "上传", "login": "登录", "set-password": "设置密码",
           "backup": "备份", "restore": "恢复"}
RESULTS = {"added": "新增", "changed": "更新", "removed": "删除", "renamed": "改名", "failed": "失败",
           "done": "完成", "refused": "拒绝", "duplicate": "重复", "saved": "已保存", "error": "出错",
           "unchanged": "未变"}
PRECISIONS = {"fp32": "全精度", "bf16": "半精度", "int8": "8 位量化"}

def counted_in_words(count) -> str:
    """A filter value's count as staff count (kb.search.filters.FacetCount): its practices where it has
    any, else its documents, else its passages."""
    if count.practices:
        return f"{count.practices} 项实践"
    if count.documents:
        return f"{count.documents} 份文件"
    return f"{count.passages} 段"


# Streamlit draws some texts itself, in English, with no option to change them: the file uploader's
# instructions and button, the text box's "Press Enter" hint, the running indicator's "Stop", and the
# toolbars over charts and tables (Show data, Download as PNG, Fullscreen, Download as CSV, Search …),
# hidden here: the page's own 导出 buttons carry the same data in Chinese.
PAGE_CSS = """
<style>
.kb-hit mark{background:#ffe08a;padding:0 1px}
.kb-current{font-weight:600;border-left:3px solid #f0b429;padding-left:.5em;margin:.3em 0}
.kb-other{color:#666;margin:.3em 0}
.kb-crossing{color:#a15c00;font-size:.85em}
[data-testid="InputInstructions"]{display:none}
[data-testid="stElementToolbar"]{display:none}
.vega-embed details{display:none}
[data-testid="stStatusWidget"]{visibility:hidden}
[data-testid="stFileUploaderDropzoneInstructions"] span,
[data-testid="stFileUploaderDropzoneInstructions"] small{display:none}
[data-testid="stFileUploaderDropzoneInstructions"] > div::before{content:"把文件拖到这里，或点右边的按钮选择";}
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p{display:none}
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"]::after{content:"选择文件"}
</style>
"""
