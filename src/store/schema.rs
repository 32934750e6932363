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
        name -> Text,
        kind -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        password_hash -> Text,
        display_name -> Text,
        status -> Text,
        created_at -> Timestamp,
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
    idempotency_keys (scope, key) {
        scope -> Text,
        key -> Text,
        fingerprint -> Text,
        status_code -> Integer,
        response_body -> Text,
        location -> Nullable<Text>,
        transfer_id -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(accounts -> ledgers (ledger_id));
diesel::joinable!(role_grants -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    settings,
    organisations,
    users,
    role_grants,
    ledgers,
    accounts,
    transfers,
    postings,
    idempotency_keys,
);
