// Package exitcode defines the exit codes scripts can rely on and an error type
// that carries one from deep inside the push to main.
package exitcode

import (
	"context"
	"errors"
	"fmt"
)

// The documented exit codes (see README "Exit codes").
const (
	OK         = 0
	Unexpected = 1
	BadFlags   = 2
	Local      = 3
	Cluster    = 4
	Permission = 5
	// TableExists: the table already holds ingested data (the ingestor
	// refuses to ingest into it).
	TableExists = 6
	Staging     = 7
	// Submit: submitting the ingestion run failed (port-forward, the
	// jobs-manager unreachable, a non-auth error reply).
	Submit = 8
	// RunFailed: the ingestion run failed, finished with failures, or its
	// result is unknown.
	RunFailed = 9
	// Differs: verify found the staged copy is not the local dataset
	// (files missing, extra or changed), or no staged copy at all.
	Differs     = 10
	Interrupted = 130
)

// Error is an error that knows which exit code it ends the program with.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// Wrap attaches code to err; a nil err stays nil. An error that already carries
// a code keeps it: the innermost cause knows best what went wrong.
func Wrap(code int, err error) error {
	if err == nil {
		return nil
	}
	var coded *Error
	if errors.As(err, &coded) {
		return err
	}
	return &Error{Code: code, Err: err}
}

// Errorf formats an error that ends the program with code.
func Errorf(code int, format string, args ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// Of returns the exit code err ends the program with.
func Of(err error) int {
	if err == nil {
		return OK
	}
	var coded *Error
	if errors.As(err, &coded) {
		return coded.Code
	}
	if errors.Is(err, context.Canceled) {
		return Interrupted
	}
	return Unexpected
}
