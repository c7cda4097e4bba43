//! Acquire + release with idle connections available: the multi-host layer against a plain
//! single bb8 pool of diesel-async connections, side by side in one run, against a real
//! primary with two streaming replicas (the launcher's temporary cluster).
//!
//! `cargo bench -p pg-multihost --bench acquire`

use std::hint::black_box;
use std::time::{Duration, Instant};

use calendula_pg::Cluster;
use criterion::{criterion_group, criterion_main, Criterion};
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::AsyncPgConnection;
use pg_multihost::{ConnectOptions, HostAddr, MultiHostPool, PoolConfig, Role};

const SIZE: u32 = 10;

fn multihost(cluster: &Cluster, hosts: usize) -> PoolConfig {
    let addrs = cluster.instances()[..hosts]
        .iter()
        .map(|i| HostAddr::new(i.host(), i.port()))
        .collect();
    let mut config = PoolConfig::new(addrs, ConnectOptions::new(cluster.user(), cluster.dbname()));
    config.min_size = SIZE;
    config.max_size = SIZE;
    config
}

fn acquire_release(c: &mut Criterion) {
    let cluster = Cluster::temporary(2).expect("a primary and two replicas");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let (plain, one, three) = rt.block_on(async {
        let plain = bb8::Pool::builder()
            .max_size(SIZE)
            .min_idle(Some(SIZE))
            .test_on_check_out(false)
            .build(AsyncDieselConnectionManager::<AsyncPgConnection>::new(
                cluster.url(0),
            ))
            .await
            .expect("plain bb8 pool");
        let one = MultiHostPool::new(multihost(&cluster, 1)).unwrap();
        let three = MultiHostPool::new(multihost(&cluster, 3)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        // Every pool up, with its idle connections open.
        loop {
            let ready = |p: &MultiHostPool, roles: &[Role]| {
                let hosts = p.hosts();
                hosts.iter().map(|h| h.role).eq(roles.iter().copied())
                    && hosts.iter().all(|h| h.idle == SIZE)
            };
            if plain.state().idle_connections == SIZE
                && ready(&one, &[Role::Master])
                && ready(&three, &[Role::Master, Role::Replica, Role::Replica])
            {
                break;
            }
            assert!(Instant::now() < deadline, "pools not ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (plain, one, three)
    });

    let mut group = c.benchmark_group("acquire_release");
    group.bench_function("plain_bb8", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let started = Instant::now();
                for _ in 0..iters {
                    black_box(plain.get().await.unwrap());
                }
                started.elapsed()
            })
        })
    });
    group.bench_function("multihost_write_1_host", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let started = Instant::now();
                for _ in 0..iters {
                    black_box(one.write().await.unwrap());
                }
                started.elapsed()
            })
        })
    });
    group.bench_function("multihost_write_3_hosts", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let started = Instant::now();
                for _ in 0..iters {
                    black_box(three.write().await.unwrap());
                }
                started.elapsed()
            })
        })
    });
    group.bench_function("multihost_read_3_hosts", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let started = Instant::now();
                for _ in 0..iters {
                    black_box(three.read().await.unwrap());
                }
                started.elapsed()
            })
        })
    });
    group.finish();
    rt.block_on(async {
        one.close().await;
        three.close().await;
    });
    drop(plain);
    drop(rt);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    targets = acquire_release
}
criterion_main!(benches);
