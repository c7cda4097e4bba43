//! Pure calendar arithmetic: recurrence expansion (young vs 1900 series, per type), and the
//! first free slot among many busy intervals. `cargo bench -p calendula-time --bench calendar`.

use calendula_time::freeslot::{free_slots, FreeGaps};
use calendula_time::intervals::{merge, Interval};
use calendula_time::localtime::to_instant;
use calendula_time::recurrence::{RepeatType, Rule, Series};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc, Weekday};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date(y, m, d).and_hms_opt(8, 0, 0).unwrap())
}

/// A series of `kind` at 09:00 Berlin wall time from `date`: both ages follow the same
/// wall-clock pattern, so they have the same occurrences in the window and differ only in age.
fn series(kind: RepeatType, date: NaiveDate) -> Series {
    let weekly_days = if kind == RepeatType::Weekly {
        vec![Weekday::Mon, Weekday::Thu]
    } else {
        Vec::new()
    };
    let tz = chrono_tz::Europe::Berlin;
    let start = to_instant(tz, date.and_hms_opt(9, 0, 0).unwrap());
    Series::new(
        start,
        start + Duration::minutes(30),
        tz,
        Some(Rule {
            kind,
            each: 1,
            weekly_days,
            monthly_last_week: false,
            due: None,
        }),
    )
}

const TYPES: [(RepeatType, &str); 6] = [
    (RepeatType::Daily, "daily"),
    (RepeatType::Weekly, "weekly"),
    (RepeatType::Workday, "workday"),
    (RepeatType::MonthlyNumber, "monthly_number"),
    (RepeatType::MonthlyDayWeekno, "monthly_day_weekno"),
    (RepeatType::Yearly, "yearly"),
];

/// One month (December 2026) of a series that started yesterday vs in 1900. Both start on
/// a Monday the 30th (2026-11-30, 1900-04-30), so every type repeats the same way in the
/// window: the same days of the week and of the month, the same last Monday, no yearly date.
fn expansion(c: &mut Criterion) {
    let (from, to) = (at(2026, 12, 1), at(2027, 1, 1));
    let mut group = c.benchmark_group("expand_one_month");
    for (kind, name) in TYPES {
        let ages = [("young", date(2026, 11, 30)), ("1900", date(1900, 4, 30))];
        for (age, start) in ages {
            let s = series(kind, start);
            group.bench_with_input(BenchmarkId::new(name, age), &s, |b, s| {
                b.iter(|| black_box(s.overlapping(from, to).count()))
            });
        }
    }
    group.finish();
}

/// Pseudo-random busy intervals over a year for `users` users, 200 each.
fn busy(users: usize) -> Vec<Interval> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let origin = at(2026, 1, 1);
    (0..users * 200)
        .map(|_| {
            let start = origin + Duration::minutes((next() % (365 * 24 * 60)) as i64);
            Interval::new(start, start + Duration::minutes(15 + (next() % 180) as i64))
        })
        .collect()
}

/// The first free hour of a year among `users` × 200 busy intervals, two ways side by side:
/// merging them all and walking the gaps, and taking them out of the open gaps one by one
/// (what `/funcs/calc_free_slot` does, with working hours as the starting gaps).
fn merging_and_search(c: &mut Criterion) {
    let mut group = c.benchmark_group("free_time");
    let year = Interval::new(at(2026, 1, 1), at(2027, 1, 1));
    let hour = Duration::hours(1);
    for users in [1, 10, 50, 100] {
        let raw = busy(users);
        group.bench_with_input(
            BenchmarkId::new("merge_then_walk", users),
            &raw,
            |b, raw| {
                b.iter(|| {
                    let merged = merge(raw.iter().copied());
                    black_box(free_slots(&merged, year.start, year.end, hour, 1))
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("free_gaps", users), &raw, |b, raw| {
            b.iter(|| {
                let mut free = FreeGaps::new(&[], year, hour);
                raw.iter().for_each(|busy| free.remove(*busy));
                black_box(free.slots(1))
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(2)).warm_up_time(std::time::Duration::from_millis(500));
    targets = expansion, merging_and_search
}
criterion_main!(benches);
