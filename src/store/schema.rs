// One schema for both backends; kept by hand in step with `migrations/`.

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    organisations (id) {
        id -> Text,
        parent_id -> Nullable<Text>,
        path -> Text,
        name -> Text,
        kind -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        password_hash -> Text,
        display_name -> Text,
        status -> Text,
        external_subject -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    role_grants (id) {
        id -> Text,
        user_id -> Text,
        role -> Text,
        organisation_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ledgers (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        asset_scale -> Integer,
        organisation_id -> Text,
        issuance_account_id -> Nullable<Text>,
        last_sequence -> BigInt,
        last_hash -> Text,
        last_recorded_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    accounts (id) {
        id -> Text,
        ledger_id -> Text,
        organisation_id -> Text,
        kind -> Text,
        name -> Text,
        no_overdraft -> Bool,
        status -> Text,
        debits_posted -> BigInt,
        credits_posted -> BigInt,
        debits_pending -> BigInt,
        credits_pending -> BigInt,
        version -> BigInt,
        external_ref -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Each organisation an account is inside; kept by triggers (migrations).
    account_scopes (organisation_id, account_id) {
        organisation_id -> Text,
        account_id -> Text,
    }
}

diesel::table! {
    transfers (id) {
        id -> Text,
        ledger_id -> Text,
        sequence -> BigInt,
        kind -> Text,
        phase -> Text,
        pending_id -> Nullable<Text>,
        reverses_id -> Nullable<Text>,
        timeout_at -> Nullable<Timestamp>,
        external_ref -> Nullable<Text>,
        description -> Nullable<Text>,
        metadata -> Nullable<Text>,
        actor_id -> Text,
        on_behalf_of -> Nullable<Text>,
        event_time -> Timestamp,
        recorded_at -> Timestamp,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    postings (transfer_id, leg) {
        transfer_id -> Text,
        leg -> Integer,
        ledger_id -> Text,
        account_id -> Text,
        direction -> Text,
        amount -> BigInt,
        pending -> Bool,
        balance_after -> BigInt,
        account_version -> BigInt,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (key, scope) {
        scope -> Text,
        key -> Text,
        fingerprint -> Text,
        outcome -> Text,
        response_body -> Text,
        transfer_id -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_throttle (bucket) {
        bucket -> Text,
        window_start -> Timestamp,
        failures -> Integer,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        at -> Timestamp,
        actor_id -> Nullable<Text>,
        action -> Text,
        entity_type -> Text,
        entity_id -> Text,
        organisation_id -> Nullable<Text>,
        before -> Nullable<Text>,
        after -> Nullable<Text>,
    }
}

diesel::table! {
    volunteers (id) {
        id -> Text,
        name -> Text,
        phone_hash -> Text,
        phone_last4 -> Text,
        organisation_id -> Text,
        card_number -> Nullable<Text>,
        pin_hash -> Nullable<Text>,
        leaderboard_consent -> Bool,
        status -> Text,
        account_id -> Text,
        user_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    activities (id) {
        id -> Text,
        organisation_id -> Text,
        name -> Text,
        category -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}
diesel::table! {
    earning_rules (id) {
        id -> Text,
        ledger_id -> Text,
        category -> Text,
        version -> Integer,
        points_per_hour -> BigInt,
        min_unit_minutes -> Integer,
        max_minutes_per_day -> Integer,
        max_minutes_per_record -> Integer,
        multiplier_percent -> Integer,
        campaign_from -> Nullable<Timestamp>,
        campaign_until -> Nullable<Timestamp>,
        effective_from -> Timestamp,
        created_by -> Text,
        created_at -> Timestamp,
    }
}
diesel::table! {
    service_records (id) {
        id -> Text,
        client_id -> Nullable<Text>,
        volunteer_id -> Text,
        activity_id -> Text,
        organisation_id -> Text,
        ledger_id -> Text,
        started_at -> Timestamp,
        ended_at -> Timestamp,
        minutes -> Integer,
        points -> BigInt,
        rule_id -> Nullable<Text>,
        status -> Text,
        transfer_id -> Nullable<Text>,
        recorded_by -> Text,
        note -> Nullable<Text>,
        created_at -> Timestamp,
        approval_reason -> Nullable<Text>,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        decision_note -> Nullable<Text>,
    }
}
diesel::table! {
    service_tallies (volunteer_id, period) {
        volunteer_id -> Text,
        period -> Text,
        minutes -> BigInt,
        points -> BigInt,
    }
}
diesel::table! {
    check_ins (id) {
        id -> Text,
        code -> Text,
        activity_id -> Text,
        organisation_id -> Text,
        note -> Nullable<Text>,
        opened_by -> Text,
        opened_at -> Timestamp,
        code_expires_at -> Timestamp,
        status -> Text,
        confirmed_by -> Nullable<Text>,
        confirmed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    attendances (check_in_id, volunteer_id) {
        check_in_id -> Text,
        volunteer_id -> Text,
        checked_in_at -> Timestamp,
        checked_out_at -> Nullable<Timestamp>,
        confirmed -> Bool,
    }
}
diesel::joinable!(accounts -> ledgers (ledger_id));
diesel::joinable!(accounts -> organisations (organisation_id));
diesel::joinable!(role_grants -> organisations (organisation_id));
diesel::joinable!(volunteers -> organisations (organisation_id));
diesel::joinable!(activities -> organisations (organisation_id));
diesel::joinable!(service_records -> volunteers (volunteer_id));
diesel::joinable!(service_tallies -> volunteers (volunteer_id));
diesel::joinable!(attendances -> check_ins (check_in_id));
diesel::joinable!(attendances -> volunteers (volunteer_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(role_grants -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    settings,
    organisations,
    users,
    role_grants,
    ledgers,
    accounts,
    account_scopes,
    transfers,
    postings,
    idempotency_keys,
    sessions,
    refresh_tokens,
    login_throttle,
    audit_log,
    volunteers,
    activities,
    earning_rules,
    service_records,
    service_tallies,
    check_ins,
    attendances,
);
