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
);
