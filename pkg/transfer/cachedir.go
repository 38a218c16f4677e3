package transfer

// CacheDir is the folder the caches live in: TRACEBLOC_CACHE_DIR, or a
// folder of the user's cache folder. The pre-flight keeps its check cache
// there too, under names of its own.
func CacheDir() (string, error) { return cacheDir() }
