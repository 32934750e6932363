#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

on_both_backends! {
    a_first_transfer_moves_points(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        bank.fund(&wallet, "12.50");
        assert_eq!(bank.posted(&wallet), "12.50");
        assert_eq!(bank.posted(&bank.issuance_id), "-12.50");
        bank.assert_verified();
    }
}
