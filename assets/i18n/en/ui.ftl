# The app's panels and the command line.

app-title = Smart-city index
app-language = Language
app-computing = computing indicators…
app-alerts = Alerts
app-simulated-note = values so marked come from a simulator or a replay, not from live measurements
app-zones-coloured-by = zones coloured by { $indicator }:
cli-report-header = { $scene } — indicators at { $ms } ms
cli-report-index = smart-city index { $index }  (population { $population }, estimated)
cli-report-problem = problem: { $problem }
cli-report-city-wide = city-wide:
cli-report-target = target
cli-report-estimate = (est.)
cli-report-zone = zone { $zone }:
cli-report-alerts = alerts: { $count }
cli-report-alert-city-wide = city-wide
scenario-header = { $scene } — scenario "{ $name }" ({ $author }, { $date })
scenario-applied = { $applied } of { $edits } edits applied
scenario-skipped = skipped edit { $index } ({ $kind }): { $reason }
scenario-index = smart-city index { $baseline } → { $scenario } ({ $delta })   residents { $residents_before } → { $residents_after }
scenario-col-indicator = indicator
scenario-col-baseline = baseline
scenario-col-scenario = scenario
scenario-col-delta = delta
scenario-col-target-share = % tgt
scenario-col-status = status
scenario-zones-changed = zones changed: { $count }
scenario-zone = zone { $zone } index { $baseline } → { $scenario }
scenario-cost-benefit = cost-benefit (present value over { $years } years):
scenario-total = total: { $summary }
scenario-costs = capital { $capital }, operating { $operating }/year, present value { $present }, index { $index }
scenario-per-unit = { $eur } per unit
scenario-ranked = ranked by € per { $unit } ({ $name }):
scenario-set-header = { $scene } — { $count } scenarios

## citytwin briefing export (human output; --json stays language-neutral)
cli-export-pdf = { $path }: { $pages ->
    [one] { $pages } page
   *[other] { $pages } pages
}, { $bytes } bytes
cli-export-missing-indicators = indicators without a value row: { $list }
cli-export-lines-cut = { $count ->
    [one] { $count } line of text did not fit its page (the page says so)
   *[other] { $count } lines of text did not fit their page (the pages say so)
}
cli-export-no-glyph = { $count ->
    [one] { $count } character the PDF font has no glyph for (drawn blank)
   *[other] { $count } characters the PDF font has no glyph for (drawn blank)
}
cli-export-json = { $path }: { $slides ->
    [one] { $slides } slide
   *[other] { $slides } slides
} as role '{ $role }'
cli-export-slide = slide { $slide }: data time { $time }
cli-export-slide-scenario = slide { $slide }: data time { $time }; scenario { $scenario }
cli-export-withheld = withheld for role '{ $role }': { $list }
cli-export-values-ready = { $slides ->
    [one] { $slides } slide
   *[other] { $slides } slides
}: values ready in { $load } s (nothing rendered)
cli-export-rendered = { $slides ->
    [one] { $slides } slide
   *[other] { $slides } slides
}: scene ready in { $load } s, slides rendered in { $render } s ({ $per } s per slide)
