# The indicator catalogue: names (by stable id), units, dimensions, statuses.

## Dimensions of the smart-city index.
dimension-economy = Economy
dimension-governance = Governance
dimension-environment = Environment
dimension-people = People
dimension-mobility = Mobility
dimension-living = Living

## Statuses.
status-on-target = on target
status-warning = warning
status-alarm = alarm
status-no-data = no data
status-stale = stale
status-not-applicable = not applicable

## Units.
unit-percent = %
unit-per-100k = per 100k
unit-per-10k = per 10k
unit-m2-per-resident = m²/resident
unit-nats = nats
unit-hours = h
unit-score = score
unit-ug-m3 = µg/m³
unit-dba = dB(A)
unit-ha-per-100k = ha per 100k
unit-kw-per-resident = kW/resident
unit-residents-per-km2 = residents/km²
unit-seconds = s
unit-km-per-100k = km per 100k
unit-per-km2 = per km²
unit-ratio = ratio

## Indicator names, by id ("." written as "-").
indicator-econ-businesses_per_100k = Businesses per 100,000 residents
indicator-econ-commercial_floor_share = Commercial floor-area share
indicator-econ-workspace_per_resident = Non-residential floor area per resident
indicator-econ-poi_diversity = POI diversity
indicator-gov-open_requests_per_10k = Open service requests per 10,000 residents
indicator-gov-request_close_median_h = Median time to close a service request
indicator-gov-sentiment = Public sentiment
indicator-gov-feed_coverage = Zones covered by live feeds
indicator-env-pm25_daily_mean = PM2.5, 24-hour mean
indicator-env-pm10_daily_mean = PM10, 24-hour mean
indicator-env-no2_daily_mean = NO₂, 24-hour mean
indicator-env-noise_mean = Noise level
indicator-env-green_ha_per_100k = Green area per 100,000 residents
indicator-env-renewable_share = Renewable share of electricity
indicator-env-electricity_kw_per_resident = Electricity load per resident
indicator-env-solar_roof_per_resident = Roof area usable for solar per resident
indicator-people-population_density = Population density (estimate)
indicator-people-school_access = Residents within 800 m walk of a school
indicator-people-health_access = Residents within 800 m walk of health care
indicator-people-culture_sport_per_100k = Cultural and sporting facilities per 100,000 residents
indicator-mob-transit_access_400m = Residents within 400 m walk of public transport
indicator-mob-congestion_index = Congestion index
indicator-mob-transit_delay_mean = Mean transit delay
indicator-mob-cycleway_km_per_100k = Cycleways per 100,000 residents
indicator-mob-intersection_density = Walk-network intersection density
indicator-live-fifteen_minute_city = 15-minute city score
indicator-live-grocery_access_500m = Residents within 500 m walk of a grocery
indicator-live-park_access_300m = Residents within 300 m walk of a park
indicator-live-floor_area_ratio = Building density (floor-area ratio)

## Feed badges.
badge-simulated = SIMULATED
badge-replay = REPLAY
badge-unknown = UNKNOWN
