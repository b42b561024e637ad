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

diesel::joinable!(sessions -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, sessions, login_attempts);
