"""The command line's Chinese: each English message template (kb.cli.words.say), each help text (keyed
by its words on one line) and the click strings kb's users meet. Facts in braces stay as they are."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    # Errors and warnings
    "Error: {message}": "错误：{message}",
    "Warning: {notice}": "提示：{notice}",
    "invalid setting: {problems}": "设置无效：{problems}",
    "interrupted; the index keeps its last committed state": "已中断；索引保持上次提交时的状态",
    "the disk is full ({error}): free space and run it again; what was committed before is kept":
        "磁盘已满（{error}）：请腾出空间后重新运行；此前已提交的内容都还在",
    "the index's disk could not be read or written ({error}): it may be full or failing; free space, then run "
    "`kb check`": "索引所在的磁盘无法读写（{error}）：可能已满或出了故障；请腾出空间，然后运行 `kb check`",
    "the index database is damaged ({error}): `kb check` says what; `kb check --repair` rebuilds what is derived "
    "from it; if SQLite itself is damaged, `kb restore` a backup or rebuild with `kb index --rebuild`":
        "索引数据库已损坏（{error}）：`kb check` 会说明损坏之处；`kb check --repair` 重建由它派生的部分；"
        "若 SQLite 文件本身损坏，请用 `kb restore` 恢复备份，或用 `kb index --rebuild` 重建",
    "this is a bug in kb, not something you did: please report it with the command you ran and the traceback "
    "above": "这是 kb 的程序错误，不是您操作不当：请把所运行的命令和上面的错误信息一并报告",
    "{error}; set the terminal to UTF-8 or GB18030 and type it again": "{error}；请把终端设为 UTF-8 或 GB18030 后重新输入",
    "cannot write {path}: {error}": "无法写入 {path}：{error}",
    "no index at {path}: run `kb index` first": "{path} 没有索引：请先运行 `kb index`",
    "cannot listen on {host}:{port}: {error}": "无法在 {host}:{port} 上监听：{error}",
    # kb index
    "failed": "失败",
    "note": "提示",
    "skipped": "跳过",
    "(-v lists the skipped files)": "（加 -v 可列出跳过的文件）",
    "reading": "读取文件",
    "OCR": "识别扫描页",
    "embedding": "计算向量",
    "writing vectors": "写入向量索引",
    "publishing": "发布到 Milvus",
    "searching (semantic)": "检索（语义）",
    "searching (keyword)": "检索（关键词）",
    "searching (hybrid)": "检索（混合）",
    "Milvus at {uri} ({collection})": "Milvus（{uri}，集合 {collection}）",
    "published generation {generation} to {where}: {added} chunks added, {removed} retired, {chunks} served, "
    "in {seconds:.1f} s":
        "已把第 {generation} 版索引发布到 {where}：新增 {added} 段，撤下 {removed} 段，共提供 {chunks} 段，"
        "用时 {seconds:.1f} 秒",
    "{where} already serves generation {generation}": "{where} 已在提供第 {generation} 版索引",
    # kb search and kb show
    "give a QUERY or --queries FILE (not both)": "请给出一个问题（QUERY）或 --queries 文件（二者选一）",
    "--format docx writes a Word file for one QUERY: give -o FILE.docx":
        "--format docx 为一个问题写出 Word 文件：请用 -o 文件名.docx 指定",
    "-o writes a report: add --format docx (Word) or --format json":
        "-o 用于写出报告：请加上 --format docx（Word）或 --format json",
    " ({count} weak matches left out; --include-weak lists them)": "（{count} 条较弱的匹配未列入；加 --include-weak 可列入）",
    "wrote {count} hits to {path}": "已把 {count} 条结果写入 {path}",
    "no results for {query}": "{query} 没有检索结果",
    "nothing passed the relevance floor: every hit above is a weak match. Try fewer words, or --mode {other}.":
        "没有足够相关的结果：以上都是较弱的匹配。可以少用几个词，或改用 --mode {other}。",
    "the question asks for {asks}; no practice or review above states one.": "问题问的是{asks}，以上的实践和综述都没有写到。",
    "{count} hits in {ms:.0f} ms ({mode}); start-up {startup:.1f} s":
        "{count} 条结果，用时 {ms:.0f} 毫秒（{mode}）；启动 {startup:.1f} 秒",
    "semantic": "语义",
    "keyword": "关键词",
    "hybrid": "混合",
    "weak match": "较弱的匹配",
    "page {page}": "第 {page} 页",
    "chunk {chunk_id}": "段落 {chunk_id}",
    "score {score:.4f}": "得分 {score:.4f}",
    '{path}, line {number}: not a queries.jsonl line with a "text" ({error})':
        '{path} 第 {number} 行：不是带 "text" 的 queries.jsonl 行（{error}）',
    "unit: {unit}": "单位：{unit}",
    "chars {start}–{end}": "字符 {start}–{end}",
    # kb stats and kb model info
    "index": "索引",
    "documents": "文档",
    "chunks": "段落",
    "model": "模型",
    "generation": "版本",
    "vectors": "向量",
    "chunking": "分段",
    "database": "数据库",
    "unit_type": "单位类型",
    "doc_type": "文档类型",
    "year": "年份",
    "{name} ({dimension} dims, {precision}, revision {revision})": "{name}（{dimension} 维，{precision}，版本 {revision}）",
    "{generation}, built {built} by kb {version}": "第 {generation} 版，{built} 由 kb {version} 建立",
    "{size} chars, overlap {overlap}": "每段 {size} 字，重叠 {overlap} 字",
    "{mb:.1f} MB, {cached} cached embeddings": "{mb:.1f} MB，缓存向量 {cached} 个",
    "name": "名称",
    "dimension": "维度",
    "source": "来源",
    "checksum": "校验和",
    "folder": "目录",
    "max length": "最大长度",
    "prompts": "提示词",
    "precision": "精度",
    "runtime": "运行时",
    "{count} tokens": "{count} 个词元",
    "query {query}, passage {passage}": "问题 {query}，段落 {passage}",
    "give a BEIR folder or {options}": "请给出 BEIR 目录，或 {options}",
    # kb check
    "repaired: {line}": "已修复：{line}",
    "problem: {line}": "问题：{line}",
    "ok: generation {generation}, {documents} documents, {chunks} chunks":
        "正常：第 {generation} 版，{documents} 个文档，{chunks} 段",
    "NOT ok: generation {generation}, {documents} documents, {chunks} chunks":
        "有问题：第 {generation} 版，{documents} 个文档，{chunks} 段",
    " (run `{remedy}`)": "（请运行 `{remedy}`）",
    # kb admin, log, backup, restore, serve
    "New admin password": "新的管理密码",
    "Repeat for confirmation": "再输入一次确认",
    "admin password set in {path}; restart `kb serve` for the page to ask for it":
        "管理密码已写入 {path}；重新启动 `kb serve` 后页面会要求输入",
    "no changes recorded yet": "还没有任何变更记录",
    "backed up generation {generation}: {documents} documents, {chunks} chunks, {files} corpus files -> {dest}":
        "已备份第 {generation} 版索引：{documents} 个文档，{chunks} 段，{files} 个语料文件 -> {dest}",
    "re-indexed": "已重建索引",
    "restored": "已恢复",
    "{how}: {documents} documents, now generation {generation}": "{how}：{documents} 个文档，现为第 {generation} 版",
    "the corpus that was there is kept at {path}": "原来的文档目录保存在 {path}",
    "kb page on http://{host}:{port}/ (index {index}); Ctrl+C stops it":
        "kb 页面：http://{host}:{port}/（索引 {index}）；按 Ctrl+C 停止",
    "no admin password is set: on this address the page only searches; `kb admin set-password` opens uploads "
    "and removals to whoever knows it": "还没有设置管理密码：在这个地址上页面只能检索；`kb admin set-password` "
                                        "设置密码后，知道密码的人可以上传和删除",
    "serving the API on http://{host}:{port}/ once the model is loaded (OpenAPI: /openapi.json)":
        "模型加载后在 http://{host}:{port}/ 提供 API（OpenAPI：/openapi.json）",
    "kb mcp: serving http://{host}:{port}/mcp": "kb mcp：在 http://{host}:{port}/mcp 提供服务",
    # kb practices
    "theme {old} is now {new}": "主题 {old} 现在是 {new}",
    "unknown theme {theme}; the themes are: {names}": "没有主题 {theme}；现有主题：{names}",
    "no practice of unit {unit}; `kb practices` lists the units": "没有单位 {unit} 的实践；`kb practices` 列出各单位",
    "no practice of unit {unit}; did you mean {hint}?": "没有单位 {unit} 的实践；您要找的是不是 {hint}？",
    "--format {format} writes a file: give -o FILE.{format}": "--format {format} 写出文件：请用 -o 文件名.{format} 指定",
    "wrote {count} practices to {path}": "已把 {count} 项实践写入 {path}",
    "{count} practices; `kb practices show N` opens one": "共 {count} 项实践；`kb practices show 编号` 查看其中一项",
    "{which} has {count} practices; give its number from `kb practices`":
        "{which} 有 {count} 项实践；请给出 `kb practices` 中的编号",
    "no practice {which}; `kb practices` lists them with their numbers": "没有实践 {which}；`kb practices` 列出全部实践及编号",
    "  (formerly {names})": "（曾用名：{names}）",
    "no approach cards in the corpus": "文档中没有方法卡片",
}

HELP: dict[str, str] = {
    "Search Chinese documents by meaning and by words, offline.": "离线检索中文文档：按意思，也按关键词。",
    "Index folder (default: index/).": "索引目录（默认：index/）。",
    "Settings file (default: ./kb.toml when present).": "设置文件（默认：当前目录下的 kb.toml，如果有）。",
    "Log what kb does.": "记录 kb 的每一步。",
    "Show the version and exit.": "显示版本后退出。",
    "Add, update and remove documents under PATHS (default: the corpus folder).":
        "添加、更新和删除 PATHS 下的文档（默认：文档目录）。",
    "Corpus root; document ids are paths relative to it (default: corpus/).": "文档根目录；文档编号是相对它的路径（默认：corpus/）。",
    "Re-chunk every document and rebuild the vectors.": "重新分段每个文档并重建向量。",
    "Wait for another writer instead of failing.": "另一个写入者在工作时等待，而不是报错。",
    "Stop at the first file that cannot be indexed, writing nothing.": "遇到第一个无法索引的文件就停止，什么也不写入。",
    "Print the report as JSON.": "以 JSON 输出报告。",
    "No progress bar.": "不显示进度条。",
    "List the files skipped as types kb does not read.": "列出因类型不受支持而跳过的文件。",
    "Find the passages that answer QUERY: practices first, then the laws and policies behind them (laws first "
    "when QUERY names a law or an article); weak matches are marked.":
        "查找回答 QUERY 的段落：先列创新实践，再列相关的法律政策（QUERY 提到某部法律或某一条时法律在前）；较弱的匹配会标出。",
    "Search every question in this file (one per line, or a queries.jsonl) and print one JSON line per question, "
    "paying the start-up once.": "检索该文件中的每个问题（每行一个，或 queries.jsonl），每个问题输出一行 JSON，只启动一次。",
    "Retriever (default: hybrid).": "检索方式（默认：hybrid 混合）。",
    "Hits per section (default 10); with --flat, hits in all.": "每一部分的结果数（默认 10）；加 --flat 时为总数。",
    "Only passages of this kind; repeat for several.": "只要这一类段落；可重复以选多类。",
    "kind, unit, unit_type, year, doc_type, doc, theme; repeat a field to allow several values.":
        "kind、unit、unit_type、year、doc_type、doc、theme；同一字段可重复，表示允许多个值。",
    "One fused ranking, not sections by kind (what `kb eval` scores).": "一个融合排序，不按类别分部分（`kb eval` 评的就是它）。",
    "Print the hits as a JSON list, in the order shown.": "以 JSON 列表输出结果，顺序与显示的相同。",
    "docx: a Word report (each passage with its document, unit, headings and page); needs -o.":
        "docx：Word 报告（每个段落附文档、单位、标题和页码）；需要 -o。",
    "Write the report here.": "把报告写到这里。",
    "With --format docx: list the weak matches too (left out otherwise).": "与 --format docx 同用：也列出较弱的匹配（默认不列）。",
    "Show a chunk with its heading path and neighbouring chunks.": "显示一个段落及其标题路径和前后段落。",
    "Neighbouring chunks to show on each side.": "每侧显示的相邻段落数。",
    "Documents, chunks, model and build of the index (the one searchers read: the index folder, or Milvus with "
    "search_backend = milvus).": "索引的文档、段落、模型和建立信息（检索读取的那个索引：索引目录，或 search_backend = milvus 时的 Milvus）。",
    "Verify the index: SQLite, stored texts, keyword rows, vectors and manifest agree. Exits 1 when not.":
        "检查索引：SQLite、存储的文本、关键词索引、向量和清单是否一致；不一致时退出码为 1。",
    "Rebuild the keyword index and vector file from SQLite; drop documents whose stored text is damaged, for "
    "`kb index` to read again.": "用 SQLite 重建关键词索引和向量文件；删去存储文本已损坏的文档，由 `kb index` 重新读取。",
    "Compare every vector with its stored embedding, not a sample.": "逐一比对每个向量与存储的嵌入，而不是抽样。",
    "Wait for another writer instead of failing (with --repair).": "另一个写入者在工作时等待，而不是报错（与 --repair 同用）。",
    "The embedding model.": "嵌入模型。",
    "Name, dimension, source and checksum of the configured model (converting it on first use).":
        "所配置模型的名称、维度、来源和校验和（首次使用时转换）。",
    "nDCG@10, MRR@10, Recall@10 and Recall@100 on BEIR-layout files. Give FOLDER holding corpus.jsonl, "
    "queries.jsonl and qrels/, or each file with its option. The corpus is indexed once into <index-dir>/eval/, "
    "cached by its content.": "在 BEIR 格式的文件上计算 nDCG@10、MRR@10、Recall@10 和 Recall@100。给出含 corpus.jsonl、"
                              "queries.jsonl 和 qrels/ 的 FOLDER，或用各自的选项给出每个文件。语料只索引一次，放在 "
                              "<index-dir>/eval/，按内容缓存。",
    "corpus.jsonl": "corpus.jsonl 文件",
    "queries.jsonl": "queries.jsonl 文件",
    "A qrels .tsv file or a folder of them.": "一个 qrels .tsv 文件，或放这类文件的目录。",
    "Modes to score (default: all three).": "要评测的检索方式（默认：三种都评）。",
    "Score only the first N queries.": "只评测前 N 个问题。",
    "Managing kb for an office: the admin password of the page.": "为单位管理 kb：页面的管理密码。",
    "Set the password the page asks before uploads, removals and re-indexing. Only a salted scrypt hash is "
    "written, as admin_password_hash in kb.toml (or the --config file).":
        "设置页面在上传、删除和重建索引前要求输入的密码。只写入加盐的 scrypt 散列值（kb.toml 或 --config 文件中的 "
        "admin_password_hash）。",
    "Read the password from standard input (scripts).": "从标准输入读取密码（供脚本使用）。",
    "Every change to the knowledge base, newest first: who, when, what file, content hash, result.":
        "知识库的每一次变更，最新的在前：谁、何时、哪个文件、内容散列值、结果。",
    "Copy the index and the corpus into DEST (a new folder); safe while the page serves.":
        "把索引和文档复制到 DEST（一个新目录）；页面在线时也可以安全进行。",
    "Corpus folder to back up with the index (default: corpus/).": "与索引一同备份的文档目录（默认：corpus/）。",
    "Bring back the index and corpus of a backup made by `kb backup`.": "恢复 `kb backup` 所做备份中的索引和文档。",
    "Corpus folder to restore into (default: corpus/); the old one is moved aside.": "恢复到的文档目录（默认：corpus/）；原目录会移到一旁保留。",
    "Restore a backup made with another model, chunking or format by re-indexing its corpus.":
        "恢复用其他模型、分段方式或格式做的备份：重新索引其中的文档。",
    "Open the search page (Streamlit) on this index; builds the index first if there is none.":
        "在这个索引上打开检索页面（Streamlit）；没有索引时先建立。",
    "Corpus root the page indexes and uploads into (default: corpus/).": "页面建立索引和上传文件所用的文档目录（默认：corpus/）。",
    "Address to listen on.": "监听地址。",
    "The catalogue of practices: unit, year, title, lead, key figures, keywords, theme.":
        "创新实践目录：单位、年份、标题、概要、关键数字、关键词、主题。",
    "Only this unit's practices.": "只列这个单位的实践。",
    "Only the practices of this theme (`kb practices themes` lists them).": "只列这个主题的实践（`kb practices themes` 列出各主题）。",
    "docx: a Word report; xlsx: an Excel workbook (both need -o); csv opens in Excel too (UTF-8 with BOM); json for "
    "programs.": "docx：Word 报告；xlsx：Excel 工作簿（二者都需要 -o）；csv 也可用 Excel 打开（带 BOM 的 UTF-8）；json 供程序使用。",
    "Write here instead of stdout.": "写到这里，而不是标准输出。",
    "One practice (its number in `kb practices`, its id, its unit by any unique part or short form such as 社法委, or "
    "a name in its title such as 徐福志委员工作站): figures, similar practices, cards.":
        "一项实践（`kb practices` 中的编号、它的编号 ID、单位名称中任一唯一的部分或简称如 社法委，或标题中的名称如 "
        "徐福志委员工作站）：关键数字、类似实践、方法卡片。",
    "How many similar practices of other units to list.": "列出多少项其他单位的类似实践。",
    "Groups of practices that do the same kind of work, each named by that work (委员工作站建设, 民主监督).":
        "做同一类工作的实践归为一组，组名就是这类工作（委员工作站建设、民主监督）。",
    "Group every practice afresh (themes otherwise keep their practices and names across re-indexing); old names "
    "keep finding their themes.": "把所有实践重新分组（否则重建索引时各主题保留原有的实践和名称）；旧的主题名仍能找到对应主题。",
    "Approach cards: numbered models (such as 45721) with each number's items, from the source only.":
        "方法卡片：编号模式（如 45721）及每个数字对应的内容，只取自原文。",
    "Serve the HTTP API (OpenAPI at /openapi.json) until Ctrl+C.": "提供 HTTP API（OpenAPI 在 /openapi.json），按 Ctrl+C 停止。",
    "Address to listen on (0.0.0.0: every one).": "监听地址（0.0.0.0：所有地址）。",
    "Port; 0 takes a free one and prints it.": "端口；0 表示取一个空闲端口并显示出来。",
    "Searches served side by side (one index connection each, one model).": "同时处理的检索数（各用一个索引连接，共用一个模型）。",
    "Print the OpenAPI description and exit.": "输出 OpenAPI 描述后退出。",
    "Serve kb's search to an AI assistant over MCP (stdio unless --http). Read-only tools: search_precedents, "
    "get_practice, list_practices, get_approach_card, get_passage.":
        "通过 MCP 向 AI 助手提供 kb 的检索（默认 stdio，加 --http 用 HTTP）。只读工具：search_precedents、get_practice、"
        "list_practices、get_approach_card、get_passage。",
    "Serve streamable HTTP on this port (at /mcp) instead of stdio.": "在这个端口（/mcp）提供可流式 HTTP，而不是 stdio。",
    "With --http: the address to listen on.": "与 --http 同用：监听地址。",
}

# Click's own words, as click's modules look them up (their English is click's message id).
CLICK: dict[str, str] = {
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Show this message and exit.": "显示这段说明后退出。",
    "Show the version and exit.": "显示版本后退出。",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "运行 '{command} {option}' 查看帮助。",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing command.": "缺少命令。",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Invalid value: {message}": "值无效：{message}",
    "Aborted!": "已取消！",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "Repeat for confirmation": "再输入一次确认",
    "Error: The two entered values do not match.": "错误：两次输入的不一致。",
}
