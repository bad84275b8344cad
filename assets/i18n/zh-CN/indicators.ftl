# 指标目录：名称（按稳定 id）、单位、维度、状态。

## 智慧城市指数的维度。
dimension-economy = 经济
dimension-governance = 治理
dimension-environment = 环境
dimension-people = 市民
dimension-mobility = 出行
dimension-living = 生活

## 状态。
status-on-target = 达标
status-warning = 预警
status-alarm = 警报
status-no-data = 无数据
status-stale = 数据过期
status-not-applicable = 不适用

## 单位。
unit-percent = %
unit-per-100k = 每10万人
unit-per-10k = 每万人
unit-m2-per-resident = 平方米/人
unit-nats = 奈特
unit-hours = 小时
unit-score = 分
unit-ug-m3 = µg/m³
unit-dba = dB(A)
unit-ha-per-100k = 公顷/10万人
unit-kw-per-resident = 千瓦/人
unit-residents-per-km2 = 人/平方公里
unit-seconds = 秒
unit-km-per-100k = 公里/10万人
unit-per-km2 = 每平方公里
unit-ratio = 比值

## 指标名称。
indicator-econ-businesses_per_100k = 每10万居民企业数
indicator-econ-commercial_floor_share = 商业建筑面积占比
indicator-econ-workspace_per_resident = 人均非居住建筑面积
indicator-econ-poi_diversity = 兴趣点多样性
indicator-gov-open_requests_per_10k = 每万居民未办结服务请求数
indicator-gov-request_close_median_h = 服务请求办结时间中位数
indicator-gov-sentiment = 公众情绪
indicator-gov-feed_coverage = 实时数据覆盖的区域
indicator-env-pm25_daily_mean = PM2.5 24小时平均浓度
indicator-env-pm10_daily_mean = PM10 24小时平均浓度
indicator-env-no2_daily_mean = NO₂ 24小时平均浓度
indicator-env-noise_mean = 噪声水平
indicator-env-green_ha_per_100k = 每10万居民绿地面积
indicator-env-renewable_share = 可再生能源发电占比
indicator-env-electricity_kw_per_resident = 人均电力负荷
indicator-env-solar_roof_per_resident = 人均可用于太阳能的屋顶面积
indicator-people-population_density = 人口密度（估算）
indicator-people-school_access = 步行800米内可达学校的居民
indicator-people-health_access = 步行800米内可达医疗机构的居民
indicator-people-culture_sport_per_100k = 每10万居民文化体育设施数
indicator-mob-transit_access_400m = 步行400米内可达公共交通的居民
indicator-mob-congestion_index = 拥堵指数
indicator-mob-transit_delay_mean = 公共交通平均延误
indicator-mob-cycleway_km_per_100k = 每10万居民自行车道长度
indicator-mob-intersection_density = 步行网络交叉口密度
indicator-live-fifteen_minute_city = 15分钟城市得分
indicator-live-grocery_access_500m = 步行500米内可达食品店的居民
indicator-live-park_access_300m = 步行300米内可达公园的居民
indicator-live-floor_area_ratio = 建筑密度（容积率）

## 数据源标记。
badge-simulated = 模拟
badge-replay = 回放
badge-unknown = 来源不明
