//! The cost table: capital and yearly operating cost per unit of what an edit builds
//! (m² of floor, m² of park, a stop, a km of line or lane, a kWp of solar), with defaults
//! here and overrides from the scene (`costs: (...)`); the quantities an edit builds and
//! its costs; present value over an appraisal period.
//!
//! Defaults are 2025 euros, excluding VAT, for a Nordic capital; they are order-of-magnitude
//! planning figures (each const says its basis), meant to be replaced by the city's own.

use serde::{Deserialize, Serialize};

use crate::twin::scenario::model::{CostOverride, TransitMode};

/// New building floor area, € per m² of gross floor area (Finnish apartment-block
/// construction cost ≈ 2,500–3,500 €/m², Statistics Finland building cost index).
pub const BUILDING_EUR_PER_M2: f64 = 3_000.0;
/// Upkeep of new floor area, € per m² a year (0: private owners' upkeep is not a city cost).
pub const BUILDING_OPERATING_EUR_PER_M2_YEAR: f64 = 0.0;
/// Demolition, € per m² of floor removed (≈ 40–80 €/m² including waste handling).
pub const DEMOLITION_EUR_PER_M2: f64 = 60.0;
/// Change of use (conversion renovation), € per m² of floor (≈ 1,000–1,500 €/m²).
pub const CONVERSION_EUR_PER_M2: f64 = 1_200.0;
/// New park, € per m² (urban park construction ≈ 100–250 €/m²).
pub const PARK_EUR_PER_M2: f64 = 150.0;
/// Park maintenance, € per m² a year (≈ 2–5 €/m² for intensively kept urban parks).
pub const PARK_OPERATING_EUR_PER_M2_YEAR: f64 = 3.0;
/// New stop by mode `[bus, tram, metro]`, €: a bus stop with shelter and kerb ≈ 30 k€,
/// a tram platform pair ≈ 0.6 M€, a metro station ≈ 100 M€ (recent Nordic stations).
pub const STOP_EUR: [f64; 3] = [30_000.0, 600_000.0, 100_000_000.0];
/// Stop upkeep by mode, € a year (cleaning, winter maintenance, displays; a metro station's
/// staff, escalators and energy).
pub const STOP_OPERATING_EUR_YEAR: [f64; 3] = [2_000.0, 20_000.0, 1_500_000.0];
/// New line by mode, € per km of route: bus priority (lanes, signals) ≈ 0.1 M€/km, tram
/// ≈ 20–30 M€/km in a city centre, metro ≈ 150 M€/km (recent extensions).
pub const LINE_EUR_PER_KM: [f64; 3] = [100_000.0, 25_000_000.0, 150_000_000.0];
/// Line service by mode, € per route km a year (vehicle-km at a 10-minute headway).
pub const LINE_OPERATING_EUR_PER_KM_YEAR: [f64; 3] = [300_000.0, 1_000_000.0, 3_000_000.0];
/// Kerb-separated bike lane, € per km (≈ 0.5–2 M€/km in city streets).
pub const BIKE_LANE_EUR_PER_KM: f64 = 1_000_000.0;
/// Bike lane upkeep (winter maintenance), € per km a year.
pub const BIKE_LANE_OPERATING_EUR_PER_KM_YEAR: f64 = 5_000.0;
/// Pedestrian-street conversion (paving, furniture, bollards), € per km.
pub const CAR_FREE_EUR_PER_KM: f64 = 2_000_000.0;
/// Pedestrian-street upkeep, € per km a year.
pub const CAR_FREE_OPERATING_EUR_PER_KM_YEAR: f64 = 10_000.0;
/// New speed limit (signs, markings), € per km.
pub const SPEED_LIMIT_EUR_PER_KM: f64 = 5_000.0;
/// Rooftop photovoltaics on apartment and office roofs, € per kWp (≈ 1,000–1,500 €/kWp).
pub const SOLAR_EUR_PER_KWP: f64 = 1_200.0;
/// PV upkeep (inspection, inverter reserve), € per kWp a year.
pub const SOLAR_OPERATING_EUR_PER_KWP_YEAR: f64 = 15.0;
/// Peak power per m² of panel, kWp (≈ 200 W/m² modules).
pub const SOLAR_KWP_PER_M2: f64 = 0.2;
/// Yearly yield in southern Finland, kWh per kWp (≈ 800–900).
pub const SOLAR_KWH_PER_KWP_YEAR: f64 = 850.0;
/// Discount rate of the present value of operating costs (3.5 %, as in common public
/// appraisal guidance).
pub const DISCOUNT_RATE: f64 = 0.035;
/// Appraisal period, years.
pub const APPRAISAL_YEARS: f64 = 30.0;

/// Costs per unit. A scene overrides any of them (`costs: (park_eur_per_m2: 200.0)`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CostTable {
    /// New floor area, €/m².
    pub building_eur_per_m2: f64,
    /// Upkeep of new floor area, €/m² a year.
    pub building_operating_eur_per_m2_year: f64,
    /// Demolition, €/m² of floor.
    pub demolition_eur_per_m2: f64,
    /// Change of use, €/m² of floor.
    pub conversion_eur_per_m2: f64,
    /// New park, €/m².
    pub park_eur_per_m2: f64,
    /// Park upkeep, €/m² a year.
    pub park_operating_eur_per_m2_year: f64,
    /// New stop `[bus, tram, metro]`, €.
    pub stop_eur: [f64; 3],
    /// Stop upkeep `[bus, tram, metro]`, € a year.
    pub stop_operating_eur_year: [f64; 3],
    /// New line `[bus, tram, metro]`, € per km.
    pub line_eur_per_km: [f64; 3],
    /// Line service `[bus, tram, metro]`, € per km a year.
    pub line_operating_eur_per_km_year: [f64; 3],
    /// Bike lane, € per km.
    pub bike_lane_eur_per_km: f64,
    /// Bike lane upkeep, € per km a year.
    pub bike_lane_operating_eur_per_km_year: f64,
    /// Closing a street to cars, € per km.
    pub car_free_eur_per_km: f64,
    /// Pedestrian-street upkeep, € per km a year.
    pub car_free_operating_eur_per_km_year: f64,
    /// Speed limit change, € per km.
    pub speed_limit_eur_per_km: f64,
    /// Rooftop solar, € per kWp.
    pub solar_eur_per_kwp: f64,
    /// Solar upkeep, € per kWp a year.
    pub solar_operating_eur_per_kwp_year: f64,
    /// Panel peak power, kWp per m².
    pub solar_kwp_per_m2: f64,
    /// Solar yield, kWh per kWp a year.
    pub solar_kwh_per_kwp_year: f64,
    /// Discount rate (0.035 = 3.5 %).
    pub discount_rate: f64,
    /// Appraisal period, years.
    pub appraisal_years: f64,
}

impl Default for CostTable {
    fn default() -> Self {
        CostTable {
            building_eur_per_m2: BUILDING_EUR_PER_M2,
            building_operating_eur_per_m2_year: BUILDING_OPERATING_EUR_PER_M2_YEAR,
            demolition_eur_per_m2: DEMOLITION_EUR_PER_M2,
            conversion_eur_per_m2: CONVERSION_EUR_PER_M2,
            park_eur_per_m2: PARK_EUR_PER_M2,
            park_operating_eur_per_m2_year: PARK_OPERATING_EUR_PER_M2_YEAR,
            stop_eur: STOP_EUR,
            stop_operating_eur_year: STOP_OPERATING_EUR_YEAR,
            line_eur_per_km: LINE_EUR_PER_KM,
            line_operating_eur_per_km_year: LINE_OPERATING_EUR_PER_KM_YEAR,
            bike_lane_eur_per_km: BIKE_LANE_EUR_PER_KM,
            bike_lane_operating_eur_per_km_year: BIKE_LANE_OPERATING_EUR_PER_KM_YEAR,
            car_free_eur_per_km: CAR_FREE_EUR_PER_KM,
            car_free_operating_eur_per_km_year: CAR_FREE_OPERATING_EUR_PER_KM_YEAR,
            speed_limit_eur_per_km: SPEED_LIMIT_EUR_PER_KM,
            solar_eur_per_kwp: SOLAR_EUR_PER_KWP,
            solar_operating_eur_per_kwp_year: SOLAR_OPERATING_EUR_PER_KWP_YEAR,
            solar_kwp_per_m2: SOLAR_KWP_PER_M2,
            solar_kwh_per_kwp_year: SOLAR_KWH_PER_KWP_YEAR,
            discount_rate: DISCOUNT_RATE,
            appraisal_years: APPRAISAL_YEARS,
        }
    }
}

impl CostTable {
    /// Checks that every figure is finite and not negative and that the appraisal period
    /// is positive; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        let v = serde_json::to_value(self).map_err(|e| e.to_string())?;
        let obj = v.as_object().ok_or("costs: not an object")?;
        for (k, x) in obj {
            let nums: Vec<f64> = match x {
                serde_json::Value::Array(a) => a.iter().filter_map(|n| n.as_f64()).collect(),
                other => other.as_f64().into_iter().collect(),
            };
            if nums.iter().any(|n| !(n.is_finite() && *n >= 0.0)) {
                return Err(format!("costs.{k} must be finite and not negative"));
            }
        }
        if self.appraisal_years <= 0.0 {
            return Err("costs.appraisal_years must be positive".into());
        }
        Ok(())
    }

    /// Present value of one euro a year over the appraisal period at the discount rate.
    pub fn annuity_factor(&self) -> f64 {
        let (r, n) = (self.discount_rate, self.appraisal_years);
        if r <= 0.0 {
            n
        } else {
            (1.0 - (1.0 + r).powf(-n)) / r
        }
    }

    /// Capital plus the present value of the operating cost over the appraisal period.
    pub fn present_value(&self, capital_eur: f64, operating_eur_per_year: f64) -> f64 {
        capital_eur + operating_eur_per_year * self.annuity_factor()
    }

    /// The costs of what an edit builds, before any override.
    pub fn cost_of(&self, q: &Quantities) -> (f64, f64) {
        let mut capital = q.new_floor_m2 * self.building_eur_per_m2
            + q.demolished_floor_m2 * self.demolition_eur_per_m2
            + q.converted_floor_m2 * self.conversion_eur_per_m2
            + q.park_m2 * self.park_eur_per_m2
            + q.bike_lane_km * self.bike_lane_eur_per_km
            + q.car_free_km * self.car_free_eur_per_km
            + q.speed_limit_km * self.speed_limit_eur_per_km
            + q.solar_kwp * self.solar_eur_per_kwp;
        let mut operating = q.new_floor_m2 * self.building_operating_eur_per_m2_year
            + q.park_m2 * self.park_operating_eur_per_m2_year
            + q.bike_lane_km * self.bike_lane_operating_eur_per_km_year
            + q.car_free_km * self.car_free_operating_eur_per_km_year
            + q.solar_kwp * self.solar_operating_eur_per_kwp_year;
        for m in TransitMode::ALL {
            let i = m.index();
            capital += q.stops[i] as f64 * self.stop_eur[i] + q.line_km[i] * self.line_eur_per_km[i];
            operating += q.stops[i] as f64 * self.stop_operating_eur_year[i]
                + q.line_km[i] * self.line_operating_eur_per_km_year[i];
        }
        (capital, operating)
    }

    /// The costs of an edit: from the table, replaced by the edit's overrides.
    pub fn edit_cost(&self, q: &Quantities, over: &CostOverride) -> EditCost {
        let (capital, operating) = self.cost_of(q);
        let capital_eur = over.capital_eur.unwrap_or(capital);
        let operating_eur_per_year = over.operating_eur_per_year.unwrap_or(operating);
        EditCost {
            capital_eur,
            operating_eur_per_year,
            present_value_eur: self.present_value(capital_eur, operating_eur_per_year),
            overridden: !over.is_empty(),
        }
    }

    /// Yearly solar yield of `kwp`, MWh.
    pub fn solar_mwh_per_year(&self, kwp: f64) -> f64 {
        kwp * self.solar_kwh_per_kwp_year / 1_000.0
    }
}

/// What one edit builds, removes or changes, in the units of the cost table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Quantities {
    /// Floor area built (new buildings, added storeys), m².
    pub new_floor_m2: f64,
    /// Floor area demolished (demolitions, removed storeys), m².
    pub demolished_floor_m2: f64,
    /// Floor area changing use, m².
    pub converted_floor_m2: f64,
    /// New park and green area, m².
    pub park_m2: f64,
    /// New stops `[bus, tram, metro]`.
    pub stops: [usize; 3],
    /// New line route length `[bus, tram, metro]`, km.
    pub line_km: [f64; 3],
    /// Bike lanes, km.
    pub bike_lane_km: f64,
    /// Streets closed to cars, km.
    pub car_free_km: f64,
    /// Streets with a new speed limit, km.
    pub speed_limit_km: f64,
    /// Solar panels, kWp.
    pub solar_kwp: f64,
}

impl Quantities {
    /// Adds another edit's quantities.
    pub fn add(&mut self, o: &Quantities) {
        self.new_floor_m2 += o.new_floor_m2;
        self.demolished_floor_m2 += o.demolished_floor_m2;
        self.converted_floor_m2 += o.converted_floor_m2;
        self.park_m2 += o.park_m2;
        for i in 0..3 {
            self.stops[i] += o.stops[i];
            self.line_km[i] += o.line_km[i];
        }
        self.bike_lane_km += o.bike_lane_km;
        self.car_free_km += o.car_free_km;
        self.speed_limit_km += o.speed_limit_km;
        self.solar_kwp += o.solar_kwp;
    }
}

/// The costs of one edit (or a whole scenario).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct EditCost {
    /// Capital cost, €.
    pub capital_eur: f64,
    /// Operating cost, € a year.
    pub operating_eur_per_year: f64,
    /// Capital plus the present value of operating over the appraisal period, €.
    pub present_value_eur: f64,
    /// Whether the planner overrode the table.
    pub overridden: bool,
}

impl EditCost {
    /// Adds another edit's costs.
    pub fn add(&mut self, o: &EditCost) {
        self.capital_eur += o.capital_eur;
        self.operating_eur_per_year += o.operating_eur_per_year;
        self.present_value_eur += o.present_value_eur;
        self.overridden |= o.overridden;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_from_quantities_and_overrides() {
        let t = CostTable::default();
        let q = Quantities {
            park_m2: 1_000.0,
            stops: [0, 1, 0],
            line_km: [2.0, 0.0, 0.0],
            ..Default::default()
        };
        let (cap, op) = t.cost_of(&q);
        assert_eq!(
            cap,
            1_000.0 * PARK_EUR_PER_M2 + STOP_EUR[1] + 2.0 * LINE_EUR_PER_KM[0]
        );
        assert_eq!(
            op,
            1_000.0 * PARK_OPERATING_EUR_PER_M2_YEAR
                + STOP_OPERATING_EUR_YEAR[1]
                + 2.0 * LINE_OPERATING_EUR_PER_KM_YEAR[0]
        );
        let c = t.edit_cost(
            &q,
            &CostOverride {
                capital_eur: Some(5.0),
                operating_eur_per_year: None,
            },
        );
        assert_eq!(c.capital_eur, 5.0);
        assert_eq!(c.operating_eur_per_year, op);
        assert!(c.overridden);
        // 30 years at 3.5 %: annuity factor ≈ 18.39.
        assert!(
            (t.annuity_factor() - 18.392_045).abs() < 1e-5,
            "{}",
            t.annuity_factor()
        );
        assert!((c.present_value_eur - (5.0 + op * t.annuity_factor())).abs() < 1e-6);
    }

    #[test]
    fn table_parses_partially_and_validates() {
        let t: CostTable = ron::from_str("(park_eur_per_m2: 200.0, stop_eur: (1.0, 2.0, 3.0))").unwrap();
        assert_eq!(t.park_eur_per_m2, 200.0);
        assert_eq!(t.stop_eur, [1.0, 2.0, 3.0]);
        assert_eq!(t.bike_lane_eur_per_km, BIKE_LANE_EUR_PER_KM);
        assert!(t.validate().is_ok());
        let bad = CostTable {
            line_eur_per_km: [1.0, -1.0, 1.0],
            ..CostTable::default()
        };
        assert!(bad.validate().unwrap_err().contains("line_eur_per_km"));
        assert!(ron::from_str::<CostTable>("(parks: 1.0)").is_err());
    }
}
