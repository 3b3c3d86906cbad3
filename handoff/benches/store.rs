//! Claims per second and appends per second on each database.
//!
//! SQLite runs on a temporary file (WAL, synchronous=FULL: every call is
//! durable before it returns, so these are fsync-bound figures). Postgres
//! runs when `BENCH_DATABASE_URL` or `TEST_DATABASE_URL` is set, in a
//! schema of its own that is dropped afterwards.
//!
//! `cargo bench -p handoff` (criterion prints time per element and
//! elements per second).

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use handoff::{Author, Details, NewEntry, NewTicket, Priority, Store, UserInfo};
use tokio::runtime::Runtime;

fn new_ticket(user: i64) -> NewTicket {
    NewTicket {
        opened_by: None,
        user: UserInfo {
            id: user,
            username: None,
            display_name: None,
            language: "en".into(),
        },
        category: None,
        priority: [Priority::Normal, Priority::Vip, Priority::Urgent][(user % 3) as usize],
        details: Details::default(),
        transcript: vec![NewEntry::text(Author::User, "my deposit has not arrived")],
    }
}

/// Opens `n` tickets for fresh users (not timed).
async fn fill_queue(store: &Store, next_user: &mut i64, n: u64) {
    for _ in 0..n {
        *next_user += 1;
        store
            .open_ticket(new_ticket(*next_user))
            .await
            .expect("open");
    }
}

fn bench_backend(c: &mut Criterion, rt: &Runtime, name: &str, store: Store) {
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));
    let mut next_user = 0i64;

    group.bench_function("claim_next, one agent", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                fill_queue(&store, &mut next_user, iters).await;
                let start = Instant::now();
                for _ in 0..iters {
                    store.claim_next(1).await.expect("claim").expect("a ticket");
                }
                start.elapsed()
            })
        })
    });

    group.bench_function("claim_next, 8 agents at once", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                fill_queue(&store, &mut next_user, iters).await;
                let start = Instant::now();
                let tasks: Vec<_> = (0..8)
                    .map(|agent| {
                        let store = store.clone();
                        tokio::spawn(async move {
                            while store.claim_next(agent).await.expect("claim").is_some() {}
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.expect("agent");
                }
                start.elapsed()
            })
        })
    });

    group.bench_function("append to a ticket", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                next_user += 1;
                let ticket = store
                    .open_ticket(new_ticket(next_user))
                    .await
                    .expect("open")
                    .ticket
                    .id;
                let start = Instant::now();
                for n in 0..iters {
                    let entry = NewEntry {
                        dedup_key: Some(format!("m{n}")),
                        ..NewEntry::text(Author::User, "still waiting, order 2024051812345678")
                    };
                    store.append(ticket, entry).await.expect("append");
                }
                start.elapsed()
            })
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let rt = Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let sqlite = rt.block_on(Store::connect(&url)).expect("sqlite");
    bench_backend(c, &rt, "sqlite", sqlite);

    let pg = std::env::var("BENCH_DATABASE_URL")
        .or_else(|_| std::env::var("TEST_DATABASE_URL"))
        .ok()
        .filter(|u| !u.is_empty());
    if let Some(base) = pg {
        let schema = format!("hd_bench_{}", std::process::id());
        let url = handoff::testing::postgres_url_with_schema(&base, &schema);
        let store = rt.block_on(Store::connect(&url)).expect("postgres");
        bench_backend(c, &rt, "postgres", store.clone());
        rt.block_on(store.close_pool());
        rt.block_on(handoff::testing::drop_postgres_schema(&base, &schema))
            .expect("drop bench schema");
    } else {
        eprintln!("postgres: set BENCH_DATABASE_URL or TEST_DATABASE_URL to bench it");
    }
}

criterion_group!(store, benches);
criterion_main!(store);
