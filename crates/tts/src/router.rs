//! The engine per language: a [`TtsRouter`] is itself a [`TtsEngine`] that hands each
//! request to the engine configured for its language, so the prompt cache and the
//! runtime see one engine whatever speaks behind it.
//!
//! A request's language is looked up as it is (`pt-BR`), then by its primary language
//! alone (`pt`, so one entry can cover every region), then the default engine speaks it.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::engine::{CheckFuture, SynthFuture, TtsEngine};
use crate::language::Language;
use crate::request::TtsRequest;

/// Speaks each request with the engine for its language.
pub struct TtsRouter {
    default: Arc<dyn TtsEngine>,
    /// Canonical tag (`pt-BR`, or a primary language alone such as `pt`) → engine.
    routes: HashMap<String, Arc<dyn TtsEngine>>,
}

impl TtsRouter {
    /// A router that sends every language to `default` until [`route`](Self::route)s
    /// are added.
    pub fn new(default: Arc<dyn TtsEngine>) -> Self {
        Self {
            default,
            routes: HashMap::new(),
        }
    }

    /// Sends `language` to `engine`: a tag with a region or script (`pt-BR`) matches
    /// only itself; a primary language alone (`pt`) also covers its regions that have no
    /// route of their own. A later route for the same language replaces the earlier.
    pub fn route(mut self, language: &Language, engine: Arc<dyn TtsEngine>) -> Self {
        self.routes.insert(language.as_str().to_owned(), engine);
        self
    }

    /// The engine that speaks `language`.
    pub fn engine_for(&self, language: &Language) -> &Arc<dyn TtsEngine> {
        self.routes
            .get(language.as_str())
            .or_else(|| self.routes.get(language.primary()))
            .unwrap_or(&self.default)
    }

    /// Every distinct engine (the default first), each once however many languages it
    /// speaks.
    pub fn engines(&self) -> Vec<&Arc<dyn TtsEngine>> {
        let mut routes: Vec<(&String, &Arc<dyn TtsEngine>)> = self.routes.iter().collect();
        routes.sort_by(|a, b| a.0.cmp(b.0));
        let mut out: Vec<&Arc<dyn TtsEngine>> = vec![&self.default];
        for (_, engine) in routes {
            if !out.iter().any(|seen| same(seen, engine)) {
                out.push(engine);
            }
        }
        out
    }
}

/// The same engine instance (data pointers only: vtable pointers of one type may differ).
fn same(a: &Arc<dyn TtsEngine>, b: &Arc<dyn TtsEngine>) -> bool {
    std::ptr::eq(Arc::as_ptr(a).cast::<()>(), Arc::as_ptr(b).cast::<()>())
}

impl fmt::Debug for TtsRouter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut routes: Vec<(&String, String)> = self
            .routes
            .iter()
            .map(|(tag, engine)| (tag, engine.cache_identity()))
            .collect();
        routes.sort();
        f.debug_struct("TtsRouter")
            .field("default", &self.default.cache_identity())
            .field("routes", &routes)
            .finish()
    }
}

impl TtsEngine for TtsRouter {
    fn synthesize<'a>(&'a self, request: &'a TtsRequest) -> SynthFuture<'a> {
        self.engine_for(request.language()).synthesize(request)
    }

    /// The identities of every distinct engine, comma-separated (for logs; cache keys
    /// use [`cache_identity_for`](TtsEngine::cache_identity_for), so a router over one
    /// engine keys prompts exactly as that engine alone would).
    fn cache_identity(&self) -> String {
        self.engines()
            .iter()
            .map(|e| e.cache_identity())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn cache_identity_for(&self, language: &Language) -> String {
        self.engine_for(language).cache_identity_for(language)
    }

    /// Checks every distinct engine once, the default first; the first failure is the
    /// error.
    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            for engine in self.engines() {
                engine.check().await?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::Audio;
    use crate::error::TtsError;
    use std::sync::Mutex;

    /// A fake engine that answers with its own tag as the sample rate and remembers
    /// what it was asked to say and whether it was checked.
    struct Fake {
        name: &'static str,
        rate: u32,
        said: Mutex<Vec<String>>,
        checks: Mutex<u32>,
        broken: bool,
    }

    fn fake(name: &'static str, rate: u32) -> Arc<Fake> {
        Arc::new(Fake {
            name,
            rate,
            said: Mutex::new(Vec::new()),
            checks: Mutex::new(0),
            broken: false,
        })
    }

    impl TtsEngine for Fake {
        fn synthesize<'a>(&'a self, request: &'a TtsRequest) -> SynthFuture<'a> {
            self.said
                .lock()
                .unwrap()
                .push(request.language().to_string());
            Box::pin(async move { Ok(Audio::new(vec![1, 2, 3], self.rate)) })
        }
        fn cache_identity(&self) -> String {
            format!("{} 1.0", self.name)
        }
        fn check(&self) -> CheckFuture<'_> {
            *self.checks.lock().unwrap() += 1;
            let broken = self.broken;
            let name = self.name;
            Box::pin(async move {
                if broken {
                    return Err(TtsError::EngineNotFound {
                        engine: name.into(),
                        location: "on PATH".into(),
                        hint: "install it".into(),
                    });
                }
                Ok(())
            })
        }
    }

    fn lang(tag: &str) -> Language {
        Language::parse(tag).unwrap()
    }

    async fn rate_of(router: &TtsRouter, tag: &str) -> u32 {
        let request = TtsRequest::new("hello", tag).unwrap();
        router.synthesize(&request).await.unwrap().sample_rate
    }

    #[tokio::test]
    async fn each_language_is_spoken_by_its_engine_and_the_rest_by_the_default() {
        let (en, pt, br, es) = (fake("en", 1), fake("pt", 2), fake("br", 3), fake("es", 4));
        let router = TtsRouter::new(en.clone())
            .route(&lang("pt"), pt.clone())
            .route(&lang("pt_br"), br.clone())
            .route(&lang("es-419"), es.clone());
        assert_eq!(rate_of(&router, "en-US").await, 1);
        assert_eq!(rate_of(&router, "de").await, 1);
        // Exact tag first, in any spelling; then the primary language alone.
        assert_eq!(rate_of(&router, "pt-BR").await, 3);
        assert_eq!(rate_of(&router, "PT_br").await, 3);
        assert_eq!(rate_of(&router, "pt-PT").await, 2);
        assert_eq!(rate_of(&router, "pt").await, 2);
        // A route with a region covers only that region.
        assert_eq!(rate_of(&router, "es-419").await, 4);
        assert_eq!(rate_of(&router, "es-ES").await, 1);
        assert_eq!(rate_of(&router, "es").await, 1);
        assert_eq!(*en.said.lock().unwrap(), ["en-US", "de", "es-ES", "es"]);
        assert_eq!(*pt.said.lock().unwrap(), ["pt-PT", "pt"]);
        assert_eq!(*br.said.lock().unwrap(), ["pt-BR", "pt-BR"]);
        assert_eq!(*es.said.lock().unwrap(), ["es-419"]);
    }

    #[test]
    fn cache_identities_follow_the_route() {
        let en = fake("en", 1);
        let router = TtsRouter::new(en.clone()).route(&lang("pt-BR"), fake("br", 3));
        assert_eq!(router.cache_identity_for(&lang("en-US")), "en 1.0");
        assert_eq!(router.cache_identity_for(&lang("pt-BR")), "br 1.0");
        assert_eq!(router.cache_identity(), "en 1.0, br 1.0");
        // Over one engine, a router keys prompts as the engine alone does.
        let alone = TtsRouter::new(en.clone()).route(&lang("pt-BR"), en.clone());
        assert_eq!(alone.cache_identity(), "en 1.0");
        assert_eq!(
            alone.cache_identity_for(&lang("pt-BR")),
            en.cache_identity_for(&lang("pt-BR"))
        );
        // The prompt cache keys each request by the engine that speaks it.
        let cache = crate::PromptCache::new(Arc::new(router), crate::CacheConfig::default());
        let pt = TtsRequest::new("olá", "pt-BR").unwrap();
        assert_eq!(cache.key(&pt), crate::CacheKey::new("br 1.0", &pt));
        let us = TtsRequest::new("hello", "en-US").unwrap();
        assert_eq!(cache.key(&us), crate::CacheKey::new("en 1.0", &us));
    }

    #[tokio::test]
    async fn check_runs_once_per_engine_and_fails_on_any() {
        let (en, pt) = (fake("en", 1), fake("pt", 2));
        let router = TtsRouter::new(en.clone())
            .route(&lang("pt-BR"), pt.clone())
            .route(&lang("pt-PT"), pt.clone())
            .route(&lang("en-GB"), en.clone());
        router.check().await.unwrap();
        assert_eq!(*en.checks.lock().unwrap(), 1);
        assert_eq!(*pt.checks.lock().unwrap(), 1);
        assert_eq!(router.engines().len(), 2);

        let broken = Arc::new(Fake {
            broken: true,
            ..Arc::into_inner(fake("piper", 5)).unwrap()
        });
        let router = TtsRouter::new(en.clone()).route(&lang("pt-BR"), broken);
        let e = router.check().await.unwrap_err();
        assert!(e.to_string().starts_with("piper not found on PATH"), "{e}");
    }
}
