//! Prompt cache tests: hits without a second engine run (real espeak-ng and a fake on
//! virtual time), single-flight, cancellation, failures not cached, disk persistence,
//! and prerendering.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{espeak, request, Counting, Fake};
use ringdesk_tts::{CacheConfig, PromptCache, TtsEngine, TtsError};

fn memory_only() -> CacheConfig {
    CacheConfig::default()
}

#[tokio::test]
async fn espeak_hit_is_identical_and_runs_no_second_process() {
    let engine = espeak();
    engine.check().await.unwrap();
    let counting = Counting::new(Arc::new(engine));
    let cache = PromptCache::new(counting.clone(), memory_only());
    let r = request("Your ticket is open.", "en-US");
    let first = cache.get(&r).await.unwrap();
    let second = cache.get(&r).await.unwrap();
    assert_eq!(counting.runs(), 1);
    assert_eq!(first.samples, second.samples);
    assert!(!first.samples.is_empty());
    let stats = cache.stats();
    assert_eq!((stats.memory_hits, stats.syntheses), (1, 1));
    // A different input is a different prompt.
    cache.get(&r.clone().with_rate(150).unwrap()).await.unwrap();
    assert_eq!(counting.runs(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn espeak_concurrent_requests_synthesize_once() {
    let counting = Counting::new(Arc::new(espeak()));
    let cache = Arc::new(PromptCache::new(counting.clone(), memory_only()));
    let r = request("Please hold, an agent will be with you shortly.", "en-US");
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let cache = Arc::clone(&cache);
            let r = r.clone();
            tokio::spawn(async move { cache.get(&r).await })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap().unwrap());
    }
    assert_eq!(counting.runs(), 1);
    assert!(results.iter().all(|a| a.samples == results[0].samples));
}

#[tokio::test(start_paused = true)]
async fn single_flight_on_virtual_time() {
    let counting = Counting::new(Fake::new(Duration::from_secs(5)));
    let cache = Arc::new(PromptCache::new(counting.clone(), memory_only()));
    let r = request("same prompt", "en-US");
    let other = request("other prompt", "en-US");
    let mut tasks = Vec::new();
    for i in 0..10 {
        let cache = Arc::clone(&cache);
        let r = if i % 5 == 4 { other.clone() } else { r.clone() };
        tasks.push(tokio::spawn(async move { cache.get(&r).await }));
    }
    let mut same = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        let audio = t.await.unwrap().unwrap();
        if i % 5 != 4 {
            same.push(audio);
        }
    }
    // Every caller overlapped the 5 s synthesis (time only advances when all tasks
    // wait), yet each distinct prompt ran once, and all callers share one buffer.
    assert_eq!(counting.runs(), 2);
    assert!(same.iter().all(|a| Arc::ptr_eq(a, &same[0])));
    assert_eq!(cache.stats().in_flight, 0);
    let text: Vec<u8> = same[0].samples.iter().map(|&s| s as u8).collect();
    assert_eq!(text, b"same prompt");
}

#[tokio::test(start_paused = true)]
async fn cancelled_synthesis_is_taken_over() {
    let counting = Counting::new(Fake::new(Duration::from_secs(5)));
    let cache = Arc::new(PromptCache::new(counting.clone(), memory_only()));
    let r = request("cancel me", "en-US");

    // Alone: giving up retires the flight, the next caller starts afresh.
    let gave_up = tokio::time::timeout(Duration::from_secs(1), cache.get(&r)).await;
    assert!(gave_up.is_err(), "should have timed out");
    assert_eq!(cache.stats().in_flight, 0);
    let audio = cache.get(&r).await.unwrap();
    assert_eq!(audio.samples.len(), "cancel me".len());
    assert_eq!(counting.runs(), 2);

    // With a second caller waiting: it takes the synthesis over when the first leaves.
    let r2 = request("second prompt", "en-US");
    let first = tokio::spawn({
        let (cache, r2) = (Arc::clone(&cache), r2.clone());
        async move { cache.get(&r2).await }
    });
    let second = tokio::spawn({
        let (cache, r2) = (Arc::clone(&cache), r2.clone());
        async move { cache.get(&r2).await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(cache.stats().in_flight, 1);
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    let audio = second.await.unwrap().unwrap();
    assert_eq!(audio.samples.len(), "second prompt".len());
    assert_eq!(counting.runs(), 4);
    assert_eq!(cache.stats().in_flight, 0);
}

#[tokio::test(start_paused = true)]
async fn failures_reach_every_waiter_and_are_not_cached() {
    let fake = Fake::new(Duration::from_secs(1));
    fake.failures_left
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let counting = Counting::new(fake);
    let cache = Arc::new(PromptCache::new(counting.clone(), memory_only()));
    let r = request("flaky", "en-US");
    let (a, b) = tokio::join!(cache.get(&r), cache.get(&r));
    for res in [a, b] {
        assert!(matches!(res, Err(TtsError::EngineFailed { .. })), "{res:?}");
    }
    assert_eq!(counting.runs(), 1);
    assert!(cache.get(&r).await.is_ok());
    assert_eq!(counting.runs(), 2);
    assert_eq!(cache.stats().failures, 1);
}

#[tokio::test]
async fn disk_cache_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = CacheConfig {
        disk_dir: Some(dir.path().join("prompts")),
        ..CacheConfig::default()
    };
    let r = request("Obrigado por ligar.", "pt-BR");
    let engine = Arc::new(espeak());
    engine.check().await.unwrap();

    let first_run = Counting::new(engine.clone());
    let cache = PromptCache::new(first_run.clone(), config.clone());
    let original = cache.get(&r).await.unwrap();
    assert_eq!(first_run.runs(), 1);
    let file = dir
        .path()
        .join("prompts")
        .join(format!("{}.wav", cache.key(&r)));
    assert!(file.is_file(), "{file:?}");

    let second_run = Counting::new(engine);
    let restarted = PromptCache::new(second_run.clone(), config);
    let loaded = restarted.get(&r).await.unwrap();
    assert_eq!(second_run.runs(), 0);
    assert_eq!(loaded.samples, original.samples);
    assert_eq!(loaded.sample_rate, original.sample_rate);
    assert_eq!(restarted.stats().disk_hits, 1);
}

#[tokio::test(start_paused = true)]
async fn engine_identity_is_part_of_the_key() {
    let fake: Arc<dyn TtsEngine> = Fake::new(Duration::ZERO);
    let espeak_engine: Arc<dyn TtsEngine> = Arc::new(espeak());
    let r = request("same text", "en-US");
    let a = PromptCache::new(fake, memory_only()).key(&r);
    let b = PromptCache::new(espeak_engine, memory_only()).key(&r);
    assert_ne!(a, b);
}

#[tokio::test(start_paused = true)]
async fn memory_bounds_are_respected() {
    let counting = Counting::new(Fake::new(Duration::ZERO));
    let cache = PromptCache::new(
        counting.clone(),
        CacheConfig {
            max_entries: 2,
            ..CacheConfig::default()
        },
    );
    for text in ["one", "two", "three"] {
        cache.get(&request(text, "en-US")).await.unwrap();
    }
    assert_eq!(cache.stats().entries, 2);
    cache.get(&request("one", "en-US")).await.unwrap(); // evicted: runs again
    assert_eq!(counting.runs(), 4);
    cache.get(&request("three", "en-US")).await.unwrap(); // still there
    assert_eq!(counting.runs(), 4);
}

#[tokio::test]
async fn prerender_reports_each_prompt() {
    let counting = Counting::new(Arc::new(espeak()));
    let cache = PromptCache::new(counting.clone(), memory_only());
    let prompts = vec![
        request("Welcome to support.", "en-US"),
        request("Bem-vindo ao suporte.", "pt-BR"),
        request("Hello", "en-US")
            .with_voice("zz-nonexistent")
            .unwrap(),
    ];
    let report = cache.prerender(&prompts).await;
    assert_eq!(report.ready, 2);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0, 2);
    for p in &prompts[..2] {
        cache.get(p).await.unwrap();
    }
    assert_eq!(counting.runs(), 3);
}
