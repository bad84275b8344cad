//! A fast hasher for the hot maps of feed ingest (the live picture, the store's series
//! dictionary): a multiply-rotate mix per word, seeded per map from the standard library's
//! random state and finished with the SplitMix64 finaliser, so sequential ids spread well
//! and keys from outside (sensor ids in MQTT payloads) cannot be chosen to collide without
//! knowing the seed.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// Multiplier of the per-word mix (the golden-ratio based constant of FxHash).
const MIX: u64 = 0x517c_c1b7_2722_0a95;

/// Builds [`FastHasher`]s sharing one random seed.
#[derive(Debug, Clone, Copy)]
pub struct FastState {
    seed: u64,
}

impl Default for FastState {
    fn default() -> Self {
        FastState {
            seed: std::collections::hash_map::RandomState::new().hash_one(0u64),
        }
    }
}

impl BuildHasher for FastState {
    type Hasher = FastHasher;

    fn build_hasher(&self) -> FastHasher {
        FastHasher(self.seed)
    }
}

/// The hasher of [`FastState`].
#[derive(Debug, Clone, Copy)]
pub struct FastHasher(u64);

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(MIX);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A `HashMap` with the [`FastState`] hasher.
pub type FastMap<K, V> = HashMap<K, V, FastState>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn sequential_keys_spread_over_the_high_and_low_bits() {
        let s = FastState::default();
        let n = 1u64 << 16;
        // hashbrown picks buckets by the low bits and tags by the top seven bits.
        let low: HashSet<u64> = (0..n).map(|i| s.hash_one(i) & (n - 1)).collect();
        let top: HashSet<u64> = (0..n).map(|i| s.hash_one((i, 7u8)) >> 57).collect();
        assert!(
            low.len() as f64 > 0.6 * n as f64,
            "{} of {n} buckets used",
            low.len()
        );
        assert_eq!(top.len(), 128);
        assert_ne!(s.hash_one("road:1"), s.hash_one("road:2"));
        let mut m: FastMap<String, u32> = FastMap::default();
        m.insert("a".into(), 1);
        assert_eq!(m.get("a"), Some(&1));
    }
}
