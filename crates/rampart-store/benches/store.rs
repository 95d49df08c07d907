//! The inventory writer's one hot call, `apply_batch`, on each backend in the same run: a
//! flush of 500 resources (400 already stored, updated; 100 new) on a SQLite file and on the
//! PostgreSQL server (`RAMPART_TEST_POSTGRES`, default the local one; a schema of its own,
//! dropped at the end).
//!
//!   cargo bench -p rampart-store --bench store

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_store::{ResourceDelta, Store};
use sqlx::Connection;

const BATCH: usize = 500;
const NEW_PER_BATCH: usize = 100;

fn delta(url: String, at: i64) -> ResourceDelta {
    ResourceDelta {
        site: "shop".into(),
        kind: "script".into(),
        host: "cdn.example.net".into(),
        domain: "example.net".into(),
        url,
        first_seen: at,
        last_seen: at,
        reports: 3,
        first_page: "https://shop.example/checkout".into(),
        pages: vec!["https://shop.example/checkout".into()],
        sample: None,
        hash: None,
    }
}

/// The n-th flush: the same 400 known scripts, and 100 never seen before.
fn flush(n: usize) -> Vec<ResourceDelta> {
    let known = (0..BATCH - NEW_PER_BATCH)
        .map(|i| delta(format!("https://cdn.example.net/lib/{i}.js"), n as i64));
    let new = (0..NEW_PER_BATCH)
        .map(|i| delta(format!("https://cdn.example.net/new/{n}/{i}.js"), n as i64));
    known.chain(new).collect()
}

fn run(c: &mut Criterion, name: &str, store: Arc<dyn Store>, rt: &tokio::runtime::Runtime) {
    rt.block_on(store.apply_batch(&flush(0))).unwrap();
    let n = AtomicUsize::new(1);
    let mut g = c.benchmark_group("apply_batch_500");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(20);
    g.bench_function(name, |b| {
        b.iter_batched(
            || flush(n.fetch_add(1, Ordering::Relaxed)),
            |batch| rt.block_on(store.apply_batch(&batch)).unwrap(),
            criterion::BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = rt
        .block_on(rampart_store::open(&format!(
            "sqlite://{}",
            dir.path().join("bench.db").display()
        )))
        .unwrap();
    run(c, "sqlite", sqlite, &rt);

    let base = std::env::var("RAMPART_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let schema = format!("rampart_bench_{}", std::process::id());
    rt.block_on(async {
        let mut conn = sqlx::PgConnection::connect(&base).await.unwrap();
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut conn)
            .await
            .unwrap();
    });
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let postgres = rt.block_on(rampart_store::open(&url)).unwrap();
    run(c, "postgres", postgres, &rt);
    rt.block_on(async {
        let mut conn = sqlx::PgConnection::connect(&base).await.unwrap();
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&mut conn)
            .await
            .unwrap();
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
