//! Amounts of RTC in base units (1 RTC = 10^8 base units).
//!
//! All arithmetic is checked; there is no operator that can wrap or saturate silently. JSON shows
//! an amount as an integer number of base units (the total supply, 8.4 * 10^14, is below 2^53, so
//! every amount is exact in JavaScript too). [`Amount::from_rtc_str`] parses decimal RTC text.

use std::fmt;

use borsh::{BorshDeserialize, BorshSerialize};

/// An amount in base units.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    BorshSerialize,
    BorshDeserialize,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Amount(u64);

/// Why an amount could not be parsed or computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// The text is not a decimal number.
    #[error("invalid amount {0:?}: expected a decimal number of RTC such as 1.5")]
    Syntax(String),
    /// More than 8 decimal places.
    #[error("amount {0:?} has more than 8 decimal places (the smallest unit is 0.00000001 RTC)")]
    Precision(String),
    /// Does not fit in 64 bits of base units.
    #[error("amount overflows")]
    Overflow,
}

impl Amount {
    /// Base units in one RTC.
    pub const UNITS_PER_RTC: u64 = 100_000_000;
    /// The supply cap, 8,388,608 RTC.
    pub const SUPPLY_CAP: Amount = Amount(8_388_608 * Self::UNITS_PER_RTC);
    /// Zero.
    pub const ZERO: Amount = Amount(0);

    /// An amount of base units.
    pub const fn from_base_units(units: u64) -> Amount {
        Amount(units)
    }

    /// Whole RTC, if it fits.
    pub const fn from_rtc(rtc: u64) -> Option<Amount> {
        match rtc.checked_mul(Self::UNITS_PER_RTC) {
            Some(u) => Some(Amount(u)),
            None => None,
        }
    }

    /// The amount in base units.
    pub const fn base_units(self) -> u64 {
        self.0
    }

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    /// `self - other`, or `None` if it would go below zero.
    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    /// `self * n`, or `None` on overflow.
    pub fn checked_mul(self, n: u64) -> Option<Amount> {
        self.0.checked_mul(n).map(Amount)
    }

    /// Is this zero?
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Parses decimal RTC text (`"1.5"`, `"0.00000001"`, `"42"`). Optional trailing ` RTC`.
    pub fn from_rtc_str(text: &str) -> Result<Amount, AmountError> {
        let s = text.trim();
        let s = s.strip_suffix("RTC").map(str::trim_end).unwrap_or(s);
        let syntax = || AmountError::Syntax(text.to_string());
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s, ""),
        };
        if whole.is_empty() && frac.is_empty() {
            return Err(syntax());
        }
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || !all_digits(frac) || (s.contains('.') && frac.is_empty()) {
            return Err(syntax());
        }
        if frac.len() > 8 {
            return Err(AmountError::Precision(text.to_string()));
        }
        let whole_units: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| AmountError::Overflow)?
        };
        let mut frac_units: u64 = 0;
        for (i, b) in frac.bytes().enumerate() {
            let digit = u64::from(b - b'0');
            frac_units += digit * 10u64.pow(7 - i as u32);
        }
        whole_units
            .checked_mul(Self::UNITS_PER_RTC)
            .and_then(|u| u.checked_add(frac_units))
            .map(Amount)
            .ok_or(AmountError::Overflow)
    }
}

impl fmt::Display for Amount {
    /// Decimal RTC with trailing zeros removed: `1.5 RTC`, `0.00000001 RTC`, `3 RTC`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / Self::UNITS_PER_RTC;
        let frac = self.0 % Self::UNITS_PER_RTC;
        if frac == 0 {
            write!(f, "{whole} RTC")
        } else {
            let digits = format!("{frac:08}");
            write!(f, "{whole}.{} RTC", digits.trim_end_matches('0'))
        }
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Amount({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_decimal_rtc() {
        assert_eq!(
            Amount::from_rtc_str("1.5").unwrap().base_units(),
            150_000_000
        );
        assert_eq!(Amount::from_rtc_str("0.00000001").unwrap().base_units(), 1);
        assert_eq!(
            Amount::from_rtc_str("42").unwrap().base_units(),
            4_200_000_000
        );
        assert_eq!(Amount::from_rtc_str(".5").unwrap().base_units(), 50_000_000);
        assert_eq!(
            Amount::from_rtc_str("2 RTC").unwrap().base_units(),
            200_000_000
        );
    }

    #[test]
    fn rejects_bad_text() {
        for bad in ["", ".", "1.", "-1", "1.2.3", "abc", "1e5", " ", "+1", "1,5"] {
            assert!(
                matches!(Amount::from_rtc_str(bad), Err(AmountError::Syntax(_))),
                "{bad:?} accepted"
            );
        }
        assert!(matches!(
            Amount::from_rtc_str("0.000000001"),
            Err(AmountError::Precision(_))
        ));
        assert_eq!(
            Amount::from_rtc_str("999999999999999999999"),
            Err(AmountError::Overflow)
        );
        assert_eq!(
            Amount::from_rtc_str("184467440738"),
            Err(AmountError::Overflow)
        );
    }

    #[test]
    fn checked_arithmetic() {
        let max = Amount::from_base_units(u64::MAX);
        assert_eq!(max.checked_add(Amount::from_base_units(1)), None);
        assert_eq!(Amount::ZERO.checked_sub(Amount::from_base_units(1)), None);
        assert_eq!(max.checked_mul(2), None);
        assert_eq!(Amount::SUPPLY_CAP.base_units(), 838_860_800_000_000);
    }

    #[test]
    fn display() {
        assert_eq!(Amount::from_base_units(150_000_000).to_string(), "1.5 RTC");
        assert_eq!(Amount::from_base_units(1).to_string(), "0.00000001 RTC");
        assert_eq!(Amount::from_base_units(300_000_000).to_string(), "3 RTC");
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(units in any::<u64>()) {
            let a = Amount::from_base_units(units);
            prop_assert_eq!(Amount::from_rtc_str(&a.to_string()).unwrap(), a);
        }
    }
}
