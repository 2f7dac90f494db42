//! A hand-rolled splitmix64. We own the algorithm, so the generated site can never change
//! under us when a crate bumps its stream; splitmix64 is tiny, fast and good enough for
//! synthetic data (it is not for cryptography), and it gives random access: any entity's
//! generator is `derive(seed, kind, index)` without walking the ones before it.

/// One splitmix64 step: a good 64-bit mixing function on its own.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stable hash of a short tag (FNV-1a), so generators for different kinds never collide.
pub const fn tag(s: &str) -> u64 {
    let b = s.as_bytes();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < b.len() {
        h ^= b[i] as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
        i += 1;
    }
    h
}

/// The value for (`seed`, `kind`, `index`), without state.
pub fn hash(seed: u64, kind: &str, index: u64) -> u64 {
    mix(mix(seed ^ tag(kind)) ^ index.wrapping_mul(0xA24B_AED4_963E_E407))
}

#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn derive(seed: u64, kind: &str, index: u64) -> Self {
        Rng(hash(seed, kind, index))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `0..n` (`n > 0`); the modulo bias is irrelevant for test data.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn range(&mut self, lo: u64, hi_inclusive: u64) -> u64 {
        lo + self.below(hi_inclusive - lo + 1)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}
