// Package schema embeds the JSON schemas the plugin validates its output against.
package schema

import "embed"

// IngestV1 is the draft-07 schema of the ingest spec that push emits.
//
//go:embed ingest.v1.json
var IngestV1 []byte

// outputs holds the schema of each command's -o json object.
//
//go:embed push.json status.json cleanup.json runs.json logs.json verify.json version.json error.json
var outputs embed.FS

// Output returns the draft-07 schema of the -o json object of command
// (push, status, cleanup, runs, logs, verify, version; "error" for a
// command line that names no command).
func Output(command string) ([]byte, error) { return outputs.ReadFile(command + ".json") }
