// Package proto is the contract between the plugin and the stage agent that
// runs inside the stage Pod: the commands, the messages the agent prints, the
// tar entries the plugin sends and the failure kinds with their exit codes.
// Both sides import it, so each fact is written down once.
package proto

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Version changes whenever the messages or the stream change shape.
const Version = 6

// Commands of the agent binary.
const (
	CmdProbe  = "probe"
	CmdStage  = "stage"
	CmdList   = "list"
	CmdRemove = "remove"
	// CmdIngestLock reads the ingestor's own lock file of a table
	// (IngestLockName) and reports it in an MsgIngestLock.
	CmdIngestLock = "ingest-lock"
)

// Layout of the shared volume, relative to the mount point.
const (
	// StagingDir holds every staged table.
	StagingDir = ".tracebloc-staging"
	// PartialPrefix names the copy an unfinished push is building.
	PartialPrefix = ".partial-"
	// OldPrefix names a staged copy set aside during a swap.
	OldPrefix = ".old-"
	// PartialData prefixes the data folder of each push inside the partial
	// folder: data-<hash of the push's nonce>.
	PartialData = "data"
	// ManifestSuffix: ".<table>" + ManifestSuffix beside the staged copy
	// holds the hashes of its files.
	ManifestSuffix = ".manifest"
	// SharedMount is where the Pod mounts client-pvc.
	SharedMount = "/data/shared"
)

// Tar entries of the stream, in this order: the plan, then each file under
// EntryData, then the hashes the plan left open in one or more EntrySums
// (a JSON object, path to hex SHA-256); when the plugin stops early on
// purpose, EntryInterrupted instead.
const (
	EntryPlan        = "plan.json"
	EntryData        = "data/"
	EntrySums        = "sums.json"
	EntryInterrupted = "interrupted"
)

// Commit is the line the plugin sends after the stream once the agent has
// reported a verified copy and the push still holds its lock. Anything else
// (or the end of the input) leaves the verified copy aside, unswapped.
const Commit = "commit"

// Plan is the first entry of the stream: what the new copy holds.
type Plan struct {
	// Expected is every file of the new copy with its SHA-256 (hex). The
	// hash of a file the plugin hashes only as it sends it is left open
	// (""): it follows the files, in an EntrySums entry.
	Expected map[string]string `json:"expected"`
	// Reuse are files to link from the staged copy instead of receiving them.
	Reuse []string `json:"reuse,omitempty"`
	// Keep asks the agent to keep the staged copy in place (no new copy,
	// no swap) when it is exactly the plan: the seal of its manifest as
	// the plugin recorded it after the push that wrote it.
	Keep string `json:"keep,omitempty"`
	// Sealed, with Keep, asks to keep the copy the inventory confirmed
	// sealed (Message.Sealed) without naming its files: Expected and
	// Reuse are empty, and Sealed is the count of files the plugin's
	// dataset has, which must be the confirmed copy's.
	Sealed int `json:"sealed,omitempty"`
}

// Message is one line of the agent's stdout (JSON).
type Message struct {
	// T is the message type: one of the Msg constants.
	T string `json:"t"`
	// Probe.
	Arch    string `json:"arch,omitempty"`
	UID     int    `json:"uid,omitempty"`
	GID     int    `json:"gid,omitempty"`
	Version int    `json:"version,omitempty"`
	// Inventory: files of the staged copy and of the partial copy by hash.
	Staged  map[string]string `json:"staged,omitempty"`
	Partial map[string]string `json:"partial,omitempty"`
	// Cut is the file of the partial copy a stream broke off in, with
	// how much of it the agent has verified (absent from Partial).
	Cut *Cut `json:"cut,omitempty"`
	// Chunks are the staged copy's big files (at least the stage command's
	// --chunk-min bytes) cut into chunks, for recipes (recipe.go).
	Chunks map[string]*ChunkList `json:"chunks,omitempty"`
	// Seal (Inventory, Swapped) names the staged copy's manifest as the
	// agent read or wrote it: a push that gets the same seal back later
	// knows the manifest was not rewritten since.
	Seal string `json:"seal,omitempty"`
	// Sealed (Inventory) answers a stage command run with --sealed: the
	// staged copy's manifest has that seal and a stat walk found every
	// file of the copy as the manifest recorded it (and nothing else);
	// this many files. Staged lists nothing then.
	Sealed int `json:"sealed,omitempty"`
	// Kept (Swapped): the staged copy was kept in place, unchanged.
	Kept bool `json:"kept,omitempty"`
	// Ingested is set when /data/shared/<table>/ already holds data.
	Ingested bool `json:"ingested,omitempty"`
	// Space is the volume's free space as the inventory found it; nil
	// when the agent could not tell.
	Space *Space `json:"space,omitempty"`
	// Verified / Swapped.
	Files int   `json:"files,omitempty"`
	Bytes int64 `json:"bytes,omitempty"`
	// PeakRSS (Swapped): the agent's peak resident memory in bytes
	// (VmHWM), 0 when it could not tell.
	PeakRSS int64 `json:"peak_rss,omitempty"`
	// Mismatch: the actual hash of every file that differs (wrong files are
	// already removed), and the files that are missing.
	Actual map[string]string `json:"actual,omitempty"`
	// Notes are things the agent did that the user should hear about.
	Notes []string `json:"notes,omitempty"`
	// List.
	Tables    []Table  `json:"tables,omitempty"`
	Leftovers []string `json:"leftovers,omitempty"`
	// IngestLock is what CmdIngestLock found.
	IngestLock *IngestLock `json:"ingest_lock,omitempty"`
	// Verify is what CmdVerify reports (see verify.go).
	Verify *Verify `json:"verify,omitempty"`
	// Error.
	Kind Kind   `json:"kind,omitempty"`
	Msg  string `json:"msg,omitempty"`
}

// Space is what statfs says of the shared volume.
type Space struct {
	// FreeBytes is what an unprivileged writer may still use.
	FreeBytes int64 `json:"free_bytes"`
	// FreeInodes is how many more files and folders fit; -1 when the
	// filesystem does not count them (btrfs, many network filesystems).
	FreeInodes int64 `json:"free_inodes"`
	// BlockSize is the unit a file's size is rounded up to on the volume.
	BlockSize int64 `json:"block_size"`
}

// Message types.
const (
	MsgProbe     = "probe"
	MsgInventory = "inventory"
	MsgVerified  = "verified"
	MsgMismatch  = "mismatch"
	MsgSwapped   = "swapped"
	MsgList      = "list"
	MsgRemoved   = "removed"
	MsgError     = "error"
	// MsgIngestLock answers CmdIngestLock.
	MsgIngestLock = "ingest_lock"
)

// Table is a staged table as list reports it.
type Table struct {
	Name     string `json:"name"`
	Files    int    `json:"files"`
	Bytes    int64  `json:"bytes"`
	Modified int64  `json:"modified"`
}

// Kind is the class of an agent failure.
type Kind string

// Failure kinds. Each has one exit code of the agent process (Code); the
// plugin maps the kind, not the number.
const (
	KindUsage       Kind = "usage"
	KindNoAccess    Kind = "no_access"
	KindUnsafe      Kind = "unsafe"
	KindNoSpace     Kind = "no_space"
	KindStream      Kind = "stream"
	KindMismatch    Kind = "mismatch"
	KindInterrupted Kind = "interrupted"
	KindClaimed     Kind = "claimed"
	KindAborted     Kind = "aborted"
	KindSwap        Kind = "swap"
	KindIO          Kind = "io"
)

var codes = map[Kind]int{
	KindUsage:       64,
	KindMismatch:    65,
	KindInterrupted: 66,
	KindUnsafe:      67,
	KindClaimed:     68,
	KindAborted:     69,
	KindNoAccess:    73,
	KindStream:      74,
	KindSwap:        75,
	KindNoSpace:     76,
	KindIO:          77,
}

// Code is the agent's exit code for k.
func (k Kind) Code() int {
	if c, ok := codes[k]; ok {
		return c
	}
	return 1
}

// KindOf maps an agent exit code back to its kind ("" when unknown).
func KindOf(code int) Kind {
	for k, c := range codes {
		if c == code {
			return k
		}
	}
	return ""
}

var tableRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// ValidTable reports whether t is a safe table name (a MySQL table name and
// a single path segment).
func ValidTable(t string) bool { return tableRE.MatchString(t) }

// maxDepth is how deep a staged file may sit: "labels.csv" or "<folder>/<name>".
const maxDepth = 2

// CheckRel returns an error unless rel is a path the staged copy may hold:
// at most two clean, relative segments of printable UTF-8, no backslash, no
// hidden names that could collide with the agent's own files.
func CheckRel(rel string) error {
	if rel == "" || len(rel) > 1024 {
		return fmt.Errorf("unsafe file name %q", rel)
	}
	if !utf8.ValidString(rel) || strings.ContainsAny(rel, "\\\x00") || path.Clean(rel) != rel || strings.HasPrefix(rel, "/") {
		return fmt.Errorf("unsafe file name %q", rel)
	}
	segs := strings.Split(rel, "/")
	if len(segs) > maxDepth {
		return fmt.Errorf("unsafe file name %q: at most one folder level", rel)
	}
	for _, s := range segs {
		if s == "" || s == "." || s == ".." || len(s) > 255 {
			return fmt.Errorf("unsafe file name %q", rel)
		}
		for _, r := range s {
			if unicode.IsControl(r) {
				return fmt.Errorf("unsafe file name %q: control character", rel)
			}
		}
	}
	return nil
}
