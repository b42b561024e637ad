//! The tables, written with portable SQL types only so one schema serves SQLite and PostgreSQL.
//! Timestamps are `Timestamp` columns that always hold UTC.

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        name -> Text,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    login_attempts (username) {
        username -> Text,
        failed_count -> Integer,
        last_failed_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    requests (id) {
        id -> BigInt,
        request_type -> Text,
        status -> Text,
        requester_id -> BigInt,
        reason -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        expires_at -> Timestamp,
        approved_at -> Nullable<Timestamp>,
        rejected_at -> Nullable<Timestamp>,
        rejection_reason -> Nullable<Text>,
        current_level -> Integer,
        confirmations_required -> Integer,
        confirmations_given -> Integer,
        requester_email -> Text,
        csr_pem -> Nullable<Text>,
        common_name -> Nullable<Text>,
        subject_alt_names -> Nullable<Text>,
        key_algorithm -> Nullable<Text>,
        public_key_fingerprint -> Nullable<Text>,
        validity_days -> Nullable<Integer>,
        certificate_id -> Nullable<BigInt>,
        safe_id -> Nullable<BigInt>,
        account_id -> Nullable<BigInt>,
        access_type -> Nullable<Text>,
        operation_type -> Nullable<Text>,
        access_from -> Nullable<Timestamp>,
        access_to -> Nullable<Timestamp>,
        ticketing_system -> Nullable<Text>,
        ticket_id -> Nullable<Text>,
        reference_no -> Nullable<Text>,
        emergency -> Nullable<Bool>,
        policy_version -> Nullable<Integer>,
        level2_required -> Integer,
        level2_given -> Integer,
        invalid_flags -> Integer,
        use_count -> Integer,
        last_used_at -> Nullable<Timestamp>,
        /// PVWA-only request fields, a JSON object (NULL: none).
        pvwa_extras -> Nullable<Text>,
    }
}

diesel::table! {
    request_decisions (id) {
        id -> BigInt,
        request_id -> BigInt,
        user_id -> BigInt,
        decision -> Text,
        reason -> Nullable<Text>,
        level -> Integer,
        group_role -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    request_events (id) {
        id -> BigInt,
        request_id -> BigInt,
        actor_id -> Nullable<BigInt>,
        event -> Text,
        detail -> Nullable<Text>,
        created_at -> Timestamp,
        client_address -> Nullable<Text>,
    }
}

diesel::table! {
    certificates (id) {
        id -> BigInt,
        owner_id -> BigInt,
        request_id -> Nullable<BigInt>,
        source -> Text,
        serial_number -> Text,
        common_name -> Nullable<Text>,
        subject_alt_names -> Text,
        issuer -> Text,
        pem -> Text,
        fingerprint_sha256 -> Text,
        public_key_fingerprint -> Text,
        created_at -> Timestamp,
        valid_from -> Timestamp,
        valid_until -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revocation_reason -> Nullable<Text>,
        requester_email -> Nullable<Text>,
        uploaded_by -> Nullable<Text>,
    }
}

diesel::table! {
    safes (id) {
        id -> BigInt,
        name -> Text,
        name_key -> Text,
        description -> Text,
        level1_confirmations -> Integer,
        level2_confirmations -> Integer,
        request_expiry_hours -> Integer,
        max_access_hours -> Integer,
        ticket_required -> Bool,
        policy_version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    safe_accounts (id) {
        id -> BigInt,
        safe_id -> BigInt,
        name -> Text,
        folder -> Text,
        address -> Text,
        user_name -> Text,
        last_used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
        /// The platform PVWA clients name (`platformId`); empty when none was given.
        platform_id -> Text,
    }
}

diesel::table! {
    safe_members (id) {
        id -> BigInt,
        safe_id -> BigInt,
        user_id -> Nullable<BigInt>,
        group_role -> Nullable<Text>,
        can_request -> Bool,
        confirm_level -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// An account's secret, sealed: see `crate::secrets`.
    account_secrets (account_id) {
        account_id -> BigInt,
        key_id -> Text,
        wrapped_key -> Binary,
        key_nonce -> Binary,
        secret_nonce -> Binary,
        ciphertext -> Binary,
        secret_type -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Kept by triggers: a requester's requests by type and stored status.
    request_counts (requester_id, request_type, status) {
        requester_id -> BigInt,
        request_type -> Text,
        status -> Text,
        n -> BigInt,
    }
}

diesel::table! {
    /// Kept by triggers: how many certificates a user owns.
    certificate_counts (owner_id) {
        owner_id -> BigInt,
        n -> BigInt,
    }
}

diesel::table! {
    /// Kept by triggers: a user's unrevoked certificates by the day (UTC) they expire.
    certificate_expiry_counts (owner_id, expires_on) {
        owner_id -> BigInt,
        expires_on -> Date,
        n -> BigInt,
    }
}

diesel::table! {
    /// PVWA bulk decisions and their outcome (a JSON document), for their author.
    bulk_actions (id) {
        id -> BigInt,
        user_id -> BigInt,
        created_at -> Timestamp,
        outcome -> Text,
    }
}

diesel::joinable!(safe_accounts -> safes (safe_id));
diesel::joinable!(account_secrets -> safe_accounts (account_id));
diesel::joinable!(safe_members -> safes (safe_id));
diesel::joinable!(safe_members -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(requests -> users (requester_id));
diesel::joinable!(request_decisions -> users (user_id));
diesel::joinable!(request_events -> users (actor_id));
diesel::joinable!(certificates -> users (owner_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    login_attempts,
    requests,
    request_decisions,
    request_events,
    certificates,
    safes,
    safe_accounts,
    safe_members,
    account_secrets,
    bulk_actions,
    request_counts,
    certificate_counts,
);
