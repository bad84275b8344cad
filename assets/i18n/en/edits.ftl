# Scenario edits: what they do, why one is refused, their kinds.

edit-n-buildings = { $count ->
    [one] { $count } building
   *[other] { $count } buildings
}
edit-n-roads = { $count ->
    [one] { $count } road segment
   *[other] { $count } road segments
}
edit-add-building = new { $use } building, { $height } m
edit-set-height = { $buildings } to { $height } m
edit-set-use = { $buildings } to { $use }
edit-demolish = demolish { $buildings }
edit-zone-storeys = zone { $zone }: { $storeys } { $count ->
    [one] storey
   *[other] storeys
}
edit-zone-storeys-use = zone { $zone }: { $storeys } { $count ->
    [one] storey
   *[other] storeys
} ({ $use })
edit-zone-use = zone { $zone }: { $from } to { $to }
edit-add-park = new park
edit-add-park-named = new park { $name }
edit-lots-to-green = { $buildings } to green space
edit-transit-stop = new { $mode } stop
edit-transit-line = new { $mode } line, { $count ->
    [one] { $count } stop
   *[other] { $count } stops
}
edit-close-to-cars = { $roads } closed to cars
edit-bike-lane = bike lane on { $roads }
edit-speed-limit = { $roads } to { $kmh } km/h
edit-solar-buildings = solar on { $percent } % of roofs of { $buildings }
edit-solar-zone = solar on { $percent } % of roofs in zone { $zone }
mode-bus = bus
mode-tram = tram
mode-metro = metro
edit-kind-add-building = new building
edit-kind-set-height = set height
edit-kind-set-use = set use
edit-kind-demolish = demolish
edit-kind-zone-storeys = zone storeys
edit-kind-zone-use = zone use
edit-kind-add-park = new park
edit-kind-lots-to-green = lots to green
edit-kind-transit-stop = transit stop
edit-kind-transit-line = transit line
edit-kind-close-to-cars = close to cars
edit-kind-bike-lane = bike lane
edit-kind-speed-limit = speed limit
edit-kind-rooftop-solar = rooftop solar
edit-skipped = #{ $index } { $kind }: { $reason }
edit-err-missing-building = building { $id } does not exist
edit-err-missing-road = road { $id } does not exist
edit-err-missing-zone = zone { $id } does not exist
edit-err-footprint-refused = the drawn footprint is refused: { $problem }
edit-err-park-refused = the drawn park is refused: { $problem }
edit-err-too-few-points = { $count ->
    [one] { $count } distinct point, at least 3 are needed
   *[other] { $count } distinct points, at least 3 are needed
}
edit-err-self-intersection = its outline crosses itself
edit-err-not-simple = it is not a simple polygon ({ $detail })
edit-err-no-area = it has no area
edit-err-no-buildings = no buildings selected
edit-err-no-roads = no roads selected
edit-err-empty-zone = zone { $zone } has no buildings
edit-err-empty-zone-use = zone { $zone } has no { $use } buildings
edit-err-zero-storeys = zero storeys changes nothing
edit-err-line-too-short = a line needs at least two stops
edit-err-already-cycleway = road { $id } is already a cycleway
edit-err-bad-speed = speed limit must be positive, is { $value }
edit-err-bad-share = solar share must be in (0, 1], is { $value }
edit-err-bad-height = height must be in (0, { $max }] m, is { $value }
edit-err-no-use = a building use is needed
edit-err-not-finite = the point is not on the ground
gain-index = Smart-city index
gain-residents = Residents (estimate)
gain-floor = Floor area
gain-green = Green area
gain-cycleways = Cycleways
gain-solar = Solar electricity
gain-unit-points = points
gain-unit-residents = residents
gain-unit-m2 = m²
gain-unit-km = km
gain-unit-mwh-per-year = MWh/year
cost-whole-scenario = whole scenario ({ $name }: { $count ->
    [one] { $count } edit
   *[other] { $count } edits
})
cost-no-gain = no gain
cost-per-unit = { $eur } per { $unit }
