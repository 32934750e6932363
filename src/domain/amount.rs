//! Amounts. `Amount` is a positive decimal as it arrives in a request, before the
//! ledger's scale is known; `Points` is a signed count of minor units, which is what
//! is stored. Floats never appear: a JSON number is refused outright.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};

/// Largest scale a ledger may have (decimal places).
pub const MAX_SCALE: u32 = 8;
/// Keeps every amount well inside i64 after scaling, and sums of two inside i128.
/// Every amount parse error starts with this, so the HTTP layer can answer
/// `invalid_amount` rather than a generic `validation_failed`.
pub const AMOUNT_ERROR_PREFIX: &str = "invalid amount";

const MAX_INTEGER_DIGITS: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount must be a decimal string such as \"12.50\"")]
    Malformed,
    #[error("amount must be greater than zero (a transfer's direction says which way it goes)")]
    NotPositive,
    #[error("amount has more than {max} integer digits")]
    TooLarge { max: usize },
    #[error("amount has {given} decimal places but the ledger allows {allowed}")]
    TooPrecise { given: u32, allowed: u32 },
    #[error("amount overflows the ledger's range")]
    Overflow,
}

/// A positive decimal amount, parsed from a string with no exponent and no sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Amount(Decimal);

impl Amount {
    pub fn decimal(&self) -> Decimal {
        self.0
    }

    /// Decimal places as written ("1.50" has two).
    pub fn scale(&self) -> u32 {
        self.0.scale()
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || frac.is_some_and(|f| !digits(f)) {
            // "-5.00" is well formed but negative: say what is wrong with it.
            if s.strip_prefix('-')
                .is_some_and(|rest| rest.parse::<Amount>().is_ok())
            {
                return Err(AmountError::NotPositive);
            }
            return Err(AmountError::Malformed);
        }
        let significant = int.trim_start_matches('0');
        if significant.len() > MAX_INTEGER_DIGITS {
            return Err(AmountError::TooLarge {
                max: MAX_INTEGER_DIGITS,
            });
        }
        let frac_len = frac.map_or(0, str::len);
        if frac_len > MAX_SCALE as usize {
            return Err(AmountError::TooPrecise {
                given: frac_len as u32,
                allowed: MAX_SCALE,
            });
        }
        let value = Decimal::from_str_exact(s).map_err(|_| AmountError::Malformed)?;
        if value.is_zero() {
            return Err(AmountError::NotPositive);
        }
        Ok(Self(value))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    "a decimal string such as \"12.50\" ({AMOUNT_ERROR_PREFIX}: JSON numbers are refused)"
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Amount, E> {
                v.parse()
                    .map_err(|e| E::custom(format!("{AMOUNT_ERROR_PREFIX}: {e}")))
            }
        }
        d.deserialize_str(Visitor)
    }
}

impl utoipa::PartialSchema for Amount {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^[0-9]+(\.[0-9]+)?$"))
            .description(Some(
                "Positive decimal string in the ledger's scale, e.g. \"12.50\". JSON numbers are refused.",
            ))
            .examples(["12.50"])
            .into()
    }
}

impl utoipa::ToSchema for Amount {}

/// Signed minor units of a ledger (balances may be negative, posting amounts never).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Points(i64);

impl Points {
    pub const ZERO: Points = Points(0);

    pub fn from_minor(minor: i64) -> Self {
        Self(minor)
    }

    pub fn minor(self) -> i64 {
        self.0
    }

    /// Converts a request amount into minor units of a ledger with `scale` decimals.
    /// Refuses, never rounds, an amount more precise than the ledger.
    pub fn from_amount(amount: Amount, scale: u32) -> Result<Self, AmountError> {
        if amount.scale() > scale {
            return Err(AmountError::TooPrecise {
                given: amount.scale(),
                allowed: scale,
            });
        }
        let factor = 10i128.pow(scale - amount.scale());
        let minor = amount
            .decimal()
            .mantissa()
            .checked_mul(factor)
            .ok_or(AmountError::Overflow)?;
        i64::try_from(minor)
            .map(Self)
            .map_err(|_| AmountError::Overflow)
    }

    pub fn checked_add(self, other: Points) -> Option<Points> {
        self.0.checked_add(other.0).map(Self)
    }

    pub fn checked_sub(self, other: Points) -> Option<Points> {
        self.0.checked_sub(other.0).map(Self)
    }

    /// This many minor units as a request amount, when positive.
    pub fn to_amount(self, scale: u32) -> Option<Amount> {
        (self.0 > 0).then(|| Amount(Decimal::new(self.0, scale)))
    }

    /// The decimal string of this many minor units in a ledger of `scale`.
    pub fn to_decimal_string(self, scale: u32) -> String {
        Decimal::new(self.0, scale).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_plain_decimals() {
        assert_eq!("12.50".parse::<Amount>().unwrap().scale(), 2);
        assert_eq!(
            Points::from_amount("12.50".parse().unwrap(), 2).unwrap(),
            Points::from_minor(1250)
        );
        assert_eq!(
            Points::from_amount("7".parse().unwrap(), 2).unwrap(),
            Points::from_minor(700)
        );
    }

    #[test]
    fn refuses_what_is_not_a_plain_positive_decimal() {
        for bad in [
            "", ".", "1.", ".5", "--1", "-x", "+1", "1e3", "1,5", " 1", "1 ", "abc", "0x10",
            "1_000", "NaN",
        ] {
            assert_eq!(
                bad.parse::<Amount>(),
                Err(AmountError::Malformed),
                "{bad:?}"
            );
        }
        for not_positive in ["0", "0.00", "-1", "-5.00"] {
            assert_eq!(
                not_positive.parse::<Amount>(),
                Err(AmountError::NotPositive),
                "{not_positive:?}"
            );
        }
        assert!(matches!(
            "12345678901.5".parse::<Amount>(),
            Err(AmountError::TooLarge { .. })
        ));
    }

    #[test]
    fn refuses_more_decimals_than_the_scale_instead_of_rounding() {
        let a: Amount = "1.005".parse().unwrap();
        assert_eq!(
            Points::from_amount(a, 2),
            Err(AmountError::TooPrecise {
                given: 3,
                allowed: 2
            })
        );
    }

    #[test]
    fn json_numbers_are_refused() {
        assert!(serde_json::from_str::<Amount>("12.5").is_err());
        assert!(serde_json::from_str::<Amount>("12").is_err());
        assert_eq!(
            serde_json::from_str::<Amount>("\"12.5\"")
                .unwrap()
                .to_string(),
            "12.5"
        );
    }

    #[test]
    fn formats_balances_in_scale() {
        assert_eq!(Points::from_minor(1250).to_decimal_string(2), "12.50");
        assert_eq!(Points::from_minor(-5).to_decimal_string(2), "-0.05");
        assert_eq!(Points::from_minor(0).to_decimal_string(2), "0.00");
        assert_eq!(Points::from_minor(42).to_decimal_string(0), "42");
    }

    proptest! {
        #[test]
        fn minor_units_round_trip_through_the_wire(
            (scale, minor) in (0u32..=MAX_SCALE).prop_flat_map(|s| (Just(s), 1i64..10i64.pow(10 + s)))
        ) {
            let text = Points::from_minor(minor).to_decimal_string(scale);
            let amount: Amount = text.parse().unwrap();
            prop_assert_eq!(Points::from_amount(amount, scale).unwrap().minor(), minor);
        }

        #[test]
        fn any_string_parses_or_is_refused_without_panic(s in "\\PC{0,24}") {
            let _ = s.parse::<Amount>();
        }

        #[test]
        fn parsed_amounts_are_positive_and_exact(int in 0u64..10_000_000_000, frac in 0u32..100_000_000, places in 0usize..=8) {
            let frac_text = format!("{frac:08}")[..places].to_string();
            let text = if places == 0 { int.to_string() } else { format!("{int}.{frac_text}") };
            match text.parse::<Amount>() {
                Ok(a) => {
                    prop_assert!(a.decimal() > Decimal::ZERO);
                    prop_assert_eq!(a.scale() as usize, places);
                    let p = Points::from_amount(a, 8).unwrap();
                    prop_assert_eq!(p.to_decimal_string(8).parse::<Decimal>().unwrap(), a.decimal());
                }
                Err(e) => prop_assert_eq!(e, AmountError::NotPositive),
            }
        }

        #[test]
        fn balance_arithmetic_never_wraps(a in any::<i64>(), b in any::<i64>()) {
            let (x, y) = (Points::from_minor(a), Points::from_minor(b));
            prop_assert_eq!(x.checked_add(y).map(Points::minor), a.checked_add(b));
            prop_assert_eq!(x.checked_sub(y).map(Points::minor), a.checked_sub(b));
        }
    }
}
