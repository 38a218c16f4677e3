package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The ingestor's own lock of a table, as the real ingestor keeps it: the
// file <root>/.tracebloc-ingest-<table>.lock, created exclusively (0644)
// while a run ingests, holding who holds it, removed when the run ends. It
// is stale after 12 h from started_at (from the file's mtime when its JSON
// cannot be read) and then taken over.
const lockStale = 12 * time.Hour

type lockContent struct {
	IngestorID string `json:"ingestor_id"`
	TableName  string `json:"table_name"`
	PID        int    `json:"pid"`
	Hostname   string `json:"hostname"`
	StartedAt  string `json:"started_at"`
}

func lockPath(root, table string) string {
	return filepath.Join(root, ".tracebloc-ingest-"+table+".lock")
}

// acquireLock takes the table's lock for ingestor id and returns its
// release, or why the table is locked. No lock is taken when root is not a
// directory (as the ingestor does).
func acquireLock(root, table, id string, now time.Time) (release func(), err error) {
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return func() {}, nil
	}
	p := lockPath(root, table)
	host, _ := os.Hostname()
	content, _ := json.Marshal(lockContent{IngestorID: id, TableName: table, PID: os.Getpid(), Hostname: host,
		StartedAt: now.UTC().Format("2006-01-02T15:04:05.000000") + "Z"})
	for attempt := 0; attempt < 2; attempt++ {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			_ = os.Chmod(p, 0o644)
			_, werr := f.Write(content)
			cerr := f.Close()
			if werr != nil || cerr != nil {
				_ = os.Remove(p)
				return nil, fmt.Errorf("writing the lock %s: %v", p, errors.Join(werr, cerr))
			}
			return func() { _ = os.Remove(p) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("creating the lock %s: %v", p, err)
		}
		holder, live := lockHolder(p, now)
		if live {
			return nil, fmt.Errorf("table %s is locked by another ingestion (%s): wait for it to finish", table, holder)
		}
		// Stale: take it over.
		_ = os.Remove(p)
	}
	return nil, fmt.Errorf("the lock %s keeps coming back", p)
}

// lockHolder describes the lock at p and tells whether it is live.
func lockHolder(p string, now time.Time) (string, bool) {
	raw, rerr := os.ReadFile(p)
	var c lockContent
	if rerr == nil && json.Unmarshal(raw, &c) == nil {
		if t, err := time.Parse(time.RFC3339Nano, c.StartedAt); err == nil {
			return fmt.Sprintf("ingestor %s on %s since %s", c.IngestorID, c.Hostname, c.StartedAt), now.Sub(t) < lockStale
		}
	}
	st, err := os.Lstat(p)
	if err != nil {
		return "gone", false
	}
	return "an unreadable lock written " + st.ModTime().UTC().Format(time.RFC3339), now.Sub(st.ModTime()) < lockStale
}
