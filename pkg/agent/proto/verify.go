package proto

// CmdVerify reports every file of a table's staged copy with its size and
// SHA-256 (from the manifest where it still matches, by reading the file
// otherwise or with --deep), in MsgVerifyFiles batches and one last
// MsgVerifyDone. It writes nothing.
const CmdVerify = "verify"

// Messages of CmdVerify.
const (
	MsgVerifyFiles = "verify_files"
	MsgVerifyDone  = "verify_done"
)

// MaxVerifyBatch bounds the files of one MsgVerifyFiles line, so that no
// line of the agent's output grows with the size of the copy.
const MaxVerifyBatch = 4096

// MaxVerifyOdd bounds the entries that are not regular files which the
// agent names; the rest are only counted.
const MaxVerifyOdd = 100

// Verify is the body of the CmdVerify messages.
type Verify struct {
	// Files are regular files of the staged copy (MsgVerifyFiles).
	Files []VerifyFile `json:"files,omitempty"`
	// The fields below are set on MsgVerifyDone.
	//
	// Staged: the table has a staged copy; nothing else is set without one.
	Staged bool `json:"staged,omitempty"`
	// Count and Bytes are the regular files of the copy and their size.
	Count int   `json:"count,omitempty"`
	Bytes int64 `json:"bytes,omitempty"`
	// Hashed counts the files read to hash them; the others' sums came
	// from the manifest.
	Hashed int `json:"hashed,omitempty"`
	// Odd names entries that are not regular files (links, FIFOs, deeper
	// folders), never opened: at most MaxVerifyOdd, OddCount all of them.
	Odd      []VerifyOdd `json:"odd,omitempty"`
	OddCount int         `json:"odd_count,omitempty"`
}

// VerifyFile is one regular file of a staged copy. An empty SHA256 is a
// file that could not be read.
type VerifyFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
}

// VerifyOdd is an entry of a staged copy that is not a regular file.
type VerifyOdd struct {
	Path string `json:"path"`
	What string `json:"what"`
}
