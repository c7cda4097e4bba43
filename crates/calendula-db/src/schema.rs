//! Diesel's view of the tables in `migrations/`. Generated columns (`span`) are left out:
//! they are only ever read by raw SQL filters.

diesel::table! {
    users (id) {
        id -> Int8,
        login -> Text,
        first_name -> Text,
        last_name -> Text,
        timezone -> Text,
        work_day_from -> Nullable<Int2>,
        work_day_to -> Nullable<Int2>,
        work_time_from -> Nullable<Int2>,
        work_time_to -> Nullable<Int2>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        telegram_chat_id -> Nullable<Text>,
        slack -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    events (id) {
        id -> Int8,
        author_id -> Int8,
        start_time -> Timestamptz,
        end_time -> Timestamptz,
        timezone -> Text,
        name -> Text,
        description -> Text,
        repeat_type -> Nullable<Text>,
        repeat_each -> Int4,
        repeat_weekly_days -> Int2,
        repeat_monthly_last_week -> Bool,
        repeat_due -> Nullable<Timestamptz>,
        active_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        start_wall -> Nullable<Timestamp>,
    }
}

diesel::table! {
    participants (event_id, user_id) {
        event_id -> Int8,
        user_id -> Int8,
        decision -> Text,
    }
}

diesel::table! {
    notification_rules (id) {
        id -> Int8,
        event_id -> Int8,
        channel -> Text,
        offset_text -> Text,
        offset_minutes -> Int4,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Bytea,
        user_id -> Int8,
        created_at -> Timestamptz,
        last_used_at -> Timestamptz,
    }
}

diesel::joinable!(events -> users (author_id));
diesel::joinable!(participants -> events (event_id));
diesel::joinable!(participants -> users (user_id));
diesel::joinable!(notification_rules -> events (event_id));
diesel::joinable!(sessions -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, events, participants, notification_rules);

diesel::table! {
    notification_schedule (rule_id) {
        rule_id -> Int8,
        occurrence_start -> Timestamptz,
        fire_at -> Timestamptz,
    }
}

diesel::table! {
    notification_deliveries (id) {
        id -> Int8,
        rule_id -> Int8,
        occurrence_start -> Timestamptz,
        user_id -> Int8,
        channel -> Text,
        contact -> Nullable<Text>,
        fire_at -> Timestamptz,
        status -> Text,
        last_error -> Nullable<Text>,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        lease_token -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        delivery_key -> Text,
    }
}

diesel::joinable!(notification_schedule -> notification_rules (rule_id));
diesel::joinable!(notification_deliveries -> notification_rules (rule_id));
diesel::joinable!(notification_deliveries -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(notification_schedule, notification_deliveries);
diesel::allow_tables_to_appear_in_same_query!(notification_schedule, notification_rules);
diesel::allow_tables_to_appear_in_same_query!(notification_schedule, events);
diesel::allow_tables_to_appear_in_same_query!(notification_deliveries, notification_rules);
diesel::allow_tables_to_appear_in_same_query!(notification_deliveries, events);
diesel::allow_tables_to_appear_in_same_query!(notification_deliveries, users);
