# 应用面板与命令行。

app-title = 智慧城市指数
app-language = 语言
app-computing = 正在计算指标…
app-alerts = 告警
app-simulated-note = 标有此记号的数值来自模拟器或回放，并非实时测量
app-zones-coloured-by = 区域按“{ $indicator }”着色：
cli-report-header = { $scene } — 指标，时间 { $date } (UTC)
cli-report-index = 智慧城市指数 { $index }（人口 { $population }，估算）
cli-report-problem = 问题：{ $problem }
cli-report-city-wide = 全市：
cli-report-target = 目标
cli-report-estimate = （估算）
cli-report-zone = 区域 { $zone }：
cli-report-alerts = 告警：{ $count }
cli-report-alert-city-wide = 全市
scenario-header = { $scene } — 情景“{ $name }”（{ $author }，{ $date }）
scenario-applied = 已应用 { $applied }/{ $edits } 项编辑
scenario-skipped = 跳过编辑 { $index }（{ $kind }）：{ $reason }
scenario-index = 智慧城市指数 { $baseline } → { $scenario }（{ $delta }）   居民 { $residents_before } → { $residents_after }
scenario-col-indicator = 指标
scenario-col-baseline = 现状
scenario-col-scenario = 情景
scenario-col-delta = 变化
scenario-col-target-share = 占目标%
scenario-col-status = 状态
scenario-zones-changed = 变化的区域：{ $count }
scenario-zone = 区域 { $zone } 指数 { $baseline } → { $scenario }
scenario-cost-benefit = 成本效益（{ $years } 年现值）：
scenario-total = 合计：{ $summary }
scenario-costs = 投资 { $capital }，运营 { $operating }/年，现值 { $present }，指数 { $index }
scenario-per-unit = 每单位 { $eur }
scenario-ranked = 按每{ $unit }所需欧元排序（{ $name }）：
scenario-set-header = { $scene } — { $count } 个情景

## citytwin briefing export (human output; --json stays language-neutral)
cli-export-pdf = { $path }：{ $pages } 页，{ $bytes } 字节
cli-export-missing-indicators = 没有数值行的指标：{ $list }
cli-export-lines-cut = 有 { $count } 行文字超出页面（页面上已注明）
cli-export-no-glyph = 有 { $count } 个字符在 PDF 字体中没有字形（显示为空白）
cli-export-json = { $path }：{ $slides } 张幻灯片，角色“{ $role }”
cli-export-slide = 第 { $slide } 张幻灯片：数据时间 { $time }
cli-export-slide-scenario = 第 { $slide } 张幻灯片：数据时间 { $time }；情景 { $scenario }
cli-export-withheld = 对角色“{ $role }”隐去：{ $list }
cli-export-values-ready = { $slides } 张幻灯片：数值已就绪，用时 { $load } 秒（未渲染）
cli-export-rendered = { $slides } 张幻灯片：场景就绪用时 { $load } 秒，渲染用时 { $render } 秒（每张 { $per } 秒）
