# The pages of an exported briefing.

briefing-notes = Notes
briefing-indicators = Indicators
briefing-indicators-scenario = Indicators: the scenario against today
briefing-none-highlighted = None highlighted on this slide.
briefing-target-at-least = target at least { $value }
briefing-target-at-most = target at most { $value }
briefing-status-today = { $status } (today: { $today })
briefing-no-value = no value
briefing-no-change = { $value } (no change vs today)
briefing-change = { $value } ({ $change } vs today)
briefing-today-no-value = { $value } (today: no value)
briefing-today-value = { $value } (today: { $today })
briefing-zones-legend = Zones coloured by { $indicator }: green on target, amber warning, red alarm, grey no data or not applicable (the zone lacks the indicator's base).
briefing-zones-not-applicable = { $count } not applicable
briefing-zones-some = { $with } of { $of } zones with a value{ $na }; lowest score { $lowest }, highest { $highest }.
briefing-zones-one = 1 of { $of } zones with a value{ $na }: { $only }.
briefing-zones-none = None of the { $of } zones has a value{ $na }.
briefing-scenario = Scenario: { $scenario }
briefing-skipped = { $count ->
    [one] 1 edit could not be applied: { $edits }
   *[other] { $count } edits could not be applied: { $edits }
}
briefing-data-time = Data time: { $time }
briefing-lines-cut = { $count ->
    [one] 1 line of notes or indicators did not fit this page
   *[other] { $count } lines of notes or indicators did not fit this page
}
briefing-feeds = Feeds: { $feeds }
briefing-feeds-none = Feeds: none behind this page's figures (map layers only).
briefing-sources = Sources: { $sources }
briefing-sources-none = Sources: no layers shown.
briefing-licence-not-stated = licence not stated
briefing-feed-live = live
briefing-feed-replay = REPLAY: recorded data played back
briefing-feed-simulated = SIMULATED: the built-in simulator, not measurements
briefing-feed-unknown = origin unknown
briefing-feeds-gone = feeds no longer in the scene ({ $kind })
briefing-subject = { $scene } — data time { $time }
briefing-not-evaluated = not evaluated
briefing-data-time-at = { $time } UTC ({ $source })
briefing-source-no-history = no observation history: feed indicators have no data
briefing-source-none = no observations in the 24 h before it in the history
briefing-source-history = feeds from the history: { $count ->
    [one] { $count } observation of the 24 h before
   *[other] { $count } observations of the 24 h before
}
