//! How big the wall's text is, and why: sizes chosen so that a control room reads the wall
//! from 3 to 5 metres.
//!
//! Rule of thumb for signs and displays: a character can be read from about 200 to 250
//! times its height (capital letter height). Reading body text from 3 m so needs capitals
//! about 3000 / 250 = 12 mm tall; the figures people glance at (the clock, the index and
//! dimension scores) from 5 m need 5000 / 250 = 20 mm.
//!
//! A typical wall panel is a 55" 16:9 screen: 55 × 9 / √(16² + 9²) = 26.96" = 685 mm tall.
//! At 1080 rows that is 0.634 mm a pixel (a 2160-row 4K panel has half-size pixels, and the
//! wall's UI scale, the output height over 1080, doubles every size, so text keeps its size
//! in millimetres). The capitals of egui's proportional font are [`CAP_HEIGHT_EM`] of its
//! size, so at UI scale 1 a size of `s` points makes capitals `0.7 × s × 0.634` mm tall:
//!
//! | text                 | points | capitals | read from (÷250) |
//! |----------------------|--------|----------|------------------|
//! | body ([`BODY_PT`])   | 28     | 12.4 mm  | 3.1 m            |
//! | small ([`SMALL_PT`]) | 22     | 9.8 mm   | 2.4 m (notes)    |
//! | heading              | 32     | 14.2 mm  | 3.5 m            |
//! | scores               | 46     | 20.4 mm  | 5.1 m            |
//! | clock                | 64     | 28.4 mm  | 7.1 m            |
//!
//! Small text carries only notes (attribution, role, a feed's message rate); everything a
//! room acts on is body size or larger. A panel whose content does not fit its rectangle
//! shrinks its text rather than cut it, never below [`MIN_FIT`] of these sizes as measured in
//! millimetres on the panel: an output with fewer rows than 1080 at UI scale 1 has larger
//! pixels, so its text may shrink further in points and stay as large on the glass
//! ([`min_fit`]: 0.4 at 1280×720).

/// Capital letter height of egui's default proportional font, as a share of its size.
pub const CAP_HEIGHT_EM: f64 = 0.7;
/// Height of a typical wall panel: 55" diagonal, 16:9, in millimetres.
pub const PANEL_HEIGHT_MM: f64 = 685.0;
/// Output rows at UI scale 1.
pub const REFERENCE_ROWS: f64 = 1080.0;
/// A character is readable from this many times its height (the cautious end of 200–250).
pub const DISTANCE_PER_HEIGHT: f64 = 250.0;
/// Body text, points at UI scale 1 (readable from 3 m on a 55" panel).
pub const BODY_PT: f32 = 28.0;
/// Headings, points.
pub const HEADING_PT: f32 = 32.0;
/// Notes, points.
pub const SMALL_PT: f32 = 22.0;
/// The clock, points.
pub const CLOCK_PT: f32 = 64.0;
/// The index and dimension scores, points (readable from 5 m).
pub const SCORE_PT: f32 = 46.0;
/// The ticker's text, points.
pub const TICKER_TEXT_PT: f32 = 32.0;
/// The banners' text, points.
pub const BANNER_PT: f32 = 36.0;
/// Smallest share of these sizes a panel shrinks its text to when its content does not fit.
pub const MIN_FIT: f32 = 0.6;

/// The smallest fit a wall panel's text may shrink to on an output `height_px` rows tall at
/// UI scale `scale`: [`MIN_FIT`] of the reading sizes in millimetres on the same panel, so
/// never below [`MIN_FIT`] at 1080 rows and scale 1 (or 2160 and 2), and lower where
/// each point is physically larger (720 rows at scale 1: 0.4). Never above 1.
pub fn min_fit(height_px: u32, scale: f32) -> f32 {
    let rows_per_point = height_px.max(1) as f32 / scale.max(f32::EPSILON);
    (MIN_FIT * rows_per_point / REFERENCE_ROWS as f32).clamp(f32::EPSILON, 1.0)
}

/// Capital letter height in millimetres of text `size_pt` points tall at UI scale 1 on a
/// 1080-row panel `panel_height_mm` tall.
pub fn cap_height_mm(size_pt: f32, panel_height_mm: f64) -> f64 {
    f64::from(size_pt) * CAP_HEIGHT_EM * panel_height_mm / REFERENCE_ROWS
}

/// How far away, in metres, text `size_pt` points tall can be read on such a panel.
pub fn reading_distance_m(size_pt: f32, panel_height_mm: f64) -> f64 {
    cap_height_mm(size_pt, panel_height_mm) * DISTANCE_PER_HEIGHT / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_55_inch_panel_is_685_mm_tall() {
        let h = 55.0 * 9.0 / (16.0_f64.powi(2) + 9.0_f64.powi(2)).sqrt() * 25.4;
        assert!((h - PANEL_HEIGHT_MM).abs() < 1.0, "{h}");
    }

    #[test]
    fn body_reads_from_3_m_and_scores_from_5_m() {
        assert!(reading_distance_m(BODY_PT, PANEL_HEIGHT_MM) >= 3.0);
        assert!(reading_distance_m(HEADING_PT, PANEL_HEIGHT_MM) >= 3.0);
        assert!(reading_distance_m(TICKER_TEXT_PT, PANEL_HEIGHT_MM) >= 3.0);
        assert!(reading_distance_m(BANNER_PT, PANEL_HEIGHT_MM) >= 3.0);
        assert!(reading_distance_m(SCORE_PT, PANEL_HEIGHT_MM) >= 5.0);
        assert!(reading_distance_m(CLOCK_PT, PANEL_HEIGHT_MM) >= 5.0);
        // The 18-point body text the wall had reads from 2 m only.
        assert!(reading_distance_m(18.0, PANEL_HEIGHT_MM) < 2.1);
        assert!((cap_height_mm(BODY_PT, PANEL_HEIGHT_MM) - 12.4).abs() < 0.1);
    }

    #[test]
    fn the_smallest_fit_keeps_the_same_millimetres_on_the_panel() {
        assert!((min_fit(1080, 1.0) - MIN_FIT).abs() < 1e-6);
        assert!((min_fit(2160, 2.0) - MIN_FIT).abs() < 1e-6);
        assert!((min_fit(720, 1.0) - 0.4).abs() < 1e-6);
        // Body text at the smallest fit is as tall on the glass at 720 rows as at 1080.
        let mm = |rows: u32, scale: f32| {
            f64::from(BODY_PT * min_fit(rows, scale) * scale) * PANEL_HEIGHT_MM / f64::from(rows)
        };
        assert!((mm(720, 1.0) - mm(1080, 1.0)).abs() < 1e-3);
        assert!((mm(2160, 2.0) - mm(1080, 1.0)).abs() < 1e-3);
        // A larger output at scale 1 never lets text grow past its full size.
        assert!(min_fit(4320, 1.0) <= 1.0);
    }
}
