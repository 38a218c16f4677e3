package proto

// Cut is a file the partial copy holds only the start of: a stream broke off
// in it. The agent vouches for its first Offset bytes, whose SHA-256 is Sum
// (hex); the plugin compares Sum with the start of its own file and, when
// they agree, sends only the rest, in a data entry that carries PAXOffset.
type Cut struct {
	Rel    string `json:"rel"`
	Offset int64  `json:"offset"`
	Sum    string `json:"sum"`
}

// PAXOffset is the PAX record of a data entry that continues a Cut: its
// value is the decimal offset the entry's bytes start at, which must be the
// Offset the agent reported. (Version 4 of the stream; an agent of an older
// version would take the entry for the whole file.)
const PAXOffset = "TRACEBLOC.offset"
