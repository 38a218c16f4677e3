package proto

// The ingestor's own lock: while it ingests a table it holds
// SharedMount/IngestLockName(table), a small JSON file, and removes it when
// the run ends. A push reads it through the agent before it sends anything.

// IngestLockName is the name of the ingestor's lock file of table, in the
// shared volume's root. The table is the user's name for it.
func IngestLockName(table string) string { return ".tracebloc-ingest-" + table + ".lock" }

// MaxIngestLock bounds what the agent reads of a lock file: the ingestor
// writes five short fields, so anything larger is not its lock.
const MaxIngestLock = 64 << 10

// IngestLock is what the agent found at the lock's path.
type IngestLock struct {
	// Present: something is there.
	Present bool `json:"present"`
	// NotFile names what is there when it is not a regular file ("a
	// symbolic link", "a FIFO", "a folder"): the agent does not open it.
	NotFile string `json:"not_file,omitempty"`
	// Content is the file's text, at most MaxIngestLock bytes; TooLarge
	// says there was more.
	Content  string `json:"content,omitempty"`
	TooLarge bool   `json:"too_large,omitempty"`
	// Mtime is the file's modification time and Now the agent's clock when
	// it read it (Unix seconds): the age of a lock whose JSON cannot be read
	// counts from Mtime, on the cluster's clock.
	Mtime int64 `json:"mtime,omitempty"`
	Now   int64 `json:"now"`
}
