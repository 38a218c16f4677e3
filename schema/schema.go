// Package schema embeds the JSON schemas the plugin validates its output against.
package schema

import _ "embed"

// IngestV1 is the draft-07 schema of the ingest spec that push emits.
//
//go:embed ingest.v1.json
var IngestV1 []byte
